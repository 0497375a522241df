package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Install is one guild's install of one extension: the active version
// pointer, whether it runs, and the scopes the guild consented to.
type Install struct {
	GuildID       GuildID
	ExtensionID   ExtensionID
	Name          string // the extension's name (read only)
	VersionID     VersionID
	Version       string // the active version string (read only)
	Enabled       bool
	GrantedScopes []string
	System        bool
	InstalledBy   UserID
	InstalledAt   time.Time // set by CreateInstall
	UpdatedAt     time.Time // set by every change
}

// Action is what an install_history row records.
type Action string

const (
	ActionInstall   Action = "install"
	ActionUpdate    Action = "update"
	ActionRollback  Action = "rollback"
	ActionEnable    Action = "enable"
	ActionDisable   Action = "disable"
	ActionUninstall Action = "uninstall"
)

// HistoryEntry is one change to an install. A zero version id means none
// (no from on install, no to on uninstall).
type HistoryEntry struct {
	ID            int64
	GuildID       GuildID
	ExtensionID   ExtensionID
	Action        Action
	FromVersionID VersionID
	ToVersionID   VersionID
	ActorID       UserID
	At            time.Time
}

const installCols = `i.guild_id, i.extension_id, e.name, i.version_id, v.version, i.enabled,
	i.granted_scopes, i.system, i.installed_by, i.installed_at, i.updated_at
	FROM installs i
	JOIN extensions e ON e.id = i.extension_id
	JOIN versions v ON v.id = i.version_id`

func scanInstall(sc scanner) (Install, error) {
	var in Install
	var scopes string
	var installed, updated int64
	err := sc.Scan(&in.GuildID, &in.ExtensionID, &in.Name, &in.VersionID, &in.Version, &in.Enabled,
		&scopes, &in.System, &in.InstalledBy, &installed, &updated)
	if err != nil {
		return in, err
	}
	if err := json.Unmarshal([]byte(scopes), &in.GrantedScopes); err != nil {
		return in, fmt.Errorf("granted scopes: %w", err)
	}
	in.InstalledAt, in.UpdatedAt = fromMS(installed), fromMS(updated)
	return in, nil
}

const historyCols = `id, guild_id, extension_id, action, from_version_id, to_version_id, actor_id, at
	FROM install_history`

func scanHistory(sc scanner) (HistoryEntry, error) {
	var h HistoryEntry
	var from, to sql.NullInt64
	var at int64
	err := sc.Scan(&h.ID, &h.GuildID, &h.ExtensionID, &h.Action, &from, &to, &h.ActorID, &at)
	h.FromVersionID, h.ToVersionID, h.At = VersionID(from.Int64), VersionID(to.Int64), fromMS(at)
	return h, err
}

// scopesJSON encodes granted scopes; nil is stored as [].
func scopesJSON(scopes []string) (string, error) {
	if scopes == nil {
		scopes = []string{}
	}
	b, err := json.Marshal(scopes)
	return string(b), err
}

// writeHistory appends one install_history row inside tx.
func writeHistory(ctx context.Context, tx *sql.Tx, at int64, guild GuildID, ext ExtensionID, a Action, from, to VersionID, actor UserID) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO install_history
		(guild_id, extension_id, action, from_version_id, to_version_id, actor_id, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, guild, ext, a, nullID(from), nullID(to), actor, at)
	if err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

// activeVersion is the version an install points at, or ErrNotFound.
func activeVersion(ctx context.Context, tx *sql.Tx, guild GuildID, ext ExtensionID) (VersionID, bool, error) {
	var v VersionID
	var enabled bool
	err := tx.QueryRowContext(ctx, `SELECT version_id, enabled FROM installs WHERE guild_id = ? AND extension_id = ?`,
		guild, ext).Scan(&v, &enabled)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, ErrNotFound
	}
	return v, enabled, err
}

// CreateInstall inserts the install and its 'install' history row in one
// transaction. InstalledAt and UpdatedAt come from the store's clock; Name
// and Version are ignored. ErrExists if the guild already has the extension;
// ErrNotFound if the version does not exist or belongs to another extension.
func (s *Store) CreateInstall(ctx context.Context, in Install) error {
	return s.CreateInstalls(ctx, in)
}

// CreateInstalls creates ins in order in one transaction: all of them, or
// none (an install and the extensions it requires).
func (s *Store) CreateInstalls(ctx context.Context, ins ...Install) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, in := range ins {
			if err := s.createInstall(ctx, tx, in); err != nil {
				return fmt.Errorf("install extension %d in guild %s: %w", in.ExtensionID, in.GuildID, err)
			}
		}
		return nil
	})
	return err
}

// createInstall is CreateInstall inside tx.
func (s *Store) createInstall(ctx context.Context, tx *sql.Tx, in Install) error {
	scopes, err := scopesJSON(in.GrantedScopes)
	if err != nil {
		return err
	}
	now := ms(s.now())
	_, err = tx.ExecContext(ctx, `INSERT INTO installs
		(guild_id, extension_id, version_id, enabled, granted_scopes, system, installed_by, installed_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.GuildID, in.ExtensionID, in.VersionID, in.Enabled, scopes, in.System, in.InstalledBy, now, now)
	switch {
	case isUnique(err):
		return ErrExists
	case isForeignKey(err):
		return fmt.Errorf("version %d of extension %d: %w", in.VersionID, in.ExtensionID, ErrNotFound)
	case err != nil:
		return err
	}
	return writeHistory(ctx, tx, now, in.GuildID, in.ExtensionID, ActionInstall, 0, in.VersionID, in.InstalledBy)
}

// Install returns the guild's install of ext.
func (s *Store) Install(ctx context.Context, guild GuildID, ext ExtensionID) (Install, error) {
	in, err := queryOne(ctx, s.r, scanInstall,
		`SELECT `+installCols+` WHERE i.guild_id = ? AND i.extension_id = ?`, guild, ext)
	if err != nil {
		return Install{}, fmt.Errorf("install of extension %d in guild %s: %w", ext, guild, err)
	}
	return in, nil
}

// InstallByName returns the guild's install of the extension called name,
// preferring the guild's own upload over a gallery extension of that name.
func (s *Store) InstallByName(ctx context.Context, guild GuildID, name string) (Install, error) {
	in, err := queryOne(ctx, s.r, scanInstall, `SELECT `+installCols+`
		WHERE i.guild_id = ? AND e.name = ? ORDER BY e.local_guild = '' LIMIT 1`, guild, name)
	if err != nil {
		return Install{}, fmt.Errorf("install of %q in guild %s: %w", name, guild, err)
	}
	return in, nil
}

// Installs lists the guild's installs, oldest first (installed_at, then extension id).
func (s *Store) Installs(ctx context.Context, guild GuildID) ([]Install, error) {
	ins, err := queryAll(ctx, s.r, scanInstall,
		`SELECT `+installCols+` WHERE i.guild_id = ? ORDER BY i.installed_at, i.extension_id`, guild)
	if err != nil {
		return nil, fmt.Errorf("installs of guild %s: %w", guild, err)
	}
	return ins, nil
}

// InstallsOf lists every guild's install of ext, oldest first: the guilds
// a newly published version may auto-update.
func (s *Store) InstallsOf(ctx context.Context, ext ExtensionID) ([]Install, error) {
	ins, err := queryAll(ctx, s.r, scanInstall,
		`SELECT `+installCols+` WHERE i.extension_id = ? ORDER BY i.installed_at, i.guild_id`, ext)
	if err != nil {
		return nil, fmt.Errorf("installs of extension %d: %w", ext, err)
	}
	return ins, nil
}

// SetInstallVersion swaps the active version pointer to version to, replaces
// the granted scopes (nil stores none) and writes a history row with action
// ActionUpdate or ActionRollback, in one transaction. ErrNotFound if the
// extension is not installed or to is not one of its versions.
func (s *Store) SetInstallVersion(ctx context.Context, guild GuildID, ext ExtensionID, to VersionID, scopes []string, action Action, actor UserID) error {
	err := s.setInstallVersion(ctx, guild, ext, to, scopes, action, actor)
	if err != nil {
		return fmt.Errorf("%s extension %d in guild %s to version %d: %w", action, ext, guild, to, err)
	}
	return nil
}

func (s *Store) setInstallVersion(ctx context.Context, guild GuildID, ext ExtensionID, to VersionID, scopes []string, action Action, actor UserID) error {
	if action != ActionUpdate && action != ActionRollback {
		return fmt.Errorf("action %q is neither update nor rollback", action)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.swapVersion(ctx, tx, guild, ext, to, scopes, action, actor)
	})
}

// swapVersion moves the install's version pointer inside tx.
func (s *Store) swapVersion(ctx context.Context, tx *sql.Tx, guild GuildID, ext ExtensionID, to VersionID, scopes []string, action Action, actor UserID) error {
	granted, err := scopesJSON(scopes)
	if err != nil {
		return err
	}
	now := ms(s.now())
	from, _, err := activeVersion(ctx, tx, guild, ext)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE installs SET version_id = ?, granted_scopes = ?, updated_at = ?
		WHERE guild_id = ? AND extension_id = ?`, to, granted, now, guild, ext)
	if isForeignKey(err) {
		return fmt.Errorf("version %d of extension %d: %w", to, ext, ErrNotFound)
	}
	if err != nil {
		return err
	}
	return writeHistory(ctx, tx, now, guild, ext, action, from, to, actor)
}

// SetInstallEnabled enables or disables an install and writes an 'enable' or
// 'disable' history row. Setting the state it already has changes nothing
// and writes no row. ErrNotFound if not installed.
func (s *Store) SetInstallEnabled(ctx context.Context, guild GuildID, ext ExtensionID, enabled bool, actor UserID) error {
	action := ActionDisable
	if enabled {
		action = ActionEnable
	}
	now := ms(s.now())
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cur, was, err := activeVersion(ctx, tx, guild, ext)
		if err != nil || was == enabled {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE installs SET enabled = ?, updated_at = ? WHERE guild_id = ? AND extension_id = ?`,
			enabled, now, guild, ext)
		if err != nil {
			return err
		}
		return writeHistory(ctx, tx, now, guild, ext, action, cur, cur, actor)
	})
	if err != nil {
		return fmt.Errorf("%s extension %d in guild %s: %w", action, ext, guild, err)
	}
	return nil
}

// DeleteInstall removes an install and writes an 'uninstall' history row;
// with purge it also deletes the install's storage. One transaction.
// ErrNotFound if not installed.
func (s *Store) DeleteInstall(ctx context.Context, guild GuildID, ext ExtensionID, actor UserID, purge bool) error {
	now := ms(s.now())
	err := s.tx(ctx, func(tx *sql.Tx) error {
		from, _, err := activeVersion(ctx, tx, guild, ext)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM installs WHERE guild_id = ? AND extension_id = ?`, guild, ext); err != nil {
			return err
		}
		if purge {
			if _, err := tx.ExecContext(ctx, `DELETE FROM ext_storage WHERE guild_id = ? AND extension_id = ?`, guild, ext); err != nil {
				return fmt.Errorf("purge storage: %w", err)
			}
		}
		return writeHistory(ctx, tx, now, guild, ext, ActionUninstall, from, 0, actor)
	})
	if err != nil {
		return fmt.Errorf("uninstall extension %d from guild %s: %w", ext, guild, err)
	}
	return nil
}

// History lists the changes to the guild's install of ext, oldest first. It
// outlives the install: an uninstalled extension keeps its history.
func (s *Store) History(ctx context.Context, guild GuildID, ext ExtensionID) ([]HistoryEntry, error) {
	hs, err := queryAll(ctx, s.r, scanHistory,
		`SELECT `+historyCols+` WHERE guild_id = ? AND extension_id = ? ORDER BY id`, guild, ext)
	if err != nil {
		return nil, fmt.Errorf("history of extension %d in guild %s: %w", ext, guild, err)
	}
	return hs, nil
}
