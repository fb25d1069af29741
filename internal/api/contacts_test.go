package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/apitoken"
)

// The CRM's push, written by hand as it would send it: one item with a bad mobile, one
// reusing another's email under a different name. Nothing is saved, and the problem
// names each item by index and field; fixed, the batch goes in, normalised.
func TestContactPush(t *testing.T) {
	r := newRig(t)
	crm := r.token("crm", apitoken.Read, apitoken.ContactsWrite)
	const bad = `{"contacts": [
	  {"first_name": "Amara", "last_name": "Okafor", "email": "Amara.Okafor@Example.org", "mobile": "07700 900123",
	   "house_number": "12", "street": "Mill Lane", "postcode": "sw2 5sg", "ward": "Millbrook",
	   "email_consent": true, "sms_consent": true, "tags": ["tenants", "Tenants"], "attributes": {"crm_id": "C-1"}},
	  {"first_name": "Ben", "last_name": "Hughes", "email": "ben@example.org", "mobile": "0770"},
	  {"first_name": "Cerys", "last_name": "Jones", "email": "amara.okafor@example.org", "email_consent": false}
	]}`
	res := r.do("POST", "/api/v1/contacts", crm, bad)
	pr := res.problem(t, http.StatusUnprocessableEntity)
	var got []string
	for _, e := range pr.Errors {
		if e.Index == nil || e.Detail == "" {
			t.Errorf("error without an index or detail: %+v", e)
			continue
		}
		got = append(got, fmt.Sprintf("%d:%s", *e.Index, e.Field))
	}
	for _, want := range []string{"1:mobile", "2:email"} {
		if !strings.Contains(strings.Join(got, " "), want) {
			t.Errorf("problem errors %v lack %s: %s", got, want, res.body)
		}
	}
	if n := count(t, r, `SELECT count(*) FROM contacts`); n != 0 {
		t.Fatalf("a rejected batch saved %d contacts", n)
	}

	// Bodies that can't be read at all.
	r.do("POST", "/api/v1/contacts", crm, `{"contacts": [`).problem(t, http.StatusBadRequest)
	pr = r.do("POST", "/api/v1/contacts", crm, `{"contacts": [{"emial": "x@example.org"}]}`).problem(t, http.StatusUnprocessableEntity)
	if len(pr.Errors) != 1 || pr.Errors[0].Field != "emial" {
		t.Errorf("unknown field: %+v", pr)
	}
	pr = r.do("POST", "/api/v1/contacts", crm, `{"contacts": [{"email": "x@example.org"}, {"email_consent": "maybe"}]}`).problem(t, http.StatusUnprocessableEntity)
	if len(pr.Errors) != 1 || pr.Errors[0].Index == nil || *pr.Errors[0].Index != 1 || pr.Errors[0].Field != "email_consent" {
		t.Errorf("wrong type: %+v", pr.Errors)
	}
	r.do("POST", "/api/v1/contacts", crm, `{"contacts": []}`).problem(t, http.StatusUnprocessableEntity)
	pr = r.do("POST", "/api/v1/contacts", crm, `{"topic": "potholes", "contacts": [{"email": "x@example.org"}]}`).problem(t, http.StatusUnprocessableEntity)
	if len(pr.Errors) != 1 || pr.Errors[0].Field != "topic" {
		t.Errorf("unknown topic: %+v", pr)
	}
	pr = r.do("POST", "/api/v1/contacts", crm, `{"contacts": [{"email": "x@example.org", "first_name": "A\u0000"}]}`).problem(t, http.StatusUnprocessableEntity)
	if len(pr.Errors) != 1 || pr.Errors[0].Field != "first_name" || *pr.Errors[0].Index != 0 {
		t.Errorf("NUL byte: %+v", pr)
	}
	r.do("GET", "/api/v1/contacts?email=%FF%00", crm, nil).problem(t, http.StatusBadRequest)
	r.do("POST", "/api/v1/contacts", crm, nil).problem(t, http.StatusUnsupportedMediaType)
	r.do("POST", "/api/v1/contacts", crm, `{"contacts": [{"first_name": "Nobody"}]}`).problem(t, http.StatusUnprocessableEntity)

	good := strings.Replace(strings.Replace(bad, `"0770"`, `"+44 7700 900124"`, 1), `"amara.okafor@example.org"`, `"cerys@example.org"`, 1)
	res = r.do("POST", "/api/v1/contacts", crm, good)
	if res.code != http.StatusOK {
		t.Fatalf("good batch: %d %s", res.code, res.body)
	}
	pushed := res.json(t)
	if pushed["contacts_created"] != 3.0 || pushed["rows"] != 3.0 || len(pushed["ids"].([]any)) != 3 || slices.Contains(pushed["ids"].([]any), nil) {
		t.Errorf("push result %v", pushed)
	}
	// The same batch again changes nobody.
	if m := r.do("POST", "/api/v1/contacts", crm, good).json(t); m["contacts_created"] != 0.0 {
		t.Errorf("second push: %v", m)
	}

	// Found by email (any case) or by phone as a person writes it (CRIER_DEFAULT_REGION GB).
	list := r.do("GET", "/api/v1/contacts?phone="+url.QueryEscape("07700 900123"), crm, nil).json(t)
	items := list["contacts"].([]any)
	if len(items) != 1 {
		t.Fatalf("by phone: %v", list)
	}
	id := int64(items[0].(map[string]any)["id"].(float64))
	if pushed["ids"].([]any)[0] != float64(id) {
		t.Errorf("ids %v: item 0 is contact %d", pushed["ids"], id)
	}
	if l := r.do("GET", "/api/v1/contacts?email=AMARA.okafor@example.org", crm, nil).json(t)["contacts"].([]any); len(l) != 1 {
		t.Errorf("by email: %v", l)
	}
	if l := r.do("GET", "/api/v1/contacts?email=nobody@example.org", crm, nil).json(t)["contacts"].([]any); len(l) != 0 {
		t.Errorf("unknown email: %v", l)
	}
	r.do("GET", "/api/v1/contacts?phone=12", crm, nil).problem(t, http.StatusBadRequest)
	page := r.do("GET", "/api/v1/contacts?limit=2&offset=0", crm, nil).json(t)
	if page["total"] != 3.0 || len(page["contacts"].([]any)) != 2 {
		t.Errorf("page: %v", page)
	}

	c := r.do("GET", fmt.Sprintf("/api/v1/contacts/%d", id), crm, nil).json(t)
	if c["first_name"] != "Amara" || !strings.Contains(string(mustJSON(c["contact_points"])), `"value":"+447700900123"`) ||
		!strings.Contains(string(mustJSON(c["contact_points"])), `"consent":"granted"`) || mustJSON(c["tags"]) != `["tenants","Tenants"]` ||
		mustJSON(c["attributes"]) != `{"crm_id":"C-1"}` {
		t.Errorf("contact %d: %v", id, c)
	}
	r.do("GET", "/api/v1/contacts/999999", crm, nil).problem(t, http.StatusNotFound)

	// Recorded as the token's, in the audit log and the imports list.
	if a := strings.Join(r.auditActions(), "|"); !strings.Contains(a, "contacts.import api:crm") {
		t.Errorf("audit: %s", a)
	}
	if n := count(t, r, `SELECT count(*) FROM imports WHERE actor = 'api:crm' AND status = 'completed'`); n != 2 {
		t.Errorf("%d completed imports by api:crm", n)
	}
}

func count(t *testing.T, r *rig, q string, args ...any) int {
	t.Helper()
	var n int
	if err := r.d.Get(&n, q, args...); err != nil {
		t.Fatal(err)
	}
	return n
}
