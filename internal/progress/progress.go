// Package progress is how long work (a benchmark, the demo's set-up) reports how far it
// has gone to whatever shows it: the CLI's progress bar, or nothing.
package progress

// Reporter is told how far the work has gone.
type Reporter interface {
	// Set reports done of total (units, or a file's bytes), rows handled so far and the
	// phase ("reading", "merging", …; "" for none).
	Set(done, total, rows int64, phase string)
	Finish()
}

// Start begins reporting work of total units called what; bytes says that total counts
// a file's bytes (an import) while rows counts the units ("rows", "messages").
type Start func(total int64, what, unit string, bytes bool) Reporter

// Units starts a Reporter over total units; a nil Start reports nowhere.
func (s Start) Units(total int64, what, unit string) Reporter {
	if s == nil {
		return none{}
	}
	return s(total, what, unit, false)
}

// Bytes starts a Reporter over a file's total bytes; a nil Start reports nowhere.
func (s Start) Bytes(total int64, what, unit string) Reporter {
	if s == nil {
		return none{}
	}
	return s(total, what, unit, true)
}

type none struct{}

func (none) Set(int64, int64, int64, string) {}
func (none) Finish()                         {}
