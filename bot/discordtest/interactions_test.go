package discordtest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// commandBot opens a bot that registers /echo, /upload and /pick for the
// guild and answers interactions with handle.
func commandBot(t *testing.T, f *fixture, handle func(s *discordgo.Session, i *discordgo.InteractionCreate)) *discordgo.Session {
	t.Helper()
	s := newBot(t, f.srv, allIntents)
	s.AddHandler(handle)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBot(s) })
	_, err := s.ApplicationCommandBulkOverwrite(f.srv.ApplicationID(), f.guild.ID, []*discordgo.ApplicationCommand{
		{Name: "echo", Description: "Repeat a text", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionString, Name: "text", Description: "What to say", Required: true},
			{Type: discordgo.ApplicationCommandOptionBoolean, Name: "private", Description: "Only for you"},
		}},
		{Name: "upload", Description: "Upload a file", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionAttachment, Name: "file", Description: "The file", Required: true},
		}},
		{Name: "pick", Description: "Pick a fruit", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionString, Name: "fruit", Description: "Fruit", Autocomplete: true},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSlashCommandResponse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	seen := make(chan *discordgo.InteractionCreate, 1)
	commandBot(t, f, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		seen <- i
		text := i.ApplicationCommandData().GetOption("text").StringValue()
		_ = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "you said: " + text},
		})
	})
	if cmds := f.srv.Commands(f.guild.ID); len(cmds) != 3 || cmds[0].Name != "echo" {
		t.Fatalf("commands = %+v", cmds)
	}

	it, err := f.srv.RunSlash(SlashInput{
		GuildID: f.guild.ID, ChannelID: f.general.ID, UserID: f.bob.UserID, Name: "echo",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "text", Value: "hi"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := it.WaitResponse(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Type != ResponseMessage || resp.Ephemeral || resp.Message == nil || resp.Message.Content != "you said: hi" {
		t.Fatalf("response = %+v", resp)
	}
	if resp.Message.Type != discordgo.MessageTypeChatInputCommand || resp.Message.InteractionMetadata == nil ||
		resp.Message.InteractionMetadata.User.ID != f.bob.UserID {
		t.Errorf("response message = %+v", resp.Message)
	}
	msgs := f.srv.Messages(f.general.ID)
	if len(msgs) != 1 || msgs[0].ID != resp.Message.ID {
		t.Errorf("channel messages = %v: a non-ephemeral response is a channel message", contents(msgs))
	}

	i := <-seen
	if i.Member == nil || i.Member.User.ID != f.bob.UserID || i.GuildID != f.guild.ID {
		t.Errorf("interaction member = %+v", i.Member)
	}
	if want := f.srv.MemberPermissions(f.guild.ID, f.bob.UserID); i.Member.Permissions != want {
		t.Errorf("member permissions = %d, want %d (sent as a string)", i.Member.Permissions, want)
	}
	if i.AppPermissions != DefaultBotPermissions|DefaultEveryonePermissions {
		t.Errorf("app_permissions = %d", i.AppPermissions)
	}
	if opt := i.ApplicationCommandData().GetOption("text"); opt.Type != discordgo.ApplicationCommandOptionString {
		t.Errorf("option type = %v, want it filled from the command", opt.Type)
	}

	// Unknown commands and options are test mistakes, reported at once.
	if _, err := f.srv.RunSlash(SlashInput{GuildID: f.guild.ID, ChannelID: f.general.ID, UserID: f.bob.UserID, Name: "nope"}); err == nil {
		t.Error("ran an unregistered command")
	}
	if _, err := f.srv.RunSlash(SlashInput{GuildID: f.guild.ID, ChannelID: f.general.ID, UserID: f.bob.UserID, Name: "echo",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "txt", Value: "typo"}}}); err == nil {
		t.Error("ran a command with an undefined option")
	}
}

func TestSecondResponseAndLateResponse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		opts     Options
		wantCode int
		second   bool
	}{
		{"second response is refused", Options{}, 40060, true},
		{"response after the deadline is refused", Options{InteractionDeadline: time.Nanosecond}, 10062, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.opts)
			errs := make(chan error, 2)
			commandBot(t, f, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
				resp := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
					Data: &discordgo.InteractionResponseData{Content: "ok"}}
				errs <- s.InteractionRespond(i.Interaction, resp)
				if tc.second {
					errs <- s.InteractionRespond(i.Interaction, resp)
				}
			})
			if _, err := f.srv.RunSlash(SlashInput{GuildID: f.guild.ID, ChannelID: f.general.ID, UserID: f.alice.UserID, Name: "echo",
				Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "text", Value: "x"}}}); err != nil {
				t.Fatal(err)
			}
			err := <-errs
			if tc.second {
				if err != nil {
					t.Fatalf("first response: %v", err)
				}
				err = <-errs
			}
			if err == nil {
				t.Fatal("response accepted")
			}
			if _, code := restCode(t, err); code != tc.wantCode {
				t.Errorf("code = %d, want %d", code, tc.wantCode)
			}
		})
	}
}

func TestDeferredFollowupAndEditOriginal(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	commandBot(t, f, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		if err := s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
		}); err != nil {
			t.Error(err)
			return
		}
		done := "done: " + i.ApplicationCommandData().GetOption("text").StringValue()
		if _, err := s.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &done}); err != nil {
			t.Error(err)
		}
		fu, err := s.FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{Content: "one more thing"})
		if err != nil {
			t.Error(err)
			return
		}
		edited := "one more thing (edited)"
		if _, err := s.FollowupMessageEdit(i.Interaction, fu.ID, &discordgo.WebhookEdit{Content: &edited}); err != nil {
			t.Error(err)
		}
		if orig, err := s.InteractionResponse(i.Interaction); err != nil || orig.Content != done {
			t.Errorf("GET @original = %+v, %v", orig, err)
		}
	})
	it, err := f.srv.RunSlash(SlashInput{GuildID: f.guild.ID, ChannelID: f.general.ID, UserID: f.alice.UserID, Name: "echo",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "text", Value: "build"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	m, err := it.WaitMessage(ctx, func(m *discordgo.Message) bool { return m.Content == "done: build" })
	if err != nil {
		t.Fatal(err)
	}
	if m.Flags&discordgo.MessageFlagsLoading != 0 {
		t.Errorf("edited response still loading: flags %b", m.Flags)
	}
	resp := it.Response()
	if resp.Type != ResponseDeferred || !resp.Ephemeral {
		t.Errorf("response = %+v, want an ephemeral deferred response", resp)
	}
	if _, err := it.WaitMessage(ctx, func(m *discordgo.Message) bool { return m.Content == "one more thing (edited)" }); err != nil {
		t.Fatal(err)
	}
	if fus := it.Followups(); len(fus) != 1 {
		t.Errorf("followups = %d", len(fus))
	}
	// The ephemeral response is not a channel message; the followup is.
	if msgs := f.srv.Messages(f.general.ID); len(msgs) != 1 || msgs[0].Content != "one more thing (edited)" {
		t.Errorf("channel = %v", contents(msgs))
	}
}

func TestButtonAndModal(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := commandBot(t, f, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		var resp *discordgo.InteractionResponse
		switch i.Type {
		case discordgo.InteractionMessageComponent:
			resp = &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
				CustomID: "feedback", Title: "Feedback",
				Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
					discordgo.TextInput{CustomID: "comment", Label: "Comment", Style: discordgo.TextInputParagraph, Required: true},
				}}},
			}}
		case discordgo.InteractionModalSubmit:
			data := i.ModalSubmitData()
			row := data.Components[0].(*discordgo.ActionsRow)
			text := row.Components[0].(*discordgo.TextInput).Value
			resp = &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage, Data: &discordgo.InteractionResponseData{
				Content: "thanks for: " + text, Components: []discordgo.MessageComponent{},
			}}
		default:
			return
		}
		if err := s.InteractionRespond(i.Interaction, resp); err != nil {
			t.Error(err)
		}
	})
	msg, err := s.ChannelMessageSendComplex(f.general.ID, &discordgo.MessageSend{
		Content: "Rate us",
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Give feedback", CustomID: "open-feedback"},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.ClickButton(f.general.ID, msg.ID, f.alice.UserID, "nope"); err == nil {
		t.Error("clicked a button that does not exist")
	}
	click, err := f.srv.ClickButton(f.general.ID, msg.ID, f.alice.UserID, "open-feedback")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := click.WaitResponse(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Type != ResponseModal || resp.Modal == nil || resp.Modal.CustomID != "feedback" || resp.Modal.Title != "Feedback" {
		t.Fatalf("response = %+v", resp)
	}
	if _, err := f.srv.SubmitModal(click, f.alice.UserID, "feedback", map[string]string{"other": "x"}); err == nil {
		t.Error("submitted a modal with an unknown input and without the required one")
	}
	submit, err := f.srv.SubmitModal(click, f.alice.UserID, "feedback", map[string]string{"comment": "great bot"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = submit.WaitResponse(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Type != ResponseUpdate || resp.Message == nil || resp.Message.ID != msg.ID || resp.Message.Content != "thanks for: great bot" {
		t.Fatalf("response = %+v", resp)
	}
	if got, _ := f.srv.Message(f.general.ID, msg.ID); len(got.Components) != 0 || got.EditedTimestamp == nil {
		t.Errorf("updated message = %+v", got)
	}
}

func TestSlashAttachmentDownload(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	got := make(chan string, 1)
	commandBot(t, f, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		data := i.ApplicationCommandData()
		id, _ := data.GetOption("file").Value.(string)
		att := data.Resolved.Attachments[id]
		resp, err := s.Client.Get(att.URL)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- att.Filename + ":" + string(b)
		_ = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "stored", Flags: discordgo.MessageFlagsEphemeral},
		})
	})
	for _, in := range []SlashInput{
		{Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "file", Value: Upload{Filename: "hello.skyext", Data: []byte("// code")}}}},
		{Attachments: []Upload{{Filename: "hello.skyext", Data: []byte("// code"), Option: "file"}}},
	} {
		in.GuildID, in.ChannelID, in.UserID, in.Name = f.guild.ID, f.general.ID, f.alice.UserID, "upload"
		it, err := f.srv.RunSlash(in)
		if err != nil {
			t.Fatal(err)
		}
		if g := <-got; g != "hello.skyext:// code" {
			t.Errorf("bot downloaded %q", g)
		}
		if resp, err := it.WaitResponse(testContext(t)); err != nil || !resp.Ephemeral {
			t.Errorf("response = %+v, %v", resp, err)
		}
	}
	// A wrong CDN path is a 404, like the CDN's.
	resp, err := f.srv.HTTPClient().Get("https://cdn.discordapp.com/attachments/1/2/x.txt")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status = %d", resp.StatusCode)
	}
}

func TestAutocomplete(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	commandBot(t, f, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		if i.Type != discordgo.InteractionApplicationCommandAutocomplete {
			return
		}
		opt := i.ApplicationCommandData().GetOption("fruit")
		var choices []*discordgo.ApplicationCommandOptionChoice
		for _, fruit := range []string{"apple", "apricot", "banana"} {
			if opt.Focused && strings.HasPrefix(fruit, opt.StringValue()) {
				choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: fruit, Value: fruit})
			}
		}
		_ = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: choices},
		})
	})
	it, err := f.srv.Autocomplete(SlashInput{GuildID: f.guild.ID, ChannelID: f.general.ID, UserID: f.alice.UserID, Name: "pick",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{{Name: "fruit", Value: "ap"}}}, "fruit")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := it.WaitResponse(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Type != ResponseAutocomplete || len(resp.Choices) != 2 || resp.Choices[1].Name != "apricot" {
		t.Errorf("response = %+v", resp)
	}
}

func TestSelectMenuUpdateWithFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := commandBot(t, f, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		if i.Type != discordgo.InteractionMessageComponent {
			return
		}
		data := i.MessageComponentData()
		if err := s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{
				Content: "you picked " + strings.Join(data.Values, ","),
				Files:   []*discordgo.File{{Name: "pick.txt", ContentType: "text/plain", Reader: strings.NewReader(data.Values[0])}},
			},
		}); err != nil {
			t.Error(err)
		}
	})
	menu, err := s.ChannelMessageSendComplex(f.general.ID, &discordgo.MessageSend{
		Content: "Pick",
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.SelectMenu{CustomID: "fruit", Options: []discordgo.SelectMenuOption{{Label: "Apple", Value: "apple"}, {Label: "Pear", Value: "pear"}}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.ClickButton(f.general.ID, menu.ID, f.alice.UserID, "fruit"); err == nil {
		t.Error("clicked a select menu as a button")
	}
	it, err := f.srv.SelectMenu(f.general.ID, menu.ID, f.alice.UserID, "fruit", []string{"pear"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := it.WaitResponse(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Type != ResponseMessage || resp.Message.Content != "you picked pear" || len(resp.Message.Attachments) != 1 {
		t.Fatalf("response = %+v", resp.Message)
	}
	data, ok := f.srv.Attachment(resp.Message.Attachments[0].ID)
	if !ok || string(data) != "pear" {
		t.Errorf("attachment = %q", data)
	}
}

func TestGlobalCommandInDM(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := newBot(t, f.srv, allIntents)
	users := make(chan string, 1)
	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		if i.User != nil {
			users <- i.User.ID
		}
		_ = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "pong"},
		})
	})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBot(s) })
	if _, err := s.ApplicationCommandCreate(f.srv.ApplicationID(), "", &discordgo.ApplicationCommand{Name: "ping", Description: "Ping"}); err != nil {
		t.Fatal(err)
	}
	if cmds := f.srv.Commands(""); len(cmds) != 1 || cmds[0].Name != "ping" {
		t.Fatalf("global commands = %+v", cmds)
	}
	it, err := f.srv.RunSlash(SlashInput{UserID: f.alice.UserID, Name: "ping"})
	if err != nil {
		t.Fatal(err)
	}
	if got := <-users; got != f.alice.UserID {
		t.Errorf("interaction user = %s", got)
	}
	if resp, err := it.WaitResponse(testContext(t)); err != nil || resp.Message == nil || resp.Message.Content != "pong" {
		t.Fatalf("response = %+v, %v", resp, err)
	}
	if dms := f.srv.DMs(f.alice.UserID); len(dms) != 1 || dms[0].Content != "pong" {
		t.Errorf("DMs = %v", contents(dms))
	}
}

func TestDefaultMemberPermissionsHideCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := newBot(t, f.srv, allIntents)
	ban := int64(discordgo.PermissionBanMembers)
	if _, err := s.ApplicationCommandBulkOverwrite(f.srv.ApplicationID(), f.guild.ID, []*discordgo.ApplicationCommand{
		{Name: "purge", Description: "Moderators only", DefaultMemberPermissions: &ban},
	}); err != nil {
		t.Fatal(err)
	}
	in := SlashInput{GuildID: f.guild.ID, ChannelID: f.general.ID, UserID: f.alice.UserID, Name: "purge"}
	if _, err := f.srv.RunSlash(in); err == nil {
		t.Error("a member without Ban Members ran /purge")
	}
	in.UserID = f.guild.OwnerID
	if _, err := f.srv.RunSlash(in); err != nil {
		t.Errorf("the owner could not run /purge: %v", err)
	}
	if cmds := f.srv.Commands(f.guild.ID); cmds[0].DefaultMemberPermissions == nil || *cmds[0].DefaultMemberPermissions != ban {
		t.Errorf("stored default_member_permissions = %v", cmds[0].DefaultMemberPermissions)
	}

	// A guild admin's Integrations override replaces the default: here the
	// mod role may use /purge, everyone else still may not.
	if err := f.srv.AllowCommand(f.guild.ID, "purge", f.mod.ID); err != nil {
		t.Fatal(err)
	}
	in.UserID = f.bob.UserID
	if _, err := f.srv.RunSlash(in); err != nil {
		t.Errorf("a member of an allowed role could not run /purge: %v", err)
	}
	in.UserID = f.alice.UserID
	if _, err := f.srv.RunSlash(in); err == nil {
		t.Error("a member outside the override ran /purge")
	}
	if err := f.srv.AllowCommand(f.guild.ID, "purge", f.guild.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.RunSlash(in); err != nil {
		t.Errorf("with @everyone allowed, a member could not run /purge: %v", err)
	}
}
