package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/skyext/skybot/extensions"
)

// tscSample is a handler-style extension written against the declarations;
// it must type-check in strict mode.
const tscSample = `/// <reference path="skybot.d.ts" />
import * as sky from 'sky';
import * as storage from 'storage';
import * as roles from 'roles';
import * as moderation from 'moderation';

sky.on('guildMemberAdd', async (ctx) => {
  await storage.increment('joined');
  if (ctx.member) await roles.add(ctx.member.id, '123', { reason: 'starter' });
});
sky.command({
  name: 'welcome', description: 'About new members',
  options: [{ type: 'subcommand', name: 'stats', description: 'How many joined' }],
}, async (ctx) => {
  const joined = (await storage.get('joined')) || 0;
  await ctx.reply({ content: joined + ' joined', ephemeral: true });
});
sky.prefix('kick', async (ctx) => {
  try {
    await moderation.kick(ctx.args[0], { reason: 'asked' });
  } catch (e) {
    await ctx.reply('No: ' + (e as SkyError).code);
  }
});
sky.cron('0 9 * * 1', async (ctx) => { await storage.set('last', ctx.scheduledAt, { ttlMs: 86400000 }); });
`

// TestTypeScriptDeclarationsCompile type-checks the generated declarations
// and a sample extension with TypeScript's compiler, when one is
// available: $SKYBOT_TSC, or tsc on the PATH (npm install -g typescript).
func TestTypeScriptDeclarationsCompile(t *testing.T) {
	tsc := os.Getenv("SKYBOT_TSC")
	if tsc == "" {
		var err error
		if tsc, err = exec.LookPath("tsc"); err != nil {
			t.Skip("no TypeScript compiler: set SKYBOT_TSC or put tsc on the PATH to run this check")
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "skybot.d.ts"), []byte(extensions.TypeScript()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sample.ts"), []byte(tscSample), 0o644); err != nil {
		t.Fatal(err)
	}
	// The tutorial's extension is plain JavaScript: checked as such.
	tutorial, err := os.ReadFile("../../docs/tutorial/welcomer.skyext")
	if err != nil {
		t.Fatal(err)
	}
	tutorial = bytes.Replace(tutorial, []byte(`path="../skybot.d.ts"`), []byte(`path="skybot.d.ts"`), 1)
	if err := os.WriteFile(filepath.Join(dir, "welcomer.js"), tutorial, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, files := range [][]string{{"sample.ts"}, {"--allowJs", "--checkJs", "welcomer.js"}} {
		args := append([]string{"--noEmit", "--strict", "--target", "es2020", "--module", "commonjs", "--lib", "es2020"}, files...)
		cmd := exec.Command(tsc, append(args, "skybot.d.ts")...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tsc %s: %v\n%s", files[len(files)-1], err, out)
		}
	}
}
