package reply

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Poll is a question residents answer by text, such as "Which evening suits you for the
// ward meeting?" with options 1 Tuesday and 2 Wednesday.
type Poll struct {
	Question string       `json:"question" yaml:"question"`
	Options  []PollOption `json:"options" yaml:"options"`
}

// PollOption is one answer to a Poll.
type PollOption struct {
	// Key is what residents reply to choose the option, "1" or "YES", and what Match
	// reports. It is a single word.
	Key string `json:"key" yaml:"key"`
	// Label says what the option is ("Tuesday"); Prompt shows it and Match accepts it as a
	// reply. It may be empty when the key says it all, as YES and NO do.
	Label string `json:"label" yaml:"label"`
	// Words are further replies that choose the option ("Tue", "Tues").
	Words []string `json:"words,omitempty" yaml:"words,omitempty"`
}

// maxExtraWords is how many words may follow an answer in a reply that Match still
// counts: "1 please", "yes please thanks".
const maxExtraWords = 2

// Validate reports what is wrong with the poll, every problem joined into one error, or
// nil. A poll needs at least two options. Every option needs a key that is a single word,
// and no key, label or word may be an answer for two options once Normalize has tidied
// it: keys "1" and "1." clash, and so would a word "Tue" on two options. No key, label or
// word may be one of Twilio's keywords either: a resident replying STOP, CANCEL or END to
// a poll would be unsubscribed, and one replying HELP or INFO, or START or UNSTOP, would
// get Twilio's automatic answer instead of a vote. YES is the exception: Twilio treats it
// as START, which for a resident who has just been sent the poll changes nothing, and a
// YES/NO poll needs it (see ClassifyKeyword).
//
// Errors name the option by its position from 1 and its label (or key):
//
//	poll option 2 ("Tuesday"): key "STOP" is an opt-out keyword
//
// The implicit answers Match accepts (number words, yes and no) are not checked: where
// one of them is also another option's key, label or word, that option wins.
func (p Poll) Validate() error {
	var errs []error
	if len(p.Options) < 2 {
		errs = append(errs, fmt.Errorf("poll has %d option(s); it needs at least 2", len(p.Options)))
	}
	owner := make(map[string]int) // answer → the first option that claims it
	for i, o := range p.Options {
		name := optionName(i, o)
		check := func(what, raw string) {
			a := answerKey(raw)
			if a == "" {
				errs = append(errs, fmt.Errorf("%s: %s %q has no letters or digits", name, what, raw))
				return
			}
			kw := keywordClasses[Normalize(raw)]
			if kw == NoKeyword {
				kw = keywordClasses[a]
			}
			switch {
			case a == "YES":
				// Allowed: see the doc comment.
			case kw == Stop:
				errs = append(errs, fmt.Errorf("%s: %s %q is an opt-out keyword", name, what, raw))
			case kw == Start:
				errs = append(errs, fmt.Errorf("%s: %s %q is an opt-in keyword", name, what, raw))
			case kw == Help:
				errs = append(errs, fmt.Errorf("%s: %s %q is a help keyword", name, what, raw))
			}
			if j, ok := owner[a]; ok && j != i {
				errs = append(errs, fmt.Errorf("%s: %s %q is also an answer for %s",
					name, what, raw, strings.TrimPrefix(optionName(j, p.Options[j]), "poll ")))
				return
			}
			owner[a] = i
		}

		switch k := words(Normalize(o.Key)); {
		case strings.TrimSpace(o.Key) == "":
			errs = append(errs, fmt.Errorf("%s: has no key", name))
		case len(k) > 1:
			errs = append(errs, fmt.Errorf("%s: key %q is more than one word", name, o.Key))
		default:
			check("key", o.Key)
		}
		if Normalize(o.Label) != "" {
			check("label", o.Label)
		}
		for _, w := range o.Words {
			check("word", w)
		}
	}
	return errors.Join(errs...)
}

// optionName names option i (from 0) in an error: `poll option 2 ("Tuesday")`, by its
// label, or its key when it has none.
func optionName(i int, o PollOption) string {
	s := strings.TrimSpace(o.Label)
	if s == "" {
		s = strings.TrimSpace(o.Key)
	}
	if s == "" {
		return fmt.Sprintf("poll option %d", i+1)
	}
	return fmt.Sprintf("poll option %d (%q)", i+1, s)
}

// Match reads a resident's reply to the poll and reports the key of the option it
// chooses, as the poll spells it, or ok false when the reply is unclear and needs an
// officer. The rule:
//
//  1. The reply is tidied by Normalize and split into words, so case, width, emoji and
//     punctuation don't matter: "1", " 1.", "1!", "#1", "(1)", "1️⃣" and "１" are all 1.
//     "&" and "+" read as AND and "/" as OR.
//  2. The option's answers are its key, its label and its words, compared as words.
//     A numeric key "1" to "10" also accepts its number as a word, English or Welsh,
//     and ordinal ("one", "ONE", "first", "1st", "un"); a key YES accepts y, yeah, yep,
//     yup, aye, sure, ie, oes; a key NO accepts n, nah, nope, na, nage, naddo.
//  3. A reply that is exactly an answer chooses its option.
//  4. Otherwise a reply that starts with an answer (the longest, when several fit) and
//     has at most two more words chooses its option ("1 please", "Yes please",
//     "Tuesday thanks"), unless one of those words is another option's answer ("1 2",
//     "Yes no problem"), a number, a word that makes it uncertain or a combination (OR,
//     AND, BOTH, EITHER, NEITHER, MAYBE, BUT, IF, ...) or a STOP or HELP keyword.
//  5. Steps 3 and 4 are tried again without leading words such as OPTION, NUMBER or
//     VOTE ("option 1", "option number 2 please").
//
// Everything else is unclear: "1 or 2", "1 and 2", "both", "maybe", "not sure", "",
// a longer message, or an option that isn't on the poll. A reply that is a STOP or HELP
// keyword is never an answer.
func (p Poll) Match(body string) (key string, ok bool) {
	n := Normalize(body)
	if kw := keywordClasses[n]; kw == Stop || kw == Help {
		return "", false
	}
	a := p.answers()
	ws := words(n)
	i, ok := a.match(ws)
	if !ok {
		if rest := stripAnswerPrefix(ws); len(rest) < len(ws) {
			i, ok = a.match(rest)
		}
	}
	if !ok {
		return "", false
	}
	return p.Options[i].Key, true
}

// Prompt renders how to answer the poll, for the end of the text that asks it:
//
//	Reply 1 for Tuesday, 2 for Wednesday.
//
// When no option has a label that says more than its key, it lists the keys:
//
//	Reply YES or NO.
//
// It returns "" for a poll without options.
func (p Poll) Prompt() string { return p.PromptIn("en") }

// promptWords are the prompt's words in the languages Crier has them in: "Reply", "for",
// "or". Any other language's prompt is in English.
var promptWords = map[string][3]string{
	"en": {"Reply", "for", "or"},
	"cy": {"Atebwch", "am", "neu"},
}

// PromptIn is Prompt in language code ("Atebwch 1 am Tuesday, 2 am Wednesday." in Welsh):
// the options' keys and labels as the officer wrote them, the words around them in the
// language, English for a language Crier has no words for.
func (p Poll) PromptIn(code string) string {
	w, ok := promptWords[code]
	if !ok {
		w = promptWords["en"]
	}
	if len(p.Options) == 0 {
		return ""
	}
	keys := make([]string, len(p.Options))
	labels := make([]string, len(p.Options))
	bare := true
	for i, o := range p.Options {
		keys[i] = strings.Join(strings.Fields(o.Key), " ")
		l := strings.Join(strings.Fields(o.Label), " ")
		l = strings.TrimSpace(strings.TrimRight(l, ".,;:"))
		if l != "" && answerKey(l) != answerKey(o.Key) {
			labels[i] = l
			bare = false
		}
	}
	if bare {
		if len(keys) == 1 {
			return w[0] + " " + keys[0] + "."
		}
		return w[0] + " " + strings.Join(keys[:len(keys)-1], ", ") + " " + w[2] + " " + keys[len(keys)-1] + "."
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k
		if labels[i] != "" {
			parts[i] += " " + w[1] + " " + labels[i]
		}
	}
	return w[0] + " " + strings.Join(parts, ", ") + "."
}

// answerKey is how an answer or reply is compared: its words after Normalize, joined by
// single spaces ("Dydd  Mawrth!" is "DYDD MAWRTH").
func answerKey(s string) string {
	return strings.Join(words(Normalize(s)), " ")
}

// pollAnswers maps each answer a poll accepts, as answerKey spells it, to the index of
// the option it chooses, or to -1 when options' keys, labels or words clash over it.
type pollAnswers struct {
	option   map[string]int
	maxWords int // the most words in any answer
}

// answers collects the poll's answers: every option's key, label and words first, then
// the implicit ones (number words, yes and no) that no key, label or word has taken.
func (p Poll) answers() pollAnswers {
	a := pollAnswers{option: make(map[string]int)}
	add := func(s string, i int, explicit bool) {
		k := answerKey(s)
		if k == "" {
			return
		}
		if j, ok := a.option[k]; ok {
			if j != i && explicit {
				a.option[k] = -1
			}
			return
		}
		a.option[k] = i
		a.maxWords = max(a.maxWords, strings.Count(k, " ")+1)
	}
	for i, o := range p.Options {
		add(o.Key, i, true)
		add(o.Label, i, true)
		for _, w := range o.Words {
			add(w, i, true)
		}
	}
	for i, o := range p.Options {
		for _, w := range implicitAnswers(answerKey(o.Key)) {
			add(w, i, false)
		}
	}
	return a
}

// match applies steps 3 and 4 of Match's rule to the words of a reply and returns the
// index of the option chosen.
func (a pollAnswers) match(ws []string) (int, bool) {
	for l := min(len(ws), a.maxWords); l >= 1; l-- {
		i, found := a.option[strings.Join(ws[:l], " ")]
		if !found {
			continue
		}
		if i < 0 || len(ws)-l > maxExtraWords {
			return 0, false
		}
		for _, w := range ws[l:] {
			if j, ok := a.option[w]; ok {
				if j != i {
					return 0, false
				}
				continue
			}
			if pollUncertain[w] || isDigits(w) || optOutStopVerbs[w] ||
				keywordClasses[w] == Stop || keywordClasses[w] == Help {
				return 0, false
			}
		}
		return i, true
	}
	return 0, false
}

// pollUncertain are words that, after an answer, make a reply uncertain or name more than
// one option: "1 or 2", "yes but not on Tuesdays", "2 maybe", "1 neu 2".
var pollUncertain = wordSet("OR", "AND", "BOTH", "EITHER", "NEITHER", "NOR", "MAYBE",
	"PERHAPS", "POSSIBLY", "PROBABLY", "UNSURE", "DUNNO", "BUT", "IF", "UNLESS", "EXCEPT",
	"NEU", "AC", "DDAU", "EFALLAI", "OND")

// answerPrefixes are words residents put before their answer: "option 1", "number 2",
// "vote 3", "opsiwn 1", "rhif 2".
var answerPrefixes = wordSet("OPTION", "OPT", "NUMBER", "NUM", "CHOICE", "ANSWER", "VOTE",
	"OPSIWN", "RHIF", "DEWIS")

// stripAnswerPrefix drops up to two answerPrefixes words from the start of ws, leaving at
// least one word.
func stripAnswerPrefix(ws []string) []string {
	for range 2 {
		if len(ws) > 1 && answerPrefixes[ws[0]] {
			ws = ws[1:]
		}
	}
	return ws
}

// isDigits reports whether w is a number written in digits.
func isDigits(w string) bool {
	for _, r := range w {
		if r < '0' || r > '9' {
			return false
		}
	}
	return w != ""
}

// numberAnswers are the words for the numbers 1 to 10: English cardinal and ordinal, the
// ordinal in digits, and Welsh (with feminine forms).
var numberAnswers = [...][]string{
	1:  {"ONE", "FIRST", "1ST", "UN"},
	2:  {"TWO", "SECOND", "2ND", "DAU", "DWY"},
	3:  {"THREE", "THIRD", "3RD", "TRI", "TAIR"},
	4:  {"FOUR", "FOURTH", "4TH", "PEDWAR", "PEDAIR"},
	5:  {"FIVE", "FIFTH", "5TH", "PUMP"},
	6:  {"SIX", "SIXTH", "6TH", "CHWECH"},
	7:  {"SEVEN", "SEVENTH", "7TH", "SAITH"},
	8:  {"EIGHT", "EIGHTH", "8TH", "WYTH"},
	9:  {"NINE", "NINTH", "9TH", "NAW"},
	10: {"TEN", "TENTH", "10TH", "DEG"},
}

// yesAnswers and noAnswers are what residents text for yes and no, in English and Welsh.
// "NAC OES" is listed whole so that its OES doesn't read as yes.
var (
	yesAnswers = []string{"Y", "YEAH", "YEA", "YEP", "YUP", "YA", "YAH", "YESS", "AYE", "SURE",
		"IE", "OES", "YDW", "YDY"}
	noAnswers = []string{"N", "NAH", "NOPE", "NOO", "NA", "NAGE", "NADDO", "NAC", "NAC OES",
		"NAC YDW", "NAC YDY"}
)

// implicitAnswers returns the answers an option accepts because of its key (as answerKey
// spells it): number words for "1" to "10", yes and no words for YES and NO.
func implicitAnswers(key string) []string {
	switch key {
	case "YES":
		return yesAnswers
	case "NO":
		return noAnswers
	}
	if n, err := strconv.Atoi(key); err == nil && strconv.Itoa(n) == key && n >= 1 && n < len(numberAnswers) {
		return numberAnswers[n]
	}
	return nil
}
