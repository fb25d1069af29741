package leaflet

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// RoundSheet is a volunteer's delivery round: the addresses to walk, in order.
type RoundSheet struct {
	Round     string // required, e.g. "Ward 3 – round 12"
	Volunteer string // a line to write a name on when empty
	Campaign  string
	Streets   []string
	Stops     []Stop // in walk order
}

// Stop is one address on a round.
type Stop struct {
	Address      string // one line; commas as the caller likes
	Notes        string // e.g. "Side gate; dog"; line breaks kept
	DoNotDeliver bool   // the resident asked for no leaflets: marked, no tick box
}

// Round sheet typography and geometry (A4 portrait, mm and pt).
const (
	rsMargin    = 15.0
	rsTitle     = 16.0
	rsBody      = 11.0
	rsSmall     = 10.0
	rsLeading   = 1.3
	rsNumW      = 9.0  // stop number column
	rsBoxW      = 12.0 // tick box column
	rsBox       = 5.0  // tick box side
	rsAddrW     = 82.0 // address column
	rsGutter    = 4.0
	rsRowPad    = 1.8
	rsLabelPadX = 1.2
)

// RenderRoundSheet writes a round sheet as an A4 PDF: on every page a header
// with the round's name, the volunteer, the campaign, "Page n of N" and the
// column headings; on the first page the streets and a count of stops; then
// each stop with its number, a tick box, the address and notes. A stop marked
// DoNotDeliver has a crossed-out box and a black "Do not deliver" label
// instead. A stop never splits across pages unless it is taller than a page.
func RenderRoundSheet(w io.Writer, s RoundSheet) error {
	fs, err := loadFontSet()
	if err != nil {
		return err
	}
	clean := func(s string) string {
		return strings.TrimSpace(cleanText(fs, s, false, replaceUnprintable))
	}
	round := clean(s.Round)
	if round == "" {
		return fmt.Errorf("round sheet: %w: Round is required", ErrInvalid)
	}
	rs := roundSetter{
		ts:        textSetter{fs: fs, leading: rsLeading},
		round:     round,
		volunteer: clean(s.Volunteer),
		campaign:  clean(s.Campaign),
		width:     210 - 2*rsMargin,
	}

	var items []item
	var streets []string
	for _, st := range s.Streets {
		if st = clean(st); st != "" {
			streets = append(streets, st)
		}
	}
	if len(streets) > 0 {
		items = append(items, rs.labelled("Streets: ", strings.Join(streets, ", "), rsBody)...)
	}
	dnd := 0
	for _, st := range s.Stops {
		if st.DoNotDeliver {
			dnd++
		}
	}
	summary := fmt.Sprintf("%d stops: %d to deliver, %d marked do not deliver.", len(s.Stops), len(s.Stops)-dnd, dnd)
	if len(s.Stops) == 1 {
		summary = strings.Replace(summary, "1 stops", "1 stop", 1)
	}
	sum := rs.ts.textItems(rs.ts.wrap(plainSpans(summary, false), rsBody, rs.width), rsBody, 0, 2, false)
	items = append(items, sum...)
	if len(items) > 0 {
		items[len(items)-1].h += 3
	}
	for i, st := range s.Stops {
		notes := strings.TrimSpace(cleanText(fs, st.Notes, true, replaceUnprintable))
		items = append(items, rs.row(i+1, clean(st.Address), notes, st.DoNotDeliver)...)
	}

	_, headerBottom := rs.header(1, 1)
	bottom := 297 - rsMargin
	pages := paginate(items, rsMargin, func(int) []region {
		return []region{{top: headerBottom, bottom: bottom, full: true}}
	})

	pdf, err := newDoc(210, 297, docInfo{title: "Round sheet: " + round, lang: "en-GB"})
	if err != nil {
		return err
	}
	for i, ops := range pages {
		pdf.AddPage()
		header, _ := rs.header(i+1, len(pages))
		pn := newPen(pdf)
		pn.draw(header, 0, 0)
		pn.draw(ops, 0, 0)
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("round sheet: lay out: %w", err)
	}
	return writeDoc(w, pdf, "en-GB")
}

type roundSetter struct {
	ts                         textSetter
	round, volunteer, campaign string
	width                      float64
}

// labelled is "Label: value" wrapped, the label in bold.
func (rs roundSetter) labelled(label, value string, size float64) []item {
	spans := []span{{text: label, bold: true}, {text: value}}
	return rs.ts.textItems(rs.ts.wrap(spans, size, rs.width), size, 0, 0, false)
}

// header draws page n of total's header and returns where the stops start.
func (rs roundSetter) header(n, total int) ([]op, float64) {
	ts := rs.ts
	var ops []op
	y := rsMargin
	folio := "Page " + strconv.Itoa(n) + " of " + strconv.Itoa(total)
	folioW := ts.fs.width(folio, false, rsSmall)
	reserve := ts.fs.width("Page 0000 of 0000", false, rsSmall) + 5
	for i, l := range ts.wrap(plainSpans(rs.round, true), rsTitle, rs.width-reserve) {
		ops = ts.lineOps(ops, l, rsTitle, rsMargin, y)
		if i == 0 {
			base := y + ts.baseline(rsTitle)
			ops = append(ops, op{kind: opText, x: rsMargin + rs.width - folioW, y: base, size: rsSmall, text: folio})
		}
		y += ts.advance(rsTitle)
	}
	volunteer := rs.volunteer
	if volunteer == "" {
		volunteer = "______________________________"
	}
	lines := []struct{ label, value string }{{"Volunteer: ", volunteer}}
	if rs.campaign != "" {
		lines = append(lines, struct{ label, value string }{"Campaign: ", rs.campaign})
	}
	for _, l := range lines {
		for _, sl := range ts.wrap([]span{{text: l.label, bold: true}, {text: l.value}}, rsBody, rs.width) {
			ops = ts.lineOps(ops, sl, rsBody, rsMargin, y)
			y += ts.advance(rsBody)
		}
	}
	y += 1.5
	ops = append(ops, op{kind: opLine, x: rsMargin, y: y, w: rsMargin + rs.width, h: y, lw: 0.4})
	y += 1
	// Column headings.
	x := rsMargin
	for _, c := range []struct {
		text string
		w    float64
	}{{"No.", rsNumW}, {"Done", rsBoxW}, {"Address", rsAddrW + rsGutter}, {"Notes", 0}} {
		ops = ts.lineOps(ops, setLine{runs: []run{{text: c.text, bold: true}}}, rsSmall, x, y)
		x += c.w
	}
	y += ts.advance(rsSmall) + 0.5
	ops = append(ops, op{kind: opLine, x: rsMargin, y: y, w: rsMargin + rs.width, h: y, lw: 0.2})
	return ops, y + 1
}

// row lays out one stop as items, one per text line, kept together.
func (rs roundSetter) row(n int, address, notes string, dnd bool) []item {
	ts := rs.ts
	addrX := rsNumW + rsBoxW
	notesX := addrX + rsAddrW + rsGutter
	notesW := rs.width - notesX
	addr := ts.wrap(plainSpans(address, true), rsBody, rsAddrW)
	if len(addr) == 0 {
		addr = []setLine{{}}
	}
	var note []setLine
	if notes != "" {
		note = ts.wrap(plainSpans(notes, false), rsSmall, notesW)
	}
	labelLines := 0
	if dnd {
		labelLines = 1
	}
	count := max(len(addr), len(note)+labelLines)
	adv := max(ts.advance(rsBody), ts.advance(rsSmall))
	items := make([]item, count)
	for i := range items {
		it := &items[i]
		it.h = adv
		it.keepNext = i < count-1
		top := 0.0
		if i == 0 {
			top = rsRowPad
			it.h += rsRowPad
			num := strconv.Itoa(n) + "."
			nw := ts.fs.width(num, false, rsBody)
			it.ops = ts.lineOps(it.ops, setLine{runs: []run{{text: num}}}, rsBody, rsNumW-2-nw, top)
			bx, by := rsNumW+1.5, top+(adv-rsBox)/2
			it.ops = append(it.ops, op{kind: opRect, x: bx, y: by, w: rsBox, h: rsBox, lw: 0.35})
			if dnd {
				it.ops = append(it.ops,
					op{kind: opLine, x: bx, y: by, w: bx + rsBox, h: by + rsBox, lw: 0.35},
					op{kind: opLine, x: bx + rsBox, y: by, w: bx, h: by + rsBox, lw: 0.35})
				label := "Do not deliver"
				lw := ts.fs.width(label, true, rsSmall) + 2*rsLabelPadX
				it.ops = append(it.ops, op{kind: opFill, x: notesX, y: top + 0.3, w: lw, h: adv - 0.6})
				it.ops = append(it.ops, op{kind: opText, x: notesX + rsLabelPadX, y: top + ts.baseline(rsSmall) + (adv-ts.advance(rsSmall))/2, size: rsSmall, bold: true, white: true, text: label})
			}
		}
		if i < len(addr) {
			it.ops = ts.lineOps(it.ops, addr[i], rsBody, addrX, top)
		}
		if k := i - labelLines; k >= 0 && k < len(note) {
			it.ops = ts.lineOps(it.ops, note[k], rsSmall, notesX, top+(adv-ts.advance(rsSmall))/2)
		}
		if i == count-1 {
			it.h += rsRowPad
			it.ops = append(it.ops, op{kind: opLine, x: 0, y: it.h, w: rs.width, h: it.h, lw: 0.1})
		}
	}
	return items
}
