package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpTestServer starts a sandbox that is closed when the test ends.
func smtpTestServer(t *testing.T, cfg SMTPConfig) *SMTPServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := StartSMTP(t.Context(), cfg)
	if err != nil {
		t.Fatalf("StartSMTP: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// smtpTestSend sends one message with go-smtp's client, optionally authenticating.
// (smtp.SendMail insists on STARTTLS, which the loopback sandbox doesn't offer.)
func smtpTestSend(addr string, auth sasl.Client, to string, body string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("test.localhost"); err != nil {
		return err
	}
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return err
		}
	}
	if err := c.SendMail("council@example.org", []string{to}, strings.NewReader(body)); err != nil {
		return err
	}
	return c.Quit()
}

func smtpTestBody(n int) string {
	return fmt.Sprintf("Subject: test %d\r\n\r\nhello %d\r\n", n, n)
}

func TestSMTPReceive(t *testing.T) {
	s := smtpTestServer(t, SMTPConfig{})
	if err := smtpTestSend(s.Addr(), nil, "resident@example.com", smtpTestBody(1)); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "council@example.org" || len(m.To) != 1 || m.To[0] != "resident@example.com" {
		t.Errorf("envelope = %q -> %q", m.From, m.To)
	}
	if !strings.Contains(string(m.Data), "hello 1") || m.At.IsZero() {
		t.Errorf("data = %q at %v", m.Data, m.At)
	}
	if got := s.Count(); got != 1 {
		t.Errorf("Count = %d, want 1", got)
	}
	// Messages returns a copy.
	msgs[0].Data[0] = 'X'
	if s.Messages()[0].Data[0] == 'X' {
		t.Error("Messages shares storage with the server")
	}
}

// With Dir, each message is also a .eml file a mail client opens; two servers on one
// directory (the demo, then crier serve --sandbox) never overwrite each other's; a
// directory that can't be written refuses the message with a temporary error.
func TestSMTPWritesMessagesToDir(t *testing.T) {
	dir := t.TempDir()
	a := smtpTestServer(t, SMTPConfig{Dir: dir})
	for i := range 2 {
		if err := smtpTestSend(a.Addr(), nil, "resident@example.com", smtpTestBody(i)); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	b := smtpTestServer(t, SMTPConfig{Dir: dir})
	if err := smtpTestSend(b.Addr(), nil, "resident@example.com", smtpTestBody(2)); err != nil {
		t.Fatalf("send: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 3 {
		t.Fatalf("%d files, want 3: %v", len(files), files)
	}
	for i, f := range files {
		if b, err := os.ReadFile(f); err != nil || !strings.Contains(string(b), fmt.Sprintf("hello %d", i)) {
			t.Errorf("%s: %q %v", f, b, err)
		}
	}

	// The directory gone and a file in its place: no write can succeed, even as root.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := smtpTestSend(a.Addr(), nil, "resident@example.com", smtpTestBody(3))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("send to an unwritable directory: %v, want 451", err)
	}
}

func TestSMTPFailRecipient(t *testing.T) {
	tests := []struct {
		name     string
		to       string
		code     int
		enhanced string
		wantEC   smtp.EnhancedCode
	}{
		{"permanent", "bounce@example.com", 550, "5.1.1", smtp.EnhancedCode{5, 1, 1}},
		{"greylist", "slow@example.com", 451, "4.7.1", smtp.EnhancedCode{4, 7, 1}},
		{"too many connections", "busy@example.com", 421, "", smtp.EnhancedCode{4, 0, 0}},
	}
	s := smtpTestServer(t, SMTPConfig{})
	s.FailRecipient("bounce", 550, "5.1.1", "no such user")
	s.FailRecipient("slow", 451, "4.7.1", "try later")
	s.FailRecipient("busy", 421, "", "too many connections")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := smtpTestSend(s.Addr(), nil, tc.to, smtpTestBody(0))
			var se *smtp.SMTPError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *smtp.SMTPError", err)
			}
			if se.Code != tc.code || se.EnhancedCode != tc.wantEC {
				t.Errorf("reply = %d %v, want %d %v", se.Code, se.EnhancedCode, tc.code, tc.wantEC)
			}
		})
	}
	if err := smtpTestSend(s.Addr(), nil, "fine@example.com", smtpTestBody(1)); err != nil {
		t.Fatalf("unaffected recipient: %v", err)
	}
	s.ClearFailures()
	if err := smtpTestSend(s.Addr(), nil, "bounce@example.com", smtpTestBody(2)); err != nil {
		t.Fatalf("after ClearFailures: %v", err)
	}
	if got := s.Count(); got != 2 {
		t.Errorf("Count = %d, want 2", got)
	}
}

func TestSMTPDropNextConnections(t *testing.T) {
	s := smtpTestServer(t, SMTPConfig{})
	s.DropNextConnections(2)
	for i := range 2 {
		if err := smtpTestSend(s.Addr(), nil, "a@example.com", smtpTestBody(i)); err == nil {
			t.Fatalf("send %d: want a dropped connection, got nil", i)
		}
	}
	if err := smtpTestSend(s.Addr(), nil, "a@example.com", smtpTestBody(3)); err != nil {
		t.Fatalf("send after drops: %v", err)
	}
	if got, n := s.Count(), len(s.Messages()); got != 1 || n != 1 {
		t.Errorf("Count = %d, kept = %d, want 1 and 1", got, n)
	}
}

func TestSMTPBoundedMemory(t *testing.T) {
	tests := []struct {
		name     string
		cfg      SMTPConfig
		send     int
		wantKept []int // message numbers kept, oldest first
	}{
		{"under limit", SMTPConfig{MaxMessages: 5}, 3, []int{0, 1, 2}},
		{"ring wraps", SMTPConfig{MaxMessages: 3}, 7, []int{4, 5, 6}},
		{"discard", SMTPConfig{Discard: true}, 4, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := smtpTestServer(t, tc.cfg)
			for i := range tc.send {
				if err := smtpTestSend(s.Addr(), nil, "a@example.com", smtpTestBody(i)); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			if got := s.Count(); got != int64(tc.send) {
				t.Errorf("Count = %d, want %d", got, tc.send)
			}
			msgs := s.Messages()
			if len(msgs) != len(tc.wantKept) {
				t.Fatalf("kept %d messages, want %d", len(msgs), len(tc.wantKept))
			}
			for i, n := range tc.wantKept {
				if want := fmt.Sprintf("hello %d\r\n", n); !strings.Contains(string(msgs[i].Data), want) {
					t.Errorf("message %d = %q, want %q", i, msgs[i].Data, want)
				}
			}
		})
	}
}

func TestSMTPAuth(t *testing.T) {
	tests := []struct {
		name    string
		users   map[string]string
		auth    sasl.Client
		wantErr bool
	}{
		{"no auth", nil, nil, false},
		{"any credentials", nil, sasl.NewPlainClient("", "x", "y"), false},
		{"good credentials", map[string]string{"crier": "s3cret"}, sasl.NewPlainClient("", "crier", "s3cret"), false},
		{"bad credentials", map[string]string{"crier": "s3cret"}, sasl.NewPlainClient("", "crier", "nope"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := smtpTestServer(t, SMTPConfig{Users: tc.users})
			err := smtpTestSend(s.Addr(), tc.auth, "a@example.com", smtpTestBody(0))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}

func TestSMTPConcurrentAndWaitFor(t *testing.T) {
	s := smtpTestServer(t, SMTPConfig{MaxMessages: 50})
	const n = 100
	waitErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		waitErr <- s.WaitFor(ctx, n)
	}()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- smtpTestSend(s.Addr(), nil, fmt.Sprintf("r%d@example.com", i), smtpTestBody(i))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	if err := <-waitErr; err != nil {
		t.Fatalf("WaitFor: %v", err)
	}
	if got := len(s.Messages()); got != 50 {
		t.Errorf("kept %d, want 50", got)
	}
}

func TestSMTPWaitForCancelled(t *testing.T) {
	s := smtpTestServer(t, SMTPConfig{})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := s.WaitFor(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor = %v, want deadline exceeded", err)
	}
	if err := s.WaitFor(t.Context(), 0); err != nil {
		t.Fatalf("WaitFor(0) = %v", err)
	}
}

func TestSMTPStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, err := StartSMTP(ctx, SMTPConfig{})
	if err != nil {
		t.Fatalf("StartSMTP: %v", err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- s.WaitFor(t.Context(), 1) }()
	cancel()
	select {
	case <-s.serveDone:
	case <-time.After(5 * time.Second):
		t.Fatal("server still serving after cancel")
	}
	select {
	case err := <-waitErr:
		if err == nil {
			t.Error("WaitFor returned nil after close with no messages")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitFor still blocked after close")
	}
	if err := smtpTestSend(s.Addr(), nil, "a@example.com", smtpTestBody(0)); err == nil {
		t.Error("send to a stopped sandbox succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
