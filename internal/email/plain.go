package email

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Report is the result of the plain-language check. It only warns: nothing in
// it blocks a campaign.
type Report struct {
	ReadingEase   float64   // Flesch reading ease of the body text (higher = easier; aim for 60 or more)
	Grade         float64   // Flesch–Kincaid grade level (UK school year ≈ grade + 1)
	Words         int       // words of prose, not counting links' addresses or code
	Sentences     int       // sentences; a heading or list item counts as one
	LongSentences []Finding // sentences over 25 words
	Jargon        []Finding // words and phrases with a plainer alternative
}

// Finding is one warning, at a 1-based line of the Markdown.
type Finding struct {
	Line       int
	Text       string // the sentence or phrase as written
	Suggestion string
}

// plainLongSentence is the most words a sentence should have (GOV.UK advice).
const plainLongSentence = 25

// plainJargon lists phrases with plainer alternatives, in the spirit of the
// GOV.UK style guide's "words to avoid" and the Plain English Campaign's A to Z
// of alternative words. Phrases are lower case and matched case-insensitively
// as whole words.
var plainJargon = []struct {
	phrases    []string
	suggestion string
}{
	{[]string{"in order to"}, `"to"`},
	{[]string{"utilise", "utilises", "utilised", "utilising", "utilisation", "utilize", "utilizes", "utilized", "utilizing", "utilization"}, `"use"`},
	{[]string{"facilitate", "facilitates", "facilitated", "facilitating"}, `"help" or "make possible"`},
	{[]string{"commence", "commences", "commenced", "commencing", "commencement"}, `"start"`},
	{[]string{"prior to"}, `"before"`},
	{[]string{"in the event that", "in the event of"}, `"if"`},
	{[]string{"with regard to", "with regards to", "in relation to", "in respect of", "with reference to"}, `"about"`},
	{[]string{"going forward", "moving forward"}, `"from now on" or "in future"`},
	{[]string{"stakeholder", "stakeholders"}, `"the people affected" — say who they are`},
	{[]string{"deliver services", "deliver the service", "deliver a service", "delivering services", "service delivery", "deliver outcomes", "deliver improvements"}, `"provide", "run" or "make" — say what you will do`},
	{[]string{"leverage", "leverages", "leveraged", "leveraging"}, `"use"`},
	{[]string{"ameliorate", "ameliorates", "ameliorated"}, `"improve"`},
	{[]string{"endeavour", "endeavours", "endeavoured", "endeavor"}, `"try"`},
	{[]string{"in excess of"}, `"more than"`},
	{[]string{"residents are advised to", "residents are requested to", "residents are reminded to"}, `"please"`},
	{[]string{"disposal of refuse", "refuse disposal", "refuse collection"}, `"putting out your rubbish" or "bin collection"`},
	{[]string{"receptacle", "receptacles"}, `"bin"`},
	{[]string{"cessation"}, `"end" or "stop"`},
	{[]string{"remuneration"}, `"pay"`},
	{[]string{"notwithstanding"}, `"despite" or "even if"`},
	{[]string{"hereby", "herewith", "hereafter", "herein"}, "leave it out"},
	{[]string{"aforementioned", "aforesaid"}, `"this" or "these"`},
	{[]string{"pursuant to"}, `"under"`},
	{[]string{"key"}, `"important" or "main", or leave it out (unless it unlocks something)`},
	{[]string{"robust"}, `"strong" or "thorough" — say how`},
	{[]string{"tackling", "tackle"}, `"stopping", "solving" or "dealing with"`},
	{[]string{"empower", "empowers", "empowered", "empowering"}, `"let" or "allow"`},
	{[]string{"streamline", "streamlined", "streamlining"}, `"simplify" or "make quicker"`},
	{[]string{"at this moment in time", "at this point in time", "at the present time"}, `"now"`},
	{[]string{"due to the fact that", "owing to the fact that", "in view of the fact that"}, `"because"`},
	{[]string{"in accordance with"}, `"under" or "as set out in"`},
	{[]string{"additional"}, `"extra" or "more"`},
	{[]string{"assistance"}, `"help"`},
	{[]string{"approximately"}, `"about"`},
	{[]string{"sufficient"}, `"enough"`},
	{[]string{"purchase", "purchased", "purchasing"}, `"buy"`},
	{[]string{"obtain", "obtained", "obtaining"}, `"get"`},
	{[]string{"require", "requires", "required", "requirement", "requirements"}, `"need"`},
	{[]string{"ensure", "ensures", "ensuring"}, `"make sure"`},
	{[]string{"in conjunction with"}, `"with"`},
	{[]string{"a number of", "a significant number of"}, `"some" or "many" — or give the number`},
	{[]string{"the majority of"}, `"most"`},
	{[]string{"dialogue"}, `"talk" or "discussion"`},
	{[]string{"collaborate", "collaborating", "collaboration"}, `"work with"`},
	{[]string{"foster", "fostering"}, `"encourage" (unless it's about children in care)`},
	{[]string{"initiate", "initiated", "initiating"}, `"start"`},
	{[]string{"terminate", "terminated", "termination"}, `"end" or "stop"`},
	{[]string{"whilst"}, `"while"`},
	{[]string{"forthwith", "with immediate effect"}, `"now" or "at once"`},
	{[]string{"thereafter", "subsequently"}, `"after that" or "later"`},
	{[]string{"henceforth"}, `"from now on"`},
	{[]string{"commensurate with"}, `"in line with"`},
	{[]string{"enquire", "enquiries", "enquiry"}, `"ask" or "question"`},
	{[]string{"dwelling", "dwellings"}, `"home"`},
	{[]string{"occupier", "occupiers"}, `"the person who lives there" or "you"`},
	{[]string{"please do not hesitate to contact", "do not hesitate to contact"}, `"please contact"`},
	{[]string{"it should be noted that", "please note that"}, "leave it out"},
	{[]string{"per annum"}, `"a year"`},
	{[]string{"in lieu of"}, `"instead of"`},
	{[]string{"inter alia"}, `"among other things"`},
	{[]string{"consequently", "accordingly"}, `"so"`},
	{[]string{"proactively", "proactive"}, "leave it out, or say what you will do"},
	{[]string{"incentivise", "incentivize"}, `"encourage"`},
	{[]string{"transform", "transforming", "transformation"}, `"change" — say how`},
	{[]string{"implement", "implemented", "implementing", "implementation"}, `"carry out", "start" or "do"`},
	{[]string{"advise", "advised", "advising"}, `"tell" (unless you mean giving advice)`},
}

// plainAbbreviations end in a full stop that does not end a sentence.
var plainAbbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "mx": true, "dr": true, "st": true, "cllr": true, "no": true,
	"e.g": true, "i.e": true, "eg": true, "ie": true, "approx": true, "tel": true, "ltd": true,
	"inc": true, "vs": true, "a.m": true, "p.m": true, "nb": true, "ref": true, "dept": true,
}

var (
	plainFence     = regexp.MustCompile("^\\s*(```|~~~)")
	plainHeading   = regexp.MustCompile(`^\s{0,3}#{1,6}(\s+|$)`)
	plainRule      = regexp.MustCompile(`^\s{0,3}([-*_=]\s*){3,}$`)
	plainListItem  = regexp.MustCompile(`^\s*([-*+]|\d{1,9}[.)])\s+(\[[ xX]\]\s+)?`)
	plainQuote     = regexp.MustCompile(`^\s*(>\s?)+`)
	plainTableRule = regexp.MustCompile(`^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$`)
	plainImage     = regexp.MustCompile(`!\[[^\]]*\]\([^)]*\)`)
	plainLink      = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	plainRefLink   = regexp.MustCompile(`\[([^\]]*)\]\[[^\]]*\]`)
	plainURL       = regexp.MustCompile(`<[^>\s]+>|(https?://|www\.)\S+|[\w.+-]+@[\w-]+(\.[\w-]+)+`)
	plainField     = regexp.MustCompile(`\{\{[^}\n]*\}\}`)
	plainMarkup    = regexp.MustCompile("\\*+|__+|~~|`+|\\\\")
)

// plainText is the prose of a Markdown document with, for every byte, the
// source line it came from. '\n' separates blocks (paragraphs, headings, list
// items), which always end a sentence.
type plainText struct {
	buf   []byte
	lines []int
}

func (t *plainText) add(s string, line int) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' {
			if len(t.buf) == 0 || t.buf[len(t.buf)-1] == ' ' || t.buf[len(t.buf)-1] == '\n' {
				continue
			}
			c = ' '
		}
		t.buf = append(t.buf, c)
		t.lines = append(t.lines, line)
	}
}

func (t *plainText) breakBlock(line int) {
	if n := len(t.buf); n > 0 && t.buf[n-1] == ' ' {
		t.buf, t.lines = t.buf[:n-1], t.lines[:n-1]
	}
	if n := len(t.buf); n > 0 && t.buf[n-1] != '\n' {
		t.buf = append(t.buf, '\n')
		t.lines = append(t.lines, line)
	}
}

// plainExtract strips Markdown syntax, addresses, code and merge fields,
// keeping the words a reader reads.
func plainExtract(markdown string) *plainText {
	t := &plainText{}
	inFence := false
	for i, line := range strings.Split(markdown, "\n") {
		n := i + 1
		line = strings.TrimRight(line, "\r")
		if plainFence.MatchString(line) {
			inFence = !inFence
			t.breakBlock(n)
			continue
		}
		if inFence {
			continue
		}
		if strings.TrimSpace(line) == "" || plainRule.MatchString(line) || plainTableRule.MatchString(line) {
			t.breakBlock(n)
			continue
		}
		heading := false
		if loc := plainHeading.FindStringIndex(line); loc != nil {
			t.breakBlock(n)
			line = strings.TrimRight(strings.TrimSpace(line[loc[1]:]), "# ")
			heading = true
		}
		line = plainQuote.ReplaceAllString(line, "")
		if loc := plainListItem.FindStringIndex(line); loc != nil {
			t.breakBlock(n)
			line = line[loc[1]:]
		}
		line = plainImage.ReplaceAllString(line, " ")
		line = plainLink.ReplaceAllString(line, "$1")
		line = plainRefLink.ReplaceAllString(line, "$1")
		line = plainURL.ReplaceAllString(line, " ")
		line = plainField.ReplaceAllString(line, "Sam") // a merge field reads as a short name
		line = plainMarkup.ReplaceAllString(line, "")
		if strings.HasPrefix(strings.TrimSpace(line), "|") || strings.Count(line, "|") >= 2 {
			for cell := range strings.SplitSeq(line, "|") {
				t.add(cell, n)
				t.breakBlock(n)
			}
			continue
		}
		t.add(line, n)
		if strings.HasSuffix(line, "  ") || heading {
			t.breakBlock(n) // a hard line break or a heading ends the block
		} else {
			t.add(" ", n)
		}
	}
	t.breakBlock(0)
	return t
}

// CheckPlainLanguage measures how easy the body is to read and points out
// long sentences and jargon. Markdown syntax, link addresses, code and merge
// fields are left out of the counts. An empty body gives a zero Report.
func CheckPlainLanguage(markdown string) Report {
	t := plainExtract(markdown)
	var rep Report
	syllables := 0
	start := 0
	for i := 0; i <= len(t.buf); i++ {
		if i < len(t.buf) && !plainSentenceEnd(t.buf, i) {
			continue
		}
		end := i
		if i < len(t.buf) && t.buf[i] != '\n' {
			end = i + 1
		}
		sentence := strings.TrimSpace(string(t.buf[start:end]))
		words, syl := plainCount(sentence)
		if words > 0 {
			rep.Sentences++
			rep.Words += words
			syllables += syl
			if words > plainLongSentence {
				rep.LongSentences = append(rep.LongSentences, Finding{
					Line:       t.lines[plainFirstNonSpace(t.buf, start, end)],
					Text:       plainShorten(sentence, 100),
					Suggestion: fmt.Sprintf("%d words: try splitting it into shorter sentences of %d words or fewer", words, plainLongSentence),
				})
			}
		}
		start = i + 1
	}
	if rep.Words == 0 {
		return Report{}
	}
	wps := float64(rep.Words) / float64(rep.Sentences)
	spw := float64(syllables) / float64(rep.Words)
	rep.ReadingEase = 206.835 - 1.015*wps - 84.6*spw
	rep.Grade = 0.39*wps + 11.8*spw - 15.59
	rep.Jargon = plainFindJargon(t)
	return rep
}

func plainFirstNonSpace(b []byte, start, end int) int {
	for i := start; i < end; i++ {
		if b[i] != ' ' && b[i] != '\n' {
			return i
		}
	}
	return start
}

// plainSentenceEnd reports whether b[i] ends a sentence: a block break, or
// . ! ? (perhaps followed by a closing quote or bracket) before a space, where
// the full stop does not end an abbreviation or an initial.
func plainSentenceEnd(b []byte, i int) bool {
	switch b[i] {
	case '\n':
		return true
	case '.', '!', '?':
	default:
		return false
	}
	j := i + 1
	for j < len(b) && strings.IndexByte(`"')]`, b[j]) >= 0 {
		j++
	}
	if j < len(b) && b[j] != ' ' && b[j] != '\n' {
		return false
	}
	if b[i] != '.' {
		return true
	}
	k := i
	for k > 0 && b[k-1] != ' ' && b[k-1] != '\n' {
		k--
	}
	word := strings.ToLower(strings.Trim(string(b[k:i]), `"'(`))
	if plainAbbreviations[word] {
		return false
	}
	if r, size := utf8.DecodeRuneInString(word); size == len(word) && unicode.IsUpper(unicode.ToUpper(r)) && unicode.IsLetter(r) {
		return false // an initial, as in "J. Smith"
	}
	return true
}

// plainShorten cuts s to about n characters at a word boundary.
func plainShorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := 0
	for i := range s {
		if i > n {
			break
		}
		if s[i] == ' ' {
			cut = i
		}
	}
	if cut == 0 {
		cut = n
	}
	return s[:cut] + " …"
}

// plainCount counts the words and syllables in s.
func plainCount(s string) (words, syllables int) {
	for w := range strings.FieldsSeq(s) {
		w = strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if w == "" {
			continue
		}
		words++
		n := 0
		for part := range strings.SplitSeq(w, "-") {
			if part != "" {
				n += plainSyllables(part)
			}
		}
		syllables += max(n, 1)
	}
	return words, syllables
}

// plainSyllables estimates the syllables in an English word: groups of vowels,
// less a silent final e and an unvoiced -ed or -es. Numbers count as one.
func plainSyllables(word string) int {
	w := []rune(strings.ToLower(word))
	letters := 0
	for _, r := range w {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	if letters == 0 {
		return 1
	}
	if letters <= 3 {
		return 1
	}
	isVowel := func(r rune) bool {
		return strings.ContainsRune("aeiouyàáâäèéêëìíîïòóôöùúûüŵŷ", r)
	}
	count := 0
	prevVowel := false
	for _, r := range w {
		v := isVowel(r)
		if v && !prevVowel {
			count++
		}
		prevVowel = v
	}
	n := len(w)
	s := string(w)
	switch {
	case strings.HasSuffix(s, "e") && !strings.HasSuffix(s, "le") && !strings.HasSuffix(s, "ee") && !isVowel(w[n-2]):
		count-- // "make", "change"
	case strings.HasSuffix(s, "le") && n > 2 && isVowel(w[n-3]):
		count-- // "while", "scale"
	case strings.HasSuffix(s, "ed") && n > 3 && !strings.ContainsRune("td", w[n-3]) && !isVowel(w[n-3]):
		count-- // "changed", "collected" keeps its syllable
	case strings.HasSuffix(s, "es") && n > 3 && !strings.ContainsRune("cgszx", w[n-3]) && !isVowel(w[n-3]) && w[n-3] != 'h':
		count-- // "makes"; "boxes", "changes" keep theirs
	}
	// Vowel pairs that are usually two syllables.
	for _, pair := range []string{"ia", "io", "ua"} {
		if strings.Contains(s, pair) && !slices.ContainsFunc(plainOneSyllable, func(x string) bool { return strings.Contains(s, x) }) {
			count++ // "period", "media", "usual"
		}
	}
	return max(count, 1)
}

// plainOneSyllable are spellings where "ia", "io" or "ua" is one sound.
var plainOneSyllable = []string{"tion", "sion", "cial", "tial", "cian", "cious", "tious", "gious", "qua", "gua"}

// plainFindJargon finds the jargon phrases in t, longest first where they
// overlap, in the order they appear.
func plainFindJargon(t *plainText) []Finding {
	lower := make([]byte, len(t.buf))
	for i, c := range t.buf {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	text := string(lower)
	type match struct {
		start, end int
		suggestion string
	}
	var matches []match
	for _, j := range plainJargon {
		for _, phrase := range j.phrases {
			for off := 0; ; {
				i := strings.Index(text[off:], phrase)
				if i < 0 {
					break
				}
				i += off
				end := i + len(phrase)
				if plainBoundary(text, i-1) && plainBoundary(text, end) {
					matches = append(matches, match{i, end, j.suggestion})
				}
				off = i + 1
			}
		}
	}
	slices.SortFunc(matches, func(a, b match) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(b.end, a.end))
	})
	var out []Finding
	last := 0
	for _, m := range matches {
		if m.start < last {
			continue
		}
		last = m.end
		out = append(out, Finding{Line: t.lines[m.start], Text: string(t.buf[m.start:m.end]), Suggestion: m.suggestion})
	}
	return out
}

// plainBoundary reports whether text[i] is outside a word.
func plainBoundary(text string, i int) bool {
	if i < 0 || i >= len(text) {
		return true
	}
	c := text[i]
	return !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c >= utf8.RuneSelf || c == '-')
}
