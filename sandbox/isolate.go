package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/dop251/goja"
)

// link is how an isolate reaches the trusted parent with a host call frame.
// In process it is a direct call into the Supervisor; in a worker process
// it is a frame over the pipe. Either way the parent decides.
type link interface {
	hostCall(ctx context.Context, inv uint64, api string, args []byte) ([]byte, *CodeError)
}

// invocation is one event delivered to an isolate.
type invocation struct {
	id     uint64
	ctx    context.Context
	event  Event
	limits Limits
	done   chan Result // buffered(1)
}

// isolate is an actor: one goroutine owns the goja runtime and drains a
// bounded mailbox, one invocation at a time. Nothing else touches rt, except
// Interrupt, which goja makes safe from any goroutine.
type isolate struct {
	key     Key
	program *Program
	link    link
	limits  Limits // the limits the runtime was built with
	mailbox chan *invocation

	rt            *goja.Runtime
	body          goja.Callable // legacy: the wrapped async function
	jsonParse     goja.Callable
	jsonStringify goja.Callable
	errorCtor     *goja.Object

	run *runState // the invocation being run; owner goroutine only

	// interruptMu orders a deadline timer's Interrupt against the end of the
	// run it belongs to, so a late timer never interrupts the next run.
	interruptMu sync.Mutex
	current     uint64

	stateMu sync.Mutex // orders enqueue against stop
	stopped bool
	quit    chan struct{}
}

// timeoutMarker is the value a deadline interrupt carries.
type timeoutMarker struct{ inv uint64 }

// newIsolate builds the runtime, hardens it, loads the program and starts
// the owner goroutine.
func newIsolate(key Key, p *Program, l link, limits Limits) (*isolate, error) {
	iso := &isolate{
		key:     key,
		program: p,
		link:    l,
		limits:  limits,
		mailbox: make(chan *invocation, limits.MailboxSize),
		quit:    make(chan struct{}),
	}
	if err := iso.setup(); err != nil {
		return nil, err
	}
	go iso.loop()
	return iso, nil
}

func (iso *isolate) setup() error {
	rt := goja.New()
	rt.SetMaxCallStackSize(iso.limits.MaxCallStack)
	iso.rt = rt

	// Capture the built-ins the host relies on before any extension code
	// can replace them.
	json := rt.Get("JSON").ToObject(rt)
	var ok bool
	if iso.jsonParse, ok = goja.AssertFunction(json.Get("parse")); !ok {
		return errors.New("JSON.parse is not callable")
	}
	if iso.jsonStringify, ok = goja.AssertFunction(json.Get("stringify")); !ok {
		return errors.New("JSON.stringify is not callable")
	}
	iso.errorCtor = rt.Get("Error").ToObject(rt)

	if err := harden(rt); err != nil {
		return fmt.Errorf("harden runtime: %w", err)
	}
	iso.installGlobals()

	v, err := rt.RunProgram(iso.program.prog)
	if err != nil {
		return fmt.Errorf("load %s: %w", iso.program.name, err)
	}
	if iso.program.legacy {
		if iso.body, ok = goja.AssertFunction(v); !ok {
			return errors.New("legacy program did not evaluate to a function")
		}
	}
	return nil
}

// harden removes the ways to compile code at run time: eval and every
// route to the Function constructors (including through prototypes).
func harden(rt *goja.Runtime) error {
	_, err := rt.RunString(`(function () {
  'use strict';
  var thrower = function () { throw new EvalError('code generation from strings is disabled'); };
  var protos = [
    Object.getPrototypeOf(function () {}),
    Object.getPrototypeOf(async function () {}),
    Object.getPrototypeOf(function* () {}),
  ];
  for (var i = 0; i < protos.length; i++) {
    Object.defineProperty(protos[i], 'constructor', { value: thrower, writable: false, configurable: false });
  }
  Object.defineProperty(globalThis, 'Function', { value: thrower, writable: false, configurable: false });
  delete globalThis.eval;
})()`)
	return err
}

// installGlobals sets require, console and global. They read iso.run, so
// they act for whichever invocation is current on the owner goroutine.
func (iso *isolate) installGlobals() {
	rt := iso.rt
	_ = rt.Set("global", rt.GlobalObject())
	_ = rt.Set("require", iso.require)
	console := rt.NewObject()
	for _, lvl := range []struct{ name, level, prefix string }{
		{"log", "info", ""}, {"info", "info", ""}, {"warn", "warn", "[WARN] "}, {"error", "error", "[ERROR] "},
	} {
		_ = console.Set(lvl.name, func(call goja.FunctionCall) goja.Value {
			iso.console(lvl.level, lvl.prefix, call.Arguments)
			return goja.Undefined()
		})
	}
	_ = rt.Set("console", console)
}

// console records one console call in the run's log, bounded by MaxConsole.
func (iso *isolate) console(level, prefix string, args []goja.Value) {
	r := iso.run
	if r == nil {
		return
	}
	if len(r.result.Console) >= r.inv.limits.MaxConsole {
		r.result.ConsoleDropped++
		return
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.String()
	}
	text := prefix + strings.Join(parts, " ")
	const maxLine = 2000
	if len(text) > maxLine {
		text = text[:maxLine] + "…"
	}
	r.result.Console = append(r.result.Console, ConsoleLine{Level: level, Text: text})
}

// newError builds a JS Error carrying a code, with the captured constructor.
func (iso *isolate) newError(code, msg string) goja.Value {
	obj, err := iso.rt.New(iso.errorCtor, iso.rt.ToValue(msg))
	if err != nil {
		return iso.rt.ToValue(msg)
	}
	_ = obj.Set("code", code)
	return obj
}

// throw panics with a coded JS error, which goja turns into a JS throw.
func (iso *isolate) throw(code, msg string) {
	panic(iso.newError(code, msg))
}

func (iso *isolate) loop() {
	for {
		select {
		case inv := <-iso.mailbox:
			res := iso.invoke(inv)
			if res.Failure != nil && (res.Failure.Kind == FailTimeout || res.Failure.Kind == FailStack) {
				// A goja runtime interrupted inside an async function never
				// runs promise continuations again (measured), and one that
				// overflowed may be mid-way through anything: start afresh.
				// State that must survive lives in storage, not in the runtime.
				if err := iso.setup(); err != nil {
					res.Failure.Message += "; the isolate could not be rebuilt: " + err.Error()
					inv.done <- res
					iso.stop()
					continue
				}
			}
			inv.done <- res
		case <-iso.quit:
			// stop has shut enqueue, so the mailbox can only shrink now.
			for {
				select {
				case inv := <-iso.mailbox:
					inv.done <- Result{Failure: &Failure{Kind: FailRejected, Message: "the extension was reloaded or removed before this event ran"}}
				default:
					return
				}
			}
		}
	}
}

type enqueueResult int

const (
	enqueued enqueueResult = iota
	mailboxFull
	isolateStopped
)

// enqueue offers inv to the mailbox; a full mailbox is an explicit refusal.
func (iso *isolate) enqueue(inv *invocation) enqueueResult {
	iso.stateMu.Lock()
	defer iso.stateMu.Unlock()
	if iso.stopped {
		return isolateStopped
	}
	select {
	case iso.mailbox <- inv:
		return enqueued
	default:
		return mailboxFull
	}
}

// isStopped reports whether stop was called (by the owner or an eviction).
func (iso *isolate) isStopped() bool {
	iso.stateMu.Lock()
	defer iso.stateMu.Unlock()
	return iso.stopped
}

// stop ends the actor after its current invocation; queued ones are
// answered with a FailRejected result.
func (iso *isolate) stop() {
	iso.stateMu.Lock()
	defer iso.stateMu.Unlock()
	if !iso.stopped {
		iso.stopped = true
		close(iso.quit)
	}
}
