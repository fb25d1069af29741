package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	report "github.com/crierhq/crier/internal/progress"
)

// progress shows how far long work has gone: a bar with rate and ETA on a terminal, a
// plain line every few seconds otherwise (CI logs, pipes).
type progress struct {
	bar      *progressbar.ProgressBar
	w        io.Writer
	what     string
	unit     string // what rows counts: "rows", "messages", "leaflets"
	phase    string // the last phase reported
	last     time.Time
	started  time.Time
	interval time.Duration
}

// newProgress is a bar over total units (messages, leaflets): it counts them as such.
func (a *App) newProgress(total int64, what, unit string) *progress {
	return a.startProgress(total, what, unit, false)
}

// newByteProgress is a bar over a file's total bytes (an import reading its CSV): the
// bar shows how much of the file is read, the description the rows.
func (a *App) newByteProgress(total int64, what, unit string) *progress {
	return a.startProgress(total, what, unit, true)
}

func (a *App) startProgress(total int64, what, unit string, bytes bool) *progress {
	w := a.Stderr
	if l, ok := w.(*lockedWriter); ok {
		w = barWriter{l}
	}
	p := &progress{w: w, what: what, unit: unit, started: time.Now(), interval: 5 * time.Second}
	if a.IsTerminal {
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100 * time.Millisecond),
			progressbar.OptionSetWidth(30),
		}
		if bytes {
			opts = append(opts, progressbar.OptionShowBytes(true))
		} else {
			opts = append(opts, progressbar.OptionShowIts(), progressbar.OptionSetItsString(unit))
		}
		p.bar = progressbar.NewOptions64(total, opts...)
	}
	return p
}

// rate is rows per second so far, or "" while too little time has passed to say.
func (p *progress) rate(rows int64) string {
	secs := time.Since(p.started).Seconds()
	if secs < 1 || rows == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f/s", float64(rows)/secs)
}

// set reports done out of the total, with rows counted so far and the phase ("reading",
// "merging"; "" when the work has no phases).
func (p *progress) set(done, total, rows int64, phase string) {
	if p.bar != nil {
		desc := fmt.Sprintf("%s: %d %s", p.what, rows, p.unit)
		if phase != "" && phase != "reading" {
			desc += ", " + phase
		} else if r := p.rate(rows); r != "" {
			desc += ", " + r
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
	line := p.what + ":"
	if phase != "" {
		line += " " + phase
	}
	if total > 0 {
		line += fmt.Sprintf(" %.0f%%,", 100*float64(done)/float64(total))
	}
	line += fmt.Sprintf(" %d %s", rows, p.unit)
	if r := p.rate(rows); r != "" {
		line += " (" + r + ")"
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

// progressStart starts a progress bar for work in another package (a benchmark, the
// demo's set-up) that reports through internal/progress.
func (a *App) progressStart(total int64, what, unit string, bytes bool) report.Reporter {
	return reporter{a.startProgress(total, what, unit, bytes)}
}

type reporter struct{ p *progress }

func (r reporter) Set(done, total, rows int64, phase string) { r.p.set(done, total, rows, phase) }
func (r reporter) Finish()                                   { r.p.finish() }
