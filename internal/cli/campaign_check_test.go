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

// TestSegmentTypoWarnsAndEmptyCampaignIsRefused: a segment whose ward matches nobody is
// created with a warning naming the nearest wards, and a campaign to it is refused when
// sent, with the count per channel, and stays a draft.
func TestSegmentTypoWarnsAndEmptyCampaignIsRefused(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	if r := crier(t, dsn, "contacts", "import", "testdata/castle.csv"); r.code != 0 {
		t.Fatalf("import: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	rules := `{"field": "ward", "op": "eq", "value": "Castel"}`
	warning := `warning: ward "Castel" matches nobody; nearest: "Castle", "Castleton"`
	r := crier(t, dsn, "segment", "count", "--rules", rules)
	if r.code != 0 || !strings.Contains(r.stdout, warning) || !strings.Contains(r.stdout, "0 residents match") {
		t.Errorf("segment count: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = crier(t, dsn, "segment", "create", "Castel ward", "--rules", rules)
	if r.code != 0 || !strings.Contains(r.stdout, `segment 1 "Castel ward" created`) || !strings.Contains(r.stdout, warning) {
		t.Fatalf("segment create: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = crier(t, dsn, "segment", "create", "Castle ward", "--rules", `{"any": [{"field": "ward", "op": "eq", "value": "Castle"}]}`)
	if r.code != 0 || strings.Contains(r.stdout, "warning") {
		t.Errorf("a segment that matches warns: %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	if r := crier(t, dsn, "campaign", "create", "testdata/castle-news.md"); r.code != 0 {
		t.Fatalf("campaign create: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = crier(t, dsn, "campaign", "send", "Castle news")
	want := `campaign 1 "Castle news" can't be scheduled: segment "Castel ward" reaches 0 residents: 0 by email, 0 by text, 0 on paper — nothing to send (no resident matches its rules)`
	if r.code != cli.ExitData || !strings.Contains(r.stderr, want) {
		t.Errorf("send: %d, want %d with %q\n%s%s", r.code, cli.ExitData, want, r.stdout, r.stderr)
	}
	if r := crier(t, dsn, "campaign", "list"); !strings.Contains(r.stdout, "draft") {
		t.Errorf("the refused campaign is no longer a draft:\n%s", r.stdout)
	}
}

// TestCampaignWarnsOfAttributesNobodyHas: {{attr.KEY}} for an attribute no resident has
// (misspelt, or in the wrong case) is warned of when the campaign is created and when
// it is sent, with the nearest attribute names; it does not block either.
func TestCampaignWarnsOfAttributesNobodyHas(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	if r := crier(t, dsn, "contacts", "import", "testdata/castle.csv"); r.code != 0 {
		t.Fatalf("import: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	want := []string{
		`warning: {{attr.Bin_day}} in the subject: no resident has the attribute "Bin_day", so it is blank (or its fallback) for everyone; nearest: "bin_day"`,
		`warning: {{attr.bin_dya}} in the e-bulletin: no resident has the attribute "bin_dya", so it is blank (or its fallback) for everyone; nearest: "bin_day"`,
		`warning: {{attr.collection_time}} in the e-bulletin: no resident has the attribute "collection_time"`,
	}
	for _, args := range [][]string{{"campaign", "create", "testdata/bin-day-attributes.md"}, {"campaign", "send", "Bin day reminder"}} {
		r := crier(t, dsn, args...)
		if r.code != 0 {
			t.Fatalf("%v: %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		for _, w := range want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v: no %q:\n%s", args, w, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "{{attr.bin_day}}") {
			t.Errorf("%v: an attribute residents have is warned of:\n%s", args, r.stdout)
		}
		// The plain-language check names the file's line too when it reads the file.
		if args[1] == "create" && !strings.Contains(r.stdout, `bin-day-attributes.md:11: "In order to"`) {
			t.Errorf("%v: jargon not at the file's line 11:\n%s", args, r.stdout)
		}
	}
}
