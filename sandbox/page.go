package sandbox

import (
	"sync/atomic"
	"time"
	"unsafe"
)

// statusPage is one page of memory shared by a worker and its parent
// (mapped from an unlinked file the parent passes as fd 3). The worker
// writes; the parent only reads, and never trusts it for more than whom
// to blame and when to give up on the worker:
//
//	the invocation executing JS right now and its deadline (a seqlock
//	makes the pair consistent), so when the worker dies or overruns, the
//	parent knows exactly which invocation was running;
//	a heartbeat, the live isolates and the live heap, every ~100 ms;
//	the wrapped builtin a run is inside, with the extension's line that
//	called it, published by the heartbeat (so that a run killed there
//	can be told where it was); the parent checks the invocation and
//	takes the name only if it looks like one.
//	the statement a traced run last started (trace.go), written by the
//	executor itself, since the worker may die before the next heartbeat.
type statusPage struct {
	mem []byte
}

const (
	pageSize       = 4096
	pageSeq        = 0
	pageHolder     = 8
	pageDeadline   = 16
	pageHeartbeat  = 24
	pageLive       = 32
	pageHeap       = 40
	pageNativeSeq  = 48
	pageNativeInv  = 56
	pageNativePos  = 64 // line << 32 | column
	pageNativeLen  = 72
	pageNativeWhat = 80
	maxNativeWhat  = 48
	pageTraceSeq   = 128
	pageTraceInv   = 136
	pageTracePos   = 144 // line << 32 | column
)

func (p *statusPage) word(off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&p.mem[off]))
}

// enter publishes that inv is executing with the given deadline.
func (p *statusPage) enter(inv uint64, deadline time.Time) {
	seq := p.word(pageSeq)
	seq.Add(1) // odd: writing
	p.word(pageHolder).Store(inv)
	p.word(pageDeadline).Store(uint64(deadline.UnixNano()))
	seq.Add(1)
}

// leave publishes that no JS is executing.
func (p *statusPage) leave() {
	seq := p.word(pageSeq)
	seq.Add(1)
	p.word(pageHolder).Store(0)
	p.word(pageDeadline).Store(0)
	seq.Add(1)
}

// holder reads the executing invocation (0 for none) and its deadline.
func (p *statusPage) holder() (uint64, time.Time) {
	seq := p.word(pageSeq)
	for range 1000 {
		s := seq.Load()
		if s&1 != 0 {
			continue
		}
		inv, dl := p.word(pageHolder).Load(), p.word(pageDeadline).Load()
		if seq.Load() == s {
			return inv, time.Unix(0, int64(dl))
		}
	}
	return 0, time.Time{} // a writer that never finishes is caught by the heartbeat
}

// beat publishes liveness and the worker's occupancy.
func (p *statusPage) beat(now time.Time, live int64, heap uint64) {
	p.word(pageLive).Store(uint64(max(live, 0)))
	p.word(pageHeap).Store(heap)
	p.word(pageHeartbeat).Store(uint64(now.UnixNano()))
}

func (p *statusPage) lastBeat() time.Time {
	return time.Unix(0, int64(p.word(pageHeartbeat).Load()))
}

func (p *statusPage) live() int    { return int(p.word(pageLive).Load()) }
func (p *statusPage) heap() uint64 { return p.word(pageHeap).Load() }

var _ execSlot = (*statusPage)(nil)

// nativeSite is where a run was inside a wrapped builtin: the extension's
// line and column that called what. inv 0 is none.
type nativeSite struct {
	inv       uint64
	line, col int
	what      string
}

// setNative publishes site (inv 0 clears it).
func (p *statusPage) setNative(site nativeSite) {
	seq := p.word(pageNativeSeq)
	seq.Add(1)
	p.word(pageNativeInv).Store(site.inv)
	p.word(pageNativePos).Store(uint64(uint32(site.line))<<32 | uint64(uint32(site.col)))
	n := copy(p.mem[pageNativeWhat:pageNativeWhat+maxNativeWhat], site.what)
	p.word(pageNativeLen).Store(uint64(n))
	seq.Add(1)
}

// nativeSite reads what setNative published. The worker wrote it, so the
// name is kept only if it is a builtin's name in form (letters and dots).
func (p *statusPage) nativeSite() nativeSite {
	var site nativeSite
	var what string
	if !p.consistent(pageNativeSeq, func() {
		site = p.site(pageNativeInv, pageNativePos)
		n := min(p.word(pageNativeLen).Load(), maxNativeWhat)
		what = string(p.mem[pageNativeWhat : pageNativeWhat+n])
	}) || !builtinName(what) {
		return nativeSite{}
	}
	site.what = what
	return site
}

// consistent runs read until it saw the words guarded by the seqlock at
// seqOff without a write in between; false if the writer never let it.
func (p *statusPage) consistent(seqOff int, read func()) bool {
	seq := p.word(seqOff)
	for range 1000 {
		s := seq.Load()
		if s&1 != 0 {
			continue
		}
		read()
		if seq.Load() == s {
			return true
		}
	}
	return false
}

// site reads an invocation and a packed line and column.
func (p *statusPage) site(invOff, posOff int) nativeSite {
	site := nativeSite{inv: p.word(invOff).Load()}
	pos := p.word(posOff).Load()
	site.line, site.col = int(pos>>32), int(uint32(pos))
	return site
}

func builtinName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c != '.' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// setTrace publishes the statement a traced run just started.
func (p *statusPage) setTrace(site nativeSite) {
	seq := p.word(pageTraceSeq)
	seq.Add(1)
	p.word(pageTraceInv).Store(site.inv)
	p.word(pageTracePos).Store(uint64(uint32(site.line))<<32 | uint64(uint32(site.col)))
	seq.Add(1)
}

// traceSite reads what setTrace published (inv 0 for nothing).
func (p *statusPage) traceSite() nativeSite {
	var site nativeSite
	if !p.consistent(pageTraceSeq, func() { site = p.site(pageTraceInv, pageTracePos) }) {
		return nativeSite{}
	}
	return site
}

var _ tracer = (*statusPage)(nil)
