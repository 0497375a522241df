package store

import (
	"context"
	"testing"
	"time"
)

func TestModlog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	s := newStore(t, WithClock(c.Now))
	v := save(t, s, "mod", "", "1", "1.0.0")

	add := func(e ModlogEntry) ModlogEntry {
		t.Helper()
		got, err := s.AppendModlog(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Second)
		return got
	}
	ban := add(ModlogEntry{GuildID: "g", Action: "ban", UserID: "ann", Actor: "ext:mod", ExtensionID: v.ExtensionID, Reason: "spam"})
	if ban.ID == 0 || !ban.At.Equal(time.UnixMilli(1_700_000_000_000).UTC()) {
		t.Fatalf("appended = %+v, want an id and the clock's time", ban)
	}
	add(ModlogEntry{GuildID: "g", Action: "warn", UserID: "bob", Actor: "ext:mod", ExtensionID: v.ExtensionID})
	add(ModlogEntry{GuildID: "other", Action: "kick", UserID: "ann", Actor: "42"})
	last := add(ModlogEntry{GuildID: "g", Action: "unban", UserID: "ann", Actor: "42", Reason: "appeal"})

	tests := []struct {
		name    string
		guild   GuildID
		user    UserID
		limit   int
		actions []string
	}{
		{"whole guild, newest first", "g", "", 0, []string{"unban", "warn", "ban"}},
		{"limited", "g", "", 2, []string{"unban", "warn"}},
		{"one user", "g", "ann", 10, []string{"unban", "ban"}},
		{"other guild", "other", "", 10, []string{"kick"}},
		{"nobody", "g", "zed", 10, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			es, err := s.Modlog(ctx, tc.guild, tc.user, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Action)
			}
			if len(got) != len(tc.actions) {
				t.Fatalf("actions = %v, want %v", got, tc.actions)
			}
			for i := range got {
				if got[i] != tc.actions[i] {
					t.Fatalf("actions = %v, want %v", got, tc.actions)
				}
			}
		})
	}

	es, err := s.Modlog(ctx, "g", "ann", 0)
	if err != nil {
		t.Fatal(err)
	}
	if es[0] != last || es[0].ExtensionID != 0 || es[1].ExtensionID != v.ExtensionID || es[1].Reason != "spam" || es[1].Actor != "ext:mod" {
		t.Fatalf("entries = %+v", es)
	}
}

func TestModlogRefusesIncompleteEntries(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for _, e := range []ModlogEntry{
		{Action: "ban", UserID: "u", Actor: "a"},
		{GuildID: "g", UserID: "u", Actor: "a"},
		{GuildID: "g", Action: "ban", Actor: "a"},
		{GuildID: "g", Action: "ban", UserID: "u"},
	} {
		if _, err := s.AppendModlog(context.Background(), e); err == nil {
			t.Errorf("AppendModlog(%+v) succeeded", e)
		}
	}
	if es, err := s.Modlog(context.Background(), "g", "", 0); err != nil || len(es) != 0 {
		t.Fatalf("modlog after refusals = %v, %v", es, err)
	}
}
