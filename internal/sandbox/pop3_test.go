package sandbox

import (
	"context"
	"net/textproto"
	"slices"
	"strings"
	"testing"
)

func pop3Dial(t *testing.T, addr string) *textproto.Conn {
	t.Helper()
	c, err := textproto.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if l, _ := c.ReadLine(); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("greeting %q", l)
	}
	return c
}

func pop3Cmd(t *testing.T, c *textproto.Conn, cmd, want string) string {
	t.Helper()
	if err := c.PrintfLine("%s", cmd); err != nil {
		t.Fatal(err)
	}
	l, err := c.ReadLine()
	if err != nil || !strings.HasPrefix(l, want) {
		t.Fatalf("%s: %q %v, want %s", cmd, l, err, want)
	}
	return l
}

// Deletions take effect at QUIT only; a dropped session deletes nothing; a wrong
// password and a second session are refused; RETR dot-stuffs.
func TestPOP3Sandbox(t *testing.T) {
	s, err := StartPOP3(context.Background(), POP3Config{Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := s.Add([]byte("Subject: one\n\n.starts with a dot\n"))
	b := s.Add([]byte("Subject: two\r\n\r\nbody\r\n"))

	c := pop3Dial(t, s.Addr())
	pop3Cmd(t, c, "STAT", "-ERR")
	pop3Cmd(t, c, "USER u", "+OK")
	pop3Cmd(t, c, "PASS nope", "-ERR")
	pop3Cmd(t, c, "PASS p", "+OK")
	other := pop3Dial(t, s.Addr())
	pop3Cmd(t, other, "USER u", "+OK")
	pop3Cmd(t, other, "PASS p", "-ERR") // the mailbox is in use
	pop3Cmd(t, c, "STAT", "+OK 2 ")
	pop3Cmd(t, c, "RETR 1", "+OK")
	body, err := c.ReadDotLines()
	if err != nil || !slices.Contains(body, ".starts with a dot") {
		t.Fatalf("RETR 1: %q %v", body, err)
	}
	pop3Cmd(t, c, "DELE 1", "+OK")
	pop3Cmd(t, c, "RETR 1", "-ERR")
	c.Close() // dropped without QUIT
	if got := s.UIDs(); !slices.Equal(got, []string{a, b}) {
		t.Fatalf("after a dropped session: %v", got)
	}

	c = pop3Dial(t, s.Addr())
	pop3Cmd(t, c, "USER u", "+OK")
	pop3Cmd(t, c, "PASS p", "+OK")
	pop3Cmd(t, c, "UIDL", "+OK")
	if ids, _ := c.ReadDotLines(); !slices.Equal(ids, []string{"1 " + a, "2 " + b}) {
		t.Fatalf("UIDL %q", ids)
	}
	pop3Cmd(t, c, "DELE 2", "+OK")
	pop3Cmd(t, c, "QUIT", "+OK")
	if got := s.UIDs(); !slices.Equal(got, []string{a}) {
		t.Fatalf("after QUIT: %v", got)
	}
}

// The server stops when its context ends.
func TestPOP3SandboxStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := StartPOP3(ctx, POP3Config{Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-s.done
	if _, err := textproto.Dial("tcp", s.Addr()); err == nil {
		t.Error("still listening after cancel")
	}
}
