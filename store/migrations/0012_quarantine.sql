-- 0012_quarantine: versions whose runs kept ending sandbox workers. A
-- quarantined version runs nowhere and cannot be installed, enabled or
-- rolled back to, in any guild, until the operator lifts it
-- (skybot quarantine lift). reason is the last failure, in words.
CREATE TABLE quarantined_versions (
  version_id INTEGER PRIMARY KEY REFERENCES versions(id),
  reason TEXT NOT NULL,
  quarantined_at INTEGER NOT NULL);
