package contact

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/crierhq/crier/internal/consent"
)

// ExportHeader is the fixed part of the header `crier contacts export` writes; one column
// per free attribute follows it (see attrHeader). An export re-imports cleanly: "Crier ID"
// and the two status columns are ignored by the importer, every other column feeds the
// field it came from.
var ExportHeader = []string{"Crier ID", "First name", "Surname", "Email", "Email status", "Email consent",
	"Mobile", "Mobile status", "SMS consent", "Phone", "Flat", "House number", "Street", "Town", "Postcode",
	"UPRN", "Ward", "Post consent", "Preferred language", "Large print", "Accessibility", "Tags", "Delivery notes"}

// exportSQL flattens each contact to one row: the first email, mobile and other phone
// (lowest id), their current consent for the topic (consent.Joins: one index probe per
// point, so the plan doesn't hinge on statistics a fresh import hasn't given yet), and
// the household's address. topic is the placeholder of the topic's id; where, a
// condition on contacts c (fixed text: "true" for everyone, or a search's condition,
// whose placeholders come before topic's).
func exportSQL(topic, where string) string {
	return `
SELECT c.id, c.first_name, c.last_name,
       coalesce(em.value, '') AS email, coalesce(em.status, '') AS email_status, coalesce(` + consent.Status("emc") + `, '') AS email_consent,
       coalesce(mob.value, '') AS mobile, coalesce(mob.status, '') AS mobile_status, coalesce(` + consent.Status("mobc") + `, '') AS sms_consent,
       coalesce(ph.value, '') AS phone,
       coalesce(a.flat, '') AS flat, coalesce(a.house_number, '') AS house_number, coalesce(a.street, '') AS street,
       coalesce(a.town, '') AS town, coalesce(a.postcode, '') AS postcode,
       coalesce(a.uprn, '') AS uprn, c.ward,
       coalesce(` + consent.Status("postc") + `, '') AS post_consent,
       c.preferred_language, c.large_print, array_to_string(c.accessibility_needs, ';') AS accessibility,
       array_to_string(c.tags, ';') AS tags, coalesce(a.delivery_notes, '') AS delivery_notes,
       c.attributes
  FROM contacts c
  LEFT JOIN households h ON h.id = c.household_id
  LEFT JOIN addresses a ON a.id = h.address_id
  LEFT JOIN LATERAL (SELECT id, value, status FROM contact_points
                      WHERE contact_id = c.id AND kind = 'email' ORDER BY id LIMIT 1) em ON true
` + consent.Joins("em.id", topic, "emc") + `
  LEFT JOIN LATERAL (SELECT id, value, status FROM contact_points
                      WHERE contact_id = c.id AND kind = 'phone' AND phone_type <> 'landline' ORDER BY id LIMIT 1) mob ON true
` + consent.Joins("mob.id", topic, "mobc") + `
  LEFT JOIN LATERAL (SELECT value FROM contact_points
                      WHERE contact_id = c.id AND kind = 'phone' AND phone_type = 'landline' ORDER BY id LIMIT 1) ph ON true
  LEFT JOIN LATERAL (SELECT id FROM contact_points
                      WHERE contact_id = c.id AND kind = 'postal' AND address_id = a.id LIMIT 1) post ON true
` + consent.Joins("post.id", topic, "postc") + `
 WHERE ` + where + `
 ORDER BY c.id`
}

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
	UPRN          string `db:"uprn"`
	Ward          string `db:"ward"`
	PostConsent   string `db:"post_consent"`
	Language      string `db:"preferred_language"`
	LargePrint    bool   `db:"large_print"`
	Accessibility string `db:"accessibility"`
	Tags          string `db:"tags"`
	DeliveryNotes string `db:"delivery_notes"`
	Attributes    []byte `db:"attributes"`
}

// ExportOptions say what an export writes.
type ExportOptions struct {
	Topic  string // whose consent state is exported; default "general"
	Region string // phone numbers of this country are written in national format; default "GB"
	NoBOM  bool   // leave out the UTF-8 byte-order mark (Excel needs it to read UTF-8)
	// Filter, when set, exports only the contacts this search finds (its query and
	// channel; its sort is ignored: an export is in id order). Nil exports everyone.
	Filter *SearchQuery
}

// attrKeysSQL lists the free attributes in use, one column each. It runs in the same
// snapshot as exportSQL, so no row holds a key the header lacks.
const attrKeysSQL = `
SELECT DISTINCT k FROM contacts c CROSS JOIN LATERAL jsonb_object_keys(c.attributes) k
 WHERE c.attributes <> '{}' ORDER BY k`

// Export writes every contact as CSV with the current consent state for opts.Topic, and
// their free attributes, so that importing the file changes nothing. The file starts with
// a UTF-8 byte-order mark unless opts.NoBOM. Cells are written so that Excel and
// LibreOffice open them as text and run nothing (see exportCell). It returns the number
// of rows.
func (s *Store) Export(ctx context.Context, w io.Writer, opts ExportOptions) (int, error) {
	if opts.Topic == "" {
		opts.Topic = "general"
	}
	if opts.Region == "" {
		opts.Region = "GB"
	}
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return 0, fmt.Errorf("export contacts: %w", err)
	}
	defer tx.Rollback()
	var topicID int64
	if err := tx.GetContext(ctx, &topicID, `SELECT id FROM topics WHERE slug = $1`, opts.Topic); err != nil {
		return 0, fmt.Errorf("topic %q: %w", opts.Topic, notFound(err))
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off`); err != nil { // compiling cost a fifth of a 20,000-row export
		return 0, fmt.Errorf("export contacts: %w", err)
	}
	var keys []string
	if err := tx.SelectContext(ctx, &keys, attrKeysSQL); err != nil {
		return 0, fmt.Errorf("export attributes: %w", err)
	}
	query, args := exportSQL("$1", "true"), []any{topicID}
	if f := opts.Filter; f != nil {
		where := f.where
		if f.Channel != "" {
			cond, ok := searchChannels[f.Channel]
			if !ok {
				return 0, fmt.Errorf("export contacts on %q: %w", f.Channel, ErrUnknownSort)
			}
			where = "(" + where + ") AND " + cond
		}
		args = append(slices.Clone(f.args), topicID)
		query = exportSQL(fmt.Sprintf("$%d", len(args)), where)
	}
	rows, err := tx.QueryxContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("export contacts: %w", err)
	}
	defer rows.Close()
	if !opts.NoBOM {
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return 0, err
		}
	}
	cw := &quotedWriter{w: bufio.NewWriter(w)}
	header := append([]string{}, ExportHeader...)
	for _, k := range keys {
		header = append(header, attrHeader(k))
	}
	if err := cw.Write(neutraliseAll(header)); err != nil {
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
		rec := []string{fmt.Sprint(r.ID), Neutralise(r.FirstName), Neutralise(r.LastName), Neutralise(r.Email),
			r.EmailStatus, consent[r.EmailConsent],
			PhoneCell(r.Mobile, opts.Region), r.MobileStatus, consent[r.SMSConsent], PhoneCell(r.Phone, opts.Region),
			Neutralise(r.Flat), Neutralise(r.HouseNumber), Neutralise(r.Street), Neutralise(r.Town),
			Neutralise(r.Postcode), Neutralise(r.UPRN), Neutralise(r.Ward), consent[r.PostConsent], Neutralise(r.Language), large,
			Neutralise(r.Accessibility), Neutralise(r.Tags), Neutralise(r.DeliveryNotes)}
		attrs, err := attrCells(r.Attributes, keys)
		if err != nil {
			return n, fmt.Errorf("export contact %d: %w", r.ID, err)
		}
		if err := cw.Write(append(rec, attrs...)); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("export contacts: %w", err)
	}
	return n, cw.Flush()
}

// quotedWriter writes CSV with every cell quoted and CRLF line ends, as Excel does.
// encoding/csv quotes only where it must; quoting all cells lets LibreOffice's "Format
// quoted field as text" keep "007" as 007 instead of the number 7.
type quotedWriter struct {
	w   *bufio.Writer
	err error
}

func (q *quotedWriter) Write(rec []string) error {
	for i, f := range rec {
		if i > 0 {
			q.w.WriteByte(',')
		}
		q.w.WriteByte('"')
		q.w.WriteString(strings.ReplaceAll(f, `"`, `""`))
		q.err = q.w.WriteByte('"')
	}
	_, q.err = q.w.WriteString("\r\n")
	return q.err
}

func (q *quotedWriter) Flush() error {
	if q.err != nil {
		return q.err
	}
	return q.w.Flush()
}

// attrHeader names the column of free attribute k. The bare key reads best and imports
// back to the same key when the importer would not take it for one of its own fields;
// otherwise the column is "attr:KEY", which the importer reads verbatim.
func attrHeader(k string) string {
	if _, known := headerAliases[squash(k)]; !known && squash(k) != "" && attrKey(k) == k &&
		!strings.HasPrefix(k, string(FieldAttr)) {
		return k
	}
	return string(FieldAttr) + k
}

// attrCells gives the cells of one contact's attributes in the order of keys. Imports
// store text; anything else (written by hand into the database) is exported as its JSON.
func attrCells(raw []byte, keys []string) ([]string, error) {
	out := make([]string, len(keys))
	if len(keys) == 0 || len(raw) == 0 || string(raw) == "{}" {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	for i, k := range keys {
		v, ok := m[k]
		if !ok {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			s = string(v)
		}
		out[i] = Neutralise(s)
	}
	return out, nil
}

// PhoneCell writes an E.164 number so that a spreadsheet keeps it as text and a person can
// read it, and so that the importer (with the same default region) reads back the same
// number: a number of region's country in national format ("07700 900229", whose leading
// 0 and space keep it from being a number), others with the 00 international prefix
// ("0033 6 12 34 56 78": a leading + would make Excel read a formula). Failing both, the
// E.164 form behind an apostrophe ("'+1 ...").
func PhoneCell(e164, region string) string {
	if e164 == "" {
		return ""
	}
	var num phonenumbers.PhoneNumber
	if err := phonenumbers.ParseToNumber(e164, "", &num); err == nil {
		var candidates []string
		if int(num.GetCountryCode()) == phonenumbers.GetCountryCodeForRegion(strings.ToUpper(region)) {
			candidates = append(candidates, phonenumbers.Format(&num, phonenumbers.NATIONAL))
		}
		if intl := phonenumbers.Format(&num, phonenumbers.INTERNATIONAL); strings.HasPrefix(intl, "+") {
			candidates = append(candidates, "00"+intl[1:])
		}
		for _, c := range candidates {
			if safeTextNumber(c) {
				if p, err := NormalizePhone(c, region); err == nil && p.E164 == e164 {
					return c
				}
			}
		}
	}
	return Neutralise(e164)
}

// safeTextNumber says whether a spreadsheet opening c takes it as text: it starts with a
// 0 and holds a space, so it is neither a formula nor a number (nor a date).
func safeTextNumber(c string) bool {
	return strings.HasPrefix(c, "0") && strings.Contains(c, " ") &&
		strings.Trim(c, "0123456789 -") == ""
}

// Neutralise stops a spreadsheet from running a cell as a formula (CSV injection): a
// cell starting with =, +, -, @, tab or carriage return gets a leading apostrophe, which
// Excel and LibreOffice show as text. So does a cell that already starts with an
// apostrophe before one of those, so that the importer, which strips one apostrophe
// before such a character, always reads back what was exported.
func Neutralise(s string) string {
	t := strings.TrimLeft(s, "'")
	if t != "" && strings.ContainsRune(formulaStarts, rune(t[0])) {
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
