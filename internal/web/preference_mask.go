package web

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The preference centre's link travels in e-bulletins, which get forwarded, so the page
// names the resident's addresses only well enough for them to recognise: an email by its
// first letter and domain, a mobile by its last four digits, a postal address by street
// and postcode.

// maskEmail returns addr as its first letter, "•••" and its domain: j•••@example.org.
// However short the local part, it shows one letter and three dots, so the mask doesn't
// tell its length. A letter is a whole character, with any accents that follow it.
// Without an @ it shows only the first letter and the dots.
func maskEmail(addr string) string {
	local, domain := addr, ""
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local, domain = addr[:i], addr[i:]
	}
	return firstLetter(local) + "•••" + domain
}

// firstLetter returns s's first rune and the combining marks that follow it.
func firstLetter(s string) string {
	if s == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(s)
	out := string(r) // an invalid byte becomes U+FFFD rather than half a character
	for n < len(s) {
		m, size := utf8.DecodeRuneInString(s[n:])
		if !unicode.Is(unicode.Mn, m) {
			break
		}
		out += string(m)
		n += size
	}
	return out
}

// flatWords start a part of an address that names a flat rather than the street.
var flatWords = []string{"flat", "apartment", "apt", "unit", "room", "suite", "maisonette"}

// streetOnly returns the street of an address without a house number or flat, even when
// an import put them in the street: "Flat 3, 12A High Street" is "High Street". Parts
// before a comma that hold a number or name a flat are dropped, then a leading number.
func streetOnly(street string) string {
	parts := strings.Split(street, ",")
	for len(parts) > 1 && (strings.ContainsFunc(parts[0], unicode.IsDigit) || startsWithAny(parts[0], flatWords)) {
		parts = parts[1:]
	}
	s := strings.TrimSpace(strings.Join(parts, ","))
	return strings.TrimSpace(houseNumber.ReplaceAllString(s, ""))
}

// houseNumber is a number at the start of a street: "12 ", "12A ", "12-14 ", "No. 5 ",
// but not the "1st" of "1st Avenue".
var houseNumber = regexp.MustCompile(`^(?i:no\.?\s*)?\d+[A-Za-z]?(\s*[-–/]\s*\d+[A-Za-z]?)?(,|\s+|$)`)

func startsWithAny(s string, words []string) bool {
	first, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	for _, w := range words {
		if strings.EqualFold(first, w) {
			return true
		}
	}
	return false
}
