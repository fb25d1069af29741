package ruleform

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/crierhq/crier/internal/segment"
)

// Line is a rule in plain English, with the rules of a group below it.
type Line struct {
	Text     string
	Children []Line
}

// Describer words rule trees for officers, naming topics and campaigns.
type Describer struct {
	Topics    map[string]string // slug → name
	Campaigns map[int64]string  // number → name
}

// Root words rule tree r: an introduction, then a line per rule.
func (d Describer) Root(r segment.Rule) (string, []Line) {
	switch {
	case r.IsEmpty():
		return "Everyone: the segment has no rules.", nil
	case r.All != nil:
		return "Residents who match all of these rules:", d.lines(r.All)
	case r.Any != nil:
		return "Residents who match any of these rules:", d.lines(r.Any)
	}
	return "Residents who match this rule:", []Line{d.line(r)}
}

func (d Describer) lines(rules []segment.Rule) []Line {
	out := make([]Line, len(rules))
	for i, r := range rules {
		out[i] = d.line(r)
	}
	return out
}

func (d Describer) line(r segment.Rule) Line {
	switch {
	case r.All != nil:
		return Line{Text: "all of these:", Children: d.lines(r.All)}
	case r.Any != nil:
		return Line{Text: "any of these:", Children: d.lines(r.Any)}
	case r.Not != nil:
		switch n := *r.Not; {
		case n.All != nil:
			return Line{Text: "not all of these:", Children: d.lines(n.All)}
		case n.Any != nil:
			return Line{Text: "none of these:", Children: d.lines(n.Any)}
		default:
			in := d.line(n)
			return Line{Text: "not: " + in.Text, Children: in.Children}
		}
	}
	return Line{Text: d.leaf(r)}
}

func (d Describer) leaf(r segment.Rule) string {
	f, ok := LookupField(r.Field)
	var op Op
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

func (d Describer) topic(slug string) string {
	if name, ok := d.Topics[slug]; ok {
		return name
	}
	return slug
}

// value words a leaf's value.
func (d Describer) value(r segment.Rule) string {
	switch v := r.Value.(type) {
	case nil:
		return ""
	case string:
		switch r.Field {
		case "reachable":
			for _, c := range Channels {
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
			return joinWords(v, "and")
		}
		return joinWords(v, "or")
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
			if name, ok := d.Campaigns[v]; ok {
				return fmt.Sprintf("campaign %d “%s”", v, name)
			}
			return fmt.Sprintf("campaign %d", v)
		}
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprint(r.Value)
}

// CampaignIDs lists the campaigns a rule tree names.
func CampaignIDs(r segment.Rule) []int64 {
	var out []int64
	for _, c := range append(slices.Clone(r.All), r.Any...) {
		out = append(out, CampaignIDs(c)...)
	}
	if r.Not != nil {
		out = append(out, CampaignIDs(*r.Not)...)
	}
	if id, ok := r.Value.(int64); ok && r.Field == "campaign" {
		out = append(out, id)
	}
	return out
}
