package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/db"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/outbox"
)

// "Send now" sends now: with the scheduler and idle workers looking for work only once
// an hour, a campaign scheduled from another connection (as `crier campaign send` or
// the web app does) is snapshotted and sent at once, woken by the database's
// notifications — the campaign's for the scheduler, the outbox's for the workers.
func TestSendNowStartsWithoutWaitingForThePoll(t *testing.T) {
	r := newRig(t, 30, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wake, err := db.Listen(ctx, r.dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wake.Close()
	d := dispatch.New(dispatch.Config{Instance: "wake", Poll: time.Hour, Lease: 20 * time.Second, Wake: wake,
		Channels: map[dispatch.Channel]dispatch.ChannelConfig{
			dispatch.Email: {Sender: r.sender, Composer: r.composer, Workers: 4, Batch: 50},
		}}, outbox.NewStore(r.db), r.campaign)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	// Let the scheduler and the workers make their first look (finding nothing) and
	// settle into their hour's wait.
	time.Sleep(500 * time.Millisecond)

	c := bulletin("Sent now")
	r.start(t, c)
	poll(t, 10*time.Second, func() (bool, string) {
		var n struct {
			All    int `db:"all"`
			Sent   int `db:"sent"`
			ToSend int `db:"to_send"` // not sent yet, nor suppressed (no email, no consent)
		}
		if err := r.db.Get(&n, `SELECT count(*) AS all, count(*) FILTER (WHERE state = 'sent') AS sent,
			count(*) FILTER (WHERE state NOT IN ('sent', 'suppressed')) AS to_send
			FROM outbox WHERE campaign_id = $1`, c.ID); err != nil {
			t.Fatal(err)
		}
		return n.Sent > 0 && n.ToSend == 0, fmt.Sprintf("%d of %d messages sent, %d to send", n.Sent, n.All, n.ToSend)
	})
	var sent int64
	if err := r.db.Get(&sent, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'sent'`, c.ID); err != nil {
		t.Fatal(err)
	}
	if got := r.smtp.Count(); got != sent {
		t.Fatalf("the SMTP server received %d messages, the outbox records %d sent", got, sent)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
