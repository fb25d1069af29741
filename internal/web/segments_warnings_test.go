package web_test

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestSegmentBuilderWarnsOfValuesThatMatchNobody: a ward nobody lives in ("Rivrside")
// is counted and saved (a warning, not an error), and both the count and the saved
// segment's page name the nearest wards that exist.
func TestSegmentBuilderWarnsOfValuesThatMatchNobody(t *testing.T) {
	r := newSegmentRig(t)
	off, csrf := r.signIn(t, "jo@council.example")
	rows := [][3]string{{"ward", "eq", "Millbrook"}, {"ward", "eq", "Rivrside"}}
	form := segmentForm(csrf, "count", rows...)
	form.Set("match", "any")

	code, _, doc := r.post(t, off, form)
	if want := "Rule 2: ward “Rivrside” matches nobody; nearest: “Riverside”"; code != http.StatusOK || !strings.Contains(html.UnescapeString(doc), want) {
		t.Errorf("count (%d): no %q\n%s", code, want, doc)
	}
	if strings.Contains(html.UnescapeString(doc), "Rule 1:") {
		t.Errorf("the ward that exists is warned of:\n%s", doc)
	}

	form.Set("action", "save")
	code, loc, doc := r.post(t, off, form)
	if code != http.StatusSeeOther || !regexp.MustCompile(`^/segments/\d+$`).MatchString(loc) {
		t.Fatalf("save (%d → %q): want it saved despite the warning\n%s", code, loc, doc)
	}
	code, _, doc = page(t, off, r.url+loc)
	if want := "Ward “Rivrside” matches nobody; nearest: “Riverside”"; code != http.StatusOK || !strings.Contains(html.UnescapeString(doc), want) {
		t.Errorf("segment page (%d): no %q\n%s", code, want, doc)
	}

	// Values that all exist: no warning.
	form = segmentForm(csrf, "count", [3]string{"ward", "eq", "Riverside"})
	if code, _, doc := r.post(t, off, form); code != http.StatusOK || strings.Contains(doc, `id="segment-warnings"`) {
		t.Errorf("count of Riverside (%d) warns:\n%s", code, doc)
	}
}
