package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/bounce"
	"github.com/crierhq/crier/internal/config"
	"github.com/crierhq/crier/internal/web"
)

// BounceStore returns the bounce store with the soft-bounce policy of CRIER_BOUNCE_*.
func BounceStore(cfg config.Config, pool *sqlx.DB, logger *slog.Logger) (*bounce.Store, error) {
	window, err := cfg.Bounce.Window()
	if err != nil {
		return nil, err
	}
	return bounce.NewStore(pool, bounce.Policy{SoftThreshold: cfg.Bounce.SoftThreshold, SoftWindow: window}, logger), nil
}

// bounceHooks returns the providers' webhooks configured by CRIER_BOUNCE_*; nil when
// none is.
func bounceHooks(cfg config.Config) (*bounce.Hooks, error) {
	b := cfg.Bounce
	if len(b.Webhooks()) == 0 {
		return nil, nil
	}
	// One certificate fetcher for the process, so SNS's few certificates are fetched once.
	client := &http.Client{Timeout: 10 * time.Second}
	h := &bounce.Hooks{SES: bounce.SESConfig{Topics: b.TopicARNs(), Fetch: bounce.HTTPCertFetcher(client), Client: client},
		PostmarkToken: b.PostmarkToken, MailgunKey: b.MailgunKey}
	if b.SendGridKey != "" {
		k, err := bounce.ParseSendGridKey(b.SendGridKey)
		if err != nil {
			return nil, err
		}
		h.SendGridKey = k
	}
	return h, nil
}

// wireBounces sets up bounce processing: the store, the mailbox to poll
// (CRIER_BOUNCE_POP3_URL) and the providers' webhooks, saying which are on (never their
// secrets). It returns nil hooks when no provider is configured.
func (e *Engine) wireBounces(o Options) (*web.BounceHooks, error) {
	cfg := o.Config
	s, err := BounceStore(cfg, o.DB, o.Logger)
	if err != nil {
		return nil, err
	}
	e.bounces = s
	if cfg.Bounce.POP3URL != "" {
		mb, err := bounce.ParseMailboxURL(cfg.Bounce.POP3URL)
		if err != nil {
			return nil, err
		}
		e.mailbox, e.bouncePoll = &mb, cfg.Bounce.PollInterval
		fmt.Fprintf(o.Notices, "bounces: reading the bounce mailbox on %s every %s\n", mb.Addr, e.bouncePoll)
	}
	h, err := bounceHooks(cfg)
	if err != nil || h == nil {
		return nil, err
	}
	fmt.Fprintf(o.Notices, "bounces: webhooks for %s at %s%s{provider}\n", strings.Join(cfg.Bounce.Webhooks(), ", "), e.publicURL, web.BouncePath)
	return &web.BounceHooks{Hooks: h, Store: s}, nil
}
