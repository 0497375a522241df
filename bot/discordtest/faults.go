package discordtest

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// faults holds injected misbehaviour; guarded by Server.mu.
type faults struct {
	rateLimits []*rateLimitRule
	latency    time.Duration
}

type rateLimitRule struct {
	match      func(method, path string) bool
	remaining  int
	retryAfter time.Duration
}

// InjectRateLimit makes the next `times` REST requests for which match
// returns true fail with 429 Too Many Requests, a JSON body
// {"message": "You are being rate limited.", "retry_after": <seconds>,
// "global": false} and the matching headers. match receives the method and
// the URL path as sent (e.g. "/api/v9/channels/1/messages"); nil matches
// every request. discordgo sleeps retry_after and retries.
func (s *Server) InjectRateLimit(match func(method, path string) bool, times int, retryAfter time.Duration) {
	if match == nil {
		match = func(string, string) bool { return true }
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flt.rateLimits = append(s.flt.rateLimits, &rateLimitRule{match: match, remaining: times, retryAfter: retryAfter})
}

// takeRateLimit consumes one use of the first matching rule.
func (s *Server) takeRateLimit(method, path string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, rl := range s.flt.rateLimits {
		if rl.remaining > 0 && rl.match(method, path) {
			rl.remaining--
			if rl.remaining == 0 {
				s.flt.rateLimits = append(s.flt.rateLimits[:i:i], s.flt.rateLimits[i+1:]...)
			}
			s.notifyLocked()
			return rl.retryAfter, true
		}
	}
	return 0, false
}

func writeRateLimited(w http.ResponseWriter, retryAfter time.Duration) {
	secs := retryAfter.Seconds()
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
	h.Set("X-RateLimit-Limit", "5")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", fmt.Sprintf("%.3f", float64(time.Now().Add(retryAfter).UnixMilli())/1000))
	h.Set("X-RateLimit-Reset-After", fmt.Sprintf("%.3f", secs))
	h.Set("X-RateLimit-Scope", "user")
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"message": "You are being rate limited.", "retry_after": secs, "global": false,
	})
}

// SetLatency delays every REST response by d (0 turns it off).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flt.latency = d
}

func (s *Server) waitLatency(hr *http.Request) error {
	s.mu.Lock()
	d := s.flt.latency
	s.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-hr.Context().Done():
		return hr.Context().Err()
	case <-s.quit:
		return errors.New("discordtest: closed")
	}
}

// SendReconnect sends RECONNECT (op 7) on every READY connection. discordgo
// closes the socket, reconnects and RESUMEs; what is dispatched meanwhile is
// replayed. Connections that are not READY yet are skipped: a RECONNECT
// before READY deadlocks discordgo's Open.
func (s *Server) SendReconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.gw.conns {
		if c.ready {
			c.send(opFrame(opReconnect, nil))
		}
	}
}

// SendInvalidSession sends INVALID_SESSION (op 9) with d = resumable on every
// READY connection and detaches the connection from its session; a
// non-resumable session is forgotten. discordgo answers with a new IDENTIFY
// on the same connection. Connections that are not READY are skipped (see
// SendReconnect).
func (s *Server) SendInvalidSession(resumable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.gw.conns {
		if !c.ready {
			continue
		}
		if sess := c.session; sess != nil {
			sess.conn = nil
			if !resumable {
				delete(s.gw.sessions, sess.id)
			}
		}
		c.session, c.ready = nil, false
		s.gw.stats.Ready--
		c.send(opFrame(opInvalidSession, resumable))
	}
	s.notifyLocked()
}

// DropConnections closes every gateway socket abruptly, without a close
// frame, as a network failure would. Sessions stay resumable.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.gw.allConns()
	s.mu.Unlock()
	for _, c := range conns {
		c.drop()
	}
}
