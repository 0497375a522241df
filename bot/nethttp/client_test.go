package nethttp

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// echo is a local server whose answers the tests choose by path.
func echo(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Add("X-Multi", "one")
			w.Header().Add("X-Multi", "two")
			_, _ = io.WriteString(w, `{"a":1,"b":[true,null],"html":"<b>&</b>"}`)
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"nope"}`)
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `not json`)
		case "/big":
			_, _ = io.WriteString(w, strings.Repeat("x", 2000))
		case "/big-chunked":
			for range 4 {
				_, _ = io.WriteString(w, strings.Repeat("y", 600))
				w.(http.Flusher).Flush()
			}
		case "/latin1":
			_, _ = w.Write([]byte{'c', 'a', 'f', 0xe9})
		case "/deep":
			_, _ = io.WriteString(w, strings.Repeat("[", 200)+strings.Repeat("]", 200))
		case "/echo":
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"method": r.Method, "body": string(body), "contentType": r.Header.Get("Content-Type"),
				"userAgent": r.Header.Get("User-Agent"), "apiKey": r.Header.Get("X-Api-Key"), "custom": r.Header.Get("X-Custom"),
			})
		case "/stall-headers":
			<-r.Context().Done()
		case "/stall-body":
			_, _ = io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// decode returns ResultJSON's output as a map.
func decode(t *testing.T, resp *Response, err error) map[string]any {
	t.Helper()
	raw, merr := ResultJSON(resp, err)
	if merr != nil {
		t.Fatal(merr)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return m
}

func TestReplies(t *testing.T) {
	t.Parallel()
	srv := echo(t)
	c := New(Options{AllowPrivate: loopback()})
	cases := []struct {
		name    string
		options map[string]any
		check   func(t *testing.T, m map[string]any)
	}{
		{"json", map[string]any{"url": srv.URL + "/json"}, func(t *testing.T, m map[string]any) {
			want := map[string]any{"a": 1.0, "b": []any{true, nil}, "html": "<b>&</b>"}
			if m["success"] != true || m["status"] != 200.0 || !jsonEqual(m["json"], want) {
				t.Fatalf("got %v", m)
			}
			h := m["headers"].(map[string]any)
			if h["content-type"] != "application/json" || !jsonEqual(h["x-multi"], []any{"one", "two"}) {
				t.Fatalf("headers %v", h)
			}
			if m["body"] != `{"a":1,"b":[true,null],"html":"<b>&</b>"}` {
				t.Fatalf("body %q", m["body"])
			}
		}},
		{"404 is a response", map[string]any{"url": srv.URL + "/missing"}, func(t *testing.T, m map[string]any) {
			if m["success"] != true || m["status"] != 404.0 || !jsonEqual(m["json"], map[string]any{"error": "nope"}) {
				t.Fatalf("got %v", m)
			}
		}},
		{"500 with a body that is not json", map[string]any{"url": srv.URL + "/broken"}, func(t *testing.T, m map[string]any) {
			if m["success"] != true || m["status"] != 500.0 || m["json"] != nil || m["body"] != "not json" {
				t.Fatalf("got %v", m)
			}
		}},
		{"text", map[string]any{"url": srv.URL + "/json", "responseType": "text"}, func(t *testing.T, m map[string]any) {
			if m["success"] != true || m["json"] != nil || !strings.HasPrefix(m["body"].(string), `{"a":1`) {
				t.Fatalf("got %v", m)
			}
		}},
		{"unknown responseType means json", map[string]any{"url": srv.URL + "/json", "responseType": "blob"}, func(t *testing.T, m map[string]any) {
			if m["json"] == nil {
				t.Fatalf("got %v", m)
			}
		}},
		{"method in lower case", map[string]any{"url": srv.URL + "/echo", "method": "post", "body": "x"}, func(t *testing.T, m map[string]any) {
			if m["json"].(map[string]any)["method"] != "POST" {
				t.Fatalf("got %v", m)
			}
		}},
		{"invalid UTF-8 is replaced", map[string]any{"url": srv.URL + "/latin1", "responseType": "text"}, func(t *testing.T, m map[string]any) {
			if m["body"] != "caf\uFFFD" {
				t.Fatalf("body %q", m["body"])
			}
		}},
		{"json nested too deep is null", map[string]any{"url": srv.URL + "/deep"}, func(t *testing.T, m map[string]any) {
			if m["success"] != true || m["json"] != nil || len(m["body"].(string)) != 400 {
				t.Fatalf("got %v", m)
			}
		}},
		{"too large, known length", map[string]any{"url": srv.URL + "/big", "maxBytes": 1500}, failsWith(CodeResponseTooLarge)},
		{"too large, chunked", map[string]any{"url": srv.URL + "/big-chunked", "maxBytes": 2000}, failsWith(CodeResponseTooLarge)},
		{"maxBytes is clamped up to 1024", map[string]any{"url": srv.URL + "/json", "maxBytes": 10}, func(t *testing.T, m map[string]any) {
			if m["success"] != true {
				t.Fatalf("got %v", m)
			}
		}},
		{"exactly maxBytes", map[string]any{"url": srv.URL + "/big", "maxBytes": 2000}, func(t *testing.T, m map[string]any) {
			if m["success"] != true || len(m["body"].(string)) != 2000 {
				t.Fatalf("got %v", m)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := open()
			g.Extension = tc.name
			resp, err := c.Do(context.Background(), g, options(t, tc.options))
			tc.check(t, decode(t, resp, err))
		})
	}
}

func failsWith(code string) func(t *testing.T, m map[string]any) {
	return func(t *testing.T, m map[string]any) {
		t.Helper()
		if m["success"] != false || m["error"] != code {
			t.Fatalf("got %v, want error %s", m, code)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestPost(t *testing.T) {
	t.Parallel()
	srv := echo(t)
	c := New(Options{AllowPrivate: loopback()})
	secrets := func(_ context.Context, refs map[string]string) (map[string]string, error) {
		out := map[string]string{}
		for header, field := range refs {
			if field == "api_key" {
				out[header] = "s3cret"
			}
		}
		return out, nil
	}
	type seen struct {
		Method, Body, ContentType, UserAgent, APIKey, Custom string
	}
	cases := []struct {
		name    string
		options map[string]any
		want    seen
	}{
		{"object body is json", map[string]any{"method": "POST", "body": map[string]any{"x": 1, "s": "é"}},
			seen{Method: "POST", Body: `{"s":"é","x":1}`, ContentType: "application/json", UserAgent: DefaultUserAgent}},
		{"array body is json", map[string]any{"method": "POST", "body": []int{1, 2}},
			seen{Method: "POST", Body: `[1,2]`, ContentType: "application/json", UserAgent: DefaultUserAgent}},
		{"string body as it is", map[string]any{"method": "POST", "body": "a=1&b=2"},
			seen{Method: "POST", Body: "a=1&b=2", UserAgent: DefaultUserAgent}},
		{"content-type given is kept", map[string]any{"method": "POST", "body": map[string]any{}, "headers": map[string]any{"content-type": "application/vnd.x+json"}},
			seen{Method: "POST", Body: `{}`, ContentType: "application/vnd.x+json", UserAgent: DefaultUserAgent}},
		{"GET sends no body", map[string]any{"body": map[string]any{"x": 1}},
			seen{Method: "GET", UserAgent: DefaultUserAgent}},
		{"headers and user-agent", map[string]any{"headers": map[string]any{"User-Agent": "mine/2", "X-Custom": 42}},
			seen{Method: "GET", UserAgent: "mine/2", Custom: "42"}},
		{"injected secret", map[string]any{"injectSecrets": map[string]any{"X-Api-Key": "api_key", "X-Other": "unset_field"}},
			seen{Method: "GET", UserAgent: DefaultUserAgent, APIKey: "s3cret"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := open()
			g.Extension, g.Secrets = tc.name, secrets
			o := tc.options
			o["url"] = srv.URL + "/echo"
			resp, err := c.Do(context.Background(), g, options(t, o))
			if err != nil {
				t.Fatal(err)
			}
			var got seen
			if err := json.Unmarshal(resp.JSON, &got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("the server saw %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRefusalsBeforeTheRequest(t *testing.T) {
	t.Parallel()
	srv := echo(t)
	c := New(Options{AllowPrivate: loopback()})
	cases := []struct {
		name    string
		secrets bool
		options map[string]any
		code    string
		message string
	}{
		{name: "body one byte too large", options: map[string]any{"method": "POST", "body": strings.Repeat("a", MaxBodyBytes+1)}, code: CodeBodyTooLarge},
		{name: "json body too large", options: map[string]any{"method": "POST", "body": map[string]any{"k": strings.Repeat("a", MaxBodyBytes)}}, code: CodeBodyTooLarge},
		{name: "a large body is fine for GET", options: map[string]any{"body": strings.Repeat("a", MaxBodyBytes+1)}},
		{name: "header value with a newline", options: map[string]any{"headers": map[string]any{"X-A": "1\r\nX-B: 2"}}, code: CodeInvalidOptions},
		{name: "host header", options: map[string]any{"headers": map[string]any{"Host": "other.example"}}, code: CodeInvalidOptions},
		{name: "header that is an object", options: map[string]any{"headers": map[string]any{"X-A": map[string]any{}}}, code: CodeInvalidOptions},
		{name: "headers that are a string", options: map[string]any{"headers": "X-A: 1"}, code: CodeInvalidOptions},
		{name: "header name with a space", options: map[string]any{"headers": map[string]any{"X A": "1"}}, code: CodeInvalidOptions},
		{name: "injectSecrets value not a string", options: map[string]any{"injectSecrets": map[string]any{"X-A": 1}}, code: CodeInvalidOptions},
		{name: "injectSecrets without secrets", options: map[string]any{"injectSecrets": map[string]any{"X-A": "f"}}, message: "injectSecrets: secrets are not available"},
		{name: "invalid options come before BODY_TOO_LARGE", options: map[string]any{"method": "POST", "headers": "x", "body": strings.Repeat("a", MaxBodyBytes+1)}, code: CodeInvalidOptions},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := open()
			g.Extension = tc.name
			o := tc.options
			o["url"] = srv.URL + "/echo"
			_, err := c.Do(context.Background(), g, options(t, o))
			if tc.code == "" && tc.message == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e := AsError(err)
			if e.Code != tc.code || tc.message != "" && e.Message != tc.message {
				t.Fatalf("got %#v, want code %q message %q", e, tc.code, tc.message)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	srv := echo(t)
	c := New(Options{AllowPrivate: loopback()})
	for _, path := range []string{"/stall-headers", "/stall-body"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			g := open()
			g.Extension = path
			// 1 ms is clamped to the least timeout, one second.
			_, err := c.Do(context.Background(), g, options(t, map[string]any{"url": srv.URL + path, "timeoutMs": 1}))
			if codeOf(t, err) != CodeTimeout {
				t.Fatalf("got %v, want TIMEOUT", err)
			}
		})
	}
	t.Run("the run's context ends the request", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		g := open()
		g.Extension = "cancelled"
		_, err := c.Do(ctx, g, options(t, map[string]any{"url": srv.URL + "/json"}))
		if err == nil {
			t.Fatal("a cancelled request succeeded")
		}
	})
}

func TestClamps(t *testing.T) {
	t.Parallel()
	cases := []struct {
		options  string
		timeout  time.Duration
		maxBytes int
	}{
		{`{}`, 6 * time.Second, 1 << 20},
		{`{"timeoutMs": 1, "maxBytes": 1}`, time.Second, 1024},
		{`{"timeoutMs": -5, "maxBytes": -5}`, time.Second, 1024},
		{`{"timeoutMs": 99999, "maxBytes": 1e12}`, 15 * time.Second, 1 << 20},
		{`{"timeoutMs": 2500.7, "maxBytes": 4096}`, 2500 * time.Millisecond, 4096},
		{`{"timeoutMs": "5000", "maxBytes": true}`, 6 * time.Second, 1 << 20},
		{`{"timeoutMs": null}`, 6 * time.Second, 1 << 20},
	}
	for _, c := range cases {
		r := ParseOptions(json.RawMessage(c.options))
		if r.timeout() != c.timeout || r.maxBytes() != c.maxBytes {
			t.Errorf("%s: timeout %s maxBytes %d, want %s and %d", c.options, r.timeout(), r.maxBytes(), c.timeout, c.maxBytes)
		}
	}
}

// TestAllowlistOverTLS serves https://example.com (and its subdomain) from
// a local TLS server: the capabilities that pass the policy get the reply.
func TestAllowlistOverTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"host":"`+r.Host+`"}`)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	res := newResolver(map[string][][]string{"example.com": {{"127.0.0.1"}}, "api.example.com": {{"127.0.0.1"}}})
	c := New(Options{Allowlist: []string{"example.com"}, AllowPrivate: loopback(), Resolver: res})
	c.testPort = u.Port()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c.transport.TLSClientConfig.RootCAs = pool

	cases := []struct {
		name string
		g    Grant
		url  string
		code string
	}{
		{"allowlist_only needs no tier", Grant{Capability: Allowlist}, "https://example.com/", ""},
		{"allowlist_only subdomain", Grant{Capability: Allowlist}, "https://api.example.com/x", ""},
		{"allowlist_only and manifest hosts", Grant{Capability: Allowlist, Hosts: []string{"api.example.com"}}, "https://api.example.com/", ""},
		{"allowlist_only, host not in manifest", Grant{Capability: Allowlist, Hosts: []string{"api.example.com"}}, "https://example.com/", CodeHostNotAllowed},
		{"manifest hosts", Grant{Capability: ManifestHosts, Hosts: []string{"*.example.com"}}, "https://api.example.com/", ""},
		{"network", Grant{Capability: Network, Approved: true, TierLevel: 2}, "https://example.com/", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.g.Extension = tc.name
			resp, err := c.Do(context.Background(), tc.g, Request{URL: tc.url})
			if got := codeOf(t, err); got != tc.code {
				t.Fatalf("got %v, want %q", err, tc.code)
			}
			if tc.code == "" && (resp.Status != 200 || !strings.Contains(string(resp.JSON), "example.com")) {
				t.Fatalf("got %d %s", resp.Status, resp.Body)
			}
		})
	}
}

func TestResultJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		resp *Response
		err  error
		want string
	}{
		{"refusal", nil, refuse(CodeHostNotAllowed, "x is not listed"), `{"success":false,"error":"HOST_NOT_ALLOWED","message":"x is not listed"}`},
		{"transport failure", nil, &Error{Message: "connection failed: connection refused"}, `{"success":false,"error":"connection failed: connection refused","message":"connection failed: connection refused"}`},
		{"response", &Response{Status: 302, Headers: map[string][]string{"location": {"/a"}, "set-cookie": {"a=1", "b=2"}}, Body: "<p>&</p>"},
			nil, `{"success":true,"status":302,"headers":{"location":"/a","set-cookie":["a=1","b=2"]},"body":"<p>&</p>","json":null}`},
	}
	for _, c := range cases {
		got, err := ResultJSON(c.resp, c.err)
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %s, %v\nwant %s", c.name, got, err, c.want)
		}
	}
}
