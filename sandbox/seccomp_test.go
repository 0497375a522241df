//go:build linux && (amd64 || arm64)

package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// probeEnv makes the test binary run syscallProbes instead of the tests
// (see TestMain): "filtered" installs the worker filter first, "open" does
// not.
const probeEnv = "SKYBOT_SYSCALL_PROBE"

// The probe child is this test binary too; it is told apart by its
// environment before TestMain runs (which stays free of Linux-only names).
func init() {
	if os.Getenv(probeEnv) != "" {
		os.Exit(syscallProbes())
	}
}

// syscallProbes tries what a worker must never do, and what it must still
// be able to do, printing one "name outcome" line each: "ok", "refused"
// (EPERM or ENOSYS), or "error: ...".
func syscallProbes() int {
	if os.Getenv(probeEnv) == "filtered" {
		if err := installSyscallFilter(); err != nil {
			fmt.Println("install error:", err)
			return 1
		}
	}
	file, dir, addr := os.Getenv("PROBE_FILE"), os.Getenv("PROBE_DIR"), os.Getenv("PROBE_ADDR")
	ppid := os.Getppid()
	probes := []struct {
		name string
		run  func() error
	}{
		{"open", func() error { return closeIf(os.Open(file)) }},
		{"create", func() error { return os.WriteFile(filepath.Join(dir, "new"), []byte("x"), 0o600) }},
		{"stat", func() error { _, err := os.Stat(file); return err }},
		{"readdir", func() error { _, err := os.ReadDir(dir); return err }},
		{"remove", func() error { return os.Remove(file) }},
		{"listen", func() error { return closeIf(net.Listen("tcp", "127.0.0.1:0")) }},
		{"dial", func() error { return closeIf(net.Dial("tcp", addr)) }},
		{"exec", func() error {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = []string{}
			return cmd.Run()
		}},
		{"signal-parent", func() error { return syscall.Kill(ppid, 0) }},
		{"tgkill-parent", func() error { return unix.Tgkill(ppid, ppid, 0) }},
		{"prlimit-parent", func() error {
			var lim unix.Rlimit
			return unix.Prlimit(ppid, unix.RLIMIT_NOFILE, nil, &lim)
		}},
		// What a worker does all the time.
		{"signal-self", func() error { return syscall.Kill(os.Getpid(), 0) }},
		{"prlimit-self", func() error {
			var lim unix.Rlimit
			return unix.Prlimit(0, unix.RLIMIT_NOFILE, nil, &lim)
		}},
		{"threads", func() error {
			// Goroutines locked to threads that block force new OS
			// threads: clone with CLONE_THREAD.
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					runtime.LockOSThread()
					var ts unix.Timespec
					ts.Nsec = 1e6
					_ = unix.Nanosleep(&ts, nil)
				}()
			}
			wg.Wait()
			return nil
		}},
		{"memory", func() error {
			b := make([]byte, 64<<20)
			for i := range b {
				b[i] = byte(i)
			}
			runtime.GC()
			if b[len(b)-1] != byte(len(b)-1) {
				return errors.New("lost")
			}
			return nil
		}},
		{"pipe", func() error {
			var p [2]int
			if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
				return err
			}
			defer unix.Close(p[0])
			defer unix.Close(p[1])
			if _, err := unix.Write(p[1], []byte("x")); err != nil {
				return err
			}
			_, err := unix.Read(p[0], make([]byte, 1))
			return err
		}},
	}
	for _, p := range probes {
		err := p.run()
		switch {
		case err == nil:
			fmt.Println(p.name, "ok")
		case errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS):
			fmt.Println(p.name, "refused")
		default:
			fmt.Println(p.name, "error:", err)
		}
	}
	return 0
}

// closeIf closes what a probe opened, if it did.
func closeIf[C io.Closer](c C, err error) error {
	if err == nil {
		c.Close()
	}
	return err
}

// runProbes runs syscallProbes in a child started the way workers are.
func runProbes(t *testing.T, mode string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("token"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{probeEnv + "=" + mode, "PROBE_FILE=" + file, "PROBE_DIR=" + dir, "PROBE_ADDR=" + l.Addr().String()}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := startWorker(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("probe child: %v\n%s", err, out.String())
	}
	got := map[string]string{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		name, outcome, _ := strings.Cut(sc.Text(), " ")
		got[name] = outcome
	}
	return got
}

func TestSyscallFilterRefusesWhatAWorkerNeverDoes(t *testing.T) {
	refused := []string{"open", "create", "stat", "readdir", "remove", "listen", "dial", "exec",
		"signal-parent", "tgkill-parent", "prlimit-parent"}
	allowed := []string{"signal-self", "prlimit-self", "threads", "memory", "pipe"}

	// Without the filter every probe works, so a "refused" below is the
	// filter's doing and not the machine's.
	open := runProbes(t, "open")
	for _, name := range append(append([]string{}, refused...), allowed...) {
		if open[name] != "ok" {
			t.Errorf("unfiltered %s: %q, want ok", name, open[name])
		}
	}
	filtered := runProbes(t, "filtered")
	for _, name := range refused {
		if filtered[name] != "refused" {
			t.Errorf("filtered %s: %q, want refused", name, filtered[name])
		}
	}
	for _, name := range allowed {
		if filtered[name] != "ok" {
			t.Errorf("filtered %s: %q, want ok", name, filtered[name])
		}
	}
}

// procStatus reads a field of /proc/pid/status.
func procStatus(t *testing.T, pid int, field string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return ""
}

func TestWorkersServeUnderTheSyscallFilter(t *testing.T) {
	p := mustCompile(t, "pong", pongCode)
	for _, tc := range []struct {
		name    string
		opts    Options
		seccomp string // 2: a filter is installed; 0: none
	}{
		{"default", Options{Workers: 1}, "2"},
		{"NoSyscallFilter", Options{Workers: 1, NoSyscallFilter: true}, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newWorkerSupervisor(t, &recordingActions{}, tc.opts)
			pong(t, s, p, "g1", "hi")
			pid := workerPid(t, s, 0)
			if got := procStatus(t, pid, "Seccomp"); got != tc.seccomp {
				t.Errorf("worker Seccomp = %s, want %s", got, tc.seccomp)
			}
			if got := procStatus(t, pid, "NoNewPrivs"); got != "1" {
				t.Errorf("worker NoNewPrivs = %s, want 1", got)
			}
		})
	}
}

// nsOf is the namespace of kind ns that process pid is in.
func nsOf(t *testing.T, pid, ns string) string {
	t.Helper()
	link, err := os.Readlink(filepath.Join("/proc", pid, "ns", ns))
	if err != nil {
		t.Fatal(err)
	}
	return link
}

func TestWorkersRunInNamespacesOfTheirOwn(t *testing.T) {
	p := mustCompile(t, "pong", pongCode)
	kinds := []string{"user", "net", "pid", "ipc", "uts", "mnt"}
	for _, tc := range []struct {
		name string
		opts Options
		own  bool
	}{
		{"default", Options{Workers: 1}, true},
		{"NoNamespaces", Options{Workers: 1, NoNamespaces: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newWorkerSupervisor(t, &recordingActions{}, tc.opts)
			if tc.own && !s.be.(*pool).unshared.Load() {
				t.Skip("this system refuses new namespaces (the pool fell back, as it logs)")
			}
			pong(t, s, p, "g1", "hi")
			pid := strconv.Itoa(workerPid(t, s, 0))
			for _, ns := range kinds {
				if own := nsOf(t, pid, ns) != nsOf(t, "self", ns); own != tc.own {
					t.Errorf("worker has its own %s namespace: %v, want %v", ns, own, tc.own)
				}
			}
			if tc.own {
				if got := procStatus(t, workerPid(t, s, 0), "NSpid"); !strings.HasSuffix(got, "\t1") {
					t.Errorf("worker NSpid = %q, want it to be pid 1 in its namespace", got)
				}
			}
			// What the worker sees at "/": nothing at all in its own
			// mount namespace, the host's tree without one.
			root, err := os.ReadDir(filepath.Join("/proc", pid, "root"))
			if err != nil {
				t.Fatal(err)
			}
			if empty := len(root) == 0; empty != tc.own {
				t.Errorf("worker root has %d entries, want empty: %v", len(root), tc.own)
			}
		})
	}
}

func TestBPFJumpsStayInRange(t *testing.T) {
	var p bpf
	p.jump(bpfJeqK, 1, "far", "")
	for range 256 {
		p.ret(unix.SECCOMP_RET_ALLOW)
	}
	p.label("far")
	p.ret(unix.SECCOMP_RET_ALLOW)
	if _, err := p.assemble(); err == nil {
		t.Error("a jump over 256 instructions assembled")
	}
	if _, err := workerFilter(1234); err != nil {
		t.Fatalf("the worker filter does not assemble: %v", err)
	}
}

// A worker that exits with exitNoFilter (what WorkerMain does when the
// kernel refuses the filter) makes the pool fail with ErrSyscallFilter,
// which skybot turns into advice about [sandbox] syscall_filter. The
// stand-in worker is a script: this kernel accepts the filter.
func TestRefusedFilterIsReportedAsSuch(t *testing.T) {
	script := filepath.Join(t.TempDir(), "worker")
	body := fmt.Sprintf("#!/bin/sh\necho 'sandbox worker: the kernel refused the syscall filter: operation not permitted' >&2\nexit %d\n", exitNoFilter)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := NewWorkerSupervisor(&recordingActions{}, nil, Options{Workers: 1, WorkerBinary: script})
	if !errors.Is(err, ErrSyscallFilter) {
		t.Fatalf("err = %v, want ErrSyscallFilter", err)
	}
	if !strings.Contains(err.Error(), "operation not permitted") {
		t.Errorf("err = %v, want the worker's own words", err)
	}
}

// A worker that cannot leave the host's file tree (exitNoRoot, as when a
// kernel or container policy refuses its mounts) makes the pool say so
// once and start it again without an empty root, still in its other
// namespaces. The stand-in fails like that once, then is the real worker.
func TestWorkersStartWithoutAnEmptyRootWhereRefused(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "worker")
	body := fmt.Sprintf("#!/bin/sh\nif [ ! -e %[1]s/refused ]; then : > %[1]s/refused; echo 'sandbox worker: make mounts private: operation not permitted' >&2; exit %[2]d; fi\nexec %[3]s \"$@\"\n",
		dir, exitNoRoot, exe)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	var logged syncBuffer
	s, err := NewWorkerSupervisor(&recordingActions{}, slog.New(slog.NewTextHandler(&logged, nil)),
		Options{Workers: 1, WorkerBinary: script})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if !s.be.(*pool).unshared.Load() {
		t.Skip("this system refuses new namespaces (the pool fell back, as it logs)")
	}
	pong(t, s, mustCompile(t, "pong", pongCode), "g1", "hi")
	pid := strconv.Itoa(workerPid(t, s, 0))
	if nsOf(t, pid, "user") == nsOf(t, "self", "user") {
		t.Error("the worker lost its own user namespace along with its empty root")
	}
	if root, err := os.ReadDir(filepath.Join("/proc", pid, "root")); err != nil || len(root) == 0 {
		t.Errorf("worker root: %d entries, %v; want the host's tree", len(root), err)
	}
	if !strings.Contains(logged.String(), "without an empty root") || !strings.Contains(logged.String(), "operation not permitted") {
		t.Errorf("log = %q, want the warning with the worker's own words", logged.String())
	}
}

// syncBuffer is a log destination that the pool's goroutines may write to
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
