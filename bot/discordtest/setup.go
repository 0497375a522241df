package discordtest

import (
	"fmt"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Guild is a guild created with CreateGuild.
type Guild struct {
	ID, Name string
	OwnerID  string
	// BotRoleID is the bot's managed role in this guild.
	BotRoleID string
}

// Role is a guild role as the setup methods return it.
type Role struct {
	ID, GuildID, Name string
	Permissions       int64
	Position          int
}

// Channel is a channel as the setup methods return it.
type Channel struct {
	ID, GuildID, Name string
	Type              discordgo.ChannelType
	ParentID          string
}

// User is a Discord user.
type User struct {
	ID, Username string
}

// Member is a guild member as the setup methods return it.
type Member struct {
	GuildID, UserID, Username string
	Roles                     []string
}

// CreateGuild creates a guild with an @everyone role (id = guild id), an
// owner (a new user named "<name> owner", a member without roles; change it
// with SetOwner) and the bot as a member holding a managed role named like
// the bot with DefaultBotPermissions. Connected READY sessions receive
// GUILD_CREATE.
func (s *Server) CreateGuild(name string) Guild {
	var out Guild
	_ = s.mutate(func() error {
		now := time.Now().UTC()
		g := &guild{
			id: s.ids.next(), name: name,
			roles: map[string]*role{}, members: map[string]*member{}, bans: map[string]*ban{},
		}
		g.roles[g.id] = &role{id: g.id, name: "@everyone", perms: DefaultEveryonePermissions}
		owner := s.addUserLocked(name + " owner")
		g.ownerID = owner.id
		g.members[owner.id] = &member{userID: owner.id, joinedAt: now}
		g.memberOrder = append(g.memberOrder, owner.id)

		bot := &role{id: s.ids.next(), name: s.opts.BotName, perms: DefaultBotPermissions, position: 1, managed: true, botID: s.botID}
		g.roles[bot.id] = bot
		g.botRoleID = bot.id
		g.members[s.botID] = &member{userID: s.botID, roles: []string{bot.id}, joinedAt: now}
		g.memberOrder = append(g.memberOrder, s.botID)

		s.st.guilds[g.id] = g
		s.st.guildOrder = append(s.st.guildOrder, g.id)
		s.dispatchGuildCreateLocked(g)
		s.emitLocked(Event{Kind: KindGuildCreate, GuildID: g.id, Detail: name})
		out = Guild{ID: g.id, Name: name, OwnerID: owner.id, BotRoleID: bot.id}
		return nil
	})
	return out
}

// SetOwner transfers the guild to userID, who must be a member.
func (s *Server) SetOwner(guildID, userID string) error {
	return s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		if _, err := g.member(userID); err != nil {
			return err
		}
		g.ownerID = userID
		s.dispatchGuildLocked("GUILD_UPDATE", s.wireGuildLocked(g))
		s.emitLocked(Event{Kind: KindGuildUpdate, GuildID: g.id, UserID: userID, Detail: "owner"})
		return nil
	})
}

// AddUser creates a user who is in no guild (for example to ban by id).
func (s *Server) AddUser(username string) User {
	var out User
	_ = s.mutate(func() error {
		u := s.addUserLocked(username)
		out = User{ID: u.id, Username: u.name}
		return nil
	})
	return out
}

func (s *Server) addUserLocked(name string) *user {
	u := &user{id: s.ids.next(), name: name, createdAt: time.Now().UTC()}
	s.st.users[u.id] = u
	return u
}

// AddRole creates a role with the given permissions, placed at the top of
// the hierarchy just below the bot's role (move it with SetRolePosition).
// It panics if the guild does not exist.
func (s *Server) AddRole(guildID, name string, perms int64) Role {
	var out Role
	err := s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		r := &role{id: s.ids.next(), name: name, perms: perms}
		order := g.sortedRoles()
		at := len(order)
		for i, x := range order {
			if x.id == g.botRoleID {
				at = i
			}
		}
		order = append(order[:at], append([]*role{r}, order[at:]...)...)
		g.roles[r.id] = r
		s.placeNewRoleLocked(g, r, order, "")
		out = Role{ID: r.id, GuildID: g.id, Name: name, Permissions: perms, Position: r.position}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("discordtest: AddRole(%q): %v", guildID, err))
	}
	return out
}

// SetRolePosition moves a role to position pos (1 = just above @everyone),
// shifting the others; use it to put a role above the bot's for hierarchy
// tests. GUILD_ROLE_UPDATE is dispatched for the roles that moved.
func (s *Server) SetRolePosition(guildID, roleID string, pos int) error {
	return s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		if _, err := g.role(roleID); err != nil || roleID == g.id {
			return discordError(codeUnknownRole)
		}
		s.moveRoleLocked(g, roleID, pos)
		return nil
	})
}

// moveRoleLocked moves a role to pos and shifts the others.
func (s *Server) moveRoleLocked(g *guild, roleID string, pos int) {
	var order []*role
	var moved *role
	for _, r := range g.sortedRoles() {
		switch {
		case r.id == roleID:
			moved = r
		case r.id != g.id:
			order = append(order, r)
		}
	}
	at := max(0, min(pos-1, len(order)))
	order = append(order[:at], append([]*role{moved}, order[at:]...)...)
	s.reorderRolesLocked(g, order)
}

// reorderRolesLocked gives the roles positions 1..n in the given order
// (lowest first; @everyone stays 0) and dispatches GUILD_ROLE_UPDATE for
// every role whose position changed.
func (s *Server) reorderRolesLocked(g *guild, order []*role) {
	before := positions(order)
	g.renumberRoles(order)
	s.announceMovesLocked(g, order, before, nil, "")
}

// placeNewRoleLocked numbers the roles with the new role r in order, then
// announces the new role and the roles it pushed up, as Discord does.
func (s *Server) placeNewRoleLocked(g *guild, r *role, order []*role, actor string) {
	before := positions(order)
	g.renumberRoles(order)
	s.dispatchGuildLocked("GUILD_ROLE_CREATE", roleEvent(g, r))
	s.emitLocked(Event{Kind: KindRoleCreate, GuildID: g.id, ActorID: actor, Detail: r.name})
	s.announceMovesLocked(g, order, before, r, actor)
}

func positions(order []*role) map[*role]int {
	before := make(map[*role]int, len(order))
	for _, r := range order {
		before[r] = r.position
	}
	return before
}

func (s *Server) announceMovesLocked(g *guild, order []*role, before map[*role]int, except *role, actor string) {
	for _, r := range order {
		if r != except && before[r] != r.position {
			s.dispatchGuildLocked("GUILD_ROLE_UPDATE", roleEvent(g, r))
			s.emitLocked(Event{Kind: KindRoleUpdate, GuildID: g.id, ActorID: actor, Detail: fmt.Sprintf("%s position %d", r.name, r.position)})
		}
	}
}

// SetRolePermissions replaces a role's permissions (the @everyone role's id
// is the guild id).
func (s *Server) SetRolePermissions(guildID, roleID string, perms int64) error {
	return s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		r, err := g.role(roleID)
		if err != nil {
			return err
		}
		r.perms = perms
		s.dispatchGuildLocked("GUILD_ROLE_UPDATE", roleEvent(g, r))
		s.emitLocked(Event{Kind: KindRoleUpdate, GuildID: g.id, Detail: r.name + " permissions"})
		return nil
	})
}

// AddChannel creates a guild channel of the given type (text, category,
// forum, voice...) and dispatches CHANNEL_CREATE. Use AddThread for threads.
// It panics if the guild does not exist.
func (s *Server) AddChannel(guildID, name string, typ discordgo.ChannelType) Channel {
	var out Channel
	err := s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		c := s.newGuildChannelLocked(g, name, typ, "")
		s.dispatchGuildLocked("CHANNEL_CREATE", s.wireChannelLocked(c))
		s.emitLocked(Event{Kind: KindChannelCreate, GuildID: g.id, ChannelID: c.id, Detail: name})
		out = Channel{ID: c.id, GuildID: g.id, Name: name, Type: typ}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("discordtest: AddChannel(%q): %v", guildID, err))
	}
	return out
}

// SetChannelParent puts a channel under a category ("" removes it).
func (s *Server) SetChannelParent(channelID, parentID string) error {
	return s.mutate(func() error {
		c, err := s.st.channel(channelID)
		if err != nil {
			return err
		}
		if parentID != "" {
			p, err := s.st.channel(parentID)
			if err != nil {
				return err
			}
			if p.typ != discordgo.ChannelTypeGuildCategory || p.guildID != c.guildID {
				return formError("parent_id", "CHANNEL_PARENT_INVALID_TYPE", "Not a category")
			}
		}
		c.parentID = parentID
		s.dispatchGuildLocked("CHANNEL_UPDATE", s.wireChannelLocked(c))
		s.emitLocked(Event{Kind: KindChannelUpdate, GuildID: c.guildID, ChannelID: c.id, Detail: "parent"})
		return nil
	})
}

func (s *Server) newGuildChannelLocked(g *guild, name string, typ discordgo.ChannelType, parentID string) *channel {
	pos := 0
	for _, c := range s.st.guildChannels(g) {
		if !c.isThread() {
			pos++
		}
	}
	c := &channel{id: s.ids.next(), guildID: g.id, name: name, typ: typ, position: pos, parentID: parentID, createdAt: time.Now().UTC()}
	s.st.channels[c.id] = c
	g.channelIDs = append(g.channelIDs, c.id)
	return c
}

// AddMember creates a user and adds them to the guild with the given roles,
// dispatching GUILD_MEMBER_ADD to READY sessions. It panics if the guild or
// a role does not exist.
func (s *Server) AddMember(guildID, username string, roleIDs ...string) Member {
	return s.addMember("AddMember", guildID, username, false, roleIDs)
}

// AddBot is AddMember for another bot (not skybot): its user has bot: true,
// and so do its messages and actions.
func (s *Server) AddBot(guildID, username string, roleIDs ...string) Member {
	return s.addMember("AddBot", guildID, username, true, roleIDs)
}

func (s *Server) addMember(method, guildID, username string, bot bool, roleIDs []string) Member {
	var out Member
	err := s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		for _, id := range roleIDs {
			if _, err := g.role(id); err != nil || id == g.id {
				return fmt.Errorf("role %s: %w", id, discordError(codeUnknownRole))
			}
		}
		u := s.addUserLocked(username)
		u.bot = bot
		s.joinLocked(g, u.id, roleIDs)
		out = Member{GuildID: g.id, UserID: u.id, Username: username, Roles: append([]string(nil), roleIDs...)}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("discordtest: %s(%q, %q): %v", method, guildID, username, err))
	}
	return out
}

// SetNick changes a member's nickname as a guild admin would ("" removes
// it), dispatching GUILD_MEMBER_UPDATE.
func (s *Server) SetNick(guildID, userID, nick string) error {
	return s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		m, err := g.member(userID)
		if err != nil {
			return err
		}
		if len(nick) > 32 {
			return fmt.Errorf("discordtest: nickname %q is longer than 32 characters", nick)
		}
		m.nick = nullable(nick)
		s.memberUpdatedLocked(g, m, "", "nick")
		return nil
	})
}

// SetMemberRoles replaces a member's roles as a guild admin would,
// dispatching GUILD_MEMBER_UPDATE.
func (s *Server) SetMemberRoles(guildID, userID string, roleIDs ...string) error {
	return s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		m, err := g.member(userID)
		if err != nil {
			return err
		}
		for _, id := range roleIDs {
			if _, err := g.role(id); err != nil || id == g.id {
				return fmt.Errorf("role %s: %w", id, discordError(codeUnknownRole))
			}
		}
		m.roles = dedupe(roleIDs)
		s.memberUpdatedLocked(g, m, "", "roles "+describeRoles(g, m.roles))
		return nil
	})
}

// JoinGuild adds an existing user (for example one created with AddUser or
// removed earlier) to a guild.
func (s *Server) JoinGuild(guildID, userID string, roleIDs ...string) error {
	return s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		if _, err := s.st.user(userID); err != nil {
			return err
		}
		if _, ok := g.members[userID]; ok {
			return nil
		}
		if _, banned := g.bans[userID]; banned {
			return fmt.Errorf("discordtest: user %s is banned from guild %s", userID, guildID)
		}
		for _, id := range roleIDs {
			if _, err := g.role(id); err != nil {
				return err
			}
		}
		s.joinLocked(g, userID, roleIDs)
		return nil
	})
}

// joinLocked adds a user to a guild and announces it.
func (s *Server) joinLocked(g *guild, userID string, roleIDs []string) {
	m := &member{userID: userID, roles: append([]string{}, roleIDs...), joinedAt: time.Now().UTC()}
	g.members[userID] = m
	g.memberOrder = append(g.memberOrder, userID)
	s.dispatchMembersLocked("GUILD_MEMBER_ADD", s.wireMemberLocked(m, true, g.id))
	s.emitLocked(Event{Kind: KindMemberAdd, GuildID: g.id, UserID: userID, Detail: s.st.users[userID].name})
}

// RemoveMember makes a member leave the guild (GUILD_MEMBER_REMOVE).
func (s *Server) RemoveMember(guildID, userID string) error {
	return s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		if _, err := g.member(userID); err != nil {
			return err
		}
		s.removeMemberLocked(g, userID, "", KindMemberRemove, "left")
		return nil
	})
}

// removeMemberLocked removes a member, dispatches GUILD_MEMBER_REMOVE and
// emits an event of the given kind.
func (s *Server) removeMemberLocked(g *guild, userID, actorID, kind, detail string) {
	s.leaveVoiceLocked(g, userID)
	g.removeMember(userID)
	s.dispatchMembersLocked("GUILD_MEMBER_REMOVE", map[string]any{"guild_id": g.id, "user": s.wireUserLocked(userID)})
	s.emitLocked(Event{Kind: kind, GuildID: g.id, UserID: userID, ActorID: actorID, Detail: detail})
}

// roleEvent is the payload of GUILD_ROLE_CREATE and GUILD_ROLE_UPDATE.
func roleEvent(g *guild, r *role) map[string]any {
	return map[string]any{"guild_id": g.id, "role": wireRoleOf(r)}
}

// AllowCommand records what a guild admin does in Server Settings →
// Integrations: the command name may be used by the given role, user or
// guild ids (the guild id stands for @everyone), whatever its
// default_member_permissions say. With no ids it removes the override.
func (s *Server) AllowCommand(guildID, name string, ids ...string) error {
	return s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			delete(g.commandAccess, name)
			return nil
		}
		if g.commandAccess == nil {
			g.commandAccess = map[string][]string{}
		}
		g.commandAccess[name] = append([]string(nil), ids...)
		return nil
	})
}
