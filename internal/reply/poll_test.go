package reply

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

// eveningPoll is a numbered poll with labels.
var eveningPoll = Poll{
	Question: "Which evening suits you for the ward meeting?",
	Options: []PollOption{
		{Key: "1", Label: "Tuesday", Words: []string{"Tue", "Tues"}},
		{Key: "2", Label: "Wednesday", Words: []string{"Wed", "Weds"}},
	},
}

// welshPoll is a numbered poll with Welsh labels.
var welshPoll = Poll{
	Question: "Pa noson sy'n gyfleus i chi?",
	Options: []PollOption{
		{Key: "1", Label: "Dydd Mawrth"},
		{Key: "2", Label: "Dydd Mercher"},
	},
}

// yesNoPoll is a YES/NO poll without labels.
var yesNoPoll = Poll{
	Question: "Should the council trial a 20mph limit on Mill Lane?",
	Options:  []PollOption{{Key: "YES"}, {Key: "NO"}},
}

// matchCase is a reply and the key Match should find, "" for unclear.
type matchCase struct{ body, want string }

func testMatch(t *testing.T, p Poll, tests []matchCase) {
	t.Helper()
	for _, tt := range tests {
		key, ok := p.Match(tt.body)
		if ok != (tt.want != "") || key != tt.want {
			t.Errorf("Match(%q) = %q, %v; want %q, %v", tt.body, key, ok, tt.want, tt.want != "")
		}
	}
}

func TestPollMatchNumbered(t *testing.T) {
	testMatch(t, eveningPoll, []matchCase{
		// The key, however it's typed.
		{"1", "1"},
		{" 1.", "1"},
		{"1!", "1"},
		{"1!!!", "1"},
		{"#1", "1"},
		{"(1)", "1"},
		{"1)", "1"},
		{"'2'", "2"},
		{"1️⃣", "1"},
		{"１", "1"},
		{"２．", "2"},
		{"2 👍", "2"},

		// Number words and ordinals.
		{"One", "1"},
		{"one", "1"},
		{"ONE", "1"},
		{"one!", "1"},
		{"two", "2"},
		{"first", "1"},
		{"2nd", "2"},
		{"Second please", "2"},

		// Labels and words.
		{"Tuesday", "1"},
		{"tuesday!", "1"},
		{"WEDNESDAY.", "2"},
		{"tues", "1"},
		{"Weds please", "2"},

		// Prefixes and a few more words.
		{"option 1", "1"},
		{"Option 2 please", "2"},
		{"option number 2", "2"},
		{"number 1", "1"},
		{"vote 2", "2"},
		{"1 please", "1"},
		{"2 please", "2"},
		{"2, please", "2"},
		{"1 thanks", "1"},
		{"1 please thanks", "1"},
		{"Tuesday thank you", "1"},

		// Unclear: to an officer.
		{"", ""},
		{"   ", ""},
		{"!!!", ""},
		{"1 or 2", ""},
		{"1 and 2", ""},
		{"1/2", ""},
		{"1 & 2", ""},
		{"1+2", ""},
		{"1 2", ""},
		{"1, 2", ""},
		{"1 or", ""},
		{"2 maybe", ""},
		{"1 but late", ""},
		{"Tuesday or Wednesday", ""},
		{"tuesday and wednesday", ""},
		{"both", ""},
		{"either", ""},
		{"neither", ""},
		{"maybe", ""},
		{"not sure", ""},
		{"3", ""},
		{"three", ""},
		{"1 5", ""},
		{"yes", ""},
		{"option", ""},
		{"1 please thank you", ""}, // more than two words after the answer
		{"I think 1", ""},          // the answer must come first
		{"not 1", ""},
		{"Tuesday is fine but Wednesday is better", ""},
		{"1 stop", ""},
		{"STOP", ""},
		{"help", ""},
		{"1 help", ""},
	})
}

func TestPollMatchWelsh(t *testing.T) {
	testMatch(t, welshPoll, []matchCase{
		{"dydd mawrth", "1"},
		{"Dydd Mawrth.", "1"},
		{"DYDD MERCHER!", "2"},
		{"“Dydd Mercher”", "2"},
		{"Dydd  Mercher plis", "2"},
		{"Un", "1"},
		{"dau", "2"},
		{"dwy", "2"},
		{"1 plis", "1"},
		{"2 diolch", "2"},
		{"opsiwn 1", "1"},
		{"rhif 2", "2"},
		{"1 neu 2", ""},
		{"y ddau", ""},
		{"efallai", ""},
		{"Dydd Mawrth neu Dydd Mercher", ""},
		{"Dydd Mawrth os gwelwch yn dda", ""}, // more than two words after the answer
		{"Dydd", ""},
	})
}

func TestPollMatchYesNo(t *testing.T) {
	testMatch(t, yesNoPoll, []matchCase{
		{"YES", "YES"},
		{"yes", "YES"},
		{"yes!", "YES"},
		{"Yes.", "YES"},
		{"Y", "YES"},
		{"y", "YES"},
		{"yeah", "YES"},
		{"Yep", "YES"},
		{"yup!", "YES"},
		{"aye", "YES"},
		{"Yes please", "YES"},
		{"YES PLEASE!", "YES"},
		{"yes thanks", "YES"},
		{"👍 yes", "YES"},
		{"Ie", "YES"},
		{"Oes", "YES"},
		{"NO", "NO"},
		{"no", "NO"},
		{"No.", "NO"},
		{"n", "NO"},
		{"nope", "NO"},
		{"nah", "NO"},
		{"No thanks", "NO"},
		{"no thank you", "NO"},
		{"Na", "NO"},
		{"Nac oes", "NO"},
		{"naddo", "NO"},
		{"yes or no", ""},
		{"yes and no", ""},
		{"YES NO", ""},
		{"yes/no", ""},
		{"maybe", ""},
		{"not sure", ""},
		{"yes but not at night", ""},
		{"Yes no problem", ""}, // conservative: NO is the other option's answer
		{"1", ""},
		{"", ""},
		{"STOP", ""},
	})
}

func TestPollTally(t *testing.T) {
	replies := []string{
		"1", " 1.", "One", "one!", "#1", "option 1", "Tuesday", "1 please",
		"2 please", "two", "Weds", "２",
		"1 or 2", "", "both", "maybe", "STOP", "Can we do Thursday instead?",
	}
	got := map[string]int{}
	unclear := 0
	for _, r := range replies {
		if key, ok := eveningPoll.Match(r); ok {
			got[key]++
		} else {
			unclear++
		}
	}
	want := map[string]int{"1": 8, "2": 4}
	if !maps.Equal(got, want) || unclear != 6 {
		t.Errorf("tally = %v with %d unclear, want %v with 6 unclear", got, unclear, want)
	}

	yn := []string{"yes!", "Y", "Yes please", "yeah", "YES", "no", "Nope", "N.", "yes or no", "?"}
	got = map[string]int{}
	unclear = 0
	for _, r := range yn {
		if key, ok := yesNoPoll.Match(r); ok {
			got[key]++
		} else {
			unclear++
		}
	}
	want = map[string]int{"YES": 5, "NO": 3}
	if !maps.Equal(got, want) || unclear != 2 {
		t.Errorf("yes/no tally = %v with %d unclear, want %v with 2 unclear", got, unclear, want)
	}
}

func TestPollMatchReturnsKeyAsWritten(t *testing.T) {
	p := Poll{Options: []PollOption{{Key: "yes"}, {Key: "no"}}}
	if key, ok := p.Match("YEP"); !ok || key != "yes" {
		t.Errorf("Match(YEP) = %q, %v; want the key as written, \"yes\"", key, ok)
	}
}

func TestPollMatchExplicitBeatsImplicit(t *testing.T) {
	// "Y" is option 3's key, so it doesn't also mean YES.
	p := Poll{Options: []PollOption{{Key: "YES"}, {Key: "NO"}, {Key: "Y", Label: "Yellow"}}}
	testMatch(t, p, []matchCase{{"y", "Y"}, {"yep", "YES"}, {"yellow", "Y"}})
}

func TestPollMatchLongestAnswerWins(t *testing.T) {
	// "2pm please" starts with option 1's label, not option 2's key.
	p := Poll{Options: []PollOption{{Key: "1", Label: "2 pm"}, {Key: "2", Label: "5 pm"}}}
	testMatch(t, p, []matchCase{{"2 pm please", "1"}, {"2", "2"}, {"5 pm", "2"}, {"2 please", "2"}})
}

func TestPollMatchClashIsUnclear(t *testing.T) {
	// An invalid poll whose options share a word: replying it is unclear, not the first.
	p := Poll{Options: []PollOption{
		{Key: "1", Label: "Tuesday", Words: []string{"evening"}},
		{Key: "2", Label: "Wednesday", Words: []string{"evening"}},
	}}
	if p.Validate() == nil {
		t.Fatal("Validate accepted a word on two options")
	}
	testMatch(t, p, []matchCase{{"evening", ""}, {"evening please", ""}, {"1", "1"}})
}

func TestPollValidate(t *testing.T) {
	valid := []Poll{
		eveningPoll,
		welshPoll,
		yesNoPoll,
		{Options: []PollOption{{Key: "Yes", Label: "Yes"}, {Key: "No", Label: "No"}}},
		{Options: []PollOption{{Key: "A", Label: "Keep the trees"}, {Key: "B", Label: "Widen the road"}, {Key: "C"}}},
		{Options: []PollOption{{Key: "1", Label: "Stop the scheme"}, {Key: "2", Label: "Keep it"}}},
		{Options: []PollOption{{Key: "1", Label: "👍"}, {Key: "2", Label: "👎"}}},
	}
	for i, p := range valid {
		if err := p.Validate(); err != nil {
			t.Errorf("valid poll %d: Validate() = %v", i, err)
		}
	}

	tests := []struct {
		name string
		poll Poll
		want []string // substrings of the error, in order of the problems
	}{
		{"no options", Poll{Question: "?"}, []string{"poll has 0 option(s); it needs at least 2"}},
		{"one option", Poll{Options: []PollOption{{Key: "1", Label: "Tuesday"}}},
			[]string{"poll has 1 option(s); it needs at least 2"}},
		{"stop key", Poll{Options: []PollOption{{Key: "1", Label: "Monday"}, {Key: "STOP", Label: "Tuesday"}}},
			[]string{`poll option 2 ("Tuesday"): key "STOP" is an opt-out keyword`}},
		{"stop key with punctuation", Poll{Options: []PollOption{{Key: "1"}, {Key: "end."}}},
			[]string{`poll option 2 ("end."): key "end." is an opt-out keyword`}},
		{"stop label", Poll{Options: []PollOption{{Key: "1", Label: "Continue"}, {Key: "2", Label: "Cancel"}}},
			[]string{`poll option 2 ("Cancel"): label "Cancel" is an opt-out keyword`}},
		{"stop word", Poll{Options: []PollOption{{Key: "1", Label: "Go ahead"}, {Key: "2", Label: "Drop it", Words: []string{"quit"}}}},
			[]string{`poll option 2 ("Drop it"): word "quit" is an opt-out keyword`}},
		{"help key", Poll{Options: []PollOption{{Key: "1"}, {Key: "INFO", Label: "More information"}}},
			[]string{`poll option 2 ("More information"): key "INFO" is a help keyword`}},
		{"start key", Poll{Options: []PollOption{{Key: "START", Label: "Begin now"}, {Key: "WAIT"}}},
			[]string{`poll option 1 ("Begin now"): key "START" is an opt-in keyword`}},
		{"duplicate key", Poll{Options: []PollOption{{Key: "1", Label: "Tuesday"}, {Key: "1", Label: "Wednesday"}}},
			[]string{`poll option 2 ("Wednesday"): key "1" is also an answer for option 1 ("Tuesday")`}},
		{"keys equal after normalising", Poll{Options: []PollOption{{Key: "a", Label: "Tuesday"}, {Key: " A.", Label: "Wednesday"}}},
			[]string{`poll option 2 ("Wednesday"): key " A." is also an answer for option 1 ("Tuesday")`}},
		{"word is another option's key", Poll{Options: []PollOption{{Key: "1", Label: "Tuesday", Words: []string{"2"}}, {Key: "2", Label: "Wednesday"}}},
			[]string{`poll option 2 ("Wednesday"): key "2" is also an answer for option 1 ("Tuesday")`}},
		{"shared word", Poll{Options: []PollOption{{Key: "1", Label: "Tuesday", Words: []string{"Tue"}}, {Key: "2", Label: "Thursday", Words: []string{"tue!"}}}},
			[]string{`poll option 2 ("Thursday"): word "tue!" is also an answer for option 1 ("Tuesday")`}},
		{"duplicate label", Poll{Options: []PollOption{{Key: "1", Label: "Evening"}, {Key: "2", Label: "evening"}}},
			[]string{`poll option 2 ("evening"): label "evening" is also an answer for option 1 ("Evening")`}},
		{"missing key", Poll{Options: []PollOption{{Key: "1", Label: "Tuesday"}, {Key: " ", Label: "Wednesday"}}},
			[]string{`poll option 2 ("Wednesday"): has no key`}},
		{"key of punctuation", Poll{Options: []PollOption{{Key: "1"}, {Key: "?!"}}},
			[]string{`poll option 2 ("?!"): key "?!" has no letters or digits`}},
		{"two-word key", Poll{Options: []PollOption{{Key: "1"}, {Key: "Option B"}}},
			[]string{`poll option 2 ("Option B"): key "Option B" is more than one word`}},
		{"empty word", Poll{Options: []PollOption{{Key: "1", Words: []string{""}}, {Key: "2"}}},
			[]string{`poll option 1 ("1"): word "" has no letters or digits`}},
		{"several problems", Poll{Options: []PollOption{{Key: "STOP"}, {Key: "STOP"}, {Key: "HELP"}}},
			[]string{
				`poll option 1 ("STOP"): key "STOP" is an opt-out keyword`,
				`poll option 2 ("STOP"): key "STOP" is an opt-out keyword`,
				`poll option 2 ("STOP"): key "STOP" is also an answer for option 1 ("STOP")`,
				`poll option 3 ("HELP"): key "HELP" is a help keyword`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.poll.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("Validate() = %q, want %d problem(s) %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("problem %d = %q, want %q", i+1, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestPollPrompt(t *testing.T) {
	tests := []struct {
		name string
		poll Poll
		want string
	}{
		{"numbered", eveningPoll, "Reply 1 for Tuesday, 2 for Wednesday."},
		{"welsh", welshPoll, "Reply 1 for Dydd Mawrth, 2 for Dydd Mercher."},
		{"yes/no", yesNoPoll, "Reply YES or NO."},
		{"labels that repeat the keys", Poll{Options: []PollOption{{Key: "Yes", Label: "yes"}, {Key: "No", Label: "No."}}},
			"Reply Yes or No."},
		{"three bare keys", Poll{Options: []PollOption{{Key: "A"}, {Key: "B"}, {Key: "C"}}}, "Reply A, B or C."},
		{"three labelled", Poll{Options: []PollOption{{Key: "1", Label: "Tuesday"}, {Key: "2", Label: "Wednesday"}, {Key: "3", Label: "Thursday"}}},
			"Reply 1 for Tuesday, 2 for Wednesday, 3 for Thursday."},
		{"some labelled", Poll{Options: []PollOption{{Key: "YES", Label: "Yes, trial it"}, {Key: "NO"}}},
			"Reply YES for Yes, trial it, NO."},
		{"messy labels", Poll{Options: []PollOption{{Key: " 1 ", Label: "  Tuesday\n evening. "}, {Key: "2", Label: "Wednesday;"}}},
			"Reply 1 for Tuesday evening, 2 for Wednesday."},
		{"no options", Poll{}, ""},
	}
	for _, tt := range tests {
		if got := tt.poll.Prompt(); got != tt.want {
			t.Errorf("%s: Prompt() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPollJSON(t *testing.T) {
	const j = `{"question":"Which evening suits you?","options":[{"key":"1","label":"Tuesday","words":["Tue","Tues"]},{"key":"2","label":"Wednesday"}]}`
	var p Poll
	if err := json.Unmarshal([]byte(j), &p); err != nil {
		t.Fatalf("json: %v", err)
	}
	if p.Question != "Which evening suits you?" || len(p.Options) != 2 ||
		p.Options[0].Key != "1" || p.Options[0].Label != "Tuesday" || len(p.Options[0].Words) != 2 ||
		p.Options[1].Key != "2" || p.Options[1].Words != nil {
		t.Errorf("decoded to %+v", p)
	}
	if key, ok := p.Match("tues!"); !ok || key != "1" {
		t.Errorf("Match(tues!) = %q, %v; want 1", key, ok)
	}
	out, err := json.Marshal(Poll{Options: []PollOption{{Key: "YES"}}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"question":"","options":[{"key":"YES","label":""}]}` {
		t.Errorf("json.Marshal = %s (words should be omitted when empty)", out)
	}
}
