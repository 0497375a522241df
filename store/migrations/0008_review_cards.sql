-- 0008_review_cards: the message in the review channel that shows a
-- gallery version to its reviewers. Every later step of the version edits
-- that message in place, so the bot must remember where it is.

CREATE TABLE review_cards (
  version_id INTEGER PRIMARY KEY REFERENCES versions(id),
  channel_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  posted_at INTEGER NOT NULL);
