/* What every hall screen (TV, rating tablet) shares: the /hall stream applied strictly in `seq`
 * order, the REST API with the device token, the device heartbeat and the hall clock.
 *
 * The stream rule: a snapshot is the truth at its `seq`; events are applied only as seq+1.
 * A missing seq may still be on its way (several server processes publish through Redis and may
 * deliver slightly out of order), so the screen waits GAP_WAIT_MS and then asks for a snapshot.
 * On every (re)connect the server sends a snapshot; until it arrives events are held back, so
 * a screen never shows a state older than the server's after a blip or a server restart.
 *
 * A device bound to one window (a rating tablet) hears only that window's events: its snapshot
 * names the `scope`, and the order it keeps is the events' `window_seq` instead of `seq`.
 */
(function (global) {
  "use strict";

  var GAP_WAIT_MS = 300;
  var SNAPSHOT_TIMEOUT_MS = 4000;
  var RESYNC_MS = 5 * 60 * 1000;    // belt and braces: a fresh snapshot now and then (day change)
  var DOWN_REPORT_MS = 15000;       // a blip shorter than this is not reported as "disconnected"
  var API = "/api/v1";

  function HallStream(opts) {
    this.o = opts;
    this.seq = null;
    this.key = "seq";               // "window_seq" when the snapshot says the stream is one window's
    this.awaiting = true;
    this.buffer = [];
    this.connected = false;
    this.downSince = Date.now();
    this.gapTimer = null;
    this.snapTimer = null;
    this.stats = { snapshots: 0, events: 0, applied: 0, gaps: 0, asked: 0, connects: 0, disconnects: 0 };
  }

  HallStream.prototype.start = function () {
    var self = this, o = this.o;
    if (typeof global.io !== "function") { o.onStatus(false, "socket.io 未加载"); return; }
    var s = this.socket = global.io("/hall", {
      auth: o.scope ? { token: o.token, scope: o.scope } : { token: o.token }, reconnection: true, reconnectionDelay: 500,
      reconnectionDelayMax: 3000, randomizationFactor: 0.3, timeout: 5000
    });
    s.on("connect", function () {
      self.connected = true;
      self.downSince = null;
      self.stats.connects++;
      self.awaitSnapshot();          // the server sends one on connect; ask only if it does not come
      o.onStatus(true);
    });
    s.on("disconnect", function (reason) {
      self.connected = false;
      self.downSince = self.downSince || Date.now();
      self.awaiting = true;          // hold events until the next snapshot
      self.stats.disconnects++;
      o.onStatus(false, reason);
      if (reason === "io server disconnect") setTimeout(function () { s.connect(); }, 1000);
    });
    s.on("connect_error", function (err) {
      self.connected = false;
      o.onStatus(false, err && err.message);
      // A refusal by the namespace (bad token) is not retried by the client itself.
      if (!s.active) setTimeout(function () { s.connect(); }, 5000);
    });
    s.on("snapshot", function (snap) { self.onSnapshot(snap); });
    s.onAny(function (name, payload) { if (name !== "snapshot") self.receive(payload); });
    setInterval(function () { if (self.connected) self.requestSnapshot(); }, RESYNC_MS);
  };

  /** For the heartbeat: "disconnected" only once the stream has been down a while. */
  HallStream.prototype.socketStatus = function () {
    return this.connected || (this.downSince && Date.now() - this.downSince < DOWN_REPORT_MS) ? "ok" : "disconnected";
  };

  HallStream.prototype.awaitSnapshot = function () {
    var self = this;
    clearTimeout(this.snapTimer);
    this.snapTimer = setTimeout(function () { if (self.awaiting) self.requestSnapshot(); }, SNAPSHOT_TIMEOUT_MS);
  };

  HallStream.prototype.requestSnapshot = function () {
    if (!this.socket || !this.connected) { this.awaiting = true; return; }
    this.awaiting = true;
    this.stats.asked++;
    this.socket.emit("snapshot");
    this.awaitSnapshot();
  };

  HallStream.prototype.onSnapshot = function (snap) {
    if (!snap || typeof snap.seq !== "number") return;
    clearTimeout(this.snapTimer);
    this.awaiting = false;
    this.stats.snapshots++;
    var key = this.key = snap.scope ? "window_seq" : "seq";
    var seq = this.seq = snap.scope ? snap.scope.window_seq : snap.seq;
    var mine = this.buffer.filter(function (e) { return typeof e[key] === "number"; });
    var covered = mine.filter(function (e) { return e[key] <= seq; });
    this.buffer = mine.filter(function (e) { return e[key] > seq; });
    this.o.onSnapshot(snap, covered);
    this.drain();
  };

  HallStream.prototype.receive = function (ev) {
    if (!ev || typeof ev.seq !== "number") return;
    this.stats.events++;
    ev._received = Date.now();
    if (!this.awaiting && typeof ev[this.key] !== "number") return;
    if (this.seq !== null && ev[this.key] <= this.seq && !this.awaiting) return;
    this.buffer.push(ev);
    if (!this.awaiting) this.drain();
  };

  HallStream.prototype.drain = function () {
    var self = this, key = this.key;
    this.buffer.sort(function (a, b) { return a[key] - b[key]; });
    while (this.buffer.length) {
      var e = this.buffer[0];
      if (e[key] <= this.seq) { this.buffer.shift(); continue; }
      if (e[key] !== this.seq + 1) break;
      this.buffer.shift();
      this.seq = e[key];
      this.stats.applied++;
      this.o.onEvent(e);
    }
    if (this.buffer.length && !this.gapTimer) {
      this.stats.gaps++;
      this.gapTimer = setTimeout(function () {
        self.gapTimer = null;
        if (self.buffer.length && !self.awaiting) self.requestSnapshot();
      }, GAP_WAIT_MS);
    } else if (!this.buffer.length && this.gapTimer) {
      clearTimeout(this.gapTimer);
      this.gapTimer = null;
    }
  };

  function api(method, path, token, body) {
    var headers = { "Accept": "application/json" };
    if (token) headers["Authorization"] = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(API + path, { method: method, headers: headers, cache: "no-store",
                               body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (res) {
        return res.json().catch(function () { return null; }).then(function (data) {
          if (!res.ok) {
            var err = new Error((data && data.error && data.error.message) || ("HTTP " + res.status));
            err.status = res.status;
            err.code = data && data.error && data.error.code;
            throw err;
          }
          return data;
        });
      });
  }

  /** Beat every `interval` s (the server says how often); `status()` says how the device is. */
  function startHeartbeat(token, status) {
    var every = 30000;
    var info = { beats: 0, failures: 0, last: null };
    function beat() {
      api("POST", "/devices/heartbeat", token, { status: status() })
        .then(function (r) { info.beats++; info.last = Date.now(); if (r && r.interval) every = r.interval * 1000; })
        .catch(function () { info.failures++; })
        .then(function () { setTimeout(beat, every); });
    }
    setTimeout(beat, 2000);         // let the stream connect first
    return info;
  }

  /** The hall's time (China Standard Time) from the server's clock, whatever the device's zone. */
  function HallClock() { this.offset = 0; }
  HallClock.prototype.sync = function (iso) {
    var t = iso ? Date.parse(iso) : NaN;
    if (!isNaN(t)) this.offset = t - Date.now();
  };
  HallClock.prototype.parts = function () {
    var d = new Date(Date.now() + this.offset + 8 * 3600 * 1000);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return {
      date: d.getUTCFullYear() + "年" + (d.getUTCMonth() + 1) + "月" + d.getUTCDate() + "日",
      weekday: "星期" + "日一二三四五六".charAt(d.getUTCDay()),
      time: pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds())
    };
  };

  /** The device token: from `#token=…` (never sent to the server, so never in a log) or the older
   *  `?token=…` once, then kept in this browser's storage and taken out of the address bar
   *  (history.replaceState), so it is not in the history, a bookmark or a screenshot. */
  function tokenFromUrl() {
    var key = "hall.device." + global.location.pathname;
    var loc = global.location;
    var inHash = /(?:^#|&)token=([^&]*)/.exec(loc.hash);
    var inQuery = /[?&]token=([^&#]*)/.exec(loc.search);
    var found = inHash || inQuery;
    if (found) {
      var token = decodeURIComponent(found[1].replace(/\+/g, " "));
      try { global.localStorage.setItem(key, token); } catch (e) { /* private mode: kept in the page only */ }
      var search = loc.search.replace(/([?&])token=[^&#]*&?/, "$1").replace(/[?&]$/, "");
      var hash = loc.hash.replace(/(^#|&)token=[^&]*&?/, "$1").replace(/^#$/, "");
      try { global.history.replaceState(global.history.state, "", loc.pathname + search + hash); } catch (e) { /* ok */ }
      return token;
    }
    try { return global.localStorage.getItem(key) || ""; } catch (e) { return ""; }
  }

  global.Hall = { Stream: HallStream, api: api, startHeartbeat: startHeartbeat, Clock: HallClock,
                  tokenFromUrl: tokenFromUrl };
})(window);
