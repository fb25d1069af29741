// Package sandbox runs stand-ins for the services Crier talks to, on loopback, for tests
// and the demo: an SMTP server (StartSMTP), a minimal SMTP sink for benchmarks (StartSink)
// and a Twilio-compatible SMS API, the "sandbox phone" (StartTwilio).
//
// # The Twilio sandbox
//
// TwilioServer answers the parts of Twilio's REST API that Crier uses, with Twilio's
// status codes and error JSON, so the real twilio-go library can talk to it:
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json        create a message
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json  fetch its current status
//
// Requests need HTTP basic auth with the configured account SID and auth token. After a
// create it POSTs status callbacks, signed with X-Twilio-Signature exactly as Twilio signs
// them, and SendInbound plays a resident replying from their phone.
//
// Recipients in Ofcom's drama range (+447700900000 to +447700900999, never allocated to
// real people) pick the outcome; every other valid number is delivered:
//
//	To              create answer                 then status callbacks
//	+447700900001   400, 21211 invalid 'To'       none
//	+447700900002   400, 21614 not a mobile       none
//	+447700900003   400, 21610 unsubscribed       none
//	+447700900004   201 queued                    sent, undelivered (ErrorCode 30003)
//	+447700900005   201 queued                    failed (ErrorCode 30007)
//	+447700900006   400, 21611 queue overflow     none
//	+447700900007   500, 20500 server error       none
//	anything else   201 queued                    sent, delivered
//
// A resident who texts STOP (or STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT)
// through SendInbound is unsubscribed: later creates to their number answer 400, 21610,
// until they text START (or YES, UNSTOP). Real Twilio keeps opt-outs per sender or
// Messaging Service; the sandbox keeps one list for all senders.
package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"
)

// twAPIVersion is the only REST API version the sandbox speaks.
const twAPIVersion = "2010-04-01"

// twMaxFormBytes bounds a create request's form, so a client can't make us hold much.
const twMaxFormBytes = 64 << 10

// twMaxBodyChars is Twilio's limit on a message body (error 21617 above it).
const twMaxBodyChars = 1600

// twMaxReplyBytes bounds how much of a webhook's reply SendInbound reads.
const twMaxReplyBytes = 1 << 20

// twCallbackTimeout is the default HTTP client timeout for callbacks and inbound webhooks.
const twCallbackTimeout = 5 * time.Second

// The magic recipients. They are in Ofcom's range reserved for drama, so they never
// reach a real person.
const (
	twMagicInvalid      = "+447700900001"
	twMagicLandline     = "+447700900002"
	twMagicUnsubscribed = "+447700900003"
	twMagicUnreachable  = "+447700900004"
	twMagicFiltered     = "+447700900005"
	twMagicQueueFull    = "+447700900006"
	twMagicServerError  = "+447700900007"
)

var (
	twAccountSIDRe = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	twServiceSIDRe = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	twMessageSIDRe = regexp.MustCompile(`^(SM|MM)[0-9a-fA-F]{32}$`)
	twE164Re       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	// twAlphaSenderRe is an alphanumeric sender ID: up to 11 letters, digits and spaces,
	// with at least one letter.
	twAlphaSenderRe = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	twTokenRe       = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// The keywords Twilio's default opt-out handling recognises in an inbound message, matched
// against the whole trimmed body, ignoring case.
var (
	twStopWords  = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
	twStartWords = []string{"START", "YES", "UNSTOP"}
	twHelpWords  = []string{"HELP", "INFO"}
)

// TwilioConfig configures the Twilio-compatible sandbox.
type TwilioConfig struct {
	// Addr is the address to listen on; "127.0.0.1:0" (the default) picks a free port.
	Addr string
	// AccountSID is the account the API serves: "AC" and 32 hex digits. Clients use it as
	// the basic auth username and in every path.
	AccountSID string
	// AuthToken is the basic auth password. It also signs status callbacks and inbound
	// webhooks (X-Twilio-Signature). twilio-go only accepts letters and digits.
	AuthToken string
	// RatePerSec limits creates: a token bucket of this rate with a burst of the same size
	// (at least 1). A create over the limit gets HTTP 429 with Twilio error 20429.
	// Zero means unlimited.
	RatePerSec float64
	// Logger receives start, stop and callback problems. It never receives phone numbers,
	// message bodies or the auth token. Nil discards.
	Logger *slog.Logger
	// HTTPClient sends status callbacks and inbound webhooks. Nil means a client with a
	// 5 second timeout.
	HTTPClient *http.Client
	// Dir, if set, receives every accepted text as a file (the "sandbox phone"), so the
	// demo's user can read what was texted — a sign-up's confirmation code, say.
	Dir string
}

// SentSMS is one message the sandbox accepted (answered 201).
type SentSMS struct {
	SID                 string // "SM" and 32 hex digits
	From                string // empty when only MessagingServiceSID was given
	To                  string
	MessagingServiceSID string
	Body                string
	StatusCallback      string // empty when none was asked for
	At                  time.Time
}

// TwilioServer is a Twilio-compatible HTTP API on loopback. It is safe for concurrent use.
type TwilioServer struct {
	cfg     TwilioConfig
	logger  *slog.Logger
	client  *http.Client
	limiter *rate.Limiter // nil when unlimited
	ln      net.Listener
	srv     *http.Server

	// cbCtx is cancelled when the context given to StartTwilio ends, or at the end of
	// Close; it bounds every status callback.
	cbCtx     context.Context
	cbCancel  context.CancelFunc
	stopCtx   func() bool
	serveDone chan struct{}
	closeOnce sync.Once
	closeErr  error

	mu        sync.Mutex
	closed    bool
	callbacks sync.WaitGroup // one goroutine per accepted message; Add only under mu while !closed
	messages  []twMessage
	bySID     map[string]int  // SID to index in messages
	optedOut  map[string]bool // residents who texted STOP
}

// twMessage is one accepted message and its current state.
type twMessage struct {
	sent        SentSMS
	segments    int
	status      string
	errorCode   int // 0 while none
	dateUpdated time.Time
	dateSent    time.Time // zero until "sent"
}

// twStep is one status change the sandbox plays out after a create.
type twStep struct {
	status    string
	errorCode int
}

// twError is Twilio's REST error body.
type twError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// twMessageJSON is a Message resource as Twilio renders it. Pointers are null when nil.
type twMessageJSON struct {
	SID                 string            `json:"sid"`
	AccountSID          string            `json:"account_sid"`
	To                  string            `json:"to"`
	From                *string           `json:"from"`
	MessagingServiceSID *string           `json:"messaging_service_sid"`
	Body                string            `json:"body"`
	Status              string            `json:"status"`
	NumSegments         string            `json:"num_segments"`
	NumMedia            string            `json:"num_media"`
	Direction           string            `json:"direction"`
	APIVersion          string            `json:"api_version"`
	DateCreated         string            `json:"date_created"`
	DateUpdated         string            `json:"date_updated"`
	DateSent            *string           `json:"date_sent"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	URI                 string            `json:"uri"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
}

// StartTwilio starts the sandbox. It is listening when StartTwilio returns, and it stops
// when ctx is cancelled or Close is called; cancelling ctx also abandons status callbacks
// still to be sent.
func StartTwilio(ctx context.Context, cfg TwilioConfig) (*TwilioServer, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if !twAccountSIDRe.MatchString(cfg.AccountSID) {
		return nil, errors.New("start twilio sandbox: AccountSID must be \"AC\" and 32 hex digits")
	}
	if !twTokenRe.MatchString(cfg.AuthToken) {
		return nil, errors.New("start twilio sandbox: AuthToken must be non-empty letters and digits")
	}
	if cfg.RatePerSec < 0 || math.IsNaN(cfg.RatePerSec) || math.IsInf(cfg.RatePerSec, 0) {
		return nil, fmt.Errorf("start twilio sandbox: RatePerSec %v must be finite and not negative", cfg.RatePerSec)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: twCallbackTimeout}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start twilio sandbox: %w", err)
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("start twilio sandbox: listen on %s: %w", cfg.Addr, err)
	}

	s := &TwilioServer{
		cfg:       cfg,
		logger:    logger,
		client:    client,
		ln:        ln,
		serveDone: make(chan struct{}),
		bySID:     make(map[string]int),
		optedOut:  make(map[string]bool),
	}
	if cfg.RatePerSec > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.RatePerSec), max(1, int(math.Ceil(cfg.RatePerSec))))
	}
	// Callbacks outlive the request that caused them, so they hang off the server's
	// lifetime rather than the request's context.
	s.cbCtx, s.cbCancel = context.WithCancel(ctx)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{AccountSid}/Messages.json", s.handleCreate)
	mux.HandleFunc("GET /2010-04-01/Accounts/{AccountSid}/Messages/{file}", s.handleFetch)
	mux.HandleFunc("/", s.handleNotFound)
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	// Serve rather than ListenAndServe: the listen error has already surfaced above.
	go func() {
		defer close(s.serveDone)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("twilio sandbox stopped serving", slog.String("error", err.Error()))
		}
	}()
	s.stopCtx = context.AfterFunc(ctx, func() { _ = s.Close() })

	logger.InfoContext(ctx, "twilio sandbox listening", slog.String("url", s.URL()))
	return s, nil
}

// URL returns the base URL of the API, "http://127.0.0.1:port".
func (s *TwilioServer) URL() string {
	return "http://" + s.ln.Addr().String()
}

// Close stops accepting requests, waits for in-flight requests and for every message's
// status callbacks to finish (each is bounded by the HTTP client's timeout), then
// returns. Accepted messages stay readable. Close is idempotent.
func (s *TwilioServer) Close() error {
	s.closeOnce.Do(func() {
		if s.stopCtx != nil {
			s.stopCtx()
		}
		shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.srv.Shutdown(shutCtx)
		cancel()
		if err != nil {
			// Handlers that outlived the grace period are cut off.
			if cerr := s.srv.Close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
			s.closeErr = fmt.Errorf("close twilio sandbox: %w", err)
		}
		<-s.serveDone

		s.mu.Lock()
		s.closed = true
		n := len(s.messages)
		s.mu.Unlock()
		s.callbacks.Wait()
		s.cbCancel()
		s.logger.Info("twilio sandbox stopped", slog.Int("accepted", n))
	})
	return s.closeErr
}

// Messages returns a copy of the accepted messages in arrival order. Rejected creates
// (errors, 429s) are not included.
func (s *TwilioServer) Messages() []SentSMS {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SentSMS, len(s.messages))
	for i, m := range s.messages {
		out[i] = m.sent
	}
	return out
}

// SendInbound delivers a signed inbound-message webhook to url, as Twilio does when a
// resident texts one of the council's numbers: a form POST with MessageSid, SmsSid,
// SmsMessageSid, AccountSid, From, To, Body, NumMedia "0", NumSegments, SmsStatus
// "received" and ApiVersion, plus OptOutType STOP, START or HELP when the body is such a
// keyword. A STOP or START keyword also updates the sandbox's opt-out list. It returns
// the webhook's HTTP status and response body (normally TwiML); a non-2xx status is not
// an error.
func (s *TwilioServer) SendInbound(ctx context.Context, url, from, to, body string) (int, string, error) {
	form := map[string]string{
		"MessageSid":  twNewSID("SM"),
		"AccountSid":  s.cfg.AccountSID,
		"From":        from,
		"To":          to,
		"Body":        body,
		"NumMedia":    "0",
		"NumSegments": strconv.Itoa(twSegments(body)),
		"SmsStatus":   "received",
		"ApiVersion":  twAPIVersion,
	}
	form["SmsSid"] = form["MessageSid"]
	form["SmsMessageSid"] = form["MessageSid"]
	if kw := twOptOutType(body); kw != "" {
		form["OptOutType"] = kw
		s.mu.Lock()
		switch kw {
		case "STOP":
			s.optedOut[from] = true
		case "START":
			delete(s.optedOut, from)
		}
		s.mu.Unlock()
	}

	status, reply, err := s.postSigned(ctx, url, form)
	if err != nil {
		return 0, "", fmt.Errorf("send inbound message %s: %w", form["MessageSid"], err)
	}
	return status, reply, nil
}

// postSigned POSTs form to rawURL with Twilio's headers and signature, returning the
// status and (bounded) body.
func (s *TwilioServer) postSigned(ctx context.Context, rawURL string, form map[string]string) (int, string, error) {
	vals := make(url.Values, len(form))
	for k, v := range form {
		vals.Set(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(vals.Encode()))
	if err != nil {
		return 0, "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", twSign(s.cfg.AuthToken, rawURL, form))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, twMaxReplyBytes))
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("read reply: %w", err)
	}
	return resp.StatusCode, string(b), nil
}

// Sign computes X-Twilio-Signature for a form POST to fullURL exactly as Twilio does, for
// tests and benchmarks that play Twilio's part.
func Sign(authToken, fullURL string, params map[string]string) string {
	return twSign(authToken, fullURL, params)
}

// twSign computes X-Twilio-Signature: the base64 HMAC-SHA1, keyed with the auth token, of
// the full URL (with its query string) followed by every POST parameter's name and value,
// sorted by name, with no separators.
func twSign(authToken, fullURL string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	io.WriteString(mac, fullURL)
	for _, k := range keys {
		io.WriteString(mac, k)
		io.WriteString(mac, params[k])
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// twOptOutType returns "STOP", "START" or "HELP" when body is one of Twilio's default
// keywords, else "".
func twOptOutType(body string) string {
	w := strings.ToUpper(strings.TrimSpace(body))
	switch {
	case slices.Contains(twStopWords, w):
		return "STOP"
	case slices.Contains(twStartWords, w):
		return "START"
	case slices.Contains(twHelpWords, w):
		return "HELP"
	}
	return ""
}

// handleCreate implements POST .../Messages.json.
func (s *TwilioServer) handleCreate(w http.ResponseWriter, r *http.Request) {
	if !s.authorised(w, r) {
		return
	}
	if s.limiter != nil && !s.limiter.Allow() {
		w.Header().Set("Retry-After", "1")
		twWriteError(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, twMaxFormBytes)
	if err := r.ParseForm(); err != nil {
		twWriteError(w, http.StatusBadRequest, 20001, "Could not parse the request body.")
		return
	}
	to := r.PostForm.Get("To")
	from := r.PostForm.Get("From")
	service := r.PostForm.Get("MessagingServiceSid")
	body := r.PostForm.Get("Body")
	callback := r.PostForm.Get("StatusCallback")

	if code, status, msg := s.validateCreate(to, from, service, body, callback); code != 0 {
		twWriteError(w, status, code, msg)
		return
	}

	now := time.Now().UTC()
	m := twMessage{
		sent: SentSMS{
			SID:                 twNewSID("SM"),
			From:                from,
			To:                  to,
			MessagingServiceSID: service,
			Body:                body,
			StatusCallback:      callback,
			At:                  now,
		},
		segments:    twSegments(body),
		status:      "queued",
		dateUpdated: now,
	}
	steps := twOutcome(to)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		twWriteError(w, http.StatusServiceUnavailable, 20503, "Service Unavailable")
		return
	}
	s.bySID[m.sent.SID] = len(s.messages)
	s.messages = append(s.messages, m)
	s.callbacks.Go(func() { s.playOut(m.sent, steps) })
	s.mu.Unlock()

	s.logger.DebugContext(r.Context(), "twilio sandbox accepted message", slog.String("provider_id", m.sent.SID))
	if s.cfg.Dir != "" {
		text := fmt.Sprintf("To: %s\nFrom: %s\nDate: %s\n\n%s\n", m.sent.To, m.sent.From, m.sent.At.Format(time.RFC1123Z), m.sent.Body)
		name := filepath.Join(s.cfg.Dir, m.sent.At.UTC().Format("20060102T150405")+"-"+m.sent.SID+".txt")
		err := os.MkdirAll(s.cfg.Dir, 0o700)
		if err == nil {
			err = os.WriteFile(name, []byte(text), 0o600)
		}
		if err != nil {
			s.logger.Warn("twilio sandbox: text not written", slog.String("error", err.Error()))
		}
	}
	s.writeMessage(w, http.StatusCreated, m)
}

// validateCreate checks a create request as Twilio does, returning Twilio's error code,
// HTTP status and message, or a zero code when the request is accepted.
func (s *TwilioServer) validateCreate(to, from, service, body, callback string) (code, status int, msg string) {
	switch {
	case to == "":
		return 21604, http.StatusBadRequest, "A 'To' phone number is required."
	case !twE164Re.MatchString(to) || to == twMagicInvalid:
		return 21211, http.StatusBadRequest, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)
	case from == "" && service == "":
		return 21603, http.StatusBadRequest, "A 'From' or 'MessagingServiceSid' parameter is required to send a message."
	case from != "" && !twE164Re.MatchString(from) && !twIsAlphaSender(from):
		return 21606, http.StatusBadRequest, fmt.Sprintf("The From phone number %s is not a valid, SMS-capable inbound phone number or short code for your account.", from)
	case service != "" && !twServiceSIDRe.MatchString(service):
		return 21705, http.StatusBadRequest, "The Messaging Service Sid is invalid."
	case body == "":
		return 21602, http.StatusBadRequest, "Message body is required."
	case utf8.RuneCountInString(body) > twMaxBodyChars:
		return 21617, http.StatusBadRequest, "The concatenated message body exceeds the 1600 character limit."
	case callback != "" && !twValidCallback(callback):
		return 21609, http.StatusBadRequest, "Invalid 'StatusCallback'."
	case to == twMagicLandline:
		return 21614, http.StatusBadRequest, fmt.Sprintf("'To' number %s is not a valid mobile number", to)
	case to == twMagicQueueFull:
		return 21611, http.StatusBadRequest, "This 'From' number has exceeded the maximum number of queued messages"
	case to == twMagicServerError:
		return 20500, http.StatusInternalServerError, "Internal Server Error"
	}
	s.mu.Lock()
	opted := s.optedOut[to]
	s.mu.Unlock()
	if to == twMagicUnsubscribed || opted {
		return 21610, http.StatusBadRequest, "Attempt to send to unsubscribed recipient"
	}
	return 0, 0, ""
}

// twOutcome returns the status changes that follow a successful create to `to`.
func twOutcome(to string) []twStep {
	switch to {
	case twMagicUnreachable:
		return []twStep{{status: "sent"}, {status: "undelivered", errorCode: 30003}}
	case twMagicFiltered:
		return []twStep{{status: "failed", errorCode: 30007}}
	}
	return []twStep{{status: "sent"}, {status: "delivered"}}
}

// playOut applies one message's status changes in order, POSTing a signed status callback
// after each when the message asked for them. A failed callback is logged and not retried.
func (s *TwilioServer) playOut(m SentSMS, steps []twStep) {
	for _, st := range steps {
		if s.cbCtx.Err() != nil {
			return
		}
		s.setStatus(m.SID, st)
		if m.StatusCallback == "" {
			continue
		}
		form := map[string]string{
			"MessageSid":    m.SID,
			"SmsSid":        m.SID,
			"AccountSid":    s.cfg.AccountSID,
			"From":          m.From,
			"To":            m.To,
			"MessageStatus": st.status,
			"SmsStatus":     st.status,
			"ApiVersion":    twAPIVersion,
		}
		if m.MessagingServiceSID != "" {
			form["MessagingServiceSid"] = m.MessagingServiceSID
		}
		if st.errorCode != 0 {
			form["ErrorCode"] = strconv.Itoa(st.errorCode)
		}
		status, _, err := s.postSigned(s.cbCtx, m.StatusCallback, form)
		switch {
		case err != nil && errors.Is(err, context.Canceled):
			return
		case err != nil:
			s.logger.Warn("twilio sandbox status callback failed", slog.String("provider_id", m.SID),
				slog.String("status", st.status), slog.String("error", err.Error()))
		case status < 200 || status > 299:
			s.logger.Warn("twilio sandbox status callback refused", slog.String("provider_id", m.SID),
				slog.String("status", st.status), slog.Int("http_status", status))
		}
	}
}

// setStatus records a status change.
func (s *TwilioServer) setStatus(sid string, st twStep) {
	now := time.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &s.messages[s.bySID[sid]]
	m.status = st.status
	m.errorCode = st.errorCode
	m.dateUpdated = now
	if st.status == "sent" {
		m.dateSent = now
	}
}

// handleFetch implements GET .../Messages/{Sid}.json.
func (s *TwilioServer) handleFetch(w http.ResponseWriter, r *http.Request) {
	if !s.authorised(w, r) {
		return
	}
	sid, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok || !twMessageSIDRe.MatchString(sid) {
		s.handleNotFound(w, r)
		return
	}
	s.mu.Lock()
	i, found := s.bySID[sid]
	var m twMessage
	if found {
		m = s.messages[i]
	}
	s.mu.Unlock()
	if !found {
		s.handleNotFound(w, r)
		return
	}
	s.writeMessage(w, http.StatusOK, m)
}

// handleNotFound answers anything the sandbox doesn't implement as Twilio does.
func (s *TwilioServer) handleNotFound(w http.ResponseWriter, r *http.Request) {
	twWriteError(w, http.StatusNotFound, 20404,
		fmt.Sprintf("The requested resource %s was not found", r.URL.Path))
}

// authorised checks basic auth and the account in the path, writing Twilio's 401 (error
// 20003) when either is wrong.
func (s *TwilioServer) authorised(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if ok &&
		subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.AccountSID)) == 1 &&
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.AuthToken)) == 1 &&
		r.PathValue("AccountSid") == s.cfg.AccountSID {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
	twWriteError(w, http.StatusUnauthorized, 20003, "Authenticate")
	return false
}

// writeMessage renders a Message resource.
func (s *TwilioServer) writeMessage(w http.ResponseWriter, status int, m twMessage) {
	uri := fmt.Sprintf("/%s/Accounts/%s/Messages/%s", twAPIVersion, s.cfg.AccountSID, m.sent.SID)
	out := twMessageJSON{
		SID:             m.sent.SID,
		AccountSID:      s.cfg.AccountSID,
		To:              m.sent.To,
		From:            twNullable(m.sent.From),
		Body:            m.sent.Body,
		Status:          m.status,
		NumSegments:     strconv.Itoa(m.segments),
		NumMedia:        "0",
		Direction:       "outbound-api",
		APIVersion:      twAPIVersion,
		DateCreated:     m.sent.At.Format(time.RFC1123Z),
		DateUpdated:     m.dateUpdated.Format(time.RFC1123Z),
		PriceUnit:       "USD",
		URI:             uri + ".json",
		SubresourceURIs: map[string]string{"media": uri + "/Media.json"},
	}
	out.MessagingServiceSID = twNullable(m.sent.MessagingServiceSID)
	if !m.dateSent.IsZero() {
		d := m.dateSent.Format(time.RFC1123Z)
		out.DateSent = &d
	}
	if m.errorCode != 0 {
		code := m.errorCode
		msg := twErrorText(code)
		out.ErrorCode, out.ErrorMessage = &code, &msg
	}
	twWriteJSON(w, status, out)
}

// twErrorText is Twilio's short description of a delivery error code.
func twErrorText(code int) string {
	switch code {
	case 30003:
		return "Unreachable destination handset"
	case 30004:
		return "Message blocked"
	case 30005:
		return "Unknown destination handset"
	case 30006:
		return "Landline or unreachable carrier"
	case 30007:
		return "Message filtered"
	case 30008:
		return "Unknown error"
	}
	return "Error " + strconv.Itoa(code)
}

// twWriteError writes Twilio's error JSON.
func twWriteError(w http.ResponseWriter, status, code int, msg string) {
	twWriteJSON(w, status, twError{
		Code:     code,
		Message:  msg,
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		Status:   status,
	})
}

// twWriteJSON writes v as JSON. A write error means the client has gone; there is no one
// left to tell.
func twWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// twNullable returns nil for "" so it renders as JSON null.
func twNullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// twIsAlphaSender reports whether from is an alphanumeric sender ID.
func twIsAlphaSender(from string) bool {
	return twAlphaSenderRe.MatchString(from) && strings.ContainsFunc(from, func(r rune) bool {
		return (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z')
	})
}

// twValidCallback reports whether u is an absolute http(s) URL with a host, as Twilio
// requires of StatusCallback.
func twValidCallback(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != "" && len(u) <= 4000
}

// twNewSID returns prefix followed by 32 random hex digits.
func twNewSID(prefix string) string {
	var b [16]byte
	// crypto/rand.Read never returns an error (it crashes the program instead).
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// twGSM7 is the GSM 03.38 basic character set; twGSM7Ext characters cost two septets.
const (
	twGSM7    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	twGSM7Ext = "^{}\\[~]|€\f"
)

// twSegments counts the SMS segments body needs: GSM-7 fits 160 septets in one segment
// and 153 per part when concatenated; anything else is UCS-2, 70 and 67 UTF-16 units.
func twSegments(body string) int {
	septets, units, gsm := 0, 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(twGSM7, r):
			septets++
		case strings.ContainsRune(twGSM7Ext, r):
			septets += 2
		default:
			gsm = false
		}
		units++
		if r > 0xFFFF {
			units++
		}
	}
	single, part, n := 70, 67, units
	if gsm {
		single, part, n = 160, 153, septets
	}
	if n <= single {
		return 1
	}
	return (n + part - 1) / part
}
