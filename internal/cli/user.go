package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/jmoiron/sqlx"
	"golang.org/x/term"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
)

// runUser bootstraps and manages accounts.
func (a *App) runUser(ctx context.Context, args []string) error {
	const usage = `Usage: crier user add EMAIL --name "Jo Bloggs" --role officer|volunteer|admin
       crier user passwd EMAIL
       crier user list
       crier user disable EMAIL      (their sessions end at once)
       crier user enable EMAIL
       crier user role EMAIL admin|officer|volunteer
       crier user reset EMAIL        (prints a one-time link to set a new password, valid 24 hours)
       crier user 2fa-reset EMAIL
       crier user require-2fa on|off

The password is asked for at the terminal, or read from the first line of standard
input with --password-stdin (for scripts). It needs at least 12 characters.

2fa-reset turns two-factor sign-in off for someone who lost their phone (they can set
it up again); require-2fa on makes officers and admins set it up before anything else.`
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(a.Stderr, usage)
		if len(args) == 0 {
			return usagef("user needs a command")
		}
		return flag.ErrHelp
	}
	sub := args[0]
	fs := a.flags("user "+sub, "[EMAIL] [flags]", usage)
	a.Config.RegisterFlags(fs)
	name := fs.String("name", "", "add: the person's name")
	role := fs.String("role", auth.Officer, "add: admin, officer or volunteer")
	stdin := fs.Bool("password-stdin", false, "read the password from standard input")
	if err := parse(fs, reorder(args[1:])); err != nil {
		return err
	}
	need := map[string]int{"add": 1, "passwd": 1, "list": 0, "disable": 1, "enable": 1, "role": 2, "reset": 1,
		"2fa-reset": 1, "require-2fa": 1}
	n, ok := need[sub]
	if !ok {
		return usagef("unknown user command %q\n%s", sub, usage)
	}
	if fs.NArg() != n {
		return usagef("user %s: wrong number of arguments\n%s", sub, usage)
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	st := auth.NewStore(d.DB)
	switch sub {
	case "2fa-reset", "require-2fa":
		return a.runUser2FA(ctx, d, sub, fs.Arg(0))
	case "list":
		users, err := st.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tNAME\tROLE\tSTATE")
		for _, u := range users {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Email, u.Name, u.Role, state)
		}
		return tw.Flush()
	case "add", "passwd":
		pw, err := a.readPassword(*stdin)
		if err != nil {
			return err
		}
		if sub == "add" {
			u, err := st.AddRecorded(ctx, fs.Arg(0), *name, *role, pw, a.recordUser(audit.UserAdd, map[string]any{"role": *role}))
			if err != nil {
				return userError(err)
			}
			fmt.Fprintf(a.Stdout, "%s %s (%s) can sign in at %s/login\n", u.Role, u.Name, u.Email, a.webBase())
			return nil
		}
		if err := st.SetPassword(ctx, fs.Arg(0), pw); err != nil {
			return userError(err)
		}
		u, err := st.Get(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		if err := a.record(ctx, d.DB, userEntry(audit.UserPassword, u, nil)); err != nil {
			return err
		}
		fmt.Fprintf(a.Stdout, "password changed for %s; their sessions are signed out\n", fs.Arg(0))
	case "disable", "enable":
		action := map[string]string{"disable": audit.UserDisable, "enable": audit.UserEnable}[sub]
		u, err := st.SetDisabled(ctx, fs.Arg(0), sub == "disable", a.recordUser(action, nil))
		if err != nil {
			return userError(err)
		}
		if u.Disabled {
			fmt.Fprintf(a.Stdout, "%s (%s) is disabled; their sessions are signed out\n", u.Name, u.Email)
		} else {
			fmt.Fprintf(a.Stdout, "%s (%s) can sign in again\n", u.Name, u.Email)
		}
	case "role":
		u, was, err := st.SetRole(ctx, fs.Arg(0), fs.Arg(1), a.recordUser(audit.UserRole, map[string]any{"role": fs.Arg(1)}))
		if err != nil {
			return userError(err)
		}
		fmt.Fprintf(a.Stdout, "%s (%s) is now %s %s (was %s)\n", u.Name, u.Email, article(u.Role), u.Role, was)
	case "reset":
		token, u, expires, err := st.CreateReset(ctx, fs.Arg(0), audit.CLIActor(actor()), a.recordUser(audit.UserResetLink, nil))
		if err != nil {
			return userError(err)
		}
		fmt.Fprintf(a.Stdout, "Give %s (%s) this link to set a new password. It works once, until %s (London):\n%s/reset/%s\n",
			u.Name, u.Email, expires.In(campaign.London).Format("Mon 2 Jan 15:04"), a.webBase(), token)
	}
	return nil
}

// userEntry is the audit entry of a change to account u.
func userEntry(action string, u *auth.User, detail map[string]any) audit.Entry {
	return audit.Entry{Action: action, SubjectType: "user", SubjectID: audit.ID(u.ID), Detail: detail}
}

// recordUser records an account change in the change's transaction.
func (a *App) recordUser(action string, detail map[string]any) auth.Recorder {
	return func(ctx context.Context, tx sqlx.ExecerContext, u *auth.User) error {
		return a.record(ctx, tx, userEntry(action, u, detail))
	}
}

func article(role string) string {
	if role == auth.Admin || role == auth.Officer {
		return "an"
	}
	return "a"
}

// readPassword reads a password from the terminal without echo (twice), or one line of
// standard input.
func (a *App) readPassword(fromStdin bool) (string, error) {
	if f, ok := a.Stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.Stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.Stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(a.Stderr, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.Stderr)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", exitError{code: ExitData, err: errors.New("the two passwords differ")}
		}
		return string(p1), nil
	}
	if !fromStdin {
		return "", usagef("no terminal to ask for the password: pass it on standard input with --password-stdin")
	}
	line, err := bufio.NewReader(a.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", exitError{code: ExitData, err: errors.New("no password on standard input")}
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// webBase is where crier's web pages are.
func (a *App) webBase() string {
	if base := strings.TrimRight(a.Config.PublicURL, "/"); base != "" {
		return base
	}
	return "http://" + a.Config.HTTPAddr
}

func userError(err error) error {
	if errors.Is(err, auth.ErrInvalid) || errors.Is(err, auth.ErrExists) || errors.Is(err, auth.ErrNotFound) || errors.Is(err, auth.ErrLastAdmin) {
		return exitError{code: ExitData, err: err}
	}
	return err
}
