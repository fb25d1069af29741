// Package dispatch drives campaigns through the outbox: the scheduler that starts runs
// when they are due, and the workers that lease outbox rows, render, send and record.
package dispatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"
)

// Channel names a delivery channel; it matches the outbox's channel column.
type Channel string

// The channels.
const (
	Email Channel = "email"
	SMS   Channel = "sms"
	Post  Channel = "post"
)

// Message is one rendered message for one recipient on one channel, ready to hand to a
// provider. It carries no personal data beyond what the provider needs.
type Message struct {
	OutboxID   int64 // unique per run × contact × channel; senders derive idempotency keys from it
	CampaignID int64
	RunID      int64
	ContactID  int64
	Channel    Channel
	To         string // email address or E.164 number
	From       string // sender identity (email address or number / messaging service)
	Subject    string // email only
	HTML       string // email only
	Text       string // email plain-text part, or the SMS body
	// Headers are extra email headers (List-Unsubscribe, List-Unsubscribe-Post, List-Id).
	Headers map[string]string
}

// LogValue keeps the recipient's address out of logs.
func (m Message) LogValue() string {
	return fmt.Sprintf("outbox#%d contact#%d %s", m.OutboxID, m.ContactID, m.Channel)
}

// Receipt is what a provider said when it accepted a message.
type Receipt struct {
	ProviderID string // e.g. the SMTP queue id or Message-ID, or Twilio's SID
}

// Sender delivers one message over one channel. Errors are classified with the error
// kinds below (wrap them with Temporary, Permanent, OptedOut or Throttled); an
// unclassified error counts as temporary. Send must be safe for concurrent use.
type Sender interface {
	Channel() Channel
	Send(ctx context.Context, m Message) (Receipt, error)
}

// The classes of send failure.
var (
	// ErrTemporary: try again later with backoff (SMTP 4xx, timeouts, dropped connections, 5xx from an API).
	ErrTemporary = errors.New("temporary failure")
	// ErrPermanent: this contact point can't take the message (SMTP 5xx on the recipient, invalid number); mark it and don't retry.
	ErrPermanent = errors.New("permanent failure")
	// ErrOptedOut: the recipient has opted out at the provider (e.g. Twilio 21610); record a withdrawal.
	ErrOptedOut = errors.New("recipient opted out")
	// ErrThrottled: the provider asks us to slow down (SMTP 421/451 rate limits, HTTP 429); retry, and slow the channel.
	ErrThrottled = errors.New("throttled by provider")
	// ErrUnknown: the request went to the provider and no answer came back (a timeout
	// after sending). It may have been taken, so it is neither resent automatically nor
	// dropped: the outbox records it as unknown, as after a crash, for an officer to resend.
	ErrUnknown = errors.New("outcome unknown")
)

// SendError is a classified send failure with the provider's code and a reason that
// contains no personal data (it is stored).
type SendError struct {
	Kind       error         // one of ErrTemporary, ErrPermanent, ErrOptedOut, ErrThrottled, ErrUnknown
	Code       string        // provider code: "550", "5.1.1", "21610", ...
	Reason     string        // short text, free of personal data
	RetryAfter time.Duration // a provider's hint, if any
	// MessageOnly, with ErrPermanent, says the fault is this message's (e.g. too long),
	// not the contact point's: the message fails and the address or number stays usable.
	MessageOnly bool
	// Down says the provider itself could not be reached or would not let us in
	// (connection refused, a timeout while connecting, a TLS or authentication failure):
	// the channel is down, not this message. Such a
	// failure waits for the channel instead of using up one of the message's attempts.
	Down bool
	Err  error // the underlying error (not stored: it may quote the address)
}

func (e *SendError) Error() string {
	s := e.Kind.Error()
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// IsDown reports whether err says the channel itself is down (SendError.Down), and the
// kind of failure ("connection refused"), which names no recipient.
func IsDown(err error) (kind string, down bool) {
	var se *SendError
	if errors.As(err, &se) && se.Down {
		return cmp.Or(se.Reason, se.Kind.Error()), true
	}
	return "", false
}

// Unwrap exposes both the class (errors.Is(err, ErrPermanent)) and the cause.
func (e *SendError) Unwrap() []error { return []error{e.Kind, e.Err} }
