-- 0007_gallery: what the gallery keeps beyond versions. A version's state
-- is versions.state; how it got there is review_history, one row per step,
-- never changed or deleted.

CREATE TABLE review_history (
  id INTEGER PRIMARY KEY,
  version_id INTEGER NOT NULL REFERENCES versions(id),
  actor TEXT NOT NULL,               -- the author or reviewer (a user id)
  action TEXT NOT NULL
    CHECK (action IN ('submitted','claimed','approved','rejected','changes_requested','withdrawn')),
  reason TEXT NOT NULL DEFAULT '',   -- the reviewer's feedback on rejected / changes_requested
  at INTEGER NOT NULL);
-- a version's history in order
CREATE INDEX review_history_by_version ON review_history (version_id, id);
-- an author's record (approved and rejected counts) goes through versions
CREATE INDEX review_history_by_action ON review_history (action, version_id);

-- version_findings: what the validation pipeline said about a submitted
-- version that did not refuse it (warnings), for its reviewers.
CREATE TABLE version_findings (
  version_id INTEGER NOT NULL REFERENCES versions(id),
  seq INTEGER NOT NULL,              -- the pipeline's order
  severity TEXT NOT NULL CHECK (severity IN ('error','warning')),
  stage TEXT NOT NULL,               -- 'package', 'scan', 'version', 'author'
  line INTEGER NOT NULL DEFAULT 0,   -- 0: about the manifest or package as a whole
  message TEXT NOT NULL,
  PRIMARY KEY (version_id, seq)) WITHOUT ROWID;

-- version_claims: the maintainer who claimed a version for review. The row
-- stays after the decision: it names who reviewed it.
CREATE TABLE version_claims (
  version_id INTEGER PRIMARY KEY REFERENCES versions(id),
  reviewer TEXT NOT NULL,
  claimed_at INTEGER NOT NULL);

-- gallery_extensions: how a gallery extension is listed. No row reads as
-- no category, not featured, listed.
CREATE TABLE gallery_extensions (
  extension_id INTEGER PRIMARY KEY REFERENCES extensions(id) ON DELETE CASCADE,
  category TEXT NOT NULL DEFAULT '',
  featured INTEGER NOT NULL DEFAULT 0,
  unlisted INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL);
-- /gallery featured
CREATE INDEX gallery_extensions_featured ON gallery_extensions (featured) WHERE featured != 0;

-- extension_tags: the normalised tags of the newest approved version, in
-- the manifest's order.
CREATE TABLE extension_tags (
  extension_id INTEGER NOT NULL REFERENCES extensions(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  pos INTEGER NOT NULL,
  PRIMARY KEY (extension_id, tag)) WITHOUT ROWID;
-- /gallery search <query> <tag>
CREATE INDEX extension_tags_by_tag ON extension_tags (tag, extension_id);

-- banned_authors may not submit, rate, or be listed.
CREATE TABLE banned_authors (
  user_id TEXT PRIMARY KEY,
  reason TEXT NOT NULL DEFAULT '',
  banned_by TEXT NOT NULL,
  banned_at INTEGER NOT NULL) WITHOUT ROWID;

-- author_keys: an author's ed25519 public key; once registered, every
-- submission of theirs must be signed with it.
CREATE TABLE author_keys (
  user_id TEXT PRIMARY KEY,
  public_key BLOB NOT NULL CHECK (length(public_key) = 32),
  registered_at INTEGER NOT NULL) WITHOUT ROWID;

-- ratings: one per user and extension, editable.
CREATE TABLE ratings (
  extension_id INTEGER NOT NULL REFERENCES extensions(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
  text TEXT NOT NULL DEFAULT '' CHECK (length(text) <= 1000),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (extension_id, user_id)) WITHOUT ROWID;

-- Install counts per version come from installs and install_history; this
-- lets them be read per extension without a scan of every guild's history.
CREATE INDEX install_history_by_extension ON install_history (extension_id, to_version_id);
