package sandbox

import (
	"strings"
	"testing"
)

func TestCheckSourceAcceptsOrdinaryCode(t *testing.T) {
	t.Parallel()
	noSemicolons := strings.Repeat("var a = 1 + 2 * 3 - 4 / 5\nvar b = a > 1 ? 'x' : 'y'\n", 500)
	longConcat := "const s = " + strings.Repeat("'part' + ", 900) + "'end';"
	elseIf := "let x = 1;\n" + strings.Repeat("if (x === 1) { x++ } else ", 600) + "{}"
	cases := map[string]string{
		"regexp with quotes and brackets":    "const re = /['\"`(\\[{]+/g;\nconst r2 = x.split(/[)]/);\nconst r3 = /(a(b(c)))/;",
		"division is not a regexp":           "const a = b / c / d, e = (f) / 2, g = h[0] / 3;",
		"regexp after keywords":              "function f(s) { if (s) return /x'/.test(s); else return typeof /y\"/ }",
		"regexp after a condition":           "if (ok) /'/.test(s)\nwhile (x) /`/.exec(y)",
		"templates with substitutions":       "const t = `a ${b ? `c ${d} }` : '{'} e ${[1, 2].map(x => `${x}`)} {`;",
		"brackets in comments and strings":   "// ((((((\n/* [[[[[[ */ const s = '{{{{{{' + \"((((\" + `[[[[`;",
		"many unbalanced openers in strings": strings.Repeat("say(':( (');\n", 400),
		"no semicolons, many lines":          noSemicolons,
		"long but legal concatenation":       longConcat,
		"long else-if chain":                 elseIf,
		"arrow functions":                    "const f = a => b => c => a + b + c;\nconst g = (x) => { return x * 2 };",
		"object literals then division":      "const o = { a: {} }; const n = o.a / 2;",
	}
	for name, code := range cases {
		if _, err := checkSource(code); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
	if _, err := Compile("long.skyext", noSemicolons, true); err != nil {
		t.Errorf("compile: %v", err)
	}
}

func TestCheckSourceRefusesWhatTheParserCannotBound(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"nested brackets":                 strings.Repeat("[", 300) + strings.Repeat("]", 300),
		"nested parentheses":              strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300),
		"nested template substitutions":   strings.Repeat("`${", 300) + "1" + strings.Repeat("}`", 300),
		"unclosed brackets":               "x = " + strings.Repeat("{a:", 300),
		"operator chain":                  "x = 1" + strings.Repeat(" + 1", 5000) + ";",
		"arrow chain":                     strings.Repeat("a => ", 5000) + "1",
		"chain across lines":              "x = 1" + strings.Repeat(" +\n1", 5000),
		"nesting hidden after a division": "x = a / 2; " + strings.Repeat("[", 300),
		"nesting inside a regexp":         "x = /" + strings.Repeat("(", 300) + strings.Repeat(")", 300) + "/",
		"too large":                       strings.Repeat(" ", maxSourceBytes+1),
	}
	for name, code := range cases {
		if _, err := checkSource(code); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzScanSource(f *testing.F) {
	for _, seed := range []string{
		"const a = /[(]/g; x = `${a}` + 'b'",
		"if (x) /'/.test(y)\n[[[[",
		"`${`${`${1}`}`}`",
		"/* unterminated",
		"a++ / 2 / (b--)",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, code string) {
		sh := scanSource(code)
		if sh.nesting < 0 || sh.chain < 0 {
			t.Fatalf("negative shape %+v", sh)
		}
		// Whatever the scanner says, a refused source never reaches the
		// parser, and an accepted one must not nest deeper than counted
		// in plain brackets outside any literal: checked by the parser
		// not crashing.
		if _, err := checkSource(code); err == nil && len(code) < 4096 {
			_, _ = Compile("fuzz.skyext", code, false)
		}
	})
}
