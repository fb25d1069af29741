// Package lang names the languages Crier speaks to residents in: each by its ISO 639
// code (the primary tag of BCP 47, as contacts.preferred_language holds it), its own
// name (what a reader of it looks for in a list) and its direction of writing.
package lang

import (
	"fmt"
	"strings"
)

// Language is one language a resident can choose.
type Language struct {
	Code    string // "cy"
	Name    string // its name in English: "Welsh"
	Endonym string // its name in itself: "Cymraeg"
	RTL     bool   // written right to left (Urdu, Arabic)
}

// Dir is the HTML dir attribute's value for the language: "rtl" or "ltr".
func (l Language) Dir() string {
	if l.RTL {
		return "rtl"
	}
	return "ltr"
}

// known are the languages councils in Wales and England most often write to residents
// in besides English (the Welsh Language Standards; the census's main languages).
var known = []Language{
	{Code: "en", Name: "English", Endonym: "English"},
	{Code: "cy", Name: "Welsh", Endonym: "Cymraeg"},
	{Code: "pl", Name: "Polish", Endonym: "Polski"},
	{Code: "ro", Name: "Romanian", Endonym: "Română"},
	{Code: "pa", Name: "Punjabi", Endonym: "ਪੰਜਾਬੀ"},
	{Code: "ur", Name: "Urdu", Endonym: "اردو", RTL: true},
	{Code: "bn", Name: "Bengali", Endonym: "বাংলা"},
	{Code: "gu", Name: "Gujarati", Endonym: "ગુજરાતી"},
	{Code: "ar", Name: "Arabic", Endonym: "العربية", RTL: true},
	{Code: "pt", Name: "Portuguese", Endonym: "Português"},
	{Code: "es", Name: "Spanish", Endonym: "Español"},
	{Code: "lt", Name: "Lithuanian", Endonym: "Lietuvių"},
	{Code: "so", Name: "Somali", Endonym: "Soomaali"},
	{Code: "tr", Name: "Turkish", Endonym: "Türkçe"},
	{Code: "ta", Name: "Tamil", Endonym: "தமிழ்"},
	{Code: "zh", Name: "Chinese", Endonym: "中文"},
	{Code: "uk", Name: "Ukrainian", Endonym: "Українська"},
	{Code: "ru", Name: "Russian", Endonym: "Русский"},
	{Code: "fr", Name: "French", Endonym: "Français"},
	{Code: "ga", Name: "Irish", Endonym: "Gaeilge"},
	{Code: "gd", Name: "Scottish Gaelic", Endonym: "Gàidhlig"},
}

// Lookup returns the language with code ("cy", any case), if Crier knows it.
func Lookup(code string) (Language, bool) {
	code = strings.ToLower(strings.TrimSpace(code))
	for _, l := range known {
		if l.Code == code {
			return l, true
		}
	}
	return Language{}, false
}

// ParseList reads a comma-separated list of codes ("cy, en"), as CRIER_LANGUAGES gives
// it: each known, none twice, in the order given.
func ParseList(s string) ([]Language, error) {
	var out []Language
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		l, ok := Lookup(f)
		if !ok {
			return nil, fmt.Errorf("%q is not a language crier knows: use codes such as en, cy, pl, ur", f)
		}
		if seen[l.Code] {
			return nil, fmt.Errorf("%q is listed twice", f)
		}
		seen[l.Code] = true
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no languages: give at least one code, such as en")
	}
	return out, nil
}
