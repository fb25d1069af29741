package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/db/dbtest"
)

const pw = "correct horse battery staple"

func newStore(t *testing.T) (*sqlx.DB, *auth.Store) {
	t.Helper()
	d := dbtest.New(t)
	st := auth.NewStore(d)
	st.Cost = bcrypt.MinCost
	return d, st
}

func TestDisableEndsSessions(t *testing.T) {
	_, st := newStore(t)
	ctx := t.Context()
	if _, err := st.Add(ctx, "ann@council.example", "Ann Admin", auth.Admin, pw); err != nil {
		t.Fatal(err)
	}
	jo, err := st.Add(ctx, "jo@council.example", "Jo Officer", auth.Officer, pw)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := st.StartSession(ctx, jo)
	if err != nil {
		t.Fatal(err)
	}
	recorded := 0
	rec := func(context.Context, sqlx.ExecerContext, *auth.User) error { recorded++; return nil }
	if u, err := st.SetDisabled(ctx, "JO@council.example", true, rec); err != nil || !u.Disabled {
		t.Fatalf("disable: %v %v", u, err)
	}
	if _, err := st.Session(ctx, token); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("the disabled account's session still works: %v", err)
	}
	if _, err := st.Authenticate(ctx, "jo@council.example", pw, "192.0.2.1"); !errors.Is(err, auth.ErrBadLogin) {
		t.Errorf("a disabled account signed in: %v", err)
	}
	if _, err := st.SetDisabled(ctx, "jo@council.example", false, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Authenticate(ctx, "jo@council.example", pw, "192.0.2.1"); err != nil {
		t.Errorf("re-enabled account: %v", err)
	}
	if recorded != 2 {
		t.Errorf("recorder called %d times, want 2", recorded)
	}
	// A failing recorder undoes the change with it.
	boom := errors.New("boom")
	if _, err := st.SetDisabled(ctx, "jo@council.example", true, func(context.Context, sqlx.ExecerContext, *auth.User) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("recorder error: %v", err)
	}
	if u, _ := st.Get(ctx, "jo@council.example"); u.Disabled {
		t.Error("the change stayed without its audit entry")
	}
}

func TestLastAdmin(t *testing.T) {
	_, st := newStore(t)
	ctx := t.Context()
	if _, err := st.Add(ctx, "ann@council.example", "Ann Admin", auth.Admin, pw); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetDisabled(ctx, "ann@council.example", true, nil); !errors.Is(err, auth.ErrLastAdmin) {
		t.Errorf("disable the last admin: %v", err)
	}
	if _, _, err := st.SetRole(ctx, "ann@council.example", auth.Officer, nil); !errors.Is(err, auth.ErrLastAdmin) {
		t.Errorf("demote the last admin: %v", err)
	}
	if _, err := st.Add(ctx, "bo@council.example", "Bo Admin", auth.Admin, pw); err != nil {
		t.Fatal(err)
	}
	u, was, err := st.SetRole(ctx, "ann@council.example", auth.Officer, nil)
	if err != nil || was != auth.Admin || u.Role != auth.Officer {
		t.Fatalf("demote with another admin: %v %q %v", u, was, err)
	}
	if _, err := st.SetDisabled(ctx, "bo@council.example", true, nil); !errors.Is(err, auth.ErrLastAdmin) {
		t.Errorf("disable the now last admin: %v", err)
	}
	if _, _, err := st.SetRole(ctx, "ann@council.example", "mayor", nil); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("unknown role: %v", err)
	}
}

func TestResetLinkWorksOnceAndExpires(t *testing.T) {
	d, st := newStore(t)
	ctx := t.Context()
	jo, err := st.Add(ctx, "jo@council.example", "Jo Officer", auth.Officer, pw)
	if err != nil {
		t.Fatal(err)
	}
	session, _, _ := st.StartSession(ctx, jo)
	token, u, _, err := st.CreateReset(ctx, "jo@council.example", "ann@council.example", nil)
	if err != nil || u.ID != jo.ID {
		t.Fatal(err)
	}
	var stored int
	if err := d.GetContext(ctx, &stored, `SELECT count(*) FROM password_resets WHERE token_hash = convert_to($1, 'UTF8')`, token); err != nil || stored != 0 {
		t.Errorf("the token is stored as it is: %d %v", stored, err)
	}
	if _, err := st.CheckReset(ctx, token); err != nil {
		t.Fatalf("check: %v", err)
	}
	if _, err := st.UseReset(ctx, token, "short", nil); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("a short password: %v", err)
	}
	const newPW = "a brand new passphrase"
	if _, err := st.UseReset(ctx, token, newPW, nil); err != nil {
		t.Fatalf("use (after a refused password, the link still works): %v", err)
	}
	if _, err := st.Session(ctx, session); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("the old session survived the reset: %v", err)
	}
	if _, err := st.Authenticate(ctx, "jo@council.example", newPW, "192.0.2.9"); err != nil {
		t.Errorf("sign in with the new password: %v", err)
	}
	if _, err := st.UseReset(ctx, token, "yet another passphrase", nil); !errors.Is(err, auth.ErrResetInvalid) {
		t.Errorf("second use: %v", err)
	}

	// A new link replaces an unused one; an expired link doesn't work.
	first, _, _, _ := st.CreateReset(ctx, "jo@council.example", "ann", nil)
	second, _, _, _ := st.CreateReset(ctx, "jo@council.example", "ann", nil)
	if _, err := st.CheckReset(ctx, first); !errors.Is(err, auth.ErrResetInvalid) {
		t.Errorf("the replaced link: %v", err)
	}
	if _, err := d.ExecContext(ctx, `UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UseReset(ctx, second, "yet another passphrase", nil); !errors.Is(err, auth.ErrResetInvalid) {
		t.Errorf("expired link: %v", err)
	}
	// A disabled account gets no link.
	if _, err := st.Add(ctx, "ann@council.example", "Ann Admin", auth.Admin, pw); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetDisabled(ctx, "jo@council.example", true, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := st.CreateReset(ctx, "jo@council.example", "ann", nil); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("link for a disabled account: %v", err)
	}
}

// TestAddRecordedCommitsWithItsRecord: an account is created with its record or not at
// all.
func TestAddRecordedCommitsWithItsRecord(t *testing.T) {
	_, st := newStore(t)
	ctx := t.Context()
	broken := errors.New("the audit log is full")
	_, err := st.AddRecorded(ctx, "lee@council.example", "Lee Officer", auth.Officer, pw,
		func(context.Context, sqlx.ExecerContext, *auth.User) error { return broken })
	if !errors.Is(err, broken) {
		t.Fatalf("adding with a record that fails: %v", err)
	}
	if _, err := st.Get(ctx, "lee@council.example"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("the account whose record failed: %v, want ErrNotFound", err)
	}
	var seen *auth.User
	u, err := st.AddRecorded(ctx, "lee@council.example", "Lee Officer", auth.Officer, pw,
		func(_ context.Context, _ sqlx.ExecerContext, u *auth.User) error { seen = u; return nil })
	if err != nil || seen == nil || seen.ID != u.ID || u.ID == 0 {
		t.Fatalf("adding with a record: %+v, recorded %+v, %v", u, seen, err)
	}
}
