// Package docs holds Crier's documentation; its test keeps the documentation true to the
// code: every CRIER_* variable the code reads is in configuration.md, every relative link
// (and #anchor) in README.md and docs/*.md resolves, and the README stays short.
package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// readmeLimit is the most README.md may weigh: a newcomer's page, the reference is here.
const readmeLimit = 8 * 1024

var envName = regexp.MustCompile(`CRIER_[A-Z0-9]+(?:_[A-Z0-9]+)*`)

// codeEnvVars returns every CRIER_* name in a string literal of the non-test Go files
// under dirs, with the first file that has it.
func codeEnvVars(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	found := map[string]string{}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					for _, name := range envName.FindAllString(lit.Value, -1) {
						if _, seen := found[name]; !seen {
							found[name] = fset.Position(lit.Pos()).String()
						}
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return found
}

// tableVars returns the variables named in the first cell of the table rows of md.
func tableVars(md string) map[string]bool {
	row := regexp.MustCompile("(?m)^\\|\\s*`([A-Z][A-Z0-9_]*)`\\s*\\|")
	vars := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(md, -1) {
		vars[m[1]] = true
	}
	return vars
}

func TestEveryEnvVarIsInConfiguration(t *testing.T) {
	code := codeEnvVars(t, "../internal", "../cmd")
	if len(code) < 30 {
		t.Fatalf("found only %d CRIER_* names in the code: is the scan broken?", len(code))
	}
	doc, err := os.ReadFile("configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := tableVars(string(doc))
	var missing []string
	for name, where := range code {
		if !documented[name] {
			missing = append(missing, name+" (read at "+where+")")
		}
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Errorf("docs/configuration.md's table has no row for %s", m)
	}
}

// The scan itself: a name in a string literal counts, one in a comment or a test doesn't.
func TestCodeEnvVarsScan(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.go", "package a\n// CRIER_IN_COMMENT\nvar x = \"CRIER_READ\" + `env CRIER_RAW_ONE`\n")
	write("a_test.go", "package a\nvar y = \"CRIER_ONLY_IN_TEST\"\n")
	got := codeEnvVars(t, dir)
	var names []string
	for n := range got {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"CRIER_RAW_ONE", "CRIER_READ"}; !slices.Equal(names, want) {
		t.Errorf("scan found %v, want %v", names, want)
	}
}

func TestREADMEIsShort(t *testing.T) {
	info, err := os.Stat("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > readmeLimit {
		t.Errorf("README.md is %d bytes, more than %d: move reference material into docs/", info.Size(), readmeLimit)
	}
}

var (
	fence      = regexp.MustCompile("^\\s{0,3}(```|~~~)")
	inlineCode = regexp.MustCompile("`[^`]*`")
	mdLink     = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	heading    = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
)

// prose returns md's lines outside fenced code blocks, each with its inline code removed,
// and the 1-based line number of each.
func prose(md string) (lines []string, numbers []int) {
	in := false
	for i, l := range strings.Split(md, "\n") {
		if fence.MatchString(l) {
			in = !in
			continue
		}
		if !in {
			lines = append(lines, inlineCode.ReplaceAllString(l, ""))
			numbers = append(numbers, i+1)
		}
	}
	return lines, numbers
}

// slug is GitHub's anchor for a heading: lower case, punctuation dropped (letters, digits,
// spaces, hyphens and underscores kept), spaces to hyphens.
func slug(h string) string {
	h = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(h, "$1") // a link's text
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the anchors of md's headings, duplicates numbered as GitHub does.
func anchors(md string) map[string]bool {
	out, count := map[string]bool{}, map[string]int{}
	in := false
	for _, l := range strings.Split(md, "\n") {
		if fence.MatchString(l) {
			in = !in
			continue
		}
		m := heading.FindStringSubmatch(l)
		if in || m == nil {
			continue
		}
		s := slug(strings.ReplaceAll(m[2], "`", ""))
		if n := count[s]; n > 0 {
			out[s+"-"+strconv.Itoa(n)] = true
		} else {
			out[s] = true
		}
		count[s]++
	}
	return out
}

func TestLinksResolve(t *testing.T) {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md")
	checked := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines, numbers := prose(string(data))
		for i, l := range lines {
			for _, m := range mdLink.FindAllStringSubmatch(l, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				checked++
				where := file + ":" + strconv.Itoa(numbers[i])
				path, anchor, _ := strings.Cut(target, "#")
				resolved := file
				if path != "" {
					resolved = filepath.Join(filepath.Dir(file), path)
					if _, err := os.Stat(resolved); err != nil {
						t.Errorf("%s: link %q: no such file %s", where, target, resolved)
						continue
					}
				}
				if anchor == "" {
					continue
				}
				if !strings.HasSuffix(resolved, ".md") {
					t.Errorf("%s: link %q: an anchor into a file that is not Markdown", where, target)
					continue
				}
				md, err := os.ReadFile(resolved)
				if err != nil {
					t.Fatal(err)
				}
				if !anchors(string(md))[anchor] {
					t.Errorf("%s: link %q: %s has no heading with anchor #%s", where, target, resolved, anchor)
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("checked only %d links: is the link pattern broken?", checked)
	}
}

func TestSlug(t *testing.T) {
	for h, want := range map[string]string{
		"Going live":             "going-live",
		"Getting a crier binary": "getting-a-crier-binary",
		"Consent: the rules":     "consent-the-rules",
		"Security: what is protected how, and what an operator must set": "security-what-is-protected-how-and-what-an-operator-must-set",
		"Residents' data rights (UK GDPR)":                               "residents-data-rights-uk-gdpr",
		"Texts and replies (SMS)":                                        "texts-and-replies-sms",
	} {
		if got := slug(h); got != want {
			t.Errorf("slug(%q) = %q, want %q", h, got, want)
		}
	}
	a := anchors("# Logs\n\n```\n# not a heading\n```\n## Logs\n")
	if !a["logs"] || !a["logs-1"] || a["not-a-heading"] {
		t.Errorf("anchors: %v", a)
	}
}
