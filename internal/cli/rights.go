package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/rights"
	"github.com/crierhq/crier/internal/suppression"
)

// suppressionKey is the key erasure suppressions are hashed with, derived from the link key.
func (a *App) suppressionKey() (*suppression.Key, error) {
	k, err := a.linkKey()
	if err != nil {
		return nil, err
	}
	return suppression.NewKey(k)
}

// runAccess: crier contacts access (ID | --email E | --phone P) [--format json|text] [--out FILE]
func (a *App) runAccess(ctx context.Context, args []string) error {
	fs := a.flags("contacts access", "(ID | --email E | --phone P) [flags]", `Export everything crier holds about one resident (a subject access request, UK GDPR
article 15): their details, household, contact points, consent history, sign-ups, every
message with its events and delivery reports, text conversations, leaflet deliveries at
their door and audit entries about them. The export is recorded in the audit log.`)
	a.Config.RegisterFlags(fs)
	email := fs.String("email", "", "find the resident by email address")
	phone := fs.String("phone", "", "find the resident by phone number (any usual format)")
	format := fs.String("format", "json", "json or text")
	out := fs.String("out", "-", "file to write (- for standard output)")
	if err := parse(fs, reorder(args)); err != nil {
		return err
	}
	l := rights.Lookup{Email: *email, Phone: *phone, Region: a.Config.DefaultRegion}
	given := 0
	if fs.NArg() == 1 {
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil || id <= 0 {
			return usagef("contacts access: %q is not a contact id", fs.Arg(0))
		}
		l.ID = id
		given++
	} else if fs.NArg() > 1 {
		return usagef("contacts access takes one contact id (got %d arguments)", fs.NArg())
	}
	for _, v := range []string{*email, *phone} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return usagef("contacts access needs exactly one of: a contact id, --email or --phone")
	}
	if *format != "json" && *format != "text" {
		return usagef("--format must be json or text (got %q)", *format)
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	s := rights.NewStore(d.DB, nil, a.logger())
	id, err := s.Find(ctx, l)
	if errors.Is(err, rights.ErrNotFound) || errors.Is(err, contact.ErrInvalid) {
		return exitError{code: ExitData, err: fmt.Errorf("contacts access: %w", err)}
	}
	if err != nil {
		return err
	}
	x, err := s.Access(ctx, id, audit.Entry{Actor: audit.CLIActor(actor())})
	if err != nil {
		return err
	}
	return writeOut(a.Stdout, *out, func(w io.Writer) error {
		if *format == "text" {
			return rights.WriteText(w, x)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(x)
	})
}

// writeOut writes with fn to stdout or, beside path and renamed, to path (never half a file).
func writeOut(stdout io.Writer, path string, fn func(io.Writer) error) error {
	if path == "-" {
		return fn(stdout)
	}
	f, err := os.CreateTemp(dirOf(path), ".crier-access-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(f.Name(), path)
}

// runErase: crier contacts erase ID --reason "…" [--yes]
func (a *App) runErase(ctx context.Context, args []string) error {
	fs := a.flags("contacts erase", "ID --reason TEXT [--yes]", `Erase a resident (UK GDPR article 17): delete their details, contact points, consent
history, sign-ups and text conversations; keep their campaign messages without anything
naming them, so campaign totals still add up; cancel messages still waiting to go; and put
their email addresses and numbers on the suppression list (a keyed hash), so no import or
sign-up adds them for marketing again. It shows what it will erase first and asks you to
type the id to confirm; --yes skips the question (required when not at a terminal).`)
	a.Config.RegisterFlags(fs)
	reason := fs.String("reason", "", "why: the request's reference, kept with the suppression (no personal data)")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	if err := parse(fs, reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("contacts erase needs exactly one contact id (got %d)", fs.NArg())
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return usagef("contacts erase: %q is not a contact id", fs.Arg(0))
	}
	if strings.TrimSpace(*reason) == "" {
		return usagef("contacts erase needs --reason (the request's reference, e.g. \"email of 3 May 2026\")")
	}
	f, isFile := a.Stdin.(*os.File)
	atTerminal := isFile && term.IsTerminal(int(f.Fd()))
	if !*yes && !atTerminal {
		return usagef("contacts erase: not at a terminal, so nobody can confirm; check with the terminal first, or add --yes")
	}
	key, err := a.suppressionKey()
	if err != nil {
		return err
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	s := rights.NewStore(d.DB, key, a.logger())
	plan, err := s.Preview(ctx, id)
	if errors.Is(err, rights.ErrNotFound) {
		return exitError{code: ExitData, err: fmt.Errorf("contacts erase: no resident with id %d", id)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "Resident %d: %s\n", id, plan.Name)
	for _, p := range plan.Points {
		fmt.Fprintf(a.Stdout, "  %s\n", p)
	}
	fmt.Fprintf(a.Stdout, "Erasing deletes %d contact points, %d consent records, %d sign-ups, %d text conversations (%d texts);\n",
		plan.ContactPoints, plan.ConsentEvents, plan.Signups, plan.Conversations, plan.Texts)
	fmt.Fprintf(a.Stdout, "keeps %d campaign messages without anything naming them (%d still waiting are cancelled);\n",
		plan.MessagesKept, plan.PendingCancelled)
	fmt.Fprintf(a.Stdout, "and adds %d email addresses and numbers to the suppression list.\n", plan.Suppressions)
	if !*yes {
		fmt.Fprintf(a.Stderr, "Type %d to erase this resident for good: ", id)
		line, _ := bufio.NewReader(a.Stdin).ReadString('\n')
		if strings.TrimSpace(line) != strconv.FormatInt(id, 10) {
			return exitError{code: ExitFailure, err: errors.New("contacts erase: not confirmed; nothing was erased")}
		}
	}
	done, err := s.Erase(ctx, id, *reason, audit.Entry{Actor: audit.CLIActor(actor())})
	if errors.Is(err, rights.ErrSending) {
		return exitError{code: ExitFailure, err: fmt.Errorf("contacts erase: %w; nothing was erased", err)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "Resident %d erased: %d messages anonymised, %d cancelled, %d texts deleted, %d suppressions added.\n",
		id, done.MessagesKept, done.PendingCancelled, done.Texts, done.Suppressions)
	return nil
}

func (a *App) runRights(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(a.Stderr, "Usage: crier rights retention [--dry-run]\n\n(Subject access and erasure: crier contacts access, crier contacts erase.)")
		if len(args) == 0 {
			return usagef("rights needs retention")
		}
		return flag.ErrHelp
	}
	if args[0] != "retention" {
		return usagef("unknown rights command %q: use retention", args[0])
	}
	fs := a.flags("rights retention", "[--dry-run]", `Remove the words of texts older than CRIER_RETENTION_REPLIES (residents' texts) and
CRIER_RETENTION_BODIES (texts officers sent from the inbox); the texts' times, campaigns,
poll answers and tags stay. crier serve does this daily; this runs it now.`)
	a.Config.RegisterFlags(fs)
	dry := fs.Bool("dry-run", false, "count what would be removed; change nothing")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("rights retention takes no arguments (got %q)", fs.Args())
	}
	replies, bodies, err := a.Config.Retention()
	if err != nil {
		return usagef("%v", err)
	}
	p := rights.Policy{Replies: replies, Bodies: bodies}
	if p.Off() {
		fmt.Fprintln(a.Stdout, "Retention is off: set CRIER_RETENTION_REPLIES and/or CRIER_RETENTION_BODIES (e.g. 365d). Nothing removed.")
		return nil
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	res, err := rights.NewStore(d.DB, nil, a.logger()).Retention(ctx, p, time.Now(), *dry, true, audit.Entry{Actor: audit.CLIActor(actor())})
	if err != nil {
		return err
	}
	verb := "removed"
	if *dry {
		verb = "would be removed (dry run)"
	}
	fmt.Fprintf(a.Stdout, "Residents' texts older than %s: %d %s.\n", age(replies), res.Replies, verb)
	fmt.Fprintf(a.Stdout, "Officers' texts older than %s: %d %s.\n", age(bodies), res.Bodies, verb)
	return nil
}

func age(d time.Duration) string {
	if d <= 0 {
		return "(off)"
	}
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}
