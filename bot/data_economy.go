package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// The economy as extensions see it: part A's economy module (promises that
// reject with a code) and SkynetBot's points module (synchronous, never
// throws). Both sit on the store's ledger: every change is a ledger row
// naming the extension ("ext:<name>"), a transfer is one transaction, and
// no balance goes below zero.

// Limits of one change (part B 3.12, adopted by part A).
const (
	maxEconomyChange = 10000  // add, remove, transfer: 1..10000
	maxEconomySet    = 100000 // set: 0..100000
	maxReason        = 200    // characters of a ledger reason
	defaultBoardSize = 10     // economy.leaderboard without a limit
	defaultHistory   = 25     // economy.history without a limit
	maxEconomyList   = 100    // largest leaderboard or history
	legacyBoardSize  = 25     // the points snapshot's leaderboard
	legacyTopSize    = 100    // what its getLeaderboard slices
	legacyMemberIDs  = 250    // the points snapshot's memberIds
)

// Default reasons, SkynetBot's.
const (
	reasonChange   = "Extension"
	reasonTransfer = "Transfer"
	reasonSet      = "Set by extension"
)

// Texts of SkynetBot's points failures that existing extensions compare.
const (
	errPointsNotFound     = "User not found in points system"
	errPointsInsufficient = "Insufficient points"
	errPointsUserID       = "Invalid user ID"
	errPointsSameUser     = "Cannot transfer points to the same user"
	errPointsInternal     = "The points change could not be saved"
)

// errPointsAmount is SkynetBot's text for an amount out of lo..hi.
func errPointsAmount(lo, hi int64) string {
	return fmt.Sprintf("Amount must be a number from %d to %d", lo, hi)
}

// validUserID reports whether s looks like a Discord user id (a snowflake).
func validUserID(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// BalanceChange is what economy.add, remove and set resolve with; amount is
// the signed change.
type BalanceChange struct {
	UserID          string `json:"userId"`
	PreviousBalance int64  `json:"previousBalance"`
	NewBalance      int64  `json:"newBalance"`
	Amount          int64  `json:"amount"`
	Reason          string `json:"reason"`
}

// EconomyTransfer is what economy.transfer resolves with.
type EconomyTransfer struct {
	FromUserID     string `json:"fromUserId"`
	ToUserID       string `json:"toUserId"`
	Amount         int64  `json:"amount"`
	FromNewBalance int64  `json:"fromNewBalance"`
	ToNewBalance   int64  `json:"toNewBalance"`
	Reason         string `json:"reason"`
}

// Standing is one line of economy.leaderboard.
type Standing struct {
	UserID   string `json:"userId"`
	Balance  int64  `json:"balance"`
	Position int    `json:"position"`
}

// LedgerEntry is one row of economy.history; createdAt is epoch ms.
type LedgerEntry struct {
	ID           int64  `json:"id"`
	Delta        int64  `json:"delta"`
	BalanceAfter int64  `json:"balanceAfter"`
	Reason       string `json:"reason"`
	Actor        string `json:"actor"`
	CreatedAt    int64  `json:"createdAt"`
}

// parseUsers reads the first n arguments as Discord user ids.
func parseUsers(api string, args []json.RawMessage, n int) ([]string, error) {
	users := make([]string, n)
	for i := range users {
		raw, ok := argAt(args, i)
		if !ok || json.Unmarshal(raw, &users[i]) != nil || !validUserID(users[i]) {
			return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: argument %d must be a Discord user id", api, i+1)
		}
	}
	return users, nil
}

// economyChange is a decoded part A change: its members, amount and reason.
type economyChange struct {
	users  []string
	amount int64
	reason string
}

// parseChange reads nUsers user ids, an amount in lo..hi (floored) and an
// optional reason (defReason when absent).
func parseChange(call sandbox.Call, nUsers int, lo, hi int64, defReason string) (economyChange, error) {
	api := call.API.Name
	args, err := rawArgs(call)
	if err != nil {
		return economyChange{}, err
	}
	users, err := parseUsers(api, args, nUsers)
	if err != nil {
		return economyChange{}, err
	}
	amount, valid := amountAt(args, nUsers, lo, hi)
	if !valid {
		return economyChange{}, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the amount must be a number from %d to %d", api, lo, hi)
	}
	c := economyChange{users: users, amount: amount, reason: defReason}
	if raw, ok := argAt(args, nUsers+1); ok {
		if json.Unmarshal(raw, &c.reason) != nil {
			return economyChange{}, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the reason must be a string", api)
		}
		if jsLen(c.reason) > maxReason {
			return economyChange{}, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the reason is longer than %d characters", api, maxReason)
		}
	}
	return c, nil
}

// amountAt reads argument i as a number, floors it and checks it is in
// lo..hi.
func amountAt(args []json.RawMessage, i int, lo, hi int64) (int64, bool) {
	raw, ok := argAt(args, i)
	var f float64
	if !ok || json.Unmarshal(raw, &f) != nil {
		return 0, false
	}
	f = math.Floor(f)
	if f < float64(lo) || f > float64(hi) {
		return 0, false
	}
	return int64(f), true
}

// ledgerChange is the store.Change for o acting on user.
func ledgerChange(o extensions.Origin, user, reason string) store.Change {
	return store.Change{Guild: store.GuildID(o.GuildID), User: store.UserID(user), Actor: "ext:" + o.Extension, Reason: reason,
		AllowNegative: o.NegativeBalances}
}

// insufficient is part A's refusal of a change beyond a balance.
func (e *Executor) insufficient(ctx context.Context, o extensions.Origin, api, user string, amount int64) error {
	have, err := e.store.Balance(ctx, store.GuildID(o.GuildID), store.UserID(user))
	if err != nil {
		return err
	}
	return sandbox.Errorf(sandbox.CodeInsufficient, "%s: member %s has %d, less than %d", api, user, have, amount)
}

// auditBalance writes the audit row of a balance change that may take a
// balance below zero: "ok", or INSUFFICIENT when the store refused it. A
// change that failed otherwise did nothing and leaves no row.
func (e *Executor) auditBalance(ctx context.Context, o extensions.Origin, api, target string, err error) {
	switch {
	case err == nil:
		e.audit(ctx, o, api, target, "ok")
	case errors.Is(err, store.ErrInsufficient):
		e.audit(ctx, o, api, target, sandbox.CodeInsufficient)
	}
}

func (e *Executor) economyBalance(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	args, err := rawArgs(call)
	if err != nil {
		return nil, err
	}
	users, err := parseUsers(call.API.Name, args, 1)
	if err != nil {
		return nil, err
	}
	b, err := e.store.Balance(ctx, store.GuildID(o.GuildID), store.UserID(users[0]))
	if err != nil {
		return nil, err
	}
	return json.Marshal(b)
}

// standings numbers a leaderboard: equal balances share a position (1 +
// the number of members above).
func standings(top []store.Standing) []Standing {
	out := make([]Standing, len(top))
	for i, s := range top {
		pos := i + 1
		if i > 0 && s.Balance == top[i-1].Balance {
			pos = out[i-1].Position
		}
		out[i] = Standing{UserID: string(s.UserID), Balance: s.Balance, Position: pos}
	}
	return out
}

func (e *Executor) economyLeaderboard(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	args, err := rawArgs(call)
	if err != nil {
		return nil, err
	}
	raw, ok := argAt(args, 0)
	n, err := intArg(call.API.Name, "limit", raw, ok, defaultBoardSize, 1, maxEconomyList)
	if err != nil {
		return nil, err
	}
	top, err := e.store.Leaderboard(ctx, store.GuildID(o.GuildID), n)
	if err != nil {
		return nil, err
	}
	return json.Marshal(standings(top))
}

func (e *Executor) economyHistory(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	args, err := rawArgs(call)
	if err != nil {
		return nil, err
	}
	users, err := parseUsers(call.API.Name, args, 1)
	if err != nil {
		return nil, err
	}
	raw, ok := argAt(args, 1)
	n, err := intArg(call.API.Name, "limit", raw, ok, defaultHistory, 1, maxEconomyList)
	if err != nil {
		return nil, err
	}
	rows, err := e.store.Ledger(ctx, store.GuildID(o.GuildID), store.UserID(users[0]), n)
	if err != nil {
		return nil, err
	}
	out := make([]LedgerEntry, len(rows))
	for i, r := range rows {
		out[i] = LedgerEntry{ID: r.ID, Delta: r.Delta, BalanceAfter: r.BalanceAfter, Reason: r.Reason, Actor: r.Actor, CreatedAt: r.At.UnixMilli()}
	}
	return json.Marshal(out)
}

// economyAdd and economyRemove: add or remove 1..10000.
func (e *Executor) economyAdd(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	return e.economyDelta(ctx, call, o, 1)
}

func (e *Executor) economyRemove(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	return e.economyDelta(ctx, call, o, -1)
}

func (e *Executor) economyDelta(ctx context.Context, call sandbox.Call, o extensions.Origin, sign int64) (json.RawMessage, error) {
	a, err := parseChange(call, 1, 1, maxEconomyChange, reasonChange)
	if err != nil {
		return nil, err
	}
	user, delta := a.users[0], sign*a.amount
	after, err := e.store.AddBalance(ctx, ledgerChange(o, user, a.reason), delta)
	e.auditBalance(ctx, o, call.API.Name, fmt.Sprintf("user:%s %+d", user, delta), err)
	if errors.Is(err, store.ErrInsufficient) {
		return nil, e.insufficient(ctx, o, call.API.Name, user, a.amount)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(BalanceChange{UserID: user, PreviousBalance: after - delta, NewBalance: after, Amount: delta, Reason: a.reason})
}

func (e *Executor) economySet(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	a, err := parseChange(call, 1, 0, maxEconomySet, reasonSet)
	if err != nil {
		return nil, err
	}
	user := a.users[0]
	prev, err := e.store.SwapBalance(ctx, ledgerChange(o, user, a.reason), a.amount)
	if err != nil {
		return nil, err
	}
	e.audit(ctx, o, call.API.Name, fmt.Sprintf("user:%s =%d", user, a.amount), "ok")
	return json.Marshal(BalanceChange{UserID: user, PreviousBalance: prev, NewBalance: a.amount, Amount: a.amount - prev, Reason: a.reason})
}

func (e *Executor) economyTransfer(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	a, err := parseChange(call, 2, 1, maxEconomyChange, reasonTransfer)
	if err != nil {
		return nil, err
	}
	from, to := a.users[0], a.users[1]
	if from == to {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "%s: the two members must differ", call.API.Name)
	}
	fromAfter, toAfter, err := e.store.Transfer(ctx, ledgerChange(o, from, a.reason), store.UserID(to), a.amount)
	e.auditBalance(ctx, o, call.API.Name, fmt.Sprintf("user:%s to user:%s %d", from, to, a.amount), err)
	if errors.Is(err, store.ErrInsufficient) {
		return nil, e.insufficient(ctx, o, call.API.Name, from, a.amount)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(EconomyTransfer{FromUserID: from, ToUserID: to, Amount: a.amount, FromNewBalance: fromAfter, ToNewBalance: toAfter, Reason: a.reason})
}

// SkynetBot's points module (part B 3.12). Its methods are synchronous and
// never throw: every outcome is a plain object, failures {success: false,
// error}. Message and voice counters and ranks do not exist in skybot's
// economy: they read 0 and "No Rank".

// pointsUser is the shape of getSelf, getUser and a leaderboard line.
func pointsUser(id string, balance int64, found bool, position int) map[string]any {
	return map[string]any{
		"userId": id, "rankScore": balance, "messages": 0, "voice": 0, "rank": "No Rank",
		"found": found, "position": position,
	}
}

// legacyArgs reads a points call's arguments; it never fails (a malformed
// argument reads as its zero value and is refused by the method).
func legacyArgs(call sandbox.Call) []json.RawMessage {
	args, err := rawArgs(call)
	if err != nil {
		return nil
	}
	return args
}

// legacyString reads argument i as a string.
func legacyString(args []json.RawMessage, i int) (string, bool) {
	raw, ok := argAt(args, i)
	var s string
	if !ok || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// legacyReason reads the optional reason at i: a string, cut to maxReason
// characters; anything else gives def.
func legacyReason(args []json.RawMessage, i int, def string) string {
	s, ok := legacyString(args, i)
	if !ok || s == "" {
		return def
	}
	if jsLen(s) > maxReason {
		r := []rune(s)
		for jsLen(string(r)) > maxReason {
			r = r[:len(r)-1]
		}
		s = string(r)
	}
	return s
}

func legacyFail(msg string, fields ...any) (json.RawMessage, error) {
	out := map[string]any{"success": false, "error": msg}
	for i := 0; i+1 < len(fields); i += 2 {
		out[fields[i].(string)] = fields[i+1]
	}
	return json.Marshal(out)
}

// pointsInternal answers a store failure: logged for the operator, and
// {success:false} for the code, which must not throw.
func (e *Executor) pointsInternal(o extensions.Origin, api string, err error, fields ...any) (json.RawMessage, error) {
	e.log.Error("points change failed", "guild_id", o.GuildID, "ext", o.Extension, "api", api, "err", err)
	return legacyFail(errPointsInternal, fields...)
}

// pointsGetUser: getUser(userId) → the member's points, computed live;
// a non-string id gives {found: false, error}.
func (e *Executor) pointsGetUser(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	args := legacyArgs(call)
	id, ok := legacyString(args, 0)
	if !ok || id == "" {
		return json.Marshal(map[string]any{"found": false, "error": errPointsUserID})
	}
	acc, err := e.store.Account(ctx, store.GuildID(o.GuildID), store.UserID(id))
	if err != nil {
		e.log.Error("points read failed", "guild_id", o.GuildID, "ext", o.Extension, "err", err)
		return json.Marshal(map[string]any{"userId": id, "found": false, "error": errPointsInternal})
	}
	return json.Marshal(pointsUser(id, acc.Balance, acc.Found, acc.Position))
}

// pointsArgs reads the (userId, amount, reason?) of addPoints, removePoints
// and setPoints: an amount in lo..hi (floored), defReason when the reason
// is left out. fail is the failure's text, "" when the arguments are good.
func pointsArgs(call sandbox.Call, lo, hi int64, defReason string) (id string, amount int64, reason, fail string) {
	args := legacyArgs(call)
	id, ok := legacyString(args, 0)
	if !ok || !validUserID(id) {
		return id, 0, "", errPointsUserID
	}
	amount, valid := amountAt(args, 1, lo, hi)
	if !valid {
		return id, 0, "", errPointsAmount(lo, hi)
	}
	return id, amount, legacyReason(args, 2, defReason), ""
}

func (e *Executor) pointsAdd(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	id, amount, reason, fail := pointsArgs(call, 1, maxEconomyChange, reasonChange)
	if fail != "" {
		return legacyFail(fail, "userId", id)
	}
	after, err := e.store.AddBalance(ctx, ledgerChange(o, id, reason), amount)
	if err != nil {
		return e.pointsInternal(o, call.API.Name, err, "userId", id)
	}
	e.audit(ctx, o, call.API.Name, fmt.Sprintf("user:%s %+d", id, amount), "ok")
	return json.Marshal(map[string]any{
		"success": true, "userId": id, "previousBalance": after - amount, "newBalance": after,
		"amountAdded": amount, "reason": reason,
	})
}

func (e *Executor) pointsRemove(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	id, amount, reason, fail := pointsArgs(call, 1, maxEconomyChange, reasonChange)
	if fail != "" {
		return legacyFail(fail, "userId", id)
	}
	guild := store.GuildID(o.GuildID)
	acc, err := e.store.Account(ctx, guild, store.UserID(id))
	if err != nil {
		return e.pointsInternal(o, call.API.Name, err, "userId", id)
	}
	if !acc.Found {
		return legacyFail(errPointsNotFound, "userId", id)
	}
	after, err := e.store.AddBalance(ctx, ledgerChange(o, id, reason), -amount)
	e.auditBalance(ctx, o, call.API.Name, fmt.Sprintf("user:%s %+d", id, -amount), err)
	if errors.Is(err, store.ErrInsufficient) {
		have, berr := e.store.Balance(ctx, guild, store.UserID(id))
		if berr != nil {
			return e.pointsInternal(o, call.API.Name, berr, "userId", id)
		}
		return legacyFail(errPointsInsufficient, "userId", id, "currentBalance", have, "requested", amount)
	}
	if err != nil {
		return e.pointsInternal(o, call.API.Name, err, "userId", id)
	}
	return json.Marshal(map[string]any{
		"success": true, "userId": id, "previousBalance": after + amount, "newBalance": after,
		"amountRemoved": amount, "reason": reason,
	})
}

func (e *Executor) pointsSet(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	id, amount, reason, fail := pointsArgs(call, 0, maxEconomySet, reasonSet)
	if fail != "" {
		return legacyFail(fail, "userId", id)
	}
	prev, err := e.store.SwapBalance(ctx, ledgerChange(o, id, reason), amount)
	if err != nil {
		return e.pointsInternal(o, call.API.Name, err, "userId", id)
	}
	e.audit(ctx, o, call.API.Name, fmt.Sprintf("user:%s =%d", id, amount), "ok")
	return json.Marshal(map[string]any{
		"success": true, "userId": id, "previousBalance": prev, "newBalance": amount, "reason": reason,
	})
}

// pointsTransfer: transfer(fromId, toId, amount, reason) in one
// transaction (SkynetBot removed, then added).
func (e *Executor) pointsTransfer(ctx context.Context, call sandbox.Call, o extensions.Origin) (json.RawMessage, error) {
	args := legacyArgs(call)
	from, okFrom := legacyString(args, 0)
	to, okTo := legacyString(args, 1)
	ids := []any{"fromUserId", from, "toUserId", to}
	switch {
	case !okFrom || !okTo || !validUserID(from) || !validUserID(to):
		return legacyFail(errPointsUserID, ids...)
	case from == to:
		return legacyFail(errPointsSameUser, ids...)
	}
	amount, valid := amountAt(args, 2, 1, maxEconomyChange)
	if !valid {
		return legacyFail(errPointsAmount(1, maxEconomyChange), ids...)
	}
	reason := legacyReason(args, 3, reasonTransfer)
	guild := store.GuildID(o.GuildID)
	acc, err := e.store.Account(ctx, guild, store.UserID(from))
	if err != nil {
		return e.pointsInternal(o, call.API.Name, err, ids...)
	}
	if !acc.Found {
		return legacyFail(errPointsNotFound, ids...)
	}
	fromAfter, toAfter, err := e.store.Transfer(ctx, ledgerChange(o, from, reason), store.UserID(to), amount)
	e.auditBalance(ctx, o, call.API.Name, fmt.Sprintf("user:%s to user:%s %d", from, to, amount), err)
	if errors.Is(err, store.ErrInsufficient) {
		return legacyFail(errPointsInsufficient, ids...)
	}
	if err != nil {
		return e.pointsInternal(o, call.API.Name, err, ids...)
	}
	return json.Marshal(map[string]any{
		"success": true, "fromUserId": from, "toUserId": to, "amount": amount,
		"fromNewBalance": fromAfter, "toNewBalance": toAfter, "reason": reason,
	})
}

// LegacyPointsData is the data of SkynetBot's points module for one run
// (part B 3.12), for the member userID ("" when the run has none: self is
// null). Besides part B's fields it carries top, the top 100 that the
// module's getLeaderboard(limit) slices. canWrite says whether the version holds economy_manage. The
// dispatcher builds it only when members_read is granted; without it the
// module gets SkynetBot's fallback, which the dispatcher writes itself.
func LegacyPointsData(ctx context.Context, st *store.Store, guild store.GuildID, userID string, canWrite bool) (map[string]any, error) {
	var self any
	if userID != "" {
		acc, err := st.Account(ctx, guild, store.UserID(userID))
		if err != nil {
			return nil, err
		}
		self = pointsUser(userID, acc.Balance, acc.Found, acc.Position)
	}
	top, err := st.Leaderboard(ctx, guild, legacyTopSize)
	if err != nil {
		return nil, err
	}
	lines := make([]map[string]any, 0, len(top))
	for _, s := range standings(top) {
		line := pointsUser(s.UserID, s.Balance, true, s.Position)
		delete(line, "found")
		lines = append(lines, line)
	}
	stats, err := st.EconomyStats(ctx, guild)
	if err != nil {
		return nil, err
	}
	ids, err := st.EconomyMembers(ctx, guild, legacyMemberIDs)
	if err != nil {
		return nil, err
	}
	memberIDs := make([]string, len(ids))
	for i, id := range ids {
		memberIDs[i] = string(id)
	}
	average := int64(0)
	if stats.Members > 0 {
		average = int64(math.Round(float64(stats.Total) / float64(stats.Members)))
	}
	return map[string]any{
		"isEnabled":   true,
		"canWrite":    canWrite,
		"self":        self,
		"leaderboard": lines[:min(legacyBoardSize, len(lines))],
		"top":         lines, // what getLeaderboard(limit) slices
		"ranks":       []any{},
		"stats": map[string]any{
			"totalMembers": stats.Members, "totalRankScore": stats.Total, "totalMessages": 0, "totalVoice": 0,
			"averageRankScore": average, "ranksConfigured": 0,
		},
		"totalMembers": stats.Members,
		"memberIds":    memberIDs,
	}, nil
}
