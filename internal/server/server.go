// Package server wires what `crier serve` runs from the configuration: the web server with
// Twilio's webhooks, the scheduler and the channel workers, retention, and (for the demo
// and --sandbox) the sandbox SMTP server and sandbox phone standing in for real ones.
package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/errgroup"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/bounce"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/config"
	"github.com/crierhq/crier/internal/db"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/lang"
	"github.com/crierhq/crier/internal/metrics"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/rights"
	"github.com/crierhq/crier/internal/sandbox"
	"github.com/crierhq/crier/internal/sms"
	"github.com/crierhq/crier/internal/suppression"
	"github.com/crierhq/crier/internal/web"
)

// Options are what New wires an Engine from.
type Options struct {
	Config config.Config
	DB     *sqlx.DB
	// HotPathDB, if set, is a pool from db.OpenHotPath for the outbox's claims and
	// records (the senders' hot path).
	HotPathDB *sqlx.DB
	// Wake, if set, listens for the database's work notifications (db.Listen), so a
	// campaign sent now starts at once rather than at the scheduler's next look.
	Wake   *db.Wake
	Logger *slog.Logger
	// Notices is where the wiring says what it chose ("smtp: sandbox server on …").
	Notices io.Writer
	Version string // reported by /readyz
	// ListenAddr is where links in messages point when CRIER_PUBLIC_URL is unset; HookAddr
	// is where this process listens, which the sandbox's webhooks call.
	ListenAddr, HookAddr string
	// Sandbox: with no CRIER_SMTP_URL, e-bulletins go to a sandbox SMTP server on
	// loopback whose messages can be inspected; with no Twilio account, texts go to the
	// Twilio-compatible sandbox (the sandbox phone).
	Sandbox bool
}

// Engine is everything `crier serve` runs: the web server, the scheduler and the
// channel workers, and (for the demo) the sandbox SMTP server standing in for a real one.
type Engine struct {
	dispatcher *dispatch.Dispatcher
	web        *web.Server
	sender     *email.SMTPSender
	sandbox    *sandbox.SMTPServer
	composer   *email.Composer
	publicURL  string

	// SMS: the Twilio sender, or nil; with useSandbox and no Twilio account, twilio is
	// the Twilio-compatible sandbox ("sandbox phone") the sender talks to.
	smsSender *sms.TwilioSender
	twilio    *sandbox.TwilioServer
	inbox     *inbox.Store
	smsFrom   string
	hookURL   string // http://hookAddr: where the sandbox sends its webhooks

	// The retention policy for texts' words (CRIER_RETENTION_*), applied daily.
	rights    *rights.Store
	retention rights.Policy
	instance  string

	metrics *metrics.Metrics // /metrics (CRIER_METRICS_TOKEN) and what the workers count

	// Bounces: the store the webhooks and the mailbox record into; mailbox is read
	// every bouncePoll when CRIER_BOUNCE_POP3_URL is set.
	bounces    *bounce.Store
	mailbox    *bounce.MailboxConfig
	bouncePoll time.Duration
}

// linkKey returns the key for signed links: CRIER_LINK_KEY, or one generated on first use
// and kept (mode 0600) in the data directory, so links in sent e-bulletins keep working
// across restarts.
func LinkKey(cfg config.Config) ([]byte, error) {
	if k := strings.TrimSpace(cfg.LinkKey); k != "" {
		if b, err := hex.DecodeString(k); err == nil && len(b) >= 32 {
			return b, nil
		}
		if b, err := base64.StdEncoding.DecodeString(k); err == nil && len(b) >= 32 {
			return b, nil
		}
		return nil, errors.New("CRIER_LINK_KEY must be at least 32 bytes, hex or base64 (e.g. openssl rand -hex 32)")
	}
	path := filepath.Join(cfg.DataDir, "link.key")
	if b, err := os.ReadFile(path); err == nil {
		if k, err := hex.DecodeString(strings.TrimSpace(string(b))); err == nil && len(k) >= 32 {
			return k, nil
		}
		return nil, fmt.Errorf("%s is not a hex key of at least 32 bytes", path)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("link key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another crier process made it first
		return LinkKey(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("link key: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

// New wires the parts.
func New(ctx context.Context, o Options) (*Engine, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Notices == nil {
		o.Notices = io.Discard
	}
	cfg, logger, pool, listenAddr, useSandbox := o.Config, o.Logger, o.DB, o.ListenAddr, o.Sandbox
	key, err := LinkKey(cfg)
	if err != nil {
		return nil, err
	}
	signer, err := email.NewSigner(key)
	if err != nil {
		return nil, err
	}
	e := &Engine{publicURL: strings.TrimRight(cfg.PublicURL, "/")}
	if e.publicURL == "" {
		e.publicURL = "http://" + listenAddr
	}
	brand := email.Branding{OrgName: cfg.OrgName, LogoURL: cfg.LogoURL,
		PrimaryColour: cfg.BrandColor, FooterAddress: cfg.OrgAddress, WebsiteURL: e.publicURL}
	fromAddr := cfg.From
	if i := strings.LastIndex(fromAddr, "<"); i >= 0 {
		fromAddr = strings.Trim(fromAddr[i:], "<> ")
	}
	fromName := strings.TrimSpace(strings.SplitN(cfg.From, "<", 2)[0])
	e.composer = email.NewComposer(pool, email.ComposerConfig{PublicURL: e.publicURL, FromName: fromName,
		FromAddress: fromAddr, ListDomain: cfg.ListDomain, Branding: brand, Signer: signer})

	smtpCfg := email.SMTPConfig{Connections: cfg.SMTPConnections}
	switch {
	case cfg.SMTPURL != "":
		s, err := cfg.SMTP()
		if err != nil {
			return nil, err
		}
		smtpCfg.Host, smtpCfg.Port, smtpCfg.Username, smtpCfg.Password, smtpCfg.TLS = s.Host, s.Port, s.Username, s.Password, s.TLS
	case useSandbox:
		e.sandbox, err = sandbox.StartSMTP(ctx, sandbox.SMTPConfig{Addr: "127.0.0.1:0", Logger: logger, Dir: SandboxMailDir(cfg)})
		if err != nil {
			return nil, err
		}
		host, port, _ := net.SplitHostPort(e.sandbox.Addr())
		smtpCfg.Host, smtpCfg.TLS = host, email.TLSNone
		if smtpCfg.Port, err = strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("sandbox smtp port: %w", err)
		}
		fmt.Fprintf(o.Notices, "smtp: sandbox server on %s (every message written to %s)\n", e.sandbox.Addr(), SandboxMailDir(cfg))
	}
	if cfg.DKIMDomain != "" {
		pem, err := os.ReadFile(cfg.DKIMKeyFile)
		if err != nil {
			return nil, fmt.Errorf("CRIER_DKIM_KEY_FILE: %w", err)
		}
		smtpCfg.DKIM = &email.DKIMConfig{Domain: cfg.DKIMDomain, Selector: cfg.DKIMSelector, PrivateKeyPEM: pem}
	}
	channels := map[dispatch.Channel]dispatch.ChannelConfig{}
	if smtpCfg.Host != "" {
		e.sender, err = email.NewSMTPSender(smtpCfg, logger)
		if err != nil {
			return nil, err
		}
		channels[dispatch.Email] = dispatch.ChannelConfig{Sender: e.sender, Composer: e.composer,
			Workers: cfg.EmailWorkers, Rate: cfg.EmailRate, Batch: 100, InFlight: cfg.SMTPConnections}
	} else {
		fmt.Fprintln(o.Notices, "smtp: none configured (CRIER_SMTP_URL): e-bulletins wait in the outbox")
	}
	if err := e.wireSMS(ctx, o, channels); err != nil {
		return nil, err
	}
	e.metrics = metrics.New(pool, metrics.Config{Token: cfg.MetricsToken})
	dispatchOutbox := outbox.NewStore(pool)
	if o.HotPathDB != nil {
		dispatchOutbox.WithHotPath(o.HotPathDB)
	}
	dcfg := dispatch.Config{Instance: cfg.Instance, Poll: time.Second, Lease: cfg.OutboxLease,
		Channels: channels, Logger: logger, Observer: e.metrics}
	if o.Wake != nil {
		dcfg.Wake = o.Wake
	}
	e.dispatcher = dispatch.New(dcfg, dispatchOutbox, campaign.NewStore(pool, logger))
	var hooks *web.TwilioHooks
	if e.smsSender != nil {
		hooks = &web.TwilioHooks{AuthToken: cfg.TwilioAuthToken, PublicURL: e.publicURL, Inbox: e.inbox, Outbox: outbox.NewStore(pool),
			OnStatus: e.metrics.DeliveryReport}
		if e.twilio != nil {
			// The sandbox calls this process directly and signs what it calls.
			hooks.AuthToken, hooks.PublicURL = sandboxToken, e.hookURL
		}
	}
	app := &web.App{Auth: auth.NewStore(pool), Rounds: printrun.NewStore(pool), Inbox: e.inbox,
		SecureCookies: strings.HasPrefix(e.publicURL, "https://"), SMSPrice: cfg.SMSPrice, PublicURL: e.publicURL,
		LeafletDir: filepath.Join(cfg.DataDir, "leaflets")}
	if cfg.LogoFile != "" {
		if app.LeafletLogo, err = os.ReadFile(cfg.LogoFile); err != nil {
			return nil, fmt.Errorf("CRIER_LOGO_FILE: %w", err)
		}
	}
	if e.sender != nil {
		app.Mail, app.MailFrom = e.sender, cfg.From
	}
	if e.smsSender != nil {
		app.SMS = e.smsSender
	}
	if app.Inbox == nil {
		app.Inbox = inbox.NewStore(pool, inbox.Config{OrgName: cfg.OrgName}, nil) // read-only without SMS
	}
	if app.TwoFactor, err = auth.NewTwoFactor(pool, key); err != nil {
		return nil, err
	}
	languages, err := lang.ParseList(cfg.Languages)
	if err != nil {
		return nil, err
	}
	proxies, err := web.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	supKey, err := suppression.NewKey(key)
	if err != nil {
		return nil, err
	}
	replies, bodies, err := cfg.Retention()
	if err != nil {
		return nil, err
	}
	e.rights, e.retention, e.instance = rights.NewStore(pool, supKey, logger), rights.Policy{Replies: replies, Bodies: bodies}, cfg.Instance
	bounceHooks, err := e.wireBounces(o)
	if err != nil {
		return nil, err
	}
	e.web, err = web.New(web.Config{DB: pool, Signer: signer, Suppression: supKey, Composer: e.composer, Branding: brand,
		Logger: logger, Version: o.Version, Twilio: hooks, App: app, PreferencesLinkDays: cfg.PreferencesLinkDays,
		TrustedProxies: proxies, HSTS: strings.HasPrefix(cfg.PublicURL, "https://"), Instance: cfg.Instance, Languages: languages,
		DefaultRegion: cfg.DefaultRegion, Bounces: bounceHooks})
	if err != nil {
		return nil, err
	}
	// Imports a stopped server was running stay "running" and keep their uploads (residents'
	// data) until a server says otherwise.
	if err := e.web.RecoverImports(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// SandboxMailDir is where the sandbox SMTP server writes what it receives, as .eml files.
func SandboxMailDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "sandbox-mail") }

// Close stops the SMTP connections and the sandboxes.
func (e *Engine) Close() {
	if e.sender != nil {
		_ = e.sender.Close()
	}
	if e.sandbox != nil {
		_ = e.sandbox.Close()
	}
	if e.twilio != nil {
		_ = e.twilio.Close()
	}
}

// The sandbox's fixed fake account: it only ever exists on loopback.
const (
	sandboxAccount = "AC00000000000000000000000000000000"
	sandboxToken   = "sandbox0auth0token0not0a0secret0"
	sandboxFrom    = "+447700900999"
)

// wireSMS adds the SMS channel when a Twilio account is configured, or (useSandbox) the
// Twilio-compatible sandbox. Texts then leave through twilio-go at CRIER_SMS_RATE, held
// during quiet hours unless urgent, and Twilio's webhooks come back to the web server.
func (e *Engine) wireSMS(ctx context.Context, o Options, channels map[dispatch.Channel]dispatch.ChannelConfig) error {
	c, logger, pool := o.Config, o.Logger, o.DB
	e.hookURL = "http://" + o.HookAddr
	cfg := sms.TwilioConfig{AccountSID: c.TwilioAccountSID, AuthToken: c.TwilioAuthToken,
		From: c.TwilioFrom, MessagingServiceSID: c.TwilioMessagingService, APIURL: c.TwilioAPIURL,
		StatusCallback: e.publicURL + web.StatusPath}
	switch {
	case cfg.AccountSID != "":
	case o.Sandbox:
		var err error
		e.twilio, err = sandbox.StartTwilio(ctx, sandbox.TwilioConfig{AccountSID: sandboxAccount, AuthToken: sandboxToken,
			Logger: logger, Dir: filepath.Join(c.DataDir, "sandbox-texts")})
		if err != nil {
			return err
		}
		cfg.AccountSID, cfg.AuthToken, cfg.From, cfg.MessagingServiceSID, cfg.APIURL = sandboxAccount, sandboxToken, sandboxFrom, "", e.twilio.URL()
		cfg.StatusCallback = e.hookURL + web.StatusPath
		fmt.Fprintf(o.Notices, "sms: sandbox Twilio on %s (every text written to %s)\n", e.twilio.URL(), filepath.Join(c.DataDir, "sandbox-texts"))
	default:
		fmt.Fprintln(o.Notices, "sms: none configured (CRIER_TWILIO_ACCOUNT_SID): texts wait in the outbox")
		return nil
	}
	quiet, err := sms.ParseQuietHours(c.QuietHours, campaign.London)
	if err != nil {
		return fmt.Errorf("CRIER_QUIET_HOURS: %w", err)
	}
	e.smsSender, err = sms.NewTwilioSender(cfg, logger)
	if err != nil {
		return err
	}
	e.smsFrom = cfg.From
	e.inbox = inbox.NewStore(pool, inbox.Config{OrgName: c.OrgName, HelpText: c.SMSHelp, HelpTextWelsh: c.SMSHelpWelsh}, e.smsSender)
	// Small batches: at a few texts a second a big claim would hold rows for minutes,
	// and quiet hours are checked at each claim.
	batch := max(1, min(50, int(c.SMSRate)))
	channels[dispatch.SMS] = dispatch.ChannelConfig{Sender: e.smsSender, Composer: sms.NewComposer(pool),
		Workers: c.SMSWorkers, Rate: c.SMSRate, Batch: batch, Quiet: quiet.Contains}
	return nil
}

// Run serves HTTP on ln and runs the dispatcher until ctx ends, then shuts both down.
func (e *Engine) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: e.metrics.Wrap(e.web.Handler()), ReadHeaderTimeout: 10 * time.Second}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
	g.Go(func() error { return e.dispatcher.Run(gctx) })
	g.Go(func() error {
		return e.rights.RunRetention(gctx, e.retention, 24*time.Hour, audit.Entry{Actor: "serve:" + e.instance})
	})
	if e.mailbox != nil {
		g.Go(func() error { return e.bounces.Poll(gctx, *e.mailbox, e.bouncePoll) })
	}
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	return g.Wait()
}

// SandboxSMTP is the sandbox SMTP server e-bulletins go to, or nil.
func (e *Engine) SandboxSMTP() *sandbox.SMTPServer { return e.sandbox }

// SandboxPhone is the Twilio-compatible sandbox texts go to, or nil.
func (e *Engine) SandboxPhone() *sandbox.TwilioServer { return e.twilio }

// Inbox is the store of residents' texts, or nil without SMS.
func (e *Engine) Inbox() *inbox.Store { return e.inbox }

// TextAsResident sends body from a resident's number through the sandbox phone to this
// engine's signed inbound webhook, as Twilio does, and returns the webhook's status and
// TwiML answer.
func (e *Engine) TextAsResident(ctx context.Context, from, body string) (int, string, error) {
	if e.twilio == nil {
		return 0, "", errors.New("no sandbox phone: a Twilio account is configured")
	}
	return e.twilio.SendInbound(ctx, e.hookURL+web.InboundPath, from, e.smsFrom, body)
}
