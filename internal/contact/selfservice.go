package contact

// Contacts and contact points that residents add themselves, by signing up on the web.
// Each function runs on the caller's transaction (q), which holds the lock that keeps
// two sign-ups for one new address or number from adding it twice.

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// LockEmail holds, until tx ends, the lock that serialises adding email (any case).
func LockEmail(ctx context.Context, tx *sqlx.Tx, email string) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(29574, hashtext(lower($1)))`, email); err != nil {
		return fmt.Errorf("lock email: %w", err)
	}
	return nil
}

// LockPhone holds, until tx ends, the lock that serialises adding the number e164.
func LockPhone(ctx context.Context, tx *sqlx.Tx, e164 string) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(29575, hashtext($1))`, e164); err != nil {
		return fmt.Errorf("lock phone: %w", err)
	}
	return nil
}

// EmailPoint returns the contact with email (any case) and the point's id. None is
// sql.ErrNoRows, unwrapped.
func EmailPoint(ctx context.Context, q sqlx.QueryerContext, email string) (contactID, pointID int64, err error) {
	err = q.QueryRowxContext(ctx, `SELECT contact_id, id FROM contact_points WHERE kind = 'email' AND lower(value) = lower($1)`,
		email).Scan(&contactID, &pointID)
	return contactID, pointID, err
}

// AddWithEmail adds a contact called first last with the email address, returning the
// contact's and the point's ids.
func AddWithEmail(ctx context.Context, q sqlx.QueryerContext, first, last, email string) (contactID, pointID int64, err error) {
	if err := sqlx.GetContext(ctx, q, &contactID, `INSERT INTO contacts (first_name, last_name) VALUES ($1, $2) RETURNING id`,
		first, last); err != nil {
		return 0, 0, err
	}
	if err := sqlx.GetContext(ctx, q, &pointID, `INSERT INTO contact_points (contact_id, kind, value) VALUES ($1, 'email', $2) RETURNING id`,
		contactID, email); err != nil {
		return 0, 0, err
	}
	return contactID, pointID, nil
}

const fillNameSQL = `UPDATE contacts SET first_name = CASE WHEN first_name = '' THEN $2 ELSE first_name END,
			last_name = CASE WHEN last_name = '' THEN $3 ELSE last_name END, updated_at = now() WHERE id = $1`

// FillName gives contact id the first and last name where it has none.
func FillName(ctx context.Context, q sqlx.ExecerContext, id int64, first, last string) error {
	_, err := q.ExecContext(ctx, fillNameSQL, id, first, last)
	return err
}

const confirmEmailSQL = `UPDATE contact_points SET status = 'active', status_reason = 'confirmed by the resident on the web',
				updated_at = now() WHERE id = $1 AND status IN ('bounced', 'invalid')`

// ConfirmEmail records that the resident read an email at point id (they followed its
// link): a bounce or invalid address recorded against it no longer holds.
func ConfirmEmail(ctx context.Context, q sqlx.ExecerContext, id int64) error {
	_, err := q.ExecContext(ctx, confirmEmailSQL, id)
	return err
}

// PhonePoint returns the point with the number e164, its contact and its status. None
// is sql.ErrNoRows, unwrapped.
func PhonePoint(ctx context.Context, q sqlx.QueryerContext, e164 string) (pointID, contactID int64, status string, err error) {
	err = q.QueryRowxContext(ctx, `SELECT id, contact_id, status FROM contact_points WHERE kind = 'phone' AND value = $1`, e164).
		Scan(&pointID, &contactID, &status)
	return pointID, contactID, status, err
}

// AddPhone adds the number p to contact contactID and returns the point's id.
func AddPhone(ctx context.Context, q sqlx.QueryerContext, contactID int64, p Phone) (int64, error) {
	var id int64
	err := sqlx.GetContext(ctx, q, &id, `INSERT INTO contact_points (contact_id, kind, value, phone_type, fictional)
			VALUES ($1, 'phone', $2, $3, $4) RETURNING id`, contactID, p.E164, string(p.Type), p.Fictional)
	return id, err
}

const activeEmailsSQL = `SELECT value FROM contact_points
		WHERE contact_id = $1 AND kind = 'email' AND status = 'active' ORDER BY id`

// ActiveEmails lists contact contactID's email addresses that work, oldest first: where
// a fresh preference link can be sent.
func ActiveEmails(ctx context.Context, q sqlx.QueryerContext, contactID int64) ([]string, error) {
	var to []string
	if err := sqlx.SelectContext(ctx, q, &to, activeEmailsSQL, contactID); err != nil {
		return nil, fmt.Errorf("preference link addresses: %w", err)
	}
	return to, nil
}

// LockChoices holds, until tx ends, the lock that lets one change of contact
// contactID's own choices (the preference centre) run at a time, so that two tabs
// saving at once can't both record the same change.
func LockChoices(ctx context.Context, tx *sqlx.Tx, contactID int64) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(29573, $1::int)`, contactID%(1<<31)); err != nil {
		return fmt.Errorf("lock choices: %w", err)
	}
	return nil
}

// PointIDs lists the ids of contact contactID's points, oldest first.
func PointIDs(ctx context.Context, q sqlx.QueryerContext, contactID int64) ([]int64, error) {
	var ids []int64
	if err := sqlx.SelectContext(ctx, q, &ids, `SELECT id FROM contact_points WHERE contact_id = $1 ORDER BY id`, contactID); err != nil {
		return nil, fmt.Errorf("contact points: %w", err)
	}
	return ids, nil
}

// Language returns the resident's preferred language (a code such as "cy").
func Language(ctx context.Context, q sqlx.QueryerContext, contactID int64) (string, error) {
	var code string
	if err := sqlx.GetContext(ctx, q, &code, `SELECT preferred_language FROM contacts WHERE id = $1`, contactID); err != nil {
		return "", fmt.Errorf("preferred language: %w", err)
	}
	return code, nil
}

// SetLanguage records the language the resident asked for; it reports whether that
// changed anything.
func SetLanguage(ctx context.Context, q sqlx.ExecerContext, contactID int64, code string) (bool, error) {
	r, err := q.ExecContext(ctx, `UPDATE contacts SET preferred_language = $2, updated_at = now()
		WHERE id = $1 AND preferred_language <> $2`, contactID, code)
	if err != nil {
		return false, fmt.Errorf("set preferred language: %w", err)
	}
	n, _ := r.RowsAffected()
	return n > 0, nil
}
