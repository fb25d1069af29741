package email

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/crierhq/crier/internal/sandbox"
)

// TestSMTPSendDKIMTwoKeys: with an Ed25519 key and an RSA key (one PEM file, two
// selectors), the message that reaches the SMTP server carries two signatures, and an
// independent verifier (go-msgauth) passes both; a file whose selectors don't match its
// keys is refused at start.
func TestSMTPSendDKIMTwoKeys(t *testing.T) {
	edPEM, edTXT := sendTestKey(t, "ed25519")
	rsaPEM, rsaTXT := sendTestKey(t, "rsa")
	records := map[string]string{
		"ed2026._domainkey.council.example.gov.uk":  edTXT,
		"rsa2026._domainkey.council.example.gov.uk": rsaTXT,
	}
	srv := sendTestSandbox(t, sandbox.SMTPConfig{})
	s := sendTestSender(t, srv.Addr(), func(c *SMTPConfig) {
		c.DKIM = &DKIMConfig{Domain: "council.example.gov.uk", Selector: "ed2026, rsa2026",
			PrivateKeyPEM: append(append([]byte{}, edPEM...), rsaPEM...)}
	})
	if _, err := s.Send(t.Context(), sendTestMessage(7, "sian@example.com")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	data := srv.Messages()[0].Data
	if n := bytes.Count(data, []byte("DKIM-Signature: ")); n != 2 {
		t.Fatalf("%d DKIM-Signature fields, want 2:\n%s", n, data[:min(len(data), 2000)])
	}
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(data), &dkim.VerifyOptions{
		LookupTXT: func(domain string) ([]string, error) {
			if txt, ok := records[domain]; ok {
				return []string{txt}, nil
			}
			return nil, fmt.Errorf("no TXT for %s", domain)
		},
	})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for _, v := range vs {
		if v.Err != nil {
			t.Errorf("signature by %s: %v", v.Domain, v.Err)
		}
	}
	if len(vs) != 2 {
		t.Fatalf("verified %d signatures, want 2", len(vs))
	}
	for _, sel := range []string{"s=ed2026", "s=rsa2026"} {
		if !bytes.Contains(data, []byte(sel)) {
			t.Errorf("no signature with %s", sel)
		}
	}

	_, err = NewSMTPSender(SMTPConfig{Host: "h", DKIM: &DKIMConfig{Domain: "d", Selector: "only-one",
		PrivateKeyPEM: append(append([]byte{}, edPEM...), rsaPEM...)}}, nil)
	if err == nil || !strings.Contains(err.Error(), "1 selectors for 2 keys") {
		t.Errorf("one selector for two keys: %v, want refused", err)
	}
}

// BenchmarkDKIMSign is the cost of signing one rendered e-bulletin, by key.
func BenchmarkDKIMSign(b *testing.B) {
	for _, kinds := range [][]string{{"ed25519"}, {"rsa"}, {"ed25519", "rsa"}} {
		b.Run(strings.Join(kinds, "+"), func(b *testing.B) {
			var keys []byte
			var sels []string
			for _, k := range kinds {
				pem, _ := sendTestKey(b, k)
				keys = append(keys, pem...)
				sels = append(sels, k)
			}
			d, err := newSendDKIMSigner(DKIMConfig{Domain: "council.example.gov.uk", Selector: strings.Join(sels, ","), PrivateKeyPEM: keys})
			if err != nil {
				b.Fatal(err)
			}
			plain, err := NewSMTPSender(SMTPConfig{Host: "h"}, nil)
			if err != nil {
				b.Fatal(err)
			}
			env, _, err := plain.sendBuild(sendTestMessage(7, "sian@example.com"))
			if err != nil {
				b.Fatal(err)
			}
			rendered := env.data.Bytes()
			var buf bytes.Buffer
			b.ResetTimer()
			for b.Loop() {
				buf.Reset()
				buf.Write(rendered)
				if err := d.sign(&buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
