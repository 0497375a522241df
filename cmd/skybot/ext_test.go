package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/examples"
)

// runExt runs skybot ext with args as the binary would and returns the
// exit code and what it printed.
func runExt(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	code = realMain(append([]string{"ext"}, args...), &out, &errs, func(string) string { return "" })
	return code, out.String(), errs.String()
}

func wantOutput(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// TestExtAuthorLoop is a new author's first session: init, validate,
// test and pack a fresh extension, then check the package as a reviewer
// would.
func TestExtAuthorLoop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, errs := runExt(t, "init", "greeter", "--dir", dir)
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errs)
	}
	ext := filepath.Join(dir, "greeter")
	src := filepath.Join(ext, "greeter.skyext")
	for _, f := range []string{"greeter.skyext", "tests.txt", "skybot.d.ts", "README.md"} {
		if _, err := os.Stat(filepath.Join(ext, f)); err != nil {
			t.Errorf("init did not write %s: %v", f, err)
		}
	}
	if dts, _ := os.ReadFile(filepath.Join(ext, "skybot.d.ts")); string(dts) != extensions.TypeScript() {
		t.Error("skybot.d.ts is not the generated declarations")
	}

	code, out, errs = runExt(t, "validate", src)
	if code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", code, out, errs)
	}
	wantOutput(t, "validate", out, src+": greeter 0.1.0, handler style, scopes messages_write, storage",
		"registers: prefix command !greeter; slash command /greeter", src+": ok, 0 errors")

	code, out, errs = runExt(t, "test", "--timeout", "30s", ext)
	if code != 0 {
		t.Fatalf("test: exit %d\n%s%s", code, out, errs)
	}
	wantOutput(t, "test", out, "PASS !greeter greets and counts\n", "PASS /greeter stats tells the count\n")
	if !strings.HasSuffix(out, "\n2 passed, 0 failed\n") {
		t.Errorf("test does not end with the summary:\n%s", out)
	}

	key := filepath.Join(dir, "keys", "author.key")
	if code, out, errs = runExt(t, "keygen", key); code != 0 {
		t.Fatalf("keygen: exit %d\n%s%s", code, out, errs)
	}
	if info, err := os.Stat(key); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v, %v; want mode 0600", info, err)
	}
	if code, _, errs = runExt(t, "keygen", key); code != 2 || !strings.Contains(errs, "already exists") {
		t.Fatalf("keygen over an existing key: exit %d, %q", code, errs)
	}
	pkgPath := filepath.Join(dir, "dist", "greeter.skypkg")
	code, out, errs = runExt(t, "pack", ext, "-o", pkgPath, "--key", key)
	if code != 0 {
		t.Fatalf("pack: exit %d\n%s%s", code, out, errs)
	}
	wantOutput(t, "pack", out, "Wrote "+pkgPath+": greeter 0.1.0, package format 2.0")

	data, err := os.ReadFile(pkgPath)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := extensions.ParseSkypkg(data)
	if err != nil {
		t.Fatalf("the package does not parse: %v", err)
	}
	code0, _ := os.ReadFile(src)
	if pkg.Format != extensions.PackageV2 || pkg.Code != string(code0) || pkg.Manifest.Name != "greeter" || pkg.Manifest.Version != "0.1.0" {
		t.Fatalf("package = %s %s@%s, code equal %v", pkg.Format, pkg.Manifest.Name, pkg.Manifest.Version, pkg.Code == string(code0))
	}
	pubText, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(pubText)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(pkg.Code))
	if !ed25519.Verify(pub, []byte(hex.EncodeToString(sum[:])), pkg.Signature) {
		t.Fatal("the signature is not ed25519 over the code's hex sha256 by the key's public half")
	}

	// A reviewer checks the signature with the public key; another key fails.
	if code, out, _ = runExt(t, "validate", "--pub", key+".pub", pkgPath); code != 0 || !strings.Contains(out, "signed (64-byte ed25519 signature)") {
		t.Fatalf("validate --pub: exit %d\n%s", code, out)
	}
	other := filepath.Join(dir, "other.key")
	runExt(t, "keygen", other)
	code, out, _ = runExt(t, "validate", "--pub", other+".pub", pkgPath)
	if code != 1 || !strings.Contains(out, pkgPath+": error: the signature does not match the code and the key in "+other+".pub") {
		t.Fatalf("validate with another key: exit %d\n%s", code, out)
	}
	// The package installs and runs like the source.
	if code, out, errs = runExt(t, "pack", src, "-o", filepath.Join(dir, "unsigned.skypkg")); code != 0 || !strings.Contains(out, "unsigned") {
		t.Fatalf("pack without a key: exit %d\n%s%s", code, out, errs)
	}
	if pkg, err := readPackage(filepath.Join(dir, "unsigned.skypkg")); err != nil || len(pkg.Signature) != 0 {
		t.Fatalf("unsigned package: %v, %d signature bytes", err, len(pkg.Signature))
	}
}

func readPackage(path string) (extensions.Package, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return extensions.Package{}, err
	}
	return extensions.ParseSkypkg(data)
}

func TestExtInitRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "taken"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"upper case", []string{"init", "Hello", "--dir", dir}, `"Hello" cannot be an extension name: @name "Hello" must be 2-60 characters`},
		{"too short", []string{"init", "x", "--dir", dir}, "cannot be an extension name"},
		{"existing directory", []string{"init", "taken", "--dir", dir}, "already exists; nothing was changed"},
		{"skybot's own command", []string{"init", "gallery", "--dir", dir}, "one of skybot's own slash commands"},
		{"no name", []string{"init", "--dir", dir}, "give one extension name"},
		{"unknown flag", []string{"init", "--bogus", "a1"}, "flag provided but not defined: -bogus"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runExt(t, tc.args...)
			if code != 2 || !strings.Contains(errs, tc.want) || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 saying %q", code, out, errs, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("refused inits left %d entries in the directory", len(entries))
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "taken")); len(entries) != 0 {
		t.Fatal("init wrote into an existing directory")
	}
	// Every command answers -h on stdout with exit 0.
	for _, cmd := range []string{"init", "validate", "test", "pack", "keygen"} {
		if code, out, _ := runExt(t, cmd, "-h"); code != 0 || !strings.HasPrefix(out, "Usage: skybot ext "+cmd) {
			t.Errorf("ext %s -h: exit %d, %q", cmd, code, out)
		}
	}
	if code, out, _ := runExt(t, "-h"); code != 0 || !strings.Contains(out, "skybot ext test") {
		t.Errorf("ext -h: exit %d, %q", code, out)
	}
}

// scaffolded returns a fresh scaffold's .skyext source for name.
func scaffolded(t *testing.T, name string) string {
	t.Helper()
	for _, f := range scaffold(name) {
		if f.name == name+".skyext" {
			return f.content
		}
	}
	t.Fatal("no .skyext in the scaffold")
	return ""
}

func TestExtValidateFindings(t *testing.T) {
	t.Parallel()
	good := scaffolded(t, "demo")
	cases := []struct {
		name, src string
		want      []string
	}{
		{"syntax error", strings.Replace(good, "const times = (n) =>", "const times = (n) => (;", 1),
			[]string{"x.skyext:14: error: The code does not compile: syntax error at column"}},
		{"header", strings.Replace(good, "// @scopes       messages_write, storage", "// @scopes       messages_write, telepathy", 1),
			[]string{`x.skyext: error: E_INVALID_PACKAGE: @scopes names "telepathy", which is not a skybot scope.`}},
		{"header line", strings.Replace(good, "// @engine       ^1.0", "// @engine       ^1.0\n// @colour blue", 1),
			[]string{"x.skyext:6: error: E_INVALID_PACKAGE: @colour is not a known header field."}},
		{"top level throws", strings.Replace(good, "const storage = require('storage');", "const storage = require('storage');\nstorage.nope.now();", 1),
			[]string{"x.skyext:13: error: The top level failed (error): TypeError"}},
		{"unroutable registration", strings.Replace(good, "sky.prefix(", "sky.on('guildMemberAd', async () => {});\nsky.prefix(", 1),
			[]string{"registers: event guildMemberAd;", `x.skyext:18: error: E_LOAD_FAILED: demo@0.1.0 registers a handler skybot cannot route: sky.on("guildMemberAd")`}},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"), "x.skyext")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errs := runExt(t, "validate", path)
			out = strings.ReplaceAll(out, path, "x.skyext")
			if code != 1 {
				t.Fatalf("exit %d; want 1\n%s%s", code, out, errs)
			}
			wantOutput(t, "validate", out, append(tc.want, "x.skyext: refused, ")...)
		})
	}
}

// failingCases has a case that passes and one whose expectation is wrong.
const failingCases = `case counts
  say alice: !demo
  expect reply: Hello, alice! !demo has been used 1 time here.

# the count starts at one, not zero
case wrong count
  say bob: !demo
  expect reply: Hello, bob! !demo has been used 0 times here.
  expect storage uses = 1
`

func TestExtTestFailsClearly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo.skyext"), []byte(scaffolded(t, "demo")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "demo.tests.txt"), []byte(failingCases), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runExt(t, "test", "--timeout", "30s", dir)
	if code != 1 {
		t.Fatalf("exit %d; want 1\n%s%s", code, out, errs)
	}
	wantOutput(t, "test", out, "PASS counts\n",
		`FAIL wrong count: line 8: expected the reply "Hello, bob! !demo has been used 0 times here."; skybot replied "Hello, bob! !demo has been used 1 time here."`)
	if !strings.HasSuffix(out, "\n1 passed, 1 failed\n") {
		t.Errorf("no summary line:\n%s", out)
	}

	// A case file that does not parse names its line.
	if err := os.WriteFile(filepath.Join(dir, "demo.tests.txt"), []byte("case a\n  shout alice: hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runExt(t, "test", "--timeout", "30s", filepath.Join(dir, "demo.skyext"))
	if code != 1 || !strings.Contains(out, `demo.tests.txt:2: unknown step "shout"`) || !strings.HasSuffix(out, "0 passed, 1 failed\n") {
		t.Fatalf("a bad case file: exit %d\n%s", code, out)
	}
}

// TestExtTestFiresEachTrigger: without a case file, each declared trigger
// fires once and the report says what it did.
func TestExtTestFiresEachTrigger(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "welcome.skyext"), examples.Read("welcome.skyext"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runExt(t, "test", "--timeout", "30s", "--validate", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	wantOutput(t, "test", out,
		"no case file (welcome.tests.txt or tests.txt), so each trigger fires once",
		"PASS event guildMemberAdd (carol joins)\n    · ran as guildMemberAdd (ok) — storage.increment [scope storage] ok; storage.set [scope storage] ok\n",
		"PASS slash command /welcome stats (admin runs /welcome stats)\n",
		"    skybot: 1 member(s) joined since I was installed.\n",
		"PASS prefix command !newest (alice says \"!newest\")\n",
		"    skybot: Say hello to <@",
		"3 passed, 0 failed\n")
}

// kitchen uses every step of the case-file grammar and most triggers.
const kitchen = `// ==SkyExtension==
// @name         kitchen
// @version      1.0.0
// @description  Exercises skybot ext test.
// @scopes       messages_write, storage, ban, roles_read, roles_manage
// ==/SkyExtension==
const sky = require('sky');
const storage = require('storage');
const moderation = require('moderation');
const roles = require('roles');

sky.onInstall(async () => { await storage.set('installed', true); });
sky.onDisable(async () => { await storage.increment('disabled'); });
sky.keyword(['pizza'], async (ctx) => { await ctx.reply('🍕 for ' + ctx.user.username); });
sky.every('5m', async () => { await storage.increment('ticks'); });
sky.cron('0 9 * * *', async () => { await storage.increment('mornings'); });
sky.prefix('menu', async (ctx) => {
  await ctx.reply({ content: 'Pick one', components: [{ type: 1, components: [{ type: 2, style: 1, label: 'Soup', custom_id: 'pick:soup' }] }] });
});
sky.component('pick:', async (ctx) => { await ctx.update({ content: 'You picked ' + ctx.customId.slice(5), components: [] }); });
sky.prefix('boom', async () => { console.log('about to fail'); throw new Error('boom'); });
sky.prefix('remind', async (ctx) => { await sky.later(60000, 'remind:' + ctx.user.id, { who: ctx.user.username }); await ctx.reply('ok'); });
sky.onJob('remind:', async (ctx) => { await storage.set('reminded', ctx.job.payload.who); });
sky.command({ name: 'ban', description: 'Ban someone',
  options: [{ type: 'user', name: 'who', description: 'whom', required: true }, { type: 'string', name: 'why', description: 'reason' }] },
  async (ctx) => { await moderation.ban(ctx.options.who.id, { reason: ctx.options.why || 'test' }); await ctx.reply('banned ' + ctx.options.who.id); });
sky.on('guildMemberAdd', async (ctx) => {
  const helpers = (await roles.list()).find((r) => r.name === 'Helpers');
  await roles.add(ctx.member.id, helpers.id);
});
`

const kitchenCases = `case keyword
  say alice in #random: I want pizza
  expect reply: 🍕 for alice
  say bob: nothing here
  expect no reply

case menu and click
  say bob: !menu
  expect reply contains: Pick one
  click bob: Soup
  expect reply: You picked soup

case schedules
  expect storage installed = true
  advance 5m
  expect storage ticks = 1
  advance 5m
  expect storage ticks = 2
  advance 1d
  expect storage mornings = 1
  expect no storage disabled

case jobs
  say alice: !remind
  expect reply: ok
  advance 2m
  expect storage reminded = "alice"

case a job made after an advance counts from the guild's clock
  advance 1h
  say bob: !remind
  advance 30s
  expect no storage reminded
  advance 1m
  expect storage reminded = "bob"

case ban and roles
  slash admin: /ban who=bob why="being bob"
  expect reply contains: banned
  expect banned bob
  expect not banned alice
  join carol
  expect role carol Helpers
  expect no role alice Helpers

case failures are logged
  say alice: !boom
  expect no reply
  expect log contains: about to fail
  expect log contains: Error: boom
`

func TestExtTestKitchen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kitchen.skyext"), []byte(kitchen), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := filepath.Join(dir, "cases.txt")
	if err := os.WriteFile(cases, []byte(kitchenCases), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runExt(t, "test", "--timeout", "30s", "--validate", "--cases", cases, filepath.Join(dir, "kitchen.skyext"))
	if code != 0 || !strings.HasSuffix(out, "\n7 passed, 0 failed\n") {
		t.Fatalf("cases: exit %d\n%s%s", code, out, errs)
	}

	// Without cases every trigger fires once; !boom throws.
	code, out, errs = runExt(t, "test", "--timeout", "30s", "--validate", filepath.Join(dir, "kitchen.skyext"))
	if code != 1 {
		t.Fatalf("triggers: exit %d; want 1 for !boom\n%s%s", code, out, errs)
	}
	wantOutput(t, "test", out,
		"PASS onInstall (at install)\n",
		"PASS keyword pizza (alice says \"about pizza today\")\n",
		"PASS every 5m0s (advance 5m0s)\n",
		"PASS cron 0 9 * * * (advance ",
		"PASS prefix command !menu (alice says \"!menu\")\n",
		"FAIL prefix command !boom (alice says \"!boom\"): error: Error: boom (at kitchen.skyext:21:70)\n",
		"    · console.info: about to fail\n",
		"PASS slash command /ban (admin runs /ban who=target)\n    · ran as command (ok) — moderation.ban [scope ban] ok;",
		"PASS event guildMemberAdd (carol joins)\n    · ran as guildMemberAdd (ok) — roles.list [scope roles_read] ok; roles.add [scope roles_manage] ok\n",
		"PASS components pick:* (alice clicks [Soup])\n    · ran as component (ok) — interaction.update [no scope needed] ok\n    skybot: You picked soup\n",
		"PASS jobs remind:* (advance ",
		"PASS onDisable (admin runs /ext disable, then /ext enable)\n",
		"\n11 passed, 1 failed\n")
}

func TestExtCommandLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"validate"}, "name at least one"},
		{[]string{"validate", filepath.Join(dir, "nope.skyext")}, "no such file or directory"},
		{[]string{"test", dir}, "holds no .skyext file"},
		{[]string{"pack"}, "name one .skyext file"},
		{[]string{"pack", filepath.Join(dir, "x.txt")}, "no such file"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, tc := range cases {
		code, out, errs := runExt(t, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("ext %v: exit %d, stdout %q, stderr %q; want exit 2 saying %q", tc.args, code, out, errs, tc.want)
		}
	}
	var out bytes.Buffer
	if code := extCmd(context.Background(), nil, &out, &out); code != 2 || !strings.Contains(out.String(), "Usage:") {
		t.Errorf("bare ext: exit %d, %q", code, out.String())
	}
}

// A job listed at a whole second is reached whatever the fractions of a
// second of the clock and of the job's real due time.
func TestAdvanceReachesListedJobs(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, nowFrac := range []time.Duration{0, 200 * time.Millisecond, 999 * time.Millisecond} {
		for _, wait := range []time.Duration{0, 300 * time.Millisecond, 60*time.Second + 500*time.Millisecond, 59*time.Second + 999*time.Millisecond} {
			now := base.Add(nowFrac)
			realDue := now.Add(wait)
			listed := realDue.Truncate(time.Second) // as Pending prints it
			if got := now.Add(advanceFor(listed, now)); got.Before(realDue) {
				t.Errorf("now %s, due %s: advancing to %s is short", now.Format(time.StampMilli), realDue.Format(time.StampMilli), got.Format(time.StampMilli))
			}
		}
	}
}
