package db

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// ErrNoPostgres is returned (wrapped) by StartLocal when no PostgreSQL server
// binaries (initdb, pg_ctl, postgres) can be found.
var ErrNoPostgres = errors.New("no PostgreSQL server binaries (initdb, pg_ctl, postgres) found: " +
	"install PostgreSQL (e.g. `apt-get install postgresql`) or set DATABASE_URL to an existing server")

const (
	// localUser is the superuser initdb creates in the private cluster.
	localUser = "crier"
	// localDatabase is the database URL points at.
	localDatabase = "crier"
	// localPort only names the socket file (.s.PGSQL.5432): the server
	// never listens on TCP, so it cannot clash with another server's port.
	localPort = 5432
	// serverUserName is the unprivileged account that runs the server when
	// crier runs as root.
	serverUserName = "postgres"

	// startTimeout bounds how long pg_ctl and we wait for the server to
	// accept connections (and pg_ctl for it to stop).
	startTimeout = 60 * time.Second
	// pingTimeout bounds one connection attempt.
	pingTimeout = 5 * time.Second
	// lockPoll is how often a blocked StartLocal or Stop retries the lock.
	lockPoll = 50 * time.Millisecond
	// tailLines is how many lines of tool output or server log go into errors.
	tailLines = 20

	// maxSocketPath is the longest unix socket path the kernel accepts
	// (sun_path is 108 bytes including the terminating NUL).
	maxSocketPath = 107

	defaultSharedRoot       = "/var/lib/crier"
	defaultVersionedBinGlob = "/usr/lib/postgresql/*/bin"
)

// serverBinaries are the programs a bin directory must hold to be usable.
var serverBinaries = []string{"initdb", "pg_ctl", "postgres"}

// LocalConfig says where and how to run the private server.
type LocalConfig struct {
	// DataDir holds the cluster (DataDir/pgdata), its socket directory
	// (DataDir/run) and its log file (DataDir/postgres.log); see Local for
	// the exception when running as root.
	DataDir string
	// BinDir is where initdb, pg_ctl and postgres live. Empty means search
	// PATH, then /usr/lib/postgresql/*/bin (highest version first).
	BinDir string
	// Logger receives progress messages. Nil discards them.
	Logger *slog.Logger

	// lookPath finds a program on PATH; nil means exec.LookPath. Tests
	// replace it to switch the PATH search off.
	lookPath func(file string) (string, error)
	// versionedBinGlob matches per-version bin directories; empty means
	// defaultVersionedBinGlob.
	versionedBinGlob string
	// sharedRoot is where root keeps clusters the server user cannot reach
	// under DataDir; empty means defaultSharedRoot.
	sharedRoot string
}

// Local is a private PostgreSQL server owned by this process (or one already
// running on DataDir).
//
// The server listens only on a unix socket in a directory with mode 0700
// owned by the server's user, so only that user and root can connect; that is
// why the cluster uses trust authentication for local connections (TCP is
// rejected in pg_hba.conf and switched off by an empty listen_addresses).
//
// PostgreSQL refuses to run as root. When crier runs as root the server runs
// as the "postgres" system user, which must be able to traverse every
// directory down to the cluster. When it cannot reach DataDir (the default
// ~/.local/share/crier of root is under /root, mode 0700), the cluster lives
// in /var/lib/crier/<hash of DataDir> instead, a directory owned by postgres
// with mode 0700; DataDir then only holds the lock file. We chose relocating
// over failing so that `crier demo` just works as root, and over loosening
// the permissions of root's home, which is not ours to change. An existing
// cluster always wins over that rule, so the location stays stable if
// DataDir's permissions change later.
type Local struct {
	log    *slog.Logger
	binDir string
	su     *serverUser // nil when the server runs as the current user
	env    []string

	dataDir    string // as configured, absolute
	clusterDir string // DataDir, or the root fallback directory
	pgdata     string
	sockDir    string
	logFile    string
	lockPath   string
	clientsDir string // one file per Local using the server: see register
	url        string

	mu      sync.Mutex
	owned   bool   // this process started the server
	client  string // this Local's file in clientsDir
	stopped bool
}

// serverUser is the unprivileged account the server runs as when crier runs
// as root.
type serverUser struct {
	name string
	uid  uint32
	gid  uint32
	home string
}

// StartLocal finds the PostgreSQL server binaries, creates the cluster if
// needed and starts it, or attaches to the server already running on that
// data dir (e.g. started by another crier process), and returns once it
// accepts connections.
func StartLocal(ctx context.Context, cfg LocalConfig) (*Local, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.DataDir == "" {
		return nil, errors.New("local postgres: data dir is empty")
	}
	binDir, err := findBinaries(cfg)
	if err != nil {
		return nil, err
	}
	su, err := lookupServerUser()
	if err != nil {
		return nil, err
	}
	l, err := newLocal(cfg, log, binDir, su)
	if err != nil {
		return nil, err
	}

	begin := time.Now()
	unlock, err := lockFile(ctx, l.lockPath, log)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if err := l.prepareDirs(); err != nil {
		return nil, err
	}
	if err := l.ensureCluster(ctx); err != nil {
		return nil, err
	}
	attached, err := l.tryAttach(ctx)
	if err != nil {
		return nil, err
	}
	if !attached {
		if err := l.start(ctx); err != nil {
			return nil, err
		}
		l.owned = true
	}
	err = l.ensureDatabase(ctx)
	if err == nil {
		err = l.register()
	}
	if err != nil {
		if l.owned {
			// Do not leave a server behind that nobody will stop.
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), startTimeout)
			if stopErr := l.pgCtlStop(stopCtx); stopErr != nil {
				log.Warn("stop private PostgreSQL after setup error", "err", stopErr)
			}
			cancel()
		}
		return nil, err
	}
	log.Debug("private PostgreSQL ready",
		"cluster", l.pgdata, "socket_dir", l.sockDir, "started", l.owned,
		"elapsed", time.Since(begin).Round(time.Millisecond))
	return l, nil
}

// register records, under the lock, that this Local uses the server: a file
// named by the process id (and a random part, for several Locals in one
// process) in clientsDir.
func (l *Local) register() error {
	if err := os.MkdirAll(l.clientsDir, 0o700); err != nil {
		return fmt.Errorf("private PostgreSQL: %w", err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	name := strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
	if err := os.WriteFile(filepath.Join(l.clientsDir, name), nil, 0o600); err != nil {
		return fmt.Errorf("private PostgreSQL: %w", err)
	}
	l.client = name
	return nil
}

// liveClients counts the Locals of live processes that use the server, and
// forgets those of processes that have gone without saying so.
func (l *Local) liveClients() (int, error) {
	entries, err := os.ReadDir(l.clientsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("private PostgreSQL: %w", err)
	}
	n := 0
	for _, e := range entries {
		pidText, _, _ := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(pidText)
		if err == nil && pid > 0 && processAlive(pid) {
			n++
			continue
		}
		if err := os.Remove(filepath.Join(l.clientsDir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("private PostgreSQL: %w", err)
		}
		l.log.Debug("forgot a crier process that left the private PostgreSQL without stopping", "client", e.Name())
	}
	return n, nil
}

// processAlive says whether process pid exists (signal 0 checks without
// sending anything; EPERM means it exists under another user).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// URL returns a lib/pq connection URL for database "crier" on the private
// server (the DB is created if missing).
func (l *Local) URL() string { return l.url }

// Stop says this Local is done with the server, and stops the server (fast
// shutdown, waiting for it) when no other live crier process is using it,
// whichever of them started it: the last one out stops it. So a command that
// started the server while `crier serve` had it too leaves it to serve, and a
// server left behind by a process that died (kill -9, a crash) is stopped by
// the next command to use it, when that one ends.
func (l *Local) Stop(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return nil
	}
	// Do not pull the server away from a process that is attaching to it
	// right now.
	unlock, err := lockFile(ctx, l.lockPath, l.log)
	if err != nil {
		return err
	}
	defer unlock()

	if l.client != "" {
		if err := os.Remove(filepath.Join(l.clientsDir, l.client)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("private PostgreSQL: %w", err)
		}
	}
	others, err := l.liveClients()
	if err != nil {
		return err
	}
	if others > 0 {
		l.stopped = true
		l.log.Debug("private PostgreSQL left running for other crier processes", "cluster", l.pgdata, "processes", others)
		return nil
	}
	begin := time.Now()
	if err := l.pgCtlStop(ctx); err != nil {
		return err
	}
	l.stopped = true
	l.log.Debug("private PostgreSQL stopped", "cluster", l.pgdata,
		"elapsed", time.Since(begin).Round(time.Millisecond))
	return nil
}

// newLocal works out where everything goes and creates DataDir.
func newLocal(cfg LocalConfig, log *slog.Logger, binDir string, su *serverUser) (*Local, error) {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data dir %s: %w", cfg.DataDir, err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	realDataDir, err := filepath.EvalSymlinks(dataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data dir %s: %w", dataDir, err)
	}
	sharedRoot := cfg.sharedRoot
	if sharedRoot == "" {
		sharedRoot = defaultSharedRoot
	}
	clusterDir, err := chooseClusterDir(realDataDir, filepath.Join(sharedRoot, shortHash(realDataDir)), su)
	if err != nil {
		return nil, err
	}
	l := &Local{
		log:        log,
		binDir:     binDir,
		su:         su,
		env:        childEnv(os.Environ(), su),
		dataDir:    realDataDir,
		clusterDir: clusterDir,
		pgdata:     filepath.Join(clusterDir, "pgdata"),
		sockDir:    socketDirFor(clusterDir, os.TempDir()),
		logFile:    filepath.Join(clusterDir, "postgres.log"),
		lockPath:   filepath.Join(realDataDir, ".lock"),
		clientsDir: filepath.Join(realDataDir, ".clients"),
	}
	if len(l.sockDir)+len("/.s.PGSQL.")+len(strconv.Itoa(localPort)) > maxSocketPath || !plainPath(l.sockDir) {
		return nil, fmt.Errorf("no usable unix socket directory for %s (temp dir %s is too long or oddly named)", clusterDir, os.TempDir())
	}
	// pg_ctl runs postgres through /bin/sh with these paths in double quotes.
	for _, p := range []string{l.pgdata, l.logFile} {
		if strings.ContainsAny(p, "\"$`\\\n") {
			return nil, fmt.Errorf("path %q contains characters pg_ctl cannot pass through its shell; choose another data dir", p)
		}
	}
	l.url = l.dsn(localDatabase)
	if clusterDir != realDataDir {
		log.Debug("data dir not reachable by the postgres user; keeping the cluster elsewhere",
			"data_dir", realDataDir, "cluster_dir", clusterDir)
	}
	return l, nil
}

// chooseClusterDir picks where the cluster lives: an existing cluster in
// DataDir or in the root fallback wins; otherwise DataDir, unless the server
// user cannot traverse down to it.
func chooseClusterDir(dataDir, fallback string, su *serverUser) (string, error) {
	if su == nil {
		return dataDir, nil
	}
	for _, dir := range []string{dataDir, fallback} {
		_, err := os.Stat(filepath.Join(dir, "pgdata", "PG_VERSION"))
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("look for existing cluster: %w", err)
		}
	}
	ok, err := reachableBy(dataDir, su)
	if err != nil {
		return "", err
	}
	if ok {
		return dataDir, nil
	}
	return fallback, nil
}

// reachableBy reports whether su can search every directory from / down to
// and including dir (an absolute path without symlinks). The server runs
// without supplementary groups, so only su's primary group counts.
func reachableBy(dir string, su *serverUser) (bool, error) {
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return false, fmt.Errorf("check access to %s: %w", p, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return false, fmt.Errorf("check access to %s: no owner information", p)
		}
		perm := fi.Mode().Perm()
		var bit fs.FileMode
		switch {
		case st.Uid == su.uid:
			bit = 0o100
		case st.Gid == su.gid:
			bit = 0o010
		default:
			bit = 0o001
		}
		if perm&bit == 0 {
			return false, nil
		}
		if parent := filepath.Dir(p); parent == p {
			return true, nil
		}
	}
}

// socketDirFor returns clusterDir/run, or a short directory under tmpDir
// named by a hash when that would make the socket path too long (or hard to
// quote for postgresql.conf and pg_ctl's shell).
func socketDirFor(clusterDir, tmpDir string) string {
	dir := filepath.Join(clusterDir, "run")
	if len(dir)+len("/.s.PGSQL.")+len(strconv.Itoa(localPort)) <= maxSocketPath && plainPath(dir) {
		return dir
	}
	return filepath.Join(tmpDir, "crier-"+shortHash(clusterDir))
}

// plainPath reports whether p needs no quoting in postgresql.conf, in a
// comma-separated unix_socket_directories list or in a shell.
func plainPath(p string) bool {
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("/._-+@~", r):
		default:
			return false
		}
	}
	return true
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// findBinaries returns the directory holding initdb, pg_ctl and postgres.
func findBinaries(cfg LocalConfig) (string, error) {
	if cfg.BinDir != "" {
		if missing := missingBinaries(cfg.BinDir); len(missing) > 0 {
			return "", fmt.Errorf("bin dir %s lacks %s: %w", cfg.BinDir, strings.Join(missing, ", "), ErrNoPostgres)
		}
		return cfg.BinDir, nil
	}

	lookPath := cfg.lookPath
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	// Debian puts symlinks such as /usr/local/bin/initdb ->
	// /usr/lib/postgresql/15/bin/initdb on PATH; the real directory is the
	// one that also holds postgres.
	for _, name := range []string{"initdb", "pg_ctl"} {
		p, err := lookPath(name)
		if err != nil {
			continue
		}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if dir := filepath.Dir(real); len(missingBinaries(dir)) == 0 {
				return dir, nil
			}
		}
		if abs, err := filepath.Abs(p); err == nil {
			if dir := filepath.Dir(abs); len(missingBinaries(dir)) == 0 {
				return dir, nil
			}
		}
	}

	pattern := cfg.versionedBinGlob
	if pattern == "" {
		pattern = defaultVersionedBinGlob
	}
	dirs, err := filepath.Glob(pattern)
	if err != nil {
		return "", fmt.Errorf("search %s: %w", pattern, err)
	}
	// Highest version first: /usr/lib/postgresql/<version>/bin.
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	for _, dir := range dirs {
		if len(missingBinaries(dir)) == 0 {
			return dir, nil
		}
	}
	return "", fmt.Errorf("searched PATH and %s: %w", pattern, ErrNoPostgres)
}

// missingBinaries lists the server programs dir lacks.
func missingBinaries(dir string) []string {
	var missing []string
	for _, name := range serverBinaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			missing = append(missing, name)
		}
	}
	return missing
}

// compareVersions compares dotted numeric versions such as "9.6" and "15";
// anything unparsable sorts lowest.
func compareVersions(a, b string) int {
	parse := func(s string) []int {
		var out []int
		for part := range strings.SplitSeq(s, ".") {
			n, err := strconv.Atoi(part)
			if err != nil {
				return nil
			}
			out = append(out, n)
		}
		return out
	}
	return slices.Compare(parse(a), parse(b))
}

// lookupServerUser returns the account to run the server as, or nil when
// crier does not run as root.
func lookupServerUser() (*serverUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serverUserName)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("running as root, and PostgreSQL refuses to run as root: "+
				"create an unprivileged %q system user (e.g. `useradd --system --home-dir /var/lib/postgresql %s`) "+
				"or run crier as a normal user: %w", serverUserName, serverUserName, err)
		}
		return nil, fmt.Errorf("look up user %s: %w", serverUserName, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse uid of %s: %w", serverUserName, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse gid of %s: %w", serverUserName, err)
	}
	if uid == 0 {
		return nil, fmt.Errorf("user %s has uid 0; PostgreSQL refuses to run as root", serverUserName)
	}
	return &serverUser{name: u.Username, uid: uint32(uid), gid: uint32(gid), home: u.HomeDir}, nil
}

// childEnv is the environment for initdb and pg_ctl: PG* variables would
// redirect them (PGDATA, PGPORT, ...), and as root HOME and USER must name
// the server user.
func childEnv(environ []string, su *serverUser) []string {
	env := make([]string, 0, len(environ)+3)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") {
			continue
		}
		if su != nil && (k == "HOME" || k == "USER" || k == "LOGNAME") {
			continue
		}
		env = append(env, kv)
	}
	if su != nil {
		env = append(env, "HOME="+su.home, "USER="+su.name, "LOGNAME="+su.name)
	}
	return env
}

// lockFile takes an exclusive flock on path, polling so that ctx can cancel
// the wait. The returned func releases it.
func lockFile(ctx context.Context, path string, log *slog.Logger) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	fd := int(f.Fd())
	var timer *time.Timer
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(fd, syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if timer == nil {
			log.Info("waiting for another crier process to finish with the private PostgreSQL", "lock", path)
			timer = time.NewTimer(lockPoll)
		} else {
			timer.Reset(lockPoll)
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			_ = f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-timer.C:
		}
	}
}

// prepareDirs creates the cluster's directories, owned by the server user.
func (l *Local) prepareDirs() error {
	if l.clusterDir != l.dataDir {
		if err := os.MkdirAll(filepath.Dir(l.clusterDir), 0o755); err != nil {
			return fmt.Errorf("create cluster parent dir: %w", err)
		}
		if err := os.Mkdir(l.clusterDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create cluster dir: %w", err)
		}
		// The fallback lives in a root-only directory that is ours, so we
		// can insist on its ownership.
		if err := l.checkOwnedDir(l.clusterDir, true); err != nil {
			return err
		}
		note := fmt.Sprintf("PostgreSQL cluster of the crier data dir %s\n", l.dataDir)
		if err := os.WriteFile(filepath.Join(l.clusterDir, "crier-data-dir.txt"), []byte(note), 0o644); err != nil {
			return fmt.Errorf("write cluster note: %w", err)
		}
	}
	if err := l.mkdirOwned(l.pgdata); err != nil {
		return err
	}
	if err := l.mkdirOwned(l.sockDir); err != nil {
		return err
	}
	// The socket dir may be under the world-writable temp dir: refuse one
	// that someone else made.
	if err := l.checkOwnedDir(l.sockDir, false); err != nil {
		return err
	}
	f, err := os.OpenFile(l.logFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_ = f.Close()
		if l.su != nil {
			if err := os.Lchown(l.logFile, int(l.su.uid), int(l.su.gid)); err != nil {
				return fmt.Errorf("chown log file: %w", err)
			}
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("create log file: %w", err)
	}
	return nil
}

// mkdirOwned creates dir with mode 0700 and hands it to the server user.
func (l *Local) mkdirOwned(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if l.su != nil {
		if err := os.Lchown(dir, int(l.su.uid), int(l.su.gid)); err != nil {
			return fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	return nil
}

// checkOwnedDir makes sure dir is a real directory owned by the server user
// with mode 0700. With fix set, a wrong owner is corrected instead of
// refused.
func (l *Local) checkOwnedDir(dir string, fix bool) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("check %s: no owner information", dir)
	}
	wantUID, wantGID := uint32(os.Geteuid()), uint32(os.Getegid())
	if l.su != nil {
		wantUID, wantGID = l.su.uid, l.su.gid
	}
	if st.Uid != wantUID {
		if !fix {
			return fmt.Errorf("%s is owned by uid %d, want %d; remove it", dir, st.Uid, wantUID)
		}
		if err := os.Lchown(dir, int(wantUID), int(wantGID)); err != nil {
			return fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("chmod %s: %w", dir, err)
		}
	}
	return nil
}

// ensureCluster runs initdb unless the cluster exists.
func (l *Local) ensureCluster(ctx context.Context) error {
	_, err := os.Stat(filepath.Join(l.pgdata, "PG_VERSION"))
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("check cluster: %w", err)
	}
	begin := time.Now()
	l.log.Info("creating private PostgreSQL cluster", "cluster", l.pgdata, "bin_dir", l.binDir)
	// Trust is safe for local connections: see Local. TCP is rejected in
	// case someone ever turns listen_addresses on.
	args := []string{"-D", l.pgdata, "-U", localUser, "--auth=trust", "--auth-host=reject", "--encoding=UTF8"}
	out, err := l.run(ctx, "initdb", slices.Concat(args, []string{"--locale=C.UTF-8"})...)
	if err != nil && ctx.Err() == nil {
		l.log.Warn("initdb with locale C.UTF-8 did not work; retrying with locale C", "err", err)
		out, err = l.run(ctx, "initdb", slices.Concat(args, []string{"--locale=C"})...)
	}
	if err != nil {
		return fmt.Errorf("initdb %s: %w\n--- initdb output (last %d lines) ---\n%s",
			l.pgdata, err, tailLines, lastLines(out, tailLines))
	}

	conf := fmt.Sprintf(`
# Added by crier: a private server reachable only through a unix socket in a
# directory that only the server's user (and root) can enter.
listen_addresses = ''
port = %d
unix_socket_directories = '%s'
unix_socket_permissions = 0700
fsync = on
shared_buffers = 512MB
# Bulk imports write gigabytes of WAL; room for it avoids checkpoints mid-import.
max_wal_size = 4GB
`, localPort, l.sockDir)
	f, err := os.OpenFile(filepath.Join(l.pgdata, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open postgresql.conf: %w", err)
	}
	if _, err := f.WriteString(conf); err != nil {
		_ = f.Close()
		return fmt.Errorf("write postgresql.conf: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write postgresql.conf: %w", err)
	}
	l.log.Info("created private PostgreSQL cluster", "elapsed", time.Since(begin).Round(time.Millisecond))
	return nil
}

// tryAttach reports whether a server is already running on the cluster and
// accepting connections.
func (l *Local) tryAttach(ctx context.Context) (bool, error) {
	pidFile := filepath.Join(l.pgdata, "postmaster.pid")
	if _, err := os.Stat(pidFile); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("check %s: %w", pidFile, err)
	}
	if err := l.waitReady(ctx); err != nil {
		if ctx.Err() != nil {
			return false, fmt.Errorf("wait for running server: %w", ctx.Err())
		}
		// Most likely a stale postmaster.pid after a crash; pg_ctl start
		// copes with that.
		l.log.Info("postmaster.pid exists but the server does not answer; starting it", "err", err)
		return false, nil
	}
	l.log.Debug("attached to running private PostgreSQL", "cluster", l.pgdata)
	return true, nil
}

// start runs pg_ctl start and waits until the server accepts connections.
func (l *Local) start(ctx context.Context) error {
	begin := time.Now()
	l.log.Debug("starting private PostgreSQL", "cluster", l.pgdata, "bin_dir", l.binDir)
	// pg_ctl hands -o to /bin/sh; the socket dir is a plainPath, quoted anyway.
	opts := fmt.Sprintf("-k %s -p %d -c listen_addresses=''", shellQuote(l.sockDir), localPort)
	timeout := strconv.Itoa(int(startTimeout / time.Second))
	out, err := l.run(ctx, "pg_ctl", "-D", l.pgdata, "-l", l.logFile, "-o", opts, "-w", "-t", timeout, "start")
	if err != nil {
		return fmt.Errorf("start postgres: %w%s", err, l.diagnostics("pg_ctl", out))
	}
	if err := l.waitReady(ctx); err != nil {
		return fmt.Errorf("connect to started postgres: %w%s", err, l.diagnostics("pg_ctl", out))
	}
	l.log.Debug("started private PostgreSQL", "elapsed", time.Since(begin).Round(time.Millisecond))
	return nil
}

// pgCtlStop runs pg_ctl stop with a fast shutdown and waits for it.
func (l *Local) pgCtlStop(ctx context.Context) error {
	timeout := strconv.Itoa(int(startTimeout / time.Second))
	out, err := l.run(ctx, "pg_ctl", "-D", l.pgdata, "-m", "fast", "-w", "-t", timeout, "stop")
	if err == nil {
		return nil
	}
	if ctx.Err() == nil {
		if _, statErr := os.Stat(filepath.Join(l.pgdata, "postmaster.pid")); errors.Is(statErr, fs.ErrNotExist) {
			l.log.Warn("private PostgreSQL was already stopped", "cluster", l.pgdata)
			return nil
		}
	}
	return fmt.Errorf("stop postgres: %w%s", err, l.diagnostics("pg_ctl", out))
}

// waitReady connects to the server until it accepts connections. It retries
// only while the server says it is starting up; other errors (no socket,
// connection refused) come back at once.
func (l *Local) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	var timer *time.Timer
	for {
		err := l.ping(ctx)
		if err == nil {
			return nil
		}
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != pqerror.CannotConnectNow {
			return err
		}
		if timer == nil {
			timer = time.NewTimer(100 * time.Millisecond)
		} else {
			timer.Reset(100 * time.Millisecond)
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("wait for server: %w (last error: %w)", ctx.Err(), err)
		case <-timer.C:
		}
	}
}

// ping makes one connection to the maintenance database.
func (l *Local) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	db, err := l.openDB("postgres")
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to %s: %w", l.sockDir, err)
	}
	return nil
}

// ensureDatabase creates database crier if it is missing.
func (l *Local) ensureDatabase(ctx context.Context) error {
	db, err := l.openDB("postgres")
	if err != nil {
		return err
	}
	defer db.Close()
	var exists bool
	err = db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", localDatabase).Scan(&exists)
	if err != nil {
		return fmt.Errorf("look for database %s: %w", localDatabase, err)
	}
	if exists {
		return nil
	}
	_, err = db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(localDatabase))
	var pqErr *pq.Error
	if err != nil && !(errors.As(err, &pqErr) && pqErr.Code == pqerror.DuplicateDatabase) {
		return fmt.Errorf("create database %s: %w", localDatabase, err)
	}
	l.log.Debug("created database", "database", localDatabase)
	return nil
}

func (l *Local) openDB(dbname string) (*sql.DB, error) {
	connector, err := pq.NewConnector(l.dsn(dbname) + "&connect_timeout=5")
	if err != nil {
		return nil, fmt.Errorf("configure connection: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	return db, nil
}

// dsn is the lib/pq URL for dbname on the private server. The port is
// explicit so that a PGPORT in the environment cannot change the socket name.
func (l *Local) dsn(dbname string) string {
	q := url.Values{}
	q.Set("host", l.sockDir)
	q.Set("port", strconv.Itoa(localPort))
	q.Set("sslmode", "disable")
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(localUser),
		Path:     "/" + dbname,
		RawQuery: q.Encode(),
	}
	return u.String()
}

// run runs one of the server programs, as the server user when crier runs as
// root, and returns its combined output.
func (l *Local) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(l.binDir, prog), args...)
	cmd.Dir = l.clusterDir
	cmd.Env = l.env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// pg_ctl leaves the server running in the background; should it ever
	// keep our pipe open, do not wait for it.
	cmd.WaitDelay = 5 * time.Second
	if l.su != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: l.su.uid, Gid: l.su.gid},
		}
	}
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s: %w", prog, err)
	}
	return out.Bytes(), err
}

// diagnostics formats the tail of a tool's output and of the server log for
// an error message.
func (l *Local) diagnostics(prog string, out []byte) string {
	var b strings.Builder
	if s := lastLines(out, tailLines); s != "" {
		fmt.Fprintf(&b, "\n--- %s output (last %d lines) ---\n%s", prog, tailLines, s)
	}
	if s, err := tailFile(l.logFile, tailLines); err == nil && s != "" {
		fmt.Fprintf(&b, "\n--- %s (last %d lines) ---\n%s", l.logFile, tailLines, s)
	}
	return b.String()
}

// tailFile returns the last n lines of the file at path, reading at most its
// last 64 KiB.
func tailFile(path string, n int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	const window = 64 << 10
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if off := fi.Size() - window; off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return "", err
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, window))
	if err != nil {
		return "", err
	}
	return lastLines(b, n), nil
}

// lastLines returns the last n lines of b, ignoring trailing newlines.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
