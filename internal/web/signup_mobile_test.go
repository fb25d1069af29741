package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/suppression"
)

// signUp fills in the sign-up form with texts to mobile and returns the link in the
// n-th confirmation email the sandbox took.
func (s *signupSite) signUp(t *testing.T, n int, addr, mobile string, topic int64) string {
	t.Helper()
	form := url.Values{"email": {addr}, "topic": {itoa(topic)}}
	if mobile != "" {
		form.Set("texts", "1")
		form.Set("mobile", mobile)
	}
	if code, body := s.post(t, "/signup", form); code != http.StatusOK {
		t.Fatalf("sign-up %s: %d\n%s", addr, code, body)
	}
	_, body := s.mailTo(t, n)
	link := confirmLink.FindString(body)
	if link == "" {
		t.Fatalf("no confirmation link in:\n%s", body)
	}
	return strings.TrimPrefix(link, s.url)
}

// textConsents counts the consent rows of every mobile, or of one number.
func (s *signupSite) textConsents(t *testing.T, e164 string) int {
	t.Helper()
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM consents c JOIN contact_points cp ON cp.id = c.contact_point_id
		WHERE cp.kind = 'phone' AND ($1 = '' OR cp.value = $1)`, e164); err != nil {
		t.Fatal(err)
	}
	return n
}

var (
	pageTokens = regexp.MustCompile(`/(signup/confirm|p)/[^/"\s]+`)
	pageCSP    = regexp.MustCompile(`nonce-[^'"]+`)
)

// samePage strips what must differ between two residents' pages (their links and the
// number's last digits) so the rest can be compared.
func samePage(body, lastDigits string) string {
	body = pageTokens.ReplaceAllString(body, "/$1/TOKEN")
	body = pageCSP.ReplaceAllString(body, "nonce")
	return strings.ReplaceAll(body, lastDigits, "NNNN")
}

func wrongCode(t *testing.T, code string) string {
	t.Helper()
	return fmt.Sprintf("%06d", (atoi(t, code)+1)%1000000)
}

// Sign-up with your own email and somebody else's mobile: confirming the email grants
// nothing on the mobile, which is texted a code its owner can ignore. The pages say
// the same as for a number nobody holds, before and after the code, so nothing about
// the other resident shows; and the number stays theirs, with no consent from this
// sign-up.
func TestSignUpAnotherResidentsMobile(t *testing.T) {
	t.Parallel()
	site := newSignupSite(t)
	general := site.topic(t, "general", "General news")
	bea, _ := site.resident(t, "Beatrice", "bea@example.org")
	beaPhone := site.mobile(t, bea, "+447700900229")

	danLink := site.signUp(t, 1, "dan@example.org", "07700 900229", general)
	eveLink := site.signUp(t, 2, "eve@example.org", "07700 900230", general)

	code, dan := site.post(t, danLink, nil)
	if code != http.StatusOK {
		t.Fatalf("confirm Dan's email: %d\n%s", code, dan)
	}
	wantText(t, "Dan's code page", dan, "Enter the 6-digit code we texted to the mobile ending 0229")
	for _, secret := range []string{"Beatrice", "bea@example.org", "already", "someone else"} {
		if strings.Contains(dan, secret) {
			t.Errorf("Dan's code page mentions %q", secret)
		}
	}
	if n := site.textConsents(t, ""); n != 0 {
		t.Fatalf("%d text consents after confirming the email; the mobile is not confirmed yet", n)
	}
	danCode := site.codeTexted(t, 1, "+447700900229")

	_, eve := site.post(t, eveLink, nil)
	eveCode := site.codeTexted(t, 2, "+447700900230")
	if a, b := samePage(dan, "0229"), samePage(eve, "0230"); a != b {
		t.Errorf("the code page differs for a number another resident holds:\n%s\n---\n%s", a, b)
	}

	code, dan = site.post(t, danLink+"/code", url.Values{"code": {danCode}})
	if code != http.StatusOK {
		t.Fatalf("Dan's right code: %d\n%s", code, dan)
	}
	code, eve = site.post(t, eveLink+"/code", url.Values{"code": {eveCode}})
	if code != http.StatusOK {
		t.Fatalf("Eve's right code: %d\n%s", code, eve)
	}
	if a, b := samePage(dan, "0229"), samePage(eve, "0230"); a != b {
		t.Errorf("the confirmed page differs for a number another resident holds:\n%s\n---\n%s", a, b)
	}
	if got := site.consents(t, beaPhone, general); len(got) != 0 {
		t.Errorf("Beatrice's mobile got consents from Dan's sign-up: %+v", got)
	}
	var owner int64
	site.db.Get(&owner, `SELECT contact_id FROM contact_points WHERE value = '+447700900229'`)
	if owner != bea {
		t.Errorf("the mobile moved to contact %d, want Beatrice's (%d)", owner, bea)
	}
	if n := site.textConsents(t, "+447700900230"); n != 1 {
		t.Errorf("Eve's confirmed mobile has %d consents, want 1", n)
	}
}

// A code has five tries; then it is void, even the right one, and the page says to ask
// for a new one. The new code, typed in, grants the topics on the mobile with a source
// that says how it was confirmed. Only a hash of the code is kept.
func TestSignUpMobileCodeTries(t *testing.T) {
	t.Parallel()
	site := newSignupSite(t)
	general := site.topic(t, "general", "General news")
	link := site.signUp(t, 1, "fay@example.org", "07700 900311", general)
	if code, body := site.post(t, link, nil); code != http.StatusOK {
		t.Fatalf("confirm: %d\n%s", code, body)
	}
	first := site.codeTexted(t, 1, "+447700900311")
	var kept int
	site.db.Get(&kept, `SELECT count(*) FROM signup_mobile_codes c WHERE c::text LIKE '%' || $1 || '%'`, first)
	if kept != 0 {
		t.Errorf("the code is stored as typed, not hashed")
	}

	// Coming back by the emailed link shows the code form again.
	code, body := site.get(t, link)
	if code != http.StatusOK {
		t.Fatalf("the link while a code waits: %d", code)
	}
	wantText(t, "the link while a code waits", body, "Enter the 6-digit code we texted to the mobile ending 0311")

	if code, body := site.post(t, link+"/code", url.Values{"code": {"12a"}}); code != http.StatusUnprocessableEntity {
		t.Fatalf("a malformed code: %d", code)
	} else {
		wantText(t, "a malformed code", body, "Enter the 6 digits")
	}
	for i := range 5 {
		code, body := site.post(t, link+"/code", url.Values{"code": {wrongCode(t, first)}})
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("wrong code %d: %d", i+1, code)
		}
		if i < 4 {
			wantText(t, fmt.Sprintf("wrong code %d", i+1), body, "That code is not right")
		} else {
			wantText(t, "fifth wrong code", body, "no longer works")
			wantText(t, "fifth wrong code", body, "Text me a new code")
		}
	}
	code, body = site.post(t, link+"/code", url.Values{"code": {first}})
	if code != http.StatusUnprocessableEntity || site.textConsents(t, "") != 0 {
		t.Fatalf("the right code after five wrong ones: %d, %d text consents; want it refused", code, site.textConsents(t, ""))
	}
	wantText(t, "void code", body, "no longer works")

	code, body = site.post(t, link+"/new-code", nil)
	if code != http.StatusOK {
		t.Fatalf("new code: %d\n%s", code, body)
	}
	wantText(t, "new code", body, "We’ve texted a new code")
	second := site.codeTexted(t, 2, "+447700900311")
	if code, body := site.post(t, link+"/code", url.Values{"code": {" " + second[:3] + " " + second[3:] + " "}}); code != http.StatusOK {
		t.Fatalf("the new code: %d\n%s", code, body)
	}
	var got []consentRow
	if err := site.db.Select(&got, `SELECT c.status, c.source, c.detail FROM consents c
		JOIN contact_points cp ON cp.id = c.contact_point_id WHERE cp.value = '+447700900311' AND c.topic_id = $1`, general); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Status != "granted" || got[0].Source != "web" ||
		!regexp.MustCompile(`^sign-up form, asked .+, confirmed by email, mobile confirmed by a texted code$`).MatchString(got[0].Detail) {
		t.Fatalf("the mobile's consents: %+v", got)
	}
	var mobile string
	var codes int
	site.db.Get(&mobile, `SELECT mobile FROM signups`)
	site.db.Get(&codes, `SELECT count(*) FROM signup_mobile_codes`)
	if mobile != "" || codes != 0 {
		t.Errorf("after the mobile was confirmed the sign-up keeps mobile %q and %d codes", mobile, codes)
	}
	if code, body := site.post(t, link+"/code", url.Values{"code": {second}}); code != http.StatusOK || strings.Contains(body, "6-digit") {
		t.Errorf("the code again: %d, want the already-signed-up page", code)
	}
}

// A code expires: typed in late it is refused, and the sign-up forgets the mobile. At
// most three codes a day are texted for one sign-up. Skipping forgets the mobile too,
// and the expiry sweep blanks the mobiles nobody confirmed in time.
func TestSignUpMobileCodeExpiryAndLimit(t *testing.T) {
	t.Parallel()
	site := newSignupSite(t)
	general := site.topic(t, "general", "General news")

	link := site.signUp(t, 1, "gus@example.org", "07700 900412", general)
	site.post(t, link, nil)
	for range 2 {
		if code, body := site.post(t, link+"/new-code", nil); code != http.StatusOK {
			t.Fatalf("new code: %d\n%s", code, body)
		}
	}
	code, body := site.post(t, link+"/new-code", nil)
	if code != http.StatusTooManyRequests {
		t.Fatalf("a fourth code in a day: %d, want 429", code)
	}
	wantText(t, "a fourth code", body, "3 codes")
	if n := len(site.tw.Messages()); n != 3 {
		t.Fatalf("%d texts, want 3", n)
	}
	last := site.codeTexted(t, 3, "+447700900412")
	if _, err := site.db.Exec(`UPDATE signups SET mobile_until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	code, body = site.post(t, link+"/code", url.Values{"code": {last}})
	if code != http.StatusGone || site.textConsents(t, "") != 0 {
		t.Fatalf("an expired code: %d, %d text consents; want 410 and none", code, site.textConsents(t, ""))
	}
	wantText(t, "expired code", body, "expired")
	var mobile string
	site.db.Get(&mobile, `SELECT mobile FROM signups`)
	if mobile != "" {
		t.Errorf("the sign-up keeps the mobile %q after its code expired", mobile)
	}

	// Skip: email only, and the number is forgotten at once.
	hal := site.signUp(t, 2, "hal@example.org", "07700 900413", general)
	site.post(t, hal, nil)
	code, body = site.post(t, hal+"/skip", nil)
	if code != http.StatusOK {
		t.Fatalf("skip: %d\n%s", code, body)
	}
	wantText(t, "skipped", body, "by email only")
	site.db.Get(&mobile, `SELECT mobile FROM signups WHERE contact_id = (SELECT contact_id FROM contact_points WHERE value = 'hal@example.org')`)
	if mobile != "" || site.textConsents(t, "") != 0 {
		t.Errorf("after skipping: mobile %q kept, %d text consents", mobile, site.textConsents(t, ""))
	}

	// Ida never types her code; the next sign-up's sweep blanks her mobile once the
	// code has expired.
	ida := site.signUp(t, 3, "ida@example.org", "07700 900414", general)
	site.post(t, ida, nil)
	site.db.Exec(`UPDATE signups SET mobile_until = now() - interval '1 second' WHERE mobile = '+447700900414'`)
	site.signUp(t, 4, "jo@example.org", "", general)
	var left int
	site.db.Get(&left, `SELECT count(*) FROM signups WHERE mobile = '+447700900414'`)
	if left != 0 {
		t.Errorf("the sweep left an unconfirmed mobile whose code had expired")
	}
}

// Without an SMS provider the mobile can't be confirmed: confirming the email sets up
// email, the page says texts can't be confirmed now, and nothing is kept of the mobile.
func TestSignUpMobileWithoutSMS(t *testing.T) {
	t.Parallel()
	site := newSignupSiteNoSMS(t)
	general := site.topic(t, "general", "General news")
	link := site.signUp(t, 1, "kim@example.org", "07700 900515", general)
	code, body := site.post(t, link, nil)
	if code != http.StatusOK {
		t.Fatalf("confirm: %d\n%s", code, body)
	}
	wantText(t, "confirmed without SMS", body, "can’t confirm mobile numbers by text")
	wantText(t, "confirmed without SMS", body, "by email")
	var phones int
	var mobile string
	site.db.Get(&phones, `SELECT count(*) FROM contact_points WHERE kind = 'phone'`)
	site.db.Get(&mobile, `SELECT mobile FROM signups`)
	if phones != 0 || mobile != "" || site.textConsents(t, "") != 0 {
		t.Errorf("without SMS: %d mobiles added, sign-up keeps %q", phones, mobile)
	}
	var email int
	site.db.Get(&email, `SELECT count(*) FROM consents`)
	if email != 1 {
		t.Errorf("%d consents, want the email's one", email)
	}
}

// A resident who asked to be erased can't be signed up again by the form: the page
// says what it always says, and nothing is kept or emailed. A suppressed mobile is left
// out of an otherwise new sign-up.
func TestSignUpRefusesErasedResidents(t *testing.T) {
	t.Parallel()
	site := newSignupSite(t)
	general := site.topic(t, "general", "General news")
	for _, v := range []struct{ kind, value string }{{suppression.Email, "gone@example.org"}, {suppression.Phone, "+447700900555"}} {
		if err := site.key.Add(t.Context(), site.db, v.kind, v.value, "erased on request"); err != nil {
			t.Fatal(err)
		}
	}
	code, body := site.post(t, "/signup", url.Values{"email": {"Gone@Example.org"}, "topic": {itoa(general)}})
	if code != http.StatusOK || !strings.Contains(body, "Check your email") {
		t.Fatalf("erased email's sign-up: %d\n%s", code, body)
	}
	var n int
	if err := site.db.Get(&n, `SELECT count(*) FROM signups`); err != nil || n != 0 {
		t.Fatalf("%d sign-ups kept for an erased email (%v)", n, err)
	}
	if got := len(site.smtp.Messages()); got != 0 {
		t.Fatalf("%d emails sent to an erased address", got)
	}
	link := site.signUp(t, 1, "newcomer@example.org", "07700 900555", general)
	var mobile string
	if err := site.db.Get(&mobile, `SELECT mobile FROM signups`); err != nil || mobile != "" {
		t.Fatalf("the sign-up kept the erased mobile %q (%v)", mobile, err)
	}
	if code, page := site.post(t, link, nil); code != http.StatusOK || strings.Contains(page, "code we texted") {
		t.Fatalf("confirming: %d\n%s", code, page)
	}
	if n := site.textConsents(t, "+447700900555"); n != 0 || len(site.tw.Messages()) != 0 {
		t.Errorf("the erased mobile got %d consents and %d texts", n, len(site.tw.Messages()))
	}
}
