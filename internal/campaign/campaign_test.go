package campaign_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/demo"
	"github.com/crierhq/crier/internal/outbox"
)

func TestTransitions(t *testing.T) {
	cases := []struct {
		from, to campaign.State
		ok       bool
	}{
		{campaign.Draft, campaign.Scheduled, true},
		{campaign.Draft, campaign.Sending, false},
		{campaign.Scheduled, campaign.Sending, true},
		{campaign.Scheduled, campaign.Paused, true},
		{campaign.Sending, campaign.Paused, true},
		{campaign.Sending, campaign.Completed, true},
		{campaign.Paused, campaign.Sending, true},
		{campaign.Completed, campaign.Sending, true}, // resending unknown outcomes only
		{campaign.Completed, campaign.Scheduled, false},
		{campaign.Cancelled, campaign.Scheduled, false},
		{campaign.Completed, campaign.Cancelled, false},
	}
	for _, tc := range cases {
		if got := campaign.CanMove(tc.from, tc.to); got != tc.ok {
			t.Errorf("%s → %s = %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
}

func TestNextRunKeepsLondonTimeAcrossClockChanges(t *testing.T) {
	c := &campaign.Campaign{ScheduleKind: "recurring", Recurrence: "0 9 * * *", TimeZone: "Europe/London"}
	cases := []struct{ after, want string }{
		// GMT: 09:00 London is 09:00 UTC.
		{"2027-03-27T10:00:00Z", "2027-03-28T08:00:00Z"}, // clocks go forward on 28 March 2027: 09:00 BST = 08:00 UTC
		{"2027-03-26T10:00:00Z", "2027-03-27T09:00:00Z"},
		{"2027-10-30T10:00:00Z", "2027-10-31T09:00:00Z"}, // back to GMT on 31 October 2027
	}
	for _, tc := range cases {
		after, _ := time.Parse(time.RFC3339, tc.after)
		got, err := c.NextRun(after)
		if err != nil {
			t.Fatal(err)
		}
		if got.Format(time.RFC3339) != tc.want {
			t.Errorf("after %s: next = %s, want %s", tc.after, got.Format(time.RFC3339), tc.want)
		}
		if got.In(campaign.London).Hour() != 9 {
			t.Errorf("next run %s is not 09:00 in London", got)
		}
	}
	c.Recurrence = "every tuesday"
	if err := c.Validate(); err == nil {
		t.Fatal("a bad recurrence validated")
	}
}

// seedBorough imports the demo borough through the real importer.
func seedBorough(t *testing.T, d *sqlx.DB, rows int) {
	t.Helper()
	if _, err := demo.Seed(context.Background(), d, demo.Options{Rows: rows, Seed: 1}, ""); err != nil {
		t.Fatal(err)
	}
}

func TestRunSnapshotsAudienceWithPECRSuppressions(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	seedBorough(t, d, 2000)
	cs := campaign.NewStore(d, nil)

	c := &campaign.Campaign{Name: "Summer fair", Purpose: "marketing", Strategy: "best",
		ChannelOrder: []string{"email", "sms"}, EmailSubject: "Come to the fair, {{first_name}}",
		EmailBody: "# Summer fair\n\nSaturday in the park.", SMSBody: "Summer fair Saturday in the park. Reply STOP to opt out."}
	if err := cs.Create(ctx, c, "general", "officer@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "officer", nil); err != nil {
		t.Fatal(err)
	}
	runs, err := cs.StartDue(ctx, time.Now())
	if err != nil || len(runs) != 1 {
		t.Fatalf("StartDue = %v, %v; want one run", runs, err)
	}
	if again, err := cs.StartDue(ctx, time.Now()); err != nil || len(again) != 0 {
		t.Fatalf("second StartDue = %v, %v; want nothing", again, err)
	}

	// Independently: who has an active email with a granted consent, and who (without
	// that) has a mobile with one — the best single channel, email first.
	var wantEmail, wantSMS int
	err = d.Get(&wantEmail, `
		SELECT count(DISTINCT cp.contact_id) FROM contact_points cp
		 WHERE cp.kind = 'email' AND cp.status = 'active'
		   AND (SELECT status FROM consents k WHERE k.contact_point_id = cp.id ORDER BY recorded_at DESC, id DESC LIMIT 1) = 'granted'`)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Get(&wantSMS, `
		WITH ok AS (
		  SELECT cp.contact_id, cp.kind FROM contact_points cp
		   WHERE cp.status = 'active' AND cp.kind IN ('email', 'phone') AND coalesce(cp.phone_type, '') <> 'landline'
		     AND (SELECT status FROM consents k WHERE k.contact_point_id = cp.id ORDER BY recorded_at DESC, id DESC LIMIT 1) = 'granted')
		SELECT count(DISTINCT contact_id) FROM ok WHERE kind = 'phone'
		   AND contact_id NOT IN (SELECT contact_id FROM ok WHERE kind = 'email')`)
	if err != nil {
		t.Fatal(err)
	}
	st, err := cs.Status(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	reasons := map[string]bool{}
	total := 0
	for _, s := range st {
		got[s.Channel+"/"+s.State] += s.N
		total += s.N
		if s.State == "suppressed" {
			reasons[s.Reason] = true
		}
	}
	if got["email/pending"] != wantEmail || got["sms/pending"] != wantSMS {
		t.Fatalf("pending email=%d sms=%d, want %d and %d (status %+v)", got["email/pending"], got["sms/pending"], wantEmail, wantSMS, st)
	}
	var contacts int
	d.Get(&contacts, `SELECT count(*) FROM contacts`)
	if got["email/pending"]+got["sms/pending"]+got["email/suppressed"]+got["sms/suppressed"] < contacts {
		t.Fatalf("someone is missing from the run: %v for %d contacts", got, contacts)
	}
	if !reasons["no consent for marketing"] || !reasons["no contact point on this campaign's channels"] {
		t.Fatalf("suppression reasons = %v", reasons)
	}

	// Pause: nothing can be claimed; resume: work flows again; cancel: pending rows cancelled.
	ob := outbox.NewStore(d)
	if err := cs.Pause(ctx, c.ID, "officer"); err != nil {
		t.Fatal(err)
	}
	if items, err := ob.Claim(ctx, "email", "w1", 10, time.Minute); err != nil || len(items) != 0 {
		t.Fatalf("claimed %d rows of a paused run (%v)", len(items), err)
	}
	if err := cs.Resume(ctx, c.ID, "officer"); err != nil {
		t.Fatal(err)
	}
	items, err := ob.Claim(ctx, "email", "w1", 10, time.Minute)
	if err != nil || len(items) != 10 {
		t.Fatalf("claimed %d after resume (%v)", len(items), err)
	}
	if err := cs.Cancel(ctx, c.ID, "officer"); err != nil {
		t.Fatal(err)
	}
	var pending int
	d.Get(&pending, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'pending'`, c.ID)
	if pending != 0 {
		t.Fatalf("%d rows still pending after cancel", pending)
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "officer", nil); !errors.Is(err, campaign.ErrTransition) {
		t.Fatalf("rescheduling a cancelled campaign: %v", err)
	}
	h, _ := cs.History(ctx, c.ID)
	var path []string
	for _, e := range h {
		path = append(path, string(e.To))
	}
	want := []string{"scheduled", "sending", "paused", "sending", "cancelled"}
	if len(path) != len(want) {
		t.Fatalf("history %v, want %v", path, want)
	}
	for i := range want {
		if path[i] != want[i] {
			t.Fatalf("history %v, want %v", path, want)
		}
	}
}

func TestRecurringCampaignRunsEachOccurrence(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	seedBorough(t, d, 200)
	cs := campaign.NewStore(d, nil)
	c := &campaign.Campaign{Name: "Monthly ward bulletin", Purpose: "service", ChannelOrder: []string{"email"},
		EmailSubject: "Ward news", EmailBody: "News from your ward.", ScheduleKind: "recurring", Recurrence: "0 9 1 * *"}
	if err := cs.Create(ctx, c, "", "officer"); err != nil {
		t.Fatal(err)
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "officer", nil); err != nil {
		t.Fatal(err)
	}
	got, _ := cs.Get(ctx, fmt.Sprint(c.ID))
	first := *got.NextRunAt
	if l := first.In(campaign.London); l.Day() != 1 || l.Hour() != 9 || !first.After(time.Now()) {
		t.Fatalf("first run %s, want 09:00 London on the 1st, in the future", l)
	}
	// Two occurrences come due (the clock is moved on, not waited for): each gets its own
	// run and audience snapshot, and the campaign waits for the next one in between.
	for i, now := range []time.Time{first.Add(time.Minute), first.AddDate(0, 1, 1)} {
		runs, err := cs.StartDue(ctx, now)
		if err != nil || len(runs) != 1 {
			t.Fatalf("occurrence %d: runs %v, %v", i, runs, err)
		}
		d.MustExec(`UPDATE outbox SET state = 'sent' WHERE run_id = $1 AND state = 'pending'`, runs[0])
		if n, err := cs.FinishRuns(ctx); err != nil || n != 1 {
			t.Fatalf("occurrence %d: finished %d, %v", i, n, err)
		}
		got, _ = cs.Get(ctx, fmt.Sprint(c.ID))
		if got.State != campaign.Scheduled || !got.NextRunAt.After(now) {
			t.Fatalf("occurrence %d: campaign %s, next %v", i, got.State, got.NextRunAt)
		}
	}
	var runs, audiences int
	d.Get(&runs, `SELECT count(*) FROM campaign_runs WHERE campaign_id = $1`, c.ID)
	d.Get(&audiences, `SELECT count(DISTINCT run_id) FROM outbox WHERE campaign_id = $1`, c.ID)
	if runs != 2 || audiences != 2 {
		t.Fatalf("%d runs with %d audience snapshots, want 2 and 2", runs, audiences)
	}
}
