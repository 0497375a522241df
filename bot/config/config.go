// Package config is skybot's operator configuration: a TOML file decoded
// over Default(), checked by Validate, plus the bot token, which comes only
// from the environment.
//
// config.example.toml at the repository root documents every key with its
// default; a test keeps it equal to Default().
package config

import (
	"encoding"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"github.com/robfig/cron/v3"

	"github.com/skyext/skybot/bot/nethttp"
	"github.com/skyext/skybot/extensions/skyerr"
)

// TokenEnv is the environment variable that holds the bot token.
const TokenEnv = "SKYBOT_TOKEN"

// Config is everything the operator sets. The toml tags are the file's keys.
type Config struct {
	Discord    Discord    `toml:"discord"`
	Store      Store      `toml:"store"`
	Bot        Bot        `toml:"bot"`
	Sandbox    Sandbox    `toml:"sandbox"`
	Extensions Extensions `toml:"extensions"`
	Log        Log        `toml:"log"`
	Ops        Ops        `toml:"ops"`
	HTTP       HTTP       `toml:"http"`
	Gallery    Gallery    `toml:"gallery"`
	// Tiers are the levels of service, by name ([tiers.free], ...).
	Tiers map[string]Tier `toml:"tiers"`
}

// Discord is how skybot meets Discord.
type Discord struct {
	// Token is the bot token. It is read only from $SKYBOT_TOKEN (FromEnv),
	// never from the file, and logs and prints as REDACTED.
	Token Secret `toml:"-"`
	// CommandGuildID registers skybot's slash commands in this one guild,
	// where they appear at once (for development); empty registers them
	// globally.
	CommandGuildID string `toml:"command_guild_id"`
	// MessageContentIntent asks for the privileged Message Content intent,
	// which prefix commands and keywords need.
	MessageContentIntent bool `toml:"message_content_intent"`
}

// Store is where skybot keeps its data.
type Store struct {
	// Path is the SQLite database file, created if missing.
	Path string `toml:"path"`
}

// Bot is skybot's behaviour in guilds.
type Bot struct {
	// Prefix starts a prefix command ("!hello") in a guild that has not
	// chosen its own.
	Prefix string `toml:"prefix"`
}

// Sandbox limits each run of extension code.
type Sandbox struct {
	// Timeout is the wall-clock limit of one invocation, its whole promise
	// chain included.
	Timeout Duration `toml:"timeout"`
	// MaxCallStack is the deepest JS call stack, in frames.
	MaxCallStack int `toml:"max_call_stack"`
	// MaxHostCalls is how many host API calls one invocation may make.
	MaxHostCalls int `toml:"max_host_calls"`
	// MemoryLimitMB is what one run may allocate (the sandbox's
	// allocation meter stops it past this).
	MemoryLimitMB int `toml:"memory_limit_mb"`
	// SuspendAfter failures within SuspendWindow suspend an extension in
	// its guild until an admin enables it again.
	SuspendAfter  int      `toml:"suspend_after"`
	SuspendWindow Duration `toml:"suspend_window"`
	// QuarantineAfter runs of one version that end their sandbox worker
	// (stuck in native code, a native stack overflow, the worker's memory
	// limit) within SuspendWindow, in any guilds,
	// quarantine that version everywhere; 0 never does.
	QuarantineAfter int `toml:"quarantine_after"`
	// SyscallFilter has each sandbox worker install a seccomp filter that
	// refuses files, sockets, exec and signals to other processes. Turn
	// it off only on a kernel that refuses it (workers then do not start).
	SyscallFilter bool `toml:"syscall_filter"`
}

// Extensions limits what admins may install.
type Extensions struct {
	// MaxAttachmentBytes is the largest attachment skybot reads at all.
	MaxAttachmentBytes int64 `toml:"max_attachment_bytes"`
	// MaxSourceBytes is the largest .skyext source accepted.
	MaxSourceBytes int64 `toml:"max_source_bytes"`
	// AllowUnreviewedUploads lets guild admins install a .skyext they attach
	// to /ext install, which has not been through the marketplace review.
	AllowUnreviewedUploads bool `toml:"allow_unreviewed_uploads"`
	// SystemDir holds .skyext/.skypkg files installed into every guild
	// skybot is in, as system extensions (disable-able, not removable);
	// empty for none.
	SystemDir string `toml:"system_dir"`
	// AutoUpdate is how far a newly published gallery version updates the
	// guilds running an older one by itself: "none", "patch" (same
	// major.minor) or "minor" (same major). A guild's policy can choose
	// otherwise; an update that asks for new scopes always waits for
	// the admin.
	AutoUpdate string `toml:"auto_update"`
}

// Gallery is the marketplace every guild shares: who reviews submissions,
// where the review cards and support threads go, how featured rotates.
type Gallery struct {
	// Maintainers are user IDs that may claim, approve and reject
	// submitted versions.
	Maintainers []string `toml:"maintainers"`
	// MaintainerRole is a role ID whose members are maintainers too, in
	// the guild of the review channel; empty for none.
	MaintainerRole string `toml:"maintainer_role"`
	// Admins are user IDs that may do everything maintainers do and manage
	// the gallery itself (feature, unlist, ban an author).
	Admins []string `toml:"admins"`
	// ReviewChannelID is the text channel where skybot posts a review card
	// for each submitted version; empty keeps the queue to /review queue.
	ReviewChannelID string `toml:"review_channel_id"`
	// SupportForumID is a forum channel where each published extension
	// gets a support thread; empty for none.
	SupportForumID string `toml:"support_forum_id"`
	// FeaturedSchedule is a cron spec (robfig/cron) on which skybot picks
	// the featured extensions from the best rated; empty turns it off.
	FeaturedSchedule string `toml:"featured_schedule"`
	// FeaturedCount is how many extensions are featured at a time.
	FeaturedCount int `toml:"featured_count"`
}

// Log is skybot's own log, written to standard error.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn or error
	Format string `toml:"format"` // text or json
}

// Ops is the operator's HTTP endpoint: Prometheus metrics at /metrics and
// a health check at /healthz.
type Ops struct {
	// Listen is the host:port the endpoint listens on; empty turns it off.
	// Anyone who can reach it can read the metrics, which name extensions:
	// keep it on a loopback or otherwise private address.
	Listen string `toml:"listen"`
}

// HTTP is the guarded client behind extensions' http.request (package
// bot/nethttp): what it may reach besides the public internet's https
// hosts, and how often.
type HTTP struct {
	// Allowlist is the hosts, with their subdomains, that extensions whose
	// network capability is allowlist_only may reach.
	Allowlist []string `toml:"allowlist"`
	// AllowPrivate are CIDR ranges requests may reach although they are
	// loopback, private or otherwise internal (an operator's own service).
	AllowPrivate []string `toml:"allow_private"`
	// RequestsPerMinute is the limit per (guild, extension).
	RequestsPerMinute int `toml:"requests_per_minute"`
	// UserAgent is sent when the extension sets none.
	UserAgent string `toml:"user_agent"`
	// NetworkTiers are the tiers whose guilds may use the network and
	// network_advanced capabilities (SkynetBot's "tier 2").
	NetworkTiers []string `toml:"network_tiers"`
}

// AllowPrivatePrefixes returns AllowPrivate parsed; entries that do not
// parse (Validate refuses them) are left out.
func (h HTTP) AllowPrivatePrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range h.AllowPrivate {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// validate checks the [http] keys; tiers are the configured tiers.
func (h HTTP) validate(tiers map[string]Tier) error {
	bad := func(format string, args ...any) error {
		return skyerr.New(skyerr.InvalidConfig, format, args...)
	}
	for _, host := range h.Allowlist {
		if !hostName.MatchString(host) || len(host) > 253 {
			return bad("http.allowlist entry %q is not a host name (e.g. \"api.example.com\"; its subdomains are included)", host)
		}
	}
	for _, cidr := range h.AllowPrivate {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return bad("http.allow_private entry %q is not a CIDR range such as \"10.20.0.0/16\"", cidr)
		}
		if p != p.Masked() {
			return bad("http.allow_private entry %q has bits set past its prefix length; write %q", cidr, p.Masked().String())
		}
	}
	if h.RequestsPerMinute < 1 || h.RequestsPerMinute > maxHTTPPerMinute {
		return bad("http.requests_per_minute is %d; it must be between 1 and %d", h.RequestsPerMinute, maxHTTPPerMinute)
	}
	if h.UserAgent == "" || len(h.UserAgent) > 256 || strings.IndexFunc(h.UserAgent, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
		return bad("http.user_agent is %q; it must be 1 to 256 printable ASCII characters", h.UserAgent)
	}
	for _, name := range h.NetworkTiers {
		if _, ok := tiers[name]; !ok {
			return bad("http.network_tiers names %q, which is not a tier of [tiers]; list existing tiers, or [] for none", name)
		}
	}
	return nil
}

// maxHTTPPerMinute bounds http.requests_per_minute.
const maxHTTPPerMinute = 10_000

// Default returns the configuration skybot runs with when the file sets
// nothing. config.example.toml shows the same values.
func Default() Config {
	return Config{
		Discord: Discord{MessageContentIntent: true},
		Store:   Store{Path: "skybot.db"},
		Bot:     Bot{Prefix: "!"},
		Sandbox: Sandbox{
			Timeout:         Duration{5 * time.Second},
			MaxCallStack:    512,
			MaxHostCalls:    50,
			MemoryLimitMB:   128,
			SuspendAfter:    5,
			QuarantineAfter: 3,
			SuspendWindow:   Duration{10 * time.Minute},
			SyscallFilter:   true,
		},
		Extensions: Extensions{
			MaxAttachmentBytes:     1 << 20,
			MaxSourceBytes:         256 << 10,
			AllowUnreviewedUploads: true,
			AutoUpdate:             "none",
		},
		Log: Log{Level: "info", Format: "text"},
		Ops: Ops{Listen: "127.0.0.1:9464"},
		HTTP: HTTP{
			Allowlist:         nethttp.DefaultAllowlist(),
			AllowPrivate:      []string{},
			RequestsPerMinute: nethttp.DefaultRequestsPerMinute,
			UserAgent:         nethttp.DefaultUserAgent,
			NetworkTiers:      []string{},
		},
		Gallery: Gallery{
			Maintainers:      []string{},
			Admins:           []string{},
			FeaturedSchedule: "0 12 * * 1",
			FeaturedCount:    5,
		},
		Tiers: map[string]Tier{
			DefaultTier: {MaxInstalls: 25, StorageEntries: 10_000, StorageBytes: 4 << 20},
			"premium":   {Timeout: Duration{10 * time.Second}, MaxHostCalls: 200, MemoryLimitMB: 256, MaxInstalls: 100, StorageEntries: 100_000, StorageBytes: 64 << 20, PremiumExtensions: true},
		},
	}
}

// DefaultTier is the tier every guild starts in; config must define it.
const DefaultTier = "free"

// Tier is a level of service the operator assigns to guilds with
// "skybot tier". A zero field takes the [sandbox] value.
type Tier struct {
	// Timeout is the wall-clock limit of one run.
	Timeout Duration `toml:"timeout"`
	// MaxHostCalls is the host API calls one run may make.
	MaxHostCalls int `toml:"max_host_calls"`
	// MemoryLimitMB is what one run may allocate.
	MemoryLimitMB int `toml:"memory_limit_mb"`
	// MaxInstalls is how many extensions a guild may install (0: no limit).
	MaxInstalls int `toml:"max_installs"`
	// StorageEntries and StorageBytes bound each install's storage (keys
	// plus values); 0 takes the default tier's value, and the default
	// tier's 0 means no limit.
	StorageEntries int   `toml:"storage_entries"`
	StorageBytes   int64 `toml:"storage_bytes"`
	// PremiumExtensions lets the tier's guilds install the gallery
	// extensions administrators marked premium.
	PremiumExtensions bool `toml:"premium_extensions"`
}

// TierLimits returns tier name with its zero fields filled from [sandbox].
// An unknown name (a tier removed from config) gives the default tier and
// false.
func (c Config) TierLimits(name string) (Tier, bool) {
	t, ok := c.Tiers[name]
	if !ok {
		t = c.Tiers[DefaultTier]
	}
	if t.Timeout.Duration == 0 {
		t.Timeout = c.Sandbox.Timeout
	}
	if t.MaxHostCalls == 0 {
		t.MaxHostCalls = c.Sandbox.MaxHostCalls
	}
	if t.MemoryLimitMB == 0 {
		t.MemoryLimitMB = c.Sandbox.MemoryLimitMB
	}
	if t.StorageEntries == 0 {
		t.StorageEntries = c.Tiers[DefaultTier].StorageEntries
	}
	if t.StorageBytes == 0 {
		t.StorageBytes = c.Tiers[DefaultTier].StorageBytes
	}
	return t, ok
}

// Load returns Default() overlaid with the TOML file at path, validated.
// An empty path means the defaults alone. Errors are E_INVALID_CONFIG with
// a sentence that names the file and the key.
func Load(path string) (Config, error) {
	if path == "" {
		c := Default()
		return c, c.Validate()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Config{}, skyerr.Wrap(err, skyerr.InvalidConfig, "%s: the file does not exist", path)
		}
		return Config{}, skyerr.Wrap(err, skyerr.InvalidConfig, "%s: the file cannot be read", path)
	}
	return parse(path, data)
}

// parse decodes data, read from the file name, over Default() and
// validates the result.
func parse(name string, data []byte) (Config, error) {
	c := Default()
	// A file that defines tiers defines all of them: the default tiers are
	// not merged in (a tier the operator did not write would linger).
	var probe struct {
		Tiers map[string]any `toml:"tiers"`
	}
	if _, err := toml.Decode(string(data), &probe); err == nil && probe.Tiers != nil {
		c.Tiers = nil
	}
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return Config{}, decodeError(name, err)
	}
	if err := unknownKeys(name, md.Undecoded()); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		e := skyerr.From(err)
		return Config{}, skyerr.Wrap(e.Err, skyerr.InvalidConfig, "%s: %s", name, e.Message)
	}
	return c, nil
}

// decodeError turns a TOML syntax or type error into one sentence.
func decodeError(name string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		where := fmt.Sprintf("%s line %d", name, pe.Position.Line)
		if pe.LastKey != "" {
			where += fmt.Sprintf(" (key %q)", pe.LastKey)
		}
		return skyerr.Wrap(err, skyerr.InvalidConfig, "%s: %s", where, oneLine(pe.Message))
	}
	// Type mismatches read `toml: line 3 (last key "x"): incompatible ...`.
	msg := oneLine(err.Error())
	if m := typeErrorPrefix.FindStringSubmatch(msg); m != nil {
		return skyerr.Wrap(err, skyerr.InvalidConfig, "%s line %s (key %s): %s", name, m[1], m[2], msg[len(m[0]):])
	}
	return skyerr.Wrap(err, skyerr.InvalidConfig, "%s: %s", name, strings.TrimPrefix(msg, "toml: "))
}

var typeErrorPrefix = regexp.MustCompile(`^toml: line ([0-9]+) \(last key ("[^"]*")\): `)

// unknownKeys rejects keys the file sets that Config does not have; a
// token gets its own sentence, since it belongs in the environment.
func unknownKeys(name string, undecoded []toml.Key) error {
	if len(undecoded) == 0 {
		return nil
	}
	for _, k := range undecoded {
		if strings.Contains(strings.ToLower(k[len(k)-1]), "token") {
			return skyerr.New(skyerr.InvalidConfig,
				"%s: key %q is not allowed: the bot token is read only from the %s environment variable, never from a file",
				name, k.String(), TokenEnv)
		}
	}
	// Keys inside an unknown table are not worth naming separately.
	var unknown []string
	for _, k := range undecoded {
		key := k.String()
		if len(unknown) > 0 && strings.HasPrefix(key, unknown[len(unknown)-1]+".") {
			continue
		}
		unknown = append(unknown, key)
	}
	msg := fmt.Sprintf("%s: unknown key %q", name, unknown[0])
	if guess := nearestKey(unknown[0]); guess != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", guess)
	}
	if n := len(unknown) - 1; n > 0 {
		msg += fmt.Sprintf(" and %d more unknown", n)
	}
	return skyerr.New(skyerr.InvalidConfig, "%s", msg)
}

// FromEnv reads the bot token from $SKYBOT_TOKEN (surrounding space and a
// leading "Bot " are dropped). An unset variable leaves the token empty.
func (c *Config) FromEnv(getenv func(string) string) {
	t := strings.TrimSpace(getenv(TokenEnv))
	t = strings.TrimSpace(strings.TrimPrefix(t, "Bot "))
	c.Discord.Token = Secret(t)
}

// RequireToken reports an error when no token was read; commands that talk
// to real Discord call it, the emulator does not need one.
func (c Config) RequireToken() error {
	if c.Discord.Token == "" {
		return skyerr.New(skyerr.InvalidConfig, "no bot token: set %s in the environment", TokenEnv)
	}
	return nil
}

// Limits of the values Validate accepts.
const (
	minTimeout       = 100 * time.Millisecond
	maxTimeout       = 10 * time.Second
	minCallStack     = 32
	maxCallStack     = 10_000
	maxHostCalls     = 10_000
	minMemoryLimitMB = 64 // an idle Go worker process uses some 46 MB of data
	maxMemoryLimitMB = 16 << 10
	maxAttachment    = 64 << 20 // an attachment is read into memory whole
	maxPrefixLen     = 8
)

// Validate checks every value against its allowed range and returns the
// first problem as E_INVALID_CONFIG with a sentence naming the key.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return skyerr.New(skyerr.InvalidConfig, format, args...)
	}
	switch {
	case c.Discord.CommandGuildID != "" && !isSnowflake(c.Discord.CommandGuildID):
		return bad("discord.command_guild_id is %q; it must be a guild ID (digits only) or empty", c.Discord.CommandGuildID)
	case c.Store.Path == "":
		return bad("store.path is empty; it must name the SQLite database file")
	case c.Bot.Prefix == "" || utf8.RuneCountInString(c.Bot.Prefix) > maxPrefixLen || strings.IndexFunc(c.Bot.Prefix, unicode.IsSpace) >= 0:
		return bad("bot.prefix is %q; it must be 1 to %d characters without spaces", c.Bot.Prefix, maxPrefixLen)
	case c.Sandbox.Timeout.Duration < minTimeout || c.Sandbox.Timeout.Duration > maxTimeout:
		return bad("sandbox.timeout is %s; it must be between %s and %s", c.Sandbox.Timeout, minTimeout, maxTimeout)
	case c.Sandbox.MaxCallStack < minCallStack || c.Sandbox.MaxCallStack > maxCallStack:
		return bad("sandbox.max_call_stack is %d; it must be between %d and %d", c.Sandbox.MaxCallStack, minCallStack, maxCallStack)
	case c.Sandbox.MaxHostCalls < 1 || c.Sandbox.MaxHostCalls > maxHostCalls:
		return bad("sandbox.max_host_calls is %d; it must be between 1 and %d", c.Sandbox.MaxHostCalls, maxHostCalls)
	case c.Sandbox.MemoryLimitMB < minMemoryLimitMB || c.Sandbox.MemoryLimitMB > maxMemoryLimitMB:
		return bad("sandbox.memory_limit_mb is %d; it must be between %d and %d", c.Sandbox.MemoryLimitMB, minMemoryLimitMB, maxMemoryLimitMB)
	case c.Extensions.MaxAttachmentBytes < 1 || c.Extensions.MaxAttachmentBytes > maxAttachment:
		return bad("extensions.max_attachment_bytes is %d; it must be between 1 and %d", c.Extensions.MaxAttachmentBytes, maxAttachment)
	case c.Extensions.MaxSourceBytes < 1 || c.Extensions.MaxSourceBytes > c.Extensions.MaxAttachmentBytes:
		return bad("extensions.max_source_bytes is %d; it must be between 1 and extensions.max_attachment_bytes (%d)",
			c.Extensions.MaxSourceBytes, c.Extensions.MaxAttachmentBytes)
	case !oneOf(c.Extensions.AutoUpdate, "none", "patch", "minor"):
		return bad("extensions.auto_update is %q; it must be none, patch or minor", c.Extensions.AutoUpdate)
	case !oneOf(c.Log.Level, "debug", "info", "warn", "error"):
		return bad("log.level is %q; it must be debug, info, warn or error", c.Log.Level)
	case !oneOf(c.Log.Format, "text", "json"):
		return bad("log.format is %q; it must be text or json", c.Log.Format)
	case c.Ops.Listen != "" && !isListenAddr(c.Ops.Listen):
		return bad("ops.listen is %q; it must be host:port with a port from 1 to 65535 (e.g. \"127.0.0.1:9464\"), or empty to turn the endpoint off", c.Ops.Listen)
	case c.Sandbox.SuspendAfter < 1 || c.Sandbox.SuspendAfter > 1000:
		return bad("sandbox.suspend_after is %d; it must be between 1 and 1000", c.Sandbox.SuspendAfter)
	case c.Sandbox.QuarantineAfter < 0 || c.Sandbox.QuarantineAfter > 1000:
		return bad("sandbox.quarantine_after is %d; it must be between 0 (never) and 1000", c.Sandbox.QuarantineAfter)
	case c.Sandbox.SuspendWindow.Duration < time.Second || c.Sandbox.SuspendWindow.Duration > 24*time.Hour:
		return bad("sandbox.suspend_window is %s; it must be between 1s and 24h", c.Sandbox.SuspendWindow)
	}
	if err := c.Gallery.validate(); err != nil {
		return err
	}
	if _, ok := c.Tiers[DefaultTier]; !ok {
		return bad("tiers.%s is missing; every guild starts in that tier", DefaultTier)
	}
	if err := c.HTTP.validate(c.Tiers); err != nil {
		return err
	}
	for name, t := range c.Tiers {
		key := "tiers." + name
		switch {
		case !tierName.MatchString(name):
			return bad("tier name %q must be 1-32 characters of a-z, 0-9, - and _", name)
		case t.Timeout.Duration != 0 && (t.Timeout.Duration < minTimeout || t.Timeout.Duration > maxTimeout):
			return bad("%s.timeout is %s; it must be between %s and %s", key, t.Timeout, minTimeout, maxTimeout)
		case t.MaxHostCalls < 0 || t.MaxHostCalls > maxHostCalls:
			return bad("%s.max_host_calls is %d; it must be between 1 and %d (0 takes sandbox.max_host_calls)", key, t.MaxHostCalls, maxHostCalls)
		case t.MemoryLimitMB != 0 && (t.MemoryLimitMB < minMemoryLimitMB || t.MemoryLimitMB > maxMemoryLimitMB):
			return bad("%s.memory_limit_mb is %d; it must be between %d and %d", key, t.MemoryLimitMB, minMemoryLimitMB, maxMemoryLimitMB)
		case t.MaxInstalls < 0 || t.MaxInstalls > 10000:
			return bad("%s.max_installs is %d; it must be between 0 (no limit) and 10000", key, t.MaxInstalls)
		case t.StorageEntries < 0 || t.StorageBytes < 0:
			return bad("%s.storage_entries and storage_bytes must not be negative (0 takes the %s tier's)", key, DefaultTier)
		}
	}
	return nil
}

func (g Gallery) validate() error {
	for _, l := range []struct {
		key string
		ids []string
	}{{"gallery.maintainers", g.Maintainers}, {"gallery.admins", g.Admins}} {
		for _, id := range l.ids {
			if !isSnowflake(id) {
				return skyerr.New(skyerr.InvalidConfig, "%s holds %q; it must list user IDs (digits only)", l.key, id)
			}
		}
	}
	for _, f := range []struct{ key, id string }{
		{"gallery.maintainer_role", g.MaintainerRole},
		{"gallery.review_channel_id", g.ReviewChannelID},
		{"gallery.support_forum_id", g.SupportForumID},
	} {
		if f.id != "" && !isSnowflake(f.id) {
			return skyerr.New(skyerr.InvalidConfig, "%s is %q; it must be an ID (digits only) or empty", f.key, f.id)
		}
	}
	if g.FeaturedSchedule != "" {
		if _, err := cron.ParseStandard(g.FeaturedSchedule); err != nil {
			return skyerr.New(skyerr.InvalidConfig, "gallery.featured_schedule is %q, which is not a cron schedule (%v); write five fields such as \"0 12 * * 1\", a descriptor such as \"@weekly\", or \"\" for no rotation", g.FeaturedSchedule, err)
		}
	}
	if g.FeaturedCount < 1 || g.FeaturedCount > 25 {
		return skyerr.New(skyerr.InvalidConfig, "gallery.featured_count is %d; it must be between 1 and 25", g.FeaturedCount)
	}
	return nil
}

var tierName = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// isListenAddr reports whether addr is host:port with a port from 1 to
// 65535 and a host that is empty (every interface), an IP address or a
// host name.
func isListenAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != port {
		return false
	}
	return host == "" || net.ParseIP(host) != nil || hostName.MatchString(host)
}

// hostName is a DNS name: dot-separated labels of letters, digits and
// inner hyphens.
var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

func isSnowflake(s string) bool {
	if len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Secret is a string that must not reach a log or a terminal: it prints,
// logs and marshals as REDACTED. Convert it with string() where the real
// value is needed.
type Secret string

const redacted = "REDACTED"

// LogValue keeps the secret out of slog output.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// String keeps the secret out of fmt's %v, %s and %q.
func (Secret) String() string { return redacted }

// GoString keeps the secret out of fmt's %#v.
func (Secret) GoString() string { return `"` + redacted + `"` }

// MarshalText keeps the secret out of JSON, TOML and other text encodings.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Duration is a time.Duration written in the file as a string such as
// "5s" or "500ms".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("%q is not a duration; write it like \"5s\" or \"500ms\"", text)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Keys lists every key the file may set, as dotted paths in declaration
// order ("discord.command_guild_id", ...).
func Keys() []string {
	var keys []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if tag == "-" || !f.IsExported() {
				continue
			}
			if tag == "" {
				tag = f.Name
			}
			key := prefix + tag
			if f.Type.Kind() == reflect.Struct && !isLeaf(f.Type) {
				walk(f.Type, key+".")
				continue
			}
			keys = append(keys, key)
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return keys
}

// isLeaf reports whether a struct type is one value in the file (it
// decodes itself from text) rather than a table.
func isLeaf(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// nearestKey returns the known key or table closest to key when it is a
// likely typo (at most two edits away), else "".
func nearestKey(key string) string {
	best, bestDist := "", 3
	for _, k := range Keys() {
		table, _, _ := strings.Cut(k, ".")
		for _, candidate := range []string{k, table} {
			if d := editDistance(key, candidate); d < bestDist {
				best, bestDist = candidate, d
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
