package discordtest

import (
	"sort"
	"strings"

	"github.com/bwmarrin/discordgo"
)

func (s *Server) dispatchWebhooksUpdateLocked(h *webhook) {
	s.dispatchLocked(gwEvent{name: "WEBHOOKS_UPDATE", guildID: h.guildID, intent: discordgo.IntentGuildWebhooks,
		data: mustJSON(map[string]string{"guild_id": h.guildID, "channel_id": h.channelID})})
}

// restCreateWebhook creates an incoming webhook: MANAGE_WEBHOOKS.
func restCreateWebhook(s *Server, r *request) (reply, error) {
	c, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	if g == nil || c.isThread() || !c.textual() {
		return reply{}, formError("", "CHANNEL_TYPE_INVALID", "Webhooks can only be created in guild text channels")
	}
	if err := g.require(s.botID, discordgo.PermissionManageWebhooks); err != nil {
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
	if name == "" || len(name) > 80 {
		return reply{}, formError("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")
	}
	if low := strings.ToLower(name); strings.Contains(low, "clyde") || strings.Contains(low, "discord") {
		return reply{}, formError("name", "USERNAME_INVALID_CONTAINS", "Username cannot contain \"clyde\" or \"discord\"")
	}
	h := &webhook{id: s.ids.next(), token: randomHex(34), guildID: g.id, channelID: c.id, name: name, creatorID: s.botID, appID: s.appID}
	s.st.webhooks[h.id] = h
	s.dispatchWebhooksUpdateLocked(h)
	s.emitLocked(Event{Kind: KindWebhookCreate, GuildID: g.id, ChannelID: c.id, ActorID: r.actor, Detail: name})
	return okJSON(s.wireWebhookLocked(h, true))
}

func restChannelWebhooks(s *Server, r *request) (reply, error) {
	c, g, err := s.channelForBot(r.params["channel"])
	if err != nil {
		return reply{}, err
	}
	if g == nil {
		return reply{}, discordError(codeMissingAccess)
	}
	if err := g.require(s.botID, discordgo.PermissionManageWebhooks); err != nil {
		return reply{}, err
	}
	return okJSON(s.webhooksLocked(g.id, c.id))
}

func restGuildWebhooks(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	if err := g.require(s.botID, discordgo.PermissionManageWebhooks); err != nil {
		return reply{}, err
	}
	return okJSON(s.webhooksLocked(g.id, ""))
}

// webhooksLocked lists a guild's webhooks, or a channel's, oldest first.
func (s *Server) webhooksLocked(guildID, channelID string) []wireWebhook {
	out := []wireWebhook{}
	for _, h := range s.sortedWebhooksLocked() {
		if h.guildID == guildID && (channelID == "" || h.channelID == channelID) {
			out = append(out, s.wireWebhookLocked(h, true))
		}
	}
	return out
}

// sortedWebhooksLocked lists all webhooks, oldest first.
func (s *Server) sortedWebhooksLocked() []*webhook {
	hs := make([]*webhook, 0, len(s.st.webhooks))
	for _, h := range s.st.webhooks {
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool { return idLess(hs[i].id, hs[j].id) })
	return hs
}

// webhookForBot resolves a webhook the bot may manage.
func (s *Server) webhookForBot(id string) (*webhook, error) {
	h, ok := s.st.webhooks[id]
	if !ok {
		return nil, discordError(codeUnknownWebhook)
	}
	g, err := s.botGuild(h.guildID)
	if err != nil {
		return nil, discordError(codeUnknownWebhook)
	}
	if err := g.require(s.botID, discordgo.PermissionManageWebhooks); err != nil {
		return nil, err
	}
	return h, nil
}

// webhookByToken resolves a webhook by id and token: 10015 or 50027.
func (s *Server) webhookByToken(id, token string) (*webhook, error) {
	h, ok := s.st.webhooks[id]
	if !ok {
		return nil, discordError(codeUnknownWebhook)
	}
	if h.token != token {
		return nil, discordError(codeInvalidWebhookToken)
	}
	return h, nil
}

func restGetWebhook(s *Server, r *request) (reply, error) {
	h, err := s.webhookForBot(r.params["webhook"])
	if err != nil {
		return reply{}, err
	}
	return okJSON(s.wireWebhookLocked(h, true))
}

func restGetWebhookWithToken(s *Server, r *request) (reply, error) {
	h, err := s.webhookByToken(r.params["webhook"], r.params["token"])
	if err != nil {
		return reply{}, err
	}
	w := s.wireWebhookLocked(h, true)
	w.User = nil
	return okJSON(w)
}

// modifyWebhookLocked applies name and channel_id.
func (s *Server) modifyWebhookLocked(h *webhook, r *request, allowChannel bool) (reply, error) {
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	if f.has("name") {
		name, err := f.str("name")
		if err != nil {
			return reply{}, err
		}
		if name == "" || len(name) > 80 {
			return reply{}, formError("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")
		}
		h.name = name
	}
	if allowChannel && f.has("channel_id") {
		cid, err := f.str("channel_id")
		if err != nil {
			return reply{}, err
		}
		c, ok := s.st.channels[cid]
		if !ok || c.guildID != h.guildID || c.isThread() {
			return reply{}, discordError(codeUnknownChannel)
		}
		h.channelID = cid
	}
	s.dispatchWebhooksUpdateLocked(h)
	return okJSON(s.wireWebhookLocked(h, true))
}

func restModifyWebhook(s *Server, r *request) (reply, error) {
	h, err := s.webhookForBot(r.params["webhook"])
	if err != nil {
		return reply{}, err
	}
	return s.modifyWebhookLocked(h, r, true)
}

func restModifyWebhookWithToken(s *Server, r *request) (reply, error) {
	h, err := s.webhookByToken(r.params["webhook"], r.params["token"])
	if err != nil {
		return reply{}, err
	}
	return s.modifyWebhookLocked(h, r, false)
}

func (s *Server) deleteWebhookLocked(h *webhook, actor string) {
	delete(s.st.webhooks, h.id)
	s.dispatchWebhooksUpdateLocked(h)
	s.emitLocked(Event{Kind: KindWebhookDelete, GuildID: h.guildID, ChannelID: h.channelID, ActorID: actor, Detail: h.name})
}

func restDeleteWebhook(s *Server, r *request) (reply, error) {
	h, err := s.webhookForBot(r.params["webhook"])
	if err != nil {
		return reply{}, err
	}
	s.deleteWebhookLocked(h, r.actor)
	return noContent()
}

func restDeleteWebhookWithToken(s *Server, r *request) (reply, error) {
	h, err := s.webhookByToken(r.params["webhook"], r.params["token"])
	if err != nil {
		return reply{}, err
	}
	s.deleteWebhookLocked(h, "")
	return noContent()
}

// restExecuteWebhook posts as a webhook (?wait=true answers the message,
// otherwise 204; ?thread_id posts in a thread of the webhook's channel).
// For the application's id it creates an interaction followup.
func restExecuteWebhook(s *Server, r *request) (reply, error) {
	if r.params["webhook"] == s.appID {
		return s.followupLocked(r)
	}
	h, err := s.webhookByToken(r.params["webhook"], r.params["token"])
	if err != nil {
		return reply{}, err
	}
	c, ok := s.st.channels[h.channelID]
	if !ok {
		return reply{}, discordError(codeUnknownChannel)
	}
	if tid := r.query.Get("thread_id"); tid != "" {
		t, ok := s.st.channels[tid]
		if !ok || t.parentID != c.id {
			return reply{}, discordError(codeUnknownChannel)
		}
		c = t
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	in, err := parseMessageInput(f, r.files)
	if err != nil {
		return reply{}, err
	}
	in.ref = nil
	name, err := f.str("username")
	if err != nil {
		return reply{}, err
	}
	if name == "" {
		name = h.name
	}
	m, err := s.postLocked(c, &message{authorID: h.id, webhookID: h.id, webhookName: name, appID: h.appID}, in, "")
	if err != nil {
		return reply{}, err
	}
	if r.query.Get("wait") != "true" {
		return noContent()
	}
	return okJSON(s.wireMessageLocked(m, false))
}

// webhookMessageLocked finds a message the webhook posted.
func (s *Server) webhookMessageLocked(h *webhook, id string) (*channel, *message, error) {
	for _, c := range s.st.channels {
		if c.id != h.channelID && c.parentID != h.channelID {
			continue
		}
		if _, m := c.findMessage(id); m != nil && m.webhookID == h.id {
			return c, m, nil
		}
	}
	return nil, nil, discordError(codeUnknownMessage)
}

// webhookTargetLocked finds the message a webhook-token route names.
func (s *Server) webhookTargetLocked(r *request) (*channel, *message, error) {
	h, err := s.webhookByToken(r.params["webhook"], r.params["token"])
	if err != nil {
		return nil, nil, err
	}
	return s.webhookMessageLocked(h, r.params["message"])
}

func restGetWebhookMessage(s *Server, r *request) (reply, error) {
	if r.params["webhook"] == s.appID {
		return s.interactionMessageLocked(r)
	}
	_, m, err := s.webhookTargetLocked(r)
	if err != nil {
		return reply{}, err
	}
	return okJSON(s.wireMessageLocked(m, false))
}

func restEditWebhookMessage(s *Server, r *request) (reply, error) {
	if r.params["webhook"] == s.appID {
		return s.editInteractionMessageLocked(r)
	}
	c, m, err := s.webhookTargetLocked(r)
	if err != nil {
		return reply{}, err
	}
	f, err := r.fields()
	if err != nil {
		return reply{}, err
	}
	in, err := parseMessageInput(f, r.files)
	if err != nil {
		return reply{}, err
	}
	s.editLocked(c, m, in, "")
	return okJSON(s.wireMessageLocked(m, false))
}

func restDeleteWebhookMessage(s *Server, r *request) (reply, error) {
	if r.params["webhook"] == s.appID {
		return s.deleteInteractionMessageLocked(r)
	}
	c, m, err := s.webhookTargetLocked(r)
	if err != nil {
		return reply{}, err
	}
	s.deleteLocked(c, m, "")
	return noContent()
}
