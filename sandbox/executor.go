package sandbox

import (
	"container/list"
	"errors"
	"fmt"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// port is how an executor reaches the trusted side. In process it calls
// the Supervisor; in a worker it writes frames to the parent. Either way
// the parent decides every host call. Neither method may block on the
// executor.
type port interface {
	// call asks the trusted side to perform one host call; the answer
	// comes back as a taskResult.
	call(inv uint64, seq uint32, api string, args []byte)
	// done reports an invocation's end.
	done(inv uint64, res Result)
}

// execSlot publishes which invocation is executing JS right now and its
// deadline (a worker writes it to the page its parent watches).
type execSlot interface {
	enter(inv uint64, deadline time.Time)
	leave()
}

type taskKind uint8

const (
	taskDeliver  taskKind = iota // run inv (or queue it)
	taskResult                   // a host call's answer
	taskDeadline                 // an invocation's deadline passed
	taskCancel                   // the caller gave up on an invocation
	taskEvict                    // drop the isolate of key
)

type task struct {
	kind taskKind
	inv  *invocation
	id   uint64
	seq  uint32
	out  []byte
	err  *CodeError
	key  Key
}

// executorConfig sets up an executor.
type executorConfig struct {
	maxIsolates   int           // live isolates before the least recently used idle one is dropped
	regexpTimeout time.Duration // the regexp2 match timeout in force, to recognise it
	meter         bool          // run the allocation meter (exact only when this is the process's one executor)
	slot          execSlot      // may be nil
}

// executor runs isolates, one JS slice at a time, on one goroutine: every
// goja runtime it owns is only ever touched from loop. An invocation is a
// sequence of slices (the first call of the code, then one per settled host
// call); between slices other isolates run. Running one slice at a time is
// what makes the allocation meter exact and lets a worker publish exactly
// which invocation is executing when it dies.
type executor struct {
	port  port
	cfg   executorConfig
	tasks chan task
	quit  chan struct{}
	done  chan struct{}

	isolates map[Key]*isolate
	recency  list.List // of *isolate, most recently used first
	runs     map[uint64]*runState
	ready    []*isolate // isolates whose next queued invocation can start
	samples  []metrics.Sample
	live     atomic.Int64
	// lastAllocs is the allocation counter read when the last slice
	// ended, at lastRead; a slice that starts soon after starts from it
	// (readAllocs is a tenth of a worker's time per event otherwise).
	lastAllocs uint64
	lastRead   time.Time

	// imu orders interrupts (deadline timers, the meter) against slice
	// boundaries, so a late interrupt never reaches another slice.
	imu       sync.Mutex
	executing *runState
	execRT    *goja.Runtime
	sliceBase uint64 // allocation counter when the slice began
	wake      chan struct{}

	// waiting is the synchronous host call the loop is blocked on, if any:
	// post routes its answer straight to it instead of the task queue.
	syncMu  sync.Mutex
	waiting *syncWaiter

	// native is the tracked builtin call in progress (isolate.tracked),
	// read by the worker's heartbeat while the loop may be stuck in it.
	nativeMu  sync.Mutex
	native    nativeCall
	nativeBuf []goja.StackFrame
}

// nativeCall is a call from extension code into a wrapped builtin that
// has not returned: the invocation, the builtin, the program's name and
// the innermost JS frames at the call (frames of other sources, such as
// module shims, are skipped when it is reported).
type nativeCall struct {
	inv    uint64
	what   string
	file   string
	frames [3]goja.StackFrame
	n      int
}

// enterNative records that inv's code called what from rt's current
// frame, and returns the call it replaces, for leaveNative.
func (ex *executor) enterNative(inv uint64, what, file string, rt *goja.Runtime) nativeCall {
	c := nativeCall{inv: inv, what: what, file: file}
	ex.nativeBuf = rt.CaptureCallStack(len(c.frames), ex.nativeBuf[:0])
	c.n = copy(c.frames[:], ex.nativeBuf)
	ex.nativeMu.Lock()
	outer := ex.native
	ex.native = c
	ex.nativeMu.Unlock()
	return outer
}

// leaveNative restores the call that was in progress before (usually
// none: inv 0), when a tracked builtin returns or throws.
func (ex *executor) leaveNative(outer nativeCall) {
	ex.nativeMu.Lock()
	ex.native = outer
	ex.nativeMu.Unlock()
}

// nativeNow is the tracked call in progress, if any.
func (ex *executor) nativeNow() (nativeCall, bool) {
	ex.nativeMu.Lock()
	defer ex.nativeMu.Unlock()
	return ex.native, ex.native.inv != 0
}

// syncWaiter is one synchronous host call awaiting its answer.
type syncWaiter struct {
	id  uint64
	seq uint32
	ch  chan task // buffered(1)
}

const allocMetric = "/gc/heap/allocs:bytes"

func newExecutor(p port, cfg executorConfig) *executor {
	if cfg.maxIsolates <= 0 {
		cfg.maxIsolates = defaultMaxIsolates
	}
	ex := &executor{
		port:     p,
		cfg:      cfg,
		tasks:    make(chan task, 1024),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		isolates: map[Key]*isolate{},
		runs:     map[uint64]*runState{},
		samples:  []metrics.Sample{{Name: allocMetric}},
		wake:     make(chan struct{}, 1),
	}
	go ex.loop()
	if cfg.meter {
		go ex.sampler()
	}
	return ex
}

// post hands a task to the executor; false once it has stopped. The
// answer to a synchronous host call goes to the slice waiting for it.
func (ex *executor) post(t task) bool {
	if t.kind == taskResult {
		ex.syncMu.Lock()
		w := ex.waiting
		if w != nil && w.id == t.id && w.seq == t.seq {
			ex.waiting = nil
			ex.syncMu.Unlock()
			w.ch <- t
			return true
		}
		ex.syncMu.Unlock()
	}
	select {
	case ex.tasks <- t:
		return true
	case <-ex.quit:
		return false
	}
}

// stop ends the loop; invocations in flight or queued are answered with a
// rejection.
func (ex *executor) stop() {
	select {
	case <-ex.quit:
	default:
		close(ex.quit)
	}
	<-ex.done
}

func (ex *executor) loop() {
	defer close(ex.done)
	for {
		select {
		case t := <-ex.tasks:
			ex.handle(t)
			for len(ex.ready) > 0 {
				iso := ex.ready[0]
				ex.ready = ex.ready[1:]
				ex.startNext(iso)
			}
		case <-ex.quit:
			ex.shutdown()
			return
		}
	}
}

func (ex *executor) handle(t task) {
	switch t.kind {
	case taskDeliver:
		ex.deliver(t.inv)
	case taskResult:
		ex.hostResult(t.id, t.seq, t.out, t.err)
	case taskDeadline:
		if r := ex.runs[t.id]; r != nil {
			ex.finish(r, timeoutFailure(r, ""))
		}
	case taskCancel:
		if r := ex.runs[t.id]; r != nil {
			ex.finish(r, &Failure{Kind: FailInternal, Message: "the invocation was cancelled"})
			return
		}
		if iso := ex.isolates[t.key]; iso != nil {
			for i, inv := range iso.queue {
				if inv.id == t.id {
					iso.queue = append(iso.queue[:i], iso.queue[i+1:]...)
					ex.port.done(t.id, Result{Failure: &Failure{Kind: FailInternal, Message: "the invocation was cancelled"}})
					return
				}
			}
		}
	case taskEvict:
		if iso := ex.isolates[t.key]; iso != nil {
			if iso.busy() {
				iso.dirty = true // rebuilt for its next invocation
			} else {
				ex.remove(iso)
			}
		}
	}
}

func (ex *executor) shutdown() {
	closed := Result{Failure: &Failure{Kind: FailRejected, Message: "the sandbox was closed before this event finished"}}
	for id, r := range ex.runs {
		r.timer.Stop()
		ex.port.done(id, closed)
	}
	for _, iso := range ex.isolates {
		for _, inv := range iso.queue {
			ex.port.done(inv.id, closed)
		}
	}
	clear(ex.runs)
	clear(ex.isolates)
	ex.live.Store(0)
}

// deliver runs inv in its isolate, creating the isolate record as needed,
// or queues it behind the invocation in progress. A full queue is an
// explicit, counted rejection.
func (ex *executor) deliver(inv *invocation) {
	iso := ex.isolates[inv.key]
	if iso == nil {
		iso = &isolate{key: inv.key, ex: ex}
		ex.isolates[inv.key] = iso
		iso.lru = ex.recency.PushFront(iso)
		ex.live.Add(1)
	}
	if iso.busy() {
		if len(iso.queue) >= inv.limits.MailboxSize {
			ex.port.done(inv.id, mailboxFull(inv.limits))
			return
		}
		iso.queue = append(iso.queue, inv)
		return
	}
	ex.start(iso, inv)
	ex.trim()
}

func mailboxFull(l Limits) Result {
	return Result{Failure: &Failure{Kind: FailRejected, Message: fmt.Sprintf("the extension already has %d events waiting; this one was refused", l.MailboxSize)}}
}

// trim drops the least recently used idle isolates over the cap. State
// that must survive lives in storage; a dropped isolate is rebuilt from its
// program on its next event.
func (ex *executor) trim() {
	for e := ex.recency.Back(); e != nil && len(ex.isolates) > ex.cfg.maxIsolates; {
		prev := e.Prev()
		if iso := e.Value.(*isolate); !iso.busy() {
			ex.remove(iso)
		}
		e = prev
	}
}

func (ex *executor) remove(iso *isolate) {
	iso.drop()
	ex.recency.Remove(iso.lru)
	delete(ex.isolates, iso.key)
	ex.live.Add(-1)
}

func (ex *executor) startNext(iso *isolate) {
	if iso.run != nil || len(iso.queue) == 0 || ex.isolates[iso.key] != iso {
		return
	}
	inv := iso.queue[0]
	iso.queue = iso.queue[1:]
	ex.start(iso, inv)
}

// start begins inv: a fresh runtime if needed, then the code's first slice.
func (ex *executor) start(iso *isolate, inv *invocation) {
	ex.recency.MoveToFront(iso.lru)
	r := &runState{inv: inv, iso: iso, start: time.Now()}
	r.deadline = r.start.Add(inv.limits.Timeout)
	iso.run = r
	ex.runs[inv.id] = r
	r.timer = time.AfterFunc(inv.limits.Timeout, func() {
		ex.interrupt(r, timeoutMarker{})
		ex.post(task{kind: taskDeadline, id: inv.id})
	})

	load := iso.rt == nil || iso.dirty || iso.program != inv.program
	if load {
		// Building runs no extension code: only the engine and skybot's
		// own hardening.
		if err := iso.build(inv.program, inv.limits); err != nil {
			iso.dirty = true
			ex.finish(r, &Failure{Kind: FailInternal, Message: "the isolate could not be built: " + err.Error()})
			return
		}
	}
	iso.rt.SetMaxCallStackSize(inv.limits.MaxCallStack)
	var promise *goja.Promise
	err := ex.slice(r, func() error {
		if load {
			if err := iso.load(); err != nil {
				iso.dirty = true
				return err
			}
		}
		if !inv.program.legacy {
			if inv.event.Kind == EventDescribe {
				r.result.Registrations = slices.Clone(iso.regs)
				return nil
			}
			p, err := iso.callHandler(inv.event)
			promise = p
			return err
		}
		v, err := iso.body(goja.Undefined())
		if err != nil {
			return err
		}
		p, ok := v.Export().(*goja.Promise)
		if !ok {
			return errors.New("the extension body did not return a promise")
		}
		promise = p
		return nil
	})
	if err != nil {
		ex.finish(r, iso.failureOf(r, err))
		return
	}
	if promise == nil { // a describe run: the top level is all it runs
		ex.finish(r, r.limitHit)
		return
	}
	r.promise = promise
	ex.advance(r)
}

// syncCall sends one host call for r and waits for its answer inside the
// current slice. It reports false when r's deadline passed (or the
// executor stopped) first. Other isolates of this executor wait meanwhile:
// synchronous APIs are few and each is one store transaction.
func (ex *executor) syncCall(r *runState, api string, args []byte) ([]byte, *CodeError, bool) {
	r.seq++
	w := &syncWaiter{id: r.inv.id, seq: r.seq, ch: make(chan task, 1)}
	ex.syncMu.Lock()
	ex.waiting = w
	ex.syncMu.Unlock()
	defer func() {
		ex.syncMu.Lock()
		if ex.waiting == w {
			ex.waiting = nil
		}
		ex.syncMu.Unlock()
	}()
	ex.port.call(r.inv.id, w.seq, api, args)
	timer := time.NewTimer(time.Until(r.deadline))
	defer timer.Stop()
	select {
	case t := <-w.ch:
		return t.out, t.err, true
	case <-timer.C:
	case <-ex.quit:
	}
	return nil, nil, false
}

// advance decides what a run needs after a slice: the next host call, its
// end, or nothing (it waits for an answer).
func (ex *executor) advance(r *runState) {
	if r.limitHit != nil {
		ex.finish(r, r.limitHit)
		return
	}
	if len(r.calls) > 0 {
		if !r.sent {
			r.sent = true
			c := r.calls[0]
			ex.port.call(r.inv.id, c.seq, c.api, c.args)
		}
		return
	}
	switch r.promise.State() {
	case goja.PromiseStatePending:
		// Nothing outside JS is pending, so nothing can ever settle it.
		ex.finish(r, &Failure{Kind: FailError, Message: "the code awaits a promise that nothing will ever settle"})
	case goja.PromiseStateRejected:
		var f *Failure
		if err := ex.slice(r, func() error {
			f = r.iso.rejection(r.promise.Result())
			return nil
		}); err != nil {
			f = r.iso.failureOf(r, err)
		}
		ex.finish(r, f)
	default:
		ex.finish(r, nil)
	}
}

// hostResult settles a host call's promise with the trusted side's answer;
// the code's continuations run in this slice.
func (ex *executor) hostResult(id uint64, seq uint32, out []byte, cerr *CodeError) {
	r := ex.runs[id]
	if r == nil || !r.sent || len(r.calls) == 0 || r.calls[0].seq != seq {
		return // the run ended (deadline, cancel) before the answer came
	}
	c := r.calls[0]
	r.calls = r.calls[1:]
	r.sent = false
	if cerr != nil && cerr.Code == CodeBudgetExceeded {
		// A budget hit ends the run: the code cannot catch it and go on.
		ex.finish(r, &Failure{Kind: FailBudget, Message: cerr.Message})
		return
	}
	if err := ex.slice(r, func() error { return r.iso.settle(c, out, cerr) }); err != nil {
		ex.finish(r, r.iso.failureOf(r, err))
		return
	}
	ex.advance(r)
}

// finish ends r and reports its result; a runtime that was interrupted or
// overflowed is dropped, to be rebuilt for the isolate's next event.
func (ex *executor) finish(r *runState, f *Failure) {
	r.timer.Stop()
	iso := r.iso
	delete(ex.runs, r.inv.id)
	iso.run = nil
	res := r.result
	res.Duration = time.Since(r.start)
	if f != nil {
		f.clamp()
		res.Failure = f
		switch f.Kind {
		case FailTimeout, FailStack, FailMemory, FailInternal, FailBudget:
			iso.dirty = true
			iso.drop() // free what a memory bomb built, now
		}
	}
	ex.port.done(r.inv.id, res)
	if len(iso.queue) > 0 {
		ex.ready = append(ex.ready, iso)
	}
}

// slice runs f as one slice of r: the only window in which a deadline
// timer or the meter may interrupt r's runtime. A panic from goja (an
// uncatchable error escaping a direct call, or an engine fault) is the
// sandbox boundary's to recover: it ends the run, never the process.
func (ex *executor) slice(r *runState, f func() error) (err error) {
	ex.enter(r)
	defer ex.leave(r)
	defer func() {
		if x := recover(); x != nil {
			switch v := x.(type) {
			case *goja.InterruptedError:
				err = v
			case *goja.StackOverflowError:
				err = v
			case *goja.Exception:
				err = v
			default:
				r.iso.dirty = true
				err = fmt.Errorf("engine fault: %v", x)
			}
		}
	}()
	return f()
}

// reuseAllocsFor is how old the counter read at a slice's end may be for
// the next slice to start from it: what the executor (and any goroutine)
// allocates in between, a few KiB at most, is then charged to that slice.
const reuseAllocsFor = 50 * time.Microsecond

func (ex *executor) enter(r *runState) {
	var base uint64
	if ex.cfg.meter {
		if time.Since(ex.lastRead) < reuseAllocsFor {
			base = ex.lastAllocs
		} else {
			base = ex.readAllocs()
		}
	}
	ex.imu.Lock()
	ex.executing, ex.execRT, ex.sliceBase = r, r.iso.rt, base
	ex.execRT.ClearInterrupt()
	// A host call's answer can arrive after the deadline timer fired while
	// the run was waiting: the slice must not start unbounded.
	if !time.Now().Before(r.deadline) {
		ex.execRT.Interrupt(timeoutMarker{})
	}
	ex.imu.Unlock()
	if ex.cfg.slot != nil {
		ex.cfg.slot.enter(r.inv.id, r.deadline)
	}
	if ex.cfg.meter {
		select {
		case ex.wake <- struct{}{}:
		default:
		}
	}
}

func (ex *executor) leave(r *runState) {
	if ex.cfg.slot != nil {
		ex.cfg.slot.leave()
	}
	var now uint64
	if ex.cfg.meter {
		now = ex.readAllocs()
		ex.lastAllocs, ex.lastRead = now, time.Now()
	}
	ex.imu.Lock()
	if ex.cfg.meter {
		r.allocated += now - ex.sliceBase
	}
	ex.execRT.ClearInterrupt()
	ex.executing, ex.execRT = nil, nil
	over := ex.cfg.meter && r.allocated > uint64(r.inv.limits.MaxAlloc)
	ex.imu.Unlock()
	if over && r.limitHit == nil {
		r.limitHit = memoryFailure(r.inv.limits)
	}
}

// interrupt stops r's JS if, and only if, r is executing right now.
func (ex *executor) interrupt(r *runState, why any) {
	ex.imu.Lock()
	defer ex.imu.Unlock()
	if ex.executing == r {
		ex.execRT.Interrupt(why)
	}
}

func memoryFailure(l Limits) *Failure {
	return &Failure{Kind: FailMemory, Message: fmt.Sprintf("the run allocated more than %d MiB; the limit is %d MiB", l.MaxAlloc>>20, l.MaxAlloc>>20)}
}

func (ex *executor) readAllocs() uint64 {
	metrics.Read(ex.samples)
	return ex.samples[0].Value.Uint64()
}

// sampler is the allocation meter: while slices run it reads the process's
// allocation counter about every millisecond and interrupts a run that
// went over its budget. It sleeps when no slice has run for a while.
func (ex *executor) sampler() {
	samples := []metrics.Sample{{Name: allocMetric}}
	for {
		select {
		case <-ex.wake:
		case <-ex.quit:
			return
		}
		for idle := 0; idle < 50; {
			time.Sleep(time.Millisecond)
			if ex.sample(samples) {
				idle = 0
			} else {
				idle++
			}
		}
	}
}

// sample checks the executing slice, if any; it reports whether one was.
func (ex *executor) sample(samples []metrics.Sample) bool {
	ex.imu.Lock()
	defer ex.imu.Unlock()
	r := ex.executing
	if r == nil {
		return false
	}
	if r.metered {
		return true
	}
	metrics.Read(samples)
	used := r.allocated + (samples[0].Value.Uint64() - ex.sliceBase)
	if used > uint64(r.inv.limits.MaxAlloc) {
		r.metered = true
		ex.execRT.Interrupt(memoryFailure(r.inv.limits))
	}
	return true
}
