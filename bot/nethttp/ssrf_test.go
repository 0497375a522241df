package nethttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestSpecialAddresses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ip      string
		blocked bool
	}{
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"172.32.0.1", false},
		{"192.168.1.1", true},
		{"169.254.169.254", true},
		{"100.64.0.1", true},
		{"100.127.255.255", true},
		{"100.128.0.1", false},
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"255.255.255.255", true},
		{"240.0.0.1", true},
		{"192.0.2.10", true},
		{"198.51.100.7", true},
		{"203.0.113.9", true},
		{"198.18.0.1", true},
		{"93.184.216.34", false},
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"::", true},
		{"::1", true},
		{"::127.0.0.1", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:8.8.8.8", false},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"fc00::1", true},
		{"fd12:3456::1", true},
		{"ff02::1", true},
		{"64:ff9b::7f00:1", true},
		{"64:ff9b::a9fe:a9fe", true},
		{"64:ff9b::808:808", false},
		{"64:ff9b:1::1", true},
		{"2002:7f00:1::1", true},
		{"2002:c0a8:101::1", true},
		{"2002:808:808::1", false},
		{"2001:db8::1", true},
		{"2001:0::1", true}, // Teredo
		{"2606:4700:4700::1111", false},
		{"2a00:1450:4001:80b::200e", false},
	}
	for _, c := range cases {
		if got := special(netip.MustParseAddr(c.ip)); got != c.blocked {
			t.Errorf("special(%s) = %v, want %v", c.ip, got, c.blocked)
		}
	}
}

func TestGuardAllowPrivate(t *testing.T) {
	t.Parallel()
	g := guard{allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.9.0.0/16")}}
	cases := []struct {
		ip      string
		blocked bool
	}{
		{"127.0.0.1", false},
		{"::ffff:127.0.0.1", false}, // the same address, written as IPv6
		{"10.9.8.7", false},
		{"10.8.0.1", true},
		{"192.168.0.1", true},
		{"::1", true},
		{"64:ff9b::7f00:1", true}, // embedded: never let through
		{"2002:7f00:1::1", true},
	}
	for _, c := range cases {
		if got := g.blocked(netip.MustParseAddr(c.ip)); got != c.blocked {
			t.Errorf("blocked(%s) = %v, want %v", c.ip, got, c.blocked)
		}
	}
}

func TestParseHost(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, host string
		literal  bool
		code     string
	}{
		{in: "example.com", host: "example.com"},
		{in: "API.Example.COM.", host: "api.example.com"},
		{in: "_srv.example.com", host: "_srv.example.com"},
		{in: "127.0.0.1", host: "127.0.0.1", literal: true},
		{in: "::1", host: "::1", literal: true},
		{in: "2130706433", code: CodeInvalidHost},
		{in: "0x7f.1", code: CodeInvalidHost},
		{in: "0x7f000001", code: CodeInvalidHost},
		{in: "0X7F.0.0.1", code: CodeInvalidHost},
		{in: "017700000001", code: CodeInvalidHost},
		{in: "0177.0.0.1", code: CodeInvalidHost},
		{in: "127.1", code: CodeInvalidHost},
		{in: "127.0.0.1.2", code: CodeInvalidHost},
		{in: "1.2.3.04", code: CodeInvalidHost},
		{in: "example.0x", code: CodeInvalidHost},
		{in: "fe80::1%lo", code: CodeInvalidHost},
		{in: "bücher.de", code: CodeInvalidHost},
		{in: "-bad.example", code: CodeInvalidHost},
		{in: "a..b", code: CodeInvalidHost},
		{in: "", code: CodeInvalidHost},
		{in: strings.Repeat("a", 64) + ".com", code: CodeInvalidHost},
	}
	for _, c := range cases {
		host, ip, err := parseHost(c.in)
		switch {
		case c.code != "":
			if err == nil || err.Code != c.code {
				t.Errorf("parseHost(%q) = %q, %v; want %s", c.in, host, err, c.code)
			}
		case err != nil || host != c.host || ip.IsValid() != c.literal:
			t.Errorf("parseHost(%q) = %q, %v, %v; want %q (literal %v)", c.in, host, ip, err, c.host, c.literal)
		}
	}
}

// TestSSRFNeverConnects sends requests that must not reach the local
// listener, with the most permissive grant (any host and port, approved,
// tier 2), and then proves that the listener saw no connection at all.
func TestSSRFNeverConnects(t *testing.T) {
	t.Parallel()
	ln := newWatchedListener(t)
	port := ln.port()
	res := newResolver(map[string][][]string{
		"loopback.test":   {{"127.0.0.1"}},
		"mixed.test":      {{"93.184.216.34", "127.0.0.1"}},
		"mixed-rev.test":  {{"127.0.0.1", "93.184.216.34"}},
		"private.test":    {{"10.0.0.5"}},
		"mapped.test":     {{"::ffff:127.0.0.1"}},
		"nat64.test":      {{"64:ff9b::7f00:1"}},
		"v6loop.test":     {{"::1"}},
		"linklocal.test":  {{"fe80::1%lo"}},
		"metadata.test":   {{"169.254.169.254"}},
		"cgnat.test":      {{"100.64.1.1"}},
		"zero.test":       {{"0.0.0.0"}},
		"localhost":       {{"127.0.0.1"}},
		"app.localhost":   {{"127.0.0.1"}},
		"multicast.test":  {{"224.0.0.251"}},
		"ula.test":        {{"fd00::1"}},
		"sixtofour.test":  {{"2002:7f00:1::1"}},
		"broadcast.test":  {{"255.255.255.255"}},
		"unspec6.test":    {{"::"}},
		"rfc1918-b.test":  {{"172.20.0.1"}},
		"rfc1918-c.test":  {{"192.168.0.10"}},
		"documented.test": {{"192.0.2.1"}},
	})
	c := New(Options{Resolver: res})
	cases := []struct {
		name, url, code string
	}{
		{"name resolving to 127.0.0.1", "http://loopback.test:" + port + "/", CodePrivateIPBlocked},
		{"public and private answer", "http://mixed.test:" + port + "/", CodePrivateIPBlocked},
		{"private and public answer", "http://mixed-rev.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to 10/8", "http://private.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to ::ffff:127.0.0.1", "http://mapped.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to NAT64 of 127.0.0.1", "http://nat64.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to ::1", "http://v6loop.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to fe80::1", "http://linklocal.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to the metadata address", "http://metadata.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to CGNAT", "http://cgnat.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to 0.0.0.0", "http://zero.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to multicast", "http://multicast.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to ULA", "http://ula.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to 6to4 of 127.0.0.1", "http://sixtofour.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to broadcast", "http://broadcast.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to ::", "http://unspec6.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to 172.16/12", "http://rfc1918-b.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to 192.168/16", "http://rfc1918-c.test:" + port + "/", CodePrivateIPBlocked},
		{"name resolving to TEST-NET-1", "http://documented.test:" + port + "/", CodePrivateIPBlocked},
		{"localhost", "http://localhost:" + port + "/", CodePrivateIPBlocked},
		{"LOCALHOST with a dot", "http://LOCALHOST.:" + port + "/", CodePrivateIPBlocked},
		{"a subdomain of localhost", "http://app.localhost:" + port + "/", CodePrivateIPBlocked},
		{"127.0.0.1", "http://127.0.0.1:" + port + "/", CodePrivateIPBlocked},
		{"127.0.0.2", "http://127.0.0.2:" + port + "/", CodePrivateIPBlocked},
		{"userinfo before 127.0.0.1", "http://api.example.com@127.0.0.1:" + port + "/", CodePrivateIPBlocked},
		{"0.0.0.0", "http://0.0.0.0:" + port + "/", CodePrivateIPBlocked},
		{"CGNAT literal", "http://100.64.0.1:" + port + "/", CodePrivateIPBlocked},
		{"metadata literal", "http://169.254.169.254/latest/meta-data/", CodePrivateIPBlocked},
		{"[::1]", "http://[::1]:" + port + "/", CodePrivateIPBlocked},
		{"[::ffff:127.0.0.1]", "http://[::ffff:127.0.0.1]:" + port + "/", CodePrivateIPBlocked},
		{"[::ffff:7f00:1]", "http://[::ffff:7f00:1]:" + port + "/", CodePrivateIPBlocked},
		{"[fe80::1]", "http://[fe80::1]:" + port + "/", CodePrivateIPBlocked},
		{"[fc00::1]", "http://[fc00::1]:" + port + "/", CodePrivateIPBlocked},
		{"[64:ff9b::7f00:1]", "http://[64:ff9b::7f00:1]:" + port + "/", CodePrivateIPBlocked},
		{"[2002:7f00:1::]", "http://[2002:7f00:1::]:" + port + "/", CodePrivateIPBlocked},
		{"[::]", "http://[::]:" + port + "/", CodePrivateIPBlocked},
		{"[::127.0.0.1]", "http://[::127.0.0.1]:" + port + "/", CodePrivateIPBlocked},
		{"[fe80::1%25lo]", "http://[fe80::1%25lo]:" + port + "/", CodeInvalidHost},
		{"decimal 2130706433", "http://2130706433:" + port + "/", CodeInvalidHost},
		{"hex 0x7f.1", "http://0x7f.1:" + port + "/", CodeInvalidHost},
		{"hex 0x7f000001", "http://0x7f000001:" + port + "/", CodeInvalidHost},
		{"octal 0177.0.0.1", "http://0177.0.0.1:" + port + "/", CodeInvalidHost},
		{"octal 017700000001", "http://017700000001:" + port + "/", CodeInvalidHost},
		{"short 127.1", "http://127.1:" + port + "/", CodeInvalidHost},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				g := open()
				g.Extension = tc.name // its own rate-limit bucket
				_, err := c.Do(context.Background(), g, Request{URL: tc.url})
				if got := codeOf(t, err); got != tc.code {
					t.Fatalf("%s: got %v, want %s", tc.url, err, tc.code)
				}
			})
		}
	})
	ln.assertNoConnection(t)
}

// TestDNSRebinding: the name is public when Do looks first and private
// when the dialer looks; the dial-time check refuses it.
func TestDNSRebinding(t *testing.T) {
	t.Parallel()
	ln := newWatchedListener(t)
	res := newResolver(map[string][][]string{
		"rebind.test": {{"93.184.216.34"}, {"127.0.0.1"}},
	})
	c := New(Options{Resolver: res})
	_, err := c.Do(context.Background(), open(), Request{URL: "http://rebind.test:" + ln.port() + "/"})
	if codeOf(t, err) != CodePrivateIPBlocked {
		t.Fatalf("got %v, want PRIVATE_IP_BLOCKED", err)
	}
	if n := res.lookups("rebind.test"); n != 2 {
		t.Fatalf("the name was looked up %d times; the dialer should have looked again (2)", n)
	}
	ln.assertNoConnection(t)
}

// TestDialerChecksEveryConnection calls the transport's dialer and its
// socket hook directly: they refuse internal addresses on their own,
// whatever the policy check before them decided.
func TestDialerChecksEveryConnection(t *testing.T) {
	t.Parallel()
	ln := newWatchedListener(t)
	res := newResolver(map[string][][]string{"inside.test": {{"127.0.0.1"}}})
	c := New(Options{Resolver: res})
	for _, addr := range []string{"inside.test:" + ln.port(), "127.0.0.1:" + ln.port(), "[::ffff:127.0.0.1]:" + ln.port(), "localhost:" + ln.port()} {
		conn, err := c.dial(context.Background(), "tcp", addr)
		if conn != nil {
			conn.Close()
		}
		if codeOf(t, err) != CodePrivateIPBlocked {
			t.Errorf("dial %s: %v, want PRIVATE_IP_BLOCKED", addr, err)
		}
	}
	for addr, ok := range map[string]bool{"127.0.0.1:80": false, "[::1]:443": false, "10.0.0.1:443": false, "93.184.216.34:443": true, "[2606:4700:4700::1111]:443": true} {
		if err := c.control("tcp4", addr, nil); (err == nil) != ok {
			t.Errorf("control(%s) = %v", addr, err)
		}
	}
	if c.transport.Proxy != nil {
		t.Error("the transport uses a proxy; it must never take one from the environment")
	}
	ln.assertNoConnection(t)
}

// TestRedirectNotFollowed: a server answering 302 to an internal address
// gives back the 302 itself; the Location is never fetched.
func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	target := newWatchedListener(t)
	location := "http://127.0.0.1:" + target.port() + "/secret"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, location, http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	// Even with loopback allowed, so that only "redirects are not
	// followed" stands between the 302 and the target.
	c := New(Options{AllowPrivate: loopback()})
	resp, err := c.Do(context.Background(), open(), Request{URL: srv.URL + "/start"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusFound || resp.Headers["location"][0] != location {
		t.Fatalf("got %d %v, want the 302 with its location", resp.Status, resp.Headers)
	}
	target.assertNoConnection(t)
}
