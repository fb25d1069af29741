package web

import (
	"cmp"
	"context"
	"net/http"
	"time"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/web/listing"
)

// contactList is the contacts list's query string: the search (q), a channel residents
// can be reached on, a sort and a page. Without a sort, the search's own order applies
// (names A to Z; with no search, the newest first).
var contactList = listing.Spec{
	Path: "/contacts",
	Columns: []listing.Column{
		{Key: "name", Label: "Name"},
		{Key: "ward", Label: "Ward"},
		{Key: "added", Label: "Added", DescFirst: true},
	},
	Filters: []string{"q", "channel"},
	PerPage: contactsPerPage,
}

// contactChannels are the channels the list can be narrowed to (contact.SearchQuery's
// Channel), as offered.
var contactChannels = []string{"email", "mobile", "post"}

// contactChannelLabel names a channel filter.
func contactChannelLabel(ch string) string {
	switch ch {
	case "email":
		return "Has a working email address"
	case "mobile":
		return "Has a working mobile number"
	case "post":
		return "Has a postal address"
	}
	return ch
}

// contactChannel is one way a contact can be reached, as listed in search results.
type contactChannel struct {
	Label  string // Email, Mobile, Landline, Phone, Post
	Status string // '' when active; otherwise bounced, invalid, opted out
}

// contactHit is a contact in the search results.
type contactHit struct {
	ID        int64
	FirstName string
	LastName  string
	Ward      string
	Added     listing.Stamp
	Channels  []contactChannel
}

// Name is how a contact is named on the pages.
func (h contactHit) Name() string { return contactName(h.FirstName, h.LastName, h.ID) }

// searchContacts returns one page of the contacts cs finds, and how many it finds in all.
func (s *Server) searchContacts(ctx context.Context, cs contact.SearchQuery, st listing.State) ([]contactHit, int, error) {
	found, total, err := contact.NewStore(s.db, s.log).Search(ctx, cs, st.Limit(), st.Offset())
	if err != nil {
		return nil, 0, err
	}
	hits := make([]contactHit, len(found))
	for i, f := range found {
		hits[i] = contactHit{ID: f.ID, FirstName: f.FirstName, LastName: f.LastName, Ward: f.Ward,
			Added: listing.StampOf(&f.CreatedAt, campaign.London)}
		for _, p := range f.Points {
			hits[i].Channels = append(hits[i].Channels, contactChannel{Label: contactPointLabel(p.Kind, p.PhoneType), Status: contactStatusLabel(p.Status)})
		}
	}
	return hits, total, nil
}

// contactsData is contacts.html's: one page of the results of a search.
type contactsData struct {
	Search   contact.SearchQuery
	Hits     []contactHit
	List     listing.View
	Channels []listing.Option
	Total    string // how many contacts the search finds, "1,234"
	Export   string // the export button's words: "Export these 12 contacts (CSV)"
}

// contactSearchOf reads the search and channel filter of a list's state.
func contactSearchOf(st *listing.State) contact.SearchQuery {
	cs := contact.ParseSearch(st.Get("q"))
	cs.Channel = st.Choose("channel", contactChannels...)
	if cs.Query == "" {
		st.Filter.Del("q")
	} else {
		st.Filter.Set("q", cs.Query)
	}
	cs.Sort, cs.Desc = st.Sort, st.Desc
	return cs
}

// handleContacts searches contacts by name, email, phone or postcode (GET /contacts?q=),
// optionally only those reachable on a channel, sorted and 50 to a page.
func (s *Server) handleContacts(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	st := contactList.Parse(r.URL.Query())
	cs := contactSearchOf(&st)
	hits, total, err := s.searchContacts(r.Context(), cs, st)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := contactsData{Search: cs, Hits: hits, List: contactList.View(st, total, len(hits)),
		Channels: listing.Options(contactChannels, contactChannelLabel, cs.Channel)}
	d.Total = d.List.Pager.Total
	switch {
	case !d.List.Filtered:
		d.Export = "Export all " + d.Total + " contacts (CSV)"
	case total == 1:
		d.Export = "Export this contact (CSV)"
	default:
		d.Export = "Export these " + d.Total + " contacts (CSV)"
	}
	title := "Contacts"
	if cs.Query != "" {
		title = "Contacts matching “" + cs.Query + "”"
	}
	s.render(w, http.StatusOK, "contacts.html", page{Title: title, OrgName: s.brand.OrgName, Session: sessionOf(r), Data: d})
}

// handleContactsExport downloads the contacts as CSV (GET /contacts/export.csv): the
// file `crier contacts export` writes (byte-order mark, cells a spreadsheet opens as
// text, free attributes), streamed as it is read. With the list's search or channel
// (?q=, ?channel=) only the contacts the list shows are exported. The export is
// recorded in the audit log with its row count, and with what kind of search narrowed
// it, but never the search itself (a name or an address is personal data).
func (s *Server) handleContactsExport(w http.ResponseWriter, r *http.Request) {
	st := contactList.Parse(r.URL.Query())
	cs := contactSearchOf(&st)
	cs.Sort, cs.Desc = "", false
	opts := contact.ExportOptions{}
	detail := map[string]any{"topic": "general"}
	if cs.Query != "" || cs.Channel != "" {
		opts.Filter = &cs
		if cs.Query != "" {
			detail["search"] = cmp.Or(cs.Kind, "none")
		}
		if cs.Channel != "" {
			detail["channel"] = cs.Channel
		}
	}
	w.Header().Set("Cache-Control", "private, no-store")
	name := "crier-contacts-" + time.Now().In(campaign.London).Format("2006-01-02") + ".csv"
	out := &startedWriter{w: w, start: func() {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}}
	n, err := contact.NewStore(s.db, s.log).Export(r.Context(), out, opts)
	detail["rows"] = n
	if err != nil {
		detail["incomplete"] = true
	}
	if out.started || err == nil {
		// Rows may have left: the export is on record even if it broke off.
		s.record(r, audit.Entry{Action: audit.ContactsExport, SubjectType: "contacts", Detail: detail})
	}
	switch {
	case err == nil:
	case !out.started:
		s.fail(w, r, err)
	default:
		// Half a file must not look like a whole one: drop the connection.
		s.log.ErrorContext(r.Context(), "contacts export broke off", "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// startedWriter calls start before the first byte is written, so that headers for a
// download are set only once there is one (an error before that gets the error page).
type startedWriter struct {
	w       http.ResponseWriter
	start   func()
	started bool
}

func (sw *startedWriter) Write(p []byte) (int, error) {
	if !sw.started {
		sw.started = true
		sw.start()
	}
	return sw.w.Write(p)
}
