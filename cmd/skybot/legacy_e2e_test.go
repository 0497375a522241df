package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/store"
)

// installFile runs /ext install with a file as the admin and accepts.
func (e *guild) installFile(name string, data []byte) string {
	e.t.Helper()
	card, _ := e.extMsg(e.admin, "install", file(name, data))
	if !strings.Contains(card.Content, "Nothing runs until you accept") {
		e.t.Fatalf("install %s: not a consent card: %q", name, card.Content)
	}
	answer, _ := e.click(e.admin, card, "Install")
	return answer
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "extensions", "testdata", "legacy", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// storageValue reads one storage key of an installed extension.
func (e *guild) storageValue(ext, key string) (string, bool) {
	e.t.Helper()
	ctx := context.Background()
	in, err := e.app.store.InstallByName(ctx, store.GuildID(e.g.ID), ext)
	if err != nil {
		e.t.Fatal(err)
	}
	v, ok, err := e.app.store.StorageGet(ctx, store.GuildID(e.g.ID), in.ExtensionID, key)
	if err != nil {
		e.t.Fatal(err)
	}
	return v, ok
}

// SkynetBot packages (package_version 1.0) written from SKYEXT.md part B
// install from an attachment and produce what they produced there, or
// what they were meant to where SkynetBot's own runtime failed them.
func TestLegacyPackagesRunUnchanged(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	for _, f := range []string{"dice-roller.skypkg", "echo.skypkg", "tick-counter.skypkg", "welcome-log.skypkg", "points-giver.skypkg"} {
		if answer := e.installFile(f, readFixture(t, f)); !strings.Contains(answer, "Installed") {
			t.Fatalf("install %s: %q", f, answer)
		}
	}

	t.Run("command with embed and utils", func(t *testing.T) {
		replies := e.say(e.member, "!roll 3d4")
		if len(replies) != 1 || len(replies[0].Embeds) != 1 {
			t.Fatalf("!roll replies %v", contents(replies))
		}
		em := replies[0].Embeds[0]
		if em.Title != "Dice: 3d4" || !strings.HasPrefix(em.Description, "Total: ") || !strings.HasSuffix(em.Description, " for max") ||
			em.Color != 0x3498DB || len(em.Fields) != 1 || len(strings.Split(em.Fields[0].Value, ", ")) != 3 {
			t.Fatalf("embed %+v", em)
		}
		if replies := e.say(e.member, "!roll lots"); len(replies) != 1 || replies[0].Content != "Usage: !roll NdM" {
			t.Fatalf("!roll lots: %v", contents(replies))
		}
	})
	t.Run("keyword star", func(t *testing.T) {
		if replies := e.say(e.member, "echo hello there"); len(replies) != 1 || replies[0].Content != "Hello there (2 words)" {
			t.Fatalf("echo: %v", contents(replies))
		}
		if replies := e.say(e.member, "just chatting"); len(replies) != 0 {
			t.Fatalf("a message without echo got %v", contents(replies))
		}
	})
	t.Run("synchronous points", func(t *testing.T) {
		if replies := e.say(e.member, "!give 25"); len(replies) != 1 || replies[0].Content != "max now has 25 points (rank 1)" {
			t.Fatalf("!give: %v", contents(replies))
		}
		if replies := e.say(e.member, "!give 20000"); len(replies) != 1 || !strings.HasPrefix(replies[0].Content, "No: ") {
			t.Fatalf("!give 20000: %v", contents(replies))
		}
	})
	t.Run("timer", func(t *testing.T) {
		ctx := context.Background()
		e.app.scheduler.RunDue(ctx, time.Now().Add(5*time.Minute+time.Second))
		if v, ok := e.storageValue("tick-counter", "ticks"); !ok || v != "1" {
			t.Fatalf("ticks after one interval = %q (%v)", v, ok)
		}
	})
	t.Run("event", func(t *testing.T) {
		e.srv.AddMember(e.g.ID, "newcomer")
		deadline := time.Now().Add(10 * time.Second)
		for {
			if v, ok := e.storageValue("welcome-log", "last_join"); ok {
				var name string
				if err := json.Unmarshal([]byte(v), &name); err != nil || name != "newcomer" {
					t.Fatalf("last_join = %s", v)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the event extension never stored the join")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// A SkynetBot HTTP extension reaches its API through the guarded client
// (here a local server the operator allowed), and gets part B's response
// shape; the guard still refuses what the operator did not allow.
func TestLegacyHTTPPackage(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v4/anime" || r.Header.Get("User-Agent") != "SkynetExtensions/1.0" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("q") == "nothing" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		fmt.Fprintf(w, `{"data":[{"title":%q,"episodes":26,"score":8.9}]}`, "Cowboy Bebop ("+r.URL.Query().Get("q")+")")
	}))
	defer api.Close()
	e := newGuild(t, func(c *config.Config) {
		c.HTTP.AllowPrivate = []string{"127.0.0.0/8"}
		c.HTTP.NetworkTiers = []string{config.DefaultTier}
	})
	pkg := strings.ReplaceAll(string(readFixture(t, "anime-lookup.skypkg")), "{{BASE}}", api.URL)
	if answer := e.installFile("anime-lookup.skypkg", []byte(pkg)); !strings.Contains(answer, "Installed") {
		t.Fatalf("install: %q", answer)
	}
	if replies := e.say(e.member, "!anime bebop"); len(replies) != 1 || replies[0].Content != "Cowboy Bebop (bebop) — 26 episodes, score 8.9" {
		t.Fatalf("!anime bebop: %v", contents(replies))
	}
	if replies := e.say(e.member, "!anime nothing"); len(replies) != 1 || replies[0].Content != "Nothing found (404)" {
		t.Fatalf("!anime nothing: %v", contents(replies))
	}
	audit, err := e.app.store.Audit(context.Background(), store.GuildID(e.g.ID), 20)
	if err != nil {
		t.Fatal(err)
	}
	var saw bool
	for _, a := range audit {
		saw = saw || (a.Action == "http.request" && a.Actor == "ext:anime-lookup")
	}
	if !saw {
		t.Fatalf("no audit row for the request: %+v", audit)
	}
}

// Without the operator's allowance, the same package cannot reach a
// loopback address: the guard refuses after resolving, and says so.
func TestLegacyHTTPPackageCannotReachInside(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer api.Close()
	e := newGuild(t, func(c *config.Config) { c.HTTP.NetworkTiers = []string{config.DefaultTier} })
	pkg := strings.ReplaceAll(string(readFixture(t, "anime-lookup.skypkg")), "{{BASE}}", api.URL)
	e.installFile("anime-lookup.skypkg", []byte(pkg))
	if replies := e.say(e.member, "!anime bebop"); len(replies) != 1 || replies[0].Content != "Lookup failed: PRIVATE_IP_BLOCKED" {
		t.Fatalf("!anime bebop: %v", contents(replies))
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback server was reached %d times", n)
	}
}

// A SkynetBot-style slash extension (@type slash) is registered in the
// guild and answers through part B's interaction module.
func TestLegacySlashExtension(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	src := `// ==SkyExtension==
// @name              coin
// @version           1.0.0
// @type              slash
// @key               coin
// @slash_description Flip a coin
// @scopes            guild_read
// ==/SkyExtension==
const interaction = require('interaction');
const guild = require('guild');
await interaction.deferReply({ ephemeral: false });
const r = await interaction.editReply(interaction.user.username + ' flipped a coin in ' + guild.name + ': ' + (Math.random() < 2 ? 'heads' : 'tails'));
if (!r.success) throw new Error(r.error);
await interaction.followUp('again? ' + interaction.commandName);
`
	if answer := e.install([]byte(src)); !strings.Contains(answer, "Installed **coin** 1.0.0 — slash command /coin") {
		t.Fatalf("install: %q", answer)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := e.waitSlash(discordtest.SlashInput{GuildID: e.g.ID, ChannelID: e.general.ID, UserID: e.member.UserID, Name: "coin"})
	msg, err := it.WaitMessage(ctx, func(m *discordgo.Message) bool { return m.Content != "" })
	if err != nil || msg.Content != "max flipped a coin in Test Guild: heads" {
		t.Fatalf("/coin answered %v, %v", msg, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(it.Followups()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if f := it.Followups(); len(f) != 1 || f[0].Content != "again? coin" {
		t.Fatalf("follow-ups %v", contents(f))
	}
}
