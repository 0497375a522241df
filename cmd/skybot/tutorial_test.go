package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// fence is a fenced block of a Markdown file: its info string and body.
var fence = regexp.MustCompile("(?ms)^```(\\w*)\\n(.*?)^```$")

// TestTutorialIsTheRealExtension holds docs/tutorial.md to the files it
// builds: every code and case block it shows is in them, and their cases
// pass in the emulated guild.
func TestTutorialIsTheRealExtension(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/tutorial.md")
	if err != nil {
		t.Fatal(err)
	}
	code, err := os.ReadFile("../../docs/tutorial/welcomer.skyext")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := os.ReadFile("../../docs/tutorial/welcomer.tests.txt")
	if err != nil {
		t.Fatal(err)
	}
	var shown int
	for _, m := range fence.FindAllStringSubmatch(string(doc), -1) {
		info, body := m[1], m[2]
		switch {
		case info == "js":
			shown++
			if !strings.Contains(string(code), body) {
				t.Errorf("the tutorial shows code that docs/tutorial/welcomer.skyext does not have:\n%s", body)
			}
		case strings.HasPrefix(body, "case "):
			shown++
			if !strings.Contains(string(cases), body) {
				t.Errorf("the tutorial shows a case that docs/tutorial/welcomer.tests.txt does not have:\n%s", body)
			}
		}
	}
	if shown < 5 {
		t.Fatalf("found %d code and case blocks in the tutorial; the fence pattern no longer matches it", shown)
	}
	exit, out, errs := runExt(t, "test", "--validate", "--timeout", "30s", "../../docs/tutorial")
	if exit != 0 || !strings.HasSuffix(out, "\n3 passed, 0 failed\n") {
		t.Fatalf("the tutorial's extension: exit %d\n%s%s", exit, out, errs)
	}
}
