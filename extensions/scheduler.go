package extensions

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// Scheduler fires extensions' schedules: legacy timers (@interval),
// sky.every, sky.cron (5-field specs, robfig/cron's parser) and the
// durable one-shot jobs of sky.later. Schedules are derived from what is
// installed, not remembered: a guild is re-synced whenever one of its
// installs changes (install, update, rollback, enable, disable,
// uninstall), and every scheduled guild at start, so they survive
// restarts. Jobs live in the store until they have run.
//
// Time comes from Now; RunDue fires what is due at a given instant, so a
// test drives the schedule with an injected clock.
type Scheduler struct {
	d   *Dispatcher
	now func() time.Time
	log *slog.Logger

	mu      sync.Mutex
	entries map[schedKey]*schedEntry
	queue   schedHeap
	dirty   map[store.GuildID]bool
	wake    chan struct{}
	running sync.WaitGroup
}

type schedKey struct {
	guild store.GuildID
	ext   string
	id    string // registration id, "timer" for a legacy timer, "job:"+key for a job
}

type schedEntry struct {
	key     schedKey
	version store.VersionID
	kind    string // "timer", sandbox.RegEvery, sandbox.RegCron, sandbox.RegJob
	every   time.Duration
	cron    cron.Schedule
	job     *store.Job
	next    time.Time
	index   int // in the heap; -1 when not queued
}

// NewScheduler returns a scheduler over d's manager; now nil is time.Now.
func NewScheduler(d *Dispatcher, now func() time.Time) *Scheduler {
	if now == nil {
		now = time.Now
	}
	s := &Scheduler{d: d, now: now, log: d.m.log, entries: map[schedKey]*schedEntry{}, dirty: map[store.GuildID]bool{}, wake: make(chan struct{}, 1)}
	d.m.watch(s.markDirty)
	d.sched = s
	return s
}

// markDirty asks for guild to be re-synced; it never blocks, since it is
// called from inside lifecycle operations.
func (s *Scheduler) markDirty(guild store.GuildID) {
	s.mu.Lock()
	s.dirty[guild] = true
	s.mu.Unlock()
	s.poke()
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Start syncs every scheduled guild and runs the schedule until ctx ends.
func (s *Scheduler) Start(ctx context.Context) error {
	if err := s.SyncAll(ctx); err != nil {
		return err
	}
	go s.loop(ctx)
	return nil
}

// SyncAll syncs every guild that has schedules or jobs. Start calls it; a
// caller that drives the schedule itself (with RunDue, on a clock of its
// own) calls it instead of Start.
func (s *Scheduler) SyncAll(ctx context.Context) error {
	guilds, err := s.d.m.store.ScheduledGuilds(ctx)
	if err != nil {
		return err
	}
	for _, g := range guilds {
		if err := s.Sync(ctx, g); err != nil {
			s.log.Warn("schedule sync failed", "guild_id", g, "err", err)
		}
	}
	return nil
}

func (s *Scheduler) loop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.SyncDirty(ctx)
		s.RunDue(ctx, s.now())
		wait := time.Hour
		s.mu.Lock()
		if len(s.queue) > 0 {
			wait = max(0, s.queue[0].next.Sub(s.now()))
		}
		s.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			s.running.Wait()
			return
		case <-s.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// SyncDirty re-syncs the guilds whose installs changed since the last call.
func (s *Scheduler) SyncDirty(ctx context.Context) {
	s.mu.Lock()
	guilds := make([]store.GuildID, 0, len(s.dirty))
	for g := range s.dirty {
		guilds = append(guilds, g)
	}
	clear(s.dirty)
	s.mu.Unlock()
	for _, g := range guilds {
		if err := s.Sync(ctx, g); err != nil {
			s.log.Warn("schedule sync failed", "guild_id", g, "err", err)
		}
	}
}

// Sync makes guild's entries match its enabled installs and pending jobs.
// An entry that is still wanted keeps its next firing time, unless its
// version changed (an update reschedules).
func (s *Scheduler) Sync(ctx context.Context, guild store.GuildID) error {
	view, err := s.d.m.view(ctx, guild)
	if err != nil {
		return err
	}
	jobs, err := s.d.m.store.Jobs(ctx, guild)
	if err != nil {
		return err
	}
	now := s.now()
	want := map[schedKey]*schedEntry{}
	for _, ai := range view.installs {
		if ai.loadErr != nil {
			continue
		}
		ext, ver := ai.install.Name, ai.install.VersionID
		if ai.manifest.Legacy() {
			if ai.manifest.Type == TypeTimer && ai.manifest.IntervalMS > 0 {
				want[schedKey{guild, ext, "timer"}] = &schedEntry{version: ver, kind: "timer", every: time.Duration(ai.manifest.IntervalMS) * time.Millisecond}
			}
			continue
		}
		for _, r := range ai.regs {
			switch r.Kind {
			case sandbox.RegEvery:
				want[schedKey{guild, ext, r.ID}] = &schedEntry{version: ver, kind: r.Kind, every: time.Duration(r.EveryMS) * time.Millisecond}
			case sandbox.RegCron:
				spec, err := cronParser.Parse(r.Cron)
				if err != nil {
					continue // validated at load; cannot happen
				}
				want[schedKey{guild, ext, r.ID}] = &schedEntry{version: ver, kind: r.Kind, cron: spec}
			}
		}
	}
	active := map[store.ExtensionID]activeInstall{}
	for _, ai := range view.installs {
		active[ai.install.ExtensionID] = ai
	}
	for _, j := range jobs {
		ai, ok := active[j.ExtensionID]
		if !ok {
			continue // disabled or uninstalled: the job waits (or is dropped when it fires)
		}
		j := j
		want[schedKey{guild, ai.install.Name, "job:" + j.Key}] = &schedEntry{version: ai.install.VersionID, kind: sandbox.RegJob, job: &j, next: j.DueAt}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.entries {
		if k.guild != guild {
			continue
		}
		w, ok := want[k]
		if !ok || w.version != e.version || (e.job != nil && !w.job.DueAt.Equal(e.job.DueAt)) {
			s.remove(e)
			continue
		}
		delete(want, k) // unchanged: keeps its next time
	}
	for k, e := range want {
		e.key, e.index = k, -1
		if e.next.IsZero() {
			e.next = e.after(now)
		}
		s.entries[k] = e
		heap.Push(&s.queue, e)
	}
	s.poke()
	return nil
}

// after is the entry's next firing strictly after t.
func (e *schedEntry) after(t time.Time) time.Time {
	if e.cron != nil {
		return e.cron.Next(t)
	}
	return t.Add(e.every)
}

func (s *Scheduler) remove(e *schedEntry) {
	delete(s.entries, e.key)
	if e.index >= 0 {
		heap.Remove(&s.queue, e.index)
	}
}

// RunDue fires every entry due at now and waits for those runs. A
// repeating entry that missed several times (the bot was down) fires once
// and is rescheduled after now.
func (s *Scheduler) RunDue(ctx context.Context, now time.Time) {
	var due []*schedEntry
	s.mu.Lock()
	for len(s.queue) > 0 && !s.queue[0].next.After(now) {
		e := heap.Pop(&s.queue).(*schedEntry)
		due = append(due, e)
		if e.job != nil {
			delete(s.entries, e.key)
			continue
		}
		e.next = e.after(now)
		heap.Push(&s.queue, e)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range due {
		wg.Add(1)
		s.running.Add(1)
		go func() {
			defer wg.Done()
			defer s.running.Done()
			s.fire(ctx, e, now)
		}()
	}
	wg.Wait()
}

// fire runs one due entry; a job's row is deleted after its run (so a
// crash in between runs it again: at least once).
func (s *Scheduler) fire(ctx context.Context, e *schedEntry, now time.Time) {
	defer func() {
		if x := recover(); x != nil {
			s.log.Error("scheduled run panicked", "guild_id", e.key.guild, "ext", e.key.ext, "panic", x)
		}
	}()
	if err := s.d.fireSchedule(ctx, e, now); err != nil {
		s.log.Warn("scheduled run not delivered", "guild_id", e.key.guild, "ext", e.key.ext, "schedule", e.key.id, "err", err)
	}
	if e.job != nil {
		if _, err := s.d.m.store.DeleteJob(ctx, e.job.GuildID, e.job.ExtensionID, e.job.Key); err != nil {
			s.log.Error("job row not deleted after its run", "guild_id", e.key.guild, "ext", e.key.ext, "key", e.job.Key, "err", err)
		}
	}
}

// Later stores a durable job for the install of o and schedules it; a
// pending job with the same key is replaced.
func (s *Scheduler) Later(ctx context.Context, o Origin, delay time.Duration, key string, payload json.RawMessage) error {
	if key == "" || len(key) > 200 {
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "a job key is 1 to 200 characters")
	}
	if delay < time.Second || delay > 366*24*time.Hour {
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "a job runs between 1 second and 366 days from now")
	}
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	if len(payload) > 16<<10 {
		return sandbox.Errorf(sandbox.CodeInvalidArgument, "a job payload is at most 16 KiB of JSON")
	}
	j := store.Job{GuildID: store.GuildID(o.GuildID), ExtensionID: o.ExtensionID, Key: key, DueAt: s.now().Add(delay), Payload: string(payload)}
	if err := s.d.m.store.PutJob(ctx, j); err != nil {
		if errors.Is(err, store.ErrQuota) {
			return sandbox.Errorf(sandbox.CodeBudgetExceeded, "the extension already has %d pending jobs", store.MaxJobsPerInstall)
		}
		return err
	}
	return s.Sync(ctx, j.GuildID)
}

// Cancel removes the pending job with key; it reports whether there was one.
func (s *Scheduler) Cancel(ctx context.Context, o Origin, key string) (bool, error) {
	ok, err := s.d.m.store.DeleteJob(ctx, store.GuildID(o.GuildID), o.ExtensionID, key)
	if err != nil {
		return false, err
	}
	return ok, s.Sync(ctx, store.GuildID(o.GuildID))
}

// Pending lists a guild's scheduled entries as "ext id @ time", for tests
// and the status command.
func (s *Scheduler) Pending(guild store.GuildID) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.queue {
		if e.key.guild == guild {
			out = append(out, fmt.Sprintf("%s %s @ %s", e.key.ext, e.key.id, e.next.UTC().Format(time.RFC3339)))
		}
	}
	return out
}

// fireSchedule runs the handler (or legacy timer body) an entry names.
func (d *Dispatcher) fireSchedule(ctx context.Context, e *schedEntry, now time.Time) error {
	view, err := d.m.view(ctx, e.key.guild)
	if err != nil {
		return err
	}
	for _, ai := range view.installs {
		if ai.install.Name != e.key.ext {
			continue
		}
		origin := Origin{GuildID: string(e.key.guild), Trigger: e.kind}
		if e.kind == "timer" {
			ev := scheduleModules(TypeTimer, view.prefix, d.botUser(), now)
			d.run(ctx, ai, view, ev, origin)
			return nil
		}
		data := map[string]any{"guildId": string(e.key.guild), "scheduledAt": now.UnixMilli()}
		regID := e.key.id
		if e.job != nil {
			data["job"] = map[string]any{"key": e.job.Key, "payload": json.RawMessage(e.job.Payload)}
			regID = jobHandler(ai.regs, e.job.Key)
			if regID == "" {
				return fmt.Errorf("no sky.onJob handler matches job %q", e.job.Key)
			}
		}
		for _, r := range ai.regs {
			if r.ID == regID {
				d.run(ctx, ai, view, handlerEvent(e.kind, r, "", data), origin)
				return nil
			}
		}
		return fmt.Errorf("registration %s is gone", regID)
	}
	return nil // uninstalled or disabled meanwhile
}

// jobHandler picks the sky.onJob registration with the longest key prefix
// matching key.
func jobHandler(regs []sandbox.Registration, key string) string {
	best, bestLen := "", -1
	for _, r := range regs {
		if r.Kind == sandbox.RegJob && strings.HasPrefix(key, r.Key) && len(r.Key) > bestLen {
			best, bestLen = r.ID, len(r.Key)
		}
	}
	return best
}

// schedHeap orders entries by next firing time.
type schedHeap []*schedEntry

func (h schedHeap) Len() int           { return len(h) }
func (h schedHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h schedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *schedHeap) Push(x any)        { e := x.(*schedEntry); e.index = len(*h); *h = append(*h, e) }
func (h *schedHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	e.index = -1
	return e
}
