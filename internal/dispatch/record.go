package dispatch

import (
	"context"
	"sync"

	"github.com/crierhq/crier/internal/outbox"
)

// recorder group-commits the steps of one channel's workers in a process: each worker
// records a message handed just before its provider call, together with the result of
// the message before, and every step that arrives while a commit runs goes into the
// next one. So the outbox sees one statement per several messages, not one per
// message, and no message reaches a provider before its mark is committed.
//
// There is no goroutine to own: the worker that finds no commit running leads — it
// commits everything waiting — and, if more steps arrived meanwhile, hands the lead to
// the first of them before returning, so a leader never waits on others' commits. One
// commit runs at a time: the database sees the fewest statements, and more at once
// measured no faster (the statements compete for the same cores).
//
// The commits are synchronous (synchronous_commit stays on). Off, a kill -9 of crier
// would still be safe, as PostgreSQL keeps what it acknowledged; but a PostgreSQL or OS
// crash could lose an acknowledged mark of a message that had already gone, and the
// rescuer would then put it back to pending and send it again.
type recorder struct {
	store *outbox.Store

	mu      sync.Mutex
	busy    bool          // a leader is committing, or has been handed the lead
	pending []*recordCall // waiting for the next commit
}

type recordCall struct {
	step outbox.Step
	held []int64
	err  error
	lead chan struct{} // closed: this call leads the next commit
	done chan struct{} // closed: held and err are set
}

// record commits step with whatever else is waiting and returns the rows of step.Hand
// that the worker still holds. Use a context that outlives shutdown: others' steps may
// ride on this call's commit.
func (r *recorder) record(ctx context.Context, step outbox.Step) ([]int64, error) {
	c := &recordCall{step: step, lead: make(chan struct{}), done: make(chan struct{})}
	r.mu.Lock()
	if r.busy {
		r.pending = append(r.pending, c)
		r.mu.Unlock()
		select {
		case <-c.done:
			return c.held, c.err
		case <-c.lead: // promoted; busy stays set for us
		}
		r.mu.Lock()
	}
	r.busy = true
	calls := append([]*recordCall{c}, r.pending...)
	r.pending = nil
	r.mu.Unlock()

	steps := make([]outbox.Step, len(calls))
	for i, rc := range calls {
		steps[i] = rc.step
	}
	held, err := r.store.Record(ctx, steps)

	r.mu.Lock()
	if len(r.pending) > 0 {
		next := r.pending[0]
		r.pending = r.pending[1:]
		close(next.lead)
	} else {
		r.busy = false
	}
	r.mu.Unlock()
	for i, rc := range calls {
		if err != nil {
			rc.err = err
		} else {
			rc.held = held[i]
		}
		close(rc.done)
	}
	return c.held, c.err
}
