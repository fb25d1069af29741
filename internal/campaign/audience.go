package campaign

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/crierhq/crier/internal/segment"
)

// ErrEmptyAudience is wrapped by Schedule's error when nobody in a campaign's audience
// can be reached on any of its channels: a run would send nothing. It wraps ErrInvalid.
var ErrEmptyAudience = fmt.Errorf("%w: nothing to send", ErrInvalid)

// AudienceError says why a campaign's audience is empty, with the count per channel:
//
//	segment "Castle ward" reaches 0 residents: 0 by email, 0 by text, 0 on paper — nothing to send (no resident matches its rules)
type AudienceError struct {
	Segment  string // the segment's name; "" for everyone
	Channels []string
	Purpose  string
	Topic    string // slug
	Count    segment.Count
}

// channelWords are how AudienceError names each channel's count.
var channelWords = []struct{ channel, words string }{{"email", "by email"}, {"sms", "by text"}, {"post", "on paper"}}

func (e *AudienceError) Error() string {
	var b strings.Builder
	if e.Segment != "" {
		fmt.Fprintf(&b, "segment %q", e.Segment)
	} else {
		b.WriteString("the audience (everyone)")
	}
	b.WriteString(" reaches 0 residents: ")
	n := map[string]int{"email": e.Count.Email, "sms": e.Count.SMS, "post": e.Count.Post}
	var used []string
	for i, w := range channelWords {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d %s", n[w.channel], w.words)
		if !slices.Contains(e.Channels, w.channel) {
			b.WriteString(" (not one of the campaign's channels)")
		} else {
			used = append(used, w.words)
		}
	}
	b.WriteString(" — nothing to send (")
	switch {
	case e.Count.Total == 0 && e.Segment != "":
		b.WriteString("no resident matches its rules")
	case e.Count.Total == 0:
		b.WriteString("there are no residents yet: import them first")
	default:
		match := strconv.Itoa(e.Count.Total) + " residents match"
		if e.Count.Total == 1 {
			match = "1 resident matches"
		}
		fmt.Fprintf(&b, "%s, but none can be reached %s for a %s message about %s",
			match, strings.Join(used, " or "), e.Purpose, e.Topic)
		var why []string
		for _, x := range e.Count.Excluded {
			why = append(why, x.Reason+": "+strconv.Itoa(x.Contacts))
		}
		if len(why) > 0 {
			b.WriteString("; " + strings.Join(why, ", "))
		}
	}
	b.WriteString(")")
	return b.String()
}

// Unwrap makes errors.Is(err, ErrEmptyAudience) and errors.Is(err, ErrInvalid) true.
func (e *AudienceError) Unwrap() error { return ErrEmptyAudience }

// checkAudience counts c's audience as of now, for its topic and purpose, and returns an
// *AudienceError when nobody in it can be reached on any of c's channels.
func (s *Store) checkAudience(ctx context.Context, c *Campaign) error {
	ss := segment.NewStore(s.db)
	var rule segment.Rule
	name := ""
	if c.SegmentID != nil {
		seg, err := ss.Get(ctx, strconv.FormatInt(*c.SegmentID, 10))
		if err != nil {
			return fmt.Errorf("campaign %d: segment: %w", c.ID, err)
		}
		rule, name = seg.Rules, seg.Name
	}
	n, err := ss.Count(ctx, rule, c.Topic, c.Purpose)
	if err != nil {
		return fmt.Errorf("campaign %d: count its audience: %w", c.ID, err)
	}
	channels := c.Channels()
	reach := 0
	for _, ch := range channels {
		reach += map[string]int{"email": n.Email, "sms": n.SMS, "post": n.Post}[ch]
	}
	if reach > 0 {
		return nil
	}
	return &AudienceError{Segment: name, Channels: channels, Purpose: c.Purpose, Topic: c.Topic, Count: n}
}
