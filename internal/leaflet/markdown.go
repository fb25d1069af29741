package leaflet

import (
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// span is a run of inline text, bold or not. "\n" inside text is a hard line break.
type span struct {
	text string
	bold bool
}

type blockKind uint8

const (
	blockPara    blockKind = iota // a paragraph (also a list item's paragraph)
	blockHeading                  // # (level 1), ## (level 2), ### and deeper (level 3)
	blockCode                     // preformatted: line breaks kept
	blockRule                     // a thematic break (---)
)

// block is one laid-out unit of the body, flattened out of the Markdown tree:
// list nesting and block quotes become indentation.
type block struct {
	kind   blockKind
	level  int    // heading level, 1–3
	indent int    // list and quote nesting depth
	marker string // list marker ("•", "3.") on an item's first block
	tight  bool   // a later item of a tight list: no paragraph gap before it
	spans  []span
}

// parseBody turns the Markdown subset into blocks. Headings, paragraphs,
// bullet and numbered lists (nested too) and **bold** keep their meaning;
// everything else is printed as plain text, never dropped: a link prints its
// text and its address, an image its description and address, code and raw
// HTML their source text, a block quote is indented.
func parseBody(src string) []block {
	source := []byte(src)
	doc := goldmark.New().Parser().Parse(text.NewReader(source))
	p := mdFlattener{source: source}
	p.blocks(doc, 0)
	return p.out
}

type mdFlattener struct {
	source []byte
	out    []block
}

func (p *mdFlattener) blocks(n ast.Node, indent int) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		p.block(c, indent)
	}
}

func (p *mdFlattener) block(n ast.Node, indent int) {
	switch n := n.(type) {
	case *ast.Heading:
		p.out = append(p.out, block{kind: blockHeading, level: min(n.Level, 3), indent: indent, spans: p.inline(n)})
	case *ast.Paragraph, *ast.TextBlock:
		p.out = append(p.out, block{kind: blockPara, indent: indent, spans: p.inline(n)})
	case *ast.List:
		num := n.Start
		first := true
		for item := n.FirstChild(); item != nil; item = item.NextSibling() {
			marker := "•"
			if indent > 0 {
				marker = "◦"
			}
			if n.IsOrdered() {
				marker = strconv.Itoa(num) + string(n.Marker)
				num++
			}
			start := len(p.out)
			p.blocks(item, indent+1)
			if len(p.out) == start || p.out[start].marker != "" || p.out[start].kind == blockRule {
				// An empty item, or one opening with a nested list: the marker gets a line of its own.
				p.out = append(p.out[:start], append([]block{{kind: blockPara, indent: indent + 1}}, p.out[start:]...)...)
			}
			p.out[start].marker = marker
			p.out[start].tight = n.IsTight && (!first || indent > 0)
			first = false
		}
	case *ast.Blockquote:
		p.blocks(n, indent+1)
	case *ast.FencedCodeBlock, *ast.CodeBlock, *ast.HTMLBlock:
		var b strings.Builder
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			b.Write(seg.Value(p.source))
		}
		if h, ok := n.(*ast.HTMLBlock); ok && h.HasClosure() {
			b.Write(h.ClosureLine.Value(p.source))
		}
		if s := strings.TrimRight(b.String(), "\n"); strings.TrimSpace(s) != "" {
			p.out = append(p.out, block{kind: blockCode, indent: indent, spans: []span{{text: s}}})
		}
	case *ast.ThematicBreak:
		p.out = append(p.out, block{kind: blockRule, indent: indent})
	default:
		// Any other block (from a future parser extension) still prints its text.
		if n.Type() == ast.TypeBlock && n.FirstChild() != nil && n.FirstChild().Type() == ast.TypeInline {
			p.out = append(p.out, block{kind: blockPara, indent: indent, spans: p.inline(n)})
		} else {
			p.blocks(n, indent)
		}
	}
}

// inline flattens an inline run into spans, merging neighbours of equal weight.
func (p *mdFlattener) inline(n ast.Node) []span {
	var spans []span
	p.inlineTo(&spans, n, false)
	return spans
}

func addSpan(spans *[]span, s string, bold bool) {
	if s == "" {
		return
	}
	if k := len(*spans); k > 0 && (*spans)[k-1].bold == bold {
		(*spans)[k-1].text += s
		return
	}
	*spans = append(*spans, span{text: s, bold: bold})
}

func (p *mdFlattener) plain(n ast.Node) string {
	var spans []span
	p.inlineTo(&spans, n, false)
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(s.text)
	}
	return b.String()
}

func (p *mdFlattener) inlineTo(spans *[]span, n ast.Node, bold bool) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			v := c.Segment.Value(p.source)
			if !c.IsRaw() {
				v = util.ResolveEntityNames(util.ResolveNumericReferences(util.UnescapePunctuations(v)))
			}
			addSpan(spans, string(v), bold)
			switch {
			case c.HardLineBreak():
				addSpan(spans, "\n", bold)
			case c.SoftLineBreak():
				addSpan(spans, " ", bold)
			}
		case *ast.String:
			addSpan(spans, string(c.Value), bold)
		case *ast.Emphasis:
			p.inlineTo(spans, c, bold || c.Level >= 2)
		case *ast.Link:
			label := strings.TrimSpace(p.plain(c))
			p.inlineTo(spans, c, bold)
			if dest := printedURL(string(c.Destination)); dest != "" && !sameAddress(label, dest) {
				addSpan(spans, " ("+dest+")", bold)
			}
		case *ast.AutoLink:
			addSpan(spans, string(c.Label(p.source)), bold)
		case *ast.Image:
			alt := strings.TrimSpace(p.plain(c))
			dest := printedURL(string(c.Destination))
			switch {
			case alt != "" && dest != "":
				addSpan(spans, alt+" ("+dest+")", bold)
			case alt != "":
				addSpan(spans, alt, bold)
			default:
				addSpan(spans, dest, bold)
			}
		case *ast.RawHTML:
			for i := 0; i < c.Segments.Len(); i++ {
				seg := c.Segments.At(i)
				addSpan(spans, string(seg.Value(p.source)), bold)
			}
		default: // code spans and anything else: their text
			p.inlineTo(spans, c, bold)
		}
	}
}

// printedURL is a link destination as a reader would type it: a mailto: link
// prints only its address.
func printedURL(dest string) string {
	dest = strings.TrimSpace(dest)
	if len(dest) > 7 && strings.EqualFold(dest[:7], "mailto:") {
		return dest[7:]
	}
	return dest
}

// sameAddress reports whether a link's text already shows its address, so it
// need not be printed twice: "crier.example/bins" for https://crier.example/bins.
func sameAddress(label, dest string) bool {
	trim := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		for _, p := range []string{"https://", "http://"} {
			s = strings.TrimPrefix(s, p)
		}
		s = strings.TrimPrefix(s, "www.")
		return strings.TrimSuffix(s, "/")
	}
	return trim(label) == trim(dest)
}
