package rights

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/suppression"
)

// ErrSending is returned by Erase while a message to the resident is in a worker's
// hands (being sent now): erasing under it would leave the worker's result nowhere to go.
// It clears within the outbox lease (minutes); try again then.
var ErrSending = errors.New("a message to this resident is being sent right now; try again in a few minutes")

// ErrNoKey is returned by Erase when the Store has no suppression key.
var ErrNoKey = errors.New("erasure needs the suppression key (CRIER_LINK_KEY) to record the suppression")

// Plan is what erasing a resident will do (Preview) or did (Erase): counts only.
type Plan struct {
	ContactID        int64    `json:"contact_id"`
	Name             string   `json:"name,omitempty"`   // Preview only, for the officer to check it is the right person
	Points           []string `json:"points,omitempty"` // Preview only: "email a***@example.org", "phone …123"
	ContactPoints    int      `json:"contact_points"`
	ConsentEvents    int      `json:"consent_events"`
	Signups          int      `json:"signups"`
	MessagesKept     int      `json:"messages_anonymised"` // kept without anything naming the resident, for campaign counts
	PendingCancelled int      `json:"pending_cancelled"`   // messages still waiting to go, cancelled
	Sending          int      `json:"sending"`             // messages in a worker's hands now (Erase refuses while > 0)
	Conversations    int      `json:"conversations"`
	Texts            int      `json:"texts"`
	Suppressions     int      `json:"suppressions"` // emails and numbers added to the suppression list
}

type held struct {
	emails, phones []string // as stored
	first, last    string
}

func load(ctx context.Context, q sqlx.QueryerContext, id int64, lock bool) (held, error) {
	var h held
	query := `SELECT first_name, last_name FROM contacts WHERE id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	err := q.QueryRowxContext(ctx, query, id).Scan(&h.first, &h.last)
	if errors.Is(err, sql.ErrNoRows) {
		return h, ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("erase contact %d: %w", id, err)
	}
	rows, err := q.QueryxContext(ctx, `SELECT kind, value FROM contact_points WHERE contact_id = $1 AND kind <> 'postal' ORDER BY id`, id)
	if err != nil {
		return h, fmt.Errorf("erase contact %d: points: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, value string
		if err := rows.Scan(&kind, &value); err != nil {
			return h, err
		}
		if kind == "email" {
			h.emails = append(h.emails, value)
		} else {
			h.phones = append(h.phones, value)
		}
	}
	return h, rows.Err()
}

func (h held) lowerEmails() []string {
	out := make([]string, len(h.emails))
	for i, e := range h.emails {
		out[i] = strings.ToLower(e)
	}
	return out
}

// countSQL counts what erasing contact $1 touches; $2 their emails (lower case), $3 their numbers.
const countSQL = `
SELECT (SELECT count(*) FROM contact_points WHERE contact_id = $1) AS contact_points,
       (SELECT count(*) FROM consents k JOIN contact_points cp ON cp.id = k.contact_point_id WHERE cp.contact_id = $1) AS consent_events,
       (SELECT count(*) FROM signups WHERE contact_id = $1 OR lower(email) = ANY($2) OR (mobile <> '' AND mobile = ANY($3))) AS signups,
       (SELECT count(*) FROM outbox WHERE contact_id = $1) AS messages,
       (SELECT count(*) FROM outbox WHERE contact_id = $1 AND state = 'pending') AS pending,
       (SELECT count(*) FROM outbox WHERE contact_id = $1 AND state = 'sending') AS sending,
       (SELECT count(*) FROM conversations WHERE contact_id = $1 OR phone = ANY($3)) AS conversations,
       (SELECT count(*) FROM sms_messages m JOIN conversations cv ON cv.id = m.conversation_id
         WHERE cv.contact_id = $1 OR cv.phone = ANY($3)) AS texts`

func count(ctx context.Context, q sqlx.QueryerContext, id int64, h held) (Plan, error) {
	p := Plan{ContactID: id, Suppressions: len(h.emails) + len(h.phones)}
	err := q.QueryRowxContext(ctx, countSQL, id, pq.Array(h.lowerEmails()), pq.Array(h.phones)).
		Scan(&p.ContactPoints, &p.ConsentEvents, &p.Signups, &p.MessagesKept, &p.PendingCancelled, &p.Sending, &p.Conversations, &p.Texts)
	if err != nil {
		return p, fmt.Errorf("erase contact %d: count: %w", id, err)
	}
	return p, nil
}

// Preview says what Erase(id) would do, with the resident's name and masked contact
// points so the officer can check it is the right person. It changes nothing and
// records nothing. ErrNotFound if there is no such resident.
func (s *Store) Preview(ctx context.Context, id int64) (Plan, error) {
	h, err := load(ctx, s.db, id, false)
	if err != nil {
		return Plan{}, err
	}
	p, err := count(ctx, s.db, id, h)
	if err != nil {
		return p, err
	}
	p.Name = strings.TrimSpace(h.first + " " + h.last)
	for _, e := range h.emails {
		p.Points = append(p.Points, "email "+maskEmail(e))
	}
	for _, ph := range h.phones {
		p.Points = append(p.Points, "phone "+maskPhone(ph))
	}
	return p, nil
}

func maskEmail(e string) string {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" {
		return "***"
	}
	return local[:1] + "***@" + domain
}

func maskPhone(p string) string {
	if len(p) <= 3 {
		return "***"
	}
	return "…" + p[len(p)-3:]
}

// Erase removes the resident with contact id id, in one transaction:
//   - the contact, their contact points and consent ledger, their sign-ups (and any with
//     their email or mobile), their text conversations (and any with their number) with
//     every text, and the provider's delivery reports for their messages, are deleted;
//   - their campaign messages are kept for the campaigns' counts, anonymised: the contact
//     id is negated (nothing else has that id), the contact point and provider id are
//     cleared, and any email or number in an event's detail is replaced; messages still
//     waiting to go are cancelled ("resident erased");
//   - doors (addresses, households) stay: a door is not personal data and other residents
//     and delivery rounds use it; a door's delivery notes are cleared if nobody else lives
//     there or they name the resident;
//   - each email and number goes on the suppression list (a keyed hash), with reason;
//   - the erasure is recorded in the audit log (actor's entry, by id and counts).
//
// It returns ErrNotFound for no such resident, ErrSending while a message to them is
// being sent, ErrNoKey without a suppression key.
func (s *Store) Erase(ctx context.Context, id int64, reason string, actor audit.Entry) (Plan, error) {
	if s.key == nil {
		return Plan{}, ErrNoKey
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Plan{}, errors.New("erase: give the reason (the request's reference, e.g. \"email of 3 May 2026\")")
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return Plan{}, fmt.Errorf("erase contact %d: %w", id, err)
	}
	defer tx.Rollback()
	h, err := load(ctx, tx, id, true)
	if err != nil {
		return Plan{}, err
	}
	// Lock their messages before counting: a worker claiming one now either has it (and
	// we see 'sending') or waits for this transaction and then finds it cancelled.
	if _, err := tx.ExecContext(ctx, `SELECT id FROM outbox WHERE contact_id = $1 FOR UPDATE`, id); err != nil {
		return Plan{}, fmt.Errorf("erase contact %d: lock messages: %w", id, err)
	}
	p, err := count(ctx, tx, id, h)
	if err != nil {
		return p, err
	}
	if p.Sending > 0 {
		return p, ErrSending
	}
	emails, phones := pq.Array(h.lowerEmails()), pq.Array(h.phones)
	steps := []struct {
		what string
		sql  string
		args []any
	}{
		{"cancel waiting messages", `WITH c AS (
			UPDATE outbox SET state = 'cancelled', reason = 'resident erased', updated_at = now()
			 WHERE contact_id = $1 AND state = 'pending' RETURNING id)
			INSERT INTO message_events (outbox_id, event, detail) SELECT id, 'cancelled', 'resident erased' FROM c`, []any{id}},
		{"delete delivery reports", `DELETE FROM provider_statuses WHERE provider_id IN (
			SELECT provider_id FROM outbox WHERE contact_id = $1 AND provider_id IS NOT NULL
			UNION SELECT m.provider_sid FROM sms_messages m JOIN conversations cv ON cv.id = m.conversation_id
			 WHERE (cv.contact_id = $1 OR cv.phone = ANY($2)) AND m.provider_sid IS NOT NULL)`, []any{id, phones}},
		{"anonymise messages", `UPDATE outbox SET contact_id = -contact_id, contact_point_id = NULL, provider_id = NULL,
			updated_at = now() WHERE contact_id = $1`, []any{id}},
		{"delete conversations", `DELETE FROM conversations WHERE contact_id = $1 OR phone = ANY($2)`, []any{id, phones}},
		{"delete sign-ups", `DELETE FROM signups WHERE contact_id = $1 OR lower(email) = ANY($2) OR (mobile <> '' AND mobile = ANY($3))`,
			[]any{id, emails, phones}},
		{"clear lone doors' notes", `UPDATE addresses a SET delivery_notes = '', updated_at = now()
			 WHERE a.delivery_notes <> '' AND a.id IN (
			       SELECT h.address_id FROM households h JOIN contacts c ON c.household_id = h.id WHERE c.id = $1
			       UNION SELECT address_id FROM contact_points WHERE contact_id = $1 AND address_id IS NOT NULL)
			   AND ((NOT EXISTS (SELECT 1 FROM households h JOIN contacts c ON c.household_id = h.id WHERE h.address_id = a.id AND c.id <> $1)
			         AND NOT EXISTS (SELECT 1 FROM contact_points cp WHERE cp.address_id = a.id AND cp.contact_id <> $1))
			     OR ($2 <> '' AND strpos(lower(a.delivery_notes), lower($2)) > 0)
			     OR ($3 <> '' AND strpos(lower(a.delivery_notes), lower($3)) > 0))`, []any{id, h.first, h.last}},
		{"delete contact", `DELETE FROM contacts WHERE id = $1`, []any{id}},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
			return p, fmt.Errorf("erase contact %d: %s: %w", id, st.what, err)
		}
	}
	// Events and reasons hold no personal data by design; a provider's bounce text may
	// still quote the address, so every email and number is replaced to be sure.
	for _, v := range append(append([]string{}, h.emails...), h.phones...) {
		if err := scrub(ctx, tx, -id, v); err != nil {
			return p, fmt.Errorf("erase contact %d: scrub message events: %w", id, err)
		}
	}
	for _, e := range h.emails {
		if err := s.key.Add(ctx, tx, suppression.Email, e, reason); err != nil {
			return p, err
		}
	}
	for _, ph := range h.phones {
		if err := s.key.Add(ctx, tx, suppression.Phone, ph, reason); err != nil {
			return p, err
		}
	}
	actor.Action, actor.SubjectType, actor.SubjectID = audit.ContactErase, "contact", audit.ID(id)
	actor.Detail = map[string]any{"contact_points": p.ContactPoints, "consent_events": p.ConsentEvents, "signups": p.Signups,
		"messages_anonymised": p.MessagesKept, "pending_cancelled": p.PendingCancelled, "conversations": p.Conversations,
		"texts": p.Texts, "suppressions": p.Suppressions}
	if err := audit.Record(ctx, tx, actor); err != nil {
		return p, err
	}
	if err := tx.Commit(); err != nil {
		return p, fmt.Errorf("erase contact %d: commit: %w", id, err)
	}
	s.logger.InfoContext(ctx, "resident erased", "contact_id", id, "messages_anonymised", p.MessagesKept,
		"pending_cancelled", p.PendingCancelled, "texts", p.Texts)
	return p, nil
}

// scrub replaces value (an email, any case, or a number) in the detail and reason of
// the anonymised messages of contact -id (anonID).
func scrub(ctx context.Context, tx *sqlx.Tx, anonID int64, value string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE message_events SET detail = regexp_replace(detail, $2, '[erased]', 'gi')
		 WHERE outbox_id IN (SELECT id FROM outbox WHERE contact_id = $1) AND strpos(lower(detail), lower($3)) > 0`,
		anonID, regexpQuote(value), value); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE outbox SET reason = regexp_replace(reason, $2, '[erased]', 'gi')
		 WHERE contact_id = $1 AND strpos(lower(reason), lower($3)) > 0`, anonID, regexpQuote(value), value)
	return err
}

// regexpQuote escapes s for a PostgreSQL regular expression.
func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
