package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// rawDB opens a plain connection on the store's file with foreign keys off:
// what a person editing the file by hand, or an older build, works with.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(0)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// damage is a database with one of every kind of damage Repair handles,
// among healthy rows that must survive it.
type damage struct {
	path   string
	s      *Store
	clk    *clock
	hello  Version // healthy, installed in g1
	greet  Version // its code is tampered with; installed in g1, g2 (disabled), g3
	lonely ExtensionID
	quoted ExtensionID
}

const (
	g1 GuildID = "811111111111111111"
	g2 GuildID = "822222222222222222"
	g3 GuildID = "833333333333333333"
	g4 GuildID = "844444444444444444"
	g5 GuildID = "855555555555555555"
	g6 GuildID = "866666666666666666"

	admin UserID = "900000000000000001"
)

func newDamage(t *testing.T) *damage {
	t.Helper()
	ctx := context.Background()
	d := &damage{path: filepath.Join(t.TempDir(), "skybot.db"), clk: newClock()}
	d.s = openAt(t, d.path, WithClock(d.clk.Now))
	s := d.s

	// Healthy rows.
	save(t, s, "hello", "", admin, "1.0.0")
	d.hello = save(t, s, "hello", "", admin, "1.1.0")
	d.greet = save(t, s, "greeter", "", admin, "2.0.0")
	install := func(g GuildID, v Version) {
		t.Helper()
		err := s.CreateInstall(ctx, Install{GuildID: g, ExtensionID: v.ExtensionID, VersionID: v.ID, Enabled: true,
			GrantedScopes: []string{"messages_write"}, InstalledBy: admin})
		if err != nil {
			t.Fatal(err)
		}
	}
	install(g1, d.hello)
	install(g1, d.greet)
	install(g2, d.greet)
	install(g3, d.greet)
	if err := s.SetInstallEnabled(ctx, g2, d.greet.ExtensionID, false, admin); err != nil {
		t.Fatal(err)
	}
	for _, kv := range []struct {
		g   GuildID
		ext ExtensionID
		key string
		ttl time.Duration
	}{
		{g1, d.hello.ExtensionID, "greeted", 0},
		{g1, d.hello.ExtensionID, "session", time.Hour},
		{g1, d.greet.ExtensionID, "count", 0},
	} {
		if err := s.StorageSet(ctx, kv.g, kv.ext, kv.key, `1`, kv.ttl); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendLog(ctx, LogEntry{GuildID: g1, ExtensionID: d.hello.ExtensionID, VersionID: d.hello.ID,
		Level: "info", Kind: "console", Message: "hello ran"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, AuditEntry{GuildID: g1, ExtensionID: d.hello.ExtensionID, VersionID: d.hello.ID,
		Actor: "ext:hello", Action: "message.reply", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}

	// Extensions without a version: one with data of its own (deleted with
	// it), one the audit trail names (kept).
	db := rawDB(t, d.path)
	if err := db.QueryRow(`INSERT INTO extensions (name, local_guild, owner_id, created_at)
		VALUES ('lonely', ?, ?, 1) RETURNING id`, g1, admin).Scan(&d.lonely); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`INSERT INTO extensions (name, local_guild, owner_id, created_at)
		VALUES ('quoted', '', ?, 1) RETURNING id`, admin).Scan(&d.quoted); err != nil {
		t.Fatal(err)
	}
	if err := s.StorageSet(ctx, g1, d.lonely, "left", `"behind"`, 0); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `INSERT INTO ext_log (guild_id, extension_id, at, level, kind, message) VALUES (?, ?, 1, 'info', 'lifecycle', 'x')`, g1, d.lonely)
	mustExec(t, db, `INSERT INTO install_history (guild_id, extension_id, action, actor_id, at) VALUES (?, ?, 'uninstall', ?, 1)`, g1, d.lonely, admin)
	if err := s.AppendAudit(ctx, AuditEntry{GuildID: g2, ExtensionID: d.quoted, Actor: "ext:quoted", Action: "message.reply", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}

	// Installs that point nowhere: a missing version, a missing extension,
	// another extension's version.
	mustExec(t, db, `INSERT INTO installs (guild_id, extension_id, version_id, installed_by, installed_at, updated_at) VALUES (?, ?, 9999, ?, 1, 1)`,
		g4, d.hello.ExtensionID, admin)
	mustExec(t, db, `INSERT INTO installs (guild_id, extension_id, version_id, installed_by, installed_at, updated_at) VALUES (?, 7777, ?, ?, 1, 1)`,
		g4, d.hello.ID, admin)
	mustExec(t, db, `INSERT INTO installs (guild_id, extension_id, version_id, installed_by, installed_at, updated_at) VALUES (?, ?, ?, ?, 1, 1)`,
		g5, d.hello.ExtensionID, d.greet.ID, admin)

	// Storage and log lines of extensions that do not exist.
	for _, row := range []struct {
		g   GuildID
		ext int
		key string
	}{{g1, 7777, "x"}, {g1, 7777, "y"}, {g6, 8888, "z"}} {
		mustExec(t, db, `INSERT INTO ext_storage (guild_id, extension_id, key, value) VALUES (?, ?, ?, '0')`, row.g, row.ext, row.key)
	}
	for range 2 {
		mustExec(t, db, `INSERT INTO ext_log (guild_id, extension_id, at, level, kind, message) VALUES (?, 7777, 1, 'warn', 'run', 'gone')`, g1)
	}

	// Code changed behind the digests' back.
	mustExec(t, db, `DROP TRIGGER versions_immutable`)
	mustExec(t, db, `UPDATE versions SET code = code || ' ; fetch("https://evil.example")' WHERE id = ?`, d.greet.ID)

	// hello's session entry expires.
	d.clk.Advance(2 * time.Hour)
	return d
}

// dump is every row of every table, and the schema, as text.
func dump(t *testing.T, path string) string {
	t.Helper()
	db := rawDB(t, path)
	var tables []string
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range append([]string{"sqlite_master"}, tables...) {
		rows, err := db.Query(`SELECT * FROM "` + table + `" ORDER BY 1, 2, 3`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", table, vals)
		}
		rows.Close()
	}
	return b.String()
}

func checkNamed(t *testing.T, rep RepairReport, name string, want RepairCheck) {
	t.Helper()
	i := slices.IndexFunc(rep.Checks, func(c RepairCheck) bool { return c.Name == name })
	if i < 0 {
		t.Errorf("no %s check in the report", name)
		return
	}
	got := rep.Checks[i]
	got.Title = ""
	want.Name = name
	if got != want {
		t.Errorf("%s: got %+v, want %+v", name, got, want)
	}
}

func problemsOf(rep RepairReport, check string) []Problem {
	var out []Problem
	for _, p := range rep.Problems {
		if p.Check == check {
			out = append(out, p)
		}
	}
	return out
}

func TestRepair(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDamage(t)
	s := d.s

	rep, err := s.Repair(ctx, RepairOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.DryRun {
		t.Error("a real run reports DryRun")
	}
	checkNamed(t, rep, CheckSchema, RepairCheck{Initial: 1, Final: 0})
	checkNamed(t, rep, CheckDanglingInstalls, RepairCheck{Initial: 3, Removed: 3, Final: 0})
	checkNamed(t, rep, CheckTamperedVersions, RepairCheck{Initial: 1, Disabled: 2, Final: 1})
	checkNamed(t, rep, CheckOrphanStorage, RepairCheck{Initial: 3, Removed: 3, Final: 0})
	checkNamed(t, rep, CheckOrphanLogs, RepairCheck{Initial: 2, Removed: 2, Final: 0})
	checkNamed(t, rep, CheckExpiredStorage, RepairCheck{Initial: 1, Removed: 1, Final: 0})
	checkNamed(t, rep, CheckEmptyExtensions, RepairCheck{Initial: 2, Removed: 1, Final: 1})
	var names []string
	for _, c := range rep.Checks {
		names = append(names, c.Name)
		if c.Title == "" {
			t.Errorf("check %s has no title", c.Name)
		}
	}
	if want := []string{CheckSchema, CheckDanglingInstalls, CheckTamperedVersions, CheckOrphanStorage, CheckOrphanLogs,
		CheckExpiredStorage, CheckEmptyExtensions}; !slices.Equal(names, want) {
		t.Errorf("checks ran in order %v, want %v", names, want)
	}

	// The problems name what they found.
	if p := problemsOf(rep, CheckSchema); len(p) != 1 || p[0].Detail != "trigger versions_immutable is missing" {
		t.Errorf("schema problems: %+v", p)
	}
	dangling := problemsOf(rep, CheckDanglingInstalls)
	wantDangling := []struct {
		guild  GuildID
		ext    ExtensionID
		detail string
		action string
	}{
		{g4, d.hello.ExtensionID, "version 9999 does not exist", "uninstall recorded"},
		{g4, 7777, "extension 7777 does not exist", "storage kept"},
		{g5, d.hello.ExtensionID, fmt.Sprintf("version %d (2.0.0) belongs to extension %d", d.greet.ID, d.greet.ExtensionID), "uninstall recorded"},
	}
	if len(dangling) != len(wantDangling) {
		t.Fatalf("dangling installs: %+v", dangling)
	}
	for i, w := range wantDangling {
		p := dangling[i]
		if p.GuildID != w.guild || p.ExtensionID != w.ext || !strings.Contains(p.Detail, w.detail) || !strings.Contains(p.Action, w.action) {
			t.Errorf("dangling install %d: %+v, want guild %s extension %d, %q, %q", i, p, w.guild, w.ext, w.detail, w.action)
		}
	}
	if p := dangling[1]; strings.Contains(p.Action, "history") || p.Extension != "" {
		t.Errorf("the install of a missing extension got a history row or a name: %+v", p)
	}
	if p := dangling[0]; p.Extension != "hello" {
		t.Errorf("dangling install of hello is not named: %+v", p)
	}

	tampered := problemsOf(rep, CheckTamperedVersions)
	if len(tampered) != 1 || tampered[0].VersionID != d.greet.ID || tampered[0].Extension != "greeter" || tampered[0].Version != "2.0.0" ||
		tampered[0].Detail != "the code does not match its stored sha256 and md5" ||
		!strings.Contains(tampered[0].Action, fmt.Sprintf("disabled in guild(s) %s, %s", g1, g3)) {
		t.Errorf("tampered versions: %+v", tampered)
	}
	orphans := problemsOf(rep, CheckOrphanStorage)
	if len(orphans) != 2 || orphans[0] != (Problem{Check: CheckOrphanStorage, GuildID: g1, ExtensionID: 7777, Rows: 2,
		Detail: "2 storage entries of extension 7777, which does not exist", Action: "deleted"}) || orphans[1].GuildID != g6 || orphans[1].Rows != 1 {
		t.Errorf("orphan storage: %+v", orphans)
	}
	if logs := problemsOf(rep, CheckOrphanLogs); len(logs) != 1 || logs[0].Rows != 2 || logs[0].ExtensionID != 7777 {
		t.Errorf("orphan logs: %+v", logs)
	}
	if expired := problemsOf(rep, CheckExpiredStorage); len(expired) != 0 {
		t.Errorf("expired entries are listed as problems: %+v", expired)
	}
	empty := problemsOf(rep, CheckEmptyExtensions)
	if len(empty) != 2 ||
		empty[0].ExtensionID != d.lonely || empty[0].Extension != "lonely" || empty[0].GuildID != g1 ||
		empty[0].Action != "deleted, with 1 storage entries, 1 log lines and 1 history rows" ||
		empty[1].ExtensionID != d.quoted || !strings.Contains(empty[1].Action, "kept: 1 audit row(s) name it") {
		t.Errorf("empty extensions: %+v", empty)
	}

	// The counts before and after add up.
	if rep.Before.Installs != 7 || rep.After.Installs != 4 || rep.After.EnabledInstalls != 1 ||
		rep.Before.StorageEntries != 7 || rep.After.StorageEntries != 2 ||
		rep.Before.Extensions != 4 || rep.After.Extensions != 3 ||
		rep.Before.LogLines != 4 || rep.After.LogLines != 1 || rep.After.Versions != 3 ||
		rep.After.AuditRows != rep.Before.AuditRows {
		t.Errorf("census before %+v, after %+v", rep.Before, rep.After)
	}
	if len(rep.ForeignKeysBefore) == 0 {
		t.Error("the foreign-key check found nothing before the repair")
	}
	for _, table := range []string{"installs", "ext_storage", "ext_log"} {
		if !slices.ContainsFunc(rep.ForeignKeysBefore, func(v ForeignKeyViolation) bool { return v.Table == table && v.Rows > 0 }) {
			t.Errorf("the foreign-key check before the repair misses %s: %+v", table, rep.ForeignKeysBefore)
		}
	}
	if len(rep.ForeignKeysAfter) != 0 || rep.Left() != 2 {
		t.Errorf("left after the repair: foreign keys %+v, Left() = %d (want the tampered version and the audited extension)",
			rep.ForeignKeysAfter, rep.Left())
	}

	// The database is consistent, and says so through the ordinary API.
	if got := count(t, s, `SELECT COUNT(*) FROM pragma_foreign_key_check`); got != 0 {
		t.Errorf("%d foreign-key violations after the repair", got)
	}
	if _, err := rawDB(t, d.path).Exec(`UPDATE versions SET code = 'x' WHERE id = ?`, d.hello.ID); err == nil ||
		!strings.Contains(err.Error(), "versions are immutable") {
		t.Errorf("versions are not immutable again after the repair: %v", err)
	}
	ins, err := s.Installs(ctx, g1)
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]bool{}
	for _, in := range ins {
		state[in.Name] = in.Enabled
	}
	if !reflect.DeepEqual(state, map[string]bool{"hello": true, "greeter": false}) {
		t.Errorf("installs of g1 after the repair: %v", state)
	}
	for _, g := range []GuildID{g2, g3} {
		in, err := s.Install(ctx, g, d.greet.ExtensionID)
		if err != nil || in.Enabled {
			t.Errorf("greeter in %s: %+v, %v; want disabled", g, in, err)
		}
	}
	for _, g := range []GuildID{g4, g5} {
		if n := count(t, s, `SELECT COUNT(*) FROM installs WHERE guild_id = ?`, g); n != 0 {
			t.Errorf("%s still has %d installs", g, n)
		}
	}
	want := map[GuildID][]string{
		g1: {fmt.Sprintf("install 0>%d %s", d.greet.ID, admin), fmt.Sprintf("disable %d>%d skybot:repair", d.greet.ID, d.greet.ID)},
		g2: {fmt.Sprintf("install 0>%d %s", d.greet.ID, admin), fmt.Sprintf("disable %d>%d %s", d.greet.ID, d.greet.ID, admin)},
		g3: {fmt.Sprintf("install 0>%d %s", d.greet.ID, admin), fmt.Sprintf("disable %d>%d skybot:repair", d.greet.ID, d.greet.ID)},
	}
	for g, w := range want {
		if got := historyOf(t, s, g, d.greet.ExtensionID); !slices.Equal(got, w) {
			t.Errorf("greeter's history in %s: %q, want %q", g, got, w)
		}
	}
	if got := historyOf(t, s, g4, d.hello.ExtensionID); !slices.Equal(got, []string{"uninstall 0>0 skybot:repair"}) {
		t.Errorf("hello's history in g4: %q", got)
	}
	if got := historyOf(t, s, g5, d.hello.ExtensionID); !slices.Equal(got, []string{fmt.Sprintf("uninstall %d>0 skybot:repair", d.greet.ID)}) {
		t.Errorf("hello's history in g5: %q", got)
	}
	kvs, err := s.StorageList(ctx, g1, d.hello.ExtensionID, "", 0)
	if err != nil || len(kvs) != 1 || kvs[0].Key != "greeted" {
		t.Errorf("hello's storage in g1: %+v, %v", kvs, err)
	}
	if v, ok, err := s.StorageGet(ctx, g1, d.greet.ExtensionID, "count"); err != nil || !ok || v != "1" {
		t.Errorf("greeter's storage in g1: %q %v %v", v, ok, err)
	}
	if _, err := s.Extension(ctx, d.lonely); !errors.Is(err, ErrNotFound) {
		t.Errorf("the extension without versions is still there: %v", err)
	}
	if _, err := s.Extension(ctx, d.quoted); err != nil {
		t.Errorf("the extension the audit trail names is gone: %v", err)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM audit`); n != rep.Before.AuditRows {
		t.Errorf("the audit trail changed: %d rows, had %d", n, rep.Before.AuditRows)
	}

	// A second run finds only what repair cannot fix, and changes nothing.
	before := dump(t, d.path)
	again, err := s.Repair(ctx, RepairOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range again.Checks {
		want := RepairCheck{Name: c.Name}
		switch c.Name {
		case CheckTamperedVersions:
			want.Initial, want.Final = 1, 1
		case CheckEmptyExtensions:
			want.Initial, want.Final = 1, 1
		}
		checkNamed(t, again, c.Name, want)
	}
	if p := problemsOf(again, CheckTamperedVersions); len(p) != 1 || !strings.Contains(p[0].Action, "its 3 install(s) were already disabled") {
		t.Errorf("second run, tampered: %+v", p)
	}
	if after := dump(t, d.path); after != before {
		t.Errorf("a repair of a repaired database changed it:\nbefore\n%s\nafter\n%s", before, after)
	}
}

// A dry run reports exactly what the real run then does, and changes nothing.
func TestRepairDryRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDamage(t)
	before := dump(t, d.path)

	dry, err := d.s.Repair(ctx, RepairOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if after := dump(t, d.path); after != before {
		t.Fatalf("the dry run changed the database:\nbefore\n%s\nafter\n%s", before, after)
	}
	if !dry.DryRun {
		t.Error("the dry run's report does not say so")
	}
	done, err := d.s.Repair(ctx, RepairOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dry.DryRun = false
	if !reflect.DeepEqual(dry, done) {
		t.Errorf("the dry run reported\n%+v\nthe real run\n%+v", dry, done)
	}
	if dump(t, d.path) == before {
		t.Error("the real run changed nothing")
	}
}

func TestRepairHealthyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v := save(t, s, "hello", "", admin, "1.0.0")
	if err := s.CreateInstall(ctx, Install{GuildID: g1, ExtensionID: v.ExtensionID, VersionID: v.ID, Enabled: true, InstalledBy: admin}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Repair(ctx, RepairOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Left() != 0 || len(rep.Problems) != 0 || len(rep.ForeignKeysBefore) != 0 || rep.Before != rep.After {
		t.Errorf("a healthy database: %+v", rep)
	}
	for _, c := range rep.Checks {
		if c.Initial != 0 || c.Removed != 0 || c.Disabled != 0 || c.Final != 0 {
			t.Errorf("a healthy database: %+v", c)
		}
	}
}

// What no check repairs is reported by the foreign-key check; an extension
// that a table unknown to repair still refers to is kept, not half-deleted.
func TestRepairReportsWhatItCannotFix(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "skybot.db")
	s := openAt(t, path)
	v := save(t, s, "hello", "", admin, "1.0.0")
	db := rawDB(t, path)
	// A version of an extension that does not exist, with honest digests.
	mustExec(t, db, `INSERT INTO versions (extension_id, version, manifest, code, md5, sha256, created_at)
		SELECT 4242, '9.9.9', manifest, code, md5, sha256, 1 FROM versions WHERE id = ?`, v.ID)
	// A table from a later migration that refers to an extension without versions.
	var empty ExtensionID
	if err := db.QueryRow(`INSERT INTO extensions (name, owner_id, created_at) VALUES ('scheduled', ?, 1) RETURNING id`, admin).Scan(&empty); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `CREATE TABLE schedules (id INTEGER PRIMARY KEY, extension_id INTEGER NOT NULL REFERENCES extensions(id))`)
	mustExec(t, db, `INSERT INTO schedules (extension_id) VALUES (?)`, empty)
	if err := s.StorageSet(ctx, g1, empty, "k", `true`, 0); err != nil {
		t.Fatal(err)
	}

	rep, err := s.Repair(ctx, RepairOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkNamed(t, rep, CheckEmptyExtensions, RepairCheck{Initial: 1, Final: 1})
	if p := problemsOf(rep, CheckEmptyExtensions); len(p) != 1 || p[0].Action != "kept: other rows still refer to it" {
		t.Errorf("empty extension: %+v", p)
	}
	if _, ok, err := s.StorageGet(ctx, g1, empty, "k"); !ok || err != nil {
		t.Errorf("the storage of a kept extension was deleted (%v)", err)
	}
	want := []ForeignKeyViolation{{Table: "versions", Parent: "extensions", Rows: 1}}
	if !reflect.DeepEqual(rep.ForeignKeysAfter, want) || !reflect.DeepEqual(rep.ForeignKeysBefore, want) {
		t.Errorf("foreign keys before %+v, after %+v; want %+v", rep.ForeignKeysBefore, rep.ForeignKeysAfter, want)
	}
	if rep.Left() != 2 {
		t.Errorf("Left() = %d, want 2", rep.Left())
	}
}

// A neutered trigger and a dropped index (which the foreign-key check
// needs) are put back as the migrations define them.
func TestRepairSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "skybot.db")
	s := openAt(t, path)
	v := save(t, s, "hello", "", admin, "1.0.0")
	db := rawDB(t, path)
	mustExec(t, db, `DROP TRIGGER versions_immutable`)
	mustExec(t, db, `CREATE TRIGGER versions_immutable BEFORE UPDATE ON versions WHEN 0 BEGIN SELECT 1; END`)
	mustExec(t, db, `DROP INDEX versions_id_extension`)
	mustExec(t, db, `DROP INDEX ext_log_by_install`)

	dry, err := s.Repair(ctx, RepairOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM sqlite_master WHERE name IN ('versions_id_extension', 'ext_log_by_install')`); n != 0 {
		t.Errorf("the dry run created %d indexes", n)
	}
	rep, err := s.Repair(ctx, RepairOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dry.DryRun = false
	if !reflect.DeepEqual(dry, rep) {
		t.Errorf("dry run\n%+v\nreal run\n%+v", dry, rep)
	}
	checkNamed(t, rep, CheckSchema, RepairCheck{Initial: 3, Final: 0})
	var details []string
	for _, p := range problemsOf(rep, CheckSchema) {
		details = append(details, p.Detail+": "+p.Action)
	}
	want := []string{
		"index versions_id_extension is missing: recreated as skybot's migrations define it",
		"trigger versions_immutable is not what skybot's migrations define: replaced by the definition of skybot's migrations",
		"index ext_log_by_install is missing: recreated as skybot's migrations define it",
	}
	if !slices.Equal(details, want) {
		t.Errorf("schema problems:\n%q\nwant\n%q", details, want)
	}
	if _, err := db.Exec(`UPDATE versions SET code = 'x' WHERE id = ?`, v.ID); err == nil || !strings.Contains(err.Error(), "versions are immutable") {
		t.Errorf("versions are not immutable again after the repair: %v", err)
	}
	if rep.Left() != 0 {
		t.Errorf("Left() = %d", rep.Left())
	}
}

func TestExistingSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	steps, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	newest := steps[len(steps)-1].version

	good := filepath.Join(dir, "skybot.db")
	s := openAt(t, good)
	save(t, s, "hello", "", admin, "1.0.0")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	older := filepath.Join(dir, "older.db")
	other := filepath.Join(dir, "other.db")
	for path, ddl := range map[string]string{
		older: `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		other: `CREATE TABLE notes (body TEXT)`,
	} {
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, db, ddl)
		db.Close()
	}
	empty := filepath.Join(dir, "empty.db")
	text := filepath.Join(dir, "notes.txt")
	for path, content := range map[string]string{empty: "", text: strings.Repeat("not a database\n", 100)} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name, path string
		have       int
		want       string // in the error; "" for none
	}{
		{"skybot's", good, newest, ""},
		{"an older build's", older, 0, ""},
		{"missing", filepath.Join(dir, "typo.db"), 0, "the file does not exist"},
		{"missing directory", filepath.Join(dir, "nope", "skybot.db"), 0, "the file does not exist"},
		{"a directory", dir, 0, "not a regular file"},
		{"empty file", empty, 0, "the file is empty"},
		{"not SQLite", text, 0, "not an existing skybot database"},
		{"another program's database", other, 0, "no skybot schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(tc.path)
			have, want, err := ExistingSchema(ctx, tc.path)
			switch {
			case tc.want == "" && (err != nil || have != tc.have || want != newest):
				t.Errorf("ExistingSchema = %d, %d, %v; want %d, %d", have, want, err, tc.have, newest)
			case tc.want != "" && (!errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v; want ErrNoDatabase mentioning %q", err, tc.want)
			}
			if after, _ := os.ReadFile(tc.path); string(after) != string(before) {
				t.Errorf("ExistingSchema changed %s", tc.path)
			}
		})
	}
	for _, p := range []string{filepath.Join(dir, "typo.db"), filepath.Join(dir, "nope")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("ExistingSchema created %s (%v)", p, err)
		}
	}
}

func TestInstallCountsAndCensus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v := save(t, s, "hello", "", admin, "1.0.0")
	for _, g := range []GuildID{g1, g2, g3} {
		if err := s.CreateInstall(ctx, Install{GuildID: g, ExtensionID: v.ExtensionID, VersionID: v.ID, Enabled: true, InstalledBy: admin}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetInstallEnabled(ctx, g2, v.ExtensionID, false, admin); err != nil {
		t.Fatal(err)
	}
	enabled, disabled, err := s.InstallCounts(ctx)
	if err != nil || enabled != 2 || disabled != 1 {
		t.Errorf("InstallCounts = %d, %d, %v; want 2, 1", enabled, disabled, err)
	}
	c, err := s.Census(ctx)
	want := Census{Extensions: 1, Versions: 1, Installs: 3, EnabledInstalls: 2, HistoryRows: 4}
	if err != nil || c != want {
		t.Errorf("Census = %+v, %v; want %+v", c, err, want)
	}
}
