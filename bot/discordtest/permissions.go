package discordtest

import (
	"math"

	"github.com/bwmarrin/discordgo"
)

// permAll is every permission bit Discord defines today (bits 0 to 52); the
// guild owner and Administrator holders have all of them.
const permAll int64 = 1<<53 - 1

// DefaultBotPermissions are the permissions of the bot's managed role in a
// new guild: wide, but without Administrator, so that Discord's permission
// and hierarchy rules apply to the bot.
const DefaultBotPermissions int64 = discordgo.PermissionViewChannel |
	discordgo.PermissionSendMessages |
	discordgo.PermissionEmbedLinks |
	discordgo.PermissionAttachFiles |
	discordgo.PermissionReadMessageHistory |
	discordgo.PermissionAddReactions |
	discordgo.PermissionManageMessages |
	discordgo.PermissionManageRoles |
	discordgo.PermissionManageChannels |
	discordgo.PermissionKickMembers |
	discordgo.PermissionBanMembers |
	discordgo.PermissionModerateMembers |
	discordgo.PermissionManageWebhooks |
	discordgo.PermissionManageThreads |
	discordgo.PermissionManageNicknames

// DefaultEveryonePermissions are the @everyone role's permissions in a new
// guild, as Discord sets them for a fresh server.
const DefaultEveryonePermissions int64 = discordgo.PermissionCreateInstantInvite |
	discordgo.PermissionAddReactions |
	discordgo.PermissionVoiceStreamVideo |
	discordgo.PermissionViewChannel |
	discordgo.PermissionSendMessages |
	discordgo.PermissionEmbedLinks |
	discordgo.PermissionAttachFiles |
	discordgo.PermissionReadMessageHistory |
	discordgo.PermissionMentionEveryone |
	discordgo.PermissionUseExternalEmojis |
	discordgo.PermissionVoiceConnect |
	discordgo.PermissionVoiceSpeak |
	discordgo.PermissionVoiceUseVAD |
	discordgo.PermissionChangeNickname |
	discordgo.PermissionUseApplicationCommands |
	discordgo.PermissionVoiceRequestToSpeak |
	discordgo.PermissionCreatePublicThreads |
	discordgo.PermissionCreatePrivateThreads |
	discordgo.PermissionUseExternalStickers |
	discordgo.PermissionSendMessagesInThreads |
	discordgo.PermissionUseEmbeddedActivities |
	discordgo.PermissionSendVoiceMessages |
	discordgo.PermissionSendPolls |
	discordgo.PermissionUseExternalApps

// MemberPermissions returns a member's guild-level permissions computed as
// Discord does: the owner has all; otherwise @everyone's permissions OR'd
// with those of every role the member has, and Administrator grants all.
// Channel permission overwrites are stored but not applied: the emulator's
// permission checks are guild-wide. Unknown guilds or members yield 0.
func (s *Server) MemberPermissions(guildID, userID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.guilds[guildID]
	if !ok {
		return 0
	}
	return g.permissions(userID)
}

// permissions implements MemberPermissions; callers hold Server.mu.
func (g *guild) permissions(userID string) int64 {
	if userID == g.ownerID {
		return permAll
	}
	m, ok := g.members[userID]
	if !ok {
		return 0
	}
	var p int64
	if everyone, ok := g.roles[g.id]; ok {
		p = everyone.perms
	}
	for _, id := range m.roles {
		if r, ok := g.roles[id]; ok {
			p |= r.perms
		}
	}
	if p&discordgo.PermissionAdministrator != 0 {
		return permAll
	}
	return p
}

// has reports whether userID holds every bit of perm in the guild.
func (g *guild) has(userID string, perm int64) bool {
	return g.permissions(userID)&perm == perm
}

// highestPosition is the position of the member's highest role (0 for
// @everyone only); the owner ranks above every role.
func (g *guild) highestPosition(userID string) int {
	if userID == g.ownerID {
		return math.MaxInt
	}
	m, ok := g.members[userID]
	if !ok {
		return 0
	}
	top := 0
	for _, id := range m.roles {
		if r, ok := g.roles[id]; ok && r.position > top {
			top = r.position
		}
	}
	return top
}

// require fails with 50013 Missing Permissions unless actor holds perm.
func (g *guild) require(actorID string, perm int64) error {
	if !g.has(actorID, perm) {
		return discordError(codeMissingPermissions)
	}
	return nil
}

// requireAbove fails with 50013 when actor may not act on target: the target
// is the owner, or the target's highest role is at or above the actor's.
func (g *guild) requireAbove(actorID, targetID string) error {
	if targetID == g.ownerID && actorID != g.ownerID {
		return discordError(codeMissingPermissions)
	}
	if actorID == g.ownerID {
		return nil
	}
	if g.highestPosition(targetID) >= g.highestPosition(actorID) {
		return discordError(codeMissingPermissions)
	}
	return nil
}

// requireRoleBelow fails with 50013 when the role is at or above the actor's
// highest role, so the actor may not manage or assign it.
func (g *guild) requireRoleBelow(actorID string, r *role) error {
	if actorID == g.ownerID {
		return nil
	}
	if r.position >= g.highestPosition(actorID) {
		return discordError(codeMissingPermissions)
	}
	return nil
}
