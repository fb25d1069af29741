package sms

import (
	"fmt"
	"strings"
	"time"
)

// QuietHours is the part of every day when no texts go out unless the campaign is
// urgent: held messages wait in the outbox and leave when the quiet hours end. Times are
// on the clock of Loc (Europe/London), so "21:00" is 21:00 in both GMT and BST.
type QuietHours struct {
	From, To time.Duration // since local midnight; From > To wraps past midnight
	Loc      *time.Location
}

// ParseQuietHours reads "21:00-08:00" (the default a council would pick), or "off".
func ParseQuietHours(s string, loc *time.Location) (*QuietHours, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "off") || strings.EqualFold(s, "none") {
		return nil, nil
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return nil, fmt.Errorf("quiet hours %q: write them as HH:MM-HH:MM, like 21:00-08:00, or off", s)
	}
	f, err := parseClock(from)
	if err != nil {
		return nil, fmt.Errorf("quiet hours %q: %w", s, err)
	}
	t, err := parseClock(to)
	if err != nil {
		return nil, fmt.Errorf("quiet hours %q: %w", s, err)
	}
	if f == t {
		return nil, fmt.Errorf("quiet hours %q: start and end are the same time", s)
	}
	return &QuietHours{From: f, To: t, Loc: loc}, nil
}

func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a time like 21:00", strings.TrimSpace(s))
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// Contains says whether t falls in the quiet hours. A nil QuietHours is never quiet.
func (q *QuietHours) Contains(t time.Time) bool {
	if q == nil {
		return false
	}
	lt := t.In(q.Loc)
	since := time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute + time.Duration(lt.Second())*time.Second
	if q.From < q.To {
		return since >= q.From && since < q.To
	}
	return since >= q.From || since < q.To
}

// Ends returns when the quiet hours that contain t end (t itself when t is not quiet).
func (q *QuietHours) Ends(t time.Time) time.Time {
	if !q.Contains(t) {
		return t
	}
	lt := t.In(q.Loc)
	y, m, d := lt.Date()
	end := time.Date(y, m, d, int(q.To/time.Hour), int(q.To%time.Hour/time.Minute), 0, 0, q.Loc)
	if !end.After(lt) {
		end = time.Date(y, m, d+1, int(q.To/time.Hour), int(q.To%time.Hour/time.Minute), 0, 0, q.Loc)
	}
	return end
}

// String renders the quiet hours as they are configured.
func (q *QuietHours) String() string {
	if q == nil {
		return "off"
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", int(q.From/time.Hour), int(q.From%time.Hour/time.Minute),
		int(q.To/time.Hour), int(q.To%time.Hour/time.Minute))
}
