package exttest

import (
	"strconv"
	"strings"
	"unicode"
)

// Format writes cases in the case-file grammar, one step per line,
// indented under its case; Parse reads it back to the same cases (line
// numbers aside).
func Format(cases []Case) string {
	var b strings.Builder
	for i, c := range cases {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("case " + c.Name + "\n")
		for _, s := range c.Steps {
			b.WriteString("  " + s.String() + "\n")
		}
	}
	return b.String()
}

// String is the step as a case-file line.
func (s Step) String() string {
	in := ""
	if s.Channel != "" {
		in = " in #" + s.Channel
	}
	switch s.Kind {
	case Say, Click:
		return string(s.Kind) + " " + s.Member + in + ": " + quoteText(s.Text)
	case Slash:
		return "slash " + s.Member + in + ": " + s.Command.String()
	case Join, Leave:
		return string(s.Kind) + " " + s.Member
	case Advance:
		return "advance " + s.Duration.String()
	case ExpectReply, ExpectReplyContains, ExpectLogContains:
		return string(s.Kind) + ": " + quoteText(s.Text)
	case ExpectNoReply:
		return string(s.Kind)
	case ExpectStorage:
		return "expect storage " + quoteWord(s.Key) + " = " + s.JSON
	case ExpectNoStorage:
		return "expect no storage " + quoteWord(s.Key)
	case ExpectBanned, ExpectNotBanned:
		return string(s.Kind) + " " + s.Member
	case ExpectRole, ExpectNoRole:
		return string(s.Kind) + " " + s.Member + " " + quoteText(s.Text)
	}
	return "# unknown step " + strconv.Quote(string(s.Kind))
}

// String is the command as typed after "slash <member>: ".
func (c Command) String() string {
	parts := append([]string{"/" + c.Name}, c.Path...)
	for _, o := range c.Options {
		parts = append(parts, o.Name+"="+quoteWord(o.Value))
	}
	return strings.Join(parts, " ")
}

// quoteText quotes text that would not read back as itself verbatim.
func quoteText(s string) string {
	if s == "" || s != strings.TrimSpace(s) || strings.HasPrefix(s, `"`) || !printable(s, true) {
		return strconv.Quote(s)
	}
	return s
}

// quoteWord quotes a value that is not one plain word.
func quoteWord(s string) string {
	if s == "" || strings.HasPrefix(s, `"`) || !printable(s, false) {
		return strconv.Quote(s)
	}
	return s
}

// printable reports whether s has only printable characters (and, when
// spaces is false, no white space at all).
func printable(s string, spaces bool) bool {
	for _, r := range s {
		if r == unicode.ReplacementChar || unicode.IsSpace(r) && (!spaces || r != ' ') || !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}
