package web_test

import (
	"bytes"
	"context"
	"errors"
	"html"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/reply"
	"github.com/crierhq/crier/internal/sandbox"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/sms"
	"github.com/crierhq/crier/internal/web"
)

const (
	smsAccount = "AC0123456789abcdef0123456789abcdef"
	smsToken   = "testtoken0123456789abcdef"
	smsFrom    = "+447700900999"
)

// smsResidents: five residents with mobiles, one per failure the sandbox plays, and one
// with only a landline.
const smsResidents = `First name,Surname,Mobile,Phone,House number,Street,Town,Postcode,Ward,SMS consent
Ada,Lovelace,07700 900101,,1,Acre Lane,London,SW2 1RW,Millbrook,Yes
Ben,Okafor,07700 900102,,2,Acre Lane,London,SW2 1RW,Millbrook,Yes
Cara,Jones,07700 900103,,3,Acre Lane,London,SW2 1RW,Millbrook,Yes
Dev,Patel,07700 900104,,4,Acre Lane,London,SW2 1RW,Millbrook,Yes
Efa,Huws,07700 900105,,5,Acre Lane,London,SW2 1RW,Millbrook,Yes
Ivan,Valid,07700 900001,,6,Acre Lane,London,SW2 1RW,Millbrook,Yes
Nora,Mobile,07700 900002,,7,Acre Lane,London,SW2 1RW,Millbrook,Yes
Olly,Stopped,07700 900003,,8,Acre Lane,London,SW2 1RW,Millbrook,Yes
Una,Reach,07700 900004,,9,Acre Lane,London,SW2 1RW,Millbrook,Yes
Fred,Filtered,07700 900005,,10,Acre Lane,London,SW2 1RW,Millbrook,Yes
Lena,Landline,,020 7946 0123,11,Acre Lane,London,SW2 1RW,Millbrook,Yes
`

// smsRig is crier's SMS path end to end: the real twilio-go sender talking to the
// Twilio-compatible sandbox, the dispatcher and outbox on PostgreSQL, and the web
// server taking the sandbox's signed callbacks and inbound texts.
type smsRig struct {
	db        *sqlx.DB
	tw        *sandbox.TwilioServer
	sender    *sms.TwilioSender
	campaigns *campaign.Store
	inbox     *inbox.Store
	outbox    *outbox.Store
	url       string // the web server, as Twilio calls it
	quiet     atomic.Bool
}

func newSMSRig(t *testing.T) *smsRig {
	t.Helper()
	ctx := t.Context()
	d := dbtest.New(t)
	path := filepath.Join(t.TempDir(), "residents.csv")
	if err := os.WriteFile(path, []byte(smsResidents), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := contact.NewStore(d, nil).Import(ctx, contact.ImportOptions{Path: path, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &smsRig{db: d, campaigns: campaign.NewStore(d, nil), outbox: outbox.NewStore(d), url: "http://" + ln.Addr().String()}
	r.tw, err = sandbox.StartTwilio(ctx, sandbox.TwilioConfig{AccountSID: smsAccount, AuthToken: smsToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.tw.Close() })
	r.sender, err = sms.NewTwilioSender(sms.TwilioConfig{AccountSID: smsAccount, AuthToken: smsToken, From: smsFrom,
		StatusCallback: r.url + web.StatusPath, APIURL: r.tw.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.inbox = inbox.NewStore(d, inbox.Config{OrgName: "Millbrook Council"}, r.sender)
	signer, _ := email.NewSigner(bytes.Repeat([]byte("k"), 32))
	ws, err := web.New(web.Config{DB: d, Signer: signer, Twilio: &web.TwilioHooks{AuthToken: smsToken,
		PublicURL: r.url, Inbox: r.inbox, Outbox: r.outbox}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: ws.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	dctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	disp := dispatch.New(dispatch.Config{Instance: "t", Poll: 50 * time.Millisecond, Lease: 20 * time.Second,
		Channels: map[dispatch.Channel]dispatch.ChannelConfig{dispatch.SMS: {Sender: r.sender, Composer: sms.NewComposer(d),
			Workers: 2, Batch: 5, Quiet: func(time.Time) bool { return r.quiet.Load() }}}}, r.outbox, r.campaigns)
	go func() { done <- disp.Run(dctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dispatcher: %v", err)
		}
	})
	return r
}

// send creates and schedules an SMS campaign to everyone.
func (r *smsRig) send(t *testing.T, name, body string, p *reply.Poll, urgent bool) *campaign.Campaign {
	t.Helper()
	c := &campaign.Campaign{Name: name, Purpose: "service", ChannelOrder: []string{"sms"}, SMSBody: body, Poll: p, Urgent: urgent}
	if err := r.campaigns.Create(t.Context(), c, "general", "officer"); err != nil {
		t.Fatal(err)
	}
	if err := r.campaigns.Schedule(t.Context(), c.ID, time.Time{}, "officer", nil); err != nil {
		t.Fatal(err)
	}
	return c
}

// states returns each recipient's outbox state and reason for campaign id, by number.
func (r *smsRig) states(t *testing.T, id int64) map[string][2]string {
	t.Helper()
	var rows []struct {
		Phone  string `db:"phone"`
		State  string `db:"state"`
		Reason string `db:"reason"`
	}
	if err := r.db.Select(&rows, `SELECT coalesce(cp.value, c.last_name) AS phone, o.state, o.reason
		FROM outbox o JOIN contacts c ON c.id = o.contact_id LEFT JOIN contact_points cp ON cp.id = o.contact_point_id
		WHERE o.campaign_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	for _, row := range rows {
		out[row.Phone] = [2]string{row.State, row.Reason}
	}
	return out
}

// waitFor polls cond until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *smsRig) settled(t *testing.T, id int64, want int) func() bool {
	return func() bool {
		var n int
		if err := r.db.Get(&n, `SELECT count(*) FROM outbox WHERE campaign_id = $1
			AND (state IN ('delivered', 'bounced', 'suppressed') OR (state = 'failed' AND reason <> ''))`, id); err != nil {
			t.Fatal(err)
		}
		return n == want
	}
}

// post sends a webhook signed (or not) as Twilio would.
func (r *smsRig) post(t *testing.T, path string, form url.Values, sign bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sign {
		params := map[string]string{}
		for k := range form {
			params[k] = form.Get(k)
		}
		req.Header.Set("X-Twilio-Signature", sandbox.Sign(smsToken, r.url+path, params))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, b.String()
}

func (r *smsRig) text(t *testing.T, from, body string) string {
	t.Helper()
	code, twiml, err := r.tw.SendInbound(t.Context(), r.url+web.InboundPath, from, smsFrom, body)
	if err != nil || code != http.StatusOK {
		t.Fatalf("inbound %q: %d %v", body, code, err)
	}
	return twiml
}

func (r *smsRig) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := r.db.Get(&n, q, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSMSCampaignRepliesAndPoll sends a poll by SMS through twilio-go to the sandbox,
// checks every provider outcome, then plays residents' replies through the signed
// webhook: poll answers (messy ones too), a likely opt-out, STOP and START, a reply back
// from an officer, and the "you said, we did" segment.
func TestSMSCampaignRepliesAndPoll(t *testing.T) {
	r := newSMSRig(t)
	ctx := t.Context()
	bins := &reply.Poll{Question: "Which day suits you for bin collection?",
		Options: []reply.PollOption{{Key: "1", Label: "Tuesday"}, {Key: "2", Label: "Wednesday"}}}
	c := r.send(t, "Bin day poll", "Hi {{first_name}}, we're changing bin day in Millbrook.", bins, false)
	waitFor(t, "every text settled", r.settled(t, c.ID, 11))

	got := r.states(t, c.ID)
	want := map[string][2]string{
		"+447700900101": {"delivered", ""},
		"+447700900102": {"delivered", ""},
		"+447700900103": {"delivered", ""},
		"+447700900104": {"delivered", ""},
		"+447700900105": {"delivered", ""},
		"+442079460123": {"suppressed", "landline: cannot take texts"},
	}
	for phone, w := range want {
		if got[phone] != w {
			t.Errorf("%s: %v, want %v", phone, got[phone], w)
		}
	}
	for phone, w := range map[string]struct{ state, code string }{
		"+447700900001": {"bounced", "21211"}, "+447700900002": {"bounced", "21614"},
		"+447700900003": {"failed", "21610"}, "+447700900004": {"failed", "30003"}, "+447700900005": {"failed", "30007"},
	} {
		if got[phone][0] != w.state || !strings.Contains(got[phone][1], w.code) {
			t.Errorf("%s: %v, want %s with code %s", phone, got[phone], w.state, w.code)
		}
		if strings.Contains(got[phone][1], phone) || strings.Contains(got[phone][1], "7700") {
			t.Errorf("%s: the stored reason quotes the number: %q", phone, got[phone][1])
		}
	}
	// The sandbox got exactly one text per sendable resident, personalised, with the prompt.
	msgs := r.tw.Messages()
	if len(msgs) != 7 {
		t.Fatalf("sandbox accepted %d texts, want 7", len(msgs))
	}
	for _, m := range msgs {
		if m.To == "+447700900101" && m.Body != "Hi Ada, we're changing bin day in Millbrook. Reply 1 for Tuesday, 2 for Wednesday." {
			t.Errorf("Ada's text: %q", m.Body)
		}
		if m.From != smsFrom || m.StatusCallback != r.url+web.StatusPath {
			t.Errorf("text from %q with callback %q", m.From, m.StatusCallback)
		}
	}
	// Dead numbers are marked; the resident who had texted STOP at Twilio is withdrawn.
	for phone, status := range map[string]string{"+447700900001": "invalid", "+447700900002": "invalid", "+447700900003": "opted_out"} {
		if n := r.count(t, `SELECT count(*) FROM contact_points WHERE value = $1 AND status = $2`, phone, status); n != 1 {
			t.Errorf("%s is not %s", phone, status)
		}
	}
	if n := r.count(t, `SELECT count(*) FROM current_consents cc JOIN contact_points cp ON cp.id = cc.contact_point_id
		WHERE cp.value = '+447700900003' AND cc.status = 'withdrawn'`); n == 0 {
		t.Error("21610 recorded no withdrawal")
	}

	// Callbacks repeated and out of order change nothing: a late "sent" after "delivered".
	var sid string
	if err := r.db.Get(&sid, `SELECT o.provider_id FROM outbox o JOIN contact_points cp ON cp.id = o.contact_point_id
		WHERE cp.value = '+447700900101' AND o.campaign_id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	events := func() int {
		return r.count(t, `SELECT count(*) FROM message_events e JOIN outbox o ON o.id = e.outbox_id WHERE o.provider_id = $1`, sid)
	}
	before := events()
	for _, st := range []string{"sent", "delivered", "queued"} {
		if code, _ := r.post(t, web.StatusPath, url.Values{"MessageSid": {sid}, "MessageStatus": {st}, "AccountSid": {smsAccount}}, true); code != http.StatusNoContent {
			t.Fatalf("callback %s: %d", st, code)
		}
	}
	if got := r.states(t, c.ID)["+447700900101"]; got[0] != "delivered" || events() != before {
		t.Errorf("after late and repeated callbacks: %v, %d new events", got, events()-before)
	}

	// A forged or unsigned webhook is refused and leaves nothing behind.
	stored := r.count(t, `SELECT (SELECT count(*) FROM sms_messages) + (SELECT count(*) FROM provider_statuses)`)
	forged := url.Values{"MessageSid": {"SM" + strings.Repeat("ab", 16)}, "From": {"+447700900101"}, "Body": {"STOP"}}
	if code, _ := r.post(t, web.InboundPath, forged, false); code != http.StatusForbidden {
		t.Errorf("unsigned inbound: %d", code)
	}
	req, _ := http.NewRequest(http.MethodPost, r.url+web.InboundPath, strings.NewReader(forged.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sandbox.Sign("not-the-token", r.url+web.InboundPath, map[string]string{"MessageSid": forged.Get("MessageSid"), "From": "+447700900101", "Body": "STOP"}))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("forged inbound: %v %v", res.StatusCode, err)
	}
	if code, _ := r.post(t, web.StatusPath, url.Values{"MessageSid": {sid}, "MessageStatus": {"failed"}, "ErrorCode": {"30008"}}, false); code != http.StatusForbidden {
		t.Errorf("unsigned status: %d", code)
	}
	if code, _ := r.post(t, web.InboundPath, url.Values{"Body": {"%zz"}}, true); code != http.StatusBadRequest {
		t.Errorf("inbound without MessageSid: %d", code)
	}
	if now := r.count(t, `SELECT (SELECT count(*) FROM sms_messages) + (SELECT count(*) FROM provider_statuses)`); now != stored {
		t.Errorf("refused webhooks stored %d rows", now-stored)
	}

	// Replies: messy poll answers, an unclear one, a likely opt-out, and STOP.
	if tw := r.text(t, "+447700900101", " 1."); !strings.Contains(tw, "counted your answer: Tuesday") {
		t.Errorf("poll answer acknowledged with %q", tw)
	}
	r.text(t, "+447700900102", "Two please")
	r.text(t, "+447700900103", "maybe, depends on the week")
	r.text(t, "+447700900104", "please stop texting me")
	if tw := r.text(t, "+447700900105", "STOP"); strings.Contains(tw, "<Message>") {
		t.Errorf("Twilio answered STOP already, crier answered again: %q", tw)
	}
	r.text(t, "+447700900777", "Who is this?") // a number we don't know

	res, err := r.inbox.Poll(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts[0].Count != 1 || res.Counts[1].Count != 1 || res.Unclear != 1 || res.Total != 2 {
		t.Errorf("poll results %+v", res)
	}
	flagged, err := r.inbox.List(ctx, inbox.Filter{Flagged: true})
	if err != nil {
		t.Fatal(err)
	}
	var flags []string
	for _, f := range flagged {
		flags = append(flags, f.Flags)
	}
	if len(flagged) != 2 || !strings.Contains(strings.Join(flags, "|"), "likely opt-out") || !strings.Contains(strings.Join(flags, "|"), "unclear poll answer") {
		t.Errorf("flagged conversations: %q", flags)
	}
	all, _ := r.inbox.List(ctx, inbox.Filter{})
	var unknown *inbox.Conversation
	for i := range all {
		if all[i].Phone == "+447700900777" {
			unknown = &all[i]
		}
	}
	if len(all) != 6 || unknown == nil || unknown.ContactID != nil || unknown.Unread != 1 {
		t.Fatalf("conversations: %+v", all)
	}

	// A repeated webhook (same MessageSid) is stored and acted on once.
	dup := url.Values{"MessageSid": {"SM" + strings.Repeat("cd", 16)}, "From": {"+447700900102"}, "To": {smsFrom}, "Body": {"2"}}
	r.post(t, web.InboundPath, dup, true)
	r.post(t, web.InboundPath, dup, true)
	if n := r.count(t, `SELECT count(*) FROM sms_messages WHERE provider_sid = $1`, dup.Get("MessageSid")); n != 1 {
		t.Errorf("repeated webhook stored %d times", n)
	}

	// "You said, we did": the people who answered Tuesday, and those an officer tagged.
	var ben int64
	if err := r.db.Get(&ben, `SELECT m.id FROM sms_messages m JOIN conversations cv ON cv.id = m.conversation_id
		WHERE cv.phone = '+447700900102' ORDER BY m.id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if tags, err := r.inbox.Tag(ctx, ben, []string{"praise", " needs follow-up "}, false); err != nil || strings.Join(tags, ",") != "needs follow-up,praise" {
		t.Fatalf("tag: %v %v", tags, err)
	}
	ss := segment.NewStore(r.db)
	for _, tc := range []struct {
		rule segment.Rule
		want int
	}{
		{segment.Rule{Field: "campaign", Op: "replied", Value: c.ID}, 4}, // not the STOP
		{segment.Rule{Field: "campaign", Op: "replied", Value: c.ID, Answer: "1"}, 1},
		{segment.Rule{Field: "campaign", Op: "replied", Value: c.ID, Tag: "praise"}, 1},
	} {
		n, err := ss.Count(ctx, tc.rule, "general", "service")
		if err != nil || n.Total != tc.want {
			t.Errorf("%+v: %d residents (%v), want %d", tc.rule, n.Total, err, tc.want)
		}
	}

	// An officer replies; the text reaches the sandbox and its delivery is recorded.
	var adaConv int64
	if err := r.db.Get(&adaConv, `SELECT id FROM conversations WHERE phone = '+447700900101'`); err != nil {
		t.Fatal(err)
	}
	m, err := r.inbox.Reply(ctx, adaConv, "officer.jo", "Thanks Ada, Tuesday it is from January.")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reply's delivery", func() bool {
		return r.count(t, `SELECT count(*) FROM sms_messages WHERE id = $1 AND status = 'delivered'`, m.ID) == 1
	})
	last := r.tw.Messages()[len(r.tw.Messages())-1]
	if last.To != "+447700900101" || last.Body != "Thanks Ada, Tuesday it is from January." {
		t.Errorf("reply reached the sandbox as %+v", last)
	}
	// Efa texted STOP: no reply can go, and the next campaign passes her by.
	var efaConv int64
	r.db.Get(&efaConv, `SELECT id FROM conversations WHERE phone = '+447700900105'`)
	if _, err := r.inbox.Reply(ctx, efaConv, "officer.jo", "Sorry to see you go"); !errors.Is(err, inbox.ErrOptedOut) {
		t.Errorf("reply after STOP: %v", err)
	}
	c2 := r.send(t, "Bin day confirmed", "Bin day is Tuesday from January.", nil, false)
	waitFor(t, "the second campaign", r.settled(t, c2.ID, 11))
	if got := r.states(t, c2.ID)["+447700900105"]; got != [2]string{"suppressed", "contact point opted out"} {
		t.Errorf("after STOP, Efa's text: %v", got)
	}
	// START gives her texts back.
	r.text(t, "+447700900105", "start")
	c3 := r.send(t, "Bin day reminder", "Reminder: bin day is Tuesday.", nil, false)
	waitFor(t, "the third campaign", r.settled(t, c3.ID, 11))
	if got := r.states(t, c3.ID)["+447700900105"]; got[0] != "delivered" {
		t.Errorf("after START, Efa's text: %v", got)
	}
	// A topic she turned off in the preference centre stays off through STOP and START.
	var roads, efa int64
	if err := r.db.Get(&roads, `INSERT INTO topics (slug, name) VALUES ('roadworks', 'Roadworks') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	r.db.Get(&efa, `SELECT id FROM contact_points WHERE value = '+447700900105'`)
	if _, err := r.db.Exec(`INSERT INTO consents (contact_point_id, topic_id, status, source, detail)
		VALUES ($1, $2, 'withdrawn', 'web', 'preference centre')`, efa, roads); err != nil {
		t.Fatal(err)
	}
	r.text(t, "+447700900105", "STOP")
	r.text(t, "+447700900105", "Start")
	var cur []struct {
		Slug   string `db:"slug"`
		Status string `db:"status"`
	}
	r.db.Select(&cur, `SELECT t.slug, cc.status FROM current_consents cc JOIN topics t ON t.id = cc.topic_id
		WHERE cc.contact_point_id = $1 ORDER BY t.slug`, efa)
	if len(cur) != 2 || cur[0].Slug != "general" || cur[0].Status != "granted" || cur[1].Slug != "roadworks" || cur[1].Status != "withdrawn" {
		t.Errorf("after STOP and START, Efa's consents: %+v (want general granted, roadworks still withdrawn on the web)", cur)
	}
}

// TestQuietHoursHoldTextsUnlessUrgent: during quiet hours an ordinary campaign's texts
// wait in the outbox and an urgent one's go; when the quiet hours end, the rest go.
func TestQuietHoursHoldTextsUnlessUrgent(t *testing.T) {
	r := newSMSRig(t)
	r.quiet.Store(true)
	normal := r.send(t, "Library opening hours", "The library opens at 9 from Monday.", nil, false)
	urgent := r.send(t, "Flood warning", "Flood warning for Acre Lane tonight: move valuables upstairs.", nil, true)
	waitFor(t, "the urgent campaign", r.settled(t, urgent.ID, 11))
	time.Sleep(300 * time.Millisecond) // several claim rounds
	// All wait but three: the urgent campaign found +447700900003 opted out at Twilio
	// (21610), +447700900001 invalid (21211) and +447700900002 not a mobile (21614), and
	// what it found stopped those numbers' pending texts in every campaign.
	if n := r.count(t, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'pending'`, normal.ID); n != 7 {
		t.Fatalf("during quiet hours %d of the ordinary campaign's 10 texts wait, want 7", n)
	}
	held := r.states(t, normal.ID)
	if got := held["+447700900003"]; got != [2]string{"suppressed", "consent withdrawn after the run started"} {
		t.Errorf("the opted-out number's held text: %v", got)
	}
	for _, n := range []string{"+447700900001", "+447700900002"} {
		if got := held[n]; got != [2]string{"suppressed", "contact point invalid after the run started"} {
			t.Errorf("the held text to %s, found invalid by another campaign: %v", n, got)
		}
	}
	for _, m := range r.tw.Messages() {
		if strings.Contains(m.Body, "library") {
			t.Fatal("an ordinary text went out during quiet hours")
		}
	}
	// A resident who texts STOP while the texts wait is not texted when they leave: an
	// opt-out stops pending sends.
	r.text(t, "+447700900102", "STOP")
	if got := r.states(t, normal.ID)["+447700900102"]; got != [2]string{"suppressed", "consent withdrawn after the run started"} {
		t.Errorf("after STOP, the held text: %v", got)
	}
	r.quiet.Store(false)
	waitFor(t, "the held texts", r.settled(t, normal.ID, 11))
	for _, m := range r.tw.Messages() {
		if m.To == "+447700900102" && strings.Contains(m.Body, "library") {
			t.Error("the resident who texted STOP was texted")
		}
	}
}

// TestWebhooksBoundAndCheckTheirInput: malformed form data is a 400 and an oversized
// body a 413, never a crash and never stored; HELP gets the configured answer when
// Twilio has not answered it; an unknown status is accepted and ignored.
func TestWebhooksBoundAndCheckTheirInput(t *testing.T) {
	r := newSMSRig(t)
	raw := func(body string, sign bool) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, r.url+web.InboundPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sign {
			req.Header.Set("X-Twilio-Signature", sandbox.Sign(smsToken, r.url+web.InboundPath, nil))
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := raw("MessageSid=SM1&Body=%zz", true); code != http.StatusBadRequest {
		t.Errorf("malformed form: %d", code)
	}
	if code := raw("Body="+strings.Repeat("a", 64<<10), true); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", code)
	}
	if n := r.count(t, `SELECT count(*) FROM sms_messages`); n != 0 {
		t.Errorf("bad requests stored %d texts", n)
	}
	help := url.Values{"MessageSid": {"SM" + strings.Repeat("ef", 16)}, "From": {"+447700900101"}, "To": {smsFrom}, "Body": {"help"}}
	if code, tw := r.post(t, web.InboundPath, help, true); code != http.StatusOK || !strings.Contains(tw, "Reply STOP to stop them") {
		t.Errorf("HELP without OptOutType: %d %q", code, tw)
	}
	help.Set("MessageSid", "SM"+strings.Repeat("fe", 16))
	help.Set("OptOutType", "HELP")
	if code, tw := r.post(t, web.InboundPath, help, true); code != http.StatusOK || strings.Contains(tw, "<Message>") {
		t.Errorf("HELP that Twilio answered: %d %q", code, tw)
	}
	if code, _ := r.post(t, web.StatusPath, url.Values{"MessageSid": {"SM" + strings.Repeat("aa", 16)}, "MessageStatus": {"partially_delivered"}}, true); code != http.StatusNoContent {
		t.Errorf("unknown status: %d", code)
	}
}

// TestWelshTexts: residents who text in Welsh are understood and answered in Welsh. A
// STOPIO (which Twilio's default opt-out handling does not know, so it sends no
// OptOutType) withdraws consent: the next campaign sends that number nothing. A resident
// whose preferred language is Welsh gets the poll's thanks in Welsh; an English reader's
// thanks stay English.
func TestWelshTexts(t *testing.T) {
	r := newSMSRig(t)
	if _, err := r.db.Exec(`UPDATE contacts SET preferred_language = 'cy' WHERE first_name = 'Efa'`); err != nil {
		t.Fatal(err)
	}
	bins := &reply.Poll{Question: "Which day suits you for bin collection?",
		Options: []reply.PollOption{{Key: "1", Label: "Tuesday"}, {Key: "2", Label: "Wednesday"}}}
	c := r.send(t, "Bin day poll", "Hi {{first_name}}, we're changing bin day.", bins, false)
	waitFor(t, "every text settled", r.settled(t, c.ID, 11))

	if tw := said(r.text(t, "+447700900105", "1")); !strings.Contains(tw, "Diolch. Rydyn ni wedi cyfrif eich ateb: Tuesday.") {
		t.Errorf("a Welsh reader's poll answer acknowledged with %q", tw)
	}
	if tw := said(r.text(t, "+447700900102", "2")); !strings.Contains(tw, "Thank you. We've counted your answer: Wednesday.") {
		t.Errorf("an English reader's poll answer acknowledged with %q", tw)
	}
	// Ada reads English but texts Welsh: the answer is in the language she used.
	tw := said(r.text(t, "+447700900101", "Stopio"))
	if !strings.Contains(tw, "Fyddwch chi ddim yn cael rhagor o negeseuon testun gan Millbrook Council. Atebwch DECHRAU") {
		t.Errorf("STOPIO answered with %q", tw)
	}
	if n := r.count(t, `SELECT count(*) FROM sms_messages m JOIN conversations cv ON cv.id = m.conversation_id
		WHERE cv.phone = '+447700900101' AND m.keyword = 'stop'`); n != 1 {
		t.Errorf("STOPIO stored as %d stop keywords, want 1", n)
	}
	if tw := said(r.text(t, "+447700900103", "DIM")); !strings.Contains(tw, "Atebwch DECHRAU i'w cael eto.") {
		t.Errorf("DIM answered with %q", tw)
	}

	before := map[string]int{}
	for _, m := range r.tw.Messages() {
		before[m.To]++
	}
	next := r.send(t, "Bin day reminder", "Bins out tonight, {{first_name}}.", nil, false)
	waitFor(t, "every reminder settled", func() bool {
		total := r.count(t, `SELECT count(*) FROM outbox WHERE campaign_id = $1`, next.ID)
		return total > 0 && r.settled(t, next.ID, total)()
	})
	after := map[string]int{}
	for _, m := range r.tw.Messages() {
		after[m.To]++
	}
	for _, stopped := range []string{"+447700900101", "+447700900103"} {
		if after[stopped] != before[stopped] {
			t.Errorf("%s texted STOPIO/DIM, then got %d more texts", stopped, after[stopped]-before[stopped])
		}
	}
	if after["+447700900102"] != before["+447700900102"]+1 {
		t.Errorf("Ben, who did not stop, got %d texts of the reminder, want 1", after["+447700900102"]-before["+447700900102"])
	}

	// DECHRAU starts them again, in Welsh.
	if tw := said(r.text(t, "+447700900101", "dechrau")); !strings.Contains(tw, "Byddwch chi'n cael negeseuon testun gan Millbrook Council eto.") {
		t.Errorf("DECHRAU answered with %q", tw)
	}
}

// said is what a TwiML answer says, its XML escapes undone.
func said(twiml string) string { return html.UnescapeString(twiml) }
