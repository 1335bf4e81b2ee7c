/* What the hall's screens (TV, rating tablet) share beyond the kit's api.js and stream.js: the
 * device token from the address, the device heartbeat and the hall clock. */
(() => {
  "use strict";

  /** Beat every `interval` s (the server says how often); `status()` says how the device is. */
  function startHeartbeat(token, status) {
    let every = 30000;
    const info = { beats: 0, failures: 0, last: null };
    const beat = async () => {
      try {
        const r = await HallApi.call("POST", "/devices/heartbeat", { token, body: { status: status() } });
        info.beats++;
        info.last = Date.now();
        if (r && r.interval) every = r.interval * 1000;
      } catch (e) {
        info.failures++;
      }
      setTimeout(beat, every);
    };
    setTimeout(beat, 2000);         // let the stream connect first
    return info;
  }

  /** The hall's time (China Standard Time) from the server's clock, whatever the device's zone. */
  class HallClock {
    constructor() { this.offset = 0; }

    sync(iso) {
      const t = iso ? Date.parse(iso) : NaN;
      if (!isNaN(t)) this.offset = t - Date.now();
    }

    parts() {
      const d = new Date(Date.now() + this.offset + 8 * 3600 * 1000);
      const pad = (n) => String(n).padStart(2, "0");
      return {
        date: d.getUTCFullYear() + "年" + (d.getUTCMonth() + 1) + "月" + d.getUTCDate() + "日",
        weekday: "星期" + "日一二三四五六".charAt(d.getUTCDay()),
        time: pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()),
      };
    }
  }

  /** The device token: from `#token=…` (never sent to the server, so never in a log) or the older
   *  `?token=…` once, then kept in this browser's storage and taken out of the address bar
   *  (history.replaceState), so it is not in the history, a bookmark or a screenshot. */
  function tokenFromUrl() {
    const loc = window.location;
    const key = "hall.device." + loc.pathname;
    const found = /(?:^#|&)token=([^&]*)/.exec(loc.hash) || /[?&]token=([^&#]*)/.exec(loc.search);
    if (found) {
      const token = decodeURIComponent(found[1].replace(/\+/g, " "));
      try { window.localStorage.setItem(key, token); } catch (e) { /* private mode: kept in the page only */ }
      const search = loc.search.replace(/([?&])token=[^&#]*&?/, "$1").replace(/[?&]$/, "");
      const hash = loc.hash.replace(/(^#|&)token=[^&]*&?/, "$1").replace(/^#$/, "");
      try { window.history.replaceState(window.history.state, "", loc.pathname + search + hash); } catch (e) { /* ok */ }
      return token;
    }
    try { return window.localStorage.getItem(key) || ""; } catch (e) { return ""; }
  }

  window.HallDevice = { startHeartbeat, Clock: HallClock, tokenFromUrl };
})();
