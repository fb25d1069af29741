package contact_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/rounds"
)

type storedDoor struct {
	Flat        string `db:"flat"`
	HouseNumber string `db:"house_number"`
	Street      string `db:"street"`
	Town        string `db:"town"`
	Postcode    string `db:"postcode"`
}

func (d storedDoor) String() string {
	return fmt.Sprintf("%q %q %q %q %s", d.Flat, d.HouseNumber, d.Street, d.Town, d.Postcode)
}

func importFixture(t *testing.T, s *contact.Store, name string) *contact.ImportResult {
	t.Helper()
	res, err := s.Import(context.Background(), contact.ImportOptions{Path: filepath.Join("testdata", name)})
	if err != nil {
		if res != nil {
			t.Fatalf("import %s: %v (%v)", name, err, res.Errors)
		}
		t.Fatalf("import %s: %v", name, err)
	}
	return res
}

func doorsByName(t *testing.T, d *sqlx.DB) map[string]storedDoor {
	t.Helper()
	var rows []struct {
		Name string `db:"name"`
		storedDoor
	}
	if err := d.Select(&rows, `SELECT c.first_name || ' ' || c.last_name AS name, a.flat, a.house_number, a.street, a.town, a.postcode
		FROM contacts c JOIN households h ON h.id = c.household_id JOIN addresses a ON a.id = h.address_id`); err != nil {
		t.Fatal(err)
	}
	out := map[string]storedDoor{}
	for _, r := range rows {
		out[r.Name] = r.storedDoor
	}
	return out
}

// The doors of testdata/council-address-lines.csv, by resident, as they must be stored.
var councilDoors = map[string]storedDoor{
	"Siân Llewellyn":    {"Flat 1", "14", "High St", "Cardiff", "CF5 1AB"},
	"Owain Rees":        {"Flat 2", "14", "High St", "Cardiff", "CF5 1AB"},
	"Megan Harris":      {"Flat 3", "14", "High Street", "Cardiff", "CF5 1AB"},
	"Bethan Jones":      {"", "14A", "High Street", "Cardiff", "CF5 1AB"},
	"Dafydd Evans":      {"", "16", "HIGH STREET", "Cardiff", "CF5 1AB"},
	"Ffion Morgan":      {"", "1", "High St.", "Cardiff", "CF5 1AA"},
	"Rhys Price":        {"Rose Cottage", "3", "High Street", "Cardiff", "CF5 1AA"},
	"Aled Hughes":       {"", "15", "High Street", "Cardiff", "CF5 1AA"},
	"Catrin Thomas":     {"", "24", "Heol y Dŵr", "Cardiff", "CF5 1HD"},
	"Gareth Lloyd":      {"", "The Old Rectory", "Church Lane", "Cardiff", "CF5 1LN"},
	"Riverside Traders": {"Unit 3", "", "Riverside Ind. Est.", "Cardiff", "CF5 1RE"},
	"Iwan Roberts":      {"Fflat 3", "7", "Stryd Fawr", "Cardiff", "CF5 1SF"},
	"Ailsa MacLeod":     {"2/1", "15", "Byres Road", "Glasgow", "G11 5RD"},
	"Tomasz Nowak":      {"", "12-14", "Station Road", "Cardiff", "CF5 1SR"},
}

func checkDoors(t *testing.T, d *sqlx.DB, want map[string]storedDoor) {
	t.Helper()
	got := doorsByName(t, d)
	for name, w := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("%s has no address", name)
		} else if g != w {
			t.Errorf("%s lives at %v, want %v", name, g, w)
		}
	}
}

func TestImportAddressLines(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)

	res := importFixture(t, s, "council-address-lines.csv")
	if res.ContactsCreated != len(councilDoors) {
		t.Fatalf("created %d contacts, want %d", res.ContactsCreated, len(councilDoors))
	}
	checkDoors(t, d, councilDoors)

	// Two flats of one house are two doors on one street.
	if got := count(t, d, `SELECT count(*) FROM addresses WHERE postcode = 'CF5 1AB' AND street = 'High St' AND house_number = '14'`); got != 2 {
		t.Errorf("Flat 1 and Flat 2, 14 High St are %d doors, want 2", got)
	}

	// The lines as the council wrote them are kept with the person.
	id, err := s.FindByEmail(ctx, "catrin.thomas@example.org")
	if err != nil {
		t.Fatal(err)
	}
	var original string
	if err := d.Get(&original, `SELECT attributes->>'address_lines' FROM contacts WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if original != "24 Heol y Dŵr\nCanton\nCardiff" {
		t.Errorf("original address = %q", original)
	}
	// The UPRN is the door key (see uprn_test.go); the address lines are not attributes.
	if got := count(t, d, `SELECT count(*) FROM addresses WHERE uprn <> ''`); got != len(councilDoors) {
		t.Errorf("%d doors have a UPRN, want %d", got, len(councilDoors))
	}
	if got := count(t, d, `SELECT count(*) FROM contacts WHERE attributes ? 'address_line_1' OR attributes ? 'address_line_3'`); got != 0 {
		t.Errorf("%d contacts kept address lines as attributes", got)
	}

	// Importing the file again changes nothing and duplicates no one.
	addrs, people := count(t, d, `SELECT count(*) FROM addresses`), count(t, d, `SELECT count(*) FROM contacts`)
	res = importFixture(t, s, "council-address-lines.csv")
	if res.ContactsCreated != 0 {
		t.Errorf("re-import created %d contacts", res.ContactsCreated)
	}
	if a, p := count(t, d, `SELECT count(*) FROM addresses`), count(t, d, `SELECT count(*) FROM contacts`); a != addrs || p != people {
		t.Errorf("re-import: %d addresses, %d contacts; want %d, %d", a, p, addrs, people)
	}

	// The same residents from another system, their address in one multi-line cell,
	// land on the same doors: no new address, no new person.
	res = importFixture(t, s, "council-address-cell.csv")
	if res.ContactsCreated != 0 {
		t.Errorf("multi-line import created %d contacts", res.ContactsCreated)
	}
	if a, p := count(t, d, `SELECT count(*) FROM addresses`), count(t, d, `SELECT count(*) FROM contacts`); a != addrs || p != people {
		t.Errorf("multi-line import: %d addresses, %d contacts; want %d, %d", a, p, addrs, people)
	}
	checkDoors(t, d, councilDoors)
}

func TestImportAddressCell(t *testing.T) {
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	importFixture(t, s, "council-address-cell.csv")
	want := map[string]storedDoor{}
	for name, door := range councilDoors {
		if name != "Catrin Thomas" && name != "Riverside Traders" && name != "Iwan Roberts" && name != "Ailsa MacLeod" {
			want[name] = door
		}
	}
	// The cell writes "14A" where the other file wrote "14a", and "High Street" for Flat 3.
	checkDoors(t, d, want)
	var original string
	if err := d.Get(&original, `SELECT attributes->>'address_lines' FROM contacts WHERE last_name = 'Rees'`); err != nil {
		t.Fatal(err)
	}
	if original != "Flat 2\n14 High St\nCanton\nCardiff" {
		t.Errorf("original address = %q", original)
	}
}

// TestImportAddressLinesRounds plans delivery rounds over imported address lines: one
// street's doors, however the file spelt the street, are one run of the walk, odd
// numbers up and even numbers back down.
func TestImportAddressLinesRounds(t *testing.T) {
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	importFixture(t, s, "council-address-lines.csv")

	var addrs []rounds.Address
	if err := d.Select(&addrs, `SELECT id AS "id", flat AS "flat", house_number AS "housenumber", street AS "street",
		town AS "town", postcode AS "postcode", postcode_sector AS "sector" FROM addresses`); err != nil {
		t.Fatal(err)
	}
	plan := rounds.Plan(addrs, rounds.Options{Size: 50})
	// Where in the plan (round, stop) each High Street door is, in walking order.
	isHighStreet := func(street string) bool {
		k := strings.ToLower(strings.TrimSuffix(street, "."))
		return k == "high st" || k == "high street"
	}
	var walk []string
	var at [][2]int
	for ri, r := range plan {
		for si, st := range r.Stops {
			if isHighStreet(st.Address.Street) {
				walk = append(walk, strings.TrimSpace(st.Address.HouseNumber+" "+st.Address.Flat))
				at = append(at, [2]int{ri, si})
			}
		}
	}
	for i := 1; i < len(at); i++ {
		if at[i][0] != at[0][0] || at[i][1] != at[i-1][1]+1 {
			t.Errorf("High Street's doors are not one run of one round: %v", at)
			break
		}
	}
	if len(at) > 0 {
		if r := plan[at[0][0]]; !slices.Equal(r.Streets, []string{"High Street"}) && slices.Index(r.Streets, "High Street") < 0 {
			t.Errorf("round %q walks streets %q, want High Street once", r.Name, r.Streets)
		}
	}
	want := []string{"1", "3 Rose Cottage", "15", "16", "14 Flat 1", "14 Flat 2", "14 Flat 3", "14A"}
	if !slices.Equal(walk, want) {
		t.Errorf("High Street walk = %q, want %q", walk, want)
	}
}
