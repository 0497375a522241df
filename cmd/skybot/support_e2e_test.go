package main

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/bot/discordtest"
)

// TestSupportThreads: an extension's first publication opens its thread in
// the support forum, each later version is announced there, /gallery info
// links it, and a thread someone deleted is opened again.
func TestSupportThreads(t *testing.T) {
	t.Parallel()
	const author, maintainer = "730000000000000001", "730000000000000002"
	var forum discordtest.Channel
	e := assembleGuildWith(t, func(e *guild, c *config.Config) {
		forum = e.srv.AddChannel(e.g.ID, "extension-support", discordgo.ChannelTypeGuildForum)
		c.Gallery.Maintainers = []string{maintainer}
		c.Gallery.SupportForumID = forum.ID
	}, hooks{})
	e.start()
	threads := func() []*discordgo.Channel {
		var out []*discordgo.Channel
		for _, c := range e.srv.Channels(e.g.ID) {
			if c.ParentID == forum.ID && c.IsThread() {
				out = append(out, c)
			}
		}
		return out
	}
	texts := func(channel string) []string {
		var out []string
		for _, m := range e.srv.Messages(channel) {
			out = append(out, m.Content)
		}
		return out
	}

	publishAs(t, e, author, maintainer, galleryExt("dice", "1.0.0", "Rolls dice for games."))
	ths := threads()
	if len(ths) != 1 || ths[0].Name != "dice" {
		t.Fatalf("support threads after the first publication = %+v; want one named dice", ths)
	}
	first := ths[0].ID
	if got := texts(first); len(got) != 1 || !strings.Contains(got[0], "Rolls dice for games.") ||
		!strings.Contains(got[0], "<@"+author+">") || !strings.Contains(got[0], "/ext install extension:dice") {
		t.Fatalf("the thread's first post = %q", got)
	}
	if info := embedText(e.galleryCmd(e.member, "info", strOpt("name", "dice"))); !strings.Contains(info, "support: <#"+first+">") {
		t.Errorf("/gallery info does not link the support thread:\n%s", info)
	}

	publishAs(t, e, author, maintainer, galleryExt("dice", "1.1.0", "Rolls more dice."))
	if ths := threads(); len(ths) != 1 {
		t.Fatalf("a second version opened another thread: %+v", ths)
	}
	if got := texts(first); len(got) != 2 || !strings.Contains(got[1], "**dice 1.1.0** is published") {
		t.Fatalf("the thread after 1.1.0 = %q; want the new version announced", got)
	}

	// A moderator deletes the thread; the next version opens a new one.
	if _, err := e.session.ChannelDelete(first); err != nil {
		t.Fatal(err)
	}
	publishAs(t, e, author, maintainer, galleryExt("dice", "1.2.0", "Rolls even more dice."))
	ths = threads()
	if len(ths) != 1 || ths[0].ID == first {
		t.Fatalf("support threads after the first was deleted = %+v; want a new one", ths)
	}
	if got := texts(ths[0].ID); len(got) != 1 || !strings.Contains(got[0], "Rolls even more dice.") {
		t.Fatalf("the new thread's first post = %q", got)
	}
	if info := embedText(e.galleryCmd(e.member, "info", strOpt("name", "dice"))); !strings.Contains(info, "support: <#"+ths[0].ID+">") {
		t.Errorf("/gallery info does not link the new support thread:\n%s", info)
	}
}
