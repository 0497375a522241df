package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/robfig/cron/v3"

	"github.com/skyext/skybot/bot"
	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/bot/nethttp"
	"github.com/skyext/skybot/commands"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// app is one assembled skybot: the store, the sandbox, the extension
// manager and dispatcher, and the bot on a discordgo session. run and demo
// build it the same way; only the session's far end differs.
type app struct {
	store      *store.Store
	supervisor *sandbox.Supervisor
	manager    *extensions.Manager
	gallery    *extensions.Gallery
	logChannel *bot.LogChannel
	bot        *bot.Bot
	scheduler  *extensions.Scheduler
	// featured turns the gallery's featured set on its schedule (nil: no
	// schedule configured).
	featured  *extensions.FeaturedRotation
	stopSched context.CancelFunc
	// loops are the long-running goroutines start begins (the featured
	// rotation); close ends them with stopSched and waits.
	loops sync.WaitGroup
	// manualSchedule: the caller runs what is due (hooks.now is set).
	manualSchedule bool
	// background is the work started by gallery changes (auto-updates);
	// close waits for it before closing the store.
	background *sync.WaitGroup
}

// hooks let the demo (and tests) watch the app without reaching into it.
type hooks struct {
	onRun        func(extensions.Run)
	onLifecycle  func(extensions.LifecycleEvent)
	afterMessage func(extensions.Message)
	// now is the scheduler's clock (nil: time.Now). When it is set, the
	// caller drives the schedule (ext test and dev move the clock with
	// advance and call RunDue): no background loop fires entries behind
	// its back.
	now func() time.Time
	// installAttempts overrides the install and update rate limit (0: the
	// default); skybot dev updates on every save.
	installAttempts int
}

func assemble(ctx context.Context, cfg config.Config, session *discordgo.Session, log *slog.Logger, h hooks) (*app, error) {
	var featured cron.Schedule
	if spec := cfg.Gallery.FeaturedSchedule; spec != "" {
		// Load has checked the spec; a Config built in code may not have.
		var err error
		if featured, err = cron.ParseStandard(spec); err != nil {
			return nil, fmt.Errorf("gallery.featured_schedule %q: %w", spec, err)
		}
	}
	if dir := filepath.Dir(cfg.Store.Path); dir != "" {
		if err := ensureDir(dir); err != nil {
			return nil, err
		}
	}
	var storeOpts []store.Option
	if k := os.Getenv(store.SecretKeyEnv); k != "" {
		key, err := store.ParseSecretKey(k)
		if err != nil {
			return nil, fmt.Errorf("$%s: %w", store.SecretKeyEnv, err)
		}
		storeOpts = append(storeOpts, store.WithSecretKey(key))
	}
	st, err := store.Open(ctx, cfg.Store.Path, storeOpts...)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	limits := sandbox.Limits{
		Timeout:      cfg.Sandbox.Timeout.Duration,
		MaxCallStack: cfg.Sandbox.MaxCallStack,
		MaxHostCalls: cfg.Sandbox.MaxHostCalls,
		MaxAlloc:     int64(cfg.Sandbox.MemoryLimitMB) << 20,
	}
	if session.State != nil && session.State.MaxMessageCount == 0 {
		// Recent messages per channel, so that messageUpdate and
		// messageDelete events can say what the message was.
		session.State.MaxMessageCount = 100
	}
	exec := bot.NewExecutor(session, st, log)
	exec.SetHTTP(nethttp.New(nethttp.Options{
		Allowlist: cfg.HTTP.Allowlist, AllowPrivate: cfg.HTTP.AllowPrivatePrefixes(),
		RequestsPerMinute: cfg.HTTP.RequestsPerMinute, UserAgent: cfg.HTTP.UserAgent,
	}), cfg.HTTP.NetworkTiers)
	// Extension code runs in worker processes: the skybot binary itself,
	// re-executed (main checks sandbox.WorkerArg first).
	if !cfg.Sandbox.SyscallFilter {
		log.Warn("sandbox workers run without their syscall filter ([sandbox] syscall_filter = false): only goja and rlimits stand between extension code and the host")
	}
	sup, err := sandbox.NewWorkerSupervisor(exec, log, sandbox.Options{NoSyscallFilter: !cfg.Sandbox.SyscallFilter})
	if err != nil {
		st.Close()
		if errors.Is(err, sandbox.ErrSyscallFilter) {
			// The operator's way out is in the config: say so, with a code
			// (an uncoded error reaches them only as "could not start").
			return nil, skyerr.Wrap(err, skyerr.InvalidConfig, "Sandbox workers cannot start because the kernel refused their syscall filter (%v); where the kernel cannot filter syscalls, set [sandbox] syscall_filter = false.", err)
		}
		return nil, err // NewWorkerSupervisor's error names what failed
	}
	logChannel := bot.NewLogChannel(session, st, log)
	mgr := extensions.NewManager(st, sup, extensions.Options{
		MaxAttachmentBytes: cfg.Extensions.MaxAttachmentBytes,
		MaxSourceBytes:     cfg.Extensions.MaxSourceBytes,
		Limits:             limits,
		TierNames:          slices.Collect(maps.Keys(cfg.Tiers)),
		Tiers: func(name string) extensions.TierLimits {
			t, ok := cfg.TierLimits(name)
			if !ok {
				log.Warn("guild tier not in config; using the default tier", "tier", name, "default", config.DefaultTier)
			}
			l := limits
			l.Timeout, l.MaxHostCalls, l.MaxAlloc = t.Timeout.Duration, t.MaxHostCalls, int64(t.MemoryLimitMB)<<20
			return extensions.TierLimits{Limits: l, MaxInstalls: t.MaxInstalls,
				Storage: store.Quota{MaxEntries: t.StorageEntries, MaxBytes: t.StorageBytes}, Premium: t.PremiumExtensions}
		},
		SuspendAfter:    cfg.Sandbox.SuspendAfter,
		QuarantineAfter: quarantineAfter(cfg.Sandbox.QuarantineAfter),
		InstallAttempts: h.installAttempts,
		AutoUpdate:      cfg.Extensions.AutoUpdate,
		SuspendWindow:   cfg.Sandbox.SuspendWindow.Duration,
		DefaultPrefix:   cfg.Bot.Prefix,
		RefuseUploads:   !cfg.Extensions.AllowUnreviewedUploads,
		OnLifecycle: func(e extensions.LifecycleEvent) {
			logChannel.Notify(e)
			if h.onLifecycle != nil {
				h.onLifecycle(e)
			}
		},
		Log: log,
	})
	if dir := cfg.Extensions.SystemDir; dir != "" {
		if err := mgr.LoadSystem(ctx, dir); err != nil {
			sup.Close()
			logChannel.Close()
			st.Close()
			return nil, err
		}
	}
	// watchers follow the gallery's review steps (the review channel's
	// cards, authors' DMs, support threads); they are added below, before
	// the bot starts, so the closure reads a finished list.
	var watchers []func(context.Context, extensions.Change)
	gallery := extensions.NewGallery(st, sup, extensions.GalleryOptions{
		Maintainers:        userIDs(cfg.Gallery.Maintainers),
		MaintainerRole:     cfg.Gallery.MaintainerRole,
		Admins:             userIDs(cfg.Gallery.Admins),
		MaxAttachmentBytes: cfg.Extensions.MaxAttachmentBytes,
		MaxSourceBytes:     cfg.Extensions.MaxSourceBytes,
		Log:                log,
		OnChange: func(ctx context.Context, c extensions.Change) {
			for _, w := range watchers {
				w(ctx, c)
			}
		},
	})
	mgr.SetGallery(gallery)
	// A published version updates the guilds whose track allows it, in
	// the background: the maintainer's Approve is answered at once.
	background := &sync.WaitGroup{}
	watchers = append(watchers, func(ctx context.Context, c extensions.Change) {
		if c.State != store.StatePublished {
			return
		}
		background.Go(func() {
			if _, err := mgr.AutoUpdate(context.WithoutCancel(ctx), gallery, c.Name); err != nil {
				log.Warn("auto-update did not run", "ext", c.Name, "version", c.Number, "err", err)
			}
		})
	})
	// The review channel's cards and the authors' DMs.
	review := commands.NewReview(gallery, st, session, cfg.Gallery.ReviewChannelID, session.Client, log)
	review.SetUsageFlush(mgr.FlushUsage)
	watchers = append(watchers, review.Watch)
	watchers = append(watchers, commands.NewSupport(gallery, session, cfg.Gallery.SupportForumID, log).Watch)
	disp := extensions.NewDispatcher(mgr, h.onRun)
	sched := extensions.NewScheduler(disp, h.now)
	exec.SetScheduler(sched)
	disp.SetModuleSource(exec.ModuleSource())
	b := bot.New(bot.Options{
		Session:    session,
		Dispatcher: disp,
		Interactions: commands.All{
			commands.NewExt(mgr, gallery, session.Client, log),
			commands.NewGallery(gallery, mgr, log),
			review,
		},
		CommandGuildID: cfg.Discord.CommandGuildID,
		AfterMessage:   h.afterMessage,
		OnGuild: func(ctx context.Context, guildID string) error {
			return mgr.EnsureSystem(ctx, store.GuildID(guildID))
		},
		Log: log,
	})
	a := &app{store: st, supervisor: sup, manager: mgr, gallery: gallery, logChannel: logChannel, bot: b, scheduler: sched, manualSchedule: h.now != nil, background: background}
	if featured != nil {
		a.featured = &extensions.FeaturedRotation{Gallery: gallery, Schedule: featured, Count: cfg.Gallery.FeaturedCount}
	}
	return a, nil
}

// usageFlushInterval is how often the runs counted in memory are written
// to the store (stats readers flush first, so they never wait for it).
const usageFlushInterval = 30 * time.Second

// start connects the bot, then starts the schedules of every guild.
func (a *app) start(ctx context.Context) error {
	if err := a.bot.Start(ctx); err != nil {
		return err
	}
	if a.manualSchedule {
		if err := a.scheduler.SyncAll(ctx); err != nil {
			return fmt.Errorf("start schedules: %w", err)
		}
		return nil
	}
	schedCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if err := a.scheduler.Start(schedCtx); err != nil {
		cancel()
		return fmt.Errorf("start schedules: %w", err)
	}
	a.stopSched = cancel
	if a.featured != nil {
		a.loops.Go(func() { a.featured.Run(schedCtx) })
	}
	a.loops.Go(func() { a.manager.FlushUsageEvery(schedCtx, usageFlushInterval) })
	return nil
}

// close stops everything in reverse order of assembly.
func (a *app) close() error {
	if a.stopSched != nil {
		a.stopSched()
	}
	a.loops.Wait()
	berr := a.bot.Stop()
	a.background.Wait()
	// The runs of the last moments; a failure is logged by the manager.
	_ = a.manager.FlushUsage(context.Background())
	a.logChannel.Close()
	a.supervisor.Close()
	serr := a.store.Close()
	if berr != nil {
		return berr
	}
	return serr
}

func userIDs(ids []string) []store.UserID {
	out := make([]store.UserID, len(ids))
	for i, id := range ids {
		out[i] = store.UserID(id)
	}
	return out
}

// quarantineAfter is [sandbox] quarantine_after as extensions.Options
// takes it: there 0 is the default and a negative value is never.
func quarantineAfter(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
