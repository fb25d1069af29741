package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/contact"
)

func (a *App) runContacts(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(a.Stderr, "Usage: crier contacts import FILE [flags] | crier contacts export [flags]\n"+
			"       crier contacts access (ID | --email E | --phone P) [flags] | crier contacts erase ID --reason TEXT [--yes]")
		if len(args) == 0 {
			return usagef("contacts needs import or export")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "import":
		return a.runImport(ctx, args[1:])
	case "export":
		return a.runExport(ctx, args[1:])
	case "access":
		return a.runAccess(ctx, args[1:])
	case "erase":
		return a.runErase(ctx, args[1:])
	}
	return usagef("unknown contacts command %q: use import, export, access or erase", args[0])
}

// mapFlag collects repeated --map HEADER=field flags.
type mapFlag map[string]contact.Field

func (m mapFlag) String() string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+string(v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (m mapFlag) Set(s string) error {
	h, f, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(h) == "" {
		return fmt.Errorf("%q should be HEADER=field, e.g. \"Tel (day)=phone\"", s)
	}
	field, err := contact.ParseField(f)
	if err != nil {
		return err
	}
	m[strings.TrimSpace(h)] = field
	return nil
}

func (a *App) runImport(ctx context.Context, args []string) error {
	fs := a.flags("contacts import", "FILE [flags]", `Import contacts from a CSV file (UTF-8 with or without BOM, or Windows-1252; CRLF or LF).
Headers are matched by their usual spellings ("Email", "E-mail address", "Mobile",
"Phone number", "First name", "Surname", "Postcode", "Ward", "Email consent", ...);
unknown columns become free attributes. All or nothing: if any row is invalid, nothing
is imported and every bad row is listed (exit code 65).`)
	a.Config.RegisterFlags(fs)
	m := mapFlag{}
	fs.Var(m, "map", "override a column: HEADER=field (repeatable); fields: first_name, last_name, email, mobile, phone, flat, house_number, street, town, postcode, ward, language, large_print, email_consent, sms_consent, post_consent, tags, delivery_notes, ignore, attr:NAME")
	skip := fs.Bool("skip-invalid", false, "import the valid rows and write the invalid ones, with a reason column, to --rejects")
	rejects := fs.String("rejects", "", "where --skip-invalid writes rejected rows (default FILE.rejects.csv)")
	dry := fs.Bool("dry-run", false, "validate and report what would change; write nothing")
	encoding := fs.String("encoding", "auto", "file encoding: auto, utf-8 or windows-1252")
	topic := fs.String("topic", "general", "topic the file's consent columns are for")
	region := fs.String("region", a.Config.DefaultRegion, "default country for phone numbers without +code (env CRIER_DEFAULT_REGION)")
	conflicts := fs.String("conflicts", "report", "rows that would merge into or rename someone else (their email says one resident, a number another; or a new email with somebody's number under another name; or one email on two rows under different names): report (as invalid rows), skip, or new (import as a new person, without the other's email or number)")
	if err := parse(fs, reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("contacts import needs exactly one FILE (got %d)", fs.NArg())
	}
	policy, err := contact.ParseConflictPolicy(*conflicts)
	if err != nil {
		return usagef("--conflicts: %v", err)
	}
	enc, err := contact.ParseEncoding(*encoding)
	if err != nil {
		return usagef("%v", err)
	}
	path := fs.Arg(0)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("import file: %w", err)
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()

	key, err := a.suppressionKey()
	if err != nil {
		return err
	}
	bar := a.newByteProgress(0, "importing "+path, "rows")
	store := contact.NewStore(d.DB, a.logger())
	actx := a.auditing(ctx, audit.Entry{Action: audit.ContactsImport, SubjectType: "import"})
	res, err := store.Import(actx, contact.ImportOptions{
		Path: path, Map: m, Encoding: enc, Region: *region, Topic: *topic,
		DryRun: *dry, SkipInvalid: *skip, RejectsPath: *rejects, Actor: actor(), Conflicts: policy, Suppression: key,
		Progress: func(p contact.Progress) {
			if bar.bar != nil && bar.bar.GetMax64() != p.TotalBytes {
				bar.bar.ChangeMax64(p.TotalBytes)
			}
			bar.set(p.Bytes, p.TotalBytes, p.Rows, p.Phase)
		},
	})
	bar.finish()
	if res != nil && len(res.Errors) > 0 {
		a.printInputErrors(res.Errors, !*skip)
	}
	if res != nil && len(res.Changes) > 0 {
		fmt.Fprintf(a.Stdout, "It would change %d things about residents already on record:\n", len(res.Changes))
		for _, c := range res.Changes {
			fmt.Fprintf(a.Stdout, "  %s: %s\n", path, c)
		}
	}
	if res != nil && len(res.Conflicts) > 0 {
		what := map[contact.ConflictPolicy]string{contact.ConflictsSkip: "skipped", contact.ConflictsNew: "imported as new people, without the other resident's email or number"}[policy]
		fmt.Fprintf(a.Stderr, "%d rows would have merged into or renamed someone else; %s:\n", len(res.Conflicts), what)
		for _, e := range res.Conflicts {
			fmt.Fprintf(a.Stderr, "  %v\n", e)
		}
	}
	if res != nil && len(res.Suppressed) > 0 {
		fmt.Fprintf(a.Stderr, "%d rows skipped: those residents asked to be erased, and their email or number is on the suppression list:\n", len(res.Suppressed))
		for _, e := range res.Suppressed {
			fmt.Fprintf(a.Stderr, "  %v\n", e)
		}
	}
	if errors.Is(err, contact.ErrRejected) {
		return exitError{code: ExitData, err: fmt.Errorf("%s: %d of %d rows are invalid, so nothing was imported. Fix them and import again, or use --skip-invalid to import the %d valid rows",
			path, res.Rejected, res.Rows, res.Rows-res.Rejected)}
	}
	var ie *contact.InputError
	if errors.As(err, &ie) {
		return exitError{code: ExitData, err: err}
	}
	if err != nil {
		return err
	}
	a.printImportSummary(res)
	return nil
}

func (a *App) printInputErrors(errs []*contact.InputError, fatal bool) {
	word := "skipped"
	if fatal {
		word = "invalid"
	}
	fmt.Fprintf(a.Stderr, "%d problem(s) (%s rows):\n", len(errs), word)
	for _, e := range errs {
		fmt.Fprintf(a.Stderr, "  %s\n", e)
	}
}

func (a *App) printImportSummary(r *contact.ImportResult) {
	verb := "imported"
	if r.DryRun {
		verb = "checked (dry run, nothing written)"
	}
	fmt.Fprintf(a.Stdout, "%s %s: %d rows in %.1fs (%s)\n", r.File, verb, r.Rows, r.Duration.Seconds(), r.Encoding)
	var mapped []string
	for _, c := range r.Columns {
		mapped = append(mapped, fmt.Sprintf("%s→%s", c.Header, c.Field))
	}
	fmt.Fprintf(a.Stdout, "  columns: %s\n", strings.Join(mapped, ", "))
	would := ""
	if r.DryRun {
		would = "would be "
	}
	fmt.Fprintf(a.Stdout, "  contacts: %d %screated, %d %supdated\n", r.ContactsCreated, would, r.ContactsUpdated, would)
	fmt.Fprintf(a.Stdout, "  consents: %d %sgranted, %d %swithdrawn\n", r.ConsentsGranted, would, r.ConsentsWithdrawn, would)
	if r.WithdrawalsKept > 0 {
		fmt.Fprintf(a.Stdout, "  %d \"yes\" cells ignored: those people had withdrawn consent, and only they can give it again\n", r.WithdrawalsKept)
	}
	switch {
	case r.Rejected > 0 && r.DryRun:
		fmt.Fprintf(a.Stdout, "  %d rows would be skipped as invalid (listed above; no rejects file is written on a dry run)\n", r.Rejected)
	case r.Rejected > 0:
		fmt.Fprintf(a.Stdout, "  %d rows skipped as invalid; written with reasons to %s\n", r.Rejected, r.RejectsPath)
	case r.RejectsPath != "":
		fmt.Fprintf(a.Stdout, "  the skipped rows are written with reasons to %s\n", r.RejectsPath)
	}
	if r.ImportID != 0 {
		fmt.Fprintf(a.Stdout, "  recorded as import #%d\n", r.ImportID)
	}
}

func (a *App) runExport(ctx context.Context, args []string) error {
	fs := a.flags("contacts export", "[flags]", "Write every contact as CSV with its current consent state and free attributes; importing\n"+
		"the file again changes nothing. UTF-8 with a byte-order mark, so Excel reads accents.\n"+
		"Phone numbers are written as 07700 900123 (0033 6 12 34 56 78 abroad), which spreadsheets\n"+
		"keep as text; other cells a spreadsheet could run as a formula (=, +, -, @) get a leading\n"+
		"apostrophe, which the importer strips again.")
	a.Config.RegisterFlags(fs)
	out := fs.String("out", "-", "file to write (- for standard output)")
	topic := fs.String("topic", "general", "topic whose consent state is exported")
	region := fs.String("region", a.Config.DefaultRegion, "country whose phone numbers are written in national format (env CRIER_DEFAULT_REGION); import with the same --region")
	noBOM := fs.Bool("no-bom", false, "leave out the UTF-8 byte-order mark (Excel then shows Renée as RenÃ©e)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("contacts export takes no arguments (got %q)", fs.Args())
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	w := a.Stdout
	var f *os.File
	if *out != "-" {
		// Write beside the target and rename, so a failed export never leaves half a file.
		f, err = os.CreateTemp(dirOf(*out), ".crier-export-*")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer os.Remove(f.Name())
		w = f
	}
	n, err := contact.NewStore(d.DB, a.logger()).Export(ctx, w, contact.ExportOptions{Topic: *topic, Region: *region, NoBOM: *noBOM})
	if err != nil {
		if f != nil {
			f.Close()
		}
		return err
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := os.Rename(f.Name(), *out); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(a.Stderr, "exported %d contacts to %s\n", n, *out)
	}
	return a.record(ctx, d.DB, audit.Entry{Action: audit.ContactsExport, SubjectType: "contacts",
		Detail: map[string]any{"rows": n, "topic": *topic}})
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i+1]
	}
	return "."
}

// reorder lets flags follow positional arguments ("import file.csv --dry-run"), which
// the flag package alone does not allow.
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && takesValue(a) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

// takesValue reports whether a flag of the import command needs a separate value.
func takesValue(f string) bool {
	switch strings.TrimLeft(f, "-") {
	case "skip-invalid", "dry-run", "h", "help", "watch", "unread", "flagged", "remove", "unassigned", "failed", "preview", "password-stdin", "skip-print-run":
		return false
	}
	return true
}

func actor() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}
