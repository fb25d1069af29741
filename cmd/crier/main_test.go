package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildCrier compiles the real binary once per test run.
func buildCrier(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "crier")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runCrier(t *testing.T, bin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestDemoOnPrivateDatabase runs the README's first set-up command the way a newcomer does:
// no DATABASE_URL, so crier starts its own PostgreSQL, seeds the borough and stops it.
func TestDemoOnPrivateDatabase(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go toolchain not on PATH")
	}
	bin := buildCrier(t)
	// t.TempDir() is mode 0700; as root the server runs as "postgres", which must be
	// able to reach the data dir or crier keeps the cluster elsewhere (/var/lib/crier).
	dataDir, err := os.MkdirTemp("", "crier-demo-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dataDir) })
	if err := os.Chmod(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"DATABASE_URL=", "CRIER_DATA_DIR=" + dataDir}

	out, errOut, code := runCrier(t, bin, env, "demo")
	if code != 0 || !strings.Contains(out, "Demo borough ready: 5000 residents") {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "database: private PostgreSQL in "+dataDir) {
		t.Errorf("demo does not say which database it uses:\n%s", errOut)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "pgdata", "PG_VERSION")); err != nil {
		t.Fatalf("no cluster in the data dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "pgdata", "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("private server still running after the command ended (postmaster.pid: %v)", err)
	}

	exportPath := filepath.Join(t.TempDir(), "borough.csv")
	_, errOut, code = runCrier(t, bin, env, "contacts", "export", "--out", exportPath)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, errOut)
	}
	b, err := os.ReadFile(exportPath)
	if err != nil {
		t.Fatal(err)
	}
	// The export starts with a UTF-8 byte-order mark, for Excel.
	body, ok := bytes.CutPrefix(b, []byte("\ufeff"))
	if !ok {
		t.Errorf("the export has no byte-order mark")
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 5001 {
		t.Fatalf("export has %d records (%v), want header + 5000", len(recs), err)
	}

	// `crier contacts export | head -1`: the reader goes away after one line. crier
	// stops writing, says nothing about it, and stops the private server on its way out.
	cmd := exec.Command(bin, "contacts", "export")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first, err := bufio.NewReader(pipe).ReadString('\n')
	if err != nil || !strings.Contains(first, "Email") {
		t.Errorf("the export's first line: %q, %v", first, err)
	}
	pipe.Close()
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok && !ee.Exited() {
		t.Errorf("export | head -1: killed by %v, want an orderly exit", ee.ProcessState)
	}
	if strings.Contains(stderr.String(), "broken pipe") {
		t.Errorf("export | head -1 complains about the pipe:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dataDir, "pgdata", "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("private server still running after export | head -1 (postmaster.pid: %v)\n%s", err, stderr.String())
	}
}

func TestNoPostgresBinariesNamesBothFixes(t *testing.T) {
	bin := buildCrier(t)
	_, errOut, code := runCrier(t, bin, []string{"DATABASE_URL=", "CRIER_DATA_DIR=" + t.TempDir(), "CRIER_PG_BIN=" + t.TempDir()}, "migrate", "up")
	if code != 1 || !strings.Contains(errOut, "DATABASE_URL") || !strings.Contains(errOut, "install PostgreSQL") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}
