// Package extensions holds what skybot knows about extensions as products:
// the .skyext format and its manifest, validation, the lifecycle manager
// (install, uninstall, ...) and the dispatcher that routes guild events to
// the installed extensions of a guild.
package extensions

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
)

// EngineVersion is skybot's own version as extensions see it: a manifest's
// @engine range must be satisfied by it.
const EngineVersion = "1.0.0"

// Legacy trigger types (SKYEXT.md part B, section 2.1). A manifest without a
// type is handler style (part A).
const (
	TypeCommand = "command"
	TypeKeyword = "keyword"
	TypeTimer   = "timer"
	TypeEvent   = "event"
	TypeSlash   = "slash"
)

// Manifest is an extension version's metadata, read from the .skyext header
// (or a .skypkg). Its JSON form is what the store keeps with the version.
type Manifest struct {
	Name string `json:"name"`
	// Title is a display name, when it differs from Name (a SkynetBot
	// package's name, e.g. "Hello World" for hello-world).
	Title       string   `json:"title,omitempty"`
	Version     string   `json:"version"`
	Description string   `json:"description,omitempty"`
	Engine      string   `json:"engine,omitempty"`
	Scopes      []string `json:"scopes"`
	Requires    []Dep    `json:"requires,omitempty"`
	Hosts       []string `json:"hosts,omitempty"`
	Tags        []string `json:"tags,omitempty"`

	// Legacy (part B) trigger fields, set only with Type.
	Type             string   `json:"type,omitempty"`
	Key              string   `json:"key,omitempty"`
	Keywords         []string `json:"keywords,omitempty"`
	CaseSensitive    bool     `json:"case_sensitive,omitempty"`
	IntervalMS       int64    `json:"interval,omitempty"`
	Event            string   `json:"event,omitempty"`
	UsageHelp        string   `json:"usage_help,omitempty"`
	ExtendedHelp     string   `json:"extended_help,omitempty"`
	SlashDescription string   `json:"slash_description,omitempty"`
	TimeoutMS        int64    `json:"timeout,omitempty"`
	// Network is a legacy version's network_capability (none,
	// allowlist_only, network, network_advanced), kept for 1.0 packages.
	Network string `json:"network_capability,omitempty"`
	// Settings are what the guild admin can set for the extension, one
	// JSON object per @setting line: {id, type, label, default, min, max,
	// options, required, help}. Types are SettingTypes; a secret is never
	// readable by code.
	Settings []json.RawMessage `json:"settings,omitempty"`
	// Handlers summarise what a handler-style version's top level
	// registered when it was checked ("slash command /welcome", ...),
	// for consent cards and /ext info; skybot fills it, the file does not.
	Handlers []string `json:"handlers,omitempty"`
	// Compat is CompatSkynet for a SkynetBot 1.0 package: part B's gates
	// apply to it as written (SKYEXT.md A4), e.g. embeds need no
	// embed_links, which SkynetBot never enforced.
	Compat string `json:"compat,omitempty"`
}

// CompatSkynet marks a manifest read from a SkynetBot 1.0 package.
const CompatSkynet = "skynet-1.0"

// Dep is one @requires entry: another extension and a semver range.
type Dep struct {
	Name  string `json:"name"`
	Range string `json:"range"`
}

// Legacy reports whether the code is a legacy (part B) body: one async
// function run per invocation, rather than handler-style registration.
func (m Manifest) Legacy() bool { return m.Type != "" }

// Limits on a .skyext header and its fields (SKYEXT.md A2 and part B 6.2).
const (
	maxHeaderLines     = 200
	maxDescriptionLen  = 2000
	minTimeoutMS       = 100
	maxTimeoutMS       = 10000
	minTimerIntervalMS = 300000
	maxTimerIntervalMS = 86400000
)

var (
	slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,59}$`)
	keyPattern  = regexp.MustCompile(`^[a-z0-9_-]{2,25}$`)
	hostPattern = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)
)

const (
	headerOpen  = "==SkyExtension=="
	headerClose = "==/SkyExtension=="
)

// ParseSkyext reads a .skyext file: its metadata header and the code. The
// returned manifest is validated; every problem is an E_INVALID_PACKAGE
// error with a sentence naming the line or field.
func ParseSkyext(src []byte) (Manifest, string, error) {
	if !utf8.Valid(src) {
		return Manifest{}, "", skyerr.New(skyerr.InvalidPackage, "The file is not UTF-8 text; a .skyext is a JavaScript source file.")
	}
	if bytes.IndexByte(src, 0) >= 0 {
		return Manifest{}, "", skyerr.New(skyerr.InvalidPackage, "The file contains NUL bytes; a .skyext is a JavaScript source file.")
	}
	fields, err := readHeader(src)
	if err != nil {
		return Manifest{}, "", err
	}
	m, err := manifestFromFields(fields)
	if err != nil {
		return Manifest{}, "", err
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, "", err
	}
	return m, string(src), nil
}

// headerField is one "// @key value" line.
type headerField struct {
	line       int
	key, value string
}

func readHeader(src []byte) ([]headerField, error) {
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	var (
		fields []headerField
		inside bool
		lineNo int
	)
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if !inside {
			switch {
			case line == "":
				continue
			case strings.HasPrefix(line, "//") && strings.TrimSpace(strings.TrimPrefix(line, "//")) == headerOpen:
				inside = true
				continue
			case strings.HasPrefix(line, "//"), strings.HasPrefix(line, "#!"):
				// Comments may precede the header.
				if lineNo > maxHeaderLines {
					return nil, noHeader()
				}
				continue
			default:
				return nil, noHeader()
			}
		}
		if !strings.HasPrefix(line, "//") {
			return nil, skyerr.New(skyerr.InvalidPackage, "Line %d: the metadata header ends without %q.", lineNo, "// "+headerClose)
		}
		body := strings.TrimSpace(strings.TrimPrefix(line, "//"))
		if body == headerClose {
			return fields, nil
		}
		if body == "" {
			continue
		}
		if !strings.HasPrefix(body, "@") {
			return nil, skyerr.New(skyerr.InvalidPackage, "Line %d: a header line must look like \"// @key value\".", lineNo)
		}
		key, value, _ := strings.Cut(body[1:], " ")
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, skyerr.New(skyerr.InvalidPackage, "Line %d: a header line has an empty @key.", lineNo)
		}
		fields = append(fields, headerField{line: lineNo, key: strings.ToLower(key), value: strings.TrimSpace(value)})
		if len(fields) > maxHeaderLines {
			return nil, skyerr.New(skyerr.InvalidPackage, "The metadata header has more than %d fields.", maxHeaderLines)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, skyerr.Wrap(err, skyerr.InvalidPackage, "The file could not be read as text lines (a line may be longer than 64 KiB).")
	}
	if inside {
		return nil, skyerr.New(skyerr.InvalidPackage, "The metadata header is never closed with %q.", "// "+headerClose)
	}
	return nil, noHeader()
}

func noHeader() error {
	return skyerr.New(skyerr.InvalidPackage,
		"The file has no \"// ==SkyExtension==\" metadata header; a bare SkynetBot code file needs its metadata from a .skypkg.")
}

func manifestFromFields(fields []headerField) (Manifest, error) {
	var m Manifest
	seen := map[string]int{}
	for _, f := range fields {
		if prev, dup := seen[f.key]; dup && f.key != "requires" && f.key != "setting" {
			return m, skyerr.New(skyerr.InvalidPackage, "Line %d: @%s is given twice (first on line %d).", f.line, f.key, prev)
		}
		seen[f.key] = f.line
		bad := func(format string, args ...any) error {
			return skyerr.New(skyerr.InvalidPackage, "Line %d: @%s %s", f.line, f.key, fmt.Sprintf(format, args...))
		}
		switch f.key {
		case "name":
			m.Name = f.value
		case "title":
			m.Title = f.value
		case "version":
			m.Version = f.value
		case "description":
			m.Description = f.value
		case "engine":
			m.Engine = f.value
		case "scopes":
			m.Scopes = splitList(f.value)
		case "requires":
			name, rng, _ := strings.Cut(f.value, " ")
			m.Requires = append(m.Requires, Dep{Name: strings.TrimSpace(name), Range: strings.TrimSpace(rng)})
		case "hosts":
			m.Hosts = splitList(f.value)
		case "setting":
			set, err := parseSetting(f.value)
			if err != nil {
				return m, bad("%s", err)
			}
			m.Settings = append(m.Settings, set)
		case "tags":
			m.Tags = splitList(f.value)
		case "type":
			m.Type = strings.ToLower(f.value)
		case "key":
			m.Key = f.value
		case "keywords":
			m.Keywords = splitList(f.value)
		case "case_sensitive", "casesensitive":
			v, err := strconv.ParseBool(f.value)
			if err != nil {
				return m, bad("must be true or false.")
			}
			m.CaseSensitive = v
		case "interval":
			v, err := strconv.ParseInt(f.value, 10, 64)
			if err != nil {
				return m, bad("must be a whole number of milliseconds.")
			}
			m.IntervalMS = v
		case "timeout":
			v, err := strconv.ParseInt(f.value, 10, 64)
			if err != nil {
				return m, bad("must be a whole number of milliseconds.")
			}
			m.TimeoutMS = v
		case "event":
			m.Event = f.value
		case "usage", "usage_help":
			m.UsageHelp = f.value
		case "help", "extended_help":
			m.ExtendedHelp = f.value
		case "slash_description":
			m.SlashDescription = f.value
		default:
			return m, skyerr.New(skyerr.InvalidPackage, "Line %d: @%s is not a known header field.", f.line, f.key)
		}
	}
	if m.Scopes == nil {
		m.Scopes = []string{}
	}
	return m, nil
}

// splitList splits "a, b,c" into trimmed non-empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Validate checks the manifest against skybot's rules. Every failure is an
// E_INVALID_PACKAGE error naming the field.
func (m Manifest) Validate() error {
	bad := func(format string, args ...any) error {
		return skyerr.New(skyerr.InvalidPackage, format, args...)
	}
	if m.Name == "" {
		return bad("@name is missing.")
	}
	if !slugPattern.MatchString(m.Name) {
		return bad("@name %q must be 2-60 characters of a-z, 0-9, - and _, starting with a letter or digit.", m.Name)
	}
	if m.Version == "" {
		return bad("@version is missing.")
	}
	if _, err := semver.StrictNewVersion(m.Version); err != nil {
		return bad("@version %q is not strict semver (MAJOR.MINOR.PATCH, e.g. 1.0.0).", m.Version)
	}
	if n := utf8.RuneCountInString(m.Title); n > 100 {
		return bad("@title is %d characters; the limit is 100.", n)
	}
	if len(m.Description) > maxDescriptionLen {
		return bad("@description is %d characters; the limit is %d.", len(m.Description), maxDescriptionLen)
	}
	if m.Engine != "" {
		c, err := semver.NewConstraint(m.Engine)
		if err != nil {
			return bad("@engine %q is not a semver range (e.g. ^1.0).", m.Engine)
		}
		if !c.Check(semver.MustParse(EngineVersion)) {
			return bad("@engine %q does not accept this skybot (engine %s).", m.Engine, EngineVersion)
		}
	}
	for _, s := range m.Scopes {
		if !sandbox.KnownScope(s) {
			return bad("@scopes names %q, which is not a skybot scope.", s)
		}
	}
	for _, d := range m.Requires {
		if !slugPattern.MatchString(d.Name) {
			return bad("@requires names %q, which is not an extension name.", d.Name)
		}
		if _, err := semver.NewConstraint(d.Range); d.Range == "" || err != nil {
			return bad("@requires %s needs a semver range, e.g. \"%s ^1.0\".", d.Name, d.Name)
		}
	}
	for _, h := range m.Hosts {
		if !hostPattern.MatchString(h) {
			return bad("@hosts entry %q is not a host name.", h)
		}
	}
	switch m.Network {
	case "", "none", "allowlist_only", "network", "network_advanced":
	default:
		return bad("network_capability %q is not one of none, allowlist_only, network, network_advanced.", m.Network)
	}
	if m.TimeoutMS != 0 && (m.TimeoutMS < minTimeoutMS || m.TimeoutMS > maxTimeoutMS) {
		return bad("@timeout must be between %d and %d ms.", minTimeoutMS, maxTimeoutMS)
	}
	return m.validateTrigger()
}

func (m Manifest) validateTrigger() error {
	bad := func(format string, args ...any) error {
		return skyerr.New(skyerr.InvalidPackage, format, args...)
	}
	switch m.Type {
	case "":
		return nil
	case TypeCommand:
		if !keyPattern.MatchString(m.Key) {
			return bad("A command extension needs @key: 2-25 lower-case characters of a-z, 0-9, - and _.")
		}
	case TypeKeyword:
		if len(m.Keywords) == 0 {
			return bad("A keyword extension needs @keywords.")
		}
	case TypeTimer:
		if m.IntervalMS < minTimerIntervalMS || m.IntervalMS > maxTimerIntervalMS {
			return bad("A timer extension needs @interval between %d and %d ms.", minTimerIntervalMS, maxTimerIntervalMS)
		}
	case TypeEvent:
		if !slices.Contains(sandbox.LegacyEvents, m.Event) {
			return bad("@event %q is not an event an extension can receive.", m.Event)
		}
	case TypeSlash:
		if !keyPattern.MatchString(m.Key) {
			return bad("A slash extension needs @key: 2-25 lower-case characters of a-z, 0-9, - and _.")
		}
		if m.SlashDescription == "" || len(m.SlashDescription) > 100 {
			return bad("A slash extension needs @slash_description of 1-100 characters.")
		}
	default:
		return bad("@type %q is not one of command, keyword, timer, event, slash.", m.Type)
	}
	return nil
}

// SettingTypes are the types a setting may have (SkynetBot's dashboard
// field types, part B 6.2).
var SettingTypes = []string{"text", "textarea", "number", "secret", "toggle", "select", "multi_select", "channel_select", "role_select", "color"}

var settingIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// parseSetting reads one @setting line: a JSON object with at least an id
// and a type.
func parseSetting(value string) (json.RawMessage, error) {
	var head struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal([]byte(value), &head); err != nil {
		return nil, fmt.Errorf(`must be a JSON object such as {"id": "greeting", "type": "text", "default": "Hello"}`)
	}
	if !settingIDPattern.MatchString(head.ID) {
		return nil, fmt.Errorf("needs an id of 1 to 64 letters, digits, _ and -")
	}
	if !slices.Contains(SettingTypes, head.Type) {
		return nil, fmt.Errorf("has type %q; a setting is one of %s", head.Type, strings.Join(SettingTypes, ", "))
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(value)); err != nil {
		return nil, err
	}
	return compact.Bytes(), nil
}
