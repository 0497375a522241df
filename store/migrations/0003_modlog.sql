-- 0003_modlog: skybot's moderation log. One row per moderation action an
-- extension performed through skybot (ban, unban, kick, timeout, untimeout)
-- and per entry an extension added itself (e.g. a warning). Rows are never
-- changed: the log is the guild's record of what was done, by whom, why.

CREATE TABLE modlog (
  id INTEGER PRIMARY KEY,
  guild_id TEXT NOT NULL,
  action TEXT NOT NULL,          -- 'ban', 'kick', 'warn', ...
  user_id TEXT NOT NULL,         -- the member or user the entry is about
  actor TEXT NOT NULL,           -- 'ext:<name>' or a user id
  extension_id INTEGER REFERENCES extensions(id),
  reason TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL);
-- the guild's log, newest first
CREATE INDEX modlog_by_guild ON modlog (guild_id, id);
-- one user's record
CREATE INDEX modlog_by_user ON modlog (guild_id, user_id, id);
