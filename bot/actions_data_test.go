package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// newStoreRig is a rig without Discord, for data actions that never reach
// it, on a store opened with opts (a clock, a secret key).
func newStoreRig(t testing.TB, opts ...store.Option) *rig {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "data.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	const guild = "100000000000000001"
	if _, err := st.EnsureGuild(ctx, guild, "!"); err != nil {
		t.Fatal(err)
	}
	v, err := st.SaveAndInstall(ctx, store.NewVersion{
		Name: "dataext", Owner: "1", Version: "1.0.0", Manifest: json.RawMessage(`{}`), Code: "//",
	}, store.Install{GuildID: guild, Enabled: true, InstalledBy: "1"})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{
		t: t, store: st, exec: NewExecutor(nil, st, nil),
		origin: extensions.Origin{
			GuildID: guild, ExtensionID: v.ExtensionID, VersionID: v.ID,
			Extension: "dataext", Version: "1.0.0", Trigger: "test", Run: extensions.NewRunState(),
		},
	}
}

// run returns an origin for one new invocation of the rig's extension.
func (r *rig) run() extensions.Origin {
	o := r.origin
	o.Run = extensions.NewRunState()
	return o
}

// must performs api and fails the test on error.
func (r *rig) must(o extensions.Origin, api string, args ...any) json.RawMessage {
	r.t.Helper()
	out, err := r.call(o, api, args...)
	if err != nil {
		r.t.Fatalf("%s%v: %v", api, args, err)
	}
	return out
}

// callRaw performs api with args given as the JSON text of the argument
// list, exactly as the sandbox sends it.
func (r *rig) callRaw(o extensions.Origin, api, args string) (json.RawMessage, error) {
	r.t.Helper()
	a, ok := sandbox.LookupAPI(api)
	if !ok {
		r.t.Fatalf("no API %s", api)
	}
	return r.exec.Perform(context.Background(), sandbox.Call{
		Key: sandbox.Key{Guild: o.GuildID, Extension: o.Extension}, Version: o.Version,
		API: a, Args: json.RawMessage(args), Origin: o,
	})
}

// finishRun ends o's run.
func finishRun(t testing.TB, o extensions.Origin, ok bool) {
	t.Helper()
	if err := o.Run.Finish(context.Background(), ok); err != nil {
		t.Fatalf("finish: %v", err)
	}
}

// jsonEq fails unless got and want are the same JSON value.
func jsonEq(t testing.TB, what string, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if len(got) == 0 {
		got = json.RawMessage(`"<undefined>"`)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %s is not JSON: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: want %s is not JSON: %v", what, want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("%s = %s, want %s", what, gb, wb)
	}
}

// stored returns the committed value of key ("" when absent).
func (r *rig) stored(key string) string {
	r.t.Helper()
	v, ok, err := r.store.StorageGet(context.Background(), store.GuildID(r.origin.GuildID), r.origin.ExtensionID, key)
	if err != nil {
		r.t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return v
}

func (r *rig) seed(kvs map[string]string) {
	r.t.Helper()
	for k, v := range kvs {
		if err := r.store.StorageSet(context.Background(), store.GuildID(r.origin.GuildID), r.origin.ExtensionID, k, v, 0); err != nil {
			r.t.Fatal(err)
		}
	}
}

func TestStorageOverlayCommitsOnSuccess(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.seed(map[string]string{"old": `"kept"`, "gone": `1`})
	o := r.run()

	r.must(o, "storage.set", "cfg", map[string]any{"a": []int{1, 2}, "b": "<x&y>"})
	jsonEq(t, "get own write", r.must(o, "storage.get", "cfg"), `{"a":[1,2],"b":"<x&y>"}`)
	r.must(o, "storage.delete", "gone")
	if out := r.must(o, "storage.get", "gone"); len(out) != 0 {
		t.Fatalf("get of a key deleted in this run = %s, want undefined", out)
	}
	jsonEq(t, "get through to the store", r.must(o, "storage.get", "old"), `"kept"`)
	jsonEq(t, "list", r.must(o, "storage.list", ""), `[{"key":"cfg","value":{"a":[1,2],"b":"<x&y>"}},{"key":"old","value":"kept"}]`)
	if out := r.must(o, "storage.get", "missing"); len(out) != 0 {
		t.Fatalf("get of an absent key = %s", out)
	}

	// Nothing reaches the store before the run ends.
	if r.stored("cfg") != "" || r.stored("gone") == "" {
		t.Fatal("a write reached the store before the run ended")
	}
	// The value is stored as the sandbox's JSON.stringify wrote it, only
	// without whitespace: what the legacy 25000-byte cap measures.
	if _, err := r.callRaw(o, "storage.set", `["text", {"b" : "<x&y>",  "é":[1,  2]}]`); err != nil {
		t.Fatal(err)
	}
	finishRun(t, o, true)
	jsonEq(t, "committed cfg", json.RawMessage(r.stored("cfg")), `{"a":[1,2],"b":"<x&y>"}`)
	if got := r.stored("text"); got != `{"b":"<x&y>","é":[1,2]}` {
		t.Fatalf("committed text = %s", got)
	}
	if r.stored("gone") != "" || r.stored("old") != `"kept"` {
		t.Fatal("the delete was not committed, or the commit touched another key")
	}

	// The ended run refuses further calls.
	if _, err := r.call(o, "storage.set", "late", 1); codeOfErr(err) != sandbox.CodeTimeout {
		t.Fatalf("a call after the run ended: %v", err)
	}
	noRun := r.origin
	noRun.Run = nil
	if _, err := r.call(noRun, "storage.get", "old"); err == nil || codeOfErr(err) != "" {
		t.Fatalf("no run state: %v, want an internal error", err)
	}
}

func TestStorageRunOutcome(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	for _, tt := range []struct {
		name       string
		legacy, ok bool
		kept       bool
	}{
		{"part A success commits", false, true, true},
		{"part A failure discards", false, false, false},
		{"legacy success commits", true, true, true},
		{"legacy failure still commits", true, false, true},
	} {
		o := r.run()
		o.Legacy = tt.legacy
		key := strings.ReplaceAll(tt.name, " ", "_")
		if tt.legacy {
			jsonEq(t, "write", r.must(o, "extension.write", key, map[string]int{"n": 1}), `{"n":1}`)
		} else {
			r.must(o, "storage.set", key, 1)
		}
		finishRun(t, o, tt.ok)
		if got := r.stored(key) != ""; got != tt.kept {
			t.Errorf("%s: stored = %v, want %v", tt.name, got, tt.kept)
		}
	}
}

func TestStorageQuotaRefusedAtCall(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		quota store.Quota
	}{
		{"entries", store.Quota{MaxEntries: 2}},
		// seed + "x", fits + "z": 14 bytes
		{"bytes", store.Quota{MaxBytes: int64(len("seed") + 3 + len("fits") + 3)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			r.seed(map[string]string{"seed": `"x"`})
			o := r.run()
			o.Quota = tt.quota
			r.must(o, "storage.set", "fits", "a")
			_, err := r.call(o, "storage.set", "over", "abc")
			if codeOfErr(err) != sandbox.CodeStorageSizeMax {
				t.Fatalf("over quota: %v, want STORAGE_SIZE_MAX", err)
			}
			if out := r.must(o, "storage.get", "over"); len(out) != 0 {
				t.Fatalf("the refused write is visible: %s", out)
			}
			// Rewriting a key the run already holds adds nothing.
			r.must(o, "storage.set", "fits", "z")
			// Increment is checked too.
			if _, err := r.call(o, "storage.increment", "counter"); codeOfErr(err) != sandbox.CodeStorageSizeMax {
				t.Fatalf("increment over quota: %v", err)
			}
			finishRun(t, o, true)
			if r.stored("over") != "" || r.stored("counter") != "" || r.stored("fits") != `"z"` {
				t.Fatal("the store does not hold exactly what passed the quota")
			}
			// Deleting frees room in the same run.
			o = r.run()
			o.Quota = tt.quota
			r.must(o, "storage.delete", "fits")
			r.must(o, "storage.set", "over", "a")
			finishRun(t, o, true)
			if r.stored("over") != `"a"` || r.stored("fits") != "" {
				t.Fatal("delete then set was not committed")
			}
		})
	}
}

// TestStorageQuotaAtCommit: two runs that each fit alone commit one after
// the other; the second breaks the quota and its finisher says so.
func TestStorageQuotaAtCommit(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a, b := r.run(), r.run()
	a.Quota, b.Quota = store.Quota{MaxEntries: 1}, store.Quota{MaxEntries: 1}
	r.must(a, "storage.set", "a", 1)
	r.must(b, "storage.set", "b", 1)
	finishRun(t, a, true)
	err := b.Run.Finish(context.Background(), true)
	if !errors.Is(err, store.ErrQuota) {
		t.Fatalf("second commit: %v, want ErrQuota", err)
	}
	if r.stored("a") == "" || r.stored("b") != "" {
		t.Fatal("the refused commit changed the store")
	}
}

func TestStorageTTL(t *testing.T) {
	t.Parallel()
	clk := &testClock{t: time.UnixMilli(1_800_000_000_000)}
	r := newStoreRig(t, store.WithClock(clk.Now))
	o := r.run()
	r.must(o, "storage.set", "short", "soon gone", map[string]any{"ttlMs": 1500})
	r.must(o, "storage.set", "forever", "stays", map[string]any{})
	for _, ttl := range []any{999, 0, -5, "1000", 1e15} {
		if _, err := r.call(o, "storage.set", "bad", 1, map[string]any{"ttlMs": ttl}); codeOfErr(err) != sandbox.CodeInvalidArgument {
			t.Errorf("ttlMs %v: %v", ttl, err)
		}
	}
	finishRun(t, o, true)

	o = r.run()
	jsonEq(t, "before expiry", r.must(o, "storage.get", "short"), `"soon gone"`)
	clk.Advance(1600 * time.Millisecond)
	if out := r.must(o, "storage.get", "short"); len(out) != 0 {
		t.Fatalf("expired key reads %s", out)
	}
	jsonEq(t, "list after expiry", r.must(o, "storage.list", ""), `[{"key":"forever","value":"stays"}]`)
}

// testClock is a settable clock for store.WithClock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestStorageIncrement(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.seed(map[string]string{"n": `5`, "text": `"five"`})
	o := r.run()
	jsonEq(t, "first", r.must(o, "storage.increment", "n"), `6`)
	jsonEq(t, "second", r.must(o, "storage.increment", "n", 10), `16`)
	jsonEq(t, "read", r.must(o, "storage.get", "n"), `16`)
	jsonEq(t, "absent", r.must(o, "storage.increment", "fresh", -2.5), `-2.5`)
	if _, err := r.call(o, "storage.increment", "text"); codeOfErr(err) != sandbox.CodeInvalidArgument {
		t.Fatalf("increment of a string: %v", err)
	}
	if _, err := r.call(o, "storage.increment", "n", "1"); codeOfErr(err) != sandbox.CodeInvalidArgument {
		t.Fatalf("increment by a string: %v", err)
	}
	// Meanwhile another run commits an increment: both count.
	other := r.run()
	r.must(other, "storage.increment", "n", 100)
	finishRun(t, other, true)
	finishRun(t, o, true)
	if got := r.stored("n"); got != `116` {
		t.Fatalf("n = %s, want 116 (5 + 1 + 10 + 100)", got)
	}
}

// TestStorageIncrementConcurrentRuns: many runs, each with its own run
// state, increment the same key at once; every increment counts.
func TestStorageIncrementConcurrentRuns(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	const runs = 40
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for range runs {
		wg.Go(func() {
			o := r.run()
			if _, err := r.call(o, "storage.increment", "hits"); err != nil {
				errs <- err
				return
			}
			errs <- o.Run.Finish(context.Background(), true)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := r.stored("hits"); got != fmt.Sprint(runs) {
		t.Fatalf("hits = %s, want %d", got, runs)
	}
}

func TestStorageTopAndList(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.seed(map[string]string{"s:a": `10`, "s:b": `20`, "s:c": `30`, "s:d": `"x"`, "t:z": `99`})
	o := r.run()
	r.must(o, "storage.set", "s:b", 50)
	r.must(o, "storage.delete", "s:c")
	r.must(o, "storage.set", "s:e", 25)
	r.must(o, "storage.set", "s:f", "not a number")
	for _, tt := range []struct {
		name string
		api  string
		args []any
		want string
	}{
		{"top 3", "storage.top", []any{"s:", 3}, `[{"key":"s:b","value":50},{"key":"s:e","value":25},{"key":"s:a","value":10}]`},
		{"top default n", "storage.top", []any{"s:"}, `[{"key":"s:b","value":50},{"key":"s:e","value":25},{"key":"s:a","value":10}]`},
		{"top 1 all prefixes", "storage.top", []any{""}, `[{"key":"t:z","value":99},{"key":"s:b","value":50},{"key":"s:e","value":25},{"key":"s:a","value":10}]`},
		{"list prefix", "storage.list", []any{"s:"}, `[{"key":"s:a","value":10},{"key":"s:b","value":50},{"key":"s:d","value":"x"},{"key":"s:e","value":25},{"key":"s:f","value":"not a number"}]`},
		{"list limit", "storage.list", []any{"s:", map[string]any{"limit": 2}}, `[{"key":"s:a","value":10},{"key":"s:b","value":50}]`},
		{"list none", "storage.list", []any{"u:"}, `[]`},
	} {
		jsonEq(t, tt.name, r.must(o, tt.api, tt.args...), tt.want)
	}
	r.must(o, "storage.set", "s:g", 1)
	o2 := o
	o2.Legacy = true
	r.must(o2, "extension.clear")
	jsonEq(t, "after clear", r.must(o, "storage.list", ""), `[]`)
	r.must(o, "storage.set", "after", 1)
	jsonEq(t, "after clear and set", r.must(o, "storage.top", ""), `[{"key":"after","value":1}]`)
	finishRun(t, o, true)
	list, err := r.store.StorageList(context.Background(), store.GuildID(r.origin.GuildID), r.origin.ExtensionID, "", 0)
	if err != nil || len(list) != 1 || list[0].Key != "after" {
		t.Fatalf("after a committed clear: %+v %v", list, err)
	}
}

func TestStorageArguments(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	long := strings.Repeat("k", maxStorageKey+1)
	for _, tt := range []struct {
		api  string
		args []any
	}{
		{"storage.get", nil},
		{"storage.get", []any{""}},
		{"storage.get", []any{long}},
		{"storage.get", []any{42}},
		{"storage.set", []any{"k"}},
		{"storage.set", []any{long, 1}},
		{"storage.set", []any{"k", 1, "ttl"}},
		{"storage.delete", []any{""}},
		{"storage.list", []any{long}},
		{"storage.list", []any{"", map[string]any{"limit": 0}}},
		{"storage.list", []any{"", map[string]any{"limit": 1001}}},
		{"storage.list", []any{"", 5}},
		{"storage.top", []any{"", 0}},
		{"storage.top", []any{"", 101}},
		{"storage.increment", []any{"", 1}},
		{"extension.write", []any{}},
		{"extension.write", []any{"k"}},
		{"extension.delete", []any{7}},
	} {
		o := r.run()
		if _, err := r.call(o, tt.api, tt.args...); codeOfErr(err) != sandbox.CodeInvalidArgument {
			t.Errorf("%s%v: %v, want INVALID_ARGUMENT", tt.api, tt.args, err)
		}
	}
	// The edges that are allowed.
	o := r.run()
	r.must(o, "storage.set", strings.Repeat("k", maxStorageKey), nil)
	r.must(o, "storage.set", strings.Repeat("é", maxStorageKey), 1)
	r.must(o, "storage.list", "", map[string]any{"limit": 1000})
	r.must(o, "storage.top", "", 100)
	// 🎉 is two UTF-16 units, as JS counts it.
	if _, err := r.call(o, "storage.set", strings.Repeat("🎉", maxStorageKey/2+1), 1); codeOfErr(err) != sandbox.CodeInvalidArgument {
		t.Errorf("a key of %d UTF-16 units: %v", maxStorageKey+2, err)
	}
}

// TestLegacyStorageCap: the whole store as JSON stays within 25000 bytes;
// a write over it fails with STORAGE_SIZE_MAX and changes nothing.
func TestLegacyStorageCap(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	// {"big":"xxx…"} of exactly 24990 bytes.
	big := strings.Repeat("x", 24990-len(`{"big":""}`))
	r.seed(map[string]string{"big": `"` + big + `"`})
	o := r.run()
	o.Legacy = true

	// ,"a":"1234" adds 11 bytes: 25001.
	if _, err := r.call(o, "extension.write", "a", "1234"); codeOfErr(err) != sandbox.CodeStorageSizeMax {
		t.Fatalf("over the cap: %v, want STORAGE_SIZE_MAX", err)
	}
	// ,"a":"123" makes exactly 25000: allowed.
	jsonEq(t, "write at the cap", r.must(o, "extension.write", "a", "123"), `"123"`)
	// Multi-byte characters count as UTF-8 bytes: "é" is 2.
	if _, err := r.call(o, "extension.write", "a", "12é"); codeOfErr(err) != sandbox.CodeStorageSizeMax {
		t.Fatalf("over the cap in UTF-8: %v", err)
	}
	jsonEq(t, "refused write changed nothing", r.must(o, "storage.get", "a"), `"123"`)
	// Deleting makes room again.
	jsonEq(t, "delete", r.must(o, "extension.delete", "big"), `"big"`)
	r.must(o, "extension.write", "b", strings.Repeat("y", 20000))
	finishRun(t, o, false) // legacy: persisted although the run failed

	data, err := LegacyExtensionData(ctx, r.store, store.GuildID(r.origin.GuildID), r.origin.ExtensionID, map[string]any{"color": "#ffffff"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(data)
	var got struct {
		Store    map[string]json.RawMessage
		Settings map[string]any
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Store) != 2 || string(got.Store["a"]) != `"123"` || len(got.Store["b"]) != 20002 || got.Settings["color"] != "#ffffff" {
		t.Fatalf("LegacyExtensionData = %.200s", raw)
	}

	// clear resolves to true and empties the store at commit.
	o = r.run()
	o.Legacy = true
	jsonEq(t, "clear", r.must(o, "extension.clear"), `true`)
	r.must(o, "extension.write", "after", []any{1, "two"})
	finishRun(t, o, true)
	data, _ = LegacyExtensionData(ctx, r.store, store.GuildID(r.origin.GuildID), r.origin.ExtensionID, nil)
	raw, _ = json.Marshal(data)
	jsonEq(t, "after clear", raw, `{"store":{"after":[1,"two"]},"settings":{}}`)
}
