package email

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/sandbox"
)

// sendTestSandbox starts a sandbox SMTP server for one test.
func sendTestSandbox(t testing.TB, cfg sandbox.SMTPConfig) *sandbox.SMTPServer {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := sandbox.StartSMTP(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start sandbox: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// sendTestSender builds a sender pointed at addr; adjust may change the config.
func sendTestSender(t testing.TB, addr string, adjust func(*SMTPConfig)) *SMTPSender {
	t.Helper()
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("split %q: %v", addr, err)
	}
	port, _ := strconv.Atoi(portStr)
	cfg := SMTPConfig{Host: host, Port: port, TLS: TLSNone, Timeout: 5 * time.Second, HelloName: "crier.test"}
	if adjust != nil {
		adjust(&cfg)
	}
	s, err := NewSMTPSender(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewSMTPSender: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// sendTestMessage is a typical e-bulletin with non-ASCII text and unsubscribe headers.
func sendTestMessage(id int64, to string) dispatch.Message {
	return dispatch.Message{
		OutboxID:  id,
		ContactID: 1000 + id,
		Channel:   dispatch.Email,
		To:        to,
		From:      "Cardiff Council <bulletins@council.example.gov.uk>",
		Subject:   "Siân's bin day — changed",
		Text: "Hello Siân,\n\nYour bin day has moved to Thursday — please put your recycling out by 7am. " +
			"Full details: https://council.example.gov.uk/bins?area=riverside&week=2\n",
		HTML: "<p>Hello Siân,</p><p>Your bin day has moved to <strong>Thursday</strong> — please put your " +
			"recycling out by 7am.</p>",
		Headers: map[string]string{
			"List-Unsubscribe":      "<https://council.example.gov.uk/u/tok123>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"List-Id":               "Bin collections <bins.council.example.gov.uk>",
		},
	}
}

// sendTestParsed is a received message, decoded.
type sendTestParsed struct {
	header netmail.Header
	parts  map[string]string // media type -> decoded body, CRLF normalised to LF
}

func sendTestParse(t *testing.T, data []byte) sendTestParsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	p := sendTestParsed{header: msg.Header, parts: map[string]string{}}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("parse Content-Type: %v", err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		var r io.Reader = msg.Body
		if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
		// A single-part body ends with the line break go-mail always adds.
		p.parts[mt] = strings.TrimSuffix(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n")
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		pmt, pparams, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("parse part Content-Type: %v", err)
		}
		if cs := strings.ToLower(pparams["charset"]); cs != "utf-8" {
			t.Errorf("%s charset = %q, want utf-8", pmt, cs)
		}
		body, err := io.ReadAll(part) // multipart.Reader undoes quoted-printable
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		p.parts[pmt] = strings.ReplaceAll(string(body), "\r\n", "\n")
	}
	if mt != "multipart/alternative" {
		t.Errorf("Content-Type = %s, want multipart/alternative", mt)
	}
	return p
}

func TestSMTPSendDelivers(t *testing.T) {
	srv := sendTestSandbox(t, sandbox.SMTPConfig{})
	s := sendTestSender(t, srv.Addr(), nil)
	m := sendTestMessage(123, "sian@example.com")

	before := time.Now().Add(-time.Second).Truncate(time.Second)
	rcpt, err := s.Send(t.Context(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if want := "<outbox-123.crier@council.example.gov.uk>"; rcpt.ProviderID != want {
		t.Errorf("ProviderID = %q, want %q", rcpt.ProviderID, want)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sandbox has %d messages, want 1", len(msgs))
	}
	if msgs[0].From != "bulletins@council.example.gov.uk" || !slices.Equal(msgs[0].To, []string{"sian@example.com"}) {
		t.Errorf("envelope = %q -> %q", msgs[0].From, msgs[0].To)
	}
	got := sendTestParse(t, msgs[0].Data)
	h := got.header

	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Fatalf("decode Subject: %v", err)
	}
	date, err := h.Date()
	if err != nil || date.Before(before) || date.After(time.Now().Add(time.Second)) {
		t.Errorf("Date = %q (%v), want about now", h.Get("Date"), err)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Cardiff Council" || from[0].Address != "bulletins@council.example.gov.uk" {
		t.Errorf("From = %q (%v)", h.Get("From"), err)
	}
	headers := []struct{ name, got, want string }{
		{"Subject", subject, m.Subject},
		{"Message-ID", h.Get("Message-ID"), "<outbox-123.crier@council.example.gov.uk>"},
		{"To", h.Get("To"), "<sian@example.com>"},
		{"MIME-Version", h.Get("MIME-Version"), "1.0"},
		{"List-Unsubscribe", h.Get("List-Unsubscribe"), m.Headers["List-Unsubscribe"]},
		{"List-Unsubscribe-Post", h.Get("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click"},
		{"List-Id", h.Get("List-Id"), m.Headers["List-Id"]},
	}
	for _, tc := range headers {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if got.parts["text/plain"] != m.Text {
		t.Errorf("text/plain = %q, want %q", got.parts["text/plain"], m.Text)
	}
	if got.parts["text/html"] != m.HTML {
		t.Errorf("text/html = %q, want %q", got.parts["text/html"], m.HTML)
	}
	if !bytes.Contains(msgs[0].Data, []byte("Content-Transfer-Encoding: quoted-printable")) {
		t.Error("parts are not quoted-printable")
	}
}

func TestSMTPSendBodies(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		html      string
		wantParts map[string]string
	}{
		{"text only", "Bins on Thursday.\n", "", map[string]string{"text/plain": "Bins on Thursday."}},
		{"html only", "", "<p>Bins</p>", map[string]string{"text/html": "<p>Bins</p>"}},
		{"both", "Bins.", "<p>Bins</p>", map[string]string{"text/plain": "Bins.", "text/html": "<p>Bins</p>"}},
	}
	srv := sendTestSandbox(t, sandbox.SMTPConfig{})
	s := sendTestSender(t, srv.Addr(), nil)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := sendTestMessage(int64(i), "a@example.com")
			m.Text, m.HTML = tc.text, tc.html
			if _, err := s.Send(t.Context(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.Messages()
			got := sendTestParse(t, msgs[len(msgs)-1].Data)
			for mt, want := range tc.wantParts {
				if got.parts[mt] != want {
					t.Errorf("%s = %q, want %q", mt, got.parts[mt], want)
				}
			}
			if len(got.parts) != len(tc.wantParts) {
				t.Errorf("got parts %v, want %d", got.parts, len(tc.wantParts))
			}
		})
	}
}

// sendTestKey returns a PEM private key and the p= value of its DKIM TXT record.
func sendTestKey(t testing.TB, kind string) (pemBytes []byte, txt string) {
	t.Helper()
	switch kind {
	case "rsa":
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		der := x509.MarshalPKCS1PrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}),
			"v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)
	case "ed25519":
		pub, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
			"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	}
	t.Fatalf("unknown key kind %q", kind)
	return nil, ""
}

func TestSMTPSendDKIM(t *testing.T) {
	for _, kind := range []string{"rsa", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			keyPEM, txt := sendTestKey(t, kind)
			srv := sendTestSandbox(t, sandbox.SMTPConfig{})
			s := sendTestSender(t, srv.Addr(), func(c *SMTPConfig) {
				c.DKIM = &DKIMConfig{Domain: "council.example.gov.uk", Selector: "crier2025", PrivateKeyPEM: keyPEM}
			})
			if _, err := s.Send(t.Context(), sendTestMessage(7, "sian@example.com")); err != nil {
				t.Fatalf("Send: %v", err)
			}
			data := srv.Messages()[0].Data
			var looked []string
			verifications, err := dkim.VerifyWithOptions(bytes.NewReader(data), &dkim.VerifyOptions{
				LookupTXT: func(domain string) ([]string, error) {
					looked = append(looked, domain)
					if domain != "crier2025._domainkey.council.example.gov.uk" {
						return nil, fmt.Errorf("no TXT for %s", domain)
					}
					return []string{txt}, nil
				},
			})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(verifications) != 1 {
				t.Fatalf("got %d signatures, want 1 (looked up %v)", len(verifications), looked)
			}
			v := verifications[0]
			if v.Err != nil {
				t.Fatalf("signature does not verify: %v\n%s", v.Err, data)
			}
			if v.Domain != "council.example.gov.uk" {
				t.Errorf("d= %q", v.Domain)
			}
			signed := make([]string, len(v.HeaderKeys))
			for i, k := range v.HeaderKeys {
				signed[i] = strings.ToLower(k)
			}
			for _, want := range []string{"from", "to", "subject", "date", "message-id", "mime-version",
				"content-type", "list-unsubscribe", "list-unsubscribe-post"} {
				if !slices.Contains(signed, want) {
					t.Errorf("signature does not cover %s (h=%v)", want, v.HeaderKeys)
				}
			}

			// Tampering with a signed unsubscribe header must break the signature.
			tampered := bytes.Replace(data, []byte("u/tok123"), []byte("u/evil99"), 1)
			vs, err := dkim.VerifyWithOptions(bytes.NewReader(tampered), &dkim.VerifyOptions{
				LookupTXT: func(string) ([]string, error) { return []string{txt}, nil },
			})
			if err != nil || len(vs) != 1 || vs[0].Err == nil {
				t.Errorf("tampered List-Unsubscribe still verifies (err %v)", err)
			}
		})
	}
}

func TestSMTPSendConcurrentPooled(t *testing.T) {
	const n = 200
	srv := sendTestSandbox(t, sandbox.SMTPConfig{})
	s := sendTestSender(t, srv.Addr(), func(c *SMTPConfig) { c.Connections = 4; c.MessagesPerConn = 30 })

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.Send(t.Context(), sendTestMessage(int64(i), fmt.Sprintf("r%d@example.com", i)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := srv.WaitFor(ctx, n); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range srv.Messages() {
		msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		seen[msg.Header.Get("Message-ID")]++
	}
	if len(seen) != n {
		t.Errorf("got %d distinct messages, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s arrived %d times", id, c)
		}
	}
}

func TestSMTPSendFailures(t *testing.T) {
	tests := []struct {
		name       string
		to         string
		wantKind   error
		wantCode   string
		wantReason string
	}{
		{"no such user", "bounce@example.com", dispatch.ErrPermanent, "550", "mailbox unavailable (550 5.1.1)"},
		{"greylisted", "slow@example.com", dispatch.ErrThrottled, "451", "rate limited (451 4.7.1)"},
		{"mailbox busy", "later@example.com", dispatch.ErrTemporary, "450", "mailbox temporarily unavailable (450 4.2.1)"},
		{"too many connections", "busy@example.com", dispatch.ErrThrottled, "421", "service unavailable (421 4.0.0)"},
		{"policy", "blocked@example.com", dispatch.ErrPermanent, "554", "recipient rejected by policy (554 5.7.1)"},
	}
	srv := sendTestSandbox(t, sandbox.SMTPConfig{})
	srv.FailRecipient("bounce", 550, "5.1.1", "no such user")
	srv.FailRecipient("slow", 451, "4.7.1", "try later")
	srv.FailRecipient("later", 450, "4.2.1", "mailbox busy")
	srv.FailRecipient("busy", 421, "", "too many connections")
	srv.FailRecipient("blocked", 554, "5.7.1", "rejected by policy")
	s := sendTestSender(t, srv.Addr(), func(c *SMTPConfig) { c.Connections = 1 })

	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Send(t.Context(), sendTestMessage(int64(i), tc.to))
			var se *dispatch.SendError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *dispatch.SendError", err)
			}
			if !errors.Is(err, tc.wantKind) {
				t.Errorf("kind = %v, want %v", se.Kind, tc.wantKind)
			}
			if se.Code != tc.wantCode || se.Reason != tc.wantReason {
				t.Errorf("code, reason = %q, %q; want %q, %q", se.Code, se.Reason, tc.wantCode, tc.wantReason)
			}
			if strings.Contains(se.Reason, "@") || strings.Contains(se.Error(), "@") {
				t.Errorf("reason quotes an address: %q", se.Error())
			}
			if se.Down {
				t.Error("a reply about one recipient says the relay is up, not down")
			}
			// The pooled connection (or its replacement) still works.
			if _, err := s.Send(t.Context(), sendTestMessage(100+int64(i), "ok@example.com")); err != nil {
				t.Fatalf("next Send: %v", err)
			}
		})
	}
	if got := srv.Count(); got != int64(len(tests)) {
		t.Errorf("sandbox accepted %d, want %d", got, len(tests))
	}
}

func TestSMTPSendDroppedConnection(t *testing.T) {
	srv := sendTestSandbox(t, sandbox.SMTPConfig{})
	s := sendTestSender(t, srv.Addr(), func(c *SMTPConfig) { c.Connections = 1 })
	if _, err := s.Send(t.Context(), sendTestMessage(1, "a@example.com")); err != nil {
		t.Fatalf("warm-up Send: %v", err)
	}
	// The connection drops after the message's final dot, before any reply: whether the
	// relay kept it can't be known, so it is unknown, never retried (no double delivery).
	srv.DropNextConnections(1)
	_, err := s.Send(t.Context(), sendTestMessage(2, "a@example.com"))
	var se *dispatch.SendError
	if !errors.As(err, &se) || !errors.Is(err, dispatch.ErrUnknown) || !strings.HasPrefix(se.Reason, "no reply after the message was sent") {
		t.Fatalf("err = %v, want unknown: no reply after the message was sent", err)
	}
	if _, err := s.Send(t.Context(), sendTestMessage(3, "a@example.com")); err != nil {
		t.Fatalf("Send after drop (re-dial): %v", err)
	}
	if got := srv.Count(); got != 2 {
		t.Errorf("sandbox accepted %d, want 2", got)
	}
	// A relay that kept the message and then lost the connection: unknown too.
	srv.AcceptThenDropNextConnections(1)
	if _, err := s.Send(t.Context(), sendTestMessage(4, "a@example.com")); !errors.Is(err, dispatch.ErrUnknown) {
		t.Fatalf("err = %v, want unknown", err)
	}
	if got := srv.Count(); got != 3 {
		t.Errorf("sandbox accepted %d, want 3", got)
	}
}

func TestSMTPSendServerGone(t *testing.T) {
	tests := []struct {
		name   string
		warmUp bool // a pooled connection exists when the server stops
	}{
		{"never connected", false},
		{"pooled connection", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := sendTestSandbox(t, sandbox.SMTPConfig{})
			s := sendTestSender(t, srv.Addr(), func(c *SMTPConfig) { c.Connections = 1 })
			if tc.warmUp {
				if _, err := s.Send(t.Context(), sendTestMessage(1, "a@example.com")); err != nil {
					t.Fatalf("warm-up Send: %v", err)
				}
			}
			if err := srv.Close(); err != nil {
				t.Fatal(err)
			}
			_, err := s.Send(t.Context(), sendTestMessage(2, "a@example.com"))
			var se *dispatch.SendError
			if !errors.As(err, &se) || !errors.Is(err, dispatch.ErrTemporary) {
				t.Fatalf("err = %v, want ErrTemporary", err)
			}
			if se.Reason != "connection refused" {
				t.Errorf("reason = %q, want connection refused", se.Reason)
			}
			if !se.Down {
				t.Error("an unreachable relay must mark the channel down")
			}
		})
	}
}

func TestSMTPSendReusedConnectionWentStale(t *testing.T) {
	// The server closes idle connections; the pooled one is dead, and Send must
	// re-dial rather than fail the message.
	srv := sendTestSandbox(t, sandbox.SMTPConfig{})
	s := sendTestSender(t, srv.Addr(), func(c *SMTPConfig) { c.Connections = 1 })
	if _, err := s.Send(t.Context(), sendTestMessage(1, "a@example.com")); err != nil {
		t.Fatal(err)
	}
	c := <-s.slots
	_ = c.raw.Close() // what an idle timeout looks like from here
	s.slots <- c
	if _, err := s.Send(t.Context(), sendTestMessage(2, "a@example.com")); err != nil {
		t.Fatalf("Send on a stale pooled connection: %v", err)
	}
	if got := srv.Count(); got != 2 {
		t.Errorf("sandbox accepted %d, want 2", got)
	}
}

func TestSMTPSendContext(t *testing.T) {
	// A server that accepts connections and never says anything.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	conns := make(chan net.Conn, 8)
	held.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		held.Wait()
		close(conns)
		for c := range conns {
			_ = c.Close()
		}
	})
	s := sendTestSender(t, ln.Addr().String(), func(c *SMTPConfig) { c.Connections = 1; c.Timeout = time.Minute })

	tests := []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{"already cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx, cancel
		}, context.Canceled},
		{"deadline while waiting for greeting", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(t.Context(), 100*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancelled while waiting for greeting", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			_, err := s.Send(ctx, sendTestMessage(int64(i), "a@example.com"))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Send took %v after ctx ended", d)
			}
		})
	}
}

func TestSMTPSendBadMessage(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(*dispatch.Message)
		wantKind error
		reason   string
	}{
		{"bad recipient", func(m *dispatch.Message) { m.To = "not an address" }, dispatch.ErrPermanent, "invalid recipient address"},
		{"bad sender", func(m *dispatch.Message) { m.From = "nobody" }, dispatch.ErrTemporary, "invalid sender address"},
		{"header injection", func(m *dispatch.Message) {
			m.Headers = map[string]string{"List-Id": "x\r\nBcc: victim@example.com"}
		}, dispatch.ErrPermanent, `invalid header "List-Id"`},
	}
	srv := sendTestSandbox(t, sandbox.SMTPConfig{})
	s := sendTestSender(t, srv.Addr(), nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := sendTestMessage(1, "a@example.com")
			tc.mutate(&m)
			_, err := s.Send(t.Context(), m)
			var se *dispatch.SendError
			if !errors.As(err, &se) || !errors.Is(err, tc.wantKind) || se.Reason != tc.reason {
				t.Fatalf("err = %v, want %v %q", err, tc.wantKind, tc.reason)
			}
		})
	}
	if srv.Count() != 0 {
		t.Errorf("sandbox accepted %d bad messages", srv.Count())
	}
}

func TestSMTPSendReservedHeadersIgnored(t *testing.T) {
	srv := sendTestSandbox(t, sandbox.SMTPConfig{})
	s := sendTestSender(t, srv.Addr(), nil)
	m := sendTestMessage(5, "a@example.com")
	m.Headers["Message-ID"] = "<spoofed@example.com>"
	m.Headers["bcc"] = "other@example.com"
	if _, err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	h := sendTestParse(t, srv.Messages()[0].Data).header
	if got := h.Get("Message-ID"); got != "<outbox-5.crier@council.example.gov.uk>" {
		t.Errorf("Message-ID = %q", got)
	}
	if got := h.Get("Bcc"); got != "" {
		t.Errorf("Bcc = %q", got)
	}
}

func TestSMTPSendAuth(t *testing.T) {
	tests := []struct {
		name       string
		password   string
		wantErr    bool
		wantReason string
	}{
		{"good credentials", "s3cret", false, ""},
		{"bad credentials", "wrong", true, "authentication rejected (535 5.7.8)"},
	}
	srv := sendTestSandbox(t, sandbox.SMTPConfig{Users: map[string]string{"crier": "s3cret"}})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sendTestSender(t, srv.Addr(), func(c *SMTPConfig) { c.Username, c.Password = "crier", tc.password })
			_, err := s.Send(t.Context(), sendTestMessage(int64(i), "a@example.com"))
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				return
			}
			var se *dispatch.SendError
			if !errors.As(err, &se) || !errors.Is(err, dispatch.ErrTemporary) || se.Reason != tc.wantReason {
				t.Fatalf("err = %v, want temporary %q", err, tc.wantReason)
			}
		})
	}
}

func TestSMTPSendRedialsAfterMessagesPerConn(t *testing.T) {
	srv := sendTestSandbox(t, sandbox.SMTPConfig{})
	s := sendTestSender(t, srv.Addr(), func(c *SMTPConfig) { c.Connections = 1; c.MessagesPerConn = 2 })
	var conns []net.Conn
	for i := range 5 {
		if _, err := s.Send(t.Context(), sendTestMessage(int64(i), "a@example.com")); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		c := <-s.slots
		conns = append(conns, c.raw)
		s.slots <- c
	}
	// Connections are retired after messages 2 and 4.
	if conns[0] == nil || conns[1] != nil || conns[2] == nil || conns[2] == conns[0] || conns[3] != nil || conns[4] == nil {
		t.Errorf("connection reuse pattern = %v", conns)
	}
	if got := srv.Count(); got != 5 {
		t.Errorf("sandbox accepted %d, want 5", got)
	}
}

func TestSMTPSenderClose(t *testing.T) {
	srv := sendTestSandbox(t, sandbox.SMTPConfig{})
	s := sendTestSender(t, srv.Addr(), nil)
	if _, err := s.Send(t.Context(), sendTestMessage(1, "a@example.com")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := s.Send(t.Context(), sendTestMessage(2, "a@example.com"))
	if !errors.Is(err, dispatch.ErrTemporary) {
		t.Fatalf("Send after Close = %v, want ErrTemporary", err)
	}
	if s.Channel() != dispatch.Email {
		t.Errorf("Channel = %q", s.Channel())
	}
}

func TestNewSMTPSenderConfig(t *testing.T) {
	tests := []struct {
		name     string
		cfg      SMTPConfig
		wantErr  string
		wantPort int
	}{
		{"defaults", SMTPConfig{Host: "smtp.example.org"}, "", 25},
		{"starttls default port", SMTPConfig{Host: "smtp.example.org", TLS: TLSStartTLSRequired}, "", 587},
		{"implicit tls default port", SMTPConfig{Host: "smtp.example.org", TLS: TLSImplicit}, "", 465},
		{"no host", SMTPConfig{}, "host is required", 0},
		{"bad tls", SMTPConfig{Host: "h", TLS: "ssl"}, "unknown TLS mode", 0},
		{"bad port", SMTPConfig{Host: "h", Port: 70000}, "out of range", 0},
		{"negative pool", SMTPConfig{Host: "h", Connections: -1}, "must not be negative", 0},
		{"dkim without key", SMTPConfig{Host: "h", DKIM: &DKIMConfig{Domain: "d", Selector: "s"}}, "no PEM private key", 0},
		{"dkim without selector", SMTPConfig{Host: "h", DKIM: &DKIMConfig{Domain: "d"}}, "domain and selector", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSMTPSender(tc.cfg, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewSMTPSender: %v", err)
			}
			defer s.Close()
			if s.cfg.Port != tc.wantPort || s.cfg.Connections != 4 || s.cfg.MessagesPerConn != 1000 || s.cfg.Timeout != 30*time.Second {
				t.Errorf("cfg = %+v", s.cfg)
			}
		})
	}
}

func TestSendClassifyFailure(t *testing.T) {
	tests := []struct {
		name       string
		f          sendFailure
		wantKind   error
		wantCode   string
		wantReason string
	}{
		{"dropped", sendFailure{stage: sendStageData, cause: "connection dropped"}, dispatch.ErrTemporary, "", "connection dropped"},
		{"timeout", sendFailure{stage: sendStageRcpt, cause: "timeout"}, dispatch.ErrTemporary, "", "timeout"},
		{"refused", sendFailure{stage: sendStageConnect, cause: "connection refused"}, dispatch.ErrTemporary, "", "connection refused"},
		{"no cause", sendFailure{stage: sendStageOther}, dispatch.ErrTemporary, "", "smtp error"},
		{"550 5.1.1 rcpt", sendFailure{stage: sendStageRcpt, code: 550, enhanced: "5.1.1"}, dispatch.ErrPermanent, "550", "mailbox unavailable (550 5.1.1)"},
		{"551 rcpt", sendFailure{stage: sendStageRcpt, code: 551}, dispatch.ErrPermanent, "551", "mailbox unavailable (551)"},
		{"553 5.1.2 rcpt", sendFailure{stage: sendStageRcpt, code: 553, enhanced: "5.1.2"}, dispatch.ErrPermanent, "553", "mailbox unavailable (553 5.1.2)"},
		{"552 rcpt", sendFailure{stage: sendStageRcpt, code: 552, enhanced: "5.2.2"}, dispatch.ErrPermanent, "552", "mailbox full (552 5.2.2)"},
		{"550 5.7.1 rcpt", sendFailure{stage: sendStageRcpt, code: 550, enhanced: "5.7.1"}, dispatch.ErrPermanent, "550", "recipient rejected by policy (550 5.7.1)"},
		{"554 data", sendFailure{stage: sendStageData, code: 554, enhanced: "5.6.0"}, dispatch.ErrPermanent, "554", "message rejected (554 5.6.0)"},
		{"552 data", sendFailure{stage: sendStageData, code: 552, enhanced: "5.3.4"}, dispatch.ErrPermanent, "552", "message rejected (552 5.3.4)"},
		{"553 mail", sendFailure{stage: sendStageMail, code: 553, enhanced: "5.1.8"}, dispatch.ErrPermanent, "553", "message rejected at MAIL FROM (553 5.1.8)"},
		{"530 mail", sendFailure{stage: sendStageMail, code: 530, enhanced: "5.7.0"}, dispatch.ErrTemporary, "530", "authentication rejected (530 5.7.0)"},
		{"535 connect", sendFailure{stage: sendStageConnect, code: 535, enhanced: "5.7.8"}, dispatch.ErrTemporary, "535", "authentication rejected (535 5.7.8)"},
		{"554 greeting", sendFailure{stage: sendStageConnect, code: 554}, dispatch.ErrTemporary, "554", "server refused connection (554)"},
		{"421 anywhere", sendFailure{stage: sendStageMail, code: 421, enhanced: "4.7.0"}, dispatch.ErrThrottled, "421", "service unavailable (421 4.7.0)"},
		{"451 4.7.1", sendFailure{stage: sendStageRcpt, code: 451, enhanced: "4.7.1"}, dispatch.ErrThrottled, "451", "rate limited (451 4.7.1)"},
		{"450 4.7.0 data", sendFailure{stage: sendStageData, code: 450, enhanced: "4.7.0"}, dispatch.ErrThrottled, "450", "rate limited (450 4.7.0)"},
		{"451 4.3.0", sendFailure{stage: sendStageData, code: 451, enhanced: "4.3.0"}, dispatch.ErrTemporary, "451", "temporary server error (451 4.3.0)"},
		{"452 rcpt", sendFailure{stage: sendStageRcpt, code: 452, enhanced: "4.2.2"}, dispatch.ErrTemporary, "452", "mailbox temporarily unavailable (452 4.2.2)"},
		{"454 connect", sendFailure{stage: sendStageConnect, code: 454}, dispatch.ErrTemporary, "454", "server temporarily unavailable (454)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			se := sendClassifyFailure(tc.f)
			if se.Kind != tc.wantKind || se.Code != tc.wantCode || se.Reason != tc.wantReason {
				t.Errorf("got %v %q %q, want %v %q %q", se.Kind, se.Code, se.Reason, tc.wantKind, tc.wantCode, tc.wantReason)
			}
		})
	}
}

func TestSendClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name       string
		err        error
		wantKind   error
		wantCode   string
		wantReason string
		wantDown   bool // the channel is down, not the message
	}{
		{"connection refused", refused, dispatch.ErrTemporary, "", "connection refused", true},
		{"dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}, dispatch.ErrTemporary, "", "timeout", true},
		{"eof in greeting", io.EOF, dispatch.ErrTemporary, "", "connection dropped", true},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, dispatch.ErrTemporary, "", "connection dropped", true},
		{"421 greeting", &textproto.Error{Code: 421, Msg: "4.3.2 too busy"}, dispatch.ErrThrottled, "421", "service unavailable (421 4.3.2)", false},
		{"auth rejected", fmt.Errorf("SMTP AUTH failed: %w", &textproto.Error{Code: 535, Msg: "5.7.8 bad credentials"}), dispatch.ErrTemporary, "535", "authentication rejected (535 5.7.8)", true},
		{"no starttls", errors.New(`STARTTLS mode set to: "TLSMandatory", but target host does not support STARTTLS`), dispatch.ErrTemporary, "", "tls negotiation failed", true},
		{"already classified", &dispatch.SendError{Kind: dispatch.ErrPermanent, Reason: "x"}, dispatch.ErrPermanent, "", "x", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			se := sendClassify(tc.err)
			if se.Kind != tc.wantKind || se.Code != tc.wantCode || se.Reason != tc.wantReason {
				t.Errorf("got %v %q %q, want %v %q %q", se.Kind, se.Code, se.Reason, tc.wantKind, tc.wantCode, tc.wantReason)
			}
			if !errors.Is(se, tc.wantKind) {
				t.Errorf("errors.Is(%v) false", tc.wantKind)
			}
			if se.Down != tc.wantDown {
				t.Errorf("Down = %v, want %v", se.Down, tc.wantDown)
			}
		})
	}
}

func BenchmarkSMTPSend(b *testing.B) {
	for _, dkimKey := range []string{"", "ed25519", "rsa"} {
		name := "plain"
		if dkimKey != "" {
			name = "dkim-" + dkimKey
		}
		b.Run(name, func(b *testing.B) {
			srv := sendTestSandbox(b, sandbox.SMTPConfig{Discard: true})
			s := sendTestSender(b, srv.Addr(), func(c *SMTPConfig) {
				c.Connections = 4
				c.MessagesPerConn = 100000
				if dkimKey != "" {
					keyPEM, _ := sendTestKey(b, dkimKey)
					c.DKIM = &DKIMConfig{Domain: "council.example.gov.uk", Selector: "crier", PrivateKeyPEM: keyPEM}
				}
			})
			m := sendTestMessage(1, "sian@example.com")
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(4) // more senders than CPUs, like the dispatcher's workers, so the pool stays busy
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Send(ctx, m); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
