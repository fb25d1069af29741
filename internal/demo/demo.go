// Package demo generates a fictional borough's residents as a council-style
// CSV spreadsheet: the seed data for `crier demo` and the input of the import
// benchmark.
//
// Everything in the output is invented and safe to contact by mistake:
//
//   - Email addresses are at example.com, example.org and example.net,
//     reserved by RFC 2606, and unique across a file: the local part ends in
//     the row number.
//   - Mobiles come only from Ofcom's drama range 07700 900000–900999 and
//     landlines only from 020 7946 0000–0999, which are never allocated to real
//     lines. Only 1,000 of each exist. A clean file (Messy false) never repeats
//     a mobile: about 18% of residents have one, so a 5,000-row demo uses about
//     900, and once all 1,000 are used later would-be mobile holders get none.
//     A messy file deals the 1,000 numbers out again and again, so mobiles and
//     landlines repeat across rows; the benchmark does not need them unique.
//     About 15% of residents have a landline; landlines repeat in either mode
//     once all 1,000 have been used (about 6,500 rows in).
//   - Ward names and streets are invented; outward codes (SE24, SW2, SE27) are
//     real London districts so postcodes have a genuine format, but the
//     street, number and postcode combinations are made up.
//
// Note that libphonenumber-based validators (github.com/nyaruka/phonenumbers)
// report the drama mobile range as possible but not valid; an importer that
// insists on IsValidNumber will reject every demo mobile.
package demo

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
)

// Options shape the generated file.
type Options struct {
	// Rows is the number of resident rows after the header line.
	Rows int
	// Seed picks the residents; the borough's streets and postcodes are the
	// same for every seed.
	Seed int64
	// Messy varies spellings and formats the way real spreadsheets exported
	// from Excel do: phone formats ("07700 900123", "+44 7700 900123",
	// "0044 7700 900123", "(07700) 900-123", "07700900123"), postcode case and
	// spacing ("se249hb", " SE24  9HB"), email case and stray spaces, consent
	// spellings ("yes", "Y", "TRUE", "1", "no", "N", "false", "0"), surnames in
	// capitals, delivery notes with a line break in them, and CRLF line
	// endings. Every row still holds valid values: only their spelling varies.
	Messy bool
	// Full gives every row an email, a mobile (unique, outside the drama range, so
	// that no two residents share one), a full address, all three consent columns and
	// tags, as a council's complete mailing list does: the import benchmark's rows.
	Full bool
}

// Ward is one of the demo borough's wards.
type Ward struct {
	// Name is the ward's name as it appears in the Ward column.
	Name string
	// Sectors are the ward's postcode sectors, e.g. "SE24 9"; every postcode
	// in the ward starts with one of them.
	Sectors []string
}

// Wards lists the demo wards (three), with their postcode sectors. The slice
// is the caller's to keep or change.
func Wards() []Ward {
	out := make([]Ward, len(wardSpecs))
	for i, ws := range wardSpecs {
		out[i] = Ward{Name: ws.name, Sectors: append([]string(nil), ws.sectors...)}
	}
	return out
}

// Column positions, in header order.
const (
	colFirst = iota
	colSurname
	colEmail
	colMobile
	colPhone
	colFlat
	colNumber
	colStreet
	colTown
	colPostcode
	colWard
	colLanguage
	colLargePrint
	colEmailConsent
	colSMSConsent
	colPostConsent
	colTags
	colNotes
	numCols
)

// header is the first line of every file.
var header = [numCols]string{
	"First name", "Surname", "Email", "Mobile", "Phone", "Flat",
	"House number", "Street", "Town", "Postcode", "Ward",
	"Preferred language", "Large print", "Email consent", "SMS consent",
	"Post consent", "Tags", "Delivery notes",
}

// The ways residents can be reached, per person.
const (
	chanEmail = iota
	chanMobile
	chanBoth
	chanPost
	chanLandline
)

// Cumulative per-mille channel mixes. Clean files keep mobiles to about 18%
// so a 5,000-row demo fits in the 1,000 drama numbers; messy files use the
// fuller mix of a real council list.
var (
	// clean: 51% email only, 9% mobile only, 9% both, 26% post only,
	// 5% landline only.
	cleanChannels = [...]int{510, 600, 690, 950, 1000}
	// messy: 45% email only, 15% mobile only, 15% both, 20% post only,
	// 5% landline only.
	messyChannels = [...]int{450, 600, 750, 950, 1000}
)

// householdSizes is the cumulative per-mille chance of 1, 2, 3 or 4
// residents at an address.
var householdSizes = [...]int{330, 670, 850, 1000}

var (
	yesSpellings = [...]string{"Yes", "yes", "Y", "TRUE", "1"}
	noSpellings  = [...]string{"No", "no", "N", "false", "0"}
	emailDomains = [...]string{"example.com", "example.com", "example.org", "example.net"}
)

// WriteCSV writes a header line and opts.Rows resident rows to w. The same
// Options always give byte-identical output. It streams: memory stays flat
// whatever Rows is.
func WriteCSV(w io.Writer, opts Options) error {
	if opts.Rows < 0 {
		return fmt.Errorf("demo: rows must not be negative, got %d", opts.Rows)
	}
	// csv.NewWriter adopts a *bufio.Writer that is already big enough.
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	cw.UseCRLF = opts.Messy
	if err := cw.Write(header[:]); err != nil {
		return fmt.Errorf("demo: write header: %w", err)
	}
	g := newGenerator(opts)
	for g.row < opts.Rows {
		if err := g.household(cw); err != nil {
			return fmt.Errorf("demo: write row %d: %w", g.row+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("demo: flush: %w", err)
	}
	return nil
}

// generator is the state of one WriteCSV call. Its size does not depend on
// the number of rows.
type generator struct {
	w        *world
	r        *rand.Rand
	opts     Options
	channels *[5]int
	order    []int32 // addresses, in the order households move in
	mobiles  [dramaNumbers]uint16
	lands    [dramaNumbers]uint16
	nMobile  int
	nLand    int
	house    int         // households so far
	row      int         // rows so far
	firsts   []*nameForm // given names in the current household
	buf      []byte
	rec      [numCols]string
}

func newGenerator(opts Options) *generator {
	g := &generator{
		w:        theWorld(),
		r:        rand.New(rand.NewPCG(uint64(opts.Seed), 0x6372696572)),
		opts:     opts,
		channels: &cleanChannels,
		firsts:   make([]*nameForm, 0, len(householdSizes)),
		buf:      make([]byte, 0, 64),
	}
	if opts.Messy {
		g.channels = &messyChannels
	}
	g.order = make([]int32, len(g.w.addrs))
	for i := range g.order {
		g.order[i] = int32(i)
	}
	g.r.Shuffle(len(g.order), func(i, j int) { g.order[i], g.order[j] = g.order[j], g.order[i] })
	for i := range dramaNumbers {
		g.mobiles[i] = uint16(i)
		g.lands[i] = uint16(i)
	}
	g.r.Shuffle(dramaNumbers, func(i, j int) { g.mobiles[i], g.mobiles[j] = g.mobiles[j], g.mobiles[i] })
	g.r.Shuffle(dramaNumbers, func(i, j int) { g.lands[i], g.lands[j] = g.lands[j], g.lands[i] })
	return g
}

// pick returns the index of the first cumulative per-mille bound above a
// random draw.
func (g *generator) pick(cum []int) int {
	n := g.r.IntN(cum[len(cum)-1])
	for i, c := range cum {
		if n < c {
			return i
		}
	}
	return len(cum) - 1
}

// chance reports true with probability perMille/1000.
func (g *generator) chance(perMille int) bool {
	return g.r.IntN(1000) < perMille
}

// household moves one household into the next address and writes its
// residents, stopping early if the file is full. Addresses are dealt in a
// seeded order; past the borough's capacity (about 3,300 addresses, or some
// 7,000 rows) they are dealt again, so big files put several households at
// one address.
func (g *generator) household(cw *csv.Writer) error {
	w := g.w
	a := &w.addrs[g.order[g.house%len(g.order)]]
	g.house++
	grp := &w.groups[g.pick(w.groupCum)]
	surname := &grp.surnames[g.r.IntN(len(grp.surnames))]
	size := g.pick(householdSizes[:]) + 1
	note := g.deliveryNote(a)

	rec := &g.rec
	rec[colFlat] = a.flat
	rec[colNumber] = a.number
	rec[colStreet] = a.street
	rec[colTown] = town
	rec[colPostcode] = g.postcode(a)
	rec[colWard] = w.wards[a.ward].name
	rec[colNotes] = note

	g.firsts = g.firsts[:0]
	for i := 0; i < size && g.row < g.opts.Rows; i++ {
		g.person(grp, surname, i == 0, a)
		if err := cw.Write(rec[:]); err != nil {
			return err
		}
		g.row++
	}
	return nil
}

// person fills the per-person columns of g.rec.
func (g *generator) person(grp *group, surname *[2]nameForm, head bool, a *address) {
	w, r, rec := g.w, g.r, &g.rec
	female := r.IntN(2)

	// Given name: mostly from the household's own tradition, sometimes from
	// the general British list (second generations, mixed families).
	names := grp.female
	if female == 0 {
		names = grp.male
	}
	if g.chance(100) {
		names = w.groups[0].female
		if female == 0 {
			names = w.groups[0].male
		}
	}
	first := &names[r.IntN(len(names))]
	// Two residents of one home rarely share a given name.
	for try := 0; try < 3 && slices.Contains(g.firsts, first); try++ {
		first = &names[r.IntN(len(names))]
	}
	g.firsts = append(g.firsts, first)

	// Surname: shared by most of a household; lodgers and partners differ.
	last := &surname[female] // 0 masculine, 1 feminine form
	if !head && g.chance(200) {
		og := &w.groups[g.pick(w.groupCum)]
		last = &og.surnames[r.IntN(len(og.surnames))][female]
	}

	rec[colFirst] = first.text
	rec[colSurname] = last.text
	if g.opts.Messy && g.chance(50) {
		rec[colSurname] = last.upper
	}

	ch := g.pick(g.channels[:])
	if g.opts.Full {
		ch = chanBoth
	}
	hasEmail := ch == chanEmail || ch == chanBoth
	hasMobile := ch == chanMobile || ch == chanBoth

	rec[colEmail] = ""
	if hasEmail {
		rec[colEmail] = g.email(first, last)
	}
	rec[colMobile] = ""
	if hasMobile {
		if g.opts.Full {
			rec[colMobile] = g.fullMobile()
		} else if g.opts.Messy || g.nMobile < dramaNumbers {
			n := g.mobiles[g.nMobile%dramaNumbers]
			g.nMobile++
			rec[colMobile] = w.mobiles[n][g.phoneFormat()]
		} else {
			hasMobile = false // all 1,000 clean mobiles are taken
		}
	}
	// Post only: no email, no mobile and no landline; letters are the only
	// way to reach them.
	postOnly := !hasEmail && !hasMobile && ch != chanLandline

	// About 15% have a landline: the landline-only, and some of those who
	// also have email or a mobile. Post-only residents have no phone at all.
	rec[colPhone] = ""
	if ch == chanLandline || (!postOnly && g.chance(145)) {
		n := g.lands[g.nLand%dramaNumbers]
		g.nLand++
		rec[colPhone] = w.landlines[n][g.phoneFormat()]
	}

	rec[colLanguage] = "en"
	for _, l := range grp.langs {
		if g.chance(l.perMille) {
			rec[colLanguage] = l.code
		}
	}

	largePrint := g.chance(45)
	if postOnly {
		largePrint = g.chance(180)
	}
	rec[colLargePrint] = ""
	switch {
	case largePrint:
		rec[colLargePrint] = g.yes()
	case g.opts.Messy && g.chance(300):
		rec[colLargePrint] = g.no()
	}

	rec[colEmailConsent] = ""
	if hasEmail {
		rec[colEmailConsent] = g.yesNo(g.chance(850))
	}
	rec[colSMSConsent] = ""
	if hasMobile || g.opts.Full {
		rec[colSMSConsent] = g.yesNo(g.chance(800))
	}
	yes, no := 520, 380
	if postOnly {
		yes, no = 850, 100
	}
	switch n := r.IntN(1000); {
	case n < yes:
		rec[colPostConsent] = g.yes()
	case n < yes+no:
		rec[colPostConsent] = g.no()
	default:
		rec[colPostConsent] = ""
	}

	rec[colTags] = g.tags(postOnly || largePrint, a.block)
	if g.opts.Full {
		if rec[colPostConsent] == "" {
			rec[colPostConsent] = g.no()
		}
		if rec[colTags] == "" {
			rec[colTags] = "residents"
		}
	}
}

// fullMobile returns the current row's own mobile number in the 07400 range (valid,
// not one of Ofcom's drama numbers, so never flagged fictional), written the ways
// spreadsheets do.
func (g *generator) fullMobile() string {
	n := fmt.Sprintf("0740%07d", (g.row+1)%10_000_000) // 11 digits: 07400 123456
	if g.opts.Messy && g.chance(300) {
		return "+44 " + n[1:5] + " " + n[5:]
	}
	return n[:5] + " " + n[5:]
}

// email returns a unique address for the current row: a pattern of the
// folded names, the row number (names hold no digits, so the trailing number
// makes it unique) and a reserved domain. Messy files vary case and add
// stray spaces.
func (g *generator) email(first, last *nameForm) string {
	r, b := g.r, g.buf[:0]
	switch n := r.IntN(100); {
	case n < 50:
		b = append(b, first.fold...)
		b = append(b, '.')
		b = append(b, last.fold...)
	case n < 65:
		b = append(b, first.fold...)
		b = append(b, last.fold...)
	case n < 75:
		b = append(b, first.fold[0], '.')
		b = append(b, last.fold...)
	case n < 85:
		b = append(b, first.fold...)
		b = append(b, '_')
		b = append(b, last.fold...)
	case n < 95:
		b = append(b, last.fold...)
		b = append(b, '.')
		b = append(b, first.fold...)
	default:
		b = append(b, first.fold...)
	}
	b = strconv.AppendInt(b, int64(g.row+1), 10)
	b = append(b, '@')
	b = append(b, emailDomains[r.IntN(len(emailDomains))]...)
	if g.opts.Messy {
		switch n := r.IntN(100); {
		case n < 10: // Zoe.Okafor42@Example.Org
			up := true
			for i, c := range b {
				if up && c >= 'a' && c <= 'z' {
					b[i] = c - ('a' - 'A')
				}
				up = c == '.' || c == '_' || c == '@'
			}
		case n < 15: // ZOE.OKAFOR42@EXAMPLE.ORG
			for i, c := range b {
				if c >= 'a' && c <= 'z' {
					b[i] = c - ('a' - 'A')
				}
			}
		case n < 20: // a stray trailing space
			b = append(b, ' ')
		case n < 25: // a stray leading space
			b = append(b, 0)
			copy(b[1:], b)
			b[0] = ' '
		}
	}
	g.buf = b
	return string(b)
}

// phoneFormat picks how a phone number is written.
func (g *generator) phoneFormat() int {
	if !g.opts.Messy {
		return formatCanonical
	}
	if n := g.r.IntN(100); n >= 40 {
		return 1 + (n-40)/15
	}
	return formatCanonical
}

// postcode spells a's postcode.
func (g *generator) postcode(a *address) string {
	v := &g.w.postcodes[a.postcode]
	if !g.opts.Messy {
		return v[postcodeCanonical]
	}
	if n := g.r.IntN(100); n >= 60 {
		return v[1+(n-60)/10]
	}
	return v[postcodeCanonical]
}

func (g *generator) yesNo(yes bool) string {
	if yes {
		return g.yes()
	}
	return g.no()
}

func (g *generator) yes() string {
	if !g.opts.Messy {
		return yesSpellings[0]
	}
	return yesSpellings[g.r.IntN(len(yesSpellings))]
}

func (g *generator) no() string {
	if !g.opts.Messy {
		return noSpellings[0]
	}
	return noSpellings[g.r.IntN(len(noSpellings))]
}

// deliveryNote is the household's note for the person delivering leaflets.
func (g *generator) deliveryNote(a *address) string {
	n := g.r.IntN(1000)
	switch {
	case n < 30:
		if g.opts.Messy && g.chance(100) {
			return noteNoJunkLong
		}
		return noteNoJunk
	case n < 40:
		return noteDog
	case n < 60:
		if a.flatted {
			return noteBuzzer
		}
		if g.opts.Messy && g.chance(250) {
			return noteGate
		}
		return noteLetterbox
	}
	return ""
}

// tags returns the resident's tags: none for most, one or two for some.
func (g *generator) tags(older, block bool) string {
	n := g.r.IntN(1000)
	if n >= 140 {
		return ""
	}
	a := g.tag(older, block)
	if n < 110 {
		return g.w.tagOne[a]
	}
	b := g.tag(older, block)
	for b == a {
		b = g.tag(older, block)
	}
	return g.w.tagTwo[a][b]
}

func (g *generator) tag(older, block bool) int {
	weights := [len(tagNames)]int{tagWatch: 30, tagOlder: 20, tagYouth: 15, tagBusiness: 10}
	if older {
		weights[tagOlder] += 60
	}
	if block {
		weights[tagTenants] += 40
	}
	total := 0
	for _, w := range weights {
		total += w
	}
	n := g.r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return 0
}
