package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestOpIncrement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := newStore(t, WithClock(clk.Now))
	ext := save(t, s, "counter", "", "o", "1.0.0").ExtensionID
	inc := func(k string, by float64) StorageOp { return StorageOp{Kind: OpIncrement, Key: k, By: by} }
	get := func(k string) string {
		v, _, err := s.StorageGet(ctx, "g", ext, k)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := s.StorageSet(ctx, "g", ext, "ttl", `10`, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.StorageSet(ctx, "g", ext, "text", `"ten"`, 0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		ops  []StorageOp
		want map[string]string // key → value after
		err  error
	}{
		{"absent counts as zero", []StorageOp{inc("a", 1)}, map[string]string{"a": `1`}, nil},
		{"adds in order", []StorageOp{inc("a", 2.5), inc("a", -1)}, map[string]string{"a": `2.5`}, nil},
		{"after a set in the batch", []StorageOp{{Kind: OpSet, Key: "b", Value: `40`}, inc("b", 2)}, map[string]string{"b": `42`}, nil},
		{"keeps the expiry", []StorageOp{inc("ttl", 5)}, map[string]string{"ttl": `15`}, nil},
		{"not a number fails the batch", []StorageOp{inc("a", 100), inc("text", 1)}, map[string]string{"a": `2.5`, "text": `"ten"`}, ErrNotNumber},
	} {
		err := s.ApplyStorage(ctx, "g", ext, tt.ops, Quota{})
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Fatalf("%s: ApplyStorage = %v, want %v", tt.name, err, tt.err)
		}
		for k, want := range tt.want {
			if got := get(k); got != want {
				t.Fatalf("%s: %s = %s, want %s", tt.name, k, got, want)
			}
		}
	}
	if err := s.ApplyStorage(ctx, "g", ext, []StorageOp{inc("a", 0)}, Quota{}); err != nil {
		t.Fatal(err)
	}
	if err := (StorageOp{Kind: OpIncrement, Key: "a", By: inf()}).check(); err == nil {
		t.Fatal("an infinite increment passed check")
	}
	kv, ok, err := s.StorageEntry(ctx, "g", ext, "ttl")
	if err != nil || !ok || !kv.ExpiresAt.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("ttl entry = %+v %v %v; the increment dropped its expiry", kv, ok, err)
	}
	clk.Advance(2 * time.Minute)
	if err := s.ApplyStorage(ctx, "g", ext, []StorageOp{inc("ttl", 1)}, Quota{}); err != nil {
		t.Fatal(err)
	}
	if got := get("ttl"); got != `1` {
		t.Fatalf("increment of an expired key = %s, want 1 (it starts again from 0)", got)
	}
}

func inf() float64 {
	var z float64
	return 1 / z
}

// TestConcurrentIncrements: increments committed from many goroutines at
// once all count.
func TestConcurrentIncrements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	ext := save(t, s, "hits", "", "o", "1.0.0").ExtensionID
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if err := s.ApplyStorage(ctx, "g", ext, []StorageOp{{Kind: OpIncrement, Key: "n", By: 1}}, Quota{}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if v, _, _ := s.StorageGet(ctx, "g", ext, "n"); v != fmt.Sprint(workers*each) {
		t.Fatalf("n = %s, want %d", v, workers*each)
	}
}

func TestStorageTopAndUsage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	ext := save(t, s, "board", "", "o", "1.0.0").ExtensionID
	for k, v := range map[string]string{
		"score:ann": `30`, "score:bob": `7.5`, "score:cy": `30`, "score:dan": `"100"`, "score:eve": `-2`,
		"score:fay": `{"n":1}`, "other": `1000`,
	} {
		if err := s.StorageSet(ctx, "g", ext, k, v, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		prefix string
		n      int
		want   string
	}{
		{"score:", 10, "score:ann=30 score:cy=30 score:bob=7.5 score:eve=-2"},
		{"score:", 2, "score:ann=30 score:cy=30"},
		{"", 1, "other=1000"},
		{"none:", 5, ""},
	} {
		kvs, err := s.StorageTop(ctx, "g", ext, tt.prefix, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for i, kv := range kvs {
			if i > 0 {
				got += " "
			}
			got += kv.Key + "=" + kv.Value
		}
		if got != tt.want {
			t.Errorf("top(%q, %d) = %q, want %q", tt.prefix, tt.n, got, tt.want)
		}
	}
	n, b, err := s.StorageUsageWithout(ctx, "g", ext, []string{"other", "score:ann", "missing"})
	if err != nil || n != 5 {
		t.Fatalf("usage without = %d %d %v", n, b, err)
	}
	all, ball, _ := s.StorageUsage(ctx, "g", ext)
	if all != 7 || ball-b != int64(len("other")+len("1000")+len("score:ann")+len("30")) {
		t.Fatalf("usage %d %d vs without %d %d", all, ball, n, b)
	}
}

// TestStorageJSONSize compares the measure with Go's own encoding of the
// same object (no HTML escaping, which JSON.stringify does not do either).
func TestStorageJSONSize(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		kvs  []KV
	}{
		{"empty", nil},
		{"one", []KV{{Key: "a", Value: `1`}}},
		{"escapes", []KV{{Key: "quote\"back\\slash\nnl\ttab\x01ctl", Value: `"x"`}, {Key: "é日本🎉", Value: `[1,{"b":null}]`}}},
		{"html is not escaped", []KV{{Key: "<a&b>", Value: `"<>"`}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b []byte
			b = append(b, '{')
			for i, kv := range tt.kvs {
				if i > 0 {
					b = append(b, ',')
				}
				k, _ := json.Marshal(kv.Key)
				b = append(b, k...)
				b = append(b, ':')
				b = append(b, kv.Value...)
			}
			b = append(b, '}')
			want := int64(len(b))
			// Go escapes <, > and & as \u003c...; JSON.stringify does not,
			// and Go writes \u0001 where JS does too.
			for _, kv := range tt.kvs {
				for _, c := range kv.Key {
					if c == '<' || c == '>' || c == '&' {
						want -= 5
					}
				}
			}
			if got := StorageJSONSize(tt.kvs); got != want {
				t.Fatalf("StorageJSONSize = %d, want %d (%s)", got, want, b)
			}
		})
	}
}

func TestQuotaMaxJSONBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	ext := save(t, s, "legacy", "", "o", "1.0.0").ExtensionID
	q := Quota{MaxJSONBytes: 30}
	// {"a":"0123456789"} is 18 bytes; adding ,"b":"0123456789" makes 35.
	if err := s.ApplyStorage(ctx, "g", ext, []StorageOp{{Kind: OpSet, Key: "a", Value: `"0123456789"`}}, q); err != nil {
		t.Fatal(err)
	}
	err := s.ApplyStorage(ctx, "g", ext, []StorageOp{{Kind: OpSet, Key: "b", Value: `"0123456789"`}}, q)
	if !errors.Is(err, ErrQuota) {
		t.Fatalf("over the JSON cap: %v", err)
	}
	if n, _, _ := s.StorageUsage(ctx, "g", ext); n != 1 {
		t.Fatalf("%d entries after a refused batch", n)
	}
	if !q.Exceeded(0, 0, 31) || q.Exceeded(100, 1<<20, 30) {
		t.Fatal("Exceeded")
	}
}

func TestEconomyViews(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	c := func(u UserID) Change { return Change{Guild: "g", User: u, Actor: "ext:test"} }
	for u, b := range map[UserID]int64{"ann": 50, "bob": 80, "cy": 50} {
		if _, err := s.AddBalance(ctx, c(u), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetBalance(ctx, c("zed"), 0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		user UserID
		want Account
	}{
		{"bob", Account{Balance: 80, Found: true, Position: 1}},
		{"ann", Account{Balance: 50, Found: true, Position: 2}},
		{"cy", Account{Balance: 50, Found: true, Position: 2}},
		{"zed", Account{Balance: 0, Found: true, Position: 4}},
		{"nobody", Account{Balance: 0, Found: false, Position: 4}},
	} {
		got, err := s.Account(ctx, "g", tt.user)
		if err != nil || got != tt.want {
			t.Errorf("Account(%s) = %+v, %v; want %+v", tt.user, got, err, tt.want)
		}
	}
	if st, err := s.EconomyStats(ctx, "g"); err != nil || st != (EconomyStats{Members: 4, Total: 180}) {
		t.Fatalf("EconomyStats = %+v, %v", st, err)
	}
	if st, err := s.EconomyStats(ctx, "empty"); err != nil || st != (EconomyStats{}) {
		t.Fatalf("EconomyStats(empty) = %+v, %v", st, err)
	}
	if ids, err := s.EconomyMembers(ctx, "g", 3); err != nil || fmt.Sprint(ids) != "[bob ann cy]" {
		t.Fatalf("EconomyMembers = %v, %v", ids, err)
	}
	prev, err := s.SwapBalance(ctx, c("ann"), 7)
	if err != nil || prev != 50 {
		t.Fatalf("SwapBalance = %d, %v", prev, err)
	}
	led, _ := s.Ledger(ctx, "g", "ann", 1)
	if len(led) != 1 || led[0].Kind != "set" || led[0].Delta != -43 || led[0].BalanceAfter != 7 {
		t.Fatalf("set ledger row = %+v", led)
	}
	if _, err := s.SwapBalance(ctx, c("ann"), -1); !errors.Is(err, ErrInsufficient) {
		t.Fatalf("negative set: %v", err)
	}
}
