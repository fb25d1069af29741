package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
)

// record writes an audit entry for what this command did, as "cli:<os user>". A
// command that has done its work but can't record it fails: an unrecorded export
// must not look like a clean one.
func (a *App) record(ctx context.Context, q sqlx.ExecerContext, e audit.Entry) error {
	e.Actor = audit.CLIActor(actor())
	return audit.Record(ctx, q, e)
}

// auditing returns ctx carrying e as this command's entry, for the store that takes
// the action to record in the action's own transaction (audit.Within).
func (a *App) auditing(ctx context.Context, e audit.Entry) context.Context {
	e.Actor = audit.CLIActor(actor())
	return audit.Within(ctx, e)
}

// runAudit shows or exports the audit log, newest first.
func (a *App) runAudit(ctx context.Context, args []string) error {
	fs := a.flags("audit", "[flags]", `Show the audit log, newest first: sign-ins, contact exports and imports, campaign
changes, leaflets printed and account changes. --csv writes every selected entry as
CSV (the export is itself recorded).`)
	a.Config.RegisterFlags(fs)
	since := fs.String("since", "", "only entries since this London date or time (\"2026-12-01\" or \"2026-12-01 09:00\"), or a duration back (\"24h\")")
	action := fs.String("action", "", "only this action (e.g. auth.sign_in, campaign.schedule)")
	who := fs.String("actor", "", "only actors whose email (or cli:user) contains this")
	asCSV := fs.Bool("csv", false, "write CSV to standard output")
	limit := fs.Int("limit", 50, "show at most this many (without --csv)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("audit takes no arguments (got %q)", fs.Args())
	}
	f := audit.Filter{Action: *action, Actor: *who}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			return usagef("--since: %v", err)
		}
		f.Since = t
	}
	if !*asCSV {
		f.Limit = *limit
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	entries, err := audit.List(ctx, d.DB, f)
	if err != nil {
		return err
	}
	if *asCSV {
		if err := audit.WriteCSV(a.Stdout, entries); err != nil {
			return fmt.Errorf("audit csv: %w", err)
		}
		return a.record(ctx, d.DB, audit.Entry{Action: audit.AuditExport, SubjectType: "audit_log",
			Detail: map[string]any{"rows": len(entries), "action": *action, "actor": *who, "since": *since}})
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT (London)\tACTOR\tACTION\tSUBJECT\tDETAIL\tCLIENT")
	for _, e := range entries {
		subject := e.SubjectType
		if e.SubjectID != "" {
			subject += " " + e.SubjectID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.In(campaign.London).Format("2006-01-02 15:04:05"),
			e.Actor, e.Action, subject, e.DetailText(), e.Client)
	}
	return tw.Flush()
}

// parseSince reads a London date, date and time, or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, campaign.London); err == nil {
		return t, nil
	}
	return campaign.ParseLocal(s)
}
