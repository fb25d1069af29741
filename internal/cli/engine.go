package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/bounce"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/lang"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/rights"
	"github.com/crierhq/crier/internal/sandbox"
	"github.com/crierhq/crier/internal/sms"
	"github.com/crierhq/crier/internal/suppression"
	"github.com/crierhq/crier/internal/web"
)

// engine is everything `crier serve` runs: the web server, the scheduler and the
// channel workers, and (for the demo) the sandbox SMTP server standing in for a real one.
type engine struct {
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

	// Bounces: the store the webhooks and the mailbox record into; mailbox is read
	// every bouncePoll when CRIER_BOUNCE_POP3_URL is set.
	bounces    *bounce.Store
	mailbox    *bounce.MailboxConfig
	bouncePoll time.Duration
}

// linkKey returns the key for signed links: CRIER_LINK_KEY, or one generated on first use
// and kept (mode 0600) in the data directory, so links in sent e-bulletins keep working
// across restarts.
func (a *App) linkKey() ([]byte, error) {
	if k := strings.TrimSpace(a.Config.LinkKey); k != "" {
		if b, err := hex.DecodeString(k); err == nil && len(b) >= 32 {
			return b, nil
		}
		if b, err := base64.StdEncoding.DecodeString(k); err == nil && len(b) >= 32 {
			return b, nil
		}
		return nil, errors.New("CRIER_LINK_KEY must be at least 32 bytes, hex or base64 (e.g. openssl rand -hex 32)")
	}
	path := filepath.Join(a.Config.DataDir, "link.key")
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
	if err := os.MkdirAll(a.Config.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("link key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another crier process made it first
		return a.linkKey()
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

// newEngine wires the parts. With useSandbox and no CRIER_SMTP_URL, e-bulletins go to a
// sandbox SMTP server on loopback whose messages can be inspected.
//
// listenAddr is where links in messages point (CRIER_PUBLIC_URL wins); hookAddr is where
// this process listens, which the sandbox's webhooks call.
func (a *App) newEngine(ctx context.Context, d *database, listenAddr, hookAddr string, useSandbox bool) (*engine, error) {
	key, err := a.linkKey()
	if err != nil {
		return nil, err
	}
	signer, err := email.NewSigner(key)
	if err != nil {
		return nil, err
	}
	e := &engine{publicURL: strings.TrimRight(a.Config.PublicURL, "/")}
	if e.publicURL == "" {
		e.publicURL = "http://" + listenAddr
	}
	brand := email.Branding{OrgName: a.Config.OrgName, LogoURL: a.Config.LogoURL,
		PrimaryColour: a.Config.BrandColor, FooterAddress: a.Config.OrgAddress, WebsiteURL: e.publicURL}
	fromAddr := a.Config.From
	if i := strings.LastIndex(fromAddr, "<"); i >= 0 {
		fromAddr = strings.Trim(fromAddr[i:], "<> ")
	}
	fromName := strings.TrimSpace(strings.SplitN(a.Config.From, "<", 2)[0])
	e.composer = email.NewComposer(d.DB, email.ComposerConfig{PublicURL: e.publicURL, FromName: fromName,
		FromAddress: fromAddr, ListDomain: a.Config.ListDomain, Branding: brand, Signer: signer})

	smtpCfg := email.SMTPConfig{Connections: a.Config.SMTPConnections}
	switch {
	case a.Config.SMTPURL != "":
		s, err := a.Config.SMTP()
		if err != nil {
			return nil, err
		}
		smtpCfg.Host, smtpCfg.Port, smtpCfg.Username, smtpCfg.Password, smtpCfg.TLS = s.Host, s.Port, s.Username, s.Password, s.TLS
	case useSandbox:
		e.sandbox, err = sandbox.StartSMTP(ctx, sandbox.SMTPConfig{Addr: "127.0.0.1:0", Logger: a.logger(), Dir: a.sandboxMailDir()})
		if err != nil {
			return nil, err
		}
		host, port, _ := net.SplitHostPort(e.sandbox.Addr())
		smtpCfg.Host, smtpCfg.TLS = host, email.TLSNone
		if smtpCfg.Port, err = strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("sandbox smtp port: %w", err)
		}
		fmt.Fprintf(a.Stderr, "smtp: sandbox server on %s (every message written to %s)\n", e.sandbox.Addr(), a.sandboxMailDir())
	}
	if a.Config.DKIMDomain != "" {
		pem, err := os.ReadFile(a.Config.DKIMKeyFile)
		if err != nil {
			return nil, fmt.Errorf("CRIER_DKIM_KEY_FILE: %w", err)
		}
		smtpCfg.DKIM = &email.DKIMConfig{Domain: a.Config.DKIMDomain, Selector: a.Config.DKIMSelector, PrivateKeyPEM: pem}
	}
	channels := map[dispatch.Channel]dispatch.ChannelConfig{}
	if smtpCfg.Host != "" {
		e.sender, err = email.NewSMTPSender(smtpCfg, a.logger())
		if err != nil {
			return nil, err
		}
		channels[dispatch.Email] = dispatch.ChannelConfig{Sender: e.sender, Composer: e.composer,
			Workers: a.Config.EmailWorkers, Rate: a.Config.EmailRate, Batch: 100, InFlight: a.Config.SMTPConnections}
	} else {
		fmt.Fprintln(a.Stderr, "smtp: none configured (CRIER_SMTP_URL): e-bulletins wait in the outbox")
	}
	if err := a.wireSMS(ctx, e, d, channels, hookAddr, useSandbox); err != nil {
		return nil, err
	}
	e.dispatcher = dispatch.New(dispatch.Config{Instance: a.Config.Instance, Poll: time.Second, Lease: a.Config.OutboxLease,
		Channels: channels, Logger: a.logger()}, outbox.NewStore(d.DB), campaign.NewStore(d.DB, a.logger()))
	var hooks *web.TwilioHooks
	if e.smsSender != nil {
		hooks = &web.TwilioHooks{AuthToken: a.Config.TwilioAuthToken, PublicURL: e.publicURL, Inbox: e.inbox, Outbox: outbox.NewStore(d.DB)}
		if e.twilio != nil {
			// The sandbox calls this process directly and signs what it calls.
			hooks.AuthToken, hooks.PublicURL = sandboxToken, e.hookURL
		}
	}
	app := &web.App{Auth: auth.NewStore(d.DB), Rounds: printrun.NewStore(d.DB), Inbox: e.inbox,
		SecureCookies: strings.HasPrefix(e.publicURL, "https://"), SMSPrice: a.Config.SMSPrice, PublicURL: e.publicURL,
		LeafletDir: filepath.Join(a.Config.DataDir, "leaflets")}
	if a.Config.LogoFile != "" {
		if app.LeafletLogo, err = os.ReadFile(a.Config.LogoFile); err != nil {
			return nil, fmt.Errorf("CRIER_LOGO_FILE: %w", err)
		}
	}
	if e.sender != nil {
		app.Mail, app.MailFrom = e.sender, a.Config.From
	}
	if e.smsSender != nil {
		app.SMS = e.smsSender
	}
	if app.Inbox == nil {
		app.Inbox = inbox.NewStore(d.DB, inbox.Config{OrgName: a.Config.OrgName}, nil) // read-only without SMS
	}
	if app.TwoFactor, err = auth.NewTwoFactor(d.DB, key); err != nil {
		return nil, err
	}
	languages, err := lang.ParseList(a.Config.Languages)
	if err != nil {
		return nil, err
	}
	proxies, err := web.ParseTrustedProxies(a.Config.TrustedProxies)
	if err != nil {
		return nil, err
	}
	supKey, err := suppression.NewKey(key)
	if err != nil {
		return nil, err
	}
	replies, bodies, err := a.Config.Retention()
	if err != nil {
		return nil, err
	}
	e.rights, e.retention, e.instance = rights.NewStore(d.DB, supKey, a.logger()), rights.Policy{Replies: replies, Bodies: bodies}, a.Config.Instance
	bounceHooks, err := a.wireBounces(e, d)
	if err != nil {
		return nil, err
	}
	e.web, err = web.New(web.Config{DB: d.DB, Signer: signer, Suppression: supKey, Composer: e.composer, Branding: brand,
		Logger: a.logger(), Version: version, Twilio: hooks, App: app, PreferencesLinkDays: a.Config.PreferencesLinkDays,
		TrustedProxies: proxies, HSTS: strings.HasPrefix(a.Config.PublicURL, "https://"), Instance: a.Config.Instance, Languages: languages,
		Bounces: bounceHooks})
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

// sandboxMailDir is where the sandbox SMTP server writes what it receives, as .eml files.
func (a *App) sandboxMailDir() string { return filepath.Join(a.Config.DataDir, "sandbox-mail") }

func (e *engine) close() {
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
func (a *App) wireSMS(ctx context.Context, e *engine, d *database, channels map[dispatch.Channel]dispatch.ChannelConfig, hookAddr string, useSandbox bool) error {
	e.hookURL = "http://" + hookAddr
	cfg := sms.TwilioConfig{AccountSID: a.Config.TwilioAccountSID, AuthToken: a.Config.TwilioAuthToken,
		From: a.Config.TwilioFrom, MessagingServiceSID: a.Config.TwilioMessagingService, APIURL: a.Config.TwilioAPIURL,
		StatusCallback: e.publicURL + web.StatusPath}
	switch {
	case cfg.AccountSID != "":
	case useSandbox:
		var err error
		e.twilio, err = sandbox.StartTwilio(ctx, sandbox.TwilioConfig{AccountSID: sandboxAccount, AuthToken: sandboxToken,
			Logger: a.logger(), Dir: filepath.Join(a.Config.DataDir, "sandbox-texts")})
		if err != nil {
			return err
		}
		cfg.AccountSID, cfg.AuthToken, cfg.From, cfg.MessagingServiceSID, cfg.APIURL = sandboxAccount, sandboxToken, sandboxFrom, "", e.twilio.URL()
		cfg.StatusCallback = e.hookURL + web.StatusPath
		fmt.Fprintf(a.Stderr, "sms: sandbox Twilio on %s (every text written to %s)\n", e.twilio.URL(), filepath.Join(a.Config.DataDir, "sandbox-texts"))
	default:
		fmt.Fprintln(a.Stderr, "sms: none configured (CRIER_TWILIO_ACCOUNT_SID): texts wait in the outbox")
		return nil
	}
	quiet, err := sms.ParseQuietHours(a.Config.QuietHours, campaign.London)
	if err != nil {
		return fmt.Errorf("CRIER_QUIET_HOURS: %w", err)
	}
	e.smsSender, err = sms.NewTwilioSender(cfg, a.logger())
	if err != nil {
		return err
	}
	e.smsFrom = cfg.From
	e.inbox = inbox.NewStore(d.DB, inbox.Config{OrgName: a.Config.OrgName, HelpText: a.Config.SMSHelp, HelpTextWelsh: a.Config.SMSHelpWelsh}, e.smsSender)
	// Small batches: at a few texts a second a big claim would hold rows for minutes,
	// and quiet hours are checked at each claim.
	batch := max(1, min(50, int(a.Config.SMSRate)))
	channels[dispatch.SMS] = dispatch.ChannelConfig{Sender: e.smsSender, Composer: sms.NewComposer(d.DB),
		Workers: a.Config.SMSWorkers, Rate: a.Config.SMSRate, Batch: batch, Quiet: quiet.Contains}
	return nil
}

// run serves HTTP on ln and runs the dispatcher until ctx ends, then shuts both down.
func (e *engine) run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: e.web.Handler(), ReadHeaderTimeout: 10 * time.Second}
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
