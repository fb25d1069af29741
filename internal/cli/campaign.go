package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/sms"
)

// campaignCommands are campaign's subcommands: their arguments and what they do, for
// each one's own --help.
var campaignCommands = []struct{ name, args, summary string }{
	{"create", "FILE.md", "create a draft campaign from a campaign file (Markdown with front matter)"},
	{"list", "", "list the campaigns"},
	{"show", "ID|NAME", "show a campaign: its content, audience, languages and counts"},
	{"schedule", "ID|NAME [--at \"2026-12-01 09:00\"]", "schedule a draft or paused campaign, at a London time (default now)"},
	{"send", "ID|NAME", "schedule a draft or paused campaign to send now"},
	{"pause", "ID|NAME", "pause a scheduled or sending campaign: nothing more is sent until it is resumed"},
	{"resume", "ID|NAME", "resume a paused campaign"},
	{"cancel", "ID|NAME", "cancel a campaign: nothing more is sent, ever"},
	{"status", "ID|NAME [--watch]", "a campaign's messages by channel and state; --watch follows the run to its end"},
	{"resend-failed", "ID|NAME", "queue again the messages that ran out of attempts on temporary failures"},
	{"resend-unknown", "ID|NAME", "queue again the messages whose outcome is unknown (some may arrive twice)"},
}

func (a *App) runCampaign(ctx context.Context, args []string) error {
	usage := "Usage: crier campaign <command> [arguments] (crier campaign <command> --help for more)\n\nCommands:"
	for _, c := range campaignCommands {
		usage += fmt.Sprintf("\n  %-15s %s", c.name, c.summary)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(a.Stderr, usage)
		if len(args) == 0 {
			return usagef("campaign needs a command")
		}
		return flag.ErrHelp
	}
	sub, rest := args[0], args[1:]
	i := slices.IndexFunc(campaignCommands, func(c struct{ name, args, summary string }) bool { return c.name == sub })
	if i < 0 {
		msg := fmt.Sprintf("unknown campaign command %q", sub)
		var names []string
		for _, c := range campaignCommands {
			names = append(names, c.name)
		}
		msg += didYouMean(sub, names)
		return usagef("%s\n%s", msg, usage)
	}
	cmd := campaignCommands[i]
	fs := a.flags("campaign "+sub, cmd.args, strings.ToUpper(cmd.summary[:1])+cmd.summary[1:]+".")
	a.Config.RegisterFlags(fs)
	// Each command has only its own flags: --at is schedule's, --watch status's.
	var at *string
	var watch *bool
	switch sub {
	case "schedule":
		at = fs.String("at", "", "when to send, London time (\"2026-12-01 09:00\"); default now")
	case "status":
		watch = fs.Bool("watch", false, "keep showing progress until the run ends")
	}
	if err := parse(fs, reorder(rest)); err != nil {
		return err
	}
	if sub != "list" && fs.NArg() != 1 {
		return usagef("campaign %s needs one argument: crier campaign %s %s", sub, sub, cmd.args)
	}
	if sub == "list" && fs.NArg() != 0 {
		return usagef("campaign list takes no arguments")
	}
	var when time.Time
	if at != nil && *at != "" {
		var err error
		if when, err = campaign.ParseLocal(*at); err != nil {
			return usagef("--at: %v", err)
		}
		if now := time.Now(); when.Before(now.Add(-time.Minute)) {
			return usagef("--at %s is in the past (it is now %s, London); to send at once: crier campaign send %s",
				*at, now.In(campaign.London).Format("15:04 Mon 2 Jan 2006"), fs.Arg(0))
		}
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	cs := campaign.NewStore(d.DB, a.logger())
	if sub == "create" {
		return a.createCampaign(ctx, d, cs, segment.NewStore(d.DB), fs.Arg(0))
	}
	if sub == "list" {
		list, err := cs.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPURPOSE\tCHANNELS\tSTATE\tNEXT RUN (London)")
		for _, c := range list {
			next := ""
			if c.NextRunAt != nil {
				next = c.NextRunAt.In(campaign.London).Format("Mon 2 Jan 2006 15:04")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.Purpose, strings.Join(c.Channels(), ","), c.State, next)
		}
		return tw.Flush()
	}
	c, err := cs.Get(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	switch sub {
	case "show":
		return a.showCampaign(ctx, d, cs, c)
	case "schedule", "send":
		if sub == "send" {
			when = time.Now() // now, whatever send_at the file gave
		} else if when.IsZero() && c.SendAt != nil && c.ScheduleKind != "recurring" && c.SendAt.Before(time.Now().Add(-time.Minute)) {
			return usagef("campaign %d %q: its send time, %s (London), is in the past; give a new one (crier campaign schedule %d --at \"YYYY-MM-DD HH:MM\") or send it now (crier campaign send %d)",
				c.ID, c.Name, c.SendAt.In(campaign.London).Format("15:04 Mon 2 Jan 2006"), c.ID, c.ID)
		}
		a.plainLanguage(c, "", 0)
		a.smsSummary(ctx, d, c)
		if err := a.attributeWarnings(ctx, d, c); err != nil {
			return err
		}
		actx := a.auditing(ctx, campaignEntry(audit.CampaignSched, c.ID, nil))
		if err := cs.Schedule(actx, c.ID, when, actor(), a.checkBeforeSchedule(ctx, d.DB, cs)); err != nil {
			if errors.Is(err, campaign.ErrEmptyAudience) {
				err = fmt.Errorf("campaign %d %q can't be scheduled: %w", c.ID, c.Name, err)
			}
			if errors.Is(err, campaign.ErrTransition) {
				err = fmt.Errorf("%w\n%s", err, scheduleHint(c))
			}
			return campaignError(err)
		}
		c, _ = cs.Get(ctx, strconv.FormatInt(c.ID, 10))
		fmt.Fprintf(a.Stdout, "campaign %d %q scheduled for %s (London); `crier serve` sends it\n",
			c.ID, c.Name, c.NextRunAt.In(campaign.London).Format("Mon 2 Jan 2006 15:04"))
		return nil
	case "pause", "resume", "cancel":
		move := map[string]func(context.Context, int64, string) error{"pause": cs.Pause, "resume": cs.Resume, "cancel": cs.Cancel}[sub]
		if err := move(a.auditing(ctx, campaignEntry("campaign."+sub, c.ID, nil)), c.ID, actor()); err != nil {
			return campaignError(err)
		}
		fmt.Fprintln(a.Stdout, movedMessage(c, sub))
		return nil
	case "status":
		if err := a.campaignStatus(ctx, cs, c.ID, *watch); err != nil {
			return err
		}
		return a.printHealth(ctx, outbox.NewStore(d.DB), cs, c)
	case "resend-failed", "resend-unknown":
		return a.resend(ctx, d, cs, c, sub)
	}
	return nil
}

// scheduleHint says what to do instead when c can't be scheduled in its state.
func scheduleHint(c *campaign.Campaign) string {
	id := c.ID
	switch c.State {
	case campaign.Scheduled:
		when := ""
		if c.NextRunAt != nil {
			when = " for " + c.NextRunAt.In(campaign.London).Format("15:04 Mon 2 Jan 2006") + " (London)"
		}
		return fmt.Sprintf("It is already scheduled%s. To change the time: crier campaign pause %d, then crier campaign schedule %d --at \"YYYY-MM-DD HH:MM\".", when, id, id)
	case campaign.Sending:
		return fmt.Sprintf("It is sending now: crier campaign status %d --watch follows it; crier campaign pause %d stops it.", id, id)
	case campaign.Completed:
		return "It has been sent. To send it again, create a new campaign from its file (crier campaign create FILE.md)."
	case campaign.Cancelled:
		return "A cancelled campaign sends nothing more. Create a new one from its file (crier campaign create FILE.md)."
	}
	return ""
}

// movedMessage says what a pause, resume or cancel did and what comes next.
func movedMessage(c *campaign.Campaign, sub string) string {
	switch sub {
	case "pause":
		return fmt.Sprintf("campaign %d %q paused: nothing more is sent until crier campaign resume %d", c.ID, c.Name, c.ID)
	case "resume":
		return fmt.Sprintf("campaign %d %q resumed: `crier serve` sends the rest; crier campaign status %d --watch follows it", c.ID, c.Name, c.ID)
	default:
		return fmt.Sprintf("campaign %d %q cancelled: nothing more is sent (what was sent stays on record)", c.ID, c.Name)
	}
}

// resend queues a campaign's failed (or unknown) messages again and says what that
// means for the residents, and what was not resent and why.
func (a *App) resend(ctx context.Context, d *database, cs *campaign.Store, c *campaign.Campaign, sub string) error {
	ob := outbox.NewStore(d.DB)
	var res campaign.Resent
	var err error
	actx := a.auditing(ctx, campaignEntry(audit.CampaignResend, c.ID, map[string]any{"which": strings.TrimPrefix(sub, "resend-")}))
	if sub == "resend-failed" {
		res, err = cs.ResendFailed(actx, c.ID, actor())
	} else {
		res, err = cs.ResendUnknown(actx, c.ID, actor())
	}
	if err != nil {
		return campaignError(err)
	}
	n := dispatch.Thousands(res.Requeued)
	switch {
	case sub == "resend-failed" && res.Requeued+res.Suppressed == 0:
		fmt.Fprintf(a.Stdout, "campaign %d %q has no failed messages to resend. Only messages that ran out of attempts on temporary failures (the relay unreachable, 4xx replies, timeouts) are resent; bounces, opt-outs and messages that can never be sent are not.\n", c.ID, c.Name)
	case sub == "resend-failed":
		if res.Requeued == 1 {
			fmt.Fprintf(a.Stdout, "1 failed message of campaign %d %q queued again: `crier serve` sends it to that resident again now, and the campaign completes when it is done.\n", c.ID, c.Name)
		} else {
			fmt.Fprintf(a.Stdout, "%s failed messages of campaign %d %q queued again: `crier serve` sends them to those residents again now, and the campaign completes when they are done.\n", n, c.ID, c.Name)
		}
	case res.Requeued+res.Suppressed == 0:
		fmt.Fprintf(a.Stdout, "campaign %d %q has no messages of unknown outcome.\n", c.ID, c.Name)
	default:
		fmt.Fprintf(a.Stdout, "%d messages of unknown outcome queued again (some of them may arrive twice)\n", res.Requeued)
	}
	if res.Suppressed > 0 {
		fmt.Fprintf(a.Stdout, "%s not resent: the resident has since withdrawn consent, or the address or number no longer works (now counted as suppressed, with the reason)\n", dispatch.Thousands(res.Suppressed))
	}
	if res.Requeued == 0 {
		return nil
	}
	hs, err := ob.Health(ctx)
	if err != nil {
		return err
	}
	for _, h := range hs {
		if h.State == outbox.Down && slices.Contains(c.Channels(), h.Channel) {
			fmt.Fprintf(a.Stdout, "note: %s is still unreachable (since %s): they wait until it is back.\n",
				dispatch.ChannelLabel(h.Channel), h.Since.In(campaign.London).Format("15:04 Mon 2 Jan"))
		}
	}
	return nil
}

// printHealth says, under a campaign's status, whether a channel it sends on is down
// (or came back lately), with how many of the campaign's messages wait for it.
func (a *App) printHealth(ctx context.Context, ob *outbox.Store, cs *campaign.Store, c *campaign.Campaign) error {
	hs, err := ob.Health(ctx)
	if err != nil {
		return err
	}
	counts, err := cs.Status(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, h := range hs {
		if !slices.Contains(c.Channels(), h.Channel) {
			continue
		}
		h.Waiting = 0
		for _, n := range counts {
			if n.Channel == h.Channel && (n.State == "pending" || n.State == "retry later" || n.State == "sending") {
				h.Waiting += n.N
			}
		}
		if s := dispatch.HealthNotice(h, campaign.London); s != "" {
			fmt.Fprintln(a.Stdout, s)
		}
	}
	return nil
}

// checkBeforeSchedule is checkContent and, for a campaign with leaflets, a check that
// its text prints and that every door of its post audience (the real snapshot, rolled
// back) can be printed truly: a name or address the font can't print is refused now,
// with every such door listed, rather than printed as "?" later.
func (a *App) checkBeforeSchedule(ctx context.Context, d *sqlx.DB, cs *campaign.Store) func(*campaign.Campaign) error {
	return func(c *campaign.Campaign) error {
		if err := checkContent(c); err != nil {
			return err
		}
		if !slices.Contains(c.Channels(), "post") {
			return nil
		}
		if err := printrun.CheckContent(c, a.leafletContent(c)); err != nil {
			return exitError{code: ExitData, err: err}
		}
		if err := printrun.NewStore(d).CheckDoors(ctx, cs, c); err != nil {
			return exitError{code: ExitData, err: fmt.Errorf("campaign %d %q can't be scheduled: %w", c.ID, c.Name, err)}
		}
		return nil
	}
}

// checkContent compiles the campaign's e-bulletin, text and leaflet text (in each
// language) so a bad merge field or template blocks scheduling instead of failing
// mid-send.
func checkContent(c *campaign.Campaign) error {
	if err := email.CheckCampaign(c); err != nil {
		return exitError{code: ExitData, err: err}
	}
	return nil
}

// smsSummary shows the officer what the SMS will cost before it is scheduled: its
// characters, encoding and segments for the sample resident (a long name), then every
// resident's own copy (sms.EstimateCampaign: how many texts in GSM-7 and UCS-2, segments
// and cost, the longest copy and why), and warnings (UCS-2, more than 3 segments). With
// nobody to text, or when the estimate fails, it says so and estimates from the sample
// resident's copy instead, labelled as the sample's.
func (a *App) smsSummary(ctx context.Context, d *database, c *campaign.Campaign) {
	if strings.TrimSpace(c.SMSBody) == "" {
		return
	}
	if !slices.Contains(c.Channels(), "sms") {
		// Runs send only on c.Channels(): a cost here would be for texts that never go.
		fmt.Fprintln(a.Stdout, "SMS: not sent, because sms is not among the campaign's channels")
		return
	}
	text, _ := c.CostliestSMSText()
	t, err := email.CompileText(c.Name, "sms", text)
	if err != nil {
		return // checkContent reports it
	}
	// Measured as sent to "Christopher Montgomery-Smith" of a long-named ward: most
	// residents' texts are no longer than this, but a name with â or ë can make theirs
	// UCS-2, which the estimate below counts.
	sample := t.Render(email.Recipient{FirstName: "Christopher", LastName: "Montgomery-Smith", Ward: "St Margaret's and North Twickenham"})
	m := sms.MeasureText(sample)
	fmt.Fprintf(a.Stdout, "SMS: %d characters, %s, %d segment(s) of %d (for the sample resident, with a long name)\n",
		m.Characters, m.Encoding, m.Segments, m.PerSegment)
	est, err := sms.EstimateCampaign(ctx, d.DB, c)
	switch {
	case err != nil:
		fmt.Fprintf(a.Stdout, "SMS: the texts could not be estimated from residents' own names (%v), so this is for the sample resident:\n", err)
		a.smsSampleCost(ctx, d, c, m)
	case est.Texts == 0:
		fmt.Fprintln(a.Stdout, "SMS: nobody in this audience can get a text yet, so this is for the sample resident:")
		a.smsSampleCost(ctx, d, c, m)
	default:
		fmt.Fprintf(a.Stdout, "SMS: %s\n", est.Summary(a.Config.SMSPrice))
		fmt.Fprintf(a.Stdout, "SMS: %s\n", est.WorstCase())
	}
	for _, w := range sms.Warnings(m) {
		fmt.Fprintf(a.Stdout, "  warning: %s\n", w)
	}
}

// smsSampleCost prints the reach by text and the cost were every copy the sample's m.
func (a *App) smsSampleCost(ctx context.Context, d *database, c *campaign.Campaign, m sms.Measure) {
	var rule segment.Rule
	if c.SegmentID != nil {
		if seg, err := segment.NewStore(d.DB).Get(ctx, strconv.FormatInt(*c.SegmentID, 10)); err == nil {
			rule = seg.Rules
		}
	}
	if n, err := segment.NewStore(d.DB).Count(ctx, rule, c.Topic, c.Purpose); err == nil {
		fmt.Fprintf(a.Stdout, "SMS: up to %d residents can be reached by text; estimated cost up to £%.2f at £%.4f a segment (sample resident)\n",
			n.SMS, sms.Cost(m, n.SMS, a.Config.SMSPrice), a.Config.SMSPrice)
	}
}

// campaignEntry is the audit entry of a change to campaign id.
func campaignEntry(action string, id int64, detail map[string]any) audit.Entry {
	return audit.Entry{Action: action, SubjectType: "campaign", SubjectID: audit.ID(id), Detail: detail}
}

func campaignError(err error) error {
	if errors.Is(err, campaign.ErrInvalid) || errors.Is(err, campaign.ErrTransition) {
		return exitError{code: ExitData, err: err}
	}
	return err
}

func (a *App) createCampaign(ctx context.Context, d *database, cs *campaign.Store, ss *segment.Store, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("campaign file: %w", err)
	}
	def, err := campaign.ParseFile(filepath.Base(path), data)
	if err != nil {
		return exitError{code: ExitData, err: err}
	}
	c := &def.Campaign
	if def.Segment != "" {
		seg, err := ss.Get(ctx, def.Segment)
		if err != nil {
			return exitError{code: ExitData, err: fmt.Errorf("%s: segment %q: %w", path, def.Segment, err)}
		}
		c.SegmentID = &seg.ID
	}
	if err := checkContent(c); err != nil {
		return fileContentError(filepath.Base(path), def, err)
	}
	// A leaflet in a script the leaflet font can't print yet (Urdu, Arabic, Bengali…) is
	// refused now, naming the language, rather than printed with "?" or refused later.
	if slices.Contains(c.Channels(), "post") {
		if err := printrun.CheckContent(c, a.leafletContent(c)); err != nil {
			return exitError{code: ExitData, err: fmt.Errorf("%s: %w", path, err)}
		}
	}
	if err := cs.Create(a.auditing(ctx, campaignEntry(audit.CampaignCreate, 0, map[string]any{"channels": c.Channels()})), c, def.Topic, actor()); err != nil {
		return campaignError(err)
	}
	fmt.Fprintf(a.Stdout, "campaign %d %q created as a draft (channels: %s)\n", c.ID, c.Name, strings.Join(c.Channels(), ", "))
	if err := a.languageLines(ctx, cs, c, filepath.Base(path), def); err != nil {
		return err
	}
	a.smsSummary(ctx, d, c)
	if err := a.attributeWarnings(ctx, d, c); err != nil {
		return err
	}
	if c.SendAt != nil && c.ScheduleKind != "recurring" {
		when := c.SendAt.In(campaign.London).Format("15:04 Mon 2 Jan 2006")
		if c.SendAt.Before(time.Now()) {
			fmt.Fprintf(a.Stderr, "warning: send_at, %s (London), is in the past: schedule it with a new time (--at) or send it now\n", when)
		} else {
			fmt.Fprintf(a.Stdout, "next: crier campaign schedule %d sends it at %s (London); crier campaign send %d sends it now\n", c.ID, when, c.ID)
			return nil
		}
	}
	fmt.Fprintf(a.Stdout, "next: crier campaign send %d (or schedule %d --at \"YYYY-MM-DD HH:MM\")\n", c.ID, c.ID)
	return nil
}

// languageLines prints, for a campaign in several languages, who gets which (the count
// of its audience by language, with those who fall back) and the plain-language check of
// its English text only — the check measures English and would mislead on any other;
// for a campaign in one language, the plain-language check when it is English.
func (a *App) languageLines(ctx context.Context, cs *campaign.Store, c *campaign.Campaign, file string, def *campaign.Definition) error {
	if !c.Multilingual() {
		if c.DefaultLanguage() == "en" {
			a.plainLanguage(c, file, def.Lines.Body)
		} else {
			fmt.Fprintf(a.Stdout, "plain language: not checked: the check is for English, and this campaign is in %s\n", campaign.LanguageName(c.DefaultLanguage()))
		}
		return nil
	}
	mode := "each resident gets it in their own language, or " + campaign.LanguageName(c.Languages[0]) + " when it is not written in theirs"
	if c.Bilingual {
		mode = "bilingual: each message carries both languages, the resident's own first"
	}
	fmt.Fprintf(a.Stdout, "languages: %s (%s)\n", strings.Join(c.Languages, ", "), mode)
	counts, err := cs.CountLanguages(ctx, c)
	if err != nil {
		return err
	}
	for _, line := range campaign.LanguageSummary(counts, c.Bilingual) {
		fmt.Fprintf(a.Stdout, "  %s\n", line)
	}
	for _, code := range c.Languages {
		if code == "en" {
			a.plainLanguage(c.In("en"), file, def.LinesFor("en").Body)
		} else {
			fmt.Fprintf(a.Stdout, "plain language: %s not checked: the check is for English only\n", campaign.LanguageName(code))
		}
	}
	return nil
}

// plainLanguage prints the readability check; it warns and never blocks. With file
// set, findings name its lines (the body starting on line first), not the body's.
func (a *App) plainLanguage(c *campaign.Campaign, file string, first int) {
	if c.EmailBody == "" {
		return
	}
	at := func(line int) string {
		if file == "" || first == 0 {
			return fmt.Sprintf("line %d", line)
		}
		return fmt.Sprintf("%s:%d", file, first+line-1)
	}
	r := email.CheckPlainLanguage(c.EmailBody)
	fmt.Fprintf(a.Stdout, "plain language: reading ease %.0f (aim for 60 or more), %d words\n", r.ReadingEase, r.Words)
	for _, f := range r.Jargon {
		fmt.Fprintf(a.Stdout, "  %s: %q — try %q\n", at(f.Line), f.Text, f.Suggestion)
	}
	for _, f := range r.LongSentences {
		fmt.Fprintf(a.Stdout, "  %s: long sentence — %s\n", at(f.Line), f.Suggestion)
	}
}

func (a *App) showCampaign(ctx context.Context, d *database, cs *campaign.Store, c *campaign.Campaign) error {
	fmt.Fprintf(a.Stdout, "campaign %d %q — %s, %s, strategy %s, channels %s, topic %s\n",
		c.ID, c.Name, c.State, c.Purpose, c.Strategy, strings.Join(c.Channels(), ", "), c.Topic)
	if c.EmailSubject != "" {
		fmt.Fprintf(a.Stdout, "e-bulletin subject: %s\n", c.EmailSubject)
	}
	if c.SMSBody != "" {
		fmt.Fprintf(a.Stdout, "SMS: %s\n", c.SMSTextIn(c.DefaultLanguage()))
		a.smsSummary(ctx, d, c)
	}
	if c.Urgent {
		fmt.Fprintln(a.Stdout, "urgent: texts go out during quiet hours too")
	}
	if c.Multilingual() {
		mode := "each resident in their own language, else " + campaign.LanguageName(c.Languages[0])
		if c.Bilingual {
			mode = "bilingual: both languages in each message, the resident's own first"
		}
		fmt.Fprintf(a.Stdout, "languages: %s (%s)\n", strings.Join(c.Languages, ", "), mode)
		count := cs.RunLanguages
		if c.State == campaign.Draft || c.State == campaign.Scheduled {
			count = cs.CountLanguages // who would get which, were it to start now
		}
		counts, err := count(ctx, c)
		if err != nil {
			return err
		}
		for _, line := range campaign.LanguageSummary(counts, c.Bilingual) {
			fmt.Fprintf(a.Stdout, "  %s\n", line)
		}
	}
	h, err := cs.History(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, e := range h {
		fmt.Fprintf(a.Stdout, "  %s  %s → %s by %s %s\n", e.At.In(campaign.London).Format("2 Jan 15:04:05"), e.From, e.To, e.Actor, e.Note)
	}
	if err := a.printStatus(ctx, cs, c.ID); err != nil {
		return err
	}
	return a.printHealth(ctx, outbox.NewStore(d.DB), cs, c)
}

func (a *App) printStatus(ctx context.Context, cs *campaign.Store, id int64) error {
	counts, err := cs.Status(ctx, id)
	if err != nil {
		return err
	}
	if len(counts) == 0 {
		fmt.Fprintln(a.Stdout, "no messages yet")
		return nil
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tCHANNEL\tSTATE\tMESSAGES\tWHY")
	heldSMS := 0
	for _, c := range counts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", c.RunID, c.Channel, c.State, c.N, c.Reason)
		if c.Channel == "sms" && c.State == "pending" {
			heldSMS += c.N
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if q, err := sms.ParseQuietHours(a.Config.QuietHours, campaign.London); err == nil && heldSMS > 0 && q.Contains(time.Now()) {
		if c, err := cs.Get(ctx, strconv.FormatInt(id, 10)); err == nil && !c.Urgent {
			fmt.Fprintf(a.Stdout, "%d texts wait for the end of quiet hours (%s London time) at %s\n", heldSMS, q,
				q.Ends(time.Now()).In(campaign.London).Format("15:04 Mon 2 Jan"))
		}
	}
	return nil
}

// campaignStatus prints the counts; with watch, a progress bar follows the latest run
// until nothing is pending or sending. It says what it waits for when nothing can move
// without something else: a schedule, crier serve, or leaflets to print. Without a
// terminal it prints a line only when the counts change.
func (a *App) campaignStatus(ctx context.Context, cs *campaign.Store, id int64, watch bool) error {
	if !watch {
		return a.printStatus(ctx, cs, id)
	}
	var bar *progress
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	said := map[string]bool{} // each hint once
	hint := func(s string) {
		if !said[s] {
			said[s] = true
			fmt.Fprintln(a.Stderr, s)
		}
	}
	var lastDone int64 = -1
	lastMove := time.Now()
	for {
		c, err := cs.Get(ctx, strconv.FormatInt(id, 10))
		if err != nil {
			return err
		}
		counts, err := cs.Status(ctx, id)
		if err != nil {
			return err
		}
		w := watchCounts(counts)
		switch {
		case c.State == campaign.Draft || c.State == campaign.Cancelled:
			hint(fmt.Sprintf("Campaign %d is %s: nothing will be sent (crier campaign send %d to send it).", id, c.State, id))
			return a.printStatus(ctx, cs, id)
		case c.State == campaign.Paused:
			hint(fmt.Sprintf("Campaign %d is paused: waiting for crier campaign resume %d.", id, id))
		case w.total == 0 && c.State == campaign.Scheduled && c.SendAt != nil && c.SendAt.After(time.Now()):
			hint(fmt.Sprintf("Waiting for the campaign's send time, %s (London).", c.SendAt.In(campaign.London).Format("15:04 Mon 2 Jan")))
		case w.total == 0:
			hint("Waiting for crier serve to start the campaign: it is due, and crier serve's scheduler starts it.")
		}
		if bar == nil && w.total > 0 {
			bar = a.newProgress(w.total, fmt.Sprintf("campaign %d run %d", id, w.run), "messages")
		}
		done := w.total - w.open
		if bar != nil && (a.IsTerminal || done != lastDone) {
			bar.set(done, w.total, done, "sending")
		}
		if done != lastDone {
			lastDone, lastMove = done, time.Now()
		}
		if w.total > 0 && w.open == w.leaflets {
			if bar != nil {
				bar.finish()
			}
			if w.leaflets > 0 {
				fmt.Fprintf(a.Stderr, "Everything else is done; %d leaflets wait to be printed: crier leaflets print %d (or the campaign's Leaflets page).\n", w.leaflets, id)
			}
			return a.printStatus(ctx, cs, id)
		}
		if w.open > w.leaflets && time.Since(lastMove) > 30*time.Second && c.State == campaign.Sending {
			hint("Nothing has been sent for 30 seconds: is crier serve running? It sends the messages.")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// watchedRun is what campaignStatus follows of a campaign's latest run.
type watchedRun struct {
	run, total, open int64
	leaflets         int64 // of open: leaflets waiting to be printed (only an officer prints them)
}

func watchCounts(counts []campaign.Count) watchedRun {
	var w watchedRun
	for _, c := range counts {
		w.run = max(w.run, c.RunID)
	}
	for _, c := range counts {
		if c.RunID != w.run || c.State == "suppressed" {
			continue
		}
		w.total += int64(c.N)
		// "retry later" is not waited for: a temporary failure can hold a message for an
		// hour; the status printed at the end shows it.
		if c.State == "pending" || c.State == "sending" {
			w.open += int64(c.N)
			if c.Channel == "post" && c.State == "pending" {
				w.leaflets += int64(c.N)
			}
		}
	}
	return w
}
