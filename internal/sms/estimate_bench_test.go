package sms_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/demo"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/sms"
)

// BenchmarkEstimateAudience estimates a text over the demo borough's 100,000 residents
// (Welsh, Polish, Arabic and other names among them), every copy rendered and measured;
// the budget is well under a second per estimate.
func BenchmarkEstimateAudience(b *testing.B) {
	ctx := context.Background()
	d := dbtest.New(b)
	p := filepath.Join(b.TempDir(), "residents.csv")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if err := demo.WriteCSV(f, demo.Options{Rows: 100000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if _, err := contact.NewStore(d, nil).Import(ctx, contact.ImportOptions{Path: p}); err != nil {
		b.Fatal(err)
	}
	// The demo's mobiles come from Ofcom's drama range, 1,000 numbers: give everyone
	// without one a mobile, granted for the topic for four in five and withdrawn for one
	// in twenty, so that the audience is the whole borough.
	if _, err := d.ExecContext(ctx, `
		WITH pts AS (
		    INSERT INTO contact_points (contact_id, kind, value, phone_type)
		    SELECT c.id, 'phone', '+4479' || lpad(c.id::text, 8, '0'), 'mobile' FROM contacts c
		     WHERE NOT EXISTS (SELECT 1 FROM contact_points cp WHERE cp.contact_id = c.id AND cp.kind = 'phone')
		    RETURNING id, contact_id)
		INSERT INTO consents (contact_point_id, topic_id, status, source)
		SELECT id, (SELECT id FROM topics WHERE slug = 'general'), CASE WHEN contact_id % 20 = 0 THEN 'withdrawn' ELSE 'granted' END, 'bench'
		  FROM pts WHERE contact_id % 5 <> 1`); err != nil {
		b.Fatal(err)
	}
	if _, err := d.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	var topic int64
	if err := d.GetContext(ctx, &topic, `SELECT id FROM topics WHERE slug = 'general'`); err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name, text string
		a          sms.Audience
	}{
		{"everyone/service/first_name", "Hi {{first_name}}, your bin day changes to Tuesday from January. Put bins out by 7am.",
			sms.Audience{TopicID: topic, Purpose: segment.PurposeService}},
		{"everyone/marketing/full_name+ward", "Hi {{full_name}}, the {{ward}} summer fair is on Saturday from noon. Reply STOP to end.",
			sms.Audience{TopicID: topic, Purpose: segment.PurposeMarketing}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			t, err := email.CompileText("bench", "sms", tc.text)
			if err != nil {
				b.Fatal(err)
			}
			var e sms.Estimate
			for b.Loop() {
				if e, err = sms.EstimateAudience(ctx, d, t, tc.a); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/estimate")
			b.ReportMetric(float64(e.Texts)*float64(b.N)/b.Elapsed().Seconds(), "texts/s")
			b.ReportMetric(0, "ns/op")
			b.Logf("%s: %d texts, %d GSM-7, %d UCS-2, %d segments (%d to %d)", tc.name, e.Texts, e.GSM7, e.UCS2, e.Segments, e.MinSegments, e.MaxSegments)
		})
	}
}
