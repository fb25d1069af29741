package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/outbox"
)

// resendRig is the editor's rig with an e-bulletin sent to Millbrook while the SMTP relay
// was unreachable: all but one of its messages failed after every attempt, one's outcome
// is unknown, and the email channel is still recorded down.
func resendRig(t *testing.T) (*editorRig, *campaign.Campaign) {
	t.Helper()
	r := newEditorRig(t)
	ctx := t.Context()
	cs := campaign.NewStore(r.db, nil)
	c := &campaign.Campaign{Name: "Bin day by email", Purpose: "service", ChannelOrder: []string{"email"},
		SegmentID: &r.segment, EmailSubject: "Your bin day is changing", EmailBody: "From January we collect on a **Tuesday**."}
	if err := cs.Create(ctx, c, "general", "jo"); err != nil {
		t.Fatal(err)
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "jo", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.StartDue(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	r.db.MustExec(`UPDATE outbox SET state = 'failed', attempt = max_attempts, reason = 'temporary failure: connection refused'
		WHERE campaign_id = $1 AND state = 'pending'`, c.ID)
	res := r.db.MustExec(`UPDATE outbox SET state = 'unknown', reason = 'lease expired' WHERE id = (SELECT min(id) FROM outbox WHERE campaign_id = $1 AND state = 'failed')`, c.ID)
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatal("no message to make unknown: the audience is empty")
	}
	if _, err := cs.FinishRuns(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.NewStore(r.db).RecordHealth(ctx, "email", outbox.Down, "connection refused", "serve-1"); err != nil {
		t.Fatal(err)
	}
	got, err := cs.Get(ctx, itoa(c.ID))
	if err != nil || got.State != campaign.Completed {
		t.Fatalf("campaign: %+v %v", got, err)
	}
	return r, got
}

// TestResendFromTheCampaignPage: the dashboard and the campaign page say the relay is
// unreachable; the campaign page offers to resend the failed messages (with what that
// means) and those of unknown outcome (ticking that some may arrive twice); both are
// for officers with the page's token; and the campaign goes back to sending.
func TestResendFromTheCampaignPage(t *testing.T) {
	r, c := resendRig(t)
	var failed int
	r.db.Get(&failed, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'failed'`, c.ID)
	if failed != 1 {
		t.Fatalf("%d failed messages; the wording below is for one", failed)
	}
	officer := r.signIn(t, r.officer)

	_, _, dash := page(t, officer, r.url+"/")
	txt := editorText(dash)
	if !strings.Contains(txt, "SMTP unreachable since ") || !strings.Contains(txt, "(connection refused); 0 messages waiting to retry.") ||
		!strings.Contains(txt, "Sending channels") || !strings.Contains(txt, "E-bulletin Unreachable (connection refused)") {
		t.Errorf("dashboard:\n%s", txt)
	}

	edit := "/campaigns/" + itoa(c.ID) + "/edit"
	_, _, doc := page(t, officer, r.url+edit)
	txt = editorText(doc)
	for _, want := range []string{
		"SMTP unreachable since ",
		"Resend failed messages 1 message to 1 resident failed after every attempt, for example while the email server could not be reached: it never arrived. Resending sends it again to that resident, now.",
		"Resend 1 message to 1 resident",
		"Resend messages of unknown outcome 1 message to 1 resident may or may not have arrived: the sender stopped before it heard back. Resending sends it again, now, so if that resident did get it, they will get it twice.",
		"Yes, resend it: the resident may get the message twice",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("campaign page lacks %q:\n%s", want, txt)
		}
	}
	csrf := r.csrf(t, officer, edit)

	// Not without the page's token, and not for a volunteer.
	if code, _, _ := editorPost(t, officer, r.url+"/campaigns/"+itoa(c.ID)+"/resend-failed", url.Values{}); code != http.StatusForbidden {
		t.Errorf("without the token: %d", code)
	}
	vol := r.signIn(t, r.volunteer)
	if code, _, _ := editorPost(t, vol, r.url+"/campaigns/"+itoa(c.ID)+"/resend-failed", url.Values{"csrf": {r.csrf(t, vol, "/rounds")}}); code != http.StatusForbidden {
		t.Errorf("as a volunteer: %d", code)
	}
	// Unknown ones need the box ticked.
	code, _, doc := editorPost(t, officer, r.url+"/campaigns/"+itoa(c.ID)+"/resend-unknown", url.Values{"csrf": {csrf}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(editorText(doc), "Tick the box to confirm some residents may get the message twice") {
		t.Errorf("resend unknown without confirming: %d", code)
	}

	code, loc, _ := editorPost(t, officer, r.url+"/campaigns/"+itoa(c.ID)+"/resend-failed", url.Values{"csrf": {csrf}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, edit+"?done=resend-failed") {
		t.Fatalf("resend failed: %d %q", code, loc)
	}
	_, _, doc = page(t, officer, r.url+loc)
	if txt := editorText(doc); !strings.Contains(txt, "1 failed message queued again: it goes to that resident again now") {
		t.Errorf("after resending:\n%s", txt)
	}
	var pending int
	r.db.Get(&pending, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'pending'`, c.ID)
	got, _ := campaign.NewStore(r.db, nil).Get(t.Context(), itoa(c.ID))
	if pending != failed || got.State != campaign.Sending {
		t.Errorf("after resending: %d pending (want %d), campaign %s", pending, failed, got.State)
	}
	code, loc, _ = editorPost(t, officer, r.url+"/campaigns/"+itoa(c.ID)+"/resend-unknown", url.Values{"csrf": {csrf}, "confirm": {"yes"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, edit+"?done=resend-unknown") {
		t.Fatalf("resend unknown: %d %q", code, loc)
	}
	if _, _, doc = page(t, officer, r.url+loc); !strings.Contains(editorText(doc), "1 message of unknown outcome queued again: some residents may get them twice.") {
		t.Errorf("after resending the unknown:\n%s", editorText(doc))
	}

	// A paused campaign is refused, with why.
	if err := campaign.NewStore(r.db, nil).Pause(t.Context(), c.ID, "jo"); err != nil {
		t.Fatal(err)
	}
	code, _, doc = editorPost(t, officer, r.url+"/campaigns/"+itoa(c.ID)+"/resend-failed", url.Values{"csrf": {csrf}})
	if code != http.StatusConflict || !strings.Contains(editorText(doc), "Its messages can't be resent: the campaign is paused. Resume it first") {
		t.Errorf("resend on a paused campaign: %d\n%s", code, editorText(doc))
	}
}

// TestBrowserResendFailed: in Chromium the officer reads the outage on the dashboard,
// resends the failed messages from the campaign page with the button, and both pages
// pass axe-core, the keyboard and the phone-width checks.
func TestBrowserResendFailed(t *testing.T) {
	r, c := resendRig(t)
	ctx := newBrowser(t)
	open(t, ctx, r.url+"/", 200) // by way of signing in
	browse(t, ctx, "sign in as the officer",
		chromedp.SendKeys(chromedp.CSS("#email"), r.officer),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	if s := text(t, ctx, ".health-down"); !strings.HasPrefix(s, "SMTP unreachable since ") {
		t.Errorf("dashboard banner: %q", s)
	}
	checkPage(t, ctx, "dashboard with the relay down")

	open(t, ctx, r.url+"/campaigns/"+itoa(c.ID)+"/edit?live=off", 200)
	if s := text(t, ctx, ".channel-health"); !strings.HasPrefix(s, "SMTP unreachable since ") {
		t.Errorf("campaign page: %q", s)
	}
	checkPage(t, ctx, "campaign page with failed messages")
	submit(t, ctx, "#resend-failed", 200)
	if s := text(t, ctx, ".notice"); !strings.Contains(s, "1 failed message queued again") {
		t.Errorf("after resending: %q", s)
	}
	if s := text(t, ctx, ".state-badge"); s != "Sending" {
		t.Errorf("state after resending: %q", s)
	}
}
