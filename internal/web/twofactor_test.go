package web_test

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"html"
	"image/png"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/web"
)

// testClock is the time the codes are checked against: pinned, and moved by the test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock on by d.
func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// tfSite is the web app with two-factor sign-in: an officer (Jo), an admin (Ada) and a
// volunteer (Sam), behind a trusted proxy at 127.0.0.1 so tests can come from several
// addresses.
type tfSite struct {
	base  string
	db    *sqlx.DB
	tf    *auth.TwoFactor
	clock *testClock
}

var linkKey = bytes.Repeat([]byte("k"), 32)

func newTFSite(t *testing.T) *tfSite {
	t.Helper()
	d := dbtest.New(t)
	as := auth.NewStore(d)
	as.Cost = bcrypt.MinCost
	for _, u := range []struct{ email, name, role string }{
		{"jo@council.example", "Jo Officer", auth.Officer},
		{"ada@council.example", "Ada Admin", auth.Admin},
		{"sam@volunteers.example", "Sam Volunteer", auth.Volunteer},
	} {
		if _, err := as.Add(t.Context(), u.email, u.name, u.role, appPassword); err != nil {
			t.Fatal(err)
		}
	}
	tf, err := auth.NewTwoFactor(d, linkKey)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{t: time.Date(2026, 3, 2, 9, 0, 10, 0, time.UTC)}
	tf.Now = clock.Now
	proxies, _ := web.ParseTrustedProxies("127.0.0.1")
	signer, _ := email.NewSigner(linkKey)
	ws, err := web.New(web.Config{DB: d, Signer: signer, Branding: email.Branding{OrgName: "Millbrook Council"},
		App:            &web.App{Auth: as, Rounds: printrun.NewStore(d), Inbox: inbox.NewStore(d, inbox.Config{}, nil), TwoFactor: tf},
		TrustedProxies: proxies})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(srv.Close)
	return &tfSite{base: srv.URL, db: d, tf: tf, clock: clock}
}

// client is a browser without redirects, coming from addr (through the proxy).
func (s *tfSite) client(addr string) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: from(addr), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (s *tfSite) get(t *testing.T, c *http.Client, path string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(s.base + path)
	if err != nil {
		t.Fatal(err)
	}
	return res, body(t, res)
}

// post sends a form with the CSRF token of the page at csrfFrom.
func (s *tfSite) post(t *testing.T, c *http.Client, csrfFrom, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	_, page := s.get(t, c, csrfFrom)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on %s: %.300s", csrfFrom, page)
	}
	form.Set("csrf", m[1])
	res, err := c.PostForm(s.base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	return res, body(t, res)
}

// password signs in with the password and returns the answer.
func (s *tfSite) password(t *testing.T, c *http.Client, email string) *http.Response {
	t.Helper()
	res, _ := s.post(t, c, "/login", "/login", url.Values{"email": {email}, "password": {appPassword}})
	return res
}

// code answers the second step.
func (s *tfSite) code(t *testing.T, c *http.Client, code string) (*http.Response, string) {
	t.Helper()
	return s.post(t, c, "/login/code", "/login/code", url.Values{"code": {code}})
}

// codeAt is the authenticator app's code at the site's clock moved by d.
func (s *tfSite) codeAt(t *testing.T, secret string, d time.Duration) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, s.clock.Now().Add(d))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	secretRE   = regexp.MustCompile(`<code class="secret" id="secret">([A-Z2-7 ]+)</code>`)
	qrRE       = regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`)
	recoveryRE = regexp.MustCompile(`<li>([a-z2-9]{5}-[a-z2-9]{5})</li>`)
)

// enrol turns two-factor on for the account signed in on c and returns its secret and
// recovery codes.
func (s *tfSite) enrol(t *testing.T, c *http.Client) (string, []string) {
	t.Helper()
	res, page := s.get(t, c, "/account/two-factor")
	m := secretRE.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("enrolment page: %d, no secret: %.500s", res.StatusCode, page)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	res, page = s.post(t, c, "/account/two-factor", "/account/two-factor", url.Values{"code": {s.codeAt(t, secret, 0)}})
	var codes []string
	for _, m := range recoveryRE.FindAllStringSubmatch(page, -1) {
		codes = append(codes, m[1])
	}
	if res.StatusCode != http.StatusOK || len(codes) != auth.RecoveryCodes {
		t.Fatalf("confirming with a right code: %d, %d recovery codes", res.StatusCode, len(codes))
	}
	return secret, codes
}

func signedIn(t *testing.T, s *tfSite, c *http.Client) bool {
	t.Helper()
	res, _ := s.get(t, c, "/rounds")
	return res.StatusCode == http.StatusOK
}

// TestTwoFactorEnrolAndSignIn: an officer sets up two-factor from the QR code (which
// names the council) after one wrong code; the secret is stored sealed; from then on the
// password alone gives no session, the code used at enrolment is refused as used, the
// next one signs in, and one step of clock drift either way is accepted, two are not.
func TestTwoFactorEnrolAndSignIn(t *testing.T) {
	s := newTFSite(t)
	c := s.client("198.51.100.1")
	if res := s.password(t, c, "jo@council.example"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("without two-factor, the password signs in: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, page := s.get(t, c, "/account/two-factor")
	m, q := secretRE.FindStringSubmatch(page), qrRE.FindStringSubmatch(page)
	if m == nil || q == nil {
		t.Fatalf("enrolment page has no secret or QR code: %.800s", page)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	pngBytes, err := base64.StdEncoding.DecodeString(html.UnescapeString(q[1]))
	if err != nil {
		t.Fatalf("the QR code's data URL: %v: %.80s", err, q[1])
	}
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatal(err)
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
	qr, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		// gozxing's finder-pattern search misses some codes that phones read; the image is a
		// clean generated code, which its pure-barcode mode reads without searching.
		qr, err = zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	}
	if err != nil {
		t.Fatalf("the QR code does not scan: %v", err)
	}
	u, err := url.Parse(qr.GetText())
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("issuer") != "Millbrook Council" ||
		u.Query().Get("secret") != secret || !strings.Contains(u.Path, "jo@council.example") {
		t.Errorf("the QR code holds %q, want an otpauth://totp URL for Millbrook Council with the page's secret", qr.GetText())
	}
	if _, again := s.get(t, c, "/account/two-factor"); !strings.Contains(again, m[1]) {
		t.Error("reloading the page changed the secret (a scanned app would no longer match)")
	}

	res, page := s.post(t, c, "/account/two-factor", "/account/two-factor", url.Values{"code": {s.codeAt(t, secret, 2*time.Minute)}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "That code is not right") {
		t.Errorf("a wrong first code: %d", res.StatusCode)
	}
	if on, _ := s.tf.Enabled(t.Context(), 1); on {
		t.Fatal("two-factor turned on by a wrong code")
	}
	enrolCode := s.codeAt(t, secret, 0)
	res, page = s.post(t, c, "/account/two-factor", "/account/two-factor", url.Values{"code": {enrolCode}})
	if n := len(recoveryRE.FindAllString(page, -1)); res.StatusCode != http.StatusOK || n != 10 {
		t.Fatalf("confirming: %d with %d recovery codes, want 200 and 10", res.StatusCode, n)
	}
	var stored []byte
	if err := s.db.Get(&stored, `SELECT secret FROM user_totp WHERE user_id = (SELECT id FROM users WHERE email = 'jo@council.example')`); err != nil {
		t.Fatal(err)
	}
	raw, _ := base32NoPad(secret)
	if bytes.Contains(stored, raw) || bytes.Contains(stored, []byte(secret)) {
		t.Error("the TOTP secret is stored in the clear")
	}
	var hashes []string
	s.db.Select(&hashes, `SELECT encode(code_hash, 'escape') FROM user_recovery_codes`)
	if len(hashes) != 10 {
		t.Errorf("%d recovery codes stored, want 10", len(hashes))
	}
	for _, code := range recoveryRE.FindAllStringSubmatch(page, -1) {
		for _, h := range hashes {
			if strings.Contains(h, code[1]) || strings.Contains(h, strings.ReplaceAll(code[1], "-", "")) {
				t.Fatal("a recovery code is stored in the clear")
			}
		}
	}
	if _, page := s.get(t, c, "/account/two-factor"); secretRE.MatchString(page) || !strings.Contains(page, "Turn off two-factor sign-in") {
		t.Error("once on, the page still shows the secret, or no way to turn it off")
	}

	// Signing in again: the password gives a pending sign-in, not a session.
	c = s.client("198.51.100.1")
	res = s.password(t, c, "jo@council.example")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login/code" {
		t.Fatalf("password with two-factor on: %d to %q, want 303 to /login/code", res.StatusCode, res.Header.Get("Location"))
	}
	for _, ck := range res.Cookies() {
		if ck.Name == "crier_session" && ck.Value != "" {
			t.Error("a session cookie was set before the code")
		}
	}
	if signedIn(t, s, c) {
		t.Fatal("signed in with the password alone")
	}
	res, page = s.code(t, c, enrolCode)
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "used already") || !strings.Contains(page, "Tries left: 4") {
		t.Errorf("the enrolment's code again: %d, want 401 \"used already\" with 4 tries left", res.StatusCode)
	}
	next := s.codeAt(t, secret, 30*time.Second) // the app's clock a step ahead
	if res, _ = s.code(t, c, next[:3]+" "+next[3:]); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("the next code: %d to %q, want 303 to /", res.StatusCode, res.Header.Get("Location"))
	}
	if !signedIn(t, s, c) {
		t.Fatal("not signed in after the right code")
	}

	// The same code again, from another sign-in in the same window: refused.
	c2 := s.client("198.51.100.1")
	s.password(t, c2, "jo@council.example")
	if res, page = s.code(t, c2, next); res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "used already") {
		t.Errorf("a code used by another sign-in: %d, want 401 used already", res.StatusCode)
	}
	s.clock.Advance(10 * time.Minute)
	if res, _ = s.code(t, c2, s.codeAt(t, secret, -60*time.Second)); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a code two steps old: %d, want 401", res.StatusCode)
	}
	if res, _ = s.code(t, c2, s.codeAt(t, secret, -30*time.Second)); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a code one step old (the phone's clock behind): %d, want 303", res.StatusCode)
	}

	// Under a key other than the link key, the stored secret is of no use.
	other, _ := auth.NewTwoFactor(s.db, bytes.Repeat([]byte("x"), 32))
	other.Now = s.clock.Now
	if err := other.Disable(t.Context(), 1, s.codeAt(t, secret, 30*time.Second)); err == nil || errors.Is(err, auth.ErrBadCode) ||
		!strings.Contains(err.Error(), "does not open") {
		t.Errorf("a right code checked under another key: %v, want the secret not to open", err)
	}
}

func base32NoPad(s string) ([]byte, error) {
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
}

// TestTwoFactorWrongCodesLimited: five wrong codes end a pending sign-in (the right code
// is then refused too) and count as failed sign-ins, so the password is slowed down from
// that address; ten wrong codes for one account, from anywhere, make the next code wait.
func TestTwoFactorWrongCodesLimited(t *testing.T) {
	s := newTFSite(t)
	c := s.client("198.51.100.1")
	s.password(t, c, "jo@council.example")
	secret, _ := s.enrol(t, c)
	s.clock.Advance(time.Minute)

	c = s.client("203.0.113.5")
	s.password(t, c, "jo@council.example")
	for i := range 4 {
		res, page := s.code(t, c, "000000")
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "Tries left: "+string(rune('4'-i))) {
			t.Fatalf("wrong code %d: %d %.200s", i+1, res.StatusCode, page)
		}
	}
	if res, page := s.code(t, c, "abcde-fghjk"); res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "Sign in again") {
		t.Fatalf("the fifth wrong code: %d, want 401 and back to the password", res.StatusCode)
	}
	res, err := c.PostForm(s.base+"/login/code", url.Values{"code": {s.codeAt(t, secret, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	if b := body(t, res); res.StatusCode != http.StatusUnauthorized || signedIn(t, s, c) {
		t.Fatalf("the right code after five wrong ones: %d %.200s", res.StatusCode, b)
	}
	var failed int
	s.db.Get(&failed, `SELECT count(*) FROM login_attempts WHERE login = 'jo@council.example' AND ip = '203.0.113.5' AND ok = false`)
	if failed != 5 {
		t.Errorf("%d failed sign-ins recorded for the wrong codes, want 5", failed)
	}
	if res := s.password(t, c, "jo@council.example"); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the password from the guessing address after five wrong codes: %d, want 429", res.StatusCode)
	}

	// Five more from another address: the account has had ten; the next code waits.
	c = s.client("203.0.113.6")
	s.password(t, c, "jo@council.example")
	for range 5 {
		s.code(t, c, "111111")
	}
	c = s.client("203.0.113.7")
	if res := s.password(t, c, "jo@council.example"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the password from a third address: %d", res.StatusCode)
	}
	res, page := s.code(t, c, s.codeAt(t, secret, 0))
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(page, "Too many wrong codes") {
		t.Errorf("a code after ten wrong ones for the account: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if signedIn(t, s, c) {
		t.Error("signed in past the limit")
	}
}

// TestTwoFactorRecoveryCodeOnce: a recovery code signs in once (typed in capitals with
// spaces), and never again; another still works.
func TestTwoFactorRecoveryCodeOnce(t *testing.T) {
	s := newTFSite(t)
	c := s.client("198.51.100.1")
	s.password(t, c, "jo@council.example")
	_, codes := s.enrol(t, c)

	typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " "))
	c = s.client("198.51.100.1")
	s.password(t, c, "jo@council.example")
	if res, _ := s.code(t, c, typed); res.StatusCode != http.StatusSeeOther || !signedIn(t, s, c) {
		t.Fatalf("a recovery code: %d, want signed in", res.StatusCode)
	}
	c = s.client("198.51.100.1")
	s.password(t, c, "jo@council.example")
	if res, _ := s.code(t, c, codes[3]); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the same recovery code again: %d, want 401", res.StatusCode)
	}
	if res, _ := s.code(t, c, codes[4]); res.StatusCode != http.StatusSeeOther {
		t.Errorf("another recovery code: %d, want 303", res.StatusCode)
	}
	var used int
	s.db.Get(&used, `SELECT count(*) FROM user_recovery_codes WHERE used_at IS NOT NULL`)
	if used != 2 {
		t.Errorf("%d recovery codes marked used, want 2", used)
	}
}

// TestTwoFactorRequired: only an admin can require two-factor; then an officer without
// it is sent to enrolment from every page (and can't post elsewhere) until they have
// set it up, a volunteer is not; turning it off takes a current code and, while it is
// required, sends the officer straight back to enrolment.
func TestTwoFactorRequired(t *testing.T) {
	s := newTFSite(t)
	jo := s.client("198.51.100.1")
	s.password(t, jo, "jo@council.example")
	if res, _ := s.post(t, jo, "/rounds", "/admin/security", url.Values{"require_2fa": {"on"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("an officer requiring two-factor: %d, want 403", res.StatusCode)
	}
	ada := s.client("198.51.100.2")
	s.password(t, ada, "ada@council.example")
	if res, page := s.get(t, ada, "/admin/security"); res.StatusCode != http.StatusOK || !strings.Contains(page, "not required") {
		t.Fatalf("the security page: %d", res.StatusCode)
	}
	if res, _ := s.post(t, ada, "/admin/security", "/admin/security", url.Values{"require_2fa": {"on"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("requiring two-factor: %d", res.StatusCode)
	}
	if on, _ := s.tf.Required(t.Context()); !on {
		t.Fatal("not required after the admin's switch")
	}
	// The admin, signed in already, is sent to enrolment too.
	if res, _ := s.get(t, ada, "/admin/security"); res.Header.Get("Location") != "/account/two-factor" {
		t.Errorf("the admin after requiring it: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	for _, path := range []string{"/", "/campaigns", "/contacts", "/rounds"} {
		if res, _ := s.get(t, jo, path); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/two-factor" {
			t.Errorf("GET %s without two-factor: %d to %q, want 303 to enrolment", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if res, page := s.post(t, jo, "/account/two-factor", "/segments/new", url.Values{"name": {"x"}}); res.StatusCode != http.StatusForbidden ||
		!strings.Contains(page, "Set up two-factor sign-in first") {
		t.Errorf("a POST without two-factor: %d", res.StatusCode)
	}
	if res, page := s.get(t, jo, "/account/two-factor"); res.StatusCode != http.StatusOK || !strings.Contains(page, "requires two-factor") {
		t.Errorf("the enrolment page when required: %d", res.StatusCode)
	}
	sam := s.client("198.51.100.3")
	s.password(t, sam, "sam@volunteers.example")
	if !signedIn(t, s, sam) {
		t.Error("a volunteer was held up by the requirement")
	}

	secret, _ := s.enrol(t, jo)
	if res, _ := s.get(t, jo, "/campaigns"); res.StatusCode != http.StatusOK {
		t.Errorf("after enrolling: /campaigns %d", res.StatusCode)
	}
	res, page := s.post(t, jo, "/account/two-factor", "/account/two-factor/off", url.Values{"code": {"123456"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "That code is not right") {
		t.Errorf("turning off with a wrong code: %d", res.StatusCode)
	}
	if res, _ = s.post(t, jo, "/account/two-factor", "/account/two-factor/off", url.Values{"code": {s.codeAt(t, secret, 30*time.Second)}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("turning off with a right code: %d", res.StatusCode)
	}
	if on, _ := s.tf.Enabled(t.Context(), 1); on {
		t.Error("still on after turning it off")
	}
	if res, _ := s.get(t, jo, "/campaigns"); res.Header.Get("Location") != "/account/two-factor" {
		t.Errorf("turned off while required: /campaigns %d to %q, want enrolment", res.StatusCode, res.Header.Get("Location"))
	}
	if err := s.tf.SetRequired(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if res, _ := s.get(t, jo, "/campaigns"); res.StatusCode != http.StatusOK {
		t.Errorf("no longer required: /campaigns %d", res.StatusCode)
	}
}
