package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

// clock is a settable clock for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.UnixMilli(1_700_000_000_000).UTC()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openAt opens a store on path and closes it when the test ends.
func openAt(t testing.TB, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// newStore opens a store on a fresh file in a temporary directory.
func newStore(t testing.TB, opts ...Option) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "skybot.db"), opts...)
}

// save writes a version, failing the test on error.
func save(t testing.TB, s *Store, name, localGuild string, owner UserID, version string) Version {
	t.Helper()
	v, err := s.SaveVersion(context.Background(), NewVersion{
		Name: name, LocalGuild: localGuild, Owner: owner, Version: version,
		Manifest: json.RawMessage(`{"name":"` + name + `"}`),
		Code:     "module.exports = () => '" + name + "@" + version + "'",
	})
	if err != nil {
		t.Fatalf("SaveVersion %s@%s: %v", name, version, err)
	}
	return v
}

// count runs a COUNT(*) query through the read pool.
func count(t testing.TB, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.r.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestOpenRefusesNonFiles(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", ":memory:", "file::memory:?cache=shared", "file:x.db?mode=memory"} {
		t.Run(path, func(t *testing.T) {
			if s, err := Open(context.Background(), path); err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded, want an error", path)
			}
		})
	}
}

func TestMigrationsIdempotentOnReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "skybot.db")
	clk := newClock()
	steps, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}

	type applied struct {
		version   int
		name      string
		appliedAt int64
	}
	read := func(s *Store) []applied {
		rows, err := s.r.QueryContext(ctx, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []applied
		for rows.Next() {
			var a applied
			if err := rows.Scan(&a.version, &a.name, &a.appliedAt); err != nil {
				t.Fatal(err)
			}
			out = append(out, a)
		}
		return out
	}

	s, err := Open(ctx, path, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	first := read(s)
	if len(first) != len(steps) || first[0].version != 1 || first[0].name != "init" {
		t.Fatalf("after first open: %+v, want %d migrations starting with 1 init", first, len(steps))
	}
	v := save(t, s, "greeter", "", "u1", "1.0.0")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	for i := range 3 {
		clk.Advance(time.Hour)
		s := openAt(t, path, WithClock(clk.Now))
		if again := read(s); fmt.Sprint(again) != fmt.Sprint(first) {
			t.Fatalf("reopen %d: migrations %+v, want unchanged %+v", i, again, first)
		}
		if got, err := s.Version(ctx, v.ID); err != nil || got.Code != v.Code {
			t.Fatalf("reopen %d: version %v, %v; data lost", i, got, err)
		}
		if sv, err := s.SchemaVersion(ctx); err != nil || sv != steps[len(steps)-1].version {
			t.Fatalf("SchemaVersion = %d, %v", sv, err)
		}
	}
}

func TestMigrationNewerThanBinaryRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "skybot.db")
	s := openAt(t, path)
	if _, err := s.w.ExecContext(ctx, "INSERT INTO schema_migrations VALUES (9999, 'future', 0)"); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(ctx, path); err == nil {
		s2.Close()
		t.Fatal("Open of a database from a newer binary succeeded")
	}
}

func TestLoadMigrations(t *testing.T) {
	t.Parallel()
	sql := &fstest.MapFile{Data: []byte("SELECT 1;")}
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr bool
	}{
		{"ordered by number", fstest.MapFS{"migrations/0010_b.sql": sql, "migrations/0002_a.sql": sql}, []int{2, 10}, false},
		{"no number", fstest.MapFS{"migrations/init.sql": sql}, nil, true},
		{"no name", fstest.MapFS{"migrations/0001.sql": sql}, nil, true},
		{"zero", fstest.MapFS{"migrations/0000_x.sql": sql}, nil, true},
		{"duplicate number", fstest.MapFS{"migrations/0001_a.sql": sql, "migrations/1_b.sql": sql}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps, err := loadMigrations(tt.files)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			var got []int
			for _, m := range steps {
				got = append(got, m.version)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("versions %v, want %v", got, tt.want)
			}
		})
	}
}

// The pragmas come from the DSN, so every pooled connection has them.
func TestPragmasOnEveryConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, WithReaders(3))

	pragma := func(c *sql.Conn, name string) string {
		var v string
		if err := c.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	want := map[string]string{"busy_timeout": "5000", "foreign_keys": "1", "journal_mode": "wal", "synchronous": "1"}

	// Hold three reader connections at once so they are distinct.
	var conns []*sql.Conn
	for range 3 {
		c, err := s.r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	w, err := s.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i, c := range append(conns, w) {
		for name, v := range want {
			if got := pragma(c, name); got != v {
				t.Errorf("connection %d: %s = %s, want %s", i, name, got, v)
			}
		}
	}

	// The read pool is read-only.
	_, err = conns[0].ExecContext(ctx, "INSERT INTO guilds (guild_id, joined_at) VALUES ('g', 0)")
	if sqliteCode(err)&0xff != sqlite3.SQLITE_READONLY {
		t.Fatalf("write through the read pool: %v, want SQLITE_READONLY", err)
	}
}

func TestVersionImmutable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v := save(t, s, "greeter", "", "u1", "1.0.0")
	other := save(t, s, "other", "", "u1", "1.0.0")

	tests := []struct {
		name    string
		set     string
		arg     any
		allowed bool
	}{
		{"code", "code = ?", "evil()", false},
		{"manifest", "manifest = ?", `{}`, false},
		{"version", "version = ?", "9.9.9", false},
		{"md5", "md5 = ?", "00", false},
		{"sha256", "sha256 = ?", "00", false},
		{"signature", "signature = ?", []byte{1, 2, 3}, false},
		{"extension", "extension_id = ?", other.ExtensionID, false},
		{"submitted_by", "submitted_by = ?", "u2", false},
		{"created_at", "created_at = ?", 1, false},
		{"same code", "code = ?", v.Code, true},
		{"state", "state = ?", StateQueue, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.w.ExecContext(ctx, "UPDATE versions SET "+tt.set+" WHERE id = ?", tt.arg, v.ID)
			if tt.allowed {
				if err != nil {
					t.Fatalf("update refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "versions are immutable") {
				t.Fatalf("update: %v, want the trigger's refusal", err)
			}
		})
	}
	got, err := s.Version(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Code != v.Code || got.MD5 != v.MD5 || got.Version != v.Version || got.State != StateQueue {
		t.Fatalf("after updates: %+v", got)
	}
}

func TestSetVersionState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v := save(t, s, "greeter", "", "u1", "1.0.0")

	steps := []struct {
		from, to string
		want     error
	}{
		{StateSaved, StateQueue, nil},
		{StateQueue, StateReview, nil},
		{StateQueue, StatePublished, ErrState}, // a second reviewer, too late
		{StateReview, StatePublished, nil},
	}
	for _, st := range steps {
		if err := s.SetVersionState(ctx, v.ID, st.from, st.to); !errors.Is(err, st.want) || (st.want == nil && err != nil) {
			t.Fatalf("%s -> %s: %v, want %v", st.from, st.to, err, st.want)
		}
	}
	if got, _ := s.Version(ctx, v.ID); got.State != StatePublished {
		t.Fatalf("state %s, want published", got.State)
	}
	if err := s.SetVersionState(ctx, 999, StateSaved, StateQueue); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing version: %v, want ErrNotFound", err)
	}
	if err := s.SetVersionState(ctx, v.ID, StatePublished, "bogus"); err == nil {
		t.Fatal("a state outside the CHECK list was accepted")
	}
}

func TestSaveVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	manifest := json.RawMessage(`{"name":"x"}`)

	tests := []struct {
		name string
		nv   NewVersion
		want error // nil: success; errAny: some error
	}{
		{"new gallery name", NewVersion{Name: "greeter", Owner: "alice", Version: "1.0.0"}, nil},
		{"second version by owner", NewVersion{Name: "greeter", Owner: "alice", Version: "1.1.0"}, nil},
		{"duplicate version", NewVersion{Name: "greeter", Owner: "alice", Version: "1.0.0"}, ErrExists},
		{"another owner", NewVersion{Name: "greeter", Owner: "bob", Version: "2.0.0"}, ErrOwner},
		{"same name, guild upload by another", NewVersion{Name: "greeter", LocalGuild: "g1", Owner: "bob", Version: "1.0.0"}, nil},
		{"guild upload, other owner", NewVersion{Name: "greeter", LocalGuild: "g1", Owner: "carol", Version: "1.0.1"}, ErrOwner},
		{"draft state", NewVersion{Name: "greeter", Owner: "alice", Version: "1.2.0", State: StateDraft}, nil},
		{"bad state", NewVersion{Name: "greeter", Owner: "alice", Version: "1.3.0", State: "live"}, errAny},
		{"bad manifest", NewVersion{Name: "greeter", Owner: "alice", Version: "1.4.0", Manifest: json.RawMessage(`{`)}, errAny},
		{"no owner", NewVersion{Name: "lonely", Version: "1.0.0"}, errAny},
		{"new name, bad state", NewVersion{Name: "fresh", Owner: "alice", Version: "1.0.0", State: "live"}, errAny},
	}
	for _, tt := range tests {
		// Sequential: each case builds on the rows of the previous ones.
		t.Run(tt.name, func(t *testing.T) {
			if tt.nv.Manifest == nil {
				tt.nv.Manifest = manifest
			}
			tt.nv.Code = "code of " + tt.nv.Version
			v, err := s.SaveVersion(ctx, tt.nv)
			switch {
			case tt.want == errAny:
				if err == nil {
					t.Fatal("succeeded, want an error")
				}
				return
			case tt.want != nil:
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			wantState := tt.nv.State
			if wantState == "" {
				wantState = StateSaved
			}
			if v.Name != tt.nv.Name || v.Version != tt.nv.Version || v.State != wantState ||
				v.SubmittedBy != tt.nv.Owner || v.Code != tt.nv.Code || string(v.Manifest) != string(manifest) {
				t.Fatalf("saved %+v", v)
			}
		})
	}

	// Failed saves left nothing behind: 1 gallery + 1 guild extension, 4 versions.
	if n := count(t, s, "SELECT COUNT(*) FROM extensions"); n != 2 {
		t.Errorf("%d extensions, want 2", n)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM versions"); n != 4 {
		t.Errorf("%d versions, want 4", n)
	}
}

// errAny marks a table case that must fail without naming the error.
var errAny = errors.New("any error")

func TestVersionDigestsAndLookups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v, err := s.SaveVersion(ctx, NewVersion{Name: "abc", Owner: "u", Version: "1.0.0",
		Manifest: json.RawMessage(`{}`), Code: "abc", Signature: []byte{7, 7}})
	if err != nil {
		t.Fatal(err)
	}
	if v.MD5 != "900150983cd24fb0d6963f7d28e17f72" ||
		v.SHA256 != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("digests %s %s", v.MD5, v.SHA256)
	}
	if string(v.Signature) != "\x07\x07" {
		t.Fatalf("signature %v", v.Signature)
	}
	v2 := save(t, s, "abc", "", "u", "1.1.0")

	found, err := s.FindVersion(ctx, v.ExtensionID, "1.0.0")
	if err != nil || found.ID != v.ID || found.Code != "abc" {
		t.Fatalf("FindVersion: %+v, %v", found, err)
	}
	if _, err := s.FindVersion(ctx, v.ExtensionID, "3.0.0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("FindVersion missing: %v", err)
	}
	if _, err := s.Version(ctx, 12345); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Version missing: %v", err)
	}
	list, err := s.Versions(ctx, v.ExtensionID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != v2.ID || list[1].ID != v.ID || list[0].Code != "" || list[0].Name != "abc" {
		t.Fatalf("Versions: %+v", list)
	}
	ext, err := s.Extension(ctx, v.ExtensionID)
	if err != nil || ext.Name != "abc" || ext.OwnerID != "u" {
		t.Fatalf("Extension: %+v, %v", ext, err)
	}
}

func TestExtensionByName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	gallery := save(t, s, "greeter", "", "alice", "1.0.0")
	local := save(t, s, "greeter", "g1", "bob", "0.1.0")
	onlyLocal := save(t, s, "secret", "g1", "bob", "0.1.0")

	tests := []struct {
		guild GuildID
		name  string
		want  ExtensionID // 0: ErrNotFound
	}{
		{"g1", "greeter", local.ExtensionID},
		{"g2", "greeter", gallery.ExtensionID},
		{"", "greeter", gallery.ExtensionID},
		{"g1", "secret", onlyLocal.ExtensionID},
		{"g2", "secret", 0},
		{"", "secret", 0},
		{"g1", "nope", 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.guild)+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := s.ExtensionByName(ctx, tt.guild, tt.name)
			if tt.want == 0 {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("got %+v, %v; want ErrNotFound", e, err)
				}
				return
			}
			if err != nil || e.ID != tt.want {
				t.Fatalf("got %+v, %v; want extension %d", e, err, tt.want)
			}
		})
	}
}

// historyOf renders an install's history as "action from>to" lines.
func historyOf(t *testing.T, s *Store, guild GuildID, ext ExtensionID) []string {
	t.Helper()
	hs, err := s.History(context.Background(), guild, ext)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range hs {
		out = append(out, fmt.Sprintf("%s %d>%d %s", h.Action, h.FromVersionID, h.ToVersionID, h.ActorID))
	}
	return out
}

func TestInstallLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := newStore(t, WithClock(clk.Now))
	v1 := save(t, s, "greeter", "", "alice", "1.0.0")
	v2 := save(t, s, "greeter", "", "alice", "1.1.0")
	foreign := save(t, s, "other", "", "alice", "1.0.0")
	ext := v1.ExtensionID

	if err := s.CreateInstall(ctx, Install{GuildID: "g1", ExtensionID: ext, VersionID: v1.ID, Enabled: true,
		GrantedScopes: []string{"messages_write"}, InstalledBy: "admin"}); err != nil {
		t.Fatal(err)
	}
	installedAt := clk.Now()
	if err := s.CreateInstall(ctx, Install{GuildID: "g1", ExtensionID: ext, VersionID: v2.ID, InstalledBy: "admin"}); !errors.Is(err, ErrExists) {
		t.Fatalf("second install: %v, want ErrExists", err)
	}
	clk.Advance(time.Minute)
	if err := s.CreateInstall(ctx, Install{GuildID: "g1", ExtensionID: foreign.ExtensionID, VersionID: foreign.ID, System: true, InstalledBy: "admin"}); err != nil {
		t.Fatal(err)
	}

	in, err := s.Install(ctx, "g1", ext)
	if err != nil {
		t.Fatal(err)
	}
	if in.Name != "greeter" || in.Version != "1.0.0" || !in.Enabled || in.System ||
		fmt.Sprint(in.GrantedScopes) != "[messages_write]" || in.InstalledBy != "admin" ||
		!in.InstalledAt.Equal(installedAt) || !in.UpdatedAt.Equal(installedAt) {
		t.Fatalf("Install: %+v", in)
	}
	if byName, err := s.InstallByName(ctx, "g1", "greeter"); err != nil || byName.ExtensionID != ext {
		t.Fatalf("InstallByName: %+v, %v", byName, err)
	}
	if _, err := s.InstallByName(ctx, "g2", "greeter"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("InstallByName in another guild: %v", err)
	}
	all, err := s.Installs(ctx, "g1")
	if err != nil || len(all) != 2 || all[0].ExtensionID != ext || all[1].ExtensionID != foreign.ExtensionID || !all[1].System {
		t.Fatalf("Installs: %+v, %v", all, err)
	}

	clk.Advance(time.Minute)
	steps := []struct {
		name string
		do   func() error
		want error
	}{
		{"update", func() error {
			return s.SetInstallVersion(ctx, "g1", ext, v2.ID, []string{"messages_write", "storage"}, ActionUpdate, "admin")
		}, nil},
		{"update to another extension's version", func() error {
			return s.SetInstallVersion(ctx, "g1", ext, foreign.ID, nil, ActionUpdate, "admin")
		}, ErrNotFound},
		{"update to a missing version", func() error {
			return s.SetInstallVersion(ctx, "g1", ext, 999, nil, ActionUpdate, "admin")
		}, ErrNotFound},
		{"update not installed", func() error {
			return s.SetInstallVersion(ctx, "g2", ext, v2.ID, nil, ActionUpdate, "admin")
		}, ErrNotFound},
		{"bad action", func() error {
			return s.SetInstallVersion(ctx, "g1", ext, v1.ID, nil, ActionInstall, "admin")
		}, errAny},
		{"disable", func() error { return s.SetInstallEnabled(ctx, "g1", ext, false, "mod") }, nil},
		{"disable again (no row)", func() error { return s.SetInstallEnabled(ctx, "g1", ext, false, "mod") }, nil},
		{"enable", func() error { return s.SetInstallEnabled(ctx, "g1", ext, true, "mod") }, nil},
		{"enable not installed", func() error { return s.SetInstallEnabled(ctx, "g2", ext, true, "mod") }, ErrNotFound},
		{"rollback", func() error {
			return s.SetInstallVersion(ctx, "g1", ext, v1.ID, []string{"messages_write"}, ActionRollback, "admin")
		}, nil},
		{"uninstall", func() error { return s.DeleteInstall(ctx, "g1", ext, "admin", false) }, nil},
		{"uninstall twice", func() error { return s.DeleteInstall(ctx, "g1", ext, "admin", false) }, ErrNotFound},
	}
	for _, st := range steps {
		err := st.do()
		switch {
		case st.want == errAny && err == nil:
			t.Fatalf("%s: succeeded, want an error", st.name)
		case st.want != nil && st.want != errAny && !errors.Is(err, st.want):
			t.Fatalf("%s: %v, want %v", st.name, err, st.want)
		case st.want == nil && err != nil:
			t.Fatalf("%s: %v", st.name, err)
		}
		if st.name == "update" {
			in, err := s.Install(ctx, "g1", ext)
			if err != nil || in.VersionID != v2.ID || in.Version != "1.1.0" || len(in.GrantedScopes) != 2 ||
				!in.UpdatedAt.Equal(clk.Now()) || !in.InstalledAt.Equal(installedAt) {
				t.Fatalf("after update: %+v, %v", in, err)
			}
		}
	}

	want := []string{
		fmt.Sprintf("install 0>%d admin", v1.ID),
		fmt.Sprintf("update %d>%d admin", v1.ID, v2.ID),
		fmt.Sprintf("disable %d>%d mod", v2.ID, v2.ID),
		fmt.Sprintf("enable %d>%d mod", v2.ID, v2.ID),
		fmt.Sprintf("rollback %d>%d admin", v2.ID, v1.ID),
		fmt.Sprintf("uninstall %d>0 admin", v1.ID),
	}
	if got := historyOf(t, s, "g1", ext); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := s.Install(ctx, "g1", ext); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Install after uninstall: %v", err)
	}
	// Reinstalling after an uninstall works and appends to the same history.
	if err := s.CreateInstall(ctx, Install{GuildID: "g1", ExtensionID: ext, VersionID: v2.ID, InstalledBy: "admin"}); err != nil {
		t.Fatal(err)
	}
	if got := historyOf(t, s, "g1", ext); len(got) != len(want)+1 {
		t.Fatalf("history after reinstall: %v", got)
	}
}

func TestDeleteInstallPurge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		purge       bool
		wantEntries int
	}{
		{"purge", true, 0},
		{"keep", false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := newStore(t)
			v := save(t, s, "counter", "", "alice", "1.0.0")
			for _, g := range []GuildID{"g1", "g2"} {
				if err := s.CreateInstall(ctx, Install{GuildID: g, ExtensionID: v.ExtensionID, VersionID: v.ID, InstalledBy: "a"}); err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"a", "b"} {
					if err := s.StorageSet(ctx, g, v.ExtensionID, k, `1`, 0); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := s.DeleteInstall(ctx, "g1", v.ExtensionID, "a", tt.purge); err != nil {
				t.Fatal(err)
			}
			if n, _, err := s.StorageUsage(ctx, "g1", v.ExtensionID); err != nil || n != tt.wantEntries {
				t.Fatalf("g1 entries %d, %v; want %d", n, err, tt.wantEntries)
			}
			if n, _, err := s.StorageUsage(ctx, "g2", v.ExtensionID); err != nil || n != 2 {
				t.Fatalf("g2 entries %d, %v; another guild's storage was touched", n, err)
			}
			if h := historyOf(t, s, "g1", v.ExtensionID); len(h) != 2 || !strings.HasPrefix(h[1], "uninstall") {
				t.Fatalf("history %v", h)
			}
		})
	}
}

// A failed transaction leaves nothing half-written.
func TestFailedTransactionLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v := save(t, s, "greeter", "", "alice", "1.0.0")
	other := save(t, s, "other", "", "alice", "1.0.0")

	tests := []struct {
		name string
		in   Install
	}{
		{"missing version", Install{GuildID: "g1", ExtensionID: v.ExtensionID, VersionID: 999, InstalledBy: "a"}},
		{"version of another extension", Install{GuildID: "g1", ExtensionID: v.ExtensionID, VersionID: other.ID, InstalledBy: "a"}},
		{"missing extension", Install{GuildID: "g1", ExtensionID: 999, VersionID: v.ID, InstalledBy: "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.CreateInstall(ctx, tt.in); !errors.Is(err, ErrNotFound) {
				t.Fatalf("CreateInstall: %v, want ErrNotFound", err)
			}
			if n := count(t, s, "SELECT COUNT(*) FROM installs"); n != 0 {
				t.Fatalf("%d installs rows", n)
			}
			if n := count(t, s, "SELECT COUNT(*) FROM install_history"); n != 0 {
				t.Fatalf("%d history rows", n)
			}
		})
	}

	// The transaction helper itself: a later step fails, the earlier is undone.
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO install_history (guild_id, extension_id, action, actor_id, at)
			VALUES ('g1', ?, 'install', 'a', 0)`, v.ExtensionID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO installs (guild_id, extension_id, version_id, installed_by, installed_at, updated_at)
			VALUES ('g1', ?, 999, 'a', 0, 0)`, v.ExtensionID)
		return err
	})
	if !isForeignKey(err) {
		t.Fatalf("tx: %v, want a foreign key failure", err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM install_history"); n != 0 {
		t.Fatalf("%d history rows after a rolled-back transaction", n)
	}
}

func TestStorageTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := newStore(t, WithClock(clk.Now))
	ext := save(t, s, "timer", "", "alice", "1.0.0").ExtensionID

	if err := s.StorageSet(ctx, "g", ext, "short", `"soon gone"`, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.StorageSet(ctx, "g", ext, "long", `"stays"`, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.StorageSet(ctx, "g", ext, "bad", `1`, -time.Second); err == nil {
		t.Fatal("negative ttl accepted")
	}

	steps := []struct {
		advance   time.Duration
		wantShort bool
		entries   int
	}{
		{0, true, 2},
		{59 * time.Second, true, 2},
		{time.Second, false, 1}, // expires_at == now: expired
		{time.Hour, false, 1},
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		v, ok, err := s.StorageGet(ctx, "g", ext, "short")
		if err != nil || ok != st.wantShort || (ok && v != `"soon gone"`) {
			t.Fatalf("step %d: get short = %q, %v, %v; want ok=%v", i, v, ok, err, st.wantShort)
		}
		if v, ok, err := s.StorageGet(ctx, "g", ext, "long"); err != nil || !ok || v != `"stays"` {
			t.Fatalf("step %d: get long = %q, %v, %v", i, v, ok, err)
		}
		list, err := s.StorageList(ctx, "g", ext, "", 0)
		if err != nil || len(list) != st.entries {
			t.Fatalf("step %d: list %+v, %v; want %d entries", i, list, err, st.entries)
		}
		if n, _, err := s.StorageUsage(ctx, "g", ext); err != nil || n != st.entries {
			t.Fatalf("step %d: usage %d, %v; want %d", i, n, err, st.entries)
		}
	}

	// Invisible but still there until the next write to this install sweeps it.
	if n := count(t, s, "SELECT COUNT(*) FROM ext_storage"); n != 2 {
		t.Fatalf("%d rows before a write, want 2 (lazy deletion)", n)
	}
	if err := s.StorageDelete(ctx, "g", ext, "unrelated"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM ext_storage"); n != 1 {
		t.Fatalf("%d rows after a write, want 1", n)
	}

	// Re-setting a key replaces its expiry; PurgeExpiredStorage sweeps every install.
	if err := s.StorageSet(ctx, "g", ext, "long", `"now expiring"`, time.Second); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.StorageList(ctx, "g", ext, "", 0); len(list) != 1 || !list[0].ExpiresAt.Equal(clk.Now().Add(time.Second)) {
		t.Fatalf("list %+v", list)
	}
	clk.Advance(time.Second)
	if n, err := s.PurgeExpiredStorage(ctx); err != nil || n != 1 {
		t.Fatalf("PurgeExpiredStorage = %d, %v; want 1", n, err)
	}
}

func TestStorageListPrefix(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	ext := save(t, s, "kv", "", "alice", "1.0.0").ExtensionID
	keys := []string{"a", "ab", "abc", "ab\xff", "ab\xff\xff", "ac", "b", "é", "éa", "\xff"}
	for _, k := range keys {
		if err := s.StorageSet(ctx, "g", ext, k, `"`+fmt.Sprint(len(k))+`"`, 0); err != nil {
			t.Fatal(err)
		}
	}
	// Another install's keys never show.
	if err := s.StorageSet(ctx, "g2", ext, "ab", `0`, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prefix string
		limit  int
		want   []string
	}{
		{"", 0, []string{"a", "ab", "abc", "ab\xff", "ab\xff\xff", "ac", "b", "é", "éa", "\xff"}},
		{"", 2, []string{"a", "ab"}},
		{"ab", 0, []string{"ab", "abc", "ab\xff", "ab\xff\xff"}},
		{"ab\xff", 0, []string{"ab\xff", "ab\xff\xff"}},
		{"é", 0, []string{"é", "éa"}},
		{"\xff", 0, []string{"\xff"}},
		{"z", 0, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%d", tt.prefix, tt.limit), func(t *testing.T) {
			t.Parallel()
			list, err := s.StorageList(ctx, "g", ext, tt.prefix, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, kv := range list {
				got = append(got, kv.Key)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Fatalf("keys %q, want %q", got, tt.want)
			}
		})
	}
	if n, b, err := s.StorageUsage(ctx, "g2", ext); err != nil || n != 1 || b != 3 {
		t.Fatalf("usage of g2: %d entries, %d bytes, %v; want 1, 3", n, b, err)
	}
}

func TestApplyStorageAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	set := func(k, v string) StorageOp { return StorageOp{Kind: OpSet, Key: k, Value: v} }
	tests := []struct {
		name  string
		ops   []StorageOp
		quota Quota
		want  error // nil, errAny or a sentinel
		after map[string]string
	}{
		{"all applied in order", []StorageOp{set("a", `1`), set("b", `2`), {Kind: OpDelete, Key: "seed"}, set("a", `3`)},
			Quota{}, nil, map[string]string{"a": `3`, "b": `2`}},
		{"clear then set", []StorageOp{set("a", `1`), {Kind: OpClear}, set("b", `2`)},
			Quota{}, nil, map[string]string{"b": `2`}},
		{"invalid JSON rejects the batch", []StorageOp{set("a", `1`), set("b", `{nope`)},
			Quota{}, errAny, map[string]string{"seed": `"x"`}},
		{"unknown op rejects the batch", []StorageOp{set("a", `1`), {Kind: 0, Key: "b"}},
			Quota{}, errAny, map[string]string{"seed": `"x"`}},
		{"entries over quota", []StorageOp{set("a", `1`), set("b", `2`)},
			Quota{MaxEntries: 2}, ErrQuota, map[string]string{"seed": `"x"`}},
		{"bytes over quota", []StorageOp{set("a", `"0123456789"`)},
			Quota{MaxBytes: 15}, ErrQuota, map[string]string{"seed": `"x"`}},
		{"exactly at quota", []StorageOp{set("a", `"0123456789"`)}, // seed 4+3, a 1+12: 20 bytes
			Quota{MaxEntries: 2, MaxBytes: 20}, nil, map[string]string{"seed": `"x"`, "a": `"0123456789"`}},
		{"delete makes room", []StorageOp{{Kind: OpDelete, Key: "seed"}, set("a", `1`)},
			Quota{MaxEntries: 1}, nil, map[string]string{"a": `1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			ext := save(t, s, "kv", "", "alice", "1.0.0").ExtensionID
			if err := s.StorageSet(ctx, "g", ext, "seed", `"x"`, 0); err != nil {
				t.Fatal(err)
			}
			err := s.ApplyStorage(ctx, "g", ext, tt.ops, tt.quota)
			switch {
			case tt.want == nil && err != nil:
				t.Fatal(err)
			case tt.want == errAny && err == nil:
				t.Fatal("succeeded, want an error")
			case tt.want != nil && tt.want != errAny && !errors.Is(err, tt.want):
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			list, err := s.StorageList(ctx, "g", ext, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, kv := range list {
				got[kv.Key] = kv.Value
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.after) {
				t.Fatalf("storage %v, want %v", got, tt.after)
			}
		})
	}

	s := newStore(t)
	if err := s.StorageSet(ctx, "g", 999, "k", `1`, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("set for a missing extension: %v, want ErrNotFound", err)
	}
}

// Many goroutines write at once: the single writer connection queues them,
// so no SQLITE_BUSY surfaces and every write lands.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	ext := save(t, s, "busy", "", "alice", "1.0.0").ExtensionID
	const workers, each = 16, 25

	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("w%02d-%03d", w, i)
				if err := s.StorageSet(ctx, "g", ext, key, `1`, 0); err != nil {
					errs <- err
				}
				if err := s.AppendLog(ctx, LogEntry{GuildID: "g", ExtensionID: ext, Level: "info", Kind: "run", Message: key}); err != nil {
					errs <- err
				}
				// Reads run alongside on the read pool.
				if _, ok, err := s.StorageGet(ctx, "g", ext, key); err != nil || !ok {
					errs <- fmt.Errorf("read own write %s: ok=%v err=%v", key, ok, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, _, err := s.StorageUsage(ctx, "g", ext); err != nil || n != workers*each {
		t.Fatalf("%d entries, %v; want %d", n, err, workers*each)
	}
	if logs, err := s.Logs(ctx, "g", ext, 0); err != nil || len(logs) != workers*each {
		t.Fatalf("%d log rows, %v; want %d", len(logs), err, workers*each)
	}
}

// Two Stores on one file stand in for two processes: busy_timeout and
// BEGIN IMMEDIATE make the second writer wait instead of failing.
func TestTwoStoresOneFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "skybot.db")
	a := openAt(t, path)
	b := openAt(t, path)
	ext := save(t, a, "shared", "", "alice", "1.0.0").ExtensionID
	const each = 40

	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for i, s := range []*Store{a, b} {
		wg.Go(func() {
			for j := range each {
				ops := []StorageOp{{Kind: OpSet, Key: fmt.Sprintf("s%d-%d", i, j), Value: `true`}}
				if err := s.ApplyStorage(ctx, "g", ext, ops, Quota{}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, s := range []*Store{a, b} {
		if n, _, err := s.StorageUsage(ctx, "g", ext); err != nil || n != 2*each {
			t.Fatalf("%d entries, %v; want %d", n, err, 2*each)
		}
	}
}

// A write is visible to the read pool as soon as the writing call returns,
// whichever reader connection serves the read.
func TestReadPoolSeesCommittedWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, WithReaders(4))
	ext := save(t, s, "rw", "", "alice", "1.0.0").ExtensionID

	// Keep every reader connection warm (and its old snapshot closed) first.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { _, _, _ = s.StorageGet(ctx, "g", ext, "warm") })
	}
	wg.Wait()

	for i := range 50 {
		want := fmt.Sprint(i)
		if err := s.StorageSet(ctx, "g", ext, "counter", want, 0); err != nil {
			t.Fatal(err)
		}
		for range 4 {
			if v, ok, err := s.StorageGet(ctx, "g", ext, "counter"); err != nil || !ok || v != want {
				t.Fatalf("round %d: read %q, %v, %v; want %q", i, v, ok, err, want)
			}
		}
		if err := s.AppendAudit(ctx, AuditEntry{GuildID: "g", Actor: "u", Action: "set", Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Audit(ctx, "g", 0); err != nil || len(got) != i+1 {
			t.Fatalf("round %d: %d audit rows, %v", i, len(got), err)
		}
	}
}

func TestLogsAndAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := newStore(t, WithClock(clk.Now))
	v := save(t, s, "chatty", "", "alice", "1.0.0")

	for i := range 5 {
		clk.Advance(time.Second)
		e := LogEntry{GuildID: "g", ExtensionID: v.ExtensionID, Level: "info", Kind: "console", Message: fmt.Sprint(i)}
		if i%2 == 0 {
			e.VersionID, e.Detail = v.ID, "stack"
		}
		if err := s.AppendLog(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendLog(ctx, LogEntry{GuildID: "other", ExtensionID: v.ExtensionID, Level: "info", Kind: "run", Message: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendLog(ctx, LogEntry{GuildID: "g", ExtensionID: v.ExtensionID, Level: "loud", Kind: "run", Message: "x"}); err == nil {
		t.Fatal("a level outside the CHECK list was accepted")
	}
	logs, err := s.Logs(ctx, "g", v.ExtensionID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 3 || logs[0].Message != "4" || logs[2].Message != "2" || logs[0].VersionID != v.ID ||
		logs[1].VersionID != 0 || !logs[0].At.Equal(clk.Now()) || logs[0].Detail != "stack" {
		t.Fatalf("Logs: %+v", logs)
	}

	at := time.UnixMilli(42).UTC()
	entries := []AuditEntry{
		{GuildID: "g", Actor: "u1", Action: "install", Target: "chatty", Outcome: "ok", ExtensionID: v.ExtensionID, VersionID: v.ID},
		{GuildID: "g", Actor: "ext:chatty", Action: "message.send", Outcome: "denied", ExtensionID: v.ExtensionID, At: at},
		{GuildID: "g", Actor: "u2", Action: "prefix", Outcome: "ok"},
	}
	for _, e := range entries {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Audit(ctx, "g", 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("Audit: %+v, %v", got, err)
	}
	if got[0].Actor != "u2" || got[0].ExtensionID != 0 || got[1].VersionID != 0 || !got[1].At.Equal(at) ||
		got[2].VersionID != v.ID || got[2].Target != "chatty" || !got[2].At.Equal(clk.Now()) {
		t.Fatalf("Audit: %+v", got)
	}
}

func TestGuilds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := newStore(t, WithClock(clk.Now))

	if _, err := s.Guild(ctx, "g"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Guild before EnsureGuild: %v", err)
	}
	g, err := s.EnsureGuild(ctx, "g", "")
	if err != nil {
		t.Fatal(err)
	}
	if g.ID != "g" || g.Prefix != "!" || g.Tier != "free" || g.LogChannelID != "" || string(g.Policy) != "{}" || !g.JoinedAt.Equal(clk.Now()) {
		t.Fatalf("defaults: %+v", g)
	}
	joined := clk.Now()
	clk.Advance(time.Hour)

	steps := []struct {
		name string
		do   func() error
		want error
	}{
		{"prefix", func() error { return s.SetGuildPrefix(ctx, "g", "?") }, nil},
		{"log channel", func() error { return s.SetGuildLogChannel(ctx, "g", "123") }, nil},
		{"tier", func() error { return s.SetGuildTier(ctx, "g", "pro") }, nil},
		{"policy", func() error { return s.SetGuildPolicy(ctx, "g", json.RawMessage(`{"require_perms":false}`)) }, nil},
		{"bad policy", func() error { return s.SetGuildPolicy(ctx, "g", json.RawMessage(`{`)) }, errAny},
		{"missing guild", func() error { return s.SetGuildPrefix(ctx, "nope", "?") }, ErrNotFound},
	}
	for _, st := range steps {
		err := st.do()
		if (st.want == nil && err != nil) || (st.want == errAny && err == nil) ||
			(st.want != nil && st.want != errAny && !errors.Is(err, st.want)) {
			t.Fatalf("%s: %v, want %v", st.name, err, st.want)
		}
	}
	again, err := s.EnsureGuild(ctx, "g", "")
	if err != nil {
		t.Fatal(err)
	}
	if again.Prefix != "?" || again.LogChannelID != "123" || again.Tier != "pro" ||
		string(again.Policy) != `{"require_perms":false}` || !again.JoinedAt.Equal(joined) {
		t.Fatalf("after EnsureGuild again: %+v", again)
	}
}

func TestPrefixEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", false},
		{"a", "b", true},
		{"ab", "ac", true},
		{"a\xff", "b", true},
		{"\xff\xff", "", false},
	}
	for _, tt := range tests {
		if got, ok := prefixEnd(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("prefixEnd(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDSN(t *testing.T) {
	t.Parallel()
	if got, want := writerDSN("/d/a?b#c%d.db"),
		"file:/d/a%3fb%23c%25d.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"; got != want {
		t.Errorf("writerDSN = %s\nwant        %s", got, want)
	}
	if got, want := readerDSN("x.db"),
		"file:x.db?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&mode=ro"; got != want {
		t.Errorf("readerDSN = %s\nwant        %s", got, want)
	}
	// A path that needs escaping still opens the file it names.
	dir := t.TempDir()
	s := openAt(t, filepath.Join(dir, "odd?name#1%.db"))
	if _, err := s.EnsureGuild(context.Background(), "g", ""); err != nil {
		t.Fatal(err)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "odd?name#1%.db")); len(matches) != 1 {
		t.Fatalf("database file not where asked: %v", matches)
	}
}

func BenchmarkStorageGet(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	ext := save(b, s, "bench", "", "alice", "1.0.0").ExtensionID
	for i := range 1000 {
		if err := s.StorageSet(ctx, "g", ext, fmt.Sprintf("k%04d", i), `{"n":1}`, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok, err := s.StorageGet(ctx, "g", ext, fmt.Sprintf("k%04d", i%1000)); err != nil || !ok {
				b.Fatal(ok, err)
			}
			i++
		}
	})
}

func BenchmarkStorageSet(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	ext := save(b, s, "bench", "", "alice", "1.0.0").ExtensionID
	for i := 0; b.Loop(); i++ {
		if err := s.StorageSet(ctx, "g", ext, fmt.Sprintf("k%04d", i%1000), `{"n":1}`, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyStorage10(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	ext := save(b, s, "bench", "", "alice", "1.0.0").ExtensionID
	ops := make([]StorageOp, 10)
	for i := range ops {
		ops[i] = StorageOp{Kind: OpSet, Key: fmt.Sprintf("k%d", i), Value: `{"n":1}`}
	}
	quota := Quota{MaxEntries: 100, MaxBytes: 25000}
	for b.Loop() {
		if err := s.ApplyStorage(ctx, "g", ext, ops, quota); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSaveAndInstall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	nv := NewVersion{Name: "hello", LocalGuild: "g1", Owner: "u1", Version: "1.0.0",
		Manifest: json.RawMessage(`{"name":"hello"}`), Code: "return 1;"}
	in := Install{GuildID: "g1", Enabled: true, GrantedScopes: []string{"messages_write"}, InstalledBy: "u1"}

	v, err := s.SaveAndInstall(ctx, nv, in)
	if err != nil {
		t.Fatalf("SaveAndInstall: %v", err)
	}
	got, err := s.InstallByName(ctx, "g1", "hello")
	if err != nil || got.VersionID != v.ID || got.Version != "1.0.0" {
		t.Fatalf("install = %+v, %v", got, err)
	}

	// A second install of the same name in the same guild writes nothing,
	// not even a new version row.
	nv2 := nv
	nv2.Version, nv2.Code = "1.0.1", "return 2;"
	if _, err := s.SaveAndInstall(ctx, nv2, in); !errors.Is(err, ErrExists) {
		t.Fatalf("second install: err = %v, want ErrExists", err)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM versions`); n != 1 {
		t.Fatalf("versions = %d after a refused install, want 1", n)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM install_history`); n != 1 {
		t.Fatalf("history rows = %d, want 1", n)
	}

	// After uninstall, the byte-identical version is reused; other code
	// under the same version string is refused.
	if err := s.DeleteInstall(ctx, "g1", v.ExtensionID, "u1", false); err != nil {
		t.Fatal(err)
	}
	again, err := s.SaveAndInstall(ctx, nv, in)
	if err != nil || again.ID != v.ID {
		t.Fatalf("reinstall identical: %+v, %v (want version %d reused)", again, err, v.ID)
	}
	if err := s.DeleteInstall(ctx, "g1", v.ExtensionID, "u1", false); err != nil {
		t.Fatal(err)
	}
	changed := nv
	changed.Code = "return 'changed';"
	if _, err := s.SaveAndInstall(ctx, changed, in); !errors.Is(err, ErrExists) {
		t.Fatalf("same version, other code: err = %v, want ErrExists", err)
	}
	if _, err := s.InstallByName(ctx, "g1", "hello"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused reinstall left an install: %v", err)
	}
}

// An install and the extensions it requires are written together or not
// at all.
func TestInstallsWithRequirementsAreAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	lib := save(t, s, "lib", "", admin, "1.0.0")
	app := save(t, s, "app", "", admin, "1.0.0")
	in := func(v Version) Install {
		return Install{GuildID: g1, ExtensionID: v.ExtensionID, VersionID: v.ID, Enabled: true, InstalledBy: admin}
	}
	if err := s.CreateInstall(ctx, in(app)); err != nil {
		t.Fatal(err)
	}
	// app is already there: lib, first in the same transaction, is not kept.
	if err := s.CreateInstalls(ctx, in(lib), in(app)); !errors.Is(err, ErrExists) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	if _, err := s.InstallByName(ctx, g1, "lib"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lib after the refused set: %v", err)
	}
	nv := NewVersion{Name: "local", LocalGuild: string(g1), Owner: "guild:g1", Version: "1.0.0", Manifest: json.RawMessage(`{}`), Code: "1"}
	if _, err := s.SaveAndInstall(ctx, nv, Install{GuildID: g1, Enabled: true, InstalledBy: admin}, in(lib), in(app)); !errors.Is(err, ErrExists) {
		t.Fatalf("SaveAndInstall after an existing requirement: %v", err)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM installs`); n != 1 {
		t.Fatalf("installs = %d, want only app's", n)
	}
	if _, err := s.SaveAndInstall(ctx, nv, Install{GuildID: g1, Enabled: true, InstalledBy: admin}, in(lib)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lib", "local"} {
		if _, err := s.InstallByName(ctx, g1, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSaveAndSwap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	nv := NewVersion{Name: "hello", LocalGuild: "g1", Owner: "guild:g1", SubmittedBy: "u1", Version: "1.0.0",
		Manifest: json.RawMessage(`{}`), Code: "return 1;"}
	v1, err := s.SaveAndInstall(ctx, nv, Install{GuildID: "g1", Enabled: true, InstalledBy: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if v1.SubmittedBy != "u1" {
		t.Fatalf("submitted_by = %q, want the uploader", v1.SubmittedBy)
	}
	nv.Version, nv.Code, nv.SubmittedBy = "1.1.0", "return 2;", "u2"
	v2, err := s.SaveAndSwap(ctx, nv, "g1", []string{"storage"}, "u2")
	if err != nil {
		t.Fatalf("SaveAndSwap: %v", err)
	}
	in, err := s.Install(ctx, "g1", v1.ExtensionID)
	if err != nil || in.VersionID != v2.ID || strings.Join(in.GrantedScopes, ",") != "storage" {
		t.Fatalf("install after swap = %+v, %v", in, err)
	}
	hist, _ := s.History(ctx, "g1", v1.ExtensionID)
	if len(hist) != 2 || hist[1].Action != ActionUpdate || hist[1].FromVersionID != v1.ID || hist[1].ToVersionID != v2.ID {
		t.Fatalf("history = %+v", hist)
	}
	// Swapping a guild that does not have the extension writes nothing.
	nv.Version, nv.Code = "1.2.0", "return 3;"
	if _, err := s.SaveAndSwap(ctx, nv, "g2", nil, "u2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("swap in a guild without the install: %v, want ErrNotFound", err)
	}
	if _, err := s.FindVersion(ctx, v1.ExtensionID, "1.2.0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused swap left version 1.2.0 behind: %v", err)
	}
}
