package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crierhq/crier/internal/campaign"
)

// TestBrowserOfficerChangesCopiesAndDeletesADraft: in headless Chromium an officer opens a
// draft, changes it and sees the change in the previews, gets the errors of a bad save
// and of a save over someone else's, copies it and deletes the copy after confirming.
// Every page passes axe-core, fits a phone, and starts with a visible focus; the framed
// e-bulletin shows when it has the focus.
func TestBrowserOfficerChangesCopiesAndDeletesADraft(t *testing.T) {
	r := newEditorRig(t)
	ctx := newBrowser(t)
	cs := campaign.NewStore(r.db, nil)
	c := &campaign.Campaign{Name: "Bin day changes", Purpose: "service", Strategy: "best", ChannelOrder: []string{"email", "sms"},
		EmailSubject: "Your bin day is changing", EmailBody: "Dear {{first_name}},\n\nBins go out on Tuesday.",
		SMSBody: "Hi {{first_name}}, bins go out on Tuesday."}
	if err := cs.Create(t.Context(), c, "general", r.officer); err != nil {
		t.Fatal(err)
	}
	edit := r.url + "/campaigns/" + itoa(c.ID) + "/edit"

	open(t, ctx, edit, 200) // by way of signing in
	browse(t, ctx, "sign in as the officer",
		chromedp.SendKeys(chromedp.CSS("#email"), r.officer),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "Bin day changes" {
		t.Fatalf("after signing in: %q", h)
	}
	checkPage(t, ctx, "draft with its change form")

	// The framed e-bulletin shows a focus indicator when it has the focus.
	type ring struct {
		Focused bool   `json:"focused"`
		Outline string `json:"outline"`
		Title   string `json:"title"`
	}
	f := evaluate[ring](t, ctx, "focus the framed e-bulletin", `(() => {
		const f = document.querySelector('.preview iframe');
		f.focus();
		const cs = getComputedStyle(f);
		return {focused: document.activeElement === f, outline: cs.outlineStyle + ' ' + cs.outlineWidth, title: f.title};
	})()`)
	if !f.Focused || !strings.HasPrefix(f.Outline, "solid 3px") || !strings.Contains(f.Title, "Your bin day is changing") {
		t.Errorf("the framed e-bulletin with the focus: %+v", f)
	}

	// Change the text message and the e-bulletin; the previews show them.
	evaluate[chromedp.Void](t, ctx, "clear the texts", `document.querySelector('#sms_body').value = ''; document.querySelector('#email_body').value = ''`)
	browse(t, ctx, "change the draft",
		chromedp.SendKeys(chromedp.CSS("#sms_body"), "Hi {{first_name}}, bins now go out on WEDNESDAY."),
		chromedp.SendKeys(chromedp.CSS("#email_body"), "Dear {{first_name}},\n\nBins now go out on Wednesday.\n\n<center>Thank you</center>"))
	submit(t, ctx, "#save", 200)
	if s := text(t, ctx, ".notice"); s != "Saved. The previews below show the changes." {
		t.Errorf("after saving: %q", s)
	}
	if s := text(t, ctx, "#sms-text"); s != "Hi Christopher, bins now go out on WEDNESDAY." {
		t.Errorf("text message preview: %q", s)
	}
	if framed := editorFramedText(t, ctx, "/preview/email"); !strings.Contains(framed, "Bins now go out on Wednesday.") || strings.Contains(framed, "Thank you") {
		t.Errorf("framed e-bulletin after the change: %q", framed)
	}
	if s := text(t, ctx, ".html-warning"); !strings.Contains(s, "Line 5: <center>Thank you</center>") {
		t.Errorf("HTML warning: %q", s)
	}

	// A bad save: the errors, the form as typed.
	evaluate[chromedp.Void](t, ctx, "empty the name", `document.querySelector('#name').value = ''`)
	submit(t, ctx, "#save", 422)
	if s := text(t, ctx, "#error-summary"); !strings.Contains(s, "Enter a name for the campaign") {
		t.Errorf("error summary: %q", s)
	}
	checkPage(t, ctx, "change form with errors")

	// Someone else saves meanwhile: this save is refused, and says so.
	other, err := cs.Get(t.Context(), itoa(c.ID))
	if err != nil {
		t.Fatal(err)
	}
	other.Name = "Bin day changes (Sam)"
	if err := cs.Update(t.Context(), other, "general", other.UpdatedAt); err != nil {
		t.Fatal(err)
	}
	browse(t, ctx, "name it again", chromedp.SendKeys(chromedp.CSS("#name"), "Bin day changes (Jo)"))
	submit(t, ctx, "#save", 409)
	if s := text(t, ctx, "#error-summary"); !strings.Contains(s, "Someone else changed this campaign at ") || !strings.Contains(s, "Reload to see their changes.") {
		t.Errorf("stale save: %q", s)
	}
	if v := evaluate[string](t, ctx, "the name as typed", `document.querySelector('#name').value`); v != "Bin day changes (Jo)" {
		t.Errorf("the name after a stale save: %q", v)
	}
	checkPage(t, ctx, "change form saved over by someone else")
	submit(t, ctx, "#stale a", 200)
	if h := text(t, ctx, "h1"); h != "Bin day changes (Sam)" {
		t.Errorf("after reloading: %q", h)
	}

	// Copy it, then delete the copy.
	submit(t, ctx, "#duplicate", 200)
	if h := text(t, ctx, "h1"); h != "Copy of Bin day changes (Sam)" {
		t.Fatalf("after copying: %q", h)
	}
	if s := text(t, ctx, "#sms-text"); s != "Hi Christopher, bins now go out on WEDNESDAY." {
		t.Errorf("the copy's text message: %q", s)
	}
	submit(t, ctx, "#delete-link", 200)
	if h := text(t, ctx, "h1"); h != "Delete the draft ‘Copy of Bin day changes (Sam)’?" {
		t.Errorf("confirmation: %q", h)
	}
	if s := text(t, ctx, "#delete-warning"); !strings.HasPrefix(s, "This cannot be undone.") {
		t.Errorf("confirmation warning: %q", s)
	}
	checkPage(t, ctx, "delete confirmation")
	submit(t, ctx, "#delete", 200)
	if h := text(t, ctx, "h1"); h != "Campaigns" {
		t.Errorf("after deleting: %q", h)
	}
	if s := text(t, ctx, "#campaigns"); strings.Contains(s, "Copy of") || !strings.Contains(s, "Bin day changes (Sam)") {
		t.Errorf("the campaigns after deleting the copy: %q", s)
	}
	if s := text(t, ctx, "#notice"); !strings.HasPrefix(s, "The draft is deleted.") {
		t.Errorf("the notice after deleting: %q", s)
	}
	checkPage(t, ctx, "campaigns after a delete")
}
