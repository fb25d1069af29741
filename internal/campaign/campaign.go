// Package campaign holds campaigns — one message written once, with content per channel,
// an audience segment, a purpose, a channel strategy and a schedule — their state
// machine with its recorded history, and the runs that snapshot each occurrence's
// audience into the outbox.
package campaign

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/crierhq/crier/internal/reply"
)

// State is where a campaign is in its life.
type State string

// The states. draft → scheduled → sending → completed, with paused and cancelled on the side.
const (
	Draft     State = "draft"
	Scheduled State = "scheduled"
	Sending   State = "sending"
	Completed State = "completed"
	Paused    State = "paused"
	Cancelled State = "cancelled"
)

// transitions lists the moves an officer or the scheduler may make.
var transitions = map[State][]State{
	Draft:     {Scheduled, Cancelled},
	Scheduled: {Sending, Paused, Cancelled, Draft},
	Sending:   {Completed, Scheduled, Paused, Cancelled}, // Scheduled: a recurring campaign waits for its next run
	Paused:    {Scheduled, Sending, Cancelled},
	Completed: {Sending}, // only to resend failed messages or those of unknown outcome (ResendFailed, ResendUnknown)
}

// CanMove reports whether a campaign may go from one state to another.
func CanMove(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Errors callers can test for.
var (
	ErrNotFound   = errors.New("campaign not found")
	ErrTransition = errors.New("not allowed in this state")
	ErrInvalid    = errors.New("invalid campaign")
)

// London is where campaigns are scheduled and shown; times are stored in UTC.
var London = mustLondon()

func mustLondon() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC // only without tzdata; cmd/crier embeds time/tzdata so this doesn't happen
	}
	return loc
}

// Campaign is one campaign.
type Campaign struct {
	ID           int64    `db:"id"`
	Name         string   `db:"name"`
	TopicID      int64    `db:"topic_id"`
	Topic        string   `db:"topic"` // slug, read-only
	SegmentID    *int64   `db:"segment_id"`
	Purpose      string   `db:"purpose"`  // service | marketing
	Strategy     string   `db:"strategy"` // all | best
	ChannelOrder []string `db:"-"`
	EmailSubject string   `db:"email_subject"`
	EmailBody    string   `db:"email_body"`
	SMSBody      string   `db:"sms_body"`
	LeafletTitle string   `db:"leaflet_title"`
	LeafletBody  string   `db:"leaflet_body"`
	SenderName   string   `db:"sender_name"`
	SenderEmail  string   `db:"sender_email"`
	ReplyTo      string   `db:"reply_to"`
	Urgent       bool     `db:"urgent"`
	// Languages is the fallback order of a campaign written in several languages, its
	// default first: the own texts above are in Languages[0], the others' in Variants
	// (by code). Empty is a campaign in one language, as before languages existed.
	Languages []string           `db:"-"`
	Variants  map[string]Content `db:"-"`
	// Bilingual sends everyone one message carrying both of its two languages, the
	// resident's own first (the Welsh Language Standards' way), instead of one each.
	Bilingual bool `db:"bilingual"`
	// Poll, when set, is a question residents answer by text; its prompt ("Reply 1 for
	// ..., 2 for ...") ends the SMS, and replies are tallied (see internal/poll).
	Poll         *reply.Poll `db:"-"`
	State        State       `db:"state"`
	ScheduleKind string      `db:"schedule_kind"` // once | recurring
	SendAt       *time.Time  `db:"send_at"`
	Recurrence   string      `db:"recurrence"` // cron, e.g. "0 9 1 * *" (09:00 on the 1st, London time)
	TimeZone     string      `db:"time_zone"`
	NextRunAt    *time.Time  `db:"next_run_at"`
	CreatedBy    string      `db:"created_by"`
	CreatedAt    time.Time   `db:"created_at"`
	UpdatedAt    time.Time   `db:"updated_at"`
}

// SMSText is the text every recipient's SMS is made from (before merge fields are
// filled in): the body, then the poll's prompt when the campaign has a poll.
func (c *Campaign) SMSText() string {
	body := strings.TrimSpace(c.SMSBody)
	if c.Poll != nil && body != "" {
		body += " " + c.Poll.PromptIn(c.DefaultLanguage())
	}
	return body
}

// Channels returns the channels this campaign will use, in preference order: those in
// ChannelOrder that have content.
func (c *Campaign) Channels() []string {
	var out []string
	for _, ch := range c.ChannelOrder {
		switch {
		case ch == "email" && strings.TrimSpace(c.EmailSubject) != "" && strings.TrimSpace(c.EmailBody) != "":
		case ch == "sms" && strings.TrimSpace(c.SMSBody) != "":
		case ch == "post" && strings.TrimSpace(c.LeafletBody) != "":
		default:
			continue
		}
		out = append(out, ch)
	}
	return out
}

// Validate checks the campaign's own fields; content rendering is checked separately
// (see email.Compile) before scheduling. Every problem is reported, by field.
func (c *Campaign) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.Name) == "" {
		bad("name", "is empty")
	}
	if c.Purpose != "service" && c.Purpose != "marketing" {
		bad("purpose", "%q must be service or marketing", c.Purpose)
	}
	if c.Strategy != "all" && c.Strategy != "best" {
		bad("strategy", "%q must be all (every consented channel) or best (one channel each)", c.Strategy)
	}
	seen := map[string]bool{}
	for _, ch := range c.ChannelOrder {
		if ch != "email" && ch != "sms" && ch != "post" {
			bad("channels", "%q is not a channel (email, sms, post)", ch)
		}
		if seen[ch] {
			bad("channels", "%q is listed twice", ch)
		}
		seen[ch] = true
	}
	if len(c.Channels()) == 0 {
		bad("content", "no channel has content: write an email subject and body, an SMS, or a leaflet")
	}
	if c.EmailBody != "" && strings.TrimSpace(c.EmailSubject) == "" {
		bad("email_subject", "the e-bulletin needs a subject")
	}
	c.validateLanguages(bad)
	if c.Poll != nil {
		if err := c.Poll.Validate(); err != nil {
			bad("poll", "%v", err)
		}
		if !slices.Contains(c.Channels(), "sms") {
			bad("poll", "a poll is answered by text: give the campaign an SMS on the sms channel")
		}
	}
	if c.ScheduleKind == "recurring" {
		if _, err := c.schedule(); err != nil {
			bad("recurrence", "%v", err)
		}
	}
	return errors.Join(errs...)
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func (c *Campaign) schedule() (cron.Schedule, error) {
	if strings.TrimSpace(c.Recurrence) == "" {
		return nil, errors.New("a recurring campaign needs a schedule such as \"0 9 1 * *\" (09:00 on the 1st of each month)")
	}
	s, err := cronParser.Parse(c.Recurrence)
	if err != nil {
		return nil, fmt.Errorf("%q is not a schedule: %v", c.Recurrence, err)
	}
	return s, nil
}

// NextRun returns when the campaign should next run after t, in UTC: for a one-off, its
// send time (or t when it has none, meaning now); for a recurring campaign, the next
// occurrence of its schedule in its time zone, so "09:00" stays 09:00 London time on
// both sides of a clock change.
func (c *Campaign) NextRun(after time.Time) (time.Time, error) {
	if c.ScheduleKind != "recurring" {
		if c.SendAt != nil {
			return c.SendAt.UTC(), nil
		}
		return after.UTC(), nil
	}
	s, err := c.schedule()
	if err != nil {
		return time.Time{}, err
	}
	loc := London
	if c.TimeZone != "" {
		if l, err := time.LoadLocation(c.TimeZone); err == nil {
			loc = l
		}
	}
	return s.Next(after.In(loc)).UTC(), nil
}

// Text is one of a campaign's texts that residents get, with merge fields in it.
type Text struct {
	Part string // "subject", "body" (the e-bulletin's), "sms" or "leaflet"
	Text string
}

// Texts lists the texts the campaign sends, on the channels it uses: the e-bulletin's
// subject and body, the SMS (with the poll's prompt) and the leaflet's text — in each of
// its languages, the part then named with the language ("sms (cy)").
func (c *Campaign) Texts() []Text {
	if c.Multilingual() {
		var out []Text
		for _, code := range c.Languages {
			for _, t := range c.In(code).ownTexts() {
				out = append(out, Text{t.Part + " (" + code + ")", t.Text})
			}
		}
		return out
	}
	return c.ownTexts()
}

func (c *Campaign) ownTexts() []Text {
	var out []Text
	for _, ch := range c.Channels() {
		switch ch {
		case "email":
			out = append(out, Text{"subject", c.EmailSubject}, Text{"body", c.EmailBody})
		case "sms":
			out = append(out, Text{"sms", c.SMSText()})
		case "post":
			out = append(out, Text{"leaflet", c.LeafletBody})
		}
	}
	return out
}

// MayUseAttributes reports whether any of the campaign's texts could hold an
// {{attr.KEY}} merge field: a cheap test, so that the attributes' names (a scan of every
// resident) are read only for campaigns that may use them.
func (c *Campaign) MayUseAttributes() bool {
	for _, t := range c.Texts() {
		if strings.Contains(strings.ToLower(t.Text), "attr.") {
			return true
		}
	}
	return false
}
