package extensions

import (
	"context"
	"errors"
	"sync"

	"github.com/skyext/skybot/store"
)

// Origin is what the trusted side needs to act for one invocation. It is
// handed to the executor with every host call and never enters an isolate.
type Origin struct {
	GuildID   string
	ChannelID string // the event's channel, "" for schedules and lifecycle hooks
	MessageID string // the triggering message, if any
	UserID    string // the member who caused the event, if any

	ExtensionID store.ExtensionID
	VersionID   store.VersionID
	Extension   string
	Version     string

	// Trigger is what started the run: "command", "keyword", "slash",
	// "component", "autocomplete", an event name, "timer", "cron",
	// "later", or a lifecycle hook ("install", "update", ...).
	Trigger string
	// Legacy: the code is a SkynetBot-style function body (part B
	// semantics: extension storage capped at 25000 bytes, points, ...).
	Legacy bool
	// Skynet: the code came from a SkynetBot 1.0 package, so part B's
	// gates apply as written there (SKYEXT.md A4).
	Skynet bool
	// ByMember: a member's command or click started the run, so actions on
	// others also need that member to hold the matching Discord permission
	// (MemberPermissions).
	ByMember bool
	// MemberPermissions is the invoking member's permission bitfield in the
	// event's channel, computed by the bot from gateway state.
	MemberPermissions int64

	// Interaction is set for slash commands, components, modals and
	// autocomplete: what answering it takes.
	Interaction *Interaction

	// Channels the admin listed for this extension (without
	// messages_global, it may send and read only there and in ChannelID).
	Channels []string
	// Hosts and Network come from the reviewed manifest: the HTTP
	// allowlist and capability (part B 6.4).
	Hosts   []string
	Network string

	// Quota bounds the install's storage (from the guild's tier).
	Quota store.Quota
	// NegativeBalances: the guild's policy lets economy changes take a
	// balance below zero.
	NegativeBalances bool

	// Run is this invocation's mutable trusted state; nil outside a run.
	Run *RunState
}

// Interaction is what answering one interaction takes.
type Interaction struct {
	ID    string
	Token string
	AppID string
	// Kind is "command", "component", "modal" or "autocomplete".
	Kind string
	// MessageID is the message whose component was used, if any.
	MessageID string
}

// RunState is one invocation's mutable state on the trusted side: the
// interaction's answer state, and whatever the executor keeps per run
// (the storage overlay). The dispatcher creates it, and finishes it when
// the run has ended, successfully or not.
type RunState struct {
	mu        sync.Mutex
	answered  bool // the interaction got its initial response
	deferred  bool
	values    map[string]any
	finishers []func(ctx context.Context, ok bool) error
	finished  bool
}

// NewRunState returns an empty run state.
func NewRunState() *RunState { return &RunState{} }

// ErrRunFinished is returned for work attempted on a run that has ended
// (a host call that arrived after its run's deadline).
var ErrRunFinished = errors.New("the run has already ended")

// Value returns the run's value under key, creating it with create (under
// the run's lock) on first use. It fails once the run has finished.
func (r *RunState) Value(key string, create func() any) (any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return nil, ErrRunFinished
	}
	if v, ok := r.values[key]; ok {
		return v, nil
	}
	if r.values == nil {
		r.values = map[string]any{}
	}
	v := create()
	r.values[key] = v
	return v, nil
}

// OnFinish registers f to run once when the run ends; ok reports whether
// it succeeded. Finishers run in registration order.
func (r *RunState) OnFinish(f func(ctx context.Context, ok bool) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finishers = append(r.finishers, f)
}

// Finish ends the run: later Value calls fail, and every finisher runs
// once. It returns their errors joined.
func (r *RunState) Finish(ctx context.Context, ok bool) error {
	r.mu.Lock()
	if r.finished {
		r.mu.Unlock()
		return nil
	}
	r.finished = true
	fs := r.finishers
	r.mu.Unlock()
	var errs []error
	for _, f := range fs {
		errs = append(errs, f(ctx, ok))
	}
	return errors.Join(errs...)
}

// Answer records how the interaction was answered and reports the state
// before: whether it had been answered (replied or deferred) and whether
// that answer was a deferral. The interaction executor calls it to switch
// between reply and follow-up (part B 3.6).
func (r *RunState) Answer(deferred bool) (wasAnswered, wasDeferred bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	wasAnswered, wasDeferred = r.answered, r.deferred
	if !r.answered {
		r.answered, r.deferred = true, deferred
	}
	return wasAnswered, wasDeferred
}

// Answered reports whether the interaction has been answered, and whether
// by a deferral.
func (r *RunState) Answered() (answered, deferred bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.answered, r.deferred
}
