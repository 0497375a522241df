package discordtest

import (
	"strconv"
	"sync"
	"time"
)

// discordEpochMs is the first millisecond of 2015, where snowflake time
// starts.
const discordEpochMs = 1420070400000

// idGen makes snowflake ids: the creation time in milliseconds since the
// Discord epoch in the top 42 bits and a per-millisecond counter in the low
// 12 bits, so ids are unique, increase in creation order and carry a real
// timestamp (discordgo.SnowflakeTimestamp works on them).
type idGen struct {
	mu     sync.Mutex
	lastMs int64
	seq    int64
}

func (g *idGen) next() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := time.Now().UnixMilli() - discordEpochMs
	if ms <= g.lastMs {
		ms = g.lastMs
		g.seq++
		if g.seq > 0xfff {
			ms++
			g.seq = 0
		}
	} else {
		g.seq = 0
	}
	g.lastMs = ms
	return strconv.FormatInt(ms<<22|g.seq, 10)
}

// snowflakeTime returns the creation time encoded in a snowflake id, or the
// zero time if id is not a number.
func snowflakeTime(id string) time.Time {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n>>22 + discordEpochMs).UTC()
}

// idLess orders snowflakes numerically.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
