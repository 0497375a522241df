package spec

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// gap is one known place where Discord's published description and what
// Discord does for a bot differ, for a request discordgo v0.29.0 really
// sends or a limit Discord really enforces. Every entry names the route
// (the spec's template), what it changes and why; keep the list short and
// add to it only after seeing discordgo send it.
type gap struct {
	method, route string

	query     string // an undeclared query parameter that is accepted
	emptyBody bool   // an empty body stands for {}

	// field is a body field (dotted; "[]" steps into every array element)
	// that stringInt or maxChars apply to.
	field     string
	stringInt bool // a decimal string stands for an integer
	maxChars  int  // stricter than the spec: at most this many characters

	why string
}

var gaps = gapList{
	// Bans and kicks. discordgo's helpers send no body and put their options
	// in the query, an older form the description no longer lists (its
	// README names these as known gaps). Audit-log reasons are better sent
	// with discordgo.WithAuditLogReason, delete_message_seconds in the body.
	{method: "PUT", route: "/guilds/{guild_id}/bans/{user_id}", emptyBody: true,
		why: "GuildBanCreate sends no body; the spec marks the (all-optional) body required"},
	{method: "PUT", route: "/guilds/{guild_id}/bans/{user_id}", query: "delete_message_days",
		why: "GuildBanCreate(days > 0) sends ?delete_message_days= instead of the body field"},
	{method: "PUT", route: "/guilds/{guild_id}/bans/{user_id}", query: "reason",
		why: "GuildBanCreateWithReason sends the audit-log reason as ?reason="},
	{method: "DELETE", route: "/guilds/{guild_id}/bans/{user_id}", emptyBody: true,
		why: "GuildBanDelete sends no body; the spec marks an (all-optional) body required"},
	{method: "DELETE", route: "/guilds/{guild_id}/members/{user_id}", query: "reason",
		why: "GuildMemberDeleteWithReason sends the audit-log reason as ?reason="},

	// Permission bit sets are 64-bit: Discord sends and accepts them as
	// decimal strings, discordgo marshals them with ",string", the spec
	// types them as integers.
	{method: "POST", route: "/guilds/{guild_id}/roles", field: "permissions", stringInt: true,
		why: "RoleParams.Permissions is a string"},
	{method: "PATCH", route: "/guilds/{guild_id}/roles/{role_id}", field: "permissions", stringInt: true,
		why: "RoleParams.Permissions is a string (GuildRoleEdit)"},
	{method: "POST", route: "/guilds/{guild_id}/channels", field: "permission_overwrites[].allow", stringInt: true,
		why: "PermissionOverwrite.Allow is a string"},
	{method: "POST", route: "/guilds/{guild_id}/channels", field: "permission_overwrites[].deny", stringInt: true,
		why: "PermissionOverwrite.Deny is a string"},
	{method: "PUT", route: "/applications/{application_id}/guilds/{guild_id}/commands", field: "[].default_member_permissions", stringInt: true,
		why: "ApplicationCommand.DefaultMemberPermissions is a string"},
	{method: "PUT", route: "/applications/{application_id}/commands", field: "[].default_member_permissions", stringInt: true,
		why: "ApplicationCommand.DefaultMemberPermissions is a string (global commands)"},

	// The spec allows 4000 characters of message content, the limit of
	// Nitro users; Discord refuses more than 2000 from a bot (as the spec
	// already says for webhooks and interaction responses).
	{method: "POST", route: "/channels/{channel_id}/messages", field: "content", maxChars: 2000,
		why: "a bot's message content is at most 2000 characters"},
	{method: "PATCH", route: "/channels/{channel_id}/messages/{message_id}", field: "content", maxChars: 2000,
		why: "a bot's message content is at most 2000 characters"},
}

// gapList is a list of gaps; the package's own is gaps.
type gapList []gap

// query reports whether the undeclared query parameter name is accepted.
func (gs gapList) query(method, route, name string) bool {
	for _, g := range gs {
		if g.method == method && g.route == route && g.query == name {
			return true
		}
	}
	return false
}

// emptyBody reports whether an empty body stands for {}.
func (gs gapList) emptyBody(method, route string) bool {
	for _, g := range gs {
		if g.method == method && g.route == route && g.emptyBody {
			return true
		}
	}
	return false
}

// body applies the field gaps to a JSON body: decimal strings in stringInt
// fields become numbers, and a string longer than maxChars is a problem for
// add. A body without field gaps for the route comes back unchanged and
// unparsed.
func (gs gapList) body(method, route string, body []byte, add func(part, format string, args ...any)) ([]byte, error) {
	var fields []gap
	for _, g := range gs {
		if g.method == method && g.route == route && g.field != "" {
			fields = append(fields, g)
		}
	}
	if len(fields) == 0 {
		return body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	changed := false
	for _, g := range fields {
		doc = rewriteAt(doc, splitField(g.field), func(v any) any {
			s, ok := v.(string)
			if !ok {
				return v
			}
			if n := utf8.RuneCountInString(s); g.maxChars > 0 && n > g.maxChars {
				add("body field "+g.field, "%d characters; Discord allows at most %d (%s)", n, g.maxChars, g.why)
			}
			if g.stringInt && isDecimal(s) {
				changed = true
				return json.Number(s)
			}
			return v
		})
	}
	if !changed {
		return body, nil
	}
	return json.Marshal(doc)
}

// splitField splits "a[].b" into "a", "[]", "b".
func splitField(f string) []string {
	var steps []string
	for _, s := range strings.Split(f, ".") {
		name, arr := strings.CutSuffix(s, "[]")
		if name != "" {
			steps = append(steps, name)
		}
		if arr {
			steps = append(steps, "[]")
		}
	}
	return steps
}

// rewriteAt applies fn to the values at steps below v, leaving everything
// that does not match the shape untouched.
func rewriteAt(v any, steps []string, fn func(any) any) any {
	if len(steps) == 0 {
		return fn(v)
	}
	switch x := v.(type) {
	case []any:
		if steps[0] == "[]" {
			for i := range x {
				x[i] = rewriteAt(x[i], steps[1:], fn)
			}
		}
	case map[string]any:
		if child, ok := x[steps[0]]; ok {
			x[steps[0]] = rewriteAt(child, steps[1:], fn)
		}
	}
	return v
}

func isDecimal(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
