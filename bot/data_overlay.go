package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// legacyStorageCap is SkynetBot's limit on one install's store: the UTF-8
// bytes of JSON.stringify of the whole object (part B 4.1).
const legacyStorageCap = 25000

// runStorageKey is the RunState value that holds a run's storageOverlay.
const runStorageKey = "storage"

// storageOverlay is one run's storage writes, kept on the trusted side
// until the run ends: reads see them layered over the store, and the run's
// finisher commits them in one ApplyStorage transaction (part A: only when
// the run succeeded; legacy: always, as SkynetBot saved the store whether
// the run failed or not).
//
// Every write is checked against the install's quota when it is made, so
// that a limit fails loudly at the call that breaks it; ApplyStorage checks
// again at commit, against what other runs committed meanwhile.
type storageOverlay struct {
	st     *store.Store
	guild  store.GuildID
	ext    store.ExtensionID
	quota  store.Quota // includes the legacy JSON cap
	legacy bool

	mu         sync.Mutex
	registered bool // the finisher is registered with the run
	closed     bool // the run ended: no more reads or writes
	cleared    bool // a clear: nothing of the store shows through
	entries    map[string]overlayEntry
	ops        []store.StorageOp
}

// overlayEntry is a key as this run left it. A TTL counts from the commit,
// so within the run an entry it wrote does not expire.
type overlayEntry struct {
	deleted bool
	value   string // compact JSON
}

func newStorageOverlay(st *store.Store, o extensions.Origin) *storageOverlay {
	q := o.Quota
	if o.Legacy {
		q.MaxJSONBytes = legacyStorageCap
	}
	return &storageOverlay{
		st: st, guild: store.GuildID(o.GuildID), ext: o.ExtensionID, quota: q, legacy: o.Legacy,
		entries: map[string]overlayEntry{},
	}
}

// errRunEnded is what a storage call gets once its run has ended (it
// arrived after the deadline).
func errRunEnded(api string) error {
	return sandbox.Errorf(sandbox.CodeTimeout, "%s: the run has already ended", api)
}

// withOverlay runs fn with e's storage overlay for o's run locked, creating
// it and registering its commit on first use.
func withOverlay[T any](e *Executor, o extensions.Origin, api string, fn func(ov *storageOverlay) (T, error)) (T, error) {
	var none T
	if o.Run == nil {
		return none, fmt.Errorf("%s: the origin has no run state", api)
	}
	create := func() any { return newStorageOverlay(e.store, o) }
	v, err := o.Run.Value(runStorageKey, create)
	if errors.Is(err, extensions.ErrRunFinished) {
		return none, errRunEnded(api)
	}
	if err != nil {
		return none, fmt.Errorf("%s: %w", api, err)
	}
	ov, ok := v.(*storageOverlay)
	if !ok {
		return none, fmt.Errorf("%s: run value %q is a %T", api, runStorageKey, v)
	}
	ov.mu.Lock()
	defer ov.mu.Unlock()
	if ov.closed {
		return none, errRunEnded(api)
	}
	if !ov.registered {
		ov.registered = true
		o.Run.OnFinish(ov.finish)
		// The run may have finished between Value and OnFinish, taking its
		// finishers before this one: then nothing would commit what this
		// call writes, so refuse it.
		if _, err := o.Run.Value(runStorageKey, create); err != nil {
			return none, errRunEnded(api)
		}
	}
	return fn(ov)
}

// storageWrite makes one write through the overlay of o's run (en: the key
// as the write leaves it; see storageOverlay.write).
func (e *Executor) storageWrite(ctx context.Context, o extensions.Origin, api string, op store.StorageOp, en overlayEntry) error {
	_, err := withOverlay(e, o, api, func(ov *storageOverlay) (any, error) {
		return nil, ov.write(ctx, api, op, en)
	})
	return err
}

// finish commits the run's writes (RunState finisher). A commit that fails
// (the quota, broken by what other runs committed meanwhile; an increment
// of a value another run made a non-number) writes nothing and returns the
// error, which the dispatcher reports in the extension's log.
func (ov *storageOverlay) finish(ctx context.Context, ok bool) error {
	ov.mu.Lock()
	defer ov.mu.Unlock()
	ov.closed = true
	if (!ok && !ov.legacy) || len(ov.ops) == 0 {
		return nil
	}
	if err := ov.st.ApplyStorage(ctx, ov.guild, ov.ext, ov.ops, ov.quota); err != nil {
		return fmt.Errorf("commit the run's %d storage writes: %w", len(ov.ops), err)
	}
	return nil
}

// get reads a key through the overlay.
func (ov *storageOverlay) get(ctx context.Context, key string) (string, bool, error) {
	if en, ok := ov.entries[key]; ok {
		return en.value, !en.deleted, nil
	}
	if ov.cleared {
		return "", false, nil
	}
	return ov.st.StorageGet(ctx, ov.guild, ov.ext, key)
}

// touched returns the keys this run wrote (or deleted) under prefix.
func (ov *storageOverlay) touched(prefix string) []string {
	var keys []string
	for k := range ov.entries {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// merge layers the run's live entries under prefix over base (store
// entries): base entries the run touched are dropped.
func (ov *storageOverlay) merge(base []store.KV, prefix string) []store.KV {
	out := make([]store.KV, 0, len(base)+len(ov.entries))
	for _, kv := range base {
		if _, ok := ov.entries[kv.Key]; !ok {
			out = append(out, kv)
		}
	}
	for _, k := range ov.touched(prefix) {
		if en := ov.entries[k]; !en.deleted {
			out = append(out, store.KV{Key: k, Value: en.value})
		}
	}
	return out
}

// list returns up to limit live entries under prefix, in key order.
func (ov *storageOverlay) list(ctx context.Context, prefix string, limit int) ([]store.KV, error) {
	var base []store.KV
	if !ov.cleared {
		// The first limit untouched store entries are among the first
		// limit + len(touched) of them.
		var err error
		if base, err = ov.st.StorageList(ctx, ov.guild, ov.ext, prefix, limit+len(ov.touched(prefix))); err != nil {
			return nil, err
		}
	}
	all := ov.merge(base, prefix)
	slices.SortFunc(all, func(a, b store.KV) int { return strings.Compare(a.Key, b.Key) })
	return all[:min(limit, len(all))], nil
}

// numericKV is an entry whose value is a number.
type numericKV struct {
	Key   string
	Value float64
}

// top returns up to n live entries under prefix with numeric values,
// highest first, ties in key order.
func (ov *storageOverlay) top(ctx context.Context, prefix string, n int) ([]numericKV, error) {
	var base []store.KV
	if !ov.cleared {
		var err error
		if base, err = ov.st.StorageTop(ctx, ov.guild, ov.ext, prefix, n+len(ov.touched(prefix))); err != nil {
			return nil, err
		}
	}
	var out []numericKV
	for _, kv := range ov.merge(base, prefix) {
		if f, err := store.JSONNumber(kv.Value); err == nil {
			out = append(out, numericKV{Key: kv.Key, Value: f})
		}
	}
	slices.SortFunc(out, func(a, b numericKV) int {
		switch {
		case a.Value > b.Value:
			return -1
		case a.Value < b.Value:
			return 1
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out[:min(n, len(out))], nil
}

// write records one write: the overlay changes at once (later reads of
// this run see it) and op is queued for the commit. A write that would
// take the install over its quota changes nothing and fails with
// STORAGE_SIZE_MAX.
func (ov *storageOverlay) write(ctx context.Context, api string, op store.StorageOp, en overlayEntry) error {
	if op.Kind == store.OpClear {
		// Clearing and deleting only shrink the store: no quota to check.
		ov.entries, ov.cleared = map[string]overlayEntry{}, true
		ov.ops = append(ov.ops, op)
		return nil
	}
	prev, had := ov.entries[op.Key]
	ov.entries[op.Key] = en
	if op.Kind != store.OpDelete {
		if err := ov.fits(ctx, api); err != nil {
			if had {
				ov.entries[op.Key] = prev
			} else {
				delete(ov.entries, op.Key)
			}
			return err
		}
	}
	ov.ops = append(ov.ops, op)
	return nil
}

// fits checks the store as this run would leave it against the quota.
func (ov *storageOverlay) fits(ctx context.Context, api string) error {
	if ov.quota == (store.Quota{}) {
		return nil
	}
	var n int
	var b, size int64
	if ov.quota.MaxJSONBytes > 0 {
		// Legacy stores are small (25000 bytes): measure the whole object.
		var base []store.KV
		if !ov.cleared {
			var err error
			if base, err = ov.st.StorageList(ctx, ov.guild, ov.ext, "", 0); err != nil {
				return fmt.Errorf("%s: %w", api, err)
			}
		}
		all := ov.merge(base, "")
		n, size = len(all), store.StorageJSONSize(all)
		for _, kv := range all {
			b += int64(len(kv.Key) + len(kv.Value))
		}
	} else {
		if !ov.cleared {
			var err error
			if n, b, err = ov.st.StorageUsageWithout(ctx, ov.guild, ov.ext, ov.touched("")); err != nil {
				return fmt.Errorf("%s: %w", api, err)
			}
		}
		for k, en := range ov.entries {
			if !en.deleted {
				n++
				b += int64(len(k) + len(en.value))
			}
		}
	}
	if !ov.quota.Exceeded(n, b, size) {
		return nil
	}
	if ov.quota.MaxJSONBytes > 0 && size > ov.quota.MaxJSONBytes {
		return sandbox.Errorf(sandbox.CodeStorageSizeMax, "%s: the store would be %d bytes of JSON; the limit is %d", api, size, ov.quota.MaxJSONBytes)
	}
	return sandbox.Errorf(sandbox.CodeStorageSizeMax, "%s: the storage would hold %d entries, %d bytes, over %s", api, n, b, ov.quota)
}
