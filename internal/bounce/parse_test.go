package bounce_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/bounce"
)

// fixture reads testdata/name with each placeholder replaced.
func fixture(t testing.TB, name string, repl ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer(repl...).Replace(string(b)))
}

func TestParseMail(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    []bounce.Event // Ref and At not compared
		wantErr error
	}{
		{name: "hard DSN (Postfix)", file: "dsn_hard.eml", want: []bounce.Event{{Kind: bounce.Hard, Source: bounce.SourceDSN,
			Recipient: "Hard.Bounce@residents.example.org", MessageID: "outbox-42.crier@crier.example", Status: "5.1.1",
			Diagnostic: "550 5.1.1 <hard.bounce@residents.example.org>: Recipient address rejected: User unknown in virtual mailbox table"}}},
		{name: "failed with a 4.x.x status is soft", file: "dsn_soft.eml", want: []bounce.Event{{Kind: bounce.Soft, Source: bounce.SourceDSN,
			Recipient: "soft.bounce@residents.example.org", MessageID: "outbox-42.crier@crier.example", Status: "4.2.2",
			Diagnostic: "452 4.2.2 The email account that you tried to reach is over quota."}}},
		{name: "delayed is not a bounce", file: "dsn_delayed.eml", want: nil},
		{name: "ARF abuse report", file: "arf_abuse.eml", want: []bounce.Event{{Kind: bounce.Complaint, Source: bounce.SourceARF,
			Recipient: "complainer@residents.example.org", MessageID: "outbox-42.crier@crier.example", Status: "abuse",
			Diagnostic: "feedback report: abuse"}}},
		{name: "an out-of-office reply is kept", file: "autoreply.eml", wantErr: bounce.ErrNotReport},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bounce.ParseMail(fixture(t, tc.file, "OUTBOX_ID", "42", "SOFT_N", "1"))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events %+v, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if got[i].Ref == "" || got[i].At.IsZero() {
					t.Errorf("event %d: Ref %q At %v: want both", i, got[i].Ref, got[i].At)
				}
				got[i].Ref, got[i].At = "", time.Time{}
				if got[i] != tc.want[i] {
					t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
	// The same mail read twice has the same references (idempotence rests on it).
	a, _ := bounce.ParseMail(fixture(t, "dsn_hard.eml", "OUTBOX_ID", "42"))
	b, _ := bounce.ParseMail(fixture(t, "dsn_hard.eml", "OUTBOX_ID", "42"))
	if a[0].Ref != b[0].Ref || !strings.HasPrefix(a[0].Ref, "20261203101501.8A3F21C0D1@mx.example.net#") {
		t.Errorf("refs %q and %q", a[0].Ref, b[0].Ref)
	}
}

func TestScrubKeepsAddressesOut(t *testing.T) {
	got := bounce.Scrub("550 5.1.1 <Someone.Else+x@Residents.Example.org>: user unknown\r\n  (to someone@example.com)")
	if strings.Contains(got, "@") || got != "550 5.1.1 <[address]>: user unknown (to [address])" {
		t.Errorf("Scrub = %q", got)
	}
}

func TestOutboxID(t *testing.T) {
	for in, want := range map[string]int64{"<outbox-17.crier@x.example>": 17, "outbox-9.crier@x": 9,
		"direct-abc.crier@x": 0, "<outbox-1@x>": 0, "": 0, "<someone-else-outbox-3.crier@x>": 0} {
		if got := bounce.OutboxID(in); got != want {
			t.Errorf("OutboxID(%q) = %d, want %d", in, got, want)
		}
	}
}

// snsSigner signs SNS messages as Amazon would, with a certificate of its own that the
// hooks are given in place of fetching one.
type snsSigner struct {
	key     *rsa.PrivateKey
	cert    *x509.Certificate
	certURL string
	fetched []string
	mu      sync.Mutex
}

func newSNSSigner(t testing.TB) *snsSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &snsSigner{key: key, cert: cert,
		certURL: "https://sns.eu-west-2.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"}
}

func (s *snsSigner) fetch(_ context.Context, u string) (*x509.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetched = append(s.fetched, u)
	return s.cert, nil
}

const topic = "arn:aws:sns:eu-west-2:123456789012:crier-bounces"

// notification wraps an SES notification in a signed SNS Notification.
func (s *snsSigner) notification(t testing.TB, message []byte, version string) []byte {
	t.Helper()
	m := map[string]string{"Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		"TopicArn": topic, "Message": string(message), "Timestamp": "2026-12-03T10:15:02.000Z",
		"SignatureVersion": version, "SigningCertURL": s.certURL,
		"UnsubscribeURL": "https://sns.eu-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x"}
	toSign := "Message\n" + m["Message"] + "\nMessageId\n" + m["MessageId"] + "\nTimestamp\n" + m["Timestamp"] +
		"\nTopicArn\n" + m["TopicArn"] + "\nType\n" + m["Type"] + "\n"
	m["Signature"] = s.sign(t, toSign, version)
	b, _ := json.Marshal(m)
	return b
}

func (s *snsSigner) sign(t testing.TB, toSign, version string) string {
	t.Helper()
	var sig []byte
	var err error
	if version == "1" {
		sum := sha1.Sum([]byte(toSign))
		sig, err = rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA1, sum[:])
	} else {
		sum := sha256.Sum256([]byte(toSign))
		sig, err = rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// subscription signs the SubscriptionConfirmation fixture.
func (s *snsSigner) subscription(t testing.TB) []byte {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(fixture(t, "sns_subscription.json", "SIGNATURE_VERSION", "2"), &m); err != nil {
		t.Fatal(err)
	}
	toSign := ""
	for _, k := range []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"} {
		toSign += k + "\n" + m[k] + "\n"
	}
	m["Signature"] = s.sign(t, toSign, "2")
	b, _ := json.Marshal(m)
	return b
}

// sendGridSigner signs Event Webhook posts as SendGrid does.
type sendGridSigner struct{ key *ecdsa.PrivateKey }

func newSendGridSigner(t testing.TB) (*sendGridSigner, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return &sendGridSigner{key: k}, base64.StdEncoding.EncodeToString(der)
}

func (s *sendGridSigner) headers(t testing.TB, body []byte) http.Header {
	t.Helper()
	ts := "1764756905"
	sum := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{bounce.SendGridSignatureHeader: {base64.StdEncoding.EncodeToString(sig)},
		bounce.SendGridTimestampHeader: {ts}}
}

const (
	mailgunKey    = "key-test-0123456789abcdef0123456789abcdef"
	postmarkToken = "pm-token-7f3a9c"
)

// mailgunBody fills in the fixture's signature with key.
func mailgunBody(t testing.TB, name, key, outboxID string) []byte {
	t.Helper()
	var w struct {
		Signature map[string]string `json:"signature"`
	}
	raw := fixture(t, name, "OUTBOX_ID", outboxID)
	if err := json.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	sig := bounce.MailgunSignature(key, w.Signature["timestamp"], w.Signature["token"])
	return bytes.Replace(raw, []byte(`"SIGNATURE"`), []byte(`"`+sig+`"`), 1)
}

// testHooks returns hooks configured for every provider with the test secrets.
func testHooks(t testing.TB) (*bounce.Hooks, *snsSigner, *sendGridSigner, *confirmer) {
	t.Helper()
	sns := newSNSSigner(t)
	sg, pub := newSendGridSigner(t)
	key, err := bounce.ParseSendGridKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	c := &confirmer{}
	return &bounce.Hooks{SES: bounce.SESConfig{Topics: []string{topic}, Fetch: sns.fetch, Client: &http.Client{Transport: c}},
		PostmarkToken: postmarkToken, MailgunKey: mailgunKey, SendGridKey: key}, sns, sg, c
}

// confirmer stands in for SNS's ConfirmSubscription endpoint.
type confirmer struct {
	mu   sync.Mutex
	urls []string
}

func (c *confirmer) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.urls = append(c.urls, r.URL.String())
	c.mu.Unlock()
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("<ConfirmSubscriptionResponse/>")), Header: http.Header{}}, nil
}

func tamper(b []byte) []byte {
	out := bytes.Replace(b, []byte("hard.bounce@"), []byte("hard.bounce2@"), 1)
	out = bytes.Replace(out, []byte("complainer@"), []byte("complainer2@"), 1)
	return out
}

// Each provider's signature is accepted, and a tampered payload, a missing signature or
// a provider without its secret is refused with the error the web layer maps.
func TestWebhookVerification(t *testing.T) {
	h, sns, sg, conf := testHooks(t)
	ctx := context.Background()
	sesMsg := fixture(t, "ses_bounce.json", "OUTBOX_ID", "42")
	sg1 := fixture(t, "sendgrid_events.json", "OUTBOX_ID", "42")
	pm := fixture(t, "postmark_bounce.json")
	mg := mailgunBody(t, "mailgun_failed.json", mailgunKey, "42")
	sesV1 := sns.notification(t, sesMsg, "1")
	sesV2 := sns.notification(t, sesMsg, "2")
	otherTopic := bytes.Replace(sesV2, []byte("crier-bounces"), []byte("someone-elses"), 1)
	var badURL map[string]string
	_ = json.Unmarshal(sesV2, &badURL)
	badURL["SigningCertURL"] = "https://sns.eu-west-2.amazonaws.com.evil.example/cert.pem"
	badURLBody, _ := json.Marshal(badURL)
	basic := func(pass string) http.Header {
		return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("postmark:"+pass))}}
	}
	tests := []struct {
		name, provider string
		req            bounce.Request
		hooks          *bounce.Hooks
		wantErr        error
		wantEvents     int
	}{
		{"ses v1 (SHA1)", "ses", bounce.Request{Body: sesV1}, h, nil, 1},
		{"ses v2 (SHA256)", "ses", bounce.Request{Body: sesV2}, h, nil, 1},
		{"ses tampered", "ses", bounce.Request{Body: tamper(sesV2)}, h, bounce.ErrBadSignature, 0},
		{"ses other topic", "ses", bounce.Request{Body: otherTopic}, h, bounce.ErrBadSignature, 0},
		{"ses certificate not on amazonaws.com", "ses", bounce.Request{Body: badURLBody}, h, bounce.ErrBadSignature, 0},
		{"ses not configured", "ses", bounce.Request{Body: sesV2}, &bounce.Hooks{}, bounce.ErrNotConfigured, 0},
		{"postmark basic auth", "postmark", bounce.Request{Header: basic(postmarkToken), Body: pm}, h, nil, 1},
		{"postmark token in URL", "postmark", bounce.Request{Token: postmarkToken, Body: pm}, h, nil, 1},
		{"postmark wrong password", "postmark", bounce.Request{Header: basic("guess"), Body: pm}, h, bounce.ErrUnauthorized, 0},
		{"postmark no credentials", "postmark", bounce.Request{Body: pm}, h, bounce.ErrUnauthorized, 0},
		{"mailgun", "mailgun", bounce.Request{Body: mg}, h, nil, 1},
		{"mailgun tampered", "mailgun", bounce.Request{Body: tamper(mg)}, h, nil, 1}, // the event, not the signature, changed: see below
		{"mailgun other key", "mailgun", bounce.Request{Body: mailgunBody(t, "mailgun_failed.json", "another-key", "42")}, h, bounce.ErrBadSignature, 0},
		{"sendgrid", "sendgrid", bounce.Request{Header: sg.headers(t, sg1), Body: sg1}, h, nil, 2},
		{"sendgrid tampered", "sendgrid", bounce.Request{Header: sg.headers(t, sg1), Body: tamper(sg1)}, h, bounce.ErrBadSignature, 0},
		{"sendgrid unsigned", "sendgrid", bounce.Request{Body: sg1}, h, bounce.ErrUnauthorized, 0},
		{"unknown provider", "sparkpost", bounce.Request{Body: pm}, h, bounce.ErrUnknownProvider, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "mailgun tampered" {
				// Mailgun signs only timestamp+token, not the event: tampering with the
				// token or timestamp is what its signature catches.
				tc.req.Body = bytes.Replace(mg, []byte(`"1764756901"`), []byte(`"1764756999"`), 1)
				tc.wantErr, tc.wantEvents = bounce.ErrBadSignature, 0
			}
			evs, err := tc.hooks.Parse(ctx, tc.provider, tc.req)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if len(evs) != tc.wantEvents {
				t.Fatalf("%d events %+v, want %d", len(evs), evs, tc.wantEvents)
			}
		})
	}
	if len(conf.urls) != 0 {
		t.Errorf("notifications confirmed a subscription: %v", conf.urls)
	}
	// A signed SubscriptionConfirmation is confirmed by fetching its SubscribeURL.
	evs, err := h.Parse(ctx, "ses", bounce.Request{Body: sns.subscription(t)})
	if err != nil || len(evs) != 0 {
		t.Fatalf("subscription: %v %v", evs, err)
	}
	if len(conf.urls) != 1 || !strings.HasPrefix(conf.urls[0], "https://sns.eu-west-2.amazonaws.com/?Action=ConfirmSubscription") {
		t.Errorf("confirmed %v", conf.urls)
	}
	// The certificate was only ever asked for at the amazonaws.com URL.
	for _, u := range sns.fetched {
		if u != sns.certURL {
			t.Errorf("fetched a certificate from %s", u)
		}
	}
}

// What each provider's sample says, as events.
func TestProviderEvents(t *testing.T) {
	h, sns, sg, _ := testHooks(t)
	ctx := context.Background()
	parse := func(provider string, r bounce.Request) []bounce.Event {
		t.Helper()
		evs, err := h.Parse(ctx, provider, r)
		if err != nil {
			t.Fatalf("%s: %v", provider, err)
		}
		return evs
	}
	sgBody := fixture(t, "sendgrid_events.json", "OUTBOX_ID", "7")
	cases := []struct {
		name string
		got  []bounce.Event
		want []string // kind recipient message-id status, per event
	}{
		{"ses bounce", parse("ses", bounce.Request{Body: sns.notification(t, fixture(t, "ses_bounce.json", "OUTBOX_ID", "7"), "2")}),
			[]string{"hard hard.bounce@residents.example.org outbox-7.crier@crier.example 5.1.1"}},
		{"ses complaint", parse("ses", bounce.Request{Body: sns.notification(t, fixture(t, "ses_complaint.json"), "2")}),
			[]string{"complaint complainer@residents.example.org  abuse"}},
		{"postmark bounce", parse("postmark", bounce.Request{Token: postmarkToken, Body: fixture(t, "postmark_bounce.json")}),
			[]string{"hard hard.bounce@residents.example.org  HardBounce"}},
		{"postmark spam", parse("postmark", bounce.Request{Token: postmarkToken, Body: fixture(t, "postmark_spam.json")}),
			[]string{"complaint complainer@residents.example.org  SpamComplaint"}},
		{"mailgun failed", parse("mailgun", bounce.Request{Body: mailgunBody(t, "mailgun_failed.json", mailgunKey, "7")}),
			[]string{"hard hard.bounce@residents.example.org outbox-7.crier@crier.example 550"}},
		{"mailgun complained", parse("mailgun", bounce.Request{Body: mailgunBody(t, "mailgun_complained.json", mailgunKey, "7")}),
			[]string{"complaint complainer@residents.example.org outbox-7.crier@crier.example "}},
		{"sendgrid", parse("sendgrid", bounce.Request{Header: sg.headers(t, sgBody), Body: sgBody}),
			[]string{"hard hard.bounce@residents.example.org outbox-7.crier@crier.example 5.1.1",
				"complaint complainer@residents.example.org 14c5d75ce93.dfd.64b469@ismtpd-555 "}},
	}
	for _, tc := range cases {
		var got []string
		for _, e := range tc.got {
			got = append(got, e.Kind+" "+e.Recipient+" "+e.MessageID+" "+e.Status)
			if e.Ref == "" {
				t.Errorf("%s: event without a Ref", tc.name)
			}
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// An Event in a log line shows no address.
func TestEventLogValue(t *testing.T) {
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "event", bounce.Event{Kind: bounce.Hard, Source: "dsn", Status: "5.1.1",
		Recipient: "someone@residents.example.org", Diagnostic: "550 <someone@residents.example.org> unknown"})
	if strings.Contains(b.String(), "@") || !strings.Contains(b.String(), "event.kind=hard") {
		t.Errorf("%s", b.String())
	}
}

// A DSN about two recipients, its status part base64-encoded (Exchange): only the failed
// one is an event, with a comment after its status dropped.
func TestParseMailSeveralRecipients(t *testing.T) {
	evs, err := bounce.ParseMail(fixture(t, "dsn_two_recipients.eml"))
	if err != nil || len(evs) != 1 {
		t.Fatalf("%+v %v", evs, err)
	}
	e := evs[0]
	if e.Kind != bounce.Hard || e.Recipient != "first@residents.example.org" || e.Status != "5.4.1" ||
		e.MessageID != "outbox-5.crier@crier.example" || e.Ref != "two-rcpt-1@exchange.example.net#1" ||
		e.Diagnostic != "550 5.4.1 Recipient address rejected: Access denied" {
		t.Errorf("%+v", e)
	}
}
