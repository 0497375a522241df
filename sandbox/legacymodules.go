package sandbox

import (
	"sync"

	"github.com/dop251/goja"
)

// legacyShims give SkynetBot modules the shape part B documents on top of
// the plain data and host functions the trusted side provides. Each is a
// function expression taking that raw object and returning the module.
var legacyShims = map[string]string{
	// points (alias economy), part B 3.12: data computed when required,
	// synchronous methods that never throw ({success:false, error}).
	"points": `(function (raw) {
  'use strict';
  function message(e) { return String(e && e.message !== undefined ? e.message : e); }
  var m = {
    isEnabled: raw.isEnabled, canWrite: raw.canWrite, self: raw.self,
    leaderboard: raw.leaderboard || [], ranks: raw.ranks || [], stats: raw.stats,
    totalMembers: raw.totalMembers || 0, memberIds: raw.memberIds || []
  };
  if (raw.error !== undefined) m.error = raw.error;
  var top = raw.top || m.leaderboard;
  m.getSelf = function () { return m.self; };
  m.getRanks = function () { return m.ranks; };
  m.getStats = function () { return m.stats; };
  m.getTotalMembers = function () { return m.totalMembers; };
  m.getLeaderboard = function (limit) { return top.slice(0, limit === undefined ? 10 : Number(limit)); };
  m.getMemberIds = function (limit) { return limit === undefined ? m.memberIds.slice() : m.memberIds.slice(0, Number(limit)); };
  m.getUser = function (userId) {
    if (typeof userId !== 'string') return { found: false, error: 'userId must be a string' };
    try { return raw.getUser(userId); } catch (e) { return { found: false, error: message(e) }; }
  };
  ['addPoints', 'removePoints', 'setPoints'].forEach(function (name) {
    m[name] = function (userId, amount, reason) {
      try { return raw[name](userId, amount, reason); }
      catch (e) { return { success: false, error: message(e), userId: userId }; }
    };
  });
  m.transfer = function (fromId, toId, amount, reason) {
    try { return raw.transfer(fromId, toId, amount, reason); }
    catch (e) { return { success: false, error: message(e), fromUserId: fromId, toUserId: toId }; }
  };
  return m;
})`,
	// extension, part B 3.11 and 4: a store snapshot whose writes take
	// effect at once (the 25000-byte cap checked here and again by the
	// trusted side), admin settings, log and getField.
	"extension": `(function (raw) {
  'use strict';
  var snapshot = raw.store || {};
  var settings = raw.settings || {};
  function utf8Length(s) {
    var n = 0;
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xD800 && c <= 0xDBFF && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xFC00) === 0xDC00) { n += 4; i++; }
      else n += 3;
    }
    return n;
  }
  function tooLarge() {
    var e = new Error('STORAGE_SIZE_MAX: the extension store would exceed 25000 bytes');
    e.code = 'STORAGE_SIZE_MAX';
    return e;
  }
  var has = Object.prototype.hasOwnProperty;
  async function undo(key, had, prev, promise) {
    try { return await promise; } catch (e) {
      if (had) snapshot[key] = prev; else delete snapshot[key];
      throw e;
    }
  }
  var storage = {
    get: function (key) { return snapshot[String(key)]; },
    write: async function (key, value) {
      key = String(key);
      if (value === undefined) throw new SyntaxError('"undefined" is not valid JSON');
      var v = JSON.parse(JSON.stringify(value));
      var next = Object.assign({}, snapshot);
      next[key] = v;
      if (utf8Length(JSON.stringify(next)) > 25000) throw tooLarge();
      var had = has.call(snapshot, key), prev = snapshot[key];
      snapshot[key] = v;
      await undo(key, had, prev, raw.write(key, v));
      return v;
    },
    delete: async function (key) {
      key = String(key);
      var had = has.call(snapshot, key), prev = snapshot[key];
      delete snapshot[key];
      await undo(key, had, prev, raw.delete(key));
      return key;
    },
    clear: async function () {
      var before = Object.assign({}, snapshot);
      Object.keys(snapshot).forEach(function (k) { delete snapshot[k]; });
      try { await raw.clear(); } catch (e) { Object.assign(snapshot, before); throw e; }
      return true;
    }
  };
  var m = {
    store: snapshot,
    storage: storage,
    settings: {
      get: function (key) { return settings[key]; },
      getAll: function () { return Object.assign({}, settings); }
    },
    getField: function (id) { return settings[id]; },
    log: function () { console.log.apply(console, arguments); }
  };
  ['name', 'version', 'type'].forEach(function (k) { if (raw[k] !== undefined) m[k] = raw[k]; });
  return m;
})`,
}

var compiledShims = sync.OnceValue(func() map[string]*goja.Program {
	out := make(map[string]*goja.Program, len(legacyShims))
	for name, src := range legacyShims {
		out[name] = goja.MustCompile("skybot:"+name, src, true)
	}
	return out
})

// legacyShim shapes raw into module's part B form, if it has a shim.
func (iso *isolate) legacyShim(module string, raw goja.Value) goja.Value {
	prog, ok := compiledShims()[module]
	if !ok {
		return raw
	}
	factory, err := iso.rt.RunProgram(prog)
	if err != nil {
		iso.throw(CodeInternal, "module "+module+" could not be prepared")
	}
	fn, ok := goja.AssertFunction(factory)
	if !ok {
		iso.throw(CodeInternal, "module "+module+" could not be prepared")
	}
	v, err := fn(goja.Undefined(), raw)
	if err != nil {
		panic(err) // an interrupt or stack overflow: let it end the run
	}
	return v
}
