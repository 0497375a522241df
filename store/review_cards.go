package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReviewCard is where the review channel shows one gallery version: the
// message skybot posted when the version entered the queue and edits at
// each later step.
type ReviewCard struct {
	Version   VersionID
	ChannelID string
	MessageID string
	PostedAt  time.Time
}

// SaveReviewCard records the card of a version, replacing an earlier one
// (a card posted again after its message was deleted).
func (s *Store) SaveReviewCard(ctx context.Context, c ReviewCard) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO review_cards (version_id, channel_id, message_id, posted_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (version_id) DO UPDATE SET channel_id = excluded.channel_id, message_id = excluded.message_id, posted_at = excluded.posted_at`,
		c.Version, c.ChannelID, c.MessageID, ms(s.now()))
	if err != nil {
		return fmt.Errorf("save review card of version %d: %w", c.Version, err)
	}
	return nil
}

// ReviewCard returns the card of a version, or ErrNotFound when none was
// posted.
func (s *Store) ReviewCard(ctx context.Context, id VersionID) (ReviewCard, error) {
	c := ReviewCard{Version: id}
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT channel_id, message_id, posted_at FROM review_cards WHERE version_id = ?`, id).
		Scan(&c.ChannelID, &c.MessageID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return ReviewCard{}, fmt.Errorf("review card of version %d: %w", id, err)
	}
	c.PostedAt = fromMS(at)
	return c, nil
}

// AuthorExtensions lists the gallery extensions user owns, by name (for
// /publish status).
func (s *Store) AuthorExtensions(ctx context.Context, user UserID) ([]Extension, error) {
	es, err := queryAll(ctx, s.r, scanExtension, `SELECT `+extensionCols+` FROM extensions
		WHERE owner_id = ? AND local_guild = '' ORDER BY name`, user)
	if err != nil {
		return nil, fmt.Errorf("extensions of %s: %w", user, err)
	}
	return es, nil
}
