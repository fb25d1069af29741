package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime/pprof"

	"github.com/crierhq/crier/internal/server"
)

func (a *App) runServe(ctx context.Context, args []string) error {
	fs := a.flags("serve", "[flags]", `Run crier: the scheduler that starts due campaigns, the workers that send them
through the outbox, and the HTTP server (health, one-click unsubscribe, view in
browser). Several crier serve processes can share one database.`)
	a.Config.RegisterFlags(fs)
	a.Config.RegisterServeFlags(fs)
	sandboxSMTP := fs.Bool("sandbox", false, "with no CRIER_SMTP_URL, send e-bulletins to a sandbox SMTP server on loopback;\nwith no CRIER_TWILIO_ACCOUNT_SID, send texts to the Twilio-compatible sandbox (the sandbox phone)")
	if err := parse(fs, args); err != nil {
		return err
	}
	// Refuse before anything starts, so the operator sees it at once and no real message
	// can leave; the sandbox sends nowhere real and keeps the demo's identity.
	if !*sandboxSMTP {
		if err := a.refuseUntilPublic("serve", "send real messages"); err != nil {
			return err
		}
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()
	return a.serve(ctx, d, *sandboxSMTP)
}

// serve runs the web server, the scheduler and the senders on CRIER_HTTP_ADDR until ctx
// ends; with sandbox, e-bulletins and texts without a configured provider go to the
// sandboxes on loopback.
func (a *App) serve(ctx context.Context, d *database, sandbox bool) error {
	// Listen first so a busy port is reported at once rather than from a goroutine.
	ln, err := net.Listen("tcp", a.Config.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Config.HTTPAddr, err)
	}
	e, err := a.newEngine(ctx, d, ln.Addr().String(), ln.Addr().String(), sandbox)
	if err != nil {
		ln.Close()
		return err
	}
	defer e.Close()
	if path := os.Getenv("CRIER_CPU_PROFILE"); path != "" {
		// For profiling on the user's path (crier bench send sets it with --profile).
		stop, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stop()
	}
	fmt.Fprintf(a.Stderr, "serving on http://%s (instance %s)\n", ln.Addr(), a.Config.Instance)
	if err := e.Run(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintln(a.Stderr, "stopped")
	return nil
}

// newEngine wires what serve runs from the command's configuration (internal/server).
func (a *App) newEngine(ctx context.Context, d *database, listenAddr, hookAddr string, sandbox bool) (*server.Engine, error) {
	hot, err := d.openHotPath(ctx)
	if err != nil {
		return nil, err
	}
	wake, err := d.openWake(ctx, a.logger())
	if err != nil {
		return nil, err
	}
	return server.New(ctx, server.Options{Config: a.Config, DB: d.DB, HotPathDB: hot, Wake: wake, Logger: a.logger(), Notices: a.Stderr,
		Version: version, ListenAddr: listenAddr, HookAddr: hookAddr, Sandbox: sandbox})
}

// linkKey is the key for signed links (CRIER_LINK_KEY, or the one kept in the data directory).
func (a *App) linkKey() ([]byte, error) { return server.LinkKey(a.Config) }

func (a *App) runVersion(ctx context.Context, args []string) error {
	fs := a.flags("version", "", "Print crier's version.")
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "crier %s\n", version)
	return nil
}

// startCPUProfile writes a CPU profile to path until the returned function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("CRIER_CPU_PROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("CRIER_CPU_PROFILE: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
