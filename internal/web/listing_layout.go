package web

import "github.com/crierhq/crier/internal/auth"

// navSections maps each signed-in page's template to the service navigation's section
// it belongs to (marked aria-current="page"). A template not listed marks none.
var navSections = map[string]string{
	"dashboard.html":       "dashboard",
	"campaigns.html":       "campaigns",
	"results.html":         "campaigns",
	"editor.html":          "campaigns",
	"editor_delete.html":   "campaigns",
	"leaflets.html":        "rounds",
	"poll.html":            "campaigns",
	"editor_new.html":      "new-campaign",
	"segments.html":        "segments",
	"segment.html":         "segments",
	"segment_edit.html":    "segments",
	"contacts.html":        "contacts",
	"contact.html":         "contacts",
	"import.html":          "contacts",
	"imports.html":         "contacts",
	"replies.html":         "replies",
	"conversation.html":    "replies",
	"reach.html":           "reach",
	"rounds.html":          "rounds",
	"round.html":           "rounds",
	"round_rest.html":      "rounds",
	"admin_users.html":     "accounts",
	"admin_audit.html":     "audit",
	"twofactor.html":       "account",
	"twofactor_admin.html": "security",
}

// laidOut fills in what the layout needs to know about page p, rendered from template
// name: the navigation's current section, and whether the page is wide. Officers' and
// admins' pages use the full width (their lists and tables need it); residents' pages
// (never signed in) and volunteers' (read on a phone on the doorstep) keep the narrow
// reading column.
func (p page) laidOut(name string) page {
	if p.Session == nil {
		return p
	}
	p.Section = navSections[name]
	p.Wide = p.Session.User.Role != auth.Volunteer
	return p
}
