package rounds

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// nextID numbers the addresses the helpers make, so each is a distinct door.
var nextID int64

// door is an address on Acre Lane, SW2 1, with house number num and flat flat.
func door(num, flat string) Address {
	nextID++
	return Address{ID: nextID, HouseNumber: num, Flat: flat, Street: "Acre Lane", Town: "London",
		Postcode: "SW2 1AA", Sector: "SW2 1", Households: 1}
}

// on is door on another street, with its own postcode.
func on(street, postcode, num string) Address {
	a := door(num, "")
	a.Street, a.Postcode, a.Sector = street, postcode, ""
	return a
}

// houses is the numbered houses from..to on street.
func houses(street, postcode string, from, to int) []Address {
	var out []Address
	for n := from; n <= to; n++ {
		out = append(out, on(street, postcode, strconv.Itoa(n)))
	}
	return out
}

// show is how a test spells a door: "12", "12/Flat 2", "/Flat 3, Marlowe Court".
func show(a Address) string {
	s := a.HouseNumber
	if a.Building != "" {
		s += "[" + a.Building + "]"
	}
	if a.Flat != "" {
		s += "/" + a.Flat
	}
	return s
}

func shows(as []Address) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = show(a)
	}
	return out
}

func stopShows(stops []Stop) []string {
	out := make([]string, len(stops))
	for i, s := range stops {
		out[i] = show(s.Address)
	}
	return out
}

// doors makes Acre Lane doors from "num/flat" strings.
func doors(specs ...string) []Address {
	out := make([]Address, len(specs))
	for i, s := range specs {
		num, flat, _ := strings.Cut(s, "/")
		out[i] = door(num, flat)
	}
	return out
}

func TestWalkOrder(t *testing.T) {
	withBuilding := func(a Address, b string) Address { a.Building = b; return a }
	cases := []struct {
		name string
		in   []Address
		want []string
	}{
		{"empty", nil, []string{}},
		{"odd up, even down",
			doors("4", "1", "8", "3", "2", "7", "6", "5"),
			[]string{"1", "3", "5", "7", "8", "6", "4", "2"}},
		{"suffixes follow their number on both sides",
			doors("12A", "10", "12", "11a", "11", "13", "14", "12 B"),
			[]string{"11", "11a", "13", "14", "12", "12A", "12 B", "10"}},
		{"ranges by their first number",
			doors("7-9", "10-12", "7", "11", "5", "8"),
			[]string{"5", "7", "7-9", "11", "10-12", "8"}},
		{"numbers by value, not spelling",
			doors("101", "02", "10", "9", "1000", "0"),
			[]string{"9", "101", "1000", "10", "02", "0"}},
		{"named houses last, in natural order",
			doors("Rose Cottage", "2", "the Old Rectory", "1", "Ash House", "Plot 10", "Plot 9"),
			[]string{"1", "2", "Ash House", "Plot 9", "Plot 10", "Rose Cottage", "the Old Rectory"}},
		{"flats grouped at their house number, in natural order",
			doors("12/Flat 10", "11", "12/Flat 2", "14", "12/Flat 1", "13", "12/Flat 1A"),
			[]string{"11", "13", "14", "12/Flat 1", "12/Flat 1A", "12/Flat 2", "12/Flat 10"}},
		{"lettered flats",
			doors("3/Flat C", "3/Flat A", "3/flat b"),
			[]string{"3/Flat A", "3/flat b", "3/Flat C"}},
		{"floors upwards",
			doors("4/Top Flat", "4/Second Floor Flat", "4/Ground Floor Flat", "4/First floor flat",
				"4/Basement Flat", "4/Lower Ground Floor Flat", "4/3rd floor"),
			[]string{"4/Basement Flat", "4/Lower Ground Floor Flat", "4/Ground Floor Flat",
				"4/First floor flat", "4/Second Floor Flat", "4/3rd floor", "4/Top Flat"}},
		{"floor-named flats before the rest",
			doors("6/Flat B", "6/Garden Flat", "6/Flat A"),
			[]string{"6/Garden Flat", "6/Flat A", "6/Flat B"}},
		{"the building's own door before its flats",
			doors("12/Flat A", "12"),
			[]string{"12", "12/Flat A"}},
		{"building named in Flat, without a number",
			doors("/Flat 10, Marlowe Court", "5", "/Flat 2, Marlowe Court", "/Flat 1, Ashby House",
				"/Flat 3, marlowe  court", "6"),
			[]string{"5", "6", "/Flat 1, Ashby House", "/Flat 2, Marlowe Court",
				"/Flat 3, marlowe  court", "/Flat 10, Marlowe Court"}},
		{"Building and Flat's building are one building",
			[]Address{withBuilding(door("", "Flat 2"), "Marlowe Court"), door("", "Flat 1, Marlowe Court"),
				door("Rose Cottage", ""), withBuilding(door("", "Flat 10"), "Marlowe Court")},
			[]string{"/Flat 1, Marlowe Court", "[Marlowe Court]/Flat 2", "[Marlowe Court]/Flat 10", "Rose Cottage"}},
		{"a numbered building is walked at its number, whatever its name",
			[]Address{door("3", "Flat 2, Marlowe Court"), door("1", ""), door("3", "Flat 1, Marlowe Court"),
				door("5", ""), door("2", "")},
			[]string{"1", "3/Flat 1, Marlowe Court", "3/Flat 2, Marlowe Court", "5", "2"}},
		{"doors with neither number nor name last",
			doors("/Ground floor flat", "Rose Cottage", "1"),
			[]string{"1", "Rose Cottage", "/Ground floor flat"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			got := shows(WalkOrder(tc.in))
			if !slices.Equal(got, tc.want) {
				t.Errorf("WalkOrder =\n  %q\nwant\n  %q", got, tc.want)
			}
			if !reflect.DeepEqual(in, tc.in) {
				t.Error("WalkOrder modified its input")
			}
			rev := slices.Clone(tc.in)
			slices.Reverse(rev)
			if got := shows(WalkOrder(rev)); !slices.Equal(got, tc.want) {
				t.Errorf("WalkOrder of the reversed input =\n  %q\nwant\n  %q", got, tc.want)
			}
		})
	}
}

// TestWalkOrderBuildingsOnce checks each building is one run in the walk, at its
// number's place, however its flats are scattered through the input.
func TestWalkOrderBuildingsOnce(t *testing.T) {
	var in []Address
	for n := 1; n <= 20; n++ {
		if n%4 == 0 {
			for f := 12; f >= 1; f-- {
				in = append(in, door(strconv.Itoa(n), "Flat "+strconv.Itoa(f)))
			}
		} else {
			in = append(in, door(strconv.Itoa(n), ""))
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
	got := WalkOrder(in)
	seen := map[string]bool{}
	for i, a := range got {
		if i > 0 && got[i-1].HouseNumber == a.HouseNumber {
			continue
		}
		if seen[a.HouseNumber] {
			t.Fatalf("number %s appears twice in the walk: %q", a.HouseNumber, shows(got))
		}
		seen[a.HouseNumber] = true
	}
	var numbers []string
	for i, a := range got {
		if i == 0 || got[i-1].HouseNumber != a.HouseNumber {
			numbers = append(numbers, a.HouseNumber)
		}
	}
	want := []string{"1", "3", "5", "7", "9", "11", "13", "15", "17", "19",
		"20", "18", "16", "14", "12", "10", "8", "6", "4", "2"}
	if !slices.Equal(numbers, want) {
		t.Errorf("numbers walked %q, want %q", numbers, want)
	}
	var flats []string
	for _, a := range got {
		if a.HouseNumber == "8" {
			flats = append(flats, a.Flat)
		}
	}
	if want := []string{"Flat 1", "Flat 2", "Flat 3", "Flat 4", "Flat 5", "Flat 6", "Flat 7",
		"Flat 8", "Flat 9", "Flat 10", "Flat 11", "Flat 12"}; !slices.Equal(flats, want) {
		t.Errorf("flats at 8: %q, want %q", flats, want)
	}
}

func TestCmpNatural(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "a", -1},
		{"flat 2", "flat 10", -1}, {"flat 10", "flat 2", 1}, {"Flat 2", "flat 2", 0},
		{"SW2 1", "SW12 1", -1}, {"SW2 5", "SW2 1", 1}, {"007", "7", 0}, {"a9b", "a10a", -1},
		{"plot 9", "plot 10", -1}, {"x99999999999999999999999", "x100000000000000000000000", -1},
		{"Ärmel", "ärmel", 0}, {"abc", "abd", -1}, {"12", "12a", -1},
	}
	for _, tc := range cases {
		if got := cmpNatural(tc.a, tc.b); got != tc.want {
			t.Errorf("cmpNatural(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestStreetKey(t *testing.T) {
	same := [][]string{
		{"Acre Lane", "ACRE LANE ", " acre  lane", "Acre Ln", "Acre Ln.", "acre-lane"},
		{"High Street", "High St", "HIGH ST.", "high street"},
		{"St John's Road", "Saint Johns Rd", "ST. JOHNS ROAD", "St Johns Rd", "St John’s Road"},
		{"St Mary Street", "Saint Mary St"},
		{"Church & Chapel Lane", "Church and Chapel Lane"},
		{"Mt Pleasant", "Mount Pleasant"},
		{"Elm Gdns", "Elm Gardens"}, {"Elm Cres", "Elm Crescent"}, {"Elm Tce", "Elm Terrace", "Elm Terr"},
	}
	for _, group := range same {
		for _, s := range group[1:] {
			if a, b := streetKey(group[0]), streetKey(s); a != b {
				t.Errorf("streetKey(%q) = %q, streetKey(%q) = %q; want them equal", group[0], a, s, b)
			}
		}
	}
	different := [][2]string{
		{"Acre Lane", "Acre Road"}, {"Ave Maria Lane", "Avenue Maria Lane"},
		{"Acre Lane", "Acre Lane North"}, {"St", "Street"},
	}
	for _, p := range different {
		if streetKey(p[0]) == streetKey(p[1]) {
			t.Errorf("streetKey(%q) == streetKey(%q) = %q; want them different", p[0], p[1], streetKey(p[0]))
		}
	}
}

func TestSpelling(t *testing.T) {
	cases := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"", "  "}, ""},
		{[]string{"ACRE LANE", "ACRE LANE", "Acre Lane"}, "Acre Lane"},
		{[]string{"Acre Ln", "Acre Lane", "Acre Lane"}, "Acre Lane"},
		{[]string{"Acre Ln", "Acre Ln", "Acre Lane"}, "Acre Ln"},
		{[]string{"Acre Ln", "Acre Lane"}, "Acre Lane"},
		{[]string{"ACRE LANE ", "acre  lane", "acre lane"}, "acre lane"},
		{[]string{"  Acre   Lane "}, "Acre Lane"},
		{[]string{"acre lane", "ACRE LANE"}, "ACRE LANE"},
	}
	for _, tc := range cases {
		if got := spelling(tc.in); got != tc.want {
			t.Errorf("spelling(%q) = %q, want %q", tc.in, got, tc.want)
		}
		rev := slices.Clone(tc.in)
		slices.Reverse(rev)
		if got := spelling(rev); got != tc.want {
			t.Errorf("spelling(%q) = %q, want %q", rev, got, tc.want)
		}
	}
}

func TestPlanGroupsStreetSpellings(t *testing.T) {
	in := []Address{
		on("Acre Lane", "SW2 1AA", "1"), on("ACRE LANE ", "SW2 1AA", "2"), on("acre  lane", "SW2 1AB", "3"),
		on("Acre Ln", "SW2 1AB", "4"), on("Acre Lane", "SW2 1AB", "5"), on("Bell St", "SW2 1AC", "1"),
		on("BELL STREET", "SW2 1AC", "3"),
	}
	got := Plan(in, Options{})
	if len(got) != 1 {
		t.Fatalf("got %d rounds, want 1: %+v", len(got), got)
	}
	r := got[0]
	if want := []string{"Acre Lane", "Bell St"}; !slices.Equal(r.Streets, want) {
		t.Errorf("streets %q, want %q", r.Streets, want)
	}
	if want := []string{"1", "3", "5", "4", "2", "1", "3"}; !slices.Equal(stopShows(r.Stops), want) {
		t.Errorf("stops %q, want %q", stopShows(r.Stops), want)
	}
	if r.Name != "SW2 1 · Acre Lane" || r.Sector != "SW2 1" {
		t.Errorf("name %q, sector %q", r.Name, r.Sector)
	}
}

func TestPlanStreetsByPostcode(t *testing.T) {
	in := slices.Concat(
		houses("Acre Lane", "SW2 1ZZ", 1, 2),
		houses("Zebra Road", "SW2 1AB", 1, 2),
		houses("Mill Lane", "sw21 da", 1, 1), // messy spelling of SW2 1DA
		houses("Mill Lane", "SW2 1AA", 2, 2), // a street is placed by its lowest postcode
		houses("Bell Street", "SW2 1AB", 1, 1),
	)
	got := Plan(in, Options{})
	if len(got) != 1 {
		t.Fatalf("got %d rounds, want 1", len(got))
	}
	want := []string{"Mill Lane", "Bell Street", "Zebra Road", "Acre Lane"}
	if !slices.Equal(got[0].Streets, want) {
		t.Errorf("streets %q, want %q", got[0].Streets, want)
	}
}

func TestPlanTowns(t *testing.T) {
	village := func(town, num string) Address {
		a := on("Church Lane", "LE17 5AA", num)
		a.Town = town
		return a
	}
	t.Run("same street name in two villages", func(t *testing.T) {
		in := []Address{village("Ashby", "1"), village("Barton", "2"), village("ashby ", "2"),
			village("Barton", "1"), village("", "3")}
		got := Plan(in, Options{})
		if len(got) != 1 {
			t.Fatalf("got %d rounds", len(got))
		}
		if want := []string{"Church Lane, Ashby", "Church Lane, Barton", "Church Lane"}; !slices.Equal(got[0].Streets, want) {
			t.Errorf("streets %q, want %q", got[0].Streets, want)
		}
		if want := []string{"1", "2", "1", "2", "3"}; !slices.Equal(stopShows(got[0].Stops), want) {
			t.Errorf("stops %q, want %q", stopShows(got[0].Stops), want)
		}
	})
	t.Run("no town joins the only town", func(t *testing.T) {
		in := []Address{village("Ashby", "1"), village("", "2"), village("ASHBY", "3")}
		got := Plan(in, Options{})
		if len(got) != 1 || !slices.Equal(got[0].Streets, []string{"Church Lane"}) {
			t.Fatalf("got %+v", got)
		}
		if want := []string{"1", "3", "2"}; !slices.Equal(stopShows(got[0].Stops), want) {
			t.Errorf("stops %q, want %q", stopShows(got[0].Stops), want)
		}
	})
}

func TestRefusal(t *testing.T) {
	cases := []struct {
		note, want string
	}{
		{"", ""},
		{"Dog", ""},
		{"Letterbox at side", ""},
		{"No cold calling", ""},
		{"No takeaway menus please", ""},
		{"Junk mail welcome", ""},
		{"No, junk mail is fine", ""},
		{"Piano junk", ""},
		{"No junk mail", "No junk mail"},
		{"NO JUNK MAIL", "No junk mail"},
		{"no junkmail!", "No junk mail"},
		{"No-junk-mail please", "No junk mail"},
		{"Letterbox at side\nNo junk mail", "No junk mail"},
		{"No junk mail\nNo takeaway menus please", "No junk mail"},
		{"No leaflets", "No leaflets"},
		{"no leaflet", "No leaflets"},
		{"NO FLYERS", "No flyers"},
		{"No fliers or free papers", "No flyers"},
		{"NO LEAFLETS/FLYERS", "No leaflets"},
		{"No circulars", "No circulars"},
		{"No unsolicited mail", "No unsolicited mail"},
		{"No unaddressed post", "No unaddressed mail"},
		{"Please: no junk", "No junk mail"},
	}
	for _, tc := range cases {
		if got := refusal(tc.note); got != tc.want {
			t.Errorf("refusal(%q) = %q, want %q", tc.note, got, tc.want)
		}
	}
}

func TestPlanSkips(t *testing.T) {
	cases := []struct {
		name        string
		notes       string
		dnd         bool
		unaddressed bool
		wantSkip    bool
		wantReason  string
	}{
		{"plain, addressed", "", false, false, false, ""},
		{"plain, unaddressed", "Letterbox at side", false, true, false, ""},
		{"do not deliver, addressed", "", true, false, true, ReasonDoNotDeliver},
		{"do not deliver, unaddressed", "Do not deliver — dog", true, true, true, ReasonDoNotDeliver},
		{"do not deliver wins over no junk mail", "No junk mail", true, true, true, ReasonDoNotDeliver},
		{"no junk mail, addressed", "No junk mail", false, false, false, ""},
		{"no junk mail, unaddressed", "No junk mail", false, true, true, "No junk mail"},
		{"no leaflets, addressed", "NO LEAFLETS", false, false, false, ""},
		{"no leaflets, unaddressed", "NO LEAFLETS", false, true, true, "No leaflets"},
		{"no flyers, unaddressed", "no flyers thanks", false, true, true, "No flyers"},
		{"no cold calling, unaddressed", "No cold calling", false, true, false, ""},
		{"dog, unaddressed", "Dog", false, true, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The door under test is 3, walked between 1 and 2: Size 2 holds all three
			// in one round only when it is skipped.
			in := houses("Acre Lane", "SW2 1AA", 1, 3)
			in[2].Notes, in[2].DoNotDeliver = tc.notes, tc.dnd
			got := Plan(in, Options{Size: 2, Unaddressed: tc.unaddressed})
			var stop Stop
			found := 0
			for _, r := range got {
				for _, s := range r.Stops {
					if s.Address.ID == in[2].ID {
						stop = s
						found++
					}
				}
			}
			if found != 1 {
				t.Fatalf("door 3 appears %d times, want once (skipped stops stay on the sheet)", found)
			}
			if stop.Skip != tc.wantSkip || stop.SkipReason != tc.wantReason {
				t.Errorf("stop Skip=%v SkipReason=%q, want %v %q", stop.Skip, stop.SkipReason, tc.wantSkip, tc.wantReason)
			}
			wantRounds := 2
			if tc.wantSkip {
				wantRounds = 1 // the skipped stop doesn't count towards Size
			}
			if len(got) != wantRounds {
				t.Errorf("got %d rounds, want %d", len(got), wantRounds)
			}
			if want := []string{"1", "3", "2"}; !slices.Equal(stopShows(slices.Concat(roundStops(got)...)), want) {
				t.Errorf("walk %q, want %q", stopShows(slices.Concat(roundStops(got)...)), want)
			}
		})
	}
}

func roundStops(rs []Round) [][]Stop {
	out := make([][]Stop, len(rs))
	for i, r := range rs {
		out[i] = r.Stops
	}
	return out
}

func TestRoundCounts(t *testing.T) {
	in := houses("Acre Lane", "SW2 1AA", 1, 5)
	in[0].Households = 3
	in[1].Households = 0
	in[2].DoNotDeliver = true
	in[2].Households = 7
	got := Plan(in, Options{})
	if len(got) != 1 {
		t.Fatalf("got %d rounds", len(got))
	}
	r := got[0]
	if r.Deliverable() != 4 || r.Skipped() != 1 || r.Leaflets() != 3+1+1+1 {
		t.Errorf("Deliverable %d, Skipped %d, Leaflets %d; want 4, 1, 6", r.Deliverable(), r.Skipped(), r.Leaflets())
	}
}

// roundShape is a round reduced to what the size tests check.
type roundShape struct {
	Name    string
	Streets []string
	Doors   []string
}

func shape(rs []Round) []roundShape {
	out := make([]roundShape, len(rs))
	for i, r := range rs {
		out[i] = roundShape{r.Name, r.Streets, stopShows(r.Stops)}
	}
	return out
}

func nums(ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strconv.Itoa(n)
	}
	return out
}

// seq is from, from+step, … to, as strings.
func seq(from, to, step int) []string {
	var out []string
	for n := from; (step > 0 && n <= to) || (step < 0 && n >= to); n += step {
		out = append(out, strconv.Itoa(n))
	}
	return out
}

func TestPlanSize(t *testing.T) {
	building := func(num string, flats int) []Address {
		var out []Address
		for f := 1; f <= flats; f++ {
			a := on("Tower Street", "SW2 1TA", num)
			a.Flat = "Flat " + strconv.Itoa(f)
			out = append(out, a)
		}
		return out
	}
	flatNames := func(num string, from, to int) []string {
		var out []string
		for f := from; f <= to; f++ {
			out = append(out, num+"/Flat "+strconv.Itoa(f))
		}
		return out
	}
	cases := []struct {
		name string
		in   []Address
		size int
		want []roundShape
	}{
		{"streets fill rounds in order",
			slices.Concat(houses("Acre Lane", "SW2 1AA", 1, 3), houses("Bell Street", "SW2 1AB", 1, 3),
				houses("Cole Road", "SW2 1AC", 1, 3)),
			7,
			[]roundShape{
				{"SW2 1 · Acre Lane", []string{"Acre Lane", "Bell Street"}, nums(1, 3, 2, 1, 3, 2)},
				{"SW2 1 · Cole Road", []string{"Cole Road"}, nums(1, 3, 2)},
			}},
		{"a street exactly Size is not split",
			slices.Concat(houses("Acre Lane", "SW2 1AA", 1, 4), houses("Bell Street", "SW2 1AB", 1, 1)),
			4,
			[]roundShape{
				{"SW2 1 · Acre Lane", []string{"Acre Lane"}, nums(1, 3, 4, 2)},
				{"SW2 1 · Bell Street", []string{"Bell Street"}, nums(1)},
			}},
		{"a street that doesn't fit starts a round rather than being split",
			slices.Concat(houses("Acre Lane", "SW2 1AA", 1, 3), houses("Bell Street", "SW2 1AB", 1, 4)),
			5,
			[]roundShape{
				{"SW2 1 · Acre Lane", []string{"Acre Lane"}, nums(1, 3, 2)},
				{"SW2 1 · Bell Street", []string{"Bell Street"}, nums(1, 3, 4, 2)},
			}},
		{"a long street is split between its sides",
			houses("Acre Lane", "SW2 1AA", 1, 20),
			10,
			[]roundShape{
				{"SW2 1 · Acre Lane", []string{"Acre Lane"}, seq(1, 19, 2)},
				{"SW2 1 · Acre Lane (2)", []string{"Acre Lane"}, seq(20, 2, -2)},
			}},
		{"a side too long for one round is split evenly",
			houses("Acre Lane", "SW2 1AA", 1, 40),
			15,
			[]roundShape{
				{"SW2 1 · Acre Lane", []string{"Acre Lane"}, seq(1, 19, 2)},
				{"SW2 1 · Acre Lane (2)", []string{"Acre Lane"}, seq(21, 39, 2)},
				{"SW2 1 · Acre Lane (3)", []string{"Acre Lane"}, seq(40, 22, -2)},
				{"SW2 1 · Acre Lane (4)", []string{"Acre Lane"}, seq(20, 2, -2)},
			}},
		{"a short side and named houses share a round",
			slices.Concat(houses("Acre Lane", "SW2 1AA", 1, 16),
				[]Address{on("Acre Lane", "SW2 1AA", "Rose Cottage"), on("Acre Lane", "SW2 1AA", "Ash House")}),
			10,
			[]roundShape{
				{"SW2 1 · Acre Lane", []string{"Acre Lane"}, seq(1, 15, 2)},
				{"SW2 1 · Acre Lane (2)", []string{"Acre Lane"}, append(seq(16, 2, -2), "Ash House", "Rose Cottage")},
			}},
		{"the last piece of a long street is joined by the next street",
			slices.Concat(houses("Acre Lane", "SW2 1AA", 1, 20), houses("Bell Street", "SW2 1AB", 1, 3)),
			13,
			[]roundShape{
				{"SW2 1 · Acre Lane", []string{"Acre Lane"}, seq(1, 19, 2)},
				{"SW2 1 · Acre Lane (2)", []string{"Acre Lane", "Bell Street"}, append(seq(20, 2, -2), "1", "3", "2")},
			}},
		{"a long street starts a round of its own",
			slices.Concat(houses("Bell Street", "SW2 1AA", 1, 2), houses("Acre Lane", "SW2 1AB", 1, 12)),
			10,
			[]roundShape{
				{"SW2 1 · Bell Street", []string{"Bell Street"}, nums(1, 2)},
				{"SW2 1 · Acre Lane", []string{"Acre Lane"}, seq(1, 11, 2)},
				{"SW2 1 · Acre Lane (2)", []string{"Acre Lane"}, seq(12, 2, -2)},
			}},
		{"buildings are kept whole when a side is split",
			slices.Concat(houses("Tower Street", "SW2 1TA", 1, 1), building("3", 6), houses("Tower Street", "SW2 1TA", 5, 5),
				building("7", 4)),
			8,
			[]roundShape{
				{"SW2 1 · Tower Street", []string{"Tower Street"}, append([]string{"1"}, flatNames("3", 1, 6)...)},
				{"SW2 1 · Tower Street (2)", []string{"Tower Street"}, append([]string{"5"}, flatNames("7", 1, 4)...)},
			}},
		{"a building too big for one round is split evenly",
			building("5", 30),
			12,
			[]roundShape{
				{"SW2 1 · Tower Street", []string{"Tower Street"}, flatNames("5", 1, 10)},
				{"SW2 1 · Tower Street (2)", []string{"Tower Street"}, flatNames("5", 11, 20)},
				{"SW2 1 · Tower Street (3)", []string{"Tower Street"}, flatNames("5", 21, 30)},
			}},
		{"Size 1",
			houses("Acre Lane", "SW2 1AA", 1, 3),
			1,
			[]roundShape{
				{"SW2 1 · Acre Lane", []string{"Acre Lane"}, nums(1)},
				{"SW2 1 · Acre Lane (2)", []string{"Acre Lane"}, nums(3)},
				{"SW2 1 · Acre Lane (3)", []string{"Acre Lane"}, nums(2)},
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(tc.in, Options{Size: tc.size})
			if !reflect.DeepEqual(shape(got), tc.want) {
				t.Errorf("Plan =\n%s\nwant\n%s", fmtShapes(shape(got)), fmtShapes(tc.want))
			}
			for _, r := range got {
				if r.Deliverable() > tc.size {
					t.Errorf("%s: %d deliverable stops, more than Size %d", r.Name, r.Deliverable(), tc.size)
				}
			}
		})
	}
}

func fmtShapes(rs []roundShape) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  %s %q: %q\n", r.Name, r.Streets, r.Doors)
	}
	return b.String()
}

func TestPlanSkippedStopsRideAlong(t *testing.T) {
	dnd := func(as []Address) []Address {
		for i := range as {
			as[i].DoNotDeliver = true
		}
		return as
	}
	t.Run("a street with nothing to deliver joins the round before it", func(t *testing.T) {
		in := slices.Concat(houses("Acre Lane", "SW2 1AA", 1, 4), dnd(houses("Bell Street", "SW2 1AB", 1, 3)),
			houses("Cole Road", "SW2 1AC", 1, 2))
		got := shape(Plan(in, Options{Size: 4}))
		want := []roundShape{
			{"SW2 1 · Acre Lane", []string{"Acre Lane", "Bell Street"}, nums(1, 3, 4, 2, 1, 3, 2)},
			{"SW2 1 · Cole Road", []string{"Cole Road"}, nums(1, 2)},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Plan =\n%s\nwant\n%s", fmtShapes(got), fmtShapes(want))
		}
	})
	t.Run("a street with nothing to deliver at a sector's start joins the first round", func(t *testing.T) {
		in := slices.Concat(dnd(houses("Acre Lane", "SW2 1AA", 1, 2)), houses("Bell Street", "SW2 1AB", 1, 12))
		got := shape(Plan(in, Options{Size: 6}))
		want := []roundShape{
			{"SW2 1 · Acre Lane", []string{"Acre Lane", "Bell Street"}, append(nums(1, 2), seq(1, 11, 2)...)},
			{"SW2 1 · Bell Street", []string{"Bell Street"}, seq(12, 2, -2)},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Plan =\n%s\nwant\n%s", fmtShapes(got), fmtShapes(want))
		}
	})
	t.Run("a skipped door at a cut stays with the stops before it", func(t *testing.T) {
		var in []Address
		for f := 1; f <= 5; f++ {
			a := on("Acre Lane", "SW2 1AA", "3")
			a.Flat = "Flat " + strconv.Itoa(f)
			in = append(in, a)
		}
		in = slices.Concat(in, dnd(houses("Acre Lane", "SW2 1AA", 5, 5)), houses("Acre Lane", "SW2 1AA", 7, 7))
		got := shape(Plan(in, Options{Size: 5}))
		want := []roundShape{
			{"SW2 1 · Acre Lane", []string{"Acre Lane"}, []string{"3/Flat 1", "3/Flat 2", "3/Flat 3", "3/Flat 4", "3/Flat 5", "5"}},
			{"SW2 1 · Acre Lane (2)", []string{"Acre Lane"}, nums(7)},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Plan =\n%s\nwant\n%s", fmtShapes(got), fmtShapes(want))
		}
	})
	t.Run("a sector with nothing to deliver is still on a round", func(t *testing.T) {
		in := dnd(houses("Acre Lane", "SW2 1AA", 1, 3))
		got := Plan(in, Options{Size: 2})
		if len(got) != 1 || got[0].Deliverable() != 0 || got[0].Skipped() != 3 {
			t.Errorf("Plan = %+v, want one round of 3 skipped stops", got)
		}
	})
	t.Run("skipped stops don't count towards Size", func(t *testing.T) {
		in := houses("Acre Lane", "SW2 1AA", 1, 10)
		for i := range in {
			if i%2 == 1 {
				in[i].Notes = "No junk mail"
			}
		}
		if got := Plan(in, Options{Size: 5, Unaddressed: true}); len(got) != 1 || got[0].Deliverable() != 5 {
			t.Errorf("unaddressed: got %d rounds, want 1 with 5 deliverable", len(got))
		}
		if got := Plan(in, Options{Size: 5}); len(got) != 2 {
			t.Errorf("addressed: got %d rounds, want 2", len(got))
		}
	})
}

func TestPlanDefaultSize(t *testing.T) {
	in := houses("Acre Lane", "SW2 1AA", 1, 2*DefaultSize+1)
	for _, size := range []int{0, -1} {
		got := Plan(in, Options{Size: size})
		if len(got) != 3 {
			t.Fatalf("Size %d: got %d rounds, want 3", size, len(got))
		}
		for _, r := range got {
			if r.Deliverable() > DefaultSize {
				t.Errorf("Size %d: %s has %d stops", size, r.Name, r.Deliverable())
			}
		}
	}
}

func TestPlanSectors(t *testing.T) {
	in := slices.Concat(
		houses("Acre Lane", "SW12 1AA", 1, 2),
		houses("Acre Lane", "SW2 5AA", 1, 2),
		houses("Acre Lane", "SW2 1AA", 1, 2),
		houses("Bell Street", "SW2 1AB", 1, 2),
		houses("Cole Road", "", 1, 2),
	)
	in[0].Sector = "sw12  1" // messy sector; the others are worked out from their postcodes
	in[1].Sector = "SW121"
	got := Plan(in, Options{Size: 100})
	want := []struct {
		name, sector string
		streets      []string
	}{
		{"SW2 1 · Acre Lane", "SW2 1", []string{"Acre Lane", "Bell Street"}},
		{"SW2 5 · Acre Lane", "SW2 5", []string{"Acre Lane"}},
		{"SW12 1 · Acre Lane", "SW12 1", []string{"Acre Lane"}},
		{"No postcode · Cole Road", "", []string{"Cole Road"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rounds, want %d:\n%s", len(got), len(want), fmtShapes(shape(got)))
	}
	for i, w := range want {
		r := got[i]
		if r.Name != w.name || r.Sector != w.sector || !slices.Equal(r.Streets, w.streets) {
			t.Errorf("round %d = %q %q %q, want %q %q %q", i, r.Name, r.Sector, r.Streets, w.name, w.sector, w.streets)
		}
		for _, s := range r.Stops {
			if sec := sectorOf(s.Address); sec != r.Sector {
				t.Errorf("%s holds %s in sector %q", r.Name, show(s.Address), sec)
			}
		}
	}
}

func TestSectorOf(t *testing.T) {
	cases := []struct{ sector, postcode, want string }{
		{"SW2 1", "SW2 1RW", "SW2 1"},
		{"sw2 1", "", "SW2 1"},
		{" SW21 ", "", "SW2 1"},
		{"", "SW2 1RW", "SW2 1"},
		{"", "sw21rw", "SW2 1"},
		{"", "EC1A 1BB", "EC1A 1"},
		{"", "M1 1AE", "M1 1"},
		{"", "", ""},
		{"", "SW2", ""},
	}
	for _, tc := range cases {
		if got := sectorOf(Address{Sector: tc.sector, Postcode: tc.postcode}); got != tc.want {
			t.Errorf("sectorOf(%q, %q) = %q, want %q", tc.sector, tc.postcode, got, tc.want)
		}
	}
}

// town is a generated town: its addresses, and for each its true street and sector,
// so plans can be checked against what was made rather than against the package's
// own grouping.
type town struct {
	addrs     []Address
	street    map[int64]string           // ID → "sector|street name" as generated
	name      map[string]string          // "sector|street name" → street name
	spellings map[string]map[string]bool // "sector|street name" → the spellings used, tidied
}

var genStreets = []string{"Acre Lane", "Bell Street", "Church Road", "Dale Avenue", "Elm Close",
	"Ferry Lane", "Grove Road", "Hill Street", "St John's Road", "Mill Lane", "Park Crescent",
	"Queen's Terrace", "Rose Gardens", "Station Road", "Water Lane", "Abbey Road"}

var genNotes = []string{"", "", "", "", "", "", "", "", "No junk mail", "Dog", "Letterbox at side",
	"NO LEAFLETS", "No cold calling", "No junk mail\nNo takeaway menus please", "no flyers"}

// messy spells a street the ways council data does.
func messy(r *rand.Rand, s string) string {
	switch n := r.IntN(100); {
	case n < 80:
		return s
	case n < 88:
		return strings.ToUpper(s)
	case n < 93:
		return " " + strings.ToLower(strings.ReplaceAll(s, " ", "  ")) + " "
	default:
		return strings.NewReplacer("Lane", "Ln", "Road", "Rd", "Street", "St", "Avenue", "Ave",
			"Close", "Cl", "Crescent", "Cres", "Terrace", "Tce", "Gardens", "Gdns", "St John", "Saint John").Replace(s)
	}
}

// genTown makes a town of sectors × streets, with flats, converted houses, named
// houses, suffixes and ranges, messy spellings and delivery notes.
func genTown(seed uint64, sectors, streetsPer int) town {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	tw := town{street: map[int64]string{}, name: map[string]string{}, spellings: map[string]map[string]bool{}}
	var id int64
	for s := range sectors {
		sector := fmt.Sprintf("SE%d %d", 20+s, 1+r.IntN(9))
		townName := []string{"Millbrook", "Ashby", "Barton", "Cliffe"}[s%4]
		perm := r.Perm(len(genStreets))
		unit := 0
		for _, si := range perm[:streetsPer] {
			name := genStreets[si]
			key := sector + "|" + name
			tw.name[key] = name
			tw.spellings[key] = map[string]bool{}
			n := 1 + r.IntN(300)
			if r.IntN(5) == 0 {
				n = r.IntN(8)
			}
			add := func(num, flat, building string) {
				id++
				pc := fmt.Sprintf("%s%c%c", sector, 'A'+rune(unit/26%26), 'A'+rune(unit%26))
				a := Address{ID: id, Flat: flat, HouseNumber: num, Building: building, Street: messy(r, name),
					Town: townName, Postcode: pc, Sector: sector, Households: 1}
				switch r.IntN(10) {
				case 0:
					a.Sector = ""
				case 1:
					a.Postcode = strings.ToLower(strings.ReplaceAll(pc, " ", ""))
				case 2:
					a.Town = ""
				}
				a.Notes = genNotes[r.IntN(len(genNotes))]
				a.DoNotDeliver = r.IntN(50) == 0
				if r.IntN(20) == 0 {
					a.Households = r.IntN(4)
				}
				tw.addrs = append(tw.addrs, a)
				tw.street[a.ID] = key
				tw.spellings[key][strings.Join(strings.Fields(a.Street), " ")] = true
			}
			for h := 1; h <= n; h++ {
				if h%20 == 0 {
					unit++
				}
				num := strconv.Itoa(h)
				switch k := r.IntN(100); {
				case k < 3: // a block of flats
					flats := 2 + r.IntN(120)
					bname := fmt.Sprintf("%s House", genStreets[r.IntN(len(genStreets))][:4])
					for f := 1; f <= flats; f++ {
						add(num, fmt.Sprintf("Flat %d, %s", f, bname), "")
					}
				case k < 25: // a converted house
					floors := []string{"Ground Floor Flat", "First Floor Flat", "Second Floor Flat"}
					for f := range 2 + r.IntN(2) {
						if k%2 == 0 {
							add(num, floors[f], "")
						} else {
							add(num, "Flat "+string(rune('A'+f)), "")
						}
					}
				case k < 28:
					add(num, "", "")
					add(num+"A", "", "")
				case k < 30 && h+2 <= n:
					add(fmt.Sprintf("%d-%d", h, h+2), "", "")
					h += 2
				default:
					add(num, "", "")
				}
			}
			for i := range r.IntN(4) {
				add("", "", fmt.Sprintf("Cottage %d", i+1))
			}
			if r.IntN(4) == 0 {
				for f := range 1 + r.IntN(30) {
					add("", fmt.Sprintf("Flat %d, Marlowe Court", f+1), "")
				}
			}
			unit++
		}
	}
	r.Shuffle(len(tw.addrs), func(i, j int) { tw.addrs[i], tw.addrs[j] = tw.addrs[j], tw.addrs[i] })
	return tw
}

// TestPlanGeneratedTown checks the rules that must hold of any plan, over a generated
// town of several thousand addresses and a range of round sizes.
func TestPlanGeneratedTown(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		tw := genTown(seed, 3, 6)
		if len(tw.addrs) < 3000 {
			t.Fatalf("seed %d: generated only %d addresses", seed, len(tw.addrs))
		}
		for _, size := range []int{1, 7, 40, 150, 1000} {
			for _, unaddressed := range []bool{false, true} {
				name := fmt.Sprintf("seed=%d/size=%d/unaddressed=%v", seed, size, unaddressed)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					in := slices.Clone(tw.addrs)
					rounds := Plan(in, Options{Size: size, Unaddressed: unaddressed})
					if !reflect.DeepEqual(in, tw.addrs) {
						t.Fatal("Plan modified its input")
					}
					checkPlan(t, tw, rounds, size, unaddressed)
				})
			}
		}
	}
}

func checkPlan(t *testing.T, tw town, rounds []Round, size int, unaddressed bool) {
	t.Helper()
	seen := map[int64]int{}
	names := map[string]bool{}
	weight := map[string]int{}        // street → deliverable stops
	roundsOf := map[string][]int{}    // street → rounds holding it
	walked := map[string][]Address{}  // street → its stops, in plan order
	sectorRounds := map[string]bool{} // sectors seen, to check they're contiguous
	for _, a := range tw.addrs {
		if _, skip := skipReason(a, unaddressed); !skip {
			weight[tw.street[a.ID]]++
		}
	}
	for i, r := range rounds {
		if names[r.Name] {
			t.Errorf("round name %q used twice", r.Name)
		}
		names[r.Name] = true
		if !strings.HasPrefix(r.Name, r.Sector+" · ") {
			t.Errorf("round %q is not named for its sector %q", r.Name, r.Sector)
		}
		if i > 0 && rounds[i-1].Sector != r.Sector && sectorRounds[r.Sector] {
			t.Errorf("sector %s's rounds are not together", r.Sector)
		}
		sectorRounds[r.Sector] = true
		if d := r.Deliverable(); d > size {
			t.Errorf("%s: %d deliverable stops, more than %d", r.Name, d, size)
		} else if d == 0 {
			t.Errorf("%s: nothing to deliver", r.Name)
		}
		leaflets := 0
		var streets []string // the true street of each stretch of stops
		for _, s := range r.Stops {
			a := s.Address
			seen[a.ID]++
			key := tw.street[a.ID]
			if sec, _, _ := strings.Cut(key, "|"); sec != r.Sector {
				t.Errorf("%s (sector %s) holds address %d of %s", r.Name, r.Sector, a.ID, key)
			}
			if reason, skip := skipReason(a, unaddressed); s.Skip != skip || s.SkipReason != reason {
				t.Errorf("%s: address %d (%q, dnd %v) Skip %v %q, want %v %q",
					r.Name, a.ID, a.Notes, a.DoNotDeliver, s.Skip, s.SkipReason, skip, reason)
			}
			if !s.Skip {
				leaflets += max(a.Households, 1)
			}
			if len(streets) == 0 || streets[len(streets)-1] != key {
				streets = append(streets, key)
				if n := roundsOf[key]; len(n) > 0 && n[len(n)-1] != i-1 && n[len(n)-1] != i {
					t.Errorf("street %s is walked in rounds %v and %d, not one after another", key, n, i)
				}
				roundsOf[key] = append(roundsOf[key], i)
			}
			walked[key] = append(walked[key], a)
		}
		// Each street is shown by one of the ways it is spelt (usually the generated
		// name, but a short street may be spelt more often in a messy way).
		if len(streets) != len(r.Streets) {
			t.Errorf("%s: Streets %q, but its stops are on %q", r.Name, r.Streets, streets)
		} else {
			for j, key := range streets {
				if !tw.spellings[key][r.Streets[j]] {
					t.Errorf("%s: street %q shown as %q, not one of its spellings", r.Name, key, r.Streets[j])
				}
			}
		}
		if r.Leaflets() != leaflets {
			t.Errorf("%s: Leaflets %d, want %d", r.Name, r.Leaflets(), leaflets)
		}
		// Rounds are filled street by street: a round ends early only when the next
		// street, starting the next round whole, wouldn't have fitted.
		if i+1 < len(rounds) && rounds[i+1].Sector == r.Sector {
			next := rounds[i+1]
			first := tw.street[next.Stops[0].Address.ID]
			last := tw.street[r.Stops[len(r.Stops)-1].Address.ID]
			if first != last && weight[first] <= size && r.Deliverable()+weight[first] <= size {
				t.Errorf("%s ends with %d stops, but %s (%d stops) would have fitted", r.Name, r.Deliverable(), first, weight[first])
			}
		}
	}
	for _, a := range tw.addrs {
		if seen[a.ID] != 1 {
			t.Errorf("address %d (%s) appears %d times, want once", a.ID, show(a), seen[a.ID])
		}
	}
	if len(seen) != len(tw.addrs) {
		t.Errorf("plan holds %d addresses, want %d", len(seen), len(tw.addrs))
	}
	for key, rs := range roundsOf {
		if weight[key] <= size && len(rs) > 1 {
			t.Errorf("street %s (%d stops) split over rounds %v, though it fits in %d", key, weight[key], rs, size)
		}
		if want := WalkOrder(walked[key]); !reflect.DeepEqual(walked[key], want) {
			t.Errorf("street %s is not walked in WalkOrder:\n  %q\nwant\n  %q", key, shows(walked[key]), shows(want))
		}
	}
}

func TestPlanDeterministic(t *testing.T) {
	tw := genTown(7, 3, 6)
	for _, opts := range []Options{{}, {Size: 25, Unaddressed: true}} {
		want := Plan(tw.addrs, opts)
		r := rand.New(rand.NewPCG(7, 8))
		for i := range 5 {
			in := slices.Clone(tw.addrs)
			r.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
			if got := Plan(in, opts); !reflect.DeepEqual(got, want) {
				t.Fatalf("options %+v, shuffle %d: a different plan from the same addresses", opts, i)
			}
		}
		if s := WalkOrder(tw.addrs); !reflect.DeepEqual(s, WalkOrder(slices.Clone(tw.addrs))) {
			t.Fatal("WalkOrder differs between calls")
		}
	}
}

// TestPlanDeterministicDuplicates checks addresses that differ only in fields the
// rules ignore (or not at all) still plan the same whatever their order.
func TestPlanDeterministicDuplicates(t *testing.T) {
	base := on("Acre Lane", "SW2 1AA", "1")
	var in []Address
	for i := range 6 {
		a := base
		a.ID = 0
		a.Notes = []string{"a", "b", "a", "", "No junk mail", ""}[i]
		a.Street = []string{"Acre Lane", "ACRE LANE", "Acre Ln", "Acre Lane", "acre lane", "Acre Lane"}[i]
		in = append(in, a)
	}
	want := Plan(in, Options{Size: 2, Unaddressed: true})
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		r.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
		if got := Plan(in, Options{Size: 2, Unaddressed: true}); !reflect.DeepEqual(got, want) {
			t.Fatalf("a different plan from the same addresses:\n%+v\nwant\n%+v", got, want)
		}
	}
}

func BenchmarkPlan(b *testing.B) {
	tw := genTown(1, 8, 12)
	for b.Loop() {
		Plan(tw.addrs, Options{Unaddressed: true})
	}
	b.ReportMetric(float64(len(tw.addrs)), "addresses")
}
