package bot

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// Settings an extension declares and the guild admin fills in: the schema
// and its typing rules are extensions.SettingsSchema. config.get and
// config.getAll read the admin's values over the declared defaults, typed;
// secrets are never readable by extension code: only InjectSecrets uses
// them.

// ExtensionSettings returns an install's settings as extension code may
// read them (config.getAll, SkynetBot's extension.settings): the admin's
// values over the defaults manifest declares, typed, without secrets.
func ExtensionSettings(ctx context.Context, st *store.Store, guild store.GuildID, ext store.ExtensionID, manifest json.RawMessage) (map[string]any, error) {
	schema, err := extensions.ParseSettingsSchema(manifest)
	if err != nil {
		return nil, err
	}
	stored, err := st.Settings(ctx, guild, ext)
	if err != nil {
		return nil, err
	}
	names, err := st.SecretNames(ctx, guild, ext)
	if err != nil {
		return nil, err
	}
	return schema.Resolve(stored, names), nil
}

// settingsFor is ExtensionSettings for the origin's install and version.
func (e *Executor) settingsFor(ctx context.Context, o extensions.Origin) (map[string]any, error) {
	v, err := e.store.Version(ctx, o.VersionID)
	if err != nil {
		return nil, err
	}
	return ExtensionSettings(ctx, e.store, store.GuildID(o.GuildID), o.ExtensionID, v.Manifest)
}

// configGet: config.get(key) → the setting, or undefined (unset without a
// default, or a secret).
func (e *Executor) configGet(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	args, err := rawArgs(call)
	if err != nil {
		return nil, err
	}
	key, ok := legacyString(args, 0)
	if !ok || key == "" {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the key must be a non-empty string", call.API.Name)
	}
	all, err := e.settingsFor(ctx, o)
	if err != nil {
		return nil, err
	}
	v, ok := all[key]
	if !ok {
		return nil, nil
	}
	return json.Marshal(v)
}

// configGetAll: config.getAll() → every setting but secrets.
func (e *Executor) configGetAll(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	all, err := e.settingsFor(ctx, o)
	if err != nil {
		return nil, err
	}
	return json.Marshal(all)
}

// InjectSecrets resolves part B's http injectSecrets option: for each
// {header: secret name} whose secret the admin set for the install, the
// header's value. Secrets that are not set are left out. The values are in
// clear: the HTTP client puts them on the request and must never log them
// (or the returned map).
func InjectSecrets(ctx context.Context, st *store.Store, guild store.GuildID, ext store.ExtensionID, headers map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(headers))
	for header, name := range headers {
		v, ok, err := st.Secret(ctx, guild, ext, name)
		if err != nil {
			return nil, fmt.Errorf("inject secret %q as header %q: %w", name, header, err)
		}
		if ok {
			out[header] = v.Reveal()
		}
	}
	return out, nil
}
