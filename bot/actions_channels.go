package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
)

// channelActions: the channels, threads and webhooks modules.
func (e *Executor) channelActions() map[string]action {
	return map[string]action{
		"channels.list":        readOnlyAction(e.listChannels),
		"channels.get":         readOnlyAction(e.getChannel),
		"channels.create":      e.auditedAction(e.createChannel),
		"channels.edit":        e.auditedAction(e.editChannel),
		"channels.delete":      e.auditedAction(e.deleteChannel),
		"channels.setSlowmode": e.auditedAction(e.setSlowmode),
		"threads.create":       e.auditedAction(e.createThread),
		"threads.archive":      e.auditedAction(e.setThreadFlag(false)),
		"threads.lock":         e.auditedAction(e.setThreadFlag(true)),
		"threads.addMember":    e.auditedAction(e.threadMembership(true)),
		"threads.removeMember": e.auditedAction(e.threadMembership(false)),
		"webhooks.create":      e.auditedAction(e.createWebhook),
		"webhooks.list":        readOnlyAction(e.listWebhooks),
		"webhooks.edit":        e.auditedAction(e.editWebhook),
		"webhooks.execute":     e.auditedAction(e.executeWebhook),
		"webhooks.delete":      e.auditedAction(e.deleteWebhook),
	}
}

// channelJSON is the ChannelData shape.
type channelJSON struct {
	ID               string  `json:"id"`
	Name             string  `json:"name"`
	Type             any     `json:"type"`
	ParentID         *string `json:"parentId"`
	Topic            *string `json:"topic"`
	NSFW             bool    `json:"nsfw"`
	Position         int     `json:"position"`
	RateLimitPerUser int     `json:"rateLimitPerUser"`
}

func channelJSONOf(c *discordgo.Channel) channelJSON {
	out := channelJSON{
		ID: c.ID, Name: c.Name, Type: channelTypeName(c.Type), NSFW: c.NSFW,
		Position: c.Position, RateLimitPerUser: c.RateLimitPerUser,
	}
	if c.ParentID != "" {
		out.ParentID = &c.ParentID
	}
	if c.Topic != "" {
		out.Topic = &c.Topic
	}
	return out
}

// channelTypeName names the channel types extensions commonly meet; the
// others stay Discord's number.
func channelTypeName(t discordgo.ChannelType) any {
	switch t {
	case discordgo.ChannelTypeGuildText:
		return "text"
	case discordgo.ChannelTypeGuildVoice:
		return "voice"
	case discordgo.ChannelTypeGuildCategory:
		return "category"
	case discordgo.ChannelTypeGuildNewsThread, discordgo.ChannelTypeGuildPublicThread, discordgo.ChannelTypeGuildPrivateThread:
		return "thread"
	case discordgo.ChannelTypeGuildNews:
		return "announcement"
	case discordgo.ChannelTypeGuildForum:
		return "forum"
	}
	return int(t)
}

// webhookJSON is the WebhookData shape. It has no token: the token lets
// anyone post as the webhook and never leaves the trusted side.
type webhookJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	ChannelID string `json:"channelId"`
}

func webhookJSONOf(w *discordgo.Webhook) webhookJSON {
	return webhookJSON{ID: w.ID, Name: w.Name, ChannelID: w.ChannelID}
}

// guildChannel returns the channel id names when it belongs to o's guild.
// A channel of another guild, a DM, or one Discord does not show the bot is
// NOT_FOUND: an extension never acts outside the guild it is installed in.
// The gateway's state answers when it knows the channel (the fields the
// checks need, copied under its lock); fresh asks Discord even then, for
// the full channel.
func (e *Executor) guildChannel(ctx context.Context, call sandbox.Call, o extensions.Origin, id string, fresh bool) (*discordgo.Channel, error) {
	if err := checkSnowflake(call, "channel id", id); err != nil {
		return nil, err
	}
	notHere := sandbox.Errorf(sandbox.CodeNotFound, "%s: channel %s is not a channel of this guild", call.API.Name, id)
	if !fresh {
		if c, ok := e.stateChannel(id); ok {
			if c.GuildID != o.GuildID {
				return nil, notHere
			}
			return c, nil
		}
	}
	c, err := e.session.Channel(id, discordgo.WithContext(ctx))
	if err != nil {
		var rest *discordgo.RESTError
		if errors.As(err, &rest) && rest.Response != nil &&
			(rest.Response.StatusCode == http.StatusNotFound || rest.Response.StatusCode == http.StatusForbidden) {
			return nil, &refusal{ce: notHere, rest: rest}
		}
		return nil, discordFailure(err, "read channel "+id)
	}
	if c.GuildID != o.GuildID {
		return nil, notHere
	}
	return c, nil
}

// stateChannel copies what the checks need of a channel the gateway state
// holds. State objects are live (the gateway goroutine rewrites them under
// the state's lock), so nothing of them is kept.
func (e *Executor) stateChannel(id string) (*discordgo.Channel, bool) {
	st := e.session.State
	if st == nil {
		return nil, false
	}
	c, err := st.Channel(id)
	if err != nil {
		return nil, false
	}
	st.RLock()
	defer st.RUnlock()
	return &discordgo.Channel{ID: c.ID, GuildID: c.GuildID, Type: c.Type, ParentID: c.ParentID, Name: c.Name}, true
}

// checkName checks a name of 1 to max characters.
func checkName(call sandbox.Call, what, name string, max int) error {
	if n := utf8.RuneCountInString(name); strings.TrimSpace(name) == "" || n > max {
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: a %s name is 1 to %d characters", call.API.Name, what, max)
	}
	return nil
}

// maxTopic is Discord's limit on a text channel's topic.
const maxTopic = 1024

// listChannels: channels.list(), the guild's channels and categories.
func (e *Executor) listChannels(ctx context.Context, _ sandbox.Call, o extensions.Origin, _ *string) (any, error) {
	cs, err := e.session.GuildChannels(o.GuildID, discordgo.WithContext(ctx))
	if err != nil {
		return nil, discordFailure(err, "list the guild's channels")
	}
	out := make([]channelJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, channelJSONOf(c))
	}
	return out, nil
}

// getChannel: channels.get(channelId).
func (e *Executor) getChannel(ctx context.Context, call sandbox.Call, o extensions.Origin, _ *string) (any, error) {
	var channelID string
	if err := decodeArgs(call, &channelID); err != nil {
		return nil, err
	}
	c, err := e.guildChannel(ctx, call, o, channelID, true)
	if err != nil {
		return nil, err
	}
	return channelJSONOf(c), nil
}

// createChannel: channels.create({name, type?, parentId?, topic?}), a
// text (the default), voice or category channel.
func (e *Executor) createChannel(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var spec struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		ParentID string `json:"parentId"`
		Topic    string `json:"topic"`
	}
	if err := decodeArgs(call, &spec); err != nil {
		return nil, err
	}
	*target = "new channel:" + short(spec.Name)
	if err := requirePerm(o, discordgo.PermissionManageChannels, "Manage Channels"); err != nil {
		return nil, err
	}
	if err := checkName(call, "channel", spec.Name, 100); err != nil {
		return nil, err
	}
	var typ discordgo.ChannelType
	switch spec.Type {
	case "", "text":
		typ = discordgo.ChannelTypeGuildText
	case "voice":
		typ = discordgo.ChannelTypeGuildVoice
	case "category":
		typ = discordgo.ChannelTypeGuildCategory
	default:
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "channels.create makes text, voice or category channels, not %q", short(spec.Type))
	}
	switch {
	case spec.Topic != "" && typ != discordgo.ChannelTypeGuildText:
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "channels.create: only text channels have a topic")
	case utf8.RuneCountInString(spec.Topic) > maxTopic:
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "channels.create: a topic is at most %d characters", maxTopic)
	case spec.ParentID != "" && typ == discordgo.ChannelTypeGuildCategory:
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "channels.create: a category cannot be inside another category")
	}
	if spec.ParentID != "" {
		if err := e.checkCategory(ctx, call, o, spec.ParentID); err != nil {
			return nil, err
		}
	}
	c, err := e.session.GuildChannelCreateComplex(o.GuildID, discordgo.GuildChannelCreateData{
		Name: spec.Name, Type: typ, Topic: spec.Topic, ParentID: spec.ParentID,
	}, discordgo.WithContext(ctx), auditReason(o, ""))
	if err != nil {
		return nil, discordFailure(err, "create the channel")
	}
	*target = "channel:" + c.ID + " name:" + short(c.Name)
	return channelJSONOf(c), nil
}

// checkCategory checks that id is a category of o's guild.
func (e *Executor) checkCategory(ctx context.Context, call sandbox.Call, o extensions.Origin, id string) error {
	p, err := e.guildChannel(ctx, call, o, id, false)
	if err != nil {
		return err
	}
	if p.Type != discordgo.ChannelTypeGuildCategory {
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: parentId %s is not a category", call.API.Name, id)
	}
	return nil
}

// editChannel: channels.edit(channelId, {name?, topic?, parentId?, nsfw?});
// a null topic or parentId clears it.
func (e *Executor) editChannel(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var channelID string
	var changes map[string]json.RawMessage
	if err := decodeArgs(call, &channelID, &changes); err != nil {
		return nil, err
	}
	*target = "channel:" + channelID
	if err := requirePerm(o, discordgo.PermissionManageChannels, "Manage Channels"); err != nil {
		return nil, err
	}
	if _, err := e.guildChannel(ctx, call, o, channelID, false); err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "channels.edit needs a change: name, topic, parentId or nsfw")
	}
	keys := make([]string, 0, len(changes))
	for k := range changes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	body := map[string]any{}
	for _, k := range keys {
		v := changes[k]
		null := string(v) == "null"
		var s string
		wrongType := sandbox.Errorf(sandbox.CodeInvalidArgument, "channels.edit: %s has the wrong type", k)
		switch k {
		case "name":
			if json.Unmarshal(v, &s) != nil || null {
				return nil, wrongType
			}
			if err := checkName(call, "channel", s, 100); err != nil {
				return nil, err
			}
			body["name"] = s
		case "topic":
			if null {
				body["topic"] = nil
				continue
			}
			if json.Unmarshal(v, &s) != nil {
				return nil, wrongType
			}
			if utf8.RuneCountInString(s) > maxTopic {
				return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "channels.edit: a topic is at most %d characters", maxTopic)
			}
			body["topic"] = s
		case "parentId":
			if !null && json.Unmarshal(v, &s) != nil {
				return nil, wrongType
			}
			if s == "" {
				body["parent_id"] = nil
				continue
			}
			if err := e.checkCategory(ctx, call, o, s); err != nil {
				return nil, err
			}
			body["parent_id"] = s
		case "nsfw":
			var b bool
			if json.Unmarshal(v, &b) != nil || null {
				return nil, wrongType
			}
			body["nsfw"] = b
		default:
			return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "channels.edit cannot change %q; it changes name, topic, parentId and nsfw", short(k))
		}
	}
	// discordgo's ChannelEdit cannot send null (to clear a topic or
	// parent), so the body is sent as it is, through the same session.
	endpoint := discordgo.EndpointChannel(channelID)
	resp, err := e.session.RequestWithBucketID(http.MethodPatch, endpoint, body, endpoint, discordgo.WithContext(ctx), auditReason(o, ""))
	if err != nil {
		return nil, discordFailure(err, "edit the channel")
	}
	var c discordgo.Channel
	if err := json.Unmarshal(resp, &c); err != nil {
		return nil, fmt.Errorf("decode the edited channel %s: %w", channelID, err)
	}
	return channelJSONOf(&c), nil
}

// deleteChannel: channels.delete(channelId).
func (e *Executor) deleteChannel(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var channelID string
	if err := decodeArgs(call, &channelID); err != nil {
		return nil, err
	}
	*target = "channel:" + channelID
	if err := requirePerm(o, discordgo.PermissionManageChannels, "Manage Channels"); err != nil {
		return nil, err
	}
	c, err := e.guildChannel(ctx, call, o, channelID, false)
	if err != nil {
		return nil, err
	}
	*target += " name:" + short(c.Name)
	if _, err := e.session.ChannelDelete(channelID, discordgo.WithContext(ctx), auditReason(o, "")); err != nil {
		return nil, discordFailure(err, "delete the channel")
	}
	return succeeded, nil
}

// maxSlowmode is Discord's longest slowmode, in seconds (6 hours).
const maxSlowmode = 21600

// setSlowmode: channels.setSlowmode(channelId, seconds).
func (e *Executor) setSlowmode(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var channelID string
	seconds := -1 // left out: refused below
	if err := decodeArgs(call, &channelID, &seconds); err != nil {
		return nil, err
	}
	*target = fmt.Sprintf("channel:%s seconds:%d", channelID, seconds)
	if err := requirePerm(o, discordgo.PermissionManageChannels, "Manage Channels"); err != nil {
		return nil, err
	}
	if seconds < 0 || seconds > maxSlowmode {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "channels.setSlowmode needs seconds from 0 to %d", maxSlowmode)
	}
	if _, err := e.guildChannel(ctx, call, o, channelID, false); err != nil {
		return nil, err
	}
	c, err := e.session.ChannelEdit(channelID, &discordgo.ChannelEdit{RateLimitPerUser: &seconds}, discordgo.WithContext(ctx), auditReason(o, ""))
	if err != nil {
		return nil, discordFailure(err, "set the channel's slowmode")
	}
	return channelJSONOf(c), nil
}

// createThread: threads.create(channelId, {name, messageId?,
// autoArchiveMinutes?}), a public thread from a message or standalone.
func (e *Executor) createThread(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var channelID string
	var spec struct {
		Name               string `json:"name"`
		MessageID          string `json:"messageId"`
		AutoArchiveMinutes int    `json:"autoArchiveMinutes"`
	}
	if err := decodeArgs(call, &channelID, &spec); err != nil {
		return nil, err
	}
	*target = "channel:" + channelID
	if spec.MessageID != "" {
		*target += " message:" + spec.MessageID
	}
	if err := requirePerm(o, discordgo.PermissionManageThreads, "Manage Threads"); err != nil {
		return nil, err
	}
	if err := checkName(call, "thread", spec.Name, 100); err != nil {
		return nil, err
	}
	switch spec.AutoArchiveMinutes {
	case 0, 60, 1440, 4320, 10080:
	default:
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "threads.create: autoArchiveMinutes is 60, 1440, 4320 or 10080")
	}
	parent, err := e.guildChannel(ctx, call, o, channelID, false)
	if err != nil {
		return nil, err
	}
	typ := discordgo.ChannelTypeGuildPublicThread
	switch parent.Type {
	case discordgo.ChannelTypeGuildText:
	case discordgo.ChannelTypeGuildNews:
		typ = discordgo.ChannelTypeGuildNewsThread
	default:
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "threads.create starts threads in text and announcement channels; channel %s is not one", channelID)
	}
	start := &discordgo.ThreadStart{Name: spec.Name, AutoArchiveDuration: spec.AutoArchiveMinutes}
	var t *discordgo.Channel
	if spec.MessageID != "" {
		if err := checkSnowflake(call, "messageId", spec.MessageID); err != nil {
			return nil, err
		}
		t, err = e.session.MessageThreadStartComplex(channelID, spec.MessageID, start, discordgo.WithContext(ctx), auditReason(o, ""))
	} else {
		start.Type = typ
		t, err = e.session.ThreadStartComplex(channelID, start, discordgo.WithContext(ctx), auditReason(o, ""))
	}
	if err != nil {
		return nil, discordFailure(err, "start the thread")
	}
	*target += " thread:" + t.ID
	return channelJSONOf(t), nil
}

// guildThread checks that id is a thread of o's guild.
func (e *Executor) guildThread(ctx context.Context, call sandbox.Call, o extensions.Origin, id string) error {
	t, err := e.guildChannel(ctx, call, o, id, false)
	if err != nil {
		return err
	}
	if !t.IsThread() {
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: channel %s is not a thread", call.API.Name, id)
	}
	return nil
}

// setThreadFlag: threads.archive(threadId, archived?) and
// threads.lock(threadId, locked?); the flag defaults to true.
func (e *Executor) setThreadFlag(lock bool) stepFunc {
	return func(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
		var threadID string
		on := true
		if err := decodeArgs(call, &threadID, &on); err != nil {
			return nil, err
		}
		*target = fmt.Sprintf("thread:%s %t", threadID, on)
		if err := requirePerm(o, discordgo.PermissionManageThreads, "Manage Threads"); err != nil {
			return nil, err
		}
		if err := e.guildThread(ctx, call, o, threadID); err != nil {
			return nil, err
		}
		edit := &discordgo.ChannelEdit{Archived: &on}
		if lock {
			edit = &discordgo.ChannelEdit{Locked: &on}
		}
		t, err := e.session.ChannelEdit(threadID, edit, discordgo.WithContext(ctx), auditReason(o, ""))
		if err != nil {
			return nil, discordFailure(err, "change the thread")
		}
		return channelJSONOf(t), nil
	}
}

// threadMembership: threads.addMember and threads.removeMember(threadId,
// userId).
func (e *Executor) threadMembership(add bool) stepFunc {
	return func(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
		var threadID, userID string
		if err := decodeArgs(call, &threadID, &userID); err != nil {
			return nil, err
		}
		*target = "thread:" + threadID + " user:" + userID
		if err := requirePerm(o, discordgo.PermissionManageThreads, "Manage Threads"); err != nil {
			return nil, err
		}
		if err := checkSnowflake(call, "user id", userID); err != nil {
			return nil, err
		}
		if err := e.guildThread(ctx, call, o, threadID); err != nil {
			return nil, err
		}
		var err error
		if add {
			err = e.session.ThreadMemberAdd(threadID, userID, discordgo.WithContext(ctx))
		} else {
			err = e.session.ThreadMemberRemove(threadID, userID, discordgo.WithContext(ctx))
		}
		if err != nil {
			return nil, discordFailure(err, "change the thread's members")
		}
		return succeeded, nil
	}
}

// guildWebhook reads a webhook, NOT_FOUND unless it belongs to o's guild.
// Its token stays on this side.
func (e *Executor) guildWebhook(ctx context.Context, call sandbox.Call, o extensions.Origin, id string) (*discordgo.Webhook, error) {
	if err := checkSnowflake(call, "webhook id", id); err != nil {
		return nil, err
	}
	w, err := e.session.Webhook(id, discordgo.WithContext(ctx))
	if err != nil {
		return nil, discordFailure(err, "read webhook "+id)
	}
	if w.GuildID != o.GuildID {
		return nil, sandbox.Errorf(sandbox.CodeNotFound, "%s: webhook %s is not a webhook of this guild", call.API.Name, id)
	}
	return w, nil
}

// maxWebhookName is Discord's limit on a webhook's name.
const maxWebhookName = 80

// createWebhook: webhooks.create(channelId, {name}).
func (e *Executor) createWebhook(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var channelID string
	var spec struct {
		Name string `json:"name"`
	}
	if err := decodeArgs(call, &channelID, &spec); err != nil {
		return nil, err
	}
	*target = "channel:" + channelID + " name:" + short(spec.Name)
	if err := requirePerm(o, discordgo.PermissionManageWebhooks, "Manage Webhooks"); err != nil {
		return nil, err
	}
	if err := checkName(call, "webhook", spec.Name, maxWebhookName); err != nil {
		return nil, err
	}
	if _, err := e.guildChannel(ctx, call, o, channelID, false); err != nil {
		return nil, err
	}
	w, err := e.session.WebhookCreate(channelID, spec.Name, "", discordgo.WithContext(ctx), auditReason(o, ""))
	if err != nil {
		return nil, discordFailure(err, "create the webhook")
	}
	*target = "webhook:" + w.ID + " " + *target
	return webhookJSONOf(w), nil
}

// listWebhooks: webhooks.list(channelId?), a channel's webhooks or the
// guild's.
func (e *Executor) listWebhooks(ctx context.Context, call sandbox.Call, o extensions.Origin, _ *string) (any, error) {
	var channelID string
	if err := decodeArgs(call, &channelID); err != nil {
		return nil, err
	}
	if err := requirePerm(o, discordgo.PermissionManageWebhooks, "Manage Webhooks"); err != nil {
		return nil, err
	}
	var ws []*discordgo.Webhook
	var err error
	if channelID != "" {
		if _, err := e.guildChannel(ctx, call, o, channelID, false); err != nil {
			return nil, err
		}
		ws, err = e.session.ChannelWebhooks(channelID, discordgo.WithContext(ctx))
	} else {
		ws, err = e.session.GuildWebhooks(o.GuildID, discordgo.WithContext(ctx))
	}
	if err != nil {
		return nil, discordFailure(err, "list the webhooks")
	}
	out := make([]webhookJSON, 0, len(ws))
	for _, w := range ws {
		if w.GuildID == o.GuildID {
			out = append(out, webhookJSONOf(w))
		}
	}
	return out, nil
}

// editWebhook: webhooks.edit(webhookId, {name?, channelId?}).
func (e *Executor) editWebhook(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var webhookID string
	var changes struct {
		Name      string `json:"name"`
		ChannelID string `json:"channelId"`
	}
	if err := decodeArgs(call, &webhookID, &changes); err != nil {
		return nil, err
	}
	*target = "webhook:" + webhookID
	if err := requirePerm(o, discordgo.PermissionManageWebhooks, "Manage Webhooks"); err != nil {
		return nil, err
	}
	if changes.Name == "" && changes.ChannelID == "" {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "webhooks.edit needs a change: name or channelId")
	}
	if changes.Name != "" {
		if err := checkName(call, "webhook", changes.Name, maxWebhookName); err != nil {
			return nil, err
		}
		*target += " name:" + short(changes.Name)
	}
	if _, err := e.guildWebhook(ctx, call, o, webhookID); err != nil {
		return nil, err
	}
	if changes.ChannelID != "" {
		*target += " channel:" + changes.ChannelID
		if _, err := e.guildChannel(ctx, call, o, changes.ChannelID, false); err != nil {
			return nil, err
		}
	}
	w, err := e.session.WebhookEdit(webhookID, changes.Name, "", changes.ChannelID, discordgo.WithContext(ctx), auditReason(o, ""))
	if err != nil {
		return nil, discordFailure(err, "edit the webhook")
	}
	return webhookJSONOf(w), nil
}

// executeWebhook: webhooks.execute(webhookId, payload), posting through a
// webhook of this guild under its name or the payload's username.
func (e *Executor) executeWebhook(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var webhookID string
	var raw json.RawMessage
	if err := decodeArgs(call, &webhookID, &raw); err != nil {
		return nil, err
	}
	*target = "webhook:" + webhookID
	if err := requirePerm(o, discordgo.PermissionManageWebhooks, "Manage Webhooks"); err != nil {
		return nil, err
	}
	m, err := e.checkPayload(call, o, raw, false)
	if err != nil {
		return nil, err
	}
	if m.given["username"] {
		if err := checkName(call, "webhook user", m.Username, maxWebhookName); err != nil {
			return nil, err
		}
	}
	w, err := e.guildWebhook(ctx, call, o, webhookID)
	if err != nil {
		return nil, err
	}
	*target += " channel:" + w.ChannelID
	if w.Token == "" {
		return nil, sandbox.Errorf(sandbox.CodeForbidden, "webhooks.execute: webhook %s cannot be used to post (Discord gives skybot no token for it)", webhookID)
	}
	msg, err := e.session.WebhookExecute(w.ID, w.Token, true, &discordgo.WebhookParams{
		Content: m.Content, Username: m.Username, Embeds: m.Embeds, Components: m.components, AllowedMentions: m.mentions,
	}, discordgo.WithContext(ctx))
	if err != nil {
		return nil, discordFailure(err, "post through the webhook")
	}
	*target += " message:" + msg.ID
	return sentMessage{ID: msg.ID, ChannelID: msg.ChannelID}, nil
}

// deleteWebhook: webhooks.delete(webhookId).
func (e *Executor) deleteWebhook(ctx context.Context, call sandbox.Call, o extensions.Origin, target *string) (any, error) {
	var webhookID string
	if err := decodeArgs(call, &webhookID); err != nil {
		return nil, err
	}
	*target = "webhook:" + webhookID
	if err := requirePerm(o, discordgo.PermissionManageWebhooks, "Manage Webhooks"); err != nil {
		return nil, err
	}
	w, err := e.guildWebhook(ctx, call, o, webhookID)
	if err != nil {
		return nil, err
	}
	*target += " name:" + short(w.Name)
	if err := e.session.WebhookDelete(webhookID, discordgo.WithContext(ctx), auditReason(o, "")); err != nil {
		return nil, discordFailure(err, "delete the webhook")
	}
	return succeeded, nil
}
