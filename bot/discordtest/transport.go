package discordtest

import (
	"fmt"
	"net/http"
	"strings"
)

// rewriteTransport sends requests for Discord's hosts to the emulator's
// listener. It is how a bot is pointed at the emulator without touching
// discordgo's package-level endpoint variables.
type rewriteTransport struct {
	addr string // 127.0.0.1:port
	base *http.Transport
}

func newRewriteTransport(addr string) *rewriteTransport {
	return &rewriteTransport{
		addr: addr,
		base: &http.Transport{
			Proxy:               nil, // never send loopback traffic through a proxy
			MaxIdleConnsPerHost: 16,
			ForceAttemptHTTP2:   false,
		},
	}
}

// discordHost reports whether host (without port) is one the emulator
// stands in for.
func discordHost(host string) bool {
	switch strings.ToLower(host) {
	case "discord.com", "www.discord.com", "discordapp.com", "www.discordapp.com",
		"cdn.discordapp.com", "media.discordapp.net", "canary.discord.com", "ptb.discord.com":
		return true
	}
	return false
}

// RoundTrip rewrites scheme and host of a Discord request to the emulator's
// and keeps path and query; requests already aimed at the emulator pass as
// they are; any other host is refused.
func (t *rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Hostname()
	switch {
	case discordHost(host):
		r := req.Clone(req.Context())
		r.URL.Scheme = "http"
		r.URL.Host = t.addr
		r.Host = t.addr
		return t.base.RoundTrip(r)
	case req.URL.Host == t.addr:
		return t.base.RoundTrip(req)
	default:
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("discordtest: refusing request to %s: the emulator's client only reaches Discord hosts", req.URL.Host)
	}
}
