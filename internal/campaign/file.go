package campaign

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/crierhq/crier/internal/reply"
)

// fileFront is the front matter of a campaign file.
type fileFront struct {
	Name         string      `yaml:"name"`
	Topic        string      `yaml:"topic"`
	Purpose      string      `yaml:"purpose"`
	Strategy     string      `yaml:"strategy"`
	Channels     []string    `yaml:"channels"`
	Segment      string      `yaml:"segment"`
	Subject      string      `yaml:"subject"`
	SMS          string      `yaml:"sms"`
	LeafletTitle string      `yaml:"leaflet_title"`
	LeafletBody  string      `yaml:"leaflet_body"`
	SenderName   string      `yaml:"sender_name"`
	SenderEmail  string      `yaml:"sender_email"`
	ReplyTo      string      `yaml:"reply_to"`
	Urgent       bool        `yaml:"urgent"`
	SendAt       string      `yaml:"send_at"`    // "2026-12-01 09:00", London time
	Recurrence   string      `yaml:"recurrence"` // cron, London time
	Poll         *reply.Poll `yaml:"poll"`
}

// Definition is a campaign read from a reviewable file, plus the names it refers to.
type Definition struct {
	Campaign Campaign
	Topic    string // topic slug
	Segment  string // segment name or id; "" = everyone
}

// ParseFile reads a campaign written as Markdown with YAML front matter:
//
//	---
//	name: Bin collection changes
//	purpose: service
//	channels: [email, sms, post]
//	segment: Millbrook
//	subject: Your bin day is changing, {{first_name}}
//	sms: "Hi {{first_name}}, your bin day changes to Tuesday from 6 January."
//	send_at: 2026-12-01 09:00
//	---
//	# Your bin day is changing
//	...
//
// The Markdown is the e-bulletin's body (and the leaflet's, unless leaflet_body is
// given). Errors name the file and, for YAML, the line.
func ParseFile(name string, data []byte) (*Definition, error) {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	text := string(data)
	if !strings.HasPrefix(text, "---\n") {
		return nil, fmt.Errorf("%s:1: a campaign file starts with front matter between --- lines (name, purpose, channels, ...)", name)
	}
	end := strings.Index(text[4:], "\n---")
	if end < 0 {
		return nil, fmt.Errorf("%s: the front matter has no closing --- line", name)
	}
	front, body := text[4:4+end], strings.TrimPrefix(text[4+end+4:], "\n")
	var f fileFront
	dec := yaml.NewDecoder(strings.NewReader(front))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		// yaml reports "line N" counted within the front matter, which starts on line 2.
		return nil, fmt.Errorf("%s: front matter (line numbers from line 2 of the file): %w", name, err)
	}
	d := &Definition{Topic: f.Topic, Segment: f.Segment}
	c := &d.Campaign
	c.Name, c.Purpose, c.Strategy, c.ChannelOrder = f.Name, f.Purpose, f.Strategy, f.Channels
	c.EmailSubject, c.EmailBody, c.SMSBody = f.Subject, strings.TrimSpace(body), f.SMS
	c.LeafletTitle, c.LeafletBody = f.LeafletTitle, f.LeafletBody
	if c.LeafletBody == "" && c.LeafletTitle != "" {
		c.LeafletBody = c.EmailBody
	}
	if len(f.Channels) > 0 && !slices.Contains(f.Channels, "email") && f.Subject == "" {
		c.EmailBody = "" // a campaign without e-bulletins: the Markdown is the leaflet's
	}
	c.SenderName, c.SenderEmail, c.ReplyTo, c.Urgent, c.Poll = f.SenderName, f.SenderEmail, f.ReplyTo, f.Urgent, f.Poll
	if c.Strategy == "" {
		c.Strategy = "best"
	}
	if len(c.ChannelOrder) == 0 {
		c.ChannelOrder = []string{"email", "sms", "post"}
	}
	c.ScheduleKind = "once"
	if f.Recurrence != "" {
		c.ScheduleKind, c.Recurrence = "recurring", f.Recurrence
	}
	if f.SendAt != "" {
		t, err := ParseLocal(f.SendAt)
		if err != nil {
			return nil, fmt.Errorf("%s: send_at: %w", name, err)
		}
		c.SendAt = &t
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

// ParseLocal reads a date and time as written in the UK ("2026-12-01 09:00"), in London
// time, DST-correct.
func ParseLocal(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), London); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time like 2026-12-01 09:00 (London time)", s)
}
