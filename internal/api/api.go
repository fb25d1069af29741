// Package api is crier's HTTP API for other systems: the council's CRM pushes contacts,
// and integrations create, schedule and follow campaigns and read residents' replies.
// Every request carries a bearer token (internal/apitoken) whose scopes say what it may
// do; writes are recorded in the audit log as "api:<token name>". Bodies are JSON and
// every error is RFC 9457 problem details. openapi.yaml describes it, served as
// /api/openapi.json; a test keeps the two in step.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/apitoken"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/suppression"
)

// Body limits: a batch of contacts may be large, anything else is small.
const (
	maxBody        = 256 << 10
	maxContactBody = 8 << 20
	maxBatch       = 10000 // contacts in one POST
)

// Config configures the API.
type Config struct {
	DB     *sqlx.DB
	Logger *slog.Logger
	// Region is the default country of phone numbers without +code (CRIER_DEFAULT_REGION),
	// as for `crier contacts import`; default GB.
	Region string
	// Suppression checks pushed contacts against the erasure suppression list and
	// records erasures; nil: pushes into a database holding suppressions, and erasure,
	// are refused.
	Suppression *suppression.Key
	// ScheduleCheck vets a campaign's content before it is scheduled, as the officers'
	// pages do (templates, leaflets' doors); nil checks nothing more than the store does.
	ScheduleCheck func(ctx context.Context) func(*campaign.Campaign) error
	// CreateCheck vets a new campaign's content beyond its merge fields, as the officers'
	// web app does when a campaign is saved: a leaflet text the leaflet font can't print
	// is refused now, not when the campaign is scheduled. Nil: none.
	CreateCheck func(*campaign.Campaign) error
}

// API serves /api/.
type API struct {
	db       *sqlx.DB
	log      *slog.Logger
	region   string
	key      *suppression.Key
	check    func(ctx context.Context) func(*campaign.Campaign) error
	create   func(*campaign.Campaign) error
	tokens   *apitoken.Store
	mux      *http.ServeMux
	routes   []string
	specJSON []byte
}

// New returns the API; its OpenAPI document is read (and must parse) here.
func New(cfg Config) (*API, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Region == "" {
		cfg.Region = "GB"
	}
	spec, err := specJSON()
	if err != nil {
		return nil, err
	}
	a := &API{db: cfg.DB, log: cfg.Logger, region: cfg.Region, key: cfg.Suppression, check: cfg.ScheduleCheck, create: cfg.CreateCheck,
		tokens: apitoken.NewStore(cfg.DB), mux: http.NewServeMux(), specJSON: spec}
	a.register()
	return a, nil
}

// handlerFunc is an authenticated handler: t is the token that called.
type handlerFunc func(w http.ResponseWriter, r *http.Request, t *apitoken.Token)

func (a *API) register() {
	a.mux.HandleFunc("GET /api/openapi.json", a.handleSpec)
	a.routes = append(a.routes, "GET /api/openapi.json")
	for _, rt := range []struct {
		pattern, scope string
		h              handlerFunc
	}{
		{"GET /api/v1/contacts", apitoken.Read, a.handleContacts},
		{"POST /api/v1/contacts", apitoken.ContactsWrite, a.handleContactsPush},
		{"GET /api/v1/contacts/{id}", apitoken.Read, a.handleContact},
		{"DELETE /api/v1/contacts/{id}", apitoken.ContactsWrite, a.handleContactErase},
		{"GET /api/v1/contacts/{id}/data", apitoken.Read, a.handleContactData},
		{"GET /api/v1/segments", apitoken.Read, a.handleSegments},
		{"GET /api/v1/campaigns", apitoken.Read, a.handleCampaigns},
		{"POST /api/v1/campaigns", apitoken.CampaignsWrite, a.handleCampaignCreate},
		{"GET /api/v1/campaigns/{id}", apitoken.Read, a.handleCampaign},
		{"POST /api/v1/campaigns/{id}/schedule", apitoken.CampaignsWrite, a.handleCampaignSchedule},
		{"POST /api/v1/campaigns/{id}/pause", apitoken.CampaignsWrite, a.handleCampaignMove("pause")},
		{"POST /api/v1/campaigns/{id}/resume", apitoken.CampaignsWrite, a.handleCampaignMove("resume")},
		{"POST /api/v1/campaigns/{id}/cancel", apitoken.CampaignsWrite, a.handleCampaignMove("cancel")},
		{"GET /api/v1/replies", apitoken.Read, a.handleReplies},
	} {
		a.mux.Handle(rt.pattern, a.guard(rt.scope, rt.h))
		a.routes = append(a.routes, rt.pattern)
	}
	a.mux.HandleFunc("/api/", a.handleNoRoute)
}

// Routes lists the API's routes as "METHOD /path" patterns, for the test that holds
// them and openapi.yaml to each other.
func (a *API) Routes() []string { return append([]string(nil), a.routes...) }

// ServeHTTP serves the API; mount it at /api/.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, vs := range r.URL.Query() {
		for _, v := range append(vs, k) {
			if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
				problem(w, http.StatusBadRequest, typeBadRequest, "The query holds a NUL byte or text that is not UTF-8, which crier can't store.",
					FieldError{Field: strings.ToValidUTF8(k, "\uFFFD"), Detail: "not UTF-8 text"})
				return
			}
		}
	}
	a.mux.ServeHTTP(w, r)
}

// handleNoRoute answers a path no route has (404), or a method the path's route does
// not take (405 with Allow), as problem details rather than net/http's plain text.
func (a *API) handleNoRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodPut, http.MethodPatch} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := a.mux.Handler(probe); pattern != "" && pattern != "/api/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		problem(w, http.StatusMethodNotAllowed, typeMethod, fmt.Sprintf("%s takes %s, not %s.", r.URL.Path, strings.Join(allow, ", "), r.Method))
		return
	}
	problem(w, http.StatusNotFound, typeNotFound, fmt.Sprintf("There is no API route %s: see /api/openapi.json.", r.URL.Path))
}

// guard authenticates the bearer token and checks it carries scope.
func (a *API) guard(scope string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		scheme, secret, _ := strings.Cut(auth, " ")
		if auth == "" || !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="crier"`)
			problem(w, http.StatusUnauthorized, typeUnauthorized, "Send an API token: Authorization: Bearer crier_… (crier token add NAME makes one).")
			return
		}
		t, err := a.tokens.Authenticate(r.Context(), strings.TrimSpace(secret))
		if errors.Is(err, apitoken.ErrUnauthorized) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="crier", error="invalid_token"`)
			problem(w, http.StatusUnauthorized, typeUnauthorized, "The token is unknown or has been revoked.")
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if !t.Has(scope) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="crier", error="insufficient_scope", scope=%q`, scope))
			problem(w, http.StatusForbidden, typeForbidden, fmt.Sprintf("Token %q has scopes %s; this needs %s.", t.Name, strings.Join(t.Scopes, ", "), scope))
			return
		}
		h(w, r, t)
	})
}

// writeJSON answers code with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads the JSON body into v (unknown fields refused), at most limit bytes. It
// answers the problem itself and returns false when the body can't be used.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		problem(w, http.StatusUnsupportedMediaType, typeMediaType, "Send the body as JSON, with Content-Type: application/json.")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooBig):
		w.Header().Set("Connection", "close")
		problem(w, http.StatusRequestEntityTooLarge, typeTooLarge, fmt.Sprintf("This route takes at most %d KB.", tooBig.Limit>>10))
	case errors.As(err, &syntax):
		problem(w, http.StatusBadRequest, typeBadRequest, fmt.Sprintf("The body is not valid JSON (at byte %d): %v.", syntax.Offset, err))
	case errors.As(err, &typeErr):
		problem(w, http.StatusUnprocessableEntity, typeValidation, "A value has the wrong type.",
			fieldError(typeErr.Field, fmt.Sprintf("must be %s, not %s", typeErr.Type, typeErr.Value)))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		problem(w, http.StatusUnprocessableEntity, typeValidation, "The body has a field this route does not take.",
			FieldError{Field: field, Detail: "unknown field"})
	case errors.Is(err, io.EOF):
		problem(w, http.StatusBadRequest, typeBadRequest, "The body is empty: send a JSON object.")
	default:
		problem(w, http.StatusBadRequest, typeBadRequest, "The body could not be read: "+err.Error()+".")
	}
	return false
}

// fieldError names a field given as encoding/json's path ("contacts.3.email") by item
// index and field.
func fieldError(path, detail string) FieldError {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		if n, err := strconv.Atoi(p); err == nil && i > 0 {
			return FieldError{Index: &n, Field: strings.Join(parts[i+1:], "."), Detail: detail}
		}
	}
	return FieldError{Field: path, Detail: detail}
}

// pathID reads the {id} path value: a positive number, else 404.
func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		problem(w, http.StatusNotFound, typeNotFound, fmt.Sprintf("%q is not an id: ids are positive whole numbers.", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

// page reads limit (1 to max, default def) and offset (0 up) from the query.
func page(w http.ResponseWriter, r *http.Request, def, max int) (limit, offset int, ok bool) {
	limit, offset = def, 0
	var errs []FieldError
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			errs = append(errs, FieldError{Field: "limit", Detail: fmt.Sprintf("must be a whole number from 1 to %d", max)})
		}
		limit = n
	}
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, FieldError{Field: "offset", Detail: "must be a whole number, 0 or more"})
		}
		offset = n
	}
	if len(errs) > 0 {
		problem(w, http.StatusBadRequest, typeBadRequest, "The paging parameters are invalid.", errs...)
		return 0, 0, false
	}
	return limit, offset, true
}
