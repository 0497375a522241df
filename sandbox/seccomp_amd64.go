//go:build linux

package sandbox

import "golang.org/x/sys/unix"

// amd64: the audit architecture of x86-64 calls; calls numbered from
// 0x40000000 are the x32 ABI, which no worker uses and which would
// otherwise reach the kernel under numbers this filter does not check.
const (
	nativeAuditArch = unix.AUDIT_ARCH_X86_64
	foreignABIBit   = 0x40000000
)

// deniedHere are the amd64 calls that have no equivalent number on arm64:
// the path calls that predate their *at forms, fork, and port I/O.
var deniedHere = []uintptr{
	unix.SYS_OPEN, unix.SYS_CREAT, unix.SYS_STAT, unix.SYS_LSTAT, unix.SYS_ACCESS,
	unix.SYS_READLINK, unix.SYS_MKDIR, unix.SYS_RMDIR, unix.SYS_UNLINK, unix.SYS_RENAME,
	unix.SYS_LINK, unix.SYS_SYMLINK, unix.SYS_CHMOD, unix.SYS_CHOWN, unix.SYS_LCHOWN,
	unix.SYS_MKNOD, unix.SYS_UTIME, unix.SYS_UTIMES, unix.SYS_FUTIMESAT, unix.SYS_GETDENTS,
	unix.SYS_INOTIFY_INIT, unix.SYS_USELIB, unix.SYS_FORK, unix.SYS_VFORK,
	unix.SYS_IOPERM, unix.SYS_IOPL, unix.SYS_MODIFY_LDT,
}
