package main

// Tests of the operator's tools: skybot repair, and the ops endpoint
// (startOps) that serves /metrics and /healthz.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skyext/skybot/bot/config"
	"github.com/skyext/skybot/bot/ops"
	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/examples"
	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// writeRepairConfig writes a config whose store.path is dbPath.
func writeRepairConfig(t *testing.T, dbPath string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("[store]\npath = %q\n", dbPath)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// repairRow returns the numbers of the check's line in the report table:
// initial, removed, disabled, final.
func repairRow(t *testing.T, out, check string) [4]int {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != check {
			continue
		}
		var row [4]int
		for i := range row {
			n, err := strconv.Atoi(f[i+1])
			if err != nil {
				t.Fatalf("bad row %q", line)
			}
			row[i] = n
		}
		return row
	}
	t.Fatalf("the report has no %s row:\n%s", check, out)
	return [4]int{}
}

// TestRepairCommand damages a database that skybot itself wrote while an
// admin installed and used an extension, then repairs it with skybot still
// running on it.
func TestRepairCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "skybot.db")
	e := newGuild(t, func(c *config.Config) { c.Store.Path = dbPath })
	if answer := e.install(examples.Read("hello.skyext")); !strings.Contains(answer, "Installed **hello** 1.0.0") {
		t.Fatalf("install answer = %q", answer)
	}
	if replies := e.say(e.member, "!hello"); len(replies) != 1 {
		t.Fatalf("replies to !hello: %d", len(replies))
	}
	guild := store.GuildID(e.g.ID)
	in, err := e.app.store.InstallByName(ctx, guild, "hello")
	if err != nil {
		t.Fatal(err)
	}

	// By hand, with the foreign keys off: an install of a version that does
	// not exist, storage of an extension that does not exist, and hello's
	// code changed behind its digests.
	raw, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	const otherGuild = "844444444444444444"
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO installs (guild_id, extension_id, version_id, installed_by, installed_at, updated_at) VALUES (?, ?, 9999, 'someone', 1, 1)`,
			[]any{otherGuild, in.ExtensionID}},
		{`INSERT INTO ext_storage (guild_id, extension_id, key, value) VALUES (?, 7777, 'left', '1')`, []any{e.g.ID}},
		{`DROP TRIGGER versions_immutable`, nil},
		{`UPDATE versions SET code = code || ' // and a little extra' WHERE id = ?`, []any{in.VersionID}},
	} {
		if _, err := raw.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	cfgPath := writeRepairConfig(t, dbPath)
	installsIn := func(g string) int {
		var n int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM installs WHERE guild_id = ?`, g).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// The dry run tells and touches nothing.
	var out, errs bytes.Buffer
	if err := repairCmd(ctx, []string{"--config", cfgPath, "--dry-run"}, &out, &errs); err != nil {
		t.Fatalf("repair --dry-run: %v\n%s", err, errs.String())
	}
	report := out.String()
	t.Logf("dry run:\n%s", report)
	if !strings.Contains(report, "Dry run: nothing was changed") || !strings.Contains(report, "Run again without --dry-run") {
		t.Errorf("the dry run's report does not say it is one:\n%s", report)
	}
	if got := repairRow(t, report, store.CheckDanglingInstalls); got != [4]int{1, 1, 0, 0} {
		t.Errorf("dry run, dangling installs: %v", got)
	}
	if got := repairRow(t, report, store.CheckTamperedVersions); got != [4]int{1, 0, 1, 1} {
		t.Errorf("dry run, tampered versions: %v", got)
	}
	if installsIn(otherGuild) != 1 {
		t.Error("the dry run deleted the dangling install")
	}
	if in, err := e.app.store.Install(ctx, guild, in.ExtensionID); err != nil || !in.Enabled {
		t.Errorf("the dry run disabled hello: %+v, %v", in, err)
	}

	// The repair.
	out.Reset()
	if err := repairCmd(ctx, []string{"--config", cfgPath}, &out, &errs); err != nil {
		t.Fatalf("repair: %v\n%s", err, errs.String())
	}
	report = out.String()
	t.Logf("repair:\n%s", report)
	for check, want := range map[string][4]int{
		store.CheckSchema:           {1, 0, 0, 0},
		store.CheckDanglingInstalls: {1, 1, 0, 0},
		store.CheckTamperedVersions: {1, 0, 1, 1},
		store.CheckOrphanStorage:    {1, 1, 0, 0},
		store.CheckOrphanLogs:       {0, 0, 0, 0},
		store.CheckExpiredStorage:   {0, 0, 0, 0},
		store.CheckEmptyExtensions:  {0, 0, 0, 0},
	} {
		if got := repairRow(t, report, check); got != want {
			t.Errorf("%s: initial/removed/disabled/final = %v, want %v", check, got, want)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("guild %s, extension %d (hello), version 9999: the install points at nothing it can run: version 9999 does not exist", otherGuild, in.ExtensionID),
		fmt.Sprintf("extension %d (hello), version %d (1.0.0): the code does not match its stored sha256 and md5", in.ExtensionID, in.VersionID),
		"disabled in guild(s) " + e.g.ID,
		"schema: trigger versions_immutable is missing",
		"1 storage entries of extension 7777, which does not exist",
		"installs 2 → 1 (enabled 2 → 0)",
		"1 problem(s) are left that repair cannot fix",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if installsIn(otherGuild) != 0 {
		t.Error("the dangling install is still there")
	}
	hs, err := e.app.store.History(ctx, guild, in.ExtensionID)
	if err != nil || len(hs) == 0 || hs[len(hs)-1].Action != store.ActionDisable || hs[len(hs)-1].ActorID != store.RepairActor {
		t.Errorf("hello's history does not end with repair's disable: %+v, %v", hs, err)
	}
	// The admin sees it.
	if answer, _ := e.ext(e.admin, "list", nil); !strings.Contains(answer, "**hello** 1.0.0 — disabled") {
		t.Errorf("/ext list after the repair: %q", answer)
	}
}

func TestRepairCommandRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "data", "skybot.db")
	cases := []struct {
		name string
		args []string
		code skyerr.Code
		want string
	}{
		{"no database", []string{"--config", writeRepairConfig(t, missing)}, skyerr.InvalidPath,
			"is not an existing skybot database; repair never creates one"},
		{"a directory for a database", []string{"--config", writeRepairConfig(t, dir)}, skyerr.InvalidPath, "not an existing skybot database"},
		{"no config", []string{"--config", filepath.Join(dir, "nope.toml")}, skyerr.InvalidConfig, "the file does not exist"},
		{"an argument", []string{"--config", writeRepairConfig(t, missing), "now"}, skyerr.InvalidConfig, `"now" is not one`},
	}
	// An older build's database: a dry run must not migrate it.
	older := filepath.Join(dir, "older.db")
	db, err := sql.Open("sqlite", "file:"+older)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	olderBytes, err := os.ReadFile(older)
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct {
		name string
		args []string
		code skyerr.Code
		want string
	}{"dry run of an unmigrated database", []string{"--config", writeRepairConfig(t, older), "--dry-run"}, skyerr.InvalidState,
		"has schema version 0; this skybot would first migrate it"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			err := repairCmd(ctx, tc.args, &out, &errs)
			if !skyerr.Is(err, tc.code) || !strings.Contains(skyerr.UserText(err), tc.want) {
				t.Fatalf("err = %v; want %s mentioning %q", err, tc.code, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("repair created the data directory (%v)", err)
	}
	if after, err := os.ReadFile(older); err != nil || !bytes.Equal(after, olderBytes) {
		t.Errorf("the dry run changed the unmigrated database (%v)", err)
	}
	// A real repair migrates it first, and says so.
	var out bytes.Buffer
	if err := repairCmd(ctx, []string{"--config", writeRepairConfig(t, older)}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "The schema was migrated from version 0 to") {
		t.Errorf("repair of an unmigrated database: %v\n%s", err, out.String())
	}
	var errs bytes.Buffer
	if err := repairCmd(ctx, []string{"-h"}, io.Discard, &errs); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errs.String(), "--dry-run") {
		t.Errorf("repair -h: %v\n%s", err, errs.String())
	}
}

func TestRepairCommandHealthyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "skybot.db")
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := repairCmd(ctx, []string{"--config", writeRepairConfig(t, dbPath)}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "The database is consistent; nothing to repair.") {
		t.Errorf("report of a healthy database:\n%s", out.String())
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestStartOps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "skybot.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.SaveAndInstall(ctx, store.NewVersion{Name: "hello", Owner: "900000000000000001", Version: "1.0.0",
		Manifest: []byte(`{}`), Code: "await message.reply('hi')"},
		store.Install{GuildID: "811111111111111111", Enabled: true, InstalledBy: "900000000000000001"})
	if err != nil {
		t.Fatal(err)
	}
	var gatewayDown atomic.Bool
	gatewayDown.Store(true)
	gateway := func() error {
		if gatewayDown.Load() {
			return errors.New("the session is not connected")
		}
		return nil
	}

	// Off: nothing listens.
	cfg := config.Default()
	cfg.Ops.Listen = ""
	addr, stop, err := startOps(ctx, cfg, ops.NewMetrics(nil), st, gateway, nil)
	if err != nil || addr != "" {
		t.Fatalf("startOps with the endpoint off = %q, %v", addr, err)
	}
	stop()

	m := ops.NewMetrics(nil)
	m.ObserveRun(extensions.Run{GuildID: "811111111111111111", Extension: "hello", Version: "1.0.0", Trigger: "command",
		Result: sandbox.Result{
			Calls:    []sandbox.CallRecord{{API: "message.reply", Scope: "messages_write", Outcome: "ok"}},
			Duration: 4 * time.Millisecond,
		}})
	cfg.Ops.Listen = "127.0.0.1:0"
	var logs bytes.Buffer
	addr, stop, err = startOps(ctx, cfg, m, st, gateway, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	base := "http://" + addr
	if !strings.Contains(logs.String(), "ops endpoint listening") || !strings.Contains(logs.String(), base+"/metrics") {
		t.Errorf("the log does not say where the endpoint is:\n%s", logs.String())
	}

	if code, body := httpGet(t, base+"/healthz"); code != http.StatusServiceUnavailable || body != "discord gateway: the session is not connected\n" {
		t.Errorf("gateway down: /healthz = %d %q", code, body)
	}
	gatewayDown.Store(false)
	if code, body := httpGet(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("all up: /healthz = %d %q", code, body)
	}
	code, body := httpGet(t, base+"/metrics")
	for _, want := range []string{
		`skybot_extension_runs_total{extension="hello",outcome="ok"} 1`,
		`skybot_extension_host_calls_total{api="message.reply",extension="hello",outcome="ok"} 1`,
		`skybot_installs{state="enabled"} 1`,
		`skybot_installs{state="disabled"} 0`,
	} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %s", code, want)
		}
	}

	// A second endpoint on the same address is refused at once.
	cfg2 := cfg
	cfg2.Ops.Listen = addr
	if _, _, err := startOps(ctx, cfg2, ops.NewMetrics(nil), st, gateway, nil); !skyerr.Is(err, skyerr.InvalidConfig) {
		t.Errorf("a busy address: %v, want E_INVALID_CONFIG", err)
	}

	// The store going away shows.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if code, body := httpGet(t, base+"/healthz"); code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "store: ") {
		t.Errorf("store closed: /healthz = %d %q", code, body)
	}

	stop()
	stop() // twice is fine
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the endpoint still answers after stop")
	}
}

// TestMetricsThroughTheBot wires the metrics the way run does and counts
// what the real discordgo client makes skybot do in an emulated guild.
func TestMetricsThroughTheBot(t *testing.T) {
	t.Parallel()
	m := ops.NewMetrics(nil)
	e := assembleGuild(t, func(c *config.Config) { c.Ops.Listen = "127.0.0.1:0" }, hooks{onRun: m.ObserveRun})
	cfg, session := e.cfg, e.session
	addr, stopOps, err := startOps(context.Background(), cfg, m, e.app.store, gatewayUp(session), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopOps)
	base := "http://" + addr
	if code, body := httpGet(t, base+"/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "discord gateway") {
		t.Errorf("before the gateway connects: /healthz = %d %q", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.app.bot.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	if code, body := httpGet(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("connected: /healthz = %d %q", code, body)
	}

	if answer := e.install(examples.Read("hello.skyext")); !strings.Contains(answer, "Installed **hello** 1.0.0") {
		t.Fatalf("install answer = %q", answer)
	}
	for _, say := range []string{"!hello", "!hello world"} {
		if replies := e.say(e.member, say); len(replies) != 1 {
			t.Fatalf("replies to %s: %d", say, len(replies))
		}
	}
	_, body := httpGet(t, base+"/metrics")
	for _, want := range []string{
		`skybot_extension_runs_total{extension="hello",outcome="ok"} 2`,
		`skybot_extension_run_seconds_count{extension="hello"} 2`,
		`skybot_extension_host_calls_total{api="message.reply",extension="hello",outcome="ok"} 2`,
		`skybot_installs{state="enabled"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	lines := slices.DeleteFunc(strings.Split(body, "\n"), func(l string) bool { return !strings.Contains(l, e.g.ID) })
	if len(lines) > 0 {
		t.Errorf("a guild id is a label: %q", lines)
	}
}
