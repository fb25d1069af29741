package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/config"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/rights"
)

// A subject access request, an erasure and a re-import, as an officer runs them.
func TestContactsAccessEraseAndReimport(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	db := sqlxDB(t, dsn)
	dir := t.TempDir()
	file := tempFile(t, dir, "residents.csv", "First name,Surname,Email,Mobile,Postcode,Street,House number,Email consent,SMS consent\n"+
		"Ådne,Øvergård-Ó Briain,Adne.O'Briain+news@example.co.uk,07700 900731,SW2 5SG,Acre Lane,3,yes,yes\n"+
		"Mei,Chen,mei@example.org,07700 900732,SW2 5SG,Acre Lane,5,yes,yes\n")
	mustCrier(t, dsn, nil, "contacts", "import", file)
	var id int64
	if err := db.Get(&id, `SELECT contact_id FROM contact_points WHERE value = '+447700900731'`); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "access.json")
	r := crierCfg(t, dsn, nil, "contacts", "access", "--phone", "07700 900731", "--out", out)
	if r.code != cli.ExitOK {
		t.Fatalf("access: exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var x rights.Export
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatalf("access JSON: %v\n%s", err, b)
	}
	if x.Contact.ID != id || x.Contact.FirstName != "Ådne" || len(x.ContactPoints) != 3 || len(x.ConsentEvents) != 2 {
		t.Errorf("export = %+v", x)
	}
	text := mustCrier(t, dsn, nil, "contacts", "access", "--format", "text", "--email", "ADNE.O'BRIAIN+NEWS@example.co.uk")
	for _, want := range []string{"Øvergård-Ó Briain", "== Consent history (2)", "+447700900731", "3 Acre Lane"} {
		if !strings.Contains(text, want) {
			t.Errorf("text export lacks %q:\n%s", want, text)
		}
	}
	wantExit(t, crierCfg(t, dsn, nil, "contacts", "access", "--email", "nobody@example.org"), cli.ExitData, "no resident found")
	wantExit(t, crierCfg(t, dsn, nil, "contacts", "access", "1", "--email", "x@example.org"), cli.ExitUsage, "exactly one of")

	// Not at a terminal and no --yes: refused, nothing erased.
	idArg := strconv.FormatInt(id, 10)
	wantExit(t, crierCfg(t, dsn, nil, "contacts", "erase", idArg, "--reason", "email of 3 May"), cli.ExitUsage, "not at a terminal")
	wantExit(t, crierCfg(t, dsn, nil, "contacts", "erase", idArg, "--yes"), cli.ExitUsage, "needs --reason")
	r = crierCfg(t, dsn, nil, "contacts", "erase", idArg, "--reason", "email of 3 May", "--yes")
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "Resident "+idArg+": Ådne Øvergård-Ó Briain") ||
		!strings.Contains(r.stdout, "2 email addresses and numbers to the suppression list") || !strings.Contains(r.stdout, "erased") {
		t.Fatalf("erase: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var left int
	if err := db.Get(&left, `SELECT count(*) FROM contacts WHERE id = $1`, id); err != nil || left != 0 {
		t.Fatalf("contact still there: %d, %v", left, err)
	}
	audit := mustCrier(t, dsn, nil, "audit")
	for _, want := range []string{"contacts.erase", "contacts.subject_access"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %s:\n%s", want, audit)
		}
	}

	// The same file again: Ådne's row is skipped and said so, by line; Mei is updated.
	r = crierCfg(t, dsn, nil, "contacts", "import", file)
	if r.code != cli.ExitOK {
		t.Fatalf("re-import: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "residents.csv:2: this person asked to be erased on ") || !strings.Contains(r.stderr, "skipped") {
		t.Errorf("re-import does not name the erased row:\n%s", r.stderr)
	}
	if err := db.Get(&left, `SELECT count(*) FROM contact_points WHERE value IN ('+447700900731') OR lower(value) LIKE 'adne%'`); err != nil || left != 0 {
		t.Errorf("erased resident re-imported: %d, %v", left, err)
	}
}

func TestRightsRetention(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	db := sqlxDB(t, dsn)
	if _, err := db.Exec(`INSERT INTO conversations (phone) VALUES ('+447700900999');
		INSERT INTO sms_messages (conversation_id, direction, body, at) SELECT id, 'in', 'my old complaint', now() - interval '400 days' FROM conversations;
		INSERT INTO sms_messages (conversation_id, direction, body, at) SELECT id, 'in', 'my new complaint', now() - interval '3 days' FROM conversations`); err != nil {
		t.Fatal(err)
	}
	off := mustCrier(t, dsn, nil, "rights", "retention")
	if !strings.Contains(off, "Retention is off") {
		t.Errorf("off: %s", off)
	}
	year := func(c *config.Config) { c.RetentionReplies = "365d" }
	dry := mustCrier(t, dsn, year, "rights", "retention", "--dry-run")
	if !strings.Contains(dry, "Residents' texts older than 365 days: 1 would be removed (dry run)") {
		t.Errorf("dry run: %s", dry)
	}
	done := mustCrier(t, dsn, year, "rights", "retention")
	if !strings.Contains(done, "Residents' texts older than 365 days: 1 removed") {
		t.Errorf("run: %s", done)
	}
	var bodies []string
	if err := db.Select(&bodies, `SELECT body FROM sms_messages ORDER BY at`); err != nil || len(bodies) != 2 || bodies[0] != "" || bodies[1] != "my new complaint" {
		t.Errorf("bodies after retention = %q, %v", bodies, err)
	}
	wantExit(t, crierCfg(t, dsn, func(c *config.Config) { c.RetentionBodies = "soon" }, "rights", "retention"), cli.ExitUsage, "CRIER_RETENTION_BODIES")
}
