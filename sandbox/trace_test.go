package sandbox

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A run that ends its worker by a limit where its line cannot be read
// (native recursion, a builtin that is not wrapped) is rerun at once,
// traced, in a worker of its own with host calls refused, and gets the
// statement the rerun started last. Its program's later runs are traced
// themselves. A rerun that goes another way (here: it needed a host
// call's answer) finds nothing, and the next run names the line. The pool
// serves throughout, and no rerun acts.
func TestTracedAfterWorkerDeath(t *testing.T) {
	acts := &recordingActions{}
	s := newWorkerSupervisor(t, acts, Options{Workers: 2, KillGrace: 300 * time.Millisecond, MaxStack: 8 << 20})
	benign := mustCompile(t, "pong.skyext", pongCode)
	const chain = "let h = {};\nfor (let i = 0; i < 100000; i++) h = new Proxy({}, h);\nconst p = new Proxy({}, h);\nif (p.x) throw new Error('unreachable');"
	for _, tc := range []struct {
		name, code, wantAt string
		limits             Limits
		rerunFinds         bool
	}{
		{
			name:   "native recursion through proxies",
			code:   chain,
			wantAt: "at chain.skyext:4:1, in the statement the run started last",
			limits: Limits{Timeout: 20 * time.Second}, rerunFinds: true,
		},
		{
			name:   "a builtin reached by a computed name",
			code:   "JSON.stringify([1]);\nconst o = { length: 2 ** 32 - 1 };\n  Array.prototype['index' + 'Of'].call(o, 1);",
			wantAt: "at chain.skyext:3:3, in the statement the run started last",
			limits: Limits{Timeout: 300 * time.Millisecond}, rerunFinds: true,
		},
		{
			name:   "after a host call",
			code:   "await require('message').reply('before');\n" + chain,
			wantAt: "at chain.skyext:5:1, in the statement the run started last",
			limits: Limits{Timeout: 20 * time.Second},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompile(t, "chain.skyext", tc.code)
			run := func(guild string) *Failure {
				t.Helper()
				res, err := s.Deliver(context.Background(), Delivery{
					Spec:  Spec{Key: Key{Guild: guild, Extension: "chain"}, Version: "1.0.0", Program: p, Granted: NewScopeSet("messages_write"), Limits: tc.limits},
					Event: commandEvent("boom"),
				})
				if err != nil || res.Failure == nil || !res.Failure.EndedWorker {
					t.Fatalf("want a run that ends its worker; got %v %+v", err, res.Failure)
				}
				pong(t, s, benign, guild, "after")
				return res.Failure
			}
			replies := len(acts.sent())
			first := run(tc.name + " first")
			switch {
			case tc.rerunFinds && !strings.Contains(first.Stack, tc.wantAt+"\n"+rerunNote):
				t.Fatalf("first run: stack %q, want %q from the rerun", first.Stack, tc.wantAt)
			case !tc.rerunFinds && first.Stack != "":
				t.Fatalf("first run: stack %q, want none (the rerun's host call was refused)", first.Stack)
			}
			second := run(tc.name + " second")
			if !strings.Contains(second.Stack, tc.wantAt) || strings.Contains(second.Stack, rerunNote) {
				t.Fatalf("traced run: %s: stack %q, want %q and no rerun", second.Message, second.Stack, tc.wantAt)
			}
			if got := len(acts.sent()) - replies; got != 2*strings.Count(tc.code, "reply(")+2 {
				t.Fatalf("%d host calls reached the trusted side; want the two runs' and the two pongs'", got)
			}
			t.Logf("%s: %s\n%s", first.Kind, first.Message, first.Stack)
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
