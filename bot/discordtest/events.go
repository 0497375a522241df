package discordtest

import (
	"context"
	"sync/atomic"

	"github.com/bwmarrin/discordgo"
)

// Event kinds reported to subscribers. Each names one state change, whether
// the bot made it through REST or a simulated person did.
const (
	KindMessageCreate       = "message_create"
	KindMessageUpdate       = "message_update"
	KindMessageDelete       = "message_delete"
	KindMessagePin          = "message_pin"
	KindMessageUnpin        = "message_unpin"
	KindReactionAdd         = "reaction_add"
	KindReactionRemove      = "reaction_remove"
	KindReactionRemoveAll   = "reaction_remove_all"
	KindMemberAdd           = "member_add"
	KindMemberRemove        = "member_remove"
	KindMemberUpdate        = "member_update"
	KindMemberKick          = "member_kick"
	KindMemberBan           = "member_ban"
	KindMemberUnban         = "member_unban"
	KindRoleCreate          = "role_create"
	KindRoleUpdate          = "role_update"
	KindRoleDelete          = "role_delete"
	KindChannelCreate       = "channel_create"
	KindChannelUpdate       = "channel_update"
	KindChannelDelete       = "channel_delete"
	KindThreadCreate        = "thread_create"
	KindThreadUpdate        = "thread_update"
	KindGuildCreate         = "guild_create"
	KindGuildUpdate         = "guild_update"
	KindEmojiCreate         = "emoji_create"
	KindEmojiUpdate         = "emoji_update"
	KindEmojiDelete         = "emoji_delete"
	KindVoiceStateUpdate    = "voice_state_update"
	KindWebhookCreate       = "webhook_create"
	KindWebhookDelete       = "webhook_delete"
	KindDMCreate            = "dm_create"
	KindCommandRegister     = "command_register"
	KindCommandDelete       = "command_delete"
	KindInteractionCreate   = "interaction_create"
	KindInteractionResponse = "interaction_response"
	KindFollowup            = "followup"
)

// Event is one state change. Fields that do not apply are empty.
type Event struct {
	Kind      string
	GuildID   string
	ChannelID string
	// UserID is the user the change is about: a message's author, the
	// member banned or updated, the person who started an interaction.
	UserID string
	// ActorID is who made the change: the bot for REST calls, the person for
	// person actions, "" for setup.
	ActorID string
	// Message is a copy of the message concerned, after the change.
	Message *discordgo.Message
	// Detail is a short human-readable description (a reason, a role name,
	// a command name, a response type...).
	Detail string
}

type subscriber struct {
	fn        func(Event)
	cancelled atomic.Bool
}

// observers holds what Subscribe and WaitFor need; guarded by Server.mu.
type observers struct {
	changed chan struct{} // closed and replaced at every state change
	pending []Event       // emitted, not yet delivered
	subs    []*subscriber
}

func newObservers() observers { return observers{changed: make(chan struct{})} }

// notifyLocked wakes every WaitFor.
func (s *Server) notifyLocked() {
	close(s.obs.changed)
	s.obs.changed = make(chan struct{})
}

// emitLocked queues ev for subscribers and wakes waiters. Callers then call
// flushEvents after releasing Server.mu.
func (s *Server) emitLocked(ev Event) {
	if len(s.obs.subs) > 0 {
		s.obs.pending = append(s.obs.pending, ev)
	}
	s.notifyLocked()
}

// Subscribe calls fn for every state change from now on, until cancel is
// called. Calls come in the order the changes happened, one at a time
// (never concurrently with each other), from the goroutine that made the
// change or from one making a concurrent change; a change made through a
// REST call or a person method has been delivered when that call returns,
// unless another delivery was under way. fn may call any Server method,
// including ones that change state (those events are delivered after fn
// returns); it should not block for long. After cancel returns no new call
// starts.
func (s *Server) Subscribe(fn func(Event)) (cancel func()) {
	sub := &subscriber{fn: fn}
	s.mu.Lock()
	s.obs.subs = append(s.obs.subs, sub)
	s.mu.Unlock()
	return func() {
		sub.cancelled.Store(true)
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, x := range s.obs.subs {
			if x == sub {
				s.obs.subs = append(s.obs.subs[:i:i], s.obs.subs[i+1:]...)
				break
			}
		}
	}
}

// flushEvents delivers queued events to subscribers. One goroutine delivers
// at a time; a goroutine that finds delivery under way leaves its events to
// the one delivering, which loops until the queue is empty. That also makes
// a subscriber that changes state safe: its events are delivered after it
// returns.
func (s *Server) flushEvents() {
	for s.deliverMu.TryLock() {
		for {
			s.mu.Lock()
			batch := s.obs.pending
			s.obs.pending = nil
			subs := append([]*subscriber(nil), s.obs.subs...)
			s.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for _, ev := range batch {
				for _, sub := range subs {
					if !sub.cancelled.Load() {
						sub.fn(ev)
					}
				}
			}
		}
		s.deliverMu.Unlock()
		// Events queued between the last empty check and the unlock would
		// otherwise wait for the next change.
		s.mu.Lock()
		more := len(s.obs.pending) > 0
		s.mu.Unlock()
		if !more {
			return
		}
	}
}

// WaitFor returns nil as soon as cond returns true, checking it now and again
// after every state change (REST, person actions, gateway connects and
// disconnects), or ctx's error if ctx ends first. cond may call the
// observation methods.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.obs.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// mutate runs fn under the state lock, then delivers the events it emitted.
func (s *Server) mutate(fn func() error) error {
	s.mu.Lock()
	err := fn()
	s.notifyLocked()
	s.mu.Unlock()
	s.flushEvents()
	return err
}
