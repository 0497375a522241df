-- 0002_economy: the built-in per-guild currency. A balance row is the sum of
-- its ledger; every change writes one ledger row in the same transaction.

CREATE TABLE economy_balances (
  guild_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  balance INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (guild_id, user_id)) WITHOUT ROWID;
-- the leaderboard
CREATE INDEX economy_by_balance ON economy_balances (guild_id, balance DESC);

CREATE TABLE economy_ledger (
  id INTEGER PRIMARY KEY,
  guild_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  delta INTEGER NOT NULL,
  balance_after INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('add','remove','set','transfer_in','transfer_out')),
  transfer_id INTEGER,          -- the two rows of one transfer share it (the out row's id)
  actor TEXT NOT NULL,          -- 'ext:<name>' or a user id
  reason TEXT NOT NULL DEFAULT '',
  at INTEGER NOT NULL);
CREATE INDEX economy_ledger_by_user ON economy_ledger (guild_id, user_id, id);
