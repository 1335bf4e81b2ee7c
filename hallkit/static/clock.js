/* The hall's time on every page: China Standard Time (UTC+8) from the server's clock, whatever
 * the zone or the clock of the browser's machine (a kiosk or TV set to UTC, or minutes off).
 *
 *   const clock = new HallClock();
 *   clock.sync(snapshot.at);         // an ISO time from the server ("…+08:00"), or epoch ms
 *   clock.now();                     // the server's now, epoch ms
 *   clock.parts();                   // {date: "2026年3月10日", weekday: "星期二", short: "3月10日 周二",
 *                                    //  time: "09:05:07", hm: "09:05", day: "2026-03-10"}
 *   HallClock.parts(Date.parse(iso)) // the same words for any instant
 *
 * Dates and times the server sends carry their offset, so Date.parse reads the instant right;
 * the words are then made in UTC+8, never with the browser's getHours()/getDay().
 */
(function () {
  "use strict";

  const CST_MS = 8 * 3600 * 1000;
  const WEEKDAYS = "日一二三四五六";
  const pad = (n) => String(n).padStart(2, "0");

  function parts(ms) {
    const d = new Date(ms + CST_MS);
    const y = d.getUTCFullYear(), mo = d.getUTCMonth() + 1, da = d.getUTCDate(), wd = WEEKDAYS.charAt(d.getUTCDay());
    const hm = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    return {
      date: y + "年" + mo + "月" + da + "日",
      weekday: "星期" + wd,
      short: mo + "月" + da + "日 周" + wd,
      time: hm + ":" + pad(d.getUTCSeconds()),
      hm: hm,
      day: y + "-" + pad(mo) + "-" + pad(da),
    };
  }

  class HallClock {
    constructor() { this.offset = 0; }   // server clock - this machine's clock (ms)

    sync(when) {
      const t = typeof when === "number" ? when : (when ? Date.parse(when) : NaN);
      if (!isNaN(t)) this.offset = t - Date.now();
    }

    now() { return Date.now() + this.offset; }

    parts(ms) { return parts(ms === undefined ? this.now() : ms); }
  }
  HallClock.parts = parts;

  window.HallClock = HallClock;
})();
