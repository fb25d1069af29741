package web_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/web"
)

// serverRig is another web server on the rig's database: a restart, or a second crier
// serve.
type serverRig struct {
	web *web.Server
	srv *httptest.Server
}

// server starts another web server on r's database, as the process named instance.
func (r *contactsRig) server(t *testing.T, instance string) serverRig {
	t.Helper()
	signer, _ := email.NewSigner(bytes.Repeat([]byte("k"), 32))
	ws, err := web.New(web.Config{DB: r.db, Signer: signer, Branding: email.Branding{OrgName: "Millbrook Council"},
		Logger: slog.New(slog.NewTextHandler(r.logs, nil)), Instance: instance,
		App: &web.App{Auth: auth.NewStore(r.db), Rounds: printrun.NewStore(r.db), Inbox: inbox.NewStore(r.db, inbox.Config{}, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(srv.Close)
	return serverRig{web: ws, srv: srv}
}

// TestContactsImportJobSurvivesRestart: a finished job's page, report and all, is there
// after the server restarts (a new process, a new instance name).
func TestContactsImportJobSurvivesRestart(t *testing.T) {
	r := newContactsRig(t)
	jo := r.officer(t)
	job, b := importFile(t, jo, r.srv.URL, officerCSRF(t, jo, r.srv.URL), "good.csv", goodContacts)
	if !strings.Contains(b, "<h2>good.csv imported</h2>") {
		t.Fatalf("the import did not succeed:\n%s", b)
	}
	r.srv.Close()
	restarted := r.server(t, "restarted-1")
	if err := restarted.web.RecoverImports(t.Context()); err != nil {
		t.Fatal(err)
	}
	jo2 := signInAt(t, restarted.srv.URL, "jo@council.example")
	code, _, b := page(t, jo2, restarted.srv.URL+job)
	if code != http.StatusOK || !strings.Contains(b, "<h2>good.csv imported</h2>") || !strings.Contains(b, `<td id="created">2</td>`) ||
		!strings.Contains(b, "data-live-done") {
		t.Errorf("the job page after a restart: %d\n%s", code, b)
	}
	// An hour after it ended, the page (which can name residents' data) is gone.
	if _, err := r.db.Exec(`UPDATE import_jobs SET ended_at = now() - interval '61 minutes'`); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := page(t, jo2, restarted.srv.URL+job); code != http.StatusNotFound {
		t.Errorf("the job page an hour after the import ended: %d", code)
	}
	var n int
	r.db.Get(&n, `SELECT count(*) FROM import_jobs`)
	if n != 0 {
		t.Errorf("%d jobs kept after an hour", n)
	}
}

// TestContactsImportInterruptedOnStart: when a server starts, the jobs a stopped process
// left running — its own instance's previous run, or any whose heartbeat is stale — are
// marked interrupted, their pages say plainly that nothing was imported, their audit
// rows say failed, and their uploads are deleted; a live process's job is left alone
// until its heartbeat goes stale. An upload no job knows of is deleted once it is old.
func TestContactsImportInterruptedOnStart(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	r := newContactsRig(t)
	jo := r.officer(t)
	var joID int64
	if err := r.db.Get(&joID, `SELECT id FROM users WHERE email = 'jo@council.example'`); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	upload := func() string {
		t.Helper()
		dir, err := os.MkdirTemp(tmp, "crier-import-*")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "upload.csv"), []byte("Email\nresident@example.org\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	exists := func(dir string) bool { _, err := os.Stat(dir); return err == nil }
	var auditID int64
	if err := r.db.Get(&auditID, `INSERT INTO imports (file_name, actor, status) VALUES ('mine.csv', 'jo@council.example', 'running') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	jobs := map[string]struct {
		instance, heartbeat, dir string
		importID                 any
	}{
		"DEADDEADDEADDEADDEADDEADDE": {"dead-1", "now() - interval '10 minutes'", upload(), nil},
		"LIVELIVELIVELIVELIVELIVELI": {"live-2", "now()", upload(), nil},
		"MINEMINEMINEMINEMINEMINEMI": {"restarting", "now()", upload(), auditID},
	}
	for id, j := range jobs {
		file := strings.ToLower(id[:4]) + ".csv"
		if _, err := r.db.Exec(`INSERT INTO import_jobs (id, user_id, import_id, instance, host, file_name, dry_run, skip_invalid,
			conflicts, upload_dir, phase, bytes, total_bytes, rows_read, heartbeat_at)
			VALUES ($1, $2, $3, $4, $5, $6, false, false, 'report', $7, 'reading', 10, 100, 1000, `+j.heartbeat+`)`,
			id, joID, j.importID, j.instance, host, file, j.dir); err != nil {
			t.Fatal(err)
		}
	}
	orphanOld, orphanNew := upload(), upload()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(orphanOld, old, old); err != nil {
		t.Fatal(err)
	}

	restarted := r.server(t, "restarting")
	if err := restarted.web.RecoverImports(t.Context()); err != nil {
		t.Fatal(err)
	}
	base := restarted.srv.URL + "/contacts/import/"
	jo = signInAt(t, restarted.srv.URL, "jo@council.example")
	interrupted := func(id, file string) {
		t.Helper()
		code, _, b := page(t, jo, base+id)
		want := "The server stopped while it was importing " + file + ", so nothing was imported and the uploaded file has been deleted. Import it again."
		if code != http.StatusOK || !strings.Contains(b, "<h2>The import did not finish</h2>") || !strings.Contains(b, want) ||
			!strings.Contains(b, "data-live-done") || strings.Contains(b, "<progress") || strings.Contains(b, "recorded either way") {
			t.Errorf("%s's job page: %d\n%s", file, code, b)
		}
		if _, _, live := page(t, jo, base+id+"/live"); !strings.Contains(live, want) || !strings.Contains(live, "data-live-done") {
			t.Errorf("%s's live part:\n%s", file, live)
		}
		if exists(jobs[id].dir) {
			t.Errorf("%s's upload is still there", file)
		}
	}
	interrupted("DEADDEADDEADDEADDEADDEADDE", "dead.csv")
	interrupted("MINEMINEMINEMINEMINEMINEMI", "mine.csv")
	var audit string
	r.db.Get(&audit, `SELECT status FROM imports WHERE id = $1`, auditID)
	if audit != "failed" {
		t.Errorf("the interrupted import's audit row says %q, want failed", audit)
	}
	if _, _, b := page(t, jo, restarted.srv.URL+"/contacts/import"); !strings.Contains(b, "<td>mine.csv</td><td>jo@council.example</td><td>Failed: nothing imported</td>") {
		t.Errorf("recent imports:\n%s", b)
	}

	live := "LIVELIVELIVELIVELIVELIVELI"
	if code, _, b := page(t, jo, base+live); code != http.StatusOK || !strings.Contains(b, "<h2>Importing live.csv</h2>") ||
		!strings.Contains(b, "10% of the file read: 1,000 rows so far.") || !exists(jobs[live].dir) {
		t.Errorf("another live server's job: %d\n%s", code, b)
	}
	if exists(orphanOld) || !exists(orphanNew) {
		t.Errorf("uploads no job knows of: the old one is there %v, the new one %v", exists(orphanOld), exists(orphanNew))
	}
	// The other server stops: once its heartbeat is stale, its job's page says so.
	if _, err := r.db.Exec(`UPDATE import_jobs SET heartbeat_at = now() - interval '3 minutes' WHERE id = $1`, live); err != nil {
		t.Fatal(err)
	}
	interrupted(live, "live.csv")
}
