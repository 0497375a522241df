package extensions

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// Policy is what a guild allows itself, within what the operator allows:
// it can only narrow the operator's defaults and its tier, never widen them.
type Policy struct {
	// AllowedScopes, when not nil, are the only scopes an extension may be
	// granted here; an extension asking for another is refused.
	AllowedScopes []string `json:"allowed_scopes,omitempty"`
	// NoUploads refuses attached .skyext/.skypkg files in this guild.
	NoUploads bool `json:"no_uploads,omitempty"`
	// MaxInstalls lowers the tier's install quota (0: the tier's).
	MaxInstalls int `json:"max_installs,omitempty"`
	// TimeoutMS and MaxHostCalls lower the tier's limits on one run
	// (0: the tier's); a guild cannot raise them.
	TimeoutMS    int64 `json:"timeout_ms,omitempty"`
	MaxHostCalls int   `json:"max_host_calls,omitempty"`
	// NegativeBalances lets extensions' economy changes take a member's
	// balance below zero (debts); by default they never do.
	NegativeBalances bool `json:"negative_balances,omitempty"`
	// AutoUpdate is the guild's auto-update track (TrackNone, TrackPatch,
	// TrackMinor); "" follows the operator's default.
	AutoUpdate string `json:"auto_update,omitempty"`
}

// policy reads the guild's policy; a malformed document reads as none and
// is logged (it can only have been written by skybot or by hand).
func (m *Manager) policy(ctx context.Context, guild store.GuildID) (Policy, store.Guild, error) {
	g, err := m.store.EnsureGuild(ctx, guild, m.opts.DefaultPrefix)
	if err != nil {
		return Policy{}, store.Guild{}, skyerr.Wrap(err, skyerr.Unknown, "Could not read this server's settings.")
	}
	var p Policy
	if len(g.Policy) > 0 {
		if err := json.Unmarshal(g.Policy, &p); err != nil {
			m.log.Error("guild policy unreadable; ignoring it", "guild_id", guild, "err", err)
			return Policy{}, g, nil
		}
	}
	return p, g, nil
}

// Policy returns the guild's policy.
func (m *Manager) Policy(ctx context.Context, guild store.GuildID) (Policy, error) {
	p, _, err := m.policy(ctx, guild)
	return p, err
}

// SetPolicy validates and stores the guild's policy.
func (m *Manager) SetPolicy(ctx context.Context, guild store.GuildID, p Policy) error {
	for _, s := range p.AllowedScopes {
		if !sandbox.KnownScope(s) {
			return skyerr.New(skyerr.InvalidID, "%q is not a skybot scope.", s)
		}
	}
	if p.AutoUpdate != "" && !ValidTrack(p.AutoUpdate) {
		return skyerr.New(skyerr.InvalidID, "auto_update must be none, patch or minor, not %q.", p.AutoUpdate)
	}
	if p.MaxInstalls < 0 {
		return skyerr.New(skyerr.InvalidID, "max_installs cannot be negative.")
	}
	if p.TimeoutMS != 0 && (p.TimeoutMS < 100 || p.TimeoutMS > 60_000) {
		return skyerr.New(skyerr.InvalidID, "timeout_ms must be between 100 and 60000 (0: the tier's).")
	}
	if p.MaxHostCalls < 0 || p.MaxHostCalls > 100_000 {
		return skyerr.New(skyerr.InvalidID, "max_host_calls must be between 1 and 100000 (0: the tier's).")
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not encode the policy.")
	}
	if _, err := m.store.EnsureGuild(ctx, guild, m.opts.DefaultPrefix); err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not record this server.")
	}
	if err := m.store.SetGuildPolicy(ctx, guild, raw); err != nil {
		return skyerr.Wrap(err, skyerr.Unknown, "Could not save the policy.")
	}
	m.invalidate(guild)
	return nil
}

// checkPolicy refuses a plan the guild's policy does not allow: an upload
// where uploads are off, or a scope outside the allowed set.
func (m *Manager) checkPolicy(ctx context.Context, guild store.GuildID, man Manifest, upload bool) error {
	p, _, err := m.policy(ctx, guild)
	if err != nil {
		return err
	}
	if upload && p.NoUploads {
		return skyerr.New(skyerr.Forbidden, "This server's policy does not allow installing attached files.")
	}
	if p.AllowedScopes != nil {
		var refused []string
		for _, s := range man.Scopes {
			if !slices.Contains(p.AllowedScopes, s) {
				refused = append(refused, s)
			}
		}
		if len(refused) > 0 {
			return skyerr.New(skyerr.Forbidden, "This server's policy does not allow the scopes %s that %s asks for.", strings.Join(refused, ", "), man.Name)
		}
	}
	return nil
}

// narrow applies the policy's run limits to the tier's: the lower wins.
func (p Policy) narrow(l sandbox.Limits) sandbox.Limits {
	if t := time.Duration(p.TimeoutMS) * time.Millisecond; t > 0 && (l.Timeout == 0 || t < l.Timeout) {
		l.Timeout = t
	}
	if p.MaxHostCalls > 0 && (l.MaxHostCalls == 0 || p.MaxHostCalls < l.MaxHostCalls) {
		l.MaxHostCalls = p.MaxHostCalls
	}
	return l
}
