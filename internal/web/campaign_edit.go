package web

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/sms"
	"github.com/crierhq/crier/internal/web/number"
)

// handleCampaignEdit shows a campaign with its previews.
func (s *Server) handleCampaignEdit(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignFromPath(w, r)
	if !ok {
		return
	}
	s.showCampaign(w, r, c, http.StatusOK, &formErrors{}, "", "")
}

var campaignNotices = map[string]string{
	"created":   "Saved as a draft. Check the previews, then schedule it.",
	"scheduled": "Scheduled.",
	"paused":    "Paused. Nothing more goes out until you resume it.",
	"resumed":   "Resumed.",
	"cancelled": "Cancelled. Messages not sent yet will not be sent.",
	"saved":     "Saved. The previews below show the changes.",
	"copied":    "This is a copy, saved as a new draft. Change what you need below, then schedule it.",
}

// campaignEdit is the change form as the officer typed it, shown again with its
// problems: the version it was read at goes back with it, so a stale copy stays stale.
type campaignEdit struct {
	Form    campaignForm
	Version string
	Stale   string // someone else saved it since: when, and what to do
}

// showCampaign renders campaign c's page with code: the facts, reach, previews, checks,
// history and progress, errs at their fields, and the schedule form as typed (when, sendAt).
func (s *Server) showCampaign(w http.ResponseWriter, r *http.Request, c *campaign.Campaign, code int, errs *formErrors, when, sendAt string) {
	s.showCampaignPage(w, r, c, code, errs, when, sendAt, nil)
}

// showCampaignPage is showCampaign with, for a draft, its change form as typed (edit),
// or as saved when edit is nil.
func (s *Server) showCampaignPage(w http.ResponseWriter, r *http.Request, c *campaign.Campaign, code int, errs *formErrors, when, sendAt string, edit *campaignEdit) {
	ctx := r.Context()
	st := campaign.NewStore(s.db, s.log)
	v := &campaignPageView{ID: c.ID, Name: c.Name, State: string(c.State), StateLabel: stateLabel(string(c.State)),
		Errors: errs.summary(campaignLayout), Fields: errs.fields(campaignLayout), When: when, SendAt: sendAt, Sample: sampleResidentName(),
		TestMail: s.app.Mail != nil, TestTo: sessionOf(r).User.Email, TestLimit: testSendLimit}
	if code == http.StatusOK {
		done := r.URL.Query().Get("done")
		v.Notice = campaignNotices[done]
		switch {
		case done == "scheduled" && c.NextRunAt != nil:
			v.Notice = "Scheduled for " + londonTime(*c.NextRunAt) + " (London time)."
		case done == "resend-failed" || done == "resend-unknown":
			v.Notice = resendNotice(r.URL.Query())
		case done == "tested":
			v.Notice = "Test sent to " + v.TestTo + ". It is not part of the campaign: no resident gets it, and it counts in no results."
		}
	}

	topicName, err := consent.TopicName(ctx, s.db, c.TopicID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	audience, rule := "Everyone", segment.Rule{}
	if c.SegmentID != nil {
		seg, err := segment.NewStore(s.db).Get(ctx, strconv.FormatInt(*c.SegmentID, 10))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		audience, rule = "Segment “"+seg.Name+"”", seg.Rules
	}
	channels := c.Channels()
	v.Post = slices.Contains(channels, "post")
	names := make([]string, len(channels))
	for i, ch := range channels {
		names[i] = channelName(ch)
	}
	strategy := "One message each, on the first of these channels each resident can be reached on"
	if c.Strategy == "all" {
		strategy = "Every one of these channels each resident can be reached on"
	}
	v.Facts = []fact{{"State", v.StateLabel}, {"Topic", topicName}, {"Purpose", purposeOf(c.Purpose).Explained},
		{"Audience", audience}, {"Channels", strings.Join(names, ", then ")}, {"Sends on", strategy}}
	if c.Urgent {
		v.Facts = append(v.Facts, fact{"Urgent", "Yes: texts go out during quiet hours too"})
	}
	if c.NextRunAt != nil {
		v.Facts = append(v.Facts, fact{"Next run", londonTime(*c.NextRunAt) + " (London time)"})
	}
	if c.Poll != nil {
		v.Facts = append(v.Facts, fact{"Poll", c.Poll.Question + " " + c.Poll.Prompt()})
	}

	// Reach, live: who the audience is, and who can be reached on each channel.
	v.Reach = &campaignReachView{Audience: audience, Marketing: c.Purpose == segment.PurposeMarketing, Topic: topicName}
	count, countErr := segment.NewStore(s.db).Count(ctx, rule, c.Topic, c.Purpose)
	if countErr != nil {
		s.log.ErrorContext(ctx, "campaign reach", "campaign_id", c.ID, "err", countErr)
		v.Reach.Problem = "The reach could not be counted just now. Reload the page to try again."
	} else {
		v.Reach.Total, v.Reach.PostOnly, v.Reach.Unreachable, v.Reach.Excluded = count.Total, count.PostOnly, count.Unreachable, count.Excluded
		reach := 0
		for _, ch := range campaignChannels {
			n := map[string]int{"email": count.Email, "sms": count.SMS, "post": count.Post}[ch]
			used := slices.Contains(channels, ch)
			v.Reach.Rows = append(v.Reach.Rows, campaignReachRow{Channel: channelName(ch), N: n, Used: used})
			if used {
				reach += n
			}
		}
		if reach == 0 && (c.State == campaign.Draft || c.State == campaign.Paused) {
			v.Reach.Empty = "Nobody in this audience can be reached on the campaign’s channels, so it can’t be scheduled: there would be nothing to send."
		}
	}

	if c.MayUseAttributes() {
		keys, err := segment.NewStore(s.db).AttributeKeys(ctx)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, t := range c.Texts() {
			for _, aw := range email.UnknownAttributes(t.Part, t.Text, keys) {
				v.MergeWarnings = append(v.MergeWarnings, aw.Words())
			}
		}
	}

	if c.Multilingual() {
		v.Languages, v.Bilingual = s.languageViews(ctx, c, topicName), c.Bilingual
		v.Facts = append(v.Facts, fact{"Languages", languageFact(c)})
	}
	// The previews, one per channel the campaign sends on.
	for _, ch := range channels {
		switch ch {
		case "email":
			v.Email = s.emailPreview(c, topicName)
		case "sms":
			v.SMS = s.smsPreview(ctx, c, count, countErr == nil)
		case "post":
			v.Leaflet = s.leafletPreview(c)
		}
	}
	plainOf := c // the plain-language check measures English only
	if c.Multilingual() || c.DefaultLanguage() != "en" {
		plainOf = nil
		if slices.Contains(c.Languages, "en") {
			plainOf = c.In("en")
		}
	}
	if plainOf == nil {
		v.PlainNote = "Not checked: the plain-language check measures English, and this campaign has no English text."
	} else if c := plainOf; c.EmailBody != "" || c.LeafletBody != "" {
		body, of := c.EmailBody, "the e-bulletin"
		if body == "" {
			body, of = c.LeafletBody, "the leaflet"
		}
		rep := email.CheckPlainLanguage(body)
		v.Plain = &plainLanguageView{Of: of, Ease: strconv.FormatFloat(rep.ReadingEase, 'f', 0, 64), Easy: rep.ReadingEase >= 60,
			Words: rep.Words, Sentences: rep.Sentences,
			Jargon: rep.Jargon, Long: rep.LongSentences, Nothing: rep.Words == 0}
	}

	// State, history and progress.
	hist, err := st.History(ctx, c.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.History = append(v.History, historyRow{When: londonTime(c.CreatedAt), ISO: c.CreatedAt.Format(time.RFC3339),
		Change: "Created as a draft", By: c.CreatedBy})
	for _, h := range hist {
		v.History = append(v.History, historyRow{When: londonTime(h.At), ISO: h.At.Format(time.RFC3339),
			Change: stateLabel(string(h.From)) + " to " + string(h.To), By: h.Actor, Note: h.Note})
	}
	counts, err := st.Status(ctx, c.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Progress, once it is scheduled. It updates itself (live.js) until the campaign
	// completes or is cancelled, unless the officer asked it not to (WCAG 2.2.2).
	if c.State != campaign.Draft {
		v.Progress = campaignProgress(c, counts)
		v.LiveOff = r.URL.Query().Get("live") == "off"
		v.Live = !v.Progress.Done && !v.LiveOff
		if v.Progress.Health, err = s.campaignHealth(ctx, c, counts); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if v.Resend, err = s.resendOffer(ctx, c); err != nil {
		s.fail(w, r, err)
		return
	}
	started := false
	if c.State == campaign.Paused {
		if started, err = st.PausedMidRun(ctx, c.ID); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	v.CanSchedule = c.State == campaign.Draft || (c.State == campaign.Paused && !started)
	v.CanPause = c.State == campaign.Scheduled || c.State == campaign.Sending
	v.CanResume = c.State == campaign.Paused
	v.CanCancel = campaign.CanMove(c.State, campaign.Cancelled)
	if v.When == "" {
		v.When = "now"
	}
	if c.State == campaign.Draft {
		if edit == nil {
			edit = &campaignEdit{Form: formFromCampaign(c), Version: c.Version()}
		}
		if v.Edit, err = s.formView(ctx, edit.Form, errs); err != nil {
			s.fail(w, r, err)
			return
		}
		v.Version, v.Stale = edit.Version, edit.Stale
		if v.CanDelete, err = st.Deletable(ctx, c.ID); err != nil {
			s.fail(w, r, err)
			return
		}
	} else {
		v.NotEditable = notEditable(c.State)
	}
	v.DroppedHTML = droppedHTML(c)

	title := c.Name
	if !errs.empty() {
		title = "Error: " + title
	}
	w.Header().Set("Cache-Control", "private, no-store")
	s.render(w, code, "editor.html", page{Title: title, OrgName: s.brand.OrgName, Session: sessionOf(r), Data: v})
}

// emailPreview is the e-bulletin's part of the page: its subject, or why it can't be rendered.
func (s *Server) emailPreview(c *campaign.Campaign, topicName string) *emailPreviewView {
	out, err := s.renderEmail(c, topicName)
	if err != nil {
		return &emailPreviewView{Problem: sentence(err.Error())}
	}
	return &emailPreviewView{Subject: out.Subject}
}

// smsPreview measures the text as the CLI does before scheduling: the sample resident's
// copy (characters, encoding, segments, warnings), then the real audience's, each
// resident's copy with their own name in it (sms.EstimateCampaign), and what that costs.
// When nobody in the audience can get a text, or the estimate fails, it says so and
// falls back to the sample's measure times the reach, labelled as the sample's.
func (s *Server) smsPreview(ctx context.Context, c *campaign.Campaign, count segment.Count, counted bool) *smsPreviewView {
	src, _ := c.CostliestSMSText()
	t, err := email.CompileText(c.Name, "sms", src)
	if err != nil {
		return &smsPreviewView{Problem: sentence(err.Error())}
	}
	text := t.Render(sampleResident)
	m := sms.MeasureText(text)
	v := &smsPreviewView{Text: text, Characters: m.Characters, Encoding: string(m.Encoding), Segments: m.Segments,
		PerSegment: m.PerSegment, Remaining: m.Remaining, Warnings: sms.Warnings(m)}
	price := s.app.SMSPrice
	v.NoPrice = price <= 0
	est, err := sms.EstimateCampaign(ctx, s.db, c)
	switch {
	case err != nil:
		s.log.ErrorContext(ctx, "sms estimate", "campaign_id", c.ID, "err", err)
		v.Fallback = "The texts could not be estimated from the residents’ own names just now. Reload the page to try again. Until then, for the sample resident:"
	case est.Texts == 0:
		v.Fallback = "Nobody in this audience can get a text yet, so there is nothing to estimate from residents’ own names. For the sample resident:"
	default:
		v.Estimate, v.Worst = est.Summary(price), est.WorstCase()
		return v
	}
	if counted {
		v.Reach = "up to " + number.Count(count.SMS, "resident", "residents")
		if price > 0 {
			v.Cost = fmt.Sprintf("up to £%.2f, at £%.4f a segment", sms.Cost(m, count.SMS, price), price)
		}
	}
	return v
}

// leafletPreview is the leaflet's part of the page: its image, or why there is none.
func (s *Server) leafletPreview(c *campaign.Campaign) *leafletPreviewView {
	title := c.LeafletTitle
	if title == "" {
		title = c.Name
	}
	// The version in the address: the image may be kept for a while (handleLeafletPreview),
	// and a changed draft must not show the old one.
	v := &leafletPreviewView{Src: "/campaigns/" + strconv.FormatInt(c.ID, 10) + "/preview/leaflet.png?v=" + c.Version(),
		Alt: "Page 1 of the printed leaflet “" + title + "”, addressed to the sample resident"}
	var problems []string
	err := s.checkLeaflet(c, func(field, msg string) {
		if field == "org" {
			msg = "The organisation's details for leaflets need changing: " + msg + "."
		}
		problems = append(problems, msg)
	})
	switch {
	case err != nil:
		s.log.Error("leaflet preview", "campaign_id", c.ID, "err", err)
		v.Unavailable = "The leaflet preview could not be made just now. Reload the page to try again."
	case len(problems) > 0:
		v.Unavailable = "The leaflet can't be printed as it is. " + strings.Join(problems, " ")
	default:
		if _, err := exec.LookPath("pdftoppm"); err != nil {
			v.Unavailable = "The leaflet preview needs pdftoppm (from poppler-utils) on the server, and it is not installed. " +
				"The leaflet still prints: ask whoever looks after Crier to install poppler-utils to see it here."
		}
	}
	return v
}
