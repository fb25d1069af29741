package email

import (
	"errors"
	"slices"
	"strings"
)

// TextTemplate is plain text with merge fields, such as an SMS, checked once and
// personalised many times. Fields read and fall back exactly as in e-bulletins
// ({{first_name | "neighbour"}}); nothing is escaped. It is immutable and safe for
// concurrent use.
type TextTemplate struct {
	parts  []renderPart
	fields []renderField
}

// CompileText parses src, whose errors name campaign and part ("sms").
func CompileText(campaign, part, src string) (*TextTemplate, error) {
	p := renderParser{campaign: campaign, index: map[renderField]int{}}
	parts := p.parse(part, src)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return &TextTemplate{parts: parts, fields: p.fields}, nil
}

// Render personalises the text for r.
func (t *TextTemplate) Render(r Recipient) string {
	var b strings.Builder
	for _, part := range t.parts {
		if part.field < 0 {
			b.WriteString(part.lit)
			continue
		}
		v := t.fields[part.field].resolve(&r)
		b.WriteString(v.a)
		if v.b != "" {
			b.WriteByte(' ')
			b.WriteString(v.b)
		}
	}
	return b.String()
}

// Fields lists the distinct merge fields the text uses, sorted.
func (t *TextTemplate) Fields() []string {
	names := make([]string, len(t.fields))
	for i, f := range t.fields {
		names[i] = f.name()
	}
	slices.Sort(names)
	return slices.Compact(names)
}
