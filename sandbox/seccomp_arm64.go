//go:build linux

package sandbox

import "golang.org/x/sys/unix"

// arm64 has one syscall ABI and only the *at forms of path calls, all in
// deniedEverywhere.
const (
	nativeAuditArch = unix.AUDIT_ARCH_AARCH64
	foreignABIBit   = 0
)

var deniedHere []uintptr
