// Package cli holds crier's subcommands: flags, progress bars, messages and exit codes.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/config"
	"github.com/crierhq/crier/internal/db"
	"github.com/crierhq/crier/internal/spell"
)

// Exit codes. Scripts can tell "your file is wrong" from "something broke".
const (
	ExitOK      = 0
	ExitFailure = 1  // something went wrong: database unreachable, I/O error, ...
	ExitUsage   = 2  // bad command line
	ExitData    = 65 // the input is invalid (EX_DATAERR): fix the file and run again
)

// Version is set by the build (-ldflags "-X github.com/crierhq/crier/internal/cli.version=…").
var version = "dev"

// App runs one crier command. Tests build it with buffers for its streams.
type App struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Config is the starting configuration (env defaults); flags override it.
	Config config.Config
	// IsTerminal says whether Stderr is a terminal (progress bars) — false in tests and CI.
	IsTerminal bool
}

// usageError is a bad command line: printed with a hint, exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// exitError carries a specific exit code for an error already reported to the user.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

type command struct {
	name    string
	summary string
	run     func(a *App, ctx context.Context, args []string) error
}

func (a *App) commands() []command {
	return []command{
		{"migrate", "apply database migrations (up) or show their status", (*App).runMigrate},
		{"contacts", "import and export contacts (CSV); one resident's data: access, erase", (*App).runContacts},
		{"rights", "residents' data rights: retention (remove old texts' words)", (*App).runRights},
		{"segment", "create, list, show and count audience segments", (*App).runSegment},
		{"campaign", "create, schedule, pause, resume, cancel campaigns and follow their progress", (*App).runCampaign},
		{"replies", "the officers' inbox: residents' texts, reply back, tag, assign", (*App).runReplies},
		{"poll", "tally the answers to a campaign's poll", (*App).runPoll},
		{"leaflets", "print a campaign's leaflets and round sheets (PDF) in delivery rounds", (*App).runLeaflets},
		{"rounds", "delivery rounds: list, show, assign to volunteers, record deliveries", (*App).runRounds},
		{"user", "accounts for officers, admins and volunteers: add, passwd, list, disable, enable, role, reset", (*App).runUser},
		{"token", "HTTP API tokens for integrations: add (shows the secret once), list, revoke", (*App).runToken},
		{"bounces", "bounces and complaints after sending: read the bounce mailbox, list what was recorded", (*App).runBounces},
		{"audit", "show or export the audit log: sign-ins, exports, imports, campaign and account changes", (*App).runAudit},
		{"demo", "set up a demo borough with ~5,000 residents", (*App).runDemo},
		{"serve", "run the web server, Twilio's webhooks, the scheduler and the senders", (*App).runServe},
		{"bench", "run a benchmark and print a table (import, send)", (*App).runBench},
		{"healthcheck", "ask the running crier whether it is ready (for a container's HEALTHCHECK)", (*App).runHealthcheck},
		{"version", "print crier's version", (*App).runVersion},
	}
}

// Run executes the command in args (without the program name) and returns an exit code.
func (a *App) Run(ctx context.Context, args []string) int {
	// Workers log while the command's own goroutine prints progress: one lock per stream
	// keeps their lines whole (and a test's bytes.Buffer safe).
	a.Stdout, a.Stderr = lockWriter(a.Stdout), lockWriter(a.Stderr)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		a.usage(a.Stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "-v" {
		args = []string{"version"}
	}
	if err := checkArgs(args); err != nil {
		return a.report(err)
	}
	for _, c := range a.commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(a, ctx, args[1:])
		return a.report(err)
	}
	var names []string
	for _, c := range a.commands() {
		names = append(names, c.name)
	}
	fmt.Fprintf(a.Stderr, "crier: unknown command %q%s\n\n", args[0], didYouMean(args[0], names))
	a.usage(a.Stderr)
	return ExitUsage
}

// didYouMean is " (did you mean "NAME"?)" for the name nearest to word, when one is close
// enough to be a slip of the keyboard, and "" otherwise.
func didYouMean(word string, names []string) string {
	if near, d := spell.Nearest(word, names); near != "" && d <= 2 {
		return fmt.Sprintf(" (did you mean %q?)", near)
	}
	return ""
}

// checkArgs refuses arguments that are not UTF-8 text: PostgreSQL can't store them, and
// a name, tag or message that can't be shown back is a mistake (a terminal in another
// encoding, a pasted binary). File names must be UTF-8 too.
func checkArgs(args []string) error {
	for i, arg := range args {
		if utf8.ValidString(arg) {
			continue
		}
		at := 0
		for at < len(arg) {
			r, size := utf8.DecodeRuneInString(arg[at:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			at += size
		}
		return usagef("argument %d (%q) is not UTF-8 text: byte 0x%02x at position %d; set your terminal to UTF-8, or rename a file whose name is in another encoding",
			i+1, strings.ToValidUTF8(arg, "\uFFFD"), arg[at], utf8.RuneCountInString(arg[:at])+1)
	}
	return nil
}

func (a *App) report(err error) int {
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(a.Stderr, "crier: %s\n", ue.msg)
		return ExitUsage
	case errors.As(err, &ee):
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintf(a.Stderr, "crier: %s\n", ee.err)
		}
		return ee.code
	case errors.Is(err, syscall.EPIPE):
		// The reader went away (`crier contacts export | head`): nothing to say, and
		// nobody to say it to on that stream.
		return ExitFailure
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(a.Stderr, "crier: interrupted")
		return ExitFailure
	default:
		fmt.Fprintf(a.Stderr, "crier: %s\n", err)
		return ExitFailure
	}
}

func (a *App) usage(w io.Writer) {
	fmt.Fprintln(w, "crier — one campaign to every resident, by email, text and leaflet.")
	fmt.Fprintln(w, "\nUsage: crier <command> [arguments] (crier <command> --help for more)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range a.commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEnvironment (every variable: docs/configuration.md):")
	for _, g := range envGroups {
		fmt.Fprintf(w, "  %-10s %s\n", g[0], g[1])
	}
	fmt.Fprintln(w, "\ncrier --version prints the version.")
}

// envGroups are the environment variables crier reads, by what they set up.
var envGroups = [][2]string{
	{"database", "DATABASE_URL (unset: a private PostgreSQL under CRIER_DATA_DIR), CRIER_DATA_DIR, CRIER_PG_BIN"},
	{"web", "CRIER_HTTP_ADDR, CRIER_PUBLIC_URL, CRIER_TRUSTED_PROXIES, CRIER_LINK_KEY (keep it: it signs every link sent)"},
	{"email", "CRIER_SMTP_URL (smtp://user:pass@host:587?tls=starttls), CRIER_FROM, CRIER_SMTP_CONNECTIONS, CRIER_EMAIL_RATE,"},
	{"", "CRIER_DKIM_DOMAIN, CRIER_DKIM_SELECTOR, CRIER_DKIM_KEY_FILE, CRIER_LIST_DOMAIN"},
	{"texts", "CRIER_TWILIO_ACCOUNT_SID, CRIER_TWILIO_AUTH_TOKEN, CRIER_TWILIO_FROM or CRIER_TWILIO_MESSAGING_SERVICE_SID,"},
	{"", "CRIER_SMS_RATE, CRIER_QUIET_HOURS, CRIER_SMS_HELP, CRIER_SMS_PRICE"},
	{"bounces", "CRIER_BOUNCE_POP3_URL, CRIER_BOUNCE_POLL_INTERVAL, CRIER_BOUNCE_SOFT_THRESHOLD, CRIER_BOUNCE_SOFT_WINDOW,"},
	{"", "CRIER_BOUNCE_SES_TOPIC_ARNS, CRIER_BOUNCE_POSTMARK_TOKEN, CRIER_BOUNCE_MAILGUN_KEY, CRIER_BOUNCE_SENDGRID_KEY"},
	{"identity", "CRIER_ORG_NAME, CRIER_ORG_ADDRESS, CRIER_LOGO_URL, CRIER_LOGO_FILE, CRIER_BRAND_COLOUR"},
	{"residents", "CRIER_DEFAULT_REGION, CRIER_LANGUAGES, CRIER_PREFERENCES_LINK_DAYS, CRIER_RETENTION_REPLIES, CRIER_RETENTION_BODIES"},
	{"running", "CRIER_LOG_LEVEL, CRIER_LOG_FORMAT (text|json), CRIER_METRICS_TOKEN, CRIER_INSTANCE, CRIER_OUTBOX_LEASE,"},
	{"", "CRIER_EMAIL_WORKERS, CRIER_SMS_WORKERS"},
}

// flags returns a FlagSet for a command that prints its usage on --help and reports
// errors through the App rather than exiting.
func (a *App) flags(name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("crier "+name, flag.ContinueOnError)
	fs.SetOutput(a.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(a.Stderr, "Usage: crier %s %s\n\n%s\n\nFlags:\n", name, args, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, turning errors into usage errors (flag already printed them).
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitError{code: ExitUsage, err: errors.New("")}
	}
	return nil
}

// refuseUntilPublic stops cmd from sending or printing for real (doing what) while the
// configuration would tell residents something untrue: links to loopback, the demo
// borough's name and address. It names every setting still to set, in one message.
func (a *App) refuseUntilPublic(cmd, what string) error {
	if err := a.Config.ValidateForRealSends(); err != nil {
		return exitError{code: ExitFailure, err: fmt.Errorf("%s: refusing to %s: %w", cmd, what, err)}
	}
	return nil
}

// lockedWriter serialises writes to w. A progress bar draws its line through barWriter
// and leaves it open (no newline); any other line written meanwhile (a log line) first
// clears the bar's, so the two never share a line: the bar is drawn again below it at
// its next update.
type lockedWriter struct {
	mu       sync.Mutex
	w        io.Writer
	barShown bool // a bar's line is on screen, unfinished
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.barShown {
		if _, err := io.WriteString(l.w, "\r\x1b[K"); err != nil {
			return 0, err
		}
		l.barShown = false
	}
	return l.w.Write(p)
}

// barWriter writes a progress bar's line to l.
type barWriter struct{ l *lockedWriter }

func (b barWriter) Write(p []byte) (int, error) {
	b.l.mu.Lock()
	defer b.l.mu.Unlock()
	n, err := b.l.w.Write(p)
	b.l.barShown = len(p) > 0 && p[len(p)-1] != '\n'
	return n, err
}

func lockWriter(w io.Writer) io.Writer {
	if _, ok := w.(*lockedWriter); ok || w == nil {
		return w
	}
	return &lockedWriter{w: w}
}

// logger logs to standard error at CRIER_LOG_LEVEL, as text or (CRIER_LOG_FORMAT=json)
// one JSON object a line.
func (a *App) logger() *slog.Logger {
	level, _ := a.Config.Level()
	opts := &slog.HandlerOptions{Level: level}
	if a.Config.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(a.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(a.Stderr, opts))
}

// database is an open pool plus the private server to stop when the command ends.
type database struct {
	*sqlx.DB
	local *db.Local
	dsn   string
	hot   *sqlx.DB // the senders' hot-path pool (openHotPath), if opened
	wake  *db.Wake // the work notifications' listener (openWake), if opened
}

// openWake listens for the database's work notifications (db.Listen), closed with d.
func (d *database) openWake(ctx context.Context, log *slog.Logger) (*db.Wake, error) {
	if d.wake == nil {
		w, err := db.Listen(ctx, d.dsn, log)
		if err != nil {
			return nil, err
		}
		d.wake = w
	}
	return d.wake, nil
}

// openHotPath opens the pool for the outbox's claims and records (db.OpenHotPath),
// closed with d.
func (d *database) openHotPath(ctx context.Context) (*sqlx.DB, error) {
	if d.hot == nil {
		hot, err := db.OpenHotPath(ctx, d.dsn)
		if err != nil {
			return nil, err
		}
		d.hot = hot
	}
	return d.hot, nil
}

func (d *database) Close() {
	if d.wake != nil {
		d.wake.Close()
	}
	if d.hot != nil {
		d.hot.Close()
	}
	d.DB.Close()
	if d.local != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = d.local.Stop(ctx)
	}
}

// schemaMode says what openDB does about the schema version.
type schemaMode int

const (
	schemaCheck   schemaMode = iota // refuse an outdated schema (the private database is migrated instead)
	schemaMigrate                   // apply pending migrations
	schemaAny                       // leave it alone (migrate status)
)

// openDB connects to DATABASE_URL, or starts (or joins) the private local PostgreSQL.
// The private database is crier's own, so it is migrated on the spot; a configured one
// must already be at the current schema (`crier migrate up`).
func (a *App) openDB(ctx context.Context, mode schemaMode) (*database, error) {
	if err := a.Config.Validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	for _, line := range a.Config.Describe() {
		fmt.Fprintln(a.Stderr, line)
	}
	d := &database{}
	dsn := a.Config.DatabaseURL
	if dsn == "" {
		local, err := db.StartLocal(ctx, db.LocalConfig{DataDir: a.Config.DataDir, BinDir: a.Config.PGBinDir, Logger: a.logger()})
		if err != nil {
			return nil, err
		}
		d.local = local
		dsn = local.URL()
		if mode == schemaCheck {
			mode = schemaMigrate
		}
	}
	pool, err := db.Open(ctx, dsn)
	if err != nil {
		if d.local != nil {
			_ = d.local.Stop(context.Background())
		}
		return nil, err
	}
	d.DB, d.dsn = pool, dsn
	switch mode {
	case schemaMigrate:
		if _, err := db.Migrate(ctx, pool, nil); err != nil {
			d.Close()
			return nil, err
		}
	case schemaCheck:
		if err := db.CheckSchema(ctx, pool); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}
