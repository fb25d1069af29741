package web_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/segment"
)

// hrefs returns the unescaped links in doc that match re (a regexp on the raw href).
func hrefs(doc, re string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`href="(`+re+`)"`).FindAllStringSubmatch(doc, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// listState reads a list link's query string.
func listState(t *testing.T, link string) url.Values {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// TestListsKeepTheirState: every link a list draws (column headers, pages) and its filter
// form carry the sort, the filters and the page, so the list works without JavaScript;
// a sort key that is not a column is ignored.
func TestListsKeepTheirState(t *testing.T) {
	r := newResultsRig(t)
	off := r.signIn(t, r.officer)

	code, _, doc := page(t, off, r.url+"/campaigns?sort=name&dir=desc&state=sending&channel=email&q=re&page=1")
	if code != http.StatusOK {
		t.Fatalf("campaigns: %d", code)
	}
	// The sorted column says so, and its link sorts the other way, filters kept.
	if !strings.Contains(doc, `<th scope="col" aria-sort="descending"><a href="/campaigns?channel=email&amp;dir=asc&amp;q=re&amp;sort=name&amp;state=sending">Campaign`) {
		t.Errorf("the name column's header:\n%s", doc)
	}
	if n := strings.Count(doc, "aria-sort="); n != 1 {
		t.Errorf("%d columns say they are sorted", n)
	}
	for _, link := range hrefs(doc, `/campaigns\?[^"]*sort=(?:created|state|scheduled|sent)[^"]*`) {
		q := listState(t, link)
		if q.Get("state") != "sending" || q.Get("channel") != "email" || q.Get("q") != "re" || q.Get("page") != "" {
			t.Errorf("a header's link drops the filters: %s", link)
		}
	}
	// The filter form keeps the sort (and its fields show the filters).
	for _, want := range []string{`<input type="hidden" name="sort" value="name">`, `<input type="hidden" name="dir" value="desc">`,
		`<option value="sending" selected>Sending</option>`, `<option value="email" selected>Email</option>`, `name="q" value="re"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("the filter form lacks %s", want)
		}
	}
	if got := resultsTable(t, doc, "campaigns").rows(); len(got) != 2 || !strings.HasPrefix(got[0].texts()[0], "Recycling news") {
		t.Errorf("sending campaigns with an email matching “re”: %d rows", len(got))
	}
	if !strings.Contains(doc, `<a href="/campaigns?dir=desc&amp;sort=name">Clear filters</a>`) {
		t.Errorf("no link clears the filters but keeps the sort")
	}

	// Keys that are not columns, states that don't exist: ignored, not an error.
	code, _, doc = page(t, off, r.url+"/campaigns?sort=c.id%3BDROP+TABLE+campaigns&state=exploded&channel=fax&page=-3")
	if code != http.StatusOK || !strings.Contains(doc, `aria-sort="descending"><a href="/campaigns?dir=asc">Created`) ||
		len(resultsTable(t, doc, "campaigns").rows()) != 3 || strings.Contains(doc, "Clear filters") {
		t.Errorf("nonsense in the query string (%d):\n%s", code, doc)
	}

	// Past the last page: nothing shown, and a way back.
	_, _, doc = page(t, off, r.url+"/campaigns?page=4")
	if !strings.Contains(doc, "There are no campaigns on page 4.") || !strings.Contains(doc, `href="/campaigns" rel="prev"`) || strings.Contains(doc, `rel="next"`) {
		t.Errorf("page 4 of 1:\n%s", doc)
	}

	// Replies: the filters are read, kept, and shown.
	code, _, doc = page(t, off, r.url+"/replies?unread=yes&assigned=-&sort=from&campaign="+itoa(r.campaign))
	if code != http.StatusOK {
		t.Fatalf("replies: %d", code)
	}
	head, _, _ := strings.Cut(doc[strings.Index(doc, "<thead>"):], "</thead>")
	if links := hrefs(head, `/replies\?[^"]*`); len(links) != 4 {
		t.Errorf("%d sortable columns on the replies", len(links))
	}
	for _, link := range hrefs(head, `/replies\?[^"]*`) {
		q := listState(t, link)
		if q.Get("unread") != "1" || q.Get("assigned") != "-" || q.Get("campaign") != itoa(r.campaign) {
			t.Errorf("a replies link drops the filters: %s", link)
		}
	}
	if !strings.Contains(doc, `id="unread" name="unread" value="1" checked`) || !strings.Contains(doc, `<option value="-" selected>Nobody</option>`) ||
		!strings.Contains(doc, `aria-sort="ascending"><a href="/replies?assigned=-&amp;campaign=`+itoa(r.campaign)+`&amp;dir=desc&amp;sort=from&amp;unread=1">From`) {
		t.Errorf("replies' filters:\n%s", doc)
	}
	if !strings.Contains(doc, "<time datetime=") {
		t.Errorf("the replies have no times")
	}
	// Someone nobody is assigned to is no filter.
	if _, _, doc = page(t, off, r.url+"/replies?assigned=Mallory"); strings.Contains(doc, "Mallory") {
		t.Errorf("an unknown assignee is echoed back")
	}

	// Segments: the purpose counted for is kept by the headers and the search's reset.
	if _, err := segment.NewStore(r.db).Create(t.Context(), "Millbrook 100%", "", segment.Rule{Field: "ward", Op: "eq", Value: "Millbrook"}, "jo"); err != nil {
		t.Fatal(err)
	}
	_, _, doc = page(t, off, r.url+"/segments?purpose=marketing&q=100%25&sort=updated")
	if !strings.Contains(doc, `<a href="/segments?purpose=marketing&amp;q=100%25">Segment`) ||
		!strings.Contains(doc, `<a href="/segments?dir=desc&amp;purpose=marketing&amp;sort=updated">Clear the search</a>`) ||
		!strings.Contains(doc, `<option value="marketing" selected>`) || !strings.Contains(doc, "Showing 1–1 of 1") {
		t.Errorf("segments' state:\n%s", doc)
	}
	if _, _, doc = page(t, off, r.url+"/segments?q=nobody"); !strings.Contains(doc, "No segments match “nobody”") {
		t.Errorf("a search for no segment:\n%s", doc)
	}
}

// TestContactsExport: GET /contacts/export.csv is the CLI's export (byte-order mark,
// numbers kept as text, Arabic as it is), for officers only, on the audit log with its
// row count; with the list's search only what the list shows.
func TestContactsExport(t *testing.T) {
	r := newContactsRig(t)
	p := filepath.Join(t.TempDir(), "more.csv")
	if err := os.WriteFile(p, []byte("First name,Surname,Email,Mobile,Notes\nمحمد,رحمن,mohammed@example.org,07700 900555,=1+1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := contact.NewStore(r.db, nil).Import(t.Context(), contact.ImportOptions{Path: p, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	c := r.officer(t)
	total := r.count(t)

	_, _, doc := page(t, c, r.srv.URL+"/contacts")
	if want := fmt.Sprintf("Export all %d contacts (CSV)", total); !strings.Contains(doc, want) || !strings.Contains(doc, `action="/contacts/export.csv"`) {
		t.Errorf("the contacts page offers no export of all %d:\n%s", total, doc)
	}
	_, _, doc = page(t, c, r.srv.URL+"/contacts?q=hopper")
	if !strings.Contains(doc, "Export this contact (CSV)") || !strings.Contains(doc, `<input type="hidden" name="q" value="hopper">`) {
		t.Errorf("the filtered list offers no export of what it shows:\n%s", doc)
	}

	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		res, err := c.Get(r.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		return res, []byte(body(t, res))
	}
	res, b := get("/contacts/export.csv")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), `attachment; filename="crier-contacts-`) ||
		res.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("export: %d %v", res.StatusCode, res.Header)
	}
	// The same file as `crier contacts export`.
	var cli bytes.Buffer
	if _, err := contact.NewStore(r.db, nil).Export(t.Context(), &cli, contact.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, cli.Bytes()) {
		t.Errorf("the web's export differs from the CLI's:\n%s\n---\n%s", b, cli.Bytes())
	}
	body, ok := bytes.CutPrefix(b, []byte("\ufeff"))
	if !ok {
		t.Fatalf("no byte-order mark: %q", b[:10])
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs)-1 != total {
		t.Errorf("%d rows for %d contacts", len(recs)-1, total)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var found bool
	for _, rec := range recs[1:] {
		if rec[col["First name"]] == "محمد" {
			found = true
			if rec[col["Surname"]] != "رحمن" || rec[col["Mobile"]] != "07700 900555" || rec[len(rec)-1] != "'=1+1" {
				t.Errorf("Mohammed's row: %q", rec)
			}
		}
	}
	if !found {
		t.Errorf("no row for Mohammed:\n%s", body)
	}
	if !strings.Contains(string(body), `"07700 900555"`) {
		t.Errorf("the mobile is not a quoted text cell")
	}
	var detail string
	if err := r.db.Get(&detail, `SELECT detail::text FROM audit_log WHERE action = 'contacts.export' AND actor = 'jo@council.example' ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatalf("no audit entry: %v", err)
	}
	if want := fmt.Sprintf(`"rows": %d`, total); !strings.Contains(detail, want) {
		t.Errorf("audit detail %s, want %s", detail, want)
	}

	// Filtered: what the list shows, and the audit log says how it was narrowed, not by what.
	res, b = get("/contacts/export.csv?q=" + url.QueryEscape("07700 900555"))
	recs, err = csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
	if err != nil || res.StatusCode != http.StatusOK || len(recs) != 2 || recs[1][col["First name"]] != "محمد" {
		t.Errorf("export of one number: %d %q %v", res.StatusCode, recs, err)
	}
	if err := r.db.Get(&detail, `SELECT detail::text FROM audit_log WHERE action = 'contacts.export' ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, `"rows": 1`) || !strings.Contains(detail, `"search": "phone"`) || strings.Contains(detail, "900555") {
		t.Errorf("filtered export's audit detail: %s", detail)
	}
	_, b = get("/contacts/export.csv?channel=mobile")
	recs, _ = csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
	var mobiles int
	if err := r.db.Get(&mobiles, `SELECT count(DISTINCT contact_id) FROM contact_points WHERE kind = 'phone' AND phone_type = 'mobile' AND status = 'active'`); err != nil {
		t.Fatal(err)
	}
	if len(recs)-1 != mobiles || mobiles < 2 {
		t.Errorf("export of those with a mobile: %d rows, %d have one", len(recs)-1, mobiles)
	}

	// Officers only.
	vol := r.client(t)
	r.login(t, vol, "sam@volunteers.example", appPassword)
	if res, err := vol.Get(r.srv.URL + "/contacts/export.csv"); err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("a volunteer's export: %v %v", res.StatusCode, err)
	}
	if res, err := r.client(t).Get(r.srv.URL + "/contacts/export.csv"); err != nil || res.StatusCode != http.StatusSeeOther {
		t.Errorf("an anonymous export: %v %v", res.StatusCode, err)
	}
	r.checkLogs(t)
}

// TestWideOfficersPages: officers' pages are wide and mark their section in the service
// navigation; residents' and volunteers' pages keep the reading column.
func TestWideOfficersPages(t *testing.T) {
	r := newAppRig(t)
	off := r.client(t)
	r.login(t, off, "jo@council.example", appPassword)
	vol := r.client(t)
	r.login(t, vol, "sam@volunteers.example", appPassword)
	for _, tc := range []struct {
		c       *http.Client
		path    string
		wide    bool
		current string // the navigation's current section's link
	}{
		{off, "/campaigns", true, `<a href="/campaigns" aria-current="page">Campaigns</a>`},
		{off, "/contacts", true, `<a href="/contacts" aria-current="page">Contacts</a>`},
		{off, "/replies", true, `<a href="/replies" aria-current="page">Replies</a>`},
		{off, "/segments", true, `<a href="/segments" aria-current="page">Segments</a>`},
		{off, "/reach", true, `<a href="/reach" aria-current="page">Reach</a>`},
		{off, "/", true, `<a href="/" aria-current="page">Dashboard</a>`},
		{off, "/rounds", true, `<a href="/rounds" aria-current="page">Rounds</a>`},
		{vol, "/rounds", false, `<a href="/rounds" aria-current="page">My rounds</a>`},
		{r.client(t), "/login", false, ""},
	} {
		code, _, doc := page(t, tc.c, r.srv.URL+tc.path)
		if code != http.StatusOK {
			t.Errorf("%s: %d", tc.path, code)
			continue
		}
		if wide := strings.Contains(doc, `<main id="main" class="wide">`); wide != tc.wide || !strings.Contains(doc, `<main id="main"`) {
			t.Errorf("%s: wide %v, want %v", tc.path, wide, tc.wide)
		}
		if n := strings.Count(doc, `aria-current="page"`); tc.current != "" && (n != 1 || !strings.Contains(doc, tc.current)) {
			t.Errorf("%s: %d sections marked current, want %s", tc.path, n, tc.current)
		}
		if tc.current == "" && strings.Contains(doc, `class="appnav`) {
			t.Errorf("%s: a signed-out page has the navigation", tc.path)
		}
	}
	// Sign out is in the header bar, not the navigation.
	_, _, doc := page(t, off, r.srv.URL+"/campaigns")
	header, _, _ := strings.Cut(doc, "</header>")
	if !strings.Contains(header, `<form method="post" action="/logout">`) || !strings.Contains(header, "Signed in as Jo Officer") {
		t.Errorf("the header bar:\n%s", header)
	}
}
