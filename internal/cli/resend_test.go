package cli_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/outbox"
)

const mailResidents = `First name,Surname,Email,House number,Street,Town,Postcode,Ward
Ada,Lovelace,ada@example.org,1,Acre Lane,London,SW2 1RW,Millbrook
Ben,Okafor,ben@example.org,2,Acre Lane,London,SW2 1RW,Millbrook
Cara,Jones,cara@example.org,3,Acre Lane,London,SW2 1RW,Millbrook
Dev,Patel,dev@example.org,4,Acre Lane,London,SW2 1RW,Millbrook
`

// TestCampaignResendFailed: status says the relay is unreachable and how many messages
// wait; resend-failed requeues the messages that ran out of attempts (not one that
// failed for good, not one whose resident withdrew since), says what that means, and
// the campaign goes back to sending; it is refused for a paused campaign.
func TestCampaignResendFailed(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	ctx := context.Background()
	mustCrier(t, dsn, nil, "contacts", "import", tempFile(t, t.TempDir(), "residents.csv", mailResidents))
	mustCrier(t, dsn, nil, "campaign", "create", tempFile(t, t.TempDir(), "bins.md",
		"---\nname: Bin day\npurpose: service\nchannels: [email]\nsubject: Your bin day is changing\n---\nFrom January we collect on Tuesdays.\n"))
	mustCrier(t, dsn, nil, "campaign", "send", "Bin day")
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cs := campaign.NewStore(db, nil)
	if _, err := cs.StartDue(ctx, time.Now()); err != nil { // as `crier serve`'s scheduler would
		t.Fatal(err)
	}

	// `crier serve` found the relay unreachable: status says so, with what waits.
	if _, err := outbox.NewStore(db).RecordHealth(ctx, "email", outbox.Down, "connection refused", "serve-1"); err != nil {
		t.Fatal(err)
	}
	out := mustCrier(t, dsn, nil, "campaign", "status", "Bin day")
	if !regexp.MustCompile(`SMTP unreachable since \d\d:\d\d \(connection refused\); 4 messages waiting to retry\.`).MatchString(out) {
		t.Fatalf("status while the relay is down:\n%s", out)
	}

	// Then (as before the fix) every attempt ran out: Ada and Ben failed on temporary
	// errors, Cara's message failed for good (too long), Dev's was sent.
	db.MustExec(`UPDATE outbox o SET state = 'failed', attempt = max_attempts, reason = 'temporary failure: connection refused'
		FROM contact_points cp WHERE cp.id = o.contact_point_id AND cp.value IN ('ada@example.org', 'ben@example.org')`)
	db.MustExec(`UPDATE outbox o SET state = 'failed', attempt = 1, reason = 'permanent failure: message too long'
		FROM contact_points cp WHERE cp.id = o.contact_point_id AND cp.value = 'cara@example.org'`)
	db.MustExec(`UPDATE outbox o SET state = 'sent', attempt = 1, provider_id = 'x', sent_at = now()
		FROM contact_points cp WHERE cp.id = o.contact_point_id AND cp.value = 'dev@example.org'`)
	if _, err := cs.FinishRuns(ctx); err != nil {
		t.Fatal(err)
	}
	// Ben unsubscribes from everything meanwhile.
	var ben int64
	db.Get(&ben, `SELECT id FROM contact_points WHERE value = 'ben@example.org'`)
	if _, err := consent.WithdrawAll(ctx, db, []int64{ben}, consent.Source{Name: "web", Detail: "preference centre"}); err != nil {
		t.Fatal(err)
	}
	if c, _ := cs.Get(ctx, "Bin day"); c.State != campaign.Completed {
		t.Fatalf("campaign is %s, want completed", c.State)
	}

	out = mustCrier(t, dsn, nil, "campaign", "resend-failed", "Bin day")
	for _, want := range []string{
		`1 failed message of campaign 1 "Bin day" queued again: ` + "`crier serve`" + ` sends it to that resident again now`,
		"1 not resent: the resident has since withdrawn consent",
		"note: SMTP is still unreachable (since ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("resend-failed lacks %q:\n%s", want, out)
		}
	}
	states := map[string]string{}
	rows, _ := db.Queryx(`SELECT cp.value, o.state FROM outbox o JOIN contact_points cp ON cp.id = o.contact_point_id`)
	for rows.Next() {
		var addr, st string
		rows.Scan(&addr, &st)
		states[addr] = st
	}
	rows.Close()
	want := map[string]string{"ada@example.org": "pending", "ben@example.org": "suppressed", "cara@example.org": "failed", "dev@example.org": "sent"}
	for addr, st := range want {
		if states[addr] != st {
			t.Errorf("%s: %s, want %s", addr, states[addr], st)
		}
	}
	if c, _ := cs.Get(ctx, "Bin day"); c.State != campaign.Sending {
		t.Errorf("campaign is %s after the resend, want sending", c.State)
	}

	out = mustCrier(t, dsn, nil, "campaign", "resend-failed", "Bin day")
	if !strings.Contains(out, `has no failed messages to resend`) {
		t.Errorf("second resend:\n%s", out)
	}
	mustCrier(t, dsn, nil, "campaign", "pause", "Bin day")
	wantExit(t, crierCfg(t, dsn, nil, "campaign", "resend-failed", "Bin day"), cli.ExitData, "is paused: resume it first")
}
