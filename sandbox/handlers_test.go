package sandbox

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

const welcomeKit = `
const sky = require('sky');
const roles = require('roles');
let loads = (globalThis.loads || 0) + 1;
globalThis.loads = loads;

sky.on('guildMemberAdd', async (ctx) => {
  await roles.add(ctx.member.id, '55', { reason: 'starter' });
});
sky.command({ name: 'welcome', description: 'Preview the greeting',
  options: [{ type: 'user', name: 'who', description: 'whom to greet' }],
  autocomplete: (ctx) => ctx.respond([{ name: 'a', value: 'a' }]) },
  async (ctx) => { await ctx.reply('Welcome, ' + ctx.options.who + '!'); });
sky.prefix('Hello', (ctx) => ctx.reply('hi ' + ctx.args.join(',')));
sky.keyword(['gm', 'good morning'], { caseSensitive: true }, (ctx) => ctx.reply('gm'));
sky.every('5m', () => {});
sky.cron('0 9 * * 1', () => {});
sky.component('vote:', async (ctx) => { await ctx.update('counted ' + ctx.customId); });
sky.onJob('remind:', (ctx) => console.log('job', ctx.job.key, ctx.job.payload.text));
sky.onInstall(() => console.log('installed'));
sky.onUpdate((ctx) => console.log('updated from', ctx.fromVersion));
sky.on('guildMemberAdd', () => console.log('second handler, load', loads));
`

func compileHandlers(t *testing.T, code string) *Program {
	t.Helper()
	p, err := Compile("welcome.skyext", code, false)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func deliverHandler(t *testing.T, s *Supervisor, p *Program, granted []string, ev Event) Result {
	t.Helper()
	res, err := s.Deliver(context.Background(), Delivery{
		Spec: Spec{Key: Key{"g1", "welcome-kit"}, Program: p, Granted: NewScopeSet(granted...)}, Event: ev,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// A describe run reports every registration with a stable id, and calls
// nothing.
func TestDescribeReportsRegistrations(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"in-process", "worker"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			acts := &recordingActions{}
			s := NewSupervisor(acts, nil)
			if mode == "worker" {
				s = newWorkerSupervisor(t, acts, Options{Workers: 1})
			} else {
				defer s.Close()
			}
			res := deliverHandler(t, s, compileHandlers(t, welcomeKit), nil, Event{Kind: EventDescribe})
			if res.Failure != nil {
				t.Fatal(res.Failure)
			}
			var ids []string
			for _, r := range res.Registrations {
				ids = append(ids, r.ID)
			}
			want := []string{
				"event:guildMemberAdd#0", "autocomplete:welcome#0", "command:welcome#0", "prefix:hello#0",
				"keyword:#0", "every:#0", "cron:#0", "component:vote:#0", "job:remind:#0",
				"lifecycle:install#0", "lifecycle:update#0", "event:guildMemberAdd#1",
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("ids\n got %v\nwant %v", ids, want)
			}
			byID := map[string]Registration{}
			for _, r := range res.Registrations {
				byID[r.ID] = r
			}
			if r := byID["keyword:#0"]; !slices.Equal(r.Keywords, []string{"gm", "good morning"}) || !r.CaseSensitive {
				t.Errorf("keyword registration %+v", r)
			}
			if r := byID["every:#0"]; r.EveryMS != 300000 {
				t.Errorf("every registration %+v", r)
			}
			if r := byID["cron:#0"]; r.Cron != "0 9 * * 1" {
				t.Errorf("cron registration %+v", r)
			}
			var def struct {
				Name    string
				Options []struct{ Type, Name string }
			}
			if err := json.Unmarshal(byID["command:welcome#0"].Command, &def); err != nil || def.Name != "welcome" || len(def.Options) != 1 {
				t.Errorf("command definition %s: %v", byID["command:welcome#0"].Command, err)
			}
			if len(acts.sent()) != 0 {
				t.Errorf("describe called the host: %v", acts.sent())
			}
		})
	}
}

// A handler runs with its context's data and reply helpers, through the
// scope check, and its isolate keeps serving other handlers.
func TestHandlersRunWithTheirContext(t *testing.T) {
	t.Parallel()
	acts := &recordingActions{}
	s := newWorkerSupervisor(t, acts, Options{Workers: 1})
	p := compileHandlers(t, welcomeKit)

	steps := []struct {
		ev      Event
		granted []string
		sent    string
		console string
	}{
		{ev: Event{Kind: "guildMemberAdd", Handler: "event:guildMemberAdd#0", Data: json.RawMessage(`{"member":{"id":"42"}}`)},
			granted: []string{"roles_manage"}, sent: `roles.add ["42","55",{"reason":"starter"}]`},
		{ev: Event{Kind: "command", Handler: "command:welcome#0", Reply: "interaction", Data: json.RawMessage(`{"options":{"who":"ann"}}`)},
			sent: `interaction.reply ["Welcome, ann!"]`},
		{ev: Event{Kind: "autocomplete", Handler: "autocomplete:welcome#0", Reply: "interaction"},
			sent: `interaction.respond [[{"name":"a","value":"a"}]]`},
		{ev: Event{Kind: "prefix", Handler: "prefix:hello#0", Reply: "message", Data: json.RawMessage(`{"args":["a","b"]}`)},
			granted: []string{"messages_write"}, sent: `message.reply ["hi a,b"]`},
		{ev: Event{Kind: "component", Handler: "component:vote:#0", Reply: "interaction", Data: json.RawMessage(`{"customId":"vote:yes"}`)},
			sent: `interaction.update ["counted vote:yes"]`},
		{ev: Event{Kind: "job", Handler: "job:remind:#0", Data: json.RawMessage(`{"job":{"key":"remind:1","payload":{"text":"tea"}}}`)},
			console: "job remind:1 tea"},
		{ev: Event{Kind: "update", Handler: "lifecycle:update#0", Data: json.RawMessage(`{"fromVersion":"1.0.0"}`)},
			console: "updated from 1.0.0"},
		{ev: Event{Kind: "guildMemberAdd", Handler: "event:guildMemberAdd#1"}, console: "second handler, load 1"},
	}
	for _, st := range steps {
		before := len(acts.sent())
		res := deliverHandler(t, s, p, st.granted, st.ev)
		if res.Failure != nil {
			t.Fatalf("%s: %v", st.ev.Handler, res.Failure)
		}
		sent := acts.sent()[before:]
		if st.sent != "" && (len(sent) != 1 || sent[0] != st.sent) {
			t.Errorf("%s sent %v, want %s", st.ev.Handler, sent, st.sent)
		}
		if st.console != "" && (len(res.Console) != 1 || res.Console[0].Text != st.console) {
			t.Errorf("%s console %+v, want %q", st.ev.Handler, res.Console, st.console)
		}
	}
}

func TestHandlerStyleRefusals(t *testing.T) {
	t.Parallel()
	s := NewSupervisor(&recordingActions{}, nil)
	defer s.Close()
	cases := []struct {
		name, code, handler, want string
	}{
		{"register inside a handler", `require('sky').on('messageCreate', () => { require('sky').prefix('x', () => {}); });`,
			"event:messageCreate#0", "call it at the top level"},
		{"host call at top level", `require('messages').send('1', 'hi');`, "", "cannot be called at the top level"},
		{"unknown handler", `require('sky').on('messageCreate', () => {});`, "event:messageDelete#0", `no handler "event:messageDelete#0"`},
		{"legacy module name", `require('message');`, "", "Unknown module: message"},
		{"handler not a function", `require('sky').on('messageCreate', 42);`, "", "needs a handler function"},
		{"bad duration", `require('sky').every('soon', () => {});`, "", "needs a duration"},
		{"top level throws", "const x = 1;\nnull.boom;", "", "welcome.skyext:2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := Event{Kind: EventDescribe}
			if c.handler != "" {
				ev = Event{Kind: "messageCreate", Handler: c.handler}
			}
			res := deliverHandler(t, s, compileHandlers(t, c.code), nil, ev)
			if res.Failure == nil || !strings.Contains(res.Failure.Message+res.Failure.Stack, c.want) {
				t.Fatalf("failure %+v, want it to mention %q", res.Failure, c.want)
			}
		})
	}
}

// SkynetBot's points methods are synchronous: their answer is usable on
// the next line, and a refusal comes back as {success:false}.
func TestLegacySynchronousPoints(t *testing.T) {
	t.Parallel()
	acts := &recordingActions{}
	s := newWorkerSupervisor(t, acts, Options{Workers: 1})
	code := `const points = require('points');
const r = points.addPoints('42', 5);
if (r.success !== true) throw new Error('add: ' + JSON.stringify(r));
const denied = points.getUser('42');
if (denied.found !== false || !/members_read/.test(denied.error)) throw new Error('getUser: ' + JSON.stringify(denied));
console.log(points.getLeaderboard(1).length, points.getMemberIds().length);`
	ev := commandEvent("x")
	ev.Modules["points"] = json.RawMessage(`{"isEnabled":true,"canWrite":true,"leaderboard":[{"userId":"1"},{"userId":"2"}],"memberIds":["1","2"]}`)
	p := mustCompile(t, "points.skyext", code)
	res, err := s.Deliver(context.Background(), Delivery{Spec: Spec{Key: Key{"g", "p"}, Program: p, Granted: NewScopeSet("economy_manage")}, Event: ev})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	if got := acts.sent(); len(got) == 0 || got[len(got)-1] != `points.addPoints ["42",5,null]` {
		t.Fatalf("sent %v", got)
	}
	if len(res.Console) != 1 || res.Console[0].Text != "1 2" {
		t.Fatalf("console %+v", res.Console)
	}
}

// A synchronous call still waiting at the deadline ends the run as a
// timeout, like any other.
func TestSynchronousCallObeysTheDeadline(t *testing.T) {
	t.Parallel()
	acts := &recordingActions{block: make(chan struct{})}
	defer close(acts.block)
	s := NewSupervisor(acts, nil)
	defer s.Close()
	ev := commandEvent("x")
	ev.Modules["points"] = json.RawMessage(`{}`)
	p := mustCompile(t, "slow.skyext", `require('points').addPoints('1', 1); console.log('never');`)
	res, err := s.Deliver(context.Background(), Delivery{
		Spec: Spec{Key: Key{"g", "slow"}, Program: p, Granted: NewScopeSet("economy_manage"), Limits: Limits{Timeout: 200 * time.Millisecond}}, Event: ev,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure == nil || res.Failure.Kind != FailTimeout || len(res.Console) != 0 {
		t.Fatalf("result %+v", res)
	}
}
