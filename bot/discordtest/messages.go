package discordtest

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// Discord's message limits.
const (
	maxContent = 2000
	maxEmbeds  = 10
	maxRows    = 5
)

// messageInput is a message body as the REST API receives it (create, edit,
// webhook execute, interaction response data). Pointer fields are nil when
// absent, so an edit changes only what was sent.
type messageInput struct {
	content     *string
	embeds      *[]json.RawMessage
	components  *[]json.RawMessage
	attachments *[]json.RawMessage // kept attachments, on edits
	files       []upload
	ref         *referenceInput
	allowed     *discordgo.MessageAllowedMentions
	flags       *int
	tts         bool
}

type referenceInput struct {
	MessageID       string `json:"message_id"`
	ChannelID       string `json:"channel_id"`
	GuildID         string `json:"guild_id"`
	FailIfNotExists *bool  `json:"fail_if_not_exists"`
}

// fieldsOf decodes a JSON object (for nested payloads such as a forum
// post's "message"); invalid JSON gives no fields.
func fieldsOf(raw json.RawMessage) fields {
	f := fields{}
	_ = json.Unmarshal(raw, &f)
	return f
}

// parseMessageInput reads the message fields of a body.
func parseMessageInput(f fields, files []upload) (messageInput, error) {
	in := messageInput{files: files}
	if f.has("content") {
		c, err := f.str("content")
		if err != nil {
			return in, err
		}
		if utf8.RuneCountInString(c) > maxContent {
			return in, formError("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
		}
		in.content = &c
	}
	if f.has("embeds") {
		l, err := f.raws("embeds")
		if err != nil {
			return in, err
		}
		if len(l) > maxEmbeds {
			return in, formError("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
		}
		for i, e := range l {
			norm, err := normaliseEmbed(e)
			if err != nil {
				return in, formError("embeds", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
			}
			l[i] = norm
		}
		in.embeds = &l
	}
	if f.has("components") {
		l, err := f.raws("components")
		if err != nil {
			return in, err
		}
		if len(l) > maxRows*8 {
			return in, formError("components", "BASE_TYPE_MAX_LENGTH", "Must be 40 or fewer in length.")
		}
		in.components = &l
	}
	if f.has("attachments") {
		l, err := f.raws("attachments")
		if err != nil {
			return in, err
		}
		in.attachments = &l
	}
	if f.has("message_reference") && !f.null("message_reference") {
		var ref referenceInput
		if err := f.into("message_reference", &ref); err != nil {
			return in, err
		}
		in.ref = &ref
	}
	if f.has("allowed_mentions") && !f.null("allowed_mentions") {
		var am discordgo.MessageAllowedMentions
		if err := f.into("allowed_mentions", &am); err != nil {
			return in, err
		}
		in.allowed = &am
	}
	if f.has("flags") {
		n, err := f.integer("flags")
		if err != nil {
			return in, err
		}
		in.flags = &n
	}
	var err error
	if in.tts, err = f.boolean("tts"); err != nil {
		return in, err
	}
	return in, nil
}

// normaliseEmbed checks that an embed is an object and gives it type "rich"
// when it has none, as Discord does.
func normaliseEmbed(raw json.RawMessage) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, err
	}
	if _, ok := obj["type"]; !ok {
		obj["type"] = json.RawMessage(`"rich"`)
	}
	return json.Marshal(obj)
}

// empty reports whether a new message would have nothing to show.
func (in *messageInput) empty() bool {
	return (in.content == nil || strings.TrimSpace(*in.content) == "") &&
		(in.embeds == nil || len(*in.embeds) == 0) &&
		(in.components == nil || len(*in.components) == 0) && len(in.files) == 0
}

// postLocked creates a message in c from the template m (author, type,
// webhook, interaction fields) and the input, stores it, dispatches
// MESSAGE_CREATE and emits message_create. Permission checks are the
// caller's.
func (s *Server) postLocked(c *channel, m *message, in messageInput, actor string) (*message, error) {
	if !c.textual() {
		return nil, &apiError{Status: 400, Code: 50008, Message: "Cannot send messages in a non-text channel"}
	}
	if in.empty() {
		return nil, discordError(codeEmptyMessage)
	}
	m.id = s.ids.next()
	m.channelID = c.id
	m.guildID = c.guildID
	m.createdAt = snowflakeTime(m.id)
	if m.createdAt.IsZero() {
		m.createdAt = time.Now().UTC()
	}
	if in.ref != nil {
		refCh := in.ref.ChannelID
		if refCh == "" {
			refCh = c.id
		}
		var ref *message
		if rc, ok := s.st.channels[refCh]; ok {
			_, ref = rc.findMessage(in.ref.MessageID)
		}
		switch {
		case ref != nil:
			m.ref = &msgRef{messageID: ref.id, channelID: ref.channelID, guildID: ref.guildID}
			if m.typ == discordgo.MessageTypeDefault {
				m.typ = discordgo.MessageTypeReply
			}
		case in.ref.FailIfNotExists == nil || *in.ref.FailIfNotExists:
			return nil, formError("message_reference", "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
		}
	}
	s.applyInputLocked(m, c, in, false)
	if in.flags != nil {
		m.flags |= *in.flags & int(discordgo.MessageFlagsSuppressEmbeds|discordgo.MessageFlagsSuppressNotifications|
			discordgo.MessageFlagsEphemeral|discordgo.MessageFlagsIsComponentsV2)
	}
	m.tts = in.tts
	s.storeLocked(c, m)
	return m, nil
}

// storeLocked appends a message to its channel and announces it.
func (s *Server) storeLocked(c *channel, m *message) {
	if m.flags&int(discordgo.MessageFlagsEphemeral) != 0 {
		s.st.ephemeral[m.id] = m
		return
	}
	c.messages = append(c.messages, m)
	c.lastMsgID = m.id
	if c.isThread() {
		c.sentCount++
		if c.archived && !c.locked {
			c.archived = false
		}
	}
	s.dispatchMessageLocked("MESSAGE_CREATE", m)
	s.emitLocked(Event{Kind: KindMessageCreate, GuildID: m.guildID, ChannelID: c.id, UserID: m.authorID,
		ActorID: m.authorID, Message: s.messageCopyLocked(m), Detail: m.content})
}

// applyInputLocked sets what the input carries on m. On edits, absent fields
// keep their value and only the suppress-embeds flag can change.
func (s *Server) applyInputLocked(m *message, c *channel, in messageInput, edit bool) {
	if in.content != nil {
		m.content = *in.content
	}
	if in.embeds != nil {
		m.embeds = append([]json.RawMessage{}, (*in.embeds)...)
	}
	if in.components != nil {
		m.components = append([]json.RawMessage{}, (*in.components)...)
	}
	if edit && in.attachments != nil {
		keep := map[string]bool{}
		for _, raw := range *in.attachments {
			var a struct {
				ID json.RawMessage `json:"id"`
			}
			if json.Unmarshal(raw, &a) == nil {
				keep[strings.Trim(string(a.ID), `"`)] = true
			}
		}
		m.attachments = slices.DeleteFunc(m.attachments, func(a *attachment) bool { return !keep[a.id] })
	}
	if edit && in.flags != nil {
		const sup = int(discordgo.MessageFlagsSuppressEmbeds)
		m.flags = m.flags&^sup | *in.flags&sup
	}
	ephemeral := m.flags&int(discordgo.MessageFlagsEphemeral) != 0 ||
		(in.flags != nil && *in.flags&int(discordgo.MessageFlagsEphemeral) != 0)
	for _, f := range in.files {
		a := &attachment{id: s.ids.next(), filename: f.filename, contentType: f.contentType, channelID: c.id, data: f.data, ephemeral: ephemeral}
		s.st.files[a.id] = a
		m.attachments = append(m.attachments, a)
	}
	s.parseMentionsLocked(m, c, in.allowed)
}

var (
	userMention = regexp.MustCompile(`<@!?(\d+)>`)
	roleMention = regexp.MustCompile(`<@&(\d+)>`)
)

// parseMentionsLocked fills mentions from the content, filtered by
// allowed_mentions as Discord does; a reply mentions the replied-to author
// unless allowed_mentions.replied_user is false.
func (s *Server) parseMentionsLocked(m *message, c *channel, am *discordgo.MessageAllowedMentions) {
	allow := func(kind discordgo.AllowedMentionType, id string, explicit []string) bool {
		if am == nil {
			return true
		}
		return slices.Contains(am.Parse, kind) || slices.Contains(explicit, id)
	}
	var users, roles []string
	for _, sm := range userMention.FindAllStringSubmatch(m.content, -1) {
		if _, ok := s.st.users[sm[1]]; ok && !slices.Contains(users, sm[1]) && allow(discordgo.AllowedMentionTypeUsers, sm[1], usersOf(am)) {
			users = append(users, sm[1])
		}
	}
	if g, ok := s.st.guilds[c.guildID]; ok {
		for _, sm := range roleMention.FindAllStringSubmatch(m.content, -1) {
			if _, ok := g.roles[sm[1]]; ok && !slices.Contains(roles, sm[1]) && allow(discordgo.AllowedMentionTypeRoles, sm[1], rolesOf(am)) {
				roles = append(roles, sm[1])
			}
		}
	}
	if m.ref != nil && m.typ == discordgo.MessageTypeReply && (am == nil || am.RepliedUser) {
		if rc, ok := s.st.channels[m.ref.channelID]; ok {
			if _, ref := rc.findMessage(m.ref.messageID); ref != nil && ref.webhookID == "" && !slices.Contains(users, ref.authorID) {
				users = append(users, ref.authorID)
			}
		}
	}
	m.mentions, m.mentionRoles = users, roles
	m.mentionEveryone = (strings.Contains(m.content, "@everyone") || strings.Contains(m.content, "@here")) &&
		(am == nil || slices.Contains(am.Parse, discordgo.AllowedMentionTypeEveryone))
}

func usersOf(am *discordgo.MessageAllowedMentions) []string {
	if am == nil {
		return nil
	}
	return am.Users
}

func rolesOf(am *discordgo.MessageAllowedMentions) []string {
	if am == nil {
		return nil
	}
	return am.Roles
}

// editLocked applies an edit and announces it.
func (s *Server) editLocked(c *channel, m *message, in messageInput, actor string) {
	s.applyInputLocked(m, c, in, true)
	now := time.Now().UTC()
	m.editedAt = &now
	if m.flags&int(discordgo.MessageFlagsEphemeral) != 0 {
		s.emitLocked(Event{Kind: KindMessageUpdate, GuildID: m.guildID, ChannelID: m.channelID, UserID: m.authorID,
			ActorID: actor, Message: s.messageCopyLocked(m), Detail: "ephemeral"})
		return
	}
	s.dispatchMessageLocked("MESSAGE_UPDATE", m)
	s.emitLocked(Event{Kind: KindMessageUpdate, GuildID: m.guildID, ChannelID: m.channelID, UserID: m.authorID,
		ActorID: actor, Message: s.messageCopyLocked(m), Detail: m.content})
}

// deleteLocked removes a message and announces it.
func (s *Server) deleteLocked(c *channel, m *message, actor string) {
	if m.flags&int(discordgo.MessageFlagsEphemeral) != 0 {
		delete(s.st.ephemeral, m.id)
	} else if i, _ := c.findMessage(m.id); i >= 0 {
		c.messages = slices.Delete(c.messages, i, i+1)
		s.dispatchMessageDeleteLocked(m)
	}
	s.emitLocked(Event{Kind: KindMessageDelete, GuildID: m.guildID, ChannelID: m.channelID, UserID: m.authorID,
		ActorID: actor, Message: s.messageCopyLocked(m)})
}

// messageCopyLocked renders a message as the discordgo type.
func (s *Server) messageCopyLocked(m *message) *discordgo.Message {
	return convert[discordgo.Message](s.wireMessageLocked(m, false))
}

// findAnyMessageLocked finds a message in a channel or among the ephemeral
// interaction messages.
func (s *Server) findAnyMessageLocked(channelID, id string) *message {
	if c, ok := s.st.channels[channelID]; ok {
		if _, m := c.findMessage(id); m != nil {
			return m
		}
	}
	if m, ok := s.st.ephemeral[id]; ok && m.channelID == channelID {
		return m
	}
	return nil
}
