package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/crierhq/crier/internal/apitoken"
	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
)

// runToken manages the HTTP API's tokens, one per integration.
func (a *App) runToken(ctx context.Context, args []string) error {
	usage := `Usage: crier token add NAME --scope read[,contacts:write][,campaigns:write]
       crier token list
       crier token revoke NAME|ID

A token lets one integration (the council's CRM, a website) call crier's HTTP API
(docs/api.md). add prints the token once: crier keeps only its hash, so store it in the
integration's secret store straight away. revoke ends it at once.

Scopes: read (every GET, subject access exports), contacts:write (push contacts, erase
a resident), campaigns:write (create, schedule, pause, resume, cancel campaigns).`
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(a.Stderr, usage)
		if len(args) == 0 {
			return usagef("token needs a command: add, list or revoke")
		}
		return flag.ErrHelp
	}
	sub := args[0]
	fs := a.flags("token "+sub, "[NAME] [flags]", usage)
	a.Config.RegisterFlags(fs)
	var scope *string
	if sub == "add" {
		scope = fs.String("scope", apitoken.Read, "comma-separated scopes: "+strings.Join(apitoken.Scopes, ", "))
	}
	if err := parse(fs, reorder(args[1:])); err != nil {
		return err
	}
	need := map[string]int{"add": 1, "list": 0, "revoke": 1}
	n, ok := need[sub]
	if !ok {
		return usagef("unknown token command %q\n%s", sub, usage)
	}
	if fs.NArg() != n {
		return usagef("token %s: wrong number of arguments\n%s", sub, usage)
	}
	var scopes []string
	if scope != nil {
		var err error
		if scopes, err = apitoken.ParseScopes(*scope); err != nil {
			return usagef("--scope: %v", err)
		}
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	st := apitoken.NewStore(d.DB)
	who := audit.CLIActor(actor())
	switch sub {
	case "add":
		t, secret, err := st.Create(ctx, fs.Arg(0), scopes, who)
		if err != nil {
			return tokenError(err)
		}
		fmt.Fprintf(a.Stderr, "API token %d %q made (scopes: %s). Store it now, in the integration's secret store:\n"+
			"crier keeps only its hash and cannot show it again. Send it as: Authorization: Bearer <token>\n",
			t.ID, t.Name, strings.Join(t.Scopes, ", "))
		fmt.Fprintln(a.Stdout, secret)
		return nil
	case "list":
		list, err := st.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSCOPES\tCREATED (London)\tBY\tLAST USED\tSTATE")
		for _, t := range list {
			used, state := "never", "live"
			if t.LastUsedAt != nil {
				used = t.LastUsedAt.In(campaign.London).Format("2 Jan 2006 15:04")
			}
			if t.RevokedAt != nil {
				state = "revoked " + t.RevokedAt.In(campaign.London).Format("2 Jan 2006 15:04")
			}
			fmt.Fprintf(tw, "%d\t%s\tcrier_%s_…\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Prefix, strings.Join(t.Scopes, ","),
				t.CreatedAt.In(campaign.London).Format("2 Jan 2006 15:04"), t.CreatedBy, used, state)
		}
		return tw.Flush()
	case "revoke":
		t, err := st.Revoke(ctx, fs.Arg(0), who)
		if err != nil {
			return tokenError(err)
		}
		fmt.Fprintf(a.Stdout, "API token %d %q revoked: requests with it are refused from now on\n", t.ID, t.Name)
	}
	return nil
}

func tokenError(err error) error {
	if errors.Is(err, apitoken.ErrInvalid) || errors.Is(err, apitoken.ErrExists) || errors.Is(err, apitoken.ErrNotFound) {
		return exitError{code: ExitData, err: err}
	}
	return err
}
