package discordtest

import (
	"time"

	"github.com/bwmarrin/discordgo"
)

// channelForBot resolves a channel the bot can see: 10003 if it does not
// exist, 50001 Missing Access if it is in a guild without the bot or the bot
// lacks VIEW_CHANNEL. g is nil for DM channels.
func (s *Server) channelForBot(id string) (*channel, *guild, error) {
	c, err := s.st.channel(id)
	if err != nil {
		return nil, nil, err
	}
	if c.isDM() {
		return c, nil, nil
	}
	g, ok := s.st.guilds[c.guildID]
	if !ok {
		return nil, nil, discordError(codeUnknownChannel)
	}
	if _, member := g.members[s.botID]; !member || !g.has(s.botID, discordgo.PermissionViewChannel) {
		return nil, nil, discordError(codeMissingAccess)
	}
	return c, g, nil
}

// channelEventName picks CHANNEL_* or THREAD_* for a channel.
func channelEventName(c *channel, verb string) string {
	if c.isThread() {
		return "THREAD_" + verb
	}
	return "CHANNEL_" + verb
}

func channelKind(c *channel, verb string) string {
	if c.isThread() {
		switch verb {
		case "CREATE":
			return KindThreadCreate
		case "UPDATE":
			return KindThreadUpdate
		}
	}
	switch verb {
	case "CREATE":
		return KindChannelCreate
	case "UPDATE":
		return KindChannelUpdate
	}
	return KindChannelDelete
}

func restGetChannel(s *Server, r *request) (reply, error) {
	c, _, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	return okJSON(s.wireChannelLocked(c))
}

func restGuildChannels(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	out := []wireChannel{}
	for _, c := range s.st.guildChannels(g) {
		if !c.isThread() {
			out = append(out, s.wireChannelLocked(c))
		}
	}
	return okJSON(out)
}

// restCreateChannel creates a guild channel: MANAGE_CHANNELS.
func restCreateChannel(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	if err := g.require(s.botID, discordgo.PermissionManageChannels); err != nil {
		return reply{}, err
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	name, err := f.str("name")
	if err != nil {
		return reply{}, err
	}
	if name == "" || len(name) > 100 {
		return reply{}, formError("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
	}
	typ, err := f.integer("type")
	if err != nil {
		return reply{}, err
	}
	switch discordgo.ChannelType(typ) {
	case discordgo.ChannelTypeDM, discordgo.ChannelTypeGroupDM, discordgo.ChannelTypeGuildPublicThread,
		discordgo.ChannelTypeGuildPrivateThread, discordgo.ChannelTypeGuildNewsThread:
		return reply{}, formError("type", "BASE_TYPE_CHOICES", "Value must be one of the guild channel types.")
	}
	c := s.newGuildChannelLocked(g, name, discordgo.ChannelType(typ), "")
	if err := s.applyChannelFields(g, c, f); err != nil {
		delete(s.st.channels, c.id)
		g.channelIDs = removeString(g.channelIDs, c.id)
		return reply{}, err
	}
	w := s.wireChannelLocked(c)
	s.dispatchGuildLocked("CHANNEL_CREATE", w)
	s.emitLocked(Event{Kind: KindChannelCreate, GuildID: g.id, ChannelID: c.id, ActorID: r.actor, Detail: name})
	return created(w)
}

// applyChannelFields sets the editable attributes of a guild channel.
func (s *Server) applyChannelFields(g *guild, c *channel, f fields) error {
	var err error
	if f.has("name") {
		name, err := f.str("name")
		if err != nil {
			return err
		}
		if name == "" || len(name) > 100 {
			return formError("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		}
		c.name = name
	}
	if f.has("topic") {
		if f.null("topic") {
			c.topic = nil
		} else {
			t, err := f.str("topic")
			if err != nil {
				return err
			}
			c.topic = &t
		}
	}
	if f.has("nsfw") {
		if c.nsfw, err = f.boolean("nsfw"); err != nil {
			return err
		}
	}
	if f.has("rate_limit_per_user") {
		if c.slowmode, err = f.integer("rate_limit_per_user"); err != nil {
			return err
		}
	}
	if f.has("position") {
		if c.position, err = f.integer("position"); err != nil {
			return err
		}
	}
	if f.has("parent_id") {
		pid, err := f.str("parent_id")
		if err != nil {
			return err
		}
		if pid != "" {
			p, ok := s.st.channels[pid]
			if !ok || p.guildID != g.id || p.typ != discordgo.ChannelTypeGuildCategory {
				return formError("parent_id", "CHANNEL_PARENT_INVALID_TYPE", "Not a category")
			}
		}
		c.parentID = pid
	}
	if f.has("permission_overwrites") {
		var ows []overwrite
		if err := f.into("permission_overwrites", &ows); err != nil {
			return err
		}
		c.overwrites = ows
	}
	return nil
}

// restModifyChannel edits a guild channel (MANAGE_CHANNELS) or a thread
// (MANAGE_THREADS, or being its creator).
func restModifyChannel(s *Server, r *request) (reply, error) {
	c, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	if g == nil {
		return reply{}, discordError(codeMissingPermissions)
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	saved := *c
	saved.overwrites = append([]overwrite(nil), c.overwrites...)
	if err := s.modifyChannelLocked(g, c, f); err != nil {
		*c = saved // a refused edit changes nothing
		return reply{}, err
	}
	w := s.wireChannelLocked(c)
	s.dispatchGuildLocked(channelEventName(c, "UPDATE"), w)
	s.emitLocked(Event{Kind: channelKind(c, "UPDATE"), GuildID: g.id, ChannelID: c.id, ActorID: r.actor, Detail: c.name})
	return okJSON(w)
}

// modifyChannelLocked checks permissions and applies a channel PATCH.
func (s *Server) modifyChannelLocked(g *guild, c *channel, f fields) error {
	var err error
	if c.isThread() {
		if c.threadOwner != s.botID {
			if err := g.require(s.botID, discordgo.PermissionManageThreads); err != nil {
				return err
			}
		}
		if f.has("archived") {
			if c.archived, err = f.boolean("archived"); err != nil {
				return err
			}
			c.archivedAt = time.Now().UTC()
		}
		if f.has("locked") {
			if c.locked, err = f.boolean("locked"); err != nil {
				return err
			}
		}
		if f.has("auto_archive_duration") {
			if c.autoArchive, err = f.integer("auto_archive_duration"); err != nil {
				return err
			}
		}
		for _, k := range []string{"permission_overwrites", "parent_id", "topic"} {
			delete(f, k)
		}
	} else if err := g.require(s.botID, discordgo.PermissionManageChannels); err != nil {
		return err
	}
	return s.applyChannelFields(g, c, f)
}

// restDeleteChannel deletes a guild channel with its threads, a thread, or
// closes a DM.
func restDeleteChannel(s *Server, r *request) (reply, error) {
	c, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	w := s.wireChannelLocked(c)
	if g == nil {
		return okJSON(w) // closing a DM keeps it
	}
	perm := int64(discordgo.PermissionManageChannels)
	if c.isThread() {
		perm = discordgo.PermissionManageThreads
	}
	if err := g.require(s.botID, perm); err != nil {
		return reply{}, err
	}
	for _, t := range s.st.guildChannels(g) {
		if t.isThread() && t.parentID == c.id {
			s.deleteChannelLocked(g, t, r.actor)
		}
	}
	s.deleteChannelLocked(g, c, r.actor)
	return okJSON(w)
}

func (s *Server) deleteChannelLocked(g *guild, c *channel, actor string) {
	delete(s.st.channels, c.id)
	g.channelIDs = removeString(g.channelIDs, c.id)
	p := map[string]any{"id": c.id, "guild_id": g.id, "type": int(c.typ)}
	if c.parentID != "" {
		p["parent_id"] = c.parentID
	}
	if c.isThread() {
		s.dispatchGuildLocked("THREAD_DELETE", p)
	} else {
		s.dispatchGuildLocked("CHANNEL_DELETE", s.wireChannelLocked(c))
	}
	s.emitLocked(Event{Kind: KindChannelDelete, GuildID: g.id, ChannelID: c.id, ActorID: actor, Detail: c.name})
}

// restChannelPositions applies [{id, position, parent_id}]: MANAGE_CHANNELS.
func restChannelPositions(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	if err := g.require(s.botID, discordgo.PermissionManageChannels); err != nil {
		return reply{}, err
	}
	var moves []struct {
		ID       string  `json:"id"`
		Position *int    `json:"position"`
		ParentID *string `json:"parent_id"`
	}
	if err := r.decode(&moves); err != nil {
		return reply{}, err
	}
	for _, mv := range moves {
		c, ok := s.st.channels[mv.ID]
		if !ok || c.guildID != g.id || c.isThread() {
			return reply{}, discordError(codeUnknownChannel)
		}
		if mv.Position != nil {
			c.position = *mv.Position
		}
		if mv.ParentID != nil {
			c.parentID = *mv.ParentID
		}
		s.dispatchGuildLocked("CHANNEL_UPDATE", s.wireChannelLocked(c))
		s.emitLocked(Event{Kind: KindChannelUpdate, GuildID: g.id, ChannelID: c.id, ActorID: r.actor, Detail: "position"})
	}
	return noContent()
}

func restSetOverwrite(s *Server, r *request) (reply, error) {
	c, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	if g == nil || c.isThread() {
		return reply{}, discordError(codeMissingPermissions)
	}
	if err := g.require(s.botID, discordgo.PermissionManageRoles); err != nil {
		return reply{}, err
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	ow := overwrite{ID: r.params["target"]}
	allow, err := f.perms("allow")
	if err != nil {
		return reply{}, err
	}
	deny, err := f.perms("deny")
	if err != nil {
		return reply{}, err
	}
	if ow.Type, err = f.integer("type"); err != nil {
		return reply{}, err
	}
	ow.Allow, ow.Deny = permString(allow), permString(deny)
	replaced := false
	for i := range c.overwrites {
		if c.overwrites[i].ID == ow.ID {
			c.overwrites[i], replaced = ow, true
		}
	}
	if !replaced {
		c.overwrites = append(c.overwrites, ow)
	}
	s.dispatchGuildLocked("CHANNEL_UPDATE", s.wireChannelLocked(c))
	s.emitLocked(Event{Kind: KindChannelUpdate, GuildID: g.id, ChannelID: c.id, ActorID: r.actor, Detail: "permission overwrite"})
	return noContent()
}

func restDeleteOverwrite(s *Server, r *request) (reply, error) {
	c, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	if g == nil {
		return reply{}, discordError(codeMissingPermissions)
	}
	if err := g.require(s.botID, discordgo.PermissionManageRoles); err != nil {
		return reply{}, err
	}
	var keep []overwrite
	for _, ow := range c.overwrites {
		if ow.ID != r.params["target"] {
			keep = append(keep, ow)
		}
	}
	c.overwrites = keep
	s.dispatchGuildLocked("CHANNEL_UPDATE", s.wireChannelLocked(c))
	s.emitLocked(Event{Kind: KindChannelUpdate, GuildID: g.id, ChannelID: c.id, ActorID: r.actor, Detail: "permission overwrite"})
	return noContent()
}

func restTyping(s *Server, r *request) (reply, error) {
	if _, _, err := s.channelForBot(r.params["channel"]); err != nil {
		return reply{}, err
	}
	return noContent()
}

func restListPins(s *Server, r *request) (reply, error) {
	c, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	if g != nil && !g.has(s.botID, discordgo.PermissionReadMessageHistory) {
		return okJSON([]wireMessage{})
	}
	out := []wireMessage{}
	for i := len(c.messages) - 1; i >= 0; i-- {
		if c.messages[i].pinned {
			out = append(out, s.wireMessageLocked(c.messages[i], false))
		}
	}
	return okJSON(out)
}

func restPin(s *Server, r *request) (reply, error) { return pin(s, r, true) }

func restUnpin(s *Server, r *request) (reply, error) { return pin(s, r, false) }

// pin pins or unpins a message: MANAGE_MESSAGES in guilds.
func pin(s *Server, r *request, on bool) (reply, error) {
	c, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	if g != nil {
		if err := g.require(s.botID, discordgo.PermissionManageMessages); err != nil {
			return reply{}, err
		}
	}
	_, m := c.findMessage(r.params["message"])
	if m == nil {
		return reply{}, discordError(codeUnknownMessage)
	}
	if m.pinned == on {
		return noContent()
	}
	m.pinned = on
	now := time.Now().UTC()
	c.lastPin = &now
	p := map[string]any{"channel_id": c.id, "last_pin_timestamp": timestamp(now)}
	intent := discordgo.IntentGuilds
	if c.guildID != "" {
		p["guild_id"] = c.guildID
	} else {
		intent = discordgo.IntentDirectMessages
	}
	s.dispatchLocked(gwEvent{name: "CHANNEL_PINS_UPDATE", guildID: c.guildID, intent: intent, data: mustJSON(p)})
	s.dispatchMessageLocked("MESSAGE_UPDATE", m)
	kind := KindMessagePin
	if !on {
		kind = KindMessageUnpin
	}
	s.emitLocked(Event{Kind: kind, GuildID: c.guildID, ChannelID: c.id, UserID: m.authorID, ActorID: r.actor, Message: s.messageCopyLocked(m)})
	return noContent()
}
