package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lib/pq"
	"golang.org/x/sync/errgroup"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/segment"
)

// The officers' segment pages: the saved segments with who each reaches, a rule builder
// with a live count, and one segment's rules in plain English. Everything works without
// JavaScript: the builder's buttons ("Add a rule", "Remove", "Count", "Save") all submit
// the one form, and the server re-renders it with the officer's input kept.

const (
	// segmentMaxRows bounds the rows of the builder (the rule tree allows far more; a
	// segment needing more is written as JSON for `crier segment create`).
	segmentMaxRows = 50
	// segmentMaxName and segmentMaxDescription bound the texts, in characters.
	segmentMaxName        = 200
	segmentMaxDescription = 1000
	// segmentListCounts is how many segments the list counts at once.
	segmentListCounts = 4
	// segmentAttrKeys bounds the free attributes offered in the field select.
	segmentAttrKeys = 200
	// segmentCampaigns bounds the campaigns suggested for a campaign rule's value.
	segmentCampaigns = 100
)

// registerSegments adds the officers' segment pages to mux.
func (s *Server) registerSegments(mux *http.ServeMux) {
	officers := []string{auth.Officer}
	mux.HandleFunc("GET /segments", s.withUser(officers, s.handleSegments))
	mux.HandleFunc("GET /segments/new", s.withUser(officers, s.handleSegmentForm))
	mux.HandleFunc("POST /segments/new", s.withUser(officers, s.handleSegmentPost))
	mux.HandleFunc("GET /segments/{id}", s.withUser(officers, s.handleSegment))
}

// ---------------------------------------------------------------------------------
// The fields and comparisons the builder offers: a subset of segment's allow-list (a
// test checks that every one of them validates), with the words for the form and for
// rules in plain English.

// segValue is the shape of value a comparison takes in the form.
type segValue int

const (
	segNoValue segValue = iota // no value (attribute is recorded)
	segText                    // one text
	segList                    // comma-separated texts
	segBool                    // yes or no
	segID                      // a campaign's number
)

// segOp is one comparison of a field.
type segOp struct {
	Code   string
	Label  string // in the comparison select
	Kind   segValue
	Phrase string // the rule in plain English; {v} is the value
}

// segField is one thing a rule can be about.
type segField struct {
	Name  string // the rule's field: "ward", "attr.tenure"
	Label string // in the field select
	Group string // the select's option group
	Hint  string // about the value
	Need  string // what to enter when the value is missing: "a ward"
	Ops   []segOp
}

func (f segField) op(code string) (segOp, bool) {
	for _, o := range f.Ops {
		if o.Code == code {
			return o, true
		}
	}
	return segOp{}, false
}

func segOps(phrase string, ops ...segOp) []segOp {
	for i := range ops {
		if ops[i].Phrase == "" {
			ops[i].Phrase = phrase + " " + ops[i].Label + " {v}"
		}
	}
	return ops
}

var (
	segEq     = segOp{Code: "eq", Label: "is", Kind: segText}
	segNe     = segOp{Code: "ne", Label: "is not", Kind: segText}
	segIn     = segOp{Code: "in", Label: "is one of", Kind: segList}
	segNotIn  = segOp{Code: "not_in", Label: "is not one of", Kind: segList}
	segPrefix = segOp{Code: "prefix", Label: "starts with", Kind: segText}
)

var segFields = []segField{
	{Name: "ward", Need: "a ward", Label: "Ward", Group: "Where they live", Hint: "A ward’s name, for example Millbrook.",
		Ops: segOps("ward", segEq, segNe, segIn, segNotIn)},
	{Name: "postcode_sector", Need: "a postcode sector", Label: "Postcode sector", Group: "Where they live",
		Hint: "A postcode sector, for example SW9 8. “Starts with” takes the start of a postcode, such as SW9.",
		Ops:  segOps("postcode sector", segEq, segIn, segPrefix)},
	{Name: "postcode", Need: "a postcode", Label: "Postcode", Group: "Where they live",
		Hint: "A full postcode, for example SW9 8AB. “Starts with” takes the start of one, such as SW9.",
		Ops:  segOps("postcode", segEq, segIn, segPrefix)},
	{Name: "street", Need: "a street", Label: "Street", Group: "Where they live", Hint: "A street’s name, for example Acre Lane. Capitals do not matter.",
		Ops: segOps("street", segEq, segIn)},
	{Name: "first_name", Need: "a first name", Label: "First name", Group: "About them", Hint: "Capitals do not matter.",
		Ops: segOps("first name", segEq, segPrefix)},
	{Name: "last_name", Need: "a last name", Label: "Last name", Group: "About them", Hint: "Capitals do not matter.",
		Ops: segOps("last name", segEq, segPrefix)},
	{Name: "language", Need: "a language code", Label: "Preferred language", Group: "About them", Hint: "A two- or three-letter code, for example en or cy.",
		Ops: segOps("preferred language", segEq, segIn)},
	{Name: "large_print", Need: "yes or no", Label: "Large print", Group: "About them", Hint: "Yes or no.",
		Ops: []segOp{{Code: "is", Label: "is", Kind: segBool, Phrase: "{v}"}}},
	{Name: "accessibility", Need: "an accessibility need", Label: "Accessibility need", Group: "About them", Hint: "A need as recorded, for example braille or easy-read.",
		Ops: []segOp{{Code: "has", Label: "has", Kind: segText, Phrase: "has the accessibility need {v}"}}},
	{Name: "tag", Need: "a tag", Label: "Tag", Group: "About them", Hint: "A tag as recorded, for example business.",
		Ops: []segOp{{Code: "has", Label: "has", Kind: segText, Phrase: "has tag {v}"},
			{Code: "has_any", Label: "has any of", Kind: segList, Phrase: "has any of the tags {v}"},
			{Code: "has_all", Label: "has all of", Kind: segList, Phrase: "has all of the tags {v}"}}},
	{Name: "topic", Need: "a topic", Label: "Topic", Group: "Consent", Hint: "A topic’s short name, for example general.",
		Ops: []segOp{{Code: "subscribed", Label: "subscribed to", Kind: segText, Phrase: "agreed to hear about {v}"}}},
	{Name: "reachable", Need: "email, sms, post or any", Label: "Reachable", Group: "Consent", Hint: "One of email, sms, post or any (any of them).",
		Ops: []segOp{{Code: "by", Label: "by", Kind: segText, Phrase: "can be reached by {v}"}}},
	{Name: "campaign", Need: "a campaign’s number", Label: "Campaign", Group: "Campaigns", Hint: "The campaign’s number, shown in the list of campaigns.",
		Ops: []segOp{
			{Code: "sent", Label: "was sent", Kind: segID, Phrase: "was sent {v}"},
			{Code: "delivered", Label: "had delivered", Kind: segID, Phrase: "had {v} delivered"},
			{Code: "not_sent", Label: "was not sent", Kind: segID, Phrase: "was in the audience of {v} but was not sent it"},
			{Code: "not_delivered", Label: "did not have delivered", Kind: segID, Phrase: "was in the audience of {v} but did not have it delivered"},
			{Code: "replied", Label: "replied to", Kind: segID, Phrase: "replied by text to {v}"}}},
}

// segAttrOps are the comparisons of a free attribute; the phrases name it with {k}.
var segAttrOps = []segOp{
	{Code: "eq", Label: "is", Kind: segText, Phrase: "{k} is {v}"},
	{Code: "ne", Label: "is not", Kind: segText, Phrase: "{k} is not {v}"},
	{Code: "in", Label: "is one of", Kind: segList, Phrase: "{k} is one of {v}"},
	{Code: "contains", Label: "contains", Kind: segText, Phrase: "{k} contains {v}"},
	{Code: "exists", Label: "is recorded", Kind: segNoValue, Phrase: "has {k} recorded"},
}

const segAttrPrefix = "attr."

// segAttrKeyRE is segment's rule for an attribute's name.
var segAttrKeyRE = regexp.MustCompile(`^[\p{L}\p{N}_-]{1,100}$`)

// segAttrField is the field of the free attribute key.
func segAttrField(key string) segField {
	ops := slices.Clone(segAttrOps)
	for i := range ops {
		ops[i].Phrase = strings.ReplaceAll(ops[i].Phrase, "{k}", "the attribute “"+key+"”")
	}
	return segField{Name: segAttrPrefix + key, Label: key, Group: "Attributes (from imports)",
		Hint: "The value as it was imported.", Need: "a value", Ops: ops}
}

// segLookupField returns the builder's field called name.
func segLookupField(name string) (segField, bool) {
	if key, ok := strings.CutPrefix(name, segAttrPrefix); ok {
		return segAttrField(key), segAttrKeyRE.MatchString(key)
	}
	for _, f := range segFields {
		if f.Name == name {
			return f, true
		}
	}
	return segField{}, false
}

// segAllOps lists every comparison once, for a row whose field is not chosen yet.
func segAllOps() []segOp {
	var out []segOp
	seen := map[string]bool{}
	for _, f := range append(slices.Clone(segFields), segAttrField("x")) {
		for _, o := range f.Ops {
			if !seen[o.Code] {
				seen[o.Code] = true
				if o.Kind == segBool {
					o.Label = "is (yes or no)"
				}
				out = append(out, o)
			}
		}
	}
	return out
}

// segChannels are the reachable rule's channels, as a datalist offers and a rule reads.
var segChannels = []segOption{{Value: "email", Label: "email"}, {Value: "sms", Label: "SMS"},
	{Value: "post", Label: "post"}, {Value: "any", Label: "any channel"}}

// ---------------------------------------------------------------------------------
// The builder's form.

// segRow is one row of the builder, as the officer typed it.
type segRow struct {
	Not                                  bool
	Field, Op, Value, Topic, Tag, Answer string
}

func (r segRow) blank() bool {
	return !r.Not && r.Field == "" && r.Op == "" && strings.TrimSpace(r.Value) == "" &&
		strings.TrimSpace(r.Tag) == "" && strings.TrimSpace(r.Answer) == ""
}

// segForm is the builder's input.
type segForm struct {
	Name, Description string
	Match             string // "all" or "any"
	Purpose           string // the count's: segment.PurposeService or PurposeMarketing
	CountTopic        string
	Rows              []segRow
}

func segFormFrom(r *http.Request) segForm {
	f := segForm{Name: r.PostFormValue("name"), Description: r.PostFormValue("description"),
		Match: r.PostFormValue("match"), Purpose: r.PostFormValue("purpose"), CountTopic: r.PostFormValue("count_topic")}
	if f.Match != "any" {
		f.Match = "all"
	}
	n, _ := strconv.Atoi(r.PostFormValue("rows"))
	for i := range min(max(n, 0), segmentMaxRows) {
		p := "rule-" + strconv.Itoa(i) + "-"
		f.Rows = append(f.Rows, segRow{Not: r.PostFormValue(p+"not") != "",
			Field: strings.TrimSpace(r.PostFormValue(p + "field")), Op: strings.TrimSpace(r.PostFormValue(p + "op")),
			Value: r.PostFormValue(p + "value"), Topic: strings.TrimSpace(r.PostFormValue(p + "topic")),
			Tag: r.PostFormValue(p + "tag"), Answer: r.PostFormValue(p + "answer")})
	}
	return f
}

// segError is one problem with the form: the control it is about and what to do.
type segError struct {
	ID  string // the control's id, linked from the error summary
	Msg string
}

// segOption is an option of a select or datalist.
type segOption struct {
	Value, Label string
	Selected     bool
}

type segOptGroup struct {
	Label   string
	Options []segOption
}

// segRowView is a row of the builder as shown.
type segRowView struct {
	segRow
	Index       int
	FieldGroups []segOptGroup
	FieldOther  *segOption // a field the officer sent that the select does not offer
	Ops         []segOption
	ValueHint   string
	ValueList   []segOption // the value's datalist
	ShowTopic   bool
	Topics      []segOption
	ShowReply   bool
	errs        map[string]string
}

// Number is the row's number as officers read it.
func (v segRowView) Number() int { return v.Index + 1 }

// ID is the id of the row's control ("field", "op", "value", ...).
func (v segRowView) ID(control string) string { return "rule-" + strconv.Itoa(v.Index) + "-" + control }

// Err is the problem with the row's control, or "".
func (v segRowView) Err(control string) string { return v.errs[v.ID(control)] }

// DescribedBy is the control's aria-describedby: its error, then its hint.
func (v segRowView) DescribedBy(control string, hint bool) string {
	return segDescribedBy(v.ID(control), v.Err(control) != "", hint)
}

// segDescribedBy is the aria-describedby of control id: its error message (when it has
// one), then its hint (when it has one).
func segDescribedBy(id string, bad, hint bool) string {
	var ids []string
	if bad {
		ids = append(ids, id+"-error")
	}
	if hint {
		ids = append(ids, id+"-hint")
	}
	return strings.Join(ids, " ")
}

// segEditView is the builder page's data.
type segEditView struct {
	Name, Description, Match, Purpose string
	Rows                              []segRowView
	NextRow                           int // the index a new row gets
	CanAdd                            bool
	Topics                            []segOption // the count's topic
	Errors                            []segError  // the summary, in the order of the page
	Count                             *segCountView
	Warnings                          []string // values that match nobody, with the nearest that exist
	errs                              map[string]string
}

// Err is the problem with the control id, or "".
func (v segEditView) Err(id string) string { return v.errs[id] }

// DescribedBy is the control's aria-describedby: its error, then its hint.
func (v segEditView) DescribedBy(id string, hint bool) string {
	return segDescribedBy(id, v.Err(id) != "", hint)
}

// segCheck collects the form's problems while it is checked.
type segCheck struct {
	errs []segError
	byID map[string]string
}

func (c *segCheck) add(id, msg string) {
	if c.byID == nil {
		c.byID = map[string]string{}
	}
	if _, dup := c.byID[id]; dup {
		return
	}
	c.byID[id] = msg
	c.errs = append(c.errs, segError{ID: id, Msg: msg})
}

// segLookups are what the builder offers and checks against.
type segLookups struct {
	topics    []segTopic
	attrKeys  []string
	campaigns []segCampaign // recent campaigns, for a campaign rule's value
	named     map[int64]string
}

type segTopic struct {
	Slug string `db:"slug"`
	Name string `db:"name"`
}

type segCampaign struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

func (l segLookups) topic(slug string) (segTopic, bool) {
	for _, t := range l.topics {
		if t.Slug == slug {
			return t, true
		}
	}
	return segTopic{}, false
}

func (l segLookups) topicSlugs() string {
	var out []string
	for _, t := range l.topics {
		out = append(out, t.Slug)
	}
	return segJoin(out, "or")
}

func (s *Server) segmentTopics(ctx context.Context) ([]segTopic, error) {
	var out []segTopic
	if err := s.db.SelectContext(ctx, &out, `SELECT slug, name FROM topics ORDER BY name, slug`); err != nil {
		return nil, fmt.Errorf("segment topics: %w", err)
	}
	return out, nil
}

// segmentLookups reads the topics, the attributes' names and, when a row is about
// campaigns, the recent campaigns and those the rows name.
func (s *Server) segmentLookups(ctx context.Context, rows []segRow) (segLookups, error) {
	var l segLookups
	var err error
	if l.topics, err = s.segmentTopics(ctx); err != nil {
		return l, err
	}
	var keys []string
	if err := s.db.SelectContext(ctx, &keys, `SELECT DISTINCT k FROM contacts c CROSS JOIN LATERAL jsonb_object_keys(c.attributes) k
		WHERE c.attributes <> '{}' ORDER BY k LIMIT $1`, segmentAttrKeys); err != nil {
		return l, fmt.Errorf("segment attributes: %w", err)
	}
	for _, k := range keys {
		if segAttrKeyRE.MatchString(k) {
			l.attrKeys = append(l.attrKeys, k)
		}
	}
	var ids []int64
	for _, r := range rows {
		if r.Field == "campaign" {
			if id, err := strconv.ParseInt(strings.TrimSpace(r.Value), 10, 64); err == nil {
				ids = append(ids, id)
			} else {
				ids = append(ids, 0) // still offer the recent campaigns
			}
		}
	}
	if len(ids) > 0 {
		if err := s.db.SelectContext(ctx, &l.campaigns, `SELECT id, name FROM campaigns ORDER BY id DESC LIMIT $1`, segmentCampaigns); err != nil {
			return l, fmt.Errorf("segment campaigns: %w", err)
		}
		if l.named, err = s.campaignNames(ctx, ids); err != nil {
			return l, err
		}
	}
	return l, nil
}

// campaignNames returns the names of the campaigns ids that exist.
func (s *Server) campaignNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	var rows []segCampaign
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, name FROM campaigns WHERE id = ANY($1)`, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("segment campaigns: %w", err)
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

// rule turns the form's rows into a rule tree and checks it: first what the form can say
// in its own words (a field or comparison not chosen, a value missing), then with
// segment.Validate, whose problems are put on the row and control they concern. Blank
// rows are left out; no rows at all is the empty rule, everyone.
func (f segForm) rule(l segLookups, c *segCheck) (segment.Rule, bool) {
	before := len(c.errs)
	var leaves []segment.Rule
	var rowOf []int
	for i, row := range f.Rows {
		if row.blank() {
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
	segRuleErrors(root.Validate(), root, rowOf, c)
	return root, len(c.errs) == before
}

var segPathRE = regexp.MustCompile(`^rules\.(?:all|any)\[(\d+)\]`)

// segRuleErrors puts segment.Validate's (or Create's) problems with root, built from
// rows rowOf, on the rows' controls: rules.all[1] is the second rule built.
func segRuleErrors(err error, root segment.Rule, rowOf []int, c *segCheck) {
	if err == nil {
		return
	}
	for _, e := range segFlatten(err) {
		var re *segment.RuleError
		if !errors.As(e, &re) {
			c.add("rules", "The rules can’t be used: "+e.Error())
			continue
		}
		n := -1
		if m := segPathRE.FindStringSubmatch(re.Path); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		if n < 0 || n >= len(rowOf) {
			c.add("rules", "The rules can’t be used: "+segSentence(re.Msg))
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
		c.add(fmt.Sprintf("rule-%d-%s", row, segCulprit(node)), fmt.Sprintf("Rule %d: %s", row+1, re.Msg))
	}
}

// segFlatten lists the problems in err: the RuleErrors that Validate joins (and
// Create wraps), or err itself.
func segFlatten(err error) []error {
	var re *segment.RuleError
	switch u := err.(type) {
	case *segment.RuleError:
		return []error{err}
	case interface{ Unwrap() []error }:
		var out []error
		for _, e := range u.Unwrap() {
			out = append(out, segFlatten(e)...)
		}
		return out
	case interface{ Unwrap() error }:
		if in := u.Unwrap(); errors.As(in, &re) {
			return segFlatten(in)
		}
	}
	return []error{err}
}

// segCulprit says which control of a leaf Validate objects to: the topic, tag or answer
// when the leaf is valid without it, else the value. (The field and comparison were
// checked against the builder's lists already.)
func segCulprit(leaf segment.Rule) string {
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
func (row segRow) leaf(i int, l segLookups, c *segCheck) (segment.Rule, bool) {
	id := func(control string) string { return fmt.Sprintf("rule-%d-%s", i, control) }
	fail := func(control, msg string) (segment.Rule, bool) {
		c.add(id(control), fmt.Sprintf("Rule %d: %s", i+1, msg))
		return segment.Rule{}, false
	}
	if row.Field == "" {
		return fail("field", "choose what the rule is about")
	}
	f, ok := segLookupField(row.Field)
	if !ok {
		return fail("field", "choose what the rule is about from the list")
	}
	if row.Op == "" {
		return fail("op", "choose how to compare "+segLower(f.Label))
	}
	op, ok := f.op(row.Op)
	if !ok {
		var labels []string
		for _, o := range f.Ops {
			labels = append(labels, "“"+o.Label+"”")
		}
		return fail("op", fmt.Sprintf("%s can’t be compared with “%s”: choose %s", f.Label, segOpLabel(row.Op), segJoin(labels, "or")))
	}
	r := segment.Rule{Field: f.Name, Op: op.Code}
	v := strings.TrimSpace(row.Value)
	switch op.Kind {
	case segNoValue:
	case segText:
		if v == "" {
			return fail("value", "enter "+f.Need)
		}
		r.Value = v
	case segList:
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
	case segBool:
		b, ok := segYesNo(v)
		if !ok {
			return fail("value", "enter yes or no")
		}
		r.Value = b
	case segID:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return fail("value", "enter the campaign’s number, for example 12")
		}
		if _, ok := l.named[n]; !ok {
			return fail("value", fmt.Sprintf("there is no campaign number %d", n))
		}
		r.Value = n
	}
	switch f.Name {
	case "topic":
		if _, ok := l.topic(v); !ok {
			return fail("value", fmt.Sprintf("there is no topic “%s”: enter %s", v, l.topicSlugs()))
		}
	case "reachable":
		if row.Topic != "" {
			if _, ok := l.topic(row.Topic); !ok {
				return fail("topic", "choose a topic from the list")
			}
			r.Topic = row.Topic
		}
	case "campaign":
		r.Tag, r.Answer = strings.TrimSpace(row.Tag), strings.TrimSpace(row.Answer)
	}
	return r, true
}

func segYesNo(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "y", "true":
		return true, true
	case "no", "n", "false":
		return false, true
	}
	return false, false
}

func segOpLabel(code string) string {
	for _, o := range segAllOps() {
		if o.Code == code {
			return o.Label
		}
	}
	return code
}

// segLower lower-cases a label's first letter, for the middle of a sentence.
func segLower(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// segSentence capitalises a message's first letter.
func segSentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// segJoin lists items as "a, b or c".
func segJoin(items []string, and string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + and + " " + items[len(items)-1]
}

// editView is the builder page for f with the problems c found.
func (f segForm) editView(l segLookups, c *segCheck) segEditView {
	v := segEditView{Name: f.Name, Description: f.Description, Match: f.Match, Purpose: f.Purpose,
		NextRow: len(f.Rows), CanAdd: len(f.Rows) < segmentMaxRows, Errors: c.errs, errs: c.byID}
	if v.Purpose != segment.PurposeMarketing {
		v.Purpose = segment.PurposeService
	}
	for _, t := range l.topics {
		v.Topics = append(v.Topics, segOption{Value: t.Slug, Label: t.Name, Selected: t.Slug == f.countTopic()})
	}
	for i, row := range f.Rows {
		v.Rows = append(v.Rows, row.view(i, l, c.byID))
	}
	return v
}

func (f segForm) countTopic() string {
	if f.CountTopic == "" {
		return segment.DefaultTopic
	}
	return f.CountTopic
}

func (row segRow) view(i int, l segLookups, errs map[string]string) segRowView {
	v := segRowView{segRow: row, Index: i, errs: errs}
	groups := map[string]int{}
	offered := false
	add := func(f segField) {
		g, ok := groups[f.Group]
		if !ok {
			g = len(v.FieldGroups)
			groups[f.Group] = g
			v.FieldGroups = append(v.FieldGroups, segOptGroup{Label: f.Group})
		}
		sel := f.Name == row.Field
		offered = offered || sel
		v.FieldGroups[g].Options = append(v.FieldGroups[g].Options, segOption{Value: f.Name, Label: f.Label, Selected: sel})
	}
	for _, f := range segFields {
		add(f)
	}
	for _, k := range l.attrKeys {
		add(segAttrField(k))
	}
	if row.Field != "" && !offered {
		// An attribute no contact has yet, or what a stale or altered form sent: kept, so
		// the officer sees what they sent.
		if f, ok := segLookupField(row.Field); ok {
			add(f)
		} else {
			v.FieldOther = &segOption{Value: row.Field, Label: row.Field, Selected: true}
		}
	}

	f, known := segLookupField(row.Field)
	ops := segAllOps()
	v.ValueHint = "Separate the values of “is one of” and the like with commas."
	if known {
		ops = f.Ops
		v.ValueHint = f.Hint
	}
	found := false
	for _, o := range ops {
		sel := o.Code == row.Op
		found = found || sel
		v.Ops = append(v.Ops, segOption{Value: o.Code, Label: o.Label, Selected: sel})
	}
	if row.Op != "" && !found {
		v.Ops = append(v.Ops, segOption{Value: row.Op, Label: segOpLabel(row.Op), Selected: true})
	}
	if o, ok := f.op(row.Op); known && ok {
		switch o.Kind {
		case segList:
			v.ValueHint += " Separate values with commas."
		case segNoValue:
			v.ValueHint = "Leave this empty: the comparison needs no value."
		}
	}

	switch row.Field {
	case "reachable":
		v.ShowTopic = true
		v.ValueList = segChannels
		topic := row.Topic
		if topic == "" {
			topic = segment.DefaultTopic
		}
		for _, t := range l.topics {
			v.Topics = append(v.Topics, segOption{Value: t.Slug, Label: t.Name, Selected: t.Slug == topic})
		}
	case "topic":
		for _, t := range l.topics {
			v.ValueList = append(v.ValueList, segOption{Value: t.Slug, Label: t.Name})
		}
	case "large_print":
		v.ValueList = []segOption{{Value: "yes", Label: "yes"}, {Value: "no", Label: "no"}}
	case "campaign":
		v.ShowReply = true
		for _, c := range l.campaigns {
			v.ValueList = append(v.ValueList, segOption{Value: strconv.FormatInt(c.ID, 10), Label: c.Name})
		}
	}
	return v
}

// ---------------------------------------------------------------------------------
// Counts.

// segCountView is one or more counts of a segment (one per purpose), as a table.
type segCountView struct {
	ID       string // the table's id
	Caption  string
	Columns  []string // one per count
	Total    string   // the first count's total
	Rows     []segCountRow
	Excluded []segCountRow
}

type segCountRow struct {
	Key, Label string
	Values     []string
}

// segCountTable lays out counts, one per column: the residents who match, who can be
// reached how, and why some can't be on a channel (a reason only one count has is 0 in
// the others).
func segCountTable(id, caption string, columns []string, counts []segment.Count) *segCountView {
	v := &segCountView{ID: id, Caption: caption, Columns: columns}
	if len(counts) > 0 {
		v.Total = resultsInt(counts[0].Total)
	}
	row := func(key, label string, get func(segment.Count) int) {
		r := segCountRow{Key: key, Label: label}
		for _, c := range counts {
			r.Values = append(r.Values, resultsInt(get(c)))
		}
		v.Rows = append(v.Rows, r)
	}
	row("total", "Match the rules", func(c segment.Count) int { return c.Total })
	row("email", "Can be reached by email", func(c segment.Count) int { return c.Email })
	row("sms", "Can be reached by SMS", func(c segment.Count) int { return c.SMS })
	row("post", "Can be reached by post", func(c segment.Count) int { return c.Post })
	row("post_only", "Can be reached by post only", func(c segment.Count) int { return c.PostOnly })
	row("unreachable", "Can’t be reached", func(c segment.Count) int { return c.Unreachable })
	var reasons []string
	for _, c := range counts {
		for _, e := range c.Excluded {
			if !slices.Contains(reasons, e.Reason) {
				reasons = append(reasons, e.Reason)
			}
		}
	}
	for _, reason := range reasons {
		r := segCountRow{Key: "excluded", Label: segSentence(reason)}
		for _, c := range counts {
			n := 0
			for _, e := range c.Excluded {
				if e.Reason == reason {
					n = e.Contacts
				}
			}
			r.Values = append(r.Values, resultsInt(n))
		}
		v.Excluded = append(v.Excluded, r)
	}
	return v
}

func segPurposeLabel(p string) string {
	if p == segment.PurposeMarketing {
		return "Marketing"
	}
	return "Service"
}

// ---------------------------------------------------------------------------------
// Rules in plain English.

// segLine is a rule in plain English, with the rules of a group below it.
type segLine struct {
	Text     string
	Children []segLine
}

// segDescriber words rule trees for officers, naming topics and campaigns.
type segDescriber struct {
	topics    map[string]string // slug → name
	campaigns map[int64]string
}

func (d segDescriber) root(r segment.Rule) (string, []segLine) {
	switch {
	case r.IsEmpty():
		return "Everyone: the segment has no rules.", nil
	case r.All != nil:
		return "Residents who match all of these rules:", d.lines(r.All)
	case r.Any != nil:
		return "Residents who match any of these rules:", d.lines(r.Any)
	}
	return "Residents who match this rule:", []segLine{d.line(r)}
}

func (d segDescriber) lines(rules []segment.Rule) []segLine {
	out := make([]segLine, len(rules))
	for i, r := range rules {
		out[i] = d.line(r)
	}
	return out
}

func (d segDescriber) line(r segment.Rule) segLine {
	switch {
	case r.All != nil:
		return segLine{Text: "all of these:", Children: d.lines(r.All)}
	case r.Any != nil:
		return segLine{Text: "any of these:", Children: d.lines(r.Any)}
	case r.Not != nil:
		switch n := *r.Not; {
		case n.All != nil:
			return segLine{Text: "not all of these:", Children: d.lines(n.All)}
		case n.Any != nil:
			return segLine{Text: "none of these:", Children: d.lines(n.Any)}
		default:
			in := d.line(n)
			return segLine{Text: "not: " + in.Text, Children: in.Children}
		}
	}
	return segLine{Text: d.leaf(r)}
}

func (d segDescriber) leaf(r segment.Rule) string {
	f, ok := segLookupField(r.Field)
	var op segOp
	if ok {
		op, ok = f.op(r.Op)
	}
	value := d.value(r)
	if !ok {
		return strings.TrimSpace(strings.ReplaceAll(r.Field, "_", " ") + " " + strings.ReplaceAll(r.Op, "_", " ") + " " + value)
	}
	text := strings.ReplaceAll(op.Phrase, "{v}", value)
	switch r.Field {
	case "reachable":
		topic := r.Topic
		if topic == "" {
			topic = segment.DefaultTopic
		}
		text += " about " + d.topic(topic)
	case "campaign":
		if r.Tag != "" {
			text += ", in a reply tagged “" + r.Tag + "”"
		}
		if r.Answer != "" {
			text += ", answering " + strings.ToUpper(r.Answer)
		}
	}
	return text
}

func (d segDescriber) topic(slug string) string {
	if name, ok := d.topics[slug]; ok {
		return name
	}
	return slug
}

// value words a leaf's value.
func (d segDescriber) value(r segment.Rule) string {
	switch v := r.Value.(type) {
	case nil:
		return ""
	case string:
		switch r.Field {
		case "reachable":
			for _, c := range segChannels {
				if c.Value == v {
					return c.Label
				}
			}
		case "topic":
			return d.topic(v)
		}
		return v
	case []string:
		if r.Op == "has_all" {
			return segJoin(v, "and")
		}
		return segJoin(v, "or")
	case bool:
		if r.Field == "large_print" {
			if v {
				return "needs large print"
			}
			return "does not need large print"
		}
		if v {
			return "yes"
		}
		return "no"
	case int64:
		if r.Field == "campaign" {
			if name, ok := d.campaigns[v]; ok {
				return fmt.Sprintf("campaign %d “%s”", v, name)
			}
			return fmt.Sprintf("campaign %d", v)
		}
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprint(r.Value)
}

// segCampaignIDs lists the campaigns a rule tree names.
func segCampaignIDs(r segment.Rule) []int64 {
	var out []int64
	for _, c := range append(slices.Clone(r.All), r.Any...) {
		out = append(out, segCampaignIDs(c)...)
	}
	if r.Not != nil {
		out = append(out, segCampaignIDs(*r.Not)...)
	}
	if id, ok := r.Value.(int64); ok && r.Field == "campaign" {
		out = append(out, id)
	}
	return out
}

// ---------------------------------------------------------------------------------
// Handlers.

func (s *Server) segmentPage(w http.ResponseWriter, r *http.Request, code int, name, title string, data any) {
	contactsNoStore(w) // rules may name residents ("first name is Ada")
	s.render(w, code, name, page{Title: title, OrgName: s.brand.OrgName, Session: sessionOf(r), Data: data})
}

// segListRow is a segment in the list, with who it reaches.
type segListRow struct {
	ID                      int64
	Name, Description       string
	Total, Email, SMS, Post string
	Problem                 string // why it can't be counted
}

type segListView struct {
	Rows     []segListRow
	Purpose  string
	Purposes []segOption
	Topic    string
}

// handleSegments lists the segments, each counted for the general topic and the purpose
// asked for (?purpose=, service by default).
func (s *Server) handleSegments(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	purpose := r.URL.Query().Get("purpose")
	if purpose != segment.PurposeMarketing {
		purpose = segment.PurposeService
	}
	store := segment.NewStore(s.db)
	segs, err := store.List(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	topics, err := s.segmentTopics(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := segListView{Purpose: purpose, Topic: segment.DefaultTopic, Rows: make([]segListRow, len(segs))}
	for _, t := range topics {
		if t.Slug == segment.DefaultTopic {
			v.Topic = t.Name
		}
	}
	for _, p := range []string{segment.PurposeService, segment.PurposeMarketing} {
		v.Purposes = append(v.Purposes, segOption{Value: p, Label: segPurposeLabel(p), Selected: p == purpose})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(segmentListCounts)
	for i, seg := range segs {
		row := &v.Rows[i]
		*row = segListRow{ID: seg.ID, Name: seg.Name, Description: seg.Description}
		g.Go(func() error {
			c, err := store.Count(gctx, seg.Rules, segment.DefaultTopic, purpose)
			if errors.Is(err, segment.ErrUnknownTopic) {
				row.Problem = "Can’t be counted: a topic its rules name no longer exists."
				return nil
			}
			if err != nil {
				return err
			}
			row.Total, row.Email, row.SMS, row.Post = resultsInt(c.Total), resultsInt(c.Email), resultsInt(c.SMS), resultsInt(c.Post)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		s.fail(w, r, err)
		return
	}
	s.segmentPage(w, r, http.StatusOK, "segments.html", "Segments", v)
}

// handleSegmentForm shows the builder with one empty rule.
func (s *Server) handleSegmentForm(w http.ResponseWriter, r *http.Request) {
	f := segForm{Match: "all", Purpose: segment.PurposeService, Rows: []segRow{{}}}
	l, err := s.segmentLookups(r.Context(), f.Rows)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.segmentPage(w, r, http.StatusOK, "segment_edit.html", "New segment", f.editView(l, &segCheck{}))
}

// handleSegmentPost is every button of the builder: action "add" adds an empty row,
// "remove-N" removes row N, "save" saves the segment, and "count" (also what pressing
// Enter in a field sends) counts it.
func (s *Server) handleSegmentPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f := segFormFrom(r)
	action := r.PostFormValue("action")
	c := &segCheck{}
	switch {
	case action == "add":
		if len(f.Rows) < segmentMaxRows {
			f.Rows = append(f.Rows, segRow{})
		}
	case strings.HasPrefix(action, "remove-"):
		if i, err := strconv.Atoi(strings.TrimPrefix(action, "remove-")); err == nil && i >= 0 && i < len(f.Rows) {
			f.Rows = slices.Delete(f.Rows, i, i+1)
		}
	}
	l, err := s.segmentLookups(ctx, f.Rows)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	render := func(code int, v segEditView) {
		title := "New segment"
		if len(v.Errors) > 0 {
			title = "Error: " + title
		}
		s.segmentPage(w, r, code, "segment_edit.html", title, v)
	}
	if action == "add" || strings.HasPrefix(action, "remove-") {
		render(http.StatusOK, f.editView(l, c))
		return
	}

	if action == "save" {
		s.segmentSave(w, r, f, l, c, render)
		return
	}

	// Count.
	if f.Purpose != segment.PurposeService && f.Purpose != segment.PurposeMarketing {
		f.Purpose = segment.PurposeService
	}
	rule, _ := f.rule(l, c)
	topic, ok := l.topic(f.countTopic())
	if !ok {
		c.add("count-topic", "Choose the topic to count for from the list")
	}
	if len(c.errs) > 0 {
		render(http.StatusUnprocessableEntity, f.editView(l, c))
		return
	}
	count, err := segment.NewStore(s.db).Count(ctx, rule, topic.Slug, f.Purpose)
	if errors.Is(err, segment.ErrUnknownTopic) { // a topic went between the lookups and the count
		c.add("count-topic", "A topic has just been removed: choose the topics again")
		render(http.StatusUnprocessableEntity, f.editView(l, c))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	warnings, err := segment.NewStore(s.db).Unmatched(ctx, rule)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rowOf []int
	for i, row := range f.Rows {
		if !row.blank() {
			rowOf = append(rowOf, i)
		}
	}
	v := f.editView(l, c)
	v.Count = segCountTable("count-table", "Whom "+f.Purpose+" messages about "+topic.Name+" reach",
		[]string{"Number"}, []segment.Count{count})
	v.Warnings = segWarnings(warnings, rowOf)
	render(http.StatusOK, v)
}

// segWarnings words segment.Unmatched's warnings for a page, each naming its rule's row
// when the rules were built from rows rowOf (the builder's), else the tree's place.
func segWarnings(ws []segment.Warning, rowOf []int) []string {
	var out []string
	for _, w := range ws {
		where := ""
		if m := segPathRE.FindStringSubmatch(w.Path); m != nil {
			if n, _ := strconv.Atoi(m[1]); n < len(rowOf) {
				where = fmt.Sprintf("Rule %d: ", rowOf[n]+1)
			}
		}
		out = append(out, where+w.Words())
	}
	return out
}

func (s *Server) segmentSave(w http.ResponseWriter, r *http.Request, f segForm, l segLookups, c *segCheck, render func(int, segEditView)) {
	ctx := r.Context()
	name := strings.TrimSpace(f.Name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		c.add("name", "Enter a name for the segment")
	case n > segmentMaxName:
		c.add("name", fmt.Sprintf("The name must be %d characters or fewer", segmentMaxName))
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		c.add("name", "The name must be plain text")
	}
	desc := strings.TrimSpace(f.Description)
	if utf8.RuneCountInString(desc) > segmentMaxDescription || !utf8.ValidString(desc) {
		c.add("description", fmt.Sprintf("The description must be plain text of %d characters or fewer", segmentMaxDescription))
	}
	rule, _ := f.rule(l, c)
	if len(c.errs) > 0 {
		render(http.StatusUnprocessableEntity, f.editView(l, c))
		return
	}
	sess := sessionOf(r)
	seg, err := segment.NewStore(s.db).Create(ctx, name, desc, rule, sess.User.Email)
	switch {
	case errors.Is(err, segment.ErrExists):
		c.add("name", "A segment called “"+name+"” already exists: choose another name")
	case errors.Is(err, segment.ErrInvalid):
		// Checked above; kept for a rule Create's own checks turn down.
		var rowOf []int
		for i, row := range f.Rows {
			if !row.blank() {
				rowOf = append(rowOf, i)
			}
		}
		segRuleErrors(err, rule, rowOf, c)
		if len(c.errs) == 0 {
			c.add("rules", "The rules can’t be saved: "+err.Error())
		}
	case err != nil:
		s.fail(w, r, err)
		return
	}
	if len(c.errs) > 0 {
		render(http.StatusUnprocessableEntity, f.editView(l, c))
		return
	}
	s.log.InfoContext(ctx, "segment created", "segment_id", seg.ID, "user_id", sess.User.ID)
	http.Redirect(w, r, "/segments/"+strconv.FormatInt(seg.ID, 10), http.StatusSeeOther)
}

// segView is one segment's page.
type segView struct {
	ID                int64
	Name, Description string
	CreatedBy         string
	Created           contactTime
	Intro             string
	Rules             []segLine
	Topics            []segOption
	Count             *segCountView
	CountProblem      string
	Warnings          []string // values that match nobody, with the nearest that exist
}

// handleSegment shows a segment's rules in plain English and whom it reaches, for
// service and marketing messages about a topic (?topic=, general by default).
func (s *Server) handleSegment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.segmentMissing(w, r)
		return
	}
	store := segment.NewStore(s.db)
	seg, err := store.Get(ctx, strconv.FormatInt(id, 10))
	if errors.Is(err, segment.ErrNotFound) || (err == nil && seg.ID != id) {
		s.segmentMissing(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	topics, err := s.segmentTopics(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	slug := strings.TrimSpace(r.URL.Query().Get("topic"))
	if slug == "" {
		slug = segment.DefaultTopic
	}
	d := segDescriber{topics: map[string]string{}}
	v := segView{ID: seg.ID, Name: seg.Name, Description: seg.Description, CreatedBy: seg.CreatedBy, Created: contactTimeOf(seg.CreatedAt)}
	topicName := ""
	for _, t := range topics {
		d.topics[t.Slug] = t.Name
		v.Topics = append(v.Topics, segOption{Value: t.Slug, Label: t.Name, Selected: t.Slug == slug})
		if t.Slug == slug {
			topicName = t.Name
		}
	}
	if topicName == "" {
		s.render(w, http.StatusNotFound, "message.html", page{Title: "Topic not found", OrgName: s.brand.OrgName,
			Session: sessionOf(r), Message: "There is no such topic. Choose one from the list on the segment’s page."})
		return
	}
	if ids := segCampaignIDs(seg.Rules); len(ids) > 0 {
		if d.campaigns, err = s.campaignNames(ctx, ids); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	v.Intro, v.Rules = d.root(seg.Rules)
	warnings, err := store.Unmatched(ctx, seg.Rules)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, w := range warnings {
		v.Warnings = append(v.Warnings, sentence(w.Words()))
	}

	purposes := []string{segment.PurposeService, segment.PurposeMarketing}
	counts := make([]segment.Count, len(purposes))
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range purposes {
		g.Go(func() (err error) {
			counts[i], err = store.Count(gctx, seg.Rules, slug, p)
			return err
		})
	}
	switch err := g.Wait(); {
	case errors.Is(err, segment.ErrUnknownTopic):
		v.CountProblem = "The segment can’t be counted: a topic its rules name no longer exists."
	case err != nil:
		s.fail(w, r, err)
		return
	default:
		v.Count = segCountTable("count-table", "Whom messages about "+topicName+" reach, by purpose",
			[]string{"Service", "Marketing"}, counts)
	}
	s.segmentPage(w, r, http.StatusOK, "segment.html", seg.Name, v)
}

func (s *Server) segmentMissing(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	s.render(w, http.StatusNotFound, "message.html", page{Title: "Segment not found", OrgName: s.brand.OrgName,
		Session: sessionOf(r), Message: "There is no such segment. Choose one from the list of segments."})
}
