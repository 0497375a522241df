package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
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
	// ByKind counts failures by Failure.Kind (every kind is present).
	ByKind map[string]int64
	// WorkerRestarts counts sandbox worker processes replaced after they
	// died or were killed; Retried the invocations re-run on the
	// replacement because they had not reached the trusted side yet.
	WorkerRestarts int64
	Retried        int64
}

// backend is where isolates live: in this process (tests) or in worker
// processes. The Supervisor keeps the bookkeeping and the trust decisions;
// a backend only carries invocations and host calls.
type backend interface {
	// submit hands st to an executor; the outcome arrives on st.done.
	submit(st *invState) error
	// cancel tells the executor the caller stopped waiting for st.
	cancel(st *invState)
	evict(key Key)
	live() int
	close()
}

// Supervisor is the trusted parent of every isolate: it delivers events,
// and decides every host call an isolate makes.
type Supervisor struct {
	actions Actions
	log     *slog.Logger
	be      backend

	mu     sync.Mutex
	invs   map[uint64]*invState
	perKey map[Key]int // invocations in flight per isolate
	closed bool

	// suspects are programs that ended a worker without a line: their
	// runs are traced from then on (trace.go).
	suspects suspects

	nextID atomic.Uint64
	stats  struct {
		invocations, failures, rejected, hostCalls, refused, restarts, retried atomic.Int64
		kinds                                                                  [len(failureKindIndex)]atomic.Int64
	}
}

// failureKindIndex numbers FailureKinds for the counters.
var failureKindIndex = [...]string{
	FailError, FailTimeout, FailStack, FailMemory, FailBudget, FailCompile,
	FailCrash, FailRejected, FailWorker, FailInternal,
}

// invState is the parent's record of one invocation in flight.
type invState struct {
	id     uint64
	key    Key
	spec   Spec
	event  Event
	origin any
	ctx    context.Context // this invocation's: cancelled when Deliver returns
	done   chan outcome    // buffered(1): one outcome per submission

	mu      sync.Mutex
	via     any // the executor or worker process it was handed to
	calls   int // host calls counted against the budget
	asked   int // host call frames a worker sent for it, counted as they arrive
	records []CallRecord
	retried bool
	resent  int  // program re-sends a worker asked for (guarded by the proc's mu)
	rerun   bool // a traced rerun (rerun.go): every host call is refused
}

// outcome is how a backend answers a submission.
type outcome struct {
	res Result
	// retry: the worker died before this invocation reached the trusted
	// side; running it again cannot repeat an action.
	retry bool
}

// NewSupervisor returns a Supervisor whose isolates run in this process,
// on one executor. It is meant for tests: nothing stops a memory bomb or a
// native builtin from taking the process down, and regexps have no match
// timeout. Production uses NewWorkerSupervisor. log may be nil.
func NewSupervisor(actions Actions, log *slog.Logger) *Supervisor {
	s := newSupervisor(actions, log)
	s.be = newLocalBackend(s)
	return s
}

func newSupervisor(actions Actions, log *slog.Logger) *Supervisor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Supervisor{
		actions: actions,
		log:     log,
		invs:    map[uint64]*invState{},
		perKey:  map[Key]int{},
	}
}

// ErrClosed is returned by Deliver after Close.
var ErrClosed = errors.New("sandbox: supervisor closed")

// Deliver runs one event in the isolate of d.Spec.Key (created lazily,
// rebuilt when the program changed) and waits for the result. A full
// mailbox ends at once with a FailRejected result; every failure is
// counted. The error is non-nil only after Close or when ctx ends.
func (s *Supervisor) Deliver(ctx context.Context, d Delivery) (Result, error) {
	limits := d.Spec.Limits.withDefaults()
	d.Spec.Limits = limits
	key := d.Spec.Key
	s.stats.invocations.Add(1)
	if d.Spec.Program == nil {
		return s.failed(&Failure{Kind: FailCompile, Message: "no compiled program"}), nil
	}
	d.Spec.Program = s.suspects.program(d.Spec.Program)

	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	st := &invState{
		id: s.nextID.Add(1), key: key, spec: d.Spec, event: d.Event, origin: d.Origin,
		ctx: ictx, done: make(chan outcome, 1),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Result{}, ErrClosed
	}
	if s.perKey[key] > limits.MailboxSize { // one running, MailboxSize waiting
		s.mu.Unlock()
		s.stats.rejected.Add(1)
		return s.failed(mailboxFull(limits).Failure), nil
	}
	s.perKey[key]++
	s.invs[st.id] = st
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.invs, st.id)
		if s.perKey[key]--; s.perKey[key] <= 0 {
			delete(s.perKey, key)
		}
		s.mu.Unlock()
	}()

	var res Result
	for {
		if err := s.be.submit(st); err != nil {
			if errors.Is(err, ErrClosed) {
				return Result{}, err
			}
			kind := FailInternal
			if errors.Is(err, errBacklog) {
				kind = FailRejected
				s.stats.rejected.Add(1)
			}
			return s.failed(&Failure{Kind: kind, Message: err.Error()}), nil
		}
		select {
		case o := <-st.done:
			if o.retry && !st.retried {
				st.retried = true
				s.stats.retried.Add(1)
				continue
			}
			res = o.res
			if o.retry {
				res.Failure = &Failure{Kind: FailWorker, Message: "the sandbox worker running this event was replaced twice; the event was not run"}
			}
		case <-ctx.Done():
			s.be.cancel(st)
			return Result{}, ctx.Err()
		}
		break
	}
	st.mu.Lock()
	res.Calls = append(slices.Clip(st.records), res.Calls...)
	st.mu.Unlock()
	if res.Failure != nil {
		if res.Failure.Kind == FailRejected {
			s.stats.rejected.Add(1)
		}
		s.count(res.Failure)
	}
	return res, nil
}

// failed counts a failure decided before any isolate saw the event.
func (s *Supervisor) failed(f *Failure) Result {
	s.count(f)
	return Result{Failure: f}
}

func (s *Supervisor) count(f *Failure) {
	s.stats.failures.Add(1)
	if i := slices.Index(failureKindIndex[:], f.Kind); i >= 0 {
		s.stats.kinds[i].Add(1)
	}
}

// complete hands a backend's outcome to the waiting Deliver, if it is
// still waiting.
func (s *Supervisor) complete(id uint64, o outcome) {
	s.mu.Lock()
	st := s.invs[id]
	s.mu.Unlock()
	if st == nil {
		return
	}
	select {
	case st.done <- o:
	default:
	}
}

// Evict drops the isolate of key, if any (after uninstall, disable or an
// update); the next event recreates it from its program.
func (s *Supervisor) Evict(key Key) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if !closed {
		s.be.evict(key)
	}
}

// Live reports how many isolates exist. With workers it sums what each
// worker last published (at most ~100 ms old).
func (s *Supervisor) Live() int { return s.be.live() }

// Close stops every isolate and worker; Deliver fails with ErrClosed
// afterwards, and invocations in flight end with a FailRejected result.
func (s *Supervisor) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.be.close()
}

// Stats returns a snapshot of the counters.
func (s *Supervisor) Stats() Stats {
	st := Stats{
		Invocations:    s.stats.invocations.Load(),
		Failures:       s.stats.failures.Load(),
		Rejected:       s.stats.rejected.Load(),
		HostCalls:      s.stats.hostCalls.Load(),
		Refused:        s.stats.refused.Load(),
		WorkerRestarts: s.stats.restarts.Load(),
		Retried:        s.stats.retried.Load(),
		ByKind:         make(map[string]int64, len(failureKindIndex)),
	}
	for i, k := range failureKindIndex {
		st.ByKind[k] = s.stats.kinds[i].Load()
	}
	return st
}

// hostCall is the trust boundary: one request from an isolate, arriving
// from via (the executor or worker process that sent it). The parent
// checks, in order, that the invocation is live and was handed to via (so
// a worker can only act for what it hosts), that the API exists, that its
// scope was granted, and that the invocation has budget left; only then
// does Actions perform it.
func (s *Supervisor) hostCall(via any, invID uint64, name string, args []byte) ([]byte, *CodeError) {
	s.stats.hostCalls.Add(1)
	s.mu.Lock()
	st, ok := s.invs[invID]
	s.mu.Unlock()
	if !ok {
		s.stats.refused.Add(1)
		return nil, Errorf(CodeForbidden, "this isolate is not running an invocation")
	}
	st.mu.Lock()
	hosted := st.via == via
	st.mu.Unlock()
	if !hosted {
		s.stats.refused.Add(1)
		s.log.Warn("host call from a worker that does not host the invocation", "guild_id", st.key.Guild, "ext", st.key.Extension, "api", name)
		return nil, Errorf(CodeForbidden, "this worker does not host the invocation")
	}
	if st.rerun {
		s.stats.refused.Add(1)
		return nil, Errorf(CodeForbidden, "a traced rerun of an event makes no host calls")
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
	if len(args) > st.spec.Limits.MaxArgBytes || !json.Valid(args) {
		s.stats.refused.Add(1)
		return nil, st.record(api, Errorf(CodeInvalidArgument, "%s: the arguments are not JSON of at most %d bytes", api.Name, st.spec.Limits.MaxArgBytes))
	}
	st.mu.Lock()
	st.calls++
	over := st.calls > st.spec.Limits.MaxHostCalls
	st.mu.Unlock()
	if over {
		s.stats.refused.Add(1)
		return nil, st.record(api, Errorf(CodeBudgetExceeded, "the run made more than %d host calls", st.spec.Limits.MaxHostCalls))
	}

	out, err := s.actions.Perform(st.ctx, Call{
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

// hand notes which executor or worker st was handed to.
func (st *invState) hand(via any) {
	st.mu.Lock()
	st.via = via
	st.mu.Unlock()
}

// noteAsked records, before the call is decided, that a worker asked for a
// host call on st's behalf.
func (st *invState) noteAsked() {
	st.mu.Lock()
	st.asked++
	st.mu.Unlock()
}

// touchedTrustedSide reports whether st may have acted: a worker asked for
// a host call for it. Running it again could repeat the action.
func (st *invState) touchedTrustedSide() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.asked > 0
}

// invocation is what an executor runs for st.
func (st *invState) invocation(p *Program) *invocation {
	return &invocation{id: st.id, key: st.key, program: p, event: st.event, limits: st.spec.Limits}
}

// localBackend runs isolates on one executor in this process.
type localBackend struct {
	s  *Supervisor
	ex *executor
}

func newLocalBackend(s *Supervisor) *localBackend {
	b := &localBackend{s: s}
	b.ex = newExecutor(b, executorConfig{meter: true})
	return b
}

func (b *localBackend) submit(st *invState) error {
	st.hand(b.ex)
	if !b.ex.post(task{kind: taskDeliver, inv: st.invocation(st.spec.Program)}) {
		return ErrClosed
	}
	return nil
}

func (b *localBackend) cancel(st *invState) {
	b.ex.post(task{kind: taskCancel, id: st.id, key: st.key})
}
func (b *localBackend) evict(key Key) { b.ex.post(task{kind: taskEvict, key: key}) }
func (b *localBackend) live() int     { return int(b.ex.live.Load()) }
func (b *localBackend) close()        { b.ex.stop() }

// call performs a host call on its own goroutine: Actions may take a
// while, and the executor never waits.
func (b *localBackend) call(inv uint64, seq uint32, api string, args []byte) {
	go func() {
		out, cerr := b.s.hostCall(b.ex, inv, api, args)
		b.ex.post(task{kind: taskResult, id: inv, seq: seq, out: out, err: cerr})
	}()
}

func (b *localBackend) done(inv uint64, res Result) { b.s.complete(inv, outcome{res: res}) }

var (
	_ port    = (*localBackend)(nil)
	_ backend = (*localBackend)(nil)
)
