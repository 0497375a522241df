package extensions

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/skyext/skybot/store"
)

// The rotation waits exactly until the schedule's next time, turns the
// featured set there, and stops when its context ends.
func TestFeaturedRotationFollowsTheSchedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gf := newGalleryFixture(t)
	for i, name := range []string{"alpha", "bravo", "charlie"} {
		gf.publish(t, store.UserID("author"+name), ext(name, "1.0.0", "Hi"))
		if _, err := gf.g.Rate(ctx, "rater", name, 5-i, ""); err != nil {
			t.Fatal(err)
		}
	}
	spec, err := cron.ParseStandard("0 12 * * 1") // Mondays at noon
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC) // a Saturday
	waits := make(chan time.Duration)
	fire := make(chan time.Time)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		FeaturedRotation{
			Gallery: gf.g, Schedule: spec, Count: 2,
			Now: func() time.Time { return clock },
			After: func(d time.Duration) <-chan time.Time {
				waits <- d
				return fire
			},
		}.Run(runCtx)
	}()
	if d := <-waits; d != 51*time.Hour {
		t.Fatalf("the rotation waits %v from Saturday 09:00; want 51h (Monday 12:00)", d)
	}
	if got := featuredNames(t, gf.g); len(got) != 0 {
		t.Fatalf("featured before the first turn = %q", got)
	}
	clock = clock.Add(51 * time.Hour)
	fire <- clock
	// The next wait is asked for once the turn is done.
	if d := <-waits; d != 7*24*time.Hour {
		t.Fatalf("after a turn the rotation waits %v; want a week", d)
	}
	if got := featuredNames(t, gf.g); !slices.Equal(got, []string{"alpha", "bravo"}) {
		t.Fatalf("featured after the first turn = %q; want the two best rated", got)
	}
	stop()
	<-done
}

func featuredNames(t *testing.T, g *Gallery) []string {
	t.Helper()
	ls, err := g.Featured(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return listingNames(ls)
}

func listingNames(ls []Listing) []string {
	var names []string
	for _, l := range ls {
		names = append(names, l.Manifest.Name)
	}
	return names
}
