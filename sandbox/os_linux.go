package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Worker processes need Linux: RLIMIT_DATA, Pdeathsig, a shared mapping.

const workersSupported = true

// newPage creates the status page: an unlinked file the child inherits as
// fd 3, mapped shared in both processes.
func newPage() (*statusPage, *os.File, error) {
	f, err := os.CreateTemp("", "skybot-sandbox-")
	if err != nil {
		return nil, nil, err
	}
	_ = os.Remove(f.Name())
	if err := f.Truncate(pageSize); err != nil {
		f.Close()
		return nil, nil, err
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, pageSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("map status page: %w", err)
	}
	return &statusPage{mem: mem}, f, nil
}

func (p *statusPage) unmap() { _ = syscall.Munmap(p.mem) }

// workerPageFD is where the child finds the page (ExtraFiles[0]).
const workerPageFD = 3

func openWorkerPage() (*statusPage, error) {
	mem, err := syscall.Mmap(workerPageFD, 0, pageSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map status page: %w", err)
	}
	_ = syscall.Close(workerPageFD)
	return &statusPage{mem: mem}, nil
}

// configureCommand makes the child die with its parent and start in a
// process group of its own (a signal to the bot's group does not reach it
// twice), and, with namespaces, in workerNamespaces.
func configureCommand(cmd *exec.Cmd, namespaces bool) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if namespaces {
		cmd.SysProcAttr.Cloneflags = workerNamespaces
		// The worker is root in its user namespace, as the bot's own ids,
		// so that it keeps the capabilities over its own mount namespace
		// through exec that enterEmptyRoot needs. They reach nothing the
		// namespace does not own, and no more than an unprivileged process
		// gets from unshare(2), which the filter then refuses along with
		// mount, pivot_root and every other call they would serve.
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
}

// workerNamespaces are new, empty namespaces for a worker, under its
// seccomp filter as a second wall: a user namespace, so that even a bot
// run as root has workers with no capability over anything outside it;
// a network namespace
// with no interface but a loopback that is down; its own process ids
// (the worker is pid 1 and sees no other process), IPC and hostname; and
// its own mounts, where enterEmptyRoot leaves it nothing of the host's.
const workerNamespaces = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWPID |
	syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS | syscall.CLONE_NEWNS

// enterEmptyRoot runs in a worker started in workerNamespaces, before its
// syscall filter (which refuses every call used here): it makes the root
// of the worker's mount namespace an empty, read-only tmpfs and detaches
// the host's tree, so that no path the worker could name, were the filter
// ever to let one through, leads to a host file. Its pipes and status page
// are descriptors it already holds; the Go runtime needs no file after
// start (the time zone is resolved before, see installSyscallFilter).
//
// The mounts are made private first so that nothing done here reaches the
// host's namespace. pivot_root(".", ".") stacks the old root over the new
// one, and the lazy unmount then drops the whole old tree at once; both
// are allowed in a user namespace because it owns this mount namespace.
func enterEmptyRoot() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	// Any directory will do as the mount point; /tmp is nearly always
	// there, and /proc always is where workers run at all.
	var dir string
	var err error
	for _, dir = range []string{"/tmp", "/proc"} {
		err = unix.Mount("skybot-worker", dir, "tmpfs",
			unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,nr_inodes=1,mode=0500")
		if err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("mount an empty root: %w", err)
	}
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("enter the empty root: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the host's tree: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("enter the empty root: %w", err)
	}
	return nil
}

// namespacesRefused reports whether starting a worker failed because the
// system does not let this process create namespaces (user namespaces
// turned off, a container policy, a namespace limit reached).
func namespacesRefused(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) ||
		errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EUSERS) || errors.Is(err, syscall.EACCES)
}

// applyWorkerLimits runs first in a worker, before it reads any program.
// The limits are set by the child on itself with setrlimit: nothing runs
// in the child before them, the parent needs no extra syscall or race
// window after fork, and a child cannot raise a hard limit it lowered.
//
//	RLIMIT_DATA  the OS memory backstop (data segment and private anonymous
//	             mappings, which is where Go's heap and stacks live; not
//	             RLIMIT_AS: an idle Go process maps ~1 GB of address space)
//	RLIMIT_FSIZE 0: the worker writes no files
//	RLIMIT_CORE  0: a crash leaves no core with extension data in it
//	RLIMIT_NOFILE a handful: it needs its pipes, nothing else
//
// Go's own soft limit sits at half the OS limit, so the collector works
// hard well before the kernel refuses memory, and the maximum goroutine
// stack is lowered so native recursion ends sooner and smaller.
func applyWorkerLimits(c workerConfig) error {
	set := func(res int, v uint64) error {
		return syscall.Setrlimit(res, &syscall.Rlimit{Cur: v, Max: v})
	}
	if c.MemoryLimit > 0 {
		// The race detector's shadow memory counts as data; under -race
		// the OS limit would stop the worker from starting at all.
		if !raceEnabled {
			if err := set(syscall.RLIMIT_DATA, uint64(c.MemoryLimit)); err != nil {
				return fmt.Errorf("RLIMIT_DATA: %w", err)
			}
		}
		debug.SetMemoryLimit(c.MemoryLimit / 2)
		// The soft limit bounds the heap; a worker's live heap is small
		// and its garbage short-lived, so collect less often than the
		// default (measured: about a fifth less worker CPU per event).
		debug.SetGCPercent(400)
	}
	if err := set(syscall.RLIMIT_FSIZE, 0); err != nil {
		return fmt.Errorf("RLIMIT_FSIZE: %w", err)
	}
	if err := set(syscall.RLIMIT_CORE, 0); err != nil {
		return fmt.Errorf("RLIMIT_CORE: %w", err)
	}
	if err := set(syscall.RLIMIT_NOFILE, 64); err != nil {
		return fmt.Errorf("RLIMIT_NOFILE: %w", err)
	}
	if c.MaxStack > 0 {
		debug.SetMaxStack(int(c.MaxStack))
	}
	return nil
}

// takeStdout moves the frame channel off fd 1 so that nothing printing to
// stdout (a stray print, a library) can corrupt the protocol: frames go to
// a private copy, and fd 1 becomes stderr.
func takeStdout() (*os.File, error) {
	fd, err := syscall.Dup(1)
	if err != nil {
		return nil, err
	}
	syscall.CloseOnExec(fd)
	if err := syscall.Dup3(2, 1, 0); err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "frames"), nil
}

// processCPU is the user+system CPU time of a process (for Bench).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is parenthesised and may hold
	// spaces: utime and stime are fields 14 and 15 of the line.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc stat line")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat line")
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100, nil // USER_HZ is 100 on Linux
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
