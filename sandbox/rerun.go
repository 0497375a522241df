package sandbox

import (
	"context"
	"time"
)

// Traced reruns. When a run ends its worker by a limit (native recursion,
// memory, stuck in native code) and its line went with the worker, the
// pool runs the same event again at once, traced (trace.go), in a worker
// process of its own that hosts nothing else, with every host call
// refused, so the rerun cannot act and no other guild shares its fate. If
// the rerun ends its worker too, the first run's failure gets the
// statement the rerun started last. A rerun that goes another way (it
// needed a host call's answer, or reads the clock or Math.random) finds
// nothing, and the version's later runs, traced, still name the line.
//
// A program is rerun at most once per Supervisor: its first such run makes
// it a suspect, and suspects are traced from then on. One rerun runs at a
// time; a death while one runs is not rerun (the log says so).

// rerunNote follows the line a rerun found.
const rerunNote = "    (found by running the event again, traced, in a worker of its own, with host calls refused)\n"

// rerunnable reports whether f, the failure of a run that ended its
// worker, was caused by a limit the run hit and has no line.
func rerunnable(f *Failure, p *Program) bool {
	if f.Stack != "" || p.trace != nil {
		return false
	}
	switch f.Kind {
	case FailStack, FailMemory, FailTimeout:
		return true
	}
	return false
}

// rerun settles st with o once the traced rerun has had its chance to
// find the line.
func (pl *pool) rerun(st *invState, o outcome) {
	defer func() { pl.s.complete(st.id, o) }()
	if !pl.rerunning.CompareAndSwap(false, true) {
		pl.log.Info("sandbox: a traced rerun is already running; this run that ended its worker keeps no line", "guild_id", st.key.Guild, "ext", st.key.Extension)
		return
	}
	defer pl.rerunning.Store(false)
	traced := st.spec.Program.traced()
	if traced == nil {
		return
	}
	sl := &slot{pool: pl, index: -1, ready: make(chan struct{}), rerun: true}
	pr, err := pl.spawn(sl)
	if err != nil {
		pl.log.Warn("sandbox: no worker for a traced rerun", "err", err)
		return
	}
	sl.install(pr)
	if !pl.addRerunSlot(sl) {
		pr.shutdown()
		return
	}
	defer func() {
		pl.removeRerunSlot(sl)
		pr.shutdown()
	}()

	spec := st.spec
	spec.Program = traced
	again := &invState{id: pl.s.nextID.Add(1), key: st.key, spec: spec, event: st.event,
		ctx: context.Background(), done: make(chan outcome, 1), rerun: true}
	pl.s.mu.Lock()
	pl.s.invs[again.id] = again
	pl.s.mu.Unlock()
	defer func() {
		pl.s.mu.Lock()
		delete(pl.s.invs, again.id)
		pl.s.mu.Unlock()
	}()
	if ok, err := pr.send(again); !ok || err != nil {
		return
	}
	wait := time.NewTimer(spec.Limits.Timeout + pl.opts.KillGrace + pl.opts.HangTimeout)
	defer wait.Stop()
	select {
	case ro := <-again.done:
		if f := ro.res.Failure; f != nil && f.EndedWorker && f.Stack != "" {
			o.res.Failure.Stack = f.Stack + rerunNote
		}
	case <-wait.C:
	case <-pl.quit:
	}
}

// addRerunSlot lets the watchdog and close see a rerun's worker; false
// once the pool is closing.
func (pl *pool) addRerunSlot(sl *slot) bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.closing {
		return false
	}
	pl.rerunSlots = append(pl.rerunSlots, sl)
	return true
}

func (pl *pool) removeRerunSlot(sl *slot) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for i, s := range pl.rerunSlots {
		if s == sl {
			pl.rerunSlots = append(pl.rerunSlots[:i], pl.rerunSlots[i+1:]...)
			return
		}
	}
}

// watched is every slot the watchdog checks: the pool's and a rerun's.
func (pl *pool) watched() []*slot {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if len(pl.rerunSlots) == 0 {
		return pl.slots
	}
	return append(append([]*slot(nil), pl.slots...), pl.rerunSlots...)
}
