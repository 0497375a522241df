-- 0011_premium_support: premium extensions and support threads.
-- premium: only guilds whose tier includes premium extensions may install
-- it. support_thread_id: the extension's thread in [gallery]
-- support_forum_id ('' until skybot made one).

ALTER TABLE gallery_extensions ADD COLUMN premium INTEGER NOT NULL DEFAULT 0;
ALTER TABLE gallery_extensions ADD COLUMN support_thread_id TEXT NOT NULL DEFAULT '';
