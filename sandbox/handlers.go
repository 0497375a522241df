package sandbox

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
)

// Registration kinds: what a handler-style extension's top level can
// register with the sky module (SKYEXT.md A3).
const (
	RegEvent        = "event"        // sky.on(eventName, [options], handler)
	RegCommand      = "command"      // sky.command(definition, handler): a slash command
	RegAutocomplete = "autocomplete" // definition.autocomplete of a slash command
	RegPrefix       = "prefix"       // sky.prefix(key, handler)
	RegKeyword      = "keyword"      // sky.keyword(words, [options], handler)
	RegEvery        = "every"        // sky.every(duration, handler)
	RegCron         = "cron"         // sky.cron(spec, handler)
	RegComponent    = "component"    // sky.component(customIdPrefix, handler)
	RegJob          = "job"          // sky.onJob([keyPrefix], handler): jobs from sky.later
	RegLifecycle    = "lifecycle"    // sky.onInstall, onUpdate, onUninstall, onEnable, onDisable
)

// LifecycleHooks are the Key values of RegLifecycle registrations.
var LifecycleHooks = []string{"install", "update", "uninstall", "enable", "disable"}

// Registration is one handler a handler-style extension registered at top
// level. ID is stable as long as the top level registers the same things in
// the same order: an event names the handler to call by it.
type Registration struct {
	ID            string          `json:"id"`
	Kind          string          `json:"kind"`
	Key           string          `json:"key,omitempty"` // event name, command name, prefix key, custom id prefix, job key prefix, hook
	Keywords      []string        `json:"keywords,omitempty"`
	CaseSensitive bool            `json:"caseSensitive,omitempty"`
	EveryMS       int64           `json:"everyMs,omitempty"`
	Cron          string          `json:"cron,omitempty"`
	Command       json.RawMessage `json:"command,omitempty"` // the slash definition as given, functions removed
	Bots          bool            `json:"bots,omitempty"`    // events: also those caused by other bots
}

// maxRegistrations bounds what one extension's top level may register.
const maxRegistrations = 100

// skyModule builds the sky module of a handler-style runtime: registration
// functions, valid only while the top level runs, and the job host calls.
func (iso *isolate) skyModule() goja.Value {
	rt := iso.rt
	sky := rt.NewObject()
	reg := func(fname string, fn func(call goja.FunctionCall) (Registration, goja.Value)) {
		_ = sky.Set(fname, func(call goja.FunctionCall) goja.Value {
			if !iso.loading {
				iso.throw(CodeInvalidArgument, "sky."+fname+" registers a handler: call it at the top level of the extension, not inside a handler")
			}
			r, h := fn(call)
			iso.register(fname, r, h)
			return goja.Undefined()
		})
	}
	reg("on", func(c goja.FunctionCall) (Registration, goja.Value) {
		opts, h := optionalOptions(c, 1)
		return Registration{Kind: RegEvent, Key: iso.stringArg("sky.on", c.Argument(0)), Bots: iso.boolOption(opts, "bots")}, h
	})
	reg("command", func(c goja.FunctionCall) (Registration, goja.Value) {
		def, ok := c.Argument(0).(*goja.Object)
		if !ok {
			iso.throw(CodeInvalidArgument, "sky.command needs a definition object {name, description, options}")
		}
		name := iso.stringArg("sky.command definition name", def.Get("name"))
		if ac := def.Get("autocomplete"); ac != nil {
			if _, ok := goja.AssertFunction(ac); ok {
				iso.register("command", Registration{Kind: RegAutocomplete, Key: name}, ac)
			}
		}
		return Registration{Kind: RegCommand, Key: name, Command: iso.definitionJSON(def)}, c.Argument(1)
	})
	reg("prefix", func(c goja.FunctionCall) (Registration, goja.Value) {
		return Registration{Kind: RegPrefix, Key: strings.ToLower(iso.stringArg("sky.prefix", c.Argument(0)))}, c.Argument(1)
	})
	reg("keyword", func(c goja.FunctionCall) (Registration, goja.Value) {
		opts, h := optionalOptions(c, 1)
		var words []string
		switch w := c.Argument(0).Export().(type) {
		case string:
			words = []string{w}
		case []any:
			for _, x := range w {
				s, ok := x.(string)
				if !ok || s == "" {
					iso.throw(CodeInvalidArgument, "sky.keyword takes a word or a list of non-empty words")
				}
				words = append(words, s)
			}
		}
		if len(words) == 0 || len(words) > 50 {
			iso.throw(CodeInvalidArgument, "sky.keyword takes 1 to 50 words")
		}
		return Registration{Kind: RegKeyword, Keywords: words, CaseSensitive: iso.boolOption(opts, "caseSensitive")}, h
	})
	reg("every", func(c goja.FunctionCall) (Registration, goja.Value) {
		return Registration{Kind: RegEvery, EveryMS: iso.durationArg("sky.every", c.Argument(0))}, c.Argument(1)
	})
	reg("cron", func(c goja.FunctionCall) (Registration, goja.Value) {
		return Registration{Kind: RegCron, Cron: iso.stringArg("sky.cron", c.Argument(0))}, c.Argument(1)
	})
	reg("component", func(c goja.FunctionCall) (Registration, goja.Value) {
		return Registration{Kind: RegComponent, Key: iso.stringArg("sky.component", c.Argument(0))}, c.Argument(1)
	})
	reg("onJob", func(c goja.FunctionCall) (Registration, goja.Value) {
		if _, ok := goja.AssertFunction(c.Argument(0)); ok {
			return Registration{Kind: RegJob}, c.Argument(0)
		}
		return Registration{Kind: RegJob, Key: iso.stringArg("sky.onJob", c.Argument(0))}, c.Argument(1)
	})
	for _, hook := range LifecycleHooks {
		reg("on"+strings.ToUpper(hook[:1])+hook[1:], func(c goja.FunctionCall) (Registration, goja.Value) {
			return Registration{Kind: RegLifecycle, Key: hook}, c.Argument(0)
		})
	}
	for _, api := range moduleAPIs("sky") {
		_ = sky.Set(strings.TrimPrefix(api.Name, "sky."), iso.hostFunc(api))
	}
	return sky
}

// optionalOptions reads (options, handler) or (handler) from position i.
func optionalOptions(c goja.FunctionCall, i int) (*goja.Object, goja.Value) {
	if _, ok := goja.AssertFunction(c.Argument(i)); ok {
		return nil, c.Argument(i)
	}
	opts, _ := c.Argument(i).(*goja.Object)
	return opts, c.Argument(i + 1)
}

// register records a handler under a stable id: kind, key and how many
// registrations of that kind and key came before.
func (iso *isolate) register(fname string, r Registration, handler goja.Value) {
	if _, ok := goja.AssertFunction(handler); !ok {
		iso.throw(CodeInvalidArgument, "sky."+fname+" needs a handler function")
	}
	if len(iso.regs) >= maxRegistrations {
		iso.throw(CodeBudgetExceeded, fmt.Sprintf("an extension may register at most %d handlers", maxRegistrations))
	}
	base := r.Kind + ":" + r.Key
	n := 0
	for _, prev := range iso.regs {
		if prev.Kind == r.Kind && prev.Key == r.Key {
			n++
		}
	}
	r.ID = base + "#" + strconv.Itoa(n)
	iso.regs = append(iso.regs, r)
	iso.handlers[r.ID] = handler
}

func (iso *isolate) stringArg(what string, v goja.Value) string {
	if v == nil || !goja.IsString(v) || v.String() == "" {
		iso.throw(CodeInvalidArgument, what+" needs a non-empty string")
	}
	s := v.String()
	if len(s) > 200 {
		iso.throw(CodeInvalidArgument, what+" takes at most 200 characters")
	}
	return s
}

func (iso *isolate) boolOption(opts *goja.Object, name string) bool {
	if opts == nil {
		return false
	}
	v := opts.Get(name)
	return v != nil && v.ToBoolean()
}

// durationArg reads a duration: milliseconds, or a string such as "90s",
// "5m", "1h30m" (Go's duration syntax).
func (iso *isolate) durationArg(what string, v goja.Value) int64 {
	if v != nil && goja.IsNumber(v) {
		if ms := v.ToInteger(); ms > 0 {
			return ms
		}
	}
	if v != nil && goja.IsString(v) {
		if d, err := time.ParseDuration(v.String()); err == nil && d > 0 {
			return d.Milliseconds()
		}
	}
	iso.throw(CodeInvalidArgument, what+` needs a duration: milliseconds, or a string such as "5m" or "1h"`)
	return 0
}

// definitionJSON serialises a slash command definition without its
// functions (autocomplete), with the hardened JSON.stringify.
func (iso *isolate) definitionJSON(def *goja.Object) json.RawMessage {
	var out goja.Value
	if ex := iso.rt.Try(func() { out = iso.stringify(def, nil, nil) }); ex != nil || out == nil || goja.IsUndefined(out) {
		iso.throw(CodeInvalidArgument, "the sky.command definition must be plain data (functions aside)")
	}
	return json.RawMessage(out.String())
}

// invokeProgram wraps a handler call so that a plain function and an async
// one both end in a promise; compiled once, shared by every runtime.
var invokeProgram = sync.OnceValue(func() *goja.Program {
	return goja.MustCompile("skybot:invoke", `(async function (h, ctx) { return await h(ctx); })`, true)
})

// handlerModule returns part A's module name for a handler-style runtime:
// the sky module, a plain-JavaScript module, or an object of the module's
// host functions. Modules are cached per runtime: their functions act for
// whichever invocation is running when they are called.
func (iso *isolate) handlerModule(name string) (goja.Value, bool) {
	if v, ok := iso.modules[name]; ok {
		return v, true
	}
	var v goja.Value
	if name == "sky" {
		v = iso.skyModule()
	} else if js, ok := iso.jsModule(name); ok {
		v = js
	} else if obj := iso.apiModule(name); obj != nil {
		v = obj
	} else {
		return nil, false
	}
	iso.modules[name] = v
	return v, true
}

// apiModule builds an object of module's part A host functions, or nil
// when the module has none.
func (iso *isolate) apiModule(name string) *goja.Object {
	var obj *goja.Object
	for _, api := range moduleAPIs(name) {
		if api.Legacy {
			continue
		}
		if obj == nil {
			obj = iso.rt.NewObject()
		}
		_ = obj.Set(strings.TrimPrefix(api.Name, name+"."), iso.hostFunc(api))
	}
	return obj
}

// replyHelpers are the context methods each reply style gives a handler,
// by the API they call.
var replyHelpers = map[string]map[string]string{
	"message": {"reply": "message.reply"},
	"interaction": {
		"reply": "interaction.reply", "defer": "interaction.deferReply", "editReply": "interaction.editReply",
		"followUp": "interaction.followUp", "update": "interaction.update",
		"showModal": "interaction.showModal", "respond": "interaction.respond",
	},
}

// handlerContext builds the object a handler receives: the event's data
// plus the reply helpers of its kind.
func (iso *isolate) handlerContext(ev Event) (goja.Value, error) {
	var ctx *goja.Object
	if len(ev.Data) > 0 {
		v := iso.parseTrusted(ev.Data)
		obj, ok := v.(*goja.Object)
		if !ok {
			return nil, fmt.Errorf("the event data is not an object")
		}
		ctx = obj
	} else {
		ctx = iso.rt.NewObject()
	}
	for method, apiName := range replyHelpers[ev.Reply] {
		api, ok := LookupAPI(apiName)
		if !ok {
			return nil, fmt.Errorf("reply helper %s names no API", apiName)
		}
		_ = ctx.Set(method, iso.hostFunc(api))
	}
	return ctx, nil
}

// callHandler starts the registered handler an event names; the returned
// promise settles when the handler (sync or async) is done.
func (iso *isolate) callHandler(ev Event) (*goja.Promise, error) {
	h, ok := iso.handlers[ev.Handler]
	if !ok {
		return nil, &Failure{Kind: FailError, Message: fmt.Sprintf("the extension has no handler %q: its top level must register the same handlers on every load", ev.Handler)}
	}
	ctx, err := iso.handlerContext(ev)
	if err != nil {
		return nil, err
	}
	if iso.invoke == nil {
		v, err := iso.rt.RunProgram(invokeProgram())
		if err != nil {
			return nil, err
		}
		iso.invoke, _ = goja.AssertFunction(v)
	}
	v, err := iso.invoke(goja.Undefined(), h, ctx)
	if err != nil {
		return nil, err
	}
	p, ok := v.Export().(*goja.Promise)
	if !ok {
		return nil, fmt.Errorf("the handler wrapper did not return a promise")
	}
	return p, nil
}
