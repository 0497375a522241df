package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
)

// messageActions: the messages and reactions modules, and part B's
// message.reply.
func (e *Executor) messageActions() map[string]action {
	return map[string]action{
		"message.reply":       e.reply,
		"messages.send":       e.auditedAction(e.sendMessage),
		"messages.edit":       e.auditedAction(e.editMessage),
		"messages.get":        readOnlyAction(e.getMessage),
		"messages.history":    readOnlyAction(e.messageHistory),
		"messages.delete":     e.auditedAction(e.deleteMessage),
		"messages.bulkDelete": e.auditedAction(e.bulkDeleteMessages),
		"messages.pin":        e.auditedAction(e.pinMessage(true)),
		"messages.unpin":      e.auditedAction(e.pinMessage(false)),
		"reactions.add":       e.auditedAction(e.addReaction),
		"reactions.remove":    e.auditedAction(e.removeReaction),
		"reactions.list":      readOnlyAction(e.listReactions),
	}
}

// succeeded is the Result of an action that has nothing else to say.
var succeeded = struct {
	Success bool `json:"success"`
}{true}

// sentMessage is the SentMessage shape.
type sentMessage struct {
	ID        string `json:"id"`
	ChannelID string `json:"channelId"`
}

// msgUser is the UserData shape.
type msgUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Bot      bool   `json:"bot"`
}

func msgUserOf(u *discordgo.User) msgUser {
	if u == nil {
		return msgUser{}
	}
	return msgUser{ID: u.ID, Username: u.Username, Bot: u.Bot}
}

// messageJSON is the MessageData shape.
type messageJSON struct {
	ID               string           `json:"id"`
	ChannelID        string           `json:"channelId"`
	Content          string           `json:"content"`
	Author           msgUser          `json:"author"`
	CreatedTimestamp int64            `json:"createdTimestamp"`
	EditedTimestamp  *int64           `json:"editedTimestamp"`
	Pinned           bool             `json:"pinned"`
	Embeds           int              `json:"embeds"`
	Attachments      []attachmentJSON `json:"attachments"`
}

type attachmentJSON struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	Filename string `json:"filename"`
}

func messageJSONOf(m *discordgo.Message) messageJSON {
	out := messageJSON{
		ID: m.ID, ChannelID: m.ChannelID, Content: m.Content, Author: msgUserOf(m.Author),
		CreatedTimestamp: m.Timestamp.UnixMilli(), Pinned: m.Pinned, Embeds: len(m.Embeds),
		Attachments: make([]attachmentJSON, 0, len(m.Attachments)),
	}
	if m.EditedTimestamp != nil {
		ms := m.EditedTimestamp.UnixMilli()
		out.EditedTimestamp = &ms
	}
	for _, a := range m.Attachments {
		if a != nil {
			out.Attachments = append(out.Attachments, attachmentJSON{ID: a.ID, URL: a.URL, Filename: a.Filename})
		}
	}
	return out
}

// checkedMessage is a payload that passed checkPayload, in discordgo's
// terms.
type checkedMessage struct {
	payload
	components []discordgo.MessageComponent
	mentions   *discordgo.MessageAllowedMentions
}

// checkPayload parses and checks the payload of message.reply,
// messages.send, messages.edit and webhooks.execute: something to show
// (for an edit: something to change), content within the limit, at most 10
// embeds and only with the embed_links scope, components with their custom
// ids put behind the extension's prefix, and mentions limited to users
// (never @everyone or roles) unless the code narrows them further.
func (e *Executor) checkPayload(call sandbox.Call, o extensions.Origin, raw json.RawMessage, edit bool) (checkedMessage, error) {
	name := call.API.Name
	if len(raw) == 0 || string(raw) == "null" {
		return checkedMessage{}, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs a payload: a string or {content, embeds, components}", name)
	}
	p, err := parsePayload(raw)
	if err != nil {
		return checkedMessage{}, err
	}
	n := utf8.RuneCountInString(p.Content)
	switch {
	case edit && !p.given["content"] && !p.given["embeds"] && !p.given["components"]:
		return checkedMessage{}, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs content, embeds or components to change", name)
	case !edit && strings.TrimSpace(p.Content) == "" && len(p.Embeds) == 0 && len(p.Components) == 0:
		return checkedMessage{}, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs content, an embed or components", name)
	case n > e.maxContent:
		return checkedMessage{}, sandbox.Errorf(sandbox.CodeInvalidArgument, "message content is %d characters; the limit is %d", n, e.maxContent)
	case len(p.Embeds) > 0 && !call.Granted.Has("embed_links") && !o.Skynet:
		// SkynetBot never enforced embed_links: its 1.0 packages send
		// embeds without it (SKYEXT.md A4, part B 5).
		return checkedMessage{}, sandbox.Errorf(sandbox.CodeMissingScopes, "MISSING_SCOPES: sending embeds needs the embed_links scope")
	case len(p.Embeds) > 10:
		return checkedMessage{}, sandbox.Errorf(sandbox.CodeInvalidArgument, "a message holds at most 10 embeds")
	case slices.Contains(p.Embeds, nil):
		return checkedMessage{}, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: every embed is an object", name)
	}
	m := checkedMessage{payload: p}
	if m.components, err = extensionComponents(o, p.Components); err != nil {
		return checkedMessage{}, err
	}
	m.mentions = &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeUsers}}
	if p.AllowedMentions != nil {
		m.mentions = p.AllowedMentions
		m.mentions.Parse = onlyUserMentions(m.mentions.Parse)
		m.mentions.Roles = nil
	}
	return m, nil
}

// componentID is the custom id Discord carries for a component an
// extension sent: the extension's own id behind its prefix, by which a
// click is routed back to that extension and no other.
func componentID(o extensions.Origin, id string) string {
	return extensions.ComponentID(o.Extension, id)
}

// maxCustomID is Discord's limit on a component's custom_id.
const maxCustomID = 100

// extensionComponents checks the code's components (Discord's JSON shape:
// top-level objects with a type) and rewrites every custom_id in them, at
// any depth, through componentID.
func extensionComponents(o extensions.Origin, list []json.RawMessage) ([]discordgo.MessageComponent, error) {
	out := make([]discordgo.MessageComponent, 0, len(list))
	for i, raw := range list {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber() // numbers go back to Discord as written
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil || obj == nil {
			return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "components[%d] is not an object", i)
		}
		num, ok := obj["type"].(json.Number)
		typ, err := num.Int64()
		if !ok || err != nil || typ <= 0 {
			return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "components[%d] needs a numeric type (1 = action row)", i)
		}
		if err := rewriteCustomIDs(o, obj); err != nil {
			return nil, err
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("re-encode component %d: %w", i, err)
		}
		out = append(out, rawComponent{typ: discordgo.ComponentType(typ), raw: b})
	}
	return out, nil
}

func rewriteCustomIDs(o extensions.Origin, v any) error {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if k != "custom_id" {
				if err := rewriteCustomIDs(o, val); err != nil {
					return err
				}
				continue
			}
			id, ok := val.(string)
			if !ok || id == "" {
				return sandbox.Errorf(sandbox.CodeInvalidArgument, "a component's custom_id is a non-empty string")
			}
			full := componentID(o, id)
			if n := utf8.RuneCountInString(full); n > maxCustomID {
				return sandbox.Errorf(sandbox.CodeInvalidArgument, "custom_id %q is too long: with the extension's prefix %q it is %d characters; Discord allows %d",
					short(id), componentID(o, ""), n, maxCustomID)
			}
			x[k] = full
		}
	case []any:
		for _, val := range x {
			if err := rewriteCustomIDs(o, val); err != nil {
				return err
			}
		}
	}
	return nil
}

// rawComponent is a checked component sent to Discord as JSON.
type rawComponent struct {
	typ discordgo.ComponentType
	raw json.RawMessage
}

func (c rawComponent) MarshalJSON() ([]byte, error)  { return c.raw, nil }
func (c rawComponent) Type() discordgo.ComponentType { return c.typ }

// messageChannel checks a channel that messages.send/edit/get/history and
// reactions.* act in. Without the messages_global scope that is the
// event's channel or one the admin listed for the extension (SKYEXT.md
// A4); in every case a channel of the extension's guild.
func (e *Executor) messageChannel(ctx context.Context, call sandbox.Call, o extensions.Origin, id string) (*discordgo.Channel, error) {
	if err := checkSnowflake(call, "channel id", id); err != nil {
		return nil, err
	}
	if !call.Granted.Has("messages_global") && id != o.ChannelID && !slices.Contains(o.Channels, id) {
		return nil, sandbox.Errorf(sandbox.CodeMissingScopes,
			"MISSING_SCOPES: %s in channel %s needs the messages_global scope; without it an extension may only use the event's channel and the channels the admin listed for it",
			call.API.Name, id)
	}
	return e.guildChannel(ctx, call, o, id, false)
}

// channelMessage checks the channel (messageChannel) and the id of a
// message that messages.edit and get and reactions.* act on.
func (e *Executor) channelMessage(ctx context.Context, call sandbox.Call, o extensions.Origin, channelID, messageID string) error {
	if _, err := e.messageChannel(ctx, call, o, channelID); err != nil {
		return err
	}
	return checkSnowflake(call, "message id", messageID)
}

// managedMessage checks a message that messages.delete, pin and unpin act
// on, whoever wrote it: the member who started the run (if one did) holds
// Manage Messages, the channel is one of the guild's, the id a Discord id.
func (e *Executor) managedMessage(ctx context.Context, call sandbox.Call, o extensions.Origin, channelID, messageID string) error {
	if err := requirePerm(o, discordgo.PermissionManageMessages, "Manage Messages"); err != nil {
		return err
	}
	if _, err := e.guildChannel(ctx, call, o, channelID, false); err != nil {
		return err
	}
	return checkSnowflake(call, "message id", messageID)
}

// sendMessage: messages.send(channelId, payload).
func (e *Executor) sendMessage(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var channelID string
	var raw json.RawMessage
	if err := decodeArgs(call, &channelID, &raw); err != nil {
		return nil, err
	}
	*target = "channel:" + channelID
	if _, err := e.messageChannel(ctx, call, o, channelID); err != nil {
		return nil, err
	}
	m, err := e.checkPayload(call, o, raw, false)
	if err != nil {
		return nil, err
	}
	msg, err := e.session.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{
		Content: m.Content, Embeds: m.Embeds, Components: m.components, AllowedMentions: m.mentions,
	}, discordgo.WithContext(ctx))
	if err != nil {
		return nil, discordFailure(err, "send the message")
	}
	*target += " message:" + msg.ID
	return sentMessage{ID: msg.ID, ChannelID: msg.ChannelID}, nil
}

// editMessage: messages.edit(channelId, messageId, payload), only for
// messages skybot wrote; only the fields the payload gives change.
func (e *Executor) editMessage(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var channelID, messageID string
	var raw json.RawMessage
	if err := decodeArgs(call, &channelID, &messageID, &raw); err != nil {
		return nil, err
	}
	*target = "channel:" + channelID + " message:" + messageID
	if err := e.channelMessage(ctx, call, o, channelID, messageID); err != nil {
		return nil, err
	}
	m, err := e.checkPayload(call, o, raw, true)
	if err != nil {
		return nil, err
	}
	old, err := e.session.ChannelMessage(channelID, messageID, discordgo.WithContext(ctx))
	if err != nil {
		return nil, discordFailure(err, "read the message to edit")
	}
	self, err := e.botUserID(ctx)
	if err != nil {
		return nil, discordFailure(err, "read skybot's own user")
	}
	if old.Author == nil || old.Author.ID != self {
		return nil, sandbox.Errorf(sandbox.CodeForbidden, "messages.edit edits only messages skybot sent; message %s was written by someone else", messageID)
	}
	edit := discordgo.NewMessageEdit(channelID, messageID)
	edit.AllowedMentions = m.mentions
	if m.given["content"] {
		edit.Content = &m.Content
	}
	if m.given["embeds"] {
		embeds := append([]*discordgo.MessageEmbed{}, m.Embeds...)
		edit.Embeds = &embeds
	}
	if m.given["components"] {
		edit.Components = &m.components
	}
	msg, err := e.session.ChannelMessageEditComplex(edit, discordgo.WithContext(ctx))
	if err != nil {
		return nil, discordFailure(err, "edit the message")
	}
	return sentMessage{ID: msg.ID, ChannelID: msg.ChannelID}, nil
}

// getMessage: messages.get(channelId, messageId).
func (e *Executor) getMessage(ctx context.Context, call sandbox.Call, o extensions.Origin, _ *string) (any, error) {
	var channelID, messageID string
	if err := decodeArgs(call, &channelID, &messageID); err != nil {
		return nil, err
	}
	if err := e.channelMessage(ctx, call, o, channelID, messageID); err != nil {
		return nil, err
	}
	msg, err := e.session.ChannelMessage(channelID, messageID, discordgo.WithContext(ctx))
	if err != nil {
		return nil, discordFailure(err, "read the message")
	}
	return messageJSONOf(msg), nil
}

// messageHistory: messages.history(channelId, {limit, before}), newest
// first; limit 1 to 100, 50 when not given.
func (e *Executor) messageHistory(ctx context.Context, call sandbox.Call, o extensions.Origin, _ *string) (any, error) {
	var channelID string
	var opts struct {
		Limit  *int   `json:"limit"`
		Before string `json:"before"`
	}
	if err := decodeArgs(call, &channelID, &opts); err != nil {
		return nil, err
	}
	limit := 50
	if opts.Limit != nil {
		limit = *opts.Limit
	}
	if limit < 1 || limit > 100 {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "messages.history reads 1 to 100 messages; limit was %d", limit)
	}
	if opts.Before != "" {
		if err := checkSnowflake(call, "before", opts.Before); err != nil {
			return nil, err
		}
	}
	if _, err := e.messageChannel(ctx, call, o, channelID); err != nil {
		return nil, err
	}
	msgs, err := e.session.ChannelMessages(channelID, limit, opts.Before, "", "", discordgo.WithContext(ctx))
	if err != nil {
		return nil, discordFailure(err, "read the channel's messages")
	}
	out := make([]messageJSON, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, messageJSONOf(m))
	}
	return out, nil
}

// deleteMessage: messages.delete(channelId, messageId, {reason}).
func (e *Executor) deleteMessage(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var channelID, messageID string
	var opts struct {
		Reason string `json:"reason"`
	}
	if err := decodeArgs(call, &channelID, &messageID, &opts); err != nil {
		return nil, err
	}
	*target = "channel:" + channelID + " message:" + messageID
	if err := e.managedMessage(ctx, call, o, channelID, messageID); err != nil {
		return nil, err
	}
	err := e.session.ChannelMessageDelete(channelID, messageID, discordgo.WithContext(ctx), auditReason(o, strings.TrimSpace(opts.Reason)))
	if err != nil {
		return nil, discordFailure(err, "delete the message")
	}
	return succeeded, nil
}

// bulkDeleteAge is how old a message Discord's bulk delete still takes.
const bulkDeleteAge = 14 * 24 * time.Hour

// bulkDeleteMessages: messages.bulkDelete(channelId, messageIds), 2 to 100
// distinct messages younger than two weeks (told by their ids' time, before
// asking Discord).
func (e *Executor) bulkDeleteMessages(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var channelID string
	var ids []string
	if err := decodeArgs(call, &channelID, &ids); err != nil {
		return nil, err
	}
	*target = "channel:" + channelID + " messages:" + strings.Join(ids, ",")
	if err := requirePerm(o, discordgo.PermissionManageMessages, "Manage Messages"); err != nil {
		return nil, err
	}
	if len(ids) < 2 || len(ids) > 100 {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "messages.bulkDelete deletes 2 to 100 messages; it was given %d (use messages.delete for one)", len(ids))
	}
	cutoff := time.Now().Add(-bulkDeleteAge)
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if err := checkSnowflake(call, "message id", id); err != nil {
			return nil, err
		}
		if seen[id] {
			return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "messages.bulkDelete: message %s is listed twice", id)
		}
		seen[id] = true
		if t, err := discordgo.SnowflakeTimestamp(id); err == nil && t.Before(cutoff) {
			return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "messages.bulkDelete: message %s is older than 14 days, and Discord bulk-deletes only younger messages", id)
		}
	}
	if _, err := e.guildChannel(ctx, call, o, channelID, false); err != nil {
		return nil, err
	}
	if err := e.session.ChannelMessagesBulkDelete(channelID, ids, discordgo.WithContext(ctx), auditReason(o, "")); err != nil {
		return nil, discordFailure(err, "bulk-delete the messages")
	}
	return succeeded, nil
}

// pinMessage: messages.pin and messages.unpin(channelId, messageId).
func (e *Executor) pinMessage(pin bool) stepFunc {
	return func(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
		var channelID, messageID string
		if err := decodeArgs(call, &channelID, &messageID); err != nil {
			return nil, err
		}
		*target = "channel:" + channelID + " message:" + messageID
		if err := e.managedMessage(ctx, call, o, channelID, messageID); err != nil {
			return nil, err
		}
		var err error
		if pin {
			err = e.session.ChannelMessagePin(channelID, messageID, discordgo.WithContext(ctx), auditReason(o, ""))
		} else {
			err = e.session.ChannelMessageUnpin(channelID, messageID, discordgo.WithContext(ctx), auditReason(o, ""))
		}
		if err != nil {
			return nil, discordFailure(err, strings.TrimPrefix(call.API.Name, "messages.")+" the message")
		}
		return succeeded, nil
	}
}

// reactionArgs decodes (channelId, messageId, emoji, ...) and checks the
// channel, the message id and the emoji.
func (e *Executor) reactionArgs(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string, more ...any) (channelID, messageID, emoji string, err error) {
	if err := decodeArgs(call, append([]any{&channelID, &messageID, &emoji}, more...)...); err != nil {
		return "", "", "", err
	}
	*target = "channel:" + channelID + " message:" + messageID + " emoji:" + short(emoji)
	if err := e.channelMessage(ctx, call, o, channelID, messageID); err != nil {
		return "", "", "", err
	}
	if emoji, err = reactionEmoji(call, emoji); err != nil {
		return "", "", "", err
	}
	return channelID, messageID, emoji, nil
}

// addReaction: reactions.add(channelId, messageId, emoji).
func (e *Executor) addReaction(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	channelID, messageID, emoji, err := e.reactionArgs(ctx, call, o, target)
	if err != nil {
		return nil, err
	}
	if err := e.session.MessageReactionAdd(channelID, messageID, emoji, discordgo.WithContext(ctx)); err != nil {
		return nil, discordFailure(err, "add the reaction")
	}
	return succeeded, nil
}

// removeReaction: reactions.remove(channelId, messageId, emoji, userId?):
// skybot's own reaction, or a member's, which takes Manage Messages from
// the member who started the run, as it would in Discord.
func (e *Executor) removeReaction(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var userID string
	channelID, messageID, emoji, err := e.reactionArgs(ctx, call, o, target, &userID)
	if err != nil {
		return nil, err
	}
	who := "@me"
	if userID != "" {
		*target += " user:" + userID
		if err := checkSnowflake(call, "user id", userID); err != nil {
			return nil, err
		}
		self, err := e.botUserID(ctx)
		if err != nil {
			return nil, discordFailure(err, "read skybot's own user")
		}
		if userID != self {
			if err := requirePerm(o, discordgo.PermissionManageMessages, "Manage Messages"); err != nil {
				return nil, err
			}
			who = userID
		}
	}
	if err := e.session.MessageReactionRemove(channelID, messageID, emoji, who, discordgo.WithContext(ctx)); err != nil {
		return nil, discordFailure(err, "remove the reaction")
	}
	return succeeded, nil
}

// listReactions: reactions.list(channelId, messageId, emoji), the first
// 100 users who reacted so.
func (e *Executor) listReactions(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	channelID, messageID, emoji, err := e.reactionArgs(ctx, call, o, target)
	if err != nil {
		return nil, err
	}
	users, err := e.session.MessageReactions(channelID, messageID, emoji, 100, "", "", discordgo.WithContext(ctx))
	if err != nil {
		return nil, discordFailure(err, "list the reactions")
	}
	out := make([]msgUser, 0, len(users))
	for _, u := range users {
		out = append(out, msgUserOf(u))
	}
	return out, nil
}

// reactionEmoji turns an emoji as code writes it into the path segment of
// Discord's reaction routes: a unicode emoji as it is, a custom emoji
// (<:name:id>, <a:name:id> or name:id) as name:id. Nothing else passes, so
// that no emoji can add path segments or a query to the request.
func reactionEmoji(call sandbox.Call, s string) (string, error) {
	bad := sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: %q is not an emoji (a unicode emoji, or a custom one as <:name:id> or name:id)", call.API.Name, short(s))
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		s = strings.TrimPrefix(strings.TrimPrefix(s[1:len(s)-1], "a:"), ":")
	}
	if name, id, ok := strings.Cut(s, ":"); ok {
		if checkSnowflake(call, "emoji id", id) != nil || name == "" || len(name) > 32 {
			return "", bad
		}
		for _, r := range name {
			if r != '_' && (r > unicode.MaxASCII || !unicode.IsLetter(r) && !unicode.IsDigit(r)) {
				return "", bad
			}
		}
		return name + ":" + id, nil
	}
	if s == "" || utf8.RuneCountInString(s) > 16 || !utf8.ValidString(s) {
		return "", bad
	}
	wide := false
	for _, r := range s {
		switch {
		case r > unicode.MaxASCII:
			if unicode.IsSpace(r) || unicode.IsControl(r) {
				return "", bad
			}
			wide = true
		case r != '#' && r != '*' && (r < '0' || r > '9'): // keycaps: #️⃣ *️⃣ 1️⃣
			return "", bad
		}
	}
	if !wide {
		return "", bad
	}
	return s, nil
}
