package sms

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMeasureText(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name string
		body string
		want Measure
	}{
		{
			name: "empty",
			body: "",
			want: Measure{Encoding: GSM7, PerSegment: 160, Remaining: 160},
		},
		{
			name: "plain opt-out text",
			body: "Reply STOP to opt out",
			want: Measure{Encoding: GSM7, Characters: 21, Units: 21, Segments: 1, PerSegment: 160, Remaining: 139},
		},
		{
			name: "exactly 160 GSM characters",
			body: strings.Repeat("0123456789", 16),
			want: Measure{Encoding: GSM7, Characters: 160, Units: 160, Segments: 1, PerSegment: 160},
		},
		{
			name: "161 GSM characters",
			body: a(161),
			want: Measure{Encoding: GSM7, Characters: 161, Units: 161, Segments: 2, PerSegment: 153, Remaining: 145},
		},
		{
			name: "306 GSM characters",
			body: a(306),
			want: Measure{Encoding: GSM7, Characters: 306, Units: 306, Segments: 2, PerSegment: 153},
		},
		{
			name: "307 GSM characters",
			body: a(307),
			want: Measure{Encoding: GSM7, Characters: 307, Units: 307, Segments: 3, PerSegment: 153, Remaining: 152},
		},
		{
			name: "basic set accents and symbols are one septet",
			body: "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\r\n",
			want: Measure{Encoding: GSM7, Characters: 44, Units: 44, Segments: 1, PerSegment: 160, Remaining: 116},
		},
		{
			name: "extension table costs two septets each",
			body: "^{}\\[~]|€\f",
			want: Measure{Encoding: GSM7, Characters: 10, Units: 20, Segments: 1, PerSegment: 160, Remaining: 140},
		},
		{
			name: "euro filling a single segment exactly",
			body: a(158) + "€",
			want: Measure{Encoding: GSM7, Characters: 159, Units: 160, Segments: 1, PerSegment: 160},
		},
		{
			name: "euro pushing past a single segment",
			body: a(159) + "€",
			want: Measure{Encoding: GSM7, Characters: 160, Units: 161, Segments: 2, PerSegment: 153, Remaining: 145},
		},
		{
			name: "euro ending exactly at a segment boundary",
			body: a(151) + "€" + a(153),
			want: Measure{Encoding: GSM7, Characters: 305, Units: 306, Segments: 2, PerSegment: 153},
		},
		{
			// Naively ceil(306/153) = 2, but the escape pair cannot straddle
			// septets 153/154, so the first segment carries only 152.
			name: "euro straddling a segment boundary moves to next segment",
			body: a(152) + "€" + a(152),
			want: Measure{Encoding: GSM7, Characters: 305, Units: 306, Segments: 3, PerSegment: 153, Remaining: 152},
		},
		{
			name: "exactly 70 UCS-2 units",
			body: "’" + a(69),
			want: Measure{Encoding: UCS2, Characters: 70, Units: 70, Segments: 1, PerSegment: 70, NonGSM: []string{"’"}},
		},
		{
			name: "71 UCS-2 units",
			body: "’" + a(70),
			want: Measure{Encoding: UCS2, Characters: 71, Units: 71, Segments: 2, PerSegment: 67, Remaining: 63, NonGSM: []string{"’"}},
		},
		{
			name: "emoji is two UTF-16 units",
			body: "Hi 😀",
			want: Measure{Encoding: UCS2, Characters: 4, Units: 5, Segments: 1, PerSegment: 70, Remaining: 65, NonGSM: []string{"😀"}},
		},
		{
			// Naively ceil(134/67) = 2, but the surrogate pair cannot
			// straddle units 67/68.
			name: "emoji straddling a segment boundary moves to next segment",
			body: a(66) + "😀" + a(66),
			want: Measure{Encoding: UCS2, Characters: 133, Units: 134, Segments: 3, PerSegment: 67, Remaining: 66, NonGSM: []string{"😀"}},
		},
		{
			name: "Welsh sentence with em dash and circumflex",
			body: "Mae'r bin yn newid ddydd Mawrth — diolch, Siân",
			want: Measure{Encoding: UCS2, Characters: 46, Units: 46, Segments: 1, PerSegment: 70, Remaining: 24, NonGSM: []string{"—", "â"}},
		},
		{
			name: "curly apostrophe forces UCS-2",
			body: "Don’t forget your bins",
			want: Measure{Encoding: UCS2, Characters: 22, Units: 22, Segments: 1, PerSegment: 70, Remaining: 48, NonGSM: []string{"’"}},
		},
		{
			name: "non-GSM characters de-duplicated in order of appearance",
			body: "“Bore da” – ŵyn… ŷ “",
			want: Measure{Encoding: UCS2, Characters: 20, Units: 20, Segments: 1, PerSegment: 70, Remaining: 50,
				NonGSM: []string{"“", "”", "–", "ŵ", "…", "ŷ"}},
		},
		{
			name: "invalid UTF-8 is treated as replacement character",
			body: "ok\xff",
			want: Measure{Encoding: UCS2, Characters: 3, Units: 3, Segments: 1, PerSegment: 70, Remaining: 67, NonGSM: []string{"\uFFFD"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MeasureText(tt.body)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MeasureText(%q)\n got %+v\nwant %+v", tt.body, got, tt.want)
			}
		})
	}
}

func TestMeasureTextAccentedLetters(t *testing.T) {
	tests := []struct {
		letter string
		want   Encoding
	}{
		{"à", GSM7}, {"ä", GSM7}, {"é", GSM7}, {"è", GSM7}, {"ì", GSM7},
		{"ò", GSM7}, {"ù", GSM7}, {"ö", GSM7}, {"ü", GSM7}, {"ñ", GSM7},
		{"Ç", GSM7}, {"É", GSM7}, {"Ä", GSM7},
		{"â", UCS2}, {"ê", UCS2}, {"î", UCS2}, {"ô", UCS2}, {"û", UCS2},
		{"ŵ", UCS2}, {"ŷ", UCS2}, {"Ŵ", UCS2}, {"Ŷ", UCS2}, {"Â", UCS2},
		{"á", UCS2}, {"í", UCS2}, {"ó", UCS2}, {"ú", UCS2}, {"ë", UCS2},
		{"ï", UCS2}, {"ç", UCS2}, {"È", UCS2},
	}
	for _, tt := range tests {
		t.Run(tt.letter, func(t *testing.T) {
			if got := MeasureText("Siop " + tt.letter).Encoding; got != tt.want {
				t.Errorf("encoding of %q = %s, want %s", tt.letter, got, tt.want)
			}
		})
	}
}

func TestCost(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		recipients int
		price      float64
		want       float64
	}{
		{"single segment", "Reply STOP to opt out", 1000, 3.5, 3500},
		{"two segments", strings.Repeat("a", 161), 1000, 3.5, 7000},
		{"UCS-2 two segments", "’" + strings.Repeat("a", 70), 10, 4, 80},
		{"no recipients", "hello", 0, 3.5, 0},
		{"negative recipients", "hello", -5, 3.5, 0},
		{"empty body", "", 100, 3.5, 0},
		{"free", "hello", 100, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Cost(MeasureText(tt.body), tt.recipients, tt.price); got != tt.want {
				t.Errorf("Cost = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		count   int
		contain []string
		exclude []string
	}{
		{name: "plain GSM", body: "Reply STOP to opt out", count: 0},
		{name: "empty", body: "", count: 0},
		{
			name:  "three GSM segments is fine",
			body:  strings.Repeat("a", 459),
			count: 0,
		},
		{
			name:    "four GSM segments",
			body:    strings.Repeat("a", 460),
			count:   1,
			contain: []string{"4 segments", "460 GSM-7 characters", "charged for 4 texts", "3 segments or fewer"},
			exclude: []string{"Unicode"},
		},
		{
			name:    "curly apostrophe",
			body:    "Don’t forget",
			count:   1,
			contain: []string{"UCS-2", `"’" (U+2019)`, `with "'"`, "straight quotes", "70 characters per segment instead of 160", "a character not"},
			exclude: []string{"Welsh", "Remove"},
		},
		{
			name:    "Welsh sentence",
			body:    "Mae'r bin yn newid ddydd Mawrth — diolch, Siân",
			count:   1,
			contain: []string{`"—" (U+2014)`, `"â" (U+00E2)`, "characters not", `with "-"`, "The letter \"â\" (U+00E2) is only", "Welsh"},
		},
		{
			name:    "emoji",
			body:    "Bins today 😀",
			count:   1,
			contain: []string{`"😀" (U+1F600)`, "Remove"},
			exclude: []string{"Replace"},
		},
		{
			name:    "invisible no-break space shown by code point",
			body:    "Bins\u00a0today",
			count:   1,
			contain: []string{"U+00A0", `with " "`},
		},
		{
			name:    "long UCS-2 gets both warnings",
			body:    strings.Repeat("ŵ", 202),
			count:   2,
			contain: []string{"4 segments", "202 UCS-2 units", "The letter \"ŵ\" (U+0175) is only"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Warnings(MeasureText(tt.body))
			if len(got) != tt.count {
				t.Fatalf("got %d warnings, want %d: %q", len(got), tt.count, got)
			}
			all := strings.Join(got, "\n")
			for _, s := range tt.contain {
				if !strings.Contains(all, s) {
					t.Errorf("warnings missing %q:\n%s", s, all)
				}
			}
			for _, s := range tt.exclude {
				if strings.Contains(all, s) {
					t.Errorf("warnings unexpectedly contain %q:\n%s", s, all)
				}
			}
		})
	}
}

func FuzzMeasureText(f *testing.F) {
	for _, s := range []string{
		"",
		"Reply STOP to opt out",
		"Mae'r bin yn newid ddydd Mawrth — diolch, Siân",
		strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152),
		strings.Repeat("a", 66) + "😀" + strings.Repeat("a", 66),
		"ok\xff\xfe",
		strings.Repeat("{", 200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m := MeasureText(body)
		_ = Warnings(m)
		_ = Cost(m, 10, 1)

		if got := utf8.RuneCountInString(body); m.Characters != got {
			t.Errorf("Characters = %d, want %d", m.Characters, got)
		}
		if body != "" && m.Segments < 1 {
			t.Errorf("Segments = %d for non-empty body", m.Segments)
		}
		if body == "" && (m.Segments != 0 || m.Units != 0) {
			t.Errorf("empty body measured as %+v", m)
		}
		if m.Encoding == GSM7 {
			if m.Units < m.Characters {
				t.Errorf("GSM-7 Units %d < Characters %d", m.Units, m.Characters)
			}
			if len(m.NonGSM) != 0 {
				t.Errorf("GSM-7 body has NonGSM %q", m.NonGSM)
			}
		} else if len(m.NonGSM) == 0 {
			t.Errorf("UCS-2 body with no NonGSM characters")
		}
		if m.Segments*m.PerSegment < m.Units {
			t.Errorf("Segments %d × PerSegment %d < Units %d", m.Segments, m.PerSegment, m.Units)
		}
		if m.Remaining < 0 || m.Remaining > m.PerSegment {
			t.Errorf("Remaining %d out of range for PerSegment %d", m.Remaining, m.PerSegment)
		}
		if m.Segments > 0 && m.Remaining == m.PerSegment {
			t.Errorf("last segment is empty: %+v", m)
		}
	})
}
