package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTierCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	cfg := "[store]\npath = \"" + filepath.Join(dir, "skybot.db") + "\"\n[tiers.free]\nmax_installs = 5\n[tiers.premium]\ntimeout = \"10s\"\nmax_installs = 50\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out, errs bytes.Buffer
		err := tierCmd(context.Background(), append([]string{"--config", cfgPath}, args...), &out, &errs)
		return out.String(), err
	}
	if out, err := run("123"); err != nil || !strings.Contains(out, "guild 123: tier free — runs of 5s, 50 host calls, 128 MiB each; up to 5 installs") {
		t.Fatalf("show: %q, %v", out, err)
	}
	if out, err := run("123", "premium"); err != nil || !strings.Contains(out, "tier premium — runs of 10s") || !strings.Contains(out, "up to 50 installs") {
		t.Fatalf("set: %q, %v", out, err)
	}
	if out, err := run("123"); err != nil || !strings.Contains(out, "tier premium") {
		t.Fatalf("the tier did not persist: %q, %v", out, err)
	}
	if _, err := run("123", "gold"); err == nil || !strings.Contains(err.Error(), `Tier "gold" is not defined`) || !strings.Contains(err.Error(), "free, premium") {
		t.Fatalf("unknown tier: %v", err)
	}
	if _, err := run("not-a-guild"); err == nil || !strings.Contains(err.Error(), "E_INVALID_ID") {
		t.Fatalf("bad guild id: %v", err)
	}
}
