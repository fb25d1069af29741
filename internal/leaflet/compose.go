package leaflet

import (
	"errors"
	"strconv"
)

// addressLeading is the address panel's line advance, as a multiple of its size.
const addressLeading = 1.2

// rect is an area of a page, in mm.
type rect struct{ x, y, w, h float64 }

// geometry is where things go on one format's pages, in mm.
type geometry struct {
	sheetW, sheetH float64 // the printed sheet
	pageW, pageH   float64 // one leaflet page (a half sheet for A5)
	perSheet       int     // leaflet pages per sheet side
	left, right    float64 // margins
	top, bottom    float64
	window         rect    // the DL envelope window the address panel must show through
	clear          float64 // kept free of other print above and below the window
	addressInset   float64 // text inside the window keeps this far from its edges
	logoH, logoW   float64 // the logo's height and maximum width
	qr             float64 // the QR code's side, quiet zone included
}

// style is one format's typography: sizes in points, distances in mm.
type style struct {
	body, title, h1, h2, h3 float64
	cta, url, contact, org  float64
	folio                   float64 // "1/2" on leaflets longer than one page
	address                 float64 // the address panel's preferred size
	smallest                float64 // the smallest type the format allows
	leading                 float64
	paraGap, itemGap        float64
	rule, border            float64 // line widths
	boxPad                  float64
}

// The three formats. A4 and large print are A4 portrait leaflets; A5 leaflets
// are printed two to an A4 landscape sheet, side by side, each in a 148.5 mm
// wide half (the sheet is cut along the midline).
//
// The address window: a UK DL window envelope is 220 × 110 mm, its 90 × 35 mm
// window 20 mm from the left edge and 15 mm from the bottom, so 60–95 mm from
// the top. An A4 sheet folded in three has 99 mm panels and settles to the
// bottom of the envelope, 11 mm below its top edge: the window shows 49–84 mm
// from the top of the sheet (within the usual 45–50 mm for a UK letter's
// address), 20–110 mm from its left. An A5 leaflet folded once, printed side
// out, is 148 × 105 mm and settles 5 mm below the envelope's top: the window
// shows 55–90 mm from the top of the leaflet. Sideways, the folded A5 is
// assumed to sit against the envelope's left edge: the envelope is 72 mm wider,
// and no placement could show through the window wherever it slides. The
// window's surroundings (clear, above and below) carry no other print, so
// nothing else shows through when the sheet rides up in the envelope.
var (
	geometryA4 = geometry{
		sheetW: 210, sheetH: 297, pageW: 210, pageH: 297, perSheet: 1,
		left: 20, right: 20, top: 15, bottom: 15,
		window: rect{20, 49, 90, 35}, clear: 5, addressInset: 4,
		logoH: 16, logoW: 55, qr: 30,
	}
	geometryA5 = geometry{
		sheetW: 297, sheetH: 210, pageW: 148.5, pageH: 210, perSheet: 2,
		left: 12, right: 12, top: 12, bottom: 12,
		window: rect{20, 55, 90, 35}, clear: 4, addressInset: 3,
		logoH: 12, logoW: 42, qr: 25,
	}
	geometryLarge = geometry{
		sheetW: 210, sheetH: 297, pageW: 210, pageH: 297, perSheet: 1,
		left: 20, right: 20, top: 15, bottom: 15,
		window: rect{20, 49, 90, 35}, clear: 5, addressInset: 2,
		logoH: 18, logoW: 50, qr: 35,
	}

	styleA4 = style{
		body: 11, title: 22, h1: 18, h2: 14, h3: 11,
		cta: 13, url: 9, contact: 10, org: 12, folio: 8,
		address: 11, smallest: 8,
		leading: 1.35, paraGap: 3, itemGap: 1,
		rule: 0.3, border: 0.6, boxPad: 4,
	}
	styleA5 = style{
		body: 10, title: 17, h1: 14, h2: 12, h3: 10,
		cta: 11.5, url: 8, contact: 8.5, org: 10, folio: 7,
		address: 10, smallest: 8,
		leading: 1.3, paraGap: 2.4, itemGap: 0.8,
		rule: 0.25, border: 0.5, boxPad: 3,
	}
	// Large print (RNIB clear and large print guidance): 16 pt body, headings of
	// 24 pt and more, nothing under 14 pt, black on white, generous leading.
	styleLarge = style{
		body: 16, title: 32, h1: 28, h2: 24, h3: 24,
		cta: 20, url: 14, contact: 16, org: 18, folio: 14,
		address: 16, smallest: 14,
		leading: 1.5, paraGap: 5, itemGap: 2,
		rule: 0.5, border: 1, boxPad: 5,
	}
)

// heading is the size of a level 1, 2 or 3 heading.
func (s style) heading(level int) float64 {
	switch level {
	case 1:
		return s.h1
	case 2:
		return s.h2
	}
	return s.h3
}

// scaled returns the style with the text, heading and call-to-action sizes
// multiplied by k (A5 tightens a little before it spills onto a second page;
// the small print, the address and the QR code's address keep their size).
func (s style) scaled(k float64) style {
	for _, p := range []*float64{&s.body, &s.title, &s.h1, &s.h2, &s.h3, &s.cta, &s.org} {
		*p *= k
	}
	return s
}

// leafletContent is a leaflet's checked, printable content.
type leafletContent struct {
	title     string
	blocks    []block
	org       string
	contact   []string
	cta       string
	qrURL     string
	logo      *logoImage
	addressee string
}

// composer lays out one leaflet design.
type composer struct {
	g  geometry
	st style
	ts textSetter
	at textSetter // the address panel: tighter leading, addresses are short lines
	c  *leafletContent
	// personalised leaflets keep the address window's band free of content.
	personalised bool
}

func newComposer(fs *fontSet, g geometry, st style, c *leafletContent, personalised bool) *composer {
	return &composer{
		g: g, st: st, c: c, personalised: personalised,
		ts: textSetter{fs: fs, leading: st.leading},
		at: textSetter{fs: fs, leading: addressLeading},
	}
}

func (cp *composer) contentWidth() float64 { return cp.g.pageW - cp.g.left - cp.g.right }

// errTooTall is returned when a part of the leaflet that cannot be split (the
// response panel) is taller than a page.
var errTooTall = errors.New("the call to action, contact block and QR code are too long to fit on one page")

// pages lays the leaflet out: each page's static operations, in leaflet page
// coordinates. The first page carries the masthead; on a personalised leaflet
// its content flows above and below the address window's band.
func (cp *composer) pages() ([][]op, error) {
	header, headerBottom := cp.header()
	items := cp.items()
	full := cp.g.pageH - cp.g.top - cp.g.bottom - cp.ts.advance(cp.st.folio) - 1
	for _, it := range items {
		if it.h > full {
			return nil, errTooTall
		}
	}
	pages := cp.paginate(items, headerBottom, false)
	if len(pages) > 1 {
		// Leave room for the page numbers and lay out again.
		pages = cp.paginate(items, headerBottom, true)
	}
	pages[0] = append(header, pages[0]...)
	if n := len(pages); n > 1 {
		for i := range pages {
			folio := strconv.Itoa(i+1) + "/" + strconv.Itoa(n)
			w := cp.ts.fs.width(folio, false, cp.st.folio)
			y := cp.g.pageH - cp.g.bottom - cp.ts.fs.regular.descent*cp.st.folio*ptToMM
			pages[i] = append(pages[i], op{kind: opText, x: cp.g.pageW - cp.g.right - w, y: y, size: cp.st.folio, text: folio})
		}
	}
	return pages, nil
}

func (cp *composer) paginate(items []item, headerBottom float64, folio bool) [][]op {
	bottom := cp.g.pageH - cp.g.bottom
	if folio {
		bottom -= cp.ts.advance(cp.st.folio) + 1
	}
	first := []region{{top: headerBottom, bottom: bottom}}
	if cp.personalised {
		w := cp.g.window
		first = []region{
			{top: headerBottom, bottom: w.y - cp.g.clear},
			{top: w.y + w.h + cp.g.clear, bottom: bottom},
		}
	}
	rest := []region{{top: cp.g.top, bottom: bottom, full: true}}
	return paginate(items, cp.g.left, func(page int) []region {
		if page == 0 {
			return first
		}
		return rest
	})
}

// header is the first page's masthead: the logo, the organisation's name
// beside it, and a rule beneath. It returns the operations and where the
// content below may start. On a personalised leaflet the masthead must end
// above the address window's clear zone: a long name is set smaller (not
// below the format's smallest type) until it does.
func (cp *composer) header() ([]op, float64) {
	var ops []op
	x, top := cp.g.left, cp.g.top
	h := 0.0
	if l := cp.c.logo; l != nil {
		lh := cp.g.logoH
		lw := lh * float64(l.w) / float64(l.h)
		if lw > cp.g.logoW {
			lw, lh = cp.g.logoW, cp.g.logoW*float64(l.h)/float64(l.w)
		}
		ops = append(ops, op{kind: opImage, x: x, y: top, w: lw, h: lh, text: imageLogo})
		x += lw + 4
		h = lh
	}
	if cp.c.org != "" {
		ts := cp.at // masthead lines are short: tight leading
		limit := cp.g.pageH
		if cp.personalised {
			limit = cp.g.window.y - cp.g.clear - 5
		}
		var lines []setLine
		size := cp.st.org
		for ; ; size -= 0.5 {
			lines = ts.wrap(plainSpans(cp.c.org, true), size, cp.g.pageW-cp.g.right-x)
			if top+float64(len(lines))*ts.advance(size) <= limit || size-0.5 < cp.st.smallest {
				break
			}
		}
		th := float64(len(lines)) * ts.advance(size)
		y := top + max(0, (h-th)/2)
		for i, l := range lines {
			ops = ts.lineOps(ops, l, size, x, y+float64(i)*ts.advance(size))
		}
		h = max(h, th)
	}
	if len(ops) == 0 {
		return nil, cp.g.top
	}
	ruleY := top + h + 2
	ops = append(ops, op{kind: opLine, x: cp.g.left, y: ruleY, w: cp.g.pageW - cp.g.right, h: ruleY, lw: cp.st.rule})
	return ops, ruleY + 3
}

// items is the leaflet's flow: title, body, and the response panel (call to
// action, contact block, QR code).
func (cp *composer) items() []item {
	st, ts, width := cp.st, cp.ts, cp.contentWidth()
	var items []item

	title := ts.textItems(ts.wrap(plainSpans(cp.c.title, true), st.title, width), st.title, 0, 0, true)
	if cp.personalised && len(title) > 0 {
		// The title may stand alone above the address window, like a letter's heading.
		title[len(title)-1].keepNext = false
	}
	items = append(items, title...)

	step := ts.fs.width("00.", false, st.body) + 2.5
	for i, b := range cp.c.blocks {
		indent := float64(b.indent) * step
		before := st.paraGap
		if b.tight {
			before = st.itemGap
		}
		var its []item
		switch b.kind {
		case blockHeading:
			size := st.heading(b.level)
			spans := make([]span, len(b.spans))
			for k, s := range b.spans {
				spans[k] = span{s.text, true}
			}
			its = ts.textItems(ts.wrap(spans, size, width-indent), size, indent, st.paraGap*1.6, true)
			if i == len(cp.c.blocks)-1 && len(its) > 0 {
				its[len(its)-1].keepNext = false
			}
		case blockPara, blockCode:
			lines := ts.wrap(b.spans, st.body, width-indent)
			if len(lines) == 0 && b.marker != "" {
				lines = []setLine{{}}
			}
			its = ts.textItems(lines, st.body, indent, before, false)
		case blockRule:
			h := st.paraGap * 2
			its = []item{{h: h, before: before, ops: []op{{kind: opLine, x: indent, y: h / 2, w: width, h: h / 2, lw: st.rule}}}}
		}
		if b.marker != "" && len(its) > 0 {
			mw := ts.fs.width(b.marker, false, st.body)
			its[0].ops = ts.lineOps(its[0].ops, setLine{runs: []run{{text: b.marker}}}, st.body, indent-mw-1.5, 0)
		}
		items = append(items, its...)
	}
	if len(items) > len(title) {
		items[len(title)].before = st.paraGap * 1.5
	} else if len(title) > 0 {
		items[len(title)-1].keepNext = false
	}

	if panel, ok := cp.responsePanel(); ok {
		panel.before = st.paraGap * 2
		items = append(items, panel)
	}
	return items
}

// responsePanel is the boxed "how to respond" panel that ends the leaflet:
// on the left the call to action (bold) with the contact block under it, on
// the right the QR code, and under the code its address, right-aligned (set
// lower if the text beside the code is taller than it). With only a QR code,
// the code and its address sit on the left.
func (cp *composer) responsePanel() (item, bool) {
	st, ts, width := cp.st, cp.ts, cp.contentWidth()
	c := cp.c
	if c.cta == "" && c.qrURL == "" && len(c.contact) == 0 {
		return item{}, false
	}
	pad := st.boxPad
	inner := width - 2*pad
	qr := 0.0
	leftW := inner
	if c.qrURL != "" {
		qr = cp.g.qr
		leftW = inner - qr - 4
	}

	var ops []op
	var cta, contact []setLine
	if c.cta != "" {
		cta = ts.wrap(plainSpans(c.cta, true), st.cta, leftW)
	}
	for _, l := range c.contact {
		contact = append(contact, ts.wrap(plainSpans(l, false), st.contact, leftW)...)
	}
	leftH := float64(len(cta))*ts.advance(st.cta) + float64(len(contact))*ts.advance(st.contact)
	if len(cta) > 0 && len(contact) > 0 {
		leftH += st.paraGap
	}
	topH := max(leftH, qr)
	y := pad + (topH-leftH)/2 // centred beside the code
	for _, l := range cta {
		ops = ts.lineOps(ops, l, st.cta, pad, y)
		y += ts.advance(st.cta)
	}
	if len(cta) > 0 && len(contact) > 0 {
		y += st.paraGap
	}
	for _, l := range contact {
		ops = ts.lineOps(ops, l, st.contact, pad, y)
		y += ts.advance(st.contact)
	}
	h := pad + topH + pad
	if qr > 0 {
		left := len(cta) == 0 && len(contact) == 0
		qx := width - pad - qr
		if left {
			qx = pad
		}
		ops = append(ops, op{kind: opImage, x: qx, y: pad, w: qr, h: qr, text: imageQR})
		y := pad + topH + 1
		for _, l := range ts.wrap(plainSpans(c.qrURL, false), st.url, inner) {
			x := width - pad - l.width
			if left {
				x = pad
			}
			ops = ts.lineOps(ops, l, st.url, x, y)
			y += ts.advance(st.url)
		}
		h = y + pad
	}
	ops = append(ops, op{kind: opRect, x: 0, y: 0, w: width, h: h, lw: st.border})
	return item{h: h, ops: ops}, true
}

// address sets one recipient's address panel inside the window, in leaflet
// page coordinates. Lines keep their order. The lines start at the same
// height on every leaflet unless the address is too long for that. The type starts at the style's
// address size and shrinks, no further than the format's smallest, until the
// lines fit. If they still do not, lines wider than the window break between
// words, then whole middle lines are joined with commas (the addressee and
// the last line, the postcode, always keep lines of their own), and as a last
// resort the type shrinks further rather than lose part of an address.
func (cp *composer) address(dst []op, name string, lines []string) []op {
	type line struct {
		text  string
		whole bool // an entire address line, not a piece of a broken one
	}
	all := make([]line, 0, len(lines)+1)
	all = append(all, line{name, false}) // never joined
	for i, l := range lines {
		all = append(all, line{l, i < len(lines)-1})
	}
	ts := cp.at
	box := cp.g.window
	inset := cp.g.addressInset
	maxW, maxH := box.w-2*inset, box.h-2*inset
	fits := func(ls []line, size float64) bool {
		if float64(len(ls))*ts.advance(size) > maxH+1e-6 {
			return false
		}
		for _, l := range ls {
			if ts.fs.width(l.text, false, size) > maxW {
				return false
			}
		}
		return true
	}
	// rearrange breaks lines wider than the window between words, then joins
	// the narrowest pair of whole middle lines until the lines fit its height.
	rearrange := func(size float64) []line {
		var out []line
		for _, l := range all {
			if ts.fs.width(l.text, false, size) <= maxW {
				out = append(out, l)
				continue
			}
			for _, sl := range ts.wrap(plainSpans(l.text, false), size, maxW) {
				out = append(out, line{sl.text(), false})
			}
		}
		for float64(len(out))*ts.advance(size) > maxH+1e-6 {
			best, bestW := -1, 0.0
			for i := 1; i+1 < len(out); i++ {
				if !out[i].whole || !out[i+1].whole {
					continue
				}
				w := ts.fs.width(out[i].text+", "+out[i+1].text, false, size)
				if w <= maxW && (best < 0 || w < bestW) {
					best, bestW = i, w
				}
			}
			if best < 0 {
				break
			}
			out[best].text += ", " + out[best+1].text
			out = append(out[:best+1], out[best+2:]...)
		}
		return out
	}
	const floor = 4.0 // pt: a last resort no real address reaches
	size, set := cp.st.address, all
	for ; size > floor; size -= 0.5 {
		if fits(all, size) {
			set = all
			break
		}
		if size <= cp.st.smallest {
			if set = rearrange(size); fits(set, size) {
				break
			}
		}
	}
	if size <= floor {
		size, set = floor, rearrange(floor)
	}
	all = set
	// Every address starts at the same height, that of a centred five-line
	// block, so a run looks even (and text extraction reads side-by-side A5
	// leaflets left before right); a longer address starts higher.
	adv := ts.advance(size)
	y := box.y + max(inset, (box.h-5*adv)/2)
	y = min(y, box.y+box.h-inset-float64(len(all))*adv)
	for _, l := range all {
		dst = append(dst, op{kind: opText, x: box.x + inset, y: y + ts.baseline(size), size: size, text: l.text})
		y += adv
	}
	return dst
}
