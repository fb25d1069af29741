package email

import (
	"slices"
	"strconv"
	"strings"

	"github.com/crierhq/crier/internal/segment"
)

// AttrWarning is a merge field {{attr.KEY}} whose attribute no resident has: it is empty,
// or its fallback, for everyone. KEY is most often misspelt, or in the wrong case.
type AttrWarning struct {
	Part    string   // "subject", "body", "sms" or "leaflet"
	Key     string   // KEY
	Nearest []string // attribute names residents have, nearest first (at most 3)
}

// attrPartWords name a part for an officer.
var attrPartWords = map[string]string{"subject": "the subject", "body": "the e-bulletin",
	"sms": "the text message", "leaflet": "the leaflet"}

// String words the warning for a terminal:
//
//	{{attr.tenur}} in the e-bulletin: no resident has the attribute "tenur", so it is blank (or its fallback) for everyone; nearest: "tenure"
func (w AttrWarning) String() string { return w.words(strconv.Quote) }

// Words words the warning for a page, with curly quotes.
func (w AttrWarning) Words() string {
	return w.words(func(s string) string { return "“" + s + "”" })
}

func (w AttrWarning) words(quote func(string) string) string {
	part := attrPartWords[w.Part]
	if part == "" {
		part = w.Part
	}
	var b strings.Builder
	b.WriteString("{{attr." + w.Key + "}} in " + part + ": no resident has the attribute " + quote(w.Key) +
		", so it is blank (or its fallback) for everyone")
	if len(w.Nearest) > 0 {
		q := make([]string, len(w.Nearest))
		for i, n := range w.Nearest {
			q[i] = quote(n)
		}
		b.WriteString("; nearest: " + strings.Join(q, ", "))
	} else {
		b.WriteString("; no resident has any attributes")
	}
	return b.String()
}

// UnknownAttributes returns a warning for each distinct {{attr.KEY}} in text (the part
// named part) whose KEY is none of keys, the attribute names residents have. A text
// that does not compile gives none: its errors are reported when it is compiled.
func UnknownAttributes(part, text string, keys []string) []AttrWarning {
	t, err := CompileText("", part, text)
	if err != nil {
		return nil
	}
	var out []AttrWarning
	for _, f := range t.Fields() {
		key, ok := strings.CutPrefix(f, "attr.")
		if !ok || slices.Contains(keys, key) {
			continue
		}
		out = append(out, AttrWarning{Part: part, Key: key, Nearest: segment.Nearest(key, keys)})
	}
	return out
}
