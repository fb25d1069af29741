package bounce

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// snsMessage is an Amazon SNS HTTP(S) delivery: a notification, or the confirmation
// of a subscription.
type snsMessage struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	Token            string `json:"Token"`
	TopicArn         string `json:"TopicArn"`
	Subject          *string
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	SubscribeURL     string `json:"SubscribeURL"`
}

// stringToSign builds what SNS signed: the fields of the message's type, each name and
// value on its own line, in byte order of the names.
func (m snsMessage) stringToSign() (string, error) {
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	switch m.Type {
	case "Notification":
		add("Message", m.Message)
		add("MessageId", m.MessageID)
		if m.Subject != nil {
			add("Subject", *m.Subject)
		}
		add("Timestamp", m.Timestamp)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		add("Message", m.Message)
		add("MessageId", m.MessageID)
		add("SubscribeURL", m.SubscribeURL)
		add("Timestamp", m.Timestamp)
		add("Token", m.Token)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	default:
		return "", fmt.Errorf("%w: SNS message type %q", ErrMalformed, m.Type)
	}
	return b.String(), nil
}

// CheckAmazonURL refuses any URL crier would fetch on SNS's word (a signing
// certificate, a subscription confirmation) unless it is https on an SNS host of
// amazonaws.com: a forged message must not make crier fetch what it names.
func CheckAmazonURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" {
		return fmt.Errorf("%w: not an https URL of Amazon SNS", ErrBadSignature)
	}
	h := strings.ToLower(u.Hostname())
	if !strings.HasPrefix(h, "sns.") || !(strings.HasSuffix(h, ".amazonaws.com") || strings.HasSuffix(h, ".amazonaws.com.cn")) {
		return fmt.Errorf("%w: %s is not an Amazon SNS host", ErrBadSignature, h)
	}
	return nil
}

// CertFetcher returns the certificate at an SNS SigningCertURL (already checked by
// CheckAmazonURL).
type CertFetcher func(ctx context.Context, url string) (*x509.Certificate, error)

// HTTPCertFetcher fetches certificates over client, caching each by URL: SNS signs
// with a few certificates that change rarely.
func HTTPCertFetcher(client *http.Client) CertFetcher {
	var mu sync.Mutex
	cache := map[string]*x509.Certificate{}
	return func(ctx context.Context, u string) (*x509.Certificate, error) {
		mu.Lock()
		c := cache[u]
		mu.Unlock()
		if c != nil {
			return c, nil
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch SNS signing certificate: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetch SNS signing certificate: HTTP %d", resp.StatusCode)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return nil, fmt.Errorf("fetch SNS signing certificate: %w", err)
		}
		c, err = ParseCertPEM(b)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		cache[u] = c
		mu.Unlock()
		return c, nil
	}
}

// ParseCertPEM reads one PEM certificate.
func ParseCertPEM(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("SNS signing certificate: not a PEM certificate")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("SNS signing certificate: %w", err)
	}
	return c, nil
}

// SESConfig configures the Amazon SES (through SNS) webhook.
type SESConfig struct {
	// Topics are the SNS topic ARNs whose messages are believed; none: the webhook is off.
	Topics []string
	// Fetch returns a signing certificate; nil fetches over https with a 10 s timeout,
	// uncached (give HTTPCertFetcher's, built once, to cache).
	Fetch CertFetcher
	// Client confirms subscriptions (GET SubscribeURL); nil: http.DefaultClient.
	Client *http.Client
}

// verifySNS checks the message's signature with the certificate its SigningCertURL
// names, and that it comes from one of the allowed topics.
func verifySNS(ctx context.Context, cfg SESConfig, m snsMessage) error {
	if !slices.Contains(cfg.Topics, m.TopicArn) {
		return fmt.Errorf("%w: SNS topic not allowed (CRIER_BOUNCE_SES_TOPIC_ARNS)", ErrBadSignature)
	}
	if err := CheckAmazonURL(m.SigningCertURL); err != nil {
		return err
	}
	toSign, err := m.stringToSign()
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("%w: SNS signature is not base64", ErrBadSignature)
	}
	var h crypto.Hash
	var sum []byte
	switch m.SignatureVersion {
	case "1":
		s := sha1.Sum([]byte(toSign))
		h, sum = crypto.SHA1, s[:]
	case "2":
		s := sha256.Sum256([]byte(toSign))
		h, sum = crypto.SHA256, s[:]
	default:
		return fmt.Errorf("%w: SNS SignatureVersion %q", ErrBadSignature, m.SignatureVersion)
	}
	fetch := cfg.Fetch
	if fetch == nil {
		fetch = HTTPCertFetcher(&http.Client{Timeout: 10 * time.Second})
	}
	cert, err := fetch(ctx, m.SigningCertURL)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: SNS certificate key is not RSA", ErrBadSignature)
	}
	if err := rsa.VerifyPKCS1v15(pub, h, sum, sig); err != nil {
		return fmt.Errorf("%w: SNS signature does not match", ErrBadSignature)
	}
	return nil
}

// sesNotification is the SES notification SNS carries in Message: a bounce or a
// complaint (notificationType for notifications, eventType for event publishing).
type sesNotification struct {
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	Bounce           *struct {
		BounceType        string `json:"bounceType"` // Permanent, Transient, Undetermined
		BounceSubType     string `json:"bounceSubType"`
		FeedbackID        string `json:"feedbackId"`
		Timestamp         string `json:"timestamp"`
		BouncedRecipients []struct {
			EmailAddress   string `json:"emailAddress"`
			Action         string `json:"action"`
			Status         string `json:"status"`
			DiagnosticCode string `json:"diagnosticCode"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint *struct {
		FeedbackID            string `json:"feedbackId"`
		Timestamp             string `json:"timestamp"`
		ComplaintFeedbackType string `json:"complaintFeedbackType"`
		ComplaintSubType      *string
		ComplainedRecipients  []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
	} `json:"complaint"`
	Mail struct {
		MessageID     string `json:"messageId"`
		Headers       []struct{ Name, Value string }
		CommonHeaders struct {
			MessageID string `json:"messageId"`
		} `json:"commonHeaders"`
	} `json:"mail"`
}

// originalMessageID is the Message-ID crier gave the message, from the headers SES
// includes (when "include original headers" is on), else commonHeaders.
func (n sesNotification) originalMessageID() string {
	for _, h := range n.Mail.Headers {
		if strings.EqualFold(h.Name, "Message-ID") {
			return trimID(h.Value)
		}
	}
	return trimID(n.Mail.CommonHeaders.MessageID)
}

// parseSES turns an SES notification into events. Ref is the feedback id and the
// recipient's place in it.
func parseSES(msg string) ([]Event, error) {
	var n sesNotification
	if err := json.Unmarshal([]byte(msg), &n); err != nil {
		return nil, fmt.Errorf("%w: SES notification: %v", ErrMalformed, err)
	}
	typ := n.NotificationType
	if typ == "" {
		typ = n.EventType
	}
	mid := n.originalMessageID()
	var out []Event
	switch typ {
	case "Bounce":
		b := n.Bounce
		if b == nil || b.FeedbackID == "" {
			return nil, fmt.Errorf("%w: SES bounce without a feedbackId", ErrMalformed)
		}
		kind := Soft // Transient
		switch b.BounceType {
		case "Permanent":
			kind = Hard
		case "Undetermined":
			kind = Soft // SES could not tell: not enough to stop writing to the address
		}
		at, _ := time.Parse(time.RFC3339, b.Timestamp)
		for i, r := range b.BouncedRecipients {
			k := kind
			if sk := kindOfStatus(r.Status); sk != "" && b.BounceType != "Permanent" {
				k = sk
			}
			out = append(out, Event{Kind: k, Source: SourceSES, Ref: b.FeedbackID + "#" + strconv.Itoa(i+1),
				Recipient: r.EmailAddress, MessageID: mid, Status: r.Status,
				Diagnostic: cmpOr(r.DiagnosticCode, b.BounceType+" "+b.BounceSubType), At: at})
		}
	case "Complaint":
		c := n.Complaint
		if c == nil || c.FeedbackID == "" {
			return nil, fmt.Errorf("%w: SES complaint without a feedbackId", ErrMalformed)
		}
		if c.ComplaintSubType != nil && *c.ComplaintSubType == "OnAccountSuppressionList" {
			return nil, nil // SES refused to send it: no resident complained
		}
		if c.ComplaintFeedbackType == "not-spam" {
			return nil, nil
		}
		at, _ := time.Parse(time.RFC3339, c.Timestamp)
		for i, r := range c.ComplainedRecipients {
			out = append(out, Event{Kind: Complaint, Source: SourceSES, Ref: c.FeedbackID + "#" + strconv.Itoa(i+1),
				Recipient: r.EmailAddress, MessageID: mid, Status: c.ComplaintFeedbackType,
				Diagnostic: "complaint " + cmpOr(c.ComplaintFeedbackType, "(no feedback type)"), At: at})
		}
	}
	return out, nil // Delivery, Send, Open, …: nothing to do
}

func cmpOr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return strings.TrimSpace(b)
}

// confirmSubscription follows a verified SubscriptionConfirmation's SubscribeURL, which
// SNS requires before it sends notifications.
func confirmSubscription(ctx context.Context, cfg SESConfig, m snsMessage) error {
	if err := CheckAmazonURL(m.SubscribeURL); err != nil {
		return err
	}
	client := cfg.Client
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.SubscribeURL, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: confirm SNS subscription: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: confirm SNS subscription: HTTP %d", ErrUnavailable, resp.StatusCode)
	}
	return nil
}
