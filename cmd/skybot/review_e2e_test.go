package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/store"
)

// reviewGuild is a guild with a review channel, an author, a maintainer
// (by config) and skybot connected.
type reviewGuild struct {
	*guild
	review     discordtest.Channel
	author     discordtest.Member
	maintainer discordtest.Member
	// other is a second guild skybot is in, with its own admin and
	// channel: what the gallery publishes installs there too.
	other        discordtest.Guild
	otherGeneral discordtest.Channel
	otherAdmin   discordtest.Member
}

func newReviewGuild(t *testing.T) *reviewGuild {
	t.Helper()
	rg := &reviewGuild{}
	rg.guild = assembleGuildWith(t, func(e *guild, c *config.Config) {
		rg.review = e.srv.AddChannel(e.g.ID, "review", discordgo.ChannelTypeGuildText)
		rg.author = e.srv.AddMember(e.g.ID, "aria")
		rg.maintainer = e.srv.AddMember(e.g.ID, "mona")
		c.Gallery.Maintainers = []string{rg.maintainer.UserID}
		c.Gallery.ReviewChannelID = rg.review.ID
		rg.other = e.srv.CreateGuild("Other Guild")
		rg.otherGeneral = e.srv.AddChannel(rg.other.ID, "general", discordgo.ChannelTypeGuildText)
		admins := e.srv.AddRole(rg.other.ID, "Admins", discordgo.PermissionManageGuild)
		rg.otherAdmin = e.srv.AddMember(rg.other.ID, "oscar", admins.ID)
		// Global commands, as in production: /ext works in both guilds.
		c.Discord.CommandGuildID = ""
	}, hooks{})
	rg.start()
	return rg
}

// slash runs /name sub as m and returns skybot's (final) answer.
func (e *reviewGuild) slash(m discordtest.Member, name, sub string, opts []*discordgo.ApplicationCommandInteractionDataOption) (string, discordtest.Response) {
	e.t.Helper()
	msg, resp := e.command(m, name, sub, opts, func(msg *discordgo.Message) bool { return msg.Content != "" })
	return msg.Content, resp
}

// card is the review channel's only card for name version.
func (e *reviewGuild) card(title string) *discordgo.Message {
	e.t.Helper()
	var found []*discordgo.Message
	for _, m := range e.srv.Messages(e.review.ID) {
		if len(m.Embeds) == 1 && m.Embeds[0].Title == title {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		e.t.Fatalf("%d cards titled %q in the review channel, want 1", len(found), title)
	}
	return found[0]
}

func field(m *discordgo.Message, name string) string {
	for _, f := range m.Embeds[0].Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// feedback presses the card's label button as m and submits its modal
// with text; it returns skybot's answer.
func (e *reviewGuild) feedback(m discordtest.Member, card *discordgo.Message, label, text string) string {
	e.t.Helper()
	id, _ := findButton(card, label)
	it, err := e.srv.ClickButton(card.ChannelID, card.ID, m.UserID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := it.WaitResponse(ctx)
	if err != nil || resp.Modal == nil {
		e.t.Fatalf("%s answered %+v, %v; want a modal", label, resp, err)
	}
	sent, err := e.srv.SubmitModal(it, m.UserID, resp.Modal.CustomID, map[string]string{"review:feedback": text})
	if err != nil {
		e.t.Fatal(err)
	}
	msg, err := sent.WaitMessage(ctx, func(msg *discordgo.Message) bool { return msg.Content != "" })
	if err != nil {
		e.t.Fatalf("feedback: no answer: %v", err)
	}
	return msg.Content
}

func dmsOf(e *reviewGuild, user string) string {
	var out []string
	for _, m := range e.srv.DMs(user) {
		out = append(out, m.Content)
	}
	return strings.Join(out, "\n---\n")
}

// greeterWithUnusedScope asks for storage it never uses: the scan warns.
func greeterWithUnusedScope(version, greeting string) []byte {
	return []byte(strings.Replace(string(greeterVersion(version, greeting)), "messages_write", "messages_write, storage", 1))
}

// TestReviewThroughTheChannel follows a submission through Discord: the
// author submits with /publish, the card shows findings and the code,
// a non-maintainer's click changes nothing, a maintainer claims and
// approves, the author is told by DM, and the version installs. Then a
// newer version is rejected with feedback through the modal: the author
// reads it, the card says so, and the published version is untouched.
func TestReviewThroughTheChannel(t *testing.T) {
	t.Parallel()
	e := newReviewGuild(t)
	ctx := context.Background()

	got, resp := e.slash(e.author, "publish", "submit", file("greeter.skyext", greeterWithUnusedScope("1.0.0", "Hello")))
	if !strings.Contains(got, "Queued **greeter** 1.0.0 for review (position 1 of 1") || !strings.Contains(got, "storage") || !resp.Ephemeral {
		t.Fatalf("/publish submit = %q (ephemeral %v)", got, resp.Ephemeral)
	}
	card := e.card("greeter 1.0.0")
	if f := field(card, "Scan findings"); !strings.Contains(f, "storage") {
		t.Fatalf("findings on the card = %q", f)
	}
	if len(card.Attachments) != 1 || card.Attachments[0].Filename != "greeter-1.0.0.js" {
		t.Fatalf("card attachments = %+v", card.Attachments)
	}
	if code, _ := e.srv.Attachment(card.Attachments[0].ID); !strings.Contains(string(code), "Hello from") {
		t.Fatalf("attached code = %q", code)
	}
	if f := field(card, "Author"); !strings.Contains(f, "<@"+e.author.UserID+">") {
		t.Fatalf("author field = %q", f)
	}
	before := field(card, "State")

	if answer, r := e.click(e.member, card, "Claim"); !strings.HasPrefix(answer, "E_FORBIDDEN:") || !r.Ephemeral {
		t.Fatalf("a member's Claim = %q", answer)
	}
	if after := field(e.card("greeter 1.0.0"), "State"); after != before {
		t.Fatalf("a refused click changed the card: %q → %q", before, after)
	}
	if answer, _ := e.click(e.maintainer, card, "Claim"); !strings.HasPrefix(answer, "You claimed **greeter** 1.0.0") {
		t.Fatalf("Claim = %q", answer)
	}
	card = e.card("greeter 1.0.0")
	if f := field(card, "State"); !strings.Contains(f, "claimed by <@"+e.maintainer.UserID+">") {
		t.Fatalf("state after the claim = %q", f)
	}
	if answer, _ := e.click(e.member, card, "Approve"); !strings.HasPrefix(answer, "E_FORBIDDEN:") {
		t.Fatalf("a member's Approve = %q", answer)
	}
	if answer, _ := e.click(e.maintainer, card, "Approve"); !strings.HasPrefix(answer, "Published **greeter** 1.0.0") {
		t.Fatalf("Approve = %q", answer)
	}
	card = e.card("greeter 1.0.0")
	if f, h := field(card, "State"), field(card, "History"); f != "Published." || !strings.Contains(h, "approved") || len(card.Components) != 0 {
		t.Fatalf("card after approval: state %q, history %q, %d component rows", f, h, len(card.Components))
	}
	if dm := dmsOf(e, e.author.UserID); !strings.Contains(dm, "**greeter** 1.0.0 was approved") {
		t.Fatalf("author's DMs = %q", dm)
	}
	installed, _ := e.extMsg(e.admin, "install", []*discordgo.ApplicationCommandInteractionDataOption{{Name: "extension", Type: discordgo.ApplicationCommandOptionString, Value: "greeter"}})
	if answer, _ := e.click(e.admin, installed, "Install"); !strings.HasPrefix(answer, "Installed **greeter** 1.0.0") {
		t.Fatalf("install = %q", answer)
	}
	if replies := e.say(e.member, "!greet"); len(replies) != 1 || replies[0].Content != "Hello from 1.0.0" {
		t.Fatalf("!greet = %v", contents(replies))
	}
	// Published means published everywhere: another guild's admin installs it.
	// (Only its slash commands are used: messages there are not awaited.)
	other := &guild{t: t, srv: e.srv, app: e.app, g: e.other, general: e.otherGeneral, admin: e.otherAdmin, member: e.otherAdmin}
	otherCard, _ := other.extMsg(other.admin, "install", []*discordgo.ApplicationCommandInteractionDataOption{{Name: "extension", Type: discordgo.ApplicationCommandOptionString, Value: "greeter"}})
	if answer, _ := other.click(other.admin, otherCard, "Install"); !strings.HasPrefix(answer, "Installed **greeter** 1.0.0") {
		t.Fatalf("install in another guild = %q", answer)
	}

	// A newer version, rejected with feedback.
	if got, _ := e.slash(e.author, "publish", "submit", file("greeter.skyext", greeterVersion("1.1.0", "Yo"))); !strings.Contains(got, "Queued **greeter** 1.1.0") {
		t.Fatalf("second submit = %q", got)
	}
	card = e.card("greeter 1.1.0")
	if d := card.Embeds[0].Description; !strings.Contains(d, "live 1.0.0") || !strings.Contains(d, "+ ") {
		t.Fatalf("card diff = %q", d)
	}
	e.click(e.maintainer, card, "Claim")
	const why = "Yo is too informal for a greeter; keep Hello."
	if answer, _ := e.click(e.member, e.card("greeter 1.1.0"), "Reject"); !strings.HasPrefix(answer, "E_FORBIDDEN:") {
		t.Fatalf("a member's rejection = %q", answer)
	}
	if answer := e.feedback(e.maintainer, e.card("greeter 1.1.0"), "Reject", why); !strings.HasPrefix(answer, "Rejected **greeter** 1.1.0") {
		t.Fatalf("rejection = %q", answer)
	}
	card = e.card("greeter 1.1.0")
	if f, h := field(card, "State"), field(card, "History"); f != "Rejected." || !strings.Contains(h, why) {
		t.Fatalf("card after rejection: state %q, history %q", f, h)
	}
	if dm := dmsOf(e, e.author.UserID); !strings.Contains(dm, "1.1.0 was rejected") || !strings.Contains(dm, why) {
		t.Fatalf("author's DMs = %q", dm)
	}
	live, err := e.app.gallery.Published(ctx, "greeter", "")
	if err != nil || live.Version != "1.0.0" {
		t.Fatalf("published after the rejection = %s, %v", live.Version, err)
	}
	if got, _ := e.slash(e.author, "publish", "status", nil); !strings.Contains(got, "1.1.0 — rejected: “"+why+"”") || !strings.Contains(got, "1.0.0 — published") {
		t.Fatalf("/publish status = %q", got)
	}

	// Another, sent back for changes: the card and the DM carry the
	// feedback, and the live version still installs.
	if got, _ := e.slash(e.author, "publish", "submit", file("greeter.skyext", greeterVersion("1.2.0", "Hi"))); !strings.Contains(got, "Queued **greeter** 1.2.0") {
		t.Fatalf("third submit = %q", got)
	}
	e.click(e.maintainer, e.card("greeter 1.2.0"), "Claim")
	const change = "Say which version answers, please."
	if answer, _ := e.click(e.member, e.card("greeter 1.2.0"), "Request changes"); !strings.HasPrefix(answer, "E_FORBIDDEN:") {
		t.Fatalf("a member's request for changes = %q", answer)
	}
	if answer := e.feedback(e.maintainer, e.card("greeter 1.2.0"), "Request changes", change); strings.HasPrefix(answer, "E_") {
		t.Fatalf("request for changes = %q", answer)
	}
	card = e.card("greeter 1.2.0")
	if f, h := field(card, "State"), field(card, "History"); f != "Sent back for changes." || !strings.Contains(h, change) || len(card.Components) != 0 {
		t.Fatalf("card after the request: state %q, history %q, %d component rows", f, h, len(card.Components))
	}
	if dm := dmsOf(e, e.author.UserID); !strings.Contains(dm, "asks for changes to **greeter** 1.2.0") || !strings.Contains(dm, change) {
		t.Fatalf("author's DMs = %q", dm)
	}
	if live, err := e.app.gallery.Published(ctx, "greeter", ""); err != nil || live.Version != "1.0.0" {
		t.Fatalf("published after the request = %s, %v", live.Version, err)
	}
}

func namedGreeter(name, version string) []byte {
	return []byte(strings.Replace(string(greeterVersion(version, "Hi")), "@name         greeter", "@name         "+name, 1))
}

// TestReviewQueueOrder lists the queue for maintainers only, an author
// with approved versions ahead of a newcomer who submitted earlier; an
// author withdraws their own queued version, and nobody else's.
func TestReviewQueueOrder(t *testing.T) {
	t.Parallel()
	e := newReviewGuild(t)
	ctx := context.Background()
	// The author has a published version: a record that raises them.
	if got, _ := e.slash(e.author, "publish", "submit", file("a.skyext", namedGreeter("veteran", "1.0.0"))); !strings.Contains(got, "Queued") {
		t.Fatalf("submit = %q", got)
	}
	card := e.card("veteran 1.0.0")
	e.click(e.maintainer, card, "Claim")
	e.click(e.maintainer, e.card("veteran 1.0.0"), "Approve")

	if got, _ := e.slash(e.member, "publish", "submit", file("b.skyext", namedGreeter("newcomer", "1.0.0"))); !strings.Contains(got, "position 1 of 1") {
		t.Fatalf("newcomer's submit = %q", got)
	}
	if got, _ := e.slash(e.author, "publish", "submit", file("a.skyext", namedGreeter("veteran", "1.1.0"))); !strings.Contains(got, "position 1 of 2") {
		t.Fatalf("veteran's second submit = %q", got)
	}
	if got, r := e.slash(e.member, "review", "queue", nil); !strings.HasPrefix(got, "E_FORBIDDEN:") || !r.Ephemeral {
		t.Fatalf("a member's /review queue = %q", got)
	}
	got, r := e.slash(e.maintainer, "review", "queue", nil)
	v, n := strings.Index(got, "1. **veteran** 1.1.0"), strings.Index(got, "2. **newcomer** 1.0.0")
	if v < 0 || n < 0 || !r.Ephemeral {
		t.Fatalf("/review queue = %q", got)
	}

	version := func(name string) []*discordgo.ApplicationCommandInteractionDataOption {
		return []*discordgo.ApplicationCommandInteractionDataOption{
			{Name: "name", Type: discordgo.ApplicationCommandOptionString, Value: name},
			{Name: "version", Type: discordgo.ApplicationCommandOptionString, Value: "1.0.0"}}
	}
	if got, _ := e.slash(e.author, "publish", "withdraw", version("newcomer")); !strings.HasPrefix(got, "E_FORBIDDEN:") {
		t.Fatalf("withdrawing someone else's version = %q", got)
	}
	if got, _ := e.slash(e.member, "publish", "withdraw", version("newcomer")); !strings.HasPrefix(got, "Withdrew **newcomer** 1.0.0") {
		t.Fatalf("withdraw = %q", got)
	}
	if f := field(e.card("newcomer 1.0.0"), "State"); f != "Withdrawn by its author." {
		t.Fatalf("card after withdrawal: %q", f)
	}
	if q, err := e.app.gallery.Queue(ctx); err != nil || len(q) != 1 || q[0].Version.Name != "veteran" {
		t.Fatalf("queue after withdrawal = %+v, %v", q, err)
	}

	// /review show: the card, without buttons, to a maintainer or the owner.
	show := func(m discordtest.Member, name string) *discordgo.Message {
		t.Helper()
		it, err := e.srv.RunSlash(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: m.UserID, Name: "review",
			Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "show", Type: discordgo.ApplicationCommandOptionSubCommand, Options: version(name)}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		msg, err := it.WaitMessage(ctx, func(msg *discordgo.Message) bool { return msg.Content != "" || len(msg.Embeds) > 0 })
		if err != nil || !it.Response().Ephemeral {
			t.Fatalf("/review show %s: %v (ephemeral %v)", name, err, it.Response().Ephemeral)
		}
		return msg
	}
	if got := show(e.author, "newcomer"); !strings.HasPrefix(got.Content, "E_FORBIDDEN:") {
		t.Fatalf("someone else's /review show = %q", got.Content)
	}
	for _, m := range []discordtest.Member{e.maintainer, e.member} {
		got := show(m, "newcomer")
		if len(got.Embeds) != 1 || got.Embeds[0].Title != "newcomer 1.0.0" || field(got, "State") != "Withdrawn by its author." || len(got.Components) != 0 {
			t.Fatalf("/review show = %+v", got)
		}
	}
}

// TestTransferOwnership: an owner gives an extension away after a
// confirmation; nobody else can, not even by clicking the owner's button;
// the new owner is told by DM and submits its versions from then on, and
// the old one no longer can.
func TestTransferOwnership(t *testing.T) {
	t.Parallel()
	e := newReviewGuild(t)
	publishAs(t, e.guild, store.UserID(e.author.UserID), store.UserID(e.maintainer.UserID), greeterVersion("1.0.0", "Hello"))
	transfer := func(m discordtest.Member, to string) *discordgo.Message {
		t.Helper()
		msg, _ := e.command(m, "publish", "transfer", []*discordgo.ApplicationCommandInteractionDataOption{
			strOpt("name", "greeter"), {Name: "to", Type: discordgo.ApplicationCommandOptionUser, Value: to}}, func(msg *discordgo.Message) bool { return msg.Content != "" })
		return msg
	}
	owner := func() store.UserID {
		t.Helper()
		ext, err := e.app.store.ExtensionByName(context.Background(), "", "greeter")
		if err != nil {
			t.Fatal(err)
		}
		return ext.OwnerID
	}

	if m := transfer(e.member, e.member.UserID); !strings.Contains(m.Content, "E_FORBIDDEN") {
		t.Errorf("a stranger's transfer = %q, want E_FORBIDDEN", m.Content)
	}
	if m := transfer(e.author, e.author.UserID); !strings.Contains(m.Content, "already belongs to") {
		t.Errorf("a transfer to the owner = %q", m.Content)
	}
	ask := transfer(e.author, e.member.UserID)
	if !strings.Contains(ask.Content, "Give **greeter** to <@"+e.member.UserID+">?") {
		t.Fatalf("the confirmation = %q", ask.Content)
	}
	if got, _ := e.click(e.member, ask, "Transfer"); !strings.Contains(got, "E_FORBIDDEN") {
		t.Errorf("the new owner clicking the old owner's button = %q, want E_FORBIDDEN", got)
	}
	if got := owner(); got != store.UserID(e.author.UserID) {
		t.Fatalf("owner after a refused click = %s", got)
	}
	if got, _ := e.click(e.author, ask, "Transfer"); !strings.Contains(got, "now belongs to <@"+e.member.UserID+">") {
		t.Fatalf("the owner's click = %q", got)
	}
	if got := owner(); got != store.UserID(e.member.UserID) {
		t.Fatalf("owner after the transfer = %s, want %s", got, e.member.UserID)
	}
	if dms := dmsOf(e, e.member.UserID); !strings.Contains(dms, "You now own the gallery extension **greeter**") {
		t.Errorf("the new owner's DMs = %q", dms)
	}

	submit := func(m discordtest.Member, version string) string {
		t.Helper()
		got, _ := e.slash(m, "publish", "submit", file("greeter.skyext", greeterVersion(version, "Howdy")))
		return got
	}
	if got := submit(e.author, "1.1.0"); !strings.Contains(got, "E_FORBIDDEN") {
		t.Errorf("the old owner's submission = %q, want E_FORBIDDEN", got)
	}
	if got := submit(e.member, "1.0.0"); !strings.Contains(got, "version 1.0.0 is not greater than") {
		t.Errorf("a submission of a version that is not greater = %q, want it refused", got)
	}
	if got := submit(e.member, "1.1.0"); !strings.Contains(got, "Queued **greeter** 1.1.0") {
		t.Errorf("the new owner's submission = %q", got)
	}
}

// TestSignedSubmissions: an author registers a signing key with /publish
// key; from then on /publish submit refuses what is unsigned or signed
// with another key, and queues what the key verifies.
func TestSignedSubmissions(t *testing.T) {
	e := newReviewGuild(t)
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	keyOpt := func(text string) []*discordgo.ApplicationCommandInteractionDataOption {
		return []*discordgo.ApplicationCommandInteractionDataOption{strOpt("public_key", text)}
	}
	if got, _ := e.slash(e.author, "publish", "key", keyOpt("not base64!")); !strings.Contains(got, "E_INVALID_ID") {
		t.Errorf("a key that is not base64 = %q", got)
	}
	if got, _ := e.slash(e.author, "publish", "key", keyOpt(base64.StdEncoding.EncodeToString(pub[:16]))); !strings.Contains(got, "E_INVALID_ID") {
		t.Errorf("a short key = %q", got)
	}
	if got, _ := e.slash(e.author, "publish", "key", keyOpt(base64.StdEncoding.EncodeToString(pub))); !strings.Contains(got, "Registered your signing key") {
		t.Fatalf("registering the key = %q", got)
	}

	src := greeterVersion("1.0.0", "Hello")
	signed := func(k ed25519.PrivateKey) []byte {
		t.Helper()
		man, code, err := extensions.ParseSkyext(src)
		if err != nil {
			t.Fatal(err)
		}
		pkg := extensions.Package{Manifest: man, Code: code, Signature: signCode(k, code)}
		data, err := pkg.Encode(extensions.PackageV2, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	submit := func(name string, data []byte) string {
		t.Helper()
		got, _ := e.slash(e.author, "publish", "submit", file(name, data))
		return got
	}
	if got := submit("greeter.skyext", src); !strings.Contains(got, "E_INVALID_PACKAGE") || !strings.Contains(got, "not signed") {
		t.Errorf("an unsigned submission = %q, want it refused", got)
	}
	if got := submit("greeter.skypkg", signed(otherKey)); !strings.Contains(got, "E_INVALID_PACKAGE") || !strings.Contains(got, "does not verify") {
		t.Errorf("a submission signed with another key = %q, want it refused", got)
	}
	if n := len(e.srv.Messages(e.review.ID)); n != 0 {
		t.Errorf("the refused submissions left %d messages in the review channel", n)
	}
	if got := submit("greeter.skypkg", signed(key)); !strings.Contains(got, "Queued **greeter** 1.0.0") {
		t.Errorf("the signed submission = %q", got)
	}
	e.card("greeter 1.0.0")
}

// A double click on Approve (both clicks reach skybot before either is
// answered, as when a maintainer's client repeats a press) publishes the
// version once: the second click is refused, ephemerally, and changes
// nothing, so the author gets one DM and the history one approval.
func TestDoubleApproveIsRefusedOnce(t *testing.T) {
	t.Parallel()
	e := newReviewGuild(t)
	if got, _ := e.slash(e.author, "publish", "submit", file("greeter.skyext", greeterVersion("1.0.0", "Hello"))); !strings.Contains(got, "Queued **greeter** 1.0.0") {
		t.Fatalf("submit = %q", got)
	}
	if answer, _ := e.click(e.maintainer, e.card("greeter 1.0.0"), "Claim"); !strings.HasPrefix(answer, "You claimed") {
		t.Fatalf("Claim = %q", answer)
	}
	card := e.card("greeter 1.0.0")
	id, _ := findButton(card, "Approve")
	var its []*discordtest.Interaction
	for range 2 {
		it, err := e.srv.ClickButton(card.ChannelID, card.ID, e.maintainer.UserID, id)
		if err != nil {
			t.Fatal(err)
		}
		its = append(its, it)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var published, refused int
	for _, it := range its {
		resp, err := it.WaitResponse(ctx)
		if err != nil || resp.Message == nil {
			t.Fatalf("no answer to a click: %+v, %v", resp, err)
		}
		switch content := resp.Message.Content; {
		case strings.HasPrefix(content, "Published **greeter** 1.0.0"):
			published++
		case strings.HasPrefix(content, "E_INVALID_STATE:") && resp.Ephemeral:
			t.Logf("the second click: %s", content)
			refused++
		default:
			t.Errorf("a click answered %q (ephemeral %v)", content, resp.Ephemeral)
		}
	}
	if published != 1 || refused != 1 {
		t.Fatalf("%d published and %d refused; want one of each", published, refused)
	}
	card = e.card("greeter 1.0.0")
	if f, h := field(card, "State"), field(card, "History"); f != "Published." || strings.Count(h, "approved") != 1 {
		t.Fatalf("card after the double click: state %q, history %q", f, h)
	}
	if dm := dmsOf(e, e.author.UserID); strings.Count(dm, "was approved") != 1 {
		t.Fatalf("author's DMs = %q; want one approval", dm)
	}
}

// TestSaveThenSubmitThroughDiscord keeps a version with /publish save (no
// card, nothing for reviewers), submits it later by name, and submits a
// file with /ext submit, the same command for a server's admins.
func TestSaveThenSubmitThroughDiscord(t *testing.T) {
	t.Parallel()
	e := newReviewGuild(t)
	got, resp := e.slash(e.author, "publish", "save", file("greeter.skyext", greeterWithUnusedScope("1.0.0", "Hello")))
	if !strings.HasPrefix(got, "Saved **greeter** 1.0.0") || !strings.Contains(got, "storage") || !resp.Ephemeral {
		t.Fatalf("/publish save = %q (ephemeral %v)", got, resp.Ephemeral)
	}
	if n := len(e.srv.Messages(e.review.ID)); n != 0 {
		t.Fatalf("%d messages in the review channel after a save, want none", n)
	}
	if got, _ := e.slash(e.author, "publish", "status", nil); !strings.Contains(got, "1.0.0 — saved") {
		t.Fatalf("/publish status = %q", got)
	}
	both := append(file("greeter.skyext", greeterVersion("1.1.0", "Hi")), nameOpt("greeter")...)
	if got, _ := e.slash(e.author, "publish", "submit", both); !strings.HasPrefix(got, "E_INVALID_PACKAGE:") {
		t.Fatalf("submit with a file and a name = %q", got)
	}
	if got, _ := e.slash(e.maintainer, "publish", "submit", nameOpt("greeter")); !strings.HasPrefix(got, "E_FORBIDDEN:") {
		t.Fatalf("another user's submit of the saved version = %q", got)
	}
	if got, _ := e.slash(e.author, "publish", "submit", nameOpt("greeter")); !strings.Contains(got, "Queued **greeter** 1.0.0 for review (position 1 of 1") {
		t.Fatalf("submit the saved version = %q", got)
	}
	card := e.card("greeter 1.0.0")
	if f := field(card, "Author"); !strings.Contains(f, "no record yet (reputation 0)") {
		t.Fatalf("author field = %q", f)
	}
	if f := field(card, "Scan findings"); !strings.Contains(f, "storage") {
		t.Fatalf("findings on the card = %q", f)
	}

	if got, _ := e.slash(e.admin, "ext", "submit", file("waves.skyext", namedGreeter("waves", "1.0.0"))); !strings.Contains(got, "Queued **waves** 1.0.0 for review (position 2 of 2") {
		t.Fatalf("/ext submit = %q", got)
	}
	e.card("waves 1.0.0")
	if got, _ := e.slash(e.admin, "ext", "submit", nil); !strings.HasPrefix(got, "E_INVALID_PACKAGE:") {
		t.Fatalf("/ext submit without a file or name = %q", got)
	}
}
