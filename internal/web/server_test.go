package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/web"
)

func TestResidentPagesRefuseBadLinksAndSetSecurityHeaders(t *testing.T) {
	d := dbtest.New(t)
	signer, _ := email.NewSigner(bytes.Repeat([]byte("s"), 32))
	other, _ := email.NewSigner(bytes.Repeat([]byte("o"), 32))
	var pointID, topicID int64
	d.Get(&topicID, `SELECT id FROM topics WHERE slug = 'general'`)
	var contactID int64
	d.Get(&contactID, `INSERT INTO contacts (first_name) VALUES ('Ada') RETURNING id`)
	d.Get(&pointID, `INSERT INTO contact_points (contact_id, kind, value) VALUES ($1, 'email', 'ada@example.org') RETURNING id`, contactID)

	srv, err := web.New(web.Config{DB: d, Signer: signer, Composer: email.NewComposer(d, email.ComposerConfig{Signer: signer})})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	cases := []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"health", "GET", "/healthz", 200, `"status":"ok"`},
		{"ready", "GET", "/readyz", 200, `"status":"ok"`},
		{"unsubscribe confirmation", "GET", "/u/" + signer.Token("unsubscribe", pointID, topicID), 200, "Yes, unsubscribe me"},
		{"token from another installation", "POST", "/u/" + other.Token("unsubscribe", pointID, topicID), 404, "This link does not work"},
		{"token for another purpose", "POST", "/u/" + signer.Token("preferences", pointID, topicID), 404, "This link does not work"},
		{"garbage token", "GET", "/b/%3Cscript%3E", 404, "This link does not work"},
		{"preferences", "GET", "/p/" + signer.PreferencesToken(contactID, time.Now()), 200, "Save my choices"},
		{"preferences, link out of date", "GET", "/p/" + signer.Token("preferences", contactID), 403, "This link is out of date"},
		{"unknown page", "GET", "/admin", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(context.Background(), tc.method, ts.URL+tc.path, strings.NewReader("List-Unsubscribe=One-Click"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
				t.Fatalf("%s %s = %d, want %d containing %q:\n%.300s", tc.method, tc.path, resp.StatusCode, tc.status, tc.body, b)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP = %q", csp)
			}
			if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("security headers: %v", resp.Header)
			}
		})
	}
	var withdrawals int
	d.Get(&withdrawals, `SELECT count(*) FROM consents`)
	if withdrawals != 0 {
		t.Fatalf("a refused link recorded %d consent changes", withdrawals)
	}
}

// TestHealthAndReadiness: /healthz says the process is alive whatever the database
// does; /readyz says whether it can work: 503 with what to do when the schema is behind
// the binary's migrations, or the database does not answer.
func TestHealthAndReadiness(t *testing.T) {
	d := dbtest.New(t)
	srv, err := web.New(web.Config{DB: d, Version: "v-test"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := get("/readyz"); code != 200 || b != "{\"status\":\"ok\",\"version\":\"v-test\"}\n" {
		t.Errorf("readyz on a current database: %d %s", code, b)
	}
	if _, err := d.Exec(`DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`); err != nil {
		t.Fatal(err)
	}
	if code, b := get("/readyz"); code != 503 || !strings.Contains(b, "database schema out of date: run crier migrate up") {
		t.Errorf("readyz with a migration missing: %d %s", code, b)
	}
	d.Close()
	if code, b := get("/readyz"); code != 503 || !strings.Contains(b, "database unreachable") {
		t.Errorf("readyz with the database gone: %d %s", code, b)
	}
	if code, b := get("/healthz"); code != 200 || !strings.Contains(b, `"status":"ok"`) {
		t.Errorf("healthz with the database gone: %d %s", code, b)
	}
}
