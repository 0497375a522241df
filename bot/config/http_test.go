package config

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/skyext/skybot/extensions/skyerr"
)

func TestHTTPSection(t *testing.T) {
	t.Parallel()
	c, err := parse("config.toml", []byte(`[http]
allowlist = ["api.example.org"]
allow_private = ["10.20.0.0/16", "fd00::/8"]
requests_per_minute = 60
user_agent = "skybot-extensions/1.0"
network_tiers = ["premium"]
`))
	if err != nil {
		t.Fatal(err)
	}
	h := c.HTTP
	if len(h.Allowlist) != 1 || h.RequestsPerMinute != 60 || h.UserAgent != "skybot-extensions/1.0" || h.NetworkTiers[0] != "premium" {
		t.Fatalf("%+v", h)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("fd00::/8")}
	if got := h.AllowPrivatePrefixes(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("AllowPrivatePrefixes = %v", got)
	}

	for _, tc := range []struct{ file, want string }{
		{"[http]\nallowlist = [\"not a host\"]\n", `http.allowlist entry "not a host"`},
		{"[http]\nallow_private = [\"10.0.0.0\"]\n", `http.allow_private entry "10.0.0.0" is not a CIDR`},
		{"[http]\nallow_private = [\"10.1.2.3/8\"]\n", `write "10.0.0.0/8"`},
		{"[http]\nrequests_per_minute = 0\n", "http.requests_per_minute is 0"},
		{"[http]\nuser_agent = \"\"\n", "http.user_agent"},
		{"[http]\nuser_agent = \"a\\nb\"\n", "http.user_agent"},
		{"[http]\nnetwork_tiers = [\"gold\"]\n", `http.network_tiers names "gold"`},
		{"[tiers.free]\n[http]\nnetwork_tiers = [\"premium\"]\n", `http.network_tiers names "premium"`},
	} {
		_, err := parse("config.toml", []byte(tc.file))
		if !skyerr.Is(err, skyerr.InvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.file, err, tc.want)
		}
	}
}
