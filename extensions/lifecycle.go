package extensions

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// PlanKind is what a plan will do when applied.
type PlanKind string

const (
	PlanInstall  PlanKind = "install"
	PlanUpdate   PlanKind = "update"
	PlanRollback PlanKind = "rollback"
)

// Plan is a validated, compiled change waiting to be applied: an install
// always waits for the admin's consent to its scopes; an update or a
// rollback waits only when it needs scopes not granted yet. Nothing is
// written before Apply.
type Plan struct {
	ID       string
	Kind     PlanKind
	Guild    store.GuildID
	Actor    store.UserID // who asked
	Manifest Manifest
	// From is the installed version an update or rollback replaces.
	From          string
	AddedScopes   []string // asked for and not granted now
	RemovedScopes []string // granted now and no longer asked for
	Warnings      []string // what a 1.0 package lost on the way in
	// Registrations are a handler-style version's handlers, as its top
	// level registered them when the plan was made (the health check).
	Registrations []sandbox.Registration
	Expires       time.Time

	// Dependencies are what an install brings with it from the gallery,
	// in install order; their scopes are granted with the plan's.
	Dependencies []*Dependency

	code    string
	program *sandbox.Program
	// target is the stored version to point at: a rollback's, or a
	// published gallery version's (PlanInstallPublished). nil: an upload.
	target *store.Version
	// gallery is where Dependencies came from.
	gallery *Gallery
}

// NeedsConsent reports whether applying needs the admin to accept scopes.
func (p *Plan) NeedsConsent() bool { return p.Kind == PlanInstall || len(p.AddedScopes) > 0 }

// Scopes describes the scopes the plan grants, for the consent screen.
func (p *Plan) Scopes() []sandbox.Scope { return describeScopes(p.Manifest.Scopes) }

// planTTL is how long a plan waits for consent: an interaction token lives
// 15 minutes, after which the buttons could not be answered anyway.
const planTTL = 15 * time.Minute

// Install attempts per guild per window (issue: 5 a minute).
const (
	installAttempts = 5
	installWindow   = time.Minute
)

// plans holds the plans waiting for consent, in memory: after a restart the
// admin asks again, and nothing was written in the meantime.
type plans struct {
	mu sync.Mutex
	m  map[string]*Plan
}

func (ps *plans) put(p *Plan) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = map[string]*Plan{}
	}
	for id, old := range ps.m { // drop expired plans as new ones arrive
		if time.Now().After(old.Expires) {
			delete(ps.m, id)
		}
	}
	ps.m[p.ID] = p
}

// take removes and returns the plan; a plan is applied at most once.
func (ps *plans) take(id string) (*Plan, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.m[id]
	delete(ps.m, id)
	return p, ok
}

func newPlanID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// rateLimiter counts install attempts per guild in a sliding window.
type rateLimiter struct {
	mu       sync.Mutex
	attempts map[store.GuildID][]time.Time
}

// allow records an attempt at now, or says when the next one may be made
// when limit attempts were made in the window already.
func (r *rateLimiter) allow(guild store.GuildID, now time.Time, limit int) (bool, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.attempts == nil {
		r.attempts = map[store.GuildID][]time.Time{}
	}
	recent := r.attempts[guild][:0]
	for _, t := range r.attempts[guild] {
		if now.Sub(t) < installWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) >= limit {
		r.attempts[guild] = recent
		return false, recent[0].Add(installWindow)
	}
	r.attempts[guild] = append(recent, now)
	return true, time.Time{}
}

func (m *Manager) now() time.Time {
	if m.opts.Now != nil {
		return m.opts.Now()
	}
	return time.Now()
}

// checkRate counts one install or update attempt for guild.
func (m *Manager) checkRate(guild store.GuildID) error {
	limit := cmp.Or(m.opts.InstallAttempts, installAttempts)
	ok, next := m.rate.allow(guild, m.now(), limit)
	if !ok {
		wait := next.Sub(m.now()).Round(time.Second)
		return skyerr.New(skyerr.RateLimit, "This server made %d install attempts in the last minute; try again in %s.", limit, wait)
	}
	return nil
}

// PlanInstall validates and compiles an attached .skyext for guild and
// returns the plan the admin must consent to. Nothing is written.
func (m *Manager) PlanInstall(ctx context.Context, guild store.GuildID, actor store.UserID, up Upload, fetch Fetch) (*Plan, error) {
	if m.opts.RefuseUploads {
		return nil, skyerr.New(skyerr.Forbidden, "This skybot's operator does not allow installing attached files; install from the gallery instead.")
	}
	if err := m.checkRate(guild); err != nil {
		return nil, err
	}
	u, err := m.readAndCompile(ctx, guild, up, fetch)
	if err != nil {
		return nil, err
	}
	man := u.man
	if in, err := m.store.InstallByName(ctx, guild, man.Name); err == nil {
		return nil, skyerr.New(skyerr.AlreadyExists, "%s is already installed here (version %s); use /ext update to change its version.", man.Name, in.Version)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, skyerr.Wrap(err, skyerr.InstallFailed, "Could not check the installs of this server.")
	}
	if err := m.checkPolicy(ctx, guild, man, true); err != nil {
		return nil, err
	}
	deps, err := m.planDependencies(ctx, guild, man, m.gallery)
	if err != nil {
		return nil, err
	}
	p := &Plan{ID: newPlanID(), Kind: PlanInstall, Guild: guild, Actor: actor, Manifest: man, Warnings: u.warnings,
		AddedScopes: man.Scopes, Registrations: u.regs, Expires: m.now().Add(planTTL), code: u.code, program: u.program,
		Dependencies: deps, gallery: m.gallery}
	p.Warnings = append(p.Warnings, m.commandConflicts(ctx, guild, man.Name, man, u.regs)...)
	m.plans.put(p)
	return p, nil
}

// PlanUpdate validates an attached newer version of an installed
// extension and works out what changes. The caller applies it at once
// unless it NeedsConsent.
func (m *Manager) PlanUpdate(ctx context.Context, guild store.GuildID, actor store.UserID, name string, up Upload, fetch Fetch) (*Plan, error) {
	if m.opts.RefuseUploads {
		return nil, skyerr.New(skyerr.Forbidden, "This skybot's operator does not allow installing attached files; install from the gallery instead.")
	}
	if err := m.checkRate(guild); err != nil {
		return nil, err
	}
	in, err := m.installed(ctx, guild, name)
	if err != nil {
		return nil, err
	}
	u, err := m.readAndCompile(ctx, guild, up, fetch)
	if err != nil {
		return nil, err
	}
	man := u.man
	if man.Name != name {
		return nil, skyerr.New(skyerr.InvalidPackage, "The attached file is %s, not %s.", man.Name, name)
	}
	next, cur := semver.MustParse(man.Version), semver.MustParse(in.Version)
	if !next.GreaterThan(cur) {
		return nil, skyerr.New(skyerr.InvalidState, "%s %s is not newer than the installed %s; use /ext rollback to go back.", name, man.Version, in.Version)
	}
	if err := m.checkRequires(ctx, guild, man); err != nil {
		return nil, err
	}
	if err := m.checkPolicy(ctx, guild, man, true); err != nil {
		return nil, err
	}
	p := m.newChangePlan(PlanUpdate, in, actor, man)
	p.code, p.program, p.Warnings, p.Registrations = u.code, u.program, u.warnings, u.regs
	p.Warnings = append(p.Warnings, m.commandConflicts(ctx, guild, name, man, u.regs)...)
	if cur, err := m.store.Version(ctx, in.VersionID); err == nil {
		var was Manifest
		if json.Unmarshal(cur.Manifest, &was) == nil {
			p.Warnings = append(p.Warnings, handlerChanges(was.Handlers, man.Handlers)...)
		}
	}
	m.plans.put(p)
	return p, nil
}

// PlanRollback prepares going back to version (or, when empty, to the
// version the install had before its current one). Storage is untouched.
func (m *Manager) PlanRollback(ctx context.Context, guild store.GuildID, actor store.UserID, name, version string) (*Plan, error) {
	in, err := m.installed(ctx, guild, name)
	if err != nil {
		return nil, err
	}
	var target store.Version
	if version == "" {
		target, err = m.previousVersion(ctx, in)
	} else {
		if _, perr := semver.StrictNewVersion(version); perr != nil {
			return nil, skyerr.New(skyerr.InvalidID, "%q is not a version (e.g. 1.0.0).", version)
		}
		target, err = m.store.FindVersion(ctx, in.ExtensionID, version)
		if errors.Is(err, store.ErrNotFound) {
			return nil, skyerr.New(skyerr.InvalidID, "%s has no version %s here.", name, version)
		}
	}
	if err != nil {
		return nil, err
	}
	if target.ID == in.VersionID {
		return nil, skyerr.New(skyerr.InvalidState, "%s is already at %s.", name, target.Version)
	}
	if err := m.reviewedOrRan(ctx, in, target); err != nil {
		return nil, err
	}
	var man Manifest
	if err := json.Unmarshal(target.Manifest, &man); err != nil {
		return nil, skyerr.Wrap(err, skyerr.UpdateFailed, "The stored manifest of %s@%s cannot be read.", name, target.Version)
	}
	if err := m.checkRequires(ctx, guild, man); err != nil {
		return nil, err
	}
	if err := m.checkPolicy(ctx, guild, man, false); err != nil {
		return nil, err
	}
	if err := m.refuseQuarantined(ctx, target.ID, name, target.Version); err != nil {
		return nil, err
	}
	prog, err := m.program(target, man) // the health check: sha256 and compile
	if err != nil {
		return nil, err
	}
	p := m.newChangePlan(PlanRollback, in, actor, man)
	p.program, p.target = prog, &target
	m.plans.put(p)
	return p, nil
}

// reviewedOrRan refuses rolling a gallery extension onto a version that
// was never published (queued, rejected, withdrawn) unless this guild ran
// it before: rollback must not become a way around review. A guild's own
// uploads are its own business.
func (m *Manager) reviewedOrRan(ctx context.Context, in store.Install, target store.Version) error {
	ext, err := m.store.Extension(ctx, in.ExtensionID)
	if err != nil {
		return skyerr.Wrap(err, skyerr.UpdateFailed, "Could not read %s.", in.Name)
	}
	if ext.LocalGuild != "" || target.State == store.StatePublished {
		return nil
	}
	hist, err := m.store.History(ctx, in.GuildID, in.ExtensionID)
	if err != nil {
		return skyerr.Wrap(err, skyerr.UpdateFailed, "Could not read the history of %s.", in.Name)
	}
	for _, h := range hist {
		if h.ToVersionID == target.ID {
			return nil
		}
	}
	return skyerr.New(skyerr.NotFound, "%s %s is not published in the gallery and never ran here.", in.Name, target.Version)
}

// previousVersion is the version the install pointed at before its
// current one, from the install history.
func (m *Manager) previousVersion(ctx context.Context, in store.Install) (store.Version, error) {
	hist, err := m.store.History(ctx, in.GuildID, in.ExtensionID)
	if err != nil {
		return store.Version{}, skyerr.Wrap(err, skyerr.UpdateFailed, "Could not read the history of %s.", in.Name)
	}
	for i := len(hist) - 1; i >= 0; i-- {
		h := hist[i]
		if h.ToVersionID == in.VersionID && h.FromVersionID != 0 {
			v, err := m.store.Version(ctx, h.FromVersionID)
			if err != nil {
				return store.Version{}, skyerr.Wrap(err, skyerr.UpdateFailed, "Could not read the previous version of %s.", in.Name)
			}
			return v, nil
		}
	}
	return store.Version{}, skyerr.New(skyerr.InvalidState, "%s has no earlier version on this server to go back to.", in.Name)
}

func (m *Manager) newChangePlan(kind PlanKind, in store.Install, actor store.UserID, man Manifest) *Plan {
	added, removed := scopeDiff(in.GrantedScopes, man.Scopes)
	return &Plan{ID: newPlanID(), Kind: kind, Guild: in.GuildID, Actor: actor, Manifest: man, From: in.Version,
		AddedScopes: added, RemovedScopes: removed, Expires: m.now().Add(planTTL)}
}

// scopeDiff returns the scopes in want but not granted, and the reverse.
func scopeDiff(granted, want []string) (added, removed []string) {
	for _, s := range want {
		if !slices.Contains(granted, s) {
			added = append(added, s)
		}
	}
	for _, s := range granted {
		if !slices.Contains(want, s) {
			removed = append(removed, s)
		}
	}
	return added, removed
}

// Discard drops a plan (the admin pressed Cancel).
func (m *Manager) Discard(id string) { m.plans.take(id) }

// Apply carries out a plan for actor, in guild (a plan is only valid in
// the guild it was made for). The change is one SQLite transaction; the
// old isolate is stopped only after the swap, so a failure leaves the
// guild exactly as it was.
func (m *Manager) Apply(ctx context.Context, guild store.GuildID, actor store.UserID, id string) (*Plan, error) {
	p, ok := m.plans.take(id)
	if !ok || p.Guild != guild {
		return nil, skyerr.New(skyerr.InvalidState, "This request is no longer pending (it was used, cancelled, or skybot restarted); run the command again.")
	}
	if m.now().After(p.Expires) {
		return nil, skyerr.New(skyerr.InvalidState, "This request expired after %s; run the command again.", planTTL)
	}
	name := p.Manifest.Name
	unlock := m.locks.lock(string(guild) + "/" + name)
	defer unlock()
	if err := m.recheckRequires(ctx, p); err != nil {
		return nil, err
	}
	if err := m.checkPolicy(ctx, guild, p.Manifest, p.Kind != PlanRollback && p.target == nil); err != nil {
		return nil, err
	}
	// Quarantined while the plan waited for consent.
	if p.target != nil {
		if err := m.refuseQuarantined(ctx, p.target.ID, name, p.target.Version); err != nil {
			return nil, err
		}
	}
	for _, d := range p.Dependencies {
		if err := m.refuseQuarantined(ctx, d.version.ID, d.Manifest.Name, d.Manifest.Version); err != nil {
			return nil, err
		}
	}

	var (
		ver store.Version
		err error
	)
	switch p.Kind {
	case PlanInstall:
		ver, err = m.applyInstall(ctx, p, actor)
	case PlanUpdate:
		ver, err = m.applyUpdate(ctx, p, actor)
	case PlanRollback:
		ver, err = m.applyRollback(ctx, p, actor)
	}
	if err != nil {
		return nil, err
	}
	m.keepProgram(ver.ID, p.program)
	for _, d := range p.Dependencies {
		m.keepProgram(d.version.ID, d.program)
	}
	m.runner.Evict(sandbox.Key{Guild: string(guild), Extension: name}) // the old version stops here
	m.invalidate(guild)
	m.fails.reset(string(guild) + "/" + name)
	m.log.Info("extension "+string(p.Kind)+" applied", "guild_id", guild, "ext", name, "version", p.Manifest.Version, "from", p.From, "actor", actor,
		"with", len(p.Dependencies))
	for _, d := range p.Dependencies {
		m.emit(LifecycleEvent{Kind: EventInstalled, Guild: guild, Extension: d.Manifest.Name, Version: d.Manifest.Version, Actor: actor})
	}
	kind := map[PlanKind]string{PlanInstall: EventInstalled, PlanUpdate: EventUpdated, PlanRollback: EventRolledBack}[p.Kind]
	m.emit(LifecycleEvent{Kind: kind, Guild: guild, Extension: name, Version: p.Manifest.Version, From: p.From, Actor: actor})
	if p.Kind == PlanInstall {
		for _, d := range p.Dependencies { // what it requires is ready first
			m.hook(ctx, guild, d.Manifest.Name, "install", nil, false)
		}
		m.hook(ctx, guild, name, "install", nil, false)
	} else {
		m.hook(ctx, guild, name, "update", map[string]any{"fromVersion": p.From, "rollback": p.Kind == PlanRollback}, false)
	}
	return p, nil
}

func (m *Manager) applyInstall(ctx context.Context, p *Plan, actor store.UserID) (store.Version, error) {
	if p.target != nil {
		return m.applyInstallPublished(ctx, p, actor)
	}
	man := p.Manifest
	if in, err := m.store.InstallByName(ctx, p.Guild, man.Name); err == nil {
		return store.Version{}, skyerr.New(skyerr.AlreadyExists, "%s is already installed here (version %s).", man.Name, in.Version)
	}
	if err := m.checkQuota(ctx, p.Guild, 1+len(p.Dependencies)); err != nil {
		return store.Version{}, err
	}
	nv, err := m.newLocalVersion(p, actor)
	if err != nil {
		return store.Version{}, err
	}
	// The version, the install and what it requires are one transaction:
	// a refusal leaves no row behind.
	ver, err := m.store.SaveAndInstall(ctx, nv,
		store.Install{GuildID: p.Guild, Enabled: true, GrantedScopes: man.Scopes, InstalledBy: actor}, dependencyInstalls(p, actor)...)
	return ver, versionError(err, man, skyerr.InstallFailed)
}

func (m *Manager) applyUpdate(ctx context.Context, p *Plan, actor store.UserID) (store.Version, error) {
	if p.target != nil {
		return m.applyUpdatePublished(ctx, p, actor)
	}
	in, err := m.installed(ctx, p.Guild, p.Manifest.Name)
	if err != nil {
		return store.Version{}, err
	}
	if in.Version != p.From {
		return store.Version{}, skyerr.New(skyerr.InvalidState, "%s changed to %s since this update was prepared; run /ext update again.", in.Name, in.Version)
	}
	nv, err := m.newLocalVersion(p, actor)
	if err != nil {
		return store.Version{}, err
	}
	ver, err := m.store.SaveAndSwap(ctx, nv, p.Guild, p.Manifest.Scopes, actor)
	return ver, versionError(err, p.Manifest, skyerr.UpdateFailed)
}

func (m *Manager) applyRollback(ctx context.Context, p *Plan, actor store.UserID) (store.Version, error) {
	in, err := m.installed(ctx, p.Guild, p.Manifest.Name)
	if err != nil {
		return store.Version{}, err
	}
	if in.Version != p.From {
		return store.Version{}, skyerr.New(skyerr.InvalidState, "%s changed to %s since this rollback was prepared; run /ext rollback again.", in.Name, in.Version)
	}
	err = m.store.SetInstallVersion(ctx, p.Guild, in.ExtensionID, p.target.ID, p.Manifest.Scopes, store.ActionRollback, actor)
	if err != nil {
		return store.Version{}, skyerr.Wrap(err, skyerr.UpdateFailed, "Could not roll %s back to %s.", in.Name, p.Manifest.Version)
	}
	return *p.target, nil
}

// newLocalVersion is the version row of an upload: the extension belongs
// to the guild (any of its admins may update it); the uploader is kept.
func (m *Manager) newLocalVersion(p *Plan, actor store.UserID) (store.NewVersion, error) {
	return newVersion(p.Manifest, p.code, string(p.Guild), store.UserID("guild:"+string(p.Guild)), actor)
}

// newVersion is the store row of a manifest and its code.
func newVersion(man Manifest, code, localGuild string, owner, submitter store.UserID) (store.NewVersion, error) {
	manifest, err := json.Marshal(man)
	if err != nil {
		return store.NewVersion{}, skyerr.Wrap(err, skyerr.InstallFailed, "Could not encode the manifest of %s.", man.Name)
	}
	return store.NewVersion{
		Name: man.Name, LocalGuild: localGuild, Owner: owner, SubmittedBy: submitter,
		Version: man.Version, Manifest: manifest, Code: code,
	}, nil
}

func sandboxKey(guild store.GuildID, name string) sandbox.Key {
	return sandbox.Key{Guild: string(guild), Extension: name}
}

func versionError(err error, man Manifest, code skyerr.Code) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrOwner):
		return skyerr.New(skyerr.Forbidden, "The name %s belongs to another author.", man.Name)
	case errors.Is(err, store.ErrExists):
		return skyerr.New(skyerr.AlreadyExists,
			"%s@%s was uploaded before with different code; versions never change, so raise @version.", man.Name, man.Version)
	case errors.Is(err, store.ErrNotFound):
		return skyerr.New(skyerr.NotFound, "%s is not installed on this server.", man.Name)
	}
	return skyerr.Wrap(err, code, "Could not store %s@%s.", man.Name, man.Version)
}

// installed returns the guild's install of name or E_NOT_FOUND.
func (m *Manager) installed(ctx context.Context, guild store.GuildID, name string) (store.Install, error) {
	in, err := m.store.InstallByName(ctx, guild, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Install{}, skyerr.New(skyerr.NotFound, "%s is not installed on this server.", name)
	}
	if err != nil {
		return store.Install{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the install of %s.", name)
	}
	return in, nil
}

// SetEnabled enables or disables an install; a disabled extension keeps its
// data and version but receives no events.
func (m *Manager) SetEnabled(ctx context.Context, guild store.GuildID, actor store.UserID, name string, enabled bool) (store.Install, error) {
	unlock := m.locks.lock(string(guild) + "/" + name)
	defer unlock()
	in, err := m.installed(ctx, guild, name)
	if err != nil {
		return store.Install{}, err
	}
	if in.Enabled == enabled {
		state := map[bool]string{true: "enabled", false: "disabled"}[enabled]
		return store.Install{}, skyerr.New(skyerr.InvalidState, "%s is already %s.", name, state)
	}
	if !enabled {
		if err := m.refuseIfRequired(ctx, guild, name, "disable", skyerr.UpdateFailed); err != nil {
			return store.Install{}, err
		}
	} else if err := m.refuseQuarantined(ctx, in.VersionID, name, in.Version); err != nil {
		return store.Install{}, err
	}
	if !enabled {
		m.hook(ctx, guild, name, "disable", nil, true)
	}
	if err := m.store.SetInstallEnabled(ctx, guild, in.ExtensionID, enabled, actor); err != nil {
		return store.Install{}, skyerr.Wrap(err, skyerr.UpdateFailed, "Could not change %s.", name)
	}
	if !enabled {
		m.runner.Evict(sandbox.Key{Guild: string(guild), Extension: name})
	}
	m.fails.reset(string(guild) + "/" + name)
	m.invalidate(guild)
	in.Enabled = enabled
	kind := map[bool]string{true: EventEnabled, false: EventDisabled}[enabled]
	m.emit(LifecycleEvent{Kind: kind, Guild: guild, Extension: name, Version: in.Version, Actor: actor})
	if enabled {
		m.hook(ctx, guild, name, "enable", nil, false)
	}
	return in, nil
}

// Info is what /ext info shows.
type Info struct {
	Install  store.Install
	Manifest Manifest
	History  []store.HistoryEntry
	Versions []string // every version of it known here, newest first
}

// Info describes an installed extension.
func (m *Manager) Info(ctx context.Context, guild store.GuildID, name string) (Info, error) {
	in, err := m.installed(ctx, guild, name)
	if err != nil {
		return Info{}, err
	}
	ver, err := m.store.Version(ctx, in.VersionID)
	if err != nil {
		return Info{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read %s.", name)
	}
	var info Info
	info.Install = in
	if err := json.Unmarshal(ver.Manifest, &info.Manifest); err != nil {
		return Info{}, skyerr.Wrap(err, skyerr.Unknown, "The stored manifest of %s cannot be read.", name)
	}
	if info.History, err = m.store.History(ctx, guild, in.ExtensionID); err != nil {
		return Info{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the history of %s.", name)
	}
	vers, err := m.store.Versions(ctx, in.ExtensionID)
	if err != nil {
		return Info{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the versions of %s.", name)
	}
	for _, v := range vers {
		info.Versions = append(info.Versions, v.Version)
	}
	return info, nil
}

// handlerChanges names the handlers an update adds and removes.
func handlerChanges(was, next []string) []string {
	var added, removed []string
	for _, h := range next {
		if !slices.Contains(was, h) {
			added = append(added, h)
		}
	}
	for _, h := range was {
		if !slices.Contains(next, h) {
			removed = append(removed, h)
		}
	}
	var out []string
	if len(added) > 0 {
		out = append(out, "new: "+strings.Join(added, ", "))
	}
	if len(removed) > 0 {
		out = append(out, "no longer: "+strings.Join(removed, ", "))
	}
	return out
}

// Describe renders a plan's changes in a sentence or two, for the admin.
func (p *Plan) Describe() string {
	switch p.Kind {
	case PlanInstall:
		return fmt.Sprintf("Install **%s** %s — %s.", p.Manifest.Name, p.Manifest.Version, DescribeTrigger(p.Manifest))
	case PlanUpdate:
		return fmt.Sprintf("Update **%s** %s → %s.", p.Manifest.Name, p.From, p.Manifest.Version)
	default:
		return fmt.Sprintf("Roll **%s** back %s → %s (its stored data stays).", p.Manifest.Name, p.From, p.Manifest.Version)
	}
}

// SetLogChannel sets (or, with "", clears) the channel where the guild's
// extension lifecycle events are posted.
func (m *Manager) SetLogChannel(ctx context.Context, guild store.GuildID, channelID string) error {
	if _, err := m.store.EnsureGuild(ctx, guild, m.opts.DefaultPrefix); err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not record this server.")
	}
	if err := m.store.SetGuildLogChannel(ctx, guild, channelID); err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not save the log channel.")
	}
	return nil
}

// Status is one install's line in /ext status.
type Status struct {
	Install store.Install
	Errors  int    // failed runs in the last 24 hours
	Last    string // the latest failure, if any
	LastAt  time.Time
}

// Status reports every install of guild with its recent failures.
func (m *Manager) Status(ctx context.Context, guild store.GuildID) ([]Status, error) {
	ins, err := m.List(ctx, guild)
	if err != nil {
		return nil, err
	}
	counts, err := m.store.ErrorCounts(ctx, guild, m.now().Add(-24*time.Hour))
	if err != nil {
		return nil, skyerr.Wrap(err, skyerr.Unknown, "Could not read the failures of this server's extensions.")
	}
	out := make([]Status, len(ins))
	for i, in := range ins {
		c := counts[in.ExtensionID]
		out[i] = Status{Install: in, Errors: c.Errors, Last: c.Last, LastAt: c.LastAt}
	}
	return out, nil
}

// PlanInstallPublished prepares installing a published gallery version of
// name into guild: version, or the newest published when version is "".
// It makes every check PlanInstall makes (rate, already installed,
// requires, quota, policy, compile with the sha256 check, the top level's
// registrations) except the policy against uploads: the version was
// reviewed. Applying the plan points the install at the stored version;
// no version row is written. A version that is not published (queued, in
// review, rejected) is E_NOT_FOUND.
func (m *Manager) PlanInstallPublished(ctx context.Context, guild store.GuildID, actor store.UserID, name, version string, g *Gallery) (*Plan, error) {
	if err := m.checkRate(guild); err != nil {
		return nil, err
	}
	ver, err := g.Published(ctx, name, version)
	if err != nil {
		return nil, err
	}
	if err := m.checkPremium(ctx, guild, ver.ExtensionID, ver.Name); err != nil {
		return nil, err
	}
	if in, err := m.store.InstallByName(ctx, guild, ver.Name); err == nil {
		return nil, skyerr.New(skyerr.AlreadyExists, "%s is already installed here (version %s); use /ext update to change its version.", ver.Name, in.Version)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, skyerr.Wrap(err, skyerr.InstallFailed, "Could not check the installs of this server.")
	}
	man, err := publishedManifest(ver)
	if err != nil {
		return nil, err
	}
	if err := m.checkPolicy(ctx, guild, man, false); err != nil {
		return nil, err
	}
	prog, regs, err := m.healthCheck(ctx, guild, ver, man)
	if err != nil {
		return nil, err
	}
	deps, err := m.planDependencies(ctx, guild, man, g)
	if err != nil {
		return nil, err
	}
	p := &Plan{ID: newPlanID(), Kind: PlanInstall, Guild: guild, Actor: actor, Manifest: man,
		AddedScopes: man.Scopes, Registrations: regs, Expires: m.now().Add(planTTL), program: prog, target: &ver,
		Dependencies: deps, gallery: g}
	p.Warnings = append(p.Warnings, m.commandConflicts(ctx, guild, man.Name, man, regs)...)
	m.plans.put(p)
	return p, nil
}

// applyInstallPublished installs the plan's stored gallery version, still
// published, with the same checks as applyInstall.
func (m *Manager) applyInstallPublished(ctx context.Context, p *Plan, actor store.UserID) (store.Version, error) {
	man, ver := p.Manifest, *p.target
	if in, err := m.store.InstallByName(ctx, p.Guild, man.Name); err == nil {
		return store.Version{}, skyerr.New(skyerr.AlreadyExists, "%s is already installed here (version %s).", man.Name, in.Version)
	}
	if err := m.checkQuota(ctx, p.Guild, 1+len(p.Dependencies)); err != nil {
		return store.Version{}, err
	}
	// The tier or the flag may have changed since the card.
	if err := m.checkPremium(ctx, p.Guild, ver.ExtensionID, man.Name); err != nil {
		return store.Version{}, err
	}
	for _, d := range p.Dependencies {
		if err := m.checkPremium(ctx, p.Guild, d.version.ExtensionID, d.neededBy()); err != nil {
			return store.Version{}, err
		}
	}
	if cur, err := m.store.Version(ctx, ver.ID); err != nil || cur.State != store.StatePublished {
		return store.Version{}, skyerr.Wrap(err, skyerr.NotFound, "%s@%s is no longer published in the gallery.", man.Name, ver.Version)
	}
	err := m.store.CreateInstalls(ctx, append(dependencyInstalls(p, actor), store.Install{GuildID: p.Guild, ExtensionID: ver.ExtensionID, VersionID: ver.ID,
		Enabled: true, GrantedScopes: man.Scopes, InstalledBy: actor})...)
	if errors.Is(err, store.ErrExists) {
		if len(p.Dependencies) > 0 {
			return store.Version{}, skyerr.New(skyerr.AlreadyExists, "%s or an extension it requires was installed here in the meantime; nothing was changed, run /ext install again.", man.Name)
		}
		return store.Version{}, skyerr.New(skyerr.AlreadyExists, "%s is already installed here.", man.Name)
	}
	if err != nil {
		return store.Version{}, skyerr.Wrap(err, skyerr.InstallFailed, "Could not install %s@%s.", man.Name, ver.Version)
	}
	return ver, nil
}
