package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/bot/discordtest/spec"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// testGuild is the guild skybot ext test runs an extension in: the guild
// emulator and a skybot assembled exactly as the demo's (a SQLite file in
// a temporary directory, sandbox worker processes), connected through the
// real discordgo client. Members act through the emulator as people do;
// what an action caused is read back from the guild, the store and the
// run observer.
type testGuild struct {
	ctx     context.Context
	srv     *discordtest.Server
	app     *app
	dir     string
	guild   discordtest.Guild
	prefix  string
	timeout time.Duration
	out     io.Writer // the transcript (-v); nil for none

	members  map[string]discordtest.Member
	channels map[string]discordtest.Channel
	roles    map[string]discordtest.Role
	named    map[string]bool // names handed out by freshName

	ext   *report // what is installed: its manifest and registrations
	extID store.ExtensionID
	clock atomic.Int64 // how far advance has moved the scheduler's clock, in nanoseconds

	replies []*discordgo.Message // what skybot sent in answer to the latest action
	runs    []extensions.Run     // the extension's runs during the latest action
	sent    []*discordgo.Message // every answer so far, oldest first (for click)

	mu      sync.Mutex
	all     []extensions.Run
	handled map[string]chan struct{} // message id → closed once dispatched
}

type testGuildOptions struct {
	validate bool          // check skybot's REST requests against Discord's OpenAPI description
	timeout  time.Duration // how long to wait for skybot after an action
	out      io.Writer     // transcript, or nil
	// installAttempts: install and update attempts allowed per minute (0:
	// skybot's default).
	installAttempts int
}

// The test guild's people, roles and channels (the README of a scaffold
// and the case-file header describe them).
const (
	testAdmin   = "admin"
	testGeneral = "general"
	testMembers = "Members"
)

// adminPermissions are the test admin's: Manage Server (for /ext) and what
// moderation extensions' commands check their caller for.
const adminPermissions = discordgo.PermissionManageGuild | discordgo.PermissionBanMembers | discordgo.PermissionKickMembers |
	discordgo.PermissionModerateMembers | discordgo.PermissionManageRoles | discordgo.PermissionManageMessages |
	discordgo.PermissionManageNicknames | discordgo.PermissionManageChannels

func newTestGuild(ctx context.Context, opts testGuildOptions) (*testGuild, error) {
	dopts := discordtest.Options{Logger: slog.New(slog.DiscardHandler)}
	if opts.validate {
		v, err := spec.Shared()
		if err != nil {
			return nil, skyerr.Wrap(err, skyerr.InvalidPath,
				"Discord's API description was not found; run from the skybot checkout or set SKYBOT_DISCORD_SPEC to its openapi.json.")
		}
		dopts.Validator = v
	}
	srv, err := discordtest.New(dopts)
	if err != nil {
		return nil, fmt.Errorf("start the guild emulator: %w", err)
	}
	g := &testGuild{ctx: ctx, srv: srv, timeout: opts.timeout, out: opts.out, handled: map[string]chan struct{}{},
		members: map[string]discordtest.Member{}, channels: map[string]discordtest.Channel{}, roles: map[string]discordtest.Role{},
		named: map[string]bool{testAdmin: true, "alice": true, "bob": true}}
	g.guild = srv.CreateGuild("Extension Test")
	for _, name := range []string{testGeneral, "random"} {
		g.channels[name] = srv.AddChannel(g.guild.ID, name, discordgo.ChannelTypeGuildText)
	}
	for _, r := range []struct {
		name  string
		perms int64
	}{{"Helpers", 0}, {testMembers, 0}, {"Admins", adminPermissions}} { // each new role goes on top, below skybot's
		g.roles[r.name] = srv.AddRole(g.guild.ID, r.name, r.perms)
	}
	g.members[testAdmin] = srv.AddMember(g.guild.ID, testAdmin, g.roles["Admins"].ID)
	for _, name := range []string{"alice", "bob"} {
		g.members[name] = srv.AddMember(g.guild.ID, name, g.roles[testMembers].ID)
	}

	g.dir, err = os.MkdirTemp("", "skybot-ext-test-")
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("temporary data directory: %w", err)
	}
	cfg := config.Default()
	cfg.Store.Path = filepath.Join(g.dir, "skybot.db")
	cfg.Discord.CommandGuildID = g.guild.ID
	cfg.Ops.Listen = ""
	g.prefix = cfg.Bot.Prefix
	session, err := emulatorSession(srv)
	if err != nil {
		g.close()
		return nil, err
	}
	g.app, err = assemble(ctx, cfg, session, slog.New(slog.DiscardHandler), hooks{onRun: g.onRun, afterMessage: g.afterMessage, now: g.now, installAttempts: opts.installAttempts})
	if err != nil {
		g.close()
		return nil, err
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := g.app.start(startCtx); err != nil {
		g.close()
		return nil, fmt.Errorf("connect skybot to the emulator: %w", err)
	}
	return g, nil
}

func (g *testGuild) close() {
	if g.app != nil {
		_ = g.app.close()
	}
	_ = g.srv.Close()
	if g.dir != "" {
		os.RemoveAll(g.dir)
	}
}

func (g *testGuild) onRun(r extensions.Run) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.all = append(g.all, r)
}

func (g *testGuild) afterMessage(m extensions.Message) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ch, ok := g.handled[m.ID]; ok {
		close(ch)
		return
	}
	closed := make(chan struct{})
	close(closed)
	g.handled[m.ID] = closed
}

func (g *testGuild) runCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.all)
}

// runsSince returns the runs observed after the first n.
func (g *testGuild) runsSince(n int) []extensions.Run {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.all[n:])
}

// waitRun waits until a run after the first n satisfies ok.
func (g *testGuild) waitRun(n int, what string, ok func(extensions.Run) bool) error {
	ctx, cancel := context.WithTimeout(g.ctx, g.timeout)
	defer cancel()
	for {
		if slices.ContainsFunc(g.runsSince(n), ok) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("skybot did not run the extension for %s within %s", what, g.timeout)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (g *testGuild) waitFor(what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(g.ctx, g.timeout)
	defer cancel()
	if err := g.srv.WaitFor(ctx, cond); err != nil {
		return fmt.Errorf("%s did not happen within %s", what, g.timeout)
	}
	return nil
}

// install runs /ext install with the file as the admin and presses the
// consent button: every scope the extension declares is granted.
func (g *testGuild) install(r *report, data []byte) error {
	n := g.runCount()
	admin := g.members[testAdmin]
	it, err := g.srv.RunSlash(discordtest.SlashInput{GuildID: g.guild.ID, ChannelID: g.channels[testGeneral].ID, UserID: admin.UserID, Name: "ext",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "install", Type: discordgo.ApplicationCommandOptionSubCommand,
			Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "file", Type: discordgo.ApplicationCommandOptionAttachment,
				Value: discordtest.Upload{Filename: filepath.Base(r.file), ContentType: "application/octet-stream", Data: data}}}}}})
	if err != nil {
		return fmt.Errorf("/ext install: %w", err)
	}
	card, err := g.waitMessage(it)
	if err != nil {
		return fmt.Errorf("/ext install: %w", err)
	}
	if !strings.Contains(card.Content, "Nothing runs until you accept") {
		return fmt.Errorf("/ext install refused it: %s", card.Content)
	}
	id, _ := findButton(card, "Install")
	if id == "" {
		return fmt.Errorf("the consent card has no Install button: %s", card.Content)
	}
	click, err := g.srv.ClickButton(card.ChannelID, card.ID, admin.UserID, id)
	if err != nil {
		return fmt.Errorf("consent: %w", err)
	}
	done, err := g.waitMessage(click)
	if err != nil {
		return fmt.Errorf("consent: %w", err)
	}
	if !strings.HasPrefix(done.Content, "Installed") {
		return fmt.Errorf("the install failed: %s", done.Content)
	}
	in, err := g.app.store.InstallByName(g.ctx, store.GuildID(g.guild.ID), r.man.Name)
	if err != nil {
		return fmt.Errorf("the install is not in the store: %w", err)
	}
	g.ext, g.extID = r, in.ExtensionID
	// Slash commands are registered in the background, and onInstall runs
	// after the install: both belong to the install, not to the first step.
	for _, name := range g.slashCommands() {
		if err := g.waitFor("registering /"+name, func() bool { return g.command(name) != nil }); err != nil {
			return fmt.Errorf("skybot did not register /%s (is the name taken?): %w", name, err)
		}
	}
	if g.hasReg(sandbox.RegLifecycle, "install") {
		if err := g.waitRun(n, "onInstall", triggerIs("install")); err != nil {
			return err
		}
	}
	g.runs = g.runsSince(n)
	return nil
}

// slashCommands are the names of the extension's slash commands.
func (g *testGuild) slashCommands() []string {
	var out []string
	if g.ext.man.Type == extensions.TypeSlash {
		out = append(out, strings.ToLower(g.ext.man.Key))
	}
	for _, r := range g.ext.regs {
		if r.Kind == sandbox.RegCommand {
			out = append(out, r.Key)
		}
	}
	return out
}

func (g *testGuild) hasReg(kind, key string) bool {
	return slices.ContainsFunc(g.ext.regs, func(r sandbox.Registration) bool { return r.Kind == kind && r.Key == key })
}

// subscribes reports whether the extension handles a guild event.
func (g *testGuild) subscribes(event string) bool {
	if g.ext.man.Legacy() {
		return g.ext.man.Type == extensions.TypeEvent && g.ext.man.Event == event
	}
	return g.hasReg(sandbox.RegEvent, event)
}

// eventRun matches the run of a guild event (a legacy event extension's
// runs are all "event").
func (g *testGuild) eventRun(event string) func(extensions.Run) bool {
	if g.ext.man.Legacy() {
		return triggerIs(extensions.TypeEvent)
	}
	return triggerIs(event)
}

func triggerIs(t string) func(extensions.Run) bool {
	return func(r extensions.Run) bool { return r.Trigger == t }
}

func anyRun(extensions.Run) bool { return true }

func (g *testGuild) command(name string) *discordgo.ApplicationCommand {
	for _, c := range g.srv.Commands(g.guild.ID) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (g *testGuild) member(name string) (discordtest.Member, error) {
	if m, ok := g.members[name]; ok {
		return m, nil
	}
	return discordtest.Member{}, fmt.Errorf("there is no member %q here (members: %s)", name, strings.Join(sortedKeys(g.members), ", "))
}

func (g *testGuild) channel(name string) (discordtest.Channel, error) {
	if name == "" {
		name = testGeneral
	}
	if c, ok := g.channels[name]; ok {
		return c, nil
	}
	return discordtest.Channel{}, fmt.Errorf("there is no channel #%s here (channels: #%s)", name, strings.Join(sortedKeys(g.channels), ", #"))
}

func (g *testGuild) role(name string) (discordtest.Role, error) {
	for _, r := range g.srv.Roles(g.guild.ID) { // roles extensions created count too
		if r.Name == name {
			return discordtest.Role{ID: r.ID, GuildID: g.guild.ID, Name: r.Name, Permissions: r.Permissions, Position: r.Position}, nil
		}
	}
	return discordtest.Role{}, fmt.Errorf("there is no role %q here (roles: %s)", name, strings.Join(sortedKeys(g.roles), ", "))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// action is one thing that happens in the guild. begin and finish
// bracket it: the runs it caused and skybot's answers are what finish
// finds new.
type action struct {
	g      *testGuild
	runs   int
	before map[string]bool // skybot's messages that were already there
	it     *discordtest.Interaction
}

func (g *testGuild) begin() *action {
	a := &action{g: g, runs: g.runCount(), before: map[string]bool{}}
	for _, m := range g.botMessages() {
		a.before[m.ID] = true
	}
	return a
}

// finish records the action's runs and skybot's answers: new messages in
// the guild's channels, and the interaction's response and follow-ups.
func (a *action) finish() {
	g := a.g
	g.runs = g.runsSince(a.runs)
	g.replies = nil
	seen := map[string]bool{}
	add := func(m *discordgo.Message) {
		if m != nil && !seen[m.ID] && m.Author != nil && m.Author.ID == g.srv.BotUserID() {
			seen[m.ID] = true
			g.replies = append(g.replies, m)
		}
	}
	for _, m := range g.botMessages() {
		if !a.before[m.ID] {
			add(m)
		}
	}
	if a.it != nil {
		add(a.it.Response().Message)
		for _, m := range a.it.Followups() {
			add(m)
		}
	}
	g.sent = append(g.sent, g.replies...)
}

func (g *testGuild) botMessages() []*discordgo.Message {
	var out []*discordgo.Message
	for _, c := range g.srv.Channels(g.guild.ID) {
		for _, m := range g.srv.Messages(c.ID) {
			if m.Author != nil && m.Author.ID == g.srv.BotUserID() {
				out = append(out, m)
			}
		}
	}
	return out
}

// say posts text as a member and waits until skybot has dispatched it
// (and, if the extension handles messageCreate, run that).
func (g *testGuild) say(who, channel, text string) error {
	m, err := g.member(who)
	if err != nil {
		return err
	}
	c, err := g.channel(channel)
	if err != nil {
		return err
	}
	a := g.begin()
	defer a.finish()
	msg, err := g.srv.SendMessage(c.ID, m.UserID, text)
	if err != nil {
		return fmt.Errorf("%s cannot post in #%s: %w", who, c.Name, err)
	}
	if err := g.waitHandled(msg.ID); err != nil {
		return err
	}
	if g.subscribes("messageCreate") {
		return g.waitRun(a.runs, "messageCreate", g.eventRun("messageCreate"))
	}
	return nil
}

func (g *testGuild) waitHandled(id string) error {
	g.mu.Lock()
	ch, ok := g.handled[id]
	if !ok {
		ch = make(chan struct{})
		g.handled[id] = ch
	}
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-time.After(g.timeout):
		return fmt.Errorf("skybot did not handle the message within %s", g.timeout)
	case <-g.ctx.Done():
		return g.ctx.Err()
	}
}

// slash runs a slash command as a member and waits for its answer (and,
// for the extension's own command, the end of its run).
func (g *testGuild) slash(who, channel, name string, opts []*discordgo.ApplicationCommandInteractionDataOption) error {
	m, err := g.member(who)
	if err != nil {
		return err
	}
	c, err := g.channel(channel)
	if err != nil {
		return err
	}
	a := g.begin()
	defer a.finish()
	a.it, err = g.srv.RunSlash(discordtest.SlashInput{GuildID: g.guild.ID, ChannelID: c.ID, UserID: m.UserID, Name: name, Options: opts})
	if err != nil {
		return fmt.Errorf("%s cannot run /%s: %w", who, name, err)
	}
	return g.waitAnswer(a, slices.Contains(g.slashCommands(), name), "/"+name)
}

// waitAnswer waits for the interaction's response and, when the extension
// handles it, for its run to end (a deferred answer is complete then).
func (g *testGuild) waitAnswer(a *action, owned bool, what string) error {
	ctx, cancel := context.WithTimeout(g.ctx, g.timeout)
	defer cancel()
	if _, err := a.it.WaitResponse(ctx); err != nil {
		return fmt.Errorf("skybot did not answer %s within %s", what, g.timeout)
	}
	if owned {
		return g.waitRun(a.runs, what, anyRun)
	}
	return nil
}

// click presses a button, by its label, on the latest of skybot's answers
// that has one.
func (g *testGuild) click(who, label string) error {
	m, err := g.member(who)
	if err != nil {
		return err
	}
	var target *discordgo.Message
	var id string
	for i := len(g.sent) - 1; i >= 0 && target == nil; i-- {
		msg, ok := g.srv.Message(g.sent[i].ChannelID, g.sent[i].ID) // as it reads now
		if !ok {
			continue
		}
		if id = buttonID(msg, label); id != "" {
			target = msg
		}
	}
	if target == nil {
		return fmt.Errorf("none of skybot's messages has a %q button", label)
	}
	a := g.begin()
	defer a.finish()
	a.it, err = g.srv.ClickButton(target.ChannelID, target.ID, m.UserID, id)
	if err != nil {
		return fmt.Errorf("%s cannot click %q: %w", who, label, err)
	}
	ext, _, _ := extensions.ParseComponentID(id)
	return g.waitAnswer(a, ext == g.ext.man.Name, "the click on "+strconv.Quote(label))
}

// buttonID is the custom id of msg's button labelled label (exactly, or
// else starting with it).
func buttonID(msg *discordgo.Message, label string) string {
	var prefixed string
	for _, row := range msg.Components {
		r, ok := row.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, c := range r.Components {
			b, ok := c.(*discordgo.Button)
			if !ok || b.CustomID == "" {
				continue
			}
			if b.Label == label {
				return b.CustomID
			}
			if prefixed == "" && strings.HasPrefix(b.Label, label) {
				prefixed = b.CustomID
			}
		}
	}
	return prefixed
}

// join adds a new member to the guild.
func (g *testGuild) join(name string) error {
	if _, ok := g.members[name]; ok {
		return fmt.Errorf("%s is already a member", name)
	}
	a := g.begin()
	defer a.finish()
	g.members[name] = g.srv.AddMember(g.guild.ID, name)
	if g.subscribes("guildMemberAdd") {
		return g.waitRun(a.runs, name+" joining", g.eventRun("guildMemberAdd"))
	}
	return nil
}

// leave makes a member leave the guild.
func (g *testGuild) leave(name string) error {
	m, err := g.member(name)
	if err != nil {
		return err
	}
	a := g.begin()
	defer a.finish()
	if err := g.srv.RemoveMember(g.guild.ID, m.UserID); err != nil {
		return fmt.Errorf("%s cannot leave: %w", name, err)
	}
	delete(g.members, name)
	if g.subscribes("guildMemberRemove") {
		return g.waitRun(a.runs, name+" leaving", g.eventRun("guildMemberRemove"))
	}
	return nil
}

// now is the test guild's clock: the real one plus every advance so far.
// skybot's scheduler reads it too, so schedules, legacy timers and the due
// times of sky.later jobs all count from it.
func (g *testGuild) now() time.Time { return time.Now().Add(time.Duration(g.clock.Load())) }

// advance moves the clock forward by d and runs what is due by then
// (schedules, sky.later jobs, legacy timers), waiting for them.
func (g *testGuild) advance(d time.Duration) error {
	a := g.begin()
	defer a.finish()
	// Entries made since the last step count from the clock before the
	// advance: sync them first, or a fresh "every 5m" would be due 5m
	// after the advanced clock.
	g.app.scheduler.SyncDirty(g.ctx)
	g.clock.Add(int64(d))
	g.app.scheduler.RunDue(g.ctx, g.now())
	return nil
}

// extCommand runs /ext <sub> name:<the extension> as the admin and waits
// for skybot's answer and the lifecycle hook the change runs, if any.
func (g *testGuild) extCommand(sub, hook string) error {
	a := g.begin()
	defer a.finish()
	var err error
	opts := []*discordgo.ApplicationCommandInteractionDataOption{{Name: "name", Type: discordgo.ApplicationCommandOptionString, Value: g.ext.man.Name}}
	if sub == "uninstall" { // keep the data, without the question
		opts = append(opts, &discordgo.ApplicationCommandInteractionDataOption{Name: "purge", Type: discordgo.ApplicationCommandOptionBoolean, Value: false})
	}
	a.it, err = g.srv.RunSlash(discordtest.SlashInput{GuildID: g.guild.ID, ChannelID: g.channels[testGeneral].ID, UserID: g.members[testAdmin].UserID, Name: "ext",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: sub, Type: discordgo.ApplicationCommandOptionSubCommand, Options: opts}}})
	if err != nil {
		return fmt.Errorf("/ext %s: %w", sub, err)
	}
	if _, err := g.waitMessage(a.it); err != nil {
		return fmt.Errorf("/ext %s: %w", sub, err)
	}
	if hook != "" && g.hasReg(sandbox.RegLifecycle, hook) {
		return g.waitRun(a.runs, "/ext "+sub, triggerIs(hook))
	}
	return nil
}

// waitMessage waits for an interaction's answer with content.
func (g *testGuild) waitMessage(it *discordtest.Interaction) (*discordgo.Message, error) {
	ctx, cancel := context.WithTimeout(g.ctx, g.timeout)
	defer cancel()
	msg, err := it.WaitMessage(ctx, func(m *discordgo.Message) bool { return m.Content != "" })
	if err != nil {
		return nil, errors.New("skybot did not answer within " + g.timeout.String())
	}
	return msg, nil
}

// storage reads a key of the extension's storage (JSON text).
func (g *testGuild) storage(key string) (string, bool, error) {
	return g.app.store.StorageGet(g.ctx, store.GuildID(g.guild.ID), g.extID, key)
}

// logs is the extension's log in this guild, oldest first.
func (g *testGuild) logs() ([]store.LogEntry, error) {
	entries, err := g.app.store.Logs(g.ctx, store.GuildID(g.guild.ID), g.extID, 0)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(entries, func(a, b store.LogEntry) int { return cmp.Compare(a.ID, b.ID) })
	return entries, nil
}

// logLine is a log entry as ext test and dev show it.
func logLine(e store.LogEntry) string {
	if e.Detail != "" {
		return e.Level + " " + e.Message + " — " + e.Detail
	}
	return e.Level + " " + e.Message
}

// banned reports whether the user is banned.
func (g *testGuild) banned(userID string) bool {
	return slices.ContainsFunc(g.srv.Bans(g.guild.ID), func(b *discordgo.GuildBan) bool { return b.User != nil && b.User.ID == userID })
}

// hasRole reports whether a member holds a role.
func (g *testGuild) hasRole(userID, roleID string) bool {
	m, ok := g.srv.Member(g.guild.ID, userID)
	return ok && slices.Contains(m.Roles, roleID)
}

// describeRun says what a run did, as the demo does: which trigger ran,
// how it ended, and each host call with its scope.
func describeRun(r extensions.Run) string {
	var calls []string
	for _, c := range r.Result.Calls {
		scope := "scope " + c.Scope
		if c.Scope == "" {
			scope = "no scope needed"
		}
		calls = append(calls, fmt.Sprintf("%s [%s] %s", c.API, scope, c.Outcome))
	}
	status := "ok"
	if f := r.Result.Failure; f != nil {
		status = "failed: " + failureText(f)
	}
	s := fmt.Sprintf("ran as %s (%s)", r.Trigger, status)
	if len(calls) > 0 {
		s += " — " + strings.Join(calls, "; ")
	}
	return s
}

// failureText is a run's failure with the line it happened at.
func failureText(f *sandbox.Failure) string {
	s := f.Kind + ": " + f.Message
	if m := extensions.StackPosition(f.Stack); m != "" && !strings.Contains(s, m) {
		s += " (at " + m + ")"
	}
	return s
}

// update runs /ext update with a newer file as the admin and accepts the
// consent card when the new version asks for more scopes. It returns
// skybot's last answer ("Updated **name** a → b." on success).
func (g *testGuild) update(r *report, data []byte) (string, error) {
	admin := g.members[testAdmin]
	a := g.begin()
	defer a.finish()
	var err error
	a.it, err = g.srv.RunSlash(discordtest.SlashInput{GuildID: g.guild.ID, ChannelID: g.channels[testGeneral].ID, UserID: admin.UserID, Name: "ext",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "update", Type: discordgo.ApplicationCommandOptionSubCommand,
			Options: []*discordgo.ApplicationCommandInteractionDataOption{
				{Name: "name", Type: discordgo.ApplicationCommandOptionString, Value: r.man.Name},
				{Name: "file", Type: discordgo.ApplicationCommandOptionAttachment,
					Value: discordtest.Upload{Filename: filepath.Base(r.file), ContentType: "application/octet-stream", Data: data}}}}}})
	if err != nil {
		return "", fmt.Errorf("/ext update: %w", err)
	}
	card, err := g.waitMessage(a.it)
	if err != nil {
		return "", fmt.Errorf("/ext update: %w", err)
	}
	id, _ := findButton(card, "Update")
	if id == "" {
		return card.Content, nil
	}
	click, err := g.srv.ClickButton(card.ChannelID, card.ID, admin.UserID, id)
	if err != nil {
		return "", fmt.Errorf("consent: %w", err)
	}
	a.it = click
	done, err := g.waitMessage(click)
	if err != nil {
		return "", fmt.Errorf("consent: %w", err)
	}
	return done.Content, nil
}
