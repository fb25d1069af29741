package dispatch_test

import (
	"context"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/sandbox"
	"github.com/crierhq/crier/internal/sms"
)

// binDayCyEn is a campaign file in Welsh and English, written as an officer in Wales
// would: Welsh first (the default), the texts per language in the front matter and the
// e-bulletins as Pandoc fenced divs.
const binDayCyEn = `---
name: Bin day (cy/en)
purpose: service
strategy: all
channels: [email, sms]
languages: [cy, en]
subject:
  cy: "{{first_name}}, mae eich diwrnod bin yn newid"
  en: "{{first_name}}, your bin day is changing"
sms:
  cy: "Helo {{first_name}}, o fis Ionawr bydd y biniau'n cael eu casglu ar ddydd Mawrth."
  en: "Hi {{first_name}}, from January bins are collected on Tuesdays."
---
::: {lang=cy}
# Mae eich diwrnod bin yn newid

Annwyl {{first_name}},

O fis Ionawr byddwn ni'n casglu eich biniau ar **ddydd Mawrth**.
:::

::: {lang=en}
# Your bin day is changing

Dear {{first_name}},

From January we will collect your bins on **Tuesday**.
:::
`

// TestCampaignInWelshAndEnglish sends a campaign written in Welsh and English to a
// borough whose residents read Welsh, English or Polish, by email through a real SMTP
// server and by text through the Twilio sandbox, then once more in bilingual mode. Each
// resident gets their own language (Polish readers the default, Welsh), with lang and
// the footer's words to match; in bilingual mode everyone gets both, their own first.
func TestCampaignInWelshAndEnglish(t *testing.T) {
	r := newRig(t, 60, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A third read Welsh, a third English, a third Polish (not a language of the campaign).
	if _, err := r.db.Exec(`UPDATE contacts SET preferred_language = (ARRAY['cy','en','pl'])[1 + id % 3]`); err != nil {
		t.Fatal(err)
	}
	tw, err := sandbox.StartTwilio(ctx, sandbox.TwilioConfig{AccountSID: twAccount, AuthToken: twToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tw.Close() })
	texts, err := sms.NewTwilioSender(sms.TwilioConfig{AccountSID: twAccount, AuthToken: twToken,
		From: "+447700900999", APIURL: tw.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := dispatch.New(dispatch.Config{Instance: "langs", Poll: 50 * time.Millisecond, Lease: 20 * time.Second,
		Channels: map[dispatch.Channel]dispatch.ChannelConfig{
			dispatch.Email: {Sender: r.sender, Composer: r.composer, Workers: 2, Batch: 20},
			dispatch.SMS:   {Sender: texts, Composer: sms.NewComposer(r.db), Workers: 2, Batch: 20},
		}}, outbox.NewStore(r.db), r.campaign)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	def, err := campaign.ParseFile("bins.md", []byte(binDayCyEn))
	if err != nil {
		t.Fatal(err)
	}
	c := &def.Campaign
	if err := r.campaign.Create(ctx, c, "general", "officer"); err != nil {
		t.Fatal(err)
	}
	// The count before sending: who gets which language, and who falls back.
	var want struct{ cy, en, pl int }
	r.db.Get(&want.cy, `SELECT count(*) FROM contacts c WHERE preferred_language = 'cy' AND EXISTS (SELECT 1 FROM contact_points p WHERE p.contact_id = c.id AND p.status = 'active' AND p.kind IN ('email', 'phone'))`)
	r.db.Get(&want.en, `SELECT count(*) FROM contacts c WHERE preferred_language = 'en' AND EXISTS (SELECT 1 FROM contact_points p WHERE p.contact_id = c.id AND p.status = 'active' AND p.kind IN ('email', 'phone'))`)
	r.db.Get(&want.pl, `SELECT count(*) FROM contacts c WHERE preferred_language = 'pl' AND EXISTS (SELECT 1 FROM contact_points p WHERE p.contact_id = c.id AND p.status = 'active' AND p.kind IN ('email', 'phone'))`)
	counts, err := r.campaign.CountLanguages(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 2 || counts[0].Lang != "cy" || counts[1].Lang != "en" || counts[0].FellBack == 0 || counts[1].FellBack != 0 ||
		counts[0].Residents-counts[0].FellBack > want.cy || counts[1].Residents > want.en {
		t.Fatalf("counts by language %+v; residents with a contact point: cy %d, en %d, pl %d", counts, want.cy, want.en, want.pl)
	}
	t.Logf("counts by language: %+v", counts)

	if err := r.campaign.Schedule(ctx, c.ID, time.Time{}, "officer", nil); err != nil {
		t.Fatal(err)
	}
	r.waitState(t, c.ID, campaign.Completed, 60*time.Second)

	// Every message is in its resident's language, or Welsh for a language the campaign
	// is not written in.
	langOf := r.languages(t)
	mails := r.smtp.Messages()
	if len(mails) == 0 {
		t.Fatal("no e-bulletins arrived")
	}
	for _, m := range mails {
		p := parseMessage(t, m.Data)
		pref := langOf.byEmail[m.To[0]]
		wantCy := pref != "en"
		subject := decodeSubject(t, p.header.Get("Subject"))
		switch {
		case wantCy && (!strings.Contains(subject, "mae eich diwrnod bin yn newid") || !strings.Contains(p.html, `<html lang="cy"`) ||
			!strings.Contains(p.html, "Dad-danysgrifio") || !strings.Contains(p.text, "O fis Ionawr byddwn ni'n casglu") ||
			strings.Contains(p.text, "Dear ")):
			t.Fatalf("a resident who reads %q got subject %q, html lang %q:\n%s", pref, subject, htmlLang(p.html), p.text)
		case !wantCy && (!strings.Contains(subject, "your bin day is changing") || !strings.Contains(p.html, `<html lang="en"`) ||
			!strings.Contains(p.html, ">Unsubscribe<") || strings.Contains(p.text, "Annwyl")):
			t.Fatalf("an English reader got subject %q, html lang %q:\n%s", subject, htmlLang(p.html), p.text)
		}
	}
	sent := tw.Messages()
	if len(sent) == 0 {
		t.Fatal("no texts were sent")
	}
	for _, m := range sent {
		pref := langOf.byPhone[m.To]
		if welsh := strings.HasPrefix(m.Body, "Helo "); welsh != (pref != "en") {
			t.Fatalf("a resident who reads %q got the text %q", pref, m.Body)
		}
	}

	// Bilingual: one message each, carrying both languages, the resident's own first.
	def, _ = campaign.ParseFile("bins.md", []byte(strings.Replace(strings.Replace(binDayCyEn, "languages: [cy, en]", "languages: [cy, en]\nbilingual: true", 1),
		"name: Bin day (cy/en)", "name: Bin day (bilingual)", 1)))
	b := &def.Campaign
	nMails, nTexts := len(mails), len(sent)
	r.start(t, b)
	r.waitState(t, b.ID, campaign.Completed, 60*time.Second)
	mails, sent = r.smtp.Messages()[nMails:], tw.Messages()[nTexts:]
	if len(mails) == 0 || len(sent) == 0 {
		t.Fatalf("bilingual: %d e-bulletins, %d texts", len(mails), len(sent))
	}
	for _, m := range mails {
		p := parseMessage(t, m.Data)
		pref := langOf.byEmail[m.To[0]]
		subject := decodeSubject(t, p.header.Get("Subject"))
		cy, en := strings.Index(p.text, "O fis Ionawr"), strings.Index(p.text, "From January")
		enFirst := pref == "en"
		if cy < 0 || en < 0 || (en < cy) != enFirst || !strings.Contains(subject, " / ") ||
			!strings.Contains(p.html, `<div lang="cy">`) || !strings.Contains(p.html, `<div lang="en">`) ||
			!strings.Contains(p.html, "Dad-danysgrifio / Unsubscribe") && !strings.Contains(p.html, "Unsubscribe / Dad-danysgrifio") {
			t.Fatalf("bilingual e-bulletin for a %q reader: subject %q\n%s", pref, subject, p.text)
		}
	}
	for _, m := range sent {
		pref := langOf.byPhone[m.To]
		cy, en := strings.Index(m.Body, "Helo "), strings.Index(m.Body, "Hi ")
		if cy < 0 || en < 0 || (en < cy) != (pref == "en") {
			t.Fatalf("bilingual text for a %q reader: %q", pref, m.Body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type residentLanguages struct{ byEmail, byPhone map[string]string }

// languages maps each resident's email address and mobile number to their language.
func (r *rig) languages(t *testing.T) residentLanguages {
	t.Helper()
	var rows []struct {
		Kind  string `db:"kind"`
		Value string `db:"value"`
		Lang  string `db:"preferred_language"`
	}
	if err := r.db.Select(&rows, `SELECT p.kind, p.value, c.preferred_language FROM contact_points p JOIN contacts c ON c.id = p.contact_id`); err != nil {
		t.Fatal(err)
	}
	out := residentLanguages{byEmail: map[string]string{}, byPhone: map[string]string{}}
	for _, x := range rows {
		switch x.Kind {
		case "email":
			out.byEmail[x.Value] = x.Lang
		case "phone":
			out.byPhone[x.Value] = x.Lang
		}
	}
	return out
}

func htmlLang(html string) string {
	_, after, _ := strings.Cut(html, "<html lang=")
	return after[:min(len(after), 8)]
}

func decodeSubject(t *testing.T, s string) string {
	t.Helper()
	out, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		t.Fatalf("subject %q: %v", s, err)
	}
	return out
}
