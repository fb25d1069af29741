package web_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
)

// TestBrowserVolunteerWalksARound: a volunteer signs in on a phone-sized screen, opens
// their round, and marks one door delivered and one not (with a reason), one tap each;
// an officer signs in to the dashboard and replies. axe finds nothing on any page.
func TestBrowserVolunteerWalksARound(t *testing.T) {
	r := newAppRig(t)
	ctx := newBrowser(t)

	open(t, ctx, r.srv.URL+"/rounds", 200) // redirected to sign in
	checkPage(t, ctx, "sign in")
	browse(t, ctx, "fill in the sign-in form",
		chromedp.SendKeys(chromedp.CSS("#email"), "sam@volunteers.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "My rounds" {
		t.Fatalf("after signing in: %q", h)
	}
	checkPage(t, ctx, "My rounds")

	submit(t, ctx, "main h2 a", 200)
	if h := text(t, ctx, "h1"); h != r.rounds[0].Name {
		t.Fatalf("round page: %q", h)
	}
	checkPage(t, ctx, "a round")

	// Door 1: delivered, one tap.
	submit(t, ctx, "#door-1 form.deliver button", 200)
	if s := text(t, ctx, "#door-1 .state"); s != "Delivered" {
		t.Errorf("door 1 after the tap: %q", s)
	}
	// Door 2: not delivered, with a reason from the list (the reasons open for that door only).
	browse(t, ctx, "open door 2's reasons", chromedp.Click(chromedp.CSS("#door-2 summary")))
	if n := evaluate[int](t, ctx, "count open reasons", `document.querySelectorAll('details.why[open]').length`); n != 1 {
		t.Errorf("%d doors' reasons are open, want 1", n)
	}
	checkPage(t, ctx, "a round with one door's reasons open")
	browse(t, ctx, "choose a reason", chromedp.SetValue(chromedp.CSS("#reason-2"), "No letterbox"))
	submit(t, ctx, "#door-2 form.not-delivered button", 200)
	if s := text(t, ctx, "#door-2 .state"); !strings.Contains(s, "No letterbox") {
		t.Errorf("door 2 after the tap: %q", s)
	}
	checkPage(t, ctx, "a round after two taps")
	var states string
	if err := r.db.Get(&states, `SELECT string_agg(state, ',' ORDER BY seq) FROM round_stops WHERE round_id = $1 AND seq <= 2`, r.rounds[0].ID); err != nil {
		t.Fatal(err)
	}
	if states != "delivered,not_delivered" {
		t.Errorf("doors in the database: %s", states)
	}
	submit(t, ctx, "form[action='/logout'] button", 200)

	// The officer's pages.
	browse(t, ctx, "sign in as the officer",
		chromedp.SendKeys(chromedp.CSS("#email"), "jo@council.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "Dashboard" {
		t.Fatalf("officer after signing in: %q", h)
	}
	checkPage(t, ctx, "dashboard")
	open(t, ctx, r.srv.URL+"/replies", 200)
	checkPage(t, ctx, "replies")
	open(t, ctx, r.srv.URL+"/rounds", 200)
	checkPage(t, ctx, "rounds (officer)")
}

// TestBrowserOfficerPrintsAssignsAndVolunteerFinishes: an officer prints a campaign's
// leaflets from its leaflets page and watches the progress update by itself to the end
// (a second press meanwhile starts nothing), downloads a leaflet PDF, filters the rounds,
// gives a round to a volunteer (the select offers no officer and no disabled account),
// takes it back and gives it again; the volunteer, on a phone, marks one door and then
// the rest of the round delivered; the officer sees the counts. Every page and state
// passes checkPage.
func TestBrowserOfficerPrintsAssignsAndVolunteerFinishes(t *testing.T) {
	r := newAppRig(t)
	ctx := t.Context()
	as := auth.NewStore(r.db)
	as.Cost = bcrypt.MinCost
	if _, err := as.Add(ctx, "old@volunteers.example", "Old Volunteer", auth.Volunteer, appPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := as.SetDisabled(ctx, "old@volunteers.example", true, nil); err != nil {
		t.Fatal(err)
	}
	cs := campaign.NewStore(r.db, nil)
	c := &campaign.Campaign{Name: "Library hours", Purpose: "service", ChannelOrder: []string{"post"},
		LeafletTitle: "The library opens later", LeafletBody: "From March the library opens at **10am**."}
	if err := cs.Create(ctx, c, "general", "jo"); err != nil {
		t.Fatal(err)
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "jo", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.StartDue(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	leaflets := r.srv.URL + "/campaigns/" + itoa(c.ID) + "/leaflets"
	held, release := r.ws.HoldPrints(t)

	b := newBrowser(t)
	open(t, b, r.srv.URL+"/login", 200)
	browse(t, b, "sign in as the officer",
		chromedp.SendKeys(chromedp.CSS("#email"), "jo@council.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, b, "form[action='/login'] button[type=submit]", 200)

	// The way in: the officers' list of rounds links to each post campaign's leaflets page.
	open(t, b, r.srv.URL+"/rounds", 200)
	submit(t, b, "a[href='/campaigns/"+itoa(c.ID)+"/leaflets']", 200)
	if h := text(t, b, "h1"); h != "Leaflets: Library hours" {
		t.Fatalf("leaflets page: %q", h)
	}
	checkPage(t, b, "leaflets page, nothing printed")

	// A round size that isn't a number: nothing starts, the field says why.
	browse(t, b, "type a bad round size", chromedp.SetValue(chromedp.CSS("#round_size"), "lots"))
	submit(t, b, "#print-button", 422)
	if e := text(t, b, "#round_size-error"); !strings.Contains(e, "from 1 to 1000") {
		t.Errorf("round size error: %q", e)
	}
	checkPage(t, b, "leaflets page, a form error")

	browse(t, b, "choose two doors a round", chromedp.SetValue(chromedp.CSS("#round_size"), "2"))
	submit(t, b, "#print-button", 200)
	select {
	case <-held:
	case <-time.After(browserActionTimeout):
		t.Fatal("the print run reported no progress")
	}
	// The page updates by itself (live.js) to the progress the run reported.
	browse(t, b, "wait for the progress", chromedp.Poll[chromedp.Void](`((document.querySelector('#print-phase') || {}).textContent || '').includes('of 4 leaflets printed')`,
		chromedp.WithPollingTimeout(browserActionTimeout)))
	if v := evaluate[string](t, b, "progress value", `document.querySelector('#print-progress').getAttribute('value')`); v == "" || v == "100" {
		t.Errorf("progress bar while printing: value %q", v)
	}
	checkPage(t, b, "leaflets page, printing")
	// A second press meanwhile (another tab) starts nothing.
	busy := evaluate[string](t, b, "press again", `fetch(location.pathname, {method: 'POST', body: new URLSearchParams({
		csrf: document.querySelector('input[name=csrf]').value, format: 'a5', round_size: '2'})}).then(r => r.url)`, chromedp.EvalAwaitPromise)
	if !strings.HasSuffix(busy, "?busy=1") {
		t.Errorf("a second press led to %s", busy)
	}
	var jobs int
	r.db.Get(&jobs, `SELECT count(*) FROM print_jobs WHERE campaign_id = $1`, c.ID)
	if jobs != 1 {
		t.Errorf("%d print jobs after two presses", jobs)
	}
	release()
	browse(t, b, "wait for the end", chromedp.WaitVisible(chromedp.CSS("#print-done")))
	if s := text(t, b, "#print-summary"); !strings.Contains(s, "4 doors in 3 rounds") {
		t.Errorf("summary: %q", s)
	}
	checkPage(t, b, "leaflets page, printed (live)")
	open(t, b, leaflets, 200) // without JavaScript: a reload shows the same
	if s := text(t, b, "#print-summary"); !strings.Contains(s, "4 doors in 3 rounds") {
		t.Errorf("summary after a reload: %q", s)
	}
	checkPage(t, b, "leaflets page, printed")
	pdf := evaluate[string](t, b, "download a leaflet PDF", `fetch(document.querySelector('#print-done a[href$="-leaflets.pdf"]').href)
		.then(r => r.arrayBuffer()).then(b => String.fromCharCode(...new Uint8Array(b.slice(0, 5))))`, chromedp.EvalAwaitPromise)
	if pdf != "%PDF-" {
		t.Errorf("the leaflets download starts %q", pdf)
	}
	var audited int
	r.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'leaflets.print' AND actor = 'jo@council.example' AND subject_id <> ''`)
	if audited != 1 {
		t.Errorf("%d print runs audited", audited)
	}

	// Printing again: nothing is waiting, and the page says so and what to do.
	submit(t, b, "#print-button", 200)
	browse(t, b, "wait for the failure", chromedp.WaitVisible(chromedp.CSS("#print-failed")))
	if e := text(t, b, "#print-error"); !strings.Contains(e, "Nothing is waiting to be printed") {
		t.Errorf("printing again: %q", e)
	}
	checkPage(t, b, "leaflets page, nothing to print")

	// The rounds, filtered to the campaign.
	open(t, b, r.srv.URL+"/rounds?campaign="+itoa(c.ID)+"&sort=round&dir=asc", 200)
	if n := text(t, b, "#rounds-count"); n != "3 rounds match." {
		t.Errorf("filtered rounds: %q", n)
	}
	checkPage(t, b, "rounds, filtered")
	submit(t, b, ".round-card h2 a", 200)
	roundURL := evaluate[string](t, b, "round url", `location.pathname`)
	roundID, _ := strconv.ParseInt(strings.TrimPrefix(roundURL, "/rounds/"), 10, 64)
	options := evaluate[[]string](t, b, "the volunteers offered", `[...document.querySelectorAll('#volunteer option')].map(o => o.textContent)`)
	if len(options) != 3 || !strings.Contains(options[1], "Kim Volunteer") || !strings.Contains(options[2], "Sam Volunteer") {
		t.Errorf("volunteers offered: %q (want Kim and Sam: no officer, no disabled account)", options)
	}
	checkPage(t, b, "round, officer")
	submit(t, b, "form.assign button", 422) // nobody chosen
	checkPage(t, b, "round, assigned to nobody chosen")
	browse(t, b, "choose Kim", chromedp.SetValue(chromedp.CSS("#volunteer"), itoa(r.otherVolntr.ID)))
	submit(t, b, "form.assign button", 200)
	if n := text(t, b, "#notice"); !strings.Contains(n, "Kim Volunteer") {
		t.Errorf("after assigning: %q", n)
	}
	submit(t, b, "#unassign", 200)
	if a := text(t, b, "#assigned-to"); a != "Nobody has this round yet." {
		t.Errorf("after taking it back: %q", a)
	}
	checkPage(t, b, "round, taken back")
	browse(t, b, "choose Sam", chromedp.SetValue(chromedp.CSS("#volunteer"), itoa(r.volunteer.ID)))
	submit(t, b, "form.assign button", 200)
	checkPage(t, b, "round, assigned")
	var actions string
	r.db.Get(&actions, `SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE subject_type = 'round' AND subject_id = $1`, itoa(roundID))
	if actions != "round.assign,round.unassign,round.assign" {
		t.Errorf("audited: %q", actions)
	}
	sheet := evaluate[string](t, b, "print the round sheet again", `fetch(document.querySelector('#sheet-link').href)
		.then(r => r.arrayBuffer()).then(b => String.fromCharCode(...new Uint8Array(b.slice(0, 5))))`, chromedp.EvalAwaitPromise)
	if sheet != "%PDF-" {
		t.Errorf("the round sheet starts %q", sheet)
	}
	submit(t, b, "form[action='/logout'] button", 200)

	// The volunteer, on a phone: one door, then the rest.
	browse(t, b, "a phone", chromedp.EmulateViewport(narrowWidth, 740, chromedp.EmulateMobile))
	browse(t, b, "sign in as Sam",
		chromedp.SendKeys(chromedp.CSS("#email"), "sam@volunteers.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, b, "form[action='/login'] button[type=submit]", 200)
	open(t, b, r.srv.URL+roundURL, 200)
	small := evaluate[[]string](t, b, "tap targets", `[...document.querySelectorAll('.stop button, .stop summary, #mark-rest')]
		.filter(e => e.offsetParent).filter(e => e.getBoundingClientRect().height < 44).map(e => e.outerHTML.slice(0, 80))`)
	if len(small) > 0 {
		t.Errorf("tap targets under 44 px: %q", small)
	}
	tall := evaluate[float64](t, b, "a door's height", `document.querySelector('#door-1').getBoundingClientRect().height`)
	if tall > 120 {
		t.Errorf("a door takes %.0f px of a phone screen", tall)
	}
	browse(t, b, "back to a desktop", chromedp.ResetViewport())
	submit(t, b, "#door-1 form.deliver button", 200)
	if s := text(t, b, "#door-1 .state"); s != "Delivered" {
		t.Errorf("door 1: %q", s)
	}
	submit(t, b, "#mark-rest", 200)
	if q := text(t, b, "#rest-question"); !strings.Contains(q, "Mark the 1 door still to do") {
		t.Errorf("confirmation: %q", q)
	}
	checkPage(t, b, "mark the rest, confirm")
	submit(t, b, "#rest-confirm", 200)
	if n := text(t, b, "#notice"); n != "1 door marked delivered." {
		t.Errorf("after marking the rest: %q", n)
	}
	checkPage(t, b, "round, all done")
	r.db.Get(&actions, `SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE subject_type = 'round' AND subject_id = $1 AND actor = 'sam@volunteers.example'`, itoa(roundID))
	if actions != "round.door,round.rest" {
		t.Errorf("the volunteer's actions audited: %q", actions)
	}
	submit(t, b, "form[action='/logout'] button", 200)

	// The officer sees the counts.
	browse(t, b, "sign in as the officer again",
		chromedp.SendKeys(chromedp.CSS("#email"), "jo@council.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, b, "form[action='/login'] button[type=submit]", 200)
	open(t, b, r.srv.URL+"/rounds?campaign="+itoa(c.ID)+"&state=done", 200)
	card := "#round-" + itoa(roundID)
	if d, todo := text(t, b, card+" [data-n=delivered] .n"), text(t, b, card+" [data-n=todo] .n"); d != "2" || todo != "0" {
		t.Errorf("the officer sees %s delivered, %s to do", d, todo)
	}
	if p := text(t, b, card+" .round-progress-label"); p != "100% walked: done" {
		t.Errorf("progress: %q", p)
	}
	checkPage(t, b, "rounds, done")
}
