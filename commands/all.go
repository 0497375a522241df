package commands

import (
	"context"

	"github.com/bwmarrin/discordgo"
)

// Handler is one family of skybot's own interactions (/ext, /gallery, the
// review channel's cards). HandleInteraction reports whether the
// interaction was the family's to answer; a family declines what is not
// its own (another command name, another custom id prefix) without
// answering it.
type Handler interface {
	Definitions() []*discordgo.ApplicationCommand
	HandleInteraction(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate) bool
}

// All serves several families as one: their commands together, and each
// interaction offered to each family in order until one takes it.
type All []Handler

// Definitions implements bot.Interactions.
func (a All) Definitions() []*discordgo.ApplicationCommand {
	var defs []*discordgo.ApplicationCommand
	for _, h := range a {
		defs = append(defs, h.Definitions()...)
	}
	return defs
}

// HandleInteraction implements bot.Interactions.
func (a All) HandleInteraction(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate) bool {
	for _, h := range a {
		if h.HandleInteraction(ctx, s, i) {
			return true
		}
	}
	return false
}

var _ Handler = All(nil)
