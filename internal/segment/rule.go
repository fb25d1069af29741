// Package segment turns an officer's description of an audience ("tenants in Millbrook
// who can be reached by email") into one parameterised SQL query over contacts, counts
// who it reaches on each channel, and stores named segments.
package segment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/crierhq/crier/internal/contact"

	"github.com/crierhq/crier/internal/spell"
)

// ErrInvalid is wrapped by every validation error (errors.Is(err, segment.ErrInvalid)).
var ErrInvalid = errors.New("invalid segment rule")

// DefaultTopic is the topic a reachable leaf asks about when it names none.
const DefaultTopic = "general"

// Limits on a rule tree, so that a pasted or hostile rule can't build a query the
// database chokes on.
const (
	maxDepth       = 32
	maxNodes       = 1000
	maxListValues  = 1000
	maxValueLength = 500
	maxErrors      = 20
)

// Rule is a node of a segment's rule tree. A node is exactly one of: a group (All, the
// AND of its rules; Any, the OR of its rules; Not, the negation of one rule) or a leaf
// (Field, Op and, for most ops, Value). The empty Rule is the whole tree's way of saying
// "everyone"; anywhere below the root an empty node is an error.
//
// Topic is used only by the reachable leaf (the topic whose consent counts; default
// DefaultTopic).
type Rule struct {
	All []Rule `json:"all,omitempty"` // AND
	Any []Rule `json:"any,omitempty"` // OR
	Not *Rule  `json:"not,omitempty"`
	// leaf (exactly one of the groups above or a leaf):
	Field string `json:"field,omitempty"`
	Op    string `json:"op,omitempty"`
	Value any    `json:"value,omitempty"` // string, number, bool or []string depending on field/op
	Topic string `json:"topic,omitempty"` // reachable only: the consent's topic
	// Tag and Answer narrow "campaign replied": to replies an officer tagged Tag, or whose
	// poll answer (the option's key) is Answer.
	Tag    string `json:"tag,omitempty"`
	Answer string `json:"answer,omitempty"`
}

// IsEmpty reports whether r is the empty rule, which matches every contact.
func (r Rule) IsEmpty() bool {
	return r.All == nil && r.Any == nil && r.Not == nil && r.Field == "" && r.Op == "" && r.Value == nil && r.Topic == "" &&
		r.Tag == "" && r.Answer == ""
}

// RuleError is a problem at one place of a rule tree: Path is "rules" for the root,
// "rules.all[2].any[0]" below it. It wraps ErrInvalid.
type RuleError struct {
	Path string
	Msg  string
}

func (e *RuleError) Error() string { return e.Path + ": " + e.Msg }

// Unwrap lets errors.Is(err, ErrInvalid) see through the place.
func (e *RuleError) Unwrap() error { return ErrInvalid }

// Parse reads a rule tree from JSON (see Rule), puts its values in canonical form
// (lists of strings as []string, whole numbers as int64, other numbers as float64) and
// validates it. "null" and "{}" are the empty rule (everyone). Unknown keys are errors,
// so a misspelt "feild" is not silently ignored.
func Parse(data []byte) (Rule, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var r Rule
	if err := dec.Decode(&r); err != nil {
		return Rule{}, &RuleError{Path: "rules", Msg: "not a rule tree: " + jsonProblem(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return Rule{}, &RuleError{Path: "rules", Msg: "not a rule tree: unexpected data after the rule"}
	}
	r = canonical(r)
	if err := r.Validate(); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// jsonProblem words a decoding error for an officer: without Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%q must not be a JSON %s", te.Field, te.Value)
		}
		return fmt.Sprintf("a rule must be a JSON object, not a %s", te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// canonical rewrites the values JSON decoding produced into the forms Validate and
// Compile expect, and that survive a trip through JSON unchanged.
func canonical(r Rule) Rule {
	for i := range r.All {
		r.All[i] = canonical(r.All[i])
	}
	for i := range r.Any {
		r.Any[i] = canonical(r.Any[i])
	}
	if r.Not != nil {
		n := canonical(*r.Not)
		r.Not = &n
	}
	r.Value = canonicalValue(r.Value)
	return r
}

func canonicalValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return v // out of range: Validate says so
		}
		return canonicalFloat(f)
	case float64:
		return canonicalFloat(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return v // not a list of strings: Validate says so
			}
			out = append(out, s)
		}
		return out
	}
	return v
}

// canonicalFloat keeps whole numbers that a float64 holds exactly as int64, so that 5
// and 5.0 are the same value and an id reads back as the id.
func canonicalFloat(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		return int64(f)
	}
	return f
}

// valueKind is the shape of value an op takes.
type valueKind int

const (
	noValue    valueKind = iota // the op takes no value
	oneString                   // a non-empty string
	someString                  // a non-empty list of non-empty strings
	oneBool                     // true or false
	oneID                       // a positive whole number (an id)
	oneScalar                   // a string, number or bool (attributes)
)

func (k valueKind) describe() string {
	switch k {
	case noValue:
		return "no value"
	case oneString:
		return "a text value"
	case someString:
		return "a list of text values"
	case oneBool:
		return "true or false"
	case oneID:
		return "a campaign id (a whole number)"
	case oneScalar:
		return "a text, number or true/false value"
	}
	return "a value"
}

// fieldSpec says which ops a leaf field takes, and what value each op needs. The
// compilers for each field live in compile.go; this table is the allow-list both use.
type fieldSpec struct {
	ops   map[string]valueKind
	check func(op string, v any) string // extra checks on the value; "" when fine
}

// attrPrefix starts a leaf field that reads a free attribute: "attr.tenure".
const attrPrefix = "attr."

var attrSpec = fieldSpec{ops: map[string]valueKind{
	"eq": oneScalar, "ne": oneScalar, "in": someString, "exists": noValue, "contains": oneString,
}}

var fields = map[string]fieldSpec{
	"ward":            {ops: map[string]valueKind{"eq": oneString, "ne": oneString, "in": someString, "not_in": someString}},
	"postcode_sector": {ops: map[string]valueKind{"eq": oneString, "in": someString, "prefix": oneString}, check: checkSector},
	"postcode":        {ops: map[string]valueKind{"eq": oneString, "in": someString, "prefix": oneString}, check: checkPostcode},
	"street":          {ops: map[string]valueKind{"eq": oneString, "in": someString}},
	"language":        {ops: map[string]valueKind{"eq": oneString, "in": someString}, check: checkLanguage},
	"large_print":     {ops: map[string]valueKind{"is": oneBool}},
	"accessibility":   {ops: map[string]valueKind{"has": oneString}},
	"tag":             {ops: map[string]valueKind{"has": oneString, "has_any": someString, "has_all": someString}},
	"first_name":      {ops: map[string]valueKind{"eq": oneString, "prefix": oneString}},
	"last_name":       {ops: map[string]valueKind{"eq": oneString, "prefix": oneString}},
	"topic":           {ops: map[string]valueKind{"subscribed": oneString}, check: checkTopic},
	"reachable":       {ops: map[string]valueKind{"by": oneString}, check: checkChannel},
	"campaign":        {ops: campaignKinds()},
}

// campaignKinds derives the campaign field's ops from campaignOps, so that a new
// engagement op is added in one place.
func campaignKinds() map[string]valueKind {
	m := make(map[string]valueKind, len(campaignOps))
	for op := range campaignOps {
		m[op] = oneID
	}
	return m
}

var (
	slugRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	attrKeyRE = regexp.MustCompile(`^[\p{L}\p{N}_-]{1,100}$`)
	langRE    = regexp.MustCompile(`^[A-Za-z]{2,3}$`)
)

func checkTopic(_ string, v any) string {
	if s, _ := v.(string); !slugRE.MatchString(s) {
		return fmt.Sprintf("%q is not a topic slug (lower-case letters, digits and hyphens, e.g. \"general\")", s)
	}
	return ""
}

func checkChannel(_ string, v any) string {
	s, _ := v.(string)
	if _, ok := reachChannels[s]; !ok {
		return fmt.Sprintf("channel %q is unknown: use one of %s%s", s, strings.Join(sortedKeys(reachChannels), ", "),
			suggest(s, sortedKeys(reachChannels)))
	}
	return ""
}

func checkLanguage(_ string, v any) string {
	for _, s := range valueStrings(v) {
		if !langRE.MatchString(strings.TrimSpace(s)) {
			return fmt.Sprintf("%q is not a language code: use a two- or three-letter code such as en or cy", s)
		}
	}
	return ""
}

func checkSector(op string, v any) string {
	if op == "prefix" {
		return ""
	}
	for _, s := range valueStrings(v) {
		if _, ok := normSector(s); !ok {
			return fmt.Sprintf("%q is not a postcode sector (e.g. \"SE24 9\")", s)
		}
	}
	return ""
}

func checkPostcode(op string, v any) string {
	if op == "prefix" {
		return ""
	}
	for _, s := range valueStrings(v) {
		if _, err := contact.NormalizePostcode(s); err != nil {
			return fmt.Sprintf("%q is not a full postcode (e.g. \"SE24 9HB\"); use prefix for part of one", s)
		}
	}
	return ""
}

// normSector returns a sector in stored form ("se249" → "SE24 9").
func normSector(s string) (string, bool) {
	pc, err := contact.NormalizePostcode(s + "AA")
	if err != nil {
		return "", false
	}
	return pc.Sector, true
}

// Validate checks the whole tree and returns every problem (up to 20), each a
// *RuleError naming its place, joined with errors.Join; nil when the rule is valid.
func (r Rule) Validate() error {
	v := validator{}
	if !r.IsEmpty() {
		v.node(r, "rules", 1)
	}
	return errors.Join(v.errs...)
}

type validator struct {
	errs  []error
	nodes int
}

func (v *validator) fail(path, format string, args ...any) {
	if len(v.errs) < maxErrors {
		v.errs = append(v.errs, &RuleError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
}

func (v *validator) node(r Rule, path string, depth int) {
	v.nodes++
	if v.nodes == maxNodes+1 {
		v.fail(path, "the rule tree has more than %d rules", maxNodes)
	}
	if v.nodes > maxNodes || len(v.errs) >= maxErrors {
		return
	}
	if depth > maxDepth {
		v.fail(path, "rules are nested more than %d deep", maxDepth)
		return
	}
	var kinds []string
	if r.All != nil {
		kinds = append(kinds, "all")
	}
	if r.Any != nil {
		kinds = append(kinds, "any")
	}
	if r.Not != nil {
		kinds = append(kinds, "not")
	}
	leaf := r.Field != "" || r.Op != "" || r.Value != nil || r.Topic != "" || r.Tag != "" || r.Answer != ""
	if leaf {
		kinds = append(kinds, "field")
	}
	switch {
	case len(kinds) == 0:
		v.fail(path, "the rule is empty: give all, any, not or a field")
		return
	case len(kinds) > 1:
		v.fail(path, "a rule is one of all, any, not or a field, but this one has %s", strings.Join(kinds, " and "))
		return
	}
	switch kinds[0] {
	case "all", "any":
		list := r.All
		if kinds[0] == "any" {
			list = r.Any
		}
		if len(list) == 0 {
			v.fail(path, "%s needs at least one rule", kinds[0])
		}
		for i, c := range list {
			v.node(c, fmt.Sprintf("%s.%s[%d]", path, kinds[0], i), depth+1)
		}
	case "not":
		v.node(*r.Not, path+".not", depth+1)
	default:
		v.leaf(r, path)
	}
}

func (v *validator) leaf(r Rule, path string) {
	spec, ok := lookupField(r.Field)
	switch {
	case r.Field == "":
		v.fail(path, "the rule has no field")
		return
	case strings.HasPrefix(r.Field, attrPrefix) && !attrKeyRE.MatchString(r.Field[len(attrPrefix):]):
		v.fail(path, "attribute name %q must be letters, digits, _ or - (e.g. attr.tenure)", r.Field[len(attrPrefix):])
		return
	case !ok:
		v.fail(path, "field %q is unknown%s", r.Field, suggest(r.Field, fieldNames()))
		return
	}
	ops := sortedKeys(spec.ops)
	kind, ok := spec.ops[r.Op]
	if !ok {
		if r.Op == "" {
			v.fail(path, "field %s needs an op: one of %s", r.Field, strings.Join(ops, ", "))
		} else {
			v.fail(path, "op %q does not apply to field %s: use one of %s%s", r.Op, r.Field, strings.Join(ops, ", "), suggest(r.Op, ops))
		}
		return
	}
	if r.Topic != "" && r.Field != "reachable" {
		v.fail(path, "topic applies only to the reachable field")
		return
	}
	if (r.Tag != "" || r.Answer != "") && (r.Field != "campaign" || r.Op != "replied") {
		v.fail(path, "tag and answer apply only to campaign replied")
		return
	}
	if r.Topic != "" && !slugRE.MatchString(r.Topic) {
		v.fail(path, "%q is not a topic slug (lower-case letters, digits and hyphens)", r.Topic)
		return
	}
	if msg := checkValue(kind, r.Value); msg != "" {
		v.fail(path, "%s %s needs %s, %s", r.Field, r.Op, kind.describe(), msg)
		return
	}
	if spec.check != nil {
		if msg := spec.check(r.Op, r.Value); msg != "" {
			v.fail(path, "%s", msg)
		}
	}
}

// checkValue returns "" when v has the shape kind asks for, otherwise what is wrong.
func checkValue(kind valueKind, v any) string {
	switch kind {
	case noValue:
		if v != nil {
			return "but has one"
		}
		return ""
	case oneString:
		s, ok := v.(string)
		if !ok {
			return "but has " + describeValue(v)
		}
		return checkString(s)
	case someString:
		list, ok := stringList(v)
		if !ok {
			return "but has " + describeValue(v)
		}
		if len(list) == 0 {
			return "but the list is empty"
		}
		if len(list) > maxListValues {
			return fmt.Sprintf("but the list has %d values (at most %d)", len(list), maxListValues)
		}
		for _, s := range list {
			if msg := checkString(s); msg != "" {
				return msg
			}
		}
		return ""
	case oneBool:
		if _, ok := v.(bool); !ok {
			return "but has " + describeValue(v)
		}
		return ""
	case oneID:
		if id, ok := intValue(v); !ok || id < 1 {
			return "but has " + describeValue(v)
		}
		return ""
	case oneScalar:
		if _, ok := scalarJSON(v); !ok {
			return "but has " + describeValue(v)
		}
		if s, ok := v.(string); ok {
			return checkString(s)
		}
		return ""
	}
	return "but the op is unknown"
}

func checkString(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "but a value is empty"
	case len(s) > maxValueLength:
		return fmt.Sprintf("but a value is longer than %d characters", maxValueLength)
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return "but a value is not valid text"
	}
	return ""
}

func describeValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "none"
	case string:
		return fmt.Sprintf("%q", v)
	case bool:
		return strconv.FormatBool(v)
	case []string, []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	if _, ok := scalarJSON(v); ok {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("a %T", v)
}

// stringList accepts the list forms a rule may hold: []string, or []any of strings from
// a caller that decoded JSON itself.
func stringList(v any) ([]string, bool) {
	switch v := v.(type) {
	case []string:
		return v, true
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// valueStrings is a leaf's value as a list: one string, or a list of them.
func valueStrings(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	list, _ := stringList(v)
	return list
}

// intValue accepts the whole-number forms a rule may hold.
func intValue(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) <= 1<<53 {
			return int64(v), true
		}
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	}
	return 0, false
}

// scalarJSON returns v as JSON text when it is a string, bool or finite number.
func scalarJSON(v any) (string, bool) {
	switch v := v.(type) {
	case string, bool, int, int32, int64:
		b, err := json.Marshal(v)
		return string(b), err == nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return "", false
		}
		b, err := json.Marshal(v)
		return string(b), err == nil
	case json.Number:
		if _, err := v.Float64(); err != nil {
			return "", false
		}
		return v.String(), true
	}
	return "", false
}

func lookupField(name string) (fieldSpec, bool) {
	if strings.HasPrefix(name, attrPrefix) {
		return attrSpec, attrKeyRE.MatchString(name[len(attrPrefix):])
	}
	s, ok := fields[name]
	return s, ok
}

func fieldNames() []string {
	return append(sortedKeys(fields), attrPrefix+"KEY")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// suggest returns " (did you mean X?)" for the known name closest to s, when one is
// close enough to be a likely typo.
func suggest(s string, known []string) string {
	best, bestD := spell.Nearest(strings.ToLower(s), known)
	limit := max(1, min(3, utf8.RuneCountInString(best)/3))
	if best == "" || bestD > limit || slices.Contains(known, s) {
		return ""
	}
	return " (did you mean " + best + "?)"
}
