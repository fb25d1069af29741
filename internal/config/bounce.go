package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// BounceConfig is bounce and complaint processing (internal/bounce, docs/bounces.md):
// the bounce mailbox crier reads, the soft-bounce policy, and each provider's webhook
// secret. A provider without its secret has its webhook off. Secrets come only from the
// environment and are never logged or shown (Describe names only what is on).
type BounceConfig struct {
	POP3URL       string        // CRIER_BOUNCE_POP3_URL: pop3s://user:pass@host:995 (or imaps://…); unset = no mailbox
	PollInterval  time.Duration // CRIER_BOUNCE_POLL_INTERVAL: how often crier serve reads it; default 5m
	SoftThreshold int           // CRIER_BOUNCE_SOFT_THRESHOLD: soft bounces that suppress an address; default 3
	SoftWindow    string        // CRIER_BOUNCE_SOFT_WINDOW: within this long; default 30d (read with Window)
	SESTopicARNs  string        // CRIER_BOUNCE_SES_TOPIC_ARNS: SNS topics believed, comma-separated; unset = SES webhook off
	PostmarkToken string        // CRIER_BOUNCE_POSTMARK_TOKEN (secret)
	MailgunKey    string        // CRIER_BOUNCE_MAILGUN_KEY: Mailgun's webhook signing key (secret)
	SendGridKey   string        // CRIER_BOUNCE_SENDGRID_KEY: SendGrid's verification key (public, base64)
}

// DefaultBounce reads the CRIER_BOUNCE_* variables.
func DefaultBounce() BounceConfig {
	return BounceConfig{
		POP3URL:       os.Getenv("CRIER_BOUNCE_POP3_URL"),
		PollInterval:  envDuration("CRIER_BOUNCE_POLL_INTERVAL", 5*time.Minute),
		SoftThreshold: envInt("CRIER_BOUNCE_SOFT_THRESHOLD", 3),
		SoftWindow:    envOr("CRIER_BOUNCE_SOFT_WINDOW", "30d"),
		SESTopicARNs:  os.Getenv("CRIER_BOUNCE_SES_TOPIC_ARNS"),
		PostmarkToken: os.Getenv("CRIER_BOUNCE_POSTMARK_TOKEN"),
		MailgunKey:    os.Getenv("CRIER_BOUNCE_MAILGUN_KEY"),
		SendGridKey:   os.Getenv("CRIER_BOUNCE_SENDGRID_KEY"),
	}
}

// Window returns CRIER_BOUNCE_SOFT_WINDOW: days ("30d") or a Go duration ("720h").
func (b BounceConfig) Window() (time.Duration, error) {
	if strings.TrimSpace(b.SoftWindow) == "" {
		return 30 * 24 * time.Hour, nil
	}
	d, err := parseAge("CRIER_BOUNCE_SOFT_WINDOW", b.SoftWindow)
	if err == nil && d == 0 {
		err = fmt.Errorf("CRIER_BOUNCE_SOFT_WINDOW %q: give a window such as 30d", b.SoftWindow)
	}
	return d, err
}

// TopicARNs lists CRIER_BOUNCE_SES_TOPIC_ARNS.
func (b BounceConfig) TopicARNs() []string {
	var out []string
	for _, t := range strings.Split(b.SESTopicARNs, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// Validate names the bad CRIER_BOUNCE_* key; it never repeats a secret.
func (b BounceConfig) Validate() error {
	var errs []error
	if b.POP3URL != "" {
		u, err := url.Parse(b.POP3URL)
		if err != nil || (u.Scheme != "pop3" && u.Scheme != "pop3s" && u.Scheme != "imap" && u.Scheme != "imaps") || u.Hostname() == "" {
			errs = append(errs, errors.New("CRIER_BOUNCE_POP3_URL must look like pop3s://user:password@host:995 (or imaps://user:password@host:993)"))
		}
	}
	// Zero values are the defaults (a Config built by hand in a test).
	if b.PollInterval != 0 && b.PollInterval < 10*time.Second {
		errs = append(errs, fmt.Errorf("CRIER_BOUNCE_POLL_INTERVAL %v: at least 10s", b.PollInterval))
	}
	if b.SoftThreshold < 0 {
		errs = append(errs, fmt.Errorf("CRIER_BOUNCE_SOFT_THRESHOLD %d: at least 1", b.SoftThreshold))
	}
	if _, err := b.Window(); err != nil {
		errs = append(errs, err)
	}
	for _, t := range b.TopicARNs() {
		if !strings.HasPrefix(t, "arn:aws:sns:") && !strings.HasPrefix(t, "arn:aws-cn:sns:") {
			errs = append(errs, fmt.Errorf("CRIER_BOUNCE_SES_TOPIC_ARNS: %q is not an SNS topic ARN (arn:aws:sns:region:account:name)", t))
		}
	}
	if b.PostmarkToken != "" && len(b.PostmarkToken) < 16 {
		errs = append(errs, errors.New("CRIER_BOUNCE_POSTMARK_TOKEN is too short: use at least 16 random characters (openssl rand -hex 16)"))
	}
	return errors.Join(errs...)
}

// Webhooks names the bounce webhooks that are on, for start-up messages.
func (b BounceConfig) Webhooks() []string {
	var on []string
	if len(b.TopicARNs()) > 0 {
		on = append(on, "ses")
	}
	if b.PostmarkToken != "" {
		on = append(on, "postmark")
	}
	if b.MailgunKey != "" {
		on = append(on, "mailgun")
	}
	if b.SendGridKey != "" {
		on = append(on, "sendgrid")
	}
	return on
}
