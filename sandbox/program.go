package sandbox

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// Program is one extension version compiled once and shared by every
// isolate that runs it. Runtimes are never shared; programs are.
type Program struct {
	name   string
	legacy bool
	code   string   // the source as given; workers compile it themselves
	sum    [32]byte // sha256 of legacy flag, name and code: the worker cache key
	prog   *goja.Program
	// mentions records builtins the code names, whose hardening costs
	// enough memory to be done only for code that uses them.
	mentions uint8
	// walks has bit i set when the code names walkers[i] (harden.go).
	walks uint32

	// trace is set for a traced variant (trace.go): the position of each
	// statement by the argument of its traced call.
	trace         []tracePos
	tracedOnce    sync.Once
	tracedVariant *Program
}

const (
	mentionsReflect uint8 = 1 << iota
	mentionsRegexp
	mentionsBuffers
)

// mentionsOf reads which costly builtins code may use by name: Reflect,
// regular expressions (literals, the constructor, or the string methods
// that build one from a string), and binary buffers (ArrayBuffer, DataView
// and the typed arrays).
func mentionsOf(code string, sh sourceShape) uint8 {
	var m uint8
	if strings.Contains(code, "Reflect") {
		m |= mentionsReflect
	}
	if sh.regexps > 0 || strings.Contains(code, "RegExp") || strings.Contains(code, "match") || strings.Contains(code, "search") {
		m |= mentionsRegexp
	}
	if strings.Contains(code, "Buffer") || typedArrayName.MatchString(code) {
		m |= mentionsBuffers
	}
	return m
}

// walksOf reads which of the walkers the code names. Code that reaches one
// without naming it (arr['for' + 'Each']) gets it unwrapped: its run then
// ends, as before this check, with the worker killed past the deadline.
func walksOf(code string) uint32 {
	var w uint32
	for i, name := range walkers {
		if strings.Contains(code, name) {
			w |= 1 << i
		}
	}
	return w
}

// typedArrayName matches the constructors whose length argument allocates
// at once: Int8Array … Float64Array, BigInt64Array, BigUint64Array.
var typedArrayName = regexp.MustCompile(`\b(?:Big)?(?:Ui|I)nt(?:8|16|32|64)(?:Clamped)?Array\b|\bFloat(?:32|64)Array\b`)

// Legacy reports whether the program is a legacy (part B) function body.
func (p *Program) Legacy() bool { return p.legacy }

// Compile compiles an extension's code. Legacy code is the body of one async
// function (top-level await and return allowed, SKYEXT.md part B 1.1); it is
// wrapped textually, as SkynetBot did, but the result must parse as exactly
// that one function, so unbalanced braces cannot escape the wrapper.
// name appears in stack traces.
func Compile(name, code string, legacy bool) (*Program, error) {
	return compileProgram(name, code, legacy, false)
}

// compileProgram is Compile, traced if asked (trace.go).
func compileProgram(name, code string, legacy, traced bool) (*Program, error) {
	shape, err := checkSource(code)
	if err != nil {
		return nil, err
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
	var trace []tracePos
	if traced {
		trace = instrument(tree)
	}
	prog, err := goja.CompileAST(tree, false)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	p := &Program{name: name, legacy: legacy, code: code, sum: programSum(name, code, legacy, traced), prog: prog, mentions: mentionsOf(code, shape), walks: walksOf(code)}
	if traced {
		p.trace = trace
		if p.trace == nil {
			p.trace = []tracePos{} // traced, with no statement
		}
	}
	return p, nil
}

// programSum identifies a compiled program: the same code under another
// name or style compiles differently.
func programSum(name, code string, legacy, traced bool) [32]byte {
	h := sha256.New()
	kind := "handler\x00"
	if legacy {
		kind = "legacy\x00"
	}
	if traced {
		h.Write([]byte("traced\x00"))
	}
	h.Write([]byte(kind))
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(code))
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
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
