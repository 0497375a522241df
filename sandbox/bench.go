package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// BenchOptions configure Bench. Zero values take the defaults.
type BenchOptions struct {
	Workers      int    // worker processes; default runtime.NumCPU()
	WorkerBinary string // default os.Executable()
	Events       int    // events per dispatch measurement; default 200,000
	Concurrency  int    // Deliver calls in flight; default 512
	Guilds       int    // guilds in the many-guilds measurement; default 20,000
	Isolates     int    // isolates in the creation and memory measurements; default 2,000
	MaxIsolates  int    // live isolates per worker (Options.MaxIsolates); default its default
}

func (o BenchOptions) withDefaults() BenchOptions {
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.Events <= 0 {
		o.Events = 200_000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 512
	}
	if o.Guilds <= 0 {
		o.Guilds = 20_000
	}
	if o.Isolates <= 0 {
		o.Isolates = 2_000
	}
	return o
}

// benchCode is the extension every measurement runs: a legacy command
// that reads its modules and, when asked, replies (one host call).
const benchCode = `const message = require('message');
const command = require('command');
const name = message.author.username;
if (command.suffix === 'reply') {
  await message.reply('pong, ' + name + '!');
}`

// benchHandlerCode is the same work written in skybot's own handler
// style (SKYEXT.md part A): the top level registers a prefix command
// once per isolate, and each event calls only the handler, with its
// context, instead of running the script with its modules built afresh.
const benchHandlerCode = `const sky = require('sky');
sky.prefix('ping', async (ctx) => {
  if (ctx.args[0] === 'reply') await ctx.reply('pong, ' + ctx.author.username + '!');
});`

// benchHandlerEvent is benchEvent for benchHandlerCode.
func benchHandlerEvent() Event {
	return Event{Kind: "prefix", Handler: "prefix:ping#0", Reply: "message",
		Data: json.RawMessage(`{"args":["reply"],"author":{"id":"1100000000000000003","username":"ann","bot":false},"channelId":"1100000000000000002","messageId":"1100000000000000001"}`)}
}

// benchEvent is a command event; reply asks the extension to make one
// host call.
func benchEvent(reply bool) Event {
	suffix := ""
	if reply {
		suffix = "reply"
	}
	return Event{
		Kind: "command",
		Modules: map[string]json.RawMessage{
			"message": json.RawMessage(`{"id":"1100000000000000001","content":"!ping ` + suffix + `","channel_id":"1100000000000000002","author":{"id":"1100000000000000003","username":"ann","bot":false}}`),
			"command": json.RawMessage(`{"prefix":"!","key":"ping","suffix":"` + suffix + `","arguments":["` + suffix + `"]}`),
		},
	}
}

// benchActions answers every host call at once, as a fast Discord would.
type benchActions struct{}

func (benchActions) Perform(context.Context, Call) (json.RawMessage, error) {
	return json.RawMessage(`{"success":true}`), nil
}

// Bench measures the sandbox and prints a table: isolate creation, live
// memory per idle isolate, cold start, per-event dispatch through the
// worker path (events/s, p50, p99) with and without a host call, and
// throughput across many guilds. It starts its own worker pool from
// opts.WorkerBinary (the running binary by default).
func Bench(w io.Writer, opts BenchOptions) error {
	opts = opts.withDefaults()
	prog, err := Compile("bench.skyext", benchCode, true)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "measurement\tresult\tdetail\n")

	create, perIsolate := benchIsolates(prog, opts.Isolates)
	fmt.Fprintf(tw, "isolate creation (runtime + hardening + program)\t%s/isolate\tin process, %d isolates\n", fmtDur(create), opts.Isolates)
	fmt.Fprintf(tw, "live memory per idle isolate\t%.1f KiB\tafter one event each, heap after GC / %d\n", float64(perIsolate)/1024, opts.Isolates)

	s, err := NewWorkerSupervisor(benchActions{}, nil, Options{Workers: opts.Workers, WorkerBinary: opts.WorkerBinary, MaxIsolates: opts.MaxIsolates})
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()

	cold, coldCompile, err := benchColdStart(ctx, s, prog)
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "cold start (installed version → first event handled)\tp50 %s\tworker path, program cached in the worker; %s when the worker also compiles it\n", fmtDur(cold), fmtDur(coldCompile))

	for _, reply := range []bool{false, true} {
		keys := make([]Key, 64)
		for i := range keys {
			keys[i] = Key{Guild: "bench-" + strconv.Itoa(i), Extension: "bench"}
		}
		r, err := benchDispatch(ctx, s, prog, keys, benchEvent(reply), opts.Events, opts.Concurrency)
		if err != nil {
			return err
		}
		what := "per-event dispatch, no host call"
		if reply {
			what = "per-event dispatch, one host call (reply)"
		}
		fmt.Fprintf(tw, "%s\t%.0f events/s\tp50 %s, p99 %s; CPU/event parent %s + workers %s; %d workers, %d guilds, %d in flight, all limits on\n",
			what, r.perSec, fmtDur(r.p50), fmtDur(r.p99), fmtDur(r.parentCPU), fmtDur(r.workerCPU), opts.Workers, len(keys), opts.Concurrency)
	}

	{
		handlers, err := Compile("bench-handlers.skyext", benchHandlerCode, false)
		if err != nil {
			return err
		}
		keys := make([]Key, 64)
		for i := range keys {
			keys[i] = Key{Guild: "bench-" + strconv.Itoa(i), Extension: "bench-handlers"}
		}
		r, err := benchDispatch(ctx, s, handlers, keys, benchHandlerEvent(), opts.Events, opts.Concurrency)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "per-event dispatch, one host call, handler style	%.0f events/s	p50 %s, p99 %s; CPU/event parent %s + workers %s; the same reply from a sky.prefix handler (SKYEXT.md part A)\n",
			r.perSec, fmtDur(r.p50), fmtDur(r.p99), fmtDur(r.parentCPU), fmtDur(r.workerCPU))
	}

	{
		keys := []Key{{Guild: "latency", Extension: "bench"}}
		r, err := benchDispatch(ctx, s, prog, keys, benchEvent(true), 5000, 1)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "latency, one event at a time (one host call)\tp50 %s\tp99 %s; CPU/event parent %s + workers %s\n",
			fmtDur(r.p50), fmtDur(r.p99), fmtDur(r.parentCPU), fmtDur(r.workerCPU))
	}

	keys := make([]Key, opts.Guilds)
	for i := range keys {
		keys[i] = Key{Guild: "guild-" + strconv.Itoa(i), Extension: "bench"}
	}
	r, err := benchDispatch(ctx, s, prog, keys, benchEvent(true), max(opts.Events/2, 2*len(keys)), opts.Concurrency)
	if err != nil {
		return err
	}
	st := s.Stats()
	maxIso := opts.MaxIsolates
	if maxIso <= 0 {
		maxIso = defaultMaxIsolates
	}
	fmt.Fprintf(tw, "many guilds (one host call each)\t%.0f events/s\tp50 %s, p99 %s; CPU/event parent %s + workers %s; %d guilds round-robin, LRU cap %d live isolates per worker\n",
		r.perSec, fmtDur(r.p50), fmtDur(r.p99), fmtDur(r.parentCPU), fmtDur(r.workerCPU), len(keys), maxIso)
	fmt.Fprintf(tw, "failures\t%d\tof %d invocations\n", st.Failures, st.Invocations)
	return tw.Flush()
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(d.Nanoseconds())/1e3)
	default:
		return fmt.Sprintf("%.2fms", float64(d.Nanoseconds())/1e6)
	}
}

// benchIsolates builds n isolates in process, runs one event in each, and
// returns the creation time per isolate and the live heap per idle one.
func benchIsolates(prog *Program, n int) (time.Duration, uint64) {
	sink := &benchPort{}
	ex := newExecutor(sink, executorConfig{maxIsolates: n + 1})
	defer ex.stop()
	ev := benchEvent(false)
	limits := DefaultLimits

	// Creation alone: build the runtime and load the program (the
	// collector's share of the garbage included).
	start := time.Now()
	for i := range n {
		iso := &isolate{key: Key{Guild: strconv.Itoa(i)}, ex: ex}
		if err := iso.build(prog, limits); err != nil {
			panic(err)
		}
		if err := iso.load(); err != nil {
			panic(err)
		}
	}
	create := time.Since(start) / time.Duration(n)

	// Idle memory: through the executor, one event per isolate.
	before := heapAfterGC()
	sink.wait.Add(n)
	for i := range n {
		ex.post(task{kind: taskDeliver, inv: &invocation{id: uint64(i + 1), key: Key{Guild: strconv.Itoa(i), Extension: "bench"}, program: prog, event: ev, limits: limits}})
	}
	sink.wait.Wait()
	after := heapAfterGC()
	runtime.KeepAlive(ex)
	return create, (after - before) / uint64(n)
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// benchPort is an executor's trusted side that only counts results.
type benchPort struct{ wait sync.WaitGroup }

func (p *benchPort) call(uint64, uint32, string, []byte) {}
func (p *benchPort) done(uint64, Result)                 { p.wait.Done() }

// benchColdStart delivers to fresh isolates one at a time.
func benchColdStart(ctx context.Context, s *Supervisor, prog *Program) (cached, compiled time.Duration, err error) {
	ev := benchEvent(false)
	var lat []time.Duration
	for i := range 301 {
		p := prog
		if i == 0 {
			// A program no worker has seen: sent, compiled, then run.
			if p, err = Compile("cold.skyext", benchCode+"\n// cold", true); err != nil {
				return 0, 0, err
			}
		}
		start := time.Now()
		res, err := s.Deliver(ctx, Delivery{Spec: Spec{Key: Key{Guild: "cold-" + strconv.Itoa(i), Extension: "bench"}, Program: p}, Event: ev})
		if err != nil {
			return 0, 0, err
		}
		if res.Failure != nil {
			return 0, 0, res.Failure
		}
		if i == 0 {
			compiled = time.Since(start)
			continue
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	return lat[len(lat)/2], compiled, nil
}

type dispatchResult struct {
	perSec   float64
	p50, p99 time.Duration
	// CPU time per event, in the parent and in the workers: what the
	// throughput would be on idle cores, whatever else the machine runs.
	parentCPU, workerCPU time.Duration
}

// cpuTotals reads the parent's and the workers' CPU time.
func cpuTotals(s *Supervisor) (parent, workers time.Duration) {
	parent = selfCPU()
	if pl, ok := s.be.(*pool); ok {
		for _, sl := range pl.slots {
			if pr := sl.current(); pr != nil {
				if d, err := processCPU(pr.cmd.Process.Pid); err == nil {
					workers += d
				}
			}
		}
	}
	return parent, workers
}

// benchDispatch warms every key, then delivers events round-robin over the
// keys from conc goroutines and measures throughput and latency.
func benchDispatch(ctx context.Context, s *Supervisor, prog *Program, keys []Key, ev Event, events, conc int) (dispatchResult, error) {
	deliver := func(k Key) (time.Duration, error) {
		start := time.Now()
		res, err := s.Deliver(ctx, Delivery{Spec: Spec{Key: k, Program: prog, Granted: NewScopeSet("messages_write")}, Event: ev})
		if err == nil && res.Failure != nil {
			err = res.Failure
		}
		return time.Since(start), err
	}
	for _, k := range keys[:min(len(keys), 256)] {
		if _, err := deliver(k); err != nil {
			return dispatchResult{}, err
		}
	}
	var next atomic.Int64
	lat := make([]time.Duration, events)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	p0, w0 := cpuTotals(s)
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= events {
					return
				}
				d, err := deliver(keys[i%len(keys)])
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
				lat[i] = d
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	p1, w1 := cpuTotals(s)
	if err, _ := firstErr.Load().(error); err != nil {
		return dispatchResult{}, err
	}
	slices.Sort(lat)
	return dispatchResult{
		perSec:    float64(events) / elapsed.Seconds(),
		p50:       lat[len(lat)/2],
		p99:       lat[len(lat)*99/100],
		parentCPU: (p1 - p0) / time.Duration(events),
		workerCPU: (w1 - w0) / time.Duration(events),
	}, nil
}
