package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/extensions"
)

func greeterVersion(version, greeting string) []byte {
	return fmt.Appendf(nil, `// ==SkyExtension==
// @name         greeter
// @version      %s
// @description  Greets on !greet.
// @scopes       messages_write
// ==/SkyExtension==
const sky = require('sky');
sky.prefix('greet', async (ctx) => { await ctx.reply('%s from %s'); });
`, version, greeting, version)
}

// TestExtInstallFromTheGallery installs published versions by name, as an
// admin types them: the newest, or name@version for an older one. What
// the gallery has not published, and a confused request, are refused.
func TestExtInstallFromTheGallery(t *testing.T) {
	t.Parallel()
	const author, maintainer = "700000000000000001", "700000000000000002"
	e := newGuild(t, func(c *config.Config) { c.Gallery.Maintainers = []string{maintainer} })
	ctx := context.Background()
	publish := func(data []byte, approve bool) {
		t.Helper()
		sub, err := e.app.gallery.Submit(ctx, author, nil, extensions.Upload{Filename: "greeter.skyext", Size: int64(len(data))},
			func(context.Context, int64) ([]byte, error) { return data, nil })
		if err != nil {
			t.Fatalf("submit: %v", err)
		}
		if !approve {
			return
		}
		if _, err := e.app.gallery.Claim(ctx, maintainer, nil, sub.Version.ID); err != nil {
			t.Fatalf("claim: %v", err)
		}
		if _, err := e.app.gallery.Approve(ctx, maintainer, nil, sub.Version.ID); err != nil {
			t.Fatalf("approve: %v", err)
		}
	}
	publish(greeterVersion("1.0.0", "Hello"), true)
	publish(greeterVersion("1.1.0", "Howdy"), true)
	publish(greeterVersion("1.2.0", "Hiya"), false) // in the queue: not installable

	named := func(spec string) []*discordgo.ApplicationCommandInteractionDataOption {
		return []*discordgo.ApplicationCommandInteractionDataOption{{Name: "extension", Type: discordgo.ApplicationCommandOptionString, Value: spec}}
	}
	for _, tt := range []struct{ spec, want string }{
		{"greeter@1.2.0", "E_NOT_FOUND"},
		{"nobody", "E_NOT_FOUND"},
		{"greeter@newest", "E_INVALID_ID"},
	} {
		if got, _ := e.ext(e.admin, "install", named(tt.spec)); !strings.Contains(got, tt.want) {
			t.Errorf("/ext install extension:%s = %q, want %s", tt.spec, got, tt.want)
		}
	}
	if got, _ := e.ext(e.admin, "install", nil); !strings.Contains(got, "E_INVALID_PACKAGE") || !strings.Contains(got, "name@version") {
		t.Errorf("/ext install with nothing = %q", got)
	}
	if got, _ := e.ext(e.member, "install", named("greeter")); !strings.Contains(got, "E_FORBIDDEN") {
		t.Errorf("a member's /ext install = %q, want E_FORBIDDEN", got)
	}

	// Typing the name offers what the gallery published, newest version shown.
	it, err := e.srv.Autocomplete(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: e.admin.UserID, Name: "ext",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "install", Type: discordgo.ApplicationCommandOptionSubCommand,
			Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "extension", Type: discordgo.ApplicationCommandOptionString, Value: "gree", Focused: true}}}}}, "extension")
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := it.WaitResponse(wait)
	if err != nil || len(resp.Choices) != 1 || resp.Choices[0].Value != "greeter" || resp.Choices[0].Name != "greeter 1.1.0 — Greets on !greet." {
		t.Fatalf("autocomplete = %+v, %v", resp.Choices, err)
	}

	card, _ := e.extMsg(e.admin, "install", named("greeter@1.0.0"))
	if !strings.Contains(card.Content, "Nothing runs until you accept") {
		t.Fatalf("consent card: %q", card.Content)
	}
	if got, _ := e.click(e.admin, card, "Install"); !strings.HasPrefix(got, "Installed **greeter** 1.0.0") {
		t.Fatalf("after consent: %q", got)
	}
	if replies := e.say(e.member, "!greet"); len(replies) != 1 || replies[0].Content != "Hello from 1.0.0" {
		t.Fatalf("!greet after installing 1.0.0: %v", replies)
	}
	if got, _ := e.ext(e.admin, "install", named("greeter")); !strings.Contains(got, "E_ALREADY_EXISTS") {
		t.Errorf("a second install = %q, want E_ALREADY_EXISTS", got)
	}
}
