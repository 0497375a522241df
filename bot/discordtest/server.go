package discordtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultInteractionDeadline = 3 * time.Second
	DefaultHeartbeatInterval   = 41250 * time.Millisecond
	DefaultBotName             = "skybot"
)

// Options configures a Server. The zero value is ready to use.
type Options struct {
	// Validator, if set, checks every REST request against Discord's
	// contract (except GET /gateway* and CDN downloads).
	Validator RequestValidator
	// InteractionDeadline is how long the bot has to send the first response
	// to an interaction; later callbacks fail with 10062 Unknown interaction.
	// Zero means DefaultInteractionDeadline (Discord's 3 s).
	InteractionDeadline time.Duration
	// HeartbeatInterval is announced in HELLO. Zero means
	// DefaultHeartbeatInterval (Discord's 41.25 s).
	HeartbeatInterval time.Duration
	// Logger receives request and gateway logs; nil discards them.
	Logger *slog.Logger
	// BotName is the bot's username and the name of its managed role. Zero
	// means DefaultBotName.
	BotName string
}

// RequestValidator checks one REST request against Discord's published API
// contract. path is the URL path as the client sent it (for discordgo
// v0.29.0 it starts with /api/v9), rawQuery the query without "?",
// contentType the Content-Type header and body the raw body (for multipart
// requests, the whole multipart body). It must be safe for concurrent use.
type RequestValidator interface {
	ValidateRequest(method, path, rawQuery, contentType string, body []byte) error
}

// Server is a running guild emulator. Create it with New or NewForTest.
type Server struct {
	opts   Options
	log    *slog.Logger
	token  string
	botID  string
	appID  string
	addr   string // 127.0.0.1:port
	ln     net.Listener
	http   *http.Server
	client *http.Client
	table  []route // the REST routes, fixed at New

	mu    sync.Mutex // guards everything below, and all guild state
	st    *state
	ids   idGen
	gw    gatewayState
	flt   faults
	obs   observers
	viols []string
	done  bool

	deliverMu sync.Mutex    // serialises delivery to subscribers (see flushEvents)
	quit      chan struct{} // closed by Close: ends injected latency waits
	wg        sync.WaitGroup
}

// New starts a guild emulator listening on 127.0.0.1 with a fresh bot user
// and application and no guilds. Close releases it.
func New(opts Options) (*Server, error) {
	if opts.InteractionDeadline <= 0 {
		opts.InteractionDeadline = DefaultInteractionDeadline
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if opts.BotName == "" {
		opts.BotName = DefaultBotName
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("discordtest: listen: %w", err)
	}
	s := &Server{
		opts:  opts,
		log:   log,
		addr:  ln.Addr().String(),
		ln:    ln,
		st:    newState(),
		gw:    newGatewayState(),
		obs:   newObservers(),
		table: routeTable(),
		quit:  make(chan struct{}),
	}
	s.botID = s.ids.next()
	s.appID = s.botID // Discord gives a bot user the id of its application
	s.token = newBotToken(s.botID)
	s.st.users[s.botID] = &user{id: s.botID, name: opts.BotName, bot: true, createdAt: time.Now().UTC()}
	s.client = &http.Client{Transport: newRewriteTransport(s.addr), Timeout: 60 * time.Second}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("discordtest: serve", "err", err)
		}
	}()
	s.log.Info("discordtest: emulator started", "addr", s.addr, "bot_id", s.botID)
	return s, nil
}

// Close stops the listener, closes every gateway connection and waits for the
// server's goroutines. Calling it again does nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return nil
	}
	s.done = true
	close(s.quit)
	conns := s.gw.allConns()
	s.notifyLocked()
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	for _, c := range conns {
		c.drop()
	}
	s.wg.Wait()
	if t, ok := s.client.Transport.(*rewriteTransport); ok {
		t.base.CloseIdleConnections()
	}
	return err
}

// URL is the emulator's base URL, http://127.0.0.1:PORT.
func (s *Server) URL() string { return "http://" + s.addr }

// GatewayURL is the websocket URL that GET /gateway answers.
func (s *Server) GatewayURL() string { return "ws://" + s.addr + "/gateway" }

// HTTPClient returns a client that sends every request for discord.com,
// discordapp.com, cdn.discordapp.com and media.discordapp.net to the
// emulator, keeping path and query. Requests for other hosts fail. Set it as
// discordgo's Session.Client.
func (s *Server) HTTPClient() *http.Client { return s.client }

// Token is the bot token the emulator accepts: REST requests must carry
// "Authorization: Bot <token>" and IDENTIFY the same token.
func (s *Server) Token() string { return s.token }

// BotUserID is the bot user's id.
func (s *Server) BotUserID() string { return s.botID }

// ApplicationID is the bot's application id (equal to BotUserID, as on
// Discord for bots created with their application).
func (s *Server) ApplicationID() string { return s.appID }

// Violations returns every recorded breach of Discord's contract by the
// client, oldest first: requests the RequestValidator refused, unknown routes
// and methods. Each entry names the method, the path and the problem.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.viols...)
}

// ClearViolations forgets the recorded violations, for tests that provoke
// them on purpose.
func (s *Server) ClearViolations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.viols = nil
}

func (s *Server) recordViolationLocked(method, path, problem string) {
	v := fmt.Sprintf("%s %s: %s", method, path, problem)
	s.viols = append(s.viols, v)
	s.log.Warn("discordtest: contract violation", "violation", v)
}

// ServeHTTP routes a request to the gateway, the CDN or the REST API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/gateway" || p == "/gateway/":
		s.serveGateway(w, r)
	case strings.HasPrefix(p, "/api/"):
		s.serveREST(w, r)
	case strings.HasPrefix(p, "/attachments/") || strings.HasPrefix(p, "/ephemeral-attachments/"):
		s.serveCDN(w, r)
	default:
		http.NotFound(w, r)
	}
}

// newBotToken makes a token shaped like Discord's: base64(user id), a
// timestamp part and an HMAC-like part, here random.
func newBotToken(userID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(userID)) + "." + randomHex(3) + "." + randomHex(19)
}

// randomHex returns 2n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("discordtest: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}
