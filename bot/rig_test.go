package bot

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/bot/discordtest/spec"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// rig is an emulated guild, a real discordgo session connected to it (REST
// and gateway, so State is filled), a real SQLite store with one installed
// extension, and the Executor under test. Action tests call APIs through
// rig.call and assert on the guild (rig.srv) and the store.
type rig struct {
	t       testing.TB
	srv     *discordtest.Server
	guild   discordtest.Guild
	general discordtest.Channel
	session *discordgo.Session
	store   *store.Store
	exec    *Executor
	origin  extensions.Origin // an origin for the installed extension, in general
}

func newRig(t testing.TB) *rig {
	t.Helper()
	ctx := context.Background()
	val, err := spec.Shared()
	if err != nil {
		t.Fatalf("Discord's API description: %v", err)
	}
	srv := discordtest.NewForTest(t, discordtest.Options{Validator: val})
	g := srv.CreateGuild("Rig")
	general := srv.AddChannel(g.ID, "general", discordgo.ChannelTypeGuildText)

	s, err := discordgo.New("Bot " + srv.Token())
	if err != nil {
		t.Fatal(err)
	}
	s.Client = srv.HTTPClient()
	s.Identify.Intents = Intents(true)
	membersOf(s) // as Bot.Start does: the count starts at GUILD_CREATE
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	// Ready once the guild is in: its member count is kept from GUILD_CREATE.
	for deadline := time.Now().Add(10 * time.Second); memberCount(s, g.ID) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the guild did not arrive over the gateway")
		}
	}

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "rig.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.EnsureGuild(ctx, store.GuildID(g.ID), "!"); err != nil {
		t.Fatal(err)
	}
	v, err := st.SaveAndInstall(ctx, store.NewVersion{
		Name: "rigext", Owner: "1", Version: "1.0.0", Manifest: json.RawMessage(`{}`), Code: "//",
	}, store.Install{GuildID: store.GuildID(g.ID), Enabled: true, InstalledBy: "1"})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{
		t: t, srv: srv, guild: g, general: general, session: s, store: st,
		exec: NewExecutor(s, st, nil),
		origin: extensions.Origin{
			GuildID: g.ID, ChannelID: general.ID, ExtensionID: v.ExtensionID, VersionID: v.ID,
			Extension: "rigext", Version: "1.0.0", Trigger: "test", Run: extensions.NewRunState(),
		},
	}
}

// call performs api with args (marshalled as the JS argument list) for o,
// granting every scope unless scopes are given; the sandbox's own checks
// (scope, budget) are not part of it.
func (r *rig) call(o extensions.Origin, api string, args ...any) (json.RawMessage, error) {
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
	granted := sandbox.ScopeSet{}
	for _, s := range sandbox.Scopes {
		granted[s.Name] = true
	}
	return r.exec.Perform(context.Background(), sandbox.Call{
		Key: sandbox.Key{Guild: o.GuildID, Extension: o.Extension}, Version: o.Version,
		API: a, Args: raw, Origin: o, Granted: granted,
	})
}

// codeOfErr returns the JS error code of an action's error, or "".
func codeOfErr(err error) string {
	if ce, ok := err.(*sandbox.CodeError); ok {
		return ce.Code
	}
	return ""
}

func TestRigReply(t *testing.T) {
	r := newRig(t)
	alice := r.srv.AddMember(r.guild.ID, "alice")
	m, err := r.srv.SendMessage(r.general.ID, alice.UserID, "hi")
	if err != nil {
		t.Fatal(err)
	}
	o := r.origin
	o.MessageID, o.UserID = m.ID, alice.UserID
	out, err := r.call(o, "message.reply", "hello back")
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Success bool }
	if err := json.Unmarshal(out, &res); err != nil || !res.Success {
		t.Fatalf("reply: %s %v", out, err)
	}
	msgs := r.srv.Messages(r.general.ID)
	if last := msgs[len(msgs)-1]; last.Content != "hello back" {
		t.Fatalf("last message %q", last.Content)
	}
	if code := codeOfErr(func() error { _, err := r.call(o, "message.reply", 42); return err }()); code != sandbox.CodeInvalidArgument {
		t.Fatalf("reply(42): code %q", code)
	}
}
