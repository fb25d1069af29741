package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"text/tabwriter"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/demo"
)

// demoRows is the size of the demo borough.
const demoRows = 5000

func (a *App) runDemo(ctx context.Context, args []string) error {
	fs := a.flags("demo", "[flags]", "Set up the demo borough: migrate, then import ~5,000 fictional residents in three wards\nthrough the real CSV importer, and print who can be reached how. Running it again changes nothing.\nEvery phone number is in Ofcom's drama ranges and every email at example.org/.com/.net.")
	a.Config.RegisterFlags(fs)
	rows := fs.Int("rows", demoRows, "how many residents")
	serve := fs.Bool("serve", a.IsTerminal, "then serve the web app with the sandbox SMTP server and sandbox phone until Ctrl-C\n(the default at a terminal)")
	a.Config.RegisterServeFlags(fs) // --http ADDR: where to serve it (implies --serve)
	if err := parse(fs, args); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "http" {
			*serve = true
		}
	})
	d, err := a.openDB(ctx, schemaMigrate)
	if err != nil {
		return err
	}
	defer d.Close()

	dir, err := os.MkdirTemp("", "crier-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "demo-borough.csv")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := demo.WriteCSV(f, demo.Options{Rows: *rows, Seed: 1}); err != nil {
		f.Close()
		return fmt.Errorf("generate demo borough: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}

	store := contact.NewStore(d.DB, a.logger())
	bar := a.newByteProgress(0, "seeding the demo borough", "rows")
	res, err := store.Import(ctx, contact.ImportOptions{Path: path, Actor: "demo",
		Progress: func(p contact.Progress) { bar.set(p.Bytes, p.TotalBytes, p.Rows, p.Phase) }})
	bar.finish()
	if err != nil {
		return fmt.Errorf("seed demo borough: %w", err)
	}
	fmt.Fprintf(a.Stdout, "Demo borough ready: %d residents (%d new, %d already there).\n\n",
		res.Rows, res.ContactsCreated, res.Imported-res.ContactsCreated)
	reach, err := store.Reach(ctx, "general")
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "Ward\tResidents\tEmail\tText\tPost only\tUnreachable\tLarge print\t")
	var total contact.WardReach
	for _, r := range reach {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.Ward, r.Contacts, r.Email, r.SMS, r.PostOnly, r.Unreachable, r.LargePrint)
		total.Add(r)
	}
	fmt.Fprintf(tw, "All wards\t%d\t%d\t%d\t%d\t%d\t%d\t\n", total.Contacts, total.Email, total.SMS, total.PostOnly, total.Unreachable, total.LargePrint)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(a.Stdout, "\nEmail and Text count residents with consent on record; Post only are reached on paper alone.")
	if err := a.sendDemoCampaign(ctx, d); err != nil {
		return fmt.Errorf("demo e-bulletin: %w", err)
	}
	if err := a.demoPeople(ctx, d, *serve); err != nil {
		return fmt.Errorf("demo accounts: %w", err)
	}
	if err := a.demoLeaflets(ctx, d); err != nil {
		return fmt.Errorf("demo leaflets: %w", err)
	}
	if hint := crierHint(); hint != "" {
		fmt.Fprintln(a.Stdout, hint)
	}
	if !*serve {
		fmt.Fprintln(a.Stdout, "Next: crier serve --sandbox, crier campaign list, or crier contacts export --out borough.csv.")
		return nil
	}
	fmt.Fprintf(a.Stdout, "\nThe demo is running at %s/login — residents sign up at %s/signup. Press Ctrl-C to stop.\n",
		a.webBase(), a.webBase())
	return a.serve(ctx, d, true)
}

// crierHint says how to get the crier command when there is none on PATH: after `go run
// ./cmd/crier demo`, the commands the demo suggests would answer "command not found".
func crierHint() string {
	if _, err := exec.LookPath("crier"); err == nil {
		return ""
	}
	return "\nThe crier commands above need a crier binary: `make build` makes ./crier here (run ./crier replies list), " +
		"`go install ./cmd/crier` puts crier in $(go env GOPATH)/bin for your PATH."
}
