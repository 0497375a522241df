package extensions

import (
	"context"
	"testing"
	"time"

	"github.com/skyext/skybot/store"
)

// Counts taken for a write that failed come back and add to the runs
// counted meanwhile: a failed flush drops nothing.
func TestUsageCountsSurviveAFailedWrite(t *testing.T) {
	t.Parallel()
	var u usage
	in := store.Install{GuildID: "g1", ExtensionID: 1, VersionID: 2}
	day := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	u.add(in, false, day)
	u.add(in, true, day)
	taken := u.take()
	u.add(in, false, day)                   // a run while the write is under way
	u.add(in, false, day.Add(24*time.Hour)) // and one the next day
	u.giveBack(taken)
	got := u.take()
	k := store.UsageKey{Extension: 1, Version: 2, Guild: "g1", Day: store.UsageDay(day)}
	if got[k] != (store.UsageCount{Runs: 3, Errors: 1}) {
		t.Errorf("today's counts after a failed write = %+v; want 3 runs, 1 error", got[k])
	}
	k.Day++
	if got[k] != (store.UsageCount{Runs: 1}) {
		t.Errorf("the next day's counts = %+v", got[k])
	}
	if rest := u.take(); len(rest) != 0 {
		t.Errorf("take left %v behind", rest)
	}
}

// FlushUsageEvery writes the counts on its own clock, and once more when
// its context ends (the app's shutdown), without anyone reading stats.
func TestUsageFlushesOnATimerAndAtTheEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	gf.publish(t, "ann", ext("hello", "1.0.0", "Hi"))
	if _, err := gf.installFromGallery(t, "g1", "hello", ""); err != nil {
		t.Fatal(err)
	}
	in, err := gf.store.InstallByName(ctx, "g1", "hello")
	if err != nil {
		t.Fatal(err)
	}
	runs := func() int {
		t.Helper()
		u, err := gf.store.UsageByVersion(ctx, in.ExtensionID, 0)
		if err != nil {
			t.Fatal(err)
		}
		return u[in.VersionID].Runs
	}
	flushEvery := func(interval time.Duration) (stop func()) {
		flushCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			gf.m.FlushUsageEvery(flushCtx, interval)
		}()
		return func() { cancel(); <-done }
	}

	stop := flushEvery(5 * time.Millisecond)
	gf.m.usage.add(in, false, time.Now())
	for deadline := time.Now().Add(10 * time.Second); runs() != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the timer never wrote the run")
		}
	}
	stop()

	// An interval that never comes: only the final flush can write this.
	stop = flushEvery(time.Hour)
	gf.m.usage.add(in, true, time.Now())
	if got := runs(); got != 1 {
		t.Fatalf("runs before the end = %d, want 1", got)
	}
	stop()
	if got := runs(); got != 2 {
		t.Errorf("runs after the final flush = %d, want 2", got)
	}
}
