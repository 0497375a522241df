package bot

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/store"
)

// configManifest declares one setting of every type.
const configManifest = `{"name": "confext", "settings": [
	{"id": "greeting", "type": "text", "default": "Welcome!"},
	{"id": "bio", "type": "textarea"},
	{"id": "limit", "type": "number", "default": 5, "min": 1, "max": 10},
	{"id": "ratio", "type": "number"},
	{"id": "token", "type": "secret", "label": "API token"},
	{"id": "enabled", "type": "toggle", "default": false},
	{"id": "loud", "type": "toggle"},
	{"id": "mode", "type": "select", "default": "fast", "options": [{"value": "fast", "label": "Fast"}, {"value": "slow", "label": "Slow"}]},
	{"id": "games", "type": "multi_select", "options": ["chess", "go", {"value": 3, "label": "three"}]},
	{"id": "channel", "type": "channel_select"},
	{"id": "role", "type": "role_select", "default": "not a snowflake"},
	{"id": "color", "type": "color", "default": 16755200}
]}`

// installConfigExt installs an extension with configManifest in r's guild
// and returns an origin for it.
func installConfigExt(t *testing.T, r *rig) extensions.Origin {
	t.Helper()
	v, err := r.store.SaveAndInstall(context.Background(), store.NewVersion{
		Name: "confext", Owner: "1", Version: "1.0.0", Manifest: json.RawMessage(configManifest), Code: "//",
	}, store.Install{GuildID: store.GuildID(r.origin.GuildID), Enabled: true, InstalledBy: "1"})
	if err != nil {
		t.Fatal(err)
	}
	o := r.run()
	o.ExtensionID, o.VersionID, o.Extension = v.ExtensionID, v.ID, "confext"
	return o
}

func testSecretKey(t *testing.T) store.SecretKey {
	t.Helper()
	k, err := store.ParseSecretKey(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestConfigTypedWithDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newStoreRig(t, store.WithSecretKey(testSecretKey(t)))
	o := installConfigExt(t, r)
	guild := store.GuildID(o.GuildID)

	// Unset: the defaults that fit their type.
	jsonEq(t, "defaults", r.must(o, "config.getAll"),
		`{"greeting":"Welcome!","limit":5,"enabled":false,"mode":"fast","color":"#ffaa00"}`)

	// The admin's values, some as SkynetBot's form saved them (strings).
	for k, v := range map[string]string{
		"greeting": `"Hi {user}"`, "bio": `42`, "limit": `"7"`, "ratio": `0.25`, "enabled": `"on"`, "loud": `"off"`,
		"mode": `"turbo"`, "games": `["go", "poker", 3]`, "channel": `"300000000000000001"`, "role": `"300000000000000002"`,
		"color": `"#00FF7f"`, "extra": `{"free": ["form"]}`, "token": `"leaked into settings"`,
	} {
		if err := r.store.SetSetting(ctx, guild, o.ExtensionID, k, json.RawMessage(v)); err != nil {
			t.Fatal(err)
		}
	}
	const plain = "tok-SECRET-0042"
	if err := r.store.SetSecret(ctx, guild, o.ExtensionID, "token", store.NewSecretValue(plain)); err != nil {
		t.Fatal(err)
	}
	if err := r.store.SetSecret(ctx, guild, o.ExtensionID, "undeclared_secret", store.NewSecretValue(plain)); err != nil {
		t.Fatal(err)
	}
	if err := r.store.SetSetting(ctx, guild, o.ExtensionID, "undeclared_secret", json.RawMessage(`"also hidden"`)); err != nil {
		t.Fatal(err)
	}
	all := r.must(o, "config.getAll")
	jsonEq(t, "admin values", all, `{
		"greeting": "Hi {user}", "bio": "42", "limit": 7, "ratio": 0.25, "enabled": true, "loud": false,
		"mode": "fast", "games": ["go", "3"], "channel": "300000000000000001", "role": "300000000000000002",
		"color": "#00ff7f", "extra": {"free": ["form"]}}`)
	if strings.Contains(string(all), plain) || strings.Contains(string(all), "token") || strings.Contains(string(all), "hidden") {
		t.Fatalf("a secret reached getAll: %s", all)
	}

	for _, tt := range []struct {
		key  string
		want string // "" for undefined
	}{
		{"limit", `7`},
		{"enabled", `true`},
		{"games", `["go","3"]`},
		{"token", ""},
		{"undeclared_secret", ""},
		{"nothing", ""},
	} {
		out := r.must(o, "config.get", tt.key)
		if tt.want == "" {
			if len(out) != 0 {
				t.Errorf("config.get(%q) = %s, want undefined", tt.key, out)
			}
			continue
		}
		jsonEq(t, "config.get("+tt.key+")", out, tt.want)
	}

	// Values that do not fit fall back to the default.
	for k, v := range map[string]string{"limit": `11`, "enabled": `"maybe"`, "color": `"red"`, "channel": `"#general"`} {
		if err := r.store.SetSetting(ctx, guild, o.ExtensionID, k, json.RawMessage(v)); err != nil {
			t.Fatal(err)
		}
	}
	all = r.must(o, "config.getAll")
	var got map[string]any
	_ = json.Unmarshal(all, &got)
	if got["limit"] != 5.0 || got["enabled"] != false || got["color"] != "#ffaa00" {
		t.Fatalf("fallbacks: %s", all)
	}
	if _, ok := got["channel"]; ok {
		t.Fatalf("a channel that is not an id shows: %s", all)
	}
	if _, err := r.call(o, "config.get"); codeOfErr(err) == "" {
		t.Fatalf("config.get(): %v", err)
	}

	// The legacy extension module reads the same view.
	settings, err := ExtensionSettings(ctx, r.store, guild, o.ExtensionID, json.RawMessage(configManifest))
	if err != nil || settings["limit"] != 5.0 || settings["token"] != nil {
		t.Fatalf("ExtensionSettings = %v, %v", settings, err)
	}
}

func TestInjectSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newStoreRig(t, store.WithSecretKey(testSecretKey(t)))
	o := installConfigExt(t, r)
	guild := store.GuildID(o.GuildID)
	if err := r.store.SetSecret(ctx, guild, o.ExtensionID, "token", store.NewSecretValue("Bearer abc")); err != nil {
		t.Fatal(err)
	}
	got, err := InjectSecrets(ctx, r.store, guild, o.ExtensionID, map[string]string{"Authorization": "token", "X-Unset": "nothing"})
	if err != nil || len(got) != 1 || got["Authorization"] != "Bearer abc" {
		t.Fatalf("InjectSecrets = %v, %v", got, err)
	}
	// Another install's secrets are not reachable.
	if got, err := InjectSecrets(ctx, r.store, guild, r.origin.ExtensionID, map[string]string{"Authorization": "token"}); err != nil || len(got) != 0 {
		t.Fatalf("other extension: %v, %v", got, err)
	}
}

func TestSecretsNeedAKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRig(t) // a store opened without a key
	guild := store.GuildID(r.origin.GuildID)
	err := r.store.SetSecret(ctx, guild, r.origin.ExtensionID, "token", store.NewSecretValue("x"))
	if !errors.Is(err, store.ErrNoSecretKey) || !strings.Contains(err.Error(), store.SecretKeyEnv) {
		t.Fatalf("SetSecret without a key = %v", err)
	}
	// Nothing is set, so nothing is injected and nothing fails.
	if got, err := InjectSecrets(ctx, r.store, guild, r.origin.ExtensionID, map[string]string{"A": "token"}); err != nil || len(got) != 0 {
		t.Fatalf("InjectSecrets without a key = %v, %v", got, err)
	}
	// A manifest without settings reads what the admin set, as set.
	if err := r.store.SetSetting(ctx, guild, r.origin.ExtensionID, "free", json.RawMessage(`[1]`)); err != nil {
		t.Fatal(err)
	}
	jsonEq(t, "schemaless getAll", r.must(r.run(), "config.getAll"), `{"free":[1]}`)
}
