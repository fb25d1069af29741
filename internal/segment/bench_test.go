package segment_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/demo"
	"github.com/crierhq/crier/internal/segment"
)

// BenchmarkCount counts segments of 100,000 imported residents; the budget is well
// under a second per count. SEGMENT_EXPLAIN=1 logs each query's EXPLAIN ANALYZE.
func BenchmarkCount(b *testing.B) {
	ctx := context.Background()
	d := dbtest.New(b)
	importCSV(b, d, "residents.csv", func(f *os.File) error {
		return demo.WriteCSV(f, demo.Options{Rows: 100000, Seed: 1, Messy: true})
	})
	if _, err := d.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	st := segment.NewStore(d)
	cases := []struct {
		name    string
		rule    segment.Rule
		purpose string
	}{
		{"everyone/marketing", segment.Rule{}, "marketing"},
		{"everyone/service", segment.Rule{}, "service"},
		{"ward", leaf("ward", "eq", "Millbrook"), "marketing"},
		{"mixed", all(
			any_(leaf("postcode_sector", "prefix", "SE24"), leaf("tag", "has_any", []string{"older residents", "youth club"})),
			not(leaf("reachable", "by", "sms")),
			leaf("topic", "subscribed", "general"),
			not(leaf("campaign", "sent", 1)),
		), "marketing"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var c segment.Count
			for b.Loop() {
				var err error
				if c, err = st.Count(ctx, tc.rule, "general", tc.purpose); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/count")
			b.ReportMetric(0, "ns/op")
			b.Logf("%s: %+v", tc.name, c)
			if os.Getenv("SEGMENT_EXPLAIN") != "" {
				q, args := segment.CountQuery(tc.rule, segment.DefaultTopic, 1, tc.purpose)
				tx, err := d.BeginTxx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer tx.Rollback()
				if _, err := tx.ExecContext(ctx, segment.CountSettings); err != nil {
					b.Fatal(err)
				}
				rows, err := tx.QueryContext(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q, args...)
				if err != nil {
					b.Fatal(err)
				}
				var plan []string
				for rows.Next() {
					var line string
					if err := rows.Scan(&line); err != nil {
						b.Fatal(err)
					}
					plan = append(plan, line)
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
				b.Logf("plan:\n%s", strings.Join(plan, "\n"))
			}
		})
	}
}
