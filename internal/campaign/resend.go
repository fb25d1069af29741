package campaign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/consent"
)

// Resent says what a resend did.
type Resent struct {
	Requeued int `db:"requeued"` // queued again: they go out as the run carries on
	// Suppressed were not queued again, and are now recorded as suppressed with the
	// reason: the resident has since withdrawn consent, or the address or number is no
	// longer usable (bounced, invalid, opted out at the provider).
	Suppressed int `db:"suppressed"`
}

// resendSQL puts a campaign's messages of one kind back in the queue (%[1]s selects
// them), each only if it may still be sent: its contact point is still usable and the
// resident's consent for the campaign's topic, read from the ledger now, still allows
// the campaign's purpose, as when the run's audience was snapshotted (outbox
// enqueueSQL). The rest become suppressed, with the reason. Requeued rows start their
// attempts afresh, and a completed run they belong to goes back to sending.
const resendSQL = `
WITH cand AS (
    SELECT o.id,
           CASE WHEN cp.id IS NULL THEN 'no contact point'
                WHEN cp.status <> 'active' THEN 'contact point ' || replace(cp.status, '_', ' ')
                WHEN %[2]s = 'withdrawn' THEN 'consent withdrawn'
                WHEN c.purpose = 'marketing' AND %[2]s IS NULL THEN 'no consent for marketing'
           END AS blocked
      FROM outbox o
      JOIN campaigns c ON c.id = o.campaign_id
      LEFT JOIN contact_points cp ON cp.id = o.contact_point_id%[3]s
     WHERE o.run_id IN (SELECT id FROM campaign_runs WHERE campaign_id = $1) AND %[1]s
       FOR UPDATE OF o
),
upd AS (
    UPDATE outbox o SET
           state = CASE WHEN cand.blocked IS NULL THEN 'pending' ELSE 'suppressed' END,
           reason = CASE WHEN cand.blocked IS NULL THEN $2 ELSE cand.blocked || ' since it was first sent: not resent' END,
           attempt = CASE WHEN cand.blocked IS NULL THEN 0 ELSE o.attempt END,
           run_at = now(), locked_by = NULL, lease_until = NULL, handed_at = NULL, updated_at = now()
      FROM cand WHERE o.id = cand.id
 RETURNING o.id, o.run_id, o.state, o.reason),
ev AS (INSERT INTO message_events (outbox_id, event, detail)
       SELECT id, CASE WHEN state = 'pending' THEN 'requeued' ELSE 'suppressed' END, reason FROM upd),
runs AS (UPDATE campaign_runs SET state = 'sending', completed_at = NULL
          WHERE id IN (SELECT run_id FROM upd WHERE state = 'pending') AND state = 'completed')
SELECT count(*) FILTER (WHERE state = 'pending') AS requeued,
       count(*) FILTER (WHERE state = 'suppressed') AS suppressed FROM upd`

// resendable picks the failed messages that are worth sending again: those whose every
// attempt failed for a temporary reason (the relay unreachable, 4xx replies, timeouts)
// until the attempts ran out, and that no provider ever accepted. Not among them: a
// bounce (its own state, and the address is marked), an opt-out at the provider, a
// message that can never be sent (too long, could not be rendered) and a text the
// network reported undelivered (accepted, so it has a provider id): those fail in the
// first attempt for a reason that would fail them again, or were sent already.
const resendable = `o.state = 'failed' AND o.attempt >= o.max_attempts AND o.provider_id IS NULL`

// ResendFailed queues a campaign's failed messages again: those that ran out of
// attempts on temporary failures, such as an outage of the SMTP relay (see resendable),
// and whose resident may still be sent them (see Resent). The campaign must be sending,
// completed, or scheduled for its next run (it goes back to sending); a paused one must
// be resumed first, and a cancelled one sends nothing more (ErrTransition).
func (s *Store) ResendFailed(ctx context.Context, id int64, actor string) (Resent, error) {
	return s.resend(ctx, id, actor, resendable, "resent by "+actor+" after it failed", "failed messages")
}

// ResendUnknown puts a campaign's messages of unknown outcome back in the queue. Those are
// messages a crashed sender had handed to the provider without recording the answer: they
// may have arrived, so resending may deliver some twice. That is the officer's call, not
// the software's, which is why it is a separate, explicit step. Consent is read again,
// and the campaign's state checked, as for ResendFailed.
func (s *Store) ResendUnknown(ctx context.Context, id int64, actor string) (Resent, error) {
	return s.resend(ctx, id, actor, `o.state = 'unknown'`, "resent by "+actor+" after an unknown outcome", "messages of unknown outcome")
}

// resendFrom are the states a campaign may be resent from.
var resendFrom = []State{Sending, Completed, Scheduled}

func (s *Store) resend(ctx context.Context, id int64, actor, which, reason, what string) (Resent, error) {
	var res Resent
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var st State
		if err := tx.GetContext(ctx, &st, `SELECT state FROM campaigns WHERE id = $1 FOR UPDATE`, id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: %d", ErrNotFound, id)
			}
			return fmt.Errorf("resend %s: %w", what, err)
		}
		switch st {
		case Sending, Completed, Scheduled:
		case Paused:
			return fmt.Errorf("%w: campaign %d is paused: resume it first, then resend its %s", ErrTransition, id, what)
		default:
			return fmt.Errorf("%w: campaign %d is %s: only a sending or completed campaign can resend %s", ErrTransition, id, st, what)
		}
		q := fmt.Sprintf(resendSQL, which, consent.Status("cur"), consent.Joins("o.contact_point_id", "c.topic_id", "cur"))
		if err := tx.GetContext(ctx, &res, q, id, reason); err != nil {
			return fmt.Errorf("resend %s: %w", what, err)
		}
		if err := audit.Pending(ctx, tx, "", map[string]any{"requeued": res.Requeued, "suppressed": res.Suppressed}); err != nil {
			return err
		}
		if res.Requeued > 0 {
			// Wake the workers of whichever process is serving (db.Wake), at commit.
			if _, err := tx.ExecContext(ctx, `SELECT pg_notify('crier_wake', 'outbox')`); err != nil {
				return fmt.Errorf("resend %s: %w", what, err)
			}
		}
		if res.Requeued == 0 || st == Sending {
			return nil
		}
		if res.Requeued == 1 {
			what = strings.Replace(what, "messages", "message", 1)
		}
		_, err := move(ctx, tx, id, resendFrom, Sending, actor, fmt.Sprintf("resending %d %s", res.Requeued, what))
		return err
	})
	if err != nil {
		return Resent{}, err
	}
	return res, nil
}

// Resendable is what ResendFailed and ResendUnknown would look at now: messages, and the
// residents they are for (one resident may have several, one a channel).
type Resendable struct {
	Failed           int `db:"failed"`
	FailedResidents  int `db:"failed_residents"`
	Unknown          int `db:"unknown"`
	UnknownResidents int `db:"unknown_residents"`
}

// Resendable counts a campaign's messages that ResendFailed and ResendUnknown would look
// at, and their residents (before consent is read again: some may turn out not to be
// resent).
func (s *Store) Resendable(ctx context.Context, id int64) (Resendable, error) {
	var n Resendable
	err := s.db.GetContext(ctx, &n, `
		SELECT count(*) FILTER (WHERE `+resendable+`) AS failed,
		       count(DISTINCT o.contact_id) FILTER (WHERE `+resendable+`) AS failed_residents,
		       count(*) FILTER (WHERE o.state = 'unknown') AS unknown,
		       count(DISTINCT o.contact_id) FILTER (WHERE o.state = 'unknown') AS unknown_residents
		  FROM campaign_runs r JOIN outbox o ON o.run_id = r.id
		 WHERE r.campaign_id = $1 AND o.state IN ('failed', 'unknown')`, id)
	if err != nil {
		return Resendable{}, fmt.Errorf("count messages to resend: %w", err)
	}
	return n, nil
}
