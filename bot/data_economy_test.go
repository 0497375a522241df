package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

const (
	userAnn = "200000000000000001"
	userBob = "200000000000000002"
	userCy  = "200000000000000003"
)

// balance reads a member's balance from the store.
func (r *rig) balance(user string) int64 {
	r.t.Helper()
	b, err := r.store.Balance(context.Background(), store.GuildID(r.origin.GuildID), store.UserID(user))
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

func TestEconomyLimits(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	o := r.run()
	for _, tt := range []struct {
		name string
		api  string
		args []any
		code string // "" for success
		want string // the result, when it succeeds
	}{
		{"add", "economy.add", []any{userAnn, 100}, "", `{"userId":"` + userAnn + `","previousBalance":0,"newBalance":100,"amount":100,"reason":"Extension"}`},
		{"add floors", "economy.add", []any{userAnn, 9.99, "daily"}, "", `{"userId":"` + userAnn + `","previousBalance":100,"newBalance":109,"amount":9,"reason":"daily"}`},
		{"add the most", "economy.add", []any{userBob, 10000}, "", `{"userId":"` + userBob + `","previousBalance":0,"newBalance":10000,"amount":10000,"reason":"Extension"}`},
		{"add zero", "economy.add", []any{userAnn, 0}, sandbox.CodeInvalidArgument, ""},
		{"add under one", "economy.add", []any{userAnn, 0.5}, sandbox.CodeInvalidArgument, ""},
		{"add negative", "economy.add", []any{userAnn, -5}, sandbox.CodeInvalidArgument, ""},
		{"add too much", "economy.add", []any{userAnn, 10001}, sandbox.CodeInvalidArgument, ""},
		{"add a string", "economy.add", []any{userAnn, "5"}, sandbox.CodeInvalidArgument, ""},
		{"add no amount", "economy.add", []any{userAnn}, sandbox.CodeInvalidArgument, ""},
		{"add bad user", "economy.add", []any{"userBob", 5}, sandbox.CodeInvalidArgument, ""},
		{"add long reason", "economy.add", []any{userAnn, 5, string(make([]byte, 201))}, sandbox.CodeInvalidArgument, ""},
		{"remove", "economy.remove", []any{userAnn, 9}, "", `{"userId":"` + userAnn + `","previousBalance":109,"newBalance":100,"amount":-9,"reason":"Extension"}`},
		{"remove beyond", "economy.remove", []any{userAnn, 101}, sandbox.CodeInsufficient, ""},
		{"remove from nobody", "economy.remove", []any{userCy, 1}, sandbox.CodeInsufficient, ""},
		{"set", "economy.set", []any{userAnn, 100000, "reset"}, "", `{"userId":"` + userAnn + `","previousBalance":100,"newBalance":100000,"amount":99900,"reason":"reset"}`},
		{"set zero", "economy.set", []any{userAnn, 0}, "", `{"userId":"` + userAnn + `","previousBalance":100000,"newBalance":0,"amount":-100000,"reason":"Set by extension"}`},
		{"set too much", "economy.set", []any{userAnn, 100001}, sandbox.CodeInvalidArgument, ""},
		{"set negative", "economy.set", []any{userAnn, -1}, sandbox.CodeInvalidArgument, ""},
		{"transfer", "economy.transfer", []any{userBob, userAnn, 2500, "gift"}, "", `{"fromUserId":"` + userBob + `","toUserId":"` + userAnn + `","amount":2500,"fromNewBalance":7500,"toNewBalance":2500,"reason":"gift"}`},
		{"transfer beyond", "economy.transfer", []any{userAnn, userBob, 2501}, sandbox.CodeInsufficient, ""},
		{"transfer to oneself", "economy.transfer", []any{userAnn, userAnn, 1}, sandbox.CodeInvalidArgument, ""},
		{"transfer too much", "economy.transfer", []any{userBob, userAnn, 10001}, sandbox.CodeInvalidArgument, ""},
		{"balance", "economy.balance", []any{userAnn}, "", `2500`},
		{"balance of nobody", "economy.balance", []any{userCy}, "", `0`},
		{"balance bad user", "economy.balance", []any{42}, sandbox.CodeInvalidArgument, ""},
	} {
		out, err := r.call(o, tt.api, tt.args...)
		if code := codeOfErr(err); code != tt.code || (tt.code == "" && err != nil) {
			t.Fatalf("%s: %s, %v; want code %q", tt.name, out, err, tt.code)
		}
		if tt.code == "" {
			jsonEq(t, tt.name, out, tt.want)
		}
	}
	if r.balance(userAnn) != 2500 || r.balance(userBob) != 7500 || r.balance(userCy) != 0 {
		t.Fatalf("balances %d %d %d after refusals", r.balance(userAnn), r.balance(userBob), r.balance(userCy))
	}

	// Every change is a ledger row naming the extension, newest first.
	out := r.must(o, "economy.history", userAnn, 3)
	var rows []LedgerEntry
	if err := json.Unmarshal(out, &rows); err != nil || len(rows) != 3 {
		t.Fatalf("history = %s, %v", out, err)
	}
	for i, want := range []struct {
		delta, after int64
		reason       string
	}{{2500, 2500, "gift"}, {-100000, 0, "Set by extension"}, {99900, 100000, "reset"}} {
		got := rows[i]
		if got.Delta != want.delta || got.BalanceAfter != want.after || got.Reason != want.reason || got.Actor != "ext:rigext" || got.ID == 0 || got.CreatedAt == 0 {
			t.Errorf("history[%d] = %+v, want %+v", i, got, want)
		}
	}
	var all []LedgerEntry
	_ = json.Unmarshal(r.must(o, "economy.history", userAnn), &all)
	if len(all) != 6 {
		t.Fatalf("%d ledger rows for userAnn, want 6 (add, add, remove, set, set, transfer)", len(all))
	}
	for _, args := range [][]any{{userAnn, 0}, {userAnn, 101}, {"x"}} {
		if _, err := r.call(o, "economy.history", args...); codeOfErr(err) != sandbox.CodeInvalidArgument {
			t.Errorf("history%v: %v", args, err)
		}
	}
	audit, err := r.store.Audit(context.Background(), store.GuildID(r.origin.GuildID), 100)
	if err != nil || len(audit) == 0 || audit[0].Actor != "ext:rigext" {
		t.Fatalf("audit = %+v, %v", audit, err)
	}
}

func TestEconomyLeaderboard(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	o := r.run()
	for user, amount := range map[string]int{userAnn: 50, userBob: 80, userCy: 50} {
		r.must(o, "economy.add", user, amount)
	}
	jsonEq(t, "leaderboard", r.must(o, "economy.leaderboard"),
		`[{"userId":"`+userBob+`","balance":80,"position":1},{"userId":"`+userAnn+`","balance":50,"position":2},{"userId":"`+userCy+`","balance":50,"position":2}]`)
	jsonEq(t, "leaderboard(1)", r.must(o, "economy.leaderboard", 1), `[{"userId":"`+userBob+`","balance":80,"position":1}]`)
	for _, n := range []any{0, 101, "5"} {
		if _, err := r.call(o, "economy.leaderboard", n); codeOfErr(err) != sandbox.CodeInvalidArgument {
			t.Errorf("leaderboard(%v): %v", n, err)
		}
	}
}

// TestEconomyConcurrentTransfers: many transfers at once among a few
// members through the executor: the money is conserved, no balance goes
// negative, and every balance is the sum of its ledger.
func TestEconomyConcurrentTransfers(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	users := []string{userAnn, userBob, userCy, "200000000000000004"}
	setup := r.run()
	for _, u := range users {
		r.must(setup, "economy.set", u, 300)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	done, refused := 0, 0
	for w := range 8 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 11))
			o := r.run()
			for range 30 {
				from := users[rnd.IntN(len(users))]
				to := users[rnd.IntN(len(users))]
				if from == to {
					continue
				}
				_, err := r.call(o, "economy.transfer", from, to, 1+rnd.IntN(150))
				mu.Lock()
				switch codeOfErr(err) {
				case "":
					if err != nil {
						t.Error(err)
					}
					done++
				case sandbox.CodeInsufficient:
					refused++
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := int64(0)
	for _, u := range users {
		b := r.balance(u)
		if b < 0 {
			t.Errorf("%s has %d", u, b)
		}
		total += b
		led, err := r.store.Ledger(context.Background(), store.GuildID(r.origin.GuildID), store.UserID(u), 100000)
		if err != nil {
			t.Fatal(err)
		}
		sum := int64(0)
		for _, row := range led {
			sum += row.Delta
		}
		if sum != b {
			t.Errorf("%s: balance %d, ledger sum %d", u, b, sum)
		}
	}
	if total != 300*int64(len(users)) {
		t.Fatalf("total %d, want %d (%d transfers, %d refused)", total, 300*len(users), done, refused)
	}
	if done == 0 {
		t.Fatal("no transfer went through")
	}
}

// TestPoints: SkynetBot's synchronous points methods answer with part B's
// shapes and never fail the call.
func TestPoints(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	o := r.run()
	o.Legacy = true
	for _, tt := range []struct {
		name string
		api  string
		args []any
		want string
	}{
		{"unknown user", "points.getUser", []any{userAnn}, `{"userId":"` + userAnn + `","rankScore":0,"messages":0,"voice":0,"rank":"No Rank","found":false,"position":1}`},
		{"getUser not a string", "points.getUser", []any{12}, `{"found":false,"error":"Invalid user ID"}`},
		{"remove from unknown", "points.removePoints", []any{userAnn, 5}, `{"success":false,"error":"User not found in points system","userId":"` + userAnn + `"}`},
		{"add", "points.addPoints", []any{userAnn, 120.7}, `{"success":true,"userId":"` + userAnn + `","previousBalance":0,"newBalance":120,"amountAdded":120,"reason":"Extension"}`},
		{"add with reason", "points.addPoints", []any{userBob, 10, "quiz"}, `{"success":true,"userId":"` + userBob + `","previousBalance":0,"newBalance":10,"amountAdded":10,"reason":"quiz"}`},
		{"add too much", "points.addPoints", []any{userAnn, 10001}, `{"success":false,"error":"Amount must be a number from 1 to 10000","userId":"` + userAnn + `"}`},
		{"add zero", "points.addPoints", []any{userAnn, 0}, `{"success":false,"error":"Amount must be a number from 1 to 10000","userId":"` + userAnn + `"}`},
		{"add bad user", "points.addPoints", []any{"someone", 5}, `{"success":false,"error":"Invalid user ID","userId":"someone"}`},
		{"found", "points.getUser", []any{userAnn}, `{"userId":"` + userAnn + `","rankScore":120,"messages":0,"voice":0,"rank":"No Rank","found":true,"position":1}`},
		{"second place", "points.getUser", []any{userBob}, `{"userId":"` + userBob + `","rankScore":10,"messages":0,"voice":0,"rank":"No Rank","found":true,"position":2}`},
		{"remove too much", "points.removePoints", []any{userBob, 11}, `{"success":false,"error":"Insufficient points","userId":"` + userBob + `","currentBalance":10,"requested":11}`},
		{"remove", "points.removePoints", []any{userBob, 4}, `{"success":true,"userId":"` + userBob + `","previousBalance":10,"newBalance":6,"amountRemoved":4,"reason":"Extension"}`},
		{"transfer", "points.transfer", []any{userAnn, userBob, 20}, `{"success":true,"fromUserId":"` + userAnn + `","toUserId":"` + userBob + `","amount":20,"fromNewBalance":100,"toNewBalance":26,"reason":"Transfer"}`},
		{"transfer too much", "points.transfer", []any{userBob, userAnn, 27}, `{"success":false,"error":"Insufficient points","fromUserId":"` + userBob + `","toUserId":"` + userAnn + `"}`},
		{"transfer from unknown", "points.transfer", []any{userCy, userAnn, 1}, `{"success":false,"error":"User not found in points system","fromUserId":"` + userCy + `","toUserId":"` + userAnn + `"}`},
		{"transfer to oneself", "points.transfer", []any{userAnn, userAnn, 1}, `{"success":false,"error":"Cannot transfer points to the same user","fromUserId":"` + userAnn + `","toUserId":"` + userAnn + `"}`},
		{"transfer no amount", "points.transfer", []any{userAnn, userBob}, `{"success":false,"error":"Amount must be a number from 1 to 10000","fromUserId":"` + userAnn + `","toUserId":"` + userBob + `"}`},
		{"set", "points.setPoints", []any{userCy, 100000}, `{"success":true,"userId":"` + userCy + `","previousBalance":0,"newBalance":100000,"reason":"Set by extension"}`},
		{"set zero", "points.setPoints", []any{userCy, 0, "season reset"}, `{"success":true,"userId":"` + userCy + `","previousBalance":100000,"newBalance":0,"reason":"season reset"}`},
		{"set too much", "points.setPoints", []any{userCy, 100001}, `{"success":false,"error":"Amount must be a number from 0 to 100000","userId":"` + userCy + `"}`},
		{"no arguments", "points.addPoints", nil, `{"success":false,"error":"Invalid user ID","userId":""}`},
	} {
		out, err := r.call(o, tt.api, tt.args...)
		if err != nil {
			t.Fatalf("%s: the call failed (%v); points methods never throw", tt.name, err)
		}
		jsonEq(t, tt.name, out, tt.want)
	}
	// Malformed argument lists still answer.
	if out, err := r.callRaw(o, "points.addPoints", `{"not":"a list"}`); err != nil || len(out) == 0 {
		t.Fatalf("malformed arguments: %s %v", out, err)
	}
	led, _ := r.store.Ledger(context.Background(), store.GuildID(r.origin.GuildID), userAnn, 10)
	if len(led) != 2 || led[0].Actor != "ext:rigext" || led[0].Reason != "Transfer" || led[1].Reason != "Extension" {
		t.Fatalf("userAnn's ledger = %+v", led)
	}
}

func TestLegacyPointsData(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	guild := store.GuildID(r.origin.GuildID)
	empty, err := LegacyPointsData(ctx, r.store, guild, userAnn, false)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(empty)
	jsonEq(t, "empty economy", raw, `{"isEnabled":true,"canWrite":false,
		"self":{"userId":"`+userAnn+`","rankScore":0,"messages":0,"voice":0,"rank":"No Rank","found":false,"position":1},
		"leaderboard":[],"top":[],"ranks":[],
		"stats":{"totalMembers":0,"totalRankScore":0,"totalMessages":0,"totalVoice":0,"averageRankScore":0,"ranksConfigured":0},
		"totalMembers":0,"memberIds":[]}`)

	o := r.run()
	for i := range 300 {
		r.must(o, "economy.set", fmt.Sprintf("3%017d", i), i)
	}
	r.must(o, "economy.set", userAnn, 150)
	data, err := LegacyPointsData(ctx, r.store, guild, userAnn, true)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = json.Marshal(data)
	var got struct {
		IsEnabled, CanWrite bool
		Self                map[string]any
		Leaderboard, Top    []map[string]any
		Stats               map[string]float64
		TotalMembers        int
		MemberIDs           []string `json:"memberIds"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	switch {
	case !got.IsEnabled || !got.CanWrite:
		t.Fatalf("flags: %.300s", raw)
	case len(got.Leaderboard) != 25 || len(got.Top) != 100:
		t.Fatalf("leaderboard %d, top %d; want 25 and 100", len(got.Leaderboard), len(got.Top))
	case got.Leaderboard[0]["rankScore"] != 299.0 || got.Leaderboard[0]["position"] != 1.0 || got.Leaderboard[0]["rank"] != "No Rank":
		t.Fatalf("leaderboard[0] = %v", got.Leaderboard[0])
	case got.Self["rankScore"] != 150.0 || got.Self["position"] != 150.0 || got.Self["found"] != true:
		t.Fatalf("self = %v (149 members have more than 150)", got.Self)
	case got.TotalMembers != 301 || len(got.MemberIDs) != 250 || got.MemberIDs[0] != fmt.Sprintf("3%017d", 299):
		t.Fatalf("members %d, ids %d (%v...)", got.TotalMembers, len(got.MemberIDs), got.MemberIDs[:1])
	case got.Stats["totalRankScore"] != 299*300/2+150 || got.Stats["averageRankScore"] != 150 || got.Stats["totalMembers"] != 301:
		t.Fatalf("stats = %v", got.Stats)
	}
	none, _ := LegacyPointsData(ctx, r.store, guild, "", false)
	if none["self"] != nil {
		t.Fatalf("self without a member = %v", none["self"])
	}
}
