package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// quarantineCmd lists quarantined versions, or lifts one:
// skybot quarantine --config F [lift NAME VERSION]. It works on the
// database directly, so a running skybot sees a lift at once; the guilds'
// admins then enable the extension again with /ext enable.
func quarantineCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quarantine", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "config.toml", "path to the TOML configuration")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lift := fs.NArg() == 3 && fs.Arg(0) == "lift"
	if fs.NArg() != 0 && !lift {
		return skyerr.New(skyerr.InvalidID, "Usage: skybot quarantine --config FILE [lift NAME VERSION].")
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if _, _, err := store.ExistingSchema(ctx, cfg.Store.Path); errors.Is(err, store.ErrNoDatabase) {
		return skyerr.Wrap(err, skyerr.InvalidPath, "%s (store.path in %s) is not an existing skybot database.", cfg.Store.Path, *path)
	}
	st, err := store.Open(ctx, cfg.Store.Path)
	if err != nil {
		return skyerr.Wrap(err, skyerr.InvalidPath, "Could not open the database %s.", cfg.Store.Path)
	}
	defer st.Close()
	qs, err := st.Quarantines(ctx)
	if err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not read the quarantined versions.")
	}
	if !lift {
		if len(qs) == 0 {
			fmt.Fprintln(stdout, "No version is quarantined.")
		}
		for _, q := range qs {
			fmt.Fprintf(stdout, "%s %s, quarantined %s: %s\n", q.Extension, q.Version, q.At.UTC().Format(time.DateTime+" UTC"), q.Reason)
		}
		return nil
	}
	name, version := fs.Arg(1), fs.Arg(2)
	lifted := 0
	for _, q := range qs {
		if q.Extension != name || q.Version != version {
			continue
		}
		if err := st.LiftQuarantine(ctx, q.VersionID); err != nil {
			return skyerr.Wrap(err, skyerr.Unknown, "Could not lift the quarantine of %s %s.", name, version)
		}
		lifted++
	}
	if lifted == 0 {
		return skyerr.New(skyerr.NotFound, "%s %s is not quarantined (skybot quarantine --config %s lists what is).", name, version, *path)
	}
	fmt.Fprintf(stdout, "Lifted the quarantine of %s %s. It stays suspended where it was installed until an admin there runs /ext enable %s.\n", name, version, name)
	return nil
}
