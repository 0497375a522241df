package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/bot/discordtest/spec"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// callGranted is rig.call with only the given scopes granted.
func (r *rig) callGranted(o extensions.Origin, scopes []string, api string, args ...any) (json.RawMessage, error) {
	r.t.Helper()
	a, ok := sandbox.LookupAPI(api)
	if !ok {
		r.t.Fatalf("no API %s", api)
	}
	if args == nil {
		args = []any{}
	}
	raw, err := json.Marshal(args)
	if err != nil {
		r.t.Fatal(err)
	}
	return r.exec.Perform(context.Background(), sandbox.Call{
		Key: sandbox.Key{Guild: o.GuildID, Extension: o.Extension}, Version: o.Version,
		API: a, Args: raw, Origin: o, Granted: sandbox.NewScopeSet(scopes...),
	})
}

// scopesBut is every scope but the named ones.
func scopesBut(names ...string) []string {
	var out []string
	for _, s := range sandbox.Scopes {
		if !slices.Contains(names, s.Name) {
			out = append(out, s.Name)
		}
	}
	return out
}

// errCodeOf is the JS code of an action's error, "" for none (or for a
// plain error, which the sandbox turns into INTERNAL).
func errCodeOf(err error) string {
	var ce *sandbox.CodeError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}

// requireCode fails unless err carries the JS code want ("" = success).
func requireCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := errCodeOf(err); got != want || (want == "" && err != nil) {
		t.Fatalf("code %q (err %v), want %q", got, err, want)
	}
}

// auditRowsOf returns the rig guild's audit rows of api ("" for all),
// oldest first.
func auditRowsOf(t *testing.T, r *rig, api string) []store.AuditEntry {
	t.Helper()
	all, err := r.store.Audit(context.Background(), store.GuildID(r.guild.ID), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditEntry
	for i := len(all) - 1; i >= 0; i-- {
		if api == "" || all[i].Action == api {
			out = append(out, all[i])
		}
	}
	return out
}

// auditMark is the id of the rig guild's newest audit row so far.
func auditMark(t *testing.T, r *rig) int64 {
	t.Helper()
	rows := auditRowsOf(t, r, "")
	if len(rows) == 0 {
		return 0
	}
	return rows[len(rows)-1].ID
}

// auditSince returns the audit rows written after mark.
func auditSince(t *testing.T, r *rig, mark int64) []store.AuditEntry {
	t.Helper()
	var out []store.AuditEntry
	for _, row := range auditRowsOf(t, r, "") {
		if row.ID > mark {
			out = append(out, row)
		}
	}
	return out
}

// wantAudit checks that exactly one audit row was written after mark: api's,
// naming the extension, with an outcome starting with outcome and a target
// containing every part.
func wantAudit(t *testing.T, r *rig, mark int64, api, outcome string, parts ...string) {
	t.Helper()
	rows := auditSince(t, r, mark)
	if len(rows) != 1 {
		t.Fatalf("%s: %d audit rows, want 1: %+v", api, len(rows), rows)
	}
	row := rows[0]
	if row.Action != api || row.Actor != "ext:rigext" || row.ExtensionID != r.origin.ExtensionID || !strings.HasPrefix(row.Outcome, outcome) {
		t.Fatalf("audit row %+v, want %s by ext:rigext, outcome %q", row, api, outcome)
	}
	for _, p := range parts {
		if !strings.Contains(row.Target, p) {
			t.Fatalf("%s: audit target %q does not name %q", api, row.Target, p)
		}
	}
}

// noAudit checks that a read wrote no audit row after mark.
func noAudit(t *testing.T, r *rig, mark int64) {
	t.Helper()
	if rows := auditSince(t, r, mark); len(rows) != 0 {
		t.Fatalf("a read left audit rows: %+v", rows)
	}
}

// outcomeFor is the audit outcome a case's expected code leaves.
func outcomeFor(code string) string {
	if code == "" {
		return "ok"
	}
	return code
}

// asMember is o started by a member holding perms.
func asMember(o extensions.Origin, userID string, perms int64) extensions.Origin {
	o.ByMember, o.UserID, o.MemberPermissions = true, userID, perms
	return o
}

// wireLog sits between the rig's session and the emulator: it checks every
// request against Discord's published API description (the rig's emulator
// runs without a validator) and records each request's audit-log reason,
// by "METHOD path".
type wireLog struct {
	base      http.RoundTripper
	spec      *spec.Validator
	mu        sync.Mutex
	reasons   map[string]string
	violation []string
}

func (l *wireLog) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	verr := l.spec.ValidateRequest(req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Get("Content-Type"), body)
	h := req.Header.Get("X-Audit-Log-Reason")
	if u, err := url.PathUnescape(h); err == nil {
		h = u
	}
	l.mu.Lock()
	if verr != nil {
		l.violation = append(l.violation, verr.Error())
	}
	if h != "" {
		l.reasons[req.Method+" "+strings.TrimPrefix(req.URL.Path, "/api/v9")] = h
	}
	l.mu.Unlock()
	return l.base.RoundTrip(req)
}

// reason returns the reason sent with method path (path after /api/v9).
func (l *wireLog) reason(method, path string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reasons[method+" "+path]
}

// checkWire puts a wireLog on the rig's session, before the test's first
// REST call, and fails the test at its end for every request that broke
// Discord's contract.
func checkWire(t *testing.T, r *rig) *wireLog {
	t.Helper()
	v, err := spec.Shared()
	if err != nil {
		t.Fatalf("Discord's API description: %v", err)
	}
	c := *r.session.Client
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	l := &wireLog{base: base, spec: v, reasons: map[string]string{}}
	c.Transport = l
	r.session.Client = &c
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, v := range l.violation {
			t.Errorf("a request broke Discord's contract: %s", v)
		}
	})
	return l
}

// msgWorld is a rig with more to aim at: another channel of the guild, a
// channel the admin listed, a channel of another guild, and a member.
type msgWorld struct {
	*rig
	wire                   *wireLog
	other, listed, foreign discordtest.Channel
	alice                  discordtest.Member
	role                   discordtest.Role
	// Messages some tests post first.
	listedMsg, otherMsg, foreignMsg *discordgo.Message
}

func newMsgWorld(t *testing.T) *msgWorld {
	r := newRig(t)
	w := &msgWorld{rig: r, wire: checkWire(t, r)}
	w.other = r.srv.AddChannel(r.guild.ID, "other", discordgo.ChannelTypeGuildText)
	w.listed = r.srv.AddChannel(r.guild.ID, "listed", discordgo.ChannelTypeGuildText)
	elsewhere := r.srv.CreateGuild("Elsewhere")
	w.foreign = r.srv.AddChannel(elsewhere.ID, "foreign", discordgo.ChannelTypeGuildText)
	w.role = r.srv.AddRole(r.guild.ID, "mods", 0)
	w.alice = r.srv.AddMember(r.guild.ID, "alice")
	w.origin.Channels = []string{w.listed.ID}
	return w
}

// say posts content in channel as alice.
func (w *msgWorld) say(t *testing.T, channelID, content string) *discordgo.Message {
	t.Helper()
	m, err := w.srv.SendMessage(channelID, w.alice.UserID, content)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// botID is skybot's user id in the rig.
func (r *rig) botID() string {
	r.session.State.RLock()
	defer r.session.State.RUnlock()
	return r.session.State.User.ID
}

// oldSnowflake is an id made days ago.
func oldSnowflake(days int) string {
	ms := time.Now().Add(-time.Duration(days)*24*time.Hour).UnixMilli() - 1420070400000
	return strconv.FormatInt(ms<<22, 10)
}

func TestMessagesSend(t *testing.T) {
	t.Parallel()
	button := func(id string) []any {
		return []any{map[string]any{"type": 1, "components": []any{
			map[string]any{"type": 2, "style": 1, "label": "Yes", "custom_id": id},
		}}}
	}
	cases := []struct {
		name    string
		scopes  []string // nil: every scope
		channel func(w *msgWorld) string
		payload func(w *msgWorld) any
		code    string
		check   func(t *testing.T, w *msgWorld, m *discordgo.Message)
	}{
		{name: "text in the event's channel", payload: func(*msgWorld) any { return "hello" },
			check: func(t *testing.T, w *msgWorld, m *discordgo.Message) {
				if m.Content != "hello" || m.Author.ID != w.botID() {
					t.Fatalf("sent %q by %s", m.Content, m.Author.ID)
				}
			}},
		{name: "listed channel without messages_global", scopes: scopesBut("messages_global"),
			channel: func(w *msgWorld) string { return w.listed.ID }, payload: func(*msgWorld) any { return "listed" }},
		{name: "other channel without messages_global", scopes: scopesBut("messages_global"),
			channel: func(w *msgWorld) string { return w.other.ID }, payload: func(*msgWorld) any { return "nope" },
			code: sandbox.CodeMissingScopes},
		{name: "other channel with messages_global",
			channel: func(w *msgWorld) string { return w.other.ID }, payload: func(*msgWorld) any { return "global" }},
		{name: "channel of another guild",
			channel: func(w *msgWorld) string { return w.foreign.ID }, payload: func(*msgWorld) any { return "leak" },
			code: sandbox.CodeNotFound},
		{name: "embed without embed_links", scopes: scopesBut("embed_links"),
			payload: func(*msgWorld) any { return map[string]any{"embeds": []any{map[string]any{"title": "T"}}} },
			code:    sandbox.CodeMissingScopes},
		{name: "embed with embed_links",
			payload: func(*msgWorld) any {
				return map[string]any{"content": "see", "embeds": []any{map[string]any{"title": "T"}}}
			},
			check: func(t *testing.T, _ *msgWorld, m *discordgo.Message) {
				if len(m.Embeds) != 1 || m.Embeds[0].Title != "T" {
					t.Fatalf("embeds %+v", m.Embeds)
				}
			}},
		{name: "mentions limited to users",
			payload: func(w *msgWorld) any { return "@everyone <@&" + w.role.ID + "> <@" + w.alice.UserID + ">" },
			check: func(t *testing.T, w *msgWorld, m *discordgo.Message) {
				if m.MentionEveryone || len(m.MentionRoles) != 0 || len(m.Mentions) != 1 || m.Mentions[0].ID != w.alice.UserID {
					t.Fatalf("everyone %v, roles %v, users %v", m.MentionEveryone, m.MentionRoles, m.Mentions)
				}
			}},
		{name: "allowedMentions cannot add roles or everyone",
			payload: func(w *msgWorld) any {
				return map[string]any{"content": "@everyone <@&" + w.role.ID + ">",
					"allowedMentions": map[string]any{"parse": []string{"everyone", "roles"}, "roles": []string{w.role.ID}}}
			},
			check: func(t *testing.T, _ *msgWorld, m *discordgo.Message) {
				if m.MentionEveryone || len(m.MentionRoles) != 0 {
					t.Fatalf("everyone %v, roles %v", m.MentionEveryone, m.MentionRoles)
				}
			}},
		{name: "custom ids rewritten",
			payload: func(*msgWorld) any { return map[string]any{"content": "vote", "components": button("yes")} },
			check: func(t *testing.T, _ *msgWorld, m *discordgo.Message) {
				if got := customIDs(m.Components); !slices.Equal(got, []string{"sx:rigext:yes"}) {
					t.Fatalf("custom ids %v", got)
				}
			}},
		{name: "custom id too long with the prefix",
			payload: func(*msgWorld) any { return map[string]any{"components": button(strings.Repeat("x", 95))} },
			code:    sandbox.CodeInvalidArgument},
		{name: "custom id not a string",
			payload: func(*msgWorld) any {
				return map[string]any{"components": []any{map[string]any{"type": 2, "custom_id": 7}}}
			},
			code: sandbox.CodeInvalidArgument},
		{name: "component without type",
			payload: func(*msgWorld) any { return map[string]any{"components": []any{map[string]any{"custom_id": "a"}}} },
			code:    sandbox.CodeInvalidArgument},
		{name: "content too long", payload: func(*msgWorld) any { return strings.Repeat("é", 2001) },
			code: sandbox.CodeInvalidArgument},
		{name: "not a payload", payload: func(*msgWorld) any { return 42 }, code: sandbox.CodeInvalidArgument},
		{name: "empty payload", payload: func(*msgWorld) any { return map[string]any{} }, code: sandbox.CodeInvalidArgument},
		{name: "blank content", payload: func(*msgWorld) any { return "   " }, code: sandbox.CodeInvalidArgument},
		{name: "null embed", payload: func(*msgWorld) any { return map[string]any{"content": "x", "embeds": []any{nil}} },
			code: sandbox.CodeInvalidArgument},
		{name: "channel id that is a path",
			channel: func(w *msgWorld) string { return w.general.ID + "/../" + w.other.ID }, payload: func(*msgWorld) any { return "x" },
			code: sandbox.CodeInvalidArgument},
		{name: "no payload", payload: func(*msgWorld) any { return nil }, code: sandbox.CodeInvalidArgument},
	}
	w := newMsgWorld(t)
	total := func() int {
		n := 0
		for _, c := range []string{w.general.ID, w.other.ID, w.listed.ID, w.foreign.ID} {
			n += len(w.srv.Messages(c))
		}
		return n
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scopes := tc.scopes
			if scopes == nil {
				scopes = scopesBut()
			}
			channel := w.general.ID
			if tc.channel != nil {
				channel = tc.channel(w)
			}
			mark, before := auditMark(t, w.rig), total()
			out, err := w.callGranted(w.origin, scopes, "messages.send", channel, tc.payload(w))
			requireCode(t, err, tc.code)
			if tc.code != "" {
				wantAudit(t, w.rig, mark, "messages.send", tc.code)
				if after := total(); after != before {
					t.Fatalf("refused, yet %d messages became %d", before, after)
				}
				return
			}
			var sent struct{ ID, ChannelID string }
			if err := json.Unmarshal(out, &sent); err != nil || sent.ChannelID != channel {
				t.Fatalf("result %s: %v", out, err)
			}
			m, ok := w.srv.Message(channel, sent.ID)
			if !ok {
				t.Fatalf("message %s not in channel %s", sent.ID, channel)
			}
			wantAudit(t, w.rig, mark, "messages.send", "ok", "channel:"+channel, "message:"+sent.ID)
			if tc.check != nil {
				tc.check(t, w, m)
			}
		})
	}
}

// customIDs lists the custom ids of components, depth first.
func customIDs(cs []discordgo.MessageComponent) []string {
	var out []string
	for _, c := range cs {
		switch x := c.(type) {
		case *discordgo.ActionsRow:
			out = append(out, customIDs(x.Components)...)
		case *discordgo.Button:
			out = append(out, x.CustomID)
		case *discordgo.SelectMenu:
			out = append(out, x.CustomID)
		}
	}
	return out
}

func TestMessagesMissingScopeNamesMessagesGlobal(t *testing.T) {
	t.Parallel()
	w := newMsgWorld(t)
	_, err := w.callGranted(w.origin, scopesBut("messages_global"), "messages.send", w.other.ID, "x")
	var ce *sandbox.CodeError
	if !errors.As(err, &ce) || ce.Code != sandbox.CodeMissingScopes || !strings.Contains(ce.Message, "messages_global") {
		t.Fatalf("err %v", err)
	}
}

func TestMessagesEdit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		scopes  []string
		target  func(w *msgWorld, own, theirs *discordgo.Message) (channel, message string)
		payload any
		code    string
		check   func(t *testing.T, m *discordgo.Message)
	}{
		{name: "own message, content", payload: "edited",
			check: func(t *testing.T, m *discordgo.Message) {
				if m.Content != "edited" || m.EditedTimestamp == nil || len(m.Embeds) != 1 {
					t.Fatalf("content %q edited %v embeds %d", m.Content, m.EditedTimestamp, len(m.Embeds))
				}
			}},
		{name: "own message, embeds cleared, content kept", payload: map[string]any{"embeds": []any{}},
			check: func(t *testing.T, m *discordgo.Message) {
				if m.Content != "original" || len(m.Embeds) != 0 {
					t.Fatalf("content %q embeds %d", m.Content, len(m.Embeds))
				}
			}},
		{name: "own message, components rewritten",
			payload: map[string]any{"components": []any{map[string]any{"type": 1, "components": []any{
				map[string]any{"type": 3, "custom_id": "pick", "options": []any{map[string]any{"label": "A", "value": "a"}}},
			}}}},
			check: func(t *testing.T, m *discordgo.Message) {
				if got := customIDs(m.Components); !slices.Equal(got, []string{"sx:rigext:pick"}) || m.Content != "original" {
					t.Fatalf("custom ids %v, content %q", got, m.Content)
				}
			}},
		{name: "someone else's message", payload: "mine now",
			target: func(w *msgWorld, _, theirs *discordgo.Message) (string, string) { return w.general.ID, theirs.ID },
			code:   sandbox.CodeForbidden},
		{name: "embeds without embed_links", scopes: scopesBut("embed_links"),
			payload: map[string]any{"embeds": []any{map[string]any{"title": "x"}}}, code: sandbox.CodeMissingScopes},
		{name: "nothing to change", payload: map[string]any{"username": "x"}, code: sandbox.CodeInvalidArgument},
		{name: "unknown message", payload: "x",
			target: func(w *msgWorld, _, _ *discordgo.Message) (string, string) { return w.general.ID, "123456789012345678" },
			code:   sandbox.CodeNotFound},
		{name: "other channel without messages_global", scopes: scopesBut("messages_global"), payload: "x",
			target: func(w *msgWorld, own, _ *discordgo.Message) (string, string) { return w.other.ID, own.ID },
			code:   sandbox.CodeMissingScopes},
		{name: "message id that is a path", payload: "x",
			target: func(w *msgWorld, own, _ *discordgo.Message) (string, string) { return w.general.ID, own.ID + "?x=1" },
			code:   sandbox.CodeInvalidArgument},
	}
	w := newMsgWorld(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := w.session.ChannelMessageSendComplex(w.general.ID, &discordgo.MessageSend{
				Content: "original", Embeds: []*discordgo.MessageEmbed{{Title: "E"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			theirs := w.say(t, w.general.ID, "alice's")
			channel, id := w.general.ID, m.ID
			if tc.target != nil {
				channel, id = tc.target(w, m, theirs)
			}
			scopes := tc.scopes
			if scopes == nil {
				scopes = scopesBut()
			}
			mark := auditMark(t, w.rig)
			out, err := w.callGranted(w.origin, scopes, "messages.edit", channel, id, tc.payload)
			requireCode(t, err, tc.code)
			wantAudit(t, w.rig, mark, "messages.edit", outcomeFor(tc.code), "message:")
			if tc.code != "" {
				for _, mm := range []*discordgo.Message{m, theirs} {
					if now, _ := w.srv.Message(w.general.ID, mm.ID); now.EditedTimestamp != nil || now.Content != mm.Content {
						t.Fatalf("refused, yet message %s was edited to %q", mm.ID, now.Content)
					}
				}
				return
			}
			var sent struct{ ID, ChannelID string }
			if err := json.Unmarshal(out, &sent); err != nil || sent.ID != m.ID || sent.ChannelID != w.general.ID {
				t.Fatalf("result %s: %v", out, err)
			}
			after, _ := w.srv.Message(w.general.ID, m.ID)
			tc.check(t, after)
		})
	}
}

func TestMessagesRead(t *testing.T) {
	t.Parallel()
	w := newMsgWorld(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, w.say(t, w.general.ID, "m"+strconv.Itoa(i)).ID)
	}
	withFile, err := w.srv.SendMessage(w.general.ID, w.alice.UserID, "file", discordtest.Upload{Filename: "a.txt", ContentType: "text/plain", Data: []byte("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.srv.EditMessage(w.general.ID, ids[0], w.alice.UserID, "m0 edited"); err != nil {
		t.Fatal(err)
	}
	foreignMsg, err := w.session.ChannelMessageSend(w.foreign.ID, "elsewhere")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("get", func(t *testing.T) {
		out, err := w.call(w.origin, "messages.get", w.general.ID, withFile.ID)
		requireCode(t, err, "")
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		author := got["author"].(map[string]any)
		atts := got["attachments"].([]any)
		if got["id"] != withFile.ID || got["channelId"] != w.general.ID || got["content"] != "file" ||
			author["id"] != w.alice.UserID || author["username"] != "alice" || author["bot"] != false ||
			got["editedTimestamp"] != nil || got["pinned"] != false || got["embeds"] != float64(0) ||
			len(atts) != 1 || atts[0].(map[string]any)["filename"] != "a.txt" || atts[0].(map[string]any)["url"] == "" {
			t.Fatalf("MessageData %s", out)
		}
		created, _ := discordgo.SnowflakeTimestamp(withFile.ID)
		if got["createdTimestamp"] != float64(created.UnixMilli()) {
			t.Fatalf("createdTimestamp %v, want %d", got["createdTimestamp"], created.UnixMilli())
		}
		out, err = w.call(w.origin, "messages.get", w.general.ID, ids[0])
		requireCode(t, err, "")
		if err := json.Unmarshal(out, &got); err != nil || got["editedTimestamp"] == nil {
			t.Fatalf("edited message %s", out)
		}
	})
	t.Run("history", func(t *testing.T) {
		out, err := w.call(w.origin, "messages.history", w.general.ID, map[string]any{"limit": 3})
		requireCode(t, err, "")
		var got []struct{ ID string }
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].ID != withFile.ID || got[1].ID != ids[4] || got[2].ID != ids[3] {
			t.Fatalf("history %s", out)
		}
		out, err = w.call(w.origin, "messages.history", w.general.ID, map[string]any{"before": ids[2]})
		requireCode(t, err, "")
		if err := json.Unmarshal(out, &got); err != nil || len(got) != 2 || got[0].ID != ids[1] || got[1].ID != ids[0] {
			t.Fatalf("history before %s: %s", ids[2], out)
		}
		out, err = w.call(w.origin, "messages.history", w.general.ID)
		requireCode(t, err, "")
		if err := json.Unmarshal(out, &got); err != nil || len(got) != 6 {
			t.Fatalf("default history %s", out)
		}
	})
	refusals := []struct {
		name   string
		scopes []string
		api    string
		args   []any
		code   string
	}{
		{"history limit over 100", nil, "messages.history", []any{w.general.ID, map[string]any{"limit": 101}}, sandbox.CodeInvalidArgument},
		{"history limit 0", nil, "messages.history", []any{w.general.ID, map[string]any{"limit": 0}}, sandbox.CodeInvalidArgument},
		{"history before not an id", nil, "messages.history", []any{w.general.ID, map[string]any{"before": "x"}}, sandbox.CodeInvalidArgument},
		{"history of another channel without messages_global", scopesBut("messages_global"), "messages.history", []any{w.other.ID}, sandbox.CodeMissingScopes},
		{"history of another guild", nil, "messages.history", []any{w.foreign.ID}, sandbox.CodeNotFound},
		{"get from another guild", nil, "messages.get", []any{w.foreign.ID, foreignMsg.ID}, sandbox.CodeNotFound},
		{"get from another channel without messages_global", scopesBut("messages_global"), "messages.get", []any{w.other.ID, ids[0]}, sandbox.CodeMissingScopes},
		{"get of a message in another channel", nil, "messages.get", []any{w.other.ID, ids[0]}, sandbox.CodeNotFound},
		{"get without a message id", nil, "messages.get", []any{w.general.ID}, sandbox.CodeInvalidArgument},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			scopes := tc.scopes
			if scopes == nil {
				scopes = scopesBut()
			}
			_, err := w.callGranted(w.origin, scopes, tc.api, tc.args...)
			requireCode(t, err, tc.code)
		})
	}
	noAudit(t, w.rig, 0)
}

func TestMessagesManage(t *testing.T) {
	t.Parallel()
	type seeded struct {
		*msgWorld
		msgs []*discordgo.Message // alice's, in general
	}
	cases := []struct {
		name   string
		origin func(w *seeded) extensions.Origin
		api    string
		args   func(w *seeded) []any
		code   string
		check  func(t *testing.T, w *seeded)
	}{
		{name: "delete", api: "messages.delete",
			args: func(w *seeded) []any { return []any{w.general.ID, w.msgs[0].ID, map[string]any{"reason": "spam"}} },
			check: func(t *testing.T, w *seeded) {
				if _, ok := w.srv.Message(w.general.ID, w.msgs[0].ID); ok {
					t.Fatal("message still there")
				}
				if got := w.wire.reason("DELETE", "/channels/"+w.general.ID+"/messages/"+w.msgs[0].ID); got != "ext:rigext: spam" {
					t.Fatalf("audit log reason %q", got)
				}
			}},
		{name: "delete by a member without Manage Messages", api: "messages.delete",
			origin: func(w *seeded) extensions.Origin {
				return asMember(w.origin, w.alice.UserID, discordgo.PermissionSendMessages)
			},
			args: func(w *seeded) []any { return []any{w.general.ID, w.msgs[0].ID} },
			code: sandbox.CodeForbidden},
		{name: "delete by an administrator", api: "messages.delete",
			origin: func(w *seeded) extensions.Origin {
				return asMember(w.origin, w.alice.UserID, discordgo.PermissionAdministrator)
			},
			args: func(w *seeded) []any { return []any{w.general.ID, w.msgs[0].ID} },
			check: func(t *testing.T, w *seeded) {
				if _, ok := w.srv.Message(w.general.ID, w.msgs[0].ID); ok {
					t.Fatal("message still there")
				}
			}},
		{name: "delete in another guild", api: "messages.delete",
			args: func(w *seeded) []any { return []any{w.foreign.ID, w.foreignMsg.ID} }, code: sandbox.CodeNotFound},
		{name: "delete an unknown message", api: "messages.delete",
			args: func(w *seeded) []any { return []any{w.general.ID, "123456789012345678"} }, code: sandbox.CodeNotFound},
		{name: "bulk delete", api: "messages.bulkDelete",
			args: func(w *seeded) []any { return []any{w.general.ID, []string{w.msgs[0].ID, w.msgs[1].ID, w.msgs[2].ID}} },
			check: func(t *testing.T, w *seeded) {
				for i, m := range w.msgs {
					if _, ok := w.srv.Message(w.general.ID, m.ID); ok != (i == 3) {
						t.Fatalf("message %d there: %v", i, ok)
					}
				}
				if got := w.wire.reason("POST", "/channels/"+w.general.ID+"/messages/bulk-delete"); got != "ext:rigext" {
					t.Fatalf("audit log reason %q", got)
				}
			}},
		{name: "bulk delete of one", api: "messages.bulkDelete",
			args: func(w *seeded) []any { return []any{w.general.ID, []string{w.msgs[0].ID}} }, code: sandbox.CodeInvalidArgument},
		{name: "bulk delete of 101", api: "messages.bulkDelete",
			args: func(w *seeded) []any {
				ids := make([]string, 101)
				for i := range ids {
					ids[i] = strconv.Itoa(1000000 + i)
				}
				return []any{w.general.ID, ids}
			}, code: sandbox.CodeInvalidArgument},
		{name: "bulk delete with a message older than 14 days", api: "messages.bulkDelete",
			args: func(w *seeded) []any { return []any{w.general.ID, []string{w.msgs[0].ID, oldSnowflake(15)}} },
			code: sandbox.CodeInvalidArgument},
		{name: "bulk delete with a duplicate", api: "messages.bulkDelete",
			args: func(w *seeded) []any { return []any{w.general.ID, []string{w.msgs[0].ID, w.msgs[0].ID}} },
			code: sandbox.CodeInvalidArgument},
		{name: "bulk delete by a member without Manage Messages", api: "messages.bulkDelete",
			origin: func(w *seeded) extensions.Origin { return asMember(w.origin, w.alice.UserID, 0) },
			args:   func(w *seeded) []any { return []any{w.general.ID, []string{w.msgs[0].ID, w.msgs[1].ID}} },
			code:   sandbox.CodeForbidden},
		{name: "pin", api: "messages.pin",
			args: func(w *seeded) []any { return []any{w.general.ID, w.msgs[1].ID} },
			check: func(t *testing.T, w *seeded) {
				if m, _ := w.srv.Message(w.general.ID, w.msgs[1].ID); !m.Pinned {
					t.Fatal("not pinned")
				}
			}},
		{name: "pin by a member with Manage Messages", api: "messages.pin",
			origin: func(w *seeded) extensions.Origin {
				return asMember(w.origin, w.alice.UserID, discordgo.PermissionManageMessages|discordgo.PermissionSendMessages)
			},
			args: func(w *seeded) []any { return []any{w.general.ID, w.msgs[1].ID} },
			check: func(t *testing.T, w *seeded) {
				if m, _ := w.srv.Message(w.general.ID, w.msgs[1].ID); !m.Pinned {
					t.Fatal("not pinned")
				}
			}},
		{name: "pin by a member without Manage Messages", api: "messages.pin",
			origin: func(w *seeded) extensions.Origin {
				return asMember(w.origin, w.alice.UserID, discordgo.PermissionSendMessages)
			},
			args: func(w *seeded) []any { return []any{w.general.ID, w.msgs[1].ID} },
			code: sandbox.CodeForbidden},
		{name: "unpin", api: "messages.unpin",
			args: func(w *seeded) []any { return []any{w.general.ID, w.msgs[2].ID} },
			check: func(t *testing.T, w *seeded) {
				if m, _ := w.srv.Message(w.general.ID, w.msgs[2].ID); m.Pinned {
					t.Fatal("still pinned")
				}
			}},
		{name: "unpin in another guild", api: "messages.unpin",
			args: func(w *seeded) []any { return []any{w.foreign.ID, w.foreignMsg.ID} }, code: sandbox.CodeNotFound},
	}
	w := &seeded{msgWorld: newMsgWorld(t)}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w.msgs = nil
			for i := range 4 {
				w.msgs = append(w.msgs, w.say(t, w.general.ID, "a"+strconv.Itoa(i)))
			}
			if err := w.session.ChannelMessagePin(w.general.ID, w.msgs[2].ID); err != nil {
				t.Fatal(err)
			}
			var err error
			if w.foreignMsg, err = w.session.ChannelMessageSend(w.foreign.ID, "elsewhere"); err != nil {
				t.Fatal(err)
			}
			if err := w.session.ChannelMessagePin(w.foreign.ID, w.foreignMsg.ID); err != nil {
				t.Fatal(err)
			}
			o := w.origin
			if tc.origin != nil {
				o = tc.origin(w)
			}
			before := w.srv.Messages(w.general.ID)
			mark := auditMark(t, w.rig)
			_, err = w.call(o, tc.api, tc.args(w)...)
			requireCode(t, err, tc.code)
			wantAudit(t, w.rig, mark, tc.api, outcomeFor(tc.code), "channel:")
			if tc.code != "" {
				if m, ok := w.srv.Message(w.foreign.ID, w.foreignMsg.ID); !ok || !m.Pinned {
					t.Fatalf("refused, yet the other guild's message is gone or unpinned (%v)", ok)
				}
				after := w.srv.Messages(w.general.ID)
				if len(after) != len(before) {
					t.Fatalf("refused, yet %d messages became %d", len(before), len(after))
				}
				for i := range after {
					if after[i].Pinned != before[i].Pinned {
						t.Fatalf("refused, yet message %s pinned %v", after[i].ID, after[i].Pinned)
					}
				}
				return
			}
			tc.check(t, w)
		})
	}
}

func TestReactions(t *testing.T) {
	t.Parallel()
	reacted := func(m *discordgo.Message, emoji string) (count int, me bool) {
		for _, re := range m.Reactions {
			if re.Emoji.Name == emoji {
				return re.Count, re.Me
			}
		}
		return 0, false
	}
	cases := []struct {
		name   string
		scopes []string
		origin func(w *msgWorld) extensions.Origin
		api    string
		args   func(w *msgWorld, m *discordgo.Message) []any
		code   string
		check  func(t *testing.T, w *msgWorld, m *discordgo.Message, out json.RawMessage)
	}{
		{name: "add", api: "reactions.add",
			args: func(w *msgWorld, m *discordgo.Message) []any { return []any{w.general.ID, m.ID, "🎉"} },
			check: func(t *testing.T, _ *msgWorld, m *discordgo.Message, _ json.RawMessage) {
				if n, me := reacted(m, "🎉"); n != 1 || !me {
					t.Fatalf("🎉 count %d me %v", n, me)
				}
			}},
		{name: "add a keycap", api: "reactions.add",
			args: func(w *msgWorld, m *discordgo.Message) []any { return []any{w.general.ID, m.ID, "#️⃣"} },
			check: func(t *testing.T, _ *msgWorld, m *discordgo.Message, _ json.RawMessage) {
				if n, me := reacted(m, "#️⃣"); n != 1 || !me {
					t.Fatalf("#️⃣ count %d me %v", n, me)
				}
			}},
		{name: "add in a listed channel without messages_global", scopes: scopesBut("messages_global"), api: "reactions.add",
			args: func(w *msgWorld, _ *discordgo.Message) []any { return []any{w.listed.ID, w.listedMsg.ID, "🎉"} },
			check: func(t *testing.T, w *msgWorld, _ *discordgo.Message, _ json.RawMessage) {
				m, _ := w.srv.Message(w.listed.ID, w.listedMsg.ID)
				if n, _ := reacted(m, "🎉"); n != 1 {
					t.Fatal("no reaction")
				}
			}},
		{name: "add in another channel without messages_global", scopes: scopesBut("messages_global"), api: "reactions.add",
			args: func(w *msgWorld, _ *discordgo.Message) []any { return []any{w.other.ID, w.otherMsg.ID, "🎉"} },
			code: sandbox.CodeMissingScopes},
		{name: "add in another guild", api: "reactions.add",
			args: func(w *msgWorld, _ *discordgo.Message) []any { return []any{w.foreign.ID, w.foreignMsg.ID, "🎉"} },
			code: sandbox.CodeNotFound},
		{name: "emoji that is a path", api: "reactions.add",
			args: func(w *msgWorld, m *discordgo.Message) []any { return []any{w.general.ID, m.ID, "👍/@me"} },
			code: sandbox.CodeInvalidArgument},
		{name: "emoji that is text", api: "reactions.add",
			args: func(w *msgWorld, m *discordgo.Message) []any { return []any{w.general.ID, m.ID, "like"} },
			code: sandbox.CodeInvalidArgument},
		{name: "remove skybot's own", api: "reactions.remove",
			args: func(w *msgWorld, m *discordgo.Message) []any { return []any{w.general.ID, m.ID, "👍"} },
			check: func(t *testing.T, _ *msgWorld, m *discordgo.Message, _ json.RawMessage) {
				if n, me := reacted(m, "👍"); n != 1 || me {
					t.Fatalf("👍 count %d me %v", n, me)
				}
			}},
		{name: "remove a member's", api: "reactions.remove",
			args: func(w *msgWorld, m *discordgo.Message) []any {
				return []any{w.general.ID, m.ID, "👍", w.alice.UserID}
			},
			check: func(t *testing.T, _ *msgWorld, m *discordgo.Message, _ json.RawMessage) {
				if n, me := reacted(m, "👍"); n != 1 || !me {
					t.Fatalf("👍 count %d me %v", n, me)
				}
			}},
		{name: "remove a member's, for a member without Manage Messages", api: "reactions.remove",
			origin: func(w *msgWorld) extensions.Origin {
				return asMember(w.origin, w.alice.UserID, discordgo.PermissionAddReactions)
			},
			args: func(w *msgWorld, m *discordgo.Message) []any {
				return []any{w.general.ID, m.ID, "👍", w.alice.UserID}
			},
			code: sandbox.CodeForbidden},
		{name: "remove skybot's own, for a member without Manage Messages", api: "reactions.remove",
			origin: func(w *msgWorld) extensions.Origin {
				return asMember(w.origin, w.alice.UserID, discordgo.PermissionAddReactions)
			},
			args: func(w *msgWorld, m *discordgo.Message) []any { return []any{w.general.ID, m.ID, "👍"} },
			check: func(t *testing.T, _ *msgWorld, m *discordgo.Message, _ json.RawMessage) {
				if _, me := reacted(m, "👍"); me {
					t.Fatal("skybot's reaction still there")
				}
			}},
		{name: "list", api: "reactions.list",
			args: func(w *msgWorld, m *discordgo.Message) []any { return []any{w.general.ID, m.ID, "👍"} },
			check: func(t *testing.T, w *msgWorld, _ *discordgo.Message, out json.RawMessage) {
				var users []map[string]any
				if err := json.Unmarshal(out, &users); err != nil || len(users) != 2 {
					t.Fatalf("list %s: %v", out, err)
				}
				byID := map[any]map[string]any{}
				for _, u := range users {
					byID[u["id"]] = u
				}
				if byID[w.botID()]["bot"] != true || byID[w.alice.UserID]["username"] != "alice" || byID[w.alice.UserID]["bot"] != false {
					t.Fatalf("list %s", out)
				}
			}},
		{name: "list in another channel without messages_global", scopes: scopesBut("messages_global"), api: "reactions.list",
			args: func(w *msgWorld, _ *discordgo.Message) []any { return []any{w.other.ID, w.otherMsg.ID, "👍"} },
			code: sandbox.CodeMissingScopes},
	}
	w := newMsgWorld(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := w.say(t, w.general.ID, "react to me")
			if err := w.srv.AddReaction(w.general.ID, m.ID, w.alice.UserID, "👍"); err != nil {
				t.Fatal(err)
			}
			if err := w.session.MessageReactionAdd(w.general.ID, m.ID, "👍"); err != nil {
				t.Fatal(err)
			}
			w.listedMsg = w.say(t, w.listed.ID, "listed")
			w.otherMsg = w.say(t, w.other.ID, "other")
			var err error
			if w.foreignMsg, err = w.session.ChannelMessageSend(w.foreign.ID, "foreign"); err != nil {
				t.Fatal(err)
			}
			scopes := tc.scopes
			if scopes == nil {
				scopes = scopesBut()
			}
			o := w.origin
			if tc.origin != nil {
				o = tc.origin(w)
			}
			mark := auditMark(t, w.rig)
			out, err := w.callGranted(o, scopes, tc.api, tc.args(w, m)...)
			requireCode(t, err, tc.code)
			if tc.api != "reactions.list" {
				wantAudit(t, w.rig, mark, tc.api, outcomeFor(tc.code), "message:")
			} else {
				noAudit(t, w.rig, mark)
			}
			after, _ := w.srv.Message(w.general.ID, m.ID)
			if tc.code != "" {
				for _, mm := range []*discordgo.Message{w.listedMsg, w.otherMsg, w.foreignMsg} {
					if now, _ := w.srv.Message(mm.ChannelID, mm.ID); len(now.Reactions) != 0 {
						t.Fatalf("refused, yet message %s has reactions", mm.ID)
					}
				}
				if n, me := reacted(after, "👍"); n != 2 || !me || len(after.Reactions) != 1 {
					t.Fatalf("refused, yet reactions are %+v", after.Reactions)
				}
				return
			}
			tc.check(t, w, after, out)
		})
	}
}

func TestReactionEmoji(t *testing.T) {
	t.Parallel()
	call := sandbox.Call{API: sandbox.API{Name: "reactions.add"}}
	cases := []struct{ in, want string }{
		{"👍", "👍"},
		{"👍🏽", "👍🏽"},
		{"1️⃣", "1️⃣"},
		{"<:blob:123456789012345678>", "blob:123456789012345678"},
		{"<a:party_blob:123456789012345678>", "party_blob:123456789012345678"},
		{"blob:123456789012345678", "blob:123456789012345678"},
		{"", ""},
		{"abc", ""},
		{"1", ""},
		{"👍?limit=1", ""},
		{"👍%2F", ""},
		{"👍 ", ""},
		{"blob:12ab", ""},
		{"bl/ob:123", ""},
		{"<:blob:1/2>", ""},
	}
	for _, tc := range cases {
		got, err := reactionEmoji(call, tc.in)
		if tc.want == "" {
			if errCodeOf(err) != sandbox.CodeInvalidArgument {
				t.Errorf("reactionEmoji(%q) = %q, %v; want INVALID_ARGUMENT", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("reactionEmoji(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestComponentID(t *testing.T) {
	t.Parallel()
	o := extensions.Origin{Extension: "polls"}
	if got := componentID(o, "vote:3"); got != "sx:polls:vote:3" {
		t.Fatalf("componentID = %q", got)
	}
	comps, err := extensionComponents(o, []json.RawMessage{json.RawMessage(
		`{"type":1,"components":[{"type":2,"style":1,"label":"A","custom_id":"a"},{"type":2,"style":5,"label":"Link","url":"https://example.org"},{"type":3,"custom_id":"s","min_values":1,"options":[{"label":"x","value":"custom_id"}]}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(comps)
	if err != nil {
		t.Fatal(err)
	}
	var back []struct {
		Components []map[string]any `json:"components"`
	}
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	row := back[0].Components
	if row[0]["custom_id"] != "sx:polls:a" || row[1]["custom_id"] != nil || row[2]["custom_id"] != "sx:polls:s" ||
		row[2]["options"].([]any)[0].(map[string]any)["value"] != "custom_id" || !strings.Contains(string(raw), `"min_values":1`) {
		t.Fatalf("rewritten %s", raw)
	}
	if _, err := extensionComponents(o, []json.RawMessage{json.RawMessage(`{"type":2,"custom_id":"` + strings.Repeat("x", 100-len("sx:polls:")) + `"}`)}); err != nil {
		t.Fatalf("a custom id of exactly 100 characters: %v", err)
	}
	if _, err := extensionComponents(o, []json.RawMessage{json.RawMessage(`{"type":2,"custom_id":"` + strings.Repeat("x", 101-len("sx:polls:")) + `"}`)}); errCodeOf(err) != sandbox.CodeInvalidArgument {
		t.Fatalf("a custom id of 101 characters: %v", err)
	}
}

// TestMessageAndChannelActionsRegistered: every API this change implements
// has an executor.
func TestMessageAndChannelActionsRegistered(t *testing.T) {
	t.Parallel()
	e := newRig(t).exec
	for _, a := range sandbox.APIs {
		switch a.Module {
		case "messages", "reactions", "channels", "threads", "webhooks":
			if _, ok := e.table[a.Name]; !ok {
				t.Errorf("%s has no executor", a.Name)
			}
		}
	}
}
