package ops

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
)

// serve starts Handler(m, health) on 127.0.0.1:0 and returns its base URL;
// the server shuts down (and must do so cleanly) when the test ends.
func serve(t *testing.T, m *Metrics, health func(context.Context) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, ln, Handler(m, health)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ServeListener after shutdown: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("ServeListener did not return after its context ended")
		}
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// scrape fetches /metrics in the text format and returns every sample by
// its series as printed, e.g. `skybot_installs{state="enabled"}`.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	var failing atomic.Pointer[error]
	var sawDeadline atomic.Bool
	base := serve(t, NewMetrics(nil), func(ctx context.Context) error {
		_, ok := ctx.Deadline()
		sawDeadline.Store(ok)
		if err := failing.Load(); err != nil {
			return *err
		}
		return nil
	})

	if code, body := get(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("healthy: GET /healthz = %d %q, want 200 \"ok\\n\"", code, body)
	}
	if !sawDeadline.Load() {
		t.Error("the health check ran without a deadline")
	}
	down := errors.New("store: database is locked")
	failing.Store(&down)
	if code, body := get(t, base+"/healthz"); code != http.StatusServiceUnavailable || body != "store: database is locked\n" {
		t.Errorf("unhealthy: GET /healthz = %d %q, want 503 with the error", code, body)
	}
	failing.Store(nil)
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("recovered: GET /healthz = %d, want 200", code)
	}

	resp, err := http.Post(base+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", resp.StatusCode)
	}
	if code, _ := get(t, base+"/"); code != http.StatusNotFound {
		t.Errorf("GET / = %d, want 404", code)
	}
}

func TestHealthzWithoutCheck(t *testing.T) {
	t.Parallel()
	base := serve(t, NewMetrics(nil), nil)
	if code, body := get(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q", code, body)
	}
}

// A day in a guild: the runs skybot's dispatcher reports, as it reports them.
var runs = []extensions.Run{
	{GuildID: "811111111111111111", Extension: "hello", Version: "1.0.0", Trigger: "command", Result: sandbox.Result{
		Calls:    []sandbox.CallRecord{{API: "message.reply", Scope: "messages_write", Outcome: "ok"}},
		Duration: 3 * time.Millisecond,
	}},
	{GuildID: "811111111111111111", Extension: "hello", Version: "1.0.0", Trigger: "command", Result: sandbox.Result{
		Calls:    []sandbox.CallRecord{{API: "message.reply", Scope: "messages_write", Outcome: "ok"}},
		Duration: 7 * time.Millisecond,
	}},
	// No scope granted: the call is refused, the code catches it, the run is ok.
	{GuildID: "822222222222222222", Extension: "hello", Version: "1.0.0", Trigger: "command", Result: sandbox.Result{
		Calls:    []sandbox.CallRecord{{API: "message.reply", Scope: "messages_write", Outcome: sandbox.CodeMissingScopes}},
		Duration: 2 * time.Millisecond,
	}},
	{GuildID: "811111111111111111", Extension: "spinner", Version: "0.3.1", Trigger: "keyword", Result: sandbox.Result{
		Failure:  &sandbox.Failure{Kind: sandbox.FailTimeout, Message: "the run took longer than 5s"},
		Duration: 5*time.Second + 2*time.Millisecond,
	}},
	// Over budget: the 51st call is refused and the run then fails on it.
	{GuildID: "811111111111111111", Extension: "spammer", Version: "2.0.0", Trigger: "command", Result: sandbox.Result{
		Failure: &sandbox.Failure{Kind: sandbox.FailBudget, Message: "the run made more than 50 host calls"},
		Calls: append(repeat(sandbox.CallRecord{API: "message.reply", Scope: "messages_write", Outcome: "ok"}, 50),
			sandbox.CallRecord{API: "message.reply", Scope: "messages_write", Outcome: sandbox.CodeBudgetExceeded}),
		Duration: 40 * time.Millisecond,
	}},
	// Over budget, but the code caught the refusal and ended well.
	{GuildID: "811111111111111111", Extension: "spammer", Version: "2.0.0", Trigger: "command", Result: sandbox.Result{
		Calls: append(repeat(sandbox.CallRecord{API: "message.reply", Scope: "messages_write", Outcome: "ok"}, 50),
			sandbox.CallRecord{API: "message.reply", Scope: "messages_write", Outcome: sandbox.CodeBudgetExceeded}),
		Duration: 38 * time.Millisecond,
	}},
	// The mailbox was full: the code never ran.
	{GuildID: "811111111111111111", Extension: "spinner", Version: "0.3.1", Trigger: "keyword", Result: sandbox.Result{
		Failure: &sandbox.Failure{Kind: sandbox.FailRejected, Message: "the extension is busy"},
	}},
	{GuildID: "833333333333333333", Extension: "broken", Version: "1.0.0", Trigger: "command", Result: sandbox.Result{
		Failure: &sandbox.Failure{Kind: sandbox.FailCompile, Message: "SyntaxError: Unexpected token"},
	}},
	{GuildID: "833333333333333333", Extension: "hog", Version: "1.0.0", Trigger: "command", Result: sandbox.Result{
		Failure:  &sandbox.Failure{Kind: sandbox.FailMemory, Message: "the run allocated more than 128 MiB"},
		Duration: 900 * time.Millisecond,
	}},
	// What a compromised worker might claim: made-up API and outcome names
	// must not become label values.
	{GuildID: "833333333333333333", Extension: "hog", Version: "1.0.0", Trigger: "command", Result: sandbox.Result{
		Calls: []sandbox.CallRecord{
			{API: "evil.api" + strings.Repeat("x", 100), Scope: "ban", Outcome: "ok"},
			{API: "message.reply", Scope: "messages_write", Outcome: "PWNED"},
		},
		Duration: time.Millisecond,
	}},
}

func repeat(c sandbox.CallRecord, n int) []sandbox.CallRecord {
	out := make([]sandbox.CallRecord, n)
	for i := range out {
		out[i] = c
	}
	return out
}

func TestMetricsAfterRuns(t *testing.T) {
	t.Parallel()
	m := NewMetrics(nil)
	for _, r := range runs {
		m.ObserveRun(r)
	}
	for _, e := range []extensions.LifecycleEvent{
		{Kind: extensions.EventInstalled, Guild: "811111111111111111", Extension: "hello", Version: "1.0.0", Actor: "900000000000000001"},
		{Kind: extensions.EventInstalled, Guild: "822222222222222222", Extension: "hello", Version: "1.0.0", Actor: "900000000000000002"},
		{Kind: extensions.EventUpdated, Guild: "811111111111111111", Extension: "hello", Version: "1.1.0", From: "1.0.0", Actor: "900000000000000001"},
		{Kind: extensions.EventError, Guild: "811111111111111111", Extension: "spinner", Version: "0.3.1", Detail: "timeout: the run took longer than 5s"},
	} {
		m.ObserveLifecycle(e)
	}
	if err := m.WatchInstalls(func(context.Context) (int, int, error) { return 5, 2, nil }); err != nil {
		t.Fatal(err)
	}
	got := scrape(t, serve(t, m, nil))

	want := map[string]float64{
		`skybot_extension_runs_total{extension="hello",outcome="ok"}`:         3,
		`skybot_extension_runs_total{extension="spinner",outcome="timeout"}`:  1,
		`skybot_extension_runs_total{extension="spinner",outcome="rejected"}`: 1,
		`skybot_extension_runs_total{extension="spammer",outcome="budget"}`:   1,
		`skybot_extension_runs_total{extension="spammer",outcome="ok"}`:       1,
		`skybot_extension_runs_total{extension="broken",outcome="compile"}`:   1,
		`skybot_extension_runs_total{extension="hog",outcome="memory"}`:       1,
		`skybot_extension_runs_total{extension="hog",outcome="ok"}`:           1,

		`skybot_extension_run_seconds_count{extension="hello"}`:             3,
		`skybot_extension_run_seconds_sum{extension="hello"}`:               0.012,
		`skybot_extension_run_seconds_bucket{extension="hello",le="0.005"}`: 2,
		`skybot_extension_run_seconds_bucket{extension="hello",le="0.01"}`:  3,
		`skybot_extension_run_seconds_bucket{extension="spinner",le="5"}`:   0,
		`skybot_extension_run_seconds_bucket{extension="spinner",le="10"}`:  1,
		// The rejected run of spinner is not a latency.
		`skybot_extension_run_seconds_count{extension="spinner"}`: 1,
		`skybot_extension_run_seconds_count{extension="hog"}`:     2,

		`skybot_extension_limit_hits_total{extension="spinner",limit="timeout"}`:  1,
		`skybot_extension_limit_hits_total{extension="spinner",limit="rejected"}`: 1,
		// Two runs over budget (one failed, one caught it), each counted once.
		`skybot_extension_limit_hits_total{extension="spammer",limit="budget"}`: 2,
		`skybot_extension_limit_hits_total{extension="hog",limit="memory"}`:     1,

		`skybot_extension_host_calls_total{api="message.reply",extension="hello",outcome="ok"}`:                2,
		`skybot_extension_host_calls_total{api="message.reply",extension="hello",outcome="MISSING_SCOPES"}`:    1,
		`skybot_extension_host_calls_total{api="message.reply",extension="spammer",outcome="ok"}`:              100,
		`skybot_extension_host_calls_total{api="message.reply",extension="spammer",outcome="BUDGET_EXCEEDED"}`: 2,
		`skybot_extension_host_calls_total{api="other",extension="hog",outcome="ok"}`:                          1,
		`skybot_extension_host_calls_total{api="message.reply",extension="hog",outcome="other"}`:               1,

		`skybot_lifecycle_events_total{kind="installed"}`:   2,
		`skybot_lifecycle_events_total{kind="updated"}`:     1,
		`skybot_lifecycle_events_total{kind="error"}`:       1,
		`skybot_lifecycle_events_total{kind="uninstalled"}`: 0, // present before it happens
		`skybot_lifecycle_events_total{kind="suspended"}`:   0,

		`skybot_installs{state="enabled"}`:  5,
		`skybot_installs{state="disabled"}`: 2,
	}
	for series, v := range want {
		g, ok := got[series]
		if !ok {
			t.Errorf("/metrics lacks %s", series)
			continue
		}
		if diff := g - v; diff > 1e-9 || diff < -1e-9 {
			t.Errorf("%s = %v, want %v", series, g, v)
		}
	}
	for series := range got {
		if strings.Contains(series, "guild") || strings.Contains(series, "evil") || strings.Contains(series, "PWNED") {
			t.Errorf("unexpected label value in %s", series)
		}
		if strings.Contains(series, `extension="broken"`) && strings.HasPrefix(series, "skybot_extension_run_seconds") {
			t.Errorf("a run that never compiled has a latency: %s", series)
		}
	}
	for _, series := range []string{`skybot_extension_limit_hits_total{extension="broken",limit="compile"}`, `go_goroutines`} {
		if _, ok := got[series]; ok != (series == "go_goroutines") {
			t.Errorf("%s present = %v", series, ok)
		}
	}
}

// A failing installs count leaves its gauge out, and only it.
func TestMetricsWithFailingInstallCount(t *testing.T) {
	t.Parallel()
	m := NewMetrics(nil)
	m.ObserveRun(runs[0])
	if err := m.WatchInstalls(func(context.Context) (int, int, error) {
		return 0, 0, errors.New("database is locked")
	}); err != nil {
		t.Fatal(err)
	}
	if err := m.WatchInstalls(func(context.Context) (int, int, error) { return 0, 0, nil }); err == nil {
		t.Error("a second installs gauge was registered")
	}
	base := serve(t, m, nil)
	got := scrape(t, base)
	if got[`skybot_extension_runs_total{extension="hello",outcome="ok"}`] != 1 {
		t.Error("the runs counter is missing beside a failing collector")
	}
	if _, ok := got[`skybot_installs{state="enabled"}`]; ok {
		t.Error("the installs gauge has a value although its count failed")
	}
	// The handler counts a gathering error after the scrape it happened in.
	if got := scrape(t, base); got[`promhttp_metric_handler_errors_total{cause="gathering"}`] < 1 {
		t.Error("the failing count was not counted as a gathering error")
	}
}

func TestNilMetricsIgnoresObservations(t *testing.T) {
	t.Parallel()
	var m *Metrics
	m.ObserveRun(runs[0])
	m.ObserveLifecycle(extensions.LifecycleEvent{Kind: extensions.EventInstalled})
}

// Two Metrics never share a registry (nor the global default one).
func TestMetricsAreIndependent(t *testing.T) {
	t.Parallel()
	a, b := NewMetrics(nil), NewMetrics(nil)
	a.ObserveRun(runs[0])
	fams, err := b.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "skybot_extension_runs_total" && len(f.GetMetric()) > 0 {
			t.Error("a run observed by one Metrics shows in another")
		}
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	// A busy address is an error at once.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if err := Serve(context.Background(), busy.Addr().String(), http.NotFoundHandler()); err == nil {
		t.Fatal("Serve on a busy address returned nil")
	}
	if err := Serve(context.Background(), "127.0.0.1:http-ish", http.NotFoundHandler()); err == nil {
		t.Fatal("Serve on a bad address returned nil")
	}

	// A request in flight when the context ends still gets its answer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, ln, h) }()
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answer <- string(b)
	}()
	<-started
	cancel()
	close(release)
	if got := <-answer; got != "finished" {
		t.Errorf("the request in flight got %q", got)
	}
	if err := <-done; err != nil {
		t.Errorf("ServeListener after a clean shutdown = %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("the address still accepts connections after shutdown")
	}
}
