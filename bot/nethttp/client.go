// Package nethttp is the guarded HTTP client behind extensions'
// http.request (SKYEXT.md part B 3.13): part B's options, clamps, order of
// checks, error codes and response shape, the host policy of each network
// capability, a per-(guild, extension) rate limit, and a defense against
// server-side request forgery.
//
// The SSRF defense does not trust names. The URL's host is checked up
// front (IP literals in every spelling, localhost), and every connection
// goes through the client's own dialer, which resolves the name itself,
// refuses the request when any address is internal (loopback, private,
// link-local, CGNAT, multicast, IPv6 ULA, IPv4 embedded in IPv6, ...),
// and connects to a checked address; a socket Control hook checks the
// address once more just before connect. Redirects are never followed and
// proxies from the environment are never used.
package nethttp

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultUserAgent is SkynetBot's user-agent, kept so that the public APIs
// existing extensions call see what they saw before.
const DefaultUserAgent = "SkynetExtensions/1.0"

// DefaultRequestsPerMinute is part B's limit per (guild, extension).
const DefaultRequestsPerMinute = 30

// maxJSONDepth bounds the nesting of a parsed JSON body: deeper bodies
// come back with json null (the body text is still there). The sandbox
// refuses to build values nested deeper than 256.
const maxJSONDepth = 128

// maxResponseHeaderBytes bounds the response headers the client reads.
const maxResponseHeaderBytes = 64 << 10

// Options configure a Client. The zero value is part B's defaults.
type Options struct {
	// Allowlist is the hosts (and their subdomains) the allowlist_only
	// capability may reach; nil means DefaultAllowlist().
	Allowlist []string
	// AllowPrivate lets requests reach these ranges although they are
	// internal (an operator's own service; tests reaching 127.0.0.1). It
	// is checked against the address as dialled (::ffff:a.b.c.d as
	// a.b.c.d); IPv4 addresses carried by NAT64 or 6to4 addresses are
	// never let through. Empty by default.
	AllowPrivate []netip.Prefix
	// RequestsPerMinute is the limit per (guild, extension) in a fixed
	// 60 s window; 0 means DefaultRequestsPerMinute.
	RequestsPerMinute int
	// UserAgent is sent when the code sets none; "" means
	// DefaultUserAgent.
	UserAgent string
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
	// Now is the clock of the rate limit; nil means time.Now.
	Now func() time.Time
}

// Client performs extension requests. It is safe for concurrent use; one
// Client serves every guild, and its rate limit is kept per (guild,
// extension).
type Client struct {
	allowlist []string
	guard     guard
	limiter   *limiter
	resolver  Resolver
	userAgent string
	dialer    *net.Dialer
	transport *http.Transport
	http      *http.Client

	// testPort, when set, replaces the port of every connection after the
	// address checks, so that tests can serve "https://example.com" from
	// a local listener.
	testPort string
}

// New returns a Client configured by o.
func New(o Options) *Client {
	c := &Client{
		allowlist: o.Allowlist,
		guard:     guard{allow: slices.Clone(o.AllowPrivate)},
		resolver:  o.Resolver,
		userAgent: o.UserAgent,
	}
	if c.allowlist == nil {
		c.allowlist = DefaultAllowlist()
	}
	normalized := make([]string, 0, len(c.allowlist))
	for _, h := range c.allowlist {
		if h = normalizeHost(h); h != "" {
			normalized = append(normalized, h)
		}
	}
	c.allowlist = normalized
	if c.resolver == nil {
		c.resolver = net.DefaultResolver
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	per := o.RequestsPerMinute
	if per <= 0 {
		per = DefaultRequestsPerMinute
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	c.limiter = newLimiter(per, now)
	c.dialer = &net.Dialer{Timeout: MaxTimeout, KeepAlive: 30 * time.Second, Control: c.control}
	c.transport = &http.Transport{
		Proxy:                  nil, // never a proxy from the environment
		DialContext:            c.dial,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    MaxTimeout,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        30 * time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	c.http = &http.Client{
		Transport: c.transport,
		// A 3xx is an ordinary response; its Location is never fetched.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

// Close releases idle connections.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// Grant is what the trusted side knows about the extension making a
// request.
type Grant struct {
	// Guild and Extension key the rate limit.
	Guild     string
	Extension string
	// Capability is the version's network level; "" means None.
	Capability Capability
	// Approved: a maintainer approved the version's Network or
	// NetworkAdvanced capability.
	Approved bool
	// TierLevel is the guild's tier level; Network and NetworkAdvanced
	// need 2.
	TierLevel int
	// Hosts is the reviewed manifest's @hosts list. When it is not empty
	// the request's host must equal, or be a subdomain of, one of them,
	// whatever the capability.
	Hosts []string
	// Secrets resolves injectSecrets ({header: secret field id}) into
	// header values for this install; a header whose secret is not set is
	// left out. nil refuses requests that use injectSecrets.
	Secrets func(ctx context.Context, refs map[string]string) (map[string]string, error)
}

// Do checks a request against g in part B's order and performs it. A
// response of any HTTP status is a *Response; every refusal and failure
// is an *Error (see ResultJSON for the JS shape).
func (c *Client) Do(ctx context.Context, g Grant, r Request) (*Response, error) {
	capability := g.Capability
	if capability == "" {
		capability = None
	}
	g.Capability = capability
	switch {
	case capability == None:
		return nil, refuse(CodeNetworkNotEnabled, "this extension has no network capability")
	case (capability == Network || capability == NetworkAdvanced) && g.TierLevel < tierForNetwork:
		return nil, refuse(CodeTierRequired, fmt.Sprintf("the %s capability needs a guild of tier %d or higher", capability, tierForNetwork))
	}
	if !c.limiter.allow(g.Guild + "\x00" + g.Extension) {
		return nil, refuse(CodeRateLimit, fmt.Sprintf("more than %d requests in one minute", c.limiter.per))
	}
	_, badURL := r.invalid["url"]
	if r.URL == "" && !badURL {
		return nil, refuse(CodeMissingURL, "options.url is required")
	}
	method := r.method()
	if _, bad := r.invalid["method"]; bad || method != http.MethodGet && method != http.MethodPost {
		return nil, refuse(CodeMethodNotAllowed, "only GET and POST are allowed")
	}
	if badURL {
		return nil, refuse(CodeInvalidURL, r.invalid["url"])
	}
	u, uerr := c.checkURL(r.URL, g)
	if uerr != nil {
		return nil, uerr
	}
	header, herr := c.header(r)
	if herr != nil {
		return nil, herr
	}
	var body []byte
	if method == http.MethodPost {
		b, isJSON, err := r.encodeBody()
		if err != nil {
			return nil, refuse(CodeInvalidOptions, err.Error())
		}
		if len(b) > MaxBodyBytes {
			return nil, refuse(CodeBodyTooLarge, fmt.Sprintf("the body is %d bytes; at most %d are allowed", len(b), MaxBodyBytes))
		}
		if isJSON && header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/json")
		}
		body = b
	}
	if err := c.injectSecrets(ctx, g, r, header); err != nil {
		return nil, err
	}
	// A first look at the addresses gives a clean PRIVATE_IP_BLOCKED or
	// DNS message; the dialer looks again and decides.
	if _, err := c.addrs(ctx, u.Hostname()); err != nil {
		return nil, c.transportError(ctx, err)
	}
	return c.send(ctx, method, u.String(), header, body, r)
}

// header builds the request headers from the code's own.
func (c *Client) header(r Request) (http.Header, *Error) {
	for _, option := range []string{"headers", "injectSecrets"} {
		if why, bad := r.invalid[option]; bad {
			return nil, refuse(CodeInvalidOptions, why)
		}
	}
	if len(r.Headers)+len(r.InjectSecrets) > maxHeaders {
		return nil, refuse(CodeInvalidOptions, fmt.Sprintf("at most %d headers are allowed", maxHeaders))
	}
	h := http.Header{}
	size := 0
	for _, name := range sortedKeys(r.Headers) {
		value := r.Headers[name]
		if why := checkHeader(name, value); why != "" {
			return nil, refuse(CodeInvalidOptions, why)
		}
		size += len(name) + len(value)
		h.Set(name, value)
	}
	for _, name := range sortedKeys(r.InjectSecrets) {
		if why := checkHeader(name, ""); why != "" {
			return nil, refuse(CodeInvalidOptions, "injectSecrets: "+why)
		}
	}
	if size > maxHeaderBytes {
		return nil, refuse(CodeInvalidOptions, fmt.Sprintf("the headers are %d bytes; at most %d are allowed", size, maxHeaderBytes))
	}
	if _, set := h["User-Agent"]; !set {
		h.Set("User-Agent", c.userAgent)
	}
	return h, nil
}

// injectSecrets sets the headers of injectSecrets from the install's
// secrets. The values never appear in an error.
func (c *Client) injectSecrets(ctx context.Context, g Grant, r Request, h http.Header) error {
	if len(r.InjectSecrets) == 0 {
		return nil
	}
	if g.Secrets == nil {
		return &Error{Message: "injectSecrets: secrets are not available"}
	}
	values, err := g.Secrets(ctx, r.InjectSecrets)
	if err != nil {
		return &Error{Message: "injectSecrets: " + err.Error()}
	}
	size := 0
	for name, value := range h {
		size += len(name) + len(strings.Join(value, ""))
	}
	for _, name := range sortedKeys(r.InjectSecrets) {
		value, ok := values[name]
		if !ok || value == "" {
			continue // part B: only secrets set in the install
		}
		if why := checkHeader(name, value); why != "" {
			return refuse(CodeInvalidOptions, "injectSecrets: "+why)
		}
		size += len(name) + len(value)
		h.Set(name, value)
	}
	if size > maxHeaderBytes {
		return refuse(CodeInvalidOptions, fmt.Sprintf("the headers with injected secrets are more than %d bytes", maxHeaderBytes))
	}
	return nil
}

// Causes of a cancelled request, told apart in the error.
var (
	errHeaderTimeout = errors.New("header timeout")
	errBodyTimeout   = errors.New("body timeout")
)

// send performs the checked request. timeoutMs bounds the wait for the
// headers and, afresh, the wait for the body.
func (c *Client) send(parent context.Context, method, target string, header http.Header, body []byte, r Request) (*Response, error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	timeout := r.timeout()
	timer := time.AfterFunc(timeout, func() { cancel(errHeaderTimeout) })
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		timer.Stop()
		return nil, refuse(CodeInvalidURL, "the url cannot be requested")
	}
	req.Header = header
	resp, err := c.http.Do(req)
	timer.Stop()
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	defer resp.Body.Close()

	limit := r.maxBytes()
	if resp.ContentLength > int64(limit) {
		return nil, refuse(CodeResponseTooLarge, fmt.Sprintf("the response is %d bytes; maxBytes is %d", resp.ContentLength, limit))
	}
	timer = time.AfterFunc(timeout, func() { cancel(errBodyTimeout) })
	defer timer.Stop()
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	if len(data) > limit {
		return nil, refuse(CodeResponseTooLarge, fmt.Sprintf("the response is more than maxBytes (%d bytes)", limit))
	}

	out := &Response{Status: resp.StatusCode, Headers: make(map[string][]string, len(resp.Header))}
	for name, values := range resp.Header {
		lower := strings.ToLower(name)
		out.Headers[lower] = append(out.Headers[lower], values...)
	}
	text := string(data)
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	out.Body = text
	if r.ResponseType != "text" && jsonDepthOK(text, maxJSONDepth) && json.Valid([]byte(text)) {
		out.JSON = json.RawMessage(text)
	}
	return out, nil
}

// transportError turns a failure of the request itself into what the
// extension sees: a policy code found on the way (the dialer's
// PRIVATE_IP_BLOCKED), TIMEOUT, or a short message without addresses.
func (c *Client) transportError(ctx context.Context, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errHeaderTimeout):
		return refuse(CodeTimeout, "no response within timeoutMs")
	case errors.Is(cause, errBodyTimeout):
		return refuse(CodeTimeout, "the response body did not arrive within timeoutMs")
	case cause != nil:
		return refuse(CodeTimeout, "the run ended before the response arrived")
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &Error{Message: "DNS lookup failed for " + dnsErr.Name}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return &Error{Message: "connection failed: " + opErr.Err.Error()}
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return &Error{Message: "TLS certificate not trusted: " + certErr.Err.Error()}
	}
	var urlErr interface{ Unwrap() error }
	if errors.As(err, &urlErr) && urlErr.Unwrap() != nil {
		err = urlErr.Unwrap()
	}
	return &Error{Message: "request failed: " + err.Error()}
}

// jsonDepthOK reports whether the JSON text s nests arrays and objects at
// most limit deep (strings are skipped; validity is checked elsewhere).
func jsonDepthOK(s string, limit int) bool {
	depth := 0
	inString, escaped := false, false
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '[' || b == '{':
			depth++
			if depth > limit {
				return false
			}
		case b == ']' || b == '}':
			depth--
		}
	}
	return true
}
