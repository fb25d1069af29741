package leaflet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
)

// The tests read the PDFs back with poppler-utils. Without them the tests
// skip, except under CI, where a missing reader is a failure.
func needPoppler(t testing.TB, tools ...string) {
	t.Helper()
	if len(tools) == 0 {
		tools = []string{"pdfinfo", "pdffonts", "pdftotext", "pdftoppm", "pdfimages"}
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s (poppler-utils) is required under CI: %v", tool, err)
			}
			t.Skipf("%s (poppler-utils) not installed: %v", tool, err)
		}
	}
}

func poppler(t testing.TB, name string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	// poppler reports damaged files on stderr but still exits 0.
	if s := stderr.String(); strings.Contains(s, "Error") || strings.Contains(s, "Syntax Warning") {
		t.Fatalf("%s %s reported problems:\n%s", name, strings.Join(args, " "), s)
	}
	return string(out)
}

func writePDF(t testing.TB, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.pdf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func render(t testing.TB, c Content, rs []Recipient, o Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, c, rs, o); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return buf.Bytes()
}

func pdfInfo(t testing.TB, path string) map[string]string {
	t.Helper()
	info := map[string]string{}
	for _, line := range strings.Split(poppler(t, "pdfinfo", path), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			info[k] = strings.TrimSpace(v)
		}
	}
	return info
}

func pageText(t testing.TB, path string, page int) string {
	t.Helper()
	p := strconv.Itoa(page)
	return poppler(t, "pdftotext", "-enc", "UTF-8", "-f", p, "-l", p, path, "-")
}

// word is a word pdftotext found, with its box in points from the top left.
type word struct {
	text                   string
	page                   int
	xMin, yMin, xMax, yMax float64
}

var (
	bboxPage = regexp.MustCompile(`<page width="`)
	bboxWord = regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)
)

func words(t testing.TB, path string) []word {
	t.Helper()
	out := poppler(t, "pdftotext", "-enc", "UTF-8", "-bbox", path, "-")
	var ws []word
	for i, page := range bboxPage.Split(out, -1)[1:] {
		for _, m := range bboxWord.FindAllStringSubmatch(page, -1) {
			f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
			ws = append(ws, word{html.UnescapeString(m[5]), i + 1, f(m[1]), f(m[2]), f(m[3]), f(m[4])})
		}
	}
	return ws
}

// checkXref checks the cross-reference table: every entry points at its object.
func checkXref(t testing.TB, pdf []byte) {
	t.Helper()
	sx := bytes.LastIndex(pdf, []byte("startxref\n"))
	if sx < 0 {
		t.Fatal("no startxref")
	}
	var off int
	if _, err := fmt.Sscanf(string(pdf[sx+len("startxref\n"):]), "%d", &off); err != nil {
		t.Fatalf("startxref: %v", err)
	}
	if !bytes.HasPrefix(pdf[off:], []byte("xref\n")) {
		t.Fatalf("startxref %d does not point at the xref table", off)
	}
	var first, count int
	rest := pdf[off+len("xref\n"):]
	if _, err := fmt.Sscanf(string(rest), "%d %d", &first, &count); err != nil {
		t.Fatalf("xref header: %v", err)
	}
	rest = rest[bytes.IndexByte(rest, '\n')+1:]
	for n := first; n < first+count; n++ {
		entry := string(rest[:20])
		rest = rest[20:]
		if n == 0 {
			continue
		}
		o, err := strconv.Atoi(entry[:10])
		if err != nil {
			t.Fatalf("xref entry %d: %q", n, entry)
		}
		if want := fmt.Sprintf("%d 0 obj", n); !bytes.HasPrefix(pdf[o:], []byte(want)) {
			t.Fatalf("xref entry %d points at %q, want %q", n, pdf[o:o+20], want)
		}
	}
}

const sampleURL = "https://crier.example/c/bins-2025"

func sampleContent() Content {
	return Content{
		CampaignName: "Bins spring 2025",
		Title:        "Bin collections are changing in Llŷr Street",
		Body: `# What is changing

From **Monday 3 March**, bins in Ŵyn Close and Llŷr Street are collected on Tuesdays.

## What to do

- Put your bin out by **7am**
- Keep the lid closed

1. Check your new day
2. Tell your neighbours

Zoë and Łukasz from the crew say thank you. Read more on [our website](https://crier.example/bins).`,
		Lang:         "cy",
		OrgName:      "Cyngor Sir Ynys Môn",
		Contact:      "Council Offices, Llangefni LL77 7TW\n01248 750057\nbins@ynysmon.example",
		CallToAction: "Text 1 or 2 to 07700 900999",
		QRURL:        sampleURL,
	}
}

func sampleRecipients() []Recipient {
	return []Recipient{
		{Name: "Ŵyn Jones", Lines: []string{"Flat 2", "12 Acre Lane", "London", "SW2 5SG"}},
		{Lines: []string{"14 Acre Lane", "", "London", "SW2 5SG"}},
		{Name: "Zoë Łukasz", Lines: []string{"The Old Rectory", "Church Lane", "Llanfair", "Gaerwen", "Anglesey", "LL60 6HE"}},
	}
}

// Expected text (pdftotext prints one address line per line).
func addressText(r Recipient) string {
	name := r.Name
	if name == "" {
		name = "To the resident"
	}
	lines := []string{name}
	for _, l := range r.Lines {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

func TestRenderFormats(t *testing.T) {
	needPoppler(t)
	cases := []struct {
		format       Format
		personalised bool
		pages        int     // for 3 leaflets
		w, h         float64 // points
	}{
		{A4, false, 3, 595.28, 841.89},
		{A4, true, 3, 595.28, 841.89},
		{A5, false, 2, 841.89, 595.28},
		{A5, true, 2, 841.89, 595.28},
		{Large, false, 3, 595.28, 841.89},
		{Large, true, 6, 595.28, 841.89}, // with the address band, large print runs to two pages
	}
	for _, tc := range cases {
		name := string(tc.format)
		if tc.personalised {
			name += "/personalised"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := sampleContent()
			opts := Options{Format: tc.format, Personalised: tc.personalised}
			var rs []Recipient
			if tc.personalised {
				rs = sampleRecipients()
			} else {
				opts.Copies = 3
			}
			var progress [][2]int
			opts.Progress = func(done, total int) { progress = append(progress, [2]int{done, total}) }
			pdf := render(t, c, rs, opts)
			checkXref(t, pdf)
			if len(progress) == 0 || progress[len(progress)-1] != [2]int{3, 3} {
				t.Errorf("progress calls %v, want the last to be (3, 3)", progress)
			}
			path := writePDF(t, pdf)

			info := pdfInfo(t, path)
			if got := info["Pages"]; got != strconv.Itoa(tc.pages) {
				t.Errorf("pages = %s, want %d", got, tc.pages)
			}
			if want := fmt.Sprintf("%.2f x %.2f pts", tc.w, tc.h); !strings.HasPrefix(info["Page size"], want) {
				t.Errorf("page size = %q, want %s", info["Page size"], want)
			}
			if info["Title"] != c.Title || info["Author"] != c.OrgName || info["Creator"] != "Crier" {
				t.Errorf("metadata: title %q, author %q, creator %q", info["Title"], info["Author"], info["Creator"])
			}
			if !bytes.Contains(pdf, []byte("/Lang (cy)")) || !bytes.HasPrefix(pdf, []byte("%PDF-1.4")) {
				t.Error("catalog has no /Lang (cy), or the header is not PDF 1.4")
			}

			checkFonts(t, path)

			text := poppler(t, "pdftotext", "-enc", "UTF-8", path, "-")
			flat := strings.Join(strings.Fields(text), " ") // lines may wrap anywhere
			for _, want := range []string{
				c.Title[:20], "Llŷr Street", "What is changing", "Monday 3 March", "Ŵyn Close",
				"What to do", "Put your bin out by 7am", "Keep the lid closed",
				"1. Check your new day", "2. Tell your neighbours", "Zoë and Łukasz",
				"our website (https://crier.example/bins)",
				c.CallToAction, sampleURL, c.OrgName,
				"Council Offices, Llangefni LL77 7TW 01248 750057 bins@ynysmon.example",
			} {
				if got := strings.Count(flat, want); got < 3 {
					t.Errorf("pdftotext: %q appears %d times, want once per leaflet (3)", want, got)
				}
			}
			if strings.Contains(text, "**") || strings.Contains(text, "](") {
				t.Error("Markdown syntax printed")
			}
			if tc.personalised {
				perSheet := map[Format]int{A4: 1, A5: 2, Large: 1}[tc.format]
				perLeaflet := tc.pages * perSheet / 3
				for i, r := range rs {
					page := i*perLeaflet/perSheet + 1
					// Large print joins middle lines of long addresses to keep 14 pt.
					text := strings.ReplaceAll(pageText(t, path, page), ", ", "\n")
					if want := addressText(r); !strings.Contains(text, want) {
						t.Errorf("page %d: address of recipient %d not found in order:\n%s\n--- page text:\n%s", page, i, want, pageText(t, path, page))
					}
				}
			}
		})
	}
}

// checkFonts checks that both DejaVu faces are embedded, once each, and no other font is used.
func checkFonts(t testing.TB, path string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(poppler(t, "pdffonts", path)), "\n")
	if len(lines) != 4 {
		t.Fatalf("pdffonts lists %d fonts, want 2 (regular and bold):\n%s", len(lines)-2, strings.Join(lines, "\n"))
	}
	seen := map[string]bool{}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		// name type... encoding emb sub uni object-ID gen
		if len(f) < 7 || f[len(f)-5] != "yes" {
			t.Errorf("font not embedded: %s", l)
		}
		seen[strings.ToLower(f[0])] = true
	}
	if !seen["utf8dejavusans"] || !seen["utf8dejavusansb"] {
		t.Errorf("want the DejaVuSans regular and bold faces, got %v", seen)
	}
}

func TestQRCodeDecodes(t *testing.T) {
	needPoppler(t, "pdftoppm", "pdftotext")
	for _, f := range []Format{A4, A5, Large} {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			pdf := render(t, sampleContent(), sampleRecipients()[:1], Options{Format: f, Personalised: true})
			path := writePDF(t, pdf)
			page := 1 // the page that prints the URL carries the code
			for ; page < 4 && !strings.Contains(pageText(t, path, page), sampleURL); page++ {
			}
			p := strconv.Itoa(page)
			img, err := png.Decode(strings.NewReader(poppler(t, "pdftoppm", "-png", "-r", "150", "-f", p, "-l", p, "-singlefile", path)))
			if err != nil {
				t.Fatal(err)
			}
			bmp, err := gozxing.NewBinaryBitmapFromImage(img)
			if err != nil {
				t.Fatal(err)
			}
			res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
			if err != nil {
				t.Fatalf("decode QR on page %d: %v", page, err)
			}
			if res.GetText() != sampleURL {
				t.Errorf("QR says %q, want %q", res.GetText(), sampleURL)
			}
		})
	}
}

// pdftotext boxes a word from the font's ascent to its descent, so a word's
// height is its type size times (ascent + descent) of DejaVu Sans.
func typeSize(t testing.TB, w word) float64 {
	fs, err := loadFontSet()
	if err != nil {
		t.Fatal(err)
	}
	return (w.yMax - w.yMin) / (fs.regular.ascent + fs.regular.descent)
}

func TestLargePrintSizes(t *testing.T) {
	needPoppler(t, "pdftotext")
	pdf := render(t, sampleContent(), sampleRecipients(), Options{Format: Large, Personalised: true})
	ws := words(t, writePDF(t, pdf))
	if len(ws) == 0 {
		t.Fatal("no words")
	}
	body := map[string]bool{"From": true, "Tuesdays.": true, "Keep": true, "neighbours": true, "crew": true}
	headings := map[string]bool{"changing": true, "What": true}
	for _, w := range ws {
		size := typeSize(t, w)
		if size < 14-0.05 {
			t.Errorf("%q is set in %.1f pt; large print has nothing under 14 pt", w.text, size)
		}
		if body[w.text] && size < 16-0.05 {
			t.Errorf("body word %q is %.1f pt, want at least 16", w.text, size)
		}
		if headings[w.text] && size < 24-0.05 {
			t.Errorf("heading word %q is %.1f pt, want at least 24", w.text, size)
		}
	}
}

// TestAddressWindow checks the address panel sits in the DL window and nothing
// else prints within its clear zone.
func TestAddressWindow(t *testing.T) {
	needPoppler(t, "pdftotext")
	long := Recipient{Name: "Professor Gwenllian Ap Rhys-Williams", Lines: []string{
		"Flat 12", "Bryn Heulog Mansions", "142 Ffordd Penrhos Uchaf", "Llanfairpwllgwyngyll", "Anglesey", "Wales", "LL61 5YH"}}
	for _, f := range []Format{A4, A5, Large} {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			g, _, _ := formatSpec(f)
			rs := append(sampleRecipients(), long)
			c := sampleContent()
			c.LogoPNG = testLogo(t)
			// A long name fills the masthead, which must still end above the window.
			c.OrgName = "Cyngor Bwrdeistref Sirol Rhondda Cynon Taf a Chyngor Tref Pontypridd: Gwasanaethau Gwastraff"
			pdf := render(t, c, rs, Options{Format: f, Personalised: true})
			ws := words(t, writePDF(t, pdf))
			const mm = 72 / 25.4
			win := g.window
			// A leaflet's first page is the one with the masthead.
			type half struct{ page, half int }
			halfOf := func(w word) (half, float64, float64) {
				x0, x1 := w.xMin/mm, w.xMax/mm
				if x0 >= g.pageW {
					return half{w.page, 1}, x0 - g.pageW, x1 - g.pageW
				}
				return half{w.page, 0}, x0, x1
			}
			first := map[half]bool{}
			for _, w := range ws {
				if h, _, _ := halfOf(w); w.text == "Cyngor" && w.yMax/mm < 30 {
					first[h] = true
				}
			}
			if len(first) != len(rs) {
				t.Fatalf("found %d first pages, want %d", len(first), len(rs))
			}
			for _, w := range ws {
				h, x0, x1 := halfOf(w)
				y0, y1 := w.yMin/mm, w.yMax/mm
				if !first[h] {
					continue
				}
				inWindow := x0 >= win.x-0.01 && x1 <= win.x+win.w+0.01 && y0 >= win.y-0.01 && y1 <= win.y+win.h+0.01
				inClear := y1 > win.y-g.clear && y0 < win.y+win.h+g.clear
				isAddress := false
				for _, r := range rs {
					if strings.Contains(addressText(r), strings.TrimSuffix(w.text, ",")) {
						isAddress = true
					}
				}
				if inClear && !(inWindow && isAddress) {
					t.Errorf("page %d: %q at x %.1f–%.1f, y %.1f–%.1f mm is in the address window's clear zone", w.page, w.text, x0, x1, y0, y1)
				}
			}
			// Every line of the long address is printed, joined or not.
			text := strings.Join(func() []string {
				var s []string
				for _, w := range ws {
					s = append(s, w.text)
				}
				return s
			}(), " ")
			for _, l := range append([]string{long.Name}, long.Lines...) {
				if !strings.Contains(text, l) && !strings.Contains(strings.ReplaceAll(text, ", ", " "), l) {
					t.Errorf("address line %q missing", l)
				}
			}
		})
	}
}

func TestA5SheetsAndCutMarks(t *testing.T) {
	needPoppler(t, "pdftoppm", "pdftotext", "pdfinfo")
	pdf := render(t, sampleContent(), sampleRecipients(), Options{Format: A5, Personalised: true})
	path := writePDF(t, pdf)
	// Text extraction reads the leaflets in walk order, left half before right.
	text, at := poppler(t, "pdftotext", "-enc", "UTF-8", path, "-"), 0
	for _, name := range []string{"Ŵyn Jones", "To the resident", "Zoë Łukasz"} {
		i := strings.Index(text[at:], name)
		if i < 0 {
			t.Fatalf("%q missing or out of walk order in:\n%s", name, text)
		}
		at += i
	}
	// Three leaflets: two on sheet 1, one on sheet 2 whose right half is blank.
	right := poppler(t, "pdftotext", "-f", "2", "-l", "2", "-x", "425", "-y", "0", "-W", "420", "-H", "596", path, "-")
	if strings.TrimSpace(right) != "" {
		t.Errorf("right half of the last sheet should be blank, has %q", right)
	}
	img, err := png.Decode(strings.NewReader(poppler(t, "pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", path)))
	if err != nil {
		t.Fatal(err)
	}
	px := func(mm float64) int { return int(mm / 25.4 * 150) }
	dark := func(xmm, y0, y1 float64) bool {
		for x := px(xmm) - 2; x <= px(xmm)+2; x++ {
			for y := px(y0); y <= px(y1); y++ {
				if c := color.GrayModel.Convert(img.At(x, y)).(color.Gray); c.Y < 128 {
					return true
				}
			}
		}
		return false
	}
	if !dark(148.5, 3.5, 8.5) || !dark(148.5, 201.5, 206.5) {
		t.Error("no cut marks at the midline in the top and bottom margins")
	}
	if dark(148.5, 12, 198) {
		t.Error("print crosses the cut line")
	}
}

func TestFlowOntoMorePages(t *testing.T) {
	needPoppler(t, "pdfinfo", "pdftotext")
	c := sampleContent()
	var b strings.Builder
	for i := range 40 {
		fmt.Fprintf(&b, "Paragraph %d. Residents of Llŷr Street can recycle glass, cans and plastic bottles in the blue box every week.\n\n", i+1)
	}
	c.Body = b.String()
	for _, f := range []Format{A4, A5, Large} {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			path := writePDF(t, render(t, c, sampleRecipients()[:2], Options{Format: f, Personalised: true}))
			text := poppler(t, "pdftotext", "-enc", "UTF-8", path, "-")
			m := regexp.MustCompile(`(?m)^1/(\d+)$`).FindStringSubmatch(text)
			if m == nil {
				t.Fatal("no page numbers on a leaflet longer than a page")
			}
			per, _ := strconv.Atoi(m[1])
			// Two leaflets of per pages each: A4 pages, or A5 halves two to a sheet.
			want := 2 * per
			if f == A5 {
				want = per
			}
			if got := pdfInfo(t, path)["Pages"]; got != strconv.Itoa(want) {
				t.Fatalf("pages = %s, want %d (2 leaflets of %d pages)", got, want, per)
			}
			for i := range 40 {
				if n := strings.Count(text, fmt.Sprintf("Paragraph %d. ", i+1)); n != 2 {
					t.Errorf("paragraph %d printed %d times, want 2", i+1, n)
				}
			}
			for k := 1; k <= per; k++ {
				if n := strings.Count(text, fmt.Sprintf("%d/%d\n", k, per)); n != 2 {
					t.Errorf("page number %d/%d printed %d times, want 2", k, per, n)
				}
			}
		})
	}
}

func TestFontsAndImagesEmbeddedOnce(t *testing.T) {
	needPoppler(t)
	c := sampleContent()
	c.LogoPNG = testLogo(t)
	one := render(t, c, nil, Options{Format: A5})
	many := render(t, c, nil, Options{Format: A5, Copies: 200})
	// The design is stored once; each further leaflet adds a reference to it.
	perLeaflet := float64(len(many)-len(one)) / 199
	t.Logf("1 leaflet: %d bytes; 200 leaflets: %d bytes (%.0f bytes per extra leaflet)", len(one), len(many), perLeaflet)
	if len(one) > 1<<20 || perLeaflet > 400 {
		t.Errorf("1 leaflet is %d bytes, each further one adds %.0f; want < 1 MB and < 400 bytes", len(one), perLeaflet)
	}
	path := writePDF(t, many)
	checkFonts(t, path)
	objects := map[string]bool{}
	for _, l := range strings.Split(poppler(t, "pdfimages", "-list", path), "\n")[2:] {
		if f := strings.Fields(l); len(f) > 11 {
			objects[f[10]] = true
		}
	}
	if len(objects) != 2 {
		t.Errorf("images are stored as objects %v; want two (QR code and logo), each once", objects)
	}
}

// testLogo is a 16-bit PNG with transparency, which gofpdf cannot read as is.
func testLogo(t testing.TB) []byte {
	img := image.NewNRGBA64(image.Rect(0, 0, 240, 80))
	for y := range 80 {
		for x := range 240 {
			img.SetNRGBA64(x, y, color.NRGBA64{R: 0x1d00, G: 0x4f00, B: 0x9100, A: uint16(0xFFFF * x / 240)})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundSheet(t *testing.T) {
	needPoppler(t, "pdfinfo", "pdftotext", "pdffonts")
	s := RoundSheet{
		Round:     "Ward 3 – round 12",
		Volunteer: "Llŷr Evans",
		Campaign:  "Bins spring 2025",
		Streets:   []string{"Acre Lane", "Ffordd Ŵyn"},
	}
	for i := range 70 {
		st := Stop{Address: fmt.Sprintf("%d Acre Lane, London SW2 5SG", i+1)}
		if i%5 == 0 {
			st.Notes = fmt.Sprintf("Note %d: side gate, dog", i+1)
		}
		if i%9 == 4 {
			st.DoNotDeliver = true
		}
		s.Stops = append(s.Stops, st)
	}
	var buf bytes.Buffer
	if err := RenderRoundSheet(&buf, s); err != nil {
		t.Fatal(err)
	}
	checkXref(t, buf.Bytes())
	path := writePDF(t, buf.Bytes())
	info := pdfInfo(t, path)
	n, _ := strconv.Atoi(info["Pages"])
	if n < 2 {
		t.Fatalf("70 stops on %d page(s); want them spread over several", n)
	}
	if !strings.HasPrefix(info["Page size"], "595.28 x 841.89") {
		t.Errorf("page size %q, want A4", info["Page size"])
	}
	checkFonts(t, path)
	all := ""
	for p := 1; p <= n; p++ {
		text := pageText(t, path, p)
		all += text
		for _, want := range []string{s.Round, "Volunteer: " + s.Volunteer, "Campaign: " + s.Campaign, fmt.Sprintf("Page %d of %d", p, n)} {
			if !strings.Contains(text, want) {
				t.Errorf("page %d header lacks %q", p, want)
			}
		}
	}
	if !strings.Contains(all, "Acre Lane, Ffordd Ŵyn") {
		t.Error("street list missing")
	}
	for i, st := range s.Stops {
		if !strings.Contains(all, st.Address) {
			t.Errorf("stop %d address missing", i+1)
		}
		if st.Notes != "" && !strings.Contains(all, st.Notes) {
			t.Errorf("stop %d notes missing", i+1)
		}
	}
	want := 0
	for _, st := range s.Stops {
		if st.DoNotDeliver {
			want++
		}
	}
	if got := strings.Count(all, "Do not deliver"); got != want {
		t.Errorf("%d stops marked Do not deliver, want %d", got, want)
	}
	// Each "Do not deliver" label sits on its stop's line.
	ws := words(t, path)
	for i, w := range ws {
		if w.text == "Do" && i+2 < len(ws) && ws[i+2].text == "deliver" {
			found := false
			for _, o := range ws {
				if o.page == w.page && o.text == "Acre" && o.yMin < w.yMax && o.yMax > w.yMin {
					found = true
				}
			}
			if !found {
				t.Errorf("page %d: a Do not deliver label has no address beside it", w.page)
			}
		}
	}
}

func TestRoundSheetEmptyVolunteer(t *testing.T) {
	needPoppler(t, "pdftotext")
	var buf bytes.Buffer
	if err := RenderRoundSheet(&buf, RoundSheet{Round: "R1"}); err != nil {
		t.Fatal(err)
	}
	text := poppler(t, "pdftotext", writePDF(t, buf.Bytes()), "-")
	for _, want := range []string{"R1", "Volunteer: ____", "0 stops", "Page 1 of 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if err := RenderRoundSheet(&buf, RoundSheet{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no round name: err = %v, want ErrInvalid", err)
	}
}

func TestPreview(t *testing.T) {
	needPoppler(t, "pdftoppm")
	pdf := render(t, sampleContent(), nil, Options{Format: A4})
	data, err := Preview(context.Background(), pdf)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("preview is not a PNG: %v", err)
	}
	// A4 at 60 dpi: 496 × 702.
	if b := img.Bounds(); b.Dx() < 490 || b.Dx() > 500 || b.Dy() < 697 || b.Dy() > 707 {
		t.Errorf("preview is %v, want about 496×702", b)
	}
	if _, err := Preview(context.Background(), []byte("not a pdf")); err == nil {
		t.Error("Preview of garbage succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Preview(ctx, pdf); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Preview: err = %v, want context.Canceled", err)
	}
}

func TestPreviewWithoutPoppler(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Preview(context.Background(), []byte("%PDF-1.4"))
	if !errors.Is(err, ErrNoPoppler) || !strings.Contains(err.Error(), "poppler-utils") {
		t.Errorf("err = %v, want ErrNoPoppler naming poppler-utils", err)
	}
}

func TestRenderRejects(t *testing.T) {
	base := sampleContent()
	cases := []struct {
		name  string
		edit  func(*Content)
		rs    []Recipient
		opts  Options
		is    error
		about string
	}{
		{"no title", func(c *Content) { c.Title = " " }, nil, Options{}, ErrInvalid, "Title"},
		{"emoji", func(c *Content) { c.Body += " 😀" }, nil, Options{}, ErrUnprintable, "U+1F600"},
		{"cjk title", func(c *Content) { c.Title = "垃圾" }, nil, Options{}, ErrUnprintable, "Title"},
		{"arabic", func(c *Content) { c.CallToAction = "اتصل بنا" }, nil, Options{}, ErrUnprintable, "CallToAction"},
		{"merge field", func(c *Content) { c.Body = "Dear {{first_name}}" }, nil, Options{}, ErrInvalid, "merge field"},
		{"relative QR", func(c *Content) { c.QRURL = "/bins" }, nil, Options{}, ErrInvalid, "QRURL"},
		{"long QR", func(c *Content) { c.QRURL = "https://crier.example/" + strings.Repeat("a", 300) }, nil, Options{}, ErrInvalid, "QRURL"},
		{"bad lang", func(c *Content) { c.Lang = "not a tag!" }, nil, Options{}, ErrInvalid, "Lang"},
		{"bad logo", func(c *Content) { c.LogoPNG = []byte("GIF89a") }, nil, Options{}, ErrInvalid, "LogoPNG"},
		{"bad format", nil, nil, Options{Format: "a3"}, ErrInvalid, "a3"},
		{"personalised without recipients", nil, nil, Options{Personalised: true}, ErrInvalid, "recipients"},
		{"copies and recipients disagree", nil, sampleRecipients(), Options{Copies: 2}, ErrInvalid, "differs from the number of recipients (3)"},
		{"copies personalised", nil, sampleRecipients(), Options{Personalised: true, Copies: 3}, ErrInvalid, "Copies"},
		{"negative copies", nil, nil, Options{Copies: -1}, ErrInvalid, "Copies"},
		{"no address", nil, []Recipient{{Name: "A", Lines: []string{" "}}}, Options{Personalised: true}, ErrInvalid, "recipient 1 (of 1) has no address"},
		{"long org", func(c *Content) { c.OrgName = strings.Repeat("Cyngor ", 20) }, nil, Options{}, ErrInvalid, "OrgName"},
		{"huge contact", func(c *Content) { c.Contact = strings.Repeat("line\n", 200) }, nil, Options{}, ErrInvalid, "too long to fit on one page"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			if tc.edit != nil {
				tc.edit(&c)
			}
			var buf bytes.Buffer
			err := Render(&buf, c, tc.rs, tc.opts)
			if !errors.Is(err, tc.is) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.about) {
				t.Errorf("err = %v; want %v about %q", err, tc.is, tc.about)
			}
			if buf.Len() != 0 {
				t.Error("wrote output despite the error")
			}
		})
	}
}

func TestRecipientDataIsCleaned(t *testing.T) {
	needPoppler(t, "pdftotext")
	// Emoji cannot print; "w" + combining circumflex is NFC "ŵ"; a soft hyphen
	// is invisible. č, Ĩ, Ĩ and Ŝ are UTF-16 0x010D, 0x0128, 0x0129 and 0x015C:
	// a CR, "(", ")" and "\" inside the PDF string, which must be escaped.
	rs := []Recipient{{Name: "Ann 😀 Smith\t", Lines: []string{"w\u0302 Street\n", "  ", "Černá č (Ĩĩ) Ŝ\\", "SW2\u00ad 5SG"}}}
	text := poppler(t, "pdftotext", "-enc", "UTF-8", writePDF(t, render(t, sampleContent(), rs, Options{Personalised: true})), "-")
	if want := "Ann ? Smith\nŵ Street\nČerná č (Ĩĩ) Ŝ\\\nSW2 5SG"; !strings.Contains(text, want) {
		t.Errorf("want %q in:\n%s", want, text)
	}
}

func TestAddressee(t *testing.T) {
	needPoppler(t, "pdftotext")
	c := sampleContent()
	c.Addressee = "I'r preswylydd"
	text := poppler(t, "pdftotext", "-enc", "UTF-8", writePDF(t, render(t, c, []Recipient{{Lines: []string{"1 Stryd Fawr"}}}, Options{Personalised: true})), "-")
	if !strings.Contains(text, "I'r preswylydd\n1 Stryd Fawr") {
		t.Errorf("addressee missing:\n%s", text)
	}
}

// TestWidthsMatchGofpdf checks the layout's own font metrics against the
// widths gofpdf writes into the PDF.
func TestWidthsMatchGofpdf(t *testing.T) {
	fs, err := loadFontSet()
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := newDoc(210, 297, docInfo{title: "x", lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Ŵyn Llŷr Zoë Łukasz", "Text 1 or 2 to 07700 900999 — “quoted” £5 €6", "ΑΒΓ абв ✓ •◦"} {
		for _, bold := range []bool{false, true} {
			style := ""
			if bold {
				style = "B"
			}
			pdf.SetFont(fontFamily, style, 11)
			if got, want := fs.width(s, bold, 11), pdf.GetStringWidth(s); got-want > 1e-9 || want-got > 1e-9 {
				t.Errorf("width(%q, bold=%v) = %v, gofpdf says %v", s, bold, got, want)
			}
		}
	}
	for _, r := range []rune{'ŵ', 'ŷ', 'Ł', 'ë', '€', '–', '•', '◦'} {
		if !fs.covers(r) {
			t.Errorf("font should cover %q", r)
		}
	}
	for _, r := range []rune{'😀', '垃', 0x10000} {
		if fs.covers(r) {
			t.Errorf("font should not cover %U", r)
		}
	}
}

func TestWriteWithCatalogRejectsOtherLayouts(t *testing.T) {
	var buf bytes.Buffer
	if err := writeWithCatalog(&buf, []byte("%PDF-1.3\nno catalog here\nstartxref\n5\n%%EOF\n"), "/Lang (en)\n"); !errors.Is(err, errPDFLayout) {
		t.Errorf("err = %v, want errPDFLayout", err)
	}
	pdf, err := newDoc(210, 297, docInfo{title: "x", lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	pdf.AddPage()
	buf.Reset()
	if err := writeDoc(&buf, pdf, "en-GB"); err != nil {
		t.Fatal(err)
	}
	checkXref(t, buf.Bytes())
	if !bytes.Contains(buf.Bytes(), []byte("/Type /Catalog\n/Lang (en-GB)\n/ViewerPreferences <</DisplayDocTitle true>>\n")) {
		t.Error("catalog entries missing")
	}
}

// BenchmarkRenderA5Personalised renders 10,000 personalised A5 leaflets with a
// QR code (5,000 A4 sheets) and reports the file size.
func BenchmarkRenderA5Personalised(b *testing.B) {
	c := sampleContent()
	c.LogoPNG = testLogo(b)
	rs := make([]Recipient, 10_000)
	for i := range rs {
		rs[i] = Recipient{
			Name:  fmt.Sprintf("Resident %d", i+1),
			Lines: []string{fmt.Sprintf("Flat %d", i%12+1), fmt.Sprintf("%d Acre Lane", i/12+1), "London", "SW2 5SG"},
		}
	}
	var size int
	for b.Loop() {
		var w countingWriter
		if err := Render(&w, c, rs, Options{Format: A5, Personalised: true}); err != nil {
			b.Fatal(err)
		}
		size = int(w)
	}
	b.ReportMetric(float64(size)/1e6, "MB/file")
}

type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// TestRenderConcurrent renders in parallel (run with -race) and checks the
// output does not depend on what else is rendering, and that progress is
// reported in about a hundred steps.
func TestRenderConcurrent(t *testing.T) {
	rs := make([]Recipient, 1000)
	for i := range rs {
		rs[i] = Recipient{Name: fmt.Sprintf("Resident %d", i), Lines: []string{"1 Acre Lane", "SW2 5SG"}}
	}
	sizes := make([]int, 4)
	calls := make([]int, 4)
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			var w countingWriter
			opts := Options{Format: []Format{A4, A5}[g%2], Personalised: true, Progress: func(int, int) { calls[g]++ }}
			if err := Render(&w, sampleContent(), rs, opts); err != nil {
				t.Error(err)
			}
			sizes[g] = int(w)
		}()
	}
	for range 4 {
		<-done
	}
	if sizes[0] != sizes[2] || sizes[1] != sizes[3] || sizes[0] == 0 {
		t.Errorf("sizes %v: the same input should give the same size", sizes)
	}
	for g, n := range calls {
		if n < 100 || n > 101 {
			t.Errorf("render %d: %d progress calls for 1000 leaflets, want 100", g, n)
		}
	}
}

// TestUnaddressed prints one leaflet per recipient without address panels
// (and, with no organisation named, without a masthead).
func TestUnaddressed(t *testing.T) {
	needPoppler(t, "pdfinfo", "pdftotext")
	c := sampleContent()
	c.OrgName = ""
	path := writePDF(t, render(t, c, sampleRecipients(), Options{Format: A4}))
	info := pdfInfo(t, path)
	if got := info["Pages"]; got != "3" {
		t.Errorf("pages = %s, want one per recipient (3)", got)
	}
	if _, ok := info["Author"]; ok {
		t.Errorf("author %q, want none", info["Author"])
	}
	if text := poppler(t, "pdftotext", "-enc", "UTF-8", path, "-"); strings.Contains(text, "Ŵyn Jones") || strings.Contains(text, "To the resident") {
		t.Error("unpersonalised leaflets carry an address panel")
	}
}
