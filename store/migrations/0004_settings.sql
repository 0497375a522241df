-- 0004_settings: what a guild admin configured for an installed extension.
-- Settings are plain JSON values by field id; secrets are sealed with
-- AES-256-GCM under the operator's key and never leave the trusted side.

CREATE TABLE ext_settings (
  guild_id TEXT NOT NULL,
  extension_id INTEGER NOT NULL REFERENCES extensions(id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,          -- JSON
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (guild_id, extension_id, key)) WITHOUT ROWID;

CREATE TABLE ext_secrets (
  guild_id TEXT NOT NULL,
  extension_id INTEGER NOT NULL REFERENCES extensions(id),
  name TEXT NOT NULL,
  key_id TEXT NOT NULL,         -- fingerprint of the key that sealed it
  sealed BLOB NOT NULL,         -- 12-byte nonce, then ciphertext and tag
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (guild_id, extension_id, name)) WITHOUT ROWID;
