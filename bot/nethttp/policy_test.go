package nethttp

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// passes is the code a request that passed every policy check gets here:
// its host resolves (through the test resolver) only to a documentation
// address, which the address check refuses before anything is sent.
const passes = CodePrivateIPBlocked

// TestCapabilitiesAndOrder runs part B's checks one by one. Hosts in
// .test resolve to 192.0.2.1, so a request that passes the policy stops
// at the address check (passes) without leaving the machine.
func TestCapabilitiesAndOrder(t *testing.T) {
	t.Parallel()
	doc := [][]string{{"192.0.2.1"}}
	res := newResolver(map[string][][]string{
		"api.jikan.moe": doc, "sub.api.jikan.moe": doc, "xapi.jikan.moe": doc, "api.jikan.moe.evil.test": doc,
		"any.test": doc, "api.example.org": doc, "v2.api.example.org": doc, "other.test": doc,
	})
	c := New(Options{Resolver: res})
	allowlist := Grant{Capability: Allowlist}
	network := Grant{Capability: Network, Approved: true, TierLevel: 2}
	advanced := Grant{Capability: NetworkAdvanced, Approved: true, TierLevel: 2}
	with := func(g Grant, f func(*Grant)) Grant { f(&g); return g }
	cases := []struct {
		name    string
		g       Grant
		options string
		code    string
	}{
		// 2. capability none
		{"no capability", Grant{}, `{"url":"https://api.jikan.moe/"}`, CodeNetworkNotEnabled},
		{"capability none", Grant{Capability: None}, `{"url":"https://api.jikan.moe/"}`, CodeNetworkNotEnabled},
		{"none comes before MISSING_URL", Grant{}, `{}`, CodeNetworkNotEnabled},
		// 3. tier
		{"network in tier 1", with(network, func(g *Grant) { g.TierLevel = 1 }), `{"url":"https://any.test/"}`, CodeTierRequired},
		{"network_advanced in tier 1", with(advanced, func(g *Grant) { g.TierLevel = 1 }), `{"url":"https://any.test/"}`, CodeTierRequired},
		{"tier comes before MISSING_URL", with(network, func(g *Grant) { g.TierLevel = 0 }), `{}`, CodeTierRequired},
		{"allowlist_only needs no tier", allowlist, `{"url":"https://api.jikan.moe/"}`, passes},
		// 5, 6: url and method
		{"missing url", allowlist, `{}`, CodeMissingURL},
		{"empty url", allowlist, `{"url":""}`, CodeMissingURL},
		{"options not an object", allowlist, `"https://api.jikan.moe/"`, CodeMissingURL},
		{"MISSING_URL before METHOD_NOT_ALLOWED", allowlist, `{"method":"DELETE"}`, CodeMissingURL},
		{"DELETE", allowlist, `{"url":"https://api.jikan.moe/","method":"DELETE"}`, CodeMethodNotAllowed},
		{"HEAD", allowlist, `{"url":"https://api.jikan.moe/","method":"head"}`, CodeMethodNotAllowed},
		{"method not a string", allowlist, `{"url":"https://api.jikan.moe/","method":1}`, CodeMethodNotAllowed},
		{"METHOD_NOT_ALLOWED before INVALID_URL", allowlist, `{"url":"nope","method":"PUT"}`, CodeMethodNotAllowed},
		{"post in lower case", allowlist, `{"url":"https://api.jikan.moe/","method":"post"}`, passes},
		// 7. URL policy
		{"url not a string", allowlist, `{"url":42}`, CodeInvalidURL},
		{"relative url", allowlist, `{"url":"/anime/1"}`, CodeInvalidURL},
		{"no host", allowlist, `{"url":"https:///x"}`, CodeInvalidURL},
		{"not a url", allowlist, `{"url":"https://exa mple.com/"}`, CodeInvalidURL},
		{"port out of range", advanced, `{"url":"https://any.test:70000/"}`, CodeInvalidURL},
		{"ftp", advanced, `{"url":"ftp://any.test/"}`, CodeInvalidProtocol},
		{"file", advanced, `{"url":"file:///etc/passwd"}`, CodeInvalidURL},
		{"javascript", advanced, `{"url":"javascript:alert(1)"}`, CodeInvalidURL},
		{"http with allowlist_only", allowlist, `{"url":"http://api.jikan.moe/"}`, CodeOnlyHTTPS},
		{"http with network", network, `{"url":"http://any.test/"}`, CodeOnlyHTTPS},
		{"http with network_advanced", advanced, `{"url":"http://any.test:8080/"}`, passes},
		{"HTTPS in capitals", allowlist, `{"url":"HTTPS://API.JIKAN.MOE/"}`, passes},
		{"numeric host", advanced, `{"url":"https://2130706433/"}`, CodeInvalidHost},
		{"allowlisted subdomain", allowlist, `{"url":"https://sub.api.jikan.moe/"}`, passes},
		{"not on the allowlist", allowlist, `{"url":"https://any.test/"}`, CodeHostNotAllowed},
		{"allowlist suffix trick", allowlist, `{"url":"https://xapi.jikan.moe/"}`, CodeHostNotAllowed},
		{"allowlist prefix trick", allowlist, `{"url":"https://api.jikan.moe.evil.test/"}`, CodeHostNotAllowed},
		{"allowlist_only with a custom port", allowlist, `{"url":"https://api.jikan.moe:8443/"}`, CodeHostNotAllowed},
		{"allowlist_only with port 443", allowlist, `{"url":"https://api.jikan.moe:443/"}`, passes},
		{"network with a custom port", network, `{"url":"https://any.test:8443/"}`, CodeHostNotAllowed},
		{"network_advanced with a custom port", advanced, `{"url":"https://any.test:8443/"}`, passes},
		{"private literal", network, `{"url":"https://10.0.0.1/"}`, CodePrivateIPBlocked},
		{"private before NETWORK_NOT_APPROVED", with(network, func(g *Grant) { g.Approved = false }), `{"url":"https://127.0.0.1/"}`, CodePrivateIPBlocked},
		{"network not approved", with(network, func(g *Grant) { g.Approved = false }), `{"url":"https://any.test/"}`, CodeNetworkNotApproved},
		{"network_advanced not approved", with(advanced, func(g *Grant) { g.Approved = false }), `{"url":"https://any.test/"}`, CodeNetworkNotApproved},
		{"unknown capability", Grant{Capability: "everything"}, `{"url":"https://any.test/"}`, CodeInvalidCapability},
		{"network", network, `{"url":"https://any.test/"}`, passes},
		// skybot: the manifest's @hosts bound every capability
		{"manifest host", with(network, func(g *Grant) { g.Hosts = []string{"api.example.org"} }), `{"url":"https://api.example.org/"}`, passes},
		{"manifest host subdomain", with(advanced, func(g *Grant) { g.Hosts = []string{"api.example.org"} }), `{"url":"https://v2.api.example.org/"}`, passes},
		{"host not in the manifest", with(advanced, func(g *Grant) { g.Hosts = []string{"api.example.org"} }), `{"url":"https://other.test/"}`, CodeHostNotAllowed},
		{"manifest_hosts level", Grant{Capability: ManifestHosts, Hosts: []string{"api.example.org"}}, `{"url":"https://api.example.org/"}`, passes},
		{"manifest_hosts without hosts", Grant{Capability: ManifestHosts}, `{"url":"https://api.example.org/"}`, passes},
		{"manifest_hosts over http", Grant{Capability: ManifestHosts, Hosts: []string{"api.example.org"}}, `{"url":"http://api.example.org/"}`, CodeOnlyHTTPS},
		{"manifest_hosts, other host", Grant{Capability: ManifestHosts, Hosts: []string{"api.example.org"}}, `{"url":"https://other.test/"}`, CodeHostNotAllowed},
		// 8. body
		{"URL policy before BODY_TOO_LARGE", allowlist, `{"url":"https://any.test/","method":"POST","body":"` + strings.Repeat("a", MaxBodyBytes+1) + `"}`, CodeHostNotAllowed},
		{"BODY_TOO_LARGE", allowlist, `{"url":"https://api.jikan.moe/","method":"POST","body":"` + strings.Repeat("a", MaxBodyBytes+1) + `"}`, CodeBodyTooLarge},
		{"BODY_TOO_LARGE only for POST", allowlist, `{"url":"https://api.jikan.moe/","body":"` + strings.Repeat("a", MaxBodyBytes+1) + `"}`, passes},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.g.Guild, tc.g.Extension = "g", tc.name
			_, err := c.Do(context.Background(), tc.g, ParseOptions(json.RawMessage(tc.options)))
			if got := codeOf(t, err); got != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		per  int
	}{
		{"part B default", 0},
		{"configured", 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
			c := New(Options{RequestsPerMinute: tc.per, Now: clock.Now})
			limit := tc.per
			if limit == 0 {
				limit = DefaultRequestsPerMinute
			}
			g := Grant{Guild: "g1", Extension: "ext", Capability: Allowlist}
			// The counter counts before MISSING_URL, so requests without a
			// url use up the window without any network.
			try := func(g Grant) string {
				_, err := c.Do(context.Background(), g, Request{})
				return codeOf(t, err)
			}
			for i := range limit {
				if code := try(g); code != CodeMissingURL {
					t.Fatalf("request %d: %s", i+1, code)
				}
			}
			if code := try(g); code != CodeRateLimit {
				t.Fatalf("request %d: %s, want RATE_LIMIT", limit+1, code)
			}
			clock.advance(59 * time.Second)
			if code := try(g); code != CodeRateLimit {
				t.Fatalf("within the window: %s, want RATE_LIMIT", code)
			}
			other := g
			other.Extension = "other"
			if code := try(other); code != CodeMissingURL {
				t.Fatalf("another extension: %s", code)
			}
			other = g
			other.Guild = "g2"
			if code := try(other); code != CodeMissingURL {
				t.Fatalf("another guild: %s", code)
			}
			if code := try(Grant{Guild: "g1", Extension: "ext"}); code != CodeNetworkNotEnabled {
				t.Fatalf("capability none is refused before the count: %s", code)
			}
			clock.advance(time.Second)
			if code := try(g); code != CodeMissingURL {
				t.Fatalf("next window: %s", code)
			}
		})
	}
}

func TestParseOptions(t *testing.T) {
	t.Parallel()
	r := ParseOptions(json.RawMessage(`{"url":"https://a.test/x","method":"post","headers":{"A":"1","B":2,"C":true,"D":null},
		"body":{"k":[1]},"timeoutMs":2000,"maxBytes":4096,"responseType":"text","injectSecrets":{"X-Key":"key"}}`))
	if r.URL != "https://a.test/x" || r.method() != "POST" || r.ResponseType != "text" || r.TimeoutMs != 2000 || r.MaxBytes != 4096 {
		t.Fatalf("%+v", r)
	}
	if !jsonEqual(r.Headers, map[string]string{"A": "1", "B": "2", "C": "true"}) || r.InjectSecrets["X-Key"] != "key" || string(r.Body) != `{"k":[1]}` || r.invalid != nil {
		t.Fatalf("%+v", r)
	}
	if m, h := r.Describe(); m != "POST" || h != "a.test" {
		t.Fatalf("Describe: %s %s", m, h)
	}
	if m, h := ParseOptions(json.RawMessage(`{"method":3,"url":7}`)).Describe(); m != "?" || h != "" {
		t.Fatalf("Describe of bad options: %q %q", m, h)
	}
}

func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"example.com", "127.0.0.1", "0x7f.1", "2130706433", "::ffff:127.0.0.1", "fe80::1%lo", "a.b.c.", "xn--bcher-kva.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		host, ip, err := parseHost(in)
		if err != nil {
			return
		}
		if ip.IsValid() {
			return
		}
		labels := splitDots(host)
		if numericLabel(labels[len(labels)-1]) {
			t.Fatalf("%q accepted as the name %q, which ends in a number", in, host)
		}
	})
}

func FuzzParseOptions(f *testing.F) {
	for _, s := range []string{`{}`, `{"url":"https://a.test","headers":{"a":1}}`, `[]`, `{"timeoutMs":1e400}`, `{"body":{"a":[1,{"b":null}]}}`} {
		f.Add(s)
	}
	c := New(Options{Resolver: newResolver(nil), RequestsPerMinute: 1 << 30})
	// Nothing leaves the machine, whatever URL the fuzzer writes.
	c.transport.DialContext = func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no network while fuzzing")
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := ParseOptions(json.RawMessage(in))
		_, _ = r.Describe()
		if r.timeout() < MinTimeout || r.timeout() > MaxTimeout || r.maxBytes() < MinMaxBytes || r.maxBytes() > MaxMaxBytes {
			t.Fatalf("%s: clamps broken: %s %d", in, r.timeout(), r.maxBytes())
		}
		if _, err := c.Do(context.Background(), Grant{Capability: NetworkAdvanced, Approved: true, TierLevel: 2}, r); err == nil {
			t.Fatalf("%s: a request succeeded without a network", in)
		}
	})
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
