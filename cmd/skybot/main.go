// Command skybot runs the skybot Discord bot, or shows it working against
// an emulated guild.
//
//	skybot demo [--data DIR]          an emulated guild, no token, no network
//	skybot run --config config.toml   real Discord; token from SKYBOT_TOKEN
//	skybot repair --config FILE [--dry-run]
//	skybot tier --config FILE GUILD_ID [TIER]
//	skybot bench [--events N]
//	skybot ext init|validate|test|pack|keygen   the author's offline loop
//	skybot dev <file.skyext>          a prompt in an emulated guild, reloading on save
//	skybot version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/skyext/skybot/bot"
	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/bot/ops"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
)

// benchCmd measures the sandbox through real worker processes and prints a
// table (BENCHMARKS.md explains it).
func benchCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	events := fs.Int("events", 0, "events per dispatch measurement (default 200000)")
	guilds := fs.Int("guilds", 0, "guilds in the many-guilds measurement (default 20000)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return sandbox.Bench(stdout, sandbox.BenchOptions{Events: *events, Guilds: *guilds})
}

const usage = `skybot — a marketplace of sandboxed JavaScript extensions for Discord guilds.

Usage:
  skybot demo [--data DIR]          show skybot working in an emulated guild (no token, no network)
  skybot run --config config.toml   connect to Discord (the token comes from SKYBOT_TOKEN)
  skybot repair --config FILE [--dry-run]
                                    check the database; fix dangling installs, orphans, tampered code
  skybot tier --config FILE GUILD_ID [TIER]
                                    show or set a guild's tier (its limits and install quota)
  skybot quarantine --config FILE [lift NAME VERSION]
                                    list versions quarantined for ending sandbox workers, or lift one
  skybot bench [--events N]         measure the sandbox: isolates, cold start, dispatch (events/s)
  skybot ext init|validate|test|pack|keygen
                                    write, check, test and package extensions offline ("skybot ext -h")
  skybot dev <file.skyext>          act in an emulated guild at a prompt; saving the file reloads it
  skybot version                    print skybot's version and extension engine version
`

func main() {
	// The same binary is re-executed as a sandbox worker process.
	if len(os.Args) > 1 && os.Args[1] == sandbox.WorkerArg {
		os.Exit(sandbox.WorkerMain())
	}
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// realMain runs one command and returns the exit code; errors are printed
// as a canonical code and a sentence.
func realMain(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "demo":
		err = demoCmd(ctx, args[1:], stdout, stderr)
	case "run":
		err = runCmd(ctx, args[1:], stderr, getenv)
	case "repair":
		err = repairCmd(ctx, args[1:], stdout, stderr)
	case "tier":
		err = tierCmd(ctx, args[1:], stdout, stderr)
	case "quarantine":
		err = quarantineCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		err = benchCmd(args[1:], stdout, stderr)
	case "ext":
		return extCmd(ctx, args[1:], stdout, stderr)
	case "dev":
		return devCmd(ctx, args[1:], os.Stdin, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "skybot %s (extension engine %s)\n", version, extensions.EngineVersion)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "skybot: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "skybot:", skyerr.UserText(err))
		if e := skyerr.From(err); e.Err != nil {
			fmt.Fprintln(stderr, "  cause:", e.Err)
		}
		return 1
	}
	return 0
}

// version is skybot's release version.
const version = "0.1.0"

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// runCmd connects to real Discord and serves until SIGINT or SIGTERM.
func runCmd(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "config.toml", "path to the TOML configuration")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	cfg.FromEnv(getenv)
	if err := cfg.RequireToken(); err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)

	session, err := discordgo.New("Bot " + string(cfg.Discord.Token))
	if err != nil {
		return skyerr.Wrap(err, skyerr.InvalidConfig, "Could not create a Discord session.")
	}
	session.Identify.Intents = bot.Intents(cfg.Discord.MessageContentIntent)
	metrics := ops.NewMetrics(log)
	a, err := assemble(ctx, cfg, session, log, hooks{onRun: metrics.ObserveRun, onLifecycle: metrics.ObserveLifecycle})
	if err != nil {
		var coded *skyerr.Error
		if errors.As(err, &coded) {
			return err // already a code and a sentence (e.g. a bad system_dir)
		}
		return skyerr.Wrap(err, skyerr.Unknown, "skybot could not start.")
	}
	_, stopOps, err := startOps(ctx, cfg, metrics, a.store, gatewayUp(session), log)
	if err != nil {
		_ = a.close()
		return err
	}
	defer stopOps()
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := a.start(startCtx); err != nil {
		_ = a.close()
		return skyerr.Wrap(err, skyerr.Unknown, "Could not connect to Discord; check the token and the intents enabled for the application.")
	}
	log.Info("skybot running; press Ctrl-C to stop")
	<-ctx.Done()
	log.Info("shutting down")
	return a.close()
}
