package bounce

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/consent"
)

// Policy is what soft bounces add up to.
type Policy struct {
	// SoftThreshold soft bounces of one address within SoftWindow suppress it as a hard
	// bounce would. Zero means 3.
	SoftThreshold int
	// SoftWindow is how far back soft bounces count. Zero means 30 days.
	SoftWindow time.Duration
}

func (p Policy) withDefaults() Policy {
	if p.SoftThreshold <= 0 {
		p.SoftThreshold = 3
	}
	if p.SoftWindow <= 0 {
		p.SoftWindow = 30 * 24 * time.Hour
	}
	return p
}

// Store records bounce events and applies the policy.
type Store struct {
	db     *sqlx.DB
	policy Policy
	logger *slog.Logger

	keptMu sync.Mutex
	kept   map[string]bool // mailbox messages known not to be reports (fetch.go)
}

// NewStore returns a Store over db. A nil logger discards.
func NewStore(db *sqlx.DB, policy Policy, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Store{db: db, policy: policy.withDefaults(), logger: logger}
}

// Outcome is what recording one event did.
type Outcome struct {
	EventID    int64 // the bounce_events row; 0 for a duplicate
	Duplicate  bool  // the same report was recorded before: nothing done again
	PointID    int64 // the email contact point it is about; 0 if the address is no contact's
	OutboxID   int64 // the message it answers; 0 if not known
	Suppressed bool  // the address was marked bounced by this event
	Withdrawn  bool  // the address's consent was withdrawn by this event (a complaint)
}

// Summary adds up several outcomes.
type Summary struct {
	Recorded, Duplicates, Unmatched, Suppressed, Withdrawn int
}

// Add counts o into s.
func (s *Summary) Add(o Outcome) {
	switch {
	case o.Duplicate:
		s.Duplicates++
		return
	case o.PointID == 0:
		s.Unmatched++
	}
	s.Recorded++
	if o.Suppressed {
		s.Suppressed++
	}
	if o.Withdrawn {
		s.Withdrawn++
	}
}

// RecordAll records events, each in its own transaction, and adds up what they did.
func (s *Store) RecordAll(ctx context.Context, events []Event) (Summary, error) {
	var sum Summary
	for _, e := range events {
		o, err := s.Record(ctx, e)
		if err != nil {
			return sum, err
		}
		sum.Add(o)
	}
	return sum, nil
}

// Record records one event and applies the policy, in one transaction:
//   - the event is matched to the message it answers (crier's Message-ID names the
//     outbox row) if that message went to the reported address, and to the address's
//     contact point;
//   - a second delivery of the same report (same source and Ref) changes nothing;
//   - hard: the point is marked bounced (its waiting messages are suppressed by the
//     contact_points trigger) and the message marked bounced; soft: the same once the
//     point has SoftThreshold soft bounces within SoftWindow; complaint: consent to every
//     topic on the point is withdrawn (source "complaint");
//   - a point made unusable gets an audit entry, by ids.
func (s *Store) Record(ctx context.Context, e Event) (Outcome, error) {
	var o Outcome
	if e.Kind != Hard && e.Kind != Soft && e.Kind != Complaint {
		return o, fmt.Errorf("record bounce: kind %q", e.Kind)
	}
	if strings.TrimSpace(e.Ref) == "" {
		return o, errors.New("record bounce: an event needs a reference")
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return o, fmt.Errorf("record bounce: %w", err)
	}
	defer tx.Rollback()
	var contactID int64
	if o.PointID, o.OutboxID, contactID, err = match(ctx, tx, e); err != nil {
		return o, err
	}
	var at *time.Time
	if !e.At.IsZero() {
		t := e.At.UTC()
		at = &t
	}
	diag := Scrub(e.Diagnostic)
	err = tx.GetContext(ctx, &o.EventID, `INSERT INTO bounce_events
		(contact_point_id, outbox_id, kind, source, ref, status_code, diagnostic, reported_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (source, ref) DO NOTHING RETURNING id`,
		nullID(o.PointID), nullID(o.OutboxID), e.Kind, e.Source, truncate(e.Ref, 300), truncate(Scrub(e.Status), 40), diag, at)
	if errors.Is(err, sql.ErrNoRows) {
		o.Duplicate = true
		return o, tx.Commit()
	}
	if err != nil {
		return o, fmt.Errorf("record bounce: %w", err)
	}
	if o.OutboxID != 0 {
		if err := markMessage(ctx, tx, o.OutboxID, e, diag); err != nil {
			return o, err
		}
	}
	if o.PointID != 0 {
		if err := s.apply(ctx, tx, e, &o, contactID); err != nil {
			return o, err
		}
	}
	if err := tx.Commit(); err != nil {
		return o, fmt.Errorf("record bounce: %w", err)
	}
	if o.Suppressed || o.Withdrawn {
		s.logger.InfoContext(ctx, "email address suppressed after a bounce report", slog.Int64("contact_point_id", o.PointID),
			slog.Int64("contact_id", contactID), slog.String("kind", e.Kind), slog.String("source", e.Source),
			slog.Int64("bounce_event_id", o.EventID))
	}
	return o, nil
}

// match finds the message and the email contact point an event is about, and locks the
// point so that soft bounces of one address are counted one report at a time. A
// Message-ID naming a message to another address is not believed (a forwarded or forged
// report): the reported address decides.
func match(ctx context.Context, tx *sqlx.Tx, e Event) (point, outboxID, contactID int64, err error) {
	rcpt := strings.ToLower(strings.TrimSpace(e.Recipient))
	if id := OutboxID(e.MessageID); id != 0 {
		var m struct {
			Point   sql.NullInt64 `db:"contact_point_id"`
			Value   string        `db:"value"`
			Contact int64         `db:"contact_id"`
		}
		err := tx.GetContext(ctx, &m, `SELECT o.contact_point_id, cp.value, cp.contact_id FROM outbox o
			JOIN contact_points cp ON cp.id = o.contact_point_id AND cp.kind = 'email'
			WHERE o.id = $1 AND o.channel = 'email'`, id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return 0, 0, 0, fmt.Errorf("record bounce: find message: %w", err)
		case rcpt == "" || strings.ToLower(m.Value) == rcpt:
			point, outboxID, contactID = m.Point.Int64, id, m.Contact
		}
	}
	if point == 0 && rcpt != "" {
		err := tx.QueryRowxContext(ctx, `SELECT id, contact_id FROM contact_points WHERE kind = 'email' AND lower(value) = $1`, rcpt).
			Scan(&point, &contactID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, 0, 0, fmt.Errorf("record bounce: find address: %w", err)
		}
	}
	if point != 0 {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM contact_points WHERE id = $1 FOR UPDATE`, point); err != nil {
			return 0, 0, 0, fmt.Errorf("record bounce: lock address: %w", err)
		}
	}
	return point, outboxID, contactID, nil
}

// messageEvents names each kind's event in message_events.
var messageEvents = map[string]string{Hard: "bounced", Soft: "soft_bounce", Complaint: "complained"}

// markMessage records the event against the message, and a hard bounce as its outcome:
// a message sent (or settled unknown) turns out bounced.
func markMessage(ctx context.Context, tx *sqlx.Tx, id int64, e Event, diag string) error {
	detail := truncate(strings.TrimSpace(e.Source+" "+Scrub(e.Status)+" "+diag), 500)
	if e.Kind == Hard {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'bounced', reason = $2, updated_at = now()
			WHERE id = $1 AND state IN ('sent', 'delivered', 'unknown')`, id, "bounced after sending: "+detail); err != nil {
			return fmt.Errorf("record bounce: mark message: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO message_events (outbox_id, event, detail) VALUES ($1, $2, $3)`,
		id, messageEvents[e.Kind], detail); err != nil {
		return fmt.Errorf("record bounce: message event: %w", err)
	}
	return nil
}

// apply carries out the policy on the event's contact point.
func (s *Store) apply(ctx context.Context, tx *sqlx.Tx, e Event, o *Outcome, contactID int64) error {
	entry := audit.Entry{Actor: "bounce:" + e.Source, SubjectType: "contact", SubjectID: audit.ID(contactID),
		Detail: map[string]any{"contact_point_id": o.PointID, "bounce_event_id": o.EventID, "kind": e.Kind, "source": e.Source}}
	if o.OutboxID != 0 {
		entry.Detail["message_id"] = o.OutboxID
	}
	switch e.Kind {
	case Complaint:
		n, err := consent.WithdrawAll(ctx, tx, []int64{o.PointID}, consent.Source{Name: "complaint",
			Detail: "marked as spam (" + e.Source + " report " + fmt.Sprint(o.EventID) + ")"})
		if err != nil {
			return fmt.Errorf("record bounce: %w", err)
		}
		if n == 0 {
			return nil
		}
		o.Withdrawn = true
		entry.Action = audit.ContactComplaint
		return audit.Record(ctx, tx, entry)
	case Soft:
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM bounce_events WHERE contact_point_id = $1 AND kind = 'soft'
			AND received_at > now() - $2 * interval '1 second'`, o.PointID, s.policy.SoftWindow.Seconds()); err != nil {
			return fmt.Errorf("record bounce: count soft bounces: %w", err)
		}
		if n < s.policy.SoftThreshold {
			return nil
		}
		entry.Detail["soft_bounces"] = n
		return s.suppress(ctx, tx, o, entry, fmt.Sprintf("%d soft bounces in %d days", n, int(s.policy.SoftWindow.Hours()/24)))
	default:
		status := Scrub(e.Status)
		if status != "" {
			status = " " + status
		}
		return s.suppress(ctx, tx, o, entry, "hard bounce reported by "+e.Source+status)
	}
}

// suppress marks the point bounced if it is still active.
func (s *Store) suppress(ctx context.Context, tx *sqlx.Tx, o *Outcome, entry audit.Entry, reason string) error {
	r, err := tx.ExecContext(ctx, `UPDATE contact_points SET status = 'bounced', status_reason = $2, updated_at = now()
		WHERE id = $1 AND kind = 'email' AND status = 'active'`, o.PointID, truncate(reason, 200))
	if err != nil {
		return fmt.Errorf("record bounce: mark address bounced: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return nil // bounced, invalid or opted out already
	}
	o.Suppressed = true
	entry.Action = audit.ContactBounced
	entry.Detail["reason"] = reason
	return audit.Record(ctx, tx, entry)
}

// Listed is one recorded event, by ids (no address).
type Listed struct {
	ID             int64      `db:"id" json:"id"`
	ReceivedAt     time.Time  `db:"received_at" json:"received_at"`
	ReportedAt     *time.Time `db:"reported_at" json:"reported_at"`
	Kind           string     `db:"kind" json:"kind"`
	Source         string     `db:"source" json:"source"`
	ContactID      *int64     `db:"contact_id" json:"contact_id"`
	ContactPointID *int64     `db:"contact_point_id" json:"contact_point_id"`
	OutboxID       *int64     `db:"outbox_id" json:"message_id"`
	Status         string     `db:"status_code" json:"status"`
	Diagnostic     string     `db:"diagnostic" json:"diagnostic"`
}

// List returns the latest events, newest first; kind "" for every kind.
func (s *Store) List(ctx context.Context, kind string, limit int) ([]Listed, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []Listed
	err := s.db.SelectContext(ctx, &out, `SELECT b.id, b.received_at, b.reported_at, b.kind, b.source, cp.contact_id,
		b.contact_point_id, b.outbox_id, b.status_code, b.diagnostic
		  FROM bounce_events b LEFT JOIN contact_points cp ON cp.id = b.contact_point_id
		 WHERE ($1 = '' OR b.kind = $1)
		 ORDER BY b.received_at DESC, b.id DESC LIMIT $2`, kind, limit)
	if err != nil {
		return nil, fmt.Errorf("list bounces: %w", err)
	}
	return out, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}
