package nethttp

import (
	"sync"
	"time"
)

// rateWindow is the fixed window of the per-(guild, extension) limit.
const rateWindow = time.Minute

// limiter counts requests per key in fixed windows (part B 3.13 step 4):
// a window opens at a key's first request and lasts rateWindow; within
// it, the first per requests pass.
type limiter struct {
	per int
	now func() time.Time

	mu        sync.Mutex
	windows   map[string]*window
	lastSweep time.Time
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(per int, now func() time.Time) *limiter {
	return &limiter{per: per, now: now, windows: map[string]*window{}}
}

// allow counts one request for key and reports whether it is within the
// limit. Refused requests count too.
func (l *limiter) allow(key string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= rateWindow {
		for k, w := range l.windows {
			if now.Sub(w.start) >= rateWindow {
				delete(l.windows, k)
			}
		}
		l.lastSweep = now
	}
	w := l.windows[key]
	if w == nil || now.Sub(w.start) >= rateWindow || now.Before(w.start) {
		w = &window{start: now}
		l.windows[key] = w
	}
	w.n++
	return w.n <= l.per
}
