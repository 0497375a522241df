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

// rawArgs returns a call's JS arguments undecoded.
func rawArgs(call sandbox.Call) ([]json.RawMessage, error) {
	var args []json.RawMessage
	if err := json.Unmarshal(call.Args, &args); err != nil {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the arguments are not a list", call.API.Name)
	}
	return args, nil
}

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

// storageKey reads a part A key (or, with allowEmpty, a prefix).
func storageKey(api, what string, args []json.RawMessage, i int, allowEmpty bool) (string, error) {
	raw, ok := argAt(args, i)
	var k string
	if ok && json.Unmarshal(raw, &k) != nil {
		return "", sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the %s must be a string", api, what)
	}
	if (k == "" && !allowEmpty) || jsLen(k) > maxStorageKey {
		return "", sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the %s must be 1 to %d characters", api, what, maxStorageKey)
	}
	return k, nil
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

// compactValue is a value argument as stored: compact JSON, exactly the
// text JSON.stringify gave (Compact only drops whitespace, it escapes
// nothing).
func compactValue(api string, raw json.RawMessage) (string, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the value is not JSON data", api)
	}
	return b.String(), nil
}

// storageGet: storage.get(key) → the value, or undefined.
func (e *Executor) storageGet(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	args, err := rawArgs(call)
	if err != nil {
		return nil, err
	}
	key, err := storageKey(call.API.Name, "key", args, 0, false)
	if err != nil {
		return nil, err
	}
	out, err := e.withOverlay(o, call.API.Name, func(ov *storageOverlay) (any, error) {
		v, ok, err := ov.get(ctx, key)
		if err != nil || !ok {
			return nil, err
		}
		return json.RawMessage(v), nil
	})
	if err != nil || out == nil {
		return nil, err
	}
	return out.(json.RawMessage), nil
}

// storageSet: storage.set(key, value, {ttlMs}) → undefined.
func (e *Executor) storageSet(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	api := call.API.Name
	args, err := rawArgs(call)
	if err != nil {
		return nil, err
	}
	key, err := storageKey(api, "key", args, 0, false)
	if err != nil {
		return nil, err
	}
	if len(args) < 2 {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs a value", api)
	}
	value, err := compactValue(api, args[1])
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
	_, err = e.withOverlay(o, api, func(ov *storageOverlay) (any, error) {
		return nil, ov.write(ctx, api, store.StorageOp{Kind: store.OpSet, Key: key, Value: value, TTL: ttl}, overlayEntry{value: value})
	})
	return nil, err
}

// storageDelete: storage.delete(key) → undefined.
func (e *Executor) storageDelete(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	args, err := rawArgs(call)
	if err != nil {
		return nil, err
	}
	key, err := storageKey(call.API.Name, "key", args, 0, false)
	if err != nil {
		return nil, err
	}
	_, err = e.withOverlay(o, call.API.Name, func(ov *storageOverlay) (any, error) {
		return nil, ov.write(ctx, call.API.Name, store.StorageOp{Kind: store.OpDelete, Key: key}, overlayEntry{deleted: true})
	})
	return nil, err
}

// storageEntry is one {key, value} of storage.list and storage.top.
type storageEntry struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// storageList: storage.list(prefix, {limit}) → [{key, value}] in key order.
func (e *Executor) storageList(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	api := call.API.Name
	args, err := rawArgs(call)
	if err != nil {
		return nil, err
	}
	prefix, err := storageKey(api, "prefix", args, 0, true)
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
	out, err := e.withOverlay(o, api, func(ov *storageOverlay) (any, error) {
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
	args, err := rawArgs(call)
	if err != nil {
		return nil, err
	}
	key, err := storageKey(api, "key", args, 0, false)
	if err != nil {
		return nil, err
	}
	by := 1.0
	if raw, ok := argAt(args, 1); ok {
		if json.Unmarshal(raw, &by) != nil {
			return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: by must be a number", api)
		}
	}
	out, err := e.withOverlay(o, api, func(ov *storageOverlay) (any, error) {
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
	if err != nil {
		return nil, err
	}
	return out.(json.RawMessage), nil
}

// storageTop: storage.top(prefix, n=10) → [{key, value}], numeric values
// only, highest first.
func (e *Executor) storageTop(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	api := call.API.Name
	args, err := rawArgs(call)
	if err != nil {
		return nil, err
	}
	prefix, err := storageKey(api, "prefix", args, 0, true)
	if err != nil {
		return nil, err
	}
	raw, ok := argAt(args, 1)
	n, err := intArg(api, "n", raw, ok, defaultTopSize, 1, maxTopSize)
	if err != nil {
		return nil, err
	}
	out, err := e.withOverlay(o, api, func(ov *storageOverlay) (any, error) {
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

// legacyKey reads SkynetBot's storage key (the JS side already applied
// String() to it).
func legacyKey(api string, args []json.RawMessage) (string, error) {
	var k string
	if len(args) == 0 || json.Unmarshal(args[0], &k) != nil {
		return "", sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the key must be a string", api)
	}
	return k, nil
}

// legacyWrite: extension.storage.write(key, value) → the stored value. The
// whole store, as JSON, must stay within 25000 bytes, else
// STORAGE_SIZE_MAX and nothing changes (part B 4.1).
func (e *Executor) legacyWrite(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	api := call.API.Name
	args, err := rawArgs(call)
	if err != nil {
		return nil, err
	}
	key, err := legacyKey(api, args)
	if err != nil {
		return nil, err
	}
	if len(args) < 2 {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s needs a value", api)
	}
	value, err := compactValue(api, args[1])
	if err != nil {
		return nil, err
	}
	_, err = e.withOverlay(o, api, func(ov *storageOverlay) (any, error) {
		return nil, ov.write(ctx, api, store.StorageOp{Kind: store.OpSet, Key: key, Value: value}, overlayEntry{value: value})
	})
	if err != nil {
		return nil, err
	}
	return json.RawMessage(value), nil
}

// legacyDelete: extension.storage.delete(key) → the key.
func (e *Executor) legacyDelete(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	args, err := rawArgs(call)
	if err != nil {
		return nil, err
	}
	key, err := legacyKey(call.API.Name, args)
	if err != nil {
		return nil, err
	}
	_, err = e.withOverlay(o, call.API.Name, func(ov *storageOverlay) (any, error) {
		return nil, ov.write(ctx, call.API.Name, store.StorageOp{Kind: store.OpDelete, Key: key}, overlayEntry{deleted: true})
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(key)
}

// legacyClear: extension.storage.clear() → true.
func (e *Executor) legacyClear(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	_, err := e.withOverlay(o, call.API.Name, func(ov *storageOverlay) (any, error) {
		return nil, ov.write(ctx, call.API.Name, store.StorageOp{Kind: store.OpClear}, overlayEntry{})
	})
	if err != nil {
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
