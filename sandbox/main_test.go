package sandbox

import (
	"os"
	"testing"
)

// TestMain lets the pool re-execute this test binary as a sandbox worker,
// as skybot's main does with its own binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == WorkerArg {
		os.Exit(WorkerMain())
	}
	os.Exit(m.Run())
}
