package audit_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/db/dbtest"
)

func TestRecordListAndFilters(t *testing.T) {
	d := dbtest.New(t)
	ctx := t.Context()
	id := int64(7)
	for _, e := range []audit.Entry{
		{ActorID: &id, Actor: "jo@council.example", Action: audit.SignIn, SubjectType: "user", SubjectID: "7", Client: "192.0.2.1"},
		{Actor: "cli:ops", Action: audit.ContactsExport, SubjectType: "contacts", Detail: map[string]any{"rows": 3, "topic": "general"}},
		{ActorID: &id, Actor: "jo@council.example", Action: audit.CampaignPause, SubjectType: "campaign", SubjectID: "1"},
	} {
		if err := audit.Record(ctx, d, e); err != nil {
			t.Fatal(err)
		}
	}
	all, err := audit.List(ctx, d, audit.Filter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("all: %v %v", all, err)
	}
	if all[0].Action != audit.CampaignPause || all[2].Action != audit.SignIn {
		t.Errorf("not newest first: %s … %s", all[0].Action, all[2].Action)
	}
	if got := all[1].DetailText(); got != "rows=3 topic=general" {
		t.Errorf("detail text: %q", got)
	}
	for _, tc := range []struct {
		name string
		f    audit.Filter
		want int
	}{
		{"action", audit.Filter{Action: audit.SignIn}, 1},
		{"actor, any case", audit.Filter{Actor: "JO@"}, 2},
		{"cli", audit.Filter{Actor: "cli:"}, 1},
		{"before (next page)", audit.Filter{Before: all[0].ID}, 2},
		{"limit", audit.Filter{Limit: 1}, 1},
		{"since later", audit.Filter{Since: time.Now().Add(time.Hour)}, 0},
		{"since earlier", audit.Filter{Since: time.Now().Add(-time.Hour)}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := audit.List(ctx, d, tc.f)
			if err != nil || len(got) != tc.want {
				t.Errorf("%d entries (%v), want %d", len(got), err, tc.want)
			}
		})
	}
	if err := audit.Record(ctx, d, audit.Entry{Action: audit.SignIn}); err == nil {
		t.Error("an entry without an actor was recorded")
	}

	var b bytes.Buffer
	if err := audit.WriteCSV(&b, all); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 4 || recs[0][4] != "action" || recs[3][3] != "jo@council.example" || recs[2][7] != `{"rows":3,"topic":"general"}` {
		t.Errorf("csv: %q %v", recs, err)
	}
}

// TestAppendOnly: the database refuses to change or remove an entry, whoever asks.
func TestAppendOnly(t *testing.T) {
	d := dbtest.New(t)
	ctx := t.Context()
	if err := audit.Record(ctx, d, audit.Entry{Actor: "cli:ops", Action: audit.ContactsExport}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE audit_log SET actor = 'someone else'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
	} {
		_, err := d.ExecContext(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", q, err)
		}
	}
	var actor string
	if err := d.GetContext(ctx, &actor, `SELECT actor FROM audit_log`); err != nil || actor != "cli:ops" {
		t.Errorf("entry after the attempts: %q %v", actor, err)
	}
}

// TestRecordInTransaction: an entry recorded in the action's transaction goes with it.
func TestRecordInTransaction(t *testing.T) {
	d := dbtest.New(t)
	ctx := t.Context()
	tx, err := d.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.Record(ctx, tx, audit.Entry{Actor: "cli:ops", Action: audit.UserDisable}); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	var n int
	if err := d.GetContext(ctx, &n, `SELECT count(*) FROM audit_log`); err != nil || n != 0 {
		t.Errorf("entries after rollback: %d %v", n, err)
	}
}
