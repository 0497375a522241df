//go:build linux && !amd64 && !arm64

package sandbox

// No filter is built for other architectures: workerFilter says so, and a
// worker there starts only with [sandbox] syscall_filter = false.
const (
	nativeAuditArch = 0
	foreignABIBit   = 0
)

var deniedEverywhere, deniedHere []uintptr
