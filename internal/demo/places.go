package demo

// town is the post town of every demo address.
const town = "London"

// wardSpec describes one ward of the fictional borough.
type wardSpec struct {
	name    string
	sectors []string // postcode sectors, e.g. "SE24 9"
	streets []streetSpec
}

// streetSpec is a street: its name, how many house numbers it runs to, and
// the named buildings split into flats that stand on it.
type streetSpec struct {
	name      string
	houses    int // numbered 1..houses, odd and even sides; at most 45
	buildings []buildingSpec
}

// buildingSpec is a named block or conversion at a house number.
type buildingSpec struct {
	number int
	name   string
	flats  int
}

// wardSpecs is the fictional borough. Ward names are invented; outward codes
// are real London districts so postcodes have a genuine format, but every
// street/number/postcode combination is made up.
var wardSpecs = []wardSpec{
	{
		name:    "Millbrook",
		sectors: []string{"SE24 0", "SE24 9"},
		streets: []streetSpec{
			{name: "Millbrook Road", houses: 44, buildings: []buildingSpec{{2, "Marlowe Court", 36}}},
			{name: "Acre Lane", houses: 38, buildings: []buildingSpec{{23, "Acre House", 60}}},
			{name: "Brading Road", houses: 30, buildings: []buildingSpec{{1, "Brading House", 80}}},
			{name: "Water Lane", houses: 26, buildings: []buildingSpec{{11, "Watermill House", 48}}},
			{name: "Elm Park", houses: 42, buildings: []buildingSpec{{17, "Elm Park Mansions", 24}}},
			{name: "Mill Lane", houses: 22},
			{name: "Kestrel Avenue", houses: 45, buildings: []buildingSpec{{1, "Merlin House", 72}, {3, "Falcon House", 72}}},
			{name: "Foxley Grove", houses: 28},
			{name: "Orchard Street", houses: 34, buildings: []buildingSpec{{9, "Orchard House", 48}}},
			{name: "Rosebery Gardens", houses: 40},
			{name: "Station Approach", houses: 12, buildings: []buildingSpec{{4, "Signal Point", 90}}},
			{name: "Bakers Row", houses: 18, buildings: []buildingSpec{{7, "The Old Bakery", 4}}},
			{name: "Heol y Nant", houses: 16},
		},
	},
	{
		name:    "St Anne's",
		sectors: []string{"SW2 1", "SW2 2", "SW2 5"},
		streets: []streetSpec{
			{name: "St Anne's Road", houses: 45, buildings: []buildingSpec{{30, "St Anne's Court", 30}}},
			{name: "Church Road", houses: 40, buildings: []buildingSpec{{33, "Church View", 40}}},
			{name: "Vicarage Gardens", houses: 24, buildings: []buildingSpec{{1, "The Old Vicarage", 5}}},
			{name: "Priory Grove", houses: 36, buildings: []buildingSpec{{12, "Priory Court", 40}}},
			{name: "Chapel Street", houses: 20},
			{name: "Laurel Close", houses: 14},
			{name: "Hawthorn Avenue", houses: 44, buildings: []buildingSpec{{3, "Hawthorn House", 60}, {5, "Blackthorn House", 60}}},
			{name: "Marlowe Road", houses: 38, buildings: []buildingSpec{{2, "Tennyson House", 64}, {4, "Shelley House", 64}}},
			{name: "Quarry Lane", houses: 26, buildings: []buildingSpec{{15, "Quarry House", 48}}},
			{name: "Bishops Walk", houses: 30, buildings: []buildingSpec{{8, "Bishop's Court", 56}}},
			{name: "Cedar Terrace", houses: 22},
			{name: "Jubilee Crescent", houses: 40, buildings: []buildingSpec{{1, "Jubilee House", 100}}},
			{name: "Windrush Close", houses: 16},
		},
	},
	{
		name:    "Harcourt",
		sectors: []string{"SE27 0", "SE27 9"},
		streets: []streetSpec{
			{name: "Harcourt Road", houses: 45, buildings: []buildingSpec{{40, "Ashdown House", 90}}},
			{name: "Beacon Hill", houses: 32, buildings: []buildingSpec{{21, "The Old Fire Station", 6}}},
			{name: "Sycamore Way", houses: 28, buildings: []buildingSpec{{5, "Sycamore House", 48}}},
			{name: "Coldharbour Street", houses: 36, buildings: []buildingSpec{{10, "Coldharbour House", 48}}},
			{name: "Ashdown Road", houses: 42},
			{name: "Kingfisher Drive", houses: 20, buildings: []buildingSpec{{1, "Kingfisher Tower", 120}}},
			{name: "Thornbury Road", houses: 40, buildings: []buildingSpec{{19, "Thornbury Court", 60}}},
			{name: "Linden Grove", houses: 30, buildings: []buildingSpec{{2, "Linden Court", 24}}},
			{name: "Canal Walk", houses: 18, buildings: []buildingSpec{{6, "Lock Keeper's Wharf", 64}}},
			{name: "Oakfield Road", houses: 44, buildings: []buildingSpec{{28, "Oakfield House", 72}}},
			{name: "Rectory Lane", houses: 26},
			{name: "Llys Derwen", houses: 12},
			{name: "Water Lane", houses: 24},
		},
	},
}

// Delivery notes, per household.
const (
	noteNoJunk     = "No junk mail"
	noteDog        = "Do not deliver — dog"
	noteLetterbox  = "Letterbox at side"
	noteBuzzer     = "Buzzer broken, please knock"
	noteNoJunkLong = "No junk mail\nNo takeaway menus please"
	noteGate       = "Letterbox at side\nPlease close the gate"
)

// tagNames are the tags residents may carry.
var tagNames = [...]string{
	"neighbourhood watch",
	"older residents",
	"youth club",
	"tenants association",
	"business",
}

const (
	tagWatch = iota
	tagOlder
	tagYouth
	tagTenants
	tagBusiness
)
