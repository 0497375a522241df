package extensions

import (
	"context"
	"time"

	"github.com/robfig/cron/v3"
)

// FeaturedRotation runs Gallery.RotateFeatured on a cron schedule: the
// `[gallery] featured_schedule` the operator configured.
type FeaturedRotation struct {
	Gallery  *Gallery
	Schedule cron.Schedule
	// Count is how many extensions are featured at a time.
	Count int
	// Now and After are the clock (nil: time.Now and time.After); tests
	// replace them to fire turns without waiting.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// Run turns the featured set at every time the schedule names until ctx
// ends. A turn that fails is logged and the next one is still tried: the
// featured list then simply stays as it was.
func (r FeaturedRotation) Run(ctx context.Context) {
	now, after := r.Now, r.After
	if now == nil {
		now = time.Now
	}
	if after == nil {
		after = time.After
	}
	log := r.Gallery.log
	for {
		t := now()
		next := r.Schedule.Next(t)
		if next.IsZero() {
			log.Warn("the featured schedule names no future time; the featured rotation stops")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-after(next.Sub(t)):
		}
		if _, err := r.Gallery.RotateFeatured(ctx, r.Count); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("featured rotation failed; the featured extensions stay as they were", "err", err)
		}
	}
}
