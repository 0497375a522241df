package discordtest

import (
	"encoding/json"
	"slices"
	"sort"
	"time"

	"github.com/bwmarrin/discordgo"
)

// state is the emulator's whole guild model. It is guarded by Server.mu and
// never handed out: public methods return copies rendered from it.
type state struct {
	users        map[string]*user
	guilds       map[string]*guild
	guildOrder   []string
	channels     map[string]*channel // guild channels, threads and DMs
	dmByUser     map[string]string   // user id → DM channel id with the bot
	webhooks     map[string]*webhook
	commands     map[string]*command // by id; guildID "" = global
	interactions map[string]*interaction
	byToken      map[string]*interaction // interaction token → interaction
	files        map[string]*attachment  // attachment id → stored file
	ephemeral    map[string]*message     // ephemeral interaction messages by id
}

func newState() *state {
	return &state{
		users:        map[string]*user{},
		guilds:       map[string]*guild{},
		channels:     map[string]*channel{},
		dmByUser:     map[string]string{},
		webhooks:     map[string]*webhook{},
		commands:     map[string]*command{},
		interactions: map[string]*interaction{},
		byToken:      map[string]*interaction{},
		files:        map[string]*attachment{},
		ephemeral:    map[string]*message{},
	}
}

type user struct {
	id        string
	name      string
	bot       bool
	createdAt time.Time
}

type guild struct {
	id, name    string
	ownerID     string
	description string
	botRoleID   string
	roles       map[string]*role
	members     map[string]*member
	memberOrder []string // user ids in join order
	channelIDs  []string // guild channels and threads in creation order
	bans        map[string]*ban
	banOrder    []string
	emojis      []*emoji               // custom emojis in creation order (emoji.go)
	voice       map[string]*voiceState // user id → voice state, nil until someone joins (voice.go)
	// Settings PATCH /guilds/{id} changes besides name and description:
	// the system and AFK channels ("" for none) and the AFK timeout in
	// seconds (0 stands for Discord's default, 300).
	systemChannelID, afkChannelID string
	afkTimeout                    int
	// commandAccess holds the overrides a guild admin set in Server
	// Settings → Integrations: command name → the role, user or guild
	// (@everyone) ids allowed to use it, replacing default_member_permissions.
	commandAccess map[string][]string
}

type role struct {
	id, name    string
	perms       int64
	position    int
	color       int
	hoist       bool
	mentionable bool
	managed     bool
	botID       string // for a bot's managed role
}

type member struct {
	userID       string
	nick         *string
	roles        []string
	joinedAt     time.Time
	timeoutUntil *time.Time
	deaf, mute   bool
}

type ban struct {
	userID string
	reason string
}

// overwrite is a channel permission overwrite. It is stored and echoed but
// not used in permission checks (see MemberPermissions).
type overwrite struct {
	ID    string `json:"id"`
	Type  int    `json:"type"`
	Allow string `json:"allow"`
	Deny  string `json:"deny"`
}

type channel struct {
	id, guildID  string
	name         string
	typ          discordgo.ChannelType
	position     int
	topic        *string
	parentID     string
	nsfw         bool
	slowmode     int
	overwrites   []overwrite
	messages     []*message // ordered by id
	lastMsgID    string
	lastPin      *time.Time
	recipientID  string // DM channels
	threadOwner  string
	archived     bool
	locked       bool
	autoArchive  int
	archivedAt   time.Time
	createdAt    time.Time
	threadMember map[string]time.Time // thread members and when they joined
	sentCount    int
}

func (c *channel) isThread() bool {
	switch c.typ {
	case discordgo.ChannelTypeGuildPublicThread, discordgo.ChannelTypeGuildPrivateThread, discordgo.ChannelTypeGuildNewsThread:
		return true
	}
	return false
}

func (c *channel) isDM() bool {
	return c.typ == discordgo.ChannelTypeDM || c.typ == discordgo.ChannelTypeGroupDM
}

// textual reports whether messages can be posted in the channel.
func (c *channel) textual() bool {
	switch c.typ {
	case discordgo.ChannelTypeGuildCategory, discordgo.ChannelTypeGuildForum, discordgo.ChannelTypeGuildMedia:
		return false
	}
	return true
}

// findMessage finds a message by id (messages are ordered by id) and
// returns its index, or -1 and nil.
func (c *channel) findMessage(id string) (int, *message) {
	i := sort.Search(len(c.messages), func(i int) bool { return !idLess(c.messages[i].id, id) })
	if i < len(c.messages) && c.messages[i].id == id {
		return i, c.messages[i]
	}
	return -1, nil
}

type message struct {
	id, channelID, guildID string
	authorID               string // a user id, or a webhook id for webhook messages
	webhookID              string
	webhookName            string
	appID                  string
	content                string
	embeds                 []json.RawMessage
	components             []json.RawMessage
	attachments            []*attachment
	ref                    *msgRef
	typ                    discordgo.MessageType
	flags                  int
	tts                    bool
	createdAt              time.Time
	editedAt               *time.Time
	pinned                 bool
	reactions              []*reaction
	mentions               []string
	mentionRoles           []string
	mentionEveryone        bool
	interaction            *interactionMeta
	threadID               string
}

type msgRef struct {
	messageID, channelID, guildID string
}

type interactionMeta struct {
	id, name, userID string
	typ              discordgo.InteractionType
}

type attachment struct {
	id, filename, contentType string
	channelID                 string
	data                      []byte
	ephemeral                 bool
}

type reaction struct {
	emojiID   string // "" for unicode emoji
	emojiName string
	users     []string // in reaction order
}

func (r *reaction) has(userID string) bool { return slices.Contains(r.users, userID) }

type webhook struct {
	id, token          string
	guildID, channelID string
	name               string
	creatorID          string
	appID              string
}

type command struct {
	id, guildID string
	version     string
	def         discordgo.ApplicationCommand
}

// lookups; callers hold Server.mu.

func (st *state) guild(id string) (*guild, error) {
	g, ok := st.guilds[id]
	if !ok {
		return nil, discordError(codeUnknownGuild)
	}
	return g, nil
}

func (st *state) channel(id string) (*channel, error) {
	c, ok := st.channels[id]
	if !ok {
		return nil, discordError(codeUnknownChannel)
	}
	return c, nil
}

func (st *state) user(id string) (*user, error) {
	u, ok := st.users[id]
	if !ok {
		return nil, discordError(codeUnknownUser)
	}
	return u, nil
}

func (g *guild) member(userID string) (*member, error) {
	m, ok := g.members[userID]
	if !ok {
		return nil, discordError(codeUnknownMember)
	}
	return m, nil
}

func (g *guild) role(id string) (*role, error) {
	r, ok := g.roles[id]
	if !ok {
		return nil, discordError(codeUnknownRole)
	}
	return r, nil
}

// sortedRoles returns the guild's roles from the lowest position up, ties
// broken by id as Discord does.
func (g *guild) sortedRoles() []*role {
	rs := make([]*role, 0, len(g.roles))
	for _, r := range g.roles {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].position != rs[j].position {
			return rs[i].position < rs[j].position
		}
		return idLess(rs[i].id, rs[j].id)
	})
	return rs
}

// renumberRoles makes positions contiguous: @everyone 0, the rest 1..n in
// the given order (lowest first).
func (g *guild) renumberRoles(order []*role) {
	pos := 1
	for _, r := range order {
		if r.id == g.id {
			r.position = 0
			continue
		}
		r.position = pos
		pos++
	}
}

func (g *guild) removeMember(userID string) {
	delete(g.members, userID)
	g.memberOrder = slices.DeleteFunc(g.memberOrder, func(id string) bool { return id == userID })
}

// guildChannels returns the guild's channels and threads in creation order.
func (st *state) guildChannels(g *guild) []*channel {
	out := make([]*channel, 0, len(g.channelIDs))
	for _, id := range g.channelIDs {
		if c, ok := st.channels[id]; ok {
			out = append(out, c)
		}
	}
	return out
}
