package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/rights"
)

// contactDataView is the subject access page: the export, with times and doors ready to show.
type contactDataView struct {
	X         *rights.Export
	Name      string
	Generated contactTime
	Home      string
	JSONPath  string
}

// When shows a time on the page.
func (contactDataView) When(t time.Time) contactTime { return contactTimeOf(t) }

// WhenSet shows a time that may not have happened ("" for nil).
func (contactDataView) WhenSet(t *time.Time) contactTime {
	if t == nil {
		return contactTime{}
	}
	return contactTimeOf(*t)
}

// Door shows an address on one line ("" for nil).
func (contactDataView) Door(a *rights.Address) string {
	if a == nil {
		return ""
	}
	return rights.AddressLine(*a)
}

// JSON shows free attributes or an event's detail as JSON text.
func (contactDataView) JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// handleContactData shows everything held about one resident (a subject access
// request) as a printable page; with ".json" it is the same export as a download. Each
// view is recorded in the audit log, by id.
func (s *Server) handleContactData(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	idText, asJSON := r.PathValue("id"), false
	if r.PathValue("format") == "data.json" {
		asJSON = true
	} else if r.PathValue("format") != "data" {
		http.NotFound(w, r)
		return
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	var x *rights.Export
	if err == nil && id > 0 {
		x, err = rights.NewStore(s.db, nil, s.log).Access(r.Context(), id, s.entry(r, audit.Entry{}))
	} else {
		err = rights.ErrNotFound
	}
	if errors.Is(err, rights.ErrNotFound) {
		s.render(w, http.StatusNotFound, "message.html", page{Title: "Contact not found", OrgName: s.brand.OrgName,
			Message: "There is no contact with that number. It may have been erased.", Session: sessionOf(r)})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if asJSON {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="resident-%d-data.json"`, id))
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(x); err != nil {
			s.log.WarnContext(r.Context(), "subject access download cut short", "contact_id", id, "err", err)
		}
		return
	}
	v := contactDataView{X: x, Name: contactName(x.Contact.FirstName, x.Contact.LastName, x.Contact.ID),
		Generated: contactTimeOf(x.GeneratedAt), JSONPath: fmt.Sprintf("/contacts/%d/data.json", id)}
	if x.Household != nil {
		v.Home = rights.AddressLine(x.Household.Address)
	}
	s.render(w, http.StatusOK, "contact_data.html", page{Title: "Data held about " + v.Name, OrgName: s.brand.OrgName,
		Session: sessionOf(r), Data: v})
}
