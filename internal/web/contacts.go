package web

// The officers' contact pages: search (contact_search.go), one resident's record
// (contact_show.go), and CSV import (contact_import.go; the jobs that run imports are
// import_jobs.go). Everything here is personal data: it is shown to officers only, never
// logged (logs carry ids and counts), and the pages are not cached. This file holds the
// routes and how the pages word a contact's details.

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
)

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
	contactHistoryLimit = 200 // messages and texts shown on a contact's page
)

// registerContacts adds the officers' contact pages to mux.
func (s *Server) registerContacts(mux *http.ServeMux) {
	officers := []string{auth.Officer}
	mux.HandleFunc("GET /contacts", s.withUser(officers, s.handleContacts))
	mux.HandleFunc("GET /contacts/export.csv", s.withUser(officers, s.handleContactsExport))
	mux.HandleFunc("GET /contacts/{id}", s.withUser(officers, s.handleContact))
	mux.HandleFunc("GET /contacts/{id}/{format}", s.withUser(officers, s.handleContactData)) // data, data.json
	mux.HandleFunc("GET "+importPath, s.withUser(officers, s.handleImportForm))
	mux.HandleFunc("POST "+importPath, s.importLimit(s.withUser(officers, s.handleImport)))
	mux.HandleFunc("GET "+importsPath, s.withUser(officers, s.handleImports))
	mux.HandleFunc("GET "+importPath+"/recent", s.importLiveAuth(s.withUser(officers, s.handleImportRecentLive)))
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

// contactTimeOf shows t; the zero time shows as nothing.
func contactTimeOf(t time.Time) contactTime {
	if t.IsZero() {
		return contactTime{}
	}
	l := t.In(campaign.London)
	return contactTime{ISO: l.Format(time.RFC3339), Text: l.Format("2 Jan 2006 15:04")}
}

// --- Search -----------------------------------------------------------------------------

// contactName is how a contact is named: their name, or "Contact 12" without one.
func contactName(first, last string, id int64) string {
	if n := strings.TrimSpace(first + " " + last); n != "" {
		return n
	}
	return "Contact " + strconv.FormatInt(id, 10)
}

// contactPointLabel names a kind of contact point: Email, Mobile, Landline, Phone, Post.
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
func contactPointValue(kind, value string, a contact.Door) string {
	switch kind {
	case "phone":
		return contactPhone(value)
	case "postal":
		return a.String()
	}
	return value
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
