package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/crierhq/crier/internal/db"
)

func (a *App) runServe(ctx context.Context, args []string) error {
	fs := a.flags("serve", "[flags]", "Run crier's HTTP server. For now it answers GET /healthz; later it hosts the\nofficers', volunteers' and residents' pages, the webhooks and the scheduler.")
	a.Config.RegisterFlags(fs)
	a.Config.RegisterServeFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	d, err := a.openDB(ctx, schemaCheck)
	if err != nil {
		return err
	}
	defer d.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status, code := "ok", http.StatusOK
		if err := d.PingContext(pctx); err != nil {
			status, code = "database unreachable", http.StatusServiceUnavailable
		} else if err := db.CheckSchema(pctx, d.DB); err != nil {
			status, code = "database schema out of date", http.StatusServiceUnavailable
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": status, "version": version})
	})
	// Listen first so a busy port is reported at once rather than from a goroutine.
	ln, err := net.Listen("tcp", a.Config.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Config.HTTPAddr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(a.Stderr, "serving on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(a.Stderr, "stopped")
	return nil
}

func (a *App) runVersion(ctx context.Context, args []string) error {
	fs := a.flags("version", "", "Print crier's version.")
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "crier %s\n", version)
	return nil
}
