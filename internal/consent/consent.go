// Package consent is the one owner of residents' consent: every grant and withdrawal in
// Crier is recorded here, and every query that asks "may we send this" reads it through
// Joins and Status. Nothing else writes the consents table.
//
// Consent is append-only history per contact point (an email address, a mobile, a
// door) and topic, each row naming its source and time. The rules (model.go has them as
// a pure model, which the tests hold the real code to):
//
//   - A decision is about one topic, or about every topic on the point, now and later
//     (unsubscribe from everything: a channel-wide withdrawal).
//   - STOP (a text, the provider's OptOutType, Twilio 21610) withdraws every topic on the
//     number while it stands; START lifts exactly that, so what stood before the STOP
//     stands again. START never grants what the resident had not granted.
//   - Otherwise the latest of a topic's own decisions and the channel-wide withdrawals
//     holds. No decision on record: service notices may go, marketing may not (PECR).
//   - An import's "yes" grants only where nothing is on record: it never overrides a
//     withdrawal, which only the person can undo. An import's "no" withdraws a grant.
//   - A resident's own choice (the preference centre, sign-up, an unsubscribe link) is
//     recorded when it changes what stands.
package consent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The two statuses a decision records. "" means nothing is on record.
const (
	Granted   = "granted"
	Withdrawn = "withdrawn"
)

// Source says who or what made a decision. Name is the consents.source column ("web",
// "SMS STOP", "import residents.csv row 14", "provider reports opt-out: …"); Detail
// the page or circumstance ("preference centre", "one-click unsubscribe from the
// email"). Neither may hold personal data: they are shown to officers and kept for ever.
type Source struct {
	Name     string
	Detail   string
	ImportID int64 // the import that recorded it, if any
}

func (s Source) check() error {
	if strings.TrimSpace(s.Name) == "" {
		return errors.New("a consent decision needs a source")
	}
	return nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Joins returns the SQL joins that find the current consent of contact point point
// (an SQL expression, e.g. "cp.id") for topic (an expression or placeholder); Status
// (with the same alias) is then its status: 'granted', 'withdrawn' or NULL.
//
// The topic's own latest row is one index probe per point (LATERAL … LIMIT 1 on
// consents_point_topic_idx), whatever the planner knows of the table's size; the
// channel-wide rows are few and are hashed once (or probed, for a single point).
func Joins(point, topic, alias string) string {
	return fmt.Sprintf(`
  LEFT JOIN LATERAL (SELECT k.status, k.recorded_at, k.id FROM consents k
                      WHERE k.contact_point_id = %[1]s AND k.topic_id = %[2]s
                      ORDER BY k.recorded_at DESC, k.id DESC LIMIT 1) %[3]s_t ON true
  LEFT JOIN consent_wide %[3]s_w ON %[3]s_w.contact_point_id = %[1]s`, point, topic, alias)
}

// Status is the current status of the consent found by Joins under alias.
func Status(alias string) string {
	return fmt.Sprintf(`(CASE WHEN %[1]s_w.stopped THEN 'withdrawn'
       WHEN %[1]s_w.all_at IS NOT NULL AND (%[1]s_t.recorded_at IS NULL OR (%[1]s_w.all_at, %[1]s_w.all_id) > (%[1]s_t.recorded_at, %[1]s_t.id)) THEN 'withdrawn'
       ELSE %[1]s_t.status END)`, alias)
}

// StatusOf returns the current status of one point's consent for one topic ("" for
// nothing on record).
func StatusOf(ctx context.Context, q sqlx.QueryerContext, point, topic int64) (string, error) {
	var st string
	err := sqlx.GetContext(ctx, q, &st, `SELECT coalesce(`+Status("c")+`, '') FROM contact_points cp`+
		Joins("cp.id", "$2", "c")+` WHERE cp.id = $1`, point, topic)
	if err != nil {
		return "", fmt.Errorf("consent of point %d for topic %d: %w", point, topic, err)
	}
	return st, nil
}

// Change is one decision about one topic on one contact point.
type Change struct {
	Point, Topic int64
	Status       string // Granted or Withdrawn
}

// recordSQL appends the changes that alter what stands: a grant where the topic is not
// granted now, a withdrawal where it is not withdrawn now. (A grant on a STOPped number
// is kept but has no effect until the resident texts START.)
var recordSQL = `
WITH v AS (SELECT DISTINCT ON (p, t) p, t, s FROM unnest($1::bigint[], $2::bigint[], $3::text[]) WITH ORDINALITY AS v(p, t, s, n)
            ORDER BY p, t, n DESC),
cur AS (SELECT v.p, v.t, v.s, ` + Status("c") + ` AS now FROM v` + Joins("v.p", "v.t", "c") + `),
ins AS (
    INSERT INTO consents (contact_point_id, topic_id, status, source, detail, import_id)
    SELECT p, t, s, $4, $5, $6 FROM cur WHERE now IS DISTINCT FROM s ORDER BY p, t
    RETURNING 1)
SELECT count(*) FROM ins`

// Record appends a resident's or an officer's own decisions, each only where it changes
// what stands now, and returns how many it recorded. The last of several changes to one
// (point, topic) wins.
func Record(ctx context.Context, q sqlx.QueryerContext, changes []Change, src Source) (int, error) {
	if err := src.check(); err != nil {
		return 0, fmt.Errorf("record consent: %w", err)
	}
	if len(changes) == 0 {
		return 0, nil
	}
	points, topics, statuses := make([]int64, len(changes)), make([]int64, len(changes)), make([]string, len(changes))
	for i, c := range changes {
		if c.Status != Granted && c.Status != Withdrawn {
			return 0, fmt.Errorf("record consent: status %q must be %s or %s", c.Status, Granted, Withdrawn)
		}
		points[i], topics[i], statuses[i] = c.Point, c.Topic, c.Status
	}
	var n int
	if err := sqlx.GetContext(ctx, q, &n, recordSQL, pq.Array(points), pq.Array(topics), pq.Array(statuses),
		src.Name, src.Detail, nullID(src.ImportID)); err != nil {
		return 0, fmt.Errorf("record consent: %w", err)
	}
	return n, nil
}

// withdrawAllSQL records a channel-wide withdrawal on each point unless one already
// stands with nothing granted since (the latest row of the point is such a withdrawal).
const withdrawAllSQL = `
WITH p AS (SELECT DISTINCT unnest($1::bigint[]) AS id),
ins AS (
    INSERT INTO consents (contact_point_id, topic_id, status, source, detail)
    SELECT p.id, NULL, 'withdrawn', $2, $3 FROM p
     WHERE NOT EXISTS (SELECT 1 FROM (SELECT k.topic_id, k.status, k.keyword FROM consents k WHERE k.contact_point_id = p.id
                                       ORDER BY k.recorded_at DESC, k.id DESC LIMIT 1) l
                        WHERE l.topic_id IS NULL AND l.keyword = '')
     ORDER BY p.id
    RETURNING 1)
SELECT count(*) FROM ins`

// WithdrawAll records "unsubscribe from everything" on each point: every topic,
// including topics created later, is withdrawn until the resident grants one again.
func WithdrawAll(ctx context.Context, q sqlx.QueryerContext, points []int64, src Source) (int, error) {
	if err := src.check(); err != nil {
		return 0, fmt.Errorf("withdraw from everything: %w", err)
	}
	var n int
	if err := sqlx.GetContext(ctx, q, &n, withdrawAllSQL, pq.Array(points), src.Name, src.Detail); err != nil {
		return 0, fmt.Errorf("withdraw from everything: %w", err)
	}
	return n, nil
}

// stopSQL records a STOP on each point not STOPped already, and marks the number opted
// out (the network blocks texts to it until START).
const stopSQL = `
WITH p AS (SELECT DISTINCT unnest($1::bigint[]) AS id),
ins AS (
    INSERT INTO consents (contact_point_id, topic_id, status, source, detail, keyword)
    SELECT p.id, NULL, 'withdrawn', $2, $3, 'stop' FROM p
      LEFT JOIN consent_wide w ON w.contact_point_id = p.id
     WHERE NOT coalesce(w.stopped, false)
     ORDER BY p.id
    RETURNING 1),
st AS (
    UPDATE contact_points SET status = 'opted_out', status_reason = $2, updated_at = now()
     WHERE id IN (SELECT id FROM p) AND status = 'active')
SELECT count(*) FROM ins`

// Stop records a STOP: the resident's withdrawal from every topic on these numbers, and
// the numbers marked opted out. Points STOPped already record nothing new.
func Stop(ctx context.Context, q sqlx.QueryerContext, points []int64, src Source) (int, error) {
	if err := src.check(); err != nil {
		return 0, fmt.Errorf("record STOP: %w", err)
	}
	var n int
	if err := sqlx.GetContext(ctx, q, &n, stopSQL, pq.Array(points), src.Name, src.Detail); err != nil {
		return 0, fmt.Errorf("record STOP: %w", err)
	}
	return n, nil
}

// startSQL records a START on each STOPped point and reopens numbers marked opted out.
const startSQL = `
WITH p AS (SELECT DISTINCT unnest($1::bigint[]) AS id),
ins AS (
    INSERT INTO consents (contact_point_id, topic_id, status, source, detail, keyword)
    SELECT p.id, NULL, 'granted', $2, $3, 'start' FROM p
      JOIN consent_wide w ON w.contact_point_id = p.id
     WHERE w.stopped
     ORDER BY p.id
    RETURNING 1),
st AS (
    UPDATE contact_points SET status = 'active', status_reason = $2, updated_at = now()
     WHERE id IN (SELECT id FROM p) AND status = 'opted_out')
SELECT count(*) FROM ins`

// Start lifts a STOP: what stood before it stands again (nothing more), and a number
// marked opted out is reopened.
func Start(ctx context.Context, q sqlx.QueryerContext, points []int64, src Source) (int, error) {
	if err := src.check(); err != nil {
		return 0, fmt.Errorf("record START: %w", err)
	}
	var n int
	if err := sqlx.GetContext(ctx, q, &n, startSQL, pq.Array(points), src.Name, src.Detail); err != nil {
		return 0, fmt.Errorf("record START: %w", err)
	}
	return n, nil
}

// ImportCounts is what ApplyImport did.
type ImportCounts struct {
	Granted   int `db:"granted"`
	Withdrawn int `db:"withdrawn"`
	Kept      int `db:"kept"` // "yes" cells ignored because the person had withdrawn
}

// applyImportSQL applies an import's consent cells, read from a table of (point_id,
// granted, line, fresh): a "yes" grants only where nothing is on record, a "no" withdraws
// only a standing grant. %s is the table's name. A fresh point (created by the import's
// own transaction) has nothing on record: it is not looked up (on a first import of a
// million rows, that is three million index probes that find nothing).
const applyImportSQL = `
WITH decided AS (
    SELECT ic.point_id, ic.granted, ic.line, ` + "%[2]s" + ` AS current
      FROM %[1]s ic` + "%[3]s" + `
     WHERE NOT ic.fresh
    UNION ALL
    SELECT ic.point_id, ic.granted, ic.line, NULL
      FROM %[1]s ic
     WHERE ic.fresh
), ins AS (
    INSERT INTO consents (contact_point_id, topic_id, status, source, import_id)
    SELECT point_id, $1, CASE WHEN granted THEN 'granted' ELSE 'withdrawn' END, $2 || line, $3
      FROM decided
     WHERE (granted AND current IS NULL) OR (NOT granted AND current = 'granted')
    RETURNING status
)
SELECT (SELECT count(*) FROM ins WHERE status = 'granted') AS granted,
       (SELECT count(*) FROM ins WHERE status = 'withdrawn') AS withdrawn,
       (SELECT count(*) FROM decided WHERE granted AND current = 'withdrawn') AS kept`

// ApplyImport applies the consent cells of an import, set-based, from table (a
// temporary table with columns point_id bigint, granted boolean, line int, fresh
// boolean) for topic. fresh says the point was created in the caller's transaction, so
// nothing about it can be on record yet.
// Each row's source is sourcePrefix followed by its line ("import residents.csv row ").
func ApplyImport(ctx context.Context, tx *sqlx.Tx, table string, topic, importID int64, sourcePrefix string) (ImportCounts, error) {
	var c ImportCounts
	q := fmt.Sprintf(applyImportSQL, pq.QuoteIdentifier(table), Status("c"), Joins("ic.point_id", "$1", "c"))
	if err := tx.GetContext(ctx, &c, q, topic, sourcePrefix, nullID(importID)); err != nil {
		return c, fmt.Errorf("record consents: %w", err)
	}
	return c, nil
}
