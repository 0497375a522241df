package extensions

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"

	"github.com/skyext/skybot/sandbox"
)

// legacyOpen and legacyClose wrap a legacy body exactly as sandbox.Compile
// does: the opening stays on line 1, so the wrapped source has the file's
// line numbers.
const (
	legacyOpen  = "(async function () {"
	legacyClose = "\n})"
)

// parseForScan parses code for the scan. It first compiles it as the
// sandbox will (source-shape limits, the parser, goja's compiler, the
// legacy wrapper's balance), so that code the sandbox refuses is refused
// here with the same reason and no deeply nested or unbalanced source
// reaches the walker; failed is then the one finding to report.
func parseForScan(man Manifest, code string) (tree *ast.Program, failed *Finding) {
	name := man.Name + ".skyext"
	src := code
	if man.Legacy() {
		src = legacyOpen + code + legacyClose
	}
	if _, err := sandbox.Compile(name, code, man.Legacy()); err != nil {
		f := compileFinding(name, src, err)
		return nil, &f
	}
	tree, err := parser.ParseFile(nil, name, src, 0, parser.WithDisableSourceMaps)
	if err != nil { // Compile parsed the same source; kept for safety
		f := compileFinding(name, src, err)
		return nil, &f
	}
	return tree, nil
}

var lineMessage = regexp.MustCompile(`^line (\d+): (.*)$`)

// compileFinding turns a compile error into the scan's one finding, with
// the line the parser or compiler named.
func compileFinding(name, src string, err error) Finding {
	var (
		list    parser.ErrorList
		syntax  *goja.CompilerSyntaxError
		reflerr *goja.CompilerReferenceError
	)
	switch {
	case errors.As(err, &list) && len(list) > 0:
		first := list[0]
		if importAt(src, first.Position.Line, first.Position.Column) {
			return makeFinding(StageScan, SeverityError, first.Position.Line,
				"import is not available in skybot: load modules with require('name')")
		}
		return makeFinding(StageScan, SeverityError, first.Position.Line, "the code does not parse: %s", first.Message)
	case errors.As(err, &syntax) && syntax.File != nil:
		return makeFinding(StageScan, SeverityError, syntax.File.Position(syntax.Offset).Line, "the code does not compile: %s", syntax.Message)
	case errors.As(err, &reflerr) && reflerr.File != nil:
		return makeFinding(StageScan, SeverityError, reflerr.File.Position(reflerr.Offset).Line, "the code does not compile: %s", reflerr.Message)
	}
	msg := err.Error()
	if m := lineMessage.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return makeFinding(StageScan, SeverityError, line, "the code is refused: %s", m[2])
	}
	return makeFinding(StageScan, SeverityError, escapeLine(name, src), "the code is refused: %s", msg)
}

// importAt reports whether the source at a 1-based line and byte column
// starts with the import keyword, which goja's parser does not know.
func importAt(src string, line, column int) bool {
	for i := 1; i < line; i++ {
		nl := strings.IndexByte(src, '\n')
		if nl < 0 {
			return false
		}
		src = src[nl+1:]
	}
	if column < 1 || column > len(src) {
		return false
	}
	rest := src[column-1:]
	return strings.HasPrefix(rest, "import") && (len(rest) == len("import") || !isIdentByte(rest[len("import")]))
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// escapeLine finds where a legacy body closes its wrapper early: the end
// of the wrapper's function, which the code's extra "}" closed. It is 0
// when that cannot be told.
func escapeLine(name, src string) int {
	tree, err := parser.ParseFile(nil, name, src, 0, parser.WithDisableSourceMaps)
	if err != nil || len(tree.Body) < 2 {
		return 0
	}
	end := int(tree.Body[0].Idx1()) - tree.File.Base() - 1
	if end < 0 {
		return 0
	}
	return tree.File.Position(end).Line
}
