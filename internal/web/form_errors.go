package web

// A form's problems, collected by field and shown as GOV.UK shows them: a summary at the
// top linking to each field, and each field's own message next to it.

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// formField is what the template needs to tie a field to its error and hint.
type formField struct {
	ID       string // the error message's id is ID + "-error"
	Error    string
	Describe string // aria-describedby: the hint and the error, as the field has them
}

// formError is one line of the error summary: its message, linking to Anchor.
type formError struct {
	Anchor  string
	Message string
}

// formLayout is what a form's errors are shown against.
type formLayout struct {
	Order   []string          // the form's fields in order ("" for the form as a whole): the error summary follows it
	Hints   map[string]bool   // the fields with a hint (its id is the field's + "-hint")
	Anchors map[string]string // where the summary links for fields that are a group of inputs: the first of them
}

// formErrors collects a form's problems by field ("" for the form as a whole).
type formErrors struct {
	by map[string][]string
}

// add records msg, as a sentence, against field (once).
func (e *formErrors) add(field, msg string) {
	if e.by == nil {
		e.by = map[string][]string{}
	}
	msg = sentence(msg)
	if !slices.Contains(e.by[field], msg) {
		e.by[field] = append(e.by[field], msg)
	}
}

// has reports whether field has a problem.
func (e *formErrors) has(field string) bool { return len(e.by[field]) > 0 }

// hasAny reports whether any field starting with one of prefixes has a problem.
func (e *formErrors) hasAny(prefixes ...string) bool {
	for f := range e.by {
		for _, p := range prefixes {
			if strings.HasPrefix(f, p) {
				return true
			}
		}
	}
	return false
}

// empty reports whether the form has no problems.
func (e *formErrors) empty() bool { return len(e.by) == 0 }

// summary lists the problems in l's order, each linking to its field.
func (e *formErrors) summary(l formLayout) []formError {
	var out []formError
	seen := map[string]bool{}
	emit := func(field string) {
		if seen[field] {
			return
		}
		seen[field] = true
		anchor := l.Anchors[field]
		if anchor == "" {
			anchor = field
		}
		for _, m := range e.by[field] {
			out = append(out, formError{Anchor: anchor, Message: m})
		}
	}
	for _, f := range l.Order {
		emit(f)
	}
	rest := make([]string, 0, len(e.by))
	for f := range e.by {
		rest = append(rest, f)
	}
	slices.Sort(rest)
	for _, f := range rest {
		emit(f)
	}
	return out
}

// fields ties every field of l to its hint and error.
func (e *formErrors) fields(l formLayout) map[string]formField {
	out := make(map[string]formField, len(l.Order))
	for _, f := range l.Order {
		if f == "" {
			continue
		}
		var ids []string
		if l.Hints[f] {
			ids = append(ids, f+"-hint")
		}
		fd := formField{ID: f}
		if e.has(f) {
			fd.Error = strings.Join(e.by[f], " ")
			ids = append(ids, f+"-error")
		}
		fd.Describe = strings.Join(ids, " ")
		out[f] = fd
	}
	return out
}

// sentence starts msg with a capital letter.
func sentence(msg string) string {
	msg = strings.TrimSpace(msg)
	r, n := utf8.DecodeRuneInString(msg)
	if n == 0 {
		return msg
	}
	return string(unicode.ToUpper(r)) + msg[n:]
}

// formText tidies a textarea: browsers send CRLF line ends.
func formText(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}

// formLine tidies a one-line input.
func formLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, s))
}

// unjoin splits an errors.Join.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
