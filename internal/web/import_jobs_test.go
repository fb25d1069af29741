package web

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/importjob"
)

// progressed is row after the import reported p.
func progressed(row importjob.Job, p contact.Progress) importjob.Job {
	row.Phase, row.Bytes, row.TotalBytes, row.Rows = p.Phase, p.Bytes, p.TotalBytes, p.Rows
	return row
}

// finished is row after the import ended with r, as import_jobs keeps it.
func finished(t *testing.T, row importjob.Job, r importReport) importjob.Job {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	row.Status, row.Report = "done", sql.NullString{String: string(b), Valid: true}
	return row
}

func viewOf(t *testing.T, row importjob.Job) importJobView {
	t.Helper()
	v, err := jobView(row)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestImportJobView(t *testing.T) {
	j := importjob.Job{ID: "ID", File: "big.csv", Status: "running"}
	for _, tc := range []struct {
		p       contact.Progress
		dryRun  bool
		phase   string
		percent int
		saving  bool
		rows    string
	}{
		{contact.Progress{}, false, "Reading the file", 0, false, "0"},
		{contact.Progress{Bytes: 250, TotalBytes: 1000, Rows: 1234567, Phase: "reading"}, false, "Reading the file", 25, false, "1,234,567"},
		{contact.Progress{Bytes: 2000, TotalBytes: 1000, Rows: 999, Phase: "reading"}, false, "Reading the file", 100, false, "999"},
		{contact.Progress{Bytes: 1000, TotalBytes: 1000, Rows: 1000, Phase: "merging"}, false, "Saving to the database", 100, true, "1,000"},
		{contact.Progress{Bytes: 1000, TotalBytes: 1000, Rows: 1000, Phase: "merging"}, true, "Comparing with the database", 100, true, "1,000"},
		{contact.Progress{Bytes: 1000, TotalBytes: 1000, Rows: 1000, Phase: "done"}, false, "Finishing", 100, true, "1,000"},
	} {
		j.DryRun = tc.dryRun
		v := viewOf(t, progressed(j, tc.p))
		if v.Done || v.Phase != tc.phase || v.Percent != tc.percent || v.Saving != tc.saving || v.Rows != tc.rows {
			t.Errorf("%+v (dry run %v): %+v", tc.p, tc.dryRun, v)
		}
	}
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 100000: "100,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := importCount(n); got != want {
			t.Errorf("importCount(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestImportJobFragment renders the job page's live part in each state: while the import
// runs it has a <progress>, the phase in words, and nothing focusable (live.js replaces
// it); once it ends, data-live-done and the report.
func TestImportJobFragment(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	render := func(name string, data any) string {
		t.Helper()
		var b bytes.Buffer
		if err := s.tmpl.ExecuteTemplate(&b, name, data); err != nil {
			t.Fatalf("render %s: %v", name, err)
		}
		return b.String()
	}
	focusable := regexp.MustCompile(`<(a|input|button|select|textarea)\b|tabindex=`)
	j := importjob.Job{ID: "ID", File: "big.csv", Status: "running"}

	running := func(what string, wants ...string) {
		t.Helper()
		f := render("import-job", viewOf(t, j))
		for _, want := range append(wants, "<h2>Importing big.csv</h2>") {
			if !strings.Contains(f, want) {
				t.Errorf("%s: the fragment lacks %s\n%s", what, want, f)
			}
		}
		if strings.Contains(f, "data-live-done") || focusable.MatchString(f) || strings.Contains(f, "aria-live") {
			t.Errorf("%s: a running job's fragment is done, has something focusable, or a live region of its own:\n%s", what, f)
		}
	}
	running("not started", `<p id="import-phase">Reading the file…</p>`,
		`<progress id="import-progress" max="100" value="0" aria-labelledby="import-phase">0%</progress>`,
		"0% of the file read: 0 rows so far.")
	j = progressed(j, contact.Progress{Bytes: 420, TotalBytes: 1000, Rows: 41234, Phase: "reading"})
	running("reading", `<p id="import-phase">Reading the file…</p>`,
		`<progress id="import-progress" max="100" value="42" aria-labelledby="import-phase">42%</progress>`,
		"42% of the file read: 41,234 rows so far.")
	j = progressed(j, contact.Progress{Bytes: 1000, TotalBytes: 1000, Rows: 98000, Phase: "merging"})
	running("merging", `<p id="import-phase">Saving to the database: all 98,000 rows have been read.</p>`,
		`<progress id="import-progress" aria-labelledby="import-phase"></progress>`)

	// The end: the report, as the form showed it before imports ran in the background.
	j = finished(t, j, importReport{Error: "big.csv: 1 of 2 rows are invalid, so nothing was imported.",
		Problems: []string{"big.csv:3:3 (Email): not an email address"}, ProblemsNote: "1 problem (invalid rows)"})
	f := render("import-job", viewOf(t, j))
	for _, want := range []string{"<div data-live-done>", `<div class="error" id="import-error" role="alert">`,
		"<h2>Nothing was imported</h2>", "<li>big.csv:3:3 (Email): not an email address</li>"} {
		if !strings.Contains(f, want) {
			t.Errorf("finished job: the fragment lacks %s\n%s", want, f)
		}
	}
	if strings.Contains(f, "<progress") {
		t.Errorf("a finished job still shows progress:\n%s", f)
	}
	j = finished(t, importjob.Job{ID: "ID2", File: "good.csv"}, importReport{Result: &importResult{File: "good.csv", Rows: 2, ContactsCreated: 2}, Columns: []string{"Email→email"}})
	if f := render("import-job", viewOf(t, j)); !strings.Contains(f, "<h2>good.csv imported</h2>") || !strings.Contains(f, `<td id="created">2</td>`) ||
		!strings.Contains(f, "Columns: Email→email") {
		t.Errorf("finished good import:\n%s", f)
	}
	j = finished(t, importjob.Job{ID: "ID3", File: "broken.csv"}, importReport{Failed: true, Error: "broken.csv could not be imported"})
	if f := render("import-job", viewOf(t, j)); !strings.Contains(f, "<h2>The import did not finish</h2>") {
		t.Errorf("failed import:\n%s", f)
	}

	if f := render("import-gone", nil); !strings.Contains(f, "data-live-done") ||
		!strings.Contains(f, "This import’s progress is no longer available; see <a href=\"#recent-imports\">Recent imports</a> below.") {
		t.Errorf("unknown job:\n%s", f)
	}
}
