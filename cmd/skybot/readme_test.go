package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
)

var update = flag.Bool("update", false, "rewrite the generated sections of README.md")

// TestREADMETablesMatchTheCode keeps the README's scope and error tables
// generated from the tables the code enforces, so the docs cannot drift.
func TestREADMETablesMatchTheCode(t *testing.T) {
	const path = "../../README.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, sec := range []struct{ name, body string }{
		{"scopes", scopesTable()},
		{"errors", errorsTable()},
	} {
		re := regexp.MustCompile(`(?s)(<!-- ` + sec.name + `:begin[^>]*-->\n).*?(<!-- ` + sec.name + `:end -->)`)
		if !re.MatchString(doc) {
			t.Fatalf("README.md has no %s markers", sec.name)
		}
		want := re.ReplaceAllString(doc, "${1}"+strings.ReplaceAll(sec.body, "$", "$$")+"${2}")
		if want != doc && !*update {
			t.Errorf("README.md's %s table is out of date; run go test ./cmd/skybot -run README -update", sec.name)
		}
		doc = want
	}
	if *update {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func scopesTable() string {
	var b strings.Builder
	b.WriteString("| scope | group | lets the extension | warning shown at install |\n|---|---|---|---|\n")
	for _, s := range sandbox.Scopes {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.Name, s.Category, s.Describe, s.Risk)
	}
	b.WriteString("\nHost APIs and the scope each needs (the sandbox refuses a call without it):\n\n| API | scope | what it does |\n|---|---|---|\n")
	for _, a := range sandbox.APIs {
		scope := "—"
		if a.Scope != "" {
			scope = "`" + a.Scope + "`"
		}
		fmt.Fprintf(&b, "| `%s(%s)` | %s | %s |\n", a.Name, a.Params, scope, a.Doc)
	}
	return b.String()
}

func errorsTable() string {
	var b strings.Builder
	b.WriteString("| code | meaning |\n|---|---|\n")
	for _, c := range skyerr.Codes {
		fmt.Fprintf(&b, "| `%s` | %s |\n", c.Code, c.Meaning)
	}
	return b.String()
}
