package web

import (
	"testing"

	"github.com/crierhq/crier/internal/consent"
)

func TestMaskEmail(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"ordinary", "jane.doe@example.org", "j•••@example.org"},
		{"two letters", "jo@example.org", "j•••@example.org"},
		{"one letter", "j@example.org", "j•••@example.org"},
		{"capital kept", "Jane@Example.org", "J•••@Example.org"},
		{"unicode first letter", "élodie@exemple.fr", "é•••@exemple.fr"},
		{"combining accent stays with its letter", "e\u0301lodie@exemple.fr", "e\u0301•••@exemple.fr"},
		{"non-latin local part", "дмитрий@пример.рф", "д•••@пример.рф"},
		{"emoji local part", "🦊fox@example.org", "🦊•••@example.org"},
		{"@ in a quoted local part: the last one is the domain's", `"a@b"@example.org`, `"•••@example.org`},
		{"empty local part", "@example.org", "•••@example.org"},
		{"missing @", "janedoe", "j•••"},
		{"empty", "", "•••"},
		{"invalid UTF-8", "\xffane@example.org", "\ufffd•••@example.org"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := maskEmail(tc.in); got != tc.want {
				t.Errorf("maskEmail(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestStreetOnly(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"street alone", "High Street", "High Street"},
		{"number in the street", "12 High Street", "High Street"},
		{"number and letter", "12A High Street", "High Street"},
		{"range", "12-14 High Street", "High Street"},
		{"flat before the street", "Flat 3, 12 High Street", "High Street"},
		{"flat words without a digit", "Flat B, High Street", "High Street"},
		{"numbered street name kept", "1st Avenue", "1st Avenue"},
		{"number and comma", "12, High Street", "High Street"},
		{"no.", "No. 5 Mill Lane", "Mill Lane"},
		{"spaces", "  Mill Lane  ", "Mill Lane"},
		{"nothing but a number", "12", ""},
		{"empty", "", ""},
		{"unicode", "3 Heol y Bont", "Heol y Bont"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := streetOnly(tc.in); got != tc.want {
				t.Errorf("streetOnly(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPrefChoiceLabel(t *testing.T) {
	cases := []struct {
		name string
		c    prefChoice
		want string
	}{
		{"email", prefChoice{consent.Choice{Kind: "email", Value: "jane@example.org"}}, "By email to j•••@example.org"},
		{"mobile", prefChoice{consent.Choice{Kind: "phone", Value: "+447700900229"}}, "By text to the mobile ending 0229"},
		{"post", prefChoice{consent.Choice{Kind: "post", Flat: "Flat 3", House: "12", Street: "High Street", Post: "SW2 1RW"}}, "By post to High Street, SW2 1RW"},
		{"post, number in the street", prefChoice{consent.Choice{Kind: "post", Street: "12 High Street", Post: "SW2 1RW"}}, "By post to High Street, SW2 1RW"},
		{"post, no street", prefChoice{consent.Choice{Kind: "post", House: "12", Post: "SW2 1RW"}}, "By post, SW2 1RW"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Label(); got != tc.want {
				t.Errorf("Label() = %q, want %q", got, tc.want)
			}
		})
	}
}
