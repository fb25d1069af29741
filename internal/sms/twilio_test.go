package sms

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/sandbox"
)

// A fixed fake account, as in the sandbox's tests; no real Twilio account has this SID.
const (
	twTestSID     = "AC00000000000000000000000000c0ffee"
	twTestToken   = "sandboxtoken0123456789abcdef0000"
	twTestFrom    = "+447700900999"
	twTestService = "MG0123456789abcdef0123456789abcdef"
	twTestBody    = "Bin collection moves to Tuesday next week."
)

// twTestWait bounds every wait for something asynchronous.
const twTestWait = 10 * time.Second

var twTestSIDRe = regexp.MustCompile(`^SM[0-9a-f]{32}$`)

// twPhoneRe finds anything that looks like a phone number in a stored reason.
var twPhoneRe = regexp.MustCompile(`\+?[0-9][0-9 ]{6,}[0-9]`)

// twSandbox starts a Twilio sandbox that is closed when the test ends.
func twSandbox(t *testing.T, rate float64) *sandbox.TwilioServer {
	t.Helper()
	s, err := sandbox.StartTwilio(t.Context(), sandbox.TwilioConfig{
		AccountSID: twTestSID, AuthToken: twTestToken, RatePerSec: rate,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("StartTwilio: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("sandbox Close: %v", err)
		}
	})
	return s
}

// twLogs is a concurrency-safe buffer for a debug-level text logger, so tests can check
// what the sender logged.
type twLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *twLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *twLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *twLogs) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// twSender builds a sender for cfg, filling in the test account and, when APIURL is
// empty, the sandbox s.
func twSender(t *testing.T, s *sandbox.TwilioServer, cfg TwilioConfig, logger *slog.Logger) *TwilioSender {
	t.Helper()
	if cfg.AccountSID == "" {
		cfg.AccountSID = twTestSID
	}
	if cfg.AuthToken == "" {
		cfg.AuthToken = twTestToken
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		cfg.From = twTestFrom
	}
	if cfg.APIURL == "" {
		cfg.APIURL = s.URL()
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = twTestWait
	}
	snd, err := NewTwilioSender(cfg, logger)
	if err != nil {
		t.Fatalf("NewTwilioSender: %v", err)
	}
	t.Cleanup(snd.CloseIdleConnections)
	return snd
}

// twMessage is an outbox message to one number.
func twMessage(to string) dispatch.Message {
	return dispatch.Message{OutboxID: 7, CampaignID: 3, RunID: 5, ContactID: 11, Channel: dispatch.SMS, To: to, Text: twTestBody}
}

// twStatus is one status callback the receiver got.
type twStatus struct {
	sid, status string
	errorCode   int
}

// twReceiver starts an HTTP server that takes status callbacks.
func twReceiver(t *testing.T) (*httptest.Server, <-chan twStatus) {
	t.Helper()
	ch := make(chan twStatus, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse callback: %v", err)
			return
		}
		st := twStatus{sid: r.PostForm.Get("MessageSid"), status: r.PostForm.Get("MessageStatus")}
		if c := r.PostForm.Get("ErrorCode"); c != "" {
			if _, err := fmt.Sscan(c, &st.errorCode); err != nil {
				t.Errorf("ErrorCode %q: %v", c, err)
			}
		}
		ch <- st
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// twFollow plays the callbacks for sid through StatusRank and CallbackOutcome, as the
// callback handler does, until a final one, and returns the resulting state and reason.
func twFollow(t *testing.T, ch <-chan twStatus, sid string) (state, reason string) {
	t.Helper()
	rank := 0
	for {
		select {
		case st := <-ch:
			if st.sid != sid {
				t.Fatalf("callback for %s, want %s", st.sid, sid)
			}
			r := StatusRank(st.status)
			if r <= rank {
				continue
			}
			rank = r
			var final bool
			state, reason, final = CallbackOutcome(st.status, st.errorCode)
			if final {
				return state, reason
			}
		case <-time.After(twTestWait):
			t.Fatal("no final status callback arrived")
			return "", ""
		}
	}
}

// twSendError asserts err is a *dispatch.SendError of kind and code whose stored text
// quotes no phone number.
func twSendError(t *testing.T, err error, kind error, code string) *dispatch.SendError {
	t.Helper()
	var se *dispatch.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error = %v (%T), want *dispatch.SendError", err, err)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %v is not %v", err, kind)
	}
	for _, other := range []error{dispatch.ErrTemporary, dispatch.ErrPermanent, dispatch.ErrOptedOut, dispatch.ErrThrottled, dispatch.ErrUnknown} {
		if other != kind && errors.Is(err, other) {
			t.Errorf("error %v is also %v", err, other)
		}
	}
	if se.Code != code {
		t.Errorf("Code = %q, want %q", se.Code, code)
	}
	if se.Reason == "" {
		t.Error("Reason is empty")
	}
	if m := twPhoneRe.FindString(se.Error()); m != "" {
		t.Errorf("stored text %q quotes %q", se.Error(), m)
	}
	return se
}

func TestTwilioSenderSends(t *testing.T) {
	recv, ch := twReceiver(t)
	tests := []struct {
		name        string
		cfg         TwilioConfig
		to          string
		wantFrom    string
		wantService string
		wantState   string
		wantReason  string
	}{
		{name: "from a number", cfg: TwilioConfig{From: twTestFrom}, to: "+447700900123",
			wantFrom: twTestFrom, wantState: StateDelivered},
		{name: "from a messaging service", cfg: TwilioConfig{MessagingServiceSID: twTestService}, to: "+447700900124",
			wantService: twTestService, wantState: StateDelivered},
		{name: "service wins over from", cfg: TwilioConfig{From: twTestFrom, MessagingServiceSID: twTestService}, to: "+447700900125",
			wantService: twTestService, wantState: StateDelivered},
		{name: "alphanumeric sender", cfg: TwilioConfig{From: "Council"}, to: "+447700900126",
			wantFrom: "Council", wantState: StateDelivered},
		{name: "unreachable handset", cfg: TwilioConfig{From: twTestFrom}, to: "+447700900004",
			wantFrom: twTestFrom, wantState: StateFailed, wantReason: "undelivered (30003): unreachable handset"},
		{name: "filtered", cfg: TwilioConfig{From: twTestFrom}, to: "+447700900005",
			wantFrom: twTestFrom, wantState: StateFailed, wantReason: "failed (30007): filtered by the carrier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := twSandbox(t, 0)
			var logs twLogs
			cfg := tt.cfg
			cfg.StatusCallback = recv.URL + "/sms/status"
			snd := twSender(t, s, cfg, logs.logger())
			if snd.Channel() != dispatch.SMS {
				t.Errorf("Channel = %q", snd.Channel())
			}

			rcpt, err := snd.Send(t.Context(), twMessage(tt.to))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if !twTestSIDRe.MatchString(rcpt.ProviderID) {
				t.Errorf("ProviderID = %q, want SM and 32 hex digits", rcpt.ProviderID)
			}
			got := s.Messages()
			if len(got) != 1 {
				t.Fatalf("sandbox has %d messages, want 1", len(got))
			}
			m := got[0]
			if m.SID != rcpt.ProviderID || m.To != tt.to || m.Body != twTestBody || m.From != tt.wantFrom ||
				m.MessagingServiceSID != tt.wantService || m.StatusCallback != cfg.StatusCallback {
				t.Errorf("sandbox got %+v", m)
			}

			state, reason := twFollow(t, ch, rcpt.ProviderID)
			if state != tt.wantState || !strings.HasPrefix(reason, tt.wantReason) {
				t.Errorf("final state %q, reason %q; want %q, %q...", state, reason, tt.wantState, tt.wantReason)
			}
			if l := logs.String(); strings.Contains(l, tt.to) || strings.Contains(l, twTestBody) || strings.Contains(l, twTestToken) {
				t.Errorf("logs quote the number, body or token:\n%s", l)
			}
		})
	}
}

func TestTwilioSenderNoCallback(t *testing.T) {
	s := twSandbox(t, 0)
	snd := twSender(t, s, TwilioConfig{}, nil)
	if _, err := snd.Send(t.Context(), twMessage("+447700900123")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := s.Messages(); len(got) != 1 || got[0].StatusCallback != "" {
		t.Errorf("sandbox got %+v, want one message without a StatusCallback", got)
	}
}

func TestTwilioSenderRefusals(t *testing.T) {
	s := twSandbox(t, 0)
	var logs twLogs
	snd := twSender(t, s, TwilioConfig{}, logs.logger())
	long := strings.Repeat("a", 1601)
	tests := []struct {
		name      string
		to, body  string
		kind      error
		code      string
		wantPoint string
	}{
		{"invalid number", "+447700900001", twTestBody, dispatch.ErrPermanent, "21211", PointInvalid},
		{"national format", "07700900123", twTestBody, dispatch.ErrPermanent, "21211", PointInvalid},
		{"not a mobile", "+447700900002", twTestBody, dispatch.ErrPermanent, "21614", PointInvalid},
		{"replied STOP", "+447700900003", twTestBody, dispatch.ErrOptedOut, "21610", ""},
		{"queue full", "+447700900006", twTestBody, dispatch.ErrThrottled, "21611", ""},
		{"server error", "+447700900007", twTestBody, dispatch.ErrTemporary, "20500", ""},
		{"body too long", "+447700900123", long, dispatch.ErrPermanent, "21617", ""},
		{"no body", "+447700900123", "", dispatch.ErrTemporary, "21602", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := twMessage(tt.to)
			m.Text = tt.body
			rcpt, err := snd.Send(t.Context(), m)
			if rcpt.ProviderID != "" {
				t.Errorf("ProviderID = %q after a refusal", rcpt.ProviderID)
			}
			se := twSendError(t, err, tt.kind, tt.code)
			if se.RetryAfter != 0 {
				t.Errorf("RetryAfter = %v, want 0", se.RetryAfter)
			}
			if se.Down {
				t.Error("an answer from the API about one message says the channel is up, not down")
			}
			var code int
			fmt.Sscan(tt.code, &code)
			row, ok := LookupCode(code)
			if ok {
				if se.Reason != row.Meaning {
					t.Errorf("Reason = %q, want the table's %q", se.Reason, row.Meaning)
				}
				if row.PointStatus != tt.wantPoint {
					t.Errorf("PointStatus = %q, want %q", row.PointStatus, tt.wantPoint)
				}
				// A permanent failure that isn't the number's fails only the message.
				if want := tt.kind == dispatch.ErrPermanent && tt.wantPoint == ""; se.MessageOnly != want {
					t.Errorf("MessageOnly = %v, want %v", se.MessageOnly, want)
				}
			} else if !strings.Contains(se.Reason, tt.code) {
				t.Errorf("Reason %q for an unlisted code doesn't name it", se.Reason)
			}
			// The underlying error is kept for debugging (it is not stored).
			if se.Err == nil {
				t.Error("SendError.Err is nil")
			}
		})
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("sandbox accepted %d messages", n)
	}
	if l := logs.String(); strings.Contains(l, "+4477009000") || strings.Contains(l, twTestToken) {
		t.Errorf("logs quote a number or the token:\n%s", l)
	}
}

func TestTwilioSenderRateLimited(t *testing.T) {
	s := twSandbox(t, 1)
	snd := twSender(t, s, TwilioConfig{}, nil)
	var ok, limited int
	for range 3 {
		_, err := snd.Send(t.Context(), twMessage("+447700900123"))
		if err == nil {
			ok++
			continue
		}
		se := twSendError(t, err, dispatch.ErrThrottled, "20429")
		if se.RetryAfter != time.Second {
			t.Errorf("RetryAfter = %v, want the sandbox's 1s", se.RetryAfter)
		}
		limited++
	}
	if ok < 1 || limited < 1 {
		t.Errorf("ok, limited = %d, %d; want at least one of each", ok, limited)
	}
}

func TestTwilioSenderWrongToken(t *testing.T) {
	s := twSandbox(t, 0)
	const wrong = "wrongtoken0123456789abcdefabcdef"
	var logs twLogs
	snd := twSender(t, s, TwilioConfig{AuthToken: wrong}, logs.logger())
	_, err := snd.Send(t.Context(), twMessage("+447700900123"))
	se := twSendError(t, err, dispatch.ErrTemporary, "20003")
	if !se.Down {
		t.Error("credentials the API refuses must mark the SMS channel down")
	}
	if !strings.Contains(se.Reason, "CRIER_TWILIO_AUTH_TOKEN") {
		t.Errorf("Reason %q doesn't say to check CRIER_TWILIO_AUTH_TOKEN", se.Reason)
	}
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", se.Err), logs.String()} {
		if strings.Contains(text, wrong) || strings.Contains(text, twTestToken) {
			t.Errorf("%q contains an auth token", text)
		}
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("sandbox accepted %d messages", n)
	}
}

func TestTwilioSenderWrongAccount(t *testing.T) {
	// The sandbox only serves its own account; another account's path is refused as
	// unauthenticated, as Twilio does.
	s := twSandbox(t, 0)
	snd := twSender(t, s, TwilioConfig{AccountSID: "AC11111111111111111111111111111111"}, nil)
	_, err := snd.Send(t.Context(), twMessage("+447700900123"))
	twSendError(t, err, dispatch.ErrTemporary, "20003")
}

// twClosedURL returns the URL of a loopback port nothing listens on.
func twClosedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// twBlackHole starts a TCP server that accepts connections and reads requests but never
// answers, as an API that has hung.
func twBlackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c) // until the client gives up
			})
		}
	})
	return "http://" + ln.Addr().String()
}

func TestTwilioSenderUnreachable(t *testing.T) {
	snd := twSender(t, nil, TwilioConfig{APIURL: twClosedURL(t)}, nil)
	start := time.Now()
	_, err := snd.Send(t.Context(), twMessage("+447700900123"))
	se := twSendError(t, err, dispatch.ErrTemporary, "")
	if !strings.Contains(se.Reason, "could not connect") {
		t.Errorf("Reason = %q", se.Reason)
	}
	if !se.Down {
		t.Error("an unreachable API must mark the SMS channel down")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to notice a closed port", d)
	}
}

// TestTwilioSenderDroppedAfterSending: a connection that drops after the whole request
// went out is ambiguous (Twilio may have created the message), so it is ErrUnknown, not
// a retry that could text the resident twice.
func TestTwilioSenderDroppedAfterSending(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				// Read the request to its end, then hang up without answering.
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err == nil {
					_, _ = io.Copy(io.Discard, req.Body)
				}
				c.Close()
			}()
		}
	}()
	snd := twSender(t, nil, TwilioConfig{APIURL: "http://" + ln.Addr().String()}, nil)
	_, err = snd.Send(t.Context(), twMessage("+447700900123"))
	se := twSendError(t, err, dispatch.ErrUnknown, "")
	if !strings.Contains(se.Reason, "may have accepted") {
		t.Errorf("Reason = %q", se.Reason)
	}
}

func TestTwilioSenderDeadline(t *testing.T) {
	snd := twSender(t, nil, TwilioConfig{APIURL: twBlackHole(t)}, nil)

	t.Run("caller's deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := snd.Send(ctx, twMessage("+447700900123"))
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Send took %v after a 200ms deadline", d)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want context.DeadlineExceeded", err)
		}
	})

	t.Run("caller cancels", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := snd.Send(ctx, twMessage("+447700900123"))
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Send took %v after cancellation", d)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	})

	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := snd.Send(ctx, twMessage("+447700900123")); !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	})

	t.Run("sender's timeout", func(t *testing.T) {
		short := twSender(t, nil, TwilioConfig{APIURL: snd.target.String(), Timeout: 200 * time.Millisecond}, nil)
		start := time.Now()
		_, err := short.Send(t.Context(), twMessage("+447700900123"))
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Send took %v with a 200ms timeout", d)
		}
		// The request may have reached Twilio: unknown, for an officer, never resent blindly.
		se := twSendError(t, err, dispatch.ErrUnknown, "")
		if !strings.Contains(se.Reason, "200ms") {
			t.Errorf("Reason = %q", se.Reason)
		}
	})
}

func TestTwilioSenderNotTwilioJSON(t *testing.T) {
	// A proxy in front of the API that answers with its own pages.
	var (
		mu         sync.Mutex
		status     int
		retryAfter string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		code, ra := status, retryAfter
		mu.Unlock()
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		io.WriteString(w, "<html><body>Bad gateway</body></html>")
	}))
	t.Cleanup(srv.Close)
	snd := twSender(t, nil, TwilioConfig{APIURL: srv.URL}, nil)

	tests := []struct {
		status     int
		retryAfter string
		kind       error
		code       string
		wantRetry  time.Duration
	}{
		{http.StatusBadGateway, "", dispatch.ErrTemporary, "502", 0},
		{http.StatusServiceUnavailable, "", dispatch.ErrTemporary, "503", 0},
		{http.StatusTooManyRequests, "7", dispatch.ErrThrottled, "20429", 7 * time.Second},
		{http.StatusUnauthorized, "", dispatch.ErrTemporary, "20003", 0},
		{http.StatusNotFound, "", dispatch.ErrTemporary, "404", 0},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			mu.Lock()
			status, retryAfter = tt.status, tt.retryAfter
			mu.Unlock()
			_, err := snd.Send(t.Context(), twMessage("+447700900123"))
			se := twSendError(t, err, tt.kind, tt.code)
			if se.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", se.RetryAfter, tt.wantRetry)
			}
		})
	}
}

func TestTwilioSenderReusesConnections(t *testing.T) {
	// twilio-go never closes an error response's body, so unless its JSON decoder happens
	// to read to the end, the connection would be stuck. The sender drains and closes it:
	// a refusal doesn't cost a connection.
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}`)
		w.(http.Flusher).Flush() // chunked: the end comes in a later read than the JSON
		io.WriteString(w, "\n")
	}))
	t.Cleanup(chunked.Close)
	s := twSandbox(t, 0)

	for _, tt := range []struct {
		name   string
		apiURL string
		to     []string
	}{
		{"chunked error", chunked.URL, []string{"+447700900123", "+447700900123", "+447700900123"}},
		{"sandbox", s.URL(), []string{"+447700900001", "+447700900003", "+447700900123", "+447700900002"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snd := twSender(t, nil, TwilioConfig{APIURL: tt.apiURL}, nil)
			var mu sync.Mutex
			var reused []bool
			ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
				GotConn: func(info httptrace.GotConnInfo) {
					mu.Lock()
					reused = append(reused, info.Reused)
					mu.Unlock()
				},
			})
			for _, to := range tt.to {
				_, _ = snd.Send(ctx, twMessage(to))
			}
			mu.Lock()
			defer mu.Unlock()
			want := make([]bool, len(tt.to))
			for i := 1; i < len(want); i++ {
				want[i] = true
			}
			if !slices.Equal(reused, want) {
				t.Errorf("connection reused = %v, want %v", reused, want)
			}
		})
	}
}

func TestTwilioSenderConcurrent(t *testing.T) {
	s := twSandbox(t, 0)
	snd := twSender(t, s, TwilioConfig{}, nil)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			to := fmt.Sprintf("+4477009001%02d", i)
			if i%10 == 0 {
				to = "+447700900001"
			}
			_, err := snd.Send(t.Context(), twMessage(to))
			if (err != nil) != (i%10 == 0) {
				errs <- fmt.Errorf("send %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(s.Messages()); got != n-n/10 {
		t.Errorf("sandbox accepted %d, want %d", got, n-n/10)
	}
}

func TestNewTwilioSenderConfig(t *testing.T) {
	const secret = "s3cr3tTokenValue"
	good := TwilioConfig{AccountSID: twTestSID, AuthToken: secret, From: twTestFrom}
	with := func(f func(c *TwilioConfig)) TwilioConfig {
		c := good
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  TwilioConfig
		want string // in the error; "" means valid
	}{
		{"valid", good, ""},
		{"valid service", with(func(c *TwilioConfig) { c.From = ""; c.MessagingServiceSID = twTestService }), ""},
		{"valid short code", with(func(c *TwilioConfig) { c.From = "60123" }), ""},
		{"valid sender id", with(func(c *TwilioConfig) { c.From = "Westshire" }), ""},
		{"valid api url", with(func(c *TwilioConfig) { c.APIURL = "http://127.0.0.1:8025/" }), ""},
		{"valid callback", with(func(c *TwilioConfig) { c.StatusCallback = "https://crier.example.gov.uk/twilio/status" }), ""},
		{"no sid", with(func(c *TwilioConfig) { c.AccountSID = "" }), "CRIER_TWILIO_ACCOUNT_SID is required"},
		{"bad sid", with(func(c *TwilioConfig) { c.AccountSID = "AC123" }), "CRIER_TWILIO_ACCOUNT_SID must be"},
		{"no token", with(func(c *TwilioConfig) { c.AuthToken = "" }), "CRIER_TWILIO_AUTH_TOKEN is required"},
		{"token with symbols", with(func(c *TwilioConfig) { c.AuthToken = secret + "!" }), "CRIER_TWILIO_AUTH_TOKEN must be"},
		{"no sender", with(func(c *TwilioConfig) { c.From = "" }), "CRIER_TWILIO_MESSAGING_SERVICE_SID"},
		{"bad from", with(func(c *TwilioConfig) { c.From = "not-a-sender!" }), "CRIER_TWILIO_FROM"},
		{"sender id too long", with(func(c *TwilioConfig) { c.From = "WestshireCouncil" }), "CRIER_TWILIO_FROM"},
		{"digits only sender id", with(func(c *TwilioConfig) { c.From = "123456789" }), "CRIER_TWILIO_FROM"},
		{"bad service", with(func(c *TwilioConfig) { c.MessagingServiceSID = "MGnope" }), "CRIER_TWILIO_MESSAGING_SERVICE_SID must be"},
		{"bad api url", with(func(c *TwilioConfig) { c.APIURL = "127.0.0.1:8025" }), "CRIER_TWILIO_API_URL"},
		{"api url with path", with(func(c *TwilioConfig) { c.APIURL = "http://127.0.0.1:8025/2010-04-01" }), "CRIER_TWILIO_API_URL"},
		{"api url with credentials", with(func(c *TwilioConfig) { c.APIURL = "http://u:" + secret + "@127.0.0.1:8025" }), "CRIER_TWILIO_API_URL must not hold credentials"},
		{"relative callback", with(func(c *TwilioConfig) { c.StatusCallback = "/twilio/status" }), "status callback"},
		{"negative timeout", with(func(c *TwilioConfig) { c.Timeout = -time.Second }), "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snd, err := NewTwilioSender(tt.cfg, nil)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("NewTwilioSender: %v", err)
				}
				if snd.cfg.Timeout != twDefaultTimeout {
					t.Errorf("Timeout = %v, want the default", snd.cfg.Timeout)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewTwilioSender succeeded, want an error naming %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q doesn't mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q quotes the auth token", err)
			}
		})
	}

	// Every problem is reported at once.
	_, err := NewTwilioSender(TwilioConfig{}, nil)
	for _, v := range []string{"CRIER_TWILIO_ACCOUNT_SID", "CRIER_TWILIO_AUTH_TOKEN", "CRIER_TWILIO_FROM"} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("empty config: error %v doesn't name %s", err, v)
		}
	}
}

func TestTwilioConfigRedacts(t *testing.T) {
	const secret = "s3cr3tTokenValue"
	cfg := TwilioConfig{AccountSID: twTestSID, AuthToken: secret, From: twTestFrom}
	var logs twLogs
	logs.logger().Info("config", "twilio", cfg)
	for _, text := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg), logs.String()} {
		if strings.Contains(text, secret) {
			t.Errorf("%q shows the auth token", text)
		}
		if !strings.Contains(text, twTestSID) || !strings.Contains(text, "redacted") {
			t.Errorf("%q should show the SID and that a token is set", text)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "twilio", cfg)
	if strings.Contains(buf.String(), secret) {
		t.Errorf("JSON log shows the auth token: %s", buf.String())
	}
}

func TestTwilioAPIURLRewrite(t *testing.T) {
	// Only the scheme and host change: the path, query and auth are Twilio's.
	type seen struct{ host, path, user string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _, _ := r.BasicAuth()
		got <- seen{r.Host, r.URL.Path, user}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}`)
	}))
	t.Cleanup(srv.Close)
	snd := twSender(t, nil, TwilioConfig{APIURL: srv.URL}, nil)
	rcpt, err := snd.Send(t.Context(), twMessage("+447700900123"))
	if err != nil || rcpt.ProviderID != "SM0123456789abcdef0123456789abcdef" {
		t.Fatalf("Send = %+v, %v", rcpt, err)
	}
	u, _ := url.Parse(srv.URL)
	want := seen{u.Host, "/2010-04-01/Accounts/" + twTestSID + "/Messages.json", twTestSID}
	if s := <-got; s != want {
		t.Errorf("request = %+v, want %+v", s, want)
	}
}

func TestTwilioSenderUnreadableSuccess(t *testing.T) {
	// Twilio created the message but the answer can't be read: retrying would send a
	// second copy, so it counts as sent.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid": "SM01`)
	}))
	t.Cleanup(srv.Close)
	var logs twLogs
	snd := twSender(t, nil, TwilioConfig{APIURL: srv.URL}, logs.logger())
	rcpt, err := snd.Send(t.Context(), twMessage("+447700900123"))
	if err != nil || rcpt.ProviderID != "" {
		t.Errorf("Send = %+v, %v; want sent without a SID", rcpt, err)
	}
	if !strings.Contains(logs.String(), "unreadable") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"1", time.Second},
		{" 30 ", 30 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"999999999999", time.Hour},
		{"99999999999999999999999", 0}, // overflows: unreadable
		{"soon", 0},
		{now.Add(2 * time.Minute).Format(http.TimeFormat), 2 * time.Minute},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour},
	}
	for _, tt := range tests {
		if got := twParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("twParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	kinds := []error{dispatch.ErrTemporary, dispatch.ErrPermanent, dispatch.ErrOptedOut, dispatch.ErrThrottled, nil}
	for i, e := range ErrorCodes {
		if i > 0 && ErrorCodes[i-1].Code >= e.Code {
			t.Errorf("ErrorCodes not sorted or has duplicates at %d", e.Code)
		}
		if !slices.Contains(kinds, e.Kind) {
			t.Errorf("%d: Kind %v is not a dispatch kind", e.Code, e.Kind)
		}
		if e.PointStatus != "" && e.PointStatus != PointInvalid {
			t.Errorf("%d: PointStatus %q", e.Code, e.PointStatus)
		}
		if e.Meaning == "" || e.Handling == "" {
			t.Errorf("%d: Meaning or Handling empty", e.Code)
		}
		if got, ok := LookupCode(e.Code); !ok || got.Meaning != e.Meaning {
			t.Errorf("LookupCode(%d) = %+v, %v", e.Code, got, ok)
		}
	}
	if _, ok := LookupCode(0); ok {
		t.Error("LookupCode(0) found a row")
	}
	if _, ok := LookupCode(99999); ok {
		t.Error("LookupCode(99999) found a row")
	}

	// The decisions docs/sms.md promises.
	want := []struct {
		code  int
		kind  error
		point string
	}{
		{21211, dispatch.ErrPermanent, PointInvalid},
		{21614, dispatch.ErrPermanent, PointInvalid},
		{21610, dispatch.ErrOptedOut, ""},
		{21612, dispatch.ErrTemporary, ""},
		{21408, dispatch.ErrTemporary, ""},
		{20429, dispatch.ErrThrottled, ""},
		{21611, dispatch.ErrThrottled, ""},
		{30001, dispatch.ErrThrottled, ""},
		{20003, dispatch.ErrTemporary, ""},
		{21617, dispatch.ErrPermanent, ""},
		{30003, nil, ""},
		{30004, nil, ""},
		{30005, nil, PointInvalid},
		{30006, nil, PointInvalid},
		{30007, nil, ""},
		{30008, nil, ""},
	}
	for _, w := range want {
		e, ok := LookupCode(w.code)
		if !ok || e.Kind != w.kind || e.PointStatus != w.point {
			t.Errorf("LookupCode(%d) = %+v, %v; want kind %v, point %q", w.code, e, ok, w.kind, w.point)
		}
	}
}

func TestMarkdownTable(t *testing.T) {
	md := MarkdownTable()
	lines := strings.Split(strings.TrimSuffix(md, "\n"), "\n")
	if lines[0] != "| Code | Meaning | What Crier does |" {
		t.Errorf("header = %q", lines[0])
	}
	if got, want := len(lines), 2+len(ErrorCodes)+len(twFallbacks); got != want {
		t.Errorf("%d lines, want %d", got, want)
	}
	for _, e := range ErrorCodes {
		if !strings.Contains(md, fmt.Sprintf("| %d | ", e.Code)) {
			t.Errorf("table lacks %d", e.Code)
		}
	}
	for _, l := range lines {
		// Four unescaped pipes: three cells.
		if n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(l, -1)); n != 4 {
			t.Errorf("line has %d cell borders: %q", n, l)
		}
	}
	for _, s := range []string{"HTTP 5xx", "HTTP 429", "network error", "any other code"} {
		if !strings.Contains(md, s) {
			t.Errorf("table lacks %q", s)
		}
	}
}

func TestCallbackOutcome(t *testing.T) {
	tests := []struct {
		status     string
		code       int
		wantState  string
		wantReason string // prefix
		wantFinal  bool
	}{
		{"accepted", 0, StateSent, "", false},
		{"scheduled", 0, StateSent, "", false},
		{"queued", 0, StateSent, "", false},
		{"sending", 0, StateSent, "", false},
		{"sent", 0, StateSent, "", false},
		{"Sent", 0, StateSent, "", false},
		{"delivered", 0, StateDelivered, "", true},
		{"read", 0, StateDelivered, "", true},
		{"undelivered", 30003, StateFailed, "undelivered (30003): unreachable handset", true},
		{"undelivered", 30005, StateFailed, "undelivered (30005): unknown or inactive number", true},
		{"undelivered", 30006, StateFailed, "undelivered (30006): landline", true},
		{"failed", 30007, StateFailed, "failed (30007): filtered", true},
		{"failed", 30008, StateFailed, "failed (30008): unknown delivery error", true},
		{"failed", 30001, StateFailed, "failed (30001): queue overflow", true},
		{"failed", 30004, StateFailed, "failed (30004): message blocked", true},
		{"failed", 21610, StateFailed, "failed (21610): the recipient replied STOP", true},
		{"undelivered", 30999, StateFailed, "undelivered (30999): Twilio error not in Crier's table", true},
		{"undelivered", 0, StateFailed, "undelivered: ", true},
		{"failed", 0, StateFailed, "failed: ", true},
		{"canceled", 0, StateFailed, "canceled", true},
		{"received", 0, "", "", false},
		{"", 0, "", "", false},
		{"bogus", 30003, "", "", false},
	}
	for _, tt := range tests {
		state, reason, final := CallbackOutcome(tt.status, tt.code)
		if state != tt.wantState || final != tt.wantFinal || !strings.HasPrefix(reason, tt.wantReason) ||
			(tt.wantReason == "" && reason != "") {
			t.Errorf("CallbackOutcome(%q, %d) = %q, %q, %v; want %q, %q..., %v",
				tt.status, tt.code, state, reason, final, tt.wantState, tt.wantReason, tt.wantFinal)
		}
		if twPhoneRe.MatchString(reason) {
			t.Errorf("reason %q looks like it quotes a number", reason)
		}
	}
}

func TestStatusRank(t *testing.T) {
	order := [][]string{
		{"", "received", "bogus"},
		{"accepted", "scheduled"},
		{"queued"},
		{"sending"},
		{"sent"},
		{"delivered", "undelivered", "failed", "read", "canceled"},
	}
	for i, group := range order {
		for _, s := range group {
			if got := StatusRank(s); got != i {
				t.Errorf("StatusRank(%q) = %d, want %d", s, got, i)
			}
		}
	}
	// Every status CallbackOutcome knows is ranked, and exactly the final ones rank top.
	top := StatusRank("delivered")
	for _, group := range order[1:] {
		for _, s := range group {
			_, _, final := CallbackOutcome(s, 0)
			if final != (StatusRank(s) == top) {
				t.Errorf("%q: final %v but rank %d", s, final, StatusRank(s))
			}
		}
	}
	// The outbox's own states rank as the Twilio statuses of the same name.
	for _, st := range []string{StateSent, StateDelivered, StateFailed} {
		if StatusRank(st) == 0 {
			t.Errorf("StatusRank(%q) = 0", st)
		}
	}
	// A late "sent" never overwrites "delivered"; a repeated final status changes nothing.
	if StatusRank("sent") > StatusRank("delivered") || StatusRank("failed") > StatusRank("delivered") {
		t.Error("a lower status outranks delivered")
	}
}

// TestDocsHaveTheErrorTable keeps docs/sms.md's table of Twilio codes the same as the one
// the classifier uses.
func TestDocsHaveTheErrorTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/sms.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), MarkdownTable()) {
		t.Error("docs/sms.md's SMS error table differs from sms.MarkdownTable(): paste the new table into docs/sms.md")
	}
}
