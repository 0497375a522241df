package discordtest

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

const allIntents = discordgo.IntentsAllWithoutPrivileged | discordgo.IntentGuildMembers | discordgo.IntentMessageContent

func TestReadyAndGuildCreatePopulateState(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := newBot(t, f.srv, allIntents)
	ready := record[*discordgo.Ready](s)
	creates := record[*discordgo.GuildCreate](s)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBot(s) })

	// discordgo's state keeps and later updates the objects it hands to
	// handlers (READY's guilds become the state's guilds): read them under
	// the state's lock.
	r := ready.wait(t, "READY", func(*discordgo.Ready) bool { return true })
	s.State.RLock()
	if r.User.ID != f.srv.BotUserID() || !r.User.Bot {
		t.Errorf("READY user = %+v, want the bot %s", r.User, f.srv.BotUserID())
	}
	if r.Application == nil || r.Application.ID != f.srv.ApplicationID() {
		t.Errorf("READY application = %+v", r.Application)
	}
	if len(r.Guilds) != 1 || r.Guilds[0].ID != f.guild.ID {
		t.Errorf("READY guilds = %+v", r.Guilds)
	}
	s.State.RUnlock()
	creates.wait(t, "GUILD_CREATE", func(g *discordgo.GuildCreate) bool { return g.ID == f.guild.ID })

	g, err := s.State.Guild(f.guild.ID)
	if err != nil {
		t.Fatal(err)
	}
	ch, chErr := s.State.Channel(f.general.ID)
	m, mErr := s.State.Member(f.guild.ID, f.bob.UserID)
	s.State.RLock()
	defer s.State.RUnlock()
	if g.Name != "Test Guild" || g.OwnerID != f.guild.OwnerID || g.MemberCount != 5 {
		t.Errorf("guild = %q owner %s count %d", g.Name, g.OwnerID, g.MemberCount)
	}
	if len(g.Roles) != 4 {
		t.Errorf("roles = %d, want @everyone, mod, bot, boss", len(g.Roles))
	}
	for _, r := range g.Roles {
		if r.ID == f.guild.BotRoleID && (r.Permissions != DefaultBotPermissions || !r.Managed) {
			t.Errorf("bot role = %+v: permissions must arrive as a string bit set", r)
		}
	}
	if err := chErr; err != nil || ch.Name != "general" || ch.GuildID != f.guild.ID {
		t.Errorf("channel in state = %+v, %v", ch, err)
	}
	if err := mErr; err != nil || len(m.Roles) != 1 || m.Roles[0] != f.mod.ID || m.User.Username != "bob" {
		t.Errorf("member in state = %+v, %v", m, err)
	}
	if st := f.srv.GatewayStats(); st.Identifies != 1 || st.LastIntents != allIntents {
		t.Errorf("stats = %+v", st)
	}
}

func TestGuildMembersIntentGatesMemberList(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := newBot(t, f.srv, discordgo.IntentsGuilds)
	creates := record[*discordgo.GuildCreate](s)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBot(s) })
	g := creates.wait(t, "GUILD_CREATE", func(*discordgo.GuildCreate) bool { return true })
	if len(g.Members) != 1 || g.Members[0].User.ID != f.srv.BotUserID() || g.MemberCount != 5 {
		t.Errorf("without GUILD_MEMBERS: %d members (count %d), want only the bot", len(g.Members), g.MemberCount)
	}
}

func TestIdentifyWithWrongTokenFails(t *testing.T) {
	t.Parallel()
	srv := NewForTest(t, Options{})
	s, _ := discordgo.New("Bot not-the-token")
	s.Client = srv.HTTPClient()
	s.ShouldReconnectOnError = false
	err := s.Open()
	if err == nil {
		_ = s.Close()
		t.Fatal("Open with a wrong token succeeded")
	}
	if !strings.Contains(err.Error(), "4004") {
		t.Errorf("error = %v, want close 4004", err)
	}
}

func TestMessageContentIntent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		intents     discordgo.Intent
		mentionBot  bool
		wantContent bool
	}{
		{"with MESSAGE_CONTENT", allIntents, false, true},
		{"without MESSAGE_CONTENT", discordgo.IntentsGuilds | discordgo.IntentGuildMessages, false, false},
		{"without MESSAGE_CONTENT but mentioning the bot", discordgo.IntentsGuilds | discordgo.IntentGuildMessages, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{})
			s := openBot(t, f.srv, tc.intents)
			msgs := record[*discordgo.MessageCreate](s)
			content := "hello bot"
			if tc.mentionBot {
				content = "hey <@" + f.srv.BotUserID() + ">"
			}
			sent, err := f.srv.SendMessage(f.general.ID, f.alice.UserID, content)
			if err != nil {
				t.Fatal(err)
			}
			got := msgs.wait(t, "MESSAGE_CREATE", func(m *discordgo.MessageCreate) bool { return m.ID == sent.ID })
			if got.Author.ID != f.alice.UserID || got.GuildID != f.guild.ID || got.ChannelID != f.general.ID {
				t.Errorf("message = %+v", got.Message)
			}
			if got.Member == nil {
				t.Error("guild MESSAGE_CREATE without member")
			}
			if (got.Content == content) != tc.wantContent {
				t.Errorf("content = %q, want content %v", got.Content, tc.wantContent)
			}
		})
	}
}

func TestDirectMessageIntent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := openBot(t, f.srv, discordgo.IntentsGuilds|discordgo.IntentDirectMessages)
	msgs := record[*discordgo.MessageCreate](s)
	sent, err := f.srv.SendDM(f.alice.UserID, "psst")
	if err != nil {
		t.Fatal(err)
	}
	got := msgs.wait(t, "DM", func(m *discordgo.MessageCreate) bool { return m.ID == sent.ID })
	if got.Content != "psst" || got.GuildID != "" {
		t.Errorf("DM = %+v: DMs keep their content without MESSAGE_CONTENT", got.Message)
	}
	// The bot answers in the same channel.
	if _, err := s.ChannelMessageSend(got.ChannelID, "hi alice"); err != nil {
		t.Fatal(err)
	}
	dms := f.srv.DMs(f.alice.UserID)
	if len(dms) != 2 || dms[1].Content != "hi alice" || dms[1].Author.ID != f.srv.BotUserID() {
		t.Errorf("DMs = %+v", dms)
	}
}
