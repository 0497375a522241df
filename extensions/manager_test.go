package extensions

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/skyext/skybot/extensions/skyerr"
	"github.com/skyext/skybot/sandbox"
	"github.com/skyext/skybot/store"
)

// channelActions stands in for Discord: replies land in a channel log.
type channelActions struct {
	mu      sync.Mutex
	replies []string
	last    Origin
}

func (a *channelActions) lastOrigin() Origin {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

func (a *channelActions) Perform(_ context.Context, c sandbox.Call) (json.RawMessage, error) {
	var args []any
	if err := json.Unmarshal(c.Args, &args); err != nil || len(args) == 0 {
		return nil, sandbox.Errorf(sandbox.CodeInvalidArgument, "no payload")
	}
	o := c.Origin.(Origin)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.last = o
	a.replies = append(a.replies, o.Extension+"@"+o.Version+" in "+o.ChannelID+": "+args[0].(string))
	return json.RawMessage(`{"success":true}`), nil
}

func (a *channelActions) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.replies...)
}

type fixture struct {
	store *store.Store
	acts  *channelActions
	sup   *sandbox.Supervisor
	m     *Manager
	d     *Dispatcher
	path  string // the SQLite file behind store
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "skybot.db")
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acts := &channelActions{}
	sup := sandbox.NewSupervisor(acts, nil)
	t.Cleanup(sup.Close)
	m := NewManager(st, sup, opts)
	return &fixture{store: st, acts: acts, sup: sup, m: m, d: NewDispatcher(m, nil), path: path}
}

func bytesFetch(src string) Fetch {
	return func(_ context.Context, limit int64) ([]byte, error) {
		if int64(len(src)) > limit {
			return nil, skyerr.New(skyerr.TooLarge, "over %d bytes", limit)
		}
		return []byte(src), nil
	}
}

func (f *fixture) install(t *testing.T, guild, filename, src string) (Installed, error) {
	t.Helper()
	return f.m.InstallUpload(context.Background(), store.GuildID(guild), "admin", Upload{Filename: filename, Size: int64(len(src))}, bytesFetch(src))
}

func (f *fixture) say(t *testing.T, guild, content string) {
	t.Helper()
	err := f.d.OnMessage(context.Background(), Message{GuildID: guild, ChannelID: "c1", ID: "m1", Content: content, Author: User{ID: "42", Username: "ann"}, Bot: User{ID: "999", Username: "skybot", Bot: true}})
	if err != nil {
		t.Fatalf("OnMessage: %v", err)
	}
}

func TestInstallRunUninstall(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	got, err := f.install(t, "g1", "hello.skyext", helloExt)
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	if got.Name != "hello" || got.Version != "1.0.0" || len(got.Scopes) != 1 || got.Scopes[0].Name != "messages_write" {
		t.Fatalf("installed = %+v", got)
	}

	f.say(t, "g1", "!HELLO there")
	f.say(t, "g1", "hello without prefix")
	f.say(t, "g2", "!hello") // another guild has nothing installed
	if want := []string{"hello@1.0.0 in c1: Hello, ann!"}; strings.Join(f.acts.all(), "|") != strings.Join(want, "|") {
		t.Fatalf("replies = %q, want %q", f.acts.all(), want)
	}

	if _, err := f.m.Uninstall(context.Background(), "g1", "admin", "hello", false); err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	f.say(t, "g1", "!hello")
	if n := len(f.acts.all()); n != 1 {
		t.Fatalf("an uninstalled extension answered (%d replies)", n)
	}
	if _, err := f.m.Uninstall(context.Background(), "g1", "admin", "hello", false); !skyerr.Is(err, skyerr.NotFound) {
		t.Fatalf("second uninstall: %v, want E_NOT_FOUND", err)
	}
}

func TestMissingScopeGoesToTheExtensionLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	src := strings.Replace(helloExt, "// @scopes       messages_write\n", "", 1)
	if _, err := f.install(t, "g1", "hello.skyext", src); err != nil {
		t.Fatal(err)
	}
	f.say(t, "g1", "!hello")
	if n := len(f.acts.all()); n != 0 {
		t.Fatalf("reply sent without messages_write")
	}
	logs, err := f.m.Logs(context.Background(), "g1", "hello", 10)
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, l := range logs {
		text = append(text, l.Level+" "+l.Message)
	}
	joined := strings.Join(text, "\n")
	if !strings.Contains(joined, "error error: MISSING_SCOPES") || !strings.Contains(joined, "messages_write") {
		t.Fatalf("log does not explain the missing scope:\n%s", joined)
	}
}

func TestInstallRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, filename, src string
		opts                Options
		want                skyerr.Code
	}{
		{"wrong file type", "hello.txt", helloExt, Options{}, skyerr.InvalidPackage},
		{"skypkg not yet", "hello.skypkg", `{}`, Options{}, skyerr.InvalidPackage},
		{"too large", "hello.skyext", helloExt, Options{MaxAttachmentBytes: 100}, skyerr.TooLarge},
		{"malformed", "hello.skyext", "console.log('no header')", Options{}, skyerr.InvalidPackage},
		{"does not compile", "hello.skyext", helloExt + "\n}); (async () => {", Options{}, skyerr.InvalidPackage},
		{"handler style not yet", "hello.skyext", strings.Replace(strings.Replace(helloExt, "// @type         command\n", "", 1), "// @key          hello\n", "", 1), Options{}, skyerr.InvalidPackage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.opts)
			_, err := f.install(t, "g1", tc.filename, tc.src)
			if !skyerr.Is(err, tc.want) {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
			if ins, _ := f.m.List(context.Background(), "g1"); len(ins) != 0 {
				t.Fatalf("a refused install left %d installs", len(ins))
			}
		})
	}
}

func TestRacingInstallsLeaveOne(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	v2 := strings.Replace(helloExt, "1.0.0", "1.0.1", 1)
	errs := make(chan error, 2)
	for _, src := range []string{helloExt, v2} {
		go func() {
			_, err := f.install(t, "g1", "hello.skyext", src)
			errs <- err
		}()
	}
	var failed []error
	for range 2 {
		if err := <-errs; err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) != 1 || !skyerr.Is(failed[0], skyerr.AlreadyExists) {
		t.Fatalf("errors = %v, want exactly one E_ALREADY_EXISTS", failed)
	}
	ins, _ := f.m.List(context.Background(), "g1")
	if len(ins) != 1 {
		t.Fatalf("installs = %d, want 1", len(ins))
	}
	vers, _ := f.store.Versions(context.Background(), ins[0].ExtensionID)
	if len(vers) != 1 {
		t.Fatalf("versions = %d, want 1 (the refused one wrote nothing)", len(vers))
	}
}

func TestTamperedCodeRefusedAtLoad(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	if _, err := f.install(t, "g1", "hello.skyext", helloExt); err != nil {
		t.Fatal(err)
	}
	in, err := f.store.InstallByName(context.Background(), "g1", "hello")
	if err != nil {
		t.Fatal(err)
	}
	ver, err := f.store.Version(context.Background(), in.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	ver.Code = strings.Replace(ver.Code, "Hello", "Pwned", 1)
	var man Manifest
	_ = json.Unmarshal(ver.Manifest, &man)
	fresh := NewManager(f.store, f.sup, Options{}) // no compiled program cached
	_, err = fresh.program(ver, man)
	if !skyerr.Is(err, skyerr.LoadFailed) {
		t.Fatalf("tampered code: err = %v, want E_LOAD_FAILED", err)
	}
}

func TestParseCommand(t *testing.T) {
	t.Parallel()
	cases := []struct {
		content, key, suffix, trimmed string
		ok                            bool
	}{
		{"!hello", "hello", "", "", true},
		{"!Hello   big  world ", "hello", " big world ", "big world", true},
		{"!roll\n2d6", "roll", "\n2d6", "2d6", true},
		{"hello", "", "", "", false},
		{"! hello", "", "", "", false},
	}
	for _, tc := range cases {
		got, ok := parseCommand("!", tc.content)
		if ok != tc.ok || got.key != tc.key || got.suffix != tc.suffix || got.trimmedSufix != tc.trimmed {
			t.Errorf("parseCommand(%q) = %+v, %v", tc.content, got, ok)
		}
	}
}

func TestKeywordMatches(t *testing.T) {
	t.Parallel()
	m := Manifest{Keywords: []string{"Hi", "yo"}}
	if !keywordMatches(m, "oh HI there") || keywordMatches(m, "hey") {
		t.Error("case-insensitive substring match wrong")
	}
	m.CaseSensitive = true
	if keywordMatches(m, "oh HI there") || !keywordMatches(m, "Hi") {
		t.Error("case-sensitive match wrong")
	}
	if !keywordMatches(Manifest{Keywords: []string{"*"}}, "anything") {
		t.Error(`["*"] must match everything`)
	}
	if keywordMatches(Manifest{Keywords: []string{"*", "x"}}, "abc") {
		t.Error(`"*" in a longer list is an ordinary substring`)
	}
}
