package sms

// This file sends SMS through Twilio's Messages API with twilio-go, and holds the table
// of Twilio error codes that decides what Crier does with each failure, both when a
// create is refused and when a status callback reports a message undelivered.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/crierhq/crier/internal/dispatch"
)

// Defaults and bounds of TwilioSender.
const (
	twDefaultTimeout = 30 * time.Second
	// twMaxErrorBody bounds how much of an error response is read (Twilio's are < 1 KiB).
	twMaxErrorBody = 64 << 10
	// twMaxRetryAfter caps a Retry-After hint, so a bad header can't park the channel for
	// days; it matches the outbox's longest backoff.
	twMaxRetryAfter = time.Hour
	// twIdleConnsPerHost keeps enough idle connections for the dispatcher's SMS workers,
	// which all talk to one host.
	twIdleConnsPerHost = 16
)

// PointInvalid is ErrorCode.PointStatus for codes that show the number itself can't take
// SMS: the contact point is marked invalid.
const PointInvalid = "invalid"

var (
	twAccountSIDRe = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	twServiceSIDRe = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	twE164Re       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	twShortCodeRe  = regexp.MustCompile(`^[0-9]{3,8}$`)
	// twAlphaSenderRe is an alphanumeric sender ID: up to 11 letters, digits and spaces
	// (at least one letter, checked separately).
	twAlphaSenderRe = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	// twTokenRe is what twilio-go accepts as a password (it refuses anything else with
	// error 21224 before sending).
	twTokenRe = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// errTwTimeout is the cause of a request that ran into TwilioConfig.Timeout.
var errTwTimeout = errors.New("twilio request timed out")

// TwilioConfig configures TwilioSender. Its String, GoString and LogValue methods leave
// the auth token out, so the config can be printed or logged.
type TwilioConfig struct {
	AccountSID string // CRIER_TWILIO_ACCOUNT_SID: "AC" and 32 hex digits
	AuthToken  string // CRIER_TWILIO_AUTH_TOKEN: never logged, never in an error
	// From is the sender (CRIER_TWILIO_FROM): an E.164 number, a short code or an
	// alphanumeric sender ID of up to 11 characters.
	From string
	// MessagingServiceSID (CRIER_TWILIO_MESSAGING_SERVICE_SID, "MG" and 32 hex digits) is
	// used instead of From when set: Twilio then picks the sender from the service's pool.
	MessagingServiceSID string
	// StatusCallback is the absolute http(s) URL Twilio POSTs status changes to; "" asks
	// for none.
	StatusCallback string
	// APIURL (CRIER_TWILIO_API_URL), e.g. "http://127.0.0.1:8025", sends every request to
	// that scheme and host instead of Twilio's: the sandbox in tests and the demo. ""
	// means the real Twilio API.
	APIURL string
	// Timeout bounds one create request, connecting included; default 30s.
	Timeout time.Duration
}

// String describes the config without the auth token.
func (c TwilioConfig) String() string {
	return fmt.Sprintf("TwilioConfig{AccountSID:%s AuthToken:%s From:%s MessagingServiceSID:%s StatusCallback:%s APIURL:%s Timeout:%s}",
		c.AccountSID, twRedacted(c.AuthToken), c.From, c.MessagingServiceSID, c.StatusCallback, c.APIURL, c.Timeout)
}

// GoString is String, so %#v doesn't print the auth token either.
func (c TwilioConfig) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the auth token.
func (c TwilioConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("account_sid", c.AccountSID),
		slog.String("auth_token", twRedacted(c.AuthToken)),
		slog.String("from", c.From),
		slog.String("messaging_service_sid", c.MessagingServiceSID),
		slog.String("status_callback", c.StatusCallback),
		slog.String("api_url", c.APIURL),
		slog.Duration("timeout", c.Timeout),
	)
}

func twRedacted(secret string) string {
	if secret == "" {
		return ""
	}
	return "[redacted]"
}

// TwilioSender sends SMS through Twilio's Messages API. It implements dispatch.Sender and
// is safe for concurrent use.
//
// Twilio has no idempotency key for Messages, so a create whose answer is lost after the
// request went out (a timeout, a dropped connection) is ambiguous: Twilio may have
// accepted it. Such failures are ErrUnknown — the outbox records them as unknown, as after
// a crash, for an officer to resend — while a failure before the request went out (no
// connection) is ErrTemporary and retried.
type TwilioSender struct {
	cfg    TwilioConfig
	logger *slog.Logger
	creds  *client.Credentials
	target *url.URL        // nil: the real API
	base   *http.Transport // shared connection pool
}

var _ dispatch.Sender = (*TwilioSender)(nil)

// NewTwilioSender checks cfg and builds a sender. It makes no request: a wrong token shows
// on the first Send (error 20003).
func NewTwilioSender(cfg TwilioConfig, logger *slog.Logger) (*TwilioSender, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	switch {
	case cfg.AccountSID == "":
		bad("CRIER_TWILIO_ACCOUNT_SID is required")
	case !twAccountSIDRe.MatchString(cfg.AccountSID):
		bad(`CRIER_TWILIO_ACCOUNT_SID must be "AC" and 32 hex digits`)
	}
	// Never quote the token, even when it is wrong.
	switch {
	case cfg.AuthToken == "":
		bad("CRIER_TWILIO_AUTH_TOKEN is required")
	case !twTokenRe.MatchString(cfg.AuthToken):
		bad("CRIER_TWILIO_AUTH_TOKEN must be letters and digits only")
	}
	switch {
	case cfg.MessagingServiceSID != "":
		if !twServiceSIDRe.MatchString(cfg.MessagingServiceSID) {
			bad(`CRIER_TWILIO_MESSAGING_SERVICE_SID must be "MG" and 32 hex digits`)
		}
	case cfg.From == "":
		bad("set CRIER_TWILIO_FROM (the sending number or sender ID) or CRIER_TWILIO_MESSAGING_SERVICE_SID")
	case !twValidFrom(cfg.From):
		bad("CRIER_TWILIO_FROM %q must be an E.164 number (+447700900123), a short code, or a sender ID of up to 11 letters, digits and spaces", cfg.From)
	}
	if cfg.StatusCallback != "" {
		if u, err := url.Parse(cfg.StatusCallback); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("the status callback URL must be an absolute http or https URL")
		}
	}
	var target *url.URL
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			bad("CRIER_TWILIO_API_URL must be an absolute http or https URL, e.g. http://127.0.0.1:8025")
		case u.User != nil:
			bad("CRIER_TWILIO_API_URL must not hold credentials")
		case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
			bad("CRIER_TWILIO_API_URL must be only a scheme and host (requests keep Twilio's paths), e.g. http://127.0.0.1:8025")
		default:
			target = &url.URL{Scheme: u.Scheme, Host: u.Host}
		}
	}
	switch {
	case cfg.Timeout < 0:
		bad("the Twilio timeout must not be negative")
	case cfg.Timeout == 0:
		cfg.Timeout = twDefaultTimeout
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("twilio sender: %s", strings.Join(problems, "; "))
	}

	if cfg.MessagingServiceSID != "" && cfg.From != "" {
		logger.Info("twilio sender: CRIER_TWILIO_MESSAGING_SERVICE_SID is set, so CRIER_TWILIO_FROM is ignored")
		cfg.From = ""
	}
	if target != nil && target.Scheme == "http" && !twLoopback(target.Hostname()) {
		logger.Warn("twilio sender: CRIER_TWILIO_API_URL is plain http to a host that is not loopback: the auth token crosses the network unencrypted",
			slog.String("api_url", target.String()))
	}

	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, errors.New("twilio sender: http.DefaultTransport is not an *http.Transport")
	}
	tr := base.Clone()
	tr.MaxIdleConnsPerHost = twIdleConnsPerHost
	return &TwilioSender{
		cfg:    cfg,
		logger: logger,
		creds:  client.NewCredentials(cfg.AccountSID, cfg.AuthToken),
		target: target,
		base:   tr,
	}, nil
}

// twValidFrom reports whether from is an E.164 number, a short code or an alphanumeric
// sender ID with at least one letter.
func twValidFrom(from string) bool {
	if twE164Re.MatchString(from) || twShortCodeRe.MatchString(from) {
		return true
	}
	return twAlphaSenderRe.MatchString(from) && strings.ContainsFunc(from, func(r rune) bool {
		return (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z')
	})
}

// twLoopback reports whether host is localhost or a loopback address.
func twLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Channel implements dispatch.Sender.
func (s *TwilioSender) Channel() dispatch.Channel { return dispatch.SMS }

// Send creates one message: To m.To, Body m.Text, from the configured sender or Messaging
// Service (m.From is not used: the sender identity is configuration), with the configured
// StatusCallback. The receipt's ProviderID is the message SID, which status callbacks
// quote.
//
// Failures are *dispatch.SendError values classified by ErrorCodes (see MarkdownTable);
// their Reason never quotes Twilio's message, which contains the phone number. If ctx ends
// first, Send returns an error that matches ctx.Err().
func (s *TwilioSender) Send(ctx context.Context, m dispatch.Message) (dispatch.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return dispatch.Receipt{}, fmt.Errorf("send outbox %d: %w", m.OutboxID, err)
	}
	rctx, cancel := context.WithTimeoutCause(ctx, s.cfg.Timeout, errTwTimeout)
	defer cancel()

	// twilio-go v1.31 has no context-taking variant of CreateMessage: Client.SendRequest
	// builds every request with context.Background(). So each Send gets its own
	// lightweight client.Client and http.Client whose transport puts rctx on the request
	// (and rewrites the host for APIURL) before handing it to the shared *http.Transport.
	// Cancelling ctx then aborts the request at once, wherever it is (dialling, writing,
	// waiting for the answer, reading it), and connections are still pooled across sends.
	// http.Client.Timeout alone would honour neither the caller's cancellation nor its
	// deadline. (net/http never resends a POST that may have reached the server, so the
	// transport itself can't duplicate a message.)
	var ex twExchange
	c := &client.Client{
		Credentials: s.creds,
		HTTPClient: &http.Client{
			Transport: &twTransport{ctx: rctx, target: s.target, next: s.base, ex: &ex},
			// As twilio-go's default client: a redirect is an answer, not something to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		UserAgentExtensions: []string{"crier"},
	}
	c.SetAccountSid(s.cfg.AccountSID)

	params := &openapi.CreateMessageParams{}
	params.SetTo(m.To).SetBody(m.Text)
	if s.cfg.MessagingServiceSID != "" {
		params.SetMessagingServiceSid(s.cfg.MessagingServiceSID)
	} else {
		params.SetFrom(s.cfg.From)
	}
	if s.cfg.StatusCallback != "" {
		params.SetStatusCallback(s.cfg.StatusCallback)
	}

	msg, err := openapi.NewApiServiceWithClient(c).CreateMessage(params)
	if err != nil {
		if ex.status >= 200 && ex.status <= 299 {
			// Twilio created the message but its answer was unreadable (or cut off by
			// ctx). Retrying would send a second copy, so count it sent; its status
			// callbacks can't be matched.
			s.logger.WarnContext(ctx, "twilio accepted an sms but its answer was unreadable",
				slog.Int64("outbox_id", m.OutboxID), slog.Int("http_status", ex.status))
			return dispatch.Receipt{}, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			if ex.wrote.Load() && ex.status == 0 {
				// Cancelled after the request went out: Twilio may have it.
				return dispatch.Receipt{}, &dispatch.SendError{Kind: dispatch.ErrUnknown, Err: ctxErr,
					Reason: "stopped waiting for the Twilio API's answer; it may have accepted the message"}
			}
			return dispatch.Receipt{}, fmt.Errorf("send outbox %d: %w", m.OutboxID, ctxErr)
		}
		se := twClassify(err, &ex, context.Cause(rctx), s.cfg.Timeout)
		s.logger.DebugContext(ctx, "sms not sent",
			slog.Int64("outbox_id", m.OutboxID), slog.Int64("contact_id", m.ContactID),
			slog.String("code", se.Code), slog.String("reason", se.Reason))
		return dispatch.Receipt{}, se
	}
	var sid string
	if msg.Sid != nil {
		sid = *msg.Sid
	}
	if sid == "" {
		s.logger.WarnContext(ctx, "twilio accepted an sms without a SID", slog.Int64("outbox_id", m.OutboxID))
	}
	s.logger.DebugContext(ctx, "sms sent",
		slog.Int64("outbox_id", m.OutboxID), slog.Int64("contact_id", m.ContactID), slog.String("provider_id", sid))
	return dispatch.Receipt{ProviderID: sid}, nil
}

// CloseIdleConnections closes the sender's idle connections to the API. The sender stays
// usable.
func (s *TwilioSender) CloseIdleConnections() { s.base.CloseIdleConnections() }

// twExchange is what the transport saw of the one response to a Send; twilio-go doesn't
// expose the status or headers of an error response. Client.Do calls RoundTrip on the
// caller's goroutine, so no lock is needed.
type twExchange struct {
	status     int           // 0 when no response arrived
	retryAfter time.Duration // from Retry-After
	// wrote records that the whole request went out: a failure after that is ambiguous
	// (Twilio may have created the message), before it the message cannot have left.
	wrote atomic.Bool
}

// twTransport puts one Send's context on its request, rewrites the scheme and host when
// target is set, and records the response's status and Retry-After.
type twTransport struct {
	ctx    context.Context
	target *url.URL // nil: leave the URL alone
	next   http.RoundTripper
	ex     *twExchange
}

// RoundTrip implements http.RoundTripper. It must not modify r, so it works on a clone.
func (t *twTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := httptrace.WithClientTrace(t.ctx, &httptrace.ClientTrace{
		WroteRequest: func(w httptrace.WroteRequestInfo) {
			if w.Err == nil {
				t.ex.wrote.Store(true)
			}
		},
	})
	r2 := r.Clone(ctx)
	if t.target != nil {
		r2.URL.Scheme = t.target.Scheme
		r2.URL.Host = t.target.Host
		r2.Host = t.target.Host
	}
	resp, err := t.next.RoundTrip(r2)
	if err != nil {
		return nil, err
	}
	t.ex.status = resp.StatusCode
	t.ex.retryAfter = twParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if resp.StatusCode >= 400 {
		// twilio-go decodes an error body but never closes it: unless its JSON decoder
		// happens to read to the very end (not so with a chunked answer), the connection
		// and its goroutines stay stuck. Read it here, bounded, and close it, so the
		// connection goes back to the pool; twilio-go gets the bytes.
		b, _ := io.ReadAll(io.LimitReader(resp.Body, twMaxErrorBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

// twParseRetryAfter reads a Retry-After header (delay in seconds, or an HTTP date),
// capped at twMaxRetryAfter; 0 when absent or unreadable.
func twParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n >= int64(twMaxRetryAfter/time.Second) {
			return twMaxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), twMaxRetryAfter)
}

// ErrorCode is one row of the table that says what Crier does with a Twilio error code.
type ErrorCode struct {
	Code     int
	Meaning  string // short, free of personal data: it becomes the stored reason
	Handling string // what Crier does, for docs/sms.md
	// Kind classifies a refused create: one of dispatch.ErrTemporary, ErrPermanent,
	// ErrOptedOut or ErrThrottled. Nil for codes that only arrive in status callbacks.
	Kind error
	// PointStatus is PointInvalid when the contact point must be marked invalid, else "".
	// It is the number's fate, apart from the message's: 21617 fails the message (Kind
	// ErrPermanent) but leaves the number alone.
	PointStatus string
}

// ErrorCodes is the single source of truth for Twilio error codes, sorted by code: the
// sender classifies refused creates with it, CallbackOutcome takes reasons from it, and
// MarkdownTable renders it for docs/sms.md.
//
// The rules behind it: a code that shows the resident's number is bad (21211, 21614, and
// in callbacks 30005, 30006) marks the point invalid; 21610 records the resident's
// withdrawal. A code that shows a problem with Crier's own configuration or account
// (20003, 20404, 21408, 21603, 21606, 21609, 21612, 21705) is ErrTemporary, never the
// resident's fault: messages wait and retry, and the reason says what to fix. Anything
// Twilio asks us to slow down for is ErrThrottled. Codes not listed here are ErrTemporary
// (ErrThrottled for HTTP 429), so an unknown code can never lose a message or mark a
// resident; after the last attempt the message fails with the code in its reason.
var ErrorCodes = []ErrorCode{
	{20003, "Twilio refused the credentials: check CRIER_TWILIO_ACCOUNT_SID and CRIER_TWILIO_AUTH_TOKEN",
		"Retried with backoff: messages wait while the configuration is fixed; residents are not marked.", dispatch.ErrTemporary, ""},
	{20404, "Twilio API resource not found: check CRIER_TWILIO_ACCOUNT_SID and CRIER_TWILIO_API_URL",
		"Retried with backoff; residents are not marked.", dispatch.ErrTemporary, ""},
	{20429, "too many requests: Twilio asked us to slow down",
		"Retried after a backoff (at least Retry-After); the SMS channel pauses.", dispatch.ErrThrottled, ""},
	{20500, "Twilio internal server error",
		"Retried with backoff.", dispatch.ErrTemporary, ""},
	{20503, "Twilio service unavailable",
		"Retried with backoff.", dispatch.ErrTemporary, ""},
	{21211, "invalid 'To' phone number",
		"Not retried; the number is marked invalid.", dispatch.ErrPermanent, PointInvalid},
	{21408, "SMS to this country is not enabled on the Twilio account (Geo Permissions)",
		"Retried with backoff: our account's setting, not the resident's number, so nothing is marked; enable the country in the Twilio console.", dispatch.ErrTemporary, ""},
	{21603, "no sender: set CRIER_TWILIO_FROM or CRIER_TWILIO_MESSAGING_SERVICE_SID",
		"Retried with backoff; residents are not marked.", dispatch.ErrTemporary, ""},
	{21606, "the sender is not an SMS-capable number of this Twilio account: check CRIER_TWILIO_FROM",
		"Retried with backoff; residents are not marked.", dispatch.ErrTemporary, ""},
	{21609, "Twilio refused the status callback URL",
		"Retried with backoff; residents are not marked.", dispatch.ErrTemporary, ""},
	{21610, "the recipient replied STOP to this sender",
		"Not retried; a withdrawal from every topic is recorded (until they text START).", dispatch.ErrOptedOut, ""},
	{21611, "the sender's queue of outgoing messages is full",
		"Retried after a backoff; the SMS channel pauses.", dispatch.ErrThrottled, ""},
	{21612, "Twilio can't route from our sender to this number: check CRIER_TWILIO_FROM or the Messaging Service's senders",
		"Retried with backoff: usually the sender's capabilities, so the number is not marked.", dispatch.ErrTemporary, ""},
	{21614, "'To' number is not a mobile number",
		"Not retried; the number is marked invalid (it can't take SMS).", dispatch.ErrPermanent, PointInvalid},
	{21617, "message body exceeds 1600 characters",
		"Not retried: this message fails; the number stays valid. Shorten the message.", dispatch.ErrPermanent, ""},
	{21705, "invalid Messaging Service: check CRIER_TWILIO_MESSAGING_SERVICE_SID",
		"Retried with backoff; residents are not marked.", dispatch.ErrTemporary, ""},
	{30001, "queue overflow: Twilio dropped the message",
		"Status callback: the message is marked failed; send more slowly.", dispatch.ErrThrottled, ""},
	{30003, "unreachable handset (switched off or out of coverage)",
		"Status callback: the message is marked failed; the number stays valid.", nil, ""},
	{30004, "message blocked by the recipient or their carrier",
		"Status callback: the message is marked failed; the number stays valid.", nil, ""},
	{30005, "unknown or inactive number",
		"Status callback: the message is marked failed and the number invalid.", nil, PointInvalid},
	{30006, "landline or unreachable carrier",
		"Status callback: the message is marked failed and the number invalid.", nil, PointInvalid},
	{30007, "filtered by the carrier (spam or policy)",
		"Status callback: the message is marked failed; the number stays valid. Review the content and the sender's registration.", nil, ""},
	{30008, "unknown delivery error",
		"Status callback: the message is marked failed; the number stays valid.", nil, ""},
}

// The cases no single code covers. The classifier uses these rows and MarkdownTable lists
// them after ErrorCodes, each under its label.
var (
	twRowThrottled = ErrorCode{Meaning: "Twilio asked us to slow down",
		Handling: "Retried after a backoff (at least Retry-After); the SMS channel pauses.", Kind: dispatch.ErrThrottled}
	twRowServer = ErrorCode{Meaning: "Twilio server error",
		Handling: "Retried with backoff.", Kind: dispatch.ErrTemporary}
	twRowNetwork = ErrorCode{Meaning: "could not reach the Twilio API",
		Handling: "Retried with backoff: the request never reached Twilio, so nothing can arrive twice.",
		Kind:     dispatch.ErrTemporary}
	twRowTimeout = ErrorCode{Meaning: "no answer after the request went out (a timeout or a dropped connection): Twilio may have accepted the message",
		Handling: "Marked unknown, as after a crash: not resent automatically (Twilio has no idempotency key, so a resend could arrive twice) and not dropped; `crier campaign resend-unknown` sends them again when an officer decides.",
		Kind:     dispatch.ErrUnknown}
	twRowUnknown = ErrorCode{Meaning: "a Twilio error Crier doesn't know",
		Handling: "Retried with backoff, then failed after the last attempt with the code in the reason; residents are never marked for an unknown code.",
		Kind:     dispatch.ErrTemporary}
	twFallbacks = []struct {
		label string
		row   ErrorCode
	}{
		{"HTTP 429, other codes", twRowThrottled},
		{"HTTP 5xx, other codes", twRowServer},
		{"network error", twRowNetwork},
		{"no answer", twRowTimeout},
		{"any other code", twRowUnknown},
	}
)

// LookupCode returns the row of ErrorCodes for a Twilio error code.
func LookupCode(code int) (ErrorCode, bool) {
	i := slices.IndexFunc(ErrorCodes, func(e ErrorCode) bool { return e.Code == code })
	if i < 0 {
		return ErrorCode{}, false
	}
	return ErrorCodes[i], true
}

// MarkdownTable renders ErrorCodes, and the cases without a single code, as a Markdown
// table with the columns Code, Meaning and What Crier does.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Code | Meaning | What Crier does |\n")
	b.WriteString("|------|---------|-----------------|\n")
	row := func(code, meaning, handling string) {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", twMarkdownCell(code), twMarkdownCell(meaning), twMarkdownCell(handling))
	}
	for _, e := range ErrorCodes {
		row(strconv.Itoa(e.Code), e.Meaning, e.Handling)
	}
	for _, f := range twFallbacks {
		row(f.label, f.row.Meaning, f.row.Handling)
	}
	return b.String()
}

// twMarkdownCell escapes what would break a table cell.
func twMarkdownCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// twClassify turns a failed create into a SendError. cause is context.Cause of the
// request's context (errTwTimeout when TwilioConfig.Timeout ran out).
func twClassify(err error, ex *twExchange, cause error, timeout time.Duration) *dispatch.SendError {
	code, status := 0, ex.status
	var te *client.TwilioRestError
	var ve *client.RestErrorV1
	switch {
	case errors.As(err, &te):
		code = te.Code
		if te.Status != 0 && status == 0 {
			status = te.Status // twilio-go's own checks, made before any request
		}
	case errors.As(err, &ve):
		code = ve.Code
		if ve.HttpStatusCode != 0 && status == 0 {
			status = ve.HttpStatusCode
		}
	}
	se := &dispatch.SendError{Err: err}
	if code != 0 {
		se.Code = strconv.Itoa(code)
	}
	row, known := LookupCode(code)
	switch {
	case known && row.Kind != nil:
		se.Kind, se.Reason = row.Kind, row.Meaning
		// A permanent code that says nothing about the number (21617: too long) fails
		// only this message.
		se.MessageOnly = row.Kind == dispatch.ErrPermanent && row.PointStatus == ""
	case status == http.StatusTooManyRequests:
		if se.Code == "" {
			se.Code = "20429"
		}
		se.Kind, se.Reason = twRowThrottled.Kind, twRowThrottled.Meaning
	case status == http.StatusUnauthorized && code == 0:
		auth, _ := LookupCode(20003)
		se.Code, se.Kind, se.Reason = "20003", auth.Kind, auth.Meaning
	case status >= 500:
		if se.Code == "" {
			se.Code = strconv.Itoa(status)
		}
		se.Kind, se.Reason = twRowServer.Kind, fmt.Sprintf("%s (HTTP %d)", twRowServer.Meaning, status)
	case code != 0:
		se.Kind = twRowUnknown.Kind
		se.Reason = fmt.Sprintf("Twilio error %d (HTTP %d), not in Crier's table: see https://www.twilio.com/docs/errors/%d", code, status, code)
	case status != 0:
		// An answer that isn't Twilio's error JSON: a proxy, a redirect, a half-read body.
		se.Code = strconv.Itoa(status)
		se.Kind, se.Reason = twRowUnknown.Kind, fmt.Sprintf("unexpected answer from the Twilio API (HTTP %d)", status)
	case ex.wrote.Load():
		// The request reached Twilio and no answer came back (a timeout, a dropped
		// connection): it may have created the message, so resending could text the
		// resident twice.
		se.Kind, se.Reason = twRowTimeout.Kind, "no answer from the Twilio API after the request was sent; it may have accepted the message"
		if errors.Is(cause, errTwTimeout) {
			se.Reason = fmt.Sprintf("no answer from the Twilio API within %s; it may have accepted the message", timeout)
		}
	default:
		// Nothing went out (no connection, a timeout while connecting): safe to retry.
		se.Kind, se.Reason = twRowNetwork.Kind, twNetworkReason(err)
	}
	if se.Kind == dispatch.ErrThrottled {
		se.RetryAfter = ex.retryAfter
	}
	// No connection to the API, or our credentials refused: the SMS channel is down,
	// whoever the text is for. (A 5xx answers one request: it is retried with backoff, as
	// one message's trouble, so a single failing request can't make the channel flap.)
	se.Down = se.Kind == dispatch.ErrTemporary && (status == 0 && !ex.wrote.Load() || status == http.StatusUnauthorized)
	return se
}

// twNetworkReason describes a failure to get any answer, without quoting err (which names
// the API's URL but nothing personal; it is kept in SendError.Err).
func twNetworkReason(err error) string {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &dnsErr):
		return "could not resolve the Twilio API's host name"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "could not connect to the Twilio API"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer from the Twilio API in time; it may have accepted the message"
	}
	return "the connection to the Twilio API failed; it may have accepted the message"
}

// The outbox states a status callback can move a message to.
const (
	StateSent      = "sent"
	StateDelivered = "delivered"
	StateFailed    = "failed"
)

// CallbackOutcome judges a status callback (Twilio's MessageStatus and ErrorCode, 0 when
// absent). It returns the outbox state the message moves to, a reason (no personal data)
// and whether the status is final:
//
//	accepted, scheduled, queued, sending, sent  sent       not final
//	delivered, read                             delivered  final
//	undelivered, failed                         failed     final, reason from ErrorCodes
//	canceled                                    failed     final
//
// An unknown status (e.g. an inbound "received") returns "", "", false: ignore it. Apply
// a callback only when its StatusRank is above the message's current rank.
//
// What the error means for the resident is LookupCode(errorCode): PointStatus says
// whether the number is dead (30005, 30006), and Kind dispatch.ErrOptedOut means they
// texted STOP. With a Messaging Service Twilio may accept a create and report a refusal
// such as 21610, 21211 or 21614 only in a "failed" callback, so the callback handler must
// act on those as the sender does on a refused create.
func CallbackOutcome(status string, errorCode int) (state string, reason string, final bool) {
	status = strings.ToLower(strings.TrimSpace(status))
	switch status {
	case "accepted", "scheduled", "queued", "sending", "sent":
		return StateSent, "", false
	case "delivered", "read":
		return StateDelivered, "", true
	case "undelivered", "failed":
		switch row, ok := LookupCode(errorCode); {
		case ok:
			return StateFailed, fmt.Sprintf("%s (%d): %s", status, errorCode, row.Meaning), true
		case errorCode != 0:
			return StateFailed, fmt.Sprintf("%s (%d): Twilio error not in Crier's table", status, errorCode), true
		case status == "undelivered":
			return StateFailed, "undelivered: the carrier could not deliver it", true
		default:
			return StateFailed, "failed: Twilio could not send it", true
		}
	case "canceled":
		return StateFailed, "canceled: cancelled before it was sent", true
	}
	return "", "", false
}

// StatusRank orders Twilio's MessageStatus values so a status never overwrites a later
// one (callbacks can arrive out of order, and be repeated):
//
//	0  unknown ("", received, ...)
//	1  accepted, scheduled
//	2  queued
//	3  sending
//	4  sent
//	5  delivered, undelivered, failed, read, canceled (final)
//
// Apply a status only when its rank is strictly higher than the current one: final
// statuses share the top rank, so the first final status wins and repeats change nothing.
// The outbox's own states sent, delivered and failed rank as the Twilio statuses of the
// same name.
func StatusRank(status string) int {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "accepted", "scheduled":
		return 1
	case "queued":
		return 2
	case "sending":
		return 3
	case "sent":
		return 4
	case "delivered", "undelivered", "failed", "read", "canceled":
		return 5
	}
	return 0
}
