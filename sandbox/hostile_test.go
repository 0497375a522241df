package sandbox

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The hostile-extension suite runs through the real worker path: the test
// binary re-executed as sandbox workers (see TestMain).

// newWorkerSupervisor starts a pool for a test.
func newWorkerSupervisor(t *testing.T, acts Actions, opts Options) *Supervisor {
	t.Helper()
	if opts.Workers == 0 {
		opts.Workers = 2
	}
	s, err := NewWorkerSupervisor(acts, nil, opts)
	if err != nil {
		t.Fatalf("start workers: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// guildOn returns a guild id that the pool places on the given worker.
func guildOn(t *testing.T, s *Supervisor, worker int, prefix string) string {
	t.Helper()
	pl := s.be.(*pool)
	for i := range 1000 {
		g := fmt.Sprintf("%s-%d", prefix, i)
		if pl.slotFor(Key{Guild: g}).index == worker {
			return g
		}
	}
	t.Fatalf("no guild lands on worker %d", worker)
	return ""
}

// workerPid is the pid of the worker process in slot i (waiting for a
// restart to finish).
func workerPid(t *testing.T, s *Supervisor, i int) int {
	t.Helper()
	pr, err := s.be.(*pool).slots[i].get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return pr.cmd.Process.Pid
}

func mustCompile(t *testing.T, name, code string) *Program {
	t.Helper()
	p, err := Compile(name, code, true)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return p
}

// spinCode stays in native code for minutes, out of any interrupt's reach:
// Array.prototype.indexOf over an array-like whose length getter tells the
// hardening 0 and the builtin 2³²-1.
const spinCode = "let n = 0;\nArray.prototype.indexOf.call({ get length() { return n++ ? 2 ** 32 - 1 : 0; } }, 1);"

const pongCode = "const m = require('message');\nawait m.reply('pong ' + m.content);"

// pong delivers one event to a benign extension and fails the test unless
// it answered.
func pong(t *testing.T, s *Supervisor, p *Program, guild, content string) time.Time {
	t.Helper()
	res, err := s.Deliver(context.Background(), Delivery{
		Spec:  Spec{Key: Key{Guild: guild, Extension: "pong"}, Version: "1.0.0", Program: p, Granted: NewScopeSet("messages_write")},
		Event: commandEvent(content),
	})
	if err != nil || res.Failure != nil {
		t.Fatalf("benign extension in %s did not answer: %v %v", guild, err, res.Failure)
	}
	return time.Now()
}

func TestHostileExtensions(t *testing.T) {
	acts := &recordingActions{}
	s := newWorkerSupervisor(t, acts, Options{Workers: 2, KillGrace: 300 * time.Millisecond, MaxStack: 8 << 20})
	hostileGuild := guildOn(t, s, 0, "hostile")
	otherGuild := guildOn(t, s, 1, "other")
	benign := mustCompile(t, "pong.skyext", pongCode)

	fast := Limits{Timeout: 300 * time.Millisecond}
	// Memory cases get a long deadline so that the memory limit, not the
	// clock, ends them (the race detector slows everything ~10×).
	mem := Limits{Timeout: 20 * time.Second, MaxAlloc: 32 << 20}
	cases := []struct {
		name     string
		code     string
		granted  []string
		limits   Limits
		wantKind string
		wantMsg  string // substring of the failure message
		wantAt   string // substring of the failure's stack, if set
		ended    bool   // the run ends its worker (killed or died, replaced)
		slow     bool   // runs long enough that the other guild must answer before it ends
	}{
		{name: "infinite loop", code: "while (true) {}", limits: fast, wantKind: FailTimeout, slow: true},
		{
			name: "infinite loop in an async continuation", code: "await require('message').reply('x');\nfor (;;) {}",
			granted: []string{"messages_write"}, limits: fast, wantKind: FailTimeout, slow: true,
		},
		{name: "deep recursion", code: "function f(n) { return f(n + 1) + 1; }\nf(0);", wantKind: FailStack},
		{name: "memory by growth: push in a loop", code: "const a = [];\nfor (;;) a.push({ n: a.length, s: 'item ' + a.length });", limits: mem, wantKind: FailMemory, slow: true},
		{name: "memory by growth: string doubling", code: "let s = 'x';\nfor (;;) s += s;", limits: mem, wantKind: FailMemory},
		{name: "single huge allocation: repeat", code: "'x'.repeat(2 ** 30);", limits: mem, wantKind: FailMemory, wantMsg: "repeat"},
		{name: "single huge allocation: padStart", code: "''.padEnd(2 ** 30, 'ab');", limits: mem, wantKind: FailMemory, wantMsg: "pad"},
		{name: "single huge allocation: Array.from an array-like", code: "Array.from({ length: 2 ** 31 });", limits: mem, wantKind: FailMemory, wantMsg: "Array.from"},
		{name: "single huge allocation: apply with a huge array-like", code: "Math.max.apply(null, { length: 2 ** 30 });", limits: mem, wantKind: FailMemory, wantMsg: "apply"},
		{name: "single huge allocation: Reflect.apply", code: "Reflect.apply(Math.max, null, { length: 2 ** 30 });", limits: mem, wantKind: FailMemory, wantMsg: "Reflect.apply"},
		{name: "single huge allocation: fill a sparse array", code: "new Array(2 ** 32 - 1).fill(0);", limits: mem, wantKind: FailMemory, wantMsg: "fill"},
		{name: "single huge allocation: spread a sparse array", code: "Math.max(...new Array(2 ** 32 - 1));", limits: mem, wantKind: FailMemory, wantMsg: "iteration"},
		{name: "single huge allocation: join", code: "new Array(2 ** 24).join('abcdefgh');", limits: mem, wantKind: FailMemory, wantMsg: "join"},
		{name: "single huge allocation: join of big strings", code: "const big = 'x'.repeat(2 ** 22);\nArray.from({ length: 64 }, () => ({ toString: () => big })).join('');", limits: mem, wantKind: FailMemory, wantMsg: "join"},
		{name: "single huge allocation: ArrayBuffer", code: "new ArrayBuffer(2 ** 31);", limits: mem, wantKind: FailMemory, wantMsg: "ArrayBuffer"},
		{name: "single huge allocation: a typed array", code: "new Float64Array(2 ** 28);", limits: mem, wantKind: FailMemory, wantMsg: "Float64Array"},
		{name: "native recursion: deeply nested JSON.parse", code: "JSON.parse('['.repeat(100000) + ']'.repeat(100000));", wantKind: FailStack, wantMsg: "JSON.parse"},
		{name: "native recursion: deep object stringify", code: "let o = {};\nfor (let i = 0; i < 100000; i++) o = { o };\nJSON.stringify(o);", wantKind: FailStack, wantMsg: "JSON.stringify"},
		{name: "native recursion: nested arrays to string", code: "let a = [];\nfor (let i = 0; i < 100000; i++) a = [a];\nString(a);", wantKind: FailStack, wantMsg: "nested arrays"},
		{
			// Not hardened: the recursion overflows the worker's stack, the
			// worker dies and is replaced, and the run is blamed, with the
			// line a traced rerun finds (rerun.go).
			name: "native recursion: proxy handler chain kills its worker", code: "let h = {};\nfor (let i = 0; i < 100000; i++) h = new Proxy({}, h);\nnew Proxy({}, h).x;",
			limits: Limits{Timeout: 20 * time.Second}, wantKind: FailStack, wantMsg: "worker", slow: true, ended: true,
			wantAt: "at hostile.skyext:3:1, in the statement the run started last",
		},
		{
			// Nor are prototype chains: goja looks a missing property up
			// the chain by native recursion, and an object can be given a
			// prototype by syntax no wrapper sees ({ __proto__: o }, class
			// extends), so no check at creation could bound the chain.
			name: "native recursion: a long prototype chain kills its worker", code: "let o = {};\nfor (let i = 0; i < 400000; i++) o = Object.create(o);\no.missing;",
			limits: Limits{Timeout: 20 * time.Second}, wantKind: FailStack, wantMsg: "worker", ended: true, wantAt: "at hostile.skyext:3:1",
		},
		{
			name: "native recursion: a prototype chain through proxies kills its worker", code: "let o = {};\nfor (let i = 0; i < 100000; i++) o = Object.create(new Proxy(o, {}));\no.x;",
			limits: Limits{Timeout: 20 * time.Second}, wantKind: FailStack, wantMsg: "worker", ended: true, wantAt: "at hostile.skyext:3:1",
		},
		// goja's pattern parser recurses natively once per nested group:
		// every route from a string to a compiled pattern checks it first.
		{name: "native recursion: a RegExp from a deeply nested pattern", code: "new RegExp('('.repeat(300) + ')'.repeat(300));", wantKind: FailStack, wantMsg: "RegExp: the pattern nests groups more than 256 deep"},
		{name: "native recursion: match builds a nested pattern from a string", code: "'x'.match('(?:'.repeat(300) + ')'.repeat(300));", wantKind: FailStack, wantMsg: "String.prototype.match: the pattern nests"},
		{
			name: "native recursion: search builds one from a toString that changes its answer",
			code: "let n = 0;\n'x'.search({ toString() { return n++ ? 'x' : '('.repeat(300) + ')'.repeat(300); } });", wantKind: FailStack, wantMsg: "String.prototype.search: the pattern nests",
		},
		{name: "native builtin made to loop: a RegExp pattern too long to compile", code: "new RegExp('a?'.repeat(1000000));", limits: fast, wantKind: FailMemory, wantMsg: "RegExp: a pattern of 2000000 characters is over the limit of 65536"},
		// indexOf or forEach over 2³²-1 holes would run for minutes in
		// native code, where no interrupt reaches: refused before it starts.
		{name: "native builtin made to loop: indexOf over holes", code: "new Array(2 ** 32 - 1).indexOf(1);", limits: fast, wantKind: FailMemory, wantMsg: "Array.prototype.indexOf would go through 4294967295 elements"},
		{name: "native builtin made to loop: forEach over holes", code: "new Array(2 ** 32 - 1).forEach(() => {});", limits: fast, wantKind: FailMemory, wantMsg: "Array.prototype.forEach"},
		{name: "native builtin made to allocate: sort of holes", code: "new Array(2 ** 32 - 1).sort();", limits: fast, wantKind: FailMemory, wantMsg: "Array.prototype.sort"},
		{
			// A length getter that answers 0 to the check and 2³²-1 to the
			// builtin gets past it: the worker is killed after the grace.
			name: "native builtin made to loop past the check", code: spinCode,
			limits: fast, wantKind: FailTimeout, wantMsg: "native code", slow: true, ended: true,
			wantAt: "at hostile.skyext:2:29, inside Array.prototype.indexOf",
		},
		{
			// A builtin reached by a name the code never spells is not
			// wrapped: killed with no frame of its own, and the tracked call
			// that came back before it is not blamed in its place; the
			// traced rerun names the statement.
			name: "native builtin reached by a computed name", code: "JSON.stringify([1]);\nArray.prototype['index' + 'Of'].call({ length: 2 ** 32 - 1 }, 1);",
			limits: fast, wantKind: FailTimeout, wantMsg: "native code", slow: true, ended: true,
			wantAt: "at hostile.skyext:2:1, in the statement the run started last",
		},
		{name: "catastrophic regexp backtracking", code: "/^(a+)+(?=b)c/.test('a'.repeat(40));", limits: Limits{Timeout: 2 * time.Second}, wantKind: FailTimeout, wantMsg: "regular expression"},
		{name: "flood of pending promises", code: "for (;;) new Promise(() => {});", limits: mem, wantKind: FailMemory, slow: true},
		{
			name: "flood of host calls", code: "const m = require('message');\nawait Promise.all(Array.from({ length: 1000 }, (_, i) => m.reply('n' + i)));",
			granted: []string{"messages_write"}, wantKind: FailError, wantMsg: "BUDGET_EXCEEDED",
		},
		{name: "eval", code: "eval('1 + 1');", wantKind: FailError, wantMsg: "eval is not defined"},
		{name: "Function constructor", code: "Function('return this')();", wantKind: FailError, wantMsg: "code generation"},
		{name: "Function constructor through a prototype", code: "(async function () {}).constructor('return process')();", wantKind: FailError, wantMsg: "code generation"},
		{name: "Function constructor through a generator", code: "(function* () {}).constructor('yield 1')().next();", wantKind: FailError, wantMsg: "code generation"},
		{
			name: "prototype tampering of the API objects",
			code: `const m = require('message');
const reply = m.reply;
Object.defineProperty(Object.prototype, 'code', { get() { return 'OK'; }, configurable: true });
JSON.stringify = () => '["forged"]';
JSON.parse = () => ({ success: true });
Array.prototype.push = function () { return 0; };
Function.prototype.call = function () { return 'hijacked'; };
m.reply = async () => ({ success: true });
await reply('without the scope');`,
			wantKind: FailError, wantMsg: "MISSING_SCOPES",
		},
		{name: "require outside the allowlist", code: "require('child_process');", wantKind: FailError, wantMsg: "Unknown module: child_process"},
		{
			name: "reading the environment or the filesystem",
			code: `const leaks = [];
for (const name of ['process', 'Deno', 'Bun', '__dirname', 'module', 'exports', 'os', 'fs']) if (typeof globalThis[name] !== 'undefined') leaks.push(name);
for (const mod of ['fs', 'os', 'path', 'process', 'child_process', 'net', 'http2', '../../etc/passwd', '/etc/passwd']) {
  try { require(mod); leaks.push('require ' + mod); } catch (e) { if (e.code !== 'UNKNOWN_MODULE') leaks.push(mod + ': ' + e.message); }
}
throw new Error('leaks: [' + leaks.join(', ') + ']');`,
			wantKind: FailError, wantMsg: "leaks: []",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompile(t, "hostile.skyext", tc.code)
			type ended struct {
				res Result
				err error
				at  time.Time
			}
			done := make(chan ended, 1)
			go func() {
				res, err := s.Deliver(context.Background(), Delivery{
					Spec:  Spec{Key: Key{Guild: hostileGuild, Extension: "hostile"}, Version: "1.0.0", Program: p, Granted: NewScopeSet(tc.granted...), Limits: tc.limits},
					Event: commandEvent("boom"),
				})
				done <- ended{res, err, time.Now()}
			}()
			// Meanwhile an extension in another guild (another worker) answers.
			answered := pong(t, s, benign, otherGuild, "meanwhile")
			e := <-done
			if tc.slow && !answered.Before(e.at) {
				t.Errorf("the other guild answered only after the hostile run ended")
			}
			switch f := e.res.Failure; {
			case e.err != nil:
				t.Fatalf("deliver: %v", e.err)
			case f == nil:
				t.Fatalf("the run succeeded; want a %s failure", tc.wantKind)
			case f.Kind != tc.wantKind:
				t.Fatalf("failure %s (%s); want kind %s", f.Kind, f.Message, tc.wantKind)
			case !strings.Contains(f.Message, tc.wantMsg):
				t.Fatalf("failure message %q does not contain %q", f.Message, tc.wantMsg)
			case !strings.Contains(f.Stack, tc.wantAt):
				t.Fatalf("failure stack %q does not contain %q", f.Stack, tc.wantAt)
			case f.EndedWorker != tc.ended:
				t.Fatalf("failure ended its worker: %v, want %v", f.EndedWorker, tc.ended)
			}
			t.Logf("%s: %s\n%s", e.res.Failure.Kind, e.res.Failure.Message, e.res.Failure.Stack)
			// The pool still serves, on the hostile guild's worker too.
			pong(t, s, benign, hostileGuild, "after")
			pong(t, s, benign, otherGuild, "after")
		})
	}
	if got := acts.sent(); len(got) == 0 || slicesContain(got, `"without the scope"`) {
		t.Errorf("calls that reached the trusted side: %q", got)
	}
	st := s.Stats()
	t.Logf("stats: %+v", st)
	if st.ByKind[FailMemory] == 0 || st.ByKind[FailTimeout] == 0 || st.ByKind[FailStack] == 0 {
		t.Errorf("failures not counted by kind: %v", st.ByKind)
	}
}

func slicesContain(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestWorkerKilledMidInvocationIsReplaced(t *testing.T) {
	acts := &recordingActions{block: make(chan struct{}), entered: make(chan struct{}, 4)}
	s := newWorkerSupervisor(t, acts, Options{Workers: 2})
	guild := guildOn(t, s, 0, "victim")
	p := mustCompile(t, "slow.skyext", "const m = require('message');\nif (m.content === 'spin') { const end = Date.now() + 60000; while (Date.now() < end) {} }\nawait m.reply(m.content);")
	spec := Spec{Key: Key{Guild: guild, Extension: "slow"}, Program: p, Granted: NewScopeSet("messages_write"), Limits: Limits{Timeout: time.Minute}}

	for _, tc := range []struct {
		name    string
		content string
		want    string // the in-flight invocation's failure kind
	}{
		// Killed while the worker executes its JS: it was the one running.
		{"while executing", "spin", FailCrash},
		// Killed while its host call is with the trusted side: it had
		// already acted, so it is not run again.
		{"while waiting for a host call", "wait", FailWorker},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pid := workerPid(t, s, 0)
			done := make(chan Result, 1)
			go func() {
				res, _ := s.Deliver(context.Background(), Delivery{Spec: spec, Event: commandEvent(tc.content)})
				done <- res
			}()
			if tc.content == "wait" {
				<-acts.entered
			} else {
				waitFor(t, func() bool {
					holder, _ := s.be.(*pool).slots[0].current().page.holder()
					return holder != 0
				})
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			res := <-done
			if res.Failure == nil || res.Failure.Kind != tc.want {
				t.Fatalf("in-flight invocation ended with %+v; want %s", res.Failure, tc.want)
			}
			// The next event is served by the replacement.
			go func() { acts.block <- struct{}{} }()
			res, err := s.Deliver(context.Background(), Delivery{Spec: spec, Event: commandEvent("again")})
			<-acts.entered
			if err != nil || res.Failure != nil {
				t.Fatalf("next event after the kill: %v %v", err, res.Failure)
			}
			if workerPid(t, s, 0) == pid {
				t.Fatal("the worker was not replaced")
			}
		})
	}
	if got := s.Stats().WorkerRestarts; got != 2 {
		t.Errorf("worker restarts = %d, want 2", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCollateralInvocationsAreRetried(t *testing.T) {
	acts := &recordingActions{}
	s := newWorkerSupervisor(t, acts, Options{Workers: 1, KillGrace: 200 * time.Millisecond})
	spin := mustCompile(t, "spin.skyext", spinCode)
	benign := mustCompile(t, "pong.skyext", pongCode)
	done := make(chan Result, 1)
	go func() {
		res, _ := s.Deliver(context.Background(), Delivery{
			Spec:  Spec{Key: Key{Guild: "a", Extension: "spin"}, Program: spin, Limits: Limits{Timeout: 200 * time.Millisecond}},
			Event: commandEvent("x"),
		})
		done <- res
	}()
	waitFor(t, func() bool { holder, _ := s.be.(*pool).slots[0].current().page.holder(); return holder != 0 })
	// Queued behind the stuck executor, on the same (only) worker: it has
	// not acted, so it runs again on the replacement.
	pong(t, s, benign, "b", "queued")
	if res := <-done; res.Failure == nil || res.Failure.Kind != FailTimeout {
		t.Fatalf("stuck run ended with %+v", res.Failure)
	}
	if s.Stats().Retried == 0 {
		t.Error("the queued invocation was not counted as retried")
	}
}

func TestWorkerEnvironmentIsClean(t *testing.T) {
	t.Setenv("SKYBOT_TOKEN", "secret-token-value")
	s := newWorkerSupervisor(t, &recordingActions{}, Options{Workers: 1})
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", workerPid(t, s, 0)))
	if err != nil {
		t.Skip("no /proc:", err)
	}
	for _, v := range strings.Split(string(env), "\x00") {
		if strings.Contains(v, "SKYBOT") || strings.Contains(v, "secret-token-value") {
			t.Fatalf("the worker inherited %q", v)
		}
	}
}

func TestMailboxFloodThroughWorkers(t *testing.T) {
	acts := &recordingActions{}
	s := newWorkerSupervisor(t, acts, Options{Workers: 2})
	guild := guildOn(t, s, 0, "flood")
	slow := mustCompile(t, "slow.skyext", "const end = Date.now() + 20; while (Date.now() < end) {}")
	benign := mustCompile(t, "pong.skyext", pongCode)
	spec := Spec{Key: Key{Guild: guild, Extension: "slow"}, Program: slow, Limits: Limits{MailboxSize: 4}}
	const n = 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	kinds := map[string]int{}
	for range n {
		wg.Go(func() {
			res, err := s.Deliver(context.Background(), Delivery{Spec: spec, Event: commandEvent("x")})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if res.Failure == nil {
				kinds["ok"]++
			} else {
				kinds[res.Failure.Kind]++
			}
		})
	}
	pong(t, s, benign, guildOn(t, s, 1, "other"), "meanwhile")
	pong(t, s, benign, guild, "meanwhile") // another extension in the same guild and worker
	wg.Wait()
	if kinds["ok"] < 5 || kinds[FailRejected] < n/2 || kinds["ok"]+kinds[FailRejected] != n {
		t.Fatalf("outcomes %v", kinds)
	}
	if got := s.Stats().Rejected; got != int64(kinds[FailRejected]) {
		t.Fatalf("rejected counter %d, want %d", got, kinds[FailRejected])
	}
}

func TestWorkerProgramsVersionsAndEviction(t *testing.T) {
	acts := &recordingActions{}
	s := newWorkerSupervisor(t, acts, Options{Workers: 1, MaxPrograms: 1, MaxIsolates: 2})
	prog := func(reply string) *Program {
		return mustCompile(t, reply+".skyext", "await require('message').reply("+quote(reply)+");")
	}
	a, b, c := prog("a"), prog("b"), prog("c")
	run := func(guild string, p *Program) {
		t.Helper()
		res, err := s.Deliver(context.Background(), Delivery{
			Spec:  Spec{Key: Key{Guild: guild, Extension: "x"}, Program: p, Granted: NewScopeSet("messages_write")},
			Event: commandEvent("x"),
		})
		if err != nil || res.Failure != nil {
			t.Fatalf("%s: %v %v", guild, err, res.Failure)
		}
	}
	run("g1", a)
	run("g2", b) // the worker's one-program cache drops a
	run("g3", a) // the worker asks for a again; the parent sends it
	run("g1", c) // a new version of g1's extension: its isolate is rebuilt
	run("g4", b) // a third live isolate: the least recently used idle one goes
	want := `message.reply ["a"],message.reply ["b"],message.reply ["a"],message.reply ["c"],message.reply ["b"]`
	if got := strings.Join(acts.sent(), ","); got != want {
		t.Fatalf("sent %s, want %s", got, want)
	}
	waitFor(t, func() bool { return s.Live() == 2 })
	s.Evict(Key{Guild: "g4", Extension: "x"})
	waitFor(t, func() bool { return s.Live() == 1 })
}
