package extensions

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skyext/skybot/store"
)

const clockwork = `// ==SkyExtension==
// @name         clockwork
// @version      1.0.0
// ==/SkyExtension==
const sky = require('sky');
sky.every('5m', (ctx) => console.log('every', new Date(ctx.scheduledAt).toISOString()));
sky.cron('0 9 * * *', (ctx) => console.log('cron', new Date(ctx.scheduledAt).toISOString()));
sky.onJob('remind:', (ctx) => console.log('job', ctx.job.key, ctx.job.payload.text));
`

const legacyTimer = `// ==SkyExtension==
// @name         ticker
// @version      1.0.0
// @type         timer
// @interval     300000
// ==/SkyExtension==
console.log('tick', require('moment').now);
`

// consoleLog collects console lines of runs, in order.
type consoleLog struct {
	mu    sync.Mutex
	lines []string
}

func (c *consoleLog) observe(r Run) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Result.Failure != nil {
		c.lines = append(c.lines, "FAILED "+r.Extension+": "+r.Result.Failure.Error())
	}
	for _, l := range r.Result.Console {
		c.lines = append(c.lines, l.Text)
	}
}

func (c *consoleLog) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.lines
	c.lines = nil
	slices.Sort(out)
	return out
}

func TestScheduleFollowsInstallsAndTheClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 11, 22, 8, 58, 0, 0, time.UTC)}
	f := newFixture(t, Options{Now: clk.Now})
	var log consoleLog
	f.d = NewDispatcher(f.m, log.observe)
	s := NewScheduler(f.d, clk.Now)

	for _, src := range []string{clockwork, legacyTimer} {
		name := strings.Fields(src[strings.Index(src, "@name"):])[1]
		if _, err := f.install(t, "g1", name+".skyext", src); err != nil {
			t.Fatal(err)
		}
	}
	s.SyncDirty(ctx) // the installs marked the guild: no restart needed
	if got := len(s.Pending("g1")); got != 3 {
		t.Fatalf("pending %v, want 3 entries", s.Pending("g1"))
	}

	clk.Advance(2 * time.Minute) // 09:00
	s.RunDue(ctx, clk.Now())
	if got := log.take(); !slices.Equal(got, []string{"cron 2026-11-22T09:00:00.000Z"}) {
		t.Fatalf("at 09:00: %q", got)
	}
	clk.Advance(3 * time.Minute) // 09:03: both 5-minute schedules are due
	s.RunDue(ctx, clk.Now())
	got := log.take()
	if len(got) != 2 || got[0] != "every 2026-11-22T09:03:00.000Z" || !strings.HasPrefix(got[1], "tick ") {
		t.Fatalf("at 09:03: %q", got)
	}

	// Disabling removes the schedule at once; enabling brings it back.
	if _, err := f.m.SetEnabled(ctx, "g1", "admin", "clockwork", false); err != nil {
		t.Fatal(err)
	}
	s.SyncDirty(ctx)
	clk.Advance(10 * time.Minute)
	s.RunDue(ctx, clk.Now())
	if got := log.take(); len(got) != 1 || !strings.HasPrefix(got[0], "tick ") {
		t.Fatalf("after disable: %q", got)
	}
	if _, err := f.m.SetEnabled(ctx, "g1", "admin", "clockwork", true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Uninstall(ctx, "g1", "admin", "ticker", false); err != nil {
		t.Fatal(err)
	}
	s.SyncDirty(ctx)
	if p := s.Pending("g1"); len(p) != 2 || slices.ContainsFunc(p, func(e string) bool { return strings.HasPrefix(e, "ticker") }) {
		t.Fatalf("after enable and uninstall: %v", p)
	}
}

func TestJobsAreDurable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	f := newFixture(t, Options{Now: clk.Now})
	s := NewScheduler(f.d, clk.Now)
	if _, err := f.install(t, "g1", "clockwork.skyext", clockwork); err != nil {
		t.Fatal(err)
	}
	in, err := f.store.InstallByName(ctx, "g1", "clockwork")
	if err != nil {
		t.Fatal(err)
	}
	o := Origin{GuildID: "g1", ExtensionID: in.ExtensionID, Extension: "clockwork"}
	for _, text := range []string{"first", "tea"} { // the same key: the second replaces the first
		if err := s.Later(ctx, o, time.Hour, "remind:1", json.RawMessage(`{"text":"`+text+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Later(ctx, o, 0, "remind:2", nil); err == nil {
		t.Fatal("a job due now was accepted")
	}

	// A restart: a new manager, dispatcher and scheduler over the same store.
	m2 := NewManager(f.store, f.sup, Options{Now: clk.Now})
	var log consoleLog
	d2 := NewDispatcher(m2, log.observe)
	s2 := NewScheduler(d2, clk.Now)
	if err := s2.Sync(ctx, "g1"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Minute)
	s2.RunDue(ctx, clk.Now())
	if got := log.take(); slices.Contains(got, "job remind:1 tea") {
		t.Fatal("the job ran early")
	}
	clk.Advance(time.Minute)
	s2.RunDue(ctx, clk.Now())
	if got := log.take(); !slices.Equal(got, []string{"job remind:1 tea"}) {
		t.Fatalf("at its time: %q", got)
	}
	if jobs, _ := f.store.Jobs(ctx, store.GuildID("g1")); len(jobs) != 0 {
		t.Fatalf("the job row is still there: %+v", jobs)
	}
}
