package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"time"
	"unicode/utf16"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// dataActions perform the APIs over extension data: storage (part A
// storage.*, SkynetBot's extension.storage), the economy (economy.*,
// SkynetBot's points.*) and the admin's settings (config.*).
func (e *Executor) dataActions() map[string]action {
	return map[string]action{
		"storage.get":       e.storageGet,
		"storage.set":       e.storageSet,
		"storage.delete":    e.storageDelete,
		"storage.list":      e.storageList,
		"storage.increment": e.storageIncrement,
		"storage.top":       e.storageTop,

		"extension.write":  e.legacyWrite,
		"extension.delete": e.legacyDelete,
		"extension.clear":  e.legacyClear,

		"economy.balance":     e.economyBalance,
		"economy.leaderboard": e.economyLeaderboard,
		"economy.history":     e.economyHistory,
		"economy.add":         e.economyAdd,
		"economy.remove":      e.economyRemove,
		"economy.set":         e.economySet,
		"economy.transfer":    e.economyTransfer,

		"points.getUser":      e.pointsGetUser,
		"points.addPoints":    e.pointsAdd,
		"points.removePoints": e.pointsRemove,
		"points.transfer":     e.pointsTransfer,
		"points.setPoints":    e.pointsSet,

		"config.get":    e.configGet,
		"config.getAll": e.configGetAll,
	}
}

// Limits of the part A storage API.
const (
	maxStorageKey   = 200                       // characters (UTF-16 units, as JS counts) of a key or prefix
	minStorageTTL   = time.Second               // shortest ttlMs
	maxStorageTTL   = 10 * 365 * 24 * time.Hour // longest ttlMs
	defaultListSize = 100                       // storage.list without a limit
	maxListSize     = 1000                      // storage.list's largest limit
	defaultTopSize  = 10                        // storage.top without n
	maxTopSize      = 100                       // storage.top's largest n
)

// argAt returns argument i, or false when the code left it out (or passed
// undefined or null).
func argAt(args []json.RawMessage, i int) (json.RawMessage, bool) {
	if i >= len(args) || string(args[i]) == "null" {
		return nil, false
	}
	return args[i], true
}

// jsLen is the length of s as JavaScript counts it (UTF-16 units).
func jsLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// storageArgs returns the JS arguments of a part A storage call and the
// key its first argument names (with prefix, the prefix, which may be
// empty).
func storageArgs(call sandbox.Call, prefix bool) ([]json.RawMessage, string, error) {
	args, err := rawArgs(call)
	if err != nil {
		return nil, "", err
	}
	what := "key"
	if prefix {
		what = "prefix"
	}
	raw, ok := argAt(args, 0)
	var k string
	if ok && json.Unmarshal(raw, &k) != nil {
		return nil, "", sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the %s must be a string", call.API.Name, what)
	}
	if (k == "" && !prefix) || jsLen(k) > maxStorageKey {
		return nil, "", sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the %s must be 1 to %d characters", call.API.Name, what, maxStorageKey)
	}
	return args, k, nil
}

// intArg reads an optional numeric argument as an integer (floored), min..max,
// def when absent.
func intArg(api, what string, raw json.RawMessage, ok bool, def, lo, hi int) (int, error) {
	if !ok {
		return def, nil
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil || math.Floor(f) < float64(lo) || math.Floor(f) > float64(hi) {
		return 0, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: %s must be a number from %d to %d", api, what, lo, hi)
	}
	return int(math.Floor(f)), nil
}

// valueArg reads the value argument (the second) of a write as stored:
// compact JSON, exactly the text JSON.stringify gave (Compact only drops
// whitespace, it escapes nothing).
func valueArg(api string, args []json.RawMessage) (string, error) {
	if len(args) < 2 {
		return "", sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs a value", api)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, args[1]); err != nil {
		return "", sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the value is not JSON data", api)
	}
	return b.String(), nil
}

// storageGet: storage.get(key) → the value, or undefined.
func (e *Executor) storageGet(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	_, key, err := storageArgs(call, false)
	if err != nil {
		return nil, err
	}
	return withOverlay(e, o, call.API.Name, func(ov *storageOverlay) (json.RawMessage, error) {
		v, ok, err := ov.get(ctx, key)
		if err != nil || !ok {
			return nil, err
		}
		return json.RawMessage(v), nil
	})
}

// storageSet: storage.set(key, value, {ttlMs}) → undefined.
func (e *Executor) storageSet(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	api := call.API.Name
	args, key, err := storageArgs(call, false)
	if err != nil {
		return nil, err
	}
	value, err := valueArg(api, args)
	if err != nil {
		return nil, err
	}
	var ttl time.Duration
	if raw, ok := argAt(args, 2); ok {
		var opts struct {
			TTLMs *float64 `json:"ttlMs"`
		}
		if json.Unmarshal(raw, &opts) != nil {
			return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: options must be {ttlMs?: number}", api)
		}
		if opts.TTLMs != nil {
			lo, hi := minStorageTTL.Milliseconds(), maxStorageTTL.Milliseconds()
			ms := math.Floor(*opts.TTLMs)
			if ms < float64(lo) || ms > float64(hi) {
				return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: ttlMs must be from %d to %d", api, lo, hi)
			}
			ttl = time.Duration(ms) * time.Millisecond
		}
	}
	return nil, e.storageWrite(ctx, o, api, store.StorageOp{Kind: store.OpSet, Key: key, Value: value, TTL: ttl}, overlayEntry{value: value})
}

// storageDelete: storage.delete(key) → undefined.
func (e *Executor) storageDelete(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	_, key, err := storageArgs(call, false)
	if err != nil {
		return nil, err
	}
	return nil, e.storageWrite(ctx, o, call.API.Name, store.StorageOp{Kind: store.OpDelete, Key: key}, overlayEntry{deleted: true})
}

// storageEntry is one {key, value} of storage.list and storage.top.
type storageEntry struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// storageList: storage.list(prefix, {limit}) → [{key, value}] in key order.
func (e *Executor) storageList(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	api := call.API.Name
	args, prefix, err := storageArgs(call, true)
	if err != nil {
		return nil, err
	}
	limit := defaultListSize
	if raw, ok := argAt(args, 1); ok {
		var opts struct {
			Limit json.RawMessage `json:"limit"`
		}
		if json.Unmarshal(raw, &opts) != nil {
			return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: options must be {limit?: number}", api)
		}
		if limit, err = intArg(api, "limit", opts.Limit, len(opts.Limit) > 0 && string(opts.Limit) != "null", defaultListSize, 1, maxListSize); err != nil {
			return nil, err
		}
	}
	out, err := withOverlay(e, o, api, func(ov *storageOverlay) ([]storageEntry, error) {
		kvs, err := ov.list(ctx, prefix, limit)
		if err != nil {
			return nil, err
		}
		entries := make([]storageEntry, len(kvs))
		for i, kv := range kvs {
			entries[i] = storageEntry{Key: kv.Key, Value: json.RawMessage(kv.Value)}
		}
		return entries, nil
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// storageIncrement: storage.increment(key, by=1) → the new value. The run
// sees the value it computed; the commit adds by to whatever the store
// holds then (store.OpIncrement), so concurrent runs all count.
func (e *Executor) storageIncrement(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	api := call.API.Name
	args, key, err := storageArgs(call, false)
	if err != nil {
		return nil, err
	}
	by := 1.0
	if raw, ok := argAt(args, 1); ok {
		if json.Unmarshal(raw, &by) != nil {
			return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: by must be a number", api)
		}
	}
	return withOverlay(e, o, api, func(ov *storageOverlay) (json.RawMessage, error) {
		cur, ok, err := ov.get(ctx, key)
		if err != nil {
			return nil, err
		}
		var n float64
		if ok {
			if n, err = store.JSONNumber(cur); err != nil {
				return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the value of %q is not a number", api, key)
			}
		}
		next := n + by
		text, err := json.Marshal(next)
		if err != nil || math.IsInf(next, 0) {
			return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: %v + %v is out of range", api, n, by)
		}
		if err := ov.write(ctx, api, store.StorageOp{Kind: store.OpIncrement, Key: key, By: by}, overlayEntry{value: string(text)}); err != nil {
			return nil, err
		}
		return json.RawMessage(text), nil
	})
}

// storageTop: storage.top(prefix, n=10) → [{key, value}], numeric values
// only, highest first.
func (e *Executor) storageTop(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	api := call.API.Name
	args, prefix, err := storageArgs(call, true)
	if err != nil {
		return nil, err
	}
	raw, ok := argAt(args, 1)
	n, err := intArg(api, "n", raw, ok, defaultTopSize, 1, maxTopSize)
	if err != nil {
		return nil, err
	}
	out, err := withOverlay(e, o, api, func(ov *storageOverlay) ([]storageEntry, error) {
		top, err := ov.top(ctx, prefix, n)
		if err != nil {
			return nil, err
		}
		entries := make([]storageEntry, len(top))
		for i, kv := range top {
			entries[i] = storageEntry{Key: kv.Key, Value: kv.Value}
		}
		return entries, nil
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// legacyStorageArgs returns the JS arguments of a SkynetBot storage call
// and its key (the JS side already applied String() to it).
func legacyStorageArgs(call sandbox.Call) ([]json.RawMessage, string, error) {
	args, err := rawArgs(call)
	if err != nil {
		return nil, "", err
	}
	var k string
	if len(args) == 0 || json.Unmarshal(args[0], &k) != nil {
		return nil, "", sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the key must be a string", call.API.Name)
	}
	return args, k, nil
}

// legacyWrite: extension.storage.write(key, value) → the stored value. The
// whole store, as JSON, must stay within 25000 bytes, else
// STORAGE_SIZE_MAX and nothing changes (part B 4.1).
func (e *Executor) legacyWrite(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	api := call.API.Name
	args, key, err := legacyStorageArgs(call)
	if err != nil {
		return nil, err
	}
	value, err := valueArg(api, args)
	if err != nil {
		return nil, err
	}
	if err := e.storageWrite(ctx, o, api, store.StorageOp{Kind: store.OpSet, Key: key, Value: value}, overlayEntry{value: value}); err != nil {
		return nil, err
	}
	return json.RawMessage(value), nil
}

// legacyDelete: extension.storage.delete(key) → the key.
func (e *Executor) legacyDelete(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	_, key, err := legacyStorageArgs(call)
	if err != nil {
		return nil, err
	}
	if err := e.storageWrite(ctx, o, call.API.Name, store.StorageOp{Kind: store.OpDelete, Key: key}, overlayEntry{deleted: true}); err != nil {
		return nil, err
	}
	return json.Marshal(key)
}

// legacyClear: extension.storage.clear() → true.
func (e *Executor) legacyClear(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	if err := e.storageWrite(ctx, o, call.API.Name, store.StorageOp{Kind: store.OpClear}, overlayEntry{}); err != nil {
		return nil, err
	}
	return json.RawMessage(`true`), nil
}

// LegacyExtensionData is the data of SkynetBot's extension module for one
// run (part B 3.11): {store: every live key of the install with its JSON
// value, settings}. The dispatcher builds the module from it; settings is
// what ExtensionSettings returns.
func LegacyExtensionData(ctx context.Context, st *store.Store, guild store.GuildID, ext store.ExtensionID, settings map[string]any) (map[string]any, error) {
	kvs, err := st.StorageList(ctx, guild, ext, "", 0)
	if err != nil {
		return nil, err
	}
	snapshot := make(map[string]json.RawMessage, len(kvs))
	for _, kv := range kvs {
		snapshot[kv.Key] = json.RawMessage(kv.Value)
	}
	if settings == nil {
		settings = map[string]any{}
	}
	return map[string]any{"store": snapshot, "settings": settings}, nil
}
