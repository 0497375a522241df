package bot

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
)

// This file turns the guild gateway events extensions can subscribe to
// (extensions.GuildEvents) into extensions.GuildEvent snapshots: plain
// JSON-ready maps with ids as strings and times as epoch milliseconds,
// never discordgo objects. EventDocs is the one description of every
// snapshot, the source for the author guide; a test checks the snapshots
// against it.

// EventTypes are the shapes EventDocs refer to, in TypeScript notation.
// Times are epoch milliseconds; null where Discord or the cache does not
// say.
const EventTypes = `type User = { id: string, username: string, globalName: string|null, bot: boolean, createdTimestamp: number }
type Author = { id: string, username: string, bot: boolean }
type Member = { id: string, nickname: string|null, displayName: string, joinedTimestamp: number|null, roles: string[], user: User }
type Message = { id: string, content: string, channelId: string, author: Author|null, createdTimestamp: number|null, editedTimestamp: number|null, mentions: string[], attachments: number }
type Role = { id: string, name: string, color: number, position: number, permissions: string, hoist: boolean, mentionable: boolean, managed: boolean }
type Channel = { id: string, name: string, type: number, parentId: string|null, topic: string|null, nsfw: boolean, position: number }
type Thread = Channel & { archived: boolean, locked: boolean, ownerId: string|null }
type Emoji = { id: string|null, name: string, animated: boolean }`

// EventDoc documents one guild event for extension authors.
type EventDoc struct {
	Name string
	// Data is the shape of event.data (see EventTypes).
	Data string
	// Channel and User say what the event's channelId and userId are; ""
	// when the event has none.
	Channel, User string
	// Notes are caveats worth an author's attention.
	Notes string
}

// EventDocs describe every event of extensions.GuildEvents, in that order.
// permissions is a decimal string (a 64-bit bit set does not fit a JS
// number); type is Discord's channel type number. Messages of skybot
// itself (and members, reactions and voice states that are skybot's) are
// SelfCaused and reach no extension; those of other bots are FromBot.
var EventDocs = []EventDoc{
	{Name: "messageCreate", Data: "Message", Channel: "the message's channel", User: "the author"},
	{Name: "messageUpdate", Data: "Message & { oldContent?: string }", Channel: "the message's channel", User: "the author",
		Notes: "oldContent only when the message was in skybot's message cache; author is null for partial updates (embeds resolved) of uncached messages"},
	{Name: "messageDelete", Data: "{ id: string, channelId: string, content: string|null, author: Author|null, createdTimestamp: number|null }",
		Channel: "the message's channel", User: "the author, when known",
		Notes: "content, author and createdTimestamp only when the message was in skybot's message cache"},
	{Name: "messageDeleteBulk", Data: "{ ids: string[], channelId: string }", Channel: "the channel"},
	{Name: "messageReactionAdd", Data: "{ messageId: string, channelId: string, userId: string, emoji: Emoji }", Channel: "the message's channel", User: "who reacted"},
	{Name: "messageReactionRemove", Data: "{ messageId: string, channelId: string, userId: string, emoji: Emoji }", Channel: "the message's channel", User: "whose reaction went"},
	{Name: "messageReactionRemoveAll", Data: "{ messageId: string, channelId: string }", Channel: "the message's channel"},
	{Name: "guildMemberAdd", Data: "Member", User: "the member"},
	{Name: "guildMemberRemove", Data: "Member", User: "the member",
		Notes: "Discord sends only the user: nickname is null, roles empty, joinedTimestamp null"},
	{Name: "guildMemberUpdate", Data: "Member & { oldNickname?: string|null, oldRoles?: string[] }", User: "the member",
		Notes: "oldNickname and oldRoles only when skybot had the member cached"},
	{Name: "guildBanAdd", Data: "{ user: Author }", User: "the banned user"},
	{Name: "guildBanRemove", Data: "{ user: Author }", User: "the unbanned user"},
	{Name: "roleCreate", Data: "{ role: Role }"},
	{Name: "roleUpdate", Data: "{ role: Role }"},
	{Name: "roleDelete", Data: "{ roleId: string }"},
	{Name: "channelCreate", Data: "{ channel: Channel }", Channel: "the channel"},
	{Name: "channelUpdate", Data: "{ channel: Channel }", Channel: "the channel"},
	{Name: "channelDelete", Data: "{ channel: Channel }", Channel: "the channel"},
	{Name: "channelPinsUpdate", Data: "{ channelId: string, lastPinTimestamp: number|null }", Channel: "the channel"},
	{Name: "threadCreate", Data: "{ channel: Thread }", Channel: "the thread", User: "who started it",
		Notes: "only for new threads, not when skybot is added to an existing one"},
	{Name: "threadUpdate", Data: "{ channel: Thread }", Channel: "the thread"},
	{Name: "threadDelete", Data: "{ channel: { id: string, type: number, parentId: string|null } }", Channel: "the thread",
		Notes: "Discord sends only the ids and type of a deleted thread"},
	{Name: "emojiCreate", Data: "{ emoji: Emoji }"},
	{Name: "emojiUpdate", Data: "{ emoji: Emoji, oldName: string }"},
	{Name: "emojiDelete", Data: "{ emoji: Emoji }"},
	{Name: "guildUpdate", Data: "{ id: string, name: string, ownerId: string, icon: string|null, memberCount: number }"},
	{Name: "voiceStateUpdate", Data: "{ userId: string, channelId: string|null, oldChannelId: string|null, selfMute: boolean, selfDeaf: boolean }",
		Channel: "the channel joined, or left", User: "the member",
		Notes: "channelId is null when the member left voice; oldChannelId is null when they joined, or when skybot did not know"},
}

// EventSinkOptions tune RegisterEventSinkWith.
type EventSinkOptions struct {
	// Timeout bounds the sink's handling of one event; zero means 30 s.
	Timeout time.Duration
	// Log receives panics and undecodable events; nil means slog.Default().
	Log *slog.Logger
}

// RegisterEventSink adds discordgo handlers that turn every event of
// extensions.GuildEvents into a GuildEvent for sink, and returns the
// function that removes them. See RegisterEventSinkWith.
func RegisterEventSink(s *discordgo.Session, sink extensions.EventSink) (remove func()) {
	return RegisterEventSinkWith(s, sink, EventSinkOptions{})
}

// RegisterEventSinkWith is RegisterEventSink with options. Each event is
// delivered on its own goroutine (discordgo's handlers run concurrently
// unless Session.SyncEvents is set), with a context that ends after
// opts.Timeout; a panic while making or delivering a snapshot is logged and
// dropped. Events outside a guild (DMs) are not delivered.
//
// What the snapshots can say about the past depends on discordgo's state:
// oldContent and deleted messages need Session.State.MaxMessageCount > 0,
// oldRoles/oldNickname need member tracking (the GUILD_MEMBERS intent),
// oldChannelId needs voice tracking. Emoji events are made by diffing
// GUILD_EMOJIS_UPDATE against the list this registration remembers per
// guild from GUILD_CREATE.
func RegisterEventSinkWith(s *discordgo.Session, sink extensions.EventSink, opts EventSinkOptions) (remove func()) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	r := &eventRouter{sink: sink, timeout: opts.Timeout, log: opts.Log, emojis: map[string]*guildEmojis{}}
	r.seedEmojisFromState(s)
	membersOf(s) // counted from the first GUILD_CREATE on
	removers := []func(){
		s.AddHandler(r.onMessageCreate),
		s.AddHandler(r.onMessageUpdate),
		s.AddHandler(r.onMessageDelete),
		s.AddHandler(r.onMessageDeleteBulk),
		s.AddHandler(r.onReactionAdd),
		s.AddHandler(r.onReactionRemove),
		s.AddHandler(r.onReactionRemoveAll),
		s.AddHandler(r.onMemberAdd),
		s.AddHandler(r.onMemberRemove),
		s.AddHandler(r.onMemberUpdate),
		s.AddHandler(r.onBanAdd),
		s.AddHandler(r.onBanRemove),
		s.AddHandler(r.onRoleCreate),
		s.AddHandler(r.onRoleUpdate),
		s.AddHandler(r.onRoleDelete),
		s.AddHandler(r.onChannelCreate),
		s.AddHandler(r.onChannelUpdate),
		s.AddHandler(r.onChannelDelete),
		s.AddHandler(r.onChannelPinsUpdate),
		s.AddHandler(r.onThreadCreate),
		s.AddHandler(r.onThreadUpdate),
		s.AddHandler(r.onThreadDelete),
		s.AddHandler(r.onGuildUpdate),
		s.AddHandler(r.onVoiceStateUpdate),
		s.AddHandler(r.onRawEvent), // emoji events
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, rm := range removers {
				rm()
			}
		})
	}
}

type eventRouter struct {
	sink    extensions.EventSink
	timeout time.Duration
	log     *slog.Logger

	emojiMu sync.Mutex
	emojis  map[string]*guildEmojis // guild id → last known custom emojis
}

// guard recovers a panic in making or delivering an event, so that one bad
// event cannot take the bot down, and logs it loudly.
func (r *eventRouter) guard(event string) {
	if v := recover(); v != nil {
		r.log.Error("guild event handler panicked", "event", event, "panic", v, "stack", string(debug.Stack()))
	}
}

// builder makes a snapshot; self is skybot's user id. It reports false to
// drop the event.
type builder func(self string) (extensions.GuildEvent, bool)

// emit makes the named event with build and delivers it.
func (r *eventRouter) emit(s *discordgo.Session, name string, build builder) {
	defer r.guard(name)
	ev, ok := snapshot(s, build)
	if !ok || ev.GuildID == "" {
		return
	}
	ev.Name = name
	r.deliver(ev)
}

// snapshot runs build under the State's read lock: discordgo keeps some of
// the objects it hands to handlers (a new member, a cached message) and
// updates them in place from its event goroutine. build must not call
// State methods, which lock again.
func snapshot(s *discordgo.Session, build builder) (extensions.GuildEvent, bool) {
	st := s.State
	if st == nil {
		return build("")
	}
	st.RLock()
	defer st.RUnlock()
	self := ""
	if st.User != nil {
		self = st.User.ID
	}
	return build(self)
}

func (r *eventRouter) deliver(ev extensions.GuildEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	r.sink(ctx, ev)
}

// stateMember looks a member up in State before a builder runs (it takes
// State's lock itself); the builder reads it under the lock.
func stateMember(s *discordgo.Session, guildID, userID string) *discordgo.Member {
	if s.State == nil || guildID == "" || userID == "" {
		return nil
	}
	m, err := s.State.Member(guildID, userID)
	if err != nil {
		return nil
	}
	return m
}

// Messages.

func (r *eventRouter) onMessageCreate(s *discordgo.Session, e *discordgo.MessageCreate) {
	r.emit(s, "messageCreate", func(self string) (extensions.GuildEvent, bool) {
		if e.Message == nil {
			return extensions.GuildEvent{}, false
		}
		return messageEvent(e.Message, e.Author, self, messageData(e.Message)), true
	})
}

func (r *eventRouter) onMessageUpdate(s *discordgo.Session, e *discordgo.MessageUpdate) {
	r.emit(s, "messageUpdate", func(self string) (extensions.GuildEvent, bool) {
		if e.Message == nil {
			return extensions.GuildEvent{}, false
		}
		data := messageData(e.Message)
		author := e.Author
		if old := e.BeforeUpdate; old != nil {
			data["oldContent"] = old.Content
			if author == nil {
				author = old.Author
				data["author"] = authorData(author)
			}
		}
		return messageEvent(e.Message, author, self, data), true
	})
}

func (r *eventRouter) onMessageDelete(s *discordgo.Session, e *discordgo.MessageDelete) {
	r.emit(s, "messageDelete", func(self string) (extensions.GuildEvent, bool) {
		if e.Message == nil {
			return extensions.GuildEvent{}, false
		}
		data := map[string]any{"id": e.ID, "channelId": e.ChannelID, "content": nil, "author": nil, "createdTimestamp": nil}
		var author *discordgo.User
		if old := e.BeforeDelete; old != nil {
			author = old.Author
			data["content"], data["author"], data["createdTimestamp"] = old.Content, authorData(author), epochMs(old.Timestamp)
		}
		return messageEvent(e.Message, author, self, data), true
	})
}

// messageEvent fills the routing fields of a message event.
func messageEvent(m *discordgo.Message, author *discordgo.User, self string, data map[string]any) extensions.GuildEvent {
	ev := extensions.GuildEvent{GuildID: m.GuildID, ChannelID: m.ChannelID, Data: data}
	if author != nil {
		ev.UserID, ev.FromBot, ev.SelfCaused = author.ID, author.Bot, author.ID == self
	}
	return ev
}

func (r *eventRouter) onMessageDeleteBulk(s *discordgo.Session, e *discordgo.MessageDeleteBulk) {
	r.emit(s, "messageDeleteBulk", func(string) (extensions.GuildEvent, bool) {
		ids := append([]string{}, e.Messages...)
		return extensions.GuildEvent{GuildID: e.GuildID, ChannelID: e.ChannelID,
			Data: map[string]any{"ids": ids, "channelId": e.ChannelID}}, true
	})
}

// Reactions.

func (r *eventRouter) onReactionAdd(s *discordgo.Session, e *discordgo.MessageReactionAdd) {
	r.emit(s, "messageReactionAdd", func(self string) (extensions.GuildEvent, bool) {
		if e.MessageReaction == nil {
			return extensions.GuildEvent{}, false
		}
		return reactionEvent(e.MessageReaction, e.Member, self), true
	})
}

func (r *eventRouter) onReactionRemove(s *discordgo.Session, e *discordgo.MessageReactionRemove) {
	if e.MessageReaction == nil {
		return
	}
	mem := stateMember(s, e.GuildID, e.UserID)
	r.emit(s, "messageReactionRemove", func(self string) (extensions.GuildEvent, bool) {
		return reactionEvent(e.MessageReaction, mem, self), true
	})
}

// reactionEvent is a reaction snapshot; mem (the reacting member, if
// known) says whether a bot reacted.
func reactionEvent(re *discordgo.MessageReaction, mem *discordgo.Member, self string) extensions.GuildEvent {
	ev := extensions.GuildEvent{
		GuildID: re.GuildID, ChannelID: re.ChannelID, UserID: re.UserID, SelfCaused: re.UserID == self,
		Data: map[string]any{"messageId": re.MessageID, "channelId": re.ChannelID, "userId": re.UserID, "emoji": emojiData(&re.Emoji)},
	}
	if mem != nil && mem.User != nil {
		ev.FromBot = mem.User.Bot
	}
	return ev
}

func (r *eventRouter) onReactionRemoveAll(s *discordgo.Session, e *discordgo.MessageReactionRemoveAll) {
	r.emit(s, "messageReactionRemoveAll", func(string) (extensions.GuildEvent, bool) {
		if e.MessageReaction == nil {
			return extensions.GuildEvent{}, false
		}
		return extensions.GuildEvent{GuildID: e.GuildID, ChannelID: e.ChannelID,
			Data: map[string]any{"messageId": e.MessageID, "channelId": e.ChannelID}}, true
	})
}

// Members and bans.

func (r *eventRouter) onMemberAdd(s *discordgo.Session, e *discordgo.GuildMemberAdd) {
	r.emit(s, "guildMemberAdd", func(self string) (extensions.GuildEvent, bool) {
		return memberEvent(e.Member, self)
	})
}

func (r *eventRouter) onMemberRemove(s *discordgo.Session, e *discordgo.GuildMemberRemove) {
	r.emit(s, "guildMemberRemove", func(self string) (extensions.GuildEvent, bool) {
		return memberEvent(e.Member, self)
	})
}

func (r *eventRouter) onMemberUpdate(s *discordgo.Session, e *discordgo.GuildMemberUpdate) {
	r.emit(s, "guildMemberUpdate", func(self string) (extensions.GuildEvent, bool) {
		ev, ok := memberEvent(e.Member, self)
		if ok && e.BeforeUpdate != nil {
			ev.Data["oldNickname"] = nullable(e.BeforeUpdate.Nick)
			ev.Data["oldRoles"] = append([]string{}, e.BeforeUpdate.Roles...)
		}
		return ev, ok
	})
}

func memberEvent(m *discordgo.Member, self string) (extensions.GuildEvent, bool) {
	if m == nil || m.User == nil {
		return extensions.GuildEvent{}, false
	}
	return extensions.GuildEvent{
		GuildID: m.GuildID, UserID: m.User.ID, FromBot: m.User.Bot, SelfCaused: m.User.ID == self,
		Data: memberSnapshot(m),
	}, true
}

func (r *eventRouter) onBanAdd(s *discordgo.Session, e *discordgo.GuildBanAdd) {
	r.emit(s, "guildBanAdd", func(string) (extensions.GuildEvent, bool) { return banEvent(e.GuildID, e.User) })
}

func (r *eventRouter) onBanRemove(s *discordgo.Session, e *discordgo.GuildBanRemove) {
	r.emit(s, "guildBanRemove", func(string) (extensions.GuildEvent, bool) { return banEvent(e.GuildID, e.User) })
}

func banEvent(guildID string, u *discordgo.User) (extensions.GuildEvent, bool) {
	if u == nil {
		return extensions.GuildEvent{}, false
	}
	return extensions.GuildEvent{GuildID: guildID, UserID: u.ID, Data: map[string]any{"user": authorData(u)}}, true
}

// Roles.

func (r *eventRouter) onRoleCreate(s *discordgo.Session, e *discordgo.GuildRoleCreate) {
	r.emit(s, "roleCreate", func(string) (extensions.GuildEvent, bool) { return roleEvent(e.GuildRole) })
}

func (r *eventRouter) onRoleUpdate(s *discordgo.Session, e *discordgo.GuildRoleUpdate) {
	r.emit(s, "roleUpdate", func(string) (extensions.GuildEvent, bool) { return roleEvent(e.GuildRole) })
}

func roleEvent(gr *discordgo.GuildRole) (extensions.GuildEvent, bool) {
	if gr == nil || gr.Role == nil {
		return extensions.GuildEvent{}, false
	}
	return extensions.GuildEvent{GuildID: gr.GuildID, Data: map[string]any{"role": roleData(gr.Role)}}, true
}

func (r *eventRouter) onRoleDelete(s *discordgo.Session, e *discordgo.GuildRoleDelete) {
	r.emit(s, "roleDelete", func(string) (extensions.GuildEvent, bool) {
		return extensions.GuildEvent{GuildID: e.GuildID, Data: map[string]any{"roleId": e.RoleID}}, true
	})
}

// Channels, pins and threads.

func (r *eventRouter) onChannelCreate(s *discordgo.Session, e *discordgo.ChannelCreate) {
	r.emit(s, "channelCreate", func(string) (extensions.GuildEvent, bool) { return channelEvent(e.Channel) })
}

func (r *eventRouter) onChannelUpdate(s *discordgo.Session, e *discordgo.ChannelUpdate) {
	r.emit(s, "channelUpdate", func(string) (extensions.GuildEvent, bool) { return channelEvent(e.Channel) })
}

func (r *eventRouter) onChannelDelete(s *discordgo.Session, e *discordgo.ChannelDelete) {
	r.emit(s, "channelDelete", func(string) (extensions.GuildEvent, bool) { return channelEvent(e.Channel) })
}

func channelEvent(c *discordgo.Channel) (extensions.GuildEvent, bool) {
	if c == nil {
		return extensions.GuildEvent{}, false
	}
	return extensions.GuildEvent{GuildID: c.GuildID, ChannelID: c.ID, Data: map[string]any{"channel": channelData(c)}}, true
}

func (r *eventRouter) onChannelPinsUpdate(s *discordgo.Session, e *discordgo.ChannelPinsUpdate) {
	r.emit(s, "channelPinsUpdate", func(string) (extensions.GuildEvent, bool) {
		var last any
		if t, err := time.Parse(time.RFC3339Nano, e.LastPinTimestamp); err == nil {
			last = t.UnixMilli()
		}
		return extensions.GuildEvent{GuildID: e.GuildID, ChannelID: e.ChannelID,
			Data: map[string]any{"channelId": e.ChannelID, "lastPinTimestamp": last}}, true
	})
}

func (r *eventRouter) onThreadCreate(s *discordgo.Session, e *discordgo.ThreadCreate) {
	r.emit(s, "threadCreate", func(self string) (extensions.GuildEvent, bool) {
		if !e.NewlyCreated {
			return extensions.GuildEvent{}, false // skybot was added to an existing thread
		}
		ev, ok := channelEvent(e.Channel)
		if ok {
			ev.UserID, ev.SelfCaused = e.OwnerID, e.OwnerID != "" && e.OwnerID == self
		}
		return ev, ok
	})
}

func (r *eventRouter) onThreadUpdate(s *discordgo.Session, e *discordgo.ThreadUpdate) {
	r.emit(s, "threadUpdate", func(string) (extensions.GuildEvent, bool) { return channelEvent(e.Channel) })
}

func (r *eventRouter) onThreadDelete(s *discordgo.Session, e *discordgo.ThreadDelete) {
	r.emit(s, "threadDelete", func(string) (extensions.GuildEvent, bool) {
		if e.Channel == nil {
			return extensions.GuildEvent{}, false
		}
		return extensions.GuildEvent{GuildID: e.GuildID, ChannelID: e.ID, Data: map[string]any{
			"channel": map[string]any{"id": e.ID, "type": int(e.Type), "parentId": nullable(e.ParentID)},
		}}, true
	})
}

// Guild and voice.

func (r *eventRouter) onGuildUpdate(s *discordgo.Session, e *discordgo.GuildUpdate) {
	r.emit(s, "guildUpdate", func(string) (extensions.GuildEvent, bool) {
		g := e.Guild
		if g == nil {
			return extensions.GuildEvent{}, false
		}
		return extensions.GuildEvent{GuildID: g.ID, Data: map[string]any{
			"id": g.ID, "name": g.Name, "ownerId": g.OwnerID, "icon": nullable(g.Icon), "memberCount": memberCount(s, g.ID),
		}}, true
	})
}

func (r *eventRouter) onVoiceStateUpdate(s *discordgo.Session, e *discordgo.VoiceStateUpdate) {
	r.emit(s, "voiceStateUpdate", func(self string) (extensions.GuildEvent, bool) {
		vs := e.VoiceState
		if vs == nil {
			return extensions.GuildEvent{}, false
		}
		var old string
		if e.BeforeUpdate != nil {
			old = e.BeforeUpdate.ChannelID
		}
		ev := extensions.GuildEvent{
			GuildID: vs.GuildID, ChannelID: vs.ChannelID, UserID: vs.UserID, SelfCaused: vs.UserID == self,
			Data: map[string]any{
				"userId": vs.UserID, "channelId": nullable(vs.ChannelID), "oldChannelId": nullable(old),
				"selfMute": vs.SelfMute, "selfDeaf": vs.SelfDeaf,
			},
		}
		if ev.ChannelID == "" {
			ev.ChannelID = old
		}
		if vs.Member != nil && vs.Member.User != nil {
			ev.FromBot = vs.Member.User.Bot
		}
		return ev, true
	})
}

// Emojis. Discord sends GUILD_EMOJIS_UPDATE with a guild's whole list, and
// discordgo has replaced the list in State before any handler runs, so the
// router remembers each guild's list itself (from State at registration,
// then from every GUILD_CREATE) and diffs. Lists are read from the raw
// JSON, which nothing mutates. Handlers run on their own goroutines, in no
// guaranteed order, so the gateway sequence number of each raw event
// orders them: an update older than the list it would be diffed against
// (already reported as part of a later diff) is skipped, and updates that
// come before their guild's GUILD_CREATE wait for it.

type guildEmojis struct {
	session string // gateway session that seq belongs to
	seq     int64  // of the event emojis reflects
	emojis  []emojiInfo
	known   bool // emojis is a baseline; false while updates wait in early
	early   []emojiUpdate
}

type emojiUpdate struct {
	seq    int64
	emojis []emojiInfo
}

// maxEarlyEmojiUpdates bounds the updates kept for a guild whose
// GUILD_CREATE has not been handled yet.
const maxEarlyEmojiUpdates = 16

type emojiInfo struct {
	id, name            string
	animated, available bool
	roles               string
}

func emojiInfos(list []*discordgo.Emoji) []emojiInfo {
	out := make([]emojiInfo, 0, len(list))
	for _, e := range list {
		if e == nil {
			continue
		}
		roles, _ := json.Marshal(e.Roles)
		out = append(out, emojiInfo{id: e.ID, name: e.Name, animated: e.Animated, available: e.Available, roles: string(roles)})
	}
	return out
}

// seedEmojisFromState takes the emoji lists of the guilds State already
// has, for a registration made after the session opened.
func (r *eventRouter) seedEmojisFromState(s *discordgo.Session) {
	if s.State == nil {
		return
	}
	s.State.RLock()
	defer s.State.RUnlock()
	for _, g := range s.State.Guilds {
		if g != nil && !g.Unavailable {
			r.emojis[g.ID] = &guildEmojis{session: s.State.SessionID, emojis: emojiInfos(g.Emojis), known: true}
		}
	}
}

func (r *eventRouter) onRawEvent(s *discordgo.Session, e *discordgo.Event) {
	switch e.Type {
	case "GUILD_CREATE", "GUILD_DELETE", "GUILD_EMOJIS_UPDATE":
	default:
		return
	}
	defer r.guard(e.Type)
	var p struct {
		ID          string             `json:"id"`
		GuildID     string             `json:"guild_id"`
		Unavailable bool               `json:"unavailable"`
		Emojis      []*discordgo.Emoji `json:"emojis"`
	}
	if err := json.Unmarshal(e.RawData, &p); err != nil {
		r.log.Error("undecodable gateway event", "event", e.Type, "err", err)
		return
	}
	session := sessionID(s)
	var evs []extensions.GuildEvent
	switch e.Type {
	case "GUILD_CREATE":
		if !p.Unavailable {
			evs = r.seedEmojis(p.ID, session, e.Sequence, emojiInfos(p.Emojis))
		}
	case "GUILD_DELETE":
		r.emojiMu.Lock()
		delete(r.emojis, p.ID)
		r.emojiMu.Unlock()
	case "GUILD_EMOJIS_UPDATE":
		evs = r.diffEmojis(p.GuildID, session, e.Sequence, emojiInfos(p.Emojis))
	}
	for _, ev := range evs {
		r.deliver(ev)
	}
}

func sessionID(s *discordgo.Session) string {
	if s.State == nil {
		return ""
	}
	s.State.RLock()
	defer s.State.RUnlock()
	return s.State.SessionID
}

// seedEmojis takes a guild's list from GUILD_CREATE, unless a later update
// of the same session was already applied, and then applies the updates
// that came before it; it returns their events.
func (r *eventRouter) seedEmojis(guildID, session string, seq int64, list []emojiInfo) []extensions.GuildEvent {
	r.emojiMu.Lock()
	defer r.emojiMu.Unlock()
	g := r.emojis[guildID]
	if g != nil && g.known && g.session == session && g.seq > seq {
		return nil
	}
	var early []emojiUpdate
	if g != nil && !g.known && g.session == session {
		early = g.early
	}
	g = &guildEmojis{session: session, seq: seq, emojis: list, known: true}
	r.emojis[guildID] = g
	slices.SortFunc(early, func(a, b emojiUpdate) int { return cmp.Compare(a.seq, b.seq) })
	var out []extensions.GuildEvent
	for _, u := range early {
		if u.seq > g.seq {
			out = append(out, g.apply(guildID, u)...)
		}
	}
	return out
}

// diffEmojis applies an update to a guild's list and returns its events.
func (r *eventRouter) diffEmojis(guildID, session string, seq int64, list []emojiInfo) []extensions.GuildEvent {
	r.emojiMu.Lock()
	defer r.emojiMu.Unlock()
	u := emojiUpdate{seq: seq, emojis: list}
	g := r.emojis[guildID]
	switch {
	case g == nil || !g.known && g.session != session:
		r.emojis[guildID] = &guildEmojis{session: session, early: []emojiUpdate{u}}
		return nil
	case !g.known:
		if len(g.early) == maxEarlyEmojiUpdates {
			r.log.Warn("emoji updates before GUILD_CREATE; the oldest is dropped", "guild_id", guildID)
			g.early = g.early[1:]
		}
		g.early = append(g.early, u)
		return nil
	case g.session == session && g.seq > seq:
		return nil // a later update, already reported, includes this one
	}
	g.session = session
	return g.apply(guildID, u)
}

// apply moves g to u's list and returns the events that lead there:
// creates and updates in the new list's order, then deletes.
func (g *guildEmojis) apply(guildID string, u emojiUpdate) []extensions.GuildEvent {
	prev := g.emojis
	g.seq, g.emojis = u.seq, u.emojis
	before := make(map[string]emojiInfo, len(prev))
	for _, e := range prev {
		before[e.id] = e
	}
	event := func(name string, e emojiInfo) extensions.GuildEvent {
		return extensions.GuildEvent{Name: name, GuildID: guildID, Data: map[string]any{
			"emoji": map[string]any{"id": e.id, "name": e.name, "animated": e.animated},
		}}
	}
	var out []extensions.GuildEvent
	for _, e := range u.emojis {
		old, ok := before[e.id]
		switch {
		case !ok:
			out = append(out, event("emojiCreate", e))
		case old != e:
			ev := event("emojiUpdate", e)
			ev.Data["oldName"] = old.name
			out = append(out, ev)
		}
		delete(before, e.id)
	}
	for _, e := range prev {
		if _, gone := before[e.id]; gone {
			out = append(out, event("emojiDelete", e))
		}
	}
	return out
}

// Snapshot pieces (see EventTypes).

func epochMs(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func epochMsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return epochMs(*t)
}

// createdMs is the creation time a snowflake id carries.
func createdMs(id string) any {
	if id == "" {
		return nil
	}
	t, err := discordgo.SnowflakeTimestamp(id)
	if err != nil {
		return nil
	}
	return t.UnixMilli()
}

func userSnapshot(u *discordgo.User) map[string]any {
	return map[string]any{
		"id": u.ID, "username": u.Username, "globalName": nullable(u.GlobalName), "bot": u.Bot, "createdTimestamp": createdMs(u.ID),
	}
}

func authorData(u *discordgo.User) any {
	if u == nil {
		return nil
	}
	return map[string]any{"id": u.ID, "username": u.Username, "bot": u.Bot}
}

func memberSnapshot(m *discordgo.Member) map[string]any {
	u := m.User
	display := m.Nick
	if display == "" {
		display = u.GlobalName
	}
	if display == "" {
		display = u.Username
	}
	return map[string]any{
		"id": u.ID, "nickname": nullable(m.Nick), "displayName": display, "joinedTimestamp": epochMs(m.JoinedAt),
		"roles": append([]string{}, m.Roles...), "user": userSnapshot(u),
	}
}

func messageData(m *discordgo.Message) map[string]any {
	mentions := make([]string, 0, len(m.Mentions))
	for _, u := range m.Mentions {
		if u != nil {
			mentions = append(mentions, u.ID)
		}
	}
	return map[string]any{
		"id": m.ID, "content": m.Content, "channelId": m.ChannelID, "author": authorData(m.Author),
		"createdTimestamp": epochMs(m.Timestamp), "editedTimestamp": epochMsPtr(m.EditedTimestamp),
		"mentions": mentions, "attachments": len(m.Attachments),
	}
}

func roleData(r *discordgo.Role) map[string]any {
	return map[string]any{
		"id": r.ID, "name": r.Name, "color": r.Color, "position": r.Position,
		"permissions": strconv.FormatInt(r.Permissions, 10),
		"hoist":       r.Hoist, "mentionable": r.Mentionable, "managed": r.Managed,
	}
}

func channelData(c *discordgo.Channel) map[string]any {
	d := map[string]any{
		"id": c.ID, "name": c.Name, "type": int(c.Type), "parentId": nullable(c.ParentID),
		"topic": nullable(c.Topic), "nsfw": c.NSFW, "position": c.Position,
	}
	if c.IsThread() {
		archived, locked := false, false
		if md := c.ThreadMetadata; md != nil {
			archived, locked = md.Archived, md.Locked
		}
		d["archived"], d["locked"], d["ownerId"] = archived, locked, nullable(c.OwnerID)
	}
	return d
}

func emojiData(e *discordgo.Emoji) map[string]any {
	return map[string]any{"id": nullable(e.ID), "name": e.Name, "animated": e.Animated}
}
