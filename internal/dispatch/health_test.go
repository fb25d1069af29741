package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/sandbox"
)

// logBuffer collects a logger's output from every goroutine.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestUnreachableRelayWaitsAndIsLoggedOnce sends a campaign while the SMTP relay refuses
// connections, then brings the relay back (issue 13, defect 4). While it is down the
// email channel is recorded down with the kind of failure, the messages wait without
// using up attempts (none fails), and the change is logged once at warn however many
// tries fail; when the relay is back the channel is recorded up, logged once at info
// with how long it was down, and every message arrives exactly once.
func TestUnreachableRelayWaitsAndIsLoggedOnce(t *testing.T) {
	r := newRig(t, 80, "")
	addr := r.smtp.Addr()
	r.smtp.Close() // the relay is down: connections to addr are refused

	logs := &logBuffer{}
	ob := outbox.NewStore(r.db)
	d := dispatch.New(dispatch.Config{Instance: "solo", Poll: 50 * time.Millisecond, Lease: 20 * time.Second,
		DownPause: 150 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Channels: map[dispatch.Channel]dispatch.ChannelConfig{
			dispatch.Email: {Sender: r.sender, Composer: r.composer, Workers: 4, Batch: 50},
		}}, ob, r.campaign)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	c := bulletin("Relay down")
	r.start(t, c)

	// Many tries fail while the relay is down (a few seconds' worth at this pause)...
	poll(t, 30*time.Second, func() (bool, string) {
		var tries int
		r.db.Get(&tries, `SELECT count(*) FROM message_events e JOIN outbox o ON o.id = e.outbox_id
			WHERE o.campaign_id = $1 AND e.event = 'retry' AND e.detail LIKE '%connection refused%'`, c.ID)
		return tries >= 10, fmt.Sprintf("%d tries refused", tries)
	})
	hs, err := ob.Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || hs[0].Channel != "email" || hs[0].State != outbox.Down || hs[0].ErrorKind != "connection refused" {
		t.Fatalf("health while the relay is down: %+v", hs)
	}
	// ...and none uses up an attempt: nothing fails, the campaign keeps sending.
	var failed, maxAttempt, waiting int
	r.db.Get(&failed, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'failed'`, c.ID)
	r.db.Get(&maxAttempt, `SELECT coalesce(max(attempt), 0) FROM outbox WHERE campaign_id = $1 AND state = 'pending'`, c.ID)
	r.db.Get(&waiting, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state IN ('pending', 'sending')`, c.ID)
	if failed != 0 || maxAttempt != 0 || waiting < 30 {
		t.Fatalf("while down: %d failed, highest attempt %d, %d waiting: messages must wait without using attempts", failed, maxAttempt, waiting)
	}
	notice := dispatch.HealthNotice(hs[0], campaign.London)
	if !strings.HasPrefix(notice, "SMTP unreachable since ") || !strings.Contains(notice, "(connection refused); ") ||
		!strings.Contains(notice, "messages waiting to retry") {
		t.Errorf("notice while down: %q", notice)
	}

	// The relay comes back on the same address.
	srv, err := sandbox.StartSMTP(context.Background(), sandbox.SMTPConfig{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r.waitState(t, c.ID, campaign.Completed, 60*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	hs, err = ob.Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || hs[0].State != outbox.Up || hs[0].OutageFrom == nil || !hs[0].OutageFrom.Before(hs[0].Since) {
		t.Fatalf("health after the relay is back: %+v", hs)
	}
	if notice := dispatch.HealthNotice(hs[0], campaign.London); !strings.HasPrefix(notice, "SMTP back since ") ||
		!strings.Contains(notice, "unreachable (connection refused).") {
		t.Errorf("notice once back: %q", notice)
	}

	out := logs.String()
	if n := strings.Count(out, "level=WARN msg=\"channel down"); n != 1 {
		t.Errorf("%d warnings that the channel is down, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "level=INFO msg=\"channel up again\""); n != 1 {
		t.Errorf("%d notes that the channel is up again, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "error_kind=\"connection refused\"") || !strings.Contains(out, "down_for=") {
		t.Errorf("the log lines must say why it was down and for how long:\n%s", out)
	}
	if strings.Contains(out, "@") {
		t.Errorf("an address in the logs:\n%s", out)
	}

	var sent int
	r.db.Get(&sent, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'sent'`, c.ID)
	arrived := map[string]int{}
	for _, m := range srv.Messages() {
		arrived[parseMessage(t, m.Data).outboxID]++
	}
	for id, n := range arrived {
		if n > 1 {
			t.Errorf("%s arrived %d times", id, n)
		}
	}
	if len(arrived) != sent || sent != waiting {
		t.Fatalf("%d distinct messages arrived, %d recorded sent, %d were waiting", len(arrived), sent, waiting)
	}
}

// TestResendFailedSendsOnceAndHonoursConsent: messages that ran out of attempts on
// temporary failures are resent by ResendFailed once the cause is gone, and arrive
// exactly once; a resident who withdrew consent meanwhile is not resent (suppressed,
// with the reason), and a bounce is never resent. The campaign goes back to sending and
// completes again. A campaign that never sent, or was cancelled, is refused.
func TestResendFailedSendsOnceAndHonoursConsent(t *testing.T) {
	extra := "Later,Please,later@example.org,,,,14,Acre Lane,London,SW2 1RW,Millbrook,en,,Yes,,,,\r\n" +
		"Gone,Away,gone-away@example.org,,,,16,Acre Lane,London,SW2 1RW,Millbrook,en,,Yes,,,,\r\n" +
		"Bounce,Me,bounce-me@example.org,,,,12,Acre Lane,London,SW2 1RW,Millbrook,en,,Yes,,,,\r\n"
	r := newRig(t, 40, extra)
	// One attempt each, so that a temporary failure fails the message at once (as eight
	// would over an hour).
	r.db.MustExec(`ALTER TABLE outbox ALTER COLUMN max_attempts SET DEFAULT 1`)
	r.smtp.FailRecipient("later@", 450, "4.2.1", "mailbox busy")
	r.smtp.FailRecipient("gone-away@", 450, "4.2.1", "mailbox busy")
	r.smtp.FailRecipient("bounce-me@", 550, "5.1.1", "no such user")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	d := r.dispatcher("solo", true)
	go func() { done <- d.Run(ctx) }()
	c := bulletin("Resend me")
	r.start(t, c)
	r.waitState(t, c.ID, campaign.Completed, 30*time.Second)

	stateOf := func(addr string) string {
		t.Helper()
		var st string
		if err := r.db.Get(&st, `SELECT o.state FROM outbox o JOIN contact_points cp ON cp.id = o.contact_point_id
			WHERE o.campaign_id = $1 AND cp.value = $2`, c.ID, addr); err != nil {
			t.Fatal(err)
		}
		return st
	}
	for addr, want := range map[string]string{"later@example.org": "failed", "gone-away@example.org": "failed", "bounce-me@example.org": "bounced"} {
		if got := stateOf(addr); got != want {
			t.Fatalf("%s: %s, want %s", addr, got, want)
		}
	}
	before := r.smtp.Count()

	// Gone Away unsubscribes from everything after the run; the relay is fine again.
	var point int64
	r.db.Get(&point, `SELECT id FROM contact_points WHERE value = 'gone-away@example.org'`)
	if _, err := consent.WithdrawAll(context.Background(), r.db, []int64{point}, consent.Source{Name: "web", Detail: "test"}); err != nil {
		t.Fatal(err)
	}
	r.smtp.ClearFailures()

	res, err := r.campaign.ResendFailed(context.Background(), c.ID, "officer")
	if err != nil {
		t.Fatal(err)
	}
	if res != (campaign.Resent{Requeued: 1, Suppressed: 1}) {
		t.Fatalf("resend failed: %+v, want 1 requeued and 1 suppressed", res)
	}
	r.waitState(t, c.ID, campaign.Completed, 30*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{"later@example.org": "sent", "gone-away@example.org": "suppressed", "bounce-me@example.org": "bounced"} {
		if got := stateOf(addr); got != want {
			t.Errorf("%s after the resend: %s, want %s", addr, got, want)
		}
	}
	got := map[string]int{}
	for _, m := range r.smtp.Messages() {
		for _, to := range []string{"later@", "gone-away@", "bounce-me@"} {
			if bytes.Contains(m.Data, []byte("To: <"+to)) || bytes.Contains(m.Data, []byte("To: "+to)) {
				got[to]++
			}
		}
	}
	if r.smtp.Count() != before+1 || got["later@"] != 1 || got["gone-away@"] != 0 || got["bounce-me@"] != 0 {
		t.Fatalf("after the resend %d more arrived (want 1); per resident %v", r.smtp.Count()-before, got)
	}
	var history []campaign.HistoryEntry
	if history, err = r.campaign.History(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	var resent bool
	for _, h := range history {
		resent = resent || h.From == campaign.Completed && h.To == campaign.Sending && strings.Contains(h.Note, "resending 1 failed message")
	}
	if !resent {
		t.Errorf("history does not record the resend: %+v", history)
	}

	// Nothing left to resend; and refused where it makes no sense.
	if res, err := r.campaign.ResendFailed(context.Background(), c.ID, "officer"); err != nil || res != (campaign.Resent{}) {
		t.Errorf("second resend: %+v, %v; want nothing", res, err)
	}
	draft := bulletin("Never sent")
	if err := r.campaign.Create(context.Background(), draft, "general", "officer"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.campaign.ResendFailed(context.Background(), draft.ID, "officer"); !errors.Is(err, campaign.ErrTransition) {
		t.Errorf("resend of a draft: %v, want ErrTransition", err)
	}
	if err := r.campaign.Cancel(context.Background(), draft.ID, "officer"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.campaign.ResendFailed(context.Background(), draft.ID, "officer"); !errors.Is(err, campaign.ErrTransition) {
		t.Errorf("resend of a cancelled campaign: %v, want ErrTransition", err)
	}
}
