package web

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/crierhq/crier/internal/contact"
)

// contactPointView is one channel of a contact.
type contactPointView struct {
	ID            int64
	Kind          string // email, phone, postal
	Label         string // Email, Mobile, Landline, Phone, Post
	Value         string // the address or number as shown
	Status        string // active, bounced, invalid, opted out
	StatusReason  string
	Fictional     bool
	DeliveryNotes string
	DoNotDeliver  bool
}

type contactConsentView struct {
	Channel string // "Email jo@example.org"
	Status  string // granted, withdrawn
	Current bool   // the latest decision for this channel and topic
	Source  string
	At      contactTime
}

type contactTopicConsents struct {
	Topic   string
	Records []contactConsentView
}

type contactMessageView struct {
	Campaign string
	Channel  string
	To       string
	State    string
	Reason   string
	At       contactTime
}

type contactTextView struct {
	From     string // "Resident" or the officer who replied
	Body     string
	Campaign string
	Note     string // keyword, poll answer, likely opt-out
	At       contactTime
}

type contactData struct {
	Contact            *contact.Contact
	Name               string
	Address            string // the household's address
	Language           string // "Welsh (cy)"
	Added, Updated     contactTime
	Tags               []string
	AccessibilityNeeds []string
	Attributes         [][2]string
	Points             []contactPointView
	Consents           []contactTopicConsents
	Messages           []contactMessageView
	MoreMessages       bool
	Texts              []contactTextView
	MoreTexts          bool
}

// handleContact shows one resident: details, channels, consent history, messages sent
// and the texts exchanged.
func (s *Server) handleContact(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var c *contact.Contact
	if err == nil && id > 0 {
		c, err = contact.NewStore(s.db, s.log).Get(r.Context(), id)
	} else {
		err = contact.ErrNotFound
	}
	if errors.Is(err, contact.ErrNotFound) {
		s.render(w, http.StatusNotFound, "message.html", page{Title: "Contact not found", OrgName: s.brand.OrgName,
			Message: "There is no contact with that number. It may have been erased.", Session: sessionOf(r)})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.loadContact(r.Context(), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "contact.html", page{Title: d.Name, OrgName: s.brand.OrgName, Session: sessionOf(r), Data: d})
}

func (s *Server) loadContact(ctx context.Context, c *contact.Contact) (*contactData, error) {
	d := &contactData{Contact: c, Name: contactName(c.FirstName, c.LastName, c.ID), Language: contactLanguage(c.PreferredLanguage),
		Tags: c.Tags, AccessibilityNeeds: c.AccessibilityNeeds, Added: contactTimeOf(c.CreatedAt), Updated: contactTimeOf(c.UpdatedAt)}
	if len(c.AttributesJSON) > 0 {
		var attrs map[string]any
		if err := json.Unmarshal(c.AttributesJSON, &attrs); err == nil {
			for k, v := range attrs {
				d.Attributes = append(d.Attributes, [2]string{k, fmt.Sprint(v)})
			}
			slices.SortFunc(d.Attributes, func(a, b [2]string) int { return cmp.Compare(a[0], b[0]) })
		}
	}
	store := contact.NewStore(s.db, s.log)
	if c.HouseholdID != nil {
		a, err := store.HouseholdDoor(ctx, *c.HouseholdID)
		if err != nil {
			return nil, err
		}
		d.Address = a.String()
	}

	pts, err := store.PointDetails(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range pts {
		v := contactPointView{ID: p.ID, Kind: p.Kind, Label: contactPointLabel(p.Kind, p.PhoneType), Value: p.Value,
			Status: cmp.Or(contactStatusLabel(p.Status), "active"), StatusReason: p.StatusReason, Fictional: p.Fictional,
			DeliveryNotes: p.DeliveryNotes, DoNotDeliver: p.DoNotDeliver}
		v.Value = contactPointValue(p.Kind, p.Value, p.Door)
		d.Points = append(d.Points, v)
	}

	consents, err := store.ConsentLog(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	// Rows come grouped by topic, oldest first: the last one per channel is the current decision.
	type place struct{ topic, record int }
	latest := map[[2]int64]place{} // (topic, contact point) → its latest record
	var topicID int64
	for _, k := range consents {
		if len(d.Consents) == 0 || k.TopicID != topicID {
			d.Consents = append(d.Consents, contactTopicConsents{Topic: k.Topic})
			topicID = k.TopicID
		}
		tc := &d.Consents[len(d.Consents)-1]
		latest[[2]int64{k.TopicID, k.PointID}] = place{len(d.Consents) - 1, len(tc.Records)}
		tc.Records = append(tc.Records, contactConsentView{
			Channel: contactPointLabel(k.Kind, k.PhoneType) + " " + contactPointValue(k.Kind, k.Value, k.Door),
			Status:  k.Status, Source: k.Source, At: contactTimeOf(k.RecordedAt)})
	}
	for _, p := range latest {
		d.Consents[p.topic].Records[p.record].Current = true
	}

	msgs, err := store.MessagesSent(ctx, c.ID, contactHistoryLimit+1)
	if err != nil {
		return nil, err
	}
	d.MoreMessages = len(msgs) > contactHistoryLimit
	for _, m := range msgs[:min(len(msgs), contactHistoryLimit)] {
		v := contactMessageView{Campaign: m.Campaign, Channel: channelLabel(m.Channel), State: strings.ReplaceAll(m.State, "_", " "),
			Reason: m.Reason, At: contactTimeOf(m.At)}
		if m.Kind != nil {
			v.To = contactPointValue(*m.Kind, *m.Value, m.Door)
		}
		d.Messages = append(d.Messages, v)
	}

	texts, err := store.Texts(ctx, c.ID, contactHistoryLimit+1)
	if err != nil {
		return nil, err
	}
	d.MoreTexts = len(texts) > contactHistoryLimit
	for _, t := range texts[:min(len(texts), contactHistoryLimit)] {
		v := contactTextView{From: "Resident (" + contactPhone(t.Phone) + ")", Body: t.Body, Campaign: t.Campaign, At: contactTimeOf(t.At)}
		if t.Direction == "out" {
			v.From = cmp.Or(t.SentBy, "Council") + " (reply)"
		}
		var notes []string
		switch t.Keyword {
		case "stop":
			notes = append(notes, "STOP: opted out of texts")
		case "start":
			notes = append(notes, "START: opted back in to texts")
		case "help":
			notes = append(notes, "HELP")
		}
		if t.LikelyOptOut {
			notes = append(notes, "reads like a request to stop")
		}
		if t.PollAnswer != "" {
			notes = append(notes, "poll answer "+t.PollAnswer)
		}
		v.Note = strings.Join(notes, "; ")
		d.Texts = append(d.Texts, v)
	}
	return d, nil
}
