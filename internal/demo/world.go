package demo

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
)

// The fictional phone ranges Ofcom reserves for drama: no real line is ever
// allocated in them, so demo data can never text or ring a real person.
const (
	dramaNumbers = 1000 // 07700 900000–900999 and 020 7946 0000–0999
)

// Index of each phone format in a precomputed variant table; formatCanonical
// is what clean output uses.
const (
	formatCanonical = iota // 07700 900123 / 020 7946 0123
	formatPlus44           // +44 7700 900123
	format0044             // 0044 7700 900123
	formatBrackets         // (07700) 900-123
	formatCompact          // 07700900123
	phoneFormats
)

// Postcode spellings seen in spreadsheets; postcodeCanonical is "SE24 9HB".
const (
	postcodeCanonical  = iota // SE24 9HB
	postcodeLowerTight        // se249hb
	postcodePadded            // " SE24  9HB"
	postcodeTight             // SE249HB
	postcodeLower             // se24 9hb
	postcodeVariants
)

// inwardLetters are the letters allowed in the last two places of a UK
// postcode.
const inwardLetters = "ABDEFGHJLNPQRSTUWXYZ"

// houseNumbersPerPostcode is how many consecutive house numbers share a
// postcode unit.
const houseNumbersPerPostcode = 15

// nameForm is a name as written, in capitals, and folded to lower-case ASCII
// for use in an email address.
type nameForm struct {
	text, upper, fold string
}

// group is a nameGroup made ready for the hot loop.
type group struct {
	male, female []nameForm
	surnames     [][2]nameForm // masculine, feminine
	langs        []langShare
}

// address is one letterbox.
type address struct {
	flat, number string
	street       string
	ward         uint8
	postcode     int32 // index into world.postcodes
	flatted      bool  // in a flat of any kind
	block        bool  // in a purpose-built block (tenants' association country)
}

// world holds every table the generator reads. It never depends on a seed:
// the borough is the same for everyone, only its residents vary.
type world struct {
	wards     []wardSpec
	addrs     []address
	postcodes [][postcodeVariants]string
	groups    []group
	groupCum  []int // cumulative nameGroup weights
	mobiles   [dramaNumbers][phoneFormats]string
	landlines [dramaNumbers][phoneFormats]string
	tagOne    []string
	tagTwo    [][]string // tagTwo[i][j] = "tag i;tag j"
}

// theWorld builds the tables once, on first use.
var theWorld = sync.OnceValue(buildWorld)

func buildWorld() *world {
	w := &world{wards: wardSpecs}
	// A fixed seed: the geography must not change between runs or seeds.
	geo := rand.New(rand.NewPCG(0x5eed, 0xb0c0))
	for wi, ws := range wardSpecs {
		used := make(map[string]bool)
		for si, ss := range ws.streets {
			sector := ws.sectors[si%len(ws.sectors)]
			first := int32(len(w.postcodes))
			for range (ss.houses + houseNumbersPerPostcode - 1) / houseNumbersPerPostcode {
				var unit string
				for {
					unit = string([]byte{
						inwardLetters[geo.IntN(len(inwardLetters))],
						inwardLetters[geo.IntN(len(inwardLetters))],
					})
					if !used[sector+unit] {
						used[sector+unit] = true
						break
					}
				}
				w.postcodes = append(w.postcodes, postcodeSpellings(sector+unit))
			}
			for n := 1; n <= ss.houses; n++ {
				base := address{
					number:   strconv.Itoa(n),
					street:   ss.name,
					ward:     uint8(wi),
					postcode: first + int32((n-1)/houseNumbersPerPostcode),
				}
				if b, ok := buildingAt(ss.buildings, n); ok {
					for f := 1; f <= b.flats; f++ {
						a := base
						a.flat = "Flat " + strconv.Itoa(f) + ", " + b.name
						a.flatted = true
						a.block = b.flats > 8
						w.addrs = append(w.addrs, a)
					}
					continue
				}
				// Nearly a third of the terraced houses are converted
				// into two or three flats, as across inner London.
				if geo.IntN(100) >= 30 {
					w.addrs = append(w.addrs, base)
					continue
				}
				flats := 2 + geo.IntN(2)
				floors := geo.IntN(100) < 40
				for f := range flats {
					a := base
					a.flatted = true
					if floors {
						a.flat = [...]string{"Ground Floor Flat", "First Floor Flat", "Second Floor Flat"}[f]
					} else {
						a.flat = "Flat " + string(rune('A'+f))
					}
					w.addrs = append(w.addrs, a)
				}
			}
		}
	}

	total := 0
	for _, ng := range nameGroups {
		g := group{langs: ng.langs}
		for _, n := range ng.male {
			g.male = append(g.male, newNameForm(n))
		}
		for _, n := range ng.female {
			g.female = append(g.female, newNameForm(n))
		}
		for _, s := range ng.surnames {
			m, f, ok := strings.Cut(s, "|")
			if !ok {
				f = m
			}
			g.surnames = append(g.surnames, [2]nameForm{newNameForm(m), newNameForm(f)})
		}
		w.groups = append(w.groups, g)
		total += ng.weight
		w.groupCum = append(w.groupCum, total)
	}

	for i := range dramaNumbers {
		d := pad3(i)
		w.mobiles[i] = [phoneFormats]string{
			formatCanonical: "07700 900" + d,
			formatPlus44:    "+44 7700 900" + d,
			format0044:      "0044 7700 900" + d,
			formatBrackets:  "(07700) 900-" + d,
			formatCompact:   "07700900" + d,
		}
		d = "0" + d
		w.landlines[i] = [phoneFormats]string{
			formatCanonical: "020 7946 " + d,
			formatPlus44:    "+44 20 7946 " + d,
			format0044:      "0044 20 7946 " + d,
			formatBrackets:  "(020) 7946-" + d,
			formatCompact:   "0207946" + d,
		}
	}

	w.tagOne = tagNames[:]
	w.tagTwo = make([][]string, len(tagNames))
	for i, a := range tagNames {
		w.tagTwo[i] = make([]string, len(tagNames))
		for j, b := range tagNames {
			w.tagTwo[i][j] = a + ";" + b
		}
	}
	return w
}

func buildingAt(bs []buildingSpec, n int) (buildingSpec, bool) {
	for _, b := range bs {
		if b.number == n {
			return b, true
		}
	}
	return buildingSpec{}, false
}

// postcodeSpellings returns the ways a spreadsheet might spell pc, which is
// canonical ("SE24 9HB").
func postcodeSpellings(pc string) [postcodeVariants]string {
	tight := strings.ReplaceAll(pc, " ", "")
	outward, inward, _ := strings.Cut(pc, " ")
	return [postcodeVariants]string{
		postcodeCanonical:  pc,
		postcodeLowerTight: strings.ToLower(tight),
		postcodePadded:     " " + outward + "  " + inward,
		postcodeTight:      tight,
		postcodeLower:      strings.ToLower(pc),
	}
}

func pad3(i int) string {
	s := strconv.Itoa(i)
	return strings.Repeat("0", 3-len(s)) + s
}

func newNameForm(s string) nameForm {
	return nameForm{text: s, upper: strings.ToUpper(s), fold: foldASCII(s)}
}

// foldASCII lower-cases s and reduces it to the letters a–z and '-', mapping
// accented letters to their base letter and dropping apostrophes and spaces:
// "Ó Briain" → "obriain", "Łukasz" → "lukasz".
func foldASCII(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r == '-':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		default:
			if f, ok := foldRunes[r]; ok {
				b.WriteByte(f)
			}
		}
	}
	return b.String()
}

// foldRunes maps the accented letters used in the name tables to ASCII.
var foldRunes = map[rune]byte{
	'á': 'a', 'à': 'a', 'â': 'a', 'ã': 'a', 'ą': 'a', 'Á': 'a',
	'ç': 'c', 'ć': 'c', 'Ç': 'c', 'Ć': 'c',
	'é': 'e', 'è': 'e', 'ê': 'e', 'ë': 'e', 'ę': 'e', 'É': 'e',
	'ğ': 'g',
	'í': 'i', 'ì': 'i', 'î': 'i', 'ï': 'i', 'ı': 'i', 'Í': 'i', 'İ': 'i',
	'ł': 'l', 'Ł': 'l',
	'ñ': 'n', 'ń': 'n', 'Ñ': 'n',
	'ó': 'o', 'ò': 'o', 'ô': 'o', 'õ': 'o', 'ö': 'o', 'Ó': 'o', 'Ö': 'o',
	'ś': 's', 'ş': 's', 'Ś': 's', 'Ş': 's',
	'ú': 'u', 'ù': 'u', 'û': 'u', 'ü': 'u', 'Ú': 'u', 'Ü': 'u',
	'ŵ': 'w', 'ŷ': 'y', 'ý': 'y',
	'ź': 'z', 'ż': 'z', 'Ź': 'z', 'Ż': 'z',
}
