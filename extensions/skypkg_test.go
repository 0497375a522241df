package extensions

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/skyext/skybot/extensions/skyerr"
)

func TestLegacyPackageReadsAndWritesByteForByte(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/hello-world-1.0.skypkg")
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := ParseSkypkg(raw)
	if err != nil {
		t.Fatalf("ParseSkypkg: %v", err)
	}
	m := pkg.Manifest
	if m.Name != "hello-world" || m.Title != "Hello World" || m.Version != "1.0.0" || m.Type != TypeCommand || m.Key != "hello" ||
		m.UsageHelp != "[name]" || m.TimeoutMS != 5000 || strings.Join(m.Scopes, ",") != "messages_write" {
		t.Fatalf("manifest = %+v", m)
	}
	if !strings.HasPrefix(pkg.Code, "const message = require('message');\n") {
		t.Fatalf("code = %q", pkg.Code)
	}
	out, err := pkg.Encode(PackageLegacy, time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, raw) {
		t.Fatalf("re-export differs:\n got %s\nwant %s", out, raw)
	}
	if _, err := compileCheck(pkg); err != nil {
		t.Fatalf("the package's bare code does not compile as a legacy body: %v", err)
	}
}

func compileCheck(p Package) (bool, error) {
	_, _, err := ParseSkyext([]byte("// ==SkyExtension==\n// @name x1\n// @version 1.0.0\n// ==/SkyExtension==\n" + p.Code))
	return err == nil, err
}

func TestV2PackageIsLossless(t *testing.T) {
	t.Parallel()
	m, code, err := ParseSkyext([]byte(strings.Replace(helloExt, "// ==/SkyExtension==",
		"// @requires     greetings-lib ^2.1\n// @hosts        api.example.org\n// @tags         Fun, Social\n// ==/SkyExtension==", 1)))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	first, err := Package{Manifest: m, Code: code, Signature: []byte{1, 2, 3}}.Encode(PackageV2, at)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSkypkg(first)
	if err != nil {
		t.Fatalf("reading our own export: %v", err)
	}
	if back.Code != code || back.Manifest.Name != "hello" || len(back.Manifest.Requires) != 1 || back.Manifest.Hosts[0] != "api.example.org" {
		t.Fatalf("round trip lost something: %+v", back.Manifest)
	}
	again, err := back.Encode(PackageV2, at)
	if err != nil || !bytes.Equal(again, first) {
		t.Fatalf("export → import → export differs:\n%s\n%s", first, again)
	}

	tampered := bytes.Replace(first, []byte("Hello, "), []byte("Pwned, "), 1)
	if _, err := ParseSkypkg(tampered); !skyerr.Is(err, skyerr.InvalidPackage) || !strings.Contains(err.Error(), "changed after it was made") {
		t.Fatalf("tampered package: %v", err)
	}
}

func TestSkypkgRefusals(t *testing.T) {
	t.Parallel()
	legacy := func(version string) string {
		return `{"package_version":"1.0","extension":{"name":"Thing","version":` + version + `,"code":"return;"}}`
	}
	cases := []struct{ name, src, want string }{
		{"not json", "hello", "one JSON object"},
		{"no version", `{"extension":{}}`, "no package_version"},
		{"future version", `{"package_version":"3.0"}`, `"3.0" is not one`},
		{"1.0 missing code", `{"package_version":"1.0","extension":{"name":"x","version":{}}}`, "needs extension.name, extension.version and extension.code"},
		{"1.0 slash", legacy(`{"type":"slash","key":"thing"}`), "cannot carry a slash extension"},
		{"1.0 keyword without keywords", legacy(`{"type":"keyword","keywords":[]}`), "at least one keyword"},
		{"1.0 command without key", legacy(`{"type":"command"}`), "needs @key"},
		{"1.0 timeout out of range", legacy(`{"type":"command","key":"thing","timeout":50}`), "@timeout"},
		{"1.0 wrong type", legacy(`{"type":"command","key":["a"]}`), "field extension.version.key should be string"},
		{"1.0 bad network", legacy(`{"type":"command","key":"thing","network_capability":"everything"}`), "network_capability"},
		{"2.0 unknown scope", `{"package_version":"2.0","manifest":{"name":"thing","version":"1.0.0","scopes":["messages_react"]},"code":"x","md5":"","sha256":""}`, "not a skybot scope"},
		{"2.0 unknown field", `{"package_version":"2.0","manifest":{"name":"thing","version":"1.0.0","scopes":[]},"code":"x","md5":"","sha256":"","extra":1}`, "unknown field"},
		{"2.0 lenient semver", `{"package_version":"2.0","manifest":{"name":"thing","version":"v1","scopes":[]},"code":"x","md5":"","sha256":""}`, "not strict semver"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseSkypkg([]byte(tc.src))
			if !skyerr.Is(err, skyerr.InvalidPackage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want E_INVALID_PACKAGE containing %q", err, tc.want)
			}
		})
	}
	// Unknown scopes in a 1.0 package are ignored with a warning, as SKYEXT.md A2 says.
	pkg, err := ParseSkypkg([]byte(legacy(`{"type":"command","key":"thing","scopes":["messages_write","messages_react"]}`)))
	if err != nil || strings.Join(pkg.Manifest.Scopes, ",") != "messages_write" || len(pkg.Warnings) != 1 {
		t.Fatalf("1.0 unknown scope: %+v, %v", pkg, err)
	}
}

func TestPackageFilename(t *testing.T) {
	t.Parallel()
	if got := PackageFilename("Hello World!.v2"); got != "Hello_World__v2.skypkg" {
		t.Fatalf("PackageFilename = %q", got)
	}
}

func FuzzParseSkypkg(f *testing.F) {
	if raw, err := os.ReadFile("testdata/hello-world-1.0.skypkg"); err == nil {
		f.Add(raw)
	}
	m, code, _ := ParseSkyext([]byte(helloExt))
	if v2, err := (Package{Manifest: m, Code: code}).Encode(PackageV2, time.Unix(0, 0)); err == nil {
		f.Add(v2)
	}
	f.Add([]byte(`{"package_version":"1.0","extension":{"name":"k","version":{"type":"keyword","keywords":["*"]},"code":""}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkg, err := ParseSkypkg(data)
		if err != nil {
			if skyerr.CodeOf(err) != skyerr.InvalidPackage {
				t.Fatalf("error without E_INVALID_PACKAGE: %v", err)
			}
			return
		}
		if err := pkg.Manifest.Validate(); err != nil {
			t.Fatalf("accepted a manifest that does not validate: %v", err)
		}
		// Whatever is accepted survives a 2.0 round trip unchanged.
		out, err := pkg.Encode(PackageV2, time.Unix(0, 0))
		if err != nil {
			t.Fatalf("encode an accepted package: %v", err)
		}
		back, err := ParseSkypkg(out)
		if err != nil || back.Code != pkg.Code || back.Manifest.Name != pkg.Manifest.Name || back.Manifest.Version != pkg.Manifest.Version {
			t.Fatalf("2.0 round trip: %v", err)
		}
	})
}
