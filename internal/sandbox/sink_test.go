package sandbox

import (
	"context"
	"net/smtp"
	"strings"
	"testing"
)

func TestSinkAcceptsAndCounts(t *testing.T) {
	s, err := StartSink(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	long := strings.Repeat("x", 200000) // longer than the read buffer, one line
	for i, body := range []string{"Subject: hi\r\n\r\nhello\r\n", "Subject: big\r\n\r\n" + long + "\r\n..dot-stuffed\r\n"} {
		if err := smtp.SendMail(s.Addr(), nil, "a@example.org", []string{"b@example.org"}, []byte(body)); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if s.Count() != 2 {
		t.Fatalf("count %d, want 2", s.Count())
	}
}
