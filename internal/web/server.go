// Package web is crier's HTTP face: health, and the residents' pages reached from
// e-bulletins (one-click unsubscribe, view in browser). The officers' and volunteers'
// pages arrive with the web app.
package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/twilio/twilio-go/client"

	"github.com/crierhq/crier/internal/api"
	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/db"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/lang"
	"github.com/crierhq/crier/internal/suppression"
	"github.com/crierhq/crier/templates"
)

// Server holds the HTTP handlers' dependencies.
type Server struct {
	db       *sqlx.DB
	signer   *email.Signer
	composer *email.Composer
	brand    email.Branding
	tmpl     *template.Template
	log      *slog.Logger
	version  string

	twilio    *TwilioHooks // nil: no SMS webhooks
	validator client.RequestValidator
	app       *App // nil: no signed-in pages
	imports   *importJobs

	prefLinkDays  int                 // how long a preference link works
	prefLinkMails *sendLimiter[int64] // fresh preference links emailed, per contact

	trustedProxies []netip.Prefix   // whose X-Forwarded-For is believed (clientIP)
	hsts           bool             // served over https: tell browsers to stay on it
	languages      []lang.Language  // residents can choose among them (more than one: a choice)
	suppression    *suppression.Key // erased residents' emails and numbers (imports, sign-ups); nil: none can be checked
	api            *api.API         // the HTTP API for integrations, under /api/
	bounces        *BounceHooks     // providers' bounce webhooks; nil: none
}

// Config configures the Server.
type Config struct {
	DB       *sqlx.DB
	Signer   *email.Signer
	Composer *email.Composer
	Branding email.Branding
	Logger   *slog.Logger
	Version  string
	Twilio   *TwilioHooks // SMS webhooks; nil when no SMS provider is configured
	App      *App         // officers' and volunteers' pages; nil for none
	// PreferencesLinkDays is how long a preference link works after it was issued
	// (CRIER_PREFERENCES_LINK_DAYS); 0 means DefaultPreferencesLinkDays.
	PreferencesLinkDays int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For (or Forwarded) names
	// the client (CRIER_TRUSTED_PROXIES); from anyone else those headers are ignored.
	TrustedProxies []netip.Prefix
	// HSTS sends Strict-Transport-Security: set when CRIER_PUBLIC_URL is https.
	HSTS bool
	// Instance names this process in import_jobs (CRIER_INSTANCE); default host-pid.
	Instance string
	// Languages residents can choose for their messages (CRIER_LANGUAGES); none: English.
	Languages []lang.Language
	// Suppression checks imports and sign-ups against the erasure suppression list; nil:
	// imports are refused once the list holds anything (suppression.ErrNoKey).
	Suppression *suppression.Key
	// DefaultRegion is the country of phone numbers without +code that the API reads
	// (CRIER_DEFAULT_REGION); default GB.
	DefaultRegion string
	// Bounces are the providers' bounce and complaint webhooks (bounces.go); nil: none.
	Bounces *BounceHooks
}

// defaultInstance is config's default instance name: the host and process id.
func defaultInstance() string {
	host, err := os.Hostname()
	if err != nil {
		host = "crier"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// New parses the web templates once and returns a Server; a missing or broken template
// is an error here, not at the first request.
func New(cfg Config) (*Server, error) {
	t, err := template.ParseFS(templates.FS, "web/*.html")
	if err != nil {
		return nil, fmt.Errorf("web templates: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{db: cfg.DB, signer: cfg.Signer, composer: cfg.Composer, brand: cfg.Branding,
		tmpl: t, log: cfg.Logger, version: cfg.Version, twilio: cfg.Twilio, app: cfg.App,
		imports:      newImportJobs(cfg.DB, cfg.Logger, cmp.Or(cfg.Instance, defaultInstance())),
		prefLinkDays: cmp.Or(cfg.PreferencesLinkDays, DefaultPreferencesLinkDays), prefLinkMails: newSendLimiter[int64](),
		trustedProxies: cfg.TrustedProxies, hsts: cfg.HSTS, languages: cfg.Languages, suppression: cfg.Suppression, bounces: cfg.Bounces}
	if cfg.Twilio != nil {
		if cfg.Twilio.AuthToken == "" || cfg.Twilio.Inbox == nil || cfg.Twilio.Outbox == nil {
			return nil, errors.New("web: Twilio webhooks need the auth token, the inbox and the outbox")
		}
		cfg.Twilio.PublicURL = strings.TrimRight(cfg.Twilio.PublicURL, "/")
		s.validator = newValidator(cfg.Twilio.AuthToken)
	}
	s.api, err = api.New(api.Config{DB: cfg.DB, Logger: cfg.Logger, Region: cfg.DefaultRegion, Suppression: cfg.Suppression,
		ScheduleCheck: s.scheduleCheck, CreateCheck: s.leafletCheck})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the routes, with security headers on every response.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.HandleFunc("GET /static/{name}", s.handleStatic)
	mux.HandleFunc("GET /u/{token}", s.handleUnsubscribeConfirm)
	mux.HandleFunc("POST /u/{token}", s.handleUnsubscribe)
	mux.HandleFunc("GET /b/{token}", s.handleViewInBrowser)
	mux.HandleFunc("GET /p/{token}", s.handlePreferences)
	mux.HandleFunc("POST /p/{token}", s.handlePreferencesSave)
	mux.HandleFunc("POST /p/{token}/all", s.handlePreferencesStopAll)
	mux.HandleFunc("POST /p/{token}/new-link", s.handlePreferencesNewLink)
	mux.HandleFunc("GET /p/{token}/sent", s.handlePreferencesNewLinkSent)
	s.registerSignup(mux)
	mux.HandleFunc("GET /c/{id}", s.handleCampaignPage)
	mux.Handle("/api/", s.api)
	if s.app != nil {
		s.registerApp(mux)
	}
	if s.twilio != nil {
		mux.HandleFunc("POST "+InboundPath, s.handleInbound)
		mux.HandleFunc("POST "+StatusPath, s.handleStatus)
	}
	if s.bounces != nil {
		mux.HandleFunc("POST "+BouncePath+"{provider}", s.handleBounceWebhook)
	}
	return s.secure(mux)
}

// formLimit bounds every request body but an import's.
const formLimit = 64 << 10

// secure sets the security headers of every response — a page holds residents' or
// officers' data unless it says otherwise, so nothing is stored by a cache — bounds
// request bodies (413 above the bound), and refuses input PostgreSQL cannot store (a NUL
// byte, invalid UTF-8) in the query or a form with 400, before any handler sees it. The
// Twilio webhooks read their own bodies: what a signed webhook carries is stored safely
// instead (see handleInbound).
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy(r.URL.Path))
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "private, no-store")
		if s.hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r) // the API bounds its own bodies and answers in JSON (internal/api)
			return
		}
		limit := int64(formLimit)
		if r.URL.Path == importPath {
			limit = maxImportBytes // an officer's CSV (importLimit answers 413 above it)
		}
		bounceHook := strings.HasPrefix(r.URL.Path, BouncePath)
		if bounceHook {
			limit = bounceLimit
		}
		if r.ContentLength > limit && r.URL.Path != importPath {
			s.refuseTooBig(w, limit)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		webhook := r.URL.Path == InboundPath || r.URL.Path == StatusPath || bounceHook
		if !webhook && r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			if err := r.ParseForm(); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					s.refuseTooBig(w, tooBig.Limit)
				} else {
					s.refuse(w, http.StatusBadRequest, "This form could not be read", "Go back, reload the page and try again.")
				}
				return
			}
		}
		if !webhook && (!storable(r.URL.Query()) || !storable(r.PostForm)) {
			s.refuse(w, http.StatusBadRequest, "Some characters can’t be used",
				"What was sent holds a character that can’t be stored (a NUL byte, or text that is not valid UTF-8). Go back, remove it and try again.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// storable says whether every key and value can be stored as PostgreSQL text: valid
// UTF-8 without NUL bytes.
func storable(v url.Values) bool {
	ok := func(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }
	for k, vs := range v {
		if !ok(k) {
			return false
		}
		for _, x := range vs {
			if !ok(x) {
				return false
			}
		}
	}
	return true
}

// refuse answers a request the server won't take with a page saying why.
func (s *Server) refuse(w http.ResponseWriter, code int, title, msg string) {
	s.render(w, code, "message.html", page{Title: title, OrgName: s.brand.OrgName, Message: msg})
}

// refuseTooBig answers 413 for a body over limit bytes.
func (s *Server) refuseTooBig(w http.ResponseWriter, limit int64) {
	w.Header().Set("Connection", "close")
	s.refuse(w, http.StatusRequestEntityTooLarge, "This is too long to save",
		fmt.Sprintf("What you sent is over %d KB, the most this form takes, so nothing was saved. Go back and shorten it: put long documents on your website and link to them.", limit>>10))
}

// The pages' Content-Security-Policy: no script but this site's own files (live.js,
// which only refreshes progress; every page works without it), images only from https (or
// inline), forms only to this site, and no site may frame a page, with two exceptions for
// the campaign editor. Its page (and its actions, which show it again on an error)
// frames the e-bulletin preview and shows the leaflet preview, both from this site; the
// e-bulletin preview may be framed by this site only, and is sandboxed besides.
const (
	policyDefault       = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src https: data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	policyEditor        = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' https: data:; style-src 'unsafe-inline'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	policyEditorPreview = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'; sandbox"
)

func contentSecurityPolicy(path string) string {
	switch {
	case campaignEditPath.MatchString(path):
		return policyEditor
	case emailPreviewPath.MatchString(path):
		return policyEditorPreview
	}
	return policyDefault
}

// handleStatic serves the embedded scripts (templates/web/static). They change only
// with the binary, so a client may keep them for an hour.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, err := fs.ReadFile(templates.FS, "web/static/"+name)
	if err != nil || !strings.HasSuffix(name, ".js") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

// handleHealth says the process is alive and serving: it asks nothing of the database,
// so a restart is not wanted just because PostgreSQL is down for a moment (see readyz).
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.writeHealth(w, http.StatusOK, "ok")
}

// handleReady says whether crier can do its work: the database answers and its schema
// is the one this binary's migrations make.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, code := "ok", http.StatusOK
	if err := s.db.PingContext(ctx); err != nil {
		status, code = "database unreachable", http.StatusServiceUnavailable
	} else if err := db.CheckSchema(ctx, s.db); err != nil {
		status, code = "database schema out of date: run crier migrate up", http.StatusServiceUnavailable
	}
	s.writeHealth(w, code, status)
}

func (s *Server) writeHealth(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"status\":%q,\"version\":%q}\n", status, s.version)
}

// unsubscribeTarget is the contact point and topic an unsubscribe link names.
func (s *Server) unsubscribeTarget(ctx context.Context, token string) (consent.PointTopic, error) {
	ids, err := s.signer.Verify("unsubscribe", token, 2)
	if err != nil {
		return consent.PointTopic{}, err
	}
	return consent.LookupPointTopic(ctx, s.db, ids[0], ids[1])
}

type page struct {
	Title   string
	OrgName string
	Topic   string
	Token   string
	Done    bool
	Already bool
	Message string
	Body    template.HTML // campaign page: the leaflet's text, rendered from Markdown without raw HTML
	Prompt  string        // campaign page: how to answer the poll
	SignUp  string        // campaign page: the sign-up form, when sign-up works here
	// Lang and Dir are the page's language and direction ("en" and left to right when
	// empty); Parts are a campaign page's texts in each of its languages.
	Lang, Dir string
	Parts     []pagePart

	// Signed-in pages.
	Session *auth.Session // nil when nobody is signed in
	CSRF    string        // the login form's token
	Next    string        // where to go after signing in
	Email   string        // the login form's email, kept after a failed attempt
	Error   string        // a form's error, shown at the top and tied to its field
	Data    any           // the page's own data
	Section string        // the service navigation's current section (set by render)
	Wide    bool          // an officer's page: full width rather than a reading column (set by render)
}

// pagePart is a campaign page's text in one language.
type pagePart struct {
	Lang, Dir, Endonym, Title string
	Body                      template.HTML
	Prompt                    string
}

// handleUnsubscribeConfirm shows a confirmation page and changes nothing: link scanners
// and mail previews follow GET links, and must not unsubscribe anybody.
func (s *Server) handleUnsubscribeConfirm(w http.ResponseWriter, r *http.Request) {
	t, err := s.unsubscribeTarget(r.Context(), r.PathValue("token"))
	if err != nil {
		s.badLink(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "unsubscribe.html", page{Title: "Unsubscribe", OrgName: s.brand.OrgName,
		Topic: t.Topic, Token: r.PathValue("token"), Already: t.Withdrawn})
}

// handleUnsubscribe records the withdrawal: the one-click POST of RFC 8058 (body
// "List-Unsubscribe=One-Click", from a mail client) or the confirmation page's button.
// Repeating it records nothing new.
func (s *Server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	t, err := s.unsubscribeTarget(r.Context(), r.PathValue("token"))
	if err != nil {
		s.badLink(w, r, err)
		return
	}
	if !t.Withdrawn {
		// The confirmation page's button says so; anything else is a mail client's
		// one-click POST (RFC 8058).
		detail := "one-click unsubscribe from the email"
		if r.PostFormValue("from") == "page" {
			detail = "unsubscribe link"
		}
		if _, err := recordConsents(r.Context(), s.db, []int64{t.PointID}, []int64{t.TopicID}, []string{"withdrawn"}, detail); err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.InfoContext(r.Context(), "unsubscribed", "contact_point_id", t.PointID, "topic_id", t.TopicID)
	}
	s.render(w, http.StatusOK, "unsubscribe.html", page{Title: "You have unsubscribed", OrgName: s.brand.OrgName,
		Topic: t.Topic, Done: true})
}

// handleViewInBrowser shows the e-bulletin exactly as that resident received it.
func (s *Server) handleViewInBrowser(w http.ResponseWriter, r *http.Request) {
	ids, err := s.signer.Verify("view", r.PathValue("token"), 1)
	if err != nil {
		s.badLink(w, r, err)
		return
	}
	out, err := s.composer.RenderOne(r.Context(), ids[0])
	if err != nil {
		s.badLink(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, out.HTML)
}

func (s *Server) badLink(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, email.ErrBadToken) {
		s.log.WarnContext(r.Context(), "link lookup", "path_kind", r.Pattern, "err", err)
	}
	s.render(w, http.StatusNotFound, "message.html", page{Title: "This link does not work", OrgName: s.brand.OrgName,
		Message: "The link may have been copied incompletely. If you want to stop getting our messages, reply STOP to a text or contact us."})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "request failed", "path_kind", r.Pattern, "err", err)
	s.render(w, http.StatusInternalServerError, "message.html", page{Title: "Something went wrong", OrgName: s.brand.OrgName,
		Message: "Please try again in a few minutes."})
}

func (s *Server) render(w http.ResponseWriter, code int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := s.tmpl.ExecuteTemplate(w, name, p.laidOut(name)); err != nil {
		s.log.Error("render page", "template", name, "err", err)
	}
}
