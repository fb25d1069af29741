package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/crierhq/crier/internal/db"
)

func (a *App) runMigrate(ctx context.Context, args []string) error {
	fs := a.flags("migrate", "[up|status]", "Apply the embedded schema migrations (up, the default) or list them (status).\nSafe when several crier processes start at once: an advisory lock serialises them.")
	a.Config.RegisterFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	action := "up"
	if fs.NArg() > 0 {
		action = fs.Arg(0)
	}
	if fs.NArg() > 1 || (action != "up" && action != "status") {
		return usagef("migrate takes up or status, not %q", fs.Args())
	}
	mode := schemaAny
	if action == "up" {
		mode = schemaMigrate
	}
	d, err := a.openDB(ctx, mode)
	if err != nil {
		return err
	}
	defer d.Close()
	if action == "up" {
		st, err := db.Status(ctx, d.DB)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.Stdout, "schema is up to date (version %d)\n", latest(st))
		return nil
	}
	st, err := db.Status(ctx, d.DB)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMIGRATION\tAPPLIED")
	for _, s := range st {
		applied := "pending"
		if s.Applied {
			applied = s.AppliedAt.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Version, s.Name, applied)
	}
	return tw.Flush()
}

func latest(st []db.MigrationStatus) int64 {
	var v int64
	for _, s := range st {
		if s.Applied && s.Version > v {
			v = s.Version
		}
	}
	return v
}
