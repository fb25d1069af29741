package web_test

import (
	"bytes"
	"context"
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
	"github.com/crierhq/crier/internal/sandbox"
	"github.com/crierhq/crier/internal/web"
)

// signupSite is a residentSite whose web server can send email, to the sandbox SMTP
// server on loopback.
type signupSite struct {
	*residentSite
	smtp *sandbox.SMTPServer
}

func newSignupSite(t *testing.T) *signupSite {
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
	srv, err := web.New(web.Config{DB: d, Signer: signer, Branding: email.Branding{OrgName: "Millbrook Town Council"},
		App: &web.App{Auth: auth.NewStore(d), Mail: sender, MailFrom: "Millbrook Town Council <news@millbrook.example>"}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &signupSite{residentSite: &residentSite{db: d, signer: signer, url: ts.URL}, smtp: box}
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
// the resident is a contact with email and mobile, each topic granted from the web.
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
		chromedp.Click(chromedp.CSS("#topic-"+itoa(general))))
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
	submit(t, ctx, `main form button`, 200)
	wantText(t, "done", text(t, ctx, "h1"), "You are signed up")
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
	var left string
	site.db.Get(&left, `SELECT email || first_name || mobile FROM signups`)
	if left != "" {
		t.Errorf("the confirmed sign-up still holds a copy of the resident's details: %q", left)
	}

	// The link again: already done. The preference centre shows both channels.
	open(t, ctx, link, 200)
	wantText(t, "second visit", text(t, ctx, "h1"), "You are already signed up")
	browse(t, ctx, "open the preference centre", chromedp.Click(chromedp.CSS(`main a[href^="/p/"]`)))
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
