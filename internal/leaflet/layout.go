package leaflet

import (
	"strings"
	"unicode/utf8"
)

// Layout works in millimetres from the top-left corner of a leaflet page; type
// sizes are in points. Everything static is laid out once per document into
// drawing operations; only the address panel is set per leaflet.

type opKind uint8

const (
	opText  opKind = iota // text with its baseline starting at (x, y)
	opLine                // a line from (x, y) to (w, h)
	opRect                // an outlined rectangle
	opFill                // a filled (black) rectangle
	opImage               // the registered image named text
)

// op is one drawing operation.
type op struct {
	kind       opKind
	x, y, w, h float64 // mm; for opLine, (w, h) is the end point
	lw         float64 // line width, mm
	size       float64 // type size, pt
	bold       bool
	white      bool // white text (on a black fill)
	text       string
}

// shift returns ops moved by (dx, dy), appended to dst.
func shift(dst, ops []op, dx, dy float64) []op {
	for _, o := range ops {
		o.x += dx
		o.y += dy
		if o.kind == opLine {
			o.w += dx
			o.h += dy
		}
		dst = append(dst, o)
	}
	return dst
}

// textSetter measures, wraps and sets text for one style of leading.
type textSetter struct {
	fs      *fontSet
	leading float64 // line advance as a multiple of the type size
}

// advance is the height of one line of type at size, in mm.
func (t textSetter) advance(size float64) float64 { return size * t.leading * ptToMM }

// baseline is how far below a line's top its baseline sits, in mm: the ascent
// plus half the extra leading.
func (t textSetter) baseline(size float64) float64 {
	m := &t.fs.regular
	return (m.ascent + (t.leading-m.ascent-m.descent)/2) * size * ptToMM
}

// run is a stretch of one weight on a set line, dx from the line's start.
type run struct {
	dx   float64
	text string
	bold bool
}

// setLine is one line of set text.
type setLine struct {
	runs  []run
	width float64
}

// wrap sets spans into lines at most width mm wide (ragged right, no
// hyphenation). Spaces separate words; "\n" forces a break; a word wider than
// a line is broken, after a '/' or '-' where it can be (so long addresses on
// the web break where a reader expects).
func (t textSetter) wrap(spans []span, size, width float64) []setLine {
	var (
		lines   []setLine
		cur     []span // pieces of the current line, merged by weight
		x       float64
		pending float64 // width of the space before the next word, if any
		spaceB  bool    // weight of that space
		word    []span  // pieces of the word being read
	)
	add := func(s string, bold bool) {
		if k := len(cur); k > 0 && cur[k-1].bold == bold {
			cur[k-1].text += s
		} else {
			cur = append(cur, span{s, bold})
		}
	}
	emit := func() {
		lines = append(lines, t.line(cur, size))
		cur, x, pending = nil, 0, 0
	}
	flushWord := func() {
		if len(word) == 0 {
			return
		}
		w := 0.0
		for _, p := range word {
			w += t.fs.width(p.text, p.bold, size)
		}
		if x > 0 && x+pending+w > width {
			emit()
		}
		if x == 0 && w > width {
			for _, chunk := range t.breakWord(word, size, width) {
				if x > 0 {
					emit()
				}
				for _, p := range chunk {
					add(p.text, p.bold)
					x += t.fs.width(p.text, p.bold, size)
				}
			}
		} else {
			if x > 0 && pending > 0 {
				add(" ", spaceB)
				x += pending
			}
			for _, p := range word {
				add(p.text, p.bold)
			}
			x += w
		}
		pending = 0
		word = word[:0]
	}
	for _, s := range spans {
		rest := s.text
		for rest != "" {
			i := strings.IndexAny(rest, " \n")
			if i < 0 {
				word = append(word, span{rest, s.bold})
				break
			}
			if i > 0 {
				word = append(word, span{rest[:i], s.bold})
			}
			flushWord()
			if rest[i] == '\n' {
				emit()
			} else if x > 0 {
				pending, spaceB = t.fs.width(" ", s.bold, size), s.bold
			}
			rest = rest[i+1:]
		}
	}
	flushWord()
	if len(cur) > 0 {
		emit()
	}
	// Drop blank lines at the end (a trailing hard break prints nothing).
	for len(lines) > 0 && len(lines[len(lines)-1].runs) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// breakWord cuts a word wider than width into chunks that fit, preferring to
// cut after '/', '-', '.', '?', '&' or '='.
func (t textSetter) breakWord(word []span, size, width float64) [][]span {
	type ch struct {
		r    rune
		bold bool
	}
	var chars []ch
	for _, p := range word {
		for _, r := range p.text {
			chars = append(chars, ch{r, p.bold})
		}
	}
	var chunks [][]span
	for len(chars) > 0 {
		x, cut, soft := 0.0, len(chars), -1
		for i, c := range chars {
			w := t.fs.width(string(c.r), c.bold, size)
			if x+w > width && i > 0 {
				cut = i
				break
			}
			x += w
			if strings.ContainsRune("/-.?&=", c.r) {
				soft = i + 1
			}
		}
		if cut < len(chars) && soft > 0 && soft < cut {
			cut = soft
		}
		var chunk []span
		for _, c := range chars[:cut] {
			if k := len(chunk); k > 0 && chunk[k-1].bold == c.bold {
				chunk[k-1].text += string(c.r)
			} else {
				chunk = append(chunk, span{string(c.r), c.bold})
			}
		}
		chunks = append(chunks, chunk)
		chars = chars[cut:]
	}
	return chunks
}

// text is the line's text.
func (l setLine) text() string {
	var b strings.Builder
	for _, r := range l.runs {
		b.WriteString(r.text)
	}
	return b.String()
}

func (t textSetter) line(pieces []span, size float64) setLine {
	l := setLine{runs: make([]run, 0, len(pieces))}
	for _, p := range pieces {
		l.runs = append(l.runs, run{dx: l.width, text: p.text, bold: p.bold})
		l.width += t.fs.width(p.text, p.bold, size)
	}
	return l
}

// lineOps draws a set line with its top-left corner at (x, top).
func (t textSetter) lineOps(dst []op, l setLine, size, x, top float64) []op {
	base := top + t.baseline(size)
	for _, r := range l.runs {
		dst = append(dst, op{kind: opText, x: x + r.dx, y: base, size: size, bold: r.bold, text: r.text})
	}
	return dst
}

// plainSpans is s as one span, for text without Markdown.
func plainSpans(s string, bold bool) []span {
	if s == "" {
		return nil
	}
	return []span{{text: s, bold: bold}}
}

// item is one unbreakable piece of a flow: a line of text, a rule, a box.
type item struct {
	h        float64 // height, mm
	before   float64 // space above it, dropped at the top of a region
	keepNext bool    // never separate it from the next item
	ops      []op    // relative to the item's top-left corner at the content's left edge
}

// textItems turns set lines into items, one per line, with orphan and widow
// control: the first two and the last two lines of a paragraph stay together.
func (t textSetter) textItems(lines []setLine, size, indent, before float64, keepAll bool) []item {
	adv := t.advance(size)
	items := make([]item, len(lines))
	for i, l := range lines {
		items[i] = item{h: adv, ops: t.lineOps(nil, l, size, indent, 0)}
		items[i].keepNext = keepAll || (len(lines) > 1 && (i == 0 || i == len(lines)-2))
	}
	if len(items) > 0 {
		items[0].before = before
	}
	return items
}

// region is a vertical stretch of a page that a flow can fill.
type region struct {
	top, bottom float64
	full        bool // as tall as a region ever gets (a continuation page)
}

// paginate places items into regions, page after page, and returns each
// page's operations (in page coordinates, x offset by left). A group of items
// tied by keepNext moves to the next region when it does not fit; a group
// taller than a full region is broken between items.
func paginate(items []item, left float64, regions func(page int) []region) [][]op {
	var pages [][]op
	page, ri := 0, 0
	regs := regions(0)
	pages = append(pages, nil)
	y, atTop := regs[0].top, true
	next := func() {
		ri++
		if ri >= len(regs) {
			page++
			ri = 0
			regs = regions(page)
			pages = append(pages, nil)
		}
		y, atTop = regs[ri].top, true
	}
	place := func(it item) {
		if !atTop {
			y += it.before
		}
		pages[page] = shift(pages[page], it.ops, left, y)
		y += it.h
		atTop = false
	}
	for i := 0; i < len(items); {
		j := i
		for j < len(items)-1 && items[j].keepNext {
			j++
		}
		h := 0.0
		for k := i; k <= j; k++ {
			if k > i || !atTop {
				h += items[k].before
			}
			h += items[k].h
		}
		r := regs[ri]
		switch {
		case y+h <= r.bottom+1e-6:
			for k := i; k <= j; k++ {
				place(items[k])
			}
			i = j + 1
		case !atTop || !r.full:
			next()
		default: // taller than any region: place item by item
			for k := i; k <= j; k++ {
				it := items[k]
				if !atTop && y+it.before+it.h > regs[ri].bottom+1e-6 {
					next()
				}
				place(it)
			}
			i = j + 1
		}
	}
	return pages
}

// truncateRunes shortens s to at most n runes, for error messages.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
