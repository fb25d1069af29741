package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/apitoken"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/segment"
)

const binDay = `---
name: Bin day change
purpose: service
channels: [email]
segment: Millbrook
subject: Your bin day is changing
---
# Your bin day is changing

Hello {{first_name}}, from Monday your bins are collected on Tuesday.
`

// A campaign's life through the API: created from a campaign file's text (with the
// parser's and content checks), scheduled, started, paused, resumed, cancelled, its
// messages counted; each move the wrong state forbids is 409; each write audited.
func TestCampaignLifecycle(t *testing.T) {
	r := newRig(t)
	ops := r.token("ops", apitoken.Read, apitoken.CampaignsWrite, apitoken.ContactsWrite)
	reader := r.token("dashboard", apitoken.Read)
	if res := r.do("POST", "/api/v1/contacts", ops, `{"contacts": [
		{"first_name": "Amara", "last_name": "Okafor", "email": "amara@example.org", "ward": "Millbrook", "email_consent": true},
		{"first_name": "Ben", "last_name": "Hughes", "email": "ben@example.org", "ward": "Millbrook", "email_consent": true},
		{"first_name": "Cerys", "last_name": "Jones", "email": "cerys@example.org", "ward": "Castel", "email_consent": true}]}`); res.code != 200 {
		t.Fatalf("push: %d %s", res.code, res.body)
	}
	if _, err := segment.NewStore(r.d).Create(t.Context(), "Millbrook", "", segment.Rule{Field: "ward", Op: "eq", Value: "Millbrook"}, "test"); err != nil {
		t.Fatal(err)
	}
	segs := r.do("GET", "/api/v1/segments", reader, nil).json(t)
	if !strings.Contains(mustJSON(segs), `"name":"Millbrook"`) {
		t.Errorf("segments: %v", segs)
	}

	// The file's own problems name its line; the content's merge fields are checked too.
	pr := r.do("POST", "/api/v1/campaigns", ops, map[string]string{"file": strings.Replace(binDay, "subject:", "sujbect:", 1)}).problem(t, http.StatusUnprocessableEntity)
	if len(pr.Errors) == 0 || pr.Errors[0].Line != 6 || !strings.Contains(pr.Errors[0].Detail, "sujbect") {
		t.Errorf("misspelt key: %+v", pr)
	}
	pr = r.do("POST", "/api/v1/campaigns", ops, map[string]string{"file": strings.Replace(binDay, "{{first_name}}", "{{frist_name}}", 1)}).problem(t, http.StatusUnprocessableEntity)
	if len(pr.Errors) != 1 || pr.Errors[0].Line != 10 || pr.Errors[0].Field != "file.body" || !strings.Contains(pr.Errors[0].Detail, "frist_name") {
		t.Errorf("bad merge field: %+v", pr)
	}
	pr = r.do("POST", "/api/v1/campaigns", ops, map[string]string{"file": strings.Replace(binDay, "segment: Millbrook", "segment: Milbrook", 1)}).problem(t, http.StatusUnprocessableEntity)
	if !strings.Contains(pr.Detail, "Milbrook") {
		t.Errorf("unknown segment: %+v", pr)
	}
	// A leaflet in a script the leaflet font can't print is refused at creation, naming
	// what can't print, rather than at scheduling or printed as "?".
	leaflet := strings.Replace(binDay, "channels: [email]", "channels: [post]\nleaflet_title: Bin day", 1) + "\nمرحبا بكم\n"
	pr = r.do("POST", "/api/v1/campaigns", ops, map[string]string{"file": leaflet}).problem(t, http.StatusUnprocessableEntity)
	if len(pr.Errors) == 0 || !strings.Contains(pr.Errors[0].Detail, "م") {
		t.Errorf("an unprintable leaflet: %+v", pr)
	}
	r.do("POST", "/api/v1/campaigns", reader, map[string]string{"file": binDay}).problem(t, http.StatusForbidden)
	r.do("POST", "/api/v1/campaigns", ops, map[string]string{"file": strings.Repeat("x", 300<<10)}).problem(t, http.StatusRequestEntityTooLarge)
	r.do("POST", "/api/v1/campaigns", ops, map[string]string{"file": binDay, "extra": "x"}).problem(t, http.StatusUnprocessableEntity)

	res := r.do("POST", "/api/v1/campaigns", ops, map[string]string{"file": binDay})
	if res.code != http.StatusCreated {
		t.Fatalf("create: %d %s", res.code, res.body)
	}
	c := res.json(t)
	id := int64(c["id"].(float64))
	if c["state"] != "draft" || c["created_by"] != "api:ops" || res.header.Get("Location") != fmt.Sprintf("/api/v1/campaigns/%d", id) {
		t.Errorf("created: %v %v", c, res.header)
	}
	path := fmt.Sprintf("/api/v1/campaigns/%d", id)

	// Not paused: can't be resumed.
	r.do("POST", path+"/resume", ops, nil).problem(t, http.StatusConflict)
	r.do("POST", path+"/schedule", ops, map[string]string{"at": "2020-01-01T09:00:00Z"}).problem(t, http.StatusUnprocessableEntity)
	r.do("POST", path+"/schedule", ops, map[string]string{"at": "tomorrow"}).problem(t, http.StatusUnprocessableEntity)
	if c := r.do("POST", path+"/schedule", ops, nil).json(t); c["state"] != "scheduled" || c["next_run_at"] == nil {
		t.Fatalf("schedule: %v", c)
	}
	pr = r.do("POST", path+"/schedule", ops, nil).problem(t, http.StatusConflict)
	if !strings.Contains(pr.Detail, "scheduled") {
		t.Errorf("schedule twice: %+v", pr)
	}

	// The scheduler starts it: two messages (Millbrook's), waiting to go.
	if _, err := campaign.NewStore(r.d, nil).StartDue(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	c = r.do("GET", path, reader, nil).json(t)
	if c["state"] != "sending" || mustJSON(c["totals"]) != `{"pending":2}` || !strings.Contains(mustJSON(c["counts"]), `"channel":"email"`) {
		t.Errorf("status: %v", c)
	}
	// A message to a resident in a worker's hands: erasing them now is refused (409).
	var cid int64
	if err := r.d.Get(&cid, `UPDATE outbox SET state = 'sending', locked_by = 'test', lease_until = now() + interval '5 minutes'
		WHERE id = (SELECT min(id) FROM outbox) RETURNING contact_id`); err != nil {
		t.Fatal(err)
	}
	res = r.do("DELETE", fmt.Sprintf("/api/v1/contacts/%d?reason=SAR-1", cid), ops, nil)
	if pr := res.problem(t, http.StatusConflict); !strings.Contains(pr.Detail, "nothing was erased") || res.header.Get("Retry-After") == "" {
		t.Errorf("erase while sending: %+v %v", pr, res.header)
	}
	if _, err := r.d.Exec(`UPDATE outbox SET state = 'pending', locked_by = NULL, lease_until = NULL WHERE state = 'sending'`); err != nil {
		t.Fatal(err)
	}
	if c := r.do("POST", path+"/pause", ops, nil).json(t); c["state"] != "paused" {
		t.Errorf("pause: %v", c)
	}
	pr = r.do("POST", path+"/schedule", ops, nil).problem(t, http.StatusConflict)
	if !strings.Contains(pr.Detail, "resume") {
		t.Errorf("schedule a campaign paused mid-run: %+v", pr)
	}
	if c := r.do("POST", path+"/resume", ops, nil).json(t); c["state"] != "sending" {
		t.Errorf("resume: %v", c)
	}
	if c := r.do("POST", path+"/cancel", ops, nil).json(t); c["state"] != "cancelled" {
		t.Errorf("cancel: %v", c)
	}
	r.do("POST", path+"/cancel", ops, nil).problem(t, http.StatusConflict)
	if c := r.do("GET", path, reader, nil).json(t); mustJSON(c["totals"]) != `{"cancelled":2}` {
		t.Errorf("after cancel: %v", c)
	}

	// By name too, with a did-you-mean when it is misspelt.
	if c := r.do("GET", "/api/v1/campaigns/"+url.PathEscape("Bin day change"), reader, nil).json(t); c["id"] != float64(id) {
		t.Errorf("by name: %v", c)
	}
	pr = r.do("GET", "/api/v1/campaigns/"+url.PathEscape("Bin day chnage"), reader, nil).problem(t, http.StatusNotFound)
	if !strings.Contains(pr.Detail, `did you mean "Bin day change"`) {
		t.Errorf("misspelt name: %+v", pr)
	}
	r.do("POST", "/api/v1/campaigns/999999/pause", ops, nil).problem(t, http.StatusNotFound)
	if l := r.do("GET", "/api/v1/campaigns", reader, nil).json(t); len(l["campaigns"].([]any)) != 1 {
		t.Errorf("list: %v", l)
	}

	a := strings.Join(r.auditActions(), "|")
	for _, want := range []string{"campaign.create api:ops", "campaign.schedule api:ops", "campaign.pause api:ops", "campaign.resume api:ops", "campaign.cancel api:ops"} {
		if !strings.Contains(a, want) {
			t.Errorf("audit log lacks %q: %s", want, a)
		}
	}
	if n := count(t, r, `SELECT count(*) FROM campaign_history WHERE campaign_id = $1 AND actor = 'api:ops'`, id); n != 4 {
		t.Errorf("%d state changes by api:ops in campaign_history, want 4", n)
	}
}

// Residents' texts, oldest first, paged by id; since bounds them by time.
func TestReplies(t *testing.T) {
	r := newRig(t)
	reader := r.token("dashboard", apitoken.Read)
	in := inbox.NewStore(r.d, inbox.Config{}, nil)
	for i, body := range []string{"Is the tip open on Sunday?", "STOP", "Thanks!"} {
		if _, err := in.Receive(t.Context(), inbox.Inbound{SID: fmt.Sprintf("SM%d", i), From: fmt.Sprintf("+4477009003%02d", i%2), Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	p := r.do("GET", "/api/v1/replies?limit=2", reader, nil).json(t)
	list := p["replies"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["body"] != "Is the tip open on Sunday?" || list[1].(map[string]any)["keyword"] != "stop" {
		t.Fatalf("page 1: %v", p)
	}
	p = r.do("GET", fmt.Sprintf("/api/v1/replies?after=%v", p["next_after"]), reader, nil).json(t)
	if list := p["replies"].([]any); len(list) != 1 || list[0].(map[string]any)["body"] != "Thanks!" {
		t.Errorf("page 2: %v", p)
	}
	next := p["next_after"]
	if p := r.do("GET", fmt.Sprintf("/api/v1/replies?after=%v", next), reader, nil).json(t); len(p["replies"].([]any)) != 0 || p["next_after"] != next {
		t.Errorf("page 3: %v", p)
	}
	future := url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
	if p := r.do("GET", "/api/v1/replies?since="+future, reader, nil).json(t); len(p["replies"].([]any)) != 0 {
		t.Errorf("since an hour from now: %v", p)
	}
	past := url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339))
	if p := r.do("GET", "/api/v1/replies?since="+past, reader, nil).json(t); len(p["replies"].([]any)) != 3 {
		t.Errorf("since an hour ago: %v", p)
	}
	pr := r.do("GET", "/api/v1/replies?since=yesterday&after=-1", reader, nil).problem(t, http.StatusBadRequest)
	if len(pr.Errors) != 2 {
		t.Errorf("bad query: %+v", pr)
	}
}
