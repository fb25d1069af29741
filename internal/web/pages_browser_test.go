package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/lang"
	"github.com/crierhq/crier/internal/reply"
	"github.com/crierhq/crier/internal/web"
)

// residentSite is crier's web server over a fresh database, as a resident's browser
// reaches it.
type residentSite struct {
	db     *sqlx.DB
	signer *email.Signer
	url    string
}

func newResidentSite(t *testing.T) *residentSite {
	t.Helper()
	d := dbtest.New(t)
	signer, err := email.NewSigner(bytes.Repeat([]byte("b"), 32))
	if err != nil {
		t.Fatal(err)
	}
	languages, err := lang.ParseList("en,cy,ur")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{DB: d, Signer: signer,
		Composer: email.NewComposer(d, email.ComposerConfig{Signer: signer}),
		Branding: email.Branding{OrgName: "Millbrook Town Council"}, Languages: languages})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &residentSite{db: d, signer: signer, url: ts.URL}
}

// resident adds a contact with the email addresses given, and returns its id and the
// addresses' contact point ids.
func (s *residentSite) resident(t *testing.T, firstName string, addresses ...string) (contactID int64, pointIDs []int64) {
	t.Helper()
	if err := s.db.Get(&contactID, `INSERT INTO contacts (first_name) VALUES ($1) RETURNING id`, firstName); err != nil {
		t.Fatal(err)
	}
	for _, a := range addresses {
		var id int64
		if err := s.db.Get(&id, `INSERT INTO contact_points (contact_id, kind, value) VALUES ($1, 'email', $2) RETURNING id`,
			contactID, a); err != nil {
			t.Fatal(err)
		}
		pointIDs = append(pointIDs, id)
	}
	return contactID, pointIDs
}

// mobile adds a mobile number to the contact and returns its contact point id.
func (s *residentSite) mobile(t *testing.T, contactID int64, e164 string) int64 {
	t.Helper()
	var id int64
	if err := s.db.Get(&id, `INSERT INTO contact_points (contact_id, kind, value, phone_type, fictional)
		VALUES ($1, 'phone', $2, 'mobile', true) RETURNING id`, contactID, e164); err != nil {
		t.Fatal(err)
	}
	return id
}

func (s *residentSite) topic(t *testing.T, slug, name string) int64 {
	t.Helper()
	var id int64
	err := s.db.Get(&id, `INSERT INTO topics (slug, name, description) VALUES ($1, $2, '')
		ON CONFLICT (slug) DO UPDATE SET name = excluded.name RETURNING id`, slug, name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type consentRow struct {
	Status string `db:"status"`
	Source string `db:"source"`
	Detail string `db:"detail"`
}

// consents lists a contact point's consent history for a topic, oldest first.
func (s *residentSite) consents(t *testing.T, pointID, topicID int64) []consentRow {
	t.Helper()
	var rows []consentRow
	if err := s.db.Select(&rows, `SELECT status, source, detail FROM consents WHERE contact_point_id = $1 AND topic_id = $2
		ORDER BY recorded_at, id`, pointID, topicID); err != nil {
		t.Fatal(err)
	}
	return rows
}

func wantText(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%s = %q, want it to contain %q", what, got, want)
	}
}

// A resident follows the unsubscribe link of an e-bulletin, sees what it would stop,
// presses the button, and is told it is done; the withdrawal is recorded with its
// source. Following the link again says there is nothing more to do.
func TestBrowserUnsubscribe(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	site := newResidentSite(t)
	topicID := site.topic(t, "general", "General news")
	_, points := site.resident(t, "Ada", "ada@example.org")
	link := site.url + "/u/" + site.signer.Token("unsubscribe", points[0], topicID)

	open(t, ctx, link, 200)
	wantText(t, "confirmation heading", text(t, ctx, "h1"), "Unsubscribe")
	wantText(t, "confirmation page", text(t, ctx, "main"), "Do you want to stop getting emails about General news?")
	checkPage(t, ctx, "unsubscribe confirmation")
	if got := site.consents(t, points[0], topicID); len(got) != 0 {
		t.Fatalf("opening the link recorded %v; only the button may unsubscribe", got)
	}

	submit(t, ctx, `main form button[type=submit]`, 200)
	wantText(t, "result heading", text(t, ctx, "h1"), "You have unsubscribed")
	wantText(t, "result page", text(t, ctx, "main"), "You will not get any more emails about General news.")
	checkPage(t, ctx, "unsubscribed")
	got := site.consents(t, points[0], topicID)
	if len(got) != 1 || got[0] != (consentRow{Status: "withdrawn", Source: "web", Detail: "unsubscribe link"}) {
		t.Fatalf("consents after the button = %+v, want one withdrawal from the web's unsubscribe link", got)
	}

	open(t, ctx, link, 200)
	wantText(t, "second visit", text(t, ctx, "main"), "You have already unsubscribed from emails about General news.")
	checkPage(t, ctx, "already unsubscribed")
	if got := site.consents(t, points[0], topicID); len(got) != 1 {
		t.Fatalf("a second visit changed the consents: %+v", got)
	}
}

// The preference centre shows a box per topic and channel the resident can be reached
// on. Saving records each change, and only the changes, as consent from the web; a box
// ticked again after a withdrawal grants; "unsubscribe from everything" withdraws the
// lot. A long address must not push the page sideways on a phone.
func TestBrowserPreferences(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	site := newResidentSite(t)
	general := site.topic(t, "general", "General news")
	roads := site.topic(t, "roadworks", "Roadworks and closures")
	contactID, points := site.resident(t, "Bea", "bea@example.org",
		"beatrice.fitzwilliam.montgomery@millbrookanddistrictparish.example.org")
	mobile := site.mobile(t, contactID, "+447700900123")
	token := site.signer.PreferencesToken(contactID, time.Now())
	prefs := site.url + "/p/" + token

	open(t, ctx, prefs, 200)
	wantText(t, "heading", text(t, ctx, "h1"), "Your preferences")
	main := text(t, ctx, "main")
	wantText(t, "page", main, "By email to b•••@millbrookanddistrictparish.example.org")
	wantText(t, "page", main, "By text to the mobile ending 0123")
	if n := evaluate[int](t, ctx, "count boxes", `document.querySelectorAll('main fieldset input[type=checkbox]:checked').length`); n != 6 {
		t.Fatalf("%d ticked boxes, want 6 (2 topics × 2 addresses and a mobile, none withdrawn)", n)
	}
	checkPage(t, ctx, "preferences")

	// Untick General news by email to bea@ and Roadworks by text; save.
	uncheck := func(point, topic int64) {
		t.Helper()
		sel := fmt.Sprintf("#c-%d-%d", point, topic)
		browse(t, ctx, "untick "+sel, chromedp.Click(chromedp.CSS(sel)))
	}
	uncheck(points[0], general)
	uncheck(mobile, roads)
	submit(t, ctx, `main form[action$="`+token+`"] button`, 200)
	wantText(t, "saved", text(t, ctx, "#saved"), "We recorded 2 changes just now.")
	checkPage(t, ctx, "preferences saved")
	want := consentRow{Status: "withdrawn", Source: "web", Detail: "preference centre"}
	if got := site.consents(t, points[0], general); len(got) != 1 || got[0] != want {
		t.Fatalf("General news by email: %+v, want %+v", got, want)
	}
	if got := site.consents(t, mobile, roads); len(got) != 1 || got[0] != want {
		t.Fatalf("Roadworks by text: %+v, want %+v", got, want)
	}
	if got := site.consents(t, points[1], general); len(got) != 0 {
		t.Fatalf("an unchanged box recorded %+v: a ticked box nobody ticked is not consent", got)
	}

	// Saving again unchanged records nothing; ticking one back grants it.
	submit(t, ctx, `main form[action$="`+token+`"] button`, 200)
	wantText(t, "saved again", text(t, ctx, "#saved"), "Nothing needed to change.")
	browse(t, ctx, "tick General news by email again", chromedp.Click(chromedp.CSS(fmt.Sprintf("#c-%d-%d", points[0], general))))
	submit(t, ctx, `main form[action$="`+token+`"] button`, 200)
	wantText(t, "saved, ticked back", text(t, ctx, "#saved"), "We recorded 1 change just now.")

	// The language: English as imported, Cymraeg chosen; each named in itself.
	if got := evaluate[string](t, ctx, "the languages offered", `[...document.querySelectorAll('input[name=language]')].map(i =>
		i.value + (i.checked ? '*' : '') + '=' + i.labels[0].textContent + '/' + i.labels[0].lang + '/' + i.labels[0].dir).join(' ')`); got != "en*=English/en/ltr cy=Cymraeg/cy/ltr ur=اردو/ur/rtl" {
		t.Errorf("the languages offered: %q", got)
	}
	browse(t, ctx, "choose Cymraeg", chromedp.Click(chromedp.CSS("#lang-cy")))
	submit(t, ctx, `main form[action$="`+token+`"] button`, 200)
	wantText(t, "language saved", text(t, ctx, "#saved"), "We recorded 1 change just now.")
	var language string
	if err := site.db.Get(&language, `SELECT preferred_language FROM contacts WHERE id = $1`, contactID); err != nil || language != "cy" {
		t.Errorf("the preferred language after choosing Cymraeg: %q (%v)", language, err)
	}
	if !evaluate[bool](t, ctx, "Cymraeg ticked", `document.querySelector('#lang-cy').checked`) {
		t.Error("the page after saving does not show Cymraeg chosen")
	}
	checkPage(t, ctx, "preferences, language chosen")
	if got := site.consents(t, points[0], general); len(got) != 2 || got[1] != (consentRow{Status: "granted", Source: "web", Detail: "preference centre"}) {
		t.Fatalf("General news by email after ticking it again: %+v", got)
	}

	// Unsubscribe from everything.
	submit(t, ctx, `main form[action$="/all"] button`, 200)
	wantText(t, "stopped everything", text(t, ctx, "#saved"), "You are unsubscribed from everything")
	if n := evaluate[int](t, ctx, "count ticked", `document.querySelectorAll('main fieldset input[type=checkbox]:checked').length`); n != 0 {
		t.Fatalf("%d boxes still ticked after unsubscribing from everything", n)
	}
	checkPage(t, ctx, "unsubscribed from everything")
	var open_ int
	if err := site.db.Get(&open_, `
		SELECT count(*) FROM contact_points cp CROSS JOIN topics t
		  LEFT JOIN current_consents cc ON cc.contact_point_id = cp.id AND cc.topic_id = t.id
		 WHERE cp.contact_id = $1 AND cc.status IS DISTINCT FROM 'withdrawn'`, contactID); err != nil || open_ != 0 {
		t.Fatalf("%d topic × channel pairs not withdrawn after unsubscribing from everything (%v)", open_, err)
	}
	// It is one channel-wide withdrawal per contact point, so it covers a topic created
	// afterwards too: the page shows the new topic's boxes unticked.
	var wide, all int
	if err := site.db.Get(&wide, `SELECT count(*) FROM consents c JOIN contact_points cp ON cp.id = c.contact_point_id
		WHERE cp.contact_id = $1 AND c.topic_id IS NULL AND c.status = 'withdrawn' AND c.source = 'web'
		  AND c.detail = 'preference centre: unsubscribe from everything'`, contactID); err != nil {
		t.Fatal(err)
	}
	if err := site.db.Get(&all, `SELECT count(*) FROM contact_points WHERE contact_id = $1`, contactID); err != nil || wide != all || all < len(points) {
		t.Fatalf("%d channel-wide withdrawals for %d contact points (%v)", wide, all, err)
	}
	events := site.topic(t, "events", "Events near you")
	open(t, ctx, prefs, 200)
	for _, p := range points {
		if on := evaluate[bool](t, ctx, "the new topic's box", fmt.Sprintf(`document.querySelector('#c-%d-%d').checked`, p, events)); on {
			t.Fatalf("a topic created after unsubscribing from everything shows ticked for point %d", p)
		}
	}

	// A form naming another resident's contact point changes nothing at all.
	_, otherPoints := site.resident(t, "Eve", "eve@example.org")
	resp, err := http.PostForm(prefs, url.Values{"on": {fmt.Sprintf("%d:%d", points[0], general), fmt.Sprintf("%d:%d", otherPoints[0], general)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || len(site.consents(t, points[0], general)) != 2 || len(site.consents(t, otherPoints[0], general)) != 0 {
		t.Fatalf("a tampered form: %d; consents changed", resp.StatusCode)
	}

	// A resident whose mobile texted STOP is told how to start texts again, and a
	// resident we can't reach at all has nothing to choose.
	cy, _ := site.resident(t, "Cy")
	stopped := site.mobile(t, cy, "+447700900124")
	if _, err := site.db.Exec(`UPDATE contact_points SET status = 'opted_out' WHERE id = $1`, stopped); err != nil {
		t.Fatal(err)
	}
	open(t, ctx, site.url+"/p/"+site.signer.PreferencesToken(cy, time.Now()), 200)
	wantText(t, "nothing page", text(t, ctx, "main"), "there is nothing to choose here")
	checkPage(t, ctx, "preferences with nothing to choose")

	// A link older than the configured age shows nothing about the resident, and offers
	// a new one by email (this site has no SMTP server, so it says it can't).
	open(t, ctx, site.url+"/p/"+site.signer.PreferencesToken(contactID, time.Now().AddDate(0, 0, -91)), 403)
	wantText(t, "out-of-date link", text(t, ctx, "h1"), "This link is out of date")
	if main := text(t, ctx, "main"); strings.Contains(main, "example.org") || strings.Contains(main, "0123") {
		t.Errorf("the out-of-date link's page shows the resident's details: %q", main)
	}
	checkPage(t, ctx, "preference link out of date")
	submit(t, ctx, `main form[action$="/new-link"] button`, 503)
	wantText(t, "no email server", text(t, ctx, "main"), "contact Millbrook Town Council")
	checkPage(t, ctx, "new preference link, no email server")
}

// A mangled or foreign link gets a page saying so, and what to do instead.
func TestBrowserBadLink(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	site := newResidentSite(t)

	open(t, ctx, site.url+"/u/not-a-real-token", 404)
	wantText(t, "heading", text(t, ctx, "h1"), "This link does not work")
	wantText(t, "page", text(t, ctx, "main"), "The link may have been copied incompletely.")
	checkPage(t, ctx, "link does not work")

	open(t, ctx, site.url+"/c/999999", 404)
	wantText(t, "heading", text(t, ctx, "h1"), "Page not found")
	checkPage(t, ctx, "campaign page not found")
}

// A leaflet's QR code leads to its campaign's page once the campaign has gone out: the
// leaflet's text, with the poll's question and how to answer it.
func TestBrowserCampaignPage(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	site := newSignupSite(t) // with email, so the page offers sign-up
	store := campaign.NewStore(site.db, nil)
	c := &campaign.Campaign{Name: "Bin day change 2026", Purpose: "service",
		SMSBody:      "Your bin day is changing to Tuesday from 5 January.",
		LeafletTitle: "Your bin day is changing",
		LeafletBody: "Dear {{first_name}},\n\nFrom **5 January** we collect your bins on **Tuesdays**.\n\n" +
			"## What to do\n\n- Put your bins out by 7am on Tuesday.\n- Keep the lids closed.\n\n" +
			"Collection days for every street: https://www.millbrook-town-council.example/bins-and-recycling/collection-days-2026\n\n" +
			"Questions? [Contact the council](https://www.millbrook-town-council.example/contact).",
		Poll: &reply.Poll{Question: "Is Tuesday a good day for you?",
			Options: []reply.PollOption{{Key: "YES"}, {Key: "NO"}}}}
	ctxb := context.Background()
	if err := store.Create(ctxb, c, "general", "officer"); err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("%s/c/%d", site.url, c.ID)

	open(t, ctx, page, 404) // a draft is not public
	// A campaign reaching nobody can't be scheduled: one resident on paper.
	residents := filepath.Join(t.TempDir(), "residents.csv")
	if err := os.WriteFile(residents, []byte("First name,Surname,House number,Street,Postcode\n"+
		"Gwen,Price,3,Mill Lane,SW2 1RW\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := contact.NewStore(site.db, nil).Import(ctxb, contact.ImportOptions{Path: residents}); err != nil {
		t.Fatal(err)
	}
	if err := store.Schedule(ctxb, c.ID, time.Time{}, "officer", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := store.StartDue(ctxb, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.Get(ctxb, fmt.Sprint(c.ID)); got == nil || got.State != campaign.Sending {
		t.Fatalf("campaign is %+v, want it sending", got)
	}

	open(t, ctx, page, 200)
	wantText(t, "heading", text(t, ctx, "h1"), "Your bin day is changing")
	main := text(t, ctx, "main")
	wantText(t, "page", main, "Dear resident,")
	wantText(t, "page", main, "What to do")
	wantText(t, "page", main, "Is Tuesday a good day for you? Reply YES or NO")
	wantText(t, "page", main, "Want news like this by email or text? Sign up for updates.")
	checkPage(t, ctx, "campaign page")
}
