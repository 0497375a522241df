package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Storage is a key/value map per guild × extension. Values are JSON text.
// An entry may expire: once its time has passed it is invisible to every
// read, and it is deleted by the next write to the same install (or by
// PurgeExpiredStorage).

// KV is one live storage entry.
type KV struct {
	Key       string
	Value     string    // JSON
	ExpiresAt time.Time // zero: never
}

// StorageOpKind says what a StorageOp does.
type StorageOpKind uint8

const (
	OpSet    StorageOpKind = iota + 1 // Key = Value (JSON), expiring after TTL unless TTL is 0
	OpDelete                          // remove Key (no error if absent)
	OpClear                           // remove every key of the install
	// OpIncrement adds By to the number under Key (an absent key counts as
	// 0), reading and writing inside the batch's transaction, so that
	// concurrent increments all count. The entry keeps its expiry; a new
	// one never expires. A value that is not a number fails the batch
	// with ErrNotNumber.
	OpIncrement
)

// ErrNotNumber is an OpIncrement on a key whose value is not a JSON number.
var ErrNotNumber = errors.New("the stored value is not a number")

// StorageOp is one write in an ApplyStorage batch.
type StorageOp struct {
	Kind  StorageOpKind
	Key   string
	Value string        // OpSet: JSON text
	TTL   time.Duration // OpSet: 0 means no expiry
	By    float64       // OpIncrement: finite
}

// Quota bounds an install's storage after a batch; zero fields are unlimited.
// Bytes count the UTF-8 bytes of keys plus values. MaxJSONBytes bounds the
// whole store written as one JSON object (StorageJSONSize): SkynetBot's
// 25000-byte cap for legacy extensions.
type Quota struct {
	MaxEntries   int
	MaxBytes     int64
	MaxJSONBytes int64
}

func (q Quota) String() string {
	limit := func(n int64, unit string) string {
		if n <= 0 {
			return "unlimited " + unit
		}
		return fmt.Sprintf("%d %s", n, unit)
	}
	s := "a quota of " + limit(int64(q.MaxEntries), "entries") + ", " + limit(q.MaxBytes, "bytes")
	if q.MaxJSONBytes > 0 {
		s += fmt.Sprintf(", %d bytes of JSON", q.MaxJSONBytes)
	}
	return s
}

// Exceeded reports whether a store of n entries holding b bytes (keys plus
// values) and jsonBytes as one JSON object breaks q. jsonBytes is ignored
// when q has no MaxJSONBytes.
func (q Quota) Exceeded(n int, b, jsonBytes int64) bool {
	return (q.MaxEntries > 0 && n > q.MaxEntries) ||
		(q.MaxBytes > 0 && b > q.MaxBytes) ||
		(q.MaxJSONBytes > 0 && jsonBytes > q.MaxJSONBytes)
}

const liveEntry = `(expires_at IS NULL OR expires_at > ?)`

func scanKV(sc scanner) (KV, error) {
	var kv KV
	var exp sql.NullInt64
	err := sc.Scan(&kv.Key, &kv.Value, &exp)
	if exp.Valid {
		kv.ExpiresAt = fromMS(exp.Int64)
	}
	return kv, err
}

// StorageGet returns the value of a live key.
func (s *Store) StorageGet(ctx context.Context, guild GuildID, ext ExtensionID, key string) (string, bool, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM ext_storage
		WHERE guild_id = ? AND extension_id = ? AND key = ? AND `+liveEntry,
		guild, ext, key, ms(s.now())).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("storage get %q of extension %d in guild %s: %w", key, ext, guild, err)
	}
	return v, true, nil
}

// StorageEntry returns one live entry with its expiry.
func (s *Store) StorageEntry(ctx context.Context, guild GuildID, ext ExtensionID, key string) (KV, bool, error) {
	kv, err := queryOne(ctx, s.r, scanKV, `SELECT key, value, expires_at FROM ext_storage
		WHERE guild_id = ? AND extension_id = ? AND key = ? AND `+liveEntry,
		guild, ext, key, ms(s.now()))
	switch {
	case errors.Is(err, ErrNotFound):
		return KV{}, false, nil
	case err != nil:
		return KV{}, false, fmt.Errorf("storage get %q of extension %d in guild %s: %w", key, ext, guild, err)
	}
	return kv, true, nil
}

// StorageSet sets one key (ttl 0: no expiry). It applies no quota; the
// sandbox writes through ApplyStorage.
func (s *Store) StorageSet(ctx context.Context, guild GuildID, ext ExtensionID, key, value string, ttl time.Duration) error {
	return s.ApplyStorage(ctx, guild, ext, []StorageOp{{Kind: OpSet, Key: key, Value: value, TTL: ttl}}, Quota{})
}

// StorageDelete removes one key; removing an absent key is not an error.
func (s *Store) StorageDelete(ctx context.Context, guild GuildID, ext ExtensionID, key string) error {
	return s.ApplyStorage(ctx, guild, ext, []StorageOp{{Kind: OpDelete, Key: key}}, Quota{})
}

// StorageList returns live entries whose key starts with prefix, in key
// order, at most limit of them (limit <= 0: all).
func (s *Store) StorageList(ctx context.Context, guild GuildID, ext ExtensionID, prefix string, limit int) ([]KV, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	query := `SELECT key, value, expires_at FROM ext_storage
		WHERE guild_id = ? AND extension_id = ? AND ` + liveEntry + ` AND key >= ?`
	args := []any{guild, ext, ms(s.now()), prefix}
	if end, ok := prefixEnd(prefix); ok {
		query += ` AND key < ?`
		args = append(args, end)
	}
	query += ` ORDER BY key LIMIT ?`
	args = append(args, limit)
	kvs, err := queryAll(ctx, s.r, scanKV, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage list %q of extension %d in guild %s: %w", prefix, ext, guild, err)
	}
	return kvs, nil
}

// StorageTop returns up to n live entries whose key starts with prefix and
// whose value is a JSON number, highest value first (ties in key order).
func (s *Store) StorageTop(ctx context.Context, guild GuildID, ext ExtensionID, prefix string, n int) ([]KV, error) {
	query := `SELECT key, value, expires_at FROM ext_storage
		WHERE guild_id = ? AND extension_id = ? AND ` + liveEntry + ` AND key >= ?
		AND json_valid(value) AND json_type(value) IN ('integer', 'real')`
	args := []any{guild, ext, ms(s.now()), prefix}
	if end, ok := prefixEnd(prefix); ok {
		query += ` AND key < ?`
		args = append(args, end)
	}
	query += ` ORDER BY json_extract(value, '$') DESC, key LIMIT ?`
	args = append(args, n)
	kvs, err := queryAll(ctx, s.r, scanKV, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage top %q of extension %d in guild %s: %w", prefix, ext, guild, err)
	}
	return kvs, nil
}

// prefixEnd is the smallest string greater than every string that starts
// with prefix (byte order, as SQLite's BINARY collation compares), so that
// key >= prefix AND key < end selects exactly the keys with that prefix. ok
// is false when no such bound exists (empty prefix, or all 0xFF bytes).
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// StorageUsage counts the install's live entries and their bytes (keys plus
// values, UTF-8).
func (s *Store) StorageUsage(ctx context.Context, guild GuildID, ext ExtensionID) (int, int64, error) {
	n, b, err := storageUsage(ctx, s.r, guild, ext, ms(s.now()))
	if err != nil {
		return 0, 0, fmt.Errorf("storage usage of extension %d in guild %s: %w", ext, guild, err)
	}
	return n, b, nil
}

// StorageUsageWithout is StorageUsage leaving out the entries under keys:
// what stays of the install when a batch rewrites those keys.
func (s *Store) StorageUsageWithout(ctx context.Context, guild GuildID, ext ExtensionID, keys []string) (int, int64, error) {
	query := `SELECT COUNT(*), COALESCE(SUM(octet_length(key) + octet_length(value)), 0)
		FROM ext_storage WHERE guild_id = ? AND extension_id = ? AND ` + liveEntry
	args := []any{guild, ext, ms(s.now())}
	if len(keys) > 0 {
		query += ` AND key NOT IN (?` + strings.Repeat(", ?", len(keys)-1) + `)`
		for _, k := range keys {
			args = append(args, k)
		}
	}
	var n int
	var b int64
	if err := s.r.QueryRowContext(ctx, query, args...).Scan(&n, &b); err != nil {
		return 0, 0, fmt.Errorf("storage usage of extension %d in guild %s: %w", ext, guild, err)
	}
	return n, b, nil
}

// StorageJSONSize is the UTF-8 length of the JSON object holding kvs, as
// JavaScript's JSON.stringify writes it: keys quoted with its escapes,
// values as stored (compact JSON), no spaces. It is the measure of
// SkynetBot's 25000-byte storage cap.
func StorageJSONSize(kvs []KV) int64 {
	size := int64(2) // {}
	for i, kv := range kvs {
		if i > 0 {
			size++ // ,
		}
		size += jsQuotedLen(kv.Key) + 1 + int64(len(kv.Value)) // "key":value
	}
	return size
}

// jsQuotedLen is the UTF-8 length of JSON.stringify(s).
func jsQuotedLen(s string) int64 {
	n := int64(2)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t':
			n += 2
		case c < 0x20:
			n += 6 // \u00XX
		default:
			n++
		}
	}
	return n
}

func storageUsage(ctx context.Context, q querier, guild GuildID, ext ExtensionID, now int64) (int, int64, error) {
	var n int
	var b int64
	err := q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(octet_length(key) + octet_length(value)), 0)
		FROM ext_storage WHERE guild_id = ? AND extension_id = ? AND `+liveEntry, guild, ext, now).Scan(&n, &b)
	return n, b, err
}

// ApplyStorage commits a batch of writes (one invocation's) in one
// transaction, in order: all of them or, on any error, none. After the batch
// the install's usage must fit quota, else nothing is written and the error
// wraps ErrQuota. Expired entries of the install are deleted on the way.
func (s *Store) ApplyStorage(ctx context.Context, guild GuildID, ext ExtensionID, ops []StorageOp, quota Quota) error {
	if err := s.applyStorage(ctx, guild, ext, ops, quota); err != nil {
		return fmt.Errorf("storage write of extension %d in guild %s: %w", ext, guild, err)
	}
	return nil
}

func (s *Store) applyStorage(ctx context.Context, guild GuildID, ext ExtensionID, ops []StorageOp, quota Quota) error {
	for i, op := range ops {
		if err := op.check(); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
	}
	nowT := s.now()
	now := ms(nowT)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM ext_storage
			WHERE guild_id = ? AND extension_id = ? AND expires_at <= ?`, guild, ext, now); err != nil {
			return fmt.Errorf("sweep expired: %w", err)
		}
		for i, op := range ops {
			var err error
			switch op.Kind {
			case OpSet:
				var exp sql.NullInt64
				if op.TTL > 0 {
					exp = sql.NullInt64{Int64: ms(nowT.Add(op.TTL)), Valid: true}
				}
				_, err = tx.ExecContext(ctx, `INSERT INTO ext_storage (guild_id, extension_id, key, value, expires_at)
					VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, extension_id, key)
					DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
					guild, ext, op.Key, op.Value, exp)
				if isForeignKey(err) {
					err = fmt.Errorf("extension %d: %w", ext, ErrNotFound)
				}
			case OpDelete:
				_, err = tx.ExecContext(ctx, `DELETE FROM ext_storage WHERE guild_id = ? AND extension_id = ? AND key = ?`,
					guild, ext, op.Key)
			case OpClear:
				_, err = tx.ExecContext(ctx, `DELETE FROM ext_storage WHERE guild_id = ? AND extension_id = ?`, guild, ext)
			case OpIncrement:
				err = increment(ctx, tx, guild, ext, op.Key, op.By)
			}
			if err != nil {
				return fmt.Errorf("op %d (%s %q): %w", i, op.Kind, op.Key, err)
			}
		}
		if quota == (Quota{}) {
			return nil
		}
		n, b, err := storageUsage(ctx, tx, guild, ext, now)
		if err != nil {
			return err
		}
		var size int64
		if quota.MaxJSONBytes > 0 {
			all, err := queryAll(ctx, tx, scanKV, `SELECT key, value, expires_at FROM ext_storage
				WHERE guild_id = ? AND extension_id = ? AND `+liveEntry, guild, ext, now)
			if err != nil {
				return err
			}
			size = StorageJSONSize(all)
		}
		if quota.Exceeded(n, b, size) {
			return fmt.Errorf("would hold %d entries, %d bytes (%d as JSON), over %s: %w", n, b, size, quota, ErrQuota)
		}
		return nil
	})
}

// increment is OpIncrement inside a batch's transaction (the batch swept
// expired entries first, so a row found here is live).
func increment(ctx context.Context, tx *sql.Tx, guild GuildID, ext ExtensionID, key string, by float64) error {
	var cur string
	err := tx.QueryRowContext(ctx, `SELECT value FROM ext_storage WHERE guild_id = ? AND extension_id = ? AND key = ?`,
		guild, ext, key).Scan(&cur)
	exists := err == nil
	var n float64
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	default:
		if n, err = JSONNumber(cur); err != nil {
			return err
		}
	}
	next, err := json.Marshal(n + by)
	if err != nil || math.IsInf(n+by, 0) {
		return fmt.Errorf("%v + %v is out of range", n, by)
	}
	if exists {
		_, err = tx.ExecContext(ctx, `UPDATE ext_storage SET value = ? WHERE guild_id = ? AND extension_id = ? AND key = ?`,
			string(next), guild, ext, key)
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO ext_storage (guild_id, extension_id, key, value) VALUES (?, ?, ?, ?)`,
		guild, ext, key, string(next))
	if isForeignKey(err) {
		err = fmt.Errorf("extension %d: %w", ext, ErrNotFound)
	}
	return err
}

// JSONNumber reads a stored value that must be a JSON number; anything
// else is ErrNotNumber.
func JSONNumber(value string) (float64, error) {
	var raw any
	dec := json.NewDecoder(strings.NewReader(value))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return 0, ErrNotNumber
	}
	num, ok := raw.(json.Number)
	if !ok {
		return 0, ErrNotNumber
	}
	f, err := num.Float64()
	if err != nil || math.IsInf(f, 0) {
		return 0, ErrNotNumber
	}
	return f, nil
}

func (op StorageOp) check() error {
	switch op.Kind {
	case OpSet:
		if op.TTL < 0 {
			return fmt.Errorf("set %q: negative ttl %v", op.Key, op.TTL)
		}
		if !json.Valid([]byte(op.Value)) {
			return fmt.Errorf("set %q: value is not valid JSON", op.Key)
		}
	case OpIncrement:
		if math.IsNaN(op.By) || math.IsInf(op.By, 0) {
			return fmt.Errorf("increment %q: by %v is not a finite number", op.Key, op.By)
		}
	case OpDelete, OpClear:
	default:
		return fmt.Errorf("unknown storage op kind %d", op.Kind)
	}
	return nil
}

func (k StorageOpKind) String() string {
	switch k {
	case OpSet:
		return "set"
	case OpDelete:
		return "delete"
	case OpClear:
		return "clear"
	case OpIncrement:
		return "increment"
	}
	return fmt.Sprintf("StorageOpKind(%d)", uint8(k))
}

// PurgeExpiredStorage deletes every expired entry of every install and
// returns how many it removed; for a periodic job.
func (s *Store) PurgeExpiredStorage(ctx context.Context) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM ext_storage WHERE expires_at <= ?`, ms(s.now()))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge expired storage: %w", err)
	}
	return n, nil
}
