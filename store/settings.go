package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Settings and secrets: what a guild admin configured for one installed
// extension. Settings are JSON values by field id, readable by the
// extension (the config module). Secrets are sealed at rest with
// AES-256-GCM under the operator's key (WithSecretKey), bound to their
// guild, extension and name, and read back only by trusted code (HTTP
// secret injection); extension code never sees them.

// SecretKeyEnv is the environment variable the operator puts the secret
// key in: the standard base64 of 32 random bytes (`openssl rand -base64 32`).
const SecretKeyEnv = "SKYBOT_SECRET_KEY"

// ErrNoSecretKey is a secret written or read by a store opened without a
// secret key.
var ErrNoSecretKey = errors.New("no secret key is configured: set " + SecretKeyEnv +
	" to the base64 of 32 random bytes (openssl rand -base64 32) to store extension secrets")

// Size limits of what an admin may configure.
const (
	MaxSettingKey   = 100      // characters of a setting key or secret name
	MaxSettingValue = 16 << 10 // bytes of a setting's JSON
	MaxSecretValue  = 8 << 10  // bytes of a secret
)

// SecretKey is the key that seals secrets. It prints and logs as REDACTED.
type SecretKey struct {
	b *[32]byte
}

// ParseSecretKey reads a key in SecretKeyEnv's format.
func ParseSecretKey(b64 string) (SecretKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return SecretKey{}, fmt.Errorf("%s is not base64: %w", SecretKeyEnv, err)
	}
	if len(raw) != 32 {
		return SecretKey{}, fmt.Errorf("%s holds %d bytes; it must be 32 (openssl rand -base64 32)", SecretKeyEnv, len(raw))
	}
	var k [32]byte
	copy(k[:], raw)
	return SecretKey{b: &k}, nil
}

// IsZero reports a key that was never set.
func (k SecretKey) IsZero() bool { return k.b == nil }

func (SecretKey) String() string       { return "REDACTED" }
func (SecretKey) GoString() string     { return "store.SecretKey{REDACTED}" }
func (SecretKey) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// WithSecretKey sets the key that seals secrets. Without it (or with a zero
// key) the store keeps settings but refuses secrets with ErrNoSecretKey.
func WithSecretKey(k SecretKey) Option {
	return func(o *options) {
		if k.IsZero() {
			o.sealer = nil
			return
		}
		o.sealer = newSealer(k)
	}
}

// sealer seals and opens secrets under one key.
type sealer struct {
	aead  cipher.AEAD
	keyID string
}

func newSealer(k SecretKey) *sealer {
	block, err := aes.NewCipher(k.b[:])
	if err != nil {
		panic("store: AES-256 refused a 32-byte key: " + err.Error()) // cannot happen
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("store: GCM: " + err.Error()) // cannot happen
	}
	id := sha256.Sum256(append([]byte("skybot secret key id\x00"), k.b[:]...))
	return &sealer{aead: aead, keyID: hex.EncodeToString(id[:6])}
}

// secretAD binds a sealed value to where it belongs, so that a row copied
// to another install (or renamed) does not open.
func secretAD(guild GuildID, ext ExtensionID, name string) []byte {
	return []byte("skybot secret\x00" + string(guild) + "\x00" + strconv.FormatInt(int64(ext), 10) + "\x00" + name)
}

func (sl *sealer) seal(ad []byte, plain string) ([]byte, error) {
	nonce := make([]byte, sl.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	return sl.aead.Seal(nonce, nonce, []byte(plain), ad), nil
}

func (sl *sealer) open(ad, sealed []byte) (string, error) {
	n := sl.aead.NonceSize()
	if len(sealed) < n+sl.aead.Overhead() {
		return "", errors.New("sealed value is truncated")
	}
	plain, err := sl.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return "", errors.New("sealed value does not open (tampered, or moved from another install)")
	}
	return string(plain), nil
}

// SecretValue is a secret in clear. It prints, logs and marshals as
// REDACTED; Reveal gives the text to the trusted code that must use it.
type SecretValue struct {
	v string
}

// NewSecretValue wraps a secret's text.
func NewSecretValue(s string) SecretValue { return SecretValue{v: s} }

// Reveal returns the secret's text. Only trusted code calls it, to use the
// secret (an HTTP header), never to log or show it.
func (s SecretValue) Reveal() string { return s.v }

func (SecretValue) String() string                  { return "REDACTED" }
func (SecretValue) GoString() string                { return "store.SecretValue{REDACTED}" }
func (SecretValue) LogValue() slog.Value            { return slog.StringValue("REDACTED") }
func (SecretValue) MarshalJSON() ([]byte, error)    { return []byte(`"REDACTED"`), nil }
func (SecretValue) MarshalText() ([]byte, error)    { return []byte("REDACTED"), nil }
func (s SecretValue) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte("REDACTED")) }

func checkSettingKey(what, key string) error {
	if key == "" || utf8.RuneCountInString(key) > MaxSettingKey || !utf8.ValidString(key) {
		return fmt.Errorf("%s %q: want 1 to %d characters", what, key, MaxSettingKey)
	}
	return nil
}

// SetSetting stores the admin's value (JSON) for one setting of an
// install, replacing the previous one.
func (s *Store) SetSetting(ctx context.Context, guild GuildID, ext ExtensionID, key string, value json.RawMessage) error {
	err := checkSettingKey("setting", key)
	var buf bytes.Buffer
	if err == nil {
		if cerr := json.Compact(&buf, value); cerr != nil {
			err = fmt.Errorf("the value is not JSON: %w", cerr)
		} else if buf.Len() > MaxSettingValue {
			err = fmt.Errorf("the value is %d bytes; the limit is %d", buf.Len(), MaxSettingValue)
		}
	}
	if err == nil {
		err = s.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO ext_settings (guild_id, extension_id, key, value, updated_at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, extension_id, key)
				DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				guild, ext, key, buf.String(), ms(s.now()))
			if isForeignKey(err) {
				return fmt.Errorf("extension %d: %w", ext, ErrNotFound)
			}
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("set setting %q of extension %d in guild %s: %w", key, ext, guild, err)
	}
	return nil
}

// DeleteSetting removes the admin's value, so the manifest's default
// applies again; removing an unset setting is not an error.
func (s *Store) DeleteSetting(ctx context.Context, guild GuildID, ext ExtensionID, key string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM ext_settings WHERE guild_id = ? AND extension_id = ? AND key = ?`, guild, ext, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete setting %q of extension %d in guild %s: %w", key, ext, guild, err)
	}
	return nil
}

// Settings returns every value the admin set for an install, by key.
func (s *Store) Settings(ctx context.Context, guild GuildID, ext ExtensionID) (map[string]json.RawMessage, error) {
	kvs, err := queryAll(ctx, s.r, func(sc scanner) ([2]string, error) {
		var kv [2]string
		return kv, sc.Scan(&kv[0], &kv[1])
	}, `SELECT key, value FROM ext_settings WHERE guild_id = ? AND extension_id = ?`, guild, ext)
	if err != nil {
		return nil, fmt.Errorf("settings of extension %d in guild %s: %w", ext, guild, err)
	}
	out := make(map[string]json.RawMessage, len(kvs))
	for _, kv := range kvs {
		out[kv[0]] = json.RawMessage(kv[1])
	}
	return out, nil
}

// CanSealSecrets reports whether the store was opened with a secret key,
// i.e. whether SetSecret can work.
func (s *Store) CanSealSecrets() bool { return s.secrets != nil }

// SetSecret seals and stores one secret of an install, replacing the
// previous one. Without a secret key it fails with ErrNoSecretKey.
func (s *Store) SetSecret(ctx context.Context, guild GuildID, ext ExtensionID, name string, value SecretValue) error {
	err := s.setSecret(ctx, guild, ext, name, value)
	if err != nil {
		return fmt.Errorf("set secret %q of extension %d in guild %s: %w", name, ext, guild, err)
	}
	return nil
}

func (s *Store) setSecret(ctx context.Context, guild GuildID, ext ExtensionID, name string, value SecretValue) error {
	if s.secrets == nil {
		return ErrNoSecretKey
	}
	if err := checkSettingKey("secret", name); err != nil {
		return err
	}
	if len(value.v) > MaxSecretValue {
		return fmt.Errorf("the value is %d bytes; the limit is %d", len(value.v), MaxSecretValue)
	}
	sealed, err := s.secrets.seal(secretAD(guild, ext, name), value.v)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO ext_secrets (guild_id, extension_id, name, key_id, sealed, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, extension_id, name)
			DO UPDATE SET key_id = excluded.key_id, sealed = excluded.sealed, updated_at = excluded.updated_at`,
			guild, ext, name, s.secrets.keyID, sealed, ms(s.now()))
		if isForeignKey(err) {
			return fmt.Errorf("extension %d: %w", ext, ErrNotFound)
		}
		return err
	})
}

// DeleteSecret removes one secret; removing an unset secret is not an error.
func (s *Store) DeleteSecret(ctx context.Context, guild GuildID, ext ExtensionID, name string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM ext_secrets WHERE guild_id = ? AND extension_id = ? AND name = ?`, guild, ext, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete secret %q of extension %d in guild %s: %w", name, ext, guild, err)
	}
	return nil
}

// SecretNames lists the names of the secrets set for an install, in order.
// It needs no key: names are not secret.
func (s *Store) SecretNames(ctx context.Context, guild GuildID, ext ExtensionID) ([]string, error) {
	names, err := queryAll(ctx, s.r, func(sc scanner) (string, error) {
		var n string
		return n, sc.Scan(&n)
	}, `SELECT name FROM ext_secrets WHERE guild_id = ? AND extension_id = ? ORDER BY name`, guild, ext)
	if err != nil {
		return nil, fmt.Errorf("secret names of extension %d in guild %s: %w", ext, guild, err)
	}
	return names, nil
}

// Secret opens one secret of an install; ok is false when it is not set.
// Only trusted code calls it. Without a secret key it fails with
// ErrNoSecretKey; a secret sealed under another key fails saying so.
func (s *Store) Secret(ctx context.Context, guild GuildID, ext ExtensionID, name string) (value SecretValue, ok bool, err error) {
	value, ok, err = s.secret(ctx, guild, ext, name)
	if err != nil {
		return SecretValue{}, false, fmt.Errorf("secret %q of extension %d in guild %s: %w", name, ext, guild, err)
	}
	return value, ok, nil
}

func (s *Store) secret(ctx context.Context, guild GuildID, ext ExtensionID, name string) (SecretValue, bool, error) {
	var keyID string
	var sealed []byte
	err := s.r.QueryRowContext(ctx, `SELECT key_id, sealed FROM ext_secrets WHERE guild_id = ? AND extension_id = ? AND name = ?`,
		guild, ext, name).Scan(&keyID, &sealed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return SecretValue{}, false, nil
	case err != nil:
		return SecretValue{}, false, err
	case s.secrets == nil:
		return SecretValue{}, false, ErrNoSecretKey
	case keyID != s.secrets.keyID:
		return SecretValue{}, false, fmt.Errorf("it was sealed with another key (%s, this store has %s)", keyID, s.secrets.keyID)
	}
	plain, err := s.secrets.open(secretAD(guild, ext, name), sealed)
	if err != nil {
		return SecretValue{}, false, err
	}
	return SecretValue{v: plain}, true, nil
}
