package discordtest

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func TestReplyWithEmbedComponentsAndFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := openBot(t, f.srv, allIntents)
	creates := record[*discordgo.MessageCreate](s)

	orig, err := f.srv.SendMessage(f.general.ID, f.alice.UserID, "can someone help?")
	if err != nil {
		t.Fatal(err)
	}
	sent, err := s.ChannelMessageSendComplex(f.general.ID, &discordgo.MessageSend{
		Content:   "sure, <@" + f.alice.UserID + ">",
		Reference: orig.Reference(),
		Embeds:    []*discordgo.MessageEmbed{{Title: "Help", Description: "read the docs"}},
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Thanks", CustomID: "thanks", Style: discordgo.SuccessButton},
		}}},
		Files:           []*discordgo.File{{Name: "notes.txt", ContentType: "text/plain", Reader: strings.NewReader("step 1")}},
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeUsers}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sent.Type != discordgo.MessageTypeReply || sent.MessageReference == nil || sent.MessageReference.MessageID != orig.ID {
		t.Errorf("sent = type %d ref %+v, want a reply to %s", sent.Type, sent.MessageReference, orig.ID)
	}
	if sent.ReferencedMessage == nil || sent.ReferencedMessage.Content != "can someone help?" {
		t.Errorf("referenced message = %+v", sent.ReferencedMessage)
	}

	msgs := f.srv.Messages(f.general.ID)
	if len(msgs) != 2 {
		t.Fatalf("messages = %d, want 2", len(msgs))
	}
	got := msgs[1]
	if got.ID != sent.ID || got.Author.ID != f.srv.BotUserID() || got.Content != "sure, <@"+f.alice.UserID+">" {
		t.Errorf("stored = %+v", got)
	}
	if len(got.Embeds) != 1 || got.Embeds[0].Title != "Help" || got.Embeds[0].Type != discordgo.EmbedTypeRich {
		t.Errorf("embeds = %+v", got.Embeds)
	}
	if len(got.Components) != 1 {
		t.Fatalf("components = %+v", got.Components)
	}
	row := got.Components[0].(*discordgo.ActionsRow)
	if b := row.Components[0].(*discordgo.Button); b.CustomID != "thanks" {
		t.Errorf("button = %+v", b)
	}
	if len(got.Mentions) != 1 || got.Mentions[0].ID != f.alice.UserID {
		t.Errorf("mentions = %+v", got.Mentions)
	}
	if len(got.Attachments) != 1 || got.Attachments[0].Filename != "notes.txt" || got.Attachments[0].Size != 6 {
		t.Fatalf("attachments = %+v", got.Attachments)
	}

	// The attachment downloads through the emulator's client.
	resp, err := s.Client.Get(got.Attachments[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "step 1" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("download = %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}

	// The bot sees its own message on the gateway too.
	creates.wait(t, "own MESSAGE_CREATE", func(m *discordgo.MessageCreate) bool { return m.ID == sent.ID })
}

func TestMessageEditListDeleteAndReactions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := openBot(t, f.srv, allIntents)
	updates := record[*discordgo.MessageUpdate](s)
	deletes := record[*discordgo.MessageDelete](s)
	reactions := record[*discordgo.MessageReactionAdd](s)

	var ids []string
	for _, c := range []string{"one", "two", "three"} {
		m, err := s.ChannelMessageSend(f.general.ID, c)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	edited, err := s.ChannelMessageEdit(f.general.ID, ids[0], "one (edited)")
	if err != nil {
		t.Fatal(err)
	}
	if edited.EditedTimestamp == nil || edited.Content != "one (edited)" {
		t.Errorf("edited = %+v", edited)
	}
	updates.wait(t, "MESSAGE_UPDATE", func(m *discordgo.MessageUpdate) bool { return m.ID == ids[0] })

	list, err := s.ChannelMessages(f.general.ID, 2, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != ids[2] || list[1].ID != ids[1] {
		t.Errorf("latest two = %v", contents(list))
	}
	list, err = s.ChannelMessages(f.general.ID, 10, ids[2], "", "")
	if err != nil || len(list) != 2 || list[0].ID != ids[1] {
		t.Errorf("before = %v, %v", contents(list), err)
	}
	list, err = s.ChannelMessages(f.general.ID, 10, "", ids[0], "")
	if err != nil || len(list) != 2 || list[0].ID != ids[2] {
		t.Errorf("after = %v, %v", contents(list), err)
	}

	// Editing someone else's message is refused.
	theirs, _ := f.srv.SendMessage(f.general.ID, f.alice.UserID, "mine")
	if _, err := s.ChannelMessageEdit(f.general.ID, theirs.ID, "hacked"); err == nil {
		t.Error("edited another user's message")
	} else if _, code := restCode(t, err); code != 50005 {
		t.Errorf("code = %d, want 50005", code)
	}

	if err := s.MessageReactionAdd(f.general.ID, ids[1], "👍"); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.AddReaction(f.general.ID, ids[1], f.alice.UserID, "👍"); err != nil {
		t.Fatal(err)
	}
	reactions.wait(t, "MESSAGE_REACTION_ADD", func(r *discordgo.MessageReactionAdd) bool { return r.UserID == f.alice.UserID })
	users, err := s.MessageReactions(f.general.ID, ids[1], "👍", 10, "", "")
	if err != nil || len(users) != 2 {
		t.Errorf("reaction users = %v, %v", users, err)
	}
	m, _ := f.srv.Message(f.general.ID, ids[1])
	if len(m.Reactions) != 1 || m.Reactions[0].Count != 2 || !m.Reactions[0].Me || m.Reactions[0].Emoji.Name != "👍" {
		t.Errorf("reactions = %+v", m.Reactions)
	}
	if err := s.MessageReactionRemove(f.general.ID, ids[1], "👍", f.alice.UserID); err != nil {
		t.Fatal(err)
	}
	if err := s.MessageReactionsRemoveAll(f.general.ID, ids[1]); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.srv.Message(f.general.ID, ids[1]); len(m.Reactions) != 0 {
		t.Errorf("reactions after remove all = %+v", m.Reactions)
	}

	if err := s.ChannelMessageDelete(f.general.ID, theirs.ID); err != nil {
		t.Fatal(err) // the bot has MANAGE_MESSAGES
	}
	deletes.wait(t, "MESSAGE_DELETE", func(m *discordgo.MessageDelete) bool { return m.ID == theirs.ID })
	if err := s.ChannelMessagesBulkDelete(f.general.ID, ids[:2]); err != nil {
		t.Fatal(err)
	}
	if left := f.srv.Messages(f.general.ID); len(left) != 1 || left[0].ID != ids[2] {
		t.Errorf("left = %v", contents(left))
	}
	if _, err := s.ChannelMessage(f.general.ID, ids[0]); err == nil {
		t.Error("deleted message still readable")
	} else if st, code := restCode(t, err); st != 404 || code != 10008 {
		t.Errorf("status %d code %d, want 404/10008", st, code)
	}
}

func contents(ms []*discordgo.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Content)
	}
	return out
}

func TestModeration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// act performs the action on the target; "below" targets are alice
		// (no roles), "above" is carol (a role above the bot's), "owner" the
		// guild owner.
		act      func(s *discordgo.Session, f *fixture, userID string) error
		target   string
		wantCode int
		check    func(t *testing.T, f *fixture)
	}{
		{
			name: "ban below", target: "below",
			act: func(s *discordgo.Session, f *fixture, uid string) error {
				return s.GuildBanCreate(f.guild.ID, uid, 1, discordgo.WithAuditLogReason("spam links"))
			},
			check: func(t *testing.T, f *fixture) {
				if _, ok := f.srv.Member(f.guild.ID, f.alice.UserID); ok {
					t.Error("banned member still in the guild")
				}
				bans := f.srv.Bans(f.guild.ID)
				if len(bans) != 1 || bans[0].User.ID != f.alice.UserID || bans[0].Reason != "spam links" {
					t.Errorf("bans = %+v", bans)
				}
			},
		},
		{
			name: "ban above", target: "above", wantCode: 50013,
			act: func(s *discordgo.Session, f *fixture, uid string) error { return s.GuildBanCreate(f.guild.ID, uid, 0) },
		},
		{
			name: "ban owner", target: "owner", wantCode: 50013,
			act: func(s *discordgo.Session, f *fixture, uid string) error { return s.GuildBanCreate(f.guild.ID, uid, 0) },
		},
		{
			name: "kick below", target: "below",
			act: func(s *discordgo.Session, f *fixture, uid string) error {
				return s.GuildMemberDelete(f.guild.ID, uid, discordgo.WithAuditLogReason("bye"))
			},
			check: func(t *testing.T, f *fixture) {
				if _, ok := f.srv.Member(f.guild.ID, f.alice.UserID); ok {
					t.Error("kicked member still in the guild")
				}
				if len(f.srv.Bans(f.guild.ID)) != 0 {
					t.Error("a kick banned")
				}
			},
		},
		{
			name: "kick above", target: "above", wantCode: 50013,
			act: func(s *discordgo.Session, f *fixture, uid string) error { return s.GuildMemberDelete(f.guild.ID, uid) },
		},
		{
			name: "timeout below", target: "below",
			act: func(s *discordgo.Session, f *fixture, uid string) error {
				until := time.Now().Add(10 * time.Minute)
				return s.GuildMemberTimeout(f.guild.ID, uid, &until)
			},
			check: func(t *testing.T, f *fixture) {
				m, _ := f.srv.Member(f.guild.ID, f.alice.UserID)
				if m.CommunicationDisabledUntil == nil || !m.CommunicationDisabledUntil.After(time.Now()) {
					t.Errorf("timeout = %v", m.CommunicationDisabledUntil)
				}
				if _, err := f.srv.SendMessage(f.general.ID, f.alice.UserID, "let me talk"); err == nil {
					t.Error("a timed-out member could post")
				}
			},
		},
		{
			name: "timeout above", target: "above", wantCode: 50013,
			act: func(s *discordgo.Session, f *fixture, uid string) error {
				until := time.Now().Add(time.Minute)
				return s.GuildMemberTimeout(f.guild.ID, uid, &until)
			},
		},
		{
			name: "nickname below", target: "below",
			act: func(s *discordgo.Session, f *fixture, uid string) error {
				return s.GuildMemberNickname(f.guild.ID, uid, "Al")
			},
			check: func(t *testing.T, f *fixture) {
				if m, _ := f.srv.Member(f.guild.ID, f.alice.UserID); m.Nick != "Al" {
					t.Errorf("nick = %q", m.Nick)
				}
			},
		},
		{
			name: "nickname owner", target: "owner", wantCode: 50013,
			act: func(s *discordgo.Session, f *fixture, uid string) error {
				return s.GuildMemberNickname(f.guild.ID, uid, "boss")
			},
		},
		{
			name: "add role below the bot", target: "below",
			act: func(s *discordgo.Session, f *fixture, uid string) error {
				return s.GuildMemberRoleAdd(f.guild.ID, uid, f.mod.ID)
			},
			check: func(t *testing.T, f *fixture) {
				if m, _ := f.srv.Member(f.guild.ID, f.alice.UserID); !slices.Contains(m.Roles, f.mod.ID) {
					t.Errorf("roles = %v", m.Roles)
				}
			},
		},
		{
			name: "add role above the bot", target: "below", wantCode: 50013,
			act: func(s *discordgo.Session, f *fixture, uid string) error {
				return s.GuildMemberRoleAdd(f.guild.ID, uid, f.boss.ID)
			},
		},
		{
			name: "remove role below the bot", target: "mod",
			act: func(s *discordgo.Session, f *fixture, uid string) error {
				return s.GuildMemberRoleRemove(f.guild.ID, uid, f.mod.ID)
			},
			check: func(t *testing.T, f *fixture) {
				if m, _ := f.srv.Member(f.guild.ID, f.bob.UserID); len(m.Roles) != 0 {
					t.Errorf("roles = %v", m.Roles)
				}
			},
		},
		{
			name: "unknown member", target: "nobody", wantCode: 10007,
			act: func(s *discordgo.Session, f *fixture, uid string) error {
				return s.GuildMemberRoleAdd(f.guild.ID, uid, f.mod.ID)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{})
			s := newBot(t, f.srv, allIntents) // REST only
			target := map[string]string{
				"below": f.alice.UserID, "above": f.carol.UserID, "owner": f.guild.OwnerID,
				"mod": f.bob.UserID, "nobody": f.srv.AddUser("stranger").ID,
			}[tc.target]
			err := tc.act(s, f, target)
			if tc.wantCode != 0 {
				if err == nil {
					t.Fatalf("succeeded, want code %d", tc.wantCode)
				}
				if _, code := restCode(t, err); code != tc.wantCode {
					t.Fatalf("code = %d (%v), want %d", code, err, tc.wantCode)
				}
				if tc.target != "nobody" {
					if _, ok := f.srv.Member(f.guild.ID, target); !ok {
						t.Error("the target left the guild after a refused action")
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, f)
		})
	}
}

func TestBanDispatchesBanAndRemove(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := openBot(t, f.srv, allIntents)
	bans := record[*discordgo.GuildBanAdd](s)
	removes := record[*discordgo.GuildMemberRemove](s)
	var events []Event
	cancel := f.srv.Subscribe(func(ev Event) {
		if ev.Kind == KindMemberBan {
			events = append(events, ev)
		}
	})
	defer cancel()
	if err := s.GuildBanCreate(f.guild.ID, f.alice.UserID, 0, discordgo.WithAuditLogReason("raid")); err != nil {
		t.Fatal(err)
	}
	bans.wait(t, "GUILD_BAN_ADD", func(b *discordgo.GuildBanAdd) bool { return b.User.ID == f.alice.UserID })
	removes.wait(t, "GUILD_MEMBER_REMOVE", func(r *discordgo.GuildMemberRemove) bool { return r.User.ID == f.alice.UserID })
	// A ban through REST has been delivered to subscribers when the call
	// returns.
	if len(events) != 1 || events[0].UserID != f.alice.UserID || events[0].Detail != "raid" || events[0].ActorID != f.srv.BotUserID() {
		t.Errorf("events = %+v", events)
	}
	if err := s.GuildBanDelete(f.guild.ID, f.alice.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GuildBan(f.guild.ID, f.alice.UserID); err == nil {
		t.Error("ban still there")
	} else if _, code := restCode(t, err); code != 10026 {
		t.Errorf("code = %d, want 10026 Unknown Ban", code)
	}
}

func TestRolesAndMembersREST(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := newBot(t, f.srv, allIntents)
	perms := int64(discordgo.PermissionSendMessages)
	r, err := s.GuildRoleCreate(f.guild.ID, &discordgo.RoleParams{Name: "helpers", Permissions: &perms})
	if err != nil {
		t.Fatal(err)
	}
	if r.Position != 1 || r.Permissions != perms {
		t.Errorf("new role = %+v, want position 1 with the permissions", r)
	}
	admin := int64(discordgo.PermissionAdministrator)
	if _, err := s.GuildRoleCreate(f.guild.ID, &discordgo.RoleParams{Name: "root", Permissions: &admin}); err == nil {
		t.Error("the bot granted Administrator it does not hold")
	}
	if _, err := s.GuildRoleEdit(f.guild.ID, f.boss.ID, &discordgo.RoleParams{Name: "x"}); err == nil {
		t.Error("the bot edited a role above its own")
	} else if _, code := restCode(t, err); code != 50013 {
		t.Errorf("code = %d", code)
	}
	roles, err := s.GuildRoles(f.guild.ID)
	if err != nil || len(roles) != 5 {
		t.Fatalf("roles = %d, %v", len(roles), err)
	}
	if err := s.GuildRoleDelete(f.guild.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	members, err := s.GuildMembers(f.guild.ID, "", 1000)
	if err != nil || len(members) != 5 {
		t.Fatalf("members = %d, %v", len(members), err)
	}
	page, err := s.GuildMembers(f.guild.ID, members[1].User.ID, 2)
	if err != nil || len(page) != 2 || page[0].User.ID != members[2].User.ID {
		t.Errorf("page = %+v, %v", page, err)
	}
	m, err := s.GuildMember(f.guild.ID, f.bob.UserID)
	if err != nil || m.User.Username != "bob" || len(m.Roles) != 1 {
		t.Errorf("member = %+v, %v", m, err)
	}
	if _, err := s.GuildMember(f.guild.ID, "123"); err == nil {
		t.Error("unknown member found")
	} else if st, code := restCode(t, err); st != 404 || code != 10007 {
		t.Errorf("unknown member: %d %d", st, code)
	}
	if got := f.srv.MemberPermissions(f.guild.ID, f.bob.UserID); got&discordgo.PermissionManageMessages == 0 || got&discordgo.PermissionSendMessages == 0 {
		t.Errorf("bob's permissions = %b", got)
	}
	if got := f.srv.MemberPermissions(f.guild.ID, f.guild.OwnerID); got&discordgo.PermissionAdministrator == 0 {
		t.Error("the owner lacks Administrator")
	}
}

func TestChannelsThreadsPinsWebhooks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := openBot(t, f.srv, allIntents)
	threads := record[*discordgo.ThreadCreate](s)

	cat, err := s.GuildChannelCreate(f.guild.ID, "support", discordgo.ChannelTypeGuildCategory)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.GuildChannelCreateComplex(f.guild.ID, discordgo.GuildChannelCreateData{Name: "tickets", Type: discordgo.ChannelTypeGuildText, ParentID: cat.ID, Topic: "help"})
	if err != nil || ch.ParentID != cat.ID || ch.Topic != "help" {
		t.Fatalf("channel = %+v, %v", ch, err)
	}
	topic := "new topic"
	if ch, err = s.ChannelEdit(ch.ID, &discordgo.ChannelEdit{Topic: topic}); err != nil || ch.Topic != topic {
		t.Errorf("edit = %+v, %v", ch, err)
	}

	m, _ := f.srv.SendMessage(ch.ID, f.alice.UserID, "my printer is on fire")
	th, err := s.MessageThreadStart(ch.ID, m.ID, "printer", 60)
	if err != nil {
		t.Fatal(err)
	}
	if th.ID != m.ID || th.ParentID != ch.ID || th.Type != discordgo.ChannelTypeGuildPublicThread {
		t.Errorf("thread = %+v", th)
	}
	threads.wait(t, "THREAD_CREATE", func(c *discordgo.ThreadCreate) bool { return c.ID == th.ID })
	if _, err := s.ChannelMessageSend(th.ID, "on it"); err != nil {
		t.Fatal(err)
	}
	if err := s.ThreadMemberAdd(th.ID, f.alice.UserID); err != nil {
		t.Fatal(err)
	}
	active, err := s.GuildThreadsActive(f.guild.ID)
	if err != nil || len(active.Threads) != 1 {
		t.Errorf("active = %+v, %v", active, err)
	}

	if err := s.ChannelMessagePin(ch.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	pins, err := s.ChannelMessagesPinned(ch.ID)
	if err != nil || len(pins) != 1 || !pins[0].Pinned {
		t.Errorf("pins = %+v, %v", pins, err)
	}

	hook, err := s.WebhookCreate(ch.ID, "notifier", "")
	if err != nil || hook.Token == "" {
		t.Fatalf("webhook = %+v, %v", hook, err)
	}
	posted, err := s.WebhookExecute(hook.ID, hook.Token, true, &discordgo.WebhookParams{Content: "build passed", Username: "CI"})
	if err != nil {
		t.Fatal(err)
	}
	if posted.WebhookID != hook.ID || posted.Author.Username != "CI" {
		t.Errorf("webhook message = %+v author %+v", posted, posted.Author)
	}
	if hooks := f.srv.Webhooks(f.guild.ID); len(hooks) != 1 || hooks[0].Name != "notifier" {
		t.Errorf("webhooks = %+v", hooks)
	}
	if err := s.WebhookDelete(hook.ID); err != nil {
		t.Fatal(err)
	}

	if _, err := s.ChannelDelete(cat.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Channel(cat.ID); err == nil {
		t.Error("deleted channel still there")
	} else if _, code := restCode(t, err); code != 10003 {
		t.Errorf("code = %d, want 10003", code)
	}
}

func TestUsersAndDMs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := newBot(t, f.srv, allIntents)
	me, err := s.User("@me")
	if err != nil || me.ID != f.srv.BotUserID() || !me.Bot {
		t.Fatalf("@me = %+v, %v", me, err)
	}
	if u, err := s.User(f.alice.UserID); err != nil || u.Username != "alice" {
		t.Errorf("user = %+v, %v", u, err)
	}
	if _, err := s.User("42"); err == nil {
		t.Error("unknown user found")
	} else if _, code := restCode(t, err); code != 10013 {
		t.Errorf("code = %d, want 10013", code)
	}
	dm, err := s.UserChannelCreate(f.alice.UserID)
	if err != nil || dm.Type != discordgo.ChannelTypeDM || len(dm.Recipients) != 1 {
		t.Fatalf("dm = %+v, %v", dm, err)
	}
	if _, err := s.ChannelMessageSend(dm.ID, "welcome!"); err != nil {
		t.Fatal(err)
	}
	if dms := f.srv.DMs(f.alice.UserID); len(dms) != 1 || dms[0].Content != "welcome!" {
		t.Errorf("DMs = %+v", dms)
	}
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	srv := NewForTest(t, Options{})
	req, _ := http.NewRequest("GET", "https://discord.com/api/v9/users/@me", nil)
	req.Header.Set("Authorization", "Bot wrong")
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !bytes.Contains(body, []byte(`"401: Unauthorized"`)) {
		t.Errorf("unauthorized = %d %s", resp.StatusCode, body)
	}
	// Other hosts are refused by the client.
	if _, err := srv.HTTPClient().Get("https://example.com/"); err == nil {
		t.Error("request to a non-Discord host went through")
	}
}

type refuseEmbeds struct{}

func (refuseEmbeds) ValidateRequest(method, path, rawQuery, contentType string, body []byte) error {
	if bytes.Contains(body, []byte(`"forbidden"`)) {
		return errors.New("body field content: must not say forbidden")
	}
	if !strings.HasPrefix(path, "/api/v9/") {
		return errors.New("path: " + path + " does not start /api/v9/")
	}
	return nil
}

func TestValidatorAndUnknownRoutesAreViolations(t *testing.T) {
	t.Parallel()
	srv, err := New(Options{Validator: refuseEmbeds{}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	g := srv.CreateGuild("g")
	ch := srv.AddChannel(g.ID, "general", discordgo.ChannelTypeGuildText)
	s := newBot(t, srv, allIntents)

	if _, err := s.ChannelMessageSend(ch.ID, "fine"); err != nil {
		t.Fatalf("valid request refused: %v", err)
	}
	if v := srv.Violations(); len(v) != 0 {
		t.Fatalf("violations after a valid request: %v", v)
	}
	_, err = s.ChannelMessageSend(ch.ID, "forbidden")
	if err == nil {
		t.Fatal("refused request succeeded")
	}
	if st, code := restCode(t, err); st != 400 || code != 50035 {
		t.Errorf("validator refusal = %d/%d, want 400/50035", st, code)
	}
	_, err = s.Request("GET", discordgo.EndpointAPI+"no/such/route", nil)
	if st, code := restCode(t, err); st != 404 || code != 0 {
		t.Errorf("unknown route = %d/%d, want 404/0", st, code)
	}
	v := srv.Violations()
	if len(v) != 2 || !strings.Contains(v[0], "POST /api/v9/channels/"+ch.ID+"/messages") ||
		!strings.Contains(v[0], "must not say forbidden") || !strings.Contains(v[1], "GET /api/v9/no/such/route") {
		t.Errorf("violations = %q", v)
	}
	if len(srv.Messages(ch.ID)) != 1 {
		t.Error("a refused message was stored")
	}
	srv.ClearViolations()
	if len(srv.Violations()) != 0 {
		t.Error("ClearViolations kept violations")
	}
}

func TestForumPost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := newBot(t, f.srv, allIntents)
	forum := f.srv.AddChannel(f.guild.ID, "ideas", discordgo.ChannelTypeGuildForum)
	th, err := s.ForumThreadStart(forum.ID, "Dark mode", 1440, "please add dark mode")
	if err != nil {
		t.Fatal(err)
	}
	if th.ParentID != forum.ID || !th.IsThread() {
		t.Errorf("post = %+v", th)
	}
	msgs := f.srv.Messages(th.ID)
	if len(msgs) != 1 || msgs[0].Content != "please add dark mode" {
		t.Errorf("post messages = %v", contents(msgs))
	}
	if _, err := s.ChannelMessageSend(forum.ID, "not here"); err == nil {
		t.Error("posted a message straight into a forum channel")
	}
}
