package discordtest

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/bwmarrin/discordgo"
)

// newThreadLocked creates a thread under parent; id may be a starter
// message's id (threads from messages share it). The creator joins it.
func (s *Server) newThreadLocked(g *guild, parent *channel, id, name string, typ discordgo.ChannelType, owner string, autoArchive int) *channel {
	if id == "" {
		id = s.ids.next()
	}
	if autoArchive == 0 {
		autoArchive = 4320
	}
	now := time.Now().UTC()
	t := &channel{
		id: id, guildID: g.id, name: name, typ: typ, parentID: parent.id, threadOwner: owner,
		autoArchive: autoArchive, archivedAt: now, createdAt: now, threadMember: map[string]time.Time{owner: now},
	}
	s.st.channels[t.id] = t
	g.channelIDs = append(g.channelIDs, t.id)
	return t
}

// threadCreatedLocked dispatches THREAD_CREATE and emits the event.
func (s *Server) threadCreatedLocked(g *guild, t *channel, actor string) {
	w := s.wireChannelLocked(t)
	s.dispatchLocked(gwEvent{name: "THREAD_CREATE", guildID: g.id, intent: discordgo.IntentGuilds,
		data: mustJSON(struct {
			wireChannel
			NewlyCreated bool `json:"newly_created"`
		}{w, true})})
	s.emitLocked(Event{Kind: KindThreadCreate, GuildID: g.id, ChannelID: t.id, ActorID: actor, Detail: t.name})
}

type threadStart struct {
	Name                string           `json:"name"`
	Type                int              `json:"type"`
	AutoArchiveDuration int              `json:"auto_archive_duration"`
	RateLimitPerUser    int              `json:"rate_limit_per_user"`
	Message             *json.RawMessage `json:"message"`
}

func (ts *threadStart) check() error {
	if ts.Name == "" || len(ts.Name) > 100 {
		return formError("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
	}
	switch ts.AutoArchiveDuration {
	case 0, 60, 1440, 4320, 10080:
		return nil
	}
	return formError("auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}.")
}

// restStartThread starts a thread without a message, or a forum post (a
// thread with its first message) in a forum channel.
func restStartThread(s *Server, r *request) (reply, error) {
	parent, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	if g == nil || parent.isThread() || parent.typ == discordgo.ChannelTypeGuildCategory {
		return reply{}, formError("", "CHANNEL_TYPE_INVALID", "Cannot start a thread in this channel")
	}
	var ts threadStart
	if err := r.decode(&ts); err != nil {
		return reply{}, err
	}
	if err := ts.check(); err != nil {
		return reply{}, err
	}
	forum := parent.typ == discordgo.ChannelTypeGuildForum || parent.typ == discordgo.ChannelTypeGuildMedia
	if forum {
		if ts.Message == nil {
			return reply{}, formError("message", "BASE_TYPE_REQUIRED", "This field is required")
		}
		if err := g.require(s.botID, discordgo.PermissionSendMessages); err != nil {
			return reply{}, err
		}
		in, err := parseMessageInput(fieldsOf(*ts.Message), r.files)
		if err != nil {
			return reply{}, err
		}
		t := s.newThreadLocked(g, parent, "", ts.Name, discordgo.ChannelTypeGuildPublicThread, s.botID, ts.AutoArchiveDuration)
		t.slowmode = ts.RateLimitPerUser
		s.threadCreatedLocked(g, t, r.actor)
		m, err := s.postLocked(t, &message{authorID: s.botID}, in, r.actor)
		if err != nil {
			return reply{}, err
		}
		out := struct {
			wireChannel
			Message wireMessage `json:"message"`
		}{s.wireChannelLocked(t), s.wireMessageLocked(m, false)}
		return created(out)
	}
	typ := discordgo.ChannelType(ts.Type)
	if typ == 0 {
		typ = discordgo.ChannelTypeGuildPrivateThread // API v9's default
	}
	perm := int64(discordgo.PermissionCreatePrivateThreads)
	switch typ {
	case discordgo.ChannelTypeGuildPublicThread, discordgo.ChannelTypeGuildNewsThread:
		perm = discordgo.PermissionCreatePublicThreads
	case discordgo.ChannelTypeGuildPrivateThread:
	default:
		return reply{}, formError("type", "BASE_TYPE_CHOICES", "Value must be one of {10, 11, 12}.")
	}
	if err := g.require(s.botID, perm); err != nil {
		return reply{}, err
	}
	t := s.newThreadLocked(g, parent, "", ts.Name, typ, s.botID, ts.AutoArchiveDuration)
	t.slowmode = ts.RateLimitPerUser
	s.threadCreatedLocked(g, t, r.actor)
	return created(s.wireChannelLocked(t))
}

// restStartThreadFromMessage starts a public thread whose id is the
// message's id.
func restStartThreadFromMessage(s *Server, r *request) (reply, error) {
	parent, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	if g == nil || parent.isThread() {
		return reply{}, formError("", "CHANNEL_TYPE_INVALID", "Cannot start a thread in this channel")
	}
	_, m := parent.findMessage(r.params["message"])
	if m == nil {
		return reply{}, discordError(codeUnknownMessage)
	}
	if m.threadID != "" {
		return reply{}, &apiError{Status: 400, Code: 160004, Message: "A thread has already been created for this message"}
	}
	var ts threadStart
	if err := r.decode(&ts); err != nil {
		return reply{}, err
	}
	if err := ts.check(); err != nil {
		return reply{}, err
	}
	if err := g.require(s.botID, discordgo.PermissionCreatePublicThreads); err != nil {
		return reply{}, err
	}
	typ := discordgo.ChannelTypeGuildPublicThread
	if parent.typ == discordgo.ChannelTypeGuildNews {
		typ = discordgo.ChannelTypeGuildNewsThread
	}
	t := s.newThreadLocked(g, parent, m.id, ts.Name, typ, s.botID, ts.AutoArchiveDuration)
	t.slowmode = ts.RateLimitPerUser
	m.threadID = t.id
	m.flags |= int(discordgo.MessageFlagsHasThread)
	s.threadCreatedLocked(g, t, r.actor)
	s.dispatchMessageLocked("MESSAGE_UPDATE", m)
	return created(s.wireChannelLocked(t))
}

// threadList renders threads with the bot's thread member objects.
func (s *Server) threadListLocked(threads []*channel) map[string]any {
	ts, ms := []wireChannel{}, []wireThreadMember{}
	for _, t := range threads {
		ts = append(ts, s.wireChannelLocked(t))
		if at, ok := t.threadMember[s.botID]; ok {
			ms = append(ms, wireThreadMember{ID: t.id, UserID: s.botID, JoinTimestamp: timestamp(at)})
		}
	}
	return map[string]any{"threads": ts, "members": ms, "has_more": false}
}

func restActiveThreads(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	var active []*channel
	for _, c := range s.st.guildChannels(g) {
		if c.isThread() && !c.archived {
			active = append(active, c)
		}
	}
	return okJSON(s.threadListLocked(active))
}

func restChannelActiveThreads(s *Server, r *request) (reply, error) {
	return channelThreads(s, r, false)
}

func restArchivedThreads(s *Server, r *request) (reply, error) {
	return channelThreads(s, r, true)
}

// channelThreads lists a channel's active or archived threads.
func channelThreads(s *Server, r *request, archived bool) (reply, error) {
	parent, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	var out []*channel
	if g != nil {
		for _, c := range s.st.guildChannels(g) {
			if c.isThread() && c.parentID == parent.id && c.archived == archived {
				out = append(out, c)
			}
		}
	}
	return okJSON(s.threadListLocked(out))
}

// threadForBot resolves a thread channel.
func (s *Server) threadForBot(id string) (*channel, *guild, error) {
	t, g, err := s.channelForBot(id)
	if err != nil {
		return nil, nil, err
	}
	if g == nil || !t.isThread() {
		return nil, nil, formError("", "CHANNEL_TYPE_INVALID", "Not a thread")
	}
	return t, g, nil
}

func restThreadMembers(s *Server, r *request) (reply, error) {
	t, g, err := s.threadForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	ids := make([]string, 0, len(t.threadMember))
	for id := range t.threadMember {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return idLess(ids[i], ids[j]) })
	withMember := r.query.Get("with_member") == "true"
	out := []wireThreadMember{}
	for _, id := range ids {
		out = append(out, s.wireThreadMemberLocked(g, t, id, withMember))
	}
	return okJSON(out)
}

func (s *Server) wireThreadMemberLocked(g *guild, t *channel, userID string, withMember bool) wireThreadMember {
	w := wireThreadMember{ID: t.id, UserID: userID, JoinTimestamp: timestamp(t.threadMember[userID])}
	if m, ok := g.members[userID]; ok && withMember {
		wm := s.wireMemberLocked(m, true, "")
		w.Member = &wm
	}
	return w
}

func restGetThreadMember(s *Server, r *request) (reply, error) {
	t, g, err := s.threadForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	uid := r.params["user"]
	if uid == "@me" {
		uid = s.botID
	}
	if _, ok := t.threadMember[uid]; !ok {
		return reply{}, discordError(codeUnknownMember)
	}
	return okJSON(s.wireThreadMemberLocked(g, t, uid, r.query.Get("with_member") == "true"))
}

func restAddThreadMember(s *Server, r *request) (reply, error) {
	return threadMembership(s, r, true)
}

func restRemoveThreadMember(s *Server, r *request) (reply, error) {
	return threadMembership(s, r, false)
}

// threadMembership adds or removes a thread member; the bot joins or leaves
// with @me. Managing others needs MANAGE_THREADS unless adding to a thread
// the bot can send in.
func threadMembership(s *Server, r *request, add bool) (reply, error) {
	t, g, err := s.threadForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	uid := r.params["user"]
	if uid == "@me" {
		uid = s.botID
	}
	if uid != s.botID {
		if _, err := g.member(uid); err != nil {
			return reply{}, err
		}
		if !add && t.threadOwner != s.botID {
			if err := g.require(s.botID, discordgo.PermissionManageThreads); err != nil {
				return reply{}, err
			}
		}
	}
	if t.archived && !add {
		return reply{}, &apiError{Status: 400, Code: 50083, Message: "Thread is archived"}
	}
	_, had := t.threadMember[uid]
	if add == had {
		return noContent()
	}
	p := map[string]any{"id": t.id, "guild_id": g.id}
	if add {
		now := time.Now().UTC()
		t.threadMember[uid] = now
		added := map[string]any{"id": t.id, "user_id": uid, "join_timestamp": timestamp(now), "flags": 0}
		if m, ok := g.members[uid]; ok {
			added["member"] = s.wireMemberLocked(m, true, "")
		}
		p["added_members"] = []any{added}
	} else {
		delete(t.threadMember, uid)
		p["removed_member_ids"] = []string{uid}
	}
	p["member_count"] = min(len(t.threadMember), 50)
	s.dispatchMembersLocked("THREAD_MEMBERS_UPDATE", p)
	detail := "member removed"
	if add {
		detail = "member added"
		if uid == s.botID {
			s.dispatchGuildLocked("THREAD_MEMBER_UPDATE", map[string]any{
				"id": t.id, "user_id": uid, "guild_id": g.id, "join_timestamp": timestamp(t.threadMember[uid]), "flags": 0,
			})
		}
	}
	s.emitLocked(Event{Kind: KindThreadUpdate, GuildID: g.id, ChannelID: t.id, UserID: uid, ActorID: r.actor, Detail: detail})
	return noContent()
}
