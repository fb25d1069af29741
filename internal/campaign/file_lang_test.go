package campaign_test

import (
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/reply"
)

const cyEn = `---
name: Bin day
purpose: service
channels: [email, sms, post]
languages: [cy, en]
subject:
  cy: "Mae eich diwrnod bin yn newid"
  en: "Your bin day is changing"
sms:
  cy: "Mae eich diwrnod bin yn newid i ddydd Mawrth."
  en: "Your bin day changes to Tuesday."
leaflet_title:
  cy: Diwrnod bin
  en: Bin day
---
::: {lang=cy}
# Mae eich diwrnod bin yn newid

Annwyl breswylydd,
:::

::: {lang="en"}
# Your bin day is changing

Dear resident,

` + "```" + `
:::
` + "```" + `
:::
`

// TestParseFileInLanguages reads a campaign file in Welsh and English: the default's
// texts are the campaign's own, the other's a variant, each language's leaflet prints
// its own Markdown, and each text's file line is known per language.
func TestParseFileInLanguages(t *testing.T) {
	d, err := campaign.ParseFile("bins.md", []byte(cyEn))
	if err != nil {
		t.Fatal(err)
	}
	c := &d.Campaign
	if strings.Join(c.Languages, ",") != "cy,en" || c.EmailSubject != "Mae eich diwrnod bin yn newid" ||
		!strings.HasPrefix(c.EmailBody, "# Mae eich") || c.LeafletBody != c.EmailBody || c.LeafletTitle != "Diwrnod bin" {
		t.Fatalf("default (Welsh) texts: %+v", c)
	}
	en := c.In("en")
	if en.EmailSubject != "Your bin day is changing" || en.SMSBody != "Your bin day changes to Tuesday." ||
		!strings.HasPrefix(en.LeafletBody, "# Your bin day") || !strings.Contains(en.EmailBody, "```\n:::\n```") {
		t.Fatalf("English variant: %+v", en)
	}
	if c.In("pl").EmailSubject != c.EmailSubject || c.LanguageFor("pl") != "cy" || c.LanguageFor("en") != "en" {
		t.Error("a language the campaign is not written in does not fall back to the default")
	}
	if l := d.LinesFor("en"); l.Body != 23 || l.Subject != 8 || l.SMS != 11 {
		t.Errorf("English lines %+v, want body 23, subject 8, sms 11", l)
	}
	if l := d.LinesFor("cy"); l.Body != 17 || l.Subject != 7 {
		t.Errorf("Welsh lines %+v, want body 17, subject 7", l)
	}
	if got := c.Texts(); len(got) != 8 || got[0].Part != "subject (cy)" || got[5].Part != "body (en)" {
		t.Errorf("texts %+v", got)
	}
}

// TestParseFileLanguageMistakes: each mistake an officer makes writing a file in two
// languages is refused, naming the file's line.
func TestParseFileLanguageMistakes(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"a text in one language only", "  en: \"Your bin day changes to Tuesday.\"\n", "", "sms.en: is missing"},
		{"a language not listed", "  en: Bin day\n", "  en: Bin day\n  pl: Dzień\n", `bins.md:15: leaflet_title: "pl" is not one of the campaign's languages`},
		{"one subject for two languages", "subject:\n  cy: \"Mae eich diwrnod bin yn newid\"\n  en: \"Your bin day is changing\"\n", "subject: One subject\n", "bins.md:6: subject: the campaign is in cy and en, so give it in each"},
		{"text outside a block", "\n::: {lang=\"en\"}", "\nStray words.\n::: {lang=\"en\"}", "bins.md:22: text outside a language block"},
		{"a block in a language not listed", "::: {lang=\"en\"}", "::: {lang=pl}", `bins.md:22: a block in "pl", which is not one of the campaign's languages [cy, en]`},
		{"a block never closed", "Annwyl breswylydd,\n:::\n", "Annwyl breswylydd,\n", `bins.md:21: a language block opens before the "cy" block (line 16) is closed`},
		{"a block without its language", "::: {lang=cy}", "::: {.note}", `bins.md:16: a block needs its language`},
		{"an unknown language", "languages: [cy, en]", "languages: [cy, en, xx]\n", `"xx" is not a language code crier knows`},
		{"bilingual with three", "languages: [cy, en]", "languages: [cy, en]\nbilingual: true\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(cyEn, tc.from, tc.to, 1)
			if src == cyEn {
				t.Fatalf("the fixture has no %q", tc.from)
			}
			_, err := campaign.ParseFile("bins.md", []byte(src))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestParseFileOneLanguageKeepsItsMeaning: a file without languages reads as before,
// even with ":::" in its text, and a block in a language it does not list is refused.
func TestParseFileOneLanguageKeepsItsMeaning(t *testing.T) {
	src := "---\nname: Plain\npurpose: service\nchannels: [email]\nsubject: Hello\n---\n# Hello\n\nTimes ::: 09:00\n"
	d, err := campaign.ParseFile("plain.md", []byte(src))
	if err != nil || d.Campaign.Multilingual() || !strings.Contains(d.Campaign.EmailBody, "Times ::: 09:00") || d.Lines.Body != 7 {
		t.Fatalf("plain file: %v %+v", err, d)
	}
	_, err = campaign.ParseFile("plain.md", []byte(strings.Replace(src, "# Hello", "::: {lang=cy}\n# Helo\n:::", 1)))
	if err == nil || !strings.Contains(err.Error(), "plain.md:7: a block in \"cy\", but the front matter lists no languages") {
		t.Fatalf("a Welsh block in a file without languages: %v", err)
	}
	d, err = campaign.ParseFile("cy.md", []byte(strings.Replace(src, "subject: Hello", "languages: [cy]\nsubject: Helo", 1)))
	if err != nil || d.Campaign.DefaultLanguage() != "cy" || d.Campaign.Multilingual() {
		t.Fatalf("a file in Welsh only: %v %+v", err, d)
	}
}

// TestPollPromptInEachLanguage: a poll's prompt is in the language of the text it ends;
// a bilingual text asks in both.
func TestPollPromptInEachLanguage(t *testing.T) {
	c := &campaign.Campaign{Languages: []string{"cy", "en"}, SMSBody: "Pa ddiwrnod?",
		Variants: map[string]campaign.Content{"en": {SMSBody: "Which day?"}},
		Poll:     &reply.Poll{Question: "Which day?", Options: []reply.PollOption{{Key: "1", Label: "Dydd Mawrth"}, {Key: "2", Label: "Dydd Mercher"}}}}
	if got := c.SMSTextIn("cy"); got != "Pa ddiwrnod? Atebwch 1 am Dydd Mawrth, 2 am Dydd Mercher." {
		t.Errorf("Welsh: %q", got)
	}
	if got := c.SMSTextIn("en"); got != "Which day? Reply 1 for Dydd Mawrth, 2 for Dydd Mercher." {
		t.Errorf("English: %q", got)
	}
	c.Bilingual = true
	if got := c.SMSTextIn("en"); got != "Which day? Reply 1 for Dydd Mawrth, 2 for Dydd Mercher.\n\nPa ddiwrnod? Atebwch 1 am Dydd Mawrth, 2 am Dydd Mercher." {
		t.Errorf("bilingual, English first: %q", got)
	}
}
