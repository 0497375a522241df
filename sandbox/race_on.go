//go:build race

package sandbox

// raceEnabled: built with -race (the detector's shadow memory counts
// against RLIMIT_DATA, so workers do without the OS memory limit).
const raceEnabled = true
