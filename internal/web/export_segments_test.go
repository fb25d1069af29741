package web

import (
	"cmp"
	"slices"

	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/web/ruleform"
)

// SegmentBuilderLeaves returns, for every field and comparison the rule builder offers
// (with an attribute for the free ones), a leaf with a value of the shape the builder
// sends: each must pass segment.Validate.
func SegmentBuilderLeaves() []segment.Rule {
	samples := map[string]string{"postcode_sector": "SW9 8", "postcode": "SW9 8AB", "language": "en",
		"topic": "general", "reachable": "email"}
	var out []segment.Rule
	for _, f := range append(slices.Clone(ruleform.Fields), ruleform.AttrField("tenure")) {
		for _, o := range f.Ops {
			sample := cmp.Or(samples[f.Name], "x")
			r := segment.Rule{Field: f.Name, Op: o.Code}
			switch o.Kind {
			case ruleform.Text:
				r.Value = sample
			case ruleform.List:
				r.Value = []string{sample}
			case ruleform.Bool:
				r.Value = true
			case ruleform.CampaignID:
				r.Value = int64(1)
			}
			out = append(out, r)
		}
	}
	return out
}

// DescribeSegmentRule words r as a segment's page does: the introduction, then a line
// per rule, indented two spaces a level.
func DescribeSegmentRule(r segment.Rule, campaigns map[int64]string) (string, []string) {
	d := ruleform.Describer{Topics: map[string]string{"general": "General news"}, Campaigns: campaigns}
	intro, lines := d.Root(r)
	var out []string
	var walk func([]ruleform.Line, string)
	walk = func(lines []ruleform.Line, indent string) {
		for _, l := range lines {
			out = append(out, indent+l.Text)
			walk(l.Children, indent+"  ")
		}
	}
	walk(lines, "")
	return intro, out
}
