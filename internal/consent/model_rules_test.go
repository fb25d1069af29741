package consent_test

import (
	"testing"

	"github.com/crierhq/crier/internal/consent"
)

// The model's rules, case by case: these are docs/consent.md's table.
func TestModelRules(t *testing.T) {
	const p, general, roads = 1, 10, 20
	type step func(m *consent.Model)
	cases := []struct {
		name      string
		steps     []step
		topic     int64
		want      string
		service   bool // may a service notice go
		marketing bool // may marketing go
	}{
		{"nothing on record", nil, general, "", true, false},
		{"import yes grants", []step{func(m *consent.Model) { m.Import(p, general, true) }}, general, "granted", true, true},
		{"import yes never overrides a withdrawal", []step{
			func(m *consent.Model) { m.Choose(p, general, consent.Withdrawn) },
			func(m *consent.Model) { m.Import(p, general, true) }}, general, "withdrawn", false, false},
		{"import no withdraws a grant", []step{
			func(m *consent.Model) { m.Import(p, general, true) },
			func(m *consent.Model) { m.Import(p, general, false) }}, general, "withdrawn", false, false},
		{"import no records nothing where nothing stands", []step{
			func(m *consent.Model) { m.Import(p, general, false) }}, general, "", true, false},
		{"STOP withdraws every topic", []step{
			func(m *consent.Model) { m.Import(p, general, true) },
			func(m *consent.Model) { m.Stop(p) }}, general, "withdrawn", false, false},
		{"START restores what the STOP withdrew", []step{
			func(m *consent.Model) { m.Import(p, general, true) },
			func(m *consent.Model) { m.Stop(p) },
			func(m *consent.Model) { m.Start(p) }}, general, "granted", true, true},
		{"START grants nothing never granted", []step{
			func(m *consent.Model) { m.Stop(p) },
			func(m *consent.Model) { m.Start(p) }}, roads, "", true, false},
		{"START keeps a web withdrawal", []step{
			func(m *consent.Model) { m.Import(p, roads, true) },
			func(m *consent.Model) { m.Choose(p, roads, consent.Withdrawn) },
			func(m *consent.Model) { m.Stop(p) },
			func(m *consent.Model) { m.Start(p) }}, roads, "withdrawn", false, false},
		{"a web grant during a STOP waits for START", []step{
			func(m *consent.Model) { m.Stop(p) },
			func(m *consent.Model) { m.Choose(p, roads, consent.Granted) }}, roads, "withdrawn", false, false},
		{"unsubscribe from everything covers a later topic", []step{
			func(m *consent.Model) { m.WithdrawAll(p) }}, roads, "withdrawn", false, false},
		{"a topic granted again after unsubscribing from everything", []step{
			func(m *consent.Model) { m.WithdrawAll(p) },
			func(m *consent.Model) { m.Choose(p, roads, consent.Granted) }}, roads, "granted", true, true},
		{"an import can't undo unsubscribe from everything", []step{
			func(m *consent.Model) { m.WithdrawAll(p) },
			func(m *consent.Model) { m.Import(p, roads, true) }}, roads, "withdrawn", false, false},
		{"an invalid number gets nothing, consent unchanged", []step{
			func(m *consent.Model) { m.Import(p, general, true) },
			func(m *consent.Model) { m.MarkPoint(p, "invalid") }}, general, "granted", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := consent.NewModel()
			for _, s := range tc.steps {
				s(m)
			}
			if got := m.Current(p, tc.topic); got != tc.want {
				t.Errorf("status %q, want %q", got, tc.want)
			}
			if got := m.MaySend(p, tc.topic, false); got != tc.service {
				t.Errorf("service notice may go: %v, want %v", got, tc.service)
			}
			if got := m.MaySend(p, tc.topic, true); got != tc.marketing {
				t.Errorf("marketing may go: %v, want %v", got, tc.marketing)
			}
		})
	}
}
