package spec

import (
	"os"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

// BenchmarkLoad measures building a Validator: parsing openapi.json,
// building its model and path tree and compiling the request body schemas.
// (The tests build one Validator per binary, through Shared.)
func BenchmarkLoad(b *testing.B) {
	path := specPath(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}

func specPath(tb testing.TB) string {
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	path, err := Locate(os.Getenv(EnvSpecPath), wd)
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkValidate measures ValidateRequest on requests discordgo sends.
func BenchmarkValidate(b *testing.B) {
	v := testValidator(b)
	cases := []struct {
		name string
		call func(s *discordgo.Session)
	}{
		{"reaction PUT (no body)", func(s *discordgo.Session) {
			s.MessageReactionAdd(channelID, messageID, "👍")
		}},
		{"message create JSON", validCall(b, "message create JSON")},
		{"message create multipart", validCall(b, "message create multipart with payload_json")},
		{"interaction callback 4", validCall(b, "interaction callback 4 message with components")},
		{"command bulk overwrite", validCall(b, "guild command bulk overwrite")},
		{"role create (gap rewrite)", validCall(b, "role create")},
		{"invalid: content too long", func(s *discordgo.Session) {
			s.ChannelMessageSend(channelID, strings.Repeat("x", 4001))
		}},
		{"invalid: unknown route", func(s *discordgo.Session) {
			s.RequestWithBucketID("GET", discordgo.EndpointGuild(guildID)+"/extensions", nil, "")
		}},
	}
	for _, c := range cases {
		req := send(b, c.call)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = v.ValidateRequest(req.method, req.path, req.rawQuery, req.contentType, req.body)
			}
		})
	}
	// The emulator serves requests concurrently; validation is serialised.
	req := send(b, validCall(b, "message create JSON"))
	b.Run("message create JSON parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = v.ValidateRequest(req.method, req.path, req.rawQuery, req.contentType, req.body)
			}
		})
	})
}

func validCall(tb testing.TB, name string) func(s *discordgo.Session) {
	tb.Helper()
	for _, c := range validCalls {
		if c.name == name {
			return c.call
		}
	}
	tb.Fatalf("no valid call named %q", name)
	return nil
}
