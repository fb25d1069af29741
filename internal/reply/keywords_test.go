package reply

import (
	"slices"
	"testing"
)

func TestClassifyKeyword(t *testing.T) {
	tests := []struct {
		body string
		want Keyword
	}{
		// Every default keyword, in any case.
		{"STOP", Stop},
		{"stop", Stop},
		{"Stop", Stop},
		{"sToP", Stop},
		{"STOPALL", Stop},
		{"stopall", Stop},
		{"Unsubscribe", Stop},
		{"cancel", Stop},
		{"END", Stop},
		{"quit", Stop},
		{"Revoke", Stop},
		{"optout", Stop},
		{"START", Start},
		{"yes", Start},
		{"Unstop", Start},
		{"HELP", Help},
		{"info", Help},

		// Surrounding white space, punctuation and symbols don't count.
		{"  STOP  ", Stop},
		{" Stop. ", Stop},
		{"Stop.", Stop},
		{"stop!!!", Stop},
		{"STOP!!", Stop},
		{"'stop'", Stop},
		{`"STOP"`, Stop},
		{"“Stop”", Stop},
		{"‘stop’", Stop},
		{"«STOP»", Stop},
		{"(stop)", Stop},
		{"stop…", Stop},
		{"¿stop?", Stop},
		{"\tSTOP\r\n", Stop},
		{"\u00a0stop\u00a0", Stop}, // non-breaking spaces
		{"\u200bstop\u200b", Stop}, // zero-width spaces
		{"\ufeffSTOP", Stop},       // byte order mark
		{"STOP 🛑", Stop},           // emoji: see ClassifyKeyword's doc comment
		{"🛑🛑 stop", Stop},
		{"STOP ✋🏽", Stop}, // emoji with a skin-tone modifier
		{"STOP ❤️", Stop}, // emoji with a variation selector
		{"help?", Help},
		{"Start :)", Start},
		{"YES 👍", Start},
		{"ＳＴＯＰ", Stop},  // full-width, folded by NFKC
		{"ｓｔｏｐ！", Stop}, // full-width with full-width punctuation
		{"ＳＴＯＰ。", Stop}, // ideographic full stop
		{"ＵＮＳＵＢＳＣＲＩＢＥ", Stop},
		{"ﬆop", Stop},                    // the "st" ligature
		{"s\u200bt\u200bo\u200bp", Stop}, // zero-width spaces inside

		// More than the keyword is not a keyword.
		{"STOP PLEASE", NoKeyword},
		{"Stop please", NoKeyword},
		{"please stop", NoKeyword},
		{"please stop texting me", NoKeyword},
		{"STOP ALL", NoKeyword},
		{"stop.stop", NoKeyword},
		{"S.T.O.P", NoKeyword},
		{"stopping", NoKeyword},
		{"stopped", NoKeyword},
		{"nonstop", NoKeyword},
		{"yes please", NoKeyword},
		{"Yes, Tuesday", NoKeyword},
		{"help me", NoKeyword},
		{"I need info", NoKeyword},
		{"STOP 1", NoKeyword},
		{"1", NoKeyword},
		{"", NoKeyword},
		{"   ", NoKeyword},
		{"🛑", NoKeyword},
		{"!!!", NoKeyword},

		// Welsh keywords, as alone as the English ones must be.
		{"Stopio", Stop},
		{"STOPIO!", Stop},
		{"dim", Stop},
		{"Dim.", Stop},
		{"Diwedd", Stop},
		{"Dad-danysgrifio", Stop},
		{"canslo", Stop},
		{"Dechrau", Start},
		{"AILDDECHRAU", Start},
		{"Ie", Start},
		{"Cymorth", Help},
		{"gwybodaeth?", Help},
		{"STOP os gwelwch yn dda", NoKeyword},
		{"Stopio os gwelwch yn dda", NoKeyword},
		{"dim diolch", NoKeyword},
		{"Dim byd", NoKeyword},
		{"dimensions", NoKeyword},
	}
	for _, tt := range tests {
		if got := ClassifyKeyword(tt.body, ""); got != tt.want {
			t.Errorf("ClassifyKeyword(%q, \"\") = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestKeywordLanguage(t *testing.T) {
	for body, want := range map[string]string{
		"STOPIO": "cy", " dim ": "cy", "Dechrau": "cy", "Cymorth": "cy", "ie": "cy",
		"STOP": "", "yes": "", "help": "", "Diolch": "", "": "",
	} {
		if got := KeywordLanguage(body); got != want {
			t.Errorf("KeywordLanguage(%q) = %q, want %q", body, got, want)
		}
	}
}

func TestClassifyKeywordOptOutType(t *testing.T) {
	tests := []struct {
		body, optOutType string
		want             Keyword
	}{
		// OptOutType decides, whatever the body says.
		{"STOP", "STOP", Stop},
		{"Stopio", "STOP", Stop},               // a Welsh keyword added with Advanced Opt-Out
		{"Dad-danysgrifio plis", "stop", Stop}, // any case
		{"yes please", "START", Start},
		{"STOP", "START", Start}, // the body is not consulted
		{"STOP", "HELP", Help},
		{"Cymorth", " Help ", Help}, // surrounding space
		{"Tuesday", "Start", Start},
		{"", "STOP", Stop},
		{"help", "", Help},       // no OptOutType: the body decides
		{"stop", "  ", Stop},     // blank OptOutType: the body decides
		{"stop", "REPORT", Stop}, // unknown OptOutType: the body decides
		{"Tuesday please", "SOMETHINGNEW", NoKeyword},
	}
	for _, tt := range tests {
		if got := ClassifyKeyword(tt.body, tt.optOutType); got != tt.want {
			t.Errorf("ClassifyKeyword(%q, %q) = %q, want %q", tt.body, tt.optOutType, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"stop", "STOP"},
		{"  Stop.  ", "STOP"},
		{"Stop, please!", "STOP, PLEASE"},
		{"please   stop\n\ttexting  me", "PLEASE STOP TEXTING ME"},
		{"ＳＴＯＰ", "STOP"},
		{"１", "1"},
		{"#1", "1"},
		{"1️⃣", "1"},
		{"(2)", "2"},
		{"👍 yes 👍", "YES"},
		{"“Dydd Mawrth”", "DYDD MAWRTH"},
		{"ŵyn", "ŴYN"},
		{"Don’t text me again.", "DON’T TEXT ME AGAIN"},
		{"st\u200bop", "STOP"},
		{"\u00a0\u2003yes\u3000", "YES"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"STOP", []string{"STOP"}},
		{"DON'T TEXT ME", []string{"DONT", "TEXT", "ME"}},
		{"DON’T TEXT ME", []string{"DONT", "TEXT", "ME"}},
		{"OPT-OUT", []string{"OPT", "OUT"}},
		{"1/2", []string{"1", "OR", "2"}},
		{"1 & 2", []string{"1", "AND", "2"}},
		{"1+2", []string{"1", "AND", "2"}},
		{"1, 2. 3", []string{"1", "2", "3"}},
		{"'QUOTED'", []string{"QUOTED"}},
	}
	for _, tt := range tests {
		if got := words(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLikelyOptOut(t *testing.T) {
	optOuts := []string{
		// Stop with filler.
		"STOP PLEASE",
		"Stop please",
		"Stop, please.",
		"please stop",
		"Please STOP!",
		"STOP ALL",
		"stop it now",
		"Stop stop stop",
		"stop thank you",
		"ＳＴＯＰ ＰＬＥＡＳＥ",
		"End please",

		// Stop or cancel the messages.
		"please stop texting me",
		"Stop sending me these",
		"stop sending me texts",
		"STOP TEXTING ME!!",
		"Please stop these messages",
		"stop all these texts",
		"Stop the texts about roadworks",
		"I'd like to stop receiving texts",
		"stop receiving these",
		"Quit messaging me",
		"Cancel my subscription",
		"how do I stop these texts?",

		// Unsubscribe and opt out.
		"unsubscribe me",
		"Unsubscribe please",
		"I want to unsubscribe",
		"I unsubscribed last week and still get these",
		"opt me out",
		"Opt out",
		"opt-out please",
		"optout now",
		"STOPALL please",

		// Removal.
		"take me off your list",
		"Take me off this list please",
		"please take my number off your system",
		"get me off this list",
		"remove me from this list",
		"Remove me",
		"delete my number",
		"Please remove my details",

		// Refusals.
		"don't text me again",
		"Don’t text me again.",
		"dont message me",
		"Do not contact me",
		"do not contact this number",
		"Never text me again",
		"I don't want any more messages",
		"I do not want these texts",
		"I no longer wish to receive texts",
		"don't send me these",
		"please don't send any more",
		"no more messages",
		"No more texts please!",
		"NO MORE SPAM",

		// Other ways of saying it.
		"leave me alone",
		"Leave us alone!",
		"wrong number",
		"Wrong number, I'm not Sarah",

		// Welsh.
		"Stopio",
		"Stop os gwelwch yn dda",
		"Stopiwch anfon negeseuon ataf",
		"Dim mwy o negeseuon plis",
		"Dim mwy o decstiau, dim mwy o negeseuon",
		"Tynnwch fi oddi ar y rhestr",
		"Dilewch fy rhif",
		"Peidiwch ag anfon negeseuon ataf",
		"Dad-danysgrifio",
		"Rhif anghywir",
	}
	for _, body := range optOuts {
		if !LikelyOptOut(body) {
			t.Errorf("LikelyOptOut(%q) = false, want true", body)
		}
	}

	notOptOuts := []string{
		// Keywords are handled by ClassifyKeyword, not flagged.
		"STOP",
		"stop.",
		" Stop! ",
		"UNSUBSCRIBE",
		"START",
		"help",

		// Stopping something else.
		"stop the roadworks on Elm Street!",
		"Can you stop the parking on the verge?",
		"Please stop the lorries using Mill Lane as a cut-through",
		"Stop the roadworks, I'll text you a photo",
		"Please don't stop the bus service",
		"The bus stop on Mill Lane is broken",
		"When does the road closure end?",
		"Please cancel my bin collection",
		"Can you stop sending the bin lorries at 6am?",

		// About messages, without refusing them.
		"Thanks for the text, see you Tuesday",
		"Can I get a text when the bins are collected?",
		"Can you send me the agenda?",
		"Don't forget to text your neighbours about the fair",
		"I don't get them until the evening",

		// Ordinary replies.
		"",
		"1",
		"Yes please, Tuesday is fine",
		"Don't forget the fair on Saturday",
		"Remove the fly-tipping on Oak Lane",
		"Take me to the meeting?",
		"No, Wednesday is better",
		"stopping",
		"Dim diolch",
		"Dydd Mawrth os gwelwch yn dda",
	}
	for _, body := range notOptOuts {
		if LikelyOptOut(body) {
			t.Errorf("LikelyOptOut(%q) = true, want false", body)
		}
	}
}
