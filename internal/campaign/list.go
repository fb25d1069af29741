package campaign

// Campaigns as lists show them: the officers' list of campaigns, and the campaigns a
// segment's rules can name.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"
)

// Summary is a campaign as the list of campaigns shows it.
type Summary struct {
	ID        int64          `db:"id"`
	Name      string         `db:"name"`
	Topic     string         `db:"topic"` // the topic's name
	Purpose   string         `db:"purpose"`
	State     string         `db:"state"`
	Channels  pq.StringArray `db:"channels"` // those of its channel order that have content
	CreatedAt time.Time      `db:"created_at"`
	NextRunAt *time.Time     `db:"next_run_at"`
	SentAt    *time.Time     `db:"sent_at"` // when its latest run started; nil if never sent
}

// ListQuery asks for one page of the list of campaigns.
type ListQuery struct {
	State   string // "" for any, else one of the states (draft, scheduled, ...)
	Channel string // "" for any, else email, sms or post: campaigns with content for it
	Text    string // "" for any, else a part of the name or topic, in any case
	Sort    string // one of SummarySorts; "" is "created"
	Desc    bool
	Limit   int // at most this many rows (0: 50)
	Offset  int
}

// SummarySorts are the keys the list of campaigns can be sorted by: name, topic, state,
// created, scheduled (the next run) and sent (the latest run). Each has a second key
// (the id) so that pages never overlap.
var SummarySorts = []string{"name", "topic", "state", "created", "scheduled", "sent"}

// summaryOrders is the ORDER BY of each sort key, ascending and descending: fixed text,
// chosen by key, never built from the request. Times not set yet sort last either way.
var summaryOrders = map[string][2]string{
	"name":      {`lower(c.name), c.id`, `lower(c.name) DESC, c.id DESC`},
	"topic":     {`lower(t.name), c.id DESC`, `lower(t.name) DESC, c.id DESC`},
	"state":     {`c.state, c.id DESC`, `c.state DESC, c.id DESC`},
	"created":   {`c.created_at, c.id`, `c.created_at DESC, c.id DESC`},
	"scheduled": {`c.next_run_at NULLS LAST, c.id DESC`, `c.next_run_at DESC NULLS LAST, c.id DESC`},
	"sent":      {`sent_at NULLS LAST, c.id DESC`, `sent_at DESC NULLS LAST, c.id DESC`},
}

// ErrUnknownSort is returned by a list asked to sort by a key it doesn't have.
var ErrUnknownSort = errors.New("unknown sort key")

// summaryFrom is the list's rows and filters; the channels are Campaign.Channels in SQL.
const summaryFrom = `
		  FROM campaigns c JOIN topics t ON t.id = c.topic_id
		 CROSS JOIN LATERAL (SELECT array_remove(ARRAY[
		        CASE WHEN 'email' = ANY(c.channel_order) AND btrim(c.email_subject, E' \t\r\n') <> ''
		                  AND btrim(c.email_body, E' \t\r\n') <> '' THEN 'email' END,
		        CASE WHEN 'sms' = ANY(c.channel_order) AND btrim(c.sms_body, E' \t\r\n') <> '' THEN 'sms' END,
		        CASE WHEN 'post' = ANY(c.channel_order) AND btrim(c.leaflet_body, E' \t\r\n') <> '' THEN 'post' END],
		        NULL) AS channels) ch
		 WHERE ($1 = '' OR c.state = $1)
		   AND ($2 = '' OR $2 = ANY(ch.channels))
		   AND ($3 = '' OR c.name ILIKE '%' || $3 || '%' OR t.name ILIKE '%' || $3 || '%')`

const summariesSQL = `
		SELECT c.id, c.name, t.name AS topic, c.purpose, c.state, ch.channels, c.created_at, c.next_run_at,
		       (SELECT max(r.started_at) FROM campaign_runs r WHERE r.campaign_id = c.id) AS sent_at` + summaryFrom + `
		 ORDER BY `

const summariesCountSQL = `SELECT count(*)` + summaryFrom

// Summaries returns one page of the campaigns q asks for, sorted as it says, and how many
// campaigns there are in all that match its filters. A sort key not in SummarySorts is
// an error wrapping ErrUnknownSort.
func (s *Store) Summaries(ctx context.Context, q ListQuery) ([]Summary, int, error) {
	if q.Sort == "" {
		q.Sort, q.Desc = "created", true
	}
	order, ok := summaryOrders[q.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("list campaigns by %q: %w", q.Sort, ErrUnknownSort)
	}
	by := order[0]
	if q.Desc {
		by = order[1]
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	text := likeEscape(strings.TrimSpace(q.Text))
	var total int
	if err := s.db.GetContext(ctx, &total, summariesCountSQL, q.State, q.Channel, text); err != nil {
		return nil, 0, fmt.Errorf("count campaigns: %w", err)
	}
	out := []Summary{}
	if err := s.db.SelectContext(ctx, &out, summariesSQL+by+` LIMIT $4 OFFSET $5`,
		q.State, q.Channel, text, q.Limit, max(q.Offset, 0)); err != nil {
		return nil, 0, fmt.Errorf("list campaigns: %w", err)
	}
	return out, total, nil
}

// likeEscape makes s match itself literally in a LIKE pattern (backslash is the escape
// character).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Ref names a campaign.
type Ref struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

const recentSQL = `SELECT id, name FROM campaigns ORDER BY id DESC LIMIT $1`

// Recent lists the latest limit campaigns, newest first.
func (s *Store) Recent(ctx context.Context, limit int) ([]Ref, error) {
	var out []Ref
	if err := s.db.SelectContext(ctx, &out, recentSQL, limit); err != nil {
		return nil, fmt.Errorf("recent campaigns: %w", err)
	}
	return out, nil
}

const namesSQL = `SELECT id, name FROM campaigns WHERE id = ANY($1)`

// Names returns the names of the campaigns ids that exist, by id.
func (s *Store) Names(ctx context.Context, ids []int64) (map[int64]string, error) {
	var rows []Ref
	if err := s.db.SelectContext(ctx, &rows, namesSQL, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("campaign names: %w", err)
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}
