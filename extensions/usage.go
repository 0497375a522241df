package extensions

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/skyext/skybot/store"
)

// usage counts runs and failures in memory: a database write per run
// would cost more than many runs do. FlushUsage moves the counts to the
// store in one transaction.
type usage struct {
	mu     sync.Mutex
	counts map[store.UsageKey]store.UsageCount
}

func (u *usage) add(in store.Install, failed bool, at time.Time) {
	k := store.UsageKey{Extension: in.ExtensionID, Version: in.VersionID, Guild: in.GuildID, Day: store.UsageDay(at)}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.counts == nil {
		u.counts = map[store.UsageKey]store.UsageCount{}
	}
	c := u.counts[k]
	c.Runs++
	if failed {
		c.Errors++
	}
	u.counts[k] = c
}

// take empties the counter and returns what it held.
func (u *usage) take() map[store.UsageKey]store.UsageCount {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := u.counts
	u.counts = nil
	return out
}

// giveBack adds counts that could not be written back into the counter.
func (u *usage) giveBack(counts map[store.UsageKey]store.UsageCount) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.counts == nil {
		u.counts = maps.Clone(counts)
		return
	}
	for k, c := range counts {
		have := u.counts[k]
		have.Runs += c.Runs
		have.Errors += c.Errors
		u.counts[k] = have
	}
}

// FlushUsage writes the runs counted since the last flush to the store. A
// failed write keeps the counts for the next flush and is returned (and
// logged): nothing counted is dropped.
func (m *Manager) FlushUsage(ctx context.Context) error {
	counts := m.usage.take()
	if len(counts) == 0 {
		return nil
	}
	if err := m.store.AddUsage(ctx, counts); err != nil {
		m.usage.giveBack(counts)
		m.log.Error("writing usage counts failed; they are kept for the next flush", "rows", len(counts), "err", err)
		return err
	}
	return nil
}

// FlushUsageEvery flushes the usage counts every interval until ctx ends,
// then once more.
func (m *Manager) FlushUsageEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = m.FlushUsage(context.WithoutCancel(ctx))
			return
		case <-t.C:
			_ = m.FlushUsage(ctx)
		}
	}
}
