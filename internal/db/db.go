// Package db opens Crier's PostgreSQL pool, applies the embedded migrations and runs the
// private local server used when no DATABASE_URL is configured.
package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/crierhq/crier/migrations"
)

// ErrSchemaOutdated is returned by CheckSchema when migrations are pending.
var ErrSchemaOutdated = errors.New("database schema is out of date: run `crier migrate up`")

// Open connects to the database at dsn and checks that it answers.
func Open(ctx context.Context, dsn string) (*sqlx.DB, error) {
	d, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", Redact(dsn), err)
	}
	return ready(ctx, d, dsn, 20)
}

// ready sizes pool d and checks that the database answers. As many connections are
// kept idle as may be open: with fewer, every burst past the idle count (webhooks after
// a poll, a send's workers) closes connections as soon as they are put back and opens
// new ones a moment later, each a new server process that has to prepare the hot
// path's statements again. At 16 concurrent inbound texts that churn tripled the p99.
func ready(ctx context.Context, d *sqlx.DB, dsn string, conns int) (*sqlx.DB, error) {
	d.SetMaxOpenConns(conns)
	d.SetMaxIdleConns(conns)
	d.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := d.PingContext(pctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("connect to database %s: %w", Redact(dsn), err)
	}
	return d, nil
}

// HotPathConns is the size of a pool from OpenHotPath.
const HotPathConns = 8

// OpenHotPath opens a small pool for a hot path's prepared statements, whose sessions
// plan with generic plans only (plan_cache_mode = force_generic_plan). By default
// PostgreSQL re-plans a prepared statement on every execution while a plan made for
// the values at hand is estimated cheaper than the generic one — and for the outbox's
// group commit, which passes a few ids in arrays, it always is: a fifth of the
// database's work during a send went on planning the same statements again. Only
// statements whose generic plans are known good belong on this pool (the outbox's
// tests EXPLAIN them); every other query, whose plan may depend on its values, stays
// on Open's pool.
func OpenHotPath(ctx context.Context, dsn string) (*sqlx.DB, error) {
	base, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", Redact(dsn), err)
	}
	d := sqlx.NewDb(sql.OpenDB(sessionConnector{Connector: base, setup: `SET plan_cache_mode = force_generic_plan`}), "postgres")
	return ready(ctx, d, dsn, HotPathConns)
}

// sessionConnector runs setup on every new connection before the pool hands it out.
type sessionConnector struct {
	driver.Connector
	setup string
}

func (c sessionConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("database driver can't run %q on connect", c.setup)
	}
	if _, err := ex.ExecContext(ctx, c.setup, nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("set up connection: %w", err)
	}
	return conn, nil
}

// Redact returns dsn with any password replaced, safe to print or log.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "(unparseable database URL)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// lockID is the advisory lock goose holds while migrating, so that two crier processes
// starting at once apply each migration exactly once.
const lockID = 0x63726965 // "crie"

func provider(d *sql.DB, logger *slog.Logger) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker)}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	} else {
		opts = append(opts, goose.WithSlog(slog.New(slog.NewTextHandler(io.Discard, nil))))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, d, migrations.FS, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}

// MigrationResult reports one applied migration.
type MigrationResult struct {
	Version  int64
	Name     string
	Duration time.Duration
}

// Migrate applies every pending migration and reports what it applied.
func Migrate(ctx context.Context, d *sqlx.DB, logger *slog.Logger) ([]MigrationResult, error) {
	p, err := provider(d.DB, logger)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	out := make([]MigrationResult, 0, len(res))
	for _, r := range res {
		out = append(out, MigrationResult{Version: r.Source.Version, Name: path.Base(r.Source.Path), Duration: r.Duration})
	}
	return out, nil
}

// MigrationStatus says whether one migration has been applied, and when.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Status lists every embedded migration with its state in the database.
func Status(ctx context.Context, d *sqlx.DB) ([]MigrationStatus, error) {
	p, err := provider(d.DB, nil)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{
			Version:   s.Source.Version,
			Name:      path.Base(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// CheckSchema returns ErrSchemaOutdated when migrations are pending, so a server refuses
// to run against a schema older than its code.
func CheckSchema(ctx context.Context, d *sqlx.DB) error {
	p, err := provider(d.DB, nil)
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("check schema: %w", err)
	}
	if pending {
		return ErrSchemaOutdated
	}
	return nil
}

// CreateScratch creates an empty database named prefix_<random> on the server of dsn and
// returns its URL and a function that drops it. Benchmarks use it to measure on a clean
// database without touching real data.
func CreateScratch(ctx context.Context, dsn, prefix string) (string, func(context.Context) error, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("scratch database: %w", err)
	}
	admin, err := Open(ctx, dsn)
	if err != nil {
		return "", nil, err
	}
	defer admin.Close()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := fmt.Sprintf("%s_%x", prefix, b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		return "", nil, fmt.Errorf("create scratch database: %w", err)
	}
	u.Path = "/" + name
	drop := func(ctx context.Context) error {
		a, err := Open(ctx, dsn)
		if err != nil {
			return err
		}
		defer a.Close()
		_, err = a.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)")
		return err
	}
	return u.String(), drop, nil
}
