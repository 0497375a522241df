package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
)

// guildActions: the roles, guild and members modules. Reads resolve with
// RoleData, MemberData and GuildData (shapes in actions_guild_checks.go:
// roleJSON, memberJSON, guildJSON); changes resolve with the changed
// RoleData or GuildData, or {success: true, ...}.
func (e *Executor) guildActions() map[string]action {
	return map[string]action{
		"roles.list":          e.rolesList,
		"roles.get":           e.rolesGet,
		"roles.ofMember":      e.rolesOfMember,
		"roles.create":        e.changing(e.rolesCreate),
		"roles.edit":          e.changing(e.rolesEdit),
		"roles.delete":        e.changing(e.rolesDelete),
		"roles.add":           e.changing(e.rolesAssign(true)),
		"roles.remove":        e.changing(e.rolesAssign(false)),
		"guild.get":           e.guildGet,
		"guild.edit":          e.changing(e.guildEdit),
		"members.get":         e.membersGet,
		"members.search":      e.membersSearch,
		"members.list":        e.membersList,
		"members.setNickname": e.changing(e.membersSetNickname),
	}
}

// Bounds of the members reads.
const (
	searchDefaultLimit  = 25
	searchMaxLimit      = 100
	membersDefaultLimit = 100
	membersMaxLimit     = 1000
	maxNickname         = 32
)

// oneID decodes a call whose first argument is a Discord id.
func oneID(call sandbox.Call, what string) (string, error) {
	var id string
	if err := decodeArgs(call, &id); err != nil {
		return "", err
	}
	return id, needSnowflake(call.API.Name, what, id)
}

// memberArg reads the member whose user id is the call's first argument.
func (e *Executor) memberArg(ctx context.Context, call sandbox.Call, o extensions.Origin) (*discordgo.Member, error) {
	userID, err := oneID(call, "a user id")
	if err != nil {
		return nil, err
	}
	return e.member(ctx, o.GuildID, userID)
}

func (e *Executor) rolesList(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	f, err := e.guildFacts(ctx, o.GuildID)
	if err != nil {
		return nil, err
	}
	roles := make([]discordgo.Role, 0, len(f.roles))
	for _, r := range f.roles {
		roles = append(roles, r)
	}
	return json.Marshal(rolesJSON(roles))
}

func (e *Executor) rolesGet(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	id, err := oneID(call, "a role id")
	if err != nil {
		return nil, err
	}
	f, err := e.guildFacts(ctx, o.GuildID)
	if err != nil {
		return nil, err
	}
	r, err := e.role(ctx, ranks{guildID: o.GuildID, roles: f.roles}, id)
	if err != nil {
		return nil, err
	}
	return json.Marshal(roleJSON(r))
}

// rolesOfMember lists a member's roles, highest first (@everyone, which
// every member has, is not listed).
func (e *Executor) rolesOfMember(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	m, err := e.memberArg(ctx, call, o)
	if err != nil {
		return nil, err
	}
	f, err := e.guildFacts(ctx, o.GuildID)
	if err != nil {
		return nil, err
	}
	rk := ranks{guildID: o.GuildID, roles: f.roles}
	roles := make([]discordgo.Role, 0, len(m.Roles))
	for _, id := range m.Roles {
		r, err := e.role(ctx, rk, id)
		if hasCode(err, sandbox.CodeNotFound) {
			continue // deleted while the member update is on its way
		}
		if err != nil {
			return nil, err
		}
		roles = append(roles, r)
	}
	return json.Marshal(rolesJSON(roles))
}

// roleSpec is what roles.create and roles.edit accept.
type roleSpec struct {
	Name        *string `json:"name"`
	Color       *int    `json:"color"`
	Hoist       *bool   `json:"hoist"`
	Mentionable *bool   `json:"mentionable"`
	// Permissions is a bit set as a decimal string (a number is taken too).
	Permissions json.RawMessage `json:"permissions"`
}

func (spec roleSpec) empty() bool {
	return spec.Name == nil && spec.Color == nil && spec.Hoist == nil && spec.Mentionable == nil &&
		(len(spec.Permissions) == 0 || string(spec.Permissions) == "null")
}

// params checks a roleSpec and turns it into discordgo's RoleParams.
// Dangerous permissions are refused (grantable), and for a run a member
// started, so are permissions that member does not hold.
func (spec roleSpec) params(api string, o extensions.Origin) (*discordgo.RoleParams, error) {
	p := &discordgo.RoleParams{Color: spec.Color, Hoist: spec.Hoist, Mentionable: spec.Mentionable}
	if spec.Name != nil {
		if n := utf8.RuneCountInString(*spec.Name); n < 1 || n > 100 {
			return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: a role name has 1 to 100 characters", api)
		}
		p.Name = *spec.Name
	}
	if c := spec.Color; c != nil && (*c < 0 || *c > 0xFFFFFF) {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: color is an RGB number from 0 to 0xFFFFFF", api)
	}
	if len(spec.Permissions) > 0 && string(spec.Permissions) != "null" {
		perms, err := permissionsArg(api, spec.Permissions)
		if err != nil {
			return nil, err
		}
		if err := grantable(perms); err != nil {
			return nil, err
		}
		if memberLacks(o, perms) {
			return nil, sandbox.Errorf(sandbox.CodeForbidden, "the member who started this (%s) cannot grant permissions they do not have", o.UserID)
		}
		p.Permissions = &perms
	}
	return p, nil
}

// permissionsArg reads a permission bit set: a decimal string, or a whole
// number that JS can hold exactly.
func permissionsArg(api string, raw json.RawMessage) (int64, error) {
	bad := sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: permissions is a bit set written as a decimal string", api)
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || f != math.Trunc(f) || f < 0 || f > 1<<53 {
			return 0, bad
		}
		return int64(f), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, bad
	}
	return n, nil
}

// roleArgs decodes (id?, spec) for roles.create (withID false) and
// roles.edit.
func roleArgs(call sandbox.Call, withID bool) (string, roleSpec, error) {
	var id string
	var raw json.RawMessage
	var spec roleSpec
	dst := []any{&raw}
	if withID {
		dst = []any{&id, &raw}
	}
	if err := decodeArgs(call, dst...); err != nil {
		return "", spec, err
	}
	if withID {
		if err := needSnowflake(call.API.Name, "a role id", id); err != nil {
			return "", spec, err
		}
	}
	if len(raw) == 0 || string(raw) == "null" {
		return id, spec, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs an object {name, color, hoist, mentionable, permissions}", call.API.Name)
	}
	return id, spec, strictObject(call.API.Name, "the role", raw, &spec)
}

// rolesCreate creates a role; Discord puts it at the bottom of the
// hierarchy, below skybot's own.
func (e *Executor) rolesCreate(ctx context.Context, call sandbox.Call, o extensions.Origin) (string, any, error) {
	target := "guild:" + o.GuildID
	_, spec, err := roleArgs(call, false)
	if err != nil {
		return target, nil, err
	}
	if spec.Name == nil {
		return target, nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs a name", call.API.Name)
	}
	p, err := spec.params(call.API.Name, o)
	if err != nil {
		return target, nil, err
	}
	if err := memberMay(o, discordgo.PermissionManageRoles, "Manage Roles"); err != nil {
		return target, nil, err
	}
	r, err := e.session.GuildRoleCreate(o.GuildID, p, discordgo.WithContext(ctx), auditReason(o, ""))
	if err != nil {
		return target, nil, err
	}
	return "role:" + r.ID, roleJSON(*r), nil
}

// rolesEdit changes a role below skybot's own.
func (e *Executor) rolesEdit(ctx context.Context, call sandbox.Call, o extensions.Origin) (string, any, error) {
	id, spec, err := roleArgs(call, true)
	target := "role:" + id
	if err != nil {
		return target, nil, err
	}
	if spec.empty() {
		return target, nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: nothing to change", call.API.Name)
	}
	p, err := spec.params(call.API.Name, o)
	if err != nil {
		return target, nil, err
	}
	rk, role, err := e.roleToManage(ctx, o, id)
	if err != nil {
		return target, nil, err
	}
	if err := e.mayManageRole(ctx, o, rk, role, ""); err != nil {
		return target, nil, err
	}
	r, err := e.session.GuildRoleEdit(o.GuildID, id, p, discordgo.WithContext(ctx), auditReason(o, ""))
	if err != nil {
		return target, nil, err
	}
	return target, roleJSON(*r), nil
}

// rolesDelete deletes a role below skybot's own.
func (e *Executor) rolesDelete(ctx context.Context, call sandbox.Call, o extensions.Origin) (string, any, error) {
	id, err := oneID(call, "a role id")
	target := "role:" + id
	if err != nil {
		return target, nil, err
	}
	if id == o.GuildID {
		return target, nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the @everyone role cannot be deleted", call.API.Name)
	}
	rk, role, err := e.roleToManage(ctx, o, id)
	if err != nil {
		return target, nil, err
	}
	if role.Managed {
		return target, nil, sandbox.Errorf(sandbox.CodeForbidden, "role %s belongs to an integration; only removing the integration removes it", role.Name)
	}
	if err := e.mayManageRole(ctx, o, rk, role, ""); err != nil {
		return target, nil, err
	}
	if err := e.session.GuildRoleDelete(o.GuildID, id, discordgo.WithContext(ctx), auditReason(o, "")); err != nil {
		return target, nil, err
	}
	return target, map[string]any{"success": true, "roleId": id}, nil
}

// roleToManage reads, for a change to the role id itself, the guild's
// hierarchy and the role, once the member who started the run (if one did)
// is known to hold Manage Roles.
func (e *Executor) roleToManage(ctx context.Context, o extensions.Origin, id string) (ranks, discordgo.Role, error) {
	if err := memberMay(o, discordgo.PermissionManageRoles, "Manage Roles"); err != nil {
		return ranks{}, discordgo.Role{}, err
	}
	rk, err := e.ranks(ctx, o.GuildID)
	if err != nil {
		return ranks{}, discordgo.Role{}, err
	}
	role, err := e.role(ctx, rk, id)
	return rk, role, err
}

// rolesAssign gives (add) or takes a role below skybot's own to or from a
// member below skybot.
func (e *Executor) rolesAssign(add bool) guildChange {
	verb := "take roles from"
	if add {
		verb = "give roles to"
	}
	return func(ctx context.Context, call sandbox.Call, o extensions.Origin) (string, any, error) {
		var userID, roleID string
		var raw json.RawMessage
		var opts modOptions
		if err := decodeArgs(call, &userID, &roleID, &raw); err != nil {
			return "", nil, err
		}
		if err := needSnowflake(call.API.Name, "a user id", userID); err != nil {
			return "", nil, err
		}
		target := "user:" + userID
		if err := needSnowflake(call.API.Name, "a role id", roleID); err != nil {
			return target, nil, err
		}
		target += " role:" + roleID
		if err := strictObject(call.API.Name, "options", raw, &opts); err != nil {
			return target, nil, err
		}
		if err := checkReason(call.API.Name, opts.Reason); err != nil {
			return target, nil, err
		}
		if roleID == o.GuildID {
			return target, nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: every member has the @everyone role", call.API.Name)
		}
		if err := memberMayOn(o, userID, discordgo.PermissionManageRoles, "Manage Roles"); err != nil {
			return target, nil, err
		}
		_, rk, err := e.memberInReach(ctx, o, userID, verb)
		if err != nil {
			return target, nil, err
		}
		role, err := e.role(ctx, rk, roleID)
		if err != nil {
			return target, nil, err
		}
		if role.Managed {
			return target, nil, sandbox.Errorf(sandbox.CodeForbidden, "role %s belongs to an integration and cannot be given or taken", role.Name)
		}
		if err := e.mayManageRole(ctx, o, rk, role, userID); err != nil {
			return target, nil, err
		}
		// Always ask Discord (both calls are idempotent there): the
		// member's roles in gateway State may lag a change just made.
		opt := []discordgo.RequestOption{discordgo.WithContext(ctx), auditReason(o, opts.Reason)}
		if add {
			err = e.session.GuildMemberRoleAdd(o.GuildID, userID, roleID, opt...)
		} else {
			err = e.session.GuildMemberRoleRemove(o.GuildID, userID, roleID, opt...)
		}
		if err != nil {
			return target, nil, err
		}
		return target, map[string]any{"success": true, "userId": userID, "roleId": roleID}, nil
	}
}

func (e *Executor) guildGet(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	f, err := e.guildFacts(ctx, o.GuildID)
	if err != nil {
		return nil, err
	}
	return json.Marshal(guildJSON(f))
}

// guildEdit changes the settings skybot lets extensions change: name,
// systemChannelId, afkChannelId (null clears either) and afkTimeout.
func (e *Executor) guildEdit(ctx context.Context, call sandbox.Call, o extensions.Origin) (string, any, error) {
	target := "guild:" + o.GuildID
	var raw json.RawMessage
	if err := decodeArgs(call, &raw); err != nil {
		return target, nil, err
	}
	var changes map[string]json.RawMessage
	if err := json.Unmarshal(raw, &changes); err != nil || len(changes) == 0 {
		return target, nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs an object {name, systemChannelId, afkChannelId, afkTimeout} with something to change", call.API.Name)
	}
	body, err := guildChanges(call.API.Name, changes)
	if err != nil {
		return target, nil, err
	}
	if err := memberMay(o, discordgo.PermissionManageGuild, "Manage Guild"); err != nil {
		return target, nil, err
	}
	f, err := e.guildFacts(ctx, o.GuildID)
	if err != nil {
		return target, nil, err
	}
	out, err := e.session.RequestWithBucketID("PATCH", discordgo.EndpointGuild(o.GuildID), body, discordgo.EndpointGuild(o.GuildID),
		discordgo.WithContext(ctx), auditReason(o, ""))
	if err != nil {
		return target, nil, err
	}
	var g discordgo.Guild
	if err := json.Unmarshal(out, &g); err != nil {
		return target, nil, fmt.Errorf("decode the edited guild: %w", err)
	}
	f.settings(&g)
	return target, guildJSON(f), nil
}

// guildChanges checks guild.edit's changes and turns them into Discord's
// body; it sends JSON null to clear a channel, which discordgo's
// GuildParams (omitempty strings) cannot.
func guildChanges(api string, changes map[string]json.RawMessage) (map[string]any, error) {
	body := map[string]any{}
	for key, v := range changes {
		switch key {
		case "name":
			var name string
			if err := json.Unmarshal(v, &name); err != nil || utf8.RuneCountInString(strings.TrimSpace(name)) < 2 || utf8.RuneCountInString(name) > 100 {
				return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: name is a string of 2 to 100 characters", api)
			}
			body["name"] = name
		case "systemChannelId", "afkChannelId":
			field := map[string]string{"systemChannelId": "system_channel_id", "afkChannelId": "afk_channel_id"}[key]
			if string(v) == "null" {
				body[field] = nil
				continue
			}
			var id string
			if err := json.Unmarshal(v, &id); err != nil {
				return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: %s is a channel id or null", api, key)
			}
			if err := needSnowflake(api, key, id); err != nil {
				return nil, err
			}
			body[field] = id
		case "afkTimeout":
			var secs int
			if err := json.Unmarshal(v, &secs); err != nil || !slices.Contains([]int{60, 300, 900, 1800, 3600}, secs) {
				return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: afkTimeout is 60, 300, 900, 1800 or 3600 seconds", api)
			}
			body["afk_timeout"] = secs
		default:
			return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s can change only name, systemChannelId, afkChannelId and afkTimeout, not %s", api, key)
		}
	}
	return body, nil
}

func (e *Executor) membersGet(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	m, err := e.memberArg(ctx, call, o)
	if err != nil {
		return nil, err
	}
	return json.Marshal(memberJSON(m))
}

// membersSearch finds members whose username or nickname starts with the
// query (Discord's search, case-insensitive).
func (e *Executor) membersSearch(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	var query string
	var limit *float64
	if err := decodeArgs(call, &query, &limit); err != nil {
		return nil, err
	}
	if query == "" || utf8.RuneCountInString(query) > 100 {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs a query of 1 to 100 characters", call.API.Name)
	}
	n, err := limitOption(call.API.Name, limit, searchDefaultLimit, searchMaxLimit)
	if err != nil {
		return nil, err
	}
	ms, err := e.session.GuildMembersSearch(o.GuildID, query, n, discordgo.WithContext(ctx))
	if err != nil {
		return nil, jsError(refusalOf(call.API.Name, err))
	}
	return json.Marshal(membersJSON(ms))
}

// membersList lists members in id order, after an id.
func (e *Executor) membersList(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := decodeArgs(call, &raw); err != nil {
		return nil, err
	}
	var opts struct {
		Limit *float64 `json:"limit"`
		After string   `json:"after"`
	}
	if err := strictObject(call.API.Name, "options", raw, &opts); err != nil {
		return nil, err
	}
	n, err := limitOption(call.API.Name, opts.Limit, membersDefaultLimit, membersMaxLimit)
	if err != nil {
		return nil, err
	}
	if opts.After != "" {
		if err := needSnowflake(call.API.Name, "after", opts.After); err != nil {
			return nil, err
		}
	}
	ms, err := e.session.GuildMembers(o.GuildID, opts.After, n, discordgo.WithContext(ctx))
	if err != nil {
		return nil, jsError(refusalOf(call.API.Name, err))
	}
	return json.Marshal(membersJSON(ms))
}

// membersSetNickname sets or (null, "") clears a member's nickname.
func (e *Executor) membersSetNickname(ctx context.Context, call sandbox.Call, o extensions.Origin) (string, any, error) {
	var userID, nick string
	if err := decodeArgs(call, &userID, &nick); err != nil {
		return "", nil, err
	}
	if err := needSnowflake(call.API.Name, "a user id", userID); err != nil {
		return "", nil, err
	}
	target := "user:" + userID
	if args, err := rawArgs(call); err != nil || len(args) < 2 {
		return target, nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs a nickname (null clears it)", call.API.Name)
	}
	if utf8.RuneCountInString(nick) > maxNickname {
		return target, nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: a nickname has at most %d characters", call.API.Name, maxNickname)
	}
	if err := memberMayOn(o, userID, discordgo.PermissionManageNicknames, "Manage Nicknames"); err != nil {
		return target, nil, err
	}
	if _, _, err := e.memberInReach(ctx, o, userID, "change the nickname of"); err != nil {
		return target, nil, err
	}
	if err := e.session.GuildMemberNickname(o.GuildID, userID, nick, discordgo.WithContext(ctx), auditReason(o, "")); err != nil {
		return target, nil, err
	}
	return target, map[string]any{"success": true, "userId": userID, "nickname": nullable(nick)}, nil
}
