package sandbox

import (
	"container/list"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/metrics"
	"time"

	"github.com/dlclark/regexp2/v2"
)

// WorkerArg is the hidden argv[1] that starts the skybot binary as a
// sandbox worker: main calls WorkerMain when it sees it, before anything
// else (no config, no database, no token).
const WorkerArg = "__sandbox-worker"

// WorkerMain runs this process as a sandbox worker: it reads frames from
// stdin, runs isolates on one executor, and writes frames to stdout until
// stdin closes. It returns the process exit code.
//
// Everything in a worker is untrusted once extension code runs in it: it
// has a clean environment and no database, and every action it asks for is
// a request frame its parent checks.
func WorkerMain() int {
	in := newFrameReader(os.Stdin, maxFrameToWorker)
	typ, payload, err := in.next()
	if err != nil || typ != frameInit {
		fmt.Fprintln(os.Stderr, "sandbox worker: no init frame; this mode is started by skybot itself")
		return 2
	}
	cfg, err := decodeWorkerConfig(payload)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox worker: init:", err)
		return 2
	}
	if err := applyWorkerLimits(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox worker: limits:", err)
		return 2
	}
	// Set once, before any pattern compiles; regexp2 reads it at compile
	// time. A match that runs longer ends as "no match" (made loud by the
	// hardened RegExp.prototype.exec).
	regexp2.DefaultMatchTimeout = cfg.RegexpTimeout
	out, err := takeStdout()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox worker: stdout:", err)
		return 2
	}
	page, err := openWorkerPage()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox worker:", err)
		return 2
	}
	if cfg.EmptyRoot {
		if err := enterEmptyRoot(); err != nil {
			fmt.Fprintln(os.Stderr, "sandbox worker:", err)
			return exitNoRoot
		}
	}
	if cfg.SyscallFilter {
		if err := installSyscallFilter(); err != nil {
			fmt.Fprintln(os.Stderr, "sandbox worker:", err)
			return exitNoFilter
		}
	}
	w := &worker{out: newFrameWriter(out), page: page, programs: newProgramCache(cfg.MaxPrograms)}
	w.ex = newExecutor(w, executorConfig{
		maxIsolates:   cfg.MaxIsolates,
		regexpTimeout: cfg.RegexpTimeout,
		meter:         true,
		slot:          page,
	})
	return w.serve(in)
}

// exitNoFilter is a worker's exit code when the kernel refused its
// syscall filter; the parent reports it as ErrSyscallFilter.
const exitNoFilter = 3

// exitNoRoot is a worker's exit code when it could not leave the host's
// file tree for an empty root (enterEmptyRoot); the pool then starts
// workers without one, and says so once.
const exitNoRoot = 4

// ErrSyscallFilter: workers cannot start because the kernel refuses their
// syscall filter (no seccomp, or a container policy that forbids it).
// Options.NoSyscallFilter starts them without it.
var ErrSyscallFilter = errors.New("the kernel refused the sandbox workers' syscall filter")

// worker is the child side of the pipe protocol.
type worker struct {
	out      *frameWriter
	page     *statusPage
	ex       *executor
	programs *programCache
}

func (w *worker) serve(in *frameReader) int {
	stop := make(chan struct{})
	defer close(stop)
	go w.heartbeat(stop)
	_ = w.out.frame(frameHello, func(b *wbuf) {
		b.uvarint(uint64(os.Getpid()))
		b.str(protocolVersion)
	})
	for {
		typ, payload, err := in.next()
		if err != nil {
			w.ex.stop()
			w.out.close()
			if errors.Is(err, io.EOF) {
				return 0 // the parent closed the pipe: shut down
			}
			fmt.Fprintln(os.Stderr, "sandbox worker: read:", err)
			return 2
		}
		if err := w.handle(typ, payload); err != nil {
			fmt.Fprintf(os.Stderr, "sandbox worker: frame %q: %v\n", typ, err)
			return 2
		}
	}
}

func (w *worker) handle(typ byte, payload []byte) error {
	switch typ {
	case frameProgram:
		src, err := decodeProgram(payload)
		if err != nil {
			return err
		}
		p, cerr := compileProgram(src.name, src.code, src.legacy, src.traced)
		if cerr == nil && p.sum != src.sum {
			cerr = errors.New("the program's checksum does not match its source")
		}
		w.programs.put(src.sum, p, cerr)
	case frameDeliver:
		d, err := decodeDeliver(payload)
		if err != nil {
			return err
		}
		p, cerr, ok := w.programs.get(d.sum)
		switch {
		case !ok:
			// Dropped from the cache: the parent sends it again.
			return w.out.frame(frameNeedProgram, func(b *wbuf) {
				b.uvarint(d.inv.id)
				b.sum(d.sum)
			})
		case cerr != nil:
			w.done(d.inv.id, Result{Failure: &Failure{Kind: FailCompile, Message: cerr.Error()}})
		default:
			d.inv.program = p
			w.ex.post(task{kind: taskDeliver, inv: d.inv})
		}
	case frameHostResult:
		t, err := decodeHostResult(payload)
		if err != nil {
			return err
		}
		w.ex.post(t)
	case frameCancel:
		r := rbuf{b: payload}
		t := task{kind: taskCancel, id: r.uvarint(), key: decodeKey(&r)}
		if err := r.end(); err != nil {
			return err
		}
		w.ex.post(t)
	case frameEvict:
		r := rbuf{b: payload}
		t := task{kind: taskEvict, key: decodeKey(&r)}
		if err := r.end(); err != nil {
			return err
		}
		w.ex.post(t)
	default:
		return errBadFrame
	}
	return nil
}

// heartbeat publishes liveness, live isolates and the live heap.
func (w *worker) heartbeat(stop chan struct{}) {
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var published nativeCall
	for {
		metrics.Read(samples)
		var heap uint64
		if samples[0].Value.Kind() == metrics.KindUint64 {
			heap = samples[0].Value.Uint64()
		}
		w.page.beat(time.Now(), w.ex.live.Load(), heap)
		published = w.publishNative(published)
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}

// publishNative puts the tracked builtin call in progress on the page,
// when it is not the one published last: the extension's innermost frame
// in its own source, and the builtin's name.
func (w *worker) publishNative(last nativeCall) nativeCall {
	c, _ := w.ex.nativeNow()
	if c == last {
		return last
	}
	site := nativeSite{inv: c.inv, what: c.what}
	for i := range c.n {
		if pos := c.frames[i].Position(); pos.Filename == c.file && c.file != "" {
			site.line, site.col = pos.Line, pos.Column
			break
		}
	}
	if site.line == 0 {
		site = nativeSite{}
	}
	w.page.setNative(site)
	return c
}

func (w *worker) call(inv uint64, seq uint32, api string, args []byte) {
	_ = w.out.frame(frameHostCall, func(b *wbuf) { encodeHostCall(b, inv, seq, api, args) })
}

func (w *worker) done(inv uint64, res Result) {
	_ = w.out.frame(frameResult, func(b *wbuf) { encodeResult(b, inv, res) })
}

var _ port = (*worker)(nil)

// programCache keeps compiled programs by sum, least recently used dropped
// first. Isolates keep their own program alive; the cache only saves
// compiling again.
type programCache struct {
	max     int
	entries map[[32]byte]*list.Element
	order   list.List // of *cachedProgram, most recent first
}

type cachedProgram struct {
	sum  [32]byte
	prog *Program
	err  error
}

const defaultMaxPrograms = 1000

func newProgramCache(max int) *programCache {
	if max <= 0 {
		max = defaultMaxPrograms
	}
	return &programCache{max: max, entries: map[[32]byte]*list.Element{}}
}

func (c *programCache) put(sum [32]byte, p *Program, err error) {
	if e, ok := c.entries[sum]; ok {
		c.order.Remove(e)
	}
	c.entries[sum] = c.order.PushFront(&cachedProgram{sum: sum, prog: p, err: err})
	for len(c.entries) > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.entries, last.Value.(*cachedProgram).sum)
	}
}

func (c *programCache) get(sum [32]byte) (*Program, error, bool) {
	e, ok := c.entries[sum]
	if !ok {
		return nil, nil, false
	}
	c.order.MoveToFront(e)
	cp := e.Value.(*cachedProgram)
	return cp.prog, cp.err, true
}
