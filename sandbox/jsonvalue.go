package sandbox

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// jsonValue builds JS values straight from JSON text from the trusted side
// (module data, host call results). goja's JSON.parse goes through
// encoding/json's token stream and was half the cost of an event
// (measured); this reads the bytes once. Objects get own data properties,
// as JSON.parse makes them, so no setter on a prototype runs. Nesting is
// bounded by maxDepth.
func jsonValue(rt *goja.Runtime, data []byte, maxDepth int) (goja.Value, error) {
	return jsonValueKeys(rt, data, maxDepth, nil)
}

// jsonValueKeys is jsonValue with a table of object keys seen before
// (nil for none), which it adds to: module data repeats the same keys on
// every event, and a key found there costs no allocation.
func jsonValueKeys(rt *goja.Runtime, data []byte, maxDepth int, keys map[string]string) (goja.Value, error) {
	p := jsonParser{rt: rt, b: data, maxDepth: maxDepth, keys: keys}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.b) {
		return nil, errJSON
	}
	return v, nil
}

var errJSON = errors.New("malformed JSON")

type jsonParser struct {
	rt       *goja.Runtime
	b        []byte
	i        int
	maxDepth int
	u16      []uint16
	keys     map[string]string
}

// Keys are remembered only while the table is small and they are short:
// host call results carry outside data (HTTP bodies) whose keys are
// anyone's choice.
const (
	maxKeyTable = 512
	maxTableKey = 32
)

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (goja.Value, error) {
	if p.i >= len(p.b) {
		return nil, errJSON
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		return p.string()
	case c == 't':
		return p.literal("true", goja.Value(p.rt.ToValue(true)))
	case c == 'f':
		return p.literal("false", goja.Value(p.rt.ToValue(false)))
	case c == 'n':
		return p.literal("null", goja.Null())
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, errJSON
}

func (p *jsonParser) literal(word string, v goja.Value) (goja.Value, error) {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return nil, errJSON
	}
	p.i += len(word)
	return v, nil
}

func (p *jsonParser) object(depth int) (goja.Value, error) {
	if depth > p.maxDepth {
		return nil, errJSON
	}
	p.i++ // {
	obj := p.rt.NewObject()
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return obj, nil
	}
	proto := obj.Prototype()
	_ = obj.SetPrototype(nil)
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, errJSON
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, errJSON
		}
		p.i++
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		if err := obj.Set(key, v); err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.b) {
			return nil, errJSON
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			_ = obj.SetPrototype(proto)
			return obj, nil
		default:
			return nil, errJSON
		}
	}
}

func (p *jsonParser) array(depth int) (goja.Value, error) {
	if depth > p.maxDepth {
		return nil, errJSON
	}
	p.i++ // [
	var items []any
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return p.rt.NewArray(), nil
	}
	for {
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		p.space()
		if p.i >= len(p.b) {
			return nil, errJSON
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return p.rt.NewArray(items...), nil
		default:
			return nil, errJSON
		}
	}
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, JSON's grammar.
func (p *jsonParser) number() (goja.Value, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case digits() == 0:
		return nil, errJSON
	}
	integer := true
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		integer = false
		if digits() == 0 {
			return nil, errJSON
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		integer = false
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, errJSON
		}
	}
	text := string(p.b[start:p.i])
	if integer {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil && n > -1<<53 && n < 1<<53 {
			return p.rt.ToValue(n), nil
		}
	}
	// Out of range parses to ±Inf or 0, as JSON.parse does.
	f, _ := strconv.ParseFloat(text, 64)
	return p.rt.ToValue(f), nil
}

// key reads an object key as a Go string (lone surrogates become U+FFFD).
func (p *jsonParser) key() (string, error) {
	start := p.i + 1
	for end := start; end < len(p.b); end++ {
		c := p.b[end]
		if c == '\\' || c < 0x20 {
			break // escapes: the general path
		}
		if c != '"' {
			continue
		}
		p.i = end + 1
		b := p.b[start:end]
		if k, ok := p.keys[string(b)]; ok {
			return k, nil
		}
		k := string(b)
		if p.keys != nil && len(p.keys) < maxKeyTable && len(k) <= maxTableKey {
			p.keys[k] = k
		}
		return k, nil
	}
	v, err := p.string()
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

// string reads a JSON string; escapes of lone surrogates are kept, as JS
// strings keep them.
func (p *jsonParser) string() (goja.Value, error) {
	p.i++ // opening quote
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := string(p.b[start:p.i])
			p.i++
			return p.rt.ToValue(s), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	// Slow path: escapes. Decode to UTF-16, as JS strings are.
	u := append(p.u16[:0], utf16.Encode([]rune(string(p.b[start:p.i])))...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			p.u16 = u
			return goja.StringFromUTF16(slicesClone16(u)), nil
		case c < 0x20:
			return nil, errJSON
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return nil, errJSON
			}
			e := p.b[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				u = append(u, uint16(e))
			case 'b':
				u = append(u, '\b')
			case 'f':
				u = append(u, '\f')
			case 'n':
				u = append(u, '\n')
			case 'r':
				u = append(u, '\r')
			case 't':
				u = append(u, '\t')
			case 'u':
				if p.i+4 > len(p.b) {
					return nil, errJSON
				}
				n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 16)
				if err != nil {
					return nil, errJSON
				}
				u = append(u, uint16(n))
				p.i += 4
			default:
				return nil, errJSON
			}
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			p.i += size
			u = utf16.AppendRune(u, r)
		}
	}
	return nil, errJSON
}

func slicesClone16(u []uint16) []uint16 { return append([]uint16(nil), u...) }
