package extensions

import (
	"encoding/json"
	"strings"

	"github.com/skyext/skybot/extensions/skyerr"
)

// PackageLimits are the sizes the package stage holds a submission to
// (SKYEXT.md A2: code and manifest limits come from config).
type PackageLimits struct {
	// MaxCodeBytes bounds the code (for a .skyext, the whole file); 0 is
	// the manager's default, 256 KiB.
	MaxCodeBytes int
	// MaxManifestBytes bounds the manifest's JSON as the store keeps it;
	// 0 is 64 KiB.
	MaxManifestBytes int
}

const defaultMaxManifestBytes = 64 << 10

// CheckPackage is the publication pipeline's package stage, for what
// reading the package (ParseSkyext, ParseSkypkg) does not refuse on its
// own: the manifest rules again (a saved extension never went through a
// parser), code and manifest sizes, and manifest fields the version's
// style ignores. Whether declared triggers exist is left to the describe
// run (handler style) and to run time (legacy code).
func CheckPackage(man Manifest, code string, limits PackageLimits) []Finding {
	var out []Finding
	add := func(severity, format string, args ...any) {
		out = append(out, makeFinding(StagePackage, severity, 0, format, args...))
	}
	if err := man.Validate(); err != nil {
		add(SeverityError, "%s", skyerr.From(err).Message)
	}
	maxCode := limits.MaxCodeBytes
	if maxCode <= 0 {
		maxCode = defaultMaxSource
	}
	switch {
	case strings.TrimSpace(code) == "":
		add(SeverityError, "the package has no code")
	case len(code) > maxCode:
		add(SeverityError, "the code is %d bytes; the limit is %d", len(code), maxCode)
	}
	maxManifest := limits.MaxManifestBytes
	if maxManifest <= 0 {
		maxManifest = defaultMaxManifestBytes
	}
	if raw, err := json.Marshal(man); err == nil && len(raw) > maxManifest {
		add(SeverityError, "the manifest is %d bytes of JSON; the limit is %d", len(raw), maxManifest)
	}
	if man.Compat != CompatSkynet { // a SkynetBot export carries what its builder stored
		for _, field := range ignoredFields(man) {
			add(SeverityWarning, "%s is set, but %s; it is ignored", field, ignoredWhy(man))
		}
	}
	return out
}

// ignoredFields are the legacy trigger fields set on a manifest whose
// style or @type does not read them.
func ignoredFields(m Manifest) []string {
	uses := map[string]bool{}
	switch m.Type {
	case TypeCommand:
		uses["@key"], uses["@usage"], uses["@help"] = true, true, true
	case TypeSlash:
		uses["@key"], uses["@slash_description"] = true, true
	case TypeKeyword:
		uses["@keywords"], uses["@case_sensitive"] = true, true
	case TypeTimer:
		uses["@interval"] = true
	case TypeEvent:
		uses["@event"] = true
	}
	set := []struct {
		name string
		set  bool
	}{
		{"@key", m.Key != ""},
		{"@keywords", len(m.Keywords) > 0},
		{"@case_sensitive", m.CaseSensitive},
		{"@interval", m.IntervalMS != 0},
		{"@event", m.Event != ""},
		{"@usage", m.UsageHelp != ""},
		{"@help", m.ExtendedHelp != ""},
		{"@slash_description", m.SlashDescription != ""},
	}
	var out []string
	for _, f := range set {
		if f.set && !uses[f.name] {
			out = append(out, f.name)
		}
	}
	return out
}

func ignoredWhy(m Manifest) string {
	if !m.Legacy() {
		return "only legacy (@type) extensions read it; a handler-style extension registers its triggers with sky"
	}
	return "a " + m.Type + " extension does not read it"
}
