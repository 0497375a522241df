package extensions

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// User is the plain view of a Discord user that extensions receive.
type User struct {
	ID         string
	Username   string
	GlobalName string
	Avatar     string
	Bot        bool
	System     bool
}

// Message is a guild message as the dispatcher needs it: plain data the
// bot layer copies out of the gateway event.
type Message struct {
	GuildID     string
	GuildName   string
	ChannelID   string
	ChannelName string
	ChannelType int
	ID          string
	Content     string
	Author      User
	Mentions    []User
	CreatedAt   time.Time
	Bot         User // skybot's own user, as the gateway's READY named it
	// MemberPermissions is the author's permission bitfield in the
	// channel, computed by the bot layer from gateway state.
	MemberPermissions int64
	// MemberRoles are the author's role ids.
	MemberRoles []string
	// Modules is the data of SkynetBot's guild, channel, member and roles
	// modules, built by the bot layer from gateway state; each is withheld
	// from extensions without its scope.
	Modules map[string]any
}

// Run is the report of one invocation, for observers (the demo transcript,
// later metrics).
type Run struct {
	GuildID   string
	Extension string
	Version   string
	Trigger   string
	Result    sandbox.Result
}

// Dispatcher routes guild events to the installed, enabled extensions of
// the guild that subscribe to them.
type Dispatcher struct {
	m       *Manager
	observe func(Run)
	bot     atomic.Pointer[User] // skybot's own user, once the gateway named it
	sched   *Scheduler           // set by NewScheduler
	// modules gives legacy runs the module data that lives on the
	// trusted side: guild and roles (from gateway state), extension
	// (storage and settings), points/economy, http and config.
	modules atomic.Pointer[ModuleSource]

	hookRuns hookRuns
}

// ModuleSource returns the data of the legacy modules the bot layer and
// the store provide for one run, by require() name. Modules withheld for
// a missing scope are removed afterwards, as for message data.
// needs reports whether the code names a module (each one costs reads);
// code that computes module names gets only those it spells out.
type ModuleSource func(ctx context.Context, o Origin, granted sandbox.ScopeSet, needs func(module string) bool) map[string]any

// SetModuleSource installs the bot layer's module source.
func (d *Dispatcher) SetModuleSource(f ModuleSource) { d.modules.Store(&f) }

// addModules adds the source's modules that ev does not carry yet.
func (d *Dispatcher) addModules(ctx context.Context, ev *sandbox.Event, o Origin, granted sandbox.ScopeSet, code string) {
	f := d.modules.Load()
	if f == nil {
		return
	}
	needs := func(module string) bool {
		_, have := ev.Modules[module]
		return !have && strings.Contains(code, module)
	}
	for name, data := range (*f)(ctx, o, granted, needs) {
		if _, ok := ev.Modules[name]; !ok {
			if ev.Modules == nil {
				ev.Modules = map[string]json.RawMessage{}
			}
			ev.Modules[name] = mustJSON(data)
		}
	}
}

// Scheduler returns the dispatcher's scheduler, or nil.
func (d *Dispatcher) Scheduler() *Scheduler { return d.sched }

// SetBotUser records skybot's own user (from READY), which legacy runs
// without a message see in the bot module.
func (d *Dispatcher) SetBotUser(u User) { d.bot.Store(&u) }

func (d *Dispatcher) botUser() User {
	if u := d.bot.Load(); u != nil {
		return *u
	}
	return User{}
}

// NewDispatcher returns a dispatcher over m. observe, if not nil, sees
// every run after it is logged.
func NewDispatcher(m *Manager, observe func(Run)) *Dispatcher {
	d := &Dispatcher{m: m, observe: observe}
	m.mu.Lock()
	m.hooks = d.runHook
	m.mu.Unlock()
	return d
}

// guildView is what routing needs of one guild, cached until an install
// changes.
type guildView struct {
	built    time.Time
	prefix   string
	policy   Policy
	tier     TierLimits
	limits   sandbox.Limits // from the guild's tier
	installs []activeInstall
}

type activeInstall struct {
	install  store.Install
	version  store.Version
	manifest Manifest
	program  *sandbox.Program
	regs     []sandbox.Registration // handler style: what its top level registered
	perms    store.InstallPermissions
	loadErr  error // set when the code cannot be loaded; reported per event
}

func (m *Manager) invalidate(guild store.GuildID) {
	m.mu.Lock()
	delete(m.guilds, guild)
	m.viewGen[guild]++
	watchers := m.watchers
	m.mu.Unlock()
	for _, w := range watchers {
		w(guild)
	}
}

// watch registers f to hear of every change to a guild's installs. f must
// not block.
func (m *Manager) watch(f func(store.GuildID)) {
	m.mu.Lock()
	m.watchers = append(m.watchers, f)
	m.mu.Unlock()
}

// view returns the cached routing view of guild, building it on a miss.
func (m *Manager) view(ctx context.Context, guild store.GuildID) (*guildView, error) {
	m.mu.Lock()
	v, ok := m.guilds[guild]
	gen := m.viewGen[guild]
	m.mu.Unlock()
	// Changes made here invalidate at once; the TTL picks up what changes
	// elsewhere (an operator's tier change, a repair).
	if ok && m.now().Sub(v.built) < viewTTL {
		return v, nil
	}
	g, err := m.store.EnsureGuild(ctx, guild, m.opts.DefaultPrefix)
	if err != nil {
		return nil, fmt.Errorf("guild %s: %w", guild, err)
	}
	ins, err := m.store.Installs(ctx, guild)
	if err != nil {
		return nil, fmt.Errorf("installs of %s: %w", guild, err)
	}
	quarantined, err := m.quarantined(ctx)
	if err != nil {
		return nil, fmt.Errorf("quarantined versions: %w", err)
	}
	tier := m.tier(g.Tier)
	v = &guildView{built: m.now(), prefix: g.Prefix, tier: tier, limits: tier.Limits}
	if len(g.Policy) > 0 {
		if err := json.Unmarshal(g.Policy, &v.policy); err != nil {
			m.log.Error("guild policy unreadable; ignoring it", "guild_id", guild, "err", err)
		}
	}
	v.limits = v.policy.narrow(v.limits)
	for _, in := range ins {
		if !in.Enabled {
			continue
		}
		ai := activeInstall{install: in}
		ai.version, err = m.store.Version(ctx, in.VersionID)
		if err == nil {
			err = json.Unmarshal(ai.version.Manifest, &ai.manifest)
		}
		if q, ok := quarantined[in.VersionID]; ok && err == nil {
			// A quarantined version is stopped wherever it is installed;
			// one that got back in (the same file uploaded again) fails
			// every run it is routed, loudly.
			err = quarantineError(q, in.Name, in.Version)
		}
		if err == nil {
			ai.program, err = m.program(ai.version, ai.manifest)
		}
		if err == nil && !ai.manifest.Legacy() {
			ai.regs, err = m.describe(ctx, guild, ai.version, ai.program, v.limits)
		}
		if err == nil {
			ai.perms, err = m.store.InstallPermissions(ctx, guild, in.ExtensionID)
		}
		ai.loadErr = err
		v.installs = append(v.installs, ai)
	}
	m.mu.Lock()
	if m.viewGen[guild] == gen { // else a change landed while this was read: the next call rebuilds
		m.guilds[guild] = v
	}
	m.mu.Unlock()
	return v, nil
}

// usableBy reports whether the install's commands and keywords may run
// in channel for a member with roles (/ext permissions; no limits set
// means everywhere, for everyone).
func (ai activeInstall) usableBy(channel string, roles []string) bool {
	if len(ai.perms.Channels) > 0 && !slices.Contains(ai.perms.Channels, channel) {
		return false
	}
	if len(ai.perms.Roles) > 0 && !slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(ai.perms.Roles, r) }) {
		return false
	}
	return true
}

// viewTTL is how long a guild's routing view is trusted.
const viewTTL = 30 * time.Second

// OnMessage runs every extension of the message's guild whose trigger
// matches it, in install order. Bots' messages, skybot's own included,
// trigger nothing.
func (d *Dispatcher) OnMessage(ctx context.Context, msg Message) error {
	if msg.GuildID == "" || msg.Author.Bot || msg.Author.ID == msg.Bot.ID {
		return nil
	}
	view, err := d.m.view(ctx, store.GuildID(msg.GuildID))
	if err != nil {
		return err
	}
	cmd, isCommand := parseCommand(view.prefix, msg.Content)
	origin := Origin{GuildID: msg.GuildID, ChannelID: msg.ChannelID, MessageID: msg.ID, UserID: msg.Author.ID, ByMember: true, MemberPermissions: msg.MemberPermissions}
	for _, ai := range view.installs {
		if !ai.usableBy(msg.ChannelID, msg.MemberRoles) {
			continue
		}
		if !ai.manifest.Legacy() {
			d.onMessageHandlers(ctx, ai, view, msg, cmd, isCommand, origin)
			continue
		}
		var ev sandbox.Event
		switch {
		case ai.manifest.Type == TypeCommand && isCommand && cmd.key == ai.manifest.Key:
			ev = commandEvent(view.prefix, cmd, ai.manifest.Key, msg)
			origin.Trigger = "command"
		case ai.manifest.Type == TypeKeyword && keywordMatches(ai.manifest, msg.Content):
			ev = keywordEvent(ai.manifest, msg, view.prefix)
			origin.Trigger = "keyword"
		default:
			continue
		}
		d.run(ctx, ai, view, ev, origin)
	}
	return nil
}

// onMessageHandlers runs a handler-style extension's prefix commands and
// keywords that match msg.
func (d *Dispatcher) onMessageHandlers(ctx context.Context, ai activeInstall, view *guildView, msg Message, cmd command, isCommand bool, origin Origin) {
	granted := sandbox.NewScopeSet(ai.install.GrantedScopes...)
	for _, r := range ai.regs {
		switch {
		case r.Kind == sandbox.RegPrefix && isCommand && cmd.key == r.Key:
			data := messageContext(msg, granted)
			args := []string{}
			if cmd.trimmedSufix != "" {
				args = strings.Fields(cmd.trimmedSufix)
			}
			data["prefix"], data["key"], data["suffix"], data["args"] = view.prefix, r.Key, cmd.trimmedSufix, args
			origin.Trigger = "command"
			d.run(ctx, ai, view, handlerEvent("command", r, "message", data), origin)
		case r.Kind == sandbox.RegKeyword && keywordRegMatches(r, msg.Content):
			origin.Trigger = "keyword"
			d.run(ctx, ai, view, handlerEvent("keyword", r, "message", messageContext(msg, granted)), origin)
		}
	}
}

// run delivers one event and records its outcome in the extension's log.
// The run's trusted state (storage overlay, interaction answer) is
// finished when it ends, its writes committed or discarded.
func (d *Dispatcher) run(ctx context.Context, ai activeInstall, view *guildView, ev sandbox.Event, origin Origin) sandbox.Result {
	in := ai.install
	limits := view.limits
	origin.ExtensionID, origin.VersionID = in.ExtensionID, in.VersionID
	origin.Extension, origin.Version = in.Name, in.Version
	origin.Legacy = ai.manifest.Legacy()
	origin.Skynet = ai.manifest.Compat == CompatSkynet
	origin.Hosts, origin.Network = ai.manifest.Hosts, ai.manifest.Network
	origin.Quota = view.tier.Storage
	origin.NegativeBalances = view.policy.NegativeBalances
	origin.Channels = ai.perms.Channels
	if ai.perms.NoMemberChecks {
		origin.ByMember = false // the admin's choice (/ext permissions)
	}
	if origin.Run == nil {
		origin.Run = NewRunState()
	}

	var res sandbox.Result
	if ai.loadErr != nil {
		res.Failure = &sandbox.Failure{Kind: sandbox.FailCompile, Message: ai.loadErr.Error()}
	} else {
		granted := sandbox.NewScopeSet(in.GrantedScopes...)
		if origin.Legacy {
			d.addModules(ctx, &ev, origin, granted, ai.version.Code)
		}
		withholdModules(&ev, granted)
		// A version's own timeout may shorten the tier's, never lengthen it.
		if t := time.Duration(ai.manifest.TimeoutMS) * time.Millisecond; t > 0 && (limits.Timeout == 0 || t < limits.Timeout) {
			limits.Timeout = t
		}
		var err error
		res, err = d.m.runner.Deliver(ctx, sandbox.Delivery{
			Spec: sandbox.Spec{
				Key:     sandbox.Key{Guild: origin.GuildID, Extension: in.Name},
				Version: in.Version, Program: ai.program, Granted: granted, Limits: limits,
			},
			Event:  ev,
			Origin: origin,
		})
		if err != nil {
			res.Failure = &sandbox.Failure{Kind: sandbox.FailInternal, Message: err.Error()}
		}
	}
	if err := origin.Run.Finish(context.WithoutCancel(ctx), res.Failure == nil); err != nil {
		d.m.log.Error("finishing a run failed", "guild_id", origin.GuildID, "ext", in.Name, "err", err)
		res.Console = append(res.Console, sandbox.ConsoleLine{Level: "error", Text: "skybot could not save this run's writes: " + err.Error()})
	}
	d.m.recordRun(ctx, in, res)
	if res.Failure != nil {
		d.m.noteFailure(ctx, in, res.Failure)
	}
	if d.observe != nil {
		d.observe(Run{GuildID: origin.GuildID, Extension: in.Name, Version: in.Version, Trigger: ev.Kind, Result: res})
	}
	return res
}

// recordRun writes an invocation's console output and failure to the
// extension's log, where the guild admin reads it.
func (m *Manager) recordRun(ctx context.Context, in store.Install, res sandbox.Result) {
	m.usage.add(in, res.Failure != nil, m.now())
	var lines []store.LogEntry
	entry := func(level, kind, msg, detail string) {
		lines = append(lines, store.LogEntry{
			GuildID: in.GuildID, ExtensionID: in.ExtensionID, VersionID: in.VersionID,
			Level: level, Kind: kind, Message: msg, Detail: detail,
		})
	}
	// One write for the whole run, whatever it printed.
	defer func() {
		if err := m.store.AppendLog(ctx, lines...); err != nil {
			m.log.Error("extension log write failed", "guild_id", in.GuildID, "ext", in.Name, "lines", len(lines), "err", err)
		}
	}()
	for _, line := range res.Console {
		entry(line.Level, "console", line.Text, "")
	}
	if res.ConsoleDropped > 0 {
		entry("warn", "console", fmt.Sprintf("%d console lines over the per-run limit were not kept", res.ConsoleDropped), "")
	}
	for _, c := range res.Calls {
		if c.Outcome != "ok" {
			entry("warn", "run", fmt.Sprintf("%s was refused: %s", c.API, c.Outcome), "scope "+c.Scope)
		}
	}
	if f := res.Failure; f != nil {
		entry("error", "error", f.Kind+": "+f.Message, f.Stack)
		m.log.Warn("extension run failed", "guild_id", in.GuildID, "ext", in.Name, "version", in.Version, "kind", f.Kind, "err", f.Message)
	}
}

// Logs returns the newest lines of an installed extension's log.
func (m *Manager) Logs(ctx context.Context, guild store.GuildID, name string, limit int) ([]store.LogEntry, error) {
	in, err := m.store.InstallByName(ctx, guild, name)
	if err != nil {
		return nil, err
	}
	return m.store.Logs(ctx, guild, in.ExtensionID, limit)
}

// command is a parsed prefix command.
type command struct {
	key          string // lower-cased first token
	suffix       string // untrimmed, whitespace runs collapsed
	trimmedSufix string
}

var spaceRun = regexp.MustCompile(`[ \x{00a0}]+`)

// parseCommand splits a message that starts with prefix into its key and
// suffix (SKYEXT.md part B 2.2): the first token lower-cased is the key;
// runs of spaces collapse while newlines and tabs stay.
func parseCommand(prefix, content string) (command, bool) {
	if prefix == "" || !strings.HasPrefix(content, prefix) {
		return command{}, false
	}
	rest := content[len(prefix):]
	first := strings.IndexFunc(rest, func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' || r == '\r' })
	key, suffix := rest, ""
	if first >= 0 {
		key, suffix = rest[:first], rest[first:]
	}
	if key == "" {
		return command{}, false
	}
	suffix = spaceRun.ReplaceAllString(suffix, " ")
	return command{key: strings.ToLower(key), suffix: suffix, trimmedSufix: strings.TrimSpace(suffix)}, true
}

// keywordMatches is part B 2.3: a substring match of any keyword, ["*"]
// alone matching everything, case-insensitive unless case_sensitive.
func keywordMatches(m Manifest, content string) bool {
	if len(m.Keywords) == 1 && m.Keywords[0] == "*" {
		return true
	}
	if !m.CaseSensitive {
		content = strings.ToLower(content)
	}
	for _, k := range m.Keywords {
		if !m.CaseSensitive {
			k = strings.ToLower(k)
		}
		if k != "" && strings.Contains(content, k) {
			return true
		}
	}
	return false
}

// moduleScopes are the part B gates on data modules (2.7).
var moduleScopes = map[string]string{
	"member": "members_read", "channel": "channels_read", "guild": "guild_read",
	"roles": "roles_read", "config": "config",
}

// withholdModules removes the data of modules whose scope was not granted,
// so the isolate never receives it, and records why.
func withholdModules(ev *sandbox.Event, granted sandbox.ScopeSet) {
	for module, scope := range moduleScopes {
		if granted.Has(scope) {
			continue
		}
		delete(ev.Modules, module)
		if ev.Denied == nil {
			ev.Denied = map[string]string{}
		}
		ev.Denied[module] = scope
	}
}

func commandEvent(prefix string, cmd command, key string, msg Message) sandbox.Event {
	args := []string{}
	if cmd.trimmedSufix != "" {
		args = strings.Fields(cmd.trimmedSufix)
	}
	ev := messageEvent("command", msg, prefix, cmd.suffix)
	ev.Modules["command"] = mustJSON(map[string]any{
		"prefix": prefix, "suffix": cmd.trimmedSufix, "key": key, "arguments": args,
	})
	return ev
}

func keywordEvent(m Manifest, msg Message, prefix string) sandbox.Event {
	ev := messageEvent("keyword", msg, prefix, "")
	ev.Modules["keyword"] = mustJSON(map[string]any{"keywords": m.Keywords})
	return ev
}

// messageEvent builds the modules every message-triggered legacy run has:
// message, user/author, bot and moment (part B 3.3, 3.4, 3.8).
func messageEvent(kind string, msg Message, prefix, suffix string) sandbox.Event {
	author := userData(msg.Author)
	mentions := make([]map[string]any, 0, len(msg.Mentions))
	for _, u := range msg.Mentions {
		mentions = append(mentions, shortUser(u))
	}
	message := map[string]any{
		"id":        msg.ID,
		"content":   msg.Content,
		"author":    shortUser(msg.Author),
		"channel":   map[string]any{"id": msg.ChannelID, "name": msg.ChannelName, "type": msg.ChannelType},
		"guild":     map[string]any{"id": msg.GuildID, "name": msg.GuildName},
		"createdAt": msg.CreatedAt.UTC().Format(time.RFC3339Nano),
		"suffix":    suffix,
		"mentions":  mentions,
	}
	ev := sandbox.Event{
		Kind: kind,
		Modules: map[string]json.RawMessage{
			"message": mustJSON(message),
			"user":    mustJSON(author),
			"author":  mustJSON(author),
			"bot":     mustJSON(map[string]any{"user": shortUser(msg.Bot), "prefix": prefix}),
			"moment":  mustJSON(map[string]any{"now": time.Now().UnixMilli()}),
		},
	}
	for name, data := range msg.Modules {
		if _, gated := moduleScopes[name]; gated { // only the modules whose scope withholdModules checks
			ev.Modules[name] = mustJSON(data)
		}
	}
	return ev
}

func shortUser(u User) map[string]any {
	return map[string]any{"id": u.ID, "username": u.Username, "discriminator": "0", "tag": u.Username, "bot": u.Bot}
}

// DisplayName is a user's display name: the global name, else the username.
func DisplayName(u User) string {
	if u.GlobalName != "" {
		return u.GlobalName
	}
	return u.Username
}

// UserData is the user/author module shape (part B 3.4); the member module
// nests it.
func UserData(u User) map[string]any { return userData(u) }

// userData is the user/author module shape (part B 3.4).
func userData(u User) map[string]any {
	display := DisplayName(u)
	avatar := any(nil)
	avatarURL := defaultAvatarURL(u.ID)
	if u.Avatar != "" {
		avatar = u.Avatar
		avatarURL = fmt.Sprintf("https://cdn.discordapp.com/avatars/%s/%s.webp?size=128", u.ID, u.Avatar)
	}
	return map[string]any{
		"id": u.ID, "username": u.Username, "displayName": display, "discriminator": "0",
		"tag": u.Username, "bot": u.Bot, "system": u.System, "avatar": avatar,
		"banner": nil, "accentColor": nil, "createdTimestamp": snowflakeTime(u.ID),
		"avatarURL": avatarURL, "defaultAvatarURL": defaultAvatarURL(u.ID),
	}
}

func defaultAvatarURL(id string) string {
	var n uint64
	fmt.Sscan(id, &n)
	return fmt.Sprintf("https://cdn.discordapp.com/embed/avatars/%d.png", (n>>22)%6)
}

// snowflakeTime is the creation time in epoch ms encoded in a Discord id.
func snowflakeTime(id string) int64 {
	var n uint64
	if _, err := fmt.Sscan(id, &n); err != nil {
		return 0
	}
	return int64(n>>22) + 1420070400000
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal module data: %v", err))
	}
	return b
}
