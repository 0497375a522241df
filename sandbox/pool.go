package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure the worker pool of NewWorkerSupervisor. Zero values
// take the defaults.
type Options struct {
	// Workers is the number of worker processes; default runtime.NumCPU().
	// Guilds are spread across them by a hash of the guild id.
	Workers int
	// WorkerBinary is the executable started with WorkerArg; default
	// os.Executable() (the skybot binary itself, or a test binary whose
	// TestMain calls WorkerMain).
	WorkerBinary string
	// MemoryLimit is each worker's RLIMIT_DATA; Go's soft limit is set at
	// half of it. Default 512 MiB.
	MemoryLimit int64
	// MaxStack is each worker's goroutine stack limit: native recursion
	// that escapes the hardening ends there (the worker dies and is
	// replaced). Default 64 MiB.
	MaxStack int64
	// MaxIsolates is the live isolates per worker before the least
	// recently used idle ones are dropped (recreated on their next event).
	// Default 1000 (~60 MiB of a worker's heap).
	MaxIsolates int
	// MaxPrograms is the compiled programs cached per worker. Default 1000.
	MaxPrograms int
	// RegexpTimeout is the regexp2 match timeout in workers. Default 100 ms.
	RegexpTimeout time.Duration
	// KillGrace is how long past an invocation's deadline a worker may
	// stay in it (stuck in native code) before it is killed. Default 1 s.
	KillGrace time.Duration
	// HangTimeout: a worker with work in flight whose heartbeat is older
	// than this is killed. Default 5 s.
	HangTimeout time.Duration
	// StartTimeout bounds a worker's start (up to its hello). Default 10 s.
	StartTimeout time.Duration
	// NoSyscallFilter starts workers without their seccomp filter (see
	// seccomp_linux.go), for kernels that refuse it; by default a worker
	// that cannot install it does not start.
	NoSyscallFilter bool
	// NoNamespaces starts workers in the bot's own namespaces. By default
	// each starts in new ones (workerNamespaces); where the system refuses
	// to create them, the pool says so in its log once and goes on
	// without.
	NoNamespaces bool
}

func (o Options) withDefaults() (Options, error) {
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.WorkerBinary == "" {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("find the worker binary: %w", err)
		}
		o.WorkerBinary = exe
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = 512 << 20
	}
	if o.MaxStack <= 0 {
		o.MaxStack = 64 << 20
	}
	if o.MaxIsolates <= 0 {
		o.MaxIsolates = defaultMaxIsolates
	}
	if o.MaxPrograms <= 0 {
		o.MaxPrograms = defaultMaxPrograms
	}
	if o.RegexpTimeout <= 0 {
		o.RegexpTimeout = 100 * time.Millisecond
	}
	if o.KillGrace <= 0 {
		o.KillGrace = time.Second
	}
	if o.HangTimeout <= 0 {
		o.HangTimeout = 5 * time.Second
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 10 * time.Second
	}
	return o, nil
}

// NewWorkerSupervisor returns a Supervisor whose isolates run in a pool of
// sandbox worker processes: the binary re-executed with WorkerArg. It
// starts every worker and returns an error if one does not come up. log
// may be nil.
func NewWorkerSupervisor(actions Actions, log *slog.Logger, opts Options) (*Supervisor, error) {
	if !workersSupported {
		return nil, errors.New("sandbox worker processes need Linux")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := newSupervisor(actions, log)
	pl := &pool{s: s, log: s.log, opts: opts, quit: make(chan struct{})}
	pl.unshared.Store(!opts.NoNamespaces)
	pl.emptyRoot.Store(true)
	for i := range opts.Workers {
		pl.slots = append(pl.slots, &slot{pool: pl, index: i, ready: make(chan struct{})})
	}
	errs := make(chan error, len(pl.slots))
	for _, sl := range pl.slots {
		go func() {
			pr, err := pl.spawn(sl)
			if err == nil {
				sl.install(pr)
			}
			errs <- err
		}()
	}
	var first error
	for range pl.slots {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		pl.close()
		return nil, fmt.Errorf("start sandbox workers: %w", first)
	}
	s.be = pl
	go pl.watch()
	return s, nil
}

// pool is the worker backend: the parent's side of the pipes.
type pool struct {
	s     *Supervisor
	log   *slog.Logger
	opts  Options
	slots []*slot
	quit  chan struct{}

	mu      sync.Mutex
	closing bool
	// unshared: workers start in namespaces of their own; cleared for
	// good the first time the system refuses them.
	unshared atomic.Bool
	// emptyRoot: workers started in namespaces also leave the host's file
	// tree for an empty root; cleared for good the first time one cannot.
	emptyRoot atomic.Bool

	// A traced rerun's worker (rerun.go), outside the slots that host
	// guilds; rerunSlots is guarded by mu.
	rerunning  atomic.Bool
	rerunSlots []*slot
}

// slot is one worker position; its process is replaced when it dies.
type slot struct {
	pool  *pool
	index int
	rerun bool // a traced rerun's: never replaced

	mu    sync.Mutex
	cur   *proc
	ready chan struct{} // closed while cur is live
}

// proc is one worker process.
type proc struct {
	slot    *slot
	cmd     *exec.Cmd
	page    *statusPage
	w       *frameWriter
	started time.Time
	hello   chan struct{}
	exited  chan struct{} // closed after the process was reaped
	stderr  tail

	mu         sync.Mutex
	inflight   map[uint64]*invState
	programs   map[[32]byte]bool // sent to this worker
	dead       bool
	killReason string // why the parent killed it
	killInv    uint64 // the invocation it was killed for
}

func (pl *pool) slotFor(key Key) *slot {
	h := fnv.New32a()
	h.Write([]byte(key.Guild))
	return pl.slots[int(h.Sum32()%uint32(len(pl.slots)))]
}

// workerEnv is the whole environment of a worker: no token, no proxy
// settings, nothing from the parent.
func workerEnv() []string {
	return []string{"TZ=UTC", "LANG=C", "GOTRACEBACK=single"}
}

// spawn starts a worker and waits for its hello.
func (pl *pool) spawn(sl *slot) (*proc, error) {
	page, pageFile, err := newPage()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(pl.opts.WorkerBinary, WorkerArg)
	cmd.Env = workerEnv()
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{pageFile}
	unshared := pl.unshared.Load()
	emptyRoot := unshared && pl.emptyRoot.Load()
	configureCommand(cmd, unshared)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		pageFile.Close()
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		pageFile.Close()
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		pageFile.Close()
		return nil, err
	}
	if err := startWorker(cmd); err != nil {
		pageFile.Close()
		page.unmap()
		if unshared && namespacesRefused(err) {
			if pl.unshared.CompareAndSwap(true, false) {
				pl.log.Warn("this system refuses new namespaces for sandbox workers; they start without them, under their syscall filter only", "err", err)
			}
			return pl.spawn(sl) // now without: no second retry
		}
		return nil, fmt.Errorf("start %s: %w", pl.opts.WorkerBinary, err)
	}
	pageFile.Close()
	pr := &proc{
		slot: sl, cmd: cmd, page: page, started: time.Now(),
		hello: make(chan struct{}), exited: make(chan struct{}),
		inflight: map[uint64]*invState{}, programs: map[[32]byte]bool{},
	}
	pr.w = newFrameWriter(stdin)
	_ = pr.w.frame(frameInit, workerConfig{
		MemoryLimit: pl.opts.MemoryLimit, MaxStack: pl.opts.MaxStack,
		MaxIsolates: pl.opts.MaxIsolates, MaxPrograms: pl.opts.MaxPrograms,
		RegexpTimeout: pl.opts.RegexpTimeout, SyscallFilter: !pl.opts.NoSyscallFilter,
		EmptyRoot: emptyRoot,
	}.encode)
	stderrDone := make(chan struct{})
	go pr.readStderr(stderr, stderrDone)
	go pr.readLoop(stdout, stderrDone)
	select {
	case <-pr.hello:
		return pr, nil
	case <-pr.exited:
		switch pr.cmd.ProcessState.ExitCode() {
		case exitNoFilter:
			return nil, fmt.Errorf("%w: %s", ErrSyscallFilter, pr.stderr.summary())
		case exitNoRoot:
			if emptyRoot {
				if pl.emptyRoot.CompareAndSwap(true, false) {
					pl.log.Warn("sandbox workers cannot leave the host's file tree on this system; they start without an empty root, under their syscall filter", "err", pr.stderr.summary())
				}
				return pl.spawn(sl) // now without: no second retry
			}
		}
		return nil, fmt.Errorf("worker exited at start: %s", pr.stderr.summary())
	case <-time.After(pl.opts.StartTimeout):
		pr.kill("start timeout", 0)
		<-pr.exited
		return nil, fmt.Errorf("worker did not start within %s: %s", pl.opts.StartTimeout, pr.stderr.summary())
	}
}

// install makes pr the slot's live process.
func (sl *slot) install(pr *proc) {
	sl.mu.Lock()
	sl.cur = pr
	close(sl.ready)
	sl.mu.Unlock()
}

// current returns the live process, or nil while one is starting.
func (sl *slot) current() *proc {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return sl.cur
}

// get waits for the slot's live process.
func (sl *slot) get(ctx context.Context) (*proc, error) {
	if pr := sl.current(); pr != nil {
		return pr, nil
	}
	timeout := time.NewTimer(sl.pool.opts.StartTimeout)
	defer timeout.Stop()
	for {
		if sl.pool.isClosing() {
			return nil, ErrClosed
		}
		sl.mu.Lock()
		pr, ready := sl.cur, sl.ready
		sl.mu.Unlock()
		if pr != nil {
			return pr, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-sl.pool.quit:
			return nil, ErrClosed
		case <-timeout.C:
			return nil, errors.New("no sandbox worker is available; restarting it failed")
		}
	}
}

// replace takes the dead process out of the slot and starts another.
func (sl *slot) replace(dead *proc) {
	sl.mu.Lock()
	if sl.cur != dead {
		sl.mu.Unlock()
		return
	}
	sl.cur = nil
	sl.ready = make(chan struct{})
	sl.mu.Unlock()
	if sl.rerun || sl.pool.isClosing() {
		return
	}
	go func() {
		for attempt := 0; ; attempt++ {
			pr, err := sl.pool.spawn(sl)
			if err == nil {
				if sl.pool.isClosing() {
					pr.shutdown()
					return
				}
				sl.install(pr)
				sl.pool.s.stats.restarts.Add(1)
				return
			}
			sl.pool.log.Error("sandbox worker restart failed", "worker", sl.index, "attempt", attempt+1, "err", err)
			select {
			case <-time.After(min(100*time.Millisecond<<min(attempt, 6), 5*time.Second)):
			case <-sl.pool.quit:
				return
			}
		}
	}()
}

func (pl *pool) isClosing() bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.closing
}

// submit sends st to the worker of its guild.
func (pl *pool) submit(st *invState) error {
	sl := pl.slotFor(st.key)
	for {
		pr, err := sl.get(st.ctx)
		if err != nil {
			return err
		}
		if ok, err := pr.send(st); ok {
			return err
		}
		// It died between get and send; the slot has a successor coming.
		sl.replace(pr)
	}
}

// send queues st's frames (its program first, once per worker); false if
// the process is already dead.
func (pr *proc) send(st *invState) (bool, error) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.dead {
		return false, nil
	}
	if pr.w.queued() > maxBacklog {
		// The worker is not reading (an executor stuck in native code
		// until the watchdog kills it): shed load rather than queue.
		return true, errBacklog
	}
	st.hand(pr)
	pr.inflight[st.id] = st
	pr.sendLocked(st)
	return true, nil
}

// maxBacklog bounds the frames queued for one worker.
const maxBacklog = 32 << 20

var errBacklog = errors.New("the sandbox worker for this guild is not keeping up; the event was refused")

func (pr *proc) sendLocked(st *invState) {
	p := st.spec.Program
	if !pr.programs[p.sum] {
		pr.programs[p.sum] = true
		_ = pr.w.frame(frameProgram, func(b *wbuf) { encodeProgram(b, p) })
	}
	_ = pr.w.frame(frameDeliver, func(b *wbuf) { encodeDeliver(b, st) })
}

func (pl *pool) cancel(st *invState) {
	st.mu.Lock()
	pr, _ := st.via.(*proc)
	st.mu.Unlock()
	if pr == nil {
		return
	}
	pr.mu.Lock()
	_, ok := pr.inflight[st.id]
	delete(pr.inflight, st.id)
	pr.mu.Unlock()
	if ok {
		_ = pr.w.frame(frameCancel, func(b *wbuf) {
			b.uvarint(st.id)
			encodeKey(b, st.key)
		})
	}
}

func (pl *pool) evict(key Key) {
	if pr := pl.slotFor(key).current(); pr != nil {
		_ = pr.w.frame(frameEvict, func(b *wbuf) { encodeKey(b, key) })
	}
}

func (pl *pool) live() int {
	n := 0
	for _, sl := range pl.slots {
		if pr := sl.current(); pr != nil {
			pr.mu.Lock()
			if !pr.dead {
				n += pr.page.live()
			}
			pr.mu.Unlock()
		}
	}
	return n
}

// close stops every worker: stdin closes (a worker exits on EOF); those
// still running after a second are killed.
func (pl *pool) close() {
	pl.mu.Lock()
	if pl.closing {
		pl.mu.Unlock()
		return
	}
	pl.closing = true
	close(pl.quit)
	pl.mu.Unlock()
	var wg sync.WaitGroup
	for _, sl := range pl.watched() {
		if pr := sl.current(); pr != nil {
			wg.Go(pr.shutdown)
		}
	}
	wg.Wait()
}

func (pr *proc) shutdown() {
	pr.w.close()
	if c, ok := pr.w.w.(io.Closer); ok {
		_ = c.Close()
	}
	select {
	case <-pr.exited:
	case <-time.After(time.Second):
		pr.kill("shutdown", 0)
		<-pr.exited
	}
}

// kill SIGKILLs the worker; the reader then reaps it and settles what was
// in flight.
func (pr *proc) kill(reason string, inv uint64) {
	pr.mu.Lock()
	if pr.killReason == "" {
		pr.killReason, pr.killInv = reason, inv
	}
	pr.mu.Unlock()
	_ = pr.cmd.Process.Kill()
}

// watch is the supervisor's watchdog: a worker whose executing invocation
// is past its deadline plus the grace (stuck in native code, which no
// interrupt reaches) is killed, and so is one with work in flight whose
// heartbeat stopped.
func (pl *pool) watch() {
	tick := min(50*time.Millisecond, pl.opts.KillGrace/4)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-pl.quit:
			return
		}
		now := time.Now()
		for _, sl := range pl.watched() {
			pr := sl.current()
			if pr == nil {
				continue
			}
			pr.mu.Lock()
			if pr.dead || pr.killReason != "" {
				pr.mu.Unlock()
				continue
			}
			busy := len(pr.inflight) > 0
			holder, deadline := pr.page.holder()
			beat := pr.page.lastBeat()
			pr.mu.Unlock()
			switch {
			case holder != 0 && now.After(deadline.Add(pl.opts.KillGrace)):
				pr.kill("overrun", holder)
			case busy && now.Sub(beat) > pl.opts.HangTimeout && now.Sub(pr.started) > pl.opts.HangTimeout:
				pr.kill("unresponsive", holder)
			}
		}
	}
}

// readLoop reads the worker's frames until the pipe closes, then reaps it.
func (pr *proc) readLoop(stdout io.Reader, stderrDone chan struct{}) {
	in := newFrameReader(stdout, maxFrameFromWorker)
	var cause error
	for {
		typ, payload, err := in.next()
		if err != nil {
			cause = err
			break
		}
		if err := pr.handle(typ, payload); err != nil {
			// A worker that breaks the protocol is not trusted further.
			cause = fmt.Errorf("frame %q: %w", typ, err)
			pr.kill("protocol violation", 0)
			break
		}
	}
	pr.reap(cause, stderrDone)
}

func (pr *proc) handle(typ byte, payload []byte) error {
	s := pr.slot.pool.s
	switch typ {
	case frameHello:
		select {
		case <-pr.hello:
			return errors.New("second hello")
		default:
			close(pr.hello)
		}
	case frameHostCall:
		m, err := decodeHostCall(payload)
		if err != nil {
			return err
		}
		// Noted here, in frame order, so that if the worker dies now the
		// invocation is known to have asked and is not run again.
		pr.mu.Lock()
		st := pr.inflight[m.inv]
		pr.mu.Unlock()
		if st != nil {
			st.noteAsked()
		}
		go func() {
			out, cerr := s.hostCall(pr, m.inv, m.api, m.args)
			_ = pr.w.frame(frameHostResult, func(b *wbuf) { encodeHostResult(b, m.inv, m.seq, out, cerr) })
		}()
	case frameResult:
		inv, res, err := decodeResult(payload)
		if err != nil {
			return err
		}
		pr.mu.Lock()
		st := pr.inflight[inv]
		delete(pr.inflight, inv)
		pr.mu.Unlock()
		if st != nil {
			clampResult(&res, st.spec.Limits)
			s.complete(inv, outcome{res: res})
		}
	case frameNeedProgram:
		r := rbuf{b: payload}
		inv, sum := r.uvarint(), r.sum()
		if err := r.end(); err != nil {
			return err
		}
		pr.mu.Lock()
		defer pr.mu.Unlock()
		if st := pr.inflight[inv]; st != nil && st.spec.Program.sum == sum {
			// A worker evicts a program at most once while an invocation
			// waits for it; asking again and again is a misbehaving worker.
			if st.resent++; st.resent > 2 {
				return errors.New("asked for the same program again and again")
			}
			delete(pr.programs, sum)
			pr.sendLocked(st)
		}
	default:
		return errBadFrame
	}
	return nil
}

// clampResult bounds what a worker reports about an invocation: a worker
// is untrusted, so its console and call records are cut to the limits.
func clampResult(res *Result, l Limits) {
	if len(res.Console) > l.MaxConsole {
		res.ConsoleDropped += len(res.Console) - l.MaxConsole
		res.Console = res.Console[:l.MaxConsole]
	}
	for i := range res.Console {
		if len(res.Console[i].Text) > maxConsoleLen+8 {
			res.Console[i].Text = truncateUTF8(res.Console[i].Text, maxConsoleLen) + "…"
		}
	}
	if limit := l.MaxHostCalls + l.MaxInFlight*4; len(res.Calls) > limit {
		res.Calls = res.Calls[:limit]
	}
}

// reap waits for the dead worker, settles what was in flight on it, and
// has its slot start a successor.
func (pr *proc) reap(cause error, stderrDone chan struct{}) {
	pl := pr.slot.pool
	_ = pr.cmd.Process.Kill() // the pipe closed: make sure it is gone
	<-stderrDone
	waitErr := pr.cmd.Wait()
	pr.w.close()

	pr.mu.Lock()
	pr.dead = true
	holder, _ := pr.page.holder()
	site, traced := pr.page.nativeSite(), pr.page.traceSite()
	invs := pr.inflight
	pr.inflight = nil
	reason, killInv := pr.killReason, pr.killInv
	pr.mu.Unlock()
	pr.page.unmap()
	close(pr.exited)

	select {
	case <-pr.hello:
	default:
		return // never started: spawn reports it
	}
	closing := pl.isClosing()
	if !closing || len(invs) > 0 {
		pl.log.Warn("sandbox worker ended", "worker", pr.slot.index, "pid", pr.cmd.Process.Pid,
			"reason", reason, "exit", fmt.Sprint(waitErr), "read_err", fmt.Sprint(cause),
			"in_flight", len(invs), "stderr", pr.stderr.summary(), "traced_rerun", pr.slot.rerun)
	}
	pr.slot.replace(pr)

	culprit := holder
	if killInv != 0 {
		culprit = killInv
	}
	var culpritKey Key
	if st := invs[culprit]; st != nil {
		culpritKey = st.key
	}
	for id, st := range invs {
		var o outcome
		rerun := false
		switch {
		case closing:
			o.res.Failure = &Failure{Kind: FailRejected, Message: "the sandbox was closed before this event finished"}
		case id == culprit:
			o.res.Failure = pr.blame(reason, waitErr, st)
			o.res.Failure.EndedWorker = true
			if reason == "overrun" && site.inv == id {
				// Where it was stuck, if in a tracked builtin. Only for an
				// overrun: the call has then been running for the whole
				// grace, far longer than the heartbeat takes to clear a
				// call that returned.
				o.res.Failure.Stack = fmt.Sprintf("    at %s:%d:%d, inside %s\n", st.spec.Program.name, site.line, site.col, site.what)
			}
			pr.locate(o.res.Failure, st, traced)
			rerun = rerunnable(o.res.Failure, st.spec.Program)
		case st.key == culpritKey:
			// Queued behind the culprit in the same isolate: running them
			// again would likely end the same way.
			o.res.Failure = &Failure{Kind: FailWorker, Message: "not run: the extension's previous event ended its sandbox worker"}
		case !st.touchedTrustedSide():
			o.retry = true
		default:
			o.res.Failure = &Failure{Kind: FailWorker, Message: "the sandbox worker running this event was replaced because of another extension; the event had already acted and was not run again"}
		}
		if rerun {
			go pl.rerun(st, o)
			continue
		}
		pl.s.complete(id, o)
	}
}

// locate gives a run that ended its worker without a line the statement
// it last started, if its program was traced; if it was not, its
// program's later runs are (trace.go).
func (pr *proc) locate(f *Failure, st *invState, traced nativeSite) {
	if f.Stack != "" {
		return
	}
	p := st.spec.Program
	if p.trace != nil {
		if traced.inv == st.id && traced.line > 0 {
			f.Stack = fmt.Sprintf("    at %s:%d:%d, in the statement the run started last\n", p.name, traced.line, traced.col)
		}
		return
	}
	if !pr.slot.pool.s.suspects.add(p) {
		pr.slot.pool.log.Warn("sandbox: too many programs to trace; this one's runs that end a worker will have no line", "program", p.name, "limit", maxSuspects)
	}
}

// blame names what happened to the invocation that was executing when the
// worker died or was killed.
func (pr *proc) blame(reason string, waitErr error, st *invState) *Failure {
	tail := pr.stderr.summary()
	l := st.spec.Limits
	switch {
	case reason == "overrun":
		return &Failure{Kind: FailTimeout, Message: fmt.Sprintf("the run was still busy in native code %s past its %s deadline; its sandbox worker was killed and replaced", pr.slot.pool.opts.KillGrace, l.Timeout)}
	case reason == "unresponsive":
		return &Failure{Kind: FailCrash, Message: "the sandbox worker stopped responding while this run was executing; it was killed and replaced"}
	case strings.Contains(tail, "out of memory") || strings.Contains(tail, "cannot allocate memory"):
		return &Failure{Kind: FailMemory, Message: fmt.Sprintf("the sandbox worker ran out of memory (limit %d MiB) while this run was executing; it was replaced", pr.slot.pool.opts.MemoryLimit>>20)}
	case strings.Contains(tail, "stack overflow") || strings.Contains(tail, "stack exceeds"):
		return &Failure{Kind: FailStack, Message: "native recursion overflowed the sandbox worker's stack while this run was executing; the worker was replaced"}
	}
	what := "it exited"
	if waitErr != nil {
		what = waitErr.Error()
	}
	return &Failure{Kind: FailCrash, Message: fmt.Sprintf("the sandbox worker died while this run was executing (%s); it was replaced", what)}
}

// readStderr keeps the end of a worker's stderr (a Go fatal error, a
// panic) for the log and for blame.
func (pr *proc) readStderr(r io.Reader, done chan struct{}) {
	defer close(done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		pr.stderr.add(sc.Text())
	}
	_, _ = io.Copy(io.Discard, r)
}

// tail keeps the lines of a worker's stderr that say why it died.
type tail struct {
	mu    sync.Mutex
	lines []string
}

const tailLines = 8

func (t *tail) add(line string) {
	// Go's fatal reports put the reason first; goroutine dumps follow.
	if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "goroutine ") || line == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) < tailLines {
		t.lines = append(t.lines, truncateUTF8(line, 300))
	}
}

func (t *tail) summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, " | ")
}

var _ backend = (*pool)(nil)
