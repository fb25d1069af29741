// Package rights carries out residents' data rights under UK GDPR (issue 17): a subject
// access export of everything crier holds about one resident (Access), erasure that
// keeps only a keyed hash so they are never re-imported into marketing (Erase), and the
// retention policy that removes the words of old texts (Retention). Each is a plain
// method on Store taking ids or identifiers and returning a struct that marshals to JSON,
// for the CLI, the officers' pages and the API alike. Every one is recorded in the audit
// log by id and counts, never with the resident's personal data.
package rights

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/suppression"
)

// ErrNotFound is returned when no resident matches the id, email or phone given.
var ErrNotFound = errors.New("no resident found")

// Store answers residents' data rights requests.
type Store struct {
	db     *sqlx.DB
	key    *suppression.Key // nil: Erase refuses (it could not record the suppression)
	logger *slog.Logger
}

// NewStore returns a Store over db; key hashes erased residents' emails and numbers
// (suppression.NewKey of CRIER_LINK_KEY).
func NewStore(db *sqlx.DB, key *suppression.Key, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Store{db: db, key: key, logger: logger}
}

// Lookup names a resident by one of: their contact id, an email address or a phone
// number (normalised as the importer does, so "07700 900123" finds +447700900123).
type Lookup struct {
	ID     int64
	Email  string
	Phone  string
	Region string // default country for Phone without +code; default GB
}

// Find returns the contact id the lookup names; ErrNotFound if none, an error wrapping
// contact.ErrInvalid if the email or phone can't be read.
func (s *Store) Find(ctx context.Context, l Lookup) (int64, error) {
	var id int64
	var err error
	switch {
	case l.ID > 0:
		err = s.db.GetContext(ctx, &id, `SELECT id FROM contacts WHERE id = $1`, l.ID)
	case l.Email != "":
		e, nerr := contact.NormalizeEmail(l.Email)
		if nerr != nil {
			return 0, nerr
		}
		err = s.db.GetContext(ctx, &id, `SELECT contact_id FROM contact_points WHERE kind = 'email' AND lower(value) = $1`, strings.ToLower(e))
	case l.Phone != "":
		region := l.Region
		if region == "" {
			region = "GB"
		}
		p, nerr := contact.NormalizePhone(l.Phone, region)
		if nerr != nil {
			return 0, nerr
		}
		err = s.db.GetContext(ctx, &id, `SELECT contact_id FROM contact_points WHERE kind = 'phone' AND value = $1`, p.E164)
	default:
		return 0, errors.New("find resident: give an id, an email or a phone number")
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("find resident: %w", err)
	}
	return id, nil
}

// Export is everything crier holds about one resident. Field names are stable (see
// docs/data-rights.md); FormatVersion changes if one ever has to.
type Export struct {
	FormatVersion     int            `json:"format_version"`
	GeneratedAt       time.Time      `json:"generated_at"`
	Contact           Person         `json:"contact"`
	Household         *Household     `json:"household"`
	ContactPoints     []Point        `json:"contact_points"`
	ConsentEvents     []ConsentEvent `json:"consent_events"`
	Signups           []Signup       `json:"signups"`
	Messages          []Message      `json:"messages"`
	Conversations     []Conversation `json:"conversations"`
	LeafletDeliveries []Delivery     `json:"leaflet_deliveries"`
	Bounces           []Bounce       `json:"bounces"`
	AuditEntries      []AuditEntry   `json:"audit_entries"`
}

// Bounce is a bounce or complaint reported about one of the resident's email addresses
// (internal/bounce), by ids: the report's diagnostic has addresses replaced.
type Bounce struct {
	ID             int64      `db:"id" json:"id"`
	ContactPointID int64      `db:"contact_point_id" json:"contact_point_id"`
	MessageID      *int64     `db:"outbox_id" json:"message_id"`
	Kind           string     `db:"kind" json:"kind"` // hard, soft, complaint
	Source         string     `db:"source" json:"source"`
	Status         string     `db:"status_code" json:"status"`
	Diagnostic     string     `db:"diagnostic" json:"diagnostic"`
	ReportedAt     *time.Time `db:"reported_at" json:"reported_at"`
	ReceivedAt     time.Time  `db:"received_at" json:"received_at"`
}

// Person is the contacts row.
type Person struct {
	ID                 int64           `db:"id" json:"id"`
	FirstName          string          `db:"first_name" json:"first_name"`
	LastName           string          `db:"last_name" json:"last_name"`
	PreferredLanguage  string          `db:"preferred_language" json:"preferred_language"`
	LargePrint         bool            `db:"large_print" json:"large_print"`
	AccessibilityNeeds pq.StringArray  `db:"accessibility_needs" json:"accessibility_needs"`
	Ward               string          `db:"ward" json:"ward"`
	Tags               pq.StringArray  `db:"tags" json:"tags"`
	Attributes         json.RawMessage `db:"attributes" json:"attributes"`
	CreatedAt          time.Time       `db:"created_at" json:"created_at"`
	UpdatedAt          time.Time       `db:"updated_at" json:"updated_at"`
}

// Address is a door.
type Address struct {
	ID            int64  `db:"id" json:"id"`
	UPRN          string `db:"uprn" json:"uprn"`
	Flat          string `db:"flat" json:"flat"`
	HouseNumber   string `db:"house_number" json:"house_number"`
	Street        string `db:"street" json:"street"`
	Town          string `db:"town" json:"town"`
	Postcode      string `db:"postcode" json:"postcode"`
	Ward          string `db:"ward" json:"ward"`
	DeliveryNotes string `db:"delivery_notes" json:"delivery_notes"`
	DoNotDeliver  bool   `db:"do_not_deliver" json:"do_not_deliver"`
}

// Household is the resident's household and its door.
type Household struct {
	ID      int64   `json:"id"`
	Address Address `json:"address"`
}

// Point is a contact point: an email, a phone number or a postal address.
type Point struct {
	ID           int64     `db:"id" json:"id"`
	Kind         string    `db:"kind" json:"kind"`
	Value        string    `db:"value" json:"value"`
	PhoneType    *string   `db:"phone_type" json:"phone_type"`
	Status       string    `db:"status" json:"status"`
	StatusReason string    `db:"status_reason" json:"status_reason"`
	Address      *Address  `db:"-" json:"address"`
	AddressID    *int64    `db:"address_id" json:"-"`
	CreatedAt    time.Time `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time `db:"updated_at" json:"updated_at"`
}

// ConsentEvent is one row of the consent ledger.
type ConsentEvent struct {
	ID             int64     `db:"id" json:"id"`
	ContactPointID int64     `db:"contact_point_id" json:"contact_point_id"`
	Topic          string    `db:"topic" json:"topic"` // "" for every topic (STOP, START, unsubscribe from everything)
	Status         string    `db:"status" json:"status"`
	Keyword        string    `db:"keyword" json:"keyword"`
	Source         string    `db:"source" json:"source"`
	Detail         string    `db:"detail" json:"detail"`
	ImportID       *int64    `db:"import_id" json:"import_id"`
	RecordedAt     time.Time `db:"recorded_at" json:"recorded_at"`
}

// Signup is a web sign-up (confirmed or waiting).
type Signup struct {
	ID                int64         `db:"id" json:"id"`
	Email             string        `db:"email" json:"email"`
	FirstName         string        `db:"first_name" json:"first_name"`
	LastName          string        `db:"last_name" json:"last_name"`
	Mobile            string        `db:"mobile" json:"mobile"`
	Language          string        `db:"language" json:"language"`
	TopicIDs          pq.Int64Array `db:"topic_ids" json:"topic_ids"`
	CreatedAt         time.Time     `db:"created_at" json:"created_at"`
	ConfirmedAt       *time.Time    `db:"confirmed_at" json:"confirmed_at"`
	MobileConfirmedAt *time.Time    `db:"mobile_confirmed_at" json:"mobile_confirmed_at"`
}

// Message is one campaign message to the resident (an outbox row) with what happened to it.
// Crier renders a message's words when it sends it and does not keep them: the
// campaign's content is the campaign's, not the resident's.
type Message struct {
	ID             int64           `db:"id" json:"id"`
	CampaignID     int64           `db:"campaign_id" json:"campaign_id"`
	Campaign       string          `db:"campaign" json:"campaign"`
	EmailSubject   string          `db:"email_subject" json:"email_subject"`
	RunID          int64           `db:"run_id" json:"run_id"`
	Channel        string          `db:"channel" json:"channel"`
	ContactPointID *int64          `db:"contact_point_id" json:"contact_point_id"`
	State          string          `db:"state" json:"state"`
	Reason         string          `db:"reason" json:"reason"`
	Attempt        int             `db:"attempt" json:"attempts"`
	ProviderID     *string         `db:"provider_id" json:"provider_id"`
	ProviderStatus string          `db:"provider_status" json:"provider_status"`
	HandedAt       *time.Time      `db:"handed_at" json:"handed_at"`
	SentAt         *time.Time      `db:"sent_at" json:"sent_at"`
	UpdatedAt      time.Time       `db:"updated_at" json:"updated_at"`
	Events         []MessageEvent  `db:"-" json:"events"`
	Delivery       *ProviderStatus `db:"-" json:"provider_delivery"`
}

// MessageEvent is one event of a message: queued, sent, delivered, bounced, ...
type MessageEvent struct {
	ID        int64     `db:"id" json:"id"`
	MessageID int64     `db:"outbox_id" json:"-"`
	Event     string    `db:"event" json:"event"`
	Detail    string    `db:"detail" json:"detail"`
	At        time.Time `db:"at" json:"at"`
}

// ProviderStatus is the latest delivery report the SMS provider sent for a message.
type ProviderStatus struct {
	ProviderID string    `db:"provider_id" json:"provider_id"`
	Status     string    `db:"status" json:"status"`
	State      string    `db:"state" json:"state"`
	Reason     string    `db:"reason" json:"reason"`
	ErrorCode  int       `db:"error_code" json:"error_code"`
	UpdatedAt  time.Time `db:"updated_at" json:"updated_at"`
}

// Conversation is the text conversation with one of the resident's numbers.
type Conversation struct {
	ID            int64     `db:"id" json:"id"`
	Phone         string    `db:"phone" json:"phone"`
	AssignedTo    string    `db:"assigned_to" json:"assigned_to"`
	LastMessageAt time.Time `db:"last_message_at" json:"last_message_at"`
	CreatedAt     time.Time `db:"created_at" json:"created_at"`
	Texts         []Text    `db:"-" json:"texts"`
}

// Text is one text in a conversation, either way.
type Text struct {
	ID             int64          `db:"id" json:"id"`
	ConversationID int64          `db:"conversation_id" json:"-"`
	Direction      string         `db:"direction" json:"direction"` // in: from the resident; out: to them
	Body           string         `db:"body" json:"body"`
	BodyRemovedAt  *time.Time     `db:"body_removed_at" json:"body_removed_at"`
	ProviderSID    *string        `db:"provider_sid" json:"provider_sid"`
	CampaignID     *int64         `db:"campaign_id" json:"campaign_id"`
	MessageID      *int64         `db:"outbox_id" json:"message_id"`
	Keyword        string         `db:"keyword" json:"keyword"`
	PollAnswer     string         `db:"poll_answer" json:"poll_answer"`
	Tags           pq.StringArray `db:"tags" json:"tags"`
	SentBy         string         `db:"sent_by" json:"sent_by"`
	Status         string         `db:"status" json:"status"`
	ReadAt         *time.Time     `db:"read_at" json:"read_at"`
	At             time.Time      `db:"at" json:"at"`
}

// Delivery is one leaflet round's stop at the resident's door.
type Delivery struct {
	StopID     int64     `db:"id" json:"stop_id"`
	RoundID    int64     `db:"round_id" json:"round_id"`
	Round      string    `db:"round" json:"round"`
	PrintRunID int64     `db:"print_run_id" json:"print_run_id"`
	CampaignID int64     `db:"campaign_id" json:"campaign_id"`
	AddressID  int64     `db:"address_id" json:"address_id"`
	Leaflets   int       `db:"leaflets" json:"leaflets"`
	LargePrint bool      `db:"large_print" json:"large_print"`
	State      string    `db:"state" json:"state"`
	Reason     string    `db:"reason" json:"reason"`
	UpdatedAt  time.Time `db:"updated_at" json:"updated_at"`
}

// AuditEntry is an entry of the audit log about the resident.
type AuditEntry struct {
	ID     int64          `json:"id"`
	At     time.Time      `json:"at"`
	Actor  string         `json:"actor"`
	Action string         `json:"action"`
	Detail map[string]any `json:"detail"`
}

// Covered lists every column that ties a row to a resident, as "table.column", with what
// Access and Erase do about it. A test compares it with the database's foreign keys
// and key columns, so a new table holding residents' data can't be missed.
var Covered = map[string]string{
	"contacts.household_id":          "exported (household); erased: the contact row is deleted",
	"households.address_id":          "exported (the household's door); kept: a door is not personal data",
	"contact_points.contact_id":      "exported; erased (deleted)",
	"contact_points.address_id":      "exported (postal points' doors); erased (the point is deleted)",
	"consents.contact_point_id":      "exported; erased (deleted with the point)",
	"signups.contact_id":             "exported; erased (deleted, also those with the same email or mobile)",
	"signup_mobile_codes.signup_id":  "not exported (only a hash of a code); erased with the sign-up",
	"outbox.contact_id":              "exported; erased: anonymised (contact id negated, point and provider id cleared), kept for campaign counts",
	"outbox.contact_point_id":        "exported; erased: cleared",
	"message_events.outbox_id":       "exported; kept with the anonymised message (no personal data; emails and numbers scrubbed)",
	"conversations.contact_id":       "exported; erased (deleted, with the texts)",
	"sms_messages.conversation_id":   "exported; erased (deleted with the conversation)",
	"sms_messages.outbox_id":         "exported; erased with the conversation",
	"round_stops.outbox_ids":         "exported; kept: they name anonymised messages",
	"round_stops.address_id":         "exported (deliveries to the resident's doors); kept: a door is not personal data",
	"provider_statuses.provider_id":  "exported; erased (deleted)",
	"audit_log.subject_id":           "exported (entries about the resident); kept: append-only, ids and counts only",
	"conversations.phone":            "exported; erased (deleted, also a conversation with the number but no contact)",
	"signups.email":                  "exported; erased (deleted)",
	"signups.mobile":                 "exported; erased (deleted)",
	"bounce_events.contact_point_id": "exported (bounces); erased (deleted with the point)",
	"bounce_events.outbox_id":        "exported (bounces); erased with the point (the message is kept, anonymised)",
}

// Access gathers everything held about the resident with contact id id, in one
// repeatable-read snapshot, and records the export in the audit log (as actor, by id:
// the entry holds no personal data). ErrNotFound if there is no such resident.
func (s *Store) Access(ctx context.Context, id int64, actor audit.Entry) (*Export, error) {
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return nil, fmt.Errorf("subject access: %w", err)
	}
	defer tx.Rollback()
	x, err := gather(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	actor.Action, actor.SubjectType, actor.SubjectID = audit.SubjectAccess, "contact", audit.ID(id)
	actor.Detail = map[string]any{"messages": len(x.Messages), "consent_events": len(x.ConsentEvents),
		"conversations": len(x.Conversations), "contact_points": len(x.ContactPoints)}
	if err := audit.Record(ctx, tx, actor); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("subject access: %w", err)
	}
	return x, nil
}

const addressCols = `id, uprn, flat, house_number, street, town, postcode, ward, delivery_notes, do_not_deliver`

func gather(ctx context.Context, tx *sqlx.Tx, id int64) (*Export, error) {
	x := &Export{FormatVersion: 1, GeneratedAt: time.Now().UTC()}
	var household *int64
	err := tx.QueryRowxContext(ctx, `SELECT id, first_name, last_name, preferred_language, large_print, accessibility_needs,
		ward, tags, attributes, created_at, updated_at, household_id FROM contacts WHERE id = $1`, id).
		Scan(&x.Contact.ID, &x.Contact.FirstName, &x.Contact.LastName, &x.Contact.PreferredLanguage, &x.Contact.LargePrint,
			&x.Contact.AccessibilityNeeds, &x.Contact.Ward, &x.Contact.Tags, &x.Contact.Attributes, &x.Contact.CreatedAt,
			&x.Contact.UpdatedAt, &household)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("subject access: contact %d: %w", id, err)
	}
	step := func(what string, err error) error {
		if err != nil {
			return fmt.Errorf("subject access: contact %d: %s: %w", id, what, err)
		}
		return nil
	}
	if household != nil {
		h := &Household{ID: *household}
		if err := step("household", tx.GetContext(ctx, &h.Address, `SELECT `+addressCols+` FROM addresses
			WHERE id = (SELECT address_id FROM households WHERE id = $1)`, *household)); err != nil {
			return nil, err
		}
		x.Household = h
	}
	if err := step("contact points", tx.SelectContext(ctx, &x.ContactPoints, `SELECT id, kind, value, phone_type, status,
		status_reason, address_id, created_at, updated_at FROM contact_points WHERE contact_id = $1 ORDER BY id`, id)); err != nil {
		return nil, err
	}
	var phones, emails []string
	for i, p := range x.ContactPoints {
		switch p.Kind {
		case "phone":
			phones = append(phones, p.Value)
		case "email":
			emails = append(emails, strings.ToLower(p.Value))
		}
		if p.AddressID != nil {
			var a Address
			if err := step("postal address", tx.GetContext(ctx, &a, `SELECT `+addressCols+` FROM addresses WHERE id = $1`, *p.AddressID)); err != nil {
				return nil, err
			}
			x.ContactPoints[i].Address = &a
		}
	}
	if err := step("consents", tx.SelectContext(ctx, &x.ConsentEvents, `SELECT k.id, k.contact_point_id, coalesce(t.slug, '') AS topic,
		k.status, k.keyword, k.source, k.detail, k.import_id, k.recorded_at
		  FROM consents k JOIN contact_points cp ON cp.id = k.contact_point_id LEFT JOIN topics t ON t.id = k.topic_id
		 WHERE cp.contact_id = $1 ORDER BY k.recorded_at, k.id`, id)); err != nil {
		return nil, err
	}
	if err := step("sign-ups", tx.SelectContext(ctx, &x.Signups, `SELECT id, email, first_name, last_name, mobile, language,
		topic_ids, created_at, confirmed_at, mobile_confirmed_at FROM signups
		 WHERE contact_id = $1 OR lower(email) = ANY($2) OR (mobile <> '' AND mobile = ANY($3)) ORDER BY id`,
		id, pq.Array(emails), pq.Array(phones))); err != nil {
		return nil, err
	}
	if err := step("messages", tx.SelectContext(ctx, &x.Messages, `SELECT o.id, o.campaign_id, c.name AS campaign,
		CASE WHEN o.channel = 'email' THEN c.email_subject ELSE '' END AS email_subject, o.run_id, o.channel,
		o.contact_point_id, o.state, o.reason, o.attempt, o.provider_id, o.provider_status, o.handed_at, o.sent_at, o.updated_at
		  FROM outbox o JOIN campaigns c ON c.id = o.campaign_id WHERE o.contact_id = $1 ORDER BY o.id`, id)); err != nil {
		return nil, err
	}
	ids := make([]int64, len(x.Messages))
	var sids []string
	for i, m := range x.Messages {
		ids[i] = m.ID
		if m.ProviderID != nil && m.Channel == "sms" {
			sids = append(sids, *m.ProviderID)
		}
	}
	var events []MessageEvent
	if err := step("message events", tx.SelectContext(ctx, &events, `SELECT id, outbox_id, event, detail, at FROM message_events
		WHERE outbox_id = ANY($1) ORDER BY at, id`, pq.Array(ids))); err != nil {
		return nil, err
	}
	var statuses []ProviderStatus
	if err := step("provider statuses", tx.SelectContext(ctx, &statuses, `SELECT provider_id, status, state, reason, error_code, updated_at
		FROM provider_statuses WHERE provider_id = ANY($1)`, pq.Array(sids))); err != nil {
		return nil, err
	}
	byID := map[int64]*Message{}
	for i := range x.Messages {
		x.Messages[i].Events = []MessageEvent{}
		byID[x.Messages[i].ID] = &x.Messages[i]
	}
	for _, e := range events {
		byID[e.MessageID].Events = append(byID[e.MessageID].Events, e)
	}
	for i := range x.Messages {
		for j := range statuses {
			if x.Messages[i].ProviderID != nil && statuses[j].ProviderID == *x.Messages[i].ProviderID {
				x.Messages[i].Delivery = &statuses[j]
			}
		}
	}
	if err := step("conversations", tx.SelectContext(ctx, &x.Conversations, `SELECT id, phone, assigned_to, last_message_at, created_at
		FROM conversations WHERE contact_id = $1 OR phone = ANY($2) ORDER BY id`, id, pq.Array(phones))); err != nil {
		return nil, err
	}
	for i := range x.Conversations {
		x.Conversations[i].Texts = []Text{}
		if err := step("texts", tx.SelectContext(ctx, &x.Conversations[i].Texts, `SELECT id, conversation_id, direction, body,
			body_removed_at, provider_sid, campaign_id, outbox_id, keyword, poll_answer, tags, sent_by, status, read_at, at
			  FROM sms_messages WHERE conversation_id = $1 ORDER BY at, id`, x.Conversations[i].ID)); err != nil {
			return nil, err
		}
	}
	// Leaflets walked to their doors: the household's and any postal point's, or a stop
	// naming one of their messages.
	if err := step("leaflet deliveries", tx.SelectContext(ctx, &x.LeafletDeliveries, `SELECT s.id, s.round_id, r.name AS round,
		r.print_run_id, pr.campaign_id, s.address_id, s.leaflets, s.large_print, s.state, s.reason, s.updated_at
		  FROM round_stops s JOIN rounds r ON r.id = s.round_id JOIN print_runs pr ON pr.id = r.print_run_id
		 WHERE s.address_id IN (SELECT h.address_id FROM households h JOIN contacts c ON c.household_id = h.id WHERE c.id = $1
		                        UNION SELECT address_id FROM contact_points WHERE contact_id = $1 AND address_id IS NOT NULL)
		    OR s.outbox_ids && $2::bigint[]
		 ORDER BY s.id`, id, pq.Array(ids))); err != nil {
		return nil, err
	}
	if err := step("bounces", tx.SelectContext(ctx, &x.Bounces, `SELECT b.id, b.contact_point_id, b.outbox_id, b.kind, b.source,
		b.status_code, b.diagnostic, b.reported_at, b.received_at
		  FROM bounce_events b JOIN contact_points cp ON cp.id = b.contact_point_id
		 WHERE cp.contact_id = $1 ORDER BY b.received_at, b.id`, id)); err != nil {
		return nil, err
	}
	if x.Bounces == nil {
		x.Bounces = []Bounce{}
	}
	entries, err := auditAbout(ctx, tx, id)
	if err := step("audit log", err); err != nil {
		return nil, err
	}
	x.AuditEntries = entries
	for _, p := range []*[]Point{&x.ContactPoints} {
		if *p == nil {
			*p = []Point{}
		}
	}
	if x.ConsentEvents == nil {
		x.ConsentEvents = []ConsentEvent{}
	}
	if x.Signups == nil {
		x.Signups = []Signup{}
	}
	if x.Messages == nil {
		x.Messages = []Message{}
	}
	if x.Conversations == nil {
		x.Conversations = []Conversation{}
	}
	if x.LeafletDeliveries == nil {
		x.LeafletDeliveries = []Delivery{}
	}
	return x, nil
}

func auditAbout(ctx context.Context, tx *sqlx.Tx, id int64) ([]AuditEntry, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, at, actor, action, detail FROM audit_log
		WHERE subject_type = 'contact' AND subject_id = $1 ORDER BY id`, audit.ID(id))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var detail []byte
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &detail); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(detail, &e.Detail); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
