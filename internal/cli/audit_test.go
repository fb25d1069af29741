package cli_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// TestCLIAudit: account changes, an import, an export and a campaign's moves made at
// the command line are recorded as cli:<os user>; crier audit shows and exports them,
// and the export is itself recorded.
func TestCLIAudit(t *testing.T) {
	t.Setenv("SUDO_USER", "")
	t.Setenv("USER", "ops")
	_, dsn := dbtest.NewURL(t)
	d, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ok := func(r run, what string) run {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("%s: %d\n%s%s", what, r.code, r.stdout, r.stderr)
		}
		return r
	}
	const pw = "correct horse battery staple\n"
	ok(crierIn(t, dsn, pw, "user", "add", "ann@council.example", "--name", "Ann Admin", "--role", "admin", "--password-stdin"), "add admin")
	ok(crierIn(t, dsn, pw, "user", "add", "jo@council.example", "--name", "Jo Officer", "--role", "officer", "--password-stdin"), "add officer")
	if r := ok(crierIn(t, dsn, "", "user", "disable", "jo@council.example"), "disable"); !strings.Contains(r.stdout, "is disabled") {
		t.Errorf("disable: %s", r.stdout)
	}
	if r := ok(crierIn(t, dsn, "", "user", "list"), "list"); !regexp.MustCompile(`jo@council.example\s+Jo Officer\s+officer\s+disabled`).MatchString(r.stdout) {
		t.Errorf("list after disable:\n%s", r.stdout)
	}
	ok(crierIn(t, dsn, "", "user", "enable", "jo@council.example"), "enable")
	if r := ok(crierIn(t, dsn, "", "user", "role", "jo@council.example", "admin"), "role"); !strings.Contains(r.stdout, "is now an admin (was officer)") {
		t.Errorf("role: %s", r.stdout)
	}
	ok(crierIn(t, dsn, "", "user", "role", "jo@council.example", "officer"), "role back")
	if r := crierIn(t, dsn, "", "user", "disable", "ann@council.example"); r.code != cli.ExitData || !strings.Contains(r.stderr, "last active admin") {
		t.Errorf("disable the last admin: %d %s", r.code, r.stderr)
	}
	if r := crierIn(t, dsn, "", "user", "role", "jo@council.example"); r.code != cli.ExitUsage {
		t.Errorf("role without a role: %d", r.code)
	}
	r := ok(crierIn(t, dsn, "", "user", "reset", "jo@council.example"), "reset")
	link := regexp.MustCompile(`http://127\.0\.0\.1:0/reset/([A-Za-z0-9_-]{43})\n`).FindStringSubmatch(r.stdout)
	if link == nil || !strings.Contains(r.stdout, "works once") {
		t.Errorf("reset: %s", r.stdout)
	}
	var hashed int
	if link != nil {
		d.Get(&hashed, `SELECT count(*) FROM password_resets WHERE token_hash = sha256(convert_to($1, 'UTF8')) AND used_at IS NULL`, link[1])
	}
	if hashed != 1 {
		t.Error("the reset link is not stored as its hash")
	}

	csvPath := filepath.Join(t.TempDir(), "people.csv")
	os.WriteFile(csvPath, []byte("First name,Surname,Email,Email consent\nEve,Adams,eve@example.org,yes\n"), 0o600)
	ok(crierIn(t, dsn, "", "contacts", "import", csvPath), "import")
	ok(crierIn(t, dsn, "", "contacts", "import", csvPath, "--dry-run"), "dry run")
	ok(crierIn(t, dsn, "", "contacts", "export", "--out", filepath.Join(t.TempDir(), "out.csv")), "export")
	md := filepath.Join(t.TempDir(), "notice.md")
	os.WriteFile(md, []byte("---\nname: Road closure\npurpose: service\nchannels: [email]\nsubject: Road closure\n---\nThe road is closed on Monday.\n"), 0o600)
	if r := ok(crierIn(t, dsn, "", "campaign", "create", md), "create"); !strings.Contains(r.stdout, "created as a draft") {
		t.Fatalf("create: %s", r.stdout)
	}
	ok(crierIn(t, dsn, "", "campaign", "schedule", "Road closure", "--at", "2099-12-01 09:00"), "schedule")
	ok(crierIn(t, dsn, "", "campaign", "pause", "Road closure"), "pause")
	ok(crierIn(t, dsn, "", "campaign", "cancel", "Road closure"), "cancel")

	var got []string
	if err := d.Select(&got, `SELECT actor || ' ' || action FROM audit_log ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	want := []string{"cli:ops user.add", "cli:ops user.add", "cli:ops user.disable", "cli:ops user.enable", "cli:ops user.role",
		"cli:ops user.role", "cli:ops user.reset_link", "cli:ops contacts.import", "cli:ops contacts.export",
		"cli:ops campaign.create", "cli:ops campaign.schedule", "cli:ops campaign.pause", "cli:ops campaign.cancel"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var personal int
	d.Get(&personal, `SELECT count(*) FROM audit_log WHERE detail::text ~* 'eve|adams'`)
	if personal != 0 {
		t.Errorf("%d entries hold a resident's data", personal)
	}

	r = ok(crierIn(t, dsn, "", "audit", "--action", "campaign.pause"), "audit")
	if !strings.Contains(r.stdout, "cli:ops") || !strings.Contains(r.stdout, "campaign.pause") || strings.Contains(r.stdout, "campaign.cancel") {
		t.Errorf("audit --action:\n%s", r.stdout)
	}
	r = ok(crierIn(t, dsn, "", "audit", "--csv", "--since", "1h"), "audit --csv")
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(recs) != len(want)+1 || recs[1][4] != "campaign.cancel" {
		t.Errorf("audit --csv: %v %q", err, recs)
	}
	if r := crierIn(t, dsn, "", "audit", "--since", "yesterday-ish"); r.code != cli.ExitUsage {
		t.Errorf("bad --since: %d", r.code)
	}
	var exports int
	d.Get(&exports, `SELECT count(*) FROM audit_log WHERE action = 'audit.export' AND actor = 'cli:ops'`)
	if exports != 1 {
		t.Errorf("audit exports recorded: %d", exports)
	}
}
