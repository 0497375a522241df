package commands

import (
	"context"

	"github.com/bwmarrin/discordgo"
)

// responder answers one interaction: ephemerally, since /ext output is for
// the admin who asked. It logs nothing itself; a failed answer is reported
// through ok/false so the caller can stop.
type responder struct {
	s   *discordgo.Session
	i   *discordgo.Interaction
	ctx context.Context
	// err is the last failure to answer, for the caller's log.
	err error
}

// say replies with content (the first and only answer).
func (r *responder) say(content string) bool {
	r.err = r.s.InteractionRespond(r.i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: content, Flags: discordgo.MessageFlagsEphemeral},
	}, discordgo.WithContext(r.ctx))
	return r.err == nil
}

// defer_ acknowledges now and answers later with edit.
func (r *responder) defer_() bool {
	r.err = r.s.InteractionRespond(r.i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
	}, discordgo.WithContext(r.ctx))
	return r.err == nil
}

// edit replaces the deferred answer with content.
func (r *responder) edit(content string) bool {
	_, r.err = r.s.InteractionResponseEdit(r.i, &discordgo.WebhookEdit{Content: &content}, discordgo.WithContext(r.ctx))
	return r.err == nil
}
