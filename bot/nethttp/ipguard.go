package nethttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
)

// Resolver looks up a host's addresses; *net.Resolver is one. Tests
// inject their own to make a name resolve to 127.0.0.1.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// blockedV4 are the IPv4 ranges no extension request may reach: this
// host, private networks, shared address space, link-local, protocol
// assignments, documentation, benchmarking, multicast, reserved and
// broadcast.
var blockedV4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network", 0.0.0.0
	netip.MustParsePrefix("10.0.0.0/8"),      // private
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT shared address space
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local, cloud metadata
	netip.MustParsePrefix("172.16.0.0/12"),   // private
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast
	netip.MustParsePrefix("192.168.0.0/16"),  // private
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, 255.255.255.255
}

// blockedV6 are the IPv6 ranges blocked outright. The ranges that embed an
// IPv4 address (IPv4-mapped, NAT64, 6to4) are handled by embeddedV4.
var blockedV6 = []netip.Prefix{
	netip.MustParsePrefix("::/96"),          // unspecified, loopback, IPv4-compatible
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("100::/64"),       // discard-only
	netip.MustParsePrefix("2001::/23"),      // IETF protocol assignments, Teredo
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("3fff::/20"),      // documentation
	netip.MustParsePrefix("5f00::/16"),      // SRv6 SIDs
	netip.MustParsePrefix("fc00::/7"),       // unique local
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated)
	netip.MustParsePrefix("ff00::/8"),       // multicast
}

var (
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4  = netip.MustParsePrefix("2002::/16")
	mapped4 = netip.MustParsePrefix("::ffff:0:0/96")
)

// embeddedV4 returns the IPv4 address an IPv6 address carries in a way
// that routes to it (IPv4-mapped, NAT64 well-known prefix, 6to4).
func embeddedV4(ip netip.Addr) (netip.Addr, bool) {
	b := ip.As16()
	switch {
	case mapped4.Contains(ip), nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixTo4.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// special reports whether ip is an address an extension must not reach,
// whatever the operator allows.
func special(ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	ip = ip.WithZone("")
	if v4, ok := embeddedV4(ip); ok {
		return special(v4)
	}
	ranges := blockedV6
	if ip.Is4() {
		ranges = blockedV4
	}
	for _, p := range ranges {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// guard decides which addresses may be dialled.
type guard struct {
	// allow are the ranges the operator lets through although they are
	// private (an internal service; tests reaching 127.0.0.1).
	allow []netip.Prefix
}

// blocked reports whether a connection to ip is refused. An address the
// operator allowed is checked as written; an IPv4 address hidden in an
// IPv6 form is always checked against the fixed list, never the allowed
// ranges.
func (g guard) blocked(ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	plain := ip.WithZone("")
	if plain.Is4In6() {
		plain = plain.Unmap()
	}
	for _, p := range g.allow {
		if p.Contains(plain) {
			return false
		}
	}
	return special(ip)
}

// blockedName reports whether a host name is refused by its name alone.
func blockedName(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

func privateIPError(host string) *Error {
	return refuse(CodePrivateIPBlocked, fmt.Sprintf("%s is a private, loopback or otherwise internal address", host))
}

// addrs returns the addresses host stands for (itself when it is an IP
// literal), every one checked: one blocked address refuses them all, so
// that a name answering with a public and a private address cannot be
// used to reach the private one.
func (c *Client) addrs(ctx context.Context, host string) ([]netip.Addr, error) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		if c.guard.blocked(ip) {
			return nil, privateIPError(host)
		}
		return []netip.Addr{ip.Unmap()}, nil
	}
	if blockedName(host) {
		return nil, privateIPError(host)
	}
	found, err := c.resolver.LookupIPAddr(ctx, host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil, &Error{Message: "host not found: " + host}
		}
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &Error{Message: "DNS lookup failed for " + host}
	}
	if len(found) == 0 {
		return nil, &Error{Message: "host not found: " + host}
	}
	out := make([]netip.Addr, 0, len(found))
	for _, a := range found {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || c.guard.blocked(ip.WithZone(a.Zone)) {
			return nil, privateIPError(host)
		}
		out = append(out, ip.Unmap())
	}
	return out, nil
}

// dial is the transport's only way out: it resolves the host itself,
// checks every address and connects to a checked address, never to the
// name, so that a DNS answer that changed since the policy check (DNS
// rebinding) is caught here. The dialer's Control checks the socket
// address once more just before connect.
func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := c.addrs(ctx, host)
	if err != nil {
		return nil, err
	}
	if c.testPort != "" {
		port = c.testPort
	}
	// IPv4 first: a host whose IPv6 route is broken would otherwise spend
	// the whole timeout on its first address.
	slices.SortStableFunc(ips, func(a, b netip.Addr) int {
		switch {
		case a.Is4() && !b.Is4():
			return -1
		case !a.Is4() && b.Is4():
			return 1
		}
		return 0
	})
	var first error
	for _, ip := range ips {
		conn, err := c.dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// control runs on every socket just before it connects.
func (c *Client) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refuse(CodePrivateIPBlocked, "the address "+address+" could not be checked")
	}
	if c.guard.blocked(ap.Addr()) {
		return privateIPError(ap.Addr().String())
	}
	return nil
}

var _ Resolver = (*net.Resolver)(nil)
