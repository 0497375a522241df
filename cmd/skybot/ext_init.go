package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/skyext/skybot/extensions"
	"github.com/skyext/skybot/extensions/skyerr"
)

const extInitUsage = `Usage: skybot ext init <name> [--dir DIR]

Creates DIR/<name>/ holding a handler-style extension that validates and
passes its tests as created:
  <name>.skyext   the code, with its metadata header: a prefix command !<name>
                  that replies and counts its uses in storage, and a slash
                  command /<name> stats that tells the count
  tests.txt       test cases for skybot ext test
  skybot.d.ts     TypeScript declarations of every module, for your editor
  README.md       how to validate, test and pack it

<name> is the extension's @name: 2 to 60 of a-z, 0-9, - and _, starting with
a letter or digit. An existing DIR/<name> is never touched.
`

func extInitCmd(args []string, stdout, stderr io.Writer) int {
	fs := newExtFlags("init", extInitUsage)
	dir := fs.String("dir", ".", "the directory to create the extension's directory in")
	pos, code, stop := fs.parse(args, stdout, stderr)
	if stop {
		return code
	}
	if len(pos) != 1 {
		return usageError(stderr, "init", extInitUsage, "give one extension name, e.g. skybot ext init welcome-kit")
	}
	name := pos[0]
	if err := (extensions.Manifest{Name: name, Version: "0.1.0", Scopes: []string{}}).Validate(); err != nil {
		fmt.Fprintf(stderr, "skybot ext init: %q cannot be an extension name: %s\n", name, skyerr.From(err).Message)
		return exitUsage
	}
	cmdName := truncate(name, 32)
	if slices.Contains(extensions.ReservedCommands, cmdName) {
		fmt.Fprintf(stderr, "skybot ext init: %q is the name of one of skybot's own slash commands (%s), so the scaffold's /%s would never be registered; choose another name.\n",
			name, strings.Join(extensions.ReservedCommands, ", "), cmdName)
		return exitUsage
	}
	target := filepath.Join(*dir, name)
	if _, err := os.Lstat(target); err == nil {
		fmt.Fprintf(stderr, "skybot ext init: %s already exists; nothing was changed. Choose another name or --dir.\n", target)
		return exitUsage
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "skybot ext init: cannot create %s: %v\n", *dir, err)
		return exitUsage
	}
	if err := os.Mkdir(target, 0o755); err != nil { // fails if it appeared meanwhile
		fmt.Fprintf(stderr, "skybot ext init: cannot create %s: %v\n", target, err)
		return exitUsage
	}
	files := scaffold(name)
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(target, f.name), []byte(f.content), 0o644); err != nil {
			fmt.Fprintf(stderr, "skybot ext init: write %s: %v\n", filepath.Join(target, f.name), err)
			return exitFail
		}
	}
	fmt.Fprintf(stdout, "Created %s%c with:\n", target, filepath.Separator)
	for _, f := range files {
		fmt.Fprintf(stdout, "  %-*s  %s\n", len(name)+8, f.name, f.about)
	}
	file := filepath.Join(target, name+".skyext")
	fmt.Fprintf(stdout, "Next:\n  skybot ext validate %s\n  skybot dev %s\n  skybot ext test %s\n  skybot ext pack %s\n",
		file, file, target, target)
	return exitOK
}

type scaffoldFile struct {
	name, about, content string
}

// scaffold is the starter extension name's files.
func scaffold(name string) []scaffoldFile {
	key, cmd := truncate(name, 25), truncate(name, 32) // sky.prefix keys and slash names are shorter than @name
	fill := strings.NewReplacer("NAME", name, "KEY", key, "CMD", cmd).Replace
	return []scaffoldFile{
		{name + ".skyext", "the extension: !" + key + " and /" + cmd + " stats, counting uses in storage", fill(scaffoldCode)},
		{"tests.txt", "test cases, run by skybot ext test", fill(scaffoldTests)},
		{"skybot.d.ts", "TypeScript declarations of the API, for your editor", extensions.TypeScript()},
		{"README.md", "how to validate, test and pack it", fill(scaffoldReadme)},
	}
}

// truncate cuts a slug to n bytes, without a trailing - or _.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.TrimRight(s[:n], "-_")
}

const scaffoldCode = `// ==SkyExtension==
// @name         NAME
// @version      0.1.0
// @description  Answers !KEY with a greeting and counts its uses; /CMD stats tells the count.
// @engine       ^1.0
// @scopes       messages_write, storage
// ==/SkyExtension==
/// <reference path="skybot.d.ts" />
// The top level runs whenever the extension is loaded: it only registers
// handlers. Host APIs (storage, replies, ...) are called inside handlers.
const sky = require('sky');
const storage = require('storage');

const times = (n) => (n === 1 ? '1 time' : n + ' times');

// !KEY greets the author; !KEY someone greets someone. Every use is counted in
// storage, which belongs to this extension in this server.
sky.prefix('KEY', async (ctx) => {
  const uses = await storage.increment('uses');
  const who = ctx.args.length > 0 ? ctx.args.join(' ') : ctx.user.username;
  await ctx.reply(` + "`Hello, ${who}! !KEY has been used ${times(uses)} here.`" + `);
});

// /CMD stats answers only the member who asked (ephemeral).
sky.command({
  name: 'CMD', description: 'About !KEY',
  options: [{ type: 'subcommand', name: 'stats', description: 'How often !KEY was used here' }],
}, async (ctx) => {
  const uses = (await storage.get('uses')) || 0;
  await ctx.reply({ content: ` + "`!KEY has been used ${times(uses)} here.`" + `, ephemeral: true });
});
`

const scaffoldTests = `# Test cases for NAME: skybot ext test runs each case against a fresh emulated
# guild (admin with Manage Server; alice and bob, Members; #general and
# #random) with NAME installed and its scopes granted.
#
# Steps:        say <member>: <text>      slash <member>: /<command> [sub] [option=value ...]
#               click <member>: <label>   join <name>   leave <member>   advance <duration>
# Expectations: expect reply: <text>      expect reply contains: <text>   expect no reply
#               expect storage <key> = <json>   expect log contains: <text>
#               expect banned <member>    expect role <member> <role>

case !KEY greets and counts
  say alice: !KEY
  expect reply: Hello, alice! !KEY has been used 1 time here.
  say bob: !KEY world
  expect reply: Hello, world! !KEY has been used 2 times here.
  expect storage uses = 2

case /CMD stats tells the count
  say alice: !KEY
  slash admin: /CMD stats
  expect reply: !KEY has been used 1 time here.
`

const scaffoldReadme = `# NAME

A skybot extension: NAME.skyext is the code, tests.txt its test cases, and skybot.d.ts
declares the API for your editor. From this directory:

    skybot ext validate NAME.skyext
    skybot dev NAME.skyext
    skybot ext test .
    skybot ext pack .

validate runs the checks a submission goes through; dev gives you a prompt in an
emulated guild (say alice: !KEY) and reloads the extension when you save it; test
runs the cases of tests.txt against an emulated guild (without a case file, it fires
each trigger once); pack writes NAME.skypkg, which /ext install takes.

The author guide is docs/extensions.md in skybot's repository; docs/tutorial.md builds
a complete extension step by step.
`
