-- 0010_usage: how often each version ran, and failed, per guild and day
-- (day = unix days, UTC). The manager counts in memory and adds to these
-- rows in batches; /ext stats and /gallery info read them.
CREATE TABLE ext_usage (
  extension_id INTEGER NOT NULL REFERENCES extensions(id),
  version_id INTEGER NOT NULL REFERENCES versions(id),
  guild_id TEXT NOT NULL,
  day INTEGER NOT NULL,
  runs INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (extension_id, day, version_id, guild_id)) WITHOUT ROWID;
