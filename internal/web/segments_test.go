package web_test

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/web"
)

// segmentResidents join newAppRig's four (Millbrook, postal only: three in sector
// SW2 1, Dev in SW9 8): Riverside neighbours in SW9 8, and Millbrook residents with
// email and mobile numbers, some of whom said no.
const segmentResidents = `First name,Surname,Email,Mobile,House number,Street,Town,Postcode,Ward,Email consent,SMS consent,Tags
Efa,Huws,efa@example.org,07700 900105,1,Coldharbour Lane,London,SW9 8AB,Riverside,Yes,No,
Finn,Walsh,finn@example.org,07700 900106,2,Coldharbour Lane,London,SW9 8AB,Riverside,No,Yes,business
Gwen,Price,gwen@example.org,07700 900107,5,Acre Lane,London,SW2 1RW,Millbrook,Yes,No,business
Hana,Sato,hana@example.org,07700 900108,7,Acre Lane,London,SW2 1RW,Millbrook,No,Yes,
Ivy,Chen,ivy@example.org,07700 900109,3,Coldharbour Lane,London,SW9 8AB,Millbrook,Yes,Yes,
`

// segmentRuleJSON is "ward is Millbrook and not postcode sector SW9 8", as the builder
// saves it.
const segmentRuleJSON = `{"all": [{"field": "ward", "op": "eq", "value": "Millbrook"},
	{"not": {"field": "postcode_sector", "op": "eq", "value": "SW9 8"}}]}`

type segmentRig struct {
	*appRig
	url string
}

// newSegmentRig is newAppRig with more residents, served with the segment pages.
func newSegmentRig(t *testing.T) *segmentRig {
	t.Helper()
	r := &segmentRig{appRig: newAppRig(t)}
	p := filepath.Join(t.TempDir(), "more.csv")
	if err := os.WriteFile(p, []byte(segmentResidents), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := contact.NewStore(r.db, nil).Import(t.Context(), contact.ImportOptions{Path: p, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	// Hana withdrew consent for email: service messages leave her email out too.
	if _, err := r.db.Exec(`INSERT INTO consents (contact_point_id, topic_id, status, source)
		SELECT cp.id, t.id, 'withdrawn', 'email unsubscribe link' FROM contact_points cp, contacts c, topics t
		 WHERE c.id = cp.contact_id AND c.first_name = 'Hana' AND cp.kind = 'email' AND t.slug = 'general'`); err != nil {
		t.Fatal(err)
	}
	signer, _ := email.NewSigner(bytes.Repeat([]byte("s"), 32))
	ws, err := web.New(web.Config{DB: r.db, Signer: signer, Branding: email.Branding{OrgName: "Millbrook Council"},
		App: &web.App{Auth: auth.NewStore(r.db), Rounds: printrun.NewStore(r.db), Inbox: inbox.NewStore(r.db, inbox.Config{}, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// signIn returns a client signed in as email, and its session's CSRF token (read from
// the builder's form).
func (r *segmentRig) signIn(t *testing.T, email string) (*http.Client, string) {
	c := signInAt(t, r.url, email)
	_, _, dash := page(t, c, r.url+"/rounds") // every account's page, with the sign-out form's token
	m := csrfRE.FindStringSubmatch(dash)
	if m == nil {
		t.Fatal("no CSRF token once signed in")
	}
	return c, m[1]
}

// post sends the builder's form and returns the status, location and body.
func (r *segmentRig) post(t *testing.T, c *http.Client, form url.Values) (int, string, string) {
	t.Helper()
	res, err := c.PostForm(r.url+"/segments/new", form)
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, res)
	return res.StatusCode, res.Header.Get("Location"), b
}

// segmentForm is the builder's form with rows of field, op, value ("!" before the field
// for "not").
func segmentForm(csrf, action string, rows ...[3]string) url.Values {
	f := url.Values{"csrf": {csrf}, "action": {action}, "name": {"Millbrook, not SW9 8"}, "description": {"Acre Lane and around"},
		"match": {"all"}, "purpose": {"service"}, "count_topic": {"general"}, "rows": {strconv.Itoa(len(rows))}}
	for i, row := range rows {
		p := "rule-" + strconv.Itoa(i) + "-"
		field, not := strings.CutPrefix(row[0], "!")
		if not {
			f.Set(p+"not", "1")
		}
		f.Set(p+"field", field)
		f.Set(p+"op", row[1])
		f.Set(p+"value", row[2])
	}
	return f
}

var (
	segmentRowRE  = regexp.MustCompile(`(?s)<tr data-key="([a-z_]+)"><th scope="row">(.*?)</th>(.*?)</tr>`)
	segmentCellRE = regexp.MustCompile(`<td class="n">([\d,]+)</td>`)
)

// segmentCounts reads the count table of doc: "key" (or "excluded: reason") → one
// number per column.
func segmentCounts(t *testing.T, doc string) map[string][]int {
	t.Helper()
	start := strings.Index(doc, `id="count-table"`)
	if start < 0 {
		t.Fatalf("no count table in:\n%s", doc)
	}
	out := map[string][]int{}
	for _, m := range segmentRowRE.FindAllStringSubmatch(doc[start:], -1) {
		key := m[1]
		if key == "excluded" {
			key += ": " + html.UnescapeString(m[2])
		}
		for _, c := range segmentCellRE.FindAllStringSubmatch(m[3], -1) {
			n, err := strconv.Atoi(strings.ReplaceAll(c[1], ",", ""))
			if err != nil {
				t.Fatal(err)
			}
			out[key] = append(out[key], n)
		}
	}
	return out
}

// segmentWant is what the count table should say for counts, one per column.
func segmentWant(counts ...segment.Count) map[string][]int {
	out := map[string][]int{}
	for i, c := range counts {
		for key, n := range map[string]int{"total": c.Total, "email": c.Email, "sms": c.SMS, "post": c.Post,
			"post_only": c.PostOnly, "unreachable": c.Unreachable} {
			out[key] = append(out[key], n)
		}
		for _, e := range c.Excluded {
			key := "excluded: " + strings.ToUpper(e.Reason[:1]) + e.Reason[1:]
			for len(out[key]) < i {
				out[key] = append(out[key], 0)
			}
			out[key] = append(out[key], e.Contacts)
		}
	}
	for key := range out {
		for len(out[key]) < len(counts) {
			out[key] = append(out[key], 0)
		}
	}
	return out
}

func TestSegmentBuilderCountsAndSaves(t *testing.T) {
	r := newSegmentRig(t)
	ctx := t.Context()
	off, csrf := r.signIn(t, "jo@council.example")

	code, _, doc := page(t, off, r.url+"/segments/new")
	if code != http.StatusOK || !strings.Contains(doc, `name="rows" value="1"`) || !strings.Contains(doc, `id="rule-0-field"`) {
		t.Fatalf("new segment form (%d):\n%s", code, doc)
	}

	// Add a rule: the form comes back with a second, empty row and the first as typed,
	// its comparisons now those of a ward.
	code, _, doc = r.post(t, off, segmentForm(csrf, "add", [3]string{"ward", "eq", "Millbrook"}))
	if code != http.StatusOK || !strings.Contains(doc, `name="rows" value="2"`) || !strings.Contains(doc, `id="rule-1-field"`) ||
		!strings.Contains(doc, `id="rule-0-value" name="rule-0-value" value="Millbrook"`) {
		t.Fatalf("add a rule (%d):\n%s", code, doc)
	}
	first := doc[strings.Index(doc, `id="rule-0-op"`):strings.Index(doc, `id="rule-1-op"`)]
	if !strings.Contains(first, `value="not_in"`) || strings.Contains(first, `value="has_any"`) {
		t.Errorf("a ward rule's comparisons:\n%s", first)
	}

	// Count, for both purposes: the page says what segment.Store.Count says.
	rows := [][3]string{{"ward", "eq", "Millbrook"}, {"!postcode_sector", "eq", "SW9 8"}}
	rule, err := segment.Parse([]byte(segmentRuleJSON))
	if err != nil {
		t.Fatal(err)
	}
	store := segment.NewStore(r.db)
	counts := map[string]segment.Count{}
	for _, purpose := range []string{segment.PurposeService, segment.PurposeMarketing} {
		form := segmentForm(csrf, "count", rows...)
		form.Set("purpose", purpose)
		code, _, doc = r.post(t, off, form)
		if code != http.StatusOK {
			t.Fatalf("count for %s (%d):\n%s", purpose, code, doc)
		}
		want, err := store.Count(ctx, rule, "general", purpose)
		if err != nil {
			t.Fatal(err)
		}
		counts[purpose] = want
		if got := segmentCounts(t, doc); !reflect.DeepEqual(got, segmentWant(want)) {
			t.Errorf("%s count: page says %v, the store %v", purpose, got, segmentWant(want))
		}
		if !strings.Contains(doc, `<h3 id="count-heading">`+strconv.Itoa(want.Total)+` residents match</h3>`) {
			t.Errorf("%s count: no heading with %d residents", purpose, want.Total)
		}
	}
	// Ada, Ben, Cara, Gwen and Hana; the marketing count leaves the post-only residents out
	// for want of consent, and says so.
	if s, m := counts[segment.PurposeService], counts[segment.PurposeMarketing]; s.Total != 5 || s.Post != 5 || m.Post != 0 ||
		m.Email != 1 || m.SMS != 1 || len(s.Excluded) == 0 || len(m.Excluded) < 3 {
		t.Errorf("the rig's counts are not what the test needs: service %+v, marketing %+v", s, m)
	}
	// Pressing Enter in a field sends the form's first button, which counts; a browser that
	// sends no button at all counts too.
	enter := segmentForm(csrf, "", rows...)
	enter.Del("action")
	if code, _, doc := r.post(t, off, enter); code != http.StatusOK || segmentCounts(t, doc)["total"][0] != 5 {
		t.Errorf("implicit submission: %d", code)
	}

	// Save: the segment holds the rule, as JSON, and its page says it in plain English.
	code, loc, doc := r.post(t, off, segmentForm(csrf, "save", rows...))
	if code != http.StatusSeeOther || !regexp.MustCompile(`^/segments/\d+$`).MatchString(loc) {
		t.Fatalf("save (%d → %q):\n%s", code, loc, doc)
	}
	id := strings.TrimPrefix(loc, "/segments/")
	seg, err := store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if seg.Name != "Millbrook, not SW9 8" || seg.Description != "Acre Lane and around" || seg.CreatedBy != "jo@council.example" ||
		!reflect.DeepEqual(seg.Rules, rule) {
		t.Errorf("saved segment: %+v", seg)
	}
	var same bool
	if err := r.db.Get(&same, `SELECT rules = $1::jsonb FROM segments WHERE id = $2`, segmentRuleJSON, id); err != nil || !same {
		t.Errorf("saved rules are not %s (%v)", segmentRuleJSON, err)
	}

	code, _, doc = page(t, off, r.url+loc)
	if code != http.StatusOK || !strings.Contains(doc, "<li>ward is Millbrook</li>") ||
		!strings.Contains(doc, "<li>not: postcode sector is SW9 8</li>") || !strings.Contains(doc, "Residents who match all of these rules:") {
		t.Fatalf("segment page (%d):\n%s", code, doc)
	}
	if got, want := segmentCounts(t, doc), segmentWant(counts[segment.PurposeService], counts[segment.PurposeMarketing]); !reflect.DeepEqual(got, want) {
		t.Errorf("segment page counts: %v, want %v", got, want)
	}

	// The list counts it for service messages, or marketing when asked.
	for purpose, c := range counts {
		code, _, doc = page(t, off, r.url+"/segments?purpose="+purpose)
		row := regexp.MustCompile(`(?s)<tr data-id="` + id + `">.*?</tr>`).FindString(doc)
		var cells []string
		for _, m := range segmentCellRE.FindAllStringSubmatch(row, -1) {
			cells = append(cells, m[1])
		}
		want := []string{itoa(int64(c.Total)), itoa(int64(c.Email)), itoa(int64(c.SMS)), itoa(int64(c.Post))}
		if code != http.StatusOK || !strings.Contains(row, "Millbrook, not SW9 8") || !reflect.DeepEqual(cells, want) {
			t.Errorf("list for %s (%d): cells %v, want %v\n%s", purpose, code, cells, want, row)
		}
	}

	// The name is taken now.
	code, _, doc = r.post(t, off, segmentForm(csrf, "save", rows...))
	if code != http.StatusUnprocessableEntity || !strings.Contains(doc, `<a href="#name">A segment called “Millbrook, not SW9 8” already exists`) {
		t.Errorf("a second segment of the same name (%d):\n%s", code, doc)
	}

	// Removing a row keeps the others as typed.
	code, _, doc = r.post(t, off, segmentForm(csrf, "remove-0", rows...))
	if code != http.StatusOK || !strings.Contains(doc, `name="rows" value="1"`) ||
		!strings.Contains(doc, `id="rule-0-value" name="rule-0-value" value="SW9 8"`) || !strings.Contains(doc, `id="rule-0-not" name="rule-0-not" value="1" checked`) {
		t.Errorf("remove the first rule (%d):\n%s", code, doc)
	}
}

func TestSegmentBuilderRejectsInvalidRules(t *testing.T) {
	r := newSegmentRig(t)
	off, csrf := r.signIn(t, "jo@council.example")
	for _, tc := range []struct {
		name    string
		action  string
		rows    [][3]string
		control string // the control the error is tied to
		msg     string
	}{
		{"unknown op", "count", [][3]string{{"ward", "eq", "Millbrook"}, {"ward", "bogus", "Riverside"}}, "rule-1-op", "Rule 2: Ward can’t be compared"},
		{"op of another field", "save", [][3]string{{"tag", "eq", "business"}}, "rule-0-op", "Rule 1: Tag can’t be compared with “is”"},
		{"empty value", "count", [][3]string{{"ward", "eq", "Millbrook"}, {"postcode_sector", "eq", "  "}}, "rule-1-value", "Rule 2: enter a postcode sector"},
		{"no field", "save", [][3]string{{"", "eq", "x"}}, "rule-0-field", "Rule 1: choose what the rule is about"},
		// segment.Validate's own words, put on the row's value (a blank row is skipped but
		// keeps its number; the error is under a NOT).
		{"not a sector", "count", [][3]string{{"ward", "eq", "Millbrook"}, {"", "", ""}, {"!postcode_sector", "in", "SW9 8, nonsense"}},
			"rule-2-value", "Rule 3: &#34;nonsense&#34; is not a postcode sector"},
		{"unknown topic", "count", [][3]string{{"topic", "subscribed", "parking"}}, "rule-0-value", "Rule 1: there is no topic “parking”"},
		{"unknown campaign", "count", [][3]string{{"campaign", "sent", "999"}}, "rule-0-value", "Rule 1: there is no campaign number 999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, doc := r.post(t, off, segmentForm(csrf, tc.action, tc.rows...))
			if code != http.StatusUnprocessableEntity {
				t.Fatalf("%d, want 422:\n%s", code, doc)
			}
			summary := regexp.MustCompile(`(?s)<div class="error" role="alert" id="error-summary".*?</div>`).FindString(doc)
			if !strings.Contains(summary, `<a href="#`+tc.control+`">`+tc.msg) {
				t.Errorf("error summary does not link %q to #%s:\n%s", tc.msg, tc.control, summary)
			}
			if !strings.Contains(doc, `<p class="error-message" id="`+tc.control+`-error">`) ||
				!regexp.MustCompile(`id="`+tc.control+`"[^>]*aria-describedby="`+tc.control+`-error[^"]*"[^>]*aria-invalid="true"`).MatchString(doc) {
				t.Errorf("%s is not marked invalid with its message:\n%s", tc.control, doc)
			}
			if strings.Contains(doc, `id="count-table"`) {
				t.Error("counted despite the error")
			}
			for i, row := range tc.rows { // the input is kept
				if v := html.EscapeString(row[2]); !strings.Contains(doc, `name="rule-`+strconv.Itoa(i)+`-value" value="`+v+`"`) {
					t.Errorf("row %d's value %q is not kept", i+1, row[2])
				}
			}
			if !strings.Contains(doc, "<title>Error: New segment") {
				t.Error("the title does not say there is an error")
			}
		})
	}

	// Saving needs a name.
	form := segmentForm(csrf, "save", [3]string{"ward", "eq", "Millbrook"})
	form.Set("name", " ")
	if code, _, doc := r.post(t, off, form); code != http.StatusUnprocessableEntity || !strings.Contains(doc, `<a href="#name">Enter a name for the segment</a>`) {
		t.Errorf("no name (%d):\n%s", code, doc)
	}
	var n int
	if err := r.db.Get(&n, `SELECT count(*) FROM segments`); err != nil || n != 0 {
		t.Errorf("%d segments saved from invalid forms (%v)", n, err)
	}
}

func TestSegmentPagesAreForOfficers(t *testing.T) {
	r := newSegmentRig(t)
	seg, err := segment.NewStore(r.db).Create(t.Context(), "Everyone", "", segment.Rule{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/segments", "/segments/new", "/segments/" + itoa(seg.ID)}
	save := segmentForm("", "save", [3]string{"ward", "eq", "Millbrook"})

	jar, _ := cookiejar.New(nil)
	anon := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range paths {
		if code, loc, _ := page(t, anon, r.url+p); code != http.StatusSeeOther || loc != "/login?next="+url.QueryEscape(p) {
			t.Errorf("anonymous GET %s: %d → %q", p, code, loc)
		}
	}
	if code, _, _ := r.post(t, anon, save); code != http.StatusUnauthorized {
		t.Errorf("anonymous POST: %d", code)
	}

	vol, volCSRF := r.signIn(t, "sam@volunteers.example")
	for _, p := range paths {
		if code, _, doc := page(t, vol, r.url+p); code != http.StatusForbidden || strings.Contains(doc, "Everyone") {
			t.Errorf("volunteer GET %s: %d", p, code)
		}
	}
	save.Set("csrf", volCSRF)
	if code, _, _ := r.post(t, vol, save); code != http.StatusForbidden {
		t.Errorf("volunteer POST: %d", code)
	}

	off, _ := r.signIn(t, "jo@council.example")
	for _, token := range []string{"", "forged"} {
		save.Set("csrf", token)
		if code, _, doc := r.post(t, off, save); code != http.StatusForbidden || !strings.Contains(doc, "This form has expired") {
			t.Errorf("officer POST with CSRF token %q: %d", token, code)
		}
	}
	var n int
	if err := r.db.Get(&n, `SELECT count(*) FROM segments`); err != nil || n != 1 {
		t.Errorf("%d segments after refused posts (%v)", n, err)
	}

	code, _, doc := page(t, off, r.url+"/segments/"+itoa(seg.ID))
	if code != http.StatusOK || !strings.Contains(doc, "Everyone: the segment has no rules.") {
		t.Errorf("the everyone segment (%d):\n%s", code, doc)
	}
	for _, p := range []string{"/segments/999999", "/segments/Everyone", "/segments/0"} {
		if code, _, _ := page(t, off, r.url+p); code != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	if code, _, _ := page(t, off, r.url+"/segments/"+itoa(seg.ID)+"?topic=nope"); code != http.StatusNotFound {
		t.Errorf("unknown topic: %d", code)
	}
}

// TestSegmentBuilderOffersOnlyValidRules: every field and comparison of the builder is
// one segment.Validate accepts.
func TestSegmentBuilderOffersOnlyValidRules(t *testing.T) {
	leaves := web.SegmentBuilderLeaves()
	if len(leaves) < 20 {
		t.Fatalf("only %d comparisons", len(leaves))
	}
	for _, l := range leaves {
		if err := l.Validate(); err != nil {
			t.Errorf("%s %s: %v", l.Field, l.Op, err)
		}
	}
}

// TestSegmentRulesInPlainEnglish: a rule tree the builder can't make (groups in groups,
// from the CLI) reads as nested lists.
func TestSegmentRulesInPlainEnglish(t *testing.T) {
	rule, err := segment.Parse([]byte(`{"any": [
		{"all": [{"field": "ward", "op": "in", "value": ["Millbrook", "Riverside", "Oak"]},
		         {"not": {"field": "tag", "op": "has", "value": "business"}}]},
		{"field": "reachable", "op": "by", "value": "sms"},
		{"not": {"any": [{"field": "large_print", "op": "is", "value": true},
		                 {"field": "attr.tenure", "op": "exists"}]}},
		{"field": "campaign", "op": "replied", "value": 7, "answer": "b"},
		{"field": "first_name", "op": "prefix", "value": "Ad"},
		{"field": "tag", "op": "has_all", "value": ["tenant", "over-65"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	intro, lines := web.DescribeSegmentRule(rule, map[int64]string{7: "Bin day"})
	want := []string{
		"all of these:",
		"  ward is one of Millbrook, Riverside or Oak",
		"  not: has tag business",
		"can be reached by SMS about General news",
		"none of these:",
		"  needs large print",
		"  has the attribute “tenure” recorded",
		"replied by text to campaign 7 “Bin day”, answering B",
		"first name starts with Ad",
		"has all of the tags tenant and over-65",
	}
	if intro != "Residents who match any of these rules:" || !reflect.DeepEqual(lines, want) {
		t.Errorf("%s\n%s", intro, strings.Join(lines, "\n"))
	}
}

// TestBrowserSegmentBuilder: an officer builds a two-rule segment in Chromium, without
// JavaScript of the page's own, counts and saves it; every page passes axe-core, fits a
// 360-px phone and starts with a visible focus.
func TestBrowserSegmentBuilder(t *testing.T) {
	r := newSegmentRig(t)
	ctx := newBrowser(t)
	rule, _ := segment.Parse([]byte(segmentRuleJSON))
	want, err := segment.NewStore(r.db).Count(t.Context(), rule, "general", segment.PurposeService)
	if err != nil {
		t.Fatal(err)
	}

	open(t, ctx, r.url+"/segments/new", 200) // by way of signing in
	browse(t, ctx, "sign in as the officer",
		chromedp.SendKeys(chromedp.CSS("#email"), "jo@council.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "New segment" {
		t.Fatalf("after signing in: %q", h)
	}
	checkPage(t, ctx, "new segment")

	browse(t, ctx, "write the first rule",
		chromedp.SendKeys(chromedp.CSS("#name"), "Millbrook, not SW9 8"),
		chromedp.SetValue(chromedp.CSS("#rule-0-field"), "ward"),
		chromedp.SetValue(chromedp.CSS("#rule-0-op"), "eq"),
		chromedp.SendKeys(chromedp.CSS("#rule-0-value"), "Millbrook"))
	submit(t, ctx, "#add-rule", 200)
	browse(t, ctx, "write the second rule",
		chromedp.Click(chromedp.CSS("#rule-1-not")),
		chromedp.SetValue(chromedp.CSS("#rule-1-field"), "postcode_sector"),
		chromedp.SetValue(chromedp.CSS("#rule-1-op"), "eq"))

	// Counting with the value missing shows the problem, tied to the field.
	submit(t, ctx, "#count-button", 422)
	if s := text(t, ctx, "#error-summary a[href='#rule-1-value']"); !strings.HasPrefix(s, "Rule 2:") {
		t.Errorf("error summary: %q", s)
	}
	checkPage(t, ctx, "new segment with an error")

	browse(t, ctx, "give the second rule its value", chromedp.SendKeys(chromedp.CSS("#rule-1-value"), "SW9 8"))
	submit(t, ctx, "#count-button", 200)
	if n := text(t, ctx, "#count-table tr[data-key=total] td"); n != strconv.Itoa(want.Total) {
		t.Errorf("the count says %s residents, the store %d", n, want.Total)
	}
	if h := text(t, ctx, "#count-heading"); h != strconv.Itoa(want.Total)+" residents match" {
		t.Errorf("count heading: %q", h)
	}
	checkPage(t, ctx, "new segment with its count")
	// Enter in a field counts too (the form's first button), rather than removing a rule.
	actx, cancel := context.WithTimeout(ctx, browserActionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(actx, chromedp.SendKeys(chromedp.CSS("#name"), kb.Enter))
	if err != nil {
		t.Fatalf("press Enter in the name: %v", err)
	}
	if resp.Status != 200 {
		t.Fatalf("press Enter in the name: status %d", resp.Status)
	}
	if n := evaluate[int](t, ctx, "count the rules", `document.querySelectorAll('fieldset.rule').length`); n != 2 {
		t.Errorf("after pressing Enter: %d rules", n)
	}
	if n := text(t, ctx, "#count-table tr[data-key=total] td"); n != strconv.Itoa(want.Total) {
		t.Errorf("after pressing Enter the count says %s residents, the store %d", n, want.Total)
	}

	submit(t, ctx, "#save-button", 200)
	if h := text(t, ctx, "h1"); h != "Millbrook, not SW9 8" {
		t.Fatalf("after saving: %q", h)
	}
	if s := text(t, ctx, "ul.rules"); !strings.Contains(s, "ward is Millbrook") || !strings.Contains(s, "not: postcode sector is SW9 8") {
		t.Errorf("rules in plain English: %q", s)
	}
	checkPage(t, ctx, "segment")

	open(t, ctx, r.url+"/segments", 200)
	if s := text(t, ctx, "#segments tbody"); !strings.Contains(s, "Millbrook, not SW9 8") {
		t.Errorf("segments list: %q", s)
	}
	checkPage(t, ctx, "segments")
}
