package segment_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/segment"
)

// TestListPageSortFilterAndPage: the segments list sorts by name and its times both
// ways, finds text in names and descriptions (a LIKE wildcard taken literally), pages
// with a total, and refuses a sort key it doesn't know.
func TestListPageSortFilterAndPage(t *testing.T) {
	ctx := t.Context()
	d := dbtest.New(t)
	s := segment.NewStore(d)
	rule := segment.Rule{Field: "ward", Op: "eq", Value: "Millbrook"}
	var ids []int64
	for i, seg := range []struct{ name, desc, created, updated string }{
		{"millbrook", "Everyone in the ward", "2025-01-01", "2025-06-01"},
		{"Acre Lane", "100% of the street", "2025-02-01", "2025-02-01"},
		{"Tenants", "Council tenants in Millbrook", "2025-03-01", "2025-04-01"},
	} {
		created, err := s.Create(ctx, seg.name, seg.desc, rule, "jo")
		if err != nil {
			t.Fatal(i, err)
		}
		if _, err := d.Exec(`UPDATE segments SET created_at = $2, updated_at = $3 WHERE id = $1`, created.ID, seg.created, seg.updated); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, created.ID)
	}
	mill, acre, ten := ids[0], ids[1], ids[2]
	id := func(ids ...int64) string {
		var out []string
		for _, i := range ids {
			out = append(out, fmt.Sprint(i))
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		q     segment.ListQuery
		want  string
		total int
	}{
		{segment.ListQuery{}, id(acre, mill, ten), 3}, // by name, in any case
		{segment.ListQuery{Sort: "name", Desc: true}, id(ten, mill, acre), 3},
		{segment.ListQuery{Sort: "created"}, id(mill, acre, ten), 3},
		{segment.ListQuery{Sort: "updated", Desc: true}, id(mill, ten, acre), 3},
		{segment.ListQuery{Text: "MILLBROOK"}, id(mill, ten), 2}, // a name, a description
		{segment.ListQuery{Text: "100%"}, id(acre), 1},
		{segment.ListQuery{Text: "%"}, id(acre), 1},
		{segment.ListQuery{Text: "nobody"}, "", 0},
		{segment.ListQuery{Limit: 2}, id(acre, mill), 3},
		{segment.ListQuery{Limit: 2, Offset: 2}, id(ten), 3},
	} {
		segs, total, err := s.ListPage(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, sg := range segs {
			got = append(got, sg.ID)
		}
		if id(got...) != tc.want || total != tc.total {
			t.Errorf("%+v: %s of %d, want %s of %d", tc.q, id(got...), total, tc.want, tc.total)
		}
	}
	if _, _, err := s.ListPage(ctx, segment.ListQuery{Sort: "rules"}); !errors.Is(err, segment.ErrUnknownSort) {
		t.Errorf("an unknown sort: %v", err)
	}
}
