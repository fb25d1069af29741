// Package suppression keeps the list of email addresses and phone numbers that must never
// be added again for marketing: those of residents who asked to be erased. The list holds
// only a keyed hash of each value (HMAC-SHA-256 under a key derived from CRIER_LINK_KEY),
// never the value: a plain SHA-256 of a UK mobile number can be reversed by hashing the
// ten billion candidates, which takes minutes; the keyed hash can't be tested without the
// key, and the key is not in the database.
package suppression

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// The kinds of value suppressed.
const (
	Email = "email"
	Phone = "phone"
)

// ErrNoKey is returned when the database holds suppressions but the caller has no key
// to check them with: going on would re-add residents who asked to be erased.
var ErrNoKey = errors.New("the database holds erasure suppressions but no key was given to check them (CRIER_LINK_KEY)")

// Key hashes values for the suppression list.
type Key struct {
	ipad, opad []byte // the HMAC pads of the derived key, for the SQL form (HashSQL)
}

// NewKey derives the suppression key from crier's link key (at least 32 bytes). The
// derived key is HMAC-SHA-256(linkKey, "crier suppression v1"), so the link key itself is
// never used for two purposes.
func NewKey(linkKey []byte) (*Key, error) {
	if len(linkKey) < 32 {
		return nil, fmt.Errorf("suppression key: the link key must be at least 32 bytes (got %d)", len(linkKey))
	}
	m := hmac.New(sha256.New, linkKey)
	m.Write([]byte("crier suppression v1"))
	k := m.Sum(nil) // 32 bytes: shorter than SHA-256's 64-byte block, so it is padded, not hashed
	ipad, opad := make([]byte, sha256.BlockSize), make([]byte, sha256.BlockSize)
	copy(ipad, k)
	copy(opad, k)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	return &Key{ipad: ipad, opad: opad}, nil
}

// Input is the text hashed for a value of kind: "email:" and the address lower-cased,
// or "phone:" and the E.164 number. value must already be normalised (contact.NormalizeEmail,
// contact.NormalizePhone), as the importer stores it.
func Input(kind, value string) string {
	if kind == Email {
		value = strings.ToLower(value)
	}
	return kind + ":" + value
}

// Hash returns HMAC-SHA-256 of Input(kind, value).
func (k *Key) Hash(kind, value string) []byte {
	// HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)), written out so that HashSQL can
	// compute the same in PostgreSQL with its built-in sha256().
	inner := sha256.New()
	inner.Write(k.ipad)
	inner.Write([]byte(Input(kind, value)))
	outer := sha256.New()
	outer.Write(k.opad)
	outer.Write(inner.Sum(nil))
	return outer.Sum(nil)
}

// Pads returns the two parameters HashSQL's expression takes ($ipad, $opad).
func (k *Key) Pads() (ipad, opad []byte) { return k.ipad, k.opad }

// HashSQL returns a SQL expression computing Hash(kind, value) in PostgreSQL (without
// pgcrypto), where input is an SQL text expression equal to Input(kind, value) and ipad
// and opad name the parameters bound to Pads(). It lets the importer check a whole file
// in one join rather than hash every row in Go.
func HashSQL(input, ipad, opad string) string {
	return "sha256(" + opad + " || sha256(" + ipad + " || convert_to(" + input + ", 'UTF8')))"
}

// Entry is one suppression.
type Entry struct {
	Kind      string    `db:"kind" json:"kind"`
	Reason    string    `db:"reason" json:"reason"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// Add records value (of kind) as suppressed with q (the erasure's transaction). Adding
// one already there keeps the first entry.
func (k *Key) Add(ctx context.Context, q sqlx.ExecerContext, kind, value, reason string) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO suppressions (hash, kind, reason) VALUES ($1, $2, $3)
		ON CONFLICT (hash) DO NOTHING`, k.Hash(kind, value), kind, reason); err != nil {
		return fmt.Errorf("add %s suppression: %w", kind, err)
	}
	return nil
}

// Find returns the suppression of value (of kind) and true, or false when it is not
// suppressed.
func (k *Key) Find(ctx context.Context, q sqlx.QueryerContext, kind, value string) (Entry, bool, error) {
	var e Entry
	err := sqlx.GetContext(ctx, q, &e, `SELECT kind, reason, created_at FROM suppressions WHERE hash = $1`, k.Hash(kind, value))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("look up %s suppression: %w", kind, err)
	}
	return e, true, nil
}

// Any reports whether any value is suppressed: a caller without a key must not go on
// adding residents when it is true (see ErrNoKey).
func Any(ctx context.Context, q sqlx.QueryerContext) (bool, error) {
	var any bool
	if err := sqlx.GetContext(ctx, q, &any, `SELECT EXISTS (SELECT 1 FROM suppressions)`); err != nil {
		return false, fmt.Errorf("check suppressions: %w", err)
	}
	return any, nil
}
