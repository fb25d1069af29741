package printrun_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/printrun"
)

// TestLeafletsInEachLanguage prints a campaign in Welsh and English: each door's
// leaflet is in its residents' language (Polish readers get the default, Welsh), in its
// own PDF per language with that language in the PDF's /Lang, and the round sheet
// tells the volunteer which leaflet each door gets. Then in bilingual mode: one
// leaflet carrying both, the door's own language on the front, the other on the back.
func TestLeafletsInEachLanguage(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	// Dai and Efa read Welsh, Ivy Polish, the rest English.
	if _, err := r.db.Exec(`UPDATE contacts SET preferred_language = CASE first_name WHEN 'Dai' THEN 'cy' WHEN 'Efa' THEN 'cy' WHEN 'Ivy' THEN 'pl' ELSE 'en' END`); err != nil {
		t.Fatal(err)
	}
	for _, bilingual := range []bool{false, true} {
		c := &campaign.Campaign{Name: "Bin day", Purpose: "service", Strategy: "best", ChannelOrder: []string{"post"},
			Languages: []string{"cy", "en"}, Bilingual: bilingual,
			LeafletTitle: "Mae eich diwrnod bin yn newid", LeafletBody: "O fis Ionawr byddwn ni'n casglu ar **ddydd Mawrth**.",
			Variants: map[string]campaign.Content{"en": {LeafletTitle: "Your bin day is changing", LeafletBody: "From January we collect on a **Tuesday**."}}}
		if bilingual {
			c.Name = "Bin day (bilingual)"
		}
		if err := r.cs.Create(ctx, c, "general", "officer"); err != nil {
			t.Fatal(err)
		}
		if err := printrun.CheckContent(c, leaflet.Content{OrgName: "Millbrook Council"}); err != nil {
			t.Fatal(err)
		}
		if err := r.cs.Schedule(ctx, c.ID, time.Time{}, "officer", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := r.cs.StartDue(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		res, err := printrun.NewStore(r.db).Print(ctx, printrun.Request{CampaignID: c.ID, Format: leaflet.A4, RoundSize: 50,
			OutDir: r.out, Actor: "officer", Content: leaflet.Content{OrgName: "Millbrook Council",
				CallToAction: "Read it online and tell us what you think: https://crier.example/c/1"}})
		if err != nil {
			t.Fatal(err)
		}
		// Rounds per sector and street: each language's leaflets and the sheets, all rounds.
		var cyFiles, enFiles []string
		var cyText, enText, sheets string
		for _, f := range res.Files {
			b := filepath.Base(f)
			switch {
			case strings.HasSuffix(b, "-leaflets-cy.pdf"):
				cyFiles, cyText = append(cyFiles, f), cyText+pdftotext(t, f)
			case strings.HasSuffix(b, "-leaflets-en.pdf"):
				enFiles, enText = append(enFiles, f), enText+pdftotext(t, f)
			case strings.HasSuffix(b, "-round-sheet.pdf"):
				sheets += pdftotext(t, f)
			}
		}
		if len(cyFiles) == 0 || len(enFiles) == 0 || sheets == "" {
			t.Fatalf("bilingual %v: files %v", bilingual, res.Files)
		}
		for _, who := range []string{"Dai Llŷr", "Efa Ŵyn", "Ivy Islam"} {
			if !strings.Contains(cyText, who) || strings.Contains(enText, who) {
				t.Errorf("bilingual %v: %s's leaflet is not (only) in the Welsh files", bilingual, who)
			}
		}
		if !strings.Contains(enText, "Ada Lovelace") || strings.Contains(cyText, "Ada Lovelace") {
			t.Errorf("bilingual %v: Ada's leaflet is not (only) in the English files", bilingual)
		}
		welsh, english := strings.Index(cyText, "O fis Ionawr"), strings.Index(cyText, "From January")
		switch {
		case !bilingual && (welsh < 0 || english >= 0 || strings.Contains(enText, "O fis Ionawr")):
			t.Errorf("Welsh leaflet:\n%s\nEnglish leaflet:\n%s", cyText, enText)
		case bilingual && (welsh < 0 || english < welsh || strings.Index(enText, "From January") > strings.Index(enText, "O fis Ionawr")):
			t.Errorf("bilingual: Welsh readers' leaflet:\n%s\nEnglish readers':\n%s", cyText, enText)
		}
		if bilingual {
			// Front and back: each leaflet is two A4 pages, the door's own language with
			// the address panel on the front, the other language on the back.
			f := cyFiles[0]
			front, back := pdfPage(t, f, 1), pdfPage(t, f, 2)
			if !strings.Contains(front, "O fis Ionawr") || strings.Contains(front, "From January") || !strings.Contains(front, "Acre Lane") ||
				!strings.Contains(front, "Darllenwch hwn ar-lein") || strings.Contains(front, "Read it online") {
				t.Errorf("the front of a Welsh reader's bilingual leaflet:\n%s", front)
			}
			if !strings.Contains(back, "From January") || strings.Contains(back, "O fis Ionawr") || strings.Contains(back, "Acre Lane") ||
				!strings.Contains(back, "Read it online") {
				t.Errorf("the back of a Welsh reader's bilingual leaflet:\n%s", back)
			}
			if front, back := pdfPage(t, enFiles[0], 1), pdfPage(t, enFiles[0], 2); !strings.Contains(front, "From January") || !strings.Contains(back, "O fis Ionawr") {
				t.Errorf("an English reader's bilingual leaflet:\nfront:\n%s\nback:\n%s", front, back)
			}
		}
		for lang, files := range map[string][]string{"/Lang (cy)": cyFiles, "/Lang (en)": enFiles} {
			for _, f := range files {
				if b, _ := os.ReadFile(f); !strings.Contains(string(b), lang) {
					t.Errorf("%s has no %s", filepath.Base(f), lang)
				}
			}
		}
		if !strings.Contains(sheets, "Welsh (cy) leaflet") || !strings.Contains(sheets, "English (en) leaflet") {
			t.Errorf("the round sheets do not say which leaflet each door gets:\n%s", sheets)
		}
	}
}
