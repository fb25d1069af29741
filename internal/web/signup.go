package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/signup"
	"github.com/crierhq/crier/internal/suppression"
)

// Sign-up for new residents, with double opt-in: the form records nothing about anyone
// until the emailed link is followed and confirmed (a POST, so mail scanners that open
// links confirm nothing). Then the resident becomes a contact, or an existing one is
// found by email, and each chosen topic is granted on the email address with source
// "web". Confirming the email proves the address, not the mobile typed in beside it, so
// a mobile gets its grants only once the code texted to it is typed in (signup_mobile.go).
// Unconfirmed sign-ups expire after signupTTL and are deleted.

const (
	signupTTL = 72 * time.Hour
	// signupsPerClient bounds sign-ups from one IP address an hour; signupMailsPerEmail
	// bounds the confirmation emails one address gets a day, whoever asks.
	signupsPerClient    = 10
	signupMailsPerEmail = 3
	signupNameMax       = 100
)

func (s *Server) registerSignup(mux *http.ServeMux) {
	mux.HandleFunc("GET /signup", s.handleSignupForm)
	mux.HandleFunc("POST /signup", s.handleSignup)
	mux.HandleFunc("GET /signup/sent", s.handleSignupSent)
	mux.HandleFunc("GET /signup/confirm/{token}", s.handleSignupConfirmPage)
	mux.HandleFunc("POST /signup/confirm/{token}", s.handleSignupConfirm)
	mux.HandleFunc("POST /signup/confirm/{token}/code", s.handleSignupCode)
	mux.HandleFunc("POST /signup/confirm/{token}/new-code", s.handleSignupNewCode)
	mux.HandleFunc("POST /signup/confirm/{token}/skip", s.handleSignupSkipTexts)
}

// signUpOpen says whether sign-up can work here: it needs an SMTP server for the
// confirmation emails.
func (s *Server) signUpOpen() bool { return s.app != nil && s.app.Mail != nil }

// signupTopic is a topic on the form, and whether the resident chose it.
type signupTopic struct {
	signup.Topic
	Checked bool
}

// signupForm is what the resident typed, and what is wrong with it.
type signupForm struct {
	FirstName, LastName, Email, Mobile string
	Texts                              bool
	Topics                             []signupTopic
	Languages                          []langChoice // more than one: the resident can choose
	Errors                             []fieldError
}

// fieldError is one problem, tied to its field by id for the error summary's link and
// the field's aria-describedby.
type fieldError struct {
	Field, Message string
}

// ErrorFor returns the message for field, or "".
func (f signupForm) ErrorFor(field string) string {
	for _, e := range f.Errors {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// signupTopics lists the topics the form offers, none chosen yet.
func (s *Server) signupTopics(ctx context.Context) ([]signupTopic, error) {
	topics, err := signup.Topics(ctx, s.db)
	if err != nil {
		return nil, err
	}
	ts := make([]signupTopic, len(topics))
	for i, t := range topics {
		ts[i] = signupTopic{Topic: t}
	}
	return ts, nil
}

func (s *Server) renderSignup(w http.ResponseWriter, code int, f signupForm) {
	w.Header().Set("Cache-Control", "no-store")
	title := "Sign up for updates"
	if len(f.Errors) > 0 {
		title = "Error: " + title
	}
	s.render(w, code, "signup.html", page{Title: title, OrgName: s.brand.OrgName, Data: f})
}

func (s *Server) signupClosed(w http.ResponseWriter) {
	s.render(w, http.StatusServiceUnavailable, "message.html", page{Title: "Sign-up is not available", OrgName: s.brand.OrgName,
		Message: "We can’t send the confirmation email at the moment, so you can’t sign up here yet. Please try again later or contact us."})
}

func (s *Server) handleSignupForm(w http.ResponseWriter, r *http.Request) {
	if !s.signUpOpen() {
		s.signupClosed(w)
		return
	}
	topics, err := s.signupTopics(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(topics) == 1 {
		topics[0].Checked = true
	}
	s.renderSignup(w, http.StatusOK, signupForm{Topics: topics, Languages: s.languageChoices("")})
}

// handleSignup checks the form, keeps the sign-up as waiting and emails the link. The
// answer is the same whether or not the address is known, so the form can't be used to
// find out who is on the council's lists.
func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request) {
	if !s.signUpOpen() {
		s.signupClosed(w)
		return
	}
	ctx := r.Context()
	topics, err := s.signupTopics(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := signupForm{FirstName: strings.TrimSpace(r.PostFormValue("first_name")), LastName: strings.TrimSpace(r.PostFormValue("last_name")),
		Email: strings.TrimSpace(r.PostFormValue("email")), Mobile: strings.TrimSpace(r.PostFormValue("mobile")),
		Texts: r.PostFormValue("texts") != "", Topics: topics}
	language := r.PostFormValue("language")
	f.Languages = s.languageChoices(language)
	if language != "" && !slices.ContainsFunc(f.Languages, func(l langChoice) bool { return l.Selected }) {
		language = "" // not one offered (a stale or tampered form): no choice
	}
	chosen := r.PostForm["topic"]
	var topicIDs []int64
	for i := range f.Topics {
		if slices.Contains(chosen, strconv.FormatInt(f.Topics[i].ID, 10)) {
			f.Topics[i].Checked = true
			topicIDs = append(topicIDs, f.Topics[i].ID)
		}
	}
	for _, n := range []struct{ field, value, what string }{{"first_name", f.FirstName, "First name"}, {"last_name", f.LastName, "Last name"}} {
		if len([]rune(n.value)) > signupNameMax {
			f.Errors = append(f.Errors, fieldError{n.field, fmt.Sprintf("%s must be %d characters or fewer", n.what, signupNameMax)})
		}
	}
	addr, err := contact.NormalizeEmail(f.Email)
	switch {
	case f.Email == "":
		f.Errors = append(f.Errors, fieldError{"email", "Enter your email address"})
	case err != nil:
		f.Errors = append(f.Errors, fieldError{"email", "Enter an email address in the right format, like name@example.com"})
	}
	var mobile string
	switch {
	case f.Texts && f.Mobile == "":
		f.Errors = append(f.Errors, fieldError{"mobile", "Enter your mobile number, or untick “Text me as well”"})
	case f.Mobile != "":
		p, err := contact.NormalizePhone(f.Mobile, "GB")
		switch {
		case err != nil:
			f.Errors = append(f.Errors, fieldError{"mobile", "Enter a mobile number, like 07700 900 982"})
		case p.Type == contact.PhoneLandline:
			f.Errors = append(f.Errors, fieldError{"mobile", "Enter a mobile number: that is a landline, which can’t get texts"})
		case !f.Texts:
			f.Errors = append(f.Errors, fieldError{"texts", "Tick “Text me as well” to get texts, or leave the mobile number empty"})
		default:
			mobile = p.E164
		}
	}
	if len(topicIDs) == 0 {
		f.Errors = append(f.Errors, fieldError{"topics", "Choose at least one topic"})
	}
	if len(f.Errors) > 0 {
		s.renderSignup(w, http.StatusUnprocessableEntity, f)
		return
	}

	// A resident who asked to be erased is not signed up again by a form anyone can fill
	// in: the page says what it always says (so it tells nobody who asked to be erased),
	// and nothing is kept or sent. A suppressed mobile is left out and the email signed up.
	if erased, err := s.suppressed(ctx, suppression.Email, addr); err != nil || erased {
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.InfoContext(ctx, "sign-up refused: the email is on the erasure suppression list")
		http.Redirect(w, r, "/signup/sent", http.StatusSeeOther)
		return
	}
	if mobile != "" {
		erased, err := s.suppressed(ctx, suppression.Phone, mobile)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if erased {
			s.log.InfoContext(ctx, "sign-up: the mobile is on the erasure suppression list and is left out")
			mobile = ""
		}
	}

	client := sha256.Sum256([]byte(s.clientIP(r)))
	fromClient, toEmail, err := signup.Sweep(ctx, s.db, client[:], addr)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if fromClient >= signupsPerClient {
		s.render(w, http.StatusTooManyRequests, "message.html", page{Title: "Too many sign-ups", OrgName: s.brand.OrgName,
			Message: "There have been too many sign-ups from your connection in the last hour. Please try again in an hour."})
		return
	}
	if toEmail >= signupMailsPerEmail {
		// Don't flood the address; say the same as always.
		s.log.InfoContext(ctx, "sign-up: confirmation emails for this address capped", "count", toEmail)
		http.Redirect(w, r, "/signup/sent", http.StatusSeeOther)
		return
	}
	token := rand.Text()
	hash := sha256.Sum256([]byte(token))
	id, err := signup.Create(ctx, s.db, signup.New{TokenHash: hash[:], Email: addr, FirstName: f.FirstName, LastName: f.LastName,
		Mobile: mobile, Language: language, TopicIDs: topicIDs, Client: client[:], TTL: signupTTL})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.sendSignupEmail(ctx, r, addr, f, token); err != nil {
		// The link never left: forget the sign-up rather than keep data for nothing.
		_ = signup.Delete(context.WithoutCancel(ctx), s.db, id)
		s.log.WarnContext(ctx, "sign-up: confirmation email not sent", "signup_id", id, "err", err)
		f.Errors = []fieldError{{"email", "We couldn’t send the confirmation email just now. Check the address, or try again in a few minutes"}}
		s.renderSignup(w, http.StatusBadGateway, f)
		return
	}
	s.log.InfoContext(ctx, "sign-up waiting for confirmation", "signup_id", id, "topics", len(topicIDs), "texts", mobile != "")
	http.Redirect(w, r, "/signup/sent", http.StatusSeeOther)
}

func (s *Server) publicBase(r *http.Request) string {
	if s.app != nil && s.app.PublicURL != "" {
		return strings.TrimRight(s.app.PublicURL, "/")
	}
	return "http://" + r.Host
}

func (s *Server) sendSignupEmail(ctx context.Context, r *http.Request, to string, f signupForm, token string) error {
	var names []string
	for _, t := range f.Topics {
		if t.Checked {
			names = append(names, "- "+t.Name)
		}
	}
	hello := "Hello,"
	if f.FirstName != "" {
		hello = "Hello " + f.FirstName + ","
	}
	how := "by email"
	if f.Texts {
		how = "by email and by text"
	}
	link := s.publicBase(r) + "/signup/confirm/" + token
	org := cmpOr(s.brand.OrgName, "us")
	text := fmt.Sprintf("%s\n\nPlease confirm that you want updates from %s %s about:\n\n%s\n\nTo confirm, open this link and press the button:\n%s\n\n"+
		"The link works for %d days. If you did not ask for this, ignore this email: we will not contact you, and we will delete your details.\n",
		hello, org, how, strings.Join(names, "\n"), link, int(signupTTL.Hours()/24))
	msg := dispatch.Message{Channel: dispatch.Email, To: to, From: s.app.MailFrom,
		Subject: "Confirm your sign-up for updates from " + org, Text: text,
		Headers: map[string]string{"Auto-Submitted": "auto-generated"}}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := s.app.Mail.Send(ctx, msg)
	return err
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Server) handleSignupSent(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "signup_status.html", page{Title: "Check your email", OrgName: s.brand.OrgName,
		Data: signupStatus{State: "sent", Days: int(signupTTL.Hours() / 24)}})
}

// signupStatus is what the confirmation pages say.
type signupStatus struct {
	State       string // sent, confirm, done, already, expired; code, mobile-done, mobile-skipped, mobile-expired
	Days        int
	Token       string
	Topics      []string
	Texts       bool
	TextsHeld   bool   // the mobile texted STOP before: START first
	NoSMS       bool   // texts were asked for, but no SMS provider can text a code
	Preferences string // the preference centre's link, once confirmed

	// The mobile's code (state "code").
	Last4       string // the mobile's last four digits
	Minutes     int    // how long a code works
	EmailDone   bool   // the email was confirmed just now
	NewCode     bool   // a new code was texted just now
	NotSent     bool   // the code couldn't be texted just now
	CodeError   string // what is wrong with the code typed in, or with asking for another
	CodesPerDay int
}

// signupLinkProblem shows the page for a link that can't be confirmed, or returns false.
// A confirmed sign-up whose mobile waits for its code shows the code's form instead.
func (s *Server) signupLinkProblem(w http.ResponseWriter, token string, row *signup.Signup, err error) bool {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		s.render(w, http.StatusNotFound, "signup_status.html", page{Title: "This link does not work", OrgName: s.brand.OrgName,
			Data: signupStatus{State: "expired"}})
	case err != nil:
		return false
	case row.MobileWaiting():
		s.renderSignupCode(w, http.StatusOK, s.signupCodeStatus(token, row))
	case row.ConfirmedAt.Valid && row.Mobile != "":
		s.renderSignupMobileLapsed(w, row)
	case row.ConfirmedAt.Valid:
		st := signupStatus{State: "already"}
		if row.ContactID.Valid {
			st.Preferences = "/p/" + s.signer.PreferencesToken(row.ContactID.Int64, time.Now())
		}
		s.render(w, http.StatusOK, "signup_status.html", page{Title: "You are already signed up", OrgName: s.brand.OrgName, Data: st})
	case row.Expired:
		s.render(w, http.StatusGone, "signup_status.html", page{Title: "This link has expired", OrgName: s.brand.OrgName,
			Data: signupStatus{State: "expired", Days: int(signupTTL.Hours() / 24)}})
	default:
		return false
	}
	return true
}

// handleSignupConfirmPage shows what will be confirmed, and the button. It changes
// nothing (mail scanners open links), except that it forgets a mobile whose code has
// expired, as the sweep would.
func (s *Server) handleSignupConfirmPage(w http.ResponseWriter, r *http.Request) {
	row, err := signup.ByToken(r.Context(), s.db, signup.TokenHash(r.PathValue("token")))
	if err == nil && row.ConfirmedAt.Valid && row.Mobile != "" && row.MobileLapsed {
		if err := signup.ForgetMobile(r.Context(), s.db, row.ID, false); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if s.signupLinkProblem(w, r.PathValue("token"), &row, err) {
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, http.StatusOK, "signup_status.html", page{Title: "Confirm your sign-up", OrgName: s.brand.OrgName,
		Data: signupStatus{State: "confirm", Token: r.PathValue("token"), Topics: row.Topics, Texts: row.Mobile != ""}})
}

// handleSignupConfirm makes the sign-up real, in one transaction: the contact (found by
// email, or new), its email, and a granted consent per topic on it. A mobile given for
// texts is not added or granted here: it is texted a code, and the page asks for it.
func (s *Server) handleSignupConfirm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.PathValue("token")
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer tx.Rollback()
	row, err := signup.Lock(ctx, tx, signup.TokenHash(token))
	if err == nil && row.ConfirmedAt.Valid {
		// Pressed again (or another tab): say what opening the link says.
		_ = tx.Rollback()
		s.handleSignupConfirmPage(w, r)
		return
	}
	if s.signupLinkProblem(w, token, &row, err) {
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Two sign-ups for one new address confirmed at once must make one contact.
	if err := contact.LockEmail(ctx, tx, row.Email); err != nil {
		s.fail(w, r, err)
		return
	}
	contactID, emailPoint, err := contact.EmailPoint(ctx, tx, row.Email)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		contactID, emailPoint, err = contact.AddWithEmail(ctx, tx, row.FirstName, row.LastName, row.Email)
	case err == nil:
		// Known already: fill in a name we lack, and the address works (they just read
		// our email), so a bounce recorded against it no longer holds.
		err = contact.FillName(ctx, tx, contactID, row.FirstName, row.LastName)
		if err == nil {
			err = contact.ConfirmEmail(ctx, tx, emailPoint)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if row.Language != "" {
		if _, err := contact.SetLanguage(ctx, tx, contactID, row.Language); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if err := grantSignupTopics(ctx, tx, &row, emailPoint, "confirmed by email"); err != nil {
		s.fail(w, r, err)
		return
	}
	// Keep the proof (when it was asked and confirmed, which topics), not the copy of
	// the resident's details: those now live on the contact. The mobile stays only
	// while its code can be typed in.
	sender := s.smsSender()
	texts := row.Mobile != "" && sender != nil
	if err := signup.Confirm(ctx, tx, row.ID, contactID, texts); err != nil {
		s.fail(w, r, err)
		return
	}
	var code string
	if texts {
		if code, err = newSignupCode(ctx, tx, row.ID, token); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(ctx, "sign-up confirmed", "signup_id", row.ID, "contact_id", contactID, "mobile_to_confirm", texts)
	row.ConfirmedAt, row.ContactID = sql.NullTime{Time: time.Now(), Valid: true}, sql.NullInt64{Int64: contactID, Valid: true}
	w.Header().Set("Cache-Control", "no-store")
	if texts {
		st := s.signupCodeStatus(token, &row)
		st.EmailDone = true
		st.NotSent = s.textSignupCode(ctx, sender, row.ID, row.Mobile, code) != nil
		s.renderSignupCode(w, http.StatusOK, st)
		return
	}
	st := signupStatus{State: "done", Topics: row.Topics, NoSMS: row.Mobile != ""}
	st.Preferences = "/p/" + s.signer.PreferencesToken(contactID, time.Now())
	s.render(w, http.StatusOK, "signup_status.html", page{Title: "You are signed up", OrgName: s.brand.OrgName, Data: st})
}

// grantSignupTopics grants each of the sign-up's topics (that still exist) on one
// contact point through the consent ledger, where it isn't granted now; how says how
// the point was confirmed, for the consent's source.
func grantSignupTopics(ctx context.Context, tx *sqlx.Tx, row *signup.Signup, point int64, how string) error {
	live, err := consent.Existing(ctx, tx, row.TopicIDs)
	if err != nil {
		return fmt.Errorf("sign-up topics: %w", err)
	}
	changes := make([]consent.Change, 0, len(live))
	for _, t := range live {
		changes = append(changes, consent.Change{Point: point, Topic: t, Status: consent.Granted})
	}
	_, err = consent.Record(ctx, tx, changes, consent.Source{Name: consentSourceWeb,
		Detail: "sign-up form, asked " + row.CreatedAt.In(campaign.London).Format("2 Jan 2006 15:04") + ", " + how})
	return err
}

// signupMobile finds or adds the mobile on the contact. It returns 0 when the number
// belongs to somebody else on the lists (it is not moved, and gets no consent from this
// sign-up) or texted STOP (held: the network blocks texts to it until it texts START).
func signupMobile(ctx context.Context, tx *sqlx.Tx, contactID int64, e164 string) (point int64, held bool, err error) {
	point, owner, status, err := contact.PhonePoint(ctx, tx, e164)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		p, perr := contact.NormalizePhone(e164, "GB")
		if perr != nil {
			return 0, false, perr
		}
		point, err = contact.AddPhone(ctx, tx, contactID, p)
		return point, false, err
	case err != nil:
		return 0, false, err
	case owner != contactID:
		return 0, false, nil
	case status == "opted_out":
		return 0, true, nil
	case status != "active":
		return 0, false, nil
	}
	return point, false, nil
}

// suppressed reports whether value (of kind) is on the erasure suppression list. Without
// a key it answers true whenever the list holds anything: better no sign-up than an
// erased resident signed up again.
func (s *Server) suppressed(ctx context.Context, kind, value string) (bool, error) {
	if s.suppression == nil {
		return suppression.Any(ctx, s.db)
	}
	_, found, err := s.suppression.Find(ctx, s.db, kind, value)
	return found, err
}
