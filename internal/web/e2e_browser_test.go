package web_test

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http/httptest"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/sandbox"
	"github.com/crierhq/crier/internal/sms"
	"github.com/crierhq/crier/internal/web"
)

// e2eResidents: Ada and Ben by email and text, Cara by text only, and Eve, whose email
// bounces (the sandbox SMTP server refuses bounce.example) and whose mobile is the
// sandbox's "filtered" number (accepted, then failed). Mobiles are in Ofcom's drama range.
const e2eResidents = `First name,Surname,Email,Mobile,House number,Street,Town,Postcode,Ward,Email consent,SMS consent
Ada,Lovelace,ada@example.org,07700 900101,1,Acre Lane,London,SW2 1RW,Millbrook,Yes,Yes
Ben,Okafor,ben@example.org,07700 900102,2,Acre Lane,London,SW2 1RW,Millbrook,Yes,Yes
Cara,Jones,,07700 900103,3,Acre Lane,London,SW2 1RW,Millbrook,,Yes
Eve,Bounce,eve@bounce.example,07700 900005,4,Acre Lane,London,SW2 1RW,Millbrook,Yes,Yes
`

const e2eFrom = "Millbrook Council <news@millbrook.example>"

// e2eRig is crier as `crier serve --demo` wires it (internal/server): PostgreSQL,
// the sandbox SMTP server behind go-mail's SMTP sender and the e-bulletin composer, the
// sandbox Twilio behind twilio-go, the inbox, the dispatcher running, and the web server
// taking officers and the sandbox's signed webhooks.
type e2eRig struct {
	url    string
	smtp   *sandbox.SMTPServer
	twilio *sandbox.TwilioServer
	ctx    context.Context
}

func newE2ERig(t *testing.T) *e2eRig {
	t.Helper()
	ctx := t.Context()
	d := dbtest.New(t)
	path := filepath.Join(t.TempDir(), "residents.csv")
	if err := os.WriteFile(path, []byte(e2eResidents), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := contact.NewStore(d, nil).Import(ctx, contact.ImportOptions{Path: path, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	as := auth.NewStore(d)
	as.Cost = bcrypt.MinCost
	if _, err := as.Add(ctx, "jo@council.example", "Jo Officer", auth.Officer, appPassword); err != nil {
		t.Fatal(err)
	}

	// The listener first: links in e-bulletins and Twilio's callbacks point at it.
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()

	mailbox, err := sandbox.StartSMTP(ctx, sandbox.SMTPConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mailbox.Close() })
	mailbox.FailRecipient("bounce.example", 550, "5.1.1", "no such user")
	host, port, _ := net.SplitHostPort(mailbox.Addr())
	portN, _ := strconv.Atoi(port)
	mailer, err := email.NewSMTPSender(email.SMTPConfig{Host: host, Port: portN, TLS: email.TLSNone, Connections: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mailer.Close() })
	signer, _ := email.NewSigner(bytes.Repeat([]byte("z"), 32))
	brand := email.Branding{OrgName: "Millbrook Council", FooterAddress: "Town Hall, 1 High Street, London SW2 1RW", WebsiteURL: base}
	composer := email.NewComposer(d, email.ComposerConfig{PublicURL: base, FromName: "Millbrook Council",
		FromAddress: "news@millbrook.example", ListDomain: "news.millbrook.example", Branding: brand, Signer: signer})

	phone, err := sandbox.StartTwilio(ctx, sandbox.TwilioConfig{AccountSID: smsAccount, AuthToken: smsToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phone.Close() })
	texter, err := sms.NewTwilioSender(sms.TwilioConfig{AccountSID: smsAccount, AuthToken: smsToken, From: smsFrom,
		StatusCallback: base + web.StatusPath, APIURL: phone.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ib := inbox.NewStore(d, inbox.Config{OrgName: "Millbrook Council"}, texter)
	ob := outbox.NewStore(d)

	ws, err := web.New(web.Config{DB: d, Signer: signer, Composer: composer, Branding: brand,
		Twilio: &web.TwilioHooks{AuthToken: smsToken, PublicURL: base, Inbox: ib, Outbox: ob},
		App:    &web.App{Auth: as, Rounds: printrun.NewStore(d), Inbox: ib, PublicURL: base, Mail: mailer, MailFrom: e2eFrom}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = ws.Handler()
	srv.Start()
	t.Cleanup(srv.Close)

	dctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	disp := dispatch.New(dispatch.Config{Instance: "e2e", Poll: 100 * time.Millisecond, Lease: 20 * time.Second,
		Channels: map[dispatch.Channel]dispatch.ChannelConfig{
			dispatch.Email: {Sender: mailer, Composer: composer, Workers: 2, Batch: 10},
			dispatch.SMS:   {Sender: texter, Composer: sms.NewComposer(d), Workers: 2, Batch: 5},
		}}, ob, campaign.NewStore(d, nil))
	go func() { done <- disp.Run(dctx) }()
	t.Cleanup(func() { // first of the cleanups: the dispatcher stops before what it uses goes
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dispatcher: %v", err)
		}
	})
	return &e2eRig{url: base, smtp: mailbox, twilio: phone, ctx: ctx}
}

// e2eWait polls cond every 100 ms until it holds, failing the test after 30 s.
func e2eWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// e2eMail is one message the sandbox SMTP server took, parsed.
type e2eMail struct {
	To, Subject, Text, HTML string
}

func e2eParse(t *testing.T, raw []byte) e2eMail {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse mail: %v", err)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject: %v", err)
	}
	out := e2eMail{To: msg.Header.Get("To"), Subject: subject}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // quoted-printable parts come decoded
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("mail part: %v", err)
		}
		b, _ := io.ReadAll(p)
		switch ct := p.Header.Get("Content-Type"); {
		case strings.HasPrefix(ct, "text/plain"):
			out.Text = string(b)
		case strings.HasPrefix(ct, "text/html"):
			out.HTML = string(b)
		}
	}
	return out
}

// e2eTally is one channel's numbers as the progress block shows them.
type e2eTally struct {
	Total, Sent, Delivered, Failed, Waiting, Suppressed int
}

// e2eProgress reads the progress block's numbers, by channel, from the page in the browser.
func e2eProgress(t *testing.T, ctx context.Context) map[string]e2eTally {
	t.Helper()
	got := evaluate[map[string]map[string]int](t, ctx, "read the progress", `(() => {
		const out = {};
		for (const ch of document.querySelectorAll('#progress .progress-channel')) {
			const n = {};
			for (const li of ch.querySelectorAll('[data-n]')) n[li.dataset.n] = parseInt(li.querySelector('.n').textContent, 10);
			out[ch.dataset.channel] = n;
		}
		return out;
	})()`)
	out := map[string]e2eTally{}
	for ch, n := range got {
		out[ch] = e2eTally{Total: n["total"], Sent: n["sent"], Delivered: n["delivered"], Failed: n["failed"],
			Waiting: n["waiting"], Suppressed: n["suppressed"]}
	}
	return out
}

// TestBrowserEndToEnd: an officer, in Chromium, writes a campaign (e-bulletin and text,
// with a poll), sends a test e-bulletin to themself and it arrives at the sandbox SMTP
// server, schedules the campaign now and watches its progress update itself until it is
// done, the numbers matching what the two sandboxes received; then a resident answers
// from the sandbox phone through the signed webhook, and the officer reads the
// conversation and answers it, and the answer reaches that resident's number.
func TestBrowserEndToEnd(t *testing.T) {
	r := newE2ERig(t)
	ctx := newBrowser(t)

	// Sign in, and write the campaign.
	open(t, ctx, r.url+"/campaigns/new", 200) // by way of signing in
	browse(t, ctx, "sign in as the officer",
		chromedp.SendKeys(chromedp.CSS("#email"), "jo@council.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "Write a campaign" {
		t.Fatalf("after signing in: %q", h)
	}
	browse(t, ctx, "write the campaign",
		chromedp.SendKeys(chromedp.CSS("#name"), "Bin day poll"),
		chromedp.Click(chromedp.CSS("#purpose-service")),
		chromedp.Click(chromedp.CSS("#channel-email")),
		chromedp.Click(chromedp.CSS("#channel-sms")),
		chromedp.Click(chromedp.CSS("#strategy-all")),
		chromedp.SendKeys(chromedp.CSS("#email_subject"), "{{first_name}}, your bin day is changing"),
		chromedp.SendKeys(chromedp.CSS("#email_body"), "Dear {{first_name}},\n\nFrom January we collect your bins on a **Tuesday**."),
		chromedp.SendKeys(chromedp.CSS("#sms_body"), "Hi {{first_name}}, your bin day is changing."),
		chromedp.SendKeys(chromedp.CSS("#poll_question"), "Which day suits you?"),
		chromedp.SendKeys(chromedp.CSS("#poll_key_1"), "1"),
		chromedp.SendKeys(chromedp.CSS("#poll_label_1"), "Tuesday"),
		chromedp.SendKeys(chromedp.CSS("#poll_key_2"), "2"),
		chromedp.SendKeys(chromedp.CSS("#poll_label_2"), "Wednesday"))
	submit(t, ctx, "form.editor-form button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "Bin day poll" {
		t.Fatalf("after saving: %q\n%s", h, text(t, ctx, "main"))
	}
	loc := evaluate[string](t, ctx, "the campaign's address", `location.pathname`)
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/campaigns/"), "/edit")

	// A test e-bulletin to the officer: it arrives, and is no resident's.
	submit(t, ctx, "#test-send", 200)
	if s := text(t, ctx, ".notice"); !strings.HasPrefix(s, "Test sent to jo@council.example.") {
		t.Errorf("after the test send: %q", s)
	}
	e2eWait(t, "the test e-bulletin", func() bool { return r.smtp.Count() == 1 })
	got := r.smtp.Messages()[0]
	test := e2eParse(t, got.Data)
	if len(got.To) != 1 || got.To[0] != "jo@council.example" || test.Subject != "[Test] Jo, your bin day is changing" ||
		!strings.Contains(test.Text, "Dear Jo,") || !strings.Contains(test.HTML, "Dear Jo,") ||
		!strings.Contains(test.HTML, `href="#unsubscribe"`) || strings.Contains(test.HTML, r.url+"/u/") {
		t.Errorf("the test e-bulletin: to %v, %+v", got.To, test)
	}

	// Schedule it now, and watch it go: the progress block updates itself (the page is
	// not reloaded: the mark set on it stays) until the campaign completes.
	submit(t, ctx, "#schedule", 200)
	if s := text(t, ctx, ".notice"); !strings.HasPrefix(s, "Scheduled for ") {
		t.Errorf("after scheduling: %q", s)
	}
	if live := evaluate[string](t, ctx, "the live block", `document.querySelector('#progress [data-live]').dataset.live`); live != "/campaigns/"+id+"/progress" {
		t.Errorf("the progress follows %q", live)
	}
	evaluate[chromedp.Void](t, ctx, "mark the page", `window.e2eMark = 'still here'`)
	var states []string
	e2eWait(t, "the progress to show the campaign done", func() bool {
		s := evaluate[string](t, ctx, "the progress state", `document.querySelector('#progress .progress-state').textContent`)
		if len(states) == 0 || states[len(states)-1] != s {
			states = append(states, s)
		}
		return evaluate[bool](t, ctx, "done?", `!!document.querySelector('#progress [data-live] [data-live-done]')`)
	})
	if mark := evaluate[string](t, ctx, "the mark", `String(window.e2eMark)`); mark != "still here" {
		t.Errorf("the page was reloaded (mark %q): the progress did not update in place", mark)
	}
	t.Logf("the progress went through %q", states)
	if last := states[len(states)-1]; len(states) < 2 || !strings.HasPrefix(last, "Completed:") {
		t.Errorf("the progress went through %q", states)
	}
	mails := r.smtp.Messages()[1:] // after the test
	texts := r.twilio.Messages()
	p := e2eProgress(t, ctx)
	em, tx := p["email"], p["sms"]
	if em.Total != 3 || em.Sent != len(mails) || em.Sent != 2 || em.Failed != 1 || em.Waiting != 0 {
		t.Errorf("e-bulletins: the page shows %+v; the SMTP server took %d", em, len(mails))
	}
	if tx.Total != 4 || tx.Waiting != 0 || tx.Sent+tx.Failed != len(texts) || len(texts) != 4 {
		t.Errorf("texts: the page shows %+v; the sandbox phone got %d", tx, len(texts))
	}
	for _, m := range mails {
		if mm := e2eParse(t, m.Data); !strings.HasSuffix(mm.Subject, ", your bin day is changing") || strings.HasPrefix(mm.Subject, "[Test]") {
			t.Errorf("a resident's e-bulletin: %q", mm.Subject)
		}
	}
	checkPage(t, ctx, "campaign page with its progress")

	// Delivery reports come in after: a refresh shows them (three delivered, Eve's failed).
	e2eWait(t, "the delivery reports", func() bool {
		open(t, ctx, r.url+"/campaigns/"+id+"/edit", 200)
		tx = e2eProgress(t, ctx)["sms"]
		return tx.Delivered == 3 && tx.Failed == 1
	})
	if tx.Sent != 3 || tx.Total != 4 {
		t.Errorf("texts after the delivery reports: %+v", tx)
	}

	// Ada answers the poll from her phone, through the signed webhook.
	ada := "+447700900101"
	code, _, err := r.twilio.SendInbound(r.ctx, r.url+web.InboundPath, ada, smsFrom, "1")
	if err != nil || code != 200 {
		t.Fatalf("Ada's answer: %d %v", code, err)
	}
	open(t, ctx, r.url+"/replies", 200)
	href := evaluate[string](t, ctx, "Ada's conversation",
		`([...document.querySelectorAll('a[href^="/replies/"]')].find(a => a.textContent.includes('Ada Lovelace')) || {}).pathname || ''`)
	if href == "" {
		t.Fatalf("no conversation with Ada in the replies:\n%s", text(t, ctx, "main"))
	}
	open(t, ctx, r.url+href, 200)
	if h := text(t, ctx, "h1"); h != "Conversation with Ada Lovelace" {
		t.Fatalf("conversation: %q", h)
	}
	if s := text(t, ctx, "ol.texts"); !strings.Contains(s, "From Ada Lovelace") || !strings.Contains(s, "Answers: Bin day poll") {
		t.Errorf("the conversation: %q", s)
	}
	checkPage(t, ctx, "conversation")
	before := len(r.twilio.Messages())
	answer := "Thanks Ada, Tuesday it is."
	browse(t, ctx, "write the answer", chromedp.SendKeys(chromedp.CSS("#reply-body"), answer))
	submit(t, ctx, "#reply button[type=submit]", 200)
	if s := text(t, ctx, "#sent"); !strings.Contains(s, "Reply sent.") {
		t.Errorf("after answering: %q", s)
	}
	e2eWait(t, "the answer at the sandbox phone", func() bool { return len(r.twilio.Messages()) > before })
	if m := r.twilio.Messages()[before]; m.To != ada || m.Body != answer || m.From != smsFrom {
		t.Errorf("the sandbox phone got %+v", m)
	}
}
