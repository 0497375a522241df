package extensions

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/skyext/skybot/sandbox"
)

// VerifyVersion is the publication pipeline's version check of next (and,
// for handler style, the registrations its describe run reported) against
// prev, the newest earlier version of the same extension (nil for a new
// extension; the caller compares with every earlier version's number
// itself if it needs to).
//
//   - next.Version must be strict semver and, with a prev, greater.
//   - Breaking changes need a new major version: a prefix or slash command
//     (or a legacy command key) removed or renamed, a slash command's
//     option removed or given another type, the legacy @type changed
//     (including a move between legacy and handler style). For 0.x
//     versions a new minor counts as major, as ^ ranges read them. Each
//     breaking change is a finding: an error without the bump, a warning
//     with it, so reviewers see them either way.
//   - Handlers that disappear without breaking commands (events, keywords,
//     schedules, components) and options that become required are warnings.
//   - New scopes are warnings: every guild must consent again.
//
// Storage layout changes cannot be seen from the manifest and the
// registrations; they are not checked.
func VerifyVersion(next Manifest, nextRegs []sandbox.Registration, prev *Manifest, prevRegs []sandbox.Registration) []Finding {
	var out []Finding
	add := func(severity, format string, args ...any) {
		out = append(out, makeFinding(StageVersion, severity, 0, format, args...))
	}
	nv, err := semver.StrictNewVersion(next.Version)
	if err != nil {
		add(SeverityError, "version %q is not strict semver (MAJOR.MINOR.PATCH, e.g. 1.4.0)", next.Version)
		return out
	}
	if prev == nil {
		return out
	}
	if prev.Name != next.Name {
		add(SeverityError, "this is a version of %s, but the previous version given is of %s", next.Name, prev.Name)
		return out
	}
	pv, err := semver.StrictNewVersion(prev.Version)
	if err != nil {
		add(SeverityError, "the previous version %q is not strict semver, so %s cannot be compared with it", prev.Version, next.Version)
		return out
	}
	if !nv.GreaterThan(pv) {
		add(SeverityError, "version %s is not greater than the previous version %s; versions only go up", nv, pv)
	}

	breaking, notable := versionChanges(next, nextRegs, *prev, prevRegs)
	bumped := majorBump(pv, nv)
	for _, b := range breaking {
		if bumped {
			add(SeverityWarning, "breaking change (allowed by the new major version %s): %s", nv, b)
		} else {
			add(SeverityError, "breaking change: %s; that needs a new major version (%s), not %s", b, nextMajor(pv), nv)
		}
	}
	for _, n := range notable {
		add(SeverityWarning, "%s", n)
	}
	for _, sc := range next.Scopes {
		if !slices.Contains(prev.Scopes, sc) {
			add(SeverityWarning, "scope %s is new in %s: it needs re-consent from every guild that installed %s", sc, nv, next.Name)
		}
	}
	return out
}

// majorBump reports whether next is a new major version of prev: a
// greater major, or for 0.x a greater minor (^0.3 does not take 0.4).
func majorBump(prev, next *semver.Version) bool {
	if next.Major() != prev.Major() {
		return next.Major() > prev.Major()
	}
	return prev.Major() == 0 && next.Minor() > prev.Minor()
}

// nextMajor names the smallest version that is a major bump of prev.
func nextMajor(prev *semver.Version) string {
	if prev.Major() == 0 {
		return fmt.Sprintf("0.%d.0 or 1.0.0", prev.Minor()+1)
	}
	return fmt.Sprintf("%d.0.0", prev.Major()+1)
}

// versionChanges lists what next changes compared to prev: breaking
// changes, and others worth a reviewer's eye.
func versionChanges(next Manifest, nextRegs []sandbox.Registration, prev Manifest, prevRegs []sandbox.Registration) (breaking, notable []string) {
	renamed := ""
	switch {
	case prev.Legacy() && next.Legacy() && prev.Type != next.Type:
		breaking = append(breaking, fmt.Sprintf("the legacy type changes from %s to %s", prev.Type, next.Type))
	case prev.Legacy() && !next.Legacy():
		breaking = append(breaking, fmt.Sprintf("the extension changes from a legacy %s extension to handler style", prev.Type))
	case !prev.Legacy() && next.Legacy():
		breaking = append(breaking, fmt.Sprintf("the extension changes from handler style to a legacy %s extension", next.Type))
	case prev.Legacy() && (prev.Type == TypeCommand || prev.Type == TypeSlash) && !strings.EqualFold(prev.Key, next.Key):
		renamed = strings.ToLower(prev.Key)
		what := "the command key"
		if prev.Type == TypeSlash {
			what = "the slash command's key"
		}
		breaking = append(breaking, fmt.Sprintf("%s changes from %s to %s", what, prev.Key, next.Key))
	}

	prevCmds, nextCmds := commandsOf(prev, prevRegs), commandsOf(next, nextRegs)
	for _, c := range prevCmds {
		if c.name == renamed && prev.Legacy() {
			continue // said above
		}
		i := slices.IndexFunc(nextCmds, func(n versionCommand) bool { return n.kind == c.kind && n.name == c.name })
		if i < 0 {
			breaking = append(breaking, fmt.Sprintf("the %s is removed or renamed", c))
			continue
		}
		if c.kind == sandbox.RegCommand && c.def != nil && nextCmds[i].def != nil {
			b, n := optionChanges(c.name, "", c.def.Options, nextCmds[i].def.Options)
			breaking = append(breaking, b...)
			notable = append(notable, n...)
		}
	}

	if prev.Legacy() != next.Legacy() {
		return breaking, notable // the change of style is said; its handlers are not comparable
	}
	nextHandles := handles(next, nextRegs)
	for _, h := range handles(prev, prevRegs) {
		if !slices.Contains(nextHandles, h) {
			notable = append(notable, "this version no longer handles "+h)
		}
	}
	return breaking, notable
}

// versionCommand is one command a version answers: a prefix command or a slash
// command, with the slash definition when the version has one.
type versionCommand struct {
	kind string // sandbox.RegPrefix or sandbox.RegCommand
	name string
	def  *slashDefinition
}

func (c versionCommand) String() string {
	if c.kind == sandbox.RegCommand {
		return "slash command /" + c.name
	}
	return "prefix command " + c.name
}

// commandsOf lists the commands of a version: a legacy command or slash
// key, or a handler-style version's sky.prefix and sky.command.
func commandsOf(m Manifest, regs []sandbox.Registration) []versionCommand {
	if m.Legacy() {
		switch m.Type {
		case TypeCommand:
			return []versionCommand{{kind: sandbox.RegPrefix, name: strings.ToLower(m.Key)}}
		case TypeSlash:
			return []versionCommand{{kind: sandbox.RegCommand, name: strings.ToLower(m.Key)}}
		}
		return nil
	}
	var out []versionCommand
	for _, r := range regs {
		switch r.Kind {
		case sandbox.RegPrefix:
			out = append(out, versionCommand{kind: r.Kind, name: strings.ToLower(r.Key)})
		case sandbox.RegCommand:
			c := versionCommand{kind: r.Kind, name: r.Key}
			var def slashDefinition
			if json.Unmarshal(r.Command, &def) == nil {
				c.def = &def
			}
			out = append(out, c)
		}
	}
	return out
}

// optionChanges compares the options of slash command cmd (below a
// subcommand path, "" at the top): removed options and changed types
// break invocations; an option that becomes required is notable.
func optionChanges(cmd, path string, prev, next []slashOption) (breaking, notable []string) {
	for _, p := range prev {
		name := strings.TrimSpace(path + " " + p.Name)
		i := slices.IndexFunc(next, func(n slashOption) bool { return n.Name == p.Name })
		if i < 0 {
			breaking = append(breaking, fmt.Sprintf("%s %q of /%s is removed", optionWord(p.Type), name, cmd))
			continue
		}
		n := next[i]
		pt, nt := strings.ToLower(p.Type), strings.ToLower(n.Type)
		if pt != nt {
			breaking = append(breaking, fmt.Sprintf("option %q of /%s changes type from %s to %s", name, cmd, pt, nt))
			continue
		}
		if pt == "subcommand" || pt == "group" {
			b, nb := optionChanges(cmd, name, p.Options, n.Options)
			breaking = append(breaking, b...)
			notable = append(notable, nb...)
			continue
		}
		if n.Required && !p.Required {
			notable = append(notable, fmt.Sprintf("option %q of /%s becomes required", name, cmd))
		}
	}
	for _, n := range next {
		if n.Required && !slices.ContainsFunc(prev, func(p slashOption) bool { return p.Name == n.Name }) {
			notable = append(notable, fmt.Sprintf("/%s has a new required option %q", cmd, strings.TrimSpace(path+" "+n.Name)))
		}
	}
	return breaking, notable
}

func optionWord(typ string) string {
	switch strings.ToLower(typ) {
	case "subcommand":
		return "subcommand"
	case "group":
		return "subcommand group"
	}
	return "option"
}

// handles summarises what a version handles besides commands: events,
// keywords, schedules, components, jobs and lifecycle hooks.
func handles(m Manifest, regs []sandbox.Registration) []string {
	if m.Legacy() {
		switch m.Type {
		case TypeEvent:
			return []string{"the event " + m.Event}
		case TypeKeyword:
			return []string{"keywords " + strings.Join(m.Keywords, ", ")}
		case TypeTimer:
			return []string{"a timer"}
		}
		return nil
	}
	var rest []sandbox.Registration
	for _, r := range regs {
		switch r.Kind {
		case sandbox.RegPrefix, sandbox.RegCommand, sandbox.RegAutocomplete:
		default:
			rest = append(rest, r)
		}
	}
	return summarizeHandlers(rest)
}
