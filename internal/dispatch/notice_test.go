package dispatch_test

import (
	"testing"
	"time"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/outbox"
)

func TestHealthNotice(t *testing.T) {
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, campaign.London)
	at := func(h, m int) time.Time { return time.Date(2026, 12, 4, h, m, 0, 0, campaign.London) }
	outage := at(14, 2)
	yesterday := now.Add(-25 * time.Hour)
	tests := []struct {
		name string
		h    outbox.ChannelHealth
		want string
	}{
		{"down", outbox.ChannelHealth{Channel: "email", State: outbox.Down, Since: at(14, 2), ErrorKind: "connection refused",
			Waiting: 1234, CheckedAt: at(14, 59), Now: now},
			"SMTP unreachable since 14:02 (connection refused); 1,234 messages waiting to retry."},
		{"down, one waiting", outbox.ChannelHealth{Channel: "sms", State: outbox.Down, Since: at(14, 2), ErrorKind: "could not connect to the Twilio API",
			Waiting: 1, CheckedAt: at(14, 59), Now: now},
			"Twilio API unreachable since 14:02 (could not connect to the Twilio API); 1 message waiting to retry."},
		{"down, and the report is old", outbox.ChannelHealth{Channel: "email", State: outbox.Down, Since: yesterday, ErrorKind: "timeout",
			CheckedAt: at(14, 20), Now: now},
			"SMTP unreachable since Thu 3 Dec 14:00 (timeout); 0 messages waiting to retry. Last checked 14:20 (40 minutes ago): is crier serve running?"},
		{"back", outbox.ChannelHealth{Channel: "email", State: outbox.Up, Since: at(14, 40), OutageFrom: &outage, ErrorKind: "connection refused",
			CheckedAt: at(14, 59), Now: now},
			"SMTP back since 14:40, after 38 minutes unreachable (connection refused)."},
		{"up, never down", outbox.ChannelHealth{Channel: "email", State: outbox.Up, Since: at(9, 0), CheckedAt: at(14, 59), Now: now}, ""},
		{"back a day ago", outbox.ChannelHealth{Channel: "email", State: outbox.Up, Since: yesterday, OutageFrom: &outage,
			CheckedAt: at(14, 59), Now: now}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := dispatch.HealthNotice(tc.h, campaign.London); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
