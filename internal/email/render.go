// Package email renders e-bulletins and checks their wording.
//
// An officer writes a campaign once, in Markdown. [Compile] checks it and turns
// it into a [Compiled] bulletin; [Compiled.Render] then personalises it for one
// resident at a time, producing the subject line, an accessible HTML e-bulletin
// and a plain-text alternative. [CheckPlainLanguage] warns about long sentences
// and jargon; it never blocks sending.
//
// # Merge fields
//
// The subject and the body may contain merge fields between double braces.
// Spaces inside the braces are optional:
//
//	{{first_name}}   the resident's first name          (default "resident")
//	{{last_name}}    the resident's last name           (default "")
//	{{full_name}}    first and last name                (default "resident")
//	{{ward}}         the resident's ward                (default "your area")
//	{{attr.KEY}}     the contact attribute named KEY    (default "")
//
// A field may name its own fallback, used when the resident has no value:
//
//	Dear {{first_name | "neighbour"}},
//
// The fallback is written in double quotes (curly quotes are accepted too);
// write \" for a quote inside it. Field names are not case-sensitive, except
// the KEY of attr.KEY, which must match the attribute exactly. To write two
// literal braces, escape them: \{\{ produces {{.
//
// An unknown field, an unclosed {{ or a malformed field is a [ContentError]
// naming the campaign and the line, and blocks scheduling.
//
// Values are escaped for where they land: HTML-escaped in the HTML, percent-
// encoded when a field sits inside a link or image address, and written as
// plain text (control characters turned into spaces) in the subject and the
// plain-text part.
package email

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	goldhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	"golang.org/x/text/language"

	"github.com/crierhq/crier/internal/spell"
	"github.com/crierhq/crier/templates"
)

// Branding is how the organisation presents itself in every bulletin.
type Branding struct {
	OrgName       string
	LogoURL       string // optional; the logo's alt text is OrgName
	PrimaryColour string // "#1d4f91"; used only if it contrasts 4.5:1 with white
	FooterAddress string // postal address, one line per line
	WebsiteURL    string // optional
}

// Bulletin is the content of one e-bulletin campaign, as the officer wrote it.
type Bulletin struct {
	CampaignName string // named in errors
	Subject      string // may contain merge fields
	Markdown     string // body; may contain merge fields
	Topic        string // "General news" — for the footer
	Lang         string // BCP 47 language tag; "en" if empty
	// Second, when set, is the same bulletin in a second language, carried after this
	// one in the same message (a bilingual e-bulletin: Welsh and English). Its subject
	// follows this one's after " / ", its body follows a rule, each part marked with its
	// own language and direction.
	Second *BulletinPart
	// Service marks a necessary notice (bin day, road closure) rather than news the
	// resident signed up for; the footer says which, as PECR expects.
	Service bool
}

// BulletinPart is a bulletin's text in a second language.
type BulletinPart struct {
	Lang     string
	Subject  string
	Markdown string
}

// Recipient is the resident one message is personalised for.
type Recipient struct {
	ContactID  int64
	FirstName  string
	LastName   string
	Ward       string
	Attributes map[string]string // free attributes (jsonb) of the contact
}

// LogValue logs only the contact's ID, never their name or attributes.
func (r Recipient) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("contact_id", r.ContactID))
}

// Links are the per-recipient addresses every bulletin carries. Each must be
// non-empty and, if it has a scheme, use http, https or mailto.
type Links struct {
	Unsubscribe   string
	Preferences   string
	ViewInBrowser string
}

// Rendered is one personalised message.
type Rendered struct {
	Subject string // plain text, one line
	HTML    string // complete HTML document
	Text    string // plain-text alternative, wrapped at 72 columns
}

// Errors wrapped by [ContentError], for errors.Is.
var (
	ErrUnknownField   = errors.New("unknown merge field")
	ErrMalformedField = errors.New("malformed merge field")
	ErrMissingAlt     = errors.New("image needs alt text")
	ErrInvalidContent = errors.New("invalid content")
)

// ContentError is a problem in a campaign's subject or body that blocks
// scheduling. Compile joins several of them (errors.Join) when it finds more
// than one; use errors.As to reach the first.
type ContentError struct {
	Campaign string
	Part     string // "subject", "body" or "language"
	Line     int    // 1-based line within the body, or within another part that has several lines; 0 for one line
	Err      error
}

// Error formats the problem as, for example:
//
//	campaign "Bin day change": line 3: unknown merge field "frist_name" (did you mean first_name?)
func (e *ContentError) Error() string {
	var b strings.Builder
	b.WriteString("campaign ")
	b.WriteString(strconv.Quote(e.Campaign))
	b.WriteString(": ")
	switch {
	case e.Part == "body" && e.Line > 0:
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	case e.Part != "" && e.Part != "body":
		b.WriteString(e.Part)
		b.WriteString(": ")
		if e.Line > 0 {
			b.WriteString("line ")
			b.WriteString(strconv.Itoa(e.Line))
			b.WriteString(": ")
		}
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error, one of the Err... values above.
func (e *ContentError) Unwrap() error { return e.Err }

// renderMaxErrors caps how many problems Compile reports at once.
const renderMaxErrors = 20

// Compiled is a bulletin checked and laid out once, ready to be personalised
// many times. It is immutable and safe for concurrent use.
type Compiled struct {
	campaign string
	fields   []renderField
	names    []string
	subject  renderDoc
	html     renderDoc
	text     renderDoc
}

// Fields lists the distinct merge fields the campaign uses, in the subject or
// the body, sorted ("attr.postcode", "first_name", ...).
func (c *Compiled) Fields() []string { return slices.Clone(c.names) }

// renderFieldKind is which recipient value a merge field reads.
type renderFieldKind uint8

const (
	renderFirstName renderFieldKind = iota
	renderLastName
	renderFullName
	renderWard
	renderAttr
)

var renderFieldNames = [...]string{"first_name", "last_name", "full_name", "ward"}

var renderDefaults = [...]string{"resident", "", "resident", "your area", ""}

// renderAliases are names officers often try, mapped to the field they mean.
var renderAliases = map[string]string{
	"name":        "full_name",
	"firstname":   "first_name",
	"forename":    "first_name",
	"given_name":  "first_name",
	"surname":     "last_name",
	"lastname":    "last_name",
	"family_name": "last_name",
	"fullname":    "full_name",
}

// renderField is one distinct merge field (name plus fallback).
type renderField struct {
	kind     renderFieldKind
	key      string // attribute key for renderAttr
	fallback string
}

func (f renderField) name() string {
	if f.kind == renderAttr {
		return "attr." + f.key
	}
	return renderFieldNames[f.kind]
}

// resolve picks the recipient's value for the field. full_name is returned in
// two halves so that resolving never allocates.
func (f renderField) resolve(r *Recipient) renderValue {
	var v renderValue
	switch f.kind {
	case renderFirstName:
		v.a = strings.TrimSpace(r.FirstName)
	case renderLastName:
		v.a = strings.TrimSpace(r.LastName)
	case renderFullName:
		v.a = strings.TrimSpace(r.FirstName)
		v.b = strings.TrimSpace(r.LastName)
		if v.a == "" {
			v.a, v.b = v.b, ""
		}
	case renderWard:
		v.a = strings.TrimSpace(r.Ward)
	case renderAttr:
		v.a = strings.TrimSpace(r.Attributes[f.key])
	}
	if v.a == "" {
		v.a = f.fallback
	}
	return v
}

// renderValue is a value to substitute: a, then a space and b if b is set.
type renderValue struct{ a, b string }

// renderCtx says how a value is escaped where it lands.
type renderCtx uint8

const (
	renderCtxText renderCtx = iota // plain text: control characters become spaces
	renderCtxHTML                  // HTML text or attribute value: escaped
	renderCtxURL                   // inside a URL: percent-encoded
)

type renderSlot struct {
	val int // index into the values: fields first, then the three links
	ctx renderCtx
}

// renderDoc is a document split into static chunks around value slots:
// chunks[0] slot[0] chunks[1] slot[1] ... chunks[n].
type renderDoc struct {
	chunks []string
	slots  []renderSlot
	static int // total length of chunks
}

// Link slots follow the field slots in the value list.
const (
	renderLinkView = iota
	renderLinkUnsubscribe
	renderLinkPreferences
	renderNumLinks
)

// Placeholders stand for values while the bulletin is laid out. They are plain
// ASCII letters and digits, which goldmark, html/template and the URL escapers
// all leave alone, whether they land in text, an attribute or a link.
const (
	renderTokenPrefix = "QxCrier"
	renderTokenSuffix = "xQ"
	renderTokenLen    = len(renderTokenPrefix) + 1 + 4 + len(renderTokenSuffix)
	renderMaxFields   = 1000
	// renderTokenWidth is how wide a value is assumed to be when wrapping the
	// plain text, which happens once, before the real value is known.
	renderTokenWidth = 9
)

const (
	renderKindField    = 'F' // a merge field
	renderKindFieldURL = 'U' // a merge field inside a URL in the plain text
	renderKindLink     = 'L' // one of the Links
)

func renderToken(kind byte, i int) string {
	return renderTokenPrefix + string(kind) + fmt.Sprintf("%04d", i) + renderTokenSuffix
}

// Colours. Body text is near-black on white (contrast 17:1).
const (
	renderTextColour   = "#1b1b1b"
	renderDefaultBrand = "#1d4f91"
	renderMinContrast  = 4.5
	renderDefaultLang  = "en"
	renderWrapWidth    = 72
)

// Compile checks the bulletin and lays it out once. It parses the subject, the
// body and their merge fields; an unknown field, a malformed or unclosed {{,
// an image without alt text, or an invalid language is a *ContentError naming
// the campaign and line (several are joined with errors.Join).
func Compile(b Bulletin, brand Branding) (*Compiled, error) {
	tmpl, err := renderLoadTemplates()
	if err != nil {
		return nil, err
	}
	c := &Compiled{campaign: b.CampaignName}
	p := renderParser{campaign: b.CampaignName, index: map[renderField]int{}}

	lang, dir, err := renderLang(b.Lang)
	if err != nil {
		p.fail("language", 0, err)
	}
	if strings.TrimSpace(b.Subject) == "" {
		p.fail("subject", 0, fmt.Errorf("%w: the subject is empty", ErrInvalidContent))
	}
	if strings.ContainsAny(b.Subject, "\r\n") {
		p.fail("subject", 0, fmt.Errorf("%w: the subject must be one line", ErrInvalidContent))
	}
	subjectParts := p.parse("subject", b.Subject)
	parts := []BulletinPart{{Lang: lang, Subject: b.Subject, Markdown: b.Markdown}}
	if b.Second != nil {
		parts = append(parts, *b.Second)
		second := p.parse("subject", b.Second.Subject)
		if strings.TrimSpace(b.Second.Subject) == "" {
			p.fail("subject", 0, fmt.Errorf("%w: the second language's subject is empty", ErrInvalidContent))
		}
		subjectParts = append(append(subjectParts, renderPart{lit: " / ", field: -1}), second...)
	}

	// Lay each part's body out with placeholders standing for the fields.
	md := goldmark.New(goldmark.WithExtensions(extension.GFM))
	brandColour := renderBrandColour(brand.PrimaryColour)
	type laidOut struct {
		lang, dir string
		source    []byte
		doc       ast.Node
	}
	var laid []laidOut
	hasH1 := false
	for i, part := range parts {
		var src strings.Builder
		for _, bp := range p.parse("body", part.Markdown) {
			if bp.field < 0 {
				src.WriteString(bp.lit)
			} else {
				src.WriteString(renderToken(renderKindField, bp.field))
			}
		}
		l := laidOut{lang: lang, dir: dir, source: []byte(src.String())}
		if i > 0 {
			var err error
			if l.lang, l.dir, err = renderLang(part.Lang); err != nil {
				p.fail("language", 0, err)
			}
		}
		l.doc = md.Parser().Parse(text.NewReader(l.source))
		if h1 := renderPrepare(l.doc, l.source, brandColour, &p); i == 0 {
			hasH1 = h1
		}
		laid = append(laid, l)
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	c.fields = p.fields
	for _, f := range p.fields {
		c.names = append(c.names, f.name())
	}
	slices.Sort(c.names)
	c.names = slices.Compact(c.names)

	var body bytes.Buffer
	for i, l := range laid {
		if len(laid) > 1 {
			if i > 0 {
				body.WriteString("<hr style=\"border:0;border-top:1px solid #b1b4b6;margin:24px 0;\">\n")
			}
			fmt.Fprintf(&body, "<div lang=\"%s\"", l.lang) // a validated tag
			if l.dir != "" {
				fmt.Fprintf(&body, " dir=\"%s\"", l.dir)
			}
			body.WriteString(">\n")
		}
		if err := md.Renderer().Render(&body, l.source, l.doc); err != nil {
			return nil, fmt.Errorf("campaign %q: render markdown: %w", b.CampaignName, err)
		}
		if len(laid) > 1 {
			body.WriteString("</div>\n")
		}
	}

	var subjectTokens strings.Builder
	for _, part := range subjectParts {
		if part.field < 0 {
			subjectTokens.WriteString(part.lit)
		} else {
			subjectTokens.WriteString(renderToken(renderKindField, part.field))
		}
	}
	title := subjectTokens.String()
	address := renderAddressLines(brand.FooterAddress)
	linkTokens := [renderNumLinks]string{}
	for i := range linkTokens {
		linkTokens[i] = renderToken(renderKindLink, i)
	}

	page := renderPage{
		Lang:          lang,
		Dir:           dir,
		Title:         title,
		ShowTitle:     !hasH1,
		OrgName:       brand.OrgName,
		LogoURL:       strings.TrimSpace(brand.LogoURL),
		WebsiteURL:    strings.TrimSpace(brand.WebsiteURL),
		Brand:         htmltemplate.CSS(brandColour),
		Body:          htmltemplate.HTML(body.String()), // goldmark output, raw HTML disabled; values are slots
		Topic:         strings.TrimSpace(b.Topic),
		Service:       b.Service,
		Words:         renderWordsFor(laidLangs(lang, b.Second)),
		Reasons:       renderReasonsFor(laidLangs(lang, b.Second), brand.OrgName, strings.TrimSpace(b.Topic), b.Service),
		Address:       address,
		ViewInBrowser: linkTokens[renderLinkView],
		Unsubscribe:   linkTokens[renderLinkUnsubscribe],
		Preferences:   linkTokens[renderLinkPreferences],
	}
	var out bytes.Buffer
	if err := tmpl.html.Execute(&out, page); err != nil {
		return nil, fmt.Errorf("campaign %q: execute html template: %w", b.CampaignName, err)
	}
	if c.html, err = renderSplit(out.String(), len(c.fields), true); err != nil {
		return nil, fmt.Errorf("campaign %q: lay out html: %w", b.CampaignName, err)
	}

	var plainBody []string
	if !hasH1 {
		pt0 := renderPlain{}
		plainBody = append(plainBody, pt0.heading(title, 1)...)
		plainBody = append(plainBody, "")
	}
	for i, l := range laid {
		if i > 0 {
			plainBody = append(plainBody, "", strings.Repeat("-", 24), "")
		}
		pt := renderPlain{source: l.source}
		plainBody = append(plainBody, pt.blocks(l.doc, renderWrapWidth, false)...)
	}
	page.Body = ""
	tpage := renderTextPage{renderPage: page, Body: strings.Join(plainBody, "\n")}
	out.Reset()
	if err := tmpl.text.Execute(&out, tpage); err != nil {
		return nil, fmt.Errorf("campaign %q: execute text template: %w", b.CampaignName, err)
	}
	if c.text, err = renderSplit(renderTrimLines(out.String()), len(c.fields), false); err != nil {
		return nil, fmt.Errorf("campaign %q: lay out text: %w", b.CampaignName, err)
	}

	for _, part := range subjectParts {
		if part.field < 0 {
			c.subject.add(part.lit)
			continue
		}
		c.subject.add("")
		c.subject.slots = append(c.subject.slots, renderSlot{val: part.field, ctx: renderCtxText})
	}
	c.subject.add("")
	c.subject.measure()
	return c, nil
}

// Render personalises the bulletin for one recipient. It only concatenates
// precomputed chunks with the recipient's escaped values, so it is fast and
// allocates little; it is safe for concurrent use. It fails only if a link is
// empty or has a scheme other than http, https or mailto.
func (c *Compiled) Render(r Recipient, l Links) (Rendered, error) {
	links := [renderNumLinks]string{
		renderLinkView:        l.ViewInBrowser,
		renderLinkUnsubscribe: l.Unsubscribe,
		renderLinkPreferences: l.Preferences,
	}
	for i, u := range links {
		if err := renderCheckLink(u); err != nil {
			return Rendered{}, fmt.Errorf("campaign %q: %s link: %w", c.campaign, renderLinkNames[i], err)
		}
	}
	var stack [16]renderValue
	vals := stack[:0]
	if n := len(c.fields) + renderNumLinks; n > len(stack) {
		vals = make([]renderValue, 0, n)
	}
	for _, f := range c.fields {
		vals = append(vals, f.resolve(&r))
	}
	for _, u := range links {
		vals = append(vals, renderValue{a: u})
	}
	return Rendered{
		Subject: c.subject.render(vals),
		HTML:    c.html.render(vals),
		Text:    c.text.render(vals),
	}, nil
}

var renderLinkNames = [renderNumLinks]string{"view-in-browser", "unsubscribe", "preferences"}

// renderCheckLink accepts what html/template would: relative URLs and the
// http, https and mailto schemes.
func renderCheckLink(u string) error {
	if strings.TrimSpace(u) == "" {
		return errors.New("is empty")
	}
	for i := 0; i < len(u); i++ {
		if u[i] < 0x20 || u[i] == 0x7f {
			return errors.New("contains a control character")
		}
	}
	for i := 0; i < len(u); i++ {
		switch u[i] {
		case ':':
			scheme := u[:i]
			if strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "mailto") {
				return nil
			}
			return fmt.Errorf("scheme %q is not allowed", scheme)
		case '/', '?', '#':
			return nil
		}
	}
	return nil
}

func (d *renderDoc) add(s string) {
	if len(d.chunks) > len(d.slots) {
		d.chunks[len(d.chunks)-1] += s
		return
	}
	d.chunks = append(d.chunks, s)
}

// measure totals the static chunks; call it once the doc is built.
func (d *renderDoc) measure() {
	d.static = 0
	for _, s := range d.chunks {
		d.static += len(s)
	}
}

func (d *renderDoc) render(vals []renderValue) string {
	size := d.static
	for _, s := range d.slots {
		size += renderValueLen(vals[s.val], s.ctx)
	}
	var b strings.Builder
	b.Grow(size)
	for i, s := range d.slots {
		b.WriteString(d.chunks[i])
		v := vals[s.val]
		renderWrite(&b, v.a, s.ctx)
		if v.b != "" {
			renderWrite(&b, " ", s.ctx)
			renderWrite(&b, v.b, s.ctx)
		}
	}
	b.WriteString(d.chunks[len(d.slots)])
	return b.String()
}

func renderValueLen(v renderValue, ctx renderCtx) int {
	n := renderLen(v.a, ctx)
	if v.b != "" {
		n += renderLen(v.b, ctx) + renderLen(" ", ctx)
	}
	return n
}

// renderLen is the escaped length of s (exact but for invalid UTF-8).
func renderLen(s string, ctx renderCtx) int {
	n := len(s)
	switch ctx {
	case renderCtxHTML:
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '<', '>':
				n += 3
			case '&', '"', '\'':
				n += 4
			}
		}
	case renderCtxURL:
		for i := 0; i < len(s); i++ {
			if !renderUnreserved(s[i]) {
				n += 2
			}
		}
	}
	return n
}

func renderUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// renderWrite writes s escaped for ctx. Control characters become spaces and
// invalid UTF-8 becomes U+FFFD, so a value can never break a header or a line.
func renderWrite(b *strings.Builder, s string, ctx renderCtx) {
	if ctx == renderCtxURL {
		const hex = "0123456789ABCDEF"
		for i := 0; i < len(s); i++ {
			c := s[i]
			if renderUnreserved(c) {
				b.WriteByte(c)
				continue
			}
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
		return
	}
	if renderClean(s, ctx) {
		b.WriteString(s)
		return
	}
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\u0085':
			b.WriteByte(' ')
		case ctx == renderCtxHTML && r == '<':
			b.WriteString("&lt;")
		case ctx == renderCtxHTML && r == '>':
			b.WriteString("&gt;")
		case ctx == renderCtxHTML && r == '&':
			b.WriteString("&amp;")
		case ctx == renderCtxHTML && r == '"':
			b.WriteString("&#34;")
		case ctx == renderCtxHTML && r == '\'':
			b.WriteString("&#39;")
		default:
			b.WriteRune(r) // utf8.RuneError for invalid bytes
		}
	}
}

// renderClean reports whether s can be written as it is.
func renderClean(s string, ctx renderCtx) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return false
		case c >= utf8.RuneSelf:
			return renderCleanUnicode(s[i:], ctx)
		case ctx == renderCtxHTML && (c == '<' || c == '>' || c == '&' || c == '"' || c == '\''):
			return false
		}
	}
	return true
}

func renderCleanUnicode(s string, ctx renderCtx) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return false
			}
		}
		switch {
		case r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\u0085':
			return false
		case ctx == renderCtxHTML && (r == '<' || r == '>' || r == '&' || r == '"' || r == '\''):
			return false
		}
	}
	return true
}

// renderSplit cuts a laid-out document at its placeholders. In HTML, a field
// inside an href or src attribute is percent-encoded and anywhere else is
// HTML-escaped; links are always HTML-escaped.
func renderSplit(s string, nfields int, isHTML bool) (renderDoc, error) {
	var d renderDoc
	last := 0
	for {
		i := strings.Index(s[last:], renderTokenPrefix)
		if i < 0 {
			break
		}
		i += last
		if i+renderTokenLen > len(s) || s[i+renderTokenLen-len(renderTokenSuffix):i+renderTokenLen] != renderTokenSuffix {
			return d, fmt.Errorf("damaged placeholder at byte %d", i)
		}
		kind := s[i+len(renderTokenPrefix)]
		n, err := strconv.Atoi(s[i+len(renderTokenPrefix)+1 : i+renderTokenLen-len(renderTokenSuffix)])
		if err != nil {
			return d, fmt.Errorf("damaged placeholder at byte %d: %w", i, err)
		}
		slot := renderSlot{val: n, ctx: renderCtxText}
		switch kind {
		case renderKindField:
			if isHTML {
				slot.ctx = renderHTMLContext(s[:i])
			}
		case renderKindFieldURL:
			slot.ctx = renderCtxURL
		case renderKindLink:
			slot.val = nfields + n
			if isHTML {
				slot.ctx = renderCtxHTML
			}
		default:
			return d, fmt.Errorf("damaged placeholder at byte %d", i)
		}
		if slot.val >= nfields+renderNumLinks || (kind != renderKindLink && n >= nfields) {
			return d, fmt.Errorf("placeholder %d out of range", n)
		}
		d.chunks = append(d.chunks, s[last:i])
		d.slots = append(d.slots, slot)
		last = i + renderTokenLen
	}
	d.chunks = append(d.chunks, s[last:])
	d.measure()
	return d, nil
}

// renderHTMLContext decides how to escape a value at the end of before, which
// is well-formed HTML from goldmark and html/template: inside a tag a raw '>'
// never appears within an attribute value.
func renderHTMLContext(before string) renderCtx {
	lt := strings.LastIndexByte(before, '<')
	gt := strings.LastIndexByte(before, '>')
	if lt <= gt {
		return renderCtxHTML
	}
	tag := before[lt:]
	eq := strings.LastIndex(tag, `="`)
	if eq < 0 {
		return renderCtxHTML
	}
	start := eq
	for start > 0 && tag[start-1] != ' ' {
		start--
	}
	switch strings.ToLower(tag[start:eq]) {
	case "href", "src":
		return renderCtxURL
	}
	return renderCtxHTML
}

// renderPart is a run of literal text or one merge field.
type renderPart struct {
	lit   string
	field int // index into renderParser.fields, or -1 for literal text
}

type renderParser struct {
	campaign string
	fields   []renderField
	index    map[renderField]int
	errs     []error
}

func (p *renderParser) fail(part string, line int, err error) {
	if len(p.errs) < renderMaxErrors {
		p.errs = append(p.errs, &ContentError{Campaign: p.campaign, Part: part, Line: line, Err: err})
	}
}

// parse splits src into literal text and merge fields, recording problems.
func (p *renderParser) parse(part, src string) []renderPart {
	var parts []renderPart
	var lit strings.Builder
	line := 1
	// Lines are counted in the body, and in any other part (a leaflet's text, a long SMS)
	// written on several lines; a one-line part's problems need no line.
	counted := part == "body" || (part != "subject" && strings.Contains(src, "\n"))
	lineOf := func() int {
		if counted {
			return line
		}
		return 0
	}
	if strings.Contains(src, renderTokenPrefix) {
		p.fail(part, 0, fmt.Errorf("%w: %q is reserved", ErrInvalidContent, renderTokenPrefix))
	}
	for i := 0; i < len(src); {
		switch {
		case strings.HasPrefix(src[i:], `\{\{`):
			lit.WriteString("{{")
			i += 4
		case strings.HasPrefix(src[i:], "{{"):
			end, closed := renderFieldEnd(src, i+2)
			if !closed {
				p.fail(part, lineOf(), fmt.Errorf(`%w: {{ is not closed with }} on the same line (write \{\{ for literal braces)`, ErrMalformedField))
				lit.WriteString("{{")
				i += 2
				continue
			}
			f, err := renderParseField(src[i+2 : end])
			if err != nil {
				p.fail(part, lineOf(), err)
			} else {
				if lit.Len() > 0 {
					parts = append(parts, renderPart{lit: lit.String(), field: -1})
					lit.Reset()
				}
				idx, ok := p.index[f]
				if !ok {
					idx = len(p.fields)
					if idx >= renderMaxFields {
						p.fail(part, lineOf(), fmt.Errorf("%w: more than %d different merge fields", ErrInvalidContent, renderMaxFields))
					}
					p.fields = append(p.fields, f)
					p.index[f] = idx
				}
				parts = append(parts, renderPart{field: idx})
			}
			i = end + 2
		default:
			if src[i] == '\n' {
				line++
			}
			lit.WriteByte(src[i])
			i++
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, renderPart{lit: lit.String(), field: -1})
	}
	return parts
}

// renderFieldEnd finds the "}}" closing a field whose contents start at i,
// skipping quoted fallbacks; a field may not span lines.
func renderFieldEnd(src string, i int) (end int, closed bool) {
	quote := ""
	for i < len(src) {
		if src[i] == '\n' {
			return 0, false
		}
		if quote != "" {
			switch {
			case src[i] == '\\' && i+1 < len(src) && src[i+1] != '\n':
				i += 2
			case strings.HasPrefix(src[i:], quote):
				i += len(quote)
				quote = ""
			default:
				i++
			}
			continue
		}
		switch {
		case strings.HasPrefix(src[i:], "}}"):
			return i, true
		case src[i] == '"':
			quote = `"`
		case strings.HasPrefix(src[i:], "“"):
			quote = "”"
			i += len("“") - 1
		}
		i++
	}
	return 0, false
}

// renderParseField parses the inside of {{ }}: name [| "fallback"].
func renderParseField(inner string) (renderField, error) {
	name, fallbackSrc, hasFallback := strings.Cut(inner, "|")
	name = strings.TrimSpace(name)
	if name == "" {
		return renderField{}, fmt.Errorf("%w: {{%s}} has no field name", ErrMalformedField, inner)
	}
	for _, r := range name {
		if !(r == '_' || r == '.' || r == '-' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return renderField{}, fmt.Errorf("%w: {{%s}}: field names use only letters, digits, _ . and -", ErrMalformedField, inner)
		}
	}
	var f renderField
	switch lower := strings.ToLower(name); {
	case strings.HasPrefix(lower, "attr."):
		f.kind = renderAttr
		f.key = name[len("attr."):]
		if f.key == "" {
			return renderField{}, fmt.Errorf("%w: {{%s}}: say which attribute, like attr.postcode", ErrMalformedField, inner)
		}
	default:
		i := slices.Index(renderFieldNames[:], lower)
		if i < 0 {
			return renderField{}, fmt.Errorf("%w %q%s", ErrUnknownField, name, renderSuggest(lower))
		}
		f.kind = renderFieldKind(i)
	}
	f.fallback = renderDefaults[f.kind]
	if hasFallback {
		fb, err := renderParseFallback(strings.TrimSpace(fallbackSrc))
		if err != nil {
			return renderField{}, fmt.Errorf("%w: {{%s}}: %w", ErrMalformedField, inner, err)
		}
		f.fallback = fb
	}
	return f, nil
}

func renderParseFallback(s string) (string, error) {
	var body string
	switch {
	case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"':
		body = s[1 : len(s)-1]
	case strings.HasPrefix(s, "“") && strings.HasSuffix(s, "”") && len(s) >= len("“”"):
		body = s[len("“") : len(s)-len("”")]
	default:
		return "", errors.New(`put the fallback in double quotes, like {{first_name | "neighbour"}}`)
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '\\' && i+1 < len(body) {
			i++
			b.WriteByte(body[i])
			continue
		}
		if c == '"' {
			return "", errors.New(`write \" for a quote inside the fallback`)
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// renderSuggest names the field the officer probably meant.
func renderSuggest(name string) string {
	if alias, ok := renderAliases[name]; ok {
		return " (did you mean " + alias + "?)"
	}
	if best, d := spell.Nearest(name, renderFieldNames[:]); best != "" && d < 3 {
		return " (did you mean " + best + "?)"
	}
	return " (known fields are first_name, last_name, full_name, ward and attr.KEY; for a contact attribute write attr." + name + ")"
}

// renderPrepare walks the parsed body: it checks images have alt text, adds
// the inline styles email clients need, and reports whether there is an h1.
func renderPrepare(doc ast.Node, source []byte, brand string, p *renderParser) (hasH1 bool) {
	linkStyle := []byte("color:" + brand + ";text-decoration:underline;")
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			switch n.Level {
			case 1:
				hasH1 = true
				n.SetAttributeString("style", []byte("margin:0 0 16px;font-size:28px;line-height:1.25;font-weight:bold;color:"+renderTextColour+";"))
			case 2:
				n.SetAttributeString("style", []byte("margin:24px 0 8px;font-size:22px;line-height:1.3;font-weight:bold;color:"+renderTextColour+";"))
			default:
				n.SetAttributeString("style", []byte("margin:20px 0 8px;font-size:18px;line-height:1.4;font-weight:bold;color:"+renderTextColour+";"))
			}
		case *ast.Paragraph:
			n.SetAttributeString("style", []byte("margin:0 0 16px;"))
		case *ast.List:
			n.SetAttributeString("style", []byte("margin:0 0 16px;padding-left:24px;"))
		case *ast.ListItem:
			n.SetAttributeString("style", []byte("margin:0 0 8px;"))
		case *ast.Blockquote:
			n.SetAttributeString("style", []byte("margin:0 0 16px;padding:0 0 0 16px;border-left:4px solid #b1b4b6;"))
		case *ast.ThematicBreak:
			n.SetAttributeString("style", []byte("border:0;border-top:1px solid #b1b4b6;margin:24px 0;"))
		case *ast.CodeSpan:
			n.SetAttributeString("style", []byte("font-family:Consolas,Menlo,monospace;"))
		case *ast.Link, *ast.AutoLink:
			n.SetAttributeString("style", linkStyle)
		case *ast.Image:
			if strings.TrimSpace(string(renderInlineText(n, source))) == "" {
				p.fail("body", renderNodeLine(n, source), fmt.Errorf("%w, for readers who can't see it", ErrMissingAlt))
			}
			n.SetAttributeString("style", []byte("max-width:100%;height:auto;border:0;"))
		case *extast.Table:
			n.SetAttributeString("style", []byte("border-collapse:collapse;margin:0 0 16px;"))
		case *extast.TableCell:
			n.SetAttributeString("style", []byte("border:1px solid #b1b4b6;padding:4px 8px;text-align:left;vertical-align:top;"))
		}
		return ast.WalkContinue, nil
	})
	return hasH1
}

// renderInlineText is the text of an inline node's children (for alt text).
func renderInlineText(n ast.Node, source []byte) []byte {
	var b []byte
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b = append(b, c.Segment.Value(source)...)
		case *ast.String:
			b = append(b, c.Value...)
		}
		return ast.WalkContinue, nil
	})
	return b
}

// renderNodeLine estimates the source line of an inline node from its
// neighbours, since goldmark records positions only for text.
func renderNodeLine(n ast.Node, source []byte) int {
	lineAt := func(off int) int { return 1 + bytes.Count(source[:min(off, len(source))], []byte("\n")) }
	for s := n.PreviousSibling(); s != nil; s = s.PreviousSibling() {
		if t, ok := s.(*ast.Text); ok {
			line := lineAt(t.Segment.Stop)
			if t.SoftLineBreak() || t.HardLineBreak() {
				line++
			}
			return line
		}
	}
	for s := n.NextSibling(); s != nil; s = s.NextSibling() {
		if t, ok := s.(*ast.Text); ok {
			return lineAt(t.Segment.Start)
		}
	}
	for a := n.Parent(); a != nil; a = a.Parent() {
		if a.Type() == ast.TypeBlock && a.Lines().Len() > 0 {
			return lineAt(a.Lines().At(0).Start)
		}
	}
	return 0
}

// renderLang validates the language tag and picks the text direction.
func renderLang(s string) (lang, dir string, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = renderDefaultLang
	}
	tag, err := language.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("%w: language %q: %w", ErrInvalidContent, s, err)
	}
	if script, _ := tag.Script(); slices.Contains([]string{"Arab", "Hebr", "Syrc", "Thaa", "Nkoo", "Adlm", "Rohg", "Mand", "Samr"}, script.String()) {
		dir = "rtl"
	}
	return tag.String(), dir, nil
}

// renderBrandColour returns the brand colour as #rrggbb if white text on it
// (and it as link text on white) has at least 4.5:1 contrast, else a dark
// default.
func renderBrandColour(s string) string {
	r, g, b, ok := renderParseColour(s)
	if !ok || renderContrastWithWhite(r, g, b) < renderMinContrast {
		return renderDefaultBrand
	}
	return fmt.Sprintf("#%02x%02x%02x", r, g, b)
}

func renderParseColour(s string) (r, g, b uint8, ok bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "#")
	if len(s) == 3 {
		s = string([]byte{s[0], s[0], s[1], s[1], s[2], s[2]})
	}
	if len(s) != 6 {
		return 0, 0, 0, false
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, 0, 0, false
	}
	return uint8(v >> 16), uint8(v >> 8), uint8(v), true
}

// renderContrastWithWhite is the WCAG 2 contrast ratio of the colour and white.
func renderContrastWithWhite(r, g, b uint8) float64 {
	lin := func(c uint8) float64 {
		v := float64(c) / 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
	return 1.05 / (l + 0.05)
}

func renderAddressLines(s string) []string {
	var lines []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// renderTrimLines drops trailing spaces and collapses runs of blank lines.
func renderTrimLines(s string) string {
	var b strings.Builder
	blank := 0
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, " \t\r\n")
		if line == "" {
			blank++
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n")
			if blank > 0 {
				b.WriteString("\n")
			}
		}
		blank = 0
		b.WriteString(line)
	}
	b.WriteString("\n")
	return b.String()
}

// renderPage is the data for templates/email/bulletin.html.
type renderPage struct {
	Lang, Dir                               string
	Title                                   string // the subject, with placeholders
	ShowTitle                               bool   // the body has no h1 of its own
	OrgName                                 string
	LogoURL                                 string
	WebsiteURL                              string
	Brand                                   htmltemplate.CSS // a validated #rrggbb
	Body                                    htmltemplate.HTML
	Topic                                   string
	Service                                 bool
	Address                                 []string
	ViewInBrowser, Unsubscribe, Preferences string
	Words                                   renderWords    // the footer's words, in the bulletin's language(s)
	Reasons                                 []renderReason // why the resident gets it, in each language
}

// renderWords are the words of a bulletin's links, in its language; a bilingual one
// gives both ("Dad-danysgrifio / Unsubscribe").
type renderWords struct{ View, Unsubscribe, Preferences string }

// renderReason is the footer's "why you get this" in one language: Lang is set when
// it is not the page's.
type renderReason struct{ Lang, Text string }

// renderWordList has the footer's words in the languages Crier has them in; any other
// language's bulletin has the English ones.
var renderWordList = map[string]renderWords{
	"en": {View: "View in your browser", Unsubscribe: "Unsubscribe", Preferences: "Manage your preferences"},
	"cy": {View: "Gweld yn eich porwr", Unsubscribe: "Dad-danysgrifio", Preferences: "Rheoli eich dewisiadau"},
}

func laidLangs(first string, second *BulletinPart) []string {
	out := []string{first}
	if second != nil {
		out = append(out, second.Lang)
	}
	return out
}

// footerLang is the language a bulletin in tag's footer words are in: its primary
// subtag when Crier has them, else English.
func footerLang(tag string) string {
	base, _, _ := strings.Cut(strings.ToLower(tag), "-")
	if _, ok := renderWordList[base]; ok {
		return base
	}
	return "en"
}

func renderWordsFor(langs []string) renderWords {
	var w renderWords
	seen := map[string]bool{}
	for _, l := range langs {
		fl := footerLang(l)
		if seen[fl] {
			continue
		}
		seen[fl] = true
		x := renderWordList[fl]
		if w.View != "" {
			w.View, w.Unsubscribe, w.Preferences = w.View+" / "+x.View, w.Unsubscribe+" / "+x.Unsubscribe, w.Preferences+" / "+x.Preferences
			continue
		}
		w = x
	}
	return w
}

// renderReasonsFor says why the resident gets the bulletin (PECR), in each of its
// languages that Crier has the words for (English for the others).
func renderReasonsFor(langs []string, org, topic string, service bool) []renderReason {
	var out []renderReason
	seen := map[string]bool{}
	for _, l := range langs {
		fl := footerLang(l)
		if seen[fl] {
			continue
		}
		seen[fl] = true
		var t string
		switch {
		case fl == "cy" && service:
			t = "Neges gwasanaeth gan " + org
			if topic != "" {
				t += " am " + topic
			}
			t += " yw hon: mae’n dweud wrthych am newid i wasanaeth rydych chi’n ei ddefnyddio."
		case fl == "cy":
			t = "Rydych chi’n cael hwn am i chi gofrestru i glywed gan " + org
			if topic != "" {
				t += " am " + topic
			}
			t += "."
		case service:
			t = "This is a service message from " + org
			if topic != "" {
				t += " about " + topic
			}
			t += ": it tells you about a change to a service you use."
		default:
			t = "You are receiving this because you signed up to hear from " + org
			if topic != "" {
				t += " about " + topic
			}
			t += "."
		}
		r := renderReason{Text: t}
		if len(out) > 0 {
			r.Lang = fl // the first is in the page's own language
		}
		out = append(out, r)
	}
	return out
}

// renderTextPage is the data for templates/email/bulletin.txt.
type renderTextPage struct {
	renderPage
	Body string
}

type renderTemplates struct {
	html *htmltemplate.Template
	text *texttemplate.Template
}

// renderLoadTemplates parses the embedded templates once per process.
var renderLoadTemplates = sync.OnceValues(func() (*renderTemplates, error) {
	htmlSrc, err := fs.ReadFile(templates.FS, "email/bulletin.html")
	if err != nil {
		return nil, fmt.Errorf("read bulletin template: %w", err)
	}
	textSrc, err := fs.ReadFile(templates.FS, "email/bulletin.txt")
	if err != nil {
		return nil, fmt.Errorf("read bulletin template: %w", err)
	}
	h, err := htmltemplate.New("bulletin.html").Parse(string(htmlSrc))
	if err != nil {
		return nil, fmt.Errorf("parse bulletin template: %w", err)
	}
	t, err := texttemplate.New("bulletin.txt").Funcs(texttemplate.FuncMap{
		"wrap": func(s string) string { return strings.Join(renderWrap(s, renderWrapWidth), "\n") },
	}).Parse(string(textSrc))
	if err != nil {
		return nil, fmt.Errorf("parse bulletin template: %w", err)
	}
	return &renderTemplates{html: h, text: t}, nil
})

// renderPlain turns the Markdown tree into readable plain text.
type renderPlain struct {
	source []byte
}

// blocks renders the children of n as lines at most width wide, separated by
// blank lines unless tight.
func (p *renderPlain) blocks(n ast.Node, width int, tight bool) []string {
	var lines []string
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		b := p.block(c, width)
		if len(b) == 0 {
			continue
		}
		if len(lines) > 0 && !tight {
			lines = append(lines, "")
		}
		lines = append(lines, b...)
	}
	return lines
}

func (p *renderPlain) block(n ast.Node, width int) []string {
	switch n := n.(type) {
	case *ast.Heading:
		return p.heading(p.inline(n), n.Level)
	case *ast.Paragraph, *ast.TextBlock:
		return renderWrap(p.inline(n), width)
	case *ast.List:
		var lines []string
		num := n.Start
		for item := n.FirstChild(); item != nil; item = item.NextSibling() {
			marker := "- "
			if n.IsOrdered() {
				marker = strconv.Itoa(num) + ". "
				num++
			}
			indent := strings.Repeat(" ", len(marker))
			sub := p.blocks(item, max(width-len(marker), 20), n.IsTight)
			if len(lines) > 0 && !n.IsTight {
				lines = append(lines, "")
			}
			for i, l := range sub {
				switch {
				case i == 0:
					l = marker + l
				case l != "":
					l = indent + l
				}
				lines = append(lines, l)
			}
		}
		return lines
	case *ast.Blockquote:
		sub := p.blocks(n, max(width-2, 20), false)
		for i, l := range sub {
			sub[i] = strings.TrimRight("> "+l, " ")
		}
		return sub
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		var lines []string
		for i := 0; i < n.Lines().Len(); i++ {
			seg := n.Lines().At(i)
			lines = append(lines, strings.TrimRight("    "+string(seg.Value(p.source)), " \t\r\n"))
		}
		return lines
	case *ast.ThematicBreak:
		return []string{"----"}
	case *ast.HTMLBlock:
		return nil // raw HTML is not rendered
	case *extast.Table:
		var lines []string
		for row := n.FirstChild(); row != nil; row = row.NextSibling() {
			var cells []string
			for cell := row.FirstChild(); cell != nil; cell = cell.NextSibling() {
				cells = append(cells, p.inline(cell))
			}
			line := strings.Join(cells, " | ")
			lines = append(lines, line)
			if _, ok := row.(*extast.TableHeader); ok {
				lines = append(lines, strings.Repeat("-", renderWidth(line)))
			}
		}
		return lines
	default:
		return p.blocks(n, width, false)
	}
}

// heading underlines a heading: = for h1, - below that.
func (p *renderPlain) heading(s string, level int) []string {
	lines := renderWrap(s, renderWrapWidth)
	w := 0
	for _, l := range lines {
		w = max(w, renderWidth(l))
	}
	mark := "-"
	if level == 1 {
		mark = "="
	}
	return append(lines, strings.Repeat(mark, min(w, renderWrapWidth)))
}

// inline renders an inline run as one string; "\n" marks a hard break.
func (p *renderPlain) inline(n ast.Node) string {
	var b strings.Builder
	p.inlineTo(&b, n)
	return b.String()
}

func (p *renderPlain) inlineTo(b *strings.Builder, n ast.Node) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			v := c.Segment.Value(p.source)
			if !c.IsRaw() {
				v = renderUnescape(v)
			}
			b.Write(v)
			switch {
			case c.HardLineBreak():
				b.WriteByte('\n')
			case c.SoftLineBreak():
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.CodeSpan:
			p.inlineTo(b, c)
		case *ast.Emphasis:
			if c.Level >= 2 {
				b.WriteByte('*')
				p.inlineTo(b, c)
				b.WriteByte('*')
			} else {
				p.inlineTo(b, c)
			}
		case *ast.Link:
			label := p.inline(c)
			dest := util.URLEscape(c.Destination, true)
			url := ""
			if !goldhtml.IsDangerousURL(dest) {
				url = renderURLTokens(string(dest))
			}
			b.WriteString(label)
			if url != "" && url != label && url != "mailto:"+label && url != "http://"+label && url != "https://"+label {
				b.WriteString(" (" + url + ")")
			}
		case *ast.AutoLink:
			b.WriteString(renderURLTokens(string(c.Label(p.source))))
		case *ast.Image:
			b.WriteString("[Image: " + strings.TrimSpace(p.inline(c)) + "]")
		case *ast.RawHTML:
			// raw HTML is not rendered
		case *extast.TaskCheckBox:
			if c.IsChecked {
				b.WriteString("[x] ")
			} else {
				b.WriteString("[ ] ")
			}
		default:
			p.inlineTo(b, c)
		}
	}
}

func renderUnescape(v []byte) []byte {
	return util.ResolveEntityNames(util.ResolveNumericReferences(util.UnescapePunctuations(v)))
}

// renderURLTokens marks the field placeholders in a plain-text URL so their
// values are percent-encoded.
func renderURLTokens(s string) string {
	return strings.ReplaceAll(s, renderTokenPrefix+string(rune(renderKindField)), renderTokenPrefix+string(rune(renderKindFieldURL)))
}

// renderWidth counts runes, taking a placeholder as renderTokenWidth wide.
func renderWidth(s string) int {
	n := utf8.RuneCountInString(s)
	if c := strings.Count(s, renderTokenPrefix); c > 0 {
		n += c * (renderTokenWidth - renderTokenLen)
		// Percent-encoding makes values in URLs wider.
		n += strings.Count(s, renderTokenPrefix+string(rune(renderKindFieldURL))) * renderTokenWidth
	}
	return n
}

// renderWrap fills words into lines at most width wide (a longer word gets a
// line of its own); "\n" in s forces a break.
func renderWrap(s string, width int) []string {
	var lines []string
	for para := range strings.SplitSeq(s, "\n") {
		var line strings.Builder
		w := 0
		// Split on ASCII spaces only: a no-break space keeps its words together.
		for _, word := range strings.FieldsFunc(para, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' }) {
			ww := renderWidth(word)
			if w > 0 && w+1+ww > width {
				lines = append(lines, line.String())
				line.Reset()
				w = 0
			}
			if w > 0 {
				line.WriteByte(' ')
				w++
			}
			line.WriteString(word)
			w += ww
		}
		lines = append(lines, line.String())
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
