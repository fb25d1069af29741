// Package auth keeps crier's accounts: officers, admins and volunteers, their passwords
// (bcrypt), their sessions (in PostgreSQL, known by the hash of the cookie), CSRF tokens,
// and login rate limiting.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"
)

// The roles. An admin can do everything an officer can, and manage accounts; a volunteer
// sees only the rounds assigned to them.
const (
	Admin     = "admin"
	Officer   = "officer"
	Volunteer = "volunteer"
)

// Roles lists the roles.
var Roles = []string{Admin, Officer, Volunteer}

// Errors callers tell apart.
var (
	ErrInvalid     = errors.New("invalid")
	ErrNotFound    = errors.New("no such user")
	ErrBadLogin    = errors.New("the email address or password is not right")
	ErrRateLimited = errors.New("too many attempts") // a *RateLimitError says how long to wait
	ErrNoSession   = errors.New("not signed in")
	ErrExists      = errors.New("a user with that email address exists already")
)

// Password hashing and session lifetimes.
const (
	bcryptCost      = 12
	sessionIdle     = 12 * time.Hour
	sessionAbsolute = 7 * 24 * time.Hour
)

// Rate limits over the failed (and unfinished) sign-ins of the last 15 minutes: after
// freePerPair failures of one account from one address, and after freePerIP failures
// from one address whatever the accounts, each further try waits a delay that doubles
// from firstDelay, up to maxDelay, after the last failure. The account is never locked
// everywhere: its officer can still sign in from their own address.
const (
	rateWindow   = 15 * time.Minute
	freePerPair  = 5
	freePerIP    = 20
	firstDelay   = 30 * time.Second
	maxDelay     = 15 * time.Minute
	MinPassword  = 12
	maxPassword  = 72 // bcrypt reads 72 bytes at most
	csrfTokenLen = 32
)

// User is an account.
type User struct {
	ID        int64     `db:"id"`
	Email     string    `db:"email"`
	Name      string    `db:"name"`
	Role      string    `db:"role"`
	Disabled  bool      `db:"disabled"`
	CreatedAt time.Time `db:"created_at"`
}

// Can says whether u has one of roles (an admin has every role).
func (u *User) Can(roles ...string) bool {
	return u != nil && !u.Disabled && (u.Role == Admin || slices.Contains(roles, u.Role))
}

// Store reads and writes accounts and sessions.
type Store struct {
	db  *sqlx.DB
	now func() time.Time
	// Cost is bcrypt's work factor for new passwords (12). Tests lower it; existing
	// hashes keep the cost they were made with.
	Cost int
}

// NewStore returns a Store.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db, now: time.Now, Cost: bcryptCost} }

// CheckPassword says what is wrong with a new password, or nil. Length is what matters
// (NCSC: three random words); a few very common passwords are refused outright.
func CheckPassword(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinPassword:
		return fmt.Errorf("%w: a password needs at least %d characters (three random words work well)", ErrInvalid, MinPassword)
	case len(pw) > maxPassword:
		return fmt.Errorf("%w: a password can have at most %d bytes", ErrInvalid, maxPassword)
	case slices.Contains(common, strings.ToLower(pw)):
		return fmt.Errorf("%w: that password is one of the most common ones", ErrInvalid)
	}
	return nil
}

var common = []string{"password1234", "123456789012", "qwertyuiopas", "passwordpassword", "letmeinletmein", "iloveyou1234", "welcome12345"}

// Add creates a user.
func (s *Store) Add(ctx context.Context, email, name, role, password string) (*User, error) {
	return s.AddRecorded(ctx, email, name, role, password, nil)
}

// AddRecorded creates a user; rec, when not nil, records it in the same transaction (an
// account whose record can't be written is not created).
func (s *Store) AddRecorded(ctx context.Context, email, name, role, password string, rec Recorder) (*User, error) {
	email, name = strings.TrimSpace(email), strings.TrimSpace(name)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return nil, fmt.Errorf("%w: %q is not an email address", ErrInvalid, email)
	}
	if name == "" {
		return nil, fmt.Errorf("%w: give the user's name", ErrInvalid)
	}
	if !slices.Contains(Roles, role) {
		return nil, fmt.Errorf("%w: role %q: use admin, officer or volunteer", ErrInvalid, role)
	}
	if err := CheckPassword(password); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.Cost)
	if err != nil {
		return nil, err
	}
	u := &User{Email: email, Name: name, Role: role}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("add user: %w", err)
	}
	defer tx.Rollback()
	err = tx.QueryRowxContext(ctx, `INSERT INTO users (email, name, role, password_hash) VALUES ($1, $2, $3, $4)
		ON CONFLICT (lower(email)) DO NOTHING RETURNING id, created_at`, email, name, role, string(hash)).Scan(&u.ID, &u.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrExists, email)
	}
	if err != nil {
		return nil, fmt.Errorf("add user: %w", err)
	}
	if rec != nil {
		if err := rec(ctx, tx, u); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("add user: %w", err)
	}
	return u, nil
}

// SetPassword changes a user's password and ends their sessions.
func (s *Store) SetPassword(ctx context.Context, email, password string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.Cost)
	if err != nil {
		return err
	}
	var id int64
	err = s.db.GetContext(ctx, &id, `UPDATE users SET password_hash = $2, updated_at = now() WHERE lower(email) = lower($1) RETURNING id`,
		strings.TrimSpace(email), string(hash))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrNotFound, email)
	}
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, id)
	return err
}

// List returns every user.
func (s *Store) List(ctx context.Context) ([]User, error) {
	var out []User
	err := s.db.SelectContext(ctx, &out, `SELECT id, email, name, role, disabled, created_at FROM users ORDER BY role, name`)
	return out, err
}

// Get returns a user by email address.
func (s *Store) Get(ctx context.Context, email string) (*User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT id, email, name, role, disabled, created_at FROM users WHERE lower(email) = lower($1)`,
		strings.TrimSpace(email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, email)
	}
	return &u, err
}

// dummyHash is compared against when the login is unknown, so a wrong email address takes
// as long as a wrong password and doesn't reveal which accounts exist. Made on first use.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("crier-no-such-user-0000"), bcryptCost)
	return h
})

// RateLimitError is ErrRateLimited with how long to wait before the next try.
type RateLimitError struct{ Wait time.Duration }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many attempts: wait %s and try again", e.Wait)
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// delayAfter is the wait after n failures when free were allowed without one: 30
// seconds, then a minute, two, four, eight, and fifteen at most.
func delayAfter(n, free int) time.Duration {
	if n < free {
		return 0
	}
	if n-free >= 5 {
		return maxDelay
	}
	return min(maxDelay, firstDelay<<(n-free))
}

// attemptsSQL counts, for one address in the window, the failed or unfinished sign-ins
// of one account since its last success from there, and of every account.
const attemptsSQL = `
WITH w AS (SELECT login, ok, at FROM login_attempts WHERE ip = $2 AND at > now() - $3 * interval '1 second'),
     ok AS (SELECT max(at) AS at FROM w WHERE ok AND lower(login) = lower($1))
SELECT count(*) FILTER (WHERE lower(login) = lower($1) AND at > coalesce((SELECT at FROM ok), '-infinity')) AS pair_n,
       coalesce(max(at) FILTER (WHERE lower(login) = lower($1)), now()) AS pair_last,
       count(*) AS ip_n, coalesce(max(at), now()) AS ip_last, now() AS now
  FROM w WHERE ok IS NOT TRUE`

// Authenticate checks a login, rate-limited per (login, address) and per address, and
// records the attempt. The check and the record are one step: the attempt is recorded
// as unfinished, under locks on the pair and the address, before the password is
// checked, so parallel tries can't all pass the count (issue 14).
func (s *Store) Authenticate(ctx context.Context, login, password, ip string) (*User, error) {
	login = strings.TrimSpace(login)
	attempt, err := s.startAttempt(ctx, login, ip)
	if err != nil {
		return nil, err
	}
	var row struct {
		User
		Hash string `db:"password_hash"`
	}
	err = s.db.GetContext(ctx, &row, `SELECT id, email, name, role, disabled, created_at, password_hash FROM users WHERE lower(email) = lower($1)`, login)
	ok := false
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
	case err != nil:
		return nil, err
	default:
		ok = bcrypt.CompareHashAndPassword([]byte(row.Hash), []byte(password)) == nil && !row.Disabled
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE login_attempts SET ok = $2 WHERE id = $1`, attempt, ok); err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrBadLogin
	}
	return &row.User, nil
}

// startAttempt records an unfinished attempt, or refuses with a *RateLimitError.
func (s *Store) startAttempt(ctx context.Context, login, ip string) (int64, error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	// Pair first, then address: every attempt takes them in this order.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('crier login ' || lower($1) || ' ' || $2, 0)),
		pg_advisory_xact_lock(hashtextextended('crier login ip ' || $2, 0))`, login, ip); err != nil {
		return 0, err
	}
	var n struct {
		PairN    int       `db:"pair_n"`
		PairLast time.Time `db:"pair_last"`
		IPN      int       `db:"ip_n"`
		IPLast   time.Time `db:"ip_last"`
		Now      time.Time `db:"now"`
	}
	if err := tx.GetContext(ctx, &n, attemptsSQL, login, ip, rateWindow.Seconds()); err != nil {
		return 0, err
	}
	wait := max(n.PairLast.Add(delayAfter(n.PairN, freePerPair)).Sub(n.Now), n.IPLast.Add(delayAfter(n.IPN, freePerIP)).Sub(n.Now))
	if wait > 0 {
		return 0, &RateLimitError{Wait: wait.Round(time.Second) + time.Second}
	}
	var id int64
	if err := tx.GetContext(ctx, &id, `INSERT INTO login_attempts (login, ip, ok) VALUES ($1, $2, NULL) RETURNING id`, login, ip); err != nil {
		return 0, err
	}
	return id, tx.Commit()
}

// Session is a signed-in user.
type Session struct {
	User User
	CSRF string
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// StartSession creates a session for u and returns the cookie's token.
func (s *Store) StartSession(ctx context.Context, u *User) (string, *Session, error) {
	token := randomToken(32)
	sess := &Session{User: *u, CSRF: randomToken(csrfTokenLen)}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES ($1, $2, $3, $4)`,
		hashToken(token), u.ID, sess.CSRF, s.now().Add(sessionIdle)); err != nil {
		return "", nil, fmt.Errorf("start session: %w", err)
	}
	return token, sess, nil
}

// Session returns the session of a cookie's token, extending it while in use (12 hours
// idle, 7 days at most).
func (s *Store) Session(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, ErrNoSession
	}
	var row struct {
		User
		CSRF      string    `db:"csrf"`
		CreatedAt time.Time `db:"session_created"`
	}
	err := s.db.GetContext(ctx, &row, `
		UPDATE sessions s SET last_seen_at = now(), expires_at = least(s.created_at + $2 * interval '1 second', now() + $3 * interval '1 second')
		  FROM users u
		 WHERE s.token_hash = $1 AND u.id = s.user_id AND s.expires_at > now() AND NOT u.disabled
		RETURNING u.id, u.email, u.name, u.role, u.disabled, u.created_at, s.csrf, s.created_at AS session_created`,
		hashToken(token), sessionAbsolute.Seconds(), sessionIdle.Seconds())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	return &Session{User: row.User, CSRF: row.CSRF}, nil
}

// Peek is Session without extending the session's idle time: for requests a page makes
// by itself (live progress every few seconds), which must not keep an officer who has
// walked away signed in.
func (s *Store) Peek(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, ErrNoSession
	}
	var row struct {
		User
		CSRF string `db:"csrf"`
	}
	err := s.db.GetContext(ctx, &row, `
		SELECT u.id, u.email, u.name, u.role, u.disabled, u.created_at, s.csrf
		  FROM sessions s JOIN users u ON u.id = s.user_id
		 WHERE s.token_hash = $1 AND s.expires_at > now() AND NOT u.disabled`, hashToken(token))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	return &Session{User: row.User, CSRF: row.CSRF}, nil
}

// EndSession signs a session out.
func (s *Store) EndSession(ctx context.Context, token string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hashToken(token))
	return err
}

// ValidCSRF compares a form's token with the session's in constant time.
func (sess *Session) ValidCSRF(token string) bool {
	return sess != nil && token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRF)) == 1
}

// NewCSRF returns a random token for forms shown before signing in (the login form's
// double-submit cookie).
func NewCSRF() string { return randomToken(csrfTokenLen) }
