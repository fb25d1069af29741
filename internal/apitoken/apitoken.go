// Package apitoken keeps the API's tokens: one per integration (the council's CRM, a
// website's sign-up form), each allowed some scopes. A token is shown once, when it is
// made; only its SHA-256 is stored, so the table (or a backup of it) lets nobody call
// the API. A token reads "crier_<prefix>_<secret>": the prefix finds its row by an
// index, and the whole token's hash is then compared in constant time.
package apitoken

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/audit"
)

// The scopes a token can carry.
const (
	Read           = "read"            // every GET: contacts, segments, campaigns, replies, subject access
	ContactsWrite  = "contacts:write"  // push contacts (upsert), erase a resident
	CampaignsWrite = "campaigns:write" // create, schedule, pause, resume and cancel campaigns
)

// Scopes lists every scope, in the order they are shown.
var Scopes = []string{Read, ContactsWrite, CampaignsWrite}

// Errors callers can test for.
var (
	ErrInvalid      = errors.New("invalid api token request")
	ErrExists       = errors.New("a live token with that name already exists")
	ErrNotFound     = errors.New("no such api token")
	ErrUnauthorized = errors.New("unknown, revoked or malformed api token")
)

// Token is one token as stored: never its secret.
type Token struct {
	ID         int64      `db:"id" json:"id"`
	Name       string     `db:"name" json:"name"`
	Prefix     string     `db:"prefix" json:"prefix"`
	Scopes     []string   `db:"-" json:"scopes"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	CreatedBy  string     `db:"created_by" json:"created_by"`
	LastUsedAt *time.Time `db:"last_used_at" json:"last_used_at"`
	RevokedAt  *time.Time `db:"revoked_at" json:"revoked_at"`
}

// Actor is how the audit log names what a token did: "api:<name>".
func (t *Token) Actor() string { return "api:" + t.Name }

// Has reports whether the token carries scope.
func (t *Token) Has(scope string) bool { return slices.Contains(t.Scopes, scope) }

// Store reads and writes tokens.
type Store struct{ db *sqlx.DB }

// NewStore returns a Store over db.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db} }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ParseScopes reads a comma-separated list of scopes ("read,contacts:write"), refusing
// an unknown one by name.
func ParseScopes(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if !slices.Contains(Scopes, p) {
			return nil, fmt.Errorf("%w: unknown scope %q (scopes: %s)", ErrInvalid, p, strings.Join(Scopes, ", "))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: give at least one scope (%s)", ErrInvalid, strings.Join(Scopes, ", "))
	}
	return out, nil
}

const prefixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newSecret returns a token's prefix (12 characters, ~62 bits: a lookup key, not the
// secret) and the whole token, whose secret part carries 256 random bits.
func newSecret() (prefix, token string, err error) {
	b := make([]byte, 12+32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("api token: %w", err)
	}
	p := make([]byte, 12)
	for i := range p {
		p[i] = prefixAlphabet[int(b[i])%len(prefixAlphabet)]
	}
	const hexDigits = "0123456789abcdef"
	s := make([]byte, 0, 64)
	for _, c := range b[12:] {
		s = append(s, hexDigits[c>>4], hexDigits[c&15])
	}
	return string(p), "crier_" + string(p) + "_" + string(s), nil
}

func hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Create makes a token named name with scopes, recording it in the audit log as actor
// in the same transaction, and returns it with its secret: the only time the secret
// exists outside the caller's hands. ErrExists if a live token has that name.
func (s *Store) Create(ctx context.Context, name string, scopes []string, actor string) (*Token, string, error) {
	name = strings.TrimSpace(name)
	if !nameRE.MatchString(name) {
		return nil, "", fmt.Errorf("%w: name %q: use letters, digits, '.', '_' and '-' (up to 64, starting with a letter or digit), e.g. \"crm\"", ErrInvalid, name)
	}
	for _, sc := range scopes {
		if !slices.Contains(Scopes, sc) {
			return nil, "", fmt.Errorf("%w: unknown scope %q", ErrInvalid, sc)
		}
	}
	if len(scopes) == 0 {
		return nil, "", fmt.Errorf("%w: give at least one scope (%s)", ErrInvalid, strings.Join(Scopes, ", "))
	}
	prefix, secret, err := newSecret()
	if err != nil {
		return nil, "", err
	}
	t := &Token{Name: name, Prefix: prefix, Scopes: scopes, CreatedBy: actor}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, "", fmt.Errorf("create api token: %w", err)
	}
	defer tx.Rollback()
	err = tx.QueryRowxContext(ctx, `INSERT INTO api_tokens (name, prefix, token_hash, scopes, created_by)
		VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at`, name, prefix, hash(secret), pq.Array(scopes), actor).
		Scan(&t.ID, &t.CreatedAt)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		return nil, "", fmt.Errorf("%w: %q (revoke it first, or choose another name)", ErrExists, name)
	}
	if err != nil {
		return nil, "", fmt.Errorf("create api token: %w", err)
	}
	if err := audit.Record(ctx, tx, audit.Entry{Actor: actor, Action: audit.APITokenAdd, SubjectType: "api_token",
		SubjectID: audit.ID(t.ID), Detail: map[string]any{"name": name, "scopes": scopes}}); err != nil {
		return nil, "", err
	}
	if err := tx.Commit(); err != nil {
		return nil, "", fmt.Errorf("create api token: %w", err)
	}
	return t, secret, nil
}

type row struct {
	Token
	ScopesA pq.StringArray `db:"scopes"`
	Hash    []byte         `db:"token_hash"`
}

func (r row) token() *Token {
	t := r.Token
	t.Scopes = r.ScopesA
	return &t
}

const selectToken = `SELECT id, name, prefix, scopes, token_hash, created_at, created_by, last_used_at, revoked_at FROM api_tokens`

// List returns every token, live and revoked, oldest first. Secrets are never stored,
// so none can be listed.
func (s *Store) List(ctx context.Context) ([]*Token, error) {
	var rows []row
	if err := s.db.SelectContext(ctx, &rows, selectToken+` ORDER BY id`); err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	out := make([]*Token, len(rows))
	for i, r := range rows {
		out[i] = r.token()
	}
	return out, nil
}

// Revoke ends the live token named ref (or with id ref) at once, recording it in the
// audit log as actor. ErrNotFound if no live token matches.
func (s *Store) Revoke(ctx context.Context, ref, actor string) (*Token, error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("revoke api token: %w", err)
	}
	defer tx.Rollback()
	var r row
	q := selectToken + ` WHERE revoked_at IS NULL AND lower(name) = lower($1) FOR UPDATE`
	var arg any = ref
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
		q, arg = selectToken+` WHERE revoked_at IS NULL AND id = $1 FOR UPDATE`, id
	}
	if err := tx.GetContext(ctx, &r, q, arg); errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no live token named or numbered %q", ErrNotFound, ref)
	} else if err != nil {
		return nil, fmt.Errorf("revoke api token: %w", err)
	}
	t := r.token()
	if err := tx.GetContext(ctx, &t.RevokedAt, `UPDATE api_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1 RETURNING revoked_at`,
		t.ID, actor); err != nil {
		return nil, fmt.Errorf("revoke api token: %w", err)
	}
	if err := audit.Record(ctx, tx, audit.Entry{Actor: actor, Action: audit.APITokenRevoke, SubjectType: "api_token",
		SubjectID: audit.ID(t.ID), Detail: map[string]any{"name": t.Name}}); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("revoke api token: %w", err)
	}
	return t, nil
}

// Authenticate returns the live token secret is; ErrUnauthorized for a malformed,
// unknown or revoked one. Other errors are the database's (the caller answers 503 or
// 500, not 401). It notes when the token was last used, at most once a minute.
func (s *Store) Authenticate(ctx context.Context, secret string) (*Token, error) {
	rest, ok := strings.CutPrefix(secret, "crier_")
	prefix, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(prefix) != 12 || len(secret) > 200 {
		return nil, ErrUnauthorized
	}
	var r row
	err := s.db.GetContext(ctx, &r, selectToken+` WHERE prefix = $1`, prefix)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate api token: %w", err)
	}
	if subtle.ConstantTimeCompare(r.Hash, hash(secret)) != 1 || r.RevokedAt != nil {
		return nil, ErrUnauthorized
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = now()
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, r.ID); err != nil {
		return nil, fmt.Errorf("authenticate api token: %w", err)
	}
	return r.token(), nil
}
