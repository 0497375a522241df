package extensions

import (
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
