package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/segment"
)

// listingNavOneLine fails the test unless every item of the service navigation sits on
// one line (shares one offsetTop) and exactly one is marked as the current page, the
// one named current.
func listingNavOneLine(t *testing.T, ctx context.Context, name, current string) {
	t.Helper()
	type navInfo struct {
		Tops    []int    `json:"tops"`
		Width   int      `json:"width"`
		Current []string `json:"current"`
	}
	// Explicitly a desktop: chromedp's ResetViewport after a phone's emulation (checkPage
	// makes one) leaves the phone's width behind.
	browse(t, ctx, name+": emulate a desktop", chromedp.EmulateViewport(1280, 900))
	n := evaluate[navInfo](t, ctx, name+": measure the navigation", `(() => {
		const links = [...document.querySelectorAll('nav.appnav a')];
		return {width: innerWidth, tops: links.map(a => a.offsetTop), current: links.filter(a => a.getAttribute('aria-current') === 'page').map(a => a.textContent.trim())};
	})()`)
	if len(n.Tops) < 8 {
		t.Fatalf("%s: %d navigation links", name, len(n.Tops))
	}
	for _, top := range n.Tops {
		if top != n.Tops[0] {
			t.Errorf("%s: the navigation wraps at %d px: offsetTops %v", name, n.Width, n.Tops)
			break
		}
	}
	if len(n.Current) != 1 || n.Current[0] != current {
		t.Errorf("%s: current section %q, want %q", name, n.Current, current)
	}
}

// listingNarrow lays the page out 320 px wide (WCAG 1.4.10's width; checkPage checks
// 360) and fails the test if the page scrolls sideways or a column header breaks inside
// a word (a header taller than one line of its text).
func listingNarrow(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	browse(t, ctx, name+": emulate a 320 px phone", chromedp.EmulateViewport(320, 640, chromedp.EmulateMobile))
	defer browse(t, ctx, name+": reset the viewport", chromedp.ResetViewport())
	type narrow struct {
		ScrollWidth int      `json:"scrollWidth"`
		Broken      []string `json:"broken"`
	}
	n := evaluate[narrow](t, ctx, name+": measure at 320 px", `(() => {
		const broken = [];
		for (const th of document.querySelectorAll('main thead th')) {
			for (const w of th.textContent.trim().split(/\s+/)) {
				const r = document.createRange(), tn = [...th.querySelectorAll('*'), th].flatMap(e => [...e.childNodes]).find(c => c.nodeType === 3 && c.textContent.includes(w));
				if (!tn) continue;
				const at = tn.textContent.indexOf(w);
				r.setStart(tn, at); r.setEnd(tn, at + w.length);
				if (r.getClientRects().length > 1) broken.push(w);
			}
		}
		return {scrollWidth: document.documentElement.scrollWidth, broken};
	})()`)
	if n.ScrollWidth > 320 {
		t.Errorf("%s: at 320 px the page scrolls sideways (scrollWidth %d)", name, n.ScrollWidth)
	}
	if len(n.Broken) > 0 {
		t.Errorf("%s: column headers break inside words at 320 px: %q", name, n.Broken)
	}
	listingShot(t, ctx, name+"-320")
}

func listingShot(t *testing.T, ctx context.Context, name string) {
	if os.Getenv("LISTING_SHOTS") != "" {
		buf, _ := within(ctx, chromedp.FullScreenshot(100))
		os.WriteFile(filepath.Join(os.Getenv("LISTING_SHOTS"), strings.ReplaceAll(name, " ", "_")+".png"), buf, 0o644)
	}
}

// TestBrowserLists: an officer sorts and filters the campaigns list and pages through
// the contacts at a desktop's 1280 px, where the service navigation is one line, and
// every list passes the page checks and lays out at 320 px without scrolling sideways.
func TestBrowserLists(t *testing.T) {
	r := newResultsRig(t)
	var csv strings.Builder
	csv.WriteString("First name,Surname,Email\n")
	for i := range 120 {
		fmt.Fprintf(&csv, "Pat%03d,Quinn,pat%03d@example.org\n", i, i)
	}
	p := filepath.Join(t.TempDir(), "quinns.csv")
	if err := os.WriteFile(p, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := contact.NewStore(r.db, nil).Import(t.Context(), contact.ImportOptions{Path: p, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Millbrook residents", "Everyone in Tulse Hill"} {
		if _, err := segment.NewStore(r.db).Create(t.Context(), name, "A long description of who this segment picks, to wrap",
			segment.Rule{Field: "ward", Op: "eq", Value: "Millbrook"}, "jo"); err != nil {
			t.Fatal(err)
		}
	}
	ctx := newBrowser(t)
	open(t, ctx, r.url+"/campaigns", 200) // by way of signing in
	browse(t, ctx, "sign in as the officer",
		chromedp.SendKeys(chromedp.CSS("#email"), r.officer),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "Campaigns" {
		t.Fatalf("after signing in: %q", h)
	}
	listingNavOneLine(t, ctx, "campaigns", "Campaigns")
	if w := evaluate[float64](t, ctx, "the list's width", `document.querySelector('#campaigns').getBoundingClientRect().width`); w < 1000 {
		t.Errorf("the campaigns table is %.0f px wide at 1280 px: the page is not wide", w)
	}
	listingShot(t, ctx, "campaigns")
	checkPage(t, ctx, "campaigns")
	listingNarrow(t, ctx, "campaigns")

	names := func() string {
		t.Helper()
		return evaluate[string](t, ctx, "the campaigns listed",
			`[...document.querySelectorAll('#campaigns tbody th > a')].map(a => a.firstChild.textContent).join('|')`)
	}
	if got := names(); got != "Road works|Recycling news|Bin day <changes> & more" {
		t.Errorf("newest first: %q", got)
	}
	// Sort by name: A to Z, then Z to A.
	submit(t, ctx, "#campaigns thead a[href*='sort=name']", 200)
	if got := names(); got != "Bin day <changes> & more|Recycling news|Road works" {
		t.Errorf("by name: %q", got)
	}
	if s := evaluate[string](t, ctx, "aria-sort", `document.querySelector('#campaigns thead th[aria-sort]').textContent`); !strings.HasPrefix(s, "Campaign") {
		t.Errorf("the sorted column: %q", s)
	}
	submit(t, ctx, "#campaigns thead a[href*='sort=name']", 200)
	if got := names(); got != "Road works|Recycling news|Bin day <changes> & more" {
		t.Errorf("by name, Z to A: %q", got)
	}
	if s := evaluate[string](t, ctx, "aria-sort", `document.querySelector('#campaigns thead th[aria-sort]').getAttribute('aria-sort')`); s != "descending" {
		t.Errorf("aria-sort: %q", s)
	}
	// Filter: sending campaigns with an email; the sort is kept.
	browse(t, ctx, "filter the campaigns",
		chromedp.SetValue(chromedp.CSS("#state"), "sending"),
		chromedp.SetValue(chromedp.CSS("#channel"), "email"))
	submit(t, ctx, "form.filters button[type=submit]", 200)
	if got := names(); got != "Recycling news|Bin day <changes> & more" {
		t.Errorf("sending, by name Z to A: %q", got)
	}
	if u := evaluate[string](t, ctx, "the address", `location.search`); !strings.Contains(u, "sort=name") || !strings.Contains(u, "dir=desc") || !strings.Contains(u, "state=sending") {
		t.Errorf("the filtered list's address: %q", u)
	}
	browse(t, ctx, "search by text", chromedp.SetValue(chromedp.CSS("#q"), "recyc"))
	submit(t, ctx, "form.filters button[type=submit]", 200)
	if got := names(); got != "Recycling news" {
		t.Errorf("searching for recyc: %q", got)
	}
	checkPage(t, ctx, "campaigns, sorted and filtered")

	// The contacts, 50 to a page.
	open(t, ctx, r.url+"/contacts?q=quinn", 200)
	listingNavOneLine(t, ctx, "contacts", "Contacts")
	if s := text(t, ctx, "#showing"); s != "Showing 1–50 of 120" {
		t.Errorf("first page: %q", s)
	}
	listingShot(t, ctx, "contacts")
	checkPage(t, ctx, "contacts")
	listingNarrow(t, ctx, "contacts")
	submit(t, ctx, "nav.pager a[rel=next]", 200)
	if s := text(t, ctx, "#showing"); s != "Showing 51–100 of 120" {
		t.Errorf("second page: %q", s)
	}
	if s := text(t, ctx, "#contacts tbody th a"); s != "Pat050 Quinn" {
		t.Errorf("second page starts with %q", s)
	}
	submit(t, ctx, "nav.pager a[rel=next]", 200)
	if s := text(t, ctx, "#showing"); s != "Showing 101–120 of 120" {
		t.Errorf("last page: %q", s)
	}
	if n := evaluate[int](t, ctx, "next links", `document.querySelectorAll('nav.pager a[rel=next]').length`); n != 0 {
		t.Errorf("the last page has a next link")
	}
	// Sorting by when they were added, newest first, starts again at page 1 and keeps the search.
	submit(t, ctx, "#contacts thead a[href*='sort=added']", 200)
	if s := text(t, ctx, "#showing"); s != "Showing 1–50 of 120" {
		t.Errorf("sorted: %q", s)
	}
	if s := text(t, ctx, "#contacts tbody th a"); s != "Pat119 Quinn" {
		t.Errorf("newest first starts with %q", s)
	}
	submit(t, ctx, "nav.pager a[rel=next]", 200)
	if s := text(t, ctx, "#contacts tbody th a"); s != "Pat069 Quinn" {
		t.Errorf("newest first, page 2, starts with %q", s)
	}
	checkPage(t, ctx, "contacts, sorted, page 2")

	// Every import, with its outcome; filtered by outcome, none failed.
	open(t, ctx, r.url+"/contacts/imports", 200)
	if s := text(t, ctx, "#imports tbody"); !strings.Contains(s, "quinns.csv") || !strings.Contains(s, "Imported: 120 created") {
		t.Errorf("the imports list: %q", s)
	}
	browse(t, ctx, "only failed imports", chromedp.SetValue(chromedp.CSS("#status"), "failed"))
	submit(t, ctx, "form.filters button[type=submit]", 200)
	if s := text(t, ctx, "main"); !strings.Contains(s, "No imports match.") {
		t.Errorf("failed imports: %q", s)
	}
	checkPage(t, ctx, "imports, none matching")

	for _, pg := range []struct{ path, current string }{{"/segments", "Segments"}, {"/reach", "Reach"}, {"/replies", "Replies"}, {"/", "Dashboard"}, {"/contacts/imports", "Contacts"}} {
		open(t, ctx, r.url+pg.path, 200)
		listingNavOneLine(t, ctx, pg.path, pg.current)
		listingShot(t, ctx, pg.current)
		checkPage(t, ctx, pg.path)
		listingNarrow(t, ctx, pg.path)
	}

	// An admin has two more sections, and the navigation still takes one line.
	as := auth.NewStore(r.db)
	as.Cost = bcrypt.MinCost
	if _, err := as.Add(t.Context(), "ann@council.example", "Ann Admin", auth.Admin, appPassword); err != nil {
		t.Fatal(err)
	}
	submit(t, ctx, "form[action='/logout'] button", 200)
	browse(t, ctx, "sign in as the admin",
		chromedp.SendKeys(chromedp.CSS("#email"), "ann@council.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	open(t, ctx, r.url+"/admin/users", 200)
	listingNavOneLine(t, ctx, "accounts", "Accounts")
	listingShot(t, ctx, "accounts")
	checkPage(t, ctx, "accounts")
	listingNarrow(t, ctx, "accounts")
}
