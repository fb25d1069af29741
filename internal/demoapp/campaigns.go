package demoapp

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/reply"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/server"
)

const demoCampaignName = "Bin collection day is changing (demo)"

const demoBulletin = `# Your bin collection day is changing

Dear {{first_name}},

From **Monday 4 January**, we will collect bins in {{ward}} on a **Tuesday** instead of a Monday.

What you need to do:

- Put your bins out by 7am on Tuesday.
- Keep using the same bins. Nothing else changes.

If you need help moving your bin, or a bigger bin, [tell us online](https://crier.example/bins) or call 020 7946 0000.

Thank you for recycling.`

// demoBulletinCy is the demo e-bulletin in Welsh, for the borough's residents who read
// Welsh (issue 16): they get it in their language, everyone else in English.
const demoBulletinCy = `# Mae diwrnod casglu eich biniau yn newid

Annwyl {{first_name}},

O **ddydd Llun 4 Ionawr**, byddwn ni'n casglu biniau yn {{ward}} ar **ddydd Mawrth** yn lle dydd Llun.

Beth sydd angen i chi ei wneud:

- Rhowch eich biniau allan erbyn 7am ddydd Mawrth.
- Daliwch ati i ddefnyddio'r un biniau. Does dim byd arall yn newid.

Os oes angen help arnoch i symud eich bin, neu fin mwy, [dywedwch wrthym ar-lein](https://crier.example/bins) neu ffoniwch 020 7946 0000.

Diolch am ailgylchu.`

// The demo's SMS: a poll to Millbrook's residents with mobiles, answered through the
// sandbox phone.
const (
	demoPollName = "Bin day poll (demo)"
	demoPollSMS  = "Hi {{first_name}}, Millbrook's bin day is changing in January."
)

// demoReplies are what a few residents text back, through the sandbox phone and the
// real signed webhook: two poll answers written as people write them, one unclear, one
// that reads like a wish to stop, and a STOP.
var demoReplies = []string{" 1.", "Two please", "Depends, I work shifts", "please stop texting me", "STOP"}

// campaigns creates (once) an e-bulletin and an SMS poll to the Millbrook ward and
// sends them through the real outbox: the e-bulletins with go-mail to the sandbox SMTP
// server (written to DataDir/sandbox-mail so an officer can open them), the texts with
// twilio-go to the Twilio-compatible sandbox. Then a few residents answer the poll on
// the sandbox phone, through the signed webhook, and (at a terminal) you can text as one.
func (r *run) campaigns(ctx context.Context) error {
	cs := campaign.NewStore(r.DB, r.logger())
	var existing []*campaign.Campaign
	for _, name := range []string{demoCampaignName, demoPollName} {
		if c, err := cs.Get(ctx, name); err == nil {
			existing = append(existing, c)
		} else if !errors.Is(err, campaign.ErrNotFound) {
			return err
		}
	}
	if len(existing) == 2 {
		for _, c := range existing {
			fmt.Fprintf(r.Out, "\nDemo campaign %d %q is %s already.\n", c.ID, c.Name, c.State)
			if err := r.PrintStatus(ctx, cs, c.ID); err != nil {
				return err
			}
		}
		return nil
	}
	ss := segment.NewStore(r.DB)
	seg, err := ss.Get(ctx, "Millbrook ward")
	if errors.Is(err, segment.ErrNotFound) {
		rules, perr := segment.Parse([]byte(`{"field": "ward", "op": "eq", "value": "Millbrook"}`))
		if perr != nil {
			return perr
		}
		seg, err = ss.Create(ctx, "Millbrook ward", "Everyone in Millbrook", rules, "demo")
	}
	if err != nil {
		return err
	}
	bulletin := &campaign.Campaign{Name: demoCampaignName, Purpose: "service", Strategy: "best",
		ChannelOrder: []string{"email"}, SegmentID: &seg.ID,
		EmailSubject: "{{first_name}}, your bin day is changing", EmailBody: demoBulletin,
		SenderName: "Millbrook Neighbourhood Services", SenderEmail: "bins@crier.example",
		Languages: []string{"en", "cy"}, Variants: map[string]campaign.Content{"cy": {
			EmailSubject: "{{first_name}}, mae diwrnod eich biniau yn newid", EmailBody: demoBulletinCy}}}
	poll := &campaign.Campaign{Name: demoPollName, Purpose: "service", Strategy: "best",
		ChannelOrder: []string{"sms"}, SegmentID: &seg.ID, SMSBody: demoPollSMS,
		Poll: &reply.Poll{Question: "Which day suits you for bin collection?",
			Options: []reply.PollOption{{Key: "1", Label: "Tuesday"}, {Key: "2", Label: "Wednesday"}}}}
	for _, c := range []*campaign.Campaign{bulletin, poll} {
		if err := cs.Create(ctx, c, "general", "demo"); err != nil {
			return err
		}
		if err := cs.Schedule(ctx, c.ID, time.Time{}, "demo", r.Check); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// Links in the e-bulletins point where `crier serve` will answer them, not at this
	// short-lived listener; the sandbox's webhooks come here.
	r.cfg = Sandboxed(r.cfg)
	e, err := r.engine(ctx, ln.Addr().String())
	if err != nil {
		ln.Close()
		return err
	}
	defer e.Close()
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(rctx, ln) }()
	werr := r.send(ctx, e, cs, bulletin, poll)
	stop()
	if err := <-done; err != nil && werr == nil {
		werr = err
	}
	return werr
}

// send follows both campaigns to the end, then plays the residents' replies.
func (r *run) send(ctx context.Context, e *server.Engine, cs *campaign.Store, bulletin, poll *campaign.Campaign) error {
	fmt.Fprintf(r.Out, "\nSending demo e-bulletin %q to Millbrook through the outbox, in English and in Welsh to those who read Welsh…\n", bulletin.Name)
	if err := r.Follow(ctx, cs, bulletin.ID); err != nil {
		return err
	}
	if e.SandboxSMTP() == nil {
		fmt.Fprintln(r.Out, "The e-bulletins went to the SMTP server in CRIER_SMTP_URL.")
	} else {
		fmt.Fprintf(r.Out, "%d e-bulletins arrived at the sandbox SMTP server; open them from %s\n", e.SandboxSMTP().Count(), server.SandboxMailDir(r.cfg))
	}
	if counts, err := cs.RunLanguages(ctx, bulletin); err == nil {
		for _, line := range campaign.LanguageSummary(counts, false) {
			fmt.Fprintf(r.Out, "  %s\n", line)
		}
	}

	fmt.Fprintf(r.Out, "\nTexting demo poll %q to Millbrook's mobiles at %g a second…\n", poll.Name, r.cfg.SMSRate)
	if err := r.Follow(ctx, cs, poll.ID); err != nil {
		return err
	}
	if _, err := cs.FinishRuns(ctx); err != nil { // settle the runs now rather than at the scheduler's next tick
		return err
	}
	if e.SandboxPhone() == nil {
		fmt.Fprintln(r.Out, "The texts went to Twilio (CRIER_TWILIO_ACCOUNT_SID); replies arrive at crier serve's webhook.")
		return nil
	}
	texts := e.SandboxPhone().Messages()
	fmt.Fprintf(r.Out, "%d texts reached the sandbox phone. The first reads:\n  %s\n", len(texts), texts[0].Body)

	// Residents answer on the sandbox phone: a signed inbound webhook, as Twilio sends it.
	var numbers []string
	seen := map[string]bool{}
	for _, m := range texts {
		if !seen[m.To] {
			seen[m.To] = true
			numbers = append(numbers, m.To)
		}
	}
	slices.Sort(numbers) // the same residents reply on every run, whatever order the texts left in
	fmt.Fprintln(r.Out, "\nOn the sandbox phone, residents reply:")
	for i, body := range demoReplies {
		if i >= len(numbers) {
			break
		}
		if err := r.text(ctx, e, numbers[i], body); err != nil {
			return err
		}
	}
	if f, ok := r.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) && len(numbers) > len(demoReplies) {
		from := numbers[len(demoReplies)]
		fmt.Fprintf(r.Out, "\nYour turn: text the council as the resident on %s (an empty line ends).\n", from)
		sc := bufio.NewScanner(f)
		for fmt.Fprint(r.Out, "> "); sc.Scan(); fmt.Fprint(r.Out, "> ") {
			body := strings.TrimSpace(sc.Text())
			if body == "" {
				break
			}
			if err := r.text(ctx, e, from, body); err != nil {
				return err
			}
		}
	}
	res, err := e.Inbox().Poll(ctx, poll.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.Out, "\nPoll so far: ")
	for i, c := range res.Counts {
		if i > 0 {
			fmt.Fprint(r.Out, ", ")
		}
		fmt.Fprintf(r.Out, "%s %d", c.Label, c.Count)
	}
	fmt.Fprintf(r.Out, "; %d unclear.\nRead the replies: crier replies list; tally: crier poll results %d\n", res.Unclear, poll.ID)
	return nil
}

// text sends body from a resident's number through the sandbox phone and prints
// what crier made of it.
func (r *run) text(ctx context.Context, e *server.Engine, from, body string) error {
	code, twiml, err := e.TextAsResident(ctx, from, body)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("the webhook answered %d", code)
	}
	fmt.Fprintf(r.Out, "  %s: %q", maskNumber(from), body)
	if m := twimlMessage(twiml); m != "" {
		fmt.Fprintf(r.Out, "  → crier answers %q", m)
	}
	fmt.Fprintln(r.Out)
	return nil
}

// maskNumber shows the end of a phone number only: enough to tell residents apart on
// screen.
func maskNumber(n string) string {
	if len(n) <= 4 {
		return n
	}
	return strings.Repeat("•", 4) + n[len(n)-4:]
}

// twimlMessage pulls the text of a TwiML <Message> reply ("" for none).
func twimlMessage(twiml string) string {
	var resp struct {
		Message string `xml:"Message"`
	}
	if err := xml.Unmarshal([]byte(twiml), &resp); err != nil {
		return ""
	}
	return resp.Message
}
