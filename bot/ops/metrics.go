// Package ops is what an operator watches skybot through: Prometheus
// metrics of extension runs, host calls, limit hits and lifecycle events,
// and a health check, served over HTTP on a local address.
//
// Metrics live in their own prometheus.Registry, never the global default
// one, so two skybots in one process (tests, the demo) cannot collide.
// Labels are chosen for bounded cardinality: an extension's name and a kind
// or outcome from a closed set; never a guild, a user or free text.
package ops

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
)

// Label values: a success, and anything that is not one of a label's known
// values.
const (
	outcomeOK  = "ok"
	otherLabel = "other"
)

// limitKinds are the failure kinds that mean a limit stopped the run; each
// is counted as a limit hit under its own name.
var limitKinds = map[string]bool{
	sandbox.FailTimeout:  true,
	sandbox.FailStack:    true,
	sandbox.FailBudget:   true,
	sandbox.FailMemory:   true,
	sandbox.FailRejected: true, // the isolate's mailbox was full
}

// notRun are the failure kinds of runs whose code never executed; their
// zero durations would only drag the latency histogram down.
var notRun = map[string]bool{
	sandbox.FailRejected: true,
	sandbox.FailCompile:  true,
}

// callOutcomes are the outcomes a host call can have. A result that comes
// back from a sandbox worker crossed the trust boundary, so anything else
// is counted as "other" instead of becoming a new label value.
var callOutcomes = map[string]bool{
	outcomeOK:                   true,
	sandbox.CodeMissingScopes:   true,
	sandbox.CodeUnknownModule:   true,
	sandbox.CodeRateLimit:       true,
	sandbox.CodeBudgetExceeded:  true,
	sandbox.CodeNotFound:        true,
	sandbox.CodeForbidden:       true,
	sandbox.CodeInvalidArgument: true,
	sandbox.CodeTimeout:         true,
	sandbox.CodeInternal:        true,
}

// lifecycleKinds are created at zero so that rate() sees them from the start.
var lifecycleKinds = []string{
	extensions.EventInstalled, extensions.EventUpdated, extensions.EventRolledBack,
	extensions.EventEnabled, extensions.EventDisabled, extensions.EventUninstalled,
	extensions.EventError, extensions.EventSuspended, extensions.EventQuarantined,
}

// runBuckets span a trivial command (a millisecond) to the longest timeout
// config allows (10 s), in seconds.
var runBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics counts what skybot's extensions do. Its methods are safe for
// concurrent use, and a nil *Metrics ignores every observation, so callers
// can wire the observers whether or not the endpoint is on.
type Metrics struct {
	reg        *prometheus.Registry
	log        *slog.Logger
	runs       *prometheus.CounterVec
	runSeconds *prometheus.HistogramVec
	limitHits  *prometheus.CounterVec
	hostCalls  *prometheus.CounterVec
	lifecycle  *prometheus.CounterVec
}

// NewMetrics returns metrics on a fresh registry that also carries the Go
// runtime and process collectors. log (nil: discard) receives the errors
// of collectors that read the store at scrape time.
func NewMetrics(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: log,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skybot_extension_runs_total",
			Help: "Runs of extension code, by extension and outcome (ok or the failure kind).",
		}, []string{"extension", "outcome"}),
		runSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "skybot_extension_run_seconds",
			Help:    "Wall-clock time of extension runs whose code executed, promise chain included.",
			Buckets: runBuckets,
		}, []string{"extension"}),
		limitHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skybot_extension_limit_hits_total",
			Help: "Runs that hit a sandbox limit (timeout, stack, budget, memory, rejected for a full mailbox), by extension and limit.",
		}, []string{"extension", "limit"}),
		hostCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skybot_extension_host_calls_total",
			Help: "Host API calls made by extension code, by extension, API and outcome (ok or the JS error code).",
		}, []string{"extension", "api", "outcome"}),
		lifecycle: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skybot_lifecycle_events_total",
			Help: "Changes to installs (installed, updated, ...) and failed runs, by kind.",
		}, []string{"kind"}),
	}
	m.reg.MustRegister(m.runs, m.runSeconds, m.limitHits, m.hostCalls, m.lifecycle,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	for _, k := range lifecycleKinds {
		m.lifecycle.WithLabelValues(k)
	}
	return m
}

// Registry is the registry the metrics are in, for the /metrics handler
// and for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRun counts one invocation as the dispatcher reports it: its
// outcome, its duration when the code ran, the limits it hit and each
// host call it made. A run that hits the same limit twice (a refused host
// call and then the run's failure) counts one hit of that limit.
func (m *Metrics) ObserveRun(r extensions.Run) {
	if m == nil {
		return
	}
	ext := r.Extension
	res := r.Result
	outcome := outcomeOK
	var hits []string
	if f := res.Failure; f != nil {
		// The sandbox bounds failure kinds, the worker's claims included.
		outcome = f.Kind
		if limitKinds[f.Kind] {
			hits = append(hits, f.Kind)
		}
	}
	m.runs.WithLabelValues(ext, outcome).Inc()
	if res.Failure == nil || !notRun[res.Failure.Kind] {
		m.runSeconds.WithLabelValues(ext).Observe(res.Duration.Seconds())
	}
	for _, c := range res.Calls {
		api := otherLabel
		if _, ok := sandbox.LookupAPI(c.API); ok {
			api = c.API
		}
		out := c.Outcome
		if !callOutcomes[out] {
			out = otherLabel
		}
		m.hostCalls.WithLabelValues(ext, api, out).Inc()
		if out == sandbox.CodeBudgetExceeded {
			hits = append(hits, sandbox.FailBudget)
		}
	}
	for i, limit := range hits {
		if !slices.Contains(hits[:i], limit) {
			m.limitHits.WithLabelValues(ext, limit).Inc()
		}
	}
}

// ObserveLifecycle counts one lifecycle event by kind.
func (m *Metrics) ObserveLifecycle(e extensions.LifecycleEvent) {
	if m == nil {
		return
	}
	m.lifecycle.WithLabelValues(e.Kind).Inc()
}

// InstallCounter reports how many installs there are, enabled and disabled;
// the store's InstallCounts is one.
type InstallCounter func(ctx context.Context) (enabled, disabled int, err error)

// countTimeout bounds the store read of one scrape.
const countTimeout = 2 * time.Second

// WatchInstalls adds the gauge skybot_installs{state="enabled"|"disabled"},
// read from count at every scrape. A failing count leaves the gauge out of
// that scrape (the other metrics are still served) and is logged.
func (m *Metrics) WatchInstalls(count InstallCounter) error {
	return m.reg.Register(&installsCollector{
		count: count,
		log:   m.log,
		desc: prometheus.NewDesc("skybot_installs",
			"Installs of extensions in guilds, by state (enabled or disabled).", []string{"state"}, nil),
	})
}

type installsCollector struct {
	count InstallCounter
	log   *slog.Logger
	desc  *prometheus.Desc
}

func (c *installsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *installsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), countTimeout)
	defer cancel()
	enabled, disabled, err := c.count(ctx)
	if err != nil {
		c.log.Warn("metrics: count installs", "err", err)
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(enabled), "enabled")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(disabled), "disabled")
}

var _ prometheus.Collector = (*installsCollector)(nil)
