package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// InstallPermissions are what a guild admin allows one installed extension
// beyond its scopes. The zero value is the default: commands run in every
// channel for everyone, the extension sends and reads only in the channel
// of its event (more with messages_global), and actions a member starts
// need that member's own Discord permission.
type InstallPermissions struct {
	// Channels limit where the extension's commands and keywords run, and
	// are where it may send and read besides its event's channel.
	Channels []string
	// Roles are the roles whose members may use its commands; empty is
	// everyone.
	Roles []string
	// NoMemberChecks lets actions a member's command starts go ahead with
	// skybot's own permissions, without that member holding the matching
	// Discord permission (the admin's explicit choice).
	NoMemberChecks bool
}

// InstallPermissions returns the permissions of an install (the zero value
// when the admin never set any).
func (s *Store) InstallPermissions(ctx context.Context, guild GuildID, ext ExtensionID) (InstallPermissions, error) {
	var channels, roles string
	var checks int
	err := s.r.QueryRowContext(ctx, `SELECT channels, roles, member_checks FROM install_permissions
		WHERE guild_id = ? AND extension_id = ?`, guild, ext).Scan(&channels, &roles, &checks)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return InstallPermissions{}, nil
	case err != nil:
		return InstallPermissions{}, fmt.Errorf("permissions of extension %d in guild %s: %w", ext, guild, err)
	}
	p := InstallPermissions{NoMemberChecks: checks == 0}
	if err := json.Unmarshal([]byte(channels), &p.Channels); err != nil {
		return InstallPermissions{}, fmt.Errorf("permissions of extension %d in guild %s: channels: %w", ext, guild, err)
	}
	if err := json.Unmarshal([]byte(roles), &p.Roles); err != nil {
		return InstallPermissions{}, fmt.Errorf("permissions of extension %d in guild %s: roles: %w", ext, guild, err)
	}
	return p, nil
}

// SetInstallPermissions replaces an install's permissions and records who
// changed them in its history.
func (s *Store) SetInstallPermissions(ctx context.Context, guild GuildID, ext ExtensionID, p InstallPermissions, actor UserID) error {
	channels, _ := json.Marshal(nonNilStrings(p.Channels))
	roles, _ := json.Marshal(nonNilStrings(p.Roles))
	checks := 1
	if p.NoMemberChecks {
		checks = 0
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO install_permissions (guild_id, extension_id, channels, roles, member_checks, updated_by, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (guild_id, extension_id) DO UPDATE SET channels = excluded.channels, roles = excluded.roles,
			member_checks = excluded.member_checks, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		guild, ext, string(channels), string(roles), checks, actor, ms(s.now()))
	if err != nil {
		return fmt.Errorf("set permissions of extension %d in guild %s: %w", ext, guild, err)
	}
	return nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
