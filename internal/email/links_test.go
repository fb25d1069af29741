package email

import (
	"bytes"
	"errors"
	"testing"
)

func TestSignerTokens(t *testing.T) {
	s, err := NewSigner(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	tok := s.Token("unsubscribe", 1234, 5)
	ids, err := s.Verify("unsubscribe", tok, 2)
	if err != nil || ids[0] != 1234 || ids[1] != 5 {
		t.Fatalf("Verify = %v, %v", ids, err)
	}
	other, _ := NewSigner(bytes.Repeat([]byte{8}, 32))
	for name, bad := range map[string]struct {
		s       *Signer
		purpose string
		token   string
	}{
		"other purpose": {s, "preferences", tok},
		"other key":     {other, "unsubscribe", tok},
		"other person":  {s, "unsubscribe", s.Token("unsubscribe", 1235, 5)[:3] + tok[3:]},
		"truncated":     {s, "unsubscribe", tok[:len(tok)-2]},
		"missing part":  {s, "unsubscribe", "ya.xyz"},
		"garbage":       {s, "unsubscribe", "not-a-token"},
	} {
		if _, err := bad.s.Verify(bad.purpose, bad.token, 2); !errors.Is(err, ErrBadToken) {
			t.Errorf("%s: err = %v, want ErrBadToken", name, err)
		}
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}
