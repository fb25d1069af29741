package sms

import (
	"testing"
	"time"
)

func TestQuietHoursAcrossMidnightAndClockChanges(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParseQuietHours("21:00-08:00", london)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, london)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		when  string
		quiet bool
		ends  string
	}{
		{"2026-12-01 20:59", false, ""},
		{"2026-12-01 21:00", true, "2026-12-02 08:00"},
		{"2026-12-01 23:30", true, "2026-12-02 08:00"},
		{"2026-12-02 03:00", true, "2026-12-02 08:00"},
		{"2026-12-02 07:59", true, "2026-12-02 08:00"},
		{"2026-12-02 08:00", false, ""},
		// British Summer Time: 21:00 on the London clock is 20:00 UTC.
		{"2027-07-01 21:15", true, "2027-07-02 08:00"},
		{"2027-07-01 20:45", false, ""},
		// The night the clocks go forward (28 March 2027, 01:00 → 02:00).
		{"2027-03-27 22:00", true, "2027-03-28 08:00"},
	} {
		w := at(c.when)
		if got := q.Contains(w); got != c.quiet {
			t.Errorf("%s: quiet = %v, want %v", c.when, got, c.quiet)
		}
		if c.quiet {
			if got := q.Ends(w); !got.Equal(at(c.ends)) {
				t.Errorf("%s: quiet hours end %s, want %s", c.when, got.In(london), c.ends)
			}
		}
	}
	// UTC instants are judged on the London clock.
	if !q.Contains(time.Date(2027, 7, 1, 20, 30, 0, 0, time.UTC)) { // 21:30 BST
		t.Error("20:30 UTC in July (21:30 BST) should be quiet")
	}
	if q.Contains(time.Date(2026, 12, 1, 20, 30, 0, 0, time.UTC)) { // 20:30 GMT
		t.Error("20:30 UTC in December (20:30 GMT) should not be quiet")
	}

	day, err := ParseQuietHours("12:00-13:00", london)
	if err != nil {
		t.Fatal(err)
	}
	if !day.Contains(at("2026-12-01 12:30")) || day.Contains(at("2026-12-01 13:00")) {
		t.Error("a same-day window is wrong")
	}
	if off, err := ParseQuietHours("off", london); err != nil || off != nil || off.Contains(at("2026-12-01 23:00")) {
		t.Errorf("off: %v %v", off, err)
	}
	for _, bad := range []string{"21:00", "9pm-8am", "21:00-21:00", "25:00-08:00"} {
		if _, err := ParseQuietHours(bad, london); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
