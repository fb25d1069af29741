package spell

import "testing"

func TestDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"ward", "ward", 0}, {"wrd", "ward", 1}, {"frist_name", "first_name", 1},
		{"emial", "email", 1}, {"kitten", "sitting", 3}, {"Siân", "Sian", 1}, {"", "abc", 3},
	}
	for _, tc := range cases {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetry)", tc.b, tc.a, got, tc.want)
		}
	}
	if w, d := Nearest("postcod", []string{"ward", "postcode", "postcode_sector"}); w != "postcode" || d != 1 {
		t.Errorf("Nearest = %q, %d", w, d)
	}
}
