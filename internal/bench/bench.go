// Package bench holds crier's benchmarks: each runs a user's path end to end against a
// scratch database (import, send, texts, leaflets, the first queries after an import)
// and prints a Markdown table. `crier bench` parses the flags and supplies an Env.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/demo"
	"github.com/crierhq/crier/internal/progress"
)

// Env is what a benchmark needs from the command that runs it.
type Env struct {
	Out io.Writer // the table
	Err io.Writer // notes: child processes, kept databases
	// Logger is for the stores the benchmark drives (nil: discard).
	Logger *slog.Logger
	// Progress shows how far a benchmark has gone (nil: nowhere).
	Progress progress.Start
	// Scratch creates a migrated scratch database; keep leaves it (and says where) when done.
	Scratch func(ctx context.Context, keep bool) (*Scratch, error)
	// Check is the content check a campaign passes before it is scheduled (the CLI's).
	Check func(*campaign.Campaign) error
	// Exe is the crier binary that child processes (crier serve, the SMTP sink) run;
	// empty: this process's own executable.
	Exe string
}

// Scratch is a benchmark's scratch database: its pool, its URL (for child processes) and
// the function that closes and drops it. Dir is a scratch directory for its files,
// removed by Done (the benchmark fills it in).
type Scratch struct {
	Pool *sqlx.DB
	URL  string
	Done func()
	Dir  string
}

func (e *Env) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}

func (e *Env) exe() (string, error) {
	if e.Exe != "" {
		return e.Exe, nil
	}
	return os.Executable()
}

// scratch is a scratch database and directory for one benchmark; Done removes both.
func (e *Env) scratch(ctx context.Context, keep bool) (*Scratch, error) {
	if e.Scratch == nil {
		return nil, fmt.Errorf("bench: no database to make a scratch database on")
	}
	dir, err := os.MkdirTemp("", "crier-bench-")
	if err != nil {
		return nil, err
	}
	sc, err := e.Scratch(ctx, keep)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	done := sc.Done
	sc.Dir, sc.Done = dir, func() { done(); os.RemoveAll(dir) }
	return sc, nil
}

// Import generates a messy council-style CSV of rows full rows (email, mobile, address,
// three consent columns, tags), imports it end to end into a scratch database, imports
// it again, and prints a table.
func Import(ctx context.Context, e *Env, rows int) error {
	sc, err := e.scratch(ctx, false)
	if err != nil {
		return err
	}
	defer sc.Done()

	dir := sc.Dir
	path := filepath.Join(dir, "messy.csv")
	t0 := time.Now()
	size, err := writeMessy(path, rows)
	if err != nil {
		return err
	}
	genTime := time.Since(t0)

	store := contact.NewStore(sc.Pool, e.logger())
	type result struct {
		name string
		res  *contact.ImportResult
		rss  int64
		cpu  cpuUse
	}
	var cpu cpuMeter
	cpu.addProc("crier", os.Getpid())
	cpu.addPostgres(ctx, sc.Pool)
	var results []result
	for _, name := range []string{"first import (all new)", "re-import (all matched)"} {
		bar := e.Progress.Bytes(size, name, "rows")
		cpu.begin()
		res, err := store.Import(ctx, contact.ImportOptions{Path: path, Actor: "bench",
			Progress: func(p contact.Progress) { bar.Set(p.Bytes, p.TotalBytes, p.Rows, p.Phase) }})
		bar.Finish()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		results = append(results, result{name, res, peakRSS(), cpu.end()})
	}

	fmt.Fprintf(e.Out, "crier bench import: %d rows, %.0f MB messy CSV (generated in %.1fs)\n\n", rows, float64(size)/1e6, genTime.Seconds())
	fmt.Fprintln(e.Out, "| run | rows | seconds | rows/s | peak RSS (MB) | target |")
	fmt.Fprintln(e.Out, "|---|---:|---:|---:|---:|---|")
	for _, r := range results {
		secs := r.res.Duration.Seconds()
		target := "1M rows ≤ 40 s, ≤ 200 MB"
		if r.name != results[0].name {
			target = "1M rows ≤ 30 s"
		}
		fmt.Fprintf(e.Out, "| %s | %d | %.1f | %.0f | %.0f | %s |\n",
			r.name, r.res.Rows, secs, float64(r.res.Rows)/secs, float64(r.rss)/(1<<20), target)
	}
	fmt.Fprintln(e.Out)
	for _, r := range results {
		if line := cpuLine(r.cpu, r.res.Rows, "row"); line != "" {
			fmt.Fprintf(e.Out, "%s (%s)\n", line, r.name)
		}
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

// start creates and schedules c and has the scheduler start its run; it returns the run.
func (e *Env) start(ctx context.Context, cs *campaign.Store, c *campaign.Campaign) (int64, error) {
	if err := cs.Create(ctx, c, "general", "bench"); err != nil {
		return 0, err
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "bench", e.Check); err != nil {
		return 0, err
	}
	runs, err := cs.StartDue(ctx, time.Now())
	if err != nil {
		return 0, err
	}
	if len(runs) != 1 {
		return 0, fmt.Errorf("bench: started %d runs, want 1", len(runs))
	}
	return runs[0], nil
}
