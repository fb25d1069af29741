package main_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/db/dbtest"
)

// TestBenchmarksRunOnTheUserPath runs every `crier bench` at a small size through the
// real binary, as the README's benchmark table is made: each must finish, print its
// table, and (for send) account for every message — sent once, recorded, and received by
// the sink in its own process. The sizes are too small to mean anything for speed; the
// point is that the benchmarks the README quotes still run the path a user takes.
func TestBenchmarksRunOnTheUserPath(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildCrier(t)
	env := []string{"DATABASE_URL=" + dbtest.ServerURL(), "CRIER_LOG_LEVEL=warn"}
	// The database runs on this machine, so the benchmarks that share the cores with it
	// can say what each process spent (from /proc): PostgreSQL never spends nothing.
	for _, tc := range []struct {
		args []string
		want []string
		cpu  string // a line the output must match
	}{
		{[]string{"bench", "send", "--send", "300"}, []string{"| **campaign send → last message recorded** | 300 |",
			"recorded: 300 sent, 0 unknown, 0 failed, 0 other; the sink received 300"},
			`CPU per message: crier serve \d+ µs \(\d\.\d\d of a core\), SMTP sink \d+ µs \(\d\.\d\d\), PostgreSQL [1-9]\d* µs \(\d\.\d\d\); together [1-9]\d* µs \(\d\.\d\d of \d+ cores\)`},
		{[]string{"bench", "fresh", "--rows", "1500"}, []string{"| export, at once | 1500 |",
			"| campaign snapshot into the outbox | 900 |"}, ""},
		{[]string{"bench", "import", "--rows", "1500"}, []string{"| first import (all new) | 1500 |", "| re-import (all matched) | 1500 |"},
			`CPU per row: crier \d+ µs \(\d\.\d\d of a core\), PostgreSQL [1-9]\d* µs .* \(first import \(all new\)\)`},
		{[]string{"bench", "sms", "--rate", "20", "--window", "2s", "--inbound", "200", "--clients", "4"},
			[]string{"| 429s from the sandbox | 0 |", "200 signed requests validated and stored"},
			`CPU per request: crier \(server and clients\) [1-9]\d* µs .*, PostgreSQL [1-9]\d* µs`},
		{[]string{"bench", "leaflets", "--leaflets", "40"}, []string{"| render one PDF | 40 |", "| print run: DB → rounds → PDFs → DB | 40 |"}, ""},
	} {
		t.Run(tc.args[1], func(t *testing.T) {
			out, errOut, code := runCrier(t, bin, env, tc.args...)
			if code != 0 {
				t.Fatalf("crier %s: exit %d\n%s\n%s", strings.Join(tc.args, " "), code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("crier %s: the table lacks %q:\n%s", strings.Join(tc.args, " "), w, out)
				}
			}
			if tc.cpu != "" && !regexp.MustCompile(tc.cpu).MatchString(out) {
				t.Errorf("crier %s: no line matches %s:\n%s", strings.Join(tc.args, " "), tc.cpu, out)
			}
			if rows := regexp.MustCompile(`(?m)^\|.*\|$`).FindAllString(out, -1); len(rows) < 4 {
				t.Errorf("crier %s printed %d table rows:\n%s", tc.args[1], len(rows), out)
			}
			if strings.Contains(errOut, "scratch database kept") {
				t.Errorf("a scratch database was kept: %s", errOut)
			}
			fmt.Fprint(testWriter{t}, out)
		})
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }
