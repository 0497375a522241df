package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
)

// This file holds what every action group shares: the wrappers that make
// actions of the groups' functions and leave their audit rows, Discord's
// refusals as the errors extension code sees, the member-permission check,
// the audit-log reason, Discord id checks and argument helpers.
//
// Two families of actions word some refusals differently, and extension
// code sees those words: the channels, threads, webhooks, messages and
// reactions actions (stepFunc, discordFailure, requirePerm, checkSnowflake)
// and the roles, members, guild and moderation actions (guildChange,
// refusalOf, memberMay, needSnowflake). Each pair shares its logic here and
// keeps its family's sentence.

// stepFunc performs one part-A API. It notes in *target what it acts on as
// soon as it knows, so that a refusal's audit row names it too, and returns
// the value the JS promise resolves with.
type stepFunc func(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error)

// guildChange performs one API that changes the guild. It returns the
// audit target ("user:<id>", "role:<id>", "guild:<id>"; as much as is
// known when it fails) and the result to marshal.
type guildChange func(ctx context.Context, call sandbox.Call, o extensions.Origin) (target string, result any, err error)

// auditedAction makes an action of a step that changes the guild: whatever
// the step decides, done or refused, it leaves one audit row (on
// "guild:<id>" when the step named no target).
func (e *Executor) auditedAction(f stepFunc) action {
	return func(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
		var target string
		out, err := f(ctx, call, o, &target)
		if target == "" {
			target = "guild:" + o.GuildID
		}
		return e.settle(ctx, call, o, target, out, err)
	}
}

// changing makes a guildChange an action: every call leaves one audit row
// on the target the change returns (outcome "ok", the JS error code of a
// refusal decided here, or Discord's refusal with its code); Discord's
// refusals reach JS as coded errors (refusalOf); and Discord's refusals and
// skybot's FORBIDDEN are told to the extension's log (the code may swallow
// the error).
func (e *Executor) changing(c guildChange) action {
	return func(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
		target, out, err := c(ctx, call, o)
		var rest *discordgo.RESTError
		byDiscord := errors.As(err, &rest)
		res, err := e.settle(ctx, call, o, target, out, refusalOf(call.API.Name, err))
		var ce *sandbox.CodeError
		if errors.As(err, &ce) && (byDiscord || ce.Code == sandbox.CodeForbidden) {
			e.extLog(context.WithoutCancel(ctx), o, fmt.Sprintf("%s refused: %s", call.API.Name, ce.Message))
		}
		return res, err
	}
}

// readOnlyAction makes an action of a step that only reads: no audit row.
func readOnlyAction(f stepFunc) action {
	return func(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
		var target string
		return actionResult(f(ctx, call, o, &target))
	}
}

// settle writes the one audit row a change leaves, done or refused, and
// returns what the sandbox gets (actionResult). The row is written even
// when the run's deadline passed while Discord was answering: what was
// done on Discord must be on record.
func (e *Executor) settle(ctx context.Context, call sandbox.Call, o extensions.Origin, target string, out any, err error) (json.RawMessage, error) {
	e.audit(context.WithoutCancel(ctx), o, call.API.Name, target, outcomeOfErr(err))
	return actionResult(out, err)
}

// actionResult marshals a step's value, or hands the sandbox the error of
// its failure (jsError).
func actionResult(out any, err error) (json.RawMessage, error) {
	if err != nil {
		return nil, jsError(err)
	}
	return json.Marshal(out)
}

// jsError is the error an action hands the sandbox: the bare
// *sandbox.CodeError that err carries (JS sees its code and sentence) or,
// for transport trouble, err itself, which the sandbox turns into INTERNAL.
func jsError(err error) error {
	var ce *sandbox.CodeError
	if errors.As(err, &ce) {
		return ce
	}
	return err
}

// outcomeOfErr is the audit outcome of a step: "ok", the JS code (followed
// by Discord's own code when Discord refused), or "error".
func outcomeOfErr(err error) string {
	if err == nil {
		return "ok"
	}
	out := "error"
	var ce *sandbox.CodeError
	if errors.As(err, &ce) {
		out = ce.Code
	}
	var rest *discordgo.RESTError
	if errors.As(err, &rest) && rest.Message != nil {
		out += fmt.Sprintf(" (discord %d)", rest.Message.Code)
	}
	return out
}

// refusal is Discord refusing a call: the error the code sees, and
// Discord's answer for the audit row.
type refusal struct {
	ce   *sandbox.CodeError
	rest *discordgo.RESTError
}

func (r *refusal) Error() string   { return r.ce.Error() }
func (r *refusal) Unwrap() []error { return []error{r.ce, r.rest} }

// refused is Discord's refusal rest as the code sees it: the sentence
// format says, under the code codeOf maps (SKYEXT.md A7).
func refused(rest *discordgo.RESTError, format string, args ...any) error {
	return &refusal{ce: sandbox.Errorf(codeOf(rest), format, args...), rest: rest}
}

// discordFailure turns a failed REST call of the channels, threads,
// webhooks, messages and reactions actions into what the code sees. A
// refusal by Discord rejects with its A7 code and a sentence saying what
// was refused (part A rejects; part B's reply resolves {success:false}
// instead, see legacyFailure). Transport trouble stays a plain error,
// without the request URL, which may carry a webhook token.
func discordFailure(err error, doing string) error {
	var rest *discordgo.RESTError
	if errors.As(err, &rest) {
		why := "it answered with an error"
		switch {
		case rest.Message != nil && rest.Message.Message != "":
			why = rest.Message.Message
		case rest.Response != nil:
			why = "it answered " + rest.Response.Status
		}
		return refused(rest, "Discord refused to %s: %s", doing, why)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %s: %w", doing, ue.Op, ue.Err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// refusalOf is the error JS should see for a failed call of the roles,
// members, guild and moderation actions: a CodeError as it is, Discord's
// refusal naming the API, anything else wrapped (it becomes INTERNAL).
func refusalOf(api string, err error) error {
	var ce *sandbox.CodeError
	var rest *discordgo.RESTError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return ce
	case errors.As(err, &rest):
		msg := "the request was refused"
		if rest.Message != nil && rest.Message.Message != "" {
			msg = rest.Message.Message
		}
		return refused(rest, "%s: Discord refused it: %s", api, msg)
	}
	return fmt.Errorf("%s: %w", api, err)
}

// memberLacks reports whether the member who started o's run (o.ByMember)
// lacks any of the Discord permissions perm in the event's channel;
// Administrator counts as every permission. A run no member started
// (events, schedules, lifecycle hooks) lacks none.
func memberLacks(o extensions.Origin, perm int64) bool {
	p := o.MemberPermissions
	return o.ByMember && p&discordgo.PermissionAdministrator == 0 && p&perm != perm
}

// memberMay refuses, in the roles, members, guild and moderation actions, a
// run whose member lacks the permission perm (name is how Discord's client
// shows it).
func memberMay(o extensions.Origin, perm int64, name string) error {
	if !memberLacks(o, perm) {
		return nil
	}
	return sandbox.Errorf(sandbox.CodeForbidden, "the member who started this (%s) does not have the %s permission", o.UserID, name)
}

// memberMayOn is memberMay for an action on the member userID: as
// extensions.Origin says, only actions on others need the permission, so
// a member may start one on themself (take a role from a button, set
// their own nickname through a command).
func memberMayOn(o extensions.Origin, userID string, perm int64, name string) error {
	if o.ByMember && o.UserID != "" && o.UserID == userID {
		return nil
	}
	return memberMay(o, perm, name)
}

// requirePerm refuses, in the channels, threads, webhooks and messages
// actions, a run whose member lacks the permission perm (name is how
// Discord's client shows it).
func requirePerm(o extensions.Origin, perm int64, name string) error {
	if !memberLacks(o, perm) {
		return nil
	}
	return sandbox.Errorf(sandbox.CodeForbidden, "the member who started this run does not have the %s permission", name)
}

// maxAuditReason is the longest reason accepted, in characters (Discord's
// audit-log limit).
const maxAuditReason = 512

// auditReason is the audit-log reason skybot gives Discord for an
// extension's action: "ext:<name>: <reason>" ("ext:<name>" without one),
// cut to Discord's 512 characters and URL-encoded as the
// X-Audit-Log-Reason header requires, which also keeps line breaks out of
// it.
func auditReason(o extensions.Origin, reason string) discordgo.RequestOption {
	text := "ext:" + o.Extension
	if reason != "" {
		text += ": " + reason
	}
	if utf8.RuneCountInString(text) > maxAuditReason {
		text = string([]rune(text)[:maxAuditReason])
	}
	return discordgo.WithAuditLogReason(url.PathEscape(text))
}

// isSnowflake reports whether id is a Discord id, checked before it becomes
// part of a REST path (where "1/../2" would name another route).
func isSnowflake(id string) bool {
	if id == "" || len(id) > 20 || strings.Trim(id, "0123456789") != "" {
		return false
	}
	_, err := strconv.ParseUint(id, 10, 64)
	return err == nil
}

// needSnowflake refuses, in the roles, members, guild and moderation
// actions, an id (what names it) that is missing or is not a Discord id.
func needSnowflake(api, what, id string) error {
	switch {
	case id == "":
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs %s", api, what)
	case !isSnowflake(id):
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: %s %q is not a Discord id", api, what, id)
	}
	return nil
}

// checkSnowflake refuses, in the channels, threads, webhooks, messages and
// reactions actions, an id (what names it) that is not a Discord id.
func checkSnowflake(call sandbox.Call, what, id string) error {
	if !isSnowflake(id) {
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: %s %q is not a Discord id", call.API.Name, what, short(id))
	}
	return nil
}

// short cuts what the code passed to a length fit for an error sentence.
func short(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:40]) + "…"
}

// rawArgs returns a call's JS arguments undecoded.
func rawArgs(call sandbox.Call) ([]json.RawMessage, error) {
	var args []json.RawMessage
	if err := json.Unmarshal(call.Args, &args); err != nil {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the arguments are not a list", call.API.Name)
	}
	return args, nil
}

// botUserID is skybot's own user id: from the gateway's State, else from
// Discord (the error is then the REST call's, for the caller to word).
func (e *Executor) botUserID(ctx context.Context) (string, error) {
	if st := e.session.State; st != nil {
		st.RLock()
		var id string
		if st.User != nil {
			id = st.User.ID
		}
		st.RUnlock()
		if id != "" {
			return id, nil
		}
	}
	u, err := e.session.User("@me", discordgo.WithContext(ctx))
	if err != nil {
		return "", err
	}
	return u.ID, nil
}
