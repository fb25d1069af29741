package contact

import (
	"context"
	"fmt"
	"strings"

	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/consent"
)

// Get returns one contact; ErrNotFound if there is none with that id.
func (s *Store) Get(ctx context.Context, id int64) (*Contact, error) {
	var c Contact
	var tags, needs pq.StringArray
	err := s.db.QueryRowxContext(ctx, `SELECT id, first_name, last_name, preferred_language, large_print, ward,
		household_id, created_at, updated_at, attributes, tags, accessibility_needs FROM contacts WHERE id = $1`, id).
		Scan(&c.ID, &c.FirstName, &c.LastName, &c.PreferredLanguage, &c.LargePrint, &c.Ward, &c.HouseholdID,
			&c.CreatedAt, &c.UpdatedAt, &c.AttributesJSON, &tags, &needs)
	if err != nil {
		return nil, fmt.Errorf("get contact %d: %w", id, notFound(err))
	}
	c.Tags, c.AccessibilityNeeds = tags, needs
	return &c, nil
}

// FindByEmail returns the id of the contact holding email (case-insensitive); ErrNotFound if none.
func (s *Store) FindByEmail(ctx context.Context, email string) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `SELECT contact_id FROM contact_points WHERE kind = 'email' AND lower(value) = lower($1)`,
		strings.TrimSpace(email))
	if err != nil {
		return 0, fmt.Errorf("find contact by email: %w", notFound(err))
	}
	return id, nil
}

// FindByPhone returns the id of the contact holding the E.164 number; ErrNotFound if none.
func (s *Store) FindByPhone(ctx context.Context, e164 string) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `SELECT contact_id FROM contact_points WHERE kind = 'phone' AND value = $1`, e164)
	if err != nil {
		return 0, fmt.Errorf("find contact by phone: %w", notFound(err))
	}
	return id, nil
}

// Points lists a contact's contact points with their current consent for topic.
func (s *Store) Points(ctx context.Context, contactID int64, topic string) ([]Point, error) {
	var pts []Point
	err := s.db.SelectContext(ctx, &pts, `
		SELECT cp.id, cp.contact_id, cp.kind, cp.value, cp.address_id, cp.phone_type, cp.fictional, cp.status,
		       coalesce(`+consent.Status("c")+`, '') AS consent
		  FROM contact_points cp
		  LEFT JOIN topics t ON t.slug = $2`+consent.Joins("cp.id", "t.id", "c")+`
		 WHERE cp.contact_id = $1 ORDER BY cp.kind, cp.id`, contactID, topic)
	if err != nil {
		return nil, fmt.Errorf("list contact points: %w", err)
	}
	return pts, nil
}

// ConsentHistory lists every consent ever recorded for a contact point, oldest first.
func (s *Store) ConsentHistory(ctx context.Context, pointID int64) ([]ConsentRecord, error) {
	var out []ConsentRecord
	err := s.db.SelectContext(ctx, &out, `
		SELECT c.id, c.contact_point_id, coalesce(t.slug, '') AS topic, c.keyword, c.status, c.source, c.recorded_at
		  FROM consents c LEFT JOIN topics t ON t.id = c.topic_id
		 WHERE c.contact_point_id = $1 ORDER BY c.recorded_at, c.id`, pointID)
	if err != nil {
		return nil, fmt.Errorf("consent history: %w", err)
	}
	return out, nil
}

// RecordConsent records an officer's or a resident's decision for a contact point and
// topic, with its source ("web form", "officer", ...), through the consent ledger: it
// is recorded only where it changes what stands. History is never rewritten.
func (s *Store) RecordConsent(ctx context.Context, pointID int64, topic, status, source string) error {
	var topicID int64
	if err := s.db.GetContext(ctx, &topicID, `SELECT id FROM topics WHERE slug = $1`, topic); err != nil {
		return fmt.Errorf("record consent: topic %q: %w", topic, notFound(err))
	}
	if _, err := consent.Record(ctx, s.db, []consent.Change{{Point: pointID, Topic: topicID, Status: status}},
		consent.Source{Name: source}); err != nil {
		return err
	}
	return nil
}

// Count returns how many contacts there are.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM contacts`); err != nil {
		return 0, fmt.Errorf("count contacts: %w", err)
	}
	return n, nil
}

// WardReach counts, for one ward, how its residents can be reached today: by an active
// email or mobile with granted consent for the topic, or only on paper.
type WardReach struct {
	Ward        string `db:"ward"`
	Contacts    int    `db:"contacts"`
	Email       int    `db:"email"`
	SMS         int    `db:"sms"`
	PostOnly    int    `db:"post_only"`
	Unreachable int    `db:"unreachable"`
	LargePrint  int    `db:"large_print"`
}

// Add counts o's residents into w (a total over wards; w's Ward is left as it is).
func (w *WardReach) Add(o WardReach) {
	w.Contacts += o.Contacts
	w.Email += o.Email
	w.SMS += o.SMS
	w.PostOnly += o.PostOnly
	w.Unreachable += o.Unreachable
	w.LargePrint += o.LargePrint
}

// Reach summarises reachability per ward for topic, in ward order.
func (s *Store) Reach(ctx context.Context, topic string) ([]WardReach, error) {
	var out []WardReach
	err := s.db.SelectContext(ctx, &out, `
		WITH t AS (SELECT id FROM topics WHERE slug = $1),
		pc AS (
		    SELECT cp.contact_id, cp.kind, cp.phone_type, cp.status, `+consent.Status("k")+` AS consent
		      FROM contact_points cp CROSS JOIN t`+consent.Joins("cp.id", "t.id", "k")+`),
		per AS (
		    SELECT ct.id, ct.ward, ct.large_print,
		           bool_or(cp.kind = 'email' AND cp.status = 'active' AND cp.consent = 'granted') AS email,
		           bool_or(cp.kind = 'phone' AND cp.phone_type <> 'landline' AND cp.status = 'active' AND cp.consent = 'granted') AS sms,
		           bool_or(cp.kind = 'postal' AND cp.status = 'active') AS post
		      FROM contacts ct
		      LEFT JOIN pc cp ON cp.contact_id = ct.id
		     GROUP BY ct.id)
		SELECT ward, count(*) AS contacts,
		       count(*) FILTER (WHERE email) AS email,
		       count(*) FILTER (WHERE sms) AS sms,
		       count(*) FILTER (WHERE post AND NOT coalesce(email, false) AND NOT coalesce(sms, false)) AS post_only,
		       count(*) FILTER (WHERE NOT coalesce(post, false) AND NOT coalesce(email, false) AND NOT coalesce(sms, false)) AS unreachable,
		       count(*) FILTER (WHERE large_print) AS large_print
		  FROM per GROUP BY ward ORDER BY ward`, topic)
	if err != nil {
		return nil, fmt.Errorf("reach: %w", err)
	}
	return out, nil
}
