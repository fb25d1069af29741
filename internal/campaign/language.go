package campaign

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/lang"
)

// Content is a campaign's texts in one language.
type Content struct {
	EmailSubject string `json:"email_subject,omitempty"`
	EmailBody    string `json:"email_body,omitempty"`
	SMSBody      string `json:"sms_body,omitempty"`
	LeafletTitle string `json:"leaflet_title,omitempty"`
	LeafletBody  string `json:"leaflet_body,omitempty"`
}

// Own is the content the campaign's own fields hold: its default language's.
func (c *Campaign) Own() Content { return c.own() }

func (c *Campaign) own() Content {
	return Content{EmailSubject: c.EmailSubject, EmailBody: c.EmailBody, SMSBody: c.SMSBody,
		LeafletTitle: c.LeafletTitle, LeafletBody: c.LeafletBody}
}

// DefaultLanguage is the language of the campaign's own texts: the first of Languages,
// or "en" for a campaign that names none.
func (c *Campaign) DefaultLanguage() string {
	if len(c.Languages) > 0 {
		return c.Languages[0]
	}
	return "en"
}

// Multilingual reports whether the campaign has texts in more than one language.
func (c *Campaign) Multilingual() bool { return len(c.Languages) > 1 }

// LanguageFor is the language a resident who prefers pref gets: pref when the campaign
// is written in it, else the campaign's default (the first of its fallback order). A
// campaign in one language answers "" (its messages carry no language of their own).
func (c *Campaign) LanguageFor(pref string) string {
	if !c.Multilingual() {
		return ""
	}
	if slices.Contains(c.Languages, pref) {
		return pref
	}
	return c.Languages[0]
}

// In returns a copy of c whose own texts are those in language code (the default's when
// the campaign has no such variant), as a campaign in that one language: what a
// resident reading it gets. Checks and composers use it for each language alike.
func (c *Campaign) In(code string) *Campaign {
	cp := *c
	cp.Variants, cp.Bilingual = nil, false
	if v, ok := c.Variants[code]; ok && code != c.DefaultLanguage() {
		cp.EmailSubject, cp.EmailBody, cp.SMSBody, cp.LeafletTitle, cp.LeafletBody =
			v.EmailSubject, v.EmailBody, v.SMSBody, v.LeafletTitle, v.LeafletBody
		cp.Languages = []string{code}
		return &cp
	}
	cp.Languages = []string{c.DefaultLanguage()}
	return &cp
}

// Pair is the two languages a bilingual message carries, first the resident's own when
// it is one of them, else in the campaign's order. It is only meaningful when Bilingual.
func (c *Campaign) Pair(first string) [2]string {
	a, b := c.Languages[0], c.Languages[1]
	if first == b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// SMSTextIn is the text a resident whose message is in language code gets (before merge
// fields are filled in): that language's SMS with the poll's prompt in that language, or,
// for a bilingual campaign, both languages' texts (each with its prompt), code's first.
func (c *Campaign) SMSTextIn(code string) string {
	if c.Bilingual && len(c.Languages) == 2 {
		pair := c.Pair(code)
		a, b := strings.TrimSpace(c.In(pair[0]).SMSBody), strings.TrimSpace(c.In(pair[1]).SMSBody)
		if c.Poll != nil { // each language asks for the answer in its own words
			a += " " + c.Poll.PromptIn(pair[0])
			b += " " + c.Poll.PromptIn(pair[1])
		}
		return a + "\n\n" + b
	}
	if code == "" {
		return c.SMSText()
	}
	return c.In(code).SMSText()
}

// CostliestSMSText is the text (as SMSTextIn) of the campaign's language whose text is
// longest — every text, for a campaign in one language or a bilingual one — so that an
// estimate of what the texts cost errs high, never low. ByLanguage reports whether the
// texts differ by language (the estimate is then "up to").
func (c *Campaign) CostliestSMSText() (text string, byLanguage bool) {
	if !c.Multilingual() || c.Bilingual {
		return c.SMSTextIn(c.DefaultLanguage()), false
	}
	for _, code := range c.Languages {
		if t := c.SMSTextIn(code); utf8.RuneCountInString(t) > utf8.RuneCountInString(text) || !isGSM(t) && isGSM(text) {
			text = t
		}
	}
	return text, true
}

// isGSM reports roughly whether s fits the GSM-7 alphabet (plain ASCII letters): a
// text outside it costs far more per character.
func isGSM(s string) bool {
	for _, r := range s {
		if r > 0x7e {
			return false
		}
	}
	return true
}

// validateLanguages adds the problems with c's languages and variants to bad.
func (c *Campaign) validateLanguages(bad func(field, format string, args ...any)) {
	seen := map[string]bool{}
	for _, code := range c.Languages {
		if _, ok := lang.Lookup(code); !ok || code != strings.ToLower(code) {
			bad("languages", "%q is not a language code crier knows: use codes such as cy, en, pl, ur", code)
		}
		if seen[code] {
			bad("languages", "%q is listed twice", code)
		}
		seen[code] = true
	}
	for code := range c.Variants {
		if !seen[code] {
			bad("languages", "there are texts in %q, which is not one of the campaign's languages %v: add it to languages or remove them", code, c.Languages)
		}
	}
	if c.Bilingual && len(c.Languages) != 2 {
		bad("bilingual", "a bilingual message carries two languages: give exactly two in languages (e.g. [cy, en]), not %d", len(c.Languages))
	}
	if len(c.Languages) < 2 {
		return
	}
	// Every language has a text for each channel the campaign uses, so that nobody gets
	// a channel in the default language just because their variant forgot it.
	own := c.own()
	for _, code := range c.Languages[1:] {
		v, ok := c.Variants[code]
		if !ok {
			bad("languages", "%q has no texts: write them, or remove %q from languages", code, code)
			continue
		}
		need := []struct{ field, have, want string }{
			{"subject", v.EmailSubject, own.EmailSubject}, {"body", v.EmailBody, own.EmailBody},
			{"sms", v.SMSBody, own.SMSBody}, {"leaflet_title", v.LeafletTitle, own.LeafletTitle},
			{"leaflet_body", v.LeafletBody, own.LeafletBody},
		}
		for _, n := range need {
			switch {
			case strings.TrimSpace(n.want) != "" && strings.TrimSpace(n.have) == "":
				bad(n.field+"."+code, "is missing: the %s text has one, so every language needs one", c.Languages[0])
			case strings.TrimSpace(n.want) == "" && strings.TrimSpace(n.have) != "":
				bad(n.field+"."+c.Languages[0], "is missing: the %s text has one, so every language needs one", code)
			}
		}
	}
}

// languageArgs are the languages, variants and bilingual columns' values for c.
func (c *Campaign) languageArgs() (pq.StringArray, []byte, bool, error) {
	v := c.Variants
	if v == nil {
		v = map[string]Content{}
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, nil, false, fmt.Errorf("campaign variants: %w", err)
	}
	return pq.StringArray(append([]string{}, c.Languages...)), j, c.Bilingual, nil
}

// LanguageName is how a language code is written for officers: "Welsh (cy)".
func LanguageName(code string) string {
	if l, ok := lang.Lookup(code); ok {
		return fmt.Sprintf("%s (%s)", l.Name, code)
	}
	return code
}

// LanguageCount is how many residents of a campaign's audience get it in one language.
type LanguageCount struct {
	Lang      string `db:"lang"`
	Residents int    `db:"residents"`
	// FellBack are those of them whose own language the campaign is not written in: they
	// get the default instead.
	FellBack int `db:"fell_back"`
}

// CountLanguages counts c's audience by the language each resident would get it in, as
// a run starting now would snapshot it (and rolls the snapshot back): residents with
// something to send, in the campaign's language order. Nil for a campaign in one language.
func (s *Store) CountLanguages(ctx context.Context, c *Campaign) ([]LanguageCount, error) {
	if !c.Multilingual() {
		return nil, nil
	}
	var out []LanguageCount
	err := s.DryRun(ctx, c, func(tx *sqlx.Tx, runID int64) error {
		return tx.SelectContext(ctx, &out, languageCountSQL, runID, pq.StringArray(c.Languages))
	})
	if err != nil {
		return nil, fmt.Errorf("campaign %d: count by language: %w", c.ID, err)
	}
	return out, nil
}

// RunLanguages counts the residents each language went to in campaign id's runs
// (messages sent, waiting or sending; not those suppressed).
func (s *Store) RunLanguages(ctx context.Context, c *Campaign) ([]LanguageCount, error) {
	if !c.Multilingual() {
		return nil, nil
	}
	var out []LanguageCount
	err := s.db.SelectContext(ctx, &out, `
		SELECT l.lang, count(DISTINCT o.contact_id) AS residents,
		       count(DISTINCT o.contact_id) FILTER (WHERE ct.preferred_language IS DISTINCT FROM o.lang) AS fell_back
		  FROM unnest($2::text[]) WITH ORDINALITY AS l(lang, n)
		  LEFT JOIN outbox o ON o.campaign_id = $1 AND o.lang = l.lang AND o.state <> 'suppressed'
		  LEFT JOIN contacts ct ON ct.id = o.contact_id
		 GROUP BY l.lang, l.n ORDER BY l.n`, c.ID, pq.StringArray(c.Languages))
	if err != nil {
		return nil, fmt.Errorf("campaign %d: count by language: %w", c.ID, err)
	}
	return out, nil
}

// languageCountSQL counts a dry run's residents by language: $1 the run, $2 the
// campaign's languages (their order is the result's).
const languageCountSQL = `
SELECT l.lang, count(DISTINCT o.contact_id) AS residents,
       count(DISTINCT o.contact_id) FILTER (WHERE ct.preferred_language IS DISTINCT FROM o.lang) AS fell_back
  FROM unnest($2::text[]) WITH ORDINALITY AS l(lang, n)
  LEFT JOIN outbox o ON o.run_id = $1 AND o.lang = l.lang AND o.state = 'pending'
  LEFT JOIN contacts ct ON ct.id = o.contact_id
 GROUP BY l.lang, l.n ORDER BY l.n`

// LanguageSummary writes counts as officers read them:
//
//	Welsh (cy): 1,204 residents (including 310 whose language it is not: they fall back to Welsh)
//	English (en): 2,950 residents
func LanguageSummary(counts []LanguageCount, bilingual bool) []string {
	var out []string
	for i, n := range counts {
		line := fmt.Sprintf("%s: %d residents", LanguageName(n.Lang), n.Residents)
		if bilingual {
			line = fmt.Sprintf("%s first: %d residents", LanguageName(n.Lang), n.Residents)
		}
		if i == 0 && n.FellBack > 0 {
			line += fmt.Sprintf(" (%d of them fall back to it: the campaign is not written in their language)", n.FellBack)
		}
		out = append(out, line)
	}
	return out
}
