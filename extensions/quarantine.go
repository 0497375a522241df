package extensions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// A version whose runs keep ending sandbox workers harms more than its own
// guild: every run that shared the worker is disturbed, in every guild
// placed there. Suspension counts failures per guild, so a version in a
// thousand guilds could end workers thousands of times; the quarantine
// counts these runs per version, in all guilds together, and stops the
// version everywhere.

// DefaultQuarantineAfter is Options.QuarantineAfter's default: runs that
// end their worker within the suspension window.
const DefaultQuarantineAfter = 3

// EventQuarantined is an install stopped because its version was
// quarantined everywhere; only the operator lifts it.
const EventQuarantined = "quarantined"

// endedWorkerByItself reports whether f is a run that ended its worker by
// what it did: stuck in native code past the deadline, a native stack
// overflow, the worker's memory limit. A worker that died of something
// else while the run was executing (killed from outside, by the kernel's
// OOM killer for instance, or stopped answering) blames the run, but a
// popular version is often the one running, so that never counts.
func endedWorkerByItself(f *sandbox.Failure) bool {
	if !f.EndedWorker {
		return false
	}
	switch f.Kind {
	case sandbox.FailTimeout, sandbox.FailStack, sandbox.FailMemory:
		return true
	}
	return false
}

// noteEndedWorker counts a run that ended its worker against its version
// and quarantines the version when it has done so too often; it reports
// whether it did.
func (m *Manager) noteEndedWorker(ctx context.Context, in store.Install, f *sandbox.Failure) bool {
	if !endedWorkerByItself(f) {
		return false
	}
	limit, window := m.opts.QuarantineAfter, m.suspendWindow()
	if limit == 0 {
		limit = DefaultQuarantineAfter
	}
	if limit < 0 || !m.fails.add(fmt.Sprintf("version/%d", in.VersionID), m.now(), limit, window) {
		return false
	}
	reason := fmt.Sprintf("its runs ended sandbox workers %d times within %s; the last: %s: %s", limit, window, f.Kind, f.Message)
	if err := m.store.QuarantineVersion(ctx, in.VersionID, reason); err != nil {
		m.log.Error("quarantine extension version", "ext", in.Name, "version", in.Version, "err", err)
		return false
	}
	m.log.Warn("extension version quarantined in every guild", "ext", in.Name, "version", in.Version, "reason", reason)
	ins, err := m.store.InstallsOf(ctx, in.ExtensionID)
	if err != nil {
		m.log.Error("installs of a quarantined version", "ext", in.Name, "version", in.Version, "err", err)
		return true // it runs nowhere anyway: guild views refuse it
	}
	ctx = context.WithoutCancel(ctx) // some may finish in the background
	for _, other := range ins {
		if other.VersionID == in.VersionID {
			// It runs nowhere from here on: guild views refuse it.
			m.runner.Evict(sandbox.Key{Guild: string(other.GuildID), Extension: other.Name})
			m.invalidate(other.GuildID)
			m.locks.whenFree(string(other.GuildID)+"/"+other.Name, func() { m.stopQuarantined(ctx, other, reason) })
		}
	}
	return true
}

// stopQuarantined suspends one install of a quarantined version and tells
// its guild; the caller holds its lock.
func (m *Manager) stopQuarantined(ctx context.Context, in store.Install, reason string) {
	cur, err := m.store.Install(ctx, in.GuildID, in.ExtensionID)
	if err != nil || cur.VersionID != in.VersionID {
		return // removed or moved to another version meanwhile
	}
	m.stop(ctx, cur, EventQuarantined, reason, fmt.Sprintf("quarantined by skybot in every server: %s; version %s stays off until skybot's operator lifts it, and a newer version can be installed", reason, in.Version))
}

// refuseQuarantined refuses to install, enable or roll back to a
// quarantined version.
func (m *Manager) refuseQuarantined(ctx context.Context, id store.VersionID, name, version string) error {
	q, err := m.store.QuarantineOf(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not check whether %s %s may run.", name, version)
	}
	return quarantineError(q, name, version)
}

// quarantined is every quarantined version, for a guild view: one read
// however many installs it has (the table is almost always empty).
func (m *Manager) quarantined(ctx context.Context) (map[store.VersionID]store.Quarantine, error) {
	qs, err := m.store.Quarantines(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[store.VersionID]store.Quarantine, len(qs))
	for _, q := range qs {
		byID[q.VersionID] = q
	}
	return byID, nil
}

// quarantineError is the refusal a quarantined version gets everywhere.
func quarantineError(q store.Quarantine, name, version string) error {
	return skyerr.New(skyerr.InvalidState, "%s %s is quarantined in every server: %s. It stays off until skybot's operator lifts it; a newer version can be installed.",
		name, version, q.Reason)
}

// suspendWindow is the window failures are counted in.
func (m *Manager) suspendWindow() time.Duration {
	if m.opts.SuspendWindow > 0 {
		return m.opts.SuspendWindow
	}
	return DefaultSuspendWindow
}
