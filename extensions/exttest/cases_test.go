package exttest

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	src := `# welcome's cases
case greets on !hello
  say alice: !hello
  expect reply: Hello, alice
  expect reply contains: alice

case counts joins
  join carol
  slash admin in #random: /welcome stats verbose=true who=bob note="two words"
  expect reply contains: 1 member
  advance 1d12h
  expect no reply
  expect storage joined = { "n": 1 }
  expect no storage "odd key"
  expect log contains: joined: carol
  expect banned bob
  expect not banned alice
  expect role carol Verified Member
  expect no role alice Admins
  click alice: "  padded  "
  leave carol
`
	got, err := Parse("tests.txt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Case{
		{Name: "greets on !hello", Line: 2, Steps: []Step{
			{Line: 3, Kind: Say, Member: "alice", Text: "!hello"},
			{Line: 4, Kind: ExpectReply, Text: "Hello, alice"},
			{Line: 5, Kind: ExpectReplyContains, Text: "alice"},
		}},
		{Name: "counts joins", Line: 7, Steps: []Step{
			{Line: 8, Kind: Join, Member: "carol"},
			{Line: 9, Kind: Slash, Member: "admin", Channel: "random", Command: &Command{Name: "welcome", Path: []string{"stats"},
				Options: []Option{{"verbose", "true"}, {"who", "bob"}, {"note", "two words"}}}},
			{Line: 10, Kind: ExpectReplyContains, Text: "1 member"},
			{Line: 11, Kind: Advance, Duration: 36 * time.Hour},
			{Line: 12, Kind: ExpectNoReply},
			{Line: 13, Kind: ExpectStorage, Key: "joined", JSON: `{"n":1}`},
			{Line: 14, Kind: ExpectNoStorage, Key: "odd key"},
			{Line: 15, Kind: ExpectLogContains, Text: "joined: carol"},
			{Line: 16, Kind: ExpectBanned, Member: "bob"},
			{Line: 17, Kind: ExpectNotBanned, Member: "alice"},
			{Line: 18, Kind: ExpectRole, Member: "carol", Text: "Verified Member"},
			{Line: 19, Kind: ExpectNoRole, Member: "alice", Text: "Admins"},
			{Line: 20, Kind: Click, Member: "alice", Text: "  padded  "},
			{Line: 21, Kind: Leave, Member: "carol"},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse =\n%#v\nwant\n%#v", got, want)
	}
	again, err := Parse("formatted", []byte(Format(got)))
	if err != nil {
		t.Fatalf("Format's output does not parse: %v\n%s", err, Format(got))
	}
	if !reflect.DeepEqual(withoutLines(again), withoutLines(got)) {
		t.Fatalf("round trip changed the cases:\n%s", Format(got))
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src, want string
	}{
		{"step before case", "say alice: hi\n", "tests.txt:1: a step before the first case"},
		{"unknown step", "case a\n  sya alice: hi\n", `tests.txt:2: unknown step "sya"`},
		{"say without colon", "case a\n  say alice hi\n", "tests.txt:2: write: say <member>: <text>"},
		{"empty say", "case a\n  say alice:\n", "tests.txt:2: say needs text"},
		{"bad member", "case a\n  say al!ce: hi\n", `"al!ce" is not a member name`},
		{"bad channel", "case a\n  say alice in general: hi\n", `"general" is not a channel`},
		{"slash without slash", "case a\n  slash admin: welcome\n", "starts with /"},
		{"slash sub after option", "case a\n  slash admin: /w a=1 stats\n", "comes after an option"},
		{"slash open quote", "case a\n  slash admin: /w a=\"x\n", "not a closed quoted string"},
		{"slash duplicate option", "case a\n  slash admin: /w a=1 a=2\n", "given twice"},
		{"bad duration", "case a\n  advance soon\n", `"soon" is not a duration`},
		{"zero duration", "case a\n  advance 0s\n", "advance by 1ms"},
		{"too long", "case a\n  advance 400d\n", "not a duration"},
		{"reply before action", "case a\n  expect reply: hi\n", "put a say, slash, click"},
		{"storage not json", "case a\n  expect storage n = one\n", "is not JSON"},
		{"storage without value", "case a\n  expect storage n\n", "write: expect storage <key> = <json>"},
		{"unknown expectation", "case a\n  expect weather: sunny\n", `unknown expectation "expect weather: sunny"`},
		{"role without role", "case a\n  expect role alice\n", "write: expect role <member> <role>"},
		{"empty case", "case a\ncase b\n  join x\n", `tests.txt:1: case "a" has no steps`},
		{"duplicate case", "case a\n  join x\ncase a\n  join y\n", `tests.txt:3: case "a" is already on line 1`},
		{"nameless case", "case\n", "a case needs a name"},
		{"not utf-8", "case \xff\n", "not UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("tests.txt", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%q) error = %v, want it to say %q", tc.src, err, tc.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "1d": 24 * time.Hour, "2d30m": 48*time.Hour + 30*time.Minute, "1.5ms": 1500 * time.Microsecond} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// FuzzParse: Parse never panics, and what it accepts Format writes back
// so that Parse reads the same cases.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"case a\n  say alice: !hello\n  expect reply: Hello, alice\n",
		"case b\n  slash admin in #general: /welcome stats who=bob note=\"a \\\"b\\\"\"\n  expect reply contains: 1\n",
		"case c\n  join carol\n  advance 1d2h\n  expect storage \"k k\" = [1, {\"a\": null}]\n  expect no storage x\n",
		"case d\n  click bob: \"\\ttab\"\n  expect no reply\n  expect role bob \"Mods \"\n  expect not banned bob\n  leave bob\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cases, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		text := Format(cases)
		again, err := Parse("formatted", []byte(text))
		if err != nil {
			t.Fatalf("Format's output does not parse: %v\ninput %q\nformatted %q", err, data, text)
		}
		if !reflect.DeepEqual(withoutLines(again), withoutLines(cases)) {
			t.Fatalf("round trip changed the cases\ninput %q\nformatted %q\nfirst %#v\nthen  %#v", data, text, cases, again)
		}
	})
}

func withoutLines(cs []Case) []Case {
	out := make([]Case, len(cs))
	for i, c := range cs {
		c.Line = 0
		steps := make([]Step, len(c.Steps))
		for j, s := range c.Steps {
			s.Line = 0
			steps[j] = s
		}
		c.Steps = steps
		out[i] = c
	}
	return out
}

func TestParseStep(t *testing.T) {
	st, err := ParseStep("  say alice in #random: !hi there ")
	if err != nil || st.Kind != Say || st.Member != "alice" || st.Channel != "random" || st.Text != "!hi there" {
		t.Fatalf("ParseStep = %+v, %v", st, err)
	}
	for _, bad := range []string{"", "dance alice", "say alice", "advance soon", "expect storage k = {", "say alice: a\x00b"} {
		if _, err := ParseStep(bad); err == nil {
			t.Errorf("ParseStep(%q) accepted it", bad)
		}
	}
}
