package bounce_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/bounce"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/rights"
	"github.com/crierhq/crier/internal/suppression"
)

// world is a small borough: four residents, each with an email address granted the
// general topic, and one e-bulletin run that was sent to all four.
type world struct {
	d        *sqlx.DB
	contact  map[string]int64 // by local part of the address
	point    map[string]int64
	outbox   map[string]int64
	campaign *campaign.Store
}

var residents = []string{"hard.bounce", "soft.bounce", "complainer", "someone"}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{d: dbtest.New(t), contact: map[string]int64{}, point: map[string]int64{}, outbox: map[string]int64{}}
	w.campaign = campaign.NewStore(w.d, nil)
	var general int64
	get(t, w.d, &general, `SELECT id FROM topics WHERE slug = 'general'`)
	var changes []consent.Change
	for _, r := range residents {
		var c, p int64
		get(t, w.d, &c, `INSERT INTO contacts (first_name) VALUES ($1) RETURNING id`, r)
		get(t, w.d, &p, `INSERT INTO contact_points (contact_id, kind, value) VALUES ($1, 'email', $2) RETURNING id`,
			c, r+"@residents.example.org")
		w.contact[r], w.point[r] = c, p
		changes = append(changes, consent.Change{Point: p, Topic: general, Status: consent.Granted})
	}
	if _, err := consent.Record(ctx, w.d, changes, consent.Source{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	run := w.startRun(t, "marketing")
	// The run went out: as the email sender records it, with crier's Message-ID.
	exec(t, w.d, `UPDATE outbox SET state = 'sent', sent_at = now(),
		provider_id = '<outbox-' || id || '.crier@crier.example>' WHERE run_id = $1`, run)
	for _, r := range residents {
		var id int64
		get(t, w.d, &id, `SELECT id FROM outbox WHERE run_id = $1 AND contact_id = $2`, run, w.contact[r])
		w.outbox[r] = id
	}
	return w
}

// startRun snapshots a new e-bulletin to everyone and returns its run.
func (w *world) startRun(t *testing.T, purpose string) int64 {
	t.Helper()
	ctx := context.Background()
	c := &campaign.Campaign{Name: "Bins " + strconv.FormatInt(time.Now().UnixNano(), 36), Purpose: purpose,
		ChannelOrder: []string{"email"}, EmailSubject: "Your bin day is changing", EmailBody: "From Monday."}
	if err := w.campaign.Create(ctx, c, "", "test"); err != nil {
		t.Fatal(err)
	}
	if err := w.campaign.Schedule(ctx, c.ID, time.Time{}, "test", nil); err != nil {
		t.Fatal(err)
	}
	runs, err := w.campaign.StartDue(ctx, time.Now())
	if err != nil || len(runs) != 1 {
		t.Fatalf("start run: %v %v", runs, err)
	}
	return runs[0]
}

func (w *world) id(r string) string { return strconv.FormatInt(w.outbox[r], 10) }

func get(t testing.TB, d *sqlx.DB, dst any, q string, args ...any) {
	t.Helper()
	if err := d.Get(dst, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func exec(t testing.TB, d *sqlx.DB, q string, args ...any) {
	t.Helper()
	if _, err := d.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func pointStatus(t testing.TB, d *sqlx.DB, id int64) string {
	var s string
	get(t, d, &s, `SELECT status FROM contact_points WHERE id = $1`, id)
	return s
}

// A hard bounce (a DSN from the mailbox) marks the address bounced, the message
// bounced, records an audit entry, and the next campaign's snapshot skips the address.
func TestHardBounceSuppressesTheAddress(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s := bounce.NewStore(w.d, bounce.Policy{}, nil)
	// A second run is under way with the address still waiting in it.
	waiting := w.startRun(t, "service")
	evs, err := bounce.ParseMail(fixture(t, "dsn_hard.eml", "OUTBOX_ID", w.id("hard.bounce")))
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.Record(ctx, evs[0])
	if err != nil {
		t.Fatal(err)
	}
	if o.PointID != w.point["hard.bounce"] || o.OutboxID != w.outbox["hard.bounce"] || !o.Suppressed || o.Duplicate {
		t.Fatalf("outcome %+v", o)
	}
	if st := pointStatus(t, w.d, o.PointID); st != "bounced" {
		t.Errorf("point status %q, want bounced", st)
	}
	var msg struct {
		State  string `db:"state"`
		Reason string `db:"reason"`
	}
	get(t, w.d, &msg, `SELECT state, reason FROM outbox WHERE id = $1`, o.OutboxID)
	if msg.State != "bounced" {
		t.Errorf("message %+v, want bounced", msg)
	}
	var diag string
	get(t, w.d, &diag, `SELECT diagnostic FROM bounce_events WHERE id = $1`, o.EventID)
	if diag == "" || containsAt(diag) || containsAt(msg.Reason) {
		t.Errorf("an address was stored: diagnostic %q, reason %q", diag, msg.Reason)
	}
	// The message still waiting in the run under way is suppressed at once…
	var held string
	get(t, w.d, &held, `SELECT state || ': ' || reason FROM outbox WHERE run_id = $1 AND contact_id = $2`, waiting, w.contact["hard.bounce"])
	if held != "suppressed: contact point bounced after the run started" {
		t.Errorf("waiting message: %q", held)
	}
	// …and the next campaign's snapshot skips the address; the others still get it.
	next := w.startRun(t, "service")
	var rows []struct {
		Contact int64  `db:"contact_id"`
		State   string `db:"state"`
		Reason  string `db:"reason"`
	}
	if err := w.d.Select(&rows, `SELECT contact_id, state, reason FROM outbox WHERE run_id = $1 ORDER BY contact_id`, next); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		want := "pending: "
		if r.Contact == w.contact["hard.bounce"] {
			want = "suppressed: contact point bounced"
		}
		if got := r.State + ": " + r.Reason; got != want {
			t.Errorf("contact %d in the next run: %q, want %q", r.Contact, got, want)
		}
	}
	// The audit log says so, by ids.
	entries, err := audit.List(ctx, w.d, audit.Filter{Action: audit.ContactBounced})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].SubjectID != audit.ID(w.contact["hard.bounce"]) || entries[0].Actor != "bounce:dsn" {
		t.Fatalf("audit entries %+v", entries)
	}
	if fmt.Sprint(entries[0].Detail["contact_point_id"]) != fmt.Sprint(o.PointID) {
		t.Errorf("audit detail %v", entries[0].Detail)
	}
	// The resident's subject access export lists the bounce.
	x, err := rights.NewStore(w.d, nil, nil).Access(ctx, w.contact["hard.bounce"], audit.Entry{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Bounces) != 1 || x.Bounces[0].Kind != bounce.Hard || x.Bounces[0].Source != "dsn" ||
		x.Bounces[0].MessageID == nil || *x.Bounces[0].MessageID != o.OutboxID {
		t.Errorf("export bounces %+v", x.Bounces)
	}
}

func containsAt(s string) bool {
	for _, r := range s {
		if r == '@' {
			return true
		}
	}
	return false
}

// A complaint withdraws the address's consent (source "complaint"): marketing stops,
// the address is not marked bounced.
func TestComplaintWithdrawsConsent(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s := bounce.NewStore(w.d, bounce.Policy{}, nil)
	var general int64
	get(t, w.d, &general, `SELECT id FROM topics WHERE slug = 'general'`)
	evs, err := bounce.ParseMail(fixture(t, "arf_abuse.eml", "OUTBOX_ID", w.id("complainer")))
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.Record(ctx, evs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !o.Withdrawn || o.Suppressed || o.OutboxID != w.outbox["complainer"] {
		t.Fatalf("outcome %+v", o)
	}
	st, err := consent.StatusOf(ctx, w.d, w.point["complainer"], general)
	if err != nil || st != consent.Withdrawn {
		t.Fatalf("consent %q %v, want withdrawn", st, err)
	}
	var src string
	get(t, w.d, &src, `SELECT source FROM consents WHERE contact_point_id = $1 ORDER BY id DESC LIMIT 1`, w.point["complainer"])
	if src != "complaint" {
		t.Errorf("consent source %q", src)
	}
	if st := pointStatus(t, w.d, w.point["complainer"]); st != "active" {
		t.Errorf("point %q: a complaint is not a bounce", st)
	}
	next := w.startRun(t, "marketing")
	var got string
	get(t, w.d, &got, `SELECT state || ': ' || reason FROM outbox WHERE run_id = $1 AND contact_id = $2`, next, w.contact["complainer"])
	if got != "suppressed: consent withdrawn" {
		t.Errorf("next marketing run: %q", got)
	}
	entries, _ := audit.List(ctx, w.d, audit.Filter{Action: audit.ContactComplaint})
	if len(entries) != 1 {
		t.Errorf("audit entries %+v", entries)
	}
	// Another provider's report of the same complaint changes nothing more.
	h, sns, _, _ := testHooks(t)
	evs, err = h.Parse(ctx, "ses", bounce.Request{Body: sns.notification(t, fixture(t, "ses_complaint.json"), "2")})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := s.Record(ctx, evs[0]); err != nil || o.Withdrawn || o.PointID != w.point["complainer"] {
		t.Errorf("second complaint %+v %v", o, err)
	}
}

// Soft bounces suppress the address at the threshold within the window, not before;
// older ones don't count.
func TestSoftBounceThreshold(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s := bounce.NewStore(w.d, bounce.Policy{SoftThreshold: 3, SoftWindow: 30 * 24 * time.Hour}, nil)
	record := func(n int) bounce.Outcome {
		t.Helper()
		evs, err := bounce.ParseMail(fixture(t, "dsn_soft.eml", "OUTBOX_ID", w.id("soft.bounce"), "SOFT_N", strconv.Itoa(n)))
		if err != nil || len(evs) != 1 {
			t.Fatalf("parse: %v %v", evs, err)
		}
		o, err := s.Record(ctx, evs[0])
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	record(1)
	// One from long ago: outside the window.
	exec(t, w.d, `UPDATE bounce_events SET received_at = now() - interval '40 days'`)
	record(2)
	if o := record(3); o.Suppressed {
		t.Fatal("suppressed at 2 soft bounces in the window")
	}
	if st := pointStatus(t, w.d, w.point["soft.bounce"]); st != "active" {
		t.Fatalf("point %q before the threshold", st)
	}
	var state string
	get(t, w.d, &state, `SELECT state FROM outbox WHERE id = $1`, w.outbox["soft.bounce"])
	if state != "sent" {
		t.Errorf("a soft bounce changed the message to %q", state)
	}
	if o := record(4); !o.Suppressed {
		t.Fatal("not suppressed at 3 soft bounces in the window")
	}
	var reason string
	get(t, w.d, &reason, `SELECT status || ' ' || status_reason FROM contact_points WHERE id = $1`, w.point["soft.bounce"])
	if reason != "bounced 3 soft bounces in 30 days" {
		t.Errorf("point %q", reason)
	}
}

// The same report delivered twice (a webhook retried, the mailbox read again) is
// recorded once and counts once towards the threshold.
func TestDuplicateReportCountsOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s := bounce.NewStore(w.d, bounce.Policy{SoftThreshold: 2}, nil)
	raw := fixture(t, "dsn_soft.eml", "OUTBOX_ID", w.id("soft.bounce"), "SOFT_N", "1")
	for i := range 3 {
		evs, _ := bounce.ParseMail(raw)
		o, err := s.Record(ctx, evs[0])
		if err != nil {
			t.Fatal(err)
		}
		if o.Duplicate != (i > 0) || o.Suppressed {
			t.Fatalf("delivery %d: %+v", i+1, o)
		}
	}
	var n int
	get(t, w.d, &n, `SELECT count(*) FROM bounce_events`)
	if n != 1 {
		t.Errorf("%d events recorded, want 1", n)
	}
	get(t, w.d, &n, `SELECT count(*) FROM message_events WHERE outbox_id = $1 AND event = 'soft_bounce'`, w.outbox["soft.bounce"])
	if n != 1 {
		t.Errorf("%d message events, want 1", n)
	}
	if st := pointStatus(t, w.d, w.point["soft.bounce"]); st != "active" {
		t.Errorf("point %q: duplicates counted towards the threshold", st)
	}
}

// A report naming crier's Message-ID of a message to someone else is matched by the
// reported address, not the message; an address crier doesn't know is recorded unmatched.
func TestMatchingTrustsTheAddress(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s := bounce.NewStore(w.d, bounce.Policy{}, nil)
	o, err := s.Record(ctx, bounce.Event{Kind: bounce.Hard, Source: bounce.SourcePostmark, Ref: "x1",
		Recipient: "HARD.BOUNCE@residents.example.org", MessageID: "outbox-" + w.id("someone") + ".crier@crier.example"})
	if err != nil {
		t.Fatal(err)
	}
	if o.PointID != w.point["hard.bounce"] || o.OutboxID != 0 {
		t.Errorf("outcome %+v", o)
	}
	if st := pointStatus(t, w.d, w.point["someone"]); st != "active" {
		t.Errorf("someone else's address marked %q", st)
	}
	o, err = s.Record(ctx, bounce.Event{Kind: bounce.Hard, Source: bounce.SourcePostmark, Ref: "x2", Recipient: "stranger@example.net"})
	if err != nil || o.PointID != 0 || o.EventID == 0 {
		t.Errorf("unknown address: %+v %v", o, err)
	}
	list, err := s.List(ctx, bounce.Hard, 10)
	if err != nil || len(list) != 2 {
		t.Fatalf("list %+v %v", list, err)
	}
}

// Erasing a resident deletes their bounce events with their contact points.
func TestErasureDeletesBounces(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s := bounce.NewStore(w.d, bounce.Policy{}, nil)
	evs, _ := bounce.ParseMail(fixture(t, "dsn_hard.eml", "OUTBOX_ID", w.id("hard.bounce")))
	if _, err := s.Record(ctx, evs[0]); err != nil {
		t.Fatal(err)
	}
	key, err := suppression.NewKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rights.NewStore(w.d, key, nil).Erase(ctx, w.contact["hard.bounce"], "letter of 1 December", audit.Entry{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	var n int
	get(t, w.d, &n, `SELECT count(*) FROM bounce_events`)
	if n != 0 {
		t.Errorf("%d bounce events left after erasure", n)
	}
}

// A provider retrying while the first delivery is still being recorded: the report is
// recorded once however the deliveries interleave.
func TestConcurrentDuplicatesRecordOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s := bounce.NewStore(w.d, bounce.Policy{SoftThreshold: 2}, nil)
	e := bounce.Event{Kind: bounce.Soft, Source: bounce.SourceMailgun, Ref: "same-event", Recipient: "soft.bounce@residents.example.org"}
	results := make(chan bounce.Outcome, 8)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			o, err := s.Record(ctx, e)
			results <- o
			errs <- err
		}()
	}
	fresh := 0
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if o := <-results; !o.Duplicate {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d deliveries recorded, want 1", fresh)
	}
	if st := pointStatus(t, w.d, w.point["soft.bounce"]); st != "active" {
		t.Errorf("point %q: one soft bounce counted more than once", st)
	}
}
