package sandbox

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// A fixed fake account; no real Twilio account has this SID.
const (
	twTestSID   = "AC00000000000000000000000000c0ffee"
	twTestToken = "sandboxtoken0123456789abcdef0000"
	twTestFrom  = "+447700900999"
)

// twTestWait bounds every wait for something asynchronous.
const twTestWait = 10 * time.Second

// twTestServer starts a sandbox that is closed when the test ends.
func twTestServer(t *testing.T, cfg TwilioConfig) *TwilioServer {
	t.Helper()
	if cfg.AccountSID == "" {
		cfg.AccountSID = twTestSID
	}
	if cfg.AuthToken == "" {
		cfg.AuthToken = twTestToken
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := StartTwilio(t.Context(), cfg)
	if err != nil {
		t.Fatalf("StartTwilio: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// twRewrite sends every request to target, whatever scheme and host twilio-go chose
// (https://api.twilio.com): twilio-go v1.31 has no base-URL setting.
type twRewrite struct {
	target *url.URL
	next   http.RoundTripper
}

// RoundTrip implements http.RoundTripper. It must not modify r, so it rewrites a clone.
func (rt twRewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.URL.Scheme = rt.target.Scheme
	r2.URL.Host = rt.target.Host
	r2.Host = rt.target.Host
	return rt.next.RoundTrip(r2)
}

// twTestClient returns the real twilio-go REST client, pointed at the sandbox.
func twTestClient(t *testing.T, s *TwilioServer, sid, token string) *twilio.RestClient {
	t.Helper()
	target, err := url.Parse(s.URL())
	if err != nil {
		t.Fatalf("parse sandbox URL: %v", err)
	}
	c := &client.Client{
		Credentials: client.NewCredentials(sid, token),
		HTTPClient: &http.Client{
			Transport: twRewrite{target: target, next: http.DefaultTransport},
			Timeout:   twTestWait,
		},
	}
	c.SetAccountSid(sid)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
}

// twCallback is one request the callback receiver got.
type twCallback struct {
	params   map[string]string
	validSig bool // checked with twilio-go's RequestValidator
}

// twReceiver starts an HTTP server that checks each request's X-Twilio-Signature with
// twilio-go's own validator, records it on the returned channel and answers with reply.
func twReceiver(t *testing.T, reply string) (*httptest.Server, <-chan twCallback) {
	t.Helper()
	ch := make(chan twCallback, 100)
	v := client.NewRequestValidator(twTestToken)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read callback: %v", err)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			t.Errorf("parse callback: %v", err)
			return
		}
		params := make(map[string]string, len(form))
		for k := range form {
			params[k] = form.Get(k)
		}
		full := "http://" + r.Host + r.URL.RequestURI()
		sig := r.Header.Get("X-Twilio-Signature")
		ch <- twCallback{
			params:   params,
			validSig: v.Validate(full, params, sig) && v.ValidateBody(full, body, sig),
		}
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, reply)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// twNext returns the next callback, failing the test if none arrives in time.
func twNext(t *testing.T, ch <-chan twCallback) twCallback {
	t.Helper()
	select {
	case cb := <-ch:
		return cb
	case <-time.After(twTestWait):
		t.Fatal("no callback arrived")
		return twCallback{}
	}
}

func twPtr[T any](v T) *T { return &v }

func TestTwilioCreateAndCallbacks(t *testing.T) {
	s := twTestServer(t, TwilioConfig{})
	tc := twTestClient(t, s, twTestSID, twTestToken)
	recv, ch := twReceiver(t, "")

	sidRe := regexp.MustCompile(`^SM[0-9a-f]{32}$`)
	tests := []struct {
		name       string
		to         string
		wantStatus []string
		wantCode   []string // ErrorCode per callback; "" means absent
	}{
		{"delivered", "+447700900123", []string{"sent", "delivered"}, []string{"", ""}},
		{"unreachable", "+447700900004", []string{"sent", "undelivered"}, []string{"", "30003"}},
		{"filtered", "+447700900005", []string{"failed"}, []string{"30007"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cbURL := recv.URL + "/sms/status?case=" + tt.name
			msg, err := tc.Api.CreateMessage(&openapi.CreateMessageParams{
				To:             twPtr(tt.to),
				From:           twPtr(twTestFrom),
				Body:           twPtr("Bin collection moves to Tuesday next week."),
				StatusCallback: twPtr(cbURL),
			})
			if err != nil {
				t.Fatalf("CreateMessage: %v", err)
			}
			if msg.Sid == nil || !sidRe.MatchString(*msg.Sid) {
				t.Fatalf("sid = %v, want SM and 32 hex digits", msg.Sid)
			}
			checks := []struct {
				field string
				got   *string
				want  string
			}{
				{"status", msg.Status, "queued"},
				{"account_sid", msg.AccountSid, twTestSID},
				{"to", msg.To, tt.to},
				{"from", msg.From, twTestFrom},
				{"direction", msg.Direction, "outbound-api"},
				{"num_segments", msg.NumSegments, "1"},
				{"api_version", msg.ApiVersion, "2010-04-01"},
				{"uri", msg.Uri, "/2010-04-01/Accounts/" + twTestSID + "/Messages/" + *msg.Sid + ".json"},
			}
			for _, c := range checks {
				if c.got == nil || *c.got != c.want {
					t.Errorf("%s = %v, want %q", c.field, c.got, c.want)
				}
			}
			if msg.Price != nil || msg.ErrorCode != nil || msg.ErrorMessage != nil || msg.MessagingServiceSid != nil {
				t.Errorf("price, error_code, error_message, messaging_service_sid = %v %v %v %v, want all null",
					msg.Price, msg.ErrorCode, msg.ErrorMessage, msg.MessagingServiceSid)
			}
			if msg.DateCreated == nil {
				t.Error("date_created missing")
			} else if _, err := time.Parse(time.RFC1123Z, *msg.DateCreated); err != nil {
				t.Errorf("date_created %q is not RFC 2822: %v", *msg.DateCreated, err)
			}

			for i, want := range tt.wantStatus {
				cb := twNext(t, ch)
				if !cb.validSig {
					t.Errorf("callback %d: twilio-go's validator rejected the signature", i)
				}
				p := cb.params
				if p["MessageSid"] != *msg.Sid || p["SmsSid"] != *msg.Sid {
					t.Fatalf("callback %d is for %s, want %s", i, p["MessageSid"], *msg.Sid)
				}
				if p["MessageStatus"] != want || p["SmsStatus"] != want {
					t.Errorf("callback %d status = %q/%q, want %q", i, p["MessageStatus"], p["SmsStatus"], want)
				}
				if p["ErrorCode"] != tt.wantCode[i] {
					t.Errorf("callback %d ErrorCode = %q, want %q", i, p["ErrorCode"], tt.wantCode[i])
				}
				if p["AccountSid"] != twTestSID || p["From"] != twTestFrom || p["To"] != tt.to || p["ApiVersion"] != "2010-04-01" {
					t.Errorf("callback %d params = %v", i, p)
				}
			}

			// The status changes before its callback is sent, so the last one is final.
			got, err := tc.Api.FetchMessage(*msg.Sid, nil)
			if err != nil {
				t.Fatalf("FetchMessage: %v", err)
			}
			final := tt.wantStatus[len(tt.wantStatus)-1]
			if got.Status == nil || *got.Status != final {
				t.Errorf("fetched status = %v, want %q", got.Status, final)
			}
			wantCode := tt.wantCode[len(tt.wantCode)-1]
			switch {
			case wantCode == "" && got.ErrorCode != nil:
				t.Errorf("fetched error_code = %d, want null", *got.ErrorCode)
			case wantCode != "" && (got.ErrorCode == nil || strconv.Itoa(*got.ErrorCode) != wantCode):
				t.Errorf("fetched error_code = %v, want %s", got.ErrorCode, wantCode)
			}
			if got.DateSent == nil && final != "failed" {
				t.Error("fetched date_sent is null after sent")
			}
		})
	}

	msgs := s.Messages()
	if len(msgs) != len(tests) {
		t.Fatalf("Messages() has %d, want %d", len(msgs), len(tests))
	}
	for i, tt := range tests {
		m := msgs[i]
		if m.To != tt.to || m.From != twTestFrom || m.Body == "" || !strings.HasPrefix(m.StatusCallback, recv.URL) || m.At.IsZero() {
			t.Errorf("Messages()[%d] = %+v", i, m)
		}
	}
}

func TestTwilioCreateErrors(t *testing.T) {
	s := twTestServer(t, TwilioConfig{})
	tc := twTestClient(t, s, twTestSID, twTestToken)

	valid := openapi.CreateMessageParams{To: twPtr("+447700900123"), From: twPtr(twTestFrom), Body: twPtr("hi")}
	with := func(f func(p *openapi.CreateMessageParams)) *openapi.CreateMessageParams {
		p := valid
		f(&p)
		return &p
	}
	tests := []struct {
		name       string
		params     *openapi.CreateMessageParams
		wantCode   int
		wantStatus int // 0 means 400
	}{
		{"magic invalid", with(func(p *openapi.CreateMessageParams) { p.To = twPtr("+447700900001") }), 21211, 0},
		{"magic not mobile", with(func(p *openapi.CreateMessageParams) { p.To = twPtr("+447700900002") }), 21614, 0},
		{"magic unsubscribed", with(func(p *openapi.CreateMessageParams) { p.To = twPtr("+447700900003") }), 21610, 0},
		{"magic queue full", with(func(p *openapi.CreateMessageParams) { p.To = twPtr("+447700900006") }), 21611, 0},
		{"magic server error", with(func(p *openapi.CreateMessageParams) { p.To = twPtr("+447700900007") }), 20500, http.StatusInternalServerError},
		{"national format", with(func(p *openapi.CreateMessageParams) { p.To = twPtr("07700900123") }), 21211, 0},
		{"no to", with(func(p *openapi.CreateMessageParams) { p.To = nil }), 21604, 0},
		{"no body", with(func(p *openapi.CreateMessageParams) { p.Body = nil }), 21602, 0},
		{"body too long", with(func(p *openapi.CreateMessageParams) { p.Body = twPtr(strings.Repeat("a", 1601)) }), 21617, 0},
		{"no sender", with(func(p *openapi.CreateMessageParams) { p.From = nil }), 21603, 0},
		{"bad from", with(func(p *openapi.CreateMessageParams) { p.From = twPtr("not-a-sender!") }), 21606, 0},
		{"bad service", with(func(p *openapi.CreateMessageParams) { p.From = nil; p.MessagingServiceSid = twPtr("MGnope") }), 21705, 0},
		{"bad callback", with(func(p *openapi.CreateMessageParams) { p.StatusCallback = twPtr("ftp://x") }), 21609, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tc.Api.CreateMessage(tt.params)
			var te *client.TwilioRestError
			if !errors.As(err, &te) {
				t.Fatalf("CreateMessage error = %v, want *client.TwilioRestError", err)
			}
			wantStatus := tt.wantStatus
			if wantStatus == 0 {
				wantStatus = http.StatusBadRequest
			}
			if te.Code != tt.wantCode || te.Status != wantStatus {
				t.Errorf("error = %d/%d, want %d/%d", te.Code, te.Status, tt.wantCode, wantStatus)
			}
			if te.MoreInfo != "https://www.twilio.com/docs/errors/"+strconv.Itoa(tt.wantCode) || te.Message == "" {
				t.Errorf("error = %+v", te)
			}
		})
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("Messages() has %d after only rejected creates", n)
	}

	_, err := tc.Api.CreateMessage(with(func(p *openapi.CreateMessageParams) { p.To = twPtr("+447700900001") }))
	var te *client.TwilioRestError
	if errors.As(err, &te) && te.Message != "The 'To' number +447700900001 is not a valid phone number." {
		t.Errorf("21211 message = %q", te.Message)
	}
}

func TestTwilioMessagingService(t *testing.T) {
	s := twTestServer(t, TwilioConfig{})
	tc := twTestClient(t, s, twTestSID, twTestToken)
	const service = "MG0123456789abcdef0123456789abcdef"
	long := strings.Repeat("a", 161)
	msg, err := tc.Api.CreateMessage(&openapi.CreateMessageParams{
		To:                  twPtr("+447700900123"),
		MessagingServiceSid: twPtr(service),
		Body:                twPtr(long),
	})
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	if msg.MessagingServiceSid == nil || *msg.MessagingServiceSid != service || msg.From != nil {
		t.Errorf("messaging_service_sid, from = %v, %v", msg.MessagingServiceSid, msg.From)
	}
	if msg.NumSegments == nil || *msg.NumSegments != "2" {
		t.Errorf("num_segments = %v, want 2", msg.NumSegments)
	}
	if got := s.Messages(); len(got) != 1 || got[0].MessagingServiceSID != service || got[0].From != "" {
		t.Errorf("Messages() = %+v", got)
	}
}

func TestTwilioRateLimit(t *testing.T) {
	s := twTestServer(t, TwilioConfig{RatePerSec: 1})
	tc := twTestClient(t, s, twTestSID, twTestToken)
	var ok, limited int
	for range 3 {
		_, err := tc.Api.CreateMessage(&openapi.CreateMessageParams{
			To: twPtr("+447700900123"), From: twPtr(twTestFrom), Body: twPtr("hi"),
		})
		var te *client.TwilioRestError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &te) && te.Code == 20429 && te.Status == http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("CreateMessage: %v", err)
		}
	}
	if ok < 1 || limited < 1 {
		t.Errorf("ok, limited = %d, %d; want at least one of each", ok, limited)
	}
	if n := len(s.Messages()); n != ok {
		t.Errorf("Messages() has %d, want %d", n, ok)
	}
}

func TestTwilioAuth(t *testing.T) {
	s := twTestServer(t, TwilioConfig{})
	const otherSID = "AC11111111111111111111111111111111"
	tests := []struct {
		name       string
		sid, token string
	}{
		{"wrong token", twTestSID, "wrongtoken"},
		{"other account", otherSID, twTestToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := twTestClient(t, s, tt.sid, tt.token)
			_, err := tc.Api.CreateMessage(&openapi.CreateMessageParams{
				To: twPtr("+447700900123"), From: twPtr(twTestFrom), Body: twPtr("hi"),
			})
			var te *client.TwilioRestError
			if !errors.As(err, &te) || te.Code != 20003 || te.Status != http.StatusUnauthorized {
				t.Fatalf("CreateMessage error = %v, want 401 with code 20003", err)
			}
			_, err = tc.Api.FetchMessage("SM0123456789abcdef0123456789abcdef", nil)
			if !errors.As(err, &te) || te.Code != 20003 {
				t.Errorf("FetchMessage error = %v, want code 20003", err)
			}
		})
	}

	// No credentials at all.
	resp, err := http.Post(s.URL()+"/2010-04-01/Accounts/"+twTestSID+"/Messages.json",
		"application/x-www-form-urlencoded", strings.NewReader("To=%2B447700900123&From=%2B447700900999&Body=hi"))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.StatusCode)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("Messages() has %d after unauthorised creates", n)
	}
}

func TestTwilioFetchUnknown(t *testing.T) {
	s := twTestServer(t, TwilioConfig{})
	tc := twTestClient(t, s, twTestSID, twTestToken)
	_, err := tc.Api.FetchMessage("SM0123456789abcdef0123456789abcdef", nil)
	var te *client.TwilioRestError
	if !errors.As(err, &te) || te.Code != 20404 || te.Status != http.StatusNotFound {
		t.Errorf("FetchMessage error = %v, want 404 with code 20404", err)
	}
}

func TestTwilioSendInbound(t *testing.T) {
	s := twTestServer(t, TwilioConfig{})
	tc := twTestClient(t, s, twTestSID, twTestToken)
	const twiml = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`
	recv, ch := twReceiver(t, twiml)
	const resident = "+447700900321"

	send := func() error {
		_, err := tc.Api.CreateMessage(&openapi.CreateMessageParams{
			To: twPtr(resident), From: twPtr(twTestFrom), Body: twPtr("Poll: bins on Tuesday? Reply YES or NO"),
		})
		return err
	}
	tests := []struct {
		name       string
		body       string
		wantOptOut string
		wantSendOK bool // whether a create to the resident succeeds afterwards
	}{
		{"plain reply", "Yes please, Tuesday is fine", "", true},
		{"stop", " stop ", "STOP", false},
		{"help keeps opt-out", "HELP", "HELP", false},
		{"start", "Start", "START", true},
		{"unsubscribe", "UNSUBSCRIBE", "STOP", false},
		{"yes opts back in", "yes", "START", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, reply, err := s.SendInbound(t.Context(), recv.URL+"/sms/inbound?ward=3", resident, twTestFrom, tt.body)
			if err != nil {
				t.Fatalf("SendInbound: %v", err)
			}
			if status != http.StatusOK || reply != twiml {
				t.Errorf("SendInbound = %d %q, want 200 and the TwiML", status, reply)
			}
			cb := twNext(t, ch)
			if !cb.validSig {
				t.Error("twilio-go's validator rejected the inbound signature")
			}
			p := cb.params
			if !regexp.MustCompile(`^SM[0-9a-f]{32}$`).MatchString(p["MessageSid"]) || p["AccountSid"] != twTestSID ||
				p["From"] != resident || p["To"] != twTestFrom || p["Body"] != tt.body || p["NumMedia"] != "0" {
				t.Errorf("inbound params = %v", p)
			}
			if got, has := p["OptOutType"]; got != tt.wantOptOut || has != (tt.wantOptOut != "") {
				t.Errorf("OptOutType = %q (present %v), want %q", got, has, tt.wantOptOut)
			}

			err = send()
			var te *client.TwilioRestError
			switch {
			case tt.wantSendOK && err != nil:
				t.Errorf("create after %q: %v", tt.body, err)
			case !tt.wantSendOK && (!errors.As(err, &te) || te.Code != 21610):
				t.Errorf("create after %q: error %v, want 21610", tt.body, err)
			}
		})
	}

	if _, _, err := s.SendInbound(t.Context(), "http://127.0.0.1:1/closed", resident, twTestFrom, "hi"); err == nil {
		t.Error("SendInbound to a closed port succeeded")
	}
}

func TestTwilioSignKnownVector(t *testing.T) {
	// The worked example from Twilio's webhook security documentation.
	const (
		token = "12345"
		u     = "https://mycompany.com/myapp.php?foo=1&bar=2"
		want  = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
	)
	params := map[string]string{
		"CallSid": "CA1234567890ABCDE",
		"Caller":  "+12349013030",
		"Digits":  "1234",
		"From":    "+12349013030",
		"To":      "+18005551212",
	}
	if got := twSign(token, u, params); got != want {
		t.Errorf("twSign = %q, want %q", got, want)
	}
	v := client.NewRequestValidator(token)
	if !v.Validate(u, params, twSign(token, u, params)) {
		t.Error("twilio-go's validator rejected twSign's signature")
	}
}

func TestTwilioCloseWaitsForCallbacks(t *testing.T) {
	ctx := t.Context()
	s, err := StartTwilio(ctx, TwilioConfig{AccountSID: twTestSID, AuthToken: twTestToken})
	if err != nil {
		t.Fatalf("StartTwilio: %v", err)
	}
	tc := twTestClient(t, s, twTestSID, twTestToken)
	recv, ch := twReceiver(t, "")
	const n = 5
	for range n {
		if _, err := tc.Api.CreateMessage(&openapi.CreateMessageParams{
			To: twPtr("+447700900123"), From: twPtr(twTestFrom), Body: twPtr("hi"), StatusCallback: twPtr(recv.URL),
		}); err != nil {
			t.Fatalf("CreateMessage: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Every callback has been delivered by the time Close returns.
	if got := len(ch); got != 2*n {
		t.Errorf("%d callbacks received by Close, want %d", got, 2*n)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := http.Get(s.URL()); err == nil {
		t.Error("server still answers after Close")
	}
}

func TestTwilioStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, err := StartTwilio(ctx, TwilioConfig{AccountSID: twTestSID, AuthToken: twTestToken})
	if err != nil {
		t.Fatalf("StartTwilio: %v", err)
	}
	tc := twTestClient(t, s, twTestSID, twTestToken)

	// A callback receiver that doesn't answer until the sender gives up (or the test ends).
	// It reads the body first: only then does net/http notice the client going away.
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) }) // cleanups run last-in first-out

	if _, err := tc.Api.CreateMessage(&openapi.CreateMessageParams{
		To: twPtr("+447700900123"), From: twPtr(twTestFrom), Body: twPtr("hi"), StatusCallback: twPtr(hang.URL),
	}); err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	select {
	case <-arrived:
	case <-time.After(twTestWait):
		t.Fatal("callback never arrived")
	}

	cancel()
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(twTestWait):
		t.Fatal("Close did not return after cancellation")
	}
}

func TestStartTwilioConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  TwilioConfig
	}{
		{"short sid", TwilioConfig{AccountSID: "AC123", AuthToken: twTestToken}},
		{"no token", TwilioConfig{AccountSID: twTestSID}},
		{"token with symbols", TwilioConfig{AccountSID: twTestSID, AuthToken: "a-b"}},
		{"negative rate", TwilioConfig{AccountSID: twTestSID, AuthToken: twTestToken, RatePerSec: -1}},
		{"bad addr", TwilioConfig{AccountSID: twTestSID, AuthToken: twTestToken, Addr: "256.0.0.1:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := StartTwilio(t.Context(), tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("StartTwilio succeeded")
			}
		})
	}
}

func TestTwilioSegments(t *testing.T) {
	tests := []struct {
		name string
		body string
		want int
	}{
		{"empty", "", 1},
		{"gsm 160", strings.Repeat("a", 160), 1},
		{"gsm 161", strings.Repeat("a", 161), 2},
		{"gsm 306", strings.Repeat("a", 306), 2},
		{"gsm 307", strings.Repeat("a", 307), 3},
		{"extension chars count twice", strings.Repeat("€", 80), 1},
		{"extension chars over", strings.Repeat("€", 81), 2},
		{"ucs2 70", strings.Repeat("ł", 70), 1},
		{"ucs2 71", strings.Repeat("ł", 71), 2},
		{"emoji is two units", strings.Repeat("🙂", 35), 1},
		{"emoji over", strings.Repeat("🙂", 36), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := twSegments(tt.body); got != tt.want {
				t.Errorf("twSegments = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestTwilioWritesTextsToDir: with Dir set, every accepted text is a file a demo user
// can open (the sandbox phone); refused ones are not.
func TestTwilioWritesTextsToDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sandbox-texts")
	s := twTestServer(t, TwilioConfig{Dir: dir})
	tc := twTestClient(t, s, twTestSID, twTestToken)
	if _, err := tc.Api.CreateMessage(&openapi.CreateMessageParams{To: twPtr("+447700900123"), From: twPtr("+447700900999"),
		Body: twPtr("Your code is 482913. Crier demo borough")}); err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	if _, err := tc.Api.CreateMessage(&openapi.CreateMessageParams{To: twPtr("+447700900001"), From: twPtr("+447700900999"),
		Body: twPtr("refused: invalid number")}); err == nil {
		t.Fatal("the magic invalid number was accepted")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	if len(files) != 1 {
		t.Fatalf("%d files in %s, want 1", len(files), dir)
	}
	b, _ := os.ReadFile(files[0])
	if !strings.Contains(string(b), "To: +447700900123") || !strings.Contains(string(b), "Your code is 482913.") {
		t.Errorf("the text's file:\n%s", b)
	}
}
