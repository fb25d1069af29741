package contact_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// TestSearchSortFilterAndPage: a search sorts by each key both ways (or keeps its own
// order), narrows to a channel, pages with a total, and refuses keys it doesn't know.
func TestSearchSortFilterAndPage(t *testing.T) {
	ctx := t.Context()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	p := filepath.Join(t.TempDir(), "council.csv")
	if err := os.WriteFile(p, []byte(councilFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, contact.ImportOptions{Path: p, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	// Renée's email bounced: she no longer counts as reachable by email.
	if _, err := d.Exec(`UPDATE contact_points SET status = 'bounced' WHERE value = 'renee.obrien@example.org'`); err != nil {
		t.Fatal(err)
	}
	surnames := func(q contact.SearchQuery, limit, offset int) (string, int) {
		t.Helper()
		hits, total, err := s.Search(ctx, q, limit, offset)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		var out []string
		for _, h := range hits {
			out = append(out, h.LastName)
		}
		return strings.Join(out, "|"), total
	}
	search := func(text, sort string, desc bool, channel string) contact.SearchQuery {
		q := contact.ParseSearch(text)
		q.Sort, q.Desc, q.Channel = sort, desc, channel
		return q
	}
	for _, tc := range []struct {
		q             contact.SearchQuery
		limit, offset int
		want          string
		total         int
	}{
		// No query: newest first (one import: one time, so by id).
		{search("", "", false, ""), 50, 0, `Okafor|Llewellyn|O'Brien|Rahman|=cmd|' /C calc'!A0`, 5},
		{search("", "name", false, ""), 50, 0, `=cmd|' /C calc'!A0|Llewellyn|O'Brien|Okafor|Rahman`, 5},
		{search("", "name", true, ""), 50, 0, `Rahman|Okafor|O'Brien|Llewellyn|=cmd|' /C calc'!A0`, 5},
		{search("", "ward", false, ""), 50, 0, `Rahman|Llewellyn|O'Brien|=cmd|' /C calc'!A0|Okafor`, 5},
		{search("", "added", false, ""), 50, 0, `=cmd|' /C calc'!A0|Rahman|O'Brien|Llewellyn|Okafor`, 5},
		{search("", "added", true, ""), 50, 0, `Okafor|Llewellyn|O'Brien|Rahman|=cmd|' /C calc'!A0`, 5},
		// Channels: a working email (Renée's bounced), a mobile, a postal address.
		{search("", "name", false, "email"), 50, 0, `=cmd|' /C calc'!A0|Llewellyn|Rahman`, 3},
		{search("", "name", false, "mobile"), 50, 0, `Llewellyn|O'Brien|Okafor|Rahman`, 4},
		{search("", "name", false, "post"), 50, 0, `=cmd|' /C calc'!A0|Llewellyn|O'Brien|Okafor`, 4},
		// With a search: its own order, or the one asked for, and the channel too.
		{search("SE27", "", false, ""), 50, 0, `=cmd|' /C calc'!A0|Okafor`, 2},
		{search("SE27", "name", true, ""), 50, 0, `Okafor|=cmd|' /C calc'!A0`, 2},
		{search("SE27", "", false, "email"), 50, 0, `=cmd|' /C calc'!A0`, 1},
		// Pages.
		{search("", "name", false, ""), 2, 0, `=cmd|' /C calc'!A0|Llewellyn`, 5},
		{search("", "name", false, ""), 2, 2, `O'Brien|Okafor`, 5},
		{search("", "name", false, ""), 2, 4, `Rahman`, 5},
		{search("", "name", false, ""), 2, 6, ``, 5},
	} {
		if got, total := surnames(tc.q, tc.limit, tc.offset); got != tc.want || total != tc.total {
			t.Errorf("%q sort %q desc %v channel %q from %d: %s of %d, want %s of %d",
				tc.q.Query, tc.q.Sort, tc.q.Desc, tc.q.Channel, tc.offset, got, total, tc.want, tc.total)
		}
	}
	for _, q := range []contact.SearchQuery{search("", "c.id; DROP TABLE contacts", false, ""), search("", "email", false, ""),
		search("", "", true, ""), search("", "name", false, "fax")} {
		if _, _, err := s.Search(ctx, q, 50, 0); !errors.Is(err, contact.ErrUnknownSort) {
			t.Errorf("sort %q desc %v channel %q: %v", q.Sort, q.Desc, q.Channel, err)
		}
	}
}

// TestExportFiltered: an export narrowed by a search holds the rows that search finds,
// written as every export is (the byte-order mark, cells kept as text, Arabic as it is).
func TestExportFiltered(t *testing.T) {
	ctx := t.Context()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	p := filepath.Join(t.TempDir(), "council.csv")
	if err := os.WriteFile(p, []byte(councilFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, contact.ImportOptions{Path: p, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	export := func(q *contact.SearchQuery) (int, []map[string]string) {
		t.Helper()
		var buf bytes.Buffer
		n, err := s.Export(ctx, &buf, contact.ExportOptions{Filter: q})
		if err != nil {
			t.Fatal(err)
		}
		_, rows := exportRows(t, buf.Bytes())
		if len(rows) != n {
			t.Errorf("Export says %d rows and wrote %d", n, len(rows))
		}
		return n, rows
	}
	if n, _ := export(nil); n != 5 {
		t.Errorf("everyone: %d rows", n)
	}
	q := contact.ParseSearch("mohammed@example")
	n, rows := export(&q)
	if n != 1 || rows[0]["First name"] != "محمد" || rows[0]["Mobile"] != "0033 6 12 34 56 78" {
		t.Errorf("one resident: %d %v", n, rows)
	}
	q = contact.ParseSearch("SE27")
	q.Channel = "email"
	if n, rows := export(&q); n != 1 || rows[0]["Surname"] != `'=cmd|' /C calc'!A0` || rows[0]["Phone"] != "01632 960123" {
		t.Errorf("SE27 with an email: %d %v", n, rows)
	}
	q = contact.ParseSearch("0770") // too short to be a number: finds nobody, and says so
	if n, rows := export(&q); n != 0 || len(rows) != 0 {
		t.Errorf("a search that finds nobody: %d %v", n, rows)
	}
	q = contact.ParseSearch("")
	q.Channel = "fax"
	if _, err := s.Export(ctx, &bytes.Buffer{}, contact.ExportOptions{Filter: &q}); !errors.Is(err, contact.ErrUnknownSort) {
		t.Errorf("an unknown channel: %v", err)
	}
}
