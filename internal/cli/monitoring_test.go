package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/config"
)

// TestDemoWithJSONLogsAndMetrics runs the demo as an operator would with
// CRIER_LOG_FORMAT=json and CRIER_METRICS_TOKEN: while it serves, /metrics needs the token
// and shows the demo's sends; afterwards every log line is JSON and none names a resident.
func TestDemoWithJSONLogsAndMetrics(t *testing.T) {
	addr, dsn, out, errb, done, cancel := startDemo(t, func(cfg *config.Config) {
		cfg.LogFormat, cfg.MetricsToken = "json", "demo-metrics-token"
	})
	defer cancel()

	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if code, _ := get("/healthz", ""); code == http.StatusOK {
			if code, _ := get("/signup", ""); code == http.StatusOK {
				break
			}
		}
		select {
		case c := <-done:
			t.Fatalf("demo ended (exit %d) before serving:\n%s", c, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("the demo never served:\n%s", errb.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, _ := get("/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d, want 401", code)
	}
	if code, _ := get("/metrics", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong token: %d, want 401", code)
	}
	code, body := get("/metrics", "demo-metrics-token")
	if code != http.StatusOK {
		t.Fatalf("/metrics with the token: %d %s", code, body)
	}
	for _, want := range []string{"crier_messages_total{", "crier_outbox_pending{", "crier_import_rows_total{result=\"read\"}", "crier_channel_up{"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "@") {
		t.Errorf("/metrics holds an @:\n%s", body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("demo after Ctrl-C: exit %d\n%s", code, errb.String())
	}

	// Log lines are JSON; the rest of standard error is the demo's words for people.
	var logLines int
	for _, l := range strings.Split(errb.String(), "\n") {
		if strings.HasPrefix(l, "time=") {
			t.Errorf("a text log line with CRIER_LOG_FORMAT=json: %s", l)
		}
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, l)
		}
		if rec["msg"] == nil || rec["level"] == nil || rec["time"] == nil {
			t.Errorf("log line without time, level or msg: %s", l)
		}
		logLines++
	}
	if logLines < 2 {
		t.Fatalf("only %d JSON log lines:\n%s", logLines, errb.String())
	}
	d, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var points []string
	if err := d.Select(&points, `SELECT value FROM contact_points WHERE kind IN ('email', 'phone')`); err != nil {
		t.Fatal(err)
	}
	if len(points) < 100 {
		t.Fatalf("%d contact points", len(points))
	}
	logs := errb.String()
	for _, p := range points {
		if strings.Contains(logs, p) || (strings.HasPrefix(p, "+44") && strings.Contains(logs, "0"+p[3:])) {
			t.Fatalf("the logs hold %q", p)
		}
	}
}
