/* The hall stream (Socket.IO namespace /hall) for every page that follows the hall live.
 *
 * The rule: a snapshot is the truth at its `seq`; an event is applied only as seq+1. A missing
 * seq may still be on its way (several server processes publish through Redis and may deliver
 * slightly out of order), so the stream waits GAP_WAIT_MS and then asks for a snapshot. On
 * every (re)connect the server sends a snapshot; until it arrives events are held back, so a
 * page never shows a state older than the server's after a blip or a server restart.
 *
 * A device bound to one window (a rating tablet) hears only that window's events: its snapshot
 * names the `scope`, and the order it keeps is the events' `window_seq` instead of `seq`.
 *
 *   const stream = new HallStream({
 *     token: () => S.token,             // or a string; asked again on every reconnect
 *     scope: undefined,                 // what a device asks to hear (optional)
 *     onSnapshot(snap, covered) {},     // the truth; `covered`: held events it already holds
 *     onEvent(ev) {},                   // the next event, in order
 *     onStatus(connected, reason) {},   // up, or down and why ("unauthorized": token refused)
 *   });
 *   stream.start(); stream.requestSnapshot(); stream.stop();
 */
(() => {
  "use strict";

  const GAP_WAIT_MS = 300;
  const SNAPSHOT_TIMEOUT_MS = 4000;
  const RESYNC_MS = 5 * 60 * 1000;    // belt and braces: a fresh snapshot now and then (day change)
  const DOWN_REPORT_MS = 15000;       // a blip shorter than this is not reported as "disconnected"
  const REFUSED_RETRY_MS = [3000, 6000, 15000, 30000];   // after the namespace refused us
  const nothing = () => {};

  class HallStream {
    constructor({ token, scope, onSnapshot = nothing, onEvent = nothing, onStatus = nothing }) {
      this.token = typeof token === "function" ? token : () => token;
      this.scope = scope;
      this.on = { snapshot: onSnapshot, event: onEvent, status: onStatus };
      this.socket = null;
      this.seq = null;
      this.key = "seq";               // "window_seq" when the snapshot says the stream is one window's
      this.awaiting = true;
      this.buffer = [];
      this.connected = false;
      this.downSince = Date.now();
      this.refusals = 0;
      this.timers = { gap: null, snapshot: null, retry: null, resync: null };
      this.stats = { snapshots: 0, events: 0, applied: 0, gaps: 0, asked: 0, connects: 0, disconnects: 0 };
      this.online = () => { if (this.socket && !this.socket.connected) this.socket.connect(); };
    }

    start() {
      this.stop();
      if (typeof window.io !== "function") { this.on.status(false, "socket.io 未加载"); return; }
      const auth = (cb) => cb(this.scope ? { token: this.token(), scope: this.scope } : { token: this.token() });
      const s = this.socket = window.io("/hall", {
        auth, reconnection: true, reconnectionDelay: 500, reconnectionDelayMax: 3000,
        randomizationFactor: 0.3, timeout: 5000,
      });
      s.on("connect", () => {
        this.connected = true;
        this.downSince = null;
        this.refusals = 0;
        this.stats.connects++;
        this.awaitSnapshot();         // the server sends one on connect; ask only if it does not come
        this.on.status(true);
      });
      s.on("disconnect", (reason) => {
        this.connected = false;
        this.downSince = this.downSince || Date.now();
        this.awaiting = true;         // hold events until the next snapshot
        this.stats.disconnects++;
        this.on.status(false, reason);
        if (reason === "io server disconnect") this.retry(1000);   // the server dropped us
      });
      s.on("connect_error", (err) => {
        this.connected = false;
        this.on.status(false, err && err.message);
        // A refusal by the namespace (a bad token) is not retried by the client itself.
        if (!s.active) this.retry(REFUSED_RETRY_MS[Math.min(this.refusals++, REFUSED_RETRY_MS.length - 1)]);
      });
      s.on("snapshot", (snap) => this.onSnapshot(snap));
      s.onAny((name, payload) => { if (name !== "snapshot") this.receive(payload); });
      this.timers.resync = setInterval(() => { if (this.connected) this.requestSnapshot(); }, RESYNC_MS);
      window.addEventListener("online", this.online);
    }

    /** Let go of the stream (a logout, another window): no more callbacks. */
    stop() {
      clearTimeout(this.timers.gap);
      clearTimeout(this.timers.snapshot);
      clearTimeout(this.timers.retry);
      clearInterval(this.timers.resync);
      this.timers = { gap: null, snapshot: null, retry: null, resync: null };
      window.removeEventListener("online", this.online);
      if (this.socket) {
        this.socket.removeAllListeners();
        this.socket.offAny();
        this.socket.disconnect();
        this.socket = null;
      }
      this.connected = false;
      this.awaiting = true;
      this.seq = null;
      this.buffer = [];
    }

    retry(ms) {
      const s = this.socket;
      clearTimeout(this.timers.retry);
      this.timers.retry = setTimeout(() => { if (s === this.socket && !s.connected) s.connect(); }, ms);
    }

    /** For a device's heartbeat: "disconnected" only once the stream has been down a while. */
    socketStatus() {
      return this.connected || (this.downSince && Date.now() - this.downSince < DOWN_REPORT_MS) ? "ok" : "disconnected";
    }

    awaitSnapshot() {
      clearTimeout(this.timers.snapshot);
      this.timers.snapshot = setTimeout(() => { if (this.awaiting) this.requestSnapshot(); }, SNAPSHOT_TIMEOUT_MS);
    }

    requestSnapshot() {
      this.awaiting = true;
      if (!this.socket || !this.connected) return;
      this.stats.asked++;
      this.socket.emit("snapshot");
      this.awaitSnapshot();
    }

    onSnapshot(snap) {
      if (!snap || typeof snap.seq !== "number") return;
      clearTimeout(this.timers.snapshot);
      this.awaiting = false;
      this.stats.snapshots++;
      const key = this.key = snap.scope ? "window_seq" : "seq";
      const seq = this.seq = snap.scope ? snap.scope.window_seq : snap.seq;
      const mine = this.buffer.filter((e) => typeof e[key] === "number");
      this.buffer = mine.filter((e) => e[key] > seq);
      this.on.snapshot(snap, mine.filter((e) => e[key] <= seq));
      this.drain();
    }

    /** One event from the socket (tests call it too, to play a lost or late event). */
    receive(ev) {
      if (!ev || typeof ev.seq !== "number") return;
      this.stats.events++;
      ev._received = Date.now();
      if (!this.awaiting && typeof ev[this.key] !== "number") return;
      if (this.seq !== null && ev[this.key] <= this.seq && !this.awaiting) return;
      this.buffer.push(ev);
      if (!this.awaiting) this.drain();
    }

    drain() {
      const key = this.key;
      this.buffer.sort((a, b) => a[key] - b[key]);
      while (this.buffer.length) {
        const e = this.buffer[0];
        if (e[key] <= this.seq) { this.buffer.shift(); continue; }
        if (e[key] !== this.seq + 1) break;
        this.buffer.shift();
        this.seq = e[key];
        this.stats.applied++;
        this.on.event(e);
      }
      if (this.buffer.length && !this.timers.gap) {
        this.stats.gaps++;
        this.timers.gap = setTimeout(() => {
          this.timers.gap = null;
          if (this.buffer.length && !this.awaiting) this.requestSnapshot();
        }, GAP_WAIT_MS);
      } else if (!this.buffer.length && this.timers.gap) {
        clearTimeout(this.timers.gap);
        this.timers.gap = null;
      }
    }
  }

  window.HallStream = HallStream;
})();
