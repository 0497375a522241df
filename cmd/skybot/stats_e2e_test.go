package main

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/store"
)

// diceExt rolls on !dice and throws on !dice boom.
var diceExt = []byte(`// ==SkyExtension==
// @name         dice
// @version      1.0.0
// @description  Rolls dice.
// @scopes       messages_write
// ==/SkyExtension==
const sky = require('sky');
sky.prefix('dice', async (ctx) => {
  if (ctx.args[0] === 'boom') throw new Error('the dice fell off the table');
  await ctx.reply('you rolled a 4');
});
`)

// TestUsageStats: runs and failures in a guild show in the owner's
// /publish stats (numbers and a PNG chart) and in /gallery info; anyone
// else asking for the stats is refused and sees no numbers.
func TestUsageStats(t *testing.T) {
	t.Parallel()
	e := newReviewGuild(t)
	publishAs(t, e.guild, store.UserID(e.author.UserID), store.UserID(e.maintainer.UserID), diceExt)
	card, _ := e.extMsg(e.admin, "install", []*discordgo.ApplicationCommandInteractionDataOption{strOpt("extension", "dice")})
	if got, _ := e.click(e.admin, card, "Install"); !strings.HasPrefix(got, "Installed") {
		t.Fatalf("install = %q", got)
	}
	for _, text := range []string{"!dice", "!dice", "!dice boom"} {
		e.say(e.member, text)
	}

	stats := func(as string) *discordgo.Message {
		t.Helper()
		who := e.author
		if as != who.UserID {
			who = e.member
		}
		msg, _ := e.command(who, "publish", "stats", []*discordgo.ApplicationCommandInteractionDataOption{strOpt("name", "dice")},
			func(m *discordgo.Message) bool { return m.Content != "" })
		return msg
	}
	if m := stats(e.member.UserID); !strings.Contains(m.Content, "E_FORBIDDEN") || len(m.Embeds) != 0 {
		t.Errorf("a stranger's stats = %q with %d embeds, want E_FORBIDDEN and nothing else", m.Content, len(m.Embeds))
	}
	m := stats(e.author.UserID)
	text := embedText(m)
	if !strings.Contains(text, "**3** runs, **1** errors (33.3%), in 1 server · 1 install now") ||
		!strings.Contains(text, "1.0.0 (published)") || !strings.Contains(text, "1 installed now, 1 ever · 3 runs, 1 errors") {
		t.Errorf("the owner's stats:\n%s", text)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "stats.png" {
		t.Fatalf("stats attachments = %+v; want stats.png", m.Attachments)
	}
	if m.Embeds[0].Image == nil || m.Embeds[0].Image.URL != "attachment://stats.png" {
		t.Errorf("the embed does not show the chart: %+v", m.Embeds[0].Image)
	}
	data, ok := e.srv.Attachment(m.Attachments[0].ID)
	if !ok {
		t.Fatal("the chart's bytes are not stored")
	}
	if img, err := png.Decode(bytes.NewReader(data)); err != nil || img.Bounds().Dx() < 400 {
		t.Errorf("the chart is not a PNG of a useful size: %v", err)
	}

	if info := embedText(e.galleryCmd(e.member, "info", strOpt("name", "dice"))); !strings.Contains(info, "3 runs, 1 errors, active in 1 server") {
		t.Errorf("/gallery info usage:\n%s", info)
	}
}
