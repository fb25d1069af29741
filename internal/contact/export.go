package contact

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/crierhq/crier/internal/consent"
)

// ExportHeader is the header `crier contacts export` writes; an export re-imports cleanly.
var ExportHeader = []string{"ID", "First name", "Surname", "Email", "Email status", "Email consent",
	"Mobile", "Mobile status", "SMS consent", "Phone", "Flat", "House number", "Street", "Town", "Postcode",
	"Ward", "Post consent", "Preferred language", "Large print", "Accessibility", "Tags", "Delivery notes"}

// exportSQL flattens each contact to one row: the first email, mobile and other phone
// (lowest id), their current consent for the topic (consent.Joins: one index probe per
// point, so the plan doesn't hinge on statistics a fresh import hasn't given yet), and
// the household's address.
var exportSQL = `
SELECT c.id, c.first_name, c.last_name,
       coalesce(em.value, '') AS email, coalesce(em.status, '') AS email_status, coalesce(` + consent.Status("emc") + `, '') AS email_consent,
       coalesce(mob.value, '') AS mobile, coalesce(mob.status, '') AS mobile_status, coalesce(` + consent.Status("mobc") + `, '') AS sms_consent,
       coalesce(ph.value, '') AS phone,
       coalesce(a.flat, '') AS flat, coalesce(a.house_number, '') AS house_number, coalesce(a.street, '') AS street,
       coalesce(a.town, '') AS town, coalesce(a.postcode, '') AS postcode, c.ward,
       coalesce(` + consent.Status("postc") + `, '') AS post_consent,
       c.preferred_language, c.large_print, array_to_string(c.accessibility_needs, ';') AS accessibility,
       array_to_string(c.tags, ';') AS tags, coalesce(a.delivery_notes, '') AS delivery_notes
  FROM contacts c
  LEFT JOIN households h ON h.id = c.household_id
  LEFT JOIN addresses a ON a.id = h.address_id
  LEFT JOIN LATERAL (SELECT id, value, status FROM contact_points
                      WHERE contact_id = c.id AND kind = 'email' ORDER BY id LIMIT 1) em ON true
` + consent.Joins("em.id", "$1", "emc") + `
  LEFT JOIN LATERAL (SELECT id, value, status FROM contact_points
                      WHERE contact_id = c.id AND kind = 'phone' AND phone_type <> 'landline' ORDER BY id LIMIT 1) mob ON true
` + consent.Joins("mob.id", "$1", "mobc") + `
  LEFT JOIN LATERAL (SELECT value FROM contact_points
                      WHERE contact_id = c.id AND kind = 'phone' AND phone_type = 'landline' ORDER BY id LIMIT 1) ph ON true
  LEFT JOIN LATERAL (SELECT id FROM contact_points
                      WHERE contact_id = c.id AND kind = 'postal' AND address_id = a.id LIMIT 1) post ON true
` + consent.Joins("post.id", "$1", "postc") + `
 ORDER BY c.id`

type exportRow struct {
	ID            int64  `db:"id"`
	FirstName     string `db:"first_name"`
	LastName      string `db:"last_name"`
	Email         string `db:"email"`
	EmailStatus   string `db:"email_status"`
	EmailConsent  string `db:"email_consent"`
	Mobile        string `db:"mobile"`
	MobileStatus  string `db:"mobile_status"`
	SMSConsent    string `db:"sms_consent"`
	Phone         string `db:"phone"`
	Flat          string `db:"flat"`
	HouseNumber   string `db:"house_number"`
	Street        string `db:"street"`
	Town          string `db:"town"`
	Postcode      string `db:"postcode"`
	Ward          string `db:"ward"`
	PostConsent   string `db:"post_consent"`
	Language      string `db:"preferred_language"`
	LargePrint    bool   `db:"large_print"`
	Accessibility string `db:"accessibility"`
	Tags          string `db:"tags"`
	DeliveryNotes string `db:"delivery_notes"`
}

// Export writes every contact as CSV with the current consent state for topic. Cells that
// a spreadsheet would run as a formula are neutralised. It returns the number of rows.
func (s *Store) Export(ctx context.Context, w io.Writer, topic string) (int, error) {
	if topic == "" {
		topic = "general"
	}
	var topicID int64
	if err := s.db.GetContext(ctx, &topicID, `SELECT id FROM topics WHERE slug = $1`, topic); err != nil {
		return 0, fmt.Errorf("topic %q: %w", topic, notFound(err))
	}
	// One read-only transaction, without JIT: the plan's cost estimate is high enough to
	// trigger it, and compiling cost a fifth of a 20,000-row export.
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, fmt.Errorf("export contacts: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off`); err != nil {
		return 0, fmt.Errorf("export contacts: %w", err)
	}
	rows, err := tx.QueryxContext(ctx, exportSQL, topicID)
	if err != nil {
		return 0, fmt.Errorf("export contacts: %w", err)
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	if err := cw.Write(ExportHeader); err != nil {
		return 0, err
	}
	n := 0
	consent := map[string]string{"granted": "yes", "withdrawn": "no", "": ""}
	for rows.Next() {
		var r exportRow
		if err := rows.StructScan(&r); err != nil {
			return n, fmt.Errorf("export contacts: %w", err)
		}
		large := "no"
		if r.LargePrint {
			large = "yes"
		}
		rec := []string{fmt.Sprint(r.ID), r.FirstName, r.LastName, r.Email, r.EmailStatus, consent[r.EmailConsent],
			r.Mobile, r.MobileStatus, consent[r.SMSConsent], r.Phone, r.Flat, r.HouseNumber, r.Street, r.Town,
			r.Postcode, r.Ward, consent[r.PostConsent], r.Language, large, r.Accessibility, r.Tags, r.DeliveryNotes}
		if err := cw.Write(neutraliseAll(rec)); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("export contacts: %w", err)
	}
	cw.Flush()
	return n, cw.Error()
}

// Neutralise stops a spreadsheet from running a cell as a formula (CSV injection): a
// cell starting with =, +, -, @, tab or carriage return gets a leading apostrophe, which
// Excel and LibreOffice show as text. The importer strips that apostrophe again, so an
// export re-imports cleanly (E.164 numbers such as '+447700900123 included).
func Neutralise(s string) string {
	if s != "" && strings.ContainsRune(formulaStarts, rune(s[0])) {
		return "'" + s
	}
	return s
}

const formulaStarts = "=+-@\t\r"

func neutraliseAll(rec []string) []string {
	out := make([]string, len(rec))
	for i, v := range rec {
		out[i] = Neutralise(v)
	}
	return out
}
