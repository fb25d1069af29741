package cli_test

import (
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/db/dbtest"
)

func TestTokenCommands(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	r := crierIn(t, dsn, "", "token", "add", "crm", "--scope", "read,contacts:write")
	secret := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(secret, "crier_") || !strings.Contains(r.stderr, "cannot show it again") {
		t.Fatalf("add: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := crierIn(t, dsn, "", "token", "add", "crm"); r.code != cli.ExitData || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("add twice: %d %s", r.code, r.stderr)
	}
	if r := crierIn(t, dsn, "", "token", "add", "web", "--scope", "admin"); r.code != cli.ExitUsage || !strings.Contains(r.stderr, `unknown scope "admin"`) {
		t.Errorf("bad scope: %d %s", r.code, r.stderr)
	}
	r = crierIn(t, dsn, "", "token", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "crm") || !strings.Contains(r.stdout, "read,contacts:write") || strings.Contains(r.stdout, secret) {
		t.Errorf("list: %d %s", r.code, r.stdout)
	}
	if r := crierIn(t, dsn, "", "token", "revoke", "crm"); r.code != 0 || !strings.Contains(r.stdout, "revoked") {
		t.Errorf("revoke: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := crierIn(t, dsn, "", "token", "revoke", "crm"); r.code != cli.ExitData {
		t.Errorf("revoke twice: %d %s", r.code, r.stderr)
	}
	if r := crierIn(t, dsn, "", "token", "list"); !strings.Contains(r.stdout, "revoked") {
		t.Errorf("list after revoke: %s", r.stdout)
	}
	if r := crierIn(t, dsn, "", "audit", "--action", "api_token.add"); !strings.Contains(r.stdout, "api_token.add") {
		t.Errorf("audit: %s", r.stdout)
	}
}
