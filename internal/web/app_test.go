package web_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/web"
)

const appPassword = "correct horse battery staple"

const paperStreet = `First name,Surname,House number,Street,Town,Postcode,Ward
Ada,Lovelace,1,Acre Lane,London,SW2 1RW,Millbrook
Ben,Okafor,2,Acre Lane,London,SW2 1RW,Millbrook
Cara,Jones,3,Acre Lane,London,SW2 1RW,Millbrook
Dev,Patel,1,Coldharbour Lane,London,SW9 8AB,Millbrook
`

// appRig is the web app on a real database: an officer, two volunteers, and a printed
// campaign whose two rounds are assigned one to each volunteer.
type appRig struct {
	db          *sqlx.DB
	ws          *web.Server
	srv         *httptest.Server
	rounds      []printrun.RoundInfo // [0] is Sam's, [1] is Kim's
	campaignID  int64
	officer     *auth.User
	volunteer   *auth.User
	otherVolntr *auth.User
}

func newAppRig(t *testing.T) *appRig {
	t.Helper()
	ctx := t.Context()
	d := dbtest.New(t)
	p := filepath.Join(t.TempDir(), "paper.csv")
	os.WriteFile(p, []byte(paperStreet), 0o600)
	if _, err := contact.NewStore(d, nil).Import(ctx, contact.ImportOptions{Path: p, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	as := auth.NewStore(d)
	as.Cost = bcrypt.MinCost // production uses 12; the tests sign in dozens of times
	r := &appRig{db: d}
	var err error
	if r.officer, err = as.Add(ctx, "jo@council.example", "Jo Officer", auth.Officer, appPassword); err != nil {
		t.Fatal(err)
	}
	if r.volunteer, err = as.Add(ctx, "sam@volunteers.example", "Sam Volunteer", auth.Volunteer, appPassword); err != nil {
		t.Fatal(err)
	}
	if r.otherVolntr, err = as.Add(ctx, "kim@volunteers.example", "Kim Volunteer", auth.Volunteer, appPassword); err != nil {
		t.Fatal(err)
	}
	cs := campaign.NewStore(d, nil)
	c := &campaign.Campaign{Name: "Bin day leaflet", Purpose: "service", ChannelOrder: []string{"post"},
		LeafletTitle: "Your bin day is changing", LeafletBody: "From January we collect on a **Tuesday**."}
	if err := cs.Create(ctx, c, "general", "jo"); err != nil {
		t.Fatal(err)
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "jo", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.StartDue(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	r.campaignID = c.ID
	ps := printrun.NewStore(d)
	if _, err := ps.Print(ctx, printrun.Request{CampaignID: c.ID, Format: leaflet.A4, RoundSize: 10, OutDir: t.TempDir(),
		Content: leaflet.Content{OrgName: "Millbrook Council"}}); err != nil {
		t.Fatal(err)
	}
	if r.rounds, err = ps.Rounds(ctx, c.ID); err != nil || len(r.rounds) != 2 {
		t.Fatalf("rounds: %v %v", r.rounds, err)
	}
	if err := ps.Assign(ctx, r.rounds[0].ID, "sam@volunteers.example"); err != nil {
		t.Fatal(err)
	}
	if err := ps.Assign(ctx, r.rounds[1].ID, "Kim Volunteer"); err != nil {
		t.Fatal(err)
	}
	signer, _ := email.NewSigner(bytes.Repeat([]byte("k"), 32))
	ws, err := web.New(web.Config{DB: d, Signer: signer, Branding: email.Branding{OrgName: "Millbrook Council"},
		App: &web.App{Auth: as, Rounds: ps, Inbox: inbox.NewStore(d, inbox.Config{}, nil), LeafletDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	r.ws = ws
	r.srv = httptest.NewServer(ws.Handler())
	t.Cleanup(r.srv.Close)
	return r
}

// client is a browser-like client: cookies kept, redirects not followed (so they can be
// checked).
func (r *appRig) client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login signs c in and returns the page's CSRF token.
func (r *appRig) login(t *testing.T, c *http.Client, email, password string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(r.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	m := csrfRE.FindStringSubmatch(body(t, res))
	if m == nil {
		t.Fatal("no CSRF token on the login form")
	}
	res, err = c.PostForm(r.srv.URL+"/login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	return res, m[1]
}

// signInAt returns a client signed in as email (password appPassword) on the site at
// base, that keeps cookies and doesn't follow redirects.
func signInAt(t *testing.T, base, email string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, _, form := page(t, c, base+"/login")
	m := csrfRE.FindStringSubmatch(form)
	if m == nil {
		t.Fatal("no CSRF token on the login form")
	}
	res, err := c.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {appPassword}})
	if err != nil {
		t.Fatal(err)
	}
	if body(t, res); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", email, res.StatusCode)
	}
	return c
}

// page GETs path and returns the status, location and body.
func page(t *testing.T, c *http.Client, u string) (int, string, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, res)
	return res.StatusCode, res.Header.Get("Location"), b
}

func TestAppAuthorisation(t *testing.T) {
	r := newAppRig(t)
	anon := r.client(t)
	// Anonymous: pages send you to sign in, actions are refused.
	for _, p := range append([]string{"/", "/rounds", "/rounds/1"}, web.OfficerRoutes...) {
		if code, loc, _ := page(t, anon, r.srv.URL+p); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
			t.Errorf("anonymous GET %s: %d → %q", p, code, loc)
		}
	}
	res, _ := anon.PostForm(r.srv.URL+"/rounds/1/doors/1", url.Values{"outcome": {"delivered"}})
	if body(t, res); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous POST: %d", res.StatusCode)
	}

	// A volunteer sees their own round only, and no officer page.
	vol := r.client(t)
	res, _ = r.login(t, vol, "SAM@volunteers.example", appPassword)
	if body(t, res); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/rounds" {
		t.Fatalf("volunteer login: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	for _, c := range res.Cookies() {
		if c.Name == "crier_session" && (!c.HttpOnly || c.SameSite != http.SameSiteLaxMode) {
			t.Errorf("session cookie flags: %+v", c)
		}
	}
	for _, p := range web.OfficerRoutes {
		if code, _, _ := page(t, vol, r.srv.URL+p); code != http.StatusForbidden {
			t.Errorf("volunteer GET %s: %d", p, code)
		}
	}
	if code, loc, _ := page(t, vol, r.srv.URL+"/"); code != http.StatusSeeOther || loc != "/rounds" {
		t.Errorf("volunteer dashboard: %d → %q", code, loc)
	}
	code, _, mine := page(t, vol, r.srv.URL+"/rounds")
	if code != http.StatusOK || !strings.Contains(mine, r.rounds[0].Name) || strings.Contains(mine, r.rounds[1].Name) {
		t.Errorf("My rounds (%d):\n%s", code, mine)
	}
	other := r.srv.URL + "/rounds/" + itoa(r.rounds[1].ID)
	if code, _, _ := page(t, vol, other); code != http.StatusNotFound {
		t.Errorf("another volunteer's round: %d", code)
	}
	if code, _, _ := page(t, vol, other+"/files/"+r.rounds[1].Files[0]); code != http.StatusNotFound {
		t.Errorf("another volunteer's PDF: %d", code)
	}
	own := r.srv.URL + "/rounds/" + itoa(r.rounds[0].ID)
	code, _, roundPage := page(t, vol, own)
	if code != http.StatusOK || !strings.Contains(roundPage, "1 Acre Lane") {
		t.Fatalf("own round (%d):\n%s", code, roundPage)
	}
	csrf := csrfRE.FindStringSubmatch(roundPage)[1]
	res, _ = vol.Get(own + "/files/" + r.rounds[0].Files[0])
	if pdf := body(t, res); res.StatusCode != http.StatusOK || !strings.HasPrefix(pdf, "%PDF-") {
		t.Errorf("own round's PDF: %d", res.StatusCode)
	}
	for _, bad := range []string{"..%2F..%2Fetc%2Fpasswd", "round-999-leaflets.pdf"} {
		if code, _, _ := page(t, vol, own+"/files/"+bad); code != http.StatusNotFound {
			t.Errorf("file %q: %d", bad, code)
		}
	}

	// CSRF: a form post without the token changes nothing.
	res, _ = vol.PostForm(own+"/doors/1", url.Values{"outcome": {"delivered"}})
	if body(t, res); res.StatusCode != http.StatusForbidden {
		t.Errorf("POST without CSRF: %d", res.StatusCode)
	}
	res, _ = vol.PostForm(own+"/doors/1", url.Values{"outcome": {"delivered"}, "csrf": {"forged"}})
	if body(t, res); res.StatusCode != http.StatusForbidden {
		t.Errorf("POST with a forged CSRF token: %d", res.StatusCode)
	}
	// A form over the size cap says so (not "form expired", which it would look like
	// with its token cut off).
	res, _ = vol.PostForm(own+"/doors/1", url.Values{"csrf": {csrf}, "outcome": {"delivered"}, "reason": {strings.Repeat("x", 70<<10)}})
	if b := body(t, res); res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(b, "over 64 KB") {
		t.Errorf("oversized POST: %d %s", res.StatusCode, b)
	}
	var delivered int
	r.db.Get(&delivered, `SELECT count(*) FROM round_stops WHERE state = 'delivered'`)
	if delivered != 0 {
		t.Fatal("a refused form changed a door")
	}
	// With the token: one tap records the door and its post message.
	res, _ = vol.PostForm(own+"/doors/1", url.Values{"outcome": {"delivered"}, "csrf": {csrf}})
	if body(t, res); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("deliver: %d", res.StatusCode)
	}
	res, _ = vol.PostForm(own+"/doors/2", url.Values{"outcome": {"not_delivered"}, "csrf": {csrf}})
	if b := body(t, res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b, "choose or write why") {
		t.Errorf("not delivered without a reason: %d", res.StatusCode)
	}
	res, _ = vol.PostForm(own+"/doors/2", url.Values{"outcome": {"not_delivered"}, "reason": {"No letterbox"}, "csrf": {csrf}})
	body(t, res)
	var states string
	r.db.Get(&states, `SELECT string_agg(state || ':' || reason, ',' ORDER BY id) FROM outbox WHERE channel = 'post' AND state IN ('delivered', 'failed')`)
	if states != "delivered:,failed:could not deliver: No letterbox" {
		t.Errorf("post messages after the volunteer's taps: %q", states)
	}

	// Signing out ends the session.
	res, _ = vol.PostForm(r.srv.URL+"/logout", url.Values{"csrf": {csrf}})
	body(t, res)
	if code, _, _ := page(t, vol, own); code != http.StatusSeeOther {
		t.Errorf("after signing out: %d", code)
	}

	// The officer sees the dashboard with the paper channel's progress, and the replies.
	off := r.client(t)
	r.login(t, off, "jo@council.example", appPassword)
	code, _, dash := page(t, off, r.srv.URL+"/")
	if code != http.StatusOK || !strings.Contains(dash, "Bin day leaflet") || !regexp.MustCompile(`Printed leaflet: \d+ of \d+ done`).MatchString(dash) ||
		!regexp.MustCompile(`data-n="delivered"><span class="n">1</span>`).MatchString(dash) ||
		!regexp.MustCompile(`data-n="failed"><span class="n">1</span>`).MatchString(dash) ||
		!regexp.MustCompile(`<th scope="row">Residents</th><td>\d+</td>`).MatchString(dash) {
		t.Errorf("dashboard (%d):\n%s", code, dash)
	}
	if code, _, _ := page(t, off, r.srv.URL+"/replies"); code != http.StatusOK {
		t.Errorf("officer replies: %d", code)
	}
	// live.js's own polling doesn't keep the officer signed in; their requests do.
	lastSeen := func() (at time.Time) {
		r.db.Get(&at, `SELECT max(s.last_seen_at) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'jo@council.example'`)
		return at
	}
	before := lastSeen()
	req, _ := http.NewRequest("GET", r.srv.URL+"/campaigns/"+itoa(r.campaignID)+"/progress", nil)
	req.Header.Set("X-Crier-Live", "1")
	res, err := off.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if b := body(t, res); res.StatusCode != http.StatusOK || !strings.Contains(b, "Printed leaflet") || !lastSeen().Equal(before) {
		t.Errorf("live progress poll: %d, session seen %v → %v (want unchanged)", res.StatusCode, before, lastSeen())
	}
	if code, _, _ := page(t, off, r.srv.URL+"/campaigns/"+itoa(r.campaignID)+"/progress"); code != http.StatusOK || !lastSeen().After(before) {
		t.Errorf("the officer's own request: %d, session not extended", code)
	}
}

func TestLoginIsRateLimitedAndNeedsItsToken(t *testing.T) {
	r := newAppRig(t)
	c := r.client(t)
	// No token: refused before any password is checked.
	res, _ := c.PostForm(r.srv.URL+"/login", url.Values{"email": {"jo@council.example"}, "password": {appPassword}})
	if body(t, res); res.StatusCode != http.StatusForbidden {
		t.Errorf("login without its token: %d", res.StatusCode)
	}
	for i := range 5 {
		res, _ := r.login(t, c, "jo@council.example", "wrong password "+itoa(int64(i)))
		if b := body(t, res); res.StatusCode != http.StatusUnauthorized || !strings.Contains(b, "not right") {
			t.Fatalf("bad password %d: %d", i, res.StatusCode)
		}
	}
	// The sixth try is refused even with the right password.
	res, _ = r.login(t, c, "jo@council.example", appPassword)
	if b := body(t, res); res.StatusCode != http.StatusTooManyRequests || !strings.Contains(b, "Too many attempts") {
		t.Errorf("after 5 failures: %d", res.StatusCode)
	}
	// Unknown accounts get the same answer as wrong passwords.
	other := r.client(t)
	res, _ = r.login(t, other, "nobody@council.example", appPassword)
	if b := body(t, res); res.StatusCode != http.StatusUnauthorized || !strings.Contains(b, "not right") {
		t.Errorf("unknown account: %d", res.StatusCode)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
