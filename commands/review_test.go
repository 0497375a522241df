package commands

import (
	"strings"
	"testing"
)

func TestLineDiff(t *testing.T) {
	t.Parallel()
	split := func(s string) []string { return strings.Split(s, "\n") }
	for _, tt := range []struct {
		name, old, new string
		want           []string
	}{
		{"equal", "a\nb", "a\nb", nil},
		{"one line changed", "a\nb\nc", "a\nB\nc", []string{"@@ line 2 @@", "- b", "+ B"}},
		{"added at the end", "a", "a\nb", []string{"@@ line 2 @@", "+ b"}},
		{"removed in the middle", "a\nb\nc\nd", "a\nd", []string{"@@ line 2 @@", "- b", "- c"}},
		{"kept line inside a change", "x\nk\ny", "p\nk\nq", []string{"@@ line 1 @@", "- x", "+ p", "  k", "- y", "+ q"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := lineDiff(split(tt.old), split(tt.new))
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("lineDiff = %q, want %q", got, tt.want)
			}
		})
	}
}

// A long diff is cut to its budget and says how much is left out.
func TestDiffBlockTruncates(t *testing.T) {
	t.Parallel()
	var old, new []string
	for i := range 200 {
		old = append(old, strings.Repeat("o", 20)+string(rune('a'+i%26)))
		new = append(new, strings.Repeat("n", 20)+string(rune('a'+i%26)))
	}
	got := diffBlock("Code", old, new, 500)
	if len(got) > 500 || !strings.Contains(got, " more lines") || !strings.HasPrefix(got, "Code:\n```diff\n") {
		t.Fatalf("diffBlock = %d chars: %q", len(got), got)
	}
}
