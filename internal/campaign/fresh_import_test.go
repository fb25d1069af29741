package campaign_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/segment"
)

// TestFirstQueriesAfterAnImport: import into a fresh database whose tables autovacuum
// never analyses, then at once do what an officer does next — export, count a segment,
// send a campaign — each under a statement timeout. The planner must not be left with
// no statistics (it planned the first export as if the tables were empty, and it ran
// for minutes).
func TestFirstQueriesAfterAnImport(t *testing.T) {
	ctx := context.Background()
	name, dsn := dbtest.NewURL(t)
	d, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	for _, tbl := range []string{"contacts", "contact_points", "consents", "addresses", "households", "outbox"} {
		if _, err := d.Exec(fmt.Sprintf(`ALTER TABLE %s SET (autovacuum_enabled = false)`, tbl)); err != nil {
			t.Fatal(err)
		}
	}

	// The shape of a council mailing list export: one name column and split names,
	// an email consent column, no addresses.
	const rows = 20000
	var csv bytes.Buffer
	csv.WriteString("email,name,first_name,last_name,email_consent\r\n")
	first := []string{"Siân", "Zoë", "Renée", "Mohammed", "Łukasz", "Aoife", "Jo"}
	last := []string{"O'Brien", "Kavanagh", "Nowak", "Patel", "Huws", "Adebayo"}
	for i := range rows {
		f, l := first[i%len(first)], last[i%len(last)]
		consent := []string{"Yes", "no", "Y", "", "TRUE"}[i%5]
		fmt.Fprintf(&csv, "resident%d@example.org,\"%s %s\",%s,%s,%s\r\n", i, f, l, f, l, consent)
	}
	path := filepath.Join(t.TempDir(), "mailing-list.csv")
	if err := os.WriteFile(path, csv.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := contact.NewStore(d, nil).Import(ctx, contact.ImportOptions{Path: path, Actor: "test"}); err != nil {
		t.Fatal(err)
	}

	// From here on every statement has 5 s (new connections take the setting).
	if _, err := d.Exec(fmt.Sprintf(`ALTER DATABASE %q SET statement_timeout = '5s'`, name)); err != nil {
		t.Fatal(err)
	}
	d.SetMaxIdleConns(0)

	t0 := time.Now()
	if _, err := contact.NewStore(d, nil).Export(ctx, io.Discard, contact.ExportOptions{Topic: "general"}); err != nil {
		t.Fatalf("export right after the import: %v", err)
	}
	t.Logf("export %v", time.Since(t0))

	rule := segment.Rule{Field: "reachable", Op: "by", Value: "email"}
	t0 = time.Now()
	n, err := segment.NewStore(d).Count(ctx, rule, "general", segment.PurposeMarketing)
	if err != nil {
		t.Fatalf("count right after the import: %v", err)
	}
	t.Logf("count %v", time.Since(t0))
	if want := rows * 3 / 5; n.Email != want { // Yes, Y and TRUE
		t.Errorf("%d reachable by email for marketing, want %d", n.Email, want)
	}

	cs := campaign.NewStore(d, nil)
	segs := segment.NewStore(d)
	seg, err := segs.Create(ctx, "Reachable by email", "", rule, "test")
	if err != nil {
		t.Fatal(err)
	}
	c := &campaign.Campaign{Name: "Newsletter", Purpose: "marketing", SegmentID: &seg.ID, ChannelOrder: []string{"email"},
		EmailSubject: "News", EmailBody: "Hello {{first_name}}."}
	if err := cs.Create(ctx, c, "general", "test"); err != nil {
		t.Fatal(err)
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "test", nil); err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	if _, err := cs.StartDue(ctx, time.Now()); err != nil {
		t.Fatalf("snapshot right after the import: %v", err)
	}
	t.Logf("snapshot %v", time.Since(t0))
	var pending int
	if err := d.Get(&pending, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'pending'`, c.ID); err != nil {
		t.Fatal(err)
	}
	if pending != rows*3/5 {
		t.Errorf("%d e-bulletins queued, want %d", pending, rows*3/5)
	}
}
