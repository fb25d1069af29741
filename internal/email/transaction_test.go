package email

import (
	"bufio"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/sandbox"
)

func TestDotStuff(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
		{".hidden\r\n..two\r\nmid.dle\r\n", "..hidden\r\n...two\r\nmid.dle\r\n.\r\n"},
		{"bare\nlf\n.x\n", "bare\r\nlf\r\n..x\r\n.\r\n"},
		{"no end", "no end\r\n.\r\n"},
		{"cr\rin\r\n\r\n.\r\n", "cr\rin\r\n\r\n..\r\n.\r\n"},
	} {
		if got := string(dotStuff(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("dotStuff(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestSMTPSendBodyDotsArriveIntact: a line of the message that starts with "." (a
// Markdown list of "...", a signature) arrives as written, through both a pipelining
// server (the sandbox, go-smtp) and one without PIPELINING.
func TestSMTPSendBodyDotsArriveIntact(t *testing.T) {
	m := sendTestMessage(1, "a@example.com")
	m.HTML = ""
	m.Text = "Dear resident,\n.\n..and more\n. Signed\n"
	srv := sendTestSandbox(t, sandbox.SMTPConfig{})
	s := sendTestSender(t, srv.Addr(), nil)
	if _, err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got := sendTestParse(t, srv.Messages()[0].Data).parts["text/plain"]
	if got != strings.TrimSuffix(m.Text, "\n") {
		t.Errorf("text = %q, want %q", got, m.Text)
	}
}

// strictSMTP is a server without PIPELINING that notes any command a client sends
// before the reply to the one before, as RFC 2920 forbids then.
type strictSMTP struct {
	ln net.Listener

	mu       sync.Mutex
	early    []string // commands that arrived before their turn
	messages []string // bodies received, dot-unstuffed
	conns    int
}

func startStrictSMTP(t *testing.T) *strictSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &strictSMTP{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			go s.serve(c)
		}
	}()
	return s
}

func (s *strictSMTP) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	tr := textproto.NewReader(r)
	say := func(line string) { c.Write([]byte(line + "\r\n")) }
	say("220 strict ready")
	for {
		line, err := tr.ReadLine()
		if err != nil {
			return
		}
		// Anything already waiting was sent before this reply: pipelined.
		time.Sleep(5 * time.Millisecond)
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, perr := r.Peek(1)
		c.SetReadDeadline(time.Time{})
		if perr == nil {
			s.mu.Lock()
			s.early = append(s.early, line)
			s.mu.Unlock()
		}
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		verb = strings.SplitN(verb, ":", 2)[0]
		switch verb {
		case "EHLO":
			say("250-strict\r\n250 8BITMIME")
		case "MAIL":
			say("250 ok")
		case "RCPT":
			if strings.Contains(line, "nobody@") {
				say("550 5.1.1 no such user")
			} else {
				say("250 ok")
			}
		case "DATA":
			say("354 go ahead")
			body, err := tr.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.messages = append(s.messages, string(body))
			s.mu.Unlock()
			say("250 queued")
		case "RSET", "NOOP":
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

// TestSMTPSendWithoutPipelining: with a server that doesn't offer PIPELINING each
// command waits for its reply; a refused recipient is reported and the connection
// carries the next message.
func TestSMTPSendWithoutPipelining(t *testing.T) {
	srv := startStrictSMTP(t)
	s := sendTestSender(t, srv.ln.Addr().String(), func(c *SMTPConfig) { c.Connections = 1 })
	if _, err := s.Send(t.Context(), sendTestMessage(1, "a@example.com")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Send(t.Context(), sendTestMessage(2, "nobody@example.com"))
	if !errors.Is(err, dispatch.ErrPermanent) {
		t.Fatalf("refused recipient: %v", err)
	}
	m := sendTestMessage(3, "b@example.com")
	m.HTML, m.Text = "", "line one\n.line two starts with a dot\n"
	if _, err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.early) > 0 {
		t.Errorf("commands sent before their turn to a server without PIPELINING: %q", srv.early)
	}
	if len(srv.messages) != 2 || !strings.Contains(srv.messages[1], "\n.line two starts with a dot") {
		t.Errorf("received %d messages; last %q", len(srv.messages), srv.messages[len(srv.messages)-1])
	}
	if srv.conns != 1 {
		t.Errorf("%d connections, want 1 (a refused recipient keeps the connection)", srv.conns)
	}
}
