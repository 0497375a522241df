package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// moderationActions: the moderation module (ban, unban, kick, timeout,
// untimeout; each performed action also goes into skybot's moderation log)
// and the modlog module that reads and adds to that log.
//
// Results: the moderation calls resolve with
// {success: true, userId, modlogId: string|null} (timeout adds until, in
// epoch ms); modlog.list with ModlogEntry[] and modlog.add with one
// ModlogEntry, {id, action, userId, actor, reason, createdAt (epoch ms)}.
func (e *Executor) moderationActions() map[string]action {
	return map[string]action{
		"moderation.ban":       e.changing(e.modBan),
		"moderation.unban":     e.changing(e.modUnban),
		"moderation.kick":      e.changing(e.modKick),
		"moderation.timeout":   e.changing(e.modTimeout),
		"moderation.untimeout": e.changing(e.modUntimeout),
		"modlog.list":          e.modlogList,
		"modlog.add":           e.changing(e.modlogAdd),
	}
}

// Discord's bounds.
const (
	maxTimeout       = 28 * 24 * time.Hour
	maxDeleteSeconds = 7 * 24 * 60 * 60
)

// modOptions are the options every moderation call takes.
type modOptions struct {
	Reason string `json:"reason"`
}

// modArgs decodes the (userId, ..., options) arguments of a moderation
// call: the user id first, the options object at position optsAt, and the
// arguments in between into middle. It returns the audit target.
func modArgs(call sandbox.Call, userID *string, optsAt int, opts any, middle ...any) (string, error) {
	var raw json.RawMessage
	dst := append(append([]any{userID}, middle...), &raw)
	if len(dst) != optsAt+1 {
		return "", fmt.Errorf("%s: options expected at argument %d", call.API.Name, optsAt+1)
	}
	if err := decodeArgs(call, dst...); err != nil {
		return "", err
	}
	if err := needSnowflake(call.API.Name, "a user id", *userID); err != nil {
		return "", err
	}
	return "user:" + *userID, strictObject(call.API.Name, "options", raw, opts)
}

// userArgs decodes the (userId, options) of unban, kick and untimeout, whose
// only option is the reason, and checks the reason.
func userArgs(call sandbox.Call) (target, userID, reason string, err error) {
	var opts modOptions
	if target, err = modArgs(call, &userID, 1, &opts); err == nil {
		err = checkReason(call.API.Name, opts.Reason)
	}
	return target, userID, opts.Reason, err
}

// moderated records a performed moderation action in the moderation log
// and returns the call's result, {success: true, userId, modlogId}.
// modlogId is null when the write failed: the action happened, so the call
// still succeeds, and the failure is in skybot's log.
func (e *Executor) moderated(ctx context.Context, o extensions.Origin, action, userID, reason string) map[string]any {
	entry, err := e.store.AppendModlog(context.WithoutCancel(ctx), store.ModlogEntry{
		GuildID: store.GuildID(o.GuildID), Action: action, UserID: store.UserID(userID),
		Actor: "ext:" + o.Extension, ExtensionID: o.ExtensionID, Reason: reason,
	})
	var id any
	if err != nil {
		e.log.Error("modlog write failed", "guild_id", o.GuildID, "ext", o.Extension, "action", action, "user_id", userID, "err", err)
	} else {
		id = strconv.FormatInt(entry.ID, 10)
		e.postModlog(context.WithoutCancel(ctx), entry)
	}
	return map[string]any{"success": true, "userId": userID, "modlogId": id}
}

// modBan bans a member or any user id, deleting up to seven days of their
// messages. It sends delete_message_seconds in the body: discordgo's
// GuildBanCreate can only say whole days, through the query parameter
// Discord has deprecated, which would quietly turn 3600 seconds into none.
func (e *Executor) modBan(ctx context.Context, call sandbox.Call, o extensions.Origin) (string, any, error) {
	var userID string
	var opts struct {
		modOptions
		DeleteMessageSeconds *float64 `json:"deleteMessageSeconds"`
	}
	target, err := modArgs(call, &userID, 1, &opts)
	if err != nil {
		return target, nil, err
	}
	if err := checkReason(call.API.Name, opts.Reason); err != nil {
		return target, nil, err
	}
	secs := 0
	if d := opts.DeleteMessageSeconds; d != nil {
		if *d < 0 || *d > maxDeleteSeconds || *d != math.Trunc(*d) {
			return target, nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: deleteMessageSeconds must be a whole number from 0 to %d (7 days)", call.API.Name, maxDeleteSeconds)
		}
		secs = int(*d)
	}
	if err := memberMayOn(o, userID, discordgo.PermissionBanMembers, "Ban Members"); err != nil {
		return target, nil, err
	}
	rk, err := e.ranks(ctx, o.GuildID)
	if err != nil {
		return target, nil, err
	}
	m, err := e.member(ctx, o.GuildID, userID)
	if err != nil && !hasCode(err, sandbox.CodeNotFound) {
		return target, nil, err
	}
	if err := e.mayActOn(ctx, o, rk, userID, m, "ban"); err != nil {
		return target, nil, err
	}
	_, err = e.session.RequestWithBucketID("PUT", discordgo.EndpointGuildBan(o.GuildID, userID),
		map[string]int{"delete_message_seconds": secs}, discordgo.EndpointGuildBan(o.GuildID, ""),
		discordgo.WithContext(ctx), auditReason(o, opts.Reason))
	if err != nil {
		return target, nil, err
	}
	return target, e.moderated(ctx, o, "ban", userID, opts.Reason), nil
}

// modUnban lifts a ban; NOT_FOUND when the user is not banned.
func (e *Executor) modUnban(ctx context.Context, call sandbox.Call, o extensions.Origin) (string, any, error) {
	target, userID, reason, err := userArgs(call)
	if err != nil {
		return target, nil, err
	}
	if err := memberMay(o, discordgo.PermissionBanMembers, "Ban Members"); err != nil {
		return target, nil, err
	}
	if err := e.session.GuildBanDelete(o.GuildID, userID, discordgo.WithContext(ctx), auditReason(o, reason)); err != nil {
		if discordNotFound(err) {
			return target, nil, sandbox.Errorf(sandbox.CodeNotFound, "user %s is not banned from this server", userID)
		}
		return target, nil, err
	}
	return target, e.moderated(ctx, o, "unban", userID, reason), nil
}

// modKick removes a member from the guild.
func (e *Executor) modKick(ctx context.Context, call sandbox.Call, o extensions.Origin) (string, any, error) {
	target, userID, reason, err := userArgs(call)
	if err != nil {
		return target, nil, err
	}
	if err := memberMayOn(o, userID, discordgo.PermissionKickMembers, "Kick Members"); err != nil {
		return target, nil, err
	}
	if _, _, err := e.memberInReach(ctx, o, userID, "kick"); err != nil {
		return target, nil, err
	}
	if err := e.session.GuildMemberDelete(o.GuildID, userID, discordgo.WithContext(ctx), auditReason(o, reason)); err != nil {
		return target, nil, err
	}
	return target, e.moderated(ctx, o, "kick", userID, reason), nil
}

// modTimeout times a member out for durationMs, at most 28 days.
func (e *Executor) modTimeout(ctx context.Context, call sandbox.Call, o extensions.Origin) (string, any, error) {
	var userID string
	var ms *float64
	var opts modOptions
	target, err := modArgs(call, &userID, 2, &opts, &ms)
	if err != nil {
		return target, nil, err
	}
	if ms == nil {
		return target, nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs a duration in milliseconds", call.API.Name)
	}
	if *ms < 1000 || *ms > float64(maxTimeout.Milliseconds()) {
		return target, nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the duration must be from 1 second to 28 days (%d ms)", call.API.Name, maxTimeout.Milliseconds())
	}
	if err := checkReason(call.API.Name, opts.Reason); err != nil {
		return target, nil, err
	}
	if err := memberMayOn(o, userID, discordgo.PermissionModerateMembers, "Moderate Members"); err != nil {
		return target, nil, err
	}
	m, rk, err := e.memberInReach(ctx, o, userID, "time out")
	if err != nil {
		return target, nil, err
	}
	if rk.permissions(m.Roles)&discordgo.PermissionAdministrator != 0 {
		return target, nil, sandbox.Errorf(sandbox.CodeForbidden, "Discord does not let anyone time out %s: they have the Administrator permission", userID)
	}
	until := time.Now().Add(time.Duration(*ms) * time.Millisecond).UTC()
	if err := e.session.GuildMemberTimeout(o.GuildID, userID, &until, discordgo.WithContext(ctx), auditReason(o, opts.Reason)); err != nil {
		return target, nil, err
	}
	res := e.moderated(ctx, o, "timeout", userID, opts.Reason)
	res["until"] = until.UnixMilli()
	return target, res, nil
}

// modUntimeout lifts a member's timeout (a member without one stays as
// they are, and the call succeeds).
func (e *Executor) modUntimeout(ctx context.Context, call sandbox.Call, o extensions.Origin) (string, any, error) {
	target, userID, reason, err := userArgs(call)
	if err != nil {
		return target, nil, err
	}
	if err := memberMayOn(o, userID, discordgo.PermissionModerateMembers, "Moderate Members"); err != nil {
		return target, nil, err
	}
	if _, _, err := e.memberInReach(ctx, o, userID, "lift the timeout of"); err != nil {
		return target, nil, err
	}
	if err := e.session.GuildMemberTimeout(o.GuildID, userID, nil, discordgo.WithContext(ctx), auditReason(o, reason)); err != nil {
		return target, nil, err
	}
	return target, e.moderated(ctx, o, "untimeout", userID, reason), nil
}

// memberInReach reads the guild's hierarchy and the member userID (NOT_FOUND
// when not a member), and refuses when the action (verb) is out of reach
// (mayActOn).
func (e *Executor) memberInReach(ctx context.Context, o extensions.Origin, userID, verb string) (*discordgo.Member, ranks, error) {
	rk, err := e.ranks(ctx, o.GuildID)
	if err != nil {
		return nil, ranks{}, err
	}
	m, err := e.member(ctx, o.GuildID, userID)
	if err != nil {
		return nil, ranks{}, err
	}
	if err := e.mayActOn(ctx, o, rk, userID, m, verb); err != nil {
		return nil, ranks{}, err
	}
	return m, rk, nil
}

// hasCode reports whether err is a CodeError with code.
func hasCode(err error, code string) bool {
	var ce *sandbox.CodeError
	return errors.As(err, &ce) && ce.Code == code
}

// The moderation log.
const (
	modlogDefaultLimit = 25
	modlogMaxLimit     = 100
	maxModlogAction    = 32
)

// builtinModlogActions are written by skybot when an extension performs
// them; modlog.add may not claim them, so the log keeps saying only what
// really happened.
var builtinModlogActions = []string{"ban", "unban", "kick", "timeout", "untimeout"}

func modlogJSON(m store.ModlogEntry) map[string]any {
	return map[string]any{
		"id": strconv.FormatInt(m.ID, 10), "action": m.Action, "userId": string(m.UserID),
		"actor": m.Actor, "reason": m.Reason, "createdAt": m.At.UnixMilli(),
	}
}

// modlogList reads the guild's moderation log, newest first.
func (e *Executor) modlogList(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := decodeArgs(call, &raw); err != nil {
		return nil, err
	}
	var opts struct {
		UserID string   `json:"userId"`
		Limit  *float64 `json:"limit"`
	}
	if err := strictObject(call.API.Name, "options", raw, &opts); err != nil {
		return nil, err
	}
	if opts.UserID != "" {
		if err := needSnowflake(call.API.Name, "userId", opts.UserID); err != nil {
			return nil, err
		}
	}
	limit, err := limitOption(call.API.Name, opts.Limit, modlogDefaultLimit, modlogMaxLimit)
	if err != nil {
		return nil, err
	}
	entries, err := e.store.Modlog(ctx, store.GuildID(o.GuildID), store.UserID(opts.UserID), limit)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(entries))
	for _, m := range entries {
		out = append(out, modlogJSON(m))
	}
	return json.Marshal(out)
}

// limitOption checks an optional limit: a whole number from 1 to max.
func limitOption(api string, v *float64, def, max int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < 1 || *v > float64(max) || *v != math.Trunc(*v) {
		return 0, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: limit must be a whole number from 1 to %d", api, max)
	}
	return int(*v), nil
}

// modlogAdd adds an entry of the extension's own (a warning, a note) to
// the moderation log.
func (e *Executor) modlogAdd(ctx context.Context, call sandbox.Call, o extensions.Origin) (string, any, error) {
	var raw json.RawMessage
	if err := decodeArgs(call, &raw); err != nil {
		return "", nil, err
	}
	var entry struct {
		Action string `json:"action"`
		UserID string `json:"userId"`
		Reason string `json:"reason"`
	}
	if err := strictObject(call.API.Name, "the entry", raw, &entry); err != nil {
		return "", nil, err
	}
	if err := needSnowflake(call.API.Name, "entry.userId", entry.UserID); err != nil {
		return "", nil, err
	}
	target := "user:" + entry.UserID
	action := strings.ToLower(entry.Action)
	switch {
	case action == "" || utf8.RuneCountInString(action) > maxModlogAction || strings.Trim(action, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "":
		return target, nil, sandbox.Errorf(sandbox.CodeInvalidArgument,
			"%s: entry.action must be one word of 1 to %d letters, digits, '-' or '_' (like \"warn\")", call.API.Name, maxModlogAction)
	case slices.Contains(builtinModlogActions, action):
		return target, nil, sandbox.Errorf(sandbox.CodeInvalidArgument,
			"%s: %q entries are written by skybot when the extension performs the action itself (moderation.%s)", call.API.Name, action, action)
	}
	if err := checkReason(call.API.Name, entry.Reason); err != nil {
		return target, nil, err
	}
	m, err := e.store.AppendModlog(ctx, store.ModlogEntry{
		GuildID: store.GuildID(o.GuildID), Action: action, UserID: store.UserID(entry.UserID),
		Actor: "ext:" + o.Extension, ExtensionID: o.ExtensionID, Reason: entry.Reason,
	})
	if err != nil {
		return target, nil, err
	}
	e.postModlog(context.WithoutCancel(ctx), m)
	return target, modlogJSON(m), nil
}
