package discordtest

import (
	"slices"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// requireSend checks that the bot may post input into c: SEND_MESSAGES (in
// threads SEND_MESSAGES_IN_THREADS), ATTACH_FILES for files and
// READ_MESSAGE_HISTORY for replies.
func (s *Server) requireSend(c *channel, g *guild, userID string, in messageInput) error {
	if g == nil {
		return nil
	}
	send := int64(discordgo.PermissionSendMessages)
	if c.isThread() {
		send = discordgo.PermissionSendMessagesInThreads
	}
	if err := g.require(userID, send); err != nil {
		return err
	}
	if len(in.files) > 0 {
		if err := g.require(userID, discordgo.PermissionAttachFiles); err != nil {
			return err
		}
	}
	if in.ref != nil && !g.has(userID, discordgo.PermissionReadMessageHistory) {
		return discordError(codeReplyWithoutHistory)
	}
	if c.isThread() && c.locked && !g.has(userID, discordgo.PermissionManageThreads) {
		return discordError(codeMissingPermissions)
	}
	return nil
}

func restCreateMessage(s *Server, r *request) (reply, error) {
	c, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	in, err := parseMessageInput(f, r.files)
	if err != nil {
		return reply{}, err
	}
	if err := s.requireSend(c, g, s.botID, in); err != nil {
		return reply{}, err
	}
	if in.flags != nil && *in.flags&int(discordgo.MessageFlagsEphemeral) != 0 {
		return reply{}, formError("flags", "MESSAGE_FLAGS_INVALID", "Ephemeral messages can only be sent in interaction responses")
	}
	m, err := s.postLocked(c, &message{authorID: s.botID}, in, r.actor)
	if err != nil {
		return reply{}, err
	}
	return okJSON(s.wireMessageLocked(m, false))
}

// messageForBot resolves the route's channel and message.
func (s *Server) messageForBot(r *request) (*channel, *guild, *message, error) {
	c, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return nil, nil, nil, err
	}
	_, m := c.findMessage(r.params["message"])
	if m == nil {
		return nil, nil, nil, discordError(codeUnknownMessage)
	}
	return c, g, m, nil
}

func restGetMessage(s *Server, r *request) (reply, error) {
	_, g, m, err := s.messageForBot(r)
	if err != nil {
		return reply{}, err
	}
	if g != nil && !g.has(s.botID, discordgo.PermissionReadMessageHistory) {
		return reply{}, discordError(codeMissingAccess)
	}
	return okJSON(s.wireMessageLocked(m, false))
}

// restListMessages answers newest first, with limit (1..100, default 50)
// and one of before, after or around.
func restListMessages(s *Server, r *request) (reply, error) {
	c, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	limit, err := queryLimit(r, "limit", 50, 100)
	if err != nil {
		return reply{}, err
	}
	out := []wireMessage{}
	if g != nil && !g.has(s.botID, discordgo.PermissionReadMessageHistory) {
		return okJSON(out)
	}
	msgs := c.messages
	before, after, around := r.query.Get("before"), r.query.Get("after"), r.query.Get("around")
	var sel []*message
	switch {
	case around != "":
		i := slices.IndexFunc(msgs, func(m *message) bool { return !idLess(m.id, around) })
		if i < 0 {
			i = len(msgs)
		}
		lo := max(0, i-limit/2)
		hi := min(len(msgs), lo+limit)
		sel = msgs[lo:hi]
	case after != "":
		for _, m := range msgs {
			if idLess(after, m.id) && len(sel) < limit {
				sel = append(sel, m)
			}
		}
	default:
		for _, m := range msgs {
			if before == "" || idLess(m.id, before) {
				sel = append(sel, m)
			}
		}
		if len(sel) > limit {
			sel = sel[len(sel)-limit:]
		}
	}
	for i := len(sel) - 1; i >= 0; i-- {
		out = append(out, s.wireMessageLocked(sel[i], false))
	}
	return okJSON(out)
}

// restEditMessage edits one of the bot's own messages (50005 otherwise).
func restEditMessage(s *Server, r *request) (reply, error) {
	c, _, m, err := s.messageForBot(r)
	if err != nil {
		return reply{}, err
	}
	if m.authorID != s.botID {
		return reply{}, discordError(codeCannotEditOthers)
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	in, err := parseMessageInput(f, r.files)
	if err != nil {
		return reply{}, err
	}
	s.editLocked(c, m, in, r.actor)
	return okJSON(s.wireMessageLocked(m, false))
}

// restDeleteMessage deletes the bot's own message, or anyone's with
// MANAGE_MESSAGES in a guild.
func restDeleteMessage(s *Server, r *request) (reply, error) {
	c, g, m, err := s.messageForBot(r)
	if err != nil {
		return reply{}, err
	}
	if m.authorID != s.botID {
		if g == nil {
			return reply{}, discordError(codeCannotEditOthers)
		}
		if err := g.require(s.botID, discordgo.PermissionManageMessages); err != nil {
			return reply{}, err
		}
	}
	s.deleteLocked(c, m, r.actor)
	return noContent()
}

// restBulkDelete deletes 2 to 100 messages younger than 14 days.
func restBulkDelete(s *Server, r *request) (reply, error) {
	c, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	if g == nil {
		return reply{}, discordError(codeMissingPermissions)
	}
	if err := g.require(s.botID, discordgo.PermissionManageMessages); err != nil {
		return reply{}, err
	}
	var body struct {
		Messages []string `json:"messages"`
	}
	if err := r.decode(&body); err != nil {
		return reply{}, err
	}
	if len(body.Messages) < 2 || len(body.Messages) > 100 {
		return reply{}, formError("messages", "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length.")
	}
	cutoff := time.Now().Add(-14 * 24 * time.Hour)
	for _, id := range body.Messages {
		if t := snowflakeTime(id); !t.IsZero() && t.Before(cutoff) {
			return reply{}, discordError(codeBulkDeleteTooOld)
		}
	}
	var deleted []string
	for _, id := range body.Messages {
		i, m := c.findMessage(id)
		if m == nil {
			continue
		}
		c.messages = slices.Delete(c.messages, i, i+1)
		deleted = append(deleted, id)
		s.emitLocked(Event{Kind: KindMessageDelete, GuildID: g.id, ChannelID: c.id, UserID: m.authorID, ActorID: r.actor,
			Message: s.messageCopyLocked(m), Detail: "bulk"})
	}
	if len(deleted) > 0 {
		s.dispatchLocked(gwEvent{name: "MESSAGE_DELETE_BULK", guildID: g.id, intent: discordgo.IntentGuildMessages,
			data: mustJSON(map[string]any{"ids": deleted, "channel_id": c.id, "guild_id": g.id})})
	}
	return noContent()
}

// parseEmoji reads a reaction emoji path segment: a unicode emoji, or a
// custom emoji as name:id (optionally a:name:id).
func parseEmoji(seg string) (id, name string, err error) {
	if seg == "" {
		return "", "", discordError(codeUnknownEmoji)
	}
	parts := strings.Split(seg, ":")
	switch len(parts) {
	case 1:
		return "", parts[0], nil
	case 2:
		return parts[1], parts[0], nil
	case 3:
		return parts[2], parts[1], nil
	}
	return "", "", discordError(codeUnknownEmoji)
}

func findReaction(m *message, emojiID, emojiName string) *reaction {
	for _, re := range m.reactions {
		if emojiID != "" && re.emojiID == emojiID || emojiID == "" && re.emojiID == "" && re.emojiName == emojiName {
			return re
		}
	}
	return nil
}

// reactLocked adds userID's reaction and announces it; it does nothing if
// the user already reacted so.
func (s *Server) reactLocked(m *message, emojiID, emojiName, userID, actor string) {
	re := findReaction(m, emojiID, emojiName)
	if re == nil {
		re = &reaction{emojiID: emojiID, emojiName: emojiName}
		m.reactions = append(m.reactions, re)
	}
	if re.has(userID) {
		return
	}
	re.users = append(re.users, userID)
	p := map[string]any{"user_id": userID, "emoji": re.wireEmoji(), "message_author_id": m.authorID, "burst": false, "type": 0}
	if g, ok := s.st.guilds[m.guildID]; ok {
		if mem, ok := g.members[userID]; ok {
			p["member"] = s.wireMemberLocked(mem, true, "")
		}
	}
	s.dispatchReactionLocked("MESSAGE_REACTION_ADD", m, p)
	s.emitLocked(Event{Kind: KindReactionAdd, GuildID: m.guildID, ChannelID: m.channelID, UserID: userID, ActorID: actor,
		Message: s.messageCopyLocked(m), Detail: emojiName})
}

// unreactLocked removes userID's reaction and announces it.
func (s *Server) unreactLocked(m *message, re *reaction, userID, actor string) {
	if !re.has(userID) {
		return
	}
	re.users = removeString(re.users, userID)
	if len(re.users) == 0 {
		m.reactions = slices.DeleteFunc(m.reactions, func(x *reaction) bool { return x == re })
	}
	s.dispatchReactionLocked("MESSAGE_REACTION_REMOVE", m, map[string]any{"user_id": userID, "emoji": re.wireEmoji(), "burst": false, "type": 0})
	s.emitLocked(Event{Kind: KindReactionRemove, GuildID: m.guildID, ChannelID: m.channelID, UserID: userID, ActorID: actor,
		Message: s.messageCopyLocked(m), Detail: re.emojiName})
}

// restAddReaction adds the bot's reaction: READ_MESSAGE_HISTORY, and
// ADD_REACTIONS for an emoji nobody reacted with yet.
func restAddReaction(s *Server, r *request) (reply, error) {
	_, g, m, err := s.messageForBot(r)
	if err != nil {
		return reply{}, err
	}
	id, name, err := parseEmoji(r.params["emoji"])
	if err != nil {
		return reply{}, err
	}
	if g != nil {
		if err := g.require(s.botID, discordgo.PermissionReadMessageHistory); err != nil {
			return reply{}, err
		}
		if findReaction(m, id, name) == nil {
			if err := g.require(s.botID, discordgo.PermissionAddReactions); err != nil {
				return reply{}, err
			}
		}
	}
	s.reactLocked(m, id, name, s.botID, r.actor)
	return noContent()
}

// restRemoveReaction removes the bot's (@me) or a user's reaction; the
// latter needs MANAGE_MESSAGES.
func restRemoveReaction(s *Server, r *request) (reply, error) {
	_, g, m, err := s.messageForBot(r)
	if err != nil {
		return reply{}, err
	}
	id, name, err := parseEmoji(r.params["emoji"])
	if err != nil {
		return reply{}, err
	}
	uid := r.params["user"]
	if uid == "@me" {
		uid = s.botID
	}
	if uid != s.botID {
		if g == nil {
			return reply{}, discordError(codeMissingPermissions)
		}
		if err := g.require(s.botID, discordgo.PermissionManageMessages); err != nil {
			return reply{}, err
		}
	}
	if re := findReaction(m, id, name); re != nil {
		s.unreactLocked(m, re, uid, r.actor)
	}
	return noContent()
}

// restListReactions lists the users who reacted with an emoji (limit
// 1..100, default 25, after a user id).
func restListReactions(s *Server, r *request) (reply, error) {
	_, _, m, err := s.messageForBot(r)
	if err != nil {
		return reply{}, err
	}
	id, name, err := parseEmoji(r.params["emoji"])
	if err != nil {
		return reply{}, err
	}
	limit, err := queryLimit(r, "limit", 25, 100)
	if err != nil {
		return reply{}, err
	}
	out := []wireUser{}
	if re := findReaction(m, id, name); re != nil {
		users := append([]string(nil), re.users...)
		slices.SortFunc(users, func(a, b string) int {
			if idLess(a, b) {
				return -1
			}
			return 1
		})
		after := r.query.Get("after")
		for _, uid := range users {
			if after != "" && !idLess(after, uid) {
				continue
			}
			if len(out) == limit {
				break
			}
			out = append(out, s.wireUserLocked(uid))
		}
	}
	return okJSON(out)
}

// restRemoveEmojiReactions removes every reaction with one emoji:
// MANAGE_MESSAGES.
func restRemoveEmojiReactions(s *Server, r *request) (reply, error) {
	_, g, m, err := s.messageForBot(r)
	if err != nil {
		return reply{}, err
	}
	if g == nil {
		return reply{}, discordError(codeMissingPermissions)
	}
	if err := g.require(s.botID, discordgo.PermissionManageMessages); err != nil {
		return reply{}, err
	}
	id, name, err := parseEmoji(r.params["emoji"])
	if err != nil {
		return reply{}, err
	}
	re := findReaction(m, id, name)
	if re == nil {
		return noContent()
	}
	m.reactions = slices.DeleteFunc(m.reactions, func(x *reaction) bool { return x == re })
	s.dispatchReactionLocked("MESSAGE_REACTION_REMOVE_EMOJI", m, map[string]any{"emoji": re.wireEmoji()})
	s.emitLocked(Event{Kind: KindReactionRemoveAll, GuildID: m.guildID, ChannelID: m.channelID, ActorID: r.actor,
		Message: s.messageCopyLocked(m), Detail: name})
	return noContent()
}

// restRemoveAllReactions clears a message's reactions: MANAGE_MESSAGES.
func restRemoveAllReactions(s *Server, r *request) (reply, error) {
	_, g, m, err := s.messageForBot(r)
	if err != nil {
		return reply{}, err
	}
	if g == nil {
		return reply{}, discordError(codeMissingPermissions)
	}
	if err := g.require(s.botID, discordgo.PermissionManageMessages); err != nil {
		return reply{}, err
	}
	m.reactions = nil
	s.dispatchReactionLocked("MESSAGE_REACTION_REMOVE_ALL", m, map[string]any{})
	s.emitLocked(Event{Kind: KindReactionRemoveAll, GuildID: m.guildID, ChannelID: m.channelID, ActorID: r.actor,
		Message: s.messageCopyLocked(m)})
	return noContent()
}
