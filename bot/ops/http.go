package ops

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HealthTimeout bounds one health check; a check still running then fails.
const HealthTimeout = 2 * time.Second

// shutdownTimeout is how long Serve waits for requests in flight once its
// context is done, before it closes their connections.
const shutdownTimeout = 5 * time.Second

// Handler serves the operator endpoints:
//
//	GET /metrics  the Prometheus text (or protobuf) exposition of m's registry
//	GET /healthz  200 "ok", or 503 with the error's text when health fails
//
// m must not be nil. health may be nil (always healthy); it gets a context
// that ends after HealthTimeout or when the client goes away.
func Handler(m *Metrics, health func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A failing collector (the installs count) must not hide the others.
		ErrorHandling: promhttp.ContinueOnError,
		// Counts the errors as promhttp_metric_handler_errors_total.
		Registry: m.reg,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if health != nil {
			ctx, cancel := context.WithTimeout(r.Context(), HealthTimeout)
			defer cancel()
			if err := health(ctx); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintln(w, err)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// Serve listens on addr (host:port) and serves h until ctx is done, then
// shuts down: requests in flight get a few seconds to finish. It returns
// nil after a clean shutdown, and the error otherwise (e.g. the address is
// in use).
func Serve(ctx context.Context, addr string, h http.Handler) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("ops endpoint: %w", err)
	}
	return ServeListener(ctx, ln, h)
}

// ServeListener is Serve on a listener the caller opened (to learn the
// port of ":0", or to report a busy address before going on). It closes ln.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()

	select {
	case err := <-done: // Serve failed on its own
		return fmt.Errorf("ops endpoint %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = errors.Join(err, srv.Close())
	}
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("ops endpoint %s: shut down: %w", ln.Addr(), err)
	}
	return nil
}
