package bot

import (
	"context"
	"encoding/json"
	"time"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
)

// SetScheduler gives the executor the scheduler that keeps sky.later jobs.
func (e *Executor) SetScheduler(s *extensions.Scheduler) { e.sched = s }

// scheduleActions: durable one-shot jobs (sky.later, sky.cancel).
func (e *Executor) scheduleActions() map[string]action {
	return map[string]action{
		"sky.later":  e.later,
		"sky.cancel": e.cancelJob,
	}
}

func (e *Executor) later(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	if e.sched == nil {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "this skybot runs no scheduler")
	}
	var delay float64
	var key string
	var payload json.RawMessage
	if err := decodeArgs(call, &delay, &key, &payload); err != nil {
		return nil, err
	}
	if err := e.sched.Later(ctx, o, time.Duration(delay)*time.Millisecond, key, payload); err != nil {
		return nil, err
	}
	e.audit(ctx, o, call.API.Name, "job:"+key, "ok")
	return json.RawMessage(`{"success":true}`), nil
}

func (e *Executor) cancelJob(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	if e.sched == nil {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "this skybot runs no scheduler")
	}
	var key string
	if err := decodeArgs(call, &key); err != nil {
		return nil, err
	}
	ok, err := e.sched.Cancel(ctx, o, key)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"success": true, "cancelled": ok})
}
