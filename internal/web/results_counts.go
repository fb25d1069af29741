package web

import (
	"context"
	"slices"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/web/chart"
)

// outcomeKind is one row of the outcomes table: an outbox state (or a group of them), or
// a response counted among the messages (opted out, replied).
type outcomeKind struct {
	key      string
	label    string
	states   []string // the outbox states it counts; nil for a response
	always   bool     // shown even when nothing has it
	response bool
	series   chart.Series
}

// The chart colours: each has a contrast of at least 3:1 against white (WCAG 1.4.11), and
// each series has its own pattern as well, so none is told apart by colour alone.
var (
	seriesDelivered  = chart.Series{Name: "Delivered", Colour: "#00703c", Pattern: "solid"}
	seriesSent       = chart.Series{Name: "Sent", Colour: "#1d70b8", Pattern: "diag"}
	seriesBounced    = chart.Series{Name: "Bounced", Colour: "#d4351c", Pattern: "cross"}
	seriesFailed     = chart.Series{Name: "Failed", Colour: "#942514", Pattern: "horiz"}
	seriesUnknown    = chart.Series{Name: "Outcome unknown", Colour: "#505a5f", Pattern: "dots"}
	seriesSuppressed = chart.Series{Name: "Not sent (suppressed)", Colour: "#4c2c92", Pattern: "vert"}
	seriesWaiting    = chart.Series{Name: "Not sent yet", Colour: "#7a4b00", Pattern: "back"}
	seriesCancelled  = chart.Series{Name: "Cancelled", Colour: "#626a6e", Pattern: "grid"}
	seriesOptedOut   = chart.Series{Name: "Opted out afterwards", Colour: "#a8285c", Pattern: "zigzag"}
	seriesReplied    = chart.Series{Name: "Replied by text", Colour: "#00625e", Pattern: "rings"}

	seriesReached    = chart.Series{Name: "Reached", Colour: "#00703c", Pattern: "solid"}
	seriesNotReached = chart.Series{Name: "Not reached", Colour: "#d4351c", Pattern: "cross"}

	seriesDigital     = chart.Series{Name: "Email or text", Colour: "#1d70b8", Pattern: "solid"}
	seriesPostOnly    = chart.Series{Name: "Post only", Colour: "#4c2c92", Pattern: "diag"}
	seriesUnreachable = chart.Series{Name: "Can't reach", Colour: "#d4351c", Pattern: "cross"}
)

// chartPalette lists every series colour, for the contrast test.
var chartPalette = []chart.Series{seriesDelivered, seriesSent, seriesBounced, seriesFailed, seriesUnknown,
	seriesSuppressed, seriesWaiting, seriesCancelled, seriesOptedOut, seriesReplied, seriesReached, seriesNotReached,
	seriesDigital, seriesPostOnly, seriesUnreachable}

var outcomeKinds = []outcomeKind{
	{key: "delivered", label: "Delivered", states: []string{"delivered"}, always: true, series: seriesDelivered},
	{key: "sent", label: "Sent (no delivery report)", states: []string{"sent"}, always: true, series: seriesSent},
	{key: "bounced", label: "Bounced", states: []string{"bounced"}, always: true, series: seriesBounced},
	{key: "failed", label: "Failed", states: []string{"failed"}, always: true, series: seriesFailed},
	{key: "unknown", label: "Outcome unknown", states: []string{"unknown"}, always: true, series: seriesUnknown},
	{key: "suppressed", label: "Not sent (suppressed)", states: []string{"suppressed"}, always: true, series: seriesSuppressed},
	{key: "waiting", label: "Not sent yet", states: []string{"pending", "sending"}, series: seriesWaiting},
	{key: "cancelled", label: "Cancelled", states: []string{"cancelled"}, series: seriesCancelled},
	{key: "opted_out", label: "Opted out afterwards", always: true, response: true, series: seriesOptedOut},
	{key: "replied", label: "Replied by text", always: true, response: true, series: seriesReplied},
}

// resultCounts reads a campaign's outcomes and its reach by ward from one snapshot.
func (s *Server) resultCounts(ctx context.Context, c *campaign.Campaign) ([]campaign.OutcomeCount, []campaign.WardCount, error) {
	order := slices.Clone(c.ChannelOrder)
	for _, ch := range campaignChannels { // a channel dropped from the order since still sorts last
		if !slices.Contains(order, ch) {
			order = append(order, ch)
		}
	}
	return campaign.NewStore(s.db, s.log).Results(ctx, c, order)
}
