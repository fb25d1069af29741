package campaign

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// HTMLLine is raw HTML in a campaign's Markdown, which the e-bulletin (and the
// campaign's web page) leave out: residents never see it.
type HTMLLine struct {
	Line int    // 1-based, in the text as written
	HTML string // the HTML as written, shortened to a few dozen characters
}

// DroppedHTML lists the raw HTML in markdown, by line, as the e-bulletin's renderer
// (goldmark with GitHub's extensions, raw HTML off; internal/email) parses it: the tags
// an officer wrote that will not appear. HTML comments are left out of the list: they
// are meant not to appear. An autolink (<https://…>) is a link, not HTML.
func DroppedHTML(markdown string) []HTMLLine {
	if !strings.Contains(markdown, "<") {
		return nil
	}
	source := []byte(markdown)
	doc := goldmark.New(goldmark.WithExtensions(extension.GFM)).Parser().Parse(text.NewReader(source))
	lineAt := func(off int) int { return 1 + bytes.Count(source[:min(off, len(source))], []byte("\n")) }
	var out []HTMLLine
	add := func(start int, raw []byte) {
		s := strings.TrimSpace(string(raw))
		if s == "" || strings.HasPrefix(s, "<!--") {
			return
		}
		if utf8.RuneCountInString(s) > 60 {
			s = string([]rune(s)[:59]) + "…"
		}
		line := lineAt(start)
		if n := len(out); n > 0 && out[n-1].Line == line {
			return // one mention a line is enough
		}
		out = append(out, HTMLLine{Line: line, HTML: s})
	}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.HTMLBlock:
			if n.HTMLBlockType == ast.HTMLBlockType2 { // a comment
				return ast.WalkSkipChildren, nil
			}
			lines := n.Lines()
			for i := range lines.Len() {
				seg := lines.At(i)
				add(seg.Start, seg.Value(source))
			}
			return ast.WalkSkipChildren, nil
		case *ast.RawHTML:
			for i := range n.Segments.Len() {
				seg := n.Segments.At(i)
				add(seg.Start, seg.Value(source))
			}
		}
		return ast.WalkContinue, nil
	})
	return out
}
