package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// runHealthcheck asks a running `crier serve` whether it is ready (GET /readyz), for a
// container's HEALTHCHECK: the image has no curl. Exit 0 when ready, 1 when not.
func (a *App) runHealthcheck(ctx context.Context, args []string) error {
	fs := a.flags("healthcheck", "[flags]", "Ask the crier serving on CRIER_HTTP_ADDR (on this host) whether it is ready:\nthe database answers and its schema is current. Exits 0 when ready, 1 when not.")
	a.Config.RegisterFlags(fs)
	a.Config.RegisterServeFlags(fs)
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := parse(fs, args); err != nil {
		return err
	}
	u, err := readyURL(a.Config.HTTPAddr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not serving at %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready (%s): %s", resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprint(a.Stdout, string(body))
	return nil
}

// readyURL is where the server listening on addr answers /readyz on this host: a
// wildcard address (0.0.0.0, [::], or none) is asked on loopback.
func readyURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("CRIER_HTTP_ADDR %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
