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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	app := &cli.App{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Config:     config.Default(),
		IsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
	}
	code := app.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
