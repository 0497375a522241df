package discordtest

import (
	"time"

	"github.com/bwmarrin/discordgo"
)

func restGateway(s *Server, r *request) (reply, error) {
	return okJSON(map[string]string{"url": s.GatewayURL()})
}

func restGatewayBot(s *Server, r *request) (reply, error) {
	return okJSON(map[string]any{
		"url": s.GatewayURL(), "shards": 1,
		"session_start_limit": map[string]int{"total": 1000, "remaining": 999, "reset_after": 86400000, "max_concurrency": 1},
	})
}

func restGetMe(s *Server, r *request) (reply, error) {
	me := s.wireUserLocked(s.botID)
	me.Verified, me.MFAEnabled, me.Flags = ptr(true), ptr(false), ptr(0)
	return okJSON(me)
}

func restGetUser(s *Server, r *request) (reply, error) {
	u, err := s.st.user(r.params["user"])
	if err != nil {
		return reply{}, err
	}
	return okJSON(s.wireUserLocked(u.id))
}

func restMyGuilds(s *Server, r *request) (reply, error) {
	out := []map[string]any{}
	for _, id := range s.st.guildOrder {
		g := s.st.guilds[id]
		if _, ok := g.members[s.botID]; !ok {
			continue
		}
		out = append(out, map[string]any{
			"id": g.id, "name": g.name, "icon": nil, "banner": nil, "owner": g.ownerID == s.botID,
			"permissions": permString(g.permissions(s.botID)), "features": []string{},
		})
	}
	return okJSON(out)
}

func restMyMember(s *Server, r *request) (reply, error) {
	g, err := s.botGuild(r.params["guild"])
	if err != nil {
		return reply{}, err
	}
	return okJSON(s.wireMemberLocked(g.members[s.botID], true, ""))
}

func restGetApplication(s *Server, r *request) (reply, error) {
	bot := s.wireUserLocked(s.botID)
	return okJSON(map[string]any{
		"id": s.appID, "name": s.opts.BotName, "icon": nil, "description": "", "bot_public": true,
		"bot_require_code_grant": false, "verify_key": randomHex(32), "flags": 1<<12 | 1<<14 | 1<<18,
		"bot": bot, "summary": "", "team": nil,
	})
}

// restCreateDM opens (or returns) the DM channel between the bot and a user.
func restCreateDM(s *Server, r *request) (reply, error) {
	var body struct {
		RecipientID string `json:"recipient_id"`
	}
	if err := r.decode(&body); err != nil {
		return reply{}, err
	}
	if body.RecipientID == "" {
		return reply{}, formError("recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
	}
	u, err := s.st.user(body.RecipientID)
	if err != nil {
		return reply{}, err
	}
	if u.bot {
		return reply{}, discordError(codeCannotMessageUser)
	}
	return okJSON(s.wireChannelLocked(s.dmChannelLocked(u.id)))
}

// dmChannelLocked returns the DM channel between the bot and a user,
// creating it the first time.
func (s *Server) dmChannelLocked(userID string) *channel {
	if id, ok := s.st.dmByUser[userID]; ok {
		return s.st.channels[id]
	}
	c := &channel{id: s.ids.next(), typ: discordgo.ChannelTypeDM, recipientID: userID, createdAt: time.Now().UTC()}
	s.st.channels[c.id] = c
	s.st.dmByUser[userID] = c.id
	s.emitLocked(Event{Kind: KindDMCreate, ChannelID: c.id, UserID: userID})
	return c
}

// botGuild returns a guild the bot is a member of: 10004 Unknown Guild
// otherwise, as Discord hides guilds a bot is not in.
func (s *Server) botGuild(id string) (*guild, error) {
	g, err := s.st.guild(id)
	if err != nil {
		return nil, err
	}
	if _, ok := g.members[s.botID]; !ok {
		return nil, discordError(codeUnknownGuild)
	}
	return g, nil
}
