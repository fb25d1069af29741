// Package migrations carries Crier's SQL schema migrations inside the binary.
package migrations

import "embed"

// FS holds the numbered goose migration files (00001_init.sql, ...).
//
//go:embed *.sql
var FS embed.FS
