package sandbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// runState is one invocation in progress on the owner goroutine.
type runState struct {
	inv     *invocation
	ctx     context.Context
	result  Result
	modules map[string]goja.Value // require() cache for this run

	// Host calls leave in call order through one queue, performed one at a
	// time, so replies reach Discord in the order the code made them.
	queue    chan pendingCall
	results  chan hostResult
	inflight int
}

type pendingCall struct {
	api     string
	args    []byte
	resolve func(any) error
	reject  func(any) error
}

type hostResult struct {
	call pendingCall
	out  []byte
	err  *CodeError
}

// invoke runs one invocation to the end of its whole promise chain, or to
// its deadline, whichever comes first.
func (iso *isolate) invoke(inv *invocation) Result {
	start := time.Now()
	limits := inv.limits
	ctx, cancel := context.WithTimeout(inv.ctx, limits.Timeout)
	defer cancel()

	r := &runState{
		inv:     inv,
		ctx:     ctx,
		modules: map[string]goja.Value{},
		queue:   make(chan pendingCall, limits.MaxInFlight),
		results: make(chan hostResult, limits.MaxInFlight),
	}
	go iso.perform(r)
	iso.run = r
	guard := iso.armInterrupt(inv.id, limits.Timeout)
	defer func() {
		close(r.queue)
		guard.Stop()
		iso.disarmInterrupt()
		iso.run = nil
	}()

	fail := iso.execute(r)
	r.result.Failure = fail
	r.result.Duration = time.Since(start)
	return r.result
}

// execute starts the code and drives its promise chain.
func (iso *isolate) execute(r *runState) *Failure {
	if !iso.program.legacy {
		return &Failure{Kind: FailInternal, Message: "handler-style extensions cannot run yet"}
	}
	v, err := iso.body(goja.Undefined())
	if err != nil {
		return iso.failureOf(err)
	}
	promise, ok := v.Export().(*goja.Promise)
	if !ok {
		return &Failure{Kind: FailInternal, Message: "the extension body did not return a promise"}
	}
	for {
		if promise.State() != goja.PromiseStatePending && r.inflight == 0 {
			break
		}
		if promise.State() == goja.PromiseStatePending && r.inflight == 0 {
			// Nothing outside JS is pending, so nothing can ever settle it.
			return &Failure{Kind: FailError, Message: "the code awaits a promise that nothing will ever settle"}
		}
		select {
		case res := <-r.results:
			r.inflight--
			if err := iso.settle(res); err != nil {
				return iso.failureOf(err)
			}
		case <-r.ctx.Done():
			if errors.Is(r.ctx.Err(), context.DeadlineExceeded) {
				return timeoutFailure(r.inv.limits.Timeout)
			}
			return &Failure{Kind: FailInternal, Message: "the invocation was cancelled"}
		}
	}
	if promise.State() == goja.PromiseStateRejected {
		return iso.rejection(promise.Result())
	}
	return nil
}

func timeoutFailure(d time.Duration) *Failure {
	return &Failure{Kind: FailTimeout, Message: fmt.Sprintf("the run took longer than %s and was stopped", d)}
}

// settle resolves or rejects a host call's promise on the owner goroutine.
// Continuations run inside this call; an uncatchable error (interrupt,
// stack overflow) comes back as err.
func (iso *isolate) settle(res hostResult) error {
	if res.err != nil {
		return res.call.reject(iso.newError(res.err.Code, res.err.Message))
	}
	var val goja.Value = goja.Undefined()
	if len(res.out) > 0 {
		v, err := iso.jsonParse(goja.Undefined(), iso.rt.ToValue(string(res.out)))
		if err != nil {
			return res.call.reject(iso.newError(CodeInternal, "skybot returned a malformed result"))
		}
		val = v
	}
	return res.call.resolve(val)
}

// perform sends the run's host calls to the parent one at a time. It ends
// when the run closes its queue; answers after the run ended are dropped
// with the run (their promises can no longer be observed).
func (iso *isolate) perform(r *runState) {
	for c := range r.queue {
		out, err := iso.link.hostCall(r.ctx, r.inv.id, c.api, c.args)
		r.results <- hostResult{call: c, out: out, err: err}
	}
}

// hostFunc returns the JS function for one API: it serialises the
// arguments, queues a request frame and returns a promise.
func (iso *isolate) hostFunc(api API) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		r := iso.run
		if r == nil {
			iso.throw(CodeInvalidArgument, api.Name+" can only be called while the extension is running")
		}
		promise, resolve, reject := iso.rt.NewPromise()
		args, err := iso.jsonStringify(goja.Undefined(), iso.rt.NewArray(toAny(call.Arguments)...))
		if err != nil || goja.IsUndefined(args) {
			_ = reject(iso.newError(CodeInvalidArgument, api.Name+": arguments must be plain JSON data"))
			return iso.rt.ToValue(promise)
		}
		pc := pendingCall{api: api.Name, args: []byte(args.String()), resolve: resolve, reject: reject}
		select {
		case r.queue <- pc:
			r.inflight++
		default:
			_ = reject(iso.newError(CodeBudgetExceeded, fmt.Sprintf("more than %d host calls are waiting at once", r.inv.limits.MaxInFlight)))
			r.result.Calls = append(r.result.Calls, CallRecord{API: api.Name, Scope: api.Scope, Outcome: CodeBudgetExceeded})
		}
		return iso.rt.ToValue(promise)
	}
}

func toAny(vals []goja.Value) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}

// require resolves a module name for the current run (SKYEXT.md part B
// 2.7): provided modules are built from the event's plain data plus their
// host functions and cached per run; withheld ones throw MISSING_SCOPES.
func (iso *isolate) require(call goja.FunctionCall) goja.Value {
	r := iso.run
	name := call.Argument(0).String()
	if r == nil {
		iso.throw(CodeUnknownModule, "require() is only available while the extension runs")
	}
	if v, ok := r.modules[name]; ok {
		return v
	}
	ev := r.inv.event
	if data, ok := ev.Modules[name]; ok {
		v, err := iso.jsonParse(goja.Undefined(), iso.rt.ToValue(string(data)))
		if err != nil {
			iso.throw(CodeInternal, "module "+name+" could not be prepared")
		}
		if obj, ok := v.(*goja.Object); ok {
			for _, api := range moduleAPIs(name) {
				_ = obj.Set(strings.TrimPrefix(api.Name, name+"."), iso.hostFunc(api))
			}
		}
		r.modules[name] = v
		return v
	}
	if scope, ok := ev.Denied[name]; ok {
		iso.throw(CodeMissingScopes, fmt.Sprintf("MISSING_SCOPES: the extension did not register the %s scope needed for module %s", scope, name))
	}
	if slices.Contains(LegacyModules, name) {
		iso.throw(CodeUnknownModule, fmt.Sprintf("%s is not a valid SkynetScript module for this trigger", name))
	}
	iso.throw(CodeUnknownModule, "Unknown module: "+name)
	return nil
}

// failureOf classifies an error that came out of goja.
func (iso *isolate) failureOf(err error) *Failure {
	var interrupted *goja.InterruptedError
	var overflow *goja.StackOverflowError
	var exception *goja.Exception
	switch {
	case errors.As(err, &interrupted):
		if _, ok := interrupted.Value().(timeoutMarker); ok && iso.run != nil {
			return timeoutFailure(iso.run.inv.limits.Timeout)
		}
		return &Failure{Kind: FailInternal, Message: "the run was interrupted"}
	case errors.As(err, &overflow):
		return &Failure{Kind: FailStack, Message: fmt.Sprintf("the call stack grew deeper than %d frames", iso.run.inv.limits.MaxCallStack), Stack: overflow.String()}
	case errors.As(err, &exception):
		return iso.rejection(exception.Value())
	}
	return &Failure{Kind: FailInternal, Message: err.Error()}
}

// rejection turns a thrown value or rejection reason into a Failure with
// the JS message and stack.
func (iso *isolate) rejection(reason goja.Value) *Failure {
	f := &Failure{Kind: FailError, Message: "the code threw a value"}
	if reason == nil || goja.IsUndefined(reason) || goja.IsNull(reason) {
		return f
	}
	f.Message = reason.String()
	if obj, ok := reason.(*goja.Object); ok {
		if code := obj.Get("code"); code != nil && !goja.IsUndefined(code) {
			f.Message = code.String() + ": " + obj.Get("message").String()
		}
		if stack := obj.Get("stack"); stack != nil && !goja.IsUndefined(stack) {
			f.Stack = stack.String()
		}
	}
	return f
}

// armInterrupt starts the wall-clock guard for invocation id: when it
// fires, it interrupts JS bytecode (native code finishes first).
func (iso *isolate) armInterrupt(id uint64, d time.Duration) *time.Timer {
	iso.interruptMu.Lock()
	iso.current = id
	iso.interruptMu.Unlock()
	iso.rt.ClearInterrupt()
	return time.AfterFunc(d, func() {
		iso.interruptMu.Lock()
		defer iso.interruptMu.Unlock()
		if iso.current == id {
			iso.rt.Interrupt(timeoutMarker{inv: id})
		}
	})
}

// disarmInterrupt ends the guard; an interrupt that raced the end of the
// run is cleared so it cannot reach the next one.
func (iso *isolate) disarmInterrupt() {
	iso.interruptMu.Lock()
	iso.current = 0
	iso.interruptMu.Unlock()
	iso.rt.ClearInterrupt()
}
