package extensions

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// Lifecycle event kinds: what happened to an install.
const (
	EventInstalled   = "installed"
	EventUpdated     = "updated"
	EventRolledBack  = "rolled_back"
	EventEnabled     = "enabled"
	EventDisabled    = "disabled"
	EventUninstalled = "uninstalled"
	EventError       = "error" // a run failed
)

// LifecycleEvent is one change to an install (or a failed run), reported
// to Options.OnLifecycle: the guild's log channel and metrics read them.
type LifecycleEvent struct {
	Kind      string
	Guild     store.GuildID
	Extension string
	Version   string // the version now active (or that failed)
	From      string // the version before, for updates and rollbacks
	Actor     store.UserID
	Detail    string // e.g. the failure, for EventError
}

// EventSuspended is an extension stopped by skybot after failing too
// often; an admin re-enables it with /ext enable.
const EventSuspended = "suspended"

// Automatic updates that did not happen (Manager.AutoUpdate): the newer
// version asks for scopes the admin has not granted (Detail lists them),
// or updating failed (Detail says why). Version is the version not
// installed, From the one still running.
const (
	EventUpdateWaiting = "update_waiting"
	EventUpdateFailed  = "update_failed"
)

// emit reports ev to the observer, if any.
func (m *Manager) emit(ev LifecycleEvent) {
	if m.opts.OnLifecycle != nil {
		m.opts.OnLifecycle(ev)
	}
}

// Defaults of the failure policy: an extension that fails this often in
// this window is suspended in that guild.
const (
	DefaultSuspendAfter  = 5
	DefaultSuspendWindow = 10 * time.Minute
)

// failures counts recent failed runs per guild × extension.
type failures struct {
	mu     sync.Mutex
	recent map[string][]time.Time
}

// add records a failure at now and reports whether the count within window
// has reached limit (and then forgets the streak).
func (f *failures) add(key string, now time.Time, limit int, window time.Duration) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recent == nil {
		f.recent = map[string][]time.Time{}
	}
	kept := f.recent[key][:0]
	for _, t := range f.recent[key] {
		if now.Sub(t) < window {
			kept = append(kept, t)
		}
	}
	kept = append(kept, now)
	if len(kept) >= limit {
		delete(f.recent, key)
		return true
	}
	f.recent[key] = kept
	return false
}

func (f *failures) reset(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.recent, key)
}

// noteFailure emits the error event and suspends the install when it has
// failed too often.
func (m *Manager) noteFailure(ctx context.Context, in store.Install, f *sandbox.Failure) {
	m.emit(LifecycleEvent{Kind: EventError, Guild: in.GuildID, Extension: in.Name, Version: in.Version, Detail: f.Kind + ": " + f.Message})
	if !f.Attributable() {
		return
	}
	if m.noteEndedWorker(ctx, in, f) {
		return // suspended everywhere, this guild included
	}
	limit, window := m.opts.SuspendAfter, m.suspendWindow()
	if limit <= 0 {
		limit = DefaultSuspendAfter
	}
	if !m.fails.add(string(in.GuildID)+"/"+in.Name, m.now(), limit, window) {
		return
	}
	ctx = context.WithoutCancel(ctx) // it may finish in the background
	m.locks.whenFree(string(in.GuildID)+"/"+in.Name, func() { m.suspend(ctx, in, f, limit, window) })
}

// suspend disables one install after too many failures and tells its
// guild; the caller holds its lock.
func (m *Manager) suspend(ctx context.Context, in store.Install, f *sandbox.Failure, limit int, window time.Duration) {
	cur, err := m.store.Install(ctx, in.GuildID, in.ExtensionID)
	if err != nil || cur.VersionID != in.VersionID || !cur.Enabled {
		return // removed, moved to another version or disabled meanwhile
	}
	detail := fmt.Sprintf("%d failures within %s; the last: %s: %s", limit, window, f.Kind, f.Message)
	m.log.Warn("extension suspended", "guild_id", in.GuildID, "ext", in.Name, "version", in.Version, "reason", detail)
	m.stop(ctx, cur, EventSuspended, detail, "suspended by skybot: "+detail+"; /ext enable lets it run again")
}

// stop disables in (as read just now, under its lock) on skybot's behalf
// when it is enabled, and tells its guild: line in the extension's log,
// and a lifecycle event of kind with detail.
func (m *Manager) stop(ctx context.Context, in store.Install, kind, detail, line string) {
	if in.Enabled {
		if err := m.store.SetInstallEnabled(ctx, in.GuildID, in.ExtensionID, false, suspendActor); err != nil {
			m.log.Error("stop extension", "guild_id", in.GuildID, "ext", in.Name, "event", kind, "err", err)
			return
		}
	}
	m.runner.Evict(sandbox.Key{Guild: string(in.GuildID), Extension: in.Name})
	m.invalidate(in.GuildID)
	m.fails.reset(string(in.GuildID) + "/" + in.Name)
	if err := m.store.AppendLog(ctx, store.LogEntry{GuildID: in.GuildID, ExtensionID: in.ExtensionID, VersionID: in.VersionID,
		Level: "error", Kind: "lifecycle", Message: line}); err != nil {
		m.log.Error("extension log write failed", "guild_id", in.GuildID, "ext", in.Name, "err", err)
	}
	m.emit(LifecycleEvent{Kind: kind, Guild: in.GuildID, Extension: in.Name, Version: in.Version, Actor: suspendActor, Detail: detail})
}

// suspendActor is who the install history names for a suspension.
const suspendActor store.UserID = "skybot"
