package leaflet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/crierhq/crier/templates"
)

// The leaflet typeface: DejaVu Sans, embedded in the binary (templates/leaflet/fonts,
// with its licence). gofpdf embeds the glyphs a document uses, once per document.
const (
	fontFamily      = "DejaVuSans" // gofpdf names the embedded faces utf8dejavusans and utf8dejavusansB
	fontRegularPath = "leaflet/fonts/DejaVuSans.ttf"
	fontBoldPath    = "leaflet/fonts/DejaVuSans-Bold.ttf"

	ptToMM = 25.4 / 72 // one typographic point in millimetres
)

// fontMetrics are the few facts about a TrueType font that layout needs. They
// are read from the same tables gofpdf reads (the first Unicode BMP format 4
// cmap, hmtx, head and hhea), so a width measured here is the advance gofpdf
// writes into the PDF.
type fontMetrics struct {
	widths  []uint16 // advance per BMP rune, in 1/1000 em; 0 = no glyph
	ascent  float64  // above the baseline, in em
	descent float64  // below the baseline, in em (positive)
}

// zeroWidth marks a glyph with no advance (a width of 0 means no glyph).
const zeroWidth = math.MaxUint16

// fontSet is the regular and bold face, measured once per process.
type fontSet struct {
	regular, bold fontMetrics
}

var loadFontSet = sync.OnceValues(func() (*fontSet, error) {
	var fs fontSet
	for _, f := range []struct {
		path string
		m    *fontMetrics
	}{{fontRegularPath, &fs.regular}, {fontBoldPath, &fs.bold}} {
		data, err := templates.FS.ReadFile(f.path)
		if err != nil {
			return nil, fmt.Errorf("leaflet: read font: %w", err)
		}
		if *f.m, err = parseFontMetrics(data); err != nil {
			return nil, fmt.Errorf("leaflet: font %s: %w", f.path, err)
		}
	}
	// DejaVu has Hebrew and Arabic glyphs, but gofpdf neither reorders
	// right-to-left text nor joins Arabic letters: such text would print
	// backwards and broken, so it counts as unprintable.
	for r := range rune(0x10000) {
		if unicode.In(r, unicode.Hebrew, unicode.Arabic, unicode.Syriac, unicode.Thaana, unicode.Nko, unicode.Samaritan, unicode.Mandaic) {
			fs.regular.widths[r], fs.bold.widths[r] = 0, 0
		}
	}
	return &fs, nil
})

// face returns the metrics of the regular or the bold face.
func (fs *fontSet) face(bold bool) *fontMetrics {
	if bold {
		return &fs.bold
	}
	return &fs.regular
}

// width is the advance of s set in the given face at size points, in mm.
func (fs *fontSet) width(s string, bold bool, size float64) float64 {
	w := fs.face(bold).widths
	units := 0
	for _, r := range s {
		if r < 0 || int(r) >= len(w) {
			continue // never happens: printable text is cleaned first
		}
		if u := w[r]; u != zeroWidth {
			units += int(u)
		}
	}
	return float64(units) * size / 1000 * ptToMM
}

// covers reports whether both faces can print r. gofpdf addresses glyphs by
// BMP code point, so nothing beyond U+FFFF can be printed; nor can
// right-to-left scripts (see loadFontSet).
func (fs *fontSet) covers(r rune) bool {
	if r < 0 || r > 0xFFFF {
		return false
	}
	return fs.regular.widths[r] != 0 && fs.bold.widths[r] != 0
}

// fontBytes reads the two faces for one document. embed.FS hands out a fresh
// copy, so concurrent renders never share gofpdf's input buffers.
func fontBytes() (regular, bold []byte, err error) {
	if regular, err = templates.FS.ReadFile(fontRegularPath); err != nil {
		return nil, nil, fmt.Errorf("leaflet: read font: %w", err)
	}
	if bold, err = templates.FS.ReadFile(fontBoldPath); err != nil {
		return nil, nil, fmt.Errorf("leaflet: read font: %w", err)
	}
	return regular, bold, nil
}

var errFontFormat = errors.New("not a TrueType font with a Unicode cmap")

// parseFontMetrics reads advances (hmtx, scaled to 1/1000 em and rounded as
// gofpdf rounds them) and the BMP character map (cmap format 4).
func parseFontMetrics(data []byte) (fontMetrics, error) {
	be := binary.BigEndian
	u16 := func(off int) (int, bool) {
		if off < 0 || off+2 > len(data) {
			return 0, false
		}
		return int(be.Uint16(data[off:])), true
	}
	u32 := func(off int) (int, bool) {
		if off < 0 || off+4 > len(data) {
			return 0, false
		}
		return int(be.Uint32(data[off:])), true
	}
	if len(data) < 12 {
		return fontMetrics{}, errFontFormat
	}
	if v := be.Uint32(data); v != 0x00010000 && v != 0x74727565 { // 1.0 or 'true'
		return fontMetrics{}, errFontFormat
	}
	numTables, _ := u16(4)
	tables := map[string]int{}
	for i := range numTables {
		rec := 12 + 16*i
		if rec+16 > len(data) {
			return fontMetrics{}, errFontFormat
		}
		off, _ := u32(rec + 8)
		length, _ := u32(rec + 12)
		if off+length > len(data) {
			return fontMetrics{}, errFontFormat
		}
		tables[string(data[rec:rec+4])] = off
	}
	for _, t := range []string{"head", "hhea", "hmtx", "maxp", "cmap"} {
		if _, ok := tables[t]; !ok {
			return fontMetrics{}, fmt.Errorf("%w: no %s table", errFontFormat, t)
		}
	}
	unitsPerEm, ok1 := u16(tables["head"] + 18)
	ascender, ok2 := u16(tables["hhea"] + 4)
	descender, ok3 := u16(tables["hhea"] + 6)
	numHMetrics, ok4 := u16(tables["hhea"] + 34)
	numGlyphs, ok5 := u16(tables["maxp"] + 4)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || unitsPerEm == 0 || numHMetrics == 0 {
		return fontMetrics{}, errFontFormat
	}
	scale := 1000 / float64(unitsPerEm)
	advance := func(glyph int) (int, bool) {
		if glyph >= numGlyphs {
			return 0, false
		}
		glyph = min(glyph, numHMetrics-1) // monospaced tail repeats the last advance
		return u16(tables["hmtx"] + 4*glyph)
	}

	// The first Microsoft Unicode BMP (3,1) or Unicode (0,x) format 4 subtable.
	cmap := tables["cmap"]
	numSub, _ := u16(cmap + 2)
	sub := -1
	for i := range numSub {
		platform, _ := u16(cmap + 4 + 8*i)
		encoding, _ := u16(cmap + 4 + 8*i + 2)
		off, ok := u32(cmap + 4 + 8*i + 4)
		if !ok || !(platform == 3 && encoding == 1 || platform == 0) {
			continue
		}
		if format, _ := u16(cmap + off); format == 4 {
			sub = cmap + off
			break
		}
	}
	if sub < 0 {
		return fontMetrics{}, errFontFormat
	}
	segX2, ok := u16(sub + 6)
	if !ok || segX2 == 0 {
		return fontMetrics{}, errFontFormat
	}
	ends, starts, deltas, rangeOffs := sub+14, sub+16+segX2, sub+16+2*segX2, sub+16+3*segX2
	m := fontMetrics{
		widths:  make([]uint16, 0x10000),
		ascent:  float64(int16(ascender)) / float64(unitsPerEm),
		descent: -float64(int16(descender)) / float64(unitsPerEm),
	}
	for s := 0; s < segX2; s += 2 {
		end, ok1 := u16(ends + s)
		start, ok2 := u16(starts + s)
		delta, ok3 := u16(deltas + s)
		rangeOff, ok4 := u16(rangeOffs + s)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return fontMetrics{}, errFontFormat
		}
		for c := start; c <= end && c < 0xFFFF; c++ {
			glyph := 0
			if rangeOff == 0 {
				glyph = (c + delta) & 0xFFFF
			} else {
				g, ok := u16(rangeOffs + s + rangeOff + 2*(c-start))
				if !ok {
					return fontMetrics{}, errFontFormat
				}
				if g != 0 {
					glyph = (g + delta) & 0xFFFF
				}
			}
			if glyph == 0 || c == 0 {
				continue
			}
			adv, ok := advance(glyph)
			if !ok {
				continue
			}
			w := int(math.Round(scale * float64(adv)))
			switch {
			case w == 0:
				m.widths[c] = zeroWidth
			case w >= zeroWidth:
				m.widths[c] = zeroWidth - 1
			default:
				m.widths[c] = uint16(w)
			}
		}
	}
	return m, nil
}

// invisible are format characters that carry no ink; they are removed rather
// than printed as a visible glyph (DejaVu draws a soft hyphen as a hyphen).
func invisible(r rune) bool {
	switch r {
	case '\u00AD', '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\uFE0E', '\uFE0F':
		return true
	}
	return false
}

// cleanText prepares text for the page: NFC (so "w" + combining circumflex
// becomes "ŵ"), control characters and line breaks as spaces (or, when
// keepNewlines, line breaks as "\n"), invisible format characters removed.
// Each rune the font cannot print is replaced by what bad returns for it.
func cleanText(fs *fontSet, s string, keepNewlines bool, bad func(r rune) string) string {
	s = norm.NFC.String(strings.ReplaceAll(s, "\r\n", "\n"))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case keepNewlines && (r == '\n' || r == '\u2028' || r == '\u2029'):
			b.WriteByte('\n')
		case r == '\t' || r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029' || r == '\u0085':
			b.WriteByte(' ')
		case unicode.IsControl(r):
			b.WriteByte(' ')
		case invisible(r):
		case fs.covers(r):
			b.WriteRune(r)
		default:
			b.WriteString(bad(r))
		}
	}
	return b.String()
}

// unprintable collects runes a font cannot print, in first-seen order.
type unprintable struct {
	seen  map[rune]bool
	runes []rune
}

func (u *unprintable) add(r rune) string {
	if u.seen == nil {
		u.seen = map[rune]bool{}
	}
	if !u.seen[r] {
		u.seen[r] = true
		u.runes = append(u.runes, r)
	}
	return string(r)
}

func (u *unprintable) String() string {
	parts := make([]string, len(u.runes))
	for i, r := range u.runes {
		parts[i] = fmt.Sprintf("%U %q", r, r)
	}
	return strings.Join(parts, ", ")
}

// Unprintable returns the characters of s that the leaflet font cannot print (emoji,
// CJK, right-to-left and other scripts it cannot shape), in first-seen order, or "" if
// it can print all of s. Print runs check recipients with it, so a leaflet never
// carries a "?" where a name or an address should be.
func Unprintable(s string) (string, error) {
	fs, err := loadFontSet()
	if err != nil {
		return "", err
	}
	var bad unprintable
	cleanText(fs, s, true, bad.add)
	var b strings.Builder
	for _, r := range bad.runes {
		b.WriteRune(r)
	}
	return b.String(), nil
}
