package contact

// A contact's record as the officers' contact page shows it: their door, their contact
// points, and the messages sent to them and texts exchanged with them (newest first).

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Door is an address as stored: a household's, or a postal contact point's.
type Door struct {
	Flat        string `db:"flat"`
	HouseNumber string `db:"house_number"`
	Street      string `db:"street"`
	Town        string `db:"town"`
	Postcode    string `db:"postcode"`
}

// String is the door on one line: "Flat 2, 12 Acre Lane, London, SW2 1RW".
func (a Door) String() string {
	var parts []string
	if a.Flat != "" {
		parts = append(parts, a.Flat)
	}
	if line := strings.TrimSpace(a.HouseNumber + " " + a.Street); line != "" {
		parts = append(parts, line)
	}
	for _, p := range []string{a.Town, a.Postcode} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

const householdDoorSQL = `SELECT a.flat, a.house_number, a.street, a.town, a.postcode
			FROM households h JOIN addresses a ON a.id = h.address_id WHERE h.id = $1`

// HouseholdDoor returns the address of household id. A household that does not exist is
// an error that wraps sql.ErrNoRows.
func (s *Store) HouseholdDoor(ctx context.Context, id int64) (Door, error) {
	var a Door
	if err := s.db.GetContext(ctx, &a, householdDoorSQL, id); err != nil {
		return Door{}, fmt.Errorf("contact address: %w", err)
	}
	return a, nil
}

// PointDetail is one contact point as the contact page shows it, with its door when it
// is postal.
type PointDetail struct {
	ID           int64   `db:"id"`
	Kind         string  `db:"kind"`
	Value        string  `db:"value"`
	PhoneType    *string `db:"phone_type"`
	Fictional    bool    `db:"fictional"`
	Status       string  `db:"status"`
	StatusReason string  `db:"status_reason"`
	Door
	DeliveryNotes string `db:"delivery_notes"`
	DoNotDeliver  bool   `db:"do_not_deliver"`
}

const pointDetailsSQL = `
		SELECT cp.id, cp.kind, cp.value, cp.phone_type, cp.fictional, cp.status, cp.status_reason,
		       coalesce(a.flat, '') AS flat, coalesce(a.house_number, '') AS house_number, coalesce(a.street, '') AS street,
		       coalesce(a.town, '') AS town, coalesce(a.postcode, '') AS postcode,
		       coalesce(a.delivery_notes, '') AS delivery_notes, coalesce(a.do_not_deliver, false) AS do_not_deliver
		  FROM contact_points cp LEFT JOIN addresses a ON a.id = cp.address_id
		 WHERE cp.contact_id = $1
		 ORDER BY CASE cp.kind WHEN 'email' THEN 1 WHEN 'phone' THEN 2 ELSE 3 END, cp.phone_type = 'mobile' DESC, cp.id`

// PointDetails lists contact contactID's points: emails, then phones (mobiles first),
// then doors.
func (s *Store) PointDetails(ctx context.Context, contactID int64) ([]PointDetail, error) {
	var pts []PointDetail
	if err := s.db.SelectContext(ctx, &pts, pointDetailsSQL, contactID); err != nil {
		return nil, fmt.Errorf("contact points: %w", err)
	}
	return pts, nil
}

// MessageSent is one message of a campaign to a contact, and what became of it. Kind,
// Value and PhoneType are the contact point it went to (nil when it has gone since).
type MessageSent struct {
	Campaign  string    `db:"campaign"`
	Channel   string    `db:"channel"`
	State     string    `db:"state"`
	Reason    string    `db:"reason"`
	At        time.Time `db:"at"`
	Kind      *string   `db:"kind"`
	Value     *string   `db:"value"`
	PhoneType *string   `db:"phone_type"`
	Door
}

const messagesSentSQL = `
		SELECT cm.name AS campaign, o.channel, o.state, o.reason, coalesce(o.sent_at, o.updated_at) AS at,
		       cp.kind, cp.value, cp.phone_type,
		       coalesce(a.flat, '') AS flat, coalesce(a.house_number, '') AS house_number, coalesce(a.street, '') AS street,
		       coalesce(a.town, '') AS town, coalesce(a.postcode, '') AS postcode
		  FROM outbox o
		  JOIN campaigns cm ON cm.id = o.campaign_id
		  LEFT JOIN contact_points cp ON cp.id = o.contact_point_id
		  LEFT JOIN addresses a ON a.id = cp.address_id
		 WHERE o.contact_id = $1
		 ORDER BY coalesce(o.sent_at, o.updated_at) DESC, o.id DESC
		 LIMIT $2`

// MessagesSent lists the latest limit messages of campaigns to contact contactID,
// newest first.
func (s *Store) MessagesSent(ctx context.Context, contactID int64, limit int) ([]MessageSent, error) {
	var msgs []MessageSent
	if err := s.db.SelectContext(ctx, &msgs, messagesSentSQL, contactID, limit); err != nil {
		return nil, fmt.Errorf("messages sent: %w", err)
	}
	return msgs, nil
}

// Text is one text exchanged with a contact: theirs (direction "in") or an officer's
// reply ("out").
type Text struct {
	Direction    string    `db:"direction"`
	Body         string    `db:"body"`
	Campaign     string    `db:"campaign"` // the campaign it answers, or ""
	Keyword      string    `db:"keyword"`
	PollAnswer   string    `db:"poll_answer"`
	LikelyOptOut bool      `db:"likely_opt_out"`
	SentBy       string    `db:"sent_by"`
	At           time.Time `db:"at"`
	Phone        string    `db:"phone"` // the resident's number
}

const textsSQL = `
		SELECT m.direction, m.body, coalesce(cm.name, '') AS campaign, m.keyword, m.poll_answer, m.likely_opt_out,
		       m.sent_by, m.at, cv.phone
		  FROM conversations cv
		  JOIN sms_messages m ON m.conversation_id = cv.id
		  LEFT JOIN campaigns cm ON cm.id = m.campaign_id
		 WHERE cv.contact_id = $1
		 ORDER BY m.at DESC, m.id DESC
		 LIMIT $2`

// Texts lists the latest limit texts exchanged with contact contactID, newest first.
func (s *Store) Texts(ctx context.Context, contactID int64, limit int) ([]Text, error) {
	var texts []Text
	if err := s.db.SelectContext(ctx, &texts, textsSQL, contactID, limit); err != nil {
		return nil, fmt.Errorf("texts: %w", err)
	}
	return texts, nil
}

// ConsentEntry is one consent decision recorded on one of a contact's points, for the
// contact page's consent history.
type ConsentEntry struct {
	TopicID    int64     `db:"topic_id"` // 0 for a decision about every topic
	Topic      string    `db:"topic"`    // its name, or "Every topic"
	PointID    int64     `db:"point_id"`
	Kind       string    `db:"kind"`
	Value      string    `db:"value"`
	PhoneType  *string   `db:"phone_type"`
	Status     string    `db:"status"`
	Source     string    `db:"source"` // with its detail in brackets
	RecordedAt time.Time `db:"recorded_at"`
	Door
}

const consentLogSQL = `
		SELECT coalesce(t.id, 0) AS topic_id, coalesce(t.name, 'Every topic') AS topic, cp.id AS point_id, cp.kind, cp.value, cp.phone_type, c.status,
		       c.source || CASE WHEN c.detail <> '' THEN ' (' || c.detail || ')' ELSE '' END AS source, c.recorded_at,
		       coalesce(a.flat, '') AS flat, coalesce(a.house_number, '') AS house_number, coalesce(a.street, '') AS street,
		       coalesce(a.town, '') AS town, coalesce(a.postcode, '') AS postcode
		  FROM contact_points cp
		  JOIN consents c ON c.contact_point_id = cp.id
		  LEFT JOIN topics t ON t.id = c.topic_id
		  LEFT JOIN addresses a ON a.id = cp.address_id
		 WHERE cp.contact_id = $1
		 ORDER BY t.id IS NOT NULL, t.name, t.id, c.recorded_at, c.id`

// ConsentLog lists every consent decision on contact contactID's points, grouped by
// topic (decisions about every topic first, then by topic name), oldest first within
// a topic: the last one per point is the decision that stands.
func (s *Store) ConsentLog(ctx context.Context, contactID int64) ([]ConsentEntry, error) {
	var out []ConsentEntry
	if err := s.db.SelectContext(ctx, &out, consentLogSQL, contactID); err != nil {
		return nil, fmt.Errorf("consent history: %w", err)
	}
	return out, nil
}
