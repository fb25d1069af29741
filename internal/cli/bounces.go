package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/crierhq/crier/internal/bounce"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/server"
)

// bounceStore returns the bounce store with the soft-bounce policy of CRIER_BOUNCE_*.
func (a *App) bounceStore(d *database) (*bounce.Store, error) {
	return server.BounceStore(a.Config, d.DB, a.logger())
}

// runBounces: crier bounces fetch | list
func (a *App) runBounces(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(a.Stderr, `Usage: crier bounces fetch | list [--kind hard|soft|complaint] [--limit N] [--json]

fetch  read the bounce mailbox (CRIER_BOUNCE_POP3_URL, POP3 or IMAP) once: record each bounce and
       complaint report and delete it; keep anything else there for a person
list   the latest bounces and complaints recorded, newest first

Providers' webhooks (SES, Postmark, Mailgun, SendGrid) arrive at crier serve:
/webhooks/bounces/{provider}. See docs/bounces.md.`)
		if len(args) == 0 {
			return usagef("bounces needs fetch or list")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "fetch":
		return a.runBouncesFetch(ctx, args[1:])
	case "list":
		return a.runBouncesList(ctx, args[1:])
	}
	return usagef("unknown bounces command %q: use fetch or list", args[0])
}

func (a *App) runBouncesFetch(ctx context.Context, args []string) error {
	fs := a.flags("bounces fetch", "", `Read the bounce mailbox (CRIER_BOUNCE_POP3_URL) once. Delivery status notifications
(RFC 3464) and abuse reports (RFC 5965) are recorded and deleted: a hard bounce marks
the address bounced, a complaint withdraws its consent, soft bounces count towards
CRIER_BOUNCE_SOFT_THRESHOLD. Other mail is kept and counted. crier serve does this
every CRIER_BOUNCE_POLL_INTERVAL.`)
	a.Config.RegisterFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("bounces fetch takes no arguments (got %q)", fs.Args())
	}
	if a.Config.Bounce.POP3URL == "" {
		return usagef("bounces fetch: set CRIER_BOUNCE_POP3_URL (pop3s://user:password@host:995) to the bounce mailbox")
	}
	mb, err := bounce.ParseMailboxURL(a.Config.Bounce.POP3URL)
	if err != nil {
		return usagef("%v", err)
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	s, err := a.bounceStore(d)
	if err != nil {
		return err
	}
	res, err := s.Fetch(ctx, mb)
	if err != nil {
		return fmt.Errorf("bounces fetch: %w", err)
	}
	fmt.Fprintf(a.Stdout, "Bounce mailbox: %d messages, %d reports read and deleted.\n", res.Messages, res.Reports)
	fmt.Fprintf(a.Stdout, "  %d events recorded (%d already recorded, %d for addresses crier does not hold)\n",
		res.Recorded, res.Duplicates, res.Unmatched)
	fmt.Fprintf(a.Stdout, "  %d addresses marked bounced, %d withdrawn after a complaint\n", res.Suppressed, res.Withdrawn)
	if len(res.Kept) > 0 {
		fmt.Fprintf(a.Stdout, "  %d messages are not bounce reports and were kept in the mailbox for a person to read (%s)\n",
			len(res.Kept), strings.Join(res.Kept, ", "))
	}
	return nil
}

func (a *App) runBouncesList(ctx context.Context, args []string) error {
	fs := a.flags("bounces list", "[flags]", `The latest bounces and complaints recorded, newest first, by contact and message id.`)
	a.Config.RegisterFlags(fs)
	kind := fs.String("kind", "", "only hard, soft or complaint")
	limit := fs.Int("limit", 50, "show at most this many")
	asJSON := fs.Bool("json", false, "write JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("bounces list takes no arguments (got %q)", fs.Args())
	}
	switch *kind {
	case "", bounce.Hard, bounce.Soft, bounce.Complaint:
	default:
		return usagef("--kind must be hard, soft or complaint (got %q)", *kind)
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	s, err := a.bounceStore(d)
	if err != nil {
		return err
	}
	list, err := s.List(ctx, *kind, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		if list == nil {
			list = []bounce.Listed{}
		}
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(a.Stdout, "No bounces or complaints recorded.")
		return nil
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tKIND\tSOURCE\tCONTACT\tMESSAGE\tSTATUS\tDIAGNOSTIC")
	id := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	for _, b := range list {
		diag := b.Diagnostic
		if r := []rune(diag); len(r) > 60 {
			diag = string(r[:57]) + "…"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.ReceivedAt.In(campaign.London).Format("2006-01-02 15:04"),
			b.Kind, b.Source, id(b.ContactID), id(b.OutboxID), b.Status, diag)
	}
	return tw.Flush()
}
