package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Read-side views of the economy that SkynetBot's points module and the
// economy API need beyond balances: whether a member has an account, their
// position, and the guild's totals.

// Account is one member's standing in a guild's economy.
type Account struct {
	Balance int64
	// Found: the member has a balance row (any change ever touched them).
	Found bool
	// Position is 1 + the number of members with a higher balance.
	Position int
}

// Account returns a member's standing, read in one query (one snapshot).
func (s *Store) Account(ctx context.Context, guild GuildID, user UserID) (Account, error) {
	var a Account
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(b.balance, 0), b.user_id IS NOT NULL,
		1 + (SELECT COUNT(*) FROM economy_balances o WHERE o.guild_id = ?1 AND o.balance > COALESCE(b.balance, 0))
		FROM (SELECT 1) LEFT JOIN economy_balances b ON b.guild_id = ?1 AND b.user_id = ?2`,
		guild, user).Scan(&a.Balance, &a.Found, &a.Position)
	if err != nil {
		return Account{}, fmt.Errorf("account of %s in guild %s: %w", user, guild, err)
	}
	return a, nil
}

// EconomyStats sums up a guild's economy.
type EconomyStats struct {
	Members int   // members with a balance row
	Total   int64 // the sum of their balances
}

// EconomyStats returns the guild's totals.
func (s *Store) EconomyStats(ctx context.Context, guild GuildID) (EconomyStats, error) {
	var st EconomyStats
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(balance), 0) FROM economy_balances WHERE guild_id = ?`,
		guild).Scan(&st.Members, &st.Total)
	if err != nil {
		return EconomyStats{}, fmt.Errorf("economy stats of guild %s: %w", guild, err)
	}
	return st, nil
}

// EconomyMembers returns up to n ids of members with a balance row, highest
// balance first (then by id).
func (s *Store) EconomyMembers(ctx context.Context, guild GuildID, n int) ([]UserID, error) {
	ids, err := queryAll(ctx, s.r, func(sc scanner) (UserID, error) {
		var id UserID
		return id, sc.Scan(&id)
	}, `SELECT user_id FROM economy_balances WHERE guild_id = ? ORDER BY balance DESC, user_id LIMIT ?`, guild, n)
	if err != nil {
		return nil, fmt.Errorf("economy members of guild %s: %w", guild, err)
	}
	return ids, nil
}

// SwapBalance sets a balance to value, writing the difference as a 'set'
// ledger row, and returns the balance it replaced; one transaction.
func (s *Store) SwapBalance(ctx context.Context, c Change, value int64) (previous int64, err error) {
	if value < 0 && !c.AllowNegative {
		return 0, fmt.Errorf("set balance of %s in guild %s to %d: %w", c.User, c.Guild, value, ErrInsufficient)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := balanceIn(ctx, tx, c.Guild, c.User)
		if err != nil {
			return err
		}
		previous = cur
		_, _, err = s.applyDelta(ctx, tx, c, value-cur, "set", 0)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("set balance of %s in guild %s to %d: %w", c.User, c.Guild, value, err)
	}
	return previous, nil
}
