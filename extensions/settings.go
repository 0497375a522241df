package extensions

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/skyext/skybot/store"
)

// Settings an extension declares and the guild admin fills in. The
// manifest's "settings" field declares them (the shape of SkynetBot's
// dashboard_settings fields, part B 6.2); the admin's values live in the
// store; extension code reads them over the declared defaults, typed:
// number → number, toggle → boolean, multi_select → string[], everything
// else → string. Secrets are never readable by extension code.

// Setting field types (SettingTypes lists them all).
const (
	SettingText          = "text"
	SettingTextarea      = "textarea"
	SettingNumber        = "number"
	SettingSecret        = "secret"
	SettingToggle        = "toggle"
	SettingSelect        = "select"
	SettingMultiSelect   = "multi_select"
	SettingChannelSelect = "channel_select"
	SettingRoleSelect    = "role_select"
	SettingColor         = "color"
)

// Most characters an admin may enter for a text setting and a textarea
// (Discord's own limit for a text input).
const (
	MaxTextSetting     = 1000
	MaxTextareaSetting = 4000
)

// SettingField is one declared setting.
type SettingField struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Label       string          `json:"label,omitempty"`
	Placeholder string          `json:"placeholder,omitempty"`
	Help        string          `json:"help,omitempty"`
	Required    bool            `json:"required,omitempty"`
	Default     json.RawMessage `json:"default,omitempty"`
	Min         *float64        `json:"min,omitempty"`
	Max         *float64        `json:"max,omitempty"`
	Options     []SettingOption `json:"options,omitempty"`
}

// SettingOption is one choice of a select: {value, label}, or a bare value.
type SettingOption struct {
	Value string `json:"value"`
	Label string `json:"label,omitempty"`
}

// UnmarshalJSON reads an option as {value, label} or a bare string, number
// or boolean.
func (o *SettingOption) UnmarshalJSON(b []byte) error {
	if s, ok := scalarString(b); ok {
		*o = SettingOption{Value: s, Label: s}
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
	*o = SettingOption{Value: v, Label: obj.Label}
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

// SettingsSchema is an extension's declared settings, in order.
type SettingsSchema []SettingField

// ParseSettingsSchema reads the "settings" field of a version's manifest:
// a list of fields, or SkynetBot's {sections: [{fields}]} (or {fields}).
// A manifest without settings declares none.
func ParseSettingsSchema(manifest json.RawMessage) (SettingsSchema, error) {
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
	var fields SettingsSchema
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, fmt.Errorf("manifest settings: %w", err)
		}
	} else {
		var doc struct {
			Fields   SettingsSchema `json:"fields"`
			Sections []struct {
				Fields SettingsSchema `json:"fields"`
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

// Field returns the declared field id.
func (s SettingsSchema) Field(id string) (SettingField, bool) {
	for _, f := range s {
		if f.ID == id {
			return f, true
		}
	}
	return SettingField{}, false
}

// Name is how the field is shown to an admin: its label, else its id.
func (f SettingField) Name() string {
	if l := strings.TrimSpace(f.Label); l != "" {
		return l
	}
	return f.ID
}

// Secret reports a secret field: sealed in the store, never shown.
func (f SettingField) Secret() bool { return f.Type == SettingSecret }

// Typed reads a stored or default value as the field's type; ok is false
// when it does not fit (then the default, or nothing, applies). Admin
// values saved by SkynetBot's form are all strings ("on" for a checked
// toggle, "42" for a number): they are read as their type. A secret has
// no typed value.
func (f SettingField) Typed(raw json.RawMessage) (any, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false
	}
	switch f.Type {
	case SettingSecret:
		return nil, false
	case SettingNumber:
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
	case SettingToggle:
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
	case SettingMultiSelect:
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
	case SettingSelect:
		s, ok := scalarString(raw)
		if !ok || !f.allows(s) {
			return nil, false
		}
		return s, true
	case SettingChannelSelect, SettingRoleSelect:
		s, ok := scalarString(raw)
		if !ok || !isSnowflake(s) {
			return nil, false
		}
		return s, true
	case SettingColor:
		return colorValue(raw)
	}
	// text, textarea, and types this version does not know: a string.
	s, ok := scalarString(raw)
	return s, ok
}

// allows reports whether v is one of the field's options (any value when
// it declares none).
func (f SettingField) allows(v string) bool {
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

// isSnowflake reports a Discord id: 1 to 20 decimal digits.
func isSnowflake(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
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

// Resolve is what extension code reads (config.getAll): for each declared
// field the admin's value when it fits, else the default when there is
// one; values the admin saved for keys the manifest does not declare, as
// saved. Secrets (declared or set) never appear.
func (s SettingsSchema) Resolve(stored map[string]json.RawMessage, secretNames []string) map[string]any {
	hidden := map[string]bool{}
	for _, n := range secretNames {
		hidden[n] = true
	}
	out := map[string]any{}
	for _, f := range s {
		if f.Secret() {
			hidden[f.ID] = true
			continue
		}
		if v, ok := f.Current(stored[f.ID]); ok {
			out[f.ID] = v
		}
	}
	for k, raw := range stored {
		if _, declared := s.Field(k); declared || hidden[k] {
			continue
		}
		out[k] = raw
	}
	return out
}

// Current is the field's value given what the admin stored (nil: nothing):
// the stored value when it fits, else the default when it fits; ok is
// false when neither does.
func (f SettingField) Current(stored json.RawMessage) (any, bool) {
	if v, ok := f.Typed(stored); ok {
		return v, true
	}
	return f.Typed(f.Default)
}

// FromInput reads what an admin typed for the field and returns the JSON
// to store, or an error that is one sentence for the admin. Numbers keep
// to min and max; a toggle is on/off, true/false, yes/no (or 1/0); a
// select takes one option (its value or label), a multi_select a comma
// list of them; a channel or role is an id or its mention (<#id>,
// <@&id>); a color is #rrggbb; text is at most MaxTextSetting characters
// (a textarea MaxTextareaSetting). A secret's text comes back as a JSON
// string for the caller to seal, never to store as a setting. Empty input
// is not "unset" here: callers decide what clearing a field means.
func (f SettingField) FromInput(text string) (json.RawMessage, error) {
	text = strings.ToValidUTF8(text, "\uFFFD")
	trimmed := strings.TrimSpace(text)
	var v any
	switch f.Type {
	case SettingNumber:
		n, err := strconv.ParseFloat(trimmed, 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, fmt.Errorf("%q is not a number; %s", trimmed, numberHint(f))
		}
		if (f.Min != nil && n < *f.Min) || (f.Max != nil && n > *f.Max) {
			return nil, fmt.Errorf("%s is out of range; %s", trimmed, numberHint(f))
		}
		v = n
	case SettingToggle:
		switch strings.ToLower(trimmed) {
		case "on", "true", "yes", "1":
			v = true
		case "off", "false", "no", "0":
			v = false
		default:
			return nil, fmt.Errorf("%q is neither on nor off; enter on, off, true, false, yes or no", trimmed)
		}
	case SettingSelect:
		o, err := f.option(trimmed)
		if err != nil {
			return nil, err
		}
		v = o
	case SettingMultiSelect:
		picked := []string{}
		for _, part := range strings.Split(trimmed, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			o, err := f.option(part)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(picked, o) {
				picked = append(picked, o)
			}
		}
		v = picked
	case SettingChannelSelect:
		id, ok := snowflakeOrMention(trimmed, "<#", ">")
		if !ok {
			return nil, fmt.Errorf("%q is not a channel; enter a channel mention such as <#123456789012345678> or a channel id", trimmed)
		}
		v = id
	case SettingRoleSelect:
		id, ok := snowflakeOrMention(trimmed, "<@&", ">")
		if !ok {
			return nil, fmt.Errorf("%q is not a role; enter a role mention such as <@&123456789012345678> or a role id", trimmed)
		}
		v = id
	case SettingColor:
		c, ok := colorValue(settingJSON(trimmed))
		if !ok {
			return nil, fmt.Errorf("%q is not a color; enter it as #rrggbb, e.g. #5865f2", trimmed)
		}
		v = c
	case SettingSecret:
		if len(trimmed) > store.MaxSecretValue {
			return nil, fmt.Errorf("the secret is %d bytes; the limit is %d", len(trimmed), store.MaxSecretValue)
		}
		v = trimmed
	case SettingTextarea:
		if n := utf8.RuneCountInString(text); n > MaxTextareaSetting {
			return nil, fmt.Errorf("the text is %d characters; the limit is %d", n, MaxTextareaSetting)
		}
		v = text
	default: // text, and types this version does not know
		if n := utf8.RuneCountInString(text); n > MaxTextSetting {
			return nil, fmt.Errorf("the text is %d characters; the limit is %d", n, MaxTextSetting)
		}
		v = text
	}
	return settingJSON(v), nil
}

// FormatInput renders a typed value (from Typed or Current) the way
// FromInput reads it back, to prefill a form.
func (f SettingField) FormatInput(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		if v {
			return "on"
		}
		return "off"
	case []string:
		return strings.Join(v, ", ")
	case string:
		return v
	}
	return fmt.Sprint(v)
}

// Hint says in a few words what the field takes, for a form's
// placeholder.
func (f SettingField) Hint() string {
	switch f.Type {
	case SettingNumber:
		return numberHint(f)
	case SettingToggle:
		return "on or off"
	case SettingSelect:
		return "one of: " + f.optionList()
	case SettingMultiSelect:
		return "a comma list of: " + f.optionList()
	case SettingChannelSelect:
		return "a channel mention or id"
	case SettingRoleSelect:
		return "a role mention or id"
	case SettingColor:
		return "a color as #rrggbb"
	case SettingSecret:
		return "a secret"
	}
	return "text"
}

func numberHint(f SettingField) string {
	num := func(p *float64) string { return strconv.FormatFloat(*p, 'f', -1, 64) }
	switch {
	case f.Min != nil && f.Max != nil:
		return fmt.Sprintf("enter a number from %s to %s", num(f.Min), num(f.Max))
	case f.Min != nil:
		return fmt.Sprintf("enter a number of at least %s", num(f.Min))
	case f.Max != nil:
		return fmt.Sprintf("enter a number of at most %s", num(f.Max))
	}
	return "enter a number"
}

// option finds what an admin typed among the options, by value, or by
// value or label ignoring case; it returns the option's value.
func (f SettingField) option(typed string) (string, error) {
	if len(f.Options) == 0 {
		if typed == "" {
			return "", fmt.Errorf("enter a value")
		}
		return typed, nil
	}
	for _, o := range f.Options {
		if o.Value == typed {
			return o.Value, nil
		}
	}
	for _, o := range f.Options {
		if strings.EqualFold(o.Value, typed) || (o.Label != "" && strings.EqualFold(o.Label, typed)) {
			return o.Value, nil
		}
	}
	return "", fmt.Errorf("%q is not one of the choices: %s", typed, f.optionList())
}

func (f SettingField) optionList() string {
	if len(f.Options) == 0 {
		return "any value"
	}
	names := make([]string, len(f.Options))
	for i, o := range f.Options {
		names[i] = o.Value
	}
	return strings.Join(names, ", ")
}

// snowflakeOrMention reads an id, bare or wrapped in open…close.
func snowflakeOrMention(s, open, close string) (string, bool) {
	if strings.HasPrefix(s, open) && strings.HasSuffix(s, close) {
		s = s[len(open) : len(s)-len(close)]
	}
	return s, isSnowflake(s)
}

// settingJSON marshals what FromInput produces (strings, numbers,
// booleans and string slices), which always marshals.
func settingJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("extensions: marshal %T: %v", v, err))
	}
	return b
}
