package email

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func testBranding() Branding {
	return Branding{
		OrgName:       "Caerwen County Council",
		LogoURL:       "https://www.example.gov.uk/img/logo.png",
		PrimaryColour: "#005a30", // dark green, 8.6:1 with white
		FooterAddress: "Council Offices\nHigh Street\nCaerwen\nCW1 1AA",
		WebsiteURL:    "https://www.example.gov.uk",
	}
}

func testBulletin(t testing.TB) Bulletin {
	t.Helper()
	md, err := os.ReadFile(filepath.Join("testdata", "bulletin.md"))
	if err != nil {
		t.Fatal(err)
	}
	return Bulletin{
		CampaignName: "Bin day change",
		Subject:      "🗑️ {{first_name}}, your bin collection day is changing",
		Markdown:     string(md),
		Topic:        "Bins and recycling",
		Lang:         "en-GB",
	}
}

func testRecipient() Recipient {
	return Recipient{
		ContactID:  42,
		FirstName:  "Siân",
		LastName:   "Roberts",
		Ward:       "Llanfair & Bryn",
		Attributes: map[string]string{"postcode": "CW1 2AB"},
	}
}

func testLinks() Links {
	return Links{
		Unsubscribe:   "https://crier.example.gov.uk/u/tok-unsub?x=1&y=2",
		Preferences:   "https://crier.example.gov.uk/p/tok-prefs",
		ViewInBrowser: "https://crier.example.gov.uk/b/tok-view",
	}
}

func mustCompile(t testing.TB, b Bulletin, brand Branding) *Compiled {
	t.Helper()
	c, err := Compile(b, brand)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

func mustRender(t testing.TB, c *Compiled, r Recipient, l Links) Rendered {
	t.Helper()
	out, err := c.Render(r, l)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return out
}

// checkGolden compares got with testdata/name, rewriting it under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run go test -update and review the diff)\n%s", name, firstDiff(string(want), got))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant: %q\n got: %q", i+1, w, g)
		}
	}
	return ""
}

func TestRenderGolden(t *testing.T) {
	c := mustCompile(t, testBulletin(t), testBranding())
	out := mustRender(t, c, testRecipient(), testLinks())
	if want := "🗑️ Siân, your bin collection day is changing"; out.Subject != want {
		t.Errorf("Subject = %q, want %q", out.Subject, want)
	}
	checkGolden(t, "bulletin.golden.html", out.HTML)
	checkGolden(t, "bulletin.golden.txt", out.Text)

	// Rendering is deterministic: compiling again gives the same bytes.
	again := mustRender(t, mustCompile(t, testBulletin(t), testBranding()), testRecipient(), testLinks())
	if again != out {
		t.Error("a second Compile+Render gave different output")
	}
}

func TestRenderHTMLStructure(t *testing.T) {
	tests := []struct {
		name     string
		bulletin func(Bulletin) Bulletin
		brand    func(Branding) Branding
		want     []string // regular expressions that must match
		wantNot  []string
	}{
		{
			name: "full bulletin",
			want: []string{
				`<html lang="en-GB">`,
				`<title>🗑️ Siân, your bin collection day is changing</title>`,
				`<h1[^>]*>Your bin collection day is changing</h1>`,
				`<h2[^>]*>What you need to do</h2>`,
				`<img src="https://www.example.gov.uk/img/logo.png" alt="Caerwen County Council"`,
				`<img src="https://www.example.gov.uk/img/rounds.png" alt="Map of the new collection rounds"`,
				`<a href="https://crier.example.gov.uk/u/tok-unsub\?x=1&amp;y=2"[^>]*>Unsubscribe</a>`,
				`<a href="https://crier.example.gov.uk/p/tok-prefs"[^>]*>Manage your preferences</a>`,
				`<a href="https://crier.example.gov.uk/b/tok-view"[^>]*>View in your browser</a>`,
				`<table role="presentation"`,
				`max-width:600px`,
				`font-size:16px;line-height:1.5;color:#1b1b1b`,
				`background-color:#005a30`,
				`You are receiving this because you signed up to hear from Caerwen County Council about Bins and recycling\.`,
				`High Street<br>Caerwen<br>CW1 1AA`,
				`<strong>Monday 2 June</strong>`,
				`<li[^>]*>Put your bins out`,
				`href="https://www.example.gov.uk/bins\?ward=Llanfair%20%26%20Bryn"`,
				`in Llanfair &amp; Bryn on a`,
				`href="mailto:bins@example.gov.uk"`,
				`Literal braces look like \{\{this}}`,
			},
			wantNot: []string{`QxCrier`, `<script`},
		},
		{
			name: "subject becomes the h1 when the body has none; no logo",
			bulletin: func(b Bulletin) Bulletin {
				b.Markdown = "## Details\n\nHello {{first_name}}."
				b.Lang = ""
				return b
			},
			brand: func(br Branding) Branding {
				br.LogoURL = ""
				return br
			},
			want: []string{
				`<html lang="en">`,
				`<h1[^>]*>🗑️ Siân, your bin collection day is changing</h1>`,
				`font-weight:bold;color:#ffffff;"><a href="https://www.example.gov.uk"[^>]*>Caerwen County Council</a>`,
			},
			wantNot: []string{`<img`},
		},
		{
			name: "low-contrast brand colour falls back to the dark default",
			brand: func(br Branding) Branding {
				br.PrimaryColour = "#ffdd00"
				return br
			},
			want:    []string{`background-color:` + renderDefaultBrand, `color:` + renderDefaultBrand + `;text-decoration:underline`},
			wantNot: []string{`ffdd00`},
		},
		{
			name: "right-to-left language",
			bulletin: func(b Bulletin) Bulletin {
				b.Lang = "ur"
				return b
			},
			want: []string{`<html lang="ur" dir="rtl">`},
		},
		{
			name: "hostile branding is escaped by html/template",
			brand: func(br Branding) Branding {
				br.OrgName = `Council <script>x</script>`
				br.LogoURL = `javascript:alert(1)`
				return br
			},
			want:    []string{`alt="Council &lt;script&gt;x&lt;/script&gt;"`, `src="#ZgotmplZ"`},
			wantNot: []string{`<script`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, br := testBulletin(t), testBranding()
			if tc.bulletin != nil {
				b = tc.bulletin(b)
			}
			if tc.brand != nil {
				br = tc.brand(br)
			}
			out := mustRender(t, mustCompile(t, b, br), testRecipient(), testLinks())
			for _, re := range tc.want {
				if !regexp.MustCompile(re).MatchString(out.HTML) {
					t.Errorf("HTML does not match %s", re)
				}
			}
			for _, s := range tc.wantNot {
				if strings.Contains(out.HTML, s) {
					t.Errorf("HTML contains %q", s)
				}
			}
			checkHTMLShape(t, out.HTML)
		})
	}
}

// checkHTMLShape checks, without an HTML parser, that elements nest properly,
// there is exactly one title and at least one h1, and every img has alt text.
func checkHTMLShape(t *testing.T, doc string) {
	t.Helper()
	body := regexp.MustCompile(`(?s)<style>.*?</style>`).ReplaceAllString(doc, "")
	void := map[string]bool{"meta": true, "br": true, "img": true, "hr": true, "input": true, "link": true}
	var stack []string
	for _, m := range regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>`).FindAllStringSubmatch(body, -1) {
		name := strings.ToLower(m[2])
		switch {
		case void[name]:
		case m[1] == "":
			stack = append(stack, name)
		case len(stack) == 0 || stack[len(stack)-1] != name:
			t.Fatalf("</%s> closes %v", name, stack)
		default:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Errorf("unclosed elements: %v", stack)
	}
	if n := strings.Count(doc, "<title>"); n != 1 {
		t.Errorf("%d <title> elements, want 1", n)
	}
	if !regexp.MustCompile(`<title>[^<]+</title>`).MatchString(doc) {
		t.Error("title is empty")
	}
	if !strings.Contains(doc, "<h1") {
		t.Error("no h1")
	}
	for _, img := range regexp.MustCompile(`<img\b[^>]*>`).FindAllString(doc, -1) {
		if !regexp.MustCompile(`\balt="[^"]+"`).MatchString(img) {
			t.Errorf("image without alt text: %s", img)
		}
	}
	for _, tbl := range regexp.MustCompile(`<table\b[^>]*>`).FindAllString(doc, -1) {
		if !strings.Contains(tbl, `role="presentation"`) {
			t.Errorf("layout table without role=presentation: %s", tbl)
		}
	}
}

func TestRenderPersonalisation(t *testing.T) {
	const evil = `<script>alert(1)</script>`
	tests := []struct {
		name        string
		subject     string
		markdown    string
		r           Recipient
		wantSubject string
		wantHTML    []string
		wantText    []string
		wantNotHTML []string
	}{
		{
			name:        "default fallbacks",
			subject:     "Hello {{first_name}}",
			markdown:    "Dear {{first_name}}, {{full_name}} of {{ward}}.[{{last_name}}][{{attr.postcode}}]",
			r:           Recipient{},
			wantSubject: "Hello resident",
			wantHTML:    []string{"Dear resident, resident of your area.[][]"},
			wantText:    []string{"Dear resident, resident of your area.[][]"},
		},
		{
			name:        "explicit fallbacks",
			subject:     `Hello {{ first_name | "neighbour" }}`,
			markdown:    `{{ward | "Caerwen"}} {{attr.bin | “the blue bin”}} {{last_name | "Say \"hi\""}}`,
			r:           Recipient{FirstName: "   "},
			wantSubject: "Hello neighbour",
			wantHTML:    []string{"Caerwen the blue bin Say &#34;hi&#34;"},
			wantText:    []string{`Caerwen the blue bin Say "hi"`},
		},
		{
			name:        "values win over fallbacks",
			subject:     `{{FIRST_NAME | "x"}}`,
			markdown:    `{{full_name}} / {{attr.postcode | "none"}} / {{attr.Postcode}}`,
			r:           Recipient{FirstName: "Dafydd", LastName: "ap Gwilym", Attributes: map[string]string{"postcode": "CW1 2AB"}},
			wantSubject: "Dafydd",
			wantHTML:    []string{"Dafydd ap Gwilym / CW1 2AB / <"},
			wantText:    []string{"Dafydd ap Gwilym / CW1 2AB / \n"},
		},
		{
			name:        "full name from the last name alone",
			subject:     "{{full_name}}",
			markdown:    "x",
			r:           Recipient{LastName: "Jones"},
			wantSubject: "Jones",
		},
		{
			name:        "malicious first name is escaped in HTML and plain in text",
			subject:     "News for {{first_name}}",
			markdown:    "Dear **{{first_name}}**, see [your page](https://example.org/p?n={{first_name}}) ![{{first_name}}](https://example.org/i.png)",
			r:           Recipient{FirstName: evil},
			wantSubject: "News for " + evil,
			wantHTML: []string{
				"<title>News for &lt;script&gt;alert(1)&lt;/script&gt;</title>",
				"Dear <strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>",
				`href="https://example.org/p?n=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"`,
				`alt="&lt;script&gt;alert(1)&lt;/script&gt;"`,
			},
			wantText: []string{
				"News for " + evil + "\n====",
				"Dear *" + evil + "*",
				"(https://example.org/p?n=%3Cscript%3Ealert%281%29%3C%2Fscript%3E)",
			},
			wantNotHTML: []string{"<script"},
		},
		{
			name:        "quotes and ampersands in attributes",
			subject:     "x",
			markdown:    `![{{first_name}}](https://example.org/i.png)`,
			r:           Recipient{FirstName: `" onerror="alert(1)`},
			wantHTML:    []string{`alt="&#34; onerror=&#34;alert(1)"`},
			wantSubject: "x",
		},
		{
			name:        "a value cannot become a javascript URL",
			subject:     "x",
			markdown:    `[click]({{attr.url}})`,
			r:           Recipient{Attributes: map[string]string{"url": "javascript:alert(1)"}},
			wantSubject: "x",
			wantHTML:    []string{`href="javascript%3Aalert%281%29"`},
		},
		{
			name:        "control characters cannot break the subject",
			subject:     "Hi {{first_name}}",
			markdown:    "x",
			r:           Recipient{FirstName: "Ann\r\nBcc: victim@example.org"},
			wantSubject: "Hi Ann  Bcc: victim@example.org",
		},
		{
			name:        "markdown in a value stays literal",
			subject:     "x",
			markdown:    "Hello {{first_name}}",
			r:           Recipient{FirstName: "**Bo** [x](javascript:y)"},
			wantSubject: "x",
			wantHTML:    []string{"Hello **Bo** [x](javascript:y)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCompile(t, Bulletin{CampaignName: "Test", Subject: tc.subject, Markdown: tc.markdown}, testBranding())
			out := mustRender(t, c, tc.r, testLinks())
			if out.Subject != tc.wantSubject {
				t.Errorf("Subject = %q, want %q", out.Subject, tc.wantSubject)
			}
			for _, s := range tc.wantHTML {
				if !strings.Contains(out.HTML, s) {
					t.Errorf("HTML lacks %q", s)
				}
			}
			for _, s := range tc.wantText {
				if !strings.Contains(out.Text, s) {
					t.Errorf("Text lacks %q\n%s", s, out.Text)
				}
			}
			for _, s := range tc.wantNotHTML {
				if strings.Contains(out.HTML, s) {
					t.Errorf("HTML contains %q", s)
				}
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name     string
		subject  string
		markdown string
		lang     string
		wantIs   error
		wantLine int
		want     string // exact message of the first error
	}{
		{
			name:     "unknown field with suggestion",
			subject:  "Hello",
			markdown: "# Bins\n\nDear {{frist_name}},",
			wantIs:   ErrUnknownField,
			wantLine: 3,
			want:     `campaign "Bin day change": line 3: unknown merge field "frist_name" (did you mean first_name?)`,
		},
		{
			name:     "alias suggestion",
			subject:  "Hello",
			markdown: "Dear {{ surname }}",
			wantIs:   ErrUnknownField,
			wantLine: 1,
			want:     `campaign "Bin day change": line 1: unknown merge field "surname" (did you mean last_name?)`,
		},
		{
			name:     "unknown field without a near match",
			subject:  "Hello",
			markdown: "a\nb\n\nYour {{postcode}}",
			wantIs:   ErrUnknownField,
			wantLine: 4,
			want:     `campaign "Bin day change": line 4: unknown merge field "postcode" (known fields are first_name, last_name, full_name, ward and attr.KEY; for a contact attribute write attr.postcode)`,
		},
		{
			name:    "unknown field in the subject",
			subject: "Hi {{firstname}}",
			wantIs:  ErrUnknownField,
			want:    `campaign "Bin day change": subject: unknown merge field "firstname" (did you mean first_name?)`,
		},
		{
			name:     "unclosed braces",
			subject:  "Hello",
			markdown: "one\ntwo {{first_name\nthree }}",
			wantIs:   ErrMalformedField,
			wantLine: 2,
			want:     `campaign "Bin day change": line 2: malformed merge field: {{ is not closed with }} on the same line (write \{\{ for literal braces)`,
		},
		{
			name:     "empty field",
			subject:  "Hello",
			markdown: "one\n{{ }}",
			wantIs:   ErrMalformedField,
			wantLine: 2,
		},
		{
			name:     "unquoted fallback",
			subject:  "Hello",
			markdown: `{{first_name | neighbour}}`,
			wantIs:   ErrMalformedField,
			wantLine: 1,
			want:     `campaign "Bin day change": line 1: malformed merge field: {{first_name | neighbour}}: put the fallback in double quotes, like {{first_name | "neighbour"}}`,
		},
		{
			name:     "unterminated fallback",
			subject:  "Hello",
			markdown: "\n\n{{first_name | \"neighbour}}",
			wantIs:   ErrMalformedField,
			wantLine: 3,
		},
		{
			name:     "space in a name",
			subject:  "Hello",
			markdown: "{{first name}}",
			wantIs:   ErrMalformedField,
			wantLine: 1,
		},
		{
			name:     "attr without a key",
			subject:  "Hello",
			markdown: "x\n{{attr.}}",
			wantIs:   ErrMalformedField,
			wantLine: 2,
		},
		{
			name:     "image without alt text",
			subject:  "Hello",
			markdown: "# Title\n\nSome text\n\nMore text on line five\nand a picture ![](https://example.org/a.png) on line six",
			wantIs:   ErrMissingAlt,
			wantLine: 6,
			want:     `campaign "Bin day change": line 6: image needs alt text, for readers who can't see it`,
		},
		{
			name:     "image alone in a paragraph",
			subject:  "Hello",
			markdown: "a\n\nb\n\nc\n\n![  ](https://example.org/a.png)",
			wantIs:   ErrMissingAlt,
			wantLine: 7,
		},
		{
			name:    "empty subject",
			subject: "  ",
			wantIs:  ErrInvalidContent,
		},
		{
			name:    "multi-line subject",
			subject: "a\nb",
			wantIs:  ErrInvalidContent,
		},
		{
			name:    "bad language",
			subject: "x",
			lang:    "not a language",
			wantIs:  ErrInvalidContent,
		},
		{
			name:     "reserved placeholder text",
			subject:  "x",
			markdown: "QxCrierF0000xQ",
			wantIs:   ErrInvalidContent,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(Bulletin{CampaignName: "Bin day change", Subject: tc.subject, Markdown: tc.markdown, Lang: tc.lang}, testBranding())
			if err == nil {
				t.Fatal("Compile succeeded, want an error")
			}
			if !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			var ce *ContentError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ContentError", err)
			}
			if ce.Line != tc.wantLine {
				t.Errorf("Line = %d, want %d (%v)", ce.Line, tc.wantLine, err)
			}
			if ce.Campaign != "Bin day change" {
				t.Errorf("Campaign = %q", ce.Campaign)
			}
			if tc.want != "" && ce.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", ce.Error(), tc.want)
			}
		})
	}
}

func TestCompileReportsEveryProblem(t *testing.T) {
	_, err := Compile(Bulletin{CampaignName: "C", Subject: "{{nme}}", Markdown: "{{frist_name}}\n\n![](x.png)\n\n{{ward"}, testBranding())
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %v is not a joined error", err)
	}
	var lines []int
	for _, e := range joined.Unwrap() {
		var ce *ContentError
		if errors.As(e, &ce) {
			lines = append(lines, ce.Line)
		}
	}
	if fmt.Sprint(lines) != "[0 1 5 3]" {
		t.Errorf("lines = %v, want [0 1 5 3]; error:\n%v", lines, err)
	}
}

func TestLiteralBraces(t *testing.T) {
	c := mustCompile(t, Bulletin{CampaignName: "C", Subject: `\{\{not a field}} {{ward}}`, Markdown: "`\\{\\{code}}` and \\{\\{first_name}}"}, testBranding())
	out := mustRender(t, c, Recipient{}, testLinks())
	if out.Subject != "{{not a field}} your area" {
		t.Errorf("Subject = %q", out.Subject)
	}
	if !strings.Contains(out.HTML, "<code style=\"font-family:Consolas,Menlo,monospace;\">{{code}}</code> and {{first_name}}") {
		t.Errorf("HTML lacks literal braces:\n%s", out.HTML)
	}
	if !strings.Contains(out.Text, "{{code}} and {{first_name}}") {
		t.Errorf("Text lacks literal braces:\n%s", out.Text)
	}
	if got := fmt.Sprint(c.Fields()); got != "[ward]" {
		t.Errorf("Fields() = %s", got)
	}
}

func TestFields(t *testing.T) {
	c := mustCompile(t, Bulletin{CampaignName: "C", Subject: "{{first_name}} {{ward}}",
		Markdown: `{{first_name | "x"}} {{attr.postcode}} {{Ward}} {{full_name}}`}, testBranding())
	got := c.Fields()
	if fmt.Sprint(got) != "[attr.postcode first_name full_name ward]" {
		t.Errorf("Fields() = %v", got)
	}
	got[0] = "changed"
	if c.Fields()[0] != "attr.postcode" {
		t.Error("Fields() shares its slice with the Compiled")
	}
}

func TestRenderLinkErrors(t *testing.T) {
	c := mustCompile(t, Bulletin{CampaignName: "C", Subject: "x", Markdown: "y"}, testBranding())
	tests := []struct {
		name string
		l    Links
		ok   bool
	}{
		{"https", testLinks(), true},
		{"relative", Links{Unsubscribe: "/u/1", Preferences: "/p/1", ViewInBrowser: "#"}, true},
		{"mailto", Links{Unsubscribe: "mailto:u@example.org", Preferences: "/p", ViewInBrowser: "/b"}, true},
		{"empty", Links{Unsubscribe: "", Preferences: "/p", ViewInBrowser: "/b"}, false},
		{"javascript", Links{Unsubscribe: "/u", Preferences: "JavaScript:alert(1)", ViewInBrowser: "/b"}, false},
		{"control character", Links{Unsubscribe: "/u", Preferences: "/p", ViewInBrowser: "https://x\n"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Render(Recipient{}, tc.l)
			if (err == nil) != tc.ok {
				t.Errorf("Render error = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestBrandColour(t *testing.T) {
	tests := []struct{ in, want string }{
		{"#005a30", "#005a30"},
		{"005A30", "#005a30"},
		{"#000", "#000000"},
		{"#1d70b8", "#1d70b8"},          // 5.17:1
		{"#ffdd00", renderDefaultBrand}, // yellow: 1.4:1
		{"#2b8cc4", renderDefaultBrand}, // 3.6:1
		{"", renderDefaultBrand},
		{"red", renderDefaultBrand},
		{"#12345g", renderDefaultBrand},
		{"; background:url(x)", renderDefaultBrand},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := renderBrandColour(tc.in); got != tc.want {
				t.Errorf("renderBrandColour(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPlainTextLayout(t *testing.T) {
	c := mustCompile(t, testBulletin(t), testBranding())
	out := mustRender(t, c, testRecipient(), testLinks())
	for i, line := range strings.Split(out.Text, "\n") {
		if n := len([]rune(line)); n > 72 && !strings.Contains(line, "://") {
			t.Errorf("line %d is %d characters: %q", i+1, n, line)
		}
	}
	for _, want := range []string{
		"Your bin collection day is changing\n===================================",
		"What you need to do\n-------------------",
		"- Put your bins out by 7am on your new collection day.",
		"new collection calendar\n  (https://www.example.gov.uk/bins?ward=Llanfair%20%26%20Bryn)",
		"in Llanfair & Bryn on a",
		"Unsubscribe: " + testLinks().Unsubscribe,
		"View in your browser: " + testLinks().ViewInBrowser,
	} {
		if !strings.Contains(out.Text, want) {
			t.Errorf("Text lacks %q", want)
		}
	}
}

func TestRenderConcurrent(t *testing.T) {
	c := mustCompile(t, testBulletin(t), testBranding())
	names := []string{"Siân", "Ffion", "<b>Bob</b>", "", "Zoë & co"}
	want := make([]Rendered, len(names))
	for i, n := range names {
		want[i] = mustRender(t, c, Recipient{FirstName: n, Ward: "Ward " + n}, testLinks())
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g + i) % len(names)
				got, err := c.Render(Recipient{FirstName: names[k], Ward: "Ward " + names[k]}, testLinks())
				if err != nil || got != want[k] {
					errs <- fmt.Errorf("goroutine %d, render %d: output differs (err %v)", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkRender(b *testing.B) {
	c := mustCompile(b, testBulletin(b), testBranding())
	r, l := testRecipient(), testLinks()
	var bytesOut int
	b.ReportAllocs()
	for b.Loop() {
		out, err := c.Render(r, l)
		if err != nil {
			b.Fatal(err)
		}
		bytesOut = len(out.HTML) + len(out.Text)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.SetBytes(int64(bytesOut))
}

func BenchmarkCompile(b *testing.B) {
	bl, br := testBulletin(b), testBranding()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(bl, br); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzCompile checks that no officer text lets a recipient's value escape
// into markup, and that Compile never panics.
func FuzzCompile(f *testing.F) {
	f.Add("Hello {{first_name}}", "# Hi\n\nDear {{first_name | \"x\"}}, [a]({{attr.k}})")
	f.Add("{{", "{{ward")
	f.Add(`\{\{`, "![{{first_name}}](x.png) `{{last_name}}` <b>{{full_name}}</b>")
	f.Add("x", "| a | b |\n|---|---|\n| {{ward}} | <{{attr.x}}> |\n\nhttps://e.org/{{first_name}}")
	f.Fuzz(func(t *testing.T, subject, markdown string) {
		c, err := Compile(Bulletin{CampaignName: "F", Subject: subject, Markdown: markdown}, testBranding())
		if err != nil {
			return
		}
		const marker = `<zq"'>`
		r := Recipient{FirstName: marker, LastName: marker, Ward: marker, Attributes: map[string]string{"k": marker, "x": marker}}
		out, err := c.Render(r, testLinks())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.HTML, "<zq") {
			t.Errorf("recipient value reached the HTML unescaped:\n%s", out.HTML)
		}
		if bytes.ContainsAny([]byte(out.Subject), "\r\n") {
			t.Errorf("subject has a line break: %q", out.Subject)
		}
	})
}

// TestBulletinRightToLeft: an e-bulletin in Urdu is marked lang="ur" dir="rtl"; a
// bilingual one in English and Urdu marks each part with its own language and direction.
func TestBulletinRightToLeft(t *testing.T) {
	c, err := Compile(Bulletin{CampaignName: "Bins", Subject: "کوڑے کا دن", Markdown: "جنوری سے ہم منگل کو کوڑا اٹھائیں گے۔", Lang: "ur"}, Branding{OrgName: "Council"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Render(Recipient{}, Links{ViewInBrowser: "https://x.example/b", Unsubscribe: "https://x.example/u", Preferences: "https://x.example/p"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.HTML, `<html lang="ur" dir="rtl">`) {
		t.Errorf("Urdu e-bulletin: %.200s", out.HTML)
	}
	c, err = Compile(Bulletin{CampaignName: "Bins", Subject: "Bin day", Markdown: "From January, Tuesday.", Lang: "en",
		Second: &BulletinPart{Lang: "ur", Subject: "کوڑے کا دن", Markdown: "جنوری سے منگل"}}, Branding{OrgName: "Council"})
	if err != nil {
		t.Fatal(err)
	}
	out, err = c.Render(Recipient{}, Links{ViewInBrowser: "https://x.example/b", Unsubscribe: "https://x.example/u", Preferences: "https://x.example/p"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.HTML, `<html lang="en">`) || !strings.Contains(out.HTML, `<div lang="ur" dir="rtl">`) ||
		out.Subject != "Bin day / کوڑے کا دن" || !strings.Contains(out.Text, "جنوری سے منگل") {
		t.Errorf("English and Urdu e-bulletin: subject %q\n%s", out.Subject, out.HTML)
	}
}
