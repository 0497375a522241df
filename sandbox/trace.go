package sandbox

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
)

// Traced programs. A worker that dies of native recursion (a chain of
// proxies or prototypes), of the OS memory limit, or stuck in a builtin
// that is not wrapped takes the run's JS stack with it: goja keeps the
// stack on the goroutine that runs it, which is the one gone or stuck. So
// once a program has ended a worker without a line, the Supervisor sends
// its later runs as a traced variant: the same code with a call to
// traceHook before every statement, each of which writes its statement's
// position to the worker's status page. The next worker it ends is then
// blamed with the last statement the run started.
//
// The calls are added to the syntax tree, not to the text, so every other
// position (and every other error's stack) is the same as untraced. They
// cost a native call per statement executed, which is why only programs
// that have already ended a worker are traced.

// traceHook is the global the traced calls reach. Extension code can
// shadow or call it; the worst that does is mislead its own trace.
const traceHook = "__skytrace"

// tracePos is one traced statement's position in the compiled source.
type tracePos struct{ line, col int }

// tracer is where an executor publishes a traced run's position (the
// worker's status page).
type tracer interface {
	setTrace(site nativeSite)
}

// traced returns p's traced variant, compiled once (nil if it cannot be).
func (p *Program) traced() *Program {
	if p.trace != nil {
		return p
	}
	p.tracedOnce.Do(func() {
		t, err := compileProgram(p.name, p.code, p.legacy, true)
		if err == nil {
			p.tracedVariant = t
		}
	})
	return p.tracedVariant
}

// instrument adds a traceHook call before every statement of every
// statement list in tree (after a list's leading directives, such as
// 'use strict'), and returns the statements' positions by call argument.
func instrument(tree *ast.Program) []tracePos {
	in := instrumenter{file: tree.File, seen: map[uintptr]bool{}}
	in.walk(reflect.ValueOf(tree))
	return in.pos
}

type instrumenter struct {
	file *file.File
	seen map[uintptr]bool
	pos  []tracePos
}

var (
	statementList = reflect.TypeFor[[]ast.Statement]()
	astPackage    = reflect.TypeFor[ast.Program]().PkgPath()
)

// walk visits every syntax node under v once (declaration lists point at
// nodes that are also in the body).
func (in *instrumenter) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || v.Elem().Kind() != reflect.Struct || v.Elem().Type().PkgPath() != astPackage || in.seen[v.Pointer()] {
			return
		}
		in.seen[v.Pointer()] = true
		in.walk(v.Elem())
	case reflect.Interface:
		if !v.IsNil() {
			in.walk(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Field(i)
			if !f.CanSet() {
				continue
			}
			if f.Type() == statementList {
				for _, s := range f.Interface().([]ast.Statement) {
					in.walk(reflect.ValueOf(s))
				}
				f.Set(reflect.ValueOf(in.list(f.Interface().([]ast.Statement))))
				continue
			}
			in.walk(f)
		}
	case reflect.Slice:
		for i := range v.Len() {
			in.walk(v.Index(i))
		}
	}
}

// list returns stmts with a traced call before each statement.
func (in *instrumenter) list(stmts []ast.Statement) []ast.Statement {
	out := make([]ast.Statement, 0, 2*len(stmts))
	directives := true
	for _, s := range stmts {
		if directives {
			if e, ok := s.(*ast.ExpressionStatement); ok {
				if _, ok := e.Expression.(*ast.StringLiteral); ok {
					out = append(out, s)
					continue
				}
			}
			directives = false
		}
		idx := in.start(s)
		p := in.file.Position(int(idx) - 1) // as goja's compiler maps positions
		n := len(in.pos)
		in.pos = append(in.pos, tracePos{line: p.Line, col: p.Column})
		out = append(out, &ast.ExpressionStatement{Expression: &ast.CallExpression{
			Callee:           &ast.Identifier{Name: traceHook, Idx: idx},
			LeftParenthesis:  idx,
			ArgumentList:     []ast.Expression{&ast.NumberLiteral{Idx: idx, Literal: strconv.Itoa(n), Value: int64(n)}},
			RightParenthesis: idx,
		}}, s)
	}
	return out
}

// start is where statement s begins. goja's parser does not record the
// start of an if statement: it is the "if" before its condition.
func (in *instrumenter) start(s ast.Statement) file.Idx {
	st, ok := s.(*ast.IfStatement)
	if !ok || st.If != 0 {
		return s.Idx0()
	}
	test := st.Test.Idx0()
	if off := int(test) - 1; off > 0 && off <= len(in.file.Source()) {
		if i := strings.LastIndex(in.file.Source()[:off], "if"); i >= 0 {
			return file.Idx(i + 1)
		}
	}
	return test
}

// installTrace defines traceHook for a traced program: each call
// publishes its statement's position for the running invocation.
func (iso *isolate) installTrace() {
	pos := iso.program.trace
	t, _ := iso.ex.cfg.slot.(tracer)
	hook := iso.rt.ToValue(func(call goja.FunctionCall) goja.Value {
		r := iso.run
		i := call.Argument(0).ToInteger()
		if t != nil && r != nil && i >= 0 && i < int64(len(pos)) {
			t.setTrace(nativeSite{inv: r.inv.id, line: pos[i].line, col: pos[i].col})
		}
		return goja.Undefined()
	})
	_ = iso.rt.GlobalObject().DefineDataProperty(traceHook, hook, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
}

// suspects are the programs whose runs ended a worker without a line;
// their later runs are traced. Bounded: past the cap a program is not
// traced, and the pool logs that it is not.
type suspects struct {
	any  atomic.Bool // set with the first: until then no lock per event
	mu   sync.Mutex
	sums map[[32]byte]bool
}

const maxSuspects = 1024

// add marks p; it reports false when the set is full.
func (s *suspects) add(p *Program) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sums == nil {
		s.sums = map[[32]byte]bool{}
	}
	if len(s.sums) >= maxSuspects && !s.sums[p.sum] {
		return false
	}
	s.sums[p.sum] = true
	s.any.Store(true)
	return true
}

// program returns the program to run in place of p.
func (s *suspects) program(p *Program) *Program {
	if !s.any.Load() {
		return p
	}
	s.mu.Lock()
	suspect := s.sums[p.sum]
	s.mu.Unlock()
	if !suspect {
		return p
	}
	if t := p.traced(); t != nil {
		return t
	}
	return p
}
