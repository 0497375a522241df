package extensions

import (
	"bytes"
	"cmp"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
)

// Package formats (.skypkg "package_version").
const (
	PackageLegacy = "1.0" // SkynetBot's export format, read and written byte-compatibly
	PackageV2     = "2.0" // skybot's: the full manifest, code, digests, signature
)

// Package is a .skypkg: one extension version's manifest and code.
type Package struct {
	Format    string
	Manifest  Manifest
	Code      string
	Signature []byte // ed25519 over the code's sha256 (2.0 only; verified by the marketplace)
	// Source is a 1.0 package's provenance, kept so a re-export is identical.
	Source *PackageSource
	// Warnings are things dropped on the way in (e.g. unknown 1.0 scopes).
	Warnings []string
}

// PackageSource is the 1.0 "source" member.
type PackageSource struct {
	OriginalID    string `json:"original_id"`
	OriginalOwner string `json:"original_owner"`
}

// The 1.0 shape, field order as SkynetBot writes it (part B 8.1). Pointers
// and omitempty reproduce "undefined is omitted, null stays".
type legacyPackage struct {
	PackageVersion string          `json:"package_version"`
	ExportedAt     string          `json:"exported_at"`
	Extension      legacyExtension `json:"extension"`
	Source         *PackageSource  `json:"source,omitempty"`
}

type legacyExtension struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Version     legacyVersion `json:"version"`
	Code        *string       `json:"code"`
}

type legacyVersion struct {
	Type          string   `json:"type"`
	Key           *string  `json:"key,omitempty"`
	Keywords      []string `json:"keywords"`
	CaseSensitive bool     `json:"case_sensitive"`
	Interval      *int64   `json:"interval,omitempty"`
	UsageHelp     *string  `json:"usage_help,omitempty"`
	ExtendedHelp  *string  `json:"extended_help,omitempty"`
	Event         *string  `json:"event,omitempty"`
	Scopes        []string `json:"scopes"`
	Timeout       *int64   `json:"timeout,omitempty"`
	// An extension of the format (part B checklist 10): round-tripped.
	NetworkCapability *string `json:"network_capability,omitempty"`
}

type v2Package struct {
	PackageVersion string   `json:"package_version"`
	ExportedAt     string   `json:"exported_at"`
	Manifest       Manifest `json:"manifest"`
	Code           string   `json:"code"`
	MD5            string   `json:"md5"`
	SHA256         string   `json:"sha256"`
	Signature      []byte   `json:"signature,omitempty"`
}

// maxPackageBytes bounds a .skypkg before it is parsed.
const maxPackageBytes = 4 << 20

var notSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slugify turns a SkynetBot display name into a skybot name.
func slugify(name string) string {
	s := strings.Trim(notSlug.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(s) > 60 {
		s = strings.TrimRight(s[:60], "-")
	}
	return s
}

// ParseSkypkg reads a .skypkg of either format. Every refusal is
// E_INVALID_PACKAGE with a sentence naming the field.
func ParseSkypkg(data []byte) (Package, error) {
	bad := func(format string, args ...any) (Package, error) {
		return Package{}, skyerr.New(skyerr.InvalidPackage, format, args...)
	}
	if len(data) > maxPackageBytes {
		return bad("The package is %d bytes; the limit is %d.", len(data), maxPackageBytes)
	}
	if !utf8.Valid(data) || !json.Valid(data) {
		return bad("The file is not a .skypkg: a package is one JSON object.")
	}
	var head struct {
		PackageVersion string `json:"package_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return bad("The file is not a .skypkg: a package is one JSON object.")
	}
	switch head.PackageVersion {
	case PackageLegacy:
		return parseLegacy(data)
	case PackageV2:
		return parseV2(data)
	case "":
		return bad("The package has no package_version.")
	}
	return bad("package_version %q is not one this skybot reads (1.0 or 2.0).", head.PackageVersion)
}

func parseLegacy(data []byte) (Package, error) {
	bad := func(format string, args ...any) (Package, error) {
		return Package{}, skyerr.New(skyerr.InvalidPackage, format, args...)
	}
	var lp struct {
		Extension struct {
			Name        *string          `json:"name"`
			Description *string          `json:"description"`
			Version     *legacyVersionIn `json:"version"`
			Code        *string          `json:"code"`
		} `json:"extension"`
		Source *PackageSource `json:"source"`
	}
	if err := json.Unmarshal(data, &lp); err != nil {
		return bad("The 1.0 package does not have the expected shape: %s.", jsonProblem(err))
	}
	ext := lp.Extension
	if ext.Name == nil || ext.Version == nil || ext.Code == nil || *ext.Code == "" {
		return bad("A 1.0 package needs extension.name, extension.version and extension.code.")
	}
	v := ext.Version
	m := Manifest{
		Name: slugify(*ext.Name), Title: *ext.Name, Version: "1.0.0", Type: strings.ToLower(v.Type),
		Key: deref(v.Key), Keywords: v.Keywords, CaseSensitive: v.CaseSensitive,
		IntervalMS: derefInt(v.Interval), Event: deref(v.Event), UsageHelp: deref(v.UsageHelp),
		ExtendedHelp: deref(v.ExtendedHelp), TimeoutMS: derefInt(v.Timeout), Network: deref(v.NetworkCapability),
		Scopes: []string{}, Compat: CompatSkynet,
	}
	if m.Title == m.Name {
		m.Title = ""
	}
	if ext.Description != nil {
		m.Description = *ext.Description
	}
	pkg := Package{Format: PackageLegacy, Code: *ext.Code, Source: lp.Source}
	for _, s := range v.Scopes {
		if sandbox.KnownScope(s) {
			m.Scopes = append(m.Scopes, s)
		} else {
			pkg.Warnings = append(pkg.Warnings, fmt.Sprintf("scope %q is not a skybot scope and was ignored", s))
		}
	}
	switch m.Type {
	case TypeCommand, TypeTimer, TypeEvent:
	case TypeSlash:
		return bad("A 1.0 package cannot carry a slash extension (it has no slash description or options).")
	case TypeKeyword:
		if len(m.Keywords) == 0 {
			return bad("A keyword extension needs at least one keyword.")
		}
	default:
		return bad("extension.version.type %q is not one of command, keyword, timer, event.", v.Type)
	}
	if m.Type != TypeKeyword {
		m.Keywords = nil // stored as [] by SkynetBot for every other type
	}
	if err := m.Validate(); err != nil {
		return Package{}, err
	}
	pkg.Manifest = m
	return pkg, nil
}

// legacyVersionIn accepts the 1.0 version member leniently about types
// SkynetBot itself never checked (e.g. keywords absent).
type legacyVersionIn struct {
	Type              string   `json:"type"`
	Key               *string  `json:"key"`
	Keywords          []string `json:"keywords"`
	CaseSensitive     bool     `json:"case_sensitive"`
	Interval          *int64   `json:"interval"`
	UsageHelp         *string  `json:"usage_help"`
	ExtendedHelp      *string  `json:"extended_help"`
	Event             *string  `json:"event"`
	Scopes            []string `json:"scopes"`
	Timeout           *int64   `json:"timeout"`
	NetworkCapability *string  `json:"network_capability"`
}

func parseV2(data []byte) (Package, error) {
	bad := func(format string, args ...any) (Package, error) {
		return Package{}, skyerr.New(skyerr.InvalidPackage, format, args...)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p v2Package
	if err := dec.Decode(&p); err != nil {
		return bad("The 2.0 package does not have the expected shape: %s.", jsonProblem(err))
	}
	if p.Manifest.Scopes == nil {
		p.Manifest.Scopes = []string{}
	}
	if err := p.Manifest.Validate(); err != nil {
		return Package{}, err
	}
	if p.Code == "" {
		return bad("The package has no code.")
	}
	if got := md5Hex(p.Code); p.MD5 != got {
		return bad("The package's md5 does not match its code: it was changed after it was made.")
	}
	if got := sha256Hex(p.Code); p.SHA256 != got {
		return bad("The package's sha256 does not match its code: it was changed after it was made.")
	}
	return Package{Format: PackageV2, Manifest: p.Manifest, Code: p.Code, Signature: p.Signature}, nil
}

// Encode writes the package in format at exportedAt. 1.0 keeps SkynetBot's
// exact shape (what 1.0 cannot carry — version string, hosts, tags,
// requires — is lost, as it was in SkynetBot); 2.0 is lossless.
func (p Package) Encode(format string, exportedAt time.Time) ([]byte, error) {
	stamp := exportedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	var v any
	switch format {
	case PackageV2:
		v = v2Package{PackageVersion: PackageV2, ExportedAt: stamp, Manifest: p.Manifest, Code: p.Code,
			MD5: md5Hex(p.Code), SHA256: sha256Hex(p.Code), Signature: p.Signature}
	case PackageLegacy:
		if !p.Manifest.Legacy() {
			return nil, skyerr.New(skyerr.InvalidState, "%s is a handler-style extension; only the 2.0 format can carry it.", p.Manifest.Name)
		}
		m := p.Manifest
		code := p.Code
		lv := legacyVersion{Type: m.Type, Keywords: m.Keywords, CaseSensitive: m.CaseSensitive, Scopes: m.Scopes,
			Key: nonEmpty(m.Key), UsageHelp: nonEmpty(m.UsageHelp), ExtendedHelp: nonEmpty(m.ExtendedHelp),
			Event: nonEmpty(m.Event), NetworkCapability: nonEmpty(m.Network)}
		if lv.Keywords == nil {
			lv.Keywords = []string{}
		}
		if lv.Scopes == nil {
			lv.Scopes = []string{}
		}
		if m.IntervalMS > 0 {
			lv.Interval = &m.IntervalMS
		}
		timeout := int64(5000)
		if m.TimeoutMS > 0 {
			timeout = m.TimeoutMS
		}
		lv.Timeout = &timeout
		v = legacyPackage{PackageVersion: PackageLegacy, ExportedAt: stamp,
			Extension: legacyExtension{Name: cmp.Or(m.Title, m.Name), Description: m.Description, Version: lv, Code: &code},
			Source:    p.Source}
	default:
		return nil, skyerr.New(skyerr.InvalidID, "%q is not a package format (1.0 or 2.0).", format)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as JSON.stringify writes <, > and &
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode package: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// PackageFilename is the download name SkynetBot gives a package: every
// character outside [A-Za-z0-9-_] becomes _.
func PackageFilename(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 128 && (r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String() + ".skypkg"
}

func md5Hex(code string) string {
	sum := md5.Sum([]byte(code))
	return hex.EncodeToString(sum[:])
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// jsonProblem shortens a decoding error to the part a person can act on.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s should be %s, not %s", te.Field, te.Type, te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
