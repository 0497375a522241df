package bot

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
)

// messageOf copies what the dispatcher needs out of a gateway message,
// including the data of SkynetBot's guild, channel, member and roles
// modules (SKYEXT.md part B 3.5, 3.7, 3.8). discordgo's state objects are
// live and updated by the gateway goroutine, so everything is read under
// one read lock and copied into plain values.
func messageOf(s *discordgo.Session, m *discordgo.Message) extensions.Message {
	msg := extensions.Message{
		GuildID:   m.GuildID,
		ChannelID: m.ChannelID,
		ID:        m.ID,
		Content:   m.Content,
		Author:    userOf(m.Author),
		CreatedAt: m.Timestamp,
	}
	for _, u := range m.Mentions {
		msg.Mentions = append(msg.Mentions, userOf(u))
	}
	st := s.State
	if st == nil {
		return msg
	}
	if m.Author != nil {
		// Before the read lock below: this takes it itself.
		if perms, err := st.UserChannelPermissions(m.Author.ID, m.ChannelID); err == nil {
			msg.MemberPermissions = perms
		}
	}
	st.RLock()
	defer st.RUnlock()
	if st.User != nil {
		msg.Bot = userOf(st.User)
	}
	var g *discordgo.Guild
	for _, x := range st.Guilds {
		if x.ID == m.GuildID {
			g = x
			break
		}
	}
	if g == nil {
		return msg
	}
	msg.GuildName = g.Name
	msg.Modules = map[string]any{
		"guild": map[string]any{"id": g.ID, "name": g.Name, "memberCount": memberCount(s, g.ID), "ownerId": g.OwnerID, "icon": nullable(g.Icon)},
		"roles": rolesData(g, memberCount(s, g.ID)),
	}
	for _, c := range append(append([]*discordgo.Channel(nil), g.Channels...), g.Threads...) {
		if c.ID == m.ChannelID {
			msg.ChannelName, msg.ChannelType = c.Name, int(c.Type)
			msg.Modules["channel"] = map[string]any{"id": c.ID, "name": c.Name, "type": int(c.Type), "topic": nullable(c.Topic), "nsfw": c.NSFW}
		}
	}
	if mem := memberOf(g, m); mem != nil {
		msg.MemberRoles = mem.Roles
		msg.Modules["member"] = memberData(g, mem, st.User)
	}
	return msg
}

// memberOf finds the author's member: in state when the members intent
// filled it, else the partial member the message carries.
func memberOf(g *discordgo.Guild, m *discordgo.Message) *discordgo.Member {
	if m.Author == nil {
		return nil
	}
	for _, x := range g.Members {
		if x.User != nil && x.User.ID == m.Author.ID {
			return x
		}
	}
	if m.Member != nil {
		cp := *m.Member
		cp.User = m.Author
		return &cp
	}
	return nil
}

// rolesData is the roles module; members is the guild's member count
// (the members of @everyone).
func rolesData(g *discordgo.Guild, members int) map[string]any {
	roles := append([]*discordgo.Role(nil), g.Roles...)
	sort.SliceStable(roles, func(i, j int) bool { return roles[i].Position > roles[j].Position })
	counts := map[string]int{}
	for _, mem := range g.Members {
		for _, id := range mem.Roles {
			counts[id]++
		}
	}
	list := make([]map[string]any, 0, len(roles))
	byID := map[string]any{}
	var highest, everyone any
	for _, r := range roles {
		role := map[string]any{
			"id": r.ID, "name": r.Name, "color": r.Color, "hexColor": fmt.Sprintf("#%06x", r.Color),
			"position": r.Position, "hoist": r.Hoist, "mentionable": r.Mentionable, "managed": r.Managed,
			"permissions": strconv.FormatInt(r.Permissions, 10), "members": counts[r.ID],
		}
		if r.ID == g.ID {
			role["members"] = members
			everyone = map[string]any{"id": r.ID, "name": r.Name}
		} else if highest == nil {
			highest = map[string]any{"id": r.ID, "name": r.Name}
		}
		list = append(list, role)
		byID[r.ID] = role
	}
	return map[string]any{"list": list, "byId": byID, "count": len(list), "highest": highest, "everyone": everyone}
}

// memberData is the member module; kickable, bannable and manageable are
// from the bot's point of view (its top role above the member's, and the
// permission).
func memberData(g *discordgo.Guild, mem *discordgo.Member, botUser *discordgo.User) map[string]any {
	u := userOf(mem.User)
	display := mem.Nick
	if display == "" {
		display = extensions.DisplayName(u)
	}
	var botMember *discordgo.Member
	if botUser != nil {
		for _, x := range g.Members {
			if x.User != nil && x.User.ID == botUser.ID {
				botMember = x
			}
		}
	}
	isOwner := mem.User != nil && mem.User.ID == g.OwnerID
	manageable := false
	var botPerms int64
	if botMember != nil {
		botPerms = memberPermissions(g, botMember)
		manageable = !isOwner && topPosition(g, botMember) > topPosition(g, mem)
	}
	var until any
	if mem.CommunicationDisabledUntil != nil {
		until = mem.CommunicationDisabledUntil.UnixMilli()
	}
	var premium any
	if mem.PremiumSince != nil {
		premium = mem.PremiumSince.UnixMilli()
	}
	roles := mem.Roles
	if roles == nil {
		roles = []string{}
	}
	user := extensions.UserData(u)
	return map[string]any{
		"id": u.ID, "nickname": nullable(mem.Nick), "displayName": display,
		"joinedTimestamp": mem.JoinedAt.UnixMilli(), "premiumSinceTimestamp": premium, "pending": mem.Pending,
		"communicationDisabledUntil": until, "roles": roles, "user": user, "avatarURL": user["avatarURL"],
		"kickable":   manageable && botPerms&discordgo.PermissionKickMembers != 0,
		"bannable":   manageable && botPerms&discordgo.PermissionBanMembers != 0,
		"manageable": manageable, "isOwner": isOwner,
	}
}

func topPosition(g *discordgo.Guild, mem *discordgo.Member) int {
	top := 0
	for _, r := range g.Roles {
		for _, id := range mem.Roles {
			if r.ID == id && r.Position > top {
				top = r.Position
			}
		}
	}
	return top
}

// memberPermissions is Discord's guild-level permission computation.
func memberPermissions(g *discordgo.Guild, mem *discordgo.Member) int64 {
	if mem.User != nil && mem.User.ID == g.OwnerID {
		return discordgo.PermissionAll
	}
	var perms int64
	for _, r := range g.Roles {
		if r.ID == g.ID {
			perms |= r.Permissions
		}
		for _, id := range mem.Roles {
			if r.ID == id {
				perms |= r.Permissions
			}
		}
	}
	if perms&discordgo.PermissionAdministrator != 0 {
		return discordgo.PermissionAll
	}
	return perms
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
