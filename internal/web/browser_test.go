package web_test

// The real-browser harness: residents' pages are loaded in Debian's headless Chromium
// (through chromedp) and checked with axe-core for WCAG 2.2 AA, at a phone's width for
// horizontal scrolling, and from the keyboard. .ci/run installs both Chromium and
// axe-core; without them the browser tests skip locally and fail under CI=true.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

const (
	// browserActionTimeout bounds every browser action, so that a hung browser fails the
	// test quickly instead of running into go test's own timeout.
	browserActionTimeout = 15 * time.Second
	// browserStartTimeout bounds starting Chromium.
	browserStartTimeout = 30 * time.Second
	// narrowWidth is the phone width the pages must fit without horizontal scrolling
	// (WCAG 1.4.10 Reflow asks for 320 CSS px; many phones are 360).
	narrowWidth = 360
)

// axeTags are the axe-core rule sets the pages must pass.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"}

// browserTools finds Chromium ($CHROMIUM, else /usr/bin/chromium) and axe-core
// ($AXE_PATH, else .ci/axe/node_modules/axe-core/axe.min.js under the repository root).
// When either is missing the test is skipped, except under CI=true where it fails: a
// green CI run must never mean the pages went unchecked.
func browserTools(t *testing.T) (chromium, axe string) {
	t.Helper()
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	axe = os.Getenv("AXE_PATH")
	if axe == "" {
		if root, err := repoRoot(); err == nil {
			axe = filepath.Join(root, ".ci", "axe", "node_modules", "axe-core", "axe.min.js")
		}
	}
	var missing []string
	if _, err := exec.LookPath(chromium); err != nil {
		missing = append(missing, fmt.Sprintf("Chromium (%s: %v)", chromium, err))
	}
	if axe == "" {
		missing = append(missing, "axe-core (no go.mod above the working directory; set AXE_PATH)")
	} else if _, err := os.Stat(axe); err != nil {
		missing = append(missing, fmt.Sprintf("axe-core (%v)", err))
	}
	if len(missing) > 0 {
		msg := "browser tests need " + strings.Join(missing, " and ") +
			"; `bash .ci/run` installs them (apt-get install chromium; npm install --prefix .ci/axe axe-core@4)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return chromium, axe
}

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

var axeSource = struct {
	sync.Mutex
	byPath map[string]string
}{byPath: map[string]string{}}

// axeScript returns axe.min.js, read once per path.
func axeScript(t *testing.T, path string) string {
	t.Helper()
	axeSource.Lock()
	defer axeSource.Unlock()
	if src, ok := axeSource.byPath[path]; ok {
		return src
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read axe-core: %v", err)
	}
	// The trailing expression keeps Evaluate from serialising whatever the script's
	// last statement happens to produce.
	src := string(b) + "\n;void 0"
	axeSource.byPath[path] = src
	return src
}

type browserKey struct{}

// newBrowser starts a headless Chromium of the test's own (fresh profile, 1280×900
// window) and returns its context; the browser is closed when the test ends. Run
// actions on it with browse or evaluate, which time out after browserActionTimeout.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	chromium, axe := browserTools(t)
	opts := slices.Clone(chromedp.DefaultExecAllocatorOptions[:])
	opts = append(opts,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// Registered after t.TempDir, so this runs first: the browser has exited (cancelAlloc
	// waits for it) before its profile directory is removed.
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Run starts the browser and ties it to ctx, so it cannot carry a timeout
	// of its own; a timer cancels a start that hangs.
	hung := time.AfterFunc(browserStartTimeout, cancel)
	err := chromedp.Do(ctx)
	if !hung.Stop() {
		t.Fatalf("start %s: no answer within %s", chromium, browserStartTimeout)
	}
	if err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	return context.WithValue(ctx, browserKey{}, axe)
}

// within runs one action with the per-action timeout.
func within[T any](ctx context.Context, a chromedp.Action[T]) (T, error) {
	actx, cancel := context.WithTimeout(ctx, browserActionTimeout)
	defer cancel()
	return chromedp.Run(actx, a)
}

// browse runs the steps in order, failing the test (saying what it was doing) at the
// first error.
func browse(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := within(ctx, chromedp.Steps(steps...)); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// evaluate runs a JavaScript expression in the current page and decodes its value.
func evaluate[T any](t *testing.T, ctx context.Context, what, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := within(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// open navigates to url and waits for the page to load, failing the test unless the
// response has the wanted HTTP status.
func open(t *testing.T, ctx context.Context, url string, wantStatus int64) {
	t.Helper()
	resp, err := within(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("browser: open %s: %v", url, err)
	}
	if resp.Status != wantStatus {
		t.Fatalf("browser: open %s: status %d, want %d", url, resp.Status, wantStatus)
	}
}

// submit clicks the element sel (a form's button) and waits for the page the form
// leads to, failing the test unless it has the wanted HTTP status.
func submit(t *testing.T, ctx context.Context, sel string, wantStatus int64) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, browserActionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(actx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("browser: click %s: %v", sel, err)
	}
	if resp.Status != wantStatus {
		t.Fatalf("browser: click %s: status %d, want %d", sel, resp.Status, wantStatus)
	}
}

// text returns the visible text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := within(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	HelpURL string   `json:"helpUrl"`
	Nodes   int      `json:"nodes"`
	Targets []string `json:"targets"`
	Summary string   `json:"summary"`
}

// axeCheck runs axe-core on the current page against the WCAG 2.0, 2.1 and 2.2 A and AA
// rules and axe's best practices, and fails the test on any violation, listing each
// with its impact, what to do, and the first elements it was found on. name says which
// page it was.
func axeCheck(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	path, _ := ctx.Value(browserKey{}).(string)
	if path == "" {
		t.Fatal("axeCheck: ctx is not from newBrowser")
	}
	if _, err := within(ctx, chromedp.Evaluate[chromedp.Void](axeScript(t, path))); err != nil {
		t.Fatalf("%s: inject axe-core: %v", name, err)
	}
	tags := `['` + strings.Join(axeTags, `','`) + `']`
	script := `axe.run(document, {runOnly: {type: 'tag', values: ` + tags + `}, resultTypes: ['violations']})
		.then(r => r.violations.map(v => ({
			id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl, nodes: v.nodes.length,
			targets: v.nodes.slice(0, 3).map(n => [].concat(n.target).flat(Infinity).join(' >>> ')),
			summary: (v.nodes[0] && v.nodes[0].failureSummary) || '',
		})))`
	violations, err := within(ctx, chromedp.Evaluate[[]axeViolation](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe-core: %v", name, err)
	}
	if len(violations) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: axe-core found %d accessibility violation(s):", name, len(violations))
	for _, v := range violations {
		fmt.Fprintf(&b, "\n  - %s [%s] %s (%d element(s): %s)\n    %s\n    %s",
			v.ID, v.Impact, v.Help, v.Nodes, strings.Join(v.Targets, ", "),
			strings.ReplaceAll(v.Summary, "\n", "\n    "), v.HelpURL)
	}
	t.Error(b.String())
}

// checkNarrow re-lays the current page out at a 360-px-wide phone screen and fails the
// test if it scrolls sideways, naming the elements that stick out. The viewport is put
// back afterwards.
func checkNarrow(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	browse(t, ctx, name+": emulate a phone", chromedp.EmulateViewport(narrowWidth, 740, chromedp.EmulateMobile))
	defer browse(t, ctx, name+": reset the viewport", chromedp.ResetViewport())
	type result struct {
		ScrollWidth int      `json:"scrollWidth"`
		Wide        []string `json:"wide"`
	}
	// Elements, and the text in them (a long word overflows its box, not the box the page),
	// whose right edge is past the screen's.
	r := evaluate[result](t, ctx, name+": measure", fmt.Sprintf(`(() => {
		const limit = %d + 0.5, wide = [], seen = new Set();
		const describe = (el, right) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
			(typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '') +
			' (right edge ' + Math.round(right) + ' px: "' + (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 80) + '")';
		const note = (el, right) => { if (!seen.has(el)) { seen.add(el); wide.push(describe(el, right)); } };
		for (const el of document.body.querySelectorAll('*')) {
			const right = el.getBoundingClientRect().right;
			if (right > limit) note(el, right);
		}
		const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		for (let n = walk.nextNode(); n; n = walk.nextNode()) {
			const range = document.createRange();
			range.selectNodeContents(n);
			const right = range.getBoundingClientRect().right;
			if (right > limit) note(n.parentElement, right);
		}
		return {scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 5)};
	})()`, narrowWidth))
	if r.ScrollWidth > narrowWidth {
		t.Errorf("%s: at %d px wide the page scrolls sideways (scrollWidth %d px); too wide:\n  %s",
			name, narrowWidth, r.ScrollWidth, strings.Join(r.Wide, "\n  "))
	}
}

// checkKeyboardStart presses Tab once from the top of the current page and fails the
// test unless focus lands on the skip link or another element that is visible and
// shows a focus indicator (an outline or a box-shadow). A skip link must lead to an
// element that exists.
func checkKeyboardStart(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	// Focusing the body moves the sequential focus navigation starting point to the top.
	evaluate[chromedp.Void](t, ctx, name+": focus the top of the page", `(() => {
		window.scrollTo(0, 0);
		if (document.activeElement) document.activeElement.blur();
		document.body.setAttribute('tabindex', '-1');
		document.body.focus();
		document.body.removeAttribute('tabindex');
	})()`)
	browse(t, ctx, name+": press Tab", chromedp.KeyEvent(kb.Tab))
	type focused struct {
		Found     bool   `json:"found"`
		Desc      string `json:"desc"`
		Skip      bool   `json:"skip"`
		Target    bool   `json:"target"`
		Visible   bool   `json:"visible"`
		Indicator bool   `json:"indicator"`
		Style     string `json:"style"`
	}
	f := evaluate[focused](t, ctx, name+": inspect the focused element", `(() => {
		const el = document.activeElement;
		if (!el || el === document.body || el === document.documentElement) return {found: false};
		const cs = getComputedStyle(el), r = el.getBoundingClientRect();
		const label = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 60);
		const href = el.getAttribute('href') || '';
		const skip = el.tagName === 'A' && href.startsWith('#') && /skip/i.test(label);
		const visible = r.width >= 1 && r.height >= 1 && cs.visibility !== 'hidden' && Number(cs.opacity) > 0 &&
			r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
		const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
		const shadow = cs.boxShadow !== '' && cs.boxShadow !== 'none';
		return {
			found: true,
			desc: el.tagName.toLowerCase() + (href ? '[href="' + href + '"]' : '') + ' "' + label + '"',
			skip, target: skip && href.length > 1 && !!document.getElementById(decodeURIComponent(href.slice(1))),
			visible, indicator: outline || shadow,
			style: 'outline: ' + cs.outlineStyle + ' ' + cs.outlineWidth + ' ' + cs.outlineColor + '; box-shadow: ' + cs.boxShadow,
		};
	})()`)
	switch {
	case !f.Found:
		t.Errorf("%s: Tab from the top of the page focuses nothing", name)
	case !f.Visible:
		t.Errorf("%s: Tab from the top focuses %s, which is not visible", name, f.Desc)
	case !f.Indicator:
		t.Errorf("%s: Tab from the top focuses %s with no visible focus indicator (%s)", name, f.Desc, f.Style)
	case f.Skip && !f.Target:
		t.Errorf("%s: the skip link %s leads nowhere", name, f.Desc)
	}
}

// checkPage runs every page check: keyboard first (on the page as loaded), then axe-core
// at desktop width, then reflow at phone width.
func checkPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	checkKeyboardStart(t, ctx, name)
	axeCheck(t, ctx, name)
	checkNarrow(t, ctx, name)
}
