package web

// Campaign results for officers: the campaigns list, one campaign's outcomes per channel
// and its reach by ward, and the borough's reach by ward. Every number is aggregated by
// PostgreSQL; the charts are server-rendered SVG (no script) with the same numbers in a
// table beside them.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
)

// registerResults adds the officers' results pages to mux.
func (s *Server) registerResults(mux *http.ServeMux) {
	officers := []string{auth.Officer}
	mux.HandleFunc("GET /campaigns", s.withUser(officers, s.handleCampaigns))
	mux.HandleFunc("GET /campaigns/{id}/results", s.withUser(officers, s.handleResults))
	mux.HandleFunc("GET /reach", s.withUser(officers, s.handleReach))
}

// resultsQuerySettings apply to the results' read-only transaction: the planner's
// estimates for grouped joins over the outbox are high enough to switch JIT on, which
// costs more than the query (see segment.countSettings); a campaign to half a million
// residents groups its messages in memory; and a page must not hold a connection for
// ever. (Both queries take about a second each for 750,000 messages.)
const resultsQuerySettings = `SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; SET LOCAL statement_timeout = '60s'`

// resultsReadTx runs fn in a read-only, repeatable-read transaction, so that every number on
// a page comes from the same snapshot.
func (s *Server) resultsReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, resultsQuerySettings); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// ---------------------------------------------------------------------------------
// The campaigns list.

type resultsCampaignRow struct {
	ID      int64
	Name    string
	Topic   string
	Purpose string
	State   string
	NextRun string
}

// handleCampaigns lists every campaign, newest first, each linking to its results.
func (s *Server) handleCampaigns(w http.ResponseWriter, r *http.Request) {
	var rows []struct {
		ID      int64      `db:"id"`
		Name    string     `db:"name"`
		Topic   string     `db:"topic"`
		Purpose string     `db:"purpose"`
		State   string     `db:"state"`
		NextRun *time.Time `db:"next_run_at"`
	}
	err := s.db.SelectContext(r.Context(), &rows, `
		SELECT c.id, c.name, t.name AS topic, c.purpose, c.state, c.next_run_at
		  FROM campaigns c JOIN topics t ON t.id = c.topic_id
		 ORDER BY c.id DESC`)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list := make([]resultsCampaignRow, len(rows))
	for i, c := range rows {
		next := "Not scheduled"
		if c.NextRun != nil {
			next = c.NextRun.In(campaign.London).Format("Mon 2 Jan 2006, 15:04")
		}
		list[i] = resultsCampaignRow{ID: c.ID, Name: c.Name, Topic: c.Topic, Purpose: resultsPurpose(c.Purpose),
			State: resultsState(c.State), NextRun: next}
	}
	s.render(w, http.StatusOK, "campaigns.html", page{Title: "Campaigns", OrgName: s.brand.OrgName,
		Session: sessionOf(r), Data: list})
}

func resultsPurpose(p string) string {
	switch p {
	case "service":
		return "Service notice"
	case "marketing":
		return "Marketing"
	}
	return p
}

func resultsState(st string) string {
	if st == "" {
		return st
	}
	return strings.ToUpper(st[:1]) + st[1:]
}

// ---------------------------------------------------------------------------------
// One campaign's results.

// The channels, in the order the pages show them.
var resultsChannels = []string{"email", "sms", "post"}

// resultsChannel names a channel for officers: "Email", "SMS", "Post".
func resultsChannel(ch string) string {
	switch ch {
	case "email":
		return "Email"
	case "sms":
		return "SMS"
	case "post":
		return "Post"
	}
	return ch
}

// resultsOutcome is one row of the outcomes table: an outbox state (or a group of them), or
// a response counted among the messages (opted out, replied).
type resultsOutcome struct {
	key      string
	label    string
	states   []string // the outbox states it counts; nil for a response
	always   bool     // shown even when nothing has it
	response bool
	series   chartSeries
}

// The chart colours: each has a contrast of at least 3:1 against white (WCAG 1.4.11), and
// each series has its own pattern as well, so none is told apart by colour alone.
var (
	seriesDelivered  = chartSeries{Name: "Delivered", Colour: "#00703c", Pattern: "solid"}
	seriesSent       = chartSeries{Name: "Sent", Colour: "#1d70b8", Pattern: "diag"}
	seriesBounced    = chartSeries{Name: "Bounced", Colour: "#d4351c", Pattern: "cross"}
	seriesFailed     = chartSeries{Name: "Failed", Colour: "#942514", Pattern: "horiz"}
	seriesUnknown    = chartSeries{Name: "Outcome unknown", Colour: "#505a5f", Pattern: "dots"}
	seriesSuppressed = chartSeries{Name: "Not sent (suppressed)", Colour: "#4c2c92", Pattern: "vert"}
	seriesWaiting    = chartSeries{Name: "Not sent yet", Colour: "#7a4b00", Pattern: "back"}
	seriesCancelled  = chartSeries{Name: "Cancelled", Colour: "#626a6e", Pattern: "grid"}
	seriesOptedOut   = chartSeries{Name: "Opted out afterwards", Colour: "#a8285c", Pattern: "zigzag"}
	seriesReplied    = chartSeries{Name: "Replied by text", Colour: "#00625e", Pattern: "rings"}

	seriesReached    = chartSeries{Name: "Reached", Colour: "#00703c", Pattern: "solid"}
	seriesNotReached = chartSeries{Name: "Not reached", Colour: "#d4351c", Pattern: "cross"}

	seriesDigital     = chartSeries{Name: "Email or text", Colour: "#1d70b8", Pattern: "solid"}
	seriesPostOnly    = chartSeries{Name: "Post only", Colour: "#4c2c92", Pattern: "diag"}
	seriesUnreachable = chartSeries{Name: "Can't reach", Colour: "#d4351c", Pattern: "cross"}
)

// chartPalette lists every series colour, for the contrast test.
var chartPalette = []chartSeries{seriesDelivered, seriesSent, seriesBounced, seriesFailed, seriesUnknown,
	seriesSuppressed, seriesWaiting, seriesCancelled, seriesOptedOut, seriesReplied, seriesReached, seriesNotReached,
	seriesDigital, seriesPostOnly, seriesUnreachable}

var resultsOutcomes = []resultsOutcome{
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

// resultsOutcomeCount is one row of resultsOutcomesSQL.
type resultsOutcomeCount struct {
	Channel  string `db:"channel"`
	State    string `db:"state"`
	Reason   string `db:"reason"`
	N        int    `db:"n"`
	OptedOut int    `db:"opted_out"`
	Replied  int    `db:"replied"`
}

// resultsOutcomesSQL counts a campaign's messages ($1) by channel, state and reason (the
// reason only where it says why a message did not go or did not arrive): rows with n.
// Rows with opted_out count, by the same key, the messages after which the resident
// withdrew consent for the campaign's topic ($2) on that contact point — an unsubscribe
// link, STOP, or the provider reporting an opt-out (Twilio 21610) — before any later
// message to that point, so that a withdrawal counts for the message just before it and
// no other. Rows of state 'replied' count the residents who texted about the campaign
// (the inbox's attribution), each once, leaving out bare keywords (STOP, START, HELP),
// which are not replies.
//
// The outbox is read through the campaign's runs (its unique index starts with run_id).
// Withdrawals are few: they are hashed and matched to the campaign's messages in one
// pass, and only a match looks for a later message (outbox_contact_idx).
const resultsOutcomesSQL = `
SELECT o.channel, o.state,
       CASE WHEN o.state IN ('suppressed', 'failed', 'bounced', 'unknown', 'cancelled') THEN o.reason ELSE '' END AS reason,
       count(*) AS n, 0 AS opted_out, 0 AS replied
  FROM outbox o
 WHERE o.run_id IN (SELECT r.id FROM campaign_runs r WHERE r.campaign_id = $1)
 GROUP BY 1, 2, 3
UNION ALL
SELECT o.channel, o.state,
       CASE WHEN o.state IN ('suppressed', 'failed', 'bounced', 'unknown', 'cancelled') THEN o.reason ELSE '' END,
       0, count(DISTINCT o.id), 0
  FROM outbox o
  JOIN consents w ON w.contact_point_id = o.contact_point_id AND (w.topic_id = $2 OR w.topic_id IS NULL) AND w.status = 'withdrawn'
                 AND w.recorded_at >= coalesce(o.handed_at, o.sent_at)
 WHERE o.run_id IN (SELECT r.id FROM campaign_runs r WHERE r.campaign_id = $1)
   AND NOT EXISTS (
       SELECT 1 FROM outbox l
        WHERE l.contact_id = o.contact_id AND l.contact_point_id = o.contact_point_id AND l.id <> o.id
          AND coalesce(l.handed_at, l.sent_at) > coalesce(o.handed_at, o.sent_at)
          AND coalesce(l.handed_at, l.sent_at) <= w.recorded_at)
 GROUP BY 1, 2, 3
UNION ALL
SELECT o.channel, 'replied', '', 0, 0, count(DISTINCT o.contact_id)
  FROM sms_messages m JOIN outbox o ON o.id = m.outbox_id
 WHERE m.campaign_id = $1 AND m.direction = 'in' AND m.keyword = ''
 GROUP BY o.channel`

// resultsWardCount is one row of resultsWardsSQL: a ward's totals (Total) or, for one reason, how
// many of its residents were not reached for it.
type resultsWardCount struct {
	Ward      string `db:"ward"`
	Total     bool   `db:"total"`
	Why       string `db:"why"`
	Audience  int    `db:"audience"`
	Email     int    `db:"email"`
	SMS       int    `db:"sms"`
	Post      int    `db:"post"`
	Waiting   int    `db:"waiting"`
	Unreached int    `db:"unreached"`
}

// resultsWardsSQL counts a campaign's ($1) audience by ward: residents reached by email, SMS
// and post (a message sent or delivered on that channel; one resident may count on
// several), those with messages still to send and nothing yet arrived, and those not
// reached at all, by reason: the outcome of their message on the first of the
// campaign's channels ($2, in order) it tried, as "channel|state|reason". One row per
// ward (total) and one per ward and reason. The ward is the resident's ward now.
const resultsWardsSQL = `
WITH per AS (
    SELECT o.contact_id,
           bool_or(o.channel = 'email' AND o.state IN ('sent', 'delivered')) AS email,
           bool_or(o.channel = 'sms' AND o.state IN ('sent', 'delivered')) AS sms,
           bool_or(o.channel = 'post' AND o.state IN ('sent', 'delivered')) AS post,
           bool_or(o.state IN ('pending', 'sending')) AS waiting,
           (array_agg(o.channel || '|' || o.state || '|' || o.reason
                      ORDER BY array_position($2::text[], o.channel), o.id)
                FILTER (WHERE o.state NOT IN ('sent', 'delivered', 'pending', 'sending')))[1] AS why
      FROM outbox o
     WHERE o.run_id IN (SELECT r.id FROM campaign_runs r WHERE r.campaign_id = $1)
     GROUP BY o.contact_id),
res AS (
    SELECT ct.ward, p.email, p.sms, p.post,
           NOT (p.email OR p.sms OR p.post) AND p.waiting AS waiting,
           NOT (p.email OR p.sms OR p.post OR p.waiting) AS unreached,
           CASE WHEN NOT (p.email OR p.sms OR p.post OR p.waiting) THEN p.why END AS why
      FROM per p JOIN contacts ct ON ct.id = p.contact_id)
SELECT ward, GROUPING(why) = 1 AS total, coalesce(why, '') AS why, count(*) AS audience,
       count(*) FILTER (WHERE email) AS email, count(*) FILTER (WHERE sms) AS sms,
       count(*) FILTER (WHERE post) AS post, count(*) FILTER (WHERE waiting) AS waiting,
       count(*) FILTER (WHERE unreached) AS unreached
  FROM res
 GROUP BY GROUPING SETS ((ward), (ward, why))
 ORDER BY ward, total DESC, unreached DESC, why`

// resultsCounts reads a campaign's outcomes and its reach by ward from one snapshot.
func (s *Server) resultsCounts(ctx context.Context, c *campaign.Campaign) ([]resultsOutcomeCount, []resultsWardCount, error) {
	var outs []resultsOutcomeCount
	var wards []resultsWardCount
	order := slices.Clone(c.ChannelOrder)
	for _, ch := range resultsChannels { // a channel dropped from the order since still sorts last
		if !slices.Contains(order, ch) {
			order = append(order, ch)
		}
	}
	err := s.resultsReadTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, resultsOutcomesSQL, c.ID, c.TopicID)
		if err != nil {
			return fmt.Errorf("campaign outcomes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var o resultsOutcomeCount
			if err := rows.Scan(&o.Channel, &o.State, &o.Reason, &o.N, &o.OptedOut, &o.Replied); err != nil {
				return fmt.Errorf("campaign outcomes: %w", err)
			}
			outs = append(outs, o)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("campaign outcomes: %w", err)
		}
		rows, err = tx.QueryContext(ctx, resultsWardsSQL, c.ID, pq.Array(order))
		if err != nil {
			return fmt.Errorf("campaign reach by ward: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var w resultsWardCount
			if err := rows.Scan(&w.Ward, &w.Total, &w.Why, &w.Audience, &w.Email, &w.SMS, &w.Post, &w.Waiting, &w.Unreached); err != nil {
				return fmt.Errorf("campaign reach by ward: %w", err)
			}
			wards = append(wards, w)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("campaign reach by ward: %w", err)
		}
		return nil
	})
	return outs, wards, err
}

// resultsCell is one number of a table; NA marks a number that does not apply (replies to a
// leaflet).
type resultsCell struct {
	Text string
	NA   bool
}

type resultsOutcomeRow struct {
	Key   string
	Label string
	Cells []resultsCell // one per channel, then the total when there is more than one channel
}

type resultsReasonRow struct {
	Channel, Outcome, Reason, Messages string
}

type resultsWardRow struct {
	Ward             string
	Audience         string // "4 residents"
	Email, SMS, Post string
	NotReached       string // not reached yet: nothing arrived, sent or not
}

type resultsWardReasonRow struct {
	Ward, Reason, Residents string
}

type resultsView struct {
	ID           int64
	Name         string
	Purpose      string
	State        string
	Topic        string
	Messages     string
	Empty        bool
	Channels     []string // column headings
	Outcomes     []resultsOutcomeRow
	Total        resultsOutcomeRow
	Responses    []resultsOutcomeRow
	OutcomeChart template.HTML
	Reasons      []resultsReasonRow
	Wards        []resultsWardRow
	WardTotal    resultsWardRow
	WardReasons  []resultsWardReasonRow
	WardChart    template.HTML
}

// resultsReasonOutcomes are the outcomes whose reasons the page lists: why a message was not
// sent or did not arrive.
var resultsReasonOutcomes = []string{"suppressed", "failed", "bounced", "unknown", "cancelled"}

// resultsMaxReasons bounds the reasons listed per channel and outcome; the rest are summed.
const resultsMaxReasons = 8

// resultsMaxWardReasons bounds the reasons listed per ward; the rest are summed.
const resultsMaxWardReasons = 3

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
	outs, wards, err := s.resultsCounts(r.Context(), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := buildResults(c, outs, wards)
	s.render(w, http.StatusOK, "results.html", page{Title: "Results: " + c.Name, OrgName: s.brand.OrgName,
		Session: sessionOf(r), Data: v})
}

// buildResults turns the counts into the page's tables and charts.
func buildResults(c *campaign.Campaign, outs []resultsOutcomeCount, wards []resultsWardCount) *resultsView {
	v := &resultsView{ID: c.ID, Name: c.Name, Purpose: resultsPurpose(c.Purpose), State: resultsState(string(c.State)),
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
		for _, oc := range resultsOutcomes {
			if slices.Contains(oc.states, o.State) {
				m[oc.key] += o.N
				if o.N > 0 && slices.Contains(resultsReasonOutcomes, oc.key) {
					reasons[reasonKey{o.Channel, oc.key, o.Reason}] += o.N
				}
			}
		}
	}
	var channels []string
	for _, ch := range resultsChannels {
		if present[ch] {
			channels = append(channels, ch)
		}
	}
	v.Messages = resultsInt(total)
	v.Empty = len(channels) == 0
	for _, ch := range channels {
		v.Channels = append(v.Channels, resultsChannel(ch))
	}
	withTotal := len(channels) > 1
	if withTotal {
		v.Channels = append(v.Channels, "All")
	}
	applies := func(key, ch string) bool { return key != "replied" || ch == "sms" }
	row := func(key, label string) resultsOutcomeRow {
		out := resultsOutcomeRow{Key: key, Label: label}
		sum, anyApplies := 0, false
		for _, ch := range channels {
			if !applies(key, ch) {
				out.Cells = append(out.Cells, resultsCell{NA: true})
				continue
			}
			anyApplies = true
			n := by[ch][key]
			sum += n
			out.Cells = append(out.Cells, resultsCell{Text: resultsInt(n)})
		}
		if withTotal {
			out.Cells = append(out.Cells, resultsCell{Text: resultsInt(sum), NA: !anyApplies})
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
	bars := svgChart{ID: "outcomes", Title: "Messages of " + c.Name + " by channel and outcome"}
	for _, oc := range resultsOutcomes {
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
		g := chartGroup{Label: resultsChannel(ch), Note: resultsCount(by[ch]["total"], "message", "messages"),
			Scale: by[ch]["total"]}
		for _, oc := range resultsOutcomes {
			if applies(oc.key, ch) {
				g.Bars = append(g.Bars, chartBar{Series: oc.series, Label: oc.label, Value: by[ch][oc.key]})
			}
		}
		bars.Groups = append(bars.Groups, g)
	}
	if !v.Empty {
		v.OutcomeChart = bars.SVG()
	}

	// Reasons, by channel and outcome, the commonest first.
	for _, ch := range channels {
		for _, oc := range resultsOutcomes {
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
				if i >= resultsMaxReasons {
					other += reasons[k]
					continue
				}
				why := k.reason
				if why == "" {
					why = "No reason recorded"
				}
				v.Reasons = append(v.Reasons, resultsReasonRow{Channel: resultsChannel(ch), Outcome: oc.label, Reason: why,
					Messages: resultsInt(reasons[k])})
			}
			if other > 0 {
				v.Reasons = append(v.Reasons, resultsReasonRow{Channel: resultsChannel(ch), Outcome: oc.label,
					Reason: resultsCount(len(rs)-resultsMaxReasons, "other reason", "other reasons"), Messages: resultsInt(other)})
			}
		}
	}

	// Reach by ward.
	wchart := svgChart{ID: "wards", Title: "Residents of " + c.Name + "'s audience reached, by ward", Stacked: true}
	var tot resultsWardCount
	listed := map[string]int{} // ward → reasons listed so far
	other := map[string]int{}  // ward → residents under reasons not listed
	var order []string
	for _, wc := range wards {
		ward := resultsWard(wc.Ward)
		if wc.Total {
			order = append(order, ward)
			residents := resultsCount(wc.Audience, "resident", "residents")
			v.Wards = append(v.Wards, resultsWardRow{Ward: ward, Audience: residents, Email: resultsInt(wc.Email),
				SMS: resultsInt(wc.SMS), Post: resultsInt(wc.Post), NotReached: resultsInt(wc.Waiting + wc.Unreached)})
			tot.Audience += wc.Audience
			tot.Email += wc.Email
			tot.SMS += wc.SMS
			tot.Post += wc.Post
			tot.Waiting += wc.Waiting
			tot.Unreached += wc.Unreached
			reached := wc.Audience - wc.Waiting - wc.Unreached
			wchart.Groups = append(wchart.Groups, chartGroup{Label: ward,
				Note:  fmt.Sprintf("%s of %s reached (%s)", resultsInt(reached), residents, resultsPercent(reached, wc.Audience)),
				Scale: wc.Audience,
				Bars: []chartBar{{Series: seriesReached, Value: reached}, {Series: seriesWaiting, Value: wc.Waiting},
					{Series: seriesNotReached, Value: wc.Unreached}}})
			if wc.Waiting > 0 {
				v.WardReasons = append(v.WardReasons, resultsWardReasonRow{Ward: ward, Reason: "Not sent yet",
					Residents: resultsInt(wc.Waiting)})
			}
			continue
		}
		if wc.Unreached == 0 || wc.Why == "" {
			continue // reached, or waiting: no reason
		}
		if listed[ward] >= resultsMaxWardReasons {
			other[ward] += wc.Unreached
			continue
		}
		listed[ward]++
		v.WardReasons = append(v.WardReasons, resultsWardReasonRow{Ward: ward, Reason: resultsWhy(wc.Why),
			Residents: resultsInt(wc.Unreached)})
	}
	for _, ward := range order {
		if n := other[ward]; n > 0 {
			i := slices.IndexFunc(v.WardReasons, func(r resultsWardReasonRow) bool { return r.Ward == ward })
			last := i
			for last+1 < len(v.WardReasons) && v.WardReasons[last+1].Ward == ward {
				last++
			}
			v.WardReasons = slices.Insert(v.WardReasons, last+1,
				resultsWardReasonRow{Ward: ward, Reason: "Other reasons", Residents: resultsInt(n)})
		}
	}
	v.WardTotal = resultsWardRow{Ward: "All wards", Audience: resultsCount(tot.Audience, "resident", "residents"),
		Email: resultsInt(tot.Email), SMS: resultsInt(tot.SMS), Post: resultsInt(tot.Post),
		NotReached: resultsInt(tot.Waiting + tot.Unreached)}
	if len(wchart.Groups) > 0 {
		v.WardChart = wchart.SVG()
	}
	return v
}

// resultsWhy reads resultsWardsSQL's "channel|state|reason".
func resultsWhy(why string) string {
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
	label := resultsChannel(ch) + " " + words
	if reason != "" {
		label += ": " + reason
	}
	return label
}

func resultsWard(w string) string {
	if strings.TrimSpace(w) == "" {
		return "No ward recorded"
	}
	return w
}

// ---------------------------------------------------------------------------------
// The borough's reach by ward.

type reachTopic struct {
	Slug, Name string
	Selected   bool
}

type reachRow struct {
	Ward, Residents                   string // Residents: "4 residents"
	Email, SMS, PostOnly, Unreachable string
}

type reachView struct {
	Topic      string
	Topics     []reachTopic
	Rows       []reachRow
	Total      reachRow
	LargePrint string
	Chart      template.HTML
}

// handleReach shows, ward by ward, who can be reached about a topic (?topic=slug, by
// default general) and by which channel, and who can't be reached at all, as
// contact.Store.Reach counts them.
func (s *Server) handleReach(w http.ResponseWriter, r *http.Request) {
	topic := strings.TrimSpace(r.URL.Query().Get("topic"))
	if topic == "" {
		topic = "general"
	}
	var topics []reachTopic
	if err := s.db.SelectContext(r.Context(), &topics, `SELECT slug, name FROM topics ORDER BY name, slug`); err != nil {
		s.fail(w, r, err)
		return
	}
	v := reachView{Topics: topics}
	for i := range v.Topics {
		if v.Topics[i].Slug == topic {
			v.Topics[i].Selected = true
			v.Topic = v.Topics[i].Name
		}
	}
	if v.Topic == "" {
		s.render(w, http.StatusNotFound, "message.html", page{Title: "Topic not found", OrgName: s.brand.OrgName,
			Session: sessionOf(r), Message: "There is no such topic. Choose one from the list on the reach page."})
		return
	}
	wards, err := contact.NewStore(s.db, s.log).Reach(r.Context(), topic)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var tot contact.WardReach
	ch := svgChart{ID: "reach", Title: "How residents can be reached about " + v.Topic + ", by ward", Stacked: true}
	for _, wr := range wards {
		ward := resultsWard(wr.Ward)
		v.Rows = append(v.Rows, reachRow{Ward: ward, Residents: resultsCount(wr.Contacts, "resident", "residents"), Email: resultsInt(wr.Email),
			SMS: resultsInt(wr.SMS), PostOnly: resultsInt(wr.PostOnly), Unreachable: resultsInt(wr.Unreachable)})
		tot.Add(wr)
		digital := wr.Contacts - wr.PostOnly - wr.Unreachable
		note := resultsCount(wr.Contacts, "resident", "residents") + ", all reachable"
		if wr.Unreachable > 0 {
			note = fmt.Sprintf("%s: %s can't be reached (%s)", resultsCount(wr.Contacts, "resident", "residents"),
				resultsInt(wr.Unreachable), resultsPercent(wr.Unreachable, wr.Contacts))
		}
		ch.Groups = append(ch.Groups, chartGroup{Label: ward, Note: note,
			Scale: wr.Contacts,
			Bars: []chartBar{{Series: seriesDigital, Value: digital}, {Series: seriesPostOnly, Value: wr.PostOnly},
				{Series: seriesUnreachable, Value: wr.Unreachable}}})
	}
	v.Total = reachRow{Ward: "All wards", Residents: resultsCount(tot.Contacts, "resident", "residents"), Email: resultsInt(tot.Email),
		SMS: resultsInt(tot.SMS), PostOnly: resultsInt(tot.PostOnly), Unreachable: resultsInt(tot.Unreachable)}
	v.LargePrint = resultsInt(tot.LargePrint)
	if len(ch.Groups) > 0 {
		v.Chart = ch.SVG()
	}
	s.render(w, http.StatusOK, "reach.html", page{Title: "Reach by ward", OrgName: s.brand.OrgName,
		Session: sessionOf(r), Data: v})
}

// ---------------------------------------------------------------------------------
// Numbers.

// resultsInt writes n with thousands separators: 1,234,567.
func resultsInt(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// resultsPercent is n of total as a whole percentage; a share that rounds to 0 or 100 but
// isn't says so ("<1%", ">99%").
func resultsPercent(n, total int) string {
	if total <= 0 {
		return "0%"
	}
	p := float64(n) * 100 / float64(total)
	switch {
	case n > 0 && p < 0.5:
		return "<1%"
	case n < total && p >= 99.5:
		return ">99%"
	}
	return strconv.Itoa(int(math.Round(p))) + "%"
}

func resultsCount(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return resultsInt(n) + " " + many
}

// ---------------------------------------------------------------------------------
// Charts: server-rendered SVG, no script.

// chartSeries is one kind of value: its name (the legend's), its colour (at least 3:1
// against white) and its pattern, so that no value is told apart by colour alone.
type chartSeries struct {
	Name    string
	Colour  string // #rrggbb
	Pattern string // a key of chartPatterns
}

// chartPatterns are the white marks drawn over a series' colour on an 8×8 tile.
var chartPatterns = map[string]string{
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

// chartBar is one value of a group.
type chartBar struct {
	Series chartSeries
	Label  string // defaults to the series' name
	Value  int
}

func (b chartBar) label() string {
	if b.Label != "" {
		return b.Label
	}
	return b.Series.Name
}

// chartGroup is a group of bars (grouped chart) or one bar of segments (stacked chart).
type chartGroup struct {
	Label string
	Note  string // what the group holds: "7 messages"
	Scale int    // the value a full-width bar stands for
	Bars  []chartBar
}

// svgChart is a horizontal bar chart drawn as SVG. Grouped, each non-zero value of a group
// is its own bar, labelled with its name, value and share of the group's scale;
// stacked, each group is one bar split into its non-zero values, with a legend. Either
// way the chart is role="img" with a title and a description that reads out every
// number, and the page shows the same numbers in a table.
type svgChart struct {
	ID      string // prefix of the SVG's ids: ASCII letters, digits and '-', unique on the page
	Title   string
	Stacked bool
	Groups  []chartGroup
}

// The chart's geometry, in SVG user units: the view box is chartWidth wide and scales
// to its container, so at a phone's 360 px the text is about the page's small print.
const (
	chartWidth   = 360.0
	chartFont    = 15.0 // labels
	chartHead    = 16.0 // group labels
	chartBarH    = 15.0 // a grouped chart's bars
	chartStackH  = 22.0 // a stacked chart's bars
	chartSwatch  = 15.0
	chartInk     = "#0b0c0c"
	chartTrack   = "#f3f2f1"
	chartCharEst = 0.58 // average glyph width in ems, on the generous side
)

// SVG renders the chart. Every piece of text is escaped for XML, so the result is
// well-formed whatever the labels hold.
func (c svgChart) SVG() template.HTML {
	var body strings.Builder
	patterns := map[chartSeries]string{}
	var defs strings.Builder
	fill := func(s chartSeries) string {
		if id, ok := patterns[s]; ok {
			return "url(#" + id + ")"
		}
		id := fmt.Sprintf("%s-p%d", c.ID, len(patterns))
		patterns[s] = id
		fmt.Fprintf(&defs, `<pattern id="%s" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="%s"/>%s</pattern>`,
			id, chartEscape(s.Colour), chartPatterns[s.Pattern])
		return "url(#" + id + ")"
	}
	y := 0.0
	if c.Stacked {
		y = c.legend(&body, fill)
	}
	for _, g := range c.Groups {
		y += chartHead + 8
		if g.Note != "" && !c.Stacked && chartEstimate(g.Label, chartHead, true)+chartEstimate(" — "+g.Note, chartFont, false) <= chartWidth {
			// Grouped: "Email — 7 messages" on one line when it fits.
			fmt.Fprintf(&body, `<text x="0" y="%s" fill="%s"><tspan font-weight="700" font-size="%s">%s</tspan> — %s</text>`,
				chartNum(y), chartInk, chartNum(chartHead), chartEscape(g.Label), chartEscape(g.Note))
		} else {
			chartText(&body, 0, y, chartHead, true, g.Label)
			if g.Note != "" && !c.Stacked {
				y += chartFont + 6
				chartText(&body, 0, y, chartFont, false, g.Note)
			}
		}
		if c.Stacked {
			if g.Note != "" {
				y += chartFont + 6
				chartText(&body, 0, y, chartFont, false, g.Note)
			}
			y += 8
			c.stack(&body, fill, g, y)
			y += chartStackH + 6
			continue
		}
		y += 4
		drawn := 0
		for _, b := range g.Bars {
			if b.Value <= 0 {
				continue
			}
			drawn++
			y += chartFont + 6
			chartText(&body, 0, y, chartFont, false, fmt.Sprintf("%s: %s (%s)", b.label(), resultsInt(b.Value), resultsPercent(b.Value, g.Scale)))
			y += 5
			w := chartBarWidth(b.Value, g.Scale, chartWidth)
			fmt.Fprintf(&body, `<rect class="track" x="0" y="%s" width="%s" height="%s" fill="%s"/>`,
				chartNum(y), chartNum(chartWidth), chartNum(chartBarH), chartTrack)
			fmt.Fprintf(&body, `<rect class="bar" x="0.5" y="%s" width="%s" height="%s" fill="%s" stroke="%s" stroke-width="1"><title>%s</title></rect>`,
				chartNum(y+0.5), chartNum(max(w-1, 1)), chartNum(chartBarH-1), fill(b.Series), chartInk,
				chartEscape(fmt.Sprintf("%s, %s: %s", g.Label, b.label(), resultsInt(b.Value))))
			y += chartBarH
		}
		if drawn == 0 {
			y += chartFont + 6
			chartText(&body, 0, y, chartFont, false, "Nothing yet")
		}
		y += 6
	}
	y += 4
	var out strings.Builder
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 %s %s" width="100%%" `+
		`aria-labelledby="%s-title %s-desc" font-size="%s"><title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`,
		chartNum(chartWidth), chartNum(math.Ceil(y)), c.ID, c.ID, chartNum(chartFont), c.ID, chartEscape(c.Title), c.ID, chartEscape(c.describe()))
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
func (c svgChart) legend(b *strings.Builder, fill func(chartSeries) string) float64 {
	var series []chartSeries
	for _, g := range c.Groups {
		for _, bar := range g.Bars {
			if !slices.Contains(series, bar.Series) {
				series = append(series, bar.Series)
			}
		}
	}
	x, y := 0.0, chartFont+4
	for _, s := range series {
		w := chartSwatch + 6 + chartEstimate(s.Name, chartFont, false) + 14
		if x > 0 && x+w > chartWidth {
			x, y = 0, y+chartFont+10
		}
		fmt.Fprintf(b, `<rect class="swatch" x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="%s" stroke-width="1"/>`,
			chartNum(x+0.5), chartNum(y-chartSwatch+2.5), chartNum(chartSwatch-1), chartNum(chartSwatch-1), fill(s), chartInk)
		chartText(b, x+chartSwatch+6, y, chartFont, false, s.Name)
		x += w
	}
	return y + 4
}

// stack draws one stacked bar: a segment per non-zero value, each at least 2 units wide,
// their widths in proportion to their values.
func (c svgChart) stack(b *strings.Builder, fill func(chartSeries) string, g chartGroup, y float64) {
	fmt.Fprintf(b, `<rect class="track" x="0" y="%s" width="%s" height="%s" fill="%s"/>`,
		chartNum(y), chartNum(chartWidth), chartNum(chartStackH), chartTrack)
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
			w = max(float64(bar.Value)/float64(scale)*chartWidth, 2)
		}
		widths = append(widths, w)
		total += w
	}
	full := float64(sum) / float64(scale) * chartWidth
	x := 0.0
	for i, bar := range g.Bars {
		if bar.Value <= 0 {
			continue
		}
		w := widths[i] * full / total
		fmt.Fprintf(b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="%s" stroke-width="1"><title>%s</title></rect>`,
			chartNum(x+0.5), chartNum(y+0.5), chartNum(max(w-1, 1)), chartNum(chartStackH-1), fill(bar.Series), chartInk,
			chartEscape(fmt.Sprintf("%s, %s: %s (%s)", g.Label, bar.label(), resultsInt(bar.Value), resultsPercent(bar.Value, g.Scale))))
		x += w
	}
}

// describe is the chart's long description: every group's numbers in words.
func (c svgChart) describe() string {
	var parts []string
	for _, g := range c.Groups {
		var vals []string
		for _, b := range g.Bars {
			if b.Value > 0 {
				vals = append(vals, fmt.Sprintf("%s %s (%s)", b.label(), resultsInt(b.Value), resultsPercent(b.Value, g.Scale)))
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

// chartText draws one line of text at (x, y), its baseline. A line that may not fit the
// width is fitted to it (textLength), so nothing is cut off.
func chartText(b *strings.Builder, x, y, size float64, bold bool, s string) {
	attrs := ""
	if bold {
		attrs += ` font-weight="700"`
	}
	if size != chartFont {
		attrs += ` font-size="` + chartNum(size) + `"`
	}
	if avail := chartWidth - x; chartEstimate(s, size, bold) > avail {
		attrs += ` textLength="` + chartNum(avail) + `" lengthAdjust="spacingAndGlyphs"`
	}
	fmt.Fprintf(b, `<text x="%s" y="%s" fill="%s"%s>%s</text>`, chartNum(x), chartNum(y), chartInk, attrs, chartEscape(s))
}

// chartEstimate guesses a line's width from its length.
func chartEstimate(s string, size float64, bold bool) float64 {
	w := float64(utf8.RuneCountInString(s)) * size * chartCharEst
	if bold {
		w *= 1.08
	}
	return w
}

func chartBarWidth(v, scale int, width float64) float64 {
	if scale <= 0 || v <= 0 {
		return 0
	}
	return max(min(float64(v)/float64(scale), 1)*width, 2)
}

func chartNum(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

// chartEscape escapes s for XML text and attribute values, dropping the characters XML 1.0
// cannot hold at all (most C0 controls, U+FFFE, U+FFFF).
func chartEscape(s string) string {
	s = strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	return template.HTMLEscapeString(s)
}
