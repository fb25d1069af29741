package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/crierhq/crier/internal/outbox"
)

// A channel's health comes from the outcomes of real sends: a send that could not reach
// the relay or API, or was refused at the door (SendError.Down), says the channel is
// down; any answer from the provider, even a refusal of one recipient, says it is up.
// Each change is recorded in channel_health (other processes show it: `crier campaign
// status`, the dashboard) and logged once, at warn going down and at info coming back.
//
// While a channel is down its workers hold off for Config.DownPause between tries, and
// a message that failed because the channel was down goes back to the queue without
// using up one of its attempts: messages wait for the relay rather than fail an hour
// into an outage.

// healthTouch is how often an unchanged state is recorded again, so that readers can
// tell a live report from one whose process has stopped.
const healthTouch = 30 * time.Second

// healthStale is how old a report may be before readers say when it was last checked.
const healthStale = 2 * time.Minute

// health tracks the channels of one dispatcher.
type health struct {
	outbox   *outbox.Store
	instance string
	log      *slog.Logger

	mu sync.Mutex
	by map[Channel]*channelState
}

// channelState is what this process last recorded of a channel.
type channelState struct {
	known bool // recorded at least once (or being recorded)
	down  bool
	saved time.Time
}

func newHealth(ob *outbox.Store, instance string, log *slog.Logger) *health {
	return &health{outbox: ob, instance: instance, log: log, by: map[Channel]*channelState{}}
}

// verdict says what err, a send's outcome, tells of the channel: down (with the kind of
// failure), up, or nothing (ok false: a timeout after the message went, a shutdown).
func verdict(err error) (down bool, kind string, ok bool) {
	if err == nil {
		return false, "", true
	}
	if kind, down := IsDown(err); down {
		return true, kind, true
	}
	var se *SendError
	if errors.As(err, &se) && (se.Code != "" || errors.Is(err, ErrPermanent) || errors.Is(err, ErrOptedOut) || errors.Is(err, ErrThrottled)) {
		return false, "", true // the provider answered
	}
	return false, "", false
}

// observe takes one send's outcome on ch. It records the channel's state when it
// changes (and every healthTouch while it does not), logging a change once however many
// processes and workers saw it. It reports whether the outcome says the channel is down.
func (h *health) observe(ctx context.Context, ch Channel, err error) bool {
	down, kind, ok := verdict(err)
	if !ok {
		return false
	}
	h.mu.Lock()
	st := h.by[ch]
	if st == nil {
		st = &channelState{}
		h.by[ch] = st
	}
	if st.known && st.down == down && time.Since(st.saved) < healthTouch {
		h.mu.Unlock()
		return down
	}
	// Claim the write before letting go of the lock: the other workers of the channel,
	// seeing the same outage at the same moment, go on sending instead of queueing up.
	st.known, st.down, st.saved = true, down, time.Now()
	h.mu.Unlock()

	state := outbox.Up
	if down {
		state = outbox.Down
	}
	rec, rerr := h.outbox.RecordHealth(context.WithoutCancel(ctx), string(ch), state, kind, h.instance)
	if rerr != nil {
		h.log.WarnContext(ctx, "could not record the channel's health", "channel", ch, "state", state, "err", rerr)
		h.mu.Lock()
		st.known = false // try again at the next outcome
		h.mu.Unlock()
		return down
	}
	switch {
	case !rec.Changed:
	case down:
		h.log.WarnContext(ctx, "channel down: its messages wait, without using up attempts, until it is back",
			"channel", ch, "error_kind", kind)
	case rec.OutageFrom != nil:
		h.log.InfoContext(ctx, "channel up again", "channel", ch,
			"down_for", rec.Since.Sub(*rec.OutageFrom).Round(time.Second).String(), "error_kind", rec.ErrorKind)
	}
	return down
}

// isDown reports whether this process last found ch down.
func (h *health) isDown(ch Channel) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.by[ch]
	return st != nil && st.down
}

// ChannelLabel names a channel's provider for officers: "SMTP", "Twilio API".
func ChannelLabel(ch string) string {
	switch Channel(ch) {
	case Email:
		return "SMTP"
	case SMS:
		return "Twilio API"
	}
	return ch
}

// HealthNotice is what officers should know of a channel's health, in one sentence, or
// "" when there is nothing to say (up, and no outage in the last day). Times are shown
// in loc. For example:
//
//	SMTP unreachable since 14:02 (connection refused); 1,234 messages waiting to retry.
//	SMTP back since 14:40, after 38 minutes unreachable (connection refused).
//
// A report older than a couple of minutes says when it was last checked: the process
// that sends may have stopped.
func HealthNotice(h outbox.ChannelHealth, loc *time.Location) string {
	now := h.Now
	if now.IsZero() {
		now = time.Now()
	}
	label := ChannelLabel(h.Channel)
	var s string
	switch {
	case h.State == outbox.Down:
		s = fmt.Sprintf("%s unreachable since %s", label, clock(h.Since, now, loc))
		if h.ErrorKind != "" {
			s += " (" + h.ErrorKind + ")"
		}
		s += "; " + Thousands(h.Waiting) + " " + plural(h.Waiting, "message", "messages") + " waiting to retry."
	case h.OutageFrom != nil && now.Sub(h.Since) < 24*time.Hour:
		s = fmt.Sprintf("%s back since %s, after %s unreachable", label, clock(h.Since, now, loc),
			Duration(h.Since.Sub(*h.OutageFrom)))
		if h.ErrorKind != "" {
			s += " (" + h.ErrorKind + ")"
		}
		s += "."
	default:
		return ""
	}
	if age := now.Sub(h.CheckedAt); age > healthStale {
		s += fmt.Sprintf(" Last checked %s (%s ago): is crier serve running?", clock(h.CheckedAt, now, loc), Duration(age))
	}
	return s
}

// clock shows t as "14:02", or "Mon 3 Dec 14:02" when it is not today.
func clock(t, now time.Time, loc *time.Location) string {
	t, now = t.In(loc), now.In(loc)
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04")
	}
	return t.Format("Mon 2 Jan 15:04")
}

// Duration says d in words, roughly: "40 seconds", "38 minutes", "3 hours", "2 days".
func Duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		n := int(d.Round(time.Second) / time.Second)
		return strconv.Itoa(n) + " " + plural(n, "second", "seconds")
	case d < 2*time.Hour:
		n := int(d.Round(time.Minute) / time.Minute)
		return strconv.Itoa(n) + " " + plural(n, "minute", "minutes")
	case d < 48*time.Hour:
		n := int(d.Round(time.Hour) / time.Hour)
		return strconv.Itoa(n) + " hours"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " days"
}

// Thousands writes n with commas: 1,234.
func Thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + Thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
