package listing_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/web/listing"
)

var spec = listing.Spec{
	Path: "/things",
	Columns: []listing.Column{
		{Key: "name", Label: "Name"},
		{Key: "created", Label: "Created", DescFirst: true},
	},
	Default: "created",
	Filters: []string{"q", "state"},
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		query      string
		sort       string
		desc       bool
		page       int
		q, state   string
		wantOffset int
	}{
		{"", "created", true, 1, "", "", 0},
		{"sort=name", "name", false, 1, "", "", 0},
		{"sort=name&dir=desc", "name", true, 1, "", "", 0},
		{"sort=created&dir=asc", "created", false, 1, "", "", 0},
		// Keys not in the Spec are ignored: the default sort stands.
		{"sort=id;DROP TABLE things", "created", true, 1, "", "", 0},
		{"sort=password&dir=sideways", "created", true, 1, "", "", 0},
		{"page=3", "created", true, 3, "", "", 100},
		{"page=0", "created", true, 1, "", "", 0},
		{"page=-4", "created", true, 1, "", "", 0},
		{"page=x", "created", true, 1, "", "", 0},
		{"page=99999999", "created", true, 10000, "", "", 9999 * 50},
		{"q=+bins+&state=sent&other=1", "created", true, 1, "bins", "sent", 0},
	} {
		v, _ := url.ParseQuery(tc.query)
		st := spec.Parse(v)
		if st.Sort != tc.sort || st.Desc != tc.desc || st.Page != tc.page || st.Get("q") != tc.q || st.Get("state") != tc.state ||
			st.Offset() != tc.wantOffset || st.Limit() != 50 {
			t.Errorf("%q: %+v (offset %d)", tc.query, st, st.Offset())
		}
		if st.Get("other") != "" {
			t.Errorf("%q: a parameter that is no filter was kept", tc.query)
		}
	}
}

// TestRoundTrip: every state's URL parses back to the same state, and the plainest
// state is the bare path.
func TestRoundTrip(t *testing.T) {
	for _, query := range []string{"", "sort=name", "sort=name&dir=desc", "dir=asc", "page=2&q=bins", "page=7&sort=name&state=sent"} {
		v, _ := url.ParseQuery(query)
		st := spec.Parse(v)
		u, err := url.Parse(spec.URL(st))
		if err != nil {
			t.Fatal(err)
		}
		again := spec.Parse(u.Query())
		if again.Sort != st.Sort || again.Desc != st.Desc || again.Page != st.Page || again.Filter.Encode() != st.Filter.Encode() {
			t.Errorf("%q → %s → %+v, want %+v", query, u, again, st)
		}
		if u.Path != "/things" {
			t.Errorf("%q: path %s", query, u.Path)
		}
	}
	if u := spec.URL(spec.Parse(url.Values{})); u != "/things" {
		t.Errorf("the default state's URL: %s", u)
	}
}

func TestView(t *testing.T) {
	v, _ := url.ParseQuery("sort=name&q=bins&page=2")
	st := spec.Parse(v)
	view := spec.View(st, 1234, 50)
	name, created := view.Sort["name"], view.Sort["created"]
	// The sorted column says so, and its link reverses it (back to page 1, filters kept).
	if name.AriaSort != "ascending" || name.URL != "/things?dir=desc&q=bins&sort=name" || name.Next != "sort descending" {
		t.Errorf("name header: %+v", name)
	}
	if created.AriaSort != "" || created.URL != "/things?q=bins" || created.Next != "sort descending" {
		t.Errorf("created header: %+v", created)
	}
	p := view.Pager
	if p.Showing() != "Showing 51–100 of 1,234" || p.Page != 2 || p.Pages != 25 {
		t.Errorf("pager: %q, page %d of %d", p.Showing(), p.Page, p.Pages)
	}
	if p.PrevURL != "/things?dir=asc&q=bins&sort=name" || p.NextURL != "/things?dir=asc&page=3&q=bins&sort=name" {
		t.Errorf("pager links: %q %q", p.PrevURL, p.NextURL)
	}
	if len(view.Hidden) != 2 || view.Hidden[0] != (listing.Hidden{Name: "sort", Value: "name"}) || view.Hidden[1] != (listing.Hidden{Name: "dir", Value: "asc"}) {
		t.Errorf("hidden fields: %+v", view.Hidden)
	}
	if !view.Filtered || view.Reset != "/things?dir=asc&sort=name" {
		t.Errorf("reset: %v %q", view.Filtered, view.Reset)
	}

	// The last page has no next; a page past the end links back into the list.
	last := spec.View(spec.Parse(url.Values{"page": {"25"}}), 1234, 34)
	if last.Pager.NextURL != "" || last.Pager.Showing() != "Showing 1,201–1,234 of 1,234" {
		t.Errorf("last page: %+v", last.Pager)
	}
	past := spec.View(spec.Parse(url.Values{"page": {"40"}}), 1234, 0)
	if past.Pager.Showing() != "" || past.Pager.PrevURL != "/things?page=25" {
		t.Errorf("past the end: %+v", past.Pager)
	}
	empty := spec.View(spec.Parse(url.Values{}), 0, 0)
	if empty.Pager.Showing() != "" || empty.Pager.PrevURL != "" || empty.Pager.NextURL != "" || empty.Filtered || len(empty.Hidden) != 0 {
		t.Errorf("an empty list: %+v", empty)
	}
}

// TestNoDefaultSort: a Spec without a default sort leaves the store's own order, marks
// no column, and never asks for it reversed.
func TestNoDefaultSort(t *testing.T) {
	sp := spec
	sp.Default = ""
	st := sp.Parse(url.Values{"dir": {"desc"}, "sort": {"nope"}})
	if st.Sort != "" || st.Desc {
		t.Errorf("state: %+v", st)
	}
	v := sp.View(st, 10, 10)
	if v.Sort["name"].AriaSort != "" || v.Sort["created"].AriaSort != "" || sp.URL(st) != "/things" {
		t.Errorf("view: %+v", v.Sort)
	}
}

func TestStamp(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	summer := time.Date(2025, 7, 2, 13, 5, 0, 0, time.UTC)
	if s := listing.StampOf(&summer, london); s.ISO != "2025-07-02T14:05:00+01:00" || s.Text != "2 Jul 2025 14:05" {
		t.Errorf("summer: %+v", s)
	}
	winter := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	if s := listing.StampOf(&winter, london); s.ISO != "2025-01-15T09:00:00Z" || s.Text != "15 Jan 2025 09:00" {
		t.Errorf("winter: %+v", s)
	}
	if s := listing.StampOf(nil, london); s != (listing.Stamp{}) {
		t.Errorf("nil: %+v", s)
	}
}

func TestFilterChoices(t *testing.T) {
	st := spec.Parse(url.Values{"state": {"exploded"}, "q": {"bins"}})
	if v := st.Choose("state", "draft", "sent"); v != "" || st.Get("state") != "" || spec.URL(st) != "/things?q=bins" {
		t.Errorf("a state not offered: %q, link %s", v, spec.URL(st))
	}
	st = spec.Parse(url.Values{"state": {"sent"}})
	if v := st.Choose("state", "draft", "sent"); v != "sent" || spec.URL(st) != "/things?state=sent" {
		t.Errorf("a state offered: %q, link %s", v, spec.URL(st))
	}
	opts := listing.Options([]string{"draft", "sent"}, func(s string) string { return "<" + s + ">" }, "sent")
	if len(opts) != 3 || opts[0] != (listing.Option{Value: "", Label: "Any"}) || opts[2] != (listing.Option{Value: "sent", Label: "<sent>", Selected: true}) || opts[1].Selected {
		t.Errorf("options: %+v", opts)
	}
	if opts := listing.Options(nil, nil, ""); len(opts) != 1 || !opts[0].Selected {
		t.Errorf("no options: %+v", opts)
	}
}
