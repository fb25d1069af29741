// Command crier sends one campaign to every resident by email, text and leaflet.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // Europe/London scheduling must work on hosts without zoneinfo

	"golang.org/x/term"

	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/config"
)

func main() {
	// `crier contacts export | head -1` closes the pipe early: by default the runtime
	// would kill crier at its next write, leaving the private PostgreSQL it started
	// running. Ignored, SIGPIPE makes the write fail (EPIPE) and the command end in
	// order. SIGHUP: the terminal closed.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	app := &cli.App{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Config:     config.Default(),
		IsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
	}
	code := app.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
