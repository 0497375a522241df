package extensions

import (
	"fmt"
	"sort"
	"strings"

	"github.com/skyext/skybot/sandbox"
)

// TypeScript returns the declarations (.d.ts) of everything a
// handler-style extension can require: the sky module with its handler
// contexts and the 27 events, and one module per group of host APIs,
// generated from sandbox.APIs so editors autocomplete exactly what the
// sandbox allows. SkynetBot's legacy module shapes are not declared.
func TypeScript() string {
	var b strings.Builder
	b.WriteString(tsPrelude)
	b.WriteString("\n/** Every guild event sky.on accepts. */\ntype GuildEventName =\n")
	for i, name := range GuildEvents {
		sep := " |"
		if i == len(GuildEvents)-1 {
			sep = ";"
		}
		fmt.Fprintf(&b, "  | '%s'%s\n", name, strings.TrimSuffix(sep, " |"))
	}
	b.WriteString(tsSky)

	byModule := map[string][]sandbox.API{}
	for _, a := range sandbox.APIs {
		if a.Legacy || a.Module == "sky" || a.Module == "interaction" {
			continue // sky is declared above; interaction helpers come on ctx
		}
		byModule[a.Module] = append(byModule[a.Module], a)
	}
	modules := make([]string, 0, len(byModule))
	for m := range byModule {
		modules = append(modules, m)
	}
	sort.Strings(modules)
	for _, m := range modules {
		fmt.Fprintf(&b, "\ndeclare module '%s' {\n", m)
		for _, a := range byModule[m] {
			scope := "needs no scope"
			if a.Scope != "" {
				scope = "needs the `" + a.Scope + "` scope"
			}
			fmt.Fprintf(&b, "  /** %s (%s) */\n", a.Doc, scope)
			name := strings.TrimPrefix(a.Name, m+".")
			if tsReserved[name] { // a reserved word can only be exported under an alias
				fmt.Fprintf(&b, "  function %s_(%s): %s;\n  export { %s_ as %s };\n", name, a.Params, a.Returns, name, name)
				continue
			}
			fmt.Fprintf(&b, "  export function %s(%s): %s;\n", name, a.Params, a.Returns)
		}
		b.WriteString("}\n")
	}
	b.WriteString(tsPureModules)
	return b.String()
}

// tsReserved are API names that are reserved words in TypeScript.
var tsReserved = map[string]bool{"delete": true}

const tsPrelude = `// skybot extension API — generated from skybot's API table by
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
`

const tsSky = `
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
`

const tsPureModules = `
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
`
