package sandbox

import (
	"container/list"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// isolate is one goja runtime for one guild × extension. An executor owns
// it: only the executor's goroutine touches rt, except Interrupt, which
// goja makes safe from any goroutine. An isolate runs one invocation at a
// time; the others wait in its bounded queue.
type isolate struct {
	key     Key
	program *Program // what rt was built from
	ex      *executor

	rt            *goja.Runtime
	body          goja.Callable // legacy: the wrapped async function
	jsonParse     nativeFn      // the engine's own, captured before any code runs
	jsonStringify nativeFn      // the hardened one
	errorCtor     *goja.Object
	hostFns       map[string]goja.Value // host functions, made once per runtime
	jsonKeys      map[string]string     // object keys of trusted JSON seen before (jsonValueKeys)
	// Handler style (part A): what the top level registered, and the
	// modules it required (cached per runtime, not per run).
	handlers map[string]goja.Value // by Registration.ID
	regs     []Registration
	modules  map[string]goja.Value
	invoke   goja.Callable
	loading  bool           // the top level is running: sky registrations allowed
	joining  []*goja.Object // arrays being joined, innermost last
	// dirty asks for a fresh runtime before the next invocation: a goja
	// runtime interrupted inside an async function never runs promise
	// continuations again (measured), and one that overflowed or ran out of
	// budget may be mid-way through anything. State that must survive lives
	// in storage, not in the runtime.
	dirty bool

	run     *runState     // the invocation in progress, or nil
	queue   []*invocation // waiting invocations, oldest first
	lru     *list.Element // in the executor's recency list
	console tokenBucket   // console lines across invocations
}

// nativeFn is a goja builtin's own Go function.
type nativeFn = func(goja.FunctionCall) goja.Value

// busy reports whether the isolate has work in progress or waiting.
func (iso *isolate) busy() bool { return iso.run != nil || len(iso.queue) > 0 }

// defaultMaxIsolates is the live isolates per executor before the least
// recently used idle ones are dropped.
const defaultMaxIsolates = 1000

// build makes a fresh runtime for p with hardened builtins and the
// globals; it runs no extension code (load does, inside a slice).
func (iso *isolate) build(p *Program, limits Limits) error {
	rt := goja.New()
	rt.SetMaxCallStackSize(limits.MaxCallStack)
	iso.rt, iso.program, iso.body, iso.hostFns, iso.joining, iso.dirty = rt, p, nil, nil, nil, false
	iso.handlers, iso.regs, iso.modules, iso.invoke = map[string]goja.Value{}, nil, map[string]goja.Value{}, nil

	json := rt.Get("JSON").ToObject(rt)
	parse, ok := json.Get("parse").Export().(nativeFn)
	if !ok {
		return errors.New("JSON.parse is not a builtin")
	}
	iso.jsonParse = parse
	iso.errorCtor = rt.Get("Error").ToObject(rt)
	if err := iso.harden(); err != nil {
		return fmt.Errorf("harden runtime: %w", err)
	}
	iso.installGlobals()
	if p.trace != nil {
		iso.installTrace()
	}
	return nil
}

// load runs the program's top level: for legacy code, the expression that
// makes the body function. It runs inside the first invocation's slice, so
// top-level code is under that invocation's limits.
func (iso *isolate) load() error {
	iso.loading = !iso.program.legacy
	v, err := iso.rt.RunProgram(iso.program.prog)
	iso.loading = false
	if err != nil {
		return err
	}
	if iso.program.legacy {
		var ok bool
		if iso.body, ok = goja.AssertFunction(v); !ok {
			return errors.New("legacy program did not evaluate to a function")
		}
	}
	return nil
}

// drop releases the runtime; the isolate is rebuilt on its next run.
func (iso *isolate) drop() {
	iso.rt, iso.body, iso.jsonParse, iso.jsonStringify, iso.errorCtor = nil, nil, nil, nil, nil
	iso.hostFns, iso.joining = nil, nil
	iso.handlers, iso.regs, iso.modules, iso.invoke = nil, nil, nil, nil
}

// installGlobals sets require, console and global. They read iso.run, so
// they act for whichever invocation is current.
func (iso *isolate) installGlobals() {
	rt := iso.rt
	_ = rt.Set("global", rt.GlobalObject())
	_ = rt.Set("require", iso.require)
	console := rt.NewObject()
	for _, lvl := range []struct{ name, level, prefix string }{
		{"log", "info", ""}, {"info", "info", ""}, {"warn", "warn", "[WARN] "}, {"error", "error", "[ERROR] "},
	} {
		_ = console.Set(lvl.name, func(call goja.FunctionCall) goja.Value {
			iso.logConsole(lvl.level, lvl.prefix, call.Arguments)
			return goja.Undefined()
		})
	}
	_ = rt.Set("console", console)
}

// Console output is kept per invocation (Limits.MaxConsole) and rate-limited
// per isolate across invocations, so a flood of short runs cannot fill the
// extension's log either. Lines over either limit are counted, not kept.
const (
	consoleBurst  = 200 // lines
	consolePerSec = 20  // lines per second, sustained
	maxConsoleLen = 2000
)

// tokenBucket is a plain token bucket; the zero value starts full.
type tokenBucket struct {
	started bool
	tokens  float64
	last    time.Time
}

func (b *tokenBucket) take(now time.Time) bool {
	if !b.started {
		b.started, b.tokens, b.last = true, consoleBurst, now
	}
	b.tokens = min(consoleBurst, b.tokens+now.Sub(b.last).Seconds()*consolePerSec)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// logConsole records one console call in the run's result.
func (iso *isolate) logConsole(level, prefix string, args []goja.Value) {
	r := iso.run
	if r == nil {
		return
	}
	if len(r.result.Console) >= r.inv.limits.MaxConsole || !iso.console.take(time.Now()) {
		r.result.ConsoleDropped++
		return
	}
	var b strings.Builder
	b.WriteString(prefix)
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.String())
		if b.Len() > maxConsoleLen {
			break
		}
	}
	text := b.String()
	if len(text) > maxConsoleLen {
		text = truncateUTF8(text, maxConsoleLen) + "…"
	}
	r.result.Console = append(r.result.Console, ConsoleLine{Level: level, Text: text})
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// newError builds a JS Error carrying a code, with the captured constructor.
func (iso *isolate) newError(code, msg string) goja.Value {
	obj, err := iso.rt.New(iso.errorCtor, iso.rt.ToValue(msg))
	if err != nil {
		return iso.rt.ToValue(msg)
	}
	_ = obj.Set("code", code)
	return obj
}

// throw panics with a coded JS error, which goja turns into a JS throw.
func (iso *isolate) throw(code, msg string) {
	panic(iso.newError(code, msg))
}

// require resolves a module name. Handler-style code gets part A's
// modules (handlerModule), cached per runtime. Legacy code gets SkynetBot's
// (SKYEXT.md part B 2.7), cached per run: provided modules are built from
// the event's plain data plus their host functions; withheld ones throw
// MISSING_SCOPES; part A modules whose names SkynetBot never used resolve
// too. Nothing else resolves: no filesystem, no environment.
func (iso *isolate) require(call goja.FunctionCall) goja.Value {
	r := iso.run
	name := call.Argument(0).String()
	if r == nil {
		iso.throw(CodeUnknownModule, "require() is only available while the extension runs")
	}
	if !iso.program.legacy {
		if v, ok := iso.handlerModule(name); ok {
			return v
		}
		iso.throw(CodeUnknownModule, "Unknown module: "+name)
	}
	if v, ok := r.modules[name]; ok {
		return v
	}
	v := iso.legacyModule(r, name)
	if r.modules == nil {
		r.modules = map[string]goja.Value{}
	}
	r.modules[name] = v
	return v
}

// legacyAlias maps SkynetBot's second names to the module whose host
// functions they carry.
var legacyAlias = map[string]string{"economy": "points", "author": "user"}

// sharedModules are part A modules whose host functions SkynetBot's module
// of the same name also carries, with part B's semantics.
var sharedModules = map[string]bool{"http": true, "interaction": true}

func (iso *isolate) legacyModule(r *runState, name string) goja.Value {
	if v, ok := iso.jsModule(name); ok {
		return v
	}
	ev := r.inv.event
	if data, ok := ev.Modules[name]; ok {
		v := iso.parseTrusted(data)
		if v == nil {
			iso.throw(CodeInternal, "module "+name+" could not be prepared")
		}
		module := name
		if alias, ok := legacyAlias[name]; ok {
			module = alias
		}
		if obj, ok := v.(*goja.Object); ok {
			for _, api := range moduleAPIs(module) {
				if api.Legacy || sharedModules[module] {
					_ = obj.Set(strings.TrimPrefix(api.Name, module+"."), iso.hostFunc(api))
				}
			}
		}
		return iso.legacyShim(module, v)
	}
	if scope, ok := ev.Denied[name]; ok {
		iso.throw(CodeMissingScopes, fmt.Sprintf("MISSING_SCOPES: the extension did not register the %s scope needed for module %s", scope, name))
	}
	if slices.Contains(LegacyModules, name) {
		iso.throw(CodeUnknownModule, fmt.Sprintf("UNKNOWN_MODULE: module %s is not available to this trigger in this skybot", name))
	}
	if name != "sky" {
		if obj := iso.apiModule(name); obj != nil {
			return obj
		}
	}
	iso.throw(CodeUnknownModule, "Unknown module: "+name)
	return nil
}

// parseTrusted makes a JS value of JSON from the trusted side (module
// data, host call results), with the same nesting bound extension code
// gets: a result can carry outside data (an HTTP body). It returns nil
// when the data is malformed or too deep.
func (iso *isolate) parseTrusted(data []byte) goja.Value {
	if len(data) == 0 {
		return goja.Undefined()
	}
	if iso.jsonKeys == nil {
		iso.jsonKeys = map[string]string{}
	}
	v, err := jsonValueKeys(iso.rt, data, DefaultLimits.MaxNesting, iso.jsonKeys)
	if err != nil {
		return nil
	}
	return v
}

// hostFunc returns the JS function for one API, made once per runtime: it
// serialises the arguments, queues a request to the trusted side and
// returns a promise. The parent decides; this side only carries.
func (iso *isolate) hostFunc(api API) goja.Value {
	if fn, ok := iso.hostFns[api.Name]; ok {
		return fn
	}
	fn := iso.rt.ToValue(func(call goja.FunctionCall) goja.Value {
		r := iso.run
		if r == nil {
			iso.throw(CodeInvalidArgument, api.Name+" can only be called while the extension is running")
		}
		if iso.loading {
			iso.throw(CodeInvalidArgument, api.Name+" cannot be called at the top level; call it inside a handler")
		}
		if api.Sync {
			return iso.syncHostCall(r, api, call.Arguments)
		}
		promise, resolve, reject := iso.rt.NewPromise()
		refuse := func(code, msg string) goja.Value {
			_ = reject(iso.newError(code, msg))
			r.result.Calls = append(r.result.Calls, CallRecord{API: api.Name, Scope: api.Scope, Outcome: code})
			return iso.rt.ToValue(promise)
		}
		payload, msg := iso.encodeArgs(r, api, call.Arguments)
		if msg != "" {
			return refuse(CodeInvalidArgument, msg)
		}
		if len(r.calls) >= r.inv.limits.MaxInFlight {
			return refuse(CodeBudgetExceeded, fmt.Sprintf("more than %d host calls are waiting at once", r.inv.limits.MaxInFlight))
		}
		r.seq++
		r.calls = append(r.calls, pendingCall{seq: r.seq, api: api.Name, args: []byte(payload), resolve: resolve, reject: reject})
		return iso.rt.ToValue(promise)
	})
	if iso.hostFns == nil {
		iso.hostFns = map[string]goja.Value{}
	}
	iso.hostFns[api.Name] = fn
	return fn
}

// encodeArgs serialises a host call's arguments as a JSON array, or
// explains why they cannot cross.
func (iso *isolate) encodeArgs(r *runState, api API, args []goja.Value) (string, string) {
	payload, ok := primitiveArgs(args)
	if !ok {
		var out goja.Value
		if ex := iso.rt.Try(func() {
			out = iso.stringify(iso.rt.NewArray(toAny(args)...), nil, nil)
		}); ex != nil || out == nil || goja.IsUndefined(out) {
			return "", api.Name + ": arguments must be plain JSON data"
		}
		payload = out.String()
	}
	if len(payload) > r.inv.limits.MaxArgBytes {
		return "", fmt.Sprintf("%s: the arguments are %d bytes of JSON; the limit is %d", api.Name, len(payload), r.inv.limits.MaxArgBytes)
	}
	return payload, ""
}

// syncHostCall performs a synchronous API (part B's points): the slice
// waits for the trusted side's answer, at most until the run's deadline,
// and returns it or throws its error.
func (iso *isolate) syncHostCall(r *runState, api API, args []goja.Value) goja.Value {
	payload, msg := iso.encodeArgs(r, api, args)
	if msg != "" {
		r.result.Calls = append(r.result.Calls, CallRecord{API: api.Name, Scope: api.Scope, Outcome: CodeInvalidArgument})
		iso.throw(CodeInvalidArgument, msg)
	}
	out, cerr, ok := iso.ex.syncCall(r, api.Name, []byte(payload))
	if !ok {
		iso.ex.interrupt(r, timeoutMarker{}) // the deadline passed while waiting
		return goja.Undefined()
	}
	if cerr != nil && cerr.Code == CodeBudgetExceeded {
		r.limitHit = &Failure{Kind: FailBudget, Message: cerr.Message}
		iso.ex.interrupt(r, r.limitHit)
		return goja.Undefined()
	}
	if cerr != nil {
		iso.throw(cerr.Code, cerr.Message)
	}
	v := iso.parseTrusted(out)
	if v == nil {
		iso.throw(CodeInternal, "skybot returned a result the extension cannot read")
	}
	return v
}

// primitiveArgs encodes arguments that are all strings, numbers, booleans,
// null or undefined as a JSON array, exactly as JSON.stringify would, without
// building a JS array: the common case (reply('text')). It reports false
// for anything else, which takes the hardened JSON.stringify.
func primitiveArgs(args []goja.Value) (string, bool) {
	b := make([]byte, 0, 64)
	b = append(b, '[')
	for i, a := range args {
		if i > 0 {
			b = append(b, ',')
		}
		switch {
		case a == nil || goja.IsUndefined(a) || goja.IsNull(a):
			b = append(b, "null"...)
		case goja.IsString(a):
			s := a.String()
			if strings.ContainsRune(s, utf8.RuneError) {
				return "", false // maybe a lone surrogate: JSON.stringify escapes those
			}
			b = appendJSONString(b, s)
		case goja.IsNumber(a):
			if f := a.ToFloat(); math.IsNaN(f) || math.IsInf(f, 0) {
				b = append(b, "null"...)
			} else {
				b = append(b, a.String()...) // JS number formatting
			}
		default:
			if v, ok := a.Export().(bool); ok {
				b = strconv.AppendBool(b, v)
				continue
			}
			return "", false
		}
	}
	return string(append(b, ']')), true
}

// appendJSONString quotes s as JSON.stringify does (valid UTF-8 input).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= 0x20:
			b = append(b, c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
	}
	return append(b, '"')
}

func toAny(vals []goja.Value) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}
