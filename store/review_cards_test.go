package store

import (
	"context"
	"errors"
	"testing"
)

// A card is found again by its version, a second post replaces the first,
// and a version without a card says so.
func TestReviewCards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v := submit(t, s, "greeter", "author", "1.0.0", "Greets.")
	other := submit(t, s, "waver", "author", "1.0.0", "Waves.")

	if _, err := s.ReviewCard(ctx, v.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("card before posting: %v, want ErrNotFound", err)
	}
	if err := s.SaveReviewCard(ctx, ReviewCard{Version: v.ID, ChannelID: "c1", MessageID: "m1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveReviewCard(ctx, ReviewCard{Version: other.ID, ChannelID: "c1", MessageID: "m9"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.ReviewCard(ctx, v.ID)
	if err != nil || c.ChannelID != "c1" || c.MessageID != "m1" || c.PostedAt.IsZero() {
		t.Fatalf("card = %+v, %v", c, err)
	}
	if err := s.SaveReviewCard(ctx, ReviewCard{Version: v.ID, ChannelID: "c2", MessageID: "m2"}); err != nil {
		t.Fatal(err)
	}
	if c, err = s.ReviewCard(ctx, v.ID); err != nil || c.ChannelID != "c2" || c.MessageID != "m2" {
		t.Fatalf("card after a repost = %+v, %v", c, err)
	}
	if c, err = s.ReviewCard(ctx, other.ID); err != nil || c.MessageID != "m9" {
		t.Fatalf("the other version's card = %+v, %v", c, err)
	}
	if n := count(t, s, `SELECT count(*) FROM review_cards`); n != 2 {
		t.Fatalf("%d card rows, want 2", n)
	}
}

// An author's gallery extensions, by name; someone else's are not listed.
func TestAuthorExtensions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	submit(t, s, "waver", "author", "1.0.0", "Waves.")
	submit(t, s, "greeter", "author", "1.0.0", "Greets.")
	submit(t, s, "other", "someone", "1.0.0", "Not theirs.")
	es, err := s.AuthorExtensions(ctx, "author")
	if err != nil || len(es) != 2 || es[0].Name != "greeter" || es[1].Name != "waver" {
		t.Fatalf("AuthorExtensions = %+v, %v", es, err)
	}
	if es, err := s.AuthorExtensions(ctx, "nobody"); err != nil || len(es) != 0 {
		t.Fatalf("AuthorExtensions(nobody) = %+v, %v", es, err)
	}
}
