package discordtest

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func TestRateLimitRetriedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := newBot(t, f.srv, allIntents)
	limited := record[*discordgo.RateLimit](s)
	f.srv.InjectRateLimit(func(method, path string) bool {
		return method == "POST" && strings.HasSuffix(path, "/channels/"+f.general.ID+"/messages")
	}, 1, 20*time.Millisecond)

	m, err := s.ChannelMessageSend(f.general.ID, "after a 429")
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	rl := limited.wait(t, "RateLimit event", func(*discordgo.RateLimit) bool { return true })
	if rl.RetryAfter != 20*time.Millisecond || rl.Message != "You are being rate limited." {
		t.Errorf("429 body = %+v", rl.TooManyRequests)
	}
	if len(limited.all()) != 1 {
		t.Errorf("rate limited %d times, want 1", len(limited.all()))
	}
	if msgs := f.srv.Messages(f.general.ID); len(msgs) != 1 || msgs[0].ID != m.ID {
		t.Errorf("messages = %v: the retried request must be stored once", contents(msgs))
	}
}

func TestRateLimitWithoutRetry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := newBot(t, f.srv, allIntents)
	s.ShouldRetryOnRateLimit = false
	f.srv.InjectRateLimit(nil, 1, 1500*time.Millisecond)
	_, err := s.ChannelMessageSend(f.general.ID, "x")
	rle, ok := err.(*discordgo.RateLimitError)
	if !ok {
		t.Fatalf("err = %T %v, want *discordgo.RateLimitError", err, err)
	}
	if rle.RetryAfter != 1500*time.Millisecond {
		t.Errorf("retry after = %v", rle.RetryAfter)
	}
}

func TestReconnectResumesAndReplays(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := openBot(t, f.srv, allIntents)
	msgs := record[*discordgo.MessageCreate](s)
	resumed := record[*discordgo.Resumed](s)

	f.srv.SendReconnect()
	// discordgo closes the socket at once, then waits a second before it
	// reconnects: a message sent in between must be replayed on RESUME.
	waitFor(t, f.srv, "the bot to disconnect", func() bool { return f.srv.GatewayStats().Connections == 0 })
	sent, err := f.srv.SendMessage(f.general.ID, f.alice.UserID, "while you were away")
	if err != nil {
		t.Fatal(err)
	}
	resumed.wait(t, "RESUMED", func(*discordgo.Resumed) bool { return true })
	msgs.wait(t, "replayed MESSAGE_CREATE", func(m *discordgo.MessageCreate) bool { return m.ID == sent.ID })
	st := f.srv.GatewayStats()
	if st.Resumes != 1 || st.Identifies != 1 || st.Ready != 1 || st.Replayed < 1 {
		t.Errorf("stats = %+v, want one identify and one resume that replayed the message", st)
	}
	// And the session goes on.
	after, _ := f.srv.SendMessage(f.general.ID, f.alice.UserID, "welcome back")
	msgs.wait(t, "live MESSAGE_CREATE", func(m *discordgo.MessageCreate) bool { return m.ID == after.ID })
	if n := len(msgs.all()); n != 2 {
		t.Errorf("got %d MESSAGE_CREATE, want 2 (no duplicates)", n)
	}
}

func TestDropConnectionsReconnects(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := openBot(t, f.srv, allIntents)
	msgs := record[*discordgo.MessageCreate](s)
	var disconnects atomic.Int32
	s.AddHandler(func(*discordgo.Session, *discordgo.Disconnect) { disconnects.Add(1) })

	f.srv.DropConnections()
	sent, err := f.srv.SendMessage(f.general.ID, f.alice.UserID, "are you there?")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, f.srv, "a resume", func() bool { return f.srv.GatewayStats().Resumes == 1 })
	msgs.wait(t, "MESSAGE_CREATE after the drop", func(m *discordgo.MessageCreate) bool { return m.ID == sent.ID })
	if disconnects.Load() == 0 {
		t.Error("discordgo did not notice the drop")
	}
}

func TestInvalidSessionReidentifies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := openBot(t, f.srv, allIntents)
	ready := record[*discordgo.Ready](s)
	msgs := record[*discordgo.MessageCreate](s)

	f.srv.SendInvalidSession(false)
	waitFor(t, f.srv, "a second identify", func() bool {
		st := f.srv.GatewayStats()
		return st.Identifies == 2 && st.Ready == 1
	})
	ready.wait(t, "second READY", func(*discordgo.Ready) bool { return true })
	sent, _ := f.srv.SendMessage(f.general.ID, f.alice.UserID, "new session")
	msgs.wait(t, "MESSAGE_CREATE on the new session", func(m *discordgo.MessageCreate) bool { return m.ID == sent.ID })
}

func TestLatency(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := newBot(t, f.srv, allIntents)
	f.srv.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.User("@me", discordgo.WithContext(ctx)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the request held until its context ended", err)
	}
	f.srv.SetLatency(0)
	if _, err := s.User("@me"); err != nil {
		t.Error(err)
	}
}
