package web_test

import (
	"bytes"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/web"
)

// signInSite is a web server with one officer, behind a proxy at 127.0.0.1 when trusted.
func signInSite(t *testing.T, trustProxy bool) string {
	t.Helper()
	d := dbtest.New(t)
	as := auth.NewStore(d)
	as.Cost = bcrypt.MinCost
	if _, err := as.Add(t.Context(), "jo@council.example", "Jo Officer", auth.Officer, appPassword); err != nil {
		t.Fatal(err)
	}
	var proxies []netip.Prefix
	if trustProxy {
		var err error
		if proxies, err = web.ParseTrustedProxies("127.0.0.1, 10.0.0.0/8"); err != nil {
			t.Fatal(err)
		}
	}
	signer, _ := email.NewSigner(bytes.Repeat([]byte("k"), 32))
	ws, err := web.New(web.Config{DB: d, Signer: signer, Branding: email.Branding{OrgName: "Millbrook Council"},
		App: &web.App{Auth: as, Inbox: inbox.NewStore(d, inbox.Config{}, nil)}, TrustedProxies: proxies})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// from is a transport that says, as a proxy would, which client a request came from.
type from string

func (f from) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if f != "" {
		r.Header.Set("X-Forwarded-For", string(f))
	}
	return http.DefaultTransport.RoundTrip(r)
}

// signIn tries a password from client address addr (through the proxy) and returns the
// answer's status, body and Retry-After.
func signIn(t *testing.T, base, addr, login, password string) (int, string, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: from(addr), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(base + "/login")
	if err != nil {
		t.Error(err)
		return 0, "", ""
	}
	m := csrfRE.FindStringSubmatch(body(t, res))
	if m == nil {
		t.Error("no CSRF token on the login form")
		return 0, "", ""
	}
	res, err = c.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "email": {login}, "password": {password}})
	if err != nil {
		t.Error(err)
		return 0, "", ""
	}
	return res.StatusCode, body(t, res), res.Header.Get("Retry-After")
}

// TestSignInLimitHoldsUnderParallelTries: 30 wrong passwords for one account at once get
// 5 "not right" and 25 "too many attempts" — the count and the record are one step.
func TestSignInLimitHoldsUnderParallelTries(t *testing.T) {
	base := signInSite(t, false)
	codes := make(chan int, 30)
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, _ := signIn(t, base, "", "jo@council.example", "wrong password "+strconv.Itoa(i))
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[http.StatusUnauthorized] != 5 || n[http.StatusTooManyRequests] != 25 {
		t.Errorf("30 parallel wrong passwords: %v, want 5 × 401 and 25 × 429", n)
	}
}

// TestSignInLimitIsNoLockOut: wrong passwords from one address slow that address down
// (with a Retry-After that grows) but don't lock the officer out from their own address;
// behind a trusted proxy each client is its own address, and X-Forwarded-For from an
// untrusted peer is ignored.
func TestSignInLimitIsNoLockOut(t *testing.T) {
	base := signInSite(t, true)
	const attacker, officer = "203.0.113.9", "198.51.100.20"
	for i := range 5 {
		if code, _, _ := signIn(t, base, attacker, "jo@council.example", "guess "+strconv.Itoa(i)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	code, b, retry := signIn(t, base, attacker, "jo@council.example", appPassword)
	if code != http.StatusTooManyRequests || !strings.Contains(b, "Too many attempts. Wait") || retry == "" {
		t.Errorf("the sixth try from the guessing address: %d, Retry-After %q", code, retry)
	}
	if code, _, _ := signIn(t, base, officer, "jo@council.example", appPassword); code != http.StatusSeeOther {
		t.Errorf("the officer from their own address: %d, want signed in (303)", code)
	}
	// 20 failures for accounts that don't exist slow down that address only.
	for i := range 20 {
		if code, _, _ := signIn(t, base, "192.0.2.77", "nobody"+strconv.Itoa(i)+"@council.example", "x"); code != http.StatusUnauthorized {
			t.Fatalf("unknown account %d: %d", i, code)
		}
	}
	if code, _, _ := signIn(t, base, "192.0.2.77", "jo@council.example", appPassword); code != http.StatusTooManyRequests {
		t.Errorf("after 20 failures from an address, a try from it: %d, want 429", code)
	}
	if code, _, _ := signIn(t, base, "192.0.2.78", "jo@council.example", appPassword); code != http.StatusSeeOther {
		t.Errorf("another client behind the same proxy: %d, want signed in", code)
	}

	// Without a trusted proxy, X-Forwarded-For is the client's own word: ignored.
	direct := signInSite(t, false)
	for i := range 5 {
		signIn(t, direct, "203.0.113."+strconv.Itoa(i), "jo@council.example", "guess")
	}
	if code, _, _ := signIn(t, direct, "203.0.113.99", "jo@council.example", appPassword); code != http.StatusTooManyRequests {
		t.Errorf("a forged X-Forwarded-For from an untrusted peer escaped the limit: %d", code)
	}
}

// TestSignInNextStaysOnSite: after signing in, next= goes only to a path of this site;
// a tab, a line break or a backslash that a browser would turn into another host is
// dropped, and the officer lands on the dashboard.
func TestSignInNextStaysOnSite(t *testing.T) {
	base := signInSite(t, false)
	for _, tc := range []struct{ next, want string }{
		{"/campaigns/3", "/campaigns/3"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"/a\\b", "/"},
		{"https://evil.example/", "/"},
	} {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Get(base + "/login?next=" + url.QueryEscape(tc.next))
		if err != nil {
			t.Fatal(err)
		}
		m := csrfRE.FindStringSubmatch(body(t, res))
		if m == nil {
			t.Fatal("no CSRF token")
		}
		res, err = c.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "email": {"jo@council.example"},
			"password": {appPassword}, "next": {tc.next}})
		if err != nil {
			t.Fatal(err)
		}
		body(t, res)
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != tc.want {
			t.Errorf("next=%q: %d to %q, want 303 to %q", tc.next, res.StatusCode, loc, tc.want)
		}
	}
}
