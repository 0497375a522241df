// Package discordtest is an in-process fake Discord: a guild emulator that the
// unmodified discordgo client talks to over real HTTP and a real websocket on
// 127.0.0.1.
//
// A Server keeps guild state (users, guilds, roles, members, channels,
// threads, messages, reactions, bans, webhooks, custom emojis, voice states,
// application commands, DMs, interactions) and serves:
//
//   - Discord's REST API under /api/v9 and /api/v10, with Discord's error
//     codes and permission rules (role hierarchy, guild owner, missing
//     permissions);
//   - the gateway websocket at /gateway: HELLO, IDENTIFY, READY,
//     GUILD_CREATE, heartbeats, RESUME with replay, intents (including the
//     MESSAGE_CONTENT rule) and the dispatch events that follow every state
//     change, whether made through REST or by a simulated person;
//   - attachment downloads from the CDN paths (/attachments/...).
//
// A bot points discordgo at it by swapping the HTTP client, never by changing
// discordgo's package variables:
//
//	srv, _ := discordtest.New(discordtest.Options{})
//	defer srv.Close()
//	s, _ := discordgo.New("Bot " + srv.Token())
//	s.Client = srv.HTTPClient()
//	_ = s.Open()
//
// Tests use NewForTest, which also closes the server and reports every request
// that broke Discord's contract (see RequestValidator). Setup methods
// (CreateGuild, AddRole, AddMember, AddBot, AddEmoji, ...) build a guild;
// person methods (SendMessage, RunSlash, ClickButton, SubmitModal,
// JoinVoice, ...) act as a member would; observation methods (Messages,
// Member, Bans, Emojis, VoiceStates, ...) return copies of the state;
// Subscribe and WaitFor follow changes; fault methods (InjectRateLimit,
// SetLatency, SendReconnect, SendInvalidSession, DropConnections) make Discord
// misbehave on purpose.
//
// All methods of a Server are safe for concurrent use.
package discordtest
