// Package signup keeps residents' sign-ups from the web while they wait: the emailed
// link that confirms the address (stored only as a hash of its token), and the code
// texted to a mobile given for texts (stored only as a hash). A confirmed sign-up keeps
// the proof (when it was asked and confirmed, which topics), not the resident's
// details: those move to the contact. The web package runs the pages and decides; the
// statements are here, each run on the caller's connection or transaction (q), so that
// a confirmation is one transaction with the contact and consent it records.
package signup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Signup is one sign-up, as read by its link's token.
type Signup struct {
	ID          int64          `db:"id"`
	Email       string         `db:"email"`
	FirstName   string         `db:"first_name"`
	LastName    string         `db:"last_name"`
	Mobile      string         `db:"mobile"`
	Language    string         `db:"language"` // chosen on the form: "cy"; "" for none
	TopicIDs    pq.Int64Array  `db:"topic_ids"`
	CreatedAt   time.Time      `db:"created_at"`
	Expired     bool           `db:"expired"`
	ConfirmedAt sql.NullTime   `db:"confirmed_at"`
	ContactID   sql.NullInt64  `db:"contact_id"`
	Topics      pq.StringArray `db:"topics"` // the names of the topics chosen that exist
	// MobileLapsed: the mobile waited for its code past mobile_until.
	MobileLapsed bool `db:"mobile_lapsed"`
}

// MobileWaiting says whether the sign-up is confirmed and its mobile still waits for
// its code.
func (s *Signup) MobileWaiting() bool {
	return s.ConfirmedAt.Valid && s.Mobile != "" && !s.MobileLapsed
}

// TokenHash is what is stored of a link's token.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Topic is a topic the form offers.
type Topic struct {
	ID    int64  `db:"id"`
	Name  string `db:"name"`
	About string `db:"description"`
}

const topicsSQL = `SELECT id, name, description FROM topics ORDER BY name, id`

// Topics lists the topics a resident can sign up for, by name.
func Topics(ctx context.Context, q sqlx.QueryerContext) ([]Topic, error) {
	var ts []Topic
	if err := sqlx.SelectContext(ctx, q, &ts, topicsSQL); err != nil {
		return nil, fmt.Errorf("sign-up topics: %w", err)
	}
	return ts, nil
}

// sweepSQL is the sweep, and then the counts that limit sign-ups: sign-ups nobody
// confirmed are deleted, and the mobiles whose code nobody typed in before it expired
// are blanked, with their codes.
const sweepSQL = `
		WITH gone AS (DELETE FROM signups WHERE confirmed_at IS NULL AND expires_at < now()),
		lapsed AS (UPDATE signups SET mobile = '', mobile_until = NULL
		            WHERE mobile <> '' AND confirmed_at IS NOT NULL AND mobile_until < now() RETURNING id),
		codes AS (DELETE FROM signup_mobile_codes c USING lapsed l WHERE c.signup_id = l.id)
		SELECT (SELECT count(*) FROM signups WHERE client_hash = $1 AND created_at > now() - interval '1 hour'),
		       (SELECT count(*) FROM signups WHERE lower(email) = lower($2) AND created_at > now() - interval '1 day')`

// Sweep forgets what has lapsed (unconfirmed sign-ups past their time, mobiles whose
// code was not typed in), then counts the sign-ups from client in the last hour and to
// email in the last day.
func Sweep(ctx context.Context, q sqlx.QueryerContext, client []byte, email string) (fromClient, toEmail int, err error) {
	if err := q.QueryRowxContext(ctx, sweepSQL, client, email).Scan(&fromClient, &toEmail); err != nil {
		return 0, 0, fmt.Errorf("sweep sign-ups: %w", err)
	}
	return fromClient, toEmail, nil
}

// New is a sign-up to keep while it waits for its link.
type New struct {
	TokenHash           []byte
	Email               string
	FirstName, LastName string
	Mobile              string // E.164, or ""
	Language            string // a code such as "cy", or "" for none chosen
	TopicIDs            []int64
	Client              []byte // a hash of the client's address
	TTL                 time.Duration
}

const createSQL = `INSERT INTO signups (token_hash, email, first_name, last_name, mobile, topic_ids, client_hash, expires_at, language)
		VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8 * interval '1 second', $9) RETURNING id`

// Create keeps n, for n.TTL, and returns its id.
func Create(ctx context.Context, q sqlx.QueryerContext, n New) (int64, error) {
	var id int64
	err := sqlx.GetContext(ctx, q, &id, createSQL, n.TokenHash, n.Email, n.FirstName, n.LastName, n.Mobile,
		pq.Array(n.TopicIDs), n.Client, int(n.TTL.Seconds()), n.Language)
	if err != nil {
		return 0, fmt.Errorf("create sign-up: %w", err)
	}
	return id, nil
}

// Delete forgets sign-up id.
func Delete(ctx context.Context, q sqlx.ExecerContext, id int64) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM signups WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete sign-up: %w", err)
	}
	return nil
}

const selectSQL = `SELECT s.id, s.email, s.first_name, s.last_name, s.mobile, s.language, s.topic_ids, s.created_at,
	s.expires_at < now() AS expired, s.confirmed_at, s.contact_id,
	s.mobile <> '' AND coalesce(s.mobile_until < now(), true) AS mobile_lapsed,
	ARRAY(SELECT t.name FROM topics t WHERE t.id = ANY(s.topic_ids) ORDER BY t.name) AS topics
	FROM signups s WHERE s.token_hash = $1`

// ByToken returns the sign-up whose link token hashes to hash. None is sql.ErrNoRows,
// unwrapped.
func ByToken(ctx context.Context, q sqlx.QueryerContext, hash []byte) (Signup, error) {
	var s Signup
	err := sqlx.GetContext(ctx, q, &s, selectSQL, hash)
	return s, err
}

// Lock is ByToken, locking the sign-up's row in tx until it ends.
func Lock(ctx context.Context, tx *sqlx.Tx, hash []byte) (Signup, error) {
	var s Signup
	err := tx.GetContext(ctx, &s, selectSQL+` FOR UPDATE OF s`, hash)
	return s, err
}

const confirmSQL = `UPDATE signups SET confirmed_at = now(), contact_id = $2,
		email = '', first_name = '', last_name = '', mobile = CASE WHEN $3 THEN mobile ELSE '' END WHERE id = $1`

// Confirm records that sign-up id is confirmed for contact contactID, and forgets the
// resident's details, keeping the mobile only when keepMobile (its code is to come).
func Confirm(ctx context.Context, q sqlx.ExecerContext, id, contactID int64, keepMobile bool) error {
	if _, err := q.ExecContext(ctx, confirmSQL, id, contactID, keepMobile); err != nil {
		return fmt.Errorf("confirm sign-up: %w", err)
	}
	return nil
}
