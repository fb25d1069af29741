package outbox

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/consent"
)

// ProviderStatus is one status report from a provider's callback (Twilio's
// StatusCallback), already judged: State is what it makes the outbox row.
type ProviderStatus struct {
	ProviderID string // Twilio's MessageSid
	Status     string // the provider's word: queued, sent, delivered, undelivered, failed, ...
	Rank       int    // a later status has a higher rank; a report never lowers the rank
	State      string // sent, delivered or failed
	Reason     string // stored; no personal data
	ErrorCode  int
	// PointStatus is what the status says of the number: "invalid" (dead), "opted_out"
	// (the resident texted STOP to the provider: the consent ledger records their STOP),
	// or "".
	PointStatus string
}

// applyStatusSQL applies a status to the outbox row and to an officer's reply with that
// SID, each only if it raises the row's rank: a repeated callback changes nothing and a
// late "sent" never overwrites "delivered". The status is also kept (rank-guarded) in
// provider_statuses, marked applied when a row took it: a callback that beats the worker's
// settle is applied by the settle (applyLateSQL) or by the rescuer.
const applyStatusSQL = `
WITH o AS (
    UPDATE outbox SET state = $4, provider_status = $2, provider_rank = $3, reason = $5, updated_at = now()
     WHERE channel = 'sms' AND provider_id = $1 AND provider_rank < $3 AND state IN ('sent', 'delivered', 'failed')
 RETURNING id, contact_point_id),
sm AS (
    UPDATE sms_messages SET status = $4, status_rank = $3, status_reason = $5
     WHERE provider_sid = $1 AND direction = 'out' AND status_rank < $3
 RETURNING id, conversation_id),
ev AS (INSERT INTO message_events (outbox_id, event, detail) SELECT id, $2, $5 FROM o),
-- The number the message went to: a campaign's, or the conversation's for an officer's reply.
pts AS (
    SELECT contact_point_id AS id FROM o WHERE contact_point_id IS NOT NULL
    UNION
    SELECT cp.id FROM sm JOIN conversations cv ON cv.id = sm.conversation_id
      JOIN contact_points cp ON cp.kind = 'phone' AND cp.value = cv.phone),
cp AS (
    UPDATE contact_points cp SET status = $7, status_reason = $5, updated_at = now()
      FROM pts WHERE $7 = 'invalid' AND cp.id = pts.id AND cp.status = 'active'),
ps AS (
    INSERT INTO provider_statuses (provider_id, status, rank, state, reason, error_code, point_status, applied)
    VALUES ($1, $2, $3, $4, $5, $6, $7, EXISTS (SELECT 1 FROM o) OR EXISTS (SELECT 1 FROM sm))
    ON CONFLICT (provider_id) DO UPDATE SET status = EXCLUDED.status, rank = EXCLUDED.rank, state = EXCLUDED.state,
           reason = EXCLUDED.reason, error_code = EXCLUDED.error_code, point_status = EXCLUDED.point_status,
           applied = EXCLUDED.applied, updated_at = now()
     WHERE provider_statuses.rank < EXCLUDED.rank)
SELECT (SELECT count(*) FROM o) + (SELECT count(*) FROM sm) AS n,
       CASE WHEN $7 = 'opted_out' THEN ARRAY(SELECT id FROM pts ORDER BY id) ELSE '{}' END AS stopped`

// lockSIDsSQL serialises a callback with the settle of the same message: both take a
// transaction lock per SID first (in SID order, so settles never deadlock), and every
// statement after it sees what the other committed. Without it a callback that arrives
// while its send is being settled could miss the outbox row, and the settle miss the
// kept status, leaving it for the rescuer. The two-key form keeps these locks apart
// from the single-key locks of the referential-integrity triggers.
const lockSIDsSQL = `SELECT count(pg_advisory_xact_lock(29571, h))
  FROM (SELECT DISTINCT hashtext(sid) AS h FROM unnest($1::text[]) AS sid ORDER BY 1) s`

// RecordProviderStatus applies one callback. It reports whether a message took it now
// (false for a repeat, a late lower status, or a message whose send is not yet settled).
func (s *Store) RecordProviderStatus(ctx context.Context, ps ProviderStatus) (bool, error) {
	st, err := s.stmt(ctx, applyStatusSQL)
	if err != nil {
		return false, fmt.Errorf("record provider status: %w", err)
	}
	lock, err := s.stmt(ctx, lockSIDsSQL)
	if err != nil {
		return false, fmt.Errorf("record provider status: %w", err)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("record provider status: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.StmtxContext(ctx, lock).GetContext(ctx, &n, pq.Array([]string{ps.ProviderID})); err != nil {
		return false, fmt.Errorf("record provider status: %w", err)
	}
	var stopped pq.Int64Array
	if err := tx.StmtxContext(ctx, st).QueryRowxContext(ctx, ps.ProviderID, ps.Status, ps.Rank, ps.State, ps.Reason, ps.ErrorCode, ps.PointStatus).
		Scan(&n, &stopped); err != nil {
		return false, fmt.Errorf("record provider status: %w", err)
	}
	// The resident texted STOP to the provider: the ledger records it as their STOP.
	if _, err := consent.Stop(ctx, tx, stopped, consent.Source{Name: "provider reports opt-out: " + ps.Reason}); err != nil {
		return false, fmt.Errorf("record provider status: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("record provider status: %w", err)
	}
	return n > 0, nil
}

// twilioSIDs returns the Twilio message SIDs among provs, sorted.
func twilioSIDs(provs []string) []string {
	var sids []string
	for _, p := range provs {
		if twilioSID.MatchString(p) {
			sids = append(sids, p)
		}
	}
	slices.Sort(sids)
	return sids
}

// lockSIDs takes the SIDs' locks in tx (see lockSIDsSQL).
func (s *Store) lockSIDs(ctx context.Context, tx *sqlx.Tx, sids []string) error {
	st, err := s.stmt(ctx, lockSIDsSQL)
	if err != nil {
		return fmt.Errorf("lock provider ids: %w", err)
	}
	var n int
	if err := tx.StmtxContext(ctx, st).GetContext(ctx, &n, pq.Array(sids)); err != nil {
		return fmt.Errorf("lock provider ids: %w", err)
	}
	return nil
}

// applyLateSQL applies kept statuses that no row took when they arrived: those of the
// given SIDs (a worker's settle, in its transaction), or ($1 NULL) every unapplied one
// from the last two days (the rescuer).
const applyLateSQL = `
WITH ps AS (
    UPDATE provider_statuses SET applied = true
     WHERE NOT applied AND ($1::text[] IS NULL AND updated_at > now() - interval '2 days' OR provider_id = ANY($1))
       AND (EXISTS (SELECT 1 FROM outbox o WHERE o.channel = 'sms' AND o.provider_id = provider_statuses.provider_id AND o.state IN ('sent', 'delivered', 'failed'))
         OR EXISTS (SELECT 1 FROM sms_messages m WHERE m.provider_sid = provider_statuses.provider_id))
 RETURNING provider_id, status, rank, state, reason, point_status),
o AS (
    UPDATE outbox o SET state = ps.state, provider_status = ps.status, provider_rank = ps.rank, reason = ps.reason,
           updated_at = now()
      FROM ps WHERE o.channel = 'sms' AND o.provider_id = ps.provider_id AND o.provider_rank < ps.rank AND o.state IN ('sent', 'delivered', 'failed')
 RETURNING o.id, o.contact_point_id, ps.status, ps.reason, ps.point_status),
sm AS (
    UPDATE sms_messages m SET status = ps.state, status_rank = ps.rank, status_reason = ps.reason
      FROM ps WHERE m.provider_sid = ps.provider_id AND m.direction = 'out' AND m.status_rank < ps.rank
 RETURNING m.conversation_id, ps.reason, ps.point_status),
ev AS (INSERT INTO message_events (outbox_id, event, detail) SELECT id, status, reason FROM o),
pts AS (
    SELECT contact_point_id AS id, reason, point_status FROM o WHERE contact_point_id IS NOT NULL AND point_status <> ''
    UNION
    SELECT cp.id, sm.reason, sm.point_status FROM sm JOIN conversations cv ON cv.id = sm.conversation_id
      JOIN contact_points cp ON cp.kind = 'phone' AND cp.value = cv.phone WHERE sm.point_status <> ''),
inv AS (
    UPDATE contact_points cp SET status = pts.point_status, status_reason = pts.reason, updated_at = now()
      FROM pts WHERE pts.point_status = 'invalid' AND cp.id = pts.id AND cp.status = 'active')
SELECT DISTINCT id AS contact_point_id, reason FROM pts WHERE point_status = 'opted_out' ORDER BY id`

// twilioSID matches Twilio message SIDs: only settles of such messages look for statuses
// that arrived first (e-bulletins never have any).
var twilioSID = regexp.MustCompile(`^[SM]M[0-9a-f]{32}$`)

// earlyStatusesSQL says whether any status of the SIDs $1 is waiting to be applied.
const earlyStatusesSQL = `SELECT EXISTS (SELECT 1 FROM provider_statuses WHERE provider_id = ANY($1::text[]) AND NOT applied)`

// applyLate runs applyLateSQL for sids inside tx, which holds their locks.
func (s *Store) applyLate(ctx context.Context, tx *sqlx.Tx, sids []string) error {
	if len(sids) == 0 {
		return nil
	}
	// Almost always no status came first. applyLateSQL costs milliseconds even when
	// it finds none (its statement-level triggers on contact_points fire anyway), so
	// look first; the SIDs' locks, held, keep a callback from adding one meanwhile.
	early, err := s.stmt(ctx, earlyStatusesSQL)
	if err != nil {
		return fmt.Errorf("apply early statuses: %w", err)
	}
	var waiting bool
	if err := tx.StmtxContext(ctx, early).GetContext(ctx, &waiting, pq.Array(sids)); err != nil {
		return fmt.Errorf("apply early statuses: %w", err)
	}
	if !waiting {
		return nil
	}
	st, err := s.stmt(ctx, applyLateSQL)
	if err != nil {
		return fmt.Errorf("apply early statuses: %w", err)
	}
	var stopped []providerStop
	if err := tx.StmtxContext(ctx, st).SelectContext(ctx, &stopped, pq.Array(sids)); err != nil {
		return fmt.Errorf("apply early statuses: %w", err)
	}
	if err := recordProviderStops(ctx, tx, stopped); err != nil {
		return fmt.Errorf("apply early statuses: %w", err)
	}
	return nil
}

// providerStop is a number the provider says opted out (Twilio 21610, or an opted-out
// status), with the provider's reason.
type providerStop struct {
	Point  int64  `db:"contact_point_id"`
	Reason string `db:"reason"`
}

// recordProviderStops records each as the resident's STOP through the consent ledger:
// one statement per distinct reason.
func recordProviderStops(ctx context.Context, q sqlx.QueryerContext, stopped []providerStop) error {
	byReason := map[string][]int64{}
	var reasons []string
	for _, p := range stopped {
		if byReason[p.Reason] == nil {
			reasons = append(reasons, p.Reason)
		}
		byReason[p.Reason] = append(byReason[p.Reason], p.Point)
	}
	for _, r := range reasons {
		if _, err := consent.Stop(ctx, q, byReason[r], consent.Source{Name: "provider reports opt-out: " + r}); err != nil {
			return err
		}
	}
	return nil
}

// ApplyLateStatuses applies every kept status that no message has taken yet (a callback
// and the settle of its send raced); the dispatcher's rescuer calls it.
func (s *Store) ApplyLateStatuses(ctx context.Context) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("apply late statuses: %w", err)
	}
	defer tx.Rollback()
	var stopped []providerStop
	if err := tx.SelectContext(ctx, &stopped, applyLateSQL, nil); err != nil {
		return fmt.Errorf("apply late statuses: %w", err)
	}
	if err := recordProviderStops(ctx, tx, stopped); err != nil {
		return fmt.Errorf("apply late statuses: %w", err)
	}
	return tx.Commit()
}
