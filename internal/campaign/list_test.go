package campaign_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// TestSummariesSortFilterAndPage: the list of campaigns sorts by each key both ways,
// filters by state, channel and text (a LIKE wildcard is taken literally), pages with a
// total, and refuses a sort key it doesn't know.
func TestSummariesSortFilterAndPage(t *testing.T) {
	ctx := t.Context()
	d := dbtest.New(t)
	cs := campaign.NewStore(d, nil)
	mk := func(name, state string, email, sms bool, created string) int64 {
		t.Helper()
		c := &campaign.Campaign{Name: name, Purpose: "service", ChannelOrder: []string{"email", "sms", "post"},
			LeafletBody: "A leaflet."}
		if email {
			c.EmailSubject, c.EmailBody = "Subject", "Body"
		}
		if sms {
			c.SMSBody = "A text."
		}
		if err := cs.Create(ctx, c, "general", "jo"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(`UPDATE campaigns SET state = $2, created_at = $3 WHERE id = $1`, c.ID, state, created); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	bins := mk("Bin day", "completed", true, true, "2025-01-01T09:00:00Z")
	roads := mk("Road works", "draft", false, true, "2025-03-01T09:00:00Z")
	pct := mk("100% recycled", "draft", true, false, "2025-02-01T09:00:00Z")
	later := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
	if _, err := d.Exec(`UPDATE campaigns SET next_run_at = $2 WHERE id = $1`, roads, later); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`INSERT INTO campaign_runs (campaign_id, scheduled_for, started_at) VALUES ($1, $2, $2)`, bins, later); err != nil {
		t.Fatal(err)
	}
	ids := func(q campaign.ListQuery) (string, int) {
		t.Helper()
		rows, total, err := cs.Summaries(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		var out []string
		for _, r := range rows {
			out = append(out, fmt.Sprint(r.ID))
		}
		return strings.Join(out, ","), total
	}
	id := func(ids ...int64) string {
		var out []string
		for _, i := range ids {
			out = append(out, fmt.Sprint(i))
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		q     campaign.ListQuery
		want  string
		total int
	}{
		{campaign.ListQuery{}, id(roads, pct, bins), 3}, // newest first
		{campaign.ListQuery{Sort: "created"}, id(bins, pct, roads), 3},
		{campaign.ListQuery{Sort: "name"}, id(pct, bins, roads), 3},
		{campaign.ListQuery{Sort: "name", Desc: true}, id(roads, bins, pct), 3},
		{campaign.ListQuery{Sort: "state"}, id(bins, pct, roads), 3},                 // ties: newest first
		{campaign.ListQuery{Sort: "scheduled", Desc: true}, id(roads, pct, bins), 3}, // unscheduled last
		{campaign.ListQuery{Sort: "sent", Desc: true}, id(bins, pct, roads), 3},
		{campaign.ListQuery{Sort: "sent"}, id(bins, pct, roads), 3}, // never sent last both ways
		{campaign.ListQuery{State: "draft"}, id(roads, pct), 2},
		{campaign.ListQuery{Channel: "email"}, id(pct, bins), 2},
		{campaign.ListQuery{Channel: "sms", State: "draft"}, id(roads), 1},
		{campaign.ListQuery{Channel: "post"}, id(roads, pct, bins), 3},
		{campaign.ListQuery{Text: "ROAD"}, id(roads), 1},
		{campaign.ListQuery{Text: "general"}, id(roads, pct, bins), 3}, // the topic's name is "General news"
		{campaign.ListQuery{Text: "%"}, id(pct), 1},
		{campaign.ListQuery{Text: "_"}, "", 0},
		{campaign.ListQuery{Sort: "name", Limit: 2}, id(pct, bins), 3},
		{campaign.ListQuery{Sort: "name", Limit: 2, Offset: 2}, id(roads), 3},
		{campaign.ListQuery{Sort: "name", Limit: 2, Offset: 4}, "", 3},
	} {
		got, total := ids(tc.q)
		if got != tc.want || total != tc.total {
			t.Errorf("%+v: %s of %d, want %s of %d", tc.q, got, total, tc.want, tc.total)
		}
	}
	rows, _, err := cs.Summaries(ctx, campaign.ListQuery{Sort: "name", Limit: 1})
	if err != nil || len(rows) != 1 {
		t.Fatal(err)
	}
	if r := rows[0]; r.Name != "100% recycled" || strings.Join(r.Channels, ",") != "email,post" || r.SentAt != nil || r.CreatedAt.IsZero() {
		t.Errorf("a row: %+v", r)
	}
	for _, bad := range []string{"id; DROP TABLE campaigns", "c.name", "password"} {
		if _, _, err := cs.Summaries(ctx, campaign.ListQuery{Sort: bad}); !errors.Is(err, campaign.ErrUnknownSort) {
			t.Errorf("sort by %q: %v", bad, err)
		}
	}
}
