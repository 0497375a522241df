package extensions

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/store"
)

// checkRequires verifies that every @requires of man is installed in guild,
// enabled, at a version its range accepts. Until the gallery can supply
// them, missing dependencies are not installed automatically: the admin is
// told which to install first. (An extension cannot require itself.)
func (m *Manager) checkRequires(ctx context.Context, guild store.GuildID, man Manifest) error {
	if len(man.Requires) == 0 {
		return nil
	}
	ins, err := m.store.Installs(ctx, guild)
	if err != nil {
		return skyerr.Wrap(err, skyerr.InstallFailed, "Could not read the installs of this server.")
	}
	byName := map[string]store.Install{}
	for _, in := range ins {
		byName[in.Name] = in
	}
	var missing []string
	for _, d := range man.Requires {
		if d.Name == man.Name {
			return skyerr.New(skyerr.InvalidPackage, "%s requires itself.", man.Name)
		}
		rng, err := semver.NewConstraint(d.Range)
		if err != nil {
			return skyerr.New(skyerr.InvalidPackage, "@requires %s has an invalid range %q.", d.Name, d.Range)
		}
		in, ok := byName[d.Name]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("%s %s (not installed)", d.Name, d.Range))
		case !rng.Check(semver.MustParse(in.Version)):
			missing = append(missing, fmt.Sprintf("%s %s (%s is installed)", d.Name, d.Range, in.Version))
		case !in.Enabled:
			missing = append(missing, fmt.Sprintf("%s %s (installed but disabled)", d.Name, d.Range))
		}
	}
	if len(missing) > 0 {
		return skyerr.New(skyerr.InstallFailed, "%s %s needs %s; install or enable those first.", man.Name, man.Version, strings.Join(missing, ", "))
	}
	return nil
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
