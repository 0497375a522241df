-- 0005_jobs: durable one-shot jobs of extensions (sky.later). A key is
-- unique per install: a new job with the same key replaces the pending one.

CREATE TABLE ext_jobs (
  guild_id TEXT NOT NULL,
  extension_id INTEGER NOT NULL REFERENCES extensions(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  due_at INTEGER NOT NULL,        -- epoch ms
  payload TEXT NOT NULL DEFAULT 'null',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (guild_id, extension_id, key)) WITHOUT ROWID;
CREATE INDEX ext_jobs_due ON ext_jobs (due_at);
