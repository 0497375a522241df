package extensions

import (
	"context"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// StatsDays is the window of /ext stats and the usage in /gallery info.
const StatsDays = 30

// VersionStats is one version's installs and its usage in the window.
type VersionStats struct {
	Version  store.Version // without code
	Installs store.InstallCount
	Usage    store.VersionUsage
}

// ExtensionStats is what an owner sees of an extension's use.
type ExtensionStats struct {
	Extension store.Extension
	Versions  []VersionStats // every version, newest first
	// Days are the runs and errors of the last StatsDays days, oldest
	// first; the last is today (UTC). FirstDay is the first's unix day.
	Days     []store.UsageCount
	FirstDay int64
	Total    store.VersionUsage // the window's sums; Guilds: any version ran there
	Installs int                // guilds running any version now
}

// Stats returns name's installs and usage (its owner or an
// administrator). The manager's counts must be flushed first for the
// latest runs to show (Manager.FlushUsage).
func (g *Gallery) Stats(ctx context.Context, actor store.UserID, name string) (ExtensionStats, error) {
	ext, err := g.extension(ctx, name)
	if err != nil {
		return ExtensionStats{}, err
	}
	if actor != ext.OwnerID && !g.IsAdmin(actor) {
		return ExtensionStats{}, skyerr.New(skyerr.Forbidden, "Only the owner of %s or a gallery administrator can see its stats.", name)
	}
	fail := func(err error) (ExtensionStats, error) {
		return ExtensionStats{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the stats of %s.", name)
	}
	vs, err := g.store.Versions(ctx, ext.ID)
	if err != nil {
		return fail(err)
	}
	installs, err := g.store.VersionInstalls(ctx, ext.ID)
	if err != nil {
		return fail(err)
	}
	today := store.UsageDay(g.now())
	first := today - StatsDays + 1
	use, err := g.store.UsageByVersion(ctx, ext.ID, first)
	if err != nil {
		return fail(err)
	}
	st := ExtensionStats{Extension: ext, FirstDay: first}
	for _, v := range vs {
		st.Versions = append(st.Versions, VersionStats{Version: v, Installs: installs[v.ID], Usage: use[v.ID]})
		st.Total.Runs += use[v.ID].Runs
		st.Total.Errors += use[v.ID].Errors
		st.Installs += installs[v.ID].Active
	}
	if st.Total.Guilds, err = g.store.ActiveGuilds(ctx, ext.ID, first); err != nil {
		return fail(err)
	}
	if st.Days, err = g.store.UsageDaily(ctx, ext.ID, first, today); err != nil {
		return fail(err)
	}
	return st, nil
}
