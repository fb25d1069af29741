package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/outbox"
)

// Composer turns leased outbox items of one channel into messages: it loads what the
// batch needs (campaign content compiled once per run, the recipients' fields in one
// query) and renders each. An item it cannot render comes back as a failed Result
// instead of a Message.
type Composer interface {
	Compose(ctx context.Context, items []outbox.Item) ([]Message, []outbox.Result, error)
}

// ChannelConfig wires one channel.
type ChannelConfig struct {
	Sender   Sender
	Composer Composer
	Workers  int     // concurrent senders (default 4)
	Batch    int     // rows claimed at once per worker (default 50)
	Rate     float64 // messages per second across this process (0 = unlimited)
	// InFlight is how many messages this process may have handed to the provider at
	// once (default Workers, and never more than a sender's Connections): its SMTP
	// connections, or its concurrent API requests. A crash leaves at most this many
	// messages unknown.
	InFlight int
	// Quiet, if set, says whether t falls in the channel's quiet hours (no texts late at
	// night): then only urgent campaigns' messages are claimed; the rest wait, pending.
	Quiet func(t time.Time) bool
}

// Config configures a Dispatcher.
type Config struct {
	Instance     string        // names this process in outbox leases (locked_by)
	Poll         time.Duration // how often idle workers and the scheduler look for work (default 1s)
	Lease        time.Duration // how long a claim lasts before the rescuer may take it back (default 2m)
	Channels     map[Channel]ChannelConfig
	Logger       *slog.Logger
	NoScheduling bool // run workers only (tests of several instances share one scheduler)
	// DownPause is how long a channel's workers hold off after a send finds the channel
	// down (its relay or API unreachable) before trying again (default 15s).
	DownPause time.Duration
	// Observer, if set, is told how each message a worker settles ended (metrics).
	Observer Observer
	// Wake, if set, wakes the scheduler when a campaign is scheduled and idle workers
	// when messages are queued, in any process (db.Listen); without it they look once
	// a Poll.
	Wake Waker
}

// Waker says when work may have arrived: C returns a channel closed at the next
// notification about table ("campaigns" or "outbox"). *db.Wake is one.
type Waker interface {
	C(table string) <-chan struct{}
}

// Observer is told the outcome of every message a worker settles: each send's (err is
// the sender's error, nil when the provider accepted it) and each that could not be
// composed (err nil). It is called on the workers' goroutines, so it must be quick and
// safe for concurrent use. err may quote an address: use only its class and code.
type Observer interface {
	Settled(ch Channel, outcome outbox.Outcome, err error)
}

// Dispatcher runs the scheduler, the rescuer and the workers of every configured channel.
type Dispatcher struct {
	cfg       Config
	outbox    *outbox.Store
	campaigns *campaign.Store
	log       *slog.Logger
	health    *health
}

// New returns a Dispatcher.
func New(cfg Config, ob *outbox.Store, cs *campaign.Store) *Dispatcher {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.DownPause <= 0 {
		cfg.DownPause = 15 * time.Second
	}
	return &Dispatcher{cfg: cfg, outbox: ob, campaigns: cs, log: cfg.Logger, health: newHealth(ob, cfg.Instance, cfg.Logger)}
}

// Run works until ctx is cancelled, then returns once every goroutine it started has
// stopped (in-flight sends finish and are recorded first).
func (d *Dispatcher) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	if !d.cfg.NoScheduling {
		g.Go(func() error { return d.every(gctx, d.cfg.Poll, "campaigns", d.schedule) })
		g.Go(func() error { return d.every(gctx, d.cfg.Lease/4, "", d.rescue) })
	}
	for ch, cc := range d.cfg.Channels {
		workers := cc.Workers
		if workers <= 0 {
			workers = 4
		}
		var lim *rate.Limiter
		if cc.Rate > 0 {
			lim = rate.NewLimiter(rate.Limit(cc.Rate), max(1, int(cc.Rate/10)))
		}
		lane := &lane{ch: ch, cc: cc, lim: lim, th: &throttle{}, rec: &recorder{store: d.outbox},
			slots: make(chan struct{}, inFlight(cc, workers))}
		for i := range workers {
			id := fmt.Sprintf("%s/%s/%d", d.cfg.Instance, ch, i)
			g.Go(func() error { return d.work(gctx, id, lane) })
		}
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// every runs fn now and then every interval until ctx ends, and at once when the
// database notifies about table ("": only on the interval); fn's errors are logged,
// not fatal (the database may be briefly unreachable).
func (d *Dispatcher) every(ctx context.Context, interval time.Duration, table string, fn func(context.Context) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		woken := d.wake(table)
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "dispatcher task", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-woken:
		}
	}
}

// wake returns a channel closed at the next notification about table (nil, which never
// fires, without a Waker or a table). Take it before looking for work.
func (d *Dispatcher) wake(table string) <-chan struct{} {
	if d.cfg.Wake == nil || table == "" {
		return nil
	}
	return d.cfg.Wake.C(table)
}

func (d *Dispatcher) schedule(ctx context.Context) error {
	if _, err := d.campaigns.StartDue(ctx, time.Now()); err != nil {
		return err
	}
	_, err := d.campaigns.FinishRuns(ctx)
	return err
}

func (d *Dispatcher) rescue(ctx context.Context) error {
	requeued, unknown, err := d.outbox.Rescue(ctx)
	if requeued+unknown > 0 {
		d.log.WarnContext(ctx, "rescued expired leases", "requeued", requeued, "unknown", unknown)
	}
	if err != nil {
		return err
	}
	if _, ok := d.cfg.Channels[SMS]; ok {
		return d.outbox.ApplyLateStatuses(ctx)
	}
	return nil
}

// lane is what the workers of one channel share in a process.
type lane struct {
	ch  Channel
	cc  ChannelConfig
	lim *rate.Limiter // the channel's rate, or nil
	th  *throttle
	rec *recorder
	// slots bounds the messages handed to the provider and not yet settled: a worker
	// takes a slot before it marks its first message handed and gives it back once its
	// last result is committed, and holds at most one such message meanwhile.
	slots chan struct{}
}

// inFlight is the channel's bound on messages handed and not settled (ChannelConfig.InFlight).
func inFlight(cc ChannelConfig, workers int) int {
	n := cc.InFlight
	if n <= 0 {
		n = workers
	}
	// A sender with a fixed pool (SMTP connections) would make the rest wait inside Send
	// while already marked handed: more unknown after a crash for no more speed.
	if p, ok := cc.Sender.(interface{ Connections() int }); ok && p.Connections() > 0 {
		n = min(n, p.Connections())
	}
	return n
}

// work is one worker: claim a batch, compose, then for each message record it handed
// just before sending it (honouring the channel's rate), and record each result.
func (d *Dispatcher) work(ctx context.Context, id string, l *lane) error {
	batch := l.cc.Batch
	if batch <= 0 {
		batch = 50
	}
	idle := time.NewTimer(0)
	defer idle.Stop()
	var woken <-chan struct{} // closed when the database says messages were queued
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-idle.C:
		case <-woken:
			idle.Stop() // (since Go 1.23 a stopped timer's channel holds nothing stale)
		}
		woken = d.wake("outbox")
		if wait := l.th.wait(); wait > 0 {
			// The provider asked us to slow down: every worker of the channel holds off.
			idle.Reset(wait)
			continue
		}
		b := batch
		if d.health.isDown(l.ch) {
			b = 1 // a probe: while the channel is down, each try costs one message, not a batch
		}
		n, err := d.workOnce(ctx, id, l, b)
		if err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "worker batch", "worker", id, "err", err)
		}
		if n > 0 && err == nil {
			idle.Reset(0) // more may be waiting
		} else {
			idle.Reset(d.cfg.Poll)
		}
	}
}

func (d *Dispatcher) workOnce(ctx context.Context, id string, l *lane, batch int) (int, error) {
	// Claims, marks and results use a context that outlives shutdown by a little, so a
	// message that was sent is always recorded.
	dbctx := context.WithoutCancel(ctx)
	quiet := l.cc.Quiet != nil && l.cc.Quiet(time.Now())
	items, err := d.outbox.ClaimFor(ctx, outbox.Claim{Channel: string(l.ch), Worker: id, N: batch,
		Lease: d.cfg.Lease, UrgentOnly: quiet})
	if err != nil || len(items) == 0 {
		return 0, err
	}
	// While the batch is in flight its leases are renewed every third of the lease, so a
	// slow relay never makes this worker look dead to the rescuer (which would mark rows
	// we are still sending "unknown" and tempt an officer to resend them).
	stopRenew := d.renewWhileSending(dbctx, id)
	defer stopRenew()
	msgs, results, err := l.cc.Composer.Compose(dbctx, items)
	if err != nil {
		return 0, fmt.Errorf("compose: %w", err) // the lease expires and the rescuer requeues them
	}
	for _, r := range results {
		d.observe(l.ch, r, nil)
	}
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		// Shutting down before anything was handed: give the batch back, due at once.
		for _, m := range msgs {
			results = append(results, heldBack(m.OutboxID))
		}
		_, err := l.rec.record(dbctx, outbox.Step{Worker: id, Results: results})
		return len(items), err
	}
	defer func() { <-l.slots }()
	return len(items), d.sendBatch(ctx, dbctx, id, l, msgs, results)
}

// sendBatch sends msgs one at a time while the worker holds one of the lane's slots.
// Each message is marked handed in the same group commit that records the result of the
// one before, and is sent only once that commit is done: so at any instant the worker
// has at most one message handed and unsettled, and a crash can leave at most that one
// unknown. results (compose failures, never handed) are recorded with the first commit.
func (d *Dispatcher) sendBatch(ctx, dbctx context.Context, id string, l *lane, msgs []Message, results []outbox.Result) error {
	for i, m := range msgs {
		if l.lim != nil && len(results) > 0 && l.lim.Tokens() < 1 {
			// The channel's rate makes us wait: record what has been sent first, so that
			// it is not left unknown by a crash meanwhile.
			if _, err := l.rec.record(dbctx, outbox.Step{Worker: id, Results: results}); err != nil {
				return err
			}
			results = nil
		}
		if ctx.Err() != nil || l.th.wait() > 0 || (l.lim != nil && l.lim.Wait(ctx) != nil) {
			// Shutting down, or the provider asked us to slow down: give back what we
			// have not handed over, due at once and without counting an attempt.
			for _, m := range msgs[i:] {
				results = append(results, heldBack(m.OutboxID))
			}
			break
		}
		held, err := l.rec.record(dbctx, outbox.Step{Worker: id, Results: results, Hand: []int64{m.OutboxID}})
		if err != nil {
			return err // unsettled rows stay leased: the rescuer classifies them when the lease runs out
		}
		results = nil
		if len(held) == 0 {
			continue // rescued meanwhile: someone else decides its fate
		}
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		rcpt, err := l.cc.Sender.Send(sctx, m)
		cancel()
		d.afterSend(ctx, l.ch, l.th, err)
		if errors.Is(err, ErrThrottled) {
			var se *SendError
			pause := 5 * time.Second
			if errors.As(err, &se) && se.RetryAfter > pause {
				pause = se.RetryAfter
			}
			l.th.hold(pause)
			d.log.WarnContext(ctx, "provider throttling: holding the channel", "channel", l.ch, "pause", pause)
		}
		r := classify(m.OutboxID, rcpt, err)
		d.observe(l.ch, r, err)
		results = append(results, r)
	}
	if len(results) == 0 {
		return nil
	}
	_, err := l.rec.record(dbctx, outbox.Step{Worker: id, Results: results})
	return err
}

// observe tells the Observer, if any, how a message ended.
func (d *Dispatcher) observe(ch Channel, r outbox.Result, err error) {
	if d.cfg.Observer != nil {
		d.cfg.Observer.Settled(ch, r.Outcome, err)
	}
}

// heldBack is the result of a claimed message that was never handed to the provider.
func heldBack(id int64) outbox.Result {
	return outbox.Result{ID: id, Outcome: outbox.Retry, Reason: "held back before sending", Now: true}
}

// renewWhileSending renews worker's leases every third of the lease until the returned
// function is called (which waits for the renewer to stop).
func (d *Dispatcher) renewWhileSending(ctx context.Context, worker string) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := d.outbox.Renew(ctx, worker, d.cfg.Lease); err != nil && ctx.Err() == nil {
					d.log.WarnContext(ctx, "could not renew leases; the rescuer may take rows still being sent", "worker", worker, "error", err)
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// afterSend is told every send's outcome: it follows the channel's health, and while
// the channel is down holds its workers off for DownPause (what they hold back waits in
// the outbox, due at once and with no attempt counted).
func (d *Dispatcher) afterSend(ctx context.Context, ch Channel, th *throttle, err error) {
	if d.health.observe(ctx, ch, err) {
		th.hold(d.cfg.DownPause)
	}
}

// classify turns a sender's answer into an outbox result.
func classify(id int64, rcpt Receipt, err error) outbox.Result {
	if err == nil {
		return outbox.Result{ID: id, Outcome: outbox.Sent, ProviderID: rcpt.ProviderID}
	}
	r := outbox.Result{ID: id, Outcome: outbox.Retry, Reason: "send failed"}
	var se *SendError
	if errors.As(err, &se) {
		r.Reason, r.RetryAfter = se.Error(), se.RetryAfter
	} else if errors.Is(err, context.DeadlineExceeded) {
		r.Reason = "provider timed out"
	}
	switch {
	case errors.Is(err, ErrPermanent) && se != nil && se.MessageOnly:
		r.Outcome = outbox.Failed
	case errors.Is(err, ErrPermanent):
		r.Outcome = outbox.Bounced
	case errors.Is(err, ErrOptedOut):
		r.Outcome = outbox.OptedOut
	case errors.Is(err, ErrUnknown):
		r.Outcome = outbox.Unknown
	}
	if _, down := IsDown(err); down && r.Outcome == outbox.Retry {
		// The channel was down, not this message: it never reached the provider, so it
		// waits for the channel without using up an attempt (afterSend holds the
		// channel off meanwhile).
		r.Now = true
	}
	return r
}

// throttle holds every worker of a channel back while the provider is throttling us
// (SMTP 421/4.7.x, HTTP 429): slowing down loses nothing, since held messages stay in
// the outbox.
type throttle struct {
	mu    sync.Mutex
	until time.Time
}

func (t *throttle) hold(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u := time.Now().Add(d); u.After(t.until) {
		t.until = u
	}
}

// wait returns how long the channel must still hold off (0: go ahead).
func (t *throttle) wait() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return max(0, time.Until(t.until))
}
