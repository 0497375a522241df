package extensions

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/skyext/skybot/sandbox"
)

func versionMan(version string, scopes ...string) Manifest {
	return Manifest{Name: "ver", Version: version, Scopes: scopes}
}

func legacyVerMan(version, typ, key string) Manifest {
	m := Manifest{Name: "ver", Version: version, Type: typ, Key: key, Scopes: []string{}}
	switch typ {
	case TypeKeyword:
		m.Keywords = []string{"hi"}
	case TypeTimer:
		m.IntervalMS = 300000
	case TypeEvent:
		m.Event = "guildMemberAdd"
	case TypeSlash:
		m.SlashDescription = "a command"
	}
	return m
}

func prefixReg(key string) sandbox.Registration {
	return sandbox.Registration{Kind: sandbox.RegPrefix, Key: key}
}

func slashReg(t *testing.T, def map[string]any) sandbox.Registration {
	t.Helper()
	raw, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	return sandbox.Registration{Kind: sandbox.RegCommand, Key: def["name"].(string), Command: raw}
}

func opt(typ, name string, required bool, sub ...map[string]any) map[string]any {
	o := map[string]any{"type": typ, "name": name, "description": name + "!", "required": required}
	if len(sub) > 0 {
		o["options"] = sub
	}
	return o
}

func welcomeDef(options ...map[string]any) map[string]any {
	return map[string]any{"name": "welcome", "description": "About new members", "options": options}
}

func verErr(format string) Finding {
	return Finding{Severity: SeverityError, Stage: StageVersion, Message: format}
}
func verWarn(format string) Finding {
	return Finding{Severity: SeverityWarning, Stage: StageVersion, Message: format}
}

func TestVerifyVersion(t *testing.T) {
	t.Parallel()
	base := []sandbox.Registration{
		prefixReg("newest"), prefixReg("stats"),
		slashReg(t, welcomeDef(
			opt("subcommand", "stats", false, opt("string", "who", false), opt("integer", "days", false)),
			opt("subcommand", "reset", false),
			opt("user", "member", false),
		)),
		{Kind: sandbox.RegEvent, Key: "guildMemberAdd"},
		{Kind: sandbox.RegComponent, Key: "welcome:"},
	}
	without := func(kind, key string) []sandbox.Registration {
		return slices.DeleteFunc(slices.Clone(base), func(r sandbox.Registration) bool { return r.Kind == kind && r.Key == key })
	}
	withWelcome := func(def map[string]any) []sandbox.Registration {
		return append(without(sandbox.RegCommand, "welcome"), slashReg(t, def))
	}
	prev := versionMan("1.2.0", "messages_write")

	cases := []struct {
		name     string
		next     Manifest
		nextRegs []sandbox.Registration
		prev     *Manifest
		prevRegs []sandbox.Registration
		want     []Finding
	}{
		{"a new extension", versionMan("0.1.0"), base, nil, nil, nil},
		{"not strict semver", versionMan("1.3"), base, &prev, base, []Finding{
			verErr(`version "1.3" is not strict semver (MAJOR.MINOR.PATCH, e.g. 1.4.0)`)}},
		{"a v prefix is not strict", versionMan("v1.3.0"), base, nil, nil, []Finding{
			verErr(`version "v1.3.0" is not strict semver (MAJOR.MINOR.PATCH, e.g. 1.4.0)`)}},
		{"same version", versionMan("1.2.0", "messages_write"), base, &prev, base, []Finding{
			verErr("version 1.2.0 is not greater than the previous version 1.2.0; versions only go up")}},
		{"lower version", versionMan("1.1.9", "messages_write"), base, &prev, base, []Finding{
			verErr("version 1.1.9 is not greater than the previous version 1.2.0; versions only go up")}},
		{"a patch that changes nothing", versionMan("1.2.1", "messages_write"), base, &prev, base, nil},
		{"another extension's version", Manifest{Name: "other", Version: "2.0.0"}, nil, &prev, base, []Finding{
			verErr("this is a version of other, but the previous version given is of ver")}},
		{"a prefix command removed without a major bump", versionMan("1.3.0", "messages_write"), without(sandbox.RegPrefix, "stats"), &prev, base, []Finding{
			verErr("breaking change: the prefix command stats is removed or renamed; that needs a new major version (2.0.0), not 1.3.0")}},
		{"a prefix command removed with a major bump", versionMan("2.0.0", "messages_write"), without(sandbox.RegPrefix, "stats"), &prev, base, []Finding{
			verWarn("breaking change (allowed by the new major version 2.0.0): the prefix command stats is removed or renamed")}},
		{"a slash command removed", versionMan("1.2.1", "messages_write"), without(sandbox.RegCommand, "welcome"), &prev, base, []Finding{
			verErr("breaking change: the slash command /welcome is removed or renamed; that needs a new major version (2.0.0), not 1.2.1")}},
		{"slash options removed, retyped, made required", versionMan("1.3.0", "messages_write"), withWelcome(welcomeDef(
			opt("subcommand", "stats", false, opt("integer", "who", false), opt("integer", "days", true)),
			opt("user", "member", false),
			opt("string", "reason", true),
		)), &prev, base, []Finding{
			verErr(`breaking change: option "stats who" of /welcome changes type from string to integer; that needs a new major version (2.0.0), not 1.3.0`),
			verErr(`breaking change: subcommand "reset" of /welcome is removed; that needs a new major version (2.0.0), not 1.3.0`),
			verWarn(`option "stats days" of /welcome becomes required`),
			verWarn(`/welcome has a new required option "reason"`),
		}},
		{"options added and handlers gone are not breaking", versionMan("1.3.0", "messages_write"), []sandbox.Registration{
			prefixReg("newest"), prefixReg("stats"),
			slashReg(t, welcomeDef(
				opt("subcommand", "stats", false, opt("string", "who", false), opt("integer", "days", false), opt("boolean", "all", false)),
				opt("subcommand", "reset", false),
				opt("user", "member", false),
				opt("subcommand", "top", false),
			)),
			{Kind: sandbox.RegComponent, Key: "welcome:"},
		}, &prev, base, []Finding{
			verWarn("this version no longer handles event guildMemberAdd"),
		}},
		{"new scopes need consent again; removed ones do not", versionMan("1.3.0", "roles_manage", "storage"), base, &prev, base, []Finding{
			verWarn("scope roles_manage is new in 1.3.0: it needs re-consent from every guild that installed ver"),
			verWarn("scope storage is new in 1.3.0: it needs re-consent from every guild that installed ver"),
		}},
		{"0.x: a minor bump is a major one", versionMan("0.4.0"), without(sandbox.RegPrefix, "newest"), manPtr(versionMan("0.3.1")), base, []Finding{
			verWarn("breaking change (allowed by the new major version 0.4.0): the prefix command newest is removed or renamed")}},
		{"0.x: a patch is not", versionMan("0.3.2"), without(sandbox.RegPrefix, "newest"), manPtr(versionMan("0.3.1")), base, []Finding{
			verErr("breaking change: the prefix command newest is removed or renamed; that needs a new major version (0.4.0 or 1.0.0), not 0.3.2")}},
		{"legacy command key renamed", legacyVerMan("1.0.1", TypeCommand, "hi"), nil, manPtr(legacyVerMan("1.0.0", TypeCommand, "hello")), nil, []Finding{
			verErr("breaking change: the command key changes from hello to hi; that needs a new major version (2.0.0), not 1.0.1")}},
		{"legacy slash key renamed", legacyVerMan("2.0.0", TypeSlash, "hi"), nil, manPtr(legacyVerMan("1.0.0", TypeSlash, "hello")), nil, []Finding{
			verWarn("breaking change (allowed by the new major version 2.0.0): the slash command's key changes from hello to hi")}},
		{"legacy type changed", legacyVerMan("1.1.0", TypeKeyword, ""), nil, manPtr(legacyVerMan("1.0.0", TypeCommand, "hello")), nil, []Finding{
			verErr("breaking change: the legacy type changes from command to keyword; that needs a new major version (2.0.0), not 1.1.0"),
			verErr("breaking change: the prefix command hello is removed or renamed; that needs a new major version (2.0.0), not 1.1.0"),
		}},
		{"legacy event changed", func() Manifest { m := legacyVerMan("1.0.1", TypeEvent, ""); m.Event = "guildMemberRemove"; return m }(), nil,
			manPtr(legacyVerMan("1.0.0", TypeEvent, "")), nil, []Finding{
				verWarn("this version no longer handles the event guildMemberAdd")}},
		{"legacy to handler style, same command", versionMan("1.1.0"), []sandbox.Registration{prefixReg("hello")}, manPtr(legacyVerMan("1.0.0", TypeCommand, "hello")), nil, []Finding{
			verErr("breaking change: the extension changes from a legacy command extension to handler style; that needs a new major version (2.0.0), not 1.1.0")}},
		{"handler style to legacy", legacyVerMan("2.0.0", TypeCommand, "stats"), nil, &prev, base, []Finding{
			verWarn("breaking change (allowed by the new major version 2.0.0): the extension changes from handler style to a legacy command extension"),
			verWarn("breaking change (allowed by the new major version 2.0.0): the prefix command newest is removed or renamed"),
			verWarn("breaking change (allowed by the new major version 2.0.0): the slash command /welcome is removed or renamed"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := VerifyVersion(tc.next, tc.nextRegs, tc.prev, tc.prevRegs)
			if !slices.Equal(got, tc.want) {
				t.Errorf("VerifyVersion:\n got  %s\n want %s", showFindings(got), showFindings(tc.want))
			}
		})
	}
}

func manPtr(m Manifest) *Manifest { return &m }
