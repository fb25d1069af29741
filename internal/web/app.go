package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/printrun"
)

// The cookies.
const (
	sessionCookie = "crier_session"
	loginCSRF     = "crier_login_csrf"
)

// App is the signed-in side of the web server: officers' and volunteers' pages.
type App struct {
	Auth   *auth.Store
	Rounds *printrun.Store
	Inbox  *inbox.Store // replies (read-only here); may be nil without SMS
	// SecureCookies marks cookies Secure (served over https, as CRIER_PUBLIC_URL says).
	SecureCookies bool
	// SMSPrice is what one SMS segment costs, in pounds (CRIER_SMS_PRICE), for the
	// campaign editor's cost estimate; 0 shows no estimate.
	SMSPrice float64
	// PublicURL is where residents reach crier (CRIER_PUBLIC_URL): the campaign editor's
	// leaflet preview prints its QR code and link to the campaign's page there, as the
	// printed leaflet does; empty previews the leaflet without them.
	PublicURL string
	// Mail sends one email now, outside any campaign run: sign-up confirmations and
	// officers' test sends. It is the e-bulletins' SMTP sender; nil when none is
	// configured, and those pages say so rather than pretend.
	Mail dispatch.Sender
	// MailFrom is the From of those emails (CRIER_FROM, "Name <address>").
	MailFrom string
	// SMS sends one text now, outside any campaign run: the codes that confirm a mobile
	// given at sign-up. It is the sender officers' replies use (Twilio, or the sandbox);
	// nil when none is configured, and sign-up then sets up email only and says so.
	SMS dispatch.Sender
	// TwoFactor is two-factor sign-in (issue 14); nil turns it off: no second step, no
	// enrolment pages.
	TwoFactor *auth.TwoFactor
	// LeafletDir is where print runs officers start on the web are written (as crier
	// leaflets print --out); empty is "leaflets", the CLI's default.
	LeafletDir string
	// LeafletLogo is the council's logo (PNG, CRIER_LOGO_FILE) printed on leaflets and
	// shown in their previews; nil for none.
	LeafletLogo []byte
	printHold   atomic.Pointer[func(done, total int)] // tests only: see HoldPrints

	reach reachMemo // the dashboard's reach, counted at most once a minute
}

type ctxKey struct{}

// liveHeader marks the requests static/live.js makes by itself.
const liveHeader = "X-Crier-Live"

// sessionOf returns the request's session, or nil.
func sessionOf(r *http.Request) *auth.Session {
	s, _ := r.Context().Value(ctxKey{}).(*auth.Session)
	return s
}

// withUser requires a signed-in user with one of roles. An anonymous GET is sent to the
// login page; anything else anonymous gets 401; a signed-in user without the role gets
// 403. Every POST must carry the session's CSRF token.
func (s *Server) withUser(roles []string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Cookie(sessionCookie)
		var token string
		if c != nil {
			token = c.Value
		}
		lookup := s.app.Auth.Session
		if r.Method == http.MethodGet && r.Header.Get(liveHeader) != "" {
			lookup = s.app.Auth.Peek // the page polls by itself: that isn't the officer at work
		}
		sess, err := lookup(r.Context(), token)
		switch {
		case errors.Is(err, auth.ErrNoSession):
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.render(w, http.StatusUnauthorized, "message.html", page{Title: "Please sign in", OrgName: s.brand.OrgName,
				Message: "Your session has ended. Sign in again to carry on."})
			return
		case err != nil:
			s.fail(w, r, err)
			return
		}
		if s.mustEnrol(w, r, sess) {
			return
		}
		if !sess.User.Can(roles...) {
			s.render(w, http.StatusForbidden, "message.html", page{Title: "Not for your account", OrgName: s.brand.OrgName,
				Message: "This page is for " + strings.Join(roles, " and ") + " accounts.", Session: sess})
			return
		}
		if r.Method == http.MethodPost {
			// Read the whole form now: a body over the cap must say so, not look like a
			// form without its token.
			// (ParseMultipartForm alone drops ParseForm's error on a url-encoded body.)
			err := r.ParseForm()
			if err == nil {
				if err = r.ParseMultipartForm(32 << 20); errors.Is(err, http.ErrNotMultipart) {
					err = nil
				}
			}
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				w.Header().Set("Connection", "close")
				s.render(w, http.StatusRequestEntityTooLarge, "message.html", page{Title: "This is too long to save", OrgName: s.brand.OrgName,
					Message: fmt.Sprintf("What you sent is over %d KB, the most this form takes, so nothing was saved. Go back and shorten it: put long documents on your website and link to them.", tooBig.Limit>>10),
					Session: sess})
				return
			case err != nil:
				s.render(w, http.StatusBadRequest, "message.html", page{Title: "The form could not be read", OrgName: s.brand.OrgName,
					Message: "Go back, reload the page and try again.", Session: sess})
				return
			}
		}
		if r.Method == http.MethodPost && !sess.ValidCSRF(r.PostFormValue("csrf")) {
			s.render(w, http.StatusForbidden, "message.html", page{Title: "This form has expired", OrgName: s.brand.OrgName,
				Message: "Go back, reload the page and try again.", Session: sess})
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)))
	}
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: s.app.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	token := auth.NewCSRF()
	s.setCookie(w, loginCSRF, token, 3600)
	s.render(w, http.StatusOK, "login.html", page{Title: "Sign in", OrgName: s.brand.OrgName, CSRF: token,
		Next: safeNext(r.URL.Query().Get("next"))})
}

// safeNext keeps a post-login redirect on this site: a path starting with one "/",
// with no backslash and no control character anywhere (browsers drop tabs and line
// breaks from a URL, so "/\t/evil.example" would become "//evil.example").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f }) {
		return ""
	}
	return next
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	c, _ := r.Cookie(loginCSRF)
	form := r.PostFormValue("csrf")
	if c == nil || form == "" || c.Value != form {
		s.render(w, http.StatusForbidden, "message.html", page{Title: "This form has expired", OrgName: s.brand.OrgName,
			Message: "Go back, reload the sign-in page and try again."})
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	u, err := s.app.Auth.Authenticate(r.Context(), email, r.PostFormValue("password"), s.clientIP(r))
	if err != nil {
		s.auditLogin(r, email, u, err)
		code, msg := http.StatusUnauthorized, "The email address or password is not right."
		var limited *auth.RateLimitError
		if errors.As(err, &limited) {
			code, msg = http.StatusTooManyRequests, "Too many attempts. Wait "+waitWords(limited.Wait)+" and try again."
			w.Header().Set("Retry-After", strconv.Itoa(int(limited.Wait.Seconds())))
		} else if !errors.Is(err, auth.ErrBadLogin) {
			s.fail(w, r, err)
			return
		}
		token := auth.NewCSRF()
		s.setCookie(w, loginCSRF, token, 3600)
		s.render(w, code, "login.html", page{Title: "Sign in", OrgName: s.brand.OrgName, CSRF: token, Email: email,
			Error: msg, Next: safeNext(r.PostFormValue("next"))})
		return
	}
	if s.secondStep(w, r, u) {
		return
	}
	token, _, err := s.app.Auth.StartSession(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Recorded once the session starts: with two-factor on, that is after the code.
	s.auditLogin(r, email, u, nil)
	s.setCookie(w, sessionCookie, token, 0)
	s.setCookie(w, loginCSRF, "", -1)
	next := safeNext(r.PostFormValue("next"))
	if next == "" {
		next = "/"
		if u.Role == auth.Volunteer {
			next = "/rounds"
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// waitWords says a wait in words: "10 seconds", "a minute", "15 minutes".
func waitWords(d time.Duration) string {
	switch secs := int(d.Round(time.Second).Seconds()); {
	case secs <= 1:
		return "a second"
	case secs < 60:
		return strconv.Itoa(secs) + " seconds"
	case secs < 120:
		return "a minute"
	default:
		return strconv.Itoa((secs+59)/60) + " minutes"
	}
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	s.record(r, audit.Entry{Action: audit.SignOut, SubjectType: "user", SubjectID: audit.ID(sessionOf(r).User.ID)})
	if c, _ := r.Cookie(sessionCookie); c != nil {
		if err := s.app.Auth.EndSession(r.Context(), c.Value); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type dashboardCampaign struct {
	ID       int64
	Name     string
	Progress *progressView
	Live     bool // still changing: the block updates itself
}

// dashboardView is what the dashboard shows.
type dashboardView struct {
	Campaigns []dashboardCampaign
	Unread    int
	Reach     contact.WardReach // the whole borough, for the general topic
	ReachAt   string            // when it was counted ("14:05")
	Health    []channelHealth   // the sending channels, as the dispatcher last found them
}

// dashboardReachTTL is how long the dashboard's reach is reused: counting it reads every
// contact, and the dashboard is the page officers open most.
const dashboardReachTTL = time.Minute

// reachMemo keeps the borough's reach for dashboardReachTTL.
type reachMemo struct {
	mu  sync.Mutex
	at  time.Time
	tot contact.WardReach
}

func (s *Server) dashboardReach(ctx context.Context) (contact.WardReach, time.Time, error) {
	m := &s.app.reach
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.at.IsZero() && time.Since(m.at) < dashboardReachTTL {
		return m.tot, m.at, nil
	}
	wards, err := contact.NewStore(s.db, s.log).Reach(ctx, "general")
	if err != nil {
		return contact.WardReach{}, time.Time{}, err
	}
	var tot contact.WardReach
	for _, w := range wards {
		tot.Add(w)
	}
	m.tot, m.at = tot, time.Now()
	return tot, m.at, nil
}

// handleDashboard shows an officer the recent campaigns with progress per channel (the
// campaign page's block, updating itself while they send), the replies waiting, and how
// many residents can be reached how.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r)
	if sess.User.Role == auth.Volunteer {
		http.Redirect(w, r, "/rounds", http.StatusSeeOther)
		return
	}
	cs := campaign.NewStore(s.db, s.log)
	list, err := cs.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list = list[:min(len(list), 10)]
	ids := make([]int64, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	counts, err := cs.StatusOf(r.Context(), ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var v dashboardView
	for _, c := range list {
		p := campaignProgress(c, counts[c.ID])
		v.Campaigns = append(v.Campaigns, dashboardCampaign{ID: c.ID, Name: c.Name, Progress: p,
			Live: !p.Done && c.State != campaign.Draft})
	}
	if s.app.Inbox != nil {
		convs, err := s.app.Inbox.List(r.Context(), inbox.Filter{Unread: true, Limit: 1000})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Unread = len(convs)
	}
	tot, at, err := s.dashboardReach(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Reach, v.ReachAt = tot, at.In(campaign.London).Format("15:04")
	if v.Health, err = s.healthOf(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "dashboard.html", page{Title: "Dashboard", OrgName: s.brand.OrgName, Session: sess, Data: v})
}

// registerApp adds the signed-in pages to mux.
func (s *Server) registerApp(mux *http.ServeMux) {
	officers := []string{auth.Officer}
	everyone := []string{auth.Officer, auth.Volunteer}
	mux.HandleFunc("GET /login", s.handleLoginForm)
	mux.HandleFunc("POST /login", s.handleLogin)
	mux.HandleFunc("POST /logout", s.withUser(everyone, s.handleLogout))
	mux.HandleFunc("GET /{$}", s.withUser(everyone, s.handleDashboard))
	mux.HandleFunc("GET /replies", s.withUser(officers, s.handleReplies))
	s.registerRounds(mux)
	s.registerInbox(mux)
	s.registerContacts(mux)
	s.registerResults(mux)
	s.registerCampaignEditor(mux)
	s.registerSegments(mux)
	s.registerResend(mux)
	s.registerAdmin(mux)
	s.registerTwoFactor(mux)
}

// OfficerRoutes lists the officer-only pages (with placeholder ids), for authorisation
// tests.
var OfficerRoutes = append([]string{"/replies", "/contacts", "/contacts/1", importPath, "/campaigns", "/campaigns/1/results",
	"/reach", "/campaigns/new", "/campaigns/1/edit", "/campaigns/1/preview/email", "/segments", "/segments/new", "/segments/1"}, InboxRoutes...)
