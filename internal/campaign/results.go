package campaign

// A campaign's results: what became of its messages, by channel, and whom it reached,
// by ward. Both are counted by PostgreSQL from one snapshot.

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/lib/pq"
)

// OutcomeCount is one row of outcomesSQL: messages of one channel, state and reason.
type OutcomeCount struct {
	Channel  string `db:"channel"`
	State    string `db:"state"`
	Reason   string `db:"reason"`
	N        int    `db:"n"`
	OptedOut int    `db:"opted_out"`
	Replied  int    `db:"replied"`
}

// outcomesSQL counts a campaign's messages ($1) by channel, state and reason (the
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
const outcomesSQL = `
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

// WardCount is one row of wardsSQL: a ward's totals (Total) or, for one reason, how
// many of its residents were not reached for it.
type WardCount struct {
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

// wardsSQL counts a campaign's ($1) audience by ward: residents reached by email, SMS
// and post (a message sent or delivered on that channel; one resident may count on
// several), those with messages still to send and nothing yet arrived, and those not
// reached at all, by reason: the outcome of their message on the first of the
// campaign's channels ($2, in order) it tried, as "channel|state|reason". One row per
// ward (total) and one per ward and reason. The ward is the resident's ward now.
const wardsSQL = `
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

// resultsSettings apply to the results' read-only transaction: the planner's
// estimates for grouped joins over the outbox are high enough to switch JIT on, which
// costs more than the query (see segment.countSettings); a campaign to half a million
// residents groups its messages in memory; and a page must not hold a connection for
// ever. (Both queries take about a second each for 750,000 messages.)
const resultsSettings = `SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; SET LOCAL statement_timeout = '60s'`

// readSnapshot runs fn in a read-only, repeatable-read transaction, so that every number on
// a page comes from the same snapshot.
func (s *Store) readSnapshot(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, resultsSettings); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Results reads campaign c's outcomes and its reach by ward from one snapshot. order is
// the channels in the order the reasons residents were not reached are read: each
// resident's is the outcome on the first of them that was tried.
func (s *Store) Results(ctx context.Context, c *Campaign, order []string) ([]OutcomeCount, []WardCount, error) {
	var outs []OutcomeCount
	var wards []WardCount
	err := s.readSnapshot(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, outcomesSQL, c.ID, c.TopicID)
		if err != nil {
			return fmt.Errorf("campaign outcomes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var o OutcomeCount
			if err := rows.Scan(&o.Channel, &o.State, &o.Reason, &o.N, &o.OptedOut, &o.Replied); err != nil {
				return fmt.Errorf("campaign outcomes: %w", err)
			}
			outs = append(outs, o)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("campaign outcomes: %w", err)
		}
		rows, err = tx.QueryContext(ctx, wardsSQL, c.ID, pq.Array(order))
		if err != nil {
			return fmt.Errorf("campaign reach by ward: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var w WardCount
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
