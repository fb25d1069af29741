package rights

import (
	"context"
	"fmt"
	"time"

	"github.com/crierhq/crier/internal/audit"
)

// Policy is how long the words of texts are kept (CRIER_RETENTION_REPLIES,
// CRIER_RETENTION_BODIES); zero keeps them.
type Policy struct {
	Replies time.Duration // texts residents sent us
	Bodies  time.Duration // texts sent to residents from the inbox (officers' replies)
}

// Off reports whether the policy removes nothing.
func (p Policy) Off() bool { return p.Replies <= 0 && p.Bodies <= 0 }

// RetentionResult counts the texts whose words a retention run removed (or, dry, would).
type RetentionResult struct {
	Replies int64 `json:"replies"`
	Bodies  int64 `json:"bodies"`
	DryRun  bool  `json:"dry_run"`
}

// Crier keeps no other message words per resident: an e-bulletin or campaign text is
// rendered from its campaign when sent and not stored, so the texts in conversations are
// all there is to remove. A text keeps its row (time, campaign, poll answer, tags, status)
// so poll tallies and campaign counts stay; body and raw_body are emptied and
// body_removed_at set. Old texts are found by sms_messages_retention_idx.
const retentionSQL = `
UPDATE sms_messages SET body = '', raw_body = NULL, body_removed_at = now()
 WHERE body_removed_at IS NULL AND direction = $1 AND at < $2`

const retentionCountSQL = `
SELECT count(*) FROM sms_messages WHERE body_removed_at IS NULL AND direction = $1 AND at < $2`

// Retention removes the words of texts older than the policy's ages, as of now, and
// records the run in the audit log (actor) when it removed anything or was asked for by
// hand (manual). With dryRun it only counts and records nothing.
func (s *Store) Retention(ctx context.Context, p Policy, now time.Time, dryRun, manual bool, actor audit.Entry) (RetentionResult, error) {
	res := RetentionResult{DryRun: dryRun}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("retention: %w", err)
	}
	defer tx.Rollback()
	for _, r := range []struct {
		direction string
		age       time.Duration
		n         *int64
	}{{"in", p.Replies, &res.Replies}, {"out", p.Bodies, &res.Bodies}} {
		if r.age <= 0 {
			continue
		}
		cutoff := now.Add(-r.age)
		if dryRun {
			if err := tx.GetContext(ctx, r.n, retentionCountSQL, r.direction, cutoff); err != nil {
				return res, fmt.Errorf("retention: count %s texts: %w", r.direction, err)
			}
			continue
		}
		x, err := tx.ExecContext(ctx, retentionSQL, r.direction, cutoff)
		if err != nil {
			return res, fmt.Errorf("retention: %s texts: %w", r.direction, err)
		}
		*r.n, _ = x.RowsAffected()
	}
	if dryRun {
		return res, nil
	}
	if manual || res.Replies+res.Bodies > 0 {
		actor.Action, actor.SubjectType = audit.Retention, "sms_messages"
		actor.Detail = map[string]any{"replies": res.Replies, "bodies": res.Bodies,
			"replies_days": p.Replies.Hours() / 24, "bodies_days": p.Bodies.Hours() / 24}
		if err := audit.Record(ctx, tx, actor); err != nil {
			return res, err
		}
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("retention: commit: %w", err)
	}
	if res.Replies+res.Bodies > 0 {
		s.logger.InfoContext(ctx, "retention removed old texts' words", "replies", res.Replies, "bodies", res.Bodies)
	}
	return res, nil
}

// RunRetention applies p now and then every interval until ctx ends (`crier serve` runs
// it daily). A failed run is logged for the operator and tried again at the next
// interval: the server goes on serving. It returns nil when ctx ends; with p off it
// returns at once. Several servers sharing a database may each run it: a text's words
// are removed once, and only a run that removed something is recorded.
func (s *Store) RunRetention(ctx context.Context, p Policy, interval time.Duration, actor audit.Entry) error {
	if p.Off() {
		return nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Retention(ctx, p, time.Now(), false, false, actor); err != nil && ctx.Err() == nil {
			s.logger.ErrorContext(ctx, "retention run failed; trying again at the next interval", "interval", interval, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
