package web

import "github.com/crierhq/crier/internal/web/chart"

// ChartColours lists the results charts' colours (#rrggbb), for the contrast test.
func ChartColours() []string {
	out := make([]string, len(chartPalette))
	for i, s := range chartPalette {
		out[i] = s.Colour
	}
	return out
}

// ChartBar is one value of a test chart.
type ChartBar struct {
	Label string
	Value int
}

// ChartSVG renders a chart of one group, grouped (one bar per value) or stacked, for
// testing the SVG the results pages draw.
func ChartSVG(id, title, group string, stacked bool, bars ...ChartBar) string {
	g := chart.Group{Label: group, Note: "test"}
	for i, b := range bars {
		s := chartPalette[i%len(chartPalette)]
		g.Bars = append(g.Bars, chart.Bar{Series: s, Label: b.Label, Value: b.Value})
		g.Scale += b.Value
	}
	return string(chart.Chart{ID: id, Title: title, Stacked: stacked, Groups: []chart.Group{g}}.SVG())
}
