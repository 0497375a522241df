package extensions

import (
	"bufio"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"

	"github.com/skyext/skybot/sandbox"
)

// The scan's rules, applied once the walk has seen the whole program.

// What the sandbox does with module names and a handler's ctx, as the scan
// needs to know it. sandbox keeps these unexported; they are mirrored here
// and a test checks every API name they give against sandbox.APIs.
var (
	// legacyModuleAlias: SkynetBot's second names for a module (isolate.go
	// legacyAlias).
	legacyModuleAlias = map[string]string{"economy": "points", "author": "user"}
	// legacySharedModules: part A modules whose functions the SkynetBot
	// module of the same name carries (isolate.go sharedModules).
	legacySharedModules = map[string]bool{"http": true, "interaction": true}
	// ctxHelpers: the functions a handler's ctx carries, by reply style,
	// and the API each calls (handlers.go replyHelpers).
	ctxHelpers = map[string]map[string]string{
		ctxMessage: {"reply": "message.reply"},
		ctxInteraction: {
			"reply": "interaction.reply", "defer": "interaction.deferReply", "editReply": "interaction.editReply",
			"followUp": "interaction.followUp", "update": "interaction.update",
			"showModal": "interaction.showModal", "respond": "interaction.respond",
		},
	}
)

// replyStyle is the ctx a handler registered with sky.<method> receives
// (the dispatcher's handlerEvent calls).
func replyStyle(method, event string) string {
	switch method {
	case "prefix", "keyword":
		return ctxMessage
	case "on":
		if event == "messageCreate" || event == "messageUpdate" {
			return ctxMessage
		}
	case "command", "component":
		return ctxInteraction
	}
	return ctxNone
}

// reachableAPIs are the host functions require(module) carries in code of
// the given style (sandbox: legacyModule and apiModule).
func reachableAPIs(legacy bool, module string) []sandbox.API {
	var out []sandbox.API
	if legacy && slices.Contains(sandbox.LegacyModules, module) {
		m := module
		if alias, ok := legacyModuleAlias[module]; ok {
			m = alias
		}
		for _, a := range sandbox.APIs {
			if a.Module == m && (a.Legacy || legacySharedModules[m]) {
				out = append(out, a)
			}
		}
		return out
	}
	if legacy && module == "sky" {
		return nil
	}
	for _, a := range sandbox.APIs {
		if a.Module == module && !a.Legacy {
			out = append(out, a)
		}
	}
	return out
}

// knownModules are the names require() resolves in code of the style.
func knownModules(legacy bool) map[string]bool {
	known := map[string]bool{}
	if legacy {
		for _, m := range sandbox.LegacyModules {
			known[m] = true
		}
	} else {
		known["sky"], known["embed"], known["utils"] = true, true, true
	}
	for _, a := range sandbox.APIs {
		if !a.Legacy && !(legacy && a.Module == "sky") {
			known[a.Module] = true
		}
	}
	return known
}

// moduleAPI is the API a member path of module calls, if any.
func (s *scanner) moduleAPI(module string, path []string) (sandbox.API, bool) {
	fn := path[0]
	if s.legacy && module == "extension" && fn == "storage" && len(path) > 1 {
		fn = path[1] // extension.storage.write is the table's extension.write
	}
	for _, a := range reachableAPIs(s.legacy, module) {
		if strings.TrimPrefix(a.Name, a.Module+".") == fn {
			return a, true
		}
	}
	return sandbox.API{}, false
}

// moduleHints are scopes a module's data or payloads may need without any
// call the scan can see: they count as used when the module is required
// (or escapes), so that they are never reported as unused by mistake.
func moduleHints(legacy bool, module string) []string {
	switch module {
	case "embed":
		return []string{"embed_links"}
	case "messages", "reactions":
		return []string{"messages_global"}
	}
	if !legacy {
		return nil
	}
	switch module {
	case "points", "economy":
		// points data is read under members_read (part B 3.12), which
		// SkynetBot documented as economy_read.
		return []string{"members_read", "economy_read"}
	case "extension":
		return []string{"storage"} // extension.storage needs no scope in part B
	}
	if scope, ok := moduleScopes[module]; ok {
		return []string{scope}
	}
	return nil
}

// target is what a chain resolves to: a module or a handler's ctx, and
// the property path below it.
type target struct {
	module, ctx string
	path        []string
}

func sameTarget(a, b target) bool {
	return a.module == b.module && a.ctx == b.ctx && slices.Equal(a.path, b.path)
}

// resolved memoises bindings; resolving marks those on the current path
// (a cycle such as x = x.next resolves to nothing).
type resolution struct {
	t  target
	ok bool
}

func (s *scanner) resolve(c chain, memo map[*binding]*resolution) (target, bool) {
	if c.module != "" {
		return target{module: c.module, path: c.path}, true
	}
	if c.scope == nil {
		return target{}, false
	}
	b := c.scope.lookup(c.name)
	if b == nil {
		return target{}, false
	}
	r, seen := memo[b]
	if seen && r == nil {
		return target{}, false // a cycle
	}
	if !seen {
		memo[b] = nil
		r = s.resolveBinding(b, memo)
		memo[b] = r
	}
	if !r.ok {
		return target{}, false
	}
	out := r.t
	out.path = append(slices.Clip(out.path), c.path...)
	return out, true
}

func (s *scanner) resolveBinding(b *binding, memo map[*binding]*resolution) *resolution {
	if b.ctx != "" {
		return &resolution{t: target{ctx: b.ctx}, ok: b.ctx != ctxMixed}
	}
	if b.opaque || len(b.values) == 0 {
		return &resolution{}
	}
	var out target
	for i, v := range b.values {
		t, ok := s.resolve(v, memo)
		if !ok || (i > 0 && !sameTarget(t, out)) {
			return &resolution{}
		}
		out = t
	}
	return &resolution{t: out, ok: true}
}

// handlerScope is the scope of the function a registration passes.
func (s *scanner) handlerScope(sc *jsScope, h ast.Expression) *jsScope {
	switch x := unwrap(h).(type) {
	case *ast.FunctionLiteral:
		return s.fnScopes[x]
	case *ast.ArrowFunctionLiteral:
		return s.fnScopes[x]
	case *ast.Identifier:
		if b := sc.lookup(string(x.Name)); b != nil && !b.opaque && len(b.values) == 0 {
			return b.fn
		}
	}
	return nil
}

// apiUse is an API the code calls, at the first line it does.
type apiUse struct {
	api  sandbox.API
	line int
}

func (s *scanner) finish() {
	for _, a := range s.assigns {
		b := a.scope.lookup(a.name)
		if b == nil { // an implicit global (sloppy mode)
			b = &binding{}
			s.root.names[a.name] = b
		}
		if a.value != nil {
			b.values = append(b.values, *a.value)
		} else {
			b.opaque = true
		}
	}
	if !s.legacy {
		s.bindHandlers()
	}

	var (
		apis     []apiUse
		seenAPI  = map[string]int{}  // API name → index in apis
		maybe    = map[string]bool{} // scopes code may use in ways the scan cannot see
		escaped  = map[string]bool{} // modules the scan lost track of
		httpUsed bool
	)
	memo := map[*binding]*resolution{}
	record := func(api sandbox.API, line int) {
		if i, seen := seenAPI[api.Name]; seen {
			apis[i].line = min(apis[i].line, line)
			return
		}
		seenAPI[api.Name] = len(apis)
		apis = append(apis, apiUse{api: api, line: line})
	}
	for _, u := range s.uses {
		s.checkFunctionConstructor(u)
		t, ok := s.resolve(u.chain, memo)
		if !ok {
			if slices.Contains(u.chain.path, "reply") {
				maybe["messages_write"] = true // a reply helper the scan could not place
			}
			continue
		}
		switch {
		case t.ctx != "":
			if len(t.path) > 0 {
				if name, ok := ctxHelpers[t.ctx][t.path[0]]; ok {
					if api, ok := sandbox.LookupAPI(name); ok {
						record(api, u.line)
					}
				}
			}
		case t.module != "":
			if t.module == "http" {
				httpUsed = true
			}
			if len(t.path) > 0 {
				if api, ok := s.moduleAPI(t.module, t.path); ok {
					record(api, u.line)
					continue
				}
			}
			if u.bare {
				escaped[t.module] = true
			}
		}
	}

	declared := map[string]bool{}
	for _, sc := range s.man.Scopes {
		declared[sc] = true
	}
	used := map[string]bool{}

	s.checkRequires(declared, used, maybe, &httpUsed)
	for module := range escaped {
		for _, a := range reachableAPIs(s.legacy, module) {
			if a.Scope != "" {
				maybe[a.Scope] = true
			}
		}
		for _, sc := range moduleHints(s.legacy, module) {
			maybe[sc] = true
		}
	}
	if s.props["member"] {
		maybe["members_read"] = true // a handler's ctx.member is there only with members_read
	}

	httpRequestLine := 0
	for _, u := range apis {
		if u.api.Name == "http.request" {
			httpRequestLine = u.line
		}
		if u.api.Scope == "" {
			continue
		}
		used[u.api.Scope] = true
		if !declared[u.api.Scope] {
			s.findings = append(s.findings, makeFinding(StageScan, SeverityError, u.line,
				"%s needs the %s scope, which the manifest does not declare", u.api.Name, u.api.Scope))
		}
	}

	if len(s.embeds) > 0 {
		used["embed_links"] = true
		if !declared["embed_links"] && s.man.Compat != CompatSkynet {
			s.findings = append(s.findings, makeFinding(StageScan, SeverityWarning, s.embeds[0],
				"a message with embeds needs the embed_links scope, which the manifest does not declare"))
		}
	}

	scopesLine := headerLine(s.code, "scopes")
	seen := map[string]bool{}
	for _, sc := range s.man.Scopes {
		if seen[sc] || used[sc] || maybe[sc] {
			continue
		}
		seen[sc] = true
		s.findings = append(s.findings, makeFinding(StageScan, SeverityWarning, scopesLine, "scope %s is declared but no code uses it", sc))
	}

	s.checkNetwork(httpUsed, httpRequestLine)
}

// bindHandlers gives the first argument of every function registered
// with sky its ctx style, so that ctx.reply resolves to its API.
func (s *scanner) bindHandlers() {
	memo := map[*binding]*resolution{}
	for _, r := range s.regs {
		t, ok := s.resolve(r.recv, memo)
		if !ok || t.module != "sky" || len(t.path) != 0 {
			continue
		}
		style := replyStyle(r.method, r.event)
		for _, h := range r.handlers {
			sc := s.handlerScope(r.scope, h)
			if sc == nil {
				continue
			}
			b, ok := sc.names[arg0]
			if !ok {
				continue
			}
			switch b.ctx {
			case "", style:
				b.ctx = style
			default:
				b.ctx = ctxMixed
			}
		}
	}
}

// checkFunctionConstructor reports f.constructor for a name bound to a
// function: that is the Function (or AsyncFunction) constructor.
func (s *scanner) checkFunctionConstructor(u use) {
	c := u.chain
	if c.module != "" || c.scope == nil || len(c.path) == 0 || c.path[0] != "constructor" {
		return
	}
	if b := c.scope.lookup(c.name); b != nil && b.fn != nil && !b.opaque && len(b.values) == 0 {
		s.findings = append(s.findings, makeFinding(StageScan, SeverityError, u.line,
			".constructor of a function reaches the Function constructor, which is forbidden"))
	}
}

// checkRequires applies the module rules to every require('name').
func (s *scanner) checkRequires(declared, used, maybe map[string]bool, httpUsed *bool) {
	known := knownModules(s.legacy)
	reported := map[string]bool{}
	for _, r := range s.requires {
		if !known[r.module] {
			if !reported[r.module] {
				reported[r.module] = true
				s.findings = append(s.findings, makeFinding(StageScan, SeverityError, r.line, "%s", s.unknownModule(r.module)))
			}
			continue
		}
		if r.module == "http" {
			*httpUsed = true
		}
		for _, sc := range moduleHints(s.legacy, r.module) {
			maybe[sc] = true
		}
		scope, gated := moduleScopes[r.module]
		if !s.legacy || !gated {
			continue
		}
		used[scope] = true
		if !declared[scope] && !reported[r.module] {
			reported[r.module] = true
			s.findings = append(s.findings, makeFinding(StageScan, SeverityError, r.line,
				"require('%s') needs the %s scope, which the manifest does not declare", r.module, scope))
		}
	}
}

func (s *scanner) unknownModule(module string) string {
	switch {
	case s.legacy && module == "sky":
		return "require('sky'): the sky module registers handlers, which only handler-style extensions (without @type) have"
	case !s.legacy && slices.Contains(sandbox.LegacyModules, module):
		return "require('" + module + "'): " + module + " is a SkynetBot module, available only to legacy (@type) extensions; handler-style code gets its event's data in the handler's ctx"
	}
	return "require('" + module + "'): skybot has no module named " + module
}

// checkNetwork compares the URLs the code names and its use of http with
// the manifest's @hosts and network capability.
func (s *scanner) checkNetwork(httpUsed bool, requestLine int) {
	network := s.man.Network != "" && s.man.Network != "none"
	if requestLine > 0 && len(s.man.Hosts) == 0 && !network {
		what := "lists no @hosts"
		if s.legacy {
			what = "lists no @hosts and has no network capability"
		}
		s.findings = append(s.findings, makeFinding(StageScan, SeverityError, requestLine,
			"http.request is called, but the manifest %s, so skybot would refuse every request", what))
	}
	if !httpUsed {
		if len(s.man.Hosts) > 0 {
			s.findings = append(s.findings, makeFinding(StageScan, SeverityWarning, headerLine(s.code, "hosts"),
				"@hosts is declared but no code uses http"))
		}
		return
	}
	seen := map[string]bool{}
	for _, u := range s.urls {
		key := u.scheme + "://" + u.host
		if seen[key] {
			continue
		}
		seen[key] = true
		if len(s.man.Hosts) > 0 && !hostCovered(u.host, s.man.Hosts) {
			s.findings = append(s.findings, makeFinding(StageScan, SeverityWarning, u.line,
				"the code names the host %s, which @hosts does not list; http.request to it would be refused", u.host))
		}
		if u.scheme == "http" && s.man.Network != "network_advanced" {
			s.findings = append(s.findings, makeFinding(StageScan, SeverityWarning, u.line,
				"http://%s is plain http, which only the network_advanced capability may request; use https", u.host))
		}
	}
}

// hostCovered is the sandbox's host rule: equal to an entry, or a
// subdomain of it; "*.example.org" is read as example.org.
func hostCovered(host string, patterns []string) bool {
	for _, p := range patterns {
		p = strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(p)), "*."), ".")
		if p != "" && (host == p || strings.HasSuffix(host, "."+p)) {
			return true
		}
	}
	return false
}

// url records a string (or a template literal's head) that is an http or
// https URL. partial says more text follows the string at run time, so a
// host not ended by "/", "?" or "#" may be incomplete.
func (s *scanner) url(text string, idx file.Idx, partial bool) {
	if scheme, host, ok := urlHost(text, partial); ok {
		s.urls = append(s.urls, urlLiteral{scheme: scheme, host: host, line: s.line(idx)})
	}
}

var dnsName = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]*[a-z0-9])?)*$`)

func urlHost(text string, partial bool) (scheme, host string, ok bool) {
	var rest string
	switch lower := strings.ToLower(text); {
	case strings.HasPrefix(lower, "https://"):
		scheme, rest = "https", text[len("https://"):]
	case strings.HasPrefix(lower, "http://"):
		scheme, rest = "http", text[len("http://"):]
	default:
		return "", "", false
	}
	end := strings.IndexAny(rest, "/?#\\ \t\r\n\"'<>")
	if end < 0 {
		if partial {
			return "", "", false
		}
		end = len(rest)
	}
	hostport := rest[:end]
	if at := strings.LastIndexByte(hostport, '@'); at >= 0 {
		hostport = hostport[at+1:]
	}
	if strings.HasPrefix(hostport, "[") {
		closing := strings.IndexByte(hostport, ']')
		if closing < 0 {
			return "", "", false
		}
		host = hostport[1:closing]
		if _, err := netip.ParseAddr(host); err != nil {
			return "", "", false
		}
		return scheme, strings.ToLower(host), true
	}
	host, _, _ = strings.Cut(hostport, ":")
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if !dnsName.MatchString(host) {
		return "", "", false
	}
	return scheme, host, true
}

// headerLine is the 1-based line of "// @key" in a .skyext header at the
// top of code, or 0 (a .skypkg's code has no header).
func headerLine(code, key string) int {
	sc := bufio.NewScanner(strings.NewReader(code))
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	inside := false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "//") {
			if inside || line != "" {
				return 0
			}
			continue
		}
		body := strings.TrimSpace(strings.TrimPrefix(line, "//"))
		switch {
		case body == headerOpen:
			inside = true
		case body == headerClose:
			return 0
		case inside && strings.HasPrefix(body, "@"):
			k, _, _ := strings.Cut(body[1:], " ")
			if strings.EqualFold(strings.TrimSpace(k), key) {
				return n
			}
		}
	}
	return 0
}
