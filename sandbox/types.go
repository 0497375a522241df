// Package sandbox runs untrusted extension JavaScript in goja isolates, one
// per (guild, extension), and is the trust boundary: every host call from JS
// arrives at the parent as a request that is checked (is the invocation
// hosted by the worker asking, is the scope granted, is budget left) before
// the injected Actions perform it.
//
// Isolates live in sandbox worker processes (NewWorkerSupervisor): the
// skybot binary re-executed with WorkerArg, WorkerMain on the other end of
// a pipe. A worker has a clean environment, no database, an OS data limit
// and a Go memory limit; one executor in it runs one JS slice at a time,
// which makes the per-invocation allocation meter exact. The Supervisor
// kills (SIGKILL) and replaces a worker that dies or stays in native code
// past an invocation's deadline; what was in flight on it ends with a
// canonical failure, or runs again if it had not acted yet. NewSupervisor
// runs the same executor in process, for tests.
//
// Limits (Limits, Options): wall clock over the whole promise chain,
// allocation per invocation, JS stack depth, native nesting (JSON, join,
// source), host calls and their size, in-flight calls, mailbox, console;
// builtins that could allocate or loop without bound in one call are
// wrapped (harden.go). Every limit hit is a Failure of a canonical kind,
// with the JS stack where there is one, counted in Stats.
//
// The package never imports discordgo or the store: what an extension may
// see arrives as plain JSON in an Event, and what it may do leaves as a Call.
package sandbox

import (
	"encoding/json"
	"fmt"
	"time"
)

// Key identifies an isolate: one per guild × extension.
type Key struct {
	Guild     string
	Extension string // extension name
}

func (k Key) String() string { return k.Guild + "/" + k.Extension }

// Limits bound one invocation. Zero fields take DefaultLimits' values.
type Limits struct {
	Timeout      time.Duration // wall clock for the whole promise chain
	MaxCallStack int           // JS frames
	MaxHostCalls int           // host API calls per invocation
	MaxInFlight  int           // host calls awaiting an answer at once
	MaxConsole   int           // console lines kept per invocation; the rest are counted
	MailboxSize  int           // queued invocations per isolate before rejection
	MaxReplyLen  int           // characters in one message payload's content
	// MaxAlloc is the bytes one invocation may allocate (the allocation
	// meter, not the live heap). Single builtin calls are also refused
	// when they would build a string over MaxAlloc/4 characters or an
	// array or argument list over MaxAlloc/32 elements.
	MaxAlloc int64
	// MaxNesting bounds what the engine would walk with native (Go)
	// recursion: JSON.parse input, JSON.stringify values, nested join.
	MaxNesting int
	// MaxArgBytes bounds the JSON of one host call's arguments.
	MaxArgBytes int
}

// DefaultLimits are the limits when config sets none.
var DefaultLimits = Limits{
	Timeout:      5 * time.Second,
	MaxCallStack: 512,
	MaxHostCalls: 50,
	MaxInFlight:  10,
	MaxConsole:   50,
	MailboxSize:  64,
	MaxReplyLen:  2000,
	MaxAlloc:     128 << 20,
	MaxNesting:   256,
	MaxArgBytes:  256 << 10,
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.Timeout > 0 {
		d.Timeout = l.Timeout
	}
	if l.MaxCallStack > 0 {
		d.MaxCallStack = l.MaxCallStack
	}
	if l.MaxHostCalls > 0 {
		d.MaxHostCalls = l.MaxHostCalls
	}
	if l.MaxInFlight > 0 {
		d.MaxInFlight = l.MaxInFlight
	}
	if l.MaxConsole > 0 {
		d.MaxConsole = l.MaxConsole
	}
	if l.MailboxSize > 0 {
		d.MailboxSize = l.MailboxSize
	}
	if l.MaxReplyLen > 0 {
		d.MaxReplyLen = l.MaxReplyLen
	}
	if l.MaxAlloc > 0 {
		d.MaxAlloc = l.MaxAlloc
	}
	if l.MaxNesting > 0 {
		d.MaxNesting = l.MaxNesting
	}
	if l.MaxArgBytes > 0 {
		d.MaxArgBytes = l.MaxArgBytes
	}
	return d
}

// maxString is the longest string (in UTF-16 units) one builtin call may
// build; maxElems the longest array or argument list it may walk or build.
func (l Limits) maxString() int64 { return l.MaxAlloc / 4 }
func (l Limits) maxElems() int64  { return l.MaxAlloc / 32 }

// Spec describes the isolate an invocation runs in: which code, with which
// granted scopes and limits. The parent keeps it; the isolate never decides
// its own scopes.
type Spec struct {
	Key     Key
	Version string
	Program *Program
	Granted ScopeSet
	Limits  Limits
}

// Event is one invocation's input, as plain JSON prepared by the trusted
// side. For legacy (part B) code, Modules holds the data of each module the
// trigger provides (require() builds the JS object from it); Denied names
// modules withheld for a missing scope, with that scope.
//
// For handler-style (part A) code, Handler names the registration to call
// (Registration.ID), Data is the context object's data, and Reply says
// which reply helpers the context gets ("message", "interaction" or "").
// Kind EventDescribe runs only the top level and reports what it
// registered.
type Event struct {
	Kind    string                     // "command", "keyword", "messageCreate", ...
	Modules map[string]json.RawMessage // legacy module data by require() name
	Denied  map[string]string          // module name → the scope it needs

	Handler string
	Data    json.RawMessage
	Reply   string
}

// EventDescribe is the Event.Kind that loads a handler-style extension and
// reports its registrations (Result.Registrations) without calling any.
const EventDescribe = "describe"

// JS error codes seen by extension code (SKYEXT.md A7).
const (
	CodeMissingScopes   = "MISSING_SCOPES"
	CodeUnknownModule   = "UNKNOWN_MODULE"
	CodeRateLimit       = "RATE_LIMIT"
	CodeBudgetExceeded  = "BUDGET_EXCEEDED"
	CodeNotFound        = "NOT_FOUND"
	CodeForbidden       = "FORBIDDEN"
	CodeInvalidArgument = "INVALID_ARGUMENT"
	CodeTimeout         = "TIMEOUT"
	CodeInternal        = "INTERNAL"
	CodeStorageSizeMax  = "STORAGE_SIZE_MAX"
	CodeInsufficient    = "INSUFFICIENT_FUNDS"
)

// CodeError is an error with a JS-visible code. Actions return it to make a
// host call reject with that code; anything else rejects as INTERNAL with a
// generic message (the detail stays in the parent's log).
type CodeError struct {
	Code    string
	Message string
}

func (e *CodeError) Error() string { return e.Code + ": " + e.Message }

// Errorf builds a CodeError.
func Errorf(code, format string, args ...any) *CodeError {
	return &CodeError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Failure kinds: why an invocation ended badly.
const (
	FailError   = "error"   // the code threw or its promise rejected
	FailTimeout = "timeout" // the wall-clock limit was hit (also: stuck in native code past it)
	FailStack   = "stack"   // the call-stack limit or a native nesting limit was hit
	FailMemory  = "memory"  // the allocation limit was hit, or the worker ran out of memory running it
	FailBudget  = "budget"  // too many host calls or too many in flight
	FailCompile = "compile" // the code does not compile
	// FailCrash: the sandbox worker died while this invocation was the one
	// executing, for a reason the other kinds do not name.
	FailCrash    = "crash"
	FailRejected = "rejected" // the isolate's mailbox was full; the event was not run
	// FailWorker: the sandbox worker was replaced because of another
	// invocation while this one was in flight; not this extension's fault.
	FailWorker   = "worker"
	FailInternal = "internal" // skybot's own fault
)

// Failure describes an invocation that did not end well.
type Failure struct {
	Kind    string
	Message string
	Stack   string // JS stack, with line numbers of the extension's source
	// EndedWorker: this run's worker was killed or died while it ran, and
	// was replaced (every other run on it was disturbed too).
	EndedWorker bool
}

func (f *Failure) Error() string { return f.Kind + ": " + f.Message }

// Attributable reports whether the failure was caused by the extension's
// own code (what a suspension policy should count): it is false for a full
// mailbox, a worker replaced because of someone else, and skybot's faults.
func (f *Failure) Attributable() bool {
	switch f.Kind {
	case FailRejected, FailWorker, FailInternal:
		return false
	}
	return true
}

// CallRecord is one host call an invocation made, as the parent saw it.
type CallRecord struct {
	API     string
	Scope   string
	Outcome string // "ok" or the JS error code
}

// ConsoleLine is one console.* call of extension code.
type ConsoleLine struct {
	Level string // "info", "warn", "error"
	Text  string
}

// Result is what an invocation produced.
type Result struct {
	Failure        *Failure // nil on success
	Calls          []CallRecord
	Console        []ConsoleLine
	ConsoleDropped int // console lines over Limits.MaxConsole, counted, not kept
	Duration       time.Duration
	// Registrations is what a describe run's top level registered. It
	// comes from the isolate: the trusted side validates it before use.
	Registrations []Registration
}

// OK reports whether the invocation succeeded.
func (r Result) OK() bool { return r.Failure == nil }
