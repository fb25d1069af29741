// Package ruleform is the segment rule builder's form: the fields and comparisons it
// offers (a subset of segment's allow-list, with the words for the form and for rules in
// plain English), the officer's rows as typed, how they are checked and turned into a
// segment.Rule, what the page shows of them, and rule trees worded for officers.
// It knows nothing of HTTP handlers or SQL: the web package reads the lookups and
// renders the views.
package ruleform

import (
	"regexp"
	"slices"
	"strings"
)

// ValueKind is the shape of value a comparison takes in the form.
type ValueKind int

const (
	NoValue    ValueKind = iota // no value (attribute is recorded)
	Text                        // one text
	List                        // comma-separated texts
	Bool                        // yes or no
	CampaignID                  // a campaign's number
)

// Op is one comparison of a field.
type Op struct {
	Code   string
	Label  string // in the comparison select
	Kind   ValueKind
	Phrase string // the rule in plain English; {v} is the value
}

// Field is one thing a rule can be about.
type Field struct {
	Name  string // the rule's field: "ward", "attr.tenure"
	Label string // in the field select
	Group string // the select's option group
	Hint  string // about the value
	Need  string // what to enter when the value is missing: "a ward"
	Ops   []Op
}

func (f Field) op(code string) (Op, bool) {
	for _, o := range f.Ops {
		if o.Code == code {
			return o, true
		}
	}
	return Op{}, false
}

func withPhrase(phrase string, ops ...Op) []Op {
	for i := range ops {
		if ops[i].Phrase == "" {
			ops[i].Phrase = phrase + " " + ops[i].Label + " {v}"
		}
	}
	return ops
}

var (
	opEq     = Op{Code: "eq", Label: "is", Kind: Text}
	opNe     = Op{Code: "ne", Label: "is not", Kind: Text}
	opIn     = Op{Code: "in", Label: "is one of", Kind: List}
	opNotIn  = Op{Code: "not_in", Label: "is not one of", Kind: List}
	opPrefix = Op{Code: "prefix", Label: "starts with", Kind: Text}
)

var Fields = []Field{
	{Name: "ward", Need: "a ward", Label: "Ward", Group: "Where they live", Hint: "A ward’s name, for example Millbrook.",
		Ops: withPhrase("ward", opEq, opNe, opIn, opNotIn)},
	{Name: "postcode_sector", Need: "a postcode sector", Label: "Postcode sector", Group: "Where they live",
		Hint: "A postcode sector, for example SW9 8. “Starts with” takes the start of a postcode, such as SW9.",
		Ops:  withPhrase("postcode sector", opEq, opIn, opPrefix)},
	{Name: "postcode", Need: "a postcode", Label: "Postcode", Group: "Where they live",
		Hint: "A full postcode, for example SW9 8AB. “Starts with” takes the start of one, such as SW9.",
		Ops:  withPhrase("postcode", opEq, opIn, opPrefix)},
	{Name: "street", Need: "a street", Label: "Street", Group: "Where they live", Hint: "A street’s name, for example Acre Lane. Capitals do not matter.",
		Ops: withPhrase("street", opEq, opIn)},
	{Name: "first_name", Need: "a first name", Label: "First name", Group: "About them", Hint: "Capitals do not matter.",
		Ops: withPhrase("first name", opEq, opPrefix)},
	{Name: "last_name", Need: "a last name", Label: "Last name", Group: "About them", Hint: "Capitals do not matter.",
		Ops: withPhrase("last name", opEq, opPrefix)},
	{Name: "language", Need: "a language code", Label: "Preferred language", Group: "About them", Hint: "A two- or three-letter code, for example en or cy.",
		Ops: withPhrase("preferred language", opEq, opIn)},
	{Name: "large_print", Need: "yes or no", Label: "Large print", Group: "About them", Hint: "Yes or no.",
		Ops: []Op{{Code: "is", Label: "is", Kind: Bool, Phrase: "{v}"}}},
	{Name: "accessibility", Need: "an accessibility need", Label: "Accessibility need", Group: "About them", Hint: "A need as recorded, for example braille or easy-read.",
		Ops: []Op{{Code: "has", Label: "has", Kind: Text, Phrase: "has the accessibility need {v}"}}},
	{Name: "tag", Need: "a tag", Label: "Tag", Group: "About them", Hint: "A tag as recorded, for example business.",
		Ops: []Op{{Code: "has", Label: "has", Kind: Text, Phrase: "has tag {v}"},
			{Code: "has_any", Label: "has any of", Kind: List, Phrase: "has any of the tags {v}"},
			{Code: "has_all", Label: "has all of", Kind: List, Phrase: "has all of the tags {v}"}}},
	{Name: "topic", Need: "a topic", Label: "Topic", Group: "Consent", Hint: "A topic’s short name, for example general.",
		Ops: []Op{{Code: "subscribed", Label: "subscribed to", Kind: Text, Phrase: "agreed to hear about {v}"}}},
	{Name: "reachable", Need: "email, sms, post or any", Label: "Reachable", Group: "Consent", Hint: "One of email, sms, post or any (any of them).",
		Ops: []Op{{Code: "by", Label: "by", Kind: Text, Phrase: "can be reached by {v}"}}},
	{Name: "campaign", Need: "a campaign’s number", Label: "Campaign", Group: "Campaigns", Hint: "The campaign’s number, shown in the list of campaigns.",
		Ops: []Op{
			{Code: "sent", Label: "was sent", Kind: CampaignID, Phrase: "was sent {v}"},
			{Code: "delivered", Label: "had delivered", Kind: CampaignID, Phrase: "had {v} delivered"},
			{Code: "not_sent", Label: "was not sent", Kind: CampaignID, Phrase: "was in the audience of {v} but was not sent it"},
			{Code: "not_delivered", Label: "did not have delivered", Kind: CampaignID, Phrase: "was in the audience of {v} but did not have it delivered"},
			{Code: "replied", Label: "replied to", Kind: CampaignID, Phrase: "replied by text to {v}"}}},
}

// attrOps are the comparisons of a free attribute; the phrases name it with {k}.
var attrOps = []Op{
	{Code: "eq", Label: "is", Kind: Text, Phrase: "{k} is {v}"},
	{Code: "ne", Label: "is not", Kind: Text, Phrase: "{k} is not {v}"},
	{Code: "in", Label: "is one of", Kind: List, Phrase: "{k} is one of {v}"},
	{Code: "contains", Label: "contains", Kind: Text, Phrase: "{k} contains {v}"},
	{Code: "exists", Label: "is recorded", Kind: NoValue, Phrase: "has {k} recorded"},
}

const AttrPrefix = "attr."

// ValidAttrKey reports whether key is a name segment accepts for an attribute.
func ValidAttrKey(key string) bool { return attrKeyRE.MatchString(key) }

// attrKeyRE is segment's rule for an attribute's name.
var attrKeyRE = regexp.MustCompile(`^[\p{L}\p{N}_-]{1,100}$`)

// AttrField is the field of the free attribute key.
func AttrField(key string) Field {
	ops := slices.Clone(attrOps)
	for i := range ops {
		ops[i].Phrase = strings.ReplaceAll(ops[i].Phrase, "{k}", "the attribute “"+key+"”")
	}
	return Field{Name: AttrPrefix + key, Label: key, Group: "Attributes (from imports)",
		Hint: "The value as it was imported.", Need: "a value", Ops: ops}
}

// LookupField returns the builder's field called name.
func LookupField(name string) (Field, bool) {
	if key, ok := strings.CutPrefix(name, AttrPrefix); ok {
		return AttrField(key), attrKeyRE.MatchString(key)
	}
	for _, f := range Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// allOps lists every comparison once, for a row whose field is not chosen yet.
func allOps() []Op {
	var out []Op
	seen := map[string]bool{}
	for _, f := range append(slices.Clone(Fields), AttrField("x")) {
		for _, o := range f.Ops {
			if !seen[o.Code] {
				seen[o.Code] = true
				if o.Kind == Bool {
					o.Label = "is (yes or no)"
				}
				out = append(out, o)
			}
		}
	}
	return out
}

// Channels are the reachable rule's channels, as a datalist offers and a rule reads.
var Channels = []Option{{Value: "email", Label: "email"}, {Value: "sms", Label: "SMS"},
	{Value: "post", Label: "post"}, {Value: "any", Label: "any channel"}}

func opLabel(code string) string {
	for _, o := range allOps() {
		if o.Code == code {
			return o.Label
		}
	}
	return code
}
