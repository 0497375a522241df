package discordtest

import (
	"fmt"
	"time"

	"github.com/bwmarrin/discordgo"
)

// This file holds what a simulated person does in a guild. Each action
// follows Discord's rules for members (permissions, timeouts) and is
// announced like a real one: gateway dispatch and a subscriber event.

// requirePersonSend checks that a member may post in a channel: not timed
// out, SEND_MESSAGES (in threads SEND_MESSAGES_IN_THREADS) and ATTACH_FILES
// for files.
func (s *Server) requirePersonSend(g *guild, c *channel, userID string, files int) error {
	if g == nil {
		return nil
	}
	if m := g.members[userID]; m.timeoutUntil != nil && m.timeoutUntil.After(time.Now()) && userID != g.ownerID {
		return fmt.Errorf("discordtest: user %s is timed out until %s", userID, timestamp(*m.timeoutUntil))
	}
	in := messageInput{}
	for range files {
		in.files = append(in.files, upload{})
	}
	if err := s.requireSend(c, g, userID, in); err != nil {
		return fmt.Errorf("discordtest: user %s may not post in channel %s: %w", userID, c.id, err)
	}
	return nil
}

// SendMessage posts a message as a member (or, in a DM channel, as its
// recipient), with optional file attachments; connected sessions receive
// MESSAGE_CREATE.
func (s *Server) SendMessage(channelID, userID, content string, files ...Upload) (*discordgo.Message, error) {
	return s.personPost(channelID, userID, messageInput{content: &content}, files)
}

// Reply posts a reply to a message as a member.
func (s *Server) Reply(channelID, messageID, userID, content string) (*discordgo.Message, error) {
	in := messageInput{content: &content, ref: &referenceInput{MessageID: messageID, ChannelID: channelID}}
	return s.personPost(channelID, userID, in, nil)
}

// SendDM posts a message from a user to the bot in their DM channel
// (created if needed); sessions with DIRECT_MESSAGES receive it.
func (s *Server) SendDM(userID, content string) (*discordgo.Message, error) {
	var channelID string
	err := s.mutate(func() error {
		if _, err := s.st.user(userID); err != nil {
			return fmt.Errorf("discordtest: user %s: %w", userID, err)
		}
		channelID = s.dmChannelLocked(userID).id
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.SendMessage(channelID, userID, content)
}

// personPost posts a message as a person after the checks Discord applies
// to members.
func (s *Server) personPost(channelID, userID string, in messageInput, files []Upload) (*discordgo.Message, error) {
	var out *discordgo.Message
	err := s.mutate(func() error {
		c, err := s.st.channel(channelID)
		if err != nil {
			return fmt.Errorf("discordtest: channel %s: %w", channelID, err)
		}
		g, c, err := s.personContextLocked(c.guildID, c.id, userID)
		if err != nil {
			return err
		}
		for _, f := range files {
			ct := f.ContentType
			if ct == "" {
				ct = "application/octet-stream"
			}
			in.files = append(in.files, upload{filename: f.Filename, contentType: ct, data: append([]byte(nil), f.Data...)})
		}
		if err := s.requirePersonSend(g, c, userID, len(files)); err != nil {
			return err
		}
		m, err := s.postLocked(c, &message{authorID: userID}, in, userID)
		if err != nil {
			return fmt.Errorf("discordtest: post: %w", err)
		}
		out = s.messageCopyLocked(m)
		return nil
	})
	return out, err
}

// EditMessage edits a person's own message (MESSAGE_UPDATE).
func (s *Server) EditMessage(channelID, messageID, userID, content string) (*discordgo.Message, error) {
	var out *discordgo.Message
	err := s.mutate(func() error {
		c, m, err := s.personMessageLocked(channelID, messageID)
		if err != nil {
			return err
		}
		if m.authorID != userID {
			return fmt.Errorf("discordtest: message %s is not by user %s", messageID, userID)
		}
		s.editLocked(c, m, messageInput{content: &content}, userID)
		out = s.messageCopyLocked(m)
		return nil
	})
	return out, err
}

// DeleteMessage deletes a message as a person: their own, or anyone's with
// MANAGE_MESSAGES.
func (s *Server) DeleteMessage(channelID, messageID, userID string) error {
	return s.mutate(func() error {
		c, m, err := s.personMessageLocked(channelID, messageID)
		if err != nil {
			return err
		}
		if m.authorID != userID {
			g, ok := s.st.guilds[c.guildID]
			if !ok || !g.has(userID, discordgo.PermissionManageMessages) {
				return fmt.Errorf("discordtest: user %s may not delete message %s", userID, messageID)
			}
		}
		s.deleteLocked(c, m, userID)
		return nil
	})
}

func (s *Server) personMessageLocked(channelID, messageID string) (*channel, *message, error) {
	c, err := s.st.channel(channelID)
	if err != nil {
		return nil, nil, fmt.Errorf("discordtest: channel %s: %w", channelID, err)
	}
	_, m := c.findMessage(messageID)
	if m == nil {
		return nil, nil, fmt.Errorf("discordtest: message %s not found in channel %s", messageID, channelID)
	}
	return c, m, nil
}

// AddReaction reacts to a message as a person. emoji is a unicode emoji or
// name:id for a custom one.
func (s *Server) AddReaction(channelID, messageID, userID, emoji string) error {
	return s.mutate(func() error {
		c, m, err := s.personMessageLocked(channelID, messageID)
		if err != nil {
			return err
		}
		g, _, err := s.personContextLocked(c.guildID, c.id, userID)
		if err != nil {
			return err
		}
		id, name, err := parseEmoji(emoji)
		if err != nil {
			return fmt.Errorf("discordtest: emoji %q: %w", emoji, err)
		}
		if g != nil && findReaction(m, id, name) == nil && !g.has(userID, discordgo.PermissionAddReactions) {
			return fmt.Errorf("discordtest: user %s may not add reactions", userID)
		}
		s.reactLocked(m, id, name, userID, userID)
		return nil
	})
}

// RemoveReaction removes a person's own reaction.
func (s *Server) RemoveReaction(channelID, messageID, userID, emoji string) error {
	return s.mutate(func() error {
		_, m, err := s.personMessageLocked(channelID, messageID)
		if err != nil {
			return err
		}
		id, name, err := parseEmoji(emoji)
		if err != nil {
			return fmt.Errorf("discordtest: emoji %q: %w", emoji, err)
		}
		if re := findReaction(m, id, name); re != nil {
			s.unreactLocked(m, re, userID, userID)
		}
		return nil
	})
}

// AddThread starts a public thread in a channel as a person
// (CREATE_PUBLIC_THREADS), dispatching THREAD_CREATE.
func (s *Server) AddThread(channelID, userID, name string) (Channel, error) {
	var out Channel
	err := s.mutate(func() error {
		parent, err := s.st.channel(channelID)
		if err != nil {
			return fmt.Errorf("discordtest: channel %s: %w", channelID, err)
		}
		g, parent, err := s.personContextLocked(parent.guildID, parent.id, userID)
		if err != nil {
			return err
		}
		if g == nil || parent.isThread() || !parent.textual() {
			return fmt.Errorf("discordtest: cannot start a thread in channel %s", channelID)
		}
		if !g.has(userID, discordgo.PermissionCreatePublicThreads) {
			return fmt.Errorf("discordtest: user %s may not create threads", userID)
		}
		t := s.newThreadLocked(g, parent, "", name, discordgo.ChannelTypeGuildPublicThread, userID, 0)
		s.threadCreatedLocked(g, t, userID)
		out = Channel{ID: t.id, GuildID: g.id, Name: name, Type: t.typ, ParentID: parent.id}
		return nil
	})
	return out, err
}
