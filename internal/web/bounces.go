package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/crierhq/crier/internal/bounce"
)

// BouncePath is where providers post bounces and complaints: BouncePath + "ses",
// "postmark", "mailgun" or "sendgrid".
const BouncePath = "/webhooks/bounces/"

// bounceLimit bounds a bounce webhook's body: SendGrid batches events, and SES
// notifications carry the original headers.
const bounceLimit = 1 << 20

// BounceHooks are the providers' bounce webhooks: verified by Hooks, recorded by Store.
type BounceHooks struct {
	Hooks *bounce.Hooks
	Store *bounce.Store
}

// handleBounceWebhook verifies a provider's post and records its events. It answers
// 200 once they are committed (a report delivered again is recorded once), 401 without
// the credentials, 403 for a signature that does not verify, 404 for a provider that is
// unknown or has no secret configured, 400 for a verified body it can't read, and 503
// when the check or the database can't be made now, so the provider retries.
func (s *Server) handleBounceWebhook(w http.ResponseWriter, r *http.Request) {
	provider := r.PathValue("provider")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the body", http.StatusBadRequest)
		return
	}
	events, err := s.bounces.Hooks.Parse(r.Context(), provider, bounce.Request{Header: r.Header, Token: r.URL.Query().Get("token"), Body: body})
	if err != nil {
		code := http.StatusServiceUnavailable
		switch {
		case errors.Is(err, bounce.ErrUnknownProvider), errors.Is(err, bounce.ErrNotConfigured):
			code = http.StatusNotFound
		case errors.Is(err, bounce.ErrUnauthorized):
			code = http.StatusUnauthorized
		case errors.Is(err, bounce.ErrBadSignature):
			code = http.StatusForbidden
		case errors.Is(err, bounce.ErrMalformed):
			code = http.StatusBadRequest
		}
		level := slog.LevelInfo
		if code == http.StatusServiceUnavailable {
			level = slog.LevelWarn
		}
		s.log.Log(r.Context(), level, "bounce webhook refused", slog.String("provider", safeProvider(provider)),
			slog.Int("status", code), slog.String("error", bounce.Scrub(err.Error())))
		http.Error(w, strings.ToLower(http.StatusText(code)), code)
		return
	}
	sum, err := s.bounces.Store.RecordAll(r.Context(), events)
	if err != nil {
		s.log.ErrorContext(r.Context(), "bounce webhook not recorded", slog.String("provider", provider), slog.String("error", bounce.Scrub(err.Error())))
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	if len(events) > 0 {
		s.log.InfoContext(r.Context(), "bounce webhook", slog.String("provider", provider), slog.Int("events", len(events)),
			slog.Int("recorded", sum.Recorded), slog.Int("duplicates", sum.Duplicates), slog.Int("unmatched", sum.Unmatched),
			slog.Int("suppressed", sum.Suppressed), slog.Int("withdrawn", sum.Withdrawn))
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// safeProvider keeps an unknown provider name short and printable for the log.
func safeProvider(p string) string {
	for _, known := range bounce.Providers {
		if p == known {
			return p
		}
	}
	return "unknown"
}
