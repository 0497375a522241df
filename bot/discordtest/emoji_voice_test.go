package discordtest

import (
	"slices"
	"testing"

	"github.com/bwmarrin/discordgo"
)

func TestEmojiChangesAreDispatched(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := openBot(t, f.srv, allIntents)
	updates := record[*discordgo.GuildEmojisUpdate](s)
	evs := make(chan Event, 16)
	cancel := f.srv.Subscribe(func(ev Event) { evs <- ev })
	names := func(u *discordgo.GuildEmojisUpdate) []string {
		var out []string
		for _, e := range u.Emojis {
			out = append(out, e.Name)
		}
		return out
	}

	party, err := f.srv.AddEmoji(f.guild.ID, "party", true)
	if err != nil {
		t.Fatal(err)
	}
	u := updates.wait(t, "GUILD_EMOJIS_UPDATE after AddEmoji", func(u *discordgo.GuildEmojisUpdate) bool { return len(u.Emojis) == 1 })
	if e := u.Emojis[0]; u.GuildID != f.guild.ID || e.ID != party.ID || e.Name != "party" || !e.Animated || !e.Available {
		t.Errorf("update = %+v, emoji %+v", u, e)
	}
	cancel()
	select {
	case ev := <-evs: // delivered before AddEmoji returned
		if ev.Kind != KindEmojiCreate || ev.GuildID != f.guild.ID || ev.Detail != "party" {
			t.Errorf("event = %+v", ev)
		}
	default:
		t.Error("AddEmoji emitted no event")
	}
	wave, err := f.srv.AddEmoji(f.guild.ID, "wave", false)
	if err != nil {
		t.Fatal(err)
	}
	updates.wait(t, "the second emoji", func(u *discordgo.GuildEmojisUpdate) bool { return len(u.Emojis) == 2 })

	if err := f.srv.RenameEmoji(f.guild.ID, party.ID, "fiesta"); err != nil {
		t.Fatal(err)
	}
	updates.wait(t, "the rename", func(u *discordgo.GuildEmojisUpdate) bool { return slices.Equal(names(u), []string{"fiesta", "wave"}) })
	if err := f.srv.DeleteEmoji(f.guild.ID, wave.ID); err != nil {
		t.Fatal(err)
	}
	updates.wait(t, "the delete", func(u *discordgo.GuildEmojisUpdate) bool { return slices.Equal(names(u), []string{"fiesta"}) })
	if got := f.srv.Emojis(f.guild.ID); len(got) != 1 || got[0].ID != party.ID || got[0].Name != "fiesta" {
		t.Errorf("Emojis = %+v", got)
	}
	// discordgo's state follows (it replaces the guild's list).
	waitFor(t, f.srv, "state", func() bool {
		g, err := s.State.Guild(f.guild.ID)
		if err != nil {
			return false
		}
		s.State.RLock()
		defer s.State.RUnlock()
		return len(g.Emojis) == 1 && g.Emojis[0].Name == "fiesta"
	})

	for _, bad := range []string{"x", "has space", "waytoolong_waytoolong_waytoolong_"} {
		if _, err := f.srv.AddEmoji(f.guild.ID, bad, false); err == nil {
			t.Errorf("AddEmoji(%q) succeeded", bad)
		}
	}
	if err := f.srv.RenameEmoji(f.guild.ID, wave.ID, "gone"); err == nil {
		t.Error("renaming a deleted emoji succeeded")
	}

	// A new session finds the emojis in GUILD_CREATE.
	s2 := newBot(t, f.srv, allIntents)
	creates := record[*discordgo.GuildCreate](s2)
	if err := s2.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBot(s2) })
	g := creates.wait(t, "GUILD_CREATE", func(g *discordgo.GuildCreate) bool { return g.ID == f.guild.ID })
	s2.State.RLock()
	defer s2.State.RUnlock()
	if len(g.Emojis) != 1 || g.Emojis[0].ID != party.ID || g.Emojis[0].Name != "fiesta" {
		t.Errorf("GUILD_CREATE emojis = %+v", g.Emojis)
	}
}

func TestVoiceStatesAreDispatched(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	lounge := f.srv.AddChannel(f.guild.ID, "Lounge", discordgo.ChannelTypeGuildVoice)
	stage := f.srv.AddChannel(f.guild.ID, "Stage", discordgo.ChannelTypeGuildStageVoice)
	// Bob is in voice before the bot connects: GUILD_CREATE says so.
	if err := f.srv.JoinVoice(f.guild.ID, lounge.ID, f.bob.UserID); err != nil {
		t.Fatal(err)
	}
	s := newBot(t, f.srv, allIntents)
	creates := record[*discordgo.GuildCreate](s)
	updates := record[*discordgo.VoiceStateUpdate](s)
	removes := record[*discordgo.GuildMemberRemove](s)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBot(s) })
	g := creates.wait(t, "GUILD_CREATE", func(*discordgo.GuildCreate) bool { return true })
	s.State.RLock()
	if len(g.VoiceStates) != 1 || g.VoiceStates[0].UserID != f.bob.UserID || g.VoiceStates[0].ChannelID != lounge.ID {
		t.Errorf("GUILD_CREATE voice states = %+v", g.VoiceStates)
	}
	s.State.RUnlock()

	if err := f.srv.JoinVoice(f.guild.ID, lounge.ID, f.alice.UserID); err != nil {
		t.Fatal(err)
	}
	join := updates.wait(t, "alice joining", func(u *discordgo.VoiceStateUpdate) bool { return u.UserID == f.alice.UserID })
	if join.GuildID != f.guild.ID || join.ChannelID != lounge.ID || join.SessionID == "" || join.BeforeUpdate != nil ||
		join.Member == nil || join.Member.User.ID != f.alice.UserID {
		t.Errorf("join = %+v", join.VoiceState)
	}
	if err := f.srv.JoinVoice(f.guild.ID, stage.ID, f.alice.UserID); err != nil {
		t.Fatal(err)
	}
	move := updates.wait(t, "alice moving", func(u *discordgo.VoiceStateUpdate) bool { return u.ChannelID == stage.ID })
	if move.BeforeUpdate == nil || move.BeforeUpdate.ChannelID != lounge.ID || move.SessionID != join.SessionID {
		t.Errorf("move = %+v, before %+v", move.VoiceState, move.BeforeUpdate)
	}
	if err := f.srv.SetSelfMute(f.guild.ID, f.alice.UserID, true, false); err != nil {
		t.Fatal(err)
	}
	updates.wait(t, "alice muting", func(u *discordgo.VoiceStateUpdate) bool { return u.SelfMute && !u.SelfDeaf })
	if err := f.srv.LeaveVoice(f.guild.ID, f.alice.UserID); err != nil {
		t.Fatal(err)
	}
	leave := updates.wait(t, "alice leaving", func(u *discordgo.VoiceStateUpdate) bool {
		return u.UserID == f.alice.UserID && u.ChannelID == ""
	})
	if leave.BeforeUpdate == nil || leave.BeforeUpdate.ChannelID != stage.ID {
		t.Errorf("leave: before = %+v", leave.BeforeUpdate)
	}

	// Leaving the guild leaves voice first.
	if err := f.srv.RemoveMember(f.guild.ID, f.bob.UserID); err != nil {
		t.Fatal(err)
	}
	updates.wait(t, "bob leaving voice", func(u *discordgo.VoiceStateUpdate) bool { return u.UserID == f.bob.UserID && u.ChannelID == "" })
	removes.wait(t, "bob leaving", func(m *discordgo.GuildMemberRemove) bool { return m.User.ID == f.bob.UserID })
	if vs := f.srv.VoiceStates(f.guild.ID); len(vs) != 0 {
		t.Errorf("voice states = %+v", vs)
	}

	for name, err := range map[string]error{
		"join a text channel":     f.srv.JoinVoice(f.guild.ID, f.general.ID, f.alice.UserID),
		"join as a non-member":    f.srv.JoinVoice(f.guild.ID, lounge.ID, f.bob.UserID),
		"leave when not in voice": f.srv.LeaveVoice(f.guild.ID, f.alice.UserID),
		"mute when not in voice":  f.srv.SetSelfMute(f.guild.ID, f.alice.UserID, true, true),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestIntentsGateEmojiAndVoiceEvents checks that sessions without
// GUILD_EMOJIS_AND_STICKERS or GUILD_VOICE_STATES get neither event. The
// session handles events synchronously, so everything sent before the
// marker (a role) has been seen once the marker is.
func TestIntentsGateEmojiAndVoiceEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	lounge := f.srv.AddChannel(f.guild.ID, "Lounge", discordgo.ChannelTypeGuildVoice)
	if err := f.srv.JoinVoice(f.guild.ID, lounge.ID, f.bob.UserID); err != nil {
		t.Fatal(err)
	}
	s := newBot(t, f.srv, discordgo.IntentsGuilds|discordgo.IntentGuildMembers)
	s.SyncEvents = true
	raw := record[*discordgo.Event](s)
	creates := record[*discordgo.GuildCreate](s)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBot(s) })
	g := creates.wait(t, "GUILD_CREATE", func(*discordgo.GuildCreate) bool { return true })
	s.State.RLock()
	if len(g.VoiceStates) != 0 {
		t.Errorf("GUILD_CREATE without GUILD_VOICE_STATES has voice states %+v", g.VoiceStates)
	}
	s.State.RUnlock()

	if _, err := f.srv.AddEmoji(f.guild.ID, "party", false); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.JoinVoice(f.guild.ID, lounge.ID, f.alice.UserID); err != nil {
		t.Fatal(err)
	}
	marker := f.srv.AddRole(f.guild.ID, "marker", 0)
	raw.wait(t, "the marker role", func(e *discordgo.Event) bool {
		rc, ok := e.Struct.(*discordgo.GuildRoleCreate)
		return ok && rc.Role.ID == marker.ID
	})
	for _, e := range raw.all() {
		if e.Type == "GUILD_EMOJIS_UPDATE" || e.Type == "VOICE_STATE_UPDATE" {
			t.Errorf("got %s without its intent", e.Type)
		}
	}
}

func TestAdminMemberChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := openBot(t, f.srv, allIntents)
	adds := record[*discordgo.GuildMemberAdd](s)
	updates := record[*discordgo.GuildMemberUpdate](s)
	msgs := record[*discordgo.MessageCreate](s)

	other := f.srv.AddBot(f.guild.ID, "otherbot")
	added := adds.wait(t, "the other bot joining", func(m *discordgo.GuildMemberAdd) bool { return m.User.ID == other.UserID })
	s.State.RLock()
	if !added.User.Bot {
		t.Errorf("AddBot's user = %+v, want bot", added.User)
	}
	s.State.RUnlock()
	sent, err := f.srv.SendMessage(f.general.ID, other.UserID, "beep")
	if err != nil {
		t.Fatal(err)
	}
	m := msgs.wait(t, "the bot's message", func(m *discordgo.MessageCreate) bool { return m.ID == sent.ID })
	s.State.RLock()
	if !m.Author.Bot {
		t.Errorf("author = %+v, want bot", m.Author)
	}
	s.State.RUnlock()

	if err := f.srv.SetNick(f.guild.ID, f.alice.UserID, "Ally"); err != nil {
		t.Fatal(err)
	}
	u := updates.wait(t, "the nickname", func(u *discordgo.GuildMemberUpdate) bool { return u.User.ID == f.alice.UserID && u.Nick == "Ally" })
	if u.BeforeUpdate == nil || u.BeforeUpdate.Nick != "" {
		t.Errorf("before = %+v", u.BeforeUpdate)
	}
	if err := f.srv.SetMemberRoles(f.guild.ID, f.alice.UserID, f.mod.ID, f.mod.ID); err != nil {
		t.Fatal(err)
	}
	u = updates.wait(t, "the roles", func(u *discordgo.GuildMemberUpdate) bool { return u.User.ID == f.alice.UserID && len(u.Roles) == 1 })
	if u.Roles[0] != f.mod.ID || u.Nick != "Ally" || u.BeforeUpdate == nil || len(u.BeforeUpdate.Roles) != 0 {
		t.Errorf("update = %+v, before %+v", u.Member, u.BeforeUpdate)
	}
	if mem, _ := f.srv.Member(f.guild.ID, f.alice.UserID); mem.Nick != "Ally" || len(mem.Roles) != 1 {
		t.Errorf("member = %+v", mem)
	}
	if err := f.srv.SetMemberRoles(f.guild.ID, f.alice.UserID, f.guild.ID); err == nil {
		t.Error("giving @everyone as a role succeeded")
	}
	if err := f.srv.SetNick(f.guild.ID, f.alice.UserID, "a nickname that is far too long!!"); err == nil {
		t.Error("a 33-character nickname was accepted")
	}
}
