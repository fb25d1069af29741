package cli

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestProgressAtATerminal: a bar counts leaflets as leaflets (not bytes), and a log line
// written while it is drawn gets a line of its own: the bar's line is cleared first.
func TestProgressAtATerminal(t *testing.T) {
	var out bytes.Buffer
	a := &App{Stderr: lockWriter(&out), IsTerminal: true}
	bar := a.newProgress(307, "printing Bin day", "leaflets")
	bar.set(120, 307, 120, "")
	time.Sleep(150 * time.Millisecond) // past the bar's throttle
	slog.New(slog.NewTextHandler(a.Stderr, nil)).Info("leaflet font loaded")
	bar.set(307, 307, 307, "")
	bar.finish()
	s := out.String()
	if strings.Contains(s, " B/s") || strings.Contains(s, "307 B") || !strings.Contains(s, "leaflets") {
		t.Errorf("the bar does not count leaflets:\n%q", s)
	}
	i := strings.Index(s, "time=")
	if i < 0 {
		t.Fatalf("no log line in:\n%q", s)
	}
	if !strings.HasSuffix(s[:i], "\r\x1b[K") {
		t.Errorf("the log line shares the bar's line: %q", s[max(0, i-60):i+20])
	}
	if !strings.HasSuffix(s, "\n") || !strings.Contains(s[i:], "307/307") {
		t.Errorf("the bar is not drawn again after the log line, or not finished:\n%q", s[i:])
	}
}

// TestProgressPlainLines: without a terminal, a line per phase change or interval, no
// rate before a second has passed, and no phase word for work without phases.
func TestProgressPlainLines(t *testing.T) {
	var out bytes.Buffer
	a := &App{Stderr: lockWriter(&out)}
	bar := a.newProgress(1, "printing Bin day", "leaflets")
	bar.set(0, 1, 1, "")
	if got := out.String(); got != "printing Bin day: 0%, 1 leaflets\n" {
		t.Errorf("first line: %q", got)
	}
	imp := a.newByteProgress(1000, "importing council.csv", "rows")
	imp.set(500, 1000, 20, "reading")
	imp.set(1000, 1000, 40, "merging")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || lines[1] != "importing council.csv: reading 50%, 20 rows" || lines[2] != "importing council.csv: merging 100%, 40 rows" {
		t.Errorf("import lines: %q", lines)
	}
}
