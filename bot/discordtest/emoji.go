package discordtest

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/bwmarrin/discordgo"
)

// This file holds a guild's custom emojis. An admin manages them (AddEmoji,
// RenameEmoji, DeleteEmoji); every change sends GUILD_EMOJIS_UPDATE with the
// guild's whole emoji list, as Discord does, to sessions with the
// GUILD_EMOJIS_AND_STICKERS intent.

// Emoji is a custom guild emoji as the setup methods return it.
type Emoji struct {
	ID, GuildID, Name string
	Animated          bool
}

type emoji struct {
	id, name string
	animated bool
}

type wireGuildEmoji struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Roles         []string `json:"roles"`
	RequireColons bool     `json:"require_colons"`
	Managed       bool     `json:"managed"`
	Animated      bool     `json:"animated"`
	Available     bool     `json:"available"`
}

func wireEmojiOf(e *emoji) wireGuildEmoji {
	return wireGuildEmoji{ID: e.id, Name: e.name, Roles: []string{}, RequireColons: true, Animated: e.animated, Available: true}
}

// wireEmojisLocked renders a guild's emojis for guild objects.
func wireEmojisLocked(g *guild) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(g.emojis))
	for _, e := range g.emojis {
		out = append(out, mustJSON(wireEmojiOf(e)))
	}
	return out
}

// checkEmojiName applies Discord's rule: 2 to 32 letters, digits or
// underscores.
func checkEmojiName(name string) error {
	if len(name) < 2 || len(name) > 32 {
		return fmt.Errorf("discordtest: emoji name %q: must be 2 to 32 characters", name)
	}
	for _, r := range name {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("discordtest: emoji name %q: only letters, digits and underscores", name)
		}
	}
	return nil
}

func (g *guild) emoji(id string) (*emoji, error) {
	for _, e := range g.emojis {
		if e.id == id {
			return e, nil
		}
	}
	return nil, discordError(codeUnknownEmoji)
}

// emojisChangedLocked sends GUILD_EMOJIS_UPDATE and emits an event of kind.
func (s *Server) emojisChangedLocked(g *guild, kind, detail string) {
	list := make([]wireGuildEmoji, 0, len(g.emojis))
	for _, e := range g.emojis {
		list = append(list, wireEmojiOf(e))
	}
	s.dispatchLocked(gwEvent{name: "GUILD_EMOJIS_UPDATE", guildID: g.id, intent: discordgo.IntentGuildEmojis,
		data: mustJSON(map[string]any{"guild_id": g.id, "emojis": list})})
	s.emitLocked(Event{Kind: kind, GuildID: g.id, Detail: detail})
}

// AddEmoji uploads a custom emoji to a guild, as an admin does in Server
// Settings → Emoji.
func (s *Server) AddEmoji(guildID, name string, animated bool) (Emoji, error) {
	var out Emoji
	err := s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		if err := checkEmojiName(name); err != nil {
			return err
		}
		e := &emoji{id: s.ids.next(), name: name, animated: animated}
		g.emojis = append(g.emojis, e)
		s.emojisChangedLocked(g, KindEmojiCreate, name)
		out = Emoji{ID: e.id, GuildID: g.id, Name: name, Animated: animated}
		return nil
	})
	return out, err
}

// RenameEmoji renames a guild's custom emoji.
func (s *Server) RenameEmoji(guildID, emojiID, name string) error {
	return s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		e, err := g.emoji(emojiID)
		if err != nil {
			return err
		}
		if err := checkEmojiName(name); err != nil {
			return err
		}
		e.name = name
		s.emojisChangedLocked(g, KindEmojiUpdate, name)
		return nil
	})
}

// DeleteEmoji deletes a guild's custom emoji.
func (s *Server) DeleteEmoji(guildID, emojiID string) error {
	return s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		e, err := g.emoji(emojiID)
		if err != nil {
			return err
		}
		g.emojis = slices.DeleteFunc(g.emojis, func(x *emoji) bool { return x == e })
		s.emojisChangedLocked(g, KindEmojiDelete, e.name)
		return nil
	})
}

// Emojis returns a guild's custom emojis in creation order.
func (s *Server) Emojis(guildID string) []*discordgo.Emoji {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.guilds[guildID]
	if !ok {
		return nil
	}
	out := make([]*discordgo.Emoji, 0, len(g.emojis))
	for _, e := range g.emojis {
		out = append(out, convert[discordgo.Emoji](wireEmojiOf(e)))
	}
	return out
}
