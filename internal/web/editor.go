package web

// The campaign editor for officers: write a campaign once (its audience, purpose,
// channels, e-bulletin, text message, leaflet and poll), see it side by side as residents
// will get it on each channel, with its plain-language check, its reach and what its
// texts cost, then schedule, pause, resume or cancel it and watch it go out.
//
// The e-bulletin preview is the one page crier lets itself be framed by: the editor's
// page embeds it in a sandboxed <iframe>, and secure() gives the two their own
// Content-Security-Policy (editorPagePath, editorPreviewPath). Neither runs a script.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/reply"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/sms"
)

// registerEditor adds the campaign editor's pages to mux, all for officers.
func (s *Server) registerEditor(mux *http.ServeMux) {
	officers := []string{auth.Officer}
	mux.HandleFunc("GET /campaigns/new", s.withUser(officers, s.handleEditorNew))
	mux.HandleFunc("POST /campaigns/new", s.withUser(officers, s.handleEditorCreate))
	mux.HandleFunc("GET /campaigns/{id}/edit", s.withUser(officers, s.handleEditorPage))
	mux.HandleFunc("GET /campaigns/{id}/preview/email", s.withUser(officers, s.handleEditorEmailPreview))
	mux.HandleFunc("GET /campaigns/{id}/preview/leaflet.png", s.withUser(officers, s.handleEditorLeafletPreview))
	mux.HandleFunc("POST /campaigns/{id}/schedule", s.withUser(officers, s.handleEditorSchedule))
	mux.HandleFunc("POST /campaigns/{id}/pause", s.withUser(officers, s.handleEditorMove))
	mux.HandleFunc("POST /campaigns/{id}/resume", s.withUser(officers, s.handleEditorMove))
	mux.HandleFunc("POST /campaigns/{id}/cancel", s.withUser(officers, s.handleEditorMove))
	mux.HandleFunc("POST /campaigns/{id}/test", s.withUser(officers, s.handleEditorTestSend))
	mux.HandleFunc("GET /campaigns/{id}/progress", s.progressSignedIn(s.withUser(officers, s.handleCampaignProgress)))
}

// The paths whose responses secure() gives their own Content-Security-Policy: the
// editor's page, which frames the e-bulletin preview and shows the leaflet preview (an
// image from this site), also as the actions re-show it with an error; and the
// e-bulletin preview, which only this site may frame.
var (
	editorPagePath    = regexp.MustCompile(`^/campaigns/[0-9]+/(?:edit|schedule|pause|resume|cancel|test)$`)
	editorPreviewPath = regexp.MustCompile(`^/campaigns/[0-9]+/preview/email$`)
)

// Limits on what an officer types into the editor.
const (
	editorMaxName     = 200
	editorMaxSubject  = 200
	editorMaxTitle    = 200
	editorMaxQuestion = 300
	editorMaxKey      = 20
	editorMaxLabel    = 100
	editorMaxSMSChars = 1600 // Twilio refuses longer bodies (error 21617)
	editorPollOptions = 4
)

// editorSample is the resident the previews are personalised for: a long name in a
// long-named ward, so that the text measured is as long as most residents' will be (as
// the CLI measures it).
var editorSample = email.Recipient{FirstName: "Christopher", LastName: "Montgomery-Smith",
	Ward: "St Margaret's and North Twickenham"}

// editorSampleAddress is where the leaflet preview's address panel sends it.
var editorSampleAddress = leaflet.Recipient{Name: "Christopher Montgomery-Smith",
	Lines: []string{"Flat 2", "12 Acre Lane", "London", "SW2 1RW"}}

// editorPreviewLinks stand for a resident's own links in the e-bulletin preview: they lead
// nowhere, so nobody is unsubscribed by trying them.
var editorPreviewLinks = email.Links{Unsubscribe: "#unsubscribe", Preferences: "#preferences",
	ViewInBrowser: "#view-in-browser"}

// editorPreviewSlots bounds the pdftoppm processes the leaflet previews run at once.
var editorPreviewSlots = make(chan struct{}, 2)

// The channels, in the order the form lists them.
var editorChannels = []string{"email", "sms", "post"}

func editorChannelName(ch string) string {
	switch ch {
	case "email":
		return "E-bulletin"
	case "sms":
		return "Text message (SMS)"
	case "post":
		return "Printed leaflet"
	}
	return ch
}

// ---------------------------------------------------------------------------------
// The form.

// editorForm is what the officer typed, kept as typed for showing the form again.
type editorForm struct {
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
	PollOptions  []editorPollOption
}

type editorPollOption struct {
	N          int
	Key, Label string
}

// editorChoice is one option of a select or radio group.
type editorChoice struct {
	Value, Label string
	Selected     bool
}

// editorField is what the template needs to tie a field to its error and hint.
type editorField struct {
	ID       string // the error message's id is ID + "-error"
	Error    string
	Describe string // aria-describedby: the hint and the error, as the field has them
}

// editorError is one line of the error summary: its message, linking to Anchor.
type editorError struct {
	Anchor  string
	Message string
}

type editorNewView struct {
	Form     editorForm
	Topics   []editorChoice
	Segments []editorChoice
	Orders   []editorChoice
	Fields   map[string]editorField
	Errors   []editorError
}

// editorFieldOrder is the order of the form's fields: the error summary follows it.
var editorFieldOrder = []string{"name", "topic", "purpose", "segment", "channels", "order", "strategy",
	"email_subject", "email_body", "sms_body", "leaflet_title", "leaflet_body", "urgent", "poll_question",
	"poll_key_1", "poll_label_1", "poll_key_2", "poll_label_2", "poll_key_3", "poll_label_3", "poll_key_4", "poll_label_4",
	"when", "send_at", "cancel_confirm", "test", ""}

// editorHints are the fields with a hint (its id is the field's + "-hint").
var editorHints = map[string]bool{"name": true, "topic": true, "segment": true, "channels": true, "order": true,
	"email_subject": true, "email_body": true, "sms_body": true, "leaflet_title": true, "leaflet_body": true,
	"urgent": true, "poll_question": true, "send_at": true, "test": true}

// editorAnchors are where the summary links for fields that are a group of inputs: the
// first of them.
var editorAnchors = map[string]string{"purpose": "purpose-service", "strategy": "strategy-best",
	"channels": "channel-email", "when": "when-now", "test": "test-send", "": "actions"}

// editorErrors collects a form's problems by field ("" for the form as a whole).
type editorErrors struct {
	by map[string][]string
}

func (e *editorErrors) add(field, msg string) {
	if e.by == nil {
		e.by = map[string][]string{}
	}
	msg = editorSentence(msg)
	if !slices.Contains(e.by[field], msg) {
		e.by[field] = append(e.by[field], msg)
	}
}

func (e *editorErrors) has(field string) bool { return len(e.by[field]) > 0 }

// hasAny reports whether any field starting with one of prefixes has a problem.
func (e *editorErrors) hasAny(prefixes ...string) bool {
	for f := range e.by {
		for _, p := range prefixes {
			if strings.HasPrefix(f, p) {
				return true
			}
		}
	}
	return false
}

func (e *editorErrors) empty() bool { return len(e.by) == 0 }

// summary lists the problems in the form's order, each linking to its field.
func (e *editorErrors) summary() []editorError {
	var out []editorError
	seen := map[string]bool{}
	emit := func(field string) {
		if seen[field] {
			return
		}
		seen[field] = true
		anchor := editorAnchors[field]
		if anchor == "" {
			anchor = field
		}
		for _, m := range e.by[field] {
			out = append(out, editorError{Anchor: anchor, Message: m})
		}
	}
	for _, f := range editorFieldOrder {
		emit(f)
	}
	rest := make([]string, 0, len(e.by))
	for f := range e.by {
		rest = append(rest, f)
	}
	slices.Sort(rest)
	for _, f := range rest {
		emit(f)
	}
	return out
}

// fields ties every field of the order to its hint and error.
func (e *editorErrors) fields() map[string]editorField {
	out := make(map[string]editorField, len(editorFieldOrder))
	for _, f := range editorFieldOrder {
		if f == "" {
			continue
		}
		var ids []string
		if editorHints[f] {
			ids = append(ids, f+"-hint")
		}
		fd := editorField{ID: f}
		if e.has(f) {
			fd.Error = strings.Join(e.by[f], " ")
			ids = append(ids, f+"-error")
		}
		fd.Describe = strings.Join(ids, " ")
		out[f] = fd
	}
	return out
}

// editorSentence starts msg with a capital letter.
func editorSentence(msg string) string {
	msg = strings.TrimSpace(msg)
	r, n := utf8.DecodeRuneInString(msg)
	if n == 0 {
		return msg
	}
	return string(unicode.ToUpper(r)) + msg[n:]
}

// editorOrders are the orders the channels can be tried in.
var editorOrders = [][]string{{"email", "sms", "post"}, {"email", "post", "sms"}, {"sms", "email", "post"},
	{"sms", "post", "email"}, {"post", "email", "sms"}, {"post", "sms", "email"}}

func editorOrderLabel(order []string) string {
	words := map[string]string{"email": "e-bulletin", "sms": "text", "post": "leaflet"}
	parts := make([]string, len(order))
	for i, ch := range order {
		parts[i] = words[ch]
	}
	return editorSentence(strings.Join(parts, ", then "))
}

// editorText tidies a textarea: browsers send CRLF line ends.
func editorText(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}

// editorLine tidies a one-line input.
func editorLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, s))
}

func editorFormFrom(r *http.Request) editorForm {
	v := r.PostForm
	f := editorForm{
		Name: editorLine(v.Get("name")), Topic: v.Get("topic"), Purpose: v.Get("purpose"), Segment: v.Get("segment"),
		Channels: map[string]bool{}, Order: v.Get("order"), Strategy: v.Get("strategy"),
		EmailSubject: editorLine(v.Get("email_subject")), EmailBody: editorText(v.Get("email_body")),
		SMSBody: editorText(v.Get("sms_body")), LeafletTitle: editorLine(v.Get("leaflet_title")),
		LeafletBody: editorText(v.Get("leaflet_body")), Urgent: v.Get("urgent") == "yes",
		PollQuestion: editorLine(v.Get("poll_question")),
	}
	for _, ch := range v["channel"] {
		if slices.Contains(editorChannels, ch) {
			f.Channels[ch] = true
		}
	}
	for i := range editorPollOptions {
		n := strconv.Itoa(i + 1)
		f.PollOptions = append(f.PollOptions, editorPollOption{N: i + 1, Key: editorLine(v.Get("poll_key_" + n)),
			Label: editorLine(v.Get("poll_label_" + n))})
	}
	return f
}

func editorBlankForm() editorForm {
	f := editorForm{Topic: "general", Order: "email,sms,post", Strategy: "best", Channels: map[string]bool{}}
	for i := range editorPollOptions {
		f.PollOptions = append(f.PollOptions, editorPollOption{N: i + 1})
	}
	return f
}

type editorTopic struct {
	ID   int64  `db:"id"`
	Slug string `db:"slug"`
	Name string `db:"name"`
}

func (s *Server) editorTopics(ctx context.Context) ([]editorTopic, error) {
	var topics []editorTopic
	err := s.db.SelectContext(ctx, &topics, `SELECT id, slug, name FROM topics ORDER BY name, slug`)
	return topics, err
}

// editorNewView fills in the form's choices.
func (s *Server) editorNewView(ctx context.Context, f editorForm, errs *editorErrors) (*editorNewView, error) {
	topics, err := s.editorTopics(ctx)
	if err != nil {
		return nil, err
	}
	segs, err := segment.NewStore(s.db).List(ctx)
	if err != nil {
		return nil, err
	}
	v := &editorNewView{Form: f, Fields: errs.fields(), Errors: errs.summary()}
	for _, t := range topics {
		v.Topics = append(v.Topics, editorChoice{Value: t.Slug, Label: t.Name, Selected: t.Slug == f.Topic})
	}
	v.Segments = append(v.Segments, editorChoice{Value: "", Label: "Everyone", Selected: f.Segment == ""})
	for _, sg := range segs {
		id := strconv.FormatInt(sg.ID, 10)
		v.Segments = append(v.Segments, editorChoice{Value: id, Label: sg.Name, Selected: id == f.Segment})
	}
	for _, o := range editorOrders {
		val := strings.Join(o, ",")
		v.Orders = append(v.Orders, editorChoice{Value: val, Label: editorOrderLabel(o), Selected: val == f.Order})
	}
	return v, nil
}

func editorSampleName() string {
	return editorSample.FirstName + " " + editorSample.LastName + " of " + editorSample.Ward
}

// handleEditorNew shows the empty form.
func (s *Server) handleEditorNew(w http.ResponseWriter, r *http.Request) {
	s.showEditorForm(w, r, http.StatusOK, editorBlankForm(), &editorErrors{})
}

func (s *Server) showEditorForm(w http.ResponseWriter, r *http.Request, code int, f editorForm, errs *editorErrors) {
	v, err := s.editorNewView(r.Context(), f, errs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	title := "Write a campaign"
	if !errs.empty() {
		title = "Error: " + title
	}
	s.render(w, code, "editor_new.html", page{Title: title, OrgName: s.brand.OrgName, Session: sessionOf(r), Data: v})
}

// handleEditorCreate checks the form and saves the campaign as a draft; a problem shows
// the form again, as typed, with every problem listed and at its field.
func (s *Server) handleEditorCreate(w http.ResponseWriter, r *http.Request) {
	f := editorFormFrom(r)
	topics, err := s.editorTopics(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, errs, err := s.editorBuild(r.Context(), f, topics)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !errs.empty() {
		s.showEditorForm(w, r, http.StatusUnprocessableEntity, f, errs)
		return
	}
	actx := s.auditCampaign(r, audit.CampaignCreate, 0, map[string]any{"channels": c.Channels()})
	err = campaign.NewStore(s.db, s.log).Create(actx, c, f.Topic, editorActor(r))
	if errors.Is(err, campaign.ErrInvalid) { // checked above: only the topic can have gone since
		s.log.WarnContext(r.Context(), "create campaign", "err", err)
		errs.add("topic", "Choose the topic again: the one chosen no longer exists")
		s.showEditorForm(w, r, http.StatusUnprocessableEntity, f, errs)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "campaign created", "campaign_id", c.ID, "by", editorActor(r))
	http.Redirect(w, r, editorURL(c.ID)+"?done=created", http.StatusSeeOther)
}

func editorActor(r *http.Request) string { return sessionOf(r).User.Email }

func editorURL(id int64) string { return "/campaigns/" + strconv.FormatInt(id, 10) + "/edit" }

// editorBuild turns the form into a campaign and checks it as scheduling will: the
// campaign's own rules (campaign.Validate), the e-bulletin's and the text's merge fields
// (email.Compile, email.CompileText), the poll, and whether the leaflet can be printed.
// err is for failures to check, not for problems with the campaign.
func (s *Server) editorBuild(ctx context.Context, f editorForm, topics []editorTopic) (*campaign.Campaign, *editorErrors, error) {
	errs := &editorErrors{}
	c := &campaign.Campaign{Name: f.Name, Purpose: f.Purpose, Strategy: f.Strategy, Urgent: f.Urgent,
		ScheduleKind: "once"}

	switch n := utf8.RuneCountInString(f.Name); {
	case n == 0:
		errs.add("name", "Enter a name for the campaign")
	case n > editorMaxName:
		errs.add("name", fmt.Sprintf("The name is %d characters long; shorten it to %d or fewer", n, editorMaxName))
	}
	var topic *editorTopic
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
	order := editorOrders[0]
	if f.Order != "" {
		i := slices.IndexFunc(editorOrders, func(o []string) bool { return strings.Join(o, ",") == f.Order })
		if i < 0 {
			errs.add("order", "Choose the order to try the channels in")
		} else {
			order = editorOrders[i]
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
		} else if n := utf8.RuneCountInString(f.EmailSubject); n > editorMaxSubject {
			errs.add("email_subject", fmt.Sprintf("The subject is %d characters long; shorten it to %d or fewer", n, editorMaxSubject))
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
				if other := editorContentErrors(err, func(part string, msg string) {
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
	if f.PollQuestion != "" || slices.ContainsFunc(f.PollOptions, func(o editorPollOption) bool { return o.Key != "" || o.Label != "" }) {
		p := &reply.Poll{Question: f.PollQuestion}
		if f.PollQuestion == "" {
			errs.add("poll_question", "Write the poll's question, or clear its answers to send the campaign without a poll")
		} else if n := utf8.RuneCountInString(f.PollQuestion); n > editorMaxQuestion {
			errs.add("poll_question", fmt.Sprintf("The question is %d characters long; shorten it to %d or fewer", n, editorMaxQuestion))
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
			if utf8.RuneCountInString(o.Key) > editorMaxKey {
				errs.add("poll_key_"+n, fmt.Sprintf("Answer %d's reply is too long: keep it to one short word", o.N))
			}
			if utf8.RuneCountInString(o.Label) > editorMaxLabel {
				errs.add("poll_label_"+n, fmt.Sprintf("Answer %d's meaning is too long: keep it to %d characters", o.N, editorMaxLabel))
			}
			p.Options = append(p.Options, reply.PollOption{Key: key, Label: o.Label})
			pollRows = append(pollRows, o.N)
		}
		if err := p.Validate(); err != nil {
			for _, e := range editorJoined(err) {
				field := "poll_key_1"
				msg := e.Error()
				if m := editorPollOptionRE.FindStringSubmatch(msg); m != nil {
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
			if other := editorContentErrors(err, func(_ string, msg string) { errs.add("sms_body", msg) }); other != nil {
				return nil, nil, other
			}
		} else if m := sms.MeasureText(t.Render(editorSample)); m.Characters > editorMaxSMSChars {
			filled := "with a long name filled in"
			if c.Poll != nil {
				filled += " and the poll's answers added"
			}
			errs.add("sms_body", fmt.Sprintf("The text is %d characters long %s; a text can be at most %d",
				m.Characters, filled, editorMaxSMSChars))
		}
	}
	if f.Channels["post"] {
		c.LeafletTitle, c.LeafletBody = f.LeafletTitle, f.LeafletBody
		bodyField := "leaflet_body"
		if c.LeafletBody == "" {
			c.LeafletBody, bodyField = f.EmailBody, "email_body"
		}
		if n := utf8.RuneCountInString(f.LeafletTitle); n > editorMaxTitle {
			errs.add("leaflet_title", fmt.Sprintf("The leaflet's title is %d characters long; shorten it to %d or fewer", n, editorMaxTitle))
		}
		if c.LeafletBody == "" {
			errs.add("leaflet_body", "Write the leaflet's text, or the e-bulletin's, which the leaflet prints when it has no text of its own")
		} else if !(bodyField == "email_body" && f.Channels["email"] && errs.has("email_body")) {
			// (The e-bulletin's own problems are listed already.)
			if err := s.editorCheckLeaflet(c, func(field, msg string) {
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
		for _, e := range editorJoined(err) {
			field, msg := editorValidateField(e)
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

var editorPollOptionRE = regexp.MustCompile(`^poll option (\d+)`)

// editorValidateField reads one of campaign.Validate's errors ("invalid campaign: name:
// is empty") as the form field it is about and what to say.
func editorValidateField(err error) (field, msg string) {
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

// editorJoined splits an errors.Join.
func editorJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// editorContentErrors reports each of email.Compile's or CompileText's problems with its
// part ("subject", "body", ...) and a message naming its line. An error that is not about
// the content is returned.
func editorContentErrors(err error, report func(part, msg string)) error {
	var other []error
	for _, e := range editorJoined(err) {
		var ce *email.ContentError
		if !errors.As(e, &ce) {
			other = append(other, e)
			continue
		}
		msg := editorSentence(ce.Err.Error())
		if ce.Part == "body" && ce.Line > 0 {
			msg = "Line " + strconv.Itoa(ce.Line) + ": " + ce.Err.Error()
		}
		report(ce.Part, msg)
	}
	return errors.Join(other...)
}

// editorLeafletContent is what c's leaflet prints, as a print run prints it: the
// organisation, its address, a call to action and QR code for the campaign's page (when
// the public address is known), and the text with merge fields read as for a resident
// we know nothing about.
func (s *Server) editorLeafletContent(c *campaign.Campaign) (leaflet.Content, error) {
	content := leaflet.Content{CampaignName: c.Name, Title: c.LeafletTitle, OrgName: s.brand.OrgName, Lang: "en"}
	if content.Title == "" {
		content.Title = c.Name
	}
	if addr := strings.TrimSpace(s.brand.FooterAddress); addr != "" || s.brand.OrgName != "" {
		content.Contact = strings.TrimSpace(s.brand.OrgName + "\n" + strings.ReplaceAll(addr, ", ", "\n"))
	}
	if base := strings.TrimRight(s.app.PublicURL, "/"); base != "" {
		page := fmt.Sprintf("%s/c/%d", base, max(c.ID, 1)) // (a campaign being checked has no id yet)
		content.CallToAction, content.QRURL = "Read it online and tell us what you think: "+page, page
	}
	t, err := email.CompileText(c.Name, "leaflet", c.LeafletBody)
	if err != nil {
		return content, err
	}
	content.Body = t.Render(email.Recipient{})
	return content, nil
}

// editorRenderLeaflet prints c's leaflet for the sample resident, as an A4 PDF.
func (s *Server) editorRenderLeaflet(c *campaign.Campaign, w io.Writer) error {
	content, err := s.editorLeafletContent(c)
	if err != nil {
		return err
	}
	return leaflet.Render(w, content, []leaflet.Recipient{editorSampleAddress},
		leaflet.Options{Format: leaflet.A4, Personalised: true})
}

// editorCheckLeaflet reports what stops c's leaflet printing, by field: "leaflet_title",
// "body" (the leaflet's text, or the e-bulletin's when it prints that), or "org" for the
// organisation's own details, which the officer cannot change here. err is for failures
// to check.
func (s *Server) editorCheckLeaflet(c *campaign.Campaign, report func(field, msg string)) error {
	err := s.editorRenderLeaflet(c, io.Discard)
	if err == nil {
		return nil
	}
	var ce *email.ContentError
	if errors.As(err, &ce) {
		return editorContentErrors(err, func(_ string, msg string) { report("body", "The leaflet: "+msg) })
	}
	if !errors.Is(err, leaflet.ErrInvalid) {
		return err
	}
	_, detail, _ := strings.Cut(err.Error(), leaflet.ErrInvalid.Error()+": ")
	for _, line := range strings.Split(detail, "\n") {
		name, msg, _ := strings.Cut(line, ": ")
		switch name {
		case "Title":
			report("leaflet_title", "The leaflet's title: "+msg)
		case "Body":
			report("body", "The leaflet: "+msg)
		default:
			report("org", line)
		}
	}
	return nil
}

// ---------------------------------------------------------------------------------
// The campaign's page: previews, checks, reach, state, actions and progress.

type editorFact struct{ Label, Value string }

type editorEmailView struct {
	Subject string
	Problem string
}

type editorSMSView struct {
	Text       string
	Characters int
	Encoding   string
	Segments   int
	PerSegment int
	Remaining  int
	// Estimate and Worst are the real audience's texts (sms.Estimate's Summary and
	// WorstCase); without them, Fallback says why, and Reach and Cost are the sample's.
	Estimate string
	Worst    string
	Fallback string
	Reach    string // "up to 4 residents"
	Cost     string // "up to £0.37, at £0.0463 a segment"; "" without a price or a count
	NoPrice  bool
	Warnings []string
	Problem  string
}

type editorLeafletView struct {
	Src         string
	Alt         string
	Unavailable string // no preview, and why
}

type editorPlainView struct {
	Of        string // "the e-bulletin" or "the leaflet"
	Ease      string
	Easy      bool // 60 or more
	Words     int
	Sentences int
	Jargon    []email.Finding
	Long      []email.Finding
	Nothing   bool // no words to check
}

type editorReachView struct {
	Audience    string // "Everyone" or the segment's name
	Total       int
	Rows        []editorReachRow
	PostOnly    int
	Unreachable int
	Excluded    []segment.Exclusion
	Marketing   bool
	Topic       string
	Problem     string
	Empty       string // when nobody can be reached on the campaign's channels: why scheduling is refused
}

type editorReachRow struct {
	Channel string
	N       int
	Used    bool
}

type editorHistoryRow struct {
	When, ISO, Change, By, Note string
}

type editorPageView struct {
	ID         int64
	Name       string
	State      string // campaign.State
	StateLabel string
	Facts      []editorFact
	Notice     string
	Errors     []editorError
	Fields     map[string]editorField

	// MergeWarnings are merge fields that are blank for everyone: {{attr.KEY}} for an
	// attribute no resident has.
	MergeWarnings []string

	Email   *editorEmailView
	SMS     *editorSMSView
	Leaflet *editorLeafletView
	Plain   *editorPlainView
	Reach   *editorReachView
	History []editorHistoryRow

	// Progress is shown once the campaign is scheduled; Live, when it can still change
	// and the officer has not turned the updates off, makes static/live.js follow it.
	Progress *progressView
	Live     bool
	LiveOff  bool // the officer turned the updates off (?live=off)

	// The test send: whether email is set up, where it goes, and how many an hour.
	TestMail  bool
	TestTo    string
	TestLimit int

	CanSchedule, CanPause, CanResume, CanCancel bool
	Resend                                      *resendView // failed or unknown messages it can resend; nil: none
	When, SendAt                                string      // the schedule form, as typed
	Sample                                      string
}

// editorCampaign loads the campaign the path names, answering 404 when there is none.
func (s *Server) editorCampaign(w http.ResponseWriter, r *http.Request) (*campaign.Campaign, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil && id > 0 {
		c, err := campaign.NewStore(s.db, s.log).Get(r.Context(), strconv.FormatInt(id, 10))
		if err == nil {
			return c, true
		}
		if !errors.Is(err, campaign.ErrNotFound) {
			s.fail(w, r, err)
			return nil, false
		}
	}
	s.render(w, http.StatusNotFound, "message.html", page{Title: "Campaign not found", OrgName: s.brand.OrgName,
		Session: sessionOf(r), Message: "There is no such campaign. Go back to the campaigns and choose one."})
	return nil, false
}

// handleEditorPage shows a campaign with its previews.
func (s *Server) handleEditorPage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.editorCampaign(w, r)
	if !ok {
		return
	}
	s.showEditor(w, r, c, http.StatusOK, &editorErrors{}, "", "")
}

var editorNotices = map[string]string{
	"created":   "Saved as a draft. Check the previews, then schedule it.",
	"scheduled": "Scheduled.",
	"paused":    "Paused. Nothing more goes out until you resume it.",
	"resumed":   "Resumed.",
	"cancelled": "Cancelled. Messages not sent yet will not be sent.",
}

func (s *Server) showEditor(w http.ResponseWriter, r *http.Request, c *campaign.Campaign, code int, errs *editorErrors, when, sendAt string) {
	ctx := r.Context()
	st := campaign.NewStore(s.db, s.log)
	v := &editorPageView{ID: c.ID, Name: c.Name, State: string(c.State), StateLabel: resultsState(string(c.State)),
		Errors: errs.summary(), Fields: errs.fields(), When: when, SendAt: sendAt, Sample: editorSampleName(),
		TestMail: s.app.Mail != nil, TestTo: sessionOf(r).User.Email, TestLimit: testSendLimit}
	if code == http.StatusOK {
		done := r.URL.Query().Get("done")
		v.Notice = editorNotices[done]
		switch {
		case done == "scheduled" && c.NextRunAt != nil:
			v.Notice = "Scheduled for " + editorWhen(*c.NextRunAt) + " (London time)."
		case done == "resend-failed" || done == "resend-unknown":
			v.Notice = resendNotice(r.URL.Query())
		case done == "tested":
			v.Notice = "Test sent to " + v.TestTo + ". It is not part of the campaign: no resident gets it, and it counts in no results."
		}
	}

	var topicName string
	if err := s.db.GetContext(ctx, &topicName, `SELECT name FROM topics WHERE id = $1`, c.TopicID); err != nil {
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
	names := make([]string, len(channels))
	for i, ch := range channels {
		names[i] = editorChannelName(ch)
	}
	strategy := "One message each, on the first of these channels each resident can be reached on"
	if c.Strategy == "all" {
		strategy = "Every one of these channels each resident can be reached on"
	}
	v.Facts = []editorFact{{"State", v.StateLabel}, {"Topic", topicName}, {"Purpose", editorPurpose(c.Purpose)},
		{"Audience", audience}, {"Channels", strings.Join(names, ", then ")}, {"Sends on", strategy}}
	if c.Urgent {
		v.Facts = append(v.Facts, editorFact{"Urgent", "Yes: texts go out during quiet hours too"})
	}
	if c.NextRunAt != nil {
		v.Facts = append(v.Facts, editorFact{"Next run", editorWhen(*c.NextRunAt) + " (London time)"})
	}
	if c.Poll != nil {
		v.Facts = append(v.Facts, editorFact{"Poll", c.Poll.Question + " " + c.Poll.Prompt()})
	}

	// Reach, live: who the audience is, and who can be reached on each channel.
	v.Reach = &editorReachView{Audience: audience, Marketing: c.Purpose == segment.PurposeMarketing, Topic: topicName}
	count, countErr := segment.NewStore(s.db).Count(ctx, rule, c.Topic, c.Purpose)
	if countErr != nil {
		s.log.ErrorContext(ctx, "campaign reach", "campaign_id", c.ID, "err", countErr)
		v.Reach.Problem = "The reach could not be counted just now. Reload the page to try again."
	} else {
		v.Reach.Total, v.Reach.PostOnly, v.Reach.Unreachable, v.Reach.Excluded = count.Total, count.PostOnly, count.Unreachable, count.Excluded
		reach := 0
		for _, ch := range editorChannels {
			n := map[string]int{"email": count.Email, "sms": count.SMS, "post": count.Post}[ch]
			used := slices.Contains(channels, ch)
			v.Reach.Rows = append(v.Reach.Rows, editorReachRow{Channel: editorChannelName(ch), N: n, Used: used})
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

	// The previews, one per channel the campaign sends on.
	for _, ch := range channels {
		switch ch {
		case "email":
			v.Email = s.editorEmail(c, topicName)
		case "sms":
			v.SMS = s.editorSMS(ctx, c, count, countErr == nil)
		case "post":
			v.Leaflet = s.editorLeaflet(c)
		}
	}
	if body, of := c.EmailBody, "the e-bulletin"; body != "" || c.LeafletBody != "" {
		if body == "" {
			body, of = c.LeafletBody, "the leaflet"
		}
		rep := email.CheckPlainLanguage(body)
		v.Plain = &editorPlainView{Of: of, Ease: strconv.FormatFloat(rep.ReadingEase, 'f', 0, 64), Easy: rep.ReadingEase >= 60,
			Words: rep.Words, Sentences: rep.Sentences,
			Jargon: rep.Jargon, Long: rep.LongSentences, Nothing: rep.Words == 0}
	}

	// State, history and progress.
	hist, err := st.History(ctx, c.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.History = append(v.History, editorHistoryRow{When: editorWhen(c.CreatedAt), ISO: c.CreatedAt.Format(time.RFC3339),
		Change: "Created as a draft", By: c.CreatedBy})
	for _, h := range hist {
		v.History = append(v.History, editorHistoryRow{When: editorWhen(h.At), ISO: h.At.Format(time.RFC3339),
			Change: resultsState(string(h.From)) + " to " + string(h.To), By: h.Actor, Note: h.Note})
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
		if started, err = s.editorStarted(ctx, c.ID); err != nil {
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

	title := c.Name
	if !errs.empty() {
		title = "Error: " + title
	}
	w.Header().Set("Cache-Control", "private, no-store")
	s.render(w, code, "editor.html", page{Title: title, OrgName: s.brand.OrgName, Session: sessionOf(r), Data: v})
}

func editorPurpose(p string) string {
	switch p {
	case segment.PurposeService:
		return "Service message: residents need to know it"
	case segment.PurposeMarketing:
		return "Marketing: only to residents who agreed to hear about the topic"
	}
	return p
}

func editorWhen(t time.Time) string { return t.In(campaign.London).Format("Mon 2 Jan 2006, 15:04") }

func (s *Server) editorEmail(c *campaign.Campaign, topicName string) *editorEmailView {
	out, err := s.editorRenderEmail(c, topicName)
	if err != nil {
		return &editorEmailView{Problem: editorSentence(err.Error())}
	}
	return &editorEmailView{Subject: out.Subject}
}

// editorRenderEmail renders c's e-bulletin for the sample resident, as the composer
// renders it for each resident.
func (s *Server) editorRenderEmail(c *campaign.Campaign, topicName string) (email.Rendered, error) {
	return s.editorRenderEmailFor(c, topicName, editorSample)
}

// editorRenderEmailFor renders c's e-bulletin for rec, with links that lead nowhere.
func (s *Server) editorRenderEmailFor(c *campaign.Campaign, topicName string, rec email.Recipient) (email.Rendered, error) {
	compiled, err := email.Compile(email.Bulletin{CampaignName: c.Name, Subject: c.EmailSubject, Markdown: c.EmailBody,
		Topic: topicName, Service: c.Purpose == segment.PurposeService}, s.brand)
	if err != nil {
		return email.Rendered{}, err
	}
	return compiled.Render(rec, editorPreviewLinks)
}

// editorSMS measures the text as the CLI does before scheduling: the sample resident's
// copy (characters, encoding, segments, warnings), then the real audience's, each
// resident's copy with their own name in it (sms.EstimateCampaign), and what that costs.
// When nobody in the audience can get a text, or the estimate fails, it says so and
// falls back to the sample's measure times the reach, labelled as the sample's.
func (s *Server) editorSMS(ctx context.Context, c *campaign.Campaign, count segment.Count, counted bool) *editorSMSView {
	t, err := email.CompileText(c.Name, "sms", c.SMSText())
	if err != nil {
		return &editorSMSView{Problem: editorSentence(err.Error())}
	}
	text := t.Render(editorSample)
	m := sms.MeasureText(text)
	v := &editorSMSView{Text: text, Characters: m.Characters, Encoding: string(m.Encoding), Segments: m.Segments,
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
		v.Reach = "up to " + resultsCount(count.SMS, "resident", "residents")
		if price > 0 {
			v.Cost = fmt.Sprintf("up to £%.2f, at £%.4f a segment", sms.Cost(m, count.SMS, price), price)
		}
	}
	return v
}

func (s *Server) editorLeaflet(c *campaign.Campaign) *editorLeafletView {
	title := c.LeafletTitle
	if title == "" {
		title = c.Name
	}
	v := &editorLeafletView{Src: "/campaigns/" + strconv.FormatInt(c.ID, 10) + "/preview/leaflet.png",
		Alt: "Page 1 of the printed leaflet “" + title + "”, addressed to the sample resident"}
	var problems []string
	err := s.editorCheckLeaflet(c, func(field, msg string) {
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

// editorStarted reports whether a paused campaign had started sending when it was paused
// (a run of it is paused): it is resumed, not scheduled again.
func (s *Server) editorStarted(ctx context.Context, id int64) (bool, error) {
	var paused bool
	err := s.db.GetContext(ctx, &paused, `SELECT EXISTS (SELECT 1 FROM campaign_runs WHERE campaign_id = $1 AND state = 'paused')`, id)
	return paused, err
}

// handleEditorEmailPreview is the e-bulletin as the sample resident gets it: the page the
// editor frames. Its links lead nowhere.
func (s *Server) handleEditorEmailPreview(w http.ResponseWriter, r *http.Request) {
	c, ok := s.editorCampaign(w, r)
	if !ok {
		return
	}
	if !slices.Contains(c.Channels(), "email") {
		s.render(w, http.StatusNotFound, "message.html", page{Title: "No e-bulletin", OrgName: s.brand.OrgName,
			Session: sessionOf(r), Message: "This campaign does not send an e-bulletin."})
		return
	}
	var topicName string
	if err := s.db.GetContext(r.Context(), &topicName, `SELECT name FROM topics WHERE id = $1`, c.TopicID); err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.editorRenderEmail(c, topicName)
	if err != nil {
		s.render(w, http.StatusUnprocessableEntity, "message.html", page{Title: "The e-bulletin can't be shown",
			OrgName: s.brand.OrgName, Message: editorSentence(err.Error())})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = io.WriteString(w, out.HTML)
}

// handleEditorLeafletPreview is page 1 of the leaflet as printed for the sample
// resident, as a PNG (pdftoppm).
func (s *Server) handleEditorLeafletPreview(w http.ResponseWriter, r *http.Request) {
	c, ok := s.editorCampaign(w, r)
	if !ok {
		return
	}
	plain := func(code int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, msg+"\n")
	}
	if !slices.Contains(c.Channels(), "post") {
		plain(http.StatusNotFound, "This campaign does not print a leaflet.")
		return
	}
	var pdf bytes.Buffer
	if err := s.editorRenderLeaflet(c, &pdf); err != nil {
		var ce *email.ContentError
		if errors.Is(err, leaflet.ErrInvalid) || errors.As(err, &ce) {
			plain(http.StatusUnprocessableEntity, "The leaflet can't be printed as it is: "+err.Error())
			return
		}
		s.log.ErrorContext(r.Context(), "leaflet preview", "campaign_id", c.ID, "err", err)
		plain(http.StatusInternalServerError, "The leaflet preview could not be made.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	select {
	case editorPreviewSlots <- struct{}{}:
		defer func() { <-editorPreviewSlots }()
	case <-ctx.Done():
		plain(http.StatusServiceUnavailable, "The server is busy making previews. Try again in a moment.")
		return
	}
	png, err := leaflet.Preview(ctx, pdf.Bytes())
	if errors.Is(err, leaflet.ErrNoPoppler) {
		plain(http.StatusServiceUnavailable, "The leaflet preview needs pdftoppm (poppler-utils) on the server.")
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "leaflet preview", "campaign_id", c.ID, "err", err)
		plain(http.StatusInternalServerError, "The leaflet preview could not be made.")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=300") // a campaign's content does not change
	_, _ = w.Write(png)
}

// ---------------------------------------------------------------------------------
// Actions.

// editorCheck vets the content as handleEditorCreate did, before scheduling: a campaign
// written elsewhere (the CLI) is held to the same checks, and nothing broken is sent.
func (s *Server) editorCheck(ctx context.Context) func(*campaign.Campaign) error {
	return func(c *campaign.Campaign) error {
		var topicName string
		if err := s.db.GetContext(ctx, &topicName, `SELECT name FROM topics WHERE id = $1`, c.TopicID); err != nil {
			return err
		}
		chans := c.Channels()
		if slices.Contains(chans, "email") {
			if _, err := s.editorRenderEmail(c, topicName); err != nil {
				return err
			}
		}
		if slices.Contains(chans, "sms") {
			if _, err := email.CompileText(c.Name, "sms", c.SMSText()); err != nil {
				return err
			}
		}
		if slices.Contains(chans, "post") {
			var problems []string
			if err := s.editorCheckLeaflet(c, func(field, msg string) {
				if field == "org" { // not the campaign's to fix; the print run reports it
					s.log.WarnContext(ctx, "leaflets can't print the organisation's details", "problem", msg)
					return
				}
				problems = append(problems, msg)
			}); err != nil {
				return err
			}
			if len(problems) > 0 {
				return fmt.Errorf("%w: %s", campaign.ErrInvalid, strings.Join(problems, " "))
			}
			// Every door of the post audience must print truly (no "?" for a name or
			// an address in a script the leaflet font lacks).
			if err := printrun.NewStore(s.db).CheckDoors(ctx, campaign.NewStore(s.db, s.log), c); err != nil {
				if errors.Is(err, printrun.ErrUnprintable) {
					return fmt.Errorf("%w: %s", campaign.ErrInvalid, err.Error())
				}
				return err
			}
		}
		return nil
	}
}

// handleEditorSchedule schedules the campaign: now, or at a date and time (London).
func (s *Server) handleEditorSchedule(w http.ResponseWriter, r *http.Request) {
	c, ok := s.editorCampaign(w, r)
	if !ok {
		return
	}
	when, raw := r.PostFormValue("when"), strings.TrimSpace(r.PostFormValue("send_at"))
	errs := &editorErrors{}
	var at time.Time
	switch when {
	case "now":
		at = time.Now() // not zero: a campaign paused before its time would keep that time
	case "later":
		if raw == "" {
			errs.add("send_at", "Enter the date and time to send it, like 2026-12-01 09:00")
			break
		}
		t, err := campaign.ParseLocal(raw)
		if err != nil {
			errs.add("send_at", "Enter the date and time as a date and a 24-hour time, like 2026-12-01 09:00")
			break
		}
		if !t.After(time.Now()) {
			errs.add("send_at", "That time has passed: choose a later one, or send it now")
			break
		}
		at = t
	default:
		errs.add("when", "Choose when to send it: now, or at a date and time")
	}
	if !errs.empty() {
		s.showEditor(w, r, c, http.StatusUnprocessableEntity, errs, when, raw)
		return
	}
	if c.State == campaign.Paused {
		started, err := s.editorStarted(r.Context(), c.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if started {
			errs.add("", "It can't be scheduled again: it had started sending when it was paused. Resume it to carry on.")
			s.showEditor(w, r, c, http.StatusConflict, errs, when, raw)
			return
		}
	}
	actx := s.auditCampaign(r, audit.CampaignSched, c.ID, nil)
	err := campaign.NewStore(s.db, s.log).Schedule(actx, c.ID, at, editorActor(r), s.editorCheck(r.Context()))
	var ce *email.ContentError
	switch {
	case err == nil:
		s.log.InfoContext(r.Context(), "campaign scheduled", "campaign_id", c.ID, "by", editorActor(r))
		http.Redirect(w, r, editorURL(c.ID)+"?done=scheduled", http.StatusSeeOther)
	case errors.Is(err, campaign.ErrTransition):
		s.editorRefused(w, r, c.ID, "scheduled", when, raw)
	case errors.Is(err, campaign.ErrInvalid) || errors.As(err, &ce):
		for _, e := range editorJoined(err) {
			_, msg := editorValidateField(e)
			errs.add("", "It can't be scheduled: "+msg)
		}
		s.showEditor(w, r, c, http.StatusUnprocessableEntity, errs, when, raw)
	case errors.Is(err, campaign.ErrNotFound):
		s.editorCampaign(w, r)
	default:
		s.fail(w, r, err)
	}
}

// editorMoves are the actions other than scheduling: what they make the campaign, and
// from which states.
var editorMoves = map[string]struct {
	done, verb, from string
}{
	"pause":  {"paused", "paused", "Only a scheduled or sending campaign can be paused."},
	"resume": {"resumed", "resumed", "Only a paused campaign can be resumed."},
	"cancel": {"cancelled", "cancelled", "A completed or cancelled campaign can't be cancelled."},
}

// handleEditorMove pauses, resumes or cancels the campaign.
func (s *Server) handleEditorMove(w http.ResponseWriter, r *http.Request) {
	c, ok := s.editorCampaign(w, r)
	if !ok {
		return
	}
	action := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	st := campaign.NewStore(s.db, s.log)
	actx := s.auditCampaign(r, "campaign."+action, c.ID, nil)
	var err error
	switch action {
	case "pause":
		err = st.Pause(actx, c.ID, editorActor(r))
	case "resume":
		err = st.Resume(actx, c.ID, editorActor(r))
	case "cancel":
		if r.PostFormValue("confirm") != "yes" {
			errs := &editorErrors{}
			errs.add("cancel_confirm", "Tick the box to confirm you want to cancel it")
			s.showEditor(w, r, c, http.StatusUnprocessableEntity, errs, "", "")
			return
		}
		err = st.Cancel(actx, c.ID, editorActor(r))
	default:
		http.NotFound(w, r)
		return
	}
	switch {
	case err == nil:
		s.log.InfoContext(r.Context(), "campaign "+editorMoves[action].done, "campaign_id", c.ID, "by", editorActor(r))
		http.Redirect(w, r, editorURL(c.ID)+"?done="+editorMoves[action].done, http.StatusSeeOther)
	case errors.Is(err, campaign.ErrTransition):
		s.editorRefused(w, r, c.ID, action, "", "")
	case errors.Is(err, campaign.ErrNotFound):
		s.editorCampaign(w, r)
	default:
		s.fail(w, r, err)
	}
}

// editorRefused shows the campaign again (as it is now) with why the action is not
// allowed in its state: 409.
func (s *Server) editorRefused(w http.ResponseWriter, r *http.Request, id int64, action, when, sendAt string) {
	c, err := campaign.NewStore(s.db, s.log).Get(r.Context(), strconv.FormatInt(id, 10))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	why := "Only a draft, or a paused campaign that had not started sending, can be scheduled."
	verb := "scheduled"
	if m, ok := editorMoves[action]; ok {
		why, verb = m.from, m.verb
	}
	errs := &editorErrors{}
	errs.add("", fmt.Sprintf("It can't be %s: the campaign is %s. %s", verb, strings.ToLower(resultsState(string(c.State))), why))
	s.showEditor(w, r, c, http.StatusConflict, errs, when, sendAt)
}
