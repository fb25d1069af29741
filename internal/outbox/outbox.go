// Package outbox holds the durable queue between campaigns and channels: one row per
// run × contact × channel, snapshotted set-based when a run starts, leased by workers
// with FOR UPDATE SKIP LOCKED, and settled with every outcome recorded.
//
// The life of a row:
//
//	pending ──claim──▶ sending ──handed──▶ (provider call) ──▶ sent | failed | bounced
//	   ▲                  │                                      │
//	   └──── retry ◀──────┴──────────── temporary error ◀────────┘
//
// A crash is classified by the rescuer from what was recorded before the provider call:
// a leased row never handed to a provider goes back to pending (it cannot have been
// sent); a handed row with no result becomes "unknown" — it may or may not have left,
// so it is not resent automatically (that could send twice) and not dropped silently:
// it is counted in the run's status until an officer resends or accepts it.
package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/db"
)

// Item is a leased outbox row with what a worker needs to render and send it.
type Item struct {
	ID             int64  `db:"id"`
	RunID          int64  `db:"run_id"`
	CampaignID     int64  `db:"campaign_id"`
	ContactID      int64  `db:"contact_id"`
	ContactPointID int64  `db:"contact_point_id"`
	Channel        string `db:"channel"`
	Handed         bool   `db:"handed"` // already recorded as handed (ClaimAndHand)
	Attempt        int    `db:"attempt"`
	MaxAttempts    int    `db:"max_attempts"`
	To             string `db:"address"` // email address or E.164 number
	// Lang is the language the message is written in, for a campaign in several
	// languages (its first, for a bilingual message); "" for a campaign in one.
	Lang string `db:"lang"`
}

// Store reads and writes the outbox.
type Store struct {
	db    *sqlx.DB
	stmts db.Stmts // the hot path's statements, prepared once
	// hot, if set, runs the statements that claim, hand and record outside a transaction
	// (db.OpenHotPath: generic plans only); hotStmts are those prepared on it.
	hot      *sqlx.DB
	hotStmts db.Stmts
}

// NewStore returns a Store over db.
func NewStore(d *sqlx.DB) *Store { return &Store{db: d} }

// WithHotPath has s claim, hand and record on hot, a pool from db.OpenHotPath, and
// returns s. Their statements' generic plans are what TestHotStatementsFindRowsByKey
// checks.
func (s *Store) WithHotPath(hot *sqlx.DB) *Store {
	s.hot = hot
	return s
}

// hotStmt returns query prepared on the hot path's pool, or on the pool without one.
func (s *Store) hotStmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if s.hot == nil {
		return s.stmt(ctx, query)
	}
	return s.hotStmts.Get(ctx, s.hot, query)
}

// stmt returns query prepared on the pool. Workers run claim, handed and complete a few
// times a second each: prepared, they skip parsing and planning (the claim's planning
// alone costs about as much as leasing a hundred rows), and database/sql re-prepares
// them on each pooled connection as needed.
func (s *Store) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	return s.stmts.Get(ctx, s.db, query)
}

// claimSQL leases due rows of one channel. SKIP LOCKED lets any number of workers, in
// any number of crier processes, claim disjoint batches without waiting on each other;
// the claim commits before anything is sent, so no row lock is held across a provider
// call. Rows of paused or cancelled runs are not claimed, and with urgentOnly ($6: quiet
// hours) only rows of urgent campaigns are: the rest wait, pending, until morning.
const claimSQL = `
WITH due AS (
    SELECT o.id FROM outbox o
     WHERE o.state = 'pending' AND o.channel = $1 AND o.run_at <= now()
       AND EXISTS (SELECT 1 FROM campaign_runs r WHERE r.id = o.run_id AND r.state = 'sending')
       AND (NOT $6 OR EXISTS (SELECT 1 FROM campaigns c WHERE c.id = o.campaign_id AND c.urgent))
     ORDER BY o.run_at, o.id
     LIMIT $3
     FOR UPDATE OF o SKIP LOCKED
), ranked AS (
    SELECT id, row_number() OVER (ORDER BY id) AS rn FROM due
)
UPDATE outbox o SET state = 'sending', attempt = o.attempt + 1, locked_by = $2,
       lease_until = now() + $4 * interval '1 second',
       handed_at = CASE WHEN ranked.rn <= $5 THEN now() END, updated_at = now()
  FROM ranked
 WHERE o.id = ranked.id
RETURNING o.id, o.run_id, o.campaign_id, o.contact_id, coalesce(o.contact_point_id, 0) AS contact_point_id,
          o.channel, o.attempt, o.max_attempts, o.handed_at IS NOT NULL AS handed, o.lang,
          (SELECT cp.value FROM contact_points cp WHERE cp.id = o.contact_point_id) AS address`

// Claim leases up to n due rows of channel for worker for the lease duration.
func (s *Store) Claim(ctx context.Context, channel string, worker string, n int, lease time.Duration) ([]Item, error) {
	return s.ClaimAndHand(ctx, channel, worker, n, 0, lease)
}

// ClaimAndHand is Claim that also records the first hand of the claimed rows as handed
// (Item.Handed). The dispatcher no longer does (it marks each message just before its
// own provider call, see Record); a handed row left by a crash is unknown, so hand only
// what is about to go.
func (s *Store) ClaimAndHand(ctx context.Context, channel string, worker string, n, hand int, lease time.Duration) ([]Item, error) {
	return s.ClaimFor(ctx, Claim{Channel: channel, Worker: worker, N: n, Hand: hand, Lease: lease})
}

// Claim says what a worker leases.
type Claim struct {
	Channel    string
	Worker     string
	N          int           // rows at most
	Hand       int           // of which this many are recorded as handed at once
	Lease      time.Duration // how long the claim lasts
	UrgentOnly bool          // quiet hours: only rows of urgent campaigns
}

// ClaimFor leases rows as c says.
func (s *Store) ClaimFor(ctx context.Context, c Claim) ([]Item, error) {
	channel, worker, n, hand, lease := c.Channel, c.Worker, c.N, c.Hand, c.Lease
	st, err := s.hotStmt(ctx, claimSQL)
	if err != nil {
		return nil, fmt.Errorf("claim outbox rows: %w", err)
	}
	items := make([]Item, 0, n)
	if err := st.SelectContext(ctx, &items, channel, worker, n, lease.Seconds(), hand, c.UrgentOnly); err != nil {
		return nil, fmt.Errorf("claim outbox rows: %w", err)
	}
	return items, nil
}

const handedSQL = `UPDATE outbox SET handed_at = now()
 WHERE id = ANY($1) AND locked_by = $2 AND (state = 'sending') IS TRUE RETURNING id`

// Handed records that these leased rows are about to be given to the provider. It is the
// "before" of the before-and-after record: the rescuer resends leased rows that were never
// handed, and marks handed rows with no result as unknown. It returns the ids this worker
// still holds (a row rescued meanwhile is dropped from the list and must not be sent).
func (s *Store) Handed(ctx context.Context, worker string, ids []int64) ([]int64, error) {
	st, err := s.hotStmt(ctx, handedSQL)
	if err != nil {
		return nil, fmt.Errorf("mark outbox rows handed: %w", err)
	}
	held := make([]int64, 0, len(ids))
	if err := st.SelectContext(ctx, &held, pq.Array(ids), worker); err != nil {
		return nil, fmt.Errorf("mark outbox rows handed: %w", err)
	}
	return held, nil
}

// Outcome is how one send ended, as classified by the dispatcher.
type Outcome int

// The outcomes a worker reports.
const (
	Sent     Outcome = iota // the provider accepted it
	Retry                   // temporary failure or throttling: try again after a backoff
	Bounced                 // permanent failure of the contact point (e.g. SMTP 550, invalid number)
	OptedOut                // the provider says the recipient opted out: a withdrawal from every topic is recorded
	Failed                  // this message can never be sent (e.g. too long); the contact point is fine
	Unknown                 // the provider may or may not have taken it (no answer in time): an officer decides
)

// Result is the outcome of one send. Reason is stored, so it must hold no personal data.
type Result struct {
	ID         int64
	Outcome    Outcome
	ProviderID string
	Reason     string
	RetryAfter time.Duration // a provider's hint, used when longer than the backoff
	Now        bool          // retry without backoff and without counting an attempt (never tried)
}

// Complete settles a worker's results in one statement per outcome kind. Only rows the
// worker still holds are changed (a rescued row keeps the rescuer's verdict), and every
// change writes a message event.
func (s *Store) Complete(ctx context.Context, worker string, results []Result) error {
	_, err := s.CompleteAndHand(ctx, worker, results, nil)
	return err
}

// CompleteAndHand settles results and, in the same transaction, records the next rows
// as handed (see Handed), returning those the worker still holds: one commit instead
// of two.
func (s *Store) CompleteAndHand(ctx context.Context, worker string, results []Result, next []int64) ([]int64, error) {
	held, err := s.Record(ctx, []Step{{Worker: worker, Results: results, Hand: next}})
	if err != nil {
		return nil, err
	}
	return held[0], nil
}

// Step is one worker's part of a group commit (Record): the results it settles and the
// rows it is about to give to the provider.
type Step struct {
	Worker  string
	Results []Result
	Hand    []int64
}

// recordSQL is Record's common case in one statement (so one round trip and no explicit
// transaction): results that are all plain sends, and rows to mark handed. Each row
// carries its worker, so one statement serves the steps of every worker of a process.
// "o.id = ANY" lets the planner find the rows by primary key, and the state is tested
// as "(o.state = 'sending') IS TRUE" (the same test for a NOT NULL column) so that it
// can't use the partial lease index (WHERE state = 'sending') for it: that index fills
// with dead entries during a big send (every row passes through 'sending'), and the
// outbox is never analysed between a campaign's snapshot and its send, so a plan that
// ANDed the lease index with the primary key read every one of those entries, and each
// group commit got slower through the run (3.4 ms to 15 ms for 16 messages over
// 100,000 with 32 connections).
const recordSQL = `
WITH sent AS (
    UPDATE outbox o SET state = 'sent', provider_id = v.prov, sent_at = now(), lease_until = NULL,
           reason = '', updated_at = now()
      FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(id, prov, worker)
     WHERE o.id = ANY($1) AND o.id = v.id AND o.locked_by = v.worker AND (o.state = 'sending') IS TRUE
 RETURNING o.id),
ev AS (INSERT INTO message_events (outbox_id, event) SELECT id, 'sent' FROM sent),
handed AS (
    UPDATE outbox o SET handed_at = now()
      FROM unnest($4::bigint[], $5::text[]) AS h(id, worker)
     WHERE o.id = ANY($4) AND o.id = h.id AND o.locked_by = h.worker AND (o.state = 'sending') IS TRUE
 RETURNING o.id)
SELECT id FROM handed`

// completeSentSQL settles the rows the provider accepted when Record needs a transaction.
const completeSentSQL = `
WITH done AS (
    UPDATE outbox o SET state = 'sent', provider_id = v.prov, sent_at = now(), lease_until = NULL,
           reason = '', updated_at = now()
      FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(id, prov, worker)
     WHERE o.id = ANY($1) AND o.id = v.id AND o.locked_by = v.worker AND (o.state = 'sending') IS TRUE
 RETURNING o.id)
INSERT INTO message_events (outbox_id, event) SELECT id, 'sent' FROM done`

// handStepsSQL marks rows handed, each for its own worker.
const handStepsSQL = `UPDATE outbox o SET handed_at = now()
  FROM unnest($1::bigint[], $2::text[]) AS h(id, worker)
 WHERE o.id = ANY($1) AND o.id = h.id AND o.locked_by = h.worker AND (o.state = 'sending') IS TRUE RETURNING o.id`

// Record settles the results and marks the rows to hand of several workers in one
// commit: a group commit, so that workers can record each message handed just before
// its own provider call and still share one round trip between them. Only rows a
// step's worker still holds are changed (a rescued row keeps the rescuer's verdict),
// and every settled row writes a message event. Record returns, for each step, the rows
// of its Hand that the worker still holds: a row rescued meanwhile must not be sent.
func (s *Store) Record(ctx context.Context, steps []Step) ([][]int64, error) {
	var (
		sentIDs, handIDs      []int64
		sentProv, sentWorker  []string
		handWorker            []string
		retryIDs              []int64
		retryWait             []float64
		retryWhy, retryWorker []string
		deadIDs               []int64
		deadState, deadWhy    []string
		deadMark, deadWorker  []string // mark: "point": mark the contact point; "optout": record a withdrawal; "": neither
	)
	for _, st := range steps {
		w := st.Worker
		dead := func(id int64, state, why, mark string) {
			deadIDs, deadState, deadWhy = append(deadIDs, id), append(deadState, state), append(deadWhy, why)
			deadMark, deadWorker = append(deadMark, mark), append(deadWorker, w)
		}
		for _, r := range st.Results {
			switch r.Outcome {
			case Sent:
				sentIDs, sentProv, sentWorker = append(sentIDs, r.ID), append(sentProv, r.ProviderID), append(sentWorker, w)
			case Bounced:
				dead(r.ID, "bounced", r.Reason, "point")
			case OptedOut:
				dead(r.ID, "failed", r.Reason, "optout")
			case Failed:
				dead(r.ID, "failed", r.Reason, "")
			case Unknown:
				dead(r.ID, "unknown", r.Reason, "")
			default:
				wait := r.RetryAfter.Seconds()
				if r.Now {
					wait = -1 // marker: due now, attempt not counted
				}
				retryIDs, retryWhy, retryWorker = append(retryIDs, r.ID), append(retryWhy, r.Reason), append(retryWorker, w)
				retryWait = append(retryWait, wait)
			}
		}
		for _, id := range st.Hand {
			handIDs, handWorker = append(handIDs, id), append(handWorker, w)
		}
	}
	var held []int64
	sids := twilioSIDs(sentProv)
	if len(retryIDs) == 0 && len(deadIDs) == 0 && len(sids) == 0 {
		if len(sentIDs) > 0 || len(handIDs) > 0 {
			st, err := s.hotStmt(ctx, recordSQL)
			if err != nil {
				return nil, fmt.Errorf("record outbox rows: %w", err)
			}
			if err := st.SelectContext(ctx, &held, pq.Array(sentIDs), pq.Array(sentProv), pq.Array(sentWorker),
				pq.Array(handIDs), pq.Array(handWorker)); err != nil {
				return nil, fmt.Errorf("record outbox rows: %w", err)
			}
		}
		return heldBySteps(steps, held), nil
	}

	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("complete outbox rows: %w", err)
	}
	defer tx.Rollback()
	if len(sids) > 0 {
		if err := s.lockSIDs(ctx, tx, sids); err != nil {
			return nil, err
		}
	}
	if len(sentIDs) > 0 {
		st, err := s.stmt(ctx, completeSentSQL)
		if err != nil {
			return nil, fmt.Errorf("record sent: %w", err)
		}
		if _, err := tx.StmtxContext(ctx, st).ExecContext(ctx, pq.Array(sentIDs), pq.Array(sentProv), pq.Array(sentWorker)); err != nil {
			return nil, fmt.Errorf("record sent: %w", err)
		}
		if err := s.applyLate(ctx, tx, sids); err != nil {
			return nil, err
		}
	}
	if len(retryIDs) > 0 {
		// A temporary failure retries after a backoff until max_attempts, then fails.
		if _, err := tx.ExecContext(ctx, `
			WITH v AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::float8[], $4::text[]) AS v(id, why, hint, worker)),
			done AS (
			    UPDATE outbox o SET
			           state = CASE WHEN v.hint >= 0 AND o.attempt >= o.max_attempts THEN 'failed' ELSE 'pending' END,
			           attempt = CASE WHEN v.hint < 0 THEN o.attempt - 1 ELSE o.attempt END,
			           -- Exponential backoff from 30 s, capped at 1 h, ±20% jitter so retries of a
			           -- throttled batch spread out; a provider's Retry-After wins when longer.
			           run_at = CASE WHEN v.hint < 0 THEN now() ELSE now() + make_interval(secs => greatest(v.hint,
			                    least(3600, 30 * power(2, least(o.attempt - 1, 7))) * (0.8 + random() * 0.4))) END,
			           reason = v.why, lease_until = NULL, locked_by = NULL, updated_at = now()
			      FROM v
			     WHERE o.id = ANY($1) AND o.id = v.id AND o.locked_by = v.worker AND (o.state = 'sending') IS TRUE -- by key, as recordSQL
			 RETURNING o.id, o.state, v.why)
			INSERT INTO message_events (outbox_id, event, detail)
			SELECT id, CASE WHEN state = 'failed' THEN 'failed' ELSE 'retry' END, why FROM done`,
			pq.Array(retryIDs), pq.Array(retryWhy), pq.Array(retryWait), pq.Array(retryWorker)); err != nil {
			return nil, fmt.Errorf("record retries: %w", err)
		}
	}
	if len(deadIDs) > 0 {
		var stopped []providerStop
		if err := tx.SelectContext(ctx, &stopped, `
			WITH v AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS v(id, st, why, worker, mark)),
			done AS (
			    UPDATE outbox o SET state = v.st, reason = v.why, lease_until = NULL, updated_at = now()
			      FROM v
			     WHERE o.id = ANY($1) AND o.id = v.id AND o.locked_by = v.worker AND (o.state = 'sending') IS TRUE -- by key, as recordSQL
			 RETURNING o.id, o.state, o.channel, o.contact_point_id, v.why, v.mark)
			, ev AS (INSERT INTO message_events (outbox_id, event, detail) SELECT id, state, why FROM done)
			-- A bounce is the contact point's, not just this message's: an address that
			-- bounces, a number that is invalid or not a mobile.
			, pts AS (
			    UPDATE contact_points cp SET status = CASE WHEN d.channel = 'sms' THEN 'invalid' ELSE 'bounced' END,
			           status_reason = d.why, updated_at = now()
			      FROM done d WHERE d.mark = 'point' AND cp.id = d.contact_point_id AND cp.status = 'active')
			-- The provider says the resident opted out (Twilio 21610: they texted STOP):
			-- the consent ledger records it as their STOP, below.
			SELECT DISTINCT contact_point_id, why AS reason FROM done
			 WHERE mark = 'optout' AND contact_point_id IS NOT NULL ORDER BY contact_point_id`,
			pq.Array(deadIDs), pq.Array(deadState), pq.Array(deadWhy), pq.Array(deadWorker), pq.Array(deadMark)); err != nil {
			return nil, fmt.Errorf("record failures: %w", err)
		}
		if err := recordProviderStops(ctx, tx, stopped); err != nil {
			return nil, fmt.Errorf("record failures: %w", err)
		}
	}
	if len(handIDs) > 0 {
		st, err := s.stmt(ctx, handStepsSQL)
		if err != nil {
			return nil, fmt.Errorf("mark outbox rows handed: %w", err)
		}
		if err := tx.StmtxContext(ctx, st).SelectContext(ctx, &held, pq.Array(handIDs), pq.Array(handWorker)); err != nil {
			return nil, fmt.Errorf("mark outbox rows handed: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("complete outbox rows: %w", err)
	}
	return heldBySteps(steps, held), nil
}

// heldBySteps splits the rows still held back into the steps that asked to hand them,
// in each step's order.
func heldBySteps(steps []Step, held []int64) [][]int64 {
	ok := make(map[int64]bool, len(held))
	for _, id := range held {
		ok[id] = true
	}
	out := make([][]int64, len(steps))
	for i, st := range steps {
		for _, id := range st.Hand {
			if ok[id] {
				out[i] = append(out[i], id)
			}
		}
	}
	return out
}

// renewSQL extends the lease of the rows worker holds and has not settled. A row being
// settled at that moment (locked by the worker's own settle) is skipped rather than
// waited for: waiting could deadlock with that settle, and the row is leaving 'sending'.
// A lease that has already run out is not renewed: it may be a dead process's under the
// same instance name (CRIER_INSTANCE set by hand), and is the rescuer's.
const renewSQL = `
UPDATE outbox SET lease_until = now() + $2 * interval '1 millisecond'
 WHERE id IN (SELECT id FROM outbox WHERE locked_by = $1 AND state = 'sending' AND lease_until > now()
                 FOR UPDATE SKIP LOCKED)`

// Renew extends by lease the leases of the rows worker is still sending, so that a slow
// provider never makes a live worker look dead to the rescuer. It returns how many rows
// it renewed.
func (s *Store) Renew(ctx context.Context, worker string, lease time.Duration) (int64, error) {
	r, err := s.db.ExecContext(ctx, renewSQL, worker, lease.Milliseconds())
	if err != nil {
		return 0, fmt.Errorf("renew leases: %w", err)
	}
	return r.RowsAffected()
}

// Rescue settles rows whose lease has expired — their worker died or lost the database.
// A row never handed to a provider goes back to pending; a handed row becomes unknown.
// It returns how many rows it requeued and how many it marked unknown.
func (s *Store) Rescue(ctx context.Context) (requeued, unknown int, err error) {
	err = s.db.QueryRowxContext(ctx, `
		WITH expired AS (
		    SELECT id FROM outbox WHERE state = 'sending' AND lease_until < now()
		     ORDER BY lease_until LIMIT 10000 FOR UPDATE SKIP LOCKED),
		done AS (
		    UPDATE outbox o SET
		           state = CASE WHEN o.handed_at IS NULL THEN 'pending' ELSE 'unknown' END,
		           reason = CASE WHEN o.handed_at IS NULL THEN o.reason
		                         ELSE 'the sender stopped after handing this message to the provider and before recording the outcome' END,
		           attempt = CASE WHEN o.handed_at IS NULL THEN o.attempt - 1 ELSE o.attempt END,
		           locked_by = NULL, lease_until = NULL, updated_at = now()
		      FROM expired e WHERE o.id = e.id
		 RETURNING o.id, o.state),
		ev AS (INSERT INTO message_events (outbox_id, event, detail)
		       SELECT id, CASE WHEN state = 'pending' THEN 'requeued' ELSE 'unknown' END, 'lease expired' FROM done)
		SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'unknown') FROM done`).
		Scan(&requeued, &unknown)
	if err != nil {
		return 0, 0, fmt.Errorf("rescue outbox rows: %w", err)
	}
	return requeued, unknown, nil
}
