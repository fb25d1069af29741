package web_test

import (
	"html"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/campaign"
)

// TestRoundsListPagesAndKeepsItsState: the officers' list pages on the server, and its
// page links keep the filters and the order; a value it doesn't know is ignored, not
// spliced into the query; volunteers see only their own rounds, without filters.
func TestRoundsListPagesAndKeepsItsState(t *testing.T) {
	r := newAppRig(t)
	// 25 more rounds in the rig's print run, nobody's.
	if _, err := r.db.Exec(`INSERT INTO rounds (print_run_id, name, sector)
		SELECT print_run_id, 'Extra ' || lpad(g::text, 2, '0'), 'SW2 1' FROM rounds, generate_series(1, 25) g WHERE rounds.id = $1`, r.rounds[0].ID); err != nil {
		t.Fatal(err)
	}
	off := signInAt(t, r.srv.URL, "jo@council.example")
	code, _, first := page(t, off, r.srv.URL+"/rounds?volunteer=none&sort=round&dir=asc")
	if code != http.StatusOK || !strings.Contains(first, "25 rounds match; page 1 of 2.") {
		t.Fatalf("page 1 (%d):\n%s", code, first)
	}
	if !strings.Contains(first, "Extra 01") || strings.Contains(first, "Extra 21") || strings.Contains(first, r.rounds[0].Name) {
		t.Errorf("page 1 holds the wrong rounds")
	}
	next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(first)
	if next == nil {
		t.Fatal("no link to page 2")
	}
	link := html.UnescapeString(next[1])
	u, _ := url.Parse(link)
	if q := u.Query(); q.Get("volunteer") != "none" || q.Get("sort") != "round" || q.Get("dir") != "asc" || q.Get("page") != "2" {
		t.Errorf("the link to page 2 loses the list's state: %s", link)
	}
	_, _, second := page(t, off, r.srv.URL+link)
	if !strings.Contains(second, "Extra 25") || strings.Contains(second, "Extra 20") || !strings.Contains(second, `rel="prev"`) {
		t.Errorf("page 2:\n%s", second)
	}
	// Descending, the last comes first.
	_, _, desc := page(t, off, r.srv.URL+"/rounds?volunteer=none&sort=round&dir=desc")
	if strings.Index(desc, "Extra 25") > strings.Index(desc, "Extra 24") {
		t.Error("descending order is not descending")
	}
	// Unknown values are ignored.
	if code, _, _ := page(t, off, r.srv.URL+"/rounds?sort=id%3BDROP+TABLE+rounds&state=lost&page=-3&campaign=x"); code != http.StatusOK {
		t.Errorf("unknown values: %d", code)
	}
	var n int
	r.db.Get(&n, `SELECT count(*) FROM rounds`)
	if n != 27 {
		t.Errorf("%d rounds", n)
	}
	// By volunteer and state.
	_, _, kims := page(t, off, r.srv.URL+"/rounds?volunteer="+itoa(r.otherVolntr.ID)+"&state=assigned")
	if !strings.Contains(kims, "1 round matches.") || !strings.Contains(kims, r.rounds[1].Name) {
		t.Errorf("Kim's rounds:\n%s", kims)
	}

	vol := signInAt(t, r.srv.URL, "sam@volunteers.example")
	_, _, mine := page(t, vol, r.srv.URL+"/rounds?volunteer=none")
	if strings.Contains(mine, "Extra") || !strings.Contains(mine, r.rounds[0].Name) || strings.Contains(mine, `id="f-campaign"`) {
		t.Errorf("a volunteer's rounds:\n%s", mine)
	}
}

// TestRoundAndLeafletPagesAreOfficersOwn: volunteers cannot print, assign or unassign,
// and reach another volunteer's round in no way; the leaflets page's live part tells a
// signed-out browser so, instead of redirecting it.
func TestRoundAndLeafletPagesAreOfficersOwn(t *testing.T) {
	r := newAppRig(t)
	leaflets := r.srv.URL + "/campaigns/" + itoa(r.campaignID) + "/leaflets"
	anon := r.client(t)
	if code, loc, _ := page(t, anon, leaflets); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
		t.Errorf("anonymous leaflets page: %d %q", code, loc)
	}
	req, _ := http.NewRequest("GET", leaflets+"/live", nil)
	req.Header.Set("X-Crier-Live", "1")
	res, err := anon.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if b := body(t, res); res.StatusCode != http.StatusOK || !strings.Contains(b, "You are signed out") || !strings.Contains(b, "data-live-done") {
		t.Errorf("signed-out live part: %d %s", res.StatusCode, b)
	}

	vol := signInAt(t, r.srv.URL, "sam@volunteers.example")
	_, _, own := page(t, vol, r.srv.URL+"/rounds/"+itoa(r.rounds[0].ID))
	csrf := csrfRE.FindStringSubmatch(own)[1]
	if strings.Contains(own, `action="/rounds/`+itoa(r.rounds[0].ID)+`/assign"`) {
		t.Error("a volunteer is offered the assignment form")
	}
	for _, p := range []string{leaflets, leaflets + "/live"} {
		if code, _, _ := page(t, vol, p); code != http.StatusForbidden {
			t.Errorf("volunteer GET %s: %d", p, code)
		}
	}
	for _, p := range []string{leaflets, "/rounds/" + itoa(r.rounds[0].ID) + "/assign", "/rounds/" + itoa(r.rounds[0].ID) + "/unassign"} {
		if !strings.HasPrefix(p, "http") {
			p = r.srv.URL + p
		}
		res, _ := vol.PostForm(p, url.Values{"csrf": {csrf}, "volunteer": {itoa(r.volunteer.ID)}, "format": {"a5"}, "round_size": {"5"}})
		if body(t, res); res.StatusCode != http.StatusForbidden {
			t.Errorf("volunteer POST %s: %d", p, res.StatusCode)
		}
	}
	other := r.srv.URL + "/rounds/" + itoa(r.rounds[1].ID)
	for _, p := range []string{other + "/sheet.pdf", other + "/rest"} {
		if code, _, _ := page(t, vol, p); code != http.StatusNotFound {
			t.Errorf("another volunteer's %s: %d", p, code)
		}
	}
	res, _ = vol.PostForm(other+"/rest", url.Values{"csrf": {csrf}, "expect": {"1"}})
	if body(t, res); res.StatusCode != http.StatusNotFound {
		t.Errorf("marking the rest of another volunteer's round: %d", res.StatusCode)
	}
	var n int
	r.db.Get(&n, `SELECT count(*) FROM print_jobs`)
	if n != 0 {
		t.Errorf("%d print jobs after refused presses", n)
	}
}

// TestRoundSheetReprintKeepsNotesAndTown: the round sheet printed again from the web names
// the volunteer, what has been delivered, the LARGE PRINT note and the town.
func TestRoundSheetReprintKeepsNotesAndTown(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext is missing: install poppler-utils")
	}
	r := newAppRig(t)
	if _, err := r.db.Exec(`UPDATE round_stops SET large_print = true WHERE round_id = $1 AND seq = 2`, r.rounds[0].ID); err != nil {
		t.Fatal(err)
	}
	vol := signInAt(t, r.srv.URL, "sam@volunteers.example")
	own := r.srv.URL + "/rounds/" + itoa(r.rounds[0].ID)
	_, _, roundPage := page(t, vol, own)
	if !strings.Contains(roundPage, "LARGE PRINT leaflet") {
		t.Error("the round page hides the LARGE PRINT note")
	}
	csrf := csrfRE.FindStringSubmatch(roundPage)[1]
	res, _ := vol.PostForm(own+"/doors/1", url.Values{"outcome": {"delivered"}, "csrf": {csrf}})
	body(t, res)
	res, err := vol.Get(own + "/sheet.pdf")
	if err != nil {
		t.Fatal(err)
	}
	pdf := body(t, res)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(pdf, "%PDF-") || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("sheet: %d %q", res.StatusCode, res.Header.Get("Content-Disposition"))
	}
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = strings.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Sam Volunteer", "Delivered", "LARGE PRINT", "London"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the sheet lacks %q:\n%s", want, out)
		}
	}
}

// TestLeafletsPageNamesUnprintableDoors: a print run the font cannot print ends with
// the doors listed (read again, not stored) and what to do; nothing is printed.
func TestLeafletsPageNamesUnprintableDoors(t *testing.T) {
	r := newAppRig(t)
	ctx := t.Context()
	cs := campaign.NewStore(r.db, nil)
	c := &campaign.Campaign{Name: "Road works", Purpose: "service", ChannelOrder: []string{"post"},
		LeafletTitle: "Road works", LeafletBody: "The road is closed in May."}
	if err := cs.Create(ctx, c, "general", "jo"); err != nil {
		t.Fatal(err)
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "jo", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.StartDue(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.db.Exec(`UPDATE addresses SET street = 'Coldharbour Lane 中' WHERE street = 'Coldharbour Lane'`); err != nil {
		t.Fatal(err)
	}
	off := signInAt(t, r.srv.URL, "jo@council.example")
	leaflets := r.srv.URL + "/campaigns/" + itoa(c.ID) + "/leaflets"
	_, _, form := page(t, off, leaflets)
	csrf := csrfRE.FindStringSubmatch(form)[1]
	res, _ := off.PostForm(leaflets, url.Values{"csrf": {csrf}, "format": {"a5"}, "round_size": {"150"}})
	if body(t, res); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("print: %d", res.StatusCode)
	}
	var status string
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for status != "failed" {
		select {
		case <-deadline:
			t.Fatalf("the print job is %q after 20 s", status)
		case <-tick.C:
			r.db.Get(&status, `SELECT status FROM print_jobs WHERE campaign_id = $1`, c.ID)
		}
	}
	var stored string
	r.db.Get(&stored, `SELECT error FROM print_jobs WHERE campaign_id = $1`, c.ID)
	if strings.Contains(stored, "Coldharbour") {
		t.Errorf("the job's error stores an address: %q", stored)
	}
	_, _, got := page(t, off, leaflets)
	if !strings.Contains(got, "1 door has characters the leaflet font cannot print") {
		t.Errorf("no explanation:\n%s", got)
	}
	if !strings.Contains(got, "Coldharbour Lane 中") || !strings.Contains(got, "Correct or transliterate them") {
		t.Errorf("the page doesn't name the door or what to do:\n%s", got)
	}
	var printed int
	r.db.Get(&printed, `SELECT count(*) FROM print_runs WHERE campaign_id = $1`, c.ID)
	if printed != 0 {
		t.Errorf("%d print runs made", printed)
	}
}

// TestLeafletsPageWithoutALeaflet: a campaign without the post channel says so and
// prints nothing; a campaign that isn't is not found.
func TestLeafletsPageWithoutALeaflet(t *testing.T) {
	r := newAppRig(t)
	c := &campaign.Campaign{Name: "Email only", Purpose: "service", ChannelOrder: []string{"email"},
		EmailSubject: "Hello", EmailBody: "Hello."}
	if err := campaign.NewStore(r.db, nil).Create(t.Context(), c, "general", "jo"); err != nil {
		t.Fatal(err)
	}
	off := signInAt(t, r.srv.URL, "jo@council.example")
	leaflets := r.srv.URL + "/campaigns/" + itoa(c.ID) + "/leaflets"
	code, _, got := page(t, off, leaflets)
	if code != http.StatusOK || !strings.Contains(got, `id="no-post"`) || strings.Contains(got, `id="print-button"`) {
		t.Errorf("an email-only campaign's leaflets page (%d):\n%s", code, got)
	}
	csrf := csrfRE.FindStringSubmatch(got)[1]
	res, _ := off.PostForm(leaflets, url.Values{"csrf": {csrf}, "format": {"a5"}, "round_size": {"150"}})
	if b := body(t, res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b, "This campaign has no leaflet") {
		t.Errorf("printing it: %d", res.StatusCode)
	}
	var jobs int
	r.db.Get(&jobs, `SELECT count(*) FROM print_jobs`)
	if jobs != 0 {
		t.Errorf("%d print jobs", jobs)
	}
	for _, p := range []string{"/campaigns/999999/leaflets", "/campaigns/Email%20only/leaflets"} {
		if code, _, _ := page(t, off, r.srv.URL+p); code != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, code)
		}
	}
}
