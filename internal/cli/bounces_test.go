package cli_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/config"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/sandbox"
)

// crier bounces fetch reads the mailbox once (a DSN recorded and deleted, a reply kept
// and reported) and crier bounces list shows what was recorded, without addresses or
// the mailbox's password.
func TestCLIBounces(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	d, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var contact int64
	if err := d.Get(&contact, `INSERT INTO contacts (first_name) VALUES ('Hard') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`INSERT INTO contact_points (contact_id, kind, value) VALUES ($1, 'email', 'hard.bounce@residents.example.org')`, contact); err != nil {
		t.Fatal(err)
	}
	pop, err := sandbox.StartPOP3(context.Background(), sandbox.POP3Config{Username: "bounces", Password: "pop-secret-9"})
	if err != nil {
		t.Fatal(err)
	}
	defer pop.Close()
	for _, f := range []string{"dsn_hard.eml", "autoreply.eml"} {
		b, err := os.ReadFile("../bounce/testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		pop.Add([]byte(strings.ReplaceAll(string(b), "OUTBOX_ID", "0")))
	}
	withMailbox := func(c *config.Config) {
		c.Bounce.POP3URL = "pop3://bounces:pop-secret-9@" + pop.Addr() + "?tls=none"
	}
	bounces := func(args ...string) run {
		t.Helper()
		r := crierWith(t, testConfig(t, dsn, withMailbox), append([]string{"bounces"}, args...)...)
		if strings.Contains(r.stdout+r.stderr, "pop-secret-9") || strings.Contains(r.stdout+r.stderr, "hard.bounce@") {
			t.Errorf("a secret or an address in the output:\n%s%s", r.stdout, r.stderr)
		}
		return r
	}
	r := bounces("fetch")
	if r.code != 0 || !strings.Contains(r.stdout, "2 messages, 1 reports read and deleted") ||
		!strings.Contains(r.stdout, "1 addresses marked bounced") || !strings.Contains(r.stdout, "1 messages are not bounce reports and were kept") {
		t.Fatalf("fetch: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := len(pop.UIDs()); got != 1 {
		t.Errorf("%d messages left in the mailbox, want the reply", got)
	}
	r = bounces("list", "--kind", "hard")
	if r.code != 0 || !strings.Contains(r.stdout, "hard  dsn") || !strings.Contains(r.stdout, "5.1.1") {
		t.Fatalf("list: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = bounces("list", "--kind", "complaint"); r.code != 0 || !strings.Contains(r.stdout, "No bounces or complaints recorded.") {
		t.Errorf("list complaints: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = bounces("list", "--kind", "angry"); r.code != cli.ExitUsage {
		t.Errorf("bad kind: %d", r.code)
	}
	if r = crierWith(t, testConfig(t, dsn, nil), "bounces", "fetch"); r.code != cli.ExitUsage || !strings.Contains(r.stderr, "CRIER_BOUNCE_POP3_URL") {
		t.Errorf("no mailbox: %d %s", r.code, r.stderr)
	}
}

func crierWith(t *testing.T, cfg config.Config, args ...string) run {
	t.Helper()
	var out, errb strings.Builder
	app := &cli.App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Config: cfg}
	code := app.Run(context.Background(), args)
	return run{code, out.String(), errb.String()}
}

// crier serve reads the bounce mailbox when CRIER_BOUNCE_POP3_URL is set, says which
// webhooks are on (never their secrets), and stops cleanly.
func TestServePollsTheBounceMailbox(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	d, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	pop, err := sandbox.StartPOP3(context.Background(), sandbox.POP3Config{Username: "bounces", Password: "pop-secret-9"})
	if err != nil {
		t.Fatal(err)
	}
	defer pop.Close()
	b, err := os.ReadFile("../bounce/testdata/arf_abuse.eml")
	if err != nil {
		t.Fatal(err)
	}
	pop.Add([]byte(strings.ReplaceAll(string(b), "OUTBOX_ID", "0")))
	cfg := testConfig(t, dsn, func(c *config.Config) {
		withCouncil(c)
		c.Bounce.POP3URL = "pop3://bounces:pop-secret-9@" + pop.Addr() + "?tls=none"
		c.Bounce.PostmarkToken = "postmark-secret-0123456789"
	})
	var out, errb lockedBuffer
	app := &cli.App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Config: cfg}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- app.Run(ctx, []string{"serve"}) }()
	deadline := time.Now().Add(15 * time.Second)
	for len(pop.UIDs()) > 0 {
		select {
		case code := <-done:
			t.Fatalf("crier serve stopped (exit %d):\n%s", code, errb.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mailbox was not read after 15s:\n%s", errb.String())
		}
	}
	stop()
	if code := <-done; code != cli.ExitOK {
		t.Fatalf("crier serve: exit %d:\n%s", code, errb.String())
	}
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM bounce_events WHERE kind = 'complaint'`); err != nil || n != 1 {
		t.Errorf("%d complaints recorded (%v)", n, err)
	}
	logs := errb.String()
	if !strings.Contains(logs, "bounces: webhooks for postmark at https://crier.council.example/webhooks/bounces/{provider}") {
		t.Errorf("serve did not say which webhooks are on:\n%s", logs)
	}
	if strings.Contains(logs, "pop-secret-9") || strings.Contains(logs, "postmark-secret") || strings.Contains(logs, "complainer@") {
		t.Errorf("a secret or an address in the log:\n%s", logs)
	}
}
