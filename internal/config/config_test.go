package config

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestPreferencesLinkDays(t *testing.T) {
	cases := []struct {
		name, env string
		args      []string
		want      int
		invalid   bool
	}{
		{"default", "", nil, 90, false},
		{"from the environment", "30", nil, 30, false},
		{"the flag wins", "30", []string{"-preferences-link-days", "7"}, 7, false},
		{"not a number: the default", "soon", nil, 90, false},
		{"zero", "0", nil, 0, true},
		{"negative", "", []string{"-preferences-link-days", "-1"}, -1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CRIER_PREFERENCES_LINK_DAYS", tc.env)
			c := Default()
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			c.RegisterServeFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if c.PreferencesLinkDays != tc.want {
				t.Errorf("PreferencesLinkDays = %d, want %d", c.PreferencesLinkDays, tc.want)
			}
			err := c.Validate()
			if got := err != nil && strings.Contains(err.Error(), "CRIER_PREFERENCES_LINK_DAYS"); got != tc.invalid {
				t.Errorf("Validate() = %v, want an error naming CRIER_PREFERENCES_LINK_DAYS: %v", err, tc.invalid)
			}
		})
	}
}

func TestValidateForRealSends(t *testing.T) {
	real := Config{PublicURL: "https://crier.millbrook.gov.uk", OrgName: "Millbrook Council",
		OrgAddress: "Town Hall, High Street, Millbrook MB1 1AA"}
	tests := []struct {
		name string
		edit func(*Config)
		want string // the whole message; empty = allowed
	}{
		{"all set", func(*Config) {}, ""},
		{"https with a path and port", func(c *Config) { c.PublicURL = "https://council.example:8443/crier/" }, ""},
		{"nothing set", func(c *Config) { *c = Config{} },
			"set CRIER_PUBLIC_URL (an https:// address residents can reach), CRIER_ORG_NAME, CRIER_ORG_ADDRESS"},
		{"demo identity", func(c *Config) { c.OrgName, c.OrgAddress = DemoOrgName, DemoOrgAddress },
			"set CRIER_ORG_NAME, CRIER_ORG_ADDRESS"},
		{"demo address only", func(c *Config) { c.OrgAddress = DemoOrgAddress }, "set CRIER_ORG_ADDRESS"},
		{"blank name", func(c *Config) { c.OrgName = "  " }, "set CRIER_ORG_NAME"},
		{"no public url", func(c *Config) { c.PublicURL = "" },
			"set CRIER_PUBLIC_URL (an https:// address residents can reach)"},
		{"plain http", func(c *Config) { c.PublicURL = "http://crier.millbrook.gov.uk" },
			`set CRIER_PUBLIC_URL (an https:// address residents can reach; "http://crier.millbrook.gov.uk" is not https)`},
		{"no scheme", func(c *Config) { c.PublicURL = "crier.millbrook.gov.uk" },
			`set CRIER_PUBLIC_URL (an https:// address residents can reach; "crier.millbrook.gov.uk" is not https)`},
		{"no host", func(c *Config) { c.PublicURL = "https:///c/1" },
			`set CRIER_PUBLIC_URL (an https:// address residents can reach; "https:///c/1" has no host)`},
		{"loopback ipv4", func(c *Config) { c.PublicURL = "https://127.0.0.1:8080" },
			`set CRIER_PUBLIC_URL (an https:// address residents can reach; "https://127.0.0.1:8080" is this machine only)`},
		{"anywhere in 127/8", func(c *Config) { c.PublicURL = "https://127.3.2.1" },
			`set CRIER_PUBLIC_URL (an https:// address residents can reach; "https://127.3.2.1" is this machine only)`},
		{"loopback ipv6", func(c *Config) { c.PublicURL = "https://[::1]:8443" },
			`set CRIER_PUBLIC_URL (an https:// address residents can reach; "https://[::1]:8443" is this machine only)`},
		{"localhost", func(c *Config) { c.PublicURL = "https://LocalHost:8080/" },
			`set CRIER_PUBLIC_URL (an https:// address residents can reach; "https://LocalHost:8080/" is this machine only)`},
		{"a localhost subdomain", func(c *Config) { c.PublicURL = "https://crier.localhost" },
			`set CRIER_PUBLIC_URL (an https:// address residents can reach; "https://crier.localhost" is this machine only)`},
		{"every interface", func(c *Config) { c.PublicURL = "https://0.0.0.0:8080" },
			`set CRIER_PUBLIC_URL (an https:// address residents can reach; "https://0.0.0.0:8080" is this machine only)`},
		{"the demo's http loopback, and the demo identity", func(c *Config) {
			c.PublicURL, c.OrgName, c.OrgAddress = "http://127.0.0.1:8080", DemoOrgName, DemoOrgAddress
		}, `set CRIER_PUBLIC_URL (an https:// address residents can reach; "http://127.0.0.1:8080" is not https), CRIER_ORG_NAME, CRIER_ORG_ADDRESS`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := real
			tc.edit(&c)
			err := c.ValidateForRealSends()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("ValidateForRealSends() = %q\nwant                   %q", got, tc.want)
			}
		})
	}
}

// TestDefaultIdentity: with CRIER_ORG_NAME and CRIER_ORG_ADDRESS unset the demo identity
// fills in (the demo prints it), and ValidateForRealSends tells it from an operator's.
func TestDefaultIdentity(t *testing.T) {
	t.Setenv("CRIER_PUBLIC_URL", "")
	t.Setenv("CRIER_ORG_NAME", "")
	t.Setenv("CRIER_ORG_ADDRESS", "")
	c := Default()
	if c.OrgName != DemoOrgName || c.OrgAddress != DemoOrgAddress || c.PublicURL != "" {
		t.Fatalf("unset: %q, %q, %q", c.OrgName, c.OrgAddress, c.PublicURL)
	}
	if err := c.ValidateForRealSends(); err == nil || !strings.Contains(err.Error(), "CRIER_PUBLIC_URL") ||
		!strings.Contains(err.Error(), "CRIER_ORG_NAME") || !strings.Contains(err.Error(), "CRIER_ORG_ADDRESS") {
		t.Fatalf("the demo identity passes for real sends: %v", err)
	}

	t.Setenv("CRIER_PUBLIC_URL", "https://crier.millbrook.gov.uk")
	t.Setenv("CRIER_ORG_NAME", "Millbrook Council")
	t.Setenv("CRIER_ORG_ADDRESS", "Town Hall, High Street, Millbrook MB1 1AA")
	c = Default()
	if c.OrgName != "Millbrook Council" || c.OrgAddress != "Town Hall, High Street, Millbrook MB1 1AA" {
		t.Fatalf("set: %q, %q", c.OrgName, c.OrgAddress)
	}
	if err := c.ValidateForRealSends(); err != nil {
		t.Fatalf("an operator's identity is refused: %v", err)
	}
}

// TestSMTPURLOptions: an option CRIER_SMTP_URL does not know is refused, naming it, the
// valid ones and the nearest, rather than ignored ("?tsl=none" used to send with the
// default, STARTTLS).
func TestSMTPURLOptions(t *testing.T) {
	tests := []struct {
		url     string
		wantTLS string
		wantErr string // a part of the error; "" = accepted
	}{
		{"smtp://relay.example:587", "starttls", ""},
		{"smtp://relay.example:25?tls=none", "none", ""},
		{"smtps://relay.example", "tls", ""},
		{"smtp://user:secret@relay.example:587?tls=starttls-required", "starttls-required", ""},
		{"smtp://relay.example:25?tsl=none", "", `unknown option "tsl"; did you mean tls? (valid options: tls)`},
		{"smtp://relay.example:25?TLS=none", "", `unknown option "TLS"; did you mean tls?`},
		{"smtp://relay.example:25?tls=none&timeout=5s", "", `unknown option "timeout" (valid options: tls)`},
		{"smtp://relay.example:25?tls=none&tls=tls", "", "option tls is given 2 times"},
		{"smtp://relay.example:25?tls=", "", `tls="" must be none, starttls, starttls-required or tls`},
		{"smtp://relay.example:25?tls=ssl", "", `tls="ssl" must be`},
		{"smtp://relay.example:25?tls=none;x", "", "not name=value pairs"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			c := Config{SMTPURL: tc.url}
			s, err := c.SMTP()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("SMTP() = %v, want it accepted", err)
			case tc.wantErr == "" && s.TLS != tc.wantTLS:
				t.Errorf("TLS = %q, want %q", s.TLS, tc.wantTLS)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("SMTP() = %+v, %v; want an error with %q", s, err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), "secret"):
				t.Errorf("the error shows the password: %v", err)
			}
			if tc.wantErr != "" {
				if verr := c.Validate(); verr == nil || !strings.Contains(verr.Error(), tc.wantErr) {
					t.Errorf("Validate() = %v; want it to refuse the URL", verr)
				}
			}
		})
	}
}

func TestRetention(t *testing.T) {
	cases := []struct {
		replies, bodies string
		wantR, wantB    time.Duration
		bad             string // the key the error names
	}{
		{"", "", 0, 0, ""},
		{"off", "OFF", 0, 0, ""},
		{"90d", "30 days", 90 * 24 * time.Hour, 30 * 24 * time.Hour, ""},
		{"2160h", "1 day", 2160 * time.Hour, 24 * time.Hour, ""},
		{"ninety days", "", 0, 0, "CRIER_RETENTION_REPLIES"},
		{"", "-5d", 0, 0, "CRIER_RETENTION_BODIES"},
		{"", "10m", 0, 0, "CRIER_RETENTION_BODIES"},
	}
	for _, tc := range cases {
		t.Run(tc.replies+"/"+tc.bodies, func(t *testing.T) {
			t.Setenv("CRIER_RETENTION_REPLIES", tc.replies)
			t.Setenv("CRIER_RETENTION_BODIES", tc.bodies)
			c := Default()
			r, b, err := c.Retention()
			verr := c.Validate()
			if tc.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.bad) || verr == nil || !strings.Contains(verr.Error(), tc.bad) {
					t.Fatalf("Retention = %v, Validate = %v; want errors naming %s", err, verr, tc.bad)
				}
				return
			}
			if err != nil || r != tc.wantR || b != tc.wantB {
				t.Fatalf("Retention = %v, %v, %v; want %v, %v", r, b, err, tc.wantR, tc.wantB)
			}
		})
	}
}

func TestLogFormatAndMetricsToken(t *testing.T) {
	for _, tc := range []struct {
		env     string
		want    string
		invalid bool
	}{
		{"", "text", false},
		{"text", "text", false},
		{"json", "json", false},
		{"JSON", "JSON", true},
		{"logfmt", "logfmt", true},
	} {
		t.Setenv("CRIER_LOG_FORMAT", tc.env)
		c := Default()
		if c.LogFormat != tc.want {
			t.Errorf("CRIER_LOG_FORMAT=%q: LogFormat %q, want %q", tc.env, c.LogFormat, tc.want)
		}
		err := c.Validate()
		if got := err != nil && strings.Contains(err.Error(), "CRIER_LOG_FORMAT"); got != tc.invalid {
			t.Errorf("CRIER_LOG_FORMAT=%q: Validate() = %v, want an error: %v", tc.env, err, tc.invalid)
		}
	}
	t.Setenv("CRIER_METRICS_TOKEN", "s3cret")
	if c := Default(); c.MetricsToken != "s3cret" {
		t.Errorf("MetricsToken = %q", c.MetricsToken)
	}
}
