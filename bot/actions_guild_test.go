package bot

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
)

// roleByName finds a role of the emulated guild.
func (r *rig) roleByName(name string) (*discordgo.Role, bool) {
	for _, ro := range r.srv.Roles(r.guild.ID) {
		if ro.Name == name {
			return ro, true
		}
	}
	return nil, false
}

func (r *rig) roleByID(id string) (*discordgo.Role, bool) {
	for _, ro := range r.srv.Roles(r.guild.ID) {
		if ro.ID == id {
			return ro, true
		}
	}
	return nil, false
}

// or is o, or the rig's own origin when o is the zero Origin.
func (r *rig) or(o extensions.Origin) extensions.Origin {
	if o.GuildID == "" {
		return r.origin
	}
	return o
}

func decode[T any](t *testing.T, out json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("result %s: %v", out, err)
	}
	return v
}

func TestRolesRead(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t)

	out, err := h.call(h.origin, "roles.list")
	expectCode(t, out, err, "")
	list := decode[[]map[string]any](t, out)
	var names []string
	for _, ro := range list {
		names = append(names, ro["name"].(string))
	}
	botRole, _ := h.roleByID(h.guild.BotRoleID)
	if want := []string{"Boss", botRole.Name, "Mod", "Helper", "Member", "@everyone"}; !slices.Equal(names, want) {
		t.Fatalf("roles.list names %v, want %v (highest first)", names, want)
	}
	mod := list[2]
	if mod["id"] != h.mod.ID || mod["permissions"] != strconv.FormatInt(h.modPerms, 10) || mod["hexColor"] != "#000000" ||
		mod["managed"] != false || mod["position"].(float64) != float64(h.mod.Position) {
		t.Fatalf("Mod = %v", mod)
	}

	out, err = h.call(h.origin, "roles.get", h.boss.ID)
	expectCode(t, out, err, "")
	if got := decode[map[string]any](t, out); got["name"] != "Boss" || got["permissions"] != strconv.FormatInt(discordgo.PermissionAdministrator, 10) {
		t.Fatalf("roles.get(Boss) = %v", got)
	}

	out, err = h.call(h.origin, "roles.ofMember", h.modM.UserID)
	expectCode(t, out, err, "")
	if got := decode[[]map[string]any](t, out); len(got) != 1 || got[0]["id"] != h.mod.ID {
		t.Fatalf("roles.ofMember(mod) = %v", got)
	}
	out, err = h.call(h.origin, "roles.ofMember", h.plain.UserID)
	expectCode(t, out, err, "")
	if string(out) != "[]" {
		t.Fatalf("roles.ofMember(plain) = %s", out)
	}

	for _, c := range []struct {
		name, api string
		arg       any
		want      string
	}{
		{"unknown role", "roles.get", "123456789012345678", sandbox.CodeNotFound},
		{"role id that is not an id", "roles.get", "Boss", sandbox.CodeInvalidArgument},
		{"no role id", "roles.get", nil, sandbox.CodeInvalidArgument},
		{"roles of an unknown member", "roles.ofMember", "123456789012345678", sandbox.CodeNotFound},
		{"roles of a number", "roles.ofMember", 7, sandbox.CodeInvalidArgument},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := h.call(h.origin, c.api, c.arg)
			expectCode(t, out, err, c.want)
		})
	}
}

func TestRolesCreate(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t)
	before := len(h.srv.Roles(h.guild.ID))

	out, err := h.call(h.origin, "roles.create", map[string]any{
		"name": "Muted", "color": 0x99AAB5, "hoist": true, "permissions": strconv.FormatInt(discordgo.PermissionViewChannel, 10),
	})
	expectCode(t, out, err, "")
	got := decode[map[string]any](t, out)
	ro, ok := h.roleByName("Muted")
	if !ok || ro.Color != 0x99AAB5 || !ro.Hoist || ro.Permissions != discordgo.PermissionViewChannel || ro.Position != 1 {
		t.Fatalf("role in the guild %+v, %v", ro, ok)
	}
	if got["id"] != ro.ID || got["hexColor"] != "#99aab5" || got["permissions"] != strconv.FormatInt(discordgo.PermissionViewChannel, 10) {
		t.Fatalf("roles.create = %v", got)
	}
	h.expectAudit(t, "roles.create", "role:"+ro.ID, "ok")

	// A member with Manage Roles may create a role with permissions they hold.
	out, err = h.call(h.byMember(h.modM.UserID, h.modPerms), "roles.create", map[string]any{"name": "Quiet", "permissions": "0"})
	expectCode(t, out, err, "")
	if _, ok := h.roleByName("Quiet"); !ok {
		t.Fatal("no role Quiet")
	}
	before += 2

	for _, c := range []struct {
		name string
		o    extensions.Origin
		spec any
		want string
	}{
		{"Administrator", extensions.Origin{}, map[string]any{"name": "X", "permissions": strconv.FormatInt(discordgo.PermissionAdministrator, 10)}, sandbox.CodeForbidden},
		{"Ban Members as a number", extensions.Origin{}, map[string]any{"name": "X", "permissions": discordgo.PermissionBanMembers}, sandbox.CodeForbidden},
		{"Manage Roles", extensions.Origin{}, map[string]any{"name": "X", "permissions": strconv.FormatInt(discordgo.PermissionManageRoles|discordgo.PermissionViewChannel, 10)}, sandbox.CodeForbidden},
		{"Manage Webhooks", extensions.Origin{}, map[string]any{"name": "X", "permissions": strconv.FormatInt(discordgo.PermissionManageWebhooks, 10)}, sandbox.CodeForbidden},
		{"member without Manage Roles", h.byMember(h.alice.UserID, 0), map[string]any{"name": "X"}, sandbox.CodeForbidden},
		{"member granting what they lack", h.byMember(h.helperM.UserID, h.helperPerms|discordgo.PermissionManageRoles),
			map[string]any{"name": "X", "permissions": strconv.FormatInt(discordgo.PermissionMentionEveryone, 10)}, sandbox.CodeForbidden},
		{"no name", extensions.Origin{}, map[string]any{"color": 1}, sandbox.CodeInvalidArgument},
		{"empty name", extensions.Origin{}, map[string]any{"name": ""}, sandbox.CodeInvalidArgument},
		{"color out of range", extensions.Origin{}, map[string]any{"name": "X", "color": 0x1000000}, sandbox.CodeInvalidArgument},
		{"permissions that are not a number", extensions.Origin{}, map[string]any{"name": "X", "permissions": "all"}, sandbox.CodeInvalidArgument},
		{"unknown field", extensions.Origin{}, map[string]any{"name": "X", "position": 9}, sandbox.CodeInvalidArgument},
		{"no object", extensions.Origin{}, nil, sandbox.CodeInvalidArgument},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := h.or(c.o)
			out, err := h.call(o, "roles.create", c.spec)
			expectCode(t, out, err, c.want)
			if n := len(h.srv.Roles(h.guild.ID)); n != before {
				t.Fatalf("roles %d → %d", before, n)
			}
			h.expectAudit(t, "roles.create", "guild:"+h.guild.ID, c.want)
		})
	}
}

func TestRolesEditDelete(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t)

	out, err := h.call(h.origin, "roles.edit", h.member.ID, map[string]any{"name": "Members", "mentionable": true, "color": 0x00ff00})
	expectCode(t, out, err, "")
	if ro, _ := h.roleByID(h.member.ID); ro.Name != "Members" || !ro.Mentionable || ro.Color != 0x00ff00 {
		t.Fatalf("Member role = %+v", ro)
	}
	if got := decode[map[string]any](t, out); got["name"] != "Members" || got["hexColor"] != "#00ff00" {
		t.Fatalf("roles.edit = %v", got)
	}
	h.expectAudit(t, "roles.edit", "role:"+h.member.ID, "ok")

	out, err = h.call(h.origin, "roles.edit", h.member.ID, map[string]any{"permissions": strconv.FormatInt(discordgo.PermissionAddReactions, 10)})
	expectCode(t, out, err, "")
	if ro, _ := h.roleByID(h.member.ID); ro.Permissions != discordgo.PermissionAddReactions {
		t.Fatalf("Member permissions = %d", ro.Permissions)
	}

	edits := []struct {
		name    string
		o       extensions.Origin
		roleID  string
		changes any
		want    string
	}{
		{"role above skybot", extensions.Origin{}, h.boss.ID, map[string]any{"name": "Pwned"}, sandbox.CodeForbidden},
		{"skybot's own role", extensions.Origin{}, h.guild.BotRoleID, map[string]any{"name": "Pwned"}, sandbox.CodeForbidden},
		{"dangerous permission", extensions.Origin{}, h.helper.ID, map[string]any{"permissions": strconv.FormatInt(discordgo.PermissionKickMembers, 10)}, sandbox.CodeForbidden},
		{"member without Manage Roles", h.byMember(h.alice.UserID, discordgo.PermissionBanMembers), h.helper.ID, map[string]any{"name": "Pwned"}, sandbox.CodeForbidden},
		{"member editing a role above their own", h.byMember(h.helperM.UserID, discordgo.PermissionManageRoles), h.mod.ID, map[string]any{"name": "Pwned"}, sandbox.CodeForbidden},
		{"nothing to change", extensions.Origin{}, h.helper.ID, map[string]any{}, sandbox.CodeInvalidArgument},
		{"name too long", extensions.Origin{}, h.helper.ID, map[string]any{"name": strings.Repeat("n", 101)}, sandbox.CodeInvalidArgument},
		{"unknown role", extensions.Origin{}, "123456789012345678", map[string]any{"name": "Pwned"}, sandbox.CodeNotFound},
	}
	for _, c := range edits {
		t.Run("edit/"+c.name, func(t *testing.T) {
			before, _ := h.roleByID(c.roleID)
			o := h.or(c.o)
			out, err := h.call(o, "roles.edit", c.roleID, c.changes)
			expectCode(t, out, err, c.want)
			if after, _ := h.roleByID(c.roleID); before != nil && (after.Name != before.Name || after.Permissions != before.Permissions) {
				t.Fatalf("role changed: %+v → %+v", before, after)
			}
			h.expectAudit(t, "roles.edit", "role:"+c.roleID, c.want)
		})
	}

	deletes := []struct {
		name   string
		o      extensions.Origin
		roleID string
		want   string
	}{
		{"role above skybot", extensions.Origin{}, h.boss.ID, sandbox.CodeForbidden},
		{"skybot's own managed role", extensions.Origin{}, h.guild.BotRoleID, sandbox.CodeForbidden},
		{"@everyone", extensions.Origin{}, h.guild.ID, sandbox.CodeInvalidArgument},
		{"member without Manage Roles", h.byMember(h.alice.UserID, 0), h.helper.ID, sandbox.CodeForbidden},
		{"unknown role", extensions.Origin{}, "123456789012345678", sandbox.CodeNotFound},
		{"not an id", extensions.Origin{}, "Helper", sandbox.CodeInvalidArgument},
	}
	for _, c := range deletes {
		t.Run("delete/"+c.name, func(t *testing.T) {
			_, existed := h.roleByID(c.roleID)
			o := h.or(c.o)
			out, err := h.call(o, "roles.delete", c.roleID)
			expectCode(t, out, err, c.want)
			if _, exists := h.roleByID(c.roleID); exists != existed {
				t.Fatalf("role %s exists: %v → %v", c.roleID, existed, exists)
			}
		})
	}

	out, err = h.call(h.origin, "roles.delete", h.helper.ID)
	expectCode(t, out, err, "")
	if _, ok := h.roleByID(h.helper.ID); ok {
		t.Fatal("Helper still exists")
	}
	if m, _ := h.srv.Member(h.guild.ID, h.helperM.UserID); len(m.Roles) != 0 {
		t.Fatalf("helper still holds %v", m.Roles)
	}
	h.expectAudit(t, "roles.delete", "role:"+h.helper.ID, "ok")
}

func TestRolesAddRemove(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t)
	roles := func(userID string) []string {
		m, ok := h.srv.Member(h.guild.ID, userID)
		if !ok {
			t.Fatalf("no member %s", userID)
		}
		return m.Roles
	}
	target := func(userID, roleID string) string { return "user:" + userID + " role:" + roleID }

	out, err := h.call(h.origin, "roles.add", h.plain.UserID, h.member.ID, map[string]any{"reason": "verified"})
	expectCode(t, out, err, "")
	if got := roles(h.plain.UserID); !slices.Equal(got, []string{h.member.ID}) {
		t.Fatalf("plain's roles %v", got)
	}
	h.expectAudit(t, "roles.add", target(h.plain.UserID, h.member.ID), "ok")

	out, err = h.call(h.byMember(h.modM.UserID, h.modPerms), "roles.remove", h.plain.UserID, h.member.ID)
	expectCode(t, out, err, "")
	if got := roles(h.plain.UserID); len(got) != 0 {
		t.Fatalf("plain's roles %v after remove", got)
	}
	h.expectAudit(t, "roles.remove", target(h.plain.UserID, h.member.ID), "ok")

	// A member may take a role for themself (a "get the role" button)
	// without Manage Roles, even one above their own highest role.
	self := h.byMember(h.plain.UserID, 0)
	out, err = h.call(self, "roles.add", h.plain.UserID, h.helper.ID)
	expectCode(t, out, err, "")
	if got := roles(h.plain.UserID); !slices.Equal(got, []string{h.helper.ID}) {
		t.Fatalf("plain's roles %v after taking Helper", got)
	}
	h.settle()
	out, err = h.call(self, "roles.remove", h.plain.UserID, h.helper.ID)
	expectCode(t, out, err, "")
	if got := roles(h.plain.UserID); len(got) != 0 {
		t.Fatalf("plain's roles %v after dropping Helper", got)
	}
	h.settle()

	for _, c := range []struct {
		name           string
		o              extensions.Origin
		userID, roleID string
		want           string
	}{
		{"role above skybot", extensions.Origin{}, h.plain.UserID, h.boss.ID, sandbox.CodeForbidden},
		{"skybot's own managed role", extensions.Origin{}, h.plain.UserID, h.guild.BotRoleID, sandbox.CodeForbidden},
		{"member above skybot", extensions.Origin{}, h.bossM.UserID, h.member.ID, sandbox.CodeForbidden},
		{"guild owner", extensions.Origin{}, h.guild.OwnerID, h.member.ID, sandbox.CodeForbidden},
		{"member without Manage Roles", h.byMember(h.alice.UserID, discordgo.PermissionKickMembers), h.plain.UserID, h.member.ID, sandbox.CodeForbidden},
		{"member giving a role above their own", h.byMember(h.helperM.UserID, discordgo.PermissionManageRoles), h.plain.UserID, h.mod.ID, sandbox.CodeForbidden},
		{"@everyone", extensions.Origin{}, h.plain.UserID, h.guild.ID, sandbox.CodeInvalidArgument},
		{"role id that is not an id", extensions.Origin{}, h.plain.UserID, "Member", sandbox.CodeInvalidArgument},
		{"unknown member", extensions.Origin{}, "123456789012345678", h.member.ID, sandbox.CodeNotFound},
		{"unknown role", extensions.Origin{}, h.plain.UserID, "123456789012345678", sandbox.CodeNotFound},
	} {
		for _, api := range []string{"roles.add", "roles.remove"} {
			t.Run(api+"/"+c.name, func(t *testing.T) {
				o := h.or(c.o)
				var before []string
				if h.isMember(c.userID) {
					before = roles(c.userID)
				}
				out, err := h.call(o, api, c.userID, c.roleID)
				expectCode(t, out, err, c.want)
				if h.isMember(c.userID) && !sameSet(roles(c.userID), before) {
					t.Fatalf("roles changed: %v → %v", before, roles(c.userID))
				}
				want := target(c.userID, c.roleID)
				if c.want == sandbox.CodeInvalidArgument && c.roleID == "Member" {
					want = "user:" + c.userID // the target names only valid ids
				}
				h.expectAudit(t, api, want, c.want)
			})
		}
	}
}

func TestGuildGetEdit(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	voice := r.srv.AddChannel(r.guild.ID, "Lounge", discordgo.ChannelTypeGuildVoice)
	r.settle()

	out, err := r.call(r.origin, "guild.get")
	expectCode(t, out, err, "")
	g := decode[map[string]any](t, out)
	if g["id"] != r.guild.ID || g["name"] != "Rig" || g["ownerId"] != r.guild.OwnerID || g["memberCount"] != 2.0 ||
		g["roleCount"] != 2.0 || g["channelCount"] != 2.0 || g["afkTimeout"] != 300.0 || g["systemChannelId"] != nil || g["icon"] != nil {
		t.Fatalf("guild.get = %v", g)
	}

	// skybot's role lacks Manage Guild in a new guild: Discord refuses.
	out, err = r.call(r.origin, "guild.edit", map[string]any{"name": "Renamed"})
	expectCode(t, out, err, sandbox.CodeForbidden)
	if gg, _ := r.srv.Guild(r.guild.ID); gg.Name != "Rig" {
		t.Fatalf("guild renamed to %q", gg.Name)
	}
	r.expectAudit(t, "guild.edit", "guild:"+r.guild.ID, "FORBIDDEN (discord 50013)")

	if err := r.srv.SetRolePermissions(r.guild.ID, r.guild.BotRoleID, discordtest.DefaultBotPermissions|discordgo.PermissionManageGuild); err != nil {
		t.Fatal(err)
	}
	r.settle()
	out, err = r.call(r.origin, "guild.edit", map[string]any{"name": "Renamed", "systemChannelId": r.general.ID, "afkChannelId": voice.ID, "afkTimeout": 900})
	expectCode(t, out, err, "")
	gg, _ := r.srv.Guild(r.guild.ID)
	if gg.Name != "Renamed" || gg.SystemChannelID != r.general.ID || gg.AfkChannelID != voice.ID || gg.AfkTimeout != 900 {
		t.Fatalf("guild after edit: name %q system %q afk %q/%d", gg.Name, gg.SystemChannelID, gg.AfkChannelID, gg.AfkTimeout)
	}
	if g := decode[map[string]any](t, out); g["name"] != "Renamed" || g["systemChannelId"] != r.general.ID || g["afkTimeout"] != 900.0 || g["memberCount"] != 2.0 {
		t.Fatalf("guild.edit = %v", g)
	}
	r.expectAudit(t, "guild.edit", "guild:"+r.guild.ID, "ok")

	out, err = r.call(r.byMember(r.guild.OwnerID, discordgo.PermissionAll), "guild.edit", map[string]any{"systemChannelId": nil})
	expectCode(t, out, err, "")
	if gg, _ := r.srv.Guild(r.guild.ID); gg.SystemChannelID != "" || gg.AfkChannelID != voice.ID {
		t.Fatalf("system channel %q, afk %q after clearing the system channel", gg.SystemChannelID, gg.AfkChannelID)
	}

	for _, c := range []struct {
		name    string
		member  bool
		changes any
		want    string
	}{
		{"member without Manage Guild", true, map[string]any{"name": "Pwned"}, sandbox.CodeForbidden},
		{"icon", false, map[string]any{"icon": "data:image/png;base64,AAAA"}, sandbox.CodeInvalidArgument},
		{"name and an unknown field", false, map[string]any{"name": "Pwned", "owner": "1"}, sandbox.CodeInvalidArgument},
		{"nothing", false, map[string]any{}, sandbox.CodeInvalidArgument},
		{"no object", false, nil, sandbox.CodeInvalidArgument},
		{"name too short", false, map[string]any{"name": "x"}, sandbox.CodeInvalidArgument},
		{"odd AFK timeout", false, map[string]any{"afkTimeout": 61}, sandbox.CodeInvalidArgument},
		{"system channel that is not an id", false, map[string]any{"systemChannelId": "general"}, sandbox.CodeInvalidArgument},
		{"voice channel as system channel", false, map[string]any{"systemChannelId": voice.ID}, sandbox.CodeInvalidArgument},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := r.origin
			if c.member {
				o = r.byMember(r.guild.OwnerID, discordgo.PermissionBanMembers)
			}
			out, err := r.call(o, "guild.edit", c.changes)
			expectCode(t, out, err, c.want)
			if gg, _ := r.srv.Guild(r.guild.ID); gg.Name != "Renamed" || gg.SystemChannelID != "" {
				t.Fatalf("guild changed: %q, system channel %q", gg.Name, gg.SystemChannelID)
			}
			r.expectAudit(t, "guild.edit", "guild:"+r.guild.ID, c.want)
		})
	}
}

func TestMembersRead(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t)
	if err := h.session.GuildMemberNickname(h.guild.ID, h.helperM.UserID, "Alfie"); err != nil {
		t.Fatal(err)
	}
	h.settle()

	out, err := h.call(h.origin, "members.get", h.alice.UserID)
	expectCode(t, out, err, "")
	m := decode[map[string]any](t, out)
	user, _ := m["user"].(map[string]any)
	if m["id"] != h.alice.UserID || m["nickname"] != nil || m["displayName"] != "alice" || m["communicationDisabledUntil"] != nil ||
		m["joinedTimestamp"] == nil || !slices.Equal(toStrings(m["roles"]), []string{h.member.ID}) ||
		user["id"] != h.alice.UserID || user["username"] != "alice" || user["bot"] != false || user["avatar"] != nil {
		t.Fatalf("members.get(alice) = %v", m)
	}
	out, err = h.call(h.origin, "members.get", h.helperM.UserID)
	expectCode(t, out, err, "")
	if m := decode[map[string]any](t, out); m["nickname"] != "Alfie" || m["displayName"] != "Alfie" {
		t.Fatalf("members.get(helper) = %v", m)
	}

	ids := func(out json.RawMessage) []string {
		var ms []struct{ ID string }
		if err := json.Unmarshal(out, &ms); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		return ids
	}
	// "al" matches alice's username and helper's nickname.
	out, err = h.call(h.origin, "members.search", "al")
	expectCode(t, out, err, "")
	if got := ids(out); !sameSet(got, []string{h.alice.UserID, h.helperM.UserID}) {
		t.Fatalf("members.search(al) = %v", got)
	}
	out, err = h.call(h.origin, "members.search", "al", 1)
	expectCode(t, out, err, "")
	if got := ids(out); len(got) != 1 {
		t.Fatalf("members.search(al, 1) = %v", got)
	}

	all := h.srv.Members(h.guild.ID)
	var sorted []string
	for _, m := range all {
		sorted = append(sorted, m.User.ID)
	}
	slices.SortFunc(sorted, idCompare)
	out, err = h.call(h.origin, "members.list")
	expectCode(t, out, err, "")
	if got := ids(out); !slices.Equal(got, sorted) {
		t.Fatalf("members.list() = %v, want %v", got, sorted)
	}
	out, err = h.call(h.origin, "members.list", map[string]any{"limit": 2, "after": sorted[1]})
	expectCode(t, out, err, "")
	if got := ids(out); !slices.Equal(got, sorted[2:4]) {
		t.Fatalf("members.list(2 after %s) = %v, want %v", sorted[1], got, sorted[2:4])
	}

	for _, c := range []struct {
		name, api string
		args      []any
		want      string
	}{
		{"get an unknown member", "members.get", []any{"123456789012345678"}, sandbox.CodeNotFound},
		{"get without an id", "members.get", nil, sandbox.CodeInvalidArgument},
		{"search without a query", "members.search", []any{""}, sandbox.CodeInvalidArgument},
		{"search over 100", "members.search", []any{"a", 101}, sandbox.CodeInvalidArgument},
		{"search a number", "members.search", []any{5}, sandbox.CodeInvalidArgument},
		{"list over 1000", "members.list", []any{map[string]any{"limit": 1001}}, sandbox.CodeInvalidArgument},
		{"list after a name", "members.list", []any{map[string]any{"after": "alice"}}, sandbox.CodeInvalidArgument},
		{"list with an unknown option", "members.list", []any{map[string]any{"before": sorted[1]}}, sandbox.CodeInvalidArgument},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := h.call(h.origin, c.api, c.args...)
			expectCode(t, out, err, c.want)
		})
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestMembersSetNickname(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t)
	nick := func(userID string) string {
		m, _ := h.srv.Member(h.guild.ID, userID)
		return m.Nick
	}

	out, err := h.call(h.origin, "members.setNickname", h.alice.UserID, "Ally")
	expectCode(t, out, err, "")
	if got := nick(h.alice.UserID); got != "Ally" {
		t.Fatalf("alice's nickname %q", got)
	}
	h.expectAudit(t, "members.setNickname", "user:"+h.alice.UserID, "ok")
	// A member may set their own nickname through a command.
	out, err = h.call(h.byMember(h.alice.UserID, discordgo.PermissionChangeNickname), "members.setNickname", h.alice.UserID, "Me")
	expectCode(t, out, err, "")
	if got := nick(h.alice.UserID); got != "Me" {
		t.Fatalf("alice's nickname %q", got)
	}
	h.settle()
	out, err = h.call(h.byMember(h.modM.UserID, h.modPerms), "members.setNickname", h.alice.UserID, nil)
	expectCode(t, out, err, "")
	if got := nick(h.alice.UserID); got != "" {
		t.Fatalf("alice's nickname %q after clearing it", got)
	}

	for _, c := range []struct {
		name   string
		o      extensions.Origin
		userID string
		args   []any
		want   string
	}{
		{"member above skybot", extensions.Origin{}, h.bossM.UserID, []any{"Pwned"}, sandbox.CodeForbidden},
		{"guild owner", extensions.Origin{}, h.guild.OwnerID, []any{"Pwned"}, sandbox.CodeForbidden},
		{"member without Manage Nicknames", h.byMember(h.helperM.UserID, h.helperPerms), h.plain.UserID, []any{"Pwned"}, sandbox.CodeForbidden},
		{"nickname too long", extensions.Origin{}, h.plain.UserID, []any{strings.Repeat("n", 33)}, sandbox.CodeInvalidArgument},
		{"no nickname", extensions.Origin{}, h.plain.UserID, nil, sandbox.CodeInvalidArgument},
		{"nickname of the wrong type", extensions.Origin{}, h.plain.UserID, []any{true}, sandbox.CodeInvalidArgument},
		{"unknown member", extensions.Origin{}, "123456789012345678", []any{"Pwned"}, sandbox.CodeNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := h.or(c.o)
			out, err := h.call(o, "members.setNickname", append([]any{c.userID}, c.args...)...)
			expectCode(t, out, err, c.want)
			if h.isMember(c.userID) && nick(c.userID) != "" {
				t.Fatalf("nickname set to %q", nick(c.userID))
			}
			h.expectAudit(t, "members.setNickname", "user:"+c.userID, c.want)
		})
	}
}

// TestChecksWithoutState: when gateway State lacks a member (or the whole
// guild), the executor asks Discord, and the hierarchy still holds.
func TestChecksWithoutState(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t)
	for _, m := range []discordtest.Member{h.bossM, h.alice} {
		if err := h.session.State.MemberRemove(&discordgo.Member{GuildID: h.guild.ID, User: &discordgo.User{ID: m.UserID}}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := h.call(h.origin, "members.get", h.alice.UserID)
	expectCode(t, out, err, "")
	if m := decode[map[string]any](t, out); m["id"] != h.alice.UserID || m["displayName"] != "alice" {
		t.Fatalf("members.get(alice) = %v", m)
	}
	out, err = h.call(h.origin, "moderation.kick", h.bossM.UserID)
	expectCode(t, out, err, sandbox.CodeForbidden)
	if strings.Contains(err.Error(), "Discord refused") || !h.isMember(h.bossM.UserID) {
		t.Fatalf("kick of boss: %v, still a member: %v", err, h.isMember(h.bossM.UserID))
	}

	g, err := h.session.State.Guild(h.guild.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.session.State.GuildRemove(g); err != nil {
		t.Fatal(err)
	}
	out, err = h.call(h.origin, "guild.get")
	expectCode(t, out, err, "")
	if g := decode[map[string]any](t, out); g["name"] != "Rig" || g["memberCount"] != 8.0 || g["roleCount"] != 6.0 || g["channelCount"] != 1.0 {
		t.Fatalf("guild.get from Discord = %v", g)
	}
	out, err = h.call(h.origin, "roles.edit", h.boss.ID, map[string]any{"name": "Pwned"})
	expectCode(t, out, err, sandbox.CodeForbidden)
	if strings.Contains(err.Error(), "Discord refused") {
		t.Fatalf("refused by Discord, not before asking it: %v", err)
	}
	out, err = h.call(h.origin, "moderation.timeout", h.alice.UserID, 60_000)
	expectCode(t, out, err, "")
}
