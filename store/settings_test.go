package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// testKey returns a secret key made of one repeated byte.
func testKey(t testing.TB, b byte) SecretKey {
	t.Helper()
	k, err := ParseSecretKey(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseSecretKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, in string
		ok       bool
	}{
		{"32 bytes", base64.StdEncoding.EncodeToString(make([]byte, 32)), true},
		{"32 bytes with a newline", base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n", true},
		{"16 bytes", base64.StdEncoding.EncodeToString(make([]byte, 16)), false},
		{"not base64", "not base64!", false},
		{"empty", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := ParseSecretKey(tt.in)
			if (err == nil) != tt.ok || (err == nil && k.IsZero()) {
				t.Fatalf("ParseSecretKey = %v, %v; want ok %v", k, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), SecretKeyEnv) {
				t.Fatalf("error %q does not name %s", err, SecretKeyEnv)
			}
		})
	}
}

func TestSettingsRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v := save(t, s, "conf", "", "owner", "1.0.0")
	if err := s.SetSetting(ctx, "g", v.ExtensionID, "greeting", json.RawMessage(`  "hi there" `)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "g", v.ExtensionID, "limit", json.RawMessage(`{"a": [1, 2]}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "g2", v.ExtensionID, "greeting", json.RawMessage(`"other guild"`)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Settings(ctx, "g", v.ExtensionID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got["greeting"]) != `"hi there"` || string(got["limit"]) != `{"a":[1,2]}` {
		t.Fatalf("Settings = %s", got)
	}
	if err := s.DeleteSetting(ctx, "g", v.ExtensionID, "limit"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Settings(ctx, "g", v.ExtensionID); len(got) != 1 {
		t.Fatalf("after delete: %s", got)
	}

	for _, tt := range []struct {
		name  string
		ext   ExtensionID
		key   string
		value string
		want  error
	}{
		{"not JSON", v.ExtensionID, "k", `{`, nil},
		{"empty key", v.ExtensionID, "", `1`, nil},
		{"long key", v.ExtensionID, strings.Repeat("k", MaxSettingKey+1), `1`, nil},
		{"huge value", v.ExtensionID, "k", `"` + strings.Repeat("x", MaxSettingValue) + `"`, nil},
		{"unknown extension", 999, "k", `1`, ErrNotFound},
	} {
		err := s.SetSetting(ctx, "g", tt.ext, tt.key, json.RawMessage(tt.value))
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: SetSetting = %v, want an error (%v)", tt.name, err, tt.want)
		}
	}
}

func TestSecretsSealedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := dir + "/secrets.db"
	s := openAt(t, path, WithSecretKey(testKey(t, 7)))
	v := save(t, s, "vault", "", "owner", "1.0.0")
	other := save(t, s, "other", "", "owner", "1.0.0")
	const plain = "sk-live-0123456789abcdef"
	if err := s.SetSecret(ctx, "g", v.ExtensionID, "api_key", NewSecretValue(plain)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSecret(ctx, "g", v.ExtensionID, "b_token", NewSecretValue("second")); err != nil {
		t.Fatal(err)
	}

	// The raw column holds neither the plaintext nor its base64.
	var sealed []byte
	if err := s.r.QueryRowContext(ctx, `SELECT sealed FROM ext_secrets WHERE name = 'api_key'`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{plain, base64.StdEncoding.EncodeToString([]byte(plain)), "0123456789"} {
		if bytes.Contains(sealed, []byte(leak)) {
			t.Fatalf("the sealed column contains %q", leak)
		}
	}
	var dump int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM ext_secrets WHERE CAST(sealed AS TEXT) LIKE '%' || ? || '%'`, plain).Scan(&dump); err != nil || dump != 0 {
		t.Fatalf("plaintext found in %d rows, %v", dump, err)
	}

	got, ok, err := s.Secret(ctx, "g", v.ExtensionID, "api_key")
	if err != nil || !ok || got.Reveal() != plain {
		t.Fatalf("Secret = %v %v %v", got, ok, err)
	}
	if _, ok, err := s.Secret(ctx, "g", v.ExtensionID, "unset"); err != nil || ok {
		t.Fatalf("unset secret: %v %v", ok, err)
	}
	if names, err := s.SecretNames(ctx, "g", v.ExtensionID); err != nil || fmt.Sprint(names) != "[api_key b_token]" {
		t.Fatalf("SecretNames = %v, %v", names, err)
	}

	// A sealed value moved to another install (or renamed) does not open.
	if _, err := s.w.ExecContext(ctx, `INSERT INTO ext_secrets (guild_id, extension_id, name, key_id, sealed, updated_at)
		SELECT guild_id, ?, name, key_id, sealed, updated_at FROM ext_secrets WHERE name = 'api_key'`, other.ExtensionID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Secret(ctx, "g", other.ExtensionID, "api_key"); err == nil {
		t.Fatal("a secret copied to another extension opened")
	}

	// Deleting works without touching the others.
	if err := s.DeleteSecret(ctx, "g", v.ExtensionID, "b_token"); err != nil {
		t.Fatal(err)
	}
	if names, _ := s.SecretNames(ctx, "g", v.ExtensionID); len(names) != 1 {
		t.Fatalf("after delete: %v", names)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened with another key: names are listed, values refused plainly.
	s2 := openAt(t, path, WithSecretKey(testKey(t, 8)))
	if _, _, err := s2.Secret(ctx, "g", v.ExtensionID, "api_key"); err == nil || !strings.Contains(err.Error(), "another key") {
		t.Fatalf("other key: %v", err)
	}
	// Reopened without a key: reading and writing secrets say what to set.
	s3 := openAt(t, dir+"/secrets.db")
	if _, _, err := s3.Secret(ctx, "g", v.ExtensionID, "api_key"); !errors.Is(err, ErrNoSecretKey) {
		t.Fatalf("no key, read: %v", err)
	}
	if names, err := s3.SecretNames(ctx, "g", v.ExtensionID); err != nil || len(names) != 1 {
		t.Fatalf("no key, names: %v %v", names, err)
	}
}

func TestSecretWithoutKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v := save(t, s, "nokey", "", "owner", "1.0.0")
	err := s.SetSecret(ctx, "g", v.ExtensionID, "token", NewSecretValue("x"))
	if !errors.Is(err, ErrNoSecretKey) || !strings.Contains(err.Error(), SecretKeyEnv) {
		t.Fatalf("SetSecret without a key = %v; want ErrNoSecretKey naming %s", err, SecretKeyEnv)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM ext_secrets"); n != 0 {
		t.Fatalf("%d secret rows written", n)
	}
	// Settings need no key.
	if err := s.SetSetting(ctx, "g", v.ExtensionID, "a", json.RawMessage(`1`)); err != nil {
		t.Fatal(err)
	}
}

func TestSecretLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, WithSecretKey(testKey(t, 1)))
	v := save(t, s, "lim", "", "owner", "1.0.0")
	for _, tt := range []struct {
		name, key, value string
	}{
		{"empty name", "", "x"},
		{"long name", strings.Repeat("n", MaxSettingKey+1), "x"},
		{"huge value", "n", strings.Repeat("x", MaxSecretValue+1)},
	} {
		if err := s.SetSecret(ctx, "g", v.ExtensionID, tt.key, NewSecretValue(tt.value)); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	if err := s.SetSecret(ctx, "g", 999, "n", NewSecretValue("x")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown extension: %v", err)
	}
}

// TestSecretsRedacted: a key or a secret value printed, logged or
// marshalled reads REDACTED.
func TestSecretsRedacted(t *testing.T) {
	t.Parallel()
	const plain = "hunter2-plaintext"
	sv := NewSecretValue(plain)
	k := testKey(t, 9) // 32 tab characters: easy to spot if printed raw
	keyB64 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	log.Info("x", "secret", sv, "key", k)
	js, _ := json.Marshal(map[string]any{"s": sv, "k": k})
	wrapped := struct{ S SecretValue }{sv}
	outs := []string{
		fmt.Sprint(sv), fmt.Sprintf("%v %s %q %x %#v %+v", sv, sv, sv, sv, sv, wrapped), fmt.Sprintf("%#v", wrapped),
		fmt.Sprint(k), fmt.Sprintf("%#v %v", k, &k), logged.String(), string(js),
	}
	for _, out := range outs {
		if strings.Contains(out, plain) || strings.Contains(out, "\t\t\t\t") || strings.Contains(out, `\t\t\t\t`) || strings.Contains(out, keyB64) {
			t.Errorf("leak: %s", out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("no REDACTED in %s", out)
		}
	}
}
