package auth

// Two-factor sign-in: time-based one-time codes (TOTP, RFC 6238) from an authenticator
// app, computed by github.com/pquerna/otp, with one-time recovery codes (issue 14).

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Errors of the second factor.
var (
	ErrBadCode     = errors.New("the code is not right")
	ErrCodeUsed    = errors.New("that code has been used already: wait for the next one")
	ErrNoPending   = errors.New("the sign-in has expired or had too many wrong codes")
	ErrNotEnrolled = errors.New("two-factor sign-in is not on for this account")
	ErrNoKey       = errors.New("two-factor sign-in needs the link key")
)

// The codes: six digits every 30 seconds (what every authenticator app does by
// default), accepted one step either side for clocks that drift.
const (
	totpPeriod = 30
	totpSkew   = 1
	// PendingLife is how long a sign-in waits for its code after the password.
	PendingLife = 5 * time.Minute
	// PendingTries is how many codes one pending sign-in may try.
	PendingTries = 5
	// codeFailuresPerUser wrong codes in rateWindow, across pending sign-ins, make
	// the next wait; only someone who knows the password gets this far.
	codeFailuresPerUser = 10
	// RecoveryCodes is how many recovery codes enrolment gives.
	RecoveryCodes = 10
	// recoveryAlphabet leaves out letters and digits easily confused (0/o, 1/l/i).
	recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	recoveryLen      = 10
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// TwoFactor keeps accounts' second factor: their TOTP secrets (sealed with a key derived
// from the link key, so the database alone can't make codes), their recovery codes
// (known by a keyed hash), the sign-ins waiting for a code, and whether an admin requires
// two-factor sign-in.
type TwoFactor struct {
	db          *sqlx.DB
	aead        cipher.AEAD // nil without a key: only Reset and the setting work
	recoveryKey []byte
	// Now is the clock codes are checked against (tests pin it).
	Now func() time.Time
}

// NewTwoFactor returns a TwoFactor whose secrets are sealed under keys derived (HKDF-
// SHA-256) from linkKey, crier's CRIER_LINK_KEY. With a nil linkKey only Reset,
// Required and SetRequired work (the CLI's admin commands); the rest return ErrNoKey.
func NewTwoFactor(db *sqlx.DB, linkKey []byte) (*TwoFactor, error) {
	t := &TwoFactor{db: db, Now: time.Now}
	if linkKey == nil {
		return t, nil
	}
	if len(linkKey) < 32 {
		return nil, errors.New("two-factor: the link key needs at least 32 bytes")
	}
	sealKey, err := hkdf.Key(sha256.New, linkKey, nil, "crier totp secret v1", 32)
	if err != nil {
		return nil, fmt.Errorf("two-factor key: %w", err)
	}
	if t.recoveryKey, err = hkdf.Key(sha256.New, linkKey, nil, "crier recovery code v1", 32); err != nil {
		return nil, fmt.Errorf("two-factor key: %w", err)
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	if t.aead, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	return t, nil
}

// userAD binds a sealed secret to its user: a row copied to another account won't open.
func userAD(userID int64) []byte {
	return binary.BigEndian.AppendUint64([]byte("crier totp "), uint64(userID))
}

func (t *TwoFactor) seal(userID int64, secret []byte) []byte {
	nonce := make([]byte, t.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return t.aead.Seal(nonce, nonce, secret, userAD(userID))
}

func (t *TwoFactor) open(userID int64, sealed []byte) ([]byte, error) {
	n := t.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("two-factor secret: too short")
	}
	secret, err := t.aead.Open(nil, sealed[:n], sealed[n:], userAD(userID))
	if err != nil {
		// Most likely CRIER_LINK_KEY changed since enrolment.
		return nil, fmt.Errorf("two-factor secret of user %d does not open (has CRIER_LINK_KEY changed?): %w", userID, err)
	}
	return secret, nil
}

// Enrolment is what an authenticator app needs: the otpauth:// URL (for the QR code) and
// the same secret in base32 for typing in.
type Enrolment struct {
	URL    string
	Secret string
}

// Enabled says whether userID signs in with a code.
func (t *TwoFactor) Enabled(ctx context.Context, userID int64) (bool, error) {
	var on bool
	err := t.db.GetContext(ctx, &on, `SELECT EXISTS (SELECT 1 FROM user_totp WHERE user_id = $1 AND enabled_at IS NOT NULL)`, userID)
	return on, err
}

// Begin starts (or shows again) u's enrolment: a new secret, or the one not yet
// confirmed, so a page reloaded after scanning still matches the app. issuer names the
// site in the app (CRIER_ORG_NAME). It returns ErrExists if two-factor is on already.
func (t *TwoFactor) Begin(ctx context.Context, u *User, issuer string) (*Enrolment, error) {
	if t.aead == nil {
		return nil, ErrNoKey
	}
	var row struct {
		Secret  []byte `db:"secret"`
		Enabled bool   `db:"enabled"`
	}
	err := t.db.GetContext(ctx, &row, `SELECT secret, enabled_at IS NOT NULL AS enabled FROM user_totp WHERE user_id = $1`, u.ID)
	var secret []byte
	switch {
	case errors.Is(err, sql.ErrNoRows):
		secret = make([]byte, 20)
		_, _ = rand.Read(secret)
		// Two tabs enrolling at once: the first secret stays, and both pages show it.
		if _, err := t.db.ExecContext(ctx, `INSERT INTO user_totp (user_id, secret) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`,
			u.ID, t.seal(u.ID, secret)); err != nil {
			return nil, fmt.Errorf("begin two-factor: %w", err)
		}
		return t.Begin(ctx, u, issuer)
	case err != nil:
		return nil, fmt.Errorf("begin two-factor: %w", err)
	case row.Enabled:
		return nil, fmt.Errorf("%w: two-factor sign-in is on already", ErrExists)
	}
	if secret, err = t.open(u.ID, row.Secret); err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: u.Email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Secret: secret})
	if err != nil {
		return nil, fmt.Errorf("begin two-factor: %w", err)
	}
	return &Enrolment{URL: key.URL(), Secret: key.Secret()}, nil
}

// Confirm turns two-factor on for userID once code matches the secret Begin gave, and
// returns the new recovery codes: the only time they are seen. A wrong code is
// ErrBadCode; no enrolment begun is ErrNotEnrolled.
func (t *TwoFactor) Confirm(ctx context.Context, userID int64, code string) ([]string, error) {
	if t.aead == nil {
		return nil, ErrNoKey
	}
	tx, err := t.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var sealed []byte
	err = tx.GetContext(ctx, &sealed, `SELECT secret FROM user_totp WHERE user_id = $1 AND enabled_at IS NULL FOR UPDATE`, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotEnrolled
	}
	if err != nil {
		return nil, err
	}
	secret, err := t.open(userID, sealed)
	if err != nil {
		return nil, err
	}
	step, ok := t.match(secret, normalCode(code), 0)
	if !ok {
		return nil, ErrBadCode
	}
	if _, err := tx.ExecContext(ctx, `UPDATE user_totp SET enabled_at = now(), last_step = $2 WHERE user_id = $1`, userID, step); err != nil {
		return nil, err
	}
	codes, err := t.newRecoveryCodes(ctx, tx, userID)
	if err != nil {
		return nil, err
	}
	return codes, tx.Commit()
}

func (t *TwoFactor) newRecoveryCodes(ctx context.Context, tx *sqlx.Tx, userID int64) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_recovery_codes WHERE user_id = $1`, userID); err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodes)
	hashes := make([][]byte, RecoveryCodes)
	for i := range codes {
		b := make([]byte, recoveryLen)
		for j := range b {
			b[j] = recoveryAlphabet[randIntn(len(recoveryAlphabet))]
		}
		codes[i] = string(b[:recoveryLen/2]) + "-" + string(b[recoveryLen/2:])
		hashes[i] = t.recoveryHash(string(b))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO user_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[]) ON CONFLICT DO NOTHING`,
		userID, pq.Array(hashes)); err != nil {
		return nil, fmt.Errorf("store recovery codes: %w", err)
	}
	return codes, nil
}

// randIntn is a uniform random number below n (n ≤ 256), by rejection.
func randIntn(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

func (t *TwoFactor) recoveryHash(normal string) []byte {
	m := hmac.New(sha256.New, t.recoveryKey)
	m.Write([]byte(normal))
	return m.Sum(nil)
}

// normalCode drops the spaces and dashes people type or paste with a code, and lowers
// its case.
func normalCode(code string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code))
}

func isTOTP(code string) bool {
	return len(code) == 6 && strings.Trim(code, "0123456789") == ""
}

// match finds the time step, after lastStep and within one step of now, whose code is
// code. A code of an earlier step (used already) is refused like a wrong one; used says so.
func (t *TwoFactor) match(secret []byte, code string, lastStep int64) (step int64, ok bool) {
	step, ok, _ = t.matchStep(secret, code, lastStep)
	return step, ok
}

func (t *TwoFactor) matchStep(secret []byte, code string, lastStep int64) (step int64, ok, used bool) {
	if !isTOTP(code) {
		return 0, false, false
	}
	key := b32.EncodeToString(secret)
	now := t.Now().Unix() / totpPeriod
	for s := now - totpSkew; s <= now+totpSkew; s++ {
		want, err := totp.GenerateCodeCustom(key, time.Unix(s*totpPeriod, 0), totpOpts)
		if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		if s <= lastStep {
			used = true
			continue
		}
		return s, true, false
	}
	return 0, false, used
}

// check takes one code, an app's or a recovery code, for userID inside tx: the user's
// row is locked, so parallel tries are counted one after another. A wrong code is
// recorded; too many in the window give a *RateLimitError. The caller commits tx in
// every case but an error other than these.
func (t *TwoFactor) check(ctx context.Context, tx *sqlx.Tx, userID int64, code string) error {
	var row struct {
		Secret   []byte `db:"secret"`
		LastStep int64  `db:"last_step"`
	}
	err := tx.GetContext(ctx, &row, `SELECT secret, last_step FROM user_totp WHERE user_id = $1 AND enabled_at IS NOT NULL FOR UPDATE`, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotEnrolled
	}
	if err != nil {
		return err
	}
	var fails struct {
		N    int       `db:"n"`
		Last time.Time `db:"last"`
		Now  time.Time `db:"now"`
	}
	if err := tx.GetContext(ctx, &fails, `SELECT count(*) AS n, coalesce(max(at), now()) AS last, now() AS now
		FROM two_factor_failures WHERE user_id = $1 AND at > now() - $2 * interval '1 second'`, userID, rateWindow.Seconds()); err != nil {
		return err
	}
	if wait := fails.Last.Add(delayAfter(fails.N, codeFailuresPerUser)).Sub(fails.Now); wait > 0 {
		return &RateLimitError{Wait: wait.Round(time.Second) + time.Second}
	}
	code = normalCode(code)
	if isTOTP(code) {
		secret, err := t.open(userID, row.Secret)
		if err != nil {
			return err
		}
		step, ok, used := t.matchStep(secret, code, row.LastStep)
		if ok {
			_, err := tx.ExecContext(ctx, `UPDATE user_totp SET last_step = $2 WHERE user_id = $1`, userID, step)
			return err
		}
		if err := t.recordFailure(ctx, tx, userID); err != nil {
			return err
		}
		if used {
			return ErrCodeUsed
		}
		return ErrBadCode
	}
	if len(code) == recoveryLen && strings.Trim(code, recoveryAlphabet) == "" {
		res, err := tx.ExecContext(ctx, `UPDATE user_recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`,
			userID, t.recoveryHash(code))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
	}
	if err := t.recordFailure(ctx, tx, userID); err != nil {
		return err
	}
	return ErrBadCode
}

func (t *TwoFactor) recordFailure(ctx context.Context, tx *sqlx.Tx, userID int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO two_factor_failures (user_id) VALUES ($1)`, userID)
	return err
}

// codeError says whether err is a verdict on the code (to be committed with its record)
// rather than a failure to check it.
func codeError(err error) bool {
	return errors.Is(err, ErrBadCode) || errors.Is(err, ErrCodeUsed) || errors.Is(err, ErrRateLimited)
}

// Disable turns two-factor off for userID, which takes a current code or an unused
// recovery code; its recovery codes go too.
func (t *TwoFactor) Disable(ctx context.Context, userID int64, code string) error {
	if t.aead == nil {
		return ErrNoKey
	}
	tx, err := t.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := t.check(ctx, tx, userID, code); err != nil {
		if codeError(err) {
			if cerr := tx.Commit(); cerr != nil {
				return cerr
			}
		}
		return err
	}
	if err := t.remove(ctx, tx, userID); err != nil {
		return err
	}
	return tx.Commit()
}

func (t *TwoFactor) remove(ctx context.Context, tx *sqlx.Tx, userID int64) error {
	for _, q := range []string{`DELETE FROM user_totp WHERE user_id = $1`, `DELETE FROM user_recovery_codes WHERE user_id = $1`,
		`DELETE FROM pending_logins WHERE user_id = $1`} {
		if _, err := tx.ExecContext(ctx, q, userID); err != nil {
			return fmt.Errorf("turn two-factor off: %w", err)
		}
	}
	return nil
}

// Reset turns two-factor off for the account with email, without a code: an admin's
// way back in for someone who lost their phone. It reports whether it was on.
// An unknown email is ErrNotFound.
func (t *TwoFactor) Reset(ctx context.Context, email string) (bool, error) {
	tx, err := t.db.BeginTxx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var row struct {
		ID int64 `db:"id"`
		On bool  `db:"enabled"`
	}
	err = tx.GetContext(ctx, &row, `SELECT u.id, t.enabled_at IS NOT NULL AS enabled FROM users u LEFT JOIN user_totp t ON t.user_id = u.id
		WHERE lower(u.email) = lower($1)`, strings.TrimSpace(email))
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("%w: %s", ErrNotFound, email)
	}
	if err != nil {
		return false, err
	}
	if err := t.remove(ctx, tx, row.ID); err != nil {
		return false, err
	}
	return row.On, tx.Commit()
}

// Required says whether an admin requires two-factor sign-in of officers and admins.
func (t *TwoFactor) Required(ctx context.Context) (bool, error) {
	var on bool
	err := t.db.GetContext(ctx, &on, `SELECT coalesce((SELECT require_2fa FROM security_settings), false)`)
	return on, err
}

// SetRequired requires two-factor sign-in of officers and admins, or stops requiring it.
func (t *TwoFactor) SetRequired(ctx context.Context, on bool) error {
	_, err := t.db.ExecContext(ctx, `INSERT INTO security_settings (id, require_2fa) VALUES (true, $1)
		ON CONFLICT (id) DO UPDATE SET require_2fa = $1, updated_at = now()`, on)
	return err
}

// MustEnrol says whether u must turn two-factor on before doing anything else: it is
// required, u is an officer or admin, and theirs is off. Volunteers are exempt: they
// see only the rounds assigned to them, often on a shared or old phone.
func (t *TwoFactor) MustEnrol(ctx context.Context, u *User) (bool, error) {
	if u.Role == Volunteer {
		return false, nil
	}
	var must bool
	err := t.db.GetContext(ctx, &must, `SELECT coalesce((SELECT require_2fa FROM security_settings), false)
		AND NOT EXISTS (SELECT 1 FROM user_totp WHERE user_id = $1 AND enabled_at IS NOT NULL)`, u.ID)
	return must, err
}

// Pending is a sign-in waiting for its code.
type Pending struct {
	CSRF      string
	Next      string
	TriesLeft int
}

// StartPending records that u gave the right password and now owes a code, and returns
// the cookie's token. next is where to go once signed in.
func (t *TwoFactor) StartPending(ctx context.Context, u *User, next string) (string, error) {
	token := randomToken(32)
	if _, err := t.db.ExecContext(ctx, `DELETE FROM pending_logins WHERE expires_at < now()`); err != nil {
		return "", err
	}
	if _, err := t.db.ExecContext(ctx, `INSERT INTO pending_logins (token_hash, user_id, csrf, next, expires_at)
		VALUES ($1, $2, $3, $4, now() + $5 * interval '1 second')`,
		hashToken(token), u.ID, randomToken(csrfTokenLen), next, PendingLife.Seconds()); err != nil {
		return "", fmt.Errorf("start pending sign-in: %w", err)
	}
	return token, nil
}

// Pending returns the pending sign-in of a cookie's token, or ErrNoPending.
func (t *TwoFactor) Pending(ctx context.Context, token string) (*Pending, error) {
	var row struct {
		CSRF  string `db:"csrf"`
		Next  string `db:"next"`
		Tries int    `db:"tries"`
	}
	err := t.db.GetContext(ctx, &row, `SELECT csrf, next, tries FROM pending_logins
		WHERE token_hash = $1 AND expires_at > now() AND tries < $2`, hashToken(token), PendingTries)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoPending
	}
	if err != nil {
		return nil, err
	}
	return &Pending{CSRF: row.CSRF, Next: row.Next, TriesLeft: PendingTries - row.Tries}, nil
}

// CodeError is a wrong code at sign-in, with the tries the pending sign-in has left.
type CodeError struct {
	Err       error // ErrBadCode or ErrCodeUsed
	TriesLeft int
}

func (e *CodeError) Error() string { return e.Err.Error() }
func (e *CodeError) Unwrap() error { return e.Err }

// Finish takes the code for a pending sign-in (the token of its cookie) and returns the
// user and where they were going. Each try counts, against the pending sign-in (five at
// most, then ErrNoPending) and as a failed sign-in of the account from ip (so the
// password's limit slows down whoever keeps trying). A wrong code is a *CodeError; too
// many wrong codes for the account lately, a *RateLimitError.
func (t *TwoFactor) Finish(ctx context.Context, token, code, ip string) (*User, string, error) {
	if t.aead == nil {
		return nil, "", ErrNoKey
	}
	tx, err := t.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, "", err
	}
	defer tx.Rollback()
	var p struct {
		User
		Next  string `db:"next"`
		Tries int    `db:"tries"`
	}
	err = tx.GetContext(ctx, &p, `UPDATE pending_logins p SET tries = p.tries + 1 FROM users u
		WHERE p.token_hash = $1 AND p.expires_at > now() AND p.tries < $2 AND u.id = p.user_id AND NOT u.disabled
		RETURNING u.id, u.email, u.name, u.role, u.disabled, u.created_at, p.next, p.tries`, hashToken(token), PendingTries)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrNoPending
	}
	if err != nil {
		return nil, "", err
	}
	err = t.check(ctx, tx, p.ID, code)
	switch {
	case err == nil:
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending_logins WHERE token_hash = $1`, hashToken(token)); err != nil {
			return nil, "", err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_attempts (login, ip, ok) VALUES ($1, $2, true)`, p.Email, ip); err != nil {
			return nil, "", err
		}
		return &p.User, p.Next, tx.Commit()
	case codeError(err):
		if errors.Is(err, ErrBadCode) || errors.Is(err, ErrCodeUsed) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_attempts (login, ip, ok) VALUES ($1, $2, false)`, p.Email, ip); err != nil {
				return nil, "", err
			}
		}
		if cerr := tx.Commit(); cerr != nil {
			return nil, "", cerr
		}
		var limited *RateLimitError
		if errors.As(err, &limited) {
			return nil, "", err
		}
		if p.Tries >= PendingTries {
			return nil, "", ErrNoPending
		}
		return nil, "", &CodeError{Err: err, TriesLeft: PendingTries - p.Tries}
	default:
		return nil, "", err
	}
}

// EndPending forgets a pending sign-in (signing out, or starting again).
func (t *TwoFactor) EndPending(ctx context.Context, token string) error {
	_, err := t.db.ExecContext(ctx, `DELETE FROM pending_logins WHERE token_hash = $1`, hashToken(token))
	return err
}
