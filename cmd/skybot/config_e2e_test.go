package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/store"
)

// configExt declares one setting of several types, a secret among them,
// and shows through !greet what its code reads.
const configExt = `// ==SkyExtension==
// @name         greeter
// @version      1.0.0
// @scopes       messages_write, config
// @setting      {"id": "greeting", "type": "text", "label": "Greeting", "default": "Hello"}
// @setting      {"id": "times", "type": "number", "default": 1, "min": 1, "max": 3, "help": "How many times to greet"}
// @setting      {"id": "loud", "type": "toggle", "default": false}
// @setting      {"id": "mode", "type": "select", "options": ["plain", "fancy"], "default": "plain"}
// @setting      {"id": "api_key", "type": "secret"}
// @setting      {"id": "color", "type": "color"}
// ==/SkyExtension==
const config = require('config');
require('sky').prefix('greet', async (ctx) => {
  const all = await config.getAll();
  const times = await config.get('times');
  const key = await config.get('api_key');
  let text = Array(times).fill(all.greeting).join(' ');
  if (all.loud) text = text.toUpperCase();
  await ctx.reply(text + ' / ' + typeof times + ' / ' + Object.keys(all).sort().join(',') + ' / ' + typeof key + ' / ' + all.mode + ' ' + all.color);
});
`

// greet runs !greet as the member and returns the one reply.
func (e *guild) greet() string {
	e.t.Helper()
	replies := e.say(e.member, "!greet")
	if len(replies) != 1 {
		e.t.Fatalf("!greet: %v", contents(replies))
	}
	return replies[0].Content
}

// openConfig runs /ext config as m and returns the interaction and the
// modal it answered with.
func (e *guild) openConfig(m discordtest.Member, opts []*discordgo.ApplicationCommandInteractionDataOption) (*discordtest.Interaction, *discordgo.InteractionResponseData) {
	e.t.Helper()
	it, err := e.srv.RunSlash(discordtest.SlashInput{
		GuildID: e.g.ID, ChannelID: e.general.ID, UserID: m.UserID, Name: "ext",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "config", Type: discordgo.ApplicationCommandOptionSubCommand, Options: opts}},
	})
	if err != nil {
		e.t.Fatalf("/ext config: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := it.WaitResponse(ctx)
	if err != nil || resp.Type != discordtest.ResponseModal || resp.Modal == nil {
		e.t.Fatalf("/ext config answered %+v (message %v), %v; want a modal", resp.Type, resp.Message, err)
	}
	return it, resp.Modal
}

// inputs are a modal's text inputs, in order.
func inputs(m *discordgo.InteractionResponseData) []*discordgo.TextInput {
	var out []*discordgo.TextInput
	for _, c := range m.Components {
		var row []discordgo.MessageComponent
		switch r := c.(type) {
		case *discordgo.ActionsRow:
			row = r.Components
		case discordgo.ActionsRow:
			row = r.Components
		}
		for _, c := range row {
			switch in := c.(type) {
			case *discordgo.TextInput:
				out = append(out, in)
			case discordgo.TextInput:
				out = append(out, &in)
			}
		}
	}
	return out
}

func input(t *testing.T, m *discordgo.InteractionResponseData, id string) *discordgo.TextInput {
	t.Helper()
	for _, in := range inputs(m) {
		if in.CustomID == id {
			return in
		}
	}
	t.Fatalf("the modal has no input %q", id)
	return nil
}

// submitConfig submits the modal as m, as a person would: every input
// keeps what the form showed unless changes says otherwise. It returns
// skybot's answer.
func (e *guild) submitConfig(from *discordtest.Interaction, modal *discordgo.InteractionResponseData, m discordtest.Member, changes map[string]string) (string, discordtest.Response) {
	e.t.Helper()
	values := map[string]string{}
	for _, in := range inputs(modal) {
		values[in.CustomID] = in.Value
	}
	for k, v := range changes {
		values[k] = v
	}
	it, err := e.srv.SubmitModal(from, m.UserID, modal.CustomID, values)
	if err != nil {
		e.t.Fatalf("submit %s: %v", modal.CustomID, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg, err := it.WaitMessage(ctx, func(msg *discordgo.Message) bool { return msg.Content != "" })
	if err != nil {
		e.t.Fatalf("submit %s: no answer: %v", modal.CustomID, err)
	}
	return msg.Content, it.Response()
}

// configure opens the first page of the form as the admin and submits it
// with changes.
func (e *guild) configure(changes map[string]string) string {
	e.t.Helper()
	it, modal := e.openConfig(e.admin, nameOpt("greeter"))
	answer, resp := e.submitConfig(it, modal, e.admin, changes)
	if !resp.Ephemeral {
		e.t.Fatalf("the answer to a settings form is not ephemeral: %q", answer)
	}
	return answer
}

func TestConfigForm(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	if answer := e.install([]byte(configExt)); !strings.Contains(answer, "Installed **greeter**") {
		t.Fatalf("install: %q", answer)
	}
	const defaults = "Hello / number / greeting,loud,mode,times / undefined / plain undefined"
	if got := e.greet(); got != defaults {
		t.Fatalf("!greet with defaults = %q", got)
	}

	// A member without Manage Server gets no form.
	if answer, resp := e.ext(e.member, "config", nameOpt("greeter")); !strings.HasPrefix(answer, "E_FORBIDDEN:") || !resp.Ephemeral {
		t.Fatalf("member's /ext config = %q (ephemeral %v)", answer, resp.Ephemeral)
	}
	if answer, _ := e.ext(e.admin, "config", nameOpt("nope")); !strings.HasPrefix(answer, "E_NOT_FOUND:") {
		t.Fatalf("/ext config of an unknown extension = %q", answer)
	}

	// The form: five settings a page, current values, the secret empty.
	it, modal := e.openConfig(e.admin, nameOpt("greeter"))
	if modal.CustomID != "skybot:config:greeter:1" || modal.Title != "Settings of greeter (1/2)" {
		t.Fatalf("modal %q titled %q", modal.CustomID, modal.Title)
	}
	var ids []string
	for _, in := range inputs(modal) {
		ids = append(ids, in.CustomID+"="+in.Value)
	}
	if got := strings.Join(ids, " "); got != "greeting=Hello times=1 loud=off mode=plain api_key=" {
		t.Fatalf("inputs: %s", got)
	}
	if in := input(t, modal, "greeting"); in.Label != "Greeting" {
		t.Fatalf("greeting's label %q", in.Label)
	}
	if in := input(t, modal, "times"); in.Placeholder != "How many times to greet" {
		t.Fatalf("times' placeholder %q", in.Placeholder)
	}
	if in := input(t, modal, "api_key"); in.Placeholder != "not set" {
		t.Fatalf("unset secret's placeholder %q", in.Placeholder)
	}

	// Someone without Manage Server cannot submit the admin's form.
	if answer, _ := e.submitConfig(it, modal, e.member, map[string]string{"greeting": "Pwned"}); !strings.HasPrefix(answer, "E_FORBIDDEN:") {
		t.Fatalf("member's submit = %q", answer)
	}
	answer, _ := e.submitConfig(it, modal, e.admin, map[string]string{"greeting": "Howdy", "times": "2", "loud": "on"})
	if answer != "Saved the settings of **greeter**:\n• Greeting: Howdy\n• times: 2\n• loud: on" {
		t.Fatalf("answer to the form = %q", answer)
	}
	if got := e.greet(); got != "HOWDY HOWDY / number / greeting,loud,mode,times / undefined / plain undefined" {
		t.Fatalf("!greet after the form = %q", got)
	}
	_, modal = e.openConfig(e.admin, nameOpt("greeter"))
	if in := input(t, modal, "times"); in.Value != "2" {
		t.Fatalf("the form shows times = %q after saving 2", in.Value)
	}

	// Bad input: a clear refusal, and nothing is written, not even the
	// valid fields of the same form.
	const saved = "HOWDY HOWDY / number / greeting,loud,mode,times / undefined / plain undefined"
	for _, bad := range []struct {
		changes map[string]string
		want    string
	}{
		{map[string]string{"greeting": "Bye", "times": "9"}, `E_INVALID_CONFIG: The setting "times" is not valid: 9 is out of range; enter a number from 1 to 3. Nothing was changed.`},
		{map[string]string{"greeting": "Bye", "loud": "maybe"}, `E_INVALID_CONFIG: The setting "loud" is not valid:`},
		{map[string]string{"greeting": "Bye", "mode": "turbo"}, `is not one of the choices: plain, fancy`},
		{map[string]string{"greeting": "Bye", "api_key": "sk-live-0000"}, "E_INVALID_STATE: This skybot cannot store secrets: its operator has not set SKYBOT_SECRET_KEY"},
	} {
		answer := e.configure(bad.changes)
		if !strings.Contains(answer, bad.want) {
			t.Errorf("form with %v answered %q, want %q", bad.changes, answer, bad.want)
		}
		if strings.Contains(answer, "sk-live") {
			t.Errorf("the answer repeats the secret: %q", answer)
		}
	}
	if got := e.greet(); got != saved {
		t.Fatalf("!greet after refused forms = %q", got)
	}
	in, err := e.app.store.InstallByName(context.Background(), store.GuildID(e.g.ID), "greeter")
	if err != nil {
		t.Fatal(err)
	}
	if names, err := e.app.store.SecretNames(context.Background(), store.GuildID(e.g.ID), in.ExtensionID); err != nil || len(names) != 0 {
		t.Fatalf("secrets after a refused form: %v, %v", names, err)
	}

	// An unchanged form changes nothing; an emptied field goes back to its
	// default.
	if answer := e.configure(nil); answer != "Nothing changed in the settings of **greeter**." {
		t.Fatalf("unchanged form = %q", answer)
	}
	if answer := e.configure(map[string]string{"greeting": "", "mode": "FANCY"}); answer != "Saved the settings of **greeter**:\n• Greeting: back to the default (Hello)\n• mode: fancy" {
		t.Fatalf("form emptying greeting = %q", answer)
	}
	if got := e.greet(); got != "HELLO HELLO / number / greeting,loud,mode,times / undefined / fancy undefined" {
		t.Fatalf("!greet after emptying greeting = %q", got)
	}

	// The sixth setting is on page 2; there is no page 3.
	it, modal = e.openConfig(e.admin, append(nameOpt("greeter"), &discordgo.ApplicationCommandInteractionDataOption{
		Name: "page", Type: discordgo.ApplicationCommandOptionInteger, Value: 2}))
	if modal.CustomID != "skybot:config:greeter:2" || len(inputs(modal)) != 1 || input(t, modal, "color").Placeholder != "a color as #rrggbb" {
		t.Fatalf("page 2: %q with %d inputs", modal.CustomID, len(inputs(modal)))
	}
	if answer, _ := e.submitConfig(it, modal, e.admin, map[string]string{"color": "#5865F2"}); answer != "Saved the settings of **greeter**:\n• color: #5865f2" {
		t.Fatalf("page 2 answer = %q", answer)
	}
	if got := e.greet(); !strings.HasSuffix(got, "fancy #5865f2") {
		t.Fatalf("!greet after page 2 = %q", got)
	}
	answer, _ = e.ext(e.admin, "config", append(nameOpt("greeter"), &discordgo.ApplicationCommandInteractionDataOption{
		Name: "page", Type: discordgo.ApplicationCommandOptionInteger, Value: 3}))
	if answer != "E_INVALID_ID: greeter has 6 settings on 2 page(s); there is no page 3." {
		t.Fatalf("page 3 = %q", answer)
	}

	// An extension without settings has no form.
	if answer := e.install(helloVersion("1.0.0", "messages_write", "Hello")); !strings.Contains(answer, "Installed **hello**") {
		t.Fatalf("install hello: %q", answer)
	}
	if answer, _ := e.ext(e.admin, "config", nameOpt("hello")); answer != "**hello** 1.0.0 declares no settings; there is nothing to configure." {
		t.Fatalf("/ext config of hello = %q", answer)
	}
}

// With the operator's key, a secret is sealed in the store, never shown
// back, and never readable by the extension's code.
func TestConfigSecretIsSealed(t *testing.T) {
	// t.Setenv: not parallel.
	t.Setenv(store.SecretKeyEnv, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	e := newGuild(t, nil)
	if answer := e.install([]byte(configExt)); !strings.Contains(answer, "Installed **greeter**") {
		t.Fatalf("install: %q", answer)
	}
	const secret = "sk-live-5ecret-9f8e7d6c"
	answer := e.configure(map[string]string{"api_key": secret, "times": "3"})
	if answer != "Saved the settings of **greeter**:\n• times: 3\n• api_key: set" {
		t.Fatalf("answer = %q", answer)
	}

	ctx := context.Background()
	guild := store.GuildID(e.g.ID)
	in, err := e.app.store.InstallByName(ctx, guild, "greeter")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := e.app.store.Secret(ctx, guild, in.ExtensionID, "api_key"); err != nil || !ok || v.Reveal() != secret {
		t.Fatalf("stored secret: ok %v, %v", ok, err)
	}
	settings, err := e.app.store.Settings(ctx, guild, in.ExtensionID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := settings["api_key"]; ok {
		t.Fatal("the secret was stored as a setting")
	}
	// Sealed: the database files never hold it in clear.
	for _, path := range []string{e.cfg.Store.Path, e.cfg.Store.Path + "-wal"} {
		data, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(secret)) {
			t.Fatalf("%s holds the secret in clear", path)
		}
	}

	// The form never shows it back; it says it is set.
	it, modal := e.openConfig(e.admin, nameOpt("greeter"))
	if in := input(t, modal, "api_key"); in.Value != "" || in.Placeholder != "set — leave empty to keep" {
		t.Fatalf("secret input: value %q, placeholder %q", in.Value, in.Placeholder)
	}
	// Code cannot read it.
	if got := e.greet(); got != "Hello Hello Hello / number / greeting,loud,mode,times / undefined / plain undefined" || strings.Contains(got, secret) {
		t.Fatalf("!greet = %q", got)
	}
	// Left empty, it is kept.
	if answer, _ := e.submitConfig(it, modal, e.admin, map[string]string{"greeting": "Yo"}); answer != "Saved the settings of **greeter**:\n• Greeting: Yo" {
		t.Fatalf("answer = %q", answer)
	}
	if v, ok, err := e.app.store.Secret(ctx, guild, in.ExtensionID, "api_key"); err != nil || !ok || v.Reveal() != secret {
		t.Fatalf("secret after a form that left it empty: ok %v, %v", ok, err)
	}
	// Replaced.
	if answer := e.configure(map[string]string{"api_key": "sk-new"}); answer != "Saved the settings of **greeter**:\n• api_key: set" {
		t.Fatalf("answer = %q", answer)
	}
	if v, _, _ := e.app.store.Secret(ctx, guild, in.ExtensionID, "api_key"); v.Reveal() != "sk-new" {
		t.Fatal("the secret was not replaced")
	}
}

func TestPermissionsCommand(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	if answer := e.install([]byte(configExt)); !strings.Contains(answer, "Installed **greeter**") {
		t.Fatalf("install: %q", answer)
	}
	bots := e.srv.AddChannel(e.g.ID, "bots", discordgo.ChannelTypeGuildText)
	mods := e.srv.AddRole(e.g.ID, "Mods", 0)
	staff := e.srv.AddRole(e.g.ID, "Server Staff", 0)
	other := e.srv.CreateGuild("Other Guild")
	far := e.srv.AddChannel(other.ID, "elsewhere", discordgo.ChannelTypeGuildText)
	farRole := e.srv.AddRole(other.ID, "Mods", 0)
	ctx := context.Background()
	guild := store.GuildID(e.g.ID)
	in, err := e.app.store.InstallByName(ctx, guild, "greeter")
	if err != nil {
		t.Fatal(err)
	}
	stored := func() store.InstallPermissions {
		t.Helper()
		p, err := e.app.store.InstallPermissions(ctx, guild, in.ExtensionID)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	opt := func(name string, v any) *discordgo.ApplicationCommandInteractionDataOption {
		typ := discordgo.ApplicationCommandOptionString
		if _, ok := v.(bool); ok {
			typ = discordgo.ApplicationCommandOptionBoolean
		}
		return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: typ, Value: v}
	}
	perms := func(m discordtest.Member, opts ...*discordgo.ApplicationCommandInteractionDataOption) string {
		t.Helper()
		answer, resp := e.ext(m, "permissions", append(nameOpt("greeter"), opts...))
		if !resp.Ephemeral {
			t.Fatalf("/ext permissions answered publicly: %q", answer)
		}
		return answer
	}

	// The name autocompletes as in the other subcommands.
	ac, err := e.srv.Autocomplete(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: e.admin.UserID, Name: "ext",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "permissions", Type: discordgo.ApplicationCommandOptionSubCommand,
			Options: []*discordgo.ApplicationCommandInteractionDataOption{opt("name", "gre")}}}}, "name")
	if err != nil {
		t.Fatal(err)
	}
	acCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if resp, err := ac.WaitResponse(acCtx); err != nil || len(resp.Choices) != 1 || resp.Choices[0].Value != "greeter" {
		t.Fatalf("autocomplete of name answered %+v, %v", resp.Choices, err)
	}

	const everywhere = "Commands of **greeter** run in every channel for everyone; it sends and reads only in the channel of its event (more with the `messages_global` scope); actions its commands start need the member's own Discord permission."
	if answer := perms(e.admin); !strings.HasPrefix(answer, everywhere+"\nChange them with `/ext permissions name:greeter`") {
		t.Fatalf("default permissions = %q", answer)
	}
	if answer := perms(e.member, opt("channels", "#bots")); !strings.HasPrefix(answer, "E_FORBIDDEN:") {
		t.Fatalf("member's /ext permissions = %q", answer)
	}

	g, b := "<#"+e.general.ID+">", "<#"+bots.ID+">"
	answer := perms(e.admin, opt("channels", "#general, <#"+bots.ID+">"), opt("roles", "@Mods"), opt("member_checks", false))
	limited := "Commands of **greeter** run in " + g + ", " + b + " for members with <@&" + mods.ID + ">; it may send and read in " + g + ", " + b +
		" as well as in the channel of its event; actions its commands start go ahead with skybot's own permissions, whatever the member's (member checks are off)."
	if answer != "Saved. "+limited {
		t.Fatalf("set permissions = %q\nwant %q", answer, "Saved. "+limited)
	}
	want := store.InstallPermissions{Channels: []string{e.general.ID, bots.ID}, Roles: []string{mods.ID}, NoMemberChecks: true}
	if p := stored(); !slices.Equal(p.Channels, want.Channels) || !slices.Equal(p.Roles, want.Roles) || p.NoMemberChecks != want.NoMemberChecks {
		t.Fatalf("stored %+v, want %+v", p, want)
	}
	if answer := perms(e.admin); !strings.HasPrefix(answer, limited+"\n") {
		t.Fatalf("permissions read back = %q", answer)
	}

	// Channels and roles of another server, or none at all, are refused
	// and change nothing.
	for _, bad := range []struct {
		opt  *discordgo.ApplicationCommandInteractionDataOption
		want string
	}{
		{opt("channels", "<#"+far.ID+">"), "E_INVALID_ID: There is no channel with id " + far.ID + " in this server."},
		{opt("channels", "#elsewhere"), "E_INVALID_ID: There is no channel named #elsewhere in this server."},
		{opt("channels", "#general bots nowhere"), "E_INVALID_ID: There is no channel named nowhere in this server."},
		{opt("roles", "<@&"+farRole.ID+">"), "E_INVALID_ID: There is no role with id " + farRole.ID + " in this server."},
		{opt("roles", "@Nobody"), "E_INVALID_ID: There is no role named @Nobody in this server"},
	} {
		if answer := perms(e.admin, bad.opt); !strings.HasPrefix(answer, bad.want) {
			t.Errorf("%s:%v answered %q, want %q", bad.opt.Name, bad.opt.Value, answer, bad.want)
		}
	}
	if p := stored(); !slices.Equal(p.Channels, want.Channels) || !slices.Equal(p.Roles, want.Roles) || !p.NoMemberChecks {
		t.Fatalf("refused changes changed %+v", p)
	}

	// Role names with spaces, separated by commas; member checks back on.
	answer = perms(e.admin, opt("roles", "Server Staff, <@&"+mods.ID+">"), opt("member_checks", true))
	if !strings.Contains(answer, "for members with any of <@&"+staff.ID+">, <@&"+mods.ID+">;") || !strings.HasSuffix(answer, "need the member's own Discord permission.") {
		t.Fatalf("roles with spaces = %q", answer)
	}
	// all clears a list; the rest stays.
	answer = perms(e.admin, opt("channels", "all"))
	if !strings.HasPrefix(answer, "Saved. Commands of **greeter** run in every channel for members with any of") {
		t.Fatalf("channels:all = %q", answer)
	}
	answer = perms(e.admin, opt("roles", "@everyone"))
	if answer != "Saved. "+everywhere {
		t.Fatalf("roles:@everyone = %q", answer)
	}
	if p := stored(); len(p.Channels) != 0 || len(p.Roles) != 0 || p.NoMemberChecks {
		t.Fatalf("stored after clearing: %+v", p)
	}
	if answer, _ := e.ext(e.admin, "permissions", nameOpt("nope")); !strings.HasPrefix(answer, "E_NOT_FOUND:") {
		t.Fatalf("/ext permissions of an unknown extension = %q", answer)
	}
}
