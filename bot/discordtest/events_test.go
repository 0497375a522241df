package discordtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func TestSubscribeOrderAndReentrancy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	var mu sync.Mutex
	var kinds []string
	cancel := f.srv.Subscribe(func(ev Event) {
		if ev.Kind != KindMessageCreate && ev.Kind != KindRoleCreate {
			return
		}
		mu.Lock()
		kinds = append(kinds, ev.Kind+":"+ev.Detail)
		mu.Unlock()
		// A subscriber may change state: an auto-responder.
		if ev.Kind == KindMessageCreate && ev.Detail == "ping" {
			if _, err := f.srv.SendMessage(ev.ChannelID, f.bob.UserID, "pong"); err != nil {
				t.Error(err)
			}
		}
	})
	if _, err := f.srv.SendMessage(f.general.ID, f.alice.UserID, "ping"); err != nil {
		t.Fatal(err)
	}
	f.srv.AddRole(f.guild.ID, "late", 0)
	cancel()
	f.srv.AddRole(f.guild.ID, "after cancel", 0)

	mu.Lock()
	defer mu.Unlock()
	want := []string{"message_create:ping", "message_create:pong", "role_create:late"}
	if len(kinds) != len(want) {
		t.Fatalf("events = %q, want %q", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events = %q, want %q", kinds, want)
		}
	}
}

func TestWaitFor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	done := make(chan error, 1)
	go func() {
		done <- f.srv.WaitFor(testContext(t), func() bool { return len(f.srv.Messages(f.general.ID)) == 2 })
	}()
	for _, c := range []string{"a", "b"} {
		if _, err := f.srv.SendMessage(f.general.ID, f.alice.UserID, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.srv.WaitFor(ctx, func() bool { return false }); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestSetupChangesAreDispatched(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := openBot(t, f.srv, allIntents)
	adds := record[*discordgo.GuildMemberAdd](s)
	removes := record[*discordgo.GuildMemberRemove](s)
	roles := record[*discordgo.GuildRoleCreate](s)
	chans := record[*discordgo.ChannelCreate](s)
	guilds := record[*discordgo.GuildCreate](s)

	dave := f.srv.AddMember(f.guild.ID, "dave", f.mod.ID)
	adds.wait(t, "GUILD_MEMBER_ADD", func(m *discordgo.GuildMemberAdd) bool { return m.User.ID == dave.UserID && m.GuildID == f.guild.ID })
	if err := f.srv.RemoveMember(f.guild.ID, dave.UserID); err != nil {
		t.Fatal(err)
	}
	removes.wait(t, "GUILD_MEMBER_REMOVE", func(m *discordgo.GuildMemberRemove) bool { return m.User.ID == dave.UserID })
	r := f.srv.AddRole(f.guild.ID, "vip", discordgo.PermissionSendMessages)
	roles.wait(t, "GUILD_ROLE_CREATE", func(e *discordgo.GuildRoleCreate) bool { return e.Role.ID == r.ID })
	c := f.srv.AddChannel(f.guild.ID, "news", discordgo.ChannelTypeGuildText)
	chans.wait(t, "CHANNEL_CREATE", func(e *discordgo.ChannelCreate) bool { return e.ID == c.ID })
	g2 := f.srv.CreateGuild("Second")
	guilds.wait(t, "GUILD_CREATE for a new guild", func(e *discordgo.GuildCreate) bool { return e.ID == g2.ID })

	// The new role sits just below the bot's role.
	var bot, vip int
	for _, role := range f.srv.Roles(f.guild.ID) {
		switch role.ID {
		case f.guild.BotRoleID:
			bot = role.Position
		case r.ID:
			vip = role.Position
		}
	}
	if vip != bot-1 {
		t.Errorf("vip at %d, bot at %d", vip, bot)
	}
}

func TestEventsDescribeRESTActions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := newBot(t, f.srv, allIntents)
	evs := make(chan Event, 16)
	defer f.srv.Subscribe(func(ev Event) { evs <- ev })()
	until := time.Now().Add(time.Hour)
	if err := s.GuildMemberTimeout(f.guild.ID, f.alice.UserID, &until); err != nil {
		t.Fatal(err)
	}
	ev := <-evs
	if ev.Kind != KindMemberUpdate || ev.UserID != f.alice.UserID || ev.ActorID != f.srv.BotUserID() || ev.GuildID != f.guild.ID {
		t.Errorf("event = %+v", ev)
	}
}
