package extensions

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// What a guild admin configures for one install beyond installing it: the
// settings its manifest declares (secrets included) and its permissions.

// ConfigView is an install's settings as an admin sees them.
type ConfigView struct {
	Name    string
	Version string
	// Fields are the declared settings, in the manifest's order.
	Fields SettingsSchema
	// Values are the current typed values of the declared non-secret
	// fields: the admin's value when it fits, else the default; a field
	// with neither is absent.
	Values map[string]any
	// SecretsSet names the secrets that have a value; values are never
	// read for a view.
	SecretsSet []string

	stored map[string]json.RawMessage // what the admin saved, by key
}

// SecretSet reports whether the secret id has a value.
func (v ConfigView) SecretSet(id string) bool { return slices.Contains(v.SecretsSet, id) }

// Config returns the settings of the install of name in guild.
func (m *Manager) Config(ctx context.Context, guild store.GuildID, name string) (ConfigView, error) {
	in, err := m.installed(ctx, guild, name)
	if err != nil {
		return ConfigView{}, err
	}
	return m.configView(ctx, in)
}

func (m *Manager) configView(ctx context.Context, in store.Install) (ConfigView, error) {
	ver, err := m.store.Version(ctx, in.VersionID)
	if err != nil {
		return ConfigView{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read %s.", in.Name)
	}
	schema, err := ParseSettingsSchema(ver.Manifest)
	if err != nil {
		return ConfigView{}, skyerr.Wrap(err, skyerr.InvalidPackage, "The settings that %s %s declares cannot be read.", in.Name, in.Version)
	}
	stored, err := m.store.Settings(ctx, in.GuildID, in.ExtensionID)
	if err != nil {
		return ConfigView{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the settings of %s.", in.Name)
	}
	secrets, err := m.store.SecretNames(ctx, in.GuildID, in.ExtensionID)
	if err != nil {
		return ConfigView{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the settings of %s.", in.Name)
	}
	v := ConfigView{Name: in.Name, Version: in.Version, Fields: schema, Values: map[string]any{}, SecretsSet: secrets, stored: stored}
	for _, f := range schema {
		if f.Secret() {
			continue
		}
		if cur, ok := f.Current(stored[f.ID]); ok {
			v.Values[f.ID] = cur
		}
	}
	return v, nil
}

// configChange is one write SetConfig decided on.
type configChange struct {
	field  SettingField
	value  json.RawMessage // a setting's new JSON; nil with unset
	secret *store.SecretValue
	unset  bool // back to the default
}

// SetConfig applies what an admin entered, by field id, to the settings
// of the install of name: every input is checked (FromInput) before
// anything is written. Empty input puts a setting back to its default and
// keeps a secret as it is; a value equal to the current one writes
// nothing. A secret needs the operator's secret key.
func (m *Manager) SetConfig(ctx context.Context, guild store.GuildID, actor store.UserID, name string, values map[string]string) error {
	unlock := m.locks.lock(string(guild) + "/" + name)
	defer unlock()
	in, err := m.installed(ctx, guild, name)
	if err != nil {
		return err
	}
	view, err := m.configView(ctx, in)
	if err != nil {
		return err
	}
	for id := range values {
		if _, ok := view.Fields.Field(id); !ok {
			return skyerr.New(skyerr.InvalidConfig, "%s has no setting %q.", name, id)
		}
	}
	var changes []configChange
	needKey := false
	for _, f := range view.Fields {
		text, given := values[f.ID]
		if !given {
			continue
		}
		invalid := func(err error) error {
			return skyerr.New(skyerr.InvalidConfig, "The setting %s is not valid: %s. Nothing was changed.", quoteField(f), err)
		}
		if strings.TrimSpace(text) == "" {
			if f.Secret() {
				continue
			}
			if _, hasDefault := f.Current(nil); f.Required && !hasDefault {
				return skyerr.New(skyerr.InvalidConfig, "The setting %s is required: enter a value. Nothing was changed.", quoteField(f))
			}
			if _, saved := view.stored[f.ID]; saved {
				changes = append(changes, configChange{field: f, unset: true})
			}
			continue
		}
		raw, err := f.FromInput(text)
		if err != nil {
			return invalid(err)
		}
		if f.Secret() {
			var plain string
			_ = json.Unmarshal(raw, &plain)
			secret := store.NewSecretValue(plain)
			changes = append(changes, configChange{field: f, secret: &secret})
			needKey = true
			continue
		}
		if len(raw) > store.MaxSettingValue {
			return skyerr.New(skyerr.InvalidConfig, "The setting %s is %d bytes long; the limit is %d. Nothing was changed.", quoteField(f), len(raw), store.MaxSettingValue)
		}
		typed, _ := f.Typed(raw)
		if cur, ok := view.Values[f.ID]; ok && reflect.DeepEqual(cur, typed) {
			continue
		}
		changes = append(changes, configChange{field: f, value: raw})
	}
	if needKey && !m.store.CanSealSecrets() {
		return skyerr.New(skyerr.InvalidState, "This skybot cannot store secrets: its operator has not set %s (the base64 of 32 random bytes, from `openssl rand -base64 32`). Nothing was changed.", store.SecretKeyEnv)
	}
	var keys []string
	for _, c := range changes {
		var err error
		switch {
		case c.secret != nil:
			err = m.store.SetSecret(ctx, guild, in.ExtensionID, c.field.ID, *c.secret)
		case c.unset:
			err = m.store.DeleteSetting(ctx, guild, in.ExtensionID, c.field.ID)
		default:
			err = m.store.SetSetting(ctx, guild, in.ExtensionID, c.field.ID, c.value)
		}
		if err != nil {
			m.invalidate(guild)
			saved := "no setting was changed"
			if len(keys) > 0 {
				saved = "these were saved: " + strings.Join(keys, ", ")
			}
			return skyerr.Wrap(err, skyerr.Unknown, "Could not save the setting %s of %s; %s.", quoteField(c.field), name, saved)
		}
		keys = append(keys, c.field.ID)
	}
	if len(keys) > 0 {
		m.invalidate(guild)
		// The keys only: a value may be private, a secret always is.
		m.log.Info("extension configured", "guild_id", guild, "ext", name, "actor", actor, "keys", keys)
	}
	return nil
}

// quoteField names a field for the admin: "Label" (id), or "id".
func quoteField(f SettingField) string {
	if f.Name() != f.ID {
		return `"` + f.Name() + `" (` + f.ID + ")"
	}
	return `"` + f.ID + `"`
}

// Most channels and roles an install's permissions may name.
const (
	MaxPermissionChannels = 25
	MaxPermissionRoles    = 25
)

// Permissions returns what the admin allows the install of name beyond
// its scopes (the zero value when nothing was set).
func (m *Manager) Permissions(ctx context.Context, guild store.GuildID, name string) (store.InstallPermissions, error) {
	in, err := m.installed(ctx, guild, name)
	if err != nil {
		return store.InstallPermissions{}, err
	}
	p, err := m.store.InstallPermissions(ctx, guild, in.ExtensionID)
	if err != nil {
		return store.InstallPermissions{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the permissions of %s.", name)
	}
	return p, nil
}

// SetPermissions replaces the permissions of the install of name. The
// channels and roles must be ids (the caller checks they belong to the
// guild); repeats are dropped.
func (m *Manager) SetPermissions(ctx context.Context, guild store.GuildID, actor store.UserID, name string, p store.InstallPermissions) error {
	unlock := m.locks.lock(string(guild) + "/" + name)
	defer unlock()
	in, err := m.installed(ctx, guild, name)
	if err != nil {
		return err
	}
	if p.Channels, err = permissionIDs("channel", p.Channels, MaxPermissionChannels); err != nil {
		return err
	}
	if p.Roles, err = permissionIDs("role", p.Roles, MaxPermissionRoles); err != nil {
		return err
	}
	if err := m.store.SetInstallPermissions(ctx, guild, in.ExtensionID, p, actor); err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not save the permissions of %s.", name)
	}
	m.invalidate(guild)
	m.log.Info("extension permissions set", "guild_id", guild, "ext", name, "actor", actor,
		"channels", len(p.Channels), "roles", len(p.Roles), "member_checks", !p.NoMemberChecks)
	return nil
}

// permissionIDs checks a list of ids and drops repeats.
func permissionIDs(what string, ids []string, limit int) ([]string, error) {
	var out []string
	for _, id := range ids {
		if !isSnowflake(id) {
			return nil, skyerr.New(skyerr.InvalidID, "%q is not a %s id.", id, what)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > limit {
		return nil, skyerr.New(skyerr.TooLarge, "%d %ss are named; the limit is %d.", len(out), what, limit)
	}
	return out, nil
}
