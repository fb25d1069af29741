package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
)

// resetCSRF is the reset page's double-submit cookie (nobody is signed in there).
const resetCSRF = "crier_reset_csrf"

// auditPageSize is how many entries the audit page shows at once.
const auditPageSize = 50

// registerAdmin adds the admins' pages, and the page a reset link opens.
func (s *Server) registerAdmin(mux *http.ServeMux) {
	admins := []string{auth.Admin}
	mux.HandleFunc("GET /admin/audit", s.withUser(admins, s.handleAudit))
	mux.HandleFunc("GET /admin/audit.csv", s.withUser(admins, s.handleAuditCSV))
	mux.HandleFunc("GET /admin/users", s.withUser(admins, s.handleUsers))
	mux.HandleFunc("POST /admin/users", s.withUser(admins, s.handleUserAdd))
	mux.HandleFunc("POST /admin/users/{id}/{action}", s.withUser(admins, s.handleUserChange))
	mux.HandleFunc("GET /reset/{token}", s.handleResetForm)
	mux.HandleFunc("POST /reset/{token}", s.handleReset)
}

// AdminRoutes lists the admin-only pages, for authorisation tests.
var AdminRoutes = []string{"/admin/audit", "/admin/audit.csv", "/admin/users"}

// entry fills in who did it and from where: the signed-in account (its email as it is
// now) and the client's address.
func (s *Server) entry(r *http.Request, e audit.Entry) audit.Entry {
	if sess := sessionOf(r); sess != nil {
		id := sess.User.ID
		e.ActorID, e.Actor = &id, sess.User.Email
	}
	e.Client = s.clientIP(r)
	return e
}

// record appends an entry for what the signed-in officer did, after the fact. The
// action has happened, so a failure to record is logged for the operator rather than
// shown as the action failing.
func (s *Server) record(r *http.Request, e audit.Entry) {
	e = s.entry(r, e)
	if err := audit.Record(context.WithoutCancel(r.Context()), s.db, e); err != nil {
		s.log.ErrorContext(r.Context(), "audit entry not recorded", "action", e.Action, "subject_id", e.SubjectID, "err", err)
	}
}

// auditCampaign returns the request's context carrying the entry for the officer's
// change to campaign id, which the campaign store records in the change's own
// transaction (audit.Within).
func (s *Server) auditCampaign(r *http.Request, action string, id int64, detail map[string]any) context.Context {
	return audit.Within(r.Context(), s.entry(r, audit.Entry{Action: action, SubjectType: "campaign", SubjectID: audit.ID(id), Detail: detail}))
}

// auditLogin records a sign-in, or a failed one for an existing account (a failure
// for an address with no account records no address: it may be anybody's, or a
// password typed in the wrong box). Attempts refused by the rate limit aren't
// recorded one by one: login_attempts has them, and an attack would flood the log.
func (s *Server) auditLogin(r *http.Request, login string, u *auth.User, err error) {
	e := audit.Entry{Action: audit.SignIn, SubjectType: "user"}
	switch {
	case err == nil:
	case errors.Is(err, auth.ErrBadLogin):
		e.Action = audit.SignInFailed
		known, gerr := s.app.Auth.Get(r.Context(), login)
		if gerr != nil {
			e.Actor = "unknown"
			s.record(r, e)
			return
		}
		u = known
	default:
		return
	}
	id := u.ID
	e.ActorID, e.Actor, e.SubjectID = &id, u.Email, audit.ID(u.ID)
	e.Client = s.clientIP(r)
	if err := audit.Record(context.WithoutCancel(r.Context()), s.db, e); err != nil {
		s.log.ErrorContext(r.Context(), "audit entry not recorded", "action", e.Action, "user_id", u.ID, "err", err)
	}
}

type auditView struct {
	Entries []auditRow
	Actions []string
	Action  string
	Actor   string
	CSV     string // the export link, with the same filters
	Older   string // the next page's link; empty on the last
}

type auditRow struct {
	audit.Entry
	When    string
	Subject string
}

// auditFilter reads the page's filters from the query.
func auditFilter(r *http.Request) audit.Filter {
	q := r.URL.Query()
	f := audit.Filter{Action: strings.TrimSpace(q.Get("action")), Actor: strings.TrimSpace(q.Get("actor"))}
	f.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	return f
}

// handleAudit shows the audit log, newest first, a page at a time, filtered by action
// and actor.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	f := auditFilter(r)
	f.Limit = auditPageSize + 1
	entries, err := audit.List(r.Context(), s.db, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	filters := url.Values{}
	if f.Action != "" {
		filters.Set("action", f.Action)
	}
	if f.Actor != "" {
		filters.Set("actor", f.Actor)
	}
	v := auditView{Actions: audit.Actions, Action: f.Action, Actor: f.Actor, CSV: "/admin/audit.csv"}
	if len(filters) > 0 {
		v.CSV += "?" + filters.Encode()
	}
	if len(entries) > auditPageSize {
		entries = entries[:auditPageSize]
		older := url.Values{}
		for k, vs := range filters {
			older[k] = vs
		}
		older.Set("before", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		v.Older = "/admin/audit?" + older.Encode()
	}
	for _, e := range entries {
		row := auditRow{Entry: e, When: e.At.In(campaign.London).Format("2 Jan 2006 15:04:05"), Subject: e.SubjectType}
		if e.SubjectID != "" {
			row.Subject += " " + e.SubjectID
		}
		v.Entries = append(v.Entries, row)
	}
	s.render(w, http.StatusOK, "admin_audit.html", page{Title: "Audit log", OrgName: s.brand.OrgName, Session: sessionOf(r), Data: v})
}

// handleAuditCSV downloads every entry the filters select, as CSV. The export is
// recorded before it is sent: an export that can't be recorded isn't made.
func (s *Server) handleAuditCSV(w http.ResponseWriter, r *http.Request) {
	f := auditFilter(r)
	f.Before = 0
	entries, err := audit.List(r.Context(), s.db, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := audit.Record(r.Context(), s.db, s.entry(r, audit.Entry{Action: audit.AuditExport, SubjectType: "audit_log",
		Detail: map[string]any{"rows": len(entries), "action": f.Action, "actor": f.Actor}})); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="crier-audit-`+time.Now().In(campaign.London).Format("2006-01-02")+`.csv"`)
	if err := audit.WriteCSV(w, entries); err != nil {
		s.log.ErrorContext(r.Context(), "audit csv", "err", err)
	}
}

type usersView struct {
	Users  []auth.User
	Roles  []string
	Self   int64
	Notice string
	// Link is a reset link just made, shown this once; LinkFor says whose it is.
	Link, LinkFor, LinkUntil string
	Form                     struct{ Email, Name, Role string }
}

// userNotices are the users page's notices after a change (?done=).
var userNotices = map[string]string{
	"disable": "The account is disabled, and its sessions have ended.",
	"enable":  "The account can sign in again.",
	"role":    "The role is changed; it applies from the account’s next page.",
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, code int, v usersView, errMsg string) {
	users, err := s.app.Auth.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Users, v.Roles, v.Self = users, auth.Roles, sessionOf(r).User.ID
	if v.Form.Role == "" {
		v.Form.Role = auth.Officer
	}
	s.render(w, code, "admin_users.html", page{Title: "Accounts", OrgName: s.brand.OrgName, Session: sessionOf(r),
		Error: errMsg, Data: v})
}

// handleUsers lists the accounts, with what an admin can do to each.
func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) {
	s.renderUsers(w, r, http.StatusOK, usersView{Notice: userNotices[r.URL.Query().Get("done")]}, "")
}

// newPassword is a password nobody knows, for an account whose owner sets their own
// with a reset link.
func newPassword() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// handleUserAdd adds an account and shows a link for its owner to set their password.
func (s *Server) handleUserAdd(w http.ResponseWriter, r *http.Request) {
	var v usersView
	v.Form.Email, v.Form.Name, v.Form.Role = strings.TrimSpace(r.PostFormValue("email")), strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("role")
	u, err := s.app.Auth.AddRecorded(r.Context(), v.Form.Email, v.Form.Name, v.Form.Role, newPassword(),
		s.recordUser(r, audit.UserAdd, map[string]any{"role": v.Form.Role}))
	if errors.Is(err, auth.ErrInvalid) || errors.Is(err, auth.ErrExists) {
		s.renderUsers(w, r, http.StatusUnprocessableEntity, v, accountError(err))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.showResetLink(w, r, u.Email, "Account added for "+u.Name+". ")
}

// showResetLink makes a reset link for the account and shows it, once.
func (s *Server) showResetLink(w http.ResponseWriter, r *http.Request, email, notice string) {
	token, u, until, err := s.app.Auth.CreateReset(r.Context(), email, sessionOf(r).User.Email, s.recordUser(r, audit.UserResetLink, nil))
	if errors.Is(err, auth.ErrInvalid) || errors.Is(err, auth.ErrNotFound) {
		s.renderUsers(w, r, http.StatusUnprocessableEntity, usersView{}, accountError(err))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	base := strings.TrimRight(s.app.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	s.renderUsers(w, r, http.StatusOK, usersView{Notice: notice, Link: base + "/reset/" + token, LinkFor: u.Name,
		LinkUntil: until.In(campaign.London).Format("Mon 2 Jan 15:04")}, "")
}

// recordUser records an account change in the change's own transaction.
func (s *Server) recordUser(r *http.Request, action string, detail map[string]any) auth.Recorder {
	return func(ctx context.Context, tx sqlx.ExecerContext, u *auth.User) error {
		return audit.Record(ctx, tx, s.entry(r, audit.Entry{Action: action, SubjectType: "user", SubjectID: audit.ID(u.ID), Detail: detail}))
	}
}

// handleUserChange disables, enables, changes the role of, or makes a reset link for
// an account.
func (s *Server) handleUserChange(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	u, err := s.app.Auth.GetByID(r.Context(), id)
	if errors.Is(err, auth.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	action := r.PathValue("action")
	switch action {
	case "disable", "enable":
		_, err = s.app.Auth.SetDisabled(r.Context(), u.Email, action == "disable", s.recordUser(r, "user."+action, nil))
	case "role":
		role := r.PostFormValue("role")
		_, _, err = s.app.Auth.SetRole(r.Context(), u.Email, role, s.recordUser(r, audit.UserRole, map[string]any{"role": role, "was": u.Role}))
	case "reset":
		s.showResetLink(w, r, u.Email, "")
		return
	default:
		http.NotFound(w, r)
		return
	}
	if errors.Is(err, auth.ErrInvalid) || errors.Is(err, auth.ErrLastAdmin) {
		s.renderUsers(w, r, http.StatusConflict, usersView{}, u.Name+": "+accountError(err))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if action == "disable" && u.ID == sessionOf(r).User.ID {
		s.setCookie(w, sessionCookie, "", -1)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/admin/users?done="+action, http.StatusSeeOther)
}

// accountError says an account error in a sentence.
func accountError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, auth.ErrInvalid.Error()+": ")
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

type resetView struct {
	Name  string
	Token string
	Done  bool
}

// handleResetForm shows the form a reset link opens.
func (s *Server) handleResetForm(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	u, err := s.app.Auth.CheckReset(r.Context(), token)
	if errors.Is(err, auth.ErrResetInvalid) {
		s.badReset(w)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	csrf := auth.NewCSRF()
	s.setCookie(w, resetCSRF, csrf, 3600)
	s.render(w, http.StatusOK, "reset.html", page{Title: "Set a new password", OrgName: s.brand.OrgName, CSRF: csrf,
		Data: resetView{Name: u.Name, Token: token}})
}

func (s *Server) badReset(w http.ResponseWriter) {
	s.render(w, http.StatusNotFound, "message.html", page{Title: "This link doesn’t work", OrgName: s.brand.OrgName,
		Message: "A password reset link works once, for 24 hours. Ask an admin for a new one."})
}

// handleReset sets the new password: the link is spent and the account's sessions end.
func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	u, err := s.app.Auth.CheckReset(r.Context(), token)
	if errors.Is(err, auth.ErrResetInvalid) {
		s.badReset(w)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, _ := r.Cookie(resetCSRF)
	form := r.PostFormValue("csrf")
	if c == nil || form == "" || c.Value != form {
		s.render(w, http.StatusForbidden, "message.html", page{Title: "This form has expired", OrgName: s.brand.OrgName,
			Message: "Go back, reload the page and try again."})
		return
	}
	pw := r.PostFormValue("password")
	var msg string
	if pw != r.PostFormValue("confirm") {
		msg = "The two passwords are not the same."
	} else if err := auth.CheckPassword(pw); err != nil {
		msg = accountError(err)
	}
	if msg == "" {
		u, err = s.app.Auth.UseReset(r.Context(), token, pw, func(ctx context.Context, tx sqlx.ExecerContext, u *auth.User) error {
			id := u.ID
			return audit.Record(ctx, tx, audit.Entry{ActorID: &id, Actor: u.Email, Action: audit.PasswordReset,
				SubjectType: "user", SubjectID: audit.ID(u.ID), Client: s.clientIP(r)})
		})
		switch {
		case errors.Is(err, auth.ErrResetInvalid):
			s.badReset(w)
			return
		case err != nil:
			s.fail(w, r, err)
			return
		}
		s.setCookie(w, resetCSRF, "", -1)
		s.render(w, http.StatusOK, "reset.html", page{Title: "Your password is set", OrgName: s.brand.OrgName,
			Data: resetView{Name: u.Name, Done: true}})
		return
	}
	s.render(w, http.StatusUnprocessableEntity, "reset.html", page{Title: "Set a new password", OrgName: s.brand.OrgName,
		CSRF: form, Error: msg, Data: resetView{Name: u.Name, Token: token}})
}
