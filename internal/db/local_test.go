package db

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// requireLocalPostgres skips the test when no PostgreSQL server binaries are
// installed, except under CI, where that is a failure.
func requireLocalPostgres(t *testing.T) {
	t.Helper()
	_, err := findBinaries(LocalConfig{})
	if err == nil {
		return
	}
	if errors.Is(err, ErrNoPostgres) && os.Getenv("CI") != "true" {
		t.Skipf("no PostgreSQL binaries: %v", err)
	}
	t.Fatalf("find PostgreSQL binaries: %v", err)
}

// testLocalConfig returns a config for a cluster in dataDir. Clusters that
// root has to keep outside dataDir go to a throwaway directory instead of
// /var/lib/crier.
func testLocalConfig(t *testing.T, dataDir string) LocalConfig {
	t.Helper()
	shared, err := os.MkdirTemp("", "crier-shared-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(shared); err != nil {
			t.Errorf("remove %s: %v", shared, err)
		}
	})
	// The server user must be able to traverse it, as it can /var/lib/crier.
	if err := os.Chmod(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	return LocalConfig{
		DataDir:    dataDir,
		Logger:     slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		sharedRoot: shared,
	}
}

// startLocal starts (or attaches to) a server and makes sure it is stopped
// when the test ends, whatever happens.
func startLocal(t *testing.T, cfg LocalConfig) *Local {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	begin := time.Now()
	l, err := StartLocal(ctx, cfg)
	if err != nil {
		t.Fatalf("StartLocal: %v", err)
	}
	t.Logf("StartLocal took %v (started=%v, cluster=%s)", time.Since(begin).Round(time.Millisecond), l.owned, l.pgdata)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := l.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if l.sockDir != filepath.Join(l.clusterDir, "run") {
			_ = os.RemoveAll(l.sockDir)
		}
	})
	return l
}

func stopLocal(t *testing.T, l *Local) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	begin := time.Now()
	if err := l.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %v (started=%v)", time.Since(begin).Round(time.Millisecond), l.owned)
}

func connectLocal(t *testing.T, l *Local) *sqlx.DB {
	t.Helper()
	db, err := sqlx.ConnectContext(t.Context(), "postgres", l.URL())
	if err != nil {
		t.Fatalf("connect to %s: %v", l.URL(), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestLocalStartAttachRestart(t *testing.T) {
	requireLocalPostgres(t)
	cfg := testLocalConfig(t, t.TempDir())
	ctx := t.Context()

	first := startLocal(t, cfg)
	if !first.owned {
		t.Fatal("first StartLocal attached; want it to start the server")
	}
	if !strings.HasPrefix(first.URL(), "postgres://crier@/crier?") {
		t.Errorf("URL() = %q", first.URL())
	}
	if os.Geteuid() == 0 {
		checkServerOwnership(t, first)
		want := first.dataDir
		if ok, err := reachableBy(first.dataDir, first.su); err != nil || !ok {
			want = filepath.Join(cfg.sharedRoot, shortHash(first.dataDir))
		}
		if first.clusterDir != want {
			t.Errorf("cluster in %s, want %s", first.clusterDir, want)
		}
		t.Logf("data dir %s, cluster dir %s", first.dataDir, first.clusterDir)
	}

	db := connectLocal(t, first)
	db.MustExecContext(ctx, `CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)`)
	db.MustExecContext(ctx, `INSERT INTO notes (body) VALUES ($1)`, "héllo")
	var body string
	if err := db.GetContext(ctx, &body, `SELECT body FROM notes WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if body != "héllo" {
		t.Fatalf("read back %q", body)
	}

	second := startLocal(t, cfg)
	if second.owned {
		t.Fatal("second StartLocal started a server; want it to attach")
	}
	if second.URL() != first.URL() {
		t.Errorf("attached URL %q, want %q", second.URL(), first.URL())
	}
	stopLocal(t, second)
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("server down after the attached Local stopped: %v", err)
	}

	stopLocal(t, first)
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("server still answers after Stop")
	}
	if _, err := os.Stat(filepath.Join(first.pgdata, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("postmaster.pid after Stop: %v", err)
	}
	if err := first.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	third := startLocal(t, cfg)
	if !third.owned {
		t.Fatal("StartLocal on a stopped cluster attached; want it to start the server")
	}
	db3 := connectLocal(t, third)
	if err := db3.GetContext(ctx, &body, `SELECT body FROM notes WHERE id = 1`); err != nil {
		t.Fatalf("data after restart: %v", err)
	}
	if body != "héllo" {
		t.Fatalf("read back %q after restart", body)
	}
	stopLocal(t, third)
}

// checkServerOwnership checks, when running as root, that the server runs as
// the postgres user in a directory that user can reach.
func checkServerOwnership(t *testing.T, l *Local) {
	t.Helper()
	if l.su == nil {
		t.Fatal("running as root but no server user")
	}
	ok, err := reachableBy(l.pgdata, l.su)
	if err != nil || !ok {
		t.Fatalf("server user cannot reach %s: %v", l.pgdata, err)
	}
	for _, p := range []string{l.pgdata, l.sockDir, l.logFile, filepath.Join(l.pgdata, "postmaster.pid")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != l.su.uid {
			t.Errorf("%s owned by uid %d, want %d", p, uid, l.su.uid)
		}
	}
	fi, err := os.Stat(l.sockDir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("socket dir mode %v, want 0700", perm)
	}
}

func TestLocalConcurrentStart(t *testing.T) {
	requireLocalPostgres(t)
	cfg := testLocalConfig(t, t.TempDir())

	var (
		wg     sync.WaitGroup
		locals [2]*Local
		errs   [2]error
	)
	for i := range locals {
		wg.Go(func() {
			locals[i], errs[i] = StartLocal(t.Context(), cfg)
		})
	}
	wg.Wait()
	// Stop the attached one first, the owner last.
	for i := range locals {
		if l := locals[i]; l != nil && l.owned {
			t.Cleanup(func() {
				if err := l.Stop(context.Background()); err != nil {
					t.Errorf("Stop: %v", err)
				}
			})
		}
	}
	for _, err := range errs {
		if err != nil {
			t.Fatalf("StartLocal: %v", err)
		}
	}
	if locals[0].owned == locals[1].owned {
		t.Fatalf("started: %v and %v; want exactly one to start and one to attach", locals[0].owned, locals[1].owned)
	}
	for _, l := range locals {
		db := connectLocal(t, l)
		if err := db.PingContext(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLocalNoPostgres(t *testing.T) {
	noSearch := func(string) (string, error) { return "", exec.ErrNotFound }
	empty := t.TempDir()
	for name, cfg := range map[string]LocalConfig{
		"empty BinDir": {BinDir: empty},
		"nothing found": {
			lookPath:         noSearch,
			versionedBinGlob: filepath.Join(empty, "*", "bin"),
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.DataDir = t.TempDir()
			cfg.lookPath = noSearch
			l, err := StartLocal(t.Context(), cfg)
			if err == nil {
				_ = l.Stop(t.Context())
				t.Fatal("StartLocal succeeded without binaries")
			}
			if !errors.Is(err, ErrNoPostgres) {
				t.Fatalf("error %v is not ErrNoPostgres", err)
			}
			for _, want := range []string{"DATABASE_URL", "install PostgreSQL", "apt-get install postgresql"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// fakeBinDir makes a directory with executable stand-ins for the server
// binaries.
func fakeBinDir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range serverBinaries {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFindBinaries(t *testing.T) {
	t.Run("PATH symlinks resolve to the real dir", func(t *testing.T) {
		root := t.TempDir()
		real := fakeBinDir(t, filepath.Join(root, "lib", "postgresql", "15", "bin"))
		onPath := filepath.Join(root, "bin")
		if err := os.Mkdir(onPath, 0o755); err != nil {
			t.Fatal(err)
		}
		// Only initdb and pg_ctl are linked, as on some Debian setups.
		for _, name := range []string{"initdb", "pg_ctl"} {
			if err := os.Symlink(filepath.Join(real, name), filepath.Join(onPath, name)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := findBinaries(LocalConfig{
			lookPath:         func(name string) (string, error) { return filepath.Join(onPath, name), nil },
			versionedBinGlob: filepath.Join(root, "none", "*"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got != real {
			t.Errorf("findBinaries = %s, want %s", got, real)
		}
	})
	t.Run("highest version wins", func(t *testing.T) {
		root := t.TempDir()
		for _, v := range []string{"9.6", "15", "10", "notaversion"} {
			fakeBinDir(t, filepath.Join(root, v, "bin"))
		}
		// A newer version without postgres is skipped.
		if err := os.MkdirAll(filepath.Join(root, "16", "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		got, err := findBinaries(LocalConfig{
			lookPath:         func(string) (string, error) { return "", exec.ErrNotFound },
			versionedBinGlob: filepath.Join(root, "*", "bin"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(root, "15", "bin"); got != want {
			t.Errorf("findBinaries = %s, want %s", got, want)
		}
	})
	t.Run("BinDir", func(t *testing.T) {
		dir := fakeBinDir(t, t.TempDir())
		got, err := findBinaries(LocalConfig{BinDir: dir})
		if err != nil || got != dir {
			t.Errorf("findBinaries = %s, %v; want %s", got, err, dir)
		}
	})
}

func TestSocketDirFor(t *testing.T) {
	short := "/var/lib/crier/0123456789abcdef"
	if got, want := socketDirFor(short, "/tmp"), short+"/run"; got != want {
		t.Errorf("socketDirFor(%s) = %s, want %s", short, got, want)
	}
	long := "/home/someone/" + strings.Repeat("very-long-directory-name/", 4) + "crier"
	got := socketDirFor(long, "/tmp")
	if !strings.HasPrefix(got, "/tmp/crier-") || len(got)+len("/.s.PGSQL.5432") > maxSocketPath {
		t.Errorf("socketDirFor(long) = %s", got)
	}
	if again := socketDirFor(long, "/tmp"); again != got {
		t.Errorf("socketDirFor is not stable: %s then %s", got, again)
	}
	if got := socketDirFor("/srv/my data", "/tmp"); !strings.HasPrefix(got, "/tmp/crier-") {
		t.Errorf("socketDirFor(path with space) = %s", got)
	}
}

// TestLocalRootPlacement checks where root keeps the cluster.
func TestLocalRootPlacement(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only applies when running as root")
	}
	su, err := lookupServerUser()
	if err != nil {
		t.Skipf("no server user: %v", err)
	}

	private, err := os.MkdirTemp("", "crier-private-") // mode 0700, owned by root
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(private) })
	dataDir := filepath.Join(private, "data")
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	fallback := filepath.Join(t.TempDir(), "fallback")
	got, err := chooseClusterDir(dataDir, fallback, su)
	if err != nil || got != fallback {
		t.Errorf("unreachable data dir: cluster in %s, %v; want %s", got, err, fallback)
	}

	// The default as root: /root/.local/share/crier is out of reach.
	home, err := os.UserHomeDir()
	if err == nil {
		if ok, err := reachableBy(home, su); err == nil && ok {
			t.Logf("%s is reachable by %s", home, su.name)
		} else if got, err := chooseClusterDir(home, fallback, su); err != nil || got != fallback {
			t.Errorf("home dir: cluster in %s, %v; want %s", got, err, fallback)
		}
	}

	if err := os.Chmod(private, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err = chooseClusterDir(dataDir, fallback, su)
	if err != nil || got != dataDir {
		t.Errorf("reachable data dir: cluster in %s, %v; want %s", got, err, dataDir)
	}

	// An existing cluster in the fallback wins even once DataDir is reachable.
	if err := os.MkdirAll(filepath.Join(fallback, "pgdata"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fallback, "pgdata", "PG_VERSION"), []byte("15\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = chooseClusterDir(dataDir, fallback, su)
	if err != nil || got != fallback {
		t.Errorf("existing fallback cluster: cluster in %s, %v; want %s", got, err, fallback)
	}

	// A real server in a reachable DataDir keeps its files there, owned by
	// the server user.
	requireLocalPostgres(t)
	cfg := testLocalConfig(t, dataDir)
	l := startLocal(t, cfg)
	if l.clusterDir != dataDir {
		t.Errorf("cluster in %s, want %s", l.clusterDir, dataDir)
	}
	checkServerOwnership(t, l)
	stopLocal(t, l)
}

// TestLocalLongPath runs a cluster whose DataDir is too long for a unix
// socket path, so the socket goes to a short directory in the temp dir.
func TestLocalLongPath(t *testing.T) {
	requireLocalPostgres(t)
	base, err := os.MkdirTemp("", "crier-long-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	// Reachable by the server user when running as root, so the cluster
	// stays in DataDir.
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(base, strings.Repeat("a-rather-long-directory-name-", 4))
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}

	l := startLocal(t, testLocalConfig(t, dataDir))
	if l.clusterDir != dataDir {
		t.Errorf("cluster in %s, want %s", l.clusterDir, dataDir)
	}
	if want := filepath.Join(os.TempDir(), "crier-"); !strings.HasPrefix(l.sockDir, want) {
		t.Errorf("socket dir %s, want one under %s", l.sockDir, want)
	}
	db := connectLocal(t, l)
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	stopLocal(t, l)
}

// TestLocalLastOneOutStops: the server stays up while any crier process uses it, whoever
// started it, and the last to finish stops it; one left behind by a process that died
// without stopping (kill -9, SIGPIPE before the fix) is stopped by the next command to
// use it, when that one ends.
func TestLocalLastOneOutStops(t *testing.T) {
	requireLocalPostgres(t)
	cfg := testLocalConfig(t, t.TempDir())
	ctx := t.Context()
	pidFile := func(l *Local) string { return filepath.Join(l.pgdata, "postmaster.pid") }

	owner := startLocal(t, cfg)
	user := startLocal(t, cfg)
	if !owner.owned || user.owned {
		t.Fatalf("owned: first %v, second %v; want the first to start the server", owner.owned, user.owned)
	}
	db := connectLocal(t, user)
	stopLocal(t, owner)
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("the server stopped under a process still using it when its starter finished: %v", err)
	}
	stopLocal(t, user)
	if _, err := os.Stat(pidFile(user)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the server kept running after the last process using it finished: %v", err)
	}

	// A process that dies without stopping: its registration names a pid that is gone.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dead := startLocal(t, cfg)
	if err := os.Rename(filepath.Join(dead.clientsDir, dead.client), filepath.Join(dead.clientsDir, strconv.Itoa(gone.Process.Pid)+"-dead")); err != nil {
		t.Fatal(err)
	}
	dead.mu.Lock()
	dead.stopped = true // it never gets to Stop
	dead.mu.Unlock()
	next := startLocal(t, cfg)
	if next.owned {
		t.Fatal("the next command started a second server; want it to use the one left running")
	}
	stopLocal(t, next)
	if _, err := os.Stat(pidFile(next)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the server left behind by a dead process is still running after the next command: %v", err)
	}
	if entries, _ := os.ReadDir(next.clientsDir); len(entries) != 0 {
		t.Errorf("registrations left: %v", entries)
	}
}
