package ruleform

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/segment"
)

// Row is one row of the builder, as the officer typed it.
type Row struct {
	Not                                  bool
	Field, Op, Value, Topic, Tag, Answer string
}

// Blank reports whether the officer left the row empty.
func (r Row) Blank() bool {
	return !r.Not && r.Field == "" && r.Op == "" && strings.TrimSpace(r.Value) == "" &&
		strings.TrimSpace(r.Tag) == "" && strings.TrimSpace(r.Answer) == ""
}

// Form is the builder's input.
type Form struct {
	Name, Description string
	Match             string // "all" or "any"
	Purpose           string // the count's: segment.PurposeService or PurposeMarketing
	CountTopic        string
	Rows              []Row
}

// Parse reads the builder's form from r's body, keeping at most MaxRows rows.
func Parse(r *http.Request) Form {
	f := Form{Name: r.PostFormValue("name"), Description: r.PostFormValue("description"),
		Match: r.PostFormValue("match"), Purpose: r.PostFormValue("purpose"), CountTopic: r.PostFormValue("count_topic")}
	if f.Match != "any" {
		f.Match = "all"
	}
	n, _ := strconv.Atoi(r.PostFormValue("rows"))
	for i := range min(max(n, 0), MaxRows) {
		p := "rule-" + strconv.Itoa(i) + "-"
		f.Rows = append(f.Rows, Row{Not: r.PostFormValue(p+"not") != "",
			Field: strings.TrimSpace(r.PostFormValue(p + "field")), Op: strings.TrimSpace(r.PostFormValue(p + "op")),
			Value: r.PostFormValue(p + "value"), Topic: strings.TrimSpace(r.PostFormValue(p + "topic")),
			Tag: r.PostFormValue(p + "tag"), Answer: r.PostFormValue(p + "answer")})
	}
	return f
}

// Problem is one problem with the form: the control it is about and what to do.
type Problem struct {
	ID  string // the control's id, linked from the error summary
	Msg string
}

// MaxRows bounds the rows of the builder (the rule tree allows far more; a segment
// needing more is written as JSON for `crier segment create`).
const MaxRows = 50

// Check collects the form's problems while it is checked.
type Check struct {
	errs []Problem
	byID map[string]string
}

// Failed reports whether the form has a problem.
func (c *Check) Failed() bool { return len(c.errs) > 0 }

// Add records msg as the problem with control id, unless it has one already.
func (c *Check) Add(id, msg string) {
	if c.byID == nil {
		c.byID = map[string]string{}
	}
	if _, dup := c.byID[id]; dup {
		return
	}
	c.byID[id] = msg
	c.errs = append(c.errs, Problem{ID: id, Msg: msg})
}

// Lookups are what the builder offers and checks against.
type Lookups struct {
	Topics    []consent.Topic
	AttrKeys  []string         // the free attributes contacts have
	Campaigns []campaign.Ref   // recent campaigns, for a campaign rule's value
	Named     map[int64]string // the campaigns the rows name that exist, by number
}

// Topic returns the topic called slug.
func (l Lookups) Topic(slug string) (consent.Topic, bool) {
	for _, t := range l.Topics {
		if t.Slug == slug {
			return t, true
		}
	}
	return consent.Topic{}, false
}

func (l Lookups) topicSlugs() string {
	var out []string
	for _, t := range l.Topics {
		out = append(out, t.Slug)
	}
	return joinWords(out, "or")
}

// Rule turns the form's rows into a rule tree and checks it: first what the form can say
// in its own words (a field or comparison not chosen, a value missing), then with
// segment.Validate, whose problems are put on the row and control they concern. Blank
// rows are left out; no rows at all is the empty rule, everyone.
func (f Form) Rule(l Lookups, c *Check) (segment.Rule, bool) {
	before := len(c.errs)
	var leaves []segment.Rule
	var rowOf []int
	for i, row := range f.Rows {
		if row.Blank() {
			continue
		}
		leaf, ok := row.leaf(i, l, c)
		if !ok {
			continue
		}
		node := leaf
		if row.Not {
			node = segment.Rule{Not: &leaf}
		}
		leaves = append(leaves, node)
		rowOf = append(rowOf, i)
	}
	var root segment.Rule
	switch {
	case len(leaves) == 0:
	case f.Match == "any":
		root.Any = leaves
	default:
		root.All = leaves
	}
	c.RuleErrors(root.Validate(), root, rowOf)
	return root, len(c.errs) == before
}

var pathRE = regexp.MustCompile(`^rules\.(?:all|any)\[(\d+)\]`)

// RuleErrors puts segment.Validate's (or Create's) problems with root, built from
// rows rowOf, on the rows' controls: rules.all[1] is the second rule built.
func (c *Check) RuleErrors(err error, root segment.Rule, rowOf []int) {
	if err == nil {
		return
	}
	for _, e := range flatten(err) {
		var re *segment.RuleError
		if !errors.As(e, &re) {
			c.Add("rules", "The rules can’t be used: "+e.Error())
			continue
		}
		n := -1
		if m := pathRE.FindStringSubmatch(re.Path); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		if n < 0 || n >= len(rowOf) {
			c.Add("rules", "The rules can’t be used: "+upperFirst(re.Msg))
			continue
		}
		leaf := root.All
		if leaf == nil {
			leaf = root.Any
		}
		node := leaf[n]
		if node.Not != nil {
			node = *node.Not
		}
		row := rowOf[n]
		c.Add(fmt.Sprintf("rule-%d-%s", row, culprit(node)), fmt.Sprintf("Rule %d: %s", row+1, re.Msg))
	}
}

// flatten lists the problems in err: the RuleErrors that Validate joins (and
// Create wraps), or err itself.
func flatten(err error) []error {
	var re *segment.RuleError
	switch u := err.(type) {
	case *segment.RuleError:
		return []error{err}
	case interface{ Unwrap() []error }:
		var out []error
		for _, e := range u.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	case interface{ Unwrap() error }:
		if in := u.Unwrap(); errors.As(in, &re) {
			return flatten(in)
		}
	}
	return []error{err}
}

// culprit says which control of a leaf Validate objects to: the topic, tag or answer
// when the leaf is valid without it, else the value. (The field and comparison were
// checked against the builder's lists already.)
func culprit(leaf segment.Rule) string {
	if leaf.Topic != "" {
		t := leaf
		t.Topic = ""
		if t.Validate() == nil {
			return "topic"
		}
	}
	if leaf.Tag != "" || leaf.Answer != "" {
		for _, control := range []string{"tag", "answer"} {
			t := leaf
			if control == "tag" {
				t.Tag = ""
			} else {
				t.Answer = ""
			}
			if t.Validate() == nil {
				return control
			}
		}
		if leaf.Tag != "" {
			return "tag"
		}
		return "answer"
	}
	return "value"
}

// leaf is row i as a rule leaf, or false with its problem recorded.
func (row Row) leaf(i int, l Lookups, c *Check) (segment.Rule, bool) {
	id := func(control string) string { return fmt.Sprintf("rule-%d-%s", i, control) }
	fail := func(control, msg string) (segment.Rule, bool) {
		c.Add(id(control), fmt.Sprintf("Rule %d: %s", i+1, msg))
		return segment.Rule{}, false
	}
	if row.Field == "" {
		return fail("field", "choose what the rule is about")
	}
	f, ok := LookupField(row.Field)
	if !ok {
		return fail("field", "choose what the rule is about from the list")
	}
	if row.Op == "" {
		return fail("op", "choose how to compare "+lowerFirst(f.Label))
	}
	op, ok := f.op(row.Op)
	if !ok {
		var labels []string
		for _, o := range f.Ops {
			labels = append(labels, "“"+o.Label+"”")
		}
		return fail("op", fmt.Sprintf("%s can’t be compared with “%s”: choose %s", f.Label, opLabel(row.Op), joinWords(labels, "or")))
	}
	r := segment.Rule{Field: f.Name, Op: op.Code}
	v := strings.TrimSpace(row.Value)
	switch op.Kind {
	case NoValue:
	case Text:
		if v == "" {
			return fail("value", "enter "+f.Need)
		}
		r.Value = v
	case List:
		var list []string
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, p)
			}
		}
		if len(list) == 0 {
			return fail("value", "enter one or more values, separated by commas")
		}
		r.Value = list
	case Bool:
		b, ok := yesNo(v)
		if !ok {
			return fail("value", "enter yes or no")
		}
		r.Value = b
	case CampaignID:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return fail("value", "enter the campaign’s number, for example 12")
		}
		if _, ok := l.Named[n]; !ok {
			return fail("value", fmt.Sprintf("there is no campaign number %d", n))
		}
		r.Value = n
	}
	switch f.Name {
	case "topic":
		if _, ok := l.Topic(v); !ok {
			return fail("value", fmt.Sprintf("there is no topic “%s”: enter %s", v, l.topicSlugs()))
		}
	case "reachable":
		if row.Topic != "" {
			if _, ok := l.Topic(row.Topic); !ok {
				return fail("topic", "choose a topic from the list")
			}
			r.Topic = row.Topic
		}
	case "campaign":
		r.Tag, r.Answer = strings.TrimSpace(row.Tag), strings.TrimSpace(row.Answer)
	}
	return r, true
}

func yesNo(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "y", "true":
		return true, true
	case "no", "n", "false":
		return false, true
	}
	return false, false
}

// Warnings words segment.Unmatched's warnings for a page, each naming its rule's row
// when the rules were built from rows rowOf (the builder's), else the tree's place.
func Warnings(ws []segment.Warning, rowOf []int) []string {
	var out []string
	for _, w := range ws {
		where := ""
		if m := pathRE.FindStringSubmatch(w.Path); m != nil {
			if n, _ := strconv.Atoi(m[1]); n < len(rowOf) {
				where = fmt.Sprintf("Rule %d: ", rowOf[n]+1)
			}
		}
		out = append(out, where+w.Words())
	}
	return out
}

// lowerFirst lower-cases a label's first letter, for the middle of a sentence.
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// upperFirst capitalises a message's first letter.
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// joinWords lists items as "a, b or c".
func joinWords(items []string, and string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + and + " " + items[len(items)-1]
}
