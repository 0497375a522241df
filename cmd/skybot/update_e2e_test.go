package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/store"
)

// galleryFixture publishes versions in the gallery of an emulated guild,
// as an author and a maintainer would.
type galleryFixture struct {
	t *testing.T
	e *guild
}

const (
	fixtureAuthor     = "700000000000000011"
	fixtureMaintainer = "700000000000000012"
)

// newGalleryGuild is newGuild with a maintainer configured, and room for
// more install attempts than a minute normally allows (the tests make
// many on purpose; the limit has its own test).
func newGalleryGuild(t *testing.T, tweak func(*config.Config)) galleryFixture {
	t.Helper()
	e := assembleGuild(t, func(c *config.Config) {
		c.Gallery.Maintainers = []string{fixtureMaintainer}
		if tweak != nil {
			tweak(c)
		}
	}, hooks{installAttempts: 100})
	e.start()
	return galleryFixture{t: t, e: e}
}

// publish submits, claims and approves src; it returns once the watchers
// of the publication (auto-updates) are done.
func (f galleryFixture) publish(src []byte) {
	f.t.Helper()
	publishAs(f.t, f.e, fixtureAuthor, fixtureMaintainer, src)
}

// publishAs has author submit src and maintainer claim and approve it,
// through the Gallery service; it returns once the watchers of the
// publication (auto-updates, cards, support threads) are done.
func publishAs(t *testing.T, e *guild, author, maintainer store.UserID, src []byte) extensions.Submission {
	t.Helper()
	ctx := context.Background()
	g := e.app.gallery
	sub, err := g.Submit(ctx, author, nil, extensions.Upload{Filename: "x.skyext", Size: int64(len(src))},
		func(context.Context, int64) ([]byte, error) { return src, nil })
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	if _, err := g.Claim(ctx, maintainer, nil, sub.Version.ID); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if _, err := g.Approve(ctx, maintainer, nil, sub.Version.ID); err != nil {
		t.Fatalf("approve: %v", err)
	}
	e.app.background.Wait()
	return sub
}

// installPublished installs name@version from the gallery as the admin.
func (f galleryFixture) installPublished(spec string) {
	f.t.Helper()
	card, _ := f.e.extMsg(f.e.admin, "install", []*discordgo.ApplicationCommandInteractionDataOption{
		{Name: "extension", Type: discordgo.ApplicationCommandOptionString, Value: spec}})
	if got, _ := f.e.click(f.e.admin, card, "Install"); !strings.HasPrefix(got, "Installed") {
		f.t.Fatalf("install %s: %q", spec, got)
	}
}

// greeterWith is greeter at version, asking for scopes.
func greeterWith(version, scopes string) []byte {
	return fmt.Appendf(nil, `// ==SkyExtension==
// @name         greeter
// @version      %s
// @description  Greets on !greet.
// @scopes       %s
// ==/SkyExtension==
const sky = require('sky');
sky.prefix('greet', async (ctx) => { await ctx.reply('greeter %s'); });
`, version, scopes, version)
}

func counterVersion(version string) []byte {
	return fmt.Appendf(nil, `// ==SkyExtension==
// @name         counter
// @version      %s
// @description  Counts on !count.
// @scopes       messages_write, storage
// ==/SkyExtension==
const sky = require('sky');
const storage = require('storage');
sky.prefix('count', async (ctx) => {
  const n = await storage.increment('n');
  await ctx.reply('counter %s: ' + n);
});
`, version, version)
}

// updateAll runs /ext update name:all as the admin and returns its final
// answer (the edits before it show progress).
func (e *guild) updateAll() string {
	e.t.Helper()
	it, err := e.srv.RunSlash(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: e.admin.UserID, Name: "ext",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "update", Type: discordgo.ApplicationCommandOptionSubCommand, Options: updateOpts("all", "")}}})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg, err := it.WaitMessage(ctx, func(m *discordgo.Message) bool { return strings.Contains(m.Content, "Done:") })
	if err != nil {
		e.t.Fatalf("/ext update all never finished: %v", err)
	}
	return msg.Content
}

func updateOpts(name, version string) []*discordgo.ApplicationCommandInteractionDataOption {
	opts := nameOpt(name)
	if version != "" {
		opts = append(opts, &discordgo.ApplicationCommandInteractionDataOption{Name: "version", Type: discordgo.ApplicationCommandOptionString, Value: version})
	}
	return opts
}

// TestExtUpdateFromTheGallery updates gallery installs to newer published
// versions: one by name (a chosen version, or the newest, with consent
// when it asks for more), and all at once, which continues past what it
// cannot do and reports each extension.
func TestExtUpdateFromTheGallery(t *testing.T) {
	t.Parallel()
	f := newGalleryGuild(t, nil)
	e := f.e
	f.publish(greeterWith("1.0.0", "messages_write"))
	f.publish(greeterWith("1.1.0", "messages_write"))
	f.publish(counterVersion("1.0.0"))
	f.installPublished("greeter@1.0.0")
	f.installPublished("counter")
	e.install(helloVersion("1.0.0", "messages_write", "Hi")) // the guild's own upload

	if got, _ := e.ext(e.admin, "update", updateOpts("greeter", "1.1.0")); got != "Updated **greeter** 1.0.0 → 1.1.0." {
		t.Fatalf("update to 1.1.0 = %q", got)
	}
	if r := e.say(e.member, "!greet"); len(r) != 1 || r[0].Content != "greeter 1.1.0" {
		t.Fatalf("!greet after the update: %v", contents(r))
	}
	for _, tt := range []struct {
		opts []*discordgo.ApplicationCommandInteractionDataOption
		want string
	}{
		{updateOpts("greeter", ""), "E_INVALID_STATE: greeter 1.1.0 is the newest published version"},
		{updateOpts("greeter", "1.0.0"), "E_INVALID_STATE: greeter 1.0.0 is not newer than the installed 1.1.0"},
		{updateOpts("greeter", "1.5.0"), "E_NOT_FOUND"},
		{updateOpts("greeter", "soon"), "E_INVALID_ID"},
		{updateOpts("hello", ""), "E_INVALID_STATE: hello was uploaded to this server"},
		{updateOpts("all", "1.0.0"), "E_INVALID_ID"},
	} {
		if got, _ := e.ext(e.admin, "update", tt.opts); !strings.HasPrefix(got, tt.want) {
			t.Errorf("/ext update %v = %q, want %q…", tt.opts, got, tt.want)
		}
	}
	if got, _ := e.ext(e.member, "update", updateOpts("all", "")); !strings.HasPrefix(got, "E_FORBIDDEN") {
		t.Errorf("a member's /ext update all = %q", got)
	}

	f.publish(greeterWith("1.2.0", "messages_write, reactions")) // asks for more
	f.publish(counterVersion("1.0.1"))
	if r := e.say(e.member, "!count"); len(r) != 1 || r[0].Content != "counter 1.0.0: 1" {
		t.Fatalf("!count before the update: %v", contents(r))
	}

	// The version option offers only what is newer than the installed one.
	it, err := e.srv.Autocomplete(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: e.admin.UserID, Name: "ext",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "update", Type: discordgo.ApplicationCommandOptionSubCommand,
			Options: []*discordgo.ApplicationCommandInteractionDataOption{
				{Name: "name", Type: discordgo.ApplicationCommandOptionString, Value: "greeter"},
				{Name: "version", Type: discordgo.ApplicationCommandOptionString, Value: "", Focused: true}}}}}, "version")
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if resp, err := it.WaitResponse(wait); err != nil || len(resp.Choices) != 1 || resp.Choices[0].Value != "1.2.0" {
		t.Fatalf("version choices = %+v, %v", resp.Choices, err)
	}

	got := e.updateAll()
	for _, want := range []string{
		"⏸️ **greeter** 1.1.0 → 1.2.0 waits for you to accept reactions: `/ext update name:greeter`",
		"✅ **counter** 1.0.0 → 1.0.1",
		"Done: 1 updated, 1 waiting for you to accept new scopes, 0 already up to date, 0 failed.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("/ext update all lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "hello") {
		t.Errorf("/ext update all reported the guild's own upload:\n%s", got)
	}
	if r := e.say(e.member, "!count"); len(r) != 1 || r[0].Content != "counter 1.0.1: 2" {
		t.Fatalf("!count after update all: %v", contents(r))
	}
	if r := e.say(e.member, "!greet"); len(r) != 1 || r[0].Content != "greeter 1.1.0" {
		t.Fatalf("greeter moved without consent: %v", contents(r))
	}

	// The one that waited asks for consent by name.
	card, _ := e.extMsg(e.admin, "update", updateOpts("greeter", ""))
	if !strings.Contains(card.Content, "reactions") {
		t.Fatalf("consent card for the new scope: %q", card.Content)
	}
	if got, _ := e.click(e.admin, card, "Update"); got != "Updated **greeter** 1.1.0 → 1.2.0." {
		t.Fatalf("after consent: %q", got)
	}
	got = e.updateAll()
	if !strings.Contains(got, "Done: 0 updated, 0 waiting for you to accept new scopes, 2 already up to date, 0 failed.") {
		t.Fatalf("second update all:\n%s", got)
	}
	// Rollback goes back to the version before, as for any update.
	if got, _ := e.ext(e.admin, "rollback", nameOpt("greeter")); !strings.HasPrefix(got, "Rolled **greeter** back 1.2.0 → 1.1.0") {
		t.Fatalf("rollback = %q", got)
	}
}

// TestAutoUpdateFollowsTheTrack publishes versions and watches guilds on
// the patch track take what it allows by themselves, tell the log channel,
// and leave what it does not allow (or what asks for new scopes) to the
// admin.
func TestAutoUpdateFollowsTheTrack(t *testing.T) {
	t.Parallel()
	f := newGalleryGuild(t, func(c *config.Config) { c.Extensions.AutoUpdate = extensions.TrackPatch })
	e := f.e
	logs := e.srv.AddChannel(e.g.ID, "skybot-log", discordgo.ChannelTypeGuildText)
	e.ext(e.admin, "logchannel", []*discordgo.ApplicationCommandInteractionDataOption{
		{Name: "channel", Type: discordgo.ApplicationCommandOptionChannel, Value: logs.ID}})
	waitLog := func(want string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := e.srv.WaitFor(ctx, func() bool {
			for _, m := range e.srv.Messages(logs.ID) {
				if strings.Contains(m.Content, want) {
					return true
				}
			}
			return false
		})
		if err != nil {
			t.Fatalf("the log channel never said %q; it has %v", want, contents(e.srv.Messages(logs.ID)))
		}
	}
	version := func() string {
		t.Helper()
		in, err := e.app.store.InstallByName(context.Background(), store.GuildID(e.g.ID), "greeter")
		if err != nil {
			t.Fatal(err)
		}
		return in.Version
	}

	f.publish(greeterWith("1.0.0", "messages_write"))
	f.installPublished("greeter")
	f.publish(greeterWith("1.0.1", "messages_write"))
	waitLog("🧩 Updated **greeter** 1.0.0 → 1.0.1 automatically (this server's auto-update track).")
	if r := e.say(e.member, "!greet"); len(r) != 1 || r[0].Content != "greeter 1.0.1" {
		t.Fatalf("!greet after the auto-update: %v", contents(r))
	}

	f.publish(greeterWith("1.1.0", "messages_write")) // a minor: off the patch track
	if v := version(); v != "1.0.1" {
		t.Fatalf("the patch track took %s", v)
	}

	// The server's Administrator moves it to the minor track; the next
	// minor asks for a new scope, so it waits and the admin is told.
	owner := discordtest.Member{GuildID: e.g.ID, UserID: e.g.OwnerID, Username: "owner"}
	got, _ := e.ext(owner, "policy", []*discordgo.ApplicationCommandInteractionDataOption{
		{Name: "auto_update", Type: discordgo.ApplicationCommandOptionString, Value: extensions.TrackMinor}})
	if !strings.Contains(got, "Auto-update: minor and patch versions (x.Y.Z) install themselves unless they ask for new scopes (this server's choice)") {
		t.Fatalf("policy = %q", got)
	}
	f.publish(greeterWith("1.2.0", "messages_write, reactions"))
	waitLog("🧩 **greeter** 1.2.0 is published and asks for new scopes (reactions), so it was not installed automatically")
	if v := version(); v != "1.0.1" {
		t.Fatalf("an update asking for new scopes installed itself: %s", v)
	}
	f.publish(greeterWith("2.0.0", "messages_write")) // a major: never automatic
	if v := version(); v != "1.0.1" {
		t.Fatalf("the minor track took %s", v)
	}

	// Back to skybot's default (patch), shown as such.
	got, _ = e.ext(owner, "policy", []*discordgo.ApplicationCommandInteractionDataOption{
		{Name: "auto_update", Type: discordgo.ApplicationCommandOptionString, Value: "default"}})
	if !strings.Contains(got, "Auto-update: patch versions (x.y.Z) install themselves unless they ask for new scopes (skybot's default)") {
		t.Fatalf("policy = %q", got)
	}
}

// /ext install brings what an extension requires from the gallery, on one
// consent card, for a gallery install and for an attached file alike.
func TestInstallBringsRequirementsFromTheGallery(t *testing.T) {
	t.Parallel()
	f := newGalleryGuild(t, nil)
	e := f.e
	prefixExt := func(name, scopes, requires string) []byte {
		if requires != "" {
			requires = "// @requires     " + requires + "\n"
		}
		return fmt.Appendf(nil, `// ==SkyExtension==
// @name         %s
// @version      1.0.0
// @description  Answers !%s.
// @scopes       %s
%s// ==/SkyExtension==
require('sky').prefix('%s', async (ctx) => { await ctx.reply('%s here'); });
`, name, name, scopes, requires, name, name)
	}
	f.publish(prefixExt("greetlib", "messages_write, storage", ""))
	f.publish(prefixExt("welcome", "messages_write", "greetlib ^1.0"))

	card, _ := e.extMsg(e.admin, "install", []*discordgo.ApplicationCommandInteractionDataOption{
		{Name: "extension", Type: discordgo.ApplicationCommandOptionString, Value: "welcome"}})
	for _, want := range []string{"Install **welcome** 1.0.0", "It brings **greetlib** 1.0.0 from the gallery (required by welcome 1.0.0), which asks to:", "• `storage` —"} {
		if !strings.Contains(card.Content, want) {
			t.Fatalf("consent card lacks %q:\n%s", want, card.Content)
		}
	}
	if id, label := findButton(card, "Install"); id == "" || label != "Install all 2 and grant these scopes" {
		t.Fatalf("consent button = %q", label)
	}
	if r := e.say(e.member, "!greetlib"); len(r) != 0 {
		t.Fatal("a dependency ran before the consent")
	}
	answer, _ := e.click(e.admin, card, "Install all")
	if !strings.Contains(answer, "Installed **welcome** 1.0.0") || !strings.Contains(answer, "With it: **greetlib** 1.0.0, granted `messages_write`, `storage`.") {
		t.Fatalf("after consent: %q", answer)
	}
	for _, cmd := range []string{"greetlib", "welcome"} {
		if r := e.say(e.member, "!"+cmd); len(r) != 1 || r[0].Content != cmd+" here" {
			t.Fatalf("!%s answered %v", cmd, contents(r))
		}
	}
	if answer, _ := e.ext(e.admin, "uninstall", keepData("greetlib")); !strings.HasPrefix(answer, "E_INVALID_STATE:") || !strings.Contains(answer, "welcome requires it") {
		t.Fatalf("uninstall of a requirement: %q", answer)
	}
	for _, name := range []string{"welcome", "greetlib"} {
		if answer, _ := e.ext(e.admin, "uninstall", keepData(name)); !strings.HasPrefix(answer, "Uninstalled") {
			t.Fatalf("uninstall %s: %q", name, answer)
		}
	}

	// An attached file's requirements come from the gallery too.
	card, _ = e.extMsg(e.admin, "install", file("party.skyext", prefixExt("party", "messages_write", "greetlib ^1.0")))
	if !strings.Contains(card.Content, "It brings **greetlib** 1.0.0 from the gallery (required by party 1.0.0)") {
		t.Fatalf("upload's consent card:\n%s", card.Content)
	}
	if answer, _ := e.click(e.admin, card, "Install all"); !strings.Contains(answer, "With it: **greetlib** 1.0.0") {
		t.Fatalf("upload with a requirement: %q", answer)
	}
	if r := e.say(e.member, "!greetlib"); len(r) != 1 {
		t.Fatalf("!greetlib after the upload: %v", contents(r))
	}

	// Something not in the gallery is refused by name.
	answer, _ = e.ext(e.admin, "install", file("lonely.skyext", prefixExt("lonely", "messages_write", "nowhere ^1.0")))
	if answer != "E_DEPENDENCY: lonely 1.0.0 needs nowhere ^1.0, which is not installed here and not published in the gallery." {
		t.Fatalf("a missing requirement: %q", answer)
	}

	// Two published extensions that require each other are refused, naming
	// the cycle, and nothing of either is installed. The gallery only takes
	// requirements it has, so the cycle closes with a second version.
	f.publish(prefixExt("ping", "messages_write", ""))
	f.publish(prefixExt("pong", "messages_write", "ping ^1.0"))
	f.publish(bytes.Replace(prefixExt("ping", "messages_write", "pong ^1.0"), []byte("1.0.0"), []byte("1.1.0"), 1))
	answer, _ = e.ext(e.admin, "install", []*discordgo.ApplicationCommandInteractionDataOption{
		{Name: "extension", Type: discordgo.ApplicationCommandOptionString, Value: "ping"}})
	if !strings.HasPrefix(answer, "E_DEPENDENCY:") || !strings.Contains(answer, "ping → pong → ping") {
		t.Fatalf("a cycle: %q", answer)
	}
	if r := e.say(e.member, "!pong"); len(r) != 0 {
		t.Fatalf("!pong answered after a refused cycle: %v", contents(r))
	}
}
