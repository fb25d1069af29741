package printrun_test

import (
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/printrun"
)

// TestPrintJobsRunOnePerCampaign: presses of "Print leaflets" at the same moment start
// one job; the others are told which job is running. A job whose server has stopped
// (no heartbeat) is interrupted and no longer blocks a new one; progress, the end and a
// failure are recorded.
func TestPrintJobsRunOnePerCampaign(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	c := r.sent(t)
	ps := printrun.NewStore(r.db)
	u, err := auth.NewStore(r.db).Add(ctx, "jo@council.example", "Jo Officer", auth.Officer, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}

	const presses = 8
	var wg sync.WaitGroup
	jobs := make([]*printrun.Job, presses)
	errs := make([]error, presses)
	for i := range presses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jobs[i], errs[i] = ps.StartJob(ctx, c.ID, "a5", 150, u.ID)
		}()
	}
	wg.Wait()
	var started *printrun.Job
	for i := range presses {
		var busy *printrun.BusyError
		switch {
		case errs[i] == nil:
			if started != nil {
				t.Fatalf("two jobs started: %d and %d", started.ID, jobs[i].ID)
			}
			started = jobs[i]
		case errors.As(errs[i], &busy) && errors.Is(errs[i], printrun.ErrBusy):
		default:
			t.Fatalf("press %d: %v", i, errs[i])
		}
	}
	if started == nil || !started.Running() || started.StartedBy != "Jo Officer" {
		t.Fatalf("started: %+v", started)
	}
	for i := range presses {
		var busy *printrun.BusyError
		if errors.As(errs[i], &busy) && busy.JobID != started.ID {
			t.Errorf("press %d was told job %d runs, not %d", i, busy.JobID, started.ID)
		}
	}

	if err := ps.JobProgress(ctx, started.ID, 3, 10); err != nil {
		t.Fatal(err)
	}
	j, err := ps.LatestJob(ctx, c.ID)
	if err != nil || j.ID != started.ID || j.Percent() != 30 {
		t.Fatalf("latest job: %+v %v", j, err)
	}

	// The server stops: no heartbeat for longer than JobStale.
	if _, err := r.db.Exec(`UPDATE print_jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, started.ID); err != nil {
		t.Fatal(err)
	}
	if j, err := ps.Job(ctx, started.ID); err != nil || j.Status != "interrupted" || j.EndedAt == nil {
		t.Fatalf("a job without heartbeat: %+v %v", j, err)
	}
	again, err := ps.StartJob(ctx, c.ID, "a4", 6, u.ID)
	if err != nil {
		t.Fatalf("a new job after the interrupted one: %v", err)
	}
	res, err := ps.Print(ctx, printrun.Request{CampaignID: c.ID, Format: leaflet.A4, RoundSize: 6, OutDir: r.out,
		Content: leaflet.Content{OrgName: "Millbrook Council"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.FinishJob(ctx, again.ID, res.ID); err != nil {
		t.Fatal(err)
	}
	if j, err := ps.Job(ctx, again.ID); err != nil || j.Status != "done" || j.PrintRunID == nil || *j.PrintRunID != res.ID {
		t.Fatalf("finished job: %+v %v", j, err)
	}

	// Printing again finds nothing waiting; the failure is recorded as the officer reads it.
	failed, err := ps.StartJob(ctx, c.ID, "a4", 6, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.FailJob(ctx, failed.ID, "nothing", "Every leaflet has been printed."); err != nil {
		t.Fatal(err)
	}
	if j, _ := ps.LatestJob(ctx, c.ID); j.Status != "failed" || j.ErrorKind != "nothing" || j.Running() {
		t.Fatalf("failed job: %+v", j)
	}
	if _, err := ps.Job(ctx, 999999); !errors.Is(err, printrun.ErrNotFound) {
		t.Errorf("a job that isn't: %v", err)
	}
	if _, err := ps.LatestJob(ctx, c.ID+1000); !errors.Is(err, printrun.ErrNotFound) {
		t.Errorf("a campaign without jobs: %v", err)
	}
}

// TestUnprintableListsDoorsWithoutPrinting: the doors a failed job names are read again
// from the outbox, and reading them prints and locks nothing.
func TestUnprintableListsDoorsWithoutPrinting(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	c := r.sent(t)
	ps := printrun.NewStore(r.db)
	if doors, err := ps.Unprintable(ctx, c.ID); err != nil || doors != nil {
		t.Fatalf("before: %v %v", doors, err)
	}
	if _, err := r.db.Exec(`UPDATE addresses SET street = 'Acre Lane 中' WHERE house_number = '7'`); err != nil {
		t.Fatal(err)
	}
	doors, err := ps.Unprintable(ctx, c.ID)
	if err != nil || len(doors) != 1 || doors[0].What != "address" || doors[0].Chars != "中" {
		t.Fatalf("unprintable: %+v %v", doors, err)
	}
	_, err = ps.Print(ctx, printrun.Request{CampaignID: c.ID, Format: leaflet.A5, OutDir: r.out})
	if !errors.Is(err, printrun.ErrUnprintable) {
		t.Fatalf("print: %v", err)
	}
}

// TestListRoundsCountsFiltersSortsAndPages: the officers' list counts each round's doors,
// filters by campaign, volunteer and state, sorts by a fixed set of keys and pages.
// Assigning, unassigning and reporting doors are audited in their own transactions; a
// "mark the rest" that no longer covers what the volunteer was told records nothing.
func TestListRoundsCountsFiltersSortsAndPages(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	c := r.sent(t)
	ps := printrun.NewStore(r.db)
	as := auth.NewStore(r.db)
	sam, err := as.Add(ctx, "sam@volunteers.example", "Sam Volunteer", auth.Volunteer, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.Add(ctx, "jo@council.example", "Jo Officer", auth.Officer, "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	if _, err := as.Add(ctx, "old@volunteers.example", "Old Volunteer", auth.Volunteer, "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	if _, err := as.SetDisabled(ctx, "old@volunteers.example", true, nil); err != nil {
		t.Fatal(err)
	}
	vols, err := ps.Volunteers(ctx)
	if err != nil || len(vols) != 1 || vols[0].Email != "sam@volunteers.example" {
		t.Fatalf("volunteers a round can go to: %+v %v", vols, err)
	}
	if _, err := ps.Print(ctx, printrun.Request{CampaignID: c.ID, Format: leaflet.A5, RoundSize: 3, OutDir: r.out,
		Content: leaflet.Content{OrgName: "Millbrook Council"}}); err != nil {
		t.Fatal(err)
	}
	all, err := ps.ListRounds(ctx, printrun.RoundQuery{})
	if err != nil || all.Total < 3 || len(all.Rounds) != all.Total {
		t.Fatalf("every round: %+v %v", all, err)
	}
	first := all.Rounds[0] // the round with the most doors to deliver
	for _, rd := range all.Rounds {
		if rd.Pending > first.Pending {
			first = rd
		}
	}
	if first.Pending < 2 {
		t.Fatalf("no round has two doors to deliver: %+v", all.Rounds)
	}
	if first.PrintedAt.IsZero() || first.CampaignName != "Bin day" {
		t.Errorf("round: %+v", first)
	}

	entry := audit.Entry{Actor: "jo@council.example", Action: audit.RoundAssign, SubjectType: "round"}
	if err := ps.Assign(audit.Within(ctx, entry), first.ID, "sam@volunteers.example"); err != nil {
		t.Fatal(err)
	}
	door := audit.Entry{Actor: "sam@volunteers.example", Action: audit.RoundDoor, SubjectType: "round"}
	if _, err := ps.Deliver(audit.Within(ctx, door), printrun.Delivery{RoundID: first.ID, Seqs: []int{1}}); err != nil {
		t.Fatal(err)
	}
	// The volunteer was told "2 doors"; one of them is reported meanwhile elsewhere.
	stops, err := ps.Stops(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	pending := 0
	for _, st := range stops {
		if st.State == "pending" {
			pending++
		}
	}
	if pending < 1 {
		t.Fatalf("round %d has no door left to do: %+v", first.ID, stops)
	}
	rest := audit.Entry{Actor: "sam@volunteers.example", Action: audit.RoundRest, SubjectType: "round"}
	if _, err := ps.Deliver(audit.Within(ctx, rest), printrun.Delivery{RoundID: first.ID, Expect: pending + 1}); !errors.Is(err, printrun.ErrChanged) {
		t.Fatalf("mark the rest, told the wrong count: %v", err)
	}
	n, err := ps.Deliver(audit.Within(ctx, rest), printrun.Delivery{RoundID: first.ID, Expect: pending})
	if err != nil || n != pending {
		t.Fatalf("mark the rest: %d %v", n, err)
	}

	mine, err := ps.ListRounds(ctx, printrun.RoundQuery{VolunteerID: sam.ID})
	if err != nil || mine.Total != 1 || mine.Rounds[0].ID != first.ID {
		t.Fatalf("Sam's rounds: %+v %v", mine, err)
	}
	got := mine.Rounds[0]
	if got.Delivered != got.ToDeliver() || got.Pending != 0 || got.State != "done" || got.Percent() != 100 || got.Volunteer != "Sam Volunteer" {
		t.Errorf("Sam's round after marking the rest: %+v", got)
	}
	done, _ := ps.ListRounds(ctx, printrun.RoundQuery{State: "done"})
	open, _ := ps.ListRounds(ctx, printrun.RoundQuery{State: "open", Unassigned: true})
	if done.Total != 1 || open.Total != all.Total-1 {
		t.Errorf("done %d, open and unassigned %d, of %d", done.Total, open.Total, all.Total)
	}
	if other, _ := ps.ListRounds(ctx, printrun.RoundQuery{CampaignID: c.ID + 1000}); other.Total != 0 {
		t.Errorf("another campaign's rounds: %+v", other)
	}
	// Sorted by progress, most walked first; then paged two at a time.
	byProgress, err := ps.ListRounds(ctx, printrun.RoundQuery{Sort: "progress", Desc: true})
	if err != nil || byProgress.Rounds[0].ID != first.ID {
		t.Errorf("by progress: %+v %v", byProgress, err)
	}
	var paged []int64
	for off := 0; off < all.Total; off += 2 {
		p, err := ps.ListRounds(ctx, printrun.RoundQuery{Sort: "round", Limit: 2, Offset: off})
		if err != nil || p.Total != all.Total || len(p.Rounds) > 2 {
			t.Fatalf("page at %d: %+v %v", off, p, err)
		}
		for _, rd := range p.Rounds {
			paged = append(paged, rd.ID)
		}
	}
	if len(paged) != all.Total {
		t.Errorf("pages hold %d rounds, want %d", len(paged), all.Total)
	}
	if past, err := ps.ListRounds(ctx, printrun.RoundQuery{Limit: 2, Offset: 100}); err != nil || len(past.Rounds) != 0 || past.Total != all.Total {
		t.Errorf("past the last page: %+v %v", past, err)
	}
	for _, bad := range []printrun.RoundQuery{{Sort: "id; DROP TABLE rounds"}, {State: "lost"}} {
		if _, err := ps.ListRounds(ctx, bad); !errors.Is(err, printrun.ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	campaigns, volunteers, err := ps.RoundFilters(ctx)
	if err != nil || len(campaigns) != 1 || campaigns[0].ID != c.ID || len(volunteers) != 1 || volunteers[0].Name != "Sam Volunteer" {
		t.Errorf("filters: %+v %+v %v", campaigns, volunteers, err)
	}

	unassign := audit.Entry{Actor: "jo@council.example", Action: audit.RoundUnassign, SubjectType: "round"}
	if err := ps.Unassign(audit.Within(ctx, unassign), first.ID); err != nil {
		t.Fatal(err)
	}
	if err := ps.Unassign(audit.Within(ctx, unassign), first.ID); err != nil { // nobody has it: records nothing
		t.Fatal(err)
	}
	if err := ps.Unassign(ctx, 999999); !errors.Is(err, printrun.ErrNotFound) {
		t.Errorf("unassign a round that isn't: %v", err)
	}
	after, _ := ps.ListRounds(ctx, printrun.RoundQuery{Unassigned: true})
	if after.Total != all.Total {
		t.Errorf("after unassigning: %d of %d unassigned", after.Total, all.Total)
	}
	var got2 []string
	if err := r.db.Select(&got2, `SELECT action FROM audit_log WHERE action LIKE 'round.%' AND subject_id = $1 ORDER BY id`, strconv.FormatInt(first.ID, 10)); err != nil {
		t.Fatal(err)
	}
	want := []string{audit.RoundAssign, audit.RoundDoor, audit.RoundRest, audit.RoundUnassign}
	if len(got2) != len(want) {
		t.Fatalf("audit: %v, want %v", got2, want)
	}
	for i := range want {
		if got2[i] != want[i] {
			t.Errorf("audit: %v, want %v", got2, want)
		}
	}
}
