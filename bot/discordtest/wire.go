package discordtest

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"
)

// This file renders the internal model as Discord's JSON objects. Every
// response, gateway payload and observation copy comes from these
// functions, so what a test observes is what the bot was sent.

// timestamp formats t the way Discord does (ISO 8601, microseconds, +00:00).
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}

func timestampPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timestamp(*t)
	return &s
}

func permString(p int64) string { return strconv.FormatInt(p, 10) }

type wireUser struct {
	ID            string  `json:"id"`
	Username      string  `json:"username"`
	Discriminator string  `json:"discriminator"`
	GlobalName    *string `json:"global_name"`
	Avatar        *string `json:"avatar"`
	Bot           bool    `json:"bot,omitempty"`
	PublicFlags   int     `json:"public_flags"`
	Flags         *int    `json:"flags,omitempty"`
	Verified      *bool   `json:"verified,omitempty"`
	MFAEnabled    *bool   `json:"mfa_enabled,omitempty"`
}

func (s *Server) wireUserLocked(id string) wireUser {
	u, ok := s.st.users[id]
	if !ok {
		return wireUser{ID: id, Username: "unknown-user", Discriminator: "0"}
	}
	w := wireUser{ID: u.id, Username: u.name, Discriminator: "0", Bot: u.bot}
	if u.bot {
		w.Discriminator = "0001"
	} else {
		name := u.name
		w.GlobalName = &name
	}
	return w
}

type wireRoleTags struct {
	BotID string `json:"bot_id,omitempty"`
}

type wireRole struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	Color        int           `json:"color"`
	Hoist        bool          `json:"hoist"`
	Icon         *string       `json:"icon"`
	UnicodeEmoji *string       `json:"unicode_emoji"`
	Position     int           `json:"position"`
	Permissions  string        `json:"permissions"`
	Managed      bool          `json:"managed"`
	Mentionable  bool          `json:"mentionable"`
	Flags        int           `json:"flags"`
	Tags         *wireRoleTags `json:"tags,omitempty"`
}

func wireRoleOf(r *role) wireRole {
	w := wireRole{
		ID: r.id, Name: r.name, Color: r.color, Hoist: r.hoist, Position: r.position,
		Permissions: permString(r.perms), Managed: r.managed, Mentionable: r.mentionable,
	}
	if r.botID != "" {
		w.Tags = &wireRoleTags{BotID: r.botID}
	}
	return w
}

type wireMember struct {
	User                       *wireUser `json:"user,omitempty"`
	Nick                       *string   `json:"nick"`
	Avatar                     *string   `json:"avatar"`
	Banner                     *string   `json:"banner"`
	Roles                      []string  `json:"roles"`
	JoinedAt                   string    `json:"joined_at"`
	PremiumSince               *string   `json:"premium_since"`
	Deaf                       bool      `json:"deaf"`
	Mute                       bool      `json:"mute"`
	Flags                      int       `json:"flags"`
	Pending                    bool      `json:"pending"`
	CommunicationDisabledUntil *string   `json:"communication_disabled_until"`
	Permissions                string    `json:"permissions,omitempty"`
	GuildID                    string    `json:"guild_id,omitempty"`
}

// wireMemberLocked renders a member; withUser adds the user object (omitted
// in message author members), guildID is set for gateway member events.
func (s *Server) wireMemberLocked(m *member, withUser bool, guildID string) wireMember {
	w := wireMember{
		Nick:                       m.nick,
		Roles:                      append([]string{}, m.roles...),
		JoinedAt:                   timestamp(m.joinedAt),
		Deaf:                       m.deaf,
		Mute:                       m.mute,
		CommunicationDisabledUntil: timestampPtr(m.timeoutUntil),
		GuildID:                    guildID,
	}
	if withUser {
		u := s.wireUserLocked(m.userID)
		w.User = &u
	}
	return w
}

type wireThreadMetadata struct {
	Archived            bool   `json:"archived"`
	AutoArchiveDuration int    `json:"auto_archive_duration"`
	ArchiveTimestamp    string `json:"archive_timestamp"`
	Locked              bool   `json:"locked"`
	Invitable           *bool  `json:"invitable,omitempty"`
	CreateTimestamp     string `json:"create_timestamp"`
}

type wireThreadMember struct {
	ID            string      `json:"id,omitempty"`
	UserID        string      `json:"user_id,omitempty"`
	JoinTimestamp string      `json:"join_timestamp"`
	Flags         int         `json:"flags"`
	Member        *wireMember `json:"member,omitempty"`
}

type wireChannel struct {
	ID                   string              `json:"id"`
	Type                 int                 `json:"type"`
	GuildID              string              `json:"guild_id,omitempty"`
	Position             *int                `json:"position,omitempty"`
	PermissionOverwrites *[]overwrite        `json:"permission_overwrites,omitempty"`
	Name                 *string             `json:"name,omitempty"`
	Topic                *string             `json:"topic,omitempty"`
	NSFW                 *bool               `json:"nsfw,omitempty"`
	LastMessageID        *string             `json:"last_message_id"`
	RateLimitPerUser     *int                `json:"rate_limit_per_user,omitempty"`
	ParentID             *string             `json:"parent_id,omitempty"`
	LastPinTimestamp     *string             `json:"last_pin_timestamp,omitempty"`
	Recipients           []wireUser          `json:"recipients,omitempty"`
	OwnerID              string              `json:"owner_id,omitempty"`
	MessageCount         *int                `json:"message_count,omitempty"`
	MemberCount          *int                `json:"member_count,omitempty"`
	TotalMessageSent     *int                `json:"total_message_sent,omitempty"`
	ThreadMetadata       *wireThreadMetadata `json:"thread_metadata,omitempty"`
	Member               *wireThreadMember   `json:"member,omitempty"`
	Flags                int                 `json:"flags"`
	AvailableTags        *[]json.RawMessage  `json:"available_tags,omitempty"`
	AppliedTags          *[]string           `json:"applied_tags,omitempty"`
}

func ptr[T any](v T) *T { return &v }

// nullable maps "" to JSON null.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) wireChannelLocked(c *channel) wireChannel {
	w := wireChannel{ID: c.id, Type: int(c.typ), GuildID: c.guildID, LastMessageID: nullable(c.lastMsgID)}
	if c.isDM() {
		if c.recipientID != "" {
			w.Recipients = []wireUser{s.wireUserLocked(c.recipientID)}
		}
		w.LastPinTimestamp = timestampPtr(c.lastPin)
		return w
	}
	w.Name = ptr(c.name)
	w.NSFW = ptr(c.nsfw)
	w.RateLimitPerUser = ptr(c.slowmode)
	w.ParentID = nullable(c.parentID)
	w.LastPinTimestamp = timestampPtr(c.lastPin)
	if c.isThread() {
		w.OwnerID = c.threadOwner
		w.MessageCount = ptr(min(c.sentCount, 50))
		w.TotalMessageSent = ptr(c.sentCount)
		w.MemberCount = ptr(min(len(c.threadMember), 50))
		md := &wireThreadMetadata{
			Archived: c.archived, AutoArchiveDuration: c.autoArchive, Locked: c.locked,
			ArchiveTimestamp: timestamp(c.archivedAt), CreateTimestamp: timestamp(c.createdAt),
		}
		if c.typ == discordgo.ChannelTypeGuildPrivateThread {
			md.Invitable = ptr(true)
		}
		w.ThreadMetadata = md
		if at, ok := c.threadMember[s.botID]; ok {
			w.Member = &wireThreadMember{ID: c.id, UserID: s.botID, JoinTimestamp: timestamp(at)}
		}
		return w
	}
	w.Position = ptr(c.position)
	ows := append([]overwrite{}, c.overwrites...)
	w.PermissionOverwrites = &ows
	w.Topic = c.topic
	if c.typ == discordgo.ChannelTypeGuildForum || c.typ == discordgo.ChannelTypeGuildMedia {
		w.AvailableTags = &[]json.RawMessage{}
	}
	return w
}

type wireAttachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	Size        int    `json:"size"`
	URL         string `json:"url"`
	ProxyURL    string `json:"proxy_url"`
	ContentType string `json:"content_type,omitempty"`
	Ephemeral   bool   `json:"ephemeral,omitempty"`
}

// attachmentURL is where the CDN serves an attachment; HTTPClient routes it
// to the emulator.
func attachmentURL(a *attachment) string {
	return "https://cdn.discordapp.com/attachments/" + a.channelID + "/" + a.id + "/" + a.filename
}

func wireAttachmentOf(a *attachment) wireAttachment {
	u := attachmentURL(a)
	return wireAttachment{
		ID: a.id, Filename: a.filename, Size: len(a.data), URL: u,
		ProxyURL:    "https://media.discordapp.net/attachments/" + a.channelID + "/" + a.id + "/" + a.filename,
		ContentType: a.contentType, Ephemeral: a.ephemeral,
	}
}

type wireEmoji struct {
	ID   *string `json:"id"`
	Name string  `json:"name"`
}

type wireReaction struct {
	Count        int            `json:"count"`
	CountDetails map[string]int `json:"count_details"`
	Me           bool           `json:"me"`
	MeBurst      bool           `json:"me_burst"`
	BurstColors  []string       `json:"burst_colors"`
	Emoji        wireEmoji      `json:"emoji"`
}

func (r *reaction) wireEmoji() wireEmoji {
	return wireEmoji{ID: nullable(r.emojiID), Name: r.emojiName}
}

type wireMessageReference struct {
	Type      int    `json:"type"`
	MessageID string `json:"message_id,omitempty"`
	ChannelID string `json:"channel_id"`
	GuildID   string `json:"guild_id,omitempty"`
}

type wireInteractionMetadata struct {
	ID                           string            `json:"id"`
	Type                         int               `json:"type"`
	User                         wireUser          `json:"user"`
	Name                         string            `json:"name,omitempty"`
	AuthorizingIntegrationOwners map[string]string `json:"authorizing_integration_owners"`
}

type wireMessageInteraction struct {
	ID   string   `json:"id"`
	Type int      `json:"type"`
	Name string   `json:"name"`
	User wireUser `json:"user"`
}

type wireMessage struct {
	ID                  string                   `json:"id"`
	Type                int                      `json:"type"`
	ChannelID           string                   `json:"channel_id"`
	GuildID             string                   `json:"guild_id,omitempty"`
	Author              wireUser                 `json:"author"`
	Member              *wireMember              `json:"member,omitempty"`
	Content             string                   `json:"content"`
	Timestamp           string                   `json:"timestamp"`
	EditedTimestamp     *string                  `json:"edited_timestamp"`
	TTS                 bool                     `json:"tts"`
	MentionEveryone     bool                     `json:"mention_everyone"`
	Mentions            []wireUser               `json:"mentions"`
	MentionRoles        []string                 `json:"mention_roles"`
	Attachments         []wireAttachment         `json:"attachments"`
	Embeds              []json.RawMessage        `json:"embeds"`
	Components          []json.RawMessage        `json:"components"`
	Reactions           []wireReaction           `json:"reactions,omitempty"`
	Pinned              bool                     `json:"pinned"`
	WebhookID           string                   `json:"webhook_id,omitempty"`
	ApplicationID       string                   `json:"application_id,omitempty"`
	Flags               int                      `json:"flags"`
	MessageReference    *wireMessageReference    `json:"message_reference,omitempty"`
	ReferencedMessage   json.RawMessage          `json:"referenced_message,omitempty"`
	InteractionMetadata *wireInteractionMetadata `json:"interaction_metadata,omitempty"`
	Interaction         *wireMessageInteraction  `json:"interaction,omitempty"`
	Thread              *wireChannel             `json:"thread,omitempty"`
}

// wireMessageLocked renders a message. withMember adds the author's partial
// member object, as gateway MESSAGE_CREATE/UPDATE events carry it.
func (s *Server) wireMessageLocked(m *message, withMember bool) wireMessage {
	w := wireMessage{
		ID: m.id, Type: int(m.typ), ChannelID: m.channelID, GuildID: m.guildID,
		Content: m.content, Timestamp: timestamp(m.createdAt), EditedTimestamp: timestampPtr(m.editedAt),
		TTS: m.tts, MentionEveryone: m.mentionEveryone, MentionRoles: append([]string{}, m.mentionRoles...),
		Embeds: rawList(m.embeds), Components: rawList(m.components), Pinned: m.pinned,
		WebhookID: m.webhookID, ApplicationID: m.appID, Flags: m.flags,
		Mentions: []wireUser{}, Attachments: []wireAttachment{},
	}
	if m.webhookID != "" && m.webhookName != "" {
		w.Author = wireUser{ID: m.authorID, Username: m.webhookName, Discriminator: "0000", Bot: true}
	} else {
		w.Author = s.wireUserLocked(m.authorID)
	}
	for _, id := range m.mentions {
		w.Mentions = append(w.Mentions, s.wireUserLocked(id))
	}
	for _, a := range m.attachments {
		w.Attachments = append(w.Attachments, wireAttachmentOf(a))
	}
	for _, r := range m.reactions {
		w.Reactions = append(w.Reactions, wireReaction{
			Count: len(r.users), CountDetails: map[string]int{"burst": 0, "normal": len(r.users)},
			Me: r.has(s.botID), BurstColors: []string{}, Emoji: r.wireEmoji(),
		})
	}
	if withMember && m.guildID != "" && m.webhookID == "" {
		if g, ok := s.st.guilds[m.guildID]; ok {
			if mem, ok := g.members[m.authorID]; ok {
				wm := s.wireMemberLocked(mem, false, "")
				w.Member = &wm
			}
		}
	}
	if m.ref != nil {
		w.MessageReference = &wireMessageReference{MessageID: m.ref.messageID, ChannelID: m.ref.channelID, GuildID: m.ref.guildID}
		if m.typ == discordgo.MessageTypeReply {
			w.ReferencedMessage = json.RawMessage("null")
			if c, ok := s.st.channels[m.ref.channelID]; ok {
				if _, ref := c.findMessage(m.ref.messageID); ref != nil {
					inner := s.wireMessageLocked(ref, false)
					inner.ReferencedMessage = nil
					w.ReferencedMessage = mustJSON(inner)
				}
			}
		}
	}
	if im := m.interaction; im != nil {
		owners := map[string]string{"1": im.userID}
		if m.guildID != "" {
			owners = map[string]string{"0": m.guildID}
		}
		w.InteractionMetadata = &wireInteractionMetadata{
			ID: im.id, Type: int(im.typ), User: s.wireUserLocked(im.userID), Name: im.name,
			AuthorizingIntegrationOwners: owners,
		}
		if im.typ == discordgo.InteractionApplicationCommand {
			w.Interaction = &wireMessageInteraction{ID: im.id, Type: int(im.typ), Name: im.name, User: s.wireUserLocked(im.userID)}
		}
	}
	if m.threadID != "" {
		if t, ok := s.st.channels[m.threadID]; ok {
			wt := s.wireChannelLocked(t)
			w.Thread = &wt
		}
	}
	return w
}

func rawList(in []json.RawMessage) []json.RawMessage {
	out := make([]json.RawMessage, len(in))
	copy(out, in)
	return out
}

type wireGuild struct {
	ID                          string            `json:"id"`
	Name                        string            `json:"name"`
	Icon                        *string           `json:"icon"`
	Splash                      *string           `json:"splash"`
	DiscoverySplash             *string           `json:"discovery_splash"`
	OwnerID                     string            `json:"owner_id"`
	AFKChannelID                *string           `json:"afk_channel_id"`
	AFKTimeout                  int               `json:"afk_timeout"`
	VerificationLevel           int               `json:"verification_level"`
	DefaultMessageNotifications int               `json:"default_message_notifications"`
	ExplicitContentFilter       int               `json:"explicit_content_filter"`
	Roles                       []wireRole        `json:"roles"`
	Emojis                      []json.RawMessage `json:"emojis"`
	Stickers                    []json.RawMessage `json:"stickers"`
	Features                    []string          `json:"features"`
	MFALevel                    int               `json:"mfa_level"`
	SystemChannelID             *string           `json:"system_channel_id"`
	SystemChannelFlags          int               `json:"system_channel_flags"`
	RulesChannelID              *string           `json:"rules_channel_id"`
	VanityURLCode               *string           `json:"vanity_url_code"`
	Description                 *string           `json:"description"`
	Banner                      *string           `json:"banner"`
	PremiumTier                 int               `json:"premium_tier"`
	PreferredLocale             string            `json:"preferred_locale"`
	PublicUpdatesChannelID      *string           `json:"public_updates_channel_id"`
	NSFWLevel                   int               `json:"nsfw_level"`
	PremiumProgressBarEnabled   bool              `json:"premium_progress_bar_enabled"`
	ApproximateMemberCount      *int              `json:"approximate_member_count,omitempty"`
	ApproximatePresenceCount    *int              `json:"approximate_presence_count,omitempty"`

	// Only in GUILD_CREATE.
	JoinedAt     string             `json:"joined_at,omitempty"`
	Large        *bool              `json:"large,omitempty"`
	Unavailable  *bool              `json:"unavailable,omitempty"`
	MemberCount  *int               `json:"member_count,omitempty"`
	Members      *[]wireMember      `json:"members,omitempty"`
	Channels     *[]wireChannel     `json:"channels,omitempty"`
	Threads      *[]wireChannel     `json:"threads,omitempty"`
	Presences    *[]json.RawMessage `json:"presences,omitempty"`
	VoiceStates  *[]json.RawMessage `json:"voice_states,omitempty"`
	StageInst    *[]json.RawMessage `json:"stage_instances,omitempty"`
	ScheduledEvs *[]json.RawMessage `json:"guild_scheduled_events,omitempty"`
}

// wireGuildLocked renders a guild as GET /guilds/{id} answers it.
func (s *Server) wireGuildLocked(g *guild) wireGuild {
	w := wireGuild{
		ID: g.id, Name: g.name, OwnerID: g.ownerID, AFKTimeout: 300,
		Emojis: wireEmojisLocked(g), Stickers: []json.RawMessage{}, Features: []string{},
		PreferredLocale: "en-US", Description: nullable(g.description),
		SystemChannelID: nullable(g.systemChannelID), AFKChannelID: nullable(g.afkChannelID),
	}
	if g.afkTimeout != 0 {
		w.AFKTimeout = g.afkTimeout
	}
	for _, r := range g.sortedRoles() {
		w.Roles = append(w.Roles, wireRoleOf(r))
	}
	return w
}

// wireGuildCreateLocked renders the full guild sent in GUILD_CREATE. Member
// objects beyond the bot's own are included only with the GUILD_MEMBERS
// intent, as on Discord.
func (s *Server) wireGuildCreateLocked(g *guild, intents discordgo.Intent) wireGuild {
	w := s.wireGuildLocked(g)
	if bm, ok := g.members[s.botID]; ok {
		w.JoinedAt = timestamp(bm.joinedAt)
	}
	w.Large = ptr(false)
	w.Unavailable = ptr(false)
	w.MemberCount = ptr(len(g.members))
	members := []wireMember{}
	for _, id := range g.memberOrder {
		if id != s.botID && intents&discordgo.IntentGuildMembers == 0 {
			continue
		}
		members = append(members, s.wireMemberLocked(g.members[id], true, ""))
	}
	w.Members = &members
	chans, threads := []wireChannel{}, []wireChannel{}
	for _, c := range s.st.guildChannels(g) {
		if c.isThread() {
			if !c.archived {
				threads = append(threads, s.wireChannelLocked(c))
			}
			continue
		}
		chans = append(chans, s.wireChannelLocked(c))
	}
	w.Channels, w.Threads = &chans, &threads
	empty := func() *[]json.RawMessage { return &[]json.RawMessage{} }
	w.Presences, w.VoiceStates, w.StageInst, w.ScheduledEvs = empty(), empty(), empty(), empty()
	if intents&discordgo.IntentGuildVoiceStates != 0 {
		vs := s.wireVoiceStatesLocked(g)
		w.VoiceStates = &vs
	}
	return w
}

type wireBan struct {
	Reason *string  `json:"reason"`
	User   wireUser `json:"user"`
}

type wireWebhook struct {
	ID            string    `json:"id"`
	Type          int       `json:"type"`
	GuildID       string    `json:"guild_id"`
	ChannelID     string    `json:"channel_id"`
	Name          string    `json:"name"`
	Avatar        *string   `json:"avatar"`
	Token         string    `json:"token,omitempty"`
	ApplicationID *string   `json:"application_id"`
	User          *wireUser `json:"user,omitempty"`
}

func (s *Server) wireWebhookLocked(h *webhook, withToken bool) wireWebhook {
	w := wireWebhook{ID: h.id, Type: 1, GuildID: h.guildID, ChannelID: h.channelID, Name: h.name, ApplicationID: nullable(h.appID)}
	if withToken {
		w.Token = h.token
	}
	if h.creatorID != "" {
		u := s.wireUserLocked(h.creatorID)
		w.User = &u
	}
	return w
}

// mustJSON marshals values the emulator itself built; failure is a bug.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("discordtest: marshal: " + err.Error())
	}
	return b
}

// convert copies a wire value into a discordgo type through JSON, the way the
// bot would decode it. Like discordgo, it keeps what decodes when a field
// does not (say, an embed field of the wrong type that the bot sent).
func convert[T any](v any) *T {
	var out T
	_ = json.Unmarshal(mustJSON(v), &out)
	return &out
}
