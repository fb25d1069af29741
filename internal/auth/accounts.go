package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"
)

// Errors of account changes.
var (
	ErrLastAdmin    = errors.New("this is the last active admin account: make another admin first")
	ErrResetInvalid = errors.New("this password reset link has been used, has expired or was never issued")
)

// ResetValidity is how long a password reset link works.
const ResetValidity = 24 * time.Hour

// Recorder writes the audit entry of an account change with the change's own
// transaction, so both commit or neither does. u is the account as changed.
type Recorder func(ctx context.Context, tx sqlx.ExecerContext, u *User) error

// GetByID returns a user by id.
func (s *Store) GetByID(ctx context.Context, id int64) (*User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT id, email, name, role, disabled, created_at FROM users WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: #%d", ErrNotFound, id)
	}
	return &u, err
}

// change runs fn on the user with that email, locked, in a transaction that also
// locks every active admin (so two admins demoting each other can't both pass the
// last-admin check), then records rec.
func (s *Store) change(ctx context.Context, email string, rec Recorder, fn func(tx *sqlx.Tx, u *User, admins int) error) (*User, error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var admins []int64
	if err := tx.SelectContext(ctx, &admins, `SELECT id FROM users WHERE role = 'admin' AND NOT disabled ORDER BY id FOR UPDATE`); err != nil {
		return nil, fmt.Errorf("lock admins: %w", err)
	}
	var u User
	err = tx.GetContext(ctx, &u, `SELECT id, email, name, role, disabled, created_at FROM users WHERE lower(email) = lower($1) FOR UPDATE`,
		strings.TrimSpace(email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, email)
	}
	if err != nil {
		return nil, err
	}
	if err := fn(tx, &u, len(admins)); err != nil {
		return nil, err
	}
	if rec != nil {
		if err := rec(ctx, tx, &u); err != nil {
			return nil, err
		}
	}
	return &u, tx.Commit()
}

// SetDisabled disables or re-enables an account. Disabling ends its sessions at once
// (and Session refuses a disabled account's cookie besides); the last active admin
// can't be disabled (ErrLastAdmin).
func (s *Store) SetDisabled(ctx context.Context, email string, disabled bool, rec Recorder) (*User, error) {
	return s.change(ctx, email, rec, func(tx *sqlx.Tx, u *User, admins int) error {
		if disabled && u.Role == Admin && !u.Disabled && admins <= 1 {
			return ErrLastAdmin
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled = $2, updated_at = now() WHERE id = $1`, u.ID, disabled); err != nil {
			return fmt.Errorf("disable user: %w", err)
		}
		if disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
		}
		u.Disabled = disabled
		return nil
	})
}

// SetRole changes an account's role; it takes effect at the account's next request.
// The last active admin can't be given another role (ErrLastAdmin). It returns the
// account and its role before.
func (s *Store) SetRole(ctx context.Context, email, role string, rec Recorder) (u *User, was string, err error) {
	if !slices.Contains(Roles, role) {
		return nil, "", fmt.Errorf("%w: role %q: use admin, officer or volunteer", ErrInvalid, role)
	}
	u, err = s.change(ctx, email, rec, func(tx *sqlx.Tx, u *User, admins int) error {
		was = u.Role
		if u.Role == Admin && role != Admin && !u.Disabled && admins <= 1 {
			return ErrLastAdmin
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = $2, updated_at = now() WHERE id = $1`, u.ID, role); err != nil {
			return fmt.Errorf("change role: %w", err)
		}
		u.Role = role
		return nil
	})
	return u, was, err
}

// CreateReset issues a one-time password reset link's token for the account, valid for
// ResetValidity; only its hash is stored, and the account's earlier unused links stop
// working. by names who asked for it.
func (s *Store) CreateReset(ctx context.Context, email, by string, rec Recorder) (token string, u *User, expires time.Time, err error) {
	token = randomToken(32)
	expires = s.now().Add(ResetValidity)
	u, err = s.change(ctx, email, rec, func(tx *sqlx.Tx, u *User, _ int) error {
		if u.Disabled {
			return fmt.Errorf("%w: %s is disabled: enable the account first", ErrInvalid, u.Email)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = $1 AND used_at IS NULL`, u.ID); err != nil {
			return fmt.Errorf("reset link: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO password_resets (token_hash, user_id, created_by, expires_at) VALUES ($1, $2, $3, $4)`,
			hashToken(token), u.ID, by, expires); err != nil {
			return fmt.Errorf("reset link: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", nil, time.Time{}, err
	}
	return token, u, expires, nil
}

// CheckReset returns the account a reset link's token is for, or ErrResetInvalid.
func (s *Store) CheckReset(ctx context.Context, token string) (*User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `
		SELECT u.id, u.email, u.name, u.role, u.disabled, u.created_at
		  FROM password_resets r JOIN users u ON u.id = r.user_id
		 WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 AND NOT u.disabled`, hashToken(token), s.now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrResetInvalid
	}
	return &u, err
}

// UseReset sets a new password with a reset link's token, once: the link is spent, and
// the account's sessions end. A password CheckPassword refuses leaves the link unspent.
func (s *Store) UseReset(ctx context.Context, token, password string, rec Recorder) (*User, error) {
	if err := CheckPassword(password); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.Cost)
	if err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var u User
	// The UPDATE spends the link; a second use finds used_at set and no row.
	err = tx.GetContext(ctx, &u, `
		WITH spent AS (
			UPDATE password_resets r SET used_at = now()
			  FROM users u
			 WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 AND u.id = r.user_id AND NOT u.disabled
			RETURNING r.user_id)
		UPDATE users u SET password_hash = $3, updated_at = now() FROM spent WHERE u.id = spent.user_id
		RETURNING u.id, u.email, u.name, u.role, u.disabled, u.created_at`, hashToken(token), s.now(), string(hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrResetInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("use reset link: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
		return nil, fmt.Errorf("end sessions: %w", err)
	}
	if rec != nil {
		if err := rec(ctx, tx, &u); err != nil {
			return nil, err
		}
	}
	return &u, tx.Commit()
}
