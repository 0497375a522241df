package discordtest

import "testing"

// NewForTest starts a Server for a test. It fails the test at once if the
// server cannot start, closes it when the test ends and, at that point,
// reports every recorded contract violation (see Violations) as a test
// error. It imports "testing" and so lives apart from New, which the demo
// uses.
func NewForTest(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("discordtest: %v", err)
	}
	t.Cleanup(func() {
		for _, v := range s.Violations() {
			t.Errorf("discordtest: Discord contract violation: %s", v)
		}
		if err := s.Close(); err != nil {
			t.Logf("discordtest: close: %v", err)
		}
	})
	return s
}
