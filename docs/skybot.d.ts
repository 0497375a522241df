// skybot extension API — generated from skybot's API table by
// "go test ./cmd/skybot -run APIDoc -update"; do not edit.
// Reference it from a handler-style .skyext with:
//   /// <reference path="skybot.d.ts" />

/** console.* writes to the extension's own log (rate-limited), which /ext logs shows. */
interface Console { log(...data: unknown[]): void; info(...data: unknown[]): void; warn(...data: unknown[]): void; error(...data: unknown[]): void }
declare var console: Console;

/** A host call's plain result. */
interface Result { success: boolean; [key: string]: unknown }
interface UserData { id: string; username: string; bot: boolean }
interface User { id: string; username: string; globalName: string | null; bot: boolean; createdTimestamp: number }
interface Member { id: string; nickname: string | null; displayName: string; joinedTimestamp: number | null; roles: string[]; user: User }
interface MemberData extends Member { communicationDisabledUntil: number | null }
interface Message { id: string; content: string; channelId: string; author: UserData | null; createdTimestamp: number; editedTimestamp: number | null; mentions: string[]; attachments: number }
interface MessageData { id: string; channelId: string; content: string; author: UserData; createdTimestamp: number; editedTimestamp: number | null; pinned: boolean; embeds: number; attachments: { id: string; url: string; filename: string }[] }
interface SentMessage { id: string; channelId: string }
interface RoleData { id: string; name: string; color: number; hexColor: string; position: number; hoist: boolean; mentionable: boolean; managed: boolean; permissions: string }
interface ChannelData { id: string; name: string; type: string | number; parentId: string | null; topic: string | null; nsfw: boolean; position: number; rateLimitPerUser: number }
interface GuildData { id: string; name: string; ownerId: string; memberCount: number; icon: string | null; systemChannelId: string | null; afkChannelId: string | null; afkTimeout: number; roleCount: number; channelCount: number }
interface WebhookData { id: string; name: string; channelId: string }
interface ModlogEntry { id: string; action: string; userId: string; actor: string; reason: string; createdAt: number }
interface BalanceChange { userId: string; previousBalance: number; newBalance: number; amount: number; reason: string }
interface Transfer { fromUserId: string; toUserId: string; amount: number; fromNewBalance: number; toNewBalance: number; reason: string }
interface Standing { userId: string; balance: number; position: number }
interface LedgerEntry { id: number; delta: number; balanceAfter: number; reason: string; actor: string; createdAt: number }
type SettingValue = string | number | boolean | string[];
interface Embed { title?: string; description?: string; url?: string; color?: number; timestamp?: string; footer?: { text: string; icon_url?: string }; image?: { url: string }; thumbnail?: { url: string }; author?: { name: string; url?: string; icon_url?: string }; fields?: { name: string; value: string; inline?: boolean }[] }
/** Discord's component JSON; custom_id values are the extension's own (skybot prefixes them). */
type Component = { type: number; [key: string]: unknown };
interface MessagePayload { content?: string; embeds?: Embed[]; components?: Component[]; allowedMentions?: { parse?: ('users')[]; users?: string[]; repliedUser?: boolean } }
interface InteractionPayload extends MessagePayload { ephemeral?: boolean }
interface ModalPayload { customId: string; title: string; components: Component[] }
interface HttpOptions { url: string; method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: unknown; timeoutMs?: number; maxBytes?: number; responseType?: 'json' | 'text'; injectSecrets?: Record<string, string> }
type HttpResponse =
  | { success: true; status: number; headers: Record<string, string | string[]>; body: string; json: any }
  | { success: false; error: string };
/** Errors a host call rejects with carry one of these codes. */
interface SkyError extends Error { code: 'MISSING_SCOPES' | 'UNKNOWN_MODULE' | 'RATE_LIMIT' | 'BUDGET_EXCEEDED' | 'NOT_FOUND' | 'FORBIDDEN' | 'INVALID_ARGUMENT' | 'TIMEOUT' | 'STORAGE_SIZE_MAX' | 'INSUFFICIENT_FUNDS' | 'INTERNAL' }

/** Every guild event sky.on accepts. */
type GuildEventName =
  | 'messageCreate'
  | 'messageUpdate'
  | 'messageDelete'
  | 'messageDeleteBulk'
  | 'messageReactionAdd'
  | 'messageReactionRemove'
  | 'messageReactionRemoveAll'
  | 'guildMemberAdd'
  | 'guildMemberRemove'
  | 'guildMemberUpdate'
  | 'guildBanAdd'
  | 'guildBanRemove'
  | 'roleCreate'
  | 'roleUpdate'
  | 'roleDelete'
  | 'channelCreate'
  | 'channelUpdate'
  | 'channelDelete'
  | 'channelPinsUpdate'
  | 'threadCreate'
  | 'threadUpdate'
  | 'threadDelete'
  | 'emojiCreate'
  | 'emojiUpdate'
  | 'emojiDelete'
  | 'guildUpdate'
  | 'voiceStateUpdate';

/** What every handler receives. */
interface BaseContext { guildId: string }
interface MessageContext extends BaseContext {
  channelId: string; message: Message; user: User & Record<string, unknown>; member?: Member;
  /** Replies to the message (messages_write). */
  reply(payload: string | MessagePayload): Promise<Result>;
}
interface PrefixContext extends MessageContext { prefix: string; key: string; suffix: string; args: string[] }
interface InteractionHelpers {
  reply(payload: string | InteractionPayload): Promise<Result>;
  defer(options?: { ephemeral?: boolean }): Promise<Result>;
  editReply(payload: string | InteractionPayload): Promise<Result>;
  followUp(payload: string | InteractionPayload): Promise<Result>;
  update(payload: string | InteractionPayload): Promise<Result>;
  showModal(modal: ModalPayload): Promise<Result>;
  respond(choices: { name: string; value: string | number }[]): Promise<Result>;
}
type OptionValue = string | number | boolean | { id: string; type: string; url?: string; name?: string };
interface CommandContext extends BaseContext, InteractionHelpers {
  channelId: string; user: User & Record<string, unknown>; member?: Member; interactionId: string;
  commandName: string; subcommand?: string; options: Record<string, OptionValue>; focused?: string;
}
interface ComponentContext extends BaseContext, InteractionHelpers {
  channelId: string; user: User & Record<string, unknown>; member?: Member; interactionId: string;
  customId: string; messageId: string; values?: string[]; fields?: Record<string, string>;
}
interface EventContext extends BaseContext {
  event: GuildEventName; data: any; channelId?: string; userId?: string; member?: Member; message?: Message;
  reply?(payload: string | MessagePayload): Promise<Result>;
}
interface ScheduleContext extends BaseContext { scheduledAt: number }
interface JobContext extends ScheduleContext { job: { key: string; payload: any } }
interface UpdateContext extends BaseContext { fromVersion: string; rollback: boolean }
type SlashOptionType = 'string' | 'integer' | 'number' | 'boolean' | 'user' | 'channel' | 'role' | 'mentionable' | 'attachment' | 'subcommand' | 'group';
interface SlashOption {
  type: SlashOptionType; name: string; description: string; required?: boolean;
  choices?: { name: string; value: string | number }[]; autocomplete?: boolean;
  minValue?: number; maxValue?: number; minLength?: number; maxLength?: number; options?: SlashOption[];
}
interface SlashCommand {
  name: string; description: string; options?: SlashOption[]; defaultMemberPermissions?: string;
  autocomplete?(ctx: CommandContext): unknown;
}
type Handler<C> = (ctx: C) => unknown;

declare module 'sky' {
  export function on(event: GuildEventName, handler: Handler<EventContext>): void;
  export function on(event: GuildEventName, options: { bots?: boolean }, handler: Handler<EventContext>): void;
  export function command(definition: SlashCommand, handler: Handler<CommandContext>): void;
  export function prefix(key: string, handler: Handler<PrefixContext>): void;
  export function keyword(words: string | string[], handler: Handler<MessageContext>): void;
  export function keyword(words: string | string[], options: { caseSensitive?: boolean }, handler: Handler<MessageContext>): void;
  /** duration: milliseconds, or "90s", "5m", "1h30m"; 1 minute to 7 days. */
  export function every(duration: number | string, handler: Handler<ScheduleContext>): void;
  /** A 5-field cron spec in UTC, or @hourly, @daily, @weekly... */
  export function cron(spec: string, handler: Handler<ScheduleContext>): void;
  export function component(customIdPrefix: string, handler: Handler<ComponentContext>): void;
  export function onJob(handler: Handler<JobContext>): void;
  export function onJob(keyPrefix: string, handler: Handler<JobContext>): void;
  export function onInstall(handler: Handler<BaseContext>): void;
  export function onUpdate(handler: Handler<UpdateContext>): void;
  export function onUninstall(handler: Handler<BaseContext & { purge: boolean }>): void;
  export function onEnable(handler: Handler<BaseContext>): void;
  export function onDisable(handler: Handler<BaseContext>): void;
  /** A durable one-shot job: 1 s to 366 days ahead; a pending job with the same key is replaced. */
  export function later(delayMs: number, key: string, payload?: any): Promise<Result>;
  export function cancel(key: string): Promise<Result>;
}

declare module 'channels' {
  /** Lists the guild's channels and categories. (needs the `channels_read` scope) */
  export function list(): Promise<ChannelData[]>;
  /** Reads one channel. (needs the `channels_read` scope) */
  export function get(channelId: string): Promise<ChannelData>;
  /** Creates a text, voice or category channel. (needs the `channels_manage` scope) */
  export function create(channel: {name: string, type?: 'text' | 'voice' | 'category', parentId?: string, topic?: string}): Promise<ChannelData>;
  /** Edits a channel's name, topic, parent or NSFW flag. (needs the `channels_manage` scope) */
  export function edit(channelId: string, changes: {name?: string, topic?: string, parentId?: string, nsfw?: boolean}): Promise<ChannelData>;
  /** Deletes a channel. (needs the `channels_manage` scope) */
  function delete_(channelId: string): Promise<Result>;
  export { delete_ as delete };
  /** Sets a channel's slowmode, 0 to 21600 seconds. (needs the `channels_manage` scope) */
  export function setSlowmode(channelId: string, seconds: number): Promise<ChannelData>;
}

declare module 'config' {
  /** Reads one setting the guild admin set for this extension (the manifest default when unset); secrets read as undefined. (needs the `config` scope) */
  export function get(key: string): Promise<SettingValue | undefined>;
  /** Reads every setting the guild admin set for this extension, without secrets. (needs the `config` scope) */
  export function getAll(): Promise<Record<string, SettingValue>>;
}

declare module 'economy' {
  /** Reads a member's balance. (needs the `economy_read` scope) */
  export function balance(userId: string): Promise<number>;
  /** Reads the top balances, highest first. (needs the `economy_read` scope) */
  export function leaderboard(limit?: number): Promise<Standing[]>;
  /** Reads a member's ledger rows, newest first. (needs the `economy_read` scope) */
  export function history(userId: string, limit?: number): Promise<LedgerEntry[]>;
  /** Adds 1 to 10000 to a member's balance; one ledger row. (needs the `economy_manage` scope) */
  export function add(userId: string, amount: number, reason?: string): Promise<BalanceChange>;
  /** Removes 1 to 10000 from a member's balance, never below zero; one ledger row. (needs the `economy_manage` scope) */
  export function remove(userId: string, amount: number, reason?: string): Promise<BalanceChange>;
  /** Sets a member's balance, 0 to 100000; one ledger row. (needs the `economy_manage` scope) */
  export function set(userId: string, amount: number, reason?: string): Promise<BalanceChange>;
  /** Moves 1 to 10000 between two members in one transaction. (needs the `economy_manage` scope) */
  export function transfer(fromId: string, toId: string, amount: number, reason?: string): Promise<Transfer>;
}

declare module 'guild' {
  /** Reads the guild's settings and counts. (needs the `guild_read` scope) */
  export function get(): Promise<GuildData>;
  /** Changes the guild's name, system channel or AFK settings. (needs the `guild_manage` scope) */
  export function edit(changes: {name?: string, systemChannelId?: string | null, afkChannelId?: string | null, afkTimeout?: number}): Promise<GuildData>;
}

declare module 'http' {
  /** HTTP to the hosts the reviewed manifest lists, through skybot's guarded client; every status resolves with success:true. (needs the `http_request` scope) */
  export function request(options: HttpOptions): Promise<HttpResponse>;
}

declare module 'members' {
  /** Reads one member. (needs the `members_read` scope) */
  export function get(userId: string): Promise<MemberData>;
  /** Finds up to 100 members whose username or nickname starts with a query. (needs the `members_read` scope) */
  export function search(query: string, limit?: number): Promise<MemberData[]>;
  /** Lists up to 1000 members in id order, after an id. (needs the `members_read` scope) */
  export function list(options?: {limit?: number, after?: string}): Promise<MemberData[]>;
  /** Sets (or, with null, clears) a member's nickname. (needs the `members_manage` scope) */
  export function setNickname(userId: string, nickname: string | null): Promise<Result>;
}

declare module 'messages' {
  /** Sends a message to a channel: the event's channel, a channel the admin listed, or any channel with messages_global. (needs the `messages_write` scope) */
  export function send(channelId: string, payload: string | MessagePayload): Promise<SentMessage>;
  /** Edits a message this extension sent. (needs the `messages_write` scope) */
  export function edit(channelId: string, messageId: string, payload: string | MessagePayload): Promise<SentMessage>;
  /** Reads one message of the event's channel (any channel with messages_global). (needs the `messages_read` scope) */
  export function get(channelId: string, messageId: string): Promise<MessageData>;
  /** Reads up to 100 recent messages of the event's channel (any channel with messages_global), newest first. (needs the `messages_read` scope) */
  export function history(channelId: string, options?: {limit?: number, before?: string}): Promise<MessageData[]>;
  /** Deletes a message. (needs the `messages_manage` scope) */
  function delete_(channelId: string, messageId: string, options?: {reason?: string}): Promise<Result>;
  export { delete_ as delete };
  /** Deletes 2 to 100 messages younger than two weeks at once. (needs the `messages_manage` scope) */
  export function bulkDelete(channelId: string, messageIds: string[]): Promise<Result>;
  /** Pins a message in its channel. (needs the `messages_manage` scope) */
  export function pin(channelId: string, messageId: string): Promise<Result>;
  /** Unpins a message. (needs the `messages_manage` scope) */
  export function unpin(channelId: string, messageId: string): Promise<Result>;
}

declare module 'moderation' {
  /** Bans a member (or any user id), deleting up to 7 days of their messages; writes the moderation log. (needs the `ban` scope) */
  export function ban(userId: string, options?: {reason?: string, deleteMessageSeconds?: number}): Promise<Result>;
  /** Lifts a ban; writes the moderation log. (needs the `ban` scope) */
  export function unban(userId: string, options?: {reason?: string}): Promise<Result>;
  /** Kicks a member; writes the moderation log. (needs the `kick` scope) */
  export function kick(userId: string, options?: {reason?: string}): Promise<Result>;
  /** Times a member out for up to 28 days; writes the moderation log. (needs the `timeout` scope) */
  export function timeout(userId: string, durationMs: number, options?: {reason?: string}): Promise<Result>;
  /** Lifts a member's timeout; writes the moderation log. (needs the `timeout` scope) */
  export function untimeout(userId: string, options?: {reason?: string}): Promise<Result>;
}

declare module 'modlog' {
  /** Reads the guild's moderation log, newest first, optionally for one user. (needs the `modlog` scope) */
  export function list(options?: {userId?: string, limit?: number}): Promise<ModlogEntry[]>;
  /** Adds an entry to the guild's moderation log (e.g. a warning). (needs the `modlog` scope) */
  export function add(entry: {action: string, userId: string, reason?: string}): Promise<ModlogEntry>;
}

declare module 'reactions' {
  /** Adds skybot's reaction to a message. (needs the `reactions` scope) */
  export function add(channelId: string, messageId: string, emoji: string): Promise<Result>;
  /** Removes a reaction: skybot's own, or a member's when userId is given. (needs the `reactions` scope) */
  export function remove(channelId: string, messageId: string, emoji: string, userId?: string): Promise<Result>;
  /** Lists the users who reacted with an emoji. (needs the `reactions` scope) */
  export function list(channelId: string, messageId: string, emoji: string): Promise<UserData[]>;
}

declare module 'roles' {
  /** Lists the guild's roles, highest first. (needs the `roles_read` scope) */
  export function list(): Promise<RoleData[]>;
  /** Reads one role. (needs the `roles_read` scope) */
  export function get(roleId: string): Promise<RoleData>;
  /** Lists a member's roles. (needs the `roles_read` scope) */
  export function ofMember(userId: string): Promise<RoleData[]>;
  /** Creates a role below skybot's own, without dangerous permissions. (needs the `roles_manage` scope) */
  export function create(role: {name: string, color?: number, hoist?: boolean, mentionable?: boolean, permissions?: string}): Promise<RoleData>;
  /** Edits a role below skybot's own. (needs the `roles_manage` scope) */
  export function edit(roleId: string, changes: {name?: string, color?: number, hoist?: boolean, mentionable?: boolean, permissions?: string}): Promise<RoleData>;
  /** Deletes a role below skybot's own. (needs the `roles_manage` scope) */
  function delete_(roleId: string): Promise<Result>;
  export { delete_ as delete };
  /** Gives a member a role below skybot's own. (needs the `roles_manage` scope) */
  export function add(userId: string, roleId: string, options?: {reason?: string}): Promise<Result>;
  /** Takes a role below skybot's own from a member. (needs the `roles_manage` scope) */
  export function remove(userId: string, roleId: string, options?: {reason?: string}): Promise<Result>;
}

declare module 'storage' {
  /** Reads a key; sees this run's own writes. (needs the `storage` scope) */
  export function get(key: string): Promise<any>;
  /** Writes a key, optionally expiring; the run's writes commit together when it ends well. (needs the `storage` scope) */
  export function set(key: string, value: any, options?: {ttlMs?: number}): Promise<void>;
  /** Deletes a key. (needs the `storage` scope) */
  function delete_(key: string): Promise<void>;
  export { delete_ as delete };
  /** Lists up to 1000 entries whose key starts with a prefix, in key order. (needs the `storage` scope) */
  export function list(prefix?: string, options?: {limit?: number}): Promise<{key: string, value: any}[]>;
  /** Adds to a numeric key atomically and returns the new value. (needs the `storage` scope) */
  export function increment(key: string, by?: number): Promise<number>;
  /** Lists the entries under a prefix with the highest numeric values. (needs the `storage` scope) */
  export function top(prefix: string, n?: number): Promise<{key: string, value: number}[]>;
}

declare module 'threads' {
  /** Starts a thread in a channel, from a message or standalone. (needs the `threads` scope) */
  export function create(channelId: string, thread: {name: string, messageId?: string, autoArchiveMinutes?: 60 | 1440 | 4320 | 10080}): Promise<ChannelData>;
  /** Archives (or, with false, unarchives) a thread. (needs the `threads` scope) */
  export function archive(threadId: string, archived?: boolean): Promise<ChannelData>;
  /** Locks (or, with false, unlocks) a thread. (needs the `threads` scope) */
  export function lock(threadId: string, locked?: boolean): Promise<ChannelData>;
  /** Adds a member to a thread. (needs the `threads` scope) */
  export function addMember(threadId: string, userId: string): Promise<Result>;
  /** Removes a member from a thread. (needs the `threads` scope) */
  export function removeMember(threadId: string, userId: string): Promise<Result>;
}

declare module 'webhooks' {
  /** Creates a webhook in a channel. (needs the `webhooks` scope) */
  export function create(channelId: string, webhook: {name: string}): Promise<WebhookData>;
  /** Lists the webhooks of a channel, or of the guild. (needs the `webhooks` scope) */
  export function list(channelId?: string): Promise<WebhookData[]>;
  /** Renames a webhook or moves it to another channel. (needs the `webhooks` scope) */
  export function edit(webhookId: string, changes: {name?: string, channelId?: string}): Promise<WebhookData>;
  /** Posts through a webhook of the guild, under the name it gives. (needs the `webhooks` scope) */
  export function execute(webhookId: string, payload: string | MessagePayload & {username?: string}): Promise<SentMessage>;
  /** Deletes a webhook. (needs the `webhooks` scope) */
  function delete_(webhookId: string): Promise<Result>;
  export { delete_ as delete };
}

declare module 'embed' {
  export const colors: Record<string, number>;
  export function create(options?: Embed): Embed;
  export function resolveColor(c: string | number | [number, number, number]): number;
}

declare module 'utils' {
  export const text: Record<string, (...args: any[]) => any>;
  export const random: Record<string, (...args: any[]) => any>;
  export const math: Record<string, (...args: any[]) => any>;
  export const array: Record<string, (...args: any[]) => any>;
  export const format: Record<string, (...args: any[]) => any>;
  export const time: Record<string, (...args: any[]) => any>;
  export const discord: Record<string, (...args: any[]) => any>;
}
