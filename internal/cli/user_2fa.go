package cli

import (
	"context"
	"fmt"

	"github.com/crierhq/crier/internal/auth"
)

// runUser2FA is an admin's side of two-factor sign-in: reset someone's, or require it.
// Neither needs the link key, so neither reads or makes one.
func (a *App) runUser2FA(ctx context.Context, d *database, sub, arg string) error {
	tf, err := auth.NewTwoFactor(d.DB, nil)
	if err != nil {
		return err
	}
	switch sub {
	case "2fa-reset":
		was, err := tf.Reset(ctx, arg)
		if err != nil {
			return userError(err)
		}
		if !was {
			fmt.Fprintf(a.Stdout, "two-factor sign-in was not on for %s; nothing to reset\n", arg)
			return nil
		}
		fmt.Fprintf(a.Stdout, "two-factor sign-in is off for %s; they can set it up again at %s/account/two-factor\n", arg, a.webBase())
	case "require-2fa":
		var on bool
		switch arg {
		case "on":
			on = true
		case "off":
		default:
			return usagef("user require-2fa: say on or off, not %q", arg)
		}
		if err := tf.SetRequired(ctx, on); err != nil {
			return err
		}
		if on {
			fmt.Fprintln(a.Stdout, "two-factor sign-in is required of officers and admins; anyone without it sets it up at their next page")
		} else {
			fmt.Fprintln(a.Stdout, "two-factor sign-in is no longer required (those who have it keep it)")
		}
	}
	return nil
}
