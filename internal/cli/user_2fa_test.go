package cli_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/pquerna/otp/totp"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// TestUser2FA: an admin requires two-factor from the command line, and resets it for
// someone who lost their phone (their secret and recovery codes go; they can set it
// up again). Unknown accounts and a wrong switch are the user's errors.
func TestUser2FA(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	if r := crierIn(t, dsn, "correct horse battery staple\n", "user", "add", "jo@council.example", "--name", "Jo Bloggs", "--password-stdin"); r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	d, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := t.Context()
	tf, err := auth.NewTwoFactor(d, bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	u, err := auth.NewStore(d).Get(ctx, "jo@council.example")
	if err != nil {
		t.Fatal(err)
	}
	e, err := tf.Begin(ctx, u, "Millbrook Council")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(e.Secret, time.Now())
	if _, err := tf.Confirm(ctx, u.ID, code); err != nil {
		t.Fatal(err)
	}

	if r := crierIn(t, dsn, "", "user", "require-2fa", "on"); r.code != 0 || !strings.Contains(r.stdout, "required") {
		t.Errorf("require-2fa on: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if on, _ := tf.Required(ctx); !on {
		t.Error("not required after require-2fa on")
	}
	if r := crierIn(t, dsn, "", "user", "require-2fa", "maybe"); r.code != cli.ExitUsage {
		t.Errorf("require-2fa maybe: %d %s", r.code, r.stderr)
	}
	r := crierIn(t, dsn, "", "user", "2fa-reset", "JO@council.example")
	if r.code != 0 || !strings.Contains(r.stdout, "two-factor sign-in is off for JO@council.example") {
		t.Errorf("2fa-reset: %d %s%s", r.code, r.stdout, r.stderr)
	}
	var rows int
	d.Get(&rows, `SELECT (SELECT count(*) FROM user_totp) + (SELECT count(*) FROM user_recovery_codes)`)
	if on, _ := tf.Enabled(ctx, u.ID); on || rows != 0 {
		t.Errorf("after 2fa-reset: on %v, %d secret and recovery code rows left", on, rows)
	}
	if must, _ := tf.MustEnrol(ctx, u); !must {
		t.Error("after a reset, while required, the officer isn't asked to set it up again")
	}
	if r := crierIn(t, dsn, "", "user", "2fa-reset", "jo@council.example"); r.code != 0 || !strings.Contains(r.stdout, "was not on") {
		t.Errorf("2fa-reset again: %d %s", r.code, r.stdout)
	}
	if r := crierIn(t, dsn, "", "user", "2fa-reset", "nobody@council.example"); r.code != cli.ExitData || !strings.Contains(r.stderr, "no such user") {
		t.Errorf("2fa-reset of an unknown account: %d %s", r.code, r.stderr)
	}
	if r := crierIn(t, dsn, "", "user", "require-2fa", "off"); r.code != 0 {
		t.Errorf("require-2fa off: %d %s", r.code, r.stderr)
	}
	if on, _ := tf.Required(ctx); on {
		t.Error("still required after require-2fa off")
	}
}
