package store

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

// Repair is the operator's consistency scan (skybot repair). The schema's
// foreign keys and triggers keep a database consistent while skybot is the
// only writer, but a file edited by hand, restored in part or written by an
// older build can hold rows that point nowhere or code that does not match
// its digests. Repair looks for each kind of damage with a query, never by
// assuming the constraints held, and fixes what can be fixed:
//
//   - schema: the triggers and indexes skybot's migrations define, missing
//     from the file or changed (DROP TRIGGER versions_immutable is how code
//     gets rewritten by hand). Each is recreated as the migrations define
//     it. This runs first: the foreign-key check needs the indexes.
//   - dangling_installs: an install whose extension or version is missing,
//     or whose version belongs to another extension. It cannot run; it is
//     deleted (its storage is kept, as an uninstall keeps it) and, when the
//     extension still exists, an 'uninstall' history row is written.
//   - tampered_versions: a version whose code no longer matches its stored
//     sha256 or md5. Code cannot be repaired and versions are immutable, so
//     the version stays as it is and every enabled install of it is
//     disabled, with a 'disable' history row; the loader's sha256 check
//     would refuse the code anyway, and the admin now sees the install as
//     disabled in /ext list. The problem is still there afterwards (final
//     equals initial) until the guild updates or rolls back.
//   - orphan_storage, orphan_logs: ext_storage and ext_log rows of an
//     extension that does not exist. Deleted.
//   - expired_storage: storage entries whose time has passed (invisible to
//     every read already). Deleted.
//   - empty_extensions: an extension with no version (nothing can install
//     it, but it holds its name). Deleted with its storage, log lines and
//     install history, unless an install or the audit trail still names it:
//     the audit trail is never rewritten, so such an extension is kept and
//     reported.
//
// Each check runs in its own transaction: it counts what it finds, fixes
// it, and counts again. PRAGMA foreign_key_check, once the schema is whole
// and again at the end, reports every row that references a missing one;
// what is left at the end is what no check repairs (e.g. audit rows or
// history rows naming a version that was deleted by hand).
//
// Repair may run while skybot runs (the writes queue behind skybot's own),
// but a running skybot keeps the extensions it already loaded: restart it,
// or run repair while it is stopped, for a disabled install to stop.

// RepairActor is the actor of the install_history rows Repair writes.
const RepairActor UserID = "skybot:repair"

// ErrNoDatabase reports that a path does not hold a skybot database.
var ErrNoDatabase = errors.New("not an existing skybot database")

// The checks of Repair, by name.
const (
	CheckSchema           = "schema"
	CheckDanglingInstalls = "dangling_installs"
	CheckTamperedVersions = "tampered_versions"
	CheckOrphanStorage    = "orphan_storage"
	CheckOrphanLogs       = "orphan_logs"
	CheckExpiredStorage   = "expired_storage"
	CheckEmptyExtensions  = "empty_extensions"
)

// repairCheck is one check: it finds, fixes and counts again inside tx.
type repairCheck struct {
	name, title string
	run         func(ctx context.Context, tx *sql.Tx, now int64) (RepairCheck, []Problem, error)
}

// schemaCheck runs before the others and before the first foreign-key
// check, which fails outright when an index a foreign key uses is missing.
var schemaCheck = repairCheck{CheckSchema, "triggers and indexes of skybot's schema that are missing or changed", repairSchema}

// repairChecks is the one table of the other checks, in the order they
// run: an install removed by the first no longer keeps an empty extension
// alive for the last.
var repairChecks = []repairCheck{
	{CheckDanglingInstalls, "installs of a missing extension or version", repairDanglingInstalls},
	{CheckTamperedVersions, "versions whose code does not match its sha256 or md5", repairTamperedVersions},
	{CheckOrphanStorage, "storage entries of a missing extension", repairOrphans("ext_storage", CheckOrphanStorage, "storage entries")},
	{CheckOrphanLogs, "log lines of a missing extension", repairOrphans("ext_log", CheckOrphanLogs, "log lines")},
	{CheckExpiredStorage, "expired storage entries", repairExpiredStorage},
	{CheckEmptyExtensions, "extensions without a version", repairEmptyExtensions},
}

// RepairOptions configure Repair.
type RepairOptions struct {
	// DryRun reports what a repair would do and changes nothing: every
	// check runs, in one transaction that is rolled back at the end, so
	// the report is exactly what a real run would do at that moment.
	DryRun bool
}

// RepairCheck is what one check found and did. A dry run reports what it
// would have done.
type RepairCheck struct {
	Name     string // one of the Check constants
	Title    string // what it looks for, in words
	Initial  int    // problems found: rows, or versions for tampered_versions
	Removed  int    // rows deleted
	Disabled int    // installs disabled (tampered_versions)
	Final    int    // problems left afterwards
}

// Problem is one thing a check found. Storage entries and log lines are
// grouped per guild and extension, with Rows saying how many.
type Problem struct {
	Check       string
	GuildID     GuildID // "" when the problem is not one guild's
	ExtensionID ExtensionID
	Extension   string // the extension's name; "" when it does not exist
	VersionID   VersionID
	Version     string // the version string; "" when it does not exist
	Rows        int    // rows concerned, for grouped problems
	Detail      string // what is wrong
	Action      string // what repair did (or, in a dry run, would do)
}

// Census counts the rows of the tables Repair looks at.
type Census struct {
	Extensions      int
	Versions        int
	Installs        int
	EnabledInstalls int
	StorageEntries  int
	LogLines        int
	HistoryRows     int
	AuditRows       int
}

// ForeignKeyViolation counts the rows of Table that reference a missing row of Parent.
type ForeignKeyViolation struct {
	Table  string
	Parent string
	Rows   int
}

// RepairReport is the outcome of Repair.
type RepairReport struct {
	DryRun   bool
	Before   Census
	After    Census
	Checks   []RepairCheck // in the order they ran
	Problems []Problem     // in the order they were found
	// ForeignKeysBefore and ForeignKeysAfter are the rows that reference a
	// missing row before and after the repair; After lists what is left.
	ForeignKeysBefore []ForeignKeyViolation
	ForeignKeysAfter  []ForeignKeyViolation
}

// Left is the number of problems the repair left: the checks' final counts
// plus the rows that still break a foreign key.
func (r RepairReport) Left() int {
	n := 0
	for _, c := range r.Checks {
		n += c.Final
	}
	for _, v := range r.ForeignKeysAfter {
		n += v.Rows
	}
	return n
}

// Repair scans the database and fixes what it can (see the checks above).
// It returns the report so far with the error of the check that failed;
// that check's transaction was rolled back, the earlier ones committed.
// A dry run holds the write lock for its whole transaction.
func (s *Store) Repair(ctx context.Context, opts RepairOptions) (RepairReport, error) {
	rep := RepairReport{DryRun: opts.DryRun}
	var err error
	if rep.Before, err = census(ctx, s.r); err != nil {
		return rep, fmt.Errorf("repair: %w", err)
	}
	now := ms(s.now())

	// apply runs one check: in a dry run inside the one transaction that
	// is rolled back at the end, otherwise in a transaction of its own.
	// q is where the report's counts read from: that transaction, or one
	// connection of the read pool (see foreignKeyCheck).
	var apply func(c repairCheck) error
	var q querier
	if opts.DryRun {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return rep, fmt.Errorf("repair (dry run): begin: %w", err)
		}
		defer tx.Rollback() // a dry run never commits
		q = tx
		apply = func(c repairCheck) error {
			check, problems, err := c.run(ctx, tx, now)
			if err != nil {
				return fmt.Errorf("repair (dry run): %s: %w", c.name, err)
			}
			check.Name, check.Title = c.name, c.title
			rep.Checks = append(rep.Checks, check)
			rep.Problems = append(rep.Problems, problems...)
			return nil
		}
	} else {
		conn, err := s.r.Conn(ctx)
		if err != nil {
			return rep, fmt.Errorf("repair: %w", err)
		}
		defer conn.Close()
		q = conn
		apply = func(c repairCheck) error {
			var check RepairCheck
			var problems []Problem
			err := s.tx(ctx, func(tx *sql.Tx) error {
				var err error
				check, problems, err = c.run(ctx, tx, now)
				return err
			})
			if err != nil {
				return fmt.Errorf("repair: %s: %w", c.name, err)
			}
			check.Name, check.Title = c.name, c.title
			rep.Checks = append(rep.Checks, check)
			rep.Problems = append(rep.Problems, problems...)
			return nil
		}
	}

	if err := apply(schemaCheck); err != nil {
		return rep, err
	}
	if rep.ForeignKeysBefore, err = foreignKeyCheck(ctx, q); err != nil {
		return rep, fmt.Errorf("repair: %w", err)
	}
	for _, c := range repairChecks {
		if err := apply(c); err != nil {
			return rep, err
		}
	}
	if rep.After, err = census(ctx, q); err != nil {
		return rep, fmt.Errorf("repair: %w", err)
	}
	if rep.ForeignKeysAfter, err = foreignKeyCheck(ctx, q); err != nil {
		return rep, fmt.Errorf("repair: %w", err)
	}
	return rep, nil
}

// countRows runs a SELECT COUNT(*) query.
func countRows(ctx context.Context, q querier, query string, args ...any) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// execCount runs a statement and returns the rows it changed.
func execCount(ctx context.Context, tx *sql.Tx, query string, args ...any) (int, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// schemaObject is a trigger or an index as sqlite_master keeps it.
type schemaObject struct {
	kind, name, sql string
}

// referenceSchema applies the embedded migrations to a private in-memory
// database (one connection, so one database) and returns the triggers and
// indexes they define, in migration order.
func referenceSchema(ctx context.Context) ([]schemaObject, error) {
	steps, err := loadMigrations(migrationFS)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	db, err := sql.Open("sqlite", "file:skybot-reference?mode=memory")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, m := range steps {
		if _, err := db.ExecContext(ctx, m.sql); err != nil {
			return nil, fmt.Errorf("reference schema: migration %04d_%s: %w", m.version, m.name, err)
		}
	}
	return queryAll(ctx, db, func(sc scanner) (schemaObject, error) {
		var o schemaObject
		err := sc.Scan(&o.kind, &o.name, &o.sql)
		return o, err
	}, `SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'index') AND sql IS NOT NULL ORDER BY rowid`)
}

// repairSchema recreates the triggers and indexes of the migrations that
// the database lacks, or holds with another definition.
func repairSchema(ctx context.Context, tx *sql.Tx, _ int64) (RepairCheck, []Problem, error) {
	ref, err := referenceSchema(ctx)
	if err != nil {
		return RepairCheck{}, nil, err
	}
	differs := func(o schemaObject) (missing, changed bool, err error) {
		var have sql.NullString
		err = tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = ? AND name = ?`, o.kind, o.name).Scan(&have)
		if errors.Is(err, sql.ErrNoRows) {
			return true, false, nil
		}
		return false, err == nil && strings.Join(strings.Fields(have.String), " ") != strings.Join(strings.Fields(o.sql), " "), err
	}
	var check RepairCheck
	var problems []Problem
	for _, o := range ref {
		missing, changed, err := differs(o)
		if err != nil {
			return RepairCheck{}, nil, err
		}
		if !missing && !changed {
			continue
		}
		check.Initial++
		p := Problem{Check: CheckSchema, Detail: fmt.Sprintf("%s %s is missing", o.kind, o.name), Action: "recreated as skybot's migrations define it"}
		if changed {
			p.Detail = fmt.Sprintf("%s %s is not what skybot's migrations define", o.kind, o.name)
			p.Action = "replaced by the definition of skybot's migrations"
			// kind is "trigger" or "index" and name comes from skybot's own
			// migrations, never from the database.
			if _, err := tx.ExecContext(ctx, `DROP `+strings.ToUpper(o.kind)+` "`+o.name+`"`); err != nil {
				return RepairCheck{}, nil, fmt.Errorf("drop %s %s: %w", o.kind, o.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, o.sql); err != nil {
			return RepairCheck{}, nil, fmt.Errorf("create %s %s: %w", o.kind, o.name, err)
		}
		problems = append(problems, p)
	}
	for _, o := range ref {
		if missing, changed, err := differs(o); err != nil {
			return RepairCheck{}, nil, err
		} else if missing || changed {
			check.Final++
		}
	}
	return check, problems, nil
}

// danglingInstalls selects installs that cannot run: their extension or
// version is missing, or the version is another extension's.
const danglingInstalls = `FROM installs i
	LEFT JOIN extensions e ON e.id = i.extension_id
	LEFT JOIN versions v ON v.id = i.version_id
	WHERE e.id IS NULL OR v.id IS NULL OR v.extension_id IS NOT i.extension_id`

func repairDanglingInstalls(ctx context.Context, tx *sql.Tx, now int64) (RepairCheck, []Problem, error) {
	type dangling struct {
		p              Problem
		extOK, verOK   bool
		verExtensionID ExtensionID
	}
	found, err := queryAll(ctx, tx, func(sc scanner) (dangling, error) {
		var d dangling
		err := sc.Scan(&d.p.GuildID, &d.p.ExtensionID, &d.p.Extension, &d.p.VersionID, &d.p.Version,
			&d.extOK, &d.verOK, &d.verExtensionID)
		return d, err
	}, `SELECT i.guild_id, i.extension_id, COALESCE(e.name, ''), i.version_id, COALESCE(v.version, ''),
		e.id IS NOT NULL, v.id IS NOT NULL, COALESCE(v.extension_id, 0) `+danglingInstalls+`
		ORDER BY i.guild_id, i.extension_id`)
	if err != nil {
		return RepairCheck{}, nil, err
	}
	check := RepairCheck{Initial: len(found)}
	problems := make([]Problem, 0, len(found))
	for _, d := range found {
		p := d.p
		p.Check = CheckDanglingInstalls
		var why []string
		if !d.extOK {
			why = append(why, fmt.Sprintf("extension %d does not exist", p.ExtensionID))
		}
		switch {
		case !d.verOK:
			why = append(why, fmt.Sprintf("version %d does not exist", p.VersionID))
		case d.verExtensionID != p.ExtensionID:
			why = append(why, fmt.Sprintf("version %d (%s) belongs to extension %d", p.VersionID, p.Version, d.verExtensionID))
		}
		p.Detail = "the install points at nothing it can run: " + strings.Join(why, "; ")

		n, err := execCount(ctx, tx, `DELETE FROM installs WHERE guild_id = ? AND extension_id = ?`, p.GuildID, p.ExtensionID)
		if err != nil {
			return RepairCheck{}, nil, fmt.Errorf("delete install of extension %d in guild %s: %w", p.ExtensionID, p.GuildID, err)
		}
		check.Removed += n
		p.Action = "install deleted, its storage kept"
		if d.extOK {
			var from VersionID
			if d.verOK {
				from = p.VersionID
			}
			if err := writeHistory(ctx, tx, now, p.GuildID, p.ExtensionID, ActionUninstall, from, 0, RepairActor); err != nil {
				return RepairCheck{}, nil, err
			}
			p.Action += "; uninstall recorded in its history"
		}
		problems = append(problems, p)
	}
	if check.Final, err = countRows(ctx, tx, `SELECT COUNT(*) `+danglingInstalls); err != nil {
		return RepairCheck{}, nil, err
	}
	return check, problems, nil
}

func repairTamperedVersions(ctx context.Context, tx *sql.Tx, now int64) (RepairCheck, []Problem, error) {
	tampered, err := tamperedVersions(ctx, tx)
	if err != nil {
		return RepairCheck{}, nil, err
	}
	var check RepairCheck
	var problems []Problem
	for _, p := range tampered {
		check.Initial++
		p.Check = CheckTamperedVersions
		type install struct {
			guild   GuildID
			enabled bool
		}
		installs, err := queryAll(ctx, tx, func(sc scanner) (install, error) {
			var in install
			err := sc.Scan(&in.guild, &in.enabled)
			return in, err
		}, `SELECT guild_id, enabled FROM installs WHERE version_id = ? AND extension_id = ? ORDER BY guild_id`,
			p.VersionID, p.ExtensionID)
		if err != nil {
			return RepairCheck{}, nil, err
		}
		var disabled []string
		for _, in := range installs {
			if !in.enabled {
				continue
			}
			if _, err := execCount(ctx, tx, `UPDATE installs SET enabled = 0, updated_at = ? WHERE guild_id = ? AND extension_id = ?`,
				now, in.guild, p.ExtensionID); err != nil {
				return RepairCheck{}, nil, fmt.Errorf("disable extension %d in guild %s: %w", p.ExtensionID, in.guild, err)
			}
			if err := writeHistory(ctx, tx, now, in.guild, p.ExtensionID, ActionDisable, p.VersionID, p.VersionID, RepairActor); err != nil {
				return RepairCheck{}, nil, err
			}
			disabled = append(disabled, string(in.guild))
		}
		check.Disabled += len(disabled)
		switch {
		case len(installs) == 0:
			p.Action = "kept (versions are immutable); no install uses it"
		case len(disabled) == 0:
			p.Action = fmt.Sprintf("kept (versions are immutable); its %d install(s) were already disabled", len(installs))
		default:
			p.Action = fmt.Sprintf("kept (versions are immutable); disabled in guild(s) %s", strings.Join(disabled, ", "))
		}
		problems = append(problems, p)
	}
	// Repair never changes a version, so what it found is still there.
	check.Final = check.Initial
	return check, problems, nil
}

// tamperedVersions hashes the code of every version (SQLite has no
// sha256) and returns those whose digests do not match. Rows are read one
// at a time, so only one version's code is held at once.
func tamperedVersions(ctx context.Context, tx *sql.Tx) ([]Problem, error) {
	rows, err := tx.QueryContext(ctx, `SELECT v.id, v.extension_id, COALESCE(e.name, ''), v.version, v.code, v.md5, v.sha256
		FROM versions v LEFT JOIN extensions e ON e.id = v.extension_id ORDER BY v.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Problem
	for rows.Next() {
		var p Problem
		var code, md5hex, sha string
		if err := rows.Scan(&p.VersionID, &p.ExtensionID, &p.Extension, &p.Version, &code, &md5hex, &sha); err != nil {
			return nil, err
		}
		shaSum, md5Sum := sha256.Sum256([]byte(code)), md5.Sum([]byte(code))
		var bad []string
		if hex.EncodeToString(shaSum[:]) != sha {
			bad = append(bad, "sha256")
		}
		if hex.EncodeToString(md5Sum[:]) != md5hex {
			bad = append(bad, "md5")
		}
		if bad != nil {
			p.Detail = "the code does not match its stored " + strings.Join(bad, " and ")
			out = append(out, p)
		}
	}
	return out, rows.Err()
}

// repairOrphans deletes the rows of table (ext_storage or ext_log) whose
// extension does not exist, reported per guild and extension.
func repairOrphans(table, name, what string) func(context.Context, *sql.Tx, int64) (RepairCheck, []Problem, error) {
	orphans := `FROM ` + table + ` WHERE NOT EXISTS (SELECT 1 FROM extensions e WHERE e.id = ` + table + `.extension_id)`
	return func(ctx context.Context, tx *sql.Tx, _ int64) (RepairCheck, []Problem, error) {
		problems, err := queryAll(ctx, tx, func(sc scanner) (Problem, error) {
			p := Problem{Check: name}
			err := sc.Scan(&p.GuildID, &p.ExtensionID, &p.Rows)
			p.Detail = fmt.Sprintf("%d %s of extension %d, which does not exist", p.Rows, what, p.ExtensionID)
			p.Action = "deleted"
			return p, err
		}, `SELECT guild_id, extension_id, COUNT(*) `+orphans+` GROUP BY guild_id, extension_id ORDER BY guild_id, extension_id`)
		if err != nil {
			return RepairCheck{}, nil, err
		}
		var check RepairCheck
		for _, p := range problems {
			check.Initial += p.Rows
		}
		if check.Removed, err = execCount(ctx, tx, `DELETE `+orphans); err != nil {
			return RepairCheck{}, nil, err
		}
		if check.Final, err = countRows(ctx, tx, `SELECT COUNT(*) `+orphans); err != nil {
			return RepairCheck{}, nil, err
		}
		return check, problems, nil
	}
}

func repairExpiredStorage(ctx context.Context, tx *sql.Tx, now int64) (RepairCheck, []Problem, error) {
	var check RepairCheck
	var err error
	const expired = `FROM ext_storage WHERE expires_at <= ?`
	if check.Initial, err = countRows(ctx, tx, `SELECT COUNT(*) `+expired, now); err != nil {
		return RepairCheck{}, nil, err
	}
	if check.Removed, err = execCount(ctx, tx, `DELETE `+expired, now); err != nil {
		return RepairCheck{}, nil, err
	}
	if check.Final, err = countRows(ctx, tx, `SELECT COUNT(*) `+expired, now); err != nil {
		return RepairCheck{}, nil, err
	}
	// Expired entries are housekeeping, not damage: counted, not listed.
	return check, nil, nil
}

const emptyExtensions = `FROM extensions e WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.extension_id = e.id)`

func repairEmptyExtensions(ctx context.Context, tx *sql.Tx, _ int64) (RepairCheck, []Problem, error) {
	type empty struct {
		p                 Problem
		localGuild        string
		installs, audit   int
		storage, logs, hs int
	}
	found, err := queryAll(ctx, tx, func(sc scanner) (empty, error) {
		var x empty
		err := sc.Scan(&x.p.ExtensionID, &x.p.Extension, &x.localGuild, &x.installs, &x.audit, &x.storage, &x.logs, &x.hs)
		return x, err
	}, `SELECT e.id, e.name, e.local_guild,
		(SELECT COUNT(*) FROM installs i WHERE i.extension_id = e.id),
		(SELECT COUNT(*) FROM audit a WHERE a.extension_id = e.id),
		(SELECT COUNT(*) FROM ext_storage s WHERE s.extension_id = e.id),
		(SELECT COUNT(*) FROM ext_log l WHERE l.extension_id = e.id),
		(SELECT COUNT(*) FROM install_history h WHERE h.extension_id = e.id) `+emptyExtensions+` ORDER BY e.id`)
	if err != nil {
		return RepairCheck{}, nil, err
	}
	check := RepairCheck{Initial: len(found)}
	problems := make([]Problem, 0, len(found))
	for _, x := range found {
		p := x.p
		p.Check = CheckEmptyExtensions
		p.GuildID = GuildID(x.localGuild)
		p.Detail = "the extension has no version"
		switch {
		case x.installs > 0:
			p.Action = fmt.Sprintf("kept: %d install(s) still name it", x.installs)
		case x.audit > 0:
			p.Action = fmt.Sprintf("kept: %d audit row(s) name it, and the audit trail is never rewritten", x.audit)
		default:
			ok, err := deleteExtension(ctx, tx, p.ExtensionID)
			if err != nil {
				return RepairCheck{}, nil, err
			}
			if !ok {
				p.Action = "kept: other rows still refer to it"
				break
			}
			check.Removed++
			p.Action = fmt.Sprintf("deleted, with %d storage entries, %d log lines and %d history rows", x.storage, x.logs, x.hs)
		}
		problems = append(problems, p)
	}
	if check.Final, err = countRows(ctx, tx, `SELECT COUNT(*) `+emptyExtensions); err != nil {
		return RepairCheck{}, nil, err
	}
	return check, problems, nil
}

// deleteExtension deletes an extension that has no version, and the rows
// that are only its own, under a savepoint: when some other row (of a
// table added after this was written) still refers to the extension, the
// foreign key refuses, the savepoint is rolled back and ok is false.
func deleteExtension(ctx context.Context, tx *sql.Tx, id ExtensionID) (ok bool, err error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT repair_extension`); err != nil {
		return false, err
	}
	for _, q := range []string{
		`DELETE FROM ext_storage WHERE extension_id = ?`,
		`DELETE FROM ext_log WHERE extension_id = ?`,
		`DELETE FROM ext_usage WHERE extension_id = ?`,
		`DELETE FROM install_history WHERE extension_id = ?`,
		`DELETE FROM extensions WHERE id = ?`,
	} {
		if _, err = tx.ExecContext(ctx, q, id); err != nil {
			break
		}
	}
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO repair_extension`); rerr != nil {
			return false, errors.Join(err, rerr)
		}
	}
	if _, rerr := tx.ExecContext(ctx, `RELEASE repair_extension`); rerr != nil {
		return false, errors.Join(err, rerr)
	}
	if isForeignKey(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete extension %d: %w", id, err)
	}
	return true, nil
}

// census counts the rows of the tables Repair looks at.
func census(ctx context.Context, q querier) (Census, error) {
	var c Census
	err := q.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM extensions), (SELECT COUNT(*) FROM versions),
		(SELECT COUNT(*) FROM installs), (SELECT COUNT(*) FROM installs WHERE enabled != 0),
		(SELECT COUNT(*) FROM ext_storage), (SELECT COUNT(*) FROM ext_log),
		(SELECT COUNT(*) FROM install_history), (SELECT COUNT(*) FROM audit)`).Scan(
		&c.Extensions, &c.Versions, &c.Installs, &c.EnabledInstalls,
		&c.StorageEntries, &c.LogLines, &c.HistoryRows, &c.AuditRows)
	if err != nil {
		return Census{}, fmt.Errorf("count rows: %w", err)
	}
	return c, nil
}

// Census counts the rows of skybot's main tables.
func (s *Store) Census(ctx context.Context) (Census, error) {
	return census(ctx, s.r)
}

// InstallCounts returns how many installs are enabled and disabled, for
// the installs gauge of the metrics endpoint.
func (s *Store) InstallCounts(ctx context.Context) (enabled, disabled int, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(enabled != 0), 0), COALESCE(SUM(enabled = 0), 0) FROM installs`).
		Scan(&enabled, &disabled)
	if err != nil {
		return 0, 0, fmt.Errorf("count installs: %w", err)
	}
	return enabled, disabled, nil
}

// foreignKeyCheck runs PRAGMA foreign_key_check and counts its rows by
// table and parent, sorted. q must be one connection (a transaction or an
// *sql.Conn): the pragma works from the schema the connection has cached
// without checking it is current, so a statement that reads a table runs
// first on the same connection to reload a schema that another connection
// changed (as the schema check does).
func foreignKeyCheck(ctx context.Context, q querier) ([]ForeignKeyViolation, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master`).Scan(&n); err != nil {
		return nil, fmt.Errorf("foreign key check: read schema: %w", err)
	}
	rows, err := q.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return nil, fmt.Errorf("foreign key check: %w", err)
	}
	defer rows.Close()
	byKey := map[[2]string]int{}
	for rows.Next() {
		var table, parent string
		var rowid, fkid sql.NullInt64
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return nil, fmt.Errorf("foreign key check: %w", err)
		}
		byKey[[2]string{table, parent}]++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("foreign key check: %w", err)
	}
	out := make([]ForeignKeyViolation, 0, len(byKey))
	for k, n := range byKey {
		out = append(out, ForeignKeyViolation{Table: k[0], Parent: k[1], Rows: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table < out[j].Table
		}
		return out[i].Parent < out[j].Parent
	})
	return out, nil
}

// ExistingSchema reads, without changing the file, the schema version of
// the skybot database at path (have) and the newest this binary would
// migrate it to (want). The error wraps ErrNoDatabase when path does not
// hold a skybot database. Operator commands such as repair call it before
// Open, so that a mistyped path is refused rather than quietly becoming a
// new database, and so that they know whether Open will migrate.
func ExistingSchema(ctx context.Context, path string) (have, want int, err error) {
	steps, err := loadMigrations(migrationFS)
	if err != nil {
		return 0, 0, fmt.Errorf("load migrations: %w", err)
	}
	if len(steps) > 0 {
		want = steps[len(steps)-1].version
	}
	have, err = existingVersion(ctx, path)
	if err != nil {
		return 0, 0, fmt.Errorf("open store %s: %w", path, err)
	}
	return have, want, nil
}

func existingVersion(ctx context.Context, path string) (int, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, fmt.Errorf("the file does not exist: %w", ErrNoDatabase)
	case err != nil:
		return 0, err
	case !fi.Mode().IsRegular():
		return 0, fmt.Errorf("not a regular file: %w", ErrNoDatabase)
	case fi.Size() == 0:
		return 0, fmt.Errorf("the file is empty: %w", ErrNoDatabase)
	}
	// mode=ro never creates the file nor writes to it.
	db, err := sql.Open("sqlite", "file:"+escapePath(path)+"?"+commonPragmas+"&mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%w: %w", ErrNoDatabase, err)
	case n == 0:
		return 0, fmt.Errorf("no skybot schema in it: %w", ErrNoDatabase)
	}
	var v int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
