package outbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/outbox"
)

// BenchmarkClaimComplete measures the database's side of sending one batch: lease it
// (claim), record it handed to the provider, and settle it as sent with its events.
// Each iteration puts the batch back to pending first (outside the timer).
func BenchmarkClaimComplete(b *testing.B) {
	const batch = 250
	ctx := context.Background()
	d := dbtest.New(b)
	// A run of 600 residents gives a few hundred pending e-bulletins.
	startRun(b, d)
	ob := outbox.NewStore(d)
	var pending int
	if err := d.Get(&pending, `SELECT count(*) FROM outbox WHERE state = 'pending'`); err != nil || pending < batch {
		b.Fatalf("pending rows: %d %v", pending, err)
	}
	ids := make([]int64, 0, batch)
	results := make([]outbox.Result, 0, batch)
	rows := 0
	for b.Loop() {
		items, err := ob.Claim(ctx, "email", "bench", batch, time.Minute)
		if err != nil || len(items) != batch {
			b.Fatalf("claim: %d rows, %v", len(items), err)
		}
		ids = ids[:0]
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		held, err := ob.Handed(ctx, "bench", ids)
		if err != nil || len(held) != batch {
			b.Fatalf("handed: %d rows, %v", len(held), err)
		}
		results = results[:0]
		for _, id := range held {
			results = append(results, outbox.Result{ID: id, Outcome: outbox.Sent, ProviderID: "<outbox-bench@council.example>"})
		}
		if err := ob.Complete(ctx, "bench", results); err != nil {
			b.Fatal(err)
		}
		rows += batch
		b.StopTimer()
		d.MustExec(`UPDATE outbox SET state = 'pending', locked_by = NULL, handed_at = NULL, run_at = now() - interval '1 second'
			WHERE state = 'sent'`)
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
