package sandbox

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"
)

// The pipe protocol between the parent and a worker. A frame is a 4-byte
// big-endian length (of what follows), a type byte and a payload of
// uvarints, length-prefixed byte strings and fixed 32-byte sums. Frames
// are appended to a buffer and written by one goroutine, so frames queued
// together leave in one write (batching under load, no delay when idle).
//
// The parent treats everything from a worker as untrusted: lengths are
// bounded, counts are checked against the bytes left, unknown types end
// the worker.
const (
	// parent → worker
	frameInit       byte = 'I' // the worker's configuration; the first frame
	frameProgram    byte = 'P' // source of a program, once per worker and sum
	frameDeliver    byte = 'D' // one invocation
	frameHostResult byte = 'R' // the answer to a host call
	frameCancel     byte = 'C' // the caller stopped waiting for an invocation
	frameEvict      byte = 'E' // drop an isolate
	// worker → parent
	frameHello       byte = 'H' // the worker is up, limits applied
	frameHostCall    byte = 'Q' // a host call request, checked by the parent
	frameResult      byte = 'F' // an invocation's end
	frameNeedProgram byte = 'N' // the worker no longer has the program of an invocation
)

const (
	maxFrameToWorker   = 4 << 20 // a program (≤ 256 KiB of source) or an event
	maxFrameFromWorker = 4 << 20 // a result is bounded far below this
	protocolVersion    = "skybot-sandbox/3"
)

var errBadFrame = errors.New("malformed frame")

// wbuf appends encoded fields.
type wbuf struct{ b []byte }

func (w *wbuf) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *wbuf) bytes(b []byte)   { w.uvarint(uint64(len(b))); w.b = append(w.b, b...) }
func (w *wbuf) str(s string)     { w.uvarint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *wbuf) sum(s [32]byte)   { w.b = append(w.b, s[:]...) }
func (w *wbuf) duration(d time.Duration) {
	w.uvarint(uint64(max(d, 0)))
}

// rbuf reads fields; after a malformed field every read returns zero and
// err stays set.
type rbuf struct {
	b   []byte
	err error
}

func (r *rbuf) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadFrame
		return 0
	}
	r.b = r.b[n:]
	return v
}

// int reads a non-negative int no larger than max.
func (r *rbuf) int(limit int) int {
	v := r.uvarint()
	if v > uint64(limit) {
		r.err = errBadFrame
		return 0
	}
	return int(v)
}

// count reads the length of a list whose entries take at least minBytes.
func (r *rbuf) count(minBytes int) int {
	v := r.uvarint()
	if r.err == nil && v > uint64(len(r.b)/minBytes) {
		r.err = errBadFrame
	}
	if r.err != nil {
		return 0
	}
	return int(v)
}

// view returns the next byte string, aliasing the frame buffer.
func (r *rbuf) view() []byte {
	v := r.uvarint()
	if r.err == nil && v > uint64(len(r.b)) {
		r.err = errBadFrame
	}
	if r.err != nil {
		return nil
	}
	n := int(v)
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *rbuf) bytes() []byte { return slices.Clone(r.view()) }
func (r *rbuf) str() string   { return string(r.view()) }

func (r *rbuf) sum() (s [32]byte) {
	if r.err != nil || len(r.b) < 32 {
		r.err = errBadFrame
		return s
	}
	copy(s[:], r.b)
	r.b = r.b[32:]
	return s
}

func (r *rbuf) duration() time.Duration { return time.Duration(min(r.uvarint(), 1<<62)) }

// end reports a malformed payload, including bytes left over.
func (r *rbuf) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = errBadFrame
	}
	return r.err
}

// frameWriter queues frames and writes them from one goroutine.
type frameWriter struct {
	w    io.Writer
	wake chan struct{}
	quit chan struct{}
	done chan struct{}

	mu     sync.Mutex
	buf    []byte
	err    error
	closed bool
}

func newFrameWriter(w io.Writer) *frameWriter {
	fw := &frameWriter{w: w, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go fw.loop()
	return fw
}

var errWriterClosed = errors.New("frame writer closed")

// frame queues one frame; fill appends its payload.
func (fw *frameWriter) frame(typ byte, fill func(*wbuf)) error {
	fw.mu.Lock()
	if fw.closed || fw.err != nil {
		err := fw.err
		fw.mu.Unlock()
		if err == nil {
			err = errWriterClosed
		}
		return err
	}
	start := len(fw.buf)
	w := wbuf{b: append(fw.buf, 0, 0, 0, 0, typ)}
	if fill != nil {
		fill(&w)
	}
	binary.BigEndian.PutUint32(w.b[start:], uint32(len(w.b)-start-4))
	fw.buf = w.b
	fw.mu.Unlock()
	select {
	case fw.wake <- struct{}{}:
	default:
	}
	return nil
}

func (fw *frameWriter) loop() {
	defer close(fw.done)
	var out []byte
	for {
		select {
		case <-fw.wake:
		case <-fw.quit:
			fw.flush(&out)
			return
		}
		// Let the goroutines that are about to queue frames do so, so one
		// write carries them all: under load this cut the write calls,
		// the largest part of the parent's CPU per event.
		runtime.Gosched()
		if !fw.flush(&out) {
			return
		}
	}
}

// flush writes what is queued; false after a write error.
func (fw *frameWriter) flush(out *[]byte) bool {
	fw.mu.Lock()
	*out, fw.buf = fw.buf, (*out)[:0]
	fw.mu.Unlock()
	if len(*out) == 0 {
		return true
	}
	if _, err := fw.w.Write(*out); err != nil {
		fw.mu.Lock()
		fw.err = err
		fw.buf = nil
		fw.mu.Unlock()
		return false
	}
	return true
}

// queued reports the bytes waiting to be written.
func (fw *frameWriter) queued() int {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return len(fw.buf)
}

// close flushes what is queued and stops the writer.
func (fw *frameWriter) close() {
	fw.mu.Lock()
	if fw.closed {
		fw.mu.Unlock()
		<-fw.done
		return
	}
	fw.closed = true
	fw.mu.Unlock()
	close(fw.quit)
	<-fw.done
}

// frameReader reads frames; the payload it returns is valid until the
// next call.
type frameReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

func (fr *frameReader) next() (typ byte, payload []byte, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(fr.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n == 0 || n > fr.max {
		return 0, nil, fmt.Errorf("frame of %d bytes: %w", n, errBadFrame)
	}
	if cap(fr.buf) < n {
		fr.buf = make([]byte, n)
	}
	b := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return b[0], b[1:], nil
}

// workerConfig is the init frame: everything a worker needs to know.
type workerConfig struct {
	MemoryLimit   int64
	MaxStack      int64
	MaxIsolates   int
	MaxPrograms   int
	RegexpTimeout time.Duration
	SyscallFilter bool // install the worker syscall filter (seccomp_linux.go)
	EmptyRoot     bool // started in workerNamespaces: enterEmptyRoot first
}

func (c workerConfig) encode(w *wbuf) {
	w.str(protocolVersion)
	w.uvarint(uint64(max(c.MemoryLimit, 0)))
	w.uvarint(uint64(max(c.MaxStack, 0)))
	w.uvarint(uint64(max(c.MaxIsolates, 0)))
	w.uvarint(uint64(max(c.MaxPrograms, 0)))
	w.duration(c.RegexpTimeout)
	w.uvarint(boolBit(c.SyscallFilter))
	w.uvarint(boolBit(c.EmptyRoot))
}

func decodeWorkerConfig(p []byte) (workerConfig, error) {
	r := rbuf{b: p}
	var c workerConfig
	if v := r.str(); r.err == nil && v != protocolVersion {
		return c, fmt.Errorf("protocol %q, want %q", v, protocolVersion)
	}
	c.MemoryLimit = int64(r.int(1 << 50))
	c.MaxStack = int64(r.int(1 << 40))
	c.MaxIsolates = r.int(1 << 30)
	c.MaxPrograms = r.int(1 << 30)
	c.RegexpTimeout = r.duration()
	c.SyscallFilter = r.int(1) == 1
	c.EmptyRoot = r.int(1) == 1
	return c, r.end()
}

// boolBit is a flag as it travels in a frame: 1 or 0.
func boolBit(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func encodeProgram(w *wbuf, p *Program) {
	w.sum(p.sum)
	w.str(p.name)
	w.uvarint(boolBit(p.legacy) | boolBit(p.trace != nil)<<1)
	w.str(p.code)
}

// programSource is a program frame, decoded.
type programSource struct {
	sum    [32]byte
	name   string
	legacy bool
	traced bool
	code   string
}

func decodeProgram(p []byte) (programSource, error) {
	r := rbuf{b: p}
	var s programSource
	s.sum = r.sum()
	s.name = r.str()
	flags := r.int(3)
	s.legacy, s.traced = flags&1 != 0, flags&2 != 0
	s.code = r.str()
	return s, r.end()
}

func encodeLimits(w *wbuf, l Limits) {
	w.duration(l.Timeout)
	for _, v := range []int{l.MaxCallStack, l.MaxHostCalls, l.MaxInFlight, l.MaxConsole, l.MailboxSize, l.MaxReplyLen, l.MaxNesting, l.MaxArgBytes} {
		w.uvarint(uint64(max(v, 0)))
	}
	w.uvarint(uint64(max(l.MaxAlloc, 0)))
}

func decodeLimits(r *rbuf) Limits {
	var l Limits
	l.Timeout = r.duration()
	for _, p := range []*int{&l.MaxCallStack, &l.MaxHostCalls, &l.MaxInFlight, &l.MaxConsole, &l.MailboxSize, &l.MaxReplyLen, &l.MaxNesting, &l.MaxArgBytes} {
		*p = r.int(1 << 30)
	}
	l.MaxAlloc = int64(r.int(1 << 50))
	return l.withDefaults()
}

func encodeDeliver(w *wbuf, st *invState) {
	w.uvarint(st.id)
	w.str(st.key.Guild)
	w.str(st.key.Extension)
	w.sum(st.spec.Program.sum)
	encodeLimits(w, st.spec.Limits)
	w.str(st.event.Kind)
	w.uvarint(uint64(len(st.event.Modules)))
	for name, data := range st.event.Modules {
		w.str(name)
		w.bytes(data)
	}
	w.uvarint(uint64(len(st.event.Denied)))
	for name, scope := range st.event.Denied {
		w.str(name)
		w.str(scope)
	}
	w.str(st.event.Handler)
	w.bytes(st.event.Data)
	w.str(st.event.Reply)
}

// delivery is a deliver frame, decoded: the invocation without its program.
type delivery struct {
	inv *invocation
	sum [32]byte
}

func decodeDeliver(p []byte) (delivery, error) {
	r := rbuf{b: p}
	inv := &invocation{}
	inv.id = r.uvarint()
	inv.key.Guild = r.str()
	inv.key.Extension = r.str()
	sum := r.sum()
	inv.limits = decodeLimits(&r)
	inv.event.Kind = r.str()
	if n := r.count(2); n > 0 {
		inv.event.Modules = make(map[string]json.RawMessage, n)
		for range n {
			name := r.str()
			inv.event.Modules[name] = r.bytes()
		}
	}
	if n := r.count(2); n > 0 {
		inv.event.Denied = make(map[string]string, n)
		for range n {
			name := r.str()
			inv.event.Denied[name] = r.str()
		}
	}
	inv.event.Handler = r.str()
	if data := r.bytes(); len(data) > 0 {
		inv.event.Data = data
	}
	inv.event.Reply = r.str()
	return delivery{inv: inv, sum: sum}, r.end()
}

func encodeHostCall(w *wbuf, inv uint64, seq uint32, api string, args []byte) {
	w.uvarint(inv)
	w.uvarint(uint64(seq))
	w.str(api)
	w.bytes(args)
}

type hostCallMsg struct {
	inv  uint64
	seq  uint32
	api  string
	args []byte
}

func decodeHostCall(p []byte) (hostCallMsg, error) {
	r := rbuf{b: p}
	var m hostCallMsg
	m.inv = r.uvarint()
	m.seq = uint32(r.int(1<<32 - 1))
	m.api = r.str()
	m.args = r.bytes()
	return m, r.end()
}

func encodeHostResult(w *wbuf, inv uint64, seq uint32, out []byte, cerr *CodeError) {
	w.uvarint(inv)
	w.uvarint(uint64(seq))
	if cerr != nil {
		w.str(cerr.Code)
		w.str(cerr.Message)
		return
	}
	w.str("")
	w.bytes(out)
}

func decodeHostResult(p []byte) (task, error) {
	r := rbuf{b: p}
	t := task{kind: taskResult}
	t.id = r.uvarint()
	t.seq = uint32(r.int(1<<32 - 1))
	if code := r.str(); code != "" {
		t.err = &CodeError{Code: code, Message: r.str()}
	} else {
		t.out = r.bytes()
	}
	return t, r.end()
}

func encodeResult(w *wbuf, inv uint64, res Result) {
	w.uvarint(inv)
	if f := res.Failure; f != nil {
		w.str(f.Kind)
		w.str(f.Message)
		w.str(f.Stack)
	} else {
		w.str("")
	}
	w.duration(res.Duration)
	w.uvarint(uint64(len(res.Console)))
	for _, l := range res.Console {
		w.str(l.Level)
		w.str(l.Text)
	}
	w.uvarint(uint64(res.ConsoleDropped))
	w.uvarint(uint64(len(res.Calls)))
	for _, c := range res.Calls {
		w.str(c.API)
		w.str(c.Scope)
		w.str(c.Outcome)
	}
	var regs []byte
	if len(res.Registrations) > 0 {
		regs, _ = json.Marshal(res.Registrations) // plain structs: cannot fail
	}
	w.bytes(regs)
}

// decodeResult reads a result from a worker. Whatever the worker claims is
// bounded: known failure kinds only, console lines capped by the limits.
func decodeResult(p []byte) (uint64, Result, error) {
	r := rbuf{b: p}
	var res Result
	inv := r.uvarint()
	if kind := r.str(); kind != "" {
		f := &Failure{Kind: kind, Message: r.str(), Stack: r.str()}
		if !slices.Contains(failureKindIndex[:], f.Kind) {
			f.Message = "the worker reported an unknown failure kind " + fmt.Sprintf("%q", f.Kind)
			f.Kind = FailInternal
		}
		f.clamp()
		res.Failure = f
	}
	res.Duration = r.duration()
	if n := r.count(2); n > 0 {
		res.Console = make([]ConsoleLine, 0, n)
		for range n {
			res.Console = append(res.Console, ConsoleLine{Level: r.str(), Text: r.str()})
		}
	}
	res.ConsoleDropped = r.int(1 << 30)
	if n := r.count(3); n > 0 {
		res.Calls = make([]CallRecord, 0, n)
		for range n {
			res.Calls = append(res.Calls, CallRecord{API: r.str(), Scope: r.str(), Outcome: r.str()})
		}
	}
	if regs := r.view(); len(regs) > 0 {
		if err := json.Unmarshal(regs, &res.Registrations); err != nil {
			return inv, res, fmt.Errorf("registrations: %w", err)
		}
	}
	return inv, res, r.end()
}

func encodeKey(w *wbuf, k Key) {
	w.str(k.Guild)
	w.str(k.Extension)
}

func decodeKey(r *rbuf) Key { return Key{Guild: r.str(), Extension: r.str()} }
