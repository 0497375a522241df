package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/skyext/skybot/bot/nethttp"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// maxHTTPResult bounds the encoded result of one http.request. A 1 MiB
// body can grow several times in JSON (control characters become
// \u00XX), and a host result travels to the sandbox worker in one frame
// of at most 4 MiB; past this the extension gets RESPONSE_TOO_LARGE.
const maxHTTPResult = 3 << 20

// httpState is the Executor's http.request setup: set by SetHTTP, or made
// from nethttp's defaults at the first request.
type httpState struct {
	mu    sync.Mutex
	setup *httpSetup
}

type httpSetup struct {
	client *nethttp.Client
	// networkTiers are the guild tiers that count as SkynetBot's tier 2:
	// their guilds may use the network and network_advanced capabilities.
	networkTiers map[string]bool
}

// SetHTTP gives http.request its guarded client and names the tiers whose
// guilds may use the network and network_advanced capabilities (config
// http.network_tiers). Without it the first request makes a client with
// nethttp's defaults, and no tier may use those two capabilities.
func (e *Executor) SetHTTP(c *nethttp.Client, networkTiers []string) {
	tiers := make(map[string]bool, len(networkTiers))
	for _, t := range networkTiers {
		tiers[t] = true
	}
	e.http.mu.Lock()
	defer e.http.mu.Unlock()
	e.http.setup = &httpSetup{client: c, networkTiers: tiers}
}

func (s *httpState) get() *httpSetup {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.setup == nil {
		s.setup = &httpSetup{client: nethttp.New(nethttp.Options{})}
	}
	return s.setup
}

// httpActions: http.request through the guarded client (SKYEXT.md part B
// 3.13). The sandbox has checked the http_request scope.
func (e *Executor) httpActions() map[string]action {
	return map[string]action{"http.request": e.httpRequest}
}

// httpRequest performs one http.request. It always resolves: any HTTP
// status is {success: true, ...}, and every refusal or failure is
// {success: false, error: CODE or message}, also written to the
// extension's log. Every call leaves an audit row "METHOD host".
func (e *Executor) httpRequest(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := decodeArgs(call, &raw); err != nil {
		return nil, err
	}
	req := nethttp.ParseOptions(raw)
	method, host := req.Describe()
	target := method + " " + host
	// The rows are written even when the run's context ended mid-request.
	rowCtx := context.WithoutCancel(ctx)

	setup := e.http.get()
	grant := nethttp.Grant{
		Guild:      o.GuildID,
		Extension:  o.Extension,
		Capability: capabilityOf(o),
		Hosts:      o.Hosts,
		Secrets: func(ctx context.Context, refs map[string]string) (map[string]string, error) {
			return e.resolveSecrets(ctx, o, refs)
		},
	}
	// Approval: o.Network comes from the version's reviewed manifest, and
	// a maintainer's review that accepts a version accepts the capability
	// it declares, so network and network_advanced count as approved.
	grant.Approved = grant.Capability == nethttp.Network || grant.Capability == nethttp.NetworkAdvanced
	if grant.Approved {
		level, err := e.tierLevel(ctx, o, setup)
		if err != nil {
			e.log.Error("http.request: reading the guild's tier failed", "guild_id", o.GuildID, "ext", o.Extension, "err", err)
			return e.httpFailure(rowCtx, call, o, target, &nethttp.Error{Message: "the guild's tier could not be read"})
		}
		grant.TierLevel = level
	}

	resp, err := setup.client.Do(ctx, grant, req)
	if err != nil {
		return e.httpFailure(rowCtx, call, o, target, err)
	}
	out, err := nethttp.ResultJSON(resp, nil)
	if err != nil {
		return nil, fmt.Errorf("http.request %s: encode the response: %w", target, err)
	}
	if len(out) > maxHTTPResult {
		return e.httpFailure(rowCtx, call, o, target, &nethttp.Error{Code: nethttp.CodeResponseTooLarge,
			Message: fmt.Sprintf("the response is %d bytes once encoded for the extension; at most %d fit", len(out), maxHTTPResult)})
	}
	e.audit(rowCtx, o, call.API.Name, target, "ok "+strconv.Itoa(resp.Status))
	return out, nil
}

// httpFailure records a refused or failed request (audit row and a line
// in the extension's log) and returns part B's {success: false, error}.
func (e *Executor) httpFailure(ctx context.Context, call sandbox.Call, o extensions.Origin, target string, err error) (json.RawMessage, error) {
	ne := nethttp.AsError(err)
	e.audit(ctx, o, call.API.Name, target, ne.JSValue())
	verb := "refused"
	if ne.Code == "" || ne.Code == nethttp.CodeTimeout {
		verb = "failed"
	}
	e.extLog(ctx, o, fmt.Sprintf("%s %s %s: %s", call.API.Name, target, verb, ne.Error()))
	return nethttp.ResultJSON(nil, ne)
}

// capabilityOf is the network level of o's version. A legacy version's
// network_capability is used as written ("" and "none" mean none). A
// part A version has no network_capability; its @hosts list is its
// network: with hosts it gets ManifestHosts (https to those hosts only),
// without, none.
func capabilityOf(o extensions.Origin) nethttp.Capability {
	switch {
	case o.Network == "" && len(o.Hosts) > 0:
		return nethttp.ManifestHosts
	case o.Network == "":
		return nethttp.None
	}
	return nethttp.Capability(o.Network)
}

// tierLevel is the guild's tier level in part B's terms: 2 for the tiers
// the operator listed in http.network_tiers, 1 for every other.
func (e *Executor) tierLevel(ctx context.Context, o extensions.Origin, s *httpSetup) (int, error) {
	g, err := e.store.Guild(ctx, store.GuildID(o.GuildID))
	if errors.Is(err, store.ErrNotFound) {
		return 1, nil
	}
	if err != nil {
		return 0, err
	}
	if s.networkTiers[g.Tier] {
		return 2, nil
	}
	return 1, nil
}

// resolveSecrets turns injectSecrets ({header: secret name}) into header
// values through InjectSecrets (data_config.go); secrets the admin did not
// set are left out. The store's error stays in skybot's log: the
// extension learns only that the secrets could not be read.
func (e *Executor) resolveSecrets(ctx context.Context, o extensions.Origin, refs map[string]string) (map[string]string, error) {
	values, err := InjectSecrets(ctx, e.store, store.GuildID(o.GuildID), o.ExtensionID, refs)
	if err != nil {
		e.log.Error("http.request: reading the install's secrets failed", "guild_id", o.GuildID, "ext", o.Extension, "err", err)
		return nil, errors.New("the install's secrets could not be read")
	}
	return values, nil
}
