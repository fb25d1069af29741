package web_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/lib/pq"
	"golang.org/x/crypto/bcrypt"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/reply"
	"github.com/crierhq/crier/internal/sms"
	"github.com/crierhq/crier/internal/web"
)

// inboxRig is the officers' inbox on the SMS rig: an officer (and a second one to assign
// to), a volunteer, the web app with the inbox pages on a server of its own, and a poll
// sent by text that residents have answered, clearly and not.
type inboxRig struct {
	*smsRig
	app    *appRig // the web app: client, login and srv
	auth   *auth.Store
	signer *email.Signer
	poll   *campaign.Campaign
}

func newInboxRig(t *testing.T) *inboxRig {
	t.Helper()
	ctx := t.Context()
	r := &inboxRig{smsRig: newSMSRig(t)}
	r.auth = auth.NewStore(r.db)
	r.auth.Cost = bcrypt.MinCost
	for _, u := range []struct{ email, name, role string }{
		{"jo@council.example", "Jo Officer", auth.Officer},
		{"max@council.example", "Max Officer", auth.Officer},
		{"sam@volunteers.example", "Sam Volunteer", auth.Volunteer},
	} {
		if _, err := r.auth.Add(ctx, u.email, u.name, u.role, appPassword); err != nil {
			t.Fatal(err)
		}
	}
	r.signer, _ = email.NewSigner(bytes.Repeat([]byte("k"), 32))
	r.app = &appRig{db: r.db, srv: r.serve(t, r.inbox)}

	bins := &reply.Poll{Question: "Which day suits you for bin collection?",
		Options: []reply.PollOption{{Key: "1", Label: "Tuesday"}, {Key: "2", Label: "Wednesday"}}}
	r.poll = r.send(t, "Bin day poll", "Hi {{first_name}}, we're changing bin day in Millbrook.", bins, false)
	waitFor(t, "the poll's texts", r.settled(t, r.poll.ID, 11))
	r.text(t, "+447700900101", "1")                          // Ada: Tuesday
	r.text(t, "+447700900102", "Two please")                 // Ben: Wednesday
	r.text(t, "+447700900103", "maybe, depends on the week") // Cara: unclear
	r.text(t, "+447700900104", "please stop texting me")     // Dev: a likely opt-out
	r.text(t, "+447700900105", "STOP")                       // Efa
	r.text(t, "+447700900777", "Who is this?")               // a number we don't know
	return r
}

// serve starts the web app with the inbox pages over ib.
func (r *inboxRig) serve(t *testing.T, ib *inbox.Store) *httptest.Server {
	t.Helper()
	ws, err := web.New(web.Config{DB: r.db, Signer: r.signer, Branding: email.Branding{OrgName: "Millbrook Council"},
		App: &web.App{Auth: r.auth, Rounds: printrun.NewStore(r.db), Inbox: ib}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// conv returns the id of phone's conversation.
func (r *inboxRig) conv(t *testing.T, phone string) int64 {
	t.Helper()
	var id int64
	if err := r.db.Get(&id, `SELECT id FROM conversations WHERE phone = $1`, phone); err != nil {
		t.Fatalf("conversation with %s: %v", phone, err)
	}
	return id
}

// firstIn returns the id of the resident's first text in conversation id.
func (r *inboxRig) firstIn(t *testing.T, id int64) int64 {
	t.Helper()
	var m int64
	if err := r.db.Get(&m, `SELECT id FROM sms_messages WHERE conversation_id = $1 AND direction = 'in' ORDER BY id LIMIT 1`, id); err != nil {
		t.Fatal(err)
	}
	return m
}

// signIn signs c in as email and returns the session's CSRF token.
func (r *inboxRig) signIn(t *testing.T, srv *httptest.Server, c *http.Client, email string) string {
	t.Helper()
	app := &appRig{db: r.db, srv: srv}
	res, _ := app.login(t, c, email, appPassword)
	if body(t, res); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", email, res.StatusCode)
	}
	_, _, b := page(t, c, srv.URL+"/rounds") // every signed-in page carries the token (sign-out form)
	m := csrfRE.FindStringSubmatch(b)
	if m == nil {
		t.Fatalf("no CSRF token on /rounds for %s", email)
	}
	return m[1]
}

// inboxPost posts form to u and returns the status, location and body.
func inboxPost(t *testing.T, c *http.Client, u string, form url.Values) (int, string, string) {
	t.Helper()
	res, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, res)
	return res.StatusCode, res.Header.Get("Location"), b
}

func (r *inboxRig) tags(t *testing.T, msg int64) string {
	t.Helper()
	var tags pq.StringArray
	if err := r.db.Get(&tags, `SELECT tags FROM sms_messages WHERE id = $1`, msg); err != nil {
		t.Fatal(err)
	}
	return strings.Join(tags, ",")
}

// TestInboxConversationPages: an officer reads a conversation (its texts become read),
// replies through the Twilio sandbox, assigns and tags; the forms' errors are 422s tied
// to their fields; CSRF, roles and sign-in are enforced on every route.
func TestInboxConversationPages(t *testing.T) {
	r := newInboxRig(t)
	ctx := t.Context()
	base := r.app.srv.URL
	off := r.app.client(t)
	csrf := r.signIn(t, r.app.srv, off, "jo@council.example")

	ada := r.conv(t, "+447700900101")
	adaURL := base + "/replies/" + itoa(ada)
	unread := func(id int64) int {
		return r.count(t, `SELECT count(*) FROM sms_messages WHERE conversation_id = $1 AND direction = 'in' AND read_at IS NULL`, id)
	}
	if n := unread(ada); n != 1 {
		t.Fatalf("Ada's unread texts before the officer looks: %d", n)
	}
	code, _, html := page(t, off, adaURL)
	if code != http.StatusOK {
		t.Fatalf("Ada's conversation: %d\n%s", code, html)
	}
	for _, want := range []string{"Conversation with Ada Lovelace", "Phone number ending 101", "Not assigned", "1 new text",
		`<span class="new">New</span> From Ada Lovelace`,
		`<p class="body">1</p>`, "Answers: Bin day poll", "Poll answer: 1 (Tuesday)",
		`href="/campaigns/` + itoa(r.poll.ID) + `/poll"`, `<time datetime="`, `action="/replies/` + itoa(ada) + `/reply"`,
		`<option value="Max Officer">`, `<option value="needs follow-up">`} {
		if !strings.Contains(html, want) {
			t.Errorf("Ada's conversation lacks %q", want)
		}
	}
	if strings.Contains(html, "900101") {
		t.Error("the page shows Ada's whole number")
	}
	if n := unread(ada); n != 0 {
		t.Errorf("after the officer opened it, %d of Ada's texts are unread", n)
	}
	if _, _, again := page(t, off, adaURL); strings.Contains(again, `class="new"`) || strings.Contains(again, "new text") {
		t.Error("texts already read are still marked new")
	}
	if !regexp.MustCompile(`\d{1,2}:\d\d (GMT|BST)</time>`).MatchString(html) {
		t.Error("texts' times are not shown in UK time")
	}

	// Flags on the others' texts.
	for phone, want := range map[string]string{
		"+447700900103": "Unclear poll answer: not counted",
		"+447700900104": "Likely opt-out — check and record it",
		"+447700900105": "This resident texted STOP",
		"+447700900777": "Conversation with an unknown number",
	} {
		code, _, html := page(t, off, base+"/replies/"+itoa(r.conv(t, phone)))
		if code != http.StatusOK || !strings.Contains(html, want) {
			t.Errorf("%s's conversation (%d) lacks %q", phone, code, want)
		}
	}

	// Reply: it reaches the sandbox, and the page says how it went.
	sent := len(r.tw.Messages())
	text := "Thanks Ada, Tuesday it is from January."
	code, loc, _ := inboxPost(t, off, adaURL+"/reply", url.Values{"csrf": {csrf}, "body": {"  " + text + "\n"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/replies/"+itoa(ada)+"?sent=") {
		t.Fatalf("reply: %d → %q", code, loc)
	}
	msgs := r.tw.Messages()
	if len(msgs) != sent+1 || msgs[sent].To != "+447700900101" || msgs[sent].Body != text {
		t.Fatalf("the sandbox got %+v", msgs[sent:])
	}
	waitFor(t, "the reply's delivery", func() bool {
		return r.count(t, `SELECT count(*) FROM sms_messages WHERE conversation_id = $1 AND direction = 'out'
			AND status = 'delivered' AND sent_by = 'Jo Officer'`, ada) == 1
	})
	m := sms.MeasureText(text)
	_, _, html = page(t, off, base+loc)
	for _, want := range []string{"Reply sent.", fmt.Sprintf("%d characters, GSM-7, 1 text.", m.Characters),
		"Reply from Jo Officer", `<p class="body">` + text + `</p>`, `<p class="state">Delivered</p>`} {
		if !strings.Contains(html, want) {
			t.Errorf("after the reply, the page lacks %q", want)
		}
	}
	// An emoji makes it UCS-2, and the page says why.
	ben := r.conv(t, "+447700900102")
	_, loc, _ = inboxPost(t, off, base+"/replies/"+itoa(ben)+"/reply", url.Values{"csrf": {csrf}, "body": {"Noted, thanks 👍"}})
	if _, _, html := page(t, off, base+loc); !strings.Contains(html, "15 characters, UCS-2, 1 text.") || !strings.Contains(html, "because of “👍”") {
		t.Errorf("UCS-2 reply's notice:\n%s", html)
	}

	// Errors re-render the page with a 422, the message tied to the field.
	sent = len(r.tw.Messages())
	code, _, html = inboxPost(t, off, adaURL+"/reply", url.Values{"csrf": {csrf}, "body": {"   "}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(html, `id="reply-error">Write the reply to send.`) ||
		!strings.Contains(html, `aria-describedby="reply-error reply-hint" aria-invalid="true"`) || !strings.Contains(html, `href="#reply-body"`) {
		t.Errorf("empty reply: %d\n%s", code, html)
	}
	code, _, html = inboxPost(t, off, adaURL+"/reply", url.Values{"csrf": {csrf}, "body": {strings.Repeat("a", 1601)}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(html, "1601 characters; a text can be at most 1600") ||
		!strings.Contains(html, strings.Repeat("a", 1601)+"</textarea>") {
		t.Errorf("overlong reply: %d", code)
	}
	efa := r.conv(t, "+447700900105")
	code, _, html = inboxPost(t, off, base+"/replies/"+itoa(efa)+"/reply", url.Values{"csrf": {csrf}, "body": {"Sorry to see you go"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(html, "this resident texted STOP") {
		t.Errorf("reply after STOP: %d\n%s", code, html)
	}
	if len(r.tw.Messages()) != sent || r.count(t, `SELECT count(*) FROM sms_messages WHERE conversation_id = $1 AND direction = 'out'`, efa) != 0 {
		t.Error("a refused reply was sent or recorded")
	}
	// The provider refuses a number (21610): recorded as failed, shown with the reason.
	r.text(t, "+447700900003", "Hello?")
	olly := r.conv(t, "+447700900003")
	code, _, html = inboxPost(t, off, base+"/replies/"+itoa(olly)+"/reply", url.Values{"csrf": {csrf}, "body": {"Hello Olly"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(html, "Not sent: the SMS provider refused it") ||
		!strings.Contains(html, `<p class="state">Failed: `) || !strings.Contains(html, "Hello Olly</textarea>") {
		t.Errorf("reply the provider refused: %d\n%s", code, html)
	}
	// The provider takes it, then it is undelivered (30003): the page says so.
	r.text(t, "+447700900004", "Is the tip open on Sunday?")
	una := r.conv(t, "+447700900004")
	if code, _, _ := inboxPost(t, off, base+"/replies/"+itoa(una)+"/reply", url.Values{"csrf": {csrf}, "body": {"Yes, 9 to 4."}}); code != http.StatusSeeOther {
		t.Errorf("reply to Una: %d", code)
	}
	waitFor(t, "Una's reply to fail", func() bool {
		return r.count(t, `SELECT count(*) FROM sms_messages WHERE conversation_id = $1 AND status = 'failed'`, una) == 1
	})
	if _, _, html := page(t, off, base+"/replies/"+itoa(una)); !regexp.MustCompile(`<p class="state">Failed: [^<]*30003`).MatchString(html) {
		t.Errorf("undelivered reply on the page:\n%s", html)
	}
	// Without an SMS provider, replies can't go.
	noSMS := r.serve(t, inbox.NewStore(r.db, inbox.Config{}, nil))
	c2 := r.app.client(t)
	csrf2 := r.signIn(t, noSMS, c2, "jo@council.example")
	code, _, html = inboxPost(t, c2, noSMS.URL+"/replies/"+itoa(ada)+"/reply", url.Values{"csrf": {csrf2}, "body": {"Hello"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(html, "no SMS provider is set up") || !strings.Contains(html, `aria-invalid="true"`) {
		t.Errorf("reply without an SMS provider: %d\n%s", code, html)
	}

	// Assign: to a named officer, to me, to nobody.
	assigned := func() string {
		var s string
		r.db.Get(&s, `SELECT assigned_to FROM conversations WHERE id = $1`, ada)
		return s
	}
	code, loc, _ = inboxPost(t, off, adaURL+"/assign", url.Values{"csrf": {csrf}, "officer": {"  Max   Officer "}, "action": {"assign"}})
	if code != http.StatusSeeOther || loc != "/replies/"+itoa(ada)+"#assign" || assigned() != "Max Officer" {
		t.Errorf("assign to Max: %d → %q, assigned to %q", code, loc, assigned())
	}
	if _, _, html := page(t, off, adaURL); !strings.Contains(html, "<strong>Max Officer</strong> is looking after") {
		t.Error("the page doesn't say who is looking after it")
	}
	inboxPost(t, off, adaURL+"/assign", url.Values{"csrf": {csrf}, "officer": {"Max Officer"}, "action": {"me"}})
	if assigned() != "Jo Officer" {
		t.Errorf("assign to me: %q", assigned())
	}
	if mine, err := r.inbox.List(ctx, inbox.Filter{AssignedTo: "Jo Officer"}); err != nil || len(mine) != 1 || mine[0].ID != ada {
		t.Errorf("Jo's conversations: %+v %v", mine, err)
	}
	code, _, html = inboxPost(t, off, adaURL+"/assign", url.Values{"csrf": {csrf}, "officer": {" "}, "action": {"assign"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(html, `aria-describedby="assign-error" aria-invalid="true"`) || assigned() != "Jo Officer" {
		t.Errorf("assign to nobody named: %d, assigned to %q", code, assigned())
	}
	inboxPost(t, off, adaURL+"/assign", url.Values{"csrf": {csrf}, "action": {"nobody"}})
	if assigned() != "" {
		t.Errorf("unassign: %q", assigned())
	}

	// Tags: add two, remove one; only the resident's texts in this conversation.
	adaText := r.firstIn(t, ada)
	tagsURL := adaURL + "/messages/" + itoa(adaText) + "/tags"
	code, loc, _ = inboxPost(t, off, tagsURL, url.Values{"csrf": {csrf}, "tag": {" needs  follow-up "}})
	if code != http.StatusSeeOther || loc != "/replies/"+itoa(ada)+"#text-"+itoa(adaText) || r.tags(t, adaText) != "needs follow-up" {
		t.Errorf("add a tag: %d → %q, tags %q", code, loc, r.tags(t, adaText))
	}
	inboxPost(t, off, tagsURL, url.Values{"csrf": {csrf}, "tag": {"praise"}})
	if _, _, html := page(t, off, adaURL); !strings.Contains(html, `<span class="tag">praise</span>`) ||
		!strings.Contains(html, `Remove<span class="visually-hidden"> the tag “needs follow-up”`) {
		t.Error("the page doesn't list the tags with their remove buttons")
	}
	inboxPost(t, off, tagsURL, url.Values{"csrf": {csrf}, "tag": {"needs follow-up"}, "remove": {"1"}})
	if got := r.tags(t, adaText); got != "praise" {
		t.Errorf("after removing a tag: %q", got)
	}
	code, _, html = inboxPost(t, off, tagsURL, url.Values{"csrf": {csrf}, "tag": {""}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(html, `id="tag-`+itoa(adaText)+`-error"`) ||
		!strings.Contains(html, `aria-describedby="tag-`+itoa(adaText)+`-error tag-hint" aria-invalid="true"`) {
		t.Errorf("empty tag: %d", code)
	}
	var adaReply int64
	r.db.Get(&adaReply, `SELECT id FROM sms_messages WHERE conversation_id = $1 AND direction = 'out' LIMIT 1`, ada)
	benText := r.firstIn(t, ben)
	for name, u := range map[string]string{
		"the officer's own reply":            adaURL + "/messages/" + itoa(adaReply) + "/tags",
		"a text of another conversation":     adaURL + "/messages/" + itoa(benText) + "/tags",
		"a text in a conversation not there": base + "/replies/999999/messages/" + itoa(adaText) + "/tags",
	} {
		if code, _, _ := inboxPost(t, off, u, url.Values{"csrf": {csrf}, "tag": {"praise"}}); code != http.StatusNotFound {
			t.Errorf("tag %s: %d", name, code)
		}
	}
	if r.tags(t, benText) != "" || r.tags(t, adaReply) != "" {
		t.Error("a refused tag was stored")
	}
	for _, p := range []string{"/replies/999999", "/replies/abc", "/replies/0"} {
		if code, _, _ := page(t, off, base+p); code != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, code)
		}
	}

	// CSRF: without the token (or with another), nothing changes.
	sent = len(r.tw.Messages())
	posts := map[string]url.Values{
		adaURL + "/reply":  {"body": {"forged"}},
		adaURL + "/assign": {"officer": {"Mallory"}, "action": {"assign"}},
		tagsURL:            {"tag": {"forged"}},
	}
	for u, form := range posts {
		for _, token := range []string{"", "forged"} {
			f := url.Values{"csrf": {token}}
			for k, v := range form {
				f[k] = v
			}
			if code, _, _ := inboxPost(t, off, u, f); code != http.StatusForbidden {
				t.Errorf("POST %s with CSRF %q: %d", u, token, code)
			}
		}
	}
	if len(r.tw.Messages()) != sent || assigned() != "" || r.tags(t, adaText) != "praise" {
		t.Error("a POST without its CSRF token changed something")
	}

	// A volunteer is refused every inbox route; anonymous visitors are sent to sign in.
	vol := r.app.client(t)
	volCSRF := r.signIn(t, r.app.srv, vol, "sam@volunteers.example")
	gets := []string{"/replies/" + itoa(ada), "/campaigns/" + itoa(r.poll.ID) + "/poll"}
	for _, p := range gets {
		if code, _, _ := page(t, vol, base+p); code != http.StatusForbidden {
			t.Errorf("volunteer GET %s: %d", p, code)
		}
	}
	for u, form := range posts {
		f := url.Values{"csrf": {volCSRF}}
		for k, v := range form {
			f[k] = v
		}
		if code, _, _ := inboxPost(t, vol, u, f); code != http.StatusForbidden {
			t.Errorf("volunteer POST %s: %d", u, code)
		}
	}
	anon := r.app.client(t)
	for _, p := range append(gets, web.InboxRoutes...) {
		if code, loc, _ := page(t, anon, base+p); code != http.StatusSeeOther || loc != "/login?next="+url.QueryEscape(p) {
			t.Errorf("anonymous GET %s: %d → %q", p, code, loc)
		}
	}
	for u, form := range posts {
		if code, _, _ := inboxPost(t, anon, u, form); code != http.StatusUnauthorized {
			t.Errorf("anonymous POST %s: %d", u, code)
		}
	}
	if len(r.tw.Messages()) != sent || assigned() != "" || r.tags(t, adaText) != "praise" {
		t.Error("a refused POST changed something")
	}
}

// TestInboxPollResultsPage: the poll page's chart and table show inbox.Poll's numbers,
// and the unclear answers link to their conversations; campaigns without a poll are 404.
func TestInboxPollResultsPage(t *testing.T) {
	r := newInboxRig(t)
	ctx := t.Context()
	base := r.app.srv.URL
	off := r.app.client(t)
	r.signIn(t, r.app.srv, off, "jo@council.example")
	// Ben changes his mind: his latest clear answer counts, once.
	r.text(t, "+447700900102", "1")
	// Another unclear answer, from Efa after START.
	r.text(t, "+447700900105", "START")
	r.text(t, "+447700900105", "whichever")

	res, err := r.inbox.Poll(ctx, r.poll.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts[0].Count != 2 || res.Counts[1].Count != 0 || res.Total != 2 || res.Unclear < 1 {
		t.Fatalf("the inbox's tally: %+v", res)
	}
	code, _, html := page(t, off, base+"/campaigns/"+itoa(r.poll.ID)+"/poll")
	if code != http.StatusOK {
		t.Fatalf("poll page: %d\n%s", code, html)
	}
	for _, n := range res.Counts {
		pct := 0
		if res.Total > 0 {
			pct = (n.Count*100 + res.Total/2) / res.Total
		}
		row := fmt.Sprintf(`<tr><th scope="row">%s <span class="key">(%s)</span></th><td>%d</td><td>%d%%</td></tr>`, n.Label, n.Key, n.Count, pct)
		if !strings.Contains(html, row) {
			t.Errorf("table lacks %s", row)
		}
		if bar := fmt.Sprintf(`class="count">%d (%d%%)</text>`, n.Count, pct); !strings.Contains(html, bar) {
			t.Errorf("chart lacks %s", bar)
		}
	}
	for _, want := range []string{
		`<svg class="chart" role="img" aria-labelledby="chart-title chart-desc"`,
		`<title id="chart-title">Bar chart of the answers to “Which day suits you for bin collection?”</title>`,
		`<desc id="chart-desc">Tuesday: 2 (100%); Wednesday: 0 (0%). 2 clear answers in all.</desc>`,
		`<caption>Answers to “Which day suits you for bin collection?”</caption>`,
		fmt.Sprintf(`<td>%d</td><td>100%%</td>`, res.Total),
		fmt.Sprintf(`<td><a href="#unclear">%d</a></td>`, res.Unclear),
		`<a href="/replies/` + itoa(r.conv(t, "+447700900103")) + `">Cara Jones</a>: “maybe, depends on the week”`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("poll page lacks %s", want)
		}
	}
	if got := strings.Count(html, `<li><a href="/replies/`); got != res.Unclear {
		t.Errorf("%d unclear answers listed, the inbox counts %d", got, res.Unclear)
	}
	if strings.Contains(html, "please stop texting me") || strings.Contains(html, "<script>") {
		t.Error("the poll page lists a likely opt-out as unclear, or has an inline script")
	}

	// No poll: a campaign without one, one that doesn't exist, a bad id.
	plain := &campaign.Campaign{Name: "Library hours", Purpose: "service", ChannelOrder: []string{"sms"}, SMSBody: "Open at 9."}
	if err := r.campaigns.Create(ctx, plain, "general", "officer"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/campaigns/" + itoa(plain.ID) + "/poll", "/campaigns/999999/poll", "/campaigns/x/poll"} {
		if code, _, _ := page(t, off, base+p); code != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, code)
		}
	}
}

// TestBrowserInboxReply: in headless Chromium an officer signs in from a conversation's
// link, reads it, fails to send an empty reply, sends one that reaches the sandbox, tags
// the resident's text, and opens the poll results; axe finds nothing on any page.
func TestBrowserInboxReply(t *testing.T) {
	r := newInboxRig(t)
	ctx := newBrowser(t)
	ada := r.conv(t, "+447700900101")
	adaText := r.firstIn(t, ada)
	// Something of everything on the page: a tag, and an earlier reply.
	if _, err := r.inbox.Tag(t.Context(), adaText, []string{"issue raised"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.inbox.Reply(t.Context(), ada, "Max Officer", "Thanks, noted."); err != nil {
		t.Fatal(err)
	}

	open(t, ctx, r.app.srv.URL+"/replies/"+itoa(ada), 200) // redirected to sign in
	browse(t, ctx, "fill in the sign-in form",
		chromedp.SendKeys(chromedp.CSS("#email"), "jo@council.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "Conversation with Ada Lovelace" {
		t.Fatalf("after signing in: %q", h)
	}
	checkPage(t, ctx, "conversation")

	submit(t, ctx, "#reply button[type=submit]", 422)
	if e := text(t, ctx, "#reply-error"); e != "Write the reply to send." {
		t.Errorf("empty reply's error: %q", e)
	}
	checkPage(t, ctx, "conversation with an error")

	sent := len(r.tw.Messages())
	reply := "Thanks Ada, Tuesday it is from January."
	browse(t, ctx, "write a reply", chromedp.SendKeys(chromedp.CSS("#reply-body"), reply))
	submit(t, ctx, "#reply button[type=submit]", 200)
	if s := text(t, ctx, "#sent"); !strings.Contains(s, "Reply sent.") || !strings.Contains(s, "GSM-7, 1 text") {
		t.Errorf("after sending: %q", s)
	}
	msgs := r.tw.Messages()
	if len(msgs) != sent+1 || msgs[sent].To != "+447700900101" || msgs[sent].Body != reply {
		t.Fatalf("the sandbox got %+v", msgs[sent:])
	}
	checkPage(t, ctx, "conversation after a reply")

	browse(t, ctx, "tag the text", chromedp.SendKeys(chromedp.CSS("#tag-"+itoa(adaText)), "praise"))
	submit(t, ctx, "#text-"+itoa(adaText)+" form.addtag button", 200)
	if got := r.tags(t, adaText); got != "issue raised,praise" {
		t.Errorf("tags after the browser's tag: %q", got)
	}

	open(t, ctx, r.app.srv.URL+"/campaigns/"+itoa(r.poll.ID)+"/poll", 200)
	if h := text(t, ctx, "h1"); h != "Poll results: Bin day poll" {
		t.Fatalf("poll page: %q", h)
	}
	checkPage(t, ctx, "poll results")
}
