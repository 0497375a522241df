package sandbox

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// The hardened builtins must behave as the standard ones for ordinary
// input; only the limits differ.
func TestHardenedBuiltinsKeepTheirMeaning(t *testing.T) {
	t.Parallel()
	checks := []struct{ expr, want string }{
		{`[1, null, undefined, 'a', [2, 3]].join('-')`, `1---a-2,3`},
		{`[1, 2].join()`, `1,2`},
		{`String([1, [2, [3]]])`, `1,2,3`},
		{`(() => { const a = [1]; a.push(a); return String(a); })()`, `1,`},
		{`[1.5, 'x'].toLocaleString()`, `1.5,x`},
		{`JSON.stringify({ b: 1, a: [1, { c: 2 }] }, null, 1)`, "{\n \"b\": 1,\n \"a\": [\n  1,\n  {\n   \"c\": 2\n  }\n ]\n}"},
		{`JSON.stringify({ b: 1, a: 2, c: { a: 3, b: 4 } }, ['a', 'c'])`, `{"a":2,"c":{"a":3}}`},
		{`JSON.stringify({ a: 1, b: 'x' }, (k, v) => typeof v === 'number' ? v * 2 : v)`, `{"a":2,"b":"x"}`},
		{`JSON.stringify({ d: { toJSON() { return 'D'; } }, f() {}, u: undefined })`, `{"d":"D"}`},
		{`JSON.stringify([new Date(0)])`, `["1970-01-01T00:00:00.000Z"]`},
		{`(() => { try { const o = {}; o.o = o; JSON.stringify(o); } catch (e) { return e instanceof TypeError; } })()`, `true`},
		{`JSON.stringify('x')`, `"x"`},
		{`String(JSON.stringify(undefined))`, `undefined`},
		{`JSON.parse('{"a":[1,2,{"b":"[[["}]}').a[2].b`, `[[[`},
		{`JSON.parse('[1,2]', (k, v) => Array.isArray(v) ? v : v * 10).join()`, `10,20`},
		{`'ab'.repeat(3)`, `ababab`},
		{`(() => { let n = 0; const s = String.prototype.repeat.call({ toString() { n++; return 'a'; } }, 2); return s + n; })()`, `aa1`},
		{`'x'.padStart(3, '-') + 'y'.padEnd(2)`, `--xy `},
		{`Array.from('abc').join()`, `a,b,c`},
		{`Array.from({ length: 3 }, (_, i) => i * 2).join()`, `0,2,4`},
		{`[...[1, 2, 3], ...new Set([4])].join()`, `1,2,3,4`},
		{`(() => { let s = 0; for (const x of [1, 2, 3]) s += x; const [a, , b] = [4, 5, 6]; return s + a + b; })()`, `16`},
		{`[...[10, 20].keys(), ...[30].entries()].join()`, `0,1,0,30`},
		{`Math.max.apply(null, [1, 5, 2]) + Reflect.apply(Math.min, null, [3, 1])`, `6`},
		{`Reflect.construct(Array, [3]).length`, `3`},
		{`new Array(5).fill(7, 1, -1).join()`, `,7,7,7,`},
		{`[[1, [2, [3, [4]]]]].flat(Infinity).join()`, `1,2,3,4`},
		{`/b+/.exec('abbc')[0] + /x/.test('y') + 'a-b'.replace(/-/g, '+') + 'a,b'.split(/,/).length`, `bbfalsea+b2`},
		{`'aXbX'.match(/X/g).length + ''.concat('q'.search(/q/))`, `20`},
		{`new ArrayBuffer(8).byteLength + new Uint8Array([1, 2, 3]).length + new Float64Array(2).byteLength`, `27`},
		{`(() => { const b = new Uint16Array(new ArrayBuffer(4)); b[1] = 7; return [b instanceof Uint16Array, new DataView(b.buffer).getUint16(2, true), ArrayBuffer.isView(b), Uint8Array.from([4, 5])[1], Uint8Array.prototype.constructor === Uint8Array].join(); })()`, `true,7,true,5,true`},
		{`(() => { class Bytes extends Uint8Array { sum() { return this.reduce((a, b) => a + b, 0); } } const b = new Bytes(3); b.set([1, 2, 3]); return b.sum() + ' ' + (b instanceof Bytes) + ' ' + (b.subarray(1) instanceof Uint8Array); })()`, `6 true true`},
		// RegExp stands behind a guard (harden_regexp.go) that must not show.
		{`(() => { class R extends RegExp {} const r = new R('a+', 'g'); return [r instanceof R, r instanceof RegExp, r.flags, RegExp.name, RegExp.length, /a/.constructor === RegExp, RegExp[Symbol.species] === RegExp, RegExp('x') instanceof RegExp, new RegExp(/q/g).flags, Object.getPrototypeOf(/a/) === RegExp.prototype].join(); })()`, `true,true,g,RegExp,2,true,true,true,g,true`},
		{`'aXbXc'.split(/x/i).length + 'abc'.match('b').index + 'abc'.search('c') + [...'a1b2'.matchAll(/\d/g)].length + 'x'.match({ [Symbol.match]: () => 5 })`, `13`},
		{`(() => { try { 'a'.matchAll(/a/); } catch (e) { return e instanceof TypeError; } })() + new RegExp('[(]\\(').source + 'a(b'.search('\\(') + /x/.compile('y').test('y') + 'falsey'.match(false).index + '1.5'.search(1.5)`, `true[(]\(1true00`},
		// The pattern argument is converted once: the check and the
		// compiler see the same string.
		{`(() => { let n = 0; const at = 'x'.search({ toString() { return n++ ? '('.repeat(300) + ')'.repeat(300) : 'x'; } }); return at + ' ' + n; })()`, `0 1`},
		{`typeof eval + typeof Function + typeof process`, `undefinedfunctionundefined`},
		{`(() => {}) instanceof Function && typeof Function.prototype.bind`, `function`},
	}
	var code strings.Builder
	code.WriteString("const m = require('message');\nconst fails = [];\n")
	for _, c := range checks {
		code.WriteString("try { const got = String(" + c.expr + "); if (got !== " + quote(c.want) + ") fails.push(" + quote(c.expr) + " + ' => ' + JSON.stringify(got)); } catch (e) { fails.push(" + quote(c.expr) + " + ' threw ' + e); }\n")
	}
	code.WriteString("if (fails.length) throw new Error(fails.join('\\n'));")
	s := NewSupervisor(&recordingActions{}, nil)
	defer s.Close()
	res := deliver(t, s, code.String(), nil, Limits{})
	if res.Failure != nil {
		t.Fatalf("%s\n%s", res.Failure.Message, res.Failure.Stack)
	}
}

func TestHardenedBuiltinsStopTheRun(t *testing.T) {
	t.Parallel()
	lim := Limits{MaxAlloc: 32 << 20, Timeout: 10 * time.Second}
	for _, tc := range []struct{ code, kind, msg string }{
		// A limit failure cannot be caught: the runtime is interrupted as
		// the error unwinds.
		{"try { 'x'.repeat(2 ** 30); } catch (e) {}\nawait require('message').reply('went on');", FailMemory, "repeat"},
		{"try { JSON.parse('['.repeat(1000)); } catch (e) {}", FailStack, "JSON.parse"},
		{"const a = []; a.length = 2 ** 31; try { a.join(); } catch (e) {}", FailMemory, "join"},
		{"try { new ArrayBuffer(2 ** 31); } catch (e) {}", FailMemory, "new ArrayBuffer(2147483648) would allocate"},
		{"try { new Float64Array('33554432'); } catch (e) {}", FailMemory, "new Float64Array(33554432) would allocate 268435456 bytes"},
		{"class Big extends BigInt64Array {}\nnew Big(2 ** 28);", FailMemory, "BigInt64Array"},
		// The allocation meter may see it first (in process it counts
		// every goroutine's allocations, parallel tests included).
		{"JSON.stringify({ a: 'x'.repeat(2 ** 22) }, (k, v) => k === 'a' ? Array(100).fill(v) : v);", FailMemory, ""},
		{"let o = 1;\nfor (let i = 0; i < 300; i++) o = [o];\ntry { await require('message').reply(o); } catch (e) {}", FailStack, "JSON.stringify"},
		{"try { new RegExp('('.repeat(257) + ')'.repeat(257)); } catch (e) {}", FailStack, "RegExp: the pattern nests groups more than 256 deep"},
		{"try { /a/.compile('x'.repeat(70000)); } catch (e) {}", FailMemory, "RegExp.prototype.compile: a pattern of 70000 characters"},
		{"try { 'a'.matchAll({ toString: () => '('.repeat(300) + ')'.repeat(300) }); } catch (e) {}", FailStack, "String.prototype.matchAll"},
	} {
		s := NewSupervisor(&recordingActions{}, nil)
		res := deliver(t, s, tc.code, []string{"messages_write"}, lim)
		s.Close()
		if res.Failure == nil || res.Failure.Kind != tc.kind || !strings.Contains(res.Failure.Message, tc.msg) {
			t.Errorf("%q: %+v; want %s (%s)", tc.code, res.Failure, tc.kind, tc.msg)
		}
	}
}

func TestHostCallArgumentsAreBounded(t *testing.T) {
	t.Parallel()
	acts := &recordingActions{}
	s := NewSupervisor(acts, nil)
	defer s.Close()
	res := deliver(t, s, "try { await require('message').reply('x'.repeat(5000)); } catch (e) { if (e.code !== 'INVALID_ARGUMENT') throw e; return; }\nthrow new Error('accepted');", []string{"messages_write"}, Limits{MaxArgBytes: 1000})
	if res.Failure != nil {
		t.Fatal(res.Failure)
	}
	if len(acts.sent()) != 0 {
		t.Fatal("an oversized call reached the trusted side")
	}
}

func TestConsoleIsRateLimitedAcrossInvocations(t *testing.T) {
	t.Parallel()
	s := NewSupervisor(&recordingActions{}, nil)
	defer s.Close()
	kept, dropped := 0, 0
	for range 10 {
		res := deliver(t, s, "for (let i = 0; i < 50; i++) console.log('line', i);", nil, Limits{})
		kept += len(res.Console)
		dropped += res.ConsoleDropped
	}
	if kept > consoleBurst+10 || kept+dropped != 500 {
		t.Fatalf("kept %d, dropped %d", kept, dropped)
	}
}

func TestPrimitiveArgsMatchJSONStringify(t *testing.T) {
	t.Parallel()
	rt := goja.New()
	v, err := rt.RunString(`["plain", "quote \" back \\ slash", "ctl \u0001\b\f\n\r\t", "émoji 🎉", 0, -1.5, 1e21, 2 ** 53, NaN, Infinity, true, false, null, undefined]`)
	if err != nil {
		t.Fatal(err)
	}
	arr := v.(*goja.Object)
	stringify, _ := goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("stringify"))
	for i := range int(arr.Get("length").ToInteger()) {
		el := arr.Get(strconv.Itoa(i))
		got, ok := primitiveArgs([]goja.Value{el})
		want, _ := stringify(goja.Undefined(), rt.NewArray(el))
		if !ok || got != want.String() {
			t.Errorf("%v: got %q (%v), want %q", el, got, ok, want)
		}
	}
	if _, ok := primitiveArgs([]goja.Value{rt.NewObject()}); ok {
		t.Error("an object took the primitive path")
	}
}
