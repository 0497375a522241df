package extensions

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// systemOwner owns the system extensions' names.
const systemOwner store.UserID = "skybot:system"

// LoadSystem reads and compiles every .skyext/.skypkg in dir: the system
// extensions EnsureSystem installs into each guild. A file that does not
// load stops skybot from starting, with its name: the operator chose it.
func (m *Manager) LoadSystem(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return skyerr.Wrap(err, skyerr.InvalidPath, "Cannot read the system extensions directory %s.", dir)
	}
	var loaded []uploaded
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".skyext" && ext != ".skypkg") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil {
			return skyerr.Wrap(err, skyerr.InvalidPath, "Cannot read %s.", path)
		}
		u, err := m.readAndCompile(ctx, "", Upload{Filename: e.Name(), Size: info.Size()}, func(context.Context, int64) ([]byte, error) {
			return os.ReadFile(path)
		})
		if err != nil {
			return fmt.Errorf("system extension %s: %w", path, err)
		}
		if slices.ContainsFunc(loaded, func(o uploaded) bool { return o.man.Name == u.man.Name }) {
			return skyerr.New(skyerr.AlreadyExists, "Two files in %s are both the system extension %s.", dir, u.man.Name)
		}
		loaded = append(loaded, u)
	}
	m.mu.Lock()
	m.system = loaded
	m.mu.Unlock()
	m.log.Info("system extensions loaded", "dir", dir, "count", len(loaded))
	return nil
}

// EnsureSystem installs the system extensions into guild, or updates them
// when the directory holds a newer version. An extension of the same name
// the guild installed itself is left alone, and logged.
func (m *Manager) EnsureSystem(ctx context.Context, guild store.GuildID) error {
	m.mu.Lock()
	system := m.system
	m.mu.Unlock()
	var errs []error
	for _, u := range system {
		if err := m.ensureOne(ctx, guild, u); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) ensureOne(ctx context.Context, guild store.GuildID, u uploaded) error {
	man := u.man
	unlock := m.locks.lock(string(guild) + "/" + man.Name)
	defer unlock()
	if _, err := m.store.EnsureGuild(ctx, guild, m.opts.DefaultPrefix); err != nil {
		return fmt.Errorf("system extension %s in guild %s: %w", man.Name, guild, err)
	}
	nv, err := newVersion(man, u.code, "", systemOwner, systemOwner)
	if err != nil {
		return err
	}
	in, err := m.store.InstallByName(ctx, guild, man.Name)
	var ver store.Version
	var kind, from string
	switch {
	case errors.Is(err, store.ErrNotFound):
		ver, err = m.store.SaveAndInstall(ctx, nv, store.Install{GuildID: guild, Enabled: true, System: true,
			GrantedScopes: man.Scopes, InstalledBy: systemOwner})
		kind = EventInstalled
	case err != nil:
		return fmt.Errorf("system extension %s in guild %s: %w", man.Name, guild, err)
	case !in.System:
		m.log.Warn("guild has its own extension with a system extension's name; leaving it", "guild_id", guild, "ext", man.Name)
		return nil
	case !semver.MustParse(man.Version).GreaterThan(semver.MustParse(in.Version)):
		return nil // up to date (or rolled back on purpose by the guild)
	default:
		from = in.Version
		ver, err = m.store.SaveAndSwap(ctx, nv, guild, man.Scopes, systemOwner)
		kind = EventUpdated
	}
	if err != nil {
		return fmt.Errorf("system extension %s in guild %s: %w", man.Name, guild, err)
	}
	m.keepProgram(ver.ID, u.program)
	m.runner.Evict(sandboxKey(guild, man.Name))
	m.invalidate(guild)
	m.emit(LifecycleEvent{Kind: kind, Guild: guild, Extension: man.Name, Version: man.Version, From: from, Actor: systemOwner})
	return nil
}
