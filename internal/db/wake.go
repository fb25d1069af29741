package db

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lib/pq"
)

// WakeChannel is the PostgreSQL notification channel on which the database says that
// work has arrived (migrations/00032_wake.sql): its payload is the table that changed —
// "campaigns" when a campaign is scheduled, "outbox" when a run's messages are queued.
const WakeChannel = "crier_wake"

// Wake turns the database's work notifications into wake-ups for a process's
// scheduler and workers, which otherwise look for work once a poll interval. So a
// campaign sent "now" from the command line, the web app or the API starts at once in
// whichever `crier serve` is running, and its workers start on the messages the moment
// the snapshot commits, instead of up to a poll interval later each time.
//
// A notification can be missed (the listening connection drops): the poll interval
// still applies, so a missed one costs at most that delay, never a message.
type Wake struct {
	l   *pq.Listener
	log *slog.Logger

	mu   sync.Mutex
	gens map[string]chan struct{} // by payload; closed and replaced on each notification
	done chan struct{}
}

// Listen opens a connection that listens for work notifications. Close it when done.
func Listen(ctx context.Context, dsn string, log *slog.Logger) (*Wake, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Wake{log: log, gens: map[string]chan struct{}{}, done: make(chan struct{})}
	w.l = pq.NewListener(dsn, time.Second, 30*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil && ev == pq.ListenerEventConnectionAttemptFailed {
			w.log.Warn("database notifications: reconnecting", "err", err)
		}
	})
	errc := make(chan error, 1)
	go func() { errc <- w.l.Listen(WakeChannel) }()
	select {
	case err := <-errc:
		if err != nil {
			w.l.Close()
			return nil, fmt.Errorf("listen for work on %s: %w", Redact(dsn), err)
		}
	case <-ctx.Done():
		w.l.Close()
		return nil, fmt.Errorf("listen for work on %s: %w", Redact(dsn), ctx.Err())
	}
	go w.run()
	return w, nil
}

func (w *Wake) run() {
	defer close(w.done)
	for n := range w.l.Notify {
		if n == nil {
			// The connection was re-established: anything sent meanwhile is lost, so
			// everyone looks.
			w.wakeAll()
			continue
		}
		w.wake(n.Extra)
	}
}

// C returns a channel closed at the next notification about table ("campaigns",
// "outbox"). Take it before looking for work, then wait on it: a notification that
// arrives while looking is not missed. A nil Wake returns nil (a channel that never
// fires), so code without a listener simply polls.
func (w *Wake) C(table string) <-chan struct{} {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.gens[table]
	if !ok {
		c = make(chan struct{})
		w.gens[table] = c
	}
	return c
}

func (w *Wake) wake(table string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.gens[table]; ok {
		close(c)
		delete(w.gens, table)
	}
}

func (w *Wake) wakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for t, c := range w.gens {
		close(c)
		delete(w.gens, t)
	}
}

// Close stops listening.
func (w *Wake) Close() error {
	if w == nil {
		return nil
	}
	err := w.l.Close()
	<-w.done
	return err
}
