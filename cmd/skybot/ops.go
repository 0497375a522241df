package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/bot/ops"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// startOps serves /metrics and /healthz on cfg.Ops.Listen until ctx ends
// or stop is called; stop waits for the server to shut down and may be
// called more than once. With ops.listen empty it does nothing (addr is
// "" and stop a no-op). The address is bound before startOps returns, so
// a busy one is an error here rather than a log line later. addr is the
// address bound (the port is known even for ":0").
//
// Health is the store answering a cheap read and gateway (nil: not
// checked) reporting the Discord session up. The installs gauge reads
// st at every scrape.
func startOps(ctx context.Context, cfg config.Config, m *ops.Metrics, st *store.Store, gateway func() error, log *slog.Logger) (addr string, stop func(), err error) {
	if cfg.Ops.Listen == "" {
		return "", func() {}, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := m.WatchInstalls(st.InstallCounts); err != nil {
		return "", nil, skyerr.Wrap(err, skyerr.Unknown, "The metrics endpoint could not be set up.")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Ops.Listen)
	if err != nil {
		return "", nil, skyerr.Wrap(err, skyerr.InvalidConfig,
			"ops.listen is %q, but skybot cannot listen there (is the address in use, or not this machine's?).", cfg.Ops.Listen)
	}
	addr = ln.Addr().String()

	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ops.ServeListener(ctx, ln, ops.Handler(m, opsHealth(st, gateway))); err != nil {
			log.Error("ops endpoint stopped", "addr", addr, "err", err)
		}
	}()
	log.Info("ops endpoint listening", "addr", addr, "metrics", "http://"+addr+"/metrics", "health", "http://"+addr+"/healthz")
	var once sync.Once
	return addr, func() { once.Do(func() { cancel(); <-done }) }, nil
}

// opsHealth is healthy when the store answers a cheap read (its schema
// version, from the read pool) and gateway reports no error.
func opsHealth(st *store.Store, gateway func() error) func(context.Context) error {
	return func(ctx context.Context) error {
		var errs []error
		if _, err := st.SchemaVersion(ctx); err != nil {
			errs = append(errs, fmt.Errorf("store: %w", err))
		}
		if gateway != nil {
			if err := gateway(); err != nil {
				errs = append(errs, fmt.Errorf("discord gateway: %w", err))
			}
		}
		return errors.Join(errs...)
	}
}

// gatewayUp reports whether s has a live gateway connection: discordgo
// sets DataReady once it heartbeats on an open websocket and clears it
// when the connection closes (including while it reconnects).
func gatewayUp(s *discordgo.Session) func() error {
	return func() error {
		s.RLock()
		ready := s.DataReady
		s.RUnlock()
		if !ready {
			return errors.New("the session is not connected")
		}
		return nil
	}
}
