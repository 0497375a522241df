package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
)

// This file holds what the moderation, roles, members and guild actions
// share: Discord's hierarchy read from gateway State, the checks that keep
// an action within it, argument helpers and the JSON shapes extension code
// receives. What every action group shares is in actions_common.go.

// discordNotFound reports whether Discord answered 404 (unknown member, user,
// role, ban...).
func discordNotFound(err error) bool {
	var rest *discordgo.RESTError
	return errors.As(err, &rest) && rest.Response != nil && rest.Response.StatusCode == http.StatusNotFound
}

// dangerousPermissions are the permissions skybot never lets an extension
// put on a role: each one hands over control of the guild or of its members.
var dangerousPermissions = []struct {
	bit  int64
	name string
}{
	{discordgo.PermissionAdministrator, "Administrator"},
	{discordgo.PermissionManageGuild, "Manage Guild"},
	{discordgo.PermissionManageRoles, "Manage Roles"},
	{discordgo.PermissionBanMembers, "Ban Members"},
	{discordgo.PermissionKickMembers, "Kick Members"},
	{discordgo.PermissionManageWebhooks, "Manage Webhooks"},
	{discordgo.PermissionManageChannels, "Manage Channels"},
}

// grantable refuses a permission bit set that holds a dangerous
// permission.
func grantable(perms int64) error {
	var names []string
	for _, d := range dangerousPermissions {
		if perms&d.bit != 0 {
			names = append(names, d.name)
		}
	}
	if len(names) > 0 {
		return sandbox.Errorf(sandbox.CodeForbidden, "skybot does not let extensions grant %s", strings.Join(names, ", "))
	}
	return nil
}

// ranks is a guild's hierarchy as the pre-checks read it, copied out of
// gateway State (or fetched when State lacks it).
type ranks struct {
	guildID string
	ownerID string
	botID   string
	roles   map[string]discordgo.Role
	botTop  int // the position of skybot's highest role
}

// top is the highest position among roleIDs (0: only @everyone).
func (rk ranks) top(roleIDs []string) int {
	top := 0
	for _, id := range roleIDs {
		if r, ok := rk.roles[id]; ok && r.Position > top {
			top = r.Position
		}
	}
	return top
}

// permissions is the guild-level permission set of a member with roleIDs
// who is not the owner.
func (rk ranks) permissions(roleIDs []string) int64 {
	p := rk.roles[rk.guildID].Permissions
	for _, id := range roleIDs {
		p |= rk.roles[id].Permissions
	}
	return p
}

// highestRole names a member's highest role for refusal texts.
func (rk ranks) highestRole(roleIDs []string) string {
	var best *discordgo.Role
	for _, id := range roleIDs {
		if r, ok := rk.roles[id]; ok && (best == nil || r.Position > best.Position) {
			best = &r
		}
	}
	if best == nil {
		return "@everyone"
	}
	return best.Name
}

// guildFacts is what the actions read of a guild besides members.
type guildFacts struct {
	id, name, ownerID, icon       string
	systemChannelID, afkChannelID string
	afkTimeout                    int
	memberCount, channelCount     int
	roles                         map[string]discordgo.Role
}

// guildFacts copies a guild out of State under its read lock; when State
// does not hold the guild it asks Discord.
func (e *Executor) guildFacts(ctx context.Context, guildID string) (guildFacts, error) {
	f := guildFacts{id: guildID, roles: map[string]discordgo.Role{}}
	if st := e.session.State; st != nil {
		st.RLock()
		for _, g := range st.Guilds {
			if g.ID != guildID {
				continue
			}
			f.settings(g)
			f.memberCount, f.channelCount = memberCount(e.session, g.ID), len(g.Channels)
			for _, r := range g.Roles {
				f.roles[r.ID] = *r
			}
			st.RUnlock()
			return f, nil
		}
		st.RUnlock()
	}
	g, err := e.session.GuildWithCounts(guildID, discordgo.WithContext(ctx))
	if err != nil {
		return f, fmt.Errorf("read guild %s: %w", guildID, err)
	}
	chans, err := e.session.GuildChannels(guildID, discordgo.WithContext(ctx))
	if err != nil {
		return f, fmt.Errorf("read the channels of guild %s: %w", guildID, err)
	}
	f.settings(g)
	f.memberCount, f.channelCount = g.ApproximateMemberCount, len(chans)
	for _, r := range g.Roles {
		f.roles[r.ID] = *r
	}
	return f, nil
}

// settings copies g's settings into f (not its counts or roles).
func (f *guildFacts) settings(g *discordgo.Guild) {
	f.name, f.ownerID, f.icon = g.Name, g.OwnerID, g.Icon
	f.systemChannelID, f.afkChannelID, f.afkTimeout = g.SystemChannelID, g.AfkChannelID, g.AfkTimeout
}

// ranks reads the guild's hierarchy and skybot's place in it.
func (e *Executor) ranks(ctx context.Context, guildID string) (ranks, error) {
	f, err := e.guildFacts(ctx, guildID)
	if err != nil {
		return ranks{}, err
	}
	rk := ranks{guildID: guildID, ownerID: f.ownerID, roles: f.roles}
	if rk.botID, err = e.botUserID(ctx); err != nil {
		return ranks{}, fmt.Errorf("read skybot's own user: %w", err)
	}
	bot, err := e.member(ctx, guildID, rk.botID)
	if err != nil {
		return ranks{}, fmt.Errorf("read skybot's own member: %w", err)
	}
	rk.botTop = rk.top(bot.Roles)
	return rk, nil
}

// member returns a copy of a guild member from State, or from Discord when
// State does not hold it; NOT_FOUND when the user is not in the guild.
func (e *Executor) member(ctx context.Context, guildID, userID string) (*discordgo.Member, error) {
	if st := e.session.State; st != nil {
		// State.Member takes the read lock itself; the copy needs it again
		// because the gateway goroutine overwrites members in place.
		if m, err := st.Member(guildID, userID); err == nil {
			st.RLock()
			cp := copyMember(m)
			st.RUnlock()
			return cp, nil
		}
	}
	m, err := e.session.GuildMember(guildID, userID, discordgo.WithContext(ctx))
	if discordNotFound(err) {
		return nil, sandbox.Errorf(sandbox.CodeNotFound, "user %s is not a member of this server", userID)
	}
	if err != nil {
		return nil, fmt.Errorf("read member %s of guild %s: %w", userID, guildID, err)
	}
	return m, nil
}

func copyMember(m *discordgo.Member) *discordgo.Member {
	cp := *m
	cp.Roles = slices.Clone(m.Roles)
	if m.User != nil {
		u := *m.User
		cp.User = &u
	}
	if m.CommunicationDisabledUntil != nil {
		t := *m.CommunicationDisabledUntil
		cp.CommunicationDisabledUntil = &t
	}
	return &cp
}

// role finds a role of the guild: in rk, else (State may lag behind a role
// just created) from Discord; NOT_FOUND when the guild has none with id.
func (e *Executor) role(ctx context.Context, rk ranks, roleID string) (discordgo.Role, error) {
	if r, ok := rk.roles[roleID]; ok {
		return r, nil
	}
	roles, err := e.session.GuildRoles(rk.guildID, discordgo.WithContext(ctx))
	if err != nil {
		return discordgo.Role{}, fmt.Errorf("read the roles of guild %s: %w", rk.guildID, err)
	}
	for _, r := range roles {
		if r.ID == roleID {
			return *r, nil
		}
	}
	return discordgo.Role{}, sandbox.Errorf(sandbox.CodeNotFound, "this server has no role %s", roleID)
}

// invoker is the highest position of the member who started the run, for
// an action on subject (a member, or who gets or loses a role; "" for
// none) that must stay below that member, as Discord requires of the
// member acting directly. ok is false when nothing has to: the run was not
// started by a member, the member acts on themself, or owns the guild.
func (e *Executor) invoker(ctx context.Context, o extensions.Origin, rk ranks, subject string) (top int, ok bool, err error) {
	if !o.ByMember || o.UserID == "" || o.UserID == subject || o.UserID == rk.ownerID {
		return 0, false, nil
	}
	m, err := e.member(ctx, o.GuildID, o.UserID)
	if hasCode(err, sandbox.CodeNotFound) {
		return 0, false, sandbox.Errorf(sandbox.CodeForbidden, "the member who started this (%s) is no longer in the server", o.UserID)
	}
	if err != nil {
		return 0, false, err
	}
	return rk.top(m.Roles), true, nil
}

// mayActOn refuses, before any REST call, an action on a member (verb
// says which, for the refusal) that Discord's hierarchy would refuse or that
// skybot keeps out of reach: skybot itself, the guild owner, and a member
// whose highest role is at or above skybot's. For a run a member started,
// the target must also rank below that member (as Discord requires of the
// member acting directly), unless the member owns the guild or acts on
// themself. target is nil for a user who is not a member (a ban by id).
func (e *Executor) mayActOn(ctx context.Context, o extensions.Origin, rk ranks, userID string, target *discordgo.Member, verb string) error {
	switch {
	case userID == rk.botID:
		return sandbox.Errorf(sandbox.CodeForbidden, "skybot does not %s itself", verb)
	case userID == rk.ownerID:
		return sandbox.Errorf(sandbox.CodeForbidden, "nobody can %s the server owner", verb)
	case target == nil:
		return nil
	}
	pos := rk.top(target.Roles)
	if pos >= rk.botTop {
		return sandbox.Errorf(sandbox.CodeForbidden,
			"skybot cannot %s %s: their highest role (%s) is at or above skybot's own highest role; a server admin can move skybot's role higher in Server Settings → Roles",
			verb, userID, rk.highestRole(target.Roles))
	}
	top, ok, err := e.invoker(ctx, o, rk, userID)
	if !ok {
		return err
	}
	if pos >= top {
		return sandbox.Errorf(sandbox.CodeForbidden,
			"the member who started this (%s) cannot %s %s: their highest role (%s) is not below that member's",
			o.UserID, verb, userID, rk.highestRole(target.Roles))
	}
	return nil
}

// mayManageRole refuses, before any REST call, a change to role (or to who
// holds it) that Discord would refuse: a role at or above skybot's highest
// role, and for a run a member started, one at or above that member's,
// unless holder (the member who gets or loses the role; "" when the role
// itself changes) is that member.
func (e *Executor) mayManageRole(ctx context.Context, o extensions.Origin, rk ranks, role discordgo.Role, holder string) error {
	if role.Position >= rk.botTop {
		return sandbox.Errorf(sandbox.CodeForbidden,
			"role %s is at or above skybot's own highest role; a server admin can move skybot's role higher in Server Settings → Roles", role.Name)
	}
	top, ok, err := e.invoker(ctx, o, rk, holder)
	if !ok {
		return err
	}
	if role.Position >= top {
		return sandbox.Errorf(sandbox.CodeForbidden, "role %s is not below the highest role of the member who started this (%s)", role.Name, o.UserID)
	}
	return nil
}

// strictObject decodes an options or changes object, refusing keys it does
// not know so that a misspelt option is an error, not silently ignored.
// Absent or null leaves dst as it is.
func strictObject(api, what string, raw json.RawMessage, dst any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: %s.%s has the wrong type", api, what, te.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: %s has no field %s", api, what, strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: %s must be an object", api, what)
}

// checkReason checks an optional reason.
func checkReason(api, reason string) error {
	if n := utf8.RuneCountInString(reason); n > maxAuditReason {
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the reason is %d characters; the limit is %d", api, n, maxAuditReason)
	}
	return nil
}

// JSON shapes extension code receives (ids as strings, times as epoch ms).

// roleJSON is RoleData:
//
//	{id, name, color, hexColor: "#rrggbb", position, hoist, mentionable,
//	 managed, permissions: decimal string}
func roleJSON(r discordgo.Role) map[string]any {
	return map[string]any{
		"id": r.ID, "name": r.Name, "color": r.Color, "hexColor": fmt.Sprintf("#%06x", r.Color),
		"position": r.Position, "hoist": r.Hoist, "mentionable": r.Mentionable, "managed": r.Managed,
		"permissions": strconv.FormatInt(r.Permissions, 10),
	}
}

// rolesJSON is RoleData[], highest first (ties: lower id first, as
// Discord orders them).
func rolesJSON(roles []discordgo.Role) []map[string]any {
	slices.SortStableFunc(roles, func(a, b discordgo.Role) int {
		if a.Position != b.Position {
			return b.Position - a.Position
		}
		return idCompare(a.ID, b.ID)
	})
	out := make([]map[string]any, 0, len(roles))
	for _, r := range roles {
		out = append(out, roleJSON(r))
	}
	return out
}

// idCompare orders snowflakes numerically.
func idCompare(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// memberJSON is MemberData:
//
//	{id, nickname: string|null, displayName, joinedTimestamp: ms|null,
//	 roles: string[], communicationDisabledUntil: ms|null (null when no
//	 timeout is running), user: {id, username, globalName: string|null,
//	 bot, avatar: hash|null}}
//
// displayName is the nickname, else the global name, else the username.
func memberJSON(m *discordgo.Member) map[string]any {
	u := m.User
	if u == nil {
		u = &discordgo.User{}
	}
	display := m.Nick
	if display == "" {
		display = u.GlobalName
	}
	if display == "" {
		display = u.Username
	}
	var joined, until any
	if !m.JoinedAt.IsZero() {
		joined = m.JoinedAt.UnixMilli()
	}
	if t := m.CommunicationDisabledUntil; t != nil && t.After(time.Now()) {
		until = t.UnixMilli()
	}
	roles := m.Roles
	if roles == nil {
		roles = []string{}
	}
	return map[string]any{
		"id": u.ID, "nickname": nullable(m.Nick), "displayName": display,
		"joinedTimestamp": joined, "roles": roles, "communicationDisabledUntil": until,
		"user": map[string]any{
			"id": u.ID, "username": u.Username, "globalName": nullable(u.GlobalName),
			"bot": u.Bot, "avatar": nullable(u.Avatar),
		},
	}
}

func membersJSON(ms []*discordgo.Member) []map[string]any {
	out := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, memberJSON(m))
	}
	return out
}

// guildJSON is GuildData:
//
//	{id, name, ownerId, memberCount, icon: hash|null,
//	 systemChannelId: string|null, afkChannelId: string|null,
//	 afkTimeout (seconds), roleCount, channelCount}
//
// channelCount counts channels and categories, not threads.
func guildJSON(f guildFacts) map[string]any {
	return map[string]any{
		"id": f.id, "name": f.name, "ownerId": f.ownerID, "memberCount": f.memberCount,
		"icon": nullable(f.icon), "systemChannelId": nullable(f.systemChannelID),
		"afkChannelId": nullable(f.afkChannelID), "afkTimeout": f.afkTimeout,
		"roleCount": len(f.roles), "channelCount": f.channelCount,
	}
}
