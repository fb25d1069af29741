// Package reply reads what residents text back: keywords (STOP/START/HELP) as Twilio
// treats them, messages that read like a wish to stop, and answers to a campaign's poll.
// It is pure Go with no storage; internal/inbox keeps the conversations.
package reply

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Keyword is the class of SMS keyword a resident's message is, in the sense of Twilio's
// default opt-out handling.
type Keyword string

// The keyword classes ClassifyKeyword reports.
const (
	// NoKeyword is an ordinary message: a reply for an officer or a poll answer.
	NoKeyword Keyword = ""
	// Stop withdraws consent to texts: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
	// REVOKE, OPTOUT.
	Stop Keyword = "stop"
	// Start gives it again: START, YES, UNSTOP.
	Start Keyword = "start"
	// Help asks who is texting and how to stop: HELP, INFO.
	Help Keyword = "help"
)

// keywordClasses maps each of Twilio's default keywords, as Normalize spells them, to its
// class. Twilio only acts on a message that is one of these words and nothing else.
var keywordClasses = map[string]Keyword{
	"STOP": Stop, "STOPALL": Stop, "UNSUBSCRIBE": Stop, "CANCEL": Stop,
	"END": Stop, "QUIT": Stop, "REVOKE": Stop, "OPTOUT": Stop,
	"START": Start, "YES": Start, "UNSTOP": Start,
	"HELP": Help, "INFO": Help,
}

// welshKeywords are the Welsh words residents text for the same three things, as Welsh
// public bodies list them for Twilio's Advanced Opt-Out (Twilio's defaults are English
// only): STOPIO ("stop"), DIM ("none": "no more"), DIWEDD ("end"), DAD-DANYSGRIFIO
// ("unsubscribe"), CANSLO ("cancel"); DECHRAU ("start"), AILDDECHRAU ("start again"),
// IE ("yes"); CYMORTH ("help"), GWYBODAETH ("information"). Under the Welsh Language
// Standards a reply in Welsh is answered in Welsh.
var welshKeywords = map[string]Keyword{
	"STOPIO": Stop, "DIM": Stop, "DIWEDD": Stop, "DAD-DANYSGRIFIO": Stop, "DADDANYSGRIFIO": Stop, "CANSLO": Stop,
	"DECHRAU": Start, "AILDDECHRAU": Start, "IE": Start,
	"CYMORTH": Help, "GWYBODAETH": Help,
}

// KeywordLanguage is the language of a keyword message's word: "cy" for one of the Welsh
// keywords, "" otherwise (English, or not a keyword), so that the answer can be in the
// language the resident used.
func KeywordLanguage(body string) string {
	if _, ok := welshKeywords[Normalize(body)]; ok {
		return "cy"
	}
	return ""
}

// ClassifyKeyword reports which of Twilio's default keywords an inbound message is.
//
// optOutType is the OptOutType field of Twilio's incoming-message webhook ("STOP", "START"
// or "HELP", any case). When it holds one of those it decides, and body is not looked at:
// Twilio has already acted on the message (a STOP has blocked further texts, whatever
// its wording), and with Advanced Opt-Out a Messaging Service may have keywords of its own,
// such as Welsh ones, that this package doesn't know. When optOutType is empty, or a value
// this package doesn't recognise, the body is classified itself.
//
// A body is a keyword when, once Normalize has tidied it, it is exactly one of the words
// listed on Stop, Start and Help, or one of their Welsh equivalents (STOPIO, DIM, …: see
// welshKeywords), in any case and any width: "stop", " Stop. ", "STOP!!",
// "'stop'", "“Stop”", "ＳＴＯＰ". Anything more is not a keyword, as with Twilio: "STOP
// PLEASE", "STOP ALL", "please stop texting me" and "stopping" are NoKeyword (see
// LikelyOptOut for those).
//
// Emoji and other symbols around the word are ignored like punctuation, so "STOP 🛑" and
// "👋 stop" are Stop. Twilio, matching the whole message, would not act on them, so the
// caller honours an opt-out Twilio hasn't recorded: texts to that resident stop sooner
// than Twilio alone would stop them, which is the safe way to be wrong. The same rule makes
// "YES 👍" Start, which re-subscribes only a resident who had opted out.
//
// YES is a Start keyword, and Twilio reports it as such (OptOutType START) even when the
// resident is answering a YES/NO poll; re-subscribing a resident who just received the poll
// changes nothing, so callers should still offer a Start message to an open poll's Match.
func ClassifyKeyword(body, optOutType string) Keyword {
	switch strings.ToUpper(strings.TrimSpace(optOutType)) {
	case "STOP":
		return Stop
	case "START":
		return Start
	case "HELP":
		return Help
	}
	n := Normalize(body)
	if k, ok := keywordClasses[n]; ok {
		return k
	}
	return welshKeywords[n]
}

// Normalize tidies a resident's message for matching: it applies Unicode NFKC (so
// full-width "ＳＴＯＰ" reads "STOP" and ligatures are spelled out), drops invisible format
// characters and emoji variation selectors, trims white space, punctuation and symbols
// (emoji included) from both ends, collapses each run of inner white space to one space
// and upper-cases the result. Punctuation inside the message is kept: "Stop, please!"
// becomes "STOP, PLEASE".
func Normalize(body string) string {
	s := norm.NFKC.String(body)
	s = strings.Map(func(r rune) rune {
		if isInvisible(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimFunc(s, isEdgeNoise)
	s = strings.Join(strings.Fields(s), " ")
	return strings.ToUpper(s)
}

// isInvisible reports whether r is a character with no appearance of its own that only
// changes how its neighbours are drawn: format characters (zero-width spaces and joiners,
// byte order marks, soft hyphens) and variation selectors (U+FE0F asks for emoji style).
func isInvisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r)
}

// isEdgeNoise reports whether r carries no words when it stands at either end of a
// message: white space, control characters, punctuation (ASCII, curly and full-width
// quotes, brackets, ellipses, ...), symbols (emoji, "#", "+", currency signs) and enclosing
// marks (the keycap of "1️⃣").
func isEdgeNoise(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.IsPunct(r) ||
		unicode.IsSymbol(r) || unicode.Is(unicode.Me, r)
}

// words splits a Normalize'd message into words: runs of letters, digits and combining
// marks. Apostrophes inside a word are dropped ("DON'T" and "DON’T" become "DONT"); every
// other character separates words, except that "&" and "+" read as the word AND and "/"
// as OR, so "1/2" is the two choices it means.
func words(s string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		case isApostrophe(r) && b.Len() > 0:
			// Inside or at the end of a word: drop it and carry on with the word.
		case r == '&' || r == '+':
			flush()
			out = append(out, "AND")
		case r == '/':
			flush()
			out = append(out, "OR")
		default:
			flush()
		}
	}
	flush()
	return out
}

// isApostrophe reports whether r is one of the marks phones and keyboards type for an
// apostrophe.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '\u2019', '\u2018', '\u02bc', '`', '\u00b4':
		return true
	}
	return false
}

// wordSet builds a set of words.
func wordSet(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// The vocabularies LikelyOptOut reads messages with, upper case as Normalize leaves them.
// Welsh words are included in the forms most likely in a text, mutations among them.
var (
	// optOutStopVerbs ask for something to end.
	optOutStopVerbs = wordSet("STOP", "STOPALL", "QUIT", "CEASE", "END", "CANCEL", "HALT",
		"STOPIO", "STOPIWCH", "STOPIA")

	// optOutIntent words ask to be opted out wherever they appear.
	optOutIntent = wordSet("UNSUBSCRIBE", "UNSUBSCRIBED", "UNSUBSCRIBING", "UNSUB",
		"OPTOUT", "STOPALL", "DADDANYSGRIFIO", "DADANYSGRIFIO")

	// optOutFillers are the words that may surround a stop verb in a message that says
	// nothing else ("STOP PLEASE", "please stop it now", "Stop os gwelwch yn dda").
	optOutFillers = wordSet("PLEASE", "PLEASEE", "PLS", "PLZ", "NOW", "ALL", "IT", "THIS",
		"THESE", "THEM", "THAT", "ASAP", "IMMEDIATELY", "JUST", "OK", "OKAY", "THANKS",
		"THANK", "YOU", "THX", "TA", "AGAIN", "STOP", "SERIOUSLY",
		"OS", "GWELWCH", "YN", "DDA", "PLIS", "DIOLCH", "NAWR", "HYN", "HWN", "HYNNY")

	// optOutMessaging are the words for the messages themselves: nouns and -ing forms,
	// which name the messaging wherever they stand ("stop texting", "no more texts").
	optOutMessaging = wordSet("TEXTS", "TEXTING", "TXTS", "TXTING", "MESSAGES",
		"MESSAGING", "MSGS", "MSGING", "SMSS", "SMSES", "CONTACTING", "SPAM", "SPAMMING",
		"NOTIFICATIONS", "ALERTS", "REMINDERS", "UPDATES", "SUBSCRIPTION", "EMAILS",
		"EMAILING", "NEGESEUON", "TECSTIAU", "DECSTIAU", "TECSTIO", "NHECSTIO", "CYSYLLTU",
		"CHYSYLLTU", "GYSYLLTU")

	// optOutMessagingVerbs are the words for messaging that are verbs as often as nouns.
	// They name the messaging after a stop verb ("stop the text"); after a negation only
	// when a person follows ("don't text me", but not "don't forget to text your
	// neighbours").
	optOutMessagingVerbs = wordSet("TEXT", "TXT", "MESSAGE", "MSG", "SMS", "CONTACT",
		"EMAIL", "NEGES", "TECST", "DECST")

	// optOutPersons follow a messaging verb to make it about the resident.
	optOutPersons = wordSet("ME", "US", "THIS", "MY", "MI", "FI", "NI", "ATAF", "ATA")

	// optOutSendVerbs are sending and receiving, which ask to stop only when they have a
	// messaging object ("stop sending me these", not "stop sending lorries at 6am").
	optOutSendVerbs = wordSet("SEND", "SENDING", "RECEIVE", "RECEIVING", "ANFON", "DERBYN")

	// optOutGetVerbs are like optOutSendVerbs after a stop verb ("stop getting these"), but
	// not after a negation, where they are more often a complaint than a refusal ("I don't
	// get them until the evening").
	optOutGetVerbs = wordSet("GET", "GETTING")

	// optOutSendObjects are the objects that make sending or receiving about messages
	// when no messaging word is there: "stop sending me these", "don't send any more".
	optOutSendObjects = wordSet("THESE", "THIS", "THEM", "ANY", "ANYTHING", "ANYMORE",
		"MORE", "AGAIN", "STUFF", "JUNK", "RUBBISH")

	// optOutRemoveVerbs remove the resident from a list ("remove me", "delete my number").
	optOutRemoveVerbs = wordSet("REMOVE", "DELETE", "ERASE", "UNLIST", "TYNNWCH", "DILEWCH")

	// optOutTakeVerbs do so only with OFF ("take me off your list", "get us off this").
	optOutTakeVerbs = wordSet("TAKE", "GET")

	// optOutSelf is the resident as the object of a removal.
	optOutSelf = wordSet("ME", "US", "FI", "NI")

	// optOutPossessive and optOutDetails are the resident's details as its object:
	// "my number", "fy manylion".
	optOutPossessive = wordSet("MY", "OUR", "FY", "EIN")
	optOutDetails    = wordSet("NUMBER", "NO", "DETAILS", "NAME", "DATA", "INFO",
		"INFORMATION", "CONTACT", "PHONE", "MOBILE", "RHIF", "MANYLION", "ENW")
)

// messagingWindow is how many words after a stop verb or a negation LikelyOptOut looks for
// the messaging it is about: "stop all these texts", "don't want any more messages".
const messagingWindow = 4

// LikelyOptOut reports whether a message that is not a keyword still reads as a wish to
// stop getting texts: "STOP PLEASE", "please stop texting me", "Stop sending me these",
// "unsubscribe me", "take me off your list", "remove me from this list", "don't text me
// again", "no more messages", "opt me out", "leave me alone", "wrong number", and some
// Welsh ("Stopiwch anfon negeseuon", "Dim mwy o negeseuon", "Tynnwch fi oddi ar y
// rhestr"). It is false for keywords themselves (ClassifyKeyword handles those) and for
// requests to stop something else: "stop the roadworks on Elm Street!", "Can you stop
// the parking on the verge?".
//
// It only flags a message for an officer to read, and never opts anyone out, so it leans
// towards flagging. The message reads as an opt-out when any of these holds:
//
//   - it is only stop verbs and filler ("stop please", "STOP ALL", "please stop it now");
//   - it contains UNSUBSCRIBE, OPTOUT or STOPALL, or OPT followed by OUT ("opt me out");
//   - a stop verb (STOP, QUIT, CEASE, END, CANCEL, ...) has a word for the messages
//     within four words after it ("stop all these texts", "cancel my subscription"), or
//     a verb such as TEXT within two ("stop the text");
//   - a negation (DON'T, DO NOT, NEVER, NO LONGER) has such a noun within four words
//     after it, or a verb such as TEXT or CONTACT followed by ME ("don't text me again");
//   - sending or receiving, after a stop verb or a negation, has messages or "these",
//     "them", "any more" as its object ("stop sending me these");
//   - NO MORE is followed by a word for the messages ("no more texts please");
//   - REMOVE, DELETE me or my number/details, or TAKE/GET me or my number ... OFF;
//   - LEAVE ME ALONE, or WRONG NUMBER.
//
// Known limits: it reads words, not sentences, so it misses opt-outs in other words
// ("I've moved away", "not interested") and flags some messages that are about messages
// but want more of them ("please don't stop the texts, they're useful") or ask about a
// different list ("take me off the allotment waiting list").
func LikelyOptOut(body string) bool {
	n := Normalize(body)
	if n == "" || keywordClasses[n] != NoKeyword {
		return false
	}
	ws := words(n)
	return onlyStopAndFiller(ws) || hasOptOutPhrase(ws)
}

// onlyStopAndFiller reports whether ws are stop verbs and fillers only, with at least one
// stop verb.
func onlyStopAndFiller(ws []string) bool {
	stop := false
	for _, w := range ws {
		switch {
		case optOutStopVerbs[w]:
			stop = true
		case optOutFillers[w]:
		default:
			return false
		}
	}
	return stop
}

// hasOptOutPhrase reports whether ws contain one of the patterns LikelyOptOut lists
// after the first.
func hasOptOutPhrase(ws []string) bool {
	at := func(i int) string {
		if i >= 0 && i < len(ws) {
			return ws[i]
		}
		return ""
	}
	for i, w := range ws {
		switch {
		case optOutIntent[w]:
			return true
		case w == "OPT" && (at(i+1) == "OUT" || at(i+2) == "OUT"):
			return true
		case w == "DAD" && (at(i+1) == "DANYSGRIFIO"):
			return true
		case optOutStopVerbs[w] && stopsMessaging(ws[i+1:]):
			return true
		case refusesAfterNegation(ws[i:]):
			return true
		case (w == "NO" && at(i+1) == "MORE" || w == "DIM" && at(i+1) == "MWY") &&
			namesMessaging(ws[i+2:], messagingWindow-1):
			return true
		case optOutRemoveVerbs[w] && removesResident(ws[i+1:]) > 0:
			return true
		case optOutTakeVerbs[w]:
			if k := removesResident(ws[i+1:]); k > 0 && slicesContain(ws[i+1+k:], "OFF", 3) {
				return true
			}
		case w == "LEAVE" && (at(i+1) == "ME" || at(i+1) == "US") && at(i+2) == "ALONE":
			return true
		case w == "WRONG" && (at(i+1) == "NUMBER" || at(i+1) == "PERSON"):
			return true
		case w == "RHIF" && at(i+1) == "ANGHYWIR":
			return true
		}
	}
	return false
}

// stopsMessaging reports whether the words after a stop verb make it about the messages:
// a noun for them within messagingWindow words ("stop all these texts"), a messaging verb
// within two ("stop the text", but not "stop the roadworks, I'll text you"), or sending or
// receiving them ("stop sending me these").
func stopsMessaging(rest []string) bool {
	for i, w := range window(rest, messagingWindow) {
		if optOutMessaging[w] || optOutMessagingVerbs[w] && i < 2 {
			return true
		}
		if (optOutSendVerbs[w] || optOutGetVerbs[w]) && sendsMessages(rest[i+1:]) {
			return true
		}
	}
	return false
}

// refusesAfterNegation reports whether ws start with a negation followed by a refusal of
// messages (see refusesMessaging).
func refusesAfterNegation(ws []string) bool {
	n := negationLength(ws)
	return n > 0 && refusesMessaging(ws[n:])
}

// refusesMessaging reports whether the words after a negation refuse messages: a noun for
// them within messagingWindow words ("don't want any more messages"), a messaging verb
// aimed at the resident ("don't text me", "do not contact this number"), or sending them
// ("don't send me these").
func refusesMessaging(rest []string) bool {
	for i, w := range window(rest, messagingWindow) {
		if optOutMessaging[w] {
			return true
		}
		if optOutMessagingVerbs[w] && i+1 < len(rest) && optOutPersons[rest[i+1]] {
			return true
		}
		if optOutSendVerbs[w] && sendsMessages(rest[i+1:]) {
			return true
		}
	}
	return false
}

// sendsMessages reports whether the words after a sending or receiving verb give it
// messages as its object, within three words: "sending me these", "send any more texts".
func sendsMessages(rest []string) bool {
	for _, w := range window(rest, 3) {
		if optOutMessaging[w] || optOutMessagingVerbs[w] || optOutSendObjects[w] {
			return true
		}
	}
	return false
}

// namesMessaging reports whether a word for the messages is among the first n of ws.
func namesMessaging(ws []string, n int) bool {
	for _, w := range window(ws, n) {
		if optOutMessaging[w] || optOutMessagingVerbs[w] {
			return true
		}
	}
	return false
}

// negationLength returns how many words a negation at the start of ws takes (DONT and
// NEVER one, DO NOT and NO LONGER two, PEIDIWCH one), or 0 when ws don't start with one.
func negationLength(ws []string) int {
	if len(ws) == 0 {
		return 0
	}
	switch ws[0] {
	case "DONT", "DONOT", "NEVER", "PEIDIWCH", "PAID":
		return 1
	case "DO", "DOES":
		if len(ws) > 1 && ws[1] == "NOT" {
			return 2
		}
	case "NO":
		if len(ws) > 1 && ws[1] == "LONGER" {
			return 2
		}
	}
	return 0
}

// removesResident returns how many words at the start of rest name the resident as the
// object of a removal ("me", "us", "my number", "fy rhif"), or 0 when they don't.
func removesResident(rest []string) int {
	switch {
	case len(rest) >= 1 && optOutSelf[rest[0]]:
		return 1
	case len(rest) >= 2 && optOutPossessive[rest[0]] && optOutDetails[rest[1]]:
		return 2
	}
	return 0
}

// slicesContain reports whether w is among the first n of ws.
func slicesContain(ws []string, w string, n int) bool {
	for _, x := range window(ws, n) {
		if x == w {
			return true
		}
	}
	return false
}

// window returns the first n of ws, or all of them when there are fewer.
func window(ws []string, n int) []string {
	if len(ws) > n {
		return ws[:n]
	}
	return ws
}
