package contact

import (
	"strings"
	"testing"
)

func TestPhoneCell(t *testing.T) {
	for _, tc := range []struct {
		e164, region, want string
	}{
		{"+447700900229", "GB", "07700 900229"},
		{"+442079460123", "GB", "020 7946 0123"},
		{"+441632960123", "GB", "01632 960123"},
		{"+33612345678", "GB", "0033 6 12 34 56 78"},
		{"+12025550123", "GB", "001 202-555-0123"},
		{"+447700900229", "FR", "0044 7700 900229"},
		{"+33612345678", "FR", "06 12 34 56 78"},
		{"", "GB", ""},
	} {
		got := PhoneCell(tc.e164, tc.region)
		if got != tc.want {
			t.Errorf("PhoneCell(%q, %s) = %q, want %q", tc.e164, tc.region, got, tc.want)
		}
		if tc.e164 == "" {
			continue
		}
		p, err := NormalizePhone(cleanCell(got), tc.region)
		if err != nil || p.E164 != tc.e164 {
			t.Errorf("PhoneCell(%q, %s) = %q reads back as %q, %v", tc.e164, tc.region, got, p.E164, err)
		}
	}
}

// FuzzExportCell checks the export's promise for any stored text (what the importer
// keeps, i.e. a cleaned cell): the written cell never starts with a character that makes
// a spreadsheet run a formula, and the importer reads back exactly the stored text.
func FuzzExportCell(f *testing.F) {
	for _, s := range []string{"=1+1", "'=x", "''-2", "-5 tonnes", "@home", "+44 not a phone", "O'Brien", "'", "007", "محمد"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		stored := cleanCell(s)
		cell := Neutralise(stored)
		if cell != "" && strings.ContainsRune(formulaStarts, rune(cell[0])) {
			t.Fatalf("Neutralise(%q) = %q starts a formula", stored, cell)
		}
		if got := cleanCell(cell); got != stored {
			t.Fatalf("cleanCell(Neutralise(%q)) = %q", stored, got)
		}
	})
}
