package discordtest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// Gateway opcodes.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opPresenceUpdate = 3
	opVoiceState     = 4
	opResume         = 6
	opReconnect      = 7
	opRequestMembers = 8
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatACK   = 11
)

// Gateway close codes.
const (
	closeUnknownOpcode    = 4001
	closeDecodeError      = 4002
	closeNotAuthenticated = 4003
	closeAuthFailed       = 4004
	closeAlreadyAuthed    = 4005
	closeInvalidShard     = 4010
	closeInvalidIntents   = 4013
)

// knownIntents are the intent bits Discord defines; IDENTIFY with any other
// bit is closed with 4013.
const knownIntents = discordgo.IntentGuilds | discordgo.IntentGuildMembers | discordgo.IntentGuildModeration |
	discordgo.IntentGuildEmojis | discordgo.IntentGuildIntegrations | discordgo.IntentGuildWebhooks |
	discordgo.IntentGuildInvites | discordgo.IntentGuildVoiceStates | discordgo.IntentGuildPresences |
	discordgo.IntentGuildMessages | discordgo.IntentGuildMessageReactions | discordgo.IntentGuildMessageTyping |
	discordgo.IntentDirectMessages | discordgo.IntentDirectMessageReactions | discordgo.IntentDirectMessageTyping |
	discordgo.IntentMessageContent | discordgo.IntentGuildScheduledEvents |
	discordgo.IntentAutoModerationConfiguration | discordgo.IntentAutoModerationExecution |
	discordgo.IntentGuildMessagePolls | discordgo.IntentDirectMessagePolls

// maxReplayLog bounds the events a session keeps for RESUME; a resume from
// further back gets INVALID_SESSION.
const maxReplayLog = 5000

// GatewayStats describes the gateway's connections so far.
type GatewayStats struct {
	Connections int              // open websocket connections
	Ready       int              // connections that completed IDENTIFY or RESUME
	Identifies  int              // accepted IDENTIFYs
	Resumes     int              // successful RESUMEs
	Replayed    int              // dispatches replayed by RESUMEs
	Heartbeats  int              // heartbeats (op 1) received
	LastIntents discordgo.Intent // intents of the last accepted IDENTIFY
}

// gatewayState is guarded by Server.mu.
type gatewayState struct {
	sessions map[string]*gwSession
	conns    map[*gwConn]struct{}
	stats    GatewayStats
}

func newGatewayState() gatewayState {
	return gatewayState{sessions: map[string]*gwSession{}, conns: map[*gwConn]struct{}{}}
}

func (g *gatewayState) allConns() []*gwConn {
	out := make([]*gwConn, 0, len(g.conns))
	for c := range g.conns {
		out = append(out, c)
	}
	return out
}

// gwSession is a gateway session: it outlives connections so that a client
// can RESUME and get what was dispatched while it was away.
type gwSession struct {
	id      string
	intents discordgo.Intent
	shard   *[2]int
	seq     int64
	log     []gwFrame
	conn    *gwConn // nil while disconnected
}

type gwFrame struct {
	seq  int64
	data []byte
}

// wants reports whether the session receives events of a guild ("" for DMs
// and global events) given its shard.
func (sess *gwSession) wants(guildID string) bool {
	if sess.shard == nil || sess.shard[1] <= 1 {
		return true
	}
	if guildID == "" {
		return sess.shard[0] == 0
	}
	id, err := strconv.ParseUint(guildID, 10, 64)
	if err != nil {
		return true
	}
	return int((id>>22)%uint64(sess.shard[1])) == sess.shard[0]
}

// gwConn is one websocket connection. A single writer goroutine drains its
// queue, so frames go out in the order they were queued and state changes
// never wait for the network.
type gwConn struct {
	srv     *Server
	ws      *websocket.Conn
	version string

	// Guarded by Server.mu.
	session *gwSession
	ready   bool

	qmu    sync.Mutex
	queue  []outFrame
	wake   chan struct{}
	closed chan struct{}
	once   sync.Once
}

type outFrame struct {
	data      []byte
	closeCode int // non-zero: send a close frame with this code, then drop
	closeText string
}

func (c *gwConn) enqueue(f outFrame) {
	c.qmu.Lock()
	c.queue = append(c.queue, f)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *gwConn) send(data []byte) { c.enqueue(outFrame{data: data}) }

// closeWith sends a close frame after the frames already queued, then drops
// the connection.
func (c *gwConn) closeWith(code int, text string) {
	c.enqueue(outFrame{closeCode: code, closeText: text})
}

// drop closes the socket abruptly, without a close frame.
func (c *gwConn) drop() {
	c.once.Do(func() {
		close(c.closed)
		c.ws.Close()
	})
}

// writeLoop writes queued frames until the connection drops.
func (c *gwConn) writeLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.closed:
			return
		}
		for {
			c.qmu.Lock()
			if len(c.queue) == 0 {
				c.qmu.Unlock()
				break
			}
			f := c.queue[0]
			c.queue = c.queue[1:]
			c.qmu.Unlock()
			deadline := time.Now().Add(10 * time.Second)
			if f.closeCode != 0 {
				_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(f.closeCode, f.closeText), deadline)
				c.drop()
				return
			}
			_ = c.ws.SetWriteDeadline(deadline)
			if err := c.ws.WriteMessage(websocket.TextMessage, f.data); err != nil {
				c.drop()
				return
			}
		}
	}
}

// payload is a gateway frame.
type payload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s"`
	T  *string         `json:"t"`
}

// opFrame builds a non-dispatch frame.
func opFrame(op int, d any) []byte {
	return mustJSON(payload{Op: op, D: mustJSON(d)})
}

// serveGateway runs one gateway connection: HELLO, then the client's
// opcodes until the socket closes.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		http.Error(w, "emulator closed", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered the error
	}
	c := &gwConn{srv: s, ws: ws, version: r.URL.Query().Get("v"), wake: make(chan struct{}, 1), closed: make(chan struct{})}
	if c.version == "" {
		c.version = "10"
	}
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		c.drop()
		return
	}
	s.gw.conns[c] = struct{}{}
	s.gw.stats.Connections++
	s.notifyLocked()
	s.mu.Unlock()
	s.log.Info("discordtest: gateway connected", "remote", r.RemoteAddr)

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.writeLoop()
	}()
	c.send(opFrame(opHello, map[string]any{"heartbeat_interval": s.opts.HeartbeatInterval.Milliseconds(), "_trace": []string{"discordtest"}}))
	code := s.readLoop(c)
	c.drop()

	s.mu.Lock()
	delete(s.gw.conns, c)
	s.gw.stats.Connections--
	if c.ready {
		s.gw.stats.Ready--
	}
	if sess := c.session; sess != nil && sess.conn == c {
		sess.conn = nil
		// Closing with 1000 or 1001 ends the session on Discord; any other
		// way of leaving keeps it resumable.
		if code == websocket.CloseNormalClosure || code == websocket.CloseGoingAway {
			delete(s.gw.sessions, sess.id)
		}
	}
	c.session, c.ready = nil, false
	s.notifyLocked()
	s.mu.Unlock()
	s.log.Info("discordtest: gateway disconnected", "close_code", code)
}

// readLoop handles the client's frames and returns the close code the client
// sent (0 if the socket just broke).
func (s *Server) readLoop(c *gwConn) int {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			return 0
		}
		var p payload
		if err := json.Unmarshal(data, &p); err != nil {
			c.closeWith(closeDecodeError, "Error while decoding payload.")
			continue
		}
		switch p.Op {
		case opHeartbeat:
			c.send(opFrame(opHeartbeatACK, nil))
			s.mu.Lock()
			s.gw.stats.Heartbeats++
			s.notifyLocked()
			s.mu.Unlock()
		case opIdentify:
			s.mu.Lock()
			s.identifyLocked(c, p.D)
			s.notifyLocked()
			s.mu.Unlock()
		case opResume:
			s.mu.Lock()
			s.resumeLocked(c, p.D)
			s.notifyLocked()
			s.mu.Unlock()
		case opPresenceUpdate, opVoiceState:
			s.mu.Lock()
			authed := c.session != nil
			s.mu.Unlock()
			if !authed {
				c.closeWith(closeNotAuthenticated, "Not authenticated.")
			}
		case opRequestMembers:
			s.mu.Lock()
			s.requestMembersLocked(c, p.D)
			s.mu.Unlock()
		default:
			c.closeWith(closeUnknownOpcode, "Unknown opcode.")
		}
	}
}

// tokenOK accepts the bot token with or without the "Bot " prefix (discordgo
// sends what it was given to New, normally "Bot <token>").
func (s *Server) tokenOK(tok string) bool {
	return strings.TrimPrefix(tok, "Bot ") == s.token
}

// identifyLocked handles IDENTIFY: checks the token, intents and shard,
// starts a session and sends READY and a GUILD_CREATE per guild.
func (s *Server) identifyLocked(c *gwConn, d json.RawMessage) {
	var id struct {
		Token   string  `json:"token"`
		Intents *int64  `json:"intents"`
		Shard   *[2]int `json:"shard"`
	}
	if err := json.Unmarshal(d, &id); err != nil {
		c.closeWith(closeDecodeError, "Error while decoding payload.")
		return
	}
	if !s.tokenOK(id.Token) {
		c.closeWith(closeAuthFailed, "Authentication failed.")
		return
	}
	if c.session != nil {
		c.closeWith(closeAlreadyAuthed, "Already authenticated.")
		return
	}
	if id.Intents == nil || discordgo.Intent(*id.Intents)&^knownIntents != 0 || *id.Intents < 0 {
		c.closeWith(closeInvalidIntents, "Invalid intent(s).")
		return
	}
	if id.Shard != nil && (id.Shard[1] < 1 || id.Shard[0] < 0 || id.Shard[0] >= id.Shard[1]) {
		c.closeWith(closeInvalidShard, "Invalid shard.")
		return
	}
	sess := &gwSession{id: randomHex(16), intents: discordgo.Intent(*id.Intents), shard: id.Shard}
	s.gw.sessions[sess.id] = sess
	c.session, sess.conn = sess, c

	me := s.wireUserLocked(s.botID)
	me.Verified, me.MFAEnabled, me.Flags = ptr(true), ptr(false), ptr(0)
	var guilds []map[string]any
	for _, gid := range s.st.guildOrder {
		if sess.wants(gid) {
			guilds = append(guilds, map[string]any{"id": gid, "unavailable": true})
		}
	}
	v, _ := strconv.Atoi(c.version)
	ready := map[string]any{
		"v": v, "user": me, "guilds": guilds, "session_id": sess.id, "session_type": "normal",
		"resume_gateway_url": s.GatewayURL(),
		// Privileged intents are enabled for the emulated application:
		// GATEWAY_PRESENCE, GATEWAY_GUILD_MEMBERS, GATEWAY_MESSAGE_CONTENT.
		"application":      map[string]any{"id": s.appID, "flags": 1<<12 | 1<<14 | 1<<18},
		"private_channels": []any{}, "relationships": []any{}, "presences": []any{},
		"user_settings": map[string]any{}, "guild_join_requests": []any{}, "geo_ordered_rtc_regions": []string{"local"},
		"auth": map[string]any{}, "_trace": []string{"discordtest"},
	}
	if guilds == nil {
		ready["guilds"] = []any{}
	}
	if id.Shard != nil {
		ready["shard"] = id.Shard
	}
	c.send(s.appendFrameLocked(sess, "READY", mustJSON(ready), true))
	for _, gid := range s.st.guildOrder {
		if sess.wants(gid) {
			g := s.st.guilds[gid]
			c.send(s.appendFrameLocked(sess, "GUILD_CREATE", mustJSON(s.wireGuildCreateLocked(g, sess.intents)), true))
		}
	}
	c.ready = true
	s.gw.stats.Ready++
	s.gw.stats.Identifies++
	s.gw.stats.LastIntents = sess.intents
	s.log.Info("discordtest: identified", "session_id", sess.id, "intents", int64(sess.intents))
}

// resumeLocked handles RESUME: a known session gets the events after the
// client's sequence number replayed, then RESUMED; an unknown or too old
// one gets INVALID_SESSION (d: false).
func (s *Server) resumeLocked(c *gwConn, d json.RawMessage) {
	var rp struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	if err := json.Unmarshal(d, &rp); err != nil {
		c.closeWith(closeDecodeError, "Error while decoding payload.")
		return
	}
	if !s.tokenOK(rp.Token) {
		c.closeWith(closeAuthFailed, "Authentication failed.")
		return
	}
	if c.session != nil {
		c.closeWith(closeAlreadyAuthed, "Already authenticated.")
		return
	}
	sess, ok := s.gw.sessions[rp.SessionID]
	if !ok || rp.Seq > sess.seq || (len(sess.log) > 0 && rp.Seq < sess.log[0].seq-1) {
		c.send(opFrame(opInvalidSession, false))
		return
	}
	if old := sess.conn; old != nil && old != c {
		old.session = nil
		if old.ready {
			old.ready = false
			s.gw.stats.Ready--
		}
		old.drop()
	}
	c.session, sess.conn = sess, c
	for _, f := range sess.log {
		if f.seq > rp.Seq {
			c.send(f.data)
			s.gw.stats.Replayed++
		}
	}
	c.send(s.appendFrameLocked(sess, "RESUMED", mustJSON(map[string]any{"_trace": []string{"discordtest"}}), false))
	c.ready = true
	s.gw.stats.Ready++
	s.gw.stats.Resumes++
	s.log.Info("discordtest: resumed", "session_id", sess.id, "from_seq", rp.Seq)
}

// appendFrameLocked gives a dispatch the session's next sequence number and,
// if logged, keeps it for replay on RESUME.
func (s *Server) appendFrameLocked(sess *gwSession, name string, data json.RawMessage, logged bool) []byte {
	sess.seq++
	seq := sess.seq
	frame := mustJSON(payload{Op: opDispatch, D: data, S: &seq, T: &name})
	if logged {
		sess.log = append(sess.log, gwFrame{seq: seq, data: frame})
		if len(sess.log) > maxReplayLog {
			sess.log = append([]gwFrame(nil), sess.log[len(sess.log)-maxReplayLog:]...)
		}
	}
	return frame
}

// requestMembersLocked answers REQUEST_GUILD_MEMBERS (op 8) with one
// GUILD_MEMBERS_CHUNK per guild.
func (s *Server) requestMembersLocked(c *gwConn, d json.RawMessage) {
	sess := c.session
	if sess == nil {
		c.closeWith(closeNotAuthenticated, "Not authenticated.")
		return
	}
	var rq struct {
		GuildID json.RawMessage `json:"guild_id"`
		Query   *string         `json:"query"`
		Limit   int             `json:"limit"`
		UserIDs []string        `json:"user_ids"`
		Nonce   string          `json:"nonce"`
	}
	if err := json.Unmarshal(d, &rq); err != nil {
		c.closeWith(closeDecodeError, "Error while decoding payload.")
		return
	}
	var ids []string
	if err := json.Unmarshal(rq.GuildID, &ids); err != nil {
		var one string
		if json.Unmarshal(rq.GuildID, &one) == nil {
			ids = []string{one}
		}
	}
	for _, gid := range ids {
		g, ok := s.st.guilds[gid]
		if !ok {
			continue
		}
		members, notFound := []wireMember{}, []string{}
		if sess.intents&discordgo.IntentGuildMembers != 0 || len(rq.UserIDs) > 0 {
			if len(rq.UserIDs) > 0 {
				for _, uid := range rq.UserIDs {
					if m, ok := g.members[uid]; ok {
						members = append(members, s.wireMemberLocked(m, true, ""))
					} else {
						notFound = append(notFound, uid)
					}
				}
			} else {
				q := ""
				if rq.Query != nil {
					q = strings.ToLower(*rq.Query)
				}
				for _, uid := range g.memberOrder {
					if rq.Limit > 0 && len(members) >= rq.Limit {
						break
					}
					if strings.HasPrefix(strings.ToLower(s.st.users[uid].name), q) {
						members = append(members, s.wireMemberLocked(g.members[uid], true, ""))
					}
				}
			}
		}
		chunk := map[string]any{"guild_id": g.id, "members": members, "chunk_index": 0, "chunk_count": 1, "not_found": notFound}
		if rq.Nonce != "" {
			chunk["nonce"] = rq.Nonce
		}
		c.send(s.appendFrameLocked(sess, "GUILD_MEMBERS_CHUNK", mustJSON(chunk), true))
	}
}

// GatewayStats returns counts of the gateway's connections and sessions.
func (s *Server) GatewayStats() GatewayStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gw.stats
}
