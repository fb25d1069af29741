package printrun

import (
	"slices"
	"testing"

	"github.com/crierhq/crier/internal/rounds"
)

// A leaflet's address panel and a round sheet's door (its lines joined by ", ") write
// a house name on its own line, never run into the street.
func TestAddressLines(t *testing.T) {
	for _, tc := range []struct {
		a    rounds.Address
		want []string
	}{
		{rounds.Address{HouseNumber: "The Old Rectory", Street: "Church Lane", Town: "Cardiff", Postcode: "CF5 1LN"},
			[]string{"The Old Rectory", "Church Lane", "Cardiff", "CF5 1LN"}},
		{rounds.Address{HouseNumber: "Tŷ Gwyn", Street: "Heol yr Eglwys", Postcode: "SA1 2BB"},
			[]string{"Tŷ Gwyn", "Heol yr Eglwys", "SA1 2BB"}},
		{rounds.Address{Flat: "Rose Cottage", HouseNumber: "3", Street: "Mill Lane", Town: "Cardiff", Postcode: "CF5 1AA"},
			[]string{"Rose Cottage", "3 Mill Lane", "Cardiff", "CF5 1AA"}},
		{rounds.Address{Flat: "Flat 2", HouseNumber: "14A", Street: "High St", Postcode: "CF5 1AB"},
			[]string{"Flat 2", "14A High St", "CF5 1AB"}},
		{rounds.Address{Street: "Riverside Industrial Estate", Postcode: "CF5 1RE"},
			[]string{"Riverside Industrial Estate", "CF5 1RE"}},
	} {
		if got := addressLines(tc.a); !slices.Equal(got, tc.want) {
			t.Errorf("addressLines(%+v) = %q, want %q", tc.a, got, tc.want)
		}
	}
}
