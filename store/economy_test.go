package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
)

func TestEconomyLedger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	c := Change{Guild: "g", User: "ann", Actor: "ext:shop", Reason: "daily"}
	if after, err := s.AddBalance(ctx, c, 100); err != nil || after != 100 {
		t.Fatalf("add: %d, %v", after, err)
	}
	if _, err := s.AddBalance(ctx, c, -150); !errors.Is(err, ErrInsufficient) {
		t.Fatalf("overdraw: %v, want ErrInsufficient", err)
	}
	neg := c
	neg.AllowNegative = true
	if after, err := s.AddBalance(ctx, neg, -150); err != nil || after != -50 {
		t.Fatalf("allowed overdraw: %d, %v", after, err)
	}
	if err := s.SetBalance(ctx, c, 40); err != nil {
		t.Fatal(err)
	}
	from, to, err := s.Transfer(ctx, c, "bob", 30)
	if err != nil || from != 10 || to != 30 {
		t.Fatalf("transfer: %d %d %v", from, to, err)
	}
	if _, _, err := s.Transfer(ctx, c, "bob", 11); !errors.Is(err, ErrInsufficient) {
		t.Fatalf("transfer beyond the balance: %v", err)
	}
	if b, _ := s.Balance(ctx, "g", "bob"); b != 30 {
		t.Fatalf("bob = %d after a refused transfer, want 30", b)
	}
	led, err := s.Ledger(ctx, "g", "ann", 10)
	if err != nil || len(led) != 4 {
		t.Fatalf("ann's ledger = %+v, %v", led, err)
	}
	if led[0].Kind != "transfer_out" || led[0].Delta != -30 || led[0].BalanceAfter != 10 || led[0].TransferID != led[0].ID {
		t.Fatalf("latest ledger row = %+v", led[0])
	}
	if led[1].Kind != "set" || led[1].Delta != 90 || led[1].Actor != "ext:shop" || led[1].Reason != "daily" {
		t.Fatalf("set row = %+v", led[1])
	}
	bobLed, _ := s.Ledger(ctx, "g", "bob", 10)
	if len(bobLed) != 1 || bobLed[0].TransferID != led[0].ID || bobLed[0].Kind != "transfer_in" {
		t.Fatalf("bob's ledger = %+v", bobLed)
	}
	top, err := s.Leaderboard(ctx, "g", 5)
	if err != nil || len(top) != 2 || top[0].UserID != "bob" || top[1].Balance != 10 {
		t.Fatalf("leaderboard = %+v, %v", top, err)
	}
}

// TestConcurrentTransfersKeepTheMoney runs many transfers at once between a
// few members: the total never changes, no balance goes negative, and each
// balance equals the sum of its ledger.
func TestConcurrentTransfersKeepTheMoney(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	users := []UserID{"a", "b", "c", "d", "e"}
	for _, u := range users {
		if _, err := s.AddBalance(ctx, Change{Guild: "g", User: u, Actor: "test"}, 100); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	done, refused := 0, 0
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range 40 {
				from, to := users[r.IntN(len(users))], users[r.IntN(len(users))]
				if from == to {
					continue
				}
				_, _, err := s.Transfer(ctx, Change{Guild: "g", User: from, Actor: "test"}, to, int64(1+r.IntN(60)))
				mu.Lock()
				switch {
				case err == nil:
					done++
				case errors.Is(err, ErrInsufficient):
					refused++
				default:
					mu.Unlock()
					t.Errorf("transfer: %v", err)
					return
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var total int64
	for _, u := range users {
		b, err := s.Balance(ctx, "g", u)
		if err != nil {
			t.Fatal(err)
		}
		if b < 0 {
			t.Errorf("%s went negative: %d", u, b)
		}
		led, err := s.Ledger(ctx, "g", u, 10000)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, e := range led {
			sum += e.Delta
		}
		if sum != b {
			t.Errorf("%s: balance %d but ledger sums to %d", u, b, sum)
		}
		total += b
	}
	if total != 500 {
		t.Fatalf("total = %d after %d transfers (%d refused), want 500", total, done, refused)
	}
	if done == 0 || refused == 0 {
		t.Fatalf("the run did not exercise both paths: %d done, %d refused", done, refused)
	}
	t.Logf("%d transfers, %d refused for lack of funds", done, refused)
}
