package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// crierIn runs crier with stdin.
func crierIn(t *testing.T, dsn, stdin string, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	app := &cli.App{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Config: testConfig(t, dsn, nil)}
	code := app.Run(context.Background(), args)
	return run{code, out.String(), errb.String()}
}

func TestUserBootstrap(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	r := crierIn(t, dsn, "correct horse battery staple\n", "user", "add", "jo@council.example", "--name", "Jo Bloggs", "--role", "officer", "--password-stdin")
	if r.code != 0 || !strings.Contains(r.stdout, "officer Jo Bloggs (jo@council.example) can sign in at") {
		t.Fatalf("add: %d %s%s", r.code, r.stdout, r.stderr)
	}
	for _, bad := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"short\n", []string{"user", "add", "sam@v.example", "--name", "Sam", "--role", "volunteer", "--password-stdin"}, "at least 12 characters"},
		{"correct horse battery staple\n", []string{"user", "add", "JO@council.example", "--name", "Jo", "--password-stdin"}, "exists already"},
		{"correct horse battery staple\n", []string{"user", "add", "sam@v.example", "--name", "Sam", "--role", "mayor", "--password-stdin"}, "use admin, officer or volunteer"},
		{"correct horse battery staple\n", []string{"user", "add", "not-an-address", "--name", "Sam", "--password-stdin"}, "is not an email address"},
		{"another long passphrase\n", []string{"user", "passwd", "nobody@council.example", "--password-stdin"}, "no such user"},
	} {
		r := crierIn(t, dsn, bad.stdin, bad.args...)
		if r.code != cli.ExitData || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("%v: %d %s", bad.args, r.code, r.stderr)
		}
	}
	if r := crierIn(t, dsn, "", "user", "add", "sam@v.example", "--name", "Sam"); r.code != cli.ExitUsage || !strings.Contains(r.stderr, "--password-stdin") {
		t.Errorf("no terminal and no --password-stdin: %d %s", r.code, r.stderr)
	}
	if r := crierIn(t, dsn, "another long passphrase\n", "user", "passwd", "jo@council.example", "--password-stdin"); r.code != 0 {
		t.Errorf("passwd: %d %s", r.code, r.stderr)
	}
	r = crierIn(t, dsn, "", "user", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "jo@council.example") || strings.Contains(r.stdout, "passphrase") || strings.Contains(r.stdout, "$2a$") {
		t.Errorf("list: %s", r.stdout)
	}
}
