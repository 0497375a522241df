package discordtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/bwmarrin/discordgo"
)

// interactionByRoute resolves /interactions/{id}/{token}.
func (s *Server) interactionByRoute(r *request) (*interaction, error) {
	it, ok := s.st.interactions[r.params["interaction"]]
	if !ok || it.token != r.params["token"] {
		return nil, discordError(codeUnknownInteraction)
	}
	return it, nil
}

// restInteractionCallback is the first response to an interaction: within
// the deadline (else 10062) and only once (else 40060).
func restInteractionCallback(s *Server, r *request) (reply, error) {
	it, err := s.interactionByRoute(r)
	if err != nil {
		return reply{}, err
	}
	if it.acked {
		return reply{}, discordError(codeAlreadyAcknowledged)
	}
	if time.Since(it.createdAt) > it.deadline {
		return reply{}, discordError(codeUnknownInteraction)
	}
	var body struct {
		Type discordgo.InteractionResponseType `json:"type"`
		Data json.RawMessage                   `json:"data"`
	}
	if err := r.decode(&body); err != nil {
		return reply{}, err
	}
	if err := it.allows(body.Type); err != nil {
		return reply{}, err
	}
	data := fieldsOf(body.Data)
	switch body.Type {
	case discordgo.InteractionResponseChannelMessageWithSource, discordgo.InteractionResponseDeferredChannelMessageWithSource:
		in, err := parseMessageInput(data, r.files)
		if err != nil {
			return reply{}, err
		}
		in.ref = nil
		m, err := s.respondWithMessageLocked(it, in, body.Type == discordgo.InteractionResponseDeferredChannelMessageWithSource)
		if err != nil {
			return reply{}, err
		}
		it.originalID = m.id
		it.ephemeral = m.flags&int(discordgo.MessageFlagsEphemeral) != 0
	case discordgo.InteractionResponseDeferredMessageUpdate:
		it.originalID = it.sourceMsgID
	case discordgo.InteractionResponseUpdateMessage:
		in, err := parseMessageInput(data, r.files)
		if err != nil {
			return reply{}, err
		}
		m := s.findAnyMessageLocked(it.channelID, it.sourceMsgID)
		if m == nil {
			return reply{}, discordError(codeUnknownMessage)
		}
		in.ref = nil
		s.editLocked(s.st.channels[it.channelID], m, in, s.botID)
		it.originalID = m.id
	case discordgo.InteractionApplicationCommandAutocompleteResult:
		var choices []json.RawMessage
		if err := data.into("choices", &choices); err != nil {
			return reply{}, err
		}
		if len(choices) > 25 {
			return reply{}, formError("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
		}
		it.choices = mustJSON(choices)
	case discordgo.InteractionResponseModal:
		var modal struct {
			CustomID   string            `json:"custom_id"`
			Title      string            `json:"title"`
			Components []json.RawMessage `json:"components"`
		}
		_ = json.Unmarshal(body.Data, &modal)
		switch {
		case modal.CustomID == "":
			return reply{}, formError("data.custom_id", "BASE_TYPE_REQUIRED", "This field is required")
		case modal.Title == "" || len(modal.Title) > 45:
			return reply{}, formError("data.title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
		case len(modal.Components) == 0 || len(modal.Components) > 5:
			return reply{}, formError("data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
		}
		it.modal = body.Data
	}
	it.acked = true
	it.respType = responseTypeOf(body.Type)
	ev := Event{Kind: KindInteractionResponse, GuildID: it.guildID, ChannelID: it.channelID, UserID: it.userID,
		ActorID: s.botID, Detail: string(it.respType)}
	if m := s.findAnyMessageLocked(it.channelID, it.originalID); m != nil && it.originalID != "" {
		ev.Message = s.messageCopyLocked(m)
	}
	s.emitLocked(ev)
	if r.query.Get("with_response") == "true" {
		return okJSON(s.callbackResponseLocked(it, body.Type))
	}
	return noContent()
}

// allows checks a callback type against the interaction's type.
func (it *interaction) allows(t discordgo.InteractionResponseType) error {
	fromComponent := it.typ == discordgo.InteractionMessageComponent ||
		(it.typ == discordgo.InteractionModalSubmit && it.sourceMsgID != "")
	okType := false
	switch t {
	case discordgo.InteractionResponseChannelMessageWithSource, discordgo.InteractionResponseDeferredChannelMessageWithSource:
		okType = it.typ != discordgo.InteractionApplicationCommandAutocomplete
	case discordgo.InteractionResponseDeferredMessageUpdate, discordgo.InteractionResponseUpdateMessage:
		okType = fromComponent
	case discordgo.InteractionApplicationCommandAutocompleteResult:
		okType = it.typ == discordgo.InteractionApplicationCommandAutocomplete
	case discordgo.InteractionResponseModal:
		okType = it.typ == discordgo.InteractionApplicationCommand || it.typ == discordgo.InteractionMessageComponent
	}
	if !okType {
		return formError("type", "INTERACTION_RESPONSE_TYPE_INVALID",
			fmt.Sprintf("Interaction response type %d is not valid for interaction type %d", t, it.typ))
	}
	return nil
}

// respondWithMessageLocked creates the original response message; deferred
// responses create the "thinking" message (flags LOADING) that the bot later
// edits.
func (s *Server) respondWithMessageLocked(it *interaction, in messageInput, deferred bool) (*message, error) {
	c, ok := s.st.channels[it.channelID]
	if !ok {
		return nil, discordError(codeUnknownChannel)
	}
	tmpl := s.interactionMessageTemplate(it)
	if it.typ == discordgo.InteractionApplicationCommand {
		tmpl.typ = discordgo.MessageTypeChatInputCommand
	}
	if !deferred {
		return s.postLocked(c, tmpl, in, s.botID)
	}
	flags := int(discordgo.MessageFlagsLoading)
	if in.flags != nil {
		flags |= *in.flags & int(discordgo.MessageFlagsEphemeral)
	}
	tmpl.id = s.ids.next()
	tmpl.channelID, tmpl.guildID = c.id, c.guildID
	tmpl.createdAt = snowflakeTime(tmpl.id)
	tmpl.flags = flags
	s.storeLocked(c, tmpl)
	return tmpl, nil
}

// interactionMessageTemplate is the author and metadata of a message the bot
// sends in answer to an interaction.
func (s *Server) interactionMessageTemplate(it *interaction) *message {
	return &message{
		authorID: s.botID, webhookID: s.appID, appID: s.appID,
		interaction: &interactionMeta{id: it.id, name: it.name, userID: it.userID, typ: it.typ},
	}
}

// callbackResponseLocked is the body of a callback with ?with_response=true.
func (s *Server) callbackResponseLocked(it *interaction, t discordgo.InteractionResponseType) map[string]any {
	inter := map[string]any{"id": it.id, "type": int(it.typ)}
	res := map[string]any{"type": int(t)}
	if m := s.findAnyMessageLocked(it.channelID, it.originalID); m != nil && it.originalID != "" {
		inter["response_message_id"] = m.id
		inter["response_message_loading"] = m.flags&int(discordgo.MessageFlagsLoading) != 0
		inter["response_message_ephemeral"] = it.ephemeral
		res["message"] = s.wireMessageLocked(m, false)
	}
	return map[string]any{"interaction": inter, "resource": res}
}

// interactionByWebhookToken resolves /webhooks/{app}/{token}: the token must
// be a live interaction token (15 minutes) whose first response was sent.
func (s *Server) interactionByWebhookToken(r *request) (*interaction, error) {
	it, ok := s.st.byToken[r.params["token"]]
	if !ok {
		return nil, discordError(codeUnknownWebhook)
	}
	if time.Since(it.createdAt) > interactionTokenLifetime {
		return nil, discordError(codeInvalidWebhookToken)
	}
	if !it.acked {
		return nil, discordError(codeUnknownWebhook)
	}
	return it, nil
}

// followupLocked creates a followup message (POST /webhooks/{app}/{token}).
func (s *Server) followupLocked(r *request) (reply, error) {
	it, err := s.interactionByWebhookToken(r)
	if err != nil {
		return reply{}, err
	}
	c, ok := s.st.channels[it.channelID]
	if !ok {
		return reply{}, discordError(codeUnknownChannel)
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	in, err := parseMessageInput(f, r.files)
	if err != nil {
		return reply{}, err
	}
	in.ref = nil
	m, err := s.postLocked(c, s.interactionMessageTemplate(it), in, s.botID)
	if err != nil {
		return reply{}, err
	}
	it.followups = append(it.followups, m.id)
	s.emitLocked(Event{Kind: KindFollowup, GuildID: it.guildID, ChannelID: it.channelID, UserID: it.userID,
		ActorID: s.botID, Message: s.messageCopyLocked(m), Detail: m.content})
	return okJSON(s.wireMessageLocked(m, false))
}

// interactionTargetLocked resolves @original or a followup id of the
// route's interaction.
func (s *Server) interactionTargetLocked(r *request) (*interaction, *message, error) {
	it, err := s.interactionByWebhookToken(r)
	if err != nil {
		return nil, nil, err
	}
	id := r.params["message"]
	if id == "@original" {
		id = it.originalID
	} else if !slices.Contains(it.followups, id) {
		return nil, nil, discordError(codeUnknownMessage)
	}
	m := s.findAnyMessageLocked(it.channelID, id)
	if id == "" || m == nil {
		return nil, nil, discordError(codeUnknownMessage)
	}
	return it, m, nil
}

func (s *Server) interactionMessageLocked(r *request) (reply, error) {
	_, m, err := s.interactionTargetLocked(r)
	if err != nil {
		return reply{}, err
	}
	return okJSON(s.wireMessageLocked(m, false))
}

// editInteractionMessageLocked edits the original response or a followup;
// editing a deferred response's "thinking" message fills it in.
func (s *Server) editInteractionMessageLocked(r *request) (reply, error) {
	it, m, err := s.interactionTargetLocked(r)
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
	in.ref = nil
	m.flags &^= int(discordgo.MessageFlagsLoading)
	s.editLocked(s.st.channels[it.channelID], m, in, s.botID)
	return okJSON(s.wireMessageLocked(m, false))
}

func (s *Server) deleteInteractionMessageLocked(r *request) (reply, error) {
	it, m, err := s.interactionTargetLocked(r)
	if err != nil {
		return reply{}, err
	}
	if c, ok := s.st.channels[it.channelID]; ok {
		s.deleteLocked(c, m, s.botID)
	}
	return noContent()
}
