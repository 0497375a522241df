package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skyext/skybot/sandbox"
)

// TestMain lets this test binary serve as a sandbox worker process: the
// app under test re-executes its own binary, as skybot does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == sandbox.WorkerArg {
		os.Exit(sandbox.WorkerMain())
	}
	os.Exit(m.Run())
}

func TestRunRefusesBadStarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte("[store]\npath = \""+filepath.Join(dir, "x.db")+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	typo := filepath.Join(dir, "typo.toml")
	if err := os.WriteFile(typo, []byte("[store]\npaht = \"x.db\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sysdir := filepath.Join(dir, "sys.toml")
	if err := os.WriteFile(sysdir, []byte("[store]\npath = \""+filepath.Join(dir, "y.db")+"\"\n[extensions]\nsystem_dir = \""+filepath.Join(dir, "nope")+"\"\n[ops]\nlisten = \"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	withToken := func(k string) string {
		if k == "SKYBOT_TOKEN" {
			return "test-token"
		}
		return ""
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing token", []string{"run", "--config", good}, "E_INVALID_CONFIG"},
		{"unknown config key", []string{"run", "--config", typo}, `unknown key "store.paht"`},
		{"missing config file", []string{"run", "--config", filepath.Join(dir, "nope.toml")}, "E_INVALID_CONFIG"},
		{"unknown command", []string{"serve"}, `unknown command "serve"`},
		{"missing system_dir", []string{"run", "--config", sysdir}, "E_INVALID_PATH: Cannot read the system extensions directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			getenv := noEnv
			if tc.name == "missing system_dir" {
				getenv = withToken // gets past the token check to assemble
			}
			code := realMain(tc.args, &stdout, &stderr, getenv)
			if code == 0 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want failure mentioning %q", code, stderr.String(), tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); !os.IsNotExist(err) {
		t.Fatalf("a refused start created the database (stat err %v)", err)
	}
}

// TestDemoTranscript runs the newcomer's first command and checks the
// transcript tells the whole story.
func TestDemoTranscript(t *testing.T) {
	t.Parallel()
	var out, errs bytes.Buffer
	if err := demoCmd(context.Background(), []string{"--data", t.TempDir()}, &out, &errs); err != nil {
		t.Fatalf("demo: %v\n%s", err, errs.String())
	}
	transcript := out.String()
	for _, want := range []string{
		"ada runs /ext install file:hello.skyext",
		"Installed **hello** 1.0.0",
		"max: !hello\n",
		"message.reply [scope messages_write] ok",
		"skybot → max: Hello, max! 👋",
		"skybot → max: Hello, world! 👋",
		"E_FORBIDDEN: You need the Manage Server permission",
		"• **hello** 1.0.0 — enabled, scopes messages_write",
		"Uninstalled **hello** 1.0.0",
		"(no extension answers)",
		"Installed **welcome** 1.0.0",
		"nia joins the server\n  · sandbox: welcome@1.0.0 ran as a guildMemberAdd (ok) — storage.increment [scope storage] ok",
		"skybot (only ada sees this): 1 member(s) joined since I was installed.",
		"skybot → max: Say hello to <@",
	} {
		if !strings.Contains(transcript, want) {
			t.Errorf("transcript lacks %q:\n%s", want, transcript)
		}
	}
}
