package outbox

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/consent"
)

// Snapshot describes the audience of one campaign run.
type Snapshot struct {
	RunID, CampaignID, TopicID int64
	Purpose                    string   // "service" or "marketing"
	Strategy                   string   // "all" or "best"
	Channels                   []string // the campaign's channels ("email", "sms", "post"), in order of preference
	// Predicate is a segment predicate over contacts alias c, with placeholders numbered
	// from FirstArg (see segment.CompileFrom); "" means everyone.
	Predicate string
	Args      []any
	// Languages is the campaign's fallback order when it is written in several
	// languages: each message gets the resident's preferred language when it is one of
	// them, else the first. Empty (or one) leaves every message's lang "".
	Languages []string
}

// FirstArg is the first placeholder number a snapshot's predicate may use.
const FirstArg = 8

// Tally counts outbox rows by channel, state and reason.
type Tally struct {
	Channel string `db:"channel"`
	State   string `db:"state"`
	Reason  string `db:"reason"`
	Count   int    `db:"n"`
}

// enqueueSQL snapshots a run's audience in ONE statement: for each contact the segment
// selects, it judges every contact point on the campaign's channels against its status,
// type and current consent for the topic (PECR: marketing needs a recorded grant; a
// service notice goes unless the person withdrew), picks the channel(s) by the
// strategy, and inserts pending rows for what will be sent and suppressed rows, with
// the reason, for what won't. Later edits to contacts don't change a run's audience.
const enqueueSQL = `
WITH audience AS (
    SELECT c.id, CASE WHEN cardinality($7::text[]) < 2 THEN ''
                      WHEN c.preferred_language = ANY($7::text[]) THEN c.preferred_language
                      ELSE ($7::text[])[1] END AS lang
      FROM contacts c WHERE %[1]s
),
pts AS (
    SELECT a.id AS contact_id, a.lang, cp.id AS point_id,
           CASE cp.kind WHEN 'email' THEN 'email' WHEN 'phone' THEN 'sms' ELSE 'post' END AS channel,
           CASE WHEN cp.status <> 'active' THEN 'contact point ' || replace(cp.status, '_', ' ')
                WHEN cp.kind = 'phone' AND cp.phone_type = 'landline' THEN 'landline: cannot take texts'
                WHEN ` + "%[2]s" + ` = 'withdrawn' THEN 'consent withdrawn'
                WHEN $4 = 'marketing' AND ` + "%[2]s" + ` IS NULL THEN 'no consent for marketing'
           END AS blocked
      FROM audience a
      JOIN contact_points cp ON cp.contact_id = a.id` + "%[3]s" + `
),
per_channel AS (
    SELECT DISTINCT ON (contact_id, channel) contact_id, lang, channel, point_id, blocked
      FROM pts WHERE channel = ANY($6::text[])
     ORDER BY contact_id, channel, blocked IS NOT NULL, point_id
),
ranked AS (
    SELECT p.*, bool_or(p.blocked IS NULL) OVER (PARTITION BY p.contact_id) AS reachable,
           row_number() OVER (PARTITION BY p.contact_id, p.blocked IS NULL
                              ORDER BY array_position($6::text[], p.channel)) AS rn
      FROM per_channel p
),
chosen AS (
    SELECT contact_id, lang, channel, point_id,
           CASE WHEN blocked IS NULL THEN 'pending' ELSE 'suppressed' END AS state, coalesce(blocked, '') AS reason
      FROM ranked
     WHERE (blocked IS NULL AND ($5 = 'all' OR rn = 1))
        OR (blocked IS NOT NULL AND ($5 = 'all' OR NOT reachable))
    UNION ALL
    SELECT a.id, a.lang, ($6::text[])[1], NULL, 'suppressed', 'no contact point on this campaign''s channels'
      FROM audience a
     WHERE NOT EXISTS (SELECT 1 FROM per_channel p WHERE p.contact_id = a.id)
),
ins AS (
    INSERT INTO outbox (run_id, campaign_id, contact_id, contact_point_id, channel, state, reason, lang)
    SELECT $1, $2, contact_id, point_id, channel, state, reason, lang FROM chosen ORDER BY contact_id, channel
    ON CONFLICT (run_id, contact_id, channel) DO NOTHING
    RETURNING id, channel, state, reason
),
ev AS (
    INSERT INTO message_events (outbox_id, event, detail)
    SELECT id, CASE WHEN state = 'pending' THEN 'queued' ELSE 'suppressed' END, reason FROM ins
)
SELECT channel, state, reason, count(*) AS n FROM ins GROUP BY channel, state, reason ORDER BY channel, state, reason`

// Enqueue snapshots the run's audience into the outbox inside tx (the caller's
// transaction also moves the run and campaign to sending, so both happen or neither).
// Re-running it for the same run adds nothing (the outbox is unique per run × contact ×
// channel).
func (s *Store) Enqueue(ctx context.Context, tx *sqlx.Tx, snap Snapshot) ([]Tally, error) {
	if len(snap.Channels) == 0 {
		return nil, fmt.Errorf("enqueue run %d: the campaign has no channel with content", snap.RunID)
	}
	pred := snap.Predicate
	if strings.TrimSpace(pred) == "" {
		pred = "true"
	}
	args := append([]any{snap.RunID, snap.CampaignID, snap.TopicID, snap.Purpose, snap.Strategy, pq.Array(snap.Channels), pq.StringArray(append([]string{}, snap.Languages...))}, snap.Args...)
	// The plan's cost estimate turns JIT on, and compiling costs more than it saves here.
	if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off`); err != nil {
		return nil, fmt.Errorf("enqueue run %d: %w", snap.RunID, err)
	}
	var tally []Tally
	// The predicate is compiled SQL with placeholders, never user text (see segment.Compile).
	if err := tx.SelectContext(ctx, &tally, fmt.Sprintf(enqueueSQL, pred, consent.Status("cur"), consent.Joins("cp.id", "$3", "cur")), args...); err != nil {
		return nil, fmt.Errorf("enqueue run %d: %w", snap.RunID, err)
	}
	return tally, nil
}
