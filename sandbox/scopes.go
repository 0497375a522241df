package sandbox

import "slices"

// Scope is one permission an extension asks for and a guild admin grants.
type Scope struct {
	Name     string
	Category string
	// Plain words shown to the admin at install ("may ban members").
	Describe string
	// Risk is a warning shown next to the scope at consent, or "".
	Risk string
}

// Scopes is the one table of scopes (SKYEXT.md A4). Consent screens,
// manifest validation, the docs and the API table all read it.
var Scopes = []Scope{
	{"ban", "moderation", "ban and unban members", "can remove members from the server permanently"},
	{"kick", "moderation", "kick members", "can remove members from the server"},
	{"timeout", "moderation", "time members out and lift timeouts", ""},
	{"modlog", "moderation", "read and add entries of skybot's moderation log", ""},
	{"roles_read", "roles", "list and read roles and members' roles", ""},
	{"roles_manage", "roles", "create, edit and delete roles; give and take roles", "can hand out roles below skybot's own, including privileged ones"},
	{"channels_read", "channels", "list and read channels and categories", ""},
	{"channels_manage", "channels", "create, edit and delete channels; slowmode; pins", "can delete channels"},
	{"threads", "channels", "create, archive and lock threads; manage thread members", ""},
	{"guild_read", "guild", "read server settings and counts", ""},
	{"guild_manage", "guild", "change server settings skybot allows", "can rename the server and change its settings"},
	{"members_read", "members", "read members and search them by name", ""},
	{"members_manage", "members", "change nicknames and other member settings", ""},
	{"messages_read", "messages", "read recent messages in the channel of the event", ""},
	{"messages_global", "messages", "read and send in every channel of the server", "can read every channel skybot can see"},
	{"messages_write", "messages", "send messages and replies, edit its own messages", ""},
	{"messages_manage", "messages", "delete others' messages, bulk delete, pin", "can delete members' messages"},
	{"reactions", "messages", "add and remove reactions, read who reacted", ""},
	{"embed_links", "messages", "send embeds and link previews", ""},
	{"economy_read", "economy", "read balances, the leaderboard and ledger history", ""},
	{"economy_manage", "economy", "add, remove, set and transfer currency", "can change members' balances"},
	{"config", "data", "read the settings the server admin set for it (never secrets)", ""},
	{"storage", "data", "keep its own data for this server", ""},
	{"http_request", "network", "make HTTP requests to the hosts its manifest lists", "sends data to outside servers"},
	{"webhooks", "network", "create, edit and execute webhooks", "can post messages under other names"},
}

// KnownScope reports whether name is a scope of the table.
func KnownScope(name string) bool {
	_, ok := LookupScope(name)
	return ok
}

// LookupScope returns the table entry for name.
func LookupScope(name string) (Scope, bool) {
	i := slices.IndexFunc(Scopes, func(s Scope) bool { return s.Name == name })
	if i < 0 {
		return Scope{}, false
	}
	return Scopes[i], true
}

// ScopeSet is a set of granted scope names.
type ScopeSet map[string]bool

// NewScopeSet builds a set from names.
func NewScopeSet(names ...string) ScopeSet {
	s := make(ScopeSet, len(names))
	for _, n := range names {
		s[n] = true
	}
	return s
}

// Has reports whether name is in the set; the empty scope "" is always held.
func (s ScopeSet) Has(name string) bool { return name == "" || s[name] }

// Names returns the set's names in table order.
func (s ScopeSet) Names() []string {
	var out []string
	for _, sc := range Scopes {
		if s[sc.Name] {
			out = append(out, sc.Name)
		}
	}
	return out
}

// LegacyEvents are the event names a legacy (part B) event extension may
// declare (SKYEXT.md part B 2.5).
var LegacyEvents = []string{
	"channelCreate", "channelDelete", "channelUpdate", "channelPinsUpdate",
	"emojiCreate", "emojiDelete", "emojiUpdate", "guildBanAdd", "guildBanRemove",
	"guildMemberAdd", "guildMemberRemove", "guildMemberSpeaking", "guildMemberUpdate",
	"guildUpdate", "messageDelete", "messageDeleteBulk", "messageReactionAdd",
	"messageReactionRemove", "messageReactionRemoveAll", "messageUpdate",
	"roleCreate", "roleDelete", "roleUpdate", "voiceStateUpdate",
}
