package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/crierhq/crier/internal/apitoken"
	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/rights"
	"github.com/crierhq/crier/internal/suppression"
)

// contactSummary is a contact as lists show it: who, and how they can be reached (not
// the addresses and numbers themselves: GET /contacts/{id} has those).
type contactSummary struct {
	ID        int64          `json:"id"`
	FirstName string         `json:"first_name"`
	LastName  string         `json:"last_name"`
	Ward      string         `json:"ward"`
	CreatedAt time.Time      `json:"created_at"`
	Channels  []channelState `json:"channels"`
}

type channelState struct {
	Kind      string  `json:"kind"`
	PhoneType *string `json:"phone_type"`
	Status    string  `json:"status"`
}

// handleContacts lists contacts, newest first, a page at a time; ?email= or ?phone=
// finds the one holding that address or number (normalised as imports are).
func (a *API) handleContacts(w http.ResponseWriter, r *http.Request, _ *apitoken.Token) {
	limit, offset, ok := page(w, r, 100, 1000)
	if !ok {
		return
	}
	q := r.URL.Query()
	st := contact.NewStore(a.db, a.log)
	if email, phone := q.Get("email"), q.Get("phone"); email != "" || phone != "" {
		if email != "" && phone != "" {
			problem(w, http.StatusBadRequest, typeBadRequest, "Give email or phone, not both.")
			return
		}
		id, err := rights.NewStore(a.db, nil, a.log).Find(r.Context(), rights.Lookup{Email: email, Phone: phone, Region: a.region})
		list := []contactSummary{}
		switch {
		case errors.Is(err, contact.ErrInvalid):
			field := "email"
			if phone != "" {
				field = "phone"
			}
			problem(w, http.StatusBadRequest, typeBadRequest, "The filter can't be read.", FieldError{Field: field, Detail: err.Error()})
			return
		case errors.Is(err, rights.ErrNotFound):
		case err != nil:
			a.fail(w, r, err)
			return
		default:
			c, err := st.Get(r.Context(), id)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			pts, err := st.Points(r.Context(), id, "general")
			if err != nil {
				a.fail(w, r, err)
				return
			}
			s := contactSummary{ID: c.ID, FirstName: c.FirstName, LastName: c.LastName, Ward: c.Ward, CreatedAt: c.CreatedAt, Channels: []channelState{}}
			for _, p := range pts {
				s.Channels = append(s.Channels, channelState{Kind: p.Kind, PhoneType: p.PhoneType, Status: p.Status})
			}
			list = append(list, s)
		}
		writeJSON(w, http.StatusOK, map[string]any{"contacts": list, "total": len(list), "limit": limit, "offset": 0})
		return
	}
	hits, total, err := st.Search(r.Context(), contact.ParseSearch(""), limit, offset)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list := make([]contactSummary, len(hits))
	for i, h := range hits {
		list[i] = contactSummary{ID: h.ID, FirstName: h.FirstName, LastName: h.LastName, Ward: h.Ward, CreatedAt: h.CreatedAt, Channels: []channelState{}}
		for _, p := range h.Points {
			list[i].Channels = append(list[i].Channels, channelState{Kind: p.Kind, PhoneType: p.PhoneType, Status: p.Status})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": list, "total": total, "limit": limit, "offset": offset})
}

// contactOut is one contact with its contact points and their consent for a topic.
type contactOut struct {
	ID                 int64           `json:"id"`
	FirstName          string          `json:"first_name"`
	LastName           string          `json:"last_name"`
	PreferredLanguage  string          `json:"preferred_language"`
	LargePrint         bool            `json:"large_print"`
	Ward               string          `json:"ward"`
	HouseholdID        *int64          `json:"household_id"`
	Tags               []string        `json:"tags"`
	AccessibilityNeeds []string        `json:"accessibility_needs"`
	Attributes         json.RawMessage `json:"attributes"`
	CreatedAt          time.Time       `json:"created_at"`
	UpdatedAt          time.Time       `json:"updated_at"`
	Topic              string          `json:"topic"`
	Points             []pointOut      `json:"contact_points"`
}

type pointOut struct {
	ID        int64   `json:"id"`
	Kind      string  `json:"kind"`
	Value     string  `json:"value"`
	PhoneType *string `json:"phone_type"`
	Status    string  `json:"status"`
	Consent   string  `json:"consent"`
}

// handleContact shows one contact; ?topic= says whose consent to show (default general).
func (a *API) handleContact(w http.ResponseWriter, r *http.Request, _ *apitoken.Token) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	topic := r.URL.Query().Get("topic")
	if topic == "" {
		topic = "general"
	}
	st := contact.NewStore(a.db, a.log)
	c, err := st.Get(r.Context(), id)
	if errors.Is(err, contact.ErrNotFound) {
		problem(w, http.StatusNotFound, typeNotFound, fmt.Sprintf("There is no contact %d (it may have been erased).", id))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	pts, err := st.Points(r.Context(), id, topic)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := contactOut{ID: c.ID, FirstName: c.FirstName, LastName: c.LastName, PreferredLanguage: c.PreferredLanguage,
		LargePrint: c.LargePrint, Ward: c.Ward, HouseholdID: c.HouseholdID, Tags: nonNil(c.Tags),
		AccessibilityNeeds: nonNil(c.AccessibilityNeeds), Attributes: json.RawMessage(c.AttributesJSON),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Topic: topic, Points: []pointOut{}}
	if len(out.Attributes) == 0 {
		out.Attributes = json.RawMessage("{}")
	}
	for _, p := range pts {
		out.Points = append(out.Points, pointOut{ID: p.ID, Kind: p.Kind, Value: p.Value, PhoneType: p.PhoneType, Status: p.Status, Consent: p.Consent})
	}
	writeJSON(w, http.StatusOK, out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// contactIn is one contact pushed: the CSV import's fields, by the same names. A field
// left out (or empty) changes nothing about a resident on record, as an empty cell.
type contactIn struct {
	FirstName     string            `json:"first_name"`
	LastName      string            `json:"last_name"`
	Email         string            `json:"email"`
	Mobile        string            `json:"mobile"`
	Phone         string            `json:"phone"`
	Flat          string            `json:"flat"`
	HouseNumber   string            `json:"house_number"`
	Street        string            `json:"street"`
	Town          string            `json:"town"`
	Postcode      string            `json:"postcode"`
	Ward          string            `json:"ward"`
	UPRN          string            `json:"uprn"`
	Language      string            `json:"language"`
	LargePrint    *bool             `json:"large_print"`
	Accessibility []string          `json:"accessibility"`
	EmailConsent  *bool             `json:"email_consent"`
	SMSConsent    *bool             `json:"sms_consent"`
	PostConsent   *bool             `json:"post_consent"`
	Tags          []string          `json:"tags"`
	DeliveryNotes string            `json:"delivery_notes"`
	Attributes    map[string]string `json:"attributes"`
}

// pushIn is POST /contacts' body.
type pushIn struct {
	// Contacts are decoded one by one (contactIn), so that a problem names its item.
	Contacts []json.RawMessage `json:"contacts"`
	// Topic is the topic the consents are for; default general.
	Topic string `json:"topic"`
	// Conflicts: report (default), skip or new — as `crier contacts import --conflicts`.
	Conflicts string `json:"conflicts"`
	DryRun    bool   `json:"dry_run"`
}

// pushColumns are the import fields a contactIn feeds, in CSV column order, each with
// its value in c ("" for none).
var pushColumns = []struct {
	field contact.Field
	value func(c *contactIn) string
}{
	{contact.FieldFirstName, func(c *contactIn) string { return c.FirstName }},
	{contact.FieldLastName, func(c *contactIn) string { return c.LastName }},
	{contact.FieldEmail, func(c *contactIn) string { return c.Email }},
	{contact.FieldMobile, func(c *contactIn) string { return c.Mobile }},
	{contact.FieldPhone, func(c *contactIn) string { return c.Phone }},
	{contact.FieldFlat, func(c *contactIn) string { return c.Flat }},
	{contact.FieldHouseNumber, func(c *contactIn) string { return c.HouseNumber }},
	{contact.FieldStreet, func(c *contactIn) string { return c.Street }},
	{contact.FieldTown, func(c *contactIn) string { return c.Town }},
	{contact.FieldPostcode, func(c *contactIn) string { return c.Postcode }},
	{contact.FieldWard, func(c *contactIn) string { return c.Ward }},
	{contact.FieldUPRN, func(c *contactIn) string { return c.UPRN }},
	{contact.FieldLanguage, func(c *contactIn) string { return c.Language }},
	{contact.FieldLargePrint, func(c *contactIn) string { return yesNo(c.LargePrint) }},
	{contact.FieldAccessibility, func(c *contactIn) string { return strings.Join(c.Accessibility, ";") }},
	{contact.FieldEmailConsent, func(c *contactIn) string { return yesNo(c.EmailConsent) }},
	{contact.FieldSMSConsent, func(c *contactIn) string { return yesNo(c.SMSConsent) }},
	{contact.FieldPostConsent, func(c *contactIn) string { return yesNo(c.PostConsent) }},
	{contact.FieldTags, func(c *contactIn) string { return strings.Join(c.Tags, ";") }},
	{contact.FieldDeliveryNotes, func(c *contactIn) string { return c.DeliveryNotes }},
}

func indexOf(e FieldError) int {
	if e.Index == nil {
		return -1
	}
	return *e.Index
}

func yesNo(b *bool) string {
	switch {
	case b == nil:
		return ""
	case *b:
		return "yes"
	}
	return "no"
}

// pushResult is what a push did (or, with dry_run, would do).
type pushResult struct {
	ImportID          int64        `json:"import_id"`
	DryRun            bool         `json:"dry_run"`
	Rows              int          `json:"rows"`
	ContactsCreated   int          `json:"contacts_created"`
	ContactsUpdated   int          `json:"contacts_updated"`
	ConsentsGranted   int          `json:"consents_granted"`
	ConsentsWithdrawn int          `json:"consents_withdrawn"`
	WithdrawalsKept   int          `json:"withdrawals_kept"`
	Skipped           []FieldError `json:"skipped"`
	// IDs are the contact ids of the items, by index: null for an item skipped, added
	// as a new person beside a conflict, or with neither email nor phone number; none
	// on a dry run.
	IDs []*int64 `json:"ids"`
}

// handleContactsPush upserts a batch of contacts ({"contacts": [...]}) through the CSV
// importer itself: the batch is written as a CSV file with one column per field used
// and imported, so the normalisation, consent rules, identity conflicts, suppression
// list and audit entry are the import's own. All or nothing: with any invalid item,
// nothing is written and the answer is 422 naming each item (its index) and field.
func (a *API) handleContactsPush(w http.ResponseWriter, r *http.Request, t *apitoken.Token) {
	var in pushIn
	if !decode(w, r, maxContactBody, &in) {
		return
	}
	if len(in.Contacts) == 0 {
		problem(w, http.StatusUnprocessableEntity, typeValidation, "Send at least one contact.", FieldError{Field: "contacts", Detail: "empty"})
		return
	}
	if len(in.Contacts) > maxBatch {
		problem(w, http.StatusUnprocessableEntity, typeValidation, fmt.Sprintf("Send at most %d contacts at a time.", maxBatch),
			FieldError{Field: "contacts", Detail: fmt.Sprintf("%d contacts", len(in.Contacts))})
		return
	}
	contacts := make([]contactIn, len(in.Contacts))
	var errs []FieldError
	for i, raw := range in.Contacts {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		err := dec.Decode(&contacts[i])
		var typeErr *json.UnmarshalTypeError
		switch {
		case err == nil:
		case errors.As(err, &typeErr):
			errs = append(errs, FieldError{Index: &i, Field: typeErr.Field, Detail: fmt.Sprintf("must be %s, not %s", typeErr.Type, typeErr.Value)})
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			errs = append(errs, FieldError{Index: &i, Field: strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), Detail: "unknown field"})
		default:
			errs = append(errs, FieldError{Index: &i, Detail: err.Error()})
		}
	}
	if len(errs) > 0 {
		problem(w, http.StatusUnprocessableEntity, typeValidation, "Some contacts have fields of the wrong type or name, so nothing was saved.", errs...)
		return
	}
	policy, err := contact.ParseConflictPolicy(in.Conflicts)
	if err != nil {
		problem(w, http.StatusUnprocessableEntity, typeValidation, "conflicts must be report, skip or new.", FieldError{Field: "conflicts", Detail: err.Error()})
		return
	}
	dir, err := os.MkdirTemp("", "crier-api-push-")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "contacts.csv")
	byLine, header, err := writePushCSV(path, contacts)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// The importer refuses a file none of whose columns can reach anybody; say so in the
	// API's words.
	if !slices.ContainsFunc(header, func(h string) bool {
		return slices.Contains([]string{"email", "mobile", "phone", "street"}, h)
	}) {
		problem(w, http.StatusUnprocessableEntity, typeValidation, "No contact has an email, mobile, phone or street: nobody could be reached.",
			FieldError{Field: "contacts", Detail: "give email, mobile, phone or street"})
		return
	}
	fieldOf := func(e *contact.InputError) FieldError {
		fe := FieldError{Field: e.Field, Detail: e.Err.Error()}
		if key, ok := strings.CutPrefix(e.Field, string(contact.FieldAttr)); ok {
			fe.Field = "attributes." + key
		}
		if i, ok := byLine[e.Line]; ok {
			fe.Index = &i
		} else if e.Col > 0 && e.Col <= len(header) {
			fe.Field = header[e.Col-1]
		}
		return fe
	}
	opts := contact.ImportOptions{Path: path, Name: "api:" + t.Name, Region: a.region,
		Topic: in.Topic, DryRun: in.DryRun, Actor: t.Actor(), Conflicts: policy, Suppression: a.key,
		RejectsPath: filepath.Join(dir, "rejects.csv")}
	actx := audit.Within(r.Context(), audit.Entry{Actor: t.Actor(), Action: audit.ContactsImport, SubjectType: "import",
		Detail: map[string]any{"via": "api"}})
	st := contact.NewStore(a.db, a.log)
	res, err := st.Import(actx, opts)
	var inputErr *contact.InputError
	switch {
	case errors.Is(err, contact.ErrRejected):
		// The importer checks identities (a conflict: one email under two names) only
		// once every row is valid. A dry run past the invalid rows finds those too, so
		// one answer lists every problem in the batch.
		seen := map[string]bool{}
		all := res.Errors
		opts.DryRun, opts.SkipInvalid = true, true
		if more, err := st.Import(r.Context(), opts); err == nil || errors.Is(err, contact.ErrRejected) {
			all = append(all, more.Errors...)
		}
		errs := []FieldError{}
		for _, e := range all {
			key := fmt.Sprintf("%d:%d:%s", e.Line, e.Col, e.Err)
			if seen[key] {
				continue
			}
			seen[key] = true
			errs = append(errs, fieldOf(e))
		}
		slices.SortStableFunc(errs, func(x, y FieldError) int { return indexOf(x) - indexOf(y) })
		problem(w, http.StatusUnprocessableEntity, typeValidation,
			fmt.Sprintf("%d of %d contacts are invalid, so nothing was saved. Fix them and send the batch again (or conflicts: skip).", res.Rejected, res.Rows), errs...)
		return
	case errors.As(err, &inputErr):
		problem(w, http.StatusUnprocessableEntity, typeValidation, "The batch can't be imported.", fieldOf(inputErr))
		return
	case errors.Is(err, contact.ErrNotFound) && in.Topic != "":
		problem(w, http.StatusUnprocessableEntity, typeValidation, fmt.Sprintf("There is no topic %q.", in.Topic), FieldError{Field: "topic", Detail: "unknown topic"})
		return
	case errors.Is(err, suppression.ErrNoKey):
		problem(w, http.StatusServiceUnavailable, typeUnavailable, "crier has no suppression key (CRIER_LINK_KEY), so it can't check contacts against the erasure list.")
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	out := pushResult{ImportID: res.ImportID, DryRun: res.DryRun, Rows: res.Rows, ContactsCreated: res.ContactsCreated,
		ContactsUpdated: res.ContactsUpdated, ConsentsGranted: res.ConsentsGranted, ConsentsWithdrawn: res.ConsentsWithdrawn,
		WithdrawalsKept: res.WithdrawalsKept, Skipped: []FieldError{}}
	left := map[int]bool{}
	for _, e := range append(append([]*contact.InputError{}, res.Conflicts...), res.Suppressed...) {
		fe := fieldOf(e)
		out.Skipped = append(out.Skipped, fe)
		left[indexOf(fe)] = true
	}
	if !res.DryRun {
		if out.IDs, err = a.pushedIDs(r.Context(), st, contacts, left); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	a.log.InfoContext(r.Context(), "api contacts pushed", "token_id", t.ID, "import_id", res.ImportID, "rows", res.Rows,
		"created", res.ContactsCreated, "updated", res.ContactsUpdated, "dry_run", res.DryRun)
	writeJSON(w, http.StatusOK, out)
}

// pushedIDs finds the contact id of each pushed item by its email, else its mobile,
// else its phone (normalised as the importer did): null for the items in left, and for
// those with none of them.
func (a *API) pushedIDs(ctx context.Context, st *contact.Store, contacts []contactIn, left map[int]bool) ([]*int64, error) {
	keys := make([][]string, len(contacts))
	var emails, phones []string
	for i, c := range contacts {
		if left[i] {
			continue
		}
		if e, err := contact.NormalizeEmail(c.Email); err == nil && c.Email != "" {
			keys[i] = append(keys[i], strings.ToLower(e))
			emails = append(emails, e)
		}
		for _, raw := range []string{c.Mobile, c.Phone} {
			if p, err := contact.NormalizePhone(raw, a.region); err == nil && raw != "" {
				keys[i] = append(keys[i], p.E164)
				phones = append(phones, p.E164)
			}
		}
	}
	ids, err := st.IDsByPoint(ctx, emails, phones)
	if err != nil {
		return nil, err
	}
	out := make([]*int64, len(contacts))
	for i, ks := range keys {
		for _, k := range ks {
			if id, ok := ids[k]; ok {
				out[i] = &id
				break
			}
		}
	}
	return out, nil
}

// writePushCSV writes contacts as an import file with a column for each field any of
// them uses, and returns which item each record's first line holds, and the header.
func writePushCSV(path string, contacts []contactIn) (map[int]int, []string, error) {
	var cols []int
	for i, pc := range pushColumns {
		if slices.ContainsFunc(contacts, func(c contactIn) bool { return pc.value(&c) != "" }) {
			cols = append(cols, i)
		}
	}
	attrSet := map[string]bool{}
	for _, c := range contacts {
		for k := range c.Attributes {
			attrSet[k] = true
		}
	}
	attrs := make([]string, 0, len(attrSet))
	for k := range attrSet {
		attrs = append(attrs, k)
	}
	sort.Strings(attrs)
	header := make([]string, 0, len(cols)+len(attrs))
	for _, i := range cols {
		header = append(header, string(pushColumns[i].field))
	}
	for _, k := range attrs {
		header = append(header, string(contact.FieldAttr)+k)
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.Write(header); err != nil {
		return nil, nil, err
	}
	cw.Flush()
	byLine := make(map[int]int, len(contacts))
	rec := make([]string, len(header))
	for n := range contacts {
		c := &contacts[n]
		for j, i := range cols {
			rec[j] = pushColumns[i].value(c)
		}
		for j, k := range attrs {
			rec[len(cols)+j] = c.Attributes[k]
		}
		// A value may span lines (delivery notes): the importer names a record by the
		// line it starts on.
		byLine[bytes.Count(buf.Bytes(), []byte("\n"))+1] = n
		if err := cw.Write(rec); err != nil {
			return nil, nil, err
		}
		cw.Flush()
	}
	if err := cw.Error(); err != nil {
		return nil, nil, err
	}
	return byLine, header, os.WriteFile(path, buf.Bytes(), 0o600)
}

// handleContactData is a subject access export: everything crier holds about the
// resident, as `crier contacts access` writes it, recorded in the audit log.
func (a *API) handleContactData(w http.ResponseWriter, r *http.Request, t *apitoken.Token) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	x, err := rights.NewStore(a.db, a.key, a.log).Access(r.Context(), id, audit.Entry{Actor: t.Actor(), Detail: map[string]any{"via": "api"}})
	if errors.Is(err, rights.ErrNotFound) {
		problem(w, http.StatusNotFound, typeNotFound, fmt.Sprintf("There is no contact %d (it may have been erased).", id))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.InfoContext(r.Context(), "api subject access", "token_id", t.ID, "contact_id", id)
	writeJSON(w, http.StatusOK, x)
}

// handleContactErase erases a resident (rights.Erase): ?reason= is the request's
// reference, kept with the suppression. 409 while a message to them is being sent.
func (a *API) handleContactErase(w http.ResponseWriter, r *http.Request, t *apitoken.Token) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.URL.Query().Get("reason"))
	if reason == "" {
		problem(w, http.StatusUnprocessableEntity, typeValidation, "Say why: ?reason= the request's reference (no personal data), e.g. \"email of 3 May 2026\".",
			FieldError{Field: "reason", Detail: "required"})
		return
	}
	if a.key == nil {
		problem(w, http.StatusServiceUnavailable, typeUnavailable, "crier has no suppression key (CRIER_LINK_KEY), so it can't record the erasure's suppression.")
		return
	}
	p, err := rights.NewStore(a.db, a.key, a.log).Erase(r.Context(), id, reason, audit.Entry{Actor: t.Actor()})
	switch {
	case errors.Is(err, rights.ErrNotFound):
		problem(w, http.StatusNotFound, typeNotFound, fmt.Sprintf("There is no contact %d (it may have been erased already).", id))
	case errors.Is(err, rights.ErrSending):
		w.Header().Set("Retry-After", "300")
		problem(w, http.StatusConflict, typeConflict, err.Error()+"; nothing was erased.")
	case err != nil:
		a.fail(w, r, err)
	default:
		writeJSON(w, http.StatusOK, p)
	}
}
