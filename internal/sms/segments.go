// Package sms holds helpers for composing SMS messages, such as working out
// how a message body will be encoded and how many segments it will be billed as.
package sms

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Encoding is the character encoding an SMS body is sent in.
type Encoding string

const (
	// GSM7 is the GSM 03.38 7-bit default alphabet (plus its extension table).
	GSM7 Encoding = "GSM-7"
	// UCS2 is the 16-bit Unicode encoding used whenever a body contains a
	// character outside the GSM 03.38 alphabet.
	UCS2 Encoding = "UCS-2"
)

// Segment sizes, in units (septets for GSM-7, UTF-16 code units for UCS-2).
// Multi-segment messages lose room to the concatenation header (UDH).
const (
	gsmSingle  = 160
	gsmMulti   = 153
	ucs2Single = 70
	ucs2Multi  = 67
)

// MaxRecommendedSegments is the segment count above which Warnings advises
// the officer to shorten a message.
const MaxRecommendedSegments = 3

// gsmBasic is the GSM 03.38 default alphabet, in table order (0x00–0x7F,
// omitting 0x1B, the escape to the extension table). Each costs one septet.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅå" +
	"Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ" +
	" !\"#¤%&'()*+,-./" +
	"0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNO" +
	"PQRSTUVWXYZÄÖÑÜ§" +
	"¿abcdefghijklmno" +
	"pqrstuvwxyzäöñüà"

// gsmExtension is the GSM 03.38 extension table. Each character is sent as
// the escape septet followed by one more, so costs two septets.
const gsmExtension = "\f^{}\\[~]|€"

// gsmCost maps each GSM-7 representable rune to its cost in septets.
var gsmCost = buildGSMCost()

func buildGSMCost() map[rune]int {
	m := make(map[rune]int, utf8.RuneCountInString(gsmBasic)+utf8.RuneCountInString(gsmExtension))
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}

// Measure reports how a text message body will be sent.
type Measure struct {
	// Encoding is GSM7 unless the body contains a character outside the
	// GSM 03.38 alphabet, in which case it is UCS2.
	Encoding Encoding
	// Characters is the number of user-visible characters (runes).
	Characters int
	// Units is the number of GSM-7 septets (extension-table characters count
	// 2) or, for UCS-2, UTF-16 code units (characters outside the Basic
	// Multilingual Plane, such as most emoji, count 2).
	Units int
	// Segments is the number of SMS segments the body is billed as: 1 for up
	// to 160 septets or 70 UCS-2 units, otherwise one per 153 septets or 67
	// units, never splitting a GSM-7 escape pair or a UTF-16 surrogate pair
	// across segments. It is 0 for an empty body.
	Segments int
	// PerSegment is the capacity of each segment in units: 160 or 153 for
	// GSM-7, 70 or 67 for UCS-2.
	PerSegment int
	// Remaining is the number of units still free in the last segment.
	Remaining int
	// NonGSM lists the characters that forced UCS-2, de-duplicated, in order
	// of first appearance. It is empty for GSM-7 bodies.
	NonGSM []string
}

// MeasureText reports how body will be encoded and how many segments it will
// be sent as, counting the way carriers (and Twilio) do. Invalid UTF-8 bytes
// are treated as U+FFFD, which forces UCS-2.
func MeasureText(body string) Measure {
	var (
		gsmUnits  int
		ucs2Units int
		chars     int
		nonGSM    []string
		seen      map[rune]bool
	)
	for _, r := range body {
		chars++
		ucs2Units += utf16Len(r)
		if c, ok := gsmCost[r]; ok {
			gsmUnits += c
			continue
		}
		if seen == nil {
			seen = make(map[rune]bool)
		}
		if !seen[r] {
			seen[r] = true
			nonGSM = append(nonGSM, string(r))
		}
	}

	m := Measure{Characters: chars, NonGSM: nonGSM}
	if len(nonGSM) == 0 {
		m.Encoding = GSM7
		m.Units = gsmUnits
		m.Segments, m.PerSegment, m.Remaining = pack(body, gsmUnits, gsmSingle, gsmMulti, gsmRuneCost)
	} else {
		m.Encoding = UCS2
		m.Units = ucs2Units
		m.Segments, m.PerSegment, m.Remaining = pack(body, ucs2Units, ucs2Single, ucs2Multi, utf16Len)
	}
	return m
}

// gsmRuneCost returns the septet cost of a rune known to be GSM-7.
func gsmRuneCost(r rune) int {
	return gsmCost[r]
}

// utf16Len returns the number of UTF-16 code units needed for r.
func utf16Len(r rune) int {
	if r >= 0x10000 && r <= unicode.MaxRune {
		return 2
	}
	return 1
}

// pack works out the segment count, per-segment capacity and units left in
// the last segment for a body totalling units, where cost gives the units of
// each rune. A rune is never split across segments: if it does not fit in
// what is left of the current segment it starts the next one, leaving the
// unused unit as padding.
func pack(body string, units, single, multi int, cost func(rune) int) (segments, perSegment, remaining int) {
	if units == 0 {
		return 0, single, single
	}
	if units <= single {
		return 1, single, single - units
	}
	segments, used := 1, 0
	for _, r := range body {
		c := cost(r)
		if used+c > multi {
			segments++
			used = 0
		}
		used += c
	}
	return segments, multi, multi - used
}

// Cost estimates the cost of sending the measured body to recipients people
// at pricePerSegment (in pence or any other unit), as
// segments × recipients × pricePerSegment. A negative recipient count is
// treated as zero.
func Cost(m Measure, recipients int, pricePerSegment float64) float64 {
	if recipients <= 0 || m.Segments <= 0 {
		return 0
	}
	return float64(m.Segments) * float64(recipients) * pricePerSegment
}

// replacements suggests GSM-7 stand-ins for common characters that sneak in
// from word processors.
var replacements = map[rune]string{
	'\u2018': "'",   // ‘ left single quote
	'\u2019': "'",   // ’ right single quote / curly apostrophe
	'\u201A': "'",   // ‚ low single quote
	'\u2032': "'",   // ′ prime
	'\u201C': "\"",  // “ left double quote
	'\u201D': "\"",  // ” right double quote
	'\u201E': "\"",  // „ low double quote
	'\u2033': "\"",  // ″ double prime
	'\u00AB': "\"",  // « guillemet
	'\u00BB': "\"",  // » guillemet
	'\u2010': "-",   // ‐ hyphen
	'\u2011': "-",   // ‑ non-breaking hyphen
	'\u2012': "-",   // ‒ figure dash
	'\u2013': "-",   // – en dash
	'\u2014': "-",   // — em dash
	'\u2015': "-",   // ― horizontal bar
	'\u2212': "-",   // − minus sign
	'\u2026': "...", // … ellipsis
	'\u00A0': " ",   // no-break space
	'\u2009': " ",   // thin space
	'\u202F': " ",   // narrow no-break space
	'\u2022': "*",   // • bullet
	'\u00B7': "*",   // · middle dot
	'\t':     " ",   // tab
}

// describe renders a character for a warning, with its code point so that
// invisible characters (such as a no-break space) can still be identified.
func describe(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	if unicode.IsGraphic(r) && !unicode.IsSpace(r) {
		return fmt.Sprintf("%q (U+%04X)", s, r)
	}
	return fmt.Sprintf("U+%04X", r)
}

// Warnings returns plain-English warnings for an officer composing the
// measured message: that it will be sent as UCS-2 (naming the characters
// responsible and suggesting GSM-7 replacements such as straight quotes), and
// that it runs to more than MaxRecommendedSegments segments. It returns nil
// when there is nothing to warn about.
func Warnings(m Measure) []string {
	var out []string
	if m.Encoding == UCS2 && len(m.NonGSM) > 0 {
		out = append(out, ucs2Warning(m))
	}
	if m.Segments > MaxRecommendedSegments {
		out = append(out, fmt.Sprintf(
			"This message is %d segments long (%d %s), so each recipient will be charged for %d texts. Consider shortening it to %d segments or fewer.",
			m.Segments, m.Units, unitName(m.Encoding), m.Segments, MaxRecommendedSegments))
	}
	return out
}

func unitName(e Encoding) string {
	if e == UCS2 {
		return "UCS-2 units"
	}
	return "GSM-7 characters"
}

func ucs2Warning(m Measure) string {
	var (
		all     []string
		swaps   []string
		letters []string
		others  []string
	)
	for _, s := range m.NonGSM {
		r, _ := utf8.DecodeRuneInString(s)
		d := describe(s)
		all = append(all, d)
		switch {
		case replacements[r] != "":
			swaps = append(swaps, fmt.Sprintf("%s with %q", d, replacements[r]))
		case unicode.IsLetter(r):
			letters = append(letters, d)
		default:
			others = append(others, d)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b,
		"This message will be sent as Unicode (UCS-2) because it contains %s not in the standard SMS alphabet: %s. Unicode texts hold only %d characters per segment instead of %d, which can multiply the cost.",
		plural(len(all), "a character", "characters"), strings.Join(all, ", "), ucs2Single, gsmSingle)
	if len(swaps) > 0 {
		fmt.Fprintf(&b, " Replace %s (use straight quotes, plain hyphens and three full stops).", strings.Join(swaps, ", "))
	}
	if len(letters) > 0 {
		fmt.Fprintf(&b, " The letter%s %s %s only available in Unicode; keep %s where correct spelling (for example in Welsh) matters, and accept the higher cost.",
			pluralSuffix(len(letters)), strings.Join(letters, ", "), plural(len(letters), "is", "are"), plural(len(letters), "it", "them"))
	}
	if len(others) > 0 {
		fmt.Fprintf(&b, " Remove %s (emoji and special symbols) to send as standard SMS.", strings.Join(others, ", "))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func pluralSuffix(n int) string {
	return plural(n, "", "s")
}
