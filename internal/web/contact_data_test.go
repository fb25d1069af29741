package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/rights"
)

// TestContactDataPage: the contact page links to the subject access page, which shows
// every section and offers the JSON download; both are audited by id.
func TestContactDataPage(t *testing.T) {
	r := newContactsRig(t)
	c := r.officer(t)
	_, _, b := page(t, c, r.srv.URL+"/contacts/"+itoa(r.grace))
	link := `<a href="/contacts/` + itoa(r.grace) + `/data">Everything held about Grace Hopper</a>`
	if !strings.Contains(b, link) {
		t.Errorf("the contact page lacks %s", link)
	}
	res, err := c.Get(r.srv.URL + "/contacts/" + itoa(r.grace) + "/data")
	if err != nil {
		t.Fatal(err)
	}
	b = body(t, res)
	if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("data page: %d %q\n%s", res.StatusCode, res.Header.Get("Cache-Control"), b)
	}
	for _, want := range []string{
		"<h1>Data held about Grace Hopper</h1>",
		`<a href="/contacts/` + itoa(r.grace) + `/data.json" download>Download (JSON)</a>`,
		"<td>email</td><td>grace@example.org</td><td>bounced: mailbox does not exist</td>",
		"5 Brixton Hill",
		"Which day are the bins now?",
		"<h3>Bin day leaflet: sms</h3>",
		"SMS STOP",
		"@media print",
	} {
		if !strings.Contains(b, want) {
			t.Errorf("the data page lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("data page:\n%s", b)
	}
	res, err = c.Get(r.srv.URL + "/contacts/" + itoa(r.grace) + "/data.json")
	if err != nil {
		t.Fatal(err)
	}
	raw := body(t, res)
	var x rights.Export
	if err := json.Unmarshal([]byte(raw), &x); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("data.json: %d %v\n%s", res.StatusCode, err, raw)
	}
	if x.Contact.ID != r.grace || x.Contact.LastName != "Hopper" || len(x.Messages) == 0 || len(x.ConsentEvents) == 0 {
		t.Errorf("data.json = %+v", x)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") {
		t.Errorf("Content-Disposition: %q", cd)
	}
	entries, err := audit.List(t.Context(), r.db, audit.Filter{Action: audit.SubjectAccess})
	if err != nil || len(entries) != 2 || entries[0].SubjectID != itoa(r.grace) || entries[0].Actor == "" || entries[0].ActorID == nil {
		t.Fatalf("audit entries = %+v, %v", entries, err)
	}
	for _, id := range []string{"999999", "0", "abc"} {
		if code, _, _ := page(t, c, r.srv.URL+"/contacts/"+id+"/data"); code != http.StatusNotFound {
			t.Errorf("data page of %s: %d", id, code)
		}
	}
	if code, _, _ := page(t, c, r.srv.URL+"/contacts/"+itoa(r.grace)+"/other"); code != http.StatusNotFound {
		t.Errorf("/contacts/{id}/other: %d", code)
	}
	r.checkLogs(t)
}
