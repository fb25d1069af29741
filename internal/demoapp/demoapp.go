// Package demoapp sets up the demo borough end to end, through the real parts: fictional
// residents through the CSV importer, an e-bulletin (in English and Welsh) and an SMS poll
// sent through the outbox to the sandbox SMTP server and sandbox phone, residents'
// replies through the signed webhook, an officer's and a volunteer's accounts, and
// leaflets printed in delivery rounds. `crier demo` supplies an Env and narrates.
package demoapp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/config"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/demo"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/progress"
	"github.com/crierhq/crier/internal/server"
)

// Rows is the size of the demo borough.
const Rows = 5000

// Env is what the demo needs from the command that runs it.
type Env struct {
	DB      *sqlx.DB
	Config  config.Config
	Version string
	Rows    int  // residents (0: Rows)
	Serving bool // the command serves the web app afterwards (the sign-in hint says so)

	Out    io.Writer // the narration
	In     io.Reader // at a terminal, the newcomer texts as a resident from here
	Err    io.Writer // the engine's wiring notices
	Logger *slog.Logger
	// Progress shows how far the set-up has gone (nil: nowhere).
	Progress progress.Start
	// Check is the content check a campaign passes before it is scheduled.
	Check func(*campaign.Campaign) error
	// Follow shows a campaign's progress until it is done; PrintStatus shows it once.
	Follow      func(ctx context.Context, cs *campaign.Store, id int64) error
	PrintStatus func(ctx context.Context, cs *campaign.Store, id int64) error
	// LeafletContent is what a campaign's leaflets say, with the council's details.
	LeafletContent func(*campaign.Campaign) leaflet.Content
	// WebBase is where the web app answers (CRIER_PUBLIC_URL or the listen address).
	WebBase string
}

type run struct {
	*Env
	cfg config.Config
}

func (r *run) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// engine wires crier serve's parts with the sandboxes, its webhooks called at hookAddr.
func (r *run) engine(ctx context.Context, hookAddr string) (*server.Engine, error) {
	return server.New(ctx, server.Options{Config: r.cfg, DB: r.DB, Logger: r.logger(), Notices: r.Err,
		Version: r.Version, ListenAddr: r.cfg.HTTPAddr, HookAddr: hookAddr, Sandbox: true})
}

// Sandboxed is cfg for sending to the sandbox phone: it wakes no one, so quiet hours
// don't hold the demo's texts, and it takes texts as fast as Twilio's short codes.
func Sandboxed(cfg config.Config) config.Config {
	cfg.QuietHours = "off"
	if cfg.TwilioAccountSID == "" {
		cfg.SMSRate = max(cfg.SMSRate, 50)
	}
	return cfg
}

// Run sets up the demo borough. Running it again changes nothing: what exists is shown.
func Run(ctx context.Context, e *Env) error {
	r := &run{Env: e, cfg: e.Config}
	if r.Err == nil {
		r.Err = io.Discard
	}
	rows := e.Rows
	if rows == 0 {
		rows = Rows
	}
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
	if err := demo.WriteCSV(f, demo.Options{Rows: rows, Seed: 1}); err != nil {
		f.Close()
		return fmt.Errorf("generate demo borough: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}

	store := contact.NewStore(r.DB, r.logger())
	bar := r.Progress.Bytes(0, "seeding the demo borough", "rows")
	res, err := store.Import(ctx, contact.ImportOptions{Path: path, Actor: "demo",
		Progress: func(p contact.Progress) { bar.Set(p.Bytes, p.TotalBytes, p.Rows, p.Phase) }})
	bar.Finish()
	if err != nil {
		return fmt.Errorf("seed demo borough: %w", err)
	}
	fmt.Fprintf(r.Out, "Demo borough ready: %d residents (%d new, %d already there).\n\n",
		res.Rows, res.ContactsCreated, res.Imported-res.ContactsCreated)
	reach, err := store.Reach(ctx, "general")
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(r.Out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "Ward\tResidents\tEmail\tText\tPost only\tUnreachable\tLarge print\t")
	var total contact.WardReach
	for _, w := range reach {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", w.Ward, w.Contacts, w.Email, w.SMS, w.PostOnly, w.Unreachable, w.LargePrint)
		total.Add(w)
	}
	fmt.Fprintf(tw, "All wards\t%d\t%d\t%d\t%d\t%d\t%d\t\n", total.Contacts, total.Email, total.SMS, total.PostOnly, total.Unreachable, total.LargePrint)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(r.Out, "\nEmail and Text count residents with consent on record; Post only are reached on paper alone.")
	if err := r.campaigns(ctx); err != nil {
		return fmt.Errorf("demo e-bulletin: %w", err)
	}
	if err := r.people(ctx); err != nil {
		return fmt.Errorf("demo accounts: %w", err)
	}
	if err := r.leaflets(ctx); err != nil {
		return fmt.Errorf("demo leaflets: %w", err)
	}
	return nil
}
