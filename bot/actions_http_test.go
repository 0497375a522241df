package bot

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/skyext/skybot/bot/nethttp"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/store"
)

// httpServer answers /json with a JSON object and echoes the X-Key header
// it got at /key.
func httpServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"anime":"Cowboy Bebop","episodes":26}`)
		case "/key":
			_, _ = io.WriteString(w, `{"key":"`+r.Header.Get("X-Key")+`"}`)
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

var loopbackOnly = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// httpResult is http.request's result as JS sees it.
type httpResult struct {
	Success bool            `json:"success"`
	Status  int             `json:"status"`
	Headers map[string]any  `json:"headers"`
	Body    string          `json:"body"`
	JSON    json.RawMessage `json:"json"`
	Error   string          `json:"error"`
}

// request calls http.request and decodes its result; it must never
// reject.
func (r *rig) request(o extensions.Origin, options any) httpResult {
	r.t.Helper()
	out, err := r.call(o, "http.request", options)
	if err != nil {
		r.t.Fatalf("http.request rejected: %v", err)
	}
	var res httpResult
	if err := json.Unmarshal(out, &res); err != nil {
		r.t.Fatalf("%s: %v", out, err)
	}
	return res
}

// audited reports whether the guild's audit holds an http.request row for
// target with outcome.
func (r *rig) audited(target, outcome string) bool {
	r.t.Helper()
	rows, err := r.store.Audit(context.Background(), store.GuildID(r.origin.GuildID), 0)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, a := range rows {
		if a.Action == "http.request" && a.Target == target && a.Outcome == outcome && a.Actor == "ext:"+r.origin.Extension && a.ExtensionID == r.origin.ExtensionID {
			return true
		}
	}
	return false
}

// logged reports whether the extension's log holds a line containing s.
func (r *rig) logged(s string) bool {
	r.t.Helper()
	logs, err := r.store.Logs(context.Background(), store.GuildID(r.origin.GuildID), r.origin.ExtensionID, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, l := range logs {
		if strings.Contains(l.Message, s) {
			return true
		}
	}
	return false
}

func TestHTTPRequest(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	srv := httpServer(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	hostOnly, _, _ := strings.Cut(host, ":")
	r.exec.SetHTTP(nethttp.New(nethttp.Options{AllowPrivate: loopbackOnly}), []string{"premium"})
	if err := r.store.SetGuildTier(context.Background(), store.GuildID(r.guild.ID), "premium"); err != nil {
		t.Fatal(err)
	}
	origin := func(network string, hosts ...string) extensions.Origin {
		o := r.origin
		o.Network, o.Hosts = network, hosts
		return o
	}
	cases := []struct {
		name    string
		o       extensions.Origin
		options any
		want    httpResult // Success, Status, Error compared
		outcome string
	}{
		{"json reply", origin("network_advanced"), map[string]any{"url": srv.URL + "/json"},
			httpResult{Success: true, Status: 200}, "ok 200"},
		{"an HTTP error status is a reply", origin("network_advanced"), map[string]any{"url": srv.URL + "/teapot", "method": "post"},
			httpResult{Success: true, Status: 418}, "ok 418"},
		{"capability none", origin(""), map[string]any{"url": srv.URL + "/json"},
			httpResult{Error: nethttp.CodeNetworkNotEnabled}, nethttp.CodeNetworkNotEnabled},
		{"legacy none", origin("none"), map[string]any{"url": srv.URL + "/json"},
			httpResult{Error: nethttp.CodeNetworkNotEnabled}, nethttp.CodeNetworkNotEnabled},
		{"network needs https", origin("network"), map[string]any{"url": srv.URL + "/json"},
			httpResult{Error: nethttp.CodeOnlyHTTPS}, nethttp.CodeOnlyHTTPS},
		{"allowlist_only refuses other hosts", origin("allowlist_only"), map[string]any{"url": "https://example.org/"},
			httpResult{Error: nethttp.CodeHostNotAllowed}, nethttp.CodeHostNotAllowed},
		{"@hosts bounds the host", origin("network_advanced", "api.example.org"), map[string]any{"url": srv.URL + "/json"},
			httpResult{Error: nethttp.CodeHostNotAllowed}, nethttp.CodeHostNotAllowed},
		{"part A @hosts, other host", origin("", "api.example.org"), map[string]any{"url": "https://example.org/"},
			httpResult{Error: nethttp.CodeHostNotAllowed}, nethttp.CodeHostNotAllowed},
		{"part A @hosts, https only", origin("", "api.example.org"), map[string]any{"url": "http://api.example.org/"},
			httpResult{Error: nethttp.CodeOnlyHTTPS}, nethttp.CodeOnlyHTTPS},
		{"private address", origin("network_advanced"), map[string]any{"url": "http://10.1.2.3/"},
			httpResult{Error: nethttp.CodePrivateIPBlocked}, nethttp.CodePrivateIPBlocked},
		{"decimal address", origin("network_advanced"), map[string]any{"url": "http://2130706433/"},
			httpResult{Error: nethttp.CodeInvalidHost}, nethttp.CodeInvalidHost},
		{"options that are a string resolve too", origin("network_advanced"), "https://example.org/",
			httpResult{Error: nethttp.CodeMissingURL}, nethttp.CodeMissingURL},
		{"an unset secret is left out", origin("network_advanced"), map[string]any{"url": srv.URL + "/key", "injectSecrets": map[string]any{"X-Key": "api_key"}},
			httpResult{Success: true, Status: 200}, "ok 200"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := r.request(tc.o, tc.options)
			if res.Success != tc.want.Success || res.Status != tc.want.Status || res.Error != tc.want.Error {
				t.Fatalf("got %+v, want %+v", res, tc.want)
			}
			method, target := "GET", ""
			if m, ok := tc.options.(map[string]any); ok {
				if v, ok := m["method"].(string); ok {
					method = strings.ToUpper(v)
				}
				req := nethttp.ParseOptions(mustJSON(t, m))
				_, target = req.Describe()
			}
			if !r.audited(method+" "+target, tc.outcome) {
				t.Fatalf("no audit row %q → %q", method+" "+target, tc.outcome)
			}
			if !tc.want.Success && !r.logged(tc.want.Error) {
				t.Fatalf("the extension's log does not mention %s", tc.want.Error)
			}
		})
	}

	// The JSON reply in part B's shape.
	res := r.request(origin("network_advanced"), map[string]any{"url": srv.URL + "/json"})
	if string(res.JSON) != `{"anime":"Cowboy Bebop","episodes":26}` || res.Headers["content-type"] != "application/json" || res.Body != string(res.JSON) {
		t.Fatalf("reply %+v", res)
	}
	if !r.audited("GET "+hostOnly, "ok 200") {
		t.Fatal("no audit row for the reply")
	}

	// Out of the network tiers, network_advanced is TIER_REQUIRED.
	if err := r.store.SetGuildTier(context.Background(), store.GuildID(r.guild.ID), "free"); err != nil {
		t.Fatal(err)
	}
	if res := r.request(origin("network_advanced"), map[string]any{"url": srv.URL + "/json"}); res.Error != nethttp.CodeTierRequired {
		t.Fatalf("free tier: %+v", res)
	}
	if !r.audited("GET "+hostOnly, nethttp.CodeTierRequired) || !r.logged("TIER_REQUIRED") {
		t.Fatal("TIER_REQUIRED left no audit row or log line")
	}
}

func TestHTTPRequestRateLimit(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.exec.SetHTTP(nethttp.New(nethttp.Options{RequestsPerMinute: 3}), nil)
	o := r.origin
	o.Network = "allowlist_only"
	for i := range 3 {
		if res := r.request(o, map[string]any{}); res.Error != nethttp.CodeMissingURL {
			t.Fatalf("request %d: %+v", i+1, res)
		}
	}
	if res := r.request(o, map[string]any{}); res.Error != nethttp.CodeRateLimit {
		t.Fatalf("4th request: %+v", res)
	}
	if !r.audited("GET ", nethttp.CodeRateLimit) || !r.logged("RATE_LIMIT") {
		t.Fatal("RATE_LIMIT left no audit row or log line")
	}
}

// TestHTTPRequestDefaults: an Executor nobody configured still guards:
// loopback is blocked and no tier may use network_advanced.
func TestHTTPRequestDefaults(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	srv := httpServer(t)
	o := r.origin
	o.Network = "network_advanced"
	if res := r.request(o, map[string]any{"url": srv.URL + "/json"}); res.Error != nethttp.CodeTierRequired {
		t.Fatalf("got %+v, want TIER_REQUIRED", res)
	}
	r.exec.SetHTTP(nethttp.New(nethttp.Options{}), []string{"free"})
	if err := r.store.SetGuildTier(context.Background(), store.GuildID(r.guild.ID), "free"); err != nil {
		t.Fatal(err)
	}
	if res := r.request(o, map[string]any{"url": srv.URL + "/json"}); res.Error != nethttp.CodePrivateIPBlocked {
		t.Fatalf("got %+v, want PRIVATE_IP_BLOCKED", res)
	}
}

// TestHTTPRequestInjectsSecrets: the admin's secret reaches the server as
// a header; the code never sees it and no row records it.
func TestHTTPRequestInjectsSecrets(t *testing.T) {
	t.Parallel()
	key, err := store.ParseSecretKey(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	r := newStoreRig(t, store.WithSecretKey(key))
	srv := httpServer(t)
	r.exec.SetHTTP(nethttp.New(nethttp.Options{AllowPrivate: loopbackOnly}), []string{"free"})
	ctx := context.Background()
	guild := store.GuildID(r.origin.GuildID)
	if err := r.store.SetGuildTier(ctx, guild, "free"); err != nil {
		t.Fatal(err)
	}
	const secret = "s3cret-value"
	if err := r.store.SetSecret(ctx, guild, r.origin.ExtensionID, "api_key", store.NewSecretValue(secret)); err != nil {
		t.Fatal(err)
	}
	o := r.origin
	o.Network = "network_advanced"
	res := r.request(o, map[string]any{"url": srv.URL + "/key", "injectSecrets": map[string]any{"X-Key": "api_key"}})
	if !res.Success || string(res.JSON) != `{"key":"`+secret+`"}` {
		t.Fatalf("got %+v", res)
	}
	rows, err := r.store.Audit(ctx, guild, 0)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := r.store.Logs(ctx, guild, r.origin.ExtensionID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no audit row")
	}
	for _, a := range rows {
		if strings.Contains(a.Target+a.Outcome, secret) {
			t.Fatalf("the audit row %+v holds the secret", a)
		}
	}
	for _, l := range logs {
		if strings.Contains(l.Message+l.Detail, secret) {
			t.Fatalf("the log line %+v holds the secret", l)
		}
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
