package sandbox

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
)

// Hardening. goja cannot cap memory and cannot interrupt native Go code, so
// the builtins that let one call allocate or loop without bound, or recurse
// natively on data the code controls, are wrapped: the wrapper checks the
// size the call would reach and, over the limit, ends the invocation with a
// canonical failure (uncatchable: the runtime is interrupted as the error
// unwinds). What stays unwrapped is bounded by the allocation meter, the
// deadline, and, in a worker, by the supervisor killing the process.

// functionKinds evaluates to one function of each kind whose constructor
// compiles code from strings; harden closes each constructor through the
// kinds' shared prototypes. It is compiled once, run in every runtime.
var functionKinds = sync.OnceValue(func() *goja.Program {
	return goja.MustCompile("harden", "[function () {}, async function () {}, function* () {}]", true)
})

// harden installs the wrappers and removes the ways to compile code at run
// time: eval and every route to the Function constructors, including
// through prototypes. Wrapping Reflect and RegExp means building them
// (a quarter of a runtime's memory), so they are wrapped only when the
// program names them (see Program.mentions); code that reaches them
// without naming them is still bounded by the allocation meter, the regexp
// match timeout and, in a worker, the process limits.
func (iso *isolate) harden() error {
	rt := iso.rt
	object := func(v goja.Value) *goja.Object { return v.ToObject(rt) }
	proto := func(ctor string) *goja.Object { return object(object(rt.Get(ctor)).Get("prototype")) }
	stringProto, arrayProto, funcProto := proto("String"), proto("Array"), proto("Function")
	array, json := object(rt.Get("Array")), object(rt.Get("JSON"))

	type wrap struct {
		obj  *goja.Object
		name string
		fn   func(orig nativeFn) nativeFn
	}
	// What a call is reported as while it runs (see tracked).
	prefix := map[*goja.Object]string{
		stringProto: "String.prototype.", arrayProto: "Array.prototype.", funcProto: "Function.prototype.",
		array: "Array.", json: "JSON.",
	}
	wraps := []wrap{
		{stringProto, "repeat", iso.wrapRepeat},
		{stringProto, "padStart", iso.wrapPad},
		{stringProto, "padEnd", iso.wrapPad},
		{arrayProto, "join", func(nativeFn) nativeFn { return iso.join }},
		{arrayProto, "toLocaleString", iso.wrapToLocaleString},
		{arrayProto, "fill", iso.wrapFill},
		{arrayProto, "flat", iso.wrapFlat},
		{arrayProto, "keys", iso.wrapIterator("keys")},
		{arrayProto, "entries", iso.wrapIterator("entries")},
		{array, "from", iso.wrapFrom},
		{funcProto, "apply", iso.wrapApply("Function.prototype.apply", 1)},
		{json, "parse", iso.wrapParse},
		{json, "stringify", iso.wrapStringify},
	}
	if iso.program.mentions&mentionsReflect != 0 {
		reflect := object(rt.Get("Reflect"))
		prefix[reflect] = "Reflect."
		wraps = append(wraps,
			wrap{reflect, "apply", iso.wrapApply("Reflect.apply", 2)},
			wrap{reflect, "construct", iso.wrapApply("Reflect.construct", 1)})
	}
	if iso.program.mentions&mentionsRegexp != 0 {
		regexpProto := proto("RegExp")
		prefix[regexpProto] = "RegExp.prototype."
		if iso.ex.cfg.regexpTimeout > 0 {
			wraps = append(wraps,
				wrap{regexpProto, "exec", iso.wrapMatch},
				wrap{regexpProto, "test", iso.wrapMatch}) // goja's test does not go through exec
		}
		wraps = append(wraps,
			wrap{stringProto, "match", iso.wrapStringPattern("String.prototype.match", goja.SymMatch)},
			wrap{stringProto, "matchAll", iso.wrapStringPattern("String.prototype.matchAll", goja.SymMatchAll)},
			wrap{stringProto, "search", iso.wrapStringPattern("String.prototype.search", goja.SymSearch)})
		if fn, ok := regexpProto.Get("compile").Export().(nativeFn); ok && fn != nil {
			wraps = append(wraps, wrap{regexpProto, "compile", iso.wrapCompile})
		}
		if err := iso.guardRegExp(); err != nil {
			return err
		}
	}
	if iso.program.mentions&mentionsBuffers != 0 {
		if err := iso.guardBuffers(); err != nil {
			return err
		}
	}
	for i, name := range walkers {
		if iso.program.walks&(1<<i) == 0 {
			continue // each wrapper costs ~4 µs and ~1.7 KiB per isolate
		}
		if fn, ok := arrayProto.Get(name).Export().(nativeFn); ok && fn != nil {
			wraps = append(wraps, wrap{arrayProto, name, iso.wrapLength("Array.prototype." + name)})
		}
	}
	for _, w := range wraps {
		orig, ok := w.obj.Get(w.name).Export().(nativeFn)
		if !ok {
			return fmt.Errorf("%s is not a builtin function", w.name)
		}
		fn := rt.ToValue(iso.tracked(prefix[w.obj]+w.name, w.fn(orig)))
		if err := w.obj.DefineDataProperty(w.name, fn, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
			return err
		}
		if w.name == "stringify" {
			iso.jsonStringify = fn.Export().(nativeFn)
		}
	}
	// values and @@iterator are the same function: spreads, for-of,
	// destructuring and Array.from all start there.
	values, ok := arrayProto.Get("values").Export().(nativeFn)
	if !ok {
		return fmt.Errorf("Array.prototype.values is not a builtin function")
	}
	iter := rt.ToValue(iso.tracked("Array.prototype.values", iso.wrapIterator("values")(values)))
	if err := arrayProto.DefineDataProperty("values", iter, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		return err
	}
	if err := arrayProto.DefineDataPropertySymbol(goja.SymIterator, iter, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		return err
	}

	// No code from strings.
	thrower := rt.ToValue(func(goja.FunctionCall) goja.Value {
		if ctor, ok := rt.Get("EvalError").(*goja.Object); ok {
			if e, err := rt.New(ctor, rt.ToValue("code generation from strings is disabled")); err == nil {
				panic(e)
			}
		}
		panic(rt.NewTypeError("code generation from strings is disabled"))
	})
	// Function stays usable as a namespace: Function.prototype is the real
	// one, so instanceof Function and Function.prototype.* keep working.
	if err := thrower.(*goja.Object).DefineDataProperty("prototype", funcProto, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
		return err
	}
	kinds, err := rt.RunProgram(functionKinds())
	if err != nil {
		return err
	}
	for _, k := range []string{"0", "1", "2"} {
		p := object(object(kinds).Get(k)).Prototype()
		if err := p.DefineDataProperty("constructor", thrower, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
			return err
		}
	}
	global := rt.GlobalObject()
	if err := global.DefineDataProperty("Function", thrower, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
		return err
	}
	return global.Delete("eval")
}

// bufferElemSize is the bytes per element of each constructor whose
// length argument allocates at once.
var bufferElemSize = map[string]float64{
	"ArrayBuffer": 1, "SharedArrayBuffer": 1,
	"Int8Array": 1, "Uint8Array": 1, "Uint8ClampedArray": 1,
	"Int16Array": 2, "Uint16Array": 2,
	"Int32Array": 4, "Uint32Array": 4, "Float32Array": 4,
	"Float64Array": 8, "BigInt64Array": 8, "BigUint64Array": 8,
}

// guardBuffers replaces each binary buffer constructor with a native one
// that refuses a length over the allocation limit before anything is
// allocated: new ArrayBuffer(2 ** 31) would otherwise be one 2 GiB
// allocation that the meter sees only once the worker holds it. The guard
// takes over the original's prototype (whose constructor now points back
// at it), statics and inheritance, so instanceof, Uint8Array.from, species
// and subclassing keep their meaning. (A Proxy cannot stand in: goja's
// instanceof refuses a proxied function.)
func (iso *isolate) guardBuffers() error {
	rt, global := iso.rt, iso.rt.GlobalObject()
	adoptFn, err := iso.adopter()
	if err != nil {
		return err
	}
	for name, size := range bufferElemSize {
		orig, ok := global.Get(name).(*goja.Object)
		if !ok {
			continue // SharedArrayBuffer is not in every build
		}
		construct, ok := goja.AssertConstructor(orig)
		if !ok {
			return fmt.Errorf("%s is not a constructor", name)
		}
		var guard *goja.Object
		guard = rt.ToValue(func(call goja.ConstructorCall) *goja.Object {
			// goja leaves NewTarget nil for a plain new (and constructs
			// for a call without new too, so ArrayBuffer(8) makes a buffer
			// where the original throws).
			newTarget := cmp.Or(call.NewTarget, guard)
			// An object argument (array, buffer, iterable) copies what
			// already exists; a primitive is a length.
			if len(call.Arguments) > 0 {
				if _, isObj := call.Arguments[0].(*goja.Object); !isObj {
					if n := call.Arguments[0].ToFloat(); n*size > float64(iso.limits().MaxAlloc) {
						iso.fail(FailMemory, "new %s(%.0f) would allocate %.0f bytes; the limit is %d", name, n, n*size, iso.limits().MaxAlloc)
					}
				}
			}
			obj, err := construct(newTarget, call.Arguments...)
			if err != nil {
				panic(err)
			}
			return obj
		}).(*goja.Object)
		if _, err := adoptFn(goja.Undefined(), orig, guard); err != nil {
			return fmt.Errorf("guard %s: %w", name, err)
		}
		if err := global.DefineDataProperty(name, guard, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
			return err
		}
	}
	return nil
}

// adopter is adoptConstructor's function in this runtime.
func (iso *isolate) adopter() (goja.Callable, error) {
	adopt, err := iso.rt.RunProgram(adoptConstructor())
	if err != nil {
		return nil, err
	}
	fn, ok := goja.AssertFunction(adopt)
	if !ok {
		return nil, fmt.Errorf("adopt is not a function")
	}
	return fn, nil
}

// adoptConstructor evaluates to a function that makes guard stand in for
// orig: same statics, prototype, name, length and inheritance.
var adoptConstructor = sync.OnceValue(func() *goja.Program {
	return goja.MustCompile("harden", `(function (orig, guard) {
  const own = Object.getOwnPropertyDescriptor, define = Object.defineProperty;
  for (const key of Reflect.ownKeys(orig)) define(guard, key, own(orig, key));
  define(orig.prototype, 'constructor', { value: guard, writable: true, enumerable: false, configurable: true });
  Object.setPrototypeOf(guard, Object.getPrototypeOf(orig));
})`, true)
})

// limits are the current invocation's (builtins only run inside one).
func (iso *isolate) limits() Limits {
	if r := iso.run; r != nil {
		return r.inv.limits
	}
	return DefaultLimits
}

// fail ends the current invocation with a limit failure: it records it,
// interrupts the runtime so no catch block can continue, and throws so
// native code between here and the interpreter unwinds.
func (iso *isolate) fail(kind, format string, args ...any) {
	f := &Failure{Kind: kind, Message: fmt.Sprintf(format, args...), Stack: formatStack(iso.rt.CaptureCallStack(maxStackFrames, nil))}
	if r := iso.run; r != nil && r.limitHit == nil {
		r.limitHit = f
	}
	iso.rt.Interrupt(f)
	panic(iso.newError(CodeBudgetExceeded, f.Message))
}

func isNullish(v goja.Value) bool { return v == nil || goja.IsUndefined(v) || goja.IsNull(v) }

// strLen is a string value's length in UTF-16 units.
func strLen(v goja.Value) int64 {
	if s, ok := v.(goja.String); ok {
		return int64(s.Length())
	}
	return int64(len(v.String()))
}

// toLength is ECMAScript's ToLength.
func toLength(v goja.Value) int64 {
	if v == nil {
		return 0
	}
	f := v.ToFloat()
	switch {
	case math.IsNaN(f) || f <= 0:
		return 0
	case f >= 1<<53-1:
		return 1<<53 - 1
	}
	return int64(f)
}

// relIndex is the spec's relative index clamp: ToIntegerOrInfinity(v),
// negative from the end, clamped to [0, length]; def for undefined.
func relIndex(v goja.Value, length, def int64) int64 {
	if v == nil || goja.IsUndefined(v) {
		return def
	}
	f := v.ToFloat()
	switch {
	case math.IsNaN(f):
		return 0
	case f < 0:
		return max(int64(max(f, -1<<62))+length, 0)
	default:
		return min(int64(min(f, 1<<62)), length)
	}
}

func (iso *isolate) wrapRepeat(orig nativeFn) nativeFn {
	return func(call goja.FunctionCall) goja.Value {
		if isNullish(call.This) {
			return orig(call) // throws the engine's TypeError
		}
		// Convert once, so a toString or valueOf runs once, then hand the
		// primitives to the builtin.
		s := call.This.ToString()
		count := call.Argument(0).ToNumber()
		if n, l := count.ToFloat(), strLen(s); n > 0 && l > 0 && float64(l)*n > float64(iso.limits().maxString()) {
			iso.fail(FailMemory, "String.prototype.repeat would build a string of %.0f characters; the limit is %d", float64(l)*n, iso.limits().maxString())
		}
		return orig(goja.FunctionCall{This: s, Arguments: []goja.Value{count}})
	}
}

func (iso *isolate) wrapPad(orig nativeFn) nativeFn {
	return func(call goja.FunctionCall) goja.Value {
		if isNullish(call.This) {
			return orig(call)
		}
		s := call.This.ToString()
		target := call.Argument(0).ToNumber()
		if n := target.ToFloat(); n > float64(iso.limits().maxString()) {
			iso.fail(FailMemory, "padStart/padEnd would build a string of %.0f characters; the limit is %d", n, iso.limits().maxString())
		}
		return orig(goja.FunctionCall{This: s, Arguments: []goja.Value{target, call.Argument(1)}})
	}
}

// enterNested guards builtins that recurse natively through nested
// arrays: join (and so toString and String()), toLocaleString.
func (iso *isolate) enterNested(o *goja.Object, what string) (cycle bool) {
	for _, seen := range iso.joining {
		if seen == o {
			return true // a cycle joins as "", as in other engines
		}
	}
	if lim := iso.limits().MaxNesting; len(iso.joining) >= lim {
		iso.fail(FailStack, "%s went through more than %d nested arrays", what, lim)
	}
	iso.joining = append(iso.joining, o)
	return false
}

func (iso *isolate) leaveNested() { iso.joining = iso.joining[:len(iso.joining)-1] }

// checkElems refuses a builtin call that would walk or build more elements
// than the limit allows.
func (iso *isolate) checkElems(n int64, what string) {
	if lim := iso.limits().maxElems(); n > lim {
		iso.fail(FailMemory, "%s would go through %d elements; the limit is %d", what, n, lim)
	}
}

// join is Array.prototype.join, written here so the result's size is
// checked as it grows (an element's toString can return anything).
func (iso *isolate) join(call goja.FunctionCall) goja.Value {
	o := call.This.ToObject(iso.rt)
	if iso.enterNested(o, "Array.prototype.join") {
		return iso.rt.ToValue("")
	}
	defer iso.leaveNested()
	length := toLength(o.Get("length"))
	iso.checkElems(length, "Array.prototype.join")
	sep := goja.Value(iso.rt.ToValue(","))
	if a := call.Argument(0); !goja.IsUndefined(a) {
		sep = a.ToString()
	}
	sepLen := strLen(sep)
	limit := iso.limits().maxString()
	var b goja.StringBuilder
	var size int64
	add := func(v goja.Value) {
		size += strLen(v)
		if size > limit {
			iso.fail(FailMemory, "Array.prototype.join would build a string of more than %d characters", limit)
		}
		if s, ok := v.(goja.String); ok {
			b.WriteString(s)
		} else {
			b.WriteUTF8String(v.String())
		}
	}
	for k := int64(0); k < length; k++ {
		if k > 0 && sepLen > 0 {
			add(sep)
		}
		el := o.Get(strconv.FormatInt(k, 10))
		if isNullish(el) {
			continue
		}
		add(el.ToString())
	}
	return b.String()
}

func (iso *isolate) wrapToLocaleString(orig nativeFn) nativeFn {
	return func(call goja.FunctionCall) goja.Value {
		o := call.This.ToObject(iso.rt)
		if iso.enterNested(o, "Array.prototype.toLocaleString") {
			return iso.rt.ToValue("")
		}
		defer iso.leaveNested()
		iso.checkElems(toLength(o.Get("length")), "Array.prototype.toLocaleString")
		return orig(call)
	}
}

func (iso *isolate) wrapFill(orig nativeFn) nativeFn {
	return func(call goja.FunctionCall) goja.Value {
		o := call.This.ToObject(iso.rt)
		length := toLength(o.Get("length"))
		start := relIndex(call.Argument(1), length, 0)
		end := relIndex(call.Argument(2), length, length)
		iso.checkElems(end-start, "Array.prototype.fill")
		return orig(goja.FunctionCall{This: o, Arguments: []goja.Value{call.Argument(0), iso.rt.ToValue(start), iso.rt.ToValue(end)}})
	}
}

// wrapFlat bounds flat's depth (it recurses natively once per level).
func (iso *isolate) wrapFlat(orig nativeFn) nativeFn {
	return func(call goja.FunctionCall) goja.Value {
		if d := call.Argument(0); !goja.IsUndefined(d) {
			if lim := iso.limits().MaxNesting; d.ToFloat() > float64(lim) {
				call.Arguments = []goja.Value{iso.rt.ToValue(lim)}
			}
		}
		return orig(call)
	}
}

// wrapIterator bounds array iteration: spreads and Array.from run the
// iterator to its end natively, and a sparse array can be 2³²-1 long
// without allocating anything.
func (iso *isolate) wrapIterator(name string) func(nativeFn) nativeFn {
	return iso.wrapLength("Array.prototype." + name + " (iteration, spread)")
}

// walkers are the Array.prototype methods that go through every index
// from 0 to length natively, holes included: on new Array(2 ** 32 - 1)
// forEach or indexOf runs for minutes without allocating, where no
// interrupt reaches, and sort or slice asks for tens of GiB at once.
// They are wrapped only for programs that name them (walksOf), and those
// missing from this goja are skipped.
var walkers = []string{
	"indexOf", "lastIndexOf", "includes", "forEach", "map", "filter", "some", "every",
	"reduce", "reduceRight", "find", "findIndex", "findLast", "findLastIndex", "flatMap",
	"sort", "reverse", "slice", "splice", "copyWithin", "concat", "flat",
	"toReversed", "toSorted", "toSpliced", "with",
}

// wrapLength refuses the call when this's length is past the element
// limit. An array-like whose length is a getter can answer differently
// when the builtin reads it again; such a run ends as before this check,
// with its worker killed past the deadline and the run blamed.
func (iso *isolate) wrapLength(what string) func(nativeFn) nativeFn {
	return func(orig nativeFn) nativeFn {
		return func(call goja.FunctionCall) goja.Value {
			if o, ok := call.This.(*goja.Object); ok {
				iso.checkElems(toLength(o.Get("length")), what)
			}
			return orig(call)
		}
	}
}

// tracked makes a wrapped builtin tell, while it runs, where the
// extension called it (executor.enterNative), so that a worker killed
// because a call never came back (a check the builtin got past, such as a
// length getter that answers differently the second time) still names the
// extension's line. In process nobody would read it, and nothing is done.
func (iso *isolate) tracked(what string, fn nativeFn) nativeFn {
	if iso.ex.cfg.slot == nil {
		return fn
	}
	return func(call goja.FunctionCall) goja.Value {
		r := iso.run
		if r == nil {
			return fn(call)
		}
		outer := iso.ex.enterNative(r.inv.id, what, iso.program.name, iso.rt)
		defer iso.ex.leaveNative(outer)
		return fn(call)
	}
}

func (iso *isolate) wrapFrom(orig nativeFn) nativeFn {
	return func(call goja.FunctionCall) goja.Value {
		if o, ok := call.Argument(0).(*goja.Object); ok {
			if isNullish(o.GetSymbol(goja.SymIterator)) {
				iso.checkElems(toLength(o.Get("length")), "Array.from")
			}
		}
		return orig(call)
	}
}

// wrapApply bounds the argument list built from an array-like.
func (iso *isolate) wrapApply(what string, argIndex int) func(nativeFn) nativeFn {
	return func(orig nativeFn) nativeFn {
		return func(call goja.FunctionCall) goja.Value {
			if o, ok := call.Argument(argIndex).(*goja.Object); ok {
				iso.checkElems(toLength(o.Get("length")), what)
			}
			return orig(call)
		}
	}
}

func (iso *isolate) wrapParse(orig nativeFn) nativeFn {
	return func(call goja.FunctionCall) goja.Value {
		text := call.Argument(0).ToString()
		lim := iso.limits().MaxNesting
		if d := jsonDepth([]byte(text.String()), lim); d > lim {
			iso.fail(FailStack, "JSON.parse input nests more than %d deep", lim)
		}
		return orig(goja.FunctionCall{This: call.This, Arguments: []goja.Value{text, call.Argument(1)}})
	}
}

// jsonDepth returns the bracket nesting of JSON text, stopping early once
// it passes limit. Brackets inside strings do not count.
func jsonDepth(text []byte, limit int) int {
	depth, deepest := 0, 0
	inString := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth > deepest {
				deepest = depth
				if deepest > limit {
					return deepest
				}
			}
		case ']', '}':
			depth--
		}
	}
	return deepest
}

func (iso *isolate) wrapStringify(orig nativeFn) nativeFn {
	return func(call goja.FunctionCall) goja.Value {
		return iso.stringifyWith(orig, call.Argument(0), call.Argument(1), call.Argument(2))
	}
}

// stringify is the hardened JSON.stringify, for host call arguments.
func (iso *isolate) stringify(v, replacer, space goja.Value) goja.Value {
	return iso.jsonStringify(goja.FunctionCall{This: goja.Undefined(), Arguments: []goja.Value{v, orUndefined(replacer), orUndefined(space)}})
}

func orUndefined(v goja.Value) goja.Value {
	if v == nil {
		return goja.Undefined()
	}
	return v
}

// stringifyWith runs the engine's JSON.stringify with a replacer of its
// own, which sees every value before the engine descends into it: it
// tracks each object's depth and the output's approximate size, and stops
// the invocation before native recursion or the output grows too far. A
// replacer given by the code runs first; a property list is applied by
// handing the engine a copy with just those properties, in list order.
func (iso *isolate) stringifyWith(orig nativeFn, value, replacer, space goja.Value) goja.Value {
	rt := iso.rt
	lim := iso.limits()
	var userFn goja.Callable
	var props []string
	if r, ok := replacer.(*goja.Object); ok {
		if fn, ok := goja.AssertFunction(r); ok {
			userFn = fn
		} else if isArray(r) {
			props = propertyList(r)
		}
	}
	depth := map[*goja.Object]int{}
	budget := lim.maxString()
	guard := func(call goja.FunctionCall) goja.Value {
		holder, _ := call.This.(*goja.Object)
		key, v := call.Argument(0), call.Argument(1)
		if userFn != nil {
			out, err := userFn(holder, key, v)
			if err != nil {
				panic(err)
			}
			v = out
		}
		budget -= strLen(key) + 4
		if s, ok := v.(goja.String); ok {
			budget -= int64(s.Length())
		}
		if budget < 0 {
			iso.fail(FailMemory, "JSON.stringify would build a string of more than %d characters", lim.maxString())
		}
		if o, ok := v.(*goja.Object); ok {
			if _, callable := goja.AssertFunction(o); !callable {
				d := depth[holder] + 1
				if d > lim.MaxNesting {
					iso.fail(FailStack, "JSON.stringify went through values nested more than %d deep", lim.MaxNesting)
				}
				if props != nil && !isArray(o) {
					o = iso.project(o, props)
					v = o
				}
				depth[o] = d
			}
		}
		return v
	}
	return orig(goja.FunctionCall{This: goja.Undefined(), Arguments: []goja.Value{value, rt.ToValue(guard), space}})
}

func isArray(o *goja.Object) bool { return o.ClassName() == "Array" }

// propertyList reads a replacer array as the spec does: strings and
// numbers (primitive or boxed), first occurrence kept.
func propertyList(arr *goja.Object) []string {
	n := toLength(arr.Get("length"))
	seen := map[string]bool{}
	out := []string{}
	for i := int64(0); i < n && i < 1<<16; i++ {
		v := arr.Get(strconv.FormatInt(i, 10))
		if isNullish(v) {
			continue
		}
		switch {
		case goja.IsString(v) || goja.IsNumber(v):
		case func() bool {
			o, ok := v.(*goja.Object)
			return ok && (o.ClassName() == "String" || o.ClassName() == "Number")
		}():
		default:
			continue
		}
		k := v.String()
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// project copies the listed properties of o, in list order.
func (iso *isolate) project(o *goja.Object, props []string) *goja.Object {
	out := iso.rt.NewObject()
	for _, p := range props {
		if v := o.Get(p); v != nil {
			_ = out.Set(p, v)
		}
	}
	return out
}

// wrapMatch makes a regular expression that hit the match timeout loud:
// the engine reads a timeout as "no match", which would let catastrophic
// backtracking pass silently (and repeat in a loop). Every other RegExp
// method goes through exec once exec is replaced.
func (iso *isolate) wrapMatch(orig nativeFn) nativeFn {
	return func(call goja.FunctionCall) goja.Value {
		start := time.Now()
		v := orig(call)
		if t := iso.ex.cfg.regexpTimeout; t > 0 && (v == nil || !v.ToBoolean()) {
			if d := time.Since(start); d >= t {
				src := ""
				if o, ok := call.This.(*goja.Object); ok {
					src = truncateUTF8(o.String(), 80)
				}
				iso.fail(FailTimeout, "the regular expression %s ran for %s without finishing (catastrophic backtracking); the limit is %s", src, d.Round(time.Millisecond), t)
			}
		}
		return v
	}
}

const maxStackFrames = 10

// formatStack renders the extension's JS frames as "at fn (file:line:col)"
// lines: native frames are left out, runs of one repeated frame (deep
// recursion) collapse into one line, and at most maxStackFrames are kept.
func formatStack(frames []goja.StackFrame) string {
	var b strings.Builder
	kept, repeat := 0, 0
	var last string
	flush := func() {
		if repeat > 0 {
			fmt.Fprintf(&b, "    … the frame above %d more times\n", repeat)
			repeat = 0
		}
	}
	for i := range frames {
		f := &frames[i]
		pos := f.Position()
		if pos.Filename == "" || f.SrcName() == "harden" {
			continue
		}
		line := fmt.Sprintf("%s:%d:%d", pos.Filename, pos.Line, pos.Column)
		if name := f.FuncName(); name != "" {
			line = name + " (" + line + ")"
		}
		if line == last {
			repeat++
			continue
		}
		flush()
		if kept == maxStackFrames {
			b.WriteString("    …\n")
			break
		}
		b.WriteString("    at " + line + "\n")
		last = line
		kept++
	}
	flush()
	return b.String()
}
