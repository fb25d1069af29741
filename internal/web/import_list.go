package web

import (
	"net/http"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/web/listing"
)

// importsPath lists every import, newest first: the import page shows only the latest.
const importsPath = "/contacts/imports"

// importList is the imports list's query string: sortable by when, file, officer and
// rows; filtered by outcome and by text in the file name or the officer's account.
var importList = listing.Spec{
	Path: importsPath,
	Columns: []listing.Column{
		{Key: "started", Label: "When", DescFirst: true},
		{Key: "file", Label: "File"},
		{Key: "actor", Label: "By"},
		{Key: "rows", Label: "Rows", DescFirst: true},
	},
	Default: "started",
	Filters: []string{"status", "q"},
}

// importStatusWords names an import's outcome in the list's filter.
var importStatusWords = map[string]string{
	"completed": "Imported", "rejected": "Nothing imported: invalid rows", "failed": "Failed", "running": "Running",
}

// importListView is imports.html's.
type importListView struct {
	Rows     []importAudit
	Q        string
	Statuses []listing.Option
	List     listing.View
}

// handleImports lists the imports, 50 to a page.
func (s *Server) handleImports(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	st := importList.Parse(r.URL.Query())
	status := st.Choose("status", contact.ImportStatuses...)
	rows, total, err := contact.NewStore(s.db, s.log).ImportsPage(r.Context(), contact.ImportsQuery{Status: status,
		Text: st.Get("q"), Sort: st.Sort, Desc: st.Desc, Limit: st.Limit(), Offset: st.Offset()})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := importListView{Q: st.Get("q"), List: importList.View(st, total, len(rows)),
		Statuses: listing.Options(contact.ImportStatuses, func(s string) string { return importStatusWords[s] }, status)}
	for _, imp := range rows {
		v.Rows = append(v.Rows, importAudit{ImportSummary: imp, Started: contactTimeOf(imp.StartedAt)})
	}
	s.render(w, http.StatusOK, "imports.html", page{Title: "Imports", OrgName: s.brand.OrgName, Session: sessionOf(r), Data: v})
}
