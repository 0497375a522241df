package sandbox

import (
	"slices"
	"sync"
)

// API is one host function extension code can call. Every call crosses the
// trust boundary as a request frame and is checked in the parent against
// Scope before anything happens.
type API struct {
	Name   string // as JS calls it: "module.function"
	Module string // the require() name that carries it
	Scope  string // the scope it needs; "" for none
	Doc    string // one sentence for the author docs
	// TypeScript signature pieces for the generated declarations.
	Params  string
	Returns string
	// Sync: the call returns its result directly instead of a promise
	// (SkynetBot's points methods are synchronous). The isolate's executor
	// waits for the trusted side's answer inside the slice, bounded by the
	// invocation's deadline.
	Sync bool
	// Legacy: the API belongs to a SkynetBot module shape (SKYEXT.md part
	// B) and is attached only to that module's object in legacy runs.
	Legacy bool
}

// APIs is the one table that maps every host API to its scope. The parent
// checks calls against it, the author docs and TypeScript declarations are
// generated from it, and a test calls every entry without its scope.
//
// Module names are part A's (require('roles') in a handler-style
// extension); the rows marked Legacy carry SkynetBot's shapes. Where both
// styles share a name (http.request, the interaction methods), the
// semantics are part B's, which part A adopts.
var APIs = []API{
	// messages
	{Name: "message.reply", Module: "message", Scope: "messages_write", Legacy: true,
		Doc: "Replies to the message that triggered this run, in its channel.", Params: "payload: string | MessagePayload", Returns: "Promise<Result>"},
	{Name: "messages.send", Module: "messages", Scope: "messages_write",
		Doc: "Sends a message to a channel: the event's channel, a channel the admin listed, or any channel with messages_global.", Params: "channelId: string, payload: string | MessagePayload", Returns: "Promise<SentMessage>"},
	{Name: "messages.edit", Module: "messages", Scope: "messages_write",
		Doc: "Edits a message this extension sent.", Params: "channelId: string, messageId: string, payload: string | MessagePayload", Returns: "Promise<SentMessage>"},
	{Name: "messages.get", Module: "messages", Scope: "messages_read",
		Doc: "Reads one message of the event's channel (any channel with messages_global).", Params: "channelId: string, messageId: string", Returns: "Promise<MessageData>"},
	{Name: "messages.history", Module: "messages", Scope: "messages_read",
		Doc: "Reads up to 100 recent messages of the event's channel (any channel with messages_global), newest first.", Params: "channelId: string, options?: {limit?: number, before?: string}", Returns: "Promise<MessageData[]>"},
	{Name: "messages.delete", Module: "messages", Scope: "messages_manage",
		Doc: "Deletes a message.", Params: "channelId: string, messageId: string, options?: {reason?: string}", Returns: "Promise<Result>"},
	{Name: "messages.bulkDelete", Module: "messages", Scope: "messages_manage",
		Doc: "Deletes 2 to 100 messages younger than two weeks at once.", Params: "channelId: string, messageIds: string[]", Returns: "Promise<Result>"},
	{Name: "messages.pin", Module: "messages", Scope: "messages_manage",
		Doc: "Pins a message in its channel.", Params: "channelId: string, messageId: string", Returns: "Promise<Result>"},
	{Name: "messages.unpin", Module: "messages", Scope: "messages_manage",
		Doc: "Unpins a message.", Params: "channelId: string, messageId: string", Returns: "Promise<Result>"},

	// reactions
	{Name: "reactions.add", Module: "reactions", Scope: "reactions",
		Doc: "Adds skybot's reaction to a message.", Params: "channelId: string, messageId: string, emoji: string", Returns: "Promise<Result>"},
	{Name: "reactions.remove", Module: "reactions", Scope: "reactions",
		Doc: "Removes a reaction: skybot's own, or a member's when userId is given.", Params: "channelId: string, messageId: string, emoji: string, userId?: string", Returns: "Promise<Result>"},
	{Name: "reactions.list", Module: "reactions", Scope: "reactions",
		Doc: "Lists the users who reacted with an emoji.", Params: "channelId: string, messageId: string, emoji: string", Returns: "Promise<UserData[]>"},

	// moderation
	{Name: "moderation.ban", Module: "moderation", Scope: "ban",
		Doc: "Bans a member (or any user id), deleting up to 7 days of their messages; writes the moderation log.", Params: "userId: string, options?: {reason?: string, deleteMessageSeconds?: number}", Returns: "Promise<Result>"},
	{Name: "moderation.unban", Module: "moderation", Scope: "ban",
		Doc: "Lifts a ban; writes the moderation log.", Params: "userId: string, options?: {reason?: string}", Returns: "Promise<Result>"},
	{Name: "moderation.kick", Module: "moderation", Scope: "kick",
		Doc: "Kicks a member; writes the moderation log.", Params: "userId: string, options?: {reason?: string}", Returns: "Promise<Result>"},
	{Name: "moderation.timeout", Module: "moderation", Scope: "timeout",
		Doc: "Times a member out for up to 28 days; writes the moderation log.", Params: "userId: string, durationMs: number, options?: {reason?: string}", Returns: "Promise<Result>"},
	{Name: "moderation.untimeout", Module: "moderation", Scope: "timeout",
		Doc: "Lifts a member's timeout; writes the moderation log.", Params: "userId: string, options?: {reason?: string}", Returns: "Promise<Result>"},
	{Name: "modlog.list", Module: "modlog", Scope: "modlog",
		Doc: "Reads the guild's moderation log, newest first, optionally for one user.", Params: "options?: {userId?: string, limit?: number}", Returns: "Promise<ModlogEntry[]>"},
	{Name: "modlog.add", Module: "modlog", Scope: "modlog",
		Doc: "Adds an entry to the guild's moderation log (e.g. a warning).", Params: "entry: {action: string, userId: string, reason?: string}", Returns: "Promise<ModlogEntry>"},

	// roles
	{Name: "roles.list", Module: "roles", Scope: "roles_read",
		Doc: "Lists the guild's roles, highest first.", Params: "", Returns: "Promise<RoleData[]>"},
	{Name: "roles.get", Module: "roles", Scope: "roles_read",
		Doc: "Reads one role.", Params: "roleId: string", Returns: "Promise<RoleData>"},
	{Name: "roles.ofMember", Module: "roles", Scope: "roles_read",
		Doc: "Lists a member's roles.", Params: "userId: string", Returns: "Promise<RoleData[]>"},
	{Name: "roles.create", Module: "roles", Scope: "roles_manage",
		Doc: "Creates a role below skybot's own, without dangerous permissions.", Params: "role: {name: string, color?: number, hoist?: boolean, mentionable?: boolean, permissions?: string}", Returns: "Promise<RoleData>"},
	{Name: "roles.edit", Module: "roles", Scope: "roles_manage",
		Doc: "Edits a role below skybot's own.", Params: "roleId: string, changes: {name?: string, color?: number, hoist?: boolean, mentionable?: boolean, permissions?: string}", Returns: "Promise<RoleData>"},
	{Name: "roles.delete", Module: "roles", Scope: "roles_manage",
		Doc: "Deletes a role below skybot's own.", Params: "roleId: string", Returns: "Promise<Result>"},
	{Name: "roles.add", Module: "roles", Scope: "roles_manage",
		Doc: "Gives a member a role below skybot's own.", Params: "userId: string, roleId: string, options?: {reason?: string}", Returns: "Promise<Result>"},
	{Name: "roles.remove", Module: "roles", Scope: "roles_manage",
		Doc: "Takes a role below skybot's own from a member.", Params: "userId: string, roleId: string, options?: {reason?: string}", Returns: "Promise<Result>"},

	// channels and threads
	{Name: "channels.list", Module: "channels", Scope: "channels_read",
		Doc: "Lists the guild's channels and categories.", Params: "", Returns: "Promise<ChannelData[]>"},
	{Name: "channels.get", Module: "channels", Scope: "channels_read",
		Doc: "Reads one channel.", Params: "channelId: string", Returns: "Promise<ChannelData>"},
	{Name: "channels.create", Module: "channels", Scope: "channels_manage",
		Doc: "Creates a text, voice or category channel.", Params: "channel: {name: string, type?: 'text' | 'voice' | 'category', parentId?: string, topic?: string}", Returns: "Promise<ChannelData>"},
	{Name: "channels.edit", Module: "channels", Scope: "channels_manage",
		Doc: "Edits a channel's name, topic, parent or NSFW flag.", Params: "channelId: string, changes: {name?: string, topic?: string, parentId?: string, nsfw?: boolean}", Returns: "Promise<ChannelData>"},
	{Name: "channels.delete", Module: "channels", Scope: "channels_manage",
		Doc: "Deletes a channel.", Params: "channelId: string", Returns: "Promise<Result>"},
	{Name: "channels.setSlowmode", Module: "channels", Scope: "channels_manage",
		Doc: "Sets a channel's slowmode, 0 to 21600 seconds.", Params: "channelId: string, seconds: number", Returns: "Promise<ChannelData>"},
	{Name: "threads.create", Module: "threads", Scope: "threads",
		Doc: "Starts a thread in a channel, from a message or standalone.", Params: "channelId: string, thread: {name: string, messageId?: string, autoArchiveMinutes?: 60 | 1440 | 4320 | 10080}", Returns: "Promise<ChannelData>"},
	{Name: "threads.archive", Module: "threads", Scope: "threads",
		Doc: "Archives (or, with false, unarchives) a thread.", Params: "threadId: string, archived?: boolean", Returns: "Promise<ChannelData>"},
	{Name: "threads.lock", Module: "threads", Scope: "threads",
		Doc: "Locks (or, with false, unlocks) a thread.", Params: "threadId: string, locked?: boolean", Returns: "Promise<ChannelData>"},
	{Name: "threads.addMember", Module: "threads", Scope: "threads",
		Doc: "Adds a member to a thread.", Params: "threadId: string, userId: string", Returns: "Promise<Result>"},
	{Name: "threads.removeMember", Module: "threads", Scope: "threads",
		Doc: "Removes a member from a thread.", Params: "threadId: string, userId: string", Returns: "Promise<Result>"},

	// guild and members
	{Name: "guild.get", Module: "guild", Scope: "guild_read",
		Doc: "Reads the guild's settings and counts.", Params: "", Returns: "Promise<GuildData>"},
	{Name: "guild.edit", Module: "guild", Scope: "guild_manage",
		Doc: "Changes the guild's name, system channel or AFK settings.", Params: "changes: {name?: string, systemChannelId?: string | null, afkChannelId?: string | null, afkTimeout?: number}", Returns: "Promise<GuildData>"},
	{Name: "members.get", Module: "members", Scope: "members_read",
		Doc: "Reads one member.", Params: "userId: string", Returns: "Promise<MemberData>"},
	{Name: "members.search", Module: "members", Scope: "members_read",
		Doc: "Finds up to 100 members whose username or nickname starts with a query.", Params: "query: string, limit?: number", Returns: "Promise<MemberData[]>"},
	{Name: "members.list", Module: "members", Scope: "members_read",
		Doc: "Lists up to 1000 members in id order, after an id.", Params: "options?: {limit?: number, after?: string}", Returns: "Promise<MemberData[]>"},
	{Name: "members.setNickname", Module: "members", Scope: "members_manage",
		Doc: "Sets (or, with null, clears) a member's nickname.", Params: "userId: string, nickname: string | null", Returns: "Promise<Result>"},

	// webhooks
	{Name: "webhooks.create", Module: "webhooks", Scope: "webhooks",
		Doc: "Creates a webhook in a channel.", Params: "channelId: string, webhook: {name: string}", Returns: "Promise<WebhookData>"},
	{Name: "webhooks.list", Module: "webhooks", Scope: "webhooks",
		Doc: "Lists the webhooks of a channel, or of the guild.", Params: "channelId?: string", Returns: "Promise<WebhookData[]>"},
	{Name: "webhooks.edit", Module: "webhooks", Scope: "webhooks",
		Doc: "Renames a webhook or moves it to another channel.", Params: "webhookId: string, changes: {name?: string, channelId?: string}", Returns: "Promise<WebhookData>"},
	{Name: "webhooks.execute", Module: "webhooks", Scope: "webhooks",
		Doc: "Posts through a webhook of the guild, under the name it gives.", Params: "webhookId: string, payload: string | MessagePayload & {username?: string}", Returns: "Promise<SentMessage>"},
	{Name: "webhooks.delete", Module: "webhooks", Scope: "webhooks",
		Doc: "Deletes a webhook.", Params: "webhookId: string", Returns: "Promise<Result>"},

	// economy
	{Name: "economy.balance", Module: "economy", Scope: "economy_read",
		Doc: "Reads a member's balance.", Params: "userId: string", Returns: "Promise<number>"},
	{Name: "economy.leaderboard", Module: "economy", Scope: "economy_read",
		Doc: "Reads the top balances, highest first.", Params: "limit?: number", Returns: "Promise<Standing[]>"},
	{Name: "economy.history", Module: "economy", Scope: "economy_read",
		Doc: "Reads a member's ledger rows, newest first.", Params: "userId: string, limit?: number", Returns: "Promise<LedgerEntry[]>"},
	{Name: "economy.add", Module: "economy", Scope: "economy_manage",
		Doc: "Adds 1 to 10000 to a member's balance; one ledger row.", Params: "userId: string, amount: number, reason?: string", Returns: "Promise<BalanceChange>"},
	{Name: "economy.remove", Module: "economy", Scope: "economy_manage",
		Doc: "Removes 1 to 10000 from a member's balance, never below zero; one ledger row.", Params: "userId: string, amount: number, reason?: string", Returns: "Promise<BalanceChange>"},
	{Name: "economy.set", Module: "economy", Scope: "economy_manage",
		Doc: "Sets a member's balance, 0 to 100000; one ledger row.", Params: "userId: string, amount: number, reason?: string", Returns: "Promise<BalanceChange>"},
	{Name: "economy.transfer", Module: "economy", Scope: "economy_manage",
		Doc: "Moves 1 to 10000 between two members in one transaction.", Params: "fromId: string, toId: string, amount: number, reason?: string", Returns: "Promise<Transfer>"},
	{Name: "points.getUser", Module: "points", Legacy: true, Sync: true, Scope: "members_read",
		Doc: "SkynetBot: a member's points, computed live.", Params: "userId: string", Returns: "PointsUser"},
	{Name: "points.addPoints", Module: "points", Legacy: true, Sync: true, Scope: "economy_manage",
		Doc: "SkynetBot: adds 1 to 10000 points; {success:false, error} instead of throwing.", Params: "userId: string, amount: number, reason?: string", Returns: "PointsResult"},
	{Name: "points.removePoints", Module: "points", Legacy: true, Sync: true, Scope: "economy_manage",
		Doc: "SkynetBot: removes 1 to 10000 points; {success:false, error} instead of throwing.", Params: "userId: string, amount: number, reason?: string", Returns: "PointsResult"},
	{Name: "points.transfer", Module: "points", Legacy: true, Sync: true, Scope: "economy_manage",
		Doc: "SkynetBot: moves points between two members; {success:false, error} instead of throwing.", Params: "fromId: string, toId: string, amount: number, reason?: string", Returns: "PointsResult"},
	{Name: "points.setPoints", Module: "points", Legacy: true, Sync: true, Scope: "economy_manage",
		Doc: "SkynetBot: sets a member's points, 0 to 100000; {success:false, error} instead of throwing.", Params: "userId: string, amount: number, reason?: string", Returns: "PointsResult"},

	// data
	{Name: "config.get", Module: "config", Scope: "config",
		Doc: "Reads one setting the guild admin set for this extension (the manifest default when unset); secrets read as undefined.", Params: "key: string", Returns: "Promise<SettingValue | undefined>"},
	{Name: "config.getAll", Module: "config", Scope: "config",
		Doc: "Reads every setting the guild admin set for this extension, without secrets.", Params: "", Returns: "Promise<Record<string, SettingValue>>"},
	{Name: "storage.get", Module: "storage", Scope: "storage",
		Doc: "Reads a key; sees this run's own writes.", Params: "key: string", Returns: "Promise<any>"},
	{Name: "storage.set", Module: "storage", Scope: "storage",
		Doc: "Writes a key, optionally expiring; the run's writes commit together when it ends well.", Params: "key: string, value: any, options?: {ttlMs?: number}", Returns: "Promise<void>"},
	{Name: "storage.delete", Module: "storage", Scope: "storage",
		Doc: "Deletes a key.", Params: "key: string", Returns: "Promise<void>"},
	{Name: "storage.list", Module: "storage", Scope: "storage",
		Doc: "Lists up to 1000 entries whose key starts with a prefix, in key order.", Params: "prefix?: string, options?: {limit?: number}", Returns: "Promise<{key: string, value: any}[]>"},
	{Name: "storage.increment", Module: "storage", Scope: "storage",
		Doc: "Adds to a numeric key atomically and returns the new value.", Params: "key: string, by?: number", Returns: "Promise<number>"},
	{Name: "storage.top", Module: "storage", Scope: "storage",
		Doc: "Lists the entries under a prefix with the highest numeric values.", Params: "prefix: string, n?: number", Returns: "Promise<{key: string, value: number}[]>"},
	{Name: "extension.write", Module: "extension", Legacy: true,
		Doc: "SkynetBot: extension.storage.write; takes effect at once, 25000 bytes for the whole store.", Params: "key: string, value: any", Returns: "Promise<any>"},
	{Name: "extension.delete", Module: "extension", Legacy: true,
		Doc: "SkynetBot: extension.storage.delete.", Params: "key: string", Returns: "Promise<string>"},
	{Name: "extension.clear", Module: "extension", Legacy: true,
		Doc: "SkynetBot: extension.storage.clear.", Params: "", Returns: "Promise<boolean>"},

	// network
	{Name: "http.request", Module: "http", Scope: "http_request",
		Doc: "HTTP to the hosts the reviewed manifest lists, through skybot's guarded client; every status resolves with success:true.", Params: "options: HttpOptions", Returns: "Promise<HttpResponse>"},

	// interactions (slash commands, components, modals)
	{Name: "interaction.reply", Module: "interaction",
		Doc: "Replies to the interaction, or sends a follow-up when it was already answered.", Params: "payload: string | InteractionPayload", Returns: "Promise<Result>"},
	{Name: "interaction.deferReply", Module: "interaction",
		Doc: "Acknowledges the interaction now and answers later (ephemeral with {ephemeral: true}).", Params: "options?: {ephemeral?: boolean}", Returns: "Promise<Result>"},
	{Name: "interaction.editReply", Module: "interaction",
		Doc: "Edits the original answer, or replies when there is none yet.", Params: "payload: string | InteractionPayload", Returns: "Promise<Result>"},
	{Name: "interaction.followUp", Module: "interaction",
		Doc: "Sends a follow-up, or replies when there is no answer yet.", Params: "payload: string | InteractionPayload", Returns: "Promise<Result>"},
	{Name: "interaction.update", Module: "interaction",
		Doc: "Edits the message whose component was used (components only).", Params: "payload: string | InteractionPayload", Returns: "Promise<Result>"},
	{Name: "interaction.showModal", Module: "interaction",
		Doc: "Opens a modal form; its submission comes back to this extension's component handler.", Params: "modal: ModalPayload", Returns: "Promise<Result>"},
	{Name: "interaction.respond", Module: "interaction",
		Doc: "Answers an autocomplete request with up to 25 choices.", Params: "choices: {name: string, value: string | number}[]", Returns: "Promise<Result>"},

	// schedules
	{Name: "sky.later", Module: "sky",
		Doc: "Schedules a durable one-shot job; a pending job with the same key is replaced.", Params: "delayMs: number, key: string, payload?: any", Returns: "Promise<Result>"},
	{Name: "sky.cancel", Module: "sky",
		Doc: "Cancels the pending job with a key.", Params: "key: string", Returns: "Promise<Result>"},
}

// LookupAPI returns the table entry for name.
func LookupAPI(name string) (API, bool) {
	i := slices.IndexFunc(APIs, func(a API) bool { return a.Name == name })
	if i < 0 {
		return API{}, false
	}
	return APIs[i], true
}

// moduleAPIs returns the entries of module in table order; callers must
// not modify the slice. Legacy modules are built on every event, so the
// table is grouped once.
func moduleAPIs(module string) []API { return apisByModule()[module] }

var apisByModule = sync.OnceValue(func() map[string][]API {
	m := map[string][]API{}
	for _, a := range APIs {
		m[a.Module] = append(m[a.Module], a)
	}
	return m
})

// LegacyModules are the require() names of SKYEXT.md part B 2.7. A name
// outside this list is "Unknown module"; a listed name that the current
// trigger does not provide is UNKNOWN_MODULE.
var LegacyModules = []string{
	"command", "keyword", "message", "user", "author", "member", "channel",
	"guild", "roles", "config", "bot", "moment", "utils", "embed", "extension",
	"points", "economy", "http", "interaction", "event",
}
