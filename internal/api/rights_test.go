package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/apitoken"
	"github.com/crierhq/crier/internal/inbox"
)

// Subject access and erasure through the API: the export holds the resident, both are
// in the audit log as the token's, and an erased resident pushed again is skipped
// (their email is on the suppression list), not re-added.
func TestDataRights(t *testing.T) {
	r := newRig(t)
	crm := r.token("crm", apitoken.Read, apitoken.ContactsWrite)
	reader := r.token("dashboard", apitoken.Read)
	push := `{"contacts": [{"first_name": "Dafydd", "last_name": "Price", "email": "dafydd@example.org", "mobile": "07700 900200", "email_consent": true, "sms_consent": true}]}`
	if res := r.do("POST", "/api/v1/contacts", crm, push); res.code != 200 {
		t.Fatalf("push: %d %s", res.code, res.body)
	}
	id := count(t, r, `SELECT id FROM contacts`)
	if _, err := inbox.NewStore(r.d, inbox.Config{}, nil).Receive(t.Context(), inbox.Inbound{SID: "SM1", From: "+447700900200", Body: "Is the tip open on Sunday?"}); err != nil {
		t.Fatal(err)
	}

	x := r.do("GET", fmt.Sprintf("/api/v1/contacts/%d/data", id), reader, nil).json(t)
	if x["format_version"] != 1.0 || !strings.Contains(mustJSON(x["contact"]), "Dafydd") ||
		!strings.Contains(mustJSON(x["contact_points"]), "dafydd@example.org") || !strings.Contains(mustJSON(x["conversations"]), "tip open") {
		t.Errorf("subject access export: %v", x)
	}
	r.do("GET", "/api/v1/contacts/999999/data", reader, nil).problem(t, http.StatusNotFound)

	// Erasure needs contacts:write and a reason.
	r.do("DELETE", fmt.Sprintf("/api/v1/contacts/%d?reason=x", id), reader, nil).problem(t, http.StatusForbidden)
	pr := r.do("DELETE", fmt.Sprintf("/api/v1/contacts/%d", id), crm, nil).problem(t, http.StatusUnprocessableEntity)
	if len(pr.Errors) != 1 || pr.Errors[0].Field != "reason" {
		t.Errorf("no reason: %+v", pr)
	}
	p := r.do("DELETE", fmt.Sprintf("/api/v1/contacts/%d?reason=%s", id, "SAR-2026-114"), crm, nil).json(t)
	if p["suppressions"] != 2.0 || p["texts"] != 1.0 {
		t.Errorf("erase: %v", p)
	}
	r.do("GET", fmt.Sprintf("/api/v1/contacts/%d", id), crm, nil).problem(t, http.StatusNotFound)
	r.do("DELETE", fmt.Sprintf("/api/v1/contacts/%d?reason=again", id), crm, nil).problem(t, http.StatusNotFound)
	if n := count(t, r, `SELECT count(*) FROM contact_points WHERE value = 'dafydd@example.org' OR value = '+447700900200'`); n != 0 {
		t.Errorf("%d contact points left", n)
	}

	res := r.do("POST", "/api/v1/contacts", crm, push).json(t)
	if res["contacts_created"] != 0.0 || !strings.Contains(mustJSON(res["skipped"]), `"index":0`) || mustJSON(res["ids"]) != `[null]` {
		t.Errorf("pushing an erased resident again: %v", res)
	}
	if n := count(t, r, `SELECT count(*) FROM contacts`); n != 0 {
		t.Errorf("the erased resident is back: %d contacts", n)
	}

	a := strings.Join(r.auditActions(), "|")
	for _, want := range []string{"contacts.subject_access api:dashboard", "contacts.erase api:crm"} {
		if !strings.Contains(a, want) {
			t.Errorf("audit log lacks %q: %s", want, a)
		}
	}
}
