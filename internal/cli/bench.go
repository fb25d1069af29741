package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/crierhq/crier/internal/bench"
	"github.com/crierhq/crier/internal/db"
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
	if len(args) > 0 {
		return usagef("unknown benchmark %q%s: import, send, sms, leaflets or fresh", args[0],
			didYouMean(args[0], []string{"import", "send", "sms", "leaflets", "fresh"}))
	}
	return usagef("bench needs a benchmark name: import, send, sms, leaflets or fresh")
}

// benchEnv is what the benchmarks get from the command line: its streams, progress bars,
// scratch databases on the configured (or private) server and the campaign content check.
func (a *App) benchEnv() *bench.Env {
	return &bench.Env{Out: a.Stdout, Err: a.Stderr, Logger: a.logger(),
		Progress: a.progressStart,
		Scratch:  a.scratchDatabase, Check: checkContent}
}

func (a *App) runBenchImport(ctx context.Context, args []string) error {
	fs := a.flags("bench import", "[flags]", "Generate a messy council-style CSV of full rows (email, mobile, address, three\nconsent columns, tags), import it end to end into a scratch database\n(created and dropped on the configured or private server), re-import it, and print a table.")
	a.Config.RegisterFlags(fs)
	rows := fs.Int("rows", 1_000_000, "rows in the generated file")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	return bench.Import(ctx, a.benchEnv(), *rows)
}

func (a *App) runBenchSend(ctx context.Context, args []string) error {
	fs := a.flags("bench send", "[flags]", "Send a personalised e-bulletin the way an officer does, into a scratch database: import\n"+
		"a mailing list, make a segment and a campaign, start `crier serve` as its own process with an\n"+
		"SMTP sink in another (`crier bench sink`), then `campaign send` and time it to the last\n"+
		"message recorded, and print a table. Nothing is ANALYZEd by hand.")
	a.Config.RegisterFlags(fs)
	var o bench.SendOptions
	fs.IntVar(&o.Residents, "send", 100_000, "residents on the mailing list (every one gets the e-bulletin)")
	fs.IntVar(&o.Workers, "workers", 0, "CRIER_EMAIL_WORKERS for crier serve (0: crier's default)")
	fs.IntVar(&o.Conns, "conns", 0, "CRIER_SMTP_CONNECTIONS for crier serve (0: crier's default)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the scratch database (its URL is printed) for inspection")
	fs.StringVar(&o.Profile, "profile", "", "write crier serve's CPU profile to this file (go tool pprof)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	return bench.Send(ctx, a.benchEnv(), o)
}

func (a *App) runBenchSink(ctx context.Context, args []string) error {
	fs := a.flags("bench sink", "[flags]", "An SMTP sink for bench send: prints \"listening on ADDR\", takes every message and\n"+
		"discards it, and prints \"received N\" when its standard input closes.")
	addr := fs.String("addr", "127.0.0.1:0", "where to listen")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	return bench.Sink(ctx, a.Stdin, a.Stdout, *addr)
}

func (a *App) runBenchSMS(ctx context.Context, args []string) error {
	fs := a.flags("bench sms", "[flags]", "Send an SMS campaign through the real outbox, dispatcher and twilio-go sender to the\n"+
		"Twilio-compatible sandbox (which answers 429 above --rate) with the web server taking its\n"+
		"signed status callbacks, and measure the rate held over a window; then text a poll to as\n"+
		"many more residents as there will be answers, and fire their signed answers (one each, and\n"+
		"some from numbers crier doesn't know) at the webhook, measuring throughput and latency.\n"+
		"Scratch database; prints a table.")
	a.Config.RegisterFlags(fs)
	var o bench.SMSOptions
	fs.Float64Var(&o.Rate, "rate", 50, "configured texts per second (the sandbox allows exactly this many)")
	fs.DurationVar(&o.Window, "window", 30*time.Second, "the window the rate is measured over (after a 2 s warm-up)")
	fs.IntVar(&o.Inbound, "inbound", 10_000, "signed inbound texts to post (residents texted the poll answer once each; one in twenty is from an unknown number)")
	fs.IntVar(&o.Clients, "clients", 16, "concurrent inbound clients")
	profile := fs.String("profile", "", "write a CPU profile of the inbound phase to this file (go tool pprof)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the scratch database (its URL is printed) for inspection")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *profile != "" {
		o.Profile = func() (func(), error) { return startCPUProfile(*profile) }
	}
	return bench.SMS(ctx, a.benchEnv(), o)
}

func (a *App) runBenchLeaflets(ctx context.Context, args []string) error {
	fs := a.flags("bench leaflets", "[flags]", "Render personalised A5 leaflets (two per A4 sheet, QR code, address panel, embedded\n"+
		"UTF-8 fonts) into one PDF, as a print run does, and print a table.")
	var o bench.LeafletsOptions
	fs.IntVar(&o.Leaflets, "leaflets", 10_000, "leaflets to render")
	fs.StringVar(&o.Format, "format", "a5", "a5, a4 or large")
	fs.StringVar(&o.Out, "out", "", "keep the PDF at this path")
	fs.BoolVar(&o.SkipPrintRun, "skip-print-run", false, "render only; skip the full print run in a scratch database")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	return bench.Leaflets(ctx, a.benchEnv(), o)
}

func (a *App) runBenchFresh(ctx context.Context, args []string) error {
	fs := a.flags("bench fresh", "[flags]", "Import a mailing list into a scratch database with autovacuum off, then time the first\nexport, segment count and campaign snapshot, and print a table.")
	a.Config.RegisterFlags(fs)
	rows := fs.Int("rows", 200_000, "residents in the mailing list")
	keep := fs.Bool("keep", false, "keep the scratch database (its URL is printed) for inspection")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	return bench.Fresh(ctx, a.benchEnv(), *rows, *keep)
}

// scratchDatabase opens the configured (or private) server and creates a migrated scratch
// database on it for a benchmark; its Done closes it and drops it (unless keep, in which
// case its URL is printed).
func (a *App) scratchDatabase(ctx context.Context, keep bool) (*bench.Scratch, error) {
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
	return &bench.Scratch{Pool: pool, URL: scratchURL, Done: done}, nil
}
