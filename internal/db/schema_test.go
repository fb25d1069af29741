package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/db/dbtest"
)

func pqCode(err error) string {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return string(pe.Code)
	}
	return ""
}

// seed makes one contact with an email point and a consent, returning their ids.
func seed(t *testing.T, d *sqlx.DB) (contactID, pointID int64) {
	t.Helper()
	if err := d.Get(&contactID, `INSERT INTO contacts (first_name) VALUES ('Ada') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	if err := d.Get(&pointID, `INSERT INTO contact_points (contact_id, kind, value) VALUES ($1, 'email', 'ada@example.org') RETURNING id`, contactID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`INSERT INTO consents (contact_point_id, topic_id, status, source)
		SELECT $1, id, 'granted', 'test' FROM topics WHERE slug = 'general'`, pointID); err != nil {
		t.Fatal(err)
	}
	return contactID, pointID
}

func TestStatementLevelReferentialIntegrity(t *testing.T) {
	d := dbtest.New(t)
	contactID, pointID := seed(t, d)

	cases := []struct {
		name, sql string
		args      []any
		code      string
	}{
		{"point for a missing contact", `INSERT INTO contact_points (contact_id, kind, value) VALUES (999999, 'email', 'x@example.org')`, nil, "23503"},
		{"point moved to a missing contact", `UPDATE contact_points SET contact_id = 999999 WHERE id = $1`, []any{pointID}, "23503"},
		{"postal point at a missing address", `INSERT INTO contact_points (contact_id, kind, address_id) VALUES ($1, 'postal', 424242)`, []any{contactID}, "23503"},
		{"consent for a missing point", `INSERT INTO consents (contact_point_id, topic_id, status, source) SELECT 999999, id, 'granted', 't' FROM topics`, nil, "23503"},
		{"consent for a missing topic", `INSERT INTO consents (contact_point_id, topic_id, status, source) VALUES ($1, 999999, 'granted', 't')`, []any{pointID}, "23503"},
		{"consent rewritten", `UPDATE consents SET status = 'withdrawn'`, nil, "P0001"},
		{"topic with consents deleted", `DELETE FROM topics WHERE slug = 'general'`, nil, "23503"},
		{"contact in a missing household", `UPDATE contacts SET household_id = 777 WHERE id = $1`, []any{contactID}, "23503"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Exec(tc.sql, tc.args...)
			if got := pqCode(err); got != tc.code {
				t.Fatalf("error %v (code %q), want code %s", err, got, tc.code)
			}
		})
	}

	// Texts: a conversation for a missing contact, a message in a missing conversation.
	for _, q := range []string{`INSERT INTO conversations (phone, contact_id) VALUES ('+447700900001', 999999)`,
		`INSERT INTO sms_messages (conversation_id, direction, body) VALUES (999999, 'in', 'hi')`} {
		if _, err := d.Exec(q); pqCode(err) != "23503" {
			t.Errorf("%s: %v, want a foreign key violation", q, err)
		}
	}
	if _, err := d.Exec(`WITH c AS (INSERT INTO conversations (phone, contact_id) VALUES ('+447700900002', $1) RETURNING id)
		INSERT INTO sms_messages (conversation_id, direction, body) SELECT id, 'in', 'hi' FROM c`, contactID); err != nil {
		t.Fatal(err)
	}

	// Deleting a contact cascades to its points, their consent history and its texts.
	if _, err := d.Exec(`DELETE FROM contacts WHERE id = $1`, contactID); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := d.Get(&left, `SELECT (SELECT count(*) FROM contact_points) + (SELECT count(*) FROM consents)
		+ (SELECT count(*) FROM conversations) + (SELECT count(*) FROM sms_messages)`); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d points/consents/texts left after deleting their contact", left)
	}
}

// waitBlocked returns once the backend running query-prefix is waiting on a lock.
func waitBlocked(t *testing.T, d *sqlx.DB, like string) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var n int
		if err := d.Get(&n, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`, like); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("no backend blocked on %q", like)
		case <-tick.C:
		}
	}
}

// TestDeleteRacesInsertLeavesNoOrphan covers what a row lock gives a real foreign key:
// a contact deleted while another transaction adds a contact point to it.
func TestDeleteRacesInsertLeavesNoOrphan(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)

	t.Run("insert first, delete waits and cascades", func(t *testing.T) {
		contactID, _ := seed(t, d)
		tx, err := d.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec(`INSERT INTO contact_points (contact_id, kind, value, phone_type) VALUES ($1, 'phone', '+447700900555', 'mobile')`, contactID); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := d.Exec(`DELETE FROM contacts WHERE id = $1`, contactID)
			done <- err
		}()
		waitBlocked(t, d, "DELETE FROM contacts%")
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		var orphans int
		if err := d.Get(&orphans, `SELECT count(*) FROM contact_points p WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = p.contact_id)`); err != nil {
			t.Fatal(err)
		}
		if orphans != 0 {
			t.Fatalf("%d orphaned contact points", orphans)
		}
	})

	t.Run("delete first, insert waits and is refused", func(t *testing.T) {
		contactID, _ := seed(t, d)
		tx, err := d.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec(`DELETE FROM contacts WHERE id = $1`, contactID); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := d.Exec(`INSERT INTO contact_points (contact_id, kind, value, phone_type) VALUES ($1, 'phone', '+447700900556', 'mobile')`, contactID)
			done <- err
		}()
		waitBlocked(t, d, "INSERT INTO contact_points%")
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; pqCode(err) != "23503" {
			t.Fatalf("insert after concurrent delete: %v, want foreign_key_violation", err)
		}
	})
}
