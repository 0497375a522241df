package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Actions performs host calls that passed every sandbox check. The bot
// implements it (Discord REST, storage, ...); errors that should reach JS
// with a code are *CodeError.
type Actions interface {
	Perform(ctx context.Context, call Call) (json.RawMessage, error)
}

// Call is one checked host call, handed to Actions with the trusted facts
// of its invocation (never anything the isolate claims about itself).
type Call struct {
	Key     Key
	Version string
	API     API
	Args    json.RawMessage // a JSON array of the JS arguments
	Origin  any             // the Delivery's Origin, as the trusted side gave it
	Granted ScopeSet
}

// Delivery is one event for one installed extension in one guild.
type Delivery struct {
	Spec  Spec
	Event Event
	// Origin is whatever the trusted side needs to act for this invocation
	// (channel, message, interaction token...). It never enters the isolate.
	Origin any
}

// Stats are the Supervisor's counters.
type Stats struct {
	Invocations int64
	Failures    int64
	Rejected    int64 // mailbox full: explicitly refused, never silently dropped
	HostCalls   int64
	Refused     int64 // host calls refused by a check (scope, budget, hosting)
}

// Supervisor is the trusted parent of every isolate: it creates them
// lazily, delivers events, and decides every host call frame. This build
// runs isolates in process; worker processes come behind the same link.
type Supervisor struct {
	actions Actions
	log     *slog.Logger

	mu       sync.Mutex
	isolates map[Key]*isolate
	invs     map[uint64]*invState
	closed   bool

	nextID atomic.Uint64
	stats  struct{ invocations, failures, rejected, hostCalls, refused atomic.Int64 }
}

// invState is the parent's record of one invocation in flight.
type invState struct {
	key    Key
	spec   Spec
	origin any

	mu      sync.Mutex
	calls   int
	records []CallRecord
}

// NewSupervisor returns a Supervisor that performs checked calls with
// actions. log may be nil.
func NewSupervisor(actions Actions, log *slog.Logger) *Supervisor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Supervisor{
		actions:  actions,
		log:      log,
		isolates: map[Key]*isolate{},
		invs:     map[uint64]*invState{},
	}
}

// ErrClosed is returned by Deliver after Close.
var ErrClosed = errors.New("sandbox: supervisor closed")

// Deliver runs one event in the isolate of d.Spec.Key, creating it (or
// replacing it, when the version changed) as needed, and waits for the
// result. A full mailbox ends at once with a FailRejected result.
func (s *Supervisor) Deliver(ctx context.Context, d Delivery) (Result, error) {
	limits := d.Spec.Limits.withDefaults()
	d.Spec.Limits = limits
	id := s.nextID.Add(1)
	st := &invState{key: d.Spec.Key, spec: d.Spec, origin: d.Origin}
	s.mu.Lock()
	s.invs[id] = st
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.invs, id)
		s.mu.Unlock()
	}()

	s.stats.invocations.Add(1)
	inv := &invocation{id: id, ctx: ctx, event: d.Event, limits: limits, done: make(chan Result, 1)}
	// An isolate replaced between lookup and enqueue (a new version) is
	// looked up again once.
	for attempt := 0; ; attempt++ {
		iso, err := s.isolate(d.Spec)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return Result{}, err
			}
			s.stats.failures.Add(1)
			return Result{Failure: &Failure{Kind: FailCompile, Message: err.Error()}}, nil
		}
		switch iso.enqueue(inv) {
		case enqueued:
		case mailboxFull:
			s.stats.rejected.Add(1)
			s.stats.failures.Add(1)
			return Result{Failure: &Failure{Kind: FailRejected, Message: fmt.Sprintf("the extension already has %d events waiting; this one was refused", limits.MailboxSize)}}, nil
		case isolateStopped:
			if attempt == 0 {
				continue
			}
			s.stats.failures.Add(1)
			return Result{Failure: &Failure{Kind: FailRejected, Message: "the extension was reloaded or removed before this event ran"}}, nil
		}
		break
	}
	var res Result
	select {
	case res = <-inv.done:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	st.mu.Lock()
	res.Calls = append(st.records, res.Calls...)
	st.mu.Unlock()
	if res.Failure != nil {
		s.stats.failures.Add(1)
	}
	return res, nil
}

// isolate returns the live isolate for spec, building it if absent or if it
// runs another program (a new version).
func (s *Supervisor) isolate(spec Spec) (*isolate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if iso, ok := s.isolates[spec.Key]; ok {
		if iso.program == spec.Program && !iso.isStopped() {
			return iso, nil
		}
		iso.stop()
		delete(s.isolates, spec.Key)
	}
	if spec.Program == nil {
		return nil, errors.New("no compiled program")
	}
	iso, err := newIsolate(spec.Key, spec.Program, s, spec.Limits)
	if err != nil {
		return nil, err
	}
	s.isolates[spec.Key] = iso
	return iso, nil
}

// Evict stops the isolate of key, if any (after uninstall, disable or an
// update); the next event recreates it from its program.
func (s *Supervisor) Evict(key Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if iso, ok := s.isolates[key]; ok {
		iso.stop()
		delete(s.isolates, key)
	}
}

// Live reports how many isolates exist.
func (s *Supervisor) Live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.isolates)
}

// Close stops every isolate; Deliver fails with ErrClosed afterwards.
func (s *Supervisor) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for k, iso := range s.isolates {
		iso.stop()
		delete(s.isolates, k)
	}
}

// Stats returns a snapshot of the counters.
func (s *Supervisor) Stats() Stats {
	return Stats{
		Invocations: s.stats.invocations.Load(),
		Failures:    s.stats.failures.Load(),
		Rejected:    s.stats.rejected.Load(),
		HostCalls:   s.stats.hostCalls.Load(),
		Refused:     s.stats.refused.Load(),
	}
}

// hostCall is the trust boundary: one request frame from an isolate. The
// parent checks, in order, that the invocation is live (so an isolate can
// only act for what it hosts), that the API exists, that its scope was
// granted, and that the invocation has budget left; only then does Actions
// perform it.
func (s *Supervisor) hostCall(ctx context.Context, invID uint64, name string, args []byte) ([]byte, *CodeError) {
	s.stats.hostCalls.Add(1)
	s.mu.Lock()
	st, ok := s.invs[invID]
	s.mu.Unlock()
	if !ok {
		s.stats.refused.Add(1)
		return nil, Errorf(CodeForbidden, "this isolate is not running an invocation")
	}
	api, ok := LookupAPI(name)
	if !ok {
		s.stats.refused.Add(1)
		return nil, st.record(API{Name: name}, Errorf(CodeInvalidArgument, "%s is not a skybot API", name))
	}
	if !st.spec.Granted.Has(api.Scope) {
		s.stats.refused.Add(1)
		return nil, st.record(api, Errorf(CodeMissingScopes, "MISSING_SCOPES: %s needs the %s scope, which this extension was not granted", api.Name, api.Scope))
	}
	st.mu.Lock()
	st.calls++
	over := st.calls > st.spec.Limits.MaxHostCalls
	st.mu.Unlock()
	if over {
		s.stats.refused.Add(1)
		return nil, st.record(api, Errorf(CodeBudgetExceeded, "the run made more than %d host calls", st.spec.Limits.MaxHostCalls))
	}

	out, err := s.actions.Perform(ctx, Call{
		Key: st.key, Version: st.spec.Version, API: api, Args: args, Origin: st.origin, Granted: st.spec.Granted,
	})
	if err != nil {
		var ce *CodeError
		if !errors.As(err, &ce) {
			s.log.Error("host call failed", "guild_id", st.key.Guild, "ext", st.key.Extension, "api", api.Name, "err", err)
			ce = Errorf(CodeInternal, "skybot could not complete %s", api.Name)
		}
		return nil, st.record(api, ce)
	}
	st.record(api, nil)
	return out, nil
}

// record notes a call's outcome and passes its error through.
func (st *invState) record(api API, err *CodeError) *CodeError {
	outcome := "ok"
	if err != nil {
		outcome = err.Code
	}
	st.mu.Lock()
	st.records = append(st.records, CallRecord{API: api.Name, Scope: api.Scope, Outcome: outcome})
	st.mu.Unlock()
	return err
}
