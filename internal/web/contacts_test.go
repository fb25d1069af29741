package web_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"html"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/web"
)

// contactResidents join newAppRig's paper residents (Ada, Ben and Cara at SW2 1RW, Dev
// at SW9 8AB): two with email, and Grace with a mobile and a landline as well.
const contactResidents = `First name,Surname,Email,Mobile,Phone,House number,Street,Town,Postcode,Ward,Language,Large print,Tags,Email consent,SMS consent
Grace,Hopper,grace@example.org,07700 900101,020 7946 0123,5,Brixton Hill,London,SW2 5AA,Tulse Hill,Welsh,Yes,volunteer;newsletter,Yes,
Alan,Turing,alan@example.org,,,7,Brixton Hill,London,SW2 5AA,Tulse Hill,,,,Yes,
`

// badContacts has one bad row (line 3): its email and its postcode are both invalid.
const badContacts = `First name,Surname,Email,Postcode,House number,Street
Hal,Good,hal@example.org,SW2 1RW,20,Acre Lane
Ivy,Bad,ivy@@example.org,XX9,21,Acre Lane
`

const goodContacts = `First name,Surname,Email,Mobile
Jan,Kowalski,jan@example.org,07700 900150
Kit,Marlowe,kit@example.org,
`

// personalData is what the contact pages show and the logs must never hold.
var personalData = []string{"grace@example.org", "Hopper", "+447700900101", "07700 900101", "ivy@@example.org",
	"Kowalski", "Which day are the bins"}

// logBuffer collects the server's log lines (written from several goroutines).
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type contactsRig struct {
	*appRig
	logs    *logBuffer
	web     *web.Server
	grace   int64
	mobile  int64 // Grace's mobile
	emailPt int64 // Grace's email
}

// newContactsRig is newAppRig with the contact pages served, more residents, and a
// history for Grace: her email bounced, she agreed to texts on a web form on 1 June 2025
// and withdrew by STOP on 1 July (BST), a campaign's email bounced in January (GMT) and
// its text was delivered in July, and she replied.
func newContactsRig(t *testing.T) *contactsRig {
	t.Helper()
	ctx := t.Context()
	r := &contactsRig{appRig: newAppRig(t), logs: &logBuffer{}}
	p := filepath.Join(t.TempDir(), "residents.csv")
	if err := os.WriteFile(p, []byte(contactResidents), 0o600); err != nil {
		t.Fatal(err)
	}
	cs := contact.NewStore(r.db, nil)
	if _, err := cs.Import(ctx, contact.ImportOptions{Path: p, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	var err error
	if r.grace, err = cs.FindByEmail(ctx, "grace@example.org"); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := r.db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := r.db.GetContext(ctx, &r.emailPt, `SELECT id FROM contact_points WHERE contact_id = $1 AND kind = 'email'`, r.grace); err != nil {
		t.Fatal(err)
	}
	if err := r.db.GetContext(ctx, &r.mobile, `SELECT id FROM contact_points WHERE kind = 'phone' AND value = '+447700900101'`); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE contact_points SET status = 'bounced', status_reason = 'mailbox does not exist' WHERE id = $1`, r.emailPt)
	exec(`INSERT INTO consents (contact_point_id, topic_id, status, source, recorded_at)
		SELECT $1, id, 'granted', 'web form', '2025-06-01 08:00:00+00' FROM topics WHERE slug = 'general'`, r.mobile)
	exec(`INSERT INTO consents (contact_point_id, topic_id, status, source, recorded_at)
		SELECT $1, id, 'withdrawn', 'SMS STOP', '2025-07-01 12:00:00+00' FROM topics WHERE slug = 'general'`, r.mobile)
	var runID int64
	if err := r.db.GetContext(ctx, &runID, `SELECT id FROM campaign_runs WHERE campaign_id = $1`, r.campaignID); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO outbox (run_id, campaign_id, contact_id, contact_point_id, channel, state, reason, sent_at) VALUES
		($1, $2, $3, $4, 'email', 'bounced', 'mailbox does not exist', '2025-01-15 09:00:00+00'),
		($1, $2, $3, $5, 'sms', 'delivered', '', '2025-07-01 09:05:00+00')`, runID, r.campaignID, r.grace, r.emailPt, r.mobile)
	var conv int64
	if err := r.db.GetContext(ctx, &conv, `INSERT INTO conversations (phone, contact_id) VALUES ('+447700900101', $1) RETURNING id`, r.grace); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO sms_messages (conversation_id, direction, body, campaign_id, keyword, at) VALUES
		($1, 'in', 'Which day are the bins now?', $2, '', '2025-07-01 10:00:00+00'),
		($1, 'in', 'STOP', $2, 'stop', '2025-07-01 12:00:00+00')`, conv, r.campaignID)

	signer, _ := email.NewSigner(bytes.Repeat([]byte("k"), 32))
	ws, err := web.New(web.Config{DB: r.db, Signer: signer, Branding: email.Branding{OrgName: "Millbrook Council"},
		Logger: slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		App:    &web.App{Auth: auth.NewStore(r.db), Rounds: printrun.NewStore(r.db), Inbox: inbox.NewStore(r.db, inbox.Config{}, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	r.web = ws
	r.srv = httptest.NewServer(ws.Handler()) // newAppRig's own server is closed by its cleanup
	t.Cleanup(r.srv.Close)
	return r
}

// officer returns a client signed in as the officer.
func (r *contactsRig) officer(t *testing.T) *http.Client {
	t.Helper()
	c := r.client(t)
	if res, _ := r.login(t, c, "jo@council.example", appPassword); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("officer login: %d", res.StatusCode)
	}
	return c
}

func (r *contactsRig) count(t *testing.T) int {
	t.Helper()
	n, err := contact.NewStore(r.db, nil).Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkLogs fails the test if the server logged any of the residents' personal data.
func (r *contactsRig) checkLogs(t *testing.T) {
	t.Helper()
	logs := r.logs.String()
	for _, s := range personalData {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds personal data %q:\n%s", s, logs)
		}
	}
}

// upload posts a CSV to the import form as a browser does: the CSRF token first, then
// the options, then the file.
func upload(t *testing.T, c *http.Client, u, csrf, name, content string, opts ...string) (int, string) {
	t.Helper()
	res := uploadResponse(t, c, u, csrf, name, content, opts...)
	return res.StatusCode, body(t, res)
}

func uploadResponse(t *testing.T, c *http.Client, u, csrf, name, content string, opts ...string) *http.Response {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if csrf != "" {
		mw.WriteField("csrf", csrf)
	}
	for _, o := range opts { // "dry_run", or "conflicts=skip"
		name, value, ok := strings.Cut(o, "=")
		if !ok {
			value = "1"
		}
		mw.WriteField(name, value)
	}
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(content))
	}
	mw.Close()
	res, err := c.Post(u+"/contacts/import", mw.FormDataContentType(), &b)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// jobPathRE is where an upload sends the browser: its import's job page.
var jobPathRE = regexp.MustCompile(`^/contacts/import/[A-Z2-7]{26}$`)

// importDeadline bounds the wait for an import to end.
const importDeadline = 2 * time.Minute

// importFile uploads a CSV as upload does, expecting the import to start (303 to its job
// page), and polls the job page until the import has ended. It returns the job page's
// path and the finished page.
func importFile(t *testing.T, c *http.Client, u, csrf, name, content string, opts ...string) (string, string) {
	t.Helper()
	job := startImport(t, c, u, csrf, name, content, opts...)
	return job, waitImport(t, c, u, job)
}

// startImport uploads a CSV and returns the path of the job page the upload leads to.
func startImport(t *testing.T, c *http.Client, u, csrf, name, content string, opts ...string) string {
	t.Helper()
	res := uploadResponse(t, c, u, csrf, name, content, opts...)
	b := body(t, res)
	job := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !jobPathRE.MatchString(job) {
		t.Fatalf("upload %s: %d → %q, want 303 to a job page\n%s", name, res.StatusCode, job, b)
	}
	return job
}

// waitImport polls the job page at path until its import has ended (the page carries
// data-live-done), and returns that page.
func waitImport(t *testing.T, c *http.Client, u, job string) string {
	t.Helper()
	deadline := time.Now().Add(importDeadline)
	for {
		code, _, b := page(t, c, u+job)
		if code != http.StatusOK {
			t.Fatalf("job page %s: %d\n%s", job, code, b)
		}
		if strings.Contains(b, "data-live-done") {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import at %s has not ended after %s:\n%s", job, importDeadline, b)
		}
		time.Sleep(20 * time.Millisecond) // a poll's pace, not an assertion
	}
}

// resultRE is one row of the search results' table.
var resultRE = regexp.MustCompile(`<th scope="row"><a href="/contacts/(\d+)">([^<]+)</a></th>`)

// names returns the names in the search results' table, in order.
func names(page string) []string {
	var out []string
	for _, m := range resultRE.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[2]))
	}
	return out
}

func TestContactsSearch(t *testing.T) {
	r := newContactsRig(t)
	c := r.officer(t)
	search := func(q string) (int, string) {
		t.Helper()
		code, _, b := page(t, c, r.srv.URL+"/contacts?q="+url.QueryEscape(q))
		return code, b
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"hopper", []string{"Grace Hopper"}},
		{"HOP", []string{"Grace Hopper"}},
		{"ada love", []string{"Ada Lovelace"}},
		{"07700 900101", []string{"Grace Hopper"}},
		{"+44 (0)7700 900101", []string{"Grace Hopper"}},
		{"sw21rw", []string{"Cara Jones", "Ada Lovelace", "Ben Okafor"}},
		{"SW2 1RW", []string{"Cara Jones", "Ada Lovelace", "Ben Okafor"}},
		{"SW2", []string{"Grace Hopper", "Cara Jones", "Ada Lovelace", "Ben Okafor", "Alan Turing"}},
		{"sw9 8", []string{"Dev Patel"}},
		{"GRACE@example", []string{"Grace Hopper"}},
		{"alan@example.org", []string{"Alan Turing"}},
		{"nobody", nil},
		{"100%_", nil},
		{"%", nil},
		{"o_", nil},
	} {
		code, b := search(tc.q)
		if code != http.StatusOK {
			t.Errorf("search %q: %d", tc.q, code)
			continue
		}
		if got := names(b); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("search %q found %q, want %q", tc.q, got, tc.want)
		}
	}
	// The results say how each resident can be reached, and link to them.
	_, b := search("hopper")
	if !strings.Contains(b, fmt.Sprintf(`<a href="/contacts/%d">Grace Hopper</a></th><td>Tulse Hill</td><td>Email (bounced), Mobile, Landline, Post</td>`, r.grace)) {
		t.Errorf("Grace's row:\n%s", b)
	}
	// A number too short to be one finds nobody, and says why.
	if _, b := search("0770"); names(b) != nil || !strings.Contains(b, "Type the whole phone number") {
		t.Errorf("search for part of a number:\n%s", b)
	}
	// No query lists the newest contacts first.
	if _, b := search(""); !strings.HasPrefix(strings.Join(names(b), "|"), "Grace Hopper|Alan Turing|") {
		t.Errorf("newest contacts: %q", names(b))
	}

	// 50 a page.
	var csv strings.Builder
	csv.WriteString("First name,Surname,Email\n")
	for i := range 55 {
		fmt.Fprintf(&csv, "Sam%02d,Smith,sam%02d@example.org\n", i, i)
	}
	p := filepath.Join(t.TempDir(), "smiths.csv")
	os.WriteFile(p, []byte(csv.String()), 0o600)
	if _, err := contact.NewStore(r.db, nil).Import(t.Context(), contact.ImportOptions{Path: p, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	_, b = search("smith")
	if got := names(b); len(got) != 50 || got[0] != "Sam00 Smith" || got[49] != "Sam49 Smith" ||
		!strings.Contains(b, `href="/contacts?page=2&amp;q=smith" rel="next"`) || strings.Contains(b, `rel="prev"`) {
		t.Errorf("first page of Smiths: %d %q", len(got), got)
	}
	_, _, b = page(t, c, r.srv.URL+"/contacts?page=2&q=smith")
	if got := names(b); len(got) != 5 || got[0] != "Sam50 Smith" || strings.Contains(b, `rel="next"`) ||
		!strings.Contains(b, `href="/contacts?q=smith" rel="prev"`) {
		t.Errorf("second page of Smiths: %q", got)
	}
	r.checkLogs(t)
}

func TestContactPage(t *testing.T) {
	r := newContactsRig(t)
	c := r.officer(t)
	res, err := c.Get(r.srv.URL + "/contacts/" + itoa(r.grace))
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("contact page: %d\n%s", res.StatusCode, b)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("Cache-Control: %q", cc)
	}
	for _, want := range []string{
		"<h1>Grace Hopper</h1>",
		"<dt>Address</dt><dd>5 Brixton Hill, London, SW2 5AA</dd>",
		"<dt>Ward</dt><dd>Tulse Hill</dd>",
		"<dt>Language</dt><dd>Welsh (cy)</dd>",
		"<dt>Large print</dt><dd>Yes</dd>",
		"<dt>Tags</dt><dd>volunteer, newsletter</dd>",
		// Channels, with their status.
		`<th scope="row">Email</th><td>grace@example.org</td><td>bounced: mailbox does not exist</td>`,
		`<th scope="row">Mobile</th><td>07700 900101 <span class="small">(a fictional number, for tests and demos)</span></td><td>active</td>`,
		`<th scope="row">Landline</th><td>020 7946 0123`,
		`<th scope="row">Post</th><td>5 Brixton Hill, London, SW2 5AA</td><td>active</td>`,
		// Consent history per topic, in London time (BST in July).
		"<h3>General news</h3>",
		`<td>Email grace@example.org</td><td>Granted (current)</td><td>import residents.csv row 2</td>`,
		`<td><time datetime="2025-06-01T09:00:00&#43;01:00">1 Jun 2025 09:00</time></td><td>Mobile 07700 900101</td><td>Granted</td><td>web form</td>`,
		`<td><time datetime="2025-07-01T13:00:00&#43;01:00">1 Jul 2025 13:00</time></td><td>Mobile 07700 900101</td><td>Withdrawn (current)</td><td>SMS STOP</td>`,
		// Messages sent, and the replies.
		`<td><time datetime="2025-07-01T10:05:00&#43;01:00">1 Jul 2025 10:05</time></td><td>Bin day leaflet</td><td>SMS<br><span class="small">to 07700 900101</span></td><td>delivered</td>`,
		`<td><time datetime="2025-01-15T09:00:00Z">15 Jan 2025 09:00</time></td><td>Bin day leaflet</td><td>Email<br><span class="small">to grace@example.org</span></td><td>bounced</td><td>mailbox does not exist</td>`,
		`<td>Resident (07700 900101)</td><td>Which day are the bins now?</td><td>Bin day leaflet</td>`,
		`STOP<br><span class="small">STOP: opted out of texts</span>`,
	} {
		if !strings.Contains(b, want) {
			t.Errorf("the contact page lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("contact page:\n%s", b)
	}
	// Unknown or malformed ids.
	for _, id := range []string{"999999", "0", "abc", "-1"} {
		if code, _, _ := page(t, c, r.srv.URL+"/contacts/"+id); code != http.StatusNotFound {
			t.Errorf("contact %s: %d", id, code)
		}
	}
	// A paper-only resident has no messages, no consent and no replies.
	var ada int64
	r.db.Get(&ada, `SELECT id FROM contacts WHERE first_name = 'Ada'`)
	_, _, b = page(t, c, r.srv.URL+"/contacts/"+itoa(ada))
	for _, want := range []string{"No consent has been recorded for Ada Lovelace.", "Ada Lovelace has not replied by text."} {
		if !strings.Contains(b, want) {
			t.Errorf("Ada's page lacks %q", want)
		}
	}
	r.checkLogs(t)
}

func TestContactsImport(t *testing.T) {
	r := newContactsRig(t)
	c := r.officer(t)
	code, _, form := page(t, c, r.srv.URL+"/contacts/import")
	m := csrfRE.FindStringSubmatch(form)
	if code != http.StatusOK || m == nil {
		t.Fatalf("import form: %d", code)
	}
	csrf := m[1]
	before := r.count(t)
	unchanged := func(what string) {
		t.Helper()
		if n := r.count(t); n != before {
			t.Errorf("%s: %d contacts, had %d", what, n, before)
		}
	}

	// One bad row: every problem named by file, line, column and header, in the CLI's
	// words, and nothing imported.
	_, emailErr := contact.NormalizeEmail("ivy@@example.org")
	_, postcodeErr := contact.NormalizePostcode("XX9")
	if emailErr == nil || postcodeErr == nil {
		t.Fatal("the bad row's values are valid")
	}
	job, b := importFile(t, c, r.srv.URL, csrf, "bad.csv", badContacts)
	_, _, live := page(t, c, r.srv.URL+job+"/live")
	for _, want := range []string{
		"<h2>Nothing was imported</h2>",
		"<li>" + html.EscapeString("bad.csv:3:3 (Email): "+emailErr.Error()) + "</li>",
		"<li>" + html.EscapeString("bad.csv:3:4 (Postcode): "+postcodeErr.Error()) + "</li>",
		"2 problems (invalid rows)",
		"bad.csv: 1 of 2 rows are invalid, so nothing was imported. Fix them and import again, or choose “Skip invalid rows” to import the valid row.",
	} {
		if !strings.Contains(b, want) {
			t.Errorf("the report lacks %s\n%s", want, b)
		}
		if !strings.Contains(live, want) {
			t.Errorf("the job page's live part lacks %s\n%s", want, live)
		}
	}
	unchanged("after a rejected file")
	var audit string
	r.db.Get(&audit, `SELECT status || ' ' || actor || ' ' || file_name FROM imports ORDER BY id DESC LIMIT 1`)
	if audit != "rejected jo@council.example bad.csv" {
		t.Errorf("audit of the rejected import: %q", audit)
	}

	// A dry run imports nothing, and says what it would do.
	_, b = importFile(t, c, r.srv.URL, csrf, "good.csv", goodContacts, "dry_run")
	if !strings.Contains(b, "good.csv checked (dry run, nothing written)") ||
		!strings.Contains(b, `Contacts that would be created</th><td id="created">2</td>`) {
		t.Errorf("dry run:\n%s", b)
	}
	unchanged("after a dry run")

	// A good file: the counts.
	_, b = importFile(t, c, r.srv.URL, csrf, `C:\Users\jo\Desktop\good.csv`, goodContacts)
	if !strings.Contains(b, "<h2>good.csv imported</h2>") ||
		!strings.Contains(b, `<td id="created">2</td>`) || !strings.Contains(b, `<td id="updated">0</td>`) ||
		!strings.Contains(b, `<td id="rejected">0</td>`) {
		t.Errorf("good file:\n%s", b)
	}
	if n := r.count(t); n != before+2 {
		t.Errorf("after a good file: %d contacts, had %d", n, before)
	}
	r.db.Get(&audit, `SELECT status || ' ' || actor || ' ' || file_name FROM imports ORDER BY id DESC LIMIT 1`)
	if audit != "completed jo@council.example good.csv" {
		t.Errorf("audit of the import: %q", audit)
	}
	var source string
	r.db.Get(&source, `SELECT c.source FROM consents c JOIN contact_points cp ON cp.id = c.contact_point_id
		WHERE cp.value = 'jan@example.org'`)
	if source != "" {
		t.Errorf("a file without consent columns recorded consent: %q", source)
	}
	// Importing it again matches the same people and changes nothing: nobody is created or updated.
	if _, b = importFile(t, c, r.srv.URL, csrf, "good.csv", goodContacts); !strings.Contains(b, `<td id="created">0</td>`) ||
		!strings.Contains(b, `<td id="updated">0</td>`) {
		t.Errorf("the same file again:\n%s", b)
	}
	before += 2

	// Skipping invalid rows imports the good one and lists the bad one.
	_, b = importFile(t, c, r.srv.URL, csrf, "bad.csv", badContacts, "skip_invalid")
	if !strings.Contains(b, `<td id="created">1</td>`) || !strings.Contains(b, `<td id="rejected">1</td>`) ||
		!strings.Contains(b, "2 problems (skipped rows)") ||
		!strings.Contains(b, "<li>"+html.EscapeString("bad.csv:3:3 (Email): "+emailErr.Error())+"</li>") {
		t.Errorf("skip invalid rows:\n%s", b)
	}
	if n := r.count(t); n != before+1 {
		t.Errorf("after skipping invalid rows: %d contacts, had %d", n, before)
	}
	before++

	// Files that can't be imported at all, each with its reason tied to the file field.
	for _, tc := range []struct{ name, content, want string }{
		{"", "", "Choose a CSV file to import."},
		{"empty.csv", "", "empty.csv is empty."},
		{"book.xlsx", "PK\x03\x04\x14\x00\x06\x00", "is a spreadsheet workbook, not a CSV file"},
		{"names.csv", "First name,Surname\nAda,Lovelace\n", "No column of names.csv holds an email address, a phone number, a street or an address"},
		{"twice.csv", "Email,E-mail address\na@example.org,b@example.org\n", `The columns &#34;Email&#34; and &#34;E-mail address&#34; of twice.csv would both be read as email.`},
	} {
		code, b := upload(t, c, r.srv.URL, csrf, tc.name, tc.content)
		if code != http.StatusUnprocessableEntity || !strings.Contains(b, tc.want) || !strings.Contains(b, `aria-describedby="file-hint import-error"`) {
			t.Errorf("%q: %d, want %q\n%s", tc.name, code, tc.want, b)
		}
	}
	// A file that stops being CSV part of the way through passes the quick checks; its
	// import names the line.
	_, b = importFile(t, c, r.srv.URL, csrf, "quote.csv", "First name,Email\nAda,\"ada@example.org\nBen,ben@example.org\n")
	if !strings.Contains(b, "quote.csv is not valid CSV all the way through, so nothing was imported.") || !strings.Contains(b, "<li>quote.csv:2:") {
		t.Errorf("a file that stops being CSV:\n%s", b)
	}
	unchanged("after unusable files")

	// Without the form's token, or with a forged one, nothing happens.
	for _, token := range []string{"", "forged"} {
		if code, _ := upload(t, c, r.srv.URL, token, "good2.csv", "Email\nnew@example.org\n"); code != http.StatusForbidden {
			t.Errorf("upload with CSRF token %q: %d", token, code)
		}
	}
	unchanged("after uploads without the token")

	// The form lists the recent imports.
	_, _, form = page(t, c, r.srv.URL+"/contacts/import")
	if !strings.Contains(form, "Imported: 2 rows, 2 created, 0 updated") || !strings.Contains(form, "Nothing imported: 1 of 2 rows invalid") {
		t.Errorf("recent imports:\n%s", form)
	}
	r.checkLogs(t)
}

func TestContactsNeedAnOfficer(t *testing.T) {
	r := newContactsRig(t)
	pages := []string{"/contacts", "/contacts?q=hopper", "/contacts/" + itoa(r.grace), "/contacts/import",
		"/contacts/" + itoa(r.grace) + "/data", "/contacts/" + itoa(r.grace) + "/data.json"}
	before := r.count(t)

	anon := r.client(t)
	for _, p := range pages {
		if code, loc, _ := page(t, anon, r.srv.URL+p); code != http.StatusSeeOther || loc != "/login?next="+url.QueryEscape(p) {
			t.Errorf("anonymous GET %s: %d → %q", p, code, loc)
		}
	}
	if code, _ := upload(t, anon, r.srv.URL, "x", "good.csv", goodContacts); code != http.StatusUnauthorized {
		t.Errorf("anonymous upload: %d", code)
	}

	vol := r.client(t)
	r.login(t, vol, "sam@volunteers.example", appPassword)
	for _, p := range pages {
		if code, _, b := page(t, vol, r.srv.URL+p); code != http.StatusForbidden || strings.Contains(b, "Hopper") {
			t.Errorf("volunteer GET %s: %d", p, code)
		}
	}
	_, _, rounds := page(t, vol, r.srv.URL+"/rounds")
	m := csrfRE.FindStringSubmatch(rounds)
	if m == nil {
		t.Fatal("no CSRF token on the volunteer's page")
	}
	if code, _ := upload(t, vol, r.srv.URL, m[1], "good.csv", goodContacts); code != http.StatusForbidden {
		t.Errorf("volunteer upload with their own token: %d", code)
	}
	if n := r.count(t); n != before {
		t.Errorf("refused uploads imported %d contacts", n-before)
	}

	// A file over the limit is refused before it is read.
	conn, err := net.Dial("tcp", strings.TrimPrefix(r.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /contacts/import HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n", 300<<20)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := body(t, res); res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(b, "This file is too big") {
		t.Errorf("a 300 MB upload: %d\n%s", res.StatusCode, b)
	}
}

// TestBrowserContactsOfficer: an officer signs in, searches, opens a resident, and
// uploads a CSV with a bad row through the form; the import's job page names the row. axe finds
// nothing on any page.
func TestBrowserContactsOfficer(t *testing.T) {
	r := newContactsRig(t)
	ctx := newBrowser(t)
	before := r.count(t)

	open(t, ctx, r.srv.URL+"/contacts", 200) // redirected to sign in
	browse(t, ctx, "sign in as the officer",
		chromedp.SendKeys(chromedp.CSS("#email"), "jo@council.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "Contacts" {
		t.Fatalf("after signing in: %q", h)
	}
	checkPage(t, ctx, "contacts")

	browse(t, ctx, "search", chromedp.SendKeys(chromedp.CSS("#q"), "07700 900101"))
	submit(t, ctx, "form[role=search] button[type=submit]", 200)
	if s := text(t, ctx, "main table tbody"); !strings.Contains(s, "Grace Hopper") || strings.Contains(s, "Turing") {
		t.Fatalf("search results: %q", s)
	}
	checkPage(t, ctx, "search results")

	submit(t, ctx, "main table tbody a", 200)
	if h := text(t, ctx, "h1"); h != "Grace Hopper" {
		t.Fatalf("contact page: %q", h)
	}
	checkPage(t, ctx, "a contact")

	open(t, ctx, r.srv.URL+"/contacts/import", 200)
	checkPage(t, ctx, "import form")
	p := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(p, []byte(badContacts), 0o600); err != nil {
		t.Fatal(err)
	}
	browse(t, ctx, "choose the file", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{p}))
	// The upload leads to the import's job page, which shows the report when the import
	// ends (at once, or brought in by live.js).
	submit(t, ctx, "form[enctype='multipart/form-data'] button[type=submit]", 200)
	if job := evaluate[string](t, ctx, "the job page's address", `location.pathname`); !jobPathRE.MatchString(job) {
		t.Fatalf("the upload led to %s, not a job page", job)
	}
	wctx, cancel := context.WithTimeout(ctx, importDeadline)
	defer cancel()
	if _, err := chromedp.Run(wctx, chromedp.WaitVisible(chromedp.CSS("#import-job [data-live-done] #import-problems"))); err != nil {
		t.Fatalf("the report never arrived: %v", err)
	}
	_, emailErr := contact.NormalizeEmail("ivy@@example.org")
	if s := text(t, ctx, "#import-problems"); !strings.Contains(s, "bad.csv:3:3 (Email): "+emailErr.Error()) {
		t.Errorf("the report: %q", s)
	}
	if s := text(t, ctx, "#import-error p"); !strings.Contains(s, "nothing was imported") {
		t.Errorf("the report's summary: %q", s)
	}
	checkPage(t, ctx, "import report")
	if n := r.count(t); n != before {
		t.Errorf("a rejected upload imported %d contacts", n-before)
	}
	r.checkLogs(t)
}
