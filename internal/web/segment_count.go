package web

import (
	"slices"

	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/web/number"
)

// countTableView is one or more counts of a segment (one per purpose), as a table.
type countTableView struct {
	ID       string // the table's id
	Caption  string
	Columns  []string // one per count
	Total    string   // the first count's total
	Rows     []countTableRow
	Excluded []countTableRow
}

// countTableRow is one row of a count table: a value per count.
type countTableRow struct {
	Key, Label string
	Values     []string
}

// countTable lays out counts, one per column: the residents who match, who can be
// reached how, and why some can't be on a channel (a reason only one count has is 0 in
// the others).
func countTable(id, caption string, columns []string, counts []segment.Count) *countTableView {
	v := &countTableView{ID: id, Caption: caption, Columns: columns}
	if len(counts) > 0 {
		v.Total = number.Thousands(counts[0].Total)
	}
	row := func(key, label string, get func(segment.Count) int) {
		r := countTableRow{Key: key, Label: label}
		for _, c := range counts {
			r.Values = append(r.Values, number.Thousands(get(c)))
		}
		v.Rows = append(v.Rows, r)
	}
	row("total", "Match the rules", func(c segment.Count) int { return c.Total })
	row("email", "Can be reached by email", func(c segment.Count) int { return c.Email })
	row("sms", "Can be reached by SMS", func(c segment.Count) int { return c.SMS })
	row("post", "Can be reached by post", func(c segment.Count) int { return c.Post })
	row("post_only", "Can be reached by post only", func(c segment.Count) int { return c.PostOnly })
	row("unreachable", "Can’t be reached", func(c segment.Count) int { return c.Unreachable })
	var reasons []string
	for _, c := range counts {
		for _, e := range c.Excluded {
			if !slices.Contains(reasons, e.Reason) {
				reasons = append(reasons, e.Reason)
			}
		}
	}
	for _, reason := range reasons {
		r := countTableRow{Key: "excluded", Label: sentence(reason)}
		for _, c := range counts {
			n := 0
			for _, e := range c.Excluded {
				if e.Reason == reason {
					n = e.Contacts
				}
			}
			r.Values = append(r.Values, number.Thousands(n))
		}
		v.Excluded = append(v.Excluded, r)
	}
	return v
}
