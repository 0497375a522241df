package sandbox

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A run that ends its worker where its line cannot be read (native
// recursion, a builtin that is not wrapped) has no line; its program's
// later runs are traced, and the next such run names the statement it
// was in. The pool serves throughout.
func TestTracedAfterWorkerDeath(t *testing.T) {
	s := newWorkerSupervisor(t, &recordingActions{}, Options{Workers: 2, KillGrace: 300 * time.Millisecond, MaxStack: 8 << 20})
	benign := mustCompile(t, "pong.skyext", pongCode)
	for _, tc := range []struct {
		name, code, wantAt string
		limits             Limits
	}{
		{
			name:   "native recursion through proxies",
			code:   "let h = {};\nfor (let i = 0; i < 100000; i++) h = new Proxy({}, h);\nconst p = new Proxy({}, h);\nif (p.x) throw new Error('unreachable');",
			wantAt: "at chain.skyext:4:1, in the statement the run started last",
			limits: Limits{Timeout: 20 * time.Second},
		},
		{
			name:   "a builtin reached by a computed name",
			code:   "JSON.stringify([1]);\nconst o = { length: 2 ** 32 - 1 };\n  Array.prototype['index' + 'Of'].call(o, 1);",
			wantAt: "at chain.skyext:3:3, in the statement the run started last",
			limits: Limits{Timeout: 300 * time.Millisecond},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompile(t, "chain.skyext", tc.code)
			run := func(guild string) *Failure {
				t.Helper()
				res, err := s.Deliver(context.Background(), Delivery{
					Spec:  Spec{Key: Key{Guild: guild, Extension: "chain"}, Version: "1.0.0", Program: p, Limits: tc.limits},
					Event: commandEvent("boom"),
				})
				if err != nil || res.Failure == nil || !res.Failure.EndedWorker {
					t.Fatalf("want a run that ends its worker; got %v %+v", err, res.Failure)
				}
				pong(t, s, benign, guild, "after")
				return res.Failure
			}
			if f := run(tc.name + " first"); f.Stack != "" {
				t.Fatalf("the first run has a line (%q); this case no longer needs tracing", f.Stack)
			}
			f := run(tc.name + " second")
			if !strings.Contains(f.Stack, tc.wantAt) {
				t.Fatalf("traced run: %s: stack %q, want %q", f.Message, f.Stack, tc.wantAt)
			}
			t.Logf("%s: %s\n%s", f.Kind, f.Message, f.Stack)
		})
	}
}

// Tracing adds calls to the syntax tree, not to the text: a traced run
// behaves as the untraced one and reports the same positions.
func TestTracedProgramBehavesTheSame(t *testing.T) {
	const code = `'use strict';
const m = require('message');
function f(n) {
  'use strict';
  switch (n) { case 1: return 'one'; default: { let x = n; return String(x); } }
}
label: for (let i = 0; i < 3; i++) { if (i === 1) continue label; await m.reply(f(i)); }
const o = {};
  o.missing.field = 1;`
	plain := mustCompile(t, "same.skyext", code)
	traced := plain.traced()
	if traced == nil || traced.sum == plain.sum || len(traced.trace) == 0 {
		t.Fatalf("no traced variant: %+v", traced)
	}
	var stacks, replies []string
	for i, p := range []*Program{plain, traced} {
		acts := &recordingActions{}
		s := NewSupervisor(acts, nil)
		res, err := s.Deliver(context.Background(), Delivery{
			Spec:  Spec{Key: Key{Guild: "g", Extension: "same"}, Program: p, Granted: NewScopeSet("messages_write")},
			Event: commandEvent("x"),
		})
		s.Close()
		if err != nil || res.Failure == nil {
			t.Fatalf("run %d: want the TypeError; got %v %+v", i, err, res.Failure)
		}
		// goja ends each frame with its bytecode offset, which the added
		// calls move; the positions must not.
		stacks = append(stacks, res.Failure.Message+"\n"+bytecodeOffset.ReplaceAllString(res.Failure.Stack, ""))
		replies = append(replies, strings.Join(acts.sent(), "|"))
	}
	if stacks[0] != stacks[1] || replies[0] != replies[1] {
		t.Fatalf("traced run differs:\nplain:  %q %q\ntraced: %q %q", stacks[0], replies[0], stacks[1], replies[1])
	}
	if !strings.Contains(stacks[0], "same.skyext:9:13") {
		t.Fatalf("stack %q does not name line 9, column 13", stacks[0])
	}
}

var bytecodeOffset = regexp.MustCompile(`(?m)\(\d+\)$`)
