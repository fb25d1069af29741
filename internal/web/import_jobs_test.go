package web

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/contact"
)

func TestImportJobsRegistry(t *testing.T) {
	js := newImportJobs()
	now := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	js.now = func() time.Time { return now }

	a := js.start(1, "a.csv", false, false)
	b := js.start(1, "b.csv", true, false)
	c := js.start(2, "c.csv", false, true)
	idRE := regexp.MustCompile(`^[A-Z2-7]{26}$`) // crypto/rand.Text: 128 bits or more
	for _, j := range []*importJob{a, b, c} {
		if !idRE.MatchString(j.id) {
			t.Errorf("job id %q is not 26 random base32 characters", j.id)
		}
	}
	if a.id == b.id || a.id == c.id || b.id == c.id {
		t.Errorf("job ids repeat: %s %s %s", a.id, b.id, c.id)
	}
	// Only the officer who started a job sees it.
	if js.get(a.id, 1) != a || js.get(c.id, 2) != c {
		t.Error("an officer can't see their own job")
	}
	if js.get(a.id, 2) != nil || js.get(c.id, 1) != nil {
		t.Error("an officer sees somebody else's job")
	}
	if js.get("", 1) != nil || js.get(strings.ToLower(a.id), 1) != nil || js.get("nonsense", 1) != nil {
		t.Error("an unknown id finds a job")
	}

	// A finished job is kept for an hour; a running one for as long as it runs.
	a.finish(importReport{Error: "x"}, now)
	now = now.Add(importJobKeep - time.Second)
	if js.get(a.id, 1) == nil {
		t.Error("a job that ended under an hour ago is forgotten")
	}
	now = now.Add(time.Second)
	if js.get(a.id, 1) != nil {
		t.Error("a job that ended an hour ago is still kept")
	}
	now = now.Add(24 * time.Hour)
	if js.get(b.id, 1) == nil || js.get(c.id, 2) == nil {
		t.Error("a running job is forgotten")
	}
	b.finish(importReport{}, now)
	c.finish(importReport{}, now)
	now = now.Add(importJobKeep)
	js.start(3, "d.csv", false, false) // starting one forgets the old ones too
	if n := js.len(); n != 1 {
		t.Errorf("%d jobs kept, want 1", n)
	}
}

func TestImportJobView(t *testing.T) {
	j := &importJob{id: "ID", file: "big.csv"}
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
		j.dryRun = tc.dryRun
		j.record(tc.p)
		v := j.view()
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
	j := &importJob{id: "ID", file: "big.csv"}

	running := func(what string, wants ...string) {
		t.Helper()
		f := render("import-job", j.view())
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
	j.record(contact.Progress{Bytes: 420, TotalBytes: 1000, Rows: 41234, Phase: "reading"})
	running("reading", `<p id="import-phase">Reading the file…</p>`,
		`<progress id="import-progress" max="100" value="42" aria-labelledby="import-phase">42%</progress>`,
		"42% of the file read: 41,234 rows so far.")
	j.record(contact.Progress{Bytes: 1000, TotalBytes: 1000, Rows: 98000, Phase: "merging"})
	running("merging", `<p id="import-phase">Saving to the database: all 98,000 rows have been read.</p>`,
		`<progress id="import-progress" aria-labelledby="import-phase"></progress>`)

	// The end: the report, as the form showed it before imports ran in the background.
	j.finish(importReport{Error: "big.csv: 1 of 2 rows are invalid, so nothing was imported.",
		Problems: []string{"big.csv:3:3 (Email): not an email address"}, ProblemsNote: "1 problem (invalid rows)"}, time.Now())
	f := render("import-job", j.view())
	for _, want := range []string{"<div data-live-done>", `<div class="error" id="import-error" role="alert">`,
		"<h2>Nothing was imported</h2>", "<li>big.csv:3:3 (Email): not an email address</li>"} {
		if !strings.Contains(f, want) {
			t.Errorf("finished job: the fragment lacks %s\n%s", want, f)
		}
	}
	if strings.Contains(f, "<progress") {
		t.Errorf("a finished job still shows progress:\n%s", f)
	}
	j = &importJob{id: "ID2", file: "good.csv"}
	j.finish(importReport{Result: &contact.ImportResult{File: "good.csv", Rows: 2, ContactsCreated: 2}, Columns: []string{"Email→email"}}, time.Now())
	if f := render("import-job", j.view()); !strings.Contains(f, "<h2>good.csv imported</h2>") || !strings.Contains(f, `<td id="created">2</td>`) ||
		!strings.Contains(f, "Columns: Email→email") {
		t.Errorf("finished good import:\n%s", f)
	}
	j = &importJob{id: "ID3", file: "broken.csv"}
	j.finish(importReport{Failed: true, Error: "broken.csv could not be imported"}, time.Now())
	if f := render("import-job", j.view()); !strings.Contains(f, "<h2>The import did not finish</h2>") {
		t.Errorf("failed import:\n%s", f)
	}

	if f := render("import-gone", nil); !strings.Contains(f, "data-live-done") ||
		!strings.Contains(f, "This import’s progress is no longer available; see <a href=\"#recent-imports\">Recent imports</a> below.") {
		t.Errorf("unknown job:\n%s", f)
	}
}
