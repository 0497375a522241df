package extensions

import (
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/token"
)

// The scan's walk over goja's AST. It records what the rules need — the
// require() calls, every member chain rooted at a name or at require(),
// the handlers registered with sky, URLs, embeds — and reports the
// forbidden constructs it meets. Names are looked up only after the walk
// (finish), when every declaration of every scope is known, so hoisting
// and use-before-declaration need no special care.

// jsScope is one JavaScript scope: a function's, or a block's.
type jsScope struct {
	parent *jsScope
	fn     bool // a function scope: var declarations land here
	names  map[string]*binding
}

func (sc *jsScope) lookup(name string) *binding {
	for ; sc != nil; sc = sc.parent {
		if b, ok := sc.names[name]; ok {
			return b
		}
	}
	return nil
}

// binding is what the walk learnt about one declared name.
type binding struct {
	values []chain  // module-ish values assigned to it
	opaque bool     // it was also given something else
	fn     *jsScope // the scope of the function it names, if any
	ctx    string   // for a function's first argument: a handler's reply style
}

// Reply styles of a handler's ctx (sandbox's replyHelpers), and the mark
// of a function registered under two different ones.
const (
	ctxMessage     = "message"
	ctxInteraction = "interaction"
	ctxNone        = "none"
	ctxMixed       = "mixed"
)

// arg0 is the hidden name of a function's first argument: a handler's
// ctx is bound to it once registrations are known.
const arg0 = "\x00arg0"

// chain is a value the scan can follow: a module (require('x')) or a
// name, then property names. roles.add is {scope, "roles", ["add"]};
// require('roles').add is {module: "roles", path: ["add"]}.
type chain struct {
	module string
	scope  *jsScope
	name   string
	path   []string
}

func (c chain) with(names ...string) chain {
	out := c
	out.path = append(append([]string(nil), c.path...), names...)
	return out
}

// use is one place the code reads a chain. bare marks a name used as a
// plain value (passed, returned, called): if it holds a module object,
// the module escapes the scan.
type use struct {
	chain chain
	line  int
	bare  bool
}

// requireUse is one require('name') call with a literal name.
type requireUse struct {
	module string
	line   int
}

// registration is a call that may register a handler with sky: its
// receiver, the method, and the handler functions it passes.
type registration struct {
	recv     chain
	method   string
	event    string           // sky.on's event name, when a literal
	handlers []ast.Expression // function literals or names
	scope    *jsScope
}

// assignment is "name = value" (or a destructuring assignment target).
type assignment struct {
	scope *jsScope
	name  string
	value *chain // nil: something the scan does not follow
}

// urlLiteral is a URL written in the code.
type urlLiteral struct {
	scheme, host string
	line         int
}

type scanner struct {
	man    Manifest
	code   string
	legacy bool
	file   *file.File

	findings []Finding
	scope    *jsScope
	root     *jsScope
	fnScopes map[ast.Node]*jsScope
	// thisDepth counts the enclosing functions that have their own this
	// (not arrows): at 0 (1 in the legacy wrapper) this is the global.
	thisDepth int

	uses     []use
	requires []requireUse
	regs     []registration
	assigns  []assignment
	urls     []urlLiteral
	embeds   []int           // lines of "embeds" properties
	props    map[string]bool // every property name the code reads
}

func newScanner(man Manifest, code string, f *file.File) *scanner {
	root := &jsScope{fn: true, names: map[string]*binding{}}
	return &scanner{
		man: man, code: code, legacy: man.Legacy(), file: f,
		scope: root, root: root,
		fnScopes: map[ast.Node]*jsScope{},
		props:    map[string]bool{},
	}
}

func (s *scanner) line(idx file.Idx) int {
	return s.file.Position(int(idx) - s.file.Base()).Line
}

func (s *scanner) report(severity string, idx file.Idx, format string, args ...any) {
	s.findings = append(s.findings, makeFinding(StageScan, severity, s.line(idx), format, args...))
}

func (s *scanner) push(fn bool) *jsScope {
	s.scope = &jsScope{parent: s.scope, fn: fn, names: map[string]*binding{}}
	return s.scope
}

func (s *scanner) pop() { s.scope = s.scope.parent }

// declKind says where a declaration lands.
type declKind int

const (
	declVar     declKind = iota // var, and function parameters: the function scope
	declLexical                 // let, const, class, function declarations: the block
	declAssign                  // not a declaration: an assignment to an existing name
)

// declare records name in the scope kind says, with value (nil and
// opaque: a value the scan does not follow; nil and not opaque: none).
func (s *scanner) declare(kind declKind, id *ast.Identifier, value *chain, opaque bool) *binding {
	name := string(id.Name)
	if kind == declAssign {
		a := assignment{scope: s.scope, name: name, value: value}
		if value == nil && !opaque {
			return nil
		}
		s.assigns = append(s.assigns, a)
		return nil
	}
	sc := s.scope
	if kind == declVar {
		for !sc.fn {
			sc = sc.parent
		}
	}
	b, ok := sc.names[name]
	if !ok {
		b = &binding{}
		sc.names[name] = b
	}
	if value != nil {
		b.values = append(b.values, *value)
	} else if opaque {
		b.opaque = true
	}
	return b
}

// ---------- statements ----------

func (s *scanner) stmts(list []ast.Statement) {
	for _, st := range list {
		s.stmt(st)
	}
}

func (s *scanner) stmt(st ast.Statement) {
	switch x := st.(type) {
	case nil:
	case *ast.BlockStatement:
		s.push(false)
		s.stmts(x.List)
		s.pop()
	case *ast.ExpressionStatement:
		s.expr(x.Expression)
	case *ast.VariableStatement:
		for _, b := range x.List {
			s.binding(declVar, b)
		}
	case *ast.LexicalDeclaration:
		for _, b := range x.List {
			s.binding(declLexical, b)
		}
	case *ast.FunctionDeclaration:
		fnScope := s.function(x.Function)
		if x.Function.Name != nil {
			b := s.declare(declLexical, x.Function.Name, nil, false)
			b.fn = fnScope
		}
	case *ast.ClassDeclaration:
		if x.Class.Name != nil {
			s.declare(declLexical, x.Class.Name, nil, true)
		}
		s.class(x.Class)
	case *ast.IfStatement:
		s.expr(x.Test)
		s.stmt(x.Consequent)
		s.stmt(x.Alternate)
	case *ast.ForStatement:
		s.push(false)
		switch init := x.Initializer.(type) {
		case *ast.ForLoopInitializerExpression:
			s.expr(init.Expression)
		case *ast.ForLoopInitializerVarDeclList:
			for _, b := range init.List {
				s.binding(declVar, b)
			}
		case *ast.ForLoopInitializerLexicalDecl:
			for _, b := range init.LexicalDeclaration.List {
				s.binding(declLexical, b)
			}
		}
		s.expr(x.Test)
		s.expr(x.Update)
		s.stmt(x.Body)
		s.pop()
	case *ast.ForInStatement:
		s.push(false)
		s.forInto(x.Into)
		s.expr(x.Source)
		s.stmt(x.Body)
		s.pop()
	case *ast.ForOfStatement:
		s.push(false)
		s.forInto(x.Into)
		s.expr(x.Source)
		s.stmt(x.Body)
		s.pop()
	case *ast.WhileStatement:
		s.expr(x.Test)
		s.stmt(x.Body)
	case *ast.DoWhileStatement:
		s.stmt(x.Body)
		s.expr(x.Test)
	case *ast.WithStatement:
		s.report(SeverityError, x.With, "with statements are forbidden: they hide which names the code uses")
		s.expr(x.Object)
		s.stmt(x.Body)
	case *ast.SwitchStatement:
		s.expr(x.Discriminant)
		s.push(false)
		for _, c := range x.Body {
			s.expr(c.Test)
			s.stmts(c.Consequent)
		}
		s.pop()
	case *ast.TryStatement:
		s.stmt(x.Body)
		if x.Catch != nil {
			s.push(false)
			s.pattern(declLexical, x.Catch.Parameter, nil, true)
			if x.Catch.Body != nil {
				s.stmts(x.Catch.Body.List)
			}
			s.pop()
		}
		if x.Finally != nil {
			s.stmt(x.Finally)
		}
	case *ast.LabelledStatement:
		s.stmt(x.Statement)
	case *ast.ReturnStatement:
		s.expr(x.Argument)
	case *ast.ThrowStatement:
		s.expr(x.Argument)
	case *ast.CaseStatement:
		s.expr(x.Test)
		s.stmts(x.Consequent)
	}
}

func (s *scanner) forInto(into ast.ForInto) {
	switch x := into.(type) {
	case *ast.ForIntoVar:
		s.binding(declVar, x.Binding)
	case *ast.ForDeclaration:
		s.pattern(declLexical, x.Target, nil, true)
	case *ast.ForIntoExpression:
		s.pattern(declAssign, x.Expression, nil, true)
	}
}

// binding walks one declarator: its initializer, then its target bound to
// what the initializer is, when the scan can follow it.
func (s *scanner) binding(kind declKind, b *ast.Binding) {
	if b == nil {
		return
	}
	if b.Initializer == nil {
		s.pattern(kind, b.Target, nil, false)
		return
	}
	value, fnScope := s.value(b.Initializer)
	if id, ok := b.Target.(*ast.Identifier); ok && fnScope != nil {
		bd := s.declare(kind, id, nil, false)
		if bd != nil {
			bd.fn = fnScope
		}
		return
	}
	s.pattern(kind, b.Target, value, value == nil)
}

// value walks an expression whose result is being bound or assigned and
// returns what the scan can follow of it: a chain, or the scope of the
// function literal it is.
func (s *scanner) value(e ast.Expression) (*chain, *jsScope) {
	switch x := unwrap(e).(type) {
	case *ast.FunctionLiteral:
		return nil, s.function(x)
	case *ast.ArrowFunctionLiteral:
		return nil, s.arrow(x)
	case *ast.Identifier:
		// An alias: the name's value flows into the binding, which the scan
		// follows; it is not an escape.
		s.ident(x, false)
		return s.chainOf(x), nil
	}
	c := s.chainOf(e)
	s.expr(e)
	return c, nil
}

// pattern binds a declaration or assignment target to value, following
// object destructuring into the value's properties.
func (s *scanner) pattern(kind declKind, target ast.Expression, value *chain, opaque bool) {
	switch x := target.(type) {
	case nil:
	case *ast.Identifier:
		s.declare(kind, x, value, opaque)
	case *ast.ObjectPattern:
		for _, p := range x.Properties {
			switch p := p.(type) {
			case *ast.PropertyShort:
				s.props[string(p.Name.Name)] = true
				s.expr(p.Initializer)
				name := p.Name
				s.declare(kind, &name, withName(value, string(p.Name.Name)), opaque || value == nil)
			case *ast.PropertyKeyed:
				key, ok := propertyName(p.Key, p.Computed)
				if !ok {
					s.expr(p.Key)
				} else {
					s.props[key] = true
				}
				inner := p.Value
				if a, isDefault := inner.(*ast.AssignExpression); isDefault {
					s.expr(a.Right)
					inner = a.Left
				}
				if ok {
					s.pattern(kind, inner, withName(value, key), opaque || value == nil)
				} else {
					s.pattern(kind, inner, nil, true)
				}
			}
		}
		s.pattern(kind, x.Rest, nil, true)
	case *ast.ArrayPattern:
		for _, el := range x.Elements {
			if a, isDefault := el.(*ast.AssignExpression); isDefault {
				s.expr(a.Right)
				el = a.Left
			}
			s.pattern(kind, el, nil, true)
		}
		s.pattern(kind, x.Rest, nil, true)
	case *ast.AssignExpression: // a default value
		s.expr(x.Right)
		s.pattern(kind, x.Left, nil, true)
	case *ast.DotExpression, *ast.BracketExpression:
		s.assignMember(x)
	default:
		s.expr(x)
	}
}

func withName(c *chain, name string) *chain {
	if c == nil {
		return nil
	}
	out := c.with(name)
	return &out
}

// ---------- functions and classes ----------

func (s *scanner) function(fn *ast.FunctionLiteral) *jsScope {
	s.thisDepth++
	defer func() { s.thisDepth-- }()
	sc := s.push(true)
	s.fnScopes[fn] = sc
	if fn.Name != nil {
		s.declare(declVar, fn.Name, nil, true)
	}
	s.params(fn.ParameterList)
	if fn.Body != nil {
		s.stmts(fn.Body.List)
	}
	s.pop()
	return sc
}

func (s *scanner) arrow(fn *ast.ArrowFunctionLiteral) *jsScope {
	sc := s.push(true)
	s.fnScopes[fn] = sc
	s.params(fn.ParameterList)
	switch body := fn.Body.(type) {
	case *ast.BlockStatement:
		s.stmts(body.List)
	case *ast.ExpressionBody:
		s.expr(body.Expression)
	}
	s.pop()
	return sc
}

// params declares a function's parameters. The first is bound to the
// hidden arg0, so that a handler's ctx reaches it once the registration
// is known, destructured or not.
func (s *scanner) params(pl *ast.ParameterList) {
	if pl == nil {
		return
	}
	s.scope.names[arg0] = &binding{opaque: true}
	for i, p := range pl.List {
		if p == nil {
			continue
		}
		s.expr(p.Initializer)
		if i == 0 {
			first := chain{scope: s.scope, name: arg0}
			s.pattern(declVar, p.Target, &first, false)
			continue
		}
		s.pattern(declVar, p.Target, nil, true)
	}
	s.pattern(declVar, pl.Rest, nil, true)
}

func (s *scanner) class(c *ast.ClassLiteral) {
	s.expr(c.SuperClass)
	s.push(false)
	for _, el := range c.Body {
		switch el := el.(type) {
		case *ast.FieldDefinition:
			if el.Computed {
				s.expr(el.Key)
			}
			s.expr(el.Initializer)
		case *ast.MethodDefinition:
			if el.Computed {
				s.expr(el.Key)
			}
			if el.Body != nil {
				s.function(el.Body)
			}
		case *ast.ClassStaticBlock:
			s.thisDepth++
			s.push(true)
			if el.Block != nil {
				s.stmts(el.Block.List)
			}
			s.pop()
			s.thisDepth--
		}
	}
	s.pop()
}

// ---------- expressions ----------

// unwrap removes the optional-chaining wrappers, which do not change
// which value a chain names.
func unwrap(e ast.Expression) ast.Expression {
	for {
		switch x := e.(type) {
		case *ast.Optional:
			e = x.Expression
		case *ast.OptionalChain:
			e = x.Expression
		default:
			return e
		}
	}
}

func (s *scanner) expr(e ast.Expression) {
	switch x := e.(type) {
	case nil:
	case *ast.Identifier:
		s.ident(x, true)
	case *ast.Optional:
		s.expr(x.Expression)
	case *ast.OptionalChain:
		s.expr(x.Expression)
	case *ast.DotExpression, *ast.BracketExpression:
		s.member(x)
	case *ast.PrivateDotExpression:
		s.expr(x.Left)
	case *ast.CallExpression:
		s.call(x)
	case *ast.NewExpression:
		s.expr(x.Callee)
		for _, a := range x.ArgumentList {
			s.expr(a)
		}
	case *ast.AssignExpression:
		s.assign(x)
	case *ast.BinaryExpression:
		if id, ok := unwrap(x.Right).(*ast.Identifier); ok && x.Operator == token.INSTANCEOF && id.Name == "Function" {
			s.expr(x.Left) // "v instanceof Function" is a type test
			return
		}
		s.expr(x.Left)
		s.expr(x.Right)
	case *ast.UnaryExpression:
		if _, ok := unwrap(x.Operand).(*ast.Identifier); ok && x.Operator == token.TYPEOF {
			return // "typeof eval" only asks whether there is one
		}
		s.expr(x.Operand)
	case *ast.ConditionalExpression:
		s.expr(x.Test)
		s.expr(x.Consequent)
		s.expr(x.Alternate)
	case *ast.SequenceExpression:
		for _, el := range x.Sequence {
			s.expr(el)
		}
	case *ast.ArrayLiteral:
		for _, el := range x.Value {
			s.expr(el)
		}
	case *ast.ObjectLiteral:
		s.object(x)
	case *ast.SpreadElement:
		s.expr(x.Expression)
	case *ast.TemplateLiteral:
		s.template(x)
	case *ast.StringLiteral:
		s.url(string(x.Value), x.Idx, false)
	case *ast.FunctionLiteral:
		s.function(x)
	case *ast.ArrowFunctionLiteral:
		s.arrow(x)
	case *ast.ClassLiteral:
		s.class(x)
	case *ast.AwaitExpression:
		s.expr(x.Argument)
	case *ast.YieldExpression:
		s.expr(x.Argument)
	case *ast.Binding:
		s.pattern(declVar, x.Target, nil, true)
		s.expr(x.Initializer)
	case *ast.ObjectPattern, *ast.ArrayPattern:
		s.pattern(declAssign, x, nil, true)
	}
}

// Names the scan treats specially wherever they appear.
const (
	nameRequire  = "require"
	nameEval     = "eval"
	nameFunction = "Function"
)

// globalObjects are the names of the global object: a member of one of
// them is a global.
var globalObjects = map[string]bool{"global": true, "globalThis": true, "window": true, "self": true}

// ident handles a name used as a value. escape records it as a use, so
// that a module held in it is known to leave the scan's sight.
func (s *scanner) ident(id *ast.Identifier, escape bool) {
	switch string(id.Name) {
	case nameEval:
		s.forbidEval(id.Idx)
		return
	case nameFunction:
		s.forbidFunction(id.Idx)
		return
	case nameRequire:
		s.computedRequire(id.Idx)
		return
	}
	if escape {
		s.uses = append(s.uses, use{chain: chain{scope: s.scope, name: string(id.Name)}, line: s.line(id.Idx), bare: true})
	}
}

func (s *scanner) forbidEval(idx file.Idx) {
	s.report(SeverityError, idx, "eval is forbidden: extensions may not run strings as code")
}

func (s *scanner) forbidFunction(idx file.Idx) {
	s.report(SeverityError, idx, "the Function constructor is forbidden: extensions may not run strings as code")
}

func (s *scanner) computedRequire(idx file.Idx) {
	s.report(SeverityWarning, idx, "require() with a computed module name defeats the scan: call require('name') with a string literal")
}

// functionMethods are the members of Function that construct a function
// from strings as calling it does.
var functionMethods = map[string]bool{"call": true, "apply": true, "bind": true, "constructor": true}

// flatten splits a member chain into its root and the property names
// after it; a computed member ends the chain (it becomes the root).
func flatten(e ast.Expression) (ast.Expression, []string) {
	var rev []string
	cur := unwrap(e)
	for {
		switch x := cur.(type) {
		case *ast.DotExpression:
			rev = append(rev, string(x.Identifier.Name))
			cur = unwrap(x.Left)
			continue
		case *ast.BracketExpression:
			if name, ok := literalName(x.Member); ok {
				rev = append(rev, name)
				cur = unwrap(x.Left)
				continue
			}
		}
		break
	}
	path := make([]string, len(rev))
	for i, n := range rev {
		path[len(rev)-1-i] = n
	}
	return cur, path
}

// member walks a member chain: a.b.c, a['b'], require('x').y.
func (s *scanner) member(e ast.Expression) {
	root, path := flatten(e)
	idx := e.Idx0()
	for _, p := range path {
		s.props[p] = true
	}
	for i := 0; i+1 < len(path); i++ {
		if path[i] == "constructor" && path[i+1] == "constructor" {
			s.report(SeverityError, idx, ".constructor.constructor reaches the Function constructor, which is forbidden")
			break
		}
	}
	switch r := root.(type) {
	case *ast.Identifier:
		name := string(r.Name)
		switch {
		case name == nameEval:
			s.forbidEval(r.Idx)
		case name == nameFunction:
			if len(path) > 0 && functionMethods[path[0]] {
				s.forbidFunction(r.Idx)
			}
		case name == nameRequire:
			s.computedRequire(r.Idx)
		case globalObjects[name] && len(path) > 0:
			s.globalMember(path, r.Idx)
			s.uses = append(s.uses, use{chain: chain{scope: s.scope, name: name, path: path}, line: s.line(idx)})
		default:
			if len(path) > 0 {
				s.uses = append(s.uses, use{chain: chain{scope: s.scope, name: name, path: path}, line: s.line(idx)})
			}
		}
	case *ast.ThisExpression:
		if len(path) > 0 && s.globalThis() {
			s.globalMember(path, r.Idx)
		}
	case *ast.CallExpression:
		if module, ok := s.requireCallee(r); ok {
			if module != "" && len(path) > 0 {
				s.uses = append(s.uses, use{chain: chain{module: module, path: path}, line: s.line(idx)})
			}
			return
		}
		s.call(r)
	case *ast.FunctionLiteral, *ast.ArrowFunctionLiteral, *ast.ClassLiteral:
		if len(path) > 0 && path[0] == "constructor" {
			s.report(SeverityError, idx, ".constructor of a function reaches the Function constructor, which is forbidden")
		}
		s.expr(r)
	case *ast.BracketExpression: // a computed member: its object escapes
		s.expr(r.Member)
		s.escape(r.Left)
	default:
		s.expr(r)
	}
}

// globalThis reports whether this, where the walk is, is the global
// object: at the top level of the code.
func (s *scanner) globalThis() bool {
	top := 0
	if s.legacy {
		top = 1 // the wrapper function
	}
	return s.thisDepth <= top
}

// globalMember checks a member of the global object (or of a top-level
// this): global.eval and globalThis.Function are eval and Function.
func (s *scanner) globalMember(path []string, idx file.Idx) {
	switch path[0] {
	case nameEval:
		s.forbidEval(idx)
	case nameFunction:
		if len(path) == 1 || functionMethods[path[1]] {
			s.forbidFunction(idx)
		}
	}
}

// escape walks the object of a computed member, a[k]: if it is a module,
// the scan loses track of which of its functions the code uses.
func (s *scanner) escape(e ast.Expression) {
	root, path := flatten(e)
	if id, ok := root.(*ast.Identifier); ok && !globalObjects[string(id.Name)] {
		switch string(id.Name) {
		case nameEval, nameFunction, nameRequire:
			s.member(e)
			return
		}
		s.uses = append(s.uses, use{chain: chain{scope: s.scope, name: string(id.Name), path: path}, line: s.line(id.Idx), bare: true})
		return
	}
	if call, ok := root.(*ast.CallExpression); ok {
		if module, isRequire := s.requireCallee(call); isRequire {
			if module != "" {
				s.uses = append(s.uses, use{chain: chain{module: module, path: path}, line: s.line(call.Idx0()), bare: true})
			}
			return
		}
	}
	s.expr(e)
}

// call walks a call: require('x'), a registration with sky, any other.
func (s *scanner) call(c *ast.CallExpression) {
	if _, ok := s.requireCallee(c); ok {
		return
	}
	callee := unwrap(c.Callee)
	s.expr(callee)
	if dot, ok := callee.(*ast.DotExpression); ok && registrationMethods[string(dot.Identifier.Name)] {
		if recv := s.chainOf(dot.Left); recv != nil {
			s.registration(*recv, string(dot.Identifier.Name), c)
		}
	}
	for _, a := range c.ArgumentList {
		s.expr(a)
	}
}

// requireCallee handles c when it is a call of require: it checks the
// argument and returns the module name ("" when computed).
func (s *scanner) requireCallee(c *ast.CallExpression) (string, bool) {
	id, ok := unwrap(c.Callee).(*ast.Identifier)
	if !ok || id.Name != nameRequire {
		return "", false
	}
	var module string
	if len(c.ArgumentList) > 0 {
		module, ok = literalName(c.ArgumentList[0])
	}
	if !ok || module == "" {
		s.computedRequire(c.LeftParenthesis)
	} else {
		s.requires = append(s.requires, requireUse{module: module, line: s.line(c.Idx0())})
	}
	for _, a := range c.ArgumentList {
		if _, lit := literalName(a); !lit {
			s.expr(a)
		}
	}
	return module, true
}

// chainOf returns the chain an expression names, without walking it, or
// nil when it is not one the scan follows.
func (s *scanner) chainOf(e ast.Expression) *chain {
	root, path := flatten(e)
	switch r := root.(type) {
	case *ast.Identifier:
		switch string(r.Name) {
		case nameEval, nameFunction, nameRequire:
			return nil
		}
		return &chain{scope: s.scope, name: string(r.Name), path: path}
	case *ast.CallExpression:
		id, ok := unwrap(r.Callee).(*ast.Identifier)
		if !ok || id.Name != nameRequire || len(r.ArgumentList) == 0 {
			return nil
		}
		if module, ok := literalName(r.ArgumentList[0]); ok && module != "" {
			return &chain{module: module, path: path}
		}
	}
	return nil
}

// registrationMethods are the sky functions that take handlers.
var registrationMethods = map[string]bool{
	"on": true, "command": true, "prefix": true, "keyword": true, "every": true, "cron": true,
	"component": true, "onJob": true, "onInstall": true, "onUpdate": true, "onUninstall": true,
	"onEnable": true, "onDisable": true,
}

// registration records a call that registers handlers if recv is sky.
func (s *scanner) registration(recv chain, method string, c *ast.CallExpression) {
	r := registration{recv: recv, method: method, scope: s.scope}
	args := c.ArgumentList
	if method == "on" && len(args) > 0 {
		r.event, _ = literalName(args[0])
	}
	if method == "command" && len(args) > 0 {
		if def, ok := unwrap(args[0]).(*ast.ObjectLiteral); ok {
			for _, p := range def.Value {
				if kp, ok := p.(*ast.PropertyKeyed); ok {
					if key, ok := propertyName(kp.Key, kp.Computed); ok && key == "autocomplete" {
						r.handlers = append(r.handlers, kp.Value)
					}
				}
			}
		}
	}
	// The handler is the last argument (options may come before it).
	if len(args) > 0 {
		r.handlers = append(r.handlers, args[len(args)-1])
	}
	s.regs = append(s.regs, r)
}

// assign walks "target = value" and its compound forms.
func (s *scanner) assign(a *ast.AssignExpression) {
	left := unwrap(a.Left)
	switch l := left.(type) {
	case *ast.Identifier:
		if a.Operator != token.ASSIGN {
			s.expr(a.Right)
			s.declare(declAssign, l, nil, true)
			return
		}
		value, fnScope := s.value(a.Right)
		if fnScope != nil {
			s.declare(declAssign, l, nil, true)
			return
		}
		s.declare(declAssign, l, value, value == nil)
	case *ast.ObjectPattern, *ast.ArrayPattern:
		value, _ := s.value(a.Right)
		s.pattern(declAssign, l, value, value == nil)
	default:
		s.assignMember(left)
		s.expr(a.Right)
	}
}

// assignMember walks a member being assigned to; __proto__ is forbidden.
func (s *scanner) assignMember(e ast.Expression) {
	_, path := flatten(e)
	last := ""
	if len(path) > 0 {
		last = path[len(path)-1]
	}
	if b, ok := unwrap(e).(*ast.BracketExpression); ok {
		if name, lit := literalName(b.Member); lit {
			last = name
		} else {
			last = ""
		}
	}
	if last == "__proto__" {
		s.report(SeverityError, e.Idx0(), "assigning __proto__ is forbidden: it rewires an object's prototype")
	}
	s.expr(e)
}

// object walks an object literal, noting "embeds" properties.
func (s *scanner) object(o *ast.ObjectLiteral) {
	for _, p := range o.Value {
		switch p := p.(type) {
		case *ast.PropertyKeyed:
			key, ok := propertyName(p.Key, p.Computed)
			if !ok {
				s.expr(p.Key)
			} else if key == "embeds" {
				s.embeds = append(s.embeds, s.line(p.Key.Idx0()))
			}
			s.expr(p.Value)
		case *ast.PropertyShort:
			if p.Name.Name == "embeds" {
				s.embeds = append(s.embeds, s.line(p.Name.Idx))
			}
			name := p.Name
			s.ident(&name, true)
			s.expr(p.Initializer)
		case *ast.SpreadElement:
			s.expr(p.Expression)
		}
	}
}

// template walks a template literal; its head may be a URL.
func (s *scanner) template(t *ast.TemplateLiteral) {
	s.expr(t.Tag)
	if len(t.Elements) > 0 && t.Elements[0] != nil {
		head := t.Elements[0]
		text := string(head.Parsed)
		if !head.Valid {
			text = head.Literal
		}
		s.url(text, head.Idx, len(t.Expressions) > 0)
	}
	for _, e := range t.Expressions {
		s.expr(e)
	}
}

// literalName is the value of a string literal (or a template literal
// without substitutions).
func literalName(e ast.Expression) (string, bool) {
	switch x := unwrap(e).(type) {
	case *ast.StringLiteral:
		return string(x.Value), true
	case *ast.TemplateLiteral:
		if x.Tag == nil && len(x.Expressions) == 0 && len(x.Elements) == 1 && x.Elements[0] != nil && x.Elements[0].Valid {
			return string(x.Elements[0].Parsed), true
		}
	}
	return "", false
}

// propertyName is the name of a non-computed property key, or a computed
// one that is a literal.
func propertyName(key ast.Expression, computed bool) (string, bool) {
	if computed {
		return literalName(key)
	}
	switch k := key.(type) {
	case *ast.StringLiteral:
		return string(k.Value), true
	case *ast.NumberLiteral:
		return k.Literal, true
	case *ast.Identifier:
		return string(k.Name), true
	}
	return "", false
}
