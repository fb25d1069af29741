package email

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
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

func TestPreferencesTokens(t *testing.T) {
	s, _ := NewSigner(bytes.Repeat([]byte{7}, 32))
	other, _ := NewSigner(bytes.Repeat([]byte{8}, 32))
	issued := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		token   string
		contact int64
		issued  time.Time
		err     error
	}{
		{"current shape", s.PreferencesToken(42, issued), 42, day, nil},
		{"old shape, no issue day", s.Token("preferences", 42), 42, time.Time{}, nil},
		{"other key", other.PreferencesToken(42, issued), 0, time.Time{}, ErrBadToken},
		{"other purpose", s.Token("unsubscribe", 42, issued.Unix()/secondsPerDay), 0, time.Time{}, ErrBadToken},
		{"day changed", strings.Replace(s.PreferencesToken(42, issued), ".", ".1", 1), 0, time.Time{}, ErrBadToken},
		{"three ids", s.Token("preferences", 42, 1, 2), 0, time.Time{}, ErrBadToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, at, err := s.VerifyPreferences(tc.token)
			if !errors.Is(err, tc.err) || c != tc.contact || !at.Equal(tc.issued) {
				t.Fatalf("VerifyPreferences(%q) = %d, %v, %v; want %d, %v, %v", tc.token, c, at, err, tc.contact, tc.issued, tc.err)
			}
		})
	}
}
