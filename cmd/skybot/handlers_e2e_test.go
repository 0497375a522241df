package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/extensions/examples"
	"github.com/skyext/skybot/store"
)

const pollExt = `// ==SkyExtension==
// @name         poll
// @version      1.0.0
// @description  Polls with buttons
// @scopes       messages_write
// ==/SkyExtension==
const sky = require('sky');
sky.command({
  name: 'poll', description: 'Start a poll',
  options: [{ type: 'string', name: 'question', description: 'What to ask', required: true, autocomplete: true }],
  autocomplete: (ctx) => ctx.respond([{ name: ctx.options.question + '?', value: ctx.options.question + '?' }]),
}, async (ctx) => {
  await ctx.reply({
    content: 'Poll: ' + ctx.options.question,
    components: [{ type: 1, components: [{ type: 2, style: 1, label: 'Yes', custom_id: 'vote:yes' }] }],
  });
});
sky.component('vote:', async (ctx) => {
  await ctx.update({ content: 'Voted ' + ctx.customId.slice(5) + ' by ' + ctx.user.username, components: [] });
});
sky.command({ name: 'broken', description: 'Always fails' }, () => { throw new Error('nope'); });
sky.command({ name: 'ext', description: 'Tries to take skybot\'s name' }, () => {});
sky.prefix('ping', (ctx) => ctx.reply('pong'));
sky.command({ name: 'feedback', description: 'Tell us', options: [
  { type: 'subcommand', name: 'send', description: 'Send feedback' },
  { type: 'subcommand', name: 'about', description: 'About feedback' },
] }, async (ctx) => {
  if (ctx.subcommand !== 'send') return ctx.reply({ content: 'Use /feedback send', ephemeral: true });
  await ctx.showModal({ customId: 'form:fb', title: 'Feedback', components: [
    { type: 1, components: [{ type: 4, custom_id: 'text', label: 'Your feedback', style: 1 }] },
  ] });
});
sky.component('form:', (ctx) => ctx.reply('Thanks: ' + ctx.fields.text + ' (' + ctx.customId + ')'));
`

// waitSlash runs a slash command, retrying while skybot is still
// registering it after an install.
func (e *guild) waitSlash(in discordtest.SlashInput) *discordtest.Interaction {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		it, err := e.srv.RunSlash(in)
		if err == nil {
			return it
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("/%s: %v", in.Name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A handler-style extension's slash command is registered in the guild
// when it is installed, answers with a button, and the click comes back
// to the extension; a failing command gets an ephemeral error, and
// skybot's own command names stay skybot's.
func TestHandlerStyleSlashCommandsAndComponents(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	if answer := e.install([]byte(pollExt)); !strings.Contains(answer, "Installed **poll** 1.0.0") {
		t.Fatalf("install: %q", answer)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	question := []*discordgo.ApplicationCommandInteractionDataOption{{Name: "question", Type: discordgo.ApplicationCommandOptionString, Value: "lunch"}}
	it := e.waitSlash(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: e.member.UserID, Name: "poll", Options: question})
	msg, err := it.WaitMessage(ctx, func(m *discordgo.Message) bool { return m.Content != "" })
	if err != nil || msg.Content != "Poll: lunch" {
		t.Fatalf("/poll answered %v, %v", msg, err)
	}
	id, _ := findButton(msg, "Yes")
	if id != "sx:poll:vote:yes" {
		t.Fatalf("button custom id %q", id)
	}
	click, err := e.srv.ClickButton(msg.ChannelID, msg.ID, e.member.UserID, id)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := click.WaitResponse(ctx)
	if err != nil || resp.Message == nil || resp.Message.Content != "Voted yes by max" {
		t.Fatalf("click answered %+v, %v", resp.Message, err)
	}

	ac, err := e.srv.Autocomplete(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: e.member.UserID, Name: "poll", Options: question}, "question")
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := ac.WaitResponse(ctx); err != nil || len(resp.Choices) != 1 || resp.Choices[0].Name != "lunch?" {
		t.Fatalf("autocomplete answered %+v, %v", resp.Choices, err)
	}

	broken := e.waitSlash(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: e.member.UserID, Name: "broken"})
	bmsg, err := broken.WaitMessage(ctx, func(m *discordgo.Message) bool { return m.Content != "" })
	if err != nil || !strings.Contains(bmsg.Content, "poll ran into an error") || !broken.Response().Ephemeral {
		t.Fatalf("/broken answered %v (ephemeral %v), %v", bmsg, broken.Response().Ephemeral, err)
	}

	// A subcommand opens a form; its submission comes back to the extension.
	send := e.waitSlash(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: e.member.UserID, Name: "feedback",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "send", Type: discordgo.ApplicationCommandOptionSubCommand}}})
	modal, err := send.WaitResponse(ctx)
	if err != nil || modal.Modal == nil || modal.Modal.CustomID != "sx:poll:form:fb" {
		t.Fatalf("/feedback send answered %+v, %v", modal, err)
	}
	submit, err := e.srv.SubmitModal(send, e.member.UserID, "sx:poll:form:fb", map[string]string{"sx:poll:text": "more tea"})
	if err != nil {
		t.Fatal(err)
	}
	thanks, err := submit.WaitMessage(ctx, func(m *discordgo.Message) bool { return m.Content != "" })
	if err != nil || thanks.Content != "Thanks: more tea (form:fb)" {
		t.Fatalf("modal submit answered %v, %v", thanks, err)
	}

	// The prefix command of the same extension works too.
	if replies := e.say(e.member, "!ping"); len(replies) != 1 || replies[0].Content != "pong" {
		t.Fatalf("!ping: %v", contents(replies))
	}
	// /ext is still skybot's.
	if answer, _ := e.ext(e.admin, "list", nil); !strings.Contains(answer, "**poll** 1.0.0") {
		t.Fatalf("/ext list after install: %q", answer)
	}
}

const modExt = `// ==SkyExtension==
// @name         bouncer
// @version      1.0.0
// @description  Bans through a slash command
// @scopes       ban, modlog
// ==/SkyExtension==
const sky = require('sky');
const moderation = require('moderation');
const modlog = require('modlog');
sky.command({
  name: 'bounce', description: 'Ban someone',
  options: [{ type: 'user', name: 'who', description: 'whom', required: true }],
}, async (ctx) => {
  try {
    await moderation.ban(ctx.options.who.id, { reason: 'bounced' });
  } catch (e) {
    return ctx.reply({ content: e.code + ': ' + e.message, ephemeral: true });
  }
  const log = await modlog.list({ userId: ctx.options.who.id });
  await ctx.reply('Bounced; modlog says ' + log[0].action + ' by ' + log[0].actor);
});
`

// An extension's ban acts only for a member who could ban, only on a
// member below skybot, and leaves a moderation log entry and an audit row.
func TestModerationThroughAnExtension(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	if answer := e.install([]byte(modExt)); !strings.Contains(answer, "Installed **bouncer**") {
		t.Fatalf("install: %q", answer)
	}
	modChannel := e.srv.AddChannel(e.g.ID, "mod-log", discordgo.ChannelTypeGuildText)
	if answer, _ := e.ext(e.admin, "logchannel", []*discordgo.ApplicationCommandInteractionDataOption{{Name: "channel", Type: discordgo.ApplicationCommandOptionChannel, Value: modChannel.ID}}); !strings.Contains(answer, "<#"+modChannel.ID+">") {
		t.Fatalf("/ext logchannel: %q", answer)
	}
	mods := e.srv.AddRole(e.g.ID, "Mods", discordgo.PermissionBanMembers)
	mod := e.srv.AddMember(e.g.ID, "mona", mods.ID)
	victim := e.srv.AddMember(e.g.ID, "vic")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bounce := func(by discordtest.Member, who string) (string, bool) {
		t.Helper()
		it := e.waitSlash(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: by.UserID, Name: "bounce",
			Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "who", Type: discordgo.ApplicationCommandOptionUser, Value: who}}})
		msg, err := it.WaitMessage(ctx, func(m *discordgo.Message) bool { return m.Content != "" })
		if err != nil {
			t.Fatal(err)
		}
		return msg.Content, it.Response().Ephemeral
	}
	banned := func(id string) bool {
		for _, b := range e.srv.Bans(e.g.ID) {
			if b.User != nil && b.User.ID == id {
				return true
			}
		}
		return false
	}

	// max holds no Ban Members: refused before Discord, nothing changes.
	if answer, eph := bounce(e.member, victim.UserID); !strings.HasPrefix(answer, "FORBIDDEN: ") || !strings.Contains(answer, "Ban Members") || !eph || banned(victim.UserID) {
		t.Fatalf("member without Ban Members: %q (ephemeral %v), banned %v", answer, eph, banned(victim.UserID))
	}
	// A target above skybot's own role cannot be banned, whoever asks.
	top := e.srv.AddRole(e.g.ID, "Top", 0)
	if err := e.srv.SetRolePosition(e.g.ID, top.ID, 50); err != nil {
		t.Fatal(err)
	}
	boss := e.srv.AddMember(e.g.ID, "boss", top.ID)
	if answer, _ := bounce(mod, boss.UserID); !strings.HasPrefix(answer, "FORBIDDEN: ") || banned(boss.UserID) {
		t.Fatalf("target above skybot: %q, banned %v", answer, banned(boss.UserID))
	}
	// A moderator bans a member: done, logged, audited.
	if answer, _ := bounce(mod, victim.UserID); answer != "Bounced; modlog says ban by ext:bouncer" || !banned(victim.UserID) {
		t.Fatalf("moderator's bounce: %q, banned %v", answer, banned(victim.UserID))
	}
	audit, err := e.app.store.Audit(ctx, store.GuildID(e.g.ID), 50)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, a := range audit {
		if a.Action == "moderation.ban" {
			outcomes = append(outcomes, a.Outcome)
		}
	}
	if len(outcomes) != 3 || outcomes[0] != "ok" {
		t.Fatalf("ban audit outcomes (newest first) %q, want the ok and both refusals", outcomes)
	}
	var posted []string
	for _, m := range e.srv.Messages(modChannel.ID) {
		if strings.Contains(m.Content, "Moderation log") {
			posted = append(posted, m.Content)
		}
	}
	if len(posted) != 1 || !strings.Contains(posted[0], "**ban** <@"+victim.UserID+"> by `ext:bouncer` — bounced") {
		t.Fatalf("moderation log channel: %q", posted)
	}
}

// The README's handler-style example does what it says.
func TestWelcomeExample(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	if answer := e.install(examples.Read("welcome.skyext")); !strings.Contains(answer, "Installed **welcome** 1.0.0") {
		t.Fatalf("install: %q", answer)
	}
	if replies := e.say(e.member, "!newest"); len(replies) != 1 || replies[0].Content != "Nobody has joined yet." {
		t.Fatalf("!newest before anyone joined: %v", contents(replies))
	}
	for _, name := range []string{"nia", "omar"} {
		e.srv.AddMember(e.g.ID, name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		it := e.waitSlash(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: e.admin.UserID, Name: "welcome",
			Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "stats", Type: discordgo.ApplicationCommandOptionSubCommand}}})
		msg, err := it.WaitMessage(ctx, func(m *discordgo.Message) bool { return m.Content != "" })
		if err != nil {
			t.Fatal(err)
		}
		if msg.Content == "2 member(s) joined since I was installed." {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("stats never counted both joins: %q", msg.Content)
		}
		time.Sleep(20 * time.Millisecond) // the join events are delivered asynchronously
	}
	replies := e.say(e.member, "!newest")
	if len(replies) != 1 || !strings.HasPrefix(replies[0].Content, "Say hello to <@") {
		t.Fatalf("!newest: %v", contents(replies))
	}
}

// Settings declared in the header reach code through config, typed and
// with their defaults; a secret never does.
func TestSettingsReachCodeSecretsDoNot(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	src := `// ==SkyExtension==
// @name         greeter
// @version      1.0.0
// @scopes       messages_write, config
// @setting      {"id": "greeting", "type": "text", "default": "Hello"}
// @setting      {"id": "times", "type": "number", "default": 1, "min": 1, "max": 3}
// @setting      {"id": "api_key", "type": "secret"}
// ==/SkyExtension==
const config = require('config');
require('sky').prefix('greet', async (ctx) => {
  const all = await config.getAll();
  const greeting = await config.get('greeting');
  const key = await config.get('api_key');
  await ctx.reply(Array(all.times).fill(greeting).join(' ') + ' / ' + Object.keys(all).sort().join(',') + ' / ' + typeof key);
});
`
	if answer := e.install([]byte(src)); !strings.Contains(answer, "Installed **greeter**") {
		t.Fatalf("install: %q", answer)
	}
	if replies := e.say(e.member, "!greet"); len(replies) != 1 || replies[0].Content != "Hello / greeting,times / undefined" {
		t.Fatalf("!greet with defaults: %v", contents(replies))
	}
	ctx := context.Background()
	in, err := e.app.store.InstallByName(ctx, store.GuildID(e.g.ID), "greeter")
	if err != nil {
		t.Fatal(err)
	}
	// What /ext config will write (issue 5); the API key is a secret.
	for k, v := range map[string]string{"greeting": `"Howdy"`, "times": `2`} {
		if err := e.app.store.SetSetting(ctx, store.GuildID(e.g.ID), in.ExtensionID, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if replies := e.say(e.member, "!greet"); len(replies) != 1 || replies[0].Content != "Howdy Howdy / greeting,times / undefined" {
		t.Fatalf("!greet after the admin's settings: %v", contents(replies))
	}
}

// Balances never go below zero, unless the guild's policy allows debts.
func TestNegativeBalancesOnlyByPolicy(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	src := `// ==SkyExtension==
// @name         fines
// @version      1.0.0
// @scopes       messages_write, economy_manage
// ==/SkyExtension==
const economy = require('economy');
require('sky').prefix('fine', async (ctx) => {
  try {
    const r = await economy.remove(ctx.message.author.id, 50, 'fine');
    await ctx.reply('balance ' + r.newBalance);
  } catch (e) {
    await ctx.reply(e.code);
  }
});
`
	if answer := e.install([]byte(src)); !strings.Contains(answer, "Installed **fines**") {
		t.Fatalf("install: %q", answer)
	}
	if r := e.say(e.member, "!fine"); len(r) != 1 || r[0].Content != "INSUFFICIENT_FUNDS" {
		t.Fatalf("fine without the policy: %v", contents(r))
	}
	owner := discordtest.Member{GuildID: e.g.ID, UserID: e.g.OwnerID, Username: "owner"}
	answer, _ := e.ext(owner, "policy", []*discordgo.ApplicationCommandInteractionDataOption{{Name: "negative_balances", Type: discordgo.ApplicationCommandOptionBoolean, Value: true}})
	if !strings.Contains(answer, "extensions may take balances below zero") {
		t.Fatalf("policy: %q", answer)
	}
	if r := e.say(e.member, "!fine"); len(r) != 1 || r[0].Content != "balance -50" {
		t.Fatalf("fine with debts allowed: %v", contents(r))
	}
}

// Two extensions that both declare /poll: the one installed first keeps
// the name, the second's consent card says so, and when the first leaves
// the second's /poll takes its place.
func TestSlashCommandNameConflict(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	if answer := e.install([]byte(pollExt)); !strings.Contains(answer, "Installed **poll** 1.0.0") {
		t.Fatalf("install: %q", answer)
	}
	rival := []byte(`// ==SkyExtension==
// @name         rival
// @version      1.0.0
// @description  Another poll
// @scopes       messages_write
// ==/SkyExtension==
require('sky').command({ name: 'poll', description: 'Rival poll',
  options: [{ type: 'string', name: 'question', description: 'What', required: true }],
}, (ctx) => ctx.reply('Rival: ' + ctx.options.question));
`)
	card, _ := e.extMsg(e.admin, "install", file("rival.skyext", rival))
	if !strings.Contains(card.Content, "/poll already belongs to poll (installed first)") {
		t.Fatalf("consent card does not name the conflict:\n%s", card.Content)
	}
	if answer, _ := e.click(e.admin, card, "Install"); !strings.Contains(answer, "Installed **rival** 1.0.0") {
		t.Fatalf("rival install: %q", answer)
	}
	ask := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			it := e.waitSlash(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: e.member.UserID, Name: "poll",
				Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "question", Type: discordgo.ApplicationCommandOptionString, Value: "tea"}}})
			msg, err := it.WaitMessage(ctx, func(m *discordgo.Message) bool { return m.Content != "" })
			cancel()
			if err == nil && msg.Content == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/poll answered %v, %v; want %q", msg, err, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ask("Poll: tea")
	var polls int
	for _, c := range e.srv.Commands(e.g.ID) {
		if c.Name == "poll" {
			polls++
		}
	}
	if polls != 1 {
		t.Fatalf("/poll registered %d times", polls)
	}
	if answer, _ := e.ext(e.admin, "uninstall", keepData("poll")); !strings.HasPrefix(answer, "Uninstalled") {
		t.Fatalf("uninstall poll: %q", answer)
	}
	ask("Rival: tea")
}
