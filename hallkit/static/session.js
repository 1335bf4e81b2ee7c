/* Keeps a staff login alive while someone works at the page, and only then.
 *
 * A staff token lives 12 hours. Once less than RENEW_BEFORE_MS is left and the person has used
 * the page (a key, a click or a tap, the wheel) within ACTIVE_MS, the page trades its token for a
 * new one (POST /api/v1/auth/refresh; the old one stops working at once). So a clerk's working
 * day never ends in a login screen mid-call, while a page nobody touches is never renewed and its
 * login ends by itself.
 *
 * Each staff page keeps its token its own way and hands this module:
 *   HallSession.keep({ prefix: "hall.caller.",        // sessionStorage prefix (the expiry goes there)
 *                      token: function () { ... },    // the current token, or null
 *                      renewed: function (token) { ... } })   // store the new one
 * and, after a login, HallSession.started(prefix, expires_in). A request refused with 401 while
 * a renewal was on its way is not a logout: `HallSession.settled()` waits for the renewal, and
 * the page retries if its token changed meanwhile.
 */
(() => {
  "use strict";

  const RENEW_BEFORE_MS = 60 * 60 * 1000;
  const ACTIVE_MS = 60 * 60 * 1000;
  const CHECK_MS = 60 * 1000;
  const ACTIVITY = ["keydown", "pointerdown", "wheel"];

  let kept = null;            // the options of keep()
  let lastActivity = 0;       // never, until someone uses the page
  let inFlight = null;        // the renewal on its way (a promise), or null
  let refused = null;         // the token the server would not renew (do not ask again)
  let timer = null;

  const storageKey = (prefix) => prefix + "expires_at";

  function readExpiry(prefix) {
    try { const v = Number(sessionStorage.getItem(storageKey(prefix))); return v > 0 ? v : null; }
    catch (e) { return null; }
  }

  function writeExpiry(prefix, expiresIn) {
    try {
      if (expiresIn === null || expiresIn === undefined) sessionStorage.removeItem(storageKey(prefix));
      else sessionStorage.setItem(storageKey(prefix), String(Date.now() + expiresIn * 1000));
    } catch (e) { /* private mode: the expiry is learnt again from /me */ }
  }

  /** Ask /me how long the token lives, for a login made before this page kept the expiry. */
  async function learnExpiry() {
    const token = kept && kept.token();
    if (!token) return;
    try {
      const me = await HallApi.call("GET", "/me", { token });
      if (kept && kept.token() === token && me && typeof me.expires_in === "number") {
        writeExpiry(kept.prefix, me.expires_in);
      }
    } catch (e) { /* the page's own calls notice a dead login */ }
  }

  function renew(token) {
    inFlight = HallApi.call("POST", "/auth/refresh", { token }).then((data) => {
      if (kept && kept.token() === token) {
        writeExpiry(kept.prefix, data.expires_in);
        kept.renewed(data.token);
      }
      return data.token;
    }).catch((err) => {
      if (err.status === 401 || err.status === 403) refused = token;
      return null;
    }).then((result) => { inFlight = null; return result; });
    return inFlight;
  }

  /** Renew now if the login is near its end and someone has been working. Returns the renewal or null. */
  function check() {
    if (!kept || inFlight) return inFlight;
    const token = kept.token();
    if (!token || token === refused) return null;
    const expiresAt = readExpiry(kept.prefix);
    if (expiresAt === null) { learnExpiry(); return null; }
    const now = Date.now();
    if (expiresAt - now > RENEW_BEFORE_MS || now - lastActivity > ACTIVE_MS) return null;
    return renew(token);
  }

  function noteActivity() {
    lastActivity = Date.now();
    check();   // cheap: two numbers compared, and one renewal at a time
  }

  function keep(options) {
    kept = options;
    refused = null;
    if (timer === null) {
      ACTIVITY.forEach((name) => document.addEventListener(name, noteActivity, { capture: true, passive: true }));
      timer = setInterval(check, CHECK_MS);
    }
    if (readExpiry(options.prefix) === null) learnExpiry();
  }

  function started(prefix, expiresIn) {
    refused = null;
    writeExpiry(prefix, expiresIn);
  }

  function ended(prefix) { writeExpiry(prefix, null); }

  /** Resolves once no renewal is on its way (at once if none is). */
  function settled() { return inFlight ? inFlight.then(() => {}) : Promise.resolve(); }

  window.HallSession = {
    keep, started, ended, settled, check,
    // for tests and a support engineer at the console
    state: () => ({ lastActivity, renewing: !!inFlight, expiresAt: kept ? readExpiry(kept.prefix) : null }),
  };
})();
