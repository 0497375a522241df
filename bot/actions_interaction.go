package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
)

// interactionActions answer the interaction that started a run, with
// part B 3.6's switching between the first answer and follow-ups. They
// need no scope (as in SkynetBot); embeds still need embed_links.
func (e *Executor) interactionActions() map[string]action {
	return map[string]action{
		"interaction.reply":      e.interactionReply,
		"interaction.deferReply": e.interactionDefer,
		"interaction.editReply":  e.interactionEdit,
		"interaction.followUp":   e.interactionFollowUp,
		"interaction.update":     e.interactionUpdate,
		"interaction.showModal":  e.interactionModal,
		"interaction.respond":    e.interactionRespond,
	}
}

// interactionPayload is an answer's message: checkPayload's checks (the
// same as for any message an extension sends) plus ephemeral.
type interactionPayload struct{ checkedMessage }

func (p interactionPayload) data() *discordgo.InteractionResponseData {
	d := &discordgo.InteractionResponseData{Content: p.Content, Embeds: p.Embeds, Components: p.components, AllowedMentions: p.mentions}
	if p.Ephemeral {
		d.Flags = discordgo.MessageFlagsEphemeral
	}
	return d
}

func (p interactionPayload) webhook() *discordgo.WebhookParams {
	d := p.data()
	return &discordgo.WebhookParams{Content: d.Content, Embeds: d.Embeds, Components: d.Components, AllowedMentions: d.AllowedMentions, Flags: d.Flags}
}

func (p interactionPayload) edit() *discordgo.WebhookEdit {
	d := p.data()
	return &discordgo.WebhookEdit{Content: &d.Content, Embeds: &d.Embeds, Components: &d.Components, AllowedMentions: d.AllowedMentions}
}

// interactionOf is the interaction a call answers, or an error for runs
// that were not started by one.
func interactionOf(call sandbox.Call, o extensions.Origin) (*discordgo.Interaction, error) {
	if o.Interaction == nil || o.Run == nil {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s can only answer the interaction that started the run", call.API.Name)
	}
	return &discordgo.Interaction{ID: o.Interaction.ID, Token: o.Interaction.Token, AppID: o.Interaction.AppID}, nil
}

// editState remembers whether a deferred answer was replaced by content.
type editState struct {
	mu     sync.Mutex
	edited bool
}

func runEditState(run *extensions.RunState) *editState {
	v, err := run.Value("interaction.edit", func() any { return &editState{} })
	if err != nil {
		return &editState{}
	}
	return v.(*editState)
}

// interactionEdited reports whether the run replaced its deferred answer.
func interactionEdited(run *extensions.RunState) bool {
	st := runEditState(run)
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.edited
}

// answer sends p as the interaction's answer: the first response when
// there was none, the content of a deferral, or a follow-up.
func (e *Executor) answer(ctx context.Context, call sandbox.Call, o extensions.Origin, p interactionPayload, followUp bool) (json.RawMessage, error) {
	it, err := interactionOf(call, o)
	if err != nil {
		return nil, err
	}
	wasAnswered, wasDeferred := o.Run.Answer(false)
	st := runEditState(o.Run)
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case !wasAnswered:
		err = e.session.InteractionRespond(it, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: p.data()}, discordgo.WithContext(ctx))
	case wasDeferred && !st.edited && !followUp && o.Interaction.Kind != extensions.InteractionComponent:
		_, err = e.session.InteractionResponseEdit(it, p.edit(), discordgo.WithContext(ctx))
		st.edited = err == nil
	default:
		_, err = e.session.FollowupMessageCreate(it, true, p.webhook(), discordgo.WithContext(ctx))
	}
	return e.answered(ctx, call, o, err)
}

// answered reports an answer's outcome as part B does ({success, error}),
// with an audit row either way.
func (e *Executor) answered(ctx context.Context, call sandbox.Call, o extensions.Origin, err error) (json.RawMessage, error) {
	target := "interaction:" + o.Interaction.ID
	if err != nil {
		e.audit(ctx, o, call.API.Name, target, outcomeOf(err))
		e.extLog(ctx, o, fmt.Sprintf("%s: Discord refused it: %v", call.API.Name, err))
		return legacyFailure(err)
	}
	e.audit(ctx, o, call.API.Name, target, "ok")
	return json.RawMessage(`{"success":true}`), nil
}

func (e *Executor) payloadArg(call sandbox.Call, o extensions.Origin) (interactionPayload, error) {
	arg, err := firstArg(call)
	if err != nil {
		return interactionPayload{}, err
	}
	m, err := e.checkPayload(call, o, arg, false)
	return interactionPayload{m}, err
}

func (e *Executor) interactionReply(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	p, err := e.payloadArg(call, o)
	if err != nil {
		return nil, err
	}
	return e.answer(ctx, call, o, p, false)
}

func (e *Executor) interactionFollowUp(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	p, err := e.payloadArg(call, o)
	if err != nil {
		return nil, err
	}
	return e.answer(ctx, call, o, p, true)
}

// interactionEdit edits the first answer, or answers when there is none.
func (e *Executor) interactionEdit(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	p, err := e.payloadArg(call, o)
	if err != nil {
		return nil, err
	}
	it, err := interactionOf(call, o)
	if err != nil {
		return nil, err
	}
	if answered, _ := o.Run.Answered(); !answered {
		return e.answer(ctx, call, o, p, false)
	}
	_, err = e.session.InteractionResponseEdit(it, p.edit(), discordgo.WithContext(ctx))
	if err == nil {
		st := runEditState(o.Run)
		st.mu.Lock()
		st.edited = true
		st.mu.Unlock()
	}
	return e.answered(ctx, call, o, err)
}

// interactionDefer acknowledges now and answers later; a second deferral,
// or one after an answer, does nothing.
func (e *Executor) interactionDefer(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	it, err := interactionOf(call, o)
	if err != nil {
		return nil, err
	}
	var opts struct {
		Ephemeral bool `json:"ephemeral"`
	}
	if err := decodeArgs(call, &opts); err != nil {
		return nil, err
	}
	if answered, _ := o.Run.Answer(true); answered {
		return json.RawMessage(`{"success":true}`), nil
	}
	typ := discordgo.InteractionResponseDeferredChannelMessageWithSource
	if o.Interaction.Kind == extensions.InteractionComponent && !opts.Ephemeral {
		typ = discordgo.InteractionResponseDeferredMessageUpdate
	}
	resp := &discordgo.InteractionResponse{Type: typ}
	if opts.Ephemeral {
		resp.Data = &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}
	}
	return e.answered(ctx, call, o, e.session.InteractionRespond(it, resp, discordgo.WithContext(ctx)))
}

// interactionUpdate edits the message whose component was used.
func (e *Executor) interactionUpdate(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	it, err := interactionOf(call, o)
	if err != nil {
		return nil, err
	}
	if o.Interaction.Kind != extensions.InteractionComponent && o.Interaction.Kind != extensions.InteractionModal {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "interaction.update answers a button, select menu or form on a message")
	}
	p, err := e.payloadArg(call, o)
	if err != nil {
		return nil, err
	}
	if answered, _ := o.Run.Answer(false); !answered {
		return e.answered(ctx, call, o, e.session.InteractionRespond(it, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage, Data: p.data()}, discordgo.WithContext(ctx)))
	}
	_, err = e.session.InteractionResponseEdit(it, p.edit(), discordgo.WithContext(ctx))
	return e.answered(ctx, call, o, err)
}

// modalPayload is a modal as extension code writes it.
type modalPayload struct {
	CustomID   string            `json:"customId"`
	Title      string            `json:"title"`
	Components []json.RawMessage `json:"components"`
}

// interactionModal opens a form; it must be the first answer.
func (e *Executor) interactionModal(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	it, err := interactionOf(call, o)
	if err != nil {
		return nil, err
	}
	var m modalPayload
	if err := decodeArgs(call, &m); err != nil {
		return nil, err
	}
	if m.CustomID == "" || m.Title == "" || len(m.Components) == 0 || len(m.Components) > 5 {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "a modal needs a customId, a title and 1 to 5 rows of text inputs")
	}
	rows, err := extensionComponents(o, m.Components)
	if err != nil {
		return nil, err
	}
	id := componentID(o, m.CustomID)
	if len(id) > 100 {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "the modal's customId is too long")
	}
	if answered, _ := o.Run.Answer(false); answered {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "a modal must be the first answer to an interaction")
	}
	data := &discordgo.InteractionResponseData{CustomID: id, Title: m.Title, Components: rows}
	return e.answered(ctx, call, o, e.session.InteractionRespond(it, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: data}, discordgo.WithContext(ctx)))
}

// interactionRespond answers an autocomplete request.
func (e *Executor) interactionRespond(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	it, err := interactionOf(call, o)
	if err != nil {
		return nil, err
	}
	if o.Interaction.Kind != extensions.InteractionAutocomplete {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "interaction.respond answers autocomplete only")
	}
	var choices []*discordgo.ApplicationCommandOptionChoice
	if err := decodeArgs(call, &choices); err != nil {
		return nil, err
	}
	if len(choices) > 25 {
		choices = choices[:25]
	}
	if answered, _ := o.Run.Answer(false); answered {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "the autocomplete request was already answered")
	}
	return e.answered(ctx, call, o, e.session.InteractionRespond(it, &discordgo.InteractionResponse{
		Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: choices},
	}, discordgo.WithContext(ctx)))
}
