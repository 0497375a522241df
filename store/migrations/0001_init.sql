-- 0001_init: the whole first schema. Times are unix milliseconds.

-- extensions: a name, owned by its first author. local_guild = '' for gallery extensions,
-- or the guild id for a guild's private upload (an unreviewed .skyext an admin attached).
CREATE TABLE extensions (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  local_guild TEXT NOT NULL DEFAULT '',
  owner_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (name, local_guild));

-- versions are immutable once written (trigger below); state moves along the review flow.
CREATE TABLE versions (
  id INTEGER PRIMARY KEY,
  extension_id INTEGER NOT NULL REFERENCES extensions(id),
  version TEXT NOT NULL,            -- strict semver, e.g. 1.4.0
  manifest TEXT NOT NULL,           -- JSON
  code TEXT NOT NULL,
  md5 TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  signature BLOB,
  state TEXT NOT NULL DEFAULT 'saved'
    CHECK (state IN ('draft','saved','queue','review','published','rejected')),
  submitted_by TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  UNIQUE (extension_id, version));

-- The parent key of the (version_id, extension_id) foreign keys below: a version
-- pointer must name a version of the same extension.
CREATE UNIQUE INDEX versions_id_extension ON versions (id, extension_id);

-- Only state may change once a version is written.
CREATE TRIGGER versions_immutable BEFORE UPDATE ON versions
WHEN NEW.id IS NOT OLD.id
  OR NEW.extension_id IS NOT OLD.extension_id
  OR NEW.version IS NOT OLD.version
  OR NEW.manifest IS NOT OLD.manifest
  OR NEW.code IS NOT OLD.code
  OR NEW.md5 IS NOT OLD.md5
  OR NEW.sha256 IS NOT OLD.sha256
  OR NEW.signature IS NOT OLD.signature
  OR NEW.submitted_by IS NOT OLD.submitted_by
  OR NEW.created_at IS NOT OLD.created_at
BEGIN
  SELECT RAISE(ABORT, 'versions are immutable');
END;

-- one row per guild x extension: the active version pointer
CREATE TABLE installs (
  guild_id TEXT NOT NULL,
  extension_id INTEGER NOT NULL REFERENCES extensions(id),
  version_id INTEGER NOT NULL REFERENCES versions(id),
  enabled INTEGER NOT NULL DEFAULT 1,
  granted_scopes TEXT NOT NULL DEFAULT '[]', -- JSON array: the consent
  system INTEGER NOT NULL DEFAULT 0,
  installed_by TEXT NOT NULL,
  installed_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (guild_id, extension_id),
  FOREIGN KEY (version_id, extension_id) REFERENCES versions (id, extension_id));
-- which guilds run an extension (marketplace updates) and the foreign-key checks on versions
CREATE INDEX installs_by_extension ON installs (extension_id);
CREATE INDEX installs_by_version ON installs (version_id);

CREATE TABLE install_history (
  id INTEGER PRIMARY KEY,
  guild_id TEXT NOT NULL,
  extension_id INTEGER NOT NULL REFERENCES extensions(id),
  action TEXT NOT NULL
    CHECK (action IN ('install','update','rollback','enable','disable','uninstall')),
  from_version_id INTEGER REFERENCES versions(id),
  to_version_id INTEGER REFERENCES versions(id),
  actor_id TEXT NOT NULL,
  at INTEGER NOT NULL);
CREATE INDEX install_history_by_install ON install_history (guild_id, extension_id, id);

-- per guild x extension key/value storage; values are JSON text
CREATE TABLE ext_storage (
  guild_id TEXT NOT NULL,
  extension_id INTEGER NOT NULL REFERENCES extensions(id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,      -- JSON
  expires_at INTEGER,       -- unix ms or NULL
  PRIMARY KEY (guild_id, extension_id, key)) WITHOUT ROWID;
-- finds expired entries without scanning the ones that never expire
CREATE INDEX ext_storage_expiry ON ext_storage (guild_id, extension_id, expires_at)
  WHERE expires_at IS NOT NULL;

CREATE TABLE ext_log (
  id INTEGER PRIMARY KEY,
  guild_id TEXT NOT NULL,
  extension_id INTEGER NOT NULL REFERENCES extensions(id),
  version_id INTEGER REFERENCES versions(id),
  at INTEGER NOT NULL,
  level TEXT NOT NULL CHECK (level IN ('debug','info','warn','error')),
  kind TEXT NOT NULL,                -- 'console', 'run', 'error', 'lifecycle'
  message TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '');  -- detail: JS stack, error code
CREATE INDEX ext_log_by_install ON ext_log (guild_id, extension_id, id);

CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  guild_id TEXT NOT NULL,
  extension_id INTEGER REFERENCES extensions(id),
  version_id INTEGER REFERENCES versions(id),
  actor TEXT NOT NULL,               -- 'ext:<name>' or a user id
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL,
  at INTEGER NOT NULL);
CREATE INDEX audit_by_guild ON audit (guild_id, id);

CREATE TABLE guilds (
  guild_id TEXT PRIMARY KEY,
  prefix TEXT NOT NULL DEFAULT '!',
  tier TEXT NOT NULL DEFAULT 'free',
  log_channel_id TEXT NOT NULL DEFAULT '',
  policy TEXT NOT NULL DEFAULT '{}',
  joined_at INTEGER NOT NULL);
