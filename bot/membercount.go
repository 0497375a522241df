package bot

import (
	"encoding/json"
	"sync"

	"github.com/bwmarrin/discordgo"
)

// memberCounts is each guild's member count as the gateway reports it:
// member_count of GUILD_CREATE, plus one per GUILD_MEMBER_ADD, minus one
// per GUILD_MEMBER_REMOVE. discordgo's State keeps the same count, but it
// changes Guild.MemberCount outside its lock (v0.29.0 state.go, the
// GuildMemberAdd and GuildMemberRemove cases), so reading that field races
// with every join; skybot never reads it and asks here instead.
//
// The count comes from raw events, which discordgo hands to handlers in
// goroutines of their own: a join in the same instant as a GUILD_CREATE
// may be counted before the GUILD_CREATE resets the count. The next
// GUILD_CREATE (a reconnect) corrects it.
type memberCounts struct {
	mu sync.Mutex
	n  map[string]int // guild id → members
}

// counters holds the counts of every session skybot uses.
var counters sync.Map // *discordgo.Session → *memberCounts

// membersOf returns the session's counts, starting to keep them on first
// use. Bot.Start and RegisterEventSink call it before the gateway opens,
// so the first GUILD_CREATE is seen.
func membersOf(s *discordgo.Session) *memberCounts {
	if c, ok := counters.Load(s); ok {
		return c.(*memberCounts)
	}
	c, loaded := counters.LoadOrStore(s, &memberCounts{n: map[string]int{}})
	mc := c.(*memberCounts)
	if !loaded {
		s.AddHandler(mc.onEvent)
	}
	return mc
}

// memberCount is the guild's member count (0 when unknown).
func memberCount(s *discordgo.Session, guildID string) int {
	mc := membersOf(s)
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return mc.n[guildID]
}

func (mc *memberCounts) onEvent(_ *discordgo.Session, e *discordgo.Event) {
	var data struct {
		ID          string `json:"id"`
		GuildID     string `json:"guild_id"`
		MemberCount *int   `json:"member_count"`
	}
	switch e.Type {
	case "GUILD_CREATE", "GUILD_DELETE", "GUILD_MEMBER_ADD", "GUILD_MEMBER_REMOVE":
	default:
		return
	}
	if json.Unmarshal(e.RawData, &data) != nil {
		return
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	switch e.Type {
	case "GUILD_CREATE":
		if data.MemberCount != nil {
			mc.n[data.ID] = *data.MemberCount
		}
	case "GUILD_DELETE":
		delete(mc.n, data.ID)
	case "GUILD_MEMBER_ADD":
		mc.n[data.GuildID]++
	case "GUILD_MEMBER_REMOVE":
		mc.n[data.GuildID] = max(0, mc.n[data.GuildID]-1)
	}
}
