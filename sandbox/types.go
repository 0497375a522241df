// Package sandbox runs untrusted extension JavaScript in goja isolates, one
// per (guild, extension), and is the trust boundary: every host call from JS
// arrives at the parent side as a request frame that is checked (is the
// isolate hosted, is the scope granted, is budget left) before the injected
// Actions perform it.
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
	return d
}

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
type Event struct {
	Kind    string                     // "command", "keyword", "messageCreate", ...
	Modules map[string]json.RawMessage // legacy module data by require() name
	Denied  map[string]string          // module name → the scope it needs
}

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
	FailError    = "error"    // the code threw or its promise rejected
	FailTimeout  = "timeout"  // the wall-clock limit was hit
	FailStack    = "stack"    // the call-stack limit was hit
	FailBudget   = "budget"   // too many host calls or too many in flight
	FailCompile  = "compile"  // the code does not compile
	FailRejected = "rejected" // the isolate's mailbox was full; the event was not run
	FailInternal = "internal" // skybot's own fault
)

// Failure describes an invocation that did not end well.
type Failure struct {
	Kind    string
	Message string
	Stack   string // JS stack, with line numbers of the extension's source
}

func (f *Failure) Error() string { return f.Kind + ": " + f.Message }

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
}

// OK reports whether the invocation succeeded.
func (r Result) OK() bool { return r.Failure == nil }
