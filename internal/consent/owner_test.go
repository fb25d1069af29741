package consent_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestOnlyTheLedgerWritesConsents: no package but internal/consent writes the consents
// table. (Tests set up their fixtures directly; that is not a path a resident's consent
// takes. The benchmarks import their residents as an officer does.)
func TestOnlyTheLedgerWritesConsents(t *testing.T) {
	allowed := map[string]string{}
	write := regexp.MustCompile(`(?i)(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+consents\b`)
	root := filepath.Join("..", "..")
	var found []string
	for _, dir := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if strings.HasPrefix(rel, "internal/consent/") || allowed[rel] != "" {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if m := write.Find(b); m != nil {
				found = append(found, rel+": "+string(m))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(found) > 0 {
		t.Errorf("consents written outside the ledger (call internal/consent instead):\n  %s", strings.Join(found, "\n  "))
	}
}
