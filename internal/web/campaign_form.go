package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/reply"
)

// Limits on what an officer types into the editor.
const (
	maxCampaignName = 200
	maxEmailSubject = 200
	maxLeafletTitle = 200
	maxPollQuestion = 300
	maxPollKey      = 20
	maxPollLabel    = 100
	maxSMSChars     = 1600 // Twilio refuses longer bodies (error 21617)
	pollOptionRows  = 4
)

// campaignForm is what the officer typed, kept as typed for showing the form again.
type campaignForm struct {
	Name         string
	Topic        string // slug
	Purpose      string
	Segment      string // id, "" for everyone
	Channels     map[string]bool
	Order        string // "email,sms,post"
	Strategy     string
	EmailSubject string
	EmailBody    string
	SMSBody      string
	LeafletTitle string
	LeafletBody  string
	Urgent       bool
	PollQuestion string
	PollOptions  []pollOptionInput
}

// pollOptionInput is one row of the poll's answers, as typed: its number on the form,
// the reply that chooses it and what it means.
type pollOptionInput struct {
	N          int
	Key, Label string
}

// campaignLayout is the campaign pages' fields (the form, and the page's actions), for
// their error summary and messages.
var campaignLayout = formLayout{
	Order: []string{"name", "topic", "purpose", "segment", "channels", "order", "strategy",
		"email_subject", "email_body", "sms_body", "leaflet_title", "leaflet_body", "urgent", "poll_question",
		"poll_key_1", "poll_label_1", "poll_key_2", "poll_label_2", "poll_key_3", "poll_label_3", "poll_key_4", "poll_label_4",
		"edit", "when", "send_at", "cancel_confirm", "test", ""},
	Hints: map[string]bool{"name": true, "topic": true, "segment": true, "channels": true, "order": true,
		"email_subject": true, "email_body": true, "sms_body": true, "leaflet_title": true, "leaflet_body": true,
		"urgent": true, "poll_question": true, "send_at": true, "test": true},
	Anchors: map[string]string{"purpose": "purpose-service", "strategy": "strategy-best",
		"channels": "channel-email", "when": "when-now", "test": "test-send", "": "actions",
		"edit": "edit-heading"},
}

// channelOrders are the orders the channels can be tried in.
var channelOrders = [][]string{{"email", "sms", "post"}, {"email", "post", "sms"}, {"sms", "email", "post"},
	{"sms", "post", "email"}, {"post", "email", "sms"}, {"post", "sms", "email"}}

// orderLabel words an order of channels: "E-bulletin, then text, then leaflet".
func orderLabel(order []string) string {
	words := map[string]string{"email": "e-bulletin", "sms": "text", "post": "leaflet"}
	parts := make([]string, len(order))
	for i, ch := range order {
		parts[i] = words[ch]
	}
	return sentence(strings.Join(parts, ", then "))
}

// parseCampaignForm reads the form as typed, tidying whitespace and keeping only known channels.
func parseCampaignForm(r *http.Request) campaignForm {
	v := r.PostForm
	f := campaignForm{
		Name: formLine(v.Get("name")), Topic: v.Get("topic"), Purpose: v.Get("purpose"), Segment: v.Get("segment"),
		Channels: map[string]bool{}, Order: v.Get("order"), Strategy: v.Get("strategy"),
		EmailSubject: formLine(v.Get("email_subject")), EmailBody: formText(v.Get("email_body")),
		SMSBody: formText(v.Get("sms_body")), LeafletTitle: formLine(v.Get("leaflet_title")),
		LeafletBody: formText(v.Get("leaflet_body")), Urgent: v.Get("urgent") == "yes",
		PollQuestion: formLine(v.Get("poll_question")),
	}
	for _, ch := range v["channel"] {
		if slices.Contains(campaignChannels, ch) {
			f.Channels[ch] = true
		}
	}
	for i := range pollOptionRows {
		n := strconv.Itoa(i + 1)
		f.PollOptions = append(f.PollOptions, pollOptionInput{N: i + 1, Key: formLine(v.Get("poll_key_" + n)),
			Label: formLine(v.Get("poll_label_" + n))})
	}
	return f
}

// newCampaignForm is the form as a new campaign starts: general news, every channel in
// the first order, one message each.
func newCampaignForm() campaignForm {
	f := campaignForm{Topic: "general", Order: "email,sms,post", Strategy: "best", Channels: map[string]bool{}}
	for i := range pollOptionRows {
		f.PollOptions = append(f.PollOptions, pollOptionInput{N: i + 1})
	}
	return f
}

// formFromCampaign is the form as campaign c was saved, for changing it: the inverse of
// buildCampaign. A leaflet that prints the e-bulletin's text shows an empty leaflet text
// (buildCampaign stores the e-bulletin's there), and the order is the first of
// channelOrders that puts c's channels in c's order.
func formFromCampaign(c *campaign.Campaign) campaignForm {
	f := campaignForm{Name: c.Name, Topic: c.Topic, Purpose: c.Purpose, Strategy: c.Strategy, Channels: map[string]bool{},
		EmailSubject: c.EmailSubject, EmailBody: c.EmailBody, SMSBody: c.SMSBody, LeafletTitle: c.LeafletTitle,
		LeafletBody: c.LeafletBody, Urgent: c.Urgent, Order: strings.Join(channelOrders[0], ",")}
	if c.SegmentID != nil {
		f.Segment = strconv.FormatInt(*c.SegmentID, 10)
	}
	for _, ch := range c.ChannelOrder {
		if slices.Contains(campaignChannels, ch) {
			f.Channels[ch] = true
		}
	}
	for _, o := range channelOrders {
		var kept []string
		for _, ch := range o {
			if f.Channels[ch] {
				kept = append(kept, ch)
			}
		}
		if slices.Equal(kept, c.ChannelOrder) {
			f.Order = strings.Join(o, ",")
			break
		}
	}
	if f.Channels["post"] && c.LeafletBody == c.EmailBody {
		f.LeafletBody = ""
	}
	var options []reply.PollOption
	if c.Poll != nil {
		f.PollQuestion, options = c.Poll.Question, c.Poll.Options
	}
	for i := range max(pollOptionRows, len(options)) {
		o := pollOptionInput{N: i + 1}
		if i < len(options) {
			o.Key, o.Label = options[i].Key, options[i].Label
		}
		f.PollOptions = append(f.PollOptions, o)
	}
	return f
}
