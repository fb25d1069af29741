package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

	"github.com/crierhq/crier/internal/api"
	"github.com/crierhq/crier/internal/apitoken"
)

// Tokens: none, unknown, revoked → 401 with WWW-Authenticate; a scope missing → 403;
// the spec needs none; unknown routes and methods answer problem details too.
func TestAuthAndScopes(t *testing.T) {
	r := newRig(t)
	read := r.token("reader", apitoken.Read)
	revoked := r.token("old", apitoken.Read, apitoken.ContactsWrite)
	if _, err := apitoken.NewStore(r.d).Revoke(context.Background(), "old", "cli:test"); err != nil {
		t.Fatal(err)
	}

	res := r.do("GET", "/api/v1/contacts", "", nil)
	res.problem(t, http.StatusUnauthorized)
	if got := res.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
		t.Errorf("WWW-Authenticate %q", got)
	}
	for _, tok := range []string{"crier_000000000000_" + strings.Repeat("0", 64), revoked, "nonsense"} {
		res := r.do("GET", "/api/v1/contacts", tok, nil)
		res.problem(t, http.StatusUnauthorized)
		if got := res.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate %q", got)
		}
	}
	if res := r.do("GET", "/api/v1/contacts", read, nil); res.code != http.StatusOK {
		t.Fatalf("read token: %d %s", res.code, res.body)
	}
	res = r.do("POST", "/api/v1/contacts", read, map[string]any{"contacts": []any{map[string]any{"email": "a@example.org"}}})
	pr := res.problem(t, http.StatusForbidden)
	if !strings.Contains(pr.Detail, "contacts:write") || !strings.Contains(res.header.Get("WWW-Authenticate"), `scope="contacts:write"`) {
		t.Errorf("403: %+v %q", pr, res.header.Get("WWW-Authenticate"))
	}
	r.do("POST", "/api/v1/campaigns/1/cancel", read, nil).problem(t, http.StatusForbidden)

	// The document needs no token, and the JSON served is the valid document.
	res = r.do("GET", "/api/openapi.json", "", nil)
	if res.code != 200 || res.header.Get("Content-Type") != "application/json" {
		t.Fatalf("openapi.json: %d %.200s", res.code, res.body)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(res.body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context); err != nil || doc.Paths.Find("/api/v1/contacts/{id}/data") == nil {
		t.Errorf("served document: %v", err)
	}
	r.do("GET", "/api/v1/nothing", read, nil).problem(t, http.StatusNotFound)
	res = r.do("PUT", "/api/v1/contacts", read, nil)
	res.problem(t, http.StatusMethodNotAllowed)
	if allow := res.header.Get("Allow"); allow != "GET, POST" {
		t.Errorf("Allow %q", allow)
	}
	r.do("GET", "/api/v1/contacts/abc", read, nil).problem(t, http.StatusNotFound)
	r.do("GET", "/api/v1/contacts?limit=0", read, nil).problem(t, http.StatusBadRequest)
}

// A database that can't be reached is 503 (try again), never 401 or 500.
func TestDatabaseUnreachable(t *testing.T) {
	d, err := sqlx.Open("postgres", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	a, err := api.New(api.Config{DB: d})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "/api/v1/contacts", nil)
	req.Header.Set("Authorization", "Bearer crier_abcdefabcdef_"+strings.Repeat("0", 64))
	w := newRecorder()
	a.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Content-Type") != "application/problem+json" || w.Header().Get("Retry-After") == "" {
		t.Errorf("%d %v %s", w.Code, w.Header(), w.Body)
	}
}
