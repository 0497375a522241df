package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/skyext/skybot/extensions"
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
	b.WriteString("\nEvery host API and the scope it needs is listed in [docs/API.md](docs/API.md).\n")
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

// TestAPIDocMatchesTheTable keeps docs/API.md generated from the one
// table the sandbox checks calls against.
func TestAPIDocMatchesTheTable(t *testing.T) {
	const path = "../../docs/API.md"
	want := apiDoc()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Errorf("docs/API.md is out of date; run go test ./cmd/skybot -run APIDoc -update")
	}
}

func apiDoc() string {
	var b strings.Builder
	b.WriteString("# Extension host APIs\n\n")
	b.WriteString("Generated from `sandbox.APIs` by `go test ./cmd/skybot -run APIDoc -update`; do not edit.\n\n")
	b.WriteString("Every call crosses the sandbox's trust boundary and is refused with `MISSING_SCOPES` unless the guild granted the scope named here. ")
	b.WriteString("Calls return promises unless marked *synchronous*. Modules marked *SkynetBot* keep the shapes of SkynetBot's modules (SKYEXT.md part B) and are attached to those modules in legacy (`@type`) code.\n")
	module := ""
	for _, a := range sandbox.APIs {
		if a.Module != module {
			module = a.Module
			fmt.Fprintf(&b, "\n## `require('%s')`\n\n| API | scope | returns | what it does |\n|---|---|---|---|\n", module)
		}
		scope := "—"
		if a.Scope != "" {
			scope = "`" + a.Scope + "`"
		}
		note := ""
		if a.Legacy {
			note += " *SkynetBot.*"
		}
		if a.Sync {
			note += " *Synchronous.*"
		}
		fmt.Fprintf(&b, "| `%s(%s)` | %s | `%s` | %s%s |\n", a.Name, strings.ReplaceAll(a.Params, "|", "\\|"), scope, strings.ReplaceAll(a.Returns, "|", "\\|"), a.Doc, note)
	}
	return b.String()
}

// TestTypeScriptMatchesTheTable keeps docs/skybot.d.ts generated from the
// API table and the event list.
func TestTypeScriptMatchesTheTable(t *testing.T) {
	const path = "../../docs/skybot.d.ts"
	want := extensions.TypeScript()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Errorf("docs/skybot.d.ts is out of date; run go test ./cmd/skybot -run TypeScript -update")
	}
}
