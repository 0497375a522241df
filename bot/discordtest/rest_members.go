package discordtest

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// maxTimeout is the longest timeout Discord accepts.
const maxTimeout = 28 * 24 * time.Hour

func restGetMember(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	m, err := g.member(r.params["user"])
	if err != nil {
		return reply{}, err
	}
	return okJSON(s.wireMemberLocked(m, true, ""))
}

// restListMembers lists members ordered by user id, after the "after" id,
// at most "limit" (1..1000, default 1).
func restListMembers(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	limit, err := queryLimit(r, "limit", 1, 1000)
	if err != nil {
		return reply{}, err
	}
	after := r.query.Get("after")
	ids := append([]string(nil), g.memberOrder...)
	sort.Slice(ids, func(i, j int) bool { return idLess(ids[i], ids[j]) })
	out := []wireMember{}
	for _, id := range ids {
		if after != "" && !idLess(after, id) {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, s.wireMemberLocked(g.members[id], true, ""))
	}
	return okJSON(out)
}

func restSearchMembers(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	if !r.query.Has("query") {
		return reply{}, formError("query", "BASE_TYPE_REQUIRED", "This field is required")
	}
	limit, err := queryLimit(r, "limit", 1, 1000)
	if err != nil {
		return reply{}, err
	}
	q := strings.ToLower(r.query.Get("query"))
	out := []wireMember{}
	for _, id := range g.memberOrder {
		if len(out) == limit {
			break
		}
		m := g.members[id]
		name := strings.ToLower(s.st.users[id].name)
		nick := ""
		if m.nick != nil {
			nick = strings.ToLower(*m.nick)
		}
		if strings.HasPrefix(name, q) || (nick != "" && strings.HasPrefix(nick, q)) {
			out = append(out, s.wireMemberLocked(m, true, ""))
		}
	}
	return okJSON(out)
}

// queryLimit reads an integer query parameter bounded to [1, max].
func queryLimit(r *request, name string, def, max int) (int, error) {
	v := r.query.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, formError(name, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not int.", v))
	}
	if n < 1 || n > max {
		return 0, formError(name, "NUMBER_TYPE_MAX", fmt.Sprintf("int value should be between 1 and %d.", max))
	}
	return n, nil
}

// restModifyMember applies nick, roles, communication_disabled_until (a
// timeout), mute and deaf with Discord's permission and hierarchy checks.
func restModifyMember(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	m, err := g.member(r.params["user"])
	if err != nil {
		return reply{}, err
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	// A refused change leaves the member as it was, even if an earlier
	// field of the same request was fine.
	saved := *m
	saved.roles = append([]string(nil), m.roles...)
	changes, err := s.modifyMemberLocked(g, m, f)
	if err != nil {
		*m = saved
		return reply{}, err
	}
	if len(changes) > 0 {
		s.memberUpdatedLocked(g, m, r.actor, strings.Join(changes, ", "))
	}
	return okJSON(s.wireMemberLocked(m, true, ""))
}

// modifyMemberLocked applies the fields of a member PATCH and describes the
// changes.
func (s *Server) modifyMemberLocked(g *guild, m *member, f fields) ([]string, error) {
	var changes []string
	var err error
	if f.has("nick") {
		if err := s.setNickLocked(g, m, f); err != nil {
			return nil, err
		}
		changes = append(changes, "nick")
	}
	if f.has("roles") {
		roles, err := f.strs("roles")
		if err != nil {
			return nil, err
		}
		if err := s.checkRoleChange(g, m, roles); err != nil {
			return nil, err
		}
		added, removed := diff(roles, m.roles), diff(m.roles, roles)
		m.roles = dedupe(roles)
		if len(added) > 0 {
			changes = append(changes, "+roles "+describeRoles(g, added))
		}
		if len(removed) > 0 {
			changes = append(changes, "-roles "+describeRoles(g, removed))
		}
	}
	if f.has("communication_disabled_until") {
		change, err := s.setTimeoutLocked(g, m, f)
		if err != nil {
			return nil, err
		}
		changes = append(changes, change)
	}
	if f.has("mute") {
		if m.mute, err = f.boolean("mute"); err != nil {
			return nil, err
		}
		changes = append(changes, "mute")
	}
	if f.has("deaf") {
		if m.deaf, err = f.boolean("deaf"); err != nil {
			return nil, err
		}
		changes = append(changes, "deaf")
	}
	return changes, nil
}

// setNickLocked changes a nickname: the bot's own needs CHANGE_NICKNAME,
// anyone else's MANAGE_NICKNAMES and a lower highest role.
func (s *Server) setNickLocked(g *guild, m *member, f fields) error {
	nick, err := f.str("nick")
	if err != nil {
		return err
	}
	if len(nick) > 32 {
		return formError("nick", "BASE_TYPE_MAX_LENGTH", "Must be 32 or fewer in length.")
	}
	if m.userID == s.botID {
		if !g.has(s.botID, discordgo.PermissionChangeNickname) && !g.has(s.botID, discordgo.PermissionManageNicknames) {
			return discordError(codeMissingPermissions)
		}
	} else {
		if err := g.require(s.botID, discordgo.PermissionManageNicknames); err != nil {
			return err
		}
		if err := g.requireAbove(s.botID, m.userID); err != nil {
			return err
		}
	}
	m.nick = nullable(nick)
	return nil
}

// checkRoleChange allows replacing a member's roles when the bot has
// MANAGE_ROLES and every added or removed role is below the bot's highest
// role and not managed.
func (s *Server) checkRoleChange(g *guild, m *member, roles []string) error {
	if err := g.require(s.botID, discordgo.PermissionManageRoles); err != nil {
		return err
	}
	for _, id := range append(diff(roles, m.roles), diff(m.roles, roles)...) {
		ro, err := g.role(id)
		if err != nil || id == g.id {
			return discordError(codeUnknownRole)
		}
		if ro.managed {
			return discordError(codeMissingPermissions)
		}
		if err := g.requireRoleBelow(s.botID, ro); err != nil {
			return err
		}
	}
	return nil
}

// setTimeoutLocked times a member out (or lifts it with null). It needs
// MODERATE_MEMBERS, a target below the bot that is not the owner and not an
// administrator, and a time at most 28 days ahead.
func (s *Server) setTimeoutLocked(g *guild, m *member, f fields) (string, error) {
	if err := g.require(s.botID, discordgo.PermissionModerateMembers); err != nil {
		return "", err
	}
	if err := g.requireAbove(s.botID, m.userID); err != nil {
		return "", err
	}
	if g.permissions(m.userID)&discordgo.PermissionAdministrator != 0 {
		return "", discordError(codeMissingPermissions)
	}
	if f.null("communication_disabled_until") {
		m.timeoutUntil = nil
		return "timeout lifted", nil
	}
	raw, err := f.str("communication_disabled_until")
	if err != nil {
		return "", err
	}
	until, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return "", formError("communication_disabled_until", "DATE_TYPE_PARSE", "Could not parse "+raw+". Should be ISO8601.")
	}
	if until.After(time.Now().Add(maxTimeout + time.Minute)) {
		return "", formError("communication_disabled_until", "COMMUNICATION_DISABLED_TIMESTAMP_TOO_LARGE",
			"Timeout must be less than 28 days in the future")
	}
	until = until.UTC()
	m.timeoutUntil = &until
	return "timeout until " + timestamp(until), nil
}

func (s *Server) memberUpdatedLocked(g *guild, m *member, actor, detail string) {
	s.dispatchMembersLocked("GUILD_MEMBER_UPDATE", s.wireMemberLocked(m, true, g.id))
	s.emitLocked(Event{Kind: KindMemberUpdate, GuildID: g.id, UserID: m.userID, ActorID: actor, Detail: detail})
}

// restModifyMe changes the bot's own nickname (PATCH members/@me).
func restModifyMe(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	m := g.members[s.botID]
	if f.has("nick") {
		if err := s.setNickLocked(g, m, f); err != nil {
			return reply{}, err
		}
		s.memberUpdatedLocked(g, m, r.actor, "nick")
	}
	return okJSON(s.wireMemberLocked(m, true, ""))
}

// restModifyMyNick is the deprecated PATCH members/@me/nick.
func restModifyMyNick(s *Server, r *request) (reply, error) {
	if _, err := restModifyMe(s, r); err != nil {
		return reply{}, err
	}
	g := s.st.guilds[r.params["guild"]]
	return okJSON(map[string]any{"nick": g.members[s.botID].nick})
}

func restAddMemberRole(s *Server, r *request) (reply, error)    { return memberRole(s, r, true) }
func restRemoveMemberRole(s *Server, r *request) (reply, error) { return memberRole(s, r, false) }

// memberRole adds or removes one role: MANAGE_ROLES, the role below the
// bot's highest role and not managed.
func memberRole(s *Server, r *request, add bool) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	m, err := g.member(r.params["user"])
	if err != nil {
		return reply{}, err
	}
	ro, err := g.role(r.params["role"])
	if err != nil || ro.id == g.id {
		return reply{}, discordError(codeUnknownRole)
	}
	if err := g.require(s.botID, discordgo.PermissionManageRoles); err != nil {
		return reply{}, err
	}
	if ro.managed {
		return reply{}, discordError(codeMissingPermissions)
	}
	if err := g.requireRoleBelow(s.botID, ro); err != nil {
		return reply{}, err
	}
	has := slices.Contains(m.roles, ro.id)
	switch {
	case add && !has:
		m.roles = append(m.roles, ro.id)
		s.memberUpdatedLocked(g, m, r.actor, "+role "+ro.name)
	case !add && has:
		m.roles = removeString(m.roles, ro.id)
		s.memberUpdatedLocked(g, m, r.actor, "-role "+ro.name)
	}
	return noContent()
}

// restKick removes a member: KICK_MEMBERS and a target below the bot.
func restKick(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	m, err := g.member(r.params["user"])
	if err != nil {
		return reply{}, err
	}
	if err := g.require(s.botID, discordgo.PermissionKickMembers); err != nil {
		return reply{}, err
	}
	if err := g.requireAbove(s.botID, m.userID); err != nil {
		return reply{}, err
	}
	s.removeMemberLocked(g, m.userID, r.actor, KindMemberKick, reasonOf(r))
	return noContent()
}

// reasonOf is the audit log reason: the X-Audit-Log-Reason header, or the
// legacy "reason" query parameter discordgo's *WithReason helpers send.
func reasonOf(r *request) string {
	if r.reason != "" {
		return r.reason
	}
	return r.query.Get("reason")
}

func restListBans(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	if err := g.require(s.botID, discordgo.PermissionBanMembers); err != nil {
		return reply{}, err
	}
	limit, err := queryLimit(r, "limit", 1000, 1000)
	if err != nil {
		return reply{}, err
	}
	ids := append([]string(nil), g.banOrder...)
	sort.Slice(ids, func(i, j int) bool { return idLess(ids[i], ids[j]) })
	before, after := r.query.Get("before"), r.query.Get("after")
	out := []wireBan{}
	for _, id := range ids {
		if after != "" && !idLess(after, id) || before != "" && !idLess(id, before) {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, s.wireBanLocked(g.bans[id]))
	}
	return okJSON(out)
}

func (s *Server) wireBanLocked(b *ban) wireBan {
	return wireBan{Reason: nullable(b.reason), User: s.wireUserLocked(b.userID)}
}

func restGetBan(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	if err := g.require(s.botID, discordgo.PermissionBanMembers); err != nil {
		return reply{}, err
	}
	b, ok := g.bans[r.params["user"]]
	if !ok {
		return reply{}, discordError(codeUnknownBan)
	}
	return okJSON(s.wireBanLocked(b))
}

// restBan bans a user (member or not): BAN_MEMBERS, and for a member a
// target below the bot that is not the owner. The member is removed and
// their recent messages deleted per delete_message_seconds.
func restBan(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	uid := r.params["user"]
	if _, err := s.st.user(uid); err != nil {
		return reply{}, err
	}
	if err := g.require(s.botID, discordgo.PermissionBanMembers); err != nil {
		return reply{}, err
	}
	if uid == s.botID {
		return reply{}, discordError(codeMissingPermissions)
	}
	if _, isMember := g.members[uid]; isMember || uid == g.ownerID {
		if err := g.requireAbove(s.botID, uid); err != nil {
			return reply{}, err
		}
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	secs, err := f.integer("delete_message_seconds")
	if err != nil {
		return reply{}, err
	}
	if days := r.query.Get("delete_message_days"); days != "" && secs == 0 {
		d, _ := strconv.Atoi(days)
		secs = d * 86400
	}
	if secs < 0 || secs > 604800 {
		return reply{}, formError("delete_message_seconds", "NUMBER_TYPE_MAX", "int value should be less than or equal to 604800.")
	}
	if _, already := g.bans[uid]; already {
		return noContent()
	}
	reason := reasonOf(r)
	g.bans[uid] = &ban{userID: uid, reason: reason}
	g.banOrder = append(g.banOrder, uid)
	s.dispatchModerationLocked("GUILD_BAN_ADD", map[string]any{"guild_id": g.id, "user": s.wireUserLocked(uid)})
	if _, isMember := g.members[uid]; isMember {
		g.removeMember(uid)
		s.dispatchMembersLocked("GUILD_MEMBER_REMOVE", map[string]any{"guild_id": g.id, "user": s.wireUserLocked(uid)})
	}
	if secs > 0 {
		s.deleteRecentLocked(g, uid, time.Duration(secs)*time.Second, r.actor)
	}
	s.emitLocked(Event{Kind: KindMemberBan, GuildID: g.id, UserID: uid, ActorID: r.actor, Detail: reason})
	return noContent()
}

// deleteRecentLocked deletes a user's messages younger than window in every
// channel of the guild.
func (s *Server) deleteRecentLocked(g *guild, userID string, window time.Duration, actor string) {
	cutoff := time.Now().Add(-window)
	for _, c := range s.st.guildChannels(g) {
		var keep []*message
		for _, m := range c.messages {
			if m.authorID == userID && m.webhookID == "" && m.createdAt.After(cutoff) {
				s.dispatchMessageDeleteLocked(m)
				s.emitLocked(Event{Kind: KindMessageDelete, GuildID: g.id, ChannelID: c.id, UserID: userID, ActorID: actor, Detail: "ban"})
				continue
			}
			keep = append(keep, m)
		}
		c.messages = keep
	}
}

func restUnban(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	if err := g.require(s.botID, discordgo.PermissionBanMembers); err != nil {
		return reply{}, err
	}
	uid := r.params["user"]
	if _, ok := g.bans[uid]; !ok {
		return reply{}, discordError(codeUnknownBan)
	}
	delete(g.bans, uid)
	g.banOrder = removeString(g.banOrder, uid)
	s.dispatchModerationLocked("GUILD_BAN_REMOVE", map[string]any{"guild_id": g.id, "user": s.wireUserLocked(uid)})
	s.emitLocked(Event{Kind: KindMemberUnban, GuildID: g.id, UserID: uid, ActorID: r.actor, Detail: reasonOf(r)})
	return noContent()
}

// diff returns the elements of a not in b.
func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func dedupe(in []string) []string {
	out := []string{}
	for _, x := range in {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
