package extensions

import "context"

// GuildEvents are the guild events extensions can subscribe to (SKYEXT.md
// A5; part B 2.5 names all but the thread events, which are new).
var GuildEvents = []string{
	"messageCreate", "messageUpdate", "messageDelete", "messageDeleteBulk",
	"messageReactionAdd", "messageReactionRemove", "messageReactionRemoveAll",
	"guildMemberAdd", "guildMemberRemove", "guildMemberUpdate",
	"guildBanAdd", "guildBanRemove",
	"roleCreate", "roleUpdate", "roleDelete",
	"channelCreate", "channelUpdate", "channelDelete", "channelPinsUpdate",
	"threadCreate", "threadUpdate", "threadDelete",
	"emojiCreate", "emojiUpdate", "emojiDelete",
	"guildUpdate", "voiceStateUpdate",
}

// GuildEvent is one gateway event as extensions receive it: a plain JSON
// snapshot made by the bot layer (ids as strings, times as epoch ms),
// never a live object.
type GuildEvent struct {
	Name      string // one of GuildEvents
	GuildID   string
	ChannelID string // the channel it happened in, if any
	UserID    string // the member it is about or who caused it, if any
	// FromBot: the event was caused by a bot's message or action; such
	// events reach only extensions that opted in. SelfCaused: skybot
	// itself caused it; such events reach no extension.
	FromBot    bool
	SelfCaused bool
	// Data is the snapshot: for member events a member object with id and
	// user{id, username, createdTimestamp}; for message events a message
	// with id, content, channelId and author{id, username, bot}; see the
	// author guide for every event's shape.
	Data map[string]any
}

// EventSink receives guild events from the gateway.
type EventSink func(ctx context.Context, ev GuildEvent)
