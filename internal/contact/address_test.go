package contact

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// addressCases are address lines as council exports hold them, written by hand. lines
// separates the file's columns with "|"; a "\n" is a line break inside one cell.
var addressCases = []struct {
	lines                             string
	flat, name, num, street, locality string
}{
	// Plain numbered houses.
	{"24 Heol y Dŵr", "", "", "24", "Heol y Dŵr", ""},
	{"14a Mill Lane", "", "", "14A", "Mill Lane", ""},
	{"14A Mill Lane", "", "", "14A", "Mill Lane", ""},
	{"14 a Mill Lane", "", "", "14A", "Mill Lane", ""},
	{"1 Acre Lane", "", "", "1", "Acre Lane", ""},
	{"221B Baker Street", "", "", "221B", "Baker Street", ""},
	{"12-14 Station Road", "", "", "12-14", "Station Road", ""},
	{"12 - 14 Station Road", "", "", "12-14", "Station Road", ""},
	{"7–9 Market Place", "", "", "7-9", "Market Place", ""},
	{"14/16 Union Street", "", "", "14/16", "Union Street", ""},
	{"33  Acre   Lane", "", "", "33", "Acre Lane", ""},
	{"  5 Orchard Close  ", "", "", "5", "Orchard Close", ""},
	{"102 St John's Rd", "", "", "102", "St John's Rd", ""},
	{"9 High St.", "", "", "9", "High St.", ""},
	{"18 The Crescent", "", "", "18", "The Crescent", ""},
	{"3 Mill Lane, Ashby", "", "", "3", "Mill Lane", "Ashby"},
	{"3 Mill Lane|Ashby", "", "", "3", "Mill Lane", "Ashby"},
	{"3 Mill Lane|Ashby|Leicestershire", "", "", "3", "Mill Lane", "Ashby, Leicestershire"},
	{"14|High Street", "", "", "14", "High Street", ""},
	{"14,High Street,Llandaff", "", "", "14", "High Street", "Llandaff"},
	{"40 Church Road|Roath|Cardiff", "", "", "40", "Church Road", "Roath, Cardiff"},
	{"2 Bryn Rhosyn", "", "", "2", "Bryn Rhosyn", ""},
	{"17 Ffordd y Brenin", "", "", "17", "Ffordd y Brenin", ""},
	{"8 Lôn Isaf", "", "", "8", "Lôn Isaf", ""},
	{"61 Stryd Fawr, Pwllheli", "", "", "61", "Stryd Fawr", "Pwllheli"},
	{"4 Maes y Coed|Llanbedr Pont Steffan", "", "", "4", "Maes y Coed", "Llanbedr Pont Steffan"},
	{"11 Cilgant y Llan", "", "", "11", "Cilgant y Llan", ""},
	{"5 Rhodfa'r Môr", "", "", "5", "Rhodfa'r Môr", ""},
	{"27 Sauchiehall Street", "", "", "27", "Sauchiehall Street", ""},
	{"3 Lady Lawson Wynd", "", "", "3", "Lady Lawson Wynd", ""},
	{"10 Kirk Brae, Cults", "", "", "10", "Kirk Brae", "Cults"},
	{"48 Great Junction Street|Leith|Edinburgh", "", "", "48", "Great Junction Street", "Leith, Edinburgh"},
	{"6 Mansefield Loan", "", "", "6", "Mansefield Loan", ""},
	{"120 Nethergate", "", "", "120", "Nethergate", ""},
	{"1 Ballater Road, Aboyne", "", "", "1", "Ballater Road", "Aboyne"},
	{"19 Pen-y-Lan Road", "", "", "19", "Pen-y-Lan Road", ""},
	{"1A Canal Side", "", "", "1A", "Canal Side", ""},
	{"250 LONDON ROAD", "", "", "250", "LONDON ROAD", ""},
	{"4B HIGH STREET|HAY-ON-WYE", "", "", "4B", "HIGH STREET", "HAY-ON-WYE"},

	// Flats, apartments and units.
	{"Flat 2, 14 High St", "Flat 2", "", "14", "High St", ""},
	{"Flat 2 14 High Street", "Flat 2", "", "14", "High Street", ""},
	{"Flat 2|14 High Street", "Flat 2", "", "14", "High Street", ""},
	{"Flat 2\n14 High Street\nCanton", "Flat 2", "", "14", "High Street", "Canton"},
	{"Flat 2\r\n14 High Street\r\nCanton", "Flat 2", "", "14", "High Street", "Canton"},
	{"FLAT 2, 14 HIGH ST", "FLAT 2", "", "14", "HIGH ST", ""},
	{"flat 10, 3 park row", "flat 10", "", "3", "park row", ""},
	{"Flat A, 1 Park Row", "Flat A", "", "1", "Park Row", ""},
	{"Flat 2A, 9 Elm Grove", "Flat 2A", "", "9", "Elm Grove", ""},
	{"Flat 12 Marlowe Court, 80 Brixton Hill", "Flat 12", "Marlowe Court", "80", "Brixton Hill", ""},
	{"Flat 3, Marlowe Court, 80 Brixton Hill", "Flat 3", "Marlowe Court", "80", "Brixton Hill", ""},
	{"Flat 3|Marlowe Court|Brixton Hill", "Flat 3", "Marlowe Court", "", "Brixton Hill", ""},
	{"Flat 5, Cedar House, Mill Road", "Flat 5", "Cedar House", "", "Mill Road", ""},
	{"Apartment 5, 1 Wharf Street", "Apartment 5", "", "1", "Wharf Street", ""},
	{"Apt 14, Quayside Lofts, 58 Quay Street", "Apt 14", "Quayside Lofts", "58", "Quay Street", ""},
	{"Unit 3, Riverside Ind. Est.", "Unit 3", "", "", "Riverside Ind. Est.", ""},
	{"Unit 12, Treforest Industrial Estate|Pontypridd", "Unit 12", "", "", "Treforest Industrial Estate", "Pontypridd"},
	{"Fflat 3, 7 Stryd Fawr", "Fflat 3", "", "7", "Stryd Fawr", ""},
	{"Fflat 1|22 Heol y Bont|Caerfyrddin", "Fflat 1", "", "22", "Heol y Bont", "Caerfyrddin"},
	{"Basement Flat, 12 Elgin Crescent", "Basement Flat", "", "12", "Elgin Crescent", ""},
	{"Ground Floor Flat, 27 Wellfield Road", "Ground Floor Flat", "", "27", "Wellfield Road", ""},
	{"Ground Floor Flat 27 Wellfield Road", "Ground Floor Flat", "", "27", "Wellfield Road", ""},
	{"First Floor Flat, 27 Wellfield Road", "First Floor Flat", "", "27", "Wellfield Road", ""},
	{"1st Floor Flat|27 Wellfield Road", "1st Floor Flat", "", "27", "Wellfield Road", ""},
	{"Top Floor Flat, 33 Acre Lane", "Top Floor Flat", "", "33", "Acre Lane", ""},
	{"Top Flat, 33 Acre Lane", "Top Flat", "", "33", "Acre Lane", ""},
	{"Garden Flat, 6 Kingsdown Parade", "Garden Flat", "", "6", "Kingsdown Parade", ""},
	{"Upper Flat, 19 Albert Road", "Upper Flat", "", "19", "Albert Road", ""},
	{"Lower Ground Floor Flat, 8 Royal York Crescent", "Lower Ground Floor Flat", "", "8", "Royal York Crescent", ""},
	{"Ground Floor, 4 Cathedral Road", "Ground Floor", "", "4", "Cathedral Road", ""},
	{"Maisonette 2, 40 Tulse Hill", "Maisonette 2", "", "40", "Tulse Hill", ""},
	{"Studio 4, 11 Coldharbour Lane", "Studio 4", "", "11", "Coldharbour Lane", ""},
	{"Room 6, 3 College Road", "Room 6", "", "3", "College Road", ""},
	{"Flat 4 12 Bellevue Road", "Flat 4", "", "12", "Bellevue Road", ""},

	// Scottish tenements: the flat's position, floor/door.
	{"2/1 15 Byres Road", "2/1", "", "15", "Byres Road", ""},
	{"2/1, 15 Byres Road", "2/1", "", "15", "Byres Road", ""},
	{"Flat 1/2, 15 Byres Road", "Flat 1/2", "", "15", "Byres Road", ""},
	{"Flat 0/1|15 Byres Road|Glasgow", "Flat 0/1", "", "15", "Byres Road", "Glasgow"},
	{"0/1 102 Dumbarton Road", "0/1", "", "102", "Dumbarton Road", ""},
	{"Flat 3/2, 40 Hyndland Road", "Flat 3/2", "", "40", "Hyndland Road", ""},
	{"15 Byres Road (2F1)", "2F1", "", "15", "Byres Road", ""},
	{"15 Byres Road (2F1)|Glasgow", "2F1", "", "15", "Byres Road", "Glasgow"},
	{"2F1, 23 Marchmont Road", "2F1", "", "23", "Marchmont Road", ""},
	{"PF1 9 Bruntsfield Place", "PF1", "", "9", "Bruntsfield Place", ""},
	{"3F2 14 Warrender Park Terrace|Edinburgh", "3F2", "", "14", "Warrender Park Terrace", "Edinburgh"},
	{"Flat G/1, 5 Gardner Street", "Flat G/1", "", "5", "Gardner Street", ""},

	// House names.
	{"The Old Rectory, Church Lane", "", "The Old Rectory", "", "Church Lane", ""},
	{"The Old Rectory|Church Lane|Little Snoring", "", "The Old Rectory", "", "Church Lane", "Little Snoring"},
	{"Rose Cottage, 3 Mill Lane", "", "Rose Cottage", "3", "Mill Lane", ""},
	{"Rose Cottage|3 Mill Lane", "", "Rose Cottage", "3", "Mill Lane", ""},
	{"Ty Gwyn, Heol y Dŵr", "", "Ty Gwyn", "", "Heol y Dŵr", ""},
	{"Ty Gwyn|Llanfihangel|Aberystwyth", "", "Ty Gwyn", "", "Llanfihangel", "Aberystwyth"},
	{"Bryn Awel, Ffordd Penrhos", "", "Bryn Awel", "", "Ffordd Penrhos", ""},
	{"Hafod, 12 Lôn Las", "", "Hafod", "12", "Lôn Las", ""},
	{"Glenview, Station Road, Crianlarich", "", "Glenview", "", "Station Road", "Crianlarich"},
	{"Mains of Cairnbrogie Farm|Oldmeldrum", "", "Mains of Cairnbrogie Farm", "", "Oldmeldrum", ""},
	{"Rowan Lodge, Braemar Road", "", "Rowan Lodge", "", "Braemar Road", ""},
	{"The Bungalow|Back Lane", "", "The Bungalow", "", "Back Lane", ""},
	{"Holly House, 2 School Lane", "", "Holly House", "2", "School Lane", ""},
	{"Marlowe Court, Brixton Hill", "", "Marlowe Court", "", "Brixton Hill", ""},
	{"Ivy Cottages, 4 Green Lane", "", "Ivy Cottages", "4", "Green Lane", ""},
	{"Fern Bank|Keswick Road|Windermere", "", "Fern Bank", "", "Keswick Road", "Windermere"},
	{"Manor Farm House, Main Street, Great Easton", "", "Manor Farm House", "", "Main Street", "Great Easton"},
	{"The Coach House\nThe Green\nBishops Lydeard", "", "The Coach House", "", "The Green", "Bishops Lydeard"},

	{"Annexe, Rose Cottage, Mill Lane", "Annexe", "Rose Cottage", "", "Mill Lane", ""},
	{"14 Marlowe Court, London Road", "14", "Marlowe Court", "", "London Road", ""},
	{"22 Cedar House|Tulse Hill|London", "22", "Cedar House", "", "Tulse Hill", "London"},
	{"Ground Floor Left, 12 Dalry Road", "Ground Floor Left", "", "12", "Dalry Road", ""},
	{"No. 14 High Street", "", "", "14", "High Street", ""},
	{"No 3, Y Stryd Fawr", "", "", "3", "Y Stryd Fawr", ""},
	{"Plot 5, Mill Lane", "", "Plot 5", "", "Mill Lane", ""},

	// Where the street is a building's own name, or a lone line.
	{"Riverside Industrial Estate", "", "", "", "Riverside Industrial Estate", ""},
	{"High Street", "", "", "", "High Street", ""},
	{"Church Lane, Ashby", "", "", "", "Church Lane", "Ashby"},
	{"", "", "", "", "", ""},
	{"|  |", "", "", "", "", ""},
}

func splitCase(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}

func TestParseAddressLines(t *testing.T) {
	if len(addressCases) < 100 {
		t.Fatalf("the table has %d address lines; keep at least 100", len(addressCases))
	}
	for _, tc := range addressCases {
		t.Run(tc.lines, func(t *testing.T) {
			got := ParseAddressLines(splitCase(tc.lines))
			want := Address{Flat: tc.flat, HouseName: tc.name, Number: tc.num, Street: tc.street, Locality: tc.locality}
			got.Original = ""
			if got != want {
				t.Errorf("ParseAddressLines(%q)\n got %+v\nwant %+v", tc.lines, got, want)
			}
		})
	}
}

func TestParseAddressLinesQualifiersAndBoxes(t *testing.T) {
	for _, tc := range []struct {
		lines string
		want  Address
	}{
		{"Land adjacent to 4 Mill Lane", Address{Qualifier: "Land adjacent to", Number: "4", Street: "Mill Lane"}},
		{"Rear of 12 High Street", Address{Qualifier: "Rear of", Number: "12", Street: "High Street"}},
		{"R/O 12 High Street", Address{Qualifier: "R/O", Number: "12", Street: "High Street"}},
		{"Land at Church Lane|Ashby", Address{Qualifier: "Land at", Street: "Church Lane", Locality: "Ashby"}},
		{"Garage adjacent to 7 Mill Road", Address{Qualifier: "Garage adjacent to", Number: "7", Street: "Mill Road"}},
		{"PO Box 123", Address{POBox: "PO Box 123"}},
		{"P.O. Box 77|Cardiff", Address{POBox: "PO Box 77", Locality: "Cardiff"}},
		{"p o box 4051, Swansea", Address{POBox: "PO Box 4051", Locality: "Swansea"}},
		{"Post Office Box 9", Address{POBox: "PO Box 9"}},
	} {
		t.Run(tc.lines, func(t *testing.T) {
			got := ParseAddressLines(splitCase(tc.lines))
			got.Original = ""
			if got != tc.want {
				t.Errorf("ParseAddressLines(%q)\n got %+v\nwant %+v", tc.lines, got, tc.want)
			}
		})
	}
}

func TestParseAddressLinesOriginal(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{"Flat 2, 14 High St"}, "Flat 2, 14 High St"},
		{[]string{" Flat 2 ", "", "14 High St", "Canton"}, "Flat 2\n14 High St\nCanton"},
		{[]string{"Flat 2\r\n14  High St\r\n"}, "Flat 2\n14  High St"},
		{nil, ""},
	} {
		if got := ParseAddressLines(tc.lines).Original; got != tc.want {
			t.Errorf("ParseAddressLines(%q).Original = %q, want %q", tc.lines, got, tc.want)
		}
	}
}

func TestAddressDoor(t *testing.T) {
	for _, tc := range []struct {
		lines                           string
		flat, houseNumber, street, town string
	}{
		{"Flat 2, 14 High St", "Flat 2", "14", "High St", ""},
		{"14a Mill Lane|Ashby", "", "14A", "Mill Lane", "Ashby"},
		// A named house with no number keeps its name where a "House name or number"
		// column puts it, and rounds walk it as a named house.
		{"The Old Rectory, Church Lane", "", "The Old Rectory", "Church Lane", ""},
		// A name beside a number is the door's label; the number places it.
		{"Rose Cottage, 3 Mill Lane", "Rose Cottage", "3", "Mill Lane", ""},
		{"Flat 3, Marlowe Court, 80 Brixton Hill", "Flat 3, Marlowe Court", "80", "Brixton Hill", ""},
		{"Flat 3|Marlowe Court|Brixton Hill", "Flat 3, Marlowe Court", "", "Brixton Hill", ""},
		{"Rear of 12 High Street", "Rear of", "12", "High Street", ""},
		{"PO Box 123|Cardiff", "", "", "PO Box 123", "Cardiff"},
		{"Ty Gwyn|Llanfihangel|Aberystwyth", "", "Ty Gwyn", "Llanfihangel", "Aberystwyth"},
		{"Mains of Cairnbrogie Farm|Oldmeldrum", "", "Mains of Cairnbrogie Farm", "Oldmeldrum", ""},
	} {
		t.Run(tc.lines, func(t *testing.T) {
			flat, num, street, town := ParseAddressLines(splitCase(tc.lines)).door()
			if flat != tc.flat || num != tc.houseNumber || street != tc.street || town != tc.town {
				t.Errorf("door() = %q %q %q %q, want %q %q %q %q", flat, num, street, town, tc.flat, tc.houseNumber, tc.street, tc.town)
			}
		})
	}
}

func BenchmarkParseAddressLines(b *testing.B) {
	sets := make([][]string, len(addressCases))
	for i, tc := range addressCases {
		sets[i] = splitCase(tc.lines)
	}
	n := 0
	for b.Loop() {
		ParseAddressLines(sets[n%len(sets)])
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/address")
}

// FuzzParseAddressLines checks that parsing never loses or invents text: every part it
// returns, but the normalised number and box, is found in the input with its spaces
// folded, and the original keeps every non-space character given.
func FuzzParseAddressLines(f *testing.F) {
	for _, tc := range addressCases {
		f.Add(tc.lines)
	}
	f.Add("Land adjacent to 4 Mill Lane|P.O. Box 77")
	f.Add("15 Byres Road (2F1)|2/1")
	f.Fuzz(func(t *testing.T, s string) {
		lines := splitCase(s)
		a := ParseAddressLines(lines)
		folded := strings.Join(strings.Fields(strings.NewReplacer(",", " ", "\u00a0", " ").Replace(strings.Join(lines, " "))), " ")
		for _, part := range []string{a.Flat, a.HouseName, a.Qualifier, a.Street} {
			if !strings.Contains(folded, part) {
				t.Errorf("ParseAddressLines(%q) returned %q, which is not in the input; got %+v", s, part, a)
			}
		}
		for _, p := range strings.Split(a.Locality, ", ") {
			if !strings.Contains(folded, p) {
				t.Errorf("ParseAddressLines(%q) returned locality %q, which is not in the input", s, p)
			}
		}
		squashed := func(s string) string { return strings.Join(strings.Fields(s), "") }
		if squashed(a.Original) != squashed(strings.Join(lines, "\n")) {
			t.Errorf("ParseAddressLines(%q).Original = %q lost text", s, a.Original)
		}
	})
}

func TestNormaliserAddressLines(t *testing.T) {
	header := []string{"Flat", "Address line 1", "Address line 2", "Town", "Postcode"}
	cols, err := MapHeader(header, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := newNormaliser("f.csv", cols, "GB")
	for _, tc := range []struct {
		rec                              []string
		flat, number, street, town, orig string
	}{
		{[]string{"", "Flat 2, 14 High St", "Canton", "", "CF5 1AB"}, "Flat 2", "14", "High St", "Canton", "Flat 2, 14 High St\nCanton"},
		// The file's own Flat and Town columns win.
		{[]string{"Ground floor", "14 High St", "Canton", "Cardiff", "CF5 1AB"}, "Ground floor", "14", "High St", "Cardiff", "14 High St\nCanton"},
		{[]string{"", "The Old Rectory\nChurch Lane", "", "", "CF5 1LN"}, "", "The Old Rectory", "Church Lane", "", "The Old Rectory\nChurch Lane"},
	} {
		r, errs := n.row(2, tc.rec)
		if len(errs) > 0 {
			t.Fatalf("%q: %v", tc.rec, errs)
		}
		if r.flat != tc.flat || r.houseNumber != tc.number || r.street != tc.street || r.town != tc.town {
			t.Errorf("%q: %q %q %q %q, want %q %q %q %q", tc.rec, r.flat, r.houseNumber, r.street, r.town, tc.flat, tc.number, tc.street, tc.town)
		}
		if want := `{"address_lines":` + strconv.Quote(tc.orig) + `}`; string(r.attributes) != want {
			t.Errorf("%q: attributes %s, want %s", tc.rec, r.attributes, want)
		}
	}
	// A postcode with no address names the address line column.
	_, errs := n.row(3, []string{"", "", "", "", "CF5 1AB"})
	if len(errs) != 1 || errs[0].Field != "Address line 1" {
		t.Errorf("errors = %v, want one naming Address line 1", errs)
	}
}

// BenchmarkNormaliseRowAddress compares the per-row cost of normalising an address
// given in columns with the same address given as lines (parsed, and its original
// kept as an attribute): the difference is what address lines add to an import.
func BenchmarkNormaliseRowAddress(b *testing.B) {
	for _, bc := range []struct {
		name   string
		header []string
		rec    []string
	}{
		{"columns", []string{"First name", "Surname", "Email", "Flat", "House number", "Street", "Town", "Postcode"},
			[]string{"Siân", "Llewellyn", "sian@example.org", "Flat 2", "14", "High St", "Cardiff", "CF5 1AB"}},
		{"address lines", []string{"First name", "Surname", "Email", "Address line 1", "Address line 2", "Address line 3", "Postcode"},
			[]string{"Siân", "Llewellyn", "sian@example.org", "Flat 2, 14 High St", "Canton", "Cardiff", "CF5 1AB"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cols, err := MapHeader(bc.header, nil)
			if err != nil {
				b.Fatal(err)
			}
			n := newNormaliser("f.csv", cols, "GB")
			for b.Loop() {
				if _, errs := n.row(2, bc.rec); len(errs) > 0 {
					b.Fatal(errs)
				}
			}
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "Flat 2\n14 High St", `"The Nook" \ Back Lane`, "Heol y Dŵr\tCaerdydd", "\x00\x1f\x7f", "bad \xff\xfe UTF-8", "Zoë 🏠"} {
		var got, want string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
			t.Errorf("%q: %s is not JSON: %v", s, appendJSONString(nil, s), err)
			continue
		}
		m, _ := json.Marshal(s)
		if err := json.Unmarshal(m, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%q reads back as %q, want %q", s, got, want)
		}
	}
}
