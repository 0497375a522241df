package sandbox

import "testing"

// The parent reads the native site from memory the worker writes: a name
// that is not a builtin's in form is dropped, whatever else is there.
func TestNativeSiteOnThePage(t *testing.T) {
	p := &statusPage{mem: make([]byte, pageSize)}
	if got := p.nativeSite(); got != (nativeSite{}) {
		t.Fatalf("fresh page: %+v", got)
	}
	want := nativeSite{inv: 7, line: 12, col: 29, what: "Array.prototype.indexOf"}
	p.setNative(want)
	if got := p.nativeSite(); got != want {
		t.Fatalf("read %+v, want %+v", got, want)
	}
	for _, what := range []string{"@everyone", "a b", "<script>", "JSON.stringify\n**bold**", ""} {
		p.setNative(nativeSite{inv: 7, line: 1, col: 1, what: what})
		if got := p.nativeSite(); got != (nativeSite{}) {
			t.Errorf("name %q read back as %+v, want nothing", what, got)
		}
	}
	long := "Array.prototype.aVeryLongNameThatDoesNotFitOnThePageAtAll"
	p.setNative(nativeSite{inv: 7, line: 1, col: 1, what: long})
	if got := p.nativeSite(); len(got.what) > maxNativeWhat {
		t.Errorf("name read back with %d bytes, more than the page holds", len(got.what))
	}
	p.setNative(nativeSite{})
	if got := p.nativeSite(); got.inv != 0 {
		t.Errorf("cleared page still names invocation %d", got.inv)
	}
}
