package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/sms"
)

// runReplies is the officers' inbox on the command line.
func (a *App) runReplies(ctx context.Context, args []string) error {
	const usage = `Usage: crier replies list [--unread] [--flagged] [--campaign ID] [--assigned NAME | --unassigned]
       crier replies show CONVERSATION          (marks the resident's texts read)
       crier replies reply CONVERSATION "TEXT"  (texts the resident back)
       crier replies tag MESSAGE "needs follow-up" [...] [--remove]
       crier replies assign CONVERSATION NAME   ("" to unassign)`
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(a.Stderr, usage)
		if len(args) == 0 {
			return usagef("replies needs a command")
		}
		return flag.ErrHelp
	}
	sub, rest := args[0], args[1:]
	fs := a.flags("replies "+sub, "[ARGS] [flags]", usage)
	a.Config.RegisterFlags(fs)
	unread := fs.Bool("unread", false, "list: only conversations with unread texts")
	flagged := fs.Bool("flagged", false, "list: only likely opt-outs and unclear poll answers not yet read")
	campaignRef := fs.String("campaign", "", "list: only replies to this campaign (id or name)")
	assigned := fs.String("assigned", "", "list: only conversations assigned to this officer")
	unassigned := fs.Bool("unassigned", false, "list: only conversations nobody is looking after")
	remove := fs.Bool("remove", false, "tag: remove the tags instead of adding them")
	if err := parse(fs, reorder(rest)); err != nil {
		return err
	}
	need := map[string]int{"list": 0, "show": 1, "reply": 2, "tag": -2, "assign": 2}
	n, ok := need[sub]
	switch {
	case !ok:
		return usagef("unknown replies command %q\n%s", sub, usage)
	case n >= 0 && fs.NArg() != n, n < 0 && fs.NArg() < -n:
		return usagef("replies %s: wrong number of arguments\n%s", sub, usage)
	}
	var id int64
	if sub != "list" {
		var err error
		if id, err = strconv.ParseInt(fs.Arg(0), 10, 64); err != nil || id <= 0 {
			return usagef("replies %s: %q is not a conversation or message number", sub, fs.Arg(0))
		}
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	var sender *sms.TwilioSender
	if sub == "reply" {
		if a.Config.TwilioAccountSID == "" {
			return exitError{code: ExitFailure, err: errors.New("replies reply: no SMS provider in this command's environment: set CRIER_TWILIO_ACCOUNT_SID, CRIER_TWILIO_AUTH_TOKEN and CRIER_TWILIO_FROM.\n" +
				"(A `crier serve --sandbox` or `crier demo` texts through its own sandbox phone, which only it can reach: reply from its web inbox, /inbox.)")}
		}
		// Twilio reports on the text at the public URL; on loopback it never could.
		if err := a.refuseUntilPublic("replies reply", "send real messages"); err != nil {
			return err
		}
		if sender, err = sms.NewTwilioSender(sms.TwilioConfig{AccountSID: a.Config.TwilioAccountSID, AuthToken: a.Config.TwilioAuthToken,
			From: a.Config.TwilioFrom, MessagingServiceSID: a.Config.TwilioMessagingService, APIURL: a.Config.TwilioAPIURL,
			StatusCallback: a.statusCallbackURL()}, a.logger()); err != nil {
			return err
		}
	}
	store := inbox.NewStore(d.DB, inbox.Config{OrgName: a.Config.OrgName, HelpText: a.Config.SMSHelp, HelpTextWelsh: a.Config.SMSHelpWelsh}, nil)
	if sender != nil {
		store = inbox.NewStore(d.DB, inbox.Config{OrgName: a.Config.OrgName, HelpText: a.Config.SMSHelp, HelpTextWelsh: a.Config.SMSHelpWelsh}, sender)
	}
	switch sub {
	case "list":
		f := inbox.Filter{Unread: *unread, Flagged: *flagged, AssignedTo: *assigned}
		if *unassigned {
			f.AssignedTo = "-"
		}
		if *campaignRef != "" {
			c, err := campaign.NewStore(d.DB, a.logger()).Get(ctx, *campaignRef)
			if err != nil {
				return exitError{code: ExitData, err: err}
			}
			f.CampaignID = c.ID
		}
		list, err := store.List(ctx, f)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(a.Stdout, "no conversations")
			return nil
		}
		tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tFROM\tUNREAD\tLAST (London)\tCAMPAIGN\tASSIGNED\tFLAGS\tLATEST TEXT")
		for _, c := range list {
			who := c.Name
			if who == "" {
				who = c.Phone + " (unknown number)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", c.ID, who, c.Unread,
				c.LastMessageAt.In(campaign.London).Format("2 Jan 15:04"), c.CampaignName, c.AssignedTo, c.Flags, clip(c.LastBody, 50))
		}
		return tw.Flush()
	case "show":
		c, msgs, err := store.Get(ctx, id, true)
		if err != nil {
			return inboxError(err)
		}
		who := c.Name
		if who == "" {
			who = "unknown number"
		}
		fmt.Fprintf(a.Stdout, "conversation %d with %s (%s)", c.ID, who, c.Phone)
		if c.AssignedTo != "" {
			fmt.Fprintf(a.Stdout, ", assigned to %s", c.AssignedTo)
		}
		fmt.Fprintln(a.Stdout)
		for _, m := range msgs {
			var notes []string
			if m.CampaignName != "" {
				notes = append(notes, "re: "+m.CampaignName)
			}
			if m.Keyword != "" {
				notes = append(notes, strings.ToUpper(m.Keyword))
			}
			if m.LikelyOptOut {
				notes = append(notes, "LIKELY OPT-OUT: check and record it if so")
			}
			if m.PollAnswer != "" {
				notes = append(notes, "poll answer "+m.PollAnswer)
			}
			if m.PollUnclear {
				notes = append(notes, "unclear poll answer")
			}
			if len(m.Tags) > 0 {
				notes = append(notes, "tags: "+strings.Join(m.Tags, ", "))
			}
			arrow := "←"
			if m.Direction == "out" {
				arrow = "→"
				notes = append(notes, "by "+m.SentBy, m.Status)
				if m.StatusReason != "" {
					notes = append(notes, m.StatusReason)
				}
			}
			fmt.Fprintf(a.Stdout, "  #%d %s %s  %s\n", m.ID, m.At.In(campaign.London).Format("2 Jan 15:04"), arrow, m.Body)
			if len(notes) > 0 {
				fmt.Fprintf(a.Stdout, "        [%s]\n", strings.Join(notes, "; "))
			}
		}
		return nil
	case "reply":
		m, err := store.Reply(ctx, id, actor(), fs.Arg(1))
		if err != nil {
			return inboxError(err)
		}
		meas := sms.MeasureText(m.Body)
		fmt.Fprintf(a.Stdout, "reply #%d %s (%d characters, %s, %d segment(s))\n", m.ID, m.Status, meas.Characters, meas.Encoding, meas.Segments)
		return nil
	case "tag":
		tags, err := store.Tag(ctx, id, fs.Args()[1:], *remove)
		if err != nil {
			return inboxError(err)
		}
		fmt.Fprintf(a.Stdout, "text #%d tags: %s\n", id, strings.Join(tags, ", "))
		return nil
	case "assign":
		if err := store.Assign(ctx, id, fs.Arg(1)); err != nil {
			return inboxError(err)
		}
		if fs.Arg(1) == "" {
			fmt.Fprintf(a.Stdout, "conversation %d unassigned\n", id)
		} else {
			fmt.Fprintf(a.Stdout, "conversation %d assigned to %s\n", id, fs.Arg(1))
		}
		return nil
	}
	return nil
}

func inboxError(err error) error {
	if errors.Is(err, inbox.ErrNotFound) || errors.Is(err, inbox.ErrOptedOut) {
		return exitError{code: ExitData, err: err}
	}
	return err
}

// statusCallbackURL is where Twilio reports on texts sent from this process.
func (a *App) statusCallbackURL() string {
	base := strings.TrimRight(a.Config.PublicURL, "/")
	if base == "" {
		host, port, err := net.SplitHostPort(a.Config.HTTPAddr)
		if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1" // listening on every interface: this machine answers on loopback
		}
		base = "http://" + net.JoinHostPort(host, port)
	}
	return base + "/twilio/status"
}

// clip shortens s to n characters for a table cell.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// runPoll prints a campaign's poll tally.
func (a *App) runPoll(ctx context.Context, args []string) error {
	const usage = "Usage: crier poll results CAMPAIGN"
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(a.Stderr, usage)
		if len(args) == 0 {
			return usagef("poll needs a command")
		}
		return flag.ErrHelp
	}
	fs := a.flags("poll "+args[0], "CAMPAIGN", usage)
	a.Config.RegisterFlags(fs)
	if err := parse(fs, reorder(args[1:])); err != nil {
		return err
	}
	if args[0] != "results" || fs.NArg() != 1 {
		return usagef("%s", usage)
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	c, err := campaign.NewStore(d.DB, a.logger()).Get(ctx, fs.Arg(0))
	if err != nil {
		return exitError{code: ExitData, err: err}
	}
	res, err := inbox.NewStore(d.DB, inbox.Config{}, nil).Poll(ctx, c.ID)
	if err != nil {
		return exitError{code: ExitData, err: err}
	}
	fmt.Fprintf(a.Stdout, "campaign %d %q — %s\n", c.ID, c.Name, res.Question)
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "REPLY\tANSWER\tRESIDENTS\tSHARE\t")
	for _, o := range res.Counts {
		share := 0.0
		if res.Total > 0 {
			share = 100 * float64(o.Count) / float64(res.Total)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f%%\t\n", o.Key, o.Label, o.Count, share)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// --flagged lists only unread texts, so the pointer is to every reply to the campaign:
	// an unclear answer an officer has opened already is still one to read.
	residents := "residents"
	if res.Total == 1 {
		residents = "resident"
	}
	fmt.Fprintf(a.Stdout, "%d %s answered clearly; %d more replied unclearly (see: crier replies list --campaign %d)\n",
		res.Total, residents, res.Unclear, c.ID)
	return nil
}
