package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/contact"
)

// Seed generates a borough with opts and imports it into d through the real CSV importer
// (for tests and benchmarks that need residents). extra, if any, is appended to the file
// as further CSV rows in the same columns.
func Seed(ctx context.Context, d *sqlx.DB, opts Options, extra string) (*contact.ImportResult, error) {
	dir, err := os.MkdirTemp("", "crier-seed-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "borough.csv")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := WriteCSV(f, opts); err != nil {
		f.Close()
		return nil, fmt.Errorf("seed: %w", err)
	}
	if _, err := f.WriteString(extra); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return contact.NewStore(d, nil).Import(ctx, contact.ImportOptions{Path: path, Actor: "seed"})
}
