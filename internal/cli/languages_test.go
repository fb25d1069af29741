package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// enUr is a campaign in English and Urdu, written by hand as an officer in a borough
// with many Urdu readers would.
const enUr = `---
name: Bin day (en/ur)
purpose: service
channels: [email, post]
languages: [en, ur]
subject:
  en: "{{first_name}}, your bin day is changing"
  ur: آپ کے کوڑے کا دن بدل رہا ہے
leaflet_title:
  en: Bin day
  ur: کوڑے کا دن
---
::: {lang=en}
Dear {{first_name}}, from January we collect on Tuesday.
:::

::: {lang=ur}
جنوری سے ہم منگل کو کوڑا اٹھائیں گے۔
:::
`

// TestCampaignLanguagesFromTheCommandLine: a campaign file in English and Urdu is
// refused while it has leaflets (the leaflet font has no Arabic script: never "?"), with
// the language named; without post it is created, with the count of residents per
// language and the plain-language check for English only; a mistake in the Urdu part's
// merge field names the file's own line and the language.
func TestCampaignLanguagesFromTheCommandLine(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	dir := t.TempDir()
	people := filepath.Join(dir, "people.csv")
	os.WriteFile(people, []byte("First name,Surname,Email,Preferred language,Email consent\n"+
		"Ada,Lovelace,ada@example.org,en,yes\n"+
		"عائشہ,خان,aisha@example.org,ur,yes\n"+
		"Piotr,Nowak,piotr@example.org,pl,yes\n"), 0o600)
	if r := crier(t, dsn, "contacts", "import", people); r.code != 0 {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	file := filepath.Join(dir, "bins.md")
	os.WriteFile(file, []byte(enUr), 0o600)
	r := crier(t, dsn, "campaign", "create", file)
	if r.code != cli.ExitData || !strings.Contains(r.stderr, "leaflets can't be printed in Urdu (ur) yet") {
		t.Fatalf("a leaflet in Urdu: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	os.WriteFile(file, []byte(strings.Replace(enUr, "[email, post]", "[email]", 1)), 0o600)
	r = crier(t, dsn, "campaign", "create", file)
	if r.code != 0 {
		t.Fatalf("create: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"languages: en, ur", "English (en): 2 residents (1 of them fall back to it", "Urdu (ur): 1 residents",
		"plain language: reading ease", "plain language: Urdu (ur) not checked: the check is for English only"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("create output lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := crier(t, dsn, "campaign", "show", "Bin day (en/ur)"); !strings.Contains(r.stdout, "languages: en, ur (each resident in their own language, else English (en))") ||
		!strings.Contains(r.stdout, "Urdu (ur): 1 residents") {
		t.Errorf("campaign show:\n%s%s", r.stdout, r.stderr)
	}
	os.WriteFile(file, []byte(strings.Replace(strings.Replace(enUr, "[email, post]", "[email]", 1),
		"جنوری سے", "{{frist_name}} جنوری سے", 1)), 0o600)
	r = crier(t, dsn, "campaign", "create", file)
	if r.code != cli.ExitData || !strings.Contains(r.stderr, "bins.md:18 (body, ur)") {
		t.Fatalf("a bad merge field in the Urdu text: %d\n%s", r.code, r.stderr)
	}
}
