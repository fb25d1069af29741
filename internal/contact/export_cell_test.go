package contact

import "testing"

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
