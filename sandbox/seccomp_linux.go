//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The syscall filter is the kernel's half of "a worker has no network or
// filesystem use of its own". The Go half is that nothing in a worker
// opens files or sockets; the filter makes that hold even for code that
// escaped goja, by refusing, from the moment a worker starts serving:
//
//   - network: creating, connecting, binding or accepting sockets;
//   - filesystem: opening any path, and every call that takes a path
//     (stat, access, readlink, mkdir, unlink, rename, link, chmod, chown,
//     truncate, xattrs, chdir, chroot, mounts);
//   - processes: exec, fork (clone without CLONE_THREAD), ptrace, reading
//     or writing another process's memory, pidfds, namespaces, signals or
//     resource limits aimed at any process but the worker itself;
//   - the kernel: modules, kexec, reboot, swap, bpf, perf, io_uring,
//     userfaultfd, keyrings, clocks, hostname.
//
// A refused call fails with EPERM (clone3 with ENOSYS, the answer that
// makes a caller fall back to clone), so the Go runtime sees an ordinary
// error where it probes for something; a call from a foreign syscall ABI
// (x32 on amd64, or another architecture) kills the worker, which the
// supervisor reports and replaces. It is a deny list: the Go runtime needs
// a broad and version-dependent set of calls (mmap, futex, signals,
// epoll, read and write on its pipes), and refusing one of those would
// break workers on the next Go release, while the list below names what a
// worker never needs.
//
// Installing a filter needs no_new_privs on every thread of the process
// (or CAP_SYS_ADMIN). Threads inherit it, so workers are started from one
// OS thread that set it (startWorker); the worker installs the filter with
// TSYNC, for all its threads at once.

// seccomp_data offsets (linux/seccomp.h): the call number, the audit
// architecture, then six 64-bit arguments; skybot's architectures are
// little-endian, so an argument's low 32 bits come first.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16
)

// Classic BPF opcodes the filter uses.
const (
	bpfLdAbsW = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	bpfJeqK   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	bpfJgeK   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	bpfJsetK  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	bpfRetK   = unix.BPF_RET | unix.BPF_K
)

// bpf assembles a classic BPF program whose jumps name labels.
type bpf struct {
	ins    []unix.SockFilter
	labels map[string]int
	jumps  []bpfJump
}

type bpfJump struct {
	at     int
	jt, jf string // "" is the next instruction
}

func (p *bpf) load(off uint32) {
	p.ins = append(p.ins, unix.SockFilter{Code: bpfLdAbsW, K: off})
}

func (p *bpf) jump(code uint16, k uint32, jt, jf string) {
	p.jumps = append(p.jumps, bpfJump{at: len(p.ins), jt: jt, jf: jf})
	p.ins = append(p.ins, unix.SockFilter{Code: code, K: k})
}

func (p *bpf) ret(k uint32) { p.ins = append(p.ins, unix.SockFilter{Code: bpfRetK, K: k}) }

func (p *bpf) label(name string) {
	if p.labels == nil {
		p.labels = map[string]int{}
	}
	p.labels[name] = len(p.ins)
}

// assemble resolves the jumps: BPF jumps go forward only, by at most 255.
func (p *bpf) assemble() ([]unix.SockFilter, error) {
	offset := func(from int, to string) (uint8, error) {
		if to == "" {
			return 0, nil
		}
		at, ok := p.labels[to]
		d := at - from - 1
		if !ok || d < 0 || d > 255 {
			return 0, fmt.Errorf("bpf: no forward jump from %d to %q", from, to)
		}
		return uint8(d), nil
	}
	for _, j := range p.jumps {
		var err error
		if p.ins[j.at].Jt, err = offset(j.at, j.jt); err != nil {
			return nil, err
		}
		if p.ins[j.at].Jf, err = offset(j.at, j.jf); err != nil {
			return nil, err
		}
	}
	return p.ins, nil
}

// workerFilter is the filter of a worker whose pid is pid: signals and
// prlimit are allowed only towards pid itself (0 too, for prlimit: the
// calling process). Arguments of type pid_t are compared on their low 32
// bits, the bits the kernel reads.
func workerFilter(pid int) ([]unix.SockFilter, error) {
	if nativeAuditArch == 0 {
		return nil, fmt.Errorf("no syscall filter for %s", runtime.GOARCH)
	}
	var p bpf
	p.load(offArch)
	p.jump(bpfJeqK, nativeAuditArch, "", "kill")
	p.load(offNr)
	if foreignABIBit != 0 {
		p.jump(bpfJgeK, foreignABIBit, "kill", "")
	}
	for _, nr := range append(append([]uintptr{}, deniedEverywhere...), deniedHere...) {
		p.jump(bpfJeqK, uint32(nr), "deny", "")
	}
	p.jump(bpfJeqK, unix.SYS_CLONE3, "enosys", "")
	p.jump(bpfJeqK, unix.SYS_CLONE, "clone", "")
	p.jump(bpfJeqK, unix.SYS_KILL, "self", "")
	p.jump(bpfJeqK, unix.SYS_TGKILL, "self", "")
	p.jump(bpfJeqK, unix.SYS_PRLIMIT64, "selfOrZero", "")
	p.ret(unix.SECCOMP_RET_ALLOW)

	p.label("clone") // a new thread, never a new process
	p.load(offArg0)
	p.jump(bpfJsetK, unix.CLONE_THREAD, "allow", "deny")
	p.label("selfOrZero")
	p.load(offArg0)
	p.jump(bpfJeqK, 0, "allow", "")
	p.jump(bpfJeqK, uint32(pid), "allow", "deny")
	p.label("self")
	p.load(offArg0)
	p.jump(bpfJeqK, uint32(pid), "allow", "deny")

	p.label("allow")
	p.ret(unix.SECCOMP_RET_ALLOW)
	p.label("deny")
	p.ret(unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM))
	p.label("enosys")
	p.ret(unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS))
	p.label("kill")
	p.ret(unix.SECCOMP_RET_KILL_PROCESS)
	return p.assemble()
}

// installSyscallFilter applies the worker filter to every thread of this
// process. It is the last step of a worker's start: after the limits, the
// pipes and the status page, before the first program is read.
func installSyscallFilter() error {
	// What would otherwise be read from files later: the local time zone
	// (the worker runs with TZ=UTC, which Go resolves without a file) and
	// the CPU quota, which the runtime re-reads from cgroup files unless
	// GOMAXPROCS was set explicitly.
	_, _ = time.Now().Zone()
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))

	prog, err := workerFilter(os.Getpid())
	if err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	switch {
	case errno == unix.EACCES:
		return errors.New("the kernel refused the syscall filter: this worker was not started with no_new_privs")
	case errno != 0:
		return fmt.Errorf("the kernel refused the syscall filter: %w", errno)
	case r != 0:
		// With TSYNC, a positive result is the id of a thread the filter
		// could not be applied to; none of them has it then.
		return fmt.Errorf("the syscall filter could not be applied to thread %d", r)
	}
	return nil
}

// startWorker starts cmd from one dedicated OS thread, for two reasons:
// the thread has no_new_privs set, which the child inherits and needs to
// install its filter, and the thread never exits, which Pdeathsig needs:
// the kernel signals the child when the thread that forked it exits, and
// Go ends an OS thread whenever a goroutine locked to it returns, so a
// worker forked from an ordinary goroutine's thread could be killed at a
// random moment.
func startWorker(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		ready := make(chan struct{})
		go spawnLoop(ready)
		<-ready
	})
	if spawner.err != nil {
		return spawner.err
	}
	done := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd, done}
	return <-done
}

var spawner struct {
	once sync.Once
	reqs chan spawnRequest
	err  error // set before ready closes, never after
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

func spawnLoop(ready chan struct{}) {
	runtime.LockOSThread() // for good: this thread is the workers' parent
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		spawner.err = fmt.Errorf("set no_new_privs on the worker-starting thread: %w", err)
		close(ready)
		return // the thread ends with this goroutine, having started no one
	}
	close(ready)
	for r := range spawner.reqs {
		r.done <- r.cmd.Start()
	}
}
