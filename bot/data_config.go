package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// Settings an extension declares and the guild admin fills in. The
// manifest's "settings" field declares them (the shape of SkynetBot's
// dashboard_settings fields, part B 6.2); the admin's values live in the
// store; config.get and config.getAll read the admin's values over the
// declared defaults, typed: number → number, toggle → boolean,
// multi_select → string[], everything else → string. Secrets are never
// readable by extension code: only InjectSecrets uses them.

// Setting field types.
const (
	settingText          = "text"
	settingTextarea      = "textarea"
	settingNumber        = "number"
	settingSecret        = "secret"
	settingToggle        = "toggle"
	settingSelect        = "select"
	settingMultiSelect   = "multi_select"
	settingChannelSelect = "channel_select"
	settingRoleSelect    = "role_select"
	settingColor         = "color"
)

// settingField is one declared setting.
type settingField struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Label       string          `json:"label,omitempty"`
	Placeholder string          `json:"placeholder,omitempty"`
	Help        string          `json:"help,omitempty"`
	Required    bool            `json:"required,omitempty"`
	Default     json.RawMessage `json:"default,omitempty"`
	Min         *float64        `json:"min,omitempty"`
	Max         *float64        `json:"max,omitempty"`
	Options     []settingOption `json:"options,omitempty"`
}

// settingOption is one choice of a select: {value, label}, or a bare value.
type settingOption struct {
	Value string `json:"value"`
	Label string `json:"label,omitempty"`
}

func (o *settingOption) UnmarshalJSON(b []byte) error {
	if s, ok := scalarString(b); ok {
		*o = settingOption{Value: s, Label: s}
		return nil
	}
	var obj struct {
		Value json.RawMessage `json:"value"`
		Label string          `json:"label"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	v, ok := scalarString(obj.Value)
	if !ok {
		return fmt.Errorf("an option's value must be a string or a number")
	}
	*o = settingOption{Value: v, Label: obj.Label}
	return nil
}

// scalarString reads a JSON string, number or boolean as text.
func scalarString(b json.RawMessage) (string, bool) {
	var v any
	if len(b) == 0 || json.Unmarshal(b, &v) != nil {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// settingsSchema is an extension's declared settings, in order.
type settingsSchema []settingField

// parseSettingsSchema reads the "settings" field of a version's manifest:
// a list of fields, or SkynetBot's {sections: [{fields}]} (or {fields}).
// A manifest without settings declares none.
func parseSettingsSchema(manifest json.RawMessage) (settingsSchema, error) {
	var m struct {
		Settings json.RawMessage `json:"settings"`
	}
	if len(manifest) > 0 {
		if err := json.Unmarshal(manifest, &m); err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
	}
	raw := m.Settings
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var fields settingsSchema
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, fmt.Errorf("manifest settings: %w", err)
		}
	} else {
		var doc struct {
			Fields   settingsSchema `json:"fields"`
			Sections []struct {
				Fields settingsSchema `json:"fields"`
			} `json:"sections"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("manifest settings: %w", err)
		}
		fields = doc.Fields
		for _, s := range doc.Sections {
			fields = append(fields, s.Fields...)
		}
	}
	out := fields[:0]
	for _, f := range fields {
		if f.ID != "" {
			f.Type = strings.ToLower(strings.TrimSpace(f.Type))
			out = append(out, f)
		}
	}
	return out, nil
}

// field returns the declared field id.
func (s settingsSchema) field(id string) (settingField, bool) {
	for _, f := range s {
		if f.ID == id {
			return f, true
		}
	}
	return settingField{}, false
}

// typed reads a stored or default value as the field's type; ok is false
// when it does not fit (then the default, or nothing, applies). Admin
// values saved by SkynetBot's form are all strings ("on" for a checked
// toggle, "42" for a number): they are read as their type.
func (f settingField) typed(raw json.RawMessage) (any, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false
	}
	switch f.Type {
	case settingSecret:
		return nil, false
	case settingNumber:
		var n float64
		if json.Unmarshal(raw, &n) != nil {
			s, ok := scalarString(raw)
			if !ok {
				return nil, false
			}
			var err error
			if n, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
				return nil, false
			}
		}
		if (f.Min != nil && n < *f.Min) || (f.Max != nil && n > *f.Max) {
			return nil, false
		}
		return n, true
	case settingToggle:
		s, ok := scalarString(raw)
		if !ok {
			return nil, false
		}
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "on", "1", "yes":
			return true, true
		case "false", "off", "0", "no", "":
			return false, true
		}
		return nil, false
	case settingMultiSelect:
		var list []json.RawMessage
		var values []string
		if json.Unmarshal(raw, &list) == nil {
			for _, v := range list {
				if s, ok := scalarString(v); ok {
					values = append(values, s)
				}
			}
		} else if s, ok := scalarString(raw); ok {
			for _, part := range strings.Split(s, ",") {
				if part = strings.TrimSpace(part); part != "" {
					values = append(values, part)
				}
			}
		} else {
			return nil, false
		}
		out := []string{}
		for _, v := range values {
			if f.allows(v) {
				out = append(out, v)
			}
		}
		return out, true
	case settingSelect:
		s, ok := scalarString(raw)
		if !ok || !f.allows(s) {
			return nil, false
		}
		return s, true
	case settingChannelSelect, settingRoleSelect:
		s, ok := scalarString(raw)
		if !ok || !validUserID(s) { // a snowflake, like a user id
			return nil, false
		}
		return s, true
	case settingColor:
		return colorValue(raw)
	}
	// text, textarea, and types this version does not know: a string.
	s, ok := scalarString(raw)
	return s, ok
}

// allows reports whether v is one of the field's options (any value when
// it declares none).
func (f settingField) allows(v string) bool {
	if len(f.Options) == 0 {
		return true
	}
	for _, o := range f.Options {
		if o.Value == v {
			return true
		}
	}
	return false
}

// colorValue reads a color as "#rrggbb": from "#rrggbb", "rrggbb" or a
// number 0..0xFFFFFF.
func colorValue(raw json.RawMessage) (any, bool) {
	var n float64
	if json.Unmarshal(raw, &n) == nil {
		if n < 0 || n > 0xFFFFFF || n != math.Floor(n) {
			return nil, false
		}
		return fmt.Sprintf("#%06x", int64(n)), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	hex := strings.TrimPrefix(strings.TrimSpace(s), "#")
	if len(hex) != 6 {
		return nil, false
	}
	if _, err := strconv.ParseUint(hex, 16, 32); err != nil {
		return nil, false
	}
	return "#" + strings.ToLower(hex), true
}

// resolve is what config.getAll shows: for each declared field the admin's
// value when it fits, else the default when there is one; values the admin
// saved for keys the manifest does not declare, as saved. Secrets (declared
// or set) never appear.
func (s settingsSchema) resolve(stored map[string]json.RawMessage, secretNames []string) map[string]any {
	hidden := map[string]bool{}
	for _, n := range secretNames {
		hidden[n] = true
	}
	out := map[string]any{}
	for _, f := range s {
		if f.Type == settingSecret {
			hidden[f.ID] = true
			continue
		}
		if v, ok := f.typed(stored[f.ID]); ok {
			out[f.ID] = v
		} else if v, ok := f.typed(f.Default); ok {
			out[f.ID] = v
		}
	}
	for k, raw := range stored {
		if _, declared := s.field(k); declared || hidden[k] {
			continue
		}
		out[k] = raw
	}
	return out
}

// ExtensionSettings returns an install's settings as extension code may
// read them (config.getAll, SkynetBot's extension.settings): the admin's
// values over the defaults manifest declares, typed, without secrets.
func ExtensionSettings(ctx context.Context, st *store.Store, guild store.GuildID, ext store.ExtensionID, manifest json.RawMessage) (map[string]any, error) {
	schema, err := parseSettingsSchema(manifest)
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
	return schema.resolve(stored, names), nil
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
