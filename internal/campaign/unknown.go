package campaign

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// ResendUnknown puts a campaign's messages of unknown outcome back in the queue. Those are
// messages a crashed sender had handed to the provider without recording the answer: they
// may have arrived, so resending may deliver some twice. That is the officer's call, not
// the software's, which is why it is a separate, explicit step. It returns how many rows
// it requeued; the run goes back to sending if it had completed.
func (s *Store) ResendUnknown(ctx context.Context, id int64, actor string) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `
		WITH r AS (
		    UPDATE outbox SET state = 'pending', run_at = now(), reason = 'resent by ' || $2 || ' after an unknown outcome',
		           locked_by = NULL, updated_at = now()
		     WHERE campaign_id = $1 AND state = 'unknown'
		 RETURNING id, run_id),
		ev AS (INSERT INTO message_events (outbox_id, event, detail) SELECT id, 'requeued', 'resent by ' || $2 FROM r),
		runs AS (UPDATE campaign_runs SET state = 'sending', completed_at = NULL
		          WHERE id IN (SELECT run_id FROM r) AND state = 'completed')
		SELECT count(*) FROM r`, id, actor)
	if err != nil {
		return 0, fmt.Errorf("resend unknown: %w", err)
	}
	if n > 0 {
		if err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			_, err := move(ctx, tx, id, []State{Completed, Scheduled}, Sending, actor, fmt.Sprintf("resending %d messages of unknown outcome", n))
			return err
		}); err != nil {
			return n, err
		}
	}
	return n, nil
}
