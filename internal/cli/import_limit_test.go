package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// TestImportRefusesStrayQuote: a stray quote that would join the rest of the file into
// one field stops `crier contacts import` with the line named, as the web app does, and
// exit code 65; nothing is imported.
func TestImportRefusesStrayQuote(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	var b strings.Builder
	b.WriteString("First name,Surname,Email\nAda,Lovelace,ada@example.org\nGrace,\"Hopper,grace@example.org\n")
	for range 20000 {
		b.WriteString("Person,Number,p@example.org\n")
	}
	path := filepath.Join(t.TempDir(), "stray.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	r := crier(t, dsn, "contacts", "import", path)
	want := `stray.csv:3:2: this field is over 64 KB long: a stray quote (") may have joined many lines into one field, so nothing was imported`
	if r.code != cli.ExitData || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, want %d and %s; stderr:\n%s", r.code, cli.ExitData, want, r.stderr)
	}
}
