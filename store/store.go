// Package store keeps skybot's state in one SQLite file (modernc.org/sqlite,
// pure Go): extensions and their immutable versions, installs and their
// history, per-install key/value storage, extension logs, the audit trail and
// guild settings.
//
// A Store holds two pools on the same file. Every change goes through one
// writer connection whose transactions begin IMMEDIATE, so writers queue in
// Go instead of meeting SQLITE_BUSY; multi-step changes are one transaction.
// Reads go through a read-only pool (mode=ro) that, thanks to WAL, runs
// alongside the writer and sees every committed change. Pragmas are set in
// the DSN only, so they apply to every pooled connection, busy_timeout first.
//
// The schema lives in embedded migrations (migrations/NNNN_name.sql), each
// applied once, in its own transaction, and recorded in schema_migrations.
// Times are stored as unix milliseconds.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Typed IDs. Discord snowflakes stay strings; database rows are int64.
type (
	GuildID     string
	UserID      string
	ExtensionID int64
	VersionID   int64
)

// Sentinel errors. Methods wrap them with lowercase context; test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrOwner    = errors.New("name belongs to another owner")
	ErrState    = errors.New("not in the expected state")
	ErrQuota    = errors.New("storage quota exceeded")
)

// Store is skybot's SQLite database. It is safe for concurrent use.
type Store struct {
	w       *sql.DB // one connection: every write, in order
	r       *sql.DB // read-only pool
	now     func() time.Time
	secrets *sealer // nil: no secret key (WithSecretKey)
}

// Option configures Open.
type Option func(*options)

type options struct {
	now     func() time.Time
	readers int
	sealer  *sealer
}

// WithClock sets the clock used for every timestamp and TTL (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithReaders sets the size of the read-only pool (default max(4, 2×GOMAXPROCS)).
func WithReaders(n int) Option {
	return func(o *options) { o.readers = n }
}

// Open opens (creating if needed) the database file at path and applies the
// migrations it has not seen yet. In-memory databases are refused: the read
// pool needs a file that several connections share.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, readers: max(4, 2*runtime.GOMAXPROCS(0))}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		return nil, errors.New("open store: nil clock")
	}
	if o.readers < 1 {
		return nil, fmt.Errorf("open store: %d readers", o.readers)
	}
	if path == "" || strings.Contains(path, ":memory:") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open store %q: want a file path (not a URI, not :memory:)", path)
	}

	w, err := sql.Open("sqlite", writerDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{w: w, now: o.now, secrets: o.sealer}
	if err := s.checkWriter(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	// The reader pool opens after the writer made the file and its WAL exist.
	r, err := sql.Open("sqlite", readerDSN(path))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r.SetMaxOpenConns(o.readers)
	r.SetMaxIdleConns(o.readers)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("open store %s: read pool: %w", path, err)
	}
	s.r = r
	return s, nil
}

// Close closes the read pool, then the writer (which checkpoints the WAL).
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// The pragmas every connection gets, busy_timeout first (it must be in force
// before anything that can meet a lock).
const commonPragmas = "_pragma=busy_timeout(5000)"
const tailPragmas = "&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"

func writerDSN(path string) string {
	return "file:" + escapePath(path) + "?" + commonPragmas +
		"&_pragma=journal_mode(WAL)" + tailPragmas + "&_txlock=immediate"
}

func readerDSN(path string) string {
	return "file:" + escapePath(path) + "?" + commonPragmas + tailPragmas + "&mode=ro"
}

// escapePath makes path safe as the path part of an SQLite file: URI.
var pathEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

func escapePath(path string) string { return pathEscaper.Replace(path) }

// checkWriter makes sure the DSN pragmas took: a file system that cannot do
// WAL would otherwise silently fall back to a rollback journal.
func (s *Store) checkWriter(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	return nil
}

// tx runs fn in one IMMEDIATE transaction on the writer, committing when fn
// returns nil and rolling back otherwise. fn must use tx only: the writer has
// a single connection, so touching s.w inside fn would wait forever.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// querier is what both the read pool and a transaction offer.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// queryOne returns the single row of query scanned by scan, or ErrNotFound.
func queryOne[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	return v, err
}

// queryAll returns every row of query scanned by scan (nil when there is none).
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// sqliteCode is the extended SQLite result code carried by err, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// isUnique reports a UNIQUE or PRIMARY KEY conflict.
func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKey reports a row that references one that does not exist.
func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// Time columns are unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullID stores 0 as NULL for optional references.
func nullID[T ~int64](id T) sql.NullInt64 {
	return sql.NullInt64{Int64: int64(id), Valid: id != 0}
}
