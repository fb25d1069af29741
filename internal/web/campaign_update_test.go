package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
)

var versionRE = regexp.MustCompile(`name="version" value="(\d+)"`)

// editForm reads the change form on campaign id's page as a browser would submit it
// unchanged: the token, the version and every field as saved.
func (r *editorRig) editForm(t *testing.T, c *http.Client, id int64) url.Values {
	t.Helper()
	_, _, doc := page(t, c, r.url+"/campaigns/"+itoa(id)+"/edit")
	form := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="(?:hidden|text)"[^>]* name="([a-z_0-9]+)" value="([^"]*)"`).FindAllStringSubmatch(doc, -1) {
		form.Set(m[1], unescape(m[2]))
	}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="(csrf|version)" value="([^"]*)"`).FindAllStringSubmatch(doc, -1) {
		form.Set(m[1], m[2])
	}
	for _, m := range regexp.MustCompile(`(?s)<textarea id="([a-z_]+)" name="[a-z_]+"[^>]*>(.*?)</textarea>`).FindAllStringSubmatch(doc, -1) {
		form.Set(m[1], unescape(m[2]))
	}
	for _, m := range regexp.MustCompile(`<input type="(?:radio|checkbox)" id="[^"]+" name="([a-z_]+)" value="([a-z]+)"[^>]*\bchecked`).FindAllStringSubmatch(doc, -1) {
		form.Add(m[1], m[2])
	}
	for _, name := range []string{"topic", "segment", "order"} {
		sel := regexp.MustCompile(`(?s)<select id="` + name + `".*?</select>`).FindString(doc)
		if m := regexp.MustCompile(`<option value="([^"]*)" selected>`).FindStringSubmatch(sel); m != nil {
			form.Set(name, m[1])
		}
	}
	if form.Get("version") == "" || form.Get("csrf") == "" {
		t.Fatalf("campaign %d's page has no change form:\n%s", id, editorText(doc))
	}
	return form
}

func unescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&#39;", "'", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`).Replace(s)
}

func auditCount(t *testing.T, r *editorRig, action string) int {
	t.Helper()
	es, err := audit.List(t.Context(), r.db, audit.Filter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestCampaignUpdateChangesADraft: the page shows the draft in the new-campaign form;
// saving a change shows it in the previews, audited; a problem, a bad merge field or a
// missing version is refused as the new form refuses it, changing nothing.
func TestCampaignUpdateChangesADraft(t *testing.T) {
	r := newEditorRig(t)
	c := r.signIn(t, r.officer)
	id := r.create(t, c, editorGoodForm(r.csrf(t, c, "/campaigns/new"), r.segment))
	edit := r.url + "/campaigns/" + itoa(id) + "/edit"

	form := r.editForm(t, c, id)
	good := editorGoodForm("", r.segment)
	for _, k := range []string{"name", "topic", "purpose", "segment", "order", "strategy", "email_subject", "sms_body",
		"leaflet_title", "poll_question", "poll_key_1", "poll_key_2"} {
		if form.Get(k) != good.Get(k) {
			t.Errorf("the form's %s is %q, want %q as saved", k, form.Get(k), good.Get(k))
		}
	}
	if form.Get("email_body") != strings.ReplaceAll(good.Get("email_body"), "\r\n", "\n") || form.Get("leaflet_body") != "" ||
		strings.Join(form["channel"], ",") != "email,sms,post" {
		t.Errorf("the form's texts and channels: %q %q %v", form.Get("email_body"), form.Get("leaflet_body"), form["channel"])
	}

	// Saving it unchanged changes nothing but the version; saving a change shows it.
	if code, loc, doc := editorPost(t, c, edit, form); code != http.StatusSeeOther || loc != "/campaigns/"+itoa(id)+"/edit?done=saved" {
		t.Fatalf("save unchanged: %d %q\n%s", code, loc, editorText(doc))
	}
	form = r.editForm(t, c, id)
	form.Set("name", "Bin day changes (Tuesday)")
	form.Set("sms_body", "Hi {{first_name}}, bins go out on TUESDAY now. Will you come to the drop-in?")
	form.Set("email_body", "Dear {{first_name}},\n\nBins go out on <b>Tuesday</b>.\n\n<div>Hidden</div>")
	form["channel"] = []string{"email", "sms"}
	if code, loc, doc := editorPost(t, c, edit, form); code != http.StatusSeeOther || loc != "/campaigns/"+itoa(id)+"/edit?done=saved" {
		t.Fatalf("save: %d %q\n%s", code, loc, editorText(doc))
	}
	_, _, doc := page(t, c, edit+"?done=saved")
	txt := editorText(doc)
	for _, want := range []string{"Saved. The previews below show the changes.", "Bin day changes (Tuesday)",
		"Hi Christopher, bins go out on TUESDAY now.", "The e-bulletin’s text has HTML in it. The e-bulletin leaves HTML out",
		"Line 3: <b>", "Line 5: <div>Hidden</div>"} {
		if !strings.Contains(txt, want) {
			t.Errorf("after saving, the page does not say %q:\n%s", want, txt)
		}
	}
	if strings.Contains(doc, "preview/leaflet.png") {
		t.Error("the leaflet preview is still there without the post channel")
	}
	got, err := campaign.NewStore(r.db, nil).Get(t.Context(), itoa(id))
	if err != nil || got.Name != "Bin day changes (Tuesday)" || strings.Join(got.Channels(), ",") != "sms,email" || got.LeafletBody != "" {
		t.Fatalf("saved: %+v %v", got, err)
	}
	if n := auditCount(t, r, audit.CampaignUpdate); n != 2 {
		t.Errorf("%d campaign.update entries, want 2", n)
	}

	// Problems are listed as the new form lists them, the form kept as typed.
	form = r.editForm(t, c, id)
	form.Set("name", "")
	form.Set("sms_body", "Hi {{frist_name}}")
	code, _, doc := editorPost(t, c, edit, form)
	txt = editorText(doc)
	if code != http.StatusUnprocessableEntity || !strings.Contains(txt, "There is a problem Enter a name for the campaign") ||
		!strings.Contains(txt, "frist_name") || !strings.Contains(doc, `value="Hi {{frist_name}}"`) && !strings.Contains(doc, `>Hi {{frist_name}}</textarea>`) ||
		!strings.Contains(doc, `<title>Error: `) {
		t.Errorf("a bad save: %d\n%s", code, txt)
	}
	if now, _ := campaign.NewStore(r.db, nil).Get(t.Context(), itoa(id)); now.Name != "Bin day changes (Tuesday)" {
		t.Errorf("a bad save changed the name to %q", now.Name)
	}
	// Without a version it is not saved.
	form = r.editForm(t, c, id)
	form.Del("version")
	form.Set("name", "No version")
	if code, _, doc := editorPost(t, c, edit, form); code != http.StatusConflict || !strings.Contains(editorText(doc), "save your changes again") {
		t.Errorf("no version: %d\n%s", code, editorText(doc))
	}

	// Not without the token, and not for a volunteer.
	form = r.editForm(t, c, id)
	form.Set("csrf", "")
	if code, _, _ := editorPost(t, c, edit, form); code != http.StatusForbidden {
		t.Errorf("without the token: %d", code)
	}
	vol := r.signIn(t, r.volunteer)
	form.Set("csrf", r.csrf(t, vol, "/rounds"))
	if code, _, _ := editorPost(t, vol, edit, form); code != http.StatusForbidden {
		t.Errorf("as a volunteer: %d", code)
	}
	if now, _ := campaign.NewStore(r.db, nil).Get(t.Context(), itoa(id)); now.Name != "Bin day changes (Tuesday)" {
		t.Errorf("a refused save changed the name to %q", now.Name)
	}
}

// TestCampaignUpdateRefusesAStaleSave: two officers open the draft; the first saves; the
// second's save is refused, saying when the campaign changed, and keeps what they typed.
func TestCampaignUpdateRefusesAStaleSave(t *testing.T) {
	r := newEditorRig(t)
	jo := r.signIn(t, r.officer)
	id := r.create(t, jo, editorGoodForm(r.csrf(t, jo, "/campaigns/new"), r.segment))
	edit := r.url + "/campaigns/" + itoa(id) + "/edit"

	first := r.editForm(t, jo, id)
	other := r.signIn(t, r.officer) // another session, another tab
	second := r.editForm(t, other, id)
	first.Set("name", "Jo's name")
	if code, _, _ := editorPost(t, jo, edit, first); code != http.StatusSeeOther {
		t.Fatalf("first save: %d", code)
	}
	saved, _ := campaign.NewStore(r.db, nil).Get(t.Context(), itoa(id))
	second.Set("name", "Sam's name")
	code, _, doc := editorPost(t, other, edit, second)
	txt := editorText(doc)
	want := "Someone else changed this campaign at " + saved.UpdatedAt.In(campaign.London).Format("15:04") +
		", after you opened it, so your changes have not been saved. Reload to see their changes."
	if code != http.StatusConflict || !strings.Contains(txt, "There is a problem "+want) || !strings.Contains(doc, `value="Sam&#39;s name"`) ||
		!strings.Contains(txt, "Reload the campaign") || versionRE.FindStringSubmatch(doc)[1] != second.Get("version") {
		t.Fatalf("stale save: %d\n%s", code, txt)
	}
	// Sent again as it is, it is refused again.
	if code, _, _ := editorPost(t, other, edit, second); code != http.StatusConflict {
		t.Errorf("stale save again: %d", code)
	}
	if now, _ := campaign.NewStore(r.db, nil).Get(t.Context(), itoa(id)); now.Name != "Jo's name" {
		t.Errorf("after the stale saves the name is %q", now.Name)
	}
	if n := auditCount(t, r, audit.CampaignUpdate); n != 1 {
		t.Errorf("%d campaign.update entries, want 1", n)
	}
}

// TestCampaignNotADraftCantChange: a scheduled campaign has no change form, says what to
// do instead, and a save is refused; it can be copied, but not deleted.
func TestCampaignNotADraftCantChange(t *testing.T) {
	r := newEditorRig(t)
	c := r.signIn(t, r.officer)
	id := r.create(t, c, editorGoodForm(r.csrf(t, c, "/campaigns/new"), r.segment))
	edit := r.url + "/campaigns/" + itoa(id) + "/edit"
	form := r.editForm(t, c, id)
	if err := campaign.NewStore(r.db, nil).Schedule(t.Context(), id, time.Now().Add(time.Hour), "test", nil); err != nil {
		t.Fatal(err)
	}
	_, _, doc := page(t, c, edit)
	if strings.Contains(doc, `id="edit-form"`) || strings.Contains(doc, `href="/campaigns/`+itoa(id)+`/delete"`) ||
		!strings.Contains(editorText(doc), "It can’t be changed: it is scheduled, and only a draft can be changed. To send something different, copy it") ||
		!strings.Contains(doc, `action="/campaigns/`+itoa(id)+`/duplicate"`) {
		t.Errorf("scheduled campaign's page:\n%s", editorText(doc))
	}
	form.Set("name", "Changed")
	code, _, doc := editorPost(t, c, edit, form)
	if code != http.StatusConflict || !strings.Contains(editorText(doc), "There is a problem It can’t be changed: it is scheduled") {
		t.Errorf("saving a scheduled campaign: %d\n%s", code, editorText(doc))
	}
	// Delete: the page says why not, and the POST is refused.
	del := r.url + "/campaigns/" + itoa(id) + "/delete"
	code, _, doc = page(t, c, del)
	if code != http.StatusConflict || strings.Contains(doc, `id="delete"`) ||
		!strings.Contains(editorText(doc), "Only a draft can be deleted, and this campaign is scheduled.") {
		t.Errorf("delete page of a scheduled campaign: %d\n%s", code, editorText(doc))
	}
	if code, _, _ := editorPost(t, c, del, url.Values{"csrf": {form.Get("csrf")}}); code != http.StatusConflict {
		t.Errorf("deleting a scheduled campaign: %d", code)
	}
	got, err := campaign.NewStore(r.db, nil).Get(t.Context(), itoa(id))
	if err != nil || got.Name != "Bin day changes" || got.State != campaign.Scheduled {
		t.Errorf("after the refusals: %+v %v", got, err)
	}
	if auditCount(t, r, audit.CampaignUpdate)+auditCount(t, r, audit.CampaignDelete) != 0 {
		t.Error("a refusal was audited")
	}
}

// TestCampaignDuplicateAndDelete: a scheduled campaign is copied as a new draft and the
// copy opens; the copy is deleted after a confirmation page; both audited.
func TestCampaignDuplicateAndDelete(t *testing.T) {
	r := newEditorRig(t)
	c := r.signIn(t, r.officer)
	id := r.create(t, c, editorGoodForm(r.csrf(t, c, "/campaigns/new"), r.segment))
	cs := campaign.NewStore(r.db, nil)
	if err := cs.Schedule(t.Context(), id, time.Now().Add(time.Hour), "test", nil); err != nil {
		t.Fatal(err)
	}
	csrf := r.csrf(t, c, "/campaigns/"+itoa(id)+"/edit")
	code, loc, _ := editorPost(t, c, r.url+"/campaigns/"+itoa(id)+"/duplicate", url.Values{"csrf": {csrf}})
	m := regexp.MustCompile(`^/campaigns/(\d+)/edit\?done=copied$`).FindStringSubmatch(loc)
	if code != http.StatusSeeOther || m == nil || m[1] == itoa(id) {
		t.Fatalf("duplicate: %d %q", code, loc)
	}
	copyID := m[1]
	_, _, doc := page(t, c, r.url+loc)
	txt := editorText(doc)
	if !strings.Contains(txt, "This is a copy, saved as a new draft.") || !strings.Contains(doc, "<h1>Copy of Bin day changes</h1>") ||
		!strings.Contains(doc, `id="edit-form"`) || !strings.Contains(txt, "Hi Christopher, your bin day changes to Tuesday") {
		t.Errorf("the copy's page:\n%s", txt)
	}
	cp, err := cs.Get(t.Context(), copyID)
	if err != nil || cp.State != campaign.Draft || cp.NextRunAt != nil || cp.CreatedBy != r.officer {
		t.Fatalf("copy: %+v %v", cp, err)
	}
	if orig, _ := cs.Get(t.Context(), itoa(id)); orig.State != campaign.Scheduled {
		t.Errorf("the original is %s", orig.State)
	}
	if n := auditCount(t, r, audit.CampaignCopy); n != 1 {
		t.Errorf("%d campaign.duplicate entries", n)
	}

	// The copy is deleted, after asking.
	del := r.url + "/campaigns/" + copyID + "/delete"
	code, _, doc = page(t, c, del)
	txt = editorText(doc)
	if code != http.StatusOK || !strings.Contains(txt, "Delete the draft ‘Copy of Bin day changes’? This cannot be undone.") ||
		!strings.Contains(doc, `href="/campaigns/`+copyID+`/edit" id="keep"`) {
		t.Errorf("delete page: %d\n%s", code, txt)
	}
	if code, _, _ := editorPost(t, c, del, url.Values{}); code != http.StatusForbidden {
		t.Errorf("delete without the token: %d", code)
	}
	code, loc, _ = editorPost(t, c, del, url.Values{"csrf": {csrf}})
	if code != http.StatusSeeOther || loc != "/campaigns?done=deleted" {
		t.Fatalf("delete: %d %q", code, loc)
	}
	if code, _, _ := page(t, c, r.url+"/campaigns/"+copyID+"/edit"); code != http.StatusNotFound {
		t.Errorf("the deleted copy's page: %d", code)
	}
	if n := auditCount(t, r, audit.CampaignDelete); n != 1 {
		t.Errorf("%d campaign.delete entries", n)
	}
	if _, err := cs.Get(t.Context(), itoa(id)); err != nil {
		t.Errorf("the original went too: %v", err)
	}
}

// TestProgressFollowsDeliveryReports: a completed campaign's progress stays live while
// texts await their delivery reports, saying so, and stops when none is awaited or a
// day after it completed.
func TestProgressFollowsDeliveryReports(t *testing.T) {
	r := newEditorRig(t)
	c := r.signIn(t, r.officer)
	id := r.create(t, c, editorGoodForm(r.csrf(t, c, "/campaigns/new"), r.segment))
	cs := campaign.NewStore(r.db, nil)
	if err := cs.Schedule(t.Context(), id, time.Time{}, "test", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.StartDue(t.Context(), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	exec := func(q string) {
		t.Helper()
		if _, err := r.db.Exec(q, id); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE outbox SET state = CASE WHEN channel = 'sms' THEN 'sent' ELSE 'delivered' END WHERE campaign_id = $1 AND state = 'pending'`)
	exec(`UPDATE campaigns SET state = 'completed', updated_at = now() WHERE id = $1`)
	progress := r.url + "/campaigns/" + itoa(id) + "/progress"
	_, _, frag := page(t, c, progress)
	if strings.Contains(frag, "data-live-done") || !strings.Contains(editorText(frag), "Still receiving delivery reports: 2 texts have gone to the network") ||
		!strings.Contains(editorText(frag), "2 awaiting a delivery report") {
		t.Errorf("completed, texts awaiting reports:\n%s", editorText(frag))
	}
	if _, _, doc := page(t, c, r.url+"/campaigns/"+itoa(id)+"/edit"); !strings.Contains(doc, `data-live="/campaigns/`+itoa(id)+`/progress"`) {
		t.Error("the page does not follow the progress while reports come in")
	}
	exec(`UPDATE campaigns SET updated_at = now() - interval '25 hours' WHERE id = $1`)
	if _, _, frag := page(t, c, progress); !strings.Contains(frag, "data-live-done") || strings.Contains(frag, "Still receiving") {
		t.Errorf("a day after completing:\n%s", editorText(frag))
	}
	exec(`UPDATE campaigns SET updated_at = now() WHERE id = $1`)
	exec(`UPDATE outbox SET state = 'delivered' WHERE campaign_id = $1 AND channel = 'sms'`)
	if _, _, frag := page(t, c, progress); !strings.Contains(frag, "data-live-done") || strings.Contains(frag, "Still receiving") {
		t.Errorf("every report in:\n%s", editorText(frag))
	}
}
