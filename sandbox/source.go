package sandbox

import (
	"fmt"
	"strings"
)

// Source shapes that goja's parser and compiler handle with native
// recursion or in quadratic time are refused before parsing: the parser
// runs in the trusted parent (at install) as well as in the workers, and
// neither a stack overflow nor a minute of compile time can be interrupted.
//
// Measured with goja's parser and compiler: each level of bracket nesting
// costs 1.6–3.2 KB of Go stack (so 256 KiB of source stays far from the
// 1 GB stack limit even if this scanner were fooled), and an operator chain
// of n terms compiles in O(n²): 1,000 terms ~5 ms, 10,000 terms ~5 s.
const (
	maxSourceBytes   = 256 << 10 // a ceiling under the manager's configured limit
	maxSourceNesting = 256       // (, [, { and ${
	maxOperatorChain = 1000      // operators of one expression at one bracket level
)

// checkSource refuses code whose shape would make the parser or compiler
// recurse too deeply or run too long.
func checkSource(code string) (sourceShape, error) {
	if len(code) > maxSourceBytes {
		return sourceShape{}, fmt.Errorf("the code is %d bytes; the limit is %d", len(code), maxSourceBytes)
	}
	sh := scanSource(code)
	if sh.nesting > maxSourceNesting {
		return sh, fmt.Errorf("line %d: brackets nest more than %d deep", sh.line, maxSourceNesting)
	}
	if sh.chain > maxOperatorChain {
		return sh, fmt.Errorf("line %d: one expression chains more than %d operators", sh.line, maxOperatorChain)
	}
	return sh, nil
}

// sourceShape is what scanSource measured.
type sourceShape struct {
	nesting int // deepest bracket nesting
	chain   int // longest operator chain at one level
	line    int // 1-based line where a limit was first exceeded
	regexps int // regular expression literals
}

// What the previous significant token lets a '/' mean.
type slashMeaning uint8

const (
	slashRegexp   slashMeaning = iota // after an operator, '(' , ',' ... or a keyword
	slashDivision                     // after an operand
)

// scanLevel is one open bracket.
type scanLevel struct {
	close byte // the byte that closes it; '`' for a template substitution
	chain int  // operators counted at this level since the last , or ;
	// after closing, whether a '/' starts a regular expression: true after
	// the condition of if/while/for/with and after a block.
	regexpAfter bool
}

// scanSource walks code once, as a lexer would, skipping comments,
// strings, template text and regular expression literals. It is not a
// parser: where JavaScript's grammar decides between a division and a
// regular expression it follows the usual lexer heuristics (previous
// token, keyword, block or object literal), and where a literal does not
// close on its line it counts the text as code, over-counting rather than
// hiding brackets. It stops once a limit is exceeded.
func scanSource(code string) sourceShape {
	var sh sourceShape
	stack := make([]scanLevel, 1, 16)
	line := 1
	slash := slashRegexp
	var prevByte byte     // last significant byte; 0 at the start
	var lastWord string   // the identifier or keyword just before, if any
	var operator []byte   // the operator run being read, e.g. "=>" or "++"
	operatorStart := true // the next operator byte starts a new run

	over := func() bool {
		depth := len(stack) - 1
		if depth > sh.nesting {
			sh.nesting = depth
		}
		if c := stack[len(stack)-1].chain; c > sh.chain {
			sh.chain = c
		}
		if sh.nesting > maxSourceNesting || sh.chain > maxOperatorChain {
			sh.line = line
			return true
		}
		return false
	}
	endOperator := func() {
		if len(operator) > 0 {
			op := string(operator)
			if op == "++" || op == "--" {
				slash = slashDivision
			} else {
				slash = slashRegexp
			}
			prevByte = operator[len(operator)-1]
			if op == "=>" {
				prevByte = '>'
			}
			lastWord = ""
			operator = operator[:0]
		}
		operatorStart = true
	}
	// templateText scans template text from i; it returns the index of the
	// closing backtick, or of the '{' of a "${" (open), or -1.
	templateText := func(i int) (end int, open bool) {
		for j := i; j < len(code); j++ {
			switch code[j] {
			case '\\':
				j++
				if j < len(code) && code[j] == '\n' {
					line++
				}
			case '\n':
				line++
			case '`':
				return j, false
			case '$':
				if j+1 < len(code) && code[j+1] == '{' {
					return j + 1, true
				}
			}
		}
		return -1, false
	}

	n := len(code)
	for i := 0; i < n; i++ {
		c := code[i]
		if c == '/' && !operatorStart {
			// No operator continues with a slash: "=/" is an assignment
			// followed by a regular expression.
			endOperator()
		}
		if isOperatorByte(c) && !(c == '/' && i+1 < n && (code[i+1] == '/' || code[i+1] == '*')) &&
			!(c == '/' && slash == slashRegexp && operatorStart) {
			if operatorStart {
				top := &stack[len(stack)-1]
				top.chain++
				if over() {
					return sh
				}
				operatorStart = false
			}
			operator = append(operator, c)
			continue
		}
		endOperator()

		switch {
		case c == '\n':
			line++
			// A line break ends the chain where a statement may end
			// (automatic semicolon insertion) and the next line does not
			// continue it with an operator.
			if slash == slashDivision || prevByte == '}' {
				if j := nextSignificant(code, i+1); j >= n || !isOperatorByte(code[j]) || strings.HasPrefix(code[j:], "//") || strings.HasPrefix(code[j:], "/*") {
					stack[len(stack)-1].chain = 0
				}
			}
		case c == ' ' || c == '\t' || c == '\r':
		case c == '/' && i+1 < n && code[i+1] == '/':
			for i+1 < n && code[i+1] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && code[i+1] == '*':
			end := strings.Index(code[i+2:], "*/")
			if end < 0 {
				return sh // the parser stops here too
			}
			line += strings.Count(code[i:i+2+end], "\n")
			i += end + 3
		case c == '/': // slash == slashRegexp: a regular expression literal
			end, depth, ok := regexpLiteral(code, i)
			if !ok {
				// Not a literal on this line: count the slash as an operator.
				stack[len(stack)-1].chain++
				if over() {
					return sh
				}
				slash, prevByte = slashRegexp, '/'
				continue
			}
			if d := len(stack) - 1 + depth; d > sh.nesting {
				sh.nesting = d
				if d > maxSourceNesting {
					sh.line = line
					return sh
				}
			}
			i = end
			sh.regexps++
			slash, prevByte, lastWord = slashDivision, '/', ""
		case c == '\'' || c == '"':
			end, lines, ok := quotedLiteral(code, i)
			if !ok {
				// Unterminated: the parser fails at the line break; count
				// the rest of the line as code.
				continue
			}
			line += lines
			i = end
			slash, prevByte, lastWord = slashDivision, c, ""
		case c == '`':
			end, open := templateText(i + 1)
			if end < 0 {
				continue // unterminated: count the rest as code
			}
			i = end
			if open {
				stack = append(stack, scanLevel{close: '`'})
				if over() {
					return sh
				}
				slash, prevByte, lastWord = slashRegexp, '{', ""
			} else {
				slash, prevByte, lastWord = slashDivision, '`', ""
			}
		case c == '(' || c == '[' || c == '{':
			lv := scanLevel{close: ')'}
			switch c {
			case '(':
				switch lastWord {
				case "if", "while", "for", "with":
					lv.regexpAfter = true
				}
			case '[':
				lv.close = ']'
			case '{':
				lv.close = '}'
				lv.regexpAfter = opensBlock(prevByte, lastWord)
			}
			stack = append(stack, lv)
			if over() {
				return sh
			}
			slash, prevByte, lastWord = slashRegexp, c, ""
		case c == ')' || c == ']' || c == '}':
			if len(stack) == 1 {
				slash, prevByte, lastWord = slashDivision, c, ""
				continue
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if top.close == '`' {
				// The end of a template substitution: the text continues.
				end, open := templateText(i + 1)
				if end < 0 {
					continue
				}
				i = end
				if open {
					stack = append(stack, scanLevel{close: '`'})
					slash, prevByte, lastWord = slashRegexp, '{', ""
				} else {
					slash, prevByte, lastWord = slashDivision, '`', ""
				}
				continue
			}
			slash = slashDivision
			if top.regexpAfter {
				slash = slashRegexp
			}
			prevByte, lastWord = c, ""
		case c == ';' || c == ',':
			stack[len(stack)-1].chain = 0
			slash, prevByte, lastWord = slashRegexp, c, ""
		case isWordByte(c):
			start := i
			for i+1 < n && isWordByte(code[i+1]) {
				i++
			}
			lastWord = code[start : i+1]
			prevByte = c
			slash = slashDivision
			if regexpAfterKeyword(lastWord) {
				slash = slashRegexp
			}
		default:
			slash, prevByte, lastWord = slashRegexp, c, ""
		}
	}
	return sh
}

// opensBlock reports whether a '{' after prev (or the keyword word) opens a
// block rather than an object literal.
func opensBlock(prev byte, word string) bool {
	if word != "" {
		switch word {
		case "return", "typeof", "instanceof", "in", "of", "new", "delete", "void",
			"throw", "case", "yield", "await":
			return false
		}
		return true // else, try, finally, do, a class name, ...
	}
	switch prev {
	case 0, ';', '{', '}', ')', '>': // '>' ends "=>"
		return true
	}
	return false
}

// regexpAfterKeyword reports whether a '/' after the word starts a regular
// expression (after a keyword that expects an operand).
func regexpAfterKeyword(word string) bool {
	switch word {
	case "return", "typeof", "instanceof", "in", "of", "new", "delete", "void",
		"throw", "case", "do", "else", "yield", "await":
		return true
	}
	return false
}

func isOperatorByte(c byte) bool {
	switch c {
	case '+', '-', '*', '/', '%', '<', '>', '=', '!', '&', '|', '^', '~', '?', ':':
		return true
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c == '.' || c == '#' || c == '\\' || c >= 0x80 ||
		(c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// quotedLiteral returns the index of the closing quote of the string that
// opens at i (ok false if it does not close before a line break).
func quotedLiteral(code string, i int) (end, lines int, ok bool) {
	q := code[i]
	for j := i + 1; j < len(code); j++ {
		switch code[j] {
		case '\\':
			if j+1 < len(code) && code[j+1] == '\n' {
				lines++
			}
			j++
		case '\n':
			return 0, 0, false
		case q:
			return j, lines, true
		}
	}
	return 0, 0, false
}

// regexpLiteral scans a regular expression literal that opens at i and
// returns its last index (flags included) and the deepest group nesting
// inside it. A literal cannot span lines: without a closing slash on the
// line it is not a literal.
func regexpLiteral(code string, i int) (end, depth int, ok bool) {
	inClass := false
	d := 0
	for j := i + 1; j < len(code); j++ {
		switch code[j] {
		case '\\':
			j++
			if j < len(code) && code[j] == '\n' {
				return 0, 0, false
			}
		case '\n':
			return 0, 0, false
		case '[':
			inClass = true
		case ']':
			inClass = false
		case '(':
			if !inClass {
				d++
				depth = max(depth, d)
			}
		case ')':
			if !inClass && d > 0 {
				d--
			}
		case '/':
			if !inClass {
				for j+1 < len(code) && isWordByte(code[j+1]) {
					j++ // flags
				}
				return j, depth, true
			}
		}
	}
	return 0, 0, false
}

func nextSignificant(code string, i int) int {
	for i < len(code) {
		switch code[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}
