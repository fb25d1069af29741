package web

// Old preference links. An e-bulletin's preference link shows the resident's (masked)
// addresses and changes their consents, and e-bulletins get forwarded, so a link works
// for CRIER_PREFERENCES_LINK_DAYS after it was issued. After that, and for links made
// before they carried their issue day, the page shows nothing about the resident and
// changes nothing: it offers to email a fresh link to the addresses on record, which
// only the resident can read.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/dispatch"
)

const (
	// DefaultPreferencesLinkDays is how long a preference link works when the
	// configuration says nothing (CRIER_PREFERENCES_LINK_DAYS).
	DefaultPreferencesLinkDays = 90
	// prefLinkMailsPerDay bounds the fresh links one resident is emailed a day, however
	// often an old link's button is pressed.
	prefLinkMailsPerDay = 3
	// prefLinkSendTimeout bounds each email: the resident waits for it.
	prefLinkSendTimeout = 30 * time.Second
)

// errPrefLinkExpired is a genuine preference link that is too old to use.
var errPrefLinkExpired = errors.New("preference link out of date")

// prefLinkPage is what the out-of-date link's page says.
type prefLinkPage struct {
	State string // expired (the button), sent, no-email, no-mail (no SMTP here)
	Token string
	Days  int
	Org   string // whom to contact instead
}

// preferencesLink returns the contact a preference link names; errPrefLinkExpired
// (with the contact) if it is older than the configured age or has no issue day.
func (s *Server) preferencesLink(token string, now time.Time) (int64, error) {
	contactID, issued, err := s.signer.VerifyPreferences(token)
	if err != nil {
		return 0, err
	}
	const day = 24 * time.Hour
	if issued.IsZero() || now.UTC().Truncate(day).Sub(issued) > time.Duration(s.prefLinkDays)*day {
		return contactID, errPrefLinkExpired
	}
	return contactID, nil
}

// preferencesLinkProblem answers for a link that can't be used: the out-of-date page
// (403, for showing and for saving alike) or "this link does not work".
func (s *Server) preferencesLinkProblem(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errPrefLinkExpired) {
		s.renderPrefLink(w, http.StatusForbidden, prefLinkPage{State: "expired", Token: r.PathValue("token")})
		return
	}
	s.badLink(w, r, err)
}

func (s *Server) renderPrefLink(w http.ResponseWriter, code int, d prefLinkPage) {
	d.Days, d.Org = s.prefLinkDays, cmpOr(s.brand.OrgName, "the council")
	title := map[string]string{
		"expired":  "This link is out of date",
		"sent":     "Check your email",
		"no-email": "We can’t email you a new link",
		"no-mail":  "We can’t email you a new link",
	}[d.State]
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, code, "preferences_link.html", page{Title: title, OrgName: s.brand.OrgName, Data: d})
}

// handlePreferencesNewLink emails a fresh preference link to the contact's email
// addresses on record, whatever the age of the link it was asked from. The answer says
// where only as "the address we have for you", and is the same when the day's limit
// has been reached and nothing is sent.
func (s *Server) handlePreferencesNewLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	contactID, err := s.preferencesLink(r.PathValue("token"), time.Now())
	if err != nil && !errors.Is(err, errPrefLinkExpired) {
		s.badLink(w, r, err)
		return
	}
	if s.app == nil || s.app.Mail == nil {
		s.renderPrefLink(w, http.StatusServiceUnavailable, prefLinkPage{State: "no-mail"})
		return
	}
	to, err := contact.ActiveEmails(ctx, s.db, contactID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(to) == 0 {
		s.renderPrefLink(w, http.StatusOK, prefLinkPage{State: "no-email"})
		return
	}
	sentTo := r.PathValue("token") + "/sent"
	if !s.prefLinkMails.take(contactID, time.Now(), prefLinkMailsPerDay, 24*time.Hour) {
		s.log.InfoContext(ctx, "new preference link not sent: the day's limit", "contact_id", contactID)
		http.Redirect(w, r, "/p/"+sentTo, http.StatusSeeOther)
		return
	}
	link := s.publicBase(r) + "/p/" + s.signer.PreferencesToken(contactID, time.Now())
	org := cmpOr(s.brand.OrgName, "us")
	text := fmt.Sprintf("Hello,\n\nYou asked for a new link to choose what you hear about from %s, and how:\n%s\n\n"+
		"The link works for %d days. Please don't forward this email: the link lets whoever has it change your choices.\n\n"+
		"If you did not ask for this, you can ignore this email: nothing changes unless the link is used.\n",
		org, link, s.prefLinkDays)
	sent := 0
	for _, addr := range to {
		if err := s.sendPrefLink(ctx, addr, org, text); err != nil {
			why := "no answer in time"
			if se := (*dispatch.SendError)(nil); errors.As(err, &se) {
				why = se.Error()
			}
			// The error itself may quote the address: log its class only.
			s.log.WarnContext(ctx, "new preference link not sent", "contact_id", contactID, "why", why)
			continue
		}
		sent++
	}
	if sent == 0 {
		s.render(w, http.StatusBadGateway, "message.html", page{Title: "We couldn’t send the email", OrgName: s.brand.OrgName,
			Message: "Our email server didn’t take it just now. Please try again in a few minutes."})
		return
	}
	s.log.InfoContext(ctx, "new preference link sent", "contact_id", contactID, "emails", sent)
	http.Redirect(w, r, "/p/"+sentTo, http.StatusSeeOther)
}

func (s *Server) sendPrefLink(ctx context.Context, to, org, text string) error {
	ctx, cancel := context.WithTimeout(ctx, prefLinkSendTimeout)
	defer cancel()
	_, err := s.app.Mail.Send(ctx, dispatch.Message{Channel: dispatch.Email, To: to, From: s.app.MailFrom,
		Subject: "Your new link to choose what you hear from " + org, Text: text,
		Headers: map[string]string{"Auto-Submitted": "auto-generated"}})
	return err
}

// handlePreferencesNewLinkSent says the fresh link is on its way (the redirect after
// the button, so a reload sends nothing again). It says nothing about the resident.
func (s *Server) handlePreferencesNewLinkSent(w http.ResponseWriter, r *http.Request) {
	if _, err := s.preferencesLink(r.PathValue("token"), time.Now()); err != nil && !errors.Is(err, errPrefLinkExpired) {
		s.badLink(w, r, err)
		return
	}
	s.renderPrefLink(w, http.StatusOK, prefLinkPage{State: "sent"})
}

// sendLimiter counts recent sends per key, in memory: a restart (or another replica)
// starts its own count, which for a few emails a day or ten test sends an hour does no
// harm.
type sendLimiter[K comparable] struct {
	mu   sync.Mutex
	sent map[K][]time.Time
}

func newSendLimiter[K comparable]() *sendLimiter[K] {
	return &sendLimiter[K]{sent: map[K][]time.Time{}}
}

// take records a send for key now, unless key has had limit in the window; it reports
// whether the send may go ahead.
func (l *sendLimiter[K]) take(key K, now time.Time, limit int, window time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, times := range l.sent { // drop what has aged out, for everyone
		i := 0
		for i < len(times) && now.Sub(times[i]) >= window {
			i++
		}
		if i == len(times) {
			delete(l.sent, k)
		} else if i > 0 {
			l.sent[k] = slices.Clone(times[i:])
		}
	}
	if len(l.sent[key]) >= limit {
		return false
	}
	l.sent[key] = append(l.sent[key], now)
	return true
}
