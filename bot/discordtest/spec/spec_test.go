package spec

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Snowflakes used in the requests below.
const (
	guildID   = "811111111111111111"
	channelID = "822222222222222222"
	messageID = "833333333333333333"
	userID    = "844444444444444444"
	roleID    = "855555555555555555"
	appID     = "866666666666666666"
	webhookID = "877777777777777777"
	// An interaction token is an opaque string.
	interactionToken = "aW50ZXJhY3Rpb246ODg4ODg4ODg4ODg4ODg4ODg4OnRva2Vu"
)

var interaction = &discordgo.Interaction{
	ID:    "888888888888888888",
	AppID: appID,
	Token: interactionToken,
}

// testValidator returns the process-wide Validator: building it takes
// seconds, so every test in this binary shares the one build.
func testValidator(tb testing.TB) *Validator {
	tb.Helper()
	v, err := Shared()
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// request is one HTTP request as it left discordgo.
type request struct {
	method, path, rawQuery, contentType string
	body                                []byte
}

func (r request) String() string {
	s := r.method + " " + r.path
	if r.rawQuery != "" {
		s += "?" + r.rawQuery
	}
	if len(r.body) > 0 && len(r.body) < 2000 {
		s += " " + r.contentType + " " + string(r.body)
	}
	return s
}

// recorder is an http.RoundTripper that keeps the requests a discordgo
// Session sends and answers each with 200 {}.
type recorder struct {
	mu   sync.Mutex
	reqs []request
}

func (rec *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, request{
		method:      req.Method,
		path:        req.URL.Path,
		rawQuery:    req.URL.RawQuery,
		contentType: req.Header.Get("Content-Type"),
		body:        body,
	})
	rec.mu.Unlock()
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader("{}")),
		Request:    req,
	}, nil
}

// send runs call against a fresh discordgo Session whose transport records
// instead of sending, and returns the one request call made. The reply is
// always {}, so call's own error (a decode error, usually) is ignored.
func send(t testing.TB, call func(s *discordgo.Session)) request {
	t.Helper()
	s, err := discordgo.New("Bot test-token")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s.Client = &http.Client{Transport: rec}
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 0
	call(s)
	if len(rec.reqs) != 1 {
		t.Fatalf("the call sent %d requests, want 1: %v", len(rec.reqs), rec.reqs)
	}
	return rec.reqs[0]
}

func ptr[T any](v T) *T { return &v }

func row(cs ...discordgo.MessageComponent) discordgo.ActionsRow {
	return discordgo.ActionsRow{Components: cs}
}

// components is a row of buttons and a row with a select menu, as skybot's
// command replies use them.
func components() []discordgo.MessageComponent {
	return []discordgo.MessageComponent{
		row(
			discordgo.Button{Label: "Approve", Style: discordgo.SuccessButton, CustomID: "skybot:approve:1"},
			discordgo.Button{Label: "Docs", Style: discordgo.LinkButton, URL: "https://example.com/docs"},
		),
		row(discordgo.SelectMenu{
			CustomID:    "skybot:pick",
			Placeholder: "Pick one",
			MinValues:   ptr(1),
			MaxValues:   1,
			Options: []discordgo.SelectMenuOption{
				{Label: "One", Value: "1", Default: true},
				{Label: "Two", Value: "2", Description: "the second"},
			},
		}),
	}
}

func embed() *discordgo.MessageEmbed {
	return &discordgo.MessageEmbed{
		Title:       "Extension installed",
		Description: "hello@1.2.0 is ready",
		Color:       0x5865F2,
		Timestamp:   "2026-01-02T03:04:05Z",
		Fields: []*discordgo.MessageEmbedField{
			{Name: "Version", Value: "1.2.0", Inline: true},
		},
		Footer: &discordgo.MessageEmbedFooter{Text: "skybot"},
	}
}

// What skybot asks of Discord, sent by the real discordgo client.
var validCalls = []struct {
	name string
	call func(s *discordgo.Session)
}{
	{"message create JSON", func(s *discordgo.Session) {
		s.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{
			Content:         "Installed **hello**.",
			Embeds:          []*discordgo.MessageEmbed{embed()},
			Components:      components(),
			AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
			Reference:       &discordgo.MessageReference{MessageID: messageID, ChannelID: channelID, GuildID: guildID},
		})
	}},
	{"message create plain text", func(s *discordgo.Session) {
		s.ChannelMessageSend(channelID, "pong")
	}},
	{"message create of 2000 characters", func(s *discordgo.Session) {
		s.ChannelMessageSend(channelID, strings.Repeat("é", 2000))
	}},
	{"message create multipart with payload_json", func(s *discordgo.Session) {
		s.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{
			Content: "the log you asked for",
			Files: []*discordgo.File{
				{Name: "hello.log", ContentType: "text/plain", Reader: strings.NewReader("line 1\nline 2\n")},
				{Name: "data.bin", Reader: strings.NewReader("\x00\x01\x02")},
			},
		})
	}},
	{"message edit", func(s *discordgo.Session) {
		s.ChannelMessageEditComplex(discordgo.NewMessageEdit(channelID, messageID).
			SetContent("edited").SetEmbeds([]*discordgo.MessageEmbed{embed()}))
	}},
	{"message edit clearing components", func(s *discordgo.Session) {
		s.ChannelMessageEditComplex(&discordgo.MessageEdit{
			ID: messageID, Channel: channelID,
			Content: ptr("done"), Components: &[]discordgo.MessageComponent{},
		})
	}},
	{"message delete", func(s *discordgo.Session) {
		s.ChannelMessageDelete(channelID, messageID, discordgo.WithAuditLogReason("spam"))
	}},
	{"reaction PUT unicode", func(s *discordgo.Session) {
		s.MessageReactionAdd(channelID, messageID, "👍")
	}},
	{"reaction PUT keycap emoji (discordgo escapes its #)", func(s *discordgo.Session) {
		s.MessageReactionAdd(channelID, messageID, "#\uFE0F\u20E3")
	}},
	{"reaction PUT custom emoji", func(s *discordgo.Session) {
		s.MessageReactionAdd(channelID, messageID, "skybot:899999999999999999")
	}},
	{"member timeout", func(s *discordgo.Session) {
		s.GuildMemberTimeout(guildID, userID, ptr(time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)))
	}},
	{"member timeout removed", func(s *discordgo.Session) {
		s.GuildMemberTimeout(guildID, userID, nil)
	}},
	{"member nick", func(s *discordgo.Session) {
		s.GuildMemberNickname(guildID, userID, "Sky")
	}},
	{"member edit nick, roles and timeout", func(s *discordgo.Session) {
		s.GuildMemberEdit(guildID, userID, &discordgo.GuildMemberParams{
			Nick:                       "Sky",
			Roles:                      &[]string{roleID},
			CommunicationDisabledUntil: ptr(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		})
	}},
	{"member role PUT", func(s *discordgo.Session) {
		s.GuildMemberRoleAdd(guildID, userID, roleID)
	}},
	{"member role DELETE", func(s *discordgo.Session) {
		s.GuildMemberRoleRemove(guildID, userID, roleID)
	}},
	{"ban PUT with delete_message_seconds", func(s *discordgo.Session) {
		// discordgo v0.29.0 has no helper for the body form; skybot sends it raw.
		s.RequestWithBucketID("PUT", discordgo.EndpointGuildBan(guildID, userID),
			map[string]any{"delete_message_seconds": 86400},
			discordgo.EndpointGuildBan(guildID, ""), discordgo.WithAuditLogReason("raid"))
	}},
	{"ban PUT empty body", func(s *discordgo.Session) {
		s.GuildBanCreate(guildID, userID, 0)
	}},
	{"ban PUT delete_message_days query", func(s *discordgo.Session) {
		s.GuildBanCreate(guildID, userID, 7)
	}},
	{"ban PUT reason query", func(s *discordgo.Session) {
		s.GuildBanCreateWithReason(guildID, userID, "raid bot", 1)
	}},
	{"ban DELETE", func(s *discordgo.Session) {
		s.GuildBanDelete(guildID, userID)
	}},
	{"kick DELETE", func(s *discordgo.Session) {
		s.GuildMemberDelete(guildID, userID, discordgo.WithAuditLogReason("bye"))
	}},
	{"kick DELETE reason query", func(s *discordgo.Session) {
		s.GuildMemberDeleteWithReason(guildID, userID, "bye")
	}},
	{"role create", func(s *discordgo.Session) {
		s.GuildRoleCreate(guildID, &discordgo.RoleParams{
			Name:        "Muted",
			Color:       ptr(0x99AAB5),
			Hoist:       ptr(false),
			Permissions: ptr(int64(discordgo.PermissionViewChannel | discordgo.PermissionReadMessageHistory)),
			Mentionable: ptr(false),
		})
	}},
	{"role edit with permissions", func(s *discordgo.Session) {
		s.GuildRoleEdit(guildID, "123456789012345678", &discordgo.RoleParams{
			Name:        "Muted",
			Permissions: ptr(int64(discordgo.PermissionViewChannel)),
		})
	}},
	{"channel create", func(s *discordgo.Session) {
		s.GuildChannelCreateComplex(guildID, discordgo.GuildChannelCreateData{
			Name:     "skybot-log",
			Type:     discordgo.ChannelTypeGuildText,
			Topic:    "what skybot did",
			ParentID: channelID,
			PermissionOverwrites: []*discordgo.PermissionOverwrite{
				{ID: guildID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionViewChannel},
				{ID: userID, Type: discordgo.PermissionOverwriteTypeMember, Allow: discordgo.PermissionViewChannel | discordgo.PermissionSendMessages},
			},
		})
	}},
	{"thread create", func(s *discordgo.Session) {
		s.ThreadStartComplex(channelID, &discordgo.ThreadStart{
			Name:                "support",
			AutoArchiveDuration: 1440,
			Type:                discordgo.ChannelTypeGuildPublicThread,
		})
	}},
	{"thread create from message", func(s *discordgo.Session) {
		s.MessageThreadStart(channelID, messageID, "discussion", 60)
	}},
	{"webhook create", func(s *discordgo.Session) {
		s.WebhookCreate(channelID, "skybot relay", "")
	}},
	{"webhook execute", func(s *discordgo.Session) {
		s.WebhookExecute(webhookID, "webhook-token", true, &discordgo.WebhookParams{
			Content:   "relayed",
			Username:  "hello (extension)",
			AvatarURL: "https://example.com/a.png",
			Embeds:    []*discordgo.MessageEmbed{embed()},
		})
	}},
	{"global command bulk overwrite", func(s *discordgo.Session) {
		s.ApplicationCommandBulkOverwrite(appID, "", []*discordgo.ApplicationCommand{{
			Name: "ext", Description: "Manage extensions",
			DefaultMemberPermissions: ptr(int64(discordgo.PermissionManageGuild)),
		}})
	}},
	{"guild command bulk overwrite", func(s *discordgo.Session) {
		s.ApplicationCommandBulkOverwrite(appID, guildID, []*discordgo.ApplicationCommand{
			{
				Name:                     "ext",
				Description:              "Manage extensions",
				DefaultMemberPermissions: ptr(int64(discordgo.PermissionManageGuild)),
				Contexts:                 &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild},
				Options: []*discordgo.ApplicationCommandOption{
					{
						Type: discordgo.ApplicationCommandOptionSubCommand, Name: "install", Description: "Install an extension",
						Options: []*discordgo.ApplicationCommandOption{
							{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "Extension name", Required: true, Autocomplete: true, MaxLength: 64},
							{Type: discordgo.ApplicationCommandOptionString, Name: "channel", Description: "Release channel",
								Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: "stable", Value: "stable"}, {Name: "beta", Value: "beta"}}},
						},
					},
					{
						Type: discordgo.ApplicationCommandOptionSubCommand, Name: "limit", Description: "Set a limit",
						Options: []*discordgo.ApplicationCommandOption{
							{Type: discordgo.ApplicationCommandOptionInteger, Name: "calls", Description: "Host calls", MinValue: ptr(1.0), MaxValue: 100,
								Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: "ten", Value: 10}, {Name: "fifty", Value: 50}}},
							{Type: discordgo.ApplicationCommandOptionChannel, Name: "where", Description: "Channel",
								ChannelTypes: []discordgo.ChannelType{discordgo.ChannelTypeGuildText}},
						},
					},
				},
			},
			{Type: discordgo.UserApplicationCommand, Name: "Extension info"},
			{Type: discordgo.MessageApplicationCommand, Name: "Report message"},
		})
	}},
	{"interaction callback 4 message with components", func(s *discordgo.Session) {
		s.InteractionRespond(interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{
				Content:    "Pick an extension:",
				Components: components(),
				Embeds:     []*discordgo.MessageEmbed{embed()},
				Flags:      discordgo.MessageFlagsEphemeral,
			},
		})
	}},
	{"interaction callback 4 multipart", func(s *discordgo.Session) {
		s.InteractionRespond(interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{
				Content: "export attached",
				Files:   []*discordgo.File{{Name: "export.json", ContentType: "application/json", Reader: strings.NewReader("{}")}},
			},
		})
	}},
	{"interaction callback 5 deferred", func(s *discordgo.Session) {
		s.InteractionRespond(interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
		})
	}},
	{"interaction callback 5 deferred without data", func(s *discordgo.Session) {
		s.InteractionRespond(interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		})
	}},
	{"interaction callback 7 update message", func(s *discordgo.Session) {
		s.InteractionRespond(interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseUpdateMessage,
			Data: &discordgo.InteractionResponseData{
				Content:    "Approved.",
				Components: []discordgo.MessageComponent{},
			},
		})
	}},
	{"interaction callback 9 modal", func(s *discordgo.Session) {
		s.InteractionRespond(interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseModal,
			Data: &discordgo.InteractionResponseData{
				CustomID: "skybot:config:hello",
				Title:    "Configure hello",
				Components: []discordgo.MessageComponent{
					row(discordgo.TextInput{CustomID: "greeting", Label: "Greeting", Style: discordgo.TextInputShort, Required: true, MaxLength: 100}),
					row(discordgo.TextInput{CustomID: "notes", Label: "Notes", Style: discordgo.TextInputParagraph, Placeholder: "optional", MinLength: 0}),
				},
			},
		})
	}},
	{"followup POST", func(s *discordgo.Session) {
		s.FollowupMessageCreate(interaction, true, &discordgo.WebhookParams{
			Content:    "done",
			Flags:      discordgo.MessageFlagsEphemeral,
			Components: components(),
		})
	}},
	{"original response PATCH", func(s *discordgo.Session) {
		s.InteractionResponseEdit(interaction, &discordgo.WebhookEdit{
			Content:    ptr("Installed hello@1.2.0."),
			Embeds:     &[]*discordgo.MessageEmbed{embed()},
			Components: &[]discordgo.MessageComponent{},
		})
	}},
	{"DM channel create", func(s *discordgo.Session) {
		s.UserChannelCreate(userID)
	}},
}

func TestValidRequests(t *testing.T) {
	v := testValidator(t)
	for _, tc := range validCalls {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := send(t, tc.call)
			if err := v.ValidateRequest(req.method, req.path, req.rawQuery, req.contentType, req.body); err != nil {
				t.Errorf("%v\nrequest: %v", err, req)
			}
		})
	}
}

// Requests that break the contract, sent by the real discordgo client.
var invalidCalls = []struct {
	name string
	call func(s *discordgo.Session)
	want []string // substrings of the error, in its first line
}{
	{"unknown route", func(s *discordgo.Session) {
		s.RequestWithBucketID("GET", discordgo.EndpointGuild(guildID)+"/extensions", nil, "")
	}, []string{"path: unknown", "/guilds/" + guildID + "/extensions"}},
	{"unknown method", func(s *discordgo.Session) {
		s.RequestWithBucketID("PATCH", discordgo.EndpointChannelMessages(channelID), map[string]any{"content": "x"}, "")
	}, []string{"(/channels/{channel_id}/messages)", "method: PATCH is not defined", "GET, POST"}},
	{"content of the wrong type", func(s *discordgo.Session) {
		s.RequestWithBucketID("POST", discordgo.EndpointChannelMessages(channelID), map[string]any{"content": 5}, "")
	}, []string{"body field content:"}},
	{"content longer than the spec's maximum", func(s *discordgo.Session) {
		s.ChannelMessageSend(channelID, strings.Repeat("x", 4001))
	}, []string{"body field content:"}},
	{"content longer than a bot may send", func(s *discordgo.Session) {
		s.ChannelMessageSend(channelID, strings.Repeat("é", 2001))
	}, []string{"body field content: 2001 characters; Discord allows at most 2000"}},
	{"edited content longer than a bot may send", func(s *discordgo.Session) {
		s.ChannelMessageEdit(channelID, messageID, strings.Repeat("x", 2001))
	}, []string{"body field content: 2001 characters"}},
	{"interaction reply longer than a bot may send", func(s *discordgo.Session) {
		s.InteractionRespond(interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: strings.Repeat("x", 2001)},
		})
	}, []string{"body field data.content:"}},
	{"embed title of the wrong type", func(s *discordgo.Session) {
		s.RequestWithBucketID("POST", discordgo.EndpointChannelMessages(channelID),
			map[string]any{"embeds": []any{map[string]any{"title": "ok"}, map[string]any{"title": true}}}, "")
	}, []string{"body field embeds[1].title:"}},
	{"undeclared query parameter", func(s *discordgo.Session) {
		s.RequestWithBucketID("GET", discordgo.EndpointChannelMessages(channelID)+"?limit=10&befor=1", nil, "")
	}, []string{"query param befor: not declared"}},
	{"declared query parameter of the wrong type", func(s *discordgo.Session) {
		s.RequestWithBucketID("GET", discordgo.EndpointChannelMessages(channelID)+"?limit=ten", nil, "")
	}, []string{"query param limit:"}},
	{"snowflake path parameter that is not one", func(s *discordgo.Session) {
		s.ChannelMessageDelete(channelID, "not-an-id")
	}, []string{"path param message_id:"}},
	{"permissions that are not a number", func(s *discordgo.Session) {
		s.RequestWithBucketID("POST", discordgo.EndpointGuildRoles(guildID), map[string]any{"permissions": "all"}, "")
	}, []string{"body field permissions:"}},
	{"ban deleting more than a week", func(s *discordgo.Session) {
		s.RequestWithBucketID("PUT", discordgo.EndpointGuildBan(guildID, userID), map[string]any{"delete_message_seconds": 604801}, "")
	}, []string{"body field delete_message_seconds:"}},
	{"empty message body", func(s *discordgo.Session) {
		s.RequestWithBucketID("POST", discordgo.EndpointChannelMessages(channelID), nil, "")
	}, []string{"body: required by the spec but empty"}},
	{"interaction callback of an unknown type", func(s *discordgo.Session) {
		s.InteractionRespond(interaction, &discordgo.InteractionResponse{Type: 42})
	}, []string{"body field type: value must be one of ", "4, 5", "9"}},
	{"command name too long", func(s *discordgo.Session) {
		s.ApplicationCommandBulkOverwrite(appID, guildID, []*discordgo.ApplicationCommand{
			{Name: strings.Repeat("n", 33), Description: "too long"},
		})
	}, []string{"body field [0].name:"}},
}

func TestInvalidRequests(t *testing.T) {
	v := testValidator(t)
	for _, tc := range invalidCalls {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := send(t, tc.call)
			err := v.ValidateRequest(req.method, req.path, req.rawQuery, req.contentType, req.body)
			checkError(t, err, tc.want, req)
		})
	}
}

// TestMalformedRequests covers what discordgo cannot be made to send.
func TestMalformedRequests(t *testing.T) {
	v := testValidator(t)
	const messages = "/api/v9/channels/" + channelID + "/messages"
	tests := []struct {
		name                             string
		method, path, query, contentType string
		body                             string
		want                             []string
	}{
		{"not under /api", "GET", "/channels/" + channelID + "/messages", "", "", "", []string{"path: not under /api/vN"}},
		{"malformed query", "GET", messages, "limit=%zz", "", "", []string{"query: malformed"}},
		{"body without a content type", "POST", messages, "", "", `{"content":"x"}`, []string{"content type: missing"}},
		{"content type the route does not take", "POST", messages, "", "text/plain", "hello", []string{"content type: text/plain is not accepted", "application/json"}},
		{"JSON that does not parse", "POST", messages, "", "application/json", `{"content":`, []string{"body"}},
		{"multipart without payload_json", "POST", messages, "", "multipart/form-data; boundary=b",
			"--b\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a\"\r\n\r\nx\r\n--b--\r\n",
			[]string{"body: multipart/form-data without a payload_json part"}},
		{"multipart with a bad payload_json", "POST", messages, "", "multipart/form-data; boundary=b",
			"--b\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{\"tts\":\"yes\"}\r\n--b--\r\n",
			[]string{"body field tts:"}},
		{"multipart without a boundary", "POST", messages, "", "multipart/form-data", "x", []string{"without a boundary"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := v.ValidateRequest(tc.method, tc.path, tc.query, tc.contentType, []byte(tc.body))
			checkError(t, err, tc.want, request{tc.method, tc.path, tc.query, tc.contentType, []byte(tc.body)})
		})
	}
}

func checkError(t *testing.T, err error, want []string, req request) {
	t.Helper()
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want an *Error\nrequest: %v", err, req)
	}
	msg := err.Error()
	first, _, _ := strings.Cut(msg, "\n")
	for _, w := range want {
		if !strings.Contains(first, w) {
			t.Errorf("first line of the error lacks %q:\n%s", w, msg)
		}
	}
	if n := strings.Count(msg, "\n"); n > 1 {
		t.Errorf("error has %d lines, want at most 2:\n%s", n+1, msg)
	}
	t.Logf("%s", msg)
}

// TestGapsAreUsed keeps gaps.go honest: every entry must change the outcome
// for one of the requests of validCalls or invalidCalls.
func TestGapsAreUsed(t *testing.T) {
	v := testValidator(t)
	var calls []func(s *discordgo.Session)
	for _, tc := range validCalls {
		calls = append(calls, tc.call)
	}
	for _, tc := range invalidCalls {
		calls = append(calls, tc.call)
	}
	outcome := func(err error) string {
		if err == nil {
			return "ok"
		}
		return err.Error()
	}
	used := make([]bool, len(gaps))
	for _, call := range calls {
		req := send(t, call)
		with := outcome(v.validate(gaps, req.method, req.path, req.rawQuery, req.contentType, req.body))
		for i := range gaps {
			without := slices.Delete(slices.Clone(gaps), i, i+1)
			if outcome(v.validate(without, req.method, req.path, req.rawQuery, req.contentType, req.body)) != with {
				used[i] = true
			}
		}
	}
	for i, g := range gaps {
		if !used[i] {
			t.Errorf("gap %s %s %+v changes nothing for the requests of validCalls and invalidCalls", g.method, g.route, g)
		}
	}
}

func TestLocate(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	specFile := filepath.Join(root, "shared", "discord-api-spec", "openapi.json")
	if err := os.MkdirAll(filepath.Dir(specFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(specFile, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	pkgDir := filepath.Join(root, "main", "bot", "discordtest", "spec")
	if err := os.MkdirAll(pkgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()

	tests := []struct {
		name, env, dir string
		want           string   // the path found
		wantErr        []string // substrings of the error
	}{
		{name: "walks up from a package directory", dir: pkgDir, want: specFile},
		{name: "found in the directory itself", dir: root, want: specFile},
		{name: "environment wins", env: specFile, dir: elsewhere, want: specFile},
		{name: "nothing found", dir: elsewhere,
			wantErr: []string{EnvSpecPath + " is unset", filepath.Join("shared", "discord-api-spec", "openapi.json"), elsewhere, "parent directories", "set " + EnvSpecPath}},
		{name: "environment names a missing file", env: filepath.Join(elsewhere, "nope.json"), dir: pkgDir,
			wantErr: []string{EnvSpecPath + "=", "nope.json", "no such file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Locate(tc.env, tc.dir)
			if tc.wantErr == nil {
				if err != nil || got != tc.want {
					t.Fatalf("Locate = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Locate = %q, want an error", got)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(notJSON, []byte("{]"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "missing.json"), notJSON} {
		if _, err := Load(p); err == nil {
			t.Errorf("Load(%s) succeeded", p)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	e := &Error{Method: "POST", Path: "/api/v9/channels/1/messages", Route: "/channels/{channel_id}/messages",
		Problems: []Problem{{"body field content", "got number, want string"}, {"body field tts", "got string, want boolean"}, {"body", "x"}},
		More:     2}
	want := "discord spec: POST /api/v9/channels/1/messages (/channels/{channel_id}/messages): body field content: got number, want string\n" +
		"  also body field tts: got string, want boolean (and 3 more)"
	if got := e.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
