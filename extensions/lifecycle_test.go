package extensions

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// helloV returns the hello extension at version with the given scopes and
// greeting, so tests can tell versions apart by what they answer.
func helloV(version, scopes, greeting string) string {
	src := strings.Replace(helloExt, "1.0.0", version, 1)
	src = strings.Replace(src, "// @scopes       messages_write", "// @scopes       "+scopes, 1)
	return strings.Replace(src, "'Hello, '", "'"+greeting+", '", 1)
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (f *fixture) plan(t *testing.T, kind PlanKind, guild, src string) (*Plan, error) {
	t.Helper()
	up := Upload{Filename: "hello.skyext", Size: int64(len(src))}
	if kind == PlanUpdate {
		return f.m.PlanUpdate(context.Background(), store.GuildID(guild), "admin", "hello", up, bytesFetch(src))
	}
	return f.m.PlanInstall(context.Background(), store.GuildID(guild), "admin", up, bytesFetch(src))
}

func (f *fixture) apply(t *testing.T, guild string, p *Plan) {
	t.Helper()
	if _, err := f.m.Apply(context.Background(), store.GuildID(guild), "admin", p.ID); err != nil {
		t.Fatalf("apply %s: %v", p.Kind, err)
	}
}

func (f *fixture) lastReply(t *testing.T) string {
	t.Helper()
	all := f.acts.all()
	if len(all) == 0 {
		t.Fatal("no reply")
	}
	return all[len(all)-1]
}

func TestInstallWaitsForConsent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	p, err := f.plan(t, PlanInstall, "g1", helloExt)
	if err != nil {
		t.Fatal(err)
	}
	if !p.NeedsConsent() || len(p.Scopes()) != 1 || p.Scopes()[0].Name != "messages_write" {
		t.Fatalf("plan = %+v", p)
	}
	f.say(t, "g1", "!hello")
	if n := len(f.acts.all()); n != 0 {
		t.Fatal("the extension ran before consent")
	}
	if ins, _ := f.m.List(context.Background(), "g1"); len(ins) != 0 {
		t.Fatal("an install row exists before consent")
	}
	// A plan made for one guild cannot be applied in another.
	if _, err := f.m.Apply(context.Background(), "g2", "admin", p.ID); !skyerr.Is(err, skyerr.InvalidState) {
		t.Fatalf("apply in another guild: %v", err)
	}
	p, _ = f.plan(t, PlanInstall, "g1", helloExt)
	f.apply(t, "g1", p)
	f.say(t, "g1", "!hello")
	if got := f.lastReply(t); !strings.HasSuffix(got, "Hello, ann!") {
		t.Fatalf("reply = %q", got)
	}
	// A plan applies once: a second click finds nothing pending.
	if _, err := f.m.Apply(context.Background(), "g1", "admin", p.ID); !skyerr.Is(err, skyerr.InvalidState) {
		t.Fatalf("second apply: %v, want E_INVALID_STATE", err)
	}
}

func TestPlanExpires(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	f := newFixture(t, Options{Now: c.Now})
	p, err := f.plan(t, PlanInstall, "g1", helloExt)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(planTTL + time.Second)
	if _, err := f.m.Apply(context.Background(), "g1", "admin", p.ID); !skyerr.Is(err, skyerr.InvalidState) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("apply after expiry: %v", err)
	}
}

func TestInstallRateLimit(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	f := newFixture(t, Options{Now: c.Now})
	for i := range installAttempts {
		if _, err := f.plan(t, PlanInstall, "g1", helloExt); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		c.Advance(time.Second)
	}
	_, err := f.plan(t, PlanInstall, "g1", helloExt)
	if !skyerr.Is(err, skyerr.RateLimit) || !strings.Contains(err.Error(), "try again in 55s") {
		t.Fatalf("sixth attempt: %v, want E_RATE_LIMIT with the wait", err)
	}
	if _, err := f.plan(t, PlanInstall, "g2", helloExt); err != nil {
		t.Fatalf("another guild is limited too: %v", err)
	}
	c.Advance(55 * time.Second)
	if _, err := f.plan(t, PlanInstall, "g1", helloExt); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestUpdateAndRollback(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	p, _ := f.plan(t, PlanInstall, "g1", helloV("1.0.0", "messages_write", "Hello"))
	f.apply(t, "g1", p)
	if err := f.store.StorageSet(context.Background(), "g1", mustInstall(t, f, "g1").ExtensionID, "visits", "3", 0); err != nil {
		t.Fatal(err)
	}

	// Same scopes: no consent needed.
	up, err := f.plan(t, PlanUpdate, "g1", helloV("1.1.0", "messages_write", "Hi"))
	if err != nil || up.NeedsConsent() || up.From != "1.0.0" {
		t.Fatalf("update plan = %+v, %v", up, err)
	}
	f.apply(t, "g1", up)
	f.say(t, "g1", "!hello")
	if got := f.lastReply(t); !strings.HasSuffix(got, "hello@1.1.0 in c1: Hi, ann!") {
		t.Fatalf("after update: %q", got)
	}

	// New scope: waits for consent, and until then 1.1.0 keeps running.
	up2, err := f.plan(t, PlanUpdate, "g1", helloV("2.0.0", "messages_write, storage", "Hey"))
	if err != nil || !up2.NeedsConsent() || strings.Join(up2.AddedScopes, ",") != "storage" {
		t.Fatalf("update adding a scope = %+v, %v", up2, err)
	}
	f.say(t, "g1", "!hello")
	if got := f.lastReply(t); !strings.Contains(got, "1.1.0") {
		t.Fatalf("the update ran before consent: %q", got)
	}

	// Not newer: refused.
	if _, err := f.plan(t, PlanUpdate, "g1", helloV("1.0.5", "messages_write", "Yo")); !skyerr.Is(err, skyerr.InvalidState) {
		t.Fatalf("older update: %v", err)
	}

	// Rollback to the previous version keeps storage.
	rb, err := f.m.PlanRollback(context.Background(), "g1", "admin", "hello", "")
	if err != nil || rb.Manifest.Version != "1.0.0" || rb.NeedsConsent() {
		t.Fatalf("rollback plan = %+v, %v", rb, err)
	}
	f.apply(t, "g1", rb)
	f.say(t, "g1", "!hello")
	if got := f.lastReply(t); !strings.HasSuffix(got, "hello@1.0.0 in c1: Hello, ann!") {
		t.Fatalf("after rollback: %q", got)
	}
	if v, ok, err := f.store.StorageGet(context.Background(), "g1", mustInstall(t, f, "g1").ExtensionID, "visits"); !ok || v != "3" || err != nil {
		t.Fatalf("storage after rollback = %q %v %v", v, ok, err)
	}
	if _, err := f.m.PlanRollback(context.Background(), "g1", "admin", "hello", "9.9.9"); !skyerr.Is(err, skyerr.InvalidID) {
		t.Fatalf("rollback to an unknown version: %v", err)
	}
	if _, err := f.m.PlanRollback(context.Background(), "g1", "admin", "hello", "1.0.0"); !skyerr.Is(err, skyerr.InvalidState) {
		t.Fatalf("rollback to the current version: %v", err)
	}
	info, err := f.m.Info(context.Background(), "g1", "hello")
	if err != nil || len(info.History) != 3 || strings.Join(info.Versions, ",") != "1.1.0,1.0.0" {
		t.Fatalf("info = %+v, %v", info, err)
	}
}

func TestDisableStopsRunsAndEnableResumes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	p, _ := f.plan(t, PlanInstall, "g1", helloExt)
	f.apply(t, "g1", p)
	if _, err := f.m.SetEnabled(context.Background(), "g1", "admin", "hello", false); err != nil {
		t.Fatal(err)
	}
	f.say(t, "g1", "!hello")
	if n := len(f.acts.all()); n != 0 {
		t.Fatal("a disabled extension ran")
	}
	if _, err := f.m.SetEnabled(context.Background(), "g1", "admin", "hello", false); !skyerr.Is(err, skyerr.InvalidState) {
		t.Fatalf("disabling twice: %v", err)
	}
	if _, err := f.m.SetEnabled(context.Background(), "g1", "admin", "hello", true); err != nil {
		t.Fatal(err)
	}
	f.say(t, "g1", "!hello")
	if n := len(f.acts.all()); n != 1 {
		t.Fatalf("replies after enable = %d, want 1", n)
	}
}

func mustInstall(t *testing.T, f *fixture, guild string) store.Install {
	t.Helper()
	in, err := f.store.InstallByName(context.Background(), store.GuildID(guild), "hello")
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestRepeatedFailuresSuspend(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []string
	f := newFixture(t, Options{SuspendAfter: 3, OnLifecycle: func(e LifecycleEvent) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e.Kind+" "+e.Extension+"@"+e.Version)
	}})
	broken := strings.Replace(helloExt, "await message.reply(", "throw new Error('boom'); await message.reply(", 1)
	if _, err := f.install(t, "g1", "hello.skyext", broken); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f.say(t, "g1", "!hello")
	}
	in := mustInstall(t, f, "g1")
	if in.Enabled {
		t.Fatal("three failures in a row did not suspend the extension")
	}
	mu.Lock()
	got := strings.Join(events, ", ")
	mu.Unlock()
	want := "installed hello@1.0.0, error hello@1.0.0, error hello@1.0.0, error hello@1.0.0, suspended hello@1.0.0"
	if got != want {
		t.Fatalf("events = %s\nwant     %s", got, want)
	}
	logs, _ := f.m.Logs(context.Background(), "g1", "hello", 1)
	if len(logs) != 1 || !strings.Contains(logs[0].Message, "suspended by skybot") || !strings.Contains(logs[0].Message, "Error: boom") {
		t.Fatalf("latest log line = %+v", logs)
	}
	hist, _ := f.store.History(context.Background(), "g1", in.ExtensionID)
	if last := hist[len(hist)-1]; last.Action != store.ActionDisable || last.ActorID != "skybot" {
		t.Fatalf("history does not record skybot's suspension: %+v", last)
	}
	// The admin can let it run again.
	if _, err := f.m.SetEnabled(context.Background(), "g1", "admin", "hello", true); err != nil {
		t.Fatal(err)
	}
	if !mustInstall(t, f, "g1").Enabled {
		t.Fatal("enable after suspension did not take")
	}
}

func TestRequiresMustBeInstalled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	ext := func(name, version, key, requires string) string {
		src := strings.NewReplacer("@name         hello", "@name         "+name, "@version      1.0.0", "@version      "+version,
			"@key          hello", "@key          "+key).Replace(helloExt)
		if requires != "" {
			src = strings.Replace(src, "// ==/SkyExtension==", "// @requires     "+requires+"\n// ==/SkyExtension==", 1)
		}
		return src
	}
	app := ext("welcome", "1.0.0", "welcome", "greetings-lib ^2.1")
	if _, err := f.install(t, "g1", "welcome.skyext", app); !skyerr.Is(err, skyerr.Dependency) || !strings.Contains(err.Error(), "needs greetings-lib ^2.1, which is not installed here") {
		t.Fatalf("install without its dependency: %v", err)
	}
	if _, err := f.install(t, "g1", "lib.skyext", ext("greetings-lib", "2.0.0", "glib", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.install(t, "g1", "welcome.skyext", app); err == nil || !strings.Contains(err.Error(), "but greetings-lib 2.0.0 is installed here") {
		t.Fatalf("install with a too old dependency: %v", err)
	}
	newer := ext("greetings-lib", "2.1.0", "glib", "")
	up, err := f.m.PlanUpdate(context.Background(), "g1", "admin", "greetings-lib", Upload{Filename: "lib.skyext", Size: int64(len(newer))}, bytesFetch(newer))
	if err != nil {
		t.Fatal(err)
	}
	f.apply(t, "g1", up)
	if _, err := f.install(t, "g1", "welcome.skyext", app); err != nil {
		t.Fatalf("install with its dependency in place: %v", err)
	}
	for _, try := range []func() error{
		func() error {
			_, err := f.m.Uninstall(context.Background(), "g1", "admin", "greetings-lib", false)
			return err
		},
		func() error {
			_, err := f.m.SetEnabled(context.Background(), "g1", "admin", "greetings-lib", false)
			return err
		},
	} {
		if err := try(); !skyerr.Is(err, skyerr.InvalidState) || !strings.Contains(err.Error(), "welcome requires it") {
			t.Fatalf("removing a dependency in use: %v", err)
		}
	}
	if _, err := f.m.Uninstall(context.Background(), "g1", "admin", "welcome", false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Uninstall(context.Background(), "g1", "admin", "greetings-lib", false); err != nil {
		t.Fatalf("uninstall a dependency nothing needs any more: %v", err)
	}
}

func TestTierLimitsAndQuota(t *testing.T) {
	t.Parallel()
	tiers := map[string]TierLimits{
		"free": {Limits: sandbox.Limits{Timeout: 150 * time.Millisecond}, MaxInstalls: 1},
		"gold": {Limits: sandbox.Limits{Timeout: 2 * time.Second}, MaxInstalls: 5},
	}
	f := newFixture(t, Options{Tiers: func(name string) TierLimits { return tiers[name] }, TierNames: []string{"gold", "free"}})
	spin := strings.Replace(helloExt, "const message = require('message');", "const message = require('message');\nif (message.content === '!hello spin') { for (;;) {} }", 1)
	if _, err := f.install(t, "g1", "hello.skyext", spin); err != nil {
		t.Fatal(err)
	}
	second := strings.NewReplacer("@name         hello", "@name         other", "@key          hello", "@key          other").Replace(helloExt)
	if _, err := f.install(t, "g1", "other.skyext", second); !skyerr.Is(err, skyerr.InvalidState) || !strings.Contains(err.Error(), "the most its tier (free) allows") {
		t.Fatalf("install past the free quota: %v", err)
	}
	f.say(t, "g1", "!hello spin")
	logs, _ := f.m.Logs(context.Background(), "g1", "hello", 1)
	if len(logs) != 1 || !strings.Contains(logs[0].Message, "longer than 150ms") {
		t.Fatalf("the free tier's timeout did not apply: %+v", logs)
	}
	ctx := context.Background()
	if _, err := f.m.SetTier(ctx, "g1", "platinum"); !skyerr.Is(err, skyerr.InvalidID) || !strings.Contains(err.Error(), "free, gold") {
		t.Fatalf("an unknown tier: %v", err)
	}
	if _, err := f.m.SetTier(ctx, "g-never", "gold"); !skyerr.Is(err, skyerr.NotFound) {
		t.Fatalf("a guild skybot never saw: %v", err)
	}
	if got, err := f.m.SetTier(ctx, "g1", "gold"); err != nil || got.MaxInstalls != 5 {
		t.Fatalf("set gold = %+v, %v", got, err)
	}
	if name, _, err := f.m.Tier(ctx, "g1"); err != nil || name != "gold" {
		t.Fatalf("tier after set = %q, %v", name, err)
	}
	// The next run already has the gold timeout: the guild's view was
	// dropped, not left to expire.
	f.say(t, "g1", "!hello spin")
	if logs, _ := f.m.Logs(ctx, "g1", "hello", 1); len(logs) != 1 || !strings.Contains(logs[0].Message, "longer than 2s") {
		t.Fatalf("the gold tier's timeout did not apply at once: %+v", logs)
	}
	if _, err := f.install(t, "g1", "other.skyext", second); err != nil {
		t.Fatalf("install within the gold quota: %v", err)
	}
}

func TestPolicyNarrowsTheTier(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Tiers: func(string) TierLimits { return TierLimits{MaxInstalls: 10} }})
	if err := f.m.SetPolicy(context.Background(), "g1", Policy{MaxInstalls: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.install(t, "g1", "hello.skyext", helloExt); err != nil {
		t.Fatal(err)
	}
	second := strings.NewReplacer("@name         hello", "@name         other", "@key          hello", "@key          other").Replace(helloExt)
	if _, err := f.install(t, "g1", "other.skyext", second); !skyerr.Is(err, skyerr.InvalidState) || !strings.Contains(err.Error(), "its policy allows") {
		t.Fatalf("install past the policy's cap: %v", err)
	}
	if err := f.m.SetPolicy(context.Background(), "g1", Policy{AllowedScopes: []string{"messages_react"}}); !skyerr.Is(err, skyerr.InvalidID) {
		t.Fatalf("a policy naming an unknown scope: %v", err)
	}
}

func TestLoadSystemRefusesBadFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "broken.skyext"), []byte("no header"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.m.LoadSystem(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "broken.skyext") {
		t.Fatalf("a broken system file: %v, want an error naming it", err)
	}
	_ = os.Remove(filepath.Join(dir, "broken.skyext"))
	for _, n := range []string{"a.skyext", "b.skyext"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(helloExt), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.m.LoadSystem(context.Background(), dir); !skyerr.Is(err, skyerr.AlreadyExists) {
		t.Fatalf("two files of one extension: %v", err)
	}
	if err := f.m.LoadSystem(context.Background(), filepath.Join(dir, "missing")); !skyerr.Is(err, skyerr.InvalidPath) {
		t.Fatalf("a missing directory: %v", err)
	}
}

// TestTierChangeReachesARunningBot: the operator changes a tier in the
// database (skybot tier); the cached guild view picks it up after viewTTL.
func TestTierChangeReachesARunningBot(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	tiers := map[string]TierLimits{
		"free": {Limits: sandbox.Limits{Timeout: 150 * time.Millisecond}},
		"gold": {Limits: sandbox.Limits{Timeout: 300 * time.Millisecond}},
	}
	f := newFixture(t, Options{Now: c.Now, Tiers: func(name string) TierLimits { return tiers[name] }})
	spin := strings.Replace(helloExt, "const message = require('message');", "const message = require('message');\nfor (;;) {}", 1)
	if _, err := f.install(t, "g1", "hello.skyext", spin); err != nil {
		t.Fatal(err)
	}
	lastLog := func() string {
		logs, _ := f.m.Logs(context.Background(), "g1", "hello", 1)
		if len(logs) != 1 {
			t.Fatalf("logs = %+v", logs)
		}
		return logs[0].Message
	}
	f.say(t, "g1", "!hello")
	if got := lastLog(); !strings.Contains(got, "longer than 150ms") {
		t.Fatalf("free tier run: %q", got)
	}
	if err := f.store.SetGuildTier(context.Background(), "g1", "gold"); err != nil {
		t.Fatal(err)
	}
	f.say(t, "g1", "!hello")
	if got := lastLog(); !strings.Contains(got, "longer than 150ms") {
		t.Fatalf("within the view's lifetime the old tier should still apply: %q", got)
	}
	c.Advance(viewTTL + time.Second)
	f.say(t, "g1", "!hello")
	if got := lastLog(); !strings.Contains(got, "longer than 300ms") {
		t.Fatalf("after %s the gold tier should apply: %q", viewTTL, got)
	}
}
