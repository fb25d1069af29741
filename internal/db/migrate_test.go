package db_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/crierhq/crier/internal/db"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// TestConcurrentMigrate starts several "instances" on an empty database at once: every
// one must succeed and each migration must be applied exactly once.
func TestConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	dbtest.New(t) // skips (or, under CI=true, fails) when no server is reachable
	dsn, drop, err := db.CreateScratch(ctx, dbtest.ServerURL(), "crier_migrate_test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drop(context.Background()) })

	pool, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := db.CheckSchema(ctx, pool); !errors.Is(err, db.ErrSchemaOutdated) {
		t.Fatalf("CheckSchema on an empty database = %v, want ErrSchemaOutdated", err)
	}

	const instances = 4
	var wg sync.WaitGroup
	applied := make([]int, instances)
	errs := make([]error, instances)
	for i := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := db.Open(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer p.Close()
			res, err := db.Migrate(ctx, p, nil)
			applied[i], errs[i] = len(res), err
		}()
	}
	wg.Wait()
	total := 0
	for i := range instances {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	st, err := db.Status(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if total != len(st) {
		t.Fatalf("migrations applied %d times in all, want %d (once each)", total, len(st))
	}
	if err := db.CheckSchema(ctx, pool); err != nil {
		t.Fatalf("CheckSchema after migrating: %v", err)
	}
}
