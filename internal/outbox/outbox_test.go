package outbox_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/db"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/demo"
	"github.com/crierhq/crier/internal/outbox"
)

// startRun imports a small borough and starts a service e-bulletin to everyone.
func startRun(t testing.TB, d *sqlx.DB) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := demo.Seed(ctx, d, demo.Options{Rows: 600, Seed: 2}, ""); err != nil {
		t.Fatal(err)
	}
	cs := campaign.NewStore(d, nil)
	c := &campaign.Campaign{Name: "Bins", Purpose: "service", ChannelOrder: []string{"email"},
		EmailSubject: "Bin day", EmailBody: "Your bin day changes."}
	if err := cs.Create(ctx, c, "", "t"); err != nil {
		t.Fatal(err)
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "t", nil); err != nil {
		t.Fatal(err)
	}
	runs, err := cs.StartDue(ctx, time.Now())
	if err != nil || len(runs) != 1 {
		t.Fatalf("start: %v %v", runs, err)
	}
	return runs[0]
}

func TestConcurrentClaimsAreDisjoint(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	runID := startRun(t, d)
	var pending int
	d.Get(&pending, `SELECT count(*) FROM outbox WHERE run_id = $1 AND state = 'pending'`, runID)
	if pending < 100 {
		t.Fatalf("only %d pending", pending)
	}
	ob := outbox.NewStore(d)
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := string(rune('a' + w))
			for {
				items, err := ob.Claim(ctx, "email", name, 7, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(items) == 0 {
					return
				}
				mu.Lock()
				for _, it := range items {
					if prev, dup := seen[it.ID]; dup {
						t.Errorf("row %d claimed by %s and %s", it.ID, prev, name)
					}
					seen[it.ID] = name
					if it.To == "" {
						t.Errorf("row %d has no address", it.ID)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != pending {
		t.Fatalf("claimed %d of %d rows", len(seen), pending)
	}
}

func TestCompleteAndRescueClassifyEveryOutcome(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	startRun(t, d)
	ob := outbox.NewStore(d)
	items, err := ob.Claim(ctx, "email", "w1", 6, time.Minute)
	if err != nil || len(items) != 6 {
		t.Fatalf("claim: %d %v", len(items), err)
	}
	ids := []int64{items[0].ID, items[1].ID, items[2].ID, items[3].ID}
	held, err := ob.Handed(ctx, "w1", ids)
	if err != nil || len(held) != 4 {
		t.Fatalf("handed: %v %v", held, err)
	}
	// Another worker cannot settle rows it does not hold.
	if err := ob.Complete(ctx, "intruder", []outbox.Result{{ID: items[0].ID, Outcome: outbox.Sent}}); err != nil {
		t.Fatal(err)
	}
	err = ob.Complete(ctx, "w1", []outbox.Result{
		{ID: items[0].ID, Outcome: outbox.Sent, ProviderID: "<outbox-1@x>"},
		{ID: items[1].ID, Outcome: outbox.Retry, Reason: "temporary failure (451)"},
		{ID: items[2].ID, Outcome: outbox.Bounced, Reason: "permanent failure (550): mailbox unavailable"},
	})
	if err != nil {
		t.Fatal(err)
	}
	state := func(id int64) (s string, runIn float64) {
		t.Helper()
		if err := d.QueryRow(`SELECT state, extract(epoch FROM run_at - now()) FROM outbox WHERE id = $1`, id).Scan(&s, &runIn); err != nil {
			t.Fatal(err)
		}
		return s, runIn
	}
	if s, _ := state(items[0].ID); s != "sent" {
		t.Errorf("sent row is %s", s)
	}
	if s, in := state(items[1].ID); s != "pending" || in < 20 || in > 40 {
		t.Errorf("retried row is %s, due in %.0fs (want pending, ~30s backoff)", s, in)
	}
	if s, _ := state(items[2].ID); s != "bounced" {
		t.Errorf("bounced row is %s", s)
	}
	var pointStatus string
	d.Get(&pointStatus, `SELECT cp.status FROM contact_points cp JOIN outbox o ON o.contact_point_id = cp.id WHERE o.id = $1`, items[2].ID)
	if pointStatus != "bounced" {
		t.Errorf("contact point after a bounce is %s", pointStatus)
	}

	// items[3] was handed but never settled; items[4], items[5] were claimed, never handed.
	// Expire the leases as if the worker died.
	d.MustExec(`UPDATE outbox SET lease_until = now() - interval '1 second' WHERE state = 'sending'`)
	requeued, unknown, err := ob.Rescue(ctx)
	if err != nil || requeued != 2 || unknown != 1 {
		t.Fatalf("rescue = %d requeued, %d unknown, %v; want 2 and 1", requeued, unknown, err)
	}
	if s, _ := state(items[3].ID); s != "unknown" {
		t.Errorf("handed, unsettled row is %s, want unknown", s)
	}
	if s, _ := state(items[4].ID); s != "pending" {
		t.Errorf("never-handed row is %s, want pending", s)
	}
	// The dead worker's late report changes nothing.
	if err := ob.Complete(ctx, "w1", []outbox.Result{{ID: items[3].ID, Outcome: outbox.Sent}}); err != nil {
		t.Fatal(err)
	}
	if s, _ := state(items[3].ID); s != "unknown" {
		t.Errorf("late result overwrote the rescuer: %s", s)
	}
	var events []string
	d.Select(&events, `SELECT event FROM message_events WHERE outbox_id = $1 ORDER BY id`, items[1].ID)
	if len(events) != 2 || events[0] != "queued" || events[1] != "retry" {
		t.Errorf("events of the retried row: %v", events)
	}
}

func TestRetriesStopAtMaxAttempts(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	startRun(t, d)
	ob := outbox.NewStore(d)
	d.MustExec(`UPDATE outbox SET max_attempts = 2`)
	var id int64
	for attempt := 1; attempt <= 2; attempt++ {
		d.MustExec(`UPDATE outbox SET run_at = now() - interval '1 second' WHERE state = 'pending'`)
		items, err := ob.Claim(ctx, "email", "w", 1, time.Minute)
		if err != nil || len(items) != 1 {
			t.Fatalf("attempt %d: claim %v %v", attempt, items, err)
		}
		if id == 0 {
			id = items[0].ID
		}
		if items[0].ID != id || items[0].Attempt != attempt {
			t.Fatalf("attempt %d claimed row %d attempt %d", attempt, items[0].ID, items[0].Attempt)
		}
		if err := ob.Complete(ctx, "w", []outbox.Result{{ID: id, Outcome: outbox.Retry, Reason: "timeout"}}); err != nil {
			t.Fatal(err)
		}
	}
	var s string
	d.Get(&s, `SELECT state FROM outbox WHERE id = $1`, id)
	if s != "failed" {
		t.Fatalf("after max attempts the row is %s, want failed", s)
	}
}

// TestRecordGroupCommitsEachWorkersOwnRows: one Record carries the steps of several
// workers (the dispatcher's group commit). Each step settles and hands only rows its own
// worker holds, whatever else rides in the same statement, on the one-statement path
// (sends and marks only) and on the transaction path (a retry among them).
func TestRecordGroupCommitsEachWorkersOwnRows(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	startRun(t, d)
	ob := outbox.NewStore(d)
	claim := func(w string) []int64 {
		t.Helper()
		items, err := ob.Claim(ctx, "email", w, 3, time.Minute)
		if err != nil || len(items) != 3 {
			t.Fatalf("claim: %d %v", len(items), err)
		}
		return []int64{items[0].ID, items[1].ID, items[2].ID}
	}
	a, b := claim("a"), claim("b")
	state := func(id int64) (s string, handed bool) {
		t.Helper()
		if err := d.QueryRow(`SELECT state, handed_at IS NOT NULL FROM outbox WHERE id = $1`, id).Scan(&s, &handed); err != nil {
			t.Fatal(err)
		}
		return s, handed
	}
	// a hands its first row and b (by mistake) one of a's: only a's own mark takes.
	held, err := ob.Record(ctx, []outbox.Step{{Worker: "a", Hand: []int64{a[0]}}, {Worker: "b", Hand: []int64{b[0], a[1]}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 2 || len(held[0]) != 1 || held[0][0] != a[0] || len(held[1]) != 1 || held[1][0] != b[0] {
		t.Fatalf("held %v, want [[%d] [%d]]", held, a[0], b[0])
	}
	if _, h := state(a[1]); h {
		t.Fatal("b marked a row a holds")
	}
	for _, tc := range []struct {
		name  string
		steps []outbox.Step
	}{
		{"sends and marks", []outbox.Step{
			{Worker: "a", Results: []outbox.Result{{ID: a[0], Outcome: outbox.Sent, ProviderID: "<a0>"}}, Hand: []int64{a[1]}},
			{Worker: "b", Results: []outbox.Result{{ID: b[0], Outcome: outbox.Sent, ProviderID: "<b0>"}, {ID: a[1], Outcome: outbox.Sent}}, Hand: []int64{b[1]}},
		}},
		{"with a retry", []outbox.Step{
			{Worker: "a", Results: []outbox.Result{{ID: a[1], Outcome: outbox.Retry, Reason: "temporary failure (451)"}}, Hand: []int64{a[2]}},
			{Worker: "b", Results: []outbox.Result{{ID: b[1], Outcome: outbox.Sent, ProviderID: "<b1>"}, {ID: a[2], Outcome: outbox.Sent}}, Hand: []int64{b[2]}},
		}},
	} {
		if _, err := ob.Record(ctx, tc.steps); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	want := map[int64]string{a[0]: "sent", a[1]: "pending", a[2]: "sending", b[0]: "sent", b[1]: "sent", b[2]: "sending"}
	for id, w := range want {
		if s, _ := state(id); s != w {
			t.Errorf("outbox %d is %s, want %s", id, s, w)
		}
	}
	for _, id := range []int64{a[2], b[2]} {
		if _, h := state(id); !h {
			t.Errorf("outbox %d not marked handed", id)
		}
	}
	var events int
	d.Get(&events, `SELECT count(*) FROM message_events WHERE event = 'sent'`)
	if events != 3 {
		t.Errorf("%d sent events, want 3", events)
	}
}

// TestStatusBeforeSettleIsAppliedBySettle: a provider's "delivered" callback can beat
// the worker's settle of the same text. It is kept, and the settle applies it: the row
// ends delivered, not sent. A text with no early status is simply sent.
func TestStatusBeforeSettleIsAppliedBySettle(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	runID := startRun(t, d)
	// Two of the run's rows become texts (the statuses are Twilio's).
	d.MustExec(`UPDATE outbox SET channel = 'sms' WHERE id IN (SELECT id FROM outbox WHERE run_id = $1 AND state = 'pending' ORDER BY id LIMIT 2)`, runID)
	ob := outbox.NewStore(d)
	items, err := ob.ClaimAndHand(ctx, "sms", "w1", 2, 2, time.Minute)
	if err != nil || len(items) != 2 {
		t.Fatalf("claim: %d %v", len(items), err)
	}
	early, plain := "SM"+strings.Repeat("a", 32), "SM"+strings.Repeat("b", 32)
	took, err := ob.RecordProviderStatus(ctx, outbox.ProviderStatus{ProviderID: early, Status: "delivered",
		Rank: 50, State: "delivered"})
	if err != nil || took {
		t.Fatalf("status before the settle: took=%v err=%v (want kept, not taken)", took, err)
	}
	if err := ob.Complete(ctx, "w1", []outbox.Result{
		{ID: items[0].ID, Outcome: outbox.Sent, ProviderID: early},
		{ID: items[1].ID, Outcome: outbox.Sent, ProviderID: plain},
	}); err != nil {
		t.Fatal(err)
	}
	var states []string
	if err := d.Select(&states, `SELECT state || '/' || provider_status FROM outbox WHERE id = ANY($1) ORDER BY id`,
		pq.Array([]int64{items[0].ID, items[1].ID})); err != nil {
		t.Fatal(err)
	}
	if want := []string{"delivered/delivered", "sent/"}; !slices.Equal(states, want) {
		t.Errorf("after the settle: %v, want %v", states, want)
	}
	var applied bool
	d.Get(&applied, `SELECT applied FROM provider_statuses WHERE provider_id = $1`, early)
	if !applied {
		t.Error("the early status is still waiting after the settle applied it")
	}
}

// TestHotStatementsFindRowsByKey: the hot path's statements, in the generic plans the
// senders run them with (db.OpenHotPath), claim through the due index and find the rows
// they settle by primary key — never through the lease index, and never by reading the
// whole outbox — on an outbox that was never analysed since it grew (as between a
// campaign's snapshot and its send). The lease index keeps an entry for every row that
// has passed through 'sending', so a plan that reads it gets slower with every message
// sent: a 100,000 send with 32 connections went from 3,671 to 1,757 msgs/s while each
// group commit grew from 3 ms to 15 ms.
func TestHotStatementsFindRowsByKey(t *testing.T) {
	d := dbtest.New(t)
	runID := startRun(t, d)
	// A snapshot of some 19,000 rows, unanalysed (the foreign keys' checks are off while
	// the copies are made: they name contacts that don't exist).
	grow := d.MustBegin()
	grow.MustExec(`SET LOCAL session_replication_role = replica`)
	for range 5 {
		grow.MustExec(`INSERT INTO outbox (run_id, campaign_id, contact_id, contact_point_id, channel, state)
			SELECT run_id, campaign_id, contact_id + (SELECT max(contact_id) FROM outbox), contact_point_id, channel, state
			  FROM outbox`)
	}
	if err := grow.Commit(); err != nil {
		t.Fatal(err)
	}
	// Two thirds of the run have been claimed: the lease index holds their entries.
	d.MustExec(`UPDATE outbox SET state = 'sending', locked_by = 'w', lease_until = now() + interval '1 minute'
		WHERE run_id = $1 AND state = 'pending' AND id % 3 <> 0`, runID)
	args := map[string]string{
		"claim":         `('email', 'w', 100, 60.0, 0, false)`,
		"handed":        `('{1,2,3}', 'w')`,
		"record":        `('{1,2}', '{a,b}', '{w,w}', '{3}', '{w}')`,
		"complete sent": `('{1,2}', '{a,b}', '{w,w}')`,
		"hand steps":    `('{1,2}', '{w,w}')`,
	}
	for name, q := range outbox.HotStatements {
		tx := d.MustBegin()
		tx.MustExec(`SET LOCAL plan_cache_mode = force_generic_plan`)
		tx.MustExec(`PREPARE hot AS ` + q)
		var plan []string
		if err := tx.Select(&plan, `EXPLAIN EXECUTE hot`+args[name]); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tx.MustExec(`DEALLOCATE hot`) // prepared statements outlive the transaction
		tx.Rollback()
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "$1") {
			t.Fatalf("%s: not a generic plan:\n%s", name, text)
		}
		if strings.Contains(text, "outbox_lease_idx") || strings.Contains(text, "Seq Scan on outbox") {
			t.Errorf("%s reads the lease index or the whole outbox:\n%s", name, text)
		}
		want := "outbox_pkey"
		if name == "claim" {
			want = "outbox_due_idx"
		}
		if !strings.Contains(text, want) {
			t.Errorf("%s doesn't use %s:\n%s", name, want, text)
		}
	}
}

// TestHotPathPlansOnce: through a hot-path pool (db.OpenHotPath) the statements that
// claim, hand and record are planned once per connection, not on every execution as
// PostgreSQL does by default while a plan for the values at hand looks cheaper (which,
// for a few ids in an array, it always does: a fifth of the database's work during a
// send went on planning). Sending works through it as before.
func TestHotPathPlansOnce(t *testing.T) {
	ctx := t.Context()
	_, dsn := dbtest.NewURL(t)
	d, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	hot, err := db.OpenHotPath(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer hot.Close()
	hot.SetMaxOpenConns(1) // one session, whose prepared statements are read below
	runID := startRun(t, d)
	s := outbox.NewStore(d).WithHotPath(hot)
	sent := 0
	for i := range 8 {
		items, err := s.Claim(ctx, "email", "w", 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 0 {
			t.Fatalf("round %d: nothing to claim", i)
		}
		var ids []int64
		var results []outbox.Result
		for _, it := range items {
			ids = append(ids, it.ID)
			results = append(results, outbox.Result{ID: it.ID, Outcome: outbox.Sent, ProviderID: "<m" + strconv.FormatInt(it.ID, 10) + "@test>"})
		}
		held, err := s.Record(ctx, []outbox.Step{{Worker: "w", Hand: ids}})
		if err != nil || len(held[0]) != len(ids) {
			t.Fatalf("round %d: hand %d: held %v, %v", i, len(ids), held, err)
		}
		if _, err := s.Record(ctx, []outbox.Step{{Worker: "w", Results: results}}); err != nil {
			t.Fatal(err)
		}
		sent += len(ids)
	}
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM outbox WHERE run_id = $1 AND state = 'sent' AND handed_at IS NOT NULL`, runID); err != nil {
		t.Fatal(err)
	}
	if n != sent {
		t.Errorf("%d rows recorded sent and handed, want %d", n, sent)
	}
	var plans []struct {
		Statement string `db:"statement"`
		Generic   int    `db:"generic_plans"`
		Custom    int    `db:"custom_plans"`
	}
	if err := hot.Select(&plans, `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements`); err != nil {
		t.Fatal(err)
	}
	if len(plans) < 2 {
		t.Fatalf("the hot path's session prepared %d statements, want the claim and the record", len(plans))
	}
	for _, p := range plans {
		if p.Custom != 0 || p.Generic < 8 {
			t.Errorf("%d custom and %d generic plans for\n%s", p.Custom, p.Generic, p.Statement)
		}
	}
}
