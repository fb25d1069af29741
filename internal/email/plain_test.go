package email

import (
	"fmt"
	"strings"
	"testing"
)

// A council letter of the kind the check exists to catch.
const plainJargonLetter = `# Notification of Amendments to Refuse Collection Arrangements

Dear Occupier,

In order to facilitate the implementation of a more robust and streamlined
service delivery model, and notwithstanding the aforementioned consultation
with stakeholders, the Council will commence revised collection arrangements
with effect from 2 June, pursuant to the decision of the Cabinet.

Residents are advised to ensure that receptacles are placed at the kerbside
prior to 7am on the designated collection day.

In the event that your receptacle is not presented in accordance with the
requirements, the Council reserves the right to refrain from emptying it.

Going forward, we will endeavour to utilise additional resources with regard
to the disposal of refuse in excess of the standard allocation.
`

// The same news, written plainly.
const plainPlainLetter = `# Your bin day is changing

Dear {{first_name}},

From 2 June we will empty your bins on a Tuesday, not a Monday.

## What you need to do

- Put your bins out by 7am on Tuesday.
- Keep the lids shut.
- Check the [new bin calendar](https://www.example.gov.uk/bins).

If your bin is not out in time, we will not be able to empty it.
We will come back the next week.

Thank you.
`

func TestCheckPlainLanguage(t *testing.T) {
	tests := []struct {
		name          string
		markdown      string
		minEase       float64
		maxEase       float64
		maxGrade      float64
		wantLong      []int    // lines of long sentences
		wantJargon    []string // "line:phrase"
		wantWords     int      // 0 means don't check
		wantSentences int
	}{
		{
			name:     "jargon-heavy council letter",
			markdown: plainJargonLetter,
			minEase:  -100,
			maxEase:  40,
			maxGrade: 100,
			wantLong: []int{5},
			wantJargon: []string{
				"1:Refuse Collection",
				"3:Occupier",
				"5:In order to", "5:facilitate", "5:implementation", "5:robust", "5:streamlined",
				"6:service delivery", "6:notwithstanding", "6:aforementioned",
				"7:stakeholders", "7:commence", "8:pursuant to",
				"10:Residents are advised to", "10:ensure", "10:receptacles",
				"11:prior to",
				"13:In the event that", "13:receptacle", "13:in accordance with",
				"14:requirements",
				"16:Going forward", "16:endeavour", "16:utilise", "16:additional", "16:with regard to",
				"17:disposal of refuse", "17:in excess of",
			},
		},
		{
			name:          "plain letter",
			markdown:      plainPlainLetter,
			minEase:       70,
			maxEase:       130,
			maxGrade:      6,
			wantWords:     68,
			wantSentences: 10,
		},
		{
			name:     "empty",
			markdown: "",
			maxEase:  0,
			maxGrade: 0,
		},
		{
			name:     "whole words only, any case",
			markdown: "Our keyholder has the keys.\n\nThe KEY thing: a turkey.",
			minEase:  -100,
			maxEase:  200,
			maxGrade: 100,
			wantJargon: []string{
				"3:KEY",
			},
		},
		{
			name:          "abbreviations, initials and decimals do not end sentences",
			markdown:      "Cllr. J. Smith, e.g. the ward member, paid £2.50 at 9 a.m. on Monday and then went home to have a rest for the remainder of the very long day at approx. four o'clock.",
			minEase:       -100,
			maxEase:       200,
			maxGrade:      100,
			wantLong:      []int{1},
			wantSentences: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := CheckPlainLanguage(tc.markdown)
			if rep.ReadingEase < tc.minEase || rep.ReadingEase > tc.maxEase {
				t.Errorf("ReadingEase = %.1f, want %.0f..%.0f", rep.ReadingEase, tc.minEase, tc.maxEase)
			}
			if rep.Grade > tc.maxGrade {
				t.Errorf("Grade = %.1f, want at most %.0f", rep.Grade, tc.maxGrade)
			}
			var long []int
			for _, f := range rep.LongSentences {
				long = append(long, f.Line)
				if f.Suggestion == "" || f.Text == "" {
					t.Errorf("finding without text or suggestion: %+v", f)
				}
			}
			if fmt.Sprint(long) != fmt.Sprint(tc.wantLong) && !(len(long) == 0 && len(tc.wantLong) == 0) {
				t.Errorf("long sentences on lines %v, want %v", long, tc.wantLong)
			}
			var jargon []string
			for _, f := range rep.Jargon {
				jargon = append(jargon, fmt.Sprintf("%d:%s", f.Line, f.Text))
				if f.Suggestion == "" {
					t.Errorf("finding without a suggestion: %+v", f)
				}
			}
			if strings.Join(jargon, "|") != strings.Join(tc.wantJargon, "|") {
				t.Errorf("jargon:\n got %q\nwant %q", jargon, tc.wantJargon)
			}
			if tc.wantWords != 0 && rep.Words != tc.wantWords {
				t.Errorf("Words = %d, want %d", rep.Words, tc.wantWords)
			}
			if tc.wantSentences != 0 && rep.Sentences != tc.wantSentences {
				t.Errorf("Sentences = %d, want %d", rep.Sentences, tc.wantSentences)
			}
		})
	}
}

func TestPlainSyllables(t *testing.T) {
	tests := []struct {
		word string
		want int
	}{
		{"bin", 1}, {"day", 1}, {"make", 1}, {"changed", 1}, {"collected", 3},
		{"table", 2}, {"people", 2}, {"council", 2}, {"recycling", 3},
		{"communication", 5}, {"period", 3}, {"usual", 3},
		{"boxes", 2}, {"makes", 1}, {"2024", 1}, {"Siân", 1}, {"facilitate", 4},
	}
	for _, tc := range tests {
		t.Run(tc.word, func(t *testing.T) {
			if got := plainSyllables(tc.word); got != tc.want {
				t.Errorf("plainSyllables(%q) = %d, want %d", tc.word, got, tc.want)
			}
		})
	}
}

func TestPlainLongSentenceText(t *testing.T) {
	long := strings.Repeat("word ", 30) + "end."
	rep := CheckPlainLanguage("Short one.\n\n" + long)
	if len(rep.LongSentences) != 1 {
		t.Fatalf("LongSentences = %+v", rep.LongSentences)
	}
	f := rep.LongSentences[0]
	if f.Line != 3 || !strings.HasPrefix(f.Text, "word word") || !strings.Contains(f.Suggestion, "31 words") {
		t.Errorf("finding = %+v", f)
	}
}
