// Package number writes numbers as the pages show them: with thousands separators, as
// shares of a total, and counted with a noun.
package number

import (
	"math"
	"strconv"
	"strings"
)

// Thousands writes n with thousands separators: 1,234,567.
func Thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Percent is n of total as a whole percentage; a share that rounds to 0 or 100 but
// isn't says so ("<1%", ">99%").
func Percent(n, total int) string {
	if total <= 0 {
		return "0%"
	}
	p := float64(n) * 100 / float64(total)
	switch {
	case n > 0 && p < 0.5:
		return "<1%"
	case n < total && p >= 99.5:
		return ">99%"
	}
	return strconv.Itoa(int(math.Round(p))) + "%"
}

// Count writes n with its noun: "1 message", "1,204 messages".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Thousands(n) + " " + many
}
