// Package bounce records what happens to an e-bulletin after a relay accepted it: a
// later bounce, or a resident's complaint. Reports come from a bounce mailbox read over
// POP3 (delivery status notifications, RFC 3464, and abuse reports, RFC 5965) and from
// the webhooks of Amazon SES (through SNS), Postmark, Mailgun and SendGrid, each
// verified before it is believed.
//
// The policy (Store.Record):
//   - a hard bounce marks the email address bounced: nothing more is sent to it, and its
//     messages still waiting in any campaign are suppressed (the contact_points trigger);
//   - a complaint withdraws the address's consent to every topic (the consent ledger,
//     source "complaint"), which stops marketing and its waiting messages;
//   - soft bounces are counted: SoftThreshold of them within SoftWindow count as a hard
//     bounce.
//
// A report delivered twice counts once. Every address found unusable this way gets an
// audit entry. No address is logged or stored with the event.
package bounce

import (
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The kinds of event.
const (
	Hard      = "hard"
	Soft      = "soft"
	Complaint = "complaint"
)

// The sources of events (bounce_events.source).
const (
	SourceDSN      = "dsn"
	SourceARF      = "arf"
	SourceSES      = "ses"
	SourcePostmark = "postmark"
	SourceMailgun  = "mailgun"
	SourceSendGrid = "sendgrid"
)

// ErrNotReport is returned for a mail that is neither a delivery status notification nor
// an abuse report (an auto-reply, a person writing back): it is kept in the mailbox.
var ErrNotReport = errors.New("not a bounce or complaint report")

// Event is one bounce or complaint about one recipient.
type Event struct {
	Kind       string // Hard, Soft or Complaint
	Source     string // SourceDSN, ...
	Ref        string // the report's identity within its source: the same report twice has the same Ref
	Recipient  string // the address as reported; may be "" (a redacted abuse report)
	MessageID  string // the Message-ID of the message it answers, without <>; may be ""
	Status     string // enhanced status code (5.1.1) or the provider's code
	Diagnostic string
	At         time.Time // when the provider says it happened; zero if unknown
}

// LogValue keeps the recipient (an address) and the diagnostic (which may quote one)
// out of any log line an Event finds its way into.
func (e Event) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", e.Kind), slog.String("source", e.Source), slog.String("status", e.Status))
}

// outboxIDPattern finds the outbox row in a Message-ID crier gave an e-bulletin
// (internal/email: "outbox-<id>.crier@<domain>").
var outboxIDPattern = regexp.MustCompile(`(?i)^<?outbox-([0-9]{1,18})\.crier@`)

// OutboxID returns the outbox row a Message-ID names, or 0.
func OutboxID(messageID string) int64 {
	m := outboxIDPattern.FindStringSubmatch(strings.TrimSpace(messageID))
	if m == nil {
		return 0
	}
	id, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// addressPattern matches anything shaped like an email address, to keep addresses out
// of stored diagnostics.
var addressPattern = regexp.MustCompile(`[^\s<>"'(),;:\[\]]+@[A-Za-z0-9.-]+`)

// Scrub returns s with every email address replaced by "[address]", control characters
// removed and its length bounded: what the remote server said, without personal data.
func Scrub(s string) string {
	s = addressPattern.ReplaceAllString(s, "[address]")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "")), " ")
	if len(s) > 500 {
		cut := 500
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// kindOfStatus classifies an enhanced status code (RFC 3463): 5.x.x is permanent (hard),
// 4.x.x transient (soft); "" for anything else.
func kindOfStatus(status string) string {
	switch {
	case strings.HasPrefix(status, "5."):
		return Hard
	case strings.HasPrefix(status, "4."):
		return Soft
	}
	return ""
}

// trimAddr strips the "rfc822;" type and angle brackets from a reported address.
func trimAddr(s string) string {
	s = strings.TrimSpace(s)
	if t, v, ok := strings.Cut(s, ";"); ok && !strings.Contains(t, "@") {
		s = strings.TrimSpace(v)
	}
	return strings.Trim(s, "<> ")
}

// trimID strips angle brackets and spaces from a Message-ID.
func trimID(s string) string { return strings.Trim(strings.TrimSpace(s), "<>") }
