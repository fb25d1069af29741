package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/email"
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
	srv, err := web.New(web.Config{DB: d, Signer: signer,
		Composer: email.NewComposer(d, email.ComposerConfig{Signer: signer}),
		Branding: email.Branding{OrgName: "Millbrook Town Council"}})
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
}

// consents lists a contact point's consent history for a topic, oldest first.
func (s *residentSite) consents(t *testing.T, pointID, topicID int64) []consentRow {
	t.Helper()
	var rows []consentRow
	if err := s.db.Select(&rows, `SELECT status, source FROM consents WHERE contact_point_id = $1 AND topic_id = $2
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
	if len(got) != 1 || got[0] != (consentRow{Status: "withdrawn", Source: "email unsubscribe link"}) {
		t.Fatalf("consents after the button = %+v, want one withdrawal from the email unsubscribe link", got)
	}

	open(t, ctx, link, 200)
	wantText(t, "second visit", text(t, ctx, "main"), "You have already unsubscribed from emails about General news.")
	checkPage(t, ctx, "already unsubscribed")
	if got := site.consents(t, points[0], topicID); len(got) != 1 {
		t.Fatalf("a second visit changed the consents: %+v", got)
	}
}

// The preferences page lists every email the resident can get, each with its own stop
// button; a long address must not push the page sideways on a phone.
func TestBrowserPreferences(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	site := newResidentSite(t)
	general := site.topic(t, "general", "General news")
	site.topic(t, "roadworks", "Roadworks and closures")
	contactID, points := site.resident(t, "Bea", "bea@example.org",
		"beatrice.fitzwilliam.montgomery@millbrookanddistrictparish.example.org")

	open(t, ctx, site.url+"/p/"+site.signer.Token("preferences", contactID), 200)
	wantText(t, "heading", text(t, ctx, "h1"), "Your email preferences")
	main := text(t, ctx, "main")
	wantText(t, "page", main, "These are the emails you can get from us.")
	wantText(t, "page", main, "Roadworks and closures to beatrice.fitzwilliam.montgomery@millbrookanddistrictparish.example.org")
	if n := evaluate[int](t, ctx, "count buttons", `document.querySelectorAll('main li form button').length`); n != 4 {
		t.Fatalf("%d stop buttons, want 4 (2 topics × 2 addresses)", n)
	}
	checkPage(t, ctx, "preferences")

	// Stop General news to bea@example.org: the first line (topics by name, then address).
	submit(t, ctx, `main li:first-child form button`, 200)
	wantText(t, "result heading", text(t, ctx, "h1"), "You have unsubscribed")
	got := site.consents(t, points[0], general)
	if len(got) != 1 || got[0] != (consentRow{Status: "withdrawn", Source: "email unsubscribe link"}) {
		t.Fatalf("consents after the stop button = %+v, want one withdrawal", got)
	}

	open(t, ctx, site.url+"/p/"+site.signer.Token("preferences", contactID), 200)
	wantText(t, "first line after stopping", text(t, ctx, "main li:first-child"),
		"General news to bea@example.org: you have unsubscribed")
	if n := evaluate[int](t, ctx, "count buttons", `document.querySelectorAll('main li form button').length`); n != 3 {
		t.Fatalf("%d stop buttons after stopping one, want 3", n)
	}
	checkPage(t, ctx, "preferences, one stopped")

	// A resident we only text has no emails to manage.
	nobody, _ := site.resident(t, "Cy")
	open(t, ctx, site.url+"/p/"+site.signer.Token("preferences", nobody), 200)
	wantText(t, "no-email page", text(t, ctx, "main"), "We have no email address for you, so there is nothing to change here.")
	checkPage(t, ctx, "preferences without email")
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
	site := newResidentSite(t)
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
	checkPage(t, ctx, "campaign page")
}
