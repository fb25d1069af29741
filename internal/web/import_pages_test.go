package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/contact"
)

// officerCSRF returns the import form's CSRF token for c.
func officerCSRF(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	code, _, form := page(t, c, base+"/contacts/import")
	m := csrfRE.FindStringSubmatch(form)
	if code != http.StatusOK || m == nil {
		t.Fatalf("import form: %d", code)
	}
	return m[1]
}

// TestContactsImportNamesEveryBadRow: a big upload (net/http keeps it on disk) with bad
// rows scattered through it ends, on its job page, with every bad row named in the CLI's
// words and in file order, and nothing imported; the upload's temporary files are gone
// by the time the page says the import has ended.
func TestContactsImportNamesEveryBadRow(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the server saves uploads
	r := newContactsRig(t)
	c := r.officer(t)
	csrf := officerCSRF(t, c, r.srv.URL)
	before := r.count(t)

	// 4,000 rows of about 10 KB (the last column is ignored): 40 MB, over the 32 MB that
	// net/http keeps in memory.
	const rows = 4000
	pad := strings.Repeat("x", 10<<10)
	bad := map[int]string{3: "email", 1200: "postcode", 2999: "email", rows + 1: "both"} // by line
	var csv strings.Builder
	csv.WriteString("First name,Surname,Email,Postcode,House number,Street,-\n")
	for line := 2; line <= rows+1; line++ {
		em, pc := fmt.Sprintf("p%d@example.org", line), "SW2 1RW"
		switch bad[line] {
		case "email":
			em = fmt.Sprintf("p%d@@example.org", line)
		case "postcode":
			pc = "XX9"
		case "both":
			em, pc = fmt.Sprintf("p%d@@example.org", line), "XX9"
		}
		fmt.Fprintf(&csv, "P%d,Person,%s,%s,%d,Acre Lane,%s\n", line, em, pc, line, pad)
	}
	_, postcodeErr := contact.NormalizePostcode("XX9")
	emailErr := func(line int) string {
		_, err := contact.NormalizeEmail(fmt.Sprintf("p%d@@example.org", line))
		return err.Error()
	}
	want := []string{
		"big.csv:3:3 (Email): " + emailErr(3),
		"big.csv:1200:4 (Postcode): " + postcodeErr.Error(),
		"big.csv:2999:3 (Email): " + emailErr(2999),
		fmt.Sprintf("big.csv:%d:3 (Email): %s", rows+1, emailErr(rows+1)),
		fmt.Sprintf("big.csv:%d:4 (Postcode): %s", rows+1, postcodeErr),
	}

	job, b := importFile(t, c, r.srv.URL, csrf, "big.csv", csv.String())
	var got []string
	for _, m := range regexp.MustCompile(`<li>([^<]*)</li>`).FindAllStringSubmatch(b, -1) {
		got = append(got, html.UnescapeString(m[1]))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the bad rows named:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, w := range []string{"<h2>Nothing was imported</h2>", "5 problems (invalid rows)",
		fmt.Sprintf("big.csv: 4 of %d rows are invalid, so nothing was imported. Fix them and import again, or choose “Skip invalid rows” to import the %d valid rows.", rows, rows-4)} {
		if !strings.Contains(b, w) {
			t.Errorf("the report lacks %s", w)
		}
	}
	if strings.Contains(b, "<progress") || strings.Contains(b, `id="import-refresh"`) {
		t.Error("the finished job page still shows progress")
	}
	// The live part says the same, and tells live.js to stop.
	code, _, live := page(t, c, r.srv.URL+job+"/live")
	if code != http.StatusOK || !strings.Contains(live, "data-live-done") || !strings.Contains(live, html.EscapeString(want[4])) ||
		strings.Contains(live, "<html") {
		t.Errorf("the live part of a finished job: %d\n%s", code, live)
	}
	if n := r.count(t); n != before {
		t.Errorf("a rejected file imported %d contacts", n-before)
	}
	var audit string
	r.db.Get(&audit, `SELECT status || ' ' || rows_total || ' ' || rows_rejected FROM imports ORDER BY id DESC LIMIT 1`)
	if audit != fmt.Sprintf("rejected %d 4", rows) {
		t.Errorf("audit of the rejected import: %q", audit)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "crier-import-") {
			t.Errorf("the upload's directory %s is still there after the import ended", e.Name())
		}
	}
	r.checkLogs(t)
	if logs := r.logs.String(); strings.Contains(logs, "@@example.org") || strings.Contains(logs, "P1200") {
		t.Errorf("the log holds the file's data:\n%s", logs)
	}
}

// TestContactsImportJobNeedsItsOfficer: only the officer who uploaded a file sees its job
// page and the page's live part; an anonymous browser is sent to sign in (the live part,
// fetched by live.js, gets 401 rather than the sign-in page), a volunteer is refused,
// and another officer, an unknown id or a restarted server get the notice that the
// progress is no longer available, above the recent imports.
func TestContactsImportJobNeedsItsOfficer(t *testing.T) {
	r := newContactsRig(t)
	jo := r.officer(t)
	job, _ := importFile(t, jo, r.srv.URL, officerCSRF(t, jo, r.srv.URL), "good.csv", goodContacts)
	if code, _, b := page(t, jo, r.srv.URL+job); code != http.StatusOK || !strings.Contains(b, "<h2>good.csv imported</h2>") {
		t.Fatalf("Jo's job page: %d", code)
	}

	anon := r.client(t)
	if code, loc, _ := page(t, anon, r.srv.URL+job); code != http.StatusSeeOther || loc != "/login?next="+url.QueryEscape(job) {
		t.Errorf("anonymous job page: %d → %q", code, loc)
	}
	if code, loc, b := page(t, anon, r.srv.URL+job+"/live"); code != http.StatusUnauthorized || loc != "" || strings.Contains(b, "good.csv") {
		t.Errorf("anonymous live part: %d → %q\n%s", code, loc, b)
	}

	vol := r.client(t)
	r.login(t, vol, "sam@volunteers.example", appPassword)
	for _, p := range []string{job, job + "/live"} {
		if code, _, b := page(t, vol, r.srv.URL+p); code != http.StatusForbidden || strings.Contains(b, "good.csv") {
			t.Errorf("volunteer GET %s: %d", p, code)
		}
	}

	gone := "This import’s progress is no longer available; see <a href=\"#recent-imports\">Recent imports</a> below."
	goneLive := func(who string, c *http.Client, base, p string) {
		t.Helper()
		if code, _, b := page(t, c, base+p+"/live"); code != http.StatusOK || !strings.Contains(b, gone) ||
			!strings.Contains(b, "data-live-done") || strings.Contains(b, "good.csv") {
			t.Errorf("%s: live part of %s: %d\n%s", who, p, code, b)
		}
	}
	if _, err := auth.NewStore(r.db).Add(t.Context(), "lee@council.example", "Lee Officer", auth.Officer, appPassword); err != nil {
		t.Fatal(err)
	}
	lee := signInAt(t, r.srv.URL, "lee@council.example")
	if code, _, b := page(t, lee, r.srv.URL+job); code != http.StatusNotFound || !strings.Contains(b, gone) || strings.Contains(b, "good.csv imported") {
		t.Errorf("another officer's view of Jo's job page: %d\n%s", code, b)
	}
	goneLive("another officer", lee, r.srv.URL, job)

	for _, p := range []string{"/contacts/import/AAAAAAAAAAAAAAAAAAAAAAAAAA", "/contacts/import/x"} {
		code, _, b := page(t, jo, r.srv.URL+p)
		if code != http.StatusNotFound || !strings.Contains(b, gone) || !strings.Contains(b, `<h2 id="recent-imports">Recent imports</h2>`) ||
			!strings.Contains(b, "Imported: 2 rows, 2 created, 0 updated") {
			t.Errorf("unknown job %s: %d\n%s", p, code, b)
		}
		goneLive("unknown job", jo, r.srv.URL, p)
	}

	// Another server on the same database (a second crier serve, or this one restarted
	// while the first still runs) shows the job as it goes, and its report when it ends.
	held, release := r.web.HoldImports(t)
	var csv strings.Builder
	csv.WriteString("First name,Surname,Email\n")
	for i := range 3000 {
		fmt.Fprintf(&csv, "Q%d,Person,q%d@example.org\n", i, i)
	}
	running := startImport(t, jo, r.srv.URL, officerCSRF(t, jo, r.srv.URL), "slow.csv", csv.String())
	<-held
	if code, _, b := page(t, jo, r.srv.URL+running); code != http.StatusOK || !strings.Contains(b, "<progress") ||
		!strings.Contains(b, "<h2>Importing slow.csv</h2>") || strings.Contains(b, "data-live-done") {
		t.Errorf("a running job's page: %d\n%s", code, b)
	}
	other := r.server(t, "other-instance")
	if err := other.web.RecoverImports(t.Context()); err != nil {
		t.Fatal(err)
	}
	jo2 := signInAt(t, other.srv.URL, "jo@council.example")
	if code, _, b := page(t, jo2, other.srv.URL+running); code != http.StatusOK || !strings.Contains(b, "<h2>Importing slow.csv</h2>") ||
		!strings.Contains(b, "<td>slow.csv</td><td>jo@council.example</td><td>Running</td>") {
		t.Errorf("a running job's page on another server: %d\n%s", code, b)
	}
	release()
	if b := waitImport(t, jo2, other.srv.URL, running); !strings.Contains(b, `<td id="created">3000</td>`) {
		t.Errorf("the held import, released, seen from the other server:\n%s", b)
	}
	r.checkLogs(t)
}

// TestContactsImportConflictChoice: an officer chooses what happens to rows that look like
// someone else. By default they stop the import, with a pointer to the choice; skipped,
// they are listed and the rest imported; a dry run lists the changes to residents on
// record.
func TestContactsImportConflictChoice(t *testing.T) {
	r := newContactsRig(t)
	c := r.officer(t)
	csrf := officerCSRF(t, c, r.srv.URL)
	_, b := importFile(t, c, r.srv.URL, csrf, "on-record.csv", "First name,Surname,Email,Mobile\n"+
		"Andrew,Kavanagh,andrew@example.org,07700 900229\n")
	if !strings.Contains(b, `id="import-result"`) {
		t.Fatalf("the residents on record were not imported:\n%s", b)
	}
	if _, _, form := page(t, c, r.srv.URL+"/contacts/import"); !strings.Contains(form, `name="conflicts" value="skip"`) {
		t.Fatal("the import form offers no choice for rows that look like someone else")
	}
	file := "First name,Surname,Email,Mobile\n" +
		"Renée,O'Brien,renee@example.net,07700 900229\n" + // Andrew's mobile, another name
		"Zoë,Adebayo,zoe@example.org,07700 900301\n"
	before := r.count(t)

	_, b = importFile(t, c, r.srv.URL, csrf, "council.csv", file)
	if !strings.Contains(b, "Nothing was imported") || !strings.Contains(b, "Rows that look like someone else can also be skipped") {
		t.Errorf("by default a conflict stops the import and points to the choice:\n%s", b)
	}
	if n := r.count(t); n != before {
		t.Fatalf("a rejected file imported %d contacts", n-before)
	}

	_, b = importFile(t, c, r.srv.URL, csrf, "council.csv", file, "conflicts=skip")
	conflicts := regexp.MustCompile(`(?s)<ul id="import-conflicts">(.*?)</ul>`).FindStringSubmatch(b)
	if conflicts == nil || !strings.Contains(b, "1 row looked like someone else and was skipped") ||
		!strings.Contains(html.UnescapeString(conflicts[1]), `council.csv:2:4 (Mobile): conflict: "+447700900229" is resident #`) {
		t.Errorf("skipped conflicts are not listed:\n%s", b)
	}
	if n := r.count(t); n != before+1 {
		t.Errorf("skipping the conflict imported %d contacts, want 1 (Zoë)", n-before)
	}

	_, b = importFile(t, c, r.srv.URL, csrf, "rename.csv", "First name,Surname,Email\nAndrew,Kavanagh-Hughes,andrew@example.org\n", "dry_run")
	if !strings.Contains(html.UnescapeString(b), `is renamed from "Andrew Kavanagh" to "Andrew Kavanagh-Hughes"`) {
		t.Errorf("a dry run does not list the change to a resident on record:\n%s", b)
	}
}
