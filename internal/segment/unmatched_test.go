package segment_test

import (
	"context"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/segment"
)

// TestUnmatchedValuesWarnWithTheNearest: a rule value no resident has (a misspelt ward)
// is reported with the existing values nearest to it, ignoring case; values that match,
// and names, are not.
func TestUnmatchedValuesWarnWithTheNearest(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	s := segment.NewStore(d)

	// Nobody imported yet: nothing to suggest.
	got, err := s.Unmatched(ctx, leaf("ward", "eq", "Castle"))
	if err != nil || len(got) != 1 || got[0].String() != `ward "Castle" matches nobody; no resident has a ward recorded` {
		t.Fatalf("before any import: %v, %v", got, err)
	}

	if _, err := contact.NewStore(d, nil).Import(ctx, contact.ImportOptions{Path: "testdata/wards.csv", Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		rule segment.Rule
		want []string // path: warning
	}{
		{"misspelt ward", leaf("ward", "eq", "Castel"), []string{`rules: ward "Castel" matches nobody; nearest: "Castle", "Castleton"`}},
		{"ward in the wrong case (wards compare exactly)", leaf("ward", "eq", "castle"),
			[]string{`rules: ward "castle" matches nobody; nearest: "Castle", "Castleton"`}},
		{"existing ward", leaf("ward", "eq", "Castle"), nil},
		{"one of a list, under not", all(leaf("ward", "eq", "Castle"), not(leaf("ward", "in", []string{"Castleton", "Abey"}))),
			[]string{`rules.all[1].not: ward "Abey" matches nobody; nearest: "Abbey"`}},
		{"street in another case (streets ignore it)", leaf("street", "eq", "castle street"), nil},
		{"misspelt street", leaf("street", "in", []string{"Castle Stret"}), []string{`rules: street "Castle Stret" matches nobody; nearest: "Castle Street"`}},
		{"misspelt tag", leaf("tag", "has", "bussiness"), []string{`rules: tag "bussiness" matches nobody; nearest: "business"`}},
		{"misspelt attribute", leaf("attr.tenur", "exists", nil), []string{`rules: attribute "tenur" is recorded for nobody; nearest: "tenure"`}},
		{"misspelt attribute value", leaf("attr.tenure", "eq", "counsil"), []string{`rules: attr.tenure "counsil" matches nobody; nearest: "council"`}},
		{"postcode sector", leaf("postcode_sector", "eq", "sw2 9"), []string{`rules: postcode sector "sw2 9" matches nobody; nearest: "SW2 1"`}},
		{"postcode sector in another form", leaf("postcode_sector", "eq", "sw21"), nil},
		{"misspelt topic", leaf("topic", "subscribed", "genral"), []string{`rules: topic "genral" matches nobody; nearest: "general"`}},
		{"nothing close: the nearest anyway", leaf("ward", "eq", "Zzzzzz"), []string{`rules: ward "Zzzzzz" matches nobody; nearest: "Abbey", "Castle", "Castleton"`}},
		{"names are not suggested", leaf("first_name", "eq", "Adda"), nil},
		{"prefixes are not checked", leaf("postcode", "prefix", "ZZ9"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.rule.Validate(); err != nil {
				t.Fatal(err)
			}
			ws, err := s.Unmatched(ctx, tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range ws {
				got = append(got, w.Path+": "+w.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Unmatched =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
	w, _ := s.Unmatched(ctx, leaf("ward", "eq", "Castel"))
	if got := w[0].Words(); got != `ward “Castel” matches nobody; nearest: “Castle”, “Castleton”` {
		t.Errorf("Words() = %s", got)
	}
}
