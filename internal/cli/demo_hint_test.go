package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// After `go run ./cmd/crier demo` there is no crier on PATH: the demo says how to get one.
func TestCrierHint(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	if h := crierHint(); !strings.Contains(h, "make build") || !strings.Contains(h, "go install ./cmd/crier") {
		t.Errorf("without crier on PATH: %q", h)
	}
	if err := os.WriteFile(filepath.Join(dir, "crier"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if h := crierHint(); h != "" {
		t.Errorf("with crier on PATH: %q", h)
	}
}
