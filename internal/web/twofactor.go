package web

// Two-factor sign-in (issue 14): the second step after the password, an account's
// enrolment page, and the admins' switch that requires it.

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/skip2/go-qrcode"

	"github.com/crierhq/crier/internal/auth"
)

// pendingCookie holds a sign-in that passed its password and waits for its code.
const pendingCookie = "crier_2fa"

const twoFactorPath = "/account/two-factor"

// registerTwoFactor adds the two-factor pages to mux.
func (s *Server) registerTwoFactor(mux *http.ServeMux) {
	if s.app.TwoFactor == nil {
		return
	}
	everyone := []string{auth.Officer, auth.Volunteer}
	mux.HandleFunc("GET /login/code", s.handleCodeForm)
	mux.HandleFunc("POST /login/code", s.handleCode)
	mux.HandleFunc("GET "+twoFactorPath, s.withUser(everyone, s.handleTwoFactor))
	mux.HandleFunc("POST "+twoFactorPath, s.withUser(everyone, s.handleTwoFactorOn))
	mux.HandleFunc("POST "+twoFactorPath+"/off", s.withUser(everyone, s.handleTwoFactorOff))
	mux.HandleFunc("GET /admin/security", s.withUser([]string{auth.Admin}, s.handleSecurity))
	mux.HandleFunc("POST /admin/security", s.withUser([]string{auth.Admin}, s.handleSecuritySave))
}

// secondStep is handleLogin's turn after a right password: a user with two-factor on
// gets no session yet, only a pending sign-in (a cookie for five minutes) and the page
// asking for their code. It says whether it answered the request.
func (s *Server) secondStep(w http.ResponseWriter, r *http.Request, u *auth.User) bool {
	if s.app.TwoFactor == nil {
		return false
	}
	on, err := s.app.TwoFactor.Enabled(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	if !on {
		return false
	}
	token, err := s.app.TwoFactor.StartPending(r.Context(), u, safeNext(r.PostFormValue("next")))
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	s.setCookie(w, pendingCookie, token, int(auth.PendingLife.Seconds()))
	s.setCookie(w, loginCSRF, "", -1)
	http.Redirect(w, r, "/login/code", http.StatusSeeOther)
	return true
}

// mustEnrol is withUser's check that an officer or admin whom two-factor is required of
// has turned it on: until then every page but enrolment (and signing out) sends them
// there. It says whether it answered the request.
func (s *Server) mustEnrol(w http.ResponseWriter, r *http.Request, sess *auth.Session) bool {
	if s.app.TwoFactor == nil || r.URL.Path == twoFactorPath || r.URL.Path == "/logout" {
		return false
	}
	must, err := s.app.TwoFactor.MustEnrol(r.Context(), &sess.User)
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	if !must {
		return false
	}
	if r.Method == http.MethodGet {
		http.Redirect(w, r, twoFactorPath, http.StatusSeeOther)
		return true
	}
	s.render(w, http.StatusForbidden, "message.html", page{Title: "Set up two-factor sign-in first", OrgName: s.brand.OrgName,
		Message: "Your organisation requires two-factor sign-in. Set it up at " + twoFactorPath + " and try again.", Session: sess})
	return true
}

// codeView is the second step's page.
type codeView struct {
	TriesLeft int
}

func (s *Server) pendingOf(r *http.Request) (string, *auth.Pending, error) {
	c, _ := r.Cookie(pendingCookie)
	if c == nil || c.Value == "" {
		return "", nil, auth.ErrNoPending
	}
	p, err := s.app.TwoFactor.Pending(r.Context(), c.Value)
	return c.Value, p, err
}

// startAgain sends someone whose pending sign-in has gone back to the password.
func (s *Server) startAgain(w http.ResponseWriter, code int) {
	s.setCookie(w, pendingCookie, "", -1)
	token := auth.NewCSRF()
	s.setCookie(w, loginCSRF, token, 3600)
	s.render(w, code, "login.html", page{Title: "Sign in", OrgName: s.brand.OrgName, CSRF: token,
		Error: "Your sign-in has expired, or had too many wrong codes. Sign in again."})
}

// handleCodeForm asks for the code of a pending sign-in.
func (s *Server) handleCodeForm(w http.ResponseWriter, r *http.Request) {
	_, p, err := s.pendingOf(r)
	if errors.Is(err, auth.ErrNoPending) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "twofactor_login.html", page{Title: "Enter your code", OrgName: s.brand.OrgName, CSRF: p.CSRF,
		Data: codeView{TriesLeft: p.TriesLeft}})
}

// handleCode takes the code (or a recovery code) of a pending sign-in and, if it is
// right, starts the session.
func (s *Server) handleCode(w http.ResponseWriter, r *http.Request) {
	token, p, err := s.pendingOf(r)
	if errors.Is(err, auth.ErrNoPending) {
		s.startAgain(w, http.StatusUnauthorized)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(p.CSRF)) != 1 {
		s.render(w, http.StatusForbidden, "message.html", page{Title: "This form has expired", OrgName: s.brand.OrgName,
			Message: "Go back, reload the page and try again."})
		return
	}
	u, next, err := s.app.TwoFactor.Finish(r.Context(), token, r.PostFormValue("code"), s.clientIP(r))
	var wrong *auth.CodeError
	var limited *auth.RateLimitError
	switch {
	case errors.As(err, &wrong):
		msg := "That code is not right. Check the time on your phone, or use a recovery code."
		if errors.Is(err, auth.ErrCodeUsed) {
			msg = "That code has been used already. Wait for the next code and enter it."
		}
		msg += " Tries left: " + strconv.Itoa(wrong.TriesLeft) + "."
		s.render(w, http.StatusUnauthorized, "twofactor_login.html", page{Title: "Enter your code", OrgName: s.brand.OrgName,
			CSRF: p.CSRF, Error: msg, Data: codeView{TriesLeft: wrong.TriesLeft}})
		return
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(int(limited.Wait.Seconds())))
		s.setCookie(w, pendingCookie, "", -1)
		token := auth.NewCSRF()
		s.setCookie(w, loginCSRF, token, 3600)
		s.render(w, http.StatusTooManyRequests, "login.html", page{Title: "Sign in", OrgName: s.brand.OrgName, CSRF: token,
			Error: "Too many wrong codes. Wait " + waitWords(limited.Wait) + " and sign in again."})
		return
	case errors.Is(err, auth.ErrNoPending), errors.Is(err, auth.ErrNotEnrolled):
		s.startAgain(w, http.StatusUnauthorized)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	session, _, err := s.app.Auth.StartSession(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.auditLogin(r, u.Email, u, nil)
	s.setCookie(w, sessionCookie, session, 0)
	s.setCookie(w, pendingCookie, "", -1)
	if next = safeNext(next); next == "" {
		next = "/"
		if u.Role == auth.Volunteer {
			next = "/rounds"
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// twoFactorView is the enrolment page.
type twoFactorView struct {
	On       bool
	Required bool         // the organisation requires it of this account
	QR       template.URL // the otpauth:// URL as a PNG data: URL, made here
	Secret   string       // the same secret, in groups of four for typing in
	Codes    []string     // just turned on: the recovery codes, shown this once
}

// twoFactorPage shows an account's two-factor state: on (with the form to turn it off),
// or the QR code and secret to set it up.
func (s *Server) twoFactorPage(w http.ResponseWriter, r *http.Request, code int, errMsg string) {
	sess := sessionOf(r)
	tf := s.app.TwoFactor
	var v twoFactorView
	var err error
	if v.On, err = tf.Enabled(r.Context(), sess.User.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	if v.Required, err = tf.Required(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	v.Required = v.Required && sess.User.Role != auth.Volunteer
	if !v.On {
		e, err := tf.Begin(r.Context(), &sess.User, s.brand.OrgName)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		png, err := qrcode.Encode(e.URL, qrcode.Medium, -6) // whole pixels per module: crisp for any camera
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// Our own PNG, not user data: html/template would refuse a data: URL otherwise.
		v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
		v.Secret = groupsOf4(e.Secret)
	}
	s.render(w, code, "twofactor.html", page{Title: "Two-factor sign-in", OrgName: s.brand.OrgName, Session: sess,
		Error: errMsg, Data: v})
}

func groupsOf4(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// handleTwoFactor shows the enrolment page.
func (s *Server) handleTwoFactor(w http.ResponseWriter, r *http.Request) {
	s.twoFactorPage(w, r, http.StatusOK, "")
}

// handleTwoFactorOn turns two-factor on once the first code from the app is right, and
// shows the recovery codes once.
func (s *Server) handleTwoFactorOn(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r)
	codes, err := s.app.TwoFactor.Confirm(r.Context(), sess.User.ID, r.PostFormValue("code"))
	switch {
	case errors.Is(err, auth.ErrBadCode):
		s.twoFactorPage(w, r, http.StatusUnprocessableEntity, "That code is not right. Enter the 6-digit code your app shows now.")
		return
	case errors.Is(err, auth.ErrNotEnrolled): // on already, or turned off in another tab
		http.Redirect(w, r, twoFactorPath, http.StatusSeeOther)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "two-factor turned on", "user_id", sess.User.ID)
	s.render(w, http.StatusOK, "twofactor.html", page{Title: "Two-factor sign-in is on", OrgName: s.brand.OrgName, Session: sess,
		Data: twoFactorView{On: true, Codes: codes}})
}

// handleTwoFactorOff turns two-factor off, which takes a current code or a recovery code.
func (s *Server) handleTwoFactorOff(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r)
	err := s.app.TwoFactor.Disable(r.Context(), sess.User.ID, r.PostFormValue("code"))
	var limited *auth.RateLimitError
	switch {
	case errors.Is(err, auth.ErrBadCode), errors.Is(err, auth.ErrCodeUsed):
		s.twoFactorPage(w, r, http.StatusUnprocessableEntity, "That code is not right. Enter the code your app shows now, or a recovery code.")
		return
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(int(limited.Wait.Seconds())))
		s.twoFactorPage(w, r, http.StatusTooManyRequests, "Too many wrong codes. Wait "+waitWords(limited.Wait)+" and try again.")
		return
	case errors.Is(err, auth.ErrNotEnrolled):
		http.Redirect(w, r, twoFactorPath, http.StatusSeeOther)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "two-factor turned off", "user_id", sess.User.ID)
	http.Redirect(w, r, twoFactorPath, http.StatusSeeOther)
}

// handleSecurity shows admins whether two-factor sign-in is required.
func (s *Server) handleSecurity(w http.ResponseWriter, r *http.Request) {
	on, err := s.app.TwoFactor.Required(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "twofactor_admin.html", page{Title: "Security", OrgName: s.brand.OrgName, Session: sessionOf(r),
		Data: on})
}

// handleSecuritySave requires two-factor sign-in of officers and admins, or stops.
func (s *Server) handleSecuritySave(w http.ResponseWriter, r *http.Request) {
	on := r.PostFormValue("require_2fa") == "on"
	if err := s.app.TwoFactor.SetRequired(r.Context(), on); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "two-factor requirement changed", "user_id", sessionOf(r).User.ID, "required", on)
	http.Redirect(w, r, "/admin/security", http.StatusSeeOther)
}
