package web_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/web"
)

// addAdmin adds Ann, an admin, to the rig.
func (r *appRig) addAdmin(t *testing.T) *auth.User {
	t.Helper()
	as := auth.NewStore(r.db)
	as.Cost = bcrypt.MinCost
	u, err := as.Add(t.Context(), "ann@council.example", "Ann Admin", auth.Admin, appPassword)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// sessionCSRF reads the signed-in session's CSRF token from the page at path.
func sessionCSRF(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	code, _, doc := page(t, c, u)
	m := csrfRE.FindStringSubmatch(doc)
	if code != http.StatusOK || m == nil {
		t.Fatalf("GET %s: %d, no CSRF token", u, code)
	}
	return m[1]
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string, string) {
	t.Helper()
	res, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, res)
	return res.StatusCode, res.Header.Get("Location"), b
}

// auditRows returns "actor action subject_type subject_id" of every entry, oldest first.
func (r *appRig) auditRows(t *testing.T) []string {
	t.Helper()
	var rows []string
	if err := r.db.Select(&rows, `SELECT actor || ' ' || action || ' ' || subject_type || ' ' || subject_id FROM audit_log ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	return rows
}

func hasRow(rows []string, want string) bool {
	for _, r := range rows {
		if r == want {
			return true
		}
	}
	return false
}

// TestAuditEndToEnd: an officer fails to sign in, signs in, pauses a campaign, imports
// a file and signs out; an admin reads and downloads the log. Every step is recorded,
// and the download too.
func TestAuditEndToEnd(t *testing.T) {
	r := newAppRig(t)
	ann := r.addAdmin(t)
	jo := r.officer
	cid := strconv.FormatInt(r.campaignID, 10)

	if res, _ := r.login(t, r.client(t), "jo@council.example", "not the password at all"); body(t, res) == "" || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	if res, _ := r.login(t, r.client(t), "nobody@elsewhere.example", "not the password at all"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown account: %d", res.StatusCode)
	}
	c := signInAt(t, r.srv.URL, "jo@council.example")
	csrf := sessionCSRF(t, c, r.srv.URL+"/")
	if code, _, b := post(t, c, r.srv.URL+"/campaigns/"+cid+"/pause", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
		t.Fatalf("pause: %d %s", code, b)
	}
	importFile(t, c, r.srv.URL, csrf, "more.csv", "First name,Surname,Email\nEve,Adams,eve@example.org\n")
	if code, _, _ := post(t, c, r.srv.URL+"/logout", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", code)
	}

	joID, annID := strconv.FormatInt(jo.ID, 10), strconv.FormatInt(ann.ID, 10)
	rows := r.auditRows(t)
	for _, want := range []string{
		"jo@council.example auth.sign_in_failed user " + joID,
		"unknown auth.sign_in_failed user ",
		"jo@council.example auth.sign_in user " + joID,
		"jo@council.example campaign.pause campaign " + cid,
		"jo@council.example auth.sign_out user " + joID,
	} {
		if !hasRow(rows, want) {
			t.Errorf("no entry %q in\n%s", want, strings.Join(rows, "\n"))
		}
	}
	var imports, residentData int
	r.db.Get(&imports, `SELECT count(*) FROM audit_log WHERE action = 'contacts.import' AND actor_id = $1 AND detail->>'rows' = '1'`, jo.ID)
	r.db.Get(&residentData, `SELECT count(*) FROM audit_log WHERE detail::text ~* 'eve|adams|nobody@' OR actor ~* 'nobody@'`)
	if imports != 1 || residentData != 0 {
		t.Errorf("import entries %d (want 1), entries with residents' or unknown logins' data %d", imports, residentData)
	}
	var client string
	r.db.Get(&client, `SELECT client FROM audit_log WHERE action = 'campaign.pause'`)
	if client != "127.0.0.1" {
		t.Errorf("client of a web action: %q", client)
	}

	// The admin reads the log, filtered, and downloads it with the same filters.
	admin := signInAt(t, r.srv.URL, "ann@council.example")
	code, _, doc := page(t, admin, r.srv.URL+"/admin/audit?action=campaign.pause")
	if code != http.StatusOK || !strings.Contains(doc, "jo@council.example") || strings.Contains(doc, "auth.sign_out</td>") {
		t.Errorf("audit page filtered by action: %d\n%s", code, doc)
	}
	if !strings.Contains(doc, `href="/admin/audit.csv?action=campaign.pause"`) {
		t.Error("the CSV link doesn't carry the filter")
	}
	res, err := admin.Get(r.srv.URL + "/admin/audit.csv?actor=jo%40")
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("CSV content type %q", ct)
	}
	recs, err := csv.NewReader(strings.NewReader(body(t, res))).ReadAll()
	if err != nil || len(recs) != 6 { // header, failed, sign-in, pause, import, sign-out
		t.Errorf("CSV for jo: %d rows %v\n%q", len(recs), err, recs)
	}
	if !hasRow(r.auditRows(t), "ann@council.example audit.export audit_log ") {
		t.Errorf("the export wasn't recorded: %q", r.auditRows(t))
	}
	_ = annID
}

// TestAdminAccounts: only admins reach /admin; disabling ends a live session at once;
// a role change applies at the next page; a reset link works once; the last admin
// stays an admin.
func TestAdminAccounts(t *testing.T) {
	r := newAppRig(t)
	ann := r.addAdmin(t)
	jo := signInAt(t, r.srv.URL, "jo@council.example")
	sam := signInAt(t, r.srv.URL, "sam@volunteers.example")
	admin := signInAt(t, r.srv.URL, "ann@council.example")
	joCSRF := sessionCSRF(t, jo, r.srv.URL+"/")

	for _, p := range web.AdminRoutes {
		if code, _, _ := page(t, jo, r.srv.URL+p); code != http.StatusForbidden {
			t.Errorf("officer GET %s: %d", p, code)
		}
		if code, _, _ := page(t, sam, r.srv.URL+p); code != http.StatusForbidden {
			t.Errorf("volunteer GET %s: %d", p, code)
		}
		if code, loc, _ := page(t, r.client(t), r.srv.URL+p); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
			t.Errorf("anonymous GET %s: %d %s", p, code, loc)
		}
	}
	id := func(u *auth.User) string { return strconv.FormatInt(u.ID, 10) }
	if code, _, _ := post(t, jo, r.srv.URL+"/admin/users/"+id(r.volunteer)+"/disable", url.Values{"csrf": {joCSRF}}); code != http.StatusForbidden {
		t.Errorf("officer disabling an account: %d", code)
	}

	csrf := sessionCSRF(t, admin, r.srv.URL+"/admin/users")
	// Disable Jo: Jo's very next request is sent to sign in.
	if code, loc, _ := post(t, admin, r.srv.URL+"/admin/users/"+id(r.officer)+"/disable", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther || loc != "/admin/users?done=disable" {
		t.Fatalf("disable: %d %s", code, loc)
	}
	if code, loc, _ := page(t, jo, r.srv.URL+"/campaigns"); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
		t.Errorf("disabled officer's next request: %d %s", code, loc)
	}
	if res, _ := r.login(t, r.client(t), "jo@council.example", appPassword); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("disabled officer signing in: %d", res.StatusCode)
	}
	if code, _, doc := page(t, admin, r.srv.URL+"/admin/users"); code != http.StatusOK || !strings.Contains(doc, "Disabled") {
		t.Errorf("users page after disabling: %d", code)
	}
	if code, _, _ := post(t, admin, r.srv.URL+"/admin/users/"+id(r.officer)+"/enable", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
		t.Errorf("enable: %d", code)
	}

	// Sam, a volunteer, becomes an officer: the replies page opens at once.
	if code, _, _ := page(t, sam, r.srv.URL+"/replies"); code != http.StatusForbidden {
		t.Fatalf("volunteer on replies: %d", code)
	}
	if code, _, _ := post(t, admin, r.srv.URL+"/admin/users/"+id(r.volunteer)+"/role", url.Values{"csrf": {csrf}, "role": {"officer"}}); code != http.StatusSeeOther {
		t.Fatalf("role: %d", code)
	}
	if code, _, _ := page(t, sam, r.srv.URL+"/replies"); code != http.StatusOK {
		t.Errorf("new officer on replies: %d", code)
	}
	if code, _, _ := post(t, admin, r.srv.URL+"/admin/users/"+id(r.volunteer)+"/role", url.Values{"csrf": {csrf}, "role": {"mayor"}}); code != http.StatusConflict {
		t.Errorf("unknown role: %d", code)
	}

	// The last admin can't disable or demote themselves.
	if code, _, doc := post(t, admin, r.srv.URL+"/admin/users/"+id(ann)+"/disable", url.Values{"csrf": {csrf}}); code != http.StatusConflict || !strings.Contains(doc, "last active admin") {
		t.Errorf("last admin disabling themselves: %d", code)
	}
	if code, _, _ := post(t, admin, r.srv.URL+"/admin/users/"+id(ann)+"/role", url.Values{"csrf": {csrf}, "role": {"officer"}}); code != http.StatusConflict {
		t.Errorf("last admin demoting themselves: %d", code)
	}

	// A reset link for Kim: shown once, works once.
	code, _, doc := post(t, admin, r.srv.URL+"/admin/users/"+id(r.otherVolntr)+"/reset", url.Values{"csrf": {csrf}})
	m := regexp.MustCompile(`id="reset-link">[^<]*(/reset/[A-Za-z0-9_-]+)<`).FindStringSubmatch(doc)
	if code != http.StatusOK || m == nil {
		t.Fatalf("reset link: %d\n%s", code, doc)
	}
	kim := r.client(t)
	resetCSRF := sessionCSRF(t, kim, r.srv.URL+m[1])
	const newPW = "kim's own new passphrase"
	if code, _, _ := post(t, kim, r.srv.URL+m[1], url.Values{"csrf": {resetCSRF}, "password": {newPW}, "confirm": {"something else"}}); code != http.StatusUnprocessableEntity {
		t.Errorf("different passwords: %d", code)
	}
	if code, _, _ := post(t, kim, r.srv.URL+m[1], url.Values{"csrf": {"forged"}, "password": {newPW}, "confirm": {newPW}}); code != http.StatusForbidden {
		t.Errorf("forged CSRF: %d", code)
	}
	if code, _, doc := post(t, kim, r.srv.URL+m[1], url.Values{"csrf": {resetCSRF}, "password": {newPW}, "confirm": {newPW}}); code != http.StatusOK || !strings.Contains(doc, "password is set") {
		t.Fatalf("reset: %d\n%s", code, doc)
	}
	if code, _, _ := post(t, kim, r.srv.URL+m[1], url.Values{"csrf": {resetCSRF}, "password": {"and a third passphrase"}, "confirm": {"and a third passphrase"}}); code != http.StatusNotFound {
		t.Errorf("second use: %d", code)
	}
	if code, _, _ := page(t, kim, r.srv.URL+m[1]); code != http.StatusNotFound {
		t.Errorf("spent link page: %d", code)
	}
	if res, _ := r.login(t, r.client(t), "kim@volunteers.example", newPW); res.StatusCode != http.StatusSeeOther {
		t.Errorf("sign in with the new password: %d", res.StatusCode)
	}

	// Adding an account gives a link to set its password.
	code, _, doc = post(t, admin, r.srv.URL+"/admin/users", url.Values{"csrf": {csrf}, "email": {"lee@council.example"}, "name": {"Lee New"}, "role": {"officer"}})
	if code != http.StatusOK || !strings.Contains(doc, "/reset/") {
		t.Errorf("add: %d", code)
	}
	if code, _, _ := post(t, admin, r.srv.URL+"/admin/users", url.Values{"csrf": {csrf}, "email": {"LEE@council.example"}, "name": {"Lee"}, "role": {"officer"}}); code != http.StatusUnprocessableEntity {
		t.Errorf("add twice: %d", code)
	}

	rows := r.auditRows(t)
	for _, want := range []string{
		"ann@council.example user.disable user " + id(r.officer),
		"ann@council.example user.enable user " + id(r.officer),
		"ann@council.example user.role user " + id(r.volunteer),
		"ann@council.example user.reset_link user " + id(r.otherVolntr),
		"kim@volunteers.example auth.password_reset user " + id(r.otherVolntr),
	} {
		if !hasRow(rows, want) {
			t.Errorf("no entry %q in\n%s", want, strings.Join(rows, "\n"))
		}
	}
	var refused int
	r.db.Get(&refused, `SELECT count(*) FROM audit_log WHERE action IN ('user.disable', 'user.role') AND subject_id = $1`, id(ann))
	if refused != 0 {
		t.Errorf("%d entries for refused changes", refused)
	}
}
