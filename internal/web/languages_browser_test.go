package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crierhq/crier/internal/campaign"
)

// TestBrowserCampaignInEachLanguage: an officer opens a draft written in Welsh and
// English and sees both side by side — how many residents get each, the subject, the
// text and the framed e-bulletin in each language, marked with its lang — and the
// plain-language check of the English text only. The page passes axe-core at 320 px.
func TestBrowserCampaignInEachLanguage(t *testing.T) {
	r := newEditorRig(t)
	// Efa and Cara read Welsh; Ada, Ben and Dev English.
	if _, err := r.db.Exec(`UPDATE contacts SET preferred_language = 'cy' WHERE first_name IN ('Efa', 'Cara')`); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	cs := campaign.NewStore(r.db, nil)
	c := &campaign.Campaign{Name: "Bin day (cy/en)", Purpose: "service", Strategy: "best", ChannelOrder: []string{"email", "sms"},
		Languages:    []string{"cy", "en"},
		EmailSubject: "Mae eich diwrnod bin yn newid", EmailBody: "Annwyl {{first_name}},\n\nBydd y biniau'n mynd allan ddydd Mawrth.",
		SMSBody: "Helo {{first_name}}, dydd Mawrth yw diwrnod y biniau.",
		Variants: map[string]campaign.Content{"en": {EmailSubject: "Your bin day is changing",
			EmailBody: "Dear {{first_name}},\n\nIn order to help us, bins go out on Tuesday.", SMSBody: "Hi {{first_name}}, bins go out on Tuesday."}}}
	if err := cs.Create(t.Context(), c, "general", r.officer); err != nil {
		t.Fatal(err)
	}
	edit := r.url + "/campaigns/" + itoa(c.ID) + "/edit"
	open(t, ctx, edit, 200)
	browse(t, ctx, "sign in as the officer",
		chromedp.SendKeys(chromedp.CSS("#email"), r.officer),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)

	if s := text(t, ctx, "#lang-subject-cy"); s != "Mae eich diwrnod bin yn newid" {
		t.Errorf("Welsh subject: %q", s)
	}
	if s := text(t, ctx, "#lang-sms-en"); s != "Hi Christopher, bins go out on Tuesday." {
		t.Errorf("English text: %q", s)
	}
	// Efa (email) and Cara (text) read Welsh; Ada (email), Ben (email; his SMS consent is
	// withdrawn) read English; Dev has no email or mobile.
	if s := text(t, ctx, "#lang-count-cy"); s != "2 residents" {
		t.Errorf("Welsh count: %q", s)
	}
	if s := text(t, ctx, "#lang-count-en"); s != "2 residents" {
		t.Errorf("English count: %q", s)
	}
	if framed := editorFramedText(t, ctx, "/preview/email?lang=en"); !strings.Contains(framed, "Dear Christopher") || !strings.Contains(framed, "Unsubscribe") {
		t.Errorf("framed English e-bulletin: %q", framed)
	}
	if framed := editorFramedText(t, ctx, "/preview/email?lang=cy"); !strings.Contains(framed, "Annwyl Christopher") || !strings.Contains(framed, "Dad-danysgrifio") {
		t.Errorf("framed Welsh e-bulletin: %q", framed)
	}
	type langs struct {
		Sections []string `json:"sections"`
		Plain    string   `json:"plain"`
	}
	l := evaluate[langs](t, ctx, "read the languages", `({
		sections: [...document.querySelectorAll('.languages > section')].map(s => s.lang + ':' + s.dir),
		plain: document.querySelector('#reading-ease')?.textContent ?? ''})`)
	if strings.Join(l.Sections, ",") != "cy:ltr,en:ltr" || !strings.Contains(l.Plain, "Reading ease") {
		t.Errorf("languages %v; plain-language check %q", l.Sections, l.Plain)
	}
	if strings.Contains(text(t, ctx, "#jargon"), "Bydd") {
		t.Error("the plain-language check read the Welsh text")
	}
	checkPage(t, ctx, "campaign in Welsh and English")

	// Its public page (where the leaflets' QR code leads) carries both languages, each
	// marked with its own, the page in the default (Welsh).
	if _, err := r.db.Exec(`UPDATE campaigns SET state = 'completed' WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	open(t, ctx, r.url+"/c/"+itoa(c.ID), 200)
	type public struct {
		Lang     string   `json:"lang"`
		Sections []string `json:"sections"`
		Nav      string   `json:"nav"`
	}
	p := evaluate[public](t, ctx, "read the public page", `({lang: document.documentElement.lang,
		sections: [...document.querySelectorAll('main section')].map(s => s.lang + ':' + s.querySelector('h2').textContent),
		nav: document.querySelector('nav[aria-label=Languages]')?.textContent.trim() ?? ''})`)
	if p.Lang != "cy" || strings.Join(p.Sections, "|") != "cy:Bin day (cy/en)|en:Bin day (cy/en)" || !strings.Contains(p.Nav, "Cymraeg") {
		t.Errorf("public page: %+v", p)
	}
	if s := text(t, ctx, "#lang-en"); !strings.Contains(s, "Dear resident") {
		t.Errorf("English part of the public page: %q", s)
	}
	checkPage(t, ctx, "public page in Welsh and English")
}
