package extensions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// Dependencies. An extension's @requires name a gallery extension and a
// semver range. An install brings the missing ones with it from the
// gallery (the newest published version each range allows, and what
// those require in turn), all shown on one consent card and written in one
// transaction. It is refused, naming the path, when the requirements form
// a cycle, when two requirements of the same extension cannot both be met,
// when an installed extension is at a version outside a range (skybot does
// not move installed extensions for another one), or when there would be
// more than maxDependencies new ones.

// maxDependencies caps the extensions one install may bring with it.
const maxDependencies = 16

// Dependency is an extension an install brings with it, with its checked
// and compiled published version.
type Dependency struct {
	Manifest   Manifest
	RequiredBy []string // "name version" of what asked for it
	// Registrations are its handlers, from its health check.
	Registrations []sandbox.Registration

	version store.Version
	program *sandbox.Program
}

// neededBy names d for a refusal: "dice 1.0.0, which games 2.0.0 needs".
func (d *Dependency) neededBy() string {
	return fmt.Sprintf("%s %s, which %s needs,", d.Manifest.Name, d.Manifest.Version, strings.Join(d.RequiredBy, ", "))
}

// resolver finds the extensions a manifest needs that the guild lacks.
type resolver struct {
	g         *Gallery // nil: nothing can come from the gallery
	top       string
	installed map[string]store.Install
	// ranges gathered per name across attempts: a later requirement that
	// the earlier choice misses narrows the choice, and resolution starts
	// again with every range known so far.
	ranges map[string][]requirement

	chosen map[string]*Dependency
	order  []string // post-order: an extension after what it requires
}

type requirement struct {
	by  string // "name version"
	rng string
	c   *semver.Constraints
}

// errRetry restarts resolution with narrowed ranges.
var errRetry = errors.New("retry with narrowed ranges")

// resolveRequires checks man's @requires against guild's installs and
// returns what must be installed with it, in install order. With g nil,
// anything not installed is refused.
func (m *Manager) resolveRequires(ctx context.Context, guild store.GuildID, man Manifest, g *Gallery) ([]*Dependency, error) {
	if len(man.Requires) == 0 {
		return nil, nil
	}
	ins, err := m.store.Installs(ctx, guild)
	if err != nil {
		return nil, skyerr.Wrap(err, skyerr.InstallFailed, "Could not read the installs of this server.")
	}
	r := &resolver{g: g, top: man.Name, installed: map[string]store.Install{}, ranges: map[string][]requirement{}}
	for _, in := range ins {
		r.installed[in.Name] = in
	}
	// Each retry adds a range that was not known before, so this ends;
	// the bound only guards against a bug.
	for range 4 * maxDependencies {
		r.chosen, r.order = map[string]*Dependency{}, nil
		err := r.visit(ctx, man, []string{man.Name})
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out := make([]*Dependency, len(r.order))
		for i, name := range r.order {
			out[i] = r.chosen[name]
		}
		return out, nil
	}
	return nil, skyerr.New(skyerr.Dependency, "The requirements of %s %s could not be settled.", man.Name, man.Version)
}

// visit resolves the requirements of man, reached through path.
func (r *resolver) visit(ctx context.Context, man Manifest, path []string) error {
	self := man.Name + " " + man.Version
	for _, d := range man.Requires {
		c, err := semver.NewConstraint(d.Range)
		if err != nil {
			return skyerr.New(skyerr.InvalidPackage, "%s's @requires %s has an invalid range %q.", self, d.Name, d.Range)
		}
		if i := slices.Index(path, d.Name); i >= 0 {
			if len(path) == 1 {
				return skyerr.New(skyerr.InvalidPackage, "%s requires itself.", man.Name)
			}
			return skyerr.New(skyerr.Dependency, "The requirements of %s form a cycle: %s → %s.", r.top, strings.Join(path[i:], " → "), d.Name)
		}
		req := requirement{by: self, rng: d.Range, c: c}
		if in, ok := r.installed[d.Name]; ok {
			switch {
			case !c.Check(semver.MustParse(in.Version)):
				return skyerr.New(skyerr.Dependency, "%s needs %s %s, but %s %s is installed here; update %s first.", self, d.Name, d.Range, d.Name, in.Version, d.Name)
			case !in.Enabled:
				return skyerr.New(skyerr.Dependency, "%s needs %s, which is installed here but disabled; enable it first.", self, d.Name)
			}
			continue
		}
		if dep, ok := r.chosen[d.Name]; ok {
			if !c.Check(semver.MustParse(dep.Manifest.Version)) {
				r.ranges[d.Name] = append(r.ranges[d.Name], req)
				return errRetry
			}
			dep.RequiredBy = append(dep.RequiredBy, self)
			continue
		}
		if !slices.ContainsFunc(r.ranges[d.Name], func(q requirement) bool { return q.by == req.by && q.rng == req.rng }) {
			r.ranges[d.Name] = append(r.ranges[d.Name], req)
		}
		if len(r.chosen) >= maxDependencies {
			return skyerr.New(skyerr.Dependency, "%s needs more than %d extensions that are not installed here; install some of them first.", r.top, maxDependencies)
		}
		dep, err := r.choose(ctx, d.Name)
		if err != nil {
			return err
		}
		dep.RequiredBy = []string{self}
		r.chosen[d.Name] = dep
		if err := r.visit(ctx, dep.Manifest, append(slices.Clone(path), d.Name)); err != nil {
			return err
		}
		r.order = append(r.order, d.Name)
	}
	return nil
}

// choose picks the newest published version of name that every range
// gathered for it allows.
func (r *resolver) choose(ctx context.Context, name string) (*Dependency, error) {
	reqs := r.ranges[name]
	wanted := make([]string, len(reqs))
	for i, q := range reqs {
		wanted[i] = q.by + " needs " + name + " " + q.rng
	}
	if r.g == nil {
		return nil, skyerr.New(skyerr.Dependency, "%s, which is not installed here; install it first.", wanted[0])
	}
	vs, err := r.g.Versions(ctx, name)
	if skyerr.Is(err, skyerr.NotFound) || (err == nil && len(vs) == 0) {
		return nil, skyerr.New(skyerr.Dependency, "%s, which is not installed here and not published in the gallery.", wanted[0])
	}
	if err != nil {
		return nil, err
	}
	for _, v := range vs { // newest first
		sv := semver.MustParse(v.Version)
		if slices.ContainsFunc(reqs, func(q requirement) bool { return !q.c.Check(sv) }) {
			continue
		}
		ver, err := r.g.Published(ctx, name, v.Version)
		if err != nil {
			return nil, err
		}
		man, err := publishedManifest(ver)
		if err != nil {
			return nil, err
		}
		return &Dependency{Manifest: man, version: ver}, nil
	}
	if len(reqs) > 1 {
		return nil, skyerr.New(skyerr.Dependency, "No published version of %s meets every requirement: %s.", name, strings.Join(wanted, "; "))
	}
	return nil, skyerr.New(skyerr.Dependency, "%s, and no published version of it matches (the newest is %s).", wanted[0], vs[0].Version)
}

// planDependencies resolves what installing man brings with it from g,
// checks the install quota for all of them, and prepares each.
func (m *Manager) planDependencies(ctx context.Context, guild store.GuildID, man Manifest, g *Gallery) ([]*Dependency, error) {
	deps, err := m.resolveRequires(ctx, guild, man, g)
	if err != nil {
		return nil, err
	}
	if err := m.checkQuota(ctx, guild, 1+len(deps)); err != nil {
		return nil, err
	}
	if err := m.prepareDependencies(ctx, guild, deps); err != nil {
		return nil, err
	}
	return deps, nil
}

// sameDependencies reports whether a fresh resolution still picks the
// versions a plan showed the admin.
func sameDependencies(planned, now []*Dependency) bool {
	return slices.EqualFunc(planned, now, func(a, b *Dependency) bool { return a.version.ID == b.version.ID })
}

// prepareDependencies makes the checks an install makes for each
// dependency: the guild's policy allows its scopes, and its code compiles
// and its top level runs (the health check).
func (m *Manager) prepareDependencies(ctx context.Context, guild store.GuildID, deps []*Dependency) error {
	for _, d := range deps {
		if err := m.checkPolicy(ctx, guild, d.Manifest, false); err != nil {
			return err
		}
		if err := m.checkPremium(ctx, guild, d.version.ExtensionID, d.neededBy()); err != nil {
			return err
		}
		prog, regs, err := m.healthCheck(ctx, guild, d.version, d.Manifest)
		if err != nil {
			return skyerr.Wrap(err, skyerr.Dependency, "%s failed its check: %s", d.neededBy(), skyerr.From(err).Message)
		}
		d.program, d.Registrations = prog, regs
	}
	return nil
}

// recheckRequires runs at Apply: what the plan requires must still be
// there, and an install must still bring the same versions it showed.
func (m *Manager) recheckRequires(ctx context.Context, p *Plan) error {
	if p.Kind != PlanInstall || len(p.Dependencies) == 0 {
		return m.checkRequires(ctx, p.Guild, p.Manifest)
	}
	now, err := m.resolveRequires(ctx, p.Guild, p.Manifest, p.gallery)
	if err != nil {
		return err
	}
	if !sameDependencies(p.Dependencies, now) {
		return skyerr.New(skyerr.InvalidState, "What %s requires changed since this card was shown (an install or a new gallery version); run /ext install again.", p.Manifest.Name)
	}
	for _, d := range p.Dependencies {
		if err := m.checkPolicy(ctx, p.Guild, d.Manifest, false); err != nil {
			return err
		}
	}
	return nil
}

// dependencyInstalls are the install rows of a plan's dependencies, with
// the scopes each asks for: the admin's consent covered them.
func dependencyInstalls(p *Plan, actor store.UserID) []store.Install {
	out := make([]store.Install, len(p.Dependencies))
	for i, d := range p.Dependencies {
		out[i] = store.Install{GuildID: p.Guild, ExtensionID: d.version.ExtensionID, VersionID: d.version.ID,
			Enabled: true, GrantedScopes: d.Manifest.Scopes, InstalledBy: actor}
	}
	return out
}

// checkRequires refuses man unless everything it requires is installed
// here (updates and rollbacks bring nothing with them).
func (m *Manager) checkRequires(ctx context.Context, guild store.GuildID, man Manifest) error {
	_, err := m.resolveRequires(ctx, guild, man, nil)
	return err
}

// dependents lists the installed extensions of guild (other than name)
// whose active version requires name.
func (m *Manager) dependents(ctx context.Context, guild store.GuildID, name string) ([]string, error) {
	ins, err := m.store.Installs(ctx, guild)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, in := range ins {
		if in.Name == name {
			continue
		}
		ver, err := m.store.Version(ctx, in.VersionID)
		if err != nil {
			return nil, err
		}
		var man Manifest
		if err := json.Unmarshal(ver.Manifest, &man); err != nil {
			return nil, err
		}
		for _, d := range man.Requires {
			if d.Name == name {
				out = append(out, in.Name)
			}
		}
	}
	return out, nil
}

// refuseIfRequired refuses to remove or disable name while installed
// extensions need it.
func (m *Manager) refuseIfRequired(ctx context.Context, guild store.GuildID, name, doing string, code skyerr.Code) error {
	deps, err := m.dependents(ctx, guild, name)
	if err != nil {
		return skyerr.Wrap(err, code, "Could not check what depends on %s.", name)
	}
	if len(deps) > 0 {
		return skyerr.New(skyerr.InvalidState, "Cannot %s %s: %s requires it.", doing, name, strings.Join(deps, ", "))
	}
	return nil
}
