package web_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/bounce"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/web"
)

const bounceToken = "web-test-postmark-token-0123"

// The bounce webhook route: a signed report is recorded (200, once), bad credentials
// are 401, a bad signature 403, an unknown or unconfigured provider 404, a body over
// 1 MB 413.
func TestBounceWebhookRoute(t *testing.T) {
	d := dbtest.New(t)
	var contact, point int64
	if err := d.Get(&contact, `INSERT INTO contacts (first_name) VALUES ('Hard') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	if err := d.Get(&point, `INSERT INTO contact_points (contact_id, kind, value) VALUES ($1, 'email', 'hard.bounce@residents.example.org') RETURNING id`, contact); err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{DB: d, Bounces: &web.BounceHooks{
		Hooks: &bounce.Hooks{PostmarkToken: bounceToken, MailgunKey: "mailgun-signing-key"},
		Store: bounce.NewStore(d, bounce.Policy{}, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	sample, err := os.ReadFile("../bounce/testdata/postmark_bounce.json")
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, body []byte, auth string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("postmark:"+auth)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name, path string
		body       []byte
		auth       string
		want       int
	}{
		{"wrong password", "/webhooks/bounces/postmark", sample, "guess", 401},
		{"no credentials", "/webhooks/bounces/postmark", sample, "", 401},
		{"mailgun signature wrong", "/webhooks/bounces/mailgun", []byte(`{"signature":{"timestamp":"1","token":"t","signature":"00"},"event-data":{}}`), "", 403},
		{"sendgrid not configured", "/webhooks/bounces/sendgrid", []byte(`[]`), "", 404},
		{"unknown provider", "/webhooks/bounces/sparkpost", sample, bounceToken, 404},
		{"over 1 MB", "/webhooks/bounces/postmark", bytes.Repeat([]byte(" "), 1<<20+1), bounceToken, 413},
		{"token in the URL", "/webhooks/bounces/postmark?token=" + bounceToken, sample, "", 200},
		{"basic auth, delivered again", "/webhooks/bounces/postmark", sample, bounceToken, 200},
		{"verified but not JSON", "/webhooks/bounces/postmark", []byte("<xml/>"), bounceToken, 400},
	} {
		if got := post(tc.path, tc.body, tc.auth); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM bounce_events`); err != nil || n != 1 {
		t.Errorf("%d events recorded (%v), want 1", n, err)
	}
	var status string
	if err := d.Get(&status, `SELECT status FROM contact_points WHERE id = $1`, point); err != nil || status != "bounced" {
		t.Errorf("point %q %v", status, err)
	}
	// A body within 1 MB but over the forms' 64 KB is read.
	big := append(bytes.TrimSuffix(bytes.TrimSpace(sample), []byte("}")), []byte(`, "Padding": "`+strings.Repeat("x", 100<<10)+`"}`)...)
	if got := post("/webhooks/bounces/postmark", big, bounceToken); got != 200 {
		t.Errorf("a 100 KB report: %d", got)
	}
}

// Without bounce hooks the route does not exist.
func TestBounceWebhookOff(t *testing.T) {
	srv, err := web.New(web.Config{DB: dbtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/bounces/postmark", strings.NewReader("{}")))
	if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("%d", rec.Code)
	}
}

// When SNS's signing certificate can't be fetched, the answer is 503 so that SNS tries
// again later, not 403 (which would drop a genuine report).
func TestBounceWebhookRetryLater(t *testing.T) {
	d := dbtest.New(t)
	topic := "arn:aws:sns:eu-west-2:123456789012:crier-bounces"
	srv, err := web.New(web.Config{DB: d, Bounces: &web.BounceHooks{
		Hooks: &bounce.Hooks{SES: bounce.SESConfig{Topics: []string{topic},
			Fetch: func(context.Context, string) (*x509.Certificate, error) { return nil, errors.New("connection refused") }}},
		Store: bounce.NewStore(d, bounce.Policy{}, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"Type":"Notification","MessageId":"m1","TopicArn":"` + topic + `","Message":"{}","Timestamp":"2026-12-03T10:15:02.000Z",
		"SignatureVersion":"2","Signature":"c2ln","SigningCertURL":"https://sns.eu-west-2.amazonaws.com/SimpleNotificationService-x.pem"}`
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/bounces/ses", strings.NewReader(body)))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("%d, want 503", rec.Code)
	}
	body = strings.Replace(body, "sns.eu-west-2.amazonaws.com", "sns.eu-west-2.amazonaws.com.attacker.example", 1)
	rec = httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/bounces/ses", strings.NewReader(body)))
	if rec.Code != http.StatusForbidden {
		t.Errorf("certificate off amazonaws.com: %d, want 403", rec.Code)
	}
}
