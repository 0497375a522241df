package commands

import (
	"bytes"
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

// sayQuiet is say for content that mentions channels, roles or members:
// nobody is pinged.
func (r *responder) sayQuiet(content string) bool {
	r.err = r.s.InteractionRespond(r.i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{
			Content: content, Flags: discordgo.MessageFlagsEphemeral,
			AllowedMentions: noMentions(),
		},
	}, discordgo.WithContext(r.ctx))
	return r.err == nil
}

// sayButtons replies with content and one row of buttons, nobody pinged.
func (r *responder) sayButtons(content string, buttons ...discordgo.MessageComponent) bool {
	r.err = r.s.InteractionRespond(r.i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: content, Flags: discordgo.MessageFlagsEphemeral,
			AllowedMentions: noMentions(),
			Components:      []discordgo.MessageComponent{discordgo.ActionsRow{Components: buttons}}},
	}, discordgo.WithContext(r.ctx))
	return r.err == nil
}

// modal answers with a form (the first and only answer).
func (r *responder) modal(m *discordgo.InteractionResponseData) bool {
	r.err = r.s.InteractionRespond(r.i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseModal, Data: m,
	}, discordgo.WithContext(r.ctx))
	return r.err == nil
}

// sayFile replies with content and one attached file.
func (r *responder) sayFile(content, filename string, data []byte) bool {
	r.err = r.s.InteractionRespond(r.i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{
			Content: content, Flags: discordgo.MessageFlagsEphemeral,
			Files: []*discordgo.File{{Name: filename, ContentType: "application/json", Reader: bytes.NewReader(data)}},
		},
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

// edit replaces the deferred answer with content and components (nil:
// none).
func (r *responder) edit(content string, components []discordgo.MessageComponent) bool {
	if components == nil {
		components = []discordgo.MessageComponent{}
	}
	_, r.err = r.s.InteractionResponseEdit(r.i, &discordgo.WebhookEdit{Content: &content, Components: &components}, discordgo.WithContext(r.ctx))
	return r.err == nil
}

// update rewrites the message a clicked component belongs to, removing
// its buttons (they have done their job).
func (r *responder) update(content string) bool {
	r.err = r.s.InteractionRespond(r.i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{Content: content, Components: []discordgo.MessageComponent{}},
	}, discordgo.WithContext(r.ctx))
	return r.err == nil
}

// choices answers an autocomplete request.
func (r *responder) choices(cs []*discordgo.ApplicationCommandOptionChoice) bool {
	if cs == nil {
		cs = []*discordgo.ApplicationCommandOptionChoice{}
	}
	r.err = r.s.InteractionRespond(r.i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: cs},
	}, discordgo.WithContext(r.ctx))
	return r.err == nil
}

// noMentions lets a message name users without pinging them.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}
