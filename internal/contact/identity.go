package contact

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Who is who. An import matches people by email, then mobile, then other phone (a
// landline only for a row with no email or mobile: a household shares it); a row
// whose keys lead to different people, or that would rename someone found only by a
// number, is a conflict: merging it would silently turn one resident into another
// ("Andrew Kavanagh became Renée O'Brien, now with two emails"). Conflicts are reported
// by line, naming the resident already on record, and handled by ImportOptions.Conflicts.

// ConflictPolicy says what an import does with a conflicting row.
type ConflictPolicy string

const (
	// ConflictsReport (the default) reports each conflict as an invalid row: nothing is
	// imported, unless SkipInvalid, which imports the rest and skips them.
	ConflictsReport ConflictPolicy = "report"
	// ConflictsSkip imports the other rows and skips the conflicting ones, listing them.
	ConflictsSkip ConflictPolicy = "skip"
	// ConflictsNew imports a conflicting row as a new person, without the email or number
	// that belongs to somebody else (those stay theirs).
	ConflictsNew ConflictPolicy = "new"
)

// ErrConflict marks an import row that would merge into, or rename, the wrong person.
var ErrConflict = errors.New("conflict")

// ParseConflictPolicy reads a --conflicts value.
func ParseConflictPolicy(s string) (ConflictPolicy, error) {
	switch p := ConflictPolicy(strings.ToLower(strings.TrimSpace(s))); p {
	case "", ConflictsReport:
		return ConflictsReport, nil
	case ConflictsSkip, ConflictsNew:
		return p, nil
	}
	return "", fmt.Errorf("conflicts %q must be report, skip or new", s)
}

// matchSQL looks up, once per import, whom each staged row's email, mobile and other
// phone belong to (by_*; a landline counts only for a row with no email and no mobile:
// a household shares it) and the contact points already on record for them (*_point,
// with the numbers' phone_type). The identity check, the dry run's list of changes and
// the merge all read import_match instead of joining contact_points again.
const matchSQL = `
SELECT r.line, e.contact_id AS by_email, m.contact_id AS by_mobile,
       CASE WHEN r.phone_type IS DISTINCT FROM 'landline' OR (r.email_key = '' AND r.mobile = '')
            THEN p.contact_id END AS by_phone,
       e.id AS email_point, m.id AS mobile_point, m.phone_type AS mobile_point_type,
       p.id AS phone_point, p.phone_type AS phone_point_type
  FROM import_rows r
  LEFT JOIN contact_points e ON r.email_key <> '' AND e.kind = 'email' AND lower(e.value) = r.email_key
  LEFT JOIN contact_points m ON r.mobile <> '' AND m.kind = 'phone' AND m.value = r.mobile
  LEFT JOIN contact_points p ON r.phone <> '' AND p.kind = 'phone' AND p.value = r.phone`

// conflictSQL finds the rows of import_rows whose keys point at different residents, or
// that were found only by a number and carry an email and a name unlike the resident's;
// and pairs of rows that give one email with different names. For each it returns the
// line, the field at fault and the resident on record (or the other line).
const conflictSQL = `
WITH m AS (
    SELECT r.line, r.email, r.mobile, r.phone, r.first_name, r.last_name, r.email_key,
           x.by_email, x.by_mobile, x.by_phone
      FROM import_rows r JOIN import_match x ON x.line = r.line
     WHERE x.by_email IS NOT NULL OR x.by_mobile IS NOT NULL OR x.by_phone IS NOT NULL
), keyed AS (
    -- The email says one person, a number another.
    SELECT m.line, CASE WHEN m.by_mobile IS NOT NULL AND m.by_mobile <> m.by_email THEN 'mobile' ELSE 'phone' END AS field,
           CASE WHEN m.by_mobile IS NOT NULL AND m.by_mobile <> m.by_email THEN m.by_mobile ELSE m.by_phone END AS other,
           0 AS other_line, 'keys' AS why
      FROM m
     WHERE m.by_email IS NOT NULL AND (m.by_mobile <> m.by_email OR m.by_phone <> m.by_email)
    UNION ALL
    -- The mobile says one person, the other phone another.
    SELECT m.line, 'phone', m.by_phone, 0, 'keys'
      FROM m WHERE m.by_email IS NULL AND m.by_mobile IS NOT NULL AND m.by_phone <> m.by_mobile
    UNION ALL
    -- A new email with somebody's number, under another name: another person.
    SELECT m.line, CASE WHEN m.by_mobile IS NOT NULL THEN 'mobile' ELSE 'phone' END,
           coalesce(m.by_mobile, m.by_phone), 0, 'name'
      FROM m JOIN contacts c ON c.id = coalesce(m.by_mobile, m.by_phone)
     WHERE m.by_email IS NULL AND m.email_key <> ''
       AND ((m.first_name <> '' AND c.first_name <> '' AND lower(m.first_name) <> lower(c.first_name))
         OR (m.last_name <> '' AND c.last_name <> '' AND lower(m.last_name) <> lower(c.last_name)))
), dup AS (
    -- One email on two rows of the file under different names.
    SELECT r.line, 'email' AS field, 0::bigint AS other, min(o.line) AS other_line, 'duplicate' AS why
      FROM import_rows r JOIN import_rows o ON o.email_key = r.email_key AND o.line <> r.line
     WHERE r.email_key <> ''
       AND lower(r.first_name || ' ' || r.last_name) <> lower(o.first_name || ' ' || o.last_name)
       AND (r.first_name <> '' OR r.last_name <> '') AND (o.first_name <> '' OR o.last_name <> '')
     GROUP BY r.line
)
SELECT k.line, k.field, k.why, k.other, k.other_line,
       coalesce(c.first_name || ' ' || c.last_name, '') AS other_name,
       CASE k.field WHEN 'mobile' THEN r.mobile WHEN 'phone' THEN r.phone ELSE r.email END AS value
  FROM ((SELECT DISTINCT ON (line) * FROM keyed ORDER BY line, why) UNION ALL (SELECT * FROM dup)) k
  JOIN import_rows r ON r.line = k.line
  LEFT JOIN contacts c ON c.id = k.other
 ORDER BY k.line`

type conflictRow struct {
	Line      int    `db:"line"`
	Field     string `db:"field"`
	Why       string `db:"why"`
	Other     int64  `db:"other"`
	OtherLine int    `db:"other_line"`
	OtherName string `db:"other_name"`
	Value     string `db:"value"`
}

// checkIdentities finds the conflicts among the staged rows and applies the policy: it
// returns them as InputErrors, and for "skip" (and "report" with SkipInvalid) removes
// those rows from the staging table, for "new" strips from them the keys that belong to
// someone else.
func checkIdentities(ctx context.Context, tx *sqlx.Tx, file string, cols []Column, opts ImportOptions) ([]*InputError, error) {
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE import_match ON COMMIT DROP AS `+matchSQL); err != nil {
		return nil, fmt.Errorf("check who is who: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `ANALYZE import_match`); err != nil {
		return nil, fmt.Errorf("check who is who: %w", err)
	}
	var rows []conflictRow
	if err := tx.SelectContext(ctx, &rows, conflictSQL); err != nil {
		return nil, fmt.Errorf("check who is who: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	col := map[string]Column{}
	for _, c := range cols {
		switch c.Field {
		case FieldEmail:
			col["email"] = c
		case FieldMobile:
			col["mobile"] = c
		case FieldPhone:
			col["phone"] = c
		}
	}
	var errs []*InputError
	var lines []int64
	var strip []int64
	var stripField []string
	for _, r := range rows {
		c := col[r.Field]
		var msg string
		switch r.Why {
		case "keys":
			msg = fmt.Sprintf("%q is resident #%d's (%s), but this row's email is another resident's", r.Value, r.Other, strings.TrimSpace(r.OtherName))
		case "name":
			msg = fmt.Sprintf("%q is resident #%d's (%s); this row has another name and a new email, so it looks like someone else",
				r.Value, r.Other, strings.TrimSpace(r.OtherName))
		case "duplicate":
			msg = fmt.Sprintf("%q is also on line %d under another name", r.Value, r.OtherLine)
		}
		errs = append(errs, &InputError{File: file, Line: r.Line, Col: c.Index + 1, Field: c.Header, Value: r.Value,
			Err: fmt.Errorf("%w: %s", ErrConflict, msg)})
		lines = append(lines, int64(r.Line))
		if r.Why != "duplicate" {
			strip, stripField = append(strip, int64(r.Line)), append(stripField, r.Field)
		}
	}
	switch {
	case opts.Conflicts == ConflictsNew:
		// Each conflicting row becomes its own person: without the number that is
		// somebody else's (matching stops there), and a duplicate email is kept by the
		// file's last row about it, as before.
		if _, err := tx.ExecContext(ctx, `
			UPDATE import_rows r SET mobile = CASE WHEN v.f = 'mobile' THEN '' ELSE r.mobile END,
			       phone = CASE WHEN v.f = 'phone' THEN '' ELSE r.phone END
			  FROM unnest($1::int[], $2::text[]) AS v(line, f) WHERE r.line = v.line`,
			pq.Array(strip), pq.Array(stripField)); err != nil {
			return nil, fmt.Errorf("check who is who: %w", err)
		}
		// Those rows are matched again without the stripped number (a landline may now
		// find the household's resident, as for any row with no email or mobile).
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_match WHERE line = ANY($1)`, pq.Array(strip)); err != nil {
			return nil, fmt.Errorf("check who is who: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO import_match `+matchSQL+` WHERE r.line = ANY($1)`, pq.Array(strip)); err != nil {
			return nil, fmt.Errorf("check who is who: %w", err)
		}
	case opts.Conflicts == ConflictsSkip || opts.SkipInvalid:
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_rows WHERE line = ANY($1)`, pq.Array(lines)); err != nil {
			return nil, fmt.Errorf("check who is who: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_match WHERE line = ANY($1)`, pq.Array(lines)); err != nil {
			return nil, fmt.Errorf("check who is who: %w", err)
		}
	}
	return errs, nil
}

// Change is what an import does to a resident already on record: their name, a new
// email, or their home. A dry run lists every one, so an officer sees each merge before
// it happens.
type Change struct {
	Line      int    `db:"line"`
	ContactID int64  `db:"contact_id"`
	What      string `db:"what"` // "name", "email" or "address"
	Was       string `db:"was"`
	Becomes   string `db:"becomes"`
}

func (c Change) String() string {
	switch c.What {
	case "email":
		return fmt.Sprintf("line %d: resident #%d gets another email address, %q", c.Line, c.ContactID, c.Becomes)
	case "address":
		return fmt.Sprintf("line %d: resident #%d moves from %q to %q", c.Line, c.ContactID, c.Was, c.Becomes)
	}
	return fmt.Sprintf("line %d: resident #%d is renamed from %q to %q", c.Line, c.ContactID, c.Was, c.Becomes)
}

// changesSQL lists, for the staged rows that match someone on record (by the merge's
// keys), the changes to that person's name, emails and home.
const changesSQL = `
WITH m AS (
    SELECT r.*, coalesce(x.by_email, x.by_mobile, x.by_phone) AS cid, x.by_email
      FROM import_rows r JOIN import_match x ON x.line = r.line
     WHERE coalesce(x.by_email, x.by_mobile, x.by_phone) IS NOT NULL
)
SELECT m.line, m.cid AS contact_id, 'name' AS what, trim(c.first_name || ' ' || c.last_name) AS was,
       trim(CASE WHEN m.first_name <> '' THEN m.first_name ELSE c.first_name END || ' ' ||
            CASE WHEN m.last_name <> '' THEN m.last_name ELSE c.last_name END) AS becomes
  FROM m JOIN contacts c ON c.id = m.cid
 WHERE (m.first_name <> '' AND m.first_name <> c.first_name) OR (m.last_name <> '' AND m.last_name <> c.last_name)
UNION ALL
SELECT m.line, m.cid, 'email', '', m.email FROM m WHERE m.email_key <> '' AND m.by_email IS NULL
UNION ALL
SELECT m.line, m.cid, 'address',
       trim(concat_ws(' ', nullif(a.flat, ''), nullif(a.house_number, ''), a.street) || ', ' || a.postcode),
       trim(concat_ws(' ', nullif(m.flat, ''), nullif(m.house_number, ''), m.street) || ', ' || m.postcode)
  FROM m JOIN contacts c ON c.id = m.cid JOIN households h ON h.id = c.household_id JOIN addresses a ON a.id = h.address_id
 WHERE m.street <> ''
   AND CASE WHEN m.uprn <> '' AND a.uprn <> '' THEN m.uprn <> a.uprn
            ELSE (a.postcode, lower(a.street), lower(a.house_number), lower(a.flat))
                 IS DISTINCT FROM (m.postcode, lower(m.street), lower(m.house_number), lower(m.flat)) END
 ORDER BY 1, 3`

// plannedChanges lists what the staged rows would change about residents on record.
func plannedChanges(ctx context.Context, tx *sqlx.Tx) ([]Change, error) {
	var out []Change
	if err := tx.SelectContext(ctx, &out, changesSQL); err != nil {
		return nil, fmt.Errorf("list changes to residents on record: %w", err)
	}
	return out, nil
}
