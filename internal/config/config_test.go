package config

import (
	"flag"
	"strings"
	"testing"
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
