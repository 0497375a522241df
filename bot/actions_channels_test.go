package bot

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
)

// chanWorld is a msgWorld with a guild elsewhere holding a thread and a
// webhook of its own, recording audit-log reasons. fresh adds what one
// case acts on, so that cases can share the world.
type chanWorld struct {
	*msgWorld
	foreignThread discordtest.Channel // started by foreignOwner
	foreignHook   *discordgo.Webhook
	foreignOwner  string

	// Made by fresh for each case.
	text, other     discordtest.Channel // text channels
	category, voice discordtest.Channel
	thread          discordtest.Channel // alice's, in text
	hook            *discordgo.Webhook  // in text
	startMsg        *discordgo.Message  // alice's, in text
	bob             discordtest.Member  // added by a case that needs him
	mark            int64               // the audit mark before the case's call
}

func newChanWorld(t *testing.T) *chanWorld {
	w := &chanWorld{msgWorld: newMsgWorld(t)}
	elsewhere, _ := w.srv.Channel(w.foreign.ID)
	w.foreignOwner = w.srv.Members(elsewhere.GuildID)[0].User.ID
	var err error
	if w.foreignThread, err = w.srv.AddThread(w.foreign.ID, w.foreignOwner, "theirs"); err != nil {
		t.Fatal(err)
	}
	if w.foreignHook, err = w.session.WebhookCreate(w.foreign.ID, "Foreign", ""); err != nil {
		t.Fatal(err)
	}
	return w
}

// fresh makes new channels, a thread, a webhook and a message to act on.
func (w *chanWorld) fresh(t *testing.T) {
	t.Helper()
	w.text = w.srv.AddChannel(w.guild.ID, "text", discordgo.ChannelTypeGuildText)
	w.other = w.srv.AddChannel(w.guild.ID, "other", discordgo.ChannelTypeGuildText)
	w.category = w.srv.AddChannel(w.guild.ID, "Info", discordgo.ChannelTypeGuildCategory)
	w.voice = w.srv.AddChannel(w.guild.ID, "Lounge", discordgo.ChannelTypeGuildVoice)
	var err error
	if w.thread, err = w.srv.AddThread(w.text.ID, w.alice.UserID, "chat"); err != nil {
		t.Fatal(err)
	}
	if w.hook, err = w.session.WebhookCreate(w.text.ID, "Herald", ""); err != nil {
		t.Fatal(err)
	}
	w.startMsg = w.say(t, w.text.ID, "start here")
}

// channel returns a channel of the emulated guild (ok false once deleted).
func (w *chanWorld) channel(id string) (*discordgo.Channel, bool) { return w.srv.Channel(id) }

// webhook returns a webhook as the emulator holds it.
func (w *chanWorld) webhook(guildID, id string) (*discordgo.Webhook, bool) {
	for _, h := range w.srv.Webhooks(guildID) {
		if h.ID == id {
			return h, true
		}
	}
	return nil, false
}

func TestChannelsRead(t *testing.T) {
	t.Parallel()
	w := newChanWorld(t)
	w.fresh(t)
	inGuild := len(w.srv.Channels(w.guild.ID))
	if err := w.srv.SetChannelParent(w.other.ID, w.category.ID); err != nil {
		t.Fatal(err)
	}

	out, err := w.call(w.origin, "channels.list")
	requireCode(t, err, "")
	var list []map[string]any
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatal(err)
	}
	byID := map[any]map[string]any{}
	for _, c := range list {
		byID[c["id"]] = c
	}
	if len(list) != inGuild-1 { // the thread is not listed
		t.Fatalf("%d channels listed, want %d: %s", len(list), inGuild-1, out)
	}
	for id, typ := range map[string]string{w.general.ID: "text", w.category.ID: "category", w.voice.ID: "voice"} {
		if byID[id]["type"] != typ {
			t.Fatalf("channel %s listed as %v, want %s", id, byID[id], typ)
		}
	}
	if byID[w.other.ID]["parentId"] != w.category.ID || byID[w.general.ID]["parentId"] != nil {
		t.Fatalf("parents: other %v, general %v", byID[w.other.ID]["parentId"], byID[w.general.ID]["parentId"])
	}

	out, err = w.call(w.origin, "channels.get", w.thread.ID)
	requireCode(t, err, "")
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "name", "type", "parentId", "topic", "nsfw", "position", "rateLimitPerUser"} {
		if _, ok := got[k]; !ok {
			t.Fatalf("ChannelData %s has no %s", out, k)
		}
	}
	if got["type"] != "thread" || got["parentId"] != w.text.ID || got["name"] != "chat" || got["topic"] != nil {
		t.Fatalf("thread %s", out)
	}

	for _, tc := range []struct {
		name string
		args []any
		code string
	}{
		{"channel of another guild", []any{w.foreign.ID}, sandbox.CodeNotFound},
		{"thread of another guild", []any{w.foreignThread.ID}, sandbox.CodeNotFound},
		{"unknown channel", []any{"123456789012345678"}, sandbox.CodeNotFound},
		{"not an id", []any{"general"}, sandbox.CodeInvalidArgument},
		{"no id", nil, sandbox.CodeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.call(w.origin, "channels.get", tc.args...)
			requireCode(t, err, tc.code)
		})
	}
	if rows := append(auditRowsOf(t, w.rig, "channels.list"), auditRowsOf(t, w.rig, "channels.get")...); len(rows) != 0 {
		t.Fatalf("reads left audit rows: %+v", rows)
	}
}

// chanCase is one call of a channels, threads or webhooks API in a fresh
// chanWorld.
type chanCase struct {
	name   string
	scopes []string // nil: every scope
	origin func(w *chanWorld) extensions.Origin
	api    string
	args   func(w *chanWorld) []any
	code   string
	// check looks at the guild after a success; unchanged after a refusal.
	check     func(t *testing.T, w *chanWorld, out json.RawMessage)
	unchanged func(t *testing.T, w *chanWorld)
}

func runChanCases(t *testing.T, cases []chanCase) {
	t.Helper()
	w := newChanWorld(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w.fresh(t)
			scopes := tc.scopes
			if scopes == nil {
				scopes = scopesBut()
			}
			o := w.origin
			if tc.origin != nil {
				o = tc.origin(w)
			}
			args := tc.args(w)
			mark, channels := auditMark(t, w.rig), len(w.srv.Channels(w.guild.ID))
			w.mark = mark
			out, err := w.callGranted(o, scopes, tc.api, args...)
			requireCode(t, err, tc.code)
			if strings.Contains(string(out), "token") {
				t.Fatalf("a result names a token: %s", out)
			}
			for _, h := range append(w.srv.Webhooks(w.guild.ID), w.srv.Webhooks(w.foreignHook.GuildID)...) {
				if h.Token != "" && strings.Contains(string(out), h.Token) {
					t.Fatalf("a result carries webhook %s's token: %s", h.ID, out)
				}
			}
			switch tc.api {
			case "channels.list", "channels.get", "webhooks.list":
				noAudit(t, w.rig, mark)
			default:
				wantAudit(t, w.rig, mark, tc.api, outcomeFor(tc.code))
			}
			if tc.code != "" {
				if n := len(w.srv.Channels(w.guild.ID)); n != channels {
					t.Fatalf("refused, yet the guild's %d channels became %d", channels, n)
				}
				if tc.unchanged != nil {
					tc.unchanged(t, w)
				}
				return
			}
			tc.check(t, w, out)
		})
	}
}

func TestChannelsManage(t *testing.T) {
	t.Parallel()
	created := func(t *testing.T, w *chanWorld, out json.RawMessage) (*discordgo.Channel, map[string]any) {
		t.Helper()
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		c, ok := w.channel(got["id"].(string))
		if !ok || c.GuildID != w.guild.ID {
			t.Fatalf("channel %s not in the guild", out)
		}
		return c, got
	}
	textNamed := func(name string) func(t *testing.T, w *chanWorld) {
		return func(t *testing.T, w *chanWorld) {
			if c, _ := w.channel(w.text.ID); c.Name != name {
				t.Fatalf("the text channel is now %q", c.Name)
			}
		}
	}
	noMember := func(w *chanWorld) extensions.Origin {
		return asMember(w.origin, w.alice.UserID, discordgo.PermissionSendMessages|discordgo.PermissionManageMessages)
	}
	runChanCases(t, []chanCase{
		{name: "create a text channel in a category", api: "channels.create",
			args: func(w *chanWorld) []any {
				return []any{map[string]any{"name": "news", "topic": "what's new", "parentId": w.category.ID}}
			},
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				c, got := created(t, w, out)
				if c.Name != "news" || c.Type != discordgo.ChannelTypeGuildText || c.Topic != "what's new" || c.ParentID != w.category.ID {
					t.Fatalf("created %+v", c)
				}
				if got["type"] != "text" || got["parentId"] != w.category.ID || got["topic"] != "what's new" {
					t.Fatalf("ChannelData %s", out)
				}
				if r := w.wire.reason("POST", "/guilds/"+w.guild.ID+"/channels"); r != "ext:rigext" {
					t.Fatalf("audit log reason %q", r)
				}
				wantAudit(t, w.rig, w.mark, "channels.create", "ok", "channel:"+c.ID)
			}},
		{name: "create a voice channel", api: "channels.create",
			args: func(*chanWorld) []any { return []any{map[string]any{"name": "talk", "type": "voice"}} },
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				if c, got := created(t, w, out); c.Type != discordgo.ChannelTypeGuildVoice || got["type"] != "voice" {
					t.Fatalf("created %+v", c)
				}
			}},
		{name: "create a category", api: "channels.create",
			args: func(*chanWorld) []any { return []any{map[string]any{"name": "Games", "type": "category"}} },
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				if c, got := created(t, w, out); c.Type != discordgo.ChannelTypeGuildCategory || got["type"] != "category" {
					t.Fatalf("created %+v", c)
				}
			}},
		{name: "create a forum", api: "channels.create", code: sandbox.CodeInvalidArgument,
			args: func(*chanWorld) []any { return []any{map[string]any{"name": "f", "type": "forum"}} }},
		{name: "create without a name", api: "channels.create", code: sandbox.CodeInvalidArgument,
			args: func(*chanWorld) []any { return []any{map[string]any{"type": "text"}} }},
		{name: "create with a name of 101 characters", api: "channels.create", code: sandbox.CodeInvalidArgument,
			args: func(*chanWorld) []any { return []any{map[string]any{"name": strings.Repeat("n", 101)}} }},
		{name: "create under a text channel", api: "channels.create", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any { return []any{map[string]any{"name": "x", "parentId": w.text.ID}} }},
		{name: "create under another guild's channel", api: "channels.create", code: sandbox.CodeNotFound,
			args: func(w *chanWorld) []any { return []any{map[string]any{"name": "x", "parentId": w.foreign.ID}} }},
		{name: "create a category with a topic", api: "channels.create", code: sandbox.CodeInvalidArgument,
			args: func(*chanWorld) []any { return []any{map[string]any{"name": "x", "type": "category", "topic": "t"}} }},
		{name: "create for a member without Manage Channels", api: "channels.create", code: sandbox.CodeForbidden,
			origin: noMember, args: func(*chanWorld) []any { return []any{map[string]any{"name": "x"}} }},
		{name: "create for a member with Manage Channels", api: "channels.create",
			origin: func(w *chanWorld) extensions.Origin {
				return asMember(w.origin, w.alice.UserID, discordgo.PermissionManageChannels)
			},
			args: func(*chanWorld) []any { return []any{map[string]any{"name": "x"}} },
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				created(t, w, out)
			}},

		{name: "edit name and topic", api: "channels.edit",
			args: func(w *chanWorld) []any {
				return []any{w.text.ID, map[string]any{"name": "lobby", "topic": "hi", "nsfw": true, "parentId": w.category.ID}}
			},
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				c, _ := w.channel(w.text.ID)
				if c.Name != "lobby" || c.Topic != "hi" || !c.NSFW || c.ParentID != w.category.ID {
					t.Fatalf("edited %+v", c)
				}
				var got map[string]any
				if err := json.Unmarshal(out, &got); err != nil || got["name"] != "lobby" || got["nsfw"] != true {
					t.Fatalf("ChannelData %s", out)
				}
				if r := w.wire.reason("PATCH", "/channels/"+w.text.ID); r != "ext:rigext" {
					t.Fatalf("audit log reason %q", r)
				}
				wantAudit(t, w.rig, w.mark, "channels.edit", "ok", "channel:"+w.text.ID)
			}},
		{name: "edit clears topic and parent", api: "channels.edit",
			args: func(w *chanWorld) []any {
				if _, err := w.session.ChannelEdit(w.other.ID, &discordgo.ChannelEdit{Topic: "old", ParentID: w.category.ID}); err != nil {
					panic(err)
				}
				return []any{w.other.ID, map[string]any{"topic": nil, "parentId": nil}}
			},
			check: func(t *testing.T, w *chanWorld, _ json.RawMessage) {
				if c, _ := w.channel(w.other.ID); c.Topic != "" || c.ParentID != "" {
					t.Fatalf("topic %q parent %q", c.Topic, c.ParentID)
				}
			}},
		{name: "edit with an unknown field", api: "channels.edit", code: sandbox.CodeInvalidArgument,
			args:      func(w *chanWorld) []any { return []any{w.text.ID, map[string]any{"name": "x", "bitrate": 8000}} },
			unchanged: textNamed("text")},
		{name: "edit with nothing", api: "channels.edit", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any { return []any{w.text.ID, map[string]any{}} }},
		{name: "edit with a wrong type", api: "channels.edit", code: sandbox.CodeInvalidArgument,
			args:      func(w *chanWorld) []any { return []any{w.text.ID, map[string]any{"name": 5}} },
			unchanged: textNamed("text")},
		{name: "edit another guild's channel", api: "channels.edit", code: sandbox.CodeNotFound,
			args: func(w *chanWorld) []any { return []any{w.foreign.ID, map[string]any{"name": "mine"}} },
			unchanged: func(t *testing.T, w *chanWorld) {
				if c, _ := w.channel(w.foreign.ID); c.Name != "foreign" {
					t.Fatalf("foreign channel renamed %q", c.Name)
				}
			}},
		{name: "edit for a member without Manage Channels", api: "channels.edit", code: sandbox.CodeForbidden,
			origin: noMember, args: func(w *chanWorld) []any { return []any{w.text.ID, map[string]any{"name": "x"}} },
			unchanged: textNamed("text")},

		{name: "delete", api: "channels.delete",
			args: func(w *chanWorld) []any { return []any{w.other.ID} },
			check: func(t *testing.T, w *chanWorld, _ json.RawMessage) {
				if _, ok := w.channel(w.other.ID); ok {
					t.Fatal("channel still there")
				}
				if r := w.wire.reason("DELETE", "/channels/"+w.other.ID); r != "ext:rigext" {
					t.Fatalf("audit log reason %q", r)
				}
				wantAudit(t, w.rig, w.mark, "channels.delete", "ok", "channel:"+w.other.ID, "name:other")
			}},
		{name: "delete another guild's channel", api: "channels.delete", code: sandbox.CodeNotFound,
			args: func(w *chanWorld) []any { return []any{w.foreign.ID} },
			unchanged: func(t *testing.T, w *chanWorld) {
				if _, ok := w.channel(w.foreign.ID); !ok {
					t.Fatal("foreign channel deleted")
				}
			}},
		{name: "delete for a member without Manage Channels", api: "channels.delete", code: sandbox.CodeForbidden,
			origin: noMember, args: func(w *chanWorld) []any { return []any{w.other.ID} }},
		{name: "delete for an administrator", api: "channels.delete",
			origin: func(w *chanWorld) extensions.Origin {
				return asMember(w.origin, w.alice.UserID, discordgo.PermissionAdministrator)
			},
			args: func(w *chanWorld) []any { return []any{w.other.ID} },
			check: func(t *testing.T, w *chanWorld, _ json.RawMessage) {
				if _, ok := w.channel(w.other.ID); ok {
					t.Fatal("channel still there")
				}
			}},
		{name: "delete a path", api: "channels.delete", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any { return []any{w.other.ID + "/messages"} }},

		{name: "slowmode", api: "channels.setSlowmode",
			args: func(w *chanWorld) []any { return []any{w.text.ID, 30} },
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				if c, _ := w.channel(w.text.ID); c.RateLimitPerUser != 30 {
					t.Fatalf("slowmode %d", c.RateLimitPerUser)
				}
				var got map[string]any
				if err := json.Unmarshal(out, &got); err != nil || got["rateLimitPerUser"] != float64(30) {
					t.Fatalf("ChannelData %s", out)
				}
			}},
		{name: "slowmode off", api: "channels.setSlowmode",
			args: func(w *chanWorld) []any {
				if _, err := w.session.ChannelEdit(w.text.ID, &discordgo.ChannelEdit{RateLimitPerUser: new(int)}); err != nil {
					panic(err)
				}
				return []any{w.text.ID, 0}
			},
			check: func(t *testing.T, w *chanWorld, _ json.RawMessage) {
				if c, _ := w.channel(w.text.ID); c.RateLimitPerUser != 0 {
					t.Fatalf("slowmode %d", c.RateLimitPerUser)
				}
			}},
		{name: "slowmode over 6 hours", api: "channels.setSlowmode", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any { return []any{w.text.ID, 21601} }},
		{name: "slowmode without seconds", api: "channels.setSlowmode", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any { return []any{w.text.ID} }},
		{name: "slowmode of a fraction", api: "channels.setSlowmode", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any { return []any{w.text.ID, 1.5} }},
		{name: "slowmode for a member without Manage Channels", api: "channels.setSlowmode", code: sandbox.CodeForbidden,
			origin: noMember, args: func(w *chanWorld) []any { return []any{w.text.ID, 30} },
			unchanged: func(t *testing.T, w *chanWorld) {
				if c, _ := w.channel(w.text.ID); c.RateLimitPerUser != 0 {
					t.Fatalf("slowmode %d", c.RateLimitPerUser)
				}
			}},
	})
}

func TestThreads(t *testing.T) {
	t.Parallel()
	threadOf := func(t *testing.T, w *chanWorld, out json.RawMessage) *discordgo.Channel {
		t.Helper()
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil || got["type"] != "thread" {
			t.Fatalf("ChannelData %s: %v", out, err)
		}
		c, ok := w.channel(got["id"].(string))
		if !ok || !c.IsThread() || c.GuildID != w.guild.ID {
			t.Fatalf("thread %s not in the guild", out)
		}
		return c
	}
	flags := func(w *chanWorld, id string) (archived, locked bool) {
		c, _ := w.channel(id)
		return c.ThreadMetadata.Archived, c.ThreadMetadata.Locked
	}
	noMember := func(w *chanWorld) extensions.Origin {
		return asMember(w.origin, w.alice.UserID, discordgo.PermissionSendMessages|discordgo.PermissionCreatePublicThreads)
	}
	untouched := func(t *testing.T, w *chanWorld) {
		if a, l := flags(w, w.thread.ID); a || l {
			t.Fatalf("thread archived %v locked %v", a, l)
		}
		if c, _ := w.channel(w.thread.ID); c.MemberCount != 1 {
			t.Fatalf("thread has %d members", c.MemberCount)
		}
	}
	runChanCases(t, []chanCase{
		{name: "create standalone", api: "threads.create",
			args: func(w *chanWorld) []any {
				return []any{w.text.ID, map[string]any{"name": "plans", "autoArchiveMinutes": 1440}}
			},
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				c := threadOf(t, w, out)
				if c.Name != "plans" || c.ParentID != w.text.ID || c.Type != discordgo.ChannelTypeGuildPublicThread ||
					c.ThreadMetadata.AutoArchiveDuration != 1440 {
					t.Fatalf("thread %+v %+v", c, c.ThreadMetadata)
				}
				wantAudit(t, w.rig, w.mark, "threads.create", "ok", "channel:"+w.text.ID, "thread:"+c.ID)
			}},
		{name: "create from a message", api: "threads.create",
			args: func(w *chanWorld) []any {
				return []any{w.text.ID, map[string]any{"name": "about this", "messageId": w.startMsg.ID}}
			},
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				if c := threadOf(t, w, out); c.ID != w.startMsg.ID || c.Name != "about this" {
					t.Fatalf("thread %+v from message %s", c, w.startMsg.ID)
				}
			}},
		{name: "create with a bad auto-archive", api: "threads.create", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any {
				return []any{w.text.ID, map[string]any{"name": "x", "autoArchiveMinutes": 30}}
			}},
		{name: "create without a name", api: "threads.create", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any { return []any{w.text.ID, map[string]any{}} }},
		{name: "create in a voice channel", api: "threads.create", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any { return []any{w.voice.ID, map[string]any{"name": "x"}} }},
		{name: "create in another guild", api: "threads.create", code: sandbox.CodeNotFound,
			args: func(w *chanWorld) []any { return []any{w.foreign.ID, map[string]any{"name": "x"}} }},
		{name: "create for a member without Manage Threads", api: "threads.create", code: sandbox.CodeForbidden,
			origin: noMember, args: func(w *chanWorld) []any { return []any{w.text.ID, map[string]any{"name": "x"}} }},

		{name: "archive", api: "threads.archive",
			args: func(w *chanWorld) []any { return []any{w.thread.ID} },
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				if a, _ := flags(w, w.thread.ID); !a {
					t.Fatal("not archived")
				}
				threadOf(t, w, out)
				if r := w.wire.reason("PATCH", "/channels/"+w.thread.ID); r != "ext:rigext" {
					t.Fatalf("audit log reason %q", r)
				}
			}},
		{name: "unarchive", api: "threads.archive",
			args: func(w *chanWorld) []any {
				if _, err := w.session.ChannelEdit(w.thread.ID, &discordgo.ChannelEdit{Archived: new(true)}); err != nil {
					panic(err)
				}
				return []any{w.thread.ID, false}
			},
			check: func(t *testing.T, w *chanWorld, _ json.RawMessage) {
				if a, _ := flags(w, w.thread.ID); a {
					t.Fatal("still archived")
				}
			}},
		{name: "lock", api: "threads.lock",
			args: func(w *chanWorld) []any { return []any{w.thread.ID} },
			check: func(t *testing.T, w *chanWorld, _ json.RawMessage) {
				if a, l := flags(w, w.thread.ID); !l || a {
					t.Fatalf("archived %v locked %v", a, l)
				}
			}},
		{name: "archive a channel that is not a thread", api: "threads.archive", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any { return []any{w.text.ID} }},
		{name: "archive another guild's thread", api: "threads.archive", code: sandbox.CodeNotFound,
			args: func(w *chanWorld) []any { return []any{w.foreignThread.ID} },
			unchanged: func(t *testing.T, w *chanWorld) {
				if a, _ := flags(w, w.foreignThread.ID); a {
					t.Fatal("foreign thread archived")
				}
			}},
		{name: "lock for a member without Manage Threads", api: "threads.lock", code: sandbox.CodeForbidden,
			origin: noMember, args: func(w *chanWorld) []any { return []any{w.thread.ID} }, unchanged: untouched},
		{name: "lock with a wrong flag", api: "threads.lock", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any { return []any{w.thread.ID, "yes"} }, unchanged: untouched},

		{name: "add a member", api: "threads.addMember",
			args: func(w *chanWorld) []any {
				w.bob = w.srv.AddMember(w.guild.ID, "bob")
				return []any{w.thread.ID, w.bob.UserID}
			},
			check: func(t *testing.T, w *chanWorld, _ json.RawMessage) {
				if c, _ := w.channel(w.thread.ID); c.MemberCount != 2 {
					t.Fatalf("thread has %d members", c.MemberCount)
				}
				wantAudit(t, w.rig, w.mark, "threads.addMember", "ok", "thread:"+w.thread.ID, "user:"+w.bob.UserID)
			}},
		{name: "remove a member", api: "threads.removeMember",
			args: func(w *chanWorld) []any { return []any{w.thread.ID, w.alice.UserID} },
			check: func(t *testing.T, w *chanWorld, _ json.RawMessage) {
				if c, _ := w.channel(w.thread.ID); c.MemberCount != 0 {
					t.Fatalf("thread has %d members", c.MemberCount)
				}
			}},
		{name: "add a member who is not an id", api: "threads.addMember", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any { return []any{w.thread.ID, "@everyone"} }, unchanged: untouched},
		{name: "add a member to another guild's thread", api: "threads.addMember", code: sandbox.CodeNotFound,
			args: func(w *chanWorld) []any { return []any{w.foreignThread.ID, w.foreignOwner} },
			unchanged: func(t *testing.T, w *chanWorld) {
				if c, _ := w.channel(w.foreignThread.ID); c.MemberCount != 1 {
					t.Fatalf("the other guild's thread has %d members", c.MemberCount)
				}
			}},
		{name: "remove a member from another guild's thread", api: "threads.removeMember", code: sandbox.CodeNotFound,
			args: func(w *chanWorld) []any { return []any{w.foreignThread.ID, w.foreignOwner} },
			unchanged: func(t *testing.T, w *chanWorld) {
				if c, _ := w.channel(w.foreignThread.ID); c.MemberCount != 1 {
					t.Fatalf("the other guild's thread has %d members", c.MemberCount)
				}
			}},
		{name: "remove a member for a member without Manage Threads", api: "threads.removeMember", code: sandbox.CodeForbidden,
			origin: noMember, args: func(w *chanWorld) []any { return []any{w.thread.ID, w.alice.UserID} }, unchanged: untouched},
	})
}

func TestWebhooks(t *testing.T) {
	t.Parallel()
	noMember := func(w *chanWorld) extensions.Origin {
		return asMember(w.origin, w.alice.UserID, discordgo.PermissionManageChannels|discordgo.PermissionSendMessages)
	}
	hookNamed := func(name string) func(t *testing.T, w *chanWorld) {
		return func(t *testing.T, w *chanWorld) {
			if h, ok := w.webhook(w.guild.ID, w.hook.ID); !ok || h.Name != name || h.ChannelID != w.text.ID {
				t.Fatalf("webhook %+v (exists %v)", h, ok)
			}
			if len(w.srv.Messages(w.text.ID)) != 1 {
				t.Fatal("something was posted")
			}
		}
	}
	foreignUntouched := func(t *testing.T, w *chanWorld) {
		if h, ok := w.webhook(w.foreignHook.GuildID, w.foreignHook.ID); !ok || h.Name != "Foreign" {
			t.Fatalf("foreign webhook %+v (exists %v)", h, ok)
		}
		if n := len(w.srv.Messages(w.foreign.ID)); n != 0 {
			t.Fatalf("%d messages posted elsewhere", n)
		}
	}
	webhookData := func(t *testing.T, out json.RawMessage) map[string]any {
		t.Helper()
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil || len(got) != 3 || got["id"] == nil || got["name"] == nil || got["channelId"] == nil {
			t.Fatalf("WebhookData %s: %v", out, err)
		}
		return got
	}
	runChanCases(t, []chanCase{
		{name: "create", api: "webhooks.create",
			args: func(w *chanWorld) []any { return []any{w.other.ID, map[string]any{"name": "Notes"}} },
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				got := webhookData(t, out)
				h, ok := w.webhook(w.guild.ID, got["id"].(string))
				if !ok || h.Name != "Notes" || h.ChannelID != w.other.ID || got["channelId"] != w.other.ID {
					t.Fatalf("webhook %+v from %s", h, out)
				}
				if strings.Contains(string(out), h.Token) {
					t.Fatalf("result carries the token: %s", out)
				}
				if r := w.wire.reason("POST", "/channels/"+w.other.ID+"/webhooks"); r != "ext:rigext" {
					t.Fatalf("audit log reason %q", r)
				}
				wantAudit(t, w.rig, w.mark, "webhooks.create", "ok", "webhook:"+h.ID, "channel:"+w.other.ID)
			}},
		{name: "create without a name", api: "webhooks.create", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any { return []any{w.other.ID, map[string]any{}} }},
		{name: "create in another guild", api: "webhooks.create", code: sandbox.CodeNotFound,
			args: func(w *chanWorld) []any { return []any{w.foreign.ID, map[string]any{"name": "x"}} }},
		{name: "create for a member without Manage Webhooks", api: "webhooks.create", code: sandbox.CodeForbidden,
			origin: noMember, args: func(w *chanWorld) []any { return []any{w.other.ID, map[string]any{"name": "x"}} },
			unchanged: func(t *testing.T, w *chanWorld) {
				for _, h := range w.srv.Webhooks(w.guild.ID) {
					if h.Name == "x" {
						t.Fatalf("webhook %s created", h.ID)
					}
				}
			}},

		{name: "list the guild's", api: "webhooks.list",
			args: func(*chanWorld) []any { return nil },
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				var got []map[string]any
				if err := json.Unmarshal(out, &got); err != nil || len(got) != len(w.srv.Webhooks(w.guild.ID)) {
					t.Fatalf("list %s: %v", out, err)
				}
				found := false
				for _, h := range got {
					if h["id"] == w.foreignHook.ID {
						t.Fatalf("another guild's webhook listed: %s", out)
					}
					found = found || h["id"] == w.hook.ID && h["name"] == "Herald" && h["channelId"] == w.text.ID
				}
				if !found {
					t.Fatalf("webhook %s not listed: %s", w.hook.ID, out)
				}
			}},
		{name: "list a channel's", api: "webhooks.list",
			args: func(w *chanWorld) []any { return []any{w.other.ID} },
			check: func(t *testing.T, _ *chanWorld, out json.RawMessage) {
				if string(out) != "[]" {
					t.Fatalf("list %s", out)
				}
			}},
		{name: "list another guild's channel", api: "webhooks.list", code: sandbox.CodeNotFound,
			args: func(w *chanWorld) []any { return []any{w.foreign.ID} }},
		{name: "list for a member without Manage Webhooks", api: "webhooks.list", code: sandbox.CodeForbidden,
			origin: noMember, args: func(*chanWorld) []any { return nil }},

		{name: "edit", api: "webhooks.edit",
			args: func(w *chanWorld) []any {
				return []any{w.hook.ID, map[string]any{"name": "Crier", "channelId": w.other.ID}}
			},
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				got := webhookData(t, out)
				h, _ := w.webhook(w.guild.ID, w.hook.ID)
				if h.Name != "Crier" || h.ChannelID != w.other.ID || got["name"] != "Crier" {
					t.Fatalf("webhook %+v, result %s", h, out)
				}
			}},
		{name: "edit into another guild's channel", api: "webhooks.edit", code: sandbox.CodeNotFound,
			args:      func(w *chanWorld) []any { return []any{w.hook.ID, map[string]any{"channelId": w.foreign.ID}} },
			unchanged: hookNamed("Herald")},
		{name: "edit another guild's webhook", api: "webhooks.edit", code: sandbox.CodeNotFound,
			args:      func(w *chanWorld) []any { return []any{w.foreignHook.ID, map[string]any{"name": "Mine"}} },
			unchanged: foreignUntouched},
		{name: "edit with nothing", api: "webhooks.edit", code: sandbox.CodeInvalidArgument,
			args: func(w *chanWorld) []any { return []any{w.hook.ID, map[string]any{}} }, unchanged: hookNamed("Herald")},

		{name: "execute", api: "webhooks.execute",
			args: func(w *chanWorld) []any { return []any{w.hook.ID, "hear ye"} },
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				var sent struct{ ID, ChannelID string }
				if err := json.Unmarshal(out, &sent); err != nil || sent.ChannelID != w.text.ID {
					t.Fatalf("SentMessage %s: %v", out, err)
				}
				m, ok := w.srv.Message(w.text.ID, sent.ID)
				if !ok || m.Content != "hear ye" || m.WebhookID != w.hook.ID || m.Author.Username != "Herald" {
					t.Fatalf("posted %+v", m)
				}
				wantAudit(t, w.rig, w.mark, "webhooks.execute", "ok", "webhook:"+w.hook.ID, "message:"+sent.ID)
			}},
		{name: "execute under another name, with components", api: "webhooks.execute",
			args: func(w *chanWorld) []any {
				return []any{w.hook.ID, map[string]any{"content": "vote", "username": "Pollster", "components": []any{
					map[string]any{"type": 1, "components": []any{map[string]any{"type": 2, "style": 1, "label": "Y", "custom_id": "y"}}},
				}}}
			},
			check: func(t *testing.T, w *chanWorld, out json.RawMessage) {
				var sent struct{ ID string }
				if err := json.Unmarshal(out, &sent); err != nil {
					t.Fatal(err)
				}
				m, _ := w.srv.Message(w.text.ID, sent.ID)
				if m.Author.Username != "Pollster" || !slices.Equal(customIDs(m.Components), []string{"sx:rigext:y"}) {
					t.Fatalf("posted by %q with %v", m.Author.Username, customIDs(m.Components))
				}
			}},
		{name: "execute with an embed without embed_links", api: "webhooks.execute", code: sandbox.CodeMissingScopes,
			scopes: scopesBut("embed_links"),
			args: func(w *chanWorld) []any {
				return []any{w.hook.ID, map[string]any{"embeds": []any{map[string]any{"title": "x"}}}}
			},
			unchanged: hookNamed("Herald")},
		{name: "execute another guild's webhook", api: "webhooks.execute", code: sandbox.CodeNotFound,
			args: func(w *chanWorld) []any { return []any{w.foreignHook.ID, "hi"} }, unchanged: foreignUntouched},
		{name: "execute an unknown webhook", api: "webhooks.execute", code: sandbox.CodeNotFound,
			args: func(*chanWorld) []any { return []any{"123456789012345678", "hi"} }},
		{name: "execute with a bad username", api: "webhooks.execute", code: sandbox.CodeInvalidArgument,
			args:      func(w *chanWorld) []any { return []any{w.hook.ID, map[string]any{"content": "x", "username": ""}} },
			unchanged: hookNamed("Herald")},
		{name: "execute for a member without Manage Webhooks", api: "webhooks.execute", code: sandbox.CodeForbidden,
			origin: noMember, args: func(w *chanWorld) []any { return []any{w.hook.ID, "hi"} }, unchanged: hookNamed("Herald")},

		{name: "delete", api: "webhooks.delete",
			args: func(w *chanWorld) []any { return []any{w.hook.ID} },
			check: func(t *testing.T, w *chanWorld, _ json.RawMessage) {
				if _, ok := w.webhook(w.guild.ID, w.hook.ID); ok {
					t.Fatal("webhook still there")
				}
				if r := w.wire.reason("DELETE", "/webhooks/"+w.hook.ID); r != "ext:rigext" {
					t.Fatalf("audit log reason %q", r)
				}
				wantAudit(t, w.rig, w.mark, "webhooks.delete", "ok", "webhook:"+w.hook.ID, "name:Herald")
			}},
		{name: "delete another guild's webhook", api: "webhooks.delete", code: sandbox.CodeNotFound,
			args: func(w *chanWorld) []any { return []any{w.foreignHook.ID} }, unchanged: foreignUntouched},
		{name: "delete for a member without Manage Webhooks", api: "webhooks.delete", code: sandbox.CodeForbidden,
			origin: noMember, args: func(w *chanWorld) []any { return []any{w.hook.ID} }, unchanged: hookNamed("Herald")},
	})
}
