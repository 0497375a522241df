package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skyext/skybot/store"
)

func TestQuarantineCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	dbPath := filepath.Join(dir, "skybot.db")
	if err := os.WriteFile(cfgPath, []byte("[store]\npath = \""+dbPath+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if err := quarantineCmd(ctx, []string{"--config", cfgPath}, &out, &errs); err == nil || !strings.Contains(err.Error(), "E_INVALID_PATH") || !strings.Contains(err.Error(), "is not an existing skybot database") {
		t.Fatalf("without a database: %v", err)
	}
	if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the command created %s: %v", dbPath, err)
	}
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := st.SaveVersion(ctx, store.NewVersion{Name: "crasher", Owner: "alice", Version: "1.0.0", Manifest: json.RawMessage(`{}`), Code: "x"})
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out, errs bytes.Buffer
		err := quarantineCmd(ctx, append([]string{"--config", cfgPath}, args...), &out, &errs)
		return out.String(), err
	}
	if out, err := run(); err != nil || out != "No version is quarantined.\n" {
		t.Fatalf("empty list: %q, %v", out, err)
	}
	if err := st.QuarantineVersion(ctx, v.ID, "its runs ended sandbox workers 3 times within 10m0s"); err != nil {
		t.Fatal(err)
	}
	if out, err := run(); err != nil || !strings.HasPrefix(out, "crasher 1.0.0, quarantined ") || !strings.Contains(out, "ended sandbox workers 3 times") {
		t.Fatalf("list: %q, %v", out, err)
	}
	if _, err := run("lift", "crasher", "2.0.0"); err == nil || !strings.Contains(err.Error(), "E_NOT_FOUND: crasher 2.0.0 is not quarantined") {
		t.Fatalf("lifting another version: %v", err)
	}
	if out, err := run("lift", "crasher", "1.0.0"); err != nil || !strings.Contains(out, "Lifted the quarantine of crasher 1.0.0") {
		t.Fatalf("lift: %q, %v", out, err)
	}
	if _, err := st.QuarantineOf(ctx, v.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("still quarantined after the lift: %v", err)
	}
	if _, err := run("lift", "crasher"); err == nil || !strings.Contains(err.Error(), "Usage: skybot quarantine") {
		t.Errorf("bad arguments: %v", err)
	}
}
