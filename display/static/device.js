/* What the hall's screens (TV, rating tablet) share beyond the kit's api.js and stream.js: the
 * device token from the address and the device heartbeat (the hall clock: the kit's clock.js). */
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

  window.HallDevice = { startHeartbeat, tokenFromUrl };
})();
