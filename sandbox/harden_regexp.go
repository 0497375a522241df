package sandbox

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/dop251/goja"
)

// A pattern compiled from a string at run time never went through the
// source checks of Compile: goja's parser recurses natively once per
// nested group, so new RegExp('('.repeat(10 ** 6) + ')'.repeat(10 ** 6))
// overflowed the worker's stack and killed it, and a very long pattern
// could keep the compiler busy in native code past the deadline. Every
// route from a string to a compiled pattern is guarded: the RegExp
// constructor (its calls, new, subclasses and species all reach the guard
// that stands in for it), RegExp.prototype.compile, and the string methods
// that build a pattern from their argument (match, matchAll, search).
// Each converts its argument to a string once, checks that string and
// hands the same string on, so a toString that answers differently the
// second time has no second time.

// maxPatternLength bounds a pattern built at run time, in UTF-16 units:
// far above any pattern an extension writes, below what compiles slowly.
const maxPatternLength = 1 << 16

// checkPattern ends the run when src is too long or nests its groups
// deeper than the nesting limit.
func (iso *isolate) checkPattern(src goja.String, what string) {
	if n := src.Length(); n > maxPatternLength {
		iso.fail(FailMemory, "%s: a pattern of %d characters is over the limit of %d", what, n, maxPatternLength)
	}
	if d, lim := patternDepth(src.String()), iso.limits().MaxNesting; d > lim {
		iso.fail(FailStack, "%s: the pattern nests groups more than %d deep", what, lim)
	}
}

// patternDepth is the deepest nesting of groups in a pattern: parentheses
// outside character classes that no backslash escapes.
func patternDepth(src string) int {
	depth, deepest, inClass := 0, 0, false
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '\\':
			i++ // the escaped character, whatever it is
		case inClass:
			inClass = c != ']'
		case c == '[':
			inClass = true
		case c == '(':
			depth++
			deepest = max(deepest, depth)
		case c == ')':
			depth = max(depth-1, 0)
		}
	}
	return deepest
}

// checkedPattern is a pattern argument as it will be compiled: undefined
// and existing regular expressions as they are (their source was checked
// when they were made), anything else converted to a string once and
// checked.
func (iso *isolate) checkedPattern(v goja.Value, what string) goja.Value {
	if isNullish(v) {
		return v
	}
	if o, ok := v.(*goja.Object); ok && o.ClassName() == "RegExp" {
		return v
	}
	// goja's ToString calls an object's toString once and leaves a
	// primitive as it is; the primitive's own text has no side effects.
	p := v.ToString()
	str, ok := p.(goja.String)
	if !ok {
		if _, isSym := p.(*goja.Symbol); isSym {
			panic(iso.rt.NewTypeError("Cannot convert a Symbol value to a string"))
		}
		str = iso.rt.ToValue(p.String()).(goja.String)
	}
	iso.checkPattern(str, what)
	return str
}

// guardRegExp replaces RegExp with a native constructor that checks its
// pattern and then constructs the original, adopting its prototype,
// statics (Symbol.species) and inheritance, as guardBuffers does for
// the buffers. RegExp(re) called without new makes a copy rather than
// returning re: goja cannot tell a call from a new.
func (iso *isolate) guardRegExp() error {
	rt, global := iso.rt, iso.rt.GlobalObject()
	orig, ok := global.Get("RegExp").(*goja.Object)
	if !ok {
		return fmt.Errorf("RegExp is not an object")
	}
	construct, ok := goja.AssertConstructor(orig)
	if !ok {
		return fmt.Errorf("RegExp is not a constructor")
	}
	adoptFn, err := iso.adopter()
	if err != nil {
		return err
	}
	var guard *goja.Object
	guard = rt.ToValue(func(call goja.ConstructorCall) *goja.Object {
		args := make([]goja.Value, len(call.Arguments))
		copy(args, call.Arguments)
		if len(args) > 0 {
			args[0] = iso.checkedPattern(args[0], "RegExp")
		}
		obj, err := construct(cmp.Or(call.NewTarget, guard), args...)
		if err != nil {
			panic(err)
		}
		return obj
	}).(*goja.Object)
	if _, err := adoptFn(goja.Undefined(), orig, guard); err != nil {
		return fmt.Errorf("guard RegExp: %w", err)
	}
	return global.DefineDataProperty("RegExp", guard, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// wrapCompile checks RegExp.prototype.compile's pattern.
func (iso *isolate) wrapCompile(orig nativeFn) nativeFn {
	return func(call goja.FunctionCall) goja.Value {
		args := append([]goja.Value(nil), call.Arguments...)
		if len(args) > 0 {
			args[0] = iso.checkedPattern(args[0], "RegExp.prototype.compile")
		}
		return orig(goja.FunctionCall{This: call.This, Arguments: args})
	}
}

// wrapStringPattern guards String.prototype.match, matchAll and search,
// which compile their argument unless it brings its own method for sym
// (a regular expression does). That method is looked up once, here, and
// called as the builtin would call it.
func (iso *isolate) wrapStringPattern(what string, sym *goja.Symbol) func(nativeFn) nativeFn {
	return func(orig nativeFn) nativeFn {
		return func(call goja.FunctionCall) goja.Value {
			arg := call.Argument(0)
			if o, ok := arg.(*goja.Object); ok {
				if sym == goja.SymMatchAll && isRegExpLike(o) {
					flags := o.Get("flags")
					if isNullish(flags) || !strings.Contains(flags.String(), "g") {
						panic(iso.rt.NewTypeError("%s called with a non-global RegExp argument", what))
					}
				}
				switch m := o.GetSymbol(sym); {
				case isNullish(m):
					if o.ClassName() == "RegExp" {
						return orig(call) // used as it is: nothing to compile
					}
				default:
					fn, ok := goja.AssertFunction(m)
					if !ok {
						panic(iso.rt.NewTypeError("%s: the argument's %s is not a function", what, sym))
					}
					if isNullish(call.This) {
						panic(iso.rt.NewTypeError("%s called on null or undefined", what))
					}
					v, err := fn(o, call.This)
					if err != nil {
						panic(err)
					}
					return v
				}
			}
			return orig(goja.FunctionCall{This: call.This, Arguments: []goja.Value{iso.checkedPattern(arg, what)}})
		}
	}
}

// isRegExpLike is the spec's IsRegExp: Symbol.match decides when it is
// set, else being a regular expression.
func isRegExpLike(o *goja.Object) bool {
	if m := o.GetSymbol(goja.SymMatch); m != nil && !goja.IsUndefined(m) {
		return m.ToBoolean()
	}
	return o.ClassName() == "RegExp"
}
