// Package examples holds sample extensions: the demo installs them, tests
// run them, and authors can read them as a starting point.
package examples

import "embed"

// FS holds every *.skyext in this directory.
//
//go:embed *.skyext
var FS embed.FS

// Read returns one example's source; it panics if name is not embedded,
// which is a build-time mistake.
func Read(name string) []byte {
	b, err := FS.ReadFile(name)
	if err != nil {
		panic("examples: " + err.Error())
	}
	return b
}
