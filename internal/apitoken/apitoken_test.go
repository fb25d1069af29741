package apitoken_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/apitoken"
	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/db/dbtest"
)

func TestTokenLifecycle(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	st := apitoken.NewStore(d)
	tok, secret, err := st.Create(ctx, "crm", []string{apitoken.Read, apitoken.ContactsWrite}, "cli:officer")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "crier_"+tok.Prefix+"_") || len(secret) != len("crier_")+12+1+64 {
		t.Fatalf("secret %q does not look like crier_<prefix>_<64 hex>", secret)
	}
	// Hashed at rest: neither the secret nor its random part is anywhere in the table.
	var dump string
	if err := d.Get(&dump, `SELECT string_agg(t::text, ' ') FROM api_tokens t`); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dump, secret) || strings.Contains(dump, secret[len(secret)-64:]) {
		t.Fatalf("the secret is stored: %s", dump)
	}

	got, err := st.Authenticate(ctx, secret)
	if err != nil || got.ID != tok.ID || !got.Has(apitoken.ContactsWrite) || got.Has(apitoken.CampaignsWrite) || got.Actor() != "api:crm" {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	list, err := st.List(ctx)
	if err != nil || len(list) != 1 || list[0].LastUsedAt == nil {
		t.Fatalf("list after use: %+v %v", list, err)
	}
	for _, bad := range []string{"", "crier_", secret + "x", secret[:len(secret)-1] + "0", "crier_" + tok.Prefix + "_" + strings.Repeat("0", 64),
		"crier_aaaaaaaaaaaa_" + secret[len(secret)-64:], "Bearer " + secret} {
		if bad == secret {
			continue
		}
		if _, err := st.Authenticate(ctx, bad); !errors.Is(err, apitoken.ErrUnauthorized) {
			t.Errorf("authenticate %q: %v, want ErrUnauthorized", bad, err)
		}
	}

	if _, _, err := st.Create(ctx, "CRM", []string{apitoken.Read}, "cli:officer"); !errors.Is(err, apitoken.ErrExists) {
		t.Errorf("second live token named CRM: %v", err)
	}
	for _, c := range []struct {
		name   string
		scopes []string
	}{{"bad name!", []string{apitoken.Read}}, {"web", nil}, {"web", []string{"admin"}}} {
		if _, _, err := st.Create(ctx, c.name, c.scopes, "cli:officer"); !errors.Is(err, apitoken.ErrInvalid) {
			t.Errorf("create %q %v: %v, want ErrInvalid", c.name, c.scopes, err)
		}
	}

	if _, err := st.Revoke(ctx, "crm", "cli:officer"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Authenticate(ctx, secret); !errors.Is(err, apitoken.ErrUnauthorized) {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := st.Revoke(ctx, "crm", "cli:officer"); !errors.Is(err, apitoken.ErrNotFound) {
		t.Errorf("revoke twice: %v", err)
	}
	// The name is free again once revoked; revoking by id works too.
	tok2, _, err := st.Create(ctx, "crm", []string{apitoken.Read}, "cli:officer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Revoke(ctx, audit.ID(tok2.ID), "cli:officer"); err != nil {
		t.Fatal(err)
	}
	entries, err := audit.List(ctx, d, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" "+e.SubjectID+" "+e.Actor)
		if strings.Contains(e.DetailText(), secret) {
			t.Errorf("audit entry holds the secret: %+v", e)
		}
	}
	id2 := audit.ID(tok2.ID) // (the refused create above used up a sequence number)
	want := []string{"api_token.revoke " + id2 + " cli:officer", "api_token.add " + id2 + " cli:officer", "api_token.revoke 1 cli:officer", "api_token.add 1 cli:officer"}
	if strings.Join(actions, "|") != strings.Join(want, "|") {
		t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseScopes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"read", "read", true},
		{" read , Contacts:Write,read", "read,contacts:write", true},
		{"read,campaigns:write", "read,campaigns:write", true},
		{"", "", false},
		{"write", "", false},
	} {
		got, err := apitoken.ParseScopes(c.in)
		if (err == nil) != c.ok || strings.Join(got, ",") != c.want {
			t.Errorf("ParseScopes(%q) = %v, %v", c.in, got, err)
		}
	}
}
