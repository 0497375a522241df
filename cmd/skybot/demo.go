package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot"
	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/bot/discordtest"
	"github.com/skyext/skybot/bot/discordtest/spec"
	"github.com/skyext/skybot/bot/ops"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/examples"
	"github.com/skyext/skybot/extensions/skyerr"
)

// demoCmd plays a short scenario in an emulated guild and prints it as a
// transcript: an admin installs the sample extension, a member talks to
// it, someone without the right is refused, the admin lists and removes it.
func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "", "keep the SQLite database in this directory (default: a temporary one, removed at the end)")
	validate := fs.Bool("validate", false, "check every REST request against Discord's OpenAPI description (adds a few seconds to start)")
	verbose := fs.Bool("v", false, "print skybot's own log to stderr")
	opsAddr := fs.String("ops", "", "also serve /metrics and /healthz on this address (e.g. 127.0.0.1:9464)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	dir := *dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "skybot-demo-")
		if err != nil {
			return fmt.Errorf("temporary data directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	d, err := newDemo(ctx, dir, *validate, stdout, log)
	if err != nil {
		return err
	}
	defer d.close()
	if *opsAddr != "" {
		cfg := config.Default()
		cfg.Ops.Listen = *opsAddr
		addr, stop, err := startOps(ctx, cfg, d.metrics, d.app.store, gatewayUp(d.app.bot.Session()), log)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(stdout, "Metrics: http://%s/metrics  Health: http://%s/healthz\n", addr, addr)
	}
	return d.play()
}

// demo is the emulated guild, the skybot under test and the transcript.
type demo struct {
	ctx     context.Context
	out     io.Writer
	srv     *discordtest.Server
	app     *app
	dbPath  string
	guild   discordtest.Guild
	general discordtest.Channel
	admin   discordtest.Member
	member  discordtest.Member

	last    *discordgo.Message // skybot's latest answer to a slash command
	metrics *ops.Metrics

	mu      sync.Mutex
	runs    []extensions.Run
	handled map[string]chan struct{} // message id → closed once dispatched
}

func newDemo(ctx context.Context, dir string, validate bool, out io.Writer, log *slog.Logger) (*demo, error) {
	opts := discordtest.Options{Logger: log}
	if validate {
		v, err := spec.Shared()
		if err != nil {
			return nil, skyerr.Wrap(err, skyerr.InvalidPath,
				"Discord's API description was not found; run from the skybot checkout or set SKYBOT_DISCORD_SPEC to its openapi.json.")
		}
		opts.Validator = v
	}
	srv, err := discordtest.New(opts)
	if err != nil {
		return nil, fmt.Errorf("start the guild emulator: %w", err)
	}
	d := &demo{ctx: ctx, out: out, srv: srv, handled: map[string]chan struct{}{}, metrics: ops.NewMetrics(log)}
	d.guild = srv.CreateGuild("Skybot Demo")
	d.general = srv.AddChannel(d.guild.ID, "general", discordgo.ChannelTypeGuildText)
	admins := srv.AddRole(d.guild.ID, "Admins", discordgo.PermissionManageGuild)
	d.admin = srv.AddMember(d.guild.ID, "ada", admins.ID)
	d.member = srv.AddMember(d.guild.ID, "max")
	// The guild's admins let everyone see /ext (Server Settings →
	// Integrations), so skybot's own permission check is what stops max.
	if err := srv.AllowCommand(d.guild.ID, "ext", d.guild.ID); err != nil {
		srv.Close()
		return nil, err
	}

	cfg := config.Default()
	d.dbPath = filepath.Join(dir, "skybot.db")
	cfg.Store.Path = d.dbPath
	cfg.Discord.CommandGuildID = d.guild.ID

	session, err := emulatorSession(srv)
	if err != nil {
		srv.Close()
		return nil, err
	}

	cfg.Ops.Listen = "" // the demo serves metrics only when --ops asks
	d.app, err = assemble(ctx, cfg, session, log, hooks{onRun: d.onRun, onLifecycle: d.metrics.ObserveLifecycle, afterMessage: d.afterMessage})
	if err != nil {
		srv.Close()
		return nil, err
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.app.start(startCtx); err != nil {
		d.close()
		return nil, fmt.Errorf("connect skybot to the emulator: %w", err)
	}
	return d, nil
}

func (d *demo) close() {
	if d.app != nil {
		_ = d.app.close()
	}
	_ = d.srv.Close()
}

func (d *demo) onRun(r extensions.Run) {
	d.metrics.ObserveRun(r)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.runs = append(d.runs, r)
}

func (d *demo) afterMessage(m extensions.Message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ch, ok := d.handled[m.ID]; ok {
		close(ch)
	} else {
		closed := make(chan struct{})
		close(closed)
		d.handled[m.ID] = closed
	}
}

func (d *demo) play() error {
	fmt.Fprintf(d.out, "skybot demo: an emulated Discord guild %q — no token, no network.\n", d.guild.Name)
	fmt.Fprintf(d.out, "Extensions and their data live in %s.\n\n", d.dbPath)
	fmt.Fprintf(d.out, "#%s — ada has the Manage Server permission; max is a regular member.\n", d.general.Name)
	fmt.Fprintf(d.out, "(The server lets everyone see /ext, so skybot's own Manage Server check is what stops max.)\n\n")

	steps := []func() error{
		func() error {
			return d.slash(d.admin, "install", installFile("hello.skyext", examples.Read("hello.skyext")))
		},
		func() error { return d.click(d.admin, "Install") },
		func() error { return d.say(d.member, "!hello") },
		func() error { return d.say(d.member, "!hello world") },
		func() error { return d.slash(d.member, "list") },
		func() error { return d.slash(d.admin, "list") },
		func() error { return d.slash(d.admin, "uninstall", stringOpt("name", "hello")) },
		func() error { return d.click(d.admin, "Uninstall") },
		func() error { return d.say(d.member, "!hello") },
		func() error {
			fmt.Fprintln(d.out, "\nhello is SkynetBot's style: one trigger per file. welcome.skyext is skybot's own style:")
			fmt.Fprintln(d.out, "its top level registers a guild event, a slash command and a prefix command with the sky module.")
			return nil
		},
		func() error {
			return d.slash(d.admin, "install", installFile("welcome.skyext", examples.Read("welcome.skyext")))
		},
		func() error { return d.click(d.admin, "Install") },
		func() error { return d.join("nia") },
		func() error { return d.command(d.admin, "welcome", "stats") },
		func() error { return d.say(d.member, "!newest") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	fmt.Fprintln(d.out, "\nThat is the whole loop: install → run in a sandbox through granted scopes → remove.")
	return nil
}

// join adds a member to the guild and waits for the extensions that
// handle the join to have run.
func (d *demo) join(name string) error {
	fmt.Fprintf(d.out, "%s joins the server\n", name)
	d.srv.AddMember(d.guild.ID, name)
	if err := d.waitRun("guildMemberAdd"); err != nil {
		return err
	}
	d.printRuns()
	return nil
}

// waitRun waits until an extension run of trigger has been observed.
func (d *demo) waitRun(trigger string) error {
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	for {
		d.mu.Lock()
		found := slices.ContainsFunc(d.runs, func(r extensions.Run) bool { return r.Trigger == trigger })
		d.mu.Unlock()
		if found {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no extension ran for %s: %w", trigger, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// command runs an extension's slash command /name sub as m, once skybot
// has registered it, and prints the run and the answer.
func (d *demo) command(m discordtest.Member, name, sub string) error {
	in := discordtest.SlashInput{GuildID: d.guild.ID, ChannelID: d.general.ID, UserID: m.UserID, Name: name,
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: sub, Type: discordgo.ApplicationCommandOptionSubCommand}}}
	fmt.Fprintf(d.out, "%s runs /%s %s\n", m.Username, name, sub)
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	var it *discordtest.Interaction
	for {
		var err error
		if it, err = d.srv.RunSlash(in); err == nil {
			break
		}
		select { // the command is registered in the background after the install
		case <-ctx.Done():
			return fmt.Errorf("%s runs /%s: %w", m.Username, name, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	reply, err := it.WaitMessage(ctx, func(msg *discordgo.Message) bool { return msg.Content != "" })
	if err != nil {
		return fmt.Errorf("no answer to /%s: %w", name, err)
	}
	if err := d.waitRun("command"); err != nil {
		return err
	}
	d.printRuns()
	who := ""
	if it.Response().Ephemeral {
		who = " (only " + m.Username + " sees this)"
	}
	fmt.Fprintf(d.out, "  skybot%s: %s\n", who, indent(reply.Content))
	return nil
}

// say posts content as m and prints the bot's answers once skybot has
// dispatched the message to every extension.
func (d *demo) say(m discordtest.Member, content string) error {
	before := len(d.srv.Messages(d.general.ID))
	msg, err := d.srv.SendMessage(d.general.ID, m.UserID, content)
	if err != nil {
		return fmt.Errorf("%s says %q: %w", m.Username, content, err)
	}
	fmt.Fprintf(d.out, "%s: %s\n", m.Username, content)
	if err := d.waitHandled(msg.ID); err != nil {
		return err
	}
	d.printRuns()
	answered := false
	for _, reply := range d.srv.Messages(d.general.ID)[before:] {
		if reply.Author == nil || reply.Author.ID != d.srv.BotUserID() {
			continue
		}
		answered = true
		to := ""
		if reply.MessageReference != nil && reply.MessageReference.MessageID == msg.ID {
			to = " → " + m.Username
		}
		fmt.Fprintf(d.out, "  skybot%s: %s\n", to, reply.Content)
	}
	if !answered {
		fmt.Fprintln(d.out, "  (no extension answers)")
	}
	return nil
}

func (d *demo) waitHandled(id string) error {
	d.mu.Lock()
	ch, ok := d.handled[id]
	if !ok {
		ch = make(chan struct{})
		d.handled[id] = ch
	}
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("skybot did not handle message %s: %w", id, ctx.Err())
	}
}

// printRuns prints the extension runs since the last call: which
// extension ran, and each host call with the scope it used.
func (d *demo) printRuns() {
	d.mu.Lock()
	runs := d.runs
	d.runs = nil
	d.mu.Unlock()
	for _, r := range runs {
		var calls []string
		for _, c := range r.Result.Calls {
			scope := "scope " + c.Scope
			if c.Scope == "" {
				scope = "no scope needed"
			}
			calls = append(calls, fmt.Sprintf("%s [%s] %s", c.API, scope, c.Outcome))
		}
		status := "ok"
		if f := r.Result.Failure; f != nil {
			status = "failed: " + f.Kind + ": " + f.Message
		}
		fmt.Fprintf(d.out, "  · sandbox: %s@%s ran as a %s (%s) — %s\n", r.Extension, r.Version, r.Trigger, status, strings.Join(calls, "; "))
	}
}

type slashOpt func(in *discordtest.SlashInput)

func installFile(name string, data []byte) slashOpt {
	return func(in *discordtest.SlashInput) {
		in.Options = append(in.Options, &discordgo.ApplicationCommandInteractionDataOption{
			Name: "file", Type: discordgo.ApplicationCommandOptionAttachment,
			Value: discordtest.Upload{Filename: name, ContentType: "text/javascript", Data: data},
		})
	}
}

func stringOpt(name, value string) slashOpt {
	return func(in *discordtest.SlashInput) {
		in.Options = append(in.Options, &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionString, Value: value})
	}
}

// click presses the button whose label starts with label on skybot's last
// answer, as m, and prints the message it turned into.
func (d *demo) click(m discordtest.Member, label string) error {
	if d.last == nil {
		return fmt.Errorf("no answer to click on")
	}
	id, shown := findButton(d.last, label)
	if id == "" {
		return fmt.Errorf("skybot's answer has no %q button", label)
	}
	fmt.Fprintf(d.out, "%s clicks [%s]\n", m.Username, shown)
	it, err := d.srv.ClickButton(d.last.ChannelID, d.last.ID, m.UserID, id)
	if err != nil {
		return fmt.Errorf("%s clicks %s: %w", m.Username, shown, err)
	}
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	resp, err := it.WaitResponse(ctx)
	if err != nil || resp.Message == nil {
		return fmt.Errorf("skybot did not answer the click on %s: %v", shown, err)
	}
	fmt.Fprintf(d.out, "  skybot (the card now reads): %s\n", indent(resp.Message.Content))
	return nil
}

// findButton returns the custom id and label of the first button in msg
// whose label starts with prefix.
func findButton(msg *discordgo.Message, prefix string) (id, label string) {
	for _, row := range msg.Components {
		r, ok := row.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, c := range r.Components {
			if b, ok := c.(*discordgo.Button); ok && strings.HasPrefix(b.Label, prefix) {
				return b.CustomID, b.Label
			}
		}
	}
	return "", ""
}

// slash runs /ext <sub> as m and prints skybot's answer.
func (d *demo) slash(m discordtest.Member, sub string, opts ...slashOpt) error {
	in := discordtest.SlashInput{GuildID: d.guild.ID, ChannelID: d.general.ID, UserID: m.UserID, Name: "ext"}
	subOpt := &discordgo.ApplicationCommandInteractionDataOption{Name: sub, Type: discordgo.ApplicationCommandOptionSubCommand}
	inner := discordtest.SlashInput{}
	for _, o := range opts {
		o(&inner)
	}
	subOpt.Options = inner.Options
	in.Options = []*discordgo.ApplicationCommandInteractionDataOption{subOpt}

	shown := "/ext " + sub
	for _, o := range inner.Options {
		if up, ok := o.Value.(discordtest.Upload); ok {
			shown += fmt.Sprintf(" %s:%s", o.Name, up.Filename)
			continue
		}
		shown += fmt.Sprintf(" %s:%v", o.Name, o.Value)
	}
	fmt.Fprintf(d.out, "%s runs %s\n", m.Username, shown)

	it, err := d.srv.RunSlash(in)
	if err != nil {
		return fmt.Errorf("%s runs %s: %w", m.Username, shown, err)
	}
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	reply, err := it.WaitMessage(ctx, func(msg *discordgo.Message) bool { return msg.Content != "" })
	if err != nil {
		return fmt.Errorf("skybot did not answer %s: %w", shown, err)
	}
	who := ""
	if it.Response().Ephemeral {
		who = " (only " + m.Username + " sees this)"
	}
	fmt.Fprintf(d.out, "  skybot%s: %s\n", who, indent(reply.Content))
	if len(reply.Components) > 0 {
		var labels []string
		for _, row := range reply.Components {
			if r, ok := row.(*discordgo.ActionsRow); ok {
				for _, c := range r.Components {
					if b, ok := c.(*discordgo.Button); ok {
						labels = append(labels, "["+b.Label+"]")
					}
				}
			}
		}
		fmt.Fprintf(d.out, "    %s\n", strings.Join(labels, " "))
	}
	d.last = reply
	return nil
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// emulatorSession is an unmodified discordgo session pointed at the guild
// emulator, with skybot's intents; the demo, skybot ext test and the
// end-to-end tests all connect this way.
func emulatorSession(srv *discordtest.Server) (*discordgo.Session, error) {
	session, err := discordgo.New("Bot " + srv.Token())
	if err != nil {
		return nil, err
	}
	session.Client = srv.HTTPClient()
	session.Identify.Intents = bot.Intents(true)
	session.LogLevel = -1 // discordgo's own logger prints to stdout
	return session, nil
}
