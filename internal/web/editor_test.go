package web_test

import (
	"bytes"
	"context"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/web"
)

// editorResidents: four in Millbrook, one in Riverside. Ada can be reached every way; Ben
// withdraws his SMS consent (newEditorRig); Cara has a mobile and no email; Dev only a
// postal address.
const editorResidents = `First name,Surname,Email,Mobile,House number,Street,Town,Postcode,Ward,Email consent,SMS consent
Ada,Lovelace,ada@example.org,07700 900101,1,Acre Lane,London,SW2 1RW,Millbrook,Yes,Yes
Ben,Okafor,ben@example.org,07700 900102,2,Acre Lane,London,SW2 1RW,Millbrook,Yes,No
Cara,Jones,,07700 900103,3,Acre Lane,London,SW2 1RW,Millbrook,,Yes
Dev,Patel,,,4,Acre Lane,London,SW2 1RW,Millbrook,,
Efa,Huws,efa@example.org,,1,Coldharbour Lane,London,SW9 8AB,Riverside,Yes,
`

// The policies the editor's pages are served with.
const (
	editorPagePolicy    = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' https: data:; style-src 'unsafe-inline'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	editorPreviewPolicy = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'; sandbox"
)

type editorRig struct {
	db        *sqlx.DB
	url       string
	officer   string
	volunteer string
	segment   int64 // Millbrook
}

// newEditorRig serves the editor on a fresh database; opts change the server's
// configuration first (a mail sender for test sends, a logger).
func newEditorRig(t *testing.T, opts ...func(*web.Config)) *editorRig {
	t.Helper()
	ctx := t.Context()
	d := dbtest.New(t)
	path := filepath.Join(t.TempDir(), "residents.csv")
	if err := os.WriteFile(path, []byte(editorResidents), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := contact.NewStore(d, nil).Import(ctx, contact.ImportOptions{Path: path, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`INSERT INTO topics (slug, name) VALUES ('roads', 'Roads and transport')`); err != nil {
		t.Fatal(err)
	}
	// Ben withdrew his SMS consent (a "No" in a first import records nothing).
	if _, err := d.Exec(`INSERT INTO consents (contact_point_id, topic_id, status, source)
		SELECT cp.id, t.id, 'withdrawn', 'SMS STOP' FROM contact_points cp JOIN contacts c ON c.id = cp.contact_id, topics t
		 WHERE c.first_name = 'Ben' AND cp.kind = 'phone' AND t.slug = 'general'`); err != nil {
		t.Fatal(err)
	}
	seg, err := segment.NewStore(d).Create(ctx, "Millbrook", "Residents of Millbrook ward",
		segment.Rule{Field: "ward", Op: "eq", Value: "Millbrook"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	r := &editorRig{db: d, officer: "jo@council.example", volunteer: "sam@volunteers.example", segment: seg.ID}
	as := auth.NewStore(d)
	as.Cost = bcrypt.MinCost
	if _, err := as.Add(ctx, r.officer, "Jo Officer", auth.Officer, appPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := as.Add(ctx, r.volunteer, "Sam Volunteer", auth.Volunteer, appPassword); err != nil {
		t.Fatal(err)
	}
	signer, _ := email.NewSigner(bytes.Repeat([]byte("e"), 32))
	app := &web.App{Auth: as, Rounds: printrun.NewStore(d), Inbox: inbox.NewStore(d, inbox.Config{}, nil),
		SMSPrice: 0.05, PublicURL: "https://crier.example.gov.uk"}
	cfg := web.Config{DB: d, Signer: signer,
		Branding: email.Branding{OrgName: "Millbrook Council", FooterAddress: "Town Hall\n1 High Street\nLondon SW2 1RW"},
		App:      app}
	for _, o := range opts {
		o(&cfg)
	}
	ws, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// signIn returns a client signed in as email that does not follow redirects.
func (r *editorRig) signIn(t *testing.T, email string) *http.Client {
	return signInAt(t, r.url, email)
}

// csrf reads the CSRF token from the page at path.
func (r *editorRig) csrf(t *testing.T, c *http.Client, path string) string {
	t.Helper()
	code, _, doc := page(t, c, r.url+path)
	m := csrfRE.FindStringSubmatch(doc)
	if code != http.StatusOK || m == nil {
		t.Fatalf("GET %s: %d, no CSRF token", path, code)
	}
	return m[1]
}

// post sends form to path and returns the status, the location and the body.
func editorPost(t *testing.T, c *http.Client, u string, form url.Values) (int, string, string) {
	t.Helper()
	res, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, res)
	return res.StatusCode, res.Header.Get("Location"), b
}

// editorGoodForm is a campaign on every channel to Millbrook, with a poll.
func editorGoodForm(csrf string, segmentID int64) url.Values {
	return url.Values{
		"csrf": {csrf}, "name": {"Bin day changes"}, "topic": {"general"}, "purpose": {"service"},
		"segment": {strconv.FormatInt(segmentID, 10)}, "channel": {"email", "sms", "post"},
		"order": {"sms,email,post"}, "strategy": {"best"},
		"email_subject": {"Your bin day is changing, {{first_name}}"},
		"email_body":    {"Dear {{first_name}},\r\n\r\nFrom January we collect your bins on a **Tuesday**.\r\n\r\nIn order to help us, please put them out by 7am."},
		"sms_body":      {"Hi {{first_name}}, your bin day changes to Tuesday from January. Will you come to the drop-in?"},
		"leaflet_title": {"Your bin day is changing"},
		"poll_question": {"Will you come to the drop-in?"},
		"poll_key_1":    {"YES"}, "poll_key_2": {"NO"},
	}
}

var (
	editorIDRE    = regexp.MustCompile(`^/campaigns/(\d+)/edit\?done=created$`)
	editorStyleRE = regexp.MustCompile(`(?s)<style>.*?</style>`)
	editorTagRE   = regexp.MustCompile(`<[^>]*>`)
	editorSpaceRE = regexp.MustCompile(`\s+`)
)

// editorText is a page's text, tags dropped and spaces collapsed.
func editorText(doc string) string {
	return strings.TrimSpace(editorSpaceRE.ReplaceAllString(html.UnescapeString(editorTagRE.ReplaceAllString(editorStyleRE.ReplaceAllString(doc, ""), " ")), " "))
}

func editorCount(t *testing.T, d *sqlx.DB) int {
	t.Helper()
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM campaigns`); err != nil {
		t.Fatal(err)
	}
	return n
}

// create posts form and returns the new campaign's id.
func (r *editorRig) create(t *testing.T, c *http.Client, form url.Values) int64 {
	t.Helper()
	code, loc, doc := editorPost(t, c, r.url+"/campaigns/new", form)
	m := editorIDRE.FindStringSubmatch(loc)
	if code != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d → %q\n%s", code, loc, editorText(doc))
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func TestEditorRefusesABadMergeField(t *testing.T) {
	r := newEditorRig(t)
	c := r.signIn(t, r.officer)
	form := editorGoodForm(r.csrf(t, c, "/campaigns/new"), r.segment)
	form.Set("email_body", "Dear {{frist_name}},\n\nYour bin day is changing.")
	code, _, doc := editorPost(t, c, r.url+"/campaigns/new", form)
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("bad merge field: %d", code)
	}
	txt := editorText(doc)
	for _, want := range []string{"There is a problem", `Line 1: unknown merge field "frist_name" (did you mean first_name?)`} {
		if !strings.Contains(txt, want) {
			t.Errorf("the page does not say %q:\n%s", want, txt)
		}
	}
	// The summary links to the field, which says what is wrong and is marked invalid.
	if !strings.Contains(doc, `<a href="#email_body">`) || !strings.Contains(doc, `id="email_body-error"`) ||
		!regexp.MustCompile(`<textarea id="email_body" name="email_body" rows="12" aria-describedby="email_body-hint email_body-error" aria-invalid="true">`).MatchString(doc) {
		t.Errorf("the error is not tied to the e-bulletin's text:\n%s", doc)
	}
	if !strings.Contains(doc, `<title>Error: Write a campaign`) {
		t.Error("the page title does not start with Error:")
	}
	// What was typed is kept.
	for _, kept := range []string{`value="Bin day changes"`, `Dear {{frist_name}},`, `value="Will you come to the drop-in?"`,
		`id="channel-sms" name="channel" value="sms" checked`, `id="purpose-service" name="purpose" value="service" aria-describedby="purpose-service-hint" checked`,
		`<option value="` + strconv.FormatInt(r.segment, 10) + `" selected>Millbrook</option>`, `<option value="sms,email,post" selected>`} {
		if !strings.Contains(html.UnescapeString(doc), kept) {
			t.Errorf("the form lost %q", kept)
		}
	}
	if n := editorCount(t, r.db); n != 0 {
		t.Errorf("%d campaigns created", n)
	}

	// A merge field in the subject and in the text message, too.
	form = editorGoodForm(form.Get("csrf"), r.segment)
	form.Set("email_subject", "Hello {{surnme}}")
	form.Set("sms_body", "Hi {{firstname}}")
	code, _, doc = editorPost(t, c, r.url+"/campaigns/new", form)
	txt = editorText(doc)
	if code != http.StatusUnprocessableEntity || !strings.Contains(txt, `Unknown merge field "surnme"`) ||
		!strings.Contains(txt, `Unknown merge field "firstname" (did you mean first_name?)`) ||
		!strings.Contains(doc, `<a href="#email_subject">`) || !strings.Contains(doc, `<a href="#sms_body">`) {
		t.Errorf("merge fields in the subject and the SMS: %d\n%s", code, txt)
	}
	if n := editorCount(t, r.db); n != 0 {
		t.Errorf("%d campaigns created", n)
	}
}

func TestEditorFormListsEveryProblem(t *testing.T) {
	r := newEditorRig(t)
	c := r.signIn(t, r.officer)
	csrf := r.csrf(t, c, "/campaigns/new")
	for _, tc := range []struct {
		name    string
		form    url.Values
		anchors []string
		says    []string
	}{
		{"empty", url.Values{"csrf": {csrf}, "topic": {"general"}, "order": {"email,sms,post"}, "strategy": {"best"}},
			[]string{"name", "purpose-service", "channel-email"},
			[]string{"Enter a name for the campaign", "Choose whether this is a service message or marketing", "Choose at least one way to send it"}},
		{"chosen channels without content", url.Values{"csrf": {csrf}, "name": {"x"}, "topic": {"general"}, "purpose": {"marketing"},
			"channel": {"email", "sms", "post"}, "order": {"email,sms,post"}, "strategy": {"all"}},
			[]string{"email_subject", "email_body", "sms_body", "leaflet_body"},
			[]string{"Write the e-bulletin's subject", "Write the e-bulletin's text", "Write the text message", "Write the leaflet's text"}},
		{"a poll without a text message", url.Values{"csrf": {csrf}, "name": {"x"}, "topic": {"general"}, "purpose": {"service"},
			"channel": {"email"}, "order": {"email,sms,post"}, "strategy": {"best"}, "email_subject": {"S"}, "email_body": {"B"},
			"poll_question": {"Which day?"}, "poll_label_1": {"Tuesday"}, "poll_key_2": {"STOP"}, "poll_label_2": {"Thursday"}},
			[]string{"poll_question", "poll_key_2"},
			[]string{"A poll is answered by text", `Answer 2 ("Thursday"): key "STOP" is an opt-out keyword`}},
		{"a leaflet the font can't print", url.Values{"csrf": {csrf}, "name": {"x"}, "topic": {"general"}, "purpose": {"service"},
			"channel": {"post"}, "order": {"email,sms,post"}, "strategy": {"best"}, "leaflet_title": {"Hello {{first_name}}"},
			"leaflet_body": {"Bins 🗑 on Tuesday"}},
			[]string{"leaflet_title", "leaflet_body"},
			[]string{"The leaflet's title: merge field {{first_name}}", "The leaflet: characters the leaflet font cannot print"}},
		{"an unknown topic and segment", url.Values{"csrf": {csrf}, "name": {"x"}, "topic": {"nope"}, "purpose": {"service"},
			"segment": {"999999"}, "channel": {"sms"}, "order": {"email,sms,post"}, "strategy": {"best"}, "sms_body": {"Hi"}},
			[]string{"topic", "segment"},
			[]string{"Choose the topic the campaign is about", "Choose one of the segments, or everyone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, doc := editorPost(t, c, r.url+"/campaigns/new", tc.form)
			if code != http.StatusUnprocessableEntity {
				t.Fatalf("%d", code)
			}
			txt := editorText(doc)
			for _, a := range tc.anchors {
				if !strings.Contains(doc, `<a href="#`+a+`">`) {
					t.Errorf("no link to #%s in the error summary", a)
				}
				if !strings.Contains(doc, `id="`+a+`"`) {
					t.Errorf("the summary links to #%s, which is not on the page", a)
				}
			}
			for _, s := range tc.says {
				if !strings.Contains(txt, s) {
					t.Errorf("the page does not say %q:\n%s", s, txt)
				}
			}
		})
	}
	if n := editorCount(t, r.db); n != 0 {
		t.Errorf("%d campaigns created", n)
	}
}

func TestEditorCreatesAndPreviewsACampaign(t *testing.T) {
	r := newEditorRig(t)
	c := r.signIn(t, r.officer)
	id := r.create(t, c, editorGoodForm(r.csrf(t, c, "/campaigns/new"), r.segment))

	got, err := campaign.NewStore(r.db, nil).Get(t.Context(), strconv.FormatInt(id, 10))
	if err != nil {
		t.Fatal(err)
	}
	if got.State != campaign.Draft || got.Name != "Bin day changes" || got.Topic != "general" || got.Purpose != "service" ||
		got.Strategy != "best" || !slices.Equal(got.ChannelOrder, []string{"sms", "email", "post"}) ||
		!slices.Equal(got.Channels(), []string{"sms", "email", "post"}) || got.SegmentID == nil || *got.SegmentID != r.segment ||
		got.CreatedBy != r.officer || got.Urgent {
		t.Errorf("campaign: %+v", got)
	}
	wantBody := "Dear {{first_name}},\n\nFrom January we collect your bins on a **Tuesday**.\n\nIn order to help us, please put them out by 7am."
	if got.EmailSubject != "Your bin day is changing, {{first_name}}" || got.EmailBody != wantBody ||
		got.LeafletTitle != "Your bin day is changing" || got.LeafletBody != wantBody ||
		got.SMSBody != "Hi {{first_name}}, your bin day changes to Tuesday from January. Will you come to the drop-in?" {
		t.Errorf("content: %+v", got)
	}
	if got.Poll == nil || got.Poll.Question != "Will you come to the drop-in?" || len(got.Poll.Options) != 2 ||
		got.Poll.Options[0].Key != "YES" || got.Poll.Options[1].Key != "NO" {
		t.Errorf("poll: %+v", got.Poll)
	}

	// The page: previews of the three channels, the text measured, the plain-language
	// check and the reach.
	res, err := c.Get(r.url + "/campaigns/" + itoa(id) + "/edit?done=created")
	if err != nil {
		t.Fatal(err)
	}
	doc := body(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("edit page: %d", res.StatusCode)
	}
	if csp := res.Header.Get("Content-Security-Policy"); csp != editorPagePolicy {
		t.Errorf("edit page CSP: %q", csp)
	}
	txt := editorText(doc)
	sms := "Hi Christopher, your bin day changes to Tuesday from January. Will you come to the drop-in? Reply YES or NO."
	for _, want := range []string{
		"Saved as a draft",
		"State Draft", "Audience Segment “Millbrook”", "Channels Text message (SMS), then E-bulletin, then Printed leaflet",
		"Subject: Your bin day is changing, Christopher",
		sms, strconv.Itoa(len(sms)) + " characters", "GSM-7", "1 segment of up to 160 characters",
		"2 texts, all in GSM-7 (1 segment each) — 2 segments, about £0.10 at £0.0500 a segment.",
		"The longest copy is 1 segment (101 characters in GSM-7).",
		"Reading ease of the e-bulletin:", `In order to "to"`,
		"Segment “Millbrook”: 4 residents", "E-bulletin 2", "Text message (SMS) 2", "Printed leaflet 4", "Only by leaflet 1",
		"withdrew consent for SMS 1",
		"Created as a draft",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("the page does not say %q:\n%s", want, txt)
		}
	}
	for _, want := range []string{
		`<iframe src="/campaigns/` + itoa(id) + `/preview/email" sandbox title="`,
		`/preview/leaflet.png?v=`, `" alt="Page 1 of the printed leaflet “Your bin day is changing”`,
		`action="/campaigns/` + itoa(id) + `/schedule"`, `action="/campaigns/` + itoa(id) + `/cancel"`,
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the page has no %s", want)
		}
	}
	for _, not := range []string{`http-equiv="refresh"`, `action="/campaigns/` + itoa(id) + `/pause"`, `action="/campaigns/` + itoa(id) + `/resume"`} {
		if strings.Contains(doc, not) {
			t.Errorf("a draft's page has %s", not)
		}
	}

	// The e-bulletin preview: the sample resident's, under a policy that lets only this
	// site frame it and runs no script.
	res, err = c.Get(r.url + "/campaigns/" + itoa(id) + "/preview/email")
	if err != nil {
		t.Fatal(err)
	}
	mail := body(t, res)
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("email preview: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if csp != editorPreviewPolicy || strings.Contains(csp, "script") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("email preview CSP: %q", csp)
	}
	if !strings.Contains(mail, "Dear Christopher,") || !strings.Contains(mail, "<strong>Tuesday</strong>") ||
		!strings.Contains(mail, `href="#unsubscribe"`) || strings.Contains(mail, "{{") || !strings.Contains(mail, "This is a service message from Millbrook Council") {
		t.Errorf("email preview:\n%s", mail)
	}

	// The leaflet preview: page 1 as a PNG.
	res, err = c.Get(r.url + "/campaigns/" + itoa(id) + "/preview/leaflet.png")
	if err != nil {
		t.Fatal(err)
	}
	png := body(t, res)
	if _, lookErr := exec.LookPath("pdftoppm"); lookErr != nil && os.Getenv("CI") != "true" {
		t.Logf("no pdftoppm: leaflet preview %d not checked", res.StatusCode)
	} else if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(png, "\x89PNG\r\n\x1a\n") || len(png) < 1000 {
		t.Errorf("leaflet preview: %d %s, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(png))
	}

	// Other campaigns: none, or an unknown one.
	for _, p := range []string{"/campaigns/999999/edit", "/campaigns/x/edit", "/campaigns/999999/preview/email", "/campaigns/999999/preview/leaflet.png"} {
		if code, _, _ := page(t, c, r.url+p); code != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, code)
		}
	}
}

// A text with a curly apostrophe and an emoji goes as UCS-2, in more segments, with the
// warning the CLI gives; a marketing campaign counts only residents who agreed.
func TestEditorMeasuresAUnicodeText(t *testing.T) {
	r := newEditorRig(t)
	c := r.signIn(t, r.officer)
	form := url.Values{"csrf": {r.csrf(t, c, "/campaigns/new")}, "name": {"Festival"}, "topic": {"general"},
		"purpose": {"marketing"}, "channel": {"sms"}, "order": {"email,sms,post"}, "strategy": {"best"},
		"sms_body": {"It’s the summer festival 🎉 on Saturday in the park, {{first_name}}: music, food and games for all the family from noon until eight in the evening."}}
	id := r.create(t, c, form)
	_, _, doc := page(t, c, r.url+"/campaigns/"+itoa(id)+"/edit")
	txt := editorText(doc)
	for _, want := range []string{"UCS-2 (Unicode)", "3 segments of up to 67 characters", "sent as Unicode (UCS-2)",
		`Replace "’" (U+2019) with "'"`, "Everyone: 5 residents",
		"2 texts, all in UCS-2 (3 segments each), because the text itself has characters outside the standard SMS alphabet — 6 segments, about £0.30 at £0.0500 a segment.",
		"The longest copy is 3 segments (136 characters in UCS-2): the text itself needs UCS-2.",
		"As marketing, it goes only to residents who agreed to hear about General", "withdrew consent for SMS 1"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the page does not say %q:\n%s", want, txt)
		}
	}
	if strings.Contains(doc, "<iframe") || strings.Contains(doc, "leaflet.png") {
		t.Error("an SMS-only campaign shows the e-bulletin or leaflet preview")
	}
	if code, _, _ := page(t, c, r.url+"/campaigns/"+itoa(id)+"/preview/email"); code != http.StatusNotFound {
		t.Errorf("email preview of an SMS-only campaign: %d", code)
	}
	if code, _, _ := page(t, c, r.url+"/campaigns/"+itoa(id)+"/preview/leaflet.png"); code != http.StatusNotFound {
		t.Errorf("leaflet preview of an SMS-only campaign: %d", code)
	}
}

// The text's cost comes from the residents' own names: Cara is Siân here, and the â in
// her name makes her copy UCS-2 and two segments, where the sample resident's is GSM-7
// and one. With nobody to text, the page says so and shows the sample's estimate, as
// the sample's.
func TestEditorEstimatesTextsFromResidentsNames(t *testing.T) {
	r := newEditorRig(t)
	if _, err := r.db.Exec(`UPDATE contacts SET first_name = 'Siân' WHERE first_name = 'Cara'`); err != nil {
		t.Fatal(err)
	}
	c := r.signIn(t, r.officer)
	id := r.create(t, c, editorGoodForm(r.csrf(t, c, "/campaigns/new"), r.segment))
	_, _, doc := page(t, c, r.url+"/campaigns/"+itoa(id)+"/edit")
	txt := editorText(doc)
	// "Hi Ada, ... Reply YES or NO." is 100 characters in GSM-7; "Hi Siân, ..." 101 in UCS-2.
	for _, want := range []string{
		"2 texts: 1 in GSM-7 (1 segment) and 1 in UCS-2 (50%, 2 segments), because some names have letters like â — 3 segments, about £0.15 at £0.0500 a segment.",
		"The longest copy is 2 segments (101 characters in UCS-2): a name with â needs UCS-2.",
		"The sample resident’s copy: 108 characters GSM-7 1 segment of up to 160 characters",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("the page does not say %q:\n%s", want, txt)
		}
	}
	if strings.Contains(txt, "Siân") {
		t.Error("the page shows a resident's name")
	}

	// A segment nobody is in: the sample's estimate, said to be the sample's.
	seg, err := segment.NewStore(r.db).Create(t.Context(), "Nowhere", "", segment.Rule{Field: "ward", Op: "eq", Value: "Nowhere"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	id = r.create(t, c, editorGoodForm(r.csrf(t, c, "/campaigns/new"), seg.ID))
	_, _, doc = page(t, c, r.url+"/campaigns/"+itoa(id)+"/edit")
	txt = editorText(doc)
	for _, want := range []string{
		"Nobody in this audience can get a text yet, so there is nothing to estimate from residents’ own names. For the sample resident: 108 characters GSM-7 1 segment of up to 160 characters, 52 left in the last Reaches up to 0 residents by text Costs up to £0.00, at £0.0500 a segment",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("the page does not say %q:\n%s", want, txt)
		}
	}
}

func TestEditorSchedulesPausesResumesAndCancels(t *testing.T) {
	r := newEditorRig(t)
	c := r.signIn(t, r.officer)
	ctx := t.Context()
	cs := campaign.NewStore(r.db, nil)
	id := r.create(t, c, editorGoodForm(r.csrf(t, c, "/campaigns/new"), r.segment))
	edit := "/campaigns/" + itoa(id) + "/edit"
	csrf := r.csrf(t, c, edit)
	state := func() campaign.State {
		t.Helper()
		got, err := cs.Get(ctx, itoa(id))
		if err != nil {
			t.Fatal(err)
		}
		return got.State
	}
	act := func(action string, form url.Values) (int, string, string) {
		t.Helper()
		if form == nil {
			form = url.Values{}
		}
		form.Set("csrf", csrf)
		return editorPost(t, c, r.url+"/campaigns/"+itoa(id)+"/"+action, form)
	}

	// A bad time is refused at its field.
	for _, tc := range []struct{ when, at, says string }{
		{"later", "", "Enter the date and time to send it"},
		{"later", "next Tuesday", "Enter the date and time as a date and a 24-hour time"},
		{"later", "2020-01-01 09:00", "That time has passed"},
		{"", "", "Choose when to send it"},
	} {
		code, _, doc := act("schedule", url.Values{"when": {tc.when}, "send_at": {tc.at}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(editorText(doc), tc.says) || state() != campaign.Draft {
			t.Errorf("schedule %q %q: %d, %s", tc.when, tc.at, code, state())
		}
	}
	// A resume of a draft is refused with why.
	code, _, doc := act("resume", nil)
	if code != http.StatusConflict || !strings.Contains(editorText(doc), "It can't be resumed: the campaign is draft. Only a paused campaign can be resumed.") {
		t.Errorf("resume a draft: %d\n%s", code, editorText(doc))
	}

	// Scheduled for a time, then paused, then scheduled now.
	at := time.Now().In(campaign.London).Add(48 * time.Hour).Truncate(time.Minute)
	code, loc, _ := act("schedule", url.Values{"when": {"later"}, "send_at": {at.Format("2006-01-02 15:04")}})
	if code != http.StatusSeeOther || loc != edit+"?done=scheduled" || state() != campaign.Scheduled {
		t.Fatalf("schedule later: %d → %q, %s", code, loc, state())
	}
	got, _ := cs.Get(ctx, itoa(id))
	if got.NextRunAt == nil || !got.NextRunAt.Equal(at) {
		t.Errorf("next run %v, want %v", got.NextRunAt, at)
	}
	_, _, doc = page(t, c, r.url+loc)
	if txt := editorText(doc); !strings.Contains(txt, "Scheduled for "+at.Format("Mon 2 Jan 2006, 15:04")+" (London time).") ||
		!strings.Contains(doc, `action="/campaigns/`+itoa(id)+`/pause"`) || strings.Contains(doc, `action="/campaigns/`+itoa(id)+`/schedule"`) {
		t.Errorf("after scheduling:\n%s", txt)
	}
	if code, loc, _ := act("pause", nil); code != http.StatusSeeOther || loc != edit+"?done=paused" || state() != campaign.Paused {
		t.Fatalf("pause: %d %q %s", code, loc, state())
	}
	if code, _, _ := act("schedule", url.Values{"when": {"now"}}); code != http.StatusSeeOther || state() != campaign.Scheduled {
		t.Fatalf("schedule now after a pause: %d %s", code, state())
	}
	got, _ = cs.Get(ctx, itoa(id))
	if got.NextRunAt == nil || time.Until(*got.NextRunAt) > time.Minute {
		t.Errorf("scheduled now, but next run %v", got.NextRunAt)
	}

	// The scheduler starts it: the page shows progress, which live.js follows at
	// /campaigns/{id}/progress (the same template, alone) until it is done.
	if _, err := cs.StartDue(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if state() != campaign.Sending {
		t.Fatalf("after StartDue: %s", state())
	}
	if _, err := r.db.Exec(`UPDATE outbox SET state = 'sent', sent_at = now() WHERE campaign_id = $1 AND channel = 'sms'`, id); err != nil {
		t.Fatal(err)
	}
	progress := "/campaigns/" + itoa(id) + "/progress"
	_, _, doc = page(t, c, r.url+edit)
	txt := editorText(doc)
	if !strings.Contains(doc, `<div role="status" aria-live="polite" data-live="`+progress+`">`) ||
		!strings.Contains(doc, `<progress aria-labelledby="progress-`+itoa(id)+`-sms" max="2" value="2">`) ||
		strings.Contains(doc, `http-equiv="refresh"`) || strings.Contains(doc, "data-live-done") ||
		!strings.Contains(txt, "Sending: 2 of 4 messages done.") || !strings.Contains(txt, "Text message (SMS): 2 of 2 done (100%)") ||
		!strings.Contains(txt, "E-bulletin: 0 of 1 done (0%)") || !strings.Contains(txt, "Printed leaflet: 0 of 1 done (0%)") ||
		!strings.Contains(txt, "Stop updating it") || !strings.Contains(txt, "Refresh the progress") ||
		!strings.Contains(txt, "Segment “Millbrook”: 4 residents") {
		t.Errorf("progress while sending:\n%s", txt)
	}
	code, _, frag := page(t, c, r.url+progress)
	if ftxt := editorText(frag); code != http.StatusOK || strings.Contains(frag, "<html") || strings.Contains(frag, "data-live-done") ||
		regexp.MustCompile(`<(form|input|button|select|textarea)\b`).MatchString(frag) ||
		!strings.Contains(ftxt, "Sending: 2 of 4 messages done.") || !strings.Contains(ftxt, "Text message (SMS): 2 of 2 done (100%) 2 to send 2 sent 0 delivered 2 awaiting a delivery report 0 failed or bounced 0 waiting 0 suppressed") ||
		!strings.Contains(ftxt, "E-bulletin: 0 of 1 done (0%) 1 to send 0 sent 0 failed or bounced 1 waiting 0 suppressed") {
		t.Errorf("progress fragment while sending: %d\n%s", code, frag)
	}
	// The page's block is the fragment, byte for byte.
	if !strings.Contains(doc, strings.TrimSpace(frag)) {
		t.Errorf("the page's progress differs from the fragment:\n%s", frag)
	}
	// The officer can stop the updates (WCAG 2.2.2), and start them again.
	_, _, doc = page(t, c, r.url+edit+"?live=off")
	if strings.Contains(doc, "data-live=") || !strings.Contains(editorText(doc), "Updates are off. Turn them on again") {
		t.Errorf("updates turned off:\n%s", editorText(doc))
	}

	// Paused while sending, resumed (sending again), a second resume refused.
	if code, _, _ := act("pause", nil); code != http.StatusSeeOther || state() != campaign.Paused {
		t.Fatalf("pause while sending: %d %s", code, state())
	}
	_, _, doc = page(t, c, r.url+edit)
	if strings.Contains(doc, `http-equiv="refresh"`) || strings.Contains(doc, `action="/campaigns/`+itoa(id)+`/schedule"`) {
		t.Error("a paused campaign that had started reloads, or offers scheduling")
	}
	if code, _, doc := act("schedule", url.Values{"when": {"now"}}); code != http.StatusConflict || !strings.Contains(editorText(doc), "Resume it to carry on") {
		t.Errorf("schedule a paused run: %d", code)
	}
	if code, _, _ := act("resume", nil); code != http.StatusSeeOther || state() != campaign.Sending {
		t.Fatalf("resume: %d %s", code, state())
	}
	if code, _, doc := act("resume", nil); code != http.StatusConflict || !strings.Contains(editorText(doc), "It can't be resumed: the campaign is sending.") {
		t.Errorf("resume while sending: %d", code)
	}

	// Cancel needs its box ticked.
	if code, _, doc := act("cancel", nil); code != http.StatusUnprocessableEntity || !strings.Contains(editorText(doc), "Tick the box to confirm") || state() != campaign.Sending {
		t.Errorf("cancel without confirming: %d %s", code, state())
	}
	if code, loc, _ := act("cancel", url.Values{"confirm": {"yes"}}); code != http.StatusSeeOther || loc != edit+"?done=cancelled" || state() != campaign.Cancelled {
		t.Fatalf("cancel: %d %q %s", code, loc, state())
	}
	var pending int
	r.db.Get(&pending, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'pending'`, id)
	if pending != 0 {
		t.Errorf("%d messages still pending after cancelling", pending)
	}
	code, _, doc = act("pause", nil)
	if code != http.StatusConflict || !strings.Contains(editorText(doc), "It can't be paused: the campaign is cancelled. Only a scheduled or sending campaign can be paused.") {
		t.Errorf("pause a cancelled campaign: %d\n%s", code, editorText(doc))
	}
	if !strings.Contains(doc, `<a href="#actions">`) {
		t.Error("the refusal does not link to the actions")
	}
	_, _, doc = page(t, c, r.url+edit)
	txt = editorText(doc)
	// Cancelled: the progress stays, and nothing follows it any more.
	if strings.Contains(doc, "data-live=") || !strings.Contains(doc, "data-live-done") || !strings.Contains(txt, "Cancelled: 2 messages done before it was cancelled; 2 will not be sent.") ||
		!strings.Contains(txt, "E-bulletin: nothing to send 0 to send 0 sent 0 failed or bounced 0 waiting 1 cancelled, not sent") {
		t.Errorf("progress after cancelling:\n%s", txt)
	}
	if _, _, frag := page(t, c, r.url+progress); !strings.Contains(frag, "data-live-done") {
		t.Errorf("the fragment of a cancelled campaign goes on updating:\n%s", frag)
	}
	for _, want := range []string{`Created as a draft ` + r.officer, `Draft to scheduled \(due [^)]+\) ` + r.officer,
		`Scheduled to paused ` + r.officer, `Scheduled to sending \(run \d+: 4 messages\) scheduler`,
		`Paused to sending \(resumed\) ` + r.officer, `Sending to cancelled ` + r.officer,
		`there is nothing more to do with it here`} {
		if !regexp.MustCompile(want).MatchString(txt) {
			t.Errorf("history: no %q:\n%s", want, txt)
		}
	}
}

// Without pdftoppm the page says why there is no leaflet preview, and the image's address
// answers 503: nothing crashes.
// stubMail is a dispatch.Sender that keeps what it is given, or refuses it with err.
type stubMail struct {
	mu   sync.Mutex
	sent []dispatch.Message
	err  error
}

func (m *stubMail) Channel() dispatch.Channel { return dispatch.Email }

func (m *stubMail) Send(_ context.Context, msg dispatch.Message) (dispatch.Receipt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return dispatch.Receipt{}, m.err
	}
	m.sent = append(m.sent, msg)
	return dispatch.Receipt{ProviderID: "<direct-test.crier@millbrook.example>"}, nil
}

func (m *stubMail) refuse(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

func (m *stubMail) messages() []dispatch.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sent)
}

// TestEditorTestSend: "Send a test e-bulletin to me" renders the e-bulletin for the
// officer, "[Test]" before its subject and links leading nowhere, and sends it through
// App.Mail at once: no outbox row, no state change. A refusal is shown; ten an hour
// are allowed; the logs never name the address. Without a mail sender the page says so.
func TestEditorTestSend(t *testing.T) {
	mail := &stubMail{}
	logs := &logBuffer{}
	r := newEditorRig(t, func(cfg *web.Config) {
		cfg.App.Mail, cfg.App.MailFrom = mail, "Millbrook Council <news@millbrook.example>"
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	c := r.signIn(t, r.officer)
	id := r.create(t, c, editorGoodForm(r.csrf(t, c, "/campaigns/new"), r.segment))
	edit := "/campaigns/" + itoa(id) + "/edit"
	test := r.url + "/campaigns/" + itoa(id) + "/test"
	csrf := r.csrf(t, c, edit)
	_, _, doc := page(t, c, r.url+edit)
	if !strings.Contains(doc, `<form method="post" action="/campaigns/`+itoa(id)+`/test">`) ||
		!strings.Contains(editorText(doc), "It goes now to "+r.officer+", with your name in it") {
		t.Fatalf("no test button:\n%s", editorText(doc))
	}

	code, loc, _ := editorPost(t, c, test, url.Values{"csrf": {csrf}})
	if code != http.StatusSeeOther || loc != edit+"?done=tested" {
		t.Fatalf("test send: %d → %q", code, loc)
	}
	sent := mail.messages()
	if len(sent) != 1 {
		t.Fatalf("%d messages sent", len(sent))
	}
	m := sent[0]
	if m.To != r.officer || m.From != "Millbrook Council <news@millbrook.example>" || m.OutboxID != 0 || m.CampaignID != id ||
		m.Subject != "[Test] Your bin day is changing, Jo" || !strings.Contains(m.HTML, "Dear Jo,") || !strings.Contains(m.Text, "Dear Jo,") ||
		!strings.Contains(m.HTML, `href="#unsubscribe"`) || strings.Contains(m.HTML+m.Text, "crier.example.gov.uk/u/") || len(m.Headers) != 0 {
		t.Errorf("the test message: %+v", m)
	}
	if _, _, doc := page(t, c, r.url+loc); !strings.Contains(editorText(doc), "Test sent to "+r.officer+".") {
		t.Errorf("after the test send:\n%s", editorText(doc))
	}
	var rows int
	if err := r.db.Get(&rows, `SELECT count(*) FROM outbox WHERE campaign_id = $1`, id); err != nil || rows != 0 {
		t.Errorf("the test send made %d outbox rows (%v)", rows, err)
	}
	if got, _ := campaign.NewStore(r.db, nil).Get(t.Context(), itoa(id)); got.State != campaign.Draft {
		t.Errorf("the test send moved the campaign to %s", got.State)
	}

	// The SMTP server refuses it: said plainly, at the button.
	mail.refuse(&dispatch.SendError{Kind: dispatch.ErrPermanent, Code: "550", Reason: "mailbox unavailable (550 5.1.1)",
		Err: errors.New("550 5.1.1 <" + r.officer + ">: no such user")})
	code, _, doc = editorPost(t, c, test, url.Values{"csrf": {csrf}})
	if txt := editorText(doc); code != http.StatusBadGateway || !strings.Contains(doc, `<a href="#test-send">`) ||
		!strings.Contains(txt, "The email server did not take the test (permanent failure (550): mailbox unavailable (550 5.1.1))") ||
		!strings.Contains(doc, `aria-describedby="test-hint test-error"`) {
		t.Errorf("a refused test: %d\n%s", code, txt)
	}
	mail.refuse(nil)

	// Ten an hour (two so far).
	for i := 3; i <= 10; i++ {
		if code, _, _ := editorPost(t, c, test, url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
			t.Fatalf("test %d: %d", i, code)
		}
	}
	code, _, doc = editorPost(t, c, test, url.Values{"csrf": {csrf}})
	if code != http.StatusTooManyRequests || !strings.Contains(editorText(doc), "You have sent 10 tests in the last hour, the most allowed.") {
		t.Errorf("an eleventh test: %d\n%s", code, editorText(doc))
	}
	if n := len(mail.messages()); n != 9 {
		t.Errorf("%d tests sent, want 9 (one was refused, one over the limit)", n)
	}

	// Only the officer, with the form's token.
	jar, _ := cookiejar.New(nil)
	anon := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if code, _, _ := editorPost(t, anon, test, url.Values{}); code != http.StatusUnauthorized {
		t.Errorf("anonymous test send: %d", code)
	}
	vol := r.signIn(t, r.volunteer)
	if code, _, _ := editorPost(t, vol, test, url.Values{"csrf": {r.csrf(t, vol, "/rounds")}}); code != http.StatusForbidden {
		t.Errorf("volunteer test send: %d", code)
	}
	if code, _, _ := editorPost(t, c, test, url.Values{"csrf": {"forged"}}); code != http.StatusForbidden {
		t.Errorf("test send with a forged token: %d", code)
	}
	if n := len(mail.messages()); n != 9 {
		t.Errorf("%d tests sent after refused requests", n)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "test e-bulletin") && (strings.Contains(line, "@council") || strings.Contains(line, "Jo")) {
			t.Errorf("a log line names the officer: %s", line)
		}
	}
	if !strings.Contains(logs.String(), "test e-bulletin sent") || !strings.Contains(logs.String(), "test e-bulletin not sent") {
		t.Errorf("test sends not logged:\n%s", logs)
	}

	// No mail sender: the page says so, and a post is refused.
	plain := newEditorRig(t)
	pc := plain.signIn(t, plain.officer)
	pid := plain.create(t, pc, editorGoodForm(plain.csrf(t, pc, "/campaigns/new"), plain.segment))
	pedit := "/campaigns/" + itoa(pid) + "/edit"
	_, _, doc = page(t, pc, plain.url+pedit)
	if strings.Contains(doc, "/test\"") || !strings.Contains(editorText(doc), "Email isn’t set up on this server (CRIER_SMTP_URL), so a test e-bulletin can’t be sent to you.") {
		t.Errorf("without a mail sender:\n%s", editorText(doc))
	}
	code, _, doc = editorPost(t, pc, plain.url+"/campaigns/"+itoa(pid)+"/test", url.Values{"csrf": {plain.csrf(t, pc, pedit)}})
	if code != http.StatusServiceUnavailable || !strings.Contains(editorText(doc), "Email isn't set up on this server, so a test can't be sent") {
		t.Errorf("test send without a mail sender: %d", code)
	}
}

// The progress fragment is an officer's: a volunteer is refused, and a signed-out
// request gets a fragment saying so (which stops live.js) rather than the sign-in page.
func TestEditorProgressFragmentIsForOfficers(t *testing.T) {
	r := newEditorRig(t)
	c := r.signIn(t, r.officer)
	id := r.create(t, c, editorGoodForm(r.csrf(t, c, "/campaigns/new"), r.segment))
	progress := r.url + "/campaigns/" + itoa(id) + "/progress"
	if code, _, frag := page(t, c, progress); code != http.StatusOK || !strings.Contains(editorText(frag), "Draft: not scheduled yet.") {
		t.Errorf("officer: %d %s", code, frag)
	}
	jar, _ := cookiejar.New(nil)
	anon := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	code, _, frag := page(t, anon, progress)
	if code != http.StatusOK || !strings.Contains(frag, "data-live-done") || strings.Contains(frag, "Draft") ||
		!strings.Contains(frag, `href="/login?next=/campaigns/`+itoa(id)+`/edit"`) {
		t.Errorf("signed out: %d %s", code, frag)
	}
	if code, _, _ := page(t, r.signIn(t, r.volunteer), progress); code != http.StatusForbidden {
		t.Errorf("volunteer: %d", code)
	}
	if code, _, _ := page(t, c, r.url+"/campaigns/999999/progress"); code != http.StatusNotFound {
		t.Errorf("no such campaign: %d", code)
	}
}

func TestEditorWithoutPdftoppm(t *testing.T) {
	r := newEditorRig(t)
	c := r.signIn(t, r.officer)
	id := r.create(t, c, editorGoodForm(r.csrf(t, c, "/campaigns/new"), r.segment))
	t.Setenv("PATH", t.TempDir())
	code, _, doc := page(t, c, r.url+"/campaigns/"+itoa(id)+"/edit")
	if txt := editorText(doc); code != http.StatusOK || !strings.Contains(txt, "The leaflet preview needs pdftoppm (from poppler-utils) on the server") ||
		strings.Contains(doc, "leaflet.png") || !strings.Contains(txt, "Subject: Your bin day is changing, Christopher") {
		t.Errorf("edit page without pdftoppm: %d\n%s", code, txt)
	}
	code, _, msg := page(t, c, r.url+"/campaigns/"+itoa(id)+"/preview/leaflet.png")
	if code != http.StatusServiceUnavailable || !strings.Contains(msg, "pdftoppm") {
		t.Errorf("leaflet preview without pdftoppm: %d %q", code, msg)
	}
}

func TestEditorIsForOfficersWithTheirToken(t *testing.T) {
	r := newEditorRig(t)
	off := r.signIn(t, r.officer)
	id := r.create(t, off, editorGoodForm(r.csrf(t, off, "/campaigns/new"), r.segment))
	routes := []string{"/campaigns/new", "/campaigns/" + itoa(id) + "/edit", "/campaigns/" + itoa(id) + "/preview/email",
		"/campaigns/" + itoa(id) + "/preview/leaflet.png"}
	if len(routes) != len(web.EditorRoutes) {
		t.Fatalf("EditorRoutes has %d routes, the test %d", len(web.EditorRoutes), len(routes))
	}
	posts := []string{"/campaigns/new", "/campaigns/" + itoa(id) + "/schedule", "/campaigns/" + itoa(id) + "/pause",
		"/campaigns/" + itoa(id) + "/resume", "/campaigns/" + itoa(id) + "/cancel"}

	// Anonymous: pages lead to signing in; actions are refused.
	jar, _ := cookiejar.New(nil)
	anon := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range routes {
		if code, loc, _ := page(t, anon, r.url+p); code != http.StatusSeeOther || loc != "/login?next="+url.QueryEscape(p) {
			t.Errorf("anonymous GET %s: %d → %q", p, code, loc)
		}
	}
	for _, p := range posts {
		if code, _, _ := editorPost(t, anon, r.url+p, url.Values{"when": {"now"}}); code != http.StatusUnauthorized {
			t.Errorf("anonymous POST %s: %d", p, code)
		}
	}

	// A volunteer: not for them.
	vol := r.signIn(t, r.volunteer)
	for _, p := range routes {
		if code, _, _ := page(t, vol, r.url+p); code != http.StatusForbidden {
			t.Errorf("volunteer GET %s: %d", p, code)
		}
	}
	volCSRF := r.csrf(t, vol, "/rounds")
	for _, p := range posts {
		form := editorGoodForm(volCSRF, r.segment)
		form.Set("when", "now")
		form.Set("confirm", "yes")
		if code, _, _ := editorPost(t, vol, r.url+p, form); code != http.StatusForbidden {
			t.Errorf("volunteer POST %s: %d", p, code)
		}
	}

	// The officer without the form's token, or with a forged one.
	for _, token := range []string{"", "forged"} {
		for _, p := range posts {
			form := editorGoodForm(token, r.segment)
			form.Set("when", "now")
			form.Set("confirm", "yes")
			if code, _, doc := editorPost(t, off, r.url+p, form); code != http.StatusForbidden || !strings.Contains(doc, "This form has expired") {
				t.Errorf("officer POST %s with token %q: %d", p, token, code)
			}
		}
	}
	got, err := campaign.NewStore(r.db, nil).Get(t.Context(), itoa(id))
	if err != nil {
		t.Fatal(err)
	}
	if n := editorCount(t, r.db); n != 1 || got.State != campaign.Draft {
		t.Errorf("after refused forms: %d campaigns, the first %s", n, got.State)
	}
}

// TestBrowserEditorWritesPreviewsAndSchedules: in headless Chromium an officer signs in,
// writes a campaign (first leaving it empty, to see the errors), sees its previews side
// by side (the e-bulletin framed, the leaflet's first page) and schedules it. axe-core
// finds nothing on any page, the framed e-bulletin included, and each fits a 360-px phone.
func TestBrowserEditorWritesPreviewsAndSchedules(t *testing.T) {
	r := newEditorRig(t)
	ctx := newBrowser(t)

	open(t, ctx, r.url+"/campaigns/new", 200) // by way of signing in
	browse(t, ctx, "sign in as the officer",
		chromedp.SendKeys(chromedp.CSS("#email"), r.officer),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "Write a campaign" {
		t.Fatalf("after signing in: %q", h)
	}
	checkPage(t, ctx, "new campaign form")

	submit(t, ctx, "form.editor-form button[type=submit]", 422)
	if s := text(t, ctx, "#error-summary"); !strings.Contains(s, "Enter a name for the campaign") {
		t.Errorf("error summary: %q", s)
	}
	checkPage(t, ctx, "new campaign form with errors")

	browse(t, ctx, "write the campaign",
		chromedp.SendKeys(chromedp.CSS("#name"), "Bin day changes"),
		chromedp.Click(chromedp.CSS("#purpose-service")),
		chromedp.SetValue(chromedp.CSS("#segment"), itoa(r.segment)),
		chromedp.Click(chromedp.CSS("#channel-email")),
		chromedp.Click(chromedp.CSS("#channel-sms")),
		chromedp.Click(chromedp.CSS("#channel-post")),
		chromedp.SendKeys(chromedp.CSS("#email_subject"), "Your bin day is changing, {{first_name}}"),
		chromedp.SendKeys(chromedp.CSS("#email_body"), "Dear {{first_name}},\n\nFrom January we collect your bins on a **Tuesday**.\n\n- Put them out by 7am.\n- Recycling goes out the same day."),
		chromedp.SendKeys(chromedp.CSS("#sms_body"), "Hi {{first_name}}, your bin day changes to Tuesday from January."),
		chromedp.SendKeys(chromedp.CSS("#leaflet_title"), "Your bin day is changing"))
	submit(t, ctx, "form.editor-form button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "Bin day changes" {
		t.Fatalf("after saving: %q", h)
	}
	if s := text(t, ctx, "#sms-measure"); !strings.Contains(s, "GSM-7") || !strings.Contains(s, "1 segment") {
		t.Errorf("SMS measure: %q", s)
	}
	if n := evaluate[int](t, ctx, "count the previews", `document.querySelectorAll('.previews > .preview').length`); n != 3 {
		t.Errorf("%d previews", n)
	}
	// The framed e-bulletin and the leaflet's image have loaded.
	loaded := `new Promise(done => {
		const img = document.querySelector('.preview img');
		let tries = 0;
		const check = () => {
			if ((img.complete && img.naturalWidth > 0) || ++tries > 100) return done(img.naturalWidth);
			setTimeout(check, 100);
		};
		check();
	})`
	if w := evaluate[int](t, ctx, "wait for the leaflet preview", loaded, chromedp.EvalAwaitPromise); w == 0 {
		t.Error("the leaflet preview did not load")
	}
	if framed := editorFramedText(t, ctx, "/preview/email"); !strings.Contains(framed, "Dear Christopher,") {
		t.Errorf("framed e-bulletin: %q", framed)
	}
	// Side by side on a desktop, stacked on a phone. (ResetViewport does not give the
	// window its width back, so the desktop is emulated too.)
	tops := `(() => [...document.querySelectorAll('.previews > .preview')].map(e => Math.round(e.getBoundingClientRect().top)))()`
	browse(t, ctx, "desktop", chromedp.EmulateViewport(1280, 900))
	if ys := evaluate[[]int](t, ctx, "preview positions", tops); len(ys) != 3 || ys[0] != ys[1] || ys[1] != ys[2] {
		t.Errorf("previews at desktop width start at %v, want side by side", ys)
	}
	checkPage(t, ctx, "campaign page")
	browse(t, ctx, "phone", chromedp.EmulateViewport(narrowWidth, 740, chromedp.EmulateMobile))
	if ys := evaluate[[]int](t, ctx, "preview positions on a phone", tops); len(ys) != 3 || !(ys[0] < ys[1] && ys[1] < ys[2]) {
		t.Errorf("previews on a phone start at %v, want stacked", ys)
	}
	browse(t, ctx, "desktop", chromedp.EmulateViewport(1280, 900))

	// The framed page: its sandbox runs no script, so axe-core cannot run inside it;
	// the same HTML is checked from a plain server.
	var id int64
	if err := r.db.Get(&id, `SELECT id FROM campaigns WHERE name = 'Bin day changes'`); err != nil {
		t.Fatal(err)
	}
	_, _, mail := page(t, r.signIn(t, r.officer), r.url+"/campaigns/"+itoa(id)+"/preview/email")
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, mail)
	}))
	defer plain.Close()
	open(t, ctx, plain.URL, 200)
	if s := text(t, ctx, "body"); !strings.Contains(s, "Dear Christopher,") {
		t.Errorf("email preview: %q", s)
	}
	editorAxeWCAG(t, ctx, "e-bulletin preview")

	// Schedule it now.
	open(t, ctx, r.url+"/campaigns/"+itoa(id)+"/edit", 200)
	submit(t, ctx, "#schedule", 200)
	if s := text(t, ctx, ".notice"); !strings.HasPrefix(s, "Scheduled for ") {
		t.Errorf("after scheduling: %q", s)
	}
	if s := text(t, ctx, ".state-badge"); s != "Scheduled" {
		t.Errorf("state after scheduling: %q", s)
	}
	checkPage(t, ctx, "scheduled campaign")
	got, err := campaign.NewStore(r.db, nil).Get(t.Context(), itoa(id))
	if err != nil || got.State != campaign.Scheduled || !slices.Equal(got.Channels(), []string{"email", "sms", "post"}) {
		t.Errorf("campaign after scheduling: %+v %v", got, err)
	}
}

// editorAxeWCAG runs axe-core's WCAG 2.0, 2.1 and 2.2 A and AA rules on the current page,
// failing the test on any violation. The e-bulletin is an email, not a web page: axe's
// best practices for pages (landmarks, a main region) don't apply to it, and email
// clients would ignore them.
func editorAxeWCAG(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	path, _ := ctx.Value(browserKey{}).(string)
	if _, err := within(ctx, chromedp.Evaluate[chromedp.Void](axeScript(t, path))); err != nil {
		t.Fatalf("%s: inject axe-core: %v", name, err)
	}
	script := `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}, resultTypes: ['violations']})
		.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help, nodes: v.nodes.length,
			targets: v.nodes.slice(0, 3).map(n => [].concat(n.target).flat(Infinity).join(' >>> '))})))`
	violations, err := within(ctx, chromedp.Evaluate[[]axeViolation](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe-core: %v", name, err)
	}
	for _, v := range violations {
		t.Errorf("%s: axe-core: %s [%s] %s (%d element(s): %s)", name, v.ID, v.Impact, v.Help, v.Nodes, strings.Join(v.Targets, ", "))
	}
}

// editorFramedText returns the text of the iframe whose address ends with suffix. Chrome
// runs a sandboxed iframe in a process of its own, as a target of its own, which the
// page's queries don't reach: the text is read by attaching to that target.
func editorFramedText(t *testing.T, ctx context.Context, suffix string) string {
	t.Helper()
	deadline := time.Now().Add(browserActionTimeout)
	for {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatalf("browser targets: %v", err)
		}
		for _, info := range infos {
			if info.Type != "iframe" || !strings.HasSuffix(info.URL, suffix) {
				continue
			}
			fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
			s, err := within(fctx, chromedp.Text(chromedp.CSS("body")))
			cancel()
			if err == nil && s != "" {
				return s
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(100 * time.Millisecond)
	}
}
