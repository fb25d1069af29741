package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/printrun"
)

// runLeaflets prints a campaign's leaflets and round sheets.
func (a *App) runLeaflets(ctx context.Context, args []string) error {
	const usage = `Usage: crier leaflets print CAMPAIGN [--format a5|a4|large] [--out DIR] [--round-size N]
                            [--sectors "SW2 1,SW2 5"] [--streets "Acre Lane,Brixton Hill"] [--preview]

Without --sectors or --streets, prints the campaign's post audience (residents whose best or
only channel is post), addressed to them, in walking order. With them, an unaddressed drop
to every household there. Residents who need large print get large-print leaflets.`
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(a.Stderr, usage)
		if len(args) == 0 {
			return usagef("leaflets needs a command")
		}
		return flag.ErrHelp
	}
	if args[0] != "print" {
		return usagef("unknown leaflets command %q\n%s", args[0], usage)
	}
	fs := a.flags("leaflets print", "CAMPAIGN [flags]", usage)
	a.Config.RegisterFlags(fs)
	format := fs.String("format", "a5", "a5 (two per A4 sheet, with cut marks), a4, or large (large print)")
	out := fs.String("out", "leaflets", "directory the print run's folder is made in")
	size := fs.Int("round-size", 150, "doors per delivery round")
	sectors := fs.String("sectors", "", "unaddressed drop: postcode sectors, comma-separated (\"SW2 1,SW2 5\")")
	streets := fs.String("streets", "", "unaddressed drop: streets, comma-separated")
	preview := fs.Bool("preview", false, "also write page 1 of the first round's leaflets as preview.png (needs pdftoppm)")
	if err := parse(fs, reorder(args[1:])); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("leaflets print needs one campaign (id or name)\n%s", usage)
	}
	// Every leaflet carries the organisation's address and a QR code to the public URL.
	if err := a.refuseUntilPublic("leaflets print", "print leaflets"); err != nil {
		return err
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	cs := campaign.NewStore(d.DB, a.logger())
	c, err := cs.Get(ctx, fs.Arg(0))
	if err != nil {
		return exitError{code: ExitData, err: err}
	}
	// A campaign sent a moment ago has its run started by the scheduler in `crier serve`;
	// start any that are due now, so printing doesn't wait for it.
	if _, err := cs.StartDue(ctx, time.Now()); err != nil {
		return err
	}
	content := a.leafletContent(c)
	if a.Config.LogoFile != "" {
		if content.LogoPNG, err = os.ReadFile(a.Config.LogoFile); err != nil {
			return fmt.Errorf("CRIER_LOGO_FILE: %w", err)
		}
	}
	var bar *progress
	req := printrun.Request{CampaignID: c.ID, Format: leaflet.Format(strings.ToLower(*format)), RoundSize: *size,
		OutDir: *out, Sectors: splitList(*sectors), Streets: splitList(*streets), Actor: actor(),
		Content: content,
		Progress: func(done, total int) {
			if bar == nil {
				bar = a.newProgress(int64(total), "printing "+c.Name, "leaflets")
			}
			bar.set(int64(done), int64(total), int64(done), "")
		}}
	actx := a.auditing(ctx, audit.Entry{Action: audit.LeafletsPrint, SubjectType: "print_run",
		Detail: map[string]any{"campaign_id": c.ID, "format": string(req.Format)}})
	res, err := printrun.NewStore(d.DB).Print(actx, req)
	if bar != nil {
		bar.finish()
	}
	if errors.Is(err, printrun.ErrInvalid) || errors.Is(err, printrun.ErrNothingToPrint) || errors.Is(err, printrun.ErrNotFound) {
		return exitError{code: ExitData, err: err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "print run %d: %s in %s", res.ID, count(res.Leaflets, "leaflet"), count(res.Rounds, "round"))
	if res.Skipped > 0 {
		fmt.Fprintf(a.Stdout, "; %s not to deliver to (marked on the round sheets)", count(res.Skipped, "door"))
	}
	fmt.Fprintf(a.Stdout, "\nfiles in %s:\n", res.Dir)
	for _, f := range res.Files {
		fmt.Fprintf(a.Stdout, "  %s\n", filepath.Base(f))
	}
	if *preview && len(res.Files) > 0 {
		pdf, err := os.ReadFile(res.Files[0])
		if err != nil {
			return err
		}
		png, err := leaflet.Preview(ctx, pdf)
		if err != nil {
			return err
		}
		p := filepath.Join(res.Dir, "preview.png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(a.Stdout, "preview of page 1: %s\n", p)
	}
	fmt.Fprintf(a.Stdout, "next: crier rounds list --campaign %d, then crier rounds assign ROUND \"Volunteer name or email\"\n", c.ID)
	return nil
}

// leafletContent is what every leaflet of c carries besides its text: who it is from,
// how to get in touch, what to do, and a QR code to the campaign's page.
func (a *App) leafletContent(c *campaign.Campaign) leaflet.Content {
	base := strings.TrimRight(a.Config.PublicURL, "/")
	if base == "" {
		base = "http://" + a.Config.HTTPAddr
	}
	page := fmt.Sprintf("%s/c/%d", base, c.ID)
	cta := "Read it online and tell us what you think: " + page
	if c.Poll != nil && a.Config.TwilioFrom != "" {
		cta = fmt.Sprintf("%s Text your answer to %s.", c.Poll.Prompt(), a.Config.TwilioFrom)
	}
	return leaflet.Content{OrgName: a.Config.OrgName, Contact: a.Config.OrgName + "\n" + strings.ReplaceAll(a.Config.OrgAddress, ", ", "\n"),
		CallToAction: cta, QRURL: page, Lang: "en"}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// runRounds is the volunteers' side: list, show, assign and report deliveries.
func (a *App) runRounds(ctx context.Context, args []string) error {
	const usage = `Usage: crier rounds list [--campaign ID]
       crier rounds show ROUND
       crier rounds assign ROUND "Volunteer name or email"   (a volunteer's account)
       crier rounds sheet ROUND [--out FILE]   (the round sheet again, with the volunteer's name)
       crier rounds delivered ROUND [--doors 3,7] [--failed --reason "no letterbox"]`
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(a.Stderr, usage)
		if len(args) == 0 {
			return usagef("rounds needs a command")
		}
		return flag.ErrHelp
	}
	sub := args[0]
	fs := a.flags("rounds "+sub, "[ARGS] [flags]", usage)
	a.Config.RegisterFlags(fs)
	campaignRef := fs.String("campaign", "", "list: only this campaign's rounds (id or name)")
	doors := fs.String("doors", "", "delivered: only these doors (numbers on the round sheet), comma-separated")
	failed := fs.Bool("failed", false, "delivered: the leaflets could NOT be delivered")
	reason := fs.String("reason", "", "delivered --failed: why not")
	sheetOut := fs.String("out", "", "sheet: where to write the PDF (default round-N-sheet.pdf)")
	if err := parse(fs, reorder(args[1:])); err != nil {
		return err
	}
	need := map[string]int{"list": 0, "show": 1, "assign": 2, "delivered": 1, "sheet": 1}
	n, ok := need[sub]
	if !ok {
		return usagef("unknown rounds command %q\n%s", sub, usage)
	}
	if fs.NArg() != n {
		return usagef("rounds %s: wrong number of arguments\n%s", sub, usage)
	}
	var roundID int64
	if n > 0 {
		var err error
		if roundID, err = strconv.ParseInt(fs.Arg(0), 10, 64); err != nil || roundID <= 0 {
			return usagef("rounds %s: %q is not a round number", sub, fs.Arg(0))
		}
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	st := printrun.NewStore(d.DB)
	switch sub {
	case "list":
		var cid int64
		if *campaignRef != "" {
			c, err := campaign.NewStore(d.DB, a.logger()).Get(ctx, *campaignRef)
			if err != nil {
				return exitError{code: ExitData, err: err}
			}
			cid = c.ID
		}
		list, err := st.Rounds(ctx, cid)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(a.Stdout, "no rounds yet: crier leaflets print CAMPAIGN makes them")
			return nil
		}
		tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ROUND\tNAME\tCAMPAIGN\tDOORS\tDELIVERED\tNOT DELIVERED\tTO DO\tVOLUNTEER\tSTATE")
		for _, r := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", r.ID, r.Name, r.CampaignName, r.Doors-r.Skipped,
				r.Delivered, r.NotDelivered, r.Pending, r.Volunteer, r.State)
		}
		return tw.Flush()
	case "show":
		stops, err := st.Stops(ctx, roundID)
		if err != nil {
			return roundsError(err)
		}
		tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DOOR\tADDRESS\tSTATE\tNOTES")
		for _, s := range stops {
			notes := s.Notes
			if s.Reason != "" {
				notes = strings.TrimSpace(s.Reason + ". " + notes)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Seq, s.Address, strings.ReplaceAll(s.State, "_", " "), notes)
		}
		return tw.Flush()
	case "sheet":
		sheet, err := st.Sheet(ctx, roundID)
		if err != nil {
			return roundsError(err)
		}
		path := *sheetOut
		if path == "" {
			path = fmt.Sprintf("round-%d-sheet.pdf", roundID)
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := leaflet.RenderRoundSheet(f, sheet); err != nil {
			f.Close()
			os.Remove(path)
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(a.Stdout, "round sheet for %q written to %s\n", sheet.Round, path)
		return nil
	case "assign":
		if err := st.Assign(ctx, roundID, fs.Arg(1)); err != nil {
			return roundsError(err)
		}
		fmt.Fprintf(a.Stdout, "round %d assigned to %s\n", roundID, fs.Arg(1))
		return nil
	case "delivered":
		del := printrun.Delivery{RoundID: roundID, Failed: *failed, Reason: *reason, Actor: actor()}
		for _, p := range splitList(*doors) {
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 {
				return usagef("--doors: %q is not a door number", p)
			}
			del.Seqs = append(del.Seqs, n)
		}
		n, err := st.Deliver(ctx, del)
		if err != nil {
			return roundsError(err)
		}
		what := "delivered"
		if *failed {
			what = "not delivered (" + *reason + ")"
		}
		fmt.Fprintf(a.Stdout, "round %d: %s recorded as %s\n", roundID, count(n, "door"), what)
		return nil
	}
	return nil
}

func roundsError(err error) error {
	if errors.Is(err, printrun.ErrNotFound) || errors.Is(err, printrun.ErrInvalid) {
		return exitError{code: ExitData, err: err}
	}
	return err
}

// count writes n with its noun, plural when n isn't 1.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
