package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crasher stays in native code past its 100 ms deadline on every run, so
// its worker is killed after the grace: indexOf over an array-like whose
// length getter tells the hardening 0 and the builtin 2³²-1.
const crasher = `// ==SkyExtension==
// @name         crasher
// @version      1.0.0
// @description  Ends its sandbox worker
// @engine       ^1.0
// @type         command
// @key          crash
// @scopes       messages_write
// @timeout      100
// ==/SkyExtension==
const message = require('message');
let n = 0;
Array.prototype.indexOf.call({ get length() { return n++ ? 2 ** 32 - 1 : 0; } }, 1);
await message.reply('unreachable');
`

// Through Discord: a version that ends its worker three times is
// quarantined, the log channel says so, /ext enable is refused with the
// reason, and the operator's skybot quarantine lift (on the database the
// bot is running on) lets the admin enable it again.
func TestQuarantineReachesTheGuildAndTheOperatorLiftsIt(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	logs := e.setLogChannel()
	if answer := e.install([]byte(crasher)); !strings.Contains(answer, "Installed **crasher** 1.0.0") {
		t.Fatalf("install = %q", answer)
	}
	for range 3 { // [sandbox] quarantine_after
		e.say(e.member, "!crash")
	}
	e.waitChannel(logs.ID, "⛔ Quarantined **crasher** 1.0.0 in every server: its runs ended sandbox workers 3 times within 10m0s; the last: timeout: the run was still busy in native code")
	answer, _ := e.ext(e.admin, "enable", nameOpt("crasher"))
	if !strings.HasPrefix(answer, "E_INVALID_STATE: crasher 1.0.0 is quarantined in every server: its runs ended sandbox workers 3 times") {
		t.Fatalf("enable while quarantined = %q", answer)
	}

	cfgPath := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(cfgPath, []byte("[store]\npath = \""+e.cfg.Store.Path+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if err := quarantineCmd(context.Background(), []string{"--config", cfgPath}, &out, &errs); err != nil || !strings.HasPrefix(out.String(), "crasher 1.0.0, quarantined ") {
		t.Fatalf("skybot quarantine: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := quarantineCmd(context.Background(), []string{"--config", cfgPath, "lift", "crasher", "1.0.0"}, &out, &errs); err != nil {
		t.Fatalf("skybot quarantine lift: %v (%s)", err, errs.String())
	}
	if answer, _ := e.ext(e.admin, "enable", nameOpt("crasher")); answer != "Enabled **crasher** 1.0.0." {
		t.Fatalf("enable after the lift = %q", answer)
	}
}

// recurser overflows its worker's native stack through a chain of
// proxies: no limit reaches it, and the dead worker takes the run's line
// with it.
const recurser = `// ==SkyExtension==
// @name         recurser
// @version      1.0.0
// @description  Recurses natively through proxies
// @engine       ^1.0
// @type         command
// @key          recurse
// @scopes       messages_write
// ==/SkyExtension==
let h = {};
for (let i = 0; i < 200000; i++) h = new Proxy({}, h);
const deep = new Proxy({}, h);
await require('message').reply(String(deep.x));
`

// Through Discord: the admin's /ext logs names the statement of a run
// that ended its worker where its own stack could not be read (found by
// the sandbox's traced rerun).
func TestWorkerEndingRunNamesItsStatement(t *testing.T) {
	t.Parallel()
	e := newGuild(t, nil)
	if answer := e.install([]byte(recurser)); !strings.Contains(answer, "Installed **recurser** 1.0.0") {
		t.Fatalf("install = %q", answer)
	}
	if replies := e.say(e.member, "!recurse"); len(replies) != 0 {
		t.Fatalf("the recursing run replied: %v", contents(replies))
	}
	var logs string
	for range 100 {
		if logs, _ = e.ext(e.admin, "logs", nameOpt("recurser")); strings.Contains(logs, "(at recurser.skyext:13:1)") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(logs, "native recursion") || !strings.Contains(logs, "(at recurser.skyext:13:1)") {
		t.Fatalf("/ext logs does not name the statement:\n%s", logs)
	}
}
