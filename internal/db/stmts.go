package db

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Stmts prepares each query once on a pool and hands the same statement back after
// that: for hot paths (the outbox's claims, Twilio's webhooks), where parsing and
// planning a statement costs as much as running it. database/sql re-prepares a statement
// on each pooled connection as needed. The zero value is ready to use.
type Stmts struct {
	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt
}

// Get returns query prepared on db.
func (c *Stmts) Get(ctx context.Context, db *sqlx.DB, query string) (*sqlx.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.stmts[query]; st != nil {
		return st, nil
	}
	st, err := db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.stmts == nil {
		c.stmts = map[string]*sqlx.Stmt{}
	}
	c.stmts[query] = st
	return st, nil
}
