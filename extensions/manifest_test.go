package extensions

import (
	"strings"
	"testing"

	"github.com/skyext/skybot/extensions/skyerr"
)

const helloExt = `// ==SkyExtension==
// @name         hello
// @version      1.0.0
// @description  Says hello back
// @engine       ^1.0
// @type         command
// @key          hello
// @scopes       messages_write
// ==/SkyExtension==
const message = require('message');
await message.reply('Hello, ' + message.author.username + '!');
`

func TestParseSkyext(t *testing.T) {
	t.Parallel()
	m, code, err := ParseSkyext([]byte(helloExt))
	if err != nil {
		t.Fatalf("ParseSkyext: %v", err)
	}
	if m.Name != "hello" || m.Version != "1.0.0" || m.Type != TypeCommand || m.Key != "hello" {
		t.Fatalf("manifest = %+v", m)
	}
	if strings.Join(m.Scopes, ",") != "messages_write" {
		t.Fatalf("scopes = %v", m.Scopes)
	}
	if code != helloExt {
		t.Fatalf("code is not the whole file")
	}
}

func TestParseSkyextRefusals(t *testing.T) {
	t.Parallel()
	header := func(lines ...string) string {
		return "// ==SkyExtension==\n// " + strings.Join(lines, "\n// ") + "\n// ==/SkyExtension==\nreturn;\n"
	}
	cases := []struct {
		name, src, want string
	}{
		{"no header", "await require('message').reply('x');", "no \"// ==SkyExtension==\" metadata header"},
		{"unclosed header", "// ==SkyExtension==\n// @name x\n", "never closed"},
		{"code inside header", "// ==SkyExtension==\n// @name x\nfoo();\n", "Line 3"},
		{"missing name", header("@version 1.0.0", "@type command", "@key hi"), "@name is missing"},
		{"bad name", header("@name Hello World", "@version 1.0.0"), "@name \"Hello World\""},
		{"lenient version refused", header("@name hi", "@version v1.0"), "not strict semver"},
		{"partial version refused", header("@name hi", "@version 1.0"), "not strict semver"},
		{"engine excludes us", header("@name hi", "@version 1.0.0", "@engine ^2.0"), "does not accept this skybot"},
		{"unknown scope", header("@name hi", "@version 1.0.0", "@scopes messages_react"), "not a skybot scope"},
		{"unknown field", header("@name hi", "@version 1.0.0", "@colour red"), "@colour is not a known header field"},
		{"duplicate field", header("@name hi", "@name ho", "@version 1.0.0"), "given twice"},
		{"command without key", header("@name hi", "@version 1.0.0", "@type command"), "needs @key"},
		{"capital key", header("@name hi", "@version 1.0.0", "@type command", "@key Hello"), "needs @key"},
		{"unknown type", header("@name hi", "@version 1.0.0", "@type cron"), "@type \"cron\""},
		{"timer too fast", header("@name hi", "@version 1.0.0", "@type timer", "@interval 1000"), "@interval"},
		{"unknown event", header("@name hi", "@version 1.0.0", "@type event", "@event ready"), "@event \"ready\""},
		{"bad requires", header("@name hi", "@version 1.0.0", "@requires other"), "needs a semver range"},
		{"bad host", header("@name hi", "@version 1.0.0", "@hosts http://x.org/"), "not a host name"},
		{"timeout out of range", header("@name hi", "@version 1.0.0", "@timeout 50"), "@timeout"},
		{"not utf8", "\xff\xfe", "not UTF-8"},
		{"binary", "// ==SkyExtension==\x00", "NUL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := ParseSkyext([]byte(tc.src))
			if err == nil {
				t.Fatalf("accepted, want an error containing %q", tc.want)
			}
			if !skyerr.Is(err, skyerr.InvalidPackage) {
				t.Fatalf("code = %s, want E_INVALID_PACKAGE", skyerr.CodeOf(err))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func FuzzParseSkyext(f *testing.F) {
	f.Add([]byte(helloExt))
	f.Add([]byte("// ==SkyExtension==\n// @name a\n// ==/SkyExtension==\n"))
	f.Add([]byte("// ==SkyExtension==\n// @requires x ^1\n// @requires y\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		m, code, err := ParseSkyext(src)
		if err != nil {
			if skyerr.CodeOf(err) != skyerr.InvalidPackage {
				t.Fatalf("error without E_INVALID_PACKAGE: %v", err)
			}
			return
		}
		if code != string(src) {
			t.Fatalf("code differs from the source")
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted manifest does not validate: %v", err)
		}
	})
}

func TestSettingsInTheHeader(t *testing.T) {
	t.Parallel()
	head := "// ==SkyExtension==\n// @name settings-demo\n// @version 1.0.0\n"
	src := head + `// @setting {"id": "greeting", "type": "text", "default": "Hello"}
// @setting {"id": "api_key", "type": "secret", "label": "API key"}
// ==/SkyExtension==
`
	m, _, err := ParseSkyext([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Settings) != 2 || string(m.Settings[0]) != `{"id":"greeting","type":"text","default":"Hello"}` {
		t.Fatalf("settings %s", m.Settings)
	}
	for _, bad := range []string{`{"id": "x"}`, `{"type": "text"}`, `not json`, `{"id": "a b", "type": "text"}`} {
		if _, _, err := ParseSkyext([]byte(head + "// @setting " + bad + "\n// ==/SkyExtension==\n")); !skyerr.Is(err, skyerr.InvalidPackage) {
			t.Errorf("@setting %s: err %v, want E_INVALID_PACKAGE", bad, err)
		}
	}
}
