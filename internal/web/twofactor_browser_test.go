package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// TestBrowserTwoFactor: an officer sets up two-factor sign-in on a phone-sized screen,
// typing the key shown and the code, sees the recovery codes, signs out, and signs in
// again through the code step (a wrong code first). axe finds nothing on any page, each
// fits 360 px and starts with a visible focus.
func TestBrowserTwoFactor(t *testing.T) {
	s := newTFSite(t)
	ctx := newBrowser(t)
	code := func(d time.Duration) string {
		secret := strings.ReplaceAll(text(t, ctx, "#secret"), " ", "")
		c, err := totp.GenerateCode(secret, s.clock.Now().Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	open(t, ctx, s.base+"/login", 200)
	browse(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#email"), "jo@council.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	open(t, ctx, s.base+"/account/two-factor", 200)
	checkPage(t, ctx, "two-factor enrolment")
	secretShown := strings.ReplaceAll(text(t, ctx, "#secret"), " ", "")
	first := code(0)
	browse(t, ctx, "type the first code", chromedp.SendKeys(chromedp.CSS("#code"), first))
	submit(t, ctx, "form[action='/account/two-factor'] button", 200)
	if n := evaluate[int](t, ctx, "count the recovery codes", `document.querySelectorAll('#recovery-codes li').length`); n != 10 {
		t.Fatalf("recovery codes shown: %d", n)
	}
	checkPage(t, ctx, "two-factor recovery codes")
	submit(t, ctx, "form[action='/logout'] button", 200)

	browse(t, ctx, "sign in again",
		chromedp.SendKeys(chromedp.CSS("#email"), "jo@council.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "Enter your code" {
		t.Fatalf("after the password: %q", h)
	}
	checkPage(t, ctx, "two-factor code step")
	browse(t, ctx, "type a wrong code", chromedp.SendKeys(chromedp.CSS("#code"), "000000"))
	submit(t, ctx, "form[action='/login/code'] button", 401)
	if e := text(t, ctx, "#code-error"); !strings.Contains(e, "not right") {
		t.Errorf("wrong code message: %q", e)
	}
	checkPage(t, ctx, "two-factor code step with an error")
	next, err := totp.GenerateCode(secretShown, s.clock.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	browse(t, ctx, "type the right code", chromedp.SendKeys(chromedp.CSS("#code"), next))
	submit(t, ctx, "form[action='/login/code'] button", 200)
	if h := text(t, ctx, "h1"); h != "Dashboard" {
		t.Errorf("after the code: %q", h)
	}
	open(t, ctx, s.base+"/account/two-factor", 200)
	checkPage(t, ctx, "two-factor on")
}
