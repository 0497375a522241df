package extensions

import (
	"slices"
	"strings"
	"testing"
)

func pkgErr(msg string) Finding {
	return Finding{Severity: SeverityError, Stage: StagePackage, Message: msg}
}
func pkgWarn(msg string) Finding {
	return Finding{Severity: SeverityWarning, Stage: StagePackage, Message: msg}
}

func TestCheckPackage(t *testing.T) {
	t.Parallel()
	handler := Manifest{Name: "pkg", Version: "1.0.0", Scopes: []string{}}
	command := Manifest{Name: "pkg", Version: "1.0.0", Type: TypeCommand, Key: "pkg", Scopes: []string{}}
	handlerWith := func(edit func(*Manifest)) Manifest { m := handler; edit(&m); return m }
	commandWith := func(edit func(*Manifest)) Manifest { m := command; edit(&m); return m }
	code := "await require('message').reply('hi');"

	cases := []struct {
		name   string
		man    Manifest
		code   string
		limits PackageLimits
		want   []Finding
	}{
		{"a clean handler-style package", handler, "require('sky');", PackageLimits{}, nil},
		{"a clean legacy package", commandWith(func(m *Manifest) { m.UsageHelp = "[name]" }), code, PackageLimits{}, nil},
		{"no code", handler, " \n\t", PackageLimits{}, []Finding{pkgErr("the package has no code")}},
		{"code over the limit", handler, strings.Repeat("x", 101), PackageLimits{MaxCodeBytes: 100}, []Finding{
			pkgErr("the code is 101 bytes; the limit is 100")}},
		{"code over the default limit", handler, strings.Repeat(";", 256<<10+1), PackageLimits{}, []Finding{
			pkgErr("the code is 262145 bytes; the limit is 262144")}},
		{"manifest over the limit", handlerWith(func(m *Manifest) { m.Description = strings.Repeat("d", 200) }), "x;", PackageLimits{MaxManifestBytes: 100}, []Finding{
			pkgErr("the manifest is 261 bytes of JSON; the limit is 100")}},
		{"a manifest Validate refuses", handlerWith(func(m *Manifest) { m.Version = "1.0" }), "x;", PackageLimits{}, []Finding{
			pkgErr(`@version "1.0" is not strict semver (MAJOR.MINOR.PATCH, e.g. 1.0.0).`)}},
		{"legacy fields on a handler-style manifest", handlerWith(func(m *Manifest) { m.Key, m.IntervalMS = "pkg", 300000 }), "x;", PackageLimits{}, []Finding{
			pkgWarn("@key is set, but only legacy (@type) extensions read it; a handler-style extension registers its triggers with sky; it is ignored"),
			pkgWarn("@interval is set, but only legacy (@type) extensions read it; a handler-style extension registers its triggers with sky; it is ignored"),
		}},
		{"fields another legacy type reads", commandWith(func(m *Manifest) { m.Event = "guildMemberAdd" }), code, PackageLimits{}, []Finding{
			pkgWarn("@event is set, but a command extension does not read it; it is ignored")}},
		{"SkynetBot exports keep what their builder stored", commandWith(func(m *Manifest) { m.Event, m.Compat = "guildMemberAdd", CompatSkynet }), code, PackageLimits{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := CheckPackage(tc.man, tc.code, tc.limits)
			if !slices.Equal(got, tc.want) {
				t.Errorf("CheckPackage:\n got  %s\n want %s", showFindings(got), showFindings(tc.want))
			}
		})
	}
}
