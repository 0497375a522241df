package discordtest

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// fields is a JSON object body whose members can be told apart as absent,
// null or set, which PATCH semantics and interaction responses need.
type fields map[string]json.RawMessage

func (f fields) has(k string) bool { _, ok := f[k]; return ok }

// null reports whether k is present and null.
func (f fields) null(k string) bool {
	v, ok := f[k]
	return ok && bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// into decodes member k into v; absent or null leaves v unchanged.
func (f fields) into(k string, v any) error {
	raw, ok := f[k]
	if !ok || f.null(k) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return formError(k, "MODEL_TYPE_CONVERT", "Could not interpret "+string(raw)+": "+err.Error())
	}
	return nil
}

func (f fields) str(k string) (string, error) {
	var s string
	err := f.into(k, &s)
	return s, err
}

func (f fields) integer(k string) (int, error) {
	var n int
	err := f.into(k, &n)
	return n, err
}

func (f fields) boolean(k string) (bool, error) {
	var b bool
	err := f.into(k, &b)
	return b, err
}

func (f fields) strs(k string) ([]string, error) {
	var s []string
	err := f.into(k, &s)
	return s, err
}

// raws decodes a JSON array into its raw elements; null gives an empty list.
func (f fields) raws(k string) ([]json.RawMessage, error) {
	var l []json.RawMessage
	if err := f.into(k, &l); err != nil {
		return nil, err
	}
	if l == nil {
		l = []json.RawMessage{}
	}
	return l, nil
}

// perms decodes a permission bit set, which Discord sends and accepts as a
// decimal string (a bare number is tolerated).
func (f fields) perms(k string) (int64, error) {
	raw, ok := f[k]
	if !ok || f.null(k) {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, formError(k, "NUMBER_TYPE_COERCE", "Value \""+string(raw)+"\" is not int.")
		}
		return n, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, formError(k, "NUMBER_TYPE_COERCE", "Value \""+s+"\" is not int.")
	}
	return n, nil
}
