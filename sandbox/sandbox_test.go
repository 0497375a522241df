package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingActions is the trusted side in these tests: it keeps what it
// was asked to perform, as Discord would keep the messages sent.
type recordingActions struct {
	mu      sync.Mutex
	calls   []Call
	fail    *CodeError
	block   chan struct{} // when non-nil, Perform waits for it
	entered chan struct{} // when non-nil, Perform signals it before waiting
}

func (a *recordingActions) Perform(ctx context.Context, c Call) (json.RawMessage, error) {
	if a.entered != nil {
		a.entered <- struct{}{}
	}
	if a.block != nil {
		select {
		case <-a.block:
		case <-ctx.Done():
			return nil, Errorf(CodeTimeout, "cancelled")
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, c)
	if a.fail != nil {
		return nil, a.fail
	}
	return json.RawMessage(`{"success":true}`), nil
}

func (a *recordingActions) sent() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, c := range a.calls {
		var args []any
		_ = json.Unmarshal(c.Args, &args)
		b, _ := json.Marshal(args)
		out = append(out, c.API.Name+" "+string(b))
	}
	return out
}

func commandEvent(content string) Event {
	return Event{
		Kind: "command",
		Modules: map[string]json.RawMessage{
			"message": json.RawMessage(`{"id":"10","content":` + quote(content) + `,"author":{"id":"7","username":"ann"}}`),
			"command": json.RawMessage(`{"prefix":"!","suffix":"","key":"hello","arguments":[]}`),
		},
		Denied: map[string]string{"member": "members_read"},
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

func deliver(t *testing.T, s *Supervisor, code string, granted []string, limits Limits) Result {
	t.Helper()
	p, err := Compile("test.skyext", code, true)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	res, err := s.Deliver(context.Background(), Delivery{
		Spec:  Spec{Key: Key{Guild: "g1", Extension: "t"}, Version: "1.0.0", Program: p, Granted: NewScopeSet(granted...), Limits: limits},
		Event: commandEvent("!hello"),
	})
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	return res
}

func TestLegacyRuns(t *testing.T) {
	t.Parallel()
	fast := Limits{Timeout: 300 * time.Millisecond}
	cases := []struct {
		name     string
		code     string
		granted  []string
		limits   Limits
		wantFail string // failure kind, "" for success
		wantMsg  string // substring of the failure message
		wantSent []string
	}{
		{
			name:     "reply with scope",
			code:     "const message = require('message');\nawait message.reply('Hello, ' + message.author.username + '!');",
			granted:  []string{"messages_write"},
			wantSent: []string{`message.reply ["Hello, ann!"]`},
		},
		{
			name:     "reply without scope rejects with MISSING_SCOPES",
			code:     "await require('message').reply('hi');",
			wantFail: FailError, wantMsg: "MISSING_SCOPES",
		},
		{
			name:     "caught missing scope lets the run succeed",
			code:     "try { await require('message').reply('hi'); } catch (e) { if (e.code !== 'MISSING_SCOPES') throw e; }",
			wantSent: nil,
		},
		{
			name:     "replies keep call order without await",
			code:     "const m = require('message'); m.reply('one'); m.reply('two'); m.reply('three');",
			granted:  []string{"messages_write"},
			wantSent: []string{`message.reply ["one"]`, `message.reply ["two"]`, `message.reply ["three"]`},
		},
		{
			name:     "top-level return ends the run early",
			code:     "const m = require('message');\nif (true) return;\nawait m.reply('never');",
			granted:  []string{"messages_write"},
			wantSent: nil,
		},
		{
			name:     "unknown module",
			code:     "require('fs');",
			wantFail: FailError, wantMsg: "Unknown module: fs",
		},
		{
			name:     "module withheld for a scope",
			code:     "require('member');",
			wantFail: FailError, wantMsg: "members_read",
		},
		{
			name:     "legacy module not provided for this trigger",
			code:     "require('interaction');",
			wantFail: FailError, wantMsg: "module interaction is not available to this trigger",
		},
		{
			name:     "infinite loop is stopped",
			code:     "while (true) {}",
			limits:   fast,
			wantFail: FailTimeout,
		},
		{
			name:     "infinite loop inside an async continuation is stopped",
			code:     "const m = require('message');\nawait m.reply('x');\nfor (;;) {}",
			granted:  []string{"messages_write"},
			limits:   fast,
			wantFail: FailTimeout,
			wantSent: []string{`message.reply ["x"]`},
		},
		{
			name:     "deep recursion hits the stack limit",
			code:     "function f(n) { return f(n + 1) + 1; } f(0);",
			wantFail: FailStack,
		},
		{
			name:     "eval is gone",
			code:     "eval('1+1');",
			wantFail: FailError, wantMsg: "eval is not defined",
		},
		{
			name:     "Function constructor refused",
			code:     "Function('return 1')();",
			wantFail: FailError, wantMsg: "code generation from strings is disabled",
		},
		{
			name:     "Function constructor through a prototype refused",
			code:     "(async function(){}).constructor('return process')();",
			wantFail: FailError, wantMsg: "code generation from strings is disabled",
		},
		{
			name:     "a promise nothing settles fails at once",
			code:     "await new Promise(() => {});",
			wantFail: FailError, wantMsg: "nothing will ever settle",
		},
		{
			name:     "host call budget",
			code:     "const m = require('message'); for (let i = 0; i < 3; i++) { try { await m.reply('n' + i); } catch (e) { console.log('caught'); } }",
			granted:  []string{"messages_write"},
			limits:   Limits{MaxHostCalls: 2},
			wantFail: FailBudget, wantMsg: "more than 2 host calls",
			wantSent: []string{`message.reply ["n0"]`, `message.reply ["n1"]`},
		},
		{
			name:     "process is not defined",
			code:     "process.env.SKYBOT_TOKEN",
			wantFail: FailError, wantMsg: "process is not defined",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			acts := &recordingActions{}
			s := NewSupervisor(acts, nil)
			defer s.Close()
			res := deliver(t, s, tc.code, tc.granted, tc.limits)
			switch {
			case tc.wantFail == "" && res.Failure != nil:
				t.Fatalf("run failed: %v", res.Failure)
			case tc.wantFail != "" && res.Failure == nil:
				t.Fatalf("run succeeded, want %s failure", tc.wantFail)
			case tc.wantFail != "" && res.Failure.Kind != tc.wantFail:
				t.Fatalf("failure kind %q (%s), want %q", res.Failure.Kind, res.Failure.Message, tc.wantFail)
			case tc.wantMsg != "" && !strings.Contains(res.Failure.Message, tc.wantMsg):
				t.Fatalf("failure message %q does not contain %q", res.Failure.Message, tc.wantMsg)
			}
			if got := acts.sent(); strings.Join(got, "\n") != strings.Join(tc.wantSent, "\n") {
				t.Fatalf("sent %q, want %q", got, tc.wantSent)
			}
		})
	}
}

func TestIsolateSurvivesFailuresAndKeepsServing(t *testing.T) {
	t.Parallel()
	acts := &recordingActions{}
	s := NewSupervisor(acts, nil)
	defer s.Close()
	p, err := Compile("x.skyext", "const m = require('message');\nif (m.content === 'loop') { while (true) {} }\nawait m.reply('ok ' + m.content);", true)
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Key: Key{"g", "x"}, Program: p, Granted: NewScopeSet("messages_write"), Limits: Limits{Timeout: 200 * time.Millisecond}}
	for _, content := range []string{"loop", "a", "loop", "b"} {
		res, err := s.Deliver(context.Background(), Delivery{Spec: spec, Event: commandEvent(content)})
		if err != nil {
			t.Fatal(err)
		}
		if (content == "loop") != (res.Failure != nil) {
			t.Fatalf("%s: failure = %v", content, res.Failure)
		}
	}
	if got, want := strings.Join(acts.sent(), ","), `message.reply ["ok a"],message.reply ["ok b"]`; got != want {
		t.Fatalf("sent %s, want %s", got, want)
	}
	if s.Live() != 1 {
		t.Fatalf("live isolates = %d, want 1 (reused)", s.Live())
	}
}

func TestMailboxFullIsAnExplicitRejection(t *testing.T) {
	t.Parallel()
	acts := &recordingActions{block: make(chan struct{}), entered: make(chan struct{}, 8)}
	s := NewSupervisor(acts, nil)
	defer s.Close()
	p, err := Compile("m.skyext", "await require('message').reply('x');", true)
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Key: Key{"g", "m"}, Program: p, Granted: NewScopeSet("messages_write"), Limits: Limits{MailboxSize: 2}}
	const n = 6
	results := make(chan Result, n)
	send := func() {
		res, _ := s.Deliver(context.Background(), Delivery{Spec: spec, Event: commandEvent("x")})
		results <- res
	}
	go send()
	<-acts.entered // the first run is now inside Perform, holding the actor
	for range n - 1 {
		go send()
	}
	// One runs (blocked in Perform), two wait in the mailbox, three are refused.
	rejected := 0
	for rejected < n-3 {
		res := <-results
		if res.Failure == nil || res.Failure.Kind != FailRejected {
			t.Fatalf("got %+v before the blocked run finished, want a rejection", res.Failure)
		}
		rejected++
	}
	close(acts.block)
	for range 3 {
		if res := <-results; res.Failure != nil {
			t.Fatalf("queued run failed: %v", res.Failure)
		}
	}
	if got := s.Stats().Rejected; got != n-3 {
		t.Fatalf("rejected counter = %d, want %d", got, n-3)
	}
}

func TestCompileRefusesWrapperEscape(t *testing.T) {
	t.Parallel()
	for _, code := range []string{
		"}); globalThis.x = 1; (async () => {",
		"}, function () {",
		"}) (function () {",
		"const s = 'unterminated\n';",
		strings.Repeat("[", 300) + strings.Repeat("]", 300),
	} {
		if _, err := Compile("bad.skyext", code, true); err == nil {
			t.Errorf("Compile(%q) succeeded, want an error", code)
		}
	}
	if _, err := Compile("ok.skyext", "(async () => { await 1; })();\nreturn;", true); err != nil {
		t.Errorf("self-wrapped legacy code refused: %v", err)
	}
}

// Every API of the table, called without its scope, is refused by the
// trusted side before anything acts: legacy APIs from legacy code, part A
// APIs from a handler-style extension.
func TestEveryAPIRefusesWithoutItsScope(t *testing.T) {
	t.Parallel()
	for _, api := range APIs {
		if api.Scope == "" {
			continue
		}
		t.Run(api.Name, func(t *testing.T) {
			t.Parallel()
			acts := &recordingActions{}
			s := NewSupervisor(acts, nil)
			defer s.Close()
			module, fn, _ := strings.Cut(api.Name, ".")
			var code string
			var ev Event
			if api.Legacy {
				code = "try { await require('" + module + "')." + fn + "('x'); } catch (e) { if (e.code !== 'MISSING_SCOPES') throw e; }"
				ev = commandEvent("x")
				ev.Modules[module] = json.RawMessage(`{}`)
			} else {
				code = "const m = require('" + module + "');\nrequire('sky').on('messageCreate', async () => {\n  try { await m." + fn + "('x'); } catch (e) { if (e.code !== 'MISSING_SCOPES') throw e; }\n});"
				ev = Event{Kind: "messageCreate", Handler: "event:messageCreate#0"}
			}
			p, err := Compile("scope.skyext", code, api.Legacy)
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Deliver(context.Background(), Delivery{Spec: Spec{Key: Key{"g", "s"}, Program: p, Granted: NewScopeSet()}, Event: ev})
			if err != nil || res.Failure != nil {
				t.Fatalf("%s: %v %v", api.Name, err, res.Failure)
			}
			if len(acts.sent()) != 0 {
				t.Fatalf("%s reached the trusted side without its scope", api.Name)
			}
			want := CallRecord{API: api.Name, Scope: api.Scope, Outcome: CodeMissingScopes}
			if !slices.Contains(res.Calls, want) {
				t.Fatalf("%s: calls %+v, want %+v", api.Name, res.Calls, want)
			}
		})
	}
}

// The deadline covers time spent waiting for the trusted side: a run whose
// host call is still being performed ends at its deadline, and the late
// answer runs nothing.
func TestDeadlineCoversWaitingForTheHost(t *testing.T) {
	t.Parallel()
	acts := &recordingActions{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	s := NewSupervisor(acts, nil)
	defer s.Close()
	res := deliver(t, s, "await require('message').reply('x');\nwhile (true) {}", []string{"messages_write"}, Limits{Timeout: 100 * time.Millisecond})
	close(acts.block)
	if res.Failure == nil || res.Failure.Kind != FailTimeout || !strings.Contains(res.Failure.Message, "waiting for message.reply") {
		t.Fatalf("got %+v, want a timeout while waiting for message.reply", res.Failure)
	}
}

func TestEmbedModule(t *testing.T) {
	t.Parallel()
	acts := &recordingActions{}
	s := NewSupervisor(acts, nil)
	defer s.Close()
	code := `const embed = require('embed');
if (require('embed') !== embed) throw new Error('require does not cache per run');
const e = embed.create({ title: 'Hi', color: 0, fields: [{ name: 'a', value: 'b' }] });
const keys = Object.keys(e).join(',');
if (keys !== 'title,description,url,color,timestamp,footer,thumbnail,image,author,fields') throw new Error('keys ' + keys);
if (e.color !== null || e.description !== null || e.fields.length !== 1) throw new Error('shape ' + JSON.stringify(e));
if (embed.colors.BLUE !== 0x3498DB || embed.colors.PINK !== undefined) throw new Error('colors');
if (embed.resolveColor('#ff0000') !== 0xFF0000 || embed.resolveColor([1, 2, 3]) !== 66051 || !isNaN(embed.resolveColor('red'))) throw new Error('resolveColor');
const r = embed.resolveColor('RANDOM');
if (r < 0 || r > 0xFFFFFF || Math.floor(r) !== r) throw new Error('RANDOM ' + r);
await require('message').reply({ embeds: [embed.create({ title: 'Hi', color: embed.colors.BLUE })] });`
	res := deliver(t, s, code, []string{"messages_write"}, Limits{})
	if res.Failure != nil {
		t.Fatalf("run failed: %v", res.Failure)
	}
	want := `message.reply [{"embeds":[{"author":null,"color":3447003,"description":null,"fields":[],"footer":null,"image":null,"thumbnail":null,"timestamp":null,"title":"Hi","url":null}]}]`
	if got := acts.sent(); len(got) != 1 || got[0] != want {
		t.Fatalf("sent %q\nwant %q", got, want)
	}
}

// TestUtilsModule checks SkynetBot's utils functions against SKYEXT.md
// 3.10, case by case, through the sandbox.
func TestUtilsModule(t *testing.T) {
	t.Parallel()
	s := NewSupervisor(&recordingActions{}, nil)
	defer s.Close()
	checks := map[string]string{
		"u.text.capitalize(\"don't stop\")":                             `"Don'T Stop"`,
		"u.text.truncate('abcdefghij', 6)":                              `"abc..."`,
		"u.text.pad('ab', 5, '*', 'both')":                              `"*ab**"`,
		"u.text.slugify('  Hello, World! ')":                            `"hello-world"`,
		"u.text.count('a.b.c', '\\\\.')":                                `2`,
		"u.text.mock('hello')":                                          `"hElLo"`,
		"u.text.escapeMarkdown('*a_b*')":                                `"\\*a\\_b\\*"`,
		"u.text.escapeHtml(`<a href=\"x\">'&`)":                         `"&lt;a href=&quot;x&quot;&gt;&#039;&amp;"`,
		"u.text.words('  a  b ')":                                       `["a","b"]`,
		"u.format.number(1234567.891)":                                  `"1,234,567.891"`,
		"u.format.number(-1234.5)":                                      `"-1,234.5"`,
		"u.format.currency(1234.5)":                                     `"$1,234.50"`,
		"u.format.bytes(1536)":                                          `"1.5 KB"`,
		"u.format.bytes(0)":                                             `"0 Bytes"`,
		"u.format.duration(90061000)":                                   `"1d 1h"`,
		"u.format.duration(125000)":                                     `"2m 5s"`,
		"u.format.duration(90061000, true)":                             `"1 day, 1 hour, 1 minute, 1 second"`,
		"u.format.duration(0, true)":                                    `"0 seconds"`,
		"[1, 2, 3, 11, 12, 13, 21, 102, 111].map(u.format.ordinal)":     `["1st","2nd","3rd","11th","12th","13th","21st","102nd","111th"]`,
		"u.format.list(['a', 'b', 'c'])":                                `"a, b, and c"`,
		"u.format.list(['a', 'b'], 'or')":                               `"a or b"`,
		"u.format.pluralize(2, 'cat')":                                  `"cats"`,
		"u.format.progressBar(5, 10)":                                   `"█████░░░░░"`,
		"u.math.percentage(1, 3, 1)":                                    `33.3`,
		"u.math.percentage(1, 0)":                                       `0`,
		"u.math.average([])":                                            `0`,
		"u.math.between(5, 1, 5, false)":                                `false`,
		"u.array.chunk([1, 2, 3, 4, 5], 2)":                             `[[1,2],[3,4],[5]]`,
		"u.array.last([1, 2, 3], 2)":                                    `[2,3]`,
		"u.array.groupBy([{k: 'a'}, {k: 'b'}, {k: 'a'}], 'k').a.length": `2`,
		"u.array.countBy(['x', 'y', 'x'])":                              `{"x":2,"y":1}`,
		"u.random.dice('banana')":                                       `{"rolls":[],"total":0,"notation":"banana"}`,
		"u.random.dice('1000d6').rolls.length":                          `100`,
		"u.random.dice('d1+2').total":                                   `3`,
		"u.time.discord(1700000000000, 'R')":                            `"<t:1700000000:R>"`,
		"u.time.add(0, 2, 'h')":                                         `7200000`,
		"u.time.startOf(Date.UTC(2026, 0, 2, 15, 30), 'day') === Date.UTC(2026, 0, 2)": `true`,
		"u.discord.snowflakeToTimestamp('175928847299117063')":                         `1462015105796`,
		"u.discord.emoji('wave', '123', true)":                                         `"<a:wave:123>"`,
		"u.discord.codeBlock('x', 'js')":                                               "\"```js\\nx\\n```\"",
	}
	var code strings.Builder
	code.WriteString("const u = require('utils');\nconst got = {};\n")
	i := 0
	keys := make([]string, 0, len(checks))
	for k := range checks {
		keys = append(keys, k)
	}
	for _, k := range keys {
		fmt.Fprintf(&code, "got[%d] = JSON.stringify(%s);\n", i, k)
		i++
	}
	code.WriteString("console.log(JSON.stringify(got));")
	res := deliver(t, s, code.String(), nil, Limits{})
	if res.Failure != nil {
		t.Fatalf("run failed: %v\n%s", res.Failure, res.Failure.Stack)
	}
	var got map[string]string
	if len(res.Console) != 1 || json.Unmarshal([]byte(res.Console[0].Text), &got) != nil {
		t.Fatalf("console = %+v", res.Console)
	}
	for i, k := range keys {
		if g := got[fmt.Sprint(i)]; g != checks[k] {
			t.Errorf("%s = %s, want %s", k, g, checks[k])
		}
	}
}
