package contact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Address is a postal address read from the free-text lines a council's file holds it
// in: "Address line 1", "Address line 2", … or one cell with line breaks. Every part is
// kept as written, with runs of spaces folded to one; only the house number is
// normalised ("14a" → "14A", "12 - 14" → "12-14"). Abbreviations ("High St", "Ind.
// Est.") are not expanded here: rounds match "High St" and "High Street" as one street
// when they group doors (see internal/rounds), and a leaflet prints what the council
// wrote.
type Address struct {
	Flat      string // "Flat 2", "Fflat 3", "Apartment 5", "Unit 3", "Top Floor Flat", Scottish "2/1", "2F1"
	HouseName string // "The Old Rectory", "Rose Cottage", "Ty Gwyn"; a block's name, "Marlowe Court"
	Qualifier string // "Rear of", "Land adjacent to": words before a number that is not this door's own
	Number    string // "14", "14A", "12-14", "14/16"
	Street    string // "High St", "Heol y Dŵr"
	Locality  string // the parts after the street, joined by ", ": "Roath, Cardiff"
	POBox     string // "PO Box 123"
	Original  string // the non-empty lines as given, each trimmed, joined by "\n"
}

// maxAddressParts bounds the comma- and line-separated parts read; anything beyond
// would be a cell that is not an address, and the bound keeps the parts on the stack.
const maxAddressParts = 12

// ParseAddressLines reads UK address lines into their parts. Lines are split further at
// commas and line breaks, and the parts are read in order:
//
//   - "PO Box 123" (also "P.O. Box", "Post Office Box") is a box; what follows is locality.
//   - "Rear of", "Land adjacent to", "Land at", "R/O", … start a qualifier.
//   - A flat: "Flat 2", "Fflat 3", "Apartment 5", "Apt", "Unit", "Studio", "Room",
//     "Maisonette" with its number or letter; a floor ("Basement Flat", "Ground Floor
//     Flat", "Top Flat", "Ground Floor"); a Scottish tenement position before a house
//     number ("2/1 15 Byres Road", "0/1") or Edinburgh's "2F1", also as "(2F1)" after
//     the street. The rest of the part is read on.
//   - A part starting with a house number ("14", "14a", "12-14", "14/16"; "No. 14")
//     gives the number and, after it, the street; a number on its own takes the next
//     part as its street. A number before a block's name (Court, House, Mansions, …)
//     followed by a street is a flat in that block: "14 Marlowe Court, London Road".
//   - A part of words before any number or street is a house name when another part
//     follows and either that part starts with a number, or this part doesn't end in a
//     street word (Road, St, Lane, Close, Wynd, Brae, …; Welsh Heol, Stryd, Ffordd, Lôn
//     … at the start), or the next part does too ("Fern Bank, Keswick Road"). Otherwise
//     it is the street ("Church Lane, Ashby"). After a house name, the next part of
//     words is the street, whatever it is ("Ty Gwyn, Llanfihangel"), unless it is
//     followed by a street: then the first name is a part of the second house
//     ("Annexe, Rose Cottage, Mill Lane").
//   - Everything after the street (or box) is locality.
//
// It never fails: lines it cannot read end up as the street or locality, as written,
// and Original always holds the text given.
func ParseAddressLines(lines []string) Address {
	var a Address
	a.Original = originalLines(lines)
	var buf [maxAddressParts]string
	parts := buf[:0]
	for _, l := range lines {
		for l != "" && len(parts) < maxAddressParts {
			var p string
			if i := strings.IndexAny(l, ",\n\r"); i >= 0 {
				p, l = l[:i], l[i+1:]
			} else {
				p, l = l, ""
			}
			if p = foldSpaces(p); p != "" {
				parts = append(parts, p)
			}
		}
	}
	for i := 0; i < len(parts); i++ {
		p := parts[i]
		if a.Street != "" || a.POBox != "" {
			if i == len(parts)-1 {
				a.Locality = p
			} else {
				a.Locality = strings.Join(parts[i:], ", ")
			}
			break
		}
		next := ""
		if i+1 < len(parts) {
			next = parts[i+1]
		}
		if box, ok := cutPOBox(p); ok {
			a.POBox = box
			continue
		}
		if q, rest, ok := cutQualifier(p); ok {
			a.Qualifier, p = q, rest
		}
		if f, rest, ok := cutFlat(p, next); ok {
			a.Flat, p = f, rest
			if p == "" {
				continue
			}
		}
		if w, rest := firstWord(p); startsWithDigit(rest) && (strings.EqualFold(w, "no") || strings.EqualFold(w, "no.")) {
			p = rest
		}
		if num, rest, ok := cutNumber(p); ok && a.Number == "" {
			// "14 Marlowe Court, London Road": flat 14 of a block on London Road.
			if a.Flat == "" && a.HouseName == "" && next != "" && buildingLike(rest) && streetLike(next) {
				a.Flat, a.HouseName = num, rest
				continue
			}
			a.Number = num
			if f, street, ok := cutTrailingPosition(rest); ok {
				a.Flat, rest = f, street
			}
			a.Street = rest
			continue
		}
		switch {
		case a.HouseName != "" && a.Flat == "" && a.Number == "" && next != "" && !streetLike(p) &&
			(streetLike(next) || startsWithDigit(next)):
			// "Annexe, Rose Cottage, Mill Lane": a part of a named house.
			a.Flat, a.HouseName = a.HouseName, p
		case a.Number != "" || a.HouseName != "" || next == "":
			a.Street = p
		case startsWithDigit(next) || !streetLike(p) || streetLike(next):
			a.HouseName = p
		default:
			a.Street = p
		}
	}
	return a
}

// door gives the columns of the addresses table (see migrations/00001_init.sql):
// flat, house_number, street and town. A house name beside a number is the door's
// label, in flat ("Rose Cottage" at 3 Mill Lane), as is a block's name after the flat
// ("Flat 3, Marlowe Court"), which is how rounds find the building; a house with a name
// and no number keeps the name as its house number, where a "House name or number"
// column puts it and where rounds walk it as a named house. An address with no street
// (a PO box, or a farm named only by its village) takes the box or the first part of
// the locality as its street.
//
// The town is the last part of the locality: the post town, by UK convention the line
// before the postcode. A district or village line before it ("Canton" in "Canton,
// Cardiff") stays only in Original, because files give it for some doors of a street
// and not others, and rounds would walk a street whose doors name two towns as two
// streets.
func (a Address) door() (flat, houseNumber, street, town string) {
	street, town, houseNumber = a.Street, a.Locality, a.Number
	if street == "" && a.POBox != "" {
		street = a.POBox
	}
	if street == "" && town != "" {
		street, town, _ = strings.Cut(town, ", ")
	}
	if i := strings.LastIndex(town, ", "); i >= 0 {
		town = town[i+2:]
	}
	if a.Number == "" && a.Flat == "" && a.Qualifier == "" {
		return "", a.HouseName, street, town
	}
	return joinNonEmpty(a.Qualifier, a.Flat, a.HouseName), houseNumber, street, town
}

func joinNonEmpty(parts ...string) string {
	out := ""
	for _, p := range parts {
		switch {
		case p == "":
		case out == "":
			out = p
		default:
			out += ", " + p
		}
	}
	return out
}

// originalLines joins the non-empty lines, each trimmed, with "\n"; a cell's own line
// breaks (CRLF or LF) become "\n" too. A single clean line is returned as it is.
func originalLines(lines []string) string {
	if len(lines) == 1 && !strings.ContainsAny(lines[0], "\r\n") && strings.TrimSpace(lines[0]) == lines[0] {
		return lines[0]
	}
	var b strings.Builder
	for _, l := range lines {
		for l != "" {
			var one string
			if i := strings.IndexAny(l, "\r\n"); i >= 0 {
				one, l = l[:i], l[i+1:]
			} else {
				one, l = l, ""
			}
			if one = strings.TrimSpace(one); one != "" {
				if b.Len() > 0 {
					b.WriteByte('\n')
				}
				b.WriteString(one)
			}
		}
	}
	return b.String()
}

// foldSpaces trims a part and folds runs of white space inside it (Unicode's, so
// no-break spaces too) to one space, allocating only when there is something to fold.
func foldSpaces(s string) string {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\v' || c == '\f' || (c == ' ' && i+1 < len(s) && s[i+1] == ' ') {
			return strings.Join(strings.Fields(s), " ")
		}
		if c >= utf8.RuneSelf {
			if r, _ := utf8.DecodeRuneInString(s[i:]); unicode.IsSpace(r) {
				return strings.Join(strings.Fields(s), " ")
			}
		}
	}
	return s
}

func startsWithDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

func isASCIILetter(b byte) bool { return (b|0x20) >= 'a' && (b|0x20) <= 'z' }

// firstWord splits s at its first space.
func firstWord(s string) (w, rest string) {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// hasWordPrefixFold reports whether s starts with the words pre, in any case, followed
// by a space.
func hasWordPrefixFold(s, pre string) bool {
	return len(s) > len(pre) && s[len(pre)] == ' ' && strings.EqualFold(s[:len(pre)], pre)
}

// cutPOBox reads "PO Box 123", "P.O. Box 123", "P O Box: 123", "Post Office Box 123".
func cutPOBox(p string) (string, bool) {
	if p == "" || (p[0]|0x20) != 'p' {
		return "", false
	}
	i := 0
	if hasWordPrefixFold(p, "post office box") {
		i = len("post office box")
	} else {
		const want = "pobox"
		j := 0
		for i < len(p) && j < len(want) {
			switch c := p[i]; {
			case c == '.' || c == ' ':
			case c|0x20 == want[j]:
				j++
			default:
				return "", false
			}
			i++
		}
		if j < len(want) {
			return "", false
		}
	}
	rest := strings.TrimLeft(p[i:], " .:#")
	if !startsWithDigit(rest) {
		return "", false
	}
	return "PO Box " + rest, true
}

// qualifiers start a part naming a place by a door that isn't its own; longer first.
var qualifiers = []string{
	"land to the rear of", "land to rear of", "land adjacent to", "land adjoining", "land at", "land off",
	"garage adjacent to", "garage to rear of", "garage at", "rear of", "r/o", "adjacent to", "part of",
}

func cutQualifier(p string) (q, rest string, ok bool) {
	c := p[0] | 0x20
	if c != 'l' && c != 'g' && c != 'r' && c != 'a' && c != 'p' {
		return "", p, false
	}
	for _, pre := range qualifiers {
		if hasWordPrefixFold(p, pre) {
			return p[:len(pre)], p[len(pre)+1:], true
		}
	}
	return "", p, false
}

// flatWords name a flat when followed by its number or letter ("Flat 2", "Unit 3").
var flatWords = map[string]bool{
	"flat": true, "fflat": true, "flt": true, "apartment": true, "apt": true, "unit": true,
	"suite": true, "studio": true, "room": true, "maisonette": true,
}

// floorWords name a flat by its floor ("Ground Floor Flat", "Top Flat").
var floorWords = map[string]bool{
	"basement": true, "lower": true, "ground": true, "first": true, "1st": true, "second": true,
	"2nd": true, "third": true, "3rd": true, "fourth": true, "4th": true, "top": true, "upper": true,
	"garden": true, "floor": true,
}

// sideWords tell flats on one floor apart ("Ground Floor Left").
var sideWords = map[string]bool{"left": true, "right": true, "front": true, "rear": true, "back": true, "middle": true}

// cutFlat reads a flat at the start of p; next is the part after p, which tells a
// Scottish "2/1" standing alone before "15 Byres Road" from "14/16" house numbers.
func cutFlat(p, next string) (flat, rest string, ok bool) {
	w, after := firstWord(p)
	lw := lowerASCII(w)
	if flatWords[lw] {
		id, after2 := firstWord(after)
		if flatID(id) {
			return p[:len(w)+1+len(id)], after2, true
		}
		return "", p, false
	}
	if floorWords[lw] {
		end, words := len(w), after
		lastFloor := lw == "floor"
		for words != "" {
			w2, r2 := firstWord(words)
			l2 := lowerASCII(w2)
			if l2 == "flat" || l2 == "maisonette" {
				return p[:end+1+len(w2)], r2, true
			}
			if lastFloor && sideWords[l2] {
				// Scottish "Ground Floor Left".
				return p[:end+1+len(w2)], r2, true
			}
			if !floorWords[l2] {
				break
			}
			end += 1 + len(w2)
			words, lastFloor = r2, l2 == "floor"
		}
		if lastFloor && (words == "" || startsWithDigit(words)) {
			return p[:end], words, true
		}
		return "", p, false
	}
	if tenementPosition(w) && (startsWithDigit(after) || (after == "" && startsWithDigit(next))) {
		return w, after, true
	}
	return "", p, false
}

// cutTrailingPosition reads Edinburgh's "(2F1)" after a street.
func cutTrailingPosition(street string) (flat, rest string, ok bool) {
	if !strings.HasSuffix(street, ")") {
		return "", street, false
	}
	i := strings.LastIndex(street, " (")
	if i < 0 {
		return "", street, false
	}
	if inner := street[i+2 : len(street)-1]; tenementPosition(inner) {
		return inner, street[:i], true
	}
	return "", street, false
}

// flatID is a flat's number or letter: "2", "2A", "A", "1/2", "G/1".
func flatID(s string) bool {
	if s == "" || len(s) > 6 {
		return false
	}
	if len(s) == 1 && isASCIILetter(s[0]) {
		return true
	}
	digit := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isASCIIDigit(c):
			digit = true
		case isASCIILetter(c) || c == '/' || c == '-':
		default:
			return false
		}
	}
	return digit || tenementPosition(s)
}

// tenementPosition is a Scottish flat's floor and door: Glasgow's "2/1", "0/1", "G/1",
// Edinburgh's "2F1", "PF1", "GF2".
func tenementPosition(s string) bool {
	if len(s) < 3 || len(s) > 5 {
		return false
	}
	floor := func(c byte) bool { return isASCIIDigit(c) || c|0x20 == 'g' || c|0x20 == 'p' || c|0x20 == 'b' }
	if i := strings.IndexByte(s, '/'); i > 0 {
		for j := 0; j < i; j++ {
			if !floor(s[j]) {
				return false
			}
		}
		door := s[i+1:]
		if door == "" || len(door) > 2 {
			return false
		}
		for j := 0; j < len(door); j++ {
			if !isASCIIDigit(door[j]) && door[j]|0x20 != 'l' && door[j]|0x20 != 'r' {
				return false
			}
		}
		return true
	}
	if !floor(s[0]) || s[1]|0x20 != 'f' {
		return false
	}
	for j := 2; j < len(s); j++ {
		if !isASCIIDigit(s[j]) {
			return false
		}
	}
	return true
}

// cutNumber reads a house number at the start of p: "14", "14a", "14 a", "12-14",
// "12 - 14", "7–9", "14/16". ok is false when p doesn't start with one ("1st Avenue").
func cutNumber(p string) (num, rest string, ok bool) {
	i := 0
	for i < len(p) && isASCIIDigit(p[i]) {
		i++
	}
	if i == 0 {
		return "", p, false
	}
	// A letter suffix: "14a", or "14 a" when a word follows.
	end, suffix := i, byte(0)
	if i < len(p) && isASCIILetter(p[i]) {
		if i+1 < len(p) && p[i+1] != ' ' && p[i+1] != '-' && p[i+1] != '/' {
			return "", p, false
		}
		suffix, end = p[i], i+1
	} else if i+3 < len(p) && p[i] == ' ' && isASCIILetter(p[i+1]) && p[i+2] == ' ' {
		suffix, end = p[i+1], i+2
	}
	// A range: "12-14", "12 - 14", "7–9", "14/16".
	to := ""
	r := p[end:]
	for _, sep := range [...]string{"-", " - ", "–", " – ", "/"} {
		if strings.HasPrefix(r, sep) && startsWithDigit(r[len(sep):]) {
			j := len(sep)
			for j < len(r) && (isASCIIDigit(r[j]) || isASCIILetter(r[j])) {
				j++
			}
			to, end = r[len(sep):j], end+j
			if sep == "/" {
				to = "/" + to
			} else {
				to = "-" + to
			}
			break
		}
	}
	if end < len(p) && p[end] != ' ' {
		return "", p, false
	}
	num = p[:i]
	if suffix != 0 || to != "" {
		num = strings.ToUpper(num + string(suffix&^0x20) + to)
		if suffix == 0 {
			num = strings.ToUpper(p[:i] + to)
		}
	}
	return num, strings.TrimSpace(p[end:]), true
}

// streetWords end an English or Scottish street's name; streetFirstWords start a Welsh
// one ("Heol y Dŵr", "Stryd Fawr"). Building words ("Court", "House", "Cottage") are
// deliberately absent: a part ending in one is a house name when more follows.
var streetWords = map[string]bool{
	"road": true, "rd": true, "street": true, "st": true, "lane": true, "ln": true, "avenue": true,
	"ave": true, "av": true, "close": true, "cl": true, "drive": true, "dr": true, "way": true,
	"crescent": true, "cres": true, "place": true, "pl": true, "gardens": true, "gdns": true,
	"terrace": true, "terr": true, "ter": true, "grove": true, "gr": true, "square": true, "sq": true,
	"hill": true, "row": true, "walk": true, "mews": true, "parade": true, "pde": true, "park": true,
	"pk": true, "green": true, "rise": true, "view": true, "vale": true, "gate": true, "wynd": true,
	"brae": true, "loan": true, "vennel": true, "causeway": true, "quay": true, "embankment": true,
	"boulevard": true, "circus": true, "approach": true, "estate": true, "est": true, "side": true,
	"meadows": true, "fields": true, "croft": true, "chase": true, "common": true, "path": true,
	"promenade": true, "broadway": true, "yard": true, "passage": true, "alley": true, "ride": true,
	"hwy": true, "highway": true, "bypass": true, "by-pass": true, "gait": true, "nethergate": true,
}

var streetFirstWords = map[string]bool{
	"heol": true, "stryd": true, "ffordd": true, "lôn": true, "lon": true, "rhodfa": true,
	"cilgant": true, "teras": true, "clos": true, "maes": true,
}

// buildingWords end the name of a block of flats ("Marlowe Court").
var buildingWords = map[string]bool{
	"court": true, "house": true, "mansions": true, "lodge": true, "buildings": true, "apartments": true,
	"heights": true, "tower": true, "towers": true, "point": true, "lofts": true, "hall": true,
	"chambers": true, "flats": true,
}

// buildingLike reports whether a part of words reads as a block's name.
func buildingLike(p string) bool {
	last := p
	if i := strings.LastIndexByte(p, ' '); i >= 0 {
		last = p[i+1:]
	}
	return last != p && buildingWords[lowerASCII(last)]
}

// streetLike reports whether a part of words reads as a street's name.
func streetLike(p string) bool {
	last := p
	if i := strings.LastIndexByte(p, ' '); i >= 0 {
		last = p[i+1:]
	}
	if streetWords[lowerASCII(strings.TrimRight(last, "."))] {
		return true
	}
	first, _ := firstWord(p)
	return first != p && streetFirstWords[strings.ToLower(first)]
}

// lowerASCII lower-cases ASCII letters, allocating only when s has a capital; other
// bytes pass through, so it is safe on any UTF-8 for looking up ASCII words.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
