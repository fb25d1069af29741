// Package chart draws horizontal bar charts as SVG, with no script: grouped (a bar per
// value) or stacked (a bar per group, split into its values, with a legend). Every chart
// is role="img" with a title and a description that reads out each number; the pages
// show the same numbers in a table beside it.
package chart

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/crierhq/crier/internal/web/number"
)

// Series is one kind of value: its name (the legend's), its colour (at least 3:1
// against white) and its pattern, so that no value is told apart by colour alone.
type Series struct {
	Name    string
	Colour  string // #rrggbb
	Pattern string // a key of marks
}

// marks are the white marks drawn over a series' colour on an 8×8 tile.
var marks = map[string]string{
	"solid":  ``,
	"diag":   `<path d="M-1,1 l2,-2 M0,8 l8,-8 M7,9 l2,-2" stroke="#fff" stroke-width="1.5"/>`,
	"back":   `<path d="M-1,7 l2,2 M0,0 l8,8 M7,-1 l2,2" stroke="#fff" stroke-width="1.5"/>`,
	"cross":  `<path d="M-1,1 l2,-2 M0,8 l8,-8 M7,9 l2,-2 M-1,7 l2,2 M0,0 l8,8 M7,-1 l2,2" stroke="#fff" stroke-width="1.2"/>`,
	"horiz":  `<path d="M0,4 h8" stroke="#fff" stroke-width="1.5"/>`,
	"vert":   `<path d="M4,0 v8" stroke="#fff" stroke-width="1.5"/>`,
	"grid":   `<path d="M0,4 h8 M4,0 v8" stroke="#fff" stroke-width="1.2"/>`,
	"dots":   `<circle cx="4" cy="4" r="1.6" fill="#fff"/>`,
	"rings":  `<circle cx="4" cy="4" r="2.2" fill="none" stroke="#fff" stroke-width="1.2"/>`,
	"zigzag": `<path d="M0,6 l2,-4 l2,4 l2,-4 l2,4" fill="none" stroke="#fff" stroke-width="1.2"/>`,
}

// Bar is one value of a group.
type Bar struct {
	Series Series
	Label  string // defaults to the series' name
	Value  int
}

// label is the bar's label: its own, or its series' name.
func (b Bar) label() string {
	if b.Label != "" {
		return b.Label
	}
	return b.Series.Name
}

// Group is a group of bars (grouped chart) or one bar of segments (stacked chart).
type Group struct {
	Label string
	Note  string // what the group holds: "7 messages"
	Scale int    // the value a full-width bar stands for
	Bars  []Bar
}

// Chart is a horizontal bar chart drawn as SVG. Grouped, each non-zero value of a group
// is its own bar, labelled with its name, value and share of the group's scale;
// stacked, each group is one bar split into its non-zero values, with a legend. Either
// way the chart is role="img" with a title and a description that reads out every
// number, and the page shows the same numbers in a table.
type Chart struct {
	ID      string // prefix of the SVG's ids: ASCII letters, digits and '-', unique on the page
	Title   string
	Stacked bool
	Groups  []Group
}

// The chart's geometry, in SVG user units: the view box is width wide and scales
// to its container, so at a phone's 360 px the text is about the page's small print.
const (
	width        = 360.0
	fontSize     = 15.0 // labels
	headSize     = 16.0 // group labels
	barHeight    = 15.0 // a grouped chart's bars
	stackHeight  = 22.0 // a stacked chart's bars
	swatch       = 15.0
	ink          = "#0b0c0c"
	track        = "#f3f2f1"
	charEstimate = 0.58 // average glyph width in ems, on the generous side
)

// SVG renders the chart. Every piece of text is escaped for XML, so the result is
// well-formed whatever the labels hold.
func (c Chart) SVG() template.HTML {
	var body strings.Builder
	patterns := map[Series]string{}
	var defs strings.Builder
	fill := func(s Series) string {
		if id, ok := patterns[s]; ok {
			return "url(#" + id + ")"
		}
		id := fmt.Sprintf("%s-p%d", c.ID, len(patterns))
		patterns[s] = id
		fmt.Fprintf(&defs, `<pattern id="%s" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="%s"/>%s</pattern>`,
			id, escape(s.Colour), marks[s.Pattern])
		return "url(#" + id + ")"
	}
	y := 0.0
	if c.Stacked {
		y = c.legend(&body, fill)
	}
	for _, g := range c.Groups {
		y += headSize + 8
		if g.Note != "" && !c.Stacked && estimate(g.Label, headSize, true)+estimate(" — "+g.Note, fontSize, false) <= width {
			// Grouped: "Email — 7 messages" on one line when it fits.
			fmt.Fprintf(&body, `<text x="0" y="%s" fill="%s"><tspan font-weight="700" font-size="%s">%s</tspan> — %s</text>`,
				num(y), ink, num(headSize), escape(g.Label), escape(g.Note))
		} else {
			text(&body, 0, y, headSize, true, g.Label)
			if g.Note != "" && !c.Stacked {
				y += fontSize + 6
				text(&body, 0, y, fontSize, false, g.Note)
			}
		}
		if c.Stacked {
			if g.Note != "" {
				y += fontSize + 6
				text(&body, 0, y, fontSize, false, g.Note)
			}
			y += 8
			c.stack(&body, fill, g, y)
			y += stackHeight + 6
			continue
		}
		y += 4
		drawn := 0
		for _, b := range g.Bars {
			if b.Value <= 0 {
				continue
			}
			drawn++
			y += fontSize + 6
			text(&body, 0, y, fontSize, false, fmt.Sprintf("%s: %s (%s)", b.label(), number.Thousands(b.Value), number.Percent(b.Value, g.Scale)))
			y += 5
			w := barWidth(b.Value, g.Scale, width)
			fmt.Fprintf(&body, `<rect class="track" x="0" y="%s" width="%s" height="%s" fill="%s"/>`,
				num(y), num(width), num(barHeight), track)
			fmt.Fprintf(&body, `<rect class="bar" x="0.5" y="%s" width="%s" height="%s" fill="%s" stroke="%s" stroke-width="1"><title>%s</title></rect>`,
				num(y+0.5), num(max(w-1, 1)), num(barHeight-1), fill(b.Series), ink,
				escape(fmt.Sprintf("%s, %s: %s", g.Label, b.label(), number.Thousands(b.Value))))
			y += barHeight
		}
		if drawn == 0 {
			y += fontSize + 6
			text(&body, 0, y, fontSize, false, "Nothing yet")
		}
		y += 6
	}
	y += 4
	var out strings.Builder
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 %s %s" width="100%%" `+
		`aria-labelledby="%s-title %s-desc" font-size="%s"><title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`,
		num(width), num(math.Ceil(y)), c.ID, c.ID, num(fontSize), c.ID, escape(c.Title), c.ID, escape(c.describe()))
	if defs.Len() > 0 {
		out.WriteString("<defs>" + defs.String() + "</defs>")
	}
	out.WriteString(body.String())
	out.WriteString("</svg>")
	// The markup is built above from fixed strings, numbers and escaped text.
	return template.HTML(out.String())
}

// legend draws the stacked chart's key: a swatch and name for each series it shows,
// wrapping as the width allows. It returns where the next line starts.
func (c Chart) legend(b *strings.Builder, fill func(Series) string) float64 {
	var series []Series
	for _, g := range c.Groups {
		for _, bar := range g.Bars {
			if !slices.Contains(series, bar.Series) {
				series = append(series, bar.Series)
			}
		}
	}
	x, y := 0.0, fontSize+4
	for _, s := range series {
		w := swatch + 6 + estimate(s.Name, fontSize, false) + 14
		if x > 0 && x+w > width {
			x, y = 0, y+fontSize+10
		}
		fmt.Fprintf(b, `<rect class="swatch" x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="%s" stroke-width="1"/>`,
			num(x+0.5), num(y-swatch+2.5), num(swatch-1), num(swatch-1), fill(s), ink)
		text(b, x+swatch+6, y, fontSize, false, s.Name)
		x += w
	}
	return y + 4
}

// stack draws one stacked bar: a segment per non-zero value, each at least 2 units wide,
// their widths in proportion to their values.
func (c Chart) stack(b *strings.Builder, fill func(Series) string, g Group, y float64) {
	fmt.Fprintf(b, `<rect class="track" x="0" y="%s" width="%s" height="%s" fill="%s"/>`,
		num(y), num(width), num(stackHeight), track)
	scale := g.Scale
	sum := 0
	for _, bar := range g.Bars {
		sum += max(bar.Value, 0)
	}
	scale = max(scale, sum)
	if scale <= 0 {
		return
	}
	var widths []float64
	total := 0.0
	for _, bar := range g.Bars {
		w := 0.0
		if bar.Value > 0 {
			w = max(float64(bar.Value)/float64(scale)*width, 2)
		}
		widths = append(widths, w)
		total += w
	}
	full := float64(sum) / float64(scale) * width
	x := 0.0
	for i, bar := range g.Bars {
		if bar.Value <= 0 {
			continue
		}
		w := widths[i] * full / total
		fmt.Fprintf(b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="%s" stroke-width="1"><title>%s</title></rect>`,
			num(x+0.5), num(y+0.5), num(max(w-1, 1)), num(stackHeight-1), fill(bar.Series), ink,
			escape(fmt.Sprintf("%s, %s: %s (%s)", g.Label, bar.label(), number.Thousands(bar.Value), number.Percent(bar.Value, g.Scale))))
		x += w
	}
}

// describe is the chart's long description: every group's numbers in words.
func (c Chart) describe() string {
	var parts []string
	for _, g := range c.Groups {
		var vals []string
		for _, b := range g.Bars {
			if b.Value > 0 {
				vals = append(vals, fmt.Sprintf("%s %s (%s)", b.label(), number.Thousands(b.Value), number.Percent(b.Value, g.Scale)))
			}
		}
		head := g.Label
		if g.Note != "" {
			head += " (" + g.Note + ")"
		}
		if len(vals) == 0 {
			vals = []string{"nothing yet"}
		}
		parts = append(parts, head+": "+strings.Join(vals, ", "))
	}
	return strings.Join(parts, ". ") + "."
}

// text draws one line of text at (x, y), its baseline. A line that may not fit the
// width is fitted to it (textLength), so nothing is cut off.
func text(b *strings.Builder, x, y, size float64, bold bool, s string) {
	attrs := ""
	if bold {
		attrs += ` font-weight="700"`
	}
	if size != fontSize {
		attrs += ` font-size="` + num(size) + `"`
	}
	if avail := width - x; estimate(s, size, bold) > avail {
		attrs += ` textLength="` + num(avail) + `" lengthAdjust="spacingAndGlyphs"`
	}
	fmt.Fprintf(b, `<text x="%s" y="%s" fill="%s"%s>%s</text>`, num(x), num(y), ink, attrs, escape(s))
}

// estimate guesses a line's width from its length.
func estimate(s string, size float64, bold bool) float64 {
	w := float64(utf8.RuneCountInString(s)) * size * charEstimate
	if bold {
		w *= 1.08
	}
	return w
}

// barWidth is the width of a bar of value v where scale fills width.
func barWidth(v, scale int, width float64) float64 {
	if scale <= 0 || v <= 0 {
		return 0
	}
	return max(min(float64(v)/float64(scale), 1)*width, 2)
}

// num writes f to one decimal place, for SVG coordinates.
func num(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

// escape escapes s for XML text and attribute values, dropping the characters XML 1.0
// cannot hold at all (most C0 controls, U+FFFE, U+FFFF).
func escape(s string) string {
	s = strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	return template.HTMLEscapeString(s)
}
