package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/segment"
)

// TestEditorRefusesToScheduleAnEmptyAudience: a campaign whose segment matches nobody
// says so on its page, and scheduling it is refused with the count per channel and
// why; it stays a draft.
func TestEditorRefusesToScheduleAnEmptyAudience(t *testing.T) {
	r := newEditorRig(t)
	c := r.signIn(t, r.officer)
	seg, err := segment.NewStore(r.db).Create(t.Context(), "Castel ward", "", segment.Rule{Field: "ward", Op: "eq", Value: "Castel"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	id := r.create(t, c, editorGoodForm(r.csrf(t, c, "/campaigns/new"), seg.ID))
	edit := "/campaigns/" + itoa(id) + "/edit"
	_, _, doc := page(t, c, r.url+edit)
	if !strings.Contains(editorText(doc), "Nobody in this audience can be reached on the campaign’s channels, so it can’t be scheduled") {
		t.Errorf("the page does not warn of the empty audience:\n%s", editorText(doc))
	}

	code, _, doc := editorPost(t, c, r.url+"/campaigns/"+itoa(id)+"/schedule", url.Values{"csrf": {r.csrf(t, c, edit)}, "when": {"now"}})
	want := `It can't be scheduled: segment "Castel ward" reaches 0 residents: 0 by email, 0 by text, 0 on paper — nothing to send (no resident matches its rules)`
	if code != http.StatusUnprocessableEntity || !strings.Contains(editorText(doc), want) {
		t.Errorf("schedule: %d; want 422 saying %q:\n%s", code, want, editorText(doc))
	}
	got, err := campaign.NewStore(r.db, nil).Get(t.Context(), itoa(id))
	if err != nil || got.State != campaign.Draft {
		t.Errorf("after the refusal: %v, %v; want a draft", got.State, err)
	}

	// The rig's Millbrook segment reaches residents: no warning.
	id = r.create(t, c, editorGoodForm(r.csrf(t, c, "/campaigns/new"), r.segment))
	if _, _, doc := page(t, c, r.url+"/campaigns/"+itoa(id)+"/edit"); strings.Contains(doc, `id="reach-empty"`) {
		t.Errorf("a campaign that reaches residents is said to reach nobody:\n%s", editorText(doc))
	}
}

// TestEditorWarnsOfAttributesNobodyHas: the campaign's page warns of {{attr.KEY}} for an
// attribute no resident has, with the nearest names residents do have.
func TestEditorWarnsOfAttributesNobodyHas(t *testing.T) {
	r := newEditorRig(t)
	if _, err := r.db.Exec(`UPDATE contacts SET attributes = '{"tenure": "council"}' WHERE first_name = 'Ada'`); err != nil {
		t.Fatal(err)
	}
	c := r.signIn(t, r.officer)
	form := editorGoodForm(r.csrf(t, c, "/campaigns/new"), r.segment)
	form.Set("email_body", "Dear {{first_name}},\r\n\r\nAs a {{attr.tenur}} tenant, put your bins out on a **Tuesday**.")
	form.Set("sms_body", "Hi {{first_name}}, {{attr.tenure | \"residents\"}} bins go out on Tuesday. Will you come to the drop-in?")
	id := r.create(t, c, form)
	_, _, doc := page(t, c, r.url+"/campaigns/"+itoa(id)+"/edit")
	txt := html.UnescapeString(doc)
	if want := "{{attr.tenur}} in the e-bulletin: no resident has the attribute “tenur”, so it is blank (or its fallback) for everyone; nearest: “tenure”"; !strings.Contains(txt, want) {
		t.Errorf("the page does not say %q:\n%s", want, editorText(doc))
	}
	if strings.Contains(txt, "{{attr.tenure}} in") {
		t.Errorf("an attribute a resident has is warned of:\n%s", editorText(doc))
	}
}
