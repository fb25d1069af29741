package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/printrun"
)

// benchLeafletBody is a typical one-page leaflet, with Welsh letters so the font subset
// is exercised.
const benchLeafletBody = `## What is changing

From **Monday 4 January**, bins in Millbrook are collected on a **Tuesday** instead of a Monday.

## What you need to do

- Put your bins out by 7am on Tuesday.
- Keep using the same bins. Nothing else changes.
- Garden waste is still collected every other week.

If you need help moving your bin, call 020 7946 0000. Croeso i bawb — Ŵyn a Llŷr.`

// LeafletsOptions are bench leaflets' settings.
type LeafletsOptions struct {
	Leaflets     int    // leaflets to render
	Format       string // a5, a4 or large
	Out          string // keep the PDF at this path
	SkipPrintRun bool   // render only; skip the full print run in a scratch database
}

// Leaflets renders personalised A5 leaflets with a QR code, as a print run does, and
// reports time, memory and file size; then (unless skipped) times a whole print run.
func Leaflets(ctx context.Context, e *Env, o LeafletsOptions) error {
	rcpts := make([]leaflet.Recipient, o.Leaflets)
	streets := []string{"Acre Lane", "Brixton Hill", "Coldharbour Lane", "Ffordd Llŷr", "Heol Ŵyn"}
	for i := range rcpts {
		rcpts[i] = leaflet.Recipient{Name: fmt.Sprintf("Resident %d", i+1), Lines: []string{
			fmt.Sprintf("%d %s", 1+i%180, streets[i%len(streets)]), "London", fmt.Sprintf("SW2 %d%s", 1+i%9, "RW")}}
	}
	content := leaflet.Content{CampaignName: "Bin day (bench)", Title: "Your bin collection day is changing",
		Body: benchLeafletBody, Lang: "en", OrgName: "Millbrook Council",
		Contact:      "Millbrook Council\nTown Hall, 1 High Street\nLondon SW2 1RW\n020 7946 0000",
		CallToAction: "Which day suits you? Text 1 for Tuesday or 2 for Wednesday to 07700 900999.",
		QRURL:        "https://crier.example/c/42"}
	var w io.Writer = io.Discard
	var f *os.File
	path := o.Out
	if path == "" {
		dir, err := os.MkdirTemp("", "crier-bench-leaflets-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "leaflets.pdf")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w = f
	bar := e.Progress.Units(int64(o.Leaflets), "bench leaflets", "leaflets")
	runtime.GC()
	start := time.Now()
	err = leaflet.Render(w, content, rcpts, leaflet.Options{Format: leaflet.Format(o.Format), Personalised: true,
		Progress: func(done, total int) { bar.Set(int64(done), int64(total), int64(done), "") }})
	dur := time.Since(start)
	bar.Finish()
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	pages := "?"
	if out, err := exec.CommandContext(ctx, "pdfinfo", path).Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "Pages:"); ok {
				pages = strings.TrimSpace(v)
			}
		}
	}
	renderRSS := peakRSS()

	// The whole print run: the post audience read and locked in the database, rounds
	// planned in walking order, every round's leaflets and round sheet rendered (in
	// parallel), and the run, rounds, doors and messages recorded.
	var run *printrun.Result
	var runDur time.Duration
	if !o.SkipPrintRun {
		run, runDur, err = e.printRun(ctx, o.Leaflets, leaflet.Format(o.Format), content)
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(e.Out, "crier bench leaflets: %d personalised %s leaflets with a QR code and address panel\n\n", o.Leaflets, o.Format)
	fmt.Fprintln(e.Out, "| step | leaflets | seconds | leaflets/s | output | peak RSS (MB) | target |")
	fmt.Fprintln(e.Out, "|---|---:|---:|---:|---|---:|---|")
	fmt.Fprintf(e.Out, "| render one PDF | %d | %.2f | %.0f | %s pages, %.1f MB | %.0f | 10,000 A5 ≤ 10 s, ≤ 300 MB |\n", o.Leaflets, dur.Seconds(),
		float64(o.Leaflets)/dur.Seconds(), pages, float64(st.Size())/1e6, float64(renderRSS)/(1<<20))
	if run != nil {
		fmt.Fprintf(e.Out, "| print run: DB → rounds → PDFs → DB | %d | %.2f | %.0f | %d rounds, %d files | %.0f | |\n", run.Leaflets,
			runDur.Seconds(), float64(run.Leaflets)/runDur.Seconds(), run.Rounds, len(run.Files), float64(peakRSS())/(1<<20))
	}
	return nil
}

// benchPrintRunSQL gives residents 1..$1 a postal address each (the only way to reach
// them) on 50 streets of 10 sectors, numbered 1..200 along each street.
var benchPrintRunSQL = []string{
	`INSERT INTO addresses (house_number, street, town, postcode, postcode_sector, ward)
	 SELECT (1 + n / 50)::text, (ARRAY['Acre Lane','Brixton Hill','Coldharbour Lane','Heol Ŵyn','Ffordd Llŷr'])[1 + n % 5] || ' ' || (n % 50 / 5),
	        'London', 'SW' || (2 + n % 10) || ' ' || (1 + n % 9) || 'AB', 'SW' || (2 + n % 10) || ' ' || (1 + n % 9), 'Millbrook'
	   FROM generate_series(0, $1 - 1) n`,
	`INSERT INTO contacts (first_name, last_name, ward)
	 SELECT (ARRAY['Amira','Ben','Chloé','Dai','Eilidh'])[1 + id % 5], (ARRAY['Adebayo','Brown','Llŷr','Ŵyn','Evans'])[1 + id % 5], 'Millbrook'
	   FROM addresses ORDER BY id`,
	`INSERT INTO contact_points (contact_id, kind, address_id) SELECT id, 'postal', id FROM contacts`,
}

func (e *Env) printRun(ctx context.Context, n int, format leaflet.Format, content leaflet.Content) (*printrun.Result, time.Duration, error) {
	sc, err := e.scratch(ctx, false)
	if err != nil {
		return nil, 0, err
	}
	defer sc.Done()
	pool := sc.Pool
	for _, q := range benchPrintRunSQL {
		args := []any{}
		if strings.Contains(q, "$1") {
			args = append(args, n)
		}
		if _, err := pool.ExecContext(ctx, q, args...); err != nil {
			return nil, 0, fmt.Errorf("bench setup: %w", err)
		}
	}
	c := &campaign.Campaign{Name: "Bin day leaflet (bench)", Purpose: "service", ChannelOrder: []string{"post"},
		LeafletTitle: content.Title, LeafletBody: content.Body}
	if _, err := e.start(ctx, campaign.NewStore(pool, nil), c); err != nil {
		return nil, 0, err
	}
	dir, err := os.MkdirTemp("", "crier-bench-print-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	bar := e.Progress.Units(int64(n), "bench print run", "leaflets")
	start := time.Now()
	res, err := printrun.NewStore(pool).Print(ctx, printrun.Request{CampaignID: c.ID, Format: format, RoundSize: 150, OutDir: dir,
		Actor: "bench", Content: content, Progress: func(d, t int) { bar.Set(int64(d), int64(t), int64(d), "") }})
	dur := time.Since(start)
	bar.Finish()
	return res, dur, err
}
