// Package config builds Crier's one Config from environment variables and flags.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier/internal/db"
	"github.com/crierhq/crier/internal/lang"
	"github.com/crierhq/crier/internal/spell"
)

// Config is everything crier reads from its environment. The environment variable is the
// default and the flag overrides it. Secrets come only from the environment.
type Config struct {
	DatabaseURL string // DATABASE_URL; empty = run the private local PostgreSQL
	DataDir     string // CRIER_DATA_DIR; where the private PostgreSQL and other state live
	PGBinDir    string // CRIER_PG_BIN; PostgreSQL server binaries for the private server
	HTTPAddr    string // CRIER_HTTP_ADDR
	// CRIER_TRUSTED_PROXIES: the reverse proxies (addresses or CIDR ranges,
	// comma-separated) whose X-Forwarded-For names the client; empty = none.
	TrustedProxies string
	// CRIER_LANGUAGES: the languages residents can choose for their messages
	// (codes, comma-separated, e.g. "cy,en"); default en.
	Languages     string
	DefaultRegion string // CRIER_DEFAULT_REGION; phone numbers without a country code
	LogLevel      string // CRIER_LOG_LEVEL: debug, info, warn, error
	LogFormat     string // CRIER_LOG_FORMAT: text (default) or json, one JSON object a line
	// CRIER_METRICS_TOKEN: the bearer token Prometheus sends to scrape /metrics (secret);
	// unset = /metrics is off (404).
	MetricsToken string

	PublicURL string // CRIER_PUBLIC_URL: where residents reach crier (links in messages); default http://HTTPAddr
	LinkKey   string // CRIER_LINK_KEY: secret for signed links (hex or base64, ≥ 32 bytes); unset = generated and kept in DataDir
	Instance  string // CRIER_INSTANCE: names this process in outbox leases; default host-pid
	// CRIER_PREFERENCES_LINK_DAYS: how many days a preference-centre link works after it
	// was sent; an older one offers to email a fresh link instead. Default 90.
	PreferencesLinkDays int
	// CRIER_OUTBOX_LEASE: how long a worker's claim on outbox rows lasts before another
	// instance may rescue them (after a crash); default 2m.
	OutboxLease time.Duration

	SMTPURL         string  // CRIER_SMTP_URL: smtp://user:pass@host:587?tls=starttls; unset = no email sending (demo: sandbox)
	SMTPConnections int     // CRIER_SMTP_CONNECTIONS: pooled connections; also the most e-bulletins a crash leaves unknown
	EmailWorkers    int     // CRIER_EMAIL_WORKERS
	EmailRate       float64 // CRIER_EMAIL_RATE: messages per second per process (0 = unlimited)
	From            string  // CRIER_FROM: default sender, "Name <address>"
	ListDomain      string  // CRIER_LIST_DOMAIN: for List-Id
	DKIMDomain      string  // CRIER_DKIM_DOMAIN
	DKIMSelector    string  // CRIER_DKIM_SELECTOR
	DKIMKeyFile     string  // CRIER_DKIM_KEY_FILE: PEM private key (RSA or Ed25519)

	// SMS through Twilio (or the sandbox). Without an account SID and token, texts wait
	// in the outbox and the webhooks are off (the demo and `serve --sandbox` use the
	// Twilio-compatible sandbox instead).
	TwilioAccountSID       string  // CRIER_TWILIO_ACCOUNT_SID: AC...
	TwilioAuthToken        string  // CRIER_TWILIO_AUTH_TOKEN (secret; also signs webhooks)
	TwilioFrom             string  // CRIER_TWILIO_FROM: the sending number (E.164) or alphanumeric sender ID
	TwilioMessagingService string  // CRIER_TWILIO_MESSAGING_SERVICE_SID: MG...; used instead of From when set
	TwilioAPIURL           string  // CRIER_TWILIO_API_URL: a Twilio-compatible API (tests, sandboxes); unset = api.twilio.com
	SMSRate                float64 // CRIER_SMS_RATE: texts per second per process (Twilio long codes take about 1, short codes and services more)
	SMSWorkers             int     // CRIER_SMS_WORKERS
	QuietHours             string  // CRIER_QUIET_HOURS: no texts then unless urgent, London time, e.g. 21:00-08:00, or off
	SMSHelp                string  // CRIER_SMS_HELP: the answer to HELP or INFO
	SMSHelpWelsh           string  // CRIER_SMS_HELP_CY: the answer to CYMORTH, and to HELP from a Welsh reader
	SMSPrice               float64 // CRIER_SMS_PRICE: cost of one segment in pounds, for estimates

	OrgName    string // CRIER_ORG_NAME: shown in e-bulletins, leaflets and pages; default DemoOrgName
	OrgAddress string // CRIER_ORG_ADDRESS: postal address in the e-bulletin footer and on leaflets; default DemoOrgAddress
	LogoURL    string // CRIER_LOGO_URL: the logo in e-bulletins
	LogoFile   string // CRIER_LOGO_FILE: a PNG logo for printed leaflets
	BrandColor string // CRIER_BRAND_COLOUR: e.g. #0b3d59 (used only where contrast allows)

	// Retention of texts' words (see internal/rights): how long residents' texts
	// (CRIER_RETENTION_REPLIES) and the texts officers sent them from the inbox
	// (CRIER_RETENTION_BODIES) keep their words; "90d", "2160h" or "off" (the default).
	// `crier serve` removes older ones daily. Read with Retention.
	RetentionReplies string
	RetentionBodies  string

	Bounce BounceConfig // CRIER_BOUNCE_*: bounce mailbox, soft-bounce policy, providers' webhooks (bounce.go)
}

// The demo identity: what Default fills in when CRIER_ORG_NAME and CRIER_ORG_ADDRESS are
// unset, so the demo and `crier serve --sandbox` have something to print. It is true of no
// real council, so ValidateForRealSends treats it as unset.
const (
	DemoOrgName    = "Crier demo borough"
	DemoOrgAddress = "Town Hall, 1 High Street, London SW2 1RW"
)

// Default returns the configuration read from the environment (or built-in defaults).
func Default() Config {
	return Config{
		DatabaseURL:    os.Getenv("DATABASE_URL"),
		DataDir:        envOr("CRIER_DATA_DIR", defaultDataDir()),
		PGBinDir:       os.Getenv("CRIER_PG_BIN"),
		HTTPAddr:       envOr("CRIER_HTTP_ADDR", "127.0.0.1:8080"),
		TrustedProxies: os.Getenv("CRIER_TRUSTED_PROXIES"),
		Languages:      envOr("CRIER_LANGUAGES", "en"),
		DefaultRegion:  envOr("CRIER_DEFAULT_REGION", "GB"),
		LogLevel:       envOr("CRIER_LOG_LEVEL", "info"),
		LogFormat:      envOr("CRIER_LOG_FORMAT", "text"),
		MetricsToken:   os.Getenv("CRIER_METRICS_TOKEN"),

		PublicURL:              os.Getenv("CRIER_PUBLIC_URL"),
		LinkKey:                os.Getenv("CRIER_LINK_KEY"),
		Instance:               envOr("CRIER_INSTANCE", defaultInstance()),
		PreferencesLinkDays:    envInt("CRIER_PREFERENCES_LINK_DAYS", 90),
		OutboxLease:            envDuration("CRIER_OUTBOX_LEASE", 2*time.Minute),
		SMTPURL:                os.Getenv("CRIER_SMTP_URL"),
		SMTPConnections:        envInt("CRIER_SMTP_CONNECTIONS", 16),
		EmailWorkers:           envInt("CRIER_EMAIL_WORKERS", 16),
		EmailRate:              envFloat("CRIER_EMAIL_RATE", 0),
		From:                   envOr("CRIER_FROM", "Crier <news@crier.example>"),
		ListDomain:             envOr("CRIER_LIST_DOMAIN", "crier.example"),
		DKIMDomain:             os.Getenv("CRIER_DKIM_DOMAIN"),
		DKIMSelector:           os.Getenv("CRIER_DKIM_SELECTOR"),
		DKIMKeyFile:            os.Getenv("CRIER_DKIM_KEY_FILE"),
		TwilioAccountSID:       os.Getenv("CRIER_TWILIO_ACCOUNT_SID"),
		TwilioAuthToken:        os.Getenv("CRIER_TWILIO_AUTH_TOKEN"),
		TwilioFrom:             os.Getenv("CRIER_TWILIO_FROM"),
		TwilioMessagingService: os.Getenv("CRIER_TWILIO_MESSAGING_SERVICE_SID"),
		TwilioAPIURL:           os.Getenv("CRIER_TWILIO_API_URL"),
		SMSRate:                envFloat("CRIER_SMS_RATE", 10),
		SMSWorkers:             envInt("CRIER_SMS_WORKERS", 4),
		QuietHours:             envOr("CRIER_QUIET_HOURS", "21:00-08:00"),
		SMSHelp:                os.Getenv("CRIER_SMS_HELP"),
		SMSHelpWelsh:           os.Getenv("CRIER_SMS_HELP_CY"),
		SMSPrice:               envFloat("CRIER_SMS_PRICE", 0.0463),
		OrgName:                envOr("CRIER_ORG_NAME", DemoOrgName),
		OrgAddress:             envOr("CRIER_ORG_ADDRESS", DemoOrgAddress),
		LogoURL:                os.Getenv("CRIER_LOGO_URL"),
		LogoFile:               os.Getenv("CRIER_LOGO_FILE"),
		BrandColor:             envOr("CRIER_BRAND_COLOUR", "#0b3d59"),
		RetentionReplies:       envOr("CRIER_RETENTION_REPLIES", "off"),
		RetentionBodies:        envOr("CRIER_RETENTION_BODIES", "off"),
		Bounce:                 DefaultBounce(),
	}
}

// Retention returns the ages of CRIER_RETENTION_REPLIES and CRIER_RETENTION_BODIES; 0
// for off. An age is a number of days ("90d", "90 days") or a Go duration ("2160h").
func (c Config) Retention() (replies, bodies time.Duration, err error) {
	if replies, err = parseAge("CRIER_RETENTION_REPLIES", c.RetentionReplies); err != nil {
		return 0, 0, err
	}
	bodies, err = parseAge("CRIER_RETENTION_BODIES", c.RetentionBodies)
	return replies, bodies, err
}

func parseAge(key, v string) (time.Duration, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" || v == "off" || v == "0" {
		return 0, nil
	}
	for _, unit := range []string{"days", "day", "d"} {
		if n, ok := strings.CutSuffix(v, unit); ok {
			days, err := strconv.Atoi(strings.TrimSpace(n))
			if err != nil || days < 1 || days > 36500 {
				return 0, fmt.Errorf("%s %q: give a number of days from 1 to 36500, such as 90d, or off", key, v)
			}
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Hour {
		return 0, fmt.Errorf("%s %q: give an age such as 90d or 2160h (at least an hour), or off", key, v)
	}
	return d, nil
}

// defaultDataDir follows the XDG base directory convention: $XDG_DATA_HOME/crier, else
// ~/.local/share/crier.
func defaultDataDir() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "crier")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "crier")
	}
	return filepath.Join(home, ".local", "share", "crier")
}

func defaultInstance() string {
	host, err := os.Hostname()
	if err != nil {
		host = "crier"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}

func envFloat(key string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(key), 64); err == nil {
		return v
	}
	return def
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

// RegisterFlags binds the database flags every command shares to fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL URL (env DATABASE_URL; empty = private local server)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the private PostgreSQL and other state (env CRIER_DATA_DIR)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (env CRIER_LOG_LEVEL)")
}

// RegisterServeFlags binds the flags of commands that serve HTTP.
func (c *Config) RegisterServeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.HTTPAddr, "http", c.HTTPAddr, "address to serve HTTP on (env CRIER_HTTP_ADDR)")
	fs.IntVar(&c.PreferencesLinkDays, "preferences-link-days", c.PreferencesLinkDays,
		"days a preference-centre link works after it was sent (env CRIER_PREFERENCES_LINK_DAYS)")
}

// Validate checks the configuration once at start-up and names the bad key.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("DATABASE_URL must be a postgres:// URL"))
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("CRIER_DATA_DIR is empty: set it, or set DATABASE_URL"))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("CRIER_HTTP_ADDR %q: %w", c.HTTPAddr, err))
	}
	if len(c.DefaultRegion) != 2 || strings.ToUpper(c.DefaultRegion) != c.DefaultRegion {
		errs = append(errs, fmt.Errorf("CRIER_DEFAULT_REGION %q must be a two-letter country code such as GB", c.DefaultRegion))
	}
	if _, err := c.Level(); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("CRIER_LOG_FORMAT %q must be text or json", c.LogFormat))
	}
	if _, err := lang.ParseList(c.Languages); err != nil {
		errs = append(errs, fmt.Errorf("CRIER_LANGUAGES %q: %w", c.Languages, err))
	}
	if c.SMTPURL != "" {
		if _, err := c.SMTP(); err != nil {
			errs = append(errs, err)
		}
	}
	if (c.TwilioAccountSID == "") != (c.TwilioAuthToken == "") {
		errs = append(errs, errors.New("CRIER_TWILIO_ACCOUNT_SID and CRIER_TWILIO_AUTH_TOKEN go together: set both or neither"))
	}
	if c.TwilioAccountSID != "" && c.TwilioFrom == "" && c.TwilioMessagingService == "" {
		errs = append(errs, errors.New("CRIER_TWILIO_FROM or CRIER_TWILIO_MESSAGING_SERVICE_SID is needed to send texts"))
	}
	if c.SMSRate <= 0 {
		errs = append(errs, fmt.Errorf("CRIER_SMS_RATE %v must be more than 0 texts per second", c.SMSRate))
	}
	if c.PreferencesLinkDays < 1 {
		errs = append(errs, fmt.Errorf("CRIER_PREFERENCES_LINK_DAYS %d must be at least 1 day", c.PreferencesLinkDays))
	}
	if _, _, err := c.Retention(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Bounce.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "https://") && !strings.HasPrefix(c.PublicURL, "http://") {
		errs = append(errs, fmt.Errorf("CRIER_PUBLIC_URL %q must start with https://", c.PublicURL))
	}
	return errors.Join(errs...)
}

// ValidateForRealSends checks what residents will be told before anything reaches them: the
// links in e-bulletins and texts and the QR code on leaflets start at PublicURL, and
// footers and leaflets carry OrgName and OrgAddress. It returns one error naming every
// setting still to set: PublicURL must be an https:// address residents can reach (not
// loopback), and the organisation must not be the demo's (DemoOrgName, DemoOrgAddress).
// The demo and `crier serve --sandbox` don't call it; every real send or print does.
func (c Config) ValidateForRealSends() error {
	var need []string
	if why, ok := reachable(c.PublicURL); !ok {
		need = append(need, "CRIER_PUBLIC_URL (an https:// address residents can reach"+why+")")
	}
	if name := strings.TrimSpace(c.OrgName); name == "" || name == DemoOrgName {
		need = append(need, "CRIER_ORG_NAME")
	}
	if addr := strings.TrimSpace(c.OrgAddress); addr == "" || addr == DemoOrgAddress {
		need = append(need, "CRIER_ORG_ADDRESS")
	}
	if len(need) == 0 {
		return nil
	}
	return errors.New("set " + strings.Join(need, ", "))
}

// reachable says whether public is an https URL on a host other than this machine, and if
// not, why not (empty when it is simply unset).
func reachable(public string) (why string, ok bool) {
	if public == "" {
		return "", false
	}
	u, err := url.Parse(public)
	switch {
	case err != nil || !strings.EqualFold(u.Scheme, "https"):
		return fmt.Sprintf("; %q is not https", public), false
	case u.Hostname() == "":
		return fmt.Sprintf("; %q has no host", public), false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	ip := net.ParseIP(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return fmt.Sprintf("; %q is this machine only", public), false
	}
	return "", true
}

// Level returns the slog level named by LogLevel.
func (c Config) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("CRIER_LOG_LEVEL %q must be debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// Describe lists what crier is using, for printing at start-up; it never shows a password.
func (c Config) Describe() []string {
	database := "private PostgreSQL in " + c.DataDir
	if c.DatabaseURL != "" {
		database = db.Redact(c.DatabaseURL)
	}
	out := []string{
		"database: " + database,
		"default phone region: " + c.DefaultRegion,
	}
	if c.SMTPURL != "" {
		if s, err := c.SMTP(); err == nil {
			out = append(out, fmt.Sprintf("smtp: %s:%d (%s)", s.Host, s.Port, s.TLS))
		}
	}
	if c.TwilioAccountSID != "" {
		api := "api.twilio.com"
		if c.TwilioAPIURL != "" {
			api = c.TwilioAPIURL
		}
		out = append(out, fmt.Sprintf("sms: Twilio account %s via %s, %g texts/s, quiet hours %s", c.TwilioAccountSID, api, c.SMSRate, c.QuietHours))
	}
	return out
}

// SMTPServer is the parsed CRIER_SMTP_URL.
type SMTPServer struct {
	Host, Username, Password string
	Port                     int
	TLS                      string // none, starttls, starttls-required, tls
}

// smtpOptions are the options CRIER_SMTP_URL takes after "?"; SMTP refuses any other.
var smtpOptions = []string{"tls"}

// SMTP parses CRIER_SMTP_URL: smtp://[user:pass@]host[:port][?tls=none|starttls|starttls-required|tls],
// or smtps://host (implicit TLS, port 465). An unknown option is an error naming it.
func (c Config) SMTP() (SMTPServer, error) {
	u, err := url.Parse(c.SMTPURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return SMTPServer{}, fmt.Errorf("CRIER_SMTP_URL must look like smtp://user:password@host:587?tls=starttls")
	}
	s := SMTPServer{Host: u.Hostname(), TLS: "starttls", Port: 587}
	if u.Scheme == "smtps" {
		s.TLS, s.Port = "tls", 465
	}
	// A misspelt option ("?tsl=none") would otherwise be ignored and the default used:
	// every option must be one crier knows, given once, with a value.
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return SMTPServer{}, fmt.Errorf("CRIER_SMTP_URL: the options after ? are not name=value pairs: %v", err)
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch {
		case !slices.Contains(smtpOptions, name):
			hint := ""
			if near, d := spell.Nearest(strings.ToLower(name), smtpOptions); near != "" && d <= max(1, len(near)/2) {
				hint = "; did you mean " + near + "?"
			}
			return SMTPServer{}, fmt.Errorf("CRIER_SMTP_URL: unknown option %q%s (valid options: %s)", name, hint, strings.Join(smtpOptions, ", "))
		case len(q[name]) > 1:
			return SMTPServer{}, fmt.Errorf("CRIER_SMTP_URL: option %s is given %d times; give it once", name, len(q[name]))
		}
	}
	if ts, ok := q["tls"]; ok {
		switch t := ts[0]; t {
		case "none", "starttls", "starttls-required", "tls":
			s.TLS = t
		default:
			return SMTPServer{}, fmt.Errorf("CRIER_SMTP_URL: tls=%q must be none, starttls, starttls-required or tls", t)
		}
	}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil {
			return SMTPServer{}, fmt.Errorf("CRIER_SMTP_URL: port %q is not a number", p)
		}
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}
