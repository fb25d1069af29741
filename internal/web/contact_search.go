package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/crierhq/crier/internal/contact"
)

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
	Channels  []contactChannel
}

// Name is how a contact is named on the pages.
func (h contactHit) Name() string { return contactName(h.FirstName, h.LastName, h.ID) }

// searchContacts returns one page of contacts and whether there is another.
func (s *Server) searchContacts(ctx context.Context, cs contact.SearchQuery, pageNo int) ([]contactHit, bool, error) {
	found, more, err := contact.NewStore(s.db, s.log).Search(ctx, cs, pageNo, contactsPerPage)
	if err != nil {
		return nil, false, err
	}
	hits := make([]contactHit, len(found))
	for i, f := range found {
		hits[i] = contactHit{ID: f.ID, FirstName: f.FirstName, LastName: f.LastName, Ward: f.Ward}
		for _, p := range f.Points {
			hits[i].Channels = append(hits[i].Channels, contactChannel{Label: contactPointLabel(p.Kind, p.PhoneType), Status: contactStatusLabel(p.Status)})
		}
	}
	return hits, more, nil
}

// contactsData is contacts.html's: one page of the results of a search.
type contactsData struct {
	Search   contact.SearchQuery
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
	cs := contact.ParseSearch(r.URL.Query().Get("q"))
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
