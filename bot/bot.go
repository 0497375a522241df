// Package bot connects skybot to Discord through discordgo: it opens the
// gateway session, routes events (skybot's own interactions to the command
// handlers, guild messages to the extension dispatcher) and, through the
// Executor, turns checked extension host calls into REST calls.
package bot

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/extensions"
)

// Interactions handles skybot's own slash commands, buttons and modals.
// The commands package provides it.
type Interactions interface {
	// Definitions are the application commands skybot registers.
	Definitions() []*discordgo.ApplicationCommand
	// HandleInteraction answers one interaction; it reports whether the
	// interaction was skybot's to answer.
	HandleInteraction(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate) bool
}

// Options wire a Bot.
type Options struct {
	Session      *discordgo.Session
	Dispatcher   *extensions.Dispatcher
	Interactions Interactions
	// CommandGuildID registers skybot's commands in that guild only (fast,
	// for development); empty registers them globally.
	CommandGuildID string
	// AfterMessage, if set, is called once a guild message has been
	// dispatched (every matching extension has run), for transcripts and
	// tests that must know when the bot is done with a message.
	AfterMessage func(extensions.Message)
	// OnGuild, if set, is called for each guild skybot is in or joins
	// (GUILD_CREATE), e.g. to install system extensions.
	OnGuild func(ctx context.Context, guildID string) error
	// EventTimeout bounds the handling of one gateway event.
	EventTimeout time.Duration
	// AutoDeferAfter is how long an extension may take to answer an
	// interaction before skybot defers it for it; 0 means 2.5 s.
	AutoDeferAfter time.Duration
	Log            *slog.Logger
}

// Bot is a running skybot connection.
type Bot struct {
	opts Options
	s    *discordgo.Session
	log  *slog.Logger

	ready     chan struct{}
	readyOnce sync.Once
	removers  []func()
	syncLocks sync.Map       // guild id → *sync.Mutex: one command sync at a time
	bg        sync.WaitGroup // background work (command syncs) to wait for on Stop
}

// Intents skybot asks for (GUILD_BANS is what Discord now calls
// GUILD_MODERATION; GUILD_EMOJIS is GUILD_EMOJIS_AND_STICKERS). Every
// event extensions can subscribe to needs one of them (see EventDocs).
// Message content is privileged: without it, prefix commands and
// keywords see empty content.
func Intents(messageContent bool) discordgo.Intent {
	in := discordgo.IntentsGuilds | discordgo.IntentsGuildMessages | discordgo.IntentsGuildMembers |
		discordgo.IntentsGuildBans | discordgo.IntentsGuildMessageReactions |
		discordgo.IntentsGuildEmojis | discordgo.IntentsGuildVoiceStates
	if messageContent {
		in |= discordgo.IntentsMessageContent
	}
	return in
}

// New prepares a Bot; Start connects it.
func New(opts Options) *Bot {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.EventTimeout <= 0 {
		opts.EventTimeout = 30 * time.Second
	}
	return &Bot{opts: opts, s: opts.Session, log: opts.Log, ready: make(chan struct{})}
}

// Start adds the handlers and opens the gateway. It returns once the
// session is READY and skybot's commands are registered.
func (b *Bot) Start(ctx context.Context) error {
	membersOf(b.s) // counted from the first GUILD_CREATE on
	b.removers = append(b.removers,
		b.s.AddHandler(b.onReady),
		b.s.AddHandler(b.onMessageCreate),
		b.s.AddHandler(b.onInteractionCreate),
		b.s.AddHandler(b.onGuildCreate),
	)
	if d := b.opts.Dispatcher; d != nil {
		b.watchInstalls(d)
		b.removers = append(b.removers, RegisterEventSinkWith(b.s, func(ctx context.Context, ev extensions.GuildEvent) {
			if err := d.OnEvent(ctx, ev); err != nil {
				b.log.Error("dispatch event", "event", ev.Name, "guild_id", ev.GuildID, "err", err)
			}
		}, EventSinkOptions{Timeout: b.opts.EventTimeout, Log: b.log}))
	}
	if err := b.s.Open(); err != nil {
		return fmt.Errorf("open gateway: %w", err)
	}
	select {
	case <-b.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.registerCommands(ctx)
}

// Session is the discordgo session the bot runs on.
func (b *Bot) Session() *discordgo.Session { return b.s }

// Stop closes the gateway session.
func (b *Bot) Stop() error {
	for _, remove := range b.removers {
		remove()
	}
	b.bg.Wait()
	return b.s.Close()
}

func (b *Bot) registerCommands(ctx context.Context) error {
	if b.opts.Interactions == nil {
		return nil
	}
	app := b.s.State.User.ID
	if b.s.State.Application != nil && b.s.State.Application.ID != "" {
		app = b.s.State.Application.ID
	}
	defs := b.opts.Interactions.Definitions()
	if b.opts.CommandGuildID != "" {
		// That guild's command list also holds its extensions' commands.
		return b.SyncGuildCommands(ctx, b.opts.CommandGuildID)
	}
	if _, err := b.s.ApplicationCommandBulkOverwrite(app, b.opts.CommandGuildID, defs, discordgo.WithContext(ctx)); err != nil {
		return fmt.Errorf("register %d commands: %w", len(defs), err)
	}
	b.log.Info("commands registered", "count", len(defs), "guild_id", b.opts.CommandGuildID)
	return nil
}

func (b *Bot) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	b.log.Info("gateway ready", "user", r.User.Username, "guilds", len(r.Guilds))
	if b.opts.Dispatcher != nil && r.User != nil {
		b.opts.Dispatcher.SetBotUser(userOf(r.User))
	}
	b.readyOnce.Do(func() { close(b.ready) })
}

// guard recovers a panic in an event handler (skybot's own bug) so one bad
// event cannot take the bot down, and logs it loudly.
func (b *Bot) guard(event string) {
	if v := recover(); v != nil {
		b.log.Error("event handler panicked", "event", event, "panic", v, "stack", string(debug.Stack()))
	}
}

func (b *Bot) onMessageCreate(s *discordgo.Session, m *discordgo.MessageCreate) {
	defer b.guard("MESSAGE_CREATE")
	if b.opts.Dispatcher == nil || m.GuildID == "" || m.Author == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.EventTimeout)
	defer cancel()
	msg := messageOf(s, m.Message)
	if err := b.opts.Dispatcher.OnMessage(ctx, msg); err != nil {
		b.log.Error("dispatch message", "guild_id", m.GuildID, "err", err)
	}
	if b.opts.AfterMessage != nil {
		b.opts.AfterMessage(msg)
	}
}

func (b *Bot) onGuildCreate(_ *discordgo.Session, g *discordgo.GuildCreate) {
	defer b.guard("GUILD_CREATE")
	if g.Guild == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.EventTimeout)
	defer cancel()
	if b.opts.OnGuild != nil {
		if err := b.opts.OnGuild(ctx, g.ID); err != nil {
			b.log.Error("guild setup failed", "guild_id", g.ID, "err", err)
		}
	}
	if err := b.SyncGuildCommands(ctx, g.ID); err != nil {
		b.log.Warn("guild commands not registered", "guild_id", g.ID, "err", err)
	}
}

func (b *Bot) onInteractionCreate(s *discordgo.Session, i *discordgo.InteractionCreate) {
	defer b.guard("INTERACTION_CREATE")
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.EventTimeout)
	defer cancel()
	if !b.isOwnInteraction(i) {
		b.onExtensionInteraction(ctx, s, i)
		return
	}
	if b.opts.Interactions == nil || !b.opts.Interactions.HandleInteraction(ctx, s, i) {
		b.log.Debug("interaction not for skybot", "id", i.ID, "type", i.Type)
	}
}

func userOf(u *discordgo.User) extensions.User {
	if u == nil {
		return extensions.User{}
	}
	return extensions.User{ID: u.ID, Username: u.Username, GlobalName: u.GlobalName, Avatar: u.Avatar, Bot: u.Bot, System: u.System}
}
