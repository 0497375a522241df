package sandbox

// utilsJS is SkynetBot's utils module (SKYEXT.md part B 3.10) as it was
// intended (its own copy threw, defect D3), plus the helpers a few
// existing extensions call (time.daysBetween, discord.mention,
// discord.code). goja has no Intl: number and currency formatting are
// en-US written out here; times are UTC.
const utilsJS = `(function () {
  'use strict';
  var S = function (x) { return String(x); };
  function group(intPart) { return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function enUS(n, minFrac, maxFrac) {
    n = Number(n);
    if (!isFinite(n)) return isNaN(n) ? 'NaN' : (n < 0 ? '-∞' : '∞');
    var neg = n < 0, s = Math.abs(n).toFixed(maxFrac), parts = s.split('.');
    var frac = parts[1] || '';
    while (frac.length > minFrac && frac.charAt(frac.length - 1) === '0') frac = frac.slice(0, -1);
    return (neg && Number(s) !== 0 ? '-' : '') + group(parts[0]) + (frac ? '.' + frac : '');
  }
  var text = {
    upper: function (s) { return S(s).toUpperCase(); },
    lower: function (s) { return S(s).toLowerCase(); },
    capitalize: function (s) { return S(s).replace(/\b\w/g, function (c) { return c.toUpperCase(); }); },
    capitalizeFirst: function (s) { s = S(s); return s.charAt(0).toUpperCase() + s.slice(1); },
    reverse: function (s) { return S(s).split('').reverse().join(''); },
    truncate: function (s, max, suffix) {
      s = S(s); suffix = suffix === undefined ? '...' : S(suffix);
      return s.length <= max ? s : s.slice(0, Math.max(0, max - suffix.length)) + suffix;
    },
    pad: function (s, len, ch, side) {
      s = S(s); ch = ch === undefined ? ' ' : S(ch); side = side || 'right';
      if (side === 'left') return s.padStart(len, ch);
      if (side === 'both') {
        var total = len - s.length;
        if (total <= 0) return s;
        var left = Math.floor(total / 2);
        return s.padStart(s.length + left, ch).padEnd(len, ch);
      }
      return s.padEnd(len, ch);
    },
    clean: function (s) { return S(s).replace(/\s+/g, ' ').trim(); },
    slugify: function (s) { return S(s).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, ''); },
    count: function (s, search) { return (S(s).match(new RegExp(S(search), 'g')) || []).length; },
    includes: function (s, search) { return S(s).toLowerCase().indexOf(S(search).toLowerCase()) !== -1; },
    mock: function (s) { return S(s).split('').map(function (c, i) { return i % 2 ? c.toUpperCase() : c.toLowerCase(); }).join(''); },
    replaceAll: function (s, a, b) { return S(s).split(S(a)).join(S(b)); },
    words: function (s) { return S(s).trim().split(/\s+/); },
    escapeHtml: function (s) {
      return S(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#039;');
    },
    escapeMarkdown: function (s) { return S(s).replace(/([*_~\x60|\\])/g, '\\$1'); }
  };
  var charsets = {
    alphanumeric: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
    alpha: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', numeric: '0123456789', hex: '0123456789abcdef'
  };
  var random = {
    int: function (min, max) { return Math.floor(Math.random() * (max - min + 1)) + min; },
    float: function (min, max) { return Math.random() * (max - min) + min; },
    pick: function (arr) { return arr[Math.floor(Math.random() * arr.length)]; },
    pickMultiple: function (arr, n) { return arr.slice().sort(function () { return Math.random() - 0.5; }).slice(0, n); },
    shuffle: function (arr) {
      var a = arr.slice();
      for (var i = a.length - 1; i > 0; i--) { var j = Math.floor(Math.random() * (i + 1)); var t = a[i]; a[i] = a[j]; a[j] = t; }
      return a;
    },
    bool: function (p) { return Math.random() < (p === undefined ? 0.5 : p); },
    string: function (len, charset) {
      var set = charsets[charset === undefined ? 'alphanumeric' : charset] || S(charset), out = '';
      for (var i = 0; i < len; i++) out += set.charAt(Math.floor(Math.random() * set.length));
      return out;
    },
    dice: function (notation) {
      var m = /^(\d*)d(\d+)([+-]\d+)?$/i.exec(S(notation).trim());
      if (!m || Number(m[2]) < 1) return { rolls: [], total: 0, notation: notation };
      var n = Math.min(m[1] === '' ? 1 : Number(m[1]), 100), sides = Number(m[2]), rolls = [], total = m[3] ? Number(m[3]) : 0;
      for (var i = 0; i < n; i++) { var r = Math.floor(Math.random() * sides) + 1; rolls.push(r); total += r; }
      return { rolls: rolls, total: total, notation: notation };
    },
    weighted: function (items) {
      var sum = items.reduce(function (t, x) { return t + x.weight; }, 0), r = Math.random() * sum;
      for (var i = 0; i < items.length; i++) { r -= items[i].weight; if (r < 0) return items[i].item; }
      return items.length ? items[items.length - 1].item : undefined;
    }
  };
  function round(n, places) { var f = Math.pow(10, places || 0); return Math.round(n * f) / f; }
  function sum(arr) { return arr.reduce(function (t, x) { return t + x; }, 0); }
  var math = {
    clamp: function (n, min, max) { return Math.min(Math.max(n, min), max); },
    lerp: function (a, b, t) { return a + (b - a) * t; },
    map: function (n, inMin, inMax, outMin, outMax) { return (n - inMin) * (outMax - outMin) / (inMax - inMin) + outMin; },
    round: round,
    percentage: function (v, total, decimals) { return total === 0 ? 0 : round(v / total * 100, decimals || 0); },
    sum: sum,
    average: function (arr) { return arr.length ? sum(arr) / arr.length : 0; },
    min: function (arr) { return Math.min.apply(null, arr); },
    max: function (arr) { return Math.max.apply(null, arr); },
    between: function (n, min, max, inclusive) {
      return inclusive === undefined || inclusive ? n >= min && n <= max : n > min && n < max;
    }
  };
  var array = {
    unique: function (arr) { return Array.from(new Set(arr)); },
    chunk: function (arr, size) { var out = []; for (var i = 0; i < arr.length; i += size) out.push(arr.slice(i, i + size)); return out; },
    flatten: function (arr, depth) { return arr.flat(depth === undefined ? 1 : depth); },
    first: function (arr, n) { return arr.slice(0, n === undefined ? 1 : n); },
    last: function (arr, n) { n = n === undefined ? 1 : n; return n > 0 ? arr.slice(-n) : []; },
    compact: function (arr) { return arr.filter(Boolean); },
    countBy: function (arr) { var o = {}; arr.forEach(function (v) { o[v] = (o[v] || 0) + 1; }); return o; },
    groupBy: function (arr, key) {
      var o = {};
      arr.forEach(function (x) { var k = typeof key === 'function' ? key(x) : x[key]; (o[k] = o[k] || []).push(x); });
      return o;
    },
    intersection: function (a, b) { return a.filter(function (x) { return b.indexOf(x) !== -1; }); },
    difference: function (a, b) { return a.filter(function (x) { return b.indexOf(x) === -1; }); }
  };
  var symbols = { USD: '$', EUR: '€', GBP: '£' };
  var units = [['day', 86400000], ['hour', 3600000], ['minute', 60000], ['second', 1000]];
  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }
  var format = {
    number: function (n) { return enUS(n, 0, 3); },
    currency: function (n, code) {
      code = code === undefined ? 'USD' : S(code).toUpperCase();
      var digits = code === 'JPY' ? 0 : 2, s = enUS(Math.abs(Number(n)), digits, digits), neg = Number(n) < 0 ? '-' : '';
      return symbols[code] ? neg + symbols[code] + s : neg + code + '\u00a0' + s;
    },
    bytes: function (n, decimals) {
      if (!n) return '0 Bytes';
      var names = ['Bytes', 'KB', 'MB', 'GB', 'TB'], i = Math.min(Math.floor(Math.log(n) / Math.log(1024)), names.length - 1);
      return parseFloat((n / Math.pow(1024, i)).toFixed(decimals === undefined ? 2 : decimals)) + ' ' + names[i];
    },
    duration: function (ms, verbose) {
      ms = Math.max(0, Number(ms));
      var d = Math.floor(ms / 86400000), h = Math.floor(ms / 3600000) % 24, m = Math.floor(ms / 60000) % 60, s = Math.floor(ms / 1000) % 60;
      if (verbose) {
        var parts = [];
        [[d, 'day'], [h, 'hour'], [m, 'minute'], [s, 'second']].forEach(function (p) { if (p[0]) parts.push(plural(p[0], p[1])); });
        return parts.length ? parts.join(', ') : '0 seconds';
      }
      if (d) return d + 'd ' + h + 'h';
      if (h) return h + 'h ' + m + 'm';
      if (m) return m + 'm ' + s + 's';
      return s + 's';
    },
    ordinal: function (n) {
      var mod100 = n % 100, mod10 = n % 10;
      if (mod100 >= 11 && mod100 <= 13) return n + 'th';
      return n + (mod10 === 1 ? 'st' : mod10 === 2 ? 'nd' : mod10 === 3 ? 'rd' : 'th');
    },
    list: function (items, conj) {
      conj = conj === undefined ? 'and' : conj;
      if (items.length <= 1) return items.length ? S(items[0]) : '';
      if (items.length === 2) return items[0] + ' ' + conj + ' ' + items[1];
      return items.slice(0, -1).join(', ') + ', ' + conj + ' ' + items[items.length - 1];
    },
    pluralize: function (count, singular, pluralForm) { return count === 1 ? singular : (pluralForm || singular + 's'); },
    progressBar: function (cur, total, len, filled, empty) {
      len = len === undefined ? 10 : len;
      var f = Math.round(Math.min(cur / total, 1) * len);
      return S(filled === undefined ? '█' : filled).repeat(f) + S(empty === undefined ? '░' : empty).repeat(len - f);
    }
  };
  var unitMs = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000, w: 604800000 };
  var time = {
    now: function () { return Date.now(); },
    unix: function () { return Math.floor(Date.now() / 1000); },
    parse: function (str) { return new Date(str).getTime(); },
    iso: function (ts) { return new Date(ts === undefined ? Date.now() : ts).toISOString(); },
    discord: function (ts, style) { var s = ts > 9999999999 ? Math.floor(ts / 1000) : ts; return '<t:' + s + ':' + (style || 'f') + '>'; },
    relative: function (ts) {
      var diff = ts - Date.now(), abs = Math.abs(diff);
      for (var i = 0; i < units.length; i++) {
        var n = Math.floor(abs / units[i][1]);
        if (n >= 1 || i === units.length - 1) return diff >= 0 ? 'in ' + plural(n, units[i][0]) : plural(n, units[i][0]) + ' ago';
      }
    },
    add: function (ts, amount, unit) { return ts + amount * (unitMs[unit] || 1); },
    startOf: function (ts, unit) {
      var d = new Date(ts === undefined ? Date.now() : ts);
      if (unit === 'day') d.setUTCHours(0, 0, 0, 0);
      else if (unit === 'hour') d.setUTCMinutes(0, 0, 0);
      else if (unit === 'minute') d.setUTCSeconds(0, 0);
      return d.getTime();
    },
    daysBetween: function (a, b) { return Math.floor(Math.abs(b - a) / 86400000); }
  };
  var fence = '\x60\x60\x60';
  var discord = {
    userMention: function (id) { return '<@' + id + '>'; },
    channelMention: function (id) { return '<#' + id + '>'; },
    roleMention: function (id) { return '<@&' + id + '>'; },
    mention: function (id, kind) { return kind === 'channel' ? '<#' + id + '>' : kind === 'role' ? '<@&' + id + '>' : '<@' + id + '>'; },
    emoji: function (name, id, animated) { return '<' + (animated ? 'a' : '') + ':' + name + ':' + id + '>'; },
    codeBlock: function (content, lang) { return fence + (lang || '') + '\n' + content + '\n' + fence; },
    inlineCode: function (s) { return '\x60' + s + '\x60'; },
    code: function (s) { return '\x60' + s + '\x60'; },
    bold: function (s) { return '**' + s + '**'; },
    italic: function (s) { return '*' + s + '*'; },
    underline: function (s) { return '__' + s + '__'; },
    strikethrough: function (s) { return '~~' + s + '~~'; },
    spoiler: function (s) { return '||' + s + '||'; },
    quote: function (s) { return '> ' + s; },
    blockQuote: function (s) { return '>>> ' + s; },
    hyperlink: function (t, url) { return '[' + t + '](' + url + ')'; },
    snowflakeToTimestamp: function (id) { return Math.floor(Number(id) / 4194304) + 1420070400000; }
  };
  return { text: text, random: random, math: math, array: array, format: format, time: time, discord: discord };
})`
