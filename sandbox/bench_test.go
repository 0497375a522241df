package sandbox

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
)

// The figures in BENCHMARKS.md come from Bench (the table) and these
// benchmarks:
//
//	SKYBOT_BENCH=1 go test -run TestBenchTable -v ./sandbox/
//	go test -run '^$' -bench . -benchtime 2s ./sandbox/

// TestBenchTable prints Bench's table when SKYBOT_BENCH is set.
func TestBenchTable(t *testing.T) {
	if os.Getenv("SKYBOT_BENCH") == "" {
		t.Skip("set SKYBOT_BENCH=1 to print the benchmark table")
	}
	if err := Bench(os.Stdout, BenchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func benchProgram(b *testing.B) *Program {
	b.Helper()
	prog, err := Compile("bench.skyext", benchCode, true)
	if err != nil {
		b.Fatal(err)
	}
	return prog
}

// BenchmarkIsolateCreate builds a runtime (hardening, globals) and loads a
// program into it.
func BenchmarkIsolateCreate(b *testing.B) {
	prog := benchProgram(b)
	ex := &executor{}
	b.ReportAllocs()
	for b.Loop() {
		iso := &isolate{ex: ex}
		if err := iso.build(prog, DefaultLimits); err != nil {
			b.Fatal(err)
		}
		if err := iso.load(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIdleIsolateMemory reports the live heap of an isolate that has
// handled one event and sits idle.
func BenchmarkIdleIsolateMemory(b *testing.B) {
	prog := benchProgram(b)
	for b.Loop() {
		_, perIsolate := benchIsolates(prog, 1000)
		b.ReportMetric(float64(perIsolate), "bytes/isolate")
	}
}

// BenchmarkExecutorEvent is the JS side of one event on a warm isolate:
// no pipes, no parent bookkeeping.
func BenchmarkExecutorEvent(b *testing.B) {
	prog := benchProgram(b)
	sink := &benchPort{}
	ex := newExecutor(sink, executorConfig{meter: true})
	defer ex.stop()
	ev := benchEvent(false)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sink.wait.Add(1)
		ex.post(task{kind: taskDeliver, inv: &invocation{id: uint64(i + 1), key: Key{Guild: "g", Extension: "bench"}, program: prog, event: ev, limits: DefaultLimits}})
		sink.wait.Wait()
	}
}

func benchWorkers(b *testing.B) *Supervisor {
	b.Helper()
	s, err := NewWorkerSupervisor(benchActions{}, nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s
}

// BenchmarkDispatchWorker is end-to-end dispatch through the worker path
// (frames, parent checks, all limits) from many concurrent callers over
// 64 warm guilds.
func BenchmarkDispatchWorker(b *testing.B) {
	for _, reply := range []bool{false, true} {
		name := "no-host-call"
		if reply {
			name = "one-host-call"
		}
		b.Run(name, func(b *testing.B) {
			s := benchWorkers(b)
			prog := benchProgram(b)
			ev := benchEvent(reply)
			keys := make([]Key, 64)
			for i := range keys {
				keys[i] = Key{Guild: "g-" + strconv.Itoa(i), Extension: "bench"}
			}
			var n atomic.Int64
			b.SetParallelism(256)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := keys[n.Add(1)%int64(len(keys))]
					res, err := s.Deliver(context.Background(), Delivery{Spec: Spec{Key: k, Program: prog, Granted: NewScopeSet("messages_write")}, Event: ev})
					if err != nil || res.Failure != nil {
						b.Fatal(err, res.Failure)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkColdStartWorker is an installed version's first event in a
// guild: a new isolate in a worker that has the program cached.
func BenchmarkColdStartWorker(b *testing.B) {
	s := benchWorkers(b)
	prog := benchProgram(b)
	ev := benchEvent(false)
	for i := 0; b.Loop(); i++ {
		res, err := s.Deliver(context.Background(), Delivery{Spec: Spec{Key: Key{Guild: "cold-" + strconv.Itoa(i), Extension: "bench"}, Program: prog}, Event: ev})
		if err != nil || res.Failure != nil {
			b.Fatal(err, res.Failure)
		}
	}
}

// BenchmarkTracedRun is what tracing (trace.go) costs a run that executes
// many statements: 10,000 loop iterations of two statements each, plain
// and traced, through a worker (so the traced run writes the status page).
func BenchmarkTracedRun(b *testing.B) {
	s := benchWorkers(b)
	plain, err := Compile("loop.skyext", "let s = 0;\nfor (let i = 0; i < 10000; i++) {\n  const x = i * 2;\n  s += x;\n}", true)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []*Program{plain, plain.traced()} {
		name := "plain"
		if p.trace != nil {
			name = "traced"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				res, err := s.Deliver(context.Background(), Delivery{Spec: Spec{Key: Key{Guild: "loop", Extension: name}, Program: p}, Event: benchEvent(false)})
				if err != nil || res.Failure != nil {
					b.Fatal(err, res.Failure)
				}
			}
		})
	}
}
