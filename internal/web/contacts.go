package web

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lib/pq"
	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
)

// The officers' contact pages: search, one resident's record, and CSV import. Everything
// here is personal data: it is shown to officers only, never logged (logs carry ids and
// counts), and the pages are not cached.

const (
	// importPath is where officers upload a contacts CSV. secure() must let this route's
	// body grow to maxImportBytes (every other route is capped at 64 KB).
	importPath = "/contacts/import"
	// maxImportBytes bounds an uploaded CSV (a million rows is about 120 MB); bigger files
	// go through `crier contacts import`.
	maxImportBytes = 200 << 20
	// importTimeout bounds one import. It runs on even if the officer's browser goes away,
	// so that an upload ends all-or-nothing and shows up under "Recent imports".
	importTimeout = 30 * time.Minute
	// importFormMemory is how much of an upload's form is kept in memory while it is read.
	importFormMemory = 1 << 20

	contactsPerPage     = 50
	contactSearchWords  = 5
	contactsMaxPage     = 10000
	contactHistoryLimit = 200 // messages and texts shown on a contact's page
)

// registerContacts adds the officers' contact pages to mux.
func (s *Server) registerContacts(mux *http.ServeMux) {
	officers := []string{auth.Officer}
	mux.HandleFunc("GET /contacts", s.withUser(officers, s.handleContacts))
	mux.HandleFunc("GET /contacts/{id}", s.withUser(officers, s.handleContact))
	mux.HandleFunc("GET "+importPath, s.withUser(officers, s.handleImportForm))
	mux.HandleFunc("POST "+importPath, s.importLimit(s.withUser(officers, s.handleImport)))
	mux.HandleFunc("GET "+importPath+"/{job}", s.withUser(officers, s.handleImportJob))
	mux.HandleFunc("GET "+importPath+"/{job}/live", s.importLiveAuth(s.withUser(officers, s.handleImportJobLive)))
}

// contactsNoStore marks a response holding personal data: no shared or disk cache
// keeps it.
func contactsNoStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "private, no-store")
}

// contactTime is a time shown to officers: as written on the page, and machine-readable.
type contactTime struct {
	ISO  string // RFC 3339, for <time datetime>
	Text string // "2 Jul 2025 14:05", Europe/London
}

func contactTimeOf(t time.Time) contactTime {
	if t.IsZero() {
		return contactTime{}
	}
	l := t.In(campaign.London)
	return contactTime{ISO: l.Format(time.RFC3339), Text: l.Format("2 Jan 2006 15:04")}
}

// --- Search -----------------------------------------------------------------------------

// contactChannel is one way a contact can be reached, as listed in search results.
type contactChannel struct {
	Label  string // Email, Mobile, Landline, Phone, Post
	Status string // '' when active; otherwise bounced, invalid, opted out
}

type contactHit struct {
	ID        int64  `db:"id"`
	FirstName string `db:"first_name"`
	LastName  string `db:"last_name"`
	Ward      string `db:"ward"`
	Channels  []contactChannel
}

// Name is how a contact is named on the pages.
func (h contactHit) Name() string { return contactName(h.FirstName, h.LastName, h.ID) }

func contactName(first, last string, id int64) string {
	if n := strings.TrimSpace(first + " " + last); n != "" {
		return n
	}
	return "Contact " + strconv.FormatInt(id, 10)
}

// contactSearch is an officer's query, read as one kind of search.
type contactSearch struct {
	Query  string
	Kind   string // "", name, email, phone, postcode
	Notice string // why the query can't find anybody as typed
	where  string // SQL condition on contacts c, with $1... placeholders
	args   []any
	order  string
}

var (
	contactPhoneChars     = regexp.MustCompile(`^[0-9+()./\- ]+$`)
	contactPostcodePrefix = regexp.MustCompile(`^[A-Z]{1,2}[0-9][0-9A-Z]?( [0-9])?$`)
	contactSpaces         = regexp.MustCompile(`\s+`)
)

// parseContactQuery decides what q is: an email address (or its start), a phone number,
// a postcode (whole, district "SW2" or sector "SW2 1"), or words of a name. Every kind
// but names is looked up through an index (names have none yet: a trigram index on
// them would make that search indexed too). The SQL is fixed text; q only ever reaches
// the database as a parameter.
func parseContactQuery(q string) contactSearch {
	q = strings.TrimSpace(contactSpaces.ReplaceAllString(q, " "))
	if utf8.RuneCountInString(q) > 100 {
		q = string([]rune(q)[:100])
	}
	s := contactSearch{Query: q, order: "lower(c.last_name), lower(c.first_name), c.id"}
	digits := strings.IndexFunc(q, unicode.IsDigit) >= 0
	switch {
	case q == "":
		s.where, s.order = "true", "c.id DESC"
	case strings.Contains(q, "@"):
		// The email index is on lower(value) in the "C" collation; a prefix LIKE uses it.
		s.Kind = "email"
		s.where = `c.id IN (SELECT cp.contact_id FROM contact_points cp
			WHERE cp.kind = 'email' AND lower(cp.value) LIKE lower($1::text COLLATE "C") || '%')`
		s.args = []any{contactsLikeEscape(q)}
	case digits && contactPhoneChars.MatchString(q):
		s.Kind = "phone"
		p, err := contact.NormalizePhone(q, "GB")
		if err != nil {
			s.Notice = "Type the whole phone number to find who has it: " + err.Error() + "."
			s.where = "false"
			break
		}
		s.where = `c.id IN (SELECT cp.contact_id FROM contact_points cp WHERE cp.kind = 'phone' AND cp.value = $1)`
		s.args = []any{p.E164}
	case digits:
		s.Kind = "postcode"
		if pc, err := contact.NormalizePostcode(q); err == nil {
			s.where = `c.household_id IN (SELECT h.id FROM addresses a JOIN households h ON h.address_id = a.id
				WHERE a.postcode = $1)`
			s.args = []any{pc.Code}
			break
		}
		up := strings.ToUpper(q)
		if !contactPostcodePrefix.MatchString(up) {
			s.Notice = fmt.Sprintf("Search by name, email address, phone number or postcode: “%s” is none of these. A postcode can be whole (SW2 1RW), a district (SW2) or a sector (SW2 1).", q)
			s.where = "false"
			break
		}
		if !strings.Contains(up, " ") {
			up += " " // a district: "SW2" must not find SW20
		}
		s.where = `c.household_id IN (SELECT h.id FROM addresses a JOIN households h ON h.address_id = a.id
			WHERE a.postcode LIKE $1)`
		s.args = []any{up + "%"}
	default:
		// Every word must begin a word of the first name or surname ("ada love" finds Ada
		// Lovelace; "jones" finds Smith-Jones).
		s.Kind = "name"
		var conds []string
		words := strings.Fields(q)
		for i, w := range words[:min(len(words), contactSearchWords)] {
			conds = append(conds, fmt.Sprintf(
				`(' ' || lower(c.first_name) || ' ' || lower(translate(c.last_name, '-', ' '))) LIKE '%% ' || lower($%d) || '%%'`, i+1))
			s.args = append(s.args, contactsLikeEscape(w))
		}
		s.where = strings.Join(conds, " AND ")
	}
	return s
}

// contactsLikeEscape makes s match itself literally in a LIKE pattern (backslash is the
// escape character).
func contactsLikeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// searchContacts returns one page of contacts and whether there is another.
func (s *Server) searchContacts(ctx context.Context, cs contactSearch, pageNo int) ([]contactHit, bool, error) {
	n := len(cs.args)
	q := fmt.Sprintf(`SELECT c.id, c.first_name, c.last_name, c.ward FROM contacts c
		WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d`, cs.where, cs.order, n+1, n+2)
	args := append(slices.Clone(cs.args), contactsPerPage+1, (pageNo-1)*contactsPerPage)
	var hits []contactHit
	if err := s.db.SelectContext(ctx, &hits, q, args...); err != nil {
		return nil, false, fmt.Errorf("search contacts: %w", err)
	}
	more := len(hits) > contactsPerPage
	hits = hits[:min(len(hits), contactsPerPage)]
	if len(hits) == 0 {
		return hits, more, nil
	}
	ids := make([]int64, len(hits))
	at := make(map[int64]int, len(hits))
	for i, h := range hits {
		ids[i], at[h.ID] = h.ID, i
	}
	var pts []struct {
		ContactID int64   `db:"contact_id"`
		Kind      string  `db:"kind"`
		PhoneType *string `db:"phone_type"`
		Status    string  `db:"status"`
	}
	if err := s.db.SelectContext(ctx, &pts, `SELECT contact_id, kind, phone_type, status FROM contact_points
		WHERE contact_id = ANY($1)
		ORDER BY contact_id, CASE kind WHEN 'email' THEN 1 WHEN 'phone' THEN 2 ELSE 3 END, phone_type = 'mobile' DESC, id`, pq.Array(ids)); err != nil {
		return nil, false, fmt.Errorf("search contacts: channels: %w", err)
	}
	for _, p := range pts {
		h := &hits[at[p.ContactID]]
		h.Channels = append(h.Channels, contactChannel{Label: contactPointLabel(p.Kind, p.PhoneType), Status: contactStatusLabel(p.Status)})
	}
	return hits, more, nil
}

func contactPointLabel(kind string, phoneType *string) string {
	switch kind {
	case "email":
		return "Email"
	case "postal":
		return "Post"
	}
	if phoneType != nil {
		switch *phoneType {
		case "mobile":
			return "Mobile"
		case "landline":
			return "Landline"
		}
	}
	return "Phone"
}

// contactStatusLabel is a contact point's status in words; empty for active.
func contactStatusLabel(status string) string {
	if status == "active" {
		return ""
	}
	return strings.ReplaceAll(status, "_", " ")
}

type contactsData struct {
	Search   contactSearch
	Hits     []contactHit
	Page     int
	PrevURL  string
	NextURL  string
	FirstRow int
	LastRow  int
}

// handleContacts searches contacts by name, email, phone or postcode (GET /contacts?q=).
func (s *Server) handleContacts(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	cs := parseContactQuery(r.URL.Query().Get("q"))
	pageNo, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || pageNo < 1 {
		pageNo = 1
	}
	pageNo = min(pageNo, contactsMaxPage)
	hits, more, err := s.searchContacts(r.Context(), cs, pageNo)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := contactsData{Search: cs, Hits: hits, Page: pageNo}
	if len(hits) > 0 {
		d.FirstRow = (pageNo-1)*contactsPerPage + 1
		d.LastRow = d.FirstRow + len(hits) - 1
	}
	link := func(p int) string {
		v := url.Values{}
		if cs.Query != "" {
			v.Set("q", cs.Query)
		}
		if p > 1 {
			v.Set("page", strconv.Itoa(p))
		}
		if len(v) == 0 {
			return "/contacts"
		}
		return "/contacts?" + v.Encode()
	}
	if pageNo > 1 {
		d.PrevURL = link(pageNo - 1)
	}
	if more && pageNo < contactsMaxPage {
		d.NextURL = link(pageNo + 1)
	}
	title := "Contacts"
	if cs.Query != "" {
		title = "Contacts matching “" + cs.Query + "”"
	}
	s.render(w, http.StatusOK, "contacts.html", page{Title: title, OrgName: s.brand.OrgName, Session: sessionOf(r), Data: d})
}

// --- One contact --------------------------------------------------------------------------

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
	if c.HouseholdID != nil {
		var a contactAddress
		err := s.db.GetContext(ctx, &a, `SELECT a.flat, a.house_number, a.street, a.town, a.postcode
			FROM households h JOIN addresses a ON a.id = h.address_id WHERE h.id = $1`, *c.HouseholdID)
		if err != nil {
			return nil, fmt.Errorf("contact address: %w", err)
		}
		d.Address = a.String()
	}

	var pts []struct {
		ID           int64   `db:"id"`
		Kind         string  `db:"kind"`
		Value        string  `db:"value"`
		PhoneType    *string `db:"phone_type"`
		Fictional    bool    `db:"fictional"`
		Status       string  `db:"status"`
		StatusReason string  `db:"status_reason"`
		contactAddress
		DeliveryNotes string `db:"delivery_notes"`
		DoNotDeliver  bool   `db:"do_not_deliver"`
	}
	err := s.db.SelectContext(ctx, &pts, `
		SELECT cp.id, cp.kind, cp.value, cp.phone_type, cp.fictional, cp.status, cp.status_reason,
		       coalesce(a.flat, '') AS flat, coalesce(a.house_number, '') AS house_number, coalesce(a.street, '') AS street,
		       coalesce(a.town, '') AS town, coalesce(a.postcode, '') AS postcode,
		       coalesce(a.delivery_notes, '') AS delivery_notes, coalesce(a.do_not_deliver, false) AS do_not_deliver
		  FROM contact_points cp LEFT JOIN addresses a ON a.id = cp.address_id
		 WHERE cp.contact_id = $1
		 ORDER BY CASE cp.kind WHEN 'email' THEN 1 WHEN 'phone' THEN 2 ELSE 3 END, cp.phone_type = 'mobile' DESC, cp.id`, c.ID)
	if err != nil {
		return nil, fmt.Errorf("contact points: %w", err)
	}
	for _, p := range pts {
		v := contactPointView{ID: p.ID, Kind: p.Kind, Label: contactPointLabel(p.Kind, p.PhoneType), Value: p.Value,
			Status: cmp.Or(contactStatusLabel(p.Status), "active"), StatusReason: p.StatusReason, Fictional: p.Fictional,
			DeliveryNotes: p.DeliveryNotes, DoNotDeliver: p.DoNotDeliver}
		v.Value = contactPointValue(p.Kind, p.Value, p.contactAddress)
		d.Points = append(d.Points, v)
	}

	var consents []struct {
		TopicID    int64     `db:"topic_id"`
		Topic      string    `db:"topic"`
		PointID    int64     `db:"point_id"`
		Kind       string    `db:"kind"`
		Value      string    `db:"value"`
		PhoneType  *string   `db:"phone_type"`
		Status     string    `db:"status"`
		Source     string    `db:"source"`
		RecordedAt time.Time `db:"recorded_at"`
		contactAddress
	}
	err = s.db.SelectContext(ctx, &consents, `
		SELECT coalesce(t.id, 0) AS topic_id, coalesce(t.name, 'Every topic') AS topic, cp.id AS point_id, cp.kind, cp.value, cp.phone_type, c.status,
		       c.source || CASE WHEN c.detail <> '' THEN ' (' || c.detail || ')' ELSE '' END AS source, c.recorded_at,
		       coalesce(a.flat, '') AS flat, coalesce(a.house_number, '') AS house_number, coalesce(a.street, '') AS street,
		       coalesce(a.town, '') AS town, coalesce(a.postcode, '') AS postcode
		  FROM contact_points cp
		  JOIN consents c ON c.contact_point_id = cp.id
		  LEFT JOIN topics t ON t.id = c.topic_id
		  LEFT JOIN addresses a ON a.id = cp.address_id
		 WHERE cp.contact_id = $1
		 ORDER BY t.id IS NOT NULL, t.name, t.id, c.recorded_at, c.id`, c.ID)
	if err != nil {
		return nil, fmt.Errorf("consent history: %w", err)
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
			Channel: contactPointLabel(k.Kind, k.PhoneType) + " " + contactPointValue(k.Kind, k.Value, k.contactAddress),
			Status:  k.Status, Source: k.Source, At: contactTimeOf(k.RecordedAt)})
	}
	for _, p := range latest {
		d.Consents[p.topic].Records[p.record].Current = true
	}

	var msgs []struct {
		Campaign  string    `db:"campaign"`
		Channel   string    `db:"channel"`
		State     string    `db:"state"`
		Reason    string    `db:"reason"`
		At        time.Time `db:"at"`
		Kind      *string   `db:"kind"`
		Value     *string   `db:"value"`
		PhoneType *string   `db:"phone_type"`
		contactAddress
	}
	err = s.db.SelectContext(ctx, &msgs, `
		SELECT cm.name AS campaign, o.channel, o.state, o.reason, coalesce(o.sent_at, o.updated_at) AS at,
		       cp.kind, cp.value, cp.phone_type,
		       coalesce(a.flat, '') AS flat, coalesce(a.house_number, '') AS house_number, coalesce(a.street, '') AS street,
		       coalesce(a.town, '') AS town, coalesce(a.postcode, '') AS postcode
		  FROM outbox o
		  JOIN campaigns cm ON cm.id = o.campaign_id
		  LEFT JOIN contact_points cp ON cp.id = o.contact_point_id
		  LEFT JOIN addresses a ON a.id = cp.address_id
		 WHERE o.contact_id = $1
		 ORDER BY coalesce(o.sent_at, o.updated_at) DESC, o.id DESC
		 LIMIT $2`, c.ID, contactHistoryLimit+1)
	if err != nil {
		return nil, fmt.Errorf("messages sent: %w", err)
	}
	d.MoreMessages = len(msgs) > contactHistoryLimit
	for _, m := range msgs[:min(len(msgs), contactHistoryLimit)] {
		v := contactMessageView{Campaign: m.Campaign, Channel: resultsChannel(m.Channel), State: strings.ReplaceAll(m.State, "_", " "),
			Reason: m.Reason, At: contactTimeOf(m.At)}
		if m.Kind != nil {
			v.To = contactPointValue(*m.Kind, *m.Value, m.contactAddress)
		}
		d.Messages = append(d.Messages, v)
	}

	var texts []struct {
		Direction    string    `db:"direction"`
		Body         string    `db:"body"`
		Campaign     string    `db:"campaign"`
		Keyword      string    `db:"keyword"`
		PollAnswer   string    `db:"poll_answer"`
		LikelyOptOut bool      `db:"likely_opt_out"`
		SentBy       string    `db:"sent_by"`
		At           time.Time `db:"at"`
		Phone        string    `db:"phone"`
	}
	err = s.db.SelectContext(ctx, &texts, `
		SELECT m.direction, m.body, coalesce(cm.name, '') AS campaign, m.keyword, m.poll_answer, m.likely_opt_out,
		       m.sent_by, m.at, cv.phone
		  FROM conversations cv
		  JOIN sms_messages m ON m.conversation_id = cv.id
		  LEFT JOIN campaigns cm ON cm.id = m.campaign_id
		 WHERE cv.contact_id = $1
		 ORDER BY m.at DESC, m.id DESC
		 LIMIT $2`, c.ID, contactHistoryLimit+1)
	if err != nil {
		return nil, fmt.Errorf("texts: %w", err)
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

// contactLanguage names a preferred language ("cy" is "Welsh (cy)").
func contactLanguage(code string) string {
	tag, err := language.Parse(code)
	if err != nil {
		return code
	}
	if name := display.English.Languages().Name(tag); name != "" && !strings.EqualFold(name, code) {
		return name + " (" + code + ")"
	}
	return code
}

// contactPointValue shows a contact point's address: the email address, the phone
// number as people write it, or the postal address.
func contactPointValue(kind, value string, a contactAddress) string {
	switch kind {
	case "phone":
		return contactPhone(value)
	case "postal":
		return a.String()
	}
	return value
}

// contactAddress is a door, as read from addresses.
type contactAddress struct {
	Flat        string `db:"flat"`
	HouseNumber string `db:"house_number"`
	Street      string `db:"street"`
	Town        string `db:"town"`
	Postcode    string `db:"postcode"`
}

func (a contactAddress) String() string {
	var parts []string
	if a.Flat != "" {
		parts = append(parts, a.Flat)
	}
	if line := strings.TrimSpace(a.HouseNumber + " " + a.Street); line != "" {
		parts = append(parts, line)
	}
	for _, p := range []string{a.Town, a.Postcode} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// contactPhone shows an E.164 number the way people write it: UK numbers in national
// form ("07700 900101"), others in international form.
func contactPhone(e164 string) string {
	n, err := phonenumbers.Parse(e164, "GB")
	if err != nil {
		return e164
	}
	if n.GetCountryCode() == 44 {
		return phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}

// --- Import -------------------------------------------------------------------------------

type importAudit struct {
	ID        int64     `db:"id"`
	File      string    `db:"file_name"`
	Actor     string    `db:"actor"`
	Status    string    `db:"status"`
	Rows      int       `db:"rows_total"`
	Rejected  int       `db:"rows_rejected"`
	Created   int       `db:"contacts_created"`
	Updated   int       `db:"contacts_updated"`
	StartedAt time.Time `db:"started_at"`
	Started   contactTime
}

// importReport is how an upload ended: a problem with the whole file (Error, shown at
// the top), every bad row in the CLI's words, or the counts.
type importReport struct {
	Error        string
	Failed       bool // the import broke down (not the file's fault)
	Problems     []string
	ProblemsNote string // "2 problems (invalid rows)"
	Result       *importResult
	Columns      []string
	// Conflicts are the rows that looked like someone else, skipped or imported as new
	// people (by the officer's choice); Changes, on a dry run, what the file would change
	// about residents on record.
	Conflicts     []string
	ConflictsNote string
	Changes       []string
}

// importResult is what the report shows of an import's result: counts, not rows (a
// job's report is kept in import_jobs while its page is).
type importResult struct {
	ImportID          int64
	File              string
	Encoding          contact.Encoding
	DryRun            bool
	Rows              int
	Rejected          int
	ContactsCreated   int
	ContactsUpdated   int
	ConsentsGranted   int
	ConsentsWithdrawn int
	WithdrawalsKept   int
}

type contactImportData struct {
	MaxMB       int
	DryRun      bool
	SkipInvalid bool
	Conflicts   contact.ConflictPolicy // what to do with rows that look like someone else
	Report      importReport           // the form shown again: what was wrong with the file
	Job         *importJobView         // the job page: the import's progress, then its report
	Gone        bool                   // the job page of an import whose progress is no longer known
	Recent      []importAudit
}

// importLimit answers an upload bigger than maxImportBytes before anything reads it (so
// the officer learns the file is too big, not that the form expired), and bounds the
// body of the rest.
func (s *Server) importLimit(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxImportBytes {
			w.Header().Set("Connection", "close")
			s.render(w, http.StatusRequestEntityTooLarge, "message.html", page{Title: "This file is too big", OrgName: s.brand.OrgName,
				Message: fmt.Sprintf("Files of up to %d MB can be imported here. Split the file, or ask your administrator to import it with the crier contacts import command.", maxImportBytes>>20)})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes)
		// Read the upload here, keeping at most importFormMemory of it in memory (the rest
		// goes to a temporary file), rather than in withUser, which keeps up to 32 MB (and
		// about 100 MB of heap while it does). Only for someone signed in: withUser turns
		// anyone else away without reading the body. An error is left for withUser, which
		// meets it again and answers it as for every form.
		var token string
		if c, _ := r.Cookie(sessionCookie); c != nil {
			token = c.Value
		}
		if _, err := s.app.Auth.Peek(r.Context(), token); err == nil {
			_ = r.ParseMultipartForm(importFormMemory)
		}
		next(w, r)
	}
}

func (s *Server) importRecent(ctx context.Context) ([]importAudit, error) {
	var out []importAudit
	err := s.db.SelectContext(ctx, &out, `SELECT id, file_name, actor, status, rows_total, rows_rejected,
		contacts_created, contacts_updated, started_at FROM imports ORDER BY id DESC LIMIT 10`)
	if err != nil {
		return nil, fmt.Errorf("recent imports: %w", err)
	}
	for i := range out {
		out[i].Started = contactTimeOf(out[i].StartedAt)
	}
	return out, nil
}

func (s *Server) importRender(w http.ResponseWriter, r *http.Request, code int, errMsg string, d contactImportData) {
	recent, err := s.importRecent(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Recent = recent
	d.MaxMB = maxImportBytes >> 20
	d.Report.Error = errMsg
	s.render(w, code, "import.html", page{Title: "Import contacts", OrgName: s.brand.OrgName, Session: sessionOf(r),
		Error: errMsg, Data: d})
}

// handleImportForm shows the upload form and the recent imports.
func (s *Server) handleImportForm(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	s.importRender(w, r, http.StatusOK, "", contactImportData{})
}

// handleImport takes an uploaded CSV (multipart field "file"), saves it to a private
// temporary directory, checks that it can be imported at all, and starts importing it
// in the background as `crier contacts import` does; the browser is sent to the job's
// page, which shows the progress and then the report. withUser has already parsed the
// whole multipart body (to read the CSRF token), so the order of the form's fields does
// not matter; the form still puts the token first.
func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	sess := sessionOf(r)
	d := contactImportData{DryRun: r.PostFormValue("dry_run") != "", SkipInvalid: r.PostFormValue("skip_invalid") != ""}
	policy, err := contact.ParseConflictPolicy(r.PostFormValue("conflicts"))
	if err != nil {
		s.importRender(w, r, http.StatusUnprocessableEntity, "Choose what to do with rows that look like someone else.", d)
		return
	}
	d.Conflicts = policy
	file, hdr, err := r.FormFile("file")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.importRender(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is too big: files of up to %d MB can be imported here.", maxImportBytes>>20), d)
			return
		}
		s.importRender(w, r, http.StatusUnprocessableEntity, "Choose a CSV file to import.", d)
		return
	}
	defer file.Close()
	name := importFileName(hdr.Filename)

	dir, err := os.MkdirTemp("", importDirPrefix+"*")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	started := false
	defer func() {
		if !started { // once started, the import removes it when it ends
			os.RemoveAll(dir)
		}
	}()
	// net/http removes its own temporary files when this handler returns, before the
	// import is done with the file: a big upload it already wrote to disk is moved into
	// dir, anything else is copied there.
	path := filepath.Join(dir, "upload.csv")
	moved := false
	if f, ok := file.(*os.File); ok {
		moved = os.Rename(f.Name(), path) == nil
	}
	if !moved {
		if err := importSave(path, file); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if msg, err := importCheck(path, name); err != nil {
		s.fail(w, r, err)
		return
	} else if msg != "" {
		s.importRender(w, r, http.StatusUnprocessableEntity, msg, d)
		return
	}

	job, err := s.imports.start(r.Context(), sess.User.ID, name, dir, d.DryRun, d.SkipInvalid, policy)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	opts := contact.ImportOptions{Path: path, Name: name, DryRun: d.DryRun, SkipInvalid: d.SkipInvalid,
		Conflicts: policy, RejectsPath: filepath.Join(dir, "rejects.csv"), Actor: sess.User.Email, Progress: job.record,
		Recorded: job.recorded}
	started = true
	// The import runs on if the officer's browser goes away, so that an upload ends
	// all-or-nothing and shows up under "Recent imports".
	go s.runImport(context.WithoutCancel(r.Context()), job, dir, opts, sess.User.ID)
	s.log.InfoContext(r.Context(), "contacts import started", "user_id", sess.User.ID, "bytes", hdr.Size,
		"dry_run", d.DryRun, "skip_invalid", d.SkipInvalid)
	http.Redirect(w, r, importPath+"/"+job.id, http.StatusSeeOther)
}

// runImport imports the saved upload for job, records how it ended, and removes dir
// (before the job is marked finished, so a finished job has left nothing behind).
func (s *Server) runImport(ctx context.Context, job *importJob, dir string, opts contact.ImportOptions, userID int64) {
	rep := importReport{Failed: true, Error: opts.Name + " could not be imported because something went wrong on our side, so nothing was imported. Please try again in a few minutes."}
	defer func() {
		if p := recover(); p != nil { // a panic here would take the whole server down
			s.log.ErrorContext(ctx, "contacts import panicked", "user_id", userID, "stack", string(debug.Stack()))
		}
		if err := os.RemoveAll(dir); err != nil {
			s.log.WarnContext(ctx, "remove import upload", "user_id", userID, "err", err)
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := job.finish(fctx, rep); err != nil {
			s.log.ErrorContext(ctx, "record import job outcome", "user_id", userID, "err", err)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, importTimeout)
	defer cancel()
	actx := audit.Within(ctx, audit.Entry{ActorID: &userID, Actor: opts.Actor, Action: audit.ContactsImport, SubjectType: "import"})
	res, err := contact.NewStore(s.db, s.log).Import(actx, opts)
	rep = s.importOutcome(ctx, opts, userID, res, err)
}

// importOutcome turns what Import returned into the officer's report, and logs it (ids
// and counts only).
func (s *Server) importOutcome(ctx context.Context, opts contact.ImportOptions, userID int64, res *contact.ImportResult, err error) importReport {
	name := opts.Name
	var rep importReport
	var inputErr *contact.InputError
	switch {
	case errors.Is(err, contact.ErrRejected):
		rep.Problems, rep.ProblemsNote = importProblems(res.Errors, "invalid")
		s.log.InfoContext(ctx, "contacts import rejected", "import_id", res.ImportID, "user_id", userID,
			"rows", res.Rows, "rejected", res.Rejected, "dry_run", opts.DryRun)
		msg := fmt.Sprintf("%s: %d of %d rows are invalid, so nothing was imported. Fix them and import again", name, res.Rejected, res.Rows)
		switch valid := res.Rows - res.Rejected; valid {
		case 0:
			msg += "."
		case 1:
			msg += ", or choose “Skip invalid rows” to import the valid row."
		default:
			msg += fmt.Sprintf(", or choose “Skip invalid rows” to import the %d valid rows.", valid)
		}
		if slices.ContainsFunc(res.Errors, func(e *contact.InputError) bool { return errors.Is(e, contact.ErrConflict) }) {
			msg += " Rows that look like someone else can also be skipped, or imported as new residents: see “Rows that look like someone else” below."
		}
		rep.Error = msg
		return rep
	case errors.As(err, &inputErr):
		// The file stops being CSV part of the way through: nothing after that can be trusted.
		var errs []*contact.InputError
		var importID int64
		if res != nil {
			errs, importID = res.Errors, res.ImportID
		}
		s.log.InfoContext(ctx, "contacts import rejected: not CSV", "import_id", importID, "user_id", userID, "line", inputErr.Line)
		rep.Problems, rep.ProblemsNote = importProblems(append(slices.Clone(errs), inputErr), "invalid")
		rep.Error = name + " is not valid CSV all the way through, so nothing was imported. Fix the line named below and import again."
		return rep
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		s.log.ErrorContext(ctx, "contacts import timed out", "user_id", userID, "timeout", importTimeout)
		rep.Failed = true
		rep.Error = fmt.Sprintf("Importing %s took longer than %d minutes and was stopped, so nothing was imported. "+
			"Split the file, or ask your administrator to import it with the crier contacts import command.", name, int(importTimeout.Minutes()))
		return rep
	case err != nil:
		s.log.ErrorContext(ctx, "contacts import failed", "user_id", userID, "err", err)
		rep.Failed = true
		rep.Error = name + " could not be imported because something went wrong on our side, so nothing was imported. Please try again in a few minutes."
		return rep
	}
	s.log.InfoContext(ctx, "contacts imported", "import_id", res.ImportID, "user_id", userID, "rows", res.Rows,
		"rejected", res.Rejected, "created", res.ContactsCreated, "updated", res.ContactsUpdated, "dry_run", opts.DryRun,
		"duration", res.Duration)
	rep.Result = &importResult{ImportID: res.ImportID, File: res.File, Encoding: res.Encoding, DryRun: res.DryRun,
		Rows: res.Rows, Rejected: res.Rejected, ContactsCreated: res.ContactsCreated, ContactsUpdated: res.ContactsUpdated,
		ConsentsGranted: res.ConsentsGranted, ConsentsWithdrawn: res.ConsentsWithdrawn, WithdrawalsKept: res.WithdrawalsKept}
	for _, c := range res.Columns {
		rep.Columns = append(rep.Columns, fmt.Sprintf("%s→%s", contact.Shorten(c.Header, 60), contact.Shorten(string(c.Field), 60)))
	}
	if len(res.Errors) > 0 {
		rep.Problems, rep.ProblemsNote = importProblems(res.Errors, "skipped")
	}
	if len(res.Conflicts) > 0 {
		what := "skipped"
		if opts.Conflicts == contact.ConflictsNew {
			what = "imported as new residents, without the other resident’s email or number"
		}
		rep.Conflicts, _ = importProblems(res.Conflicts, "")
		rows, verb := fmt.Sprintf("%d rows", len(rep.Conflicts)), "looked like someone else and were"
		if len(rep.Conflicts) == 1 {
			rows = "1 row"
		}
		if opts.DryRun {
			verb = "look like someone else and would be"
			if len(rep.Conflicts) == 1 {
				verb = "looks like someone else and would be"
			}
		} else if len(rep.Conflicts) == 1 {
			verb = "looked like someone else and was"
		}
		rep.ConflictsNote = fmt.Sprintf("%s %s %s", rows, verb, what)
	}
	for _, c := range res.Changes {
		rep.Changes = append(rep.Changes, contact.Shorten(c.String(), importProblemChars))
	}
	return rep
}

// handleImportJob shows an upload's job page: its progress while it runs (with live.js
// the progress updates itself; without, the page has a Refresh link), then its report.
// A job this server doesn't know (it restarted, or the job ended over an hour ago, or
// it is somebody else's) gets a page saying so, above the recent imports.
func (s *Server) handleImportJob(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	v, err := s.imports.get(r.Context(), r.PathValue("job"), sessionOf(r).User.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if v == nil {
		s.importRender(w, r, http.StatusNotFound, "", contactImportData{Gone: true})
		return
	}
	s.importRender(w, r, http.StatusOK, "", contactImportData{Job: v, DryRun: v.DryRun, SkipInvalid: v.SkipInvalid})
}

// handleImportJobLive is the job page's live part alone, for live.js. A job it doesn't
// know gets the same notice as the page, as 200 with data-live-done, so that live.js
// shows it and stops asking.
func (s *Server) handleImportJobLive(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	name, data := "import-gone", any(nil)
	v, err := s.imports.get(r.Context(), r.PathValue("job"), sessionOf(r).User.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if v != nil {
		name, data = "import-job", *v
	}
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// importLiveAuth answers a progress update whose session has ended with 401, not with
// withUser's redirect to the sign-in page, which live.js would follow and paste into
// the job page. Everything else goes through withUser as usual.
func (s *Server) importLiveAuth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var token string
		if c, _ := r.Cookie(sessionCookie); c != nil {
			token = c.Value
		}
		if _, err := s.app.Auth.Peek(r.Context(), token); errors.Is(err, auth.ErrNoSession) { // a check only: withUser decides on extending
			contactsNoStore(w)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, "Your session has ended. Sign in again to see the import's progress.\n")
			return
		}
		next(w, r)
	}
}

// importProblemChars bounds one problem as the report shows it (and keeps it): a
// problem can quote a cell of up to 64 KB.
const importProblemChars = 300

// importProblems writes the bad rows as `crier contacts import` does: one line per
// problem, "file:line:column (Header): reason", in file order, under a count.
func importProblems(errs []*contact.InputError, word string) ([]string, string) {
	errs = slices.Clone(errs)
	slices.SortStableFunc(errs, func(a, b *contact.InputError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = contact.Shorten(e.Error(), importProblemChars)
	}
	note := fmt.Sprintf("1 problem (%s rows)", word)
	if len(errs) != 1 {
		note = fmt.Sprintf("%d problems (%s rows)", len(errs), word)
	}
	return out, note
}

// importFileName is the file name the browser gave, reduced to a plain base name (it
// names the file in the report, the audit trail and consent sources).
func importFileName(raw string) string {
	if i := strings.LastIndexAny(raw, `/\`); i >= 0 {
		raw = raw[i+1:]
	}
	raw = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, raw)
	raw = strings.TrimSpace(raw)
	if utf8.RuneCountInString(raw) > 100 {
		raw = string([]rune(raw)[:100])
	}
	if raw == "" || raw == "." || raw == ".." {
		return "upload.csv"
	}
	return raw
}

func importSave(path string, src io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("save upload: %w", err)
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return fmt.Errorf("save upload: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save upload: %w", err)
	}
	return nil
}

// importCheck looks at the file's first line before it is imported and returns, in
// words for the officer, what makes the whole file unusable ("" when nothing does): it
// is empty, a workbook rather than CSV, its header is not CSV, two columns hold the same
// field, or no column can reach anybody. (The importer refuses the same files, but its
// messages suggest command-line flags, and it can't tell them apart from failures.)
func importCheck(path, name string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("check upload: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	head, err := br.Peek(8)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("check upload: %w", err)
	}
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0}) {
		return name + " is a spreadsheet workbook, not a CSV file. In your spreadsheet choose Save As, pick “CSV UTF-8 (Comma delimited)” and import that file.", nil
	}
	if bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")) {
		_, _ = br.Discard(3)
	}
	cr := contact.NewCSVReader(name, br) // bounded: the first line may be the whole file
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return name + " is empty. Its first line must name the columns, for example: First name, Surname, Email, Mobile, Street, Postcode.", nil
	}
	var tooLong *contact.InputError
	if errors.As(err, &tooLong) {
		what := fmt.Sprintf("is over %d MB long", contact.MaxRecordBytes>>20)
		if tooLong.Col > 0 {
			what = fmt.Sprintf("has a column name over %d KB long", contact.MaxFieldBytes>>10)
		}
		return fmt.Sprintf("The first line of %s, which names the columns, %s. A stray quote (\") may have joined many lines into one, or this is not a CSV file. Nothing was imported.", name, what), nil
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("The first line of %s, which names the columns, is not valid CSV (line %d, column %d: %v).", name, pe.StartLine, pe.Column, pe.Err), nil
	}
	if err != nil {
		return "", fmt.Errorf("check upload: %w", err)
	}
	for i, h := range header {
		if !utf8.ValidString(h) { // the importer reads such a file as Windows-1252
			if dec, err := charmap.Windows1252.NewDecoder().String(h); err == nil {
				header[i] = dec
			}
		}
	}
	cols, err := contact.MapHeader(header, nil)
	if err != nil {
		seen := map[contact.Field]string{}
		for _, h := range header {
			one, err := contact.MapHeader([]string{h}, nil)
			if err != nil || one[0].Field == contact.FieldIgnore {
				continue
			}
			h = strings.TrimSpace(h)
			if prev, dup := seen[one[0].Field]; dup {
				return fmt.Sprintf("The columns %q and %q of %s would both be read as %s. Rename or remove one of them and import again.",
					prev, h, name, importFieldWords(one[0].Field)), nil
			}
			seen[one[0].Field] = h
		}
		return fmt.Sprintf("The columns of %s can't be read: %v.", name, err), nil
	}
	for _, c := range cols {
		switch c.Field {
		case contact.FieldEmail, contact.FieldMobile, contact.FieldPhone, contact.FieldStreet,
			contact.FieldAddressLine1, contact.FieldAddressLine2, contact.FieldAddressLine3, contact.FieldAddressLine4:
			return "", nil
		}
	}
	return fmt.Sprintf("No column of %s holds an email address, a phone number, a street or an address, so nobody in it could be reached. "+
		"Check the first line: columns are recognised by names such as Email, Mobile, Phone, Address line 1, Street and Postcode.", name), nil
}

// importFieldWords names a field for officers.
func importFieldWords(f contact.Field) string {
	if a, ok := strings.CutPrefix(string(f), string(contact.FieldAttr)); ok {
		return "the extra detail “" + a + "”"
	}
	return strings.ReplaceAll(string(f), "_", " ")
}
