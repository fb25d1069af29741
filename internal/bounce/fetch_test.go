package bounce_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/bounce"
	"github.com/crierhq/crier/internal/sandbox"
)

// loopbackTLS returns a server config with a fresh certificate for 127.0.0.1 and a
// client config that trusts only it.
func loopbackTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bounces.test"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// The mailbox read end to end over POP3 with STLS: a DSN and an abuse report are
// recorded and deleted, an out-of-office reply is kept and reported; reading again
// finds only the reply and records nothing twice.
func TestFetchMailboxEndToEnd(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	srvTLS, cliTLS := loopbackTLS(t)
	pop, err := sandbox.StartPOP3(ctx, sandbox.POP3Config{Username: "bounces", Password: "s3cret", TLS: srvTLS})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pop.Close() })
	pop.Add(fixture(t, "dsn_hard.eml", "OUTBOX_ID", w.id("hard.bounce")))
	pop.Add(fixture(t, "arf_abuse.eml", "OUTBOX_ID", w.id("complainer")))
	reply := pop.Add(fixture(t, "autoreply.eml"))

	cfg, err := bounce.ParseMailboxURL("pop3://bounces:s3cret@" + pop.Addr() + "?tls=starttls")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSConfig = cliTLS
	s := bounce.NewStore(w.d, bounce.Policy{}, nil)
	res, err := s.Fetch(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 3 || res.Reports != 2 || res.Recorded != 2 || res.Suppressed != 1 || res.Withdrawn != 1 ||
		!slices.Equal(res.Kept, []string{reply}) {
		t.Fatalf("first read: %+v", res)
	}
	if got := pop.UIDs(); !slices.Equal(got, []string{reply}) {
		t.Fatalf("mailbox holds %v, want only the reply", got)
	}
	if st := pointStatus(t, w.d, w.point["hard.bounce"]); st != "bounced" {
		t.Errorf("hard bounce point %q", st)
	}
	retrs := pop.Retrieved()
	res, err = s.Fetch(ctx, cfg)
	if err != nil || res.Messages != 1 || res.Reports != 0 || res.Recorded != 0 || len(res.Kept) != 1 {
		t.Fatalf("second read: %+v %v", res, err)
	}
	if pop.Retrieved() != retrs {
		t.Errorf("the kept reply was downloaded again")
	}
	// The same DSN arriving again (a relay resending it) is a duplicate, and deleted.
	pop.Add(fixture(t, "dsn_hard.eml", "OUTBOX_ID", w.id("hard.bounce")))
	res, err = s.Fetch(ctx, cfg)
	if err != nil || res.Reports != 1 || res.Duplicates != 1 || res.Recorded != 0 {
		t.Fatalf("third read: %+v %v", res, err)
	}
	var n int
	get(t, w.d, &n, `SELECT count(*) FROM bounce_events`)
	if n != 2 {
		t.Errorf("%d events, want 2", n)
	}

	// A wrong password is refused without repeating it.
	bad := cfg
	bad.Password = "wrong-password"
	if _, err := s.Fetch(ctx, bad); err == nil || strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("wrong password: %v", err)
	}
	// A server that can't STLS is refused rather than sent the password in clear.
	plain, err := sandbox.StartPOP3(ctx, sandbox.POP3Config{Username: "bounces", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	noTLS, _ := bounce.ParseMailboxURL("pop3://bounces:s3cret@" + plain.Addr())
	if _, err := s.Fetch(ctx, noTLS); err == nil || !errors.Is(err, bounce.ErrPOP3) {
		t.Errorf("no STLS: %v", err)
	}
}

// pop3s (implicit TLS) works too.
func TestFetchImplicitTLS(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	srvTLS, cliTLS := loopbackTLS(t)
	pop, err := sandbox.StartPOP3(ctx, sandbox.POP3Config{Username: "u", Password: "p", TLS: srvTLS, Implicit: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pop.Close() })
	pop.Add(fixture(t, "dsn_soft.eml", "OUTBOX_ID", w.id("soft.bounce"), "SOFT_N", "1"))
	cfg, err := bounce.ParseMailboxURL("pop3s://u:p@" + pop.Addr())
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSConfig = cliTLS
	res, err := bounce.NewStore(w.d, bounce.Policy{}, nil).Fetch(ctx, cfg)
	if err != nil || res.Recorded != 1 || len(pop.UIDs()) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestParseMailboxURL(t *testing.T) {
	for _, tc := range []struct {
		url, addr, tls string
		ok             bool
	}{
		{"pop3s://u:p@mail.example.org", "mail.example.org:995", "tls", true},
		{"pop3://u:p@mail.example.org", "mail.example.org:110", "starttls", true},
		{"pop3://u:p@mail.example.org:1110?tls=starttls", "mail.example.org:1110", "starttls", true},
		{"pop3://u:p@127.0.0.1:1110?tls=none", "127.0.0.1:1110", "none", true},
		{"pop3://u:p@mail.example.org?tls=none", "", "", false}, // a password in clear over the network
		{"pop3://u:p@mail.example.org?tsl=none", "", "", false},
		{"pop3s://mail.example.org", "", "", false},
		{"imap://u:p@mail.example.org", "mail.example.org:143", "starttls", true},
		{"imaps://u:p@mail.example.org", "mail.example.org:993", "tls", true},
		{"smtp://u:p@mail.example.org", "", "", false},
	} {
		c, err := bounce.ParseMailboxURL(tc.url)
		if (err == nil) != tc.ok || (tc.ok && (c.Addr != tc.addr || c.TLS != tc.tls)) {
			t.Errorf("%s: %+v %v", tc.url, c, err)
		}
		if err != nil && strings.Contains(err.Error(), ":p@") {
			t.Errorf("%s: the error repeats the password: %v", tc.url, err)
		}
	}
}

// Poll reads at once, then every interval, and returns when cancelled.
func TestPollReturnsWhenCancelled(t *testing.T) {
	w := newWorld(t)
	pop, err := sandbox.StartPOP3(context.Background(), sandbox.POP3Config{Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pop.Close() })
	pop.Add(fixture(t, "dsn_hard.eml", "OUTBOX_ID", w.id("hard.bounce")))
	cfg, err := bounce.ParseMailboxURL("pop3://u:p@" + pop.Addr() + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bounce.NewStore(w.d, bounce.Policy{}, nil).Poll(ctx, cfg, time.Hour) }()
	deadline := time.After(10 * time.Second)
	for len(pop.UIDs()) > 0 {
		select {
		case <-deadline:
			t.Fatal("the first poll did not read the mailbox")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Poll = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Poll did not return after cancellation")
	}
}

// The same mailbox read over IMAP (STARTTLS, then imaps): reports recorded and expunged,
// the reply kept, nothing counted twice.
func TestFetchIMAP(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	srvTLS, cliTLS := loopbackTLS(t)
	for _, implicit := range []bool{false, true} {
		im, err := sandbox.StartIMAP(ctx, sandbox.IMAPConfig{Username: "bounces@crier.example", Password: `s3"cret\`, TLS: srvTLS, Implicit: implicit})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { im.Close() })
		im.Add(fixture(t, "dsn_hard.eml", "OUTBOX_ID", w.id("hard.bounce")))
		im.Add(fixture(t, "arf_abuse.eml", "OUTBOX_ID", w.id("complainer")))
		reply := im.Add(fixture(t, "autoreply.eml"))
		u := "imap://bounces%40crier.example:" + url.QueryEscape(`s3"cret\`) + "@" + im.Addr()
		if implicit {
			u = "imaps" + strings.TrimPrefix(u, "imap")
		}
		cfg, err := bounce.ParseMailboxURL(u)
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLSConfig = cliTLS
		res, err := bounce.NewStore(w.d, bounce.Policy{}, nil).Fetch(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		wantRecorded := 2
		if implicit {
			wantRecorded = 0 // the same reports again: duplicates
		}
		if res.Messages != 3 || res.Reports != 2 || res.Recorded != wantRecorded || res.Recorded+res.Duplicates != 2 ||
			!slices.Equal(res.Kept, []string{reply}) {
			t.Fatalf("implicit=%v: %+v", implicit, res)
		}
		if got := im.UIDs(); !slices.Equal(got, []string{reply}) {
			t.Fatalf("implicit=%v: INBOX holds %v, want only the reply", implicit, got)
		}
	}
	if st := pointStatus(t, w.d, w.point["hard.bounce"]); st != "bounced" {
		t.Errorf("hard bounce point %q", st)
	}
}
