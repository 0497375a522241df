package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/bot/discordtest/spec"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/examples"
	"github.com/skyext/skybot/store"
)

// guild is one emulated guild with skybot connected to it through the real
// discordgo client, every REST request checked against Discord's spec.
type guild struct {
	t       *testing.T
	srv     *discordtest.Server
	app     *app
	g       discordtest.Guild
	general discordtest.Channel
	admin   discordtest.Member
	member  discordtest.Member
	cfg     config.Config
	session *discordgo.Session

	mu      sync.Mutex
	handled map[string]chan struct{}
}

func newGuild(t *testing.T, tweak func(*config.Config)) *guild {
	t.Helper()
	e := assembleGuild(t, tweak, hooks{})
	e.start()
	return e
}

// start connects skybot to the emulated guild.
func (e *guild) start() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.app.start(ctx); err != nil {
		e.t.Fatalf("start: %v", err)
	}
}

// assembleGuild builds the emulated guild and skybot for it, not yet
// connected; h adds observers (afterMessage is the guild's own).
func assembleGuild(t *testing.T, tweak func(*config.Config), h hooks) *guild {
	t.Helper()
	return assembleGuildWith(t, func(_ *guild, c *config.Config) {
		if tweak != nil {
			tweak(c)
		}
	}, h)
}

// assembleGuildWith is assembleGuild with a setup that sees the emulated
// guild (its ids, members and channels, and the emulator to add more)
// before it changes skybot's configuration.
func assembleGuildWith(t *testing.T, setup func(*guild, *config.Config), h hooks) *guild {
	t.Helper()
	v, err := spec.Shared()
	if err != nil {
		t.Fatalf("Discord's API description: %v", err)
	}
	srv := discordtest.NewForTest(t, discordtest.Options{Validator: v})
	e := &guild{t: t, srv: srv, handled: map[string]chan struct{}{}}
	e.g = srv.CreateGuild("Test Guild")
	e.general = srv.AddChannel(e.g.ID, "general", discordgo.ChannelTypeGuildText)
	admins := srv.AddRole(e.g.ID, "Admins", discordgo.PermissionManageGuild)
	e.admin = srv.AddMember(e.g.ID, "ada", admins.ID)
	e.member = srv.AddMember(e.g.ID, "max")
	// As if the guild's admins let everyone use /ext in Integrations: then
	// skybot's own Manage Server check is what must refuse a member.
	if err := srv.AllowCommand(e.g.ID, "ext", e.g.ID); err != nil {
		t.Fatal(err)
	}

	cfg := config.Default()
	cfg.Store.Path = filepath.Join(t.TempDir(), "skybot.db")
	cfg.Discord.CommandGuildID = e.g.ID
	if setup != nil {
		setup(e, &cfg)
	}
	e.cfg = cfg
	e.session, err = emulatorSession(srv)
	if err != nil {
		t.Fatal(err)
	}
	h.afterMessage = e.afterMessage
	e.app, err = assemble(context.Background(), cfg, e.session, nil, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.app.close() })
	return e
}

func (e *guild) afterMessage(m extensions.Message) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ch, ok := e.handled[m.ID]
	if !ok {
		ch = make(chan struct{})
		e.handled[m.ID] = ch
	}
	close(ch)
}

// say posts content as m, waits until skybot dispatched it, and returns
// the bot's replies to it.
func (e *guild) say(m discordtest.Member, content string) []*discordgo.Message {
	e.t.Helper()
	msg, err := e.srv.SendMessage(e.general.ID, m.UserID, content)
	if err != nil {
		e.t.Fatalf("send %q: %v", content, err)
	}
	e.mu.Lock()
	ch, ok := e.handled[msg.ID]
	if !ok {
		ch = make(chan struct{})
		e.handled[msg.ID] = ch
	}
	e.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		e.t.Fatalf("skybot never handled %q", content)
	}
	var replies []*discordgo.Message
	for _, r := range e.srv.Messages(e.general.ID) {
		if r.Author != nil && r.Author.ID == e.srv.BotUserID() && r.MessageReference != nil && r.MessageReference.MessageID == msg.ID {
			replies = append(replies, r)
		}
	}
	return replies
}

// ext runs /ext sub as m and returns skybot's (final) answer.
func (e *guild) ext(m discordtest.Member, sub string, opts []*discordgo.ApplicationCommandInteractionDataOption) (string, discordtest.Response) {
	e.t.Helper()
	msg, resp := e.extMsg(m, sub, opts)
	return msg.Content, resp
}

// click presses the button of msg whose label starts with label, as m, and
// returns what the message reads afterwards (or skybot's refusal).
func (e *guild) click(m discordtest.Member, msg *discordgo.Message, label string) (string, discordtest.Response) {
	e.t.Helper()
	id, _ := findButton(msg, label)
	if id == "" {
		e.t.Fatalf("no %q button on %q", label, msg.Content)
	}
	it, err := e.srv.ClickButton(msg.ChannelID, msg.ID, m.UserID, id)
	if err != nil {
		e.t.Fatalf("click %s: %v", label, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := it.WaitResponse(ctx)
	if err != nil || resp.Message == nil {
		e.t.Fatalf("click %s: no answer: %v", label, err)
	}
	return resp.Message.Content, resp
}

// install runs /ext install with src as the admin and accepts the scopes.
func (e *guild) install(src []byte) string {
	e.t.Helper()
	card, _ := e.extMsg(e.admin, "install", file("hello.skyext", src))
	if !strings.Contains(card.Content, "Nothing runs until you accept") {
		e.t.Fatalf("install answer is not a consent card: %q", card.Content)
	}
	answer, _ := e.click(e.admin, card, "Install")
	return answer
}

func (e *guild) extMsg(m discordtest.Member, sub string, opts []*discordgo.ApplicationCommandInteractionDataOption) (*discordgo.Message, discordtest.Response) {
	e.t.Helper()
	return e.command(m, "ext", sub, opts, func(msg *discordgo.Message) bool { return msg.Content != "" })
}

// command runs /name sub as m in #general and returns skybot's answer: the
// first message done says is complete.
func (e *guild) command(m discordtest.Member, name, sub string, opts []*discordgo.ApplicationCommandInteractionDataOption, done func(*discordgo.Message) bool) (*discordgo.Message, discordtest.Response) {
	e.t.Helper()
	it, err := e.srv.RunSlash(discordtest.SlashInput{
		GuildID: e.g.ID, ChannelID: e.general.ID, UserID: m.UserID, Name: name,
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: sub, Type: discordgo.ApplicationCommandOptionSubCommand, Options: opts}},
	})
	if err != nil {
		e.t.Fatalf("/%s %s: %v", name, sub, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg, err := it.WaitMessage(ctx, done)
	if err != nil {
		e.t.Fatalf("/%s %s: no answer: %v", name, sub, err)
	}
	return msg, it.Response()
}

func file(name string, data []byte) []*discordgo.ApplicationCommandInteractionDataOption {
	return []*discordgo.ApplicationCommandInteractionDataOption{{
		Name: "file", Type: discordgo.ApplicationCommandOptionAttachment,
		Value: discordtest.Upload{Filename: name, ContentType: "application/octet-stream", Data: data},
	}}
}

// keepData is /ext uninstall's options that skip the question and keep
// the extension's data.
func keepData(name string) []*discordgo.ApplicationCommandInteractionDataOption {
	return append(nameOpt(name), &discordgo.ApplicationCommandInteractionDataOption{Name: "purge", Type: discordgo.ApplicationCommandOptionBoolean, Value: false})
}

func nameOpt(name string) []*discordgo.ApplicationCommandInteractionDataOption {
	return []*discordgo.ApplicationCommandInteractionDataOption{{Name: "name", Type: discordgo.ApplicationCommandOptionString, Value: name}}
}

func TestInstallTalkUninstall(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	hello := examples.Read("hello.skyext")

	// Someone without Manage Server is refused, ephemerally, and nothing changes.
	answer, resp := e.ext(e.member, "install", file("hello.skyext", hello))
	if !strings.HasPrefix(answer, "E_FORBIDDEN:") || !resp.Ephemeral {
		t.Fatalf("member install answer = %q (ephemeral %v), want an ephemeral E_FORBIDDEN", answer, resp.Ephemeral)
	}
	if got := e.say(e.member, "!hello"); len(got) != 0 {
		t.Fatalf("refused install still answers: %v", got[0].Content)
	}

	card, resp := e.extMsg(e.admin, "install", file("hello.skyext", hello))
	if !strings.Contains(card.Content, "`messages_write` — send messages") || !resp.Ephemeral {
		t.Fatalf("consent card = %q (ephemeral %v)", card.Content, resp.Ephemeral)
	}
	if got := e.say(e.member, "!hello"); len(got) != 0 {
		t.Fatal("the extension answered before the admin consented")
	}
	// Someone without the right cannot accept for the admin.
	if answer, _ := e.click(e.member, card, "Install"); !strings.HasPrefix(answer, "E_FORBIDDEN:") {
		t.Fatalf("member's click answered %q", answer)
	}
	answer, _ = e.click(e.admin, card, "Install")
	if !strings.Contains(answer, "Installed **hello** 1.0.0") || !strings.Contains(answer, "messages_write") {
		t.Fatalf("after consent the card reads %q", answer)
	}
	in, err := e.app.store.InstallByName(context.Background(), store.GuildID(e.g.ID), "hello")
	if err != nil {
		t.Fatalf("install row: %v", err)
	}
	ver, err := e.app.store.Version(context.Background(), in.VersionID)
	if err != nil || len(ver.MD5) != 32 || len(ver.SHA256) != 64 || ver.Code != string(hello) {
		t.Fatalf("version row = %+v, %v", ver, err)
	}

	replies := e.say(e.member, "!hello")
	if len(replies) != 1 || replies[0].Content != "Hello, max! 👋" {
		t.Fatalf("replies to !hello = %v", contents(replies))
	}
	if replies := e.say(e.member, "!HELLO   world"); len(replies) != 1 || replies[0].Content != "Hello, world! 👋" {
		t.Fatalf("replies to !HELLO world = %v", contents(replies))
	}
	if replies := e.say(e.member, "hello without the prefix"); len(replies) != 0 {
		t.Fatalf("a message without the prefix triggered the command")
	}
	audit, err := e.app.store.Audit(context.Background(), store.GuildID(e.g.ID), 10)
	if err != nil || len(audit) != 2 || audit[0].Actor != "ext:hello" || audit[0].Action != "message.reply" || audit[0].Outcome != "ok" {
		t.Fatalf("audit = %+v, %v", audit, err)
	}

	answer, _ = e.ext(e.admin, "list", nil)
	if !strings.Contains(answer, "**hello** 1.0.0 — enabled, scopes messages_write") {
		t.Fatalf("list = %q", answer)
	}
	// Uninstall asks first; only a manager's click counts. hello stores
	// nothing, so there is no data to ask about.
	question, _ := e.extMsg(e.admin, "uninstall", nameOpt("hello"))
	if question.Content != "Uninstall **hello** 1.0.0? It has no stored data." || findButtonID(question, "Uninstall, keep data") != "" {
		t.Fatalf("uninstall question = %q", question.Content)
	}
	if answer, _ = e.click(e.member, question, "Uninstall"); !strings.HasPrefix(answer, "E_FORBIDDEN:") {
		t.Fatalf("a member's click = %q", answer)
	}
	if answer, _ = e.click(e.admin, question, "Cancel"); answer != "Cancelled; **hello** stays installed." {
		t.Fatalf("cancel = %q", answer)
	}
	if answer, _ = e.ext(e.admin, "list", nil); !strings.Contains(answer, "**hello** 1.0.0") {
		t.Fatalf("list after cancel = %q", answer)
	}
	question, _ = e.extMsg(e.admin, "uninstall", nameOpt("hello"))
	answer, _ = e.click(e.admin, question, "Uninstall")
	if answer != "Uninstalled **hello** 1.0.0." {
		t.Fatalf("uninstall = %q", answer)
	}
	if replies := e.say(e.member, "!hello"); len(replies) != 0 {
		t.Fatalf("uninstalled extension answered %v", contents(replies))
	}
	if answer, _ = e.ext(e.admin, "list", nil); !strings.Contains(answer, "No extensions are installed") {
		t.Fatalf("list after uninstall = %q", answer)
	}
}

// An extension with stored data: the admin chooses whether it survives the
// uninstall, and a later install of it sees exactly that.
func TestUninstallKeepsOrDeletesData(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	src := []byte(`// ==SkyExtension==
// @name         counter
// @version      1.0.0
// @scopes       messages_write, storage
// ==/SkyExtension==
const storage = require('storage');
require('sky').prefix('count', async (ctx) => {
  await ctx.reply('count ' + await storage.increment('n'));
});
`)
	count := func() string {
		t.Helper()
		r := e.say(e.member, "!count")
		if len(r) != 1 {
			t.Fatalf("!count answered %v", contents(r))
		}
		return r[0].Content
	}
	e.install(src)
	count()
	if got := count(); got != "count 2" {
		t.Fatalf("second !count = %q", got)
	}

	question, _ := e.extMsg(e.admin, "uninstall", nameOpt("counter"))
	if !strings.Contains(question.Content, "It keeps 1 stored entries (") {
		t.Fatalf("question = %q", question.Content)
	}
	if answer, _ := e.click(e.admin, question, "Uninstall, keep data"); answer != "Uninstalled **counter** 1.0.0; its stored data was kept." {
		t.Fatalf("keep = %q", answer)
	}
	e.install(src)
	if got := count(); got != "count 3" {
		t.Fatalf("after a keep-data reinstall !count = %q", got)
	}

	question, _ = e.extMsg(e.admin, "uninstall", nameOpt("counter"))
	if answer, _ := e.click(e.admin, question, "Uninstall and delete data"); answer != "Uninstalled **counter** 1.0.0; its stored data was deleted." {
		t.Fatalf("purge = %q", answer)
	}
	e.install(src)
	if got := count(); got != "count 1" {
		t.Fatalf("after a delete-data reinstall !count = %q", got)
	}
}

func findButtonID(msg *discordgo.Message, label string) string {
	id, shown := findButton(msg, label)
	if shown != label {
		return ""
	}
	return id
}

func TestMissingScopeShowsInLogs(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	noScope := bytes.Replace(examples.Read("hello.skyext"), []byte("// @scopes       messages_write\n"), nil, 1)
	if answer := e.install(noScope); !strings.Contains(answer, "Installed **hello** 1.0.0") {
		t.Fatalf("install answer = %q", answer)
	}
	if replies := e.say(e.member, "!hello"); len(replies) != 0 {
		t.Fatalf("replied without messages_write: %v", contents(replies))
	}
	logs, _ := e.ext(e.admin, "logs", nameOpt("hello"))
	if !strings.Contains(logs, "MISSING_SCOPES") || !strings.Contains(logs, "messages_write") {
		t.Fatalf("/ext logs does not explain the refusal:\n%s", logs)
	}
}

func TestBadUploadsAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	e := newGuild(t, func(c *config.Config) { c.Extensions.MaxAttachmentBytes = 4096 })
	hello := examples.Read("hello.skyext")
	cases := []struct {
		name string
		file []*discordgo.ApplicationCommandInteractionDataOption
		want string
	}{
		{"malformed", file("hello.skyext", []byte("await require('message').reply('no header');")), "E_INVALID_PACKAGE:"},
		{"wrong type", file("hello.png", hello), "E_INVALID_PACKAGE:"},
		{"oversized", file("hello.skyext", append(bytes.Clone(hello), bytes.Repeat([]byte("//"), 4096)...)), "E_TOO_LARGE:"},
		{"syntax error", file("hello.skyext", append(bytes.Clone(hello), []byte("\nconst = ;")...)), "E_INVALID_PACKAGE:"},
	}
	for _, tc := range cases {
		answer, _ := e.ext(e.admin, "install", tc.file)
		if !strings.HasPrefix(answer, tc.want) {
			t.Errorf("%s: answer %q, want prefix %q", tc.name, answer, tc.want)
		}
	}
	ins, err := e.app.store.Installs(context.Background(), store.GuildID(e.g.ID))
	if err != nil || len(ins) != 0 {
		t.Fatalf("refused uploads left installs: %v %v", ins, err)
	}
}

// TestEmulatorHoldsTheBotToTheSpec proves the emulator rejects, and
// records, a request that Discord's API description forbids.
func TestEmulatorHoldsTheBotToTheSpec(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	long := strings.Repeat("x", 2001)
	_, err := e.app.bot.Session().ChannelMessageSend(e.general.ID, long)
	if err == nil {
		t.Fatal("a 2001-character message was accepted")
	}
	violations := e.srv.Violations()
	if len(violations) != 1 || !strings.Contains(violations[0], "content") {
		t.Fatalf("violations = %q, want one about content", violations)
	}
	e.srv.ClearViolations() // expected: keep NewForTest from failing the test
}

func contents(ms []*discordgo.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Content)
	}
	return out
}

func helloVersion(version, scopes, greeting string) []byte {
	src := string(examples.Read("hello.skyext"))
	src = strings.Replace(src, "@version      1.0.0", "@version      "+version, 1)
	src = strings.Replace(src, "@scopes       messages_write", "@scopes       "+scopes, 1)
	return []byte(strings.Replace(src, "`Hello, ", "`"+greeting+", ", 1))
}

func TestUpdateRollbackEnableDisable(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	ctx := context.Background()
	e.install(helloVersion("1.0.0", "messages_write", "Hello"))
	in, err := e.app.store.InstallByName(ctx, store.GuildID(e.g.ID), "hello")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.app.store.StorageSet(ctx, store.GuildID(e.g.ID), in.ExtensionID, "greeted", "7", 0); err != nil {
		t.Fatal(err)
	}

	// An update with the same scopes applies at once.
	update := func(src []byte) (*discordgo.Message, string) {
		msg, _ := e.extMsg(e.admin, "update", append(nameOpt("hello"), file("hello.skyext", src)...))
		return msg, msg.Content
	}
	if _, answer := update(helloVersion("1.1.0", "messages_write", "Hi")); answer != "Updated **hello** 1.0.0 → 1.1.0." {
		t.Fatalf("update answer = %q", answer)
	}
	if r := e.say(e.member, "!hello"); len(r) != 1 || r[0].Content != "Hi, max! 👋" {
		t.Fatalf("after update: %v", contents(r))
	}

	// An update that adds a scope waits for re-consent; 1.1.0 keeps running.
	card, answer := update(helloVersion("2.0.0", "messages_write, storage", "Hey"))
	if !strings.Contains(answer, "new scopes") || !strings.Contains(answer, "`storage`") {
		t.Fatalf("update adding a scope = %q", answer)
	}
	if r := e.say(e.member, "!hello"); len(r) != 1 || r[0].Content != "Hi, max! 👋" {
		t.Fatalf("the update ran before consent: %v", contents(r))
	}
	if answer, _ := e.click(e.admin, card, "Update"); answer != "Updated **hello** 1.1.0 → 2.0.0." {
		t.Fatalf("after consent: %q", answer)
	}
	if r := e.say(e.member, "!hello"); len(r) != 1 || r[0].Content != "Hey, max! 👋" {
		t.Fatalf("after consented update: %v", contents(r))
	}

	// Rollback to a chosen version: its data stays.
	answer, _ = e.ext(e.admin, "rollback", append(nameOpt("hello"), &discordgo.ApplicationCommandInteractionDataOption{
		Name: "version", Type: discordgo.ApplicationCommandOptionString, Value: "1.0.0"}))
	if !strings.Contains(answer, "Rolled **hello** back 2.0.0 → 1.0.0") || !strings.Contains(answer, "No longer granted: `storage`") {
		t.Fatalf("rollback answer = %q", answer)
	}
	if r := e.say(e.member, "!hello"); len(r) != 1 || r[0].Content != "Hello, max! 👋" {
		t.Fatalf("after rollback: %v", contents(r))
	}
	if v, ok, err := e.app.store.StorageGet(ctx, store.GuildID(e.g.ID), in.ExtensionID, "greeted"); !ok || v != "7" || err != nil {
		t.Fatalf("storage after rollback = %q %v %v", v, ok, err)
	}

	// Disable stops it without removing it; enable brings it back.
	if answer, _ := e.ext(e.admin, "disable", nameOpt("hello")); !strings.HasPrefix(answer, "Disabled **hello** 1.0.0") {
		t.Fatalf("disable = %q", answer)
	}
	if r := e.say(e.member, "!hello"); len(r) != 0 {
		t.Fatalf("a disabled extension answered %v", contents(r))
	}
	if answer, _ := e.ext(e.admin, "enable", nameOpt("hello")); answer != "Enabled **hello** 1.0.0." {
		t.Fatalf("enable = %q", answer)
	}
	if r := e.say(e.member, "!hello"); len(r) != 1 {
		t.Fatalf("after enable: %v", contents(r))
	}
	info, _ := e.ext(e.admin, "info", nameOpt("hello"))
	for _, want := range []string{"**hello** 1.0.0 — enabled", "versions here: 2.0.0, 1.1.0, 1.0.0", "install by", "update by", "rollback by", "disable by", "enable by"} {
		if !strings.Contains(info, want) {
			t.Errorf("/ext info lacks %q:\n%s", want, info)
		}
	}
}

func TestCancelAutocompleteAndRateLimit(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	hello := examples.Read("hello.skyext")
	card, _ := e.extMsg(e.admin, "install", file("hello.skyext", hello))
	answer, resp := e.click(e.admin, card, "Cancel")
	if answer != "Cancelled; nothing was changed." || len(resp.Message.Components) != 0 {
		t.Fatalf("cancel = %q with %d component rows left", answer, len(resp.Message.Components))
	}
	if ins, _ := e.app.store.Installs(context.Background(), store.GuildID(e.g.ID)); len(ins) != 0 {
		t.Fatalf("a cancelled install left %d installs", len(ins))
	}

	e.install(hello) // attempt 2 of 5 this minute
	it, err := e.srv.Autocomplete(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: e.admin.UserID, Name: "ext",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "info", Type: discordgo.ApplicationCommandOptionSubCommand,
			Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "name", Type: discordgo.ApplicationCommandOptionString, Value: "he", Focused: true}}}}}, "name")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err = it.WaitResponse(ctx)
	if err != nil || len(resp.Choices) != 1 || resp.Choices[0].Value != "hello" {
		t.Fatalf("autocomplete = %+v, %v", resp.Choices, err)
	}

	// Three more attempts fit in the minute; the sixth is refused.
	for i := 0; i < 3; i++ {
		if answer, _ := e.ext(e.admin, "install", file("hello.skyext", hello)); !strings.HasPrefix(answer, "E_ALREADY_EXISTS:") {
			t.Fatalf("attempt %d = %q", i+3, answer)
		}
	}
	if answer, _ := e.ext(e.admin, "install", file("hello.skyext", hello)); !strings.HasPrefix(answer, "E_RATE_LIMIT:") || !strings.Contains(answer, "try again in") {
		t.Fatalf("sixth attempt = %q", answer)
	}
}

// waitChannel waits until a message in channel contains want.
func (e *guild) waitChannel(channel, want string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := e.srv.WaitFor(ctx, func() bool {
		for _, m := range e.srv.Messages(channel) {
			if strings.Contains(m.Content, want) {
				return true
			}
		}
		return false
	})
	if err != nil {
		e.t.Fatalf("channel %s never said %q; it has %v", channel, want, contents(e.srv.Messages(channel)))
	}
}

// setLogChannel adds a channel and makes it the guild's /ext logchannel.
func (e *guild) setLogChannel() discordtest.Channel {
	e.t.Helper()
	logs := e.srv.AddChannel(e.g.ID, "skybot-log", discordgo.ChannelTypeGuildText)
	answer, _ := e.ext(e.admin, "logchannel", []*discordgo.ApplicationCommandInteractionDataOption{
		{Name: "channel", Type: discordgo.ApplicationCommandOptionChannel, Value: logs.ID}})
	if !strings.Contains(answer, "<#"+logs.ID+">") {
		e.t.Fatalf("logchannel = %q", answer)
	}
	return logs
}

func TestLogChannelHearsLifecycleAndSuspension(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	logs := e.setLogChannel()
	waitLog := func(want string) {
		t.Helper()
		e.waitChannel(logs.ID, want)
	}

	broken := bytes.Replace(examples.Read("hello.skyext"), []byte("await message.reply("), []byte("throw new Error('boom'); await message.reply("), 1)
	e.install(broken)
	waitLog("🧩 Installed **hello** 1.0.0 by <@" + e.admin.UserID + ">.")

	for range 5 { // DefaultSuspendAfter
		e.say(e.member, "!hello")
	}
	waitLog("⚠️ **hello** 1.0.0 failed: error: Error: boom")
	waitLog("⛔ Suspended **hello** 1.0.0: 5 failures within 10m0s")
	in, err := e.app.store.InstallByName(context.Background(), store.GuildID(e.g.ID), "hello")
	if err != nil || in.Enabled {
		t.Fatalf("after five failures the install is %+v, %v; want it disabled", in, err)
	}
	status, _ := e.ext(e.admin, "status", nil)
	if !strings.Contains(status, "⏸️ **hello** 1.0.0 — disabled, 5 failure(s); latest") || !strings.Contains(status, "Error: boom") {
		t.Fatalf("/ext status = %q", status)
	}
	// Only one failure was posted; the others were held back, not lost.
	failures := 0
	for _, m := range e.srv.Messages(logs.ID) {
		if strings.Contains(m.Content, "failed:") {
			failures++
		}
	}
	if failures != 1 {
		t.Fatalf("%d failure posts, want 1 (throttled)", failures)
	}
}

func TestExportImportPackages(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	hello := examples.Read("hello.skyext")
	e.install(hello)

	download := func(format string) []byte {
		t.Helper()
		opts := nameOpt("hello")
		if format != "" {
			opts = append(opts, &discordgo.ApplicationCommandInteractionDataOption{Name: "format", Type: discordgo.ApplicationCommandOptionString, Value: format})
		}
		msg, resp := e.extMsg(e.admin, "export", opts)
		if !resp.Ephemeral || len(msg.Attachments) != 1 || msg.Attachments[0].Filename != "hello.skypkg" {
			t.Fatalf("export %s answered %q with %d attachments", format, msg.Content, len(msg.Attachments))
		}
		data, ok := e.srv.Attachment(msg.Attachments[0].ID)
		if !ok {
			t.Fatal("the exported file cannot be downloaded")
		}
		return data
	}
	v2 := download("")
	pkg, err := extensions.ParseSkypkg(v2)
	if err != nil || pkg.Format != extensions.PackageV2 || pkg.Code != string(hello) || pkg.Manifest.Version != "1.0.0" {
		t.Fatalf("2.0 export = %+v, %v", pkg.Manifest, err)
	}
	v1 := download("1.0")
	if old, err := extensions.ParseSkypkg(v1); err != nil || old.Format != extensions.PackageLegacy || old.Code != string(hello) || old.Manifest.Key != "hello" {
		t.Fatalf("1.0 export = %+v, %v", old.Manifest, err)
	}

	// The exported package installs again, as itself.
	if answer, _ := e.ext(e.admin, "uninstall", keepData("hello")); !strings.HasPrefix(answer, "Uninstalled") {
		t.Fatal(answer)
	}
	card, _ := e.extMsg(e.admin, "install", file("hello.skypkg", v2))
	if answer, _ := e.click(e.admin, card, "Install"); !strings.Contains(answer, "Installed **hello** 1.0.0") {
		t.Fatalf("install from the 2.0 export: %q", answer)
	}
	if answer, _ := e.ext(e.admin, "uninstall", keepData("hello")); !strings.HasPrefix(answer, "Uninstalled") {
		t.Fatal(answer)
	}

	// A SkynetBot 1.0 package installs and runs unchanged.
	legacy, err := os.ReadFile("../../extensions/testdata/hello-world-1.0.skypkg")
	if err != nil {
		t.Fatal(err)
	}
	card, _ = e.extMsg(e.admin, "install", file("Hello_World.skypkg", legacy))
	if !strings.Contains(card.Content, "Install **hello-world** 1.0.0") {
		t.Fatalf("1.0 package consent card = %q", card.Content)
	}
	e.click(e.admin, card, "Install")
	if r := e.say(e.member, "!hello"); len(r) != 1 || r[0].Content != "Hello, max!" {
		t.Fatalf("the 1.0 package's reply = %v", contents(r))
	}
}

func TestGuildPolicy(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	owner := discordtest.Member{GuildID: e.g.ID, UserID: e.g.OwnerID, Username: "owner"}
	opt := func(name string, typ discordgo.ApplicationCommandOptionType, v any) *discordgo.ApplicationCommandInteractionDataOption {
		return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: typ, Value: v}
	}
	// Manage Server is not enough to change the policy.
	answer, _ := e.ext(e.admin, "policy", []*discordgo.ApplicationCommandInteractionDataOption{opt("uploads", discordgo.ApplicationCommandOptionBoolean, false)})
	if !strings.HasPrefix(answer, "E_FORBIDDEN:") || !strings.Contains(answer, "Administrator") {
		t.Fatalf("a Manage Server admin changed the policy: %q", answer)
	}
	answer, _ = e.ext(owner, "policy", []*discordgo.ApplicationCommandInteractionDataOption{opt("scopes", discordgo.ApplicationCommandOptionString, "storage, config")})
	if !strings.Contains(answer, "Scopes: only `storage`, `config`") {
		t.Fatalf("policy = %q", answer)
	}
	answer, _ = e.ext(e.admin, "install", file("hello.skyext", examples.Read("hello.skyext")))
	if !strings.HasPrefix(answer, "E_FORBIDDEN:") || !strings.Contains(answer, "messages_write") {
		t.Fatalf("install past the scope policy: %q", answer)
	}
	e.ext(owner, "policy", []*discordgo.ApplicationCommandInteractionDataOption{
		opt("scopes", discordgo.ApplicationCommandOptionString, "all"), opt("uploads", discordgo.ApplicationCommandOptionBoolean, false)})
	answer, _ = e.ext(e.admin, "install", file("hello.skyext", examples.Read("hello.skyext")))
	if !strings.HasPrefix(answer, "E_FORBIDDEN:") || !strings.Contains(answer, "attached files") {
		t.Fatalf("install with uploads off: %q", answer)
	}
	if answer, _ = e.ext(e.admin, "policy", nil); !strings.Contains(answer, "Installing attached files: not allowed") || !strings.Contains(answer, "Scopes: any") {
		t.Fatalf("policy shown to an admin = %q", answer)
	}
}

func TestSystemExtensions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.skyext"), examples.Read("hello.skyext"), 0o600); err != nil {
		t.Fatal(err)
	}
	installed := make(chan extensions.LifecycleEvent, 4)
	e := assembleGuild(t, func(c *config.Config) { c.Extensions.SystemDir = dir }, hooks{onLifecycle: func(ev extensions.LifecycleEvent) {
		if ev.Kind == extensions.EventInstalled || ev.Kind == extensions.EventUpdated {
			installed <- ev
		}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.app.start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-installed:
		if ev.Extension != "hello" || ev.Guild != store.GuildID(e.g.ID) {
			t.Fatalf("event = %+v", ev)
		}
	case <-ctx.Done():
		t.Fatal("the system extension was never installed into the guild")
	}
	if r := e.say(e.member, "!hello"); len(r) != 1 {
		t.Fatalf("the system extension does not answer: %v", contents(r))
	}
	if answer, _ := e.ext(e.admin, "list", nil); !strings.Contains(answer, "**hello** 1.0.0 — system, enabled") {
		t.Fatalf("list = %q", answer)
	}
	if answer, _ := e.ext(e.admin, "uninstall", nameOpt("hello")); !strings.HasPrefix(answer, "E_FORBIDDEN:") || !strings.Contains(answer, "system extension") {
		t.Fatalf("uninstall of a system extension = %q", answer)
	}
	if answer, _ := e.ext(e.admin, "disable", nameOpt("hello")); !strings.HasPrefix(answer, "Disabled") {
		t.Fatalf("disable of a system extension = %q", answer)
	}

	// A newer version in the directory updates every guild on its next join.
	if err := os.WriteFile(filepath.Join(dir, "hello.skyext"), helloVersion("1.1.0", "messages_write", "Hi"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.app.manager.LoadSystem(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if err := e.app.manager.EnsureSystem(ctx, store.GuildID(e.g.ID)); err != nil {
		t.Fatal(err)
	}
	if ev := <-installed; ev.Kind != extensions.EventUpdated || ev.From != "1.0.0" || ev.Version != "1.1.0" {
		t.Fatalf("update event = %+v", ev)
	}
	if info, _ := e.ext(e.admin, "info", nameOpt("hello")); !strings.Contains(info, "**hello** 1.1.0 — disabled") {
		t.Fatalf("after the update the guild's choice to disable is kept? info = %q", info)
	}
}

func TestEmbedsNeedEmbedLinks(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	src := func(scopes string) []byte {
		return []byte(`// ==SkyExtension==
// @name         card
// @version      1.0.0
// @type         command
// @key          card
// @scopes       ` + scopes + `
// ==/SkyExtension==
const embed = require('embed');
const message = require('message');
const sent = await message.reply({ embeds: [embed.create({ title: 'Card for ' + message.author.username, color: embed.colors.GOLD,
  fields: [{ name: 'Level', value: '3', inline: true }] })] });
if (!sent.success) throw new Error(sent.error);
`)
	}
	e.install(src("messages_write"))
	if r := e.say(e.member, "!card"); len(r) != 0 {
		t.Fatalf("an embed was sent without embed_links: %v", r[0].Embeds)
	}
	logs, _ := e.ext(e.admin, "logs", nameOpt("card"))
	if !strings.Contains(logs, "MISSING_SCOPES") || !strings.Contains(logs, "embed_links") {
		t.Fatalf("/ext logs does not explain the refusal: %q", logs)
	}
	e.ext(e.admin, "uninstall", keepData("card"))

	e.install(bytes.Replace(src("messages_write, embed_links"), []byte("1.0.0"), []byte("1.0.1"), 1))
	r := e.say(e.member, "!card")
	if len(r) != 1 || len(r[0].Embeds) != 1 {
		t.Fatalf("replies = %+v", r)
	}
	em := r[0].Embeds[0]
	if em.Title != "Card for max" || em.Color != 0xF1C40F || len(em.Fields) != 1 || em.Fields[0].Name != "Level" || !em.Fields[0].Inline {
		t.Fatalf("embed = %+v", em)
	}
}

func TestGuildDataModules(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	src := func(name, scopes string) []byte {
		return []byte(`// ==SkyExtension==
// @name         ` + name + `
// @version      1.0.0
// @type         command
// @key          ` + name + `
// @scopes       ` + scopes + `
// ==/SkyExtension==
const g = require('guild'), c = require('channel'), m = require('member'), r = require('roles');
await require('message').reply([g.name, g.memberCount, c.name, c.nsfw, m.displayName, m.isOwner, m.manageable, m.kickable,
  m.user.username, r.count, r.highest.name, r.everyone.name, r.byId[r.everyone.id].members].join('|'));
`)
	}
	e.install(src("whois", "messages_write, guild_read, channels_read, members_read, roles_read"))
	roles := e.srv.Roles(e.g.ID)
	members := len(e.srv.Members(e.g.ID))
	highest := ""
	top := -1
	for _, r := range roles {
		if r.ID != e.g.ID && r.Position > top {
			top, highest = r.Position, r.Name
		}
	}
	want := strings.Join([]string{"Test Guild", fmt.Sprint(members), "general", "false", "max", "false", "true", "true",
		"max", fmt.Sprint(len(roles)), highest, "@everyone", fmt.Sprint(members)}, "|")
	if r := e.say(e.member, "!whois"); len(r) != 1 || r[0].Content != want {
		t.Fatalf("reply = %v\nwant     %q", contents(r), want)
	}

	e.install(src("nosy", "messages_write"))
	e.say(e.member, "!nosy")
	logs, _ := e.ext(e.admin, "logs", nameOpt("nosy"))
	if !strings.Contains(logs, "MISSING_SCOPES") || !strings.Contains(logs, "guild_read") {
		t.Fatalf("without guild_read the guild module must be refused: %q", logs)
	}
}

func TestDiscordRefusalReachesTheExtensionLog(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	e.install(examples.Read("hello.skyext")) // ignores reply's result
	for role, perms := range map[string]int64{e.g.BotRoleID: discordtest.DefaultBotPermissions, e.g.ID: discordtest.DefaultEveryonePermissions} {
		if err := e.srv.SetRolePermissions(e.g.ID, role, perms&^discordgo.PermissionSendMessages); err != nil {
			t.Fatal(err)
		}
	}
	talker := e.srv.AddRole(e.g.ID, "talkers", discordgo.PermissionSendMessages|discordgo.PermissionViewChannel)
	tom := e.srv.AddMember(e.g.ID, "tom", talker.ID)
	if r := e.say(tom, "!hello"); len(r) != 0 {
		t.Fatalf("a reply was sent without Send Messages: %v", contents(r))
	}
	logs, _ := e.ext(e.admin, "logs", nameOpt("hello"))
	if !strings.Contains(logs, "message.reply: Discord refused it") {
		t.Fatalf("the refusal is not in /ext logs: %q", logs)
	}
}

// Two admins accepting two consent cards for the same extension at the same
// moment: one install wins, the other is told it already exists, and the
// guild has one install, one version and one answer per message.
func TestRacingConsentClicksInstallOnce(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	var cards []*discordgo.Message
	for _, src := range [][]byte{
		helloVersion("1.0.0", "messages_write", "Hello"),
		helloVersion("1.0.1", "messages_write", "Howdy"),
	} {
		card, _ := e.extMsg(e.admin, "install", file("hello.skyext", src))
		cards = append(cards, card)
	}
	type result struct {
		answer string
		err    error
	}
	results := make(chan result, len(cards))
	for _, card := range cards {
		id, _ := findButton(card, "Install")
		go func() {
			it, err := e.srv.ClickButton(card.ChannelID, card.ID, e.admin.UserID, id)
			if err != nil {
				results <- result{err: err}
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			resp, err := it.WaitResponse(ctx)
			if err == nil && resp.Message == nil {
				err = fmt.Errorf("no message in the response")
			}
			if err != nil {
				results <- result{err: err}
				return
			}
			results <- result{answer: resp.Message.Content}
		}()
	}
	var installed, refused int
	for range cards {
		r := <-results
		switch {
		case r.err != nil:
			t.Fatalf("click: %v", r.err)
		case strings.Contains(r.answer, "Installed **hello**"):
			installed++
		case strings.HasPrefix(r.answer, "E_ALREADY_EXISTS:"):
			refused++
		default:
			t.Fatalf("unexpected answer %q", r.answer)
		}
	}
	if installed != 1 || refused != 1 {
		t.Fatalf("installed %d, refused %d; want one of each", installed, refused)
	}
	ctx := context.Background()
	ins, err := e.app.store.Installs(ctx, store.GuildID(e.g.ID))
	if err != nil || len(ins) != 1 {
		t.Fatalf("installs = %v (%v), want 1", ins, err)
	}
	vers, err := e.app.store.Versions(ctx, ins[0].ExtensionID)
	if err != nil || len(vers) != 1 {
		t.Fatalf("versions = %d (%v), want 1: the refused install wrote nothing", len(vers), err)
	}
	if r := e.say(e.member, "!hello"); len(r) != 1 {
		t.Fatalf("!hello answered %v, want one reply", contents(r))
	}
}
