package signup

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Code is the latest code texted for a sign-up's mobile.
type Code struct {
	ID    int64  `db:"id"`
	Hash  []byte `db:"code_hash"`
	Tries int    `db:"wrong_tries"` // wrong codes typed in
}

// AddCode stores the hash of a new code for sign-up id and keeps its mobile for ttl,
// as long as the code works.
func AddCode(ctx context.Context, q sqlx.ExecerContext, id int64, hash []byte, ttl time.Duration) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO signup_mobile_codes (signup_id, code_hash) VALUES ($1, $2)`,
		id, hash); err != nil {
		return fmt.Errorf("sign-up code: %w", err)
	}
	if _, err := q.ExecContext(ctx, `UPDATE signups SET mobile_until = now() + $2 * interval '1 second' WHERE id = $1`,
		id, int(ttl.Seconds())); err != nil {
		return fmt.Errorf("sign-up code: %w", err)
	}
	return nil
}

const latestCodeSQL = `SELECT id, code_hash, wrong_tries FROM signup_mobile_codes WHERE signup_id = $1
		ORDER BY id DESC LIMIT 1 FOR UPDATE`

// LatestCode returns sign-up id's latest code, locked in tx. None is sql.ErrNoRows,
// unwrapped.
func LatestCode(ctx context.Context, tx *sqlx.Tx, id int64) (Code, error) {
	var c Code
	err := tx.GetContext(ctx, &c, latestCodeSQL, id)
	return c, err
}

// WrongTry counts a wrong code typed in against code id.
func WrongTry(ctx context.Context, q sqlx.ExecerContext, id int64) error {
	if _, err := q.ExecContext(ctx, `UPDATE signup_mobile_codes SET wrong_tries = wrong_tries + 1 WHERE id = $1`, id); err != nil {
		return fmt.Errorf("count wrong code: %w", err)
	}
	return nil
}

// CodesToday counts the codes texted for sign-up id in the last day.
func CodesToday(ctx context.Context, q sqlx.QueryerContext, id int64) (int, error) {
	var n int
	if err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM signup_mobile_codes WHERE signup_id = $1 AND sent_at > now() - interval '1 day'`,
		id); err != nil {
		return 0, fmt.Errorf("count sign-up codes: %w", err)
	}
	return n, nil
}

const forgetMobileSQL = `WITH codes AS (DELETE FROM signup_mobile_codes WHERE signup_id = $1)
		UPDATE signups SET mobile = '', mobile_until = NULL,
		mobile_confirmed_at = CASE WHEN $2 THEN now() ELSE mobile_confirmed_at END WHERE id = $1`

// ForgetMobile blanks sign-up id's copy of the mobile and drops its codes, in one
// statement; confirmed records that the code was typed in.
func ForgetMobile(ctx context.Context, q sqlx.ExecerContext, id int64, confirmed bool) error {
	if _, err := q.ExecContext(ctx, forgetMobileSQL, id, confirmed); err != nil {
		return fmt.Errorf("forget sign-up mobile: %w", err)
	}
	return nil
}
