package web

// EditorRoutes lists the editor's officer-only pages (with placeholder ids), for
// authorisation tests.
var EditorRoutes = []string{"/campaigns/new", "/campaigns/1/edit", "/campaigns/1/preview/email",
	"/campaigns/1/preview/leaflet.png"}
