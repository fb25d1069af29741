package web

import (
	"cmp"
	"slices"

	"github.com/crierhq/crier/internal/segment"
)

// SegmentBuilderLeaves returns, for every field and comparison the rule builder offers
// (with an attribute for the free ones), a leaf with a value of the shape the builder
// sends: each must pass segment.Validate.
func SegmentBuilderLeaves() []segment.Rule {
	samples := map[string]string{"postcode_sector": "SW9 8", "postcode": "SW9 8AB", "language": "en",
		"topic": "general", "reachable": "email"}
	var out []segment.Rule
	for _, f := range append(slices.Clone(segFields), segAttrField("tenure")) {
		for _, o := range f.Ops {
			sample := cmp.Or(samples[f.Name], "x")
			r := segment.Rule{Field: f.Name, Op: o.Code}
			switch o.Kind {
			case segText:
				r.Value = sample
			case segList:
				r.Value = []string{sample}
			case segBool:
				r.Value = true
			case segID:
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
	d := segDescriber{topics: map[string]string{"general": "General news"}, campaigns: campaigns}
	intro, lines := d.root(r)
	var out []string
	var walk func([]segLine, string)
	walk = func(lines []segLine, indent string) {
		for _, l := range lines {
			out = append(out, indent+l.Text)
			walk(l.Children, indent+"  ")
		}
	}
	walk(lines, "")
	return intro, out
}
