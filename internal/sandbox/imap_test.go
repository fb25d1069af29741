package sandbox

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
)

// A session by hand: quoted LOGIN, SELECT, UID SEARCH, UID FETCH as a literal, and
// deletion only at EXPUNGE.
func TestIMAPSandbox(t *testing.T) {
	s, err := StartIMAP(context.Background(), IMAPConfig{Username: "u", Password: `p "q"`})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := s.Add([]byte("Subject: one\n\nbody one\n"))
	b := s.Add([]byte("Subject: two\n\nbody two\n"))
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	read := func() string {
		t.Helper()
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimRight(l, "\r\n")
	}
	send := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	read() // greeting
	send(`a1 LOGIN u "wrong"`)
	if l := read(); !strings.HasPrefix(l, "a1 NO") {
		t.Fatalf("wrong password: %q", l)
	}
	send(`a2 LOGIN u "p \"q\""`)
	if l := read(); l != "a2 OK logged in" {
		t.Fatalf("login: %q", l)
	}
	send("a3 SELECT INBOX")
	if l := read(); l != "* 2 EXISTS" {
		t.Fatalf("select: %q", l)
	}
	read()
	send("a4 UID SEARCH ALL")
	if l := read(); l != "* SEARCH "+a+" "+b {
		t.Fatalf("search: %q", l)
	}
	read()
	send("a5 UID FETCH " + b + " (BODY.PEEK[])")
	if l := read(); !strings.HasSuffix(l, "BODY[] {26}") {
		t.Fatalf("fetch: %q", l)
	}
	if l := read() + read() + read() + read(); l != "Subject: twobody two)" {
		t.Fatalf("literal: %q", l)
	}
	read()
	send(`a6 UID STORE ` + a + ` +FLAGS.SILENT (\Deleted)`)
	read()
	if got := s.UIDs(); len(got) != 2 {
		t.Fatalf("deleted before EXPUNGE: %v", got)
	}
	send("a7 EXPUNGE")
	if l := read(); l != "* 1 EXPUNGE" {
		t.Fatalf("expunge: %q", l)
	}
	read()
	if got := s.UIDs(); !slices.Equal(got, []string{b}) {
		t.Fatalf("after EXPUNGE: %v", got)
	}
}
