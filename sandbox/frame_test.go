package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
)

func TestFramesRoundTrip(t *testing.T) {
	t.Parallel()
	p := mustCompile(t, "a.skyext", "await 1;")
	st := &invState{
		id: 42, key: Key{Guild: "g", Extension: "e"},
		spec:  Spec{Program: p, Limits: Limits{Timeout: time.Second}.withDefaults()},
		event: Event{Kind: "command", Modules: map[string]json.RawMessage{"message": json.RawMessage(`{"a":1}`)}, Denied: map[string]string{"member": "members_read"}},
	}
	var buf bytes.Buffer
	fw := newFrameWriter(&buf)
	_ = fw.frame(frameDeliver, func(b *wbuf) { encodeDeliver(b, st) })
	res := Result{
		Failure:  &Failure{Kind: FailMemory, Message: "m", Stack: "s"},
		Console:  []ConsoleLine{{Level: "info", Text: "hi"}},
		Calls:    []CallRecord{{API: "message.reply", Scope: "messages_write", Outcome: CodeBudgetExceeded}},
		Duration: time.Millisecond, ConsoleDropped: 3,
	}
	_ = fw.frame(frameResult, func(b *wbuf) { encodeResult(b, 42, res) })
	_ = fw.frame(frameHostCall, func(b *wbuf) { encodeHostCall(b, 42, 7, "message.reply", []byte(`["x"]`)) })
	_ = fw.frame(frameHostResult, func(b *wbuf) { encodeHostResult(b, 42, 7, nil, Errorf(CodeForbidden, "no")) })
	fw.close()

	fr := newFrameReader(&buf, maxFrameFromWorker)
	typ, payload, err := fr.next()
	if err != nil || typ != frameDeliver {
		t.Fatal(typ, err)
	}
	d, err := decodeDeliver(payload)
	if err != nil || d.inv.id != 42 || d.inv.key != st.key || d.sum != p.sum || !reflect.DeepEqual(d.inv.event, st.event) || d.inv.limits != st.spec.Limits {
		t.Fatalf("deliver: %+v %v", d.inv, err)
	}
	typ, payload, _ = fr.next()
	id, got, err := decodeResult(payload)
	if typ != frameResult || err != nil || id != 42 || !reflect.DeepEqual(got, res) {
		t.Fatalf("result: %+v %v", got, err)
	}
	typ, payload, _ = fr.next()
	hc, err := decodeHostCall(payload)
	if typ != frameHostCall || err != nil || hc.inv != 42 || hc.seq != 7 || hc.api != "message.reply" || string(hc.args) != `["x"]` {
		t.Fatalf("host call: %+v %v", hc, err)
	}
	typ, payload, _ = fr.next()
	hr, err := decodeHostResult(payload)
	if typ != frameHostResult || err != nil || hr.id != 42 || hr.seq != 7 || hr.err == nil || hr.err.Code != CodeForbidden {
		t.Fatalf("host result: %+v %v", hr, err)
	}
}

// FuzzWorkerFrames feeds the parent's decoders what a compromised worker
// could send: they must fail cleanly, never panic or allocate without
// bound, and never invent a failure kind.
func FuzzWorkerFrames(f *testing.F) {
	var w wbuf
	encodeResult(&w, 1, Result{Failure: &Failure{Kind: FailError, Message: "x"}, Console: []ConsoleLine{{"info", "y"}}})
	f.Add(byte(frameResult), w.b)
	w = wbuf{}
	encodeHostCall(&w, 1, 2, "message.reply", []byte(`[]`))
	f.Add(byte(frameHostCall), w.b)
	f.Add(byte(frameResult), []byte{1, 200, 200, 200, 200, 1})
	f.Fuzz(func(t *testing.T, typ byte, payload []byte) {
		switch typ % 3 {
		case 0:
			if _, res, err := decodeResult(payload); err == nil && res.Failure != nil {
				if !res.Failure.Attributable() && res.Failure.Kind != FailRejected && res.Failure.Kind != FailWorker && res.Failure.Kind != FailInternal {
					t.Fatalf("unknown kind %q", res.Failure.Kind)
				}
			}
		case 1:
			_, _ = decodeHostCall(payload)
		case 2:
			_, _ = decodeDeliver(payload)
		}
	})
}

// FuzzJSONValue checks that jsonValue builds what goja's own JSON.parse
// builds, and refuses what it refuses, with and without a key table (and
// with one already holding the text's keys).
func FuzzJSONValue(f *testing.F) {
	for _, seed := range []string{
		`{"a":[1,-2.5e3,"x\"\\\/\b\f\n\r\t\u00e9\ud83c\udf89\ud800"],"b":{"c":null,"d":true,"e":false}}`,
		`{"a\"b":1,"\u0041":2,"tab\there":3,"é":4,"a":5,"a":6}`,
		`[]`, `{}`, `"s"`, `12345678901234567890`, `[1,]`, `{"a" 1}`, `01`, `1e400`, ` [ 1 , 2 ] `,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		rt := goja.New()
		parse, _ := goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("parse"))
		stringify, _ := goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("stringify"))
		want, werr := parse(goja.Undefined(), rt.ToValue(text))
		got, gerr := jsonValue(rt, []byte(text), 64)
		keys := map[string]string{}
		for range 2 {
			kv, kerr := jsonValueKeys(rt, []byte(text), 64, keys)
			if (kerr == nil) != (gerr == nil) {
				t.Fatalf("%q: with a key table err %v, without %v", text, kerr, gerr)
			}
			if gerr == nil {
				a, _ := stringify(goja.Undefined(), got)
				b, _ := stringify(goja.Undefined(), kv)
				if !a.StrictEquals(b) {
					t.Fatalf("%q: with a key table %s, without %s", text, b, a)
				}
			}
		}
		if gerr != nil {
			if werr == nil && jsonDepth([]byte(text), 64) <= 64 {
				t.Fatalf("refused %q, which JSON.parse accepts", text)
			}
			return
		}
		// Where goja departs from ECMAScript, jsonValue follows the spec:
		// numbers out of range are ±Infinity (goja refuses them), and lone
		// surrogates stay (goja turns them into U+FFFD).
		if werr != nil {
			if strings.Contains(werr.Error(), "cannot unmarshal number") {
				return
			}
			t.Fatalf("accepted %q, which JSON.parse refuses: %v", text, werr)
		}
		if strings.Contains(strings.ToLower(text), `\ud`) {
			return
		}
		ws, _ := stringify(goja.Undefined(), want)
		gs, _ := stringify(goja.Undefined(), got)
		if !ws.StrictEquals(gs) {
			t.Fatalf("%q: got %s, want %s", text, gs, ws)
		}
	})
}

// TestJSONKeyTableIsBounded: keys from outside data (an HTTP body) cannot
// grow an isolate's key table without bound.
func TestJSONKeyTableIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 3 * maxKeyTable {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	fmt.Fprintf(&b, `"%s":0}`, strings.Repeat("x", maxTableKey+1))
	rt := goja.New()
	keys := map[string]string{}
	v, err := jsonValueKeys(rt, []byte(b.String()), 64, keys)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(v.ToObject(rt).Keys()); n != 3*maxKeyTable+1 {
		t.Errorf("object has %d keys", n)
	}
	if len(keys) != maxKeyTable {
		t.Errorf("key table holds %d keys, want %d", len(keys), maxKeyTable)
	}
}

// Trusted JSON makes own data properties whatever extension code did to
// Object.prototype: no setter there runs, and the objects still inherit
// from it.
func TestTrustedJSONIgnoresPrototypeSetters(t *testing.T) {
	rt := goja.New()
	if _, err := rt.RunString(`globalThis.stolen = [];
Object.defineProperty(Object.prototype, 'id', { set(v) { stolen.push(v); }, get() { return 'forged'; }, configurable: true });`); err != nil {
		t.Fatal(err)
	}
	v, err := jsonValue(rt, []byte(`{"id":"1100","author":{"id":"1200"}}`), 64)
	if err != nil {
		t.Fatal(err)
	}
	rt.Set("v", v)
	got, err := rt.RunString(`[v.id, v.author.id, stolen.length, Object.getPrototypeOf(v) === Object.prototype, v.hasOwnProperty('id'), Object.keys(v).join()].join(' ')`)
	if err != nil {
		t.Fatal(err)
	}
	if want := "1100 1200 0 true true id,author"; got.String() != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
