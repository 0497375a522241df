package nethttp

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Capability is a version's network level (SKYEXT.md part B 6.4).
type Capability string

const (
	// None: no HTTP at all.
	None Capability = "none"
	// Allowlist: https to the operator's allowlist (and, when the manifest
	// lists hosts, only those of them), default port; no tier, no approval.
	Allowlist Capability = "allowlist_only"
	// Network: any https host, default port; tier 2 and approval.
	Network Capability = "network"
	// NetworkAdvanced: http or https, any host and port; tier 2 and
	// approval.
	NetworkAdvanced Capability = "network_advanced"
	// ManifestHosts is skybot's own level for part A extensions: https to
	// the hosts the reviewed manifest lists (@hosts), default port; no
	// tier and no approval beyond the review that accepted the list.
	ManifestHosts Capability = "manifest_hosts"
)

// tierForNetwork is the tier level Network and NetworkAdvanced need.
const tierForNetwork = 2

// DefaultAllowlist returns SkynetBot's default allowlist (part B 3.13), a
// fresh copy each call.
func DefaultAllowlist() []string {
	return []string{
		"api.jikan.moe",
		"api.mojang.com",
		"sessionserver.mojang.com",
		"api.steampowered.com",
		"steamcommunity.com",
		"mc-heads.net",
		"api.mcsrvstat.us",
		"api.henrikdev.xyz",
		"fortnite-api.com",
		"ddragon.leagueoflegends.com",
		"raw.communitydragon.org",
	}
}

// maxURLLen bounds the URL an extension may give.
const maxURLLen = 8 << 10

// checkURL applies the URL policy of part B 3.13 step 7, in its order:
// INVALID_URL, INVALID_PROTOCOL, ONLY_HTTPS, INVALID_HOST,
// HOST_NOT_ALLOWED, PRIVATE_IP_BLOCKED, NETWORK_NOT_APPROVED,
// INVALID_CAPABILITY. Host names are not resolved here: the dialer
// resolves and checks every address (and Do checks them once before).
func (c *Client) checkURL(raw string, g Grant) (*url.URL, *Error) {
	if len(raw) > maxURLLen {
		return nil, refuse(CodeInvalidURL, "the url is longer than 8 KiB")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return nil, refuse(CodeInvalidURL, "the url must be absolute, like https://example.com/path")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return nil, refuse(CodeInvalidProtocol, "only http and https urls are allowed, not "+scheme)
	}
	if scheme == "http" && g.Capability != NetworkAdvanced {
		return nil, refuse(CodeOnlyHTTPS, "plain http needs the network_advanced capability; use https")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, refuse(CodeInvalidURL, "the port must be between 1 and 65535")
		}
	}
	host, literal, herr := parseHost(u.Hostname())
	if herr != nil {
		return nil, herr
	}
	if len(g.Hosts) > 0 && !matchesAny(host, g.Hosts) {
		return nil, refuse(CodeHostNotAllowed, host+" is not among the hosts the extension's manifest lists")
	}
	if g.Capability == Allowlist && !matchesAny(host, c.allowlist) {
		return nil, refuse(CodeHostNotAllowed, host+" is not on the operator's allowlist")
	}
	if g.Capability != NetworkAdvanced && u.Port() != "" && u.Port() != defaultPort(scheme) {
		return nil, refuse(CodeHostNotAllowed, "a port other than "+defaultPort(scheme)+" needs the network_advanced capability")
	}
	if literal.IsValid() && c.guard.blocked(literal) || blockedName(host) {
		return nil, privateIPError(host)
	}
	switch g.Capability {
	case Allowlist, ManifestHosts:
	case Network, NetworkAdvanced:
		if !g.Approved {
			return nil, refuse(CodeNetworkNotApproved, "the "+string(g.Capability)+" capability of this version has not been approved")
		}
	default:
		return nil, refuse(CodeInvalidCapability, "the network capability "+strconv.Quote(string(g.Capability))+" is not known")
	}
	u.Scheme = scheme
	return u, nil
}

func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}

// parseHost returns the URL host in lower case without a trailing dot, and
// the address when it is an IP literal. A host that is neither a plain
// dotted-quad or IPv6 literal nor a DNS name is INVALID_HOST: in
// particular every other numeric form (2130706433, 0x7f.1, 127.1,
// 0177.0.0.1), which some resolvers and libraries read as an address.
func parseHost(h string) (string, netip.Addr, *Error) {
	host := strings.TrimSuffix(strings.ToLower(h), ".")
	invalid := func(why string) (string, netip.Addr, *Error) {
		return "", netip.Addr{}, refuse(CodeInvalidHost, strconv.Quote(h)+" "+why)
	}
	if host == "" {
		return invalid("is not a host name")
	}
	if strings.Contains(host, ":") {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return invalid("is not an IPv6 address")
		}
		return host, ip, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		return host, ip, nil
	}
	if len(host) > 253 {
		return invalid("is longer than 253 characters")
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if !validLabel(l) {
			return invalid("is not a host name (letters, digits, '-' and '_' in dot-separated labels; write international names in punycode)")
		}
	}
	if numericLabel(labels[len(labels)-1]) {
		return invalid("is a numeric address in a form other than a.b.c.d")
	}
	return host, netip.Addr{}, nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		b := l[i]
		if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// numericLabel reports whether a label reads as a number: decimal, octal
// (leading 0) or hex (0x...). No top-level domain is numeric, so a host
// that ends in one is an address in disguise (the WHATWG URL rule).
func numericLabel(l string) bool {
	if strings.HasPrefix(l, "0x") {
		for i := 2; i < len(l); i++ {
			if !strings.ContainsRune("0123456789abcdef", rune(l[i])) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(l); i++ {
		if l[i] < '0' || l[i] > '9' {
			return false
		}
	}
	return true
}

// normalizeHost makes an allowlist or @hosts entry comparable: lower case,
// no surrounding space, no "*." prefix, no trailing dot.
func normalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.TrimPrefix(h, "*.")
	return strings.TrimSuffix(h, ".")
}

// matchesAny reports whether host equals, or is a subdomain of, one of
// the (normalised) entries.
func matchesAny(host string, entries []string) bool {
	for _, e := range entries {
		e = normalizeHost(e)
		if e != "" && (host == e || strings.HasSuffix(host, "."+e)) {
			return true
		}
	}
	return false
}
