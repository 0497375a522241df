package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// Executor performs the host calls the sandbox has checked (scope, budget,
// hosting): it is where an extension's intent becomes a Discord REST call,
// and every action it takes leaves an audit row naming the extension.
type Executor struct {
	session *discordgo.Session
	store   *store.Store
	log     *slog.Logger
	// maxContent is the longest message content accepted (Discord: 2000).
	maxContent int
	table      map[string]action
	sched      *extensions.Scheduler // sky.later and sky.cancel; nil until SetScheduler
	http       httpState             // http.request's client and tier rule (actions_http.go)
}

// NewExecutor returns an Executor acting through session.
func NewExecutor(session *discordgo.Session, st *store.Store, log *slog.Logger) *Executor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Executor{session: session, store: st, log: log, maxContent: 2000}
	e.table = e.actions()
	return e
}

// action performs one API for one checked call.
type action func(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error)

// actions maps every API of sandbox.APIs to what performs it; a test keeps
// the two in step. Each group lives in its own actions_*.go file.
func (e *Executor) actions() map[string]action {
	all := map[string]action{}
	for _, group := range []map[string]action{
		e.messageActions(), e.moderationActions(), e.guildActions(),
		e.dataActions(), e.httpActions(), e.interactionActions(), e.scheduleActions(),
		e.channelActions(),
	} {
		for name, a := range group {
			all[name] = a
		}
	}
	return all
}

// Perform implements sandbox.Actions.
func (e *Executor) Perform(ctx context.Context, call sandbox.Call) (json.RawMessage, error) {
	origin, ok := call.Origin.(extensions.Origin)
	if !ok {
		return nil, fmt.Errorf("perform %s: origin %T is not an extensions.Origin", call.API.Name, call.Origin)
	}
	a, ok := e.table[call.API.Name]
	if !ok {
		return nil, fmt.Errorf("perform %s: no executor for this API", call.API.Name)
	}
	return a(ctx, call, origin)
}

// decodeArgs decodes a call's JS arguments into dst, one per position;
// arguments the code left out keep their zero values. A malformed argument
// is INVALID_ARGUMENT naming its position.
func decodeArgs(call sandbox.Call, dst ...any) error {
	var args []json.RawMessage
	if err := json.Unmarshal(call.Args, &args); err != nil {
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the arguments are not a list", call.API.Name)
	}
	for i, d := range dst {
		if i >= len(args) || string(args[i]) == "null" {
			continue
		}
		if err := json.Unmarshal(args[i], d); err != nil {
			return sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: argument %d has the wrong type (%s expected)", call.API.Name, i+1, typeName(d))
		}
	}
	return nil
}

// typeName names what a decodeArgs destination expects, for error texts.
func typeName(d any) string {
	switch d.(type) {
	case *string:
		return "a string"
	case *int, *int64, *float64:
		return "a number"
	case *bool:
		return "a boolean"
	case *[]string:
		return "a list of strings"
	}
	return "an object"
}

// payload is a message payload as extension code writes it: a string, or an
// object passed through to Discord's message options.
type payload struct {
	Content         string                            `json:"content"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowedMentions"`
	// Components are Discord's component objects (action rows, buttons,
	// selects) as the code wrote them; checkPayload rewrites their custom
	// ids.
	Components []json.RawMessage `json:"components"`
	// Username is the name a webhook posts under (webhooks.execute only).
	Username string `json:"username"`
	// Ephemeral makes an interaction answer visible to its member only.
	Ephemeral bool `json:"ephemeral"`
	// given names the fields the code set to something other than null (a
	// string payload sets content), so that an edit changes only those.
	given map[string]bool
}

func parsePayload(raw json.RawMessage) (payload, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return payload{Content: s, given: map[string]bool{"content": true}}, nil
	}
	var p payload
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &p); err != nil || json.Unmarshal(raw, &keys) != nil || keys == nil {
		return payload{}, sandbox.Errorf(sandbox.CodeInvalidArgument, "a payload is a string or {content, embeds, components, allowedMentions}")
	}
	p.given = map[string]bool{}
	for k, v := range keys {
		if string(v) != "null" {
			p.given[k] = true
		}
	}
	return p, nil
}

// firstArg returns the first JS argument of a call.
func firstArg(call sandbox.Call) (json.RawMessage, error) {
	var args []json.RawMessage
	if err := json.Unmarshal(call.Args, &args); err != nil || len(args) == 0 {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs an argument", call.API.Name)
	}
	return args[0], nil
}

// reply sends a reply to the message that triggered the run, in its
// channel. Mentions are limited to users (never @everyone or roles) unless
// the code narrows them further.
func (e *Executor) reply(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	if o.MessageID == "" {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "message.reply needs a message to reply to")
	}
	arg, err := firstArg(call)
	if err != nil {
		return nil, err
	}
	m, err := e.checkPayload(call, o, arg, false)
	target := "channel:" + o.ChannelID + " message:" + o.MessageID
	if err != nil {
		e.audit(ctx, o, call.API.Name, target, outcomeOfErr(err))
		return nil, err
	}
	if !m.given["allowedMentions"] {
		m.mentions.RepliedUser = true // a reply pings its author, as part B's does
	}
	msg, err := e.session.ChannelMessageSendComplex(o.ChannelID, &discordgo.MessageSend{
		Content:         m.Content,
		Embeds:          m.Embeds,
		Components:      m.components,
		AllowedMentions: m.mentions,
		Reference:       &discordgo.MessageReference{MessageID: o.MessageID, ChannelID: o.ChannelID, GuildID: o.GuildID},
	}, discordgo.WithContext(ctx))
	if err != nil {
		e.audit(ctx, o, call.API.Name, target, outcomeOf(err))
		e.extLog(ctx, o, fmt.Sprintf("%s: Discord refused it: %v", call.API.Name, err))
		return legacyFailure(err)
	}
	e.audit(ctx, o, call.API.Name, target, "ok")
	return json.Marshal(map[string]any{"success": true, "id": msg.ID})
}

func onlyUserMentions(in []discordgo.AllowedMentionType) []discordgo.AllowedMentionType {
	var out []discordgo.AllowedMentionType
	for _, t := range in {
		if t == discordgo.AllowedMentionTypeUsers {
			out = append(out, t)
		}
	}
	return out
}

// legacyFailure turns a Discord refusal into the {success:false, error}
// result part B's reply promises resolve with; transport trouble that is
// not Discord's answer rejects.
func legacyFailure(err error) (json.RawMessage, error) {
	var rest *discordgo.RESTError
	if errors.As(err, &rest) {
		msg := "Discord refused the request"
		if rest.Message != nil && rest.Message.Message != "" {
			msg = rest.Message.Message
		}
		return json.Marshal(map[string]any{"success": false, "error": msg, "code": codeOf(rest)})
	}
	return nil, err
}

// codeOf maps a Discord error to the JS error codes of SKYEXT.md A7.
func codeOf(rest *discordgo.RESTError) string {
	switch {
	case rest.Response != nil && rest.Response.StatusCode == http.StatusTooManyRequests:
		return sandbox.CodeRateLimit
	case rest.Response != nil && rest.Response.StatusCode == http.StatusNotFound:
		return sandbox.CodeNotFound
	case rest.Response != nil && rest.Response.StatusCode == http.StatusForbidden:
		return sandbox.CodeForbidden
	}
	return sandbox.CodeInvalidArgument
}

func outcomeOf(err error) string {
	var rest *discordgo.RESTError
	if errors.As(err, &rest) {
		if rest.Message != nil {
			return fmt.Sprintf("%s (discord %d)", codeOf(rest), rest.Message.Code)
		}
		return codeOf(rest)
	}
	return "error"
}

// audit writes the row every extension action leaves.
func (e *Executor) audit(ctx context.Context, o extensions.Origin, action, target, outcome string) {
	err := e.store.AppendAudit(ctx, store.AuditEntry{
		GuildID: store.GuildID(o.GuildID), ExtensionID: o.ExtensionID, VersionID: o.VersionID,
		Actor: "ext:" + o.Extension, Action: action, Target: target, Outcome: outcome,
	})
	if err != nil {
		e.log.Error("audit write failed", "guild_id", o.GuildID, "ext", o.Extension, "action", action, "err", err)
	}
}

// extLog tells the guild admin, in the extension's own log, about a host
// call Discord refused: the code may ignore {success:false}, the admin
// should not have to.
func (e *Executor) extLog(ctx context.Context, o extensions.Origin, msg string) {
	err := e.store.AppendLog(ctx, store.LogEntry{
		GuildID: store.GuildID(o.GuildID), ExtensionID: o.ExtensionID, VersionID: o.VersionID,
		Level: "warn", Kind: "run", Message: msg,
	})
	if err != nil {
		e.log.Error("extension log write failed", "guild_id", o.GuildID, "ext", o.Extension, "err", err)
	}
}

var _ sandbox.Actions = (*Executor)(nil)
