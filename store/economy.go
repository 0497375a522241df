package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrInsufficient is a change that would take a balance below zero when
// that is not allowed.
var ErrInsufficient = errors.New("insufficient balance")

// LedgerEntry is one change to a balance.
type LedgerEntry struct {
	ID           int64
	GuildID      GuildID
	UserID       UserID
	Delta        int64
	BalanceAfter int64
	Kind         string // add, remove, set, transfer_in, transfer_out
	TransferID   int64  // shared by the two rows of a transfer; 0 otherwise
	Actor        string
	Reason       string
	At           time.Time
}

// Change is one balance change to make.
type Change struct {
	Guild  GuildID
	User   UserID
	Actor  string // 'ext:<name>' or a user id
	Reason string
	// AllowNegative lets the balance go below zero.
	AllowNegative bool
}

// Balance returns a member's balance (0 if they never had one).
func (s *Store) Balance(ctx context.Context, guild GuildID, user UserID) (int64, error) {
	var b int64
	err := s.r.QueryRowContext(ctx, `SELECT balance FROM economy_balances WHERE guild_id = ? AND user_id = ?`, guild, user).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("balance of %s in guild %s: %w", user, guild, err)
	}
	return b, nil
}

// AddBalance adds delta (which may be negative) to a balance and writes
// its ledger row, in one transaction; it returns the new balance.
func (s *Store) AddBalance(ctx context.Context, c Change, delta int64) (int64, error) {
	kind := "add"
	if delta < 0 {
		kind = "remove"
	}
	var after int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		after, _, err = s.applyDelta(ctx, tx, c, delta, kind, 0)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("change balance of %s in guild %s by %d: %w", c.User, c.Guild, delta, err)
	}
	return after, nil
}

// SetBalance sets a balance to value, writing the difference as a ledger
// row.
func (s *Store) SetBalance(ctx context.Context, c Change, value int64) error {
	if value < 0 && !c.AllowNegative {
		return fmt.Errorf("set balance of %s in guild %s to %d: %w", c.User, c.Guild, value, ErrInsufficient)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := balanceIn(ctx, tx, c.Guild, c.User)
		if err != nil {
			return err
		}
		_, _, err = s.applyDelta(ctx, tx, c, value-cur, "set", 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("set balance of %s in guild %s to %d: %w", c.User, c.Guild, value, err)
	}
	return nil
}

// Transfer moves amount (> 0) from one member to another in one
// transaction: both balances and both ledger rows, or nothing.
func (s *Store) Transfer(ctx context.Context, c Change, to UserID, amount int64) (fromAfter, toAfter int64, err error) {
	if amount <= 0 {
		return 0, 0, fmt.Errorf("transfer %d: the amount must be positive", amount)
	}
	if to == c.User {
		return 0, 0, fmt.Errorf("transfer to oneself")
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var outID int64
		var err error
		if fromAfter, outID, err = s.applyDelta(ctx, tx, c, -amount, "transfer_out", 0); err != nil {
			return err
		}
		recv := c
		recv.User, recv.AllowNegative = to, true
		toAfter, _, err = s.applyDelta(ctx, tx, recv, amount, "transfer_in", outID)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("transfer %d from %s to %s in guild %s: %w", amount, c.User, to, c.Guild, err)
	}
	return fromAfter, toAfter, nil
}

// applyDelta changes one balance inside tx and writes its ledger row. A
// transfer's out row names itself as the transfer; the in row names it.
func (s *Store) applyDelta(ctx context.Context, tx *sql.Tx, c Change, delta int64, kind string, transfer int64) (after, rowID int64, err error) {
	cur, err := balanceIn(ctx, tx, c.Guild, c.User)
	if err != nil {
		return 0, 0, err
	}
	after = cur + delta
	if (delta > 0 && after < cur) || (delta < 0 && after > cur) {
		return 0, 0, fmt.Errorf("balance overflow")
	}
	if after < 0 && !c.AllowNegative && delta < 0 {
		return 0, 0, ErrInsufficient
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO economy_balances (guild_id, user_id, balance) VALUES (?, ?, ?)
		ON CONFLICT (guild_id, user_id) DO UPDATE SET balance = excluded.balance`, c.Guild, c.User, after); err != nil {
		return 0, 0, err
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO economy_ledger
		(guild_id, user_id, delta, balance_after, kind, transfer_id, actor, reason, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.Guild, c.User, delta, after, kind, nullInt(transfer), c.Actor, c.Reason, ms(s.now())).Scan(&rowID)
	if err != nil {
		return 0, 0, err
	}
	if kind == "transfer_out" {
		if _, err := tx.ExecContext(ctx, `UPDATE economy_ledger SET transfer_id = id WHERE id = ?`, rowID); err != nil {
			return 0, 0, err
		}
	}
	return after, rowID, nil
}

func balanceIn(ctx context.Context, tx *sql.Tx, guild GuildID, user UserID) (int64, error) {
	var b int64
	err := tx.QueryRowContext(ctx, `SELECT balance FROM economy_balances WHERE guild_id = ? AND user_id = ?`, guild, user).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return b, err
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// Standing is one line of the leaderboard.
type Standing struct {
	UserID  UserID
	Balance int64
}

// Leaderboard returns the top n balances of guild, highest first.
func (s *Store) Leaderboard(ctx context.Context, guild GuildID, n int) ([]Standing, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT user_id, balance FROM economy_balances WHERE guild_id = ?
		ORDER BY balance DESC, user_id LIMIT ?`, guild, n)
	if err != nil {
		return nil, fmt.Errorf("leaderboard of guild %s: %w", guild, err)
	}
	defer rows.Close()
	var out []Standing
	for rows.Next() {
		var st Standing
		if err := rows.Scan(&st.UserID, &st.Balance); err != nil {
			return nil, fmt.Errorf("leaderboard of guild %s: %w", guild, err)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// Ledger returns a member's newest ledger rows, newest first.
func (s *Store) Ledger(ctx context.Context, guild GuildID, user UserID, limit int) ([]LedgerEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, guild_id, user_id, delta, balance_after, kind, COALESCE(transfer_id, 0), actor, reason, at
		FROM economy_ledger WHERE guild_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?`, guild, user, limit)
	if err != nil {
		return nil, fmt.Errorf("ledger of %s in guild %s: %w", user, guild, err)
	}
	defer rows.Close()
	var out []LedgerEntry
	for rows.Next() {
		var e LedgerEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.GuildID, &e.UserID, &e.Delta, &e.BalanceAfter, &e.Kind, &e.TransferID, &e.Actor, &e.Reason, &at); err != nil {
			return nil, fmt.Errorf("ledger of %s in guild %s: %w", user, guild, err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
