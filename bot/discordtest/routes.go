package discordtest

import "strings"

// routeTable is the REST API the emulator serves: every route skybot's
// discordgo calls use. A literal segment is listed before a parameter at the
// same place (/users/@me before /users/{user}).
func routeTable() []route {
	rt := func(method, pattern string, h handler) route {
		return route{method: method, pattern: strings.Split(strings.Trim(pattern, "/"), "/"), h: h}
	}
	token := func(r route) route { r.noAuth = true; return r }
	unchecked := func(r route) route { r.noCheck = true; return r }
	return []route{
		// Gateway discovery.
		token(unchecked(rt("GET", "/gateway", restGateway))),
		unchecked(rt("GET", "/gateway/bot", restGatewayBot)),

		// Users and DMs.
		rt("GET", "/users/@me", restGetMe),
		rt("GET", "/users/@me/guilds", restMyGuilds),
		rt("GET", "/users/@me/guilds/{guild}/member", restMyMember),
		rt("POST", "/users/@me/channels", restCreateDM),
		rt("GET", "/users/{user}", restGetUser),

		// Guilds.
		rt("GET", "/guilds/{guild}", restGetGuild),
		rt("PATCH", "/guilds/{guild}", restModifyGuild),
		rt("GET", "/guilds/{guild}/channels", restGuildChannels),
		rt("POST", "/guilds/{guild}/channels", restCreateChannel),
		rt("PATCH", "/guilds/{guild}/channels", restChannelPositions),
		rt("GET", "/guilds/{guild}/threads/active", restActiveThreads),
		rt("GET", "/guilds/{guild}/webhooks", restGuildWebhooks),

		// Members, bans, kicks.
		rt("GET", "/guilds/{guild}/members", restListMembers),
		rt("GET", "/guilds/{guild}/members/search", restSearchMembers),
		rt("PATCH", "/guilds/{guild}/members/@me", restModifyMe),
		rt("GET", "/guilds/{guild}/members/{user}", restGetMember),
		rt("PATCH", "/guilds/{guild}/members/{user}", restModifyMember),
		rt("DELETE", "/guilds/{guild}/members/{user}", restKick),
		rt("PATCH", "/guilds/{guild}/members/@me/nick", restModifyMyNick),
		rt("PUT", "/guilds/{guild}/members/{user}/roles/{role}", restAddMemberRole),
		rt("DELETE", "/guilds/{guild}/members/{user}/roles/{role}", restRemoveMemberRole),
		rt("GET", "/guilds/{guild}/bans", restListBans),
		rt("GET", "/guilds/{guild}/bans/{user}", restGetBan),
		rt("PUT", "/guilds/{guild}/bans/{user}", restBan),
		rt("DELETE", "/guilds/{guild}/bans/{user}", restUnban),

		// Roles.
		rt("GET", "/guilds/{guild}/roles", restListRoles),
		rt("POST", "/guilds/{guild}/roles", restCreateRole),
		rt("PATCH", "/guilds/{guild}/roles", restRolePositions),
		rt("GET", "/guilds/{guild}/roles/{role}", restGetRole),
		rt("PATCH", "/guilds/{guild}/roles/{role}", restModifyRole),
		rt("DELETE", "/guilds/{guild}/roles/{role}", restDeleteRole),

		// Channels, threads, pins.
		rt("GET", "/channels/{channel}", restGetChannel),
		rt("PATCH", "/channels/{channel}", restModifyChannel),
		rt("DELETE", "/channels/{channel}", restDeleteChannel),
		rt("POST", "/channels/{channel}/typing", restTyping),
		rt("GET", "/channels/{channel}/pins", restListPins),
		rt("PUT", "/channels/{channel}/pins/{message}", restPin),
		rt("DELETE", "/channels/{channel}/pins/{message}", restUnpin),
		rt("POST", "/channels/{channel}/threads", restStartThread),
		rt("GET", "/channels/{channel}/threads/active", restChannelActiveThreads),
		rt("GET", "/channels/{channel}/threads/archived/public", restArchivedThreads),
		rt("GET", "/channels/{channel}/threads/archived/private", restArchivedThreads),
		rt("GET", "/channels/{channel}/thread-members", restThreadMembers),
		rt("GET", "/channels/{channel}/thread-members/{user}", restGetThreadMember),
		rt("PUT", "/channels/{channel}/thread-members/{user}", restAddThreadMember),
		rt("DELETE", "/channels/{channel}/thread-members/{user}", restRemoveThreadMember),
		rt("PUT", "/channels/{channel}/permissions/{target}", restSetOverwrite),
		rt("DELETE", "/channels/{channel}/permissions/{target}", restDeleteOverwrite),

		// Messages and reactions.
		rt("GET", "/channels/{channel}/messages", restListMessages),
		rt("POST", "/channels/{channel}/messages", restCreateMessage),
		rt("POST", "/channels/{channel}/messages/bulk-delete", restBulkDelete),
		rt("GET", "/channels/{channel}/messages/{message}", restGetMessage),
		rt("PATCH", "/channels/{channel}/messages/{message}", restEditMessage),
		rt("DELETE", "/channels/{channel}/messages/{message}", restDeleteMessage),
		rt("POST", "/channels/{channel}/messages/{message}/threads", restStartThreadFromMessage),
		rt("DELETE", "/channels/{channel}/messages/{message}/reactions", restRemoveAllReactions),
		rt("GET", "/channels/{channel}/messages/{message}/reactions/{emoji}", restListReactions),
		rt("DELETE", "/channels/{channel}/messages/{message}/reactions/{emoji}", restRemoveEmojiReactions),
		rt("PUT", "/channels/{channel}/messages/{message}/reactions/{emoji}/@me", restAddReaction),
		rt("DELETE", "/channels/{channel}/messages/{message}/reactions/{emoji}/{user}", restRemoveReaction),

		// Webhooks, including interaction followups (/webhooks/{app}/{token}).
		rt("POST", "/channels/{channel}/webhooks", restCreateWebhook),
		rt("GET", "/channels/{channel}/webhooks", restChannelWebhooks),
		rt("GET", "/webhooks/{webhook}", restGetWebhook),
		rt("PATCH", "/webhooks/{webhook}", restModifyWebhook),
		rt("DELETE", "/webhooks/{webhook}", restDeleteWebhook),
		token(rt("GET", "/webhooks/{webhook}/{token}", restGetWebhookWithToken)),
		token(rt("PATCH", "/webhooks/{webhook}/{token}", restModifyWebhookWithToken)),
		token(rt("DELETE", "/webhooks/{webhook}/{token}", restDeleteWebhookWithToken)),
		token(rt("POST", "/webhooks/{webhook}/{token}", restExecuteWebhook)),
		token(rt("GET", "/webhooks/{webhook}/{token}/messages/{message}", restGetWebhookMessage)),
		token(rt("PATCH", "/webhooks/{webhook}/{token}/messages/{message}", restEditWebhookMessage)),
		token(rt("DELETE", "/webhooks/{webhook}/{token}/messages/{message}", restDeleteWebhookMessage)),

		// Interactions.
		token(rt("POST", "/interactions/{interaction}/{token}/callback", restInteractionCallback)),

		// Application commands.
		rt("GET", "/applications/@me", restGetApplication),
		rt("GET", "/applications/{app}/commands", restListCommands),
		rt("PUT", "/applications/{app}/commands", restOverwriteCommands),
		rt("POST", "/applications/{app}/commands", restCreateCommand),
		rt("GET", "/applications/{app}/commands/{command}", restGetCommand),
		rt("PATCH", "/applications/{app}/commands/{command}", restEditCommand),
		rt("DELETE", "/applications/{app}/commands/{command}", restDeleteCommand),
		rt("GET", "/applications/{app}/guilds/{guild}/commands", restListCommands),
		rt("PUT", "/applications/{app}/guilds/{guild}/commands", restOverwriteCommands),
		rt("POST", "/applications/{app}/guilds/{guild}/commands", restCreateCommand),
		rt("GET", "/applications/{app}/guilds/{guild}/commands/{command}", restGetCommand),
		rt("PATCH", "/applications/{app}/guilds/{guild}/commands/{command}", restEditCommand),
		rt("DELETE", "/applications/{app}/guilds/{guild}/commands/{command}", restDeleteCommand),
	}
}
