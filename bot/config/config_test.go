package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/skyext/skybot/extensions/skyerr"
)

const examplePath = "../../config.example.toml"

// TestExampleIsDefault keeps config.example.toml and Default() the same.
func TestExampleIsDefault(t *testing.T) {
	t.Parallel()
	got, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("config.example.toml decodes to\n%+v\nDefault() is\n%+v", got, want)
	}
}

// TestExampleDocumentsEveryKey checks that every key of Config is in
// config.example.toml with a comment right above it.
func TestExampleDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	md, err := toml.Decode(string(data), &m)
	if err != nil {
		t.Fatal(err)
	}
	keys := Keys()
	if !slices.Contains(keys, "sandbox.timeout") || !slices.Contains(keys, "log.format") || slices.Contains(keys, "discord.token") {
		t.Fatalf("Keys() = %v: the reflection walk is broken", keys)
	}
	for _, k := range keys {
		if !md.IsDefined(strings.Split(k, ".")...) {
			t.Errorf("config.example.toml does not set %s", k)
		}
	}

	assignment := regexp.MustCompile(`^([a-z_]+) = `)
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		if m := assignment.FindStringSubmatch(line); m != nil && (i == 0 || !strings.HasPrefix(lines[i-1], "#")) {
			t.Errorf("config.example.toml line %d: %s has no comment above it", i+1, m[1])
		}
	}
}

// TestEveryFieldHasATag makes a new field choose its key on purpose.
func TestEveryFieldHasATag(t *testing.T) {
	t.Parallel()
	var check func(tp reflect.Type)
	check = func(tp reflect.Type) {
		for i := range tp.NumField() {
			f := tp.Field(i)
			if tp == reflect.TypeFor[Duration]() {
				continue
			}
			if _, ok := f.Tag.Lookup("toml"); !ok {
				t.Errorf("%s.%s has no toml tag", tp.Name(), f.Name)
			}
			if f.Type.Kind() == reflect.Struct {
				check(f.Type)
			}
		}
	}
	check(reflect.TypeFor[Config]())
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		want    func(c *Config) // applied to Default()
	}{
		{"empty file", "", func(c *Config) {}},
		{"comments only", "# nothing\n\n", func(c *Config) {}},
		{"one key overlays the defaults", "[store]\npath = \"/var/lib/skybot/skybot.db\"\n",
			func(c *Config) { c.Store.Path = "/var/lib/skybot/skybot.db" }},
		{"every section", `
[discord]
command_guild_id = "811111111111111111"
message_content_intent = false
[bot]
prefix = "?"
[sandbox]
timeout = "750ms"
max_call_stack = 256
max_host_calls = 10
memory_limit_mb = 256
syscall_filter = false
[extensions]
max_attachment_bytes = 2097152
max_source_bytes = 2097152
allow_unreviewed_uploads = false
auto_update = "patch"
[log]
level = "debug"
format = "json"
[ops]
listen = "[::1]:9100"
`, func(c *Config) {
			c.Discord = Discord{CommandGuildID: "811111111111111111"}
			c.Bot.Prefix = "?"
			c.Sandbox = Sandbox{Timeout: Duration{750 * time.Millisecond}, MaxCallStack: 256, MaxHostCalls: 10, MemoryLimitMB: 256, SuspendAfter: 5, SuspendWindow: Duration{10 * time.Minute}, QuarantineAfter: 3}
			c.Extensions = Extensions{MaxAttachmentBytes: 2 << 20, MaxSourceBytes: 2 << 20, AutoUpdate: "patch"}
			c.Log = Log{Level: "debug", Format: "json"}
			c.Ops = Ops{Listen: "[::1]:9100"}
		}},
		{"dotted keys and inline tables", "sandbox.timeout = \"10s\"\nlog = { level = \"warn\" }\n", func(c *Config) {
			c.Sandbox.Timeout = Duration{10 * time.Second}
			c.Log.Level = "warn"
		}},
		{"ops endpoint off", "[ops]\nlisten = \"\"\n", func(c *Config) { c.Ops.Listen = "" }},
		{"ops endpoint on every interface", "[ops]\nlisten = \":9464\"\n", func(c *Config) { c.Ops.Listen = ":9464" }},
		{"ops endpoint by host name", "ops.listen = \"metrics.internal:65535\"\n", func(c *Config) { c.Ops.Listen = "metrics.internal:65535" }},
		{"limits at their bounds", "[sandbox]\ntimeout = \"100ms\"\nmax_call_stack = 32\nmax_host_calls = 1\nmemory_limit_mb = 64\n", func(c *Config) {
			c.Sandbox = Sandbox{Timeout: Duration{100 * time.Millisecond}, MaxCallStack: 32, MaxHostCalls: 1, MemoryLimitMB: 64, SuspendAfter: 5, SuspendWindow: Duration{10 * time.Minute}, QuarantineAfter: 3, SyscallFilter: true}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Load(writeConfig(t, tc.content))
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			tc.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestLoadWithoutPathIsDefault(t *testing.T) {
	t.Parallel()
	got, err := Load("")
	if err != nil || !reflect.DeepEqual(got, Default()) {
		t.Errorf("Load(\"\") = %+v, %v; want Default()", got, err)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the user text, after "E_INVALID_CONFIG: <dir>/"
	}{
		{"unknown key", "[store]\npaht = \"x.db\"\n",
			[]string{`config.toml: unknown key "store.paht" (did you mean "store.path"?)`}},
		{"unknown key without a near one", "[store]\nmirror = \"x\"\n",
			[]string{`config.toml: unknown key "store.mirror"`}},
		{"unknown table", "[storage]\npath = \"x.db\"\nsize = 3\n",
			[]string{`config.toml: unknown key "storage" (did you mean "store"?)`}},
		{"several unknown keys", "nope = 1\n[log]\nlevl = \"info\"\n",
			[]string{`unknown key "nope"`, "and 1 more unknown"}},
		{"token in the discord table", "[discord]\ntoken = \"abc.def.ghi\"\n",
			[]string{`config.toml: key "discord.token" is not allowed`, "read only from the SKYBOT_TOKEN environment variable"}},
		{"token at the top", "token = \"abc\"\n",
			[]string{`key "token" is not allowed`, "SKYBOT_TOKEN"}},
		{"bot_token", "[bot]\nbot_token = \"abc\"\n",
			[]string{`key "bot.bot_token" is not allowed`}},
		{"duration without a unit", "[sandbox]\ntimeout = \"5\"\n",
			[]string{`config.toml line 2 (key "sandbox.timeout"): "5" is not a duration; write it like "5s"`}},
		{"duration as a number", "[sandbox]\ntimeout = 5\n",
			[]string{`(key "sandbox.timeout"): "5" is not a duration`}},
		{"duration as words", "[sandbox]\ntimeout = \"five seconds\"\n",
			[]string{`"five seconds" is not a duration`}},
		{"timeout too long", "[sandbox]\ntimeout = \"20s\"\n",
			[]string{"config.toml: sandbox.timeout is 20s; it must be between 100ms and 10s"}},
		{"timeout too short", "[sandbox]\ntimeout = \"50ms\"\n",
			[]string{"sandbox.timeout is 50ms; it must be between 100ms and 10s"}},
		{"negative timeout", "[sandbox]\ntimeout = \"-1s\"\n",
			[]string{"sandbox.timeout is -1s"}},
		{"string for an integer", "[sandbox]\nmax_call_stack = \"many\"\n",
			[]string{`config.toml line 2 (key "sandbox.max_call_stack"): incompatible types`}},
		{"integer for a string", "[store]\npath = 5\n",
			[]string{"store.path", "incompatible types"}},
		{"call stack too deep", "[sandbox]\nmax_call_stack = 1000000\n",
			[]string{"sandbox.max_call_stack is 1000000; it must be between 32 and 10000"}},
		{"negative quarantine", "[sandbox]\nquarantine_after = -1\n",
			[]string{"sandbox.quarantine_after is -1; it must be between 0 (never) and 1000"}},
		{"no host calls", "[sandbox]\nmax_host_calls = 0\n",
			[]string{"sandbox.max_host_calls is 0"}},
		{"memory limit too small", "[sandbox]\nmemory_limit_mb = 8\n",
			[]string{"sandbox.memory_limit_mb is 8"}},
		{"negative attachment size", "[extensions]\nmax_attachment_bytes = -1\n",
			[]string{"extensions.max_attachment_bytes is -1"}},
		{"source larger than attachment", "[extensions]\nmax_source_bytes = 2097152\n",
			[]string{"extensions.max_source_bytes is 2097152; it must be between 1 and extensions.max_attachment_bytes (1048576)"}},
		{"unknown auto-update track", "[extensions]\nauto_update = \"major\"\n",
			[]string{`extensions.auto_update is "major"; it must be none, patch or minor`}},
		{"guild id that is not one", "[discord]\ncommand_guild_id = \"my-server\"\n",
			[]string{`discord.command_guild_id is "my-server"`}},
		{"empty store path", "[store]\npath = \"\"\n",
			[]string{"store.path is empty"}},
		{"prefix with a space", "[bot]\nprefix = \"! \"\n",
			[]string{`bot.prefix is "! "`}},
		{"unknown log level", "[log]\nlevel = \"verbose\"\n",
			[]string{`log.level is "verbose"; it must be debug, info, warn or error`}},
		{"unknown log format", "[log]\nformat = \"xml\"\n",
			[]string{`log.format is "xml"`}},
		{"ops listen without a port", "[ops]\nlisten = \"127.0.0.1\"\n",
			[]string{`config.toml: ops.listen is "127.0.0.1"; it must be host:port with a port from 1 to 65535`}},
		{"ops listen on port 0", "[ops]\nlisten = \"127.0.0.1:0\"\n",
			[]string{`ops.listen is "127.0.0.1:0"`}},
		{"ops listen port too large", "[ops]\nlisten = \"localhost:70000\"\n",
			[]string{`ops.listen is "localhost:70000"`}},
		{"ops listen with a named port", "[ops]\nlisten = \"localhost:http\"\n",
			[]string{`ops.listen is "localhost:http"`}},
		{"ops listen as a URL", "[ops]\nlisten = \"http://127.0.0.1:9464\"\n",
			[]string{`ops.listen is "http://127.0.0.1:9464"`}},
		{"ops listen with a path", "[ops]\nlisten = \"127.0.0.1:9464/metrics\"\n",
			[]string{`ops.listen is "127.0.0.1:9464/metrics"`}},
		{"ops listen host with a space", "[ops]\nlisten = \"my host:9464\"\n",
			[]string{`ops.listen is "my host:9464"`}},
		{"featured schedule with six fields", "[gallery]\nfeatured_schedule = \"0 0 12 * * 1\"\n",
			[]string{`gallery.featured_schedule is "0 0 12 * * 1", which is not a cron schedule`, `"@weekly"`}},
		{"featured schedule in words", "[gallery]\nfeatured_schedule = \"every monday\"\n",
			[]string{`gallery.featured_schedule is "every monday"`}},
		{"syntax error", "[sandbox\ntimeout = \"5s\"\n",
			[]string{"config.toml line 2", "table name"}},
		{"duplicate key", "[log]\nlevel = \"info\"\nlevel = \"debug\"\n",
			[]string{"config.toml line 3", "level"}},
		{"table where a value belongs", "[store.path]\nx = 1\n",
			[]string{"config.toml", "store.path"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, tc.content)
			_, err := Load(path)
			checkConfigError(t, err, path, tc.want)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.toml")
	_, err := Load(path)
	checkConfigError(t, err, path, []string{"config.toml: the file does not exist"})
}

// checkConfigError asserts err is E_INVALID_CONFIG, one line, naming the
// file, with every want in its user text.
func checkConfigError(t *testing.T, err error, path string, want []string) {
	t.Helper()
	if !skyerr.Is(err, skyerr.InvalidConfig) {
		t.Fatalf("got %v, want an E_INVALID_CONFIG error", err)
	}
	text := skyerr.UserText(err)
	if !strings.HasPrefix(text, "E_INVALID_CONFIG: "+path) {
		t.Errorf("user text does not start with the code and the file %s:\n%s", path, text)
	}
	if strings.Contains(text, "\n") {
		t.Errorf("user text is more than one line:\n%s", text)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("user text lacks %q:\n%s", w, text)
		}
	}
	t.Log(text)
}

func TestValidateDefault(t *testing.T) {
	t.Parallel()
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, env string
		want      Secret
	}{
		{"unset", "", ""},
		{"plain", "abc.def.ghi", "abc.def.ghi"},
		{"surrounding space", "  abc.def.ghi\n", "abc.def.ghi"},
		{"with the Bot prefix", "Bot abc.def.ghi", "abc.def.ghi"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			c.FromEnv(func(key string) string {
				if key != TokenEnv {
					t.Errorf("FromEnv read %s", key)
				}
				return tc.env
			})
			if c.Discord.Token != tc.want {
				t.Errorf("token = %q, want %q", string(c.Discord.Token), string(tc.want))
			}
			err := c.RequireToken()
			if tc.want == "" {
				if got := skyerr.UserText(err); got != "E_INVALID_CONFIG: no bot token: set SKYBOT_TOKEN in the environment" {
					t.Errorf("RequireToken() = %q", got)
				}
			} else if err != nil {
				t.Errorf("RequireToken() = %v", err)
			}
		})
	}
}

// TestSecretNeverPrinted logs and prints the token, alone and inside the
// config, every way the code is likely to, and looks for it in the output.
func TestSecretNeverPrinted(t *testing.T) {
	t.Parallel()
	const token = "MTA5.super-secret.token"
	c := Default()
	c.FromEnv(func(string) string { return token })
	if string(c.Discord.Token) != token {
		t.Fatal("FromEnv did not set the token")
	}

	var out bytes.Buffer
	for _, h := range []slog.Handler{
		slog.NewTextHandler(&out, nil),
		slog.NewJSONHandler(&out, nil),
	} {
		log := slog.New(h)
		log.Info("starting", "token", c.Discord.Token)
		log.Info("starting", slog.Any("token", c.Discord.Token), slog.Any("config", c), slog.Any("discord", c.Discord))
		log.Info("starting", slog.Group("cfg", "discord", c.Discord, "token", c.Discord.Token))
		log.With("token", c.Discord.Token).Info("with")
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		fmt.Fprintf(&out, verb+"\n", c.Discord.Token)
		fmt.Fprintf(&out, verb+"\n", c)
		fmt.Fprintf(&out, verb+"\n", &c)
	}
	fmt.Fprintln(&out, c.Discord.Token, c)
	if err := json.NewEncoder(&out).Encode(c); err != nil {
		t.Fatal(err)
	}
	if err := toml.NewEncoder(&out).Encode(c); err != nil {
		t.Fatal(err)
	}

	if strings.Contains(out.String(), token) || strings.Contains(out.String(), "super-secret") {
		t.Errorf("the token leaked:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "REDACTED") {
		t.Errorf("REDACTED is missing from:\n%s", out.String())
	}
}

func TestDurationText(t *testing.T) {
	t.Parallel()
	var d Duration
	if err := d.UnmarshalText([]byte("1m30s")); err != nil || d.Duration != 90*time.Second {
		t.Fatalf("UnmarshalText(1m30s) = %v, %v", d, err)
	}
	if b, _ := d.MarshalText(); string(b) != "1m30s" {
		t.Errorf("MarshalText = %s", b)
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"store.paht", "store.path", 2}, {"log.levl", "log.level", 1}, {"abc", "", 3}, {"kitten", "sitting", 3},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// FuzzLoad feeds arbitrary files to the loader: it must not panic, a
// failure must be one line of E_INVALID_CONFIG naming the file, and a
// success must be a valid config without a token.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile(examplePath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse("config.toml", data)
		if err != nil {
			text := skyerr.UserText(err)
			if !skyerr.Is(err, skyerr.InvalidConfig) || !strings.HasPrefix(text, "E_INVALID_CONFIG: config.toml") || strings.Contains(text, "\n") {
				t.Fatalf("bad error: %q", text)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parse accepted a config that Validate rejects: %v", err)
		}
		if c.Discord.Token != "" {
			t.Fatal("the token came from the file")
		}
	})
}

func TestTiers(t *testing.T) {
	t.Parallel()
	c, err := Load(writeConfig(t, "[tiers.free]\nmax_installs = 3\n[tiers.gold]\ntimeout = \"8s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Tiers["premium"]; ok {
		t.Error("a file that defines tiers keeps the default premium tier too; want the file's tiers only")
	}
	gold, ok := c.TierLimits("gold")
	if !ok || gold.Timeout.Duration != 8*time.Second || gold.MaxHostCalls != 50 || gold.MemoryLimitMB != 128 || gold.MaxInstalls != 0 {
		t.Fatalf("gold = %+v, %v (unset fields take [sandbox])", gold, ok)
	}
	if free, ok := c.TierLimits("removed"); ok || free.MaxInstalls != 3 {
		t.Fatalf("an unknown tier = %+v, %v; want the free tier and false", free, ok)
	}
	for _, tc := range []struct{ file, want string }{
		{"[tiers.premium]\nmax_installs = 1\n", "tiers.free is missing"},
		{"[tiers.free]\ntimeout = \"1m\"\n", "tiers.free.timeout is 1m0s"},
		{"[tiers.free]\nmax_instals = 1\n", `unknown key "tiers.free.max_instals"`},
		{"[tiers.Free]\n[tiers.free]\n", `tier name "Free"`},
	} {
		_, err := Load(writeConfig(t, tc.file))
		if !skyerr.Is(err, skyerr.InvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.file, err, tc.want)
		}
	}
}
