package nethttp

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
)

// fakeResolver answers from a table: each host has a list of successive
// answers, the last of which repeats. Unknown hosts are not found.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][][]string
	calls   map[string]int
}

func newResolver(answers map[string][][]string) *fakeResolver {
	return &fakeResolver{answers: answers, calls: map[string]int{}}
}

func (f *fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seq, ok := f.answers[host]
	if !ok || len(seq) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	i := min(f.calls[host], len(seq)-1)
	f.calls[host]++
	var out []net.IPAddr
	for _, s := range seq[i] {
		ip, zone, _ := splitZone(s)
		out = append(out, net.IPAddr{IP: net.ParseIP(ip), Zone: zone})
	}
	return out, nil
}

func (f *fakeResolver) lookups(host string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[host]
}

func splitZone(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '%' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// watchedListener is a local TCP listener that records the connections
// it accepts, in order, so a test can prove none arrived.
type watchedListener struct {
	ln       net.Listener
	accepted chan net.Conn
}

func newWatchedListener(t *testing.T) *watchedListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &watchedListener{ln: ln, accepted: make(chan net.Conn, 64)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(w.accepted)
				return
			}
			w.accepted <- c
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return w
}

func (w *watchedListener) port() string {
	return strconv.Itoa(w.ln.Addr().(*net.TCPAddr).Port)
}

// assertNoConnection proves that nothing connected before now: it
// connects itself and checks that its own connection is the first one
// the listener accepted (the kernel queues connections in order).
func (w *watchedListener) assertNoConnection(t *testing.T) {
	t.Helper()
	sentinel, err := net.Dial("tcp", w.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer sentinel.Close()
	first, ok := <-w.accepted
	if !ok {
		t.Fatal("the listener stopped")
	}
	defer first.Close()
	if first.RemoteAddr().String() != sentinel.LocalAddr().String() {
		t.Fatalf("the listener was reached by %s before the sentinel %s", first.RemoteAddr(), sentinel.LocalAddr())
	}
}

// open is a grant for every host and port, approved, in a tier 2 guild.
func open() Grant {
	return Grant{Guild: "g1", Extension: "ext", Capability: NetworkAdvanced, Approved: true, TierLevel: 2}
}

// codeOf returns the error code of err ("" for none), failing when err is
// not an *Error.
func codeOf(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %T (%v) is not an *Error", err, err)
	}
	return e.Code
}

func loopback() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }

// options builds a Request the way extension code would write it.
func options(t *testing.T, o map[string]any) Request {
	t.Helper()
	raw, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return ParseOptions(raw)
}
