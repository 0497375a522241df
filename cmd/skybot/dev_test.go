package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an output that a running command writes and a test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const devGreeter = `// ==SkyExtension==
// @name         greeter
// @version      1.2.0
// @description  Greets on !hi and counts greetings.
// @scopes       messages_write, storage
// ==/SkyExtension==
const sky = require('sky');
const storage = require('storage');
sky.prefix('hi', async (ctx) => {
  const n = await storage.increment('greetings');
  console.log('greeting number ' + n);
  await ctx.reply('Hello #' + n + ', ' + ctx.user.username);
});
`

// TestDevPromptAndReload drives skybot dev as an author does: a step at
// the prompt, a save that reloads the extension (its storage kept), a
// broken save that is refused while the last good version keeps running.
func TestDevPromptAndReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "greeter.skyext")
	if err := os.WriteFile(file, []byte(devGreeter), 0o644); err != nil {
		t.Fatal(err)
	}
	stdin, input := io.Pipe()
	var out, errs lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exit := make(chan int, 1)
	go func() { exit <- devCmd(ctx, []string{"--validate", "--timeout", "30s", file}, stdin, &out, &errs) }()

	waitOutput := func(want string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(out.String(), want) {
			select {
			case code := <-exit:
				t.Fatalf("skybot dev stopped (exit %d) before printing %q:\n%s%s", code, want, out.String(), errs.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("skybot dev did not print %q:\n%s%s", want, out.String(), errs.String())
			}
		}
	}
	send := func(line string) {
		t.Helper()
		if _, err := io.WriteString(input, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}

	waitOutput("skybot dev: greeter 1.2.0-dev.1 is installed")
	send("say alice: !hi")
	waitOutput("storage.increment [scope storage] ok; message.reply [scope messages_write] ok\n    console.log: greeting number 1\n  skybot: Hello #1, alice\n")
	send("expect storage greetings = 1")
	waitOutput("✓ expect storage greetings = 1\n")

	// A save: the new code runs, with the storage of the old.
	if err := os.WriteFile(file, []byte(strings.Replace(devGreeter, "'Hello #'", "'Hi again #'", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	waitOutput("reloaded as greeter 1.2.0-dev.2; storage kept (1 key)\n")
	send("say bob: !hi")
	waitOutput("skybot: Hi again #2, bob\n")

	// A broken save is refused; the version before keeps answering.
	if err := os.WriteFile(file, []byte(devGreeter+"\nsky.prefix('oops', async (ctx) => {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitOutput("not reloaded: greeter 1.2.0-dev.2 keeps running\n")
	send("say alice: !hi")
	waitOutput("skybot: Hi again #3, alice\n")

	send("say alice: nothing to see")
	waitOutput("(nothing happened: the extension did not run and skybot sent nothing)\n")
	send("storage")
	waitOutput("  greetings = 3\n")
	send("quit")
	waitOutput("bye\n")
	if code := <-exit; code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
}
