package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/web"
)

// TestInputPostgresCannotStore: a NUL byte or bytes that are not UTF-8, in a form or a
// query, anonymous or signed in, get a 400 page saying why, never a 500; a form over the
// bound gets 413, not "Enter your email"; and pages are never cached.
func TestInputPostgresCannotStore(t *testing.T) {
	base := signInSite(t, false)
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		res, err := http.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, body(t, res)
	}
	for _, tc := range []struct {
		name string
		path string
		form url.Values
	}{
		{"NUL in the sign-in email", "/login", url.Values{"email": {"jo\x00@council.example"}, "password": {"x"}}},
		{"invalid UTF-8 in the sign-in email", "/login", url.Values{"email": {"jo\xff@council.example"}, "password": {"x"}}},
		{"NUL in the sign-up form", "/signup", url.Values{"email": {"sian@example.org"}, "name": {"Si\x00an"}}},
		{"NUL in a field's name", "/signup", url.Values{"em\x00ail": {"sian@example.org"}}},
	} {
		if code, b := post(tc.path, tc.form); code != http.StatusBadRequest || !strings.Contains(b, "can’t be stored") {
			t.Errorf("%s: %d, want 400 saying why", tc.name, code)
		}
	}
	res, err := http.Get(base + "/login?next=%00")
	if err != nil {
		t.Fatal(err)
	}
	if body(t, res); res.StatusCode != http.StatusBadRequest {
		t.Errorf("NUL in the query: %d", res.StatusCode)
	}
	if code, b := post("/signup", url.Values{"email": {"sian@example.org"}, "name": {strings.Repeat("Siân ", 20<<10)}}); code != http.StatusRequestEntityTooLarge || !strings.Contains(b, "over 64 KB") {
		t.Errorf("a 100 KB sign-up form: %d, want 413", code)
	}
	res, err = http.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body(t, res)
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if res.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain http")
	}
}

// TestSignedInPagesRefuseNUL: an officer's contact search with a NUL byte gets 400.
func TestSignedInPagesRefuseNUL(t *testing.T) {
	r := newContactsRig(t)
	c := r.officer(t)
	for _, p := range []string{"/contacts?q=%00", "/contacts?q=%ff%fe", "/replies?tag=%00"} {
		if code, _, _ := page(t, c, r.srv.URL+p); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", p, code)
		}
	}
	if code, _, b := page(t, c, r.srv.URL+"/"); code != http.StatusOK || b == "" {
		t.Fatalf("dashboard: %d", code)
	}
	res, err := c.Get(r.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body(t, res)
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("the dashboard's Cache-Control is %q, want no-store", cc)
	}
}

// TestWebhooksStoreWhatTheyCarry: a signed text with a NUL byte and bytes that are not
// UTF-8 is stored (replacement characters in body, the bytes as they came in raw_body)
// and answered 200; a status callback with an ErrorCode that isn't Twilio's is recorded,
// not refused.
func TestWebhooksStoreWhatTheyCarry(t *testing.T) {
	r := newSMSRig(t)
	sid := "SM" + strings.Repeat("0d", 16)
	in := url.Values{"MessageSid": {sid}, "From": {"+447700900101"}, "To": {smsFrom}, "Body": {"caf\xe9 \x00 ok"}}
	if code, _ := r.post(t, web.InboundPath, in, true); code != http.StatusOK {
		t.Fatalf("inbound with NUL and Latin-1: %d", code)
	}
	var got struct {
		Body string `db:"body"`
		Raw  []byte `db:"raw_body"`
	}
	if err := r.db.Get(&got, `SELECT body, raw_body FROM sms_messages WHERE provider_sid = $1`, sid); err != nil {
		t.Fatal(err)
	}
	if got.Body != "caf\uFFFD \uFFFD ok" || string(got.Raw) != "caf\xe9 \x00 ok" {
		t.Errorf("stored body %q, raw %q", got.Body, got.Raw)
	}
	for _, ec := range []string{"99999999999", "-3", "E30003"} {
		st := url.Values{"MessageSid": {"SM" + strings.Repeat("ab", 16)}, "MessageStatus": {"undelivered"}, "ErrorCode": {ec}}
		if code, _ := r.post(t, web.StatusPath, st, true); code != http.StatusNoContent {
			t.Errorf("status callback with ErrorCode %q: %d, want 204", ec, code)
		}
	}
}
