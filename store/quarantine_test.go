package store

import (
	"context"
	"errors"
	"testing"
)

func TestQuarantineRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	v1 := save(t, s, "crasher", "", "alice", "1.0.0")
	v2 := save(t, s, "crasher", "", "alice", "1.1.0")
	if _, err := s.QuarantineOf(ctx, v1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before: %v, want ErrNotFound", err)
	}
	if err := s.QuarantineVersion(ctx, v1.ID, "stack: first"); err != nil {
		t.Fatal(err)
	}
	first, err := s.QuarantineOf(ctx, v1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.QuarantineVersion(ctx, v1.ID, "stack: again"); err != nil {
		t.Fatal(err)
	}
	again, err := s.QuarantineOf(ctx, v1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Reason != "stack: again" || !again.At.Equal(first.At) || again.Extension != "crasher" || again.Version != "1.0.0" {
		t.Errorf("quarantined again: %+v (first %+v)", again, first)
	}
	if _, err := s.QuarantineOf(ctx, v2.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the other version: %v, want ErrNotFound", err)
	}
	if qs, err := s.Quarantines(ctx); err != nil || len(qs) != 1 || qs[0].VersionID != v1.ID {
		t.Errorf("Quarantines = %+v, %v", qs, err)
	}
	if err := s.LiftQuarantine(ctx, v1.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.LiftQuarantine(ctx, v1.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("lifting twice: %v, want ErrNotFound", err)
	}
	if qs, err := s.Quarantines(ctx); err != nil || len(qs) != 0 {
		t.Errorf("after lifting: %+v, %v", qs, err)
	}
}
