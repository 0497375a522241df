package bot

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/store"
)

// LogChannel posts extension lifecycle events (installed, updated, failed,
// suspended, ...) to each guild's log channel, when the guild set one with
// /ext logchannel. Posting is asynchronous through a bounded queue so the
// lifecycle never waits on Discord; an event that does not fit is counted
// and logged, never dropped silently. Failed-run posts are throttled per
// guild × extension, and the next post says how many were held back.
type LogChannel struct {
	session *discordgo.Session
	store   *store.Store
	log     *slog.Logger
	every   time.Duration // at most one failed-run post per extension this often

	queue   chan extensions.LifecycleEvent
	dropped atomic.Int64
	done    chan struct{}
	// closing guards queue: Notify holds it for reading, Close for
	// writing, so nothing is sent on the closed queue by a handler still
	// running at shutdown.
	closing sync.RWMutex
	closed  bool

	mu        sync.Mutex
	lastError map[string]time.Time
	held      map[string]int
}

// NewLogChannel starts the poster. Close stops it.
func NewLogChannel(session *discordgo.Session, st *store.Store, log *slog.Logger) *LogChannel {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &LogChannel{
		session: session, store: st, log: log, every: 5 * time.Minute,
		queue: make(chan extensions.LifecycleEvent, 256), done: make(chan struct{}),
		lastError: map[string]time.Time{}, held: map[string]int{},
	}
	go l.loop()
	return l
}

// Notify queues ev for posting; it never blocks.
func (l *LogChannel) Notify(ev extensions.LifecycleEvent) {
	l.closing.RLock()
	defer l.closing.RUnlock()
	if l.closed {
		n := l.dropped.Add(1)
		l.log.Warn("log channel closed; event not posted", "guild_id", ev.Guild, "ext", ev.Extension, "kind", ev.Kind, "dropped_total", n)
		return
	}
	select {
	case l.queue <- ev:
	default:
		n := l.dropped.Add(1)
		l.log.Warn("log channel queue full; event not posted", "guild_id", ev.Guild, "ext", ev.Extension, "kind", ev.Kind, "dropped_total", n)
	}
}

// Dropped is how many events did not fit in the queue.
func (l *LogChannel) Dropped() int64 { return l.dropped.Load() }

// Close stops the poster after the queued events are posted.
func (l *LogChannel) Close() {
	l.closing.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.closing.Unlock()
	<-l.done
}

func (l *LogChannel) loop() {
	defer close(l.done)
	for ev := range l.queue {
		l.post(ev)
	}
}

func (l *LogChannel) post(ev extensions.LifecycleEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g, err := l.store.Guild(ctx, ev.Guild)
	if err != nil || g.LogChannelID == "" {
		return
	}
	text, ok := l.text(ev)
	if !ok {
		return
	}
	_, err = l.session.ChannelMessageSendComplex(g.LogChannelID, &discordgo.MessageSend{
		Content:         text,
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
	}, discordgo.WithContext(ctx))
	if err != nil {
		l.log.Warn("post to log channel failed", "guild_id", ev.Guild, "channel_id", g.LogChannelID, "kind", ev.Kind, "err", err)
	}
}

// text renders ev; false means it is held back by the failed-run throttle.
func (l *LogChannel) text(ev extensions.LifecycleEvent) (string, bool) {
	who := ""
	if ev.Actor != "" && ev.Actor != "skybot" {
		who = fmt.Sprintf(" by <@%s>", ev.Actor)
	}
	name := fmt.Sprintf("**%s** %s", ev.Extension, ev.Version)
	switch ev.Kind {
	case extensions.EventInstalled:
		return "🧩 Installed " + name + who + ".", true
	case extensions.EventUpdated:
		if ev.Actor == extensions.AutoActor {
			who = " automatically (this server's auto-update track)"
		}
		return fmt.Sprintf("🧩 Updated **%s** %s → %s%s.", ev.Extension, ev.From, ev.Version, who), true
	case extensions.EventUpdateWaiting:
		return fmt.Sprintf("🧩 **%s** %s is published and asks for new scopes (%s), so it was not installed automatically; `/ext update name:%s` shows them for you to accept.",
			ev.Extension, ev.Version, ev.Detail, ev.Extension), true
	case extensions.EventUpdateFailed:
		return fmt.Sprintf("⚠️ Updating **%s** %s → %s automatically failed: %s %s keeps running.",
			ev.Extension, ev.From, ev.Version, ev.Detail, ev.From), true
	case extensions.EventRolledBack:
		return fmt.Sprintf("🧩 Rolled **%s** back %s → %s%s.", ev.Extension, ev.From, ev.Version, who), true
	case extensions.EventEnabled:
		return "🧩 Enabled " + name + who + ".", true
	case extensions.EventDisabled:
		return "🧩 Disabled " + name + who + ".", true
	case extensions.EventUninstalled:
		return "🧩 Uninstalled " + name + who + ".", true
	case extensions.EventSuspended:
		return "⛔ Suspended " + name + ": " + ev.Detail + ". `/ext enable " + ev.Extension + "` lets it run again.", true
	case extensions.EventQuarantined:
		return "⛔ Quarantined " + name + " in every server: " + ev.Detail + ". It stays off until skybot's operator lifts it; `/ext update " + ev.Extension + "` can move to a newer version.", true
	case extensions.EventError:
		key := string(ev.Guild) + "/" + ev.Extension
		l.mu.Lock()
		defer l.mu.Unlock()
		if last, ok := l.lastError[key]; ok && time.Since(last) < l.every {
			l.held[key]++
			return "", false
		}
		l.lastError[key] = time.Now()
		more := ""
		if n := l.held[key]; n > 0 {
			more = fmt.Sprintf(" (%d more failures since the last report)", n)
		}
		delete(l.held, key)
		return "⚠️ " + name + " failed: " + ev.Detail + more + ". `/ext logs " + ev.Extension + "` has the details.", true
	}
	return "", false
}
