// Package rounds plans leaflet rounds: it divides the postal addresses a campaign
// reaches into rounds a volunteer can walk, each a sheet of stops in the order the
// volunteer comes to them. It is pure computation over addresses already loaded (see
// the addresses table in migrations/00001_init.sql); it reads and writes nothing.
//
// # Sectors and streets
//
// Addresses are grouped by postcode sector ("SW2 1"; derived from the postcode when
// the sector is empty), and a round never mixes sectors. Sectors are planned in natural
// order ("SW2 1" < "SW2 5" < "SW12 1"), addresses with neither sector nor postcode last.
//
// Within a sector, addresses are grouped into streets by a key that ignores case,
// spacing and punctuation and expands common abbreviations, so "Acre Lane",
// " ACRE  LANE " and "Acre Ln" are one street, as are "St John's Rd" and "Saint Johns
// Road". "St" means Street when it ends the name and Saint elsewhere; the other
// abbreviations (Rd, Ave, Ln, Cl, Cres, Ct, Dr, Gdns, Gr, Pl, Sq, Terr, Pk, Pde, …) are
// expanded anywhere but the first word. The street is shown as it is most often spelt,
// preferring spellings that mix capitals and small letters over ones all in capitals
// or all in small letters, then longer (unabbreviated) spellings, then the first in
// natural order; a blank street is shown as "(no street)". In rural sectors several villages may each have a "Church Lane": when
// one street name appears with more than one town in a sector, each town's part is a
// street of its own, shown as "Church Lane, Ashby" (addresses with no town join the
// only town given, if there is just one).
//
// Streets in a sector are walked in the order of their lowest postcode (natural
// order, then the street's name). Royal Mail allocates the units of a sector along
// its delivery walks, so neighbouring units tend to be neighbouring streets, and this
// keeps a round's streets closer together than the alphabet would.
//
// # Walk order within a street
//
// WalkOrder gives the order along one street: the odd numbers ascending, then the even
// numbers descending, so the volunteer walks up one side and back down the other; then
// the houses with a name and no number, in natural order of the name; then anything
// with neither a number nor a name. A house number is read by its leading digits: "12A"
// and "12 A" stand at 12, just after "12" itself, on both sides of the street (where
// 12A stands relative to 12 varies, so it is kept next to it); a range "7-9" stands at
// 7, so on the odd side, after any plain "7". A house number with no leading digit
// ("Rose Cottage") is a name.
//
// Flats are grouped into buildings, each appearing once in the walk at its house
// number's place (or its name's, for a building with a name and no number). Flats with
// the same house number on a street are one building; without a number, the building
// is named by Building or, when that is empty, by what follows the first comma in Flat
// ("Flat 3, Marlowe Court"). Within a building: the building's own door (an address
// with no flat) first; then flats named by floor, lowest first (basement; lower
// ground; ground, garden or lower; first or 1st; second or 2nd; …; upper; top); then the
// rest in natural order of the flat's label, the part of Flat before any comma ("Flat
// 2" before "Flat 10", "Flat A" before "Flat B").
//
// # Natural order
//
// Everything is compared in natural order: case-insensitively, with runs of digits
// compared by their value, so "Flat 2" < "Flat 10" and "SW2 1" < "SW12 1". Ties left
// by every rule fall back to the address's ID and then its other fields, so the same
// addresses in any order give the same rounds.
//
// # Skipped stops
//
// An address marked do-not-deliver (imports set the flag from delivery notes that
// say "do not deliver") is never delivered to, whatever the leaflet. For an
// unaddressed drop (Options.Unaddressed, "to the resident") the delivery notes are
// honoured too: a note asking for no junk mail, leaflets, flyers, circulars,
// unsolicited or unaddressed mail ("No junk mail", "NO-LEAFLETS/FLYERS please") skips
// the address. Addressed post is not junk mail, so those notes don't stop it. "No cold
// calling" asks callers not to knock, and a leaflet drop doesn't knock, so it skips
// nothing (the note is still on the sheet, with the others). A phrase is looked for
// within one clause of the note, so "No, junk mail is fine" is not a refusal.
//
// Skipped addresses stay on the sheet in their place in the walk, with the reason, so
// the volunteer knows why a door is passed; they don't count towards a round's size.
//
// # Rounds
//
// A round holds at most Options.Size deliverable stops (DefaultSize when Size is not
// positive). Streets fill rounds in walking order: a street joins the current round
// when it fits and starts a new round when it doesn't. A street is split only when it
// alone exceeds Size: it then starts a round of its own (unless the round so far holds
// only skipped stops) and is cut into the fewest pieces that fit, as even as they can
// be, preferring cuts between the sides of the street (odd, even, named), then between
// buildings, and only then within a building; a skipped stop at a cut stays with the
// stops before it. The last piece may be joined by the streets that follow. Every
// address given appears on exactly one round, skipped or not; a round can have no
// deliverable stop only when its whole sector has none.
//
// Rounds are named after their sector and first street, "SW2 1 · Acre Lane", with a
// count from the second round of a sector that starts on the same street: "SW2 1 ·
// Acre Lane (2)". Names are unique within a plan, and the same addresses always give
// the same names.
package rounds

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultSize is the number of deliverable stops a round holds when Options.Size is
// not positive: roughly two hours' walking.
const DefaultSize = 150

// ReasonDoNotDeliver is the SkipReason of an address marked do-not-deliver.
const ReasonDoNotDeliver = "Do not deliver"

// Address is one door, as stored in the addresses table.
type Address struct {
	ID           int64  // addresses.id
	Flat         string // "Flat 3", "Flat 3, Marlowe Court", "Ground floor flat", "" for a house
	HouseNumber  string // "12", "12A", "7-9", "" when the building has only a name
	Building     string // optional building name ("Marlowe Court"); else parsed from Flat "Flat 3, Marlowe Court"
	Street       string
	Town         string
	Postcode     string // normalised, "SW2 1RW"
	Sector       string // "SW2 1"; derived from Postcode when empty
	Notes        string // delivery notes, e.g. "No junk mail", "Letterbox at side", "Dog"
	DoNotDeliver bool
	Households   int // letterboxes (leaflets) at this address; 0 or less counts as 1
}

// Stop is one address on a round's sheet. A skipped stop stays on the sheet, in its
// place in the walk, so the volunteer knows why the door is passed.
type Stop struct {
	Address    Address
	Skip       bool
	SkipReason string // "Do not deliver", "No junk mail", …; "" unless Skip
}

// Round is one volunteer's sheet: stops in walking order, all in one sector.
type Round struct {
	Name    string   // "SW2 1 · Acre Lane", "SW2 1 · Acre Lane (2)"; unique within a plan
	Sector  string   // "SW2 1"; "" for addresses with neither sector nor postcode
	Streets []string // the streets walked, in order, as displayed
	Stops   []Stop
}

// Deliverable is the number of stops the volunteer delivers to: those not skipped.
func (r Round) Deliverable() int { return deliverable(r.Stops) }

// Skipped is the number of stops passed without delivering.
func (r Round) Skipped() int { return len(r.Stops) - deliverable(r.Stops) }

// Leaflets is the number of leaflets the round needs: one per household at each
// deliverable stop (an address with Households 0 or less counts as one).
func (r Round) Leaflets() int {
	n := 0
	for _, s := range r.Stops {
		if !s.Skip {
			n += max(s.Address.Households, 1)
		}
	}
	return n
}

// Options shape a plan.
type Options struct {
	// Size is the most deliverable stops in one round; DefaultSize when not positive.
	Size int
	// Unaddressed is set for a drop "to the resident": delivery notes asking for no
	// junk mail, leaflets or flyers are then honoured. Addressed post ignores them.
	// Do-not-deliver is honoured either way.
	Unaddressed bool
}

// Plan divides addrs into rounds (see the package documentation for the rules):
// sectors in natural order, and within each sector its rounds in walking order. Every
// address given appears on exactly one round; addrs is not modified.
func Plan(addrs []Address, opts Options) []Round {
	size := opts.Size
	if size <= 0 {
		size = DefaultSize
	}
	es := entries(addrs)
	for _, e := range es {
		e.stop = Stop{Address: e.addr}
		if reason, skip := skipReason(e.addr, opts.Unaddressed); skip {
			e.stop.Skip, e.stop.SkipReason = true, reason
		}
	}

	bySector := map[string][]*entry{}
	for _, e := range es {
		s := sectorOf(e.addr)
		bySector[s] = append(bySector[s], e)
	}
	sectors := make([]string, 0, len(bySector))
	for s := range bySector {
		sectors = append(sectors, s)
	}
	slices.SortFunc(sectors, func(a, b string) int {
		if c := cmpEmptyLast(a, b); c != 0 {
			return c
		}
		return cmpNatural(a, b)
	})

	var rounds []Round
	for _, s := range sectors {
		rounds = append(rounds, planSector(s, streetsOf(bySector[s]), size)...)
	}
	return rounds
}

// WalkOrder returns addrs, taken to be one street, in the order a volunteer walks
// them: odd numbers up, even numbers down, then named houses, with each building's
// flats together (see the package documentation). addrs is not modified.
func WalkOrder(addrs []Address) []Address {
	es := entries(addrs)
	sortWalk(es)
	out := make([]Address, len(es))
	for i, e := range es {
		out[i] = e.addr
	}
	return out
}

// side is where a door stands along its street, in walking order.
type side uint8

const (
	sideOdd      side = iota // odd house numbers, walked up
	sideEven                 // even house numbers, walked back down
	sideNamed                // a name and no number
	sideUnplaced             // neither number nor name
)

// entry is an address with the keys that place it, worked out once.
type entry struct {
	addr     Address
	side     side
	num      string // house number's leading digits, without leading zeros ("0" for zero)
	suffix   string // the rest of the house number, folded, without spaces: "a", "-9"
	name     string // folded name of a named place
	building string // key of the building: flats with the same key are walked together
	flat     string // folded flat label (Flat before any comma); "" for the building's own door
	flatAll  string // folded Flat, whole
	floor    int    // floor named in the flat label, when hasFloor
	hasFloor bool
	stop     Stop // Plan's stop for the address
}

// entries makes an entry for each address, in a canonical order that doesn't depend
// on the order of addrs, so every later stable sort is deterministic.
func entries(addrs []Address) []*entry {
	es := make([]*entry, len(addrs))
	for i, a := range addrs {
		es[i] = newEntry(a)
	}
	slices.SortFunc(es, func(x, y *entry) int { return cmpAddress(x.addr, y.addr) })
	return es
}

func newEntry(a Address) *entry {
	e := &entry{addr: a}
	label, building := splitFlat(a.Flat)
	if b := clean(a.Building); b != "" {
		building = b
	}
	hn := clean(a.HouseNumber)
	digits := len(hn) - len(strings.TrimLeft(hn, "0123456789"))
	switch {
	case digits > 0:
		e.num = strings.TrimLeft(hn[:digits], "0")
		if e.num == "" {
			e.num = "0"
		}
		e.suffix = strings.ReplaceAll(fold(hn[digits:]), " ", "")
		e.side = sideEven
		if (e.num[len(e.num)-1]-'0')%2 == 1 {
			e.side = sideOdd
		}
		e.building = "#" + e.num + e.suffix
	case hn != "" || building != "":
		name := hn
		if name == "" {
			name = building
		}
		e.side, e.name = sideNamed, fold(name)
		e.building = "@" + e.name
	default:
		e.side = sideUnplaced
	}
	e.flat, e.flatAll = fold(label), fold(a.Flat)
	e.floor, e.hasFloor = floorOf(e.flat)
	return e
}

// splitFlat splits "Flat 3, Marlowe Court" into the flat's label and its building.
func splitFlat(flat string) (label, building string) {
	flat = clean(flat)
	label, building, _ = strings.Cut(flat, ",")
	return strings.TrimSpace(label), strings.TrimSpace(building)
}

// sortWalk puts es, in canonical order, into walking order.
func sortWalk(es []*entry) { slices.SortStableFunc(es, cmpWalk) }

// cmpWalk orders two doors on one street by where a volunteer walking it meets them.
func cmpWalk(x, y *entry) int {
	if c := cmp.Compare(x.side, y.side); c != 0 {
		return c
	}
	var c int
	switch x.side {
	case sideOdd:
		c = cmpDigits(x.num, y.num)
	case sideEven:
		c = -cmpDigits(x.num, y.num)
	case sideNamed:
		c = cmpNatural(x.name, y.name)
	}
	if c != 0 {
		return c
	}
	if c := cmpNatural(x.suffix, y.suffix); c != 0 {
		return c
	}
	if c := strings.Compare(x.building, y.building); c != 0 {
		return c
	}
	// The same building: its own door, then flats by floor, then the rest.
	if c := cmpBool(x.flatAll != "", y.flatAll != ""); c != 0 {
		return c
	}
	if c := cmpBool(!x.hasFloor, !y.hasFloor); c != 0 {
		return c
	}
	if x.hasFloor {
		if c := cmp.Compare(x.floor, y.floor); c != 0 {
			return c
		}
	}
	if c := cmpNatural(x.flat, y.flat); c != 0 {
		return c
	}
	return cmpNatural(x.flatAll, y.flatAll)
}

// floorOf reads the floor a flat's folded label names ("ground floor flat", "2nd
// floor", "top flat"), as a rank that sorts floors upwards.
func floorOf(label string) (int, bool) {
	words := strings.FieldsFunc(label, notAlnum)
	for i, w := range words {
		switch w {
		case "basement":
			return -20, true
		case "lower":
			if i+1 < len(words) && words[i+1] == "ground" {
				return -10, true
			}
			return 0, true
		case "ground", "garden":
			return 0, true
		case "upper":
			return 9000, true
		case "top", "attic", "penthouse":
			return 10000, true
		}
		if n := ordinal(w); n > 0 {
			return 10 * n, true
		}
	}
	return 0, false
}

var ordinalWords = []string{"first", "second", "third", "fourth", "fifth", "sixth",
	"seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth"}

// ordinal reads "second" or "2nd" as 2; anything else is 0.
func ordinal(w string) int {
	if i := slices.Index(ordinalWords, w); i >= 0 {
		return i + 1
	}
	if len(w) < 3 || len(w) > 6 {
		return 0
	}
	digits, end := w[:len(w)-2], w[len(w)-2:]
	if end != "st" && end != "nd" && end != "rd" && end != "th" {
		return 0
	}
	n := 0
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0
		}
		n = 10*n + int(r-'0')
	}
	return n
}

// skipReason says whether a is passed without delivering, and why.
func skipReason(a Address, unaddressed bool) (string, bool) {
	if a.DoNotDeliver {
		return ReasonDoNotDeliver, true
	}
	if unaddressed {
		if r := refusal(a.Notes); r != "" {
			return r, true
		}
	}
	return "", false
}

// refusals are the phrases in delivery notes that refuse unaddressed leaflets, each
// matched at the start of a word and as a prefix of the rest ("no leaflet" matches "no
// leaflets"), with the reason shown for the stop.
var refusals = []struct{ phrase, reason string }{
	{"no junk", "No junk mail"},
	{"no leaflet", "No leaflets"},
	{"no flyer", "No flyers"},
	{"no flier", "No flyers"},
	{"no circular", "No circulars"},
	{"no unsolicited", "No unsolicited mail"},
	{"no unaddressed", "No unaddressed mail"},
}

// refusal returns the reason a delivery note refuses unaddressed leaflets, or "" when
// it doesn't. The note is read clause by clause (split at , . ; : ! ? and line
// breaks), each clause as lower-case words split at anything but letters and digits,
// apostrophes dropped.
func refusal(notes string) string {
	clauses := strings.FieldsFunc(notes, func(r rune) bool { return strings.ContainsRune(",.;:!?\n\r", r) })
	for _, cl := range clauses {
		words := strings.FieldsFunc(strings.ToLower(dropApostrophes(cl)), notAlnum)
		s := " " + strings.Join(words, " ")
		for _, r := range refusals {
			if strings.Contains(s, " "+r.phrase) {
				return r.reason
			}
		}
	}
	return ""
}

// street is one street of a sector, its addresses in walking order.
type street struct {
	name     string // as displayed
	key      string // grouping key
	town     string // folded town, when the street is split by town
	postcode string // lowest postcode on the street; "" when none has one
	entries  []*entry
}

// streetsOf groups a sector's entries (in canonical order) into streets, in the order
// they are walked.
func streetsOf(es []*entry) []*street {
	byKey := map[string][]*entry{}
	for _, e := range es {
		k := streetKey(e.addr.Street)
		byKey[k] = append(byKey[k], e)
	}
	var streets []*street
	for key, group := range byKey {
		towns := map[string][]*entry{}
		for _, e := range group {
			t := townKey(e.addr.Town)
			towns[t] = append(towns[t], e)
		}
		named := 0
		for t := range towns {
			if t != "" {
				named++
			}
		}
		if named <= 1 {
			// One town (or none): the street is one street, town or not.
			streets = append(streets, newStreet(key, "", group, false))
			continue
		}
		for t, part := range towns {
			streets = append(streets, newStreet(key, t, part, true))
		}
	}
	slices.SortFunc(streets, func(a, b *street) int {
		if c := cmpEmptyLast(a.postcode, b.postcode); c != 0 {
			return c
		}
		if c := cmpNatural(a.postcode, b.postcode); c != 0 {
			return c
		}
		if c := cmpNatural(a.key, b.key); c != 0 {
			return c
		}
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		if c := cmpEmptyLast(a.town, b.town); c != 0 {
			return c
		}
		return strings.Compare(a.town, b.town)
	})
	for _, st := range streets {
		sortWalk(st.entries)
	}
	return streets
}

func newStreet(key, town string, es []*entry, byTown bool) *street {
	st := &street{key: key, town: town, entries: es}
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.addr.Street
		if p := postcodeOf(e.addr.Postcode); p != "" && (st.postcode == "" || cmpNatural(p, st.postcode) < 0) {
			st.postcode = p
		}
	}
	st.name = spelling(names)
	if st.name == "" {
		st.name = "(no street)"
	}
	if byTown && town != "" {
		towns := make([]string, len(es))
		for i, e := range es {
			towns[i] = e.addr.Town
		}
		st.name += ", " + spelling(towns)
	}
	return st
}

// spelling picks how to show a name spelt several ways: the most common of the
// spellings that mix capitals and small letters (else of all of them), then the
// longest, then the first in natural order. Spacing is tidied first.
func spelling(names []string) string {
	count := map[string]int{}
	for _, n := range names {
		if n = clean(n); n != "" {
			count[n]++
		}
	}
	best := ""
	better := func(a, b string) bool {
		if ma, mb := mixedCase(a), mixedCase(b); ma != mb {
			return ma
		}
		if count[a] != count[b] {
			return count[a] > count[b]
		}
		if la, lb := utf8.RuneCountInString(a), utf8.RuneCountInString(b); la != lb {
			return la > lb
		}
		if c := cmpNatural(a, b); c != 0 {
			return c < 0
		}
		return a < b
	}
	for n := range count {
		if best == "" || better(n, best) {
			best = n
		}
	}
	return best
}

func mixedCase(s string) bool {
	return strings.IndexFunc(s, unicode.IsUpper) >= 0 && strings.IndexFunc(s, unicode.IsLower) >= 0
}

// abbreviations expands the short forms of street types; they are expanded in any word
// but the first ("Ave Maria Lane" keeps its Ave). "st" and "mt" are handled apart.
var abbreviations = map[string]string{
	"rd": "road", "ave": "avenue", "av": "avenue", "ln": "lane", "cl": "close",
	"cres": "crescent", "cresc": "crescent", "ct": "court", "dr": "drive",
	"gdns": "gardens", "gdn": "garden", "gr": "grove", "gro": "grove", "pl": "place",
	"sq": "square", "terr": "terrace", "ter": "terrace", "tce": "terrace", "pk": "park",
	"pde": "parade", "wk": "walk", "hl": "hill", "bldgs": "buildings", "est": "estate",
	"blvd": "boulevard", "cir": "circus", "hts": "heights", "grn": "green", "mkt": "market",
}

// streetKey is the key streets are grouped by: lower-case words, apostrophes dropped,
// other punctuation a space, "&" read as "and", abbreviations expanded.
func streetKey(s string) string {
	s = strings.ReplaceAll(dropApostrophes(s), "&", " and ")
	words := strings.FieldsFunc(strings.ToLower(s), notAlnum)
	for i, w := range words {
		switch {
		case w == "st":
			if i == len(words)-1 && i > 0 {
				words[i] = "street"
			} else {
				words[i] = "saint"
			}
		case w == "mt" && i < len(words)-1:
			words[i] = "mount"
		case i > 0:
			if full, ok := abbreviations[w]; ok {
				words[i] = full
			}
		}
	}
	return strings.Join(words, " ")
}

// townKey is the key towns are compared by: lower-case words, punctuation dropped.
func townKey(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(dropApostrophes(s)), notAlnum), " ")
}

// sectorOf is a's postcode sector, "SW2 1": its Sector tidied, or else worked out from
// its postcode; "" when it has neither.
func sectorOf(a Address) string {
	if s := []rune(compact(a.Sector)); len(s) > 0 {
		if n := len(s); n >= 2 && unicode.IsDigit(s[n-1]) {
			return string(s[:n-1]) + " " + string(s[n-1:])
		}
		return string(s)
	}
	if p := []rune(compact(a.Postcode)); len(p) >= 5 {
		n := len(p)
		return string(p[:n-3]) + " " + string(p[n-3:n-2])
	}
	return ""
}

// postcodeOf is the postcode in capitals with one space before the inward code.
func postcodeOf(postcode string) string {
	p := []rune(compact(postcode))
	if n := len(p); n >= 5 {
		return string(p[:n-3]) + " " + string(p[n-3:])
	}
	return string(p)
}

// planSector divides one sector's streets, in walking order, into rounds.
func planSector(sector string, streets []*street, size int) []Round {
	var (
		rounds  []Round
		stops   []Stop
		names   []string
		weight  int
		label   = sector
		counted = map[string]int{}
	)
	if label == "" {
		label = "No postcode"
	}
	flush := func() {
		if len(stops) == 0 {
			return
		}
		name := label + " · " + names[0]
		counted[name]++
		if n := counted[name]; n > 1 {
			name += " (" + strconv.Itoa(n) + ")"
		}
		rounds = append(rounds, Round{Name: name, Sector: sector, Streets: names, Stops: stops})
		stops, names, weight = nil, nil, 0
	}
	add := func(name string, part []Stop) {
		stops = append(stops, part...) // stops starts nil, so rounds never share arrays
		if len(names) == 0 || names[len(names)-1] != name {
			names = append(names, name)
		}
		weight += deliverable(part)
	}
	for _, st := range streets {
		all := make([]Stop, len(st.entries))
		for i, e := range st.entries {
			all[i] = e.stop
		}
		w := deliverable(all)
		if w <= size {
			if weight > 0 && weight+w > size {
				flush()
			}
			add(st.name, all)
			continue
		}
		if weight > 0 {
			flush()
		}
		for i, p := range split(streetTree(st, all), all, size) {
			if i > 0 {
				flush()
			}
			add(st.name, all[p.lo:p.hi])
		}
	}
	flush()
	return rounds
}

// span is a run of a street's stops, [lo, hi) in walking order, and how many of
// them are deliverable.
type span struct{ lo, hi, weight int }

// node is a span that is best kept together: a street, one side of it, or a building.
// Its kids divide it at the next finer cut; a building has none, as it is divided
// into its single stops.
type node struct {
	span
	kids []node
}

// streetTree divides a street's stops (all, in walking order) into its sides (odd,
// even, the rest), and each side into buildings.
func streetTree(st *street, all []Stop) node {
	weight := func(lo, hi int) int { return deliverable(all[lo:hi]) }
	sideOf := func(i int) side { return min(st.entries[i].side, sideNamed) }
	sameBuilding := func(i, j int) bool {
		x, y := st.entries[i], st.entries[j]
		return x.side == y.side && x.building == y.building
	}
	tree := node{span: span{0, len(all), weight(0, len(all))}}
	for _, s := range runs(0, len(all), func(i, j int) bool { return sideOf(i) == sideOf(j) }) {
		sn := node{span: span{s[0], s[1], weight(s[0], s[1])}}
		for _, b := range runs(s[0], s[1], sameBuilding) {
			sn.kids = append(sn.kids, node{span: span{b[0], b[1], weight(b[0], b[1])}})
		}
		tree.kids = append(tree.kids, sn)
	}
	return tree
}

// runs splits lo..hi into maximal runs [from, to) of neighbours that are alike.
func runs(lo, hi int, alike func(i, j int) bool) [][2]int {
	var out [][2]int
	for lo < hi {
		to := lo + 1
		for to < hi && alike(to-1, to) {
			to++
		}
		out = append(out, [2]int{lo, to})
		lo = to
	}
	return out
}

// split cuts n, a node over the street's stops all, into spans of at most size
// deliverable stops. It cuts only between n's kids, except where a kid alone is too
// big and is split in turn; a building is cut between its stops.
func split(n node, all []Stop, size int) []span {
	var items []span
	if n.kids == nil {
		items = make([]span, 0, n.hi-n.lo)
		for i := n.lo; i < n.hi; i++ {
			items = append(items, span{i, i + 1, deliverable(all[i : i+1])})
		}
	}
	for _, k := range n.kids {
		if k.weight <= size {
			items = append(items, k.span)
			continue
		}
		items = append(items, split(k, all, size)...)
	}
	return partition(items, size)
}

// partition packs items, in order, into the fewest spans of at most size deliverable
// stops, as even as they can be: it finds the smallest limit that still needs no more
// spans than size does, and fills spans up to that limit.
func partition(items []span, size int) []span {
	total := 0
	for _, it := range items {
		total += it.weight
	}
	k := pack(items, size, nil)
	lo, hi := max((total+k-1)/k, 1), size
	for lo < hi {
		mid := lo + (hi-lo)/2
		if pack(items, mid, nil) <= k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	out := make([]span, 0, k)
	pack(items, lo, &out)
	return out
}

// pack fills spans greedily up to limit deliverable stops, appends them to *out
// unless out is nil, and returns how many there are. An item bigger than limit is a
// span of its own, and items with nothing to deliver join the span before them.
func pack(items []span, limit int, out *[]span) int {
	n := 0
	var cur span
	open := false
	for _, it := range items {
		if open && cur.weight > 0 && it.weight > 0 && cur.weight+it.weight > limit {
			if out != nil {
				*out = append(*out, cur)
			}
			n++
			open = false
		}
		if !open {
			cur, open = it, true
			continue
		}
		cur.hi = it.hi
		cur.weight += it.weight
	}
	if open {
		if out != nil {
			*out = append(*out, cur)
		}
		n++
	}
	return n
}

func deliverable(stops []Stop) int {
	n := 0
	for _, s := range stops {
		if !s.Skip {
			n++
		}
	}
	return n
}

// cmpNatural compares a and b in natural order: case-insensitively, rune by rune,
// except that runs of ASCII digits compare by value ("flat 2" < "flat 10"). Runs equal
// in value but for leading zeros compare equal.
func cmpNatural(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			da, db := digitRun(a), digitRun(b)
			if c := cmpDigits(a[:da], b[:db]); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra, rb = unicode.ToLower(ra), unicode.ToLower(rb); ra != rb {
			return cmp.Compare(ra, rb)
		}
		a, b = a[na:], b[nb:]
	}
	return cmp.Compare(len(a), len(b))
}

// cmpDigits compares two runs of ASCII digits by value.
func cmpDigits(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func digitRun(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// cmpAddress is a total order on addresses: by ID, then every other field.
func cmpAddress(a, b Address) int {
	if c := cmp.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	for _, f := range [...][2]string{
		{a.Street, b.Street}, {a.HouseNumber, b.HouseNumber}, {a.Building, b.Building},
		{a.Flat, b.Flat}, {a.Town, b.Town}, {a.Postcode, b.Postcode}, {a.Sector, b.Sector},
		{a.Notes, b.Notes},
	} {
		if c := strings.Compare(f[0], f[1]); c != 0 {
			return c
		}
	}
	if c := cmpBool(a.DoNotDeliver, b.DoNotDeliver); c != 0 {
		return c
	}
	return cmp.Compare(a.Households, b.Households)
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// cmpEmptyLast orders non-empty strings before empty ones, and is 0 otherwise.
func cmpEmptyLast(a, b string) int { return cmpBool(a == "", b == "") }

// clean trims s and turns each run of white space inside it into one space.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

// fold is clean, lower-cased.
func fold(s string) string { return strings.ToLower(clean(s)) }

// compact is s in capitals with all white space removed.
func compact(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

var apostrophes = strings.NewReplacer("'", "", "’", "", "‘", "", "`", "")

func dropApostrophes(s string) string { return apostrophes.Replace(s) }

func notAlnum(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
