package sandbox

import (
	"errors"
	"fmt"
	"time"

	"github.com/dop251/goja"
)

// invocation is one event for one isolate, as the executor receives it.
type invocation struct {
	id      uint64
	key     Key
	program *Program
	event   Event
	limits  Limits
}

// runState is one invocation in progress. Only the executor's goroutine
// touches it, except allocated, which the meter reads under executor.imu.
type runState struct {
	inv      *invocation
	iso      *isolate
	start    time.Time
	deadline time.Time
	timer    *time.Timer
	result   Result
	modules  map[string]goja.Value // require() cache for this run
	promise  *goja.Promise

	// Host calls leave in call order, one at a time, so replies reach
	// Discord in the order the code made them. calls[0] is on its way
	// when sent is true.
	calls []pendingCall
	sent  bool
	seq   uint32

	allocated uint64   // bytes allocated in this run's slices (guarded by executor.imu)
	metered   bool     // the meter already interrupted it (guarded by executor.imu)
	limitHit  *Failure // set by a hardened builtin before it interrupts
}

type pendingCall struct {
	seq     uint32
	api     string
	args    []byte
	resolve func(any) error
	reject  func(any) error
}

// timeoutMarker is the value a deadline interrupt carries.
type timeoutMarker struct{}

func timeoutFailure(r *runState, stack string) *Failure {
	msg := fmt.Sprintf("the run took longer than %s and was stopped", r.inv.limits.Timeout)
	if stack == "" && r.sent && len(r.calls) > 0 {
		msg += " while waiting for " + r.calls[0].api
	}
	return &Failure{Kind: FailTimeout, Message: msg, Stack: stack}
}

// settle resolves or rejects a host call's promise. Continuations run
// inside this call; an uncatchable error (interrupt, stack overflow) comes
// back as err.
func (iso *isolate) settle(c pendingCall, out []byte, cerr *CodeError) error {
	if cerr != nil {
		return c.reject(iso.newError(cerr.Code, cerr.Message))
	}
	v := iso.parseTrusted(out)
	if v == nil {
		return c.reject(iso.newError(CodeInternal, "skybot returned a result the extension cannot read"))
	}
	return c.resolve(v)
}

// failureOf classifies an error that came out of goja during r.
func (iso *isolate) failureOf(r *runState, err error) *Failure {
	var interrupted *goja.InterruptedError
	var overflow *goja.StackOverflowError
	var exception *goja.Exception
	var own *Failure
	if errors.As(err, &own) {
		return own
	}
	if f := r.limitHit; f != nil {
		if f.Stack == "" && errors.As(err, &interrupted) {
			f.Stack = formatStack(interrupted.Stack())
		}
		return f
	}
	switch {
	case errors.As(err, &interrupted):
		stack := formatStack(interrupted.Stack())
		switch v := interrupted.Value().(type) {
		case *Failure:
			f := *v
			if f.Stack == "" {
				f.Stack = stack
			}
			return &f
		case timeoutMarker:
			return timeoutFailure(r, stack)
		}
		return &Failure{Kind: FailInternal, Message: "the run was interrupted", Stack: stack}
	case errors.As(err, &overflow):
		return &Failure{Kind: FailStack, Message: fmt.Sprintf("the call stack grew deeper than %d frames", r.inv.limits.MaxCallStack), Stack: formatStack(overflow.Stack())}
	case errors.As(err, &exception):
		return iso.rejection(exception.Value())
	}
	return &Failure{Kind: FailInternal, Message: err.Error()}
}

// rejection turns a thrown value or rejection reason into a Failure with
// the JS message and stack.
func (iso *isolate) rejection(reason goja.Value) *Failure {
	f := &Failure{Kind: FailError, Message: "the code threw a value"}
	if isNullish(reason) {
		return f
	}
	// Reading a thrown object runs its getters: extension code, still
	// inside the run's slice.
	if ex := iso.rt.Try(func() {
		f.Message = reason.String()
		if obj, ok := reason.(*goja.Object); ok {
			if code := obj.Get("code"); code != nil && !goja.IsUndefined(code) {
				f.Message = code.String() + ": " + obj.Get("message").String()
			}
			if stack := obj.Get("stack"); stack != nil && !goja.IsUndefined(stack) {
				f.Stack = stack.String()
			}
		}
	}); ex != nil {
		f.Message = "the code threw a value that cannot be described"
	}
	return f
}

// Bounds on what a failure carries back.
const (
	maxFailureMessage = 2000
	maxFailureStack   = 4000
)

func (f *Failure) clamp() {
	if len(f.Message) > maxFailureMessage {
		f.Message = truncateUTF8(f.Message, maxFailureMessage) + "…"
	}
	if len(f.Stack) > maxFailureStack {
		f.Stack = truncateUTF8(f.Stack, maxFailureStack) + "…"
	}
}
