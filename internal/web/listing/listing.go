// Package listing is the officers' lists' state in the query string: which column they
// are sorted by and which way, which filters are on, and which page is shown. Every link
// a list page draws (a column header, Previous/Next, the filter form's hidden fields)
// carries the whole state, so a list works without JavaScript and a link can be shared
// or bookmarked.
//
// A page describes its list once, as a Spec:
//
//	var roundsList = listing.Spec{
//		Path:    "/rounds",
//		Columns: []listing.Column{{Key: "name", Label: "Round"}, {Key: "due", Label: "Due", DescFirst: true}},
//		Default: "due",
//		Filters: []string{"state", "q"},
//	}
//
// A Spec with no Default leaves the rows in their store's own order until a column is
// chosen (the contacts search orders by relevance to its kind of query).
//
// Per request the page reads it (Spec.Parse), hands the sort key, direction, limit and
// offset to its store, and gives the template the view (Spec.View) with the store's
// total. Sort keys are only ever ones the Spec names: a key from the query string that
// is not one of its Columns is ignored, so a store can map the key to fixed SQL text
// (its own whitelist) and never sees an unknown one. Stores should still refuse keys
// they don't know: they don't trust their callers to have used a Spec.
package listing

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier/internal/web/number"
)

// PerPage is how many rows a list shows at once, unless its Spec says otherwise.
const PerPage = 50

// maxPage bounds the page number read from a link (an offset deep into a large table
// is slow, and nobody pages that far: they filter).
const maxPage = 10000

// Column is a column a list can be sorted by.
type Column struct {
	Key   string // in the query string: ?sort=Key
	Label string // the column's header
	// DescFirst sorts the column descending when it is first chosen (dates: newest
	// first); text columns start A to Z.
	DescFirst bool
}

// Spec describes one list page.
type Spec struct {
	Path    string   // the page's path, "/campaigns"
	Columns []Column // the sortable columns
	Default string   // the Key sorted by when the query names none (or one not in Columns)
	// Filters are the query parameters that filter the list. They are kept in every
	// link, and changing one goes back to the first page.
	Filters []string
	PerPage int // 0 means PerPage
}

// State is a list's state, as read from a request's query string.
type State struct {
	Sort    string     // always one of the Spec's column keys
	Desc    bool       // descending
	Page    int        // from 1
	Filter  url.Values // the Spec's filters that are set (trimmed, non-empty)
	perPage int
}

// Limit is how many rows to ask the store for.
func (st State) Limit() int { return st.perPage }

// Offset is how many rows the shown page skips.
func (st State) Offset() int { return (st.Page - 1) * st.perPage }

// Get returns the value of filter name ("" when unset).
func (st State) Get(name string) string { return st.Filter.Get(name) }

func (sp Spec) perPage() int {
	if sp.PerPage > 0 {
		return sp.PerPage
	}
	return PerPage
}

func (sp Spec) column(key string) (Column, bool) {
	for _, c := range sp.Columns {
		if c.Key == key {
			return c, true
		}
	}
	return Column{}, false
}

// Parse reads a list's state from q: ?sort=KEY&dir=asc|desc&page=N and the Spec's
// filters. A sort key the Spec does not name is ignored (the default sort is used); a
// missing dir is the column's own first direction; a page that is not a number from 1
// to 10,000 is page 1 (or 10,000).
func (sp Spec) Parse(q url.Values) State {
	st := State{Sort: sp.Default, Page: 1, Filter: url.Values{}, perPage: sp.perPage()}
	if c, ok := sp.column(q.Get("sort")); ok {
		st.Sort = c.Key
	}
	c, _ := sp.column(st.Sort)
	switch q.Get("dir") {
	case "asc":
		st.Desc = false
	case "desc":
		st.Desc = true
	default:
		st.Desc = c.DescFirst
	}
	if st.Sort == "" {
		st.Desc = false // no sort: the store's own order, which has no reverse
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 {
		st.Page = min(n, maxPage)
	}
	for _, f := range sp.Filters {
		if v := strings.TrimSpace(q.Get(f)); v != "" {
			st.Filter.Set(f, v)
		}
	}
	return st
}

// values is st as a query string; the default sort and page 1 are left out, so the
// plainest state is the bare path.
func (sp Spec) values(st State) url.Values {
	v := url.Values{}
	for k, vs := range st.Filter {
		v[k] = vs
	}
	c, _ := sp.column(st.Sort)
	if st.Sort != sp.Default {
		v.Set("sort", st.Sort)
	}
	if st.Sort != sp.Default || st.Desc != c.DescFirst {
		if st.Desc {
			v.Set("dir", "desc")
		} else {
			v.Set("dir", "asc")
		}
	}
	if st.Page > 1 {
		v.Set("page", strconv.Itoa(st.Page))
	}
	return v
}

// URL is the link to the list in state st.
func (sp Spec) URL(st State) string {
	if v := sp.values(st); len(v) > 0 {
		return sp.Path + "?" + v.Encode()
	}
	return sp.Path
}

// Header is a sortable column's header as a template draws it.
type Header struct {
	Label string
	URL   string // sorts by this column: the other way if it is sorted by already
	// AriaSort is "ascending" or "descending" on the column the list is sorted by, ""
	// on the others (the aria-sort attribute is left off them).
	AriaSort string
	Next     string // what following the link does, for screen readers: "sort Z to A"
}

// Hidden is a query parameter a filter form carries unchanged.
type Hidden struct{ Name, Value string }

// View is what a list's template needs besides its rows: the column headers, the
// pager, and the hidden fields that keep the sort when the filter form is sent.
type View struct {
	Sort   map[string]Header // by column key
	Pager  Pager
	Hidden []Hidden // the sort, for the filter form (which starts again at page 1)
	// Filtered says whether any filter is set; Reset is the list without them (same sort).
	Filtered bool
	Reset    string
	Self     string // this very page, for forms that come back to it
}

// Pager is the list's place among its pages: "Showing 51–100 of 1,234", with links to
// the previous and next pages.
type Pager struct {
	From, To, Total string // formatted with thousands separators
	Count           int    // the total as a number
	PrevURL         string // "" on the first page
	NextURL         string // "" on the last page
	Page, Pages     int
}

// Showing is the pager's summary: "Showing 51–100 of 1,234", or "" with no rows.
func (p Pager) Showing() string {
	if p.Count == 0 || p.From == "" {
		return ""
	}
	return "Showing " + p.From + "–" + p.To + " of " + p.Total
}

// View builds the template's view of state st for a list of total rows of which shown
// are on this page.
func (sp Spec) View(st State, total, shown int) View {
	v := View{Sort: map[string]Header{}, Filtered: len(st.Filter) > 0, Self: sp.URL(st)}
	for _, c := range sp.Columns {
		h := Header{Label: c.Label}
		next := State{Sort: c.Key, Desc: c.DescFirst, Page: 1, Filter: st.Filter}
		if c.Key == st.Sort {
			h.AriaSort = "ascending"
			if st.Desc {
				h.AriaSort = "descending"
			}
			next.Desc = !st.Desc
		}
		h.URL = sp.URL(next)
		h.Next = "sort ascending"
		if next.Desc {
			h.Next = "sort descending"
		}
		v.Sort[c.Key] = h
	}
	c, _ := sp.column(st.Sort)
	if st.Sort != sp.Default {
		v.Hidden = append(v.Hidden, Hidden{"sort", st.Sort})
	}
	if st.Sort != sp.Default || st.Desc != c.DescFirst {
		dir := "asc"
		if st.Desc {
			dir = "desc"
		}
		v.Hidden = append(v.Hidden, Hidden{"dir", dir})
	}
	v.Reset = sp.URL(State{Sort: st.Sort, Desc: st.Desc, Page: 1})
	per := sp.perPage()
	p := Pager{Count: total, Total: number.Thousands(total), Page: st.Page, Pages: max(1, (total+per-1)/per)}
	if shown > 0 {
		from := st.Offset() + 1
		p.From, p.To = number.Thousands(from), number.Thousands(from+shown-1)
	}
	if st.Page > 1 {
		prev := st
		prev.Page = min(st.Page-1, p.Pages)
		p.PrevURL = sp.URL(prev)
	}
	if st.Offset()+shown < total && st.Page < maxPage {
		next := st
		next.Page = st.Page + 1
		p.NextURL = sp.URL(next)
	}
	v.Pager = p
	return v
}

// Option is one choice of a list's filter, as a <select> offers it.
type Option struct {
	Value, Label string
	Selected     bool
}

// Options offers values, each labelled by label, after "Any" (the value ""), with the
// one equal to selected chosen.
func Options(values []string, label func(string) string, selected string) []Option {
	out := []Option{{Value: "", Label: "Any", Selected: selected == ""}}
	for _, v := range values {
		out = append(out, Option{Value: v, Label: label(v), Selected: v == selected})
	}
	return out
}

// Choose returns the value of filter name if it is one of choices, and otherwise drops
// the filter from st (so links don't carry it) and returns "": a filter value the list
// doesn't offer is no filter.
func (st State) Choose(name string, choices ...string) string {
	v := st.Get(name)
	for _, c := range choices {
		if c == v {
			return v
		}
	}
	st.Filter.Del(name)
	return ""
}

// Stamp is a time as the lists show it: in Europe/London, and machine-readable for
// <time datetime>.
type Stamp struct {
	ISO  string // RFC 3339 with London's offset
	Text string // "2 Jul 2025 14:05"
}

// StampOf shows t in loc (the pages pass Europe/London); the zero time, or nil, shows as
// nothing.
func StampOf(t *time.Time, loc *time.Location) Stamp {
	if t == nil || t.IsZero() {
		return Stamp{}
	}
	l := t.In(loc)
	return Stamp{ISO: l.Format(time.RFC3339), Text: l.Format("2 Jan 2006 15:04")}
}
