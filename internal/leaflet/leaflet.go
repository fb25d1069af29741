package leaflet

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jung-kurt/gofpdf"
	"golang.org/x/text/language"
)

// Format is the paper layout of a leaflet run.
type Format string

const (
	// A4 is one leaflet per A4 portrait page.
	A4 Format = "a4"
	// A5 is two A5 leaflets side by side on each A4 landscape sheet, with
	// cut marks at the midline.
	A5 Format = "a5"
	// Large is large print: A4 portrait, 16 pt body text, headings of 24 pt
	// and more, nothing smaller than 14 pt, black on white.
	Large Format = "large"
)

// ParseFormat reads a format name ("a4", "A5", "large"), as a user might type it.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case A4, A5, Large:
		return f, nil
	}
	return "", fmt.Errorf("%w: unknown leaflet format %q (want a4, a5 or large)", ErrInvalid, s)
}

// Content is what a leaflet says. All text is UTF-8.
type Content struct {
	CampaignName string // names the campaign in errors; not printed
	Title        string // required; also the PDF's title
	// Body is Markdown. Headings (# and ##; deeper levels print as minor
	// headings), paragraphs, bullet and numbered lists and **bold** are
	// honoured; anything else prints as plain text and is never dropped: a
	// link prints its text and its address, an image its description and
	// address, code and raw HTML their source.
	Body         string
	Lang         string // BCP 47 tag, e.g. "en", "cy"; the PDF's /Lang. "en" when empty
	OrgName      string // printed in the masthead (none when empty); the PDF's author
	LogoPNG      []byte // optional PNG logo, embedded once
	Contact      string // contact block, one line per line (address, phone, email)
	CallToAction string // e.g. "Text 1 or 2 to 07700 900999"
	QRURL        string // optional http(s) address of the campaign's page: one QR image, embedded once, on every leaflet
	// Addressee is printed in the address panel when a recipient has no name:
	// "To the resident" when empty (set it for leaflets in other languages).
	Addressee string
	// Back, if set, is the same leaflet in a second language, laid out on pages of its
	// own after this one's (a bilingual leaflet: Welsh on the front, English on the back
	// when printed double-sided on A4; side by side on one A4 sheet in A5). It carries
	// no address panel; its logo and QR code are this leaflet's.
	Back *Content
}

// Recipient is one resident a personalised leaflet is addressed to.
type Recipient struct {
	Name  string   // "To the resident" (Content.Addressee) when empty
	Lines []string // address lines in order, e.g. "Flat 2", "12 Acre Lane", "London", "SW2 5SG"
}

// Options control a leaflet run.
type Options struct {
	Format Format // A4 when empty
	// Personalised prints one leaflet per recipient, each with an address
	// panel. Otherwise the leaflets are identical, with no address panel:
	// Copies of them, or, when Copies is 0, one per recipient (so a walk
	// list can be printed unaddressed), or just one.
	Personalised bool
	Copies       int // unpersonalised runs only
	// Progress, if set, is called as leaflets are laid out: at least once per
	// hundredth of the run and always with done == total. Writing the
	// finished file follows the last call.
	Progress func(done, total int)
}

// Errors, for errors.Is. Every problem with the content, the recipients or
// the options wraps ErrInvalid.
var (
	ErrInvalid     = errors.New("invalid leaflet")
	ErrUnprintable = errors.New("characters the leaflet font cannot print")
)

const (
	maxQRURL   = 256       // bytes; longer codes get too dense to scan at leaflet size
	maxOrgName = 100       // characters: three lines of the masthead at most
	maxCopies  = 1_000_000 // leaflets in one run
	defaultTo  = "To the resident"
	defaultLng = "en"
)

var mergeField = regexp.MustCompile(`\{\{[^{}]*\}\}`)

// Render writes one PDF: one leaflet per recipient in the order given (the
// caller's walk order), or, unpersonalised, identical leaflets (see
// [Options.Copies]).
//
// The static design is laid out once and stored once in the file, as one PDF
// form XObject per leaflet page, and every leaflet refers to it; only the
// address panel is set per leaflet. Fonts are embedded once (subset), the
// logo and the QR code once each, so the file grows by a few hundred bytes
// per leaflet.
//
// Invalid content, recipients or options give an error wrapping [ErrInvalid]
// (and [ErrUnprintable] for characters the font lacks) before anything is
// written. Render is safe for concurrent use.
func Render(w io.Writer, c Content, recipients []Recipient, opts Options) error {
	format := opts.Format
	if format == "" {
		format = A4
	}
	g, st, err := formatSpec(format)
	if err != nil {
		return err
	}
	fs, err := loadFontSet()
	if err != nil {
		return err
	}
	name := c.CampaignName
	if name == "" {
		name = c.Title
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("leaflet %q: %w: "+format, append([]any{truncateRunes(name, 60), ErrInvalid}, args...)...)
	}

	total := len(recipients)
	switch {
	case opts.Personalised && total == 0:
		return fail("a personalised run needs recipients")
	case opts.Personalised && opts.Copies != 0:
		return fail("Copies is for unpersonalised runs; a personalised run prints one leaflet per recipient")
	case opts.Copies < 0 || opts.Copies > maxCopies:
		return fail("Copies must be between 1 and %d, not %d", maxCopies, opts.Copies)
	case !opts.Personalised && opts.Copies > 0 && total > 0 && opts.Copies != total:
		return fail("Copies (%d) differs from the number of recipients (%d)", opts.Copies, total)
	case !opts.Personalised:
		total = max(opts.Copies, total, 1)
	}
	if total > maxCopies {
		return fail("%d leaflets in one run; at most %d", total, maxCopies)
	}
	if opts.Personalised {
		for i, r := range recipients {
			if !slices.ContainsFunc(r.Lines, func(l string) bool { return strings.TrimSpace(l) != "" }) {
				return fail("recipient %d (of %d) has no address lines", i+1, total)
			}
		}
	}

	lc, lang, err := prepareContent(fs, c, fail)
	if err != nil {
		return err
	}

	// Lay out the design once: the front's pages, then the back's.
	pages, cp, err := layOut(fs, g, st, format, lc, opts.Personalised)
	if err != nil {
		return fail("%w", err)
	}
	if c.Back != nil {
		back := *c.Back
		back.Back, back.QRURL, back.LogoPNG = nil, c.QRURL, c.LogoPNG
		lb, _, err := prepareContent(fs, back, func(format string, args ...any) error {
			return fail("the back (%s): "+format, append([]any{back.Lang}, args...)...)
		})
		if err != nil {
			return err
		}
		backPages, _, err := layOut(fs, g, st, format, lb, false)
		if err != nil {
			return fail("the back (%s): %w", back.Lang, err)
		}
		pages = append(pages, backPages...)
	}

	pdf, err := newDoc(g.sheetW, g.sheetH, docInfo{title: lc.title, author: lc.org, lang: lang})
	if err != nil {
		return err
	}
	if lc.qrURL != "" {
		data, err := qrPNG(lc.qrURL)
		if err != nil {
			return fail("%v", err)
		}
		if err := registerPNG(pdf, imageQR, data); err != nil {
			return err
		}
	}
	if lc.logo != nil {
		if err := registerPNG(pdf, imageLogo, lc.logo.png); err != nil {
			return err
		}
	}
	tpls := make([]template, len(pages))
	for i, ops := range pages {
		if tpls[i], err = newTemplate(pdf, "L"+strconv.Itoa(i+1), g.pageW, g.pageH, ops); err != nil {
			return err
		}
	}

	// Place the leaflets: page after page of each, filling the sheet's slots.
	step := max(1, total/100)
	slot := 0 // leaflet pages placed so far
	var addr []op
	var pn *pen
	for i := range total {
		for k, t := range tpls {
			s := slot % g.perSheet
			if s == 0 {
				pdf.AddPage()
				pn = newPen(pdf)
				if g.perSheet == 2 {
					pn.draw(cutMarks(g), 0, 0)
				}
			}
			dx := float64(s) * g.pageW
			pdf.UseTemplateScaled(t, gofpdf.PointType{X: dx}, gofpdf.SizeType{Wd: g.pageW, Ht: g.pageH})
			if k == 0 && opts.Personalised {
				to, lines := recipientText(fs, recipients[i], lc.addressee)
				addr = cp.address(addr[:0], to, lines)
				pn.draw(addr, dx, 0)
			}
			slot++
		}
		if opts.Progress != nil && ((i+1)%step == 0 || i+1 == total) {
			opts.Progress(i+1, total)
		}
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("leaflet: lay out: %w", err)
	}
	return writeDoc(w, pdf, lang)
}

// layOut lays out the design of one leaflet's content once. A5 tightens its type a
// little (to 90%) rather than spill onto a second A5; if it still does not fit it
// continues, at full size, on the next A5.
func layOut(fs *fontSet, g geometry, st style, format Format, lc *leafletContent, personalised bool) ([][]op, *composer, error) {
	var pages [][]op
	var cp *composer
	var err error
	scales := []float64{1}
	if format == A5 {
		scales = []float64{1, 0.95, 0.9}
	}
	for _, k := range scales {
		cp = newComposer(fs, g, st.scaled(k), lc, personalised)
		if pages, err = cp.pages(); err != nil {
			return nil, nil, err
		}
		if len(pages) == 1 {
			break
		}
	}
	if len(pages) > 1 && len(scales) > 1 {
		cp = newComposer(fs, g, st, lc, personalised)
		if pages, err = cp.pages(); err != nil {
			return nil, nil, err
		}
	}
	return pages, cp, nil
}

// recipientText is a recipient's name (or the default addressee) and address
// lines, made printable: trimmed, empty lines dropped.
func recipientText(fs *fontSet, r Recipient, addressee string) (string, []string) {
	to := strings.TrimSpace(cleanText(fs, r.Name, false, replaceUnprintable))
	if to == "" {
		to = addressee
	}
	lines := make([]string, 0, len(r.Lines))
	for _, l := range r.Lines {
		if l = strings.TrimSpace(cleanText(fs, l, false, replaceUnprintable)); l != "" {
			lines = append(lines, l)
		}
	}
	return to, lines
}

// replaceUnprintable stands in for a character in recipient data the font
// cannot print: a leaflet with "?" in a name is better than no leaflet.
func replaceUnprintable(rune) string { return "?" }

// cutMarks are the A5 sheet's crop marks: short lines at the midline in the
// top and bottom margins, clear of both leaflets' print and of the edge most
// printers cannot reach.
func cutMarks(g geometry) []op {
	x := g.pageW
	const lw = 0.2
	return []op{
		{kind: opLine, x: x, y: 3, w: x, h: 9, lw: lw},
		{kind: opLine, x: x, y: g.sheetH - 9, w: x, h: g.sheetH - 3, lw: lw},
	}
}

func formatSpec(f Format) (geometry, style, error) {
	switch f {
	case A4:
		return geometryA4, styleA4, nil
	case A5:
		return geometryA5, styleA5, nil
	case Large:
		return geometryLarge, styleLarge, nil
	}
	return geometry{}, style{}, fmt.Errorf("%w: unknown leaflet format %q (want a4, a5 or large)", ErrInvalid, f)
}

// prepareContent checks c and makes its text printable. Characters the font
// cannot print are an error naming the field, so the officer can fix the text
// before thousands of leaflets print with gaps.
func prepareContent(fs *fontSet, c Content, fail func(string, ...any) error) (*leafletContent, string, error) {
	var errs []error
	field := func(name, s string, keepNewlines bool) string {
		var bad unprintable
		out := cleanText(fs, s, keepNewlines, bad.add)
		if len(bad.runes) > 0 {
			errs = append(errs, fmt.Errorf("%s: %w: %s", name, ErrUnprintable, bad.String()))
		}
		if m := mergeField.FindString(s); m != "" {
			errs = append(errs, fmt.Errorf("%s: merge field %s: leaflets are personalised only by their address panel", name, m))
		}
		return out
	}
	lc := &leafletContent{
		title:     strings.TrimSpace(field("Title", c.Title, false)),
		org:       strings.TrimSpace(field("OrgName", c.OrgName, false)),
		cta:       strings.TrimSpace(field("CallToAction", c.CallToAction, false)),
		addressee: strings.TrimSpace(field("Addressee", c.Addressee, false)),
	}
	if lc.addressee == "" {
		lc.addressee = defaultTo
	}
	if lc.title == "" {
		errs = append(errs, errors.New("Title is required"))
	}
	if n := utf8.RuneCountInString(lc.org); n > maxOrgName {
		errs = append(errs, fmt.Errorf("OrgName is %d characters; at most %d fit the masthead", n, maxOrgName))
	}
	for _, l := range strings.Split(field("Contact", c.Contact, true), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lc.contact = append(lc.contact, l)
		}
	}
	lc.blocks = parseBody(c.Body)
	var bad unprintable
	for i := range lc.blocks {
		for k := range lc.blocks[i].spans {
			sp := &lc.blocks[i].spans[k]
			sp.text = cleanText(fs, sp.text, true, bad.add)
		}
	}
	if len(bad.runes) > 0 {
		errs = append(errs, fmt.Errorf("Body: %w: %s", ErrUnprintable, bad.String()))
	}
	if m := mergeField.FindString(c.Body); m != "" {
		errs = append(errs, fmt.Errorf("Body: merge field %s: leaflets are personalised only by their address panel", m))
	}

	if u := strings.TrimSpace(c.QRURL); u != "" {
		parsed, err := url.Parse(u)
		switch {
		case err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "":
			errs = append(errs, fmt.Errorf("QRURL %q: want an absolute http or https address", truncateRunes(u, 80)))
		case len(u) > maxQRURL:
			errs = append(errs, fmt.Errorf("QRURL is %d bytes; at most %d scan reliably at leaflet size (use a shorter link)", len(u), maxQRURL))
		default:
			lc.qrURL = field("QRURL", u, false)
		}
	}

	lang := defaultLng
	if s := strings.TrimSpace(c.Lang); s != "" {
		tag, err := language.Parse(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("Lang %q: not a BCP 47 language tag", truncateRunes(s, 40)))
		} else {
			lang = tag.String()
		}
	}

	if len(c.LogoPNG) > 0 {
		logo, err := prepareLogo(c.LogoPNG)
		if err != nil {
			errs = append(errs, err)
		}
		lc.logo = logo
	}
	if len(errs) > 0 {
		return nil, "", fail("%w", errors.Join(errs...))
	}
	return lc, lang, nil
}
