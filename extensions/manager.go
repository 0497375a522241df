package extensions

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// Runner delivers events to isolates; *sandbox.Supervisor is one.
type Runner interface {
	Deliver(ctx context.Context, d sandbox.Delivery) (sandbox.Result, error)
	Evict(key sandbox.Key)
}

// Options configure a Manager. Zero values take the defaults below.
type Options struct {
	MaxAttachmentBytes int64          // largest attachment read at all; default 1 MiB
	MaxSourceBytes     int64          // largest .skyext source; default 256 KiB
	Limits             sandbox.Limits // per-invocation limits when Tiers is nil
	// Tiers maps a guild's tier name to its limits; nil gives every guild
	// Limits and no install quota.
	Tiers func(tier string) TierLimits
	// TierNames are the tiers SetTier may give a guild (the config's).
	TierNames []string
	// DefaultPrefix is the command prefix of a guild that has not chosen
	// one; "" means "!".
	DefaultPrefix string
	// RefuseUploads turns off installing attached .skyext files (unreviewed
	// code); the operator's choice.
	RefuseUploads bool
	// InstallAttempts is how many install and update attempts a guild may
	// make per minute; 0 is 5. skybot dev raises it: every save of the
	// file is an update.
	InstallAttempts int
	// AutoUpdate is the auto-update track of a guild whose policy names
	// none (TrackNone, TrackPatch, TrackMinor); "" is TrackNone.
	AutoUpdate string
	// Now is the clock for rate limits and plan expiry; nil is time.Now.
	Now func() time.Time
	// OnLifecycle, if set, hears every lifecycle event (installed, updated,
	// failed run, suspended, ...). It must not block.
	OnLifecycle func(LifecycleEvent)
	// SuspendAfter failures within SuspendWindow suspend an install; zero
	// values take DefaultSuspendAfter and DefaultSuspendWindow.
	SuspendAfter  int
	SuspendWindow time.Duration
	// QuarantineAfter runs of one version that end their sandbox worker
	// within SuspendWindow, in any guilds, quarantine it everywhere
	// (quarantine.go); 0 takes DefaultQuarantineAfter, a negative value
	// never quarantines.
	QuarantineAfter int
	Log             *slog.Logger
}

const (
	defaultMaxAttachment = 1 << 20
	defaultMaxSource     = 256 << 10
)

// Manager is the guild admin's side of extensions: install, uninstall,
// list. It keeps the compiled programs (one per version, shared by every
// guild) and the per-guild view the dispatcher routes with.
type Manager struct {
	store  *store.Store
	runner Runner
	opts   Options
	log    *slog.Logger

	locks keyedLocks
	plans plans
	rate  rateLimiter
	fails failures

	mu       sync.Mutex
	programs map[store.VersionID]*sandbox.Program
	// described caches each handler-style version's validated
	// registrations (its top level is deterministic by contract).
	described map[store.VersionID][]sandbox.Registration
	guilds    map[store.GuildID]*guildView
	// viewGen counts each guild's invalidations: a view built from reads
	// that an invalidation overtook is not cached.
	viewGen  map[store.GuildID]uint64
	watchers []func(store.GuildID) // hear of every change to a guild's installs
	hooks    hookRunner            // runs lifecycle hooks; set by NewDispatcher
	system   []uploaded            // the operator's system extensions (LoadSystem)
	gallery  *Gallery              // where an upload's requirements come from (SetGallery)
	usage    usage                 // runs counted since the last FlushUsage
}

// SetGallery lets installs of attached files bring the extensions they
// require from g. Call it before the bot starts.
func (m *Manager) SetGallery(g *Gallery) { m.gallery = g }

// NewManager returns a Manager over st that runs code with runner.
func NewManager(st *store.Store, runner Runner, opts Options) *Manager {
	if opts.MaxAttachmentBytes <= 0 {
		opts.MaxAttachmentBytes = defaultMaxAttachment
	}
	if opts.MaxSourceBytes <= 0 {
		opts.MaxSourceBytes = defaultMaxSource
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{
		store:     st,
		runner:    runner,
		opts:      opts,
		log:       log,
		programs:  map[store.VersionID]*sandbox.Program{},
		described: map[store.VersionID][]sandbox.Registration{},
		guilds:    map[store.GuildID]*guildView{},
		viewGen:   map[store.GuildID]uint64{},
	}
}

// TierLimits are what a guild's tier allows.
type TierLimits struct {
	Limits      sandbox.Limits
	MaxInstalls int         // 0: no limit
	Storage     store.Quota // each install's storage; zero fields: no limit
	// Premium lets the tier's guilds install premium gallery extensions.
	Premium bool
}

// tier returns the limits of a tier name.
func (m *Manager) tier(name string) TierLimits {
	if m.opts.Tiers == nil {
		return TierLimits{Limits: m.opts.Limits}
	}
	return m.opts.Tiers(name)
}

// TierNames lists the tiers a guild may be given, sorted.
func (m *Manager) TierNames() []string {
	names := slices.Clone(m.opts.TierNames)
	slices.Sort(names)
	return names
}

// Tier returns the name and limits of a guild skybot knows.
func (m *Manager) Tier(ctx context.Context, guild store.GuildID) (string, TierLimits, error) {
	g, err := m.store.Guild(ctx, guild)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", TierLimits{}, skyerr.New(skyerr.NotFound, "skybot has never been in server %s.", guild)
	case err != nil:
		return "", TierLimits{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read server %s.", guild)
	}
	return g.Tier, m.tier(g.Tier), nil
}

// SetTier gives a guild skybot knows one of TierNames. The guild's next
// run already has the tier's limits. Who may do this is the caller's
// check (skybot's administrators).
func (m *Manager) SetTier(ctx context.Context, guild store.GuildID, tier string) (TierLimits, error) {
	if !slices.Contains(m.opts.TierNames, tier) {
		return TierLimits{}, skyerr.New(skyerr.InvalidID, "There is no tier %q; the configuration has: %s.", tier, strings.Join(m.TierNames(), ", "))
	}
	old, _, err := m.Tier(ctx, guild)
	if err != nil {
		return TierLimits{}, err
	}
	if err := m.store.SetGuildTier(ctx, guild, tier); err != nil {
		return TierLimits{}, skyerr.Wrap(err, skyerr.Unknown, "Could not set the tier of server %s.", guild)
	}
	m.invalidate(guild)
	m.log.Info("guild tier set", "guild_id", guild, "tier", tier, "was", old)
	return m.tier(tier), nil
}

// checkPremium refuses to install a premium gallery extension in a guild
// whose tier does not include premium extensions. what names the
// extension in the refusal ("dice", or "dice, which games needs").
func (m *Manager) checkPremium(ctx context.Context, guild store.GuildID, ext store.ExtensionID, what string) error {
	meta, err := m.store.GalleryMeta(ctx, ext)
	if err != nil {
		return skyerr.Wrap(err, skyerr.InstallFailed, "Could not read the gallery listing of %s.", what)
	}
	if !meta.Premium {
		return nil
	}
	_, g, err := m.policy(ctx, guild)
	if err != nil {
		return err
	}
	if m.tier(g.Tier).Premium {
		return nil
	}
	return skyerr.New(skyerr.Forbidden, "%s is a premium extension, and this server's tier (%s) does not include premium extensions.", what, g.Tier)
}

// checkQuota refuses an install beyond the guild's tier quota.
func (m *Manager) checkQuota(ctx context.Context, guild store.GuildID, adding int) error {
	p, g, err := m.policy(ctx, guild)
	if err != nil {
		return err
	}
	limit, whose := m.tier(g.Tier).MaxInstalls, "its tier ("+g.Tier+")"
	if p.MaxInstalls > 0 && (limit == 0 || p.MaxInstalls < limit) {
		limit, whose = p.MaxInstalls, "its policy"
	}
	if limit == 0 {
		return nil
	}
	ins, err := m.store.Installs(ctx, guild)
	if err != nil {
		return skyerr.Wrap(err, skyerr.InstallFailed, "Could not read the installs of this server.")
	}
	if len(ins)+adding > limit {
		if adding > 1 {
			return skyerr.New(skyerr.InvalidState, "This install brings %d extensions with what it requires; this server has %d installed and %s allows %d.", adding, len(ins), whose, limit)
		}
		return skyerr.New(skyerr.InvalidState, "This server has %d extensions installed, the most %s allows; uninstall one first.", len(ins), whose)
	}
	return nil
}

// Upload describes an attached file before it is read.
type Upload struct {
	Filename string
	Size     int64 // as the platform declares it; checked before reading
}

// Fetch reads an upload's bytes, refusing more than limit.
type Fetch func(ctx context.Context, limit int64) ([]byte, error)

// Installed is what an install reports to the admin.
type Installed struct {
	Name     string
	Version  string
	Scopes   []sandbox.Scope
	Trigger  string // e.g. "command !hello"
	Manifest Manifest
}

// InstallUpload installs an attached .skyext into guild on behalf of actor
// in one step (plan, then apply): the consent is the caller's (a system
// install, or a test). Admins go through PlanInstall and a button.
func (m *Manager) InstallUpload(ctx context.Context, guild store.GuildID, actor store.UserID, up Upload, fetch Fetch) (Installed, error) {
	p, err := m.PlanInstall(ctx, guild, actor, up, fetch)
	if err != nil {
		return Installed{}, err
	}
	if _, err := m.Apply(ctx, guild, actor, p.ID); err != nil {
		return Installed{}, err
	}
	man := p.Manifest
	return Installed{Name: man.Name, Version: man.Version, Scopes: describeScopes(man.Scopes), Trigger: DescribeTrigger(man), Manifest: man}, nil
}

// readAndCompile reads an upload and compiles its code: a package that
// does not compile is the package's fault.
// A handler-style extension's top level also runs (for guild, inside the
// tier's limits): what it registers is checked before anything is written.
func (m *Manager) readAndCompile(ctx context.Context, guild store.GuildID, up Upload, fetch Fetch) (uploaded, error) {
	u, err := m.readUpload(ctx, up, fetch)
	if err != nil {
		return uploaded{}, err
	}
	return m.compileUpload(ctx, guild, u)
}

// compileUpload is readAndCompile's second half, for an upload already read.
func (m *Manager) compileUpload(ctx context.Context, guild store.GuildID, u uploaded) (uploaded, error) {
	man := u.man
	prog, err := sandbox.Compile(man.Name+".skyext", u.code, man.Legacy())
	if err != nil {
		return uploaded{}, skyerr.Wrap(err, skyerr.InvalidPackage, "The code of %s does not compile: %s.", man.Name, err)
	}
	u.program = prog
	if !man.Legacy() {
		limits := m.opts.Limits
		if guild != "" {
			if g, err := m.store.EnsureGuild(ctx, guild, m.opts.DefaultPrefix); err == nil {
				limits = m.tier(g.Tier).Limits
			}
		}
		if u.regs, err = m.describeProgram(ctx, guild, man.Name, man.Version, prog, limits); err != nil {
			return uploaded{}, err
		}
		u.man.Handlers = summarizeHandlers(u.regs)
	}
	return u, nil
}

// uploaded is a read, validated and compiled upload.
type uploaded struct {
	man      Manifest
	code     string
	warnings []string
	program  *sandbox.Program
	regs     []sandbox.Registration // handler style: what its top level registers
	// signature is a 2.0 .skypkg's publisher signature (the gallery checks it).
	signature []byte
}

// readUpload applies the upload rules in order: file type, declared size,
// bytes read, then the package itself (a .skyext, or a .skypkg of either
// format). Its warnings are what a 1.0 package lost on the way in; it is
// not compiled yet.
func (m *Manager) readUpload(ctx context.Context, up Upload, fetch Fetch) (uploaded, error) {
	kind := strings.ToLower(path.Ext(up.Filename))
	limit := m.opts.MaxAttachmentBytes
	switch kind {
	case ".skyext":
		limit = min(limit, m.opts.MaxSourceBytes)
	case ".skypkg":
	default:
		return uploaded{}, skyerr.New(skyerr.InvalidPackage, "%s is not an extension: attach a .skyext or .skypkg file.", up.Filename)
	}
	if up.Size > limit {
		return uploaded{}, skyerr.New(skyerr.TooLarge, "%s is %d bytes; the limit is %d bytes.", up.Filename, up.Size, limit)
	}
	data, err := fetch(ctx, limit)
	if err != nil {
		if skyerr.Is(err, skyerr.TooLarge) {
			return uploaded{}, err
		}
		return uploaded{}, skyerr.Wrap(err, skyerr.InvalidURL, "Could not download %s.", up.Filename)
	}
	if int64(len(data)) > limit {
		return uploaded{}, skyerr.New(skyerr.TooLarge, "%s is larger than the limit of %d bytes.", up.Filename, limit)
	}
	var u uploaded
	if kind == ".skypkg" {
		pkg, perr := ParseSkypkg(data)
		if perr != nil {
			return uploaded{}, perr
		}
		u = uploaded{man: pkg.Manifest, code: pkg.Code, warnings: pkg.Warnings, signature: pkg.Signature}
	} else if u.man, u.code, err = ParseSkyext(data); err != nil {
		return uploaded{}, err
	}
	if int64(len(u.code)) > m.opts.MaxSourceBytes {
		return uploaded{}, skyerr.New(skyerr.TooLarge, "The code of %s is %d bytes; the limit is %d bytes.", u.man.Name, len(u.code), m.opts.MaxSourceBytes)
	}
	return u, nil
}

// Export returns the installed version of name as a .skypkg in format
// (PackageV2 by default) and its download name.
func (m *Manager) Export(ctx context.Context, guild store.GuildID, name, format string) ([]byte, string, error) {
	in, err := m.installed(ctx, guild, name)
	if err != nil {
		return nil, "", err
	}
	ver, err := m.store.Version(ctx, in.VersionID)
	if err != nil {
		return nil, "", skyerr.Wrap(err, skyerr.Unknown, "Could not read %s.", name)
	}
	return encodeVersion(ver, format, m.now())
}

// encodeVersion packages a stored version as a .skypkg in format
// (PackageV2 by default), with its download name. Code that no longer
// matches its sha256 is refused with E_LOAD_FAILED.
func encodeVersion(ver store.Version, format string, now time.Time) ([]byte, string, error) {
	if sha256Hex(ver.Code) != ver.SHA256 {
		return nil, "", skyerr.New(skyerr.LoadFailed, "The stored code of %s@%s does not match its sha256; it will not be exported.", ver.Name, ver.Version)
	}
	var man Manifest
	if err := json.Unmarshal(ver.Manifest, &man); err != nil {
		return nil, "", skyerr.Wrap(err, skyerr.Unknown, "The stored manifest of %s cannot be read.", ver.Name)
	}
	if format == "" {
		format = PackageV2
	}
	data, err := Package{Manifest: man, Code: ver.Code, Signature: ver.Signature}.Encode(format, now)
	if err != nil {
		return nil, "", err
	}
	return data, PackageFilename(cmp.Or(man.Title, man.Name)), nil
}

// Uninstall removes name from guild. purge also deletes its stored data.
func (m *Manager) Uninstall(ctx context.Context, guild store.GuildID, actor store.UserID, name string, purge bool) (store.Install, error) {
	unlock := m.locks.lock(string(guild) + "/" + name)
	defer unlock()
	in, err := m.removable(ctx, guild, name)
	if err != nil {
		return store.Install{}, err
	}
	m.hook(ctx, guild, name, "uninstall", map[string]any{"purge": purge}, true)
	if err := m.store.DeleteInstall(ctx, guild, in.ExtensionID, actor, purge); err != nil {
		return store.Install{}, skyerr.Wrap(err, skyerr.RemoveFailed, "Could not remove %s.", name)
	}
	m.runner.Evict(sandbox.Key{Guild: string(guild), Extension: name})
	m.invalidate(guild)
	m.fails.reset(string(guild) + "/" + name)
	m.log.Info("extension uninstalled", "guild_id", guild, "ext", name, "actor", actor, "purge", purge)
	m.emit(LifecycleEvent{Kind: EventUninstalled, Guild: guild, Extension: name, Version: in.Version, Actor: actor})
	return in, nil
}

// removable returns guild's install of name if it may be uninstalled: it
// is not a system extension and no other installed extension requires it.
func (m *Manager) removable(ctx context.Context, guild store.GuildID, name string) (store.Install, error) {
	in, err := m.installed(ctx, guild, name)
	if err != nil {
		return store.Install{}, err
	}
	if in.System {
		return store.Install{}, skyerr.New(skyerr.Forbidden, "%s is a system extension of this skybot: it can be disabled, not removed.", name)
	}
	if err := m.refuseIfRequired(ctx, guild, name, "uninstall", skyerr.RemoveFailed); err != nil {
		return store.Install{}, err
	}
	return in, nil
}

// Removal is what uninstalling an extension would remove.
type Removal struct {
	Install store.Install
	Entries int   // storage entries a purge deletes
	Bytes   int64 // and their size
}

// PlanUninstall checks that guild's install of name may be uninstalled
// and says how much stored data it keeps, for the admin's keep-or-purge
// question. Nothing changes.
func (m *Manager) PlanUninstall(ctx context.Context, guild store.GuildID, name string) (Removal, error) {
	in, err := m.removable(ctx, guild, name)
	if err != nil {
		return Removal{}, err
	}
	n, bytes, err := m.store.StorageUsage(ctx, guild, in.ExtensionID)
	if err != nil {
		return Removal{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read the stored data of %s.", name)
	}
	return Removal{Install: in, Entries: n, Bytes: bytes}, nil
}

// List returns the guild's installs in install order.
func (m *Manager) List(ctx context.Context, guild store.GuildID) ([]store.Install, error) {
	ins, err := m.store.Installs(ctx, guild)
	if err != nil {
		return nil, skyerr.Wrap(err, skyerr.Unknown, "Could not read the installs of this server.")
	}
	return ins, nil
}

// program returns the compiled program of a version, compiling it once.
// The code's sha256 is checked against the stored one every time code is
// compiled into a program; a mismatch refuses to run it.
func (m *Manager) program(ver store.Version, man Manifest) (*sandbox.Program, error) {
	m.mu.Lock()
	p, ok := m.programs[ver.ID]
	m.mu.Unlock()
	if ok {
		return p, nil
	}
	if got := sha256Hex(ver.Code); got != ver.SHA256 {
		return nil, skyerr.New(skyerr.LoadFailed, "The stored code of %s@%s does not match its sha256; it will not run.", ver.Name, ver.Version)
	}
	p, err := sandbox.Compile(ver.Name+".skyext", ver.Code, man.Legacy())
	if err != nil {
		return nil, skyerr.Wrap(err, skyerr.LoadFailed, "%s@%s does not compile: %s.", ver.Name, ver.Version, err)
	}
	m.keepProgram(ver.ID, p)
	return p, nil
}

func (m *Manager) keepProgram(id store.VersionID, p *sandbox.Program) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.programs[id]; !ok {
		m.programs[id] = p
	}
}

func sha256Hex(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

func describeScopes(names []string) []sandbox.Scope {
	out := make([]sandbox.Scope, 0, len(names))
	for _, n := range names {
		if s, ok := sandbox.LookupScope(n); ok {
			out = append(out, s)
		}
	}
	return out
}

// DescribeTrigger says in a few words what makes the extension run.
func DescribeTrigger(m Manifest) string {
	switch m.Type {
	case TypeCommand:
		return "prefix command " + m.Key
	case TypeKeyword:
		return fmt.Sprintf("keywords %s", strings.Join(m.Keywords, ", "))
	case TypeTimer:
		return fmt.Sprintf("a timer every %s", time.Duration(m.IntervalMS)*time.Millisecond)
	case TypeEvent:
		return "the event " + m.Event
	case TypeSlash:
		return "slash command /" + strings.ToLower(m.Key)
	case "":
		if len(m.Handlers) == 0 {
			return "no handlers"
		}
		return strings.Join(m.Handlers, ", ")
	}
	return m.Type
}

// summarizeHandlers says in a few words what each registration handles.
func summarizeHandlers(regs []sandbox.Registration) []string {
	var out []string
	for _, r := range regs {
		var s string
		switch r.Kind {
		case sandbox.RegEvent:
			s = "event " + r.Key
		case sandbox.RegCommand:
			s = "slash command /" + r.Key
		case sandbox.RegPrefix:
			s = "prefix command " + r.Key
		case sandbox.RegKeyword:
			s = "keywords " + strings.Join(r.Keywords, ", ")
		case sandbox.RegEvery:
			s = fmt.Sprintf("every %s", time.Duration(r.EveryMS)*time.Millisecond)
		case sandbox.RegCron:
			s = "cron " + r.Cron
		case sandbox.RegComponent:
			s = "components " + r.Key + "*"
		case sandbox.RegJob:
			s = "jobs " + r.Key + "*"
		case sandbox.RegLifecycle:
			s = "on " + r.Key
		default:
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// keyedLocks serialises operations per key (guild × extension name).
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedLocks) lock(key string) (unlock func()) {
	l, release := k.ref(key)
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		release()
	}
}

// ref returns key's lock, counted so that it is dropped when the last
// user is done (release).
func (k *keyedLocks) ref(key string) (*keyedLock, func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l, ok := k.locks[key]
	if !ok {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	return l, func() {
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// whenFree runs f holding key's lock: at once when the lock is free, else
// in the background once it is. Failure handling uses it: a run can fail
// while the lock is held on its behalf (a disable or uninstall hook runs
// under it), and waiting for the lock there would never end.
func (k *keyedLocks) whenFree(key string, f func()) {
	l, release := k.ref(key)
	if l.mu.TryLock() {
		defer release()
		defer l.mu.Unlock()
		f()
		return
	}
	go func() {
		defer release()
		l.mu.Lock()
		defer l.mu.Unlock()
		f()
	}()
}
