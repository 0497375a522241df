package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// tierCmd shows or sets a guild's tier: skybot tier --config F GUILD [TIER].
func tierCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tier", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "config.toml", "path to the TOML configuration")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return skyerr.New(skyerr.InvalidID, "Usage: skybot tier --config FILE GUILD_ID [TIER].")
	}
	guild, tier := fs.Arg(0), fs.Arg(1)
	if strings.Trim(guild, "0123456789") != "" {
		return skyerr.New(skyerr.InvalidID, "%q is not a guild ID (digits only).", guild)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(cfg.Tiers))
	for n := range cfg.Tiers {
		names = append(names, n)
	}
	slices.Sort(names)
	if _, ok := cfg.Tiers[tier]; tier != "" && !ok {
		return skyerr.New(skyerr.InvalidID, "Tier %q is not defined in %s (it has: %s).", tier, *path, strings.Join(names, ", "))
	}
	st, err := store.Open(ctx, cfg.Store.Path)
	if err != nil {
		return skyerr.Wrap(err, skyerr.InvalidPath, "Could not open the database %s.", cfg.Store.Path)
	}
	defer st.Close()
	g, err := st.EnsureGuild(ctx, store.GuildID(guild), cfg.Bot.Prefix)
	if err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not read guild %s.", guild)
	}
	if tier != "" && tier != g.Tier {
		if err := st.SetGuildTier(ctx, store.GuildID(guild), tier); err != nil {
			return skyerr.Wrap(err, skyerr.Unknown, "Could not set the tier of guild %s.", guild)
		}
		g.Tier = tier
	}
	t, known := cfg.TierLimits(g.Tier)
	note := ""
	if !known {
		note = fmt.Sprintf(" (not in config: runs as %s)", config.DefaultTier)
	}
	installs := "no install limit"
	if t.MaxInstalls > 0 {
		installs = fmt.Sprintf("up to %d installs", t.MaxInstalls)
	}
	fmt.Fprintf(stdout, "guild %s: tier %s%s — runs of %s, %d host calls, %d MiB each; %s\n",
		guild, g.Tier, note, t.Timeout, t.MaxHostCalls, t.MemoryLimitMB, installs)
	return nil
}
