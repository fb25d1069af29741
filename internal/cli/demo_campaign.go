package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/segment"
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

// sendDemoCampaign creates (once) an e-bulletin to the Millbrook ward and sends it
// through the real outbox and go-mail to the sandbox SMTP server, then writes what
// arrived to DataDir/demo-mail so an officer can open the e-bulletins.
func (a *App) sendDemoCampaign(ctx context.Context, d *database) error {
	cs := campaign.NewStore(d.DB, a.logger())
	if c, err := cs.Get(ctx, demoCampaignName); err == nil {
		fmt.Fprintf(a.Stdout, "\nDemo e-bulletin: campaign %d %q is %s already.\n", c.ID, c.Name, c.State)
		return a.printStatus(ctx, cs, c.ID)
	} else if !errors.Is(err, campaign.ErrNotFound) {
		return err
	}
	ss := segment.NewStore(d.DB)
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
	c := &campaign.Campaign{Name: demoCampaignName, Purpose: "service", Strategy: "best",
		ChannelOrder: []string{"email"}, SegmentID: &seg.ID,
		EmailSubject: "{{first_name}}, your bin day is changing", EmailBody: demoBulletin,
		SenderName: "Millbrook Neighbourhood Services", SenderEmail: "bins@crier.example"}
	if err := cs.Create(ctx, c, "general", "demo"); err != nil {
		return err
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "demo", checkContent); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// Links in the e-bulletins point where `crier serve` will answer them, not at this
	// short-lived listener.
	e, err := a.newEngine(ctx, d, a.Config.HTTPAddr, true)
	if err != nil {
		ln.Close()
		return err
	}
	defer e.close()
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.run(rctx, ln) }()
	fmt.Fprintf(a.Stdout, "\nSending demo e-bulletin %q to Millbrook through the outbox…\n", c.Name)
	werr := a.campaignStatus(ctx, cs, c.ID, true)
	if werr == nil {
		_, werr = cs.FinishRuns(ctx) // settle the run now rather than at the scheduler's next tick
	}
	stop()
	if err := <-done; err != nil && werr == nil {
		werr = err
	}
	if werr != nil {
		return werr
	}
	if e.sandbox == nil {
		fmt.Fprintln(a.Stdout, "The e-bulletins went to the SMTP server in CRIER_SMTP_URL.")
		return nil
	}
	dir := filepath.Join(a.Config.DataDir, "demo-mail")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	msgs := e.sandbox.Messages()
	for i, m := range msgs {
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i+1)+".eml"), m.Data, 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.Stdout, "%d e-bulletins arrived at the sandbox SMTP server; open them from %s\n", len(msgs), dir)
	return nil
}
