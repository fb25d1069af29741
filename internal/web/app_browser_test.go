package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
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
	submit(t, ctx, "#door-1 form:first-of-type button", 200)
	if s := text(t, ctx, "#door-1 .state"); s != "Delivered" {
		t.Errorf("door 1 after the tap: %q", s)
	}
	// Door 2: not delivered, with a reason from the list.
	browse(t, ctx, "choose a reason", chromedp.SetValue(chromedp.CSS("#reason-2"), "No letterbox"))
	submit(t, ctx, "#door-2 form:nth-of-type(2) button", 200)
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
