// Package config builds Crier's one Config from environment variables and flags.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/crierhq/crier/internal/db"
)

// Config is everything crier reads from its environment. The environment variable is the
// default and the flag overrides it. Secrets come only from the environment.
type Config struct {
	DatabaseURL   string // DATABASE_URL; empty = run the private local PostgreSQL
	DataDir       string // CRIER_DATA_DIR; where the private PostgreSQL and other state live
	PGBinDir      string // CRIER_PG_BIN; PostgreSQL server binaries for the private server
	HTTPAddr      string // CRIER_HTTP_ADDR
	DefaultRegion string // CRIER_DEFAULT_REGION; phone numbers without a country code
	LogLevel      string // CRIER_LOG_LEVEL: debug, info, warn, error
}

// Default returns the configuration read from the environment (or built-in defaults).
func Default() Config {
	return Config{
		DatabaseURL:   os.Getenv("DATABASE_URL"),
		DataDir:       envOr("CRIER_DATA_DIR", defaultDataDir()),
		PGBinDir:      os.Getenv("CRIER_PG_BIN"),
		HTTPAddr:      envOr("CRIER_HTTP_ADDR", "127.0.0.1:8080"),
		DefaultRegion: envOr("CRIER_DEFAULT_REGION", "GB"),
		LogLevel:      envOr("CRIER_LOG_LEVEL", "info"),
	}
}

// defaultDataDir follows the XDG base directory convention: $XDG_DATA_HOME/crier, else
// ~/.local/share/crier.
func defaultDataDir() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "crier")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "crier")
	}
	return filepath.Join(home, ".local", "share", "crier")
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

// RegisterFlags binds the database flags every command shares to fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL URL (env DATABASE_URL; empty = private local server)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the private PostgreSQL and other state (env CRIER_DATA_DIR)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (env CRIER_LOG_LEVEL)")
}

// RegisterServeFlags binds the flags of commands that serve HTTP.
func (c *Config) RegisterServeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.HTTPAddr, "http", c.HTTPAddr, "address to serve HTTP on (env CRIER_HTTP_ADDR)")
}

// Validate checks the configuration once at start-up and names the bad key.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("DATABASE_URL must be a postgres:// URL"))
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("CRIER_DATA_DIR is empty: set it, or set DATABASE_URL"))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("CRIER_HTTP_ADDR %q: %w", c.HTTPAddr, err))
	}
	if len(c.DefaultRegion) != 2 || strings.ToUpper(c.DefaultRegion) != c.DefaultRegion {
		errs = append(errs, fmt.Errorf("CRIER_DEFAULT_REGION %q must be a two-letter country code such as GB", c.DefaultRegion))
	}
	if _, err := c.Level(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Level returns the slog level named by LogLevel.
func (c Config) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("CRIER_LOG_LEVEL %q must be debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// Describe lists what crier is using, for printing at start-up; it never shows a password.
func (c Config) Describe() []string {
	database := "private PostgreSQL in " + c.DataDir
	if c.DatabaseURL != "" {
		database = db.Redact(c.DatabaseURL)
	}
	return []string{
		"database: " + database,
		"default phone region: " + c.DefaultRegion,
	}
}
