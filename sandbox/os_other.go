//go:build !linux

package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"time"
)

// Worker processes need Linux (RLIMIT_DATA, Pdeathsig); elsewhere only the
// in-process mode is available.

const workersSupported = false

var errNoWorkers = errors.New("sandbox worker processes need Linux")

func newPage() (*statusPage, *os.File, error) { return nil, nil, errNoWorkers }
func (p *statusPage) unmap()                  {}
func openWorkerPage() (*statusPage, error)    { return nil, errNoWorkers }
func configureCommand(*exec.Cmd, bool)        {}
func namespacesRefused(error) bool            { return false }
func applyWorkerLimits(workerConfig) error    { return errNoWorkers }
func takeStdout() (*os.File, error)           { return nil, errNoWorkers }
func startWorker(*exec.Cmd) error             { return errNoWorkers }
func installSyscallFilter() error             { return errNoWorkers }
func enterEmptyRoot() error                   { return errNoWorkers }

func processCPU(int) (time.Duration, error) { return 0, errNoWorkers }
func selfCPU() time.Duration                { return 0 }
