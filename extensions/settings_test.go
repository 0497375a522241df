package extensions

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func ptr(f float64) *float64 { return &f }

func TestParseSettingsSchema(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		manifest string
		ids      string
		err      bool
	}{
		{"none", `{}`, "", false},
		{"null", `{"settings": null}`, "", false},
		{"list", `{"settings": [{"id": "a", "type": "TEXT"}, {"type": "text"}, {"id": "b", "type": "number"}]}`, "a:text b:number", false},
		{"sections", `{"settings": {"enabled": true, "sections": [{"id": "s1", "fields": [{"id": "a", "type": "toggle"}]}, {"fields": [{"id": "b", "type": "color"}]}]}}`, "a:toggle b:color", false},
		{"fields", `{"settings": {"fields": [{"id": "a", "type": "secret"}]}}`, "a:secret", false},
		{"bad option", `{"settings": [{"id": "a", "type": "select", "options": [{"value": {}}]}]}`, "", true},
		{"not an object", `[1]`, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := ParseSettingsSchema(json.RawMessage(tt.manifest))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v", err)
			}
			var ids []string
			for _, f := range s {
				ids = append(ids, f.ID+":"+f.Type)
			}
			if got := strings.Join(ids, " "); got != tt.ids {
				t.Fatalf("fields %q, want %q", got, tt.ids)
			}
		})
	}
}

var (
	limitField  = SettingField{ID: "limit", Type: SettingNumber, Min: ptr(1), Max: ptr(10)}
	ratioField  = SettingField{ID: "ratio", Type: SettingNumber}
	toggleField = SettingField{ID: "on", Type: SettingToggle}
	modeField   = SettingField{ID: "mode", Type: SettingSelect, Options: []SettingOption{{Value: "fast", Label: "Fast"}, {Value: "slow", Label: "Quite slow"}}}
	freeField   = SettingField{ID: "free", Type: SettingSelect}
	gamesField  = SettingField{ID: "games", Type: SettingMultiSelect, Options: []SettingOption{{Value: "chess", Label: "chess"}, {Value: "go", Label: "go"}, {Value: "3", Label: "three"}}}
	chanField   = SettingField{ID: "channel", Type: SettingChannelSelect}
	roleField   = SettingField{ID: "role", Type: SettingRoleSelect}
	colorField  = SettingField{ID: "color", Type: SettingColor}
	textField   = SettingField{ID: "greeting", Type: SettingText}
	areaField   = SettingField{ID: "bio", Type: SettingTextarea}
	secretField = SettingField{ID: "token", Type: SettingSecret}
)

func TestFromInput(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		field SettingField
		input string
		want  string // JSON; "" when the input is refused
		err   string // part of the error when refused
	}{
		{"number", limitField, " 7 ", `7`, ""},
		{"number fraction", ratioField, "0.25", `0.25`, ""},
		{"number negative unbounded", ratioField, "-3", `-3`, ""},
		{"number at min", limitField, "1", `1`, ""},
		{"number at max", limitField, "10", `10`, ""},
		{"number above max", limitField, "11", "", "from 1 to 10"},
		{"number below min", limitField, "0", "", "out of range"},
		{"not a number", limitField, "seven", "", `"seven" is not a number`},
		{"number NaN", ratioField, "NaN", "", "not a number"},
		{"number Inf", ratioField, "Inf", "", "not a number"},
		{"toggle on", toggleField, "on", `true`, ""},
		{"toggle YES", toggleField, "YES", `true`, ""},
		{"toggle true", toggleField, "true", `true`, ""},
		{"toggle off", toggleField, "Off", `false`, ""},
		{"toggle no", toggleField, "no", `false`, ""},
		{"toggle false", toggleField, "false", `false`, ""},
		{"toggle maybe", toggleField, "maybe", "", "neither on nor off"},
		{"select value", modeField, "slow", `"slow"`, ""},
		{"select case", modeField, "FAST", `"fast"`, ""},
		{"select label", modeField, "quite slow", `"slow"`, ""},
		{"select unknown", modeField, "turbo", "", "fast, slow"},
		{"select without options", freeField, "anything", `"anything"`, ""},
		{"multi", gamesField, "go, chess", `["go","chess"]`, ""},
		{"multi label and repeat", gamesField, "three,go,3", `["3","go"]`, ""},
		{"multi empty", gamesField, " , ", `[]`, ""},
		{"multi unknown", gamesField, "go, poker", "", `"poker" is not one of the choices`},
		{"channel id", chanField, "300000000000000001", `"300000000000000001"`, ""},
		{"channel mention", chanField, "<#300000000000000001>", `"300000000000000001"`, ""},
		{"channel name", chanField, "#general", "", "not a channel"},
		{"channel role mention", chanField, "<@&300000000000000001>", "", "not a channel"},
		{"role mention", roleField, "<@&300000000000000002>", `"300000000000000002"`, ""},
		{"role id", roleField, "300000000000000002", `"300000000000000002"`, ""},
		{"role channel mention", roleField, "<#300000000000000002>", "", "not a role"},
		{"role too long", roleField, strings.Repeat("1", 21), "", "not a role"},
		{"color", colorField, "#00FF7f", `"#00ff7f"`, ""},
		{"color bare hex", colorField, "5865f2", `"#5865f2"`, ""},
		{"color name", colorField, "red", "", "#rrggbb"},
		{"color short", colorField, "#fff", "", "#rrggbb"},
		{"text", textField, "Hi {user}", `"Hi {user}"`, ""},
		{"text keeps spaces", textField, "  hi  ", `"  hi  "`, ""},
		{"text at limit", textField, strings.Repeat("é", MaxTextSetting), `"` + strings.Repeat("é", MaxTextSetting) + `"`, ""},
		{"text too long", textField, strings.Repeat("x", MaxTextSetting+1), "", "the limit is 1000"},
		{"textarea longer", areaField, strings.Repeat("x", MaxTextSetting+1), `"` + strings.Repeat("x", MaxTextSetting+1) + `"`, ""},
		{"textarea too long", areaField, strings.Repeat("x", MaxTextareaSetting+1), "", "the limit is 4000"},
		{"secret", secretField, " sk-123\n", `"sk-123"`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.field.FromInput(tt.input)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("FromInput(%q) = %s, %v; want an error with %q", tt.input, got, err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("FromInput(%q) = %s, %v; want %s", tt.input, got, err, tt.want)
			}
			if tt.field.Secret() {
				return
			}
			// What FromInput stores reads back as its type, and the form
			// shows it so that submitting it again stores the same.
			typed, ok := tt.field.Typed(got)
			if !ok {
				t.Fatalf("Typed(%s) does not fit", got)
			}
			again, err := tt.field.FromInput(tt.field.FormatInput(typed))
			if err != nil || string(again) != string(got) {
				t.Fatalf("round trip through %q = %s, %v; want %s", tt.field.FormatInput(typed), again, err, got)
			}
		})
	}
}

// Typed keeps the rules config.get has always had.
func TestTyped(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		field SettingField
		raw   string
		want  any // nil: does not fit
	}{
		{"number", limitField, `7`, 7.0},
		{"number as string", limitField, `"7"`, 7.0},
		{"number out of range", limitField, `11`, nil},
		{"number not a number", limitField, `"x"`, nil},
		{"toggle on", toggleField, `"on"`, true},
		{"toggle 1", toggleField, `1`, true},
		{"toggle empty", toggleField, `""`, false},
		{"toggle bool", toggleField, `false`, false},
		{"toggle maybe", toggleField, `"maybe"`, nil},
		{"multi list", gamesField, `["go", "poker", 3]`, []string{"go", "3"}},
		{"multi comma string", gamesField, `"chess, go"`, []string{"chess", "go"}},
		{"multi object", gamesField, `{}`, nil},
		{"select", modeField, `"slow"`, "slow"},
		{"select unknown", modeField, `"turbo"`, nil},
		{"channel", chanField, `"300000000000000001"`, "300000000000000001"},
		{"channel not id", chanField, `"#general"`, nil},
		{"role number", roleField, `12345`, "12345"}, // large ids as JSON numbers lose digits (float64), as before
		{"color number", colorField, `16755200`, "#ffaa00"},
		{"color string", colorField, `"#00FF7f"`, "#00ff7f"},
		{"color bad", colorField, `"red"`, nil},
		{"color fraction", colorField, `1.5`, nil},
		{"text number", textField, `42`, "42"},
		{"text object", textField, `{}`, nil},
		{"secret", secretField, `"x"`, nil},
		{"null", textField, `null`, nil},
		{"nothing", textField, ``, nil},
		{"unknown type", SettingField{ID: "x", Type: "slider"}, `"5"`, "5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.field.Typed(json.RawMessage(tt.raw))
			if tt.want == nil {
				if ok {
					t.Fatalf("Typed(%s) = %#v, want no fit", tt.raw, got)
				}
				return
			}
			if !ok || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Typed(%s) = %#v, %v; want %#v", tt.raw, got, ok, tt.want)
			}
		})
	}
}

func TestResolveAndCurrent(t *testing.T) {
	t.Parallel()
	schema := SettingsSchema{
		{ID: "limit", Type: SettingNumber, Default: json.RawMessage(`5`), Min: ptr(1), Max: ptr(10)},
		{ID: "token", Type: SettingSecret},
		{ID: "mode", Type: SettingSelect, Default: json.RawMessage(`"nope"`), Options: modeField.Options},
	}
	stored := map[string]json.RawMessage{"limit": json.RawMessage(`11`), "token": json.RawMessage(`"leak"`), "extra": json.RawMessage(`[1]`), "hidden": json.RawMessage(`"x"`)}
	got := schema.Resolve(stored, []string{"hidden"})
	want := map[string]any{"limit": 5.0, "extra": json.RawMessage(`[1]`)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Resolve = %#v, want %#v", got, want)
	}
	if v, ok := schema[0].Current(json.RawMessage(`3`)); !ok || v != 3.0 {
		t.Fatalf("Current(3) = %v, %v", v, ok)
	}
	if v, ok := schema[2].Current(nil); ok {
		t.Fatalf("a default that does not fit is current: %v", v)
	}
}

// FuzzFromInput: whatever an admin types, FromInput does not panic, and
// what it accepts reads back as its type and shows in the form so that
// submitting it again stores the same.
func FuzzFromInput(f *testing.F) {
	fields := []SettingField{limitField, ratioField, toggleField, modeField, freeField, gamesField, chanField, roleField, colorField, textField, areaField}
	for _, seed := range []string{"7", "-0", "1e400", "on", "FAST", "quite slow", "go, chess,,3", "<#1>", "<@&2>", "#00FF7f", "5865f2", "héllo\x00", " ", "\xff"} {
		for i := range fields {
			f.Add(i, seed)
		}
	}
	f.Fuzz(func(t *testing.T, i int, text string) {
		if i < 0 || i >= len(fields) {
			return
		}
		field := fields[i]
		raw, err := field.FromInput(text)
		if err != nil {
			return
		}
		typed, ok := field.Typed(raw)
		if !ok {
			t.Fatalf("%s: FromInput(%q) = %s, which Typed refuses", field.ID, text, raw)
		}
		again, err := field.FromInput(field.FormatInput(typed))
		if err != nil || string(again) != string(raw) {
			t.Fatalf("%s: round trip of %q: %s, %v; want %s", field.ID, text, again, err, raw)
		}
	})
}
