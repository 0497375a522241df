package extensions

import (
	"context"
	"sync"
	"time"

	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// Lifecycle hooks (sky.onInstall, onUpdate, onUninstall, onEnable,
// onDisable) run as ordinary invocations, inside the sandbox's limits,
// recorded in the extension's log like any run. Install, update, rollback
// and enable hooks run after the change, in the background, so that the
// admin's command answers at once. Disable and uninstall hooks run before
// the change, while the install can still act, for at most
// beforeHookTimeout so the command still answers within Discord's
// deadline. A hook that fails never undoes the change: the health check
// that guards a change is its top level running (describe), before
// anything is written.

// beforeHookTimeout bounds onDisable and onUninstall.
const beforeHookTimeout = time.Second

// hookRunner runs one lifecycle hook of an installed extension; sync
// runs it now (bounded), else in the background.
type hookRunner func(ctx context.Context, guild store.GuildID, name, hook string, data map[string]any, sync bool)

// hook runs a lifecycle hook if a dispatcher is attached.
func (m *Manager) hook(ctx context.Context, guild store.GuildID, name, hook string, data map[string]any, sync bool) {
	m.mu.Lock()
	run := m.hooks
	m.mu.Unlock()
	if run != nil {
		run(ctx, guild, name, hook, data, sync)
	}
}

// hooks tracks background hook runs, for Close and tests.
type hookRuns struct{ wg sync.WaitGroup }

// WaitHooks waits for lifecycle hooks running in the background.
func (d *Dispatcher) WaitHooks() { d.hookRuns.wg.Wait() }

// runHook finds the hook's registration and runs it.
func (d *Dispatcher) runHook(ctx context.Context, guild store.GuildID, name, hook string, data map[string]any, sync bool) {
	view, err := d.m.view(ctx, guild)
	if err != nil {
		d.m.log.Warn("lifecycle hook not run", "guild_id", guild, "ext", name, "hook", hook, "err", err)
		return
	}
	for _, ai := range view.installs {
		if ai.install.Name != name || ai.manifest.Legacy() {
			continue
		}
		reg := findReg(ai.regs, func(r sandbox.Registration) bool { return r.Kind == sandbox.RegLifecycle && r.Key == hook })
		if reg == nil {
			return
		}
		ev := handlerEvent(hook, *reg, "", mergeData(map[string]any{"guildId": string(guild)}, data))
		origin := Origin{GuildID: string(guild), Trigger: hook}
		if sync {
			bounded := *view
			if bounded.limits.Timeout == 0 || bounded.limits.Timeout > beforeHookTimeout {
				bounded.limits.Timeout = beforeHookTimeout
			}
			d.run(ctx, ai, &bounded, ev, origin)
			return
		}
		d.hookRuns.wg.Add(1)
		go func() {
			defer d.hookRuns.wg.Done()
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			d.run(ctx, ai, view, ev, origin)
		}()
		return
	}
}

func mergeData(base, extra map[string]any) map[string]any {
	for k, v := range extra {
		base[k] = v
	}
	return base
}
