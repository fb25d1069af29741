package api

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"syscall"

	"github.com/lib/pq"
)

// Problem is an error as RFC 9457 problem details (application/problem+json). Type is
// one of the URIs below; Errors names each field (and batch item) at fault.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one invalid value: in item Index of a batch (when there is one), in
// Field, with Line for a problem in a campaign file.
type FieldError struct {
	Index  *int   `json:"index,omitempty"`
	Field  string `json:"field,omitempty"`
	Line   int    `json:"line,omitempty"`
	Detail string `json:"detail"`
}

// The problem types (documented in docs/api.md).
const (
	typeBadRequest   = "urn:crier:problem:bad-request"
	typeValidation   = "urn:crier:problem:validation"
	typeUnauthorized = "urn:crier:problem:unauthorized"
	typeForbidden    = "urn:crier:problem:forbidden"
	typeNotFound     = "urn:crier:problem:not-found"
	typeMethod       = "urn:crier:problem:method-not-allowed"
	typeConflict     = "urn:crier:problem:conflict"
	typeTooLarge     = "urn:crier:problem:too-large"
	typeMediaType    = "urn:crier:problem:unsupported-media-type"
	typeUnavailable  = "urn:crier:problem:unavailable"
	typeInternal     = "urn:crier:problem:internal"
)

var titles = map[string]string{
	typeBadRequest:   "The request could not be read",
	typeValidation:   "Some values are invalid",
	typeUnauthorized: "A valid API token is needed",
	typeForbidden:    "The token lacks the scope this needs",
	typeNotFound:     "Not found",
	typeMethod:       "Method not allowed",
	typeConflict:     "Not allowed in the current state",
	typeTooLarge:     "The request body is too large",
	typeMediaType:    "Send JSON",
	typeUnavailable:  "The database is unavailable; try again shortly",
	typeInternal:     "Internal error",
}

// problem writes a problem of type typ with status code and detail.
func problem(w http.ResponseWriter, code int, typ, detail string, errs ...FieldError) {
	writeProblem(w, Problem{Type: typ, Title: titles[typ], Status: code, Detail: detail, Errors: errs})
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// unavailable says whether err means the database can't be reached (or is starting,
// stopping, or refusing connections): the client should try again, so 503, not 500.
func unavailable(err error) bool {
	var opErr *net.OpError
	var pqErr *pq.Error
	switch {
	case errors.As(err, &opErr), errors.Is(err, driver.ErrBadConn), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &pqErr):
		// 08: connection exceptions; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
		return pqErr.Code.Class() == "08" || pqErr.Code == "57P01" || pqErr.Code == "57P02" || pqErr.Code == "57P03"
	}
	return false
}

// fail answers an error no handler expected: 503 if the database is unreachable, else
// 500 with nothing of the error shown (it is logged, without personal data: the
// packages' errors carry ids, not names or addresses).
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	if unavailable(err) {
		a.log.WarnContext(r.Context(), "api: database unavailable", "route", r.Pattern, "err", err)
		w.Header().Set("Retry-After", "5")
		problem(w, http.StatusServiceUnavailable, typeUnavailable, "crier cannot reach its database at the moment.")
		return
	}
	if errors.Is(err, context.Canceled) {
		return // the client went away
	}
	a.log.ErrorContext(r.Context(), "api request failed", "route", r.Pattern, "err", err)
	problem(w, http.StatusInternalServerError, typeInternal, "Something went wrong on crier's side; it has been logged.")
}
