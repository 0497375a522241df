package store

import (
	"context"
	"slices"
	"testing"
)

func TestUsageAddsUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v1 := submit(t, s, "greeter", "ann", "1.0.0", "")
	publish(t, s, v1.ID, nil)
	v2 := submit(t, s, "greeter", "ann", "1.1.0", "")
	ext := v1.ExtensionID
	add := func(c map[UsageKey]UsageCount) {
		t.Helper()
		if err := s.AddUsage(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	add(map[UsageKey]UsageCount{
		{ext, v1.ID, "g1", 100}: {Runs: 3, Errors: 1},
		{ext, v1.ID, "g2", 101}: {Runs: 2},
		{ext, v2.ID, "g1", 102}: {Runs: 5, Errors: 2},
	})
	// A second batch adds to the same rows.
	add(map[UsageKey]UsageCount{{ext, v1.ID, "g1", 100}: {Runs: 1, Errors: 1}})

	by, err := s.UsageByVersion(ctx, ext, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := by[v1.ID]; got != (VersionUsage{UsageCount{Runs: 6, Errors: 2}, 2}) {
		t.Errorf("1.0.0 usage = %+v", got)
	}
	if got := by[v2.ID]; got != (VersionUsage{UsageCount{Runs: 5, Errors: 2}, 1}) {
		t.Errorf("1.1.0 usage = %+v", got)
	}
	if by, err := s.UsageByVersion(ctx, ext, 102); err != nil || by[v1.ID].Runs != 0 || by[v2.ID].Runs != 5 {
		t.Errorf("usage from day 102 = %+v, %v", by, err)
	}
	if n, err := s.ActiveGuilds(ctx, ext, 101); err != nil || n != 2 {
		t.Errorf("active guilds from day 101 = %d, %v", n, err)
	}
	daily, err := s.UsageDaily(ctx, ext, 99, 103)
	want := []UsageCount{{}, {Runs: 4, Errors: 2}, {Runs: 2}, {Runs: 5, Errors: 2}, {}}
	if err != nil || !slices.Equal(daily, want) {
		t.Errorf("daily = %+v, %v; want %+v", daily, err, want)
	}
	if err := s.AddUsage(ctx, map[UsageKey]UsageCount{{ext, 9999, "g1", 100}: {Runs: 1}}); err == nil {
		t.Error("usage of an unknown version was accepted")
	}
}
