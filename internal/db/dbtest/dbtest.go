// Package dbtest hands each test its own throwaway PostgreSQL database, cloned from a
// migrated template so that a fresh database costs milliseconds, not a migration run.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/db"
	"github.com/crierhq/crier/migrations"
)

// DefaultURL is the server tests use when TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// templateLock serialises template creation across `go test` processes (packages run in
// parallel, each in its own process).
const templateLock = 0x63726574 // "cret"

var (
	tmplOnce sync.Once
	tmplName string
	tmplErr  error
)

// ServerURL returns the admin URL of the test server: TEST_DATABASE_URL or DefaultURL.
func ServerURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// New returns a connection to a fresh, fully migrated database that is dropped when the
// test ends. Without a reachable server it skips, except under CI=true where it fails:
// a green CI run must never mean "tested nothing".
func New(tb testing.TB) *sqlx.DB {
	tb.Helper()
	name, dsn := NewURL(tb)
	d, err := sqlx.Open("postgres", dsn)
	if err != nil {
		tb.Fatalf("open test database %s: %v", name, err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// NewURL creates a fresh migrated database like New and returns its name and URL, for
// tests that hand the URL to a child process (the real crier binary).
func NewURL(tb testing.TB) (name, dsn string) {
	tb.Helper()
	ctx := context.Background()
	admin, err := sqlx.Open("postgres", ServerURL())
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = admin.PingContext(pctx)
		cancel()
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		msg := fmt.Sprintf("PostgreSQL at %s is not reachable (%v); set TEST_DATABASE_URL or start the server", db.Redact(ServerURL()), err)
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	defer admin.Close()

	tmplOnce.Do(func() { tmplName, tmplErr = ensureTemplate(ctx, admin) })
	if tmplErr != nil {
		tb.Fatalf("prepare template database: %v", tmplErr)
	}

	name = "crier_test_" + randomHex(6)
	if err := createFrom(ctx, admin, name, tmplName); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a, err := sqlx.Open("postgres", ServerURL())
		if err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer a.Close()
		if _, err := a.ExecContext(cctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
		}
	})
	return name, withDatabase(ServerURL(), name)
}

// createFrom clones the template, retrying while another process briefly holds a
// connection to it (object_in_use).
func createFrom(ctx context.Context, admin *sqlx.DB, name, tmpl string) error {
	q := "CREATE DATABASE " + pq.QuoteIdentifier(name) + " TEMPLATE " + pq.QuoteIdentifier(tmpl)
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		_, err = admin.ExecContext(ctx, q)
		var pqErr *pq.Error
		if err == nil || !errors.As(err, &pqErr) || pqErr.Code != "55006" {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return err
}

// ensureTemplate makes sure a migrated template named after the migrations' content
// exists: a changed migration gets a new template, so tests never run on a stale schema.
func ensureTemplate(ctx context.Context, admin *sqlx.DB) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "crier_tmpl_" + sum[:12]

	conn, err := admin.Connx(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", templateLock)

	var ready bool
	err = conn.GetContext(ctx, &ready, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", name)
	if err != nil {
		return "", err
	}
	if ready {
		return name, nil
	}
	// A half-built template from a crashed run is not marked datistemplate: rebuild it.
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		return "", err
	}
	t, err := db.Open(ctx, withDatabase(ServerURL(), name))
	if err != nil {
		return "", err
	}
	_, err = db.Migrate(ctx, t, nil)
	t.Close()
	if err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+pq.QuoteIdentifier(name)+" WITH is_template true"); err != nil {
		return "", err
	}
	// The template's birth time, so that others can tell a stale one from one that a
	// checkout of another branch on the same server is using right now.
	if _, err := conn.ExecContext(ctx, "COMMENT ON DATABASE "+pq.QuoteIdentifier(name)+" IS "+
		pq.QuoteLiteral(strconv.FormatInt(time.Now().Unix(), 10))); err != nil {
		return "", err
	}
	// Templates of other migrations made over a day ago are of no further use: drop them
	// so a developer's server does not collect one per schema change. (Younger ones may
	// belong to another worktree testing another branch at the same time.)
	var stale []string
	if err := conn.SelectContext(ctx, &stale, `SELECT datname FROM pg_database
		WHERE datname LIKE 'crier\_tmpl\_%' AND datname <> $1
		  AND coalesce(substring(shobj_description(oid, 'pg_database') from '^[0-9]+$')::bigint, 0)
		      < extract(epoch FROM now() - interval '1 day')`, name); err != nil {
		return "", err
	}
	for _, old := range stale {
		q := pq.QuoteIdentifier(old)
		if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+q+" WITH is_template false"); err == nil {
			_, _ = conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+q+" WITH (FORCE)")
		}
	}
	return name, nil
}

func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func withDatabase(server, name string) string {
	u, err := url.Parse(server)
	if err != nil {
		return server
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
