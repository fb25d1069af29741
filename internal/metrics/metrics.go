// Package metrics exposes Crier's Prometheus metrics at /metrics, on a registry of its
// own (nothing a library registers globally leaks in).
//
// Two kinds of metric:
//
//   - counted in this process, as things happen: messages settled by the workers, by
//     channel and outcome; provider errors by code; the latency of Twilio's webhooks.
//     Each `crier serve` counts its own: sum them across instances.
//   - read from the database at scrape time, with a timeout: the outbox's depth and the
//     age of its oldest due message, each channel's health, and the rows of every import
//     (including those made with `crier contacts import`). They are the same whichever
//     instance is scraped: use max() across instances, not sum().
//
// No metric carries personal data: labels are channels, outcomes, provider codes,
// webhook names and HTTP status codes.
package metrics

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/outbox"
)

// Path is where the metrics are served.
const Path = "/metrics"

// The Twilio webhooks whose latency is measured, by path (internal/web's InboundPath and
// StatusPath) and the webhook label they get.
var webhooks = map[string]string{
	"/twilio/sms":    "sms_inbound",
	"/twilio/status": "sms_status",
}

// Config configures the metrics.
type Config struct {
	// Token is the bearer token a scraper must send (CRIER_METRICS_TOKEN). Empty turns
	// /metrics off: it answers 404, as if it did not exist.
	Token string
	// QueryTimeout bounds the database queries of one scrape (default 3s). A query that
	// fails or times out leaves its metrics out of that scrape and counts in
	// crier_metrics_query_errors_total.
	QueryTimeout time.Duration
}

// Metrics holds the registry and the in-process metrics. A nil *Metrics is valid and
// records nothing.
type Metrics struct {
	reg     *prometheus.Registry
	token   [32]byte // SHA-256 of the token, compared in constant time
	enabled bool

	messages       *prometheus.CounterVec
	reports        *prometheus.CounterVec
	providerErrors *prometheus.CounterVec
	webhook        *prometheus.HistogramVec
}

// New returns the metrics of one crier process, with the database collector on db (nil:
// no database metrics).
func New(db *sqlx.DB, cfg Config) *Metrics {
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 3 * time.Second
	}
	m := &Metrics{reg: prometheus.NewRegistry(), enabled: cfg.Token != "", token: sha256.Sum256([]byte(cfg.Token))}
	m.messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "crier_messages_total",
		Help: "Messages settled by this process's workers, by channel and outcome (sent: the provider accepted it; retry, bounced, opted_out, failed, unknown).",
	}, []string{"channel", "outcome"})
	m.reports = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "crier_delivery_reports_total",
		Help: "Delivery reports (Twilio status callbacks) stored, by channel and status (sent, delivered, undelivered, failed, ...).",
	}, []string{"channel", "status"})
	m.providerErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "crier_provider_errors_total",
		Help: "Sends the provider refused or that failed, by channel, class (temporary, permanent, opted_out, throttled, unknown, down; delivery: a failed delivery report) and provider code (SMTP reply or Twilio error code; none when there was no answer).",
	}, []string{"channel", "class", "code"})
	m.webhook = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "crier_webhook_duration_seconds",
		Help:    "Time to answer Twilio's webhooks (sms_inbound: residents' texts; sms_status: delivery reports), by HTTP status code.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"webhook", "code"})
	m.reg.MustRegister(m.messages, m.reports, m.providerErrors, m.webhook,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.reg.MustRegister(newDBCollector(db, cfg.QueryTimeout))
	}
	// Every channel and outcome is shown from the start, at 0, so that rate() and
	// alerts see a series before the first message.
	for _, ch := range []dispatch.Channel{dispatch.Email, dispatch.SMS} {
		for _, o := range outcomes {
			m.messages.WithLabelValues(string(ch), o)
		}
	}
	return m
}

// Registry is the registry the metrics are on (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// outcomes names outbox.Outcome values, in their order.
var outcomes = []string{
	outbox.Sent:     "sent",
	outbox.Retry:    "retry",
	outbox.Bounced:  "bounced",
	outbox.OptedOut: "opted_out",
	outbox.Failed:   "failed",
	outbox.Unknown:  "unknown",
}

func outcomeName(o outbox.Outcome) string {
	if int(o) >= 0 && int(o) < len(outcomes) {
		return outcomes[o]
	}
	return "other"
}

// Settled counts one settled message (dispatch.Observer).
func (m *Metrics) Settled(ch dispatch.Channel, o outbox.Outcome, err error) {
	if m == nil {
		return
	}
	m.messages.WithLabelValues(string(ch), outcomeName(o)).Inc()
	if err == nil {
		return
	}
	class, code := "temporary", "none"
	var se *dispatch.SendError
	if errors.As(err, &se) {
		if se.Code != "" {
			code = label(se.Code)
		}
		switch {
		case se.Down:
			class = "down"
		case errors.Is(err, dispatch.ErrPermanent):
			class = "permanent"
		case errors.Is(err, dispatch.ErrOptedOut):
			class = "opted_out"
		case errors.Is(err, dispatch.ErrThrottled):
			class = "throttled"
		case errors.Is(err, dispatch.ErrUnknown):
			class = "unknown"
		}
	} else if errors.Is(err, context.DeadlineExceeded) {
		class = "unknown"
	}
	m.providerErrors.WithLabelValues(string(ch), class, code).Inc()
}

// DeliveryReport counts one stored delivery report of a text (web.TwilioHooks.OnStatus):
// its status, and its error code, if any, as a provider error of class delivery.
func (m *Metrics) DeliveryReport(status string, errorCode int) {
	if m == nil {
		return
	}
	m.reports.WithLabelValues("sms", label(strings.ToLower(status))).Inc()
	if errorCode != 0 {
		m.providerErrors.WithLabelValues("sms", "delivery", strconv.Itoa(errorCode)).Inc()
	}
}

// label keeps a provider code a short token of digits, letters and dots, so that
// nothing else (an address in a malformed reply) can become a label value.
func label(code string) string {
	if len(code) > 16 {
		return "other"
	}
	for _, r := range code {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.') {
			return "other"
		}
	}
	return code
}

// Wrap returns next with /metrics in front of it and the Twilio webhooks timed.
func (m *Metrics) Wrap(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == Path {
			m.ServeHTTP(w, r)
			return
		}
		hook, ok := webhooks[r.URL.Path]
		if !ok || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		m.webhook.WithLabelValues(hook, strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	})
}

// ServeHTTP serves the metrics to a scraper with the bearer token: 404 when no token is
// configured, 401 without the right one.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !m.enabled {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
	if !ok || subtle.ConstantTimeCompare(sum[:], m.token[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="crier metrics"`)
		http.Error(w, "unauthorized: send Authorization: Bearer <CRIER_METRICS_TOKEN>", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
