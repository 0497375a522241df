package discordtest

import (
	"fmt"

	"github.com/bwmarrin/discordgo"
)

func restGetGuild(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	w := s.wireGuildLocked(g)
	if r.query.Get("with_counts") == "true" {
		w.ApproximateMemberCount = ptr(len(g.members))
		w.ApproximatePresenceCount = ptr(0)
	}
	return okJSON(w)
}

func restModifyGuild(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	if err := g.require(s.botID, discordgo.PermissionManageGuild); err != nil {
		return reply{}, err
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	if err := s.modifyGuildChannelsLocked(g, f); err != nil {
		return reply{}, err
	}
	if f.has("name") {
		name, err := f.str("name")
		if err != nil {
			return reply{}, err
		}
		if len(name) < 2 || len(name) > 100 {
			return reply{}, formError("name", "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length.")
		}
		g.name = name
	}
	if f.has("description") {
		if g.description, err = f.str("description"); err != nil {
			return reply{}, err
		}
	}
	w := s.wireGuildLocked(g)
	s.dispatchGuildLocked("GUILD_UPDATE", w)
	s.emitLocked(Event{Kind: KindGuildUpdate, GuildID: g.id, ActorID: r.actor, Detail: g.name})
	return okJSON(w)
}

// modifyGuildChannelsLocked applies system_channel_id, afk_channel_id (null
// clears them; the system channel must be a text channel of the guild, the
// AFK channel a voice channel) and afk_timeout. It checks every field
// before changing any, so a refused PATCH leaves the guild as it was.
func (s *Server) modifyGuildChannelsLocked(g *guild, f fields) error {
	system, afk, timeout := g.systemChannelID, g.afkChannelID, g.afkTimeout
	channelOf := func(field string, want discordgo.ChannelType, cur string) (string, error) {
		if !f.has(field) {
			return cur, nil
		}
		id, err := f.str(field)
		if err != nil || id == "" {
			return "", err
		}
		c, ok := s.st.channels[id]
		if !ok || c.guildID != g.id {
			return "", formError(field, "CHANNEL_INVALID", "Unknown channel")
		}
		if c.typ != want {
			return "", formError(field, "CHANNEL_INVALID_TYPE", "Invalid channel type")
		}
		return id, nil
	}
	var err error
	if system, err = channelOf("system_channel_id", discordgo.ChannelTypeGuildText, system); err != nil {
		return err
	}
	if afk, err = channelOf("afk_channel_id", discordgo.ChannelTypeGuildVoice, afk); err != nil {
		return err
	}
	if f.has("afk_timeout") && !f.null("afk_timeout") {
		if timeout, err = f.integer("afk_timeout"); err != nil {
			return err
		}
		switch timeout {
		case 60, 300, 900, 1800, 3600:
		default:
			return formError("afk_timeout", "BASE_TYPE_CHOICES", "Value must be one of {60, 300, 900, 1800, 3600}.")
		}
	}
	g.systemChannelID, g.afkChannelID, g.afkTimeout = system, afk, timeout
	return nil
}

func restListRoles(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	out := []wireRole{}
	for _, ro := range g.sortedRoles() {
		out = append(out, wireRoleOf(ro))
	}
	return okJSON(out)
}

func restGetRole(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	ro, err := g.role(r.params["role"])
	if err != nil {
		return reply{}, err
	}
	return okJSON(wireRoleOf(ro))
}

// applyRoleFields sets the role attributes present in f. The actor may not
// grant permissions it does not hold itself.
func (s *Server) applyRoleFields(g *guild, ro *role, f fields, actor string) error {
	if f.has("permissions") {
		p, err := f.perms("permissions")
		if err != nil {
			return err
		}
		if held := g.permissions(actor); p&^held != 0 {
			return discordError(codeMissingPermissions)
		}
		ro.perms = p
	}
	if f.has("name") {
		name, err := f.str("name")
		if err != nil {
			return err
		}
		if len(name) > 100 {
			return formError("name", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
		}
		if name == "" {
			name = "new role"
		}
		ro.name = name
	}
	var err error
	if f.has("color") {
		if ro.color, err = f.integer("color"); err != nil {
			return err
		}
	}
	if f.has("hoist") {
		if ro.hoist, err = f.boolean("hoist"); err != nil {
			return err
		}
	}
	if f.has("mentionable") {
		if ro.mentionable, err = f.boolean("mentionable"); err != nil {
			return err
		}
	}
	return nil
}

// restCreateRole creates a role at position 1, just above @everyone, as
// Discord does.
func restCreateRole(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	if err := g.require(s.botID, discordgo.PermissionManageRoles); err != nil {
		return reply{}, err
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	ro := &role{id: s.ids.next(), name: "new role", perms: g.roles[g.id].perms}
	if err := s.applyRoleFields(g, ro, f, s.botID); err != nil {
		return reply{}, err
	}
	order := append([]*role{ro}, g.sortedRoles()...) // @everyone is skipped by renumbering
	g.roles[ro.id] = ro
	s.placeNewRoleLocked(g, ro, order, r.actor)
	return okJSON(wireRoleOf(ro))
}

func restModifyRole(s *Server, r *request) (reply, error) {
	g, ro, err := s.manageableRole(r)
	if err != nil {
		return reply{}, err
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	saved := *ro
	if err := s.applyRoleFields(g, ro, f, s.botID); err != nil {
		*ro = saved // a refused edit changes nothing
		return reply{}, err
	}
	s.dispatchGuildLocked("GUILD_ROLE_UPDATE", roleEvent(g, ro))
	s.emitLocked(Event{Kind: KindRoleUpdate, GuildID: g.id, ActorID: r.actor, Detail: ro.name})
	return okJSON(wireRoleOf(ro))
}

func restDeleteRole(s *Server, r *request) (reply, error) {
	g, ro, err := s.manageableRole(r)
	if err != nil {
		return reply{}, err
	}
	if ro.id == g.id {
		return reply{}, formError("", "ROLE_INVALID", "Cannot delete the @everyone role")
	}
	if ro.managed {
		return reply{}, discordError(codeMissingPermissions)
	}
	delete(g.roles, ro.id)
	for _, m := range g.members {
		m.roles = removeString(m.roles, ro.id)
	}
	s.reorderRolesLocked(g, g.sortedRoles())
	s.dispatchGuildLocked("GUILD_ROLE_DELETE", map[string]any{"guild_id": g.id, "role_id": ro.id})
	s.emitLocked(Event{Kind: KindRoleDelete, GuildID: g.id, ActorID: r.actor, Detail: ro.name})
	return noContent()
}

// manageableRole resolves the route's role and checks that the bot may
// manage it: MANAGE_ROLES and the role below the bot's highest role.
func (s *Server) manageableRole(r *request) (*guild, *role, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return nil, nil, err
	}
	ro, err := g.role(r.params["role"])
	if err != nil {
		return nil, nil, err
	}
	if err := g.require(s.botID, discordgo.PermissionManageRoles); err != nil {
		return nil, nil, err
	}
	if err := g.requireRoleBelow(s.botID, ro); err != nil {
		return nil, nil, err
	}
	return g, ro, nil
}

// restRolePositions applies [{id, position}]: only roles below the bot's
// highest may move, and only to places below it.
func restRolePositions(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	if err := g.require(s.botID, discordgo.PermissionManageRoles); err != nil {
		return reply{}, err
	}
	var moves []struct {
		ID       string `json:"id"`
		Position *int   `json:"position"`
	}
	if err := r.decode(&moves); err != nil {
		return reply{}, err
	}
	top := g.highestPosition(s.botID)
	for _, mv := range moves {
		ro, err := g.role(mv.ID)
		if err != nil {
			return reply{}, err
		}
		if mv.Position == nil || ro.id == g.id {
			continue
		}
		if ro.position != *mv.Position && (g.requireRoleBelow(s.botID, ro) != nil || *mv.Position >= top) {
			return reply{}, discordError(codeMissingPermissions)
		}
	}
	for _, mv := range moves {
		if mv.Position != nil && mv.ID != g.id {
			s.moveRoleLocked(g, mv.ID, *mv.Position)
		}
	}
	return restListRoles(s, r)
}

func removeString(list []string, v string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// describeRoles names roles for event details.
func describeRoles(g *guild, ids []string) string {
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		if ro, ok := g.roles[id]; ok {
			names = append(names, ro.name)
		} else {
			names = append(names, id)
		}
	}
	return fmt.Sprint(names)
}
