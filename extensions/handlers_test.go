package extensions

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

const greeter = `// ==SkyExtension==
// @name         greeter
// @version      1.0.0
// @description  Handler-style test extension
// @scopes       messages_write
// ==/SkyExtension==
const sky = require('sky');
sky.prefix('hello', (ctx) => ctx.reply('hi ' + ctx.args.join(' ')));
sky.keyword('tea', (ctx) => ctx.reply('tea time for ' + ctx.user.username));
sky.on('guildMemberAdd', (ctx) => console.log('joined', ctx.member.id));
sky.on('messageCreate', { bots: true }, (ctx) => console.log('saw', ctx.message.id));
`

func TestHandlerStyleRouting(t *testing.T) {
	t.Parallel()
	var runs []Run
	f := newFixture(t, Options{})
	f.d = NewDispatcher(f.m, func(r Run) { runs = append(runs, r) })
	if _, err := f.install(t, "g1", "greeter.skyext", greeter); err != nil {
		t.Fatal(err)
	}
	f.say(t, "g1", "!hello big world")
	f.say(t, "g1", "who wants tea?")
	f.say(t, "g1", "!HELLO")
	want := []string{
		"greeter@1.0.0 in c1: hi big world",
		"greeter@1.0.0 in c1: tea time for ann",
		"greeter@1.0.0 in c1: hi ",
	}
	if got := f.acts.all(); !slices.Equal(got, want) {
		t.Fatalf("replies\n got %q\nwant %q", got, want)
	}

	ctx := context.Background()
	for _, ev := range []GuildEvent{
		{Name: "guildMemberAdd", GuildID: "g1", UserID: "77", Data: map[string]any{"id": "77"}},
		{Name: "messageCreate", GuildID: "g1", ChannelID: "c1", FromBot: true, Data: map[string]any{"id": "m9"}},
		{Name: "messageCreate", GuildID: "g1", ChannelID: "c1", SelfCaused: true, Data: map[string]any{"id": "m10"}},
		{Name: "guildBanAdd", GuildID: "g1", Data: map[string]any{}},
	} {
		if err := f.d.OnEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	var console []string
	for _, r := range runs {
		if r.Result.Failure != nil {
			t.Errorf("%s run failed: %v", r.Trigger, r.Result.Failure)
		}
		for _, l := range r.Result.Console {
			console = append(console, l.Text)
		}
	}
	if want := []string{"joined 77", "saw m9"}; !slices.Equal(console, want) {
		t.Fatalf("console %q, want %q", console, want)
	}
}

func TestHandlerStyleHealthCheck(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Limits: sandbox.Limits{Timeout: 300 * time.Millisecond}})
	header := "// ==SkyExtension==\n// @name broken\n// @version 1.0.0\n// ==/SkyExtension==\n"
	cases := []struct{ name, code, want string }{
		{"top level throws", "const sky = require('sky');\nnull.x;\n", "broken.skyext:6"},
		{"unknown event", "require('sky').on('guildExplode', () => {});", `sky.on("guildExplode")`},
		{"bad cron", "require('sky').cron('every tuesday', () => {});", `sky.cron("every tuesday")`},
		{"fast timer", "require('sky').every(1000, () => {});", "between 1 minute and 7 days"},
		{"bad slash", "require('sky').command({name: 'Bad Name', description: 'x'}, () => {});", "a name is 1 to 32"},
		{"endless top level", "for (;;) {}", "longer than"},
	}
	for i, c := range cases {
		_, err := f.install(t, fmt.Sprintf("g%d", i), "broken.skyext", header+c.code)
		if !skyerr.Is(err, skyerr.LoadFailed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want E_LOAD_FAILED mentioning %q", c.name, err, c.want)
		}
	}
	for i := range cases {
		if ins, _ := f.store.Installs(context.Background(), store.GuildID(fmt.Sprintf("g%d", i))); len(ins) != 0 {
			t.Fatalf("a failed health check left installs: %+v", ins)
		}
	}
}

const hooked = `// ==SkyExtension==
// @name         hooked
// @version      VERSION
// @scopes       storage
// ==/SkyExtension==
const sky = require('sky');
const storage = require('storage');
sky.onInstall(async () => { await storage.set('installed', true); console.log('install'); });
sky.onUpdate((ctx) => console.log('update from', ctx.fromVersion, 'rollback', ctx.rollback));
sky.onDisable(() => console.log('disable'));
sky.onEnable(() => console.log('enable'));
sky.onUninstall((ctx) => console.log('uninstall purge', ctx.purge));
`

func TestLifecycleHooksRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var log consoleLog
	f := newFixture(t, Options{})
	f.d = NewDispatcher(f.m, log.observe)
	src := func(v string) string { return strings.Replace(hooked, "VERSION", v, 1) }
	if _, err := f.install(t, "g1", "hooked.skyext", src("1.0.0")); err != nil {
		t.Fatal(err)
	}
	f.d.WaitHooks()
	p, err := f.m.PlanUpdate(ctx, "g1", "admin", "hooked", Upload{Filename: "hooked.skyext", Size: int64(len(src("1.1.0")))}, bytesFetch(src("1.1.0")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Apply(ctx, "g1", "admin", p.ID); err != nil {
		t.Fatal(err)
	}
	f.d.WaitHooks()
	for _, enabled := range []bool{false, true} {
		if _, err := f.m.SetEnabled(ctx, "g1", "admin", "hooked", enabled); err != nil {
			t.Fatal(err)
		}
		f.d.WaitHooks()
	}
	if _, err := f.m.Uninstall(ctx, "g1", "admin", "hooked", true); err != nil {
		t.Fatal(err)
	}
	got := log.take()
	want := []string{"disable", "enable", "install", "uninstall purge true", "update from 1.0.0 rollback false"}
	if !slices.Equal(got, want) {
		t.Fatalf("hooks ran %q, want %q", got, want)
	}
}

// /ext permissions limits where and for whom an extension's commands run,
// and what the executor hears about its channels and member checks.
func TestInstallPermissionsLimitCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, Options{})
	if _, err := f.install(t, "g1", "greeter.skyext", greeter); err != nil {
		t.Fatal(err)
	}
	in, err := f.store.InstallByName(ctx, "g1", "greeter")
	if err != nil {
		t.Fatal(err)
	}
	say := func(channel string, roles ...string) {
		t.Helper()
		err := f.d.OnMessage(ctx, Message{GuildID: "g1", ChannelID: channel, ID: "m-" + channel, Content: "!hello", MemberRoles: roles,
			Author: User{ID: "42", Username: "ann"}, Bot: User{ID: "999", Username: "skybot", Bot: true}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.SetInstallPermissions(ctx, "g1", in.ExtensionID, store.InstallPermissions{Channels: []string{"c2"}, Roles: []string{"mods"}}, "admin"); err != nil {
		t.Fatal(err)
	}
	f.m.invalidate("g1")
	say("c1", "mods")      // wrong channel
	say("c2")              // no role
	say("c2", "x", "mods") // allowed
	if got := f.acts.all(); !slices.Equal(got, []string{"greeter@1.0.0 in c2: hi "}) {
		t.Fatalf("replies %q", got)
	}
	if o := f.acts.lastOrigin(); !slices.Equal(o.Channels, []string{"c2"}) || !o.ByMember {
		t.Fatalf("origin channels %v, by member %v", o.Channels, o.ByMember)
	}
	if err := f.store.SetInstallPermissions(ctx, "g1", in.ExtensionID, store.InstallPermissions{NoMemberChecks: true}, "admin"); err != nil {
		t.Fatal(err)
	}
	f.m.invalidate("g1")
	say("c1")
	if o := f.acts.lastOrigin(); o.ByMember || len(f.acts.all()) != 2 {
		t.Fatalf("with member checks off: by member %v, replies %q", o.ByMember, f.acts.all())
	}
}

// The consent card says which slash commands will not be registered, and
// an update says which handlers it adds and drops.
func TestPlansNameCommandConflictsAndHandlerChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, Options{})
	ext := func(name, version, body string) string {
		return "// ==SkyExtension==\n// @name " + name + "\n// @version " + version + "\n// ==/SkyExtension==\nconst sky = require('sky');\n" + body
	}
	poll := "sky.command({ name: 'poll', description: 'Poll' }, () => {});\n"
	if _, err := f.install(t, "g1", "first.skyext", ext("first", "1.0.0", poll)); err != nil {
		t.Fatal(err)
	}
	src := ext("second", "1.0.0", poll+"sky.command({ name: 'ext', description: 'Mine' }, () => {});\n")
	p, err := f.m.PlanInstall(ctx, "g1", "admin", Upload{Filename: "second.skyext", Size: int64(len(src))}, bytesFetch(src))
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(p.Warnings, "\n")
	if !strings.Contains(notes, "/poll already belongs to first (installed first)") || !strings.Contains(notes, "/ext is one of skybot's own commands") {
		t.Fatalf("install notes %q", p.Warnings)
	}
	next := ext("first", "1.1.0", "sky.prefix('vote', () => {});\n")
	up, err := f.m.PlanUpdate(ctx, "g1", "admin", "first", Upload{Filename: "first.skyext", Size: int64(len(next))}, bytesFetch(next))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(up.Warnings, "\n"); got != "new: prefix command vote\nno longer: slash command /poll" {
		t.Fatalf("update notes %q", got)
	}
}

// A guild's policy can lower the tier's run limits, never raise them.
func TestPolicyLowersRunLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var runs []Run
	var mu sync.Mutex
	f := newFixture(t, Options{Limits: sandbox.Limits{Timeout: 2 * time.Second, MaxHostCalls: 50}})
	f.d = NewDispatcher(f.m, func(r Run) { mu.Lock(); runs = append(runs, r); mu.Unlock() })
	src := "// ==SkyExtension==\n// @name slow\n// @version 1.0.0\n// @scopes messages_write\n// ==/SkyExtension==\n" +
		"require('sky').prefix('slow', async (ctx) => { const end = Date.now() + 600; while (Date.now() < end) {} await ctx.reply('done'); });\n" +
		"require('sky').prefix('chatty', async (ctx) => { for (let i = 0; i < 5; i++) await ctx.reply('n' + i); });\n"
	if _, err := f.install(t, "g1", "slow.skyext", src); err != nil {
		t.Fatal(err)
	}
	if err := f.m.SetPolicy(ctx, "g1", Policy{TimeoutMS: 300, MaxHostCalls: 3}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.SetPolicy(ctx, "g1", Policy{TimeoutMS: 50}); !skyerr.Is(err, skyerr.InvalidID) {
		t.Fatalf("a 50 ms timeout was accepted: %v", err)
	}
	f.say(t, "g1", "!slow")
	f.say(t, "g1", "!chatty")
	mu.Lock()
	defer mu.Unlock()
	if len(runs) != 2 || runs[0].Result.Failure == nil || runs[0].Result.Failure.Kind != sandbox.FailTimeout ||
		!strings.Contains(runs[0].Result.Failure.Message, "300ms") {
		t.Fatalf("slow run %+v", runs[0].Result.Failure)
	}
	if f := runs[1].Result.Failure; f == nil || f.Kind != sandbox.FailBudget {
		t.Fatalf("chatty run %+v", f)
	}
	if got := len(f.acts.all()); got != 3 {
		t.Fatalf("chatty sent %d replies, want 3 before its budget ran out", got)
	}
}

// A hook that runs under the install's lock (disable, uninstall) and
// fails for the last time before suspension must not wait for that lock:
// the admin's command returns, and the extension ends up disabled.
func TestFailingDisableHookDoesNotDeadlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, Options{SuspendAfter: 1})
	src := `// ==SkyExtension==
// @name         grumpy
// @version      1.0.0
// ==/SkyExtension==
const sky = require('sky');
sky.onDisable(() => { throw new Error('not leaving'); });
`
	if _, err := f.install(t, "g1", "grumpy.skyext", src); err != nil {
		t.Fatal(err)
	}
	f.d.WaitHooks()
	done := make(chan error, 1)
	go func() {
		_, err := f.m.SetEnabled(ctx, "g1", "admin", "grumpy", false)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("disable: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("disable never returned: the failing hook's suspension waited for the lock its caller holds")
	}
	if in, err := f.store.InstallByName(ctx, "g1", "grumpy"); err != nil || in.Enabled {
		t.Errorf("after disable: %+v, %v", in, err)
	}
	if _, err := f.m.SetEnabled(ctx, "g1", "admin", "grumpy", true); err != nil {
		t.Errorf("enable afterwards (the lock is free again): %v", err)
	}
}
