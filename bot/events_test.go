package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/bot/discordtest/spec"
	"github.com/skyext/skybot/extensions"
)

// eventWait bounds every wait for a guild event.
const eventWait = 5 * time.Second

// eventRig is an emulated guild with a real discordgo session connected to
// it and RegisterEventSink collecting into events.
type eventRig struct {
	t       *testing.T
	srv     *discordtest.Server
	guild   discordtest.Guild
	general discordtest.Channel
	alice   discordtest.Member
	bob     discordtest.Member
	s       *discordgo.Session
	events  chan extensions.GuildEvent
}

// newEventRig connects a session (syncEvents makes discordgo run handlers
// in order, on its event goroutine) and registers, with opts, a sink that
// collects into rig.events, wrapped by wrap if it is not nil.
func newEventRig(t *testing.T, syncEvents bool, opts EventSinkOptions, wrap func(extensions.EventSink) extensions.EventSink) *eventRig {
	t.Helper()
	v, err := spec.Shared()
	if err != nil {
		t.Fatalf("Discord's API description: %v", err)
	}
	srv := discordtest.NewForTest(t, discordtest.Options{Validator: v})
	r := &eventRig{t: t, srv: srv, events: make(chan extensions.GuildEvent, 256)}
	r.guild = srv.CreateGuild("Events")
	r.general = srv.AddChannel(r.guild.ID, "general", discordgo.ChannelTypeGuildText)
	r.alice = srv.AddMember(r.guild.ID, "alice")
	r.bob = srv.AddMember(r.guild.ID, "bob")

	s, err := discordgo.New("Bot " + srv.Token())
	if err != nil {
		t.Fatal(err)
	}
	s.Client = srv.HTTPClient()
	s.Identify.Intents = Intents(true)
	s.State.MaxMessageCount = 100 // so that edits and deletes know the old message
	s.SyncEvents = syncEvents
	events := r.events
	sink := extensions.EventSink(func(ctx context.Context, ev extensions.GuildEvent) {
		select {
		case events <- ev:
		case <-ctx.Done():
		}
	})
	if wrap != nil {
		sink = wrap(sink)
	}
	t.Cleanup(RegisterEventSinkWith(s, sink, opts))
	ready := make(chan struct{}, 1)
	s.AddHandlerOnce(func(*discordgo.Session, *discordgo.GuildCreate) { ready <- struct{}{} })
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.ShouldReconnectOnError = false
		_ = s.Close()
	})
	select {
	case <-ready:
	case <-time.After(eventWait):
		t.Fatal("no GUILD_CREATE")
	}
	// The member counter reads the same GUILD_CREATE in a handler goroutine
	// of its own, which may not have run yet; cases that report the count
	// (guildUpdate) need it to have.
	for deadline := time.Now().Add(eventWait); memberCount(s, r.guild.ID) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the member counter never saw the GUILD_CREATE")
		}
	}
	r.s = s
	return r
}

// next returns the first event named name that match accepts (nil: any),
// skipping others, or fails the test after eventWait.
func (r *eventRig) next(name string, match func(extensions.GuildEvent) bool) extensions.GuildEvent {
	r.t.Helper()
	timeout := time.After(eventWait)
	var seen []string
	for {
		select {
		case ev := <-r.events:
			if ev.Name == name && (match == nil || match(ev)) {
				return ev
			}
			seen = append(seen, ev.Name)
		case <-timeout:
			r.t.Fatalf("no %s event within %s (saw %v)", name, eventWait, seen)
		}
	}
}

func (r *eventRig) must(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

func (r *eventRig) send(userID, content string) *discordgo.Message {
	r.t.Helper()
	m, err := r.srv.SendMessage(r.general.ID, userID, content)
	r.must(err)
	return m
}

// get walks a snapshot: get(data, "author", "id").
func get(data map[string]any, path ...string) any {
	var v any = data
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Sprintf("<no %s>", strings.Join(path, "."))
		}
		if v, ok = m[k]; !ok {
			return fmt.Sprintf("<no %s>", strings.Join(path, "."))
		}
	}
	return v
}

// want fails unless the snapshot's value at path prints as want ("<nil>"
// for null).
func want(t *testing.T, data map[string]any, wantV any, path ...string) {
	t.Helper()
	if got := get(data, path...); fmt.Sprint(got) != fmt.Sprint(wantV) {
		t.Errorf("data.%s = %v (%T), want %v", strings.Join(path, "."), got, got, wantV)
	}
}

// isMs fails unless the value at path is epoch milliseconds within a minute
// of now.
func isMs(t *testing.T, data map[string]any, path ...string) {
	t.Helper()
	ms, ok := get(data, path...).(int64)
	if d := time.Since(time.UnixMilli(ms)); !ok || d < -time.Minute || d > time.Minute {
		t.Errorf("data.%s = %v, want epoch ms of now", strings.Join(path, "."), get(data, path...))
	}
}

func named(key string, value any, path ...string) func(extensions.GuildEvent) bool {
	return func(ev extensions.GuildEvent) bool {
		return fmt.Sprint(get(ev.Data, append(path, key)...)) == fmt.Sprint(value)
	}
}

// eventCase causes one event and checks what the sink got.
type eventCase struct {
	name  string
	cause func(r *eventRig) (match func(extensions.GuildEvent) bool, check func(t *testing.T, r *eventRig, ev extensions.GuildEvent))
}

var eventCases = []eventCase{
	{"messageCreate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		m, err := r.srv.SendMessage(r.general.ID, r.alice.UserID, "hi <@"+r.bob.UserID+">",
			discordtest.Upload{Filename: "a.txt", ContentType: "text/plain", Data: []byte("a")})
		r.must(err)
		return named("id", m.ID), func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != r.general.ID || ev.UserID != r.alice.UserID || ev.FromBot || ev.SelfCaused {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, "hi <@"+r.bob.UserID+">", "content")
			want(t, ev.Data, r.general.ID, "channelId")
			want(t, ev.Data, r.alice.UserID, "author", "id")
			want(t, ev.Data, "alice", "author", "username")
			want(t, ev.Data, false, "author", "bot")
			want(t, ev.Data, []string{r.bob.UserID}, "mentions")
			want(t, ev.Data, 1, "attachments")
			want(t, ev.Data, nil, "editedTimestamp")
			isMs(t, ev.Data, "createdTimestamp")
		}
	}},
	{"messageUpdate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		m := r.send(r.alice.UserID, "first")
		_, err := r.srv.EditMessage(r.general.ID, m.ID, r.alice.UserID, "second")
		r.must(err)
		return named("id", m.ID), func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != r.general.ID || ev.UserID != r.alice.UserID {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, "second", "content")
			want(t, ev.Data, "first", "oldContent")
			want(t, ev.Data, r.alice.UserID, "author", "id")
			isMs(t, ev.Data, "editedTimestamp")
		}
	}},
	{"messageDelete", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		m := r.send(r.alice.UserID, "bye")
		r.must(r.srv.DeleteMessage(r.general.ID, m.ID, r.alice.UserID))
		return named("id", m.ID), func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != r.general.ID || ev.UserID != r.alice.UserID {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, r.general.ID, "channelId")
			want(t, ev.Data, "bye", "content")
			want(t, ev.Data, "alice", "author", "username")
			want(t, ev.Data, false, "author", "bot")
			isMs(t, ev.Data, "createdTimestamp")
		}
	}},
	{"messageDeleteBulk", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		a, b := r.send(r.alice.UserID, "a"), r.send(r.bob.UserID, "b")
		r.must(r.s.ChannelMessagesBulkDelete(r.general.ID, []string{a.ID, b.ID}))
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != r.general.ID {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, []string{a.ID, b.ID}, "ids")
			want(t, ev.Data, r.general.ID, "channelId")
		}
	}},
	{"messageReactionAdd", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		m := r.send(r.bob.UserID, "react to me")
		r.must(r.srv.AddReaction(r.general.ID, m.ID, r.alice.UserID, "party:123"))
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != r.general.ID || ev.UserID != r.alice.UserID || ev.FromBot || ev.SelfCaused {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, m.ID, "messageId")
			want(t, ev.Data, r.general.ID, "channelId")
			want(t, ev.Data, r.alice.UserID, "userId")
			want(t, ev.Data, "123", "emoji", "id")
			want(t, ev.Data, "party", "emoji", "name")
			want(t, ev.Data, false, "emoji", "animated")
		}
	}},
	{"messageReactionRemove", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		m := r.send(r.bob.UserID, "react to me")
		r.must(r.srv.AddReaction(r.general.ID, m.ID, r.alice.UserID, "👍"))
		r.must(r.srv.RemoveReaction(r.general.ID, m.ID, r.alice.UserID, "👍"))
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != r.general.ID || ev.UserID != r.alice.UserID || ev.FromBot {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, m.ID, "messageId")
			want(t, ev.Data, nil, "emoji", "id")
			want(t, ev.Data, "👍", "emoji", "name")
		}
	}},
	{"messageReactionRemoveAll", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		m := r.send(r.bob.UserID, "react to me")
		r.must(r.srv.AddReaction(r.general.ID, m.ID, r.alice.UserID, "👍"))
		r.must(r.s.MessageReactionsRemoveAll(r.general.ID, m.ID))
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != r.general.ID {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, m.ID, "messageId")
			want(t, ev.Data, r.general.ID, "channelId")
		}
	}},
	{"guildMemberAdd", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		dave := r.srv.AddMember(r.guild.ID, "dave")
		return named("id", dave.UserID), func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.UserID != dave.UserID || ev.ChannelID != "" || ev.FromBot || ev.SelfCaused {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, nil, "nickname")
			want(t, ev.Data, "dave", "displayName")
			want(t, ev.Data, []string{}, "roles")
			want(t, ev.Data, dave.UserID, "user", "id")
			want(t, ev.Data, "dave", "user", "username")
			want(t, ev.Data, "dave", "user", "globalName")
			want(t, ev.Data, false, "user", "bot")
			isMs(t, ev.Data, "user", "createdTimestamp")
			isMs(t, ev.Data, "joinedTimestamp")
		}
	}},
	{"guildMemberRemove", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		r.must(r.srv.RemoveMember(r.guild.ID, r.alice.UserID))
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.UserID != r.alice.UserID {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, r.alice.UserID, "id")
			want(t, ev.Data, "alice", "user", "username")
			isMs(t, ev.Data, "user", "createdTimestamp")
		}
	}},
	{"guildMemberUpdate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		vip := r.srv.AddRole(r.guild.ID, "vip", 0)
		r.must(r.srv.SetNick(r.guild.ID, r.alice.UserID, "Ally"))
		r.must(r.s.GuildMemberRoleAdd(r.guild.ID, r.alice.UserID, vip.ID))
		return func(ev extensions.GuildEvent) bool { return len(ev.Data["roles"].([]string)) == 1 },
			func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
				if ev.UserID != r.alice.UserID || ev.SelfCaused {
					t.Errorf("event = %+v", ev)
				}
				want(t, ev.Data, []string{vip.ID}, "roles")
				want(t, ev.Data, []string{}, "oldRoles")
				want(t, ev.Data, "Ally", "nickname")
				want(t, ev.Data, "Ally", "oldNickname")
				want(t, ev.Data, "Ally", "displayName")
			}
	}},
	{"guildBanAdd", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		r.must(r.s.GuildBanCreate(r.guild.ID, r.alice.UserID, 0))
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.UserID != r.alice.UserID {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, r.alice.UserID, "user", "id")
			want(t, ev.Data, "alice", "user", "username")
			want(t, ev.Data, false, "user", "bot")
		}
	}},
	{"guildBanRemove", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		r.must(r.s.GuildBanCreate(r.guild.ID, r.alice.UserID, 0))
		r.must(r.s.GuildBanDelete(r.guild.ID, r.alice.UserID))
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.UserID != r.alice.UserID {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, "alice", "user", "username")
		}
	}},
	{"roleCreate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		vip := r.srv.AddRole(r.guild.ID, "vip", discordgo.PermissionSendMessages|discordgo.PermissionBanMembers)
		return named("id", vip.ID, "role"), func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			want(t, ev.Data, "vip", "role", "name")
			want(t, ev.Data, fmt.Sprint(discordgo.PermissionSendMessages|discordgo.PermissionBanMembers), "role", "permissions")
			if _, ok := get(ev.Data, "role", "permissions").(string); !ok {
				t.Error("permissions must be a decimal string")
			}
			want(t, ev.Data, vip.Position, "role", "position")
			want(t, ev.Data, 0, "role", "color")
			want(t, ev.Data, false, "role", "managed")
			want(t, ev.Data, false, "role", "hoist")
			want(t, ev.Data, false, "role", "mentionable")
		}
	}},
	{"roleUpdate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		vip := r.srv.AddRole(r.guild.ID, "vip", 0)
		color, hoist := 0xff0000, true
		_, err := r.s.GuildRoleEdit(r.guild.ID, vip.ID, &discordgo.RoleParams{Name: "gold", Color: &color, Hoist: &hoist})
		r.must(err)
		return named("name", "gold", "role"), func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			want(t, ev.Data, vip.ID, "role", "id")
			want(t, ev.Data, 0xff0000, "role", "color")
			want(t, ev.Data, true, "role", "hoist")
		}
	}},
	{"roleDelete", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		vip := r.srv.AddRole(r.guild.ID, "vip", 0)
		r.must(r.s.GuildRoleDelete(r.guild.ID, vip.ID))
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			want(t, ev.Data, vip.ID, "roleId")
		}
	}},
	{"channelCreate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		news := r.srv.AddChannel(r.guild.ID, "news", discordgo.ChannelTypeGuildText)
		return named("id", news.ID, "channel"), func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != news.ID {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, "news", "channel", "name")
			want(t, ev.Data, int(discordgo.ChannelTypeGuildText), "channel", "type")
			want(t, ev.Data, nil, "channel", "parentId")
			want(t, ev.Data, nil, "channel", "topic")
			want(t, ev.Data, false, "channel", "nsfw")
			want(t, ev.Data, 1, "channel", "position")
		}
	}},
	{"channelUpdate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		_, err := r.s.ChannelEdit(r.general.ID, &discordgo.ChannelEdit{Topic: "chat here"})
		r.must(err)
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != r.general.ID {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, "general", "channel", "name")
			want(t, ev.Data, "chat here", "channel", "topic")
		}
	}},
	{"channelDelete", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		old := r.srv.AddChannel(r.guild.ID, "old", discordgo.ChannelTypeGuildText)
		_, err := r.s.ChannelDelete(old.ID)
		r.must(err)
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != old.ID {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, old.ID, "channel", "id")
			want(t, ev.Data, "old", "channel", "name")
		}
	}},
	{"channelPinsUpdate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		m := r.send(r.alice.UserID, "pin me")
		r.must(r.s.ChannelMessagePin(r.general.ID, m.ID))
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != r.general.ID {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, r.general.ID, "channelId")
			isMs(t, ev.Data, "lastPinTimestamp")
		}
	}},
	{"threadCreate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		th, err := r.srv.AddThread(r.general.ID, r.alice.UserID, "plans")
		r.must(err)
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != th.ID || ev.UserID != r.alice.UserID || ev.SelfCaused {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, "plans", "channel", "name")
			want(t, ev.Data, int(discordgo.ChannelTypeGuildPublicThread), "channel", "type")
			want(t, ev.Data, r.general.ID, "channel", "parentId")
			want(t, ev.Data, r.alice.UserID, "channel", "ownerId")
			want(t, ev.Data, false, "channel", "archived")
			want(t, ev.Data, false, "channel", "locked")
		}
	}},
	{"threadUpdate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		th, err := r.srv.AddThread(r.general.ID, r.alice.UserID, "plans")
		r.must(err)
		yes := true
		_, err = r.s.ChannelEdit(th.ID, &discordgo.ChannelEdit{Archived: &yes, Locked: &yes})
		r.must(err)
		return named("archived", true, "channel"), func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != th.ID {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, true, "channel", "locked")
			want(t, ev.Data, "plans", "channel", "name")
		}
	}},
	{"threadDelete", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		th, err := r.srv.AddThread(r.general.ID, r.alice.UserID, "plans")
		r.must(err)
		_, err = r.s.ChannelDelete(th.ID)
		r.must(err)
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != th.ID {
				t.Errorf("event = %+v", ev)
			}
			want(t, ev.Data, th.ID, "channel", "id")
			want(t, ev.Data, r.general.ID, "channel", "parentId")
			want(t, ev.Data, int(discordgo.ChannelTypeGuildPublicThread), "channel", "type")
		}
	}},
	{"emojiCreate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		e, err := r.srv.AddEmoji(r.guild.ID, "party", true)
		r.must(err)
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			want(t, ev.Data, e.ID, "emoji", "id")
			want(t, ev.Data, "party", "emoji", "name")
			want(t, ev.Data, true, "emoji", "animated")
		}
	}},
	{"emojiUpdate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		e, err := r.srv.AddEmoji(r.guild.ID, "party", false)
		r.must(err)
		r.next("emojiCreate", nil) // the rename must be diffed against a list that has it
		r.must(r.srv.RenameEmoji(r.guild.ID, e.ID, "fiesta"))
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			want(t, ev.Data, e.ID, "emoji", "id")
			want(t, ev.Data, "fiesta", "emoji", "name")
			want(t, ev.Data, "party", "oldName")
		}
	}},
	{"emojiDelete", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		keep, err := r.srv.AddEmoji(r.guild.ID, "keep", false)
		r.must(err)
		gone, err := r.srv.AddEmoji(r.guild.ID, "gone", false)
		r.must(err)
		r.next("emojiCreate", named("id", gone.ID, "emoji"))
		r.must(r.srv.DeleteEmoji(r.guild.ID, gone.ID))
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			want(t, ev.Data, gone.ID, "emoji", "id")
			want(t, ev.Data, "gone", "emoji", "name")
			if keep.ID == gone.ID {
				t.Error("same ids")
			}
		}
	}},
	{"guildUpdate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		r.must(r.srv.SetOwner(r.guild.ID, r.alice.UserID))
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			want(t, ev.Data, r.guild.ID, "id")
			want(t, ev.Data, "Events", "name")
			want(t, ev.Data, r.alice.UserID, "ownerId")
			want(t, ev.Data, nil, "icon")
			want(t, ev.Data, 4, "memberCount") // owner, skybot, alice, bob
		}
	}},
	{"voiceStateUpdate", func(r *eventRig) (func(extensions.GuildEvent) bool, func(*testing.T, *eventRig, extensions.GuildEvent)) {
		lounge := r.srv.AddChannel(r.guild.ID, "Lounge", discordgo.ChannelTypeGuildVoice)
		games := r.srv.AddChannel(r.guild.ID, "Games", discordgo.ChannelTypeGuildVoice)
		r.must(r.srv.JoinVoice(r.guild.ID, lounge.ID, r.alice.UserID))
		join := r.next("voiceStateUpdate", nil)
		if join.ChannelID != lounge.ID || join.UserID != r.alice.UserID || join.FromBot || join.SelfCaused {
			r.t.Errorf("join = %+v", join)
		}
		want(r.t, join.Data, r.alice.UserID, "userId")
		want(r.t, join.Data, lounge.ID, "channelId")
		want(r.t, join.Data, nil, "oldChannelId")
		r.must(r.srv.JoinVoice(r.guild.ID, games.ID, r.alice.UserID))
		move := r.next("voiceStateUpdate", nil)
		want(r.t, move.Data, games.ID, "channelId")
		want(r.t, move.Data, lounge.ID, "oldChannelId")
		r.must(r.srv.SetSelfMute(r.guild.ID, r.alice.UserID, true, false))
		mute := r.next("voiceStateUpdate", nil)
		want(r.t, mute.Data, true, "selfMute")
		want(r.t, mute.Data, false, "selfDeaf")
		want(r.t, mute.Data, games.ID, "channelId")
		r.must(r.srv.LeaveVoice(r.guild.ID, r.alice.UserID))
		return nil, func(t *testing.T, r *eventRig, ev extensions.GuildEvent) {
			if ev.ChannelID != games.ID || ev.UserID != r.alice.UserID {
				t.Errorf("leave = %+v: its channel is the one left", ev)
			}
			want(t, ev.Data, nil, "channelId")
			want(t, ev.Data, games.ID, "oldChannelId")
		}
	}},
}

func TestEventSinkDeliversEveryGuildEvent(t *testing.T) {
	t.Parallel()
	var names []string
	for _, c := range eventCases {
		names = append(names, c.name)
	}
	if !slices.Equal(names, extensions.GuildEvents) {
		t.Fatalf("cases = %v,\nwant extensions.GuildEvents %v", names, extensions.GuildEvents)
	}
	for _, c := range eventCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newEventRig(t, false, EventSinkOptions{}, nil)
			match, check := c.cause(r)
			ev := r.next(c.name, match)
			if ev.GuildID != r.guild.ID {
				t.Errorf("guild = %q, want %q", ev.GuildID, r.guild.ID)
			}
			check(t, r, ev)
			checkDocumented(t, ev)
		})
	}
}

// checkDocumented fails when a snapshot is not plain JSON or has a
// top-level key its EventDocs entry does not name.
func checkDocumented(t *testing.T, ev extensions.GuildEvent) {
	t.Helper()
	raw, err := json.Marshal(ev.Data)
	if err != nil {
		t.Fatalf("data is not JSON: %v", err)
	}
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil || len(back) != len(ev.Data) {
		t.Fatalf("data does not round-trip through JSON: %s", raw)
	}
	i := slices.IndexFunc(EventDocs, func(d EventDoc) bool { return d.Name == ev.Name })
	if i < 0 {
		t.Fatalf("%s is not in EventDocs", ev.Name)
	}
	shape := expandShape(EventDocs[i].Data)
	for k := range ev.Data {
		if !regexp.MustCompile(`\b` + k + `\??:`).MatchString(shape) {
			t.Errorf("%s data has %q, which EventDocs (%s) does not document", ev.Name, k, shape)
		}
	}
}

// expandShape adds the definitions of the EventTypes a shape names.
func expandShape(shape string) string {
	defs := map[string]string{}
	for _, line := range strings.Split(EventTypes, "\n") {
		if name, def, ok := strings.Cut(strings.TrimPrefix(line, "type "), " = "); ok {
			defs[name] = def
		}
	}
	for range 3 { // Thread = Channel & ...
		for name, def := range defs {
			if regexp.MustCompile(`\b`+name+`\b`).MatchString(shape) && !strings.Contains(shape, def) {
				shape += " " + def
			}
		}
	}
	return shape
}

func TestEventDocsCoverGuildEvents(t *testing.T) {
	t.Parallel()
	var names []string
	for _, d := range EventDocs {
		names = append(names, d.Name)
		if d.Data == "" {
			t.Errorf("%s: no data shape", d.Name)
		}
	}
	if !slices.Equal(names, extensions.GuildEvents) {
		t.Errorf("EventDocs = %v,\nwant extensions.GuildEvents %v", names, extensions.GuildEvents)
	}
}

func TestEventSinkBotsAndSelf(t *testing.T) {
	t.Parallel()
	r := newEventRig(t, false, EventSinkOptions{}, nil)
	deadlines := make(chan time.Duration, 4)
	remove := RegisterEventSink(r.s, func(ctx context.Context, ev extensions.GuildEvent) {
		if dl, ok := ctx.Deadline(); ok && ev.Name == "messageCreate" {
			select {
			case deadlines <- time.Until(dl):
			default:
			}
		}
	})
	defer remove()

	own, err := r.s.ChannelMessageSend(r.general.ID, "skybot speaking")
	if err != nil {
		t.Fatal(err)
	}
	ev := r.next("messageCreate", named("id", own.ID))
	if !ev.SelfCaused || !ev.FromBot || ev.UserID != r.srv.BotUserID() {
		t.Errorf("skybot's own message: %+v, want SelfCaused and FromBot", ev)
	}
	select {
	case d := <-deadlines:
		if d <= 0 || d > 30*time.Second {
			t.Errorf("sink context deadline in %s, want within 30 s", d)
		}
	case <-time.After(eventWait):
		t.Fatal("the sink's context has no deadline")
	}

	other := r.srv.AddBot(r.guild.ID, "otherbot")
	joined := r.next("guildMemberAdd", named("id", other.UserID))
	if !joined.FromBot || joined.SelfCaused {
		t.Errorf("another bot joining: %+v, want FromBot only", joined)
	}
	m := r.send(other.UserID, "beep")
	ev = r.next("messageCreate", named("id", m.ID))
	if !ev.FromBot || ev.SelfCaused || ev.UserID != other.UserID {
		t.Errorf("another bot's message: %+v, want FromBot only", ev)
	}
	want(t, ev.Data, true, "author", "bot")
	r.must(r.srv.AddReaction(r.general.ID, m.ID, other.UserID, "🤖"))
	if ev := r.next("messageReactionAdd", nil); !ev.FromBot || ev.SelfCaused {
		t.Errorf("another bot's reaction: %+v, want FromBot only", ev)
	}
	r.must(r.s.MessageReactionAdd(r.general.ID, m.ID, "👀"))
	if ev := r.next("messageReactionAdd", named("userId", r.srv.BotUserID())); !ev.SelfCaused {
		t.Errorf("skybot's reaction: %+v, want SelfCaused", ev)
	}
	r.must(r.srv.SetNick(r.guild.ID, r.srv.BotUserID(), "sky"))
	if ev := r.next("guildMemberUpdate", named("nickname", "sky")); !ev.SelfCaused || ev.UserID != r.srv.BotUserID() {
		t.Errorf("skybot's own nickname: %+v, want SelfCaused", ev)
	}
}

func TestEventSinkSurvivesPanicsAndRemoval(t *testing.T) {
	t.Parallel()
	// Handlers run in order on discordgo's event goroutine: a panic there
	// that escaped would end the test binary.
	var logged syncBuffer
	opts := EventSinkOptions{Log: slog.New(slog.NewTextHandler(&logged, nil))}
	rig := newEventRig(t, true, opts, func(next extensions.EventSink) extensions.EventSink {
		return func(ctx context.Context, ev extensions.GuildEvent) {
			if ev.Name == "messageCreate" && get(ev.Data, "content") == "boom" {
				panic("a bad event")
			}
			next(ctx, ev)
		}
	})
	rig.send(rig.alice.UserID, "boom")

	// A panic while making the snapshot (a malformed event) is recovered
	// the same way.
	r := &eventRouter{sink: func(context.Context, extensions.GuildEvent) {}, timeout: time.Second, log: discardLog()}
	r.emit(rig.s, "messageCreate", func(string) (extensions.GuildEvent, bool) { panic("bad snapshot") })

	rig.send(rig.alice.UserID, "after")
	ev := rig.next("messageCreate", nil) // the first delivered
	want(t, ev.Data, "after", "content")
	if got := logged.String(); !strings.Contains(got, "guild event handler panicked") || !strings.Contains(got, "a bad event") {
		t.Errorf("the panic was not logged: %q", got)
	}
}

func TestEventSinkRemove(t *testing.T) {
	t.Parallel()
	r := newEventRig(t, true, EventSinkOptions{}, nil)
	var removedGot []string
	remove := RegisterEventSink(r.s, func(_ context.Context, ev extensions.GuildEvent) {
		removedGot = append(removedGot, ev.Name) // SyncEvents: one goroutine
	})
	remove()
	remove() // twice is harmless
	r.send(r.alice.UserID, "hello")
	// Handlers run in registration order, so the removed sink would have
	// had "hello" before the collecting one has "marker".
	m := r.send(r.alice.UserID, "marker")
	r.next("messageCreate", named("id", m.ID))
	if len(removedGot) != 0 {
		t.Errorf("a removed sink got %v", removedGot)
	}
}

func TestEventSinkRegisteredLate(t *testing.T) {
	t.Parallel()
	r := newEventRig(t, false, EventSinkOptions{}, nil)
	e, err := r.srv.AddEmoji(r.guild.ID, "party", false)
	r.must(err)
	r.next("emojiCreate", nil) // State has the emoji now
	late := make(chan extensions.GuildEvent, 16)
	defer RegisterEventSink(r.s, func(_ context.Context, ev extensions.GuildEvent) { late <- ev })()
	r.must(r.srv.RenameEmoji(r.guild.ID, e.ID, "fiesta"))
	select {
	case ev := <-late:
		// Seeded from State: a rename, not a creation.
		if ev.Name != "emojiUpdate" || get(ev.Data, "oldName") != "party" {
			t.Errorf("late sink got %s %v, want emojiUpdate from party", ev.Name, ev.Data)
		}
	case <-time.After(eventWait):
		t.Fatal("the late sink got nothing")
	}
}

func TestThreadCreateOnlyForNewThreads(t *testing.T) {
	t.Parallel()
	s, err := discordgo.New("Bot x")
	if err != nil {
		t.Fatal(err)
	}
	var got []extensions.GuildEvent
	r := &eventRouter{sink: func(_ context.Context, ev extensions.GuildEvent) { got = append(got, ev) }, timeout: time.Second, log: discardLog()}
	thread := func(id string) *discordgo.Channel {
		return &discordgo.Channel{ID: id, GuildID: "g", Type: discordgo.ChannelTypeGuildPublicThread, OwnerID: "u"}
	}
	r.onThreadCreate(s, &discordgo.ThreadCreate{Channel: thread("old")})
	r.onThreadCreate(s, &discordgo.ThreadCreate{Channel: thread("new"), NewlyCreated: true})
	if len(got) != 1 || got[0].ChannelID != "new" || got[0].UserID != "u" {
		t.Errorf("events = %+v, want only the new thread", got)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// syncBuffer is a bytes.Buffer for a logger written from other goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestEmojiDiffOrdersBySequence(t *testing.T) {
	t.Parallel()
	r := &eventRouter{emojis: map[string]*guildEmojis{}, log: discardLog()}
	a := emojiInfo{id: "1", name: "a", available: true}
	b := emojiInfo{id: "2", name: "b", available: true}
	names := func(evs []extensions.GuildEvent) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Name+":"+fmt.Sprint(get(ev.Data, "emoji", "name")))
		}
		return out
	}
	for _, step := range []struct {
		name    string
		create  bool // GUILD_CREATE, else GUILD_EMOJIS_UPDATE
		session string
		seq     int64
		list    []emojiInfo
		want    []string
	}{
		{"updates before GUILD_CREATE wait", false, "s1", 3, []emojiInfo{a, b}, nil},
		{"in any order", false, "s1", 2, []emojiInfo{a}, nil},
		{"GUILD_CREATE replays them in order", true, "s1", 1, nil, []string{"emojiCreate:a", "emojiCreate:b"}},
		{"an older update arriving late is skipped", false, "s1", 2, []emojiInfo{a}, nil},
		{"rename and delete", false, "s1", 9, []emojiInfo{{id: "2", name: "bee", available: true}}, []string{"emojiUpdate:bee", "emojiDelete:a"}},
		{"an older GUILD_CREATE is skipped", true, "s1", 4, []emojiInfo{a, b}, nil},
		{"unchanged", false, "s1", 10, []emojiInfo{{id: "2", name: "bee", available: true}}, nil},
		{"a new session's GUILD_CREATE reseeds despite lower numbers", true, "s2", 2, []emojiInfo{a}, nil},
		{"and its updates diff against it", false, "s2", 3, nil, []string{"emojiDelete:a"}},
	} {
		var got []extensions.GuildEvent
		if step.create {
			got = r.seedEmojis("g", step.session, step.seq, step.list)
		} else {
			got = r.diffEmojis("g", step.session, step.seq, step.list)
		}
		if !slices.Equal(names(got), step.want) {
			t.Errorf("%s: events %v, want %v", step.name, names(got), step.want)
		}
		for _, ev := range got {
			if ev.GuildID != "g" {
				t.Errorf("%s: event %+v", step.name, ev)
			}
		}
	}
}
