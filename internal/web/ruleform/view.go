package ruleform

import (
	"strconv"
	"strings"

	"github.com/crierhq/crier/internal/segment"
)

// Option is an option of a select or datalist.
type Option struct {
	Value, Label string
	Selected     bool
}

// OptGroup is a select's group of options.
type OptGroup struct {
	Label   string
	Options []Option
}

// RowView is a row of the builder as shown.
type RowView struct {
	Row
	Index       int
	FieldGroups []OptGroup
	FieldOther  *Option // a field the officer sent that the select does not offer
	Ops         []Option
	ValueHint   string
	ValueList   []Option // the value's datalist
	ShowTopic   bool
	Topics      []Option
	ShowReply   bool
	errs        map[string]string
}

// Number is the row's number as officers read it.
func (v RowView) Number() int { return v.Index + 1 }

// ID is the id of the row's control ("field", "op", "value", ...).
func (v RowView) ID(control string) string { return "rule-" + strconv.Itoa(v.Index) + "-" + control }

// Err is the problem with the row's control, or "".
func (v RowView) Err(control string) string { return v.errs[v.ID(control)] }

// DescribedBy is the control's aria-describedby: its error, then its hint.
func (v RowView) DescribedBy(control string, hint bool) string {
	return describedBy(v.ID(control), v.Err(control) != "", hint)
}

// describedBy is the aria-describedby of control id: its error message (when it has
// one), then its hint (when it has one).
func describedBy(id string, bad, hint bool) string {
	var ids []string
	if bad {
		ids = append(ids, id+"-error")
	}
	if hint {
		ids = append(ids, id+"-hint")
	}
	return strings.Join(ids, " ")
}

// EditView is the builder page's data.
type EditView struct {
	Name, Description, Match, Purpose string
	Rows                              []RowView
	NextRow                           int // the index a new row gets
	CanAdd                            bool
	Topics                            []Option  // the count's topic
	Errors                            []Problem // the summary, in the order of the page
	Warnings                          []string  // values that match nobody, with the nearest that exist
	errs                              map[string]string
}

// Err is the problem with the control id, or "".
func (v EditView) Err(id string) string { return v.errs[id] }

// DescribedBy is the control's aria-describedby: its error, then its hint.
func (v EditView) DescribedBy(id string, hint bool) string {
	return describedBy(id, v.Err(id) != "", hint)
}

// View is the builder page for f with the problems c found.
func (f Form) View(l Lookups, c *Check) EditView {
	v := EditView{Name: f.Name, Description: f.Description, Match: f.Match, Purpose: f.Purpose,
		NextRow: len(f.Rows), CanAdd: len(f.Rows) < MaxRows, Errors: c.errs, errs: c.byID}
	if v.Purpose != segment.PurposeMarketing {
		v.Purpose = segment.PurposeService
	}
	for _, t := range l.Topics {
		v.Topics = append(v.Topics, Option{Value: t.Slug, Label: t.Name, Selected: t.Slug == f.TopicToCount()})
	}
	for i, row := range f.Rows {
		v.Rows = append(v.Rows, row.view(i, l, c.byID))
	}
	return v
}

// TopicToCount is the topic the officer chose to count for, or the default.
func (f Form) TopicToCount() string {
	if f.CountTopic == "" {
		return segment.DefaultTopic
	}
	return f.CountTopic
}

func (row Row) view(i int, l Lookups, errs map[string]string) RowView {
	v := RowView{Row: row, Index: i, errs: errs}
	groups := map[string]int{}
	offered := false
	add := func(f Field) {
		g, ok := groups[f.Group]
		if !ok {
			g = len(v.FieldGroups)
			groups[f.Group] = g
			v.FieldGroups = append(v.FieldGroups, OptGroup{Label: f.Group})
		}
		sel := f.Name == row.Field
		offered = offered || sel
		v.FieldGroups[g].Options = append(v.FieldGroups[g].Options, Option{Value: f.Name, Label: f.Label, Selected: sel})
	}
	for _, f := range Fields {
		add(f)
	}
	for _, k := range l.AttrKeys {
		add(AttrField(k))
	}
	if row.Field != "" && !offered {
		// An attribute no contact has yet, or what a stale or altered form sent: kept, so
		// the officer sees what they sent.
		if f, ok := LookupField(row.Field); ok {
			add(f)
		} else {
			v.FieldOther = &Option{Value: row.Field, Label: row.Field, Selected: true}
		}
	}

	f, known := LookupField(row.Field)
	ops := allOps()
	v.ValueHint = "Separate the values of “is one of” and the like with commas."
	if known {
		ops = f.Ops
		v.ValueHint = f.Hint
	}
	found := false
	for _, o := range ops {
		sel := o.Code == row.Op
		found = found || sel
		v.Ops = append(v.Ops, Option{Value: o.Code, Label: o.Label, Selected: sel})
	}
	if row.Op != "" && !found {
		v.Ops = append(v.Ops, Option{Value: row.Op, Label: opLabel(row.Op), Selected: true})
	}
	if o, ok := f.op(row.Op); known && ok {
		switch o.Kind {
		case List:
			v.ValueHint += " Separate values with commas."
		case NoValue:
			v.ValueHint = "Leave this empty: the comparison needs no value."
		}
	}

	switch row.Field {
	case "reachable":
		v.ShowTopic = true
		v.ValueList = Channels
		topic := row.Topic
		if topic == "" {
			topic = segment.DefaultTopic
		}
		for _, t := range l.Topics {
			v.Topics = append(v.Topics, Option{Value: t.Slug, Label: t.Name, Selected: t.Slug == topic})
		}
	case "topic":
		for _, t := range l.Topics {
			v.ValueList = append(v.ValueList, Option{Value: t.Slug, Label: t.Name})
		}
	case "large_print":
		v.ValueList = []Option{{Value: "yes", Label: "yes"}, {Value: "no", Label: "no"}}
	case "campaign":
		v.ShowReply = true
		for _, c := range l.Campaigns {
			v.ValueList = append(v.ValueList, Option{Value: strconv.FormatInt(c.ID, 10), Label: c.Name})
		}
	}
	return v
}
