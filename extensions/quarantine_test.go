package extensions

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// crasherExt stays in native code past its 100 ms deadline on every run,
// so its worker is killed: indexOf over an array-like whose length getter
// tells the hardening 0 and the builtin 2³²-1.
const crasherExt = `// ==SkyExtension==
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

// newWorkerFixture is newFixture with real sandbox worker processes (this
// test binary re-executed, see TestMain).
func newWorkerFixture(t *testing.T, sopts sandbox.Options, opts Options) *fixture {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("sandbox worker processes need Linux")
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "skybot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acts := &channelActions{}
	sup, err := sandbox.NewWorkerSupervisor(acts, nil, sopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sup.Close)
	m := NewManager(st, sup, opts)
	return &fixture{store: st, acts: acts, sup: sup, m: m, d: NewDispatcher(m, nil)}
}

// A published version whose runs end their worker is quarantined after
// QuarantineAfter such runs in any guilds: suspended in every guild that
// has it, refused for enable and install, and it runs nowhere, until the
// operator lifts it. Real worker processes, real SQLite.
func TestVersionThatEndsWorkersIsQuarantinedEverywhere(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var events []LifecycleEvent
	f := newWorkerFixture(t, sandbox.Options{Workers: 1, KillGrace: 200 * time.Millisecond}, Options{QuarantineAfter: 2, SuspendAfter: 10, OnLifecycle: func(e LifecycleEvent) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}})
	st, sup, m := f.store, f.sup, f.m
	gf := &galleryFixture{fixture: f, g: NewGallery(st, sup, GalleryOptions{Maintainers: []store.UserID{"m1"}})}
	sub := gf.publish(t, "alice", crasherExt)
	guilds := []string{"g1", "g2", "g3"}
	for _, g := range guilds {
		if _, err := gf.installFromGallery(t, store.GuildID(g), "crasher", "1.0.0"); err != nil {
			t.Fatalf("install in %s: %v", g, err)
		}
	}

	gf.say(t, "g1", "!crash")
	if _, err := st.QuarantineOf(ctx, sub.Version.ID); err == nil {
		t.Fatal("quarantined after one run that ended its worker; the limit is two")
	}
	gf.say(t, "g2", "!crash")
	if st := sup.Stats(); st.ByKind[sandbox.FailTimeout] != 2 {
		t.Fatalf("stats %+v; want two runs killed in native code", st)
	}
	q, err := st.QuarantineOf(ctx, sub.Version.ID)
	if err != nil {
		t.Fatalf("not quarantined after two runs that ended their workers: %v", err)
	}
	if !strings.Contains(q.Reason, "ended sandbox workers 2 times") || !strings.Contains(q.Reason, "native code") {
		t.Errorf("reason = %q", q.Reason)
	}
	for _, g := range guilds {
		in, err := st.InstallByName(ctx, store.GuildID(g), "crasher")
		if err != nil || in.Enabled {
			t.Errorf("%s: install %+v, %v; want it suspended", g, in, err)
		}
		logs, err := st.Logs(ctx, store.GuildID(g), in.ExtensionID, 10)
		if err != nil || !logsContain(logs, "quarantined by skybot in every server") {
			t.Errorf("%s: the extension's log does not tell the quarantine: %+v %v", g, logs, err)
		}
	}
	mu.Lock()
	told := map[store.GuildID]bool{}
	for _, e := range events {
		if e.Kind == EventQuarantined {
			told[e.Guild] = true
		}
	}
	mu.Unlock()
	if len(told) != len(guilds) {
		t.Errorf("quarantine events reached %v; want every guild that has it", told)
	}

	// Nothing brings it back but the operator.
	_, err = m.SetEnabled(ctx, "g3", "admin", "crasher", true)
	wantCode(t, "enable", err, skyerr.InvalidState)
	if !strings.Contains(err.Error(), "quarantined in every server") {
		t.Errorf("enable refused with %q", err)
	}
	_, err = gf.installFromGallery(t, "g4", "crasher", "1.0.0")
	wantCode(t, "install elsewhere", err, skyerr.InvalidState)
	// Even an install that got back on (here, written to the store behind
	// skybot's back) does not run; its runs fail, with the reason.
	in3, err := st.InstallByName(ctx, "g3", "crasher")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetInstallEnabled(ctx, "g3", in3.ExtensionID, true, "admin"); err != nil {
		t.Fatal(err)
	}
	m.invalidate("g3")
	gf.say(t, "g3", "!crash")
	if got := sup.Stats().Invocations; got != 2 {
		t.Errorf("%d runs after the quarantine; want the two before it only", got)
	}
	if logs, err := st.Logs(ctx, "g3", in3.ExtensionID, 10); err != nil || !logsContain(logs, "crasher 1.0.0 is quarantined in every server") {
		t.Errorf("g3's run did not fail with the quarantine: %+v %v", logs, err)
	}
	if err := st.SetInstallEnabled(ctx, "g3", in3.ExtensionID, false, "admin"); err != nil {
		t.Fatal(err)
	}

	// A fixed version is not quarantined: a guild updates to it.
	fixed := strings.Replace(strings.Replace(crasherExt, "1.0.0", "1.1.0", 1),
		"let n = 0;\nArray.prototype.indexOf.call({ get length() { return n++ ? 2 ** 32 - 1 : 0; } }, 1);\n", "", 1)
	gf.publish(t, "alice", fixed)
	p, err := m.PlanUpdatePublished(ctx, "g1", "admin", "crasher", "", gf.g)
	if err != nil {
		t.Fatalf("plan the update to the fixed version: %v", err)
	}
	if _, err := m.Apply(ctx, "g1", "admin", p.ID); err != nil {
		t.Fatalf("update to the fixed version: %v", err)
	}

	if err := st.LiftQuarantine(ctx, sub.Version.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetEnabled(ctx, "g3", "admin", "crasher", true); err != nil {
		t.Errorf("enable after the lift: %v", err)
	}
}

func logsContain(logs []store.LogEntry, sub string) bool {
	for _, l := range logs {
		if strings.Contains(l.Message, sub) {
			return true
		}
	}
	return false
}

// Only what a run did to its worker counts toward the quarantine: a worker
// that died of something else while it ran (killed from outside, stopped
// answering) blames the run but must not stop a popular version
// everywhere.
func TestOnlyWorkersEndedByTheRunCount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f    sandbox.Failure
		want bool
	}{
		{sandbox.Failure{Kind: sandbox.FailTimeout, EndedWorker: true}, true},
		{sandbox.Failure{Kind: sandbox.FailStack, EndedWorker: true}, true},
		{sandbox.Failure{Kind: sandbox.FailMemory, EndedWorker: true}, true},
		{sandbox.Failure{Kind: sandbox.FailCrash, EndedWorker: true}, false},
		{sandbox.Failure{Kind: sandbox.FailTimeout}, false},
		{sandbox.Failure{Kind: sandbox.FailWorker}, false},
	} {
		if got := endedWorkerByItself(&tc.f); got != tc.want {
			t.Errorf("%+v counts: %v, want %v", tc.f, got, tc.want)
		}
	}
}

// workerPIDs are this test binary's sandbox worker processes.
func workerPIDs(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) && strings.Contains(string(cmdline), sandbox.WorkerArg) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Runs whose worker is killed from outside while they execute are blamed
// and counted for suspension, but never quarantine the version.
func TestWorkersKilledFromOutsideDoNotQuarantine(t *testing.T) {
	ctx := context.Background()
	f := newWorkerFixture(t, sandbox.Options{Workers: 1}, Options{QuarantineAfter: 2, SuspendAfter: 10})
	st, sup, acts := f.store, f.sup, f.acts
	// It says so, then spins in JS well within its deadline.
	busy := strings.Replace(strings.Replace(crasherExt, "// @timeout      100\n", "", 1),
		"let n = 0;\nArray.prototype.indexOf.call({ get length() { return n++ ? 2 ** 32 - 1 : 0; } }, 1);\nawait message.reply('unreachable');\n",
		"await message.reply('spinning');\nconst end = Date.now() + 3000;\nwhile (Date.now() < end) {}\n", 1)
	if _, err := f.install(t, "g1", "busy.skyext", busy); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.say(t, "g1", "!crash")
		}()
		for deadline := time.Now().Add(30 * time.Second); len(acts.all()) <= i; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the run never started", i)
			}
		}
		pids := workerPIDs(t)
		if len(pids) != 1 {
			t.Fatalf("round %d: worker processes %v, want one", i, pids)
		}
		if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
	}
	if st := sup.Stats(); st.ByKind[sandbox.FailCrash] != 3 {
		t.Fatalf("stats %+v; want three runs whose worker died under them", st)
	}
	in, err := st.InstallByName(ctx, "g1", "crasher")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.QuarantineOf(ctx, in.VersionID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("quarantined by workers killed from outside: %v", err)
	}
	if !in.Enabled {
		t.Errorf("suspended after 3 failures; suspend_after is 10")
	}
}
