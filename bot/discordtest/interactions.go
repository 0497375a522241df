package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/bwmarrin/discordgo"
)

// interactionTokenLifetime is how long followups and edits of the original
// response are accepted after an interaction was created.
const interactionTokenLifetime = 15 * time.Minute

// ResponseType names how the bot answered an interaction.
type ResponseType string

// Response types, after Discord's interaction callback types.
const (
	ResponseNone           ResponseType = "none"            // not answered yet
	ResponseMessage        ResponseType = "message"         // 4 CHANNEL_MESSAGE_WITH_SOURCE
	ResponseDeferred       ResponseType = "deferred"        // 5 DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
	ResponseDeferredUpdate ResponseType = "deferred_update" // 6 DEFERRED_UPDATE_MESSAGE
	ResponseUpdate         ResponseType = "update"          // 7 UPDATE_MESSAGE
	ResponseAutocomplete   ResponseType = "autocomplete"    // 8 APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
	ResponseModal          ResponseType = "modal"           // 9 MODAL
)

// responseTypeOf names a callback type.
func responseTypeOf(t discordgo.InteractionResponseType) ResponseType {
	switch t {
	case discordgo.InteractionResponseChannelMessageWithSource:
		return ResponseMessage
	case discordgo.InteractionResponseDeferredChannelMessageWithSource:
		return ResponseDeferred
	case discordgo.InteractionResponseDeferredMessageUpdate:
		return ResponseDeferredUpdate
	case discordgo.InteractionResponseUpdateMessage:
		return ResponseUpdate
	case discordgo.InteractionApplicationCommandAutocompleteResult:
		return ResponseAutocomplete
	case discordgo.InteractionResponseModal:
		return ResponseModal
	}
	return ResponseNone
}

// Response is the bot's current answer to an interaction.
type Response struct {
	Type ResponseType
	// Message is the original response message after any edits: the new
	// message for message/deferred responses, the component's message for
	// update/deferred_update. Nil for the other types or once deleted.
	Message *discordgo.Message
	// Ephemeral is set when the response was sent with flags 64.
	Ephemeral bool
	// Modal is the modal shown (custom_id, title, components).
	Modal *discordgo.InteractionResponseData
	// Choices are the autocomplete results.
	Choices []*discordgo.ApplicationCommandOptionChoice
}

// interaction is the emulator's record of one interaction; guarded by
// Server.mu.
type interaction struct {
	id, token                  string
	typ                        discordgo.InteractionType
	guildID, channelID, userID string
	name                       string // command name or component custom_id
	createdAt                  time.Time
	deadline                   time.Duration
	sourceMsgID                string // the message a component belongs to

	acked      bool
	respType   ResponseType
	originalID string
	ephemeral  bool
	modal      json.RawMessage
	choices    json.RawMessage
	followups  []string
}

// Interaction is a handle on an interaction a simulated person started.
type Interaction struct {
	ID, Token string
	Type      discordgo.InteractionType
	GuildID   string
	ChannelID string
	UserID    string
	srv       *Server
}

// SlashInput describes a slash command a person runs.
type SlashInput struct {
	GuildID   string // "" runs the command in the person's DM with the bot
	ChannelID string
	UserID    string
	Name      string
	// Options are the command's options. Type may be left 0: it is taken
	// from the registered command. An option whose Value is an Upload (or
	// *Upload) is an ATTACHMENT option: the file is stored on the CDN and
	// the value replaced by the attachment's id.
	Options []*discordgo.ApplicationCommandInteractionDataOption
	// Attachments are more uploads; one whose Option names an option binds
	// to it (the option is added if missing), the others are only in
	// data.resolved.attachments.
	Attachments []Upload
}

// Upload is a file a person attaches.
type Upload struct {
	Filename    string
	ContentType string
	Data        []byte
	// Option, in SlashInput.Attachments, names the ATTACHMENT option this
	// file is the value of.
	Option string
}

// wireInteraction is an INTERACTION_CREATE payload.
type wireInteraction struct {
	ID                           string            `json:"id"`
	ApplicationID                string            `json:"application_id"`
	Type                         int               `json:"type"`
	Data                         json.RawMessage   `json:"data,omitempty"`
	GuildID                      string            `json:"guild_id,omitempty"`
	Guild                        map[string]any    `json:"guild,omitempty"`
	Channel                      wireChannel       `json:"channel"`
	ChannelID                    string            `json:"channel_id"`
	Member                       *wireMember       `json:"member,omitempty"`
	User                         *wireUser         `json:"user,omitempty"`
	Token                        string            `json:"token"`
	Version                      int               `json:"version"`
	Message                      *wireMessage      `json:"message,omitempty"`
	AppPermissions               string            `json:"app_permissions"`
	Locale                       string            `json:"locale"`
	GuildLocale                  string            `json:"guild_locale,omitempty"`
	Entitlements                 []any             `json:"entitlements"`
	AuthorizingIntegrationOwners map[string]string `json:"authorizing_integration_owners"`
	Context                      int               `json:"context"`
}

// personContextLocked checks that a person can act in a channel: in a guild
// they must be a member who can view it; without a guild the channel is
// their DM with the bot.
func (s *Server) personContextLocked(guildID, channelID, userID string) (*guild, *channel, error) {
	if _, err := s.st.user(userID); err != nil {
		return nil, nil, fmt.Errorf("discordtest: user %s: %w", userID, err)
	}
	if guildID == "" {
		if channelID != "" {
			c, err := s.st.channel(channelID)
			if err != nil || !c.isDM() || c.recipientID != userID {
				return nil, nil, fmt.Errorf("discordtest: channel %s is not the DM of user %s", channelID, userID)
			}
			return nil, c, nil
		}
		return nil, s.dmChannelLocked(userID), nil
	}
	g, err := s.st.guild(guildID)
	if err != nil {
		return nil, nil, fmt.Errorf("discordtest: guild %s: %w", guildID, err)
	}
	if _, err := g.member(userID); err != nil {
		return nil, nil, fmt.Errorf("discordtest: user %s is not a member of guild %s", userID, guildID)
	}
	c, err := s.st.channel(channelID)
	if err != nil || c.guildID != g.id {
		return nil, nil, fmt.Errorf("discordtest: channel %s is not in guild %s", channelID, guildID)
	}
	if !g.has(userID, discordgo.PermissionViewChannel) {
		return nil, nil, fmt.Errorf("discordtest: user %s cannot view channel %s", userID, channelID)
	}
	return g, c, nil
}

// newInteractionLocked records an interaction and dispatches
// INTERACTION_CREATE (sent regardless of intents).
func (s *Server) newInteractionLocked(typ discordgo.InteractionType, g *guild, c *channel, userID, name string, data any, msg *message) *Interaction {
	it := &interaction{
		id: s.ids.next(), token: "aW50ZXJhY3Rpb246" + randomHex(40), typ: typ, channelID: c.id, userID: userID,
		name: name, createdAt: time.Now(), deadline: s.opts.InteractionDeadline, respType: ResponseNone,
	}
	w := wireInteraction{
		ID: it.id, ApplicationID: s.appID, Type: int(typ), Data: mustJSON(data), Channel: s.wireChannelLocked(c),
		ChannelID: c.id, Token: it.token, Version: 1, Locale: "en-US", Entitlements: []any{},
	}
	if g != nil {
		it.guildID = g.id
		mem := s.wireMemberLocked(g.members[userID], true, "")
		mem.Permissions = permString(g.permissions(userID))
		w.GuildID, w.Member, w.GuildLocale = g.id, &mem, "en-US"
		w.Guild = map[string]any{"id": g.id, "locale": "en-US", "features": []string{}}
		w.AppPermissions = permString(g.permissions(s.botID))
		w.AuthorizingIntegrationOwners = map[string]string{"0": g.id}
	} else {
		u := s.wireUserLocked(userID)
		w.User = &u
		w.AppPermissions = permString(discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
			discordgo.PermissionEmbedLinks | discordgo.PermissionAttachFiles | discordgo.PermissionReadMessageHistory |
			discordgo.PermissionAddReactions)
		w.AuthorizingIntegrationOwners = map[string]string{"0": "0"}
		w.Context = int(discordgo.InteractionContextBotDM)
	}
	if msg != nil {
		it.sourceMsgID = msg.id
		wm := s.wireMessageLocked(msg, false)
		w.Message = &wm
	}
	s.st.interactions[it.id] = it
	s.st.byToken[it.token] = it
	s.dispatchLocked(gwEvent{name: "INTERACTION_CREATE", guildID: it.guildID, data: mustJSON(w)})
	s.emitLocked(Event{Kind: KindInteractionCreate, GuildID: it.guildID, ChannelID: c.id, UserID: userID, ActorID: userID,
		Detail: describeInteraction(typ, name)})
	return &Interaction{ID: it.id, Token: it.token, Type: typ, GuildID: it.guildID, ChannelID: c.id, UserID: userID, srv: s}
}

func describeInteraction(typ discordgo.InteractionType, name string) string {
	switch typ {
	case discordgo.InteractionApplicationCommand:
		return "/" + name
	case discordgo.InteractionApplicationCommandAutocomplete:
		return "/" + name + " (autocomplete)"
	case discordgo.InteractionMessageComponent:
		return "component " + name
	case discordgo.InteractionModalSubmit:
		return "modal " + name
	}
	return name
}

// findCommandLocked finds a registered command by name: the guild's first,
// then the global ones.
func (s *Server) findCommandLocked(guildID, name string, typ discordgo.ApplicationCommandType) *command {
	var global *command
	for _, c := range s.st.commands {
		if c.def.Name != name || c.def.Type != typ {
			continue
		}
		if guildID != "" && c.guildID == guildID {
			return c
		}
		if c.guildID == "" {
			global = c
		}
	}
	return global
}

// RunSlash runs a registered slash command as a person: the bot receives
// INTERACTION_CREATE (type 2). The command must be registered for the guild
// or globally.
func (s *Server) RunSlash(in SlashInput) (*Interaction, error) {
	return s.commandInteraction(in, discordgo.InteractionApplicationCommand, "")
}

// Autocomplete sends an autocomplete interaction (type 4) for the command,
// with the option named focused marked as focused; the bot answers with
// choices, visible in Response().Choices.
func (s *Server) Autocomplete(in SlashInput, focused string) (*Interaction, error) {
	return s.commandInteraction(in, discordgo.InteractionApplicationCommandAutocomplete, focused)
}

// commandInteraction starts a slash command or autocomplete interaction
// for a registered CHAT_INPUT command.
func (s *Server) commandInteraction(in SlashInput, typ discordgo.InteractionType, focused string) (*Interaction, error) {
	var out *Interaction
	err := s.mutate(func() error {
		g, c, err := s.personContextLocked(in.GuildID, in.ChannelID, in.UserID)
		if err != nil {
			return err
		}
		cmd := s.findCommandLocked(in.GuildID, in.Name, discordgo.ChatApplicationCommand)
		if cmd == nil {
			return fmt.Errorf("discordtest: command /%s is not registered for guild %q or globally", in.Name, in.GuildID)
		}
		if err := s.canUseLocked(g, cmd, in.UserID); err != nil {
			return err
		}
		rd := &resolvedData{}
		opts, err := s.resolveOptionsLocked(g, c, cmd.def.Options, cloneOptions(in.Options), rd)
		if err != nil {
			return fmt.Errorf("discordtest: /%s: %w", in.Name, err)
		}
		for _, up := range in.Attachments {
			a := s.storeUploadLocked(c, up)
			rd.addAttachment(a)
			if up.Option == "" {
				continue
			}
			if o := findOption(opts, up.Option); o != nil {
				o.Type, o.Value = discordgo.ApplicationCommandOptionAttachment, a.id
			} else {
				opts = append(opts, &discordgo.ApplicationCommandInteractionDataOption{
					Name: up.Option, Type: discordgo.ApplicationCommandOptionAttachment, Value: a.id,
				})
			}
		}
		if typ == discordgo.InteractionApplicationCommandAutocomplete {
			o := findOption(opts, focused)
			if o == nil {
				return fmt.Errorf("discordtest: /%s: no option %q to focus", in.Name, focused)
			}
			o.Focused = true
		}
		data := map[string]any{"id": cmd.id, "name": cmd.def.Name, "type": int(cmd.def.Type)}
		if cmd.guildID != "" {
			data["guild_id"] = cmd.guildID
		}
		if len(opts) > 0 {
			data["options"] = opts
		}
		if !rd.empty() {
			data["resolved"] = rd
		}
		out = s.newInteractionLocked(typ, g, c, in.UserID, cmd.def.Name, data, nil)
		return nil
	})
	return out, err
}

// Response returns the bot's current answer.
func (i *Interaction) Response() Response {
	s := i.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.responseLocked(i.ID)
}

// responseLocked renders an interaction's current response.
func (s *Server) responseLocked(id string) Response {
	it, ok := s.st.interactions[id]
	if !ok {
		return Response{Type: ResponseNone}
	}
	resp := Response{Type: it.respType, Ephemeral: it.ephemeral}
	if it.originalID != "" {
		if m := s.findAnyMessageLocked(it.channelID, it.originalID); m != nil {
			resp.Message = s.messageCopyLocked(m)
		}
	}
	if it.modal != nil {
		resp.Modal = modalCopy(it.modal)
	}
	if it.choices != nil {
		_ = json.Unmarshal(it.choices, &resp.Choices)
	}
	return resp
}

// WaitResponse waits for the bot's first response to the interaction.
func (i *Interaction) WaitResponse(ctx context.Context) (Response, error) {
	var resp Response
	err := i.srv.WaitFor(ctx, func() bool {
		resp = i.Response()
		return resp.Type != ResponseNone
	})
	if err != nil {
		return resp, fmt.Errorf("discordtest: no response to interaction %s: %w", i.ID, err)
	}
	return resp, nil
}

// WaitMessage waits until the original response message, or else a
// followup, satisfies pred (for deferred-then-edited flows) and returns it.
func (i *Interaction) WaitMessage(ctx context.Context, pred func(*discordgo.Message) bool) (*discordgo.Message, error) {
	var found *discordgo.Message
	err := i.srv.WaitFor(ctx, func() bool {
		if m := i.Response().Message; m != nil && pred(m) {
			found = m
			return true
		}
		for _, m := range i.Followups() {
			if pred(m) {
				found = m
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, fmt.Errorf("discordtest: no matching message for interaction %s: %w", i.ID, err)
	}
	return found, nil
}

// Followups returns the followup messages sent for the interaction, in
// order (deleted ones are left out).
func (i *Interaction) Followups() []*discordgo.Message {
	s := i.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.st.interactions[i.ID]
	if !ok {
		return nil
	}
	var out []*discordgo.Message
	for _, id := range it.followups {
		if m := s.findAnyMessageLocked(it.channelID, id); m != nil {
			out = append(out, s.messageCopyLocked(m))
		}
	}
	return out
}

// Expire makes the interaction's response deadline pass now, as if the bot
// had been slow: a first response after this fails with 10062.
func (i *Interaction) Expire() {
	s := i.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.st.interactions[i.ID]; ok {
		it.deadline = -1
	}
}

// canUseLocked applies what Discord's client does before a person can run a
// command: default_member_permissions in guilds (0 = administrators only)
// and the DM contexts outside them.
func (s *Server) canUseLocked(g *guild, cmd *command, userID string) error {
	def := cmd.def
	if g == nil {
		dmOK := def.DMPermission == nil || *def.DMPermission
		if def.Contexts != nil {
			dmOK = slices.Contains(*def.Contexts, discordgo.InteractionContextBotDM)
		}
		if cmd.guildID != "" || !dmOK {
			return fmt.Errorf("discordtest: /%s cannot be used in DMs", def.Name)
		}
		return nil
	}
	if allowed, ok := g.commandAccess[def.Name]; ok {
		m := g.members[userID]
		for _, id := range allowed {
			if id == userID || id == g.id || (m != nil && slices.Contains(m.roles, id)) {
				return nil
			}
		}
		return fmt.Errorf("discordtest: user %s is not among those the guild allowed to use /%s", userID, def.Name)
	}
	if def.DefaultMemberPermissions == nil {
		return nil
	}
	need, have := *def.DefaultMemberPermissions, g.permissions(userID)
	if have&discordgo.PermissionAdministrator != 0 || (need != 0 && have&need == need) {
		return nil
	}
	return fmt.Errorf("discordtest: user %s lacks the permissions /%s requires (%d)", userID, def.Name, need)
}
