package web_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// get fetches path from the site (following redirects) and returns the status and body.
func (s *residentSite) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// post sends a form to path (following redirects) and returns the status and body.
func (s *residentSite) post(t *testing.T, path string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(s.url+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// postal adds a postal address to the contact and returns its contact point id.
func (s *residentSite) postal(t *testing.T, contactID int64, flat, house, street, postcode string) int64 {
	t.Helper()
	var addr, id int64
	if err := s.db.Get(&addr, `INSERT INTO addresses (flat, house_number, street, postcode, postcode_sector)
		VALUES ($1, $2, $3, $4, split_part($4, ' ', 1) || ' ' || left(split_part($4, ' ', 2), 1)) RETURNING id`,
		flat, house, street, postcode); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Get(&id, `INSERT INTO contact_points (contact_id, kind, address_id) VALUES ($1, 'postal', $2) RETURNING id`,
		contactID, addr); err != nil {
		t.Fatal(err)
	}
	return id
}

// The preference centre shows where it reaches the resident without handing over their
// addresses to whoever a bulletin was forwarded to.
func TestPreferencesPageMasksAddresses(t *testing.T) {
	t.Parallel()
	site := newResidentSite(t)
	site.topic(t, "general", "General news")
	contactID, _ := site.resident(t, "Jane", "jane.doe@example.org")
	site.mobile(t, contactID, "+447700900229")
	site.postal(t, contactID, "Flat 3", "12", "High Street", "SW2 1RW")

	code, body := site.get(t, "/p/"+site.signer.PreferencesToken(contactID, time.Now()))
	if code != 200 {
		t.Fatalf("preferences: %d\n%.500s", code, body)
	}
	for _, want := range []string{"By email to j•••@example.org", "By text to the mobile ending 0229", "By post to High Street, SW2 1RW"} {
		wantText(t, "preferences page", body, want)
	}
	for _, leak := range []string{"jane.doe", "+447700900229", "Flat 3", "12 High Street", "12, High Street"} {
		if strings.Contains(body, leak) {
			t.Errorf("the preferences page shows %q", leak)
		}
	}
}

// A link older than CRIER_PREFERENCES_LINK_DAYS (90 by default), or of the shape made
// before links carried their day, shows nothing about the resident and changes nothing.
func TestExpiredPreferencesLink(t *testing.T) {
	t.Parallel()
	site := newResidentSite(t)
	topicID := site.topic(t, "general", "General news")
	contactID, points := site.resident(t, "Jane", "jane.doe@example.org")
	site.mobile(t, contactID, "+447700900229")
	site.postal(t, contactID, "Flat 3", "12", "High Street", "SW2 1RW")
	box := strconv.FormatInt(points[0], 10) + ":" + strconv.FormatInt(topicID, 10)

	if code, body := site.get(t, "/p/"+site.signer.PreferencesToken(contactID, time.Now().AddDate(0, 0, -89))); code != 200 || !strings.Contains(body, "j•••@example.org") {
		t.Fatalf("an 89-day-old link: %d\n%.500s", code, body)
	}
	for name, token := range map[string]string{
		"100 days old": site.signer.PreferencesToken(contactID, time.Now().AddDate(0, 0, -100)),
		"old shape":    site.signer.Token("preferences", contactID),
	} {
		t.Run(name, func(t *testing.T) {
			code, body := site.get(t, "/p/"+token)
			if code != http.StatusForbidden {
				t.Errorf("GET: %d, want 403", code)
			}
			wantText(t, "expired page", body, "This link is out of date")
			wantText(t, "expired page", body, "Email me a new link")
			for _, leak := range []string{"•••", "example.org", "0229", "High Street", "SW2", "Jane", "General news", "Save my choices"} {
				if strings.Contains(body, leak) {
					t.Errorf("the expired page shows %q", leak)
				}
			}
			for _, path := range []string{"/p/" + token, "/p/" + token + "/all"} {
				code, body := site.post(t, path, url.Values{"on": {box}})
				if code != http.StatusForbidden || strings.Contains(body, "example.org") {
					t.Errorf("POST %s: %d, want 403 without the resident's details\n%.300s", path, code, body)
				}
			}
			var n int
			if err := site.db.Get(&n, `SELECT count(*) FROM consents`); err != nil || n != 0 {
				t.Fatalf("POSTs to an expired link recorded %d consents (%v)", n, err)
			}
		})
	}
}

var prefsLink = regexp.MustCompile(`http://\S+/p/(\S+)`)

// "Email me a new link" sends a fresh link to the resident's email address on record,
// at most 3 times a day, answering the same way each time; the new link works.
func TestEmailMeANewPreferencesLink(t *testing.T) {
	t.Parallel()
	site := newSignupSite(t)
	site.topic(t, "general", "General news")
	contactID, _ := site.resident(t, "Jane", "jane.doe@example.org")
	if _, err := site.db.Exec(`INSERT INTO contact_points (contact_id, kind, value, status) VALUES ($1, 'email', 'old@example.org', 'bounced')`, contactID); err != nil {
		t.Fatal(err)
	}
	old := site.signer.PreferencesToken(contactID, time.Now().AddDate(0, 0, -120))

	code, body := site.post(t, "/p/"+old+"/new-link", nil)
	if code != 200 {
		t.Fatalf("email me a new link: %d\n%.500s", code, body)
	}
	wantText(t, "after asking", body, "We’ve emailed a new link to the address we have for you")
	if strings.Contains(body, "example.org") || strings.Contains(body, "Email me a new link") {
		t.Errorf("the page after asking shows the address or the button again:\n%.500s", body)
	}
	m, text := site.mailTo(t, 1)
	if to := m.Header.Get("To"); !strings.Contains(to, "jane.doe@example.org") {
		t.Errorf("the new link went to %q, want the address on record", to)
	}
	link := prefsLink.FindStringSubmatch(text)
	if link == nil {
		t.Fatalf("no preferences link in the email:\n%s", text)
	}
	id, issued, err := site.signer.VerifyPreferences(link[1])
	if err != nil || id != contactID || time.Since(issued) > 25*time.Hour {
		t.Fatalf("the emailed link names contact %d issued %v (%v), want %d today", id, issued, err, contactID)
	}
	if code, body := site.get(t, "/p/"+link[1]); code != 200 || !strings.Contains(body, "Save my choices") || !strings.Contains(body, "j•••@example.org") {
		t.Fatalf("the emailed link: %d\n%.500s", code, body)
	}

	// Two more are sent; the fourth in a day is not, and the answer is the same.
	for i := 2; i <= 4; i++ {
		code, again := site.post(t, "/p/"+old+"/new-link", nil)
		if code != 200 || again != body {
			t.Fatalf("request %d: %d\n%.500s", i, code, again)
		}
	}
	if got := len(site.smtp.Messages()); got != 3 {
		t.Fatalf("%d emails sent for 4 requests in a day, want 3", got)
	}
}

// A resident with no email address on record is told to contact the council.
func TestNewPreferencesLinkWithoutEmail(t *testing.T) {
	t.Parallel()
	site := newSignupSite(t)
	contactID, _ := site.resident(t, "Cy")
	site.mobile(t, contactID, "+447700900124")
	code, body := site.post(t, "/p/"+site.signer.Token("preferences", contactID)+"/new-link", nil)
	if code != 200 {
		t.Fatalf("%d\n%.500s", code, body)
	}
	wantText(t, "no email", body, "contact Millbrook Town Council")
	if strings.Contains(body, "0124") {
		t.Errorf("the page shows the mobile number")
	}
	if n := len(site.smtp.Messages()); n != 0 {
		t.Fatalf("%d emails sent to nobody", n)
	}
	if code, _ := site.post(t, "/p/not-a-token/new-link", nil); code != 404 {
		t.Fatalf("a bad token: %d, want 404", code)
	}
}
