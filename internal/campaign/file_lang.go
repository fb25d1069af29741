package campaign

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/crierhq/crier/internal/lang"
)

// langText is a text of a campaign file's front matter: one text, or one per language
//
//	subject:
//	  cy: "Mae eich diwrnod bin yn newid"
//	  en: "Your bin day is changing"
type langText struct {
	one   string
	by    map[string]string
	order []string       // the languages as the file lists them
	lines map[string]int // the front matter's line (1-based) of each language's text
}

func (t *langText) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Decode(&t.one)
	case yaml.MappingNode:
		t.by, t.lines = map[string]string{}, map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: the %s text must be text", v.Line, k.Value)
			}
			if _, dup := t.by[k.Value]; dup {
				return fmt.Errorf("line %d: %s is given twice", k.Line, k.Value)
			}
			t.by[k.Value], t.order = v.Value, append(t.order, k.Value)
			line := v.Line
			if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				line++ // the text starts on the line after "|" or ">"
			}
			t.lines[k.Value] = line
		}
		return nil
	}
	return fmt.Errorf("line %d: give one text, or one for each language (cy: …, en: …)", n.Line)
}

// in is the text in language code ("" for a file in one language).
func (t langText) in(code string) string {
	if t.by != nil {
		return t.by[code]
	}
	return t.one
}

// lineOf is the file line of the text in code: the key's line, or (in a mapping) the
// language's own line; the front matter starts on line 2.
func (t langText) lineOf(code string, keyLine int) int {
	if l, ok := t.lines[code]; ok {
		return l + 1
	}
	return keyLine
}

// languages checks the file's languages against its texts: a text given per language
// names only languages the file lists, and a file in several languages gives each text
// per language.
func (f *fileFront) languages(name, front string) error {
	at := frontLines(front)
	var errs []error
	for _, code := range f.Languages {
		if _, ok := lang.Lookup(code); !ok || code != strings.ToLower(code) {
			errs = append(errs, fmt.Errorf("%s:%d: languages: %q is not a language code crier knows: use codes such as cy, en, pl, ur",
				name, at["languages"], code))
		}
	}
	texts := []struct {
		key string
		t   langText
	}{{"subject", f.Subject}, {"sms", f.SMS}, {"leaflet_title", f.LeafletTitle}, {"leaflet_body", f.LeafletBody}}
	for _, x := range texts {
		switch {
		case x.t.by != nil && len(f.Languages) == 0:
			errs = append(errs, fmt.Errorf("%s:%d: %s is given per language (%s): list the languages first, default first, e.g. languages: [%s]",
				name, at[x.key], x.key, strings.Join(x.t.order, ", "), strings.Join(x.t.order, ", ")))
		case x.t.by == nil && len(f.Languages) > 1 && strings.TrimSpace(x.t.one) != "":
			errs = append(errs, fmt.Errorf("%s:%d: %s: the campaign is in %s, so give it in each (%s: …)",
				name, at[x.key], x.key, strings.Join(f.Languages, " and "), strings.Join(f.Languages, ": …, ")))
		case x.t.by != nil:
			for _, code := range x.t.order {
				if !slices.Contains(f.Languages, code) {
					errs = append(errs, fmt.Errorf("%s:%d: %s: %q is not one of the campaign's languages [%s]",
						name, x.t.lineOf(code, at[x.key]), x.key, code, strings.Join(f.Languages, ", ")))
				}
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// langBody is one language's Markdown and the file line of its first line that is not
// blank.
type langBody struct {
	text string
	line int
}

// fenceOpen is a Pandoc fenced div naming its language: "::: {lang=cy}", "::: {lang="cy"}",
// "::::{.note lang=cy}".
var (
	fenceOpen  = regexp.MustCompile(`^:{3,}\s*\{([^}]*)\}\s*:*\s*$`)
	fenceLang  = regexp.MustCompile(`(?:^|\s)lang=("?)([A-Za-z-]+)("?)(?:\s|$)`)
	fenceClose = regexp.MustCompile(`^:{3,}\s*$`)
	codeFence  = regexp.MustCompile("^\\s{0,3}(```|~~~)")
)

// splitLanguages reads a campaign file's Markdown (starting on file line start): for a
// file in several languages, one fenced div per language
//
//	::: {lang=cy}
//	# Mae eich diwrnod bin yn newid
//	:::
//
// with nothing but blank lines outside them. A file in one language (or none) may use a
// div or not. The result is by language code ("" for a file that names none).
func splitLanguages(name, body string, start int, langs []string) (map[string]langBody, error) {
	whole := langBody{text: body, line: start + strings.Count(body[:len(body)-len(strings.TrimLeftFunc(body, unicode.IsSpace))], "\n")}
	if !hasLangBlock(body) {
		if len(langs) > 1 {
			return nil, fmt.Errorf("%s:%d: the campaign is in %s: write each language's text in its own block, "+
				"opening with a line \"::: {lang=%s}\" and closing with a line \":::\"", name, whole.line, strings.Join(langs, " and "), langs[0])
		}
		code := ""
		if len(langs) == 1 {
			code = langs[0]
		}
		return map[string]langBody{code: whole}, nil
	}
	out := map[string]langBody{}
	var errs []error
	lines := strings.SplitAfter(body, "\n")
	cur, curFrom, inCode := "", 0, ""
	var b strings.Builder
	for i, ln := range lines {
		at := start + i
		t := strings.TrimRight(ln, "\n")
		if cur != "" {
			if m := codeFence.FindStringSubmatch(t); m != nil {
				switch {
				case inCode == "":
					inCode = m[1]
				case inCode == m[1]:
					inCode = ""
				}
			}
			if m := fenceOpen.FindStringSubmatch(t); inCode == "" && m != nil && fenceLang.MatchString(m[1]) {
				errs = append(errs, fmt.Errorf("%s:%d: a language block opens before the %q block (line %d) is closed: end that one with a line \":::\"",
					name, at, cur, curFrom-1))
				break
			}
			if inCode == "" && fenceClose.MatchString(t) {
				text := b.String()
				lead := strings.Count(text[:len(text)-len(strings.TrimLeftFunc(text, unicode.IsSpace))], "\n")
				out[cur] = langBody{text: text, line: curFrom + lead}
				cur = ""
				b.Reset()
				continue
			}
			b.WriteString(ln)
			continue
		}
		if strings.TrimSpace(t) == "" {
			continue
		}
		m := fenceOpen.FindStringSubmatch(t)
		if m == nil {
			errs = append(errs, fmt.Errorf("%s:%d: text outside a language block: put it inside one (\"::: {lang=%s}\" … \":::\")",
				name, at, cmpOr(langs, "en")))
			break
		}
		lm := fenceLang.FindStringSubmatch(m[1])
		if lm == nil || lm[1] != lm[3] {
			errs = append(errs, fmt.Errorf("%s:%d: a block needs its language: \"::: {lang=cy}\"", name, at))
			break
		}
		code := lm[2]
		switch {
		case !slices.Contains(langs, code):
			if len(langs) == 0 {
				errs = append(errs, fmt.Errorf("%s:%d: a block in %q, but the front matter lists no languages: add languages: [%s, …] (default first)", name, at, code, code))
			} else {
				errs = append(errs, fmt.Errorf("%s:%d: a block in %q, which is not one of the campaign's languages [%s]", name, at, code, strings.Join(langs, ", ")))
			}
		case out[code].line != 0:
			errs = append(errs, fmt.Errorf("%s:%d: a second block in %q: the first is at line %d", name, at, code, out[code].line))
		}
		cur, curFrom = code, at+1
	}
	if cur != "" && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: the block in %q (line %d) has no closing \":::\" line", name, cur, curFrom-1))
	}
	for _, code := range langs {
		if _, ok := out[code]; !ok && len(errs) == 0 {
			errs = append(errs, fmt.Errorf("%s: there is no block in %q: add one (\"::: {lang=%s}\" … \":::\"), or remove %q from languages", name, code, code, code))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func cmpOr(langs []string, def string) string {
	if len(langs) > 0 {
		return langs[0]
	}
	return def
}

// hasLangBlock reports whether body has a line opening a language block.
func hasLangBlock(body string) bool {
	for ln := range strings.Lines(body) {
		if m := fenceOpen.FindStringSubmatch(strings.TrimRight(ln, "\n")); m != nil && fenceLang.MatchString(m[1]) {
			return true
		}
	}
	return false
}
