package cli

import (
	"context"
	"flag"
	"fmt"
	"os/exec"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/demoapp"
)

func (a *App) runDemo(ctx context.Context, args []string) error {
	fs := a.flags("demo", "[flags]", "Set up the demo borough: migrate, then import ~5,000 fictional residents in three wards\nthrough the real CSV importer, and print who can be reached how. Running it again changes nothing.\nEvery phone number is in Ofcom's drama ranges and every email at example.org/.com/.net.")
	a.Config.RegisterFlags(fs)
	rows := fs.Int("rows", demoapp.Rows, "how many residents")
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
	err = demoapp.Run(ctx, &demoapp.Env{DB: d.DB, Config: a.Config, Version: version, Rows: *rows, Serving: *serve,
		Out: a.Stdout, In: a.Stdin, Err: a.Stderr, Logger: a.logger(),
		Progress: a.progressStart,
		Check:    checkContent,
		Follow: func(ctx context.Context, cs *campaign.Store, id int64) error {
			return a.campaignStatus(ctx, cs, id, true)
		},
		PrintStatus:    a.printStatus,
		LeafletContent: a.leafletContent,
		WebBase:        a.webBase()})
	if err != nil {
		return err
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
	a.Config = demoapp.Sandboxed(a.Config)
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
