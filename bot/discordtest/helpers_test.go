package discordtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// testTimeout bounds every wait; it only turns a hang into a failure.
const testTimeout = 20 * time.Second

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// openBot connects the real discordgo client to srv with the intents and
// closes it when the test ends (before the server).
func openBot(t *testing.T, srv *Server, intents discordgo.Intent) *discordgo.Session {
	t.Helper()
	s := newBot(t, srv, intents)
	if err := s.Open(); err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { closeBot(s) })
	waitHeartbeat(t, srv)
	return s
}

// waitHeartbeat waits until the bot's heartbeat goroutine has sent its
// first heartbeat. discordgo races otherwise: a RECONNECT or a dropped
// socket while that goroutine is starting makes it write to the old socket,
// fail, and close the new connection with 1000, which ends the session.
func waitHeartbeat(t *testing.T, srv *Server) {
	t.Helper()
	n := srv.GatewayStats().Identifies + srv.GatewayStats().Resumes
	waitFor(t, srv, "the first heartbeat", func() bool { return srv.GatewayStats().Heartbeats >= n })
}

// closeBot closes a session for good. discordgo's heartbeat goroutine can
// fail on the closing socket and start reconnecting on its own; turning
// reconnection off first (the field is read after Close's lock) stops it.
func closeBot(s *discordgo.Session) {
	s.ShouldReconnectOnError = false
	_ = s.Close()
}

// newBot prepares a session without opening it.
func newBot(t *testing.T, srv *Server, intents discordgo.Intent) *discordgo.Session {
	t.Helper()
	s, err := discordgo.New("Bot " + srv.Token())
	if err != nil {
		t.Fatal(err)
	}
	s.Client = srv.HTTPClient()
	s.Identify.Intents = intents
	s.ShouldRetryOnRateLimit = true
	s.MaxRestRetries = 1
	return s
}

// recorder collects events of one type that discordgo delivered.
type recorder[T any] struct {
	mu     sync.Mutex
	got    []T
	notify chan struct{}
}

// record registers a handler for events of type T.
func record[T any](s *discordgo.Session) *recorder[T] {
	r := &recorder[T]{notify: make(chan struct{}, 1)}
	s.AddHandler(func(_ *discordgo.Session, ev T) {
		r.mu.Lock()
		r.got = append(r.got, ev)
		r.mu.Unlock()
		select {
		case r.notify <- struct{}{}:
		default:
		}
	})
	return r
}

// wait returns the first recorded event matching pred, waiting for it.
func (r *recorder[T]) wait(t *testing.T, what string, pred func(T) bool) T {
	t.Helper()
	ctx := testContext(t)
	for {
		r.mu.Lock()
		for _, ev := range r.got {
			if pred(ev) {
				r.mu.Unlock()
				return ev
			}
		}
		r.mu.Unlock()
		select {
		case <-r.notify:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// all returns the events recorded so far.
func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.got...)
}

// restCode returns the Discord JSON error code of a discordgo REST error.
func restCode(t *testing.T, err error) (status, code int) {
	t.Helper()
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		t.Fatalf("want a *discordgo.RESTError, got %T: %v", err, err)
	}
	if re.Message == nil {
		t.Fatalf("REST error without a JSON message: %s", re.ResponseBody)
	}
	return re.Response.StatusCode, re.Message.Code
}

// waitFor waits on the server's state with a bounded context.
func waitFor(t *testing.T, srv *Server, what string, cond func() bool) {
	t.Helper()
	if err := srv.WaitFor(testContext(t), cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// fixture is a guild with a text channel and a few members.
type fixture struct {
	srv     *Server
	guild   Guild
	general Channel
	mod     Role   // a role below the bot's
	alice   Member // a member with no roles
	bob     Member // a member with the mod role
	boss    Role   // a role above the bot's
	carol   Member // a member with the boss role
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	srv := NewForTest(t, opts)
	f := &fixture{srv: srv}
	f.guild = srv.CreateGuild("Test Guild")
	f.general = srv.AddChannel(f.guild.ID, "general", discordgo.ChannelTypeGuildText)
	f.mod = srv.AddRole(f.guild.ID, "mod", discordgo.PermissionManageMessages)
	f.boss = srv.AddRole(f.guild.ID, "boss", discordgo.PermissionKickMembers)
	if err := srv.SetRolePosition(f.guild.ID, f.boss.ID, 100); err != nil {
		t.Fatal(err)
	}
	f.alice = srv.AddMember(f.guild.ID, "alice")
	f.bob = srv.AddMember(f.guild.ID, "bob", f.mod.ID)
	f.carol = srv.AddMember(f.guild.ID, "carol", f.boss.ID)
	return f
}
