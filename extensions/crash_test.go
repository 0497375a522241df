package extensions

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// crashChildEnv selects the child role of TestCrashMidLifecycleLeavesGuildConsistent.
const crashChildEnv = "SKYBOT_CRASH_CHILD_DB"

// TestMain lets this test binary act as the child that gets killed, and
// as a sandbox worker (the pool re-executes it, as skybot's main does).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == sandbox.WorkerArg {
		os.Exit(sandbox.WorkerMain())
	}
	if path := os.Getenv(crashChildEnv); path != "" {
		os.Exit(crashChild(path))
	}
	os.Exit(m.Run())
}

// crashChild installs, updates, rolls back and uninstalls forever, until
// the parent kills it.
func crashChild(path string) int {
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		return 1
	}
	sup := sandbox.NewSupervisor(&channelActions{}, nil)
	m := NewManager(st, sup, Options{})
	guild := store.GuildID("g1")
	next := 1 // the next minor version: one past the highest stored
	if vs, err := st.Versions(ctx, 1); err == nil {
		for _, v := range vs {
			var minor int
			if _, err := fmt.Sscanf(v.Version, "1.%d.0", &minor); err == nil && minor >= next {
				next = minor + 1
			}
		}
	}
	for i := 0; ; i++ {
		src := helloV(fmt.Sprintf("1.%d.0", next), "messages_write", fmt.Sprintf("v%d", next))
		up := Upload{Filename: "hello.skyext", Size: int64(len(src))}
		in, err := st.InstallByName(ctx, guild, "hello")
		switch {
		case err != nil: // not installed
			p, err := m.PlanInstall(ctx, guild, "admin", up, bytesFetch(src))
			if err == nil {
				_, err = m.Apply(ctx, guild, "admin", p.ID)
			}
			next++
			report(err)
		case i%4 == 1:
			p, err := m.PlanRollback(ctx, guild, "admin", "hello", "")
			if err == nil {
				_, err = m.Apply(ctx, guild, "admin", p.ID)
			}
			report(err)
		case i%7 == 3:
			_, err := m.Uninstall(ctx, guild, "admin", in.Name, i%2 == 0)
			report(err)
		default:
			p, err := m.PlanUpdate(ctx, guild, "admin", "hello", up, bytesFetch(src))
			if err == nil {
				_, err = m.Apply(ctx, guild, "admin", p.ID)
			}
			next++
			report(err)
		}
		_ = st.StorageSet(ctx, guild, in.ExtensionID, fmt.Sprintf("k%d", i%10), fmt.Sprint(i), 0)
		m.rate.mu.Lock() // the child hammers far past 5 a minute on purpose
		m.rate.attempts = nil
		m.rate.mu.Unlock()
		fmt.Println("op", i) // the parent kills only once work is under way
	}
}

func report(err error) {
	if err != nil && !strings.Contains(err.Error(), "E_INVALID_STATE") && !strings.Contains(err.Error(), "E_NOT_FOUND") {
		fmt.Fprintln(os.Stderr, "child:", err)
	}
}

func TestCrashMidLifecycleLeavesGuildConsistent(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes")
	}
	path := filepath.Join(t.TempDir(), "skybot.db")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	progress := 0
	for round := range 6 {
		cmd := exec.Command(self, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until the child finished an operation (however loaded the
		// machine), then let it get mid-way somewhere in the next ones.
		started := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stdout)
			if sc.Scan() {
				close(started)
			}
			for sc.Scan() {
			}
		}()
		select {
		case <-started:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			t.Fatalf("round %d: the child finished no operation in a minute:\n%s", round, stderr.String())
		}
		time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			t.Fatalf("round %d: the child reported errors before the kill:\n%s", round, msg)
		}
		progress = checkConsistent(t, path, round, progress)
	}
}

// checkConsistent reopens the database after a kill and checks that every
// install is whole: it points at an existing version of its extension
// whose code matches its digest, and its history ends where it stands.
func checkConsistent(t *testing.T, path string, round, before int) (historyRows int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("round %d: reopen after kill: %v", round, err)
	}
	defer st.Close()
	ins, err := st.Installs(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	// Prove the child got somewhere before it was killed.
	if hist, err := st.History(ctx, "g1", 1); err != nil || len(hist) <= before {
		t.Fatalf("round %d: history has %d rows (had %d): the child did no work before the kill (%v)", round, len(hist), before, err)
	} else {
		historyRows = len(hist)
	}
	for _, in := range ins {
		ver, err := st.Version(ctx, in.VersionID)
		if err != nil || ver.ExtensionID != in.ExtensionID {
			t.Fatalf("round %d: install points at version %d: %+v, %v", round, in.VersionID, ver, err)
		}
		if sha256Hex(ver.Code) != ver.SHA256 {
			t.Fatalf("round %d: version %s code does not match its digest", round, ver.Version)
		}
		hist, err := st.History(ctx, "g1", in.ExtensionID)
		if err != nil || len(hist) == 0 {
			t.Fatalf("round %d: no history for an install: %v", round, err)
		}
		if last := hist[len(hist)-1]; last.ToVersionID != in.VersionID && last.Action != store.ActionEnable && last.Action != store.ActionDisable {
			t.Fatalf("round %d: history ends at version %d (%s) but the install is at %d", round, last.ToVersionID, last.Action, in.VersionID)
		}
	}
	// The manager starts cleanly on what is left and can run it.
	f := &fixture{store: st, acts: &channelActions{}}
	f.sup = sandbox.NewSupervisor(f.acts, nil)
	defer f.sup.Close()
	f.m = NewManager(st, f.sup, Options{})
	f.d = NewDispatcher(f.m, nil)
	f.say(t, "g1", "!hello")
	if len(ins) == 1 && len(f.acts.all()) != 1 {
		t.Fatalf("round %d: the surviving install did not answer", round)
	}
	t.Logf("round %d: %d history rows, %d installs after the kill", round, historyRows, len(ins))
	return historyRows
}
