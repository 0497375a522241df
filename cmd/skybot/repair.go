package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// repairCmd is `skybot repair --config FILE [--dry-run]`: it scans the
// database named by store.path for damage, fixes what it can and prints
// what it found and did (see store.Repair). It never creates a database.
func repairCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("repair", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: skybot repair --config FILE [--dry-run]

Scans skybot's database (store.path in FILE) for installs that point at a
missing extension or version, versions whose code does not match its
digests, storage and log rows of missing extensions, expired storage and
extensions without versions; fixes what it can and prints a report. Run it
while skybot is stopped, or restart skybot afterwards: a running skybot
keeps the extensions it has already loaded.

`)
		fs.PrintDefaults()
	}
	path := fs.String("config", "config.toml", "path to the TOML configuration")
	dryRun := fs.Bool("dry-run", false, "report what a repair would do and change nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return skyerr.New(skyerr.InvalidConfig, "skybot repair takes only flags; %q is not one (see skybot repair -h).", fs.Arg(0))
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}

	have, want, err := store.ExistingSchema(ctx, cfg.Store.Path)
	switch {
	case errors.Is(err, store.ErrNoDatabase):
		return skyerr.Wrap(err, skyerr.InvalidPath,
			"%s (store.path in %s) is not an existing skybot database; repair never creates one.", cfg.Store.Path, *path)
	case err != nil:
		return skyerr.Wrap(err, skyerr.Unknown, "Could not read the database %s.", cfg.Store.Path)
	case have > want:
		return skyerr.New(skyerr.InvalidState,
			"%s has schema version %d, newer than this skybot's %d; repair it with the skybot that wrote it.", cfg.Store.Path, have, want)
	case have < want && *dryRun:
		return skyerr.New(skyerr.InvalidState,
			"%s has schema version %d; this skybot would first migrate it to %d, which a dry run must not do. Start skybot once, or repair without --dry-run.",
			cfg.Store.Path, have, want)
	}
	st, err := store.Open(ctx, cfg.Store.Path)
	if err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not open the database %s.", cfg.Store.Path)
	}
	rep, rerr := st.Repair(ctx, store.RepairOptions{DryRun: *dryRun})
	cerr := st.Close()

	printRepair(stdout, cfg.Store.Path, rep)
	if have < want {
		fmt.Fprintf(stdout, "The schema was migrated from version %d to %d before the scan.\n", have, want)
	}
	switch {
	case rerr != nil && *dryRun:
		return skyerr.Wrap(rerr, skyerr.Unknown, "The dry run stopped before the end; nothing was changed.")
	case rerr != nil:
		return skyerr.Wrap(rerr, skyerr.Unknown,
			"The repair stopped before the end: the checks listed were applied, the one that failed changed nothing.")
	case cerr != nil:
		return skyerr.Wrap(cerr, skyerr.Unknown, "The repair finished, but the database did not close cleanly.")
	}
	return nil
}

// printRepair writes the report: one line per check, the problems found,
// the row counts before and after, and what is left.
func printRepair(w io.Writer, path string, rep store.RepairReport) {
	fmt.Fprintf(w, "skybot repair: %s\n", path)
	if rep.DryRun {
		fmt.Fprintln(w, "Dry run: nothing was changed; the counts are what a repair would do now.")
	}
	fmt.Fprintln(w)
	if len(rep.Checks) == 0 {
		return
	}

	width := len("check")
	found := fkRows(rep.ForeignKeysBefore)
	for _, c := range rep.Checks {
		width = max(width, len(c.Name))
		found += c.Initial
	}
	fmt.Fprintf(w, "%-*s  %7s  %7s  %8s  %5s\n", width, "check", "initial", "removed", "disabled", "final")
	for _, c := range rep.Checks {
		fmt.Fprintf(w, "%-*s  %7d  %7d  %8d  %5d  %s\n", width, c.Name, c.Initial, c.Removed, c.Disabled, c.Final, c.Title)
	}

	if len(rep.Problems) > 0 {
		fmt.Fprintln(w, "\nProblems:")
		for _, p := range rep.Problems {
			what := p.Detail
			if sub := subject(p); sub != "" {
				what = sub + ": " + what
			}
			fmt.Fprintf(w, "  %s: %s\n      → %s\n", p.Check, what, p.Action)
		}
	}

	b, a := rep.Before, rep.After
	fmt.Fprintf(w, "\nRows before → after: extensions %d → %d, versions %d → %d, installs %d → %d (enabled %d → %d), "+
		"storage entries %d → %d, log lines %d → %d, history %d → %d, audit %d → %d\n",
		b.Extensions, a.Extensions, b.Versions, a.Versions, b.Installs, a.Installs, b.EnabledInstalls, a.EnabledInstalls,
		b.StorageEntries, a.StorageEntries, b.LogLines, a.LogLines, b.HistoryRows, a.HistoryRows, b.AuditRows, a.AuditRows)
	fmt.Fprintf(w, "Rows referring to a missing row (foreign-key check): %d before, %d after\n",
		fkRows(rep.ForeignKeysBefore), fkRows(rep.ForeignKeysAfter))
	for _, v := range rep.ForeignKeysAfter {
		fmt.Fprintf(w, "  %s → %s: %d row(s) that no check repairs\n", v.Table, v.Parent, v.Rows)
	}

	switch left := rep.Left(); {
	case found == 0:
		fmt.Fprintln(w, "\nThe database is consistent; nothing to repair.")
	case left == 0 && rep.DryRun:
		fmt.Fprintln(w, "\nA repair would fix everything found. Run again without --dry-run to apply it.")
	case left == 0:
		fmt.Fprintln(w, "\nEverything found was repaired.")
	case rep.DryRun:
		fmt.Fprintf(w, "\n%d problem(s) would be left that repair cannot fix (final column, and the rows above). Run again without --dry-run to apply the rest.\n", left)
	default:
		fmt.Fprintf(w, "\n%d problem(s) are left that repair cannot fix (final column, and the rows above).\n", left)
	}
}

// subject names what a problem is about: guild, extension, version.
func subject(p store.Problem) string {
	var parts []string
	if p.GuildID != "" {
		parts = append(parts, "guild "+string(p.GuildID))
	}
	if p.ExtensionID != 0 {
		s := fmt.Sprintf("extension %d", p.ExtensionID)
		if p.Extension != "" {
			s += " (" + p.Extension + ")"
		}
		parts = append(parts, s)
	}
	if p.VersionID != 0 {
		s := fmt.Sprintf("version %d", p.VersionID)
		if p.Version != "" {
			s += " (" + p.Version + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func fkRows(vs []store.ForeignKeyViolation) int {
	n := 0
	for _, v := range vs {
		n += v.Rows
	}
	return n
}
