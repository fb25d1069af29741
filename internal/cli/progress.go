package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows how far long work has gone: a bar with rate and ETA on a terminal, a
// plain line every few seconds otherwise (CI logs, pipes).
type progress struct {
	bar      *progressbar.ProgressBar
	w        io.Writer
	what     string
	unit     string // what rows counts: "rows", "messages"
	phase    string // the last phase reported
	last     time.Time
	started  time.Time
	interval time.Duration
}

func (a *App) newProgress(total int64, what, unit string) *progress {
	p := &progress{w: a.Stderr, what: what, unit: unit, started: time.Now(), interval: 5 * time.Second}
	if a.IsTerminal {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(a.Stderr),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
		)
	}
	return p
}

// set reports done out of the total, with rows counted so far for the plain line.
func (p *progress) set(done, total, rows int64, phase string) {
	if p.bar != nil {
		rate := float64(rows) / time.Since(p.started).Seconds()
		desc := fmt.Sprintf("%s: %d %s, %.0f/s", p.what, rows, p.unit, rate)
		if phase != "" && phase != "reading" {
			desc = fmt.Sprintf("%s: %d %s, %s", p.what, rows, p.unit, phase)
		}
		p.bar.Describe(desc)
		_ = p.bar.Set64(done)
		return
	}
	// A plain line every interval, and at once when the phase changes.
	if time.Since(p.last) < p.interval && phase == p.phase {
		return
	}
	p.last, p.phase = time.Now(), phase
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	rate := float64(rows) / time.Since(p.started).Seconds()
	fmt.Fprintf(p.w, "%s: %s %.0f%%, %d %s (%.0f/s)\n", p.what, phase, pct, rows, p.unit, rate)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
