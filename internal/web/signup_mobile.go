package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/signup"
)

// A mobile given at sign-up is confirmed by a code texted to it before any text consent
// is recorded for it: the emailed link proves the address, and anyone can type anyone's
// number beside their own address. The code goes through the SMS sender officers'
// replies use. The pages say the same whether or not the number is on somebody else's
// record (signupMobile then leaves it with them and grants nothing), so the form can't
// be used to find out who is on the council's lists.

const (
	signupCodeTTL     = 15 * time.Minute // a code works this long; the mobile is kept as long
	signupCodeTries   = 5                // wrong tries, then the code is void
	signupCodesPerDay = 3                // codes texted for one sign-up a day
)

// smsSender returns the sender for sign-up codes, or nil when nothing can send texts.
func (s *Server) smsSender() dispatch.Sender {
	if s.app == nil {
		return nil
	}
	return s.app.SMS
}

// signupCodeHash is what is stored of a code: SHA-256 over the sign-up's link token
// (stored itself only as a hash) and the code, so the table can't give a code away.
func signupCodeHash(token, code string) []byte {
	h := sha256.Sum256([]byte("crier sign-up mobile code\x00" + token + "\x00" + code))
	return h[:]
}

// newSignupCode makes a code for the sign-up, stores its hash, and keeps the mobile for
// as long as the code works; the caller texts the code once tx has committed.
func newSignupCode(ctx context.Context, tx *sqlx.Tx, signupID int64, token string) (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("sign-up code: %w", err)
	}
	code := fmt.Sprintf("%06d", n.Int64())
	if err := signup.AddCode(ctx, tx, signupID, signupCodeHash(token, code), signupCodeTTL); err != nil {
		return "", err
	}
	return code, nil
}

// textSignupCode texts the code to the mobile now. A failure is logged here; the page
// says the code didn't go and offers another.
func (s *Server) textSignupCode(ctx context.Context, sender dispatch.Sender, signupID int64, mobile, code string) error {
	text := fmt.Sprintf("%s: your code to confirm this mobile for texts is %s. It works for %d minutes. "+
		"If you didn't sign up for updates, ignore this text: we won't text you.",
		cmpOr(s.brand.OrgName, "Sign-up"), code, int(signupCodeTTL.Minutes()))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rcpt, err := sender.Send(ctx, dispatch.Message{Channel: dispatch.SMS, To: mobile, Text: text})
	if err != nil {
		var se *dispatch.SendError
		reason := "send failed"
		if errors.As(err, &se) {
			reason = se.Error() // the classified form carries no personal data
		}
		s.log.WarnContext(ctx, "sign-up: mobile code not texted", "signup_id", signupID, "err", reason)
		return err
	}
	s.log.InfoContext(ctx, "sign-up: mobile code texted", "signup_id", signupID, "provider_id", rcpt.ProviderID)
	return nil
}

func last4(e164 string) string { return e164[max(0, len(e164)-4):] }

func (s *Server) signupCodeStatus(token string, row *signup.Signup) signupStatus {
	st := signupStatus{State: "code", Token: token, Topics: row.Topics, Last4: last4(row.Mobile),
		Minutes: int(signupCodeTTL.Minutes()), CodesPerDay: signupCodesPerDay}
	if row.ContactID.Valid {
		st.Preferences = "/p/" + s.signer.PreferencesToken(row.ContactID.Int64, time.Now())
	}
	return st
}

func (s *Server) renderSignupCode(w http.ResponseWriter, code int, st signupStatus) {
	title := "Confirm your mobile number"
	if st.CodeError != "" {
		title = "Error: " + title
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, code, "signup_status.html", page{Title: title, OrgName: s.brand.OrgName, Data: st})
}

func (s *Server) renderSignupMobileLapsed(w http.ResponseWriter, row *signup.Signup) {
	st := signupStatus{State: "mobile-expired", Topics: row.Topics, Minutes: int(signupCodeTTL.Minutes())}
	if row.ContactID.Valid {
		st.Preferences = "/p/" + s.signer.PreferencesToken(row.ContactID.Int64, time.Now())
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, http.StatusGone, "signup_status.html", page{Title: "Your code has expired", OrgName: s.brand.OrgName, Data: st})
}

// signupWaitingMobile begins a transaction, locks the sign-up of the request's link in
// it and returns both when its mobile waits for a code; the caller ends the transaction.
// Otherwise it shows the page that fits (the link's problem, the expired code, or
// "already signed up"), ends the transaction and returns a nil row.
func (s *Server) signupWaitingMobile(w http.ResponseWriter, r *http.Request) (*sqlx.Tx, *signup.Signup) {
	tx, err := s.db.BeginTxx(r.Context(), nil)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil
	}
	row := s.lockWaitingMobile(w, r, tx)
	if row == nil {
		tx.Rollback()
		return nil, nil
	}
	return tx, row
}

func (s *Server) lockWaitingMobile(w http.ResponseWriter, r *http.Request, tx *sqlx.Tx) *signup.Signup {
	ctx := r.Context()
	token := r.PathValue("token")
	row, err := signup.Lock(ctx, tx, signup.TokenHash(token))
	switch {
	case err == nil && !row.ConfirmedAt.Valid:
		// The email isn't confirmed yet: that page comes first.
		http.Redirect(w, r, "/signup/confirm/"+token, http.StatusSeeOther)
		return nil
	case err == nil && row.MobileWaiting() && !row.ContactID.Valid:
		// The contact was deleted meanwhile: there is nobody to add the mobile to.
		if err := signup.ForgetMobile(ctx, tx, row.ID, false); err != nil {
			s.fail(w, r, err)
			return nil
		}
		if err := tx.Commit(); err != nil {
			s.fail(w, r, err)
			return nil
		}
		row.Mobile = ""
	case err == nil && row.MobileWaiting():
		return &row
	case err == nil && row.Mobile != "":
		if err := signup.ForgetMobile(ctx, tx, row.ID, false); err != nil {
			s.fail(w, r, err)
			return nil
		}
		if err := tx.Commit(); err != nil {
			s.fail(w, r, err)
			return nil
		}
		s.renderSignupMobileLapsed(w, &row)
		return nil
	}
	if !s.signupLinkProblem(w, token, &row, err) {
		s.fail(w, r, err)
	}
	return nil
}

// handleSignupCode checks the code typed in. The right one adds the mobile to the
// contact, unless it is on somebody else's record, and grants each topic on it; the
// page is the same either way.
func (s *Server) handleSignupCode(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.PathValue("token")
	tx, row := s.signupWaitingMobile(w, r)
	if row == nil {
		return
	}
	defer tx.Rollback()
	st := s.signupCodeStatus(token, row)
	typed := strings.Map(func(c rune) rune {
		if c == ' ' || c == '-' {
			return -1
		}
		return c
	}, r.PostFormValue("code"))
	if len(typed) != 6 || strings.Trim(typed, "0123456789") != "" {
		st.CodeError = "Enter the 6 digits from the text, like 123456"
		s.renderSignupCode(w, http.StatusUnprocessableEntity, st)
		return
	}
	c, err := signup.LatestCode(ctx, tx, row.ID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		st.CodeError = "We haven’t texted you a code yet. Press “Text me a new code”"
		s.renderSignupCode(w, http.StatusUnprocessableEntity, st)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	case c.Tries >= signupCodeTries:
		st.CodeError = voidCodeMessage
		s.renderSignupCode(w, http.StatusUnprocessableEntity, st)
		return
	}
	if subtle.ConstantTimeCompare(c.Hash, signupCodeHash(token, typed)) != 1 {
		if err := signup.WrongTry(ctx, tx, c.ID); err != nil {
			s.fail(w, r, err)
			return
		}
		if err := tx.Commit(); err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.InfoContext(ctx, "sign-up: wrong mobile code", "signup_id", row.ID, "attempt", c.Tries+1)
		switch left := signupCodeTries - c.Tries - 1; left {
		case 0:
			st.CodeError = "That code is not right. " + voidCodeMessage
		case 1:
			st.CodeError = "That code is not right. Check the text and try again: you can try once more"
		default:
			st.CodeError = fmt.Sprintf("That code is not right. Check the text and try again: you can try %d more times", left)
		}
		s.renderSignupCode(w, http.StatusUnprocessableEntity, st)
		return
	}

	// Two sign-ups giving one new number, confirmed at once, must add it once.
	if err := contact.LockPhone(ctx, tx, row.Mobile); err != nil {
		s.fail(w, r, err)
		return
	}
	phone, held, err := signupMobile(ctx, tx, row.ContactID.Int64, row.Mobile)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if phone != 0 {
		if err := grantSignupTopics(ctx, tx, row, phone, "confirmed by email, mobile confirmed by a texted code"); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if err := signup.ForgetMobile(ctx, tx, row.ID, true); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := tx.Commit(); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(ctx, "sign-up: mobile confirmed", "signup_id", row.ID, "contact_id", row.ContactID.Int64, "granted", phone != 0)
	st.State, st.TextsHeld = "mobile-done", held
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, http.StatusOK, "signup_status.html", page{Title: "You are signed up", OrgName: s.brand.OrgName, Data: st})
}

const voidCodeMessage = "That code no longer works: it was typed in wrongly 5 times. Press “Text me a new code” to get another"

// handleSignupNewCode texts a new code, which replaces the one before, up to
// signupCodesPerDay a day.
func (s *Server) handleSignupNewCode(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.PathValue("token")
	tx, row := s.signupWaitingMobile(w, r)
	if row == nil {
		return
	}
	defer tx.Rollback()
	st := s.signupCodeStatus(token, row)
	sender := s.smsSender()
	if sender == nil {
		// SMS went away since the email was confirmed (a restart without it).
		st.NotSent = true
		s.renderSignupCode(w, http.StatusServiceUnavailable, st)
		return
	}
	sent, err := signup.CodesToday(ctx, tx, row.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if sent >= signupCodesPerDay {
		st.CodeError = fmt.Sprintf("We’ve texted %d codes for this sign-up today, the most we send. Type in the last code we texted, or skip texts", signupCodesPerDay)
		s.renderSignupCode(w, http.StatusTooManyRequests, st)
		return
	}
	code, err := newSignupCode(ctx, tx, row.ID, token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := tx.Commit(); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.textSignupCode(ctx, sender, row.ID, row.Mobile, code); err != nil {
		st.NotSent = true
		s.renderSignupCode(w, http.StatusBadGateway, st)
		return
	}
	st.NewCode = true
	s.renderSignupCode(w, http.StatusOK, st)
}

// handleSignupSkipTexts forgets the mobile: updates come by email only.
func (s *Server) handleSignupSkipTexts(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tx, row := s.signupWaitingMobile(w, r)
	if row == nil {
		return
	}
	defer tx.Rollback()
	if err := signup.ForgetMobile(ctx, tx, row.ID, false); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := tx.Commit(); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(ctx, "sign-up: texts skipped", "signup_id", row.ID)
	st := s.signupCodeStatus(r.PathValue("token"), row)
	st.State = "mobile-skipped"
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, http.StatusOK, "signup_status.html", page{Title: "You are signed up", OrgName: s.brand.OrgName, Data: st})
}
