package sandbox

import (
	"fmt"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// Program is one extension version compiled once and shared by every
// isolate that runs it. Runtimes are never shared; programs are.
type Program struct {
	name   string
	legacy bool
	prog   *goja.Program
}

// Legacy reports whether the program is a legacy (part B) function body.
func (p *Program) Legacy() bool { return p.legacy }

// maxSourceNesting bounds bracket nesting in source before it reaches
// goja's recursive-descent parser, whose native recursion cannot be caught.
const maxSourceNesting = 256

// Compile compiles an extension's code. Legacy code is the body of one async
// function (top-level await and return allowed, SKYEXT.md part B 1.1); it is
// wrapped textually, as SkynetBot did, but the result must parse as exactly
// that one function, so unbalanced braces cannot escape the wrapper.
// name appears in stack traces.
func Compile(name, code string, legacy bool) (*Program, error) {
	if depth := bracketDepth(code); depth > maxSourceNesting {
		return nil, fmt.Errorf("source nests brackets %d deep; the limit is %d", depth, maxSourceNesting)
	}
	src := code
	if legacy {
		// The opening stays on line 1 so reported line numbers match the file.
		src = "(async function () {" + code + "\n})"
	}
	tree, err := parser.ParseFile(nil, name, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, fmt.Errorf("syntax error: %w", err)
	}
	if legacy && !isSingleFunction(tree) {
		return nil, fmt.Errorf("the code closes more braces than it opens; a legacy extension body must be balanced")
	}
	prog, err := goja.CompileAST(tree, false)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	return &Program{name: name, legacy: legacy, prog: prog}, nil
}

// isSingleFunction reports whether the program is exactly one expression
// statement holding one function literal: the legacy wrapper, unescaped.
func isSingleFunction(tree *ast.Program) bool {
	if len(tree.Body) != 1 {
		return false
	}
	stmt, ok := tree.Body[0].(*ast.ExpressionStatement)
	if !ok {
		return false
	}
	_, ok = stmt.Expression.(*ast.FunctionLiteral)
	return ok
}

// bracketDepth returns the deepest nesting of (, [ and { in code. It does
// not skip strings or comments, so it over-counts; the limit is generous.
func bracketDepth(code string) int {
	depth, deepest := 0, 0
	for i := 0; i < len(code); i++ {
		switch code[i] {
		case '(', '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ')', ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return deepest
}
