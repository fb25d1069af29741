package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/lang"
	"github.com/crierhq/crier/internal/sandbox"
	"github.com/crierhq/crier/internal/sms"
	"github.com/crierhq/crier/internal/suppression"
	"github.com/crierhq/crier/internal/web"
)

// signupSite is a residentSite whose web server can send email, to the sandbox SMTP
// server on loopback, and texts, through twilio-go to the Twilio-compatible sandbox
// (tw is nil for a site without SMS).
type signupSite struct {
	*residentSite
	smtp *sandbox.SMTPServer
	tw   *sandbox.TwilioServer
	key  *suppression.Key
}

func newSignupSite(t *testing.T) *signupSite { return startSignupSite(t, true) }

// newSignupSiteNoSMS is a sign-up site with email but no SMS provider.
func newSignupSiteNoSMS(t *testing.T) *signupSite { return startSignupSite(t, false) }

func startSignupSite(t *testing.T, withSMS bool) *signupSite {
	t.Helper()
	d := dbtest.New(t)
	signer, err := email.NewSigner(bytes.Repeat([]byte("s"), 32))
	if err != nil {
		t.Fatal(err)
	}
	box, err := sandbox.StartSMTP(t.Context(), sandbox.SMTPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	host, port, _ := strings.Cut(box.Addr(), ":")
	sender, err := email.NewSMTPSender(email.SMTPConfig{Host: host, Port: atoi(t, port), TLS: email.TLSNone}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })
	app := &web.App{Auth: auth.NewStore(d), Mail: sender, MailFrom: "Millbrook Town Council <news@millbrook.example>"}
	site := &signupSite{smtp: box}
	if withSMS {
		site.tw, err = sandbox.StartTwilio(t.Context(), sandbox.TwilioConfig{AccountSID: smsAccount, AuthToken: smsToken})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { site.tw.Close() })
		texter, err := sms.NewTwilioSender(sms.TwilioConfig{AccountSID: smsAccount, AuthToken: smsToken, From: smsFrom,
			APIURL: site.tw.URL()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		app.SMS = texter
	}
	languages, err := lang.ParseList("en,cy")
	if err != nil {
		t.Fatal(err)
	}
	site.key, err = suppression.NewKey(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{DB: d, Signer: signer, Branding: email.Branding{OrgName: "Millbrook Town Council"}, App: app,
		Languages: languages, Suppression: site.key})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	site.residentSite = &residentSite{db: d, signer: signer, url: ts.URL}
	return site
}

var textedCode = regexp.MustCompile(`\b[0-9]{6}\b`)

// codeTexted returns the 6-digit code in the n-th text the sandbox took, checking it
// went to the number to.
func (s *signupSite) codeTexted(t *testing.T, n int, to string) string {
	t.Helper()
	msgs := s.tw.Messages()
	if len(msgs) < n {
		t.Fatalf("%d texts at the sandbox, want at least %d", len(msgs), n)
	}
	m := msgs[n-1]
	if m.To != to {
		t.Fatalf("text %d went to %s, want %s", n, m.To, to)
	}
	code := textedCode.FindString(m.Body)
	if code == "" {
		t.Fatalf("no 6-digit code in text %d: %q", n, m.Body)
	}
	return code
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// mailTo waits for the n-th email the sandbox received and returns its parsed message.
func (s *signupSite) mailTo(t *testing.T, n int) (*mail.Message, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.smtp.WaitFor(ctx, n); err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(bytes.NewReader(s.smtp.Messages()[n-1].Data))
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return m, string(body)
}

var confirmLink = regexp.MustCompile(`http://\S+/signup/confirm/\S+`)

// A new resident signs up: mistakes are named at the field, nothing is recorded until
// the emailed link is followed and confirmed (opening it changes nothing), and then
// the resident is a contact with email, each topic granted from the web; the mobile
// follows, with its own grants, once the code texted to it is typed in.
func TestBrowserSignUp(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	site := newSignupSite(t)
	general := site.topic(t, "general", "General news")
	site.topic(t, "roadworks", "Roadworks and closures")

	open(t, ctx, site.url+"/signup", 200)
	wantText(t, "heading", text(t, ctx, "h1"), "Sign up for updates")
	checkPage(t, ctx, "sign-up form")

	// Nothing filled in, and a landline for texts.
	browse(t, ctx, "fill in a landline", chromedp.Click(chromedp.CSS("#texts")),
		chromedp.SendKeys(chromedp.CSS("#mobile"), "01632 960 001"))
	submit(t, ctx, `main form button[type=submit]`, 422)
	problems := text(t, ctx, "#problems")
	for _, want := range []string{"Enter your email address", "that is a landline", "Choose at least one topic"} {
		wantText(t, "error summary", problems, want)
	}
	if got := evaluate[string](t, ctx, "email field's description", `document.querySelector('#email').getAttribute('aria-describedby')`); !strings.Contains(got, "email-error") {
		t.Errorf("the email field is not tied to its error: aria-describedby=%q", got)
	}
	checkPage(t, ctx, "sign-up form with errors")

	browse(t, ctx, "fill in the form",
		chromedp.SendKeys(chromedp.CSS("#first_name"), "Dan"),
		chromedp.SendKeys(chromedp.CSS("#email"), "Dan@Example.org"),
		chromedp.Clear(chromedp.CSS("#mobile")),
		chromedp.SendKeys(chromedp.CSS("#mobile"), "07700 900 982"),
		chromedp.Click(chromedp.CSS("#topic-"+itoa(general))),
		chromedp.Click(chromedp.CSS("#lang-cy")))
	submit(t, ctx, `main form button[type=submit]`, 200)
	wantText(t, "sent page", text(t, ctx, "h1"), "Check your email")
	checkPage(t, ctx, "sign-up: check your email")
	var contacts int
	site.db.Get(&contacts, `SELECT count(*) FROM contact_points WHERE kind = 'email'`)
	if contacts != 0 {
		t.Fatalf("%d email addresses recorded before the confirmation", contacts)
	}

	m, body := site.mailTo(t, 1)
	if to := m.Header.Get("To"); !strings.Contains(to, "Dan@example.org") {
		t.Errorf("confirmation went to %q", to)
	}
	if subj := m.Header.Get("Subject"); !strings.Contains(subj, "Confirm your sign-up") {
		t.Errorf("subject %q", subj)
	}
	wantText(t, "confirmation email", body, "General news")
	wantText(t, "confirmation email", body, "by email and by text")
	link := confirmLink.FindString(body)
	if link == "" {
		t.Fatalf("no confirmation link in:\n%s", body)
	}

	// A mail scanner opening the link records nothing.
	open(t, ctx, link, 200)
	wantText(t, "confirm page", text(t, ctx, "main"), "You asked for updates about:")
	checkPage(t, ctx, "sign-up: confirm")
	site.db.Get(&contacts, `SELECT count(*) FROM contact_points WHERE kind = 'email'`)
	if contacts != 0 {
		t.Fatal("opening the link recorded the sign-up; only the button may")
	}
	// Confirming the email sets up email only; the mobile gets a code, which the
	// resident types in before any text consent is recorded for it.
	submit(t, ctx, `main form button`, 200)
	wantText(t, "code page", text(t, ctx, "h1"), "Confirm your mobile number")
	var language string
	if err := site.db.Get(&language, `SELECT c.preferred_language FROM contacts c JOIN contact_points cp ON cp.contact_id = c.id
		WHERE cp.kind = 'email' AND cp.value = 'Dan@example.org'`); err != nil || language != "cy" {
		t.Errorf("the confirmed resident's language: %q (%v), want cy as chosen on the form", language, err)
	}
	wantText(t, "code page", text(t, ctx, "main"), "Enter the 6-digit code we texted to the mobile ending 0982")
	checkPage(t, ctx, "sign-up: mobile code")
	var phones int
	site.db.Get(&phones, `SELECT count(*) FROM consents c JOIN contact_points cp ON cp.id = c.contact_point_id WHERE cp.kind = 'phone'`)
	if phones != 0 {
		t.Fatalf("%d text consents recorded before the mobile was confirmed", phones)
	}
	code := site.codeTexted(t, 1, "+447700900982")
	wrong := fmt.Sprintf("%06d", (atoi(t, code)+1)%1000000)
	browse(t, ctx, "type a wrong code", chromedp.SendKeys(chromedp.CSS("#code"), wrong))
	submit(t, ctx, `#code-form button`, 422)
	wantText(t, "wrong code", text(t, ctx, "#problems"), "That code is not right")
	checkPage(t, ctx, "sign-up: wrong code")
	browse(t, ctx, "type the texted code", chromedp.Clear(chromedp.CSS("#code")), chromedp.SendKeys(chromedp.CSS("#code"), code))
	submit(t, ctx, `#code-form button`, 200)
	wantText(t, "done", text(t, ctx, "h1"), "You are signed up")
	wantText(t, "done", text(t, ctx, "main"), "mobile ending 0982")
	checkPage(t, ctx, "sign-up: done")

	var got []struct {
		Kind   string `db:"kind"`
		Value  string `db:"value"`
		Status string `db:"status"`
		Source string `db:"source"`
		Detail string `db:"detail"`
		Topic  string `db:"topic"`
	}
	if err := site.db.Select(&got, `SELECT cp.kind, cp.value, c.status, c.source, c.detail, t.slug AS topic
		FROM consents c JOIN contact_points cp ON cp.id = c.contact_point_id JOIN topics t ON t.id = c.topic_id
		ORDER BY cp.kind`); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Kind != "email" || got[0].Value != "Dan@example.org" || got[1].Kind != "phone" || got[1].Value != "+447700900982" {
		t.Fatalf("consents after confirming: %+v", got)
	}
	for _, g := range got {
		if g.Status != "granted" || g.Source != "web" || !strings.HasPrefix(g.Detail, "sign-up form, asked ") || g.Topic != "general" {
			t.Errorf("consent %+v, want general granted from the web's sign-up form", g)
		}
	}
	if !strings.HasSuffix(got[0].Detail, ", confirmed by email") || !strings.HasSuffix(got[1].Detail, ", confirmed by email, mobile confirmed by a texted code") {
		t.Errorf("consent details %q and %q: the mobile's should say it was confirmed by a texted code", got[0].Detail, got[1].Detail)
	}
	var left string
	site.db.Get(&left, `SELECT email || first_name || mobile FROM signups`)
	if left != "" {
		t.Errorf("the confirmed sign-up still holds a copy of the resident's details: %q", left)
	}

	// The link again: already done. The preference centre shows both channels.
	open(t, ctx, link, 200)
	wantText(t, "second visit", text(t, ctx, "h1"), "You are already signed up")
	submit(t, ctx, `main a[href^="/p/"]`, 200) // waits for the page, unlike a bare click
	wantText(t, "preferences", text(t, ctx, "main"), "By text to the mobile ending 0982")

	// Signing up again with a known address finds the same resident; a garbled link
	// says so.
	resp, err := http.PostForm(site.url+"/signup", url.Values{"email": {"dan@example.org"}, "topic": {itoa(general)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, body = site.mailTo(t, 2)
	resp, err = http.PostForm(confirmLink.FindString(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	site.db.Get(&contacts, `SELECT count(*) FROM contacts`)
	if resp.StatusCode != 200 || contacts != 1 {
		t.Fatalf("second sign-up: %d, %d contacts", resp.StatusCode, contacts)
	}
	open(t, ctx, site.url+"/signup/confirm/garbled", 404)
	checkPage(t, ctx, "sign-up: bad link")
}

// One address gets at most three confirmation emails a day however often it is
// signed up (the answer is the same, so the form tells nobody who is listed), and one
// connection may sign up ten times an hour. Without an SMTP server the form says it is
// closed rather than take details it can't confirm.
func TestSignUpLimits(t *testing.T) {
	t.Parallel()
	site := newSignupSite(t)
	general := site.topic(t, "general", "General news")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(addr string) *http.Response {
		t.Helper()
		resp, err := noRedirect.PostForm(site.url+"/signup", url.Values{"email": {addr}, "topic": {itoa(general)}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 4 {
		if resp := post("ann@example.org"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signup/sent" {
			t.Fatalf("sign-up %d: %d %s", i+1, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	site.mailTo(t, 3)
	for i := range 7 { // with ann@'s three, ten sign-ups kept from this connection
		post("other" + strconv.Itoa(i) + "@example.org")
	}
	site.mailTo(t, 10)
	if resp := post("late@example.org"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("11th sign-up from one connection: %d, want 429", resp.StatusCode)
	}
	if n := site.smtp.Count(); n != 10 {
		t.Fatalf("%d confirmation emails, want 10 (3 to ann@, 7 others)", n)
	}

	closed := newResidentSite(t)
	resp, err := http.Get(closed.url + "/signup")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("sign-up without SMTP: %d, want 503", resp.StatusCode)
	}
}
