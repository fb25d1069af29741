package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db"
	"github.com/crierhq/crier/internal/demo"
)

func (a *App) runBench(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "import":
			return a.runBenchImport(ctx, args)
		case "send":
			return a.runBenchSend(ctx, args)
		case "sms":
			return a.runBenchSMS(ctx, args)
		case "leaflets":
			return a.runBenchLeaflets(ctx, args)
		case "fresh":
			return a.runBenchFresh(ctx, args)
		case "sink":
			return a.runBenchSink(ctx, args)
		}
	}
	fmt.Fprintln(a.Stderr, "Usage: crier bench import [--rows N]\n       crier bench send [--send N]\n       crier bench sms [--rate N] [--window 30s] [--inbound N]\n       crier bench leaflets [--leaflets N]\n       crier bench fresh [--rows N]")
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return nil
	}
	return usagef("bench needs a benchmark name: import, send, sms, leaflets or fresh")
}

func (a *App) runBenchImport(ctx context.Context, args []string) error {
	fs := a.flags("bench import", "[flags]", "Generate a messy council-style CSV of full rows (email, mobile, address, three\nconsent columns, tags), import it end to end into a scratch database\n(created and dropped on the configured or private server), re-import it, and print a table.")
	a.Config.RegisterFlags(fs)
	rows := fs.Int("rows", 1_000_000, "rows in the generated file")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	pool, done, err := a.scratchDB(ctx, false)
	if err != nil {
		return err
	}
	defer done()

	dir, err := os.MkdirTemp("", "crier-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "messy.csv")
	t0 := time.Now()
	size, err := writeMessy(path, *rows)
	if err != nil {
		return err
	}
	genTime := time.Since(t0)

	store := contact.NewStore(pool, a.logger())
	type result struct {
		name string
		res  *contact.ImportResult
		rss  int64
	}
	var results []result
	for _, name := range []string{"first import (all new)", "re-import (all matched)"} {
		bar := a.newByteProgress(size, name, "rows")
		res, err := store.Import(ctx, contact.ImportOptions{Path: path, Actor: "bench",
			Progress: func(p contact.Progress) { bar.set(p.Bytes, p.TotalBytes, p.Rows, p.Phase) }})
		bar.finish()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		results = append(results, result{name, res, peakRSS()})
	}

	fmt.Fprintf(a.Stdout, "crier bench import: %d rows, %.0f MB messy CSV (generated in %.1fs)\n\n", *rows, float64(size)/1e6, genTime.Seconds())
	fmt.Fprintln(a.Stdout, "| run | rows | seconds | rows/s | peak RSS (MB) | target |")
	fmt.Fprintln(a.Stdout, "|---|---:|---:|---:|---:|---|")
	for _, r := range results {
		secs := r.res.Duration.Seconds()
		target := "1M rows ≤ 40 s, ≤ 200 MB"
		if r.name != results[0].name {
			target = "1M rows ≤ 30 s"
		}
		fmt.Fprintf(a.Stdout, "| %s | %d | %.1f | %.0f | %.0f | %s |\n",
			r.name, r.res.Rows, secs, float64(r.res.Rows)/secs, float64(r.rss)/(1<<20), target)
	}
	return nil
}

func writeMessy(path string, rows int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	if err := demo.WriteCSV(f, demo.Options{Rows: rows, Seed: 42, Messy: true, Full: true}); err != nil {
		f.Close()
		return 0, fmt.Errorf("generate: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// peakRSS is this process's maximum resident set size so far, in bytes.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024 // Linux reports kilobytes
}

// scratchDB opens the configured (or private) server, creates a migrated scratch
// database on it for a benchmark, and returns it with a function that closes it and
// drops it (unless keep, in which case its URL is printed).
func (a *App) scratchDB(ctx context.Context, keep bool) (*sqlx.DB, func(), error) {
	sc, err := a.scratchDatabase(ctx, keep)
	if err != nil {
		return nil, nil, err
	}
	return sc.pool, sc.done, nil
}

// scratch is a benchmark's scratch database: its pool, its URL (for child processes) and
// the function that closes and drops it.
type scratch struct {
	pool *sqlx.DB
	url  string
	done func()
}

func (a *App) scratchDatabase(ctx context.Context, keep bool) (*scratch, error) {
	d, err := a.openDB(ctx, schemaAny)
	if err != nil {
		return nil, err
	}
	serverURL := a.Config.DatabaseURL
	if d.local != nil {
		serverURL = d.local.URL()
	}
	scratchURL, drop, err := db.CreateScratch(ctx, serverURL, "crier_bench")
	if err != nil {
		d.Close()
		return nil, err
	}
	pool, err := db.Open(ctx, scratchURL)
	if err == nil {
		_, err = db.Migrate(ctx, pool, nil)
	}
	done := func() {
		if pool != nil {
			pool.Close()
		}
		if keep {
			fmt.Fprintf(a.Stderr, "scratch database kept: %s\n", db.Redact(scratchURL))
		} else {
			cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := drop(cctx); err != nil {
				fmt.Fprintf(a.Stderr, "drop scratch database: %v\n", err)
			}
		}
		d.Close()
	}
	if err != nil {
		done()
		return nil, err
	}
	return &scratch{pool: pool, url: scratchURL, done: done}, nil
}
