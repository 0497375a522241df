package sandbox

import (
	"sync"

	"github.com/dop251/goja"
)

// jsModules are SkynetBot modules written in plain JavaScript: they need
// no host call and no event data, so every trigger has them. Each source
// is a function expression returning the module object; it is compiled
// once per process and called at most once per run (require caches).
var jsModules = map[string]string{
	// embed: SKYEXT.md part B 3.9, as SkynetBot intended it (its own copy
	// threw, defect D3). create() always returns the same ten keys, null
	// for missing ones (so color 0 becomes null); PINK does not exist.
	"embed": `(function () {
  'use strict';
  var colors = Object.freeze({
    DEFAULT: 0x000000, AQUA: 0x1ABC9C, GREEN: 0x2ECC71, BLUE: 0x3498DB, PURPLE: 0x9B59B6,
    GOLD: 0xF1C40F, ORANGE: 0xE67E22, RED: 0xE74C3C, GREY: 0x95A5A6, NAVY: 0x34495E,
    DARK_AQUA: 0x11806A, DARK_GREEN: 0x1F8B4C, DARK_BLUE: 0x206694, DARK_PURPLE: 0x71368A,
    DARK_GOLD: 0xC27C0E, DARK_ORANGE: 0xA84300, DARK_RED: 0x992D22, DARK_GREY: 0x979C9F,
    LIGHT_GREY: 0xBCC0C0, DARK_NAVY: 0x2C3E50, BLURPLE: 0x5865F2, GREYPLE: 0x99AAB5,
    WHITE: 0xFFFFFF, SUCCESS: 0x00FF00, ERROR: 0xFF0000, WARNING: 0xFFA500, INFO: 0x3498DB
  });
  function create(options) {
    var o = options || {};
    return {
      title: o.title || null, description: o.description || null, url: o.url || null,
      color: o.color || null, timestamp: o.timestamp || null, footer: o.footer || null,
      thumbnail: o.thumbnail || null, image: o.image || null, author: o.author || null,
      fields: o.fields || []
    };
  }
  function resolveColor(c) {
    if (c === 'RANDOM') return Math.floor(Math.random() * 0x1000000);
    if (typeof c === 'string') return parseInt(c.charAt(0) === '#' ? c.slice(1) : c, 16);
    if (Array.isArray(c)) return c[0] * 65536 + c[1] * 256 + c[2];
    return c;
  }
  return { create: create, colors: colors, resolveColor: resolveColor };
})`,
	"utils": utilsJS,
}

// compiledJSModules compiles jsModules once; the programs are immutable and
// shared by every runtime (runtimes are not).
var compiledJSModules = sync.OnceValue(func() map[string]*goja.Program {
	out := make(map[string]*goja.Program, len(jsModules))
	for name, src := range jsModules {
		out[name] = goja.MustCompile("skybot:"+name, src, true)
	}
	return out
})

// jsModule builds module name in the isolate's runtime, or reports that
// it is not a plain-JavaScript module.
func (iso *isolate) jsModule(name string) (goja.Value, bool) {
	prog, ok := compiledJSModules()[name]
	if !ok {
		return nil, false
	}
	factory, err := iso.rt.RunProgram(prog)
	if err != nil {
		iso.throw(CodeInternal, "module "+name+" could not be prepared")
	}
	fn, ok := goja.AssertFunction(factory)
	if !ok {
		iso.throw(CodeInternal, "module "+name+" could not be prepared")
	}
	v, err := fn(goja.Undefined())
	if err != nil {
		panic(err) // an interrupt or stack overflow: let it end the run
	}
	return v, true
}
