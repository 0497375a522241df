package extensions

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// Updates from the gallery. An install of a gallery extension moves to a
// newer published version the way a rollback moves to an older one: the
// install points at the stored version (no version row is written), the
// extension's update hook runs, its schedules follow the new version. A
// guild's own uploads are updated with an attached file instead.

// Auto-update tracks: how far a newly published version updates guilds by
// itself (config extensions.auto_update, a guild's policy).
const (
	TrackNone  = "none"
	TrackPatch = "patch" // same major.minor
	TrackMinor = "minor" // same major
)

// ValidTrack reports whether t names an auto-update track.
func ValidTrack(t string) bool { return t == TrackNone || t == TrackPatch || t == TrackMinor }

// AutoActor is the actor of the changes skybot makes by itself.
const AutoActor store.UserID = "skybot"

// PlanUpdatePublished prepares moving guild's install of name to a newer
// published gallery version: version, or the newest when "". It makes the
// checks PlanUpdate makes (rate, newer than installed, requires, policy,
// the sha256 and compile health check, the top level's registrations)
// except the one against uploads. The caller applies it at once unless it
// NeedsConsent.
func (m *Manager) PlanUpdatePublished(ctx context.Context, guild store.GuildID, actor store.UserID, name, version string, g *Gallery) (*Plan, error) {
	if err := m.checkRate(guild); err != nil {
		return nil, err
	}
	return m.planUpdatePublished(ctx, guild, actor, name, version, g)
}

func (m *Manager) planUpdatePublished(ctx context.Context, guild store.GuildID, actor store.UserID, name, version string, g *Gallery) (*Plan, error) {
	in, err := m.installed(ctx, guild, name)
	if err != nil {
		return nil, err
	}
	if err := m.fromGallery(ctx, in); err != nil {
		return nil, err
	}
	ver, err := g.Published(ctx, name, version)
	if err != nil {
		return nil, err
	}
	next, cur := semver.MustParse(ver.Version), semver.MustParse(in.Version)
	if !next.GreaterThan(cur) {
		if version == "" {
			return nil, skyerr.New(skyerr.InvalidState, "%s %s is the newest published version; there is nothing to update.", name, in.Version)
		}
		return nil, skyerr.New(skyerr.InvalidState, "%s %s is not newer than the installed %s; use /ext rollback to go back.", name, ver.Version, in.Version)
	}
	man, err := publishedManifest(ver)
	if err != nil {
		return nil, err
	}
	if err := m.checkRequires(ctx, guild, man); err != nil {
		return nil, err
	}
	if err := m.checkPolicy(ctx, guild, man, false); err != nil {
		return nil, err
	}
	prog, regs, err := m.healthCheck(ctx, guild, ver, man)
	if err != nil {
		return nil, err
	}
	p := m.newChangePlan(PlanUpdate, in, actor, man)
	p.program, p.target, p.Registrations = prog, &ver, regs
	p.Warnings = append(p.Warnings, m.commandConflicts(ctx, guild, name, man, regs)...)
	if was, err := m.store.Version(ctx, in.VersionID); err == nil {
		var old Manifest
		if json.Unmarshal(was.Manifest, &old) == nil {
			p.Warnings = append(p.Warnings, handlerChanges(old.Handlers, man.Handlers)...)
		}
	}
	m.plans.put(p)
	return p, nil
}

// fromGallery refuses gallery updates of a guild's own upload: there is no
// gallery version of it to move to.
func (m *Manager) fromGallery(ctx context.Context, in store.Install) error {
	ext, err := m.store.Extension(ctx, in.ExtensionID)
	if err != nil {
		return skyerr.Wrap(err, skyerr.UpdateFailed, "Could not read %s.", in.Name)
	}
	if ext.LocalGuild != "" {
		return skyerr.New(skyerr.InvalidState, "%s was uploaded to this server, not installed from the gallery; attach its newer file to /ext update.", in.Name)
	}
	return nil
}

// publishedManifest reads a stored version's manifest.
func publishedManifest(ver store.Version) (Manifest, error) {
	var man Manifest
	if err := json.Unmarshal(ver.Manifest, &man); err != nil {
		return Manifest{}, skyerr.Wrap(err, skyerr.LoadFailed, "The stored manifest of %s@%s cannot be read.", ver.Name, ver.Version)
	}
	return man, nil
}

// healthCheck compiles a stored version (checking its sha256) and, for a
// handler-style version, runs the top level that registers its handlers
// inside the guild's limits.
func (m *Manager) healthCheck(ctx context.Context, guild store.GuildID, ver store.Version, man Manifest) (*sandbox.Program, []sandbox.Registration, error) {
	if err := m.refuseQuarantined(ctx, ver.ID, ver.Name, ver.Version); err != nil {
		return nil, nil, err
	}
	prog, err := m.program(ver, man)
	if err != nil {
		return nil, nil, err
	}
	if man.Legacy() {
		return prog, nil, nil
	}
	_, gd, err := m.policy(ctx, guild)
	if err != nil {
		return nil, nil, err
	}
	regs, err := m.describe(ctx, guild, ver, prog, m.tier(gd.Tier).Limits)
	if err != nil {
		return nil, nil, err
	}
	return prog, regs, nil
}

// applyUpdatePublished points the install at the plan's gallery version,
// still published, if the install is still at the version it was planned
// from.
func (m *Manager) applyUpdatePublished(ctx context.Context, p *Plan, actor store.UserID) (store.Version, error) {
	in, err := m.installed(ctx, p.Guild, p.Manifest.Name)
	if err != nil {
		return store.Version{}, err
	}
	if in.Version != p.From {
		return store.Version{}, skyerr.New(skyerr.InvalidState, "%s changed to %s since this update was prepared; run /ext update again.", in.Name, in.Version)
	}
	ver := *p.target
	if cur, err := m.store.Version(ctx, ver.ID); err != nil || cur.State != store.StatePublished {
		return store.Version{}, skyerr.Wrap(err, skyerr.NotFound, "%s@%s is no longer published in the gallery.", ver.Name, ver.Version)
	}
	if err := m.store.SetInstallVersion(ctx, p.Guild, in.ExtensionID, ver.ID, p.Manifest.Scopes, store.ActionUpdate, actor); err != nil {
		return store.Version{}, skyerr.Wrap(err, skyerr.UpdateFailed, "Could not update %s to %s.", in.Name, ver.Version)
	}
	return ver, nil
}

// UpdateResult is what updating one install came to.
type UpdateResult struct {
	Name string
	From string // the version installed before
	To   string // the version updated to, or the one waiting (Waiting)
	// Updated is set when the install now runs To.
	Updated bool
	// Waiting names the scopes To asks for that were not granted: the
	// admin must accept them with /ext update <name>.
	Waiting []string
	// Current is set when the installed version is the newest published.
	Current bool
	// Err is why it could not be updated.
	Err error
}

// Line is the result in one line for the admin.
func (r UpdateResult) Line() string {
	switch {
	case r.Updated:
		return fmt.Sprintf("✅ **%s** %s → %s", r.Name, r.From, r.To)
	case len(r.Waiting) > 0:
		return fmt.Sprintf("⏸️ **%s** %s → %s waits for you to accept %s: `/ext update name:%s`", r.Name, r.From, r.To, strings.Join(r.Waiting, ", "), r.Name)
	case r.Current:
		return fmt.Sprintf("➖ **%s** %s is up to date", r.Name, r.From)
	default:
		return fmt.Sprintf("❌ **%s** %s: %s", r.Name, r.From, skyerr.UserText(r.Err))
	}
}

// UpdateAll updates every gallery extension installed in guild to its
// newest published version, one after the other, continuing past
// failures; an update that asks for new scopes is left for the admin to
// accept. progress, when set, hears each result as it is known (there is
// one result per install; the guild's own uploads are left out). The whole
// run counts as one install attempt.
func (m *Manager) UpdateAll(ctx context.Context, guild store.GuildID, actor store.UserID, g *Gallery, progress func(done, total int, r UpdateResult)) ([]UpdateResult, error) {
	if err := m.checkRate(guild); err != nil {
		return nil, err
	}
	ins, err := m.store.Installs(ctx, guild)
	if err != nil {
		return nil, skyerr.Wrap(err, skyerr.UpdateFailed, "Could not read the installs of this server.")
	}
	var gallery []store.Install
	for _, in := range ins {
		if ext, err := m.store.Extension(ctx, in.ExtensionID); err == nil && ext.LocalGuild == "" {
			gallery = append(gallery, in)
		}
	}
	out := make([]UpdateResult, 0, len(gallery))
	for _, in := range gallery {
		r := m.updateOne(ctx, guild, actor, in, g, "")
		out = append(out, r)
		if progress != nil {
			progress(len(out), len(gallery), r)
		}
	}
	return out, nil
}

// updateOne updates in to the newest published version, or, with a track,
// to the newest the track allows (see withinTrack). An update that asks
// for new scopes is never applied: it waits for the admin.
func (m *Manager) updateOne(ctx context.Context, guild store.GuildID, actor store.UserID, in store.Install, g *Gallery, track string) UpdateResult {
	r := UpdateResult{Name: in.Name, From: in.Version}
	target, err := m.updateTarget(ctx, in, g, track)
	if err != nil {
		r.Err = err
		return r
	}
	if target == "" {
		r.Current = true
		return r
	}
	r.To = target
	p, err := m.planUpdatePublished(ctx, guild, actor, in.Name, target, g)
	if err != nil {
		r.Err = err
		return r
	}
	if p.NeedsConsent() {
		m.Discard(p.ID)
		r.Waiting = p.AddedScopes
		return r
	}
	if _, err := m.Apply(ctx, guild, actor, p.ID); err != nil {
		r.Err = err
		return r
	}
	r.Updated = true
	return r
}

// updateTarget is the newest published version of in's extension newer
// than the installed one that track allows ("" allows any), or "" when
// there is none.
func (m *Manager) updateTarget(ctx context.Context, in store.Install, g *Gallery, track string) (string, error) {
	vs, err := g.Versions(ctx, in.Name)
	if err != nil {
		return "", err
	}
	cur := semver.MustParse(in.Version)
	for _, v := range vs { // newest first
		next := semver.MustParse(v.Version)
		if !next.GreaterThan(cur) {
			return "", nil
		}
		if track == "" || withinTrack(track, cur, next) {
			return v.Version, nil
		}
	}
	return "", nil
}

// withinTrack reports whether moving from cur to next stays on track:
// patch keeps major.minor, minor keeps the major. Prereleases never
// auto-update.
func withinTrack(track string, cur, next *semver.Version) bool {
	if next.Prerelease() != "" {
		return false
	}
	switch track {
	case TrackPatch:
		return next.Major() == cur.Major() && next.Minor() == cur.Minor()
	case TrackMinor:
		return next.Major() == cur.Major()
	}
	return false
}

// AutoUpdate updates, in every guild running an older version of name,
// the install to the newest published version the guild's auto-update
// track allows (its policy, else the operator's Options.AutoUpdate). It
// runs when a version is published. An update that asks for new scopes
// waits for the guild's admin (EventUpdateWaiting); one that fails leaves
// the install as it was (EventUpdateFailed). Guilds on no track are left
// alone and not reported.
func (m *Manager) AutoUpdate(ctx context.Context, g *Gallery, name string) ([]UpdateResult, error) {
	ver, err := g.Published(ctx, name, "")
	if err != nil {
		return nil, err
	}
	ins, err := m.store.InstallsOf(ctx, ver.ExtensionID)
	if err != nil {
		return nil, skyerr.Wrap(err, skyerr.UpdateFailed, "Could not read the installs of %s.", name)
	}
	var out []UpdateResult
	for _, in := range ins {
		track, err := m.track(ctx, in.GuildID)
		if err != nil {
			return out, err
		}
		if track == TrackNone {
			continue
		}
		r := m.updateOne(ctx, in.GuildID, AutoActor, in, g, track)
		switch {
		case r.Current:
			continue
		case len(r.Waiting) > 0:
			m.emit(LifecycleEvent{Kind: EventUpdateWaiting, Guild: in.GuildID, Extension: name, Version: r.To, From: r.From, Actor: AutoActor,
				Detail: strings.Join(r.Waiting, ", ")})
		case r.Err != nil:
			m.log.Warn("auto-update failed", "guild_id", in.GuildID, "ext", name, "from", r.From, "to", r.To, "err", r.Err)
			m.emit(LifecycleEvent{Kind: EventUpdateFailed, Guild: in.GuildID, Extension: name, Version: r.To, From: r.From, Actor: AutoActor,
				Detail: skyerr.UserText(r.Err)})
		}
		out = append(out, r)
	}
	return out, nil
}

// DefaultTrack is the auto-update track of guilds whose policy names none.
func (m *Manager) DefaultTrack() string {
	if m.opts.AutoUpdate == "" {
		return TrackNone
	}
	return m.opts.AutoUpdate
}

// track is the guild's auto-update track: its policy's, else the operator's.
func (m *Manager) track(ctx context.Context, guild store.GuildID) (string, error) {
	p, _, err := m.policy(ctx, guild)
	if err != nil {
		return "", err
	}
	if p.AutoUpdate != "" {
		return p.AutoUpdate, nil
	}
	return m.DefaultTrack(), nil
}
