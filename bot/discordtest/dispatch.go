package discordtest

import (
	"encoding/json"
	"slices"

	"github.com/bwmarrin/discordgo"
)

// gwEvent is one dispatch about to be sent to every session that wants it.
type gwEvent struct {
	name    string
	guildID string           // "" for DMs; used for sharding
	intent  discordgo.Intent // required intent; 0 = always sent
	data    json.RawMessage
	// stripped, if set, replaces data for sessions without the
	// MESSAGE_CONTENT intent.
	stripped json.RawMessage
}

// dispatchLocked queues ev on every session that has its intent and shard,
// giving each its own sequence number. Disconnected sessions keep it for a
// later RESUME.
func (s *Server) dispatchLocked(ev gwEvent) {
	for _, sess := range s.gw.sessions {
		if ev.intent != 0 && sess.intents&ev.intent == 0 {
			continue
		}
		if !sess.wants(ev.guildID) {
			continue
		}
		data := ev.data
		if ev.stripped != nil && sess.intents&discordgo.IntentMessageContent == 0 {
			data = ev.stripped
		}
		frame := s.appendFrameLocked(sess, ev.name, data, true)
		if c := sess.conn; c != nil && c.ready {
			c.send(frame)
		}
	}
}

// guildIDOf reads the guild_id a payload carries, for sharding.
func guildIDOf(payload any) string {
	switch p := payload.(type) {
	case map[string]any:
		if id, ok := p["guild_id"].(string); ok {
			return id
		}
	case wireChannel:
		return p.GuildID
	case wireGuild:
		return p.ID
	case wireMember:
		return p.GuildID
	}
	return ""
}

// dispatchGuildLocked sends an event of the GUILDS intent (guild, role,
// channel, thread and pin events).
func (s *Server) dispatchGuildLocked(name string, payload any) {
	s.dispatchLocked(gwEvent{name: name, guildID: guildIDOf(payload), intent: discordgo.IntentGuilds, data: mustJSON(payload)})
}

// dispatchMembersLocked sends an event of the privileged GUILD_MEMBERS
// intent.
func (s *Server) dispatchMembersLocked(name string, payload any) {
	s.dispatchLocked(gwEvent{name: name, guildID: guildIDOf(payload), intent: discordgo.IntentGuildMembers, data: mustJSON(payload)})
}

// dispatchModerationLocked sends an event of the GUILD_MODERATION intent.
func (s *Server) dispatchModerationLocked(name string, payload any) {
	s.dispatchLocked(gwEvent{name: name, guildID: guildIDOf(payload), intent: discordgo.IntentGuildModeration, data: mustJSON(payload)})
}

// dispatchGuildCreateLocked sends GUILD_CREATE for a guild the bot just
// joined; the payload depends on each session's intents.
func (s *Server) dispatchGuildCreateLocked(g *guild) {
	for _, sess := range s.gw.sessions {
		if sess.intents&discordgo.IntentGuilds == 0 || !sess.wants(g.id) {
			continue
		}
		frame := s.appendFrameLocked(sess, "GUILD_CREATE", mustJSON(s.wireGuildCreateLocked(g, sess.intents)), true)
		if c := sess.conn; c != nil && c.ready {
			c.send(frame)
		}
	}
}

// messageIntent is the intent that carries message events of a channel.
func messageIntent(guildID string, reactions bool) discordgo.Intent {
	switch {
	case guildID == "" && reactions:
		return discordgo.IntentDirectMessageReactions
	case guildID == "":
		return discordgo.IntentDirectMessages
	case reactions:
		return discordgo.IntentGuildMessageReactions
	default:
		return discordgo.IntentGuildMessages
	}
}

// contentExempt reports whether a message keeps its content for apps without
// the MESSAGE_CONTENT intent: the app's own messages, DMs and messages that
// mention the app.
func (s *Server) contentExempt(m *message) bool {
	return m.authorID == s.botID || m.guildID == "" || slices.Contains(m.mentions, s.botID) ||
		(m.interaction != nil && m.appID == s.appID)
}

// dispatchMessageLocked sends MESSAGE_CREATE or MESSAGE_UPDATE. Sessions
// without MESSAGE_CONTENT get empty content, embeds, attachments and
// components unless the message is exempt.
func (s *Server) dispatchMessageLocked(name string, m *message) {
	if m.flags&int(discordgo.MessageFlagsEphemeral) != 0 {
		return // ephemeral messages are never dispatched
	}
	full := s.wireMessageLocked(m, true)
	ev := gwEvent{name: name, guildID: m.guildID, intent: messageIntent(m.guildID, false), data: mustJSON(full)}
	if !s.contentExempt(m) {
		stripped := full
		stripped.Content = ""
		stripped.Embeds = []json.RawMessage{}
		stripped.Attachments = []wireAttachment{}
		stripped.Components = []json.RawMessage{}
		ev.stripped = mustJSON(stripped)
	}
	s.dispatchLocked(ev)
}

// dispatchMessageDeleteLocked sends MESSAGE_DELETE.
func (s *Server) dispatchMessageDeleteLocked(m *message) {
	p := map[string]any{"id": m.id, "channel_id": m.channelID}
	if m.guildID != "" {
		p["guild_id"] = m.guildID
	}
	s.dispatchLocked(gwEvent{name: "MESSAGE_DELETE", guildID: m.guildID, intent: messageIntent(m.guildID, false), data: mustJSON(p)})
}

// dispatchReactionLocked sends a MESSAGE_REACTION_* event.
func (s *Server) dispatchReactionLocked(name string, m *message, p map[string]any) {
	p["message_id"] = m.id
	p["channel_id"] = m.channelID
	if m.guildID != "" {
		p["guild_id"] = m.guildID
	}
	s.dispatchLocked(gwEvent{name: name, guildID: m.guildID, intent: messageIntent(m.guildID, true), data: mustJSON(p)})
}
