package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/api"
	"github.com/crierhq/crier/internal/apitoken"
	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/suppression"
	"github.com/crierhq/crier/internal/web"
)

// loadSpec loads and validates openapi.yaml with kin-openapi, and returns a router over
// it (server URLs dropped: the tests' server is on a random port).
func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// TestSpecMatchesRoutes: every operation in openapi.yaml is a route the API serves, and
// every route the API serves is in openapi.yaml.
func TestSpecMatchesRoutes(t *testing.T) {
	doc, _ := loadSpec(t)
	a, err := api.New(api.Config{})
	if err != nil {
		t.Fatal(err)
	}
	served := a.Routes()
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("openapi.yaml documents %s, which the API does not serve", d)
		}
	}
	for _, s := range served {
		if !slices.Contains(documented, s) {
			t.Errorf("the API serves %s, which openapi.yaml does not document", s)
		}
	}
	if len(served) < 15 {
		t.Errorf("only %d routes: %v", len(served), served)
	}
}

// rig is crier's real web server (the one `crier serve` runs) on a fresh database, with
// every API response checked against openapi.yaml.
type rig struct {
	t      *testing.T
	d      *sqlx.DB
	srv    *httptest.Server
	router routers.Router
}

func newRig(t *testing.T) *rig {
	t.Helper()
	d := dbtest.New(t)
	key, err := suppression.NewKey(bytes.Repeat([]byte("s"), 32))
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := email.NewSigner(bytes.Repeat([]byte("k"), 32))
	ws, err := web.New(web.Config{DB: d, Signer: signer, Suppression: key, DefaultRegion: "GB",
		Branding: email.Branding{OrgName: "Millbrook Council"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(srv.Close)
	_, router := loadSpec(t)
	return &rig{t: t, d: d, srv: srv, router: router}
}

// token makes a token named name with scopes and returns its secret.
func (r *rig) token(name string, scopes ...string) string {
	r.t.Helper()
	_, secret, err := apitoken.NewStore(r.d).Create(context.Background(), name, scopes, "cli:test")
	if err != nil {
		r.t.Fatal(err)
	}
	return secret
}

// reply is an API response, its body read.
type reply struct {
	code   int
	header http.Header
	body   []byte
}

func (p reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(p.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, p.body)
	}
	return m
}

// problem checks the reply is problem details with code, and returns them.
func (p reply) problem(t *testing.T, code int) api.Problem {
	t.Helper()
	if p.code != code {
		t.Fatalf("status %d, want %d: %s", p.code, code, p.body)
	}
	if ct := p.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json: %s", ct, p.body)
	}
	var pr api.Problem
	if err := json.Unmarshal(p.body, &pr); err != nil {
		t.Fatal(err)
	}
	if pr.Status != code || !strings.HasPrefix(pr.Type, "urn:crier:problem:") || pr.Title == "" {
		t.Fatalf("problem %+v", pr)
	}
	return pr
}

// do sends a request with token (none if empty) and body (a string is sent as it is,
// anything else as JSON), and checks the response against openapi.yaml.
func (r *rig) do(method, path, token string, body any) reply {
	r.t.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, r.srv.URL+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	p := reply{code: res.StatusCode, header: res.Header, body: out}
	r.validate(req, raw, p)
	return p
}

// validate checks a response against the operation openapi.yaml has for its request:
// a documented status, content type and a body that fits the schema.
func (r *rig) validate(req *http.Request, raw []byte, p reply) {
	r.t.Helper()
	vreq := req.Clone(context.Background())
	vreq.URL.Host, vreq.URL.Scheme = "", ""
	vreq.Body = io.NopCloser(bytes.NewReader(raw))
	route, params, err := r.router.FindRoute(vreq)
	if err != nil {
		if p.code == http.StatusNotFound || p.code == http.StatusMethodNotAllowed {
			return // no such route: nothing in the spec to hold it to
		}
		r.t.Errorf("%s %s: not in openapi.yaml: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  p.code,
		Header:  p.header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(p.body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		r.t.Errorf("%s %s → %d does not match openapi.yaml: %v\n%s", req.Method, req.URL.Path, p.code, err, p.body)
	}
}

// auditActions returns the audit log's "action actor" lines, oldest first.
func (r *rig) auditActions() []string {
	r.t.Helper()
	entries, err := audit.List(context.Background(), r.d, audit.Filter{})
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].Action+" "+entries[i].Actor)
	}
	return out
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
