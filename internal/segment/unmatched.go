package segment

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/spell"
)

// Warning is a rule that is valid but matches nobody because of one of its values: most
// often a typo ("Castel" for the ward "Castle"). It comes with the existing values nearest
// to it. It is a warning, not an error: the value may be about residents not imported yet.
type Warning struct {
	Path    string   // where in the tree, as in RuleError: "rules.all[1]"
	Field   string   // "ward", "attr.tenure"
	Value   string   // the value no resident has; for Key, the attribute's name
	Key     bool     // the attribute itself (Field) is recorded for nobody
	Nearest []string // existing values closest to Value, closest first; at most 3
	None    bool     // nobody has any value of Field recorded
}

// String words the warning for a terminal: ward "Castel" matches nobody; nearest: "Castle", "Castleton".
func (w Warning) String() string { return w.words(strconv.Quote) }

// Words words the warning for a page, with curly quotes.
func (w Warning) Words() string { return w.words(func(s string) string { return "“" + s + "”" }) }

func (w Warning) words(quote func(string) string) string {
	var b strings.Builder
	if w.Key {
		fmt.Fprintf(&b, "attribute %s is recorded for nobody", quote(w.Value))
	} else {
		fmt.Fprintf(&b, "%s %s matches nobody", strings.ReplaceAll(w.Field, "_", " "), quote(w.Value))
	}
	switch {
	case w.None && w.Key:
		b.WriteString("; no resident has any attribute recorded")
	case w.None:
		fmt.Fprintf(&b, "; no resident has a %s recorded", strings.ReplaceAll(w.Field, "_", " "))
	case len(w.Nearest) > 0:
		q := make([]string, len(w.Nearest))
		for i, n := range w.Nearest {
			q[i] = quote(n)
		}
		b.WriteString("; nearest: " + strings.Join(q, ", "))
	}
	return b.String()
}

// Limits on Unmatched's look-ups.
const (
	maxDistinct = 100000 // distinct values read per field
	maxNearest  = 3
)

// distinctSQL reads the distinct values each field can match, for Unmatched. attr reads
// an attribute's values ($1 is its name); attr_keys the attributes' names.
var distinctSQL = map[string]string{
	"ward":            `SELECT DISTINCT ward FROM contacts WHERE ward <> '' LIMIT $1`,
	"street":          `SELECT DISTINCT street FROM addresses WHERE street <> '' LIMIT $1`,
	"postcode":        `SELECT DISTINCT postcode FROM addresses WHERE postcode <> '' LIMIT $1`,
	"postcode_sector": `SELECT DISTINCT postcode_sector FROM addresses WHERE postcode_sector <> '' LIMIT $1`,
	"language":        `SELECT DISTINCT preferred_language FROM contacts WHERE preferred_language <> '' LIMIT $1`,
	"tag":             `SELECT DISTINCT t FROM contacts c CROSS JOIN LATERAL unnest(c.tags) t WHERE c.tags <> '{}' LIMIT $1`,
	"accessibility":   `SELECT DISTINCT n FROM contacts c CROSS JOIN LATERAL unnest(c.accessibility_needs) n WHERE c.accessibility_needs <> '{}' LIMIT $1`,
	"topic":           `SELECT slug FROM topics LIMIT $1`,
	"attr_keys":       `SELECT DISTINCT k FROM contacts c CROSS JOIN LATERAL jsonb_object_keys(c.attributes) k WHERE c.attributes <> '{}' LIMIT $1`,
	"attr":            `SELECT DISTINCT c.attributes ->> $2 FROM contacts c WHERE c.attributes <> '{}' AND c.attributes ? $2 LIMIT $1`,
}

// unmatchedNorm is how each field's values compare, as Compile compares them: ward, tag
// and attributes exactly; the rest ignoring case or in their stored form.
var unmatchedNorm = map[string]func(string) string{
	"ward":   strings.TrimSpace,
	"street": func(s string) string { return strings.ToLower(strings.TrimSpace(s)) },
	"postcode": func(s string) string {
		if pc, err := contact.NormalizePostcode(s); err == nil {
			return pc.Code
		}
		return s
	},
	"postcode_sector": func(s string) string {
		if sec, ok := normSector(s); ok {
			return sec
		}
		return s
	},
	"language":      func(s string) string { return strings.ToLower(strings.TrimSpace(s)) },
	"tag":           strings.TrimSpace,
	"accessibility": func(s string) string { return strings.ToLower(strings.TrimSpace(s)) },
	"topic":         strings.TrimSpace,
	"attr":          func(s string) string { return s },
}

// unmatchedOps are the ops whose values Unmatched checks, by field: those that name
// values residents have (not prefixes, not "contains").
var unmatchedOps = map[string][]string{
	"ward": {"eq", "ne", "in", "not_in"}, "street": {"eq", "in"}, "postcode": {"eq", "in"},
	"postcode_sector": {"eq", "in"}, "language": {"eq", "in"}, "tag": {"has", "has_any", "has_all"},
	"accessibility": {"has"}, "topic": {"subscribed"}, "attr": {"eq", "ne", "in"},
}

// Unmatched returns a Warning for each value in r's leaves that no resident has — a ward,
// street, postcode, sector, language, tag, accessibility need, topic or attribute value —
// and for each attribute recorded for nobody, each with the existing values nearest to
// it (ignoring case); at most 20 values are reported. Names are not checked: a warning
// would list residents' names. r must be valid.
func (s *Store) Unmatched(ctx context.Context, r Rule) ([]Warning, error) {
	values := map[string][]string{} // by field, or "attr:KEY"
	have := map[string]map[string]bool{}
	load := func(key, query string, args ...any) ([]string, map[string]bool, error) {
		if _, ok := values[key]; !ok {
			var vs []string
			if err := s.db.SelectContext(ctx, &vs, query, append([]any{maxDistinct}, args...)...); err != nil {
				return nil, nil, fmt.Errorf("segment values of %s: %w", key, err)
			}
			norm := unmatchedNorm[strings.SplitN(key, ":", 2)[0]]
			set := make(map[string]bool, len(vs))
			for _, v := range vs {
				if norm != nil {
					set[norm(v)] = true
				} else {
					set[v] = true
				}
			}
			values[key], have[key] = vs, set
		}
		return values[key], have[key], nil
	}

	var out []Warning
	var walk func(r Rule, path string) error
	walk = func(r Rule, path string) error {
		for i, c := range r.All {
			if err := walk(c, fmt.Sprintf("%s.all[%d]", path, i)); err != nil {
				return err
			}
		}
		for i, c := range r.Any {
			if err := walk(c, fmt.Sprintf("%s.any[%d]", path, i)); err != nil {
				return err
			}
		}
		if r.Not != nil {
			return walk(*r.Not, path+".not")
		}
		if r.Field == "" {
			return nil
		}
		if r.Field == "reachable" && r.Topic != "" {
			vs, set, err := load("topic", distinctSQL["topic"])
			if err != nil {
				return err
			}
			if !set[r.Topic] {
				out = append(out, Warning{Path: path, Field: "topic", Value: r.Topic, Nearest: Nearest(r.Topic, vs), None: len(vs) == 0})
			}
			return nil
		}
		field, key := r.Field, ""
		if k, ok := strings.CutPrefix(r.Field, attrPrefix); ok {
			field, key = "attr", k
			keys, set, err := load("attr_keys", distinctSQL["attr_keys"])
			if err != nil {
				return err
			}
			if !set[key] {
				out = append(out, Warning{Path: path, Field: r.Field, Value: key, Key: true, Nearest: Nearest(key, keys), None: len(keys) == 0})
				return nil
			}
		}
		if !slices.Contains(unmatchedOps[field], r.Op) {
			return nil
		}
		cacheKey, query, args := field, distinctSQL[field], []any(nil)
		if field == "attr" {
			cacheKey, args = "attr:"+key, []any{key}
		}
		vs, set, err := load(cacheKey, query, args...)
		if err != nil {
			return err
		}
		norm := unmatchedNorm[field]
		for _, v := range unmatchedValues(r.Value) {
			if !set[norm(v)] && len(out) < maxErrors {
				out = append(out, Warning{Path: path, Field: r.Field, Value: v, Nearest: Nearest(v, vs), None: len(vs) == 0})
			}
		}
		return nil
	}
	if err := walk(r, "rules"); err != nil {
		return nil, err
	}
	return out, nil
}

// AttributeKeys returns the names of the free attributes residents have (at most
// 100,000), sorted.
func (s *Store) AttributeKeys(ctx context.Context) ([]string, error) {
	var keys []string
	if err := s.db.SelectContext(ctx, &keys, distinctSQL["attr_keys"], maxDistinct); err != nil {
		return nil, fmt.Errorf("attribute names: %w", err)
	}
	slices.Sort(keys)
	return keys, nil
}

// unmatchedValues is a leaf's value as the texts it matches: a number or true/false as
// its text form, which is how imports store attributes.
func unmatchedValues(v any) []string {
	if list := valueStrings(v); list != nil {
		return list
	}
	if j, ok := scalarJSON(v); ok {
		return []string{strings.Trim(j, `"`)}
	}
	return nil
}

// Nearest returns up to three of values closest to v, ignoring case: those within a
// typo or two (a value that starts with something close to v counts too: "Castleton"
// for "Castel"), else simply the closest three, so that a warning still shows what the
// values look like. Ties go alphabetically.
func Nearest(v string, values []string) []string {
	q := strings.ToLower(strings.TrimSpace(v))
	n := utf8.RuneCountInString(q)
	type scored struct {
		value string
		score int
	}
	all := make([]scored, 0, len(values))
	for _, c := range values {
		lc := strings.ToLower(c)
		score := spell.Distance(q, lc)
		if r := []rune(lc); len(r) > n {
			score = min(score, spell.Distance(q, string(r[:n]))+1)
		}
		all = append(all, scored{c, score})
	}
	slices.SortStableFunc(all, func(a, b scored) int {
		if a.score != b.score {
			return a.score - b.score
		}
		return strings.Compare(a.value, b.value)
	})
	limit := max(2, n/3)
	first := all[:min(len(all), maxNearest)]
	var out []string
	for _, s := range first { // sorted: the close ones come first
		if s.score <= limit {
			out = append(out, s.value)
		}
	}
	if len(out) == 0 {
		// Nothing is close: the nearest still show what the values look like.
		for _, s := range first {
			out = append(out, s.value)
		}
	}
	return out
}
