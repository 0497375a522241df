-- 0006_permissions: what a guild admin allows one installed extension
-- beyond its scopes (/ext permissions): where its commands run and where
-- it may send and read, which roles may use its commands, and whether
-- actions a member starts need that member's own Discord permission.

CREATE TABLE install_permissions (
  guild_id TEXT NOT NULL,
  extension_id INTEGER NOT NULL REFERENCES extensions(id) ON DELETE CASCADE,
  channels TEXT NOT NULL DEFAULT '[]',  -- JSON array of channel ids
  roles TEXT NOT NULL DEFAULT '[]',     -- JSON array of role ids
  member_checks INTEGER NOT NULL DEFAULT 1,
  updated_by TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (guild_id, extension_id)) WITHOUT ROWID;
