package discordtest

import (
	"encoding/json"
	"fmt"

	"github.com/bwmarrin/discordgo"
)

// This file holds who sits in which voice channel. A person joins, moves,
// mutes themselves and leaves (JoinVoice, SetSelfMute, LeaveVoice); every
// change sends VOICE_STATE_UPDATE to sessions with the GUILD_VOICE_STATES
// intent, and GUILD_CREATE carries the guild's voice states to them.

type voiceState struct {
	channelID, sessionID string
	selfMute, selfDeaf   bool
}

type wireVoiceState struct {
	GuildID                 string      `json:"guild_id,omitempty"`
	ChannelID               *string     `json:"channel_id"`
	UserID                  string      `json:"user_id"`
	Member                  *wireMember `json:"member,omitempty"`
	SessionID               string      `json:"session_id"`
	Deaf                    bool        `json:"deaf"`
	Mute                    bool        `json:"mute"`
	SelfDeaf                bool        `json:"self_deaf"`
	SelfMute                bool        `json:"self_mute"`
	SelfVideo               bool        `json:"self_video"`
	Suppress                bool        `json:"suppress"`
	RequestToSpeakTimestamp *string     `json:"request_to_speak_timestamp"`
}

// wireVoiceStateLocked renders a user's voice state; vs nil renders having
// left (channel_id null). guildID and the member are set for gateway
// events, not in GUILD_CREATE's list.
func (s *Server) wireVoiceStateLocked(g *guild, userID string, vs *voiceState, event bool) wireVoiceState {
	w := wireVoiceState{UserID: userID}
	if vs != nil {
		w.ChannelID, w.SessionID, w.SelfMute, w.SelfDeaf = ptr(vs.channelID), vs.sessionID, vs.selfMute, vs.selfDeaf
	}
	m := g.members[userID]
	if m != nil {
		w.Deaf, w.Mute = m.deaf, m.mute
	}
	if event {
		w.GuildID = g.id
		if m != nil {
			wm := s.wireMemberLocked(m, true, "")
			w.Member = &wm
		}
	}
	return w
}

// wireVoiceStatesLocked is GUILD_CREATE's voice_states.
func (s *Server) wireVoiceStatesLocked(g *guild) []json.RawMessage {
	out := []json.RawMessage{}
	for _, id := range g.memberOrder {
		if vs, ok := g.voice[id]; ok {
			out = append(out, mustJSON(s.wireVoiceStateLocked(g, id, vs, false)))
		}
	}
	return out
}

// voiceChangedLocked sends VOICE_STATE_UPDATE for userID (vs nil: left)
// and emits the event.
func (s *Server) voiceChangedLocked(g *guild, userID string, vs *voiceState, detail string) {
	s.dispatchLocked(gwEvent{name: "VOICE_STATE_UPDATE", guildID: g.id, intent: discordgo.IntentGuildVoiceStates,
		data: mustJSON(s.wireVoiceStateLocked(g, userID, vs, true))})
	ev := Event{Kind: KindVoiceStateUpdate, GuildID: g.id, UserID: userID, ActorID: userID, Detail: detail}
	if vs != nil {
		ev.ChannelID = vs.channelID
	}
	s.emitLocked(ev)
}

// leaveVoiceLocked takes a user out of voice, if they are in it.
func (s *Server) leaveVoiceLocked(g *guild, userID string) {
	if _, ok := g.voice[userID]; ok {
		delete(g.voice, userID)
		s.voiceChangedLocked(g, userID, nil, "left")
	}
}

// JoinVoice puts a member in a voice or stage channel of the guild, or
// moves them there from another one (CONNECT is needed).
func (s *Server) JoinVoice(guildID, channelID, userID string) error {
	return s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		if _, err := g.member(userID); err != nil {
			return fmt.Errorf("discordtest: user %s: %w", userID, err)
		}
		c, err := s.st.channel(channelID)
		if err != nil || c.guildID != g.id {
			return fmt.Errorf("discordtest: channel %s is not in guild %s", channelID, guildID)
		}
		if c.typ != discordgo.ChannelTypeGuildVoice && c.typ != discordgo.ChannelTypeGuildStageVoice {
			return fmt.Errorf("discordtest: channel %s is not a voice channel", channelID)
		}
		if !g.has(userID, discordgo.PermissionVoiceConnect) {
			return fmt.Errorf("discordtest: user %s may not connect to voice", userID)
		}
		vs, ok := g.voice[userID]
		if ok && vs.channelID == channelID {
			return nil
		}
		if !ok {
			vs = &voiceState{sessionID: randomHex(16)}
			if g.voice == nil {
				g.voice = map[string]*voiceState{}
			}
			g.voice[userID] = vs
		}
		vs.channelID = channelID
		s.voiceChangedLocked(g, userID, vs, "joined "+c.name)
		return nil
	})
}

// SetSelfMute changes the self-mute and self-deafen switches of a member
// in voice.
func (s *Server) SetSelfMute(guildID, userID string, mute, deaf bool) error {
	return s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		vs, ok := g.voice[userID]
		if !ok {
			return fmt.Errorf("discordtest: user %s is not in a voice channel", userID)
		}
		if vs.selfMute == mute && vs.selfDeaf == deaf {
			return nil
		}
		vs.selfMute, vs.selfDeaf = mute, deaf
		s.voiceChangedLocked(g, userID, vs, fmt.Sprintf("self mute %t deaf %t", mute, deaf))
		return nil
	})
}

// LeaveVoice disconnects a member from voice.
func (s *Server) LeaveVoice(guildID, userID string) error {
	return s.mutate(func() error {
		g, err := s.st.guild(guildID)
		if err != nil {
			return err
		}
		if _, ok := g.voice[userID]; !ok {
			return fmt.Errorf("discordtest: user %s is not in a voice channel", userID)
		}
		s.leaveVoiceLocked(g, userID)
		return nil
	})
}

// VoiceStates returns the voice states of a guild's members, in join order.
func (s *Server) VoiceStates(guildID string) []*discordgo.VoiceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.guilds[guildID]
	if !ok {
		return nil
	}
	var out []*discordgo.VoiceState
	for _, w := range s.wireVoiceStatesLocked(g) {
		vs := convert[discordgo.VoiceState](w)
		vs.GuildID = g.id
		out = append(out, vs)
	}
	return out
}
