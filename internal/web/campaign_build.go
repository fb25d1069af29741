package web

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/reply"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/sms"
)

// buildCampaign turns the form into a campaign and checks it as scheduling will: the
// campaign's own rules (campaign.Validate), the e-bulletin's and the text's merge fields
// (email.Compile, email.CompileText), the poll, and whether the leaflet can be printed.
// err is for failures to check, not for problems with the campaign.
func (s *Server) buildCampaign(ctx context.Context, f campaignForm, topics []consent.Topic) (*campaign.Campaign, *formErrors, error) {
	errs := &formErrors{}
	c := &campaign.Campaign{Name: f.Name, Purpose: f.Purpose, Strategy: f.Strategy, Urgent: f.Urgent,
		ScheduleKind: "once"}

	switch n := utf8.RuneCountInString(f.Name); {
	case n == 0:
		errs.add("name", "Enter a name for the campaign")
	case n > maxCampaignName:
		errs.add("name", fmt.Sprintf("The name is %d characters long; shorten it to %d or fewer", n, maxCampaignName))
	}
	var topic *consent.Topic
	for i := range topics {
		if topics[i].Slug == f.Topic {
			topic = &topics[i]
		}
	}
	if topic == nil {
		errs.add("topic", "Choose the topic the campaign is about")
	}
	if f.Purpose != segment.PurposeService && f.Purpose != segment.PurposeMarketing {
		errs.add("purpose", "Choose whether this is a service message or marketing")
	}
	if f.Segment != "" {
		seg, err := segment.NewStore(s.db).Get(ctx, f.Segment)
		switch {
		case errors.Is(err, segment.ErrNotFound) || (err == nil && strconv.FormatInt(seg.ID, 10) != f.Segment):
			errs.add("segment", "Choose one of the segments, or everyone")
		case err != nil:
			return nil, nil, err
		default:
			c.SegmentID = &seg.ID
		}
	}
	order := channelOrders[0]
	if f.Order != "" {
		i := slices.IndexFunc(channelOrders, func(o []string) bool { return strings.Join(o, ",") == f.Order })
		if i < 0 {
			errs.add("order", "Choose the order to try the channels in")
		} else {
			order = channelOrders[i]
		}
	}
	for _, ch := range order {
		if f.Channels[ch] {
			c.ChannelOrder = append(c.ChannelOrder, ch)
		}
	}
	if len(c.ChannelOrder) == 0 {
		errs.add("channels", "Choose at least one way to send it: e-bulletin, text message or printed leaflet")
	}
	if f.Strategy != "best" && f.Strategy != "all" {
		errs.add("strategy", "Choose whether each resident gets one message or one on every channel")
	}

	// Content: each chosen channel's, checked as scheduling checks it.
	if f.Channels["email"] {
		c.EmailSubject, c.EmailBody = f.EmailSubject, f.EmailBody
		if f.EmailSubject == "" {
			errs.add("email_subject", "Write the e-bulletin's subject")
		} else if n := utf8.RuneCountInString(f.EmailSubject); n > maxEmailSubject {
			errs.add("email_subject", fmt.Sprintf("The subject is %d characters long; shorten it to %d or fewer", n, maxEmailSubject))
		}
		if f.EmailBody == "" {
			errs.add("email_body", "Write the e-bulletin's text")
		}
		if f.EmailSubject != "" || f.EmailBody != "" {
			b := email.Bulletin{CampaignName: f.Name, Subject: f.EmailSubject, Markdown: f.EmailBody,
				Service: f.Purpose == segment.PurposeService}
			if topic != nil {
				b.Topic = topic.Name
			}
			if _, err := email.Compile(b, s.brand); err != nil {
				if other := contentErrors(err, func(part string, msg string) {
					field := "email_body"
					if part == "subject" {
						field = "email_subject"
					}
					if !(field == "email_subject" && f.EmailSubject == "") && !(field == "email_body" && f.EmailBody == "") {
						errs.add(field, msg)
					}
				}); other != nil {
					return nil, nil, other
				}
			}
		}
	}
	// The poll, before the text: its prompt ends the text.
	var pollRows []int // the form's row of each of c.Poll's options
	if f.PollQuestion != "" || slices.ContainsFunc(f.PollOptions, func(o pollOptionInput) bool { return o.Key != "" || o.Label != "" }) {
		p := &reply.Poll{Question: f.PollQuestion}
		if f.PollQuestion == "" {
			errs.add("poll_question", "Write the poll's question, or clear its answers to send the campaign without a poll")
		} else if n := utf8.RuneCountInString(f.PollQuestion); n > maxPollQuestion {
			errs.add("poll_question", fmt.Sprintf("The question is %d characters long; shorten it to %d or fewer", n, maxPollQuestion))
		}
		for _, o := range f.PollOptions {
			if o.Key == "" && o.Label == "" {
				continue
			}
			n := strconv.Itoa(o.N)
			key := o.Key
			if key == "" {
				key = n // "Leave a reply empty to use the answer's number"
			}
			if utf8.RuneCountInString(o.Key) > maxPollKey {
				errs.add("poll_key_"+n, fmt.Sprintf("Answer %d's reply is too long: keep it to one short word", o.N))
			}
			if utf8.RuneCountInString(o.Label) > maxPollLabel {
				errs.add("poll_label_"+n, fmt.Sprintf("Answer %d's meaning is too long: keep it to %d characters", o.N, maxPollLabel))
			}
			p.Options = append(p.Options, reply.PollOption{Key: key, Label: o.Label})
			pollRows = append(pollRows, o.N)
		}
		if err := p.Validate(); err != nil {
			for _, e := range unjoin(err) {
				field := "poll_key_1"
				msg := e.Error()
				if m := pollOptionRE.FindStringSubmatch(msg); m != nil {
					if i, _ := strconv.Atoi(m[1]); i >= 1 && i <= len(pollRows) {
						field = "poll_key_" + strconv.Itoa(pollRows[i-1])
						msg = "Answer " + strconv.Itoa(pollRows[i-1]) + msg[len(m[0]):]
					}
				} else if len(p.Options) < 2 {
					msg = "Give the poll at least two answers"
					if len(pollRows) == 1 && pollRows[0] == 1 {
						field = "poll_key_2"
					}
				}
				errs.add(field, msg)
			}
		}
		if !f.Channels["sms"] {
			errs.add("poll_question", "A poll is answered by text: choose the text message channel and write the text, or clear the poll")
		}
		c.Poll = p
	}
	if f.Channels["sms"] {
		c.SMSBody = f.SMSBody
		if f.SMSBody == "" {
			errs.add("sms_body", "Write the text message")
		} else if t, err := email.CompileText(f.Name, "sms", c.SMSText()); err != nil {
			if other := contentErrors(err, func(_ string, msg string) { errs.add("sms_body", msg) }); other != nil {
				return nil, nil, other
			}
		} else if m := sms.MeasureText(t.Render(sampleResident)); m.Characters > maxSMSChars {
			filled := "with a long name filled in"
			if c.Poll != nil {
				filled += " and the poll's answers added"
			}
			errs.add("sms_body", fmt.Sprintf("The text is %d characters long %s; a text can be at most %d",
				m.Characters, filled, maxSMSChars))
		}
	}
	if f.Channels["post"] {
		c.LeafletTitle, c.LeafletBody = f.LeafletTitle, f.LeafletBody
		bodyField := "leaflet_body"
		if c.LeafletBody == "" {
			c.LeafletBody, bodyField = f.EmailBody, "email_body"
		}
		if n := utf8.RuneCountInString(f.LeafletTitle); n > maxLeafletTitle {
			errs.add("leaflet_title", fmt.Sprintf("The leaflet's title is %d characters long; shorten it to %d or fewer", n, maxLeafletTitle))
		}
		if c.LeafletBody == "" {
			errs.add("leaflet_body", "Write the leaflet's text, or the e-bulletin's, which the leaflet prints when it has no text of its own")
		} else if !(bodyField == "email_body" && f.Channels["email"] && errs.has("email_body")) {
			// (The e-bulletin's own problems are listed already.)
			if err := s.checkLeaflet(c, func(field, msg string) {
				switch field {
				case "org":
					s.log.WarnContext(ctx, "leaflets can't print the organisation's details", "problem", msg)
					return
				case "body":
					field = bodyField
				}
				errs.add(field, msg)
			}); err != nil {
				return nil, nil, err
			}
		}
	}

	// The campaign's own rules: whatever the checks above have not said already.
	if err := c.Validate(); err != nil {
		for _, e := range unjoin(err) {
			field, msg := validationField(e)
			switch {
			case field == "content":
				// No chosen channel has content: said already, field by field, unless no
				// channel was chosen either.
				if !errs.hasAny("channels", "email_", "sms_", "leaflet_") {
					errs.add("channels", msg)
				}
			case field == "poll_question":
				if !errs.hasAny("poll_") {
					errs.add(field, msg)
				}
			case field != "" && errs.has(field):
			default:
				errs.add(field, msg)
			}
		}
	}
	return c, errs, nil
}

var pollOptionRE = regexp.MustCompile(`^poll option (\d+)`)

// validationField reads one of campaign.Validate's errors ("invalid campaign: name:
// is empty") as the form field it is about and what to say.
func validationField(err error) (field, msg string) {
	msg = strings.TrimPrefix(err.Error(), campaign.ErrInvalid.Error()+": ")
	name, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return "", msg
	}
	switch name {
	case "name", "purpose", "strategy", "channels", "content", "email_subject":
		return name, rest
	case "poll":
		return "poll_question", rest
	}
	return "", msg
}

// contentErrors reports each of email.Compile's or CompileText's problems with its
// part ("subject", "body", ...) and a message naming its line. An error that is not about
// the content is returned.
func contentErrors(err error, report func(part, msg string)) error {
	var other []error
	for _, e := range unjoin(err) {
		var ce *email.ContentError
		if !errors.As(e, &ce) {
			other = append(other, e)
			continue
		}
		msg := sentence(ce.Err.Error())
		if ce.Part == "body" && ce.Line > 0 {
			msg = "Line " + strconv.Itoa(ce.Line) + ": " + ce.Err.Error()
		}
		report(ce.Part, msg)
	}
	return errors.Join(other...)
}
