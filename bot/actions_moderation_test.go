package bot

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// hierarchy is a rig whose guild has, from the top: Boss (above skybot's
// role), skybot's role, Mod (Ban/Kick/Moderate Members, Manage Roles and
// Nicknames), Helper, Member; and members holding them: boss, twin (who
// holds skybot's own role, so ranks level with it), mod, helper, alice,
// plus plain (no role).
type hierarchy struct {
	*rig
	boss, mod, helper, member                discordtest.Role
	bossM, twin, modM, helperM, alice, plain discordtest.Member
	modPerms, helperPerms                    int64
}

func newHierarchy(t *testing.T) *hierarchy {
	t.Helper()
	r := newRig(t)
	h := &hierarchy{rig: r}
	gid := r.guild.ID
	h.modPerms = discordgo.PermissionBanMembers | discordgo.PermissionKickMembers | discordgo.PermissionModerateMembers |
		discordgo.PermissionManageRoles | discordgo.PermissionManageNicknames
	h.helperPerms = discordgo.PermissionModerateMembers
	h.member = r.srv.AddRole(gid, "Member", 0)
	h.helper = r.srv.AddRole(gid, "Helper", h.helperPerms)
	h.mod = r.srv.AddRole(gid, "Mod", h.modPerms)
	h.boss = r.srv.AddRole(gid, "Boss", discordgo.PermissionAdministrator)
	top := len(r.srv.Roles(gid)) - 1 // every role but @everyone
	if err := r.srv.SetRolePosition(gid, h.boss.ID, top); err != nil {
		t.Fatal(err)
	}
	h.bossM = r.srv.AddMember(gid, "boss", h.boss.ID)
	h.twin = r.srv.AddMember(gid, "twin", r.guild.BotRoleID)
	h.modM = r.srv.AddMember(gid, "mod", h.mod.ID)
	h.helperM = r.srv.AddMember(gid, "helper", h.helper.ID)
	h.alice = r.srv.AddMember(gid, "alice", h.member.ID)
	h.plain = r.srv.AddMember(gid, "plain")
	r.settle()
	return h
}

// settle waits until the session's gateway State shows the emulated
// guild's roles (positions, permissions), members (roles, nickname) and
// channels, so
// that the executor's pre-checks read what a test just set up.
func (r *rig) settle() {
	r.t.Helper()
	roles := r.srv.Roles(r.guild.ID)
	members := r.srv.Members(r.guild.ID)
	channels := 0
	for _, c := range r.srv.Channels(r.guild.ID) {
		if !c.IsThread() {
			channels++
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !stateShows(r.session.State, r.guild.ID, roles, members, channels) {
		if time.Now().After(deadline) {
			r.t.Fatal("the gateway State did not catch up with the emulated guild")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func stateShows(st *discordgo.State, guildID string, roles []*discordgo.Role, members []*discordgo.Member, channels int) bool {
	st.RLock()
	defer st.RUnlock()
	var g *discordgo.Guild
	for _, x := range st.Guilds {
		if x.ID == guildID {
			g = x
		}
	}
	if g == nil || len(g.Roles) != len(roles) || len(g.Members) != len(members) || len(g.Channels) != channels {
		return false
	}
	for _, want := range roles {
		i := slices.IndexFunc(g.Roles, func(r *discordgo.Role) bool { return r.ID == want.ID })
		if i < 0 || g.Roles[i].Position != want.Position || g.Roles[i].Permissions != want.Permissions {
			return false
		}
	}
	for _, want := range members {
		i := slices.IndexFunc(g.Members, func(m *discordgo.Member) bool { return m.User.ID == want.User.ID })
		if i < 0 || g.Members[i].Nick != want.Nick || !sameSet(g.Members[i].Roles, want.Roles) {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// byMember is the rig's origin for a run the member userID started, holding
// perms.
func (r *rig) byMember(userID string, perms int64) extensions.Origin {
	o := r.origin
	o.ByMember, o.UserID, o.MemberPermissions = true, userID, perms
	return o
}

// expectCode fails unless err carries the JS error code want ("" for
// success).
func expectCode(t *testing.T, out json.RawMessage, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("error %v, want success", err)
	case want != "" && codeOfErr(err) != want:
		t.Fatalf("result %s, error %v; want code %s", out, err, want)
	}
}

// lastAudit returns the newest audit row of api about target.
func (r *rig) lastAudit(t *testing.T, api, target string) store.AuditEntry {
	t.Helper()
	rows, err := r.store.Audit(context.Background(), store.GuildID(r.guild.ID), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rows {
		if a.Action == api && a.Target == target {
			return a
		}
	}
	t.Fatalf("no audit row for %s on %q among %+v", api, target, rows)
	return store.AuditEntry{}
}

// expectAudit checks the newest audit row of api about target: written for
// the rig's extension with outcome.
func (r *rig) expectAudit(t *testing.T, api, target, outcome string) {
	t.Helper()
	a := r.lastAudit(t, api, target)
	if !strings.HasPrefix(a.Outcome, outcome) || a.Actor != "ext:rigext" || a.ExtensionID != r.origin.ExtensionID {
		t.Fatalf("audit row %+v, want outcome %s by ext:rigext", a, outcome)
	}
}

func (r *rig) modlog(t *testing.T, userID string) []store.ModlogEntry {
	t.Helper()
	es, err := r.store.Modlog(context.Background(), store.GuildID(r.guild.ID), store.UserID(userID), 0)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func (r *rig) isMember(userID string) bool {
	_, ok := r.srv.Member(r.guild.ID, userID)
	return ok
}

func (r *rig) banned(userID string) (*discordgo.GuildBan, bool) {
	for _, b := range r.srv.Bans(r.guild.ID) {
		if b.User.ID == userID {
			return b, true
		}
	}
	return nil, false
}

// TestModerationRefusals covers what every moderation call refuses before
// Discord is asked: each refusal leaves the member in the guild, unbanned
// and not timed out, with an audit row naming the refusal and nothing in
// the moderation log.
func TestModerationRefusals(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t)
	bot := h.srv.BotUserID()
	type tc struct {
		name   string
		o      extensions.Origin
		userID string
		want   string
	}
	cases := []tc{
		{"member above skybot", h.origin, h.bossM.UserID, sandbox.CodeForbidden},
		{"member level with skybot", h.origin, h.twin.UserID, sandbox.CodeForbidden},
		{"guild owner", h.origin, h.guild.OwnerID, sandbox.CodeForbidden},
		{"skybot itself", h.origin, bot, sandbox.CodeForbidden},
		{"started by a member without the permission", h.byMember(h.alice.UserID, 0), h.plain.UserID, sandbox.CodeForbidden},
		{"started by a member who ranks below the target", h.byMember(h.helperM.UserID, h.modPerms), h.modM.UserID, sandbox.CodeForbidden},
	}
	for _, api := range []string{"moderation.ban", "moderation.kick", "moderation.timeout", "moderation.untimeout"} {
		for _, c := range cases {
			t.Run(api+"/"+c.name, func(t *testing.T) {
				args := []any{c.userID}
				if api == "moderation.timeout" {
					args = append(args, 60_000)
				}
				args = append(args, map[string]any{"reason": "because"})
				out, err := h.call(c.o, api, args...)
				expectCode(t, out, err, c.want)
				if strings.Contains(err.Error(), "Discord refused") {
					t.Fatalf("refused by Discord, not before asking it: %v", err)
				}
				if !h.isMember(c.userID) || len(h.srv.Bans(h.guild.ID)) != 0 {
					t.Fatalf("the guild changed: member %v, bans %v", h.isMember(c.userID), h.srv.Bans(h.guild.ID))
				}
				if m, _ := h.srv.Member(h.guild.ID, c.userID); m != nil && m.CommunicationDisabledUntil != nil {
					t.Fatalf("member timed out until %v", m.CommunicationDisabledUntil)
				}
				h.expectAudit(t, api, "user:"+c.userID, c.want)
				if es := h.modlog(t, c.userID); len(es) != 0 {
					t.Fatalf("modlog rows for a refusal: %+v", es)
				}
			})
		}
	}
}

func TestModerationBan(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t)
	msg, err := h.srv.SendMessage(h.general.ID, h.alice.UserID, "buy cheap stuff")
	if err != nil {
		t.Fatal(err)
	}
	outsider := h.srv.AddUser("outsider")

	t.Run("member, with reason and message deletion", func(t *testing.T) {
		out, err := h.call(h.origin, "moderation.ban", h.alice.UserID, map[string]any{"reason": "spam", "deleteMessageSeconds": 3600})
		expectCode(t, out, err, "")
		var res struct {
			Success  bool
			UserID   string
			ModlogID string
		}
		if err := json.Unmarshal(out, &res); err != nil || !res.Success || res.UserID != h.alice.UserID || res.ModlogID == "" {
			t.Fatalf("result %s", out)
		}
		b, ok := h.banned(h.alice.UserID)
		if !ok || b.Reason != "ext:rigext: spam" {
			t.Fatalf("ban %+v, %v; want the reason naming the extension", b, ok)
		}
		if h.isMember(h.alice.UserID) {
			t.Fatal("alice is still a member")
		}
		if _, ok := h.srv.Message(h.general.ID, msg.ID); ok {
			t.Fatal("alice's recent message was not deleted")
		}
		h.expectAudit(t, "moderation.ban", "user:"+h.alice.UserID, "ok")
		es := h.modlog(t, h.alice.UserID)
		if len(es) != 1 || es[0].Action != "ban" || es[0].Actor != "ext:rigext" || es[0].Reason != "spam" ||
			es[0].ExtensionID != h.origin.ExtensionID || res.ModlogID != strconv.FormatInt(es[0].ID, 10) {
			t.Fatalf("modlog %+v", es)
		}
	})
	t.Run("a user who is not a member", func(t *testing.T) {
		out, err := h.call(h.origin, "moderation.ban", outsider.ID)
		expectCode(t, out, err, "")
		if b, ok := h.banned(outsider.ID); !ok || b.Reason != "ext:rigext" {
			t.Fatalf("ban %+v, %v", b, ok)
		}
	})
	t.Run("started by a member with Ban Members", func(t *testing.T) {
		out, err := h.call(h.byMember(h.modM.UserID, h.modPerms), "moderation.ban", h.plain.UserID)
		expectCode(t, out, err, "")
		if _, ok := h.banned(h.plain.UserID); !ok {
			t.Fatal("plain is not banned")
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		out, err := h.call(h.origin, "moderation.ban", "123456789012345678")
		expectCode(t, out, err, sandbox.CodeNotFound)
		h.expectAudit(t, "moderation.ban", "user:123456789012345678", sandbox.CodeNotFound)
	})

	bans := len(h.srv.Bans(h.guild.ID))
	for _, c := range []struct {
		name string
		args []any
	}{
		{"no user", nil},
		{"user id of the wrong type", []any{42}},
		{"user id that is not an id", []any{"alice"}},
		{"deletion over 7 days", []any{h.helperM.UserID, map[string]any{"deleteMessageSeconds": 604801}}},
		{"negative deletion", []any{h.helperM.UserID, map[string]any{"deleteMessageSeconds": -1}}},
		{"fractional deletion", []any{h.helperM.UserID, map[string]any{"deleteMessageSeconds": 1.5}}},
		{"unknown option", []any{h.helperM.UserID, map[string]any{"deleteMessageDays": 7}}},
		{"options that are not an object", []any{h.helperM.UserID, "spam"}},
		{"reason over 512 characters", []any{h.helperM.UserID, map[string]any{"reason": strings.Repeat("r", 513)}}},
	} {
		t.Run("bad arguments/"+c.name, func(t *testing.T) {
			out, err := h.call(h.origin, "moderation.ban", c.args...)
			expectCode(t, out, err, sandbox.CodeInvalidArgument)
			if n := len(h.srv.Bans(h.guild.ID)); n != bans || !h.isMember(h.helperM.UserID) {
				t.Fatalf("bans %d → %d", bans, n)
			}
		})
	}
}

func TestModerationUnban(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t)
	if _, err := h.call(h.origin, "moderation.ban", h.alice.UserID); err != nil {
		t.Fatal(err)
	}
	out, err := h.call(h.byMember(h.helperM.UserID, h.helperPerms), "moderation.unban", h.alice.UserID)
	expectCode(t, out, err, sandbox.CodeForbidden)
	if _, ok := h.banned(h.alice.UserID); !ok {
		t.Fatal("a member without Ban Members lifted the ban")
	}
	h.expectAudit(t, "moderation.unban", "user:"+h.alice.UserID, sandbox.CodeForbidden)

	out, err = h.call(h.origin, "moderation.unban", h.alice.UserID, map[string]any{"reason": "appeal accepted"})
	expectCode(t, out, err, "")
	if _, ok := h.banned(h.alice.UserID); ok {
		t.Fatal("alice is still banned")
	}
	h.expectAudit(t, "moderation.unban", "user:"+h.alice.UserID, "ok")
	es := h.modlog(t, h.alice.UserID)
	if len(es) != 2 || es[0].Action != "unban" || es[0].Reason != "appeal accepted" || es[1].Action != "ban" {
		t.Fatalf("modlog %+v", es)
	}

	out, err = h.call(h.origin, "moderation.unban", h.alice.UserID)
	expectCode(t, out, err, sandbox.CodeNotFound)
	h.expectAudit(t, "moderation.unban", "user:"+h.alice.UserID, sandbox.CodeNotFound)
	out, err = h.call(h.origin, "moderation.unban", "")
	expectCode(t, out, err, sandbox.CodeInvalidArgument)
}

func TestModerationKick(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t)
	out, err := h.call(h.byMember(h.modM.UserID, h.modPerms), "moderation.kick", h.alice.UserID, map[string]any{"reason": "rude"})
	expectCode(t, out, err, "")
	if h.isMember(h.alice.UserID) {
		t.Fatal("alice is still a member")
	}
	if _, ok := h.banned(h.alice.UserID); ok {
		t.Fatal("a kick banned")
	}
	h.expectAudit(t, "moderation.kick", "user:"+h.alice.UserID, "ok")
	if es := h.modlog(t, h.alice.UserID); len(es) != 1 || es[0].Action != "kick" || es[0].Reason != "rude" {
		t.Fatalf("modlog %+v", es)
	}

	out, err = h.call(h.origin, "moderation.kick", h.alice.UserID)
	expectCode(t, out, err, sandbox.CodeNotFound)
	h.expectAudit(t, "moderation.kick", "user:"+h.alice.UserID, sandbox.CodeNotFound)

	out, err = h.call(h.origin, "moderation.kick", h.plain.UserID, map[string]any{"reason": 5})
	expectCode(t, out, err, sandbox.CodeInvalidArgument)
	if !h.isMember(h.plain.UserID) {
		t.Fatal("a refused kick removed plain")
	}
}

func TestModerationTimeout(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t)
	admin := h.srv.AddRole(h.guild.ID, "Admins", discordgo.PermissionAdministrator)
	adminM := h.srv.AddMember(h.guild.ID, "admin", admin.ID)
	h.settle()

	before := time.Now()
	out, err := h.call(h.origin, "moderation.timeout", h.alice.UserID, 10*60*1000, map[string]any{"reason": "cool down"})
	expectCode(t, out, err, "")
	m, _ := h.srv.Member(h.guild.ID, h.alice.UserID)
	if m.CommunicationDisabledUntil == nil || m.CommunicationDisabledUntil.Before(before.Add(9*time.Minute)) ||
		m.CommunicationDisabledUntil.After(time.Now().Add(11*time.Minute)) {
		t.Fatalf("alice timed out until %v, want about 10 minutes from now", m.CommunicationDisabledUntil)
	}
	var res struct{ Until int64 }
	if json.Unmarshal(out, &res); res.Until != m.CommunicationDisabledUntil.UnixMilli() {
		t.Fatalf("result %s, timeout until %v", out, m.CommunicationDisabledUntil)
	}
	h.expectAudit(t, "moderation.timeout", "user:"+h.alice.UserID, "ok")
	if es := h.modlog(t, h.alice.UserID); len(es) != 1 || es[0].Action != "timeout" || es[0].Reason != "cool down" {
		t.Fatalf("modlog %+v", es)
	}

	// A member with Moderate Members lifts it.
	out, err = h.call(h.byMember(h.helperM.UserID, h.helperPerms), "moderation.untimeout", h.alice.UserID)
	expectCode(t, out, err, "")
	if m, _ := h.srv.Member(h.guild.ID, h.alice.UserID); m.CommunicationDisabledUntil != nil {
		t.Fatalf("timeout still set until %v", m.CommunicationDisabledUntil)
	}
	h.expectAudit(t, "moderation.untimeout", "user:"+h.alice.UserID, "ok")
	if es := h.modlog(t, h.alice.UserID); len(es) != 2 || es[0].Action != "untimeout" {
		t.Fatalf("modlog %+v", es)
	}

	for _, c := range []struct {
		name   string
		userID string
		ms     any
		want   string
	}{
		{"no duration", h.plain.UserID, nil, sandbox.CodeInvalidArgument},
		{"zero", h.plain.UserID, 0, sandbox.CodeInvalidArgument},
		{"over 28 days", h.plain.UserID, 28*24*3600*1000 + 1, sandbox.CodeInvalidArgument},
		{"a string", h.plain.UserID, "10m", sandbox.CodeInvalidArgument},
		{"an administrator", adminM.UserID, 60_000, sandbox.CodeForbidden},
		{"unknown member", "123456789012345678", 60_000, sandbox.CodeNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := h.call(h.origin, "moderation.timeout", c.userID, c.ms)
			expectCode(t, out, err, c.want)
			if m, ok := h.srv.Member(h.guild.ID, c.userID); ok && m.CommunicationDisabledUntil != nil {
				t.Fatalf("timed out until %v", m.CommunicationDisabledUntil)
			}
			h.expectAudit(t, "moderation.timeout", "user:"+c.userID, c.want)
		})
	}
	// 28 days is the most Discord allows, and allowed.
	out, err = h.call(h.origin, "moderation.timeout", h.plain.UserID, 28*24*3600*1000)
	expectCode(t, out, err, "")
}

func TestModlog(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	alice := r.srv.AddMember(r.guild.ID, "alice")
	bob := r.srv.AddMember(r.guild.ID, "bob")

	out, err := r.call(r.origin, "modlog.add", map[string]any{"action": "warn", "userId": alice.UserID, "reason": "caps lock"})
	expectCode(t, out, err, "")
	var added struct{ ID, Action, UserID, Actor, Reason string }
	if err := json.Unmarshal(out, &added); err != nil || added.ID == "" || added.Action != "warn" || added.UserID != alice.UserID ||
		added.Actor != "ext:rigext" || added.Reason != "caps lock" {
		t.Fatalf("modlog.add = %s", out)
	}
	r.expectAudit(t, "modlog.add", "user:"+alice.UserID, "ok")
	for _, e := range []map[string]any{
		{"action": "Note", "userId": bob.UserID},
		{"action": "warn", "userId": alice.UserID, "reason": "again"},
	} {
		if _, err := r.call(r.origin, "modlog.add", e); err != nil {
			t.Fatal(err)
		}
	}

	list := func(opts any) []map[string]any {
		t.Helper()
		out, err := r.call(r.origin, "modlog.list", opts)
		if err != nil {
			t.Fatal(err)
		}
		var es []map[string]any
		if err := json.Unmarshal(out, &es); err != nil {
			t.Fatal(err)
		}
		return es
	}
	if es := list(nil); len(es) != 3 || es[0]["reason"] != "again" || es[1]["action"] != "note" || es[2]["id"] != added.ID {
		t.Fatalf("modlog.list() = %v", es)
	}
	if es := list(map[string]any{"userId": alice.UserID, "limit": 1}); len(es) != 1 || es[0]["reason"] != "again" {
		t.Fatalf("modlog.list(alice, 1) = %v", es)
	}
	if es := list(map[string]any{"userId": bob.UserID}); len(es) != 1 || es[0]["createdAt"].(float64) < float64(time.Now().Add(-time.Minute).UnixMilli()) {
		t.Fatalf("modlog.list(bob) = %v", es)
	}

	for _, c := range []struct {
		name string
		api  string
		arg  any
	}{
		{"add without a user", "modlog.add", map[string]any{"action": "warn"}},
		{"add without an action", "modlog.add", map[string]any{"userId": alice.UserID}},
		{"add with a sentence as action", "modlog.add", map[string]any{"action": "was rude", "userId": alice.UserID}},
		{"add with a long action", "modlog.add", map[string]any{"action": strings.Repeat("w", 33), "userId": alice.UserID}},
		{"add a ban that did not happen", "modlog.add", map[string]any{"action": "ban", "userId": alice.UserID}},
		{"add with a long reason", "modlog.add", map[string]any{"action": "warn", "userId": alice.UserID, "reason": strings.Repeat("r", 513)}},
		{"add with an unknown field", "modlog.add", map[string]any{"action": "warn", "userId": alice.UserID, "moderator": "me"}},
		{"add nothing", "modlog.add", nil},
		{"list over 100", "modlog.list", map[string]any{"limit": 101}},
		{"list zero", "modlog.list", map[string]any{"limit": 0}},
		{"list for a bad user id", "modlog.list", map[string]any{"userId": "alice"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := r.call(r.origin, c.api, c.arg)
			expectCode(t, out, err, sandbox.CodeInvalidArgument)
		})
	}
	if es := r.modlog(t, ""); len(es) != 3 {
		t.Fatalf("refused entries were written: %+v", es)
	}
}
