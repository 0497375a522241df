package discordtest

import (
	"github.com/bwmarrin/discordgo"
)

// This file holds the observation methods. Each returns a fresh copy
// decoded from the same JSON the bot is sent, so a test sees what the bot
// sees and can keep or change the result freely.

// Messages returns the messages of a channel (DM channels included), oldest
// first. Ephemeral interaction messages are not in a channel; see
// Interaction.Response.
func (s *Server) Messages(channelID string) []*discordgo.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.channels[channelID]
	if !ok {
		return nil
	}
	out := make([]*discordgo.Message, 0, len(c.messages))
	for _, m := range c.messages {
		out = append(out, s.messageCopyLocked(m))
	}
	return out
}

// Message returns one message of a channel, ephemeral interaction messages
// included.
func (s *Server) Message(channelID, id string) (*discordgo.Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.findAnyMessageLocked(channelID, id)
	if m == nil {
		return nil, false
	}
	return s.messageCopyLocked(m), true
}

// Member returns a guild member with its user.
func (s *Server) Member(guildID, userID string) (*discordgo.Member, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.guilds[guildID]
	if !ok {
		return nil, false
	}
	m, ok := g.members[userID]
	if !ok {
		return nil, false
	}
	return convert[discordgo.Member](s.wireMemberLocked(m, true, g.id)), true
}

// Members returns a guild's members in join order.
func (s *Server) Members(guildID string) []*discordgo.Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.guilds[guildID]
	if !ok {
		return nil
	}
	out := make([]*discordgo.Member, 0, len(g.memberOrder))
	for _, id := range g.memberOrder {
		out = append(out, convert[discordgo.Member](s.wireMemberLocked(g.members[id], true, g.id)))
	}
	return out
}

// Bans returns a guild's bans, oldest first, with their reasons.
func (s *Server) Bans(guildID string) []*discordgo.GuildBan {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.guilds[guildID]
	if !ok {
		return nil
	}
	out := make([]*discordgo.GuildBan, 0, len(g.banOrder))
	for _, id := range g.banOrder {
		out = append(out, convert[discordgo.GuildBan](s.wireBanLocked(g.bans[id])))
	}
	return out
}

// Roles returns a guild's roles from the lowest position up (@everyone
// first).
func (s *Server) Roles(guildID string) []*discordgo.Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.guilds[guildID]
	if !ok {
		return nil
	}
	var out []*discordgo.Role
	for _, r := range g.sortedRoles() {
		out = append(out, convert[discordgo.Role](wireRoleOf(r)))
	}
	return out
}

// Channels returns a guild's channels and threads in creation order.
func (s *Server) Channels(guildID string) []*discordgo.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.guilds[guildID]
	if !ok {
		return nil
	}
	var out []*discordgo.Channel
	for _, c := range s.st.guildChannels(g) {
		out = append(out, convert[discordgo.Channel](s.wireChannelLocked(c)))
	}
	return out
}

// Channel returns one channel (guild channel, thread or DM).
func (s *Server) Channel(channelID string) (*discordgo.Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.channels[channelID]
	if !ok {
		return nil, false
	}
	return convert[discordgo.Channel](s.wireChannelLocked(c)), true
}

// Guild returns a guild as GET /guilds/{id} renders it.
func (s *Server) Guild(guildID string) (*discordgo.Guild, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.guilds[guildID]
	if !ok {
		return nil, false
	}
	return convert[discordgo.Guild](s.wireGuildLocked(g)), true
}

// Commands returns the registered application commands of a guild, or the
// global ones for "", ordered by id.
func (s *Server) Commands(guildID string) []*discordgo.ApplicationCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*discordgo.ApplicationCommand
	for _, c := range s.scopeCommandsLocked(guildID) {
		out = append(out, convert[discordgo.ApplicationCommand](wireCommand(c)))
	}
	return out
}

// DMs returns the messages of the DM channel between the bot and a user,
// oldest first (nil if none was opened).
func (s *Server) DMs(userID string) []*discordgo.Message {
	s.mu.Lock()
	id, ok := s.st.dmByUser[userID]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return s.Messages(id)
}

// Webhooks returns a guild's webhooks, oldest first, with their tokens.
func (s *Server) Webhooks(guildID string) []*discordgo.Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*discordgo.Webhook
	for _, w := range s.webhooksLocked(guildID, "") {
		out = append(out, convert[discordgo.Webhook](w))
	}
	return out
}

// Attachment returns the bytes of a stored attachment.
func (s *Server) Attachment(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.files[id]
	if !ok {
		return nil, false
	}
	return append([]byte(nil), a.data...), true
}
