package campaign

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/reply"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/spell"
)

// Store reads and writes campaigns and their runs.
type Store struct {
	db     *sqlx.DB
	outbox *outbox.Store
	logger *slog.Logger
}

// NewStore returns a Store over db.
func NewStore(db *sqlx.DB, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Store{db: db, outbox: outbox.NewStore(db), logger: logger}
}

const selectCampaign = `
SELECT c.id, c.name, c.topic_id, t.slug AS topic, c.segment_id, c.purpose, c.strategy, c.channel_order,
       c.email_subject, c.email_body, c.sms_body, c.leaflet_title, c.leaflet_body, c.sender_name,
       c.sender_email, c.reply_to, c.urgent, c.state, c.schedule_kind, c.send_at, c.recurrence,
       c.time_zone, c.next_run_at, c.created_by, c.created_at, c.updated_at, c.poll,
       c.languages, c.variants, c.bilingual
  FROM campaigns c JOIN topics t ON t.id = c.topic_id`

type row struct {
	Campaign
	Order     pq.StringArray `db:"channel_order"`
	PollJSON  []byte         `db:"poll"`
	Langs     pq.StringArray `db:"languages"`
	VariantsJ []byte         `db:"variants"`
}

func (r row) campaign() *Campaign {
	c := r.Campaign
	c.ChannelOrder = r.Order
	if len(r.Langs) > 0 {
		c.Languages = r.Langs
	}
	if len(r.VariantsJ) > 2 {
		_ = json.Unmarshal(r.VariantsJ, &c.Variants) // written by Create/Update from a validated map
	}
	if len(r.PollJSON) > 0 {
		var p reply.Poll
		if json.Unmarshal(r.PollJSON, &p) == nil { // written by Create from a validated Poll
			c.Poll = &p
		}
	}
	return &c
}

// prepare fills in c's defaults (every channel, best strategy, once), checks it, and
// returns the topic slug to store it under ("" is general) and its poll as JSON.
func (c *Campaign) prepare(topic string) (string, []byte, error) {
	if c.ChannelOrder == nil {
		c.ChannelOrder = []string{"email", "sms", "post"}
	}
	if c.Strategy == "" {
		c.Strategy = "best"
	}
	if c.ScheduleKind == "" {
		c.ScheduleKind = "once"
	}
	if err := c.Validate(); err != nil {
		return "", nil, err
	}
	if topic == "" {
		topic = "general"
	}
	if c.Poll == nil {
		return topic, nil, nil
	}
	pollJSON, err := json.Marshal(c.Poll)
	if err != nil {
		return "", nil, fmt.Errorf("campaign poll: %w", err)
	}
	return topic, pollJSON, nil
}

// Create stores a new draft campaign; topic is a topic slug ("" = general).
func (s *Store) Create(ctx context.Context, c *Campaign, topic, actor string) error {
	topic, pollJSON, err := c.prepare(topic)
	if err != nil {
		return err
	}
	langs, variants, bilingual, err := c.languageArgs()
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.QueryRowxContext(ctx, `
		INSERT INTO campaigns (name, topic_id, segment_id, purpose, strategy, channel_order, email_subject, email_body,
		                       sms_body, leaflet_title, leaflet_body, sender_name, sender_email, reply_to, urgent,
		                       schedule_kind, send_at, recurrence, created_by, poll, languages, variants, bilingual)
		SELECT $1, t.id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23
		  FROM topics t WHERE t.slug = $2
		RETURNING id, topic_id, state, created_at, updated_at`,
			c.Name, topic, c.SegmentID, c.Purpose, c.Strategy, pq.Array(c.ChannelOrder), c.EmailSubject, c.EmailBody,
			c.SMSBody, c.LeafletTitle, c.LeafletBody, c.SenderName, c.SenderEmail, c.ReplyTo, c.Urgent,
			c.ScheduleKind, c.SendAt, c.Recurrence, actor, pollJSON, langs, variants, bilingual).
			Scan(&c.ID, &c.TopicID, &c.State, &c.CreatedAt, &c.UpdatedAt)
		if err != nil {
			return err
		}
		return audit.Pending(ctx, tx, audit.ID(c.ID), nil)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: topic %q does not exist", ErrInvalid, topic)
	}
	if err != nil {
		return fmt.Errorf("create campaign: %w", err)
	}
	c.Topic = topic
	return nil
}

// Get returns a campaign by id, or by name when ref is not a number; ErrNotFound if none.
func (s *Store) Get(ctx context.Context, ref string) (*Campaign, error) {
	var r row
	var err error
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
		err = s.db.GetContext(ctx, &r, selectCampaign+` WHERE c.id = $1`, id)
	} else {
		err = s.db.GetContext(ctx, &r, selectCampaign+` WHERE c.name = $1 ORDER BY c.id DESC LIMIT 1`, ref)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %q%s", ErrNotFound, ref, s.didYouMean(ctx, ref))
	}
	if err != nil {
		return nil, fmt.Errorf("get campaign: %w", err)
	}
	return r.campaign(), nil
}

// didYouMean suggests the campaign name nearest to a name that matched none (a typo, a
// different case, "poll" for "Poll"): " (did you mean "Bin day poll"?)", or "".
func (s *Store) didYouMean(ctx context.Context, ref string) string {
	if _, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return ""
	}
	var names []string
	if err := s.db.SelectContext(ctx, &names, `SELECT name FROM campaigns ORDER BY id DESC LIMIT 1000`); err != nil {
		return ""
	}
	lower := make([]string, len(names))
	for i, n := range names {
		lower[i] = strings.ToLower(n)
	}
	near, d := spell.Nearest(strings.ToLower(ref), lower)
	if near == "" || d > max(2, utf8.RuneCountInString(ref)/4) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", names[slices.Index(lower, near)])
}

// List returns every campaign, newest first.
func (s *Store) List(ctx context.Context) ([]*Campaign, error) {
	var rows []row
	if err := s.db.SelectContext(ctx, &rows, selectCampaign+` ORDER BY c.id DESC`); err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	out := make([]*Campaign, len(rows))
	for i, r := range rows {
		out[i] = r.campaign()
	}
	return out, nil
}

// move changes a campaign's state inside tx if the move is allowed, and records who did
// it. It locks the campaign row so concurrent moves serialise.
func move(ctx context.Context, tx *sqlx.Tx, id int64, allowedFrom []State, to State, actor, note string) (State, error) {
	var from State
	if err := tx.GetContext(ctx, &from, `SELECT state FROM campaigns WHERE id = $1 FOR UPDATE`, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("%w: %d", ErrNotFound, id)
		}
		return "", err
	}
	ok := false
	for _, s := range allowedFrom {
		ok = ok || s == from
	}
	if !ok || !CanMove(from, to) {
		return from, fmt.Errorf("%w: campaign %d is %s and cannot become %s", ErrTransition, id, from, to)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET state = $2, updated_at = now() WHERE id = $1`, id, to); err != nil {
		return from, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO campaign_history (campaign_id, from_state, to_state, actor, note)
		VALUES ($1, $2, $3, $4, $5)`, id, from, to, actor, note); err != nil {
		return from, err
	}
	return from, nil
}

func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Schedule makes a draft (or paused, not yet started) campaign due at its next run time:
// at for a one-off (zero = now), the next occurrence for a recurring one. A campaign
// whose audience nobody on its channels is in is refused with an *AudienceError
// (ErrEmptyAudience), counted now: a run would send nothing. check, if set, vets the
// content (merge fields, templates) first: an error blocks scheduling.
func (s *Store) Schedule(ctx context.Context, id int64, at time.Time, actor string, check func(*Campaign) error) error {
	c, err := s.Get(ctx, strconv.FormatInt(id, 10))
	if err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if err := s.checkAudience(ctx, c); err != nil {
		return err
	}
	if check != nil {
		if err := check(c); err != nil {
			return err
		}
	}
	if !at.IsZero() {
		c.SendAt = &at
	}
	next, err := c.NextRun(time.Now())
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := move(ctx, tx, id, []State{Draft, Paused}, Scheduled, actor, "due "+next.In(London).Format("Mon 2 Jan 2006 15:04 MST")); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET next_run_at = $2, send_at = coalesce($3, send_at) WHERE id = $1`,
			id, next, c.SendAt); err != nil {
			return err
		}
		return audit.Pending(ctx, tx, "", map[string]any{"at": next})
	})
}

// Pause stops a campaign: its sending run stops being claimed within a worker's poll
// interval, on every instance (workers only claim rows of runs in state sending).
func (s *Store) Pause(ctx context.Context, id int64, actor string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := move(ctx, tx, id, []State{Scheduled, Sending}, Paused, actor, ""); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaign_runs SET state = 'paused' WHERE campaign_id = $1 AND state = 'sending'`, id); err != nil {
			return err
		}
		return audit.Pending(ctx, tx, "", nil)
	})
}

// Resume continues a paused campaign: a paused run goes on sending, otherwise the
// campaign is scheduled again for its next run.
func (s *Store) Resume(ctx context.Context, id int64, actor string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var paused int
		if err := tx.GetContext(ctx, &paused, `SELECT count(*) FROM campaign_runs WHERE campaign_id = $1 AND state = 'paused'`, id); err != nil {
			return err
		}
		to := Scheduled
		if paused > 0 {
			to = Sending
		}
		if _, err := move(ctx, tx, id, []State{Paused}, to, actor, "resumed"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaign_runs SET state = 'sending' WHERE campaign_id = $1 AND state = 'paused'`, id); err != nil {
			return err
		}
		return audit.Pending(ctx, tx, "", nil)
	})
}

// Cancel stops a campaign for good: messages not yet sent are cancelled (and recorded
// as such); what was sent stays recorded.
func (s *Store) Cancel(ctx context.Context, id int64, actor string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := move(ctx, tx, id, []State{Draft, Scheduled, Sending, Paused}, Cancelled, actor, ""); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET next_run_at = NULL WHERE id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaign_runs SET state = 'cancelled', completed_at = now()
			WHERE campaign_id = $1 AND state IN ('sending', 'paused')`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			WITH c AS (UPDATE outbox SET state = 'cancelled', reason = 'campaign cancelled', updated_at = now()
			            WHERE campaign_id = $1 AND state = 'pending' RETURNING id)
			INSERT INTO message_events (outbox_id, event) SELECT id, 'cancelled' FROM c`, id)
		if err != nil {
			return err
		}
		return audit.Pending(ctx, tx, "", nil)
	})
}

// HistoryEntry is one recorded state change.
type HistoryEntry struct {
	From  State     `db:"from_state"`
	To    State     `db:"to_state"`
	Actor string    `db:"actor"`
	Note  string    `db:"note"`
	At    time.Time `db:"at"`
}

// History lists a campaign's state changes, oldest first.
func (s *Store) History(ctx context.Context, id int64) ([]HistoryEntry, error) {
	var h []HistoryEntry
	err := s.db.SelectContext(ctx, &h, `SELECT from_state, to_state, actor, note, at FROM campaign_history
		WHERE campaign_id = $1 ORDER BY at, id`, id)
	return h, err
}

// StartDue starts a run for each campaign whose time has come: one transaction per
// campaign creates the run, snapshots its audience into the outbox and moves the
// campaign to sending. Campaigns are locked with SKIP LOCKED, so several crier
// processes can run the scheduler at once without starting a run twice (and the run's
// UNIQUE (campaign_id, scheduled_for) backs that up). It returns the runs started.
func (s *Store) StartDue(ctx context.Context, now time.Time) ([]int64, error) {
	var started []int64
	for {
		runID, err := s.startOne(ctx, now)
		if err != nil {
			return started, err
		}
		if runID == 0 {
			return started, nil
		}
		started = append(started, runID)
	}
}

func (s *Store) startOne(ctx context.Context, now time.Time) (int64, error) {
	var runID int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var r row
		err := tx.GetContext(ctx, &r, selectCampaign+`
			WHERE c.state = 'scheduled' AND c.next_run_at <= $1
			ORDER BY c.next_run_at LIMIT 1 FOR UPDATE OF c SKIP LOCKED`, now)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find due campaigns: %w", err)
		}
		c := r.campaign()
		snap, err := s.snapshotOf(ctx, c)
		if err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &runID, `INSERT INTO campaign_runs (campaign_id, scheduled_for)
			VALUES ($1, $2) RETURNING id`, c.ID, c.NextRunAt); err != nil {
			return fmt.Errorf("start run of campaign %d: %w", c.ID, err)
		}
		snap.RunID = runID
		tally, err := s.outbox.Enqueue(ctx, tx, snap)
		if err != nil {
			return err
		}
		audience := 0
		for _, t := range tally {
			audience += t.Count
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaign_runs SET audience = $2 WHERE id = $1`, runID, audience); err != nil {
			return err
		}
		var next *time.Time
		if c.ScheduleKind == "recurring" {
			n, err := c.NextRun(*c.NextRunAt)
			if err != nil {
				return err
			}
			next = &n
		}
		if _, err := move(ctx, tx, c.ID, []State{Scheduled}, Sending, "scheduler", fmt.Sprintf("run %d: %d messages", runID, audience)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE campaigns SET next_run_at = $2 WHERE id = $1`, c.ID, next)
		return err
	})
	if err != nil {
		return 0, err
	}
	if runID != 0 {
		s.logger.InfoContext(ctx, "campaign run started", "run_id", runID)
	}
	return runID, nil
}

// snapshotOf describes the audience of a run of c starting now.
func (s *Store) snapshotOf(ctx context.Context, c *Campaign) (outbox.Snapshot, error) {
	snap := outbox.Snapshot{CampaignID: c.ID, TopicID: c.TopicID, Purpose: c.Purpose, Strategy: c.Strategy,
		Channels: c.Channels(), Languages: c.Languages}
	if c.SegmentID != nil {
		seg, err := segment.NewStore(s.db).Get(ctx, strconv.FormatInt(*c.SegmentID, 10))
		if err != nil {
			return snap, fmt.Errorf("campaign %d: segment: %w", c.ID, err)
		}
		q, err := segment.CompileFrom(seg.Rules, outbox.FirstArg)
		if err != nil {
			return snap, fmt.Errorf("campaign %d: segment %q: %w", c.ID, seg.Name, err)
		}
		snap.Predicate, snap.Args = q.SQL, q.Args
	}
	return snap, nil
}

// DryRun snapshots c's audience into the outbox exactly as a run starting now would,
// hands the run's id to look, and then rolls everything back: checks before scheduling
// (can every leaflet be printed?) see the real audience without sending anything.
func (s *Store) DryRun(ctx context.Context, c *Campaign, look func(tx *sqlx.Tx, runID int64) error) error {
	snap, err := s.snapshotOf(ctx, c)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("dry run of campaign %d: %w", c.ID, err)
	}
	defer tx.Rollback()
	if err := tx.GetContext(ctx, &snap.RunID, `INSERT INTO campaign_runs (campaign_id, scheduled_for)
		VALUES ($1, now()) RETURNING id`, c.ID); err != nil {
		return fmt.Errorf("dry run of campaign %d: %w", c.ID, err)
	}
	if _, err := s.outbox.Enqueue(ctx, tx, snap); err != nil {
		return err
	}
	return look(tx, snap.RunID)
}

// FinishRuns completes runs with nothing left to send (every row final), and moves their
// campaigns on: a one-off to completed, a recurring one back to scheduled for its next
// occurrence. Rows in state unknown count as final here: they wait for an officer, not
// for the sender.
func (s *Store) FinishRuns(ctx context.Context) (int, error) {
	var done []struct {
		RunID      int64 `db:"id"`
		CampaignID int64 `db:"campaign_id"`
	}
	err := s.db.SelectContext(ctx, &done, `
		SELECT r.id, r.campaign_id FROM campaign_runs r
		 WHERE r.state = 'sending'
		   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.run_id = r.id AND o.state IN ('pending', 'sending'))`)
	if err != nil {
		return 0, fmt.Errorf("finish runs: %w", err)
	}
	finished := 0
	for _, d := range done {
		// The run and its campaign move in one transaction: if the caller stops in between
		// (a dispatcher shutting down), neither moves and the next call finishes both,
		// rather than leaving a completed run under a campaign that is still sending.
		moved := false
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			res, err := tx.ExecContext(ctx, `
				UPDATE campaign_runs r SET state = 'completed', completed_at = now()
				 WHERE r.id = $1 AND r.state = 'sending'
				   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.run_id = r.id AND o.state IN ('pending', 'sending'))`, d.RunID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err // finished by another instance meanwhile, or work came back
			}
			moved = true
			var kind string
			var next *time.Time
			if err := tx.QueryRowxContext(ctx, `SELECT schedule_kind, next_run_at FROM campaigns WHERE id = $1`, d.CampaignID).Scan(&kind, &next); err != nil {
				return err
			}
			to := Completed
			if kind == "recurring" && next != nil {
				to = Scheduled
			}
			_, err = move(ctx, tx, d.CampaignID, []State{Sending}, to, "scheduler", fmt.Sprintf("run %d finished", d.RunID))
			if errors.Is(err, ErrTransition) {
				return nil // paused or cancelled meanwhile: leave it
			}
			return err
		})
		if err != nil {
			return finished, fmt.Errorf("finish run %d: %w", d.RunID, err)
		}
		if moved {
			finished++
			s.logger.InfoContext(ctx, "campaign run completed", "run_id", d.RunID, "campaign_id", d.CampaignID)
		}
	}
	return finished, nil
}

// Count is a number of outbox rows of a run in one channel and state, with the reason
// they share (why suppressed, failed, or waiting).
type Count struct {
	RunID   int64  `db:"run_id"`
	Channel string `db:"channel"`
	State   string `db:"state"`
	Reason  string `db:"reason"`
	N       int    `db:"n"`
}

// Status counts a campaign's messages per run, channel, state and reason. Pending rows
// whose next try is later (after a temporary failure or throttling) count as "retry
// later" rather than "pending", so a watcher can tell work due now from work waiting.
// It reads the outbox through its runs: the (run_id, …) key is an index, campaign_id
// alone is not, and the dashboard asks this for several campaigns per page.
func (s *Store) Status(ctx context.Context, id int64) ([]Count, error) {
	by, err := s.StatusOf(ctx, []int64{id})
	return by[id], err
}

// StatusOf is Status for several campaigns in one query (the dashboard's), by campaign.
func (s *Store) StatusOf(ctx context.Context, ids []int64) (map[int64][]Count, error) {
	var rows []struct {
		CampaignID int64 `db:"campaign_id"`
		Count
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT r.campaign_id, o.run_id, o.channel,
		       CASE WHEN o.state = 'pending' AND o.run_at > now() THEN 'retry later' ELSE o.state END AS state,
		       CASE WHEN o.state IN ('sent', 'delivered') THEN '' ELSE o.reason END AS reason, count(*) AS n
		  FROM campaign_runs r JOIN outbox o ON o.run_id = r.id
		 WHERE r.campaign_id = ANY($1)
		 GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("campaign status: %w", err)
	}
	out := make(map[int64][]Count, len(ids))
	for _, r := range rows {
		out[r.CampaignID] = append(out[r.CampaignID], r.Count)
	}
	return out, nil
}
