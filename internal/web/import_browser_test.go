package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// scripts switches the page's JavaScript on or off (the tests' own evaluations still run).
func scripts(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	})
}

// TestBrowserContactsImportProgress: an officer uploads a 100,000-row file. The import is
// held at its first progress report, so that the job page can be looked at while it
// runs, deterministically: without JavaScript it shows a <progress>, the phase in words
// and the rows read, and a Refresh link that works; it passes every page check. With
// JavaScript, live.js brings in the report when the import ends, without reloading the
// page, and the finished page passes every check too.
func TestBrowserContactsImportProgress(t *testing.T) {
	r := newContactsRig(t)
	ctx := newBrowser(t)
	before := r.count(t)
	held, release := r.web.HoldImports(t)

	const rows = 100_000
	var csv strings.Builder
	csv.WriteString("First name,Surname,Email,Ward\n")
	for i := range rows {
		fmt.Fprintf(&csv, "Resident%d,Testperson,resident%d@example.org,Tulse Hill\n", i, i)
	}
	p := filepath.Join(t.TempDir(), "everyone.csv")
	if err := os.WriteFile(p, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	open(t, ctx, r.srv.URL+"/contacts/import", 200) // redirected to sign in
	browse(t, ctx, "sign in as the officer",
		chromedp.SendKeys(chromedp.CSS("#email"), "jo@council.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	browse(t, ctx, "choose the file", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{p}))
	submit(t, ctx, "form[enctype='multipart/form-data'] button[type=submit]", 200)
	job := evaluate[string](t, ctx, "the job page's address", `location.pathname`)
	if !jobPathRE.MatchString(job) {
		t.Fatalf("the upload led to %s, not a job page", job)
	}
	select {
	case <-held:
	case <-time.After(importDeadline):
		t.Fatal("the import never reported progress")
	}

	// Without JavaScript: the progress as it was when the page was loaded, and a Refresh
	// link that shows it again.
	browse(t, ctx, "switch JavaScript off", scripts(false))
	open(t, ctx, r.srv.URL+job, 200)
	if h := text(t, ctx, "#import-job h2"); h != "Importing everyone.csv" {
		t.Errorf("the running job's heading: %q", h)
	}
	if s := text(t, ctx, "#import-phase"); s != "Reading the file…" {
		t.Errorf("the phase: %q", s)
	}
	type bar struct {
		Max   float64 `json:"max"`
		Value float64 `json:"value"`
		Name  string  `json:"name"`
	}
	b := evaluate[bar](t, ctx, "the progress bar", `(() => { const p = document.querySelector('#import-job progress');
		return {max: p.max, value: p.value, name: document.getElementById(p.getAttribute('aria-labelledby')).textContent}; })()`)
	if b.Max != 100 || b.Value < 0 || b.Value >= 100 || b.Name != "Reading the file…" {
		t.Errorf("the progress bar: %+v", b)
	}
	counts := text(t, ctx, "#import-counts")
	if !strings.HasSuffix(counts, "rows so far.") || strings.Contains(counts, ": 0 rows") {
		t.Errorf("the rows read so far: %q", counts)
	}
	if live := evaluate[string](t, ctx, "the live region", `(() => { const el = document.querySelector('[data-live]');
		return [el.id, el.getAttribute('role'), el.getAttribute('aria-live'), el.getAttribute('data-live'),
			el.querySelectorAll('a, button, input, select, textarea, [tabindex]').length].join(' '); })()`); live != "import-job status polite "+job+"/live 0" {
		t.Errorf("the live region (id, role, aria-live, data-live, focusable elements): %q", live)
	}
	submit(t, ctx, "#import-refresh a", 200)
	if s := text(t, ctx, "#import-counts"); s != counts {
		t.Errorf("after Refresh, a held import's progress: %q, was %q", s, counts)
	}
	// The checks need scripts (axe-core runs on timers); switched on now, they leave this
	// page as it is: live.js did not run when it loaded.
	browse(t, ctx, "switch JavaScript on", scripts(true))
	checkPage(t, ctx, "import job, running")

	// With JavaScript: the report arrives in the page that is open.
	open(t, ctx, r.srv.URL+job, 200)
	evaluate[bool](t, ctx, "mark the page", `window.stillHere = true`)
	release()
	wctx, cancel := context.WithTimeout(ctx, importDeadline)
	defer cancel()
	if _, err := chromedp.Run(wctx, chromedp.WaitVisible(chromedp.CSS("#import-result"))); err != nil {
		t.Fatalf("the report never arrived: %v", err)
	}
	if !evaluate[bool](t, ctx, "the same page", `window.stillHere === true`) {
		t.Error("the report arrived by reloading the page, not by live.js")
	}
	if h := text(t, ctx, "#import-result h2"); h != "everyone.csv imported" {
		t.Errorf("the report's heading: %q", h)
	}
	if s := text(t, ctx, "#created"); s != fmt.Sprint(rows) {
		t.Errorf("contacts created: %q", s)
	}
	if s := text(t, ctx, "#rejected"); s != "0" {
		t.Errorf("rows rejected: %q", s)
	}
	if n := evaluate[int](t, ctx, "what is left of the progress", `document.querySelectorAll('#import-job progress, #import-job [data-live-done]').length`); n != 1 {
		t.Errorf("the finished job page: %d progress bars and data-live-done markers, want only the marker", n)
	}
	// Nothing on the finished page still says it is running: the Refresh link is for
	// pages without JavaScript, and the recent imports follow the import to its end.
	if n := evaluate[int](t, ctx, "Refresh links", `document.querySelectorAll('#import-refresh').length`); n != 0 {
		t.Errorf("the page with JavaScript has %d Refresh links", n)
	}
	if _, err := chromedp.Run(wctx, chromedp.Poll[bool](`(() => { const t = document.getElementById('recent-imports-list').textContent;
		return t.includes('everyone.csv') && t.includes('Imported: 100000 rows') && !t.includes('Running'); })()`)); err != nil {
		t.Errorf("the recent imports never showed the import finished: %v; they say %q", err, text(t, ctx, "#recent-imports-list"))
	}
	checkPage(t, ctx, "import job, finished")
	if n := r.count(t); n != before+rows {
		t.Errorf("%d contacts imported, want %d", n-before, rows)
	}
	r.checkLogs(t)
}
