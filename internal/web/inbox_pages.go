package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/reply"
	"github.com/crierhq/crier/internal/sms"
	"github.com/crierhq/crier/internal/web/listing"
)

// Limits on what an officer types into the inbox's forms.
const (
	inboxMaxReplyChars   = 1600 // Twilio refuses longer bodies (error 21617)
	inboxMaxOfficerChars = 100
	inboxMaxTagChars     = 50
	inboxMaxUnclear      = 200 // unclear poll answers listed on the poll page
)

// inboxTagSuggestions are offered for tagging a resident's text (any other tag may be typed).
var inboxTagSuggestions = []string{"issue raised", "praise", "needs follow-up"}

// registerInbox adds the officers' inbox pages to mux: a conversation with its forms to
// reply by text, assign and tag, and a campaign's poll results.
func (s *Server) registerInbox(mux *http.ServeMux) {
	officers := []string{auth.Officer}
	mux.HandleFunc("GET /replies/{id}", s.withUser(officers, s.handleInboxConversation))
	mux.HandleFunc("POST /replies/{id}/reply", s.withUser(officers, s.handleInboxReply))
	mux.HandleFunc("POST /replies/{id}/assign", s.withUser(officers, s.handleInboxAssign))
	mux.HandleFunc("POST /replies/{id}/messages/{msg}/tags", s.withUser(officers, s.handleInboxTags))
	mux.HandleFunc("GET /campaigns/{id}/poll", s.withUser(officers, s.handleInboxPoll))
}

// InboxRoutes lists the inbox's officer-only pages (with placeholder ids), for
// authorisation tests.
var InboxRoutes = []string{"/replies/1", "/campaigns/1/poll"}

// inboxConversationView is the conversation page's data.
type inboxConversationView struct {
	ID        int64
	Who       string // the resident's name, or "Unknown number"
	Known     bool   // the number belongs to a resident on file
	Phone     string // masked: the country code and the last three digits
	PhoneEnd  string // the last three digits, for screen readers
	Assigned  string
	Texts     []inboxTextView
	Unread    int  // the resident's texts that were unread until this page was opened
	OptedOut  bool // the resident's latest keyword was STOP
	Sent      *inboxSentNotice
	Officers  []string // the officers' names, suggested for assigning
	Tags      []string // the suggested tags
	Me        string   // the signed-in officer's name ("Assign to me")
	PollLinks []inboxPollLink

	// After a failed form: which field the error is about, and what was typed.
	ErrorField string // "body", "officer" or "tag"
	ErrorText  int64  // the text whose tag form failed
	ErrorInput string // the id of the field the error summary links to
	Body       string
	Officer    string
	Tag        string
}

// inboxTextView is one text as the conversation page shows it.
type inboxTextView struct {
	inbox.Message
	In       bool
	When     string // in Europe/London, with GMT or BST
	ISO      string // for <time datetime>
	Campaign int64  // the campaign it answers, 0 for none
	Flags    []string
	Status   string // outbound: Sending, Sent, Delivered, Failed, ...
	Measure  *sms.Measure
	Segments string // outbound: "1 text", "2 texts (segments)"
}

// inboxSentNotice confirms a reply, with how it was sent.
type inboxSentNotice struct {
	Measure  sms.Measure
	Segments string // "1 text" or "3 texts (segments)"
	Failed   string // the provider has since reported it undelivered: its status and reason
}

type inboxPollLink struct {
	ID   int64
	Name string
}

// inboxPathID parses the {id} path value.
func inboxPathID(r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return id, err == nil && id > 0
}

// inboxNoConversation answers 404 for a conversation that does not exist (or an inbox that
// is not set up).
func (s *Server) inboxNoConversation(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusNotFound, "message.html", page{Title: "Conversation not found", OrgName: s.brand.OrgName,
		Message: "There is no such conversation. Go back to the replies and choose one.", Session: sessionOf(r)})
}

func inboxConversationURL(id int64) string { return "/replies/" + strconv.FormatInt(id, 10) }

// handleInboxConversation shows one resident's texts and marks them read.
func (s *Server) handleInboxConversation(w http.ResponseWriter, r *http.Request) {
	id, ok := inboxPathID(r, "id")
	if !ok || s.app.Inbox == nil {
		s.inboxNoConversation(w, r)
		return
	}
	s.showInboxConversation(w, r, id, http.StatusOK, "", inboxConversationView{})
}

// showInboxConversation renders conversation id with code. A GET (code 200) marks the
// resident's texts read; a form's error (msg, with form's fields filled in) re-renders
// the page and leaves the read state alone.
func (s *Server) showInboxConversation(w http.ResponseWriter, r *http.Request, id int64, code int, msg string, form inboxConversationView) {
	ctx := r.Context()
	conv, msgs, err := s.app.Inbox.Get(ctx, id, code == http.StatusOK)
	if errors.Is(err, inbox.ErrNotFound) {
		s.inboxNoConversation(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess := sessionOf(r)
	v := form
	v.ID, v.Assigned, v.Me, v.Tags = conv.ID, conv.AssignedTo, sess.User.Name, inboxTagSuggestions
	v.Who, v.Known = conv.Name, conv.Name != ""
	if !v.Known {
		v.Who = "Unknown number"
	}
	v.Phone, v.PhoneEnd = inboxMaskPhone(conv.Phone)
	if v.ErrorField != "officer" {
		v.Officer = conv.AssignedTo
	}
	polls := map[int64]*reply.Poll{} // the polls of the campaigns answered, by campaign
	for _, m := range msgs {
		if m.CampaignID == nil {
			continue
		}
		cid := *m.CampaignID
		if _, seen := polls[cid]; seen {
			continue
		}
		c, err := campaign.NewStore(s.db, s.log).Get(ctx, strconv.FormatInt(cid, 10))
		if err != nil && !errors.Is(err, campaign.ErrNotFound) {
			s.fail(w, r, err)
			return
		}
		polls[cid] = nil
		if c != nil && c.Poll != nil {
			polls[cid] = c.Poll
			v.PollLinks = append(v.PollLinks, inboxPollLink{ID: cid, Name: c.Name})
		}
	}
	lastKeyword := ""
	for _, m := range msgs {
		t := inboxTextView{Message: m, In: m.Direction == "in"}
		at := m.At.In(campaign.London)
		t.When, t.ISO = at.Format("Mon 2 Jan 2006, 15:04 MST"), at.Format(time.RFC3339)
		if m.CampaignID != nil {
			t.Campaign = *m.CampaignID
		}
		if t.In {
			if m.ReadAt == nil {
				v.Unread++
			}
			if m.Keyword == "stop" || m.Keyword == "start" {
				lastKeyword = m.Keyword
			}
			t.Flags = inboxTextFlags(m, polls[t.Campaign])
		} else {
			t.Status = inboxStatusLabel(m.Status, m.StatusReason)
			ms := sms.MeasureText(m.Body)
			t.Measure, t.Segments = &ms, inboxSegmentsLabel(ms.Segments)
		}
		v.Texts = append(v.Texts, t)
	}
	v.OptedOut = lastKeyword == "stop"
	switch v.ErrorField {
	case "body":
		v.ErrorInput = "reply-body"
		if v.OptedOut {
			v.ErrorInput = "reply-optout"
		}
	case "officer":
		v.ErrorInput = "assign-officer"
	case "tag":
		v.ErrorInput = "tag-" + strconv.FormatInt(v.ErrorText, 10)
	}
	if sent, err := strconv.ParseInt(r.URL.Query().Get("sent"), 10, 64); err == nil && code == http.StatusOK {
		for _, t := range v.Texts {
			if t.ID == sent && !t.In {
				v.Sent = &inboxSentNotice{Measure: *t.Measure, Segments: t.Segments}
				if t.Message.Status == "failed" {
					v.Sent.Failed = t.Status
				}
			}
		}
	}
	if users, err := s.app.Auth.List(ctx); err == nil {
		for _, u := range users {
			if !u.Disabled && u.Can(auth.Officer) {
				v.Officers = append(v.Officers, u.Name)
			}
		}
	} else {
		s.log.WarnContext(ctx, "list officers for the assign form", "err", err) // the form works without suggestions
	}
	title := "Conversation with " + v.Who
	if !v.Known {
		title = "Conversation with an unknown number"
	}
	if msg != "" {
		title = "Error: " + title
	}
	s.render(w, code, "conversation.html", page{Title: title, OrgName: s.brand.OrgName, Session: sess, Error: msg, Data: v})
}

// inboxTextFlags says what Crier made of a resident's text.
func inboxTextFlags(m inbox.Message, p *reply.Poll) []string {
	var flags []string
	switch m.Keyword {
	case "stop":
		flags = append(flags, "STOP: no more texts go to this number until they text START")
	case "start":
		flags = append(flags, "START: texts to this number can go again")
	case "help":
		flags = append(flags, "HELP: asked what these texts are")
	}
	if m.LikelyOptOut {
		flags = append(flags, "Likely opt-out — check and record it")
	}
	if m.PollAnswer != "" {
		answer := m.PollAnswer
		if p != nil {
			for _, o := range p.Options {
				if strings.EqualFold(o.Key, m.PollAnswer) && o.Label != "" {
					answer += " (" + o.Label + ")"
				}
			}
		}
		flags = append(flags, "Poll answer: "+answer)
	}
	if m.PollUnclear {
		flags = append(flags, "Unclear poll answer: not counted")
	}
	return flags
}

// inboxStatusLabel says where an officer's reply has got to.
func inboxStatusLabel(status, reason string) string {
	var s string
	switch status {
	case "sending":
		s = "Sending"
	case "sent":
		s = "Sent, not yet delivered"
	case "delivered":
		s = "Delivered"
	case "failed":
		s = "Failed"
	case "unknown":
		s = "Not known: the provider never said"
	default:
		s = status
	}
	if reason != "" {
		s += ": " + reason
	}
	return s
}

func inboxSegmentsLabel(n int) string {
	if n == 1 {
		return "1 text"
	}
	return strconv.Itoa(n) + " texts (segments)"
}

// inboxMaskPhone hides all but a number's country code and last three digits: officers
// tell residents apart by name, and a screen shared or photographed shows no number.
func inboxMaskPhone(phone string) (masked, end string) {
	digits := []rune(phone)
	if len(digits) <= 6 {
		return phone, phone
	}
	end = string(digits[len(digits)-3:])
	prefix, hidden := "", len(digits)-3
	var num phonenumbers.PhoneNumber
	if strings.HasPrefix(phone, "+") && phonenumbers.ParseToNumber(phone, "", &num) == nil {
		cc := "+" + strconv.Itoa(int(num.GetCountryCode()))
		if strings.HasPrefix(phone, cc) {
			prefix, hidden = cc+" ", hidden-len(cc)
		}
	}
	return prefix + strings.Repeat("•", max(hidden, 1)) + end, end
}

// handleInboxReply texts an officer's reply to the resident.
func (s *Server) handleInboxReply(w http.ResponseWriter, r *http.Request) {
	id, ok := inboxPathID(r, "id")
	if !ok || s.app.Inbox == nil {
		s.inboxNoConversation(w, r)
		return
	}
	body := strings.TrimSpace(r.PostFormValue("body"))
	form := inboxConversationView{ErrorField: "body", Body: body}
	if body == "" {
		s.showInboxConversation(w, r, id, http.StatusUnprocessableEntity, "Write the reply to send.", form)
		return
	}
	if n := sms.MeasureText(body).Characters; n > inboxMaxReplyChars {
		s.showInboxConversation(w, r, id, http.StatusUnprocessableEntity,
			fmt.Sprintf("The reply is %d characters; a text can be at most %d. Shorten it.", n, inboxMaxReplyChars), form)
		return
	}
	m, err := s.app.Inbox.Reply(r.Context(), id, sessionOf(r).User.Name, body)
	switch {
	case err == nil:
		http.Redirect(w, r, inboxConversationURL(id)+"?sent="+strconv.FormatInt(m.ID, 10)+"#sent", http.StatusSeeOther)
	case errors.Is(err, inbox.ErrNotFound):
		s.inboxNoConversation(w, r)
	case errors.Is(err, inbox.ErrOptedOut):
		s.showInboxConversation(w, r, id, http.StatusUnprocessableEntity,
			"Not sent: this resident texted STOP, so no texts can go to them until they text START. Contact them another way if you must.", form)
	case inboxNoSMSProvider(err):
		s.showInboxConversation(w, r, id, http.StatusUnprocessableEntity,
			"Not sent: no SMS provider is set up, so replies can't be texted. Ask your administrator to set up Twilio.", form)
	case m.ID != 0 && m.Status == "failed":
		// Recorded as failed (the page lists it with the reason); the text stays in the box to try again.
		s.log.WarnContext(r.Context(), "reply not sent", "conversation_id", id, "message_id", m.ID, "reason", m.StatusReason)
		s.showInboxConversation(w, r, id, http.StatusUnprocessableEntity,
			"Not sent: the SMS provider refused it ("+m.StatusReason+"). Try again later, or contact the resident another way.", form)
	default:
		s.fail(w, r, err)
	}
}

// inboxNoSMSProvider reports inbox.Store.Reply's error for a store without a sender. The inbox
// has no sentinel error for it, so its message is matched (the tests pin it).
func inboxNoSMSProvider(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no SMS provider is configured")
}

// handleInboxAssign gives the conversation to an officer: the one named, the
// signed-in officer ("Assign to me"), or nobody.
func (s *Server) handleInboxAssign(w http.ResponseWriter, r *http.Request) {
	id, ok := inboxPathID(r, "id")
	if !ok || s.app.Inbox == nil {
		s.inboxNoConversation(w, r)
		return
	}
	officer := strings.Join(strings.Fields(r.PostFormValue("officer")), " ")
	switch r.PostFormValue("action") {
	case "me":
		officer = sessionOf(r).User.Name
	case "nobody":
		officer = ""
	default:
		if officer == "" {
			s.showInboxConversation(w, r, id, http.StatusUnprocessableEntity,
				"Write the name of the officer to assign it to, or choose “Assign to me”.", inboxConversationView{ErrorField: "officer"})
			return
		}
	}
	if utf8.RuneCountInString(officer) > inboxMaxOfficerChars {
		s.showInboxConversation(w, r, id, http.StatusUnprocessableEntity,
			fmt.Sprintf("An officer's name can be at most %d characters.", inboxMaxOfficerChars),
			inboxConversationView{ErrorField: "officer", Officer: officer})
		return
	}
	err := s.app.Inbox.Assign(r.Context(), id, officer)
	if errors.Is(err, inbox.ErrNotFound) {
		s.inboxNoConversation(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, inboxConversationURL(id)+"#assign", http.StatusSeeOther)
}

// handleInboxTags adds a tag to one of the resident's texts, or (remove=1) takes one off.
func (s *Server) handleInboxTags(w http.ResponseWriter, r *http.Request) {
	id, ok := inboxPathID(r, "id")
	msgID, okMsg := inboxPathID(r, "msg")
	if !ok || !okMsg || s.app.Inbox == nil {
		s.inboxNoConversation(w, r)
		return
	}
	// The text must be one of this conversation's, and the resident's.
	_, msgs, err := s.app.Inbox.Get(r.Context(), id, false)
	if errors.Is(err, inbox.ErrNotFound) {
		s.inboxNoConversation(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	found := false
	for _, m := range msgs {
		found = found || (m.ID == msgID && m.Direction == "in")
	}
	if !found {
		s.render(w, http.StatusNotFound, "message.html", page{Title: "Text not found", OrgName: s.brand.OrgName,
			Message: "There is no such text from the resident in this conversation.", Session: sessionOf(r)})
		return
	}
	tag := strings.Join(strings.Fields(r.PostFormValue("tag")), " ")
	remove := r.PostFormValue("remove") == "1"
	form := inboxConversationView{ErrorField: "tag", ErrorText: msgID, Tag: tag}
	switch {
	case tag == "":
		s.showInboxConversation(w, r, id, http.StatusUnprocessableEntity,
			"Write a tag, such as “needs follow-up”.", form)
		return
	case utf8.RuneCountInString(tag) > inboxMaxTagChars:
		s.showInboxConversation(w, r, id, http.StatusUnprocessableEntity,
			fmt.Sprintf("A tag can be at most %d characters.", inboxMaxTagChars), form)
		return
	}
	if _, err := s.app.Inbox.Tag(r.Context(), msgID, []string{tag}, remove); err != nil {
		if errors.Is(err, inbox.ErrNotFound) {
			s.inboxNoConversation(w, r)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, inboxConversationURL(id)+"#text-"+strconv.FormatInt(msgID, 10), http.StatusSeeOther)
}

// Poll chart geometry, in the SVG's own units (it scales to the page's width).
const (
	inboxChartWidth  = 320
	inboxChartBarMax = 200 // room is left on the right for "9999 (100%)"
	inboxChartRow    = 52
	inboxChartLabel  = 34 // characters of an option's label shown in the chart (the table has it all)
)

// inboxPollView is the poll page's data.
type inboxPollView struct {
	CampaignID   int64
	CampaignName string
	Question     string
	Rows         []inboxPollRow
	Total        int
	Unclear      int
	Width        int // the chart's width
	Height       int // the chart's height
	BarMax       int // the longest bar's length
	Desc         string
	UnclearConvs []inboxUnclear
	More         bool // more unclear answers than listed
}

type inboxPollRow struct {
	Key, Label, ChartLabel string
	Count, Percent         int
	LabelY, BarY, BarW     int
	CountX, CountY         int
}

// inboxUnclear is a resident whose answer to the poll was not clear.
type inboxUnclear struct {
	ID    int64 // the conversation
	Name  string
	Phone string
	Body  string
	Who   string
}

// handleInboxPoll shows a campaign's poll results: a bar chart drawn on the server, the same
// numbers in a table, and the residents whose answers were unclear.
func (s *Server) handleInboxPoll(w http.ResponseWriter, r *http.Request) {
	id, ok := inboxPathID(r, "id")
	noPoll := func() {
		s.render(w, http.StatusNotFound, "message.html", page{Title: "No poll here", OrgName: s.brand.OrgName,
			Message: "There is no such campaign, or it did not ask a poll question.", Session: sessionOf(r)})
	}
	if !ok || s.app.Inbox == nil {
		noPoll()
		return
	}
	ctx := r.Context()
	c, err := campaign.NewStore(s.db, s.log).Get(ctx, strconv.FormatInt(id, 10))
	if errors.Is(err, campaign.ErrNotFound) || (err == nil && c.Poll == nil) {
		noPoll()
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.app.Inbox.Poll(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := inboxPollView{CampaignID: id, CampaignName: c.Name, Question: res.Question, Total: res.Total, Unclear: res.Unclear,
		Width: inboxChartWidth, Height: max(len(res.Counts), 1)*inboxChartRow + 8, BarMax: inboxChartBarMax}
	most := 0
	for _, n := range res.Counts {
		most = max(most, n.Count)
	}
	var desc []string
	for i, n := range res.Counts {
		label := n.Label
		if label == "" {
			label = n.Key
		}
		row := inboxPollRow{Key: n.Key, Label: label, ChartLabel: inboxTruncate(label, inboxChartLabel), Count: n.Count}
		if res.Total > 0 {
			row.Percent = (n.Count*100 + res.Total/2) / res.Total
		}
		y := i*inboxChartRow + 4
		row.LabelY, row.BarY = y+18, y+26
		if most > 0 {
			row.BarW = n.Count * inboxChartBarMax / most
		}
		if n.Count > 0 {
			row.BarW = max(row.BarW, 2) // a non-zero count never looks like none
		}
		row.CountX, row.CountY = row.BarW+8, y+42
		v.Rows = append(v.Rows, row)
		desc = append(desc, fmt.Sprintf("%s: %d (%d%%)", label, n.Count, row.Percent))
	}
	v.Desc = strings.Join(desc, "; ") + fmt.Sprintf(". %d clear answers in all.", res.Total)
	if res.Unclear > 0 {
		// The residents counted as unclear in inbox.Poll: an unclear answer and no clear one.
		unclear, err := s.app.Inbox.UnclearAnswers(ctx, id, inboxMaxUnclear+1)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, u := range unclear {
			v.UnclearConvs = append(v.UnclearConvs, inboxUnclear{ID: u.ConversationID, Name: u.Name, Phone: u.Phone, Body: u.Body})
		}
		if len(v.UnclearConvs) > inboxMaxUnclear {
			v.UnclearConvs, v.More = v.UnclearConvs[:inboxMaxUnclear], true
		}
		for i := range v.UnclearConvs {
			u := &v.UnclearConvs[i]
			u.Who = u.Name
			if u.Who == "" {
				_, end := inboxMaskPhone(u.Phone)
				u.Who = "Unknown number ending " + end
			}
		}
	}
	s.render(w, http.StatusOK, "poll.html", page{Title: "Poll results: " + c.Name, OrgName: s.brand.OrgName,
		Session: sessionOf(r), Data: v})
}

// inboxTruncate shortens s to n characters, ending it with "…" when cut.
func inboxTruncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// repliesList is the replies list's query string: sortable by who, campaign, unread
// texts and when the latest text came, filtered by unread, assignment and campaign.
var repliesList = listing.Spec{
	Path: "/replies",
	Columns: []listing.Column{
		{Key: "from", Label: "From"},
		{Key: "campaign", Label: "Campaign"},
		{Key: "unread", Label: "Unread", DescFirst: true},
		{Key: "received", Label: "Received", DescFirst: true},
	},
	Default: "received",
	Filters: []string{"unread", "assigned", "campaign"},
}

// repliesRow is one conversation in the replies list.
type repliesRow struct {
	inbox.Conversation
	Received listing.Stamp
}

// repliesView is replies.html's.
type repliesView struct {
	Rows      []repliesRow
	List      listing.View
	Unread    bool
	Assigned  []listing.Option
	Campaigns []listing.Option
	Empty     bool // no conversations at all yet
}

// handleReplies lists residents' conversations for officers, 50 to a page, the latest
// first unless sorted otherwise.
func (s *Server) handleReplies(w http.ResponseWriter, r *http.Request) {
	st := repliesList.Parse(r.URL.Query())
	v := repliesView{Empty: true}
	if s.app.Inbox == nil {
		v.List = repliesList.View(st, 0, 0)
		s.render(w, http.StatusOK, "replies.html", page{Title: "Replies", OrgName: s.brand.OrgName, Session: sessionOf(r), Data: v})
		return
	}
	ctx := r.Context()
	f := inbox.Filter{Sort: st.Sort, Desc: st.Desc, Limit: st.Limit(), Offset: st.Offset()}
	if st.Get("unread") != "" {
		f.Unread, v.Unread = true, true
		st.Filter.Set("unread", "1")
	}
	assignees, err := s.app.Inbox.Assignees(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.AssignedTo = st.Choose("assigned", append([]string{"-"}, assignees...)...)
	v.Assigned = listing.Options(append([]string{"-"}, assignees...), func(a string) string {
		if a == "-" {
			return "Nobody"
		}
		return a
	}, f.AssignedTo)
	answered, err := s.app.Inbox.AnsweredCampaigns(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids, names := make([]string, len(answered)), map[string]string{}
	for i, c := range answered {
		ids[i] = strconv.FormatInt(c.ID, 10)
		names[ids[i]] = c.Name
	}
	chosen := st.Choose("campaign", ids...)
	f.CampaignID, _ = strconv.ParseInt(chosen, 10, 64)
	v.Campaigns = listing.Options(ids, func(id string) string { return names[id] }, chosen)
	total, err := s.app.Inbox.Count(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	convs, err := s.app.Inbox.List(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Empty = total == 0 && len(st.Filter) == 0
	v.List = repliesList.View(st, total, len(convs))
	for _, c := range convs {
		v.Rows = append(v.Rows, repliesRow{Conversation: c, Received: listing.StampOf(&c.LastMessageAt, campaign.London)})
	}
	s.render(w, http.StatusOK, "replies.html", page{Title: "Replies", OrgName: s.brand.OrgName, Session: sessionOf(r), Data: v})
}
