package cli_test

import (
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// TestCampaignFileErrorsNameFileLines: a merge field misspelt in a campaign file is
// reported at the file's line, not the body's ("line 6" of the body is line 13 of
// bin-day-typos.md, whose front matter and blank line come first), and in the front
// matter at the line of its key.
func TestCampaignFileErrorsNameFileLines(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	tests := []struct {
		file string
		want []string
		not  []string
	}{
		{"testdata/bin-day-typos.md",
			[]string{`bin-day-typos.md:5 (subject): unknown merge field "frist_name" (did you mean first_name?)`,
				`bin-day-typos.md:13 (body): unknown merge field "weekday"`},
			[]string{"line 6"}},
		{"testdata/leaflet-typos.md",
			[]string{`leaflet-typos.md:9 (leaflet): unknown merge field "full_nme" (did you mean full_name?)`},
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			r := crier(t, dsn, "campaign", "create", tc.file)
			if r.code != cli.ExitData {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, cli.ExitData, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(r.stderr, w) {
					t.Errorf("stderr has %q:\n%s", w, r.stderr)
				}
			}
		})
	}
	if r := crier(t, dsn, "campaign", "list"); strings.Contains(r.stdout, "Bin day change") {
		t.Errorf("a campaign with bad merge fields was created:\n%s", r.stdout)
	}
}
