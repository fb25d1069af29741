package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/web/chart"
	"github.com/crierhq/crier/internal/web/number"
)

// resultCell is one number of a table; NA marks a number that does not apply (replies to a
// leaflet).
type resultCell struct {
	Text string
	NA   bool
}

// outcomeRow is one outcome's row of the outcomes table: a cell per channel.
type outcomeRow struct {
	Key   string
	Label string
	Cells []resultCell // one per channel, then the total when there is more than one channel
}

// reasonRow is one reason messages were not delivered, and how many.
type reasonRow struct {
	Channel, Outcome, Reason, Messages string
}

// wardRow is one ward's row of the reach table.
type wardRow struct {
	Ward             string
	Audience         string // "4 residents"
	Email, SMS, Post string
	NotReached       string // not reached yet: nothing arrived, sent or not
}

// wardReasonRow is one reason residents of a ward were not reached.
type wardReasonRow struct {
	Ward, Reason, Residents string
}

// resultsView is results.html's: one campaign's results.
type resultsView struct {
	ID           int64
	Name         string
	Purpose      string
	State        string
	Topic        string
	Messages     string
	Empty        bool
	Channels     []string // column headings
	Outcomes     []outcomeRow
	Total        outcomeRow
	Responses    []outcomeRow
	OutcomeChart template.HTML
	Reasons      []reasonRow
	Wards        []wardRow
	WardTotal    wardRow
	WardReasons  []wardReasonRow
	WardChart    template.HTML
}

// reasonOutcomes are the outcomes whose reasons the page lists: why a message was not
// sent or did not arrive.
var reasonOutcomes = []string{"suppressed", "failed", "bounced", "unknown", "cancelled"}

// maxReasons bounds the reasons listed per channel and outcome; the rest are summed.
const maxReasons = 8

// maxWardReasons bounds the reasons listed per ward; the rest are summed.
const maxWardReasons = 3

// handleResults shows one campaign's results: its messages by channel and outcome, why
// some were not sent or did not arrive, and the residents of its audience reached in
// each ward.
func (s *Server) handleResults(w http.ResponseWriter, r *http.Request) {
	notFound := func() {
		s.render(w, http.StatusNotFound, "message.html", page{Title: "Campaign not found", OrgName: s.brand.OrgName,
			Session: sessionOf(r), Message: "There is no such campaign. It may have been deleted."})
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		notFound()
		return
	}
	c, err := campaign.NewStore(s.db, s.log).Get(r.Context(), strconv.FormatInt(id, 10))
	if errors.Is(err, campaign.ErrNotFound) {
		notFound()
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	outs, wards, err := s.resultCounts(r.Context(), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := buildResults(c, outs, wards)
	s.render(w, http.StatusOK, "results.html", page{Title: "Results: " + c.Name, OrgName: s.brand.OrgName,
		Session: sessionOf(r), Data: v})
}

// buildResults turns the counts into the page's tables and charts.
func buildResults(c *campaign.Campaign, outs []campaign.OutcomeCount, wards []campaign.WardCount) *resultsView {
	v := &resultsView{ID: c.ID, Name: c.Name, Purpose: purposeOf(c.Purpose).Name, State: stateLabel(string(c.State)),
		Topic: c.Topic}

	// Per channel and outcome.
	by := map[string]map[string]int{} // channel → outcome key → count
	present := map[string]bool{}
	type reasonKey struct{ channel, key, reason string }
	reasons := map[reasonKey]int{}
	total := 0
	for _, o := range outs {
		m := by[o.Channel]
		if m == nil {
			m = map[string]int{}
			by[o.Channel] = m
		}
		if o.State == "replied" {
			m["replied"] += o.Replied
			continue
		}
		present[o.Channel] = true
		total += o.N
		m["total"] += o.N
		m["opted_out"] += o.OptedOut
		for _, oc := range outcomeKinds {
			if slices.Contains(oc.states, o.State) {
				m[oc.key] += o.N
				if o.N > 0 && slices.Contains(reasonOutcomes, oc.key) {
					reasons[reasonKey{o.Channel, oc.key, o.Reason}] += o.N
				}
			}
		}
	}
	var channels []string
	for _, ch := range campaignChannels {
		if present[ch] {
			channels = append(channels, ch)
		}
	}
	v.Messages = number.Thousands(total)
	v.Empty = len(channels) == 0
	for _, ch := range channels {
		v.Channels = append(v.Channels, channelLabel(ch))
	}
	withTotal := len(channels) > 1
	if withTotal {
		v.Channels = append(v.Channels, "All")
	}
	applies := func(key, ch string) bool { return key != "replied" || ch == "sms" }
	row := func(key, label string) outcomeRow {
		out := outcomeRow{Key: key, Label: label}
		sum, anyApplies := 0, false
		for _, ch := range channels {
			if !applies(key, ch) {
				out.Cells = append(out.Cells, resultCell{NA: true})
				continue
			}
			anyApplies = true
			n := by[ch][key]
			sum += n
			out.Cells = append(out.Cells, resultCell{Text: number.Thousands(n)})
		}
		if withTotal {
			out.Cells = append(out.Cells, resultCell{Text: number.Thousands(sum), NA: !anyApplies})
		}
		return out
	}
	nonZero := func(key string) bool {
		for _, ch := range channels {
			if by[ch][key] != 0 {
				return true
			}
		}
		return false
	}
	bars := chart.Chart{ID: "outcomes", Title: "Messages of " + c.Name + " by channel and outcome"}
	for _, oc := range outcomeKinds {
		if !oc.always && !nonZero(oc.key) {
			continue
		}
		if oc.response {
			v.Responses = append(v.Responses, row(oc.key, oc.label))
		} else {
			v.Outcomes = append(v.Outcomes, row(oc.key, oc.label))
		}
	}
	v.Total = row("total", "Total messages")
	for _, ch := range channels {
		g := chart.Group{Label: channelLabel(ch), Note: number.Count(by[ch]["total"], "message", "messages"),
			Scale: by[ch]["total"]}
		for _, oc := range outcomeKinds {
			if applies(oc.key, ch) {
				g.Bars = append(g.Bars, chart.Bar{Series: oc.series, Label: oc.label, Value: by[ch][oc.key]})
			}
		}
		bars.Groups = append(bars.Groups, g)
	}
	if !v.Empty {
		v.OutcomeChart = bars.SVG()
	}

	// Reasons, by channel and outcome, the commonest first.
	for _, ch := range channels {
		for _, oc := range outcomeKinds {
			var rs []reasonKey
			for k := range reasons {
				if k.channel == ch && k.key == oc.key {
					rs = append(rs, k)
				}
			}
			slices.SortFunc(rs, func(a, b reasonKey) int {
				if d := reasons[b] - reasons[a]; d != 0 {
					return d
				}
				return strings.Compare(a.reason, b.reason)
			})
			other := 0
			for i, k := range rs {
				if i >= maxReasons {
					other += reasons[k]
					continue
				}
				why := k.reason
				if why == "" {
					why = "No reason recorded"
				}
				v.Reasons = append(v.Reasons, reasonRow{Channel: channelLabel(ch), Outcome: oc.label, Reason: why,
					Messages: number.Thousands(reasons[k])})
			}
			if other > 0 {
				v.Reasons = append(v.Reasons, reasonRow{Channel: channelLabel(ch), Outcome: oc.label,
					Reason: number.Count(len(rs)-maxReasons, "other reason", "other reasons"), Messages: number.Thousands(other)})
			}
		}
	}

	// Reach by ward.
	wchart := chart.Chart{ID: "wards", Title: "Residents of " + c.Name + "'s audience reached, by ward", Stacked: true}
	var tot campaign.WardCount
	listed := map[string]int{} // ward → reasons listed so far
	other := map[string]int{}  // ward → residents under reasons not listed
	var order []string
	for _, wc := range wards {
		ward := wardName(wc.Ward)
		if wc.Total {
			order = append(order, ward)
			residents := number.Count(wc.Audience, "resident", "residents")
			v.Wards = append(v.Wards, wardRow{Ward: ward, Audience: residents, Email: number.Thousands(wc.Email),
				SMS: number.Thousands(wc.SMS), Post: number.Thousands(wc.Post), NotReached: number.Thousands(wc.Waiting + wc.Unreached)})
			tot.Audience += wc.Audience
			tot.Email += wc.Email
			tot.SMS += wc.SMS
			tot.Post += wc.Post
			tot.Waiting += wc.Waiting
			tot.Unreached += wc.Unreached
			reached := wc.Audience - wc.Waiting - wc.Unreached
			wchart.Groups = append(wchart.Groups, chart.Group{Label: ward,
				Note:  fmt.Sprintf("%s of %s reached (%s)", number.Thousands(reached), residents, number.Percent(reached, wc.Audience)),
				Scale: wc.Audience,
				Bars: []chart.Bar{{Series: seriesReached, Value: reached}, {Series: seriesWaiting, Value: wc.Waiting},
					{Series: seriesNotReached, Value: wc.Unreached}}})
			if wc.Waiting > 0 {
				v.WardReasons = append(v.WardReasons, wardReasonRow{Ward: ward, Reason: "Not sent yet",
					Residents: number.Thousands(wc.Waiting)})
			}
			continue
		}
		if wc.Unreached == 0 || wc.Why == "" {
			continue // reached, or waiting: no reason
		}
		if listed[ward] >= maxWardReasons {
			other[ward] += wc.Unreached
			continue
		}
		listed[ward]++
		v.WardReasons = append(v.WardReasons, wardReasonRow{Ward: ward, Reason: reasonWords(wc.Why),
			Residents: number.Thousands(wc.Unreached)})
	}
	for _, ward := range order {
		if n := other[ward]; n > 0 {
			i := slices.IndexFunc(v.WardReasons, func(r wardReasonRow) bool { return r.Ward == ward })
			last := i
			for last+1 < len(v.WardReasons) && v.WardReasons[last+1].Ward == ward {
				last++
			}
			v.WardReasons = slices.Insert(v.WardReasons, last+1,
				wardReasonRow{Ward: ward, Reason: "Other reasons", Residents: number.Thousands(n)})
		}
	}
	v.WardTotal = wardRow{Ward: "All wards", Audience: number.Count(tot.Audience, "resident", "residents"),
		Email: number.Thousands(tot.Email), SMS: number.Thousands(tot.SMS), Post: number.Thousands(tot.Post),
		NotReached: number.Thousands(tot.Waiting + tot.Unreached)}
	if len(wchart.Groups) > 0 {
		v.WardChart = wchart.SVG()
	}
	return v
}

// reasonWords reads resultsWardsSQL's "channel|state|reason".
func reasonWords(why string) string {
	parts := strings.SplitN(why, "|", 3)
	if len(parts) != 3 {
		return why
	}
	ch, state, reason := parts[0], parts[1], parts[2]
	words := map[string]string{"suppressed": "not sent", "failed": "failed", "bounced": "bounced",
		"unknown": "outcome unknown", "cancelled": "cancelled"}[state]
	if words == "" {
		words = state
	}
	label := channelLabel(ch) + " " + words
	if reason != "" {
		label += ": " + reason
	}
	return label
}

// wardName names a ward, or says the residents have none recorded.
func wardName(w string) string {
	if strings.TrimSpace(w) == "" {
		return "No ward recorded"
	}
	return w
}
