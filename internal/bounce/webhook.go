package bounce

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The webhook errors, mapped by the web layer to status codes.
var (
	ErrUnknownProvider = errors.New("unknown bounce provider")                     // 404
	ErrNotConfigured   = errors.New("bounce webhook not configured")               // 404
	ErrUnauthorized    = errors.New("bounce webhook credentials missing or wrong") // 401
	ErrBadSignature    = errors.New("bounce webhook signature not valid")          // 403
	ErrMalformed       = errors.New("bounce webhook payload not understood")       // 400
	ErrUnavailable     = errors.New("bounce webhook check could not be made")      // 503: the provider retries
)

// Providers are the webhook providers, as in /webhooks/bounces/{provider}.
var Providers = []string{SourceSES, SourcePostmark, SourceMailgun, SourceSendGrid}

// Hooks verifies and reads providers' bounce webhooks. A provider without its secret is
// off: its requests are refused, never believed unverified.
type Hooks struct {
	SES           SESConfig
	PostmarkToken string           // CRIER_BOUNCE_POSTMARK_TOKEN: Basic auth password or ?token=
	MailgunKey    string           // CRIER_BOUNCE_MAILGUN_KEY: the webhook signing key
	SendGridKey   *ecdsa.PublicKey // CRIER_BOUNCE_SENDGRID_KEY: the verification key (ParseSendGridKey)
}

// Request is what a webhook delivered.
type Request struct {
	Header http.Header
	Token  string // the ?token= query parameter
	Body   []byte
}

// Parse verifies the request as provider's and returns its events. A verified SNS
// subscription confirmation is confirmed here and yields no events.
func (h *Hooks) Parse(ctx context.Context, provider string, r Request) ([]Event, error) {
	switch provider {
	case SourceSES:
		return h.parseSNS(ctx, r)
	case SourcePostmark:
		return h.parsePostmark(r)
	case SourceMailgun:
		return h.parseMailgun(r)
	case SourceSendGrid:
		return h.parseSendGrid(r)
	}
	return nil, ErrUnknownProvider
}

func (h *Hooks) parseSNS(ctx context.Context, r Request) ([]Event, error) {
	if len(h.SES.Topics) == 0 {
		return nil, ErrNotConfigured
	}
	var m snsMessage
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err) // unsigned garbage
	}
	if err := verifySNS(ctx, h.SES, m); err != nil {
		return nil, err
	}
	switch m.Type {
	case "SubscriptionConfirmation":
		return nil, confirmSubscription(ctx, h.SES, m)
	case "UnsubscribeConfirmation":
		return nil, nil
	}
	return parseSES(m.Message)
}

// parsePostmark checks Postmark's credentials: the webhook URL carries either Basic
// auth (https://user:TOKEN@…) or ?token=TOKEN; either must equal the token.
func (h *Hooks) parsePostmark(r Request) ([]Event, error) {
	if h.PostmarkToken == "" {
		return nil, ErrNotConfigured
	}
	given := r.Token
	if auth := r.Header.Get("Authorization"); given == "" && auth != "" {
		req := http.Request{Header: http.Header{"Authorization": {auth}}}
		_, pass, ok := req.BasicAuth()
		if ok {
			given = pass
		}
	}
	if given == "" || subtle.ConstantTimeCompare([]byte(given), []byte(h.PostmarkToken)) != 1 {
		return nil, ErrUnauthorized
	}
	return parsePostmark(r.Body)
}

// postmarkEvent is a Postmark bounce or spam complaint webhook.
type postmarkEvent struct {
	RecordType  string          `json:"RecordType"` // Bounce, SpamComplaint
	ID          json.Number     `json:"ID"`
	Type        string          `json:"Type"`
	TypeCode    int             `json:"TypeCode"`
	MessageID   string          `json:"MessageID"`
	Description string          `json:"Description"`
	Details     string          `json:"Details"`
	Email       string          `json:"Email"`
	BouncedAt   string          `json:"BouncedAt"`
	Metadata    json.RawMessage `json:"Metadata"`
}

// postmarkKinds classifies Postmark's bounce types; the rest (auto-responders,
// subscribe requests, address changes, challenge verifications…) are not bounces.
var postmarkKinds = map[string]string{
	"HardBounce": Hard, "BadEmailAddress": Hard, "ManuallyDeactivated": Hard,
	"SoftBounce": Soft, "Transient": Soft, "DnsError": Soft, "Blocked": Soft, "Undeliverable": Soft,
	"SpamComplaint": Complaint,
}

func parsePostmark(body []byte) ([]Event, error) {
	var e postmarkEvent
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if e.RecordType != "Bounce" && e.RecordType != "SpamComplaint" {
		return nil, nil // deliveries, opens, clicks…
	}
	kind := postmarkKinds[e.Type]
	if e.RecordType == "SpamComplaint" {
		kind = Complaint
	}
	if kind == "" {
		return nil, nil
	}
	if e.ID == "" {
		return nil, fmt.Errorf("%w: Postmark event without an ID", ErrMalformed)
	}
	at, _ := time.Parse(time.RFC3339Nano, e.BouncedAt)
	return []Event{{Kind: kind, Source: SourcePostmark, Ref: e.RecordType + ":" + e.ID.String(), Recipient: e.Email,
		Status: e.Type, Diagnostic: cmpOr(e.Details, e.Description), At: at}}, nil
}

// mailgunWebhook is a Mailgun webhook (the JSON form, with its signature beside the event).
type mailgunWebhook struct {
	Signature struct {
		Timestamp string `json:"timestamp"`
		Token     string `json:"token"`
		Signature string `json:"signature"`
	} `json:"signature"`
	EventData struct {
		Event     string  `json:"event"` // failed, complained, …
		ID        string  `json:"id"`
		Timestamp float64 `json:"timestamp"`
		Severity  string  `json:"severity"` // permanent, temporary
		Reason    string  `json:"reason"`
		Recipient string  `json:"recipient"`
		Message   struct {
			Headers map[string]string `json:"headers"`
		} `json:"message"`
		DeliveryStatus struct {
			Code           json.Number `json:"code"`
			Message        string      `json:"message"`
			Description    string      `json:"description"`
			EnhancedStatus string      `json:"enhanced-code"`
		} `json:"delivery-status"`
	} `json:"event-data"`
}

// MailgunSignature returns Mailgun's signature of a webhook: HMAC-SHA256 under the
// webhook signing key of timestamp followed by token, in hex.
func MailgunSignature(key, timestamp, token string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(timestamp + token))
	return hex.EncodeToString(m.Sum(nil))
}

func (h *Hooks) parseMailgun(r Request) ([]Event, error) {
	if h.MailgunKey == "" {
		return nil, ErrNotConfigured
	}
	var w mailgunWebhook
	d := json.NewDecoder(bytes.NewReader(r.Body))
	d.UseNumber()
	if err := d.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	s := w.Signature
	if s.Timestamp == "" || s.Token == "" || s.Signature == "" {
		return nil, ErrUnauthorized
	}
	want := MailgunSignature(h.MailgunKey, s.Timestamp, s.Token)
	if !hmac.Equal([]byte(strings.ToLower(s.Signature)), []byte(want)) {
		return nil, ErrBadSignature
	}
	e := w.EventData
	var kind string
	switch {
	case e.Event == "complained":
		kind = Complaint
	case e.Event == "failed" && e.Severity == "permanent":
		kind = Hard
	case e.Event == "failed" && e.Severity == "temporary":
		kind = Soft
	default:
		return nil, nil // delivered, opened, accepted, unsubscribed…
	}
	if e.ID == "" {
		return nil, fmt.Errorf("%w: Mailgun event without an id", ErrMalformed)
	}
	var mid string
	for k, v := range e.Message.Headers {
		if strings.EqualFold(k, "message-id") {
			mid = trimID(v)
		}
	}
	var at time.Time
	if e.Timestamp > 0 {
		at = time.Unix(0, int64(e.Timestamp*1e9)).UTC()
	}
	status := e.DeliveryStatus.EnhancedStatus
	if status == "" {
		status = e.DeliveryStatus.Code.String()
	}
	return []Event{{Kind: kind, Source: SourceMailgun, Ref: e.ID, Recipient: e.Recipient, MessageID: mid,
		Status: status, Diagnostic: cmpOr(e.DeliveryStatus.Message, cmpOr(e.DeliveryStatus.Description, e.Reason)), At: at}}, nil
}

// ParseSendGridKey reads SendGrid's Event Webhook verification key: base64 of a DER
// (PKIX) ECDSA P-256 public key, as SendGrid shows it, or the same in PEM.
func ParseSendGridKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "-----BEGIN PUBLIC KEY-----")
	s = strings.TrimSuffix(s, "-----END PUBLIC KEY-----")
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, errors.New("CRIER_BOUNCE_SENDGRID_KEY: not base64 (paste the verification key SendGrid shows)")
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("CRIER_BOUNCE_SENDGRID_KEY: %w", err)
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("CRIER_BOUNCE_SENDGRID_KEY: not an ECDSA public key")
	}
	return ek, nil
}

// SendGrid's signature headers.
const (
	SendGridSignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	SendGridTimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// verifySendGrid checks the ECDSA signature (base64 ASN.1) over SHA-256 of the
// timestamp header followed by the body exactly as received.
func verifySendGrid(key *ecdsa.PublicKey, sigB64, ts string, body []byte) bool {
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return false
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 {
		return false
	}
	sum := sha256.Sum256(append([]byte(ts), body...))
	return ecdsa.VerifyASN1(key, sum[:], sig)
}

type sendGridEvent struct {
	Email       string      `json:"email"`
	Timestamp   json.Number `json:"timestamp"`
	SMTPID      string      `json:"smtp-id"`
	Event       string      `json:"event"` // bounce, dropped, spamreport, deferred, delivered, …
	Type        string      `json:"type"`  // for bounce: bounce or blocked
	Reason      string      `json:"reason"`
	Status      string      `json:"status"`
	SGEventID   string      `json:"sg_event_id"`
	SGMessage   string      `json:"sg_message_id"`
	BounceClass string      `json:"bounce_classification"`
}

func (h *Hooks) parseSendGrid(r Request) ([]Event, error) {
	if h.SendGridKey == nil {
		return nil, ErrNotConfigured
	}
	sig, ts := r.Header.Get(SendGridSignatureHeader), r.Header.Get(SendGridTimestampHeader)
	if sig == "" || ts == "" {
		return nil, ErrUnauthorized
	}
	if !verifySendGrid(h.SendGridKey, sig, ts, r.Body) {
		return nil, ErrBadSignature
	}
	var evs []sendGridEvent
	d := json.NewDecoder(bytes.NewReader(r.Body))
	d.UseNumber()
	if err := d.Decode(&evs); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var out []Event
	for _, e := range evs {
		var kind string
		switch {
		case e.Event == "spamreport":
			kind = Complaint
		case e.Event == "bounce" && e.Type == "blocked":
			kind = Soft // the receiver refused it for now (reputation, content): not the address
		case e.Event == "bounce":
			kind = Hard
		case e.Event == "dropped" && strings.EqualFold(e.Reason, "Bounced Address"):
			kind = Hard
		case e.Event == "dropped" && strings.EqualFold(e.Reason, "Spam Reporting Address"):
			kind = Complaint
		default:
			continue // deferred (still trying), delivered, processed, open, click, unsubscribe…
		}
		ref := e.SGEventID
		if ref == "" { // older events: the message, the event and its time say which it is
			ref = e.SGMessage + "/" + e.Event + "/" + e.Timestamp.String()
		}
		var at time.Time
		if n, err := strconv.ParseInt(e.Timestamp.String(), 10, 64); err == nil {
			at = time.Unix(n, 0).UTC()
		}
		out = append(out, Event{Kind: kind, Source: SourceSendGrid, Ref: ref, Recipient: e.Email,
			MessageID: trimID(e.SMTPID), Status: e.Status, Diagnostic: e.Reason, At: at})
	}
	return out, nil
}
