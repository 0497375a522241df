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
	"github.com/skyext/skybot/store"
)

// galleryExt is a small .skyext called name at version, with header lines
// (e.g. "@tags Games") added.
func galleryExt(name, version, description string, header ...string) []byte {
	var extra string
	for _, h := range header {
		extra += "// " + h + "\n"
	}
	return fmt.Appendf(nil, `// ==SkyExtension==
// @name         %s
// @version      %s
// @description  %s
// @scopes       messages_write
%s// ==/SkyExtension==
const sky = require('sky');
sky.prefix('%s', async (ctx) => { await ctx.reply('%s %s'); });
`, name, version, description, extra, name, name, version)
}

// newGalleryAdminGuild is newGuild with the guild's admin (ada) also one of
// skybot's gallery administrators and maintainer as a maintainer.
func newGalleryAdminGuild(t *testing.T, maintainer string) *guild {
	t.Helper()
	e := assembleGuildWith(t, func(e *guild, c *config.Config) {
		c.Gallery.Maintainers = []string{maintainer}
		c.Gallery.Admins = []string{e.admin.UserID}
	}, hooks{})
	e.start()
	return e
}

// galleryCmd runs /gallery sub as m and returns skybot's answer.
func (e *guild) galleryCmd(m discordtest.Member, sub string, opts ...*discordgo.ApplicationCommandInteractionDataOption) *discordgo.Message {
	e.t.Helper()
	msg, resp := e.command(m, "gallery", sub, opts, func(msg *discordgo.Message) bool { return msg.Content != "" || len(msg.Embeds) > 0 })
	if !resp.Ephemeral {
		e.t.Errorf("/gallery %s answered in public: %q", sub, msg.Content)
	}
	return msg
}

// galleryChoices asks /gallery sub's autocomplete for option focused,
// typed so far as typed.
func (e *guild) galleryChoices(sub, focused, typed string) []*discordgo.ApplicationCommandOptionChoice {
	e.t.Helper()
	it, err := e.srv.Autocomplete(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: e.member.UserID, Name: "gallery",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: sub, Type: discordgo.ApplicationCommandOptionSubCommand,
			Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: focused, Type: discordgo.ApplicationCommandOptionString, Value: typed, Focused: true}}}}}, focused)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := it.WaitResponse(ctx)
	if err != nil {
		e.t.Fatalf("autocomplete /gallery %s %s: %v", sub, focused, err)
	}
	return resp.Choices
}

func strOpt(name, value string) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionString, Value: value}
}

func boolOpt(name string, value bool) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionBoolean, Value: value}
}

func intOpt(name string, value int) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionInteger, Value: float64(value)}
}

func userOpt(id string) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: "user", Type: discordgo.ApplicationCommandOptionUser, Value: id}
}

// embedText flattens a message's embeds into one string to search.
func embedText(m *discordgo.Message) string {
	var b strings.Builder
	for _, e := range m.Embeds {
		b.WriteString(e.Title + "\n" + e.Description + "\n")
		for _, f := range e.Fields {
			b.WriteString(f.Name + "\n" + f.Value + "\n")
		}
		if e.Footer != nil {
			b.WriteString(e.Footer.Text + "\n")
		}
	}
	return b.String()
}

// listed is the extension names of a list answer, in order.
func listed(m *discordgo.Message) []string {
	var names []string
	for _, e := range m.Embeds {
		for _, f := range e.Fields {
			name, _, _ := strings.Cut(f.Name, "@")
			names = append(names, name)
		}
	}
	return names
}

// TestGalleryCommands drives /gallery as members and a gallery
// administrator see it: search by text, tag and category with
// autocomplete, info, ratings that replace each other, featuring,
// unlisting, refusals for anyone else, and a ban that stops submissions.
func TestGalleryCommands(t *testing.T) {
	t.Parallel()
	const ann, bob, maintainer = "710000000000000001", "710000000000000002", "710000000000000003"
	e := newGalleryAdminGuild(t, maintainer)
	ctx := context.Background()
	submit := func(author string, data []byte) (extensions.Submission, error) {
		return e.app.gallery.Submit(ctx, store.UserID(author), nil, extensions.Upload{Filename: "ext.skyext", Size: int64(len(data))},
			func(context.Context, int64) ([]byte, error) { return data, nil })
	}
	publish := func(author string, data []byte) { t.Helper(); publishAs(t, e, store.UserID(author), maintainer, data) }
	publish(ann, galleryExt("welcome-kit", "1.0.0", "Welcomes new members.", "@tags Social, Greetings"))
	publish(ann, galleryExt("welcome-kit", "1.1.0", "Welcomes new members warmly.", "@tags Social, Greetings"))
	publish(bob, galleryExt("dice", "1.0.0", "Rolls dice for games.", "@tags Games, Greetings"))

	// Search by text, tag and category.
	if got := listed(e.galleryCmd(e.member, "search", strOpt("query", "welcome"))); len(got) != 1 || got[0] != "welcome-kit" {
		t.Errorf("search welcome = %v", got)
	}
	m := e.galleryCmd(e.member, "search", strOpt("query", "dice"))
	if text := embedText(m); !strings.Contains(text, "dice@1.0.0") || !strings.Contains(text, "Rolls dice for games.") ||
		!strings.Contains(text, "not rated yet") || !strings.Contains(text, "0 installs") ||
		!strings.Contains(text, "/gallery info") || !strings.Contains(text, "/ext install extension:") {
		t.Errorf("search dice shows %q", text)
	}
	if got := listed(e.galleryCmd(e.member, "search", strOpt("tag", "Greetings"))); len(got) != 2 {
		t.Errorf("search tag greetings = %v, want both", got)
	}
	if got := listed(e.galleryCmd(e.member, "search", strOpt("category", "games"))); len(got) != 1 || got[0] != "dice" {
		t.Errorf("search category games = %v", got)
	}
	if m := e.galleryCmd(e.member, "search", strOpt("query", "zebra")); len(m.Embeds) != 0 || !strings.Contains(m.Content, "No published extension matches") {
		t.Errorf("search with no result = %q, %d embeds", m.Content, len(m.Embeds))
	}

	// Autocomplete: names with version and description, and tags.
	if cs := e.galleryChoices("search", "query", "wel"); len(cs) != 1 || cs[0].Value != "welcome-kit" || cs[0].Name != "welcome-kit 1.1.0 — Welcomes new members warmly." {
		t.Errorf("query autocomplete = %+v", cs)
	}
	if cs := e.galleryChoices("info", "name", "di"); len(cs) != 1 || cs[0].Value != "dice" {
		t.Errorf("name autocomplete = %+v", cs)
	}
	if cs := e.galleryChoices("search", "tag", "gr"); len(cs) != 1 || cs[0].Value != "greetings" || cs[0].Name != "greetings (2)" {
		t.Errorf("tag autocomplete = %+v", cs)
	}

	// Ratings: one per user, replaced when rated again.
	if m := e.galleryCmd(e.member, "rate", strOpt("name", "welcome-kit"), intOpt("stars", 5), strOpt("review", "Lovely")); !strings.Contains(m.Content, "★ 5.0 (1 rating)") {
		t.Errorf("first rating = %q", m.Content)
	}
	if m := e.galleryCmd(e.member, "rate", strOpt("name", "welcome-kit"), intOpt("stars", 3), strOpt("review", "Fine, a bit loud")); !strings.Contains(m.Content, "★ 3.0 (1 rating)") {
		t.Errorf("rating again = %q, want it replaced", m.Content)
	}
	if m := e.galleryCmd(e.admin, "rate", strOpt("name", "welcome-kit"), intOpt("stars", 4)); !strings.Contains(m.Content, "★ 3.5 (2 ratings)") {
		t.Errorf("a second user's rating = %q", m.Content)
	}

	// Info: versions, scopes, rating, labels and the newest ratings.
	info := embedText(e.galleryCmd(e.member, "info", strOpt("name", "welcome-kit")))
	for _, want := range []string{"<@" + ann + ">", "latest 1.1.0", "1.0.0 — 0 active", "1.1.0 — 0 active", "`messages_write`",
		"★ 3.5 (2 ratings)", "category `social`", "`greetings`", "Fine, a bit loud"} {
		if !strings.Contains(info, want) {
			t.Errorf("info lacks %q:\n%s", want, info)
		}
	}
	if strings.Contains(info, "Lovely") {
		t.Errorf("info still shows the replaced rating:\n%s", info)
	}

	// Featured: nothing, then what an administrator features.
	if m := e.galleryCmd(e.member, "featured"); !strings.Contains(m.Content, "No extension is featured") {
		t.Errorf("featured before = %q", m.Content)
	}
	if m := e.galleryCmd(e.member, "feature", strOpt("name", "dice"), boolOpt("on", true)); !strings.Contains(m.Content, "E_FORBIDDEN") {
		t.Errorf("a member's feature = %q, want E_FORBIDDEN", m.Content)
	}
	if m := e.galleryCmd(e.member, "featured"); !strings.Contains(m.Content, "No extension is featured") {
		t.Errorf("featured after a refused feature = %q", m.Content)
	}
	if m := e.galleryCmd(e.admin, "feature", strOpt("name", "dice"), boolOpt("on", true)); !strings.Contains(m.Content, "**dice** is featured now") {
		t.Errorf("admin feature = %q", m.Content)
	}
	if got := listed(e.galleryCmd(e.member, "featured")); len(got) != 1 || got[0] != "dice" {
		t.Errorf("featured = %v, want dice", got)
	}

	// Unlisting: out of search, still there by name; refused for members.
	if m := e.galleryCmd(e.member, "unlist", strOpt("name", "welcome-kit"), boolOpt("on", true)); !strings.Contains(m.Content, "E_FORBIDDEN") {
		t.Errorf("a member's unlist = %q, want E_FORBIDDEN", m.Content)
	}
	if got := listed(e.galleryCmd(e.member, "search", strOpt("query", "welcome"))); len(got) != 1 {
		t.Errorf("search after a refused unlist = %v", got)
	}
	if m := e.galleryCmd(e.admin, "unlist", strOpt("name", "welcome-kit"), boolOpt("on", true)); !strings.Contains(m.Content, "is unlisted") {
		t.Errorf("admin unlist = %q", m.Content)
	}
	if m := e.galleryCmd(e.member, "search", strOpt("query", "welcome")); !strings.Contains(m.Content, "No published extension matches") {
		t.Errorf("search after unlisting = %q %v", m.Content, listed(m))
	}
	if cs := e.galleryChoices("info", "name", "wel"); len(cs) != 0 {
		t.Errorf("autocomplete offers an unlisted extension: %+v", cs)
	}
	if info := embedText(e.galleryCmd(e.member, "info", strOpt("name", "welcome-kit"))); !strings.Contains(info, "unlisted") || !strings.Contains(info, "latest 1.1.0") {
		t.Errorf("info of an unlisted extension:\n%s", info)
	}

	// Bans: refused for members; an administrator's ban stops submissions
	// and takes the author's extensions out of search; unban lifts it.
	if m := e.galleryCmd(e.member, "ban", userOpt(bob), strOpt("reason", "spam")); !strings.Contains(m.Content, "E_FORBIDDEN") {
		t.Errorf("a member's ban = %q, want E_FORBIDDEN", m.Content)
	}
	if _, err := submit(bob, galleryExt("dice", "1.1.0", "Rolls more dice.")); err != nil {
		t.Fatalf("a submission after a refused ban: %v", err)
	}
	if m := e.galleryCmd(e.admin, "ban", userOpt(bob), strOpt("reason", "Copied code")); !strings.Contains(m.Content, "<@"+bob+"> is banned") {
		t.Errorf("admin ban = %q", m.Content)
	}
	if _, err := submit(bob, galleryExt("coin", "1.0.0", "Flips coins.")); err == nil || !strings.Contains(err.Error(), "banned") {
		t.Errorf("a banned author's submission: %v, want refused", err)
	}
	if m := e.galleryCmd(e.member, "search", strOpt("query", "dice")); !strings.Contains(m.Content, "No published extension matches") {
		t.Errorf("search for a banned author's extension = %q %v", m.Content, listed(m))
	}
	if m := e.galleryCmd(e.member, "unban", userOpt(bob)); !strings.Contains(m.Content, "E_FORBIDDEN") {
		t.Errorf("a member's unban = %q, want E_FORBIDDEN", m.Content)
	}
	if m := e.galleryCmd(e.admin, "unban", userOpt(bob)); !strings.Contains(m.Content, "may use the gallery again") {
		t.Errorf("admin unban = %q", m.Content)
	}
	if _, err := submit(bob, galleryExt("coin", "1.0.0", "Flips coins.")); err != nil {
		t.Errorf("a submission after the unban: %v", err)
	}
}

// TestFeaturedRotationRunsOnItsSchedule: with featured_schedule set, the
// running bot turns the featured set by itself and members see it in
// /gallery featured. The schedule is every second so that the test does
// not wait long; extensions.TestFeaturedRotationFollowsTheSchedule checks
// the timing of a real cron spec.
func TestFeaturedRotationRunsOnItsSchedule(t *testing.T) {
	t.Parallel()
	f := newGalleryGuild(t, func(c *config.Config) {
		c.Gallery.FeaturedSchedule = "@every 1s"
		c.Gallery.FeaturedCount = 1
	})
	e := f.e
	f.publish(galleryExt("dice", "1.0.0", "Rolls dice."))
	f.publish(galleryExt("coin", "1.0.0", "Flips coins."))
	if _, err := e.app.gallery.Rate(context.Background(), store.UserID(e.member.UserID), "coin", 5, ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := listed(e.galleryCmd(e.member, "featured"))
		if len(got) == 1 && got[0] == "coin" {
			return
		}
		if len(got) > 1 || time.Now().After(deadline) {
			t.Fatalf("/gallery featured = %v; want the rotation to feature the best rated, coin, alone", got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestPremiumExtensions: a gallery administrator marks an extension
// premium; a server on the free tier is refused it, also as another
// extension's requirement, and a premium-tier server installs it through
// the usual consent card once an administrator gives the server that tier
// with /gallery tier. Only administrators can set the flag or the tier.
func TestPremiumExtensions(t *testing.T) {
	t.Parallel()
	const author, maintainer = "720000000000000001", "720000000000000002"
	e := newGalleryAdminGuild(t, maintainer)
	ctx := context.Background()
	publishAs(t, e, author, maintainer, galleryExt("dice", "1.0.0", "Rolls dice."))
	publishAs(t, e, author, maintainer, galleryExt("games", "1.0.0", "Games with dice.", "@requires     dice ^1.0.0"))

	if m := e.galleryCmd(e.member, "premium", strOpt("name", "dice"), boolOpt("on", true)); !strings.Contains(m.Content, "E_FORBIDDEN") {
		t.Errorf("a member's premium = %q, want E_FORBIDDEN", m.Content)
	}
	if info := embedText(e.galleryCmd(e.member, "info", strOpt("name", "dice"))); strings.Contains(info, "premium") {
		t.Errorf("dice is premium after a refused premium:\n%s", info)
	}
	if m := e.galleryCmd(e.admin, "premium", strOpt("name", "dice"), boolOpt("on", true)); !strings.Contains(m.Content, "**dice** is premium") {
		t.Errorf("admin premium = %q", m.Content)
	}
	if info := embedText(e.galleryCmd(e.member, "info", strOpt("name", "dice"))); !strings.Contains(info, "premium") {
		t.Errorf("info of a premium extension does not say so:\n%s", info)
	}
	if text := embedText(e.galleryCmd(e.member, "search", strOpt("query", "dice"))); !strings.Contains(text, "premium") {
		t.Errorf("search does not mark the premium extension:\n%s", text)
	}

	install := func(name string) (*discordgo.Message, discordtest.Response) {
		t.Helper()
		return e.extMsg(e.admin, "install", []*discordgo.ApplicationCommandInteractionDataOption{
			{Name: "extension", Type: discordgo.ApplicationCommandOptionString, Value: name}})
	}
	if m, _ := install("dice"); !strings.Contains(m.Content, "E_FORBIDDEN") || !strings.Contains(m.Content, "premium extension") || !strings.Contains(m.Content, "tier (free)") {
		t.Errorf("installing a premium extension on the free tier = %q", m.Content)
	}
	if m, _ := install("games"); !strings.Contains(m.Content, "E_FORBIDDEN") || !strings.Contains(m.Content, "dice 1.0.0, which games 1.0.0 needs, is a premium extension") {
		t.Errorf("installing what requires a premium extension on the free tier = %q", m.Content)
	}
	if ins, err := e.app.store.Installs(ctx, store.GuildID(e.g.ID)); err != nil || len(ins) != 0 {
		t.Fatalf("installs after the refusals = %d, %v", len(ins), err)
	}

	if m := e.galleryCmd(e.member, "tier", strOpt("server", e.g.ID), strOpt("tier", "premium")); !strings.HasPrefix(m.Content, "E_FORBIDDEN") {
		t.Errorf("a member's /gallery tier = %q, want E_FORBIDDEN", m.Content)
	}
	if m := e.galleryCmd(e.admin, "tier", strOpt("server", e.g.ID)); !strings.Contains(m.Content, "is on tier **free**") || !strings.Contains(m.Content, "no premium extensions") {
		t.Errorf("/gallery tier (show) = %q", m.Content)
	}
	if m := e.galleryCmd(e.admin, "tier", strOpt("server", e.g.ID), strOpt("tier", "gold")); !strings.HasPrefix(m.Content, "E_INVALID_ID") {
		t.Errorf("/gallery tier with an unknown tier = %q", m.Content)
	}
	if m := e.galleryCmd(e.admin, "tier", strOpt("server", "123456789012345678"), strOpt("tier", "premium")); !strings.HasPrefix(m.Content, "E_NOT_FOUND") {
		t.Errorf("/gallery tier of a server skybot never was in = %q", m.Content)
	}
	if m := e.galleryCmd(e.admin, "tier", strOpt("server", e.g.ID), strOpt("tier", "premium")); !strings.Contains(m.Content, "is now on tier **premium**") || !strings.Contains(m.Content, "; premium extensions") {
		t.Errorf("/gallery tier premium = %q", m.Content)
	}
	card, _ := install("games")
	if got, _ := e.click(e.admin, card, "Install"); !strings.HasPrefix(got, "Installed") {
		t.Fatalf("install on the premium tier = %q", got)
	}
	if ins, err := e.app.store.Installs(ctx, store.GuildID(e.g.ID)); err != nil || len(ins) != 2 {
		t.Fatalf("installs on the premium tier = %d, %v; want games and dice", len(ins), err)
	}
	if m := e.galleryCmd(e.admin, "premium", strOpt("name", "dice"), boolOpt("on", false)); !strings.Contains(m.Content, "no longer premium") {
		t.Errorf("admin premium off = %q", m.Content)
	}
}

// TestGalleryExport downloads gallery versions with /gallery export: any
// member gets published ones, the owner also the rest, and the package
// installs as the version it came from.
func TestGalleryExport(t *testing.T) {
	t.Parallel()
	const maintainer = "720000000000000002"
	e := newGalleryAdminGuild(t, maintainer)
	author := e.member // the member authors dice
	publishAs(t, e, store.UserID(author.UserID), maintainer, galleryExt("dice", "1.0.0", "Rolls dice."))
	queued := galleryExt("dice", "1.1.0", "Rolls more dice.")
	if _, err := e.app.gallery.Submit(context.Background(), store.UserID(author.UserID), nil,
		extensions.Upload{Filename: "dice.skyext", Size: int64(len(queued))},
		func(context.Context, int64) ([]byte, error) { return queued, nil }); err != nil {
		t.Fatal(err)
	}
	download := func(m discordtest.Member, opts ...*discordgo.ApplicationCommandInteractionDataOption) (extensions.Package, []byte, string) {
		t.Helper()
		msg := e.galleryCmd(m, "export", opts...)
		if len(msg.Attachments) != 1 {
			return extensions.Package{}, nil, msg.Content
		}
		data, ok := e.srv.Attachment(msg.Attachments[0].ID)
		if !ok {
			t.Fatal("the exported file cannot be downloaded")
		}
		pkg, err := extensions.ParseSkypkg(data)
		if err != nil {
			t.Fatalf("the export does not parse: %v", err)
		}
		return pkg, data, msg.Content
	}
	if pkg, _, said := download(e.admin, strOpt("name", "dice")); pkg.Manifest.Version != "1.0.0" {
		t.Fatalf("another user's export = %q, %q; want the published 1.0.0", pkg.Manifest.Version, said)
	}
	if _, _, said := download(e.admin, strOpt("name", "dice"), strOpt("version", "1.1.0")); !strings.HasPrefix(said, "E_NOT_FOUND") {
		t.Fatalf("another user's export of the queued version = %q", said)
	}
	pkg, data, _ := download(author, strOpt("name", "dice"))
	if pkg.Manifest.Version != "1.1.0" || pkg.Code != string(queued) {
		t.Fatalf("the owner's export = %s; want the queued 1.1.0 with its code", pkg.Manifest.Version)
	}
	if _, _, said := download(author, strOpt("name", "dice"), strOpt("version", "1.0.0"), strOpt("format", "1.0")); !strings.Contains(said, "only the 2.0 format can carry it") {
		t.Fatalf("a handler-style extension exported as 1.0 = %q", said)
	}
	card, _ := e.extMsg(e.admin, "install", file("dice.skypkg", data))
	if got, _ := e.click(e.admin, card, "Install"); !strings.HasPrefix(got, "Installed **dice** 1.1.0") {
		t.Fatalf("install the owner's export = %q", got)
	}
}
