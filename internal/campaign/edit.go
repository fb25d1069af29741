package campaign

// Changing a draft, copying a campaign and deleting a draft: what an officer does to a
// campaign's content before it is sent, as GOV.UK Notify lets one edit a template.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/audit"
)

// More errors callers can test for.
var (
	// ErrStale is a change made from a copy of the campaign that someone else has
	// changed since (see StaleError).
	ErrStale = errors.New("campaign changed since it was read")
	// ErrHasMessages is a draft that can't be deleted because something was sent, or
	// printed, for it once (it was scheduled and then moved back to a draft).
	ErrHasMessages = errors.New("campaign has messages")
)

// StaleError is Update's refusal of a change made from a copy older than the
// campaign: At is when it was last changed. It wraps ErrStale.
type StaleError struct {
	ID int64
	At time.Time
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("campaign %d was changed at %s, after it was read: read it again", e.ID, e.At.UTC().Format(time.RFC3339))
}

func (e *StaleError) Unwrap() error { return ErrStale }

// Version is what a copy of c was read at: a change made from it is refused if the
// campaign has changed since (Update). It is c.UpdatedAt to the microsecond, as the
// database keeps it.
func (c *Campaign) Version() string { return strconv.FormatInt(c.UpdatedAt.UnixMicro(), 10) }

// ParseVersion reads a Version back; ok is false when v is not one.
func ParseVersion(v string) (t time.Time, ok bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.UnixMicro(n), true
}

// Update saves c's content (name, topic, audience, purpose, channels, texts, poll,
// urgency) over the draft with c's id, and records the audit entry ctx carries in the
// same transaction; topic is a topic slug ("" = general). version is when the officer's
// copy was read (Campaign.Version): if the campaign has changed since, nothing is saved
// and a *StaleError says when. Only a draft can change (ErrTransition otherwise); a
// missing topic is ErrInvalid, a missing campaign ErrNotFound. On success c holds the
// campaign as saved, with its new UpdatedAt.
func (s *Store) Update(ctx context.Context, c *Campaign, topic string, version time.Time) error {
	topic, pollJSON, err := c.prepare(topic)
	if err != nil {
		return err
	}
	langs, variants, bilingual, err := c.languageArgs()
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := lockForChange(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if cur.State != Draft {
			return fmt.Errorf("%w: campaign %d is %s: only a draft can be changed", ErrTransition, c.ID, cur.State)
		}
		if cur.UpdatedAt.UnixMicro() != version.UnixMicro() {
			return &StaleError{ID: c.ID, At: cur.UpdatedAt}
		}
		// updated_at must move on even for two saves in one microsecond (now() is the
		// transaction's start): it is the version the next save is checked against.
		err = tx.QueryRowxContext(ctx, `
		UPDATE campaigns c SET name = $2, topic_id = t.id, segment_id = $4, purpose = $5, strategy = $6,
		       channel_order = $7, email_subject = $8, email_body = $9, sms_body = $10, leaflet_title = $11,
		       leaflet_body = $12, urgent = $13, poll = $14, languages = $15, variants = $16, bilingual = $17,
		       updated_at = greatest(now(), c.updated_at + interval '1 microsecond')
		  FROM topics t WHERE c.id = $1 AND t.slug = $3
		RETURNING c.topic_id, c.state, c.created_by, c.created_at, c.updated_at`,
			c.ID, c.Name, topic, c.SegmentID, c.Purpose, c.Strategy, pq.Array(c.ChannelOrder), c.EmailSubject,
			c.EmailBody, c.SMSBody, c.LeafletTitle, c.LeafletBody, c.Urgent, pollJSON, langs, variants, bilingual).
			Scan(&c.TopicID, &c.State, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: topic %q does not exist", ErrInvalid, topic)
		}
		if err != nil {
			return err
		}
		return audit.Pending(ctx, tx, audit.ID(c.ID), map[string]any{"channels": c.Channels()})
	})
	if err != nil {
		if errors.Is(err, ErrInvalid) || errors.Is(err, ErrTransition) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrStale) {
			return err
		}
		return fmt.Errorf("update campaign %d: %w", c.ID, err)
	}
	c.Topic = topic
	return nil
}

// locked is what lockForChange reads of a campaign.
type locked struct {
	State     State     `db:"state"`
	Name      string    `db:"name"`
	UpdatedAt time.Time `db:"updated_at"`
}

// lockForChange locks campaign id's row for the rest of tx and returns its state and
// when it last changed.
func lockForChange(ctx context.Context, tx *sqlx.Tx, id int64) (locked, error) {
	var cur locked
	err := tx.GetContext(ctx, &cur, `SELECT state, name, updated_at FROM campaigns WHERE id = $1 FOR UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return cur, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	return cur, err
}

// maxName is the longest name a copy is given, in characters: the editor's limit.
const maxName = 200

// copyName is the name of a copy of a campaign called name: "Copy of <name>", then
// "Copy of <name> (2)", and so on, the first no campaign has (taken reports that one
// has), shortened so that it stays within maxName characters.
func copyName(name string, taken func(string) (bool, error)) (string, error) {
	for n := 1; ; n++ {
		suffix := ""
		if n > 1 {
			suffix = " (" + strconv.Itoa(n) + ")"
		}
		base := "Copy of " + name
		if room := maxName - utf8.RuneCountInString(suffix); utf8.RuneCountInString(base) > room {
			base = string([]rune(base)[:room-1]) + "…"
		}
		candidate := base + suffix
		used, err := taken(candidate)
		if err != nil || !used {
			return candidate, err
		}
	}
}

// Duplicate copies campaign id, whatever its state, as a new draft named "Copy of
// <name>" (made unique): the same topic, audience, purpose, channels, texts, poll and
// urgency, and no send time (a recurring campaign keeps how often it recurs, but is not
// due until it is scheduled). It records the audit entry ctx carries, with the new
// campaign's id, in the same transaction, and returns the copy; ErrNotFound if there is
// no campaign id.
func (s *Store) Duplicate(ctx context.Context, id int64, actor string) (*Campaign, error) {
	var newID int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// Locking the original makes two copies of it made at once queue, so that they
		// get different names.
		cur, err := lockForChange(ctx, tx, id)
		if err != nil {
			return err
		}
		name, err := copyName(cur.Name, func(n string) (bool, error) {
			var used bool
			err := tx.GetContext(ctx, &used, `SELECT EXISTS (SELECT 1 FROM campaigns WHERE name = $1)`, n)
			return used, err
		})
		if err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &newID, `
		INSERT INTO campaigns (name, topic_id, segment_id, purpose, strategy, channel_order, email_subject, email_body,
		                       sms_body, leaflet_title, leaflet_body, sender_name, sender_email, reply_to, urgent,
		                       schedule_kind, recurrence, time_zone, poll, created_by, languages, variants, bilingual)
		SELECT $2, topic_id, segment_id, purpose, strategy, channel_order, email_subject, email_body,
		       sms_body, leaflet_title, leaflet_body, sender_name, sender_email, reply_to, urgent,
		       schedule_kind, recurrence, time_zone, poll, $3, languages, variants, bilingual
		  FROM campaigns WHERE id = $1
		RETURNING id`, id, name, actor); err != nil {
			return err
		}
		return audit.Pending(ctx, tx, audit.ID(newID), map[string]any{"copy_of": id})
	})
	if errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("duplicate campaign %d: %w", id, err)
	}
	return s.Get(ctx, strconv.FormatInt(newID, 10))
}

// Deletable reports whether campaign id can be deleted now: it is a draft that nothing
// was ever sent or printed for. A draft that was scheduled and moved back may have
// messages; they stay, and so does it. Delete checks again, under a lock.
func (s *Store) Deletable(ctx context.Context, id int64) (bool, error) {
	var ok bool
	err := s.db.GetContext(ctx, &ok, `SELECT c.state = 'draft' AND NOT `+hasMessages+` FROM campaigns c WHERE c.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	if err != nil {
		return false, fmt.Errorf("campaign %d deletable: %w", id, err)
	}
	return ok, nil
}

// hasMessages is true for a campaign c that has had a run, a message, a print run or a
// text answering it: its record is part of what was sent, and stays.
const hasMessages = `(EXISTS (SELECT 1 FROM campaign_runs r WHERE r.campaign_id = c.id)
	OR EXISTS (SELECT 1 FROM outbox o WHERE o.campaign_id = c.id)
	OR EXISTS (SELECT 1 FROM print_runs p WHERE p.campaign_id = c.id)
	OR EXISTS (SELECT 1 FROM sms_messages m WHERE m.campaign_id = c.id))`

// Delete removes draft id for good, with its history, and records the audit entry ctx
// carries (with the campaign's name, which nothing else will remember) in the same
// transaction. It returns the name. A campaign that is not a draft is ErrTransition; a
// draft that has messages (Deletable) is ErrHasMessages; a missing one ErrNotFound.
func (s *Store) Delete(ctx context.Context, id int64) (string, error) {
	var name string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := lockForChange(ctx, tx, id)
		if err != nil {
			return err
		}
		name = cur.Name
		if cur.State != Draft {
			return fmt.Errorf("%w: campaign %d is %s: only a draft can be deleted", ErrTransition, id, cur.State)
		}
		var has bool
		if err := tx.GetContext(ctx, &has, `SELECT `+hasMessages+` FROM campaigns c WHERE c.id = $1`, id); err != nil {
			return err
		}
		if has {
			return fmt.Errorf("%w: campaign %d was sent or printed once: it can't be deleted", ErrHasMessages, id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM campaigns WHERE id = $1`, id); err != nil {
			return err
		}
		return audit.Pending(ctx, tx, audit.ID(id), map[string]any{"name": name})
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrTransition) || errors.Is(err, ErrHasMessages) {
			return "", err
		}
		return "", fmt.Errorf("delete campaign %d: %w", id, err)
	}
	s.logger.InfoContext(ctx, "campaign deleted", "campaign_id", id)
	return name, nil
}
